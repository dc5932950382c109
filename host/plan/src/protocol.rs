//! The messages between a pipeline's coordinator and its tasks: enumerators, fused subtasks
//! and committers. Each task has one ordered channel of [`Command`]s from the coordinator and
//! sends [`Event`]s back, each carrying its [`TaskId`]; nothing else is shared, so a task may
//! run in this process or on another machine.
//!
//! Splits go from an enumerator to the coordinator ([`Event::Splits`]), which hands each one to
//! its reader's subtask ([`Command::AssignSplits`]) on the channel barriers also take. An
//! enumerator acknowledges a barrier only after every assignment it made before it, so a split
//! is in the enumerator's snapshot or ahead of the barrier in a reader's channel, never both.

use serde::{Deserialize, Serialize};
use st_checkpoint::{CheckpointId, Kind, TaskSnapshot};

use crate::{Failure, TaskId};

/// A split in transit: opaque bytes owned by its plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitMsg {
    pub id: String,
    pub data: Vec<u8>,
}

/// Coordinator → task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Enumerator: readers want splits; answer with [`Event::Splits`] (even when empty).
    RequestSplits,
    /// Subtask: new splits for its reader of source vertex `source`.
    AssignSplits { source: u32, splits: Vec<SplitMsg> },
    /// Subtask: that reader gets no more splits.
    NoMoreSplits { source: u32 },
    /// Enumerator and subtask: a checkpoint barrier. A subtask snapshots every plugin between
    /// two batches (writers prepare their commit); an enumerator snapshots its state. Both
    /// acknowledge. After a savepoint barrier a subtask reads nothing more.
    Barrier { id: CheckpointId, kind: Kind },
    /// Committer: commit these infos of checkpoint `id` (idempotently) and answer
    /// [`Event::Committed`].
    Commit {
        id: CheckpointId,
        infos: Vec<Vec<u8>>,
    },
    /// Enumerator and subtask: checkpoint `id` is durable and committed.
    CheckpointComplete { id: CheckpointId },
    /// The pipeline is done (after its final checkpoint or a savepoint): close and report
    /// [`Event::Finished`].
    Finish,
    /// Stop now; nothing more will be committed.
    Cancel,
}

/// Task → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The enumerator's answer to [`Command::RequestSplits`]: (reader index, split) pairs, and
    /// whether it will hand out no more.
    Splits {
        task: TaskId,
        assignments: Vec<(u32, SplitMsg)>,
        no_more: bool,
    },
    /// The task took its part of checkpoint `id`.
    Ack {
        task: TaskId,
        id: CheckpointId,
        snapshot: TaskSnapshot,
    },
    /// The committer committed checkpoint `id`.
    Committed {
        task: TaskId,
        id: CheckpointId,
    },
    /// Every reader of the subtask ran dry (BATCH); it waits for the final barrier.
    Drained {
        task: TaskId,
    },
    /// A writer of the subtask neared its memory cap: it is replaced at the next checkpoint,
    /// which the subtask waits for without reading.
    WantCheckpoint {
        task: TaskId,
    },
    /// What the task moved so far (sent every second while it runs).
    Metrics {
        task: TaskId,
        metrics: TaskMetrics,
    },
    /// The task closed after [`Command::Finish`].
    Finished {
        task: TaskId,
        metrics: TaskMetrics,
    },
    Failed {
        task: TaskId,
        failure: Failure,
    },
}

impl Event {
    /// The task that sent it.
    pub fn task(&self) -> &TaskId {
        match self {
            Event::Splits { task, .. }
            | Event::Ack { task, .. }
            | Event::Committed { task, .. }
            | Event::Drained { task }
            | Event::WantCheckpoint { task }
            | Event::Metrics { task, .. }
            | Event::Finished { task, .. }
            | Event::Failed { task, .. } => task,
        }
    }
}

/// What one task moved: counters that only grow while it runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskMetrics {
    /// (table path, rows) read by this subtask's readers.
    pub rows_read: Vec<(String, u64)>,
    /// (table path, rows) written by this subtask's writers.
    pub rows_written: Vec<(String, u64)>,
    pub bytes_read: u64,
    #[serde(default)]
    pub bytes_written: u64,
    pub peak_guest_memory: u64,
    /// (instance label, peak linear memory in bytes) of every instance the task ran.
    #[serde(default)]
    pub peak_memory: Vec<(String, u64)>,
    /// Instances recycled from their state because they neared their memory cap.
    #[serde(default)]
    pub recycled: u64,
    /// Batches a reader read on its own thread while the chain worked.
    #[serde(default)]
    pub read_ahead: u64,
}

impl TaskMetrics {
    /// Adds another task's (or attempt's) figures.
    pub fn merge(&mut self, m: TaskMetrics) {
        self.rows_read.extend(m.rows_read);
        self.rows_written.extend(m.rows_written);
        self.bytes_read += m.bytes_read;
        self.bytes_written += m.bytes_written;
        self.peak_guest_memory = self.peak_guest_memory.max(m.peak_guest_memory);
        self.peak_memory.extend(m.peak_memory);
        self.recycled += m.recycled;
        self.read_ahead += m.read_ahead;
    }

    pub fn total_read(&self) -> u64 {
        self.rows_read.iter().map(|(_, n)| n).sum()
    }

    pub fn total_written(&self) -> u64 {
        self.rows_written.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FailureKind, JobId, TaskRole};

    #[test]
    fn messages_round_trip_through_json() {
        let task = TaskId {
            job: JobId::from(1),
            pipeline: 0,
            role: TaskRole::Subtask { index: 3 },
            attempt: 2,
        };
        for cmd in [
            Command::AssignSplits {
                source: 0,
                splits: vec![SplitMsg {
                    id: "s".into(),
                    data: vec![1, 2],
                }],
            },
            Command::Commit {
                id: 4,
                infos: vec![vec![9]],
            },
        ] {
            let back: Command =
                serde_json::from_str(&serde_json::to_string(&cmd).unwrap()).unwrap();
            assert_eq!(back, cmd);
        }
        let ev = Event::Failed {
            task,
            failure: Failure::new(FailureKind::Fatal, "boom").from_task(task),
        };
        let back: Event = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
        assert_eq!(back.task(), &task);
    }
}
