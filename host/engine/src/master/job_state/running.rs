//! RUNNING: every pipeline's tasks are launched (a pipeline may be restarting).

use super::{JobInput, Transition, ended};
use st_plan::JobStatus;

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        JobInput::SavepointRequested => Transition::To(JobStatus::DoingSavepoint),
        JobInput::CancelRequested => Transition::To(JobStatus::Canceling),
        JobInput::PipelineFailed => Transition::To(JobStatus::Failing),
        JobInput::Ended(e) => ended(e),
        JobInput::Deployed => Transition::Stay,
        JobInput::Waiting | JobInput::Scheduled => Transition::Invalid,
    }
}
