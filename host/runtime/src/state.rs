//! Per-instance state: the WASI context (which grants nothing by default), the memory limit,
//! captured stderr (a crashing guest's panic message) and the host functions.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Limits applied to one task instance.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLimits {
    /// Linear memory cap in bytes.
    pub max_memory_bytes: usize,
}

impl Default for TaskLimits {
    fn default() -> Self {
        TaskLimits {
            max_memory_bytes: 1 << 30,
        }
    }
}

const STDERR_CAPTURE: usize = 64 * 1024;

pub struct TaskState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limiter,
    pub(crate) stderr: MemoryOutputPipe,
    plugin: String,
    task: String,
}

impl TaskState {
    pub(crate) fn new(plugin: &str, task: &str, limits: &TaskLimits) -> TaskState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        // Nothing is granted: no directories, no environment, no network. Stdout is the
        // process's (Console prints there); stderr is captured for crash reports.
        let wasi = WasiCtxBuilder::new()
            .inherit_stdout()
            .stderr(stderr.clone())
            .build();
        TaskState {
            wasi,
            table: ResourceTable::new(),
            limits: Limiter {
                max_memory: limits.max_memory_bytes,
                peak: 0,
                hit: false,
            },
            stderr,
            plugin: plugin.to_string(),
            task: task.to_string(),
        }
    }

    /// Whether the instance was refused memory.
    pub(crate) fn limits_hit(&self) -> bool {
        self.limits.hit
    }

    /// The largest linear memory the instance had, in bytes.
    pub(crate) fn peak_memory(&self) -> usize {
        self.limits.peak
    }

    /// What the guest wrote to stderr (e.g. a panic message), trimmed.
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_string()
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
