//! The `sandbox` block: what a job grants one plugin (directories, network addresses,
//! environment variables) and the limits it sets (memory, call timeout). Nothing is granted
//! unless written here; limits left out come from `env.sandbox`, then from `conf/st.yaml`.
//!
//! ```hocon
//! sink {
//!   LocalFile {
//!     path = "/data/out"
//!     sandbox {
//!       dirs = [ { path = "/data/out", mode = "rw" }, "/data/lookup" ]   # a string is read-only
//!       network = [ "127.0.0.1:5432", "db.internal:*" ]
//!       env { PGPASSWORD = "secret" }
//!       max-memory-mb = 256
//!       call-timeout-ms = 30000
//!     }
//!   }
//! }
//! ```

use serde_json::Value as Json;

pub use st_core::{DirConfig, SandboxConfig};

/// Keys a plugin's `sandbox` block may hold.
const KEYS: &[&str] = &["dirs", "network", "env", "max-memory-mb", "call-timeout-ms"];

/// Parses a plugin's `sandbox` block; problems come back as (sub-path, message).
pub(crate) fn parse(v: &Json) -> (SandboxConfig, Vec<(String, String)>) {
    let mut out = SandboxConfig::default();
    let mut errors = Vec::new();
    let Json::Object(map) = v else {
        errors.push((String::new(), format!("must be an object, found {v}")));
        return (out, errors);
    };
    for (k, v) in map {
        match k.as_str() {
            "max-memory-mb" | "call-timeout-ms" => match limit(k, v) {
                Ok(n) if k == "max-memory-mb" => out.max_memory_mb = Some(n),
                Ok(n) => out.call_timeout_ms = Some(n),
                Err(m) => errors.push((format!(".{k}"), m)),
            },
            "dirs" => match v {
                Json::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match dir(item) {
                            Ok(d) => out.dirs.push(d),
                            Err(m) => errors.push((format!(".dirs[{i}]"), m)),
                        }
                    }
                }
                _ => errors.push((".dirs".into(), format!("must be a list, found {v}"))),
            },
            "network" => match v {
                Json::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str() {
                            Some(s) if s.contains(':') || !s.is_empty() => {
                                out.network.push(s.to_string())
                            }
                            _ => errors.push((
                                format!(".network[{i}]"),
                                format!("must be \"host:port\" or \"host:*\", found {item}"),
                            )),
                        }
                    }
                }
                _ => errors.push((".network".into(), format!("must be a list, found {v}"))),
            },
            "env" => match v {
                Json::Object(vars) => {
                    for (name, value) in vars {
                        let value = match value {
                            Json::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        out.env.push((name.clone(), value));
                    }
                }
                _ => errors.push((".env".into(), format!("must be an object, found {v}"))),
            },
            other => errors.push((
                format!(".{other}"),
                format!("is not a sandbox setting; known: {}", KEYS.join(", ")),
            )),
        }
    }
    (out, errors)
}

/// A positive integer limit.
pub(crate) fn limit(key: &str, v: &Json) -> Result<u64, String> {
    let n = match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n > 0 || key == "call-timeout-ms" => Ok(n),
        _ => Err(format!("must be a positive integer, found {v}")),
    }
}

fn dir(v: &Json) -> Result<DirConfig, String> {
    match v {
        Json::String(path) if !path.is_empty() => Ok(DirConfig {
            path: path.clone(),
            guest: None,
            writable: false,
            create: false,
        }),
        Json::Object(m) => {
            let mut d = DirConfig {
                path: String::new(),
                guest: None,
                writable: false,
                create: false,
            };
            for (k, v) in m {
                let text = v
                    .as_str()
                    .ok_or_else(|| format!("`{k}` must be a string"))?;
                match k.as_str() {
                    "path" => d.path = text.to_string(),
                    "guest" => d.guest = Some(text.to_string()),
                    "mode" => {
                        d.writable = match text.to_ascii_lowercase().as_str() {
                            "ro" | "read-only" | "read" => false,
                            "rw" | "read-write" | "write" => true,
                            _ => {
                                return Err(format!(
                                    "`mode` must be \"ro\" or \"rw\", found \"{text}\""
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(format!(
                            "`{other}` is not a directory grant setting; known: path, guest, mode"
                        ));
                    }
                }
            }
            if d.path.is_empty() {
                return Err("needs a `path`".into());
            }
            Ok(d)
        }
        _ => Err(format!(
            "must be a path or {{ path = \"...\", mode = \"ro\"|\"rw\", guest = \"...\" }}, found {v}"
        )),
    }
}
