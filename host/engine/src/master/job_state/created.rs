//! CREATED: planned, not yet given slots.

use super::{Ending, JobInput, Transition, ended};
use st_plan::JobStatus;

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        JobInput::Waiting => Transition::To(JobStatus::Pending),
        JobInput::Scheduled => Transition::To(JobStatus::Scheduled),
        JobInput::CancelRequested => Transition::To(JobStatus::Canceled),
        JobInput::Ended(Ending::Failed) => ended(Ending::Failed),
        _ => Transition::Invalid,
    }
}
