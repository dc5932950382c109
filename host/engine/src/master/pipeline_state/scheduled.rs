//! SCHEDULED: slots reserved.

use super::{PipelineInput, Transition};
use st_plan::PipelineStatus;

pub(super) fn next(input: PipelineInput) -> Transition {
    match input {
        PipelineInput::Deploying => Transition::To(PipelineStatus::Deploying),
        PipelineInput::CancelRequested => Transition::To(PipelineStatus::Canceled),
        _ => Transition::Invalid,
    }
}
