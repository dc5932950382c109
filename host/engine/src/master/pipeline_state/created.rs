//! CREATED: planned, no slots yet.

use super::{PipelineInput, Transition};
use st_plan::PipelineStatus;

pub(super) fn next(input: PipelineInput) -> Transition {
    match input {
        PipelineInput::Scheduled => Transition::To(PipelineStatus::Scheduled),
        PipelineInput::CancelRequested => Transition::To(PipelineStatus::Canceled),
        _ => Transition::Invalid,
    }
}
