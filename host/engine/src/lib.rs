//! Runs jobs. A job config is planned into a [`JobPlan`] (pure data: vertices naming their
//! plugins by sha256, pipelines, run settings), which the node that runs it opens (components
//! from its cache, grants resolved there). Each pipeline (a connected part of the DAG) runs one
//! enumerator per source, one committer per sink and `parallelism` fused subtasks, each driving
//! readers → transforms → writers in one tokio task, moving batches by ownership (a batch is
//! cloned only where the DAG fans out).
//!
//! Every task is started through a [`TaskLauncher`] and reached only through the messages of
//! [`st_plan`]'s protocol, so the same coordinator drives tasks in this process (local mode)
//! or on other machines.

mod master;
mod opened;
mod planner;
mod report;
mod sandbox;
mod task;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use st_checkpoint::CheckpointStore;
use st_job::{ConfigErrors, JobConfig};
use st_runtime::{CancelToken, Runtime};
use tokio::task::JoinSet;

use master::Outcome;
use master::coordinator::now_ms;
use master::job_state::{Ending, JobInput, JobState};
/// Job and pipeline states and their transitions, one file per state.
pub use master::{job_state, pipeline_state};
pub use opened::PreparedJob;
pub use planner::Planned;
pub use report::{JobReport, PluginLoad};
pub use st_plan::{
    Command, Event, Failure, FailureKind, JobEvent, JobId, JobPlan, JobStatus, PipelineStatus,
    RetryHint, TaskId, TaskMetrics, TaskRole,
};
pub use task::{Commands, Events, LocalLauncher, TaskHandle, TaskLauncher, TaskStart, spawn_task};

/// Rows a reader is asked for per poll.
pub const BATCH_ROWS: u32 = 8192;

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job config is wrong; nothing ran.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// A task failed while the job ran (after the retries its failure allowed).
    #[error("job {job_id} failed: {failure}{}", origin(failure))]
    Failed { job_id: JobId, failure: Failure },
    /// A savepoint was taken and the job stopped; `st run --resume JOB_ID` continues it.
    #[error(
        "job {job_id} stopped at a savepoint; resume it with `st run --resume {job_id} JOB.conf`"
    )]
    Savepointed {
        job_id: JobId,
        report: Box<JobReport>,
    },
    /// `--resume` of a job that already finished: nothing ran (running it again would write its
    /// data twice).
    #[error("job {job_id} already finished{}; nothing to resume", finished_at(*finished_at_ms))]
    AlreadyFinished { job_id: JobId, finished_at_ms: u64 },
}

/// ` (pipeline 0 subtask 1, attempt 4)`: where a failure happened, or nothing.
fn origin(f: &Failure) -> String {
    let Some(t) = f.task else {
        return String::new();
    };
    let role = match t.role {
        TaskRole::Enumerator { .. } => "enumerator".to_string(),
        TaskRole::Subtask { index } => format!("subtask {index}"),
        TaskRole::Committer { .. } => "committer".to_string(),
    };
    format!(
        " (pipeline {} {role}, attempt {})",
        t.pipeline,
        t.attempt + 1
    )
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

impl CheckpointConfig {
    /// The settings of an engine config, with `store` as the store.
    pub fn from_config(
        c: &st_conf::EngineConfig,
        store: Option<st_checkpoint::open::Opened>,
    ) -> CheckpointConfig {
        CheckpointConfig {
            interval_ms: c.checkpoint.interval,
            timeout_ms: c.checkpoint.timeout,
            max_retained: c.checkpoint.storage.max_retained as usize,
            store,
        }
    }
}

impl Default for CheckpointConfig {
    /// The shipped engine config's, with checkpoints kept in memory only.
    fn default() -> Self {
        CheckpointConfig::from_config(&st_conf::EngineConfig::default(), None)
    }
}

/// What one run of a job needs besides its plan: its checkpoint store, whether it resumes, and
/// the switches that cancel it and ask for a savepoint.
#[derive(Debug, Clone)]
pub(crate) struct JobControl {
    pub store: Option<CheckpointStore>,
    pub resume: bool,
    /// Checkpoints kept per pipeline.
    pub max_retained: usize,
    pub cancel: CancelToken,
    pub savepoint: CancelToken,
    pub events: tokio::sync::broadcast::Sender<JobEvent>,
}

impl JobControl {
    /// Tells the job's listeners (there may be none).
    pub(crate) fn emit(&self, event: JobEvent) {
        tracing::debug!("{event}");
        let _ = self.events.send(event);
    }
}

/// What starts a job's tasks, made once the job is opened (a cluster's launcher).
type Place<'a> = Box<dyn FnOnce(&Arc<PreparedJob>) -> Arc<dyn TaskLauncher> + Send + 'a>;

/// Plans and runs jobs on a shared runtime.
#[derive(Debug, Clone)]
pub struct Engine {
    runtime: Arc<Runtime>,
    checkpoints: CheckpointConfig,
    unknown_options: st_job::UnknownOptions,
}

/// Why an engine cannot start from its config.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start the wasm runtime: {0}")]
    Runtime(String),
    #[error("{file}: checkpoint storage: {message}")]
    Storage { file: String, message: String },
}

impl Engine {
    /// The whole engine from its config: the runtime (with `plugins` registered by name), the
    /// checkpoint store (its jobs kept under `cluster`) and the checkpoint settings. `st` and
    /// `st-node` both start here.
    pub fn from_config(
        conf: &st_conf::EngineConfig,
        cluster: &str,
        plugins: impl IntoIterator<Item = (&'static str, st_core::PluginKind, &'static [u8])>,
    ) -> Result<Engine, StartError> {
        let rt = Runtime::new(st_runtime::RuntimeConfig::from(conf))
            .map_err(|e| StartError::Runtime(e.to_string()))?;
        for (name, kind, wasm) in plugins {
            rt.register(name, kind, st_runtime::PluginSource::Builtin(wasm));
        }
        let storage = &conf.checkpoint.storage;
        let store =
            st_checkpoint::open::open(&storage.storage_type, &storage.plugin_config, cluster)
                .map_err(|e| StartError::Storage {
                    file: conf.source.clone(),
                    message: e.to_string(),
                })?;
        Ok(Engine::new(Arc::new(rt))
            .with_checkpoints(CheckpointConfig::from_config(conf, Some(store)))
            .with_unknown_options(conf.unknown_options))
    }

    pub fn new(runtime: Arc<Runtime>) -> Engine {
        Engine {
            runtime,
            checkpoints: CheckpointConfig::default(),
            unknown_options: st_job::UnknownOptions::default(),
        }
    }

    /// Whether an option a plugin does not declare is a warning (SeaTunnel ignores them) or an
    /// error.
    pub fn with_unknown_options(mut self, unknown: st_job::UnknownOptions) -> Engine {
        self.unknown_options = unknown;
        self
    }

    /// Sets where and how often checkpoints are taken.
    pub fn with_checkpoints(mut self, checkpoints: CheckpointConfig) -> Engine {
        self.checkpoints = checkpoints;
        self
    }

    fn store(&self, job_id: JobId) -> Option<CheckpointStore> {
        self.checkpoints
            .store
            .as_ref()
            .map(|o| CheckpointStore::new(o.store.clone(), &format!("{}/{job_id}", o.prefix)))
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The directory checkpoints go to, when the checkpoint store is a local filesystem.
    pub fn local_checkpoint_dir(&self) -> Option<&std::path::Path> {
        self.checkpoints.store.as_ref()?.local_root.as_deref()
    }

    /// Plans `job` and opens the plan on this node: every problem of the config is reported at
    /// once, as config errors with their lines.
    pub async fn prepare(&self, job: &JobConfig, job_id: JobId) -> Result<PreparedJob, JobError> {
        let planned = self.plan(job, job_id).await?;
        let mut prepared = self
            .open(planned.plan.clone())
            .await
            .map_err(|failure| JobError::Failed { job_id, failure })?;
        prepared.loads = planned.loads;
        drop(planned.plugins);
        Ok(prepared)
    }

    /// Runs a prepared job to the end (or to a savepoint).
    pub async fn run(&self, job: PreparedJob) -> Result<JobReport, JobError> {
        self.run_job(job, false, None).await
    }

    /// Runs a job from its latest checkpoint or savepoint (SeaTunnel's `-r`); the prepared
    /// job must carry the id of the run it continues.
    pub async fn resume(&self, job: PreparedJob) -> Result<JobReport, JobError> {
        self.run_job(job, true, None).await
    }

    /// Runs a prepared job whose tasks `place` starts (a cluster's launcher, placing them on
    /// its nodes), rather than in this process; from its latest checkpoint or savepoint with
    /// `resume`. The job master stays here.
    pub async fn run_placed(
        &self,
        job: PreparedJob,
        resume: bool,
        place: impl FnOnce(&Arc<PreparedJob>) -> Arc<dyn TaskLauncher> + Send,
    ) -> Result<JobReport, JobError> {
        self.run_job(job, resume, Some(Box::new(place))).await
    }

    async fn run_job(
        &self,
        job: PreparedJob,
        resume: bool,
        place: Option<Place<'_>>,
    ) -> Result<JobReport, JobError> {
        let started = SystemTime::now();
        let clock = Instant::now();
        let job = Arc::new(job);
        let job_id = job.plan.job_id;
        let control = JobControl {
            store: self.store(job_id),
            resume,
            max_retained: self.checkpoints.max_retained,
            cancel: job.cancel.clone(),
            savepoint: job.savepoint.clone(),
            events: job.events.clone(),
        };
        let mut state = JobState::new(now_ms());
        let apply = |state: &mut JobState, input| {
            if let Some(status) = state.apply(input, now_ms()) {
                control.emit(JobEvent::Job {
                    status,
                    at_ms: now_ms(),
                });
            }
        };
        let failed = |failure| JobError::Failed { job_id, failure };
        if resume
            && let Some(store) = &control.store
            && let Some(done) = store
                .finished()
                .await
                .map_err(|e| failed(Failure::new(FailureKind::Storage, e.to_string())))?
        {
            return Err(JobError::AlreadyFinished {
                job_id,
                finished_at_ms: done.finished_at_ms,
            });
        }
        let launcher: Arc<dyn TaskLauncher> = match place {
            Some(place) => place(&job),
            None => Arc::new(LocalLauncher::new(self.runtime.clone(), job.clone())),
        };
        // Local mode has every slot it needs at once; a cluster reserved them before.
        apply(&mut state, JobInput::Scheduled);
        let mut pipelines = JoinSet::new();
        for p in 0..job.plan.pipelines.len() {
            let (job, control, launcher) = (job.clone(), control.clone(), launcher.clone());
            pipelines.spawn(async move {
                master::run_pipeline(&job.plan, p, launcher.as_ref(), &control).await
            });
        }
        apply(&mut state, JobInput::Deployed);
        let mut report = JobReport::new(&job_id.to_string(), &job.plan.job_name, started);
        report.loads = job
            .loads
            .iter()
            .map(|(path, from, took)| PluginLoad {
                path: path.clone(),
                from: from.to_string(),
                took: *took,
            })
            .collect();
        let mut ending = Ending::Finished;
        let mut failure = None;
        let mut watch = tokio::time::interval(master::coordinator::TICK);
        while !pipelines.is_empty() {
            let res = tokio::select! {
                res = pipelines.join_next() => res,
                _ = watch.tick() => {
                    if job.savepoint.is_cancelled() {
                        apply(&mut state, JobInput::SavepointRequested);
                    }
                    if job.cancel.is_cancelled() && failure.is_none() {
                        apply(&mut state, JobInput::CancelRequested);
                    }
                    continue;
                }
            };
            let Some(res) = res else { break };
            let f = match res {
                Ok(Ok(Outcome::Finished(metrics))) => {
                    report.add(&metrics);
                    continue;
                }
                Ok(Ok(Outcome::Savepointed(metrics))) => {
                    report.add(&metrics);
                    ending = ending.max(Ending::Savepointed);
                    continue;
                }
                Ok(Err(f)) => f,
                Err(e) => Failure::new(FailureKind::Host, format!("a pipeline stopped: {e}")),
            };
            if failure.is_none() {
                if f.is_cancel() {
                    apply(&mut state, JobInput::CancelRequested);
                    ending = ending.max(Ending::Cancelled);
                } else {
                    apply(&mut state, JobInput::PipelineFailed);
                    ending = Ending::Failed;
                }
                // The other pipelines stop too: their tasks see the cancel.
                job.cancel.cancel();
                failure = Some(f);
            }
        }
        apply(&mut state, JobInput::Ended(ending));
        report.status = state.status;
        if let Some(f) = failure {
            return Err(failed(f));
        }
        report.duration = clock.elapsed();
        let savepointed = ending == Ending::Savepointed;
        if savepointed {
            return Err(JobError::Savepointed {
                job_id,
                report: Box::new(report),
            });
        }
        // A finished job has nothing to resume: it is marked finished (first, so a crash in
        // between cannot make a later `--resume` run it again) and its checkpoints go.
        if let Some(store) = &control.store {
            let finished = st_checkpoint::Finished {
                finished_at_ms: now_ms(),
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
            && let Ok(entries) = std::fs::read_dir(root.join(&o.prefix).join(job_id.to_string()))
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
