//! SeaTunnel's variable pass: `${name}`, `${name:default}` and `${name:}` are filled from
//! `-i name=value` and then the environment before the text is parsed. An undefined variable
//! without a default is left as written (HOCON may still resolve it as a substitution).
//! `${?name}` is HOCON's optional substitution and is left alone.

use std::collections::HashMap;

/// Replaces variables in `text`. Values from `vars` win over `env`.
pub fn substitute(
    text: &str,
    vars: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let whole = &rest[start..start + 2 + end + 1];
        let valid_name =
            |n: &str| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || "._-".contains(c));
        let replacement = if inner.starts_with('?') || inner.contains('\n') {
            None
        } else {
            let (name, default) = match inner.split_once(':') {
                Some((n, d)) => (n.trim(), Some(d)),
                None => (inner.trim(), None),
            };
            if valid_name(name) {
                vars.get(name)
                    .cloned()
                    .or_else(|| env(name))
                    .or_else(|| default.map(str::to_string))
            } else {
                None
            }
        };
        out.push_str(replacement.as_deref().unwrap_or(whole));
        rest = &rest[start + 2 + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_from_vars_then_env_then_default() {
        let vars = HashMap::from([("rowNum".to_string(), "10".to_string())]);
        let env = |n: &str| (n == "HOME_DIR").then(|| "/home".to_string());
        let text = "a = ${rowNum}\nb = ${HOME_DIR}\nc = ${missing:5}\nd = ${missing:}\ne = ${missing}\nf = ${?opt}";
        assert_eq!(
            substitute(text, &vars, &env),
            "a = 10\nb = /home\nc = 5\nd = \ne = ${missing}\nf = ${?opt}"
        );
    }
}
