//! Turns a vertex's declared `sandbox` into the runtime's [`SandboxSpec`] where the task runs:
//! limits as declared (the plugin's block, else `env.sandbox`), else the node's defaults (which
//! are also the ceiling); directories checked and host names resolved on this node.

use std::net::{IpAddr, ToSocketAddrs as _};
use std::path::Path;
use std::time::Duration;

use st_core::SandboxConfig;
use st_runtime::{DirGrant, Grants, NetGrant, RuntimeConfig, SandboxSpec, TaskLimits};

/// Whether `path` (absolute) lies inside one of the node's `sandbox.allowed-dirs`, symbolic links
/// resolved as far as the path exists.
pub(crate) fn dir_allowed(node: &RuntimeConfig, path: &Path) -> Result<(), String> {
    let real = real_path(path);
    if node
        .allowed_dirs
        .iter()
        .any(|a| real.starts_with(real_path(a)))
    {
        return Ok(());
    }
    Err(format!(
        "`{}` is outside the directories this node lets jobs reach (sandbox.allowed-dirs in st.yaml: {})",
        path.display(),
        list(node.allowed_dirs.iter().map(|d| d.display().to_string()))
    ))
}

/// Whether `text` (`host`, `host:port`, `host:*`) is one of the node's `sandbox.allowed-hosts`.
pub(crate) fn host_allowed(node: &RuntimeConfig, text: &str) -> Result<(), String> {
    if host_listed(&node.allowed_hosts, text) {
        return Ok(());
    }
    Err(format!(
        "`{text}` is not a host this node lets jobs reach (sandbox.allowed-hosts in st.yaml: {})",
        list(node.allowed_hosts.iter().cloned())
    ))
}

/// Whether `text` (`host`, `host:port`, `host:*`) is covered by one of `allowed`'s entries
/// (`*`, `host`, `host:*` or the same `host:port`).
pub(crate) fn host_listed(allowed: &[String], text: &str) -> bool {
    let host = split_host(text).0;
    allowed.iter().any(|a| {
        a == "*" || a == text || (!a.contains(':') && a.eq_ignore_ascii_case(host)) || {
            let (ah, ap) = split_host(a);
            ah.eq_ignore_ascii_case(host) && ap.is_none_or(|p| p == "*")
        }
    })
}

fn list(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The path with symbolic links resolved in the part of it that exists.
fn real_path(path: &Path) -> std::path::PathBuf {
    let mut missing = Vec::new();
    let mut p = path.to_path_buf();
    loop {
        if let Ok(real) = p.canonicalize() {
            return missing.iter().rev().fold(real, |acc, c| acc.join(c));
        }
        match (p.file_name().map(|n| n.to_os_string()), p.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                p = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// (host, port) of `host:port`, `[v6]:port` or `host`.
fn split_host(text: &str) -> (&str, Option<&str>) {
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') || h.starts_with('[') => (h, Some(p)),
        _ => (text, None),
    };
    (host.trim_start_matches('[').trim_end_matches(']'), port)
}

/// Builds the spec; an error names the setting (under `sandbox`) and what is wrong. A directory
/// declared `create` that does not exist is created when `create_missing` (where the task
/// runs), and left out of the spec otherwise (while planning).
pub(crate) fn spec(
    node: &RuntimeConfig,
    plugin: &SandboxConfig,
    create_missing: bool,
) -> Result<SandboxSpec, (Option<String>, String)> {
    let ceiling_mb = node.limits.max_memory_bytes >> 20;
    let memory_mb = plugin.max_memory_mb;
    let max_memory_bytes = match memory_mb {
        Some(mb) if usize::try_from(mb).is_ok_and(|m| m <= ceiling_mb) => (mb as usize) << 20,
        Some(mb) => {
            return Err((
                Some("max-memory-mb".into()),
                format!(
                    "asks for {mb} MiB but this node allows at most {ceiling_mb} MiB per plugin instance (seatunnel.engine.sandbox.max-memory-mb in st.yaml)"
                ),
            ));
        }
        None => node.limits.max_memory_bytes,
    };
    let call_timeout = match plugin.call_timeout_ms {
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => node.limits.call_timeout,
    };
    let mut grants = Grants::default();
    for (i, d) in plugin.dirs.iter().enumerate() {
        let host = Path::new(&d.path);
        if !host.is_absolute() {
            return Err((
                Some(format!("dirs[{i}]")),
                format!("`{}` must be an absolute path", d.path),
            ));
        }
        dir_allowed(node, host).map_err(|m| (Some(format!("dirs[{i}]")), m))?;
        if d.create && !host.exists() {
            if !create_missing {
                continue;
            }
            std::fs::create_dir_all(host).map_err(|e| {
                (
                    Some(format!("dirs[{i}]")),
                    format!("cannot create `{}`: {e}", d.path),
                )
            })?;
        }
        if !host.is_dir() {
            return Err((
                Some(format!("dirs[{i}]")),
                format!("`{}` is not a directory on this node", d.path),
            ));
        }
        grants.dirs.push(DirGrant {
            host: host.to_path_buf(),
            guest: d.guest.clone().unwrap_or_else(|| d.path.clone()),
            writable: d.writable,
        });
    }
    for (i, n) in plugin.network.iter().enumerate() {
        host_allowed(node, n).map_err(|m| (Some(format!("network[{i}]")), m))?;
        grants
            .network
            .extend(net(n).map_err(|m| (Some(format!("network[{i}]")), m))?);
    }
    grants.env = plugin.env.clone();
    Ok(SandboxSpec {
        limits: TaskLimits {
            max_memory_bytes,
            call_timeout,
        },
        grants,
    })
}

/// `host:port`, `host:*` or `host` (every port); a host name is resolved now.
fn net(text: &str) -> Result<Vec<NetGrant>, String> {
    let (host, port) = split_host(text);
    let port = match port {
        None | Some("*") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("`{text}`: `{p}` is not a port (use a number or *)"))?,
        ),
    };
    let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, port.unwrap_or(0))
            .to_socket_addrs()
            .map_err(|e| format!("`{text}`: cannot resolve `{host}`: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    if ips.is_empty() {
        return Err(format!("`{text}`: `{host}` resolves to no address"));
    }
    Ok(ips.into_iter().map(|ip| NetGrant { ip, port }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_forms() {
        let g = net("127.0.0.1:5432").unwrap();
        assert_eq!(g[0].port, Some(5432));
        assert_eq!(net("127.0.0.1:*").unwrap()[0].port, None);
        assert_eq!(
            net("[::1]:80").unwrap()[0].ip,
            "::1".parse::<IpAddr>().unwrap()
        );
        assert!(
            net("localhost:5432")
                .unwrap()
                .iter()
                .any(|g| g.ip.is_loopback())
        );
        assert!(net("127.0.0.1:http").unwrap_err().contains("not a port"));
    }

    #[test]
    fn limits_default_to_the_node_and_cannot_exceed_it() {
        let node = RuntimeConfig::default();
        let none = SandboxConfig::default();
        let s = spec(&node, &none, false).unwrap();
        assert_eq!(s.limits, node.limits);
        assert!(s.grants.dirs.is_empty() && s.grants.network.is_empty() && s.grants.env.is_empty());
        let env = SandboxConfig {
            max_memory_mb: Some(64),
            call_timeout_ms: Some(1000),
            ..SandboxConfig::default()
        };
        let s = spec(&node, &env, false).unwrap();
        assert_eq!(s.limits.max_memory_bytes, 64 << 20);
        assert_eq!(s.limits.call_timeout, Some(Duration::from_secs(1)));
        let huge = SandboxConfig {
            max_memory_mb: Some(1 << 20),
            ..SandboxConfig::default()
        };
        let (key, msg) = spec(&node, &huge, false).unwrap_err();
        assert_eq!(key.as_deref(), Some("max-memory-mb"));
        assert!(msg.contains("at most"), "{msg}");
    }
}
