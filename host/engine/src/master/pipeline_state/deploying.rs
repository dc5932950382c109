//! DEPLOYING: its tasks are being launched (restored from a checkpoint after a restart).

use super::{PipelineInput, Transition, failed};
use st_plan::PipelineStatus;

pub(super) fn next(input: PipelineInput) -> Transition {
    match input {
        PipelineInput::Started => Transition::To(PipelineStatus::Running),
        PipelineInput::Deploying => Transition::Stay,
        PipelineInput::Failed { restart } => {
            if restart {
                Transition::Stay
            } else {
                failed(false)
            }
        }
        PipelineInput::CancelRequested => Transition::To(PipelineStatus::Canceling),
        _ => Transition::Invalid,
    }
}
