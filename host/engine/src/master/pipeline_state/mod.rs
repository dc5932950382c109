//! A pipeline's states and what moves it between them: one file per state, each a pure
//! `next()`. A restart goes back to DEPLOYING (its tasks started again from a checkpoint).

mod canceling;
mod created;
mod deploying;
mod failing;
mod running;
mod scheduled;

use st_plan::PipelineStatus;

/// What happens to a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineInput {
    /// Its slots are reserved.
    Scheduled,
    /// Its tasks are being launched.
    Deploying,
    /// Its tasks are launched and reading.
    Started,
    /// An attempt failed; `restart` when it is started again.
    Failed {
        restart: bool,
    },
    CancelRequested,
    /// Its last tasks closed after a final checkpoint.
    Finished,
    /// It stopped at a savepoint.
    Savepointed,
    /// Its last tasks stopped after a failure or a cancel.
    Stopped,
}

/// What an input does to a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    To(PipelineStatus),
    Stay,
    Invalid,
}

pub fn next(status: PipelineStatus, input: PipelineInput) -> Transition {
    match status {
        PipelineStatus::Created => created::next(input),
        PipelineStatus::Scheduled => scheduled::next(input),
        PipelineStatus::Deploying => deploying::next(input),
        PipelineStatus::Running => running::next(input),
        PipelineStatus::Failing => failing::next(input),
        PipelineStatus::Canceling => canceling::next(input),
        PipelineStatus::Failed
        | PipelineStatus::Canceled
        | PipelineStatus::Finished
        | PipelineStatus::SavepointDone => Transition::Stay,
    }
}

/// A failed attempt's next state: deploying again, or failing for good.
fn failed(restart: bool) -> Transition {
    Transition::To(if restart {
        PipelineStatus::Deploying
    } else {
        PipelineStatus::Failing
    })
}

/// A pipeline's state and how it got there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineState {
    pub status: PipelineStatus,
    pub history: Vec<(PipelineStatus, u64)>,
}

impl PipelineState {
    pub fn new(now_ms: u64) -> PipelineState {
        PipelineState {
            status: PipelineStatus::Created,
            history: vec![(PipelineStatus::Created, now_ms)],
        }
    }

    pub fn apply(&mut self, input: PipelineInput, now_ms: u64) -> Option<PipelineStatus> {
        match next(self.status, input) {
            Transition::To(s) => {
                self.status = s;
                self.history.push((s, now_ms));
                Some(s)
            }
            Transition::Stay => None,
            Transition::Invalid => {
                tracing::warn!("pipeline state {} cannot take {input:?}", self.status);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PipelineInput::*;

    fn run(inputs: &[PipelineInput]) -> PipelineState {
        let mut s = PipelineState::new(0);
        for i in inputs {
            s.apply(*i, 0);
        }
        s
    }

    #[test]
    fn a_restart_deploys_again_and_a_final_failure_ends_failed() {
        let s = run(&[
            Scheduled,
            Deploying,
            Started,
            Failed { restart: true },
            Started,
            Failed { restart: false },
            Stopped,
        ]);
        let names: Vec<&str> = s.history.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "CREATED",
                "SCHEDULED",
                "DEPLOYING",
                "RUNNING",
                "DEPLOYING",
                "RUNNING",
                "FAILING",
                "FAILED"
            ]
        );
    }

    #[test]
    fn cancel_savepoint_and_finish() {
        assert_eq!(
            run(&[Scheduled, Deploying, Started, Finished]).status,
            PipelineStatus::Finished
        );
        assert_eq!(
            run(&[Scheduled, Deploying, Started, Savepointed]).status,
            PipelineStatus::SavepointDone
        );
        assert_eq!(
            run(&[
                Scheduled,
                Deploying,
                Started,
                CancelRequested,
                Failed { restart: true },
                Stopped
            ])
            .status,
            PipelineStatus::Canceled,
            "a cancelled pipeline does not restart"
        );
        assert_eq!(next(PipelineStatus::Created, Started), Transition::Invalid);
    }
}
