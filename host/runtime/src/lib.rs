//! The wasm runtime. One wasmtime `Engine` per process; plugins are compiled once per content
//! hash and kept in the runtime's cache; every task instance gets its own `Store`, WASI
//! context and memory limit, so nothing is shared between jobs or subtasks.
//!
//! A plugin's reported errors (WIT variants) and its crashes (traps, limit hits) travel
//! separately: [`RuntimeError::Plugin`] versus [`RuntimeError::Trap`]. Scheduling, checkpoints
//! and the job graph belong to `st-engine`.

mod artifact;
mod disk;
mod error;
mod grants;
mod instance;
mod state;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sha2::Digest as _;
use st_core::{PluginInfo, PluginKind};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

pub use error::{PluginError, RuntimeError};
pub use grants::{DirGrant, Grants, NetGrant, SandboxSpec, TaskLimits};
pub use instance::{
    Enumeration, EnumeratorInstance, PollStatus, ReaderInstance, SinkCommitterInstance,
    SinkWriterInstance, SourceInfo, Split, TaskContext, TransformInstance,
};
pub use state::CancelToken;
use state::TaskState;

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Default limits per task instance; `max_memory_bytes` is also the largest a job may ask.
    pub limits: TaskLimits,
    /// How often the epoch advances: long wasm calls yield, and notice a cancel or a timeout,
    /// this often.
    pub epoch_tick: Duration,
    /// `component-cache-mode`: keep compiled components after their last job ends.
    pub keep_compiled: bool,
    /// Directory of precompiled components; `None`: no disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Instance slots of the pooling allocator.
    pub pool_instances: u32,
    /// Directories searched for `NAME.wasm`.
    pub plugin_dirs: Vec<PathBuf>,
    /// Readers and transforms past this share (percent) of their memory cap are recycled.
    pub recycle_at_percent: u8,
    /// Whether readers read their next batch beside the chain.
    pub read_ahead: st_conf::ReadAhead,
    /// The directories and hosts grants may name (st.yaml `sandbox.allowed-dirs`, `-hosts`).
    pub allowed_dirs: Vec<PathBuf>,
    pub allowed_hosts: Vec<String>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig::from(&st_conf::EngineConfig::default())
    }
}

impl From<&st_conf::EngineConfig> for RuntimeConfig {
    fn from(c: &st_conf::EngineConfig) -> Self {
        RuntimeConfig {
            limits: TaskLimits {
                max_memory_bytes: usize::try_from(c.sandbox.max_memory_mb << 20)
                    .unwrap_or(usize::MAX),
                call_timeout: (c.sandbox.call_timeout_ms > 0)
                    .then(|| Duration::from_millis(c.sandbox.call_timeout_ms)),
            },
            epoch_tick: Duration::from_millis(10),
            keep_compiled: c.component_cache_mode,
            cache_dir: c.component_cache_dir.clone(),
            pool_instances: c.sandbox.pool_instances,
            plugin_dirs: c.plugin_dirs.clone(),
            recycle_at_percent: c.sandbox.recycle_at_percent,
            read_ahead: c.read_ahead,
            allowed_dirs: c.sandbox.allowed_dirs.clone(),
            allowed_hosts: c.sandbox.allowed_hosts.clone(),
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
    /// An object_store URL (`file://`, `http(s)://`, `s3://`).
    Url(String),
}

/// How a load was satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedFrom {
    /// Compiled now.
    Compiled,
    /// Mapped from the disk cache.
    DiskCache,
    /// Already compiled in this process.
    Memory,
}

impl std::fmt::Display for LoadedFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoadedFrom::Compiled => "compiled",
            LoadedFrom::DiskCache => "disk cache",
            LoadedFrom::Memory => "memory cache",
        })
    }
}

/// A loaded plugin and how it was obtained.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub plugin: Arc<Plugin>,
    pub from: LoadedFrom,
    /// Time to obtain it (fetch, hash, compile or map, describe).
    pub elapsed: Duration,
}

/// Which plugin a job asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct PluginRef<'a> {
    /// The name as written (a built-in, a plugin in `plugin-dirs`, or a `.wasm` path).
    pub name: &'a str,
    /// An explicit artifact: a path or URL.
    pub artifact: Option<&'a str>,
    /// The expected sha256 of the artifact's bytes (hex).
    pub sha256: Option<&'a str>,
    /// The kind the job block wants (a name may be both a source and a sink).
    pub kind: Option<PluginKind>,
}

/// A compiled, checked plugin, ready to instantiate.
pub struct Plugin {
    pub info: PluginInfo,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    pub size: usize,
    /// Time spent compiling it, or mapping it from the disk cache.
    pub compile_time: Duration,
    /// How it was first obtained in this process.
    pub compiled_from: LoadedFrom,
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
    /// Components compiled from wasm bytes.
    pub compiled: AtomicU64,
    /// Components mapped from the disk cache.
    pub disk_loads: AtomicU64,
    /// Loads answered by a component already in memory.
    pub hits: AtomicU64,
    /// Disk-cache entries found corrupt and recompiled.
    pub corrupt: AtomicU64,
}

enum CacheEntry {
    Kept(Arc<Plugin>),
    Shared(Weak<Plugin>),
}

impl CacheEntry {
    fn get(&self) -> Option<Arc<Plugin>> {
        match self {
            CacheEntry::Kept(p) => Some(p.clone()),
            CacheEntry::Shared(w) => w.upgrade(),
        }
    }
}

/// A registered plugin: (name as registered, kind, bytes).
type Registered = (String, PluginKind, PluginSource);

/// The process's wasm runtime.
pub struct Runtime {
    engine: Engine,
    linker: Linker<TaskState>,
    config: RuntimeConfig,
    /// By lower-cased name: (name as registered, kind, bytes). A name may have a source and a
    /// sink (SeaTunnel's `LocalFile` is both).
    registry: Mutex<HashMap<String, Vec<Registered>>>,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    /// One lock per component being loaded, so concurrent jobs compile it once.
    loading: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    /// Plugin references (a path as a job writes it) whose component was handed to this
    /// process by hash: a cluster client uploads the `.wasm` files its job names.
    provided: Mutex<HashMap<String, String>>,
    disk: Option<disk::DiskCache>,
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
        let host =
            |what: &str, e: &dyn std::fmt::Display| RuntimeError::Host(format!("{what}: {e:#}"));
        let mut pool = PoolingAllocationConfig::default();
        let n = config.pool_instances;
        // A component built by Rust for wasm32-wasip2 holds a handful of core instances, each
        // with at most a memory and a table or two; slots are reserved address space, touched
        // only when used.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(8))
            .total_stacks(n)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            .max_core_instances_per_component(32)
            .table_elements(100_000)
            .max_memory_size(config.limits.max_memory_bytes);
        let mut wt = Config::new();
        wt.wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // `ST_WASM_PROFILER=perfmap` names plugin functions for `perf` (/tmp/perf-PID.map).
        if std::env::var("ST_WASM_PROFILER").is_ok_and(|v| v == "perfmap") {
            wt.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&wt).map_err(|e| host("cannot start wasmtime", &e))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| host("cannot link WASI", &e))?;
        st_world::source::SourcePlugin::add_to_linker::<
            TaskState,
            wasmtime::component::HasSelf<TaskState>,
        >(&mut linker, |s| s)
        .map_err(|e| host("cannot link host functions", &e))?;
        let disk = match &config.cache_dir {
            Some(dir) => match disk::DiskCache::open(dir, &engine) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!(
                        "component cache directory {} is unusable ({e}); components are compiled in memory only",
                        dir.display()
                    );
                    None
                }
            },
            None => None,
        };
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
                .map_err(|e| host("cannot start the epoch thread", &e))?;
        }
        Ok(Runtime {
            engine,
            linker,
            config,
            registry: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            loading: Mutex::new(HashMap::new()),
            provided: Mutex::new(HashMap::new()),
            disk,
            stats: CacheStats::default(),
            stop,
        })
    }

    /// Makes a plugin of `kind` resolvable by `name` (case-insensitive).
    pub fn register(&self, name: &str, kind: PluginKind, source: PluginSource) {
        let mut reg = lock(&self.registry);
        let entries = reg.entry(name.to_ascii_lowercase()).or_default();
        entries.retain(|(_, k, _)| *k != kind);
        entries.push((name.to_string(), kind, source));
    }

    /// The registered plugin names, sorted.
    pub fn known_plugins(&self) -> Vec<String> {
        let reg = lock(&self.registry);
        let mut names: Vec<String> = reg
            .values()
            .filter_map(|e| e.first().map(|(n, _, _)| n.clone()))
            .collect();
        names.sort();
        names
    }

    /// The plugins found in `plugin-dirs` (`NAME.wasm`), by file stem, sorted.
    pub fn dir_plugins(&self) -> Vec<(String, PathBuf)> {
        let mut found = Vec::new();
        for dir in &self.config.plugin_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "wasm")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                {
                    found.push((stem.to_string(), p));
                }
            }
        }
        found.sort();
        found
    }

    /// Resolves a plugin: an explicit artifact, a `.wasm` path, a registered (built-in) name,
    /// or `NAME.wasm` in one of the `plugin-dirs`.
    pub fn resolve(&self, name: &str) -> Result<PluginSource, RuntimeError> {
        self.resolve_kind(name, None)
    }

    /// Like [`Runtime::resolve`], choosing the plugin of `kind` where a name has several.
    pub fn resolve_kind(
        &self,
        name: &str,
        kind: Option<PluginKind>,
    ) -> Result<PluginSource, RuntimeError> {
        if artifact::is_url(name) {
            return Ok(PluginSource::Url(name.to_string()));
        }
        if name.ends_with(".wasm") {
            return Ok(PluginSource::File(PathBuf::from(name)));
        }
        let reg = lock(&self.registry);
        if let Some(entries) = reg.get(&name.to_ascii_lowercase()) {
            let pick = match kind {
                Some(k) => entries
                    .iter()
                    .find(|(_, ek, _)| *ek == k)
                    .or(entries.first()),
                None => entries.first(),
            };
            if let Some((_, _, s)) = pick {
                return Ok(s.clone());
            }
        }
        let dir_plugins = self.dir_plugins();
        if let Some((_, p)) = dir_plugins
            .iter()
            .find(|(stem, _)| stem.eq_ignore_ascii_case(name))
        {
            return Ok(PluginSource::File(p.clone()));
        }
        let mut known: Vec<String> = reg
            .values()
            .filter_map(|e| e.first().map(|(n, _, _)| n.clone()))
            .collect();
        known.extend(dir_plugins.into_iter().map(|(n, _)| n));
        known.sort();
        Err(RuntimeError::UnknownPlugin {
            name: name.to_string(),
            known: known.join(", "),
        })
    }

    /// Loads (or finds in the cache) a plugin by name or path.
    pub async fn load(&self, name: &str) -> Result<Arc<Plugin>, RuntimeError> {
        Ok(self
            .load_ref(PluginRef {
                name,
                ..PluginRef::default()
            })
            .await?
            .plugin)
    }

    /// Makes `reference` (a plugin path as a job writes it) name the loaded component with
    /// this sha256, until [`Runtime::withdraw`]: the job's file is on its client's machine.
    pub fn provide(&self, reference: &str, sha256: &str) {
        lock(&self.provided).insert(reference.to_string(), sha256.to_string());
    }

    pub fn withdraw(&self, reference: &str) {
        lock(&self.provided).remove(reference);
    }

    /// Loads the plugin a job block asks for, checking its sha256 pin.
    pub async fn load_ref(&self, r: PluginRef<'_>) -> Result<Loaded, RuntimeError> {
        let started = Instant::now();
        let reference = r.artifact.unwrap_or(r.name);
        let provided = lock(&self.provided).get(reference).cloned();
        if let Some(sha) = provided
            && let Some(plugin) = self.loaded(&sha)
        {
            if let Some(want) = r.sha256
                && !want.trim().eq_ignore_ascii_case(&sha)
            {
                return Err(RuntimeError::Load {
                    plugin: reference.to_string(),
                    message: format!(
                        "does not match its sha256 pin: the job expects {}, the uploaded artifact's bytes hash to {sha}; refusing to run it",
                        want.trim()
                    ),
                });
            }
            return Ok(Loaded {
                plugin,
                from: LoadedFrom::Memory,
                elapsed: started.elapsed(),
            });
        }
        let source = match r.artifact {
            Some(a) if artifact::is_url(a) => PluginSource::Url(a.to_string()),
            Some(a) => PluginSource::File(PathBuf::from(a)),
            None => self.resolve_kind(r.name, r.kind)?,
        };
        let (bytes, origin): (std::borrow::Cow<'static, [u8]>, String) = match &source {
            PluginSource::Builtin(b) => ((*b).into(), "builtin".into()),
            PluginSource::File(p) => (
                std::fs::read(p)
                    .map_err(|e| RuntimeError::Load {
                        plugin: p.display().to_string(),
                        message: format!("cannot be read: {e}"),
                    })?
                    .into(),
                p.display().to_string(),
            ),
            PluginSource::Url(u) => (
                artifact::fetch(u)
                    .await
                    .map_err(|message| RuntimeError::Load {
                        plugin: u.clone(),
                        message,
                    })?
                    .into(),
                u.clone(),
            ),
        };
        let hash: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        if let Some(want) = r.sha256 {
            let got = hex::encode(hash);
            if !want.trim().eq_ignore_ascii_case(&got) {
                return Err(RuntimeError::Load {
                    plugin: origin,
                    message: format!(
                        "does not match its sha256 pin: the job expects {}, the artifact's bytes hash to {got}; refusing to run it",
                        want.trim()
                    ),
                });
            }
        }
        let (plugin, from) = self.load_hashed(&bytes, hash, &origin).await?;
        Ok(Loaded {
            plugin,
            from,
            elapsed: started.elapsed(),
        })
    }

    /// Loads a plugin from its component bytes; `origin` names it in messages.
    pub async fn load_bytes(
        &self,
        bytes: &[u8],
        origin: &str,
    ) -> Result<Arc<Plugin>, RuntimeError> {
        let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
        Ok(self.load_hashed(bytes, hash, origin).await?.0)
    }

    /// The component with this hex sha256, when it is loaded in this process: how a node opens
    /// a plan's vertex without reading and hashing the component again.
    pub fn loaded(&self, sha256: &str) -> Option<Arc<Plugin>> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(sha256.trim(), &mut hash).ok()?;
        self.cached(&hash)
    }

    fn cached(&self, hash: &[u8; 32]) -> Option<Arc<Plugin>> {
        lock(&self.cache).get(hash).and_then(CacheEntry::get)
    }

    async fn load_hashed(
        &self,
        bytes: &[u8],
        hash: [u8; 32],
        origin: &str,
    ) -> Result<(Arc<Plugin>, LoadedFrom), RuntimeError> {
        if let Some(p) = self.cached(&hash) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((p, LoadedFrom::Memory));
        }
        // Concurrent loads of the same component wait for the first one.
        let gate = lock(&self.loading).entry(hash).or_default().clone();
        let _held = gate.lock().await;
        let result = match self.cached(&hash) {
            Some(p) => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                Ok((p, LoadedFrom::Memory))
            }
            None => self.compile(bytes, hash, origin).await,
        };
        drop(_held);
        let mut loading = lock(&self.loading);
        if Arc::strong_count(&gate) <= 2 {
            loading.remove(&hash);
        }
        result
    }

    async fn compile(
        &self,
        bytes: &[u8],
        hash: [u8; 32],
        origin: &str,
    ) -> Result<(Arc<Plugin>, LoadedFrom), RuntimeError> {
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
        let sha256 = hex::encode(hash);
        let started = Instant::now();
        let mut from = LoadedFrom::Compiled;
        let mut component = None;
        if let Some(disk) = &self.disk {
            match disk.lookup(&self.engine, &sha256) {
                disk::Lookup::Hit(c) => {
                    self.stats.disk_loads.fetch_add(1, Ordering::Relaxed);
                    from = LoadedFrom::DiskCache;
                    component = Some(c);
                }
                disk::Lookup::Miss => {}
                disk::Lookup::Corrupt(why) => {
                    self.stats.corrupt.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("compiled component cache entry {why}; recompiling {origin}");
                }
            }
        }
        let component = match component {
            Some(c) => c,
            None => {
                let c = self.compile_and_store(bytes, &sha256).map_err(fail)?;
                self.stats.compiled.fetch_add(1, Ordering::Relaxed);
                c
            }
        };
        let compile_time = started.elapsed();
        let kind = world_of(&self.engine, &component).map_err(fail)?;
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            fail(format!(
                "imports something Strait does not provide to plugins: {e:#}"
            ))
        })?;
        let mut plugin = Plugin {
            info: PluginInfo {
                name: origin.to_string(),
                kind,
                version: String::new(),
                options: Vec::new(),
                grants: Vec::new(),
            },
            sha256,
            size: bytes.len(),
            compile_time,
            compiled_from: from,
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
        let entry = if self.config.keep_compiled {
            CacheEntry::Kept(plugin.clone())
        } else {
            CacheEntry::Shared(Arc::downgrade(&plugin))
        };
        let mut cache = lock(&self.cache);
        cache.retain(|_, e| e.get().is_some());
        cache.insert(hash, entry);
        Ok((plugin, from))
    }

    /// Compiles a component, writing the precompiled artifact to the disk cache when there is one.
    fn compile_and_store(&self, bytes: &[u8], sha256: &str) -> Result<Component, String> {
        let Some(disk) = &self.disk else {
            return Component::new(&self.engine, bytes)
                .map_err(|e| format!("cannot be compiled: {e:#}"));
        };
        let artifact = self
            .engine
            .precompile_component(bytes)
            .map_err(|e| format!("cannot be compiled: {e:#}"))?;
        if let Err(e) = disk.store(sha256, &artifact) {
            tracing::warn!(
                "cannot write to the component cache {}: {e}",
                disk.dir().display()
            );
        }
        deserialize_own(&self.engine, &artifact)
    }

    /// Whether a component (by sha256) is compiled in memory, and whether it is on disk.
    pub fn cache_state(&self, sha256: &str) -> (bool, bool) {
        let in_memory = hex::decode(sha256)
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .is_some_and(|h| self.cached(&h).is_some());
        let on_disk = self.disk.as_ref().is_some_and(|d| d.contains(sha256));
        (in_memory, on_disk)
    }

    /// How many compiled components the memory cache holds right now.
    pub fn cached_components(&self) -> usize {
        lock(&self.cache)
            .values()
            .filter(|e| e.get().is_some())
            .count()
    }

    fn store(
        &self,
        plugin: &Plugin,
        task: &str,
        spec: &SandboxSpec,
        cancel: &CancelToken,
    ) -> Result<Store<TaskState>, RuntimeError> {
        let state =
            TaskState::new(&plugin.info.name, task, spec, cancel.clone()).map_err(|message| {
                RuntimeError::Trap {
                    plugin: plugin.info.name.clone(),
                    task: task.to_string(),
                    message,
                }
            })?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            ctx.data().check_interrupt()?;
            Ok(wasmtime::UpdateDeadline::Yield(1))
        });
        Ok(store)
    }

    /// The default sandbox (limits from st.yaml, no grants).
    pub fn default_sandbox(&self) -> SandboxSpec {
        SandboxSpec {
            limits: self.config.limits.clone(),
            grants: Grants::default(),
        }
    }

    /// The runtime's configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Loads an artifact this process just produced with `precompile_component`.
#[allow(unsafe_code)]
fn deserialize_own(engine: &Engine, artifact: &[u8]) -> Result<Component, String> {
    // SAFETY: the bytes come straight from `Engine::precompile_component` on this engine, in
    // this process; they never left memory.
    unsafe { Component::deserialize(engine, artifact) }
        .map_err(|e| format!("cannot load its compiled form: {e:#}"))
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
