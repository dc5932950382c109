//! The network side of a node, read from SeaTunnel's `hazelcast.yaml` (and its
//! `hazelcast-master.yaml` / `hazelcast-worker.yaml` for separated mode) or from a `hazelcast:`
//! section in `st.yaml`, in the same shape. Strait has no Hazelcast: of the file it honours the
//! cluster name, the tcp-ip member list, the port, the member attributes (tags), the heartbeat
//! properties and the map-store settings. Keys that configure only Hazelcast or the JVM are
//! accepted with one notice that lists them; a key neither knows is an error with its line.
//!
//! `hazelcast-client.yaml` gives a client the cluster's addresses ([`ClientConfig`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::ConfError;

/// Hazelcast's default member port.
pub const DEFAULT_PORT: u16 = 5801;

/// How this node finds and watches the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The files it came from, in the order read.
    pub source: String,
    /// Nodes with another cluster name are refused.
    pub cluster_name: String,
    /// `host:port` of every member to join (a bare host in the file means `port`).
    pub members: Vec<String>,
    /// The port to listen on.
    pub port: u16,
    /// Whether the next port is tried when `port` is taken, up to `port_count` ports.
    pub auto_increment: bool,
    pub port_count: u16,
    /// `member-attributes`: this node's tags, matched against a job's `env.tag_filter`.
    pub attributes: BTreeMap<String, String>,
    /// `hazelcast.heartbeat.interval.seconds`.
    pub heartbeat_interval_secs: u64,
    /// `hazelcast.max.no.heartbeat.seconds`: a node silent this long is dead.
    pub max_no_heartbeat_secs: u64,
    /// `map.engine*.map-store.properties` when the map store is enabled: where snapshots of the
    /// job-state map are also written.
    pub map_store: Option<BTreeMap<String, String>>,
    /// Keys accepted without effect, one notice per file.
    pub notices: Vec<String>,
}

/// `hazelcast:` as written. Each level keeps what it does not know in `rest`, which is then
/// sorted into Hazelcast's own keys (a notice) and unknown ones (an error).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct HazelcastSection {
    cluster_name: Option<String>,
    network: Option<NetworkSection>,
    member_attributes: Option<BTreeMap<String, Attribute>>,
    properties: Option<BTreeMap<String, Scalar>>,
    map: Option<BTreeMap<String, MapSection>>,
    #[serde(flatten)]
    rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct NetworkSection {
    join: Option<JoinSection>,
    port: Option<PortSection>,
    #[serde(flatten)]
    rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct JoinSection {
    tcp_ip: Option<TcpIpSection>,
    #[serde(flatten)]
    rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct TcpIpSection {
    enabled: Option<bool>,
    member_list: Option<Vec<String>>,
    /// Hazelcast's other spelling: one comma-separated string.
    members: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PortSection {
    port: Option<u16>,
    auto_increment: Option<bool>,
    port_count: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Attribute {
    #[serde(rename = "type")]
    _kind: Option<String>,
    value: Scalar,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MapSection {
    map_store: Option<MapStoreSection>,
    #[serde(flatten)]
    rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MapStoreSection {
    enabled: Option<bool>,
    properties: Option<BTreeMap<String, Scalar>>,
    #[serde(flatten)]
    rest: BTreeMap<String, IgnoredAny>,
}

/// A YAML scalar read as text: `20`, `true` and `"x"` alike.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Top-level keys of a Hazelcast member config that configure Hazelcast itself.
const HAZELCAST_KEYS: &[&str] = &[
    "instance-name",
    "license-key",
    "management-center",
    "partition-group",
    "executor-service",
    "durable-executor-service",
    "scheduled-executor-service",
    "queue",
    "multimap",
    "replicatedmap",
    "cache",
    "list",
    "set",
    "topic",
    "reliable-topic",
    "ringbuffer",
    "flake-id-generator",
    "pn-counter",
    "cardinality-estimator",
    "listeners",
    "serialization",
    "native-memory",
    "security",
    "lite-member",
    "split-brain-protection",
    "crdt-replication",
    "hot-restart-persistence",
    "persistence",
    "user-code-deployment",
    "metrics",
    "sql",
    "jet",
    "cp-subsystem",
    "auditlog",
    "instance-tracking",
    "integrity-checker",
    "dynamic-configuration",
    "local-device",
    "data-connection",
    "tpc",
    "wan-replication",
    "advanced-network",
    "import",
    "config-replacers",
];
const NETWORK_KEYS: &[&str] = &[
    "public-address",
    "outbound-ports",
    "reuse-address",
    "interfaces",
    "ssl",
    "socket-interceptor",
    "symmetric-encryption",
    "member-address-provider",
    "failure-detector",
    "rest-api",
    "memcache-protocol",
    "tpc-socket",
];
const JOIN_KEYS: &[&str] = &[
    "auto-detection",
    "multicast",
    "aws",
    "gcp",
    "azure",
    "kubernetes",
    "eureka",
    "discovery-strategies",
];
const TCP_IP_KEYS: &[&str] = &[
    "connection-timeout-seconds",
    "member",
    "interface",
    "required-member",
];
const MAP_KEYS: &[&str] = &[
    "backup-count",
    "async-backup-count",
    "time-to-live-seconds",
    "max-idle-seconds",
    "eviction",
    "in-memory-format",
    "read-backup-data",
    "merge-policy",
    "statistics-enabled",
    "per-entry-stats-enabled",
    "near-cache",
    "indexes",
    "attributes",
    "entry-listeners",
    "partition-lost-listeners",
    "partition-strategy",
    "metadata-policy",
    "split-brain-protection-ref",
    "query-caches",
    "wan-replication-ref",
    "event-journal",
    "merkle-tree",
    "hot-restart",
    "data-persistence",
    "tiered-store",
    "cache-deserialized-values",
    "user-code-namespace",
];
const MAP_STORE_KEYS: &[&str] = &[
    "initial-mode",
    "factory-class-name",
    "class-name",
    "write-delay-seconds",
    "write-batch-size",
    "write-coalescing",
    "offload",
];

const HEARTBEAT_INTERVAL: &str = "hazelcast.heartbeat.interval.seconds";
const MAX_NO_HEARTBEAT: &str = "hazelcast.max.no.heartbeat.seconds";

/// Where `path` (a key and the keys above it) is written in block-style YAML `text`:
/// `(line, column)`, 1-based.
pub(crate) fn key_position(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let Some((key, _)) = item.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        while stack.last().is_some_and(|(d, _)| *d >= indent) {
            stack.pop();
        }
        stack.push((indent, key.to_string()));
        if stack.len() == path.len() && stack.iter().zip(path).all(|((_, k), p)| k == p) {
            return Some((i + 1, indent + 1));
        }
    }
    None
}

/// Sorts one level's leftover keys: Hazelcast's own go to `accepted`, the rest are errors.
struct Leftovers<'a> {
    file: &'a str,
    text: &'a str,
    accepted: Vec<String>,
}

impl Leftovers<'_> {
    fn sort(
        &mut self,
        at: &[&str],
        rest: &BTreeMap<String, IgnoredAny>,
        known: &[&str],
    ) -> Result<(), ConfError> {
        for key in rest.keys() {
            let mut path = at.to_vec();
            path.push(key);
            if known.contains(&key.as_str()) {
                self.accepted.push(path.join("."));
                continue;
            }
            return Err(self.unknown(&path, known));
        }
        Ok(())
    }

    fn unknown(&self, path: &[&str], known: &[&str]) -> ConfError {
        let file = match key_position(self.text, path) {
            Some((line, col)) => format!("{}:{line}:{col}", self.file),
            None => self.file.to_string(),
        };
        let key = path.last().copied().unwrap_or_default();
        let hint = known
            .iter()
            .find(|k| crate::close(k, key))
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        ConfError {
            file,
            message: format!(
                "unknown key `{}`: neither Strait nor Hazelcast knows it{hint}",
                path.join(".")
            ),
        }
    }
}

impl NetworkConfig {
    /// `section` (read from `text`, in `file`) over this config.
    pub(crate) fn overlay(
        mut self,
        section: HazelcastSection,
        file: &str,
        text: &str,
    ) -> Result<NetworkConfig, ConfError> {
        let mut left = Leftovers {
            file,
            text,
            accepted: Vec::new(),
        };
        let bad = |path: &[&str], message: String| {
            let at = key_position(text, path)
                .map(|(l, c)| format!("{file}:{l}:{c}"))
                .unwrap_or_else(|| file.to_string());
            ConfError { file: at, message }
        };
        left.sort(&["hazelcast"], &section.rest, HAZELCAST_KEYS)?;
        if let Some(name) = section.cluster_name {
            if name.trim().is_empty() {
                return Err(bad(
                    &["hazelcast", "cluster-name"],
                    "hazelcast.cluster-name is empty".into(),
                ));
            }
            self.cluster_name = name;
        }
        let mut members = None;
        if let Some(net) = section.network {
            left.sort(&["hazelcast", "network"], &net.rest, NETWORK_KEYS)?;
            if let Some(port) = net.port {
                crate::set(&mut self.port, port.port);
                crate::set(&mut self.auto_increment, port.auto_increment);
                crate::set(&mut self.port_count, port.port_count);
            }
            if let Some(join) = net.join {
                left.sort(&["hazelcast", "network", "join"], &join.rest, JOIN_KEYS)?;
                if let Some(tcp) = join.tcp_ip {
                    let at = ["hazelcast", "network", "join", "tcp-ip"];
                    left.sort(&at, &tcp.rest, TCP_IP_KEYS)?;
                    if tcp.enabled == Some(false) {
                        return Err(bad(
                            &["hazelcast", "network", "join", "tcp-ip", "enabled"],
                            "hazelcast.network.join.tcp-ip.enabled is false, but Strait's nodes join only through the tcp-ip member list".into(),
                        ));
                    }
                    let mut list = tcp.member_list.unwrap_or_default();
                    if let Some(m) = tcp.members {
                        list.extend(m.split(',').map(|s| s.trim().to_string()));
                    }
                    members = Some(list);
                }
            }
        }
        if let Some(list) = members {
            self.members = Vec::new();
            for m in list.iter().filter(|m| !m.trim().is_empty()) {
                let addr = member_address(m.trim(), self.port).map_err(|message| {
                    bad(
                        &["hazelcast", "network", "join", "tcp-ip", "member-list"],
                        message,
                    )
                })?;
                if !self.members.contains(&addr) {
                    self.members.push(addr);
                }
            }
        }
        if let Some(attrs) = section.member_attributes {
            self.attributes = attrs.into_iter().map(|(k, a)| (k, a.value.0)).collect();
        }
        for (key, Scalar(value)) in section.properties.unwrap_or_default() {
            let target = match key.as_str() {
                HEARTBEAT_INTERVAL => &mut self.heartbeat_interval_secs,
                MAX_NO_HEARTBEAT => &mut self.max_no_heartbeat_secs,
                k if k.starts_with("hazelcast.") => {
                    left.accepted.push(format!("hazelcast.properties.{k}"));
                    continue;
                }
                _ => {
                    return Err(bad(
                        &["hazelcast", "properties", &key],
                        format!("unknown property `{key}`: neither Strait nor Hazelcast knows it"),
                    ));
                }
            };
            *target = value
                .parse::<u64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    bad(
                        &["hazelcast", "properties", &key],
                        format!("{key} must be a whole number of seconds above 0, found `{value}`"),
                    )
                })?;
        }
        if self.max_no_heartbeat_secs <= self.heartbeat_interval_secs {
            return Err(bad(
                &["hazelcast", "properties", MAX_NO_HEARTBEAT],
                format!(
                    "{MAX_NO_HEARTBEAT} ({}) must be longer than {HEARTBEAT_INTERVAL} ({})",
                    self.max_no_heartbeat_secs, self.heartbeat_interval_secs
                ),
            ));
        }
        for (name, m) in section.map.unwrap_or_default() {
            let at = ["hazelcast", "map", name.as_str()];
            left.sort(&at, &m.rest, MAP_KEYS)?;
            let Some(store) = m.map_store else { continue };
            let at = ["hazelcast", "map", name.as_str(), "map-store"];
            left.sort(&at, &store.rest, MAP_STORE_KEYS)?;
            if store.enabled == Some(true) {
                self.map_store = Some(
                    store
                        .properties
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.0))
                        .collect(),
                );
            }
        }
        if !left.accepted.is_empty() {
            self.notices.push(format!(
                "{file}: accepted without effect (they configure Hazelcast or the JVM, which Strait does not run): {}",
                left.accepted.join(", ")
            ));
        }
        self.source = if self.source.is_empty() {
            file.to_string()
        } else {
            format!("{}, {file}", self.source)
        };
        Ok(self)
    }

    /// `text` (a `hazelcast.yaml`) over this config.
    pub fn overlay_file(self, text: &str, file: &Path) -> Result<NetworkConfig, ConfError> {
        let name = file.display().to_string();
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            hazelcast: Option<HazelcastSection>,
        }
        let parsed: File = if text.trim().is_empty() {
            File { hazelcast: None }
        } else {
            serde_saphyr::from_str(text).map_err(|e| crate::yaml_error(&name, &e.to_string()))?
        };
        self.overlay(parsed.hazelcast.unwrap_or_default(), &name, text)
    }

    /// Reads `path` over this config.
    pub fn load_over(self, path: &Path) -> Result<NetworkConfig, ConfError> {
        let text = crate::read(path)?;
        self.overlay_file(&text, path)
    }

    /// The Hazelcast file a node of `role` reads under `conf_dir`: `hazelcast-master.yaml` for
    /// a master or `hazelcast-worker.yaml` for a worker when it exists, else `hazelcast.yaml`;
    /// `None` when there is none.
    pub fn file_for(conf_dir: &Path, role: Option<&str>) -> Option<std::path::PathBuf> {
        let own = role.map(|r| conf_dir.join(format!("hazelcast-{r}.yaml")));
        own.into_iter()
            .chain([conf_dir.join("hazelcast.yaml")])
            .find(|p| p.is_file())
    }
}

/// `host:port` for a member-list entry; a bare host takes `port`.
fn member_address(entry: &str, port: u16) -> Result<String, String> {
    if entry.starts_with('[') {
        return match entry.rsplit_once("]:") {
            Some((_, p)) => p
                .parse::<u16>()
                .map(|_| entry.to_string())
                .map_err(|_| format!("`{entry}`: `{p}` is not a port")),
            None => Ok(format!("{entry}:{port}")),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => {
            let p: u16 = p
                .parse()
                .map_err(|_| format!("member `{entry}`: `{p}` is not a port"))?;
            Ok(format!("{host}:{p}"))
        }
        Some(_) => Ok(format!("[{entry}]:{port}")),
        None => Ok(format!("{entry}:{port}")),
    }
}

/// What a client reads from `hazelcast-client.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub cluster_name: Option<String>,
    /// `network.cluster-members`, each `host:port` (a bare host: port 5801).
    pub members: Vec<String>,
}

impl ClientConfig {
    pub fn parse(text: &str, file: &Path) -> Result<ClientConfig, ConfError> {
        let name = file.display().to_string();
        #[derive(Deserialize)]
        struct File {
            #[serde(rename = "hazelcast-client")]
            client: Option<Client>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        struct Client {
            cluster_name: Option<String>,
            network: Option<ClientNetwork>,
            #[serde(flatten)]
            _rest: BTreeMap<String, IgnoredAny>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        struct ClientNetwork {
            cluster_members: Option<Vec<String>>,
            #[serde(flatten)]
            _rest: BTreeMap<String, IgnoredAny>,
        }
        let parsed: File =
            serde_saphyr::from_str(text).map_err(|e| crate::yaml_error(&name, &e.to_string()))?;
        let client = parsed.client.ok_or_else(|| ConfError {
            file: name.clone(),
            message: "no `hazelcast-client` section".into(),
        })?;
        let members = client
            .network
            .and_then(|n| n.cluster_members)
            .unwrap_or_default()
            .iter()
            .map(|m| member_address(m.trim(), DEFAULT_PORT))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| ConfError {
                file: name.clone(),
                message,
            })?;
        Ok(ClientConfig {
            cluster_name: client.cluster_name,
            members,
        })
    }

    pub fn load(path: &Path) -> Result<ClientConfig, ConfError> {
        ClientConfig::parse(&crate::read(path)?, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over_defaults(text: &str) -> Result<NetworkConfig, ConfError> {
        crate::EngineConfig::default()
            .network
            .overlay_file(text, Path::new("/home/conf/hazelcast.yaml"))
    }

    #[test]
    fn members_ports_and_properties() {
        let c = over_defaults(
            "hazelcast:\n  cluster-name: prod\n  network:\n    join:\n      tcp-ip:\n        enabled: true\n        member-list:\n          - 10.0.0.1\n          - 10.0.0.2:5802\n          - 10.0.0.1\n    port:\n      auto-increment: false\n      port-count: 3\n      port: 5901\n  member-attributes:\n    group:\n      type: string\n      value: platform\n  properties:\n    hazelcast.heartbeat.interval.seconds: 2\n    hazelcast.max.no.heartbeat.seconds: \"9\"\n    hazelcast.logging.type: log4j2\n",
        )
        .unwrap();
        assert_eq!(c.cluster_name, "prod");
        assert_eq!(c.members, vec!["10.0.0.1:5901", "10.0.0.2:5802"]);
        assert_eq!((c.port, c.auto_increment, c.port_count), (5901, false, 3));
        assert_eq!(c.attributes["group"], "platform");
        assert_eq!((c.heartbeat_interval_secs, c.max_no_heartbeat_secs), (2, 9));
        assert_eq!(c.notices.len(), 1);
        assert!(
            c.notices[0].contains("hazelcast.properties.hazelcast.logging.type"),
            "{:?}",
            c.notices
        );
    }

    #[test]
    fn hazelcast_keys_are_a_notice_and_unknown_keys_an_error_with_the_line() {
        let c = over_defaults(
            "hazelcast:\n  network:\n    rest-api:\n      enabled: true\n    join:\n      multicast:\n        enabled: false\n      tcp-ip:\n        member-list: [localhost]\n  jet:\n    enabled: true\n  map:\n    engine*:\n      map-store:\n        enabled: true\n        initial-mode: EAGER\n        properties:\n          type: hdfs\n          namespace: /tmp/imap\n",
        )
        .unwrap();
        let n = &c.notices[0];
        for key in [
            "hazelcast.network.rest-api",
            "hazelcast.network.join.multicast",
            "hazelcast.jet",
            "hazelcast.map.engine*.map-store.initial-mode",
        ] {
            assert!(n.contains(key), "{key}: {n}");
        }
        assert_eq!(c.map_store.unwrap()["namespace"], "/tmp/imap");
        let e = over_defaults(
            "hazelcast:\n  network:\n    join:\n      tcp-ip:\n        member-lst: [a]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("/home/conf/hazelcast.yaml:5:9: unknown key `hazelcast.network.join.tcp-ip.member-lst`"),
            "{e}"
        );
        let e = over_defaults("hazelcast:\n  properties:\n    heartbeat.seconds: 2\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/home/conf/hazelcast.yaml:3:5: unknown property"),
            "{e}"
        );
        let e = over_defaults(
            "hazelcast:\n  properties:\n    hazelcast.max.no.heartbeat.seconds: soon\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("whole number of seconds"), "{e}");
    }

    #[test]
    fn client_members() {
        let c = ClientConfig::parse(
            "hazelcast-client:\n  cluster-name: seatunnel\n  properties:\n    hazelcast.logging.type: log4j2\n  network:\n    cluster-members:\n      - localhost:5801\n      - otherhost\n",
            Path::new("hazelcast-client.yaml"),
        )
        .unwrap();
        assert_eq!(c.members, vec!["localhost:5801", "otherhost:5801"]);
    }

    #[test]
    fn the_role_picks_its_file() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(NetworkConfig::file_for(d.path(), Some("master")), None);
        std::fs::write(d.path().join("hazelcast.yaml"), "").unwrap();
        assert_eq!(
            NetworkConfig::file_for(d.path(), Some("master")),
            Some(d.path().join("hazelcast.yaml"))
        );
        std::fs::write(d.path().join("hazelcast-master.yaml"), "").unwrap();
        assert_eq!(
            NetworkConfig::file_for(d.path(), Some("master")),
            Some(d.path().join("hazelcast-master.yaml"))
        );
        assert_eq!(
            NetworkConfig::file_for(d.path(), None),
            Some(d.path().join("hazelcast.yaml"))
        );
    }
}
