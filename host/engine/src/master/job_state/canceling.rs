//! CANCELING: a cancel was asked for; the tasks are being stopped.

use super::{Ending, JobInput, Transition, ended};

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        // The user asked: the job ends canceled, whatever its pipelines ran into meanwhile.
        JobInput::Ended(_) => ended(Ending::Cancelled),
        JobInput::CancelRequested
        | JobInput::PipelineFailed
        | JobInput::SavepointRequested
        | JobInput::Deployed => Transition::Stay,
        JobInput::Waiting | JobInput::Scheduled => Transition::Invalid,
    }
}
