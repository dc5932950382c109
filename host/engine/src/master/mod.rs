//! The job master's side of a pipeline: its committers, which live across restarts, and its
//! attempts, each driven by a [`coordinator::Coordinator`]. A failed attempt restarts from the
//! latest durable checkpoint while its failure says a restart may help and retries are left
//! (`job.retry.times`); otherwise the pipeline fails with the last attempt's failure.

pub(crate) mod coordinator;
pub mod job_state;
pub mod pipeline_state;
#[cfg(test)]
mod tests;

use std::time::Duration;

use st_checkpoint::RestorePlan;
use st_plan::{
    Attempt, Command, Event, Failure, FailureKind, JobEvent, JobPlan, PipelinePlan, TaskId,
    TaskMetrics, TaskRole,
};
use tokio::sync::mpsc;

use crate::JobControl;
use crate::task::{TaskHandle, TaskLauncher, TaskStart};
use coordinator::now_ms;
use pipeline_state::{PipelineInput, PipelineState};

/// How a pipeline ended, when it did not fail.
#[derive(Debug)]
pub(crate) enum Outcome {
    Finished(TaskMetrics),
    /// A savepoint was taken; the pipeline can be resumed from it.
    Savepointed(TaskMetrics),
}

/// A launched task, as the coordinator reaches it.
pub(crate) struct Live {
    pub task: TaskId,
    pub commands: mpsc::UnboundedSender<Command>,
    pub handle: Box<dyn TaskHandle>,
}

/// A pipeline's state, told to the job's listeners as it changes.
pub(crate) struct Status<'a> {
    state: PipelineState,
    pipeline: u32,
    control: &'a JobControl,
}

impl Status<'_> {
    pub(crate) fn apply(&mut self, input: PipelineInput) {
        if let Some(status) = self.state.apply(input, now_ms()) {
            self.control.emit(JobEvent::Pipeline {
                pipeline: self.pipeline,
                status,
                at_ms: now_ms(),
            });
        }
    }
}

/// What launches a pipeline's tasks, its committers, and its state.
pub(crate) struct Tasks<'a> {
    launcher: &'a dyn TaskLauncher,
    events: mpsc::UnboundedSender<Event>,
    pub committers: Vec<Live>,
    pub status: Status<'a>,
}

impl Tasks<'_> {
    pub(crate) fn launch(&self, task: TaskId, restore: st_checkpoint::TaskSnapshot) -> Live {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = self
            .launcher
            .launch(TaskStart { task, restore }, rx, self.events.clone());
        Live {
            task,
            commands: tx,
            handle,
        }
    }

    /// Launches a committer for each sink that has none running (all of them at first; one
    /// that failed after a restart).
    fn ensure_committers(&mut self, plan: &JobPlan, pipeline: &PipelinePlan, attempt: Attempt) {
        self.committers.retain(|c| !c.handle.is_finished());
        for &sink in &pipeline.sinks {
            let role = TaskRole::Committer { sink };
            if self.committers.iter().any(|c| c.task.role == role) {
                continue;
            }
            let task = TaskId {
                job: plan.job_id,
                pipeline: pipeline.id,
                role,
                attempt,
            };
            let live = self.launch(task, st_checkpoint::TaskSnapshot::default());
            self.committers.push(live);
        }
    }

    /// Closes the committers after the pipeline finished: an error here (an Assert rule the
    /// whole job's data broke) fails the job.
    async fn close_committers(
        &mut self,
        events: &mut mpsc::UnboundedReceiver<Event>,
    ) -> Result<(), Failure> {
        for c in &self.committers {
            let _ = c.commands.send(Command::Finish);
        }
        let mut waiting: Vec<TaskId> = self.committers.iter().map(|c| c.task).collect();
        while !waiting.is_empty() {
            let Some(ev) = events.recv().await else {
                break;
            };
            if !waiting.contains(ev.task()) {
                continue;
            }
            match ev {
                Event::Finished { task, .. } => waiting.retain(|t| *t != task),
                Event::Failed { failure, .. } => return Err(failure),
                _ => {}
            }
        }
        Ok(())
    }

    /// Waits (a little) for a task that reported a crash to end.
    async fn wait_for_end(&self, task: TaskId) {
        if let Some(c) = self.committers.iter().find(|c| c.task == task) {
            let _ = tokio::time::timeout(Duration::from_secs(5), c.handle.ended()).await;
        }
    }

    fn stop_committers(&mut self) {
        for c in self.committers.drain(..) {
            let _ = c.commands.send(Command::Cancel);
            c.handle.abort();
        }
    }
}

/// Fits a checkpoint taken at another parallelism: the readers' splits of subtasks the job no
/// longer runs go to subtask `index % parallelism` (a higher parallelism needs nothing: the new
/// subtasks start with no splits).
pub(crate) fn rescale(plan: &mut RestorePlan, job: &JobPlan, pipeline: &PipelinePlan) {
    let par = pipeline.parallelism.max(1);
    let sources: Vec<String> = pipeline
        .sources
        .iter()
        .map(|&s| job.vertex(s).path.clone())
        .collect();
    let gone: Vec<u32> = plan
        .tasks
        .keys()
        .filter_map(|k| match TaskRole::from_key(k) {
            Some(TaskRole::Subtask { index }) if index >= par => Some(index),
            _ => None,
        })
        .collect();
    for i in gone {
        let from = TaskRole::Subtask { index: i }.key();
        let into = TaskRole::Subtask { index: i % par }.key();
        plan.fold(&from, &into, &sources);
    }
}

/// How long a resumed pipeline keeps trying to read its latest checkpoint before it fails.
const RESTORE_PATIENCE: Duration = Duration::from_secs(30);

/// Runs pipeline `p` of `plan`, its tasks started by `launcher`, restarting it from its
/// latest checkpoint after a failure that a restart may mend.
pub(crate) async fn run_pipeline(
    plan: &JobPlan,
    p: usize,
    launcher: &dyn TaskLauncher,
    control: &JobControl,
) -> Result<Outcome, Failure> {
    let pipeline = &plan.pipelines[p];
    let latest = || async {
        match &control.store {
            Some(store) => store
                .latest(pipeline.id)
                .await
                .map_err(|e| Failure::new(FailureKind::Storage, e.to_string())),
            None => Ok(None),
        }
    };
    let mut restore = if control.resume {
        // A master that takes a job over may find the checkpoint store not reachable yet (a
        // store coming back with the cluster): the restore is retried, not the job failed.
        let mut delay = Duration::from_millis(200);
        let deadline = tokio::time::Instant::now() + RESTORE_PATIENCE;
        loop {
            match latest().await {
                Ok(c) => break c.map(|c| c.restore_plan()),
                Err(f) if tokio::time::Instant::now() + delay < deadline => {
                    tracing::warn!(
                        "job {} pipeline {}: reading its latest checkpoint: {f}; retrying in {delay:?}",
                        plan.job_id,
                        pipeline.id
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(f) => return Err(f),
            }
        }
    } else {
        None
    };
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut tasks = Tasks {
        launcher,
        events: tx,
        committers: Vec::new(),
        status: Status {
            state: PipelineState::new(now_ms()),
            pipeline: pipeline.id,
            control,
        },
    };
    tasks.status.apply(PipelineInput::Scheduled);
    let mut attempt: Attempt = 0;
    // Restarts that count against `job.retry.times`: a lost node's do not.
    let mut retries: u32 = 0;
    loop {
        tasks.status.apply(PipelineInput::Deploying);
        tasks.ensure_committers(plan, pipeline, attempt);
        let coordinator = coordinator::Coordinator::new(plan, p, control, attempt, restore.take());
        match coordinator.run(&mut tasks, &mut events).await {
            Ok(outcome) => {
                if let Outcome::Finished(_) = &outcome
                    && let Err(f) = tasks.close_committers(&mut events).await
                {
                    tasks.status.apply(PipelineInput::Failed { restart: false });
                    tasks.status.apply(PipelineInput::Stopped);
                    tasks.stop_committers();
                    return Err(f);
                }
                tasks.status.apply(match outcome {
                    Outcome::Finished(_) => PipelineInput::Finished,
                    Outcome::Savepointed(_) => PipelineInput::Savepointed,
                });
                tasks.stop_committers();
                return Ok(outcome);
            }
            Err(failure) => {
                // A committer that crashed is started again for the next attempt (one whose
                // plugin reported an error goes on).
                if let Some(t) = failure.task
                    && matches!(t.role, TaskRole::Committer { .. })
                    && !failure.kind.reported_by_plugin()
                {
                    tasks.wait_for_end(t).await;
                }
                let cancelled = failure.is_cancel() || control.cancel.is_cancelled();
                let counts = failure.kind != FailureKind::NodeLost;
                let restart =
                    !cancelled && failure.may_restart() && (!counts || retries < plan.retry_times);
                let from = if restart { latest().await } else { Ok(None) };
                let from = match from {
                    Ok(from) if restart => from,
                    Ok(_) | Err(_) => {
                        tasks.status.apply(if cancelled {
                            PipelineInput::CancelRequested
                        } else {
                            PipelineInput::Failed { restart: false }
                        });
                        tasks.status.apply(PipelineInput::Stopped);
                        tasks.stop_committers();
                        return Err(from.err().unwrap_or(failure));
                    }
                };
                tasks.status.apply(PipelineInput::Failed { restart: true });
                attempt += 1;
                retries += u32::from(counts);
                control.emit(JobEvent::Restarted {
                    pipeline: pipeline.id,
                    attempt,
                    from_checkpoint: from.as_ref().map(|c| c.id),
                    error: failure.to_string(),
                });
                restore = from.map(|c| c.restore_plan());
                tokio::time::sleep(Duration::from_millis(plan.retry_interval_ms)).await;
            }
        }
    }
}
