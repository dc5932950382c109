//! A planned job: its vertices (one per plugin block), its pipelines and its run settings.
//! A vertex names its plugin by name and the sha256 of the component's bytes, carries its
//! normalized options and its schemas, and its sandbox as declared. A node opens a plan by
//! finding each component by hash and resolving the grants against its own policy.

use serde::{Deserialize, Serialize};
use st_core::{PluginKind, SandboxConfig, TableSchema};

use crate::JobId;

/// Which component a vertex runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginId {
    /// The name as written in the job (a built-in, a plugin in `plugin-dirs`, a `.wasm` path).
    pub name: String,
    /// Hex sha256 of the component's bytes: the node's cache key, and the check on whatever
    /// bytes the node fetches.
    pub sha256: String,
    /// Where to fetch the bytes when the node has neither them nor a plugin of that name:
    /// the job's explicit artifact (a path or an object_store URL).
    pub artifact: Option<String>,
}

/// One plugin of the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vertex {
    /// `sink[0](Assert)`: how messages and checkpoints name it.
    pub path: String,
    pub kind: PluginKind,
    pub plugin: PluginId,
    /// Normalized options, as JSON text.
    pub options: String,
    /// The tables arriving here (transforms and sinks), in input order.
    pub in_tables: Vec<TableSchema>,
    /// The tables produced here (sources and transforms).
    pub out_tables: Vec<TableSchema>,
    /// (downstream vertex, offset added to this vertex's table index there).
    pub downstream: Vec<(u32, u32)>,
    pub parallelism: Option<u32>,
    /// Limits and grants as the job wrote them (the plugin's block, limits falling back to
    /// `env.sandbox`); resolved where the task runs.
    pub sandbox: SandboxConfig,
}

/// A connected source → ... → sink part of the job: the unit of checkpoints and failover.
/// It runs one enumerator per source, one committer per sink and `parallelism` subtasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelinePlan {
    pub id: u32,
    /// Source vertices.
    pub sources: Vec<u32>,
    /// Sink vertices.
    pub sinks: Vec<u32>,
    pub parallelism: u32,
}

impl PipelinePlan {
    /// The slots it takes: SeaTunnel's 2 + P (the enumerators and committers of a pipeline
    /// share one slot each way), here one per enumerator, one per committer, one per subtask.
    pub fn tasks(&self) -> usize {
        self.sources.len() + self.sinks.len() + self.parallelism as usize
    }
}

/// A job, planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    pub job_id: JobId,
    pub job_name: String,
    /// BATCH (bounded sources, ends with a final checkpoint) or STREAMING.
    pub bounded: bool,
    pub vertices: Vec<Vertex>,
    pub pipelines: Vec<PipelinePlan>,
    /// `env.read_limit.rows_per_second`, per reader.
    pub rows_per_second: Option<u64>,
    /// `env.read_limit.bytes_per_second`, per reader.
    pub bytes_per_second: Option<u64>,
    /// `checkpoint.interval` (BATCH: only when set; STREAMING: the engine's default otherwise).
    pub checkpoint_interval_ms: Option<u64>,
    pub checkpoint_timeout_ms: u64,
    /// `job.retry.times`.
    pub retry_times: u32,
    /// `job.retry.interval.seconds`, in milliseconds.
    pub retry_interval_ms: u64,
    /// Warnings from the config and planning.
    pub warnings: Vec<String>,
    /// `env.tag_filter`: the tags a node must have to run this job's tasks.
    #[serde(default)]
    pub tag_filter: std::collections::BTreeMap<String, String>,
    /// The job's `env` block as written, flattened to dotted keys, values as text.
    #[serde(default)]
    pub env: Vec<(String, String)>,
}

impl JobPlan {
    pub fn vertex(&self, i: u32) -> &Vertex {
        &self.vertices[i as usize]
    }
}
