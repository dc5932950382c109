//! What a running job tells those who watch it: state changes, completed checkpoints, restarts
//! and its running totals. Events are data, so a cluster node streams them to a client as they
//! are, and the job-state map keeps the state changes as the job's history.

use std::fmt;

use serde::{Deserialize, Serialize};
use st_checkpoint::{CheckpointId, Kind};

use crate::{JobStatus, PipelineStatus, TaskMetrics};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobEvent {
    /// The job entered `status` at `at_ms` (milliseconds since the epoch).
    Job { status: JobStatus, at_ms: u64 },
    /// A pipeline entered `status`.
    Pipeline {
        pipeline: u32,
        status: PipelineStatus,
        at_ms: u64,
    },
    /// A checkpoint is durable and committed.
    CheckpointCompleted {
        pipeline: u32,
        id: CheckpointId,
        kind: Kind,
        /// From its trigger to its last commit.
        duration_ms: u64,
        /// The bytes of its task states and commit infos.
        #[serde(default)]
        size_bytes: u64,
        /// How many tasks acked it (all of the pipeline's, as it completed).
        #[serde(default)]
        tasks: u32,
    },
    /// A pipeline failed and starts again: attempt `attempt` (1 for the first restart), from
    /// `from_checkpoint` (none: from the start).
    Restarted {
        pipeline: u32,
        attempt: u32,
        from_checkpoint: Option<CheckpointId>,
        error: String,
    },
    /// A pipeline's totals so far (sent about once a second while it runs).
    Progress { pipeline: u32, metrics: TaskMetrics },
}

impl fmt::Display for JobEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobEvent::Job { status, .. } => write!(f, "job {status}"),
            JobEvent::Pipeline {
                pipeline, status, ..
            } => write!(f, "pipeline {pipeline} {status}"),
            JobEvent::CheckpointCompleted {
                pipeline,
                id,
                kind,
                duration_ms,
                ..
            } => {
                let what = match kind {
                    Kind::Periodic => "checkpoint",
                    Kind::Savepoint => "savepoint",
                    Kind::Final => "final checkpoint",
                };
                write!(
                    f,
                    "pipeline {pipeline}: {what} {id} completed in {duration_ms} ms"
                )
            }
            JobEvent::Restarted {
                pipeline,
                attempt,
                from_checkpoint,
                error,
            } => {
                write!(f, "pipeline {pipeline} restarted ")?;
                match from_checkpoint {
                    Some(id) => write!(f, "from checkpoint {id}")?,
                    None => write!(f, "from the start")?,
                }
                write!(f, " (attempt {}) after: {error}", attempt + 1)
            }
            JobEvent::Progress { pipeline, metrics } => write!(
                f,
                "pipeline {pipeline}: {} rows read, {} written",
                metrics.total_read(),
                metrics.total_written()
            ),
        }
    }
}
