//! The messages between a pipeline's coordinator and its subtasks. Tasks are addressed by
//! ids and every message is plain serializable data, so the same protocol can cross a network
//! when tasks run on other nodes.

use serde::{Deserialize, Serialize};

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
    /// Stop now; nothing more will be committed.
    Cancel,
}

/// Subtask → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The subtask's input ended; its writers prepared these commit infos (per sink plugin index).
    Finished {
        task: TaskId,
        commit_infos: Vec<(u32, Vec<Vec<u8>>)>,
        metrics: TaskMetrics,
    },
    Failed {
        task: TaskId,
        error: String,
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
        };
        let back: Event = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
        assert_eq!(task.to_string(), "job 1 pipeline 0 subtask 3");
    }
}
