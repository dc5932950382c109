//! The engine config, `conf/st.yaml`. Its keys follow SeaTunnel's `seatunnel.yaml`
//! (`seatunnel.engine.*`) wherever SeaTunnel has one, so an operator's file carries over; keys
//! Strait adds (the component cache, plugin directories, sandbox defaults) sit beside them.
//!
//! Unlike job configs, where unknown `env` keys are only warnings, an unknown key here is an
//! error naming the key and its line: a typo in an operator's file must not silently fall back
//! to a default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    sandbox: Option<SandboxDefaults>,
    read_ahead: Option<ReadAhead>,
    checkpoint: Option<CheckpointConfig>,
    // SeaTunnel keys accepted for compatibility; cluster issues give them meaning.
    history_job_expire_minutes: Option<u64>,
    backup_count: Option<u32>,
    queue_type: Option<String>,
    print_execution_info_interval: Option<u64>,
    print_job_metrics_info_interval: Option<u64>,
    job_metrics_backup_interval: Option<u64>,
    slot_service: Option<SlotService>,
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckpointConfig {
    /// Milliseconds between checkpoints of a STREAMING job.
    #[serde(default = "default_checkpoint_interval")]
    pub interval: u64,
    /// Milliseconds a checkpoint may take before it is aborted.
    #[serde(default = "default_checkpoint_timeout")]
    pub timeout: u64,
    #[serde(default)]
    pub storage: CheckpointStorage,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            interval: default_checkpoint_interval(),
            timeout: default_checkpoint_timeout(),
            storage: CheckpointStorage::default(),
        }
    }
}

fn default_checkpoint_interval() -> u64 {
    30_000
}

fn default_checkpoint_timeout() -> u64 {
    60_000
}

/// `seatunnel.engine.checkpoint.storage`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckpointStorage {
    /// `localfile` (default) or `hdfs`/`s3` as SeaTunnel writes it; the store itself is chosen
    /// by `plugin-config` (`storage.type`, `fs.defaultFS`, `s3.bucket`, ...).
    #[serde(rename = "type", default = "default_storage_type")]
    pub storage_type: String,
    #[serde(default = "default_max_retained")]
    pub max_retained: u32,
    #[serde(default)]
    pub plugin_config: std::collections::BTreeMap<String, String>,
}

impl Default for CheckpointStorage {
    fn default() -> Self {
        CheckpointStorage {
            storage_type: default_storage_type(),
            max_retained: default_max_retained(),
            plugin_config: Default::default(),
        }
    }
}

fn default_storage_type() -> String {
    "localfile".into()
}

fn default_max_retained() -> u32 {
    3
}

/// `seatunnel.engine.sandbox`: defaults for every plugin instance, which a job may lower.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SandboxDefaults {
    /// Linear-memory cap per plugin instance, in MiB. Also the largest cap a job may ask for.
    #[serde(default = "default_max_memory_mb")]
    pub max_memory_mb: u64,
    /// How long one call into a plugin may run, in milliseconds (0: no limit).
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Plugin instances the pooling allocator keeps slots for; more concurrent instances than
    /// this wait for none and fail with a clear error.
    #[serde(default = "default_pool_instances")]
    pub pool_instances: u32,
    /// A reader or transform whose memory passes this share of its cap (percent) is recycled
    /// from its restorable state at the next batch boundary, a sink writer at the next
    /// checkpoint (which it asks for); 0 turns recycling off.
    #[serde(default = "default_recycle_percent")]
    pub recycle_at_percent: u8,
}

impl Default for SandboxDefaults {
    fn default() -> Self {
        SandboxDefaults {
            max_memory_mb: default_max_memory_mb(),
            call_timeout_ms: default_call_timeout_ms(),
            pool_instances: default_pool_instances(),
            recycle_at_percent: default_recycle_percent(),
        }
    }
}

fn default_max_memory_mb() -> u64 {
    1024
}

fn default_call_timeout_ms() -> u64 {
    300_000
}

fn default_pool_instances() -> u32 {
    512
}

fn default_recycle_percent() -> u8 {
    80
}

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
    pub checkpoint: CheckpointConfig,
    pub history_job_expire_minutes: u64,
    pub backup_count: u32,
    pub slot_service: SlotService,
    /// `print-execution-info-interval`: seconds between the progress blocks `st run` prints
    /// when its output is not a terminal (SeaTunnel's default: 60).
    pub print_execution_info_interval: u64,
    /// Things worth telling the operator (deprecated aliases).
    pub notices: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            source: "built-in defaults".into(),
            component_cache_mode: true,
            component_cache_dir: default_cache_dir(),
            plugin_dirs: Vec::new(),
            sandbox: SandboxDefaults::default(),
            read_ahead: ReadAhead::default(),
            checkpoint: CheckpointConfig::default(),
            history_job_expire_minutes: 1440,
            backup_count: 1,
            slot_service: SlotService::default(),
            print_execution_info_interval: 60,
            notices: Vec::new(),
        }
    }
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
    /// Parses `text`; `file` names it in messages and relative paths resolve against its folder.
    pub fn parse(text: &str, file: &Path) -> Result<EngineConfig, ConfError> {
        let name = file.display().to_string();
        let parsed: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| yaml_error(&name, &e.to_string()))?
        };
        let e = parsed.seatunnel.engine;
        let base = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let mut config = EngineConfig {
            source: name.clone(),
            ..EngineConfig::default()
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
            if s.max_memory_mb == 0 || s.max_memory_mb > 4096 {
                return Err(ConfError {
                    file: name,
                    message: format!(
                        "seatunnel.engine.sandbox.max-memory-mb must be between 1 and 4096 (a wasm32 memory), found {}",
                        s.max_memory_mb
                    ),
                });
            }
            if s.pool_instances == 0 {
                return Err(ConfError {
                    file: name,
                    message: "seatunnel.engine.sandbox.pool-instances must be at least 1".into(),
                });
            }
            if s.recycle_at_percent > 100 {
                return Err(ConfError {
                    file: name,
                    message: format!(
                        "seatunnel.engine.sandbox.recycle-at-percent must be between 0 and 100, found {}",
                        s.recycle_at_percent
                    ),
                });
            }
            config.sandbox = s;
        }
        if let Some(r) = e.read_ahead {
            config.read_ahead = r;
        }
        if let Some(c) = e.checkpoint {
            config.checkpoint = c;
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
        let _ = (
            e.queue_type,
            e.print_job_metrics_info_interval,
            e.job_metrics_backup_interval,
        );
        Ok(config)
    }

    /// Reads the file at `path`.
    pub fn load(path: &Path) -> Result<EngineConfig, ConfError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfError {
            file: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        EngineConfig::parse(&text, path)
    }

    /// Finds the engine config the way `st` does: an explicit path, else `$ST_CONFIG`, else
    /// `$STRAIT_HOME/conf/st.yaml`, else `conf/st.yaml` under the current directory, else the
    /// built-in defaults. An explicit path or `$ST_CONFIG` that does not exist is an error.
    pub fn discover(explicit: Option<&Path>) -> Result<EngineConfig, ConfError> {
        if let Some(p) = explicit {
            return EngineConfig::load(p);
        }
        if let Some(p) = std::env::var_os("ST_CONFIG").filter(|v| !v.is_empty()) {
            return EngineConfig::load(Path::new(&p));
        }
        let mut candidates = Vec::new();
        if let Some(home) = std::env::var_os("STRAIT_HOME").filter(|v| !v.is_empty()) {
            candidates.push(PathBuf::from(home).join("conf").join("st.yaml"));
        }
        candidates.push(PathBuf::from("conf").join("st.yaml"));
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
        assert_eq!(c.sandbox, SandboxDefaults::default());
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
