//! The job plan as data. Planning turns a job config into a [`JobPlan`] (in `st-engine`); any
//! node opens the part of it that it runs: components found in its cache by sha256, grants
//! resolved and checked there. Nothing here holds a compiled component, a resolved path or a
//! channel, so a plan, every message between a coordinator and its tasks, a failure and a
//! job's state all cross a network or go into the replicated job-state map as they are.
//!
//! What is left out: how tasks run (`st-engine`), how messages travel, and where the plan is
//! kept.

mod event;
mod failure;
mod id;
mod plan;
mod protocol;
mod status;

pub use event::JobEvent;
pub use failure::{Failure, FailureKind, RetryHint};
pub use id::{Attempt, JobId, JobIdError, TaskId, TaskRole};
pub use plan::{JobPlan, PipelinePlan, PluginId, Vertex};
pub use protocol::{Command, Event, SplitMsg, TaskMetrics};
pub use status::{JobStatus, PipelineStatus};
