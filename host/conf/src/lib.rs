//! The engine config, `conf/st.yaml`. Its keys follow SeaTunnel's `seatunnel.yaml`
//! (`seatunnel.engine.*`) wherever SeaTunnel has one, so an operator's file carries over; keys
//! Strait adds (the component cache, plugin directories, sandbox defaults) sit beside them.
//!
//! Unlike job configs, where unknown `env` keys are only warnings, an unknown key here is an
//! error naming the key and its line: a typo in an operator's file must not silently fall back
//! to a default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

mod hazelcast;
pub use hazelcast::{ClientConfig, DEFAULT_PORT, NetworkConfig};

/// Why the engine config cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfError {
    pub file: String,
    pub message: String,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    seatunnel: Root,
    /// The node's network, in `hazelcast.yaml`'s shape (that file, when present, overrides it).
    hazelcast: Option<hazelcast::HazelcastSection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    #[serde(default)]
    engine: EngineSection,
}

/// `seatunnel.engine`, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EngineSection {
    component_cache_mode: Option<bool>,
    /// SeaTunnel's name for the same switch.
    classloader_cache_mode: Option<bool>,
    component_cache_dir: Option<PathBuf>,
    plugin_dirs: Option<Vec<PathBuf>>,
    sandbox: Option<SandboxSection>,
    read_ahead: Option<ReadAhead>,
    unknown_options: Option<st_core::UnknownOptions>,
    checkpoint: Option<CheckpointSection>,
    // SeaTunnel keys accepted for compatibility; cluster issues give them meaning.
    history_job_expire_minutes: Option<u64>,
    backup_count: Option<u32>,
    queue_type: Option<String>,
    print_execution_info_interval: Option<u64>,
    print_job_metrics_info_interval: Option<u64>,
    job_metrics_backup_interval: Option<u64>,
    slot_service: Option<SlotService>,
    job_schedule_strategy: Option<ScheduleStrategy>,
    http: Option<HttpSection>,
    telemetry: Option<TelemetrySection>,
    /// Strait's own: the cluster secret.
    security: Option<SecuritySection>,
    // SeaTunnel keys with no meaning in Strait (the JVM's jars and thread pools): a notice.
    metrics_fetch_timeout_ms: Option<serde::de::IgnoredAny>,
    jar_storage: Option<serde::de::IgnoredAny>,
    coordinator_service: Option<serde::de::IgnoredAny>,
    event_report_http: Option<serde::de::IgnoredAny>,
    job_log_mode: Option<serde::de::IgnoredAny>,
    connector_jar_storage_config: Option<serde::de::IgnoredAny>,
}

/// `job-schedule-strategy`: what a job that finds too few free slots does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ScheduleStrategy {
    /// Fail the submit (SeaTunnel's `NoEnoughResourceException`).
    #[default]
    Reject,
    /// Stay PENDING until slots free up.
    Wait,
}

/// `seatunnel.engine.http`: the REST API V2 and the web console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpSection {
    pub enable_http: Option<bool>,
    pub port: Option<u16>,
    pub context_path: Option<String>,
    pub enable_dynamic_port: Option<bool>,
    pub port_range: Option<u16>,
    pub enable_basic_auth: Option<bool>,
    pub basic_auth_username: Option<String>,
    pub basic_auth_password: Option<String>,
    pub enable_https: Option<bool>,
    pub https_port: Option<u16>,
    pub key_store_path: Option<String>,
    pub key_store_password: Option<String>,
    pub key_manager_password: Option<String>,
    pub trust_store_path: Option<String>,
    pub trust_store_password: Option<String>,
    pub allow_anonymous_submit: Option<bool>,
}

/// `seatunnel.engine.security`: the cluster secret every node and client must present (a
/// node with one refuses calls without it). `secret` as text, or `secret-file`: a file holding
/// it (surrounding whitespace ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecuritySection {
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
}

impl SecuritySection {
    /// The secret, read from its file when it is in one; `None` when there is none.
    pub fn secret(&self) -> Result<Option<String>, String> {
        let text = match (&self.secret, &self.secret_file) {
            (Some(_), Some(_)) => {
                return Err("security: set secret or secret-file, not both".to_string());
            }
            (Some(s), None) => s.clone(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| format!("security.secret-file: cannot read {}: {e}", f.display()))?,
            (None, None) => return Ok(None),
        };
        let text = text.trim();
        if text.len() < 16 {
            return Err(format!(
                "security: the cluster secret must be at least 16 characters (it has {})",
                text.len()
            ));
        }
        Ok(Some(text.to_string()))
    }
}

/// `seatunnel.engine.telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TelemetrySection {
    pub metric: Option<TelemetryMetric>,
    pub logs: Option<TelemetryLogs>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TelemetryMetric {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TelemetryLogs {
    pub scheduled_deletion_enable: Option<bool>,
}

/// `seatunnel.engine.read-ahead`: whether a subtask's reader reads its next batch on a thread
/// of its own while the transforms and writers work on the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadAhead {
    /// When reading and writing a batch both take long enough to pay for the hand-over.
    #[default]
    Auto,
    Always,
    Never,
}

/// `seatunnel.engine.slot-service`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlotService {
    pub dynamic_slot: Option<bool>,
    pub slot_num: Option<u32>,
}

/// `seatunnel.engine.checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// Milliseconds between checkpoints of a STREAMING job.
    pub interval: u64,
    /// Milliseconds a checkpoint may take before it is aborted.
    pub timeout: u64,
    pub storage: CheckpointStorage,
}

/// `seatunnel.engine.checkpoint.storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointStorage {
    /// `localfile` (default) or `hdfs`/`s3` as SeaTunnel writes it; the store itself is chosen
    /// by `plugin-config` (`storage.type`, `fs.defaultFS`, `s3.bucket`, ...).
    pub storage_type: String,
    pub max_retained: u32,
    pub plugin_config: std::collections::BTreeMap<String, String>,
}

/// `seatunnel.engine.sandbox`: defaults for every plugin instance, which a job may lower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxDefaults {
    /// Linear-memory cap per plugin instance, in MiB. Also the largest cap a job may ask for.
    pub max_memory_mb: u64,
    /// How long one call into a plugin may run, in milliseconds (0: no limit).
    pub call_timeout_ms: u64,
    /// Plugin instances the pooling allocator keeps slots for; more concurrent instances than
    /// this wait for none and fail with a clear error.
    pub pool_instances: u32,
    /// A reader or transform whose memory passes this share of its cap (percent) is recycled
    /// from its restorable state at the next batch boundary, a sink writer at the next
    /// checkpoint (which it asks for); 0 turns recycling off.
    pub recycle_at_percent: u8,
    /// The directories grants may name (a job's `sandbox` blocks and the paths plugins declare);
    /// anything outside them is refused with the option named.
    pub allowed_dirs: Vec<PathBuf>,
    /// Whether a config file set `allowed-dirs` (a cluster node narrows the shipped default).
    pub allowed_dirs_set: bool,
    /// The hosts grants may name (`*` for any, `host` for every port of it, `host:port`).
    pub allowed_hosts: Vec<String>,
}

/// `checkpoint` as written: what it leaves out keeps its value from the layer below.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CheckpointSection {
    interval: Option<u64>,
    timeout: Option<u64>,
    storage: Option<StorageSection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StorageSection {
    #[serde(rename = "type")]
    storage_type: Option<String>,
    max_retained: Option<u32>,
    plugin_config: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SandboxSection {
    max_memory_mb: Option<u64>,
    call_timeout_ms: Option<u64>,
    pool_instances: Option<u32>,
    recycle_at_percent: Option<u8>,
    allowed_dirs: Option<Vec<PathBuf>>,
    allowed_hosts: Option<Vec<String>>,
}

/// Sets `target` to `value` when the layer has one.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

/// The shipped `conf/st.yaml`: the layer every config starts from, so the file is the defaults.
pub const DEFAULTS: &str = include_str!("../../../conf/st.yaml");

/// The engine config, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Where the config came from (`built-in defaults` when no file was found).
    pub source: String,
    /// Keep compiled components for later jobs (`true`) or release them when the last job using
    /// them ends (`false`). SeaTunnel: `classloader-cache-mode`.
    pub component_cache_mode: bool,
    /// Directory of precompiled components; `None` turns the disk cache off.
    pub component_cache_dir: Option<PathBuf>,
    /// Directories searched for `NAME.wasm` when a job names a plugin that is not built in.
    pub plugin_dirs: Vec<PathBuf>,
    pub sandbox: SandboxDefaults,
    pub read_ahead: ReadAhead,
    /// `unknown-options`: whether an option a plugin does not declare is a warning (`warn`,
    /// as SeaTunnel ignores them) or an error (`error`).
    pub unknown_options: st_core::UnknownOptions,
    pub checkpoint: CheckpointConfig,
    pub history_job_expire_minutes: u64,
    pub backup_count: u32,
    pub slot_service: SlotService,
    /// `print-execution-info-interval`: seconds between the progress blocks `st run` prints
    /// when its output is not a terminal (SeaTunnel's default: 60).
    pub print_execution_info_interval: u64,
    pub job_schedule_strategy: ScheduleStrategy,
    /// `http`, as written (the REST API reads it).
    pub http: HttpSection,
    /// `telemetry`, as written.
    pub telemetry: TelemetrySection,
    /// `security`: the cluster secret.
    pub security: SecuritySection,
    /// The node's network: the `hazelcast:` section of this file over the defaults; a node
    /// reads its `hazelcast.yaml` over this ([`NetworkConfig::load_over`]).
    pub network: NetworkConfig,
    /// Things worth telling the operator (deprecated aliases, keys without effect).
    pub notices: Vec<String>,
}

impl Default for EngineConfig {
    /// The shipped `conf/st.yaml` ([`DEFAULTS`]), as if no other file were found.
    fn default() -> Self {
        static BUILT_IN: std::sync::OnceLock<EngineConfig> = std::sync::OnceLock::new();
        BUILT_IN
            .get_or_init(|| {
                let unset = EngineConfig {
                    source: "built-in defaults".into(),
                    component_cache_mode: false,
                    component_cache_dir: default_cache_dir(),
                    plugin_dirs: Vec::new(),
                    sandbox: SandboxDefaults {
                        max_memory_mb: 0,
                        call_timeout_ms: 0,
                        pool_instances: 0,
                        recycle_at_percent: 0,
                        allowed_dirs: Vec::new(),
                        allowed_dirs_set: false,
                        allowed_hosts: Vec::new(),
                    },
                    read_ahead: ReadAhead::default(),
                    unknown_options: st_core::UnknownOptions::default(),
                    checkpoint: CheckpointConfig {
                        interval: 0,
                        timeout: 0,
                        storage: CheckpointStorage {
                            storage_type: String::new(),
                            max_retained: 0,
                            plugin_config: Default::default(),
                        },
                    },
                    history_job_expire_minutes: 0,
                    backup_count: 0,
                    slot_service: SlotService::default(),
                    print_execution_info_interval: 0,
                    job_schedule_strategy: ScheduleStrategy::default(),
                    http: HttpSection::default(),
                    telemetry: TelemetrySection::default(),
                    security: SecuritySection::default(),
                    network: NetworkConfig {
                        source: String::new(),
                        cluster_name: String::new(),
                        members: Vec::new(),
                        port: 0,
                        auto_increment: false,
                        port_count: 0,
                        attributes: Default::default(),
                        heartbeat_interval_secs: 0,
                        max_no_heartbeat_secs: 0,
                        map_store: None,
                        notices: Vec::new(),
                    },
                    notices: Vec::new(),
                };
                let mut c = unset
                    .overlay(DEFAULTS, Path::new("conf/st.yaml"))
                    .unwrap_or_else(|e| panic!("the shipped conf/st.yaml is invalid: {e}"));
                c.source = "built-in defaults".into();
                c.sandbox.allowed_dirs_set = false;
                c
            })
            .clone()
    }
}

/// The text of `path`, or an error naming it.
fn read(path: &Path) -> Result<String, ConfError> {
    std::fs::read_to_string(path).map_err(|e| ConfError {
        file: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })
}

/// Whether `candidate` is close enough to `written` to suggest it.
fn close(candidate: &str, written: &str) -> bool {
    st_core::text::edit_distance(candidate, written) <= 2.max(written.len() / 4)
}

/// Turns the parser's `error: line 4 column 5: message` (plus a snippet) into
/// `file:4:5: message`.
fn yaml_error(file: &str, text: &str) -> ConfError {
    let first = text.lines().next().unwrap_or(text);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let located = first.strip_prefix("line ").and_then(|rest| {
        let (line, rest) = rest.split_once(" column ")?;
        let (col, message) = rest.split_once(": ")?;
        Some(ConfError {
            file: format!("{file}:{line}:{col}"),
            message: message.to_string(),
        })
    });
    located.unwrap_or_else(|| ConfError {
        file: file.to_string(),
        message: first.to_string(),
    })
}

/// `$XDG_CACHE_HOME/strait/components`, else `$HOME/.cache/strait/components`.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("strait").join("components"))
}

impl EngineConfig {
    /// Parses `text` over the defaults; `file` names it in messages and relative paths resolve
    /// against its folder.
    pub fn parse(text: &str, file: &Path) -> Result<EngineConfig, ConfError> {
        EngineConfig::default().overlay(text, file)
    }

    /// `text`'s settings over this config's.
    fn overlay(mut self, text: &str, file: &Path) -> Result<EngineConfig, ConfError> {
        let name = file.display().to_string();
        let parsed: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| yaml_error(&name, &e.to_string()))?
        };
        let e = parsed.seatunnel.engine;
        if let Some(section) = parsed.hazelcast {
            self.network = self.network.overlay(section, &name, text)?;
        }
        let base = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let mut config = EngineConfig {
            source: name.clone(),
            ..self
        };
        match (e.component_cache_mode, e.classloader_cache_mode) {
            (Some(a), Some(b)) if a != b => {
                return Err(ConfError {
                    file: name,
                    message: format!(
                        "seatunnel.engine.component-cache-mode is {a} but its alias classloader-cache-mode is {b}; keep one"
                    ),
                });
            }
            (Some(v), _) => config.component_cache_mode = v,
            (None, Some(v)) => {
                config.component_cache_mode = v;
                config.notices.push(format!(
                    "{name}: seatunnel.engine.classloader-cache-mode is read as component-cache-mode (Strait caches compiled components, not classloaders)"
                ));
            }
            (None, None) => {}
        }
        if let Some(dir) = e.component_cache_dir {
            config.component_cache_dir = if dir.as_os_str().is_empty() {
                None
            } else {
                Some(resolve(dir))
            };
        }
        if let Some(dirs) = e.plugin_dirs {
            config.plugin_dirs = dirs.into_iter().map(resolve).collect();
        }
        if let Some(s) = e.sandbox {
            let sb = &mut config.sandbox;
            set(&mut sb.max_memory_mb, s.max_memory_mb);
            set(&mut sb.call_timeout_ms, s.call_timeout_ms);
            set(&mut sb.pool_instances, s.pool_instances);
            set(&mut sb.recycle_at_percent, s.recycle_at_percent);
            sb.allowed_dirs_set |= s.allowed_dirs.is_some();
            set(
                &mut sb.allowed_dirs,
                s.allowed_dirs.map(|d| d.into_iter().map(resolve).collect()),
            );
            set(&mut sb.allowed_hosts, s.allowed_hosts);
            let bad = |message: String| ConfError {
                file: name.clone(),
                message,
            };
            if sb.max_memory_mb == 0 || sb.max_memory_mb > 4096 {
                return Err(bad(format!(
                    "seatunnel.engine.sandbox.max-memory-mb must be between 1 and 4096 (a wasm32 memory), found {}",
                    sb.max_memory_mb
                )));
            }
            if sb.pool_instances == 0 {
                return Err(bad(
                    "seatunnel.engine.sandbox.pool-instances must be at least 1".into(),
                ));
            }
            if sb.recycle_at_percent > 100 {
                return Err(bad(format!(
                    "seatunnel.engine.sandbox.recycle-at-percent must be between 0 and 100, found {}",
                    sb.recycle_at_percent
                )));
            }
        }
        set(&mut config.read_ahead, e.read_ahead);
        set(&mut config.unknown_options, e.unknown_options);
        if let Some(c) = e.checkpoint {
            let cp = &mut config.checkpoint;
            set(&mut cp.interval, c.interval);
            set(&mut cp.timeout, c.timeout);
            if let Some(st) = c.storage {
                set(&mut cp.storage.storage_type, st.storage_type);
                set(&mut cp.storage.max_retained, st.max_retained);
                set(&mut cp.storage.plugin_config, st.plugin_config);
            }
        }
        if let Some(v) = e.history_job_expire_minutes {
            config.history_job_expire_minutes = v;
        }
        if let Some(v) = e.backup_count {
            config.backup_count = v;
        }
        if let Some(v) = e.slot_service {
            config.slot_service = v;
        }
        if let Some(v) = e.print_execution_info_interval {
            config.print_execution_info_interval = v;
        }
        set(&mut config.job_schedule_strategy, e.job_schedule_strategy);
        set(&mut config.http, e.http);
        set(&mut config.telemetry, e.telemetry);
        set(&mut config.security, e.security);
        let _ = (
            e.queue_type,
            e.print_job_metrics_info_interval,
            e.job_metrics_backup_interval,
        );
        let without_effect: Vec<&str> = [
            (
                "metrics-fetch-timeout-ms",
                e.metrics_fetch_timeout_ms.is_some(),
            ),
            ("jar-storage", e.jar_storage.is_some()),
            ("coordinator-service", e.coordinator_service.is_some()),
            ("event-report-http", e.event_report_http.is_some()),
            ("job-log-mode", e.job_log_mode.is_some()),
            (
                "connector-jar-storage-config",
                e.connector_jar_storage_config.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if !without_effect.is_empty() {
            config.notices.push(format!(
                "{name}: accepted without effect (they configure SeaTunnel's JVM, which Strait does not run): seatunnel.engine.{}",
                without_effect.join(", seatunnel.engine.")
            ));
        }
        Ok(config)
    }

    /// Reads the file at `path`.
    pub fn load(path: &Path) -> Result<EngineConfig, ConfError> {
        EngineConfig::parse(&read(path)?, path)
    }

    /// Finds the engine config the way `st` and `st-node` do: an explicit path, else
    /// `$ST_CONFIG`, else `st.yaml` or SeaTunnel's `seatunnel.yaml` in `$STRAIT_HOME/conf`, then
    /// in `conf/` under the current directory, else the built-in defaults. An explicit path or `$ST_CONFIG` that does not exist is an error.
    pub fn discover(explicit: Option<&Path>) -> Result<EngineConfig, ConfError> {
        if let Some(p) = explicit {
            return EngineConfig::load(p);
        }
        if let Some(p) = std::env::var_os("ST_CONFIG").filter(|v| !v.is_empty()) {
            return EngineConfig::load(Path::new(&p));
        }
        let mut candidates = Vec::new();
        let mut dirs = Vec::new();
        if let Some(home) = std::env::var_os("STRAIT_HOME").filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(home).join("conf"));
        }
        dirs.push(PathBuf::from("conf"));
        for d in dirs {
            candidates.push(d.join("st.yaml"));
            candidates.push(d.join("seatunnel.yaml"));
        }
        for c in candidates {
            if c.is_file() {
                return EngineConfig::load(&c);
            }
        }
        Ok(EngineConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EngineConfig, ConfError> {
        EngineConfig::parse(text, Path::new("/etc/strait/st.yaml"))
    }

    #[test]
    fn seatunnel_keys_and_defaults() {
        let c = parse(
            "seatunnel:\n  engine:\n    backup-count: 2\n    classloader-cache-mode: false\n    checkpoint:\n      interval: 6000\n      timeout: 7000\n      storage:\n        type: hdfs\n        max-retained: 5\n        plugin-config:\n          storage.type: s3\n          s3.bucket: s3a://test\n    plugin-dirs: [plugins, /opt/p]\n",
        )
        .unwrap();
        assert!(!c.component_cache_mode);
        assert_eq!(c.notices.len(), 1, "{:?}", c.notices);
        assert!(c.notices[0].contains("classloader-cache-mode"));
        assert_eq!(c.backup_count, 2);
        assert_eq!(c.checkpoint.interval, 6000);
        assert_eq!(c.checkpoint.storage.max_retained, 5);
        assert_eq!(c.checkpoint.storage.plugin_config["storage.type"], "s3");
        assert_eq!(
            c.plugin_dirs,
            vec![
                PathBuf::from("/etc/strait/plugins"),
                PathBuf::from("/opt/p")
            ]
        );
        assert_eq!(c.sandbox, EngineConfig::default().sandbox);
    }

    #[test]
    fn the_shipped_file_is_the_defaults() {
        // Every setting with a default is in the shipped file (none falls back to a
        // placeholder), and a config with nothing in it is exactly that file.
        let shipped: File = serde_saphyr::from_str(DEFAULTS).unwrap();
        let e = shipped.seatunnel.engine;
        let sb = e.sandbox.expect("sandbox");
        let cp = e.checkpoint.expect("checkpoint");
        let st = cp.storage.clone().expect("checkpoint.storage");
        for (key, set) in [
            ("component-cache-mode", e.component_cache_mode.is_some()),
            ("plugin-dirs", e.plugin_dirs.is_some()),
            ("read-ahead", e.read_ahead.is_some()),
            ("unknown-options", e.unknown_options.is_some()),
            ("sandbox.max-memory-mb", sb.max_memory_mb.is_some()),
            ("sandbox.call-timeout-ms", sb.call_timeout_ms.is_some()),
            ("sandbox.pool-instances", sb.pool_instances.is_some()),
            (
                "sandbox.recycle-at-percent",
                sb.recycle_at_percent.is_some(),
            ),
            ("checkpoint.interval", cp.interval.is_some()),
            ("checkpoint.timeout", cp.timeout.is_some()),
            ("checkpoint.storage.type", st.storage_type.is_some()),
            ("checkpoint.storage.max-retained", st.max_retained.is_some()),
            (
                "print-execution-info-interval",
                e.print_execution_info_interval.is_some(),
            ),
            (
                "history-job-expire-minutes",
                e.history_job_expire_minutes.is_some(),
            ),
            ("backup-count", e.backup_count.is_some()),
        ] {
            assert!(set, "conf/st.yaml does not set {key}");
        }
        let empty = EngineConfig {
            source: "built-in defaults".into(),
            ..parse("").unwrap()
        };
        assert_eq!(empty, EngineConfig::default());
        let on_disk =
            EngineConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf/st.yaml"))
                .unwrap();
        assert_eq!(on_disk.checkpoint, empty.checkpoint);
        // The file on disk says allowed-dirs itself; the built-in layer does not count as saying it.
        assert!(on_disk.sandbox.allowed_dirs_set && !empty.sandbox.allowed_dirs_set);
        let on_disk_sandbox = SandboxDefaults {
            allowed_dirs_set: false,
            ..on_disk.sandbox.clone()
        };
        assert_eq!(on_disk_sandbox, empty.sandbox);
        assert_eq!(on_disk.checkpoint.interval, cp.interval.unwrap());
        let n = &empty.network;
        assert_eq!(
            (n.cluster_name.as_str(), n.port, n.port_count),
            ("seatunnel", 5801, 100)
        );
        assert!(n.auto_increment && n.members.is_empty() && n.notices.is_empty());
        assert_eq!((n.heartbeat_interval_secs, n.max_no_heartbeat_secs), (1, 5));
        assert_eq!(empty.job_schedule_strategy, ScheduleStrategy::Reject);
    }

    #[test]
    fn seatunnels_stock_config_files_are_read_as_they_ship() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/seatunnel-config");
        let engine = EngineConfig::load(&dir.join("seatunnel.yaml")).unwrap();
        assert!(engine.component_cache_mode);
        assert_eq!(engine.checkpoint.interval, 10000);
        assert_eq!(engine.http.port, Some(8080));
        assert_eq!(
            engine.telemetry.metric.as_ref().unwrap().enabled,
            Some(false)
        );
        assert!(
            engine
                .notices
                .iter()
                .any(|n| n.contains("seatunnel.engine.metrics-fetch-timeout-ms")),
            "{:?}",
            engine.notices
        );
        let hybrid = engine
            .network
            .clone()
            .load_over(&dir.join("hazelcast.yaml"))
            .unwrap();
        assert_eq!(hybrid.cluster_name, "seatunnel");
        assert_eq!(hybrid.members, vec!["localhost:5801"]);
        assert_eq!((hybrid.port, hybrid.auto_increment), (5801, false));
        // Not set in hazelcast.yaml: Strait's own detection defaults hold.
        assert_eq!(
            (hybrid.heartbeat_interval_secs, hybrid.max_no_heartbeat_secs),
            (1, 5)
        );
        assert_eq!(hybrid.notices.len(), 1, "{:?}", hybrid.notices);
        assert!(hybrid.notices[0].contains("hazelcast.network.rest-api"));
        for (file, port) in [
            ("hazelcast-master.yaml", 5801),
            ("hazelcast-worker.yaml", 5802),
        ] {
            let n = engine.network.clone().load_over(&dir.join(file)).unwrap();
            assert_eq!(n.port, port);
            assert_eq!(n.members, vec!["localhost:5801", "localhost:5802"]);
            assert_eq!(
                (n.heartbeat_interval_secs, n.max_no_heartbeat_secs),
                (2, 180)
            );
        }
        let client = ClientConfig::load(&dir.join("hazelcast-client.yaml")).unwrap();
        assert_eq!(client.members, vec!["localhost:5801"]);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e =
            parse("seatunnel:\n  engine:\n    backup-count: 1\n    component-cache-mod: true\n")
                .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/etc/strait/st.yaml"), "{msg}");
        assert!(msg.contains("component-cache-mod"), "{msg}");
        assert!(
            msg.starts_with("/etc/strait/st.yaml:4:5: unknown field `component-cache-mod`"),
            "{msg}"
        );
    }

    #[test]
    fn conflicting_alias_and_bad_sandbox() {
        let e = parse(
            "seatunnel:\n  engine:\n    component-cache-mode: true\n    classloader-cache-mode: false\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("keep one"), "{e}");
        let e = parse("seatunnel:\n  engine:\n    sandbox:\n      max-memory-mb: 0\n").unwrap_err();
        assert!(e.to_string().contains("max-memory-mb"), "{e}");
    }

    #[test]
    fn read_ahead_takes_three_values() {
        assert_eq!(parse("").unwrap().read_ahead, ReadAhead::Auto);
        for (text, want) in [
            ("auto", ReadAhead::Auto),
            ("always", ReadAhead::Always),
            ("never", ReadAhead::Never),
        ] {
            let c = parse(&format!("seatunnel:\n  engine:\n    read-ahead: {text}\n")).unwrap();
            assert_eq!(c.read_ahead, want);
        }
        let e = parse("seatunnel:\n  engine:\n    read-ahead: sometimes\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/etc/strait/st.yaml:3:"), "{msg}");
        assert!(msg.contains("sometimes") && msg.contains("always"), "{msg}");
    }
}
