//! Per-instance state: the WASI context (which grants nothing by default), the memory limit,
//! captured stderr (a crashing guest's panic message) and the host functions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;

use crate::grants::SandboxSpec;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Stops every instance of a job: a busy plugin is interrupted at its next epoch tick.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl PartialEq for CancelToken {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CancelToken {}

/// Why the host stopped a call.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Interrupted {
    #[error("cancelled")]
    Cancelled,
    #[error("the call ran longer than its timeout of {0:?}")]
    Timeout(Duration),
}

const STDERR_CAPTURE: usize = 64 * 1024;

pub struct TaskState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limiter,
    pub(crate) stderr: MemoryOutputPipe,
    plugin: String,
    task: String,
    pub(crate) cancel: CancelToken,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) call_started: Instant,
    /// Capabilities the plugin asked for and was refused.
    pub(crate) denied: Arc<Mutex<Vec<String>>>,
}

impl TaskState {
    pub(crate) fn new(
        plugin: &str,
        task: &str,
        spec: &SandboxSpec,
        cancel: CancelToken,
    ) -> Result<TaskState, String> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        // Only what the job grants: stdout is the process's (Console prints there); stderr is
        // captured for crash reports.
        let mut b = WasiCtxBuilder::new();
        b.inherit_stdout().stderr(stderr.clone());
        // File reads and writes run on the task's own thread: a plugin call already occupies
        // it, and handing each 4 KiB write to the blocking pool costs more than the write.
        b.allow_blocking_current_thread(true);
        for d in &spec.grants.dirs {
            let perms = if d.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            b.preopened_dir(&d.host, &d.guest, perms)
                .map_err(|e| format!("cannot grant directory {}: {e:#}", d.host.display()))?;
        }
        for (k, v) in &spec.grants.env {
            b.env(k, v);
        }
        let denied = Arc::new(Mutex::new(Vec::new()));
        let network = spec.grants.network.clone();
        // TCP sockets may be created so that a refused connect names its address; every
        // address is still checked below. UDP and name lookups only come with a grant.
        b.allow_tcp(true);
        if !network.is_empty() {
            b.allow_ip_name_lookup(true).allow_udp(true);
        }
        let log = denied.clone();
        b.socket_addr_check(move |addr, use_| {
            let ok = match use_ {
                // Connecting binds implicitly to the wildcard address and an ephemeral port
                // first; binding to anything else would be serving, which is never granted.
                SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                    addr.ip().is_unspecified() && addr.port() == 0
                }
                SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                    network.iter().any(|g| g.allows(&addr))
                }
                SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
            };
            if !ok {
                let what = match use_ {
                    SocketAddrUse::TcpConnect => "connect to",
                    SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => "bind",
                    SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => "listen on",
                    _ => "send to",
                };
                if let Ok(mut d) = log.lock() {
                    d.push(format!("{what} {addr}"));
                }
            }
            Box::pin(async move { ok })
        });
        Ok(TaskState {
            wasi: b.build(),
            table: ResourceTable::new(),
            limits: Limiter {
                max_memory: spec.limits.max_memory_bytes,
                peak: 0,
                hit: false,
            },
            stderr,
            plugin: plugin.to_string(),
            task: task.to_string(),
            cancel,
            call_timeout: spec.limits.call_timeout,
            call_started: Instant::now(),
            denied,
        })
    }

    /// Whether the instance was refused memory.
    pub(crate) fn limits_hit(&self) -> bool {
        self.limits.hit
    }

    pub(crate) fn max_memory(&self) -> usize {
        self.limits.max_memory
    }

    /// The largest linear memory the instance had, in bytes.
    pub(crate) fn peak_memory(&self) -> usize {
        self.limits.peak
    }

    /// The last lines the guest wrote to stderr (e.g. its panic message), without Rust's
    /// backtrace hint, joined by ` | `; empty when it wrote nothing.
    pub(crate) fn stderr_summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// Capabilities refused so far, e.g. `connect to 10.0.0.1:80`.
    pub(crate) fn denied(&self) -> Vec<String> {
        self.denied.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Called by the epoch ticker while the guest runs: stop on cancel or timeout.
    pub(crate) fn check_interrupt(&self) -> Result<(), Interrupted> {
        if self.cancel.is_cancelled() {
            return Err(Interrupted::Cancelled);
        }
        match self.call_timeout {
            Some(t) if self.call_started.elapsed() > t => Err(Interrupted::Timeout(t)),
            _ => Ok(()),
        }
    }
}

impl WasiView for TaskState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl st_world::types::Host for TaskState {}

impl st_world::host::Host for TaskState {
    fn log(&mut self, level: st_world::host::LogLevel, message: String) {
        use st_world::host::LogLevel as L;
        let (plugin, task) = (&self.plugin, &self.task);
        match level {
            L::Trace => tracing::trace!(plugin, task, "{message}"),
            L::Debug => tracing::debug!(plugin, task, "{message}"),
            L::Info => tracing::info!(plugin, task, "{message}"),
            L::Warn => tracing::warn!(plugin, task, "{message}"),
            L::Error => tracing::error!(plugin, task, "{message}"),
        }
    }

    fn counter_add(&mut self, name: String, delta: u64) {
        tracing::trace!(
            plugin = self.plugin,
            task = self.task,
            counter = name,
            delta,
            "counter"
        );
    }
}

/// Caps linear memory and remembers the peak and whether the cap was hit.
pub(crate) struct Limiter {
    max_memory: usize,
    peak: usize,
    hit: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.hit = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }

    fn instances(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        64
    }
}
