//! Runs jobs. A job's logical DAG is planned into pipelines (the connected parts of the DAG);
//! each pipeline runs one enumerator per source, one committer per sink, and `parallelism`
//! fused subtasks, each driving readers → transforms → writers in one tokio task, moving
//! batches by ownership (a batch is cloned only where the DAG fans out).
//!
//! The coordinator talks to subtasks only through the serializable messages of [`protocol`].
//! Checkpoints and failover build on the same protocol (not yet: a BATCH job commits once,
//! when every subtask has finished).

mod pipeline;
pub mod protocol;
mod report;
mod sandbox;
mod subtask;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use st_checkpoint::CheckpointStore;
use st_core::{PluginKind, TableSchema};
use st_job::{ConfigError, ConfigErrors, JobConfig, JobMode};
use st_runtime::{
    CancelToken, LoadedFrom, Plugin, PluginError, PluginRef, Runtime, RuntimeError, SandboxSpec,
    TaskContext,
};
use tokio::task::JoinSet;

use pipeline::Outcome;
pub use report::JobReport;

/// Rows a reader is asked for per poll.
pub const BATCH_ROWS: u32 = 8192;

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job config is wrong; nothing ran.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// A task failed while the job ran.
    #[error("job {job_id} failed: {message}")]
    Failed { job_id: String, message: String },
    /// A savepoint was taken and the job stopped; `st run --resume JOB_ID` continues it.
    #[error(
        "job {job_id} stopped at a savepoint; resume it with `st run --resume {job_id} JOB.conf`"
    )]
    Savepointed {
        job_id: String,
        report: Box<JobReport>,
    },
    /// `--resume` of a job that already finished: nothing ran (running it again would write its
    /// data twice).
    #[error("job {job_id} already finished{}; nothing to resume", finished_at(*finished_at_ms))]
    AlreadyFinished { job_id: String, finished_at_ms: u64 },
}

fn finished_at(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1000))
        .map(|micros| format!(" at {} UTC", st_core::format_timestamp(micros)))
        .unwrap_or_default()
}

/// Where checkpoints go and how often they are taken, from st.yaml (a job's `env` overrides
/// the interval and timeout).
#[derive(Debug, Clone)]
pub struct CheckpointConfig {
    /// Default interval of STREAMING jobs, in milliseconds.
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub max_retained: usize,
    /// The store and the path prefix (`namespace/cluster`) jobs are kept under; `None` keeps
    /// checkpoints in memory only (nothing to resume from after the process ends).
    pub store: Option<st_checkpoint::open::Opened>,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            interval_ms: 30_000,
            timeout_ms: 60_000,
            max_retained: 3,
            store: None,
        }
    }
}

/// What one run of a job needs besides the job: its checkpoint store, whether it resumes, and
/// the switch that asks for a savepoint.
#[derive(Debug, Clone)]
pub(crate) struct JobControl {
    pub store: Option<CheckpointStore>,
    pub resume: bool,
    pub savepoint: CancelToken,
}

/// One plugin of the job, resolved and checked.
struct Node {
    plugin: Arc<Plugin>,
    kind: PluginKind,
    /// `sink[0](Assert)`.
    path: String,
    /// Normalized options as JSON text.
    options: String,
    /// The tables arriving at this node (transform and sink), in input order.
    in_tables: Vec<TableSchema>,
    /// The tables this node produces (source and transform).
    out_tables: Vec<TableSchema>,
    /// (downstream node, offset added to this node's table index there).
    downstream: Vec<(usize, u32)>,
    parallelism: Option<u32>,
    /// Limits and grants of this plugin in this job.
    sandbox: Arc<SandboxSpec>,
}

struct PipelinePlan {
    id: u32,
    sources: Vec<usize>,
    sinks: Vec<usize>,
    parallelism: u32,
}

/// A job that passed every check and is ready to run.
pub struct PreparedJob {
    pub job_id: String,
    pub job_name: String,
    bounded: bool,
    rows_per_second: Option<u64>,
    nodes: Vec<Node>,
    pipelines: Vec<PipelinePlan>,
    /// Warnings from the config and planning.
    pub warnings: Vec<String>,
    /// How each plugin was loaded: (plugin path, from, time).
    pub loads: Vec<(String, LoadedFrom, Duration)>,
    cancel: CancelToken,
    savepoint: CancelToken,
    /// `checkpoint.interval` (BATCH: only when set; STREAMING: st.yaml's default otherwise).
    checkpoint_interval_ms: Option<u64>,
    checkpoint_timeout_ms: u64,
    max_retained: usize,
    /// `job.retry.times` (default 3, as SeaTunnel) and `job.retry.interval.seconds` (3).
    retry_times: u32,
    retry_interval: Duration,
}

impl PreparedJob {
    /// (plugin path, name, kind) of every plugin, in job order.
    pub fn plugins(&self) -> Vec<(String, String, PluginKind)> {
        self.nodes
            .iter()
            .map(|n| (n.path.clone(), n.plugin.info.name.clone(), n.kind))
            .collect()
    }

    /// The number of pipelines.
    /// Cancelling stops every task of the job; a busy plugin is interrupted within an epoch tick.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Asking for a savepoint stops the job at a consistent point it can resume from.
    pub fn savepoint_token(&self) -> CancelToken {
        self.savepoint.clone()
    }

    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }
}

/// A new job id: SeaTunnel uses large decimal numbers; so does Strait.
pub fn new_job_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}", (nanos as u64) >> 4)
}

fn config_error(job: &JobConfig, plugin: usize, path: &[String], message: String) -> ConfigError {
    let p = &job.plugins[plugin];
    ConfigError {
        file: job.file.clone(),
        line: Some(if path.is_empty() {
            p.line
        } else {
            job.line_of(plugin, path)
        }),
        col: None,
        path: if path.is_empty() {
            p.path()
        } else {
            format!("{}.{}", p.path(), path.join("."))
        },
        message,
    }
}

/// Turns a plugin's error during planning into a config error when it names an option.
fn plan_error(job: &JobConfig, plugin: usize, e: RuntimeError) -> ConfigError {
    match e.plugin_error() {
        Some(PluginError::InvalidOption { option, message }) => {
            let path: Vec<String> = option.split('.').map(str::to_string).collect();
            config_error(job, plugin, &path, message.clone())
        }
        _ => config_error(job, plugin, &[], e.to_string()),
    }
}

/// Orders plugins so every plugin comes after its inputs (the DAG is acyclic by now).
fn topo_order(inputs: &[Vec<usize>]) -> Vec<usize> {
    fn visit(i: usize, inputs: &[Vec<usize>], seen: &mut [bool], out: &mut Vec<usize>) {
        if seen[i] {
            return;
        }
        seen[i] = true;
        for &j in &inputs[i] {
            visit(j, inputs, seen, out);
        }
        out.push(i);
    }
    let mut seen = vec![false; inputs.len()];
    let mut out = Vec::new();
    for i in 0..inputs.len() {
        visit(i, inputs, &mut seen, &mut out);
    }
    out
}

/// Plans and runs jobs on a shared runtime.
#[derive(Debug, Clone)]
pub struct Engine {
    runtime: Arc<Runtime>,
    checkpoints: CheckpointConfig,
}

impl Engine {
    pub fn new(runtime: Arc<Runtime>) -> Engine {
        Engine {
            runtime,
            checkpoints: CheckpointConfig::default(),
        }
    }

    /// Sets where and how often checkpoints are taken.
    pub fn with_checkpoints(mut self, checkpoints: CheckpointConfig) -> Engine {
        self.checkpoints = checkpoints;
        self
    }

    fn store(&self, job_id: &str) -> Option<CheckpointStore> {
        self.checkpoints
            .store
            .as_ref()
            .map(|o| CheckpointStore::new(o.store.clone(), &format!("{}/{job_id}", o.prefix)))
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Resolves every plugin, checks options against each plugin's description, opens sources
    /// and transforms to learn their schemas. Reports every problem found.
    pub async fn prepare(&self, job: &JobConfig, job_id: String) -> Result<PreparedJob, JobError> {
        let mut errors = Vec::new();
        let mut loaded = Vec::new();
        let mut loads = Vec::new();
        let mut sandboxes = Vec::new();
        for (i, p) in job.plugins.iter().enumerate() {
            match sandbox::spec(self.runtime.config(), &job.env.sandbox, &p.sandbox) {
                Ok(spec) => sandboxes.push(Arc::new(spec)),
                Err((sub, message)) => {
                    let path: Vec<String> =
                        std::iter::once("sandbox".to_string()).chain(sub).collect();
                    errors.push(config_error(job, i, &path, message));
                    sandboxes.push(Arc::new(SandboxSpec::default()));
                }
            }
            let r = PluginRef {
                name: &p.name,
                artifact: p.artifact.as_deref(),
                sha256: p.sha256.as_deref(),
                kind: Some(p.kind),
            };
            let res = self.runtime.load_ref(r).await.map(|l| {
                loads.push((p.path(), l.from, l.elapsed));
                l.plugin
            });
            match res {
                Ok(plugin) if plugin.info.kind != p.kind => {
                    errors.push(config_error(
                        job,
                        i,
                        &[],
                        format!(
                            "{} is a {} plugin and cannot be used under `{}`",
                            plugin.info.name, plugin.info.kind, p.kind
                        ),
                    ));
                    loaded.push(None);
                }
                Ok(plugin) => match st_job::check_options(job, i, &plugin.info) {
                    Ok(opts) => {
                        loaded.push(Some((plugin, serde_json::Value::Object(opts).to_string())))
                    }
                    Err(errs) => {
                        errors.extend(errs);
                        loaded.push(None);
                    }
                },
                Err(e) => {
                    errors.push(config_error(job, i, &[], e.to_string()));
                    loaded.push(None);
                }
            }
        }
        if !errors.is_empty() {
            return Err(JobError::Invalid(ConfigErrors(errors)));
        }
        let bounded = job.env.job_mode == JobMode::Batch;
        let mut nodes: Vec<Node> = loaded
            .into_iter()
            .zip(&job.plugins)
            .zip(sandboxes)
            .map(|((l, p), sandbox)| {
                let (plugin, options) = l.expect("every plugin loaded when there are no errors");
                Node {
                    kind: plugin.info.kind,
                    plugin,
                    path: p.path(),
                    options,
                    in_tables: Vec::new(),
                    out_tables: Vec::new(),
                    downstream: Vec::new(),
                    parallelism: p.parallelism,
                    sandbox,
                }
            })
            .collect();
        let cancel = CancelToken::default();
        for i in topo_order(&job.inputs) {
            let mut in_tables = Vec::new();
            for &j in &job.inputs[i] {
                let offset = u32::try_from(in_tables.len()).unwrap_or(u32::MAX);
                nodes[j].downstream.push((i, offset));
                in_tables.extend(nodes[j].out_tables.iter().cloned());
            }
            let ctx = TaskContext {
                job_id: job_id.clone(),
                job_name: job.env.job_name.clone(),
                plugin_path: nodes[i].path.clone(),
                subtask: 0,
                parallelism: nodes[i].parallelism.unwrap_or(job.env.parallelism),
                bounded,
                sandbox: nodes[i].sandbox.clone(),
                cancel: cancel.clone(),
            };
            let node = &nodes[i];
            match node.kind {
                PluginKind::Source => match self
                    .runtime
                    .open_source(&node.plugin, &node.options, &ctx)
                    .await
                {
                    Ok(info) => {
                        if bounded && !info.bounded {
                            errors.push(config_error(job, i, &[], "is unbounded and cannot run in a BATCH job; set env.job.mode = STREAMING".into()));
                        }
                        nodes[i].out_tables = info.tables;
                    }
                    Err(e) => errors.push(plan_error(job, i, e)),
                },
                PluginKind::Transform => match self
                    .runtime
                    .transform(&node.plugin, &node.options, &ctx, &in_tables)
                    .await
                {
                    Ok(t) => nodes[i].out_tables = t.outputs,
                    Err(e) => errors.push(plan_error(job, i, e)),
                },
                PluginKind::Sink => {}
            }
            nodes[i].in_tables = in_tables;
        }
        if !errors.is_empty() {
            return Err(JobError::Invalid(ConfigErrors(errors)));
        }
        let mut warnings = job.warnings.clone();
        let mut pipelines = Vec::new();
        for group in job.pipelines() {
            let sources: Vec<usize> = group
                .iter()
                .copied()
                .filter(|i| nodes[*i].kind == PluginKind::Source)
                .collect();
            let sinks: Vec<usize> = group
                .iter()
                .copied()
                .filter(|i| nodes[*i].kind == PluginKind::Sink)
                .collect();
            if sinks.is_empty() {
                warnings.push(format!(
                    "{} reach no sink and will not run",
                    group
                        .iter()
                        .map(|i| nodes[*i].path.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            }
            let parallelism = sources
                .iter()
                .filter_map(|s| nodes[*s].parallelism)
                .max()
                .unwrap_or(job.env.parallelism)
                .max(1);
            pipelines.push(PipelinePlan {
                id: u32::try_from(pipelines.len()).unwrap_or(0),
                sources,
                sinks,
                parallelism,
            });
        }
        Ok(PreparedJob {
            job_id,
            job_name: job.env.job_name.clone(),
            bounded,
            rows_per_second: job.env.rows_per_second,
            nodes,
            pipelines,
            warnings,
            loads,
            cancel,
            savepoint: CancelToken::default(),
            checkpoint_interval_ms: job.env.checkpoint_interval_ms.or(if bounded {
                None
            } else {
                Some(self.checkpoints.interval_ms)
            }),
            checkpoint_timeout_ms: job
                .env
                .checkpoint_timeout_ms
                .unwrap_or(self.checkpoints.timeout_ms),
            max_retained: self.checkpoints.max_retained,
            retry_times: job.env.retry_times.unwrap_or(3),
            retry_interval: Duration::from_secs(job.env.retry_interval_seconds.unwrap_or(3)),
        })
    }

    /// Runs a prepared job to the end (or to a savepoint).
    pub async fn run(&self, job: PreparedJob) -> Result<JobReport, JobError> {
        self.run_job(job, false).await
    }

    /// Runs a job from its latest checkpoint or savepoint (SeaTunnel's `-r`); the prepared
    /// job must carry the id of the run it continues.
    pub async fn resume(&self, job: PreparedJob) -> Result<JobReport, JobError> {
        self.run_job(job, true).await
    }

    async fn run_job(&self, job: PreparedJob, resume: bool) -> Result<JobReport, JobError> {
        let started = SystemTime::now();
        let clock = Instant::now();
        let job = Arc::new(job);
        let control = JobControl {
            store: self.store(&job.job_id),
            resume,
            savepoint: job.savepoint.clone(),
        };
        if resume
            && let Some(store) = &control.store
            && let Some(done) = store.finished().await.map_err(|e| JobError::Failed {
                job_id: job.job_id.clone(),
                message: e.to_string(),
            })?
        {
            return Err(JobError::AlreadyFinished {
                job_id: job.job_id.clone(),
                finished_at_ms: done.finished_at_ms,
            });
        }
        let mut pipelines = JoinSet::new();
        for p in 0..job.pipelines.len() {
            let (rt, job, control) = (self.runtime.clone(), job.clone(), control.clone());
            pipelines.spawn(async move { pipeline::run_with_retries(rt, job, p, control).await });
        }
        let mut report = JobReport::new(&job.job_id, &job.job_name, started);
        report.loads = job.loads.clone();
        let mut savepointed = false;
        while let Some(res) = pipelines.join_next().await {
            let failure = match res {
                Ok(Ok(Outcome::Finished(metrics))) => {
                    report.add(&metrics);
                    continue;
                }
                Ok(Ok(Outcome::Savepointed(metrics))) => {
                    report.add(&metrics);
                    savepointed = true;
                    continue;
                }
                Ok(Err(message)) => message,
                Err(e) => format!("a pipeline stopped: {e}"),
            };
            pipelines.abort_all();
            return Err(JobError::Failed {
                job_id: job.job_id.clone(),
                message: failure,
            });
        }
        report.duration = clock.elapsed();
        if savepointed {
            return Err(JobError::Savepointed {
                job_id: job.job_id.clone(),
                report: Box::new(report),
            });
        }
        // A finished job has nothing to resume: it is marked finished (first, so a crash in
        // between cannot make a later `--resume` run it again) and its checkpoints go.
        if let Some(store) = &control.store {
            let finished = st_checkpoint::Finished {
                finished_at_ms: SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            };
            let cleared = match store.mark_finished(&finished).await {
                Ok(()) => store.clear().await,
                Err(e) => Err(e),
            };
            if let Err(e) = cleared {
                tracing::warn!("{e}");
            }
        }
        // The local filesystem keeps the emptied directories: they go too.
        if let Some(o) = &self.checkpoints.store
            && let Some(root) = &o.local_root
            && let Ok(entries) = std::fs::read_dir(root.join(&o.prefix).join(&job.job_id))
        {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(report)
    }
}

pub(crate) fn ctx(job: &PreparedJob, node: usize, subtask: u32, parallelism: u32) -> TaskContext {
    TaskContext {
        job_id: job.job_id.clone(),
        job_name: job.job_name.clone(),
        plugin_path: job.nodes[node].path.clone(),
        subtask,
        parallelism,
        bounded: job.bounded,
        sandbox: job.nodes[node].sandbox.clone(),
        cancel: job.cancel.clone(),
    }
}
