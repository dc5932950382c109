//! What a plugin says about itself: its kind, version and options.

/// A plugin's kind; a job block under `source`, `transform` or `sink` needs the matching kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Source,
    Transform,
    Sink,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Transform => "transform",
            PluginKind::Sink => "sink",
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type an option's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionType {
    Boolean,
    Integer,
    Number,
    String,
    List,
    Object,
    Any,
}

impl OptionType {
    pub fn as_str(self) -> &'static str {
        match self {
            OptionType::Boolean => "boolean",
            OptionType::Integer => "integer",
            OptionType::Number => "number",
            OptionType::String => "string",
            OptionType::List => "list",
            OptionType::Object => "object",
            OptionType::Any => "any",
        }
    }

    /// Whether a JSON value fits. Scalars written as strings (`row.num = "5"`) are accepted
    /// where they parse, as SeaTunnel does.
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (self, v) {
            (OptionType::Any, _) | (_, J::Null) => true,
            (OptionType::Boolean, J::Bool(_)) => true,
            (OptionType::Boolean, J::String(s)) => {
                s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
            }
            (OptionType::Integer, J::Number(n)) => n.as_i64().is_some() || n.as_u64().is_some(),
            (OptionType::Integer, J::String(s)) => s.trim().parse::<i64>().is_ok(),
            (OptionType::Number, J::Number(_)) => true,
            (OptionType::Number, J::String(s)) => s.trim().parse::<f64>().is_ok(),
            (OptionType::String, J::String(_) | J::Number(_) | J::Bool(_)) => true,
            (OptionType::List, J::Array(_)) => true,
            (OptionType::Object, J::Object(_)) => true,
            _ => false,
        }
    }
}

/// One option a plugin accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionSpec {
    /// Dotted names are paths: `row.num` matches `row.num = 5` and `row { num = 5 }`.
    pub name: String,
    pub option_type: OptionType,
    pub required: bool,
    /// The default, as JSON text.
    pub default_value: Option<String>,
    pub doc: String,
}

/// An option's value in a plugin block, written flat (`row.num = 5`) or nested
/// (`row { num = 5 }`).
pub fn option_value<'a>(
    options: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    if let Some(v) = options.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut cur = options.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// What `describe()` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: String,
    pub kind: PluginKind,
    pub version: String,
    pub options: Vec<OptionSpec>,
    /// Which options name what the plugin reaches (paths, hosts): the engine grants those.
    pub grants: Vec<OptionGrant>,
}

/// How a plugin uses what an option names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Reads the file or directory.
    Read,
    /// Writes into the directory (created when missing).
    ReadWrite,
    /// Connects to the `host:port` address(es).
    Connect,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::ReadWrite => "read-write",
            Access::Connect => "connect",
        })
    }
}

/// An option whose value the engine grants the plugin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OptionGrant {
    pub option: String,
    pub access: Access,
}

impl OptionGrant {
    pub fn new(option: &str, access: Access) -> OptionGrant {
        OptionGrant {
            option: option.to_string(),
            access,
        }
    }
}

/// What an option a plugin does not declare is: SeaTunnel ignores such options (and its own
/// configs carry typos), so by default a warning; `st check --strict` or st.yaml's
/// `unknown-options: error` make it an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownOptions {
    #[default]
    Warn,
    Error,
}
