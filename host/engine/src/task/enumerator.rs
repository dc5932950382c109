//! The split enumerator of one source: it hands out splits when the coordinator asks, and puts
//! its state into checkpoints. It answers commands in order, so every assignment it made before
//! a barrier reaches the coordinator ahead of its acknowledgement.

use st_checkpoint::TaskSnapshot;
use st_plan::{Command, Event, Failure, SplitMsg, TaskId, TaskMetrics, TaskRole};
use st_runtime::Runtime;

use super::{Commands, Events, failure};
use crate::PreparedJob;

pub(super) async fn run(
    rt: &Runtime,
    job: &PreparedJob,
    task: TaskId,
    restore: TaskSnapshot,
    mut commands: Commands,
    events: &Events,
) -> Result<(), Failure> {
    let TaskRole::Enumerator { source } = task.role else {
        unreachable!("launched as an enumerator");
    };
    let v = job.vertex(source);
    let par = job.plan.pipelines[task.pipeline as usize].parallelism;
    let state = restore.states.get(&v.path).and_then(|s| s.first().cloned());
    let mut e = rt
        .enumerator(
            job.plugin(source),
            &v.options,
            &job.ctx(source, 0, par),
            state,
        )
        .await
        .map_err(failure)?;
    while let Some(cmd) = commands.recv().await {
        match cmd {
            Command::RequestSplits => {
                let step = e.enumerate().await.map_err(failure)?;
                let assignments = step
                    .assignments
                    .into_iter()
                    .map(|(reader, s)| {
                        (
                            reader,
                            SplitMsg {
                                id: s.id,
                                data: s.data,
                            },
                        )
                    })
                    .collect();
                let _ = events.send(Event::Splits {
                    task,
                    assignments,
                    no_more: step.no_more_splits,
                });
            }
            Command::Barrier { id, .. } => {
                let state = e.snapshot_state(id).await.map_err(failure)?;
                let mut snapshot = TaskSnapshot::default();
                snapshot.states.insert(v.path.clone(), vec![state]);
                let _ = events.send(Event::Ack { task, id, snapshot });
            }
            Command::CheckpointComplete { id } => {
                e.notify_checkpoint_complete(id).await.map_err(failure)?;
            }
            Command::Finish => {
                let _ = events.send(Event::Finished {
                    task,
                    metrics: TaskMetrics::default(),
                });
                return Ok(());
            }
            Command::Cancel => return Ok(()),
            Command::AssignSplits { .. }
            | Command::NoMoreSplits { .. }
            | Command::Commit { .. } => {
                return Err(unexpected(task, &cmd));
            }
        }
    }
    Ok(())
}

/// A command this kind of task has no use for: the coordinator is confused.
pub(super) fn unexpected(task: TaskId, cmd: &Command) -> Failure {
    Failure::new(
        st_plan::FailureKind::Host,
        format!("{task} received a command it does not take: {cmd:?}"),
    )
}
