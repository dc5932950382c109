//! A pipeline's tasks — an enumerator per source, `parallelism` fused subtasks, a committer per
//! sink — and the one way they are started: a [`TaskLauncher`]. A task hears only the
//! [`Command`]s on its channel and answers only with [`Event`]s, so the coordinator neither
//! knows nor cares whether a task runs in this process ([`LocalLauncher`]) or elsewhere.

mod committer;
mod enumerator;
mod subtask;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use st_checkpoint::TaskSnapshot;
use st_plan::{Command, Event, Failure, FailureKind, TaskId, TaskRole};
use st_runtime::{PluginError, Runtime, RuntimeError};
use tokio::sync::mpsc;

use crate::PreparedJob;

/// The commands a task receives, in order.
pub type Commands = mpsc::UnboundedReceiver<Command>;
/// Where a task sends its events.
pub type Events = mpsc::UnboundedSender<Event>;

/// What a task starts from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TaskStart {
    pub task: TaskId,
    /// Its part of the checkpoint the pipeline restarts from (empty on a fresh start).
    pub restore: TaskSnapshot,
}

/// A started task, as its launcher lets the coordinator stop it and wait for its end.
pub trait TaskHandle: Send + Sync {
    /// Stops the task where it is (a plugin call in progress is abandoned at its next yield).
    fn abort(&self);
    /// Whether it has ended.
    fn is_finished(&self) -> bool;
    /// Resolves once it has ended (at once if it has).
    fn ended(&self) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Starts tasks. A task that cannot start, or fails, says so with [`Event::Failed`].
pub trait TaskLauncher: Send + Sync {
    fn launch(&self, start: TaskStart, commands: Commands, events: Events) -> Box<dyn TaskHandle>;
}

/// Runs tasks on this process's tokio runtime.
pub struct LocalLauncher {
    rt: Arc<Runtime>,
    job: Arc<PreparedJob>,
}

impl LocalLauncher {
    pub fn new(rt: Arc<Runtime>, job: Arc<PreparedJob>) -> LocalLauncher {
        LocalLauncher { rt, job }
    }
}

struct Local {
    abort: tokio::task::AbortHandle,
    /// Becomes true when the task's future is gone: finished, failed or aborted.
    ended: tokio::sync::watch::Receiver<bool>,
}

/// Says the task ended when dropped with its future, however it ends.
struct EndGuard(tokio::sync::watch::Sender<bool>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

impl TaskHandle for Local {
    fn abort(&self) {
        self.abort.abort();
    }

    fn is_finished(&self) -> bool {
        *self.ended.borrow() || self.abort.is_finished()
    }

    fn ended(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut ended = self.ended.clone();
        // (A closed channel means the guard is gone too.)
        Box::pin(async move {
            let _ = ended.wait_for(|e| *e).await;
        })
    }
}

/// Runs `task` on this runtime as a started task: the handle aborts it and tells its end,
/// however it ends. Launchers of every kind start their tasks' local halves through it.
pub fn spawn_task(task: impl Future<Output = ()> + Send + 'static) -> Box<dyn TaskHandle> {
    let (tx, ended) = tokio::sync::watch::channel(false);
    let guard = EndGuard(tx);
    let handle = tokio::spawn(async move {
        let _guard = guard;
        task.await;
    });
    Box::new(Local {
        abort: handle.abort_handle(),
        ended,
    })
}

impl TaskLauncher for LocalLauncher {
    fn launch(&self, start: TaskStart, commands: Commands, events: Events) -> Box<dyn TaskHandle> {
        let (rt, job) = (self.rt.clone(), self.job.clone());
        spawn_task(async move {
            let task = start.task;
            let result = match task.role {
                TaskRole::Enumerator { .. } => {
                    enumerator::run(&rt, &job, task, start.restore, commands, &events).await
                }
                TaskRole::Subtask { .. } => {
                    subtask::run(&rt, &job, task, commands, &events, start.restore)
                        .await
                        .map_err(failure)
                }
                TaskRole::Committer { .. } => {
                    committer::run(&rt, &job, task, commands, &events).await
                }
            };
            if let Err(f) = result {
                tracing::debug!("{task} failed: {f}");
                let _ = events.send(Event::Failed {
                    task,
                    failure: f.from_task(task),
                });
            }
        })
    }
}

/// A runtime error as a failure, with the hint its kind gives: a plugin's fatal error, a broken
/// contract, a refused option, a plugin that cannot load or a cancel fail the job; a crash, a
/// retriable error or a host error restart the pipeline.
pub(crate) fn failure(e: RuntimeError) -> Failure {
    let kind = match &e {
        RuntimeError::Trap { .. } => FailureKind::Crash,
        RuntimeError::Plugin { error, .. } => match error {
            PluginError::Retriable(_) => FailureKind::Retriable,
            PluginError::Fatal(_) => FailureKind::Fatal,
            PluginError::InvalidOption { .. } => FailureKind::InvalidOption,
        },
        RuntimeError::Contract { .. } => FailureKind::Contract,
        RuntimeError::Cancelled { .. } => FailureKind::Cancelled,
        RuntimeError::Load { .. } | RuntimeError::UnknownPlugin { .. } => FailureKind::Load,
        RuntimeError::Host(_) => FailureKind::Host,
    };
    Failure::new(kind, e.to_string())
}
