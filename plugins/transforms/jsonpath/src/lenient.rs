//! Permissive JSON, as SeaTunnel's JsonPath reads it: standard JSON, plus unquoted keys and
//! values (a run up to `,`, `:`, `}` or `]`, trimmed; `true`, `false`, `null` and numbers keep
//! their meaning) and single-quoted strings.

use serde_json::{Map, Number, Value as Json};

pub fn parse(text: &str) -> Result<Json, String> {
    if let Ok(v) = serde_json::from_str::<Json>(text) {
        return Ok(v);
    }
    let mut p = P {
        s: text.as_bytes(),
        pos: 0,
        text,
    };
    let v = p.value()?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(format!(
            "unexpected `{}` at byte {} of the JSON",
            &text[p.pos..].chars().take(10).collect::<String>(),
            p.pos
        ));
    }
    Ok(v)
}

struct P<'a> {
    s: &'a [u8],
    pos: usize,
    text: &'a str,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.pos) {
            None => Err("the JSON ends too early".into()),
            Some(b'{') => {
                self.pos += 1;
                let mut map = Map::new();
                loop {
                    self.ws();
                    if self.s.get(self.pos) == Some(&b'}') {
                        self.pos += 1;
                        return Ok(Json::Object(map));
                    }
                    let key = match self.value()? {
                        Json::String(k) => k,
                        other => other.to_string(),
                    };
                    self.ws();
                    if self.s.get(self.pos) != Some(&b':') {
                        return Err(format!(
                            "expected `:` after key `{key}` at byte {}",
                            self.pos
                        ));
                    }
                    self.pos += 1;
                    let v = self.value()?;
                    map.insert(key, v);
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {}
                        _ => return Err(format!("expected `,` or `}}` at byte {}", self.pos)),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        return Ok(Json::Array(items));
                    }
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {}
                        _ => return Err(format!("expected `,` or `]` at byte {}", self.pos)),
                    }
                }
            }
            Some(&q @ (b'"' | b'\'')) => {
                self.pos += 1;
                let mut out = String::new();
                let rest = &self.text[self.pos..];
                let mut chars = rest.char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == q as char {
                        self.pos += i + 1;
                        return Ok(Json::String(out));
                    }
                    if c == '\\' {
                        match chars.next() {
                            Some((_, 'n')) => out.push('\n'),
                            Some((_, 't')) => out.push('\t'),
                            Some((_, 'r')) => out.push('\r'),
                            Some((_, other)) => out.push(other),
                            None => break,
                        }
                    } else {
                        out.push(c);
                    }
                }
                Err("unterminated string in the JSON".into())
            }
            Some(_) => {
                let start = self.pos;
                while self.pos < self.s.len() && !b",:}]".contains(&self.s[self.pos]) {
                    self.pos += 1;
                }
                let token = self.text[start..self.pos].trim();
                Ok(match token {
                    "true" => Json::Bool(true),
                    "false" => Json::Bool(false),
                    "null" => Json::Null,
                    t => t
                        .parse::<Number>()
                        .map_or_else(|_| Json::String(t.to_string()), Json::Number),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_seatunnel_configs_produce() {
        let v = parse(
            "{data:{c_string: this is a string,c_integer: 42,c_date:'2023-10-29',c_t:\"16:12\"}}",
        )
        .unwrap();
        assert_eq!(v["data"]["c_string"], "this is a string");
        assert_eq!(v["data"]["c_integer"], 42);
        assert_eq!(v["data"]["c_date"], "2023-10-29");
        assert_eq!(v["data"]["c_t"], "16:12");
        assert!(parse("{a: [1, 2").is_err());
    }
}
