//! RUNNING: reading, writing and checkpointing.

use super::{PipelineInput, Transition, failed};
use st_plan::PipelineStatus;

pub(super) fn next(input: PipelineInput) -> Transition {
    match input {
        PipelineInput::Failed { restart } => failed(restart),
        PipelineInput::CancelRequested => Transition::To(PipelineStatus::Canceling),
        PipelineInput::Finished => Transition::To(PipelineStatus::Finished),
        PipelineInput::Savepointed => Transition::To(PipelineStatus::SavepointDone),
        PipelineInput::Started => Transition::Stay,
        PipelineInput::Scheduled | PipelineInput::Deploying | PipelineInput::Stopped => {
            Transition::Invalid
        }
    }
}
