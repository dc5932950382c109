//! SCHEDULED: slots reserved, tasks being launched.

use super::{JobInput, Transition, ended};
use st_plan::JobStatus;

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        JobInput::Deployed => Transition::To(JobStatus::Running),
        JobInput::CancelRequested => Transition::To(JobStatus::Canceling),
        JobInput::PipelineFailed => Transition::To(JobStatus::Failing),
        JobInput::SavepointRequested => Transition::To(JobStatus::DoingSavepoint),
        JobInput::Ended(e) => ended(e),
        JobInput::Waiting | JobInput::Scheduled => Transition::Invalid,
    }
}
