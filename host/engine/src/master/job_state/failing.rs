//! FAILING: a pipeline failed for good; the others are being stopped.

use super::{Ending, JobInput, Transition, ended};

pub(super) fn next(input: JobInput) -> Transition {
    match input {
        // However the others ended, the job failed.
        JobInput::Ended(_) => ended(Ending::Failed),
        JobInput::PipelineFailed
        | JobInput::CancelRequested
        | JobInput::SavepointRequested
        | JobInput::Deployed => Transition::Stay,
        JobInput::Waiting | JobInput::Scheduled => Transition::Invalid,
    }
}
