//! The names of job and pipeline states, as SeaTunnel writes them (`RUNNING`,
//! `SAVEPOINT_DONE`, ...): the job-state map stores them and REST reports them. Which state
//! follows which is the job master's business (`st-engine`'s `master/` holds one file per
//! state).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Planned, not yet given resources.
    Created,
    /// Waiting for slots (`job-schedule-strategy: WAIT`).
    Pending,
    /// Its tasks are placed.
    Scheduled,
    Running,
    /// A pipeline failed for good; the rest is being stopped.
    Failing,
    Failed,
    /// Taking the savepoint it stops at.
    DoingSavepoint,
    /// Stopped at a savepoint it can be resumed from.
    SavepointDone,
    Canceling,
    Canceled,
    Finished,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "CREATED",
            JobStatus::Pending => "PENDING",
            JobStatus::Scheduled => "SCHEDULED",
            JobStatus::Running => "RUNNING",
            JobStatus::Failing => "FAILING",
            JobStatus::Failed => "FAILED",
            JobStatus::DoingSavepoint => "DOING_SAVEPOINT",
            JobStatus::SavepointDone => "SAVEPOINT_DONE",
            JobStatus::Canceling => "CANCELING",
            JobStatus::Canceled => "CANCELED",
            JobStatus::Finished => "FINISHED",
        }
    }

    /// A state the job does not leave.
    pub fn is_end(self) -> bool {
        matches!(
            self,
            JobStatus::Failed
                | JobStatus::SavepointDone
                | JobStatus::Canceled
                | JobStatus::Finished
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pipeline's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PipelineStatus {
    Created,
    Scheduled,
    /// Its tasks are being started (restored from a checkpoint on a restart).
    Deploying,
    Running,
    /// An attempt failed; its tasks are being stopped before a restart or the end.
    Failing,
    Failed,
    Canceling,
    Canceled,
    Finished,
    /// Stopped at a savepoint.
    SavepointDone,
}

impl PipelineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineStatus::Created => "CREATED",
            PipelineStatus::Scheduled => "SCHEDULED",
            PipelineStatus::Deploying => "DEPLOYING",
            PipelineStatus::Running => "RUNNING",
            PipelineStatus::Failing => "FAILING",
            PipelineStatus::Failed => "FAILED",
            PipelineStatus::Canceling => "CANCELING",
            PipelineStatus::Canceled => "CANCELED",
            PipelineStatus::Finished => "FINISHED",
            PipelineStatus::SavepointDone => "SAVEPOINT_DONE",
        }
    }

    pub fn is_end(self) -> bool {
        matches!(
            self,
            PipelineStatus::Failed
                | PipelineStatus::Canceled
                | PipelineStatus::Finished
                | PipelineStatus::SavepointDone
        )
    }
}

impl fmt::Display for PipelineStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_seatunnels() {
        assert_eq!(
            serde_json::to_string(&JobStatus::SavepointDone).unwrap(),
            "\"SAVEPOINT_DONE\""
        );
        assert_eq!(JobStatus::DoingSavepoint.to_string(), "DOING_SAVEPOINT");
        let back: PipelineStatus = serde_json::from_str("\"DEPLOYING\"").unwrap();
        assert_eq!(back, PipelineStatus::Deploying);
        assert!(JobStatus::Canceled.is_end() && !JobStatus::Canceling.is_end());
    }
}
