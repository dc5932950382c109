//! The messages between a pipeline's coordinator and its subtasks. Tasks are addressed by
//! ids and every message is plain serializable data, so the same protocol can cross a network
//! when tasks run on other nodes.

use serde::{Deserialize, Serialize};
use st_checkpoint::{CheckpointId, Kind, TaskSnapshot};

/// A task's address: pipeline, role and subtask index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskId {
    pub job_id: String,
    pub pipeline: u32,
    pub role: TaskRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskRole {
    Enumerator {
        source: u32,
    },
    /// A fused reader → transforms → writers chain.
    Subtask {
        index: u32,
    },
    Committer {
        sink: u32,
    },
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.role {
            TaskRole::Enumerator { source } => write!(
                f,
                "job {} pipeline {} enumerator of source {source}",
                self.job_id, self.pipeline
            ),
            TaskRole::Subtask { index } => write!(
                f,
                "job {} pipeline {} subtask {index}",
                self.job_id, self.pipeline
            ),
            TaskRole::Committer { sink } => write!(
                f,
                "job {} pipeline {} committer of sink {sink}",
                self.job_id, self.pipeline
            ),
        }
    }
}

/// A split in transit: opaque bytes owned by its plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitMsg {
    pub id: String,
    pub data: Vec<u8>,
}

/// Coordinator → subtask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// New splits for the subtask's reader of source `source` (a plugin index in the job).
    AssignSplits { source: u32, splits: Vec<SplitMsg> },
    /// That reader gets no more splits.
    NoMoreSplits { source: u32 },
    /// A checkpoint barrier: snapshot every plugin of the subtask (writers prepare their
    /// commit) between two batches, and acknowledge. After a savepoint barrier the subtask
    /// reads nothing more.
    Barrier { id: CheckpointId, kind: Kind },
    /// Checkpoint `id` is durable and committed: readers may release what it covered.
    CheckpointComplete { id: CheckpointId },
    /// The pipeline is done (after its final checkpoint or a savepoint): close and report.
    Finish,
    /// Stop now; nothing more will be committed.
    Cancel,
}

/// Subtask → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The subtask took its part of checkpoint `id`.
    Ack {
        task: TaskId,
        id: CheckpointId,
        snapshot: TaskSnapshot,
    },
    /// Every reader of the subtask ran dry (BATCH); it waits for the final barrier.
    Drained { task: TaskId },
    /// A writer of the subtask neared its memory cap: it is replaced at the next checkpoint,
    /// which the subtask waits for without reading.
    WantCheckpoint { task: TaskId },
    /// The subtask closed after `Finish`.
    Finished { task: TaskId, metrics: TaskMetrics },
    Failed {
        task: TaskId,
        error: String,
        /// Whether running again from a checkpoint may help (a crash, not a fatal error).
        #[serde(default)]
        retriable: bool,
    },
}

/// What one subtask moved.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskMetrics {
    /// (table path, rows) read by this subtask's readers.
    pub rows_read: Vec<(String, u64)>,
    /// (table path, rows) written by this subtask's writers.
    pub rows_written: Vec<(String, u64)>,
    pub bytes_read: u64,
    pub peak_guest_memory: u64,
    /// (task id, peak linear memory in bytes) of every instance the subtask ran.
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
    /// Adds another subtask's (or attempt's) figures.
    pub fn merge(&mut self, m: TaskMetrics) {
        self.rows_read.extend(m.rows_read);
        self.rows_written.extend(m.rows_written);
        self.bytes_read += m.bytes_read;
        self.peak_guest_memory = self.peak_guest_memory.max(m.peak_guest_memory);
        self.peak_memory.extend(m.peak_memory);
        self.recycled += m.recycled;
        self.read_ahead += m.read_ahead;
    }

    /// Records an instance replaced near its memory cap (`what` says which kind, for the log).
    pub fn recycled_instance(&mut self, task: String, peak_memory: usize, what: &str) {
        tracing::info!(
            task,
            memory = peak_memory,
            "recycled a {what} near its memory cap"
        );
        self.peak_memory.push((task, peak_memory as u64));
        self.recycled += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_json() {
        let task = TaskId {
            job_id: "1".into(),
            pipeline: 0,
            role: TaskRole::Subtask { index: 3 },
        };
        let cmd = Command::AssignSplits {
            source: 0,
            splits: vec![SplitMsg {
                id: "s".into(),
                data: vec![1, 2],
            }],
        };
        let back: Command = serde_json::from_str(&serde_json::to_string(&cmd).unwrap()).unwrap();
        assert_eq!(back, cmd);
        let ev = Event::Failed {
            task: task.clone(),
            error: "boom".into(),
            retriable: true,
        };
        let back: Event = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
        assert_eq!(task.to_string(), "job 1 pipeline 0 subtask 3");
    }
}
