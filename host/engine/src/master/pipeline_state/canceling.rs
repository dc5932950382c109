//! CANCELING: a cancel was asked for; its tasks are being stopped.

use super::{PipelineInput, Transition};
use st_plan::PipelineStatus;

pub(super) fn next(input: PipelineInput) -> Transition {
    match input {
        PipelineInput::Stopped | PipelineInput::Finished | PipelineInput::Savepointed => {
            Transition::To(PipelineStatus::Canceled)
        }
        // No restart after a cancel.
        _ => Transition::Stay,
    }
}
