//! Why a task, a pipeline or a job failed, with the hint that decides what happens next. The
//! hint is data from the plugin seam to the job result and across the wire, never inferred
//! later from a message.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::TaskId;

/// Whether running the pipeline again, from its latest checkpoint, may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetryHint {
    /// A crash, a retriable plugin error, a checkpoint that timed out: restart the pipeline.
    Restart,
    /// A plugin's fatal error, a broken contract, a cancel: fail the job now.
    Fail,
}

/// What kind of failure this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The plugin reported an error it says may pass (a reset connection, a busy server).
    Retriable,
    /// The plugin reported an error that running again cannot fix.
    Fatal,
    /// The plugin's instance trapped, panicked, hit its memory cap or its call timeout.
    Crash,
    /// The plugin broke the contract: data that does not fit its schema, a split for a reader
    /// that does not exist.
    Contract,
    /// An option was refused when the task opened.
    InvalidOption,
    /// A checkpoint was not acknowledged in time, or a task stopped answering.
    Timeout,
    /// The checkpoint store failed.
    Storage,
    /// The job was cancelled.
    Cancelled,
    /// A plugin could not be found, fetched, verified or compiled.
    Load,
    /// The host failed around a task (a thread that ended abnormally, an unreadable snapshot).
    Host,
    /// The node a task ran on died or stopped answering: the task runs again elsewhere, and
    /// this does not count against `job.retry.times` (nothing is wrong with the job).
    NodeLost,
}

impl FailureKind {
    /// The plugin returned this error itself (rather than crashing): its instance is intact.
    pub fn reported_by_plugin(self) -> bool {
        matches!(
            self,
            FailureKind::Retriable | FailureKind::Fatal | FailureKind::InvalidOption
        )
    }

    /// What a failure of this kind calls for, unless said otherwise.
    pub fn retry(self) -> RetryHint {
        match self {
            FailureKind::Retriable
            | FailureKind::Crash
            | FailureKind::Timeout
            | FailureKind::Storage
            | FailureKind::Host
            | FailureKind::NodeLost => RetryHint::Restart,
            FailureKind::Fatal
            | FailureKind::Contract
            | FailureKind::InvalidOption
            | FailureKind::Cancelled
            | FailureKind::Load => RetryHint::Fail,
        }
    }
}

/// A failure as it travels: its kind, its hint, what it says, and the task it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct Failure {
    pub kind: FailureKind,
    pub retry: RetryHint,
    pub message: String,
    /// The task it came from, when a task's.
    pub task: Option<TaskId>,
}

impl Failure {
    /// A failure with its kind's hint.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            retry: kind.retry(),
            message: message.into(),
            task: None,
        }
    }

    /// The job was cancelled.
    pub fn cancelled() -> Failure {
        Failure::new(FailureKind::Cancelled, "stopped: the job was cancelled")
    }

    /// The same failure, from `task`.
    pub fn from_task(mut self, task: TaskId) -> Failure {
        self.task.get_or_insert(task);
        self
    }

    /// The same failure, final whatever its kind (a committer that refuses to close after
    /// everything was committed: a restart would not change it).
    pub fn final_(mut self) -> Failure {
        self.retry = RetryHint::Fail;
        self
    }

    pub fn is_cancel(&self) -> bool {
        self.kind == FailureKind::Cancelled
    }

    pub fn may_restart(&self) -> bool {
        self.retry == RetryHint::Restart
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_kind_and_cross_json() {
        assert_eq!(
            Failure::new(FailureKind::Crash, "trap").retry,
            RetryHint::Restart
        );
        for k in [
            FailureKind::Fatal,
            FailureKind::Contract,
            FailureKind::Cancelled,
        ] {
            assert!(!Failure::new(k, "x").may_restart(), "{k:?}");
        }
        let f = Failure::new(FailureKind::Retriable, "reset").final_();
        let back: Failure = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.retry, RetryHint::Fail);
    }
}
