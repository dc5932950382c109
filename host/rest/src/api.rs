//! What the REST layer needs from the cluster, as one trait and plain data. The node implements
//! it over its own service (forwarding to the master where the master must answer); tests may
//! implement it over anything.

use std::collections::BTreeMap;
use std::future::Future;

/// The cluster as the REST API sees it.
pub trait ClusterApi: Send + Sync + 'static {
    /// The members, their roles, slots and tags.
    fn cluster(&self) -> impl Future<Output = Result<ClusterView, ApiError>> + Send;
    /// Every job the job-state map holds: pending, running and the finished history.
    fn jobs(&self) -> impl Future<Output = Result<Vec<JobView>, ApiError>> + Send;
    /// One job; `None` when the map does not know it.
    fn job(&self, id: u64) -> impl Future<Output = Result<Option<JobView>, ApiError>> + Send;
    /// A job's rows and bytes so far (live while it runs, final once it ended); `None` when
    /// no node has them (an unknown job, or one that ended before the master that ran it
    /// went away).
    fn throughput(
        &self,
        id: u64,
    ) -> impl Future<Output = Result<Option<Throughput>, ApiError>> + Send;
    /// Plans and starts a job (on the master).
    fn submit(&self, job: SubmitJob) -> impl Future<Output = Result<Submitted, ApiError>> + Send;
    /// Cancels a job, or takes a savepoint and stops it.
    fn stop(&self, id: u64, savepoint: bool) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Replaces this node's tags (`member-attributes`).
    fn set_tags(
        &self,
        tags: BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Resumes an ended job under its id from its savepoint (or latest checkpoint), with
    /// the config it was submitted with.
    fn restore(&self, id: u64) -> impl Future<Output = Result<Submitted, ApiError>> + Send;
    /// What a plugin declares: its options and grants, per kind it exists in.
    fn option_rules(
        &self,
        plugin: &str,
    ) -> impl Future<Output = Result<Vec<PluginRules>, ApiError>> + Send;
    /// This node: its cluster address, and where its logs are.
    fn this_node(&self) -> ThisNode;
}

/// Why a call failed, and so the HTTP status of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Bad input (400): a malformed body, a wrong option, a job config that does not plan.
    BadRequest(String),
    /// Anything else (500): no master, a timeout, a job the cluster cannot run.
    Internal(String),
}

impl ApiError {
    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m) | ApiError::Internal(m) => m,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterView {
    pub cluster_name: String,
    pub term: u64,
    pub nodes: Vec<NodeView>,
    /// This node's Raft figures: the master it follows, its last log and applied indexes.
    pub raft: RaftView,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaftView {
    pub leader: Option<u64>,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    pub id: u64,
    /// `host:port` as in the member list.
    pub address: String,
    /// `hybrid`, `master` or `worker`.
    pub role: String,
    pub alive: bool,
    pub master: bool,
    pub slots_used: u32,
    /// `None`: dynamic slots, no limit.
    pub slots_total: Option<u32>,
    pub tags: BTreeMap<String, String>,
}

impl NodeView {
    /// Whether it runs tasks (SeaTunnel's workers: `hybrid` and `worker` nodes).
    pub fn runs_tasks(&self) -> bool {
        self.role != "master"
    }
}

/// Which kind of plugin a vertex runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VertexKind {
    Source,
    Transform,
    Sink,
}

impl VertexKind {
    /// SeaTunnel's `type` in `vertexInfoMap`.
    pub fn as_str(self) -> &'static str {
        match self {
            VertexKind::Source => "source",
            VertexKind::Transform => "transform",
            VertexKind::Sink => "sink",
        }
    }

    fn title(self) -> &'static str {
        match self {
            VertexKind::Source => "Source",
            VertexKind::Transform => "Transform",
            VertexKind::Sink => "Sink",
        }
    }
}

/// One plugin block of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexView {
    /// 1-based, unique in the job.
    pub id: u32,
    /// 1-based.
    pub pipeline: u32,
    pub kind: VertexKind,
    /// Its position among the job's plugins of its kind (`Source[0]`).
    pub index: u32,
    /// The plugin's name as the job writes it.
    pub plugin: String,
    /// The tables it produces (sources, transforms) or writes (sinks).
    pub tables: Vec<String>,
}

impl VertexView {
    /// SeaTunnel's `vertexName`: `pipeline-1 [Source[0]-FakeSource]`.
    pub fn seatunnel_name(&self) -> String {
        let suffix = if self.kind == VertexKind::Sink {
            "-MultiTableSink"
        } else {
            ""
        };
        format!(
            "pipeline-{} [{}[{}]-{}{suffix}]",
            self.pipeline,
            self.kind.title(),
            self.index,
            self.plugin
        )
    }
}

/// A completed checkpoint or savepoint, the latest of its pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointView {
    pub pipeline: u32,
    pub id: u64,
    /// `checkpoint` or `savepoint`.
    pub kind: String,
    pub at_ms: u64,
    pub duration_ms: u64,
    /// The bytes of its task states and commit infos.
    pub size_bytes: u64,
    /// How many tasks acked it.
    pub tasks: u32,
}

/// A job as the map holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub id: u64,
    pub name: String,
    /// SeaTunnel's state name (`RUNNING`, `FINISHED`, ...).
    pub status: String,
    /// Whether `status` is final (FINISHED, FAILED, CANCELED, SAVEPOINT_DONE, ...).
    pub ended: bool,
    /// The job's `env` block, values as text, in the order written.
    pub env: Vec<(String, String)>,
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    pub error: Option<String>,
    /// Whether this run was started from a savepoint.
    pub start_with_savepoint: bool,
    pub vertices: Vec<VertexView>,
    /// (pipeline, from vertex, to vertex).
    pub edges: Vec<(u32, u32, u32)>,
    /// Where its plugins came from (artifacts the job names explicitly).
    pub plugins: Vec<String>,
    /// (ms since the epoch, what happened).
    pub events: Vec<(u64, String)>,
    /// Each pipeline's latest completed checkpoint.
    pub checkpoints: Vec<CheckpointView>,
    /// The latest completed checkpoints of all pipelines, oldest first.
    pub checkpoint_history: Vec<CheckpointView>,
}

/// Rows and bytes a job read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Throughput {
    /// How long it has run (or ran).
    pub elapsed_ms: u64,
    /// Rows read per source table.
    pub rows_read: BTreeMap<String, u64>,
    /// Rows written per sink table.
    pub rows_written: BTreeMap<String, u64>,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Peak linear memory per task (`sink[0](Console)#1`).
    pub peak_memory: BTreeMap<String, u64>,
    /// Plugin instances recycled near their memory cap.
    pub recycled: u64,
}

/// A job to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitJob {
    /// The config text: JSON or HOCON (the JSON form is HOCON too).
    pub config: String,
    /// Names the config in errors (`REST /submit-job`, an uploaded file's name).
    pub source: String,
    pub job_id: Option<u64>,
    pub job_name: Option<String>,
    /// Resume `job_id` from its latest savepoint (fresh when it has none).
    pub start_with_savepoint: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub job_id: u64,
    pub job_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThisNode {
    pub address: String,
    pub log_dir: Option<std::path::PathBuf>,
}

/// A plugin's declared options and grants (`st plugin inspect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRules {
    pub name: String,
    /// `source`, `transform` or `sink`.
    pub kind: String,
    pub version: String,
    pub sha256: String,
    pub options: Vec<OptionRule>,
    /// (option, access): the options whose values the job's sandbox must grant.
    pub grants: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionRule {
    pub name: String,
    /// `string`, `int`, `bool`, ...
    pub option_type: String,
    pub required: bool,
    pub default_value: Option<String>,
    pub doc: String,
}
