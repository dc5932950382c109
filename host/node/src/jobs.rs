//! The node's engine as the cluster's [`JobHost`]: plans submitted configs with the plugins
//! this node has, and runs their plans.

use std::collections::HashMap;

use st_cluster::jobs::{Ended, JobHost, PlanError, Stop, Submission, Update, job_name};
use st_engine::{Engine, JobError, JobEvent, JobId, JobPlan, JobStatus};
use tokio::sync::{mpsc, watch};

pub struct EngineHost {
    pub engine: Engine,
}

#[tonic::async_trait]
impl JobHost for EngineHost {
    async fn plan(&self, s: &Submission, job_id: JobId) -> Result<JobPlan, PlanError> {
        // The client filled the variables in; the node's environment is not the job's.
        let no_env = |_: &str| None;
        let job = st_job::load_str(&s.file, &s.config, &HashMap::new(), &no_env)
            .map_err(|e| PlanError::Config(e.to_string()))?;
        let mut plan = match self.engine.plan(&job, job_id).await {
            Ok(planned) => planned.plan,
            Err(JobError::Invalid(errors)) => return Err(PlanError::Config(errors.to_string())),
            Err(e) => return Err(PlanError::Other(e.to_string())),
        };
        plan.job_name = job_name(s.job_name.as_deref(), Some(job.env.job_name.as_str()));
        Ok(plan)
    }

    async fn run(
        &self,
        plan: JobPlan,
        mut stop: watch::Receiver<Stop>,
        updates: mpsc::UnboundedSender<Update>,
    ) -> Ended {
        let job_id = plan.job_id;
        let prepared = match self.engine.open(plan).await {
            Ok(p) => p,
            Err(f) => {
                return Ended {
                    status: JobStatus::Failed,
                    error: Some(f.to_string()),
                };
            }
        };
        let (cancel, savepoint) = (prepared.cancel_token(), prepared.savepoint_token());
        let mut events = prepared.events();
        let mut forward = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(JobEvent::Job { status, .. }) => {
                        let _ = updates.send(Update::Job(status));
                    }
                    Ok(JobEvent::Pipeline {
                        pipeline, status, ..
                    }) => {
                        let _ = updates.send(Update::Pipeline(pipeline, status));
                    }
                    Ok(other) => tracing::info!("job {job_id}: {other}"),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("job {job_id}: {n} events not recorded (too many at once)");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        let watch_stop = tokio::spawn(async move {
            while stop.changed().await.is_ok() {
                match *stop.borrow() {
                    Stop::Cancel => cancel.cancel(),
                    Stop::Savepoint => savepoint.cancel(),
                    Stop::Run => {}
                }
            }
        });
        let result = self.engine.run(prepared).await;
        watch_stop.abort();
        // The job's event channel closes with the job: every state change is forwarded.
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut forward)
            .await
            .is_err()
        {
            forward.abort();
            tracing::debug!("job {job_id}: its event channel did not close");
        }
        match result {
            Ok(report) => Ended {
                status: report.status,
                error: None,
            },
            Err(JobError::Savepointed { .. }) => Ended {
                status: JobStatus::SavepointDone,
                error: None,
            },
            Err(JobError::Failed { failure, .. }) if failure.is_cancel() => Ended {
                status: JobStatus::Canceled,
                error: Some(failure.to_string()),
            },
            Err(e) => Ended {
                status: JobStatus::Failed,
                error: Some(e.to_string()),
            },
        }
    }
}
