//! What a plugin instance may use: its limits (linear memory, the time of one call) and its
//! grants (directories, network addresses, environment variables), resolved on this node.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Limits applied to one task instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLimits {
    /// Linear memory cap in bytes.
    pub max_memory_bytes: usize,
    /// How long one call into the plugin may run; `None`: no limit.
    pub call_timeout: Option<Duration>,
}

impl Default for TaskLimits {
    /// The shipped engine config's `sandbox` limits.
    fn default() -> Self {
        crate::RuntimeConfig::default().limits
    }
}

/// A directory the job grants a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    pub host: PathBuf,
    /// Where the plugin sees it (defaults to the host path).
    pub guest: String,
    pub writable: bool,
}

/// A network address the job grants a plugin: one port, or every port of the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetGrant {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl NetGrant {
    pub(crate) fn allows(&self, addr: &SocketAddr) -> bool {
        self.ip == addr.ip() && self.port.is_none_or(|p| p == addr.port())
    }
}

impl std::fmt::Display for NetGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}", SocketAddr::new(self.ip, p)),
            None => write!(f, "{}:*", self.ip),
        }
    }
}

/// What a plugin may reach outside its sandbox. The default grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub dirs: Vec<DirGrant>,
    pub network: Vec<NetGrant>,
    pub env: Vec<(String, String)>,
}

/// Limits and grants of one plugin of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxSpec {
    pub limits: TaskLimits,
    pub grants: Grants,
}
