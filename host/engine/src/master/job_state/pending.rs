//! PENDING: waiting for slots.

use super::{Ending, JobInput, Transition, ended};
use st_plan::JobStatus;

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        JobInput::Waiting => Transition::Stay,
        JobInput::Scheduled => Transition::To(JobStatus::Scheduled),
        // Nothing runs yet: a cancel ends it at once.
        JobInput::CancelRequested => Transition::To(JobStatus::Canceled),
        JobInput::Ended(Ending::Failed) => ended(Ending::Failed),
        _ => Transition::Invalid,
    }
}
