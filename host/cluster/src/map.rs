//! The replicated job-state map (SeaTunnel's IMap): data, commands as data and a pure
//! [`JobStateMap::apply`]. Every change to it is one Raft log entry; hot metrics never are.
//!
//! It holds the cluster's members, the master's epoch and every job: its plan, its state and
//! state history, its pipelines' states; finished jobs stay until `history-job-expire-minutes`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use st_plan::{JobId, JobPlan, JobStatus, PipelineStatus};

/// What a node does: SeaTunnel's `master_and_worker`, `master`, `worker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Master-eligible and runs tasks (SeaTunnel's `master_and_worker`).
    Hybrid,
    Master,
    Worker,
}

impl Role {
    /// SeaTunnel's name for it.
    pub fn seatunnel_name(self) -> &'static str {
        match self {
            Role::Hybrid => "master_and_worker",
            Role::Master => "master",
            Role::Worker => "worker",
        }
    }

    /// Whether it holds the map and votes.
    pub fn master_eligible(self) -> bool {
        self != Role::Worker
    }

    /// Whether it runs tasks.
    pub fn runs_tasks(self) -> bool {
        self != Role::Master
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Hybrid => "hybrid",
            Role::Master => "master",
            Role::Worker => "worker",
        })
    }
}

/// A member as it registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: u64,
    pub address: String,
    pub role: Role,
    /// `member-attributes`.
    pub tags: BTreeMap<String, String>,
    /// Static slots (`slot-service.slot-num`), or `None` for dynamic slots (no limit).
    pub slots: Option<u32>,
    /// Bumped at each start of the node, so a record from before a restart is told apart.
    pub incarnation: u64,
}

/// The term in which a node took up master duties, written by it before it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterEpoch {
    pub term: u64,
    pub node: u64,
}

/// A job as the cluster keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub plan: JobPlan,
    /// The config file's name as the client gave it (shown in errors).
    pub file: String,
    pub status: JobStatus,
    /// Every state it entered, with its time (ms since the epoch), oldest first.
    pub history: Vec<(JobStatus, u64)>,
    pub pipelines: BTreeMap<u32, PipelineStatus>,
    pub submitted_ms: u64,
    pub finished_ms: Option<u64>,
    /// Why it failed (or was cancelled), once it has.
    pub error: Option<String>,
    /// The node whose job master runs it.
    pub master: u64,
    /// Each pipeline's latest completed checkpoint.
    #[serde(default)]
    pub checkpoints: BTreeMap<u32, CheckpointPointer>,
    /// What happened to it that its states do not tell (a pipeline restarted, tasks moved off a
    /// lost node): time (ms since the epoch) and text, oldest first, the latest
    /// [`MAX_JOB_EVENTS`].
    #[serde(default)]
    pub events: Vec<(u64, String)>,
    /// Whether this run was started from the job's savepoint (a resume).
    #[serde(default)]
    pub resumed: bool,
    /// The latest completed checkpoints of every pipeline (pipeline, checkpoint), oldest
    /// first, at most [`MAX_CHECKPOINT_HISTORY`].
    #[serde(default)]
    pub checkpoint_history: Vec<(u32, CheckpointPointer)>,
    /// The config as submitted (variables filled in), to restore the job by id alone.
    #[serde(default)]
    pub config: String,
    /// The job's own `.wasm` files as uploaded: reference → sha256.
    #[serde(default)]
    pub plugins: BTreeMap<String, String>,
}

/// How many completed checkpoints a job record lists.
pub const MAX_CHECKPOINT_HISTORY: usize = 50;

/// How many events a job record keeps.
pub const MAX_JOB_EVENTS: usize = 100;

/// A pipeline's latest completed checkpoint, as its job master recorded it (the checkpoint
/// itself is in the checkpoint store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointPointer {
    pub id: u64,
    /// `checkpoint`, `savepoint` or `final`.
    pub kind: String,
    pub at_ms: u64,
    pub duration_ms: u64,
    /// The bytes of its task states and commit infos.
    #[serde(default)]
    pub size_bytes: u64,
    /// How many tasks acked it.
    #[serde(default)]
    pub tasks: u32,
}

impl JobRecord {
    pub fn id(&self) -> JobId {
        self.plan.job_id
    }
}

/// A change to the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// A node (re)registers; the newer incarnation wins, an older one is ignored.
    RegisterNode(NodeRecord),
    /// A new master fences off older ones: applied only when its term is newer.
    MasterEpoch(MasterEpoch),
    /// A new job; refused when its id is taken.
    SubmitJob(Box<JobRecord>),
    /// A job run again under its id (a resume): refused while the job with that id runs; an
    /// ended one is replaced, its history kept in front of the new one's.
    ResubmitJob(Box<JobRecord>),
    /// Another node's job master runs the job now (a new master took it over).
    JobMaster { job: JobId, node: u64 },
    /// A job entered `status`; once it has ended, nothing changes it. `by`: the job master
    /// that says so (refused when another runs the job now), or `None` for the master's own
    /// decision about a job no job master runs.
    JobStatus {
        job: JobId,
        status: JobStatus,
        at_ms: u64,
        error: Option<String>,
        by: Option<u64>,
    },
    /// A pipeline of a running job entered `status` (`by` as for [`Command::JobStatus`]).
    PipelineStatus {
        job: JobId,
        pipeline: u32,
        status: PipelineStatus,
        by: Option<u64>,
    },
    /// A pipeline of a running job completed a checkpoint (`by` as for [`Command::JobStatus`]).
    CheckpointCompleted {
        job: JobId,
        pipeline: u32,
        pointer: CheckpointPointer,
        by: Option<u64>,
    },
    /// Forgets the jobs that ended before `before_ms` (`history-job-expire-minutes`).
    ExpireJobs { before_ms: u64 },
    /// The jobs of an earlier cluster, read back from the map store by a cluster that started
    /// on empty disks: applied only while the map holds no job.
    RestoreJobs(BTreeMap<JobId, JobRecord>),
    /// Something happened to a running job (`by` as for [`Command::JobStatus`]).
    JobEvent {
        job: JobId,
        at_ms: u64,
        text: String,
        by: Option<u64>,
    },
    /// Reserves slots for a job: `on` maps node to count; all of them or, when one node
    /// lacks them, none.
    ReserveSlots { job: JobId, on: BTreeMap<u64, u32> },
    /// Frees a job's slots (a job's end frees them too).
    ReleaseSlots { job: JobId },
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    Done,
    /// Nothing changed: the command was older than what the map holds (an idempotent retry
    /// of a write whose first answer was lost lands here too).
    Stale,
    /// Refused, and why (a job id that is taken).
    Rejected(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobStateMap {
    pub nodes: BTreeMap<u64, NodeRecord>,
    pub master: Option<MasterEpoch>,
    #[serde(default)]
    pub jobs: BTreeMap<JobId, JobRecord>,
    /// The slots each running job holds, per node.
    #[serde(default)]
    pub slots: BTreeMap<JobId, BTreeMap<u64, u32>>,
}

impl JobStateMap {
    /// Slots in use on `node`.
    pub fn slots_used(&self, node: u64) -> u32 {
        self.slots.values().filter_map(|on| on.get(&node)).sum()
    }

    /// Free slots on `node` for `job`, counting the slots it holds already as free.
    pub fn slots_free_for(&self, node: u64, job: JobId) -> Option<u32> {
        let held = self
            .slots
            .get(&job)
            .and_then(|on| on.get(&node))
            .copied()
            .unwrap_or(0);
        self.slots_free(node).map(|f| f + held)
    }

    /// Free slots on `node`: `None` for no limit (dynamic slots), `Some(0)` for an unknown node.
    pub fn slots_free(&self, node: u64) -> Option<u32> {
        match self.nodes.get(&node) {
            None => Some(0),
            Some(n) if !n.role.runs_tasks() => Some(0),
            Some(n) => n
                .slots
                .map(|total| total.saturating_sub(self.slots_used(node))),
        }
    }

    pub fn apply(&mut self, cmd: Command) -> Applied {
        match cmd {
            Command::RegisterNode(n) => match self.nodes.get(&n.id) {
                Some(old) if old.incarnation > n.incarnation || *old == n => Applied::Stale,
                _ => {
                    self.nodes.insert(n.id, n);
                    Applied::Done
                }
            },
            Command::MasterEpoch(e) => match self.master {
                Some(m) if m.term >= e.term => Applied::Stale,
                _ => {
                    self.master = Some(e);
                    Applied::Done
                }
            },
            Command::SubmitJob(job) => {
                let id = job.id();
                if self.jobs.contains_key(&id) {
                    return Applied::Rejected(format!(
                        "job id {id} is taken: a job with this id was submitted already"
                    ));
                }
                self.jobs.insert(id, *job);
                Applied::Done
            }
            Command::ResubmitJob(mut job) => {
                let id = job.id();
                if let Some(old) = self.jobs.get(&id) {
                    if !old.status.is_end() {
                        return Applied::Rejected(format!(
                            "job {id} is {}; a running job cannot be resumed",
                            old.status
                        ));
                    }
                    let mut history = old.history.clone();
                    history.append(&mut job.history);
                    job.history = history;
                    // A job's checkpoints and events span its runs.
                    let mut checkpoints = old.checkpoint_history.clone();
                    checkpoints.append(&mut job.checkpoint_history);
                    job.checkpoint_history = checkpoints;
                    let mut events = old.events.clone();
                    events.append(&mut job.events);
                    let extra = events.len().saturating_sub(MAX_JOB_EVENTS);
                    events.drain(..extra);
                    job.events = events;
                }
                self.jobs.insert(id, *job);
                Applied::Done
            }
            Command::JobMaster { job, node } => match self.jobs.get_mut(&job) {
                Some(r) if r.master != node && !r.status.is_end() => {
                    r.master = node;
                    Applied::Done
                }
                _ => Applied::Stale,
            },
            Command::JobStatus {
                job,
                status,
                at_ms,
                error,
                by,
            } => {
                let Some(r) = self.jobs.get_mut(&job) else {
                    return Applied::Stale;
                };
                if by.is_some_and(|n| n != r.master) {
                    return Applied::Rejected(format!(
                        "node {} is not job {job}'s job master any more",
                        by.unwrap_or_default()
                    ));
                }
                if r.status.is_end() {
                    // The end's reason may follow the end itself (it is known last).
                    if r.status == status && r.error.is_none() && error.is_some() {
                        r.error = error;
                        return Applied::Done;
                    }
                    return Applied::Stale;
                }
                if r.status == status && error.is_none() {
                    return Applied::Stale;
                }
                if r.status != status {
                    r.status = status;
                    r.history.push((status, at_ms));
                }
                if error.is_some() {
                    r.error = error;
                }
                if status.is_end() {
                    r.finished_ms = Some(at_ms);
                    self.slots.remove(&job);
                }
                Applied::Done
            }
            Command::PipelineStatus {
                job,
                pipeline,
                status,
                by,
            } => match self.jobs.get_mut(&job) {
                Some(r) if by.is_some_and(|n| n != r.master) => Applied::Rejected(format!(
                    "node {} is not job {job}'s job master any more",
                    by.unwrap_or_default()
                )),
                Some(r) if !r.status.is_end() && r.pipelines.get(&pipeline) != Some(&status) => {
                    r.pipelines.insert(pipeline, status);
                    Applied::Done
                }
                _ => Applied::Stale,
            },
            Command::CheckpointCompleted {
                job,
                pipeline,
                pointer,
                by,
            } => match self.jobs.get_mut(&job) {
                Some(r) if by.is_some_and(|n| n != r.master) => Applied::Rejected(format!(
                    "node {} is not job {job}'s job master any more",
                    by.unwrap_or_default()
                )),
                Some(r)
                    if r.checkpoints
                        .get(&pipeline)
                        .is_none_or(|c| c.id < pointer.id) =>
                {
                    r.checkpoint_history.push((pipeline, pointer.clone()));
                    let extra = r
                        .checkpoint_history
                        .len()
                        .saturating_sub(MAX_CHECKPOINT_HISTORY);
                    r.checkpoint_history.drain(..extra);
                    r.checkpoints.insert(pipeline, pointer);
                    Applied::Done
                }
                _ => Applied::Stale,
            },
            Command::JobEvent {
                job,
                at_ms,
                text,
                by,
            } => match self.jobs.get_mut(&job) {
                Some(r) if by.is_some_and(|n| n != r.master) => Applied::Rejected(format!(
                    "node {} is not job {job}'s job master any more",
                    by.unwrap_or_default()
                )),
                Some(r) if !r.events.iter().any(|(t, e)| *t == at_ms && *e == text) => {
                    r.events.push((at_ms, text));
                    let over = r.events.len().saturating_sub(MAX_JOB_EVENTS);
                    r.events.drain(..over);
                    Applied::Done
                }
                _ => Applied::Stale,
            },
            Command::ReserveSlots { job, on } => {
                match self.jobs.get(&job) {
                    Some(r) if !r.status.is_end() => {}
                    _ => return Applied::Stale,
                }
                if self.slots.get(&job) == Some(&on) {
                    return Applied::Stale;
                }
                // A job's earlier reservation is replaced, so count without it.
                let held = self.slots.remove(&job);
                let short: Vec<String> = on
                    .iter()
                    .filter_map(|(&node, &want)| match self.slots_free(node) {
                        Some(free) if free < want => {
                            Some(format!("node {node} has {free} free, {want} wanted"))
                        }
                        _ => None,
                    })
                    .collect();
                if !short.is_empty() {
                    if let Some(h) = held {
                        self.slots.insert(job, h);
                    }
                    return Applied::Rejected(short.join("; "));
                }
                self.slots.insert(job, on);
                Applied::Done
            }
            Command::ReleaseSlots { job } => match self.slots.remove(&job) {
                Some(_) => Applied::Done,
                None => Applied::Stale,
            },
            Command::RestoreJobs(jobs) => {
                if !self.jobs.is_empty() {
                    return Applied::Stale;
                }
                self.jobs = jobs;
                Applied::Done
            }
            Command::ExpireJobs { before_ms } => {
                let before = self.jobs.len();
                self.jobs.retain(|_, r| {
                    !r.status.is_end() || r.finished_ms.is_none_or(|f| f >= before_ms)
                });
                if self.jobs.len() == before {
                    Applied::Stale
                } else {
                    Applied::Done
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, incarnation: u64) -> NodeRecord {
        NodeRecord {
            id,
            address: format!("127.0.0.1:{}", 5800 + id),
            role: Role::Hybrid,
            tags: BTreeMap::new(),
            slots: None,
            incarnation,
        }
    }

    #[test]
    fn newer_registrations_and_epochs_win_and_retries_are_harmless() {
        let mut m = JobStateMap::default();
        assert_eq!(m.apply(Command::RegisterNode(node(1, 2))), Applied::Done);
        assert_eq!(m.apply(Command::RegisterNode(node(1, 2))), Applied::Stale);
        assert_eq!(m.apply(Command::RegisterNode(node(1, 1))), Applied::Stale);
        assert_eq!(m.nodes[&1].incarnation, 2);
        assert_eq!(m.apply(Command::RegisterNode(node(1, 3))), Applied::Done);
        let e = |term| Command::MasterEpoch(MasterEpoch { term, node: 1 });
        assert_eq!(m.apply(e(3)), Applied::Done);
        assert_eq!(m.apply(e(3)), Applied::Stale);
        assert_eq!(m.apply(e(2)), Applied::Stale);
        assert_eq!(m.master.unwrap().term, 3);
    }

    fn job(id: u64) -> JobRecord {
        JobRecord {
            plan: JobPlan {
                job_id: JobId::from(id),
                job_name: "j".into(),
                bounded: true,
                vertices: Vec::new(),
                pipelines: Vec::new(),
                rows_per_second: None,
                bytes_per_second: None,
                checkpoint_interval_ms: None,
                checkpoint_timeout_ms: 60_000,
                retry_times: 3,
                retry_interval_ms: 3000,
                warnings: Vec::new(),
                tag_filter: BTreeMap::new(),
                env: Vec::new(),
            },
            file: "j.conf".into(),
            status: JobStatus::Created,
            history: vec![(JobStatus::Created, 1)],
            pipelines: BTreeMap::new(),
            submitted_ms: 1,
            finished_ms: None,
            error: None,
            master: 1,
            checkpoints: BTreeMap::new(),
            events: Vec::new(),
            resumed: false,
            checkpoint_history: Vec::new(),
            config: String::new(),
            plugins: BTreeMap::new(),
        }
    }

    #[test]
    fn a_job_id_is_taken_once_and_an_ended_job_keeps_its_end_until_it_expires() {
        let mut m = JobStateMap::default();
        assert_eq!(m.apply(Command::SubmitJob(Box::new(job(7)))), Applied::Done);
        assert!(
            matches!(m.apply(Command::SubmitJob(Box::new(job(7)))), Applied::Rejected(r) if r.contains("job id 7 is taken"))
        );
        let st = |status, at_ms, error: Option<&str>| Command::JobStatus {
            job: JobId::from(7),
            status,
            at_ms,
            error: error.map(String::from),
            by: Some(1),
        };
        assert_eq!(m.apply(st(JobStatus::Running, 2, None)), Applied::Done);
        // A job master that lost the job (another took it over) changes nothing.
        assert_eq!(
            m.apply(Command::JobMaster {
                job: JobId::from(7),
                node: 2
            }),
            Applied::Done
        );
        assert!(
            matches!(m.apply(st(JobStatus::Failed, 3, Some("zombie"))), Applied::Rejected(r) if r.contains("not job 7's job master"))
        );
        assert_eq!(
            m.apply(Command::JobMaster {
                job: JobId::from(7),
                node: 1
            }),
            Applied::Done
        );
        assert_eq!(m.apply(st(JobStatus::Running, 3, None)), Applied::Stale);
        assert_eq!(m.apply(st(JobStatus::Failed, 4, None)), Applied::Done);
        assert_eq!(
            m.apply(st(JobStatus::Failed, 4, Some("boom"))),
            Applied::Done
        );
        assert_eq!(
            m.apply(st(JobStatus::Failed, 4, Some("other"))),
            Applied::Stale
        );
        // A late message of a state it left, or a second end, changes nothing.
        assert_eq!(m.apply(st(JobStatus::Running, 5, None)), Applied::Stale);
        assert_eq!(m.apply(st(JobStatus::Finished, 6, None)), Applied::Stale);
        let r = &m.jobs[&JobId::from(7)];
        assert_eq!(r.status, JobStatus::Failed);
        assert_eq!(r.error.as_deref(), Some("boom"));
        assert_eq!(r.finished_ms, Some(4));
        let states: Vec<_> = r.history.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            states,
            [JobStatus::Created, JobStatus::Running, JobStatus::Failed]
        );
        assert_eq!(m.apply(Command::SubmitJob(Box::new(job(8)))), Applied::Done);
        assert_eq!(
            m.apply(Command::ExpireJobs { before_ms: 4 }),
            Applied::Stale
        );
        assert_eq!(m.apply(Command::ExpireJobs { before_ms: 5 }), Applied::Done);
        assert_eq!(m.jobs.keys().copied().collect::<Vec<_>>(), [JobId::from(8)]);
    }

    #[test]
    fn slots_are_reserved_all_or_none_and_freed_when_the_job_ends() {
        let mut m = JobStateMap::default();
        let mut static3 = node(1, 1);
        static3.slots = Some(3);
        m.apply(Command::RegisterNode(static3));
        m.apply(Command::RegisterNode(node(2, 1)));
        for id in [7, 8] {
            m.apply(Command::SubmitJob(Box::new(job(id))));
        }
        let on = |a: u32, b: u32| BTreeMap::from([(1, a), (2, b)]);
        let reserve = |job: u64, on| Command::ReserveSlots {
            job: JobId::from(job),
            on,
        };
        assert_eq!(m.apply(reserve(7, on(2, 10))), Applied::Done);
        assert_eq!(
            (m.slots_used(1), m.slots_free(1), m.slots_free(2)),
            (2, Some(1), None)
        );
        // Two more on node 1 do not fit: nothing of this request is taken.
        assert!(
            matches!(m.apply(reserve(8, on(2, 1))), Applied::Rejected(r) if r.contains("node 1 has 1 free, 2 wanted"))
        );
        assert_eq!(m.slots_used(2), 10);
        assert_eq!(m.apply(reserve(8, on(1, 1))), Applied::Done);
        assert_eq!(m.slots_free(1), Some(0));
        // The end of job 7 frees its slots.
        m.apply(Command::JobStatus {
            job: JobId::from(7),
            status: JobStatus::Finished,
            at_ms: 9,
            error: None,
            by: None,
        });
        assert_eq!((m.slots_used(1), m.slots_used(2)), (1, 1));
        assert_eq!(
            m.apply(reserve(7, on(1, 0))),
            Applied::Stale,
            "an ended job reserves nothing"
        );
        assert_eq!(
            m.apply(Command::ReleaseSlots {
                job: JobId::from(8)
            }),
            Applied::Done
        );
        assert_eq!(m.slots_used(1), 0);
    }
}
