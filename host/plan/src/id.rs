//! Identity: a job's id (SeaTunnel's large decimal numbers) and one task id, the address of
//! every message and the key a task's snapshot is kept under.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A job's id: a positive decimal number, as SeaTunnel writes them (`--set-job-id` chooses one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(u64);

/// Why a text is not a job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a job id (a positive decimal number, such as 733584788375666689)")]
pub struct JobIdError(pub String);

impl JobId {
    /// A new id: milliseconds since 2024 in the high bits, then a per-process sequence and
    /// the process id's low bits, so two processes starting jobs in the same millisecond
    /// still differ. The ids of one process grow.
    pub fn generate() -> JobId {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        const EPOCH_MS: u64 = 1_704_067_200_000;
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let seq = SEQ.fetch_add(1, Ordering::Relaxed) & 0xfff;
        let pid = u64::from(std::process::id()) & 0x3ff;
        JobId((ms.saturating_sub(EPOCH_MS) << 22) | (pid << 12) | seq | 1 << 62)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for JobId {
    fn from(n: u64) -> JobId {
        JobId(n)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = JobIdError;

    fn from_str(s: &str) -> Result<JobId, JobIdError> {
        let t = s.trim();
        match t.parse::<u64>() {
            Ok(n) if n > 0 && t.bytes().all(|b| b.is_ascii_digit()) => Ok(JobId(n)),
            _ => Err(JobIdError(s.to_string())),
        }
    }
}

/// Which run of a pipeline: 0 for the first, one more for each restart. A message from an
/// older attempt is dropped.
pub type Attempt = u32;

/// What a task does in its pipeline. Vertex indexes are positions in [`crate::JobPlan::vertices`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskRole {
    /// The split enumerator of source vertex `source`.
    Enumerator { source: u32 },
    /// A fused reader → transforms → writers chain, one of the pipeline's `parallelism`.
    Subtask { index: u32 },
    /// The committer of sink vertex `sink`.
    Committer { sink: u32 },
}

impl TaskRole {
    /// The key the task's snapshot has in a checkpoint: the role alone, so that it stays the
    /// same across attempts (`subtask/3`, `enumerator/0`, `committer/4`).
    pub fn key(self) -> String {
        match self {
            TaskRole::Enumerator { source } => format!("enumerator/{source}"),
            TaskRole::Subtask { index } => format!("subtask/{index}"),
            TaskRole::Committer { sink } => format!("committer/{sink}"),
        }
    }

    /// The role a checkpoint key names.
    pub fn from_key(key: &str) -> Option<TaskRole> {
        let (kind, n) = key.split_once('/')?;
        let n: u32 = n.parse().ok()?;
        match kind {
            "enumerator" => Some(TaskRole::Enumerator { source: n }),
            "subtask" => Some(TaskRole::Subtask { index: n }),
            "committer" => Some(TaskRole::Committer { sink: n }),
            _ => None,
        }
    }
}

/// A task's address: job, pipeline, role and attempt. Every message carries it, logs name
/// it, and without its attempt ([`TaskRole::key`]) it keys the task's checkpointed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskId {
    pub job: JobId,
    pub pipeline: u32,
    pub role: TaskRole,
    pub attempt: Attempt,
}

impl TaskId {
    pub fn key(&self) -> String {
        self.role.key()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {} pipeline {} ", self.job, self.pipeline)?;
        match self.role {
            TaskRole::Enumerator { source } => write!(f, "enumerator of vertex {source}")?,
            TaskRole::Subtask { index } => write!(f, "subtask {index}")?,
            TaskRole::Committer { sink } => write!(f, "committer of vertex {sink}")?,
        }
        write!(f, " attempt {}", self.attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_positive_decimals() {
        assert_eq!("823342".parse::<JobId>().unwrap().get(), 823342);
        for bad in ["", "0", "-1", "12a", "+5", "1.5"] {
            let e = bad.parse::<JobId>().unwrap_err();
            assert!(e.to_string().contains("is not a job id"), "{bad}: {e}");
        }
        let (a, b) = (JobId::generate(), JobId::generate());
        assert!(b > a, "ids of one process grow: {a} {b}");
        assert_eq!(a.to_string().parse::<JobId>().unwrap(), a);
        assert_eq!(serde_json::to_string(&a).unwrap(), a.to_string());
    }

    #[test]
    fn a_role_is_its_checkpoint_key() {
        for role in [
            TaskRole::Enumerator { source: 0 },
            TaskRole::Subtask { index: 3 },
            TaskRole::Committer { sink: 4 },
        ] {
            assert_eq!(TaskRole::from_key(&role.key()), Some(role));
        }
        assert_eq!(TaskRole::from_key("reader/1"), None);
        let t = TaskId {
            job: JobId(7),
            pipeline: 1,
            role: TaskRole::Subtask { index: 2 },
            attempt: 3,
        };
        assert_eq!(t.to_string(), "job 7 pipeline 1 subtask 2 attempt 3");
        assert_eq!(t.key(), "subtask/2");
    }
}
