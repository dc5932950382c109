//! A job's states and what moves it between them: one file per state, each a pure `next()`
//! from an input to the transition it makes. The job master feeds in what happens and records
//! each transition (the job's state history).

mod canceling;
mod created;
mod doing_savepoint;
mod failing;
mod pending;
mod running;
mod scheduled;

use st_plan::JobStatus;

/// How the job's pipelines ended, taken together: a failure outranks a cancel, which outranks
/// a savepoint, which outranks finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ending {
    Finished,
    Savepointed,
    Cancelled,
    Failed,
}

/// What happens to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobInput {
    /// No slots now; the job waits for them (`job-schedule-strategy: WAIT`).
    Waiting,
    /// Its tasks have slots (in local mode: at once).
    Scheduled,
    /// Every pipeline's tasks were launched.
    Deployed,
    /// A savepoint was asked for.
    SavepointRequested,
    /// A cancel was asked for.
    CancelRequested,
    /// A pipeline failed for good; the others are being stopped.
    PipelineFailed,
    /// Every pipeline has ended.
    Ended(Ending),
}

/// What an input does to a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    To(JobStatus),
    /// The input changes nothing in this state (a second cancel while canceling).
    Stay,
    /// The input cannot happen in this state: a bug where it came from.
    Invalid,
}

/// The transition `input` makes from `status`.
pub fn next(status: JobStatus, input: JobInput) -> Transition {
    match status {
        JobStatus::Created => created::next(input),
        JobStatus::Pending => pending::next(input),
        JobStatus::Scheduled => scheduled::next(input),
        JobStatus::Running => running::next(input),
        JobStatus::DoingSavepoint => doing_savepoint::next(input),
        JobStatus::Failing => failing::next(input),
        JobStatus::Canceling => canceling::next(input),
        // An ended job stays ended.
        JobStatus::Failed
        | JobStatus::SavepointDone
        | JobStatus::Canceled
        | JobStatus::Finished => Transition::Stay,
    }
}

/// The state an ending leads to from a state that ends as its pipelines do.
fn ended(e: Ending) -> Transition {
    Transition::To(match e {
        Ending::Finished => JobStatus::Finished,
        Ending::Savepointed => JobStatus::SavepointDone,
        Ending::Cancelled => JobStatus::Canceled,
        Ending::Failed => JobStatus::Failed,
    })
}

/// A job's state and how it got there: (state, milliseconds since the epoch) in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    pub status: JobStatus,
    pub history: Vec<(JobStatus, u64)>,
}

impl JobState {
    pub fn new(now_ms: u64) -> JobState {
        JobState {
            status: JobStatus::Created,
            history: vec![(JobStatus::Created, now_ms)],
        }
    }

    /// Applies `input`; returns the new state when it changed. An input the state cannot take
    /// is logged and changes nothing.
    pub fn apply(&mut self, input: JobInput, now_ms: u64) -> Option<JobStatus> {
        match next(self.status, input) {
            Transition::To(s) if s != self.status => {
                self.status = s;
                self.history.push((s, now_ms));
                Some(s)
            }
            Transition::To(_) | Transition::Stay => None,
            Transition::Invalid => {
                tracing::warn!("job state {} cannot take {input:?}", self.status);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_through_seatunnels_states() {
        let mut s = JobState::new(0);
        for (input, want) in [
            (JobInput::Waiting, JobStatus::Pending),
            (JobInput::Scheduled, JobStatus::Scheduled),
            (JobInput::Deployed, JobStatus::Running),
            (JobInput::Ended(Ending::Finished), JobStatus::Finished),
        ] {
            assert_eq!(s.apply(input, 1), Some(want), "{input:?}");
        }
        assert_eq!(s.history.len(), 5);
        assert_eq!(
            s.apply(JobInput::CancelRequested, 2),
            None,
            "ended stays ended"
        );
    }

    #[test]
    fn savepoint_cancel_and_failure_end_where_seatunnel_ends_them() {
        let running = |inputs: &[JobInput]| {
            let mut s = JobState::new(0);
            s.apply(JobInput::Scheduled, 0);
            s.apply(JobInput::Deployed, 0);
            for i in inputs {
                s.apply(*i, 0);
            }
            s.status
        };
        use JobInput::*;
        assert_eq!(
            running(&[SavepointRequested, Ended(Ending::Savepointed)]),
            JobStatus::SavepointDone
        );
        assert_eq!(running(&[SavepointRequested]), JobStatus::DoingSavepoint);
        assert_eq!(
            running(&[CancelRequested, CancelRequested, Ended(Ending::Cancelled)]),
            JobStatus::Canceled
        );
        // A cancel whose pipelines then fail still ends canceled: the user asked for it.
        assert_eq!(
            running(&[CancelRequested, Ended(Ending::Failed)]),
            JobStatus::Canceled
        );
        assert_eq!(
            running(&[PipelineFailed, Ended(Ending::Failed)]),
            JobStatus::Failed
        );
        assert_eq!(
            running(&[SavepointRequested, PipelineFailed, Ended(Ending::Failed)]),
            JobStatus::Failed
        );
        assert_eq!(next(JobStatus::Created, Deployed), Transition::Invalid);
    }
}
