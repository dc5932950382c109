//! A job's sandbox settings for one plugin, as written: the limits it sets and what it grants
//! (directories, network addresses, environment variables). Declared, not resolved: a path
//! here has not been checked and a host name has not been looked up; the node that runs the
//! task does both (a plan travels to other machines carrying this).

use serde::{Deserialize, Serialize};

/// A directory grant as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirConfig {
    pub path: String,
    /// Where the plugin sees it; the same path when left out.
    pub guest: Option<String>,
    pub writable: bool,
    /// Created where the task runs when it does not exist yet (a directory a plugin declares
    /// it writes, such as a sink's output directory).
    #[serde(default)]
    pub create: bool,
}

/// One `sandbox` block (a plugin's) or `env.sandbox` (limits only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub max_memory_mb: Option<u64>,
    pub call_timeout_ms: Option<u64>,
    pub dirs: Vec<DirConfig>,
    /// `host:port` or `host:*`.
    pub network: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// `path` with `.` and `..` resolved by its text alone (no file system involved), so that
/// `/data/in/../secret` is not taken to lie under `/data/in`.
pub fn lexical_path(path: &str) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in std::path::Path::new(path).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn lexical_path_resolves_dots() {
        assert_eq!(
            super::lexical_path("/data/in/../secret/./x"),
            std::path::Path::new("/data/secret/x")
        );
        assert_eq!(super::lexical_path("/../etc"), std::path::Path::new("/etc"));
    }
}
