//! HOCON values as JSON (numbers keep their written digits), and HOCON errors with positions.

use serde_json::{Map, Value as Json};

use crate::ConfigError;

pub(crate) fn hocon_error(file: &str, e: &hocon::HoconError, line_offset: usize) -> ConfigError {
    match e {
        hocon::HoconError::Parse(p) => ConfigError {
            file: file.into(),
            line: Some(p.line + line_offset),
            col: Some(p.col),
            path: String::new(),
            message: format!("HOCON syntax error: {}", p.message),
        },
        other => ConfigError {
            file: file.into(),
            line: None,
            col: None,
            path: String::new(),
            message: format!("invalid HOCON: {other}"),
        },
    }
}

/// Converts a parsed HOCON document to JSON; numbers keep their written digits.
pub(crate) fn config_to_json(c: &hocon::Config) -> Json {
    let mut map = Map::new();
    for k in c.keys() {
        if let Some(v) = c.get(&quote_key(k)) {
            map.insert(k.to_string(), hocon_to_json(v));
        }
    }
    Json::Object(map)
}

fn quote_key(k: &str) -> String {
    if k.contains('.') || k.contains(' ') {
        format!("\"{k}\"")
    } else {
        k.to_string()
    }
}

fn hocon_to_json(v: &hocon::HoconValue) -> Json {
    use hocon::HoconValue as H;
    match v {
        H::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), hocon_to_json(v)))
                .collect(),
        ),
        H::Array(items) => Json::Array(items.iter().map(hocon_to_json).collect()),
        H::Scalar(s) => match s.value_type {
            hocon::ScalarType::Null => Json::Null,
            hocon::ScalarType::Boolean => {
                Json::Bool(s.raw.eq_ignore_ascii_case("true") || s.raw == "yes" || s.raw == "on")
            }
            hocon::ScalarType::Number => s
                .raw
                .parse::<serde_json::Number>()
                .map_or_else(|_| Json::String(s.raw.clone()), Json::Number),
            _ => Json::String(s.raw.clone()),
        },
        _ => Json::Null,
    }
}
