//! Jobs on the cluster. The master plans a submitted config through its node's [`JobHost`]
//! (the engine; this crate knows none), writes the job into the map, runs it and writes each
//! state change as it happens. Any node answers listings from its copy of the map and forwards
//! submits and cancels to the master.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use st_plan::{JobId, JobPlan, JobStatus, PipelineStatus};
use tokio::sync::{mpsc, watch};

use crate::map::{Applied, Command, JobRecord};
use crate::service::Service;

/// A job config as a client submits it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The file's name on the client, for errors.
    pub file: String,
    /// Its text, variables filled in.
    pub config: String,
    pub job_id: Option<JobId>,
    /// `-n`: wins over `env.job.name` unless empty or SeaTunnel's defaults.
    pub job_name: Option<String>,
}

/// Why a submission was not planned.
#[derive(Debug, Clone)]
pub enum PlanError {
    /// The config is wrong (every problem, with file and line).
    Config(String),
    /// Something else (a plugin that does not load on this node).
    Other(String),
}

/// What a running job is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Run,
    Cancel,
    Savepoint,
}

/// A state change of a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    Job(JobStatus),
    Pipeline(u32, PipelineStatus),
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub status: JobStatus,
    pub error: Option<String>,
}

/// What plans and runs jobs on a node: its engine.
#[tonic::async_trait]
pub trait JobHost: Send + Sync + 'static {
    async fn plan(&self, submission: &Submission, job_id: JobId) -> Result<JobPlan, PlanError>;
    /// Runs `plan` to its end, sending its state changes to `updates` and heeding `stop`.
    async fn run(
        &self,
        plan: JobPlan,
        stop: watch::Receiver<Stop>,
        updates: mpsc::UnboundedSender<Update>,
    ) -> Ended;
}

/// The jobs this node's master runs.
#[derive(Clone, Default)]
pub struct Running(Arc<Mutex<HashMap<JobId, watch::Sender<Stop>>>>);

impl Running {
    fn stop(&self, id: JobId, how: Stop) -> bool {
        let map = self.0.lock().expect("running jobs");
        match map.get(&id) {
            Some(tx) => {
                let _ = tx.send(how);
                true
            }
            None => false,
        }
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// SeaTunnel's rule for a job's name: `-n` unless it is empty or one of the CLI's defaults,
/// else `env.job.name`, else `SeaTunnel_Job`.
pub fn job_name(given: Option<&str>, from_env: Option<&str>) -> String {
    let usable = |n: &&str| !n.trim().is_empty() && *n != "SeaTunnel" && *n != "SeaTunnel_Job";
    given
        .filter(usable)
        .or(from_env.filter(|n| !n.trim().is_empty()))
        .unwrap_or("SeaTunnel_Job")
        .to_string()
}

impl Service {
    /// Writes `cmd`, retrying while there is no master or the outcome is unknown: state changes
    /// are idempotent, so a retry of one that did commit is stale and harmless.
    pub(crate) async fn write_retrying(&self, cmd: Command) -> Result<Applied, String> {
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for _ in 0..30 {
            match self.write(cmd.clone()).await {
                Ok(a) => return Ok(a),
                Err(e) => last = e,
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        Err(last)
    }

    /// On the master: plans, records and starts a job; returns its id, name and the
    /// planner's warnings.
    pub(crate) async fn submit_here(
        &self,
        s: Submission,
    ) -> Result<(JobId, String, Vec<String>), PlanError> {
        let Some(host) = self.jobs.clone() else {
            return Err(PlanError::Other(format!(
                "node {} runs no jobs",
                self.identity.address
            )));
        };
        let id = s.job_id.unwrap_or_else(JobId::generate);
        if self.sm.map().jobs.contains_key(&id) {
            return Err(PlanError::Other(format!(
                "job id {id} is taken: a job with this id was submitted already"
            )));
        }
        let plan = host.plan(&s, id).await?;
        let name = plan.job_name.clone();
        let warnings = plan.warnings.clone();
        let now = now_ms();
        let record = JobRecord {
            plan: plan.clone(),
            file: s.file.clone(),
            status: JobStatus::Created,
            history: vec![(JobStatus::Created, now)],
            pipelines: Default::default(),
            submitted_ms: now,
            finished_ms: None,
            error: None,
            master: self.identity.id,
        };
        match self.write(Command::SubmitJob(Box::new(record))).await {
            Ok(Applied::Rejected(why)) => return Err(PlanError::Other(why)),
            Ok(_) => {}
            Err(e) => return Err(PlanError::Other(format!("the job was not recorded: {e}"))),
        }
        tracing::info!("job {id} ({name}) submitted from {}", s.file);
        let (stop, stopped) = watch::channel(Stop::Run);
        self.running
            .0
            .lock()
            .expect("running jobs")
            .insert(id, stop);
        let svc = self.clone();
        tokio::spawn(async move {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let writer = {
                let svc = svc.clone();
                tokio::spawn(async move {
                    while let Some(u) = rx.recv().await {
                        let cmd = match u {
                            Update::Job(status) => Command::JobStatus {
                                job: id,
                                status,
                                at_ms: now_ms(),
                                error: None,
                            },
                            Update::Pipeline(pipeline, status) => Command::PipelineStatus {
                                job: id,
                                pipeline,
                                status,
                            },
                        };
                        if let Err(e) = svc.write_retrying(cmd).await {
                            tracing::warn!("job {id}: a state change was not recorded: {e}");
                        }
                    }
                })
            };
            let ended = host.run(plan, stopped, tx).await;
            let _ = writer.await;
            let cmd = Command::JobStatus {
                job: id,
                status: ended.status,
                at_ms: now_ms(),
                error: ended.error.clone(),
            };
            if let Err(e) = svc.write_retrying(cmd).await {
                tracing::error!("job {id}: its end ({}) was not recorded: {e}", ended.status);
            }
            match &ended.error {
                Some(e) => tracing::info!("job {id} ended {}: {e}", ended.status),
                None => tracing::info!("job {id} ended {}", ended.status),
            }
            svc.running.0.lock().expect("running jobs").remove(&id);
        });
        Ok((id, name, warnings))
    }

    /// On the master: cancels `id`; an error says why it could not be.
    pub(crate) async fn cancel_here(&self, id: JobId) -> Result<(), String> {
        if self.running.stop(id, Stop::Cancel) {
            tracing::info!("job {id}: cancel requested");
            return Ok(());
        }
        let map = self.sm.map();
        let Some(r) = map.jobs.get(&id) else {
            return Err(format!("job {id} not found"));
        };
        if r.status.is_end() {
            return Err(format!("job {id} has ended already ({})", r.status));
        }
        // Recorded but run by no job master here: nothing else can end it.
        self.write_retrying(Command::JobStatus {
            job: id,
            status: JobStatus::Canceled,
            at_ms: now_ms(),
            error: Some("cancelled by the user".into()),
        })
        .await
        .map(|_| ())
    }

    /// On the master, every minute: forgets jobs that ended more than `keep` ago.
    pub(crate) fn expire_history(&self, keep: Duration) {
        let svc = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if !svc.is_master() {
                    continue;
                }
                let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
                let before_ms = now_ms().saturating_sub(keep_ms);
                let map = svc.sm.map();
                let due = map
                    .jobs
                    .values()
                    .any(|r| r.status.is_end() && r.finished_ms.is_some_and(|f| f < before_ms));
                if due && let Err(e) = svc.write(Command::ExpireJobs { before_ms }).await {
                    tracing::debug!("expiring job history: {e}");
                }
            }
        });
    }
}
