//! The wasm runtime. One wasmtime `Engine` per process; plugins are compiled once per content
//! hash and kept in the runtime's cache; every task instance gets its own `Store`, WASI
//! context and memory limit, so nothing is shared between jobs or subtasks.
//!
//! A plugin's reported errors (WIT variants) and its crashes (traps, limit hits) travel
//! separately: [`RuntimeError::Plugin`] versus [`RuntimeError::Trap`]. Scheduling, checkpoints
//! and the job graph belong to `st-engine`.

mod error;
mod instance;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sha2::Digest as _;
use st_core::{PluginInfo, PluginKind};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, Store};

pub use error::{PluginError, RuntimeError};
pub use instance::{
    Enumeration, EnumeratorInstance, PollStatus, ReaderInstance, SinkCommitterInstance,
    SinkWriterInstance, SourceInfo, Split, TaskContext, TransformInstance,
};
pub use state::TaskLimits;
use state::TaskState;

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Default linear-memory cap per task instance.
    pub limits: TaskLimits,
    /// How often the epoch advances; long wasm calls yield to the async runtime this often.
    pub epoch_tick: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            limits: TaskLimits::default(),
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// Where a plugin's bytes come from.
#[derive(Debug, Clone)]
pub enum PluginSource {
    /// Compiled into the `st` binary.
    Builtin(&'static [u8]),
    /// A `.wasm` file on disk.
    File(PathBuf),
}

/// A compiled, checked plugin, ready to instantiate.
pub struct Plugin {
    pub info: PluginInfo,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    pub size: usize,
    pub compile_time: Duration,
    /// Where it came from, for messages: `builtin` or a path.
    pub origin: String,
    pre: InstancePre<TaskState>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.info.name)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// Counters a test or `st plugin inspect` can read.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub compiled: AtomicU64,
    pub hits: AtomicU64,
}

/// The process's wasm runtime.
pub struct Runtime {
    engine: Engine,
    linker: Linker<TaskState>,
    config: RuntimeConfig,
    registry: Mutex<HashMap<String, (String, PluginSource)>>,
    cache: Mutex<HashMap<[u8; 32], Weak<Plugin>>>,
    pub stats: CacheStats,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let mut wt = Config::new();
        wt.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&wt)
            .map_err(|e| RuntimeError::Host(format!("cannot start wasmtime: {e}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Host(format!("cannot link WASI: {e}")))?;
        st_world::source::SourcePlugin::add_to_linker::<
            TaskState,
            wasmtime::component::HasSelf<TaskState>,
        >(&mut linker, |s| s)
        .map_err(|e| RuntimeError::Host(format!("cannot link host functions: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop.clone();
            let tick = config.epoch_tick;
            std::thread::Builder::new()
                .name("st-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| RuntimeError::Host(format!("cannot start the epoch thread: {e}")))?;
        }
        Ok(Runtime {
            engine,
            linker,
            config,
            registry: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            stats: CacheStats::default(),
            stop,
        })
    }

    /// Makes a plugin resolvable by `name` (case-insensitive).
    pub fn register(&self, name: &str, source: PluginSource) {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_ascii_lowercase(), (name.to_string(), source));
    }

    /// The registered plugin names, sorted.
    pub fn known_plugins(&self) -> Vec<String> {
        let reg = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut names: Vec<String> = reg.values().map(|(n, _)| n.clone()).collect();
        names.sort();
        names
    }

    /// Resolves a plugin by registered name, or by path when `name` ends in `.wasm`.
    pub fn resolve(&self, name: &str) -> Result<PluginSource, RuntimeError> {
        if name.ends_with(".wasm") {
            return Ok(PluginSource::File(PathBuf::from(name)));
        }
        let reg = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        reg.get(&name.to_ascii_lowercase())
            .map(|(_, s)| s.clone())
            .ok_or_else(|| {
                let mut known: Vec<&String> = reg.values().map(|(n, _)| n).collect();
                known.sort();
                RuntimeError::UnknownPlugin {
                    name: name.to_string(),
                    known: known.into_iter().cloned().collect::<Vec<_>>().join(", "),
                }
            })
    }

    /// Loads (or finds in the cache) a plugin by name or path.
    pub async fn load(&self, name: &str) -> Result<Arc<Plugin>, RuntimeError> {
        let source = self.resolve(name)?;
        let (bytes, origin): (std::borrow::Cow<'static, [u8]>, String) = match &source {
            PluginSource::Builtin(b) => ((*b).into(), "builtin".into()),
            PluginSource::File(p) => (
                std::fs::read(p)
                    .map_err(|e| RuntimeError::Load {
                        plugin: p.display().to_string(),
                        message: format!("cannot read: {e}"),
                    })?
                    .into(),
                p.display().to_string(),
            ),
        };
        self.load_bytes(&bytes, &origin).await
    }

    /// Loads a plugin from its component bytes; `origin` names it in messages.
    pub async fn load_bytes(
        &self,
        bytes: &[u8],
        origin: &str,
    ) -> Result<Arc<Plugin>, RuntimeError> {
        let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
        if let Some(p) = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&hash)
            .and_then(Weak::upgrade)
        {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(p);
        }
        let fail = |message: String| RuntimeError::Load {
            plugin: origin.to_string(),
            message,
        };
        match bytes.get(0..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
                return Err(fail(
                    "is a core WebAssembly module, not a component; build it for wasm32-wasip2 (or run `wasm-tools component new`)".into(),
                ));
            }
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => {}
            _ => {
                return Err(fail(
                    "is not a WebAssembly component (bad magic number)".into(),
                ));
            }
        }
        let started = Instant::now();
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| fail(format!("cannot compile: {e:#}")))?;
        let compile_time = started.elapsed();
        self.stats.compiled.fetch_add(1, Ordering::Relaxed);
        let kind = world_of(&self.engine, &component).map_err(fail)?;
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            fail(format!(
                "imports something Strait does not provide to plugins: {e:#}"
            ))
        })?;
        let sha256 = hex::encode(hash);
        let mut plugin = Plugin {
            info: PluginInfo {
                name: origin.to_string(),
                kind,
                version: String::new(),
                options: Vec::new(),
            },
            sha256,
            size: bytes.len(),
            compile_time,
            origin: origin.to_string(),
            pre,
        };
        plugin.info = instance::describe(self, &plugin, kind).await?;
        if plugin.info.kind != kind {
            return Err(fail(format!(
                "implements the {kind} world but describe() says it is a {}",
                plugin.info.kind
            )));
        }
        let plugin = Arc::new(plugin);
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(hash, Arc::downgrade(&plugin));
        Ok(plugin)
    }

    fn store(&self, plugin: &Plugin, task: &str, limits: &TaskLimits) -> Store<TaskState> {
        let mut store = Store::new(
            &self.engine,
            TaskState::new(&plugin.info.name, task, limits),
        );
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store
    }

    /// The default limits for new task instances.
    pub fn default_limits(&self) -> &TaskLimits {
        &self.config.limits
    }
}

/// Which of the contract's worlds a component implements, from its exports.
fn world_of(engine: &Engine, component: &Component) -> Result<PluginKind, String> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let pkg = st_world::PACKAGE;
    let (ns, ver) = pkg.split_once('@').unwrap_or((pkg, ""));
    for (iface, kind) in [
        ("source", PluginKind::Source),
        ("transform", PluginKind::Transform),
        ("sink", PluginKind::Sink),
    ] {
        if exports.iter().any(|e| *e == format!("{ns}/{iface}@{ver}")) {
            return Ok(kind);
        }
    }
    Err(format!(
        "implements none of Strait's plugin worlds ({pkg}: source-plugin, transform-plugin, sink-plugin); it exports: {}",
        if exports.is_empty() {
            "nothing".to_string()
        } else {
            exports.join(", ")
        }
    ))
}

/// Reads a `.wasm` file's bytes, for callers that want to hash or inspect it.
pub fn read_artifact(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}
