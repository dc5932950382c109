//! DOING_SAVEPOINT: taking the savepoint the job stops at.

use super::{JobInput, Transition, ended};
use st_plan::JobStatus;

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        JobInput::SavepointRequested | JobInput::Deployed => Transition::Stay,
        JobInput::CancelRequested => Transition::To(JobStatus::Canceling),
        JobInput::PipelineFailed => Transition::To(JobStatus::Failing),
        // What the pipelines say: savepointed, or finished when a BATCH job ran out of data
        // before its savepoint.
        JobInput::Ended(e) => ended(e),
        JobInput::Waiting | JobInput::Scheduled => Transition::Invalid,
    }
}
