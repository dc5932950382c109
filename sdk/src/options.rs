//! Typed access to a plugin's options, with defaults taken from the specs it declares.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use crate::{Error, OptionSpec, OptionType, Result};

/// The options a plugin declares, built fluently:
/// `OptionSpecs::new().required("path", OptionType::String, "...")`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionSpecs(pub Vec<OptionSpec>);

impl OptionSpecs {
    pub fn new() -> OptionSpecs {
        OptionSpecs(Vec::new())
    }

    /// An option the job must set.
    pub fn required(mut self, name: &str, option_type: OptionType, doc: &str) -> OptionSpecs {
        self.0.push(OptionSpec {
            name: name.into(),
            option_type,
            required: true,
            default_value: None,
            doc: doc.into(),
        });
        self
    }

    /// An option with a default (`Json::Null` for none).
    pub fn optional(
        mut self,
        name: &str,
        option_type: OptionType,
        default: Json,
        doc: &str,
    ) -> OptionSpecs {
        self.0.push(OptionSpec {
            name: name.into(),
            option_type,
            required: false,
            default_value: (!default.is_null()).then(|| default.to_string()),
            doc: doc.into(),
        });
        self
    }
}

/// A plugin's options as the host passed them (already checked against the specs).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    map: Map<String, Json>,
    specs: Vec<OptionSpec>,
}

impl Options {
    /// Parses the JSON object the host passes.
    pub fn parse(json: &str, specs: OptionSpecs) -> Result<Options> {
        let map = match serde_json::from_str::<Json>(json) {
            Ok(Json::Object(map)) => map,
            Ok(other) => {
                return Err(Error::fatal(format!(
                    "options must be a JSON object, got {other}"
                )));
            }
            Err(e) => return Err(Error::fatal(format!("options are not valid JSON: {e}"))),
        };
        Ok(Options {
            map,
            specs: specs.0,
        })
    }

    /// Options from an object, e.g. one entry of `tables_configs`, with the same specs.
    pub fn from_map(map: Map<String, Json>, specs: &OptionSpecs) -> Options {
        Options {
            map,
            specs: specs.0.clone(),
        }
    }

    /// The raw options object.
    pub fn as_map(&self) -> &Map<String, Json> {
        &self.map
    }

    /// Whether the job set the option (defaults do not count).
    pub fn contains(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    fn lookup(&self, name: &str) -> Option<&Json> {
        st_core::option_value(&self.map, name)
    }

    /// The value, or the declared default; `None` when neither exists.
    pub fn json(&self, name: &str) -> Option<Json> {
        match self.lookup(name) {
            Some(v) if !v.is_null() => Some(v.clone()),
            _ => self
                .specs
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.default_value.as_deref())
                .and_then(|d| serde_json::from_str(d).ok()),
        }
    }

    /// Deserializes the option into `T`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.json(name) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| Error::invalid_option(name, format!("`{v}` is not valid here: {e}"))),
        }
    }

    /// A required option: missing is an error naming it.
    pub fn require<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        self.get(name)?
            .ok_or_else(|| Error::invalid_option(name, "is required"))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>> {
        Ok(match self.json(name) {
            None => None,
            Some(Json::String(s)) => Some(s),
            Some(Json::Number(n)) => Some(n.to_string()),
            Some(Json::Bool(b)) => Some(b.to_string()),
            Some(other) => {
                return Err(Error::invalid_option(
                    name,
                    format!("expected a string, found {other}"),
                ));
            }
        })
    }

    pub fn i64(&self, name: &str) -> Result<Option<i64>> {
        Ok(match self.json(name) {
            None => None,
            Some(v) => Some(as_i64(&v).ok_or_else(|| {
                Error::invalid_option(name, format!("expected an integer, found {v}"))
            })?),
        })
    }

    pub fn f64(&self, name: &str) -> Result<Option<f64>> {
        Ok(match self.json(name) {
            None => None,
            Some(v) => Some(as_f64(&v).ok_or_else(|| {
                Error::invalid_option(name, format!("expected a number, found {v}"))
            })?),
        })
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        Ok(match self.json(name) {
            None => None,
            Some(Json::Bool(b)) => Some(b),
            Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(v) => {
                return Err(Error::invalid_option(
                    name,
                    format!("expected true or false, found {v}"),
                ));
            }
        })
    }

    pub fn list(&self, name: &str) -> Result<Option<Vec<Json>>> {
        Ok(match self.json(name) {
            None => None,
            Some(Json::Array(a)) => Some(a),
            Some(v) => {
                return Err(Error::invalid_option(
                    name,
                    format!("expected a list, found {v}"),
                ));
            }
        })
    }
}

/// A JSON number or numeric string as i64.
pub fn as_i64(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| {
            n.to_string()
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        }),
        Json::String(s) => {
            let s = s.trim();
            s.parse().ok().or_else(|| {
                s.strip_prefix("0x")
                    .and_then(|h| i64::from_str_radix(h, 16).ok())
            })
        }
        _ => None,
    }
}

/// A JSON number or numeric string as f64.
pub fn as_f64(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.to_string().parse().ok(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_find_nested_values_and_defaults_apply() {
        let specs = OptionSpecs::new()
            .optional("row.num", OptionType::Integer, Json::from(5), "rows")
            .optional("split.num", OptionType::Integer, Json::from(1), "splits");
        let o = Options::parse(r#"{"row": {"num": 7}}"#, specs).unwrap();
        assert_eq!(o.i64("row.num").unwrap(), Some(7));
        assert_eq!(o.i64("split.num").unwrap(), Some(1));
        assert!(o.contains("row.num"));
        assert!(!o.contains("split.num"));
        let e = Options::parse(r#"{"row.num": "x"}"#, OptionSpecs::new())
            .unwrap()
            .i64("row.num")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "option `row.num`: expected an integer, found \"x\""
        );
    }
}
