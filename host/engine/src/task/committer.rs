//! The committer of one sink: it commits the infos of durable checkpoints (idempotently, so a
//! commit repeated after a restore is harmless) and closes when the pipeline finishes. It lives
//! across the pipeline's restarts, so what it accumulates (Assert's counts) covers the whole job;
//! an error its plugin reports fails the attempt but not the committer. Only a crash ends it.

use std::time::Duration;

use st_plan::{Command, Event, Failure, FailureKind, TaskId, TaskMetrics, TaskRole};
use st_runtime::{Runtime, SinkCommitterInstance};

use super::enumerator::unexpected;
use super::{Commands, Events, failure};
use crate::PreparedJob;

/// How many times the infos a committer hands back are committed again.
const COMMIT_ATTEMPTS: u64 = 3;

/// Commits `infos` of checkpoint `id`, committing again what the committer hands back.
async fn commit(
    c: &mut SinkCommitterInstance,
    path: &str,
    id: u64,
    infos: Vec<Vec<u8>>,
) -> Result<(), Failure> {
    let mut pending = infos;
    for attempt in 1..=COMMIT_ATTEMPTS {
        if pending.is_empty() {
            return Ok(());
        }
        pending = c.commit(id, &pending).await.map_err(failure)?;
        if !pending.is_empty() {
            tracing::warn!(
                "{path}: {} commit infos to retry (attempt {attempt})",
                pending.len()
            );
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        FailureKind::Retriable,
        format!(
            "{path}: {} commits of checkpoint {id} still failing after {COMMIT_ATTEMPTS} attempts",
            pending.len()
        ),
    ))
}

pub(super) async fn run(
    rt: &Runtime,
    job: &PreparedJob,
    task: TaskId,
    mut commands: Commands,
    events: &Events,
) -> Result<(), Failure> {
    let TaskRole::Committer { sink } = task.role else {
        unreachable!("launched as a committer");
    };
    let v = job.vertex(sink);
    let par = job.plan.pipelines[task.pipeline as usize].parallelism;
    let mut c = rt
        .sink_committer(
            job.plugin(sink),
            &v.options,
            &job.ctx(sink, 0, par),
            &v.in_tables,
        )
        .await
        .map_err(failure)?;
    while let Some(cmd) = commands.recv().await {
        match cmd {
            Command::Commit { id, infos } => match commit(&mut c, &v.path, id, infos).await {
                Ok(()) => {
                    let _ = events.send(Event::Committed { task, id });
                }
                // The plugin reported the error: its instance is intact and keeps what it
                // has counted, so it stays for the next attempt.
                Err(f) if f.kind.reported_by_plugin() => {
                    let _ = events.send(Event::Failed {
                        task,
                        failure: f.from_task(task),
                    });
                }
                Err(f) => return Err(f),
            },
            Command::Finish => {
                // Everything is committed; a committer refusing to close (an Assert rule broken
                // by the whole job's data) is final, not something a restart could change.
                c.close().await.map_err(|e| {
                    let f = failure(e);
                    Failure::new(f.kind, format!("{}: {}", v.path, f.message)).final_()
                })?;
                let _ = events.send(Event::Finished {
                    task,
                    metrics: TaskMetrics::default(),
                });
                return Ok(());
            }
            Command::Cancel => return Ok(()),
            _ => return Err(unexpected(task, &cmd)),
        }
    }
    Ok(())
}
