//! One attempt at running a pipeline, driven by its coordinator.
//!
//! The coordinator reaches its tasks only through [`Command`]s and hears from them only through
//! [`Event`]s; an event from a task that is not live in this attempt (a late acknowledgement of
//! an attempt that failed) is dropped. A checkpoint goes through explicit steps ([`Barrier`]):
//! the enumerators snapshot first; only when all have acknowledged do the subtasks get the
//! barrier, so every split an enumerator handed out before its snapshot is ahead of the
//! barrier in its reader's channel, and one it handed out after is held back until then. The
//! checkpoint is written durably, the committers commit it, and only then are the tasks told
//! it completed (two-phase commit).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use st_checkpoint::{Action, CheckpointId, Kind, RestorePlan, Settings, TaskSnapshot};
use st_plan::{
    Attempt, Command, Event, Failure, FailureKind, JobEvent, JobPlan, PipelinePlan, SplitMsg,
    TaskId, TaskMetrics, TaskRole,
};
use tokio::sync::mpsc;

use super::pipeline_state::PipelineInput;
use super::{Live, Outcome, Tasks};
use crate::JobControl;

/// How often enumerators are asked for splits, checkpoints are timed, and cancels noticed.
pub(crate) const TICK: Duration = Duration::from_millis(20);

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where the attempt is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Committing again what the checkpoint it restarts from may not have committed; the
    /// readers start when every committer has answered.
    Restoring { waiting: BTreeSet<TaskId> },
    /// Reading and writing, with periodic checkpoints.
    Running,
    /// A final checkpoint or a savepoint is asked for or in flight: the attempt ends with it.
    Ending(Kind),
    /// `Finish` was sent; waiting for these tasks to close.
    Finishing {
        kind: Kind,
        waiting: BTreeSet<TaskId>,
    },
}

/// Where the checkpoint in flight is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Barrier {
    Idle,
    /// The enumerators have the barrier; the subtasks get it when these have acknowledged.
    Enumerators {
        id: CheckpointId,
        kind: Kind,
        waiting: BTreeSet<TaskId>,
    },
    /// The subtasks have the barrier.
    Subtasks {
        id: CheckpointId,
    },
    /// Durable; waiting for these committers.
    Committing {
        id: CheckpointId,
        kind: Kind,
        waiting: BTreeSet<TaskId>,
    },
}

impl Barrier {
    /// `task` answered checkpoint `id` at this step (an enumerator's acknowledgement, a
    /// committer's commit): the checkpoint's kind once no other task is awaited.
    fn answered(&mut self, id: CheckpointId, task: &TaskId) -> Option<Kind> {
        match self {
            Barrier::Enumerators {
                id: b,
                kind,
                waiting,
            }
            | Barrier::Committing {
                id: b,
                kind,
                waiting,
            } if *b == id => {
                waiting.remove(task);
                waiting.is_empty().then_some(*kind)
            }
            _ => None,
        }
    }
}

struct Enumerator {
    live: Live,
    source: u32,
    /// Asked for splits and not answered yet.
    asked: bool,
    /// Said it hands out no more.
    done: bool,
    /// Restored from a checkpoint, whose assignments may name readers of a higher parallelism.
    restored: bool,
}

/// Assignments an enumerator made after its snapshot, held until the subtasks have the barrier.
struct Held {
    source: u32,
    assignments: Vec<(u32, SplitMsg)>,
    no_more: bool,
}

/// The coordinator of one attempt.
pub(crate) struct Coordinator<'a> {
    plan: &'a JobPlan,
    pipeline: &'a PipelinePlan,
    control: &'a JobControl,
    attempt: Attempt,
    checkpoints: st_checkpoint::Coordinator,
    restore: Option<RestorePlan>,
    enumerators: Vec<Enumerator>,
    subtasks: Vec<Live>,
    pub(crate) phase: Phase,
    pub(crate) barrier: Barrier,
    held: Vec<Held>,
    drained: BTreeSet<TaskId>,
    metrics: TaskMetrics,
    /// The latest figures of each running subtask.
    pub(crate) progress: BTreeMap<TaskId, TaskMetrics>,
    /// A subtask waits for a checkpoint to replace a writer near its memory cap.
    checkpoint_wanted: bool,
    savepoint_deadline: Option<Instant>,
    /// When the committers were sent the commits the attempt waits for.
    committing_since: Option<Instant>,
    /// When the checkpoint in flight was triggered.
    triggered: Option<Instant>,
    /// The checkpoint in flight once persisted: its tasks and state bytes.
    persisted: (u32, u64),
    /// When progress was last reported.
    reported: Instant,
}

impl<'a> Coordinator<'a> {
    pub(crate) fn new(
        plan: &'a JobPlan,
        p: usize,
        control: &'a JobControl,
        attempt: Attempt,
        restore: Option<RestorePlan>,
    ) -> Coordinator<'a> {
        let pipeline = &plan.pipelines[p];
        let settings = Settings {
            interval_ms: plan.checkpoint_interval_ms,
            timeout_ms: plan.checkpoint_timeout_ms,
        };
        let keys = pipeline
            .sources
            .iter()
            .map(|&source| TaskRole::Enumerator { source })
            .chain((0..pipeline.parallelism).map(|index| TaskRole::Subtask { index }))
            .map(|r| r.key());
        let restored_from = restore.as_ref().map(|r| r.checkpoint);
        Coordinator {
            plan,
            pipeline,
            control,
            attempt,
            checkpoints: st_checkpoint::Coordinator::new(
                pipeline.id,
                settings,
                keys,
                restored_from,
                now_ms(),
            ),
            restore,
            enumerators: Vec::new(),
            subtasks: Vec::new(),
            phase: Phase::Running,
            barrier: Barrier::Idle,
            held: Vec::new(),
            drained: BTreeSet::new(),
            metrics: TaskMetrics::default(),
            progress: BTreeMap::new(),
            checkpoint_wanted: false,
            savepoint_deadline: None,
            committing_since: None,
            triggered: None,
            persisted: (0, 0),
            reported: Instant::now(),
        }
    }

    fn task(&self, role: TaskRole) -> TaskId {
        TaskId {
            job: self.plan.job_id,
            pipeline: self.pipeline.id,
            role,
            attempt: self.attempt,
        }
    }

    /// Runs the attempt to its end. Whatever the result, its enumerators and subtasks are
    /// stopped by then; the committers (in `tasks`) outlive it.
    pub(crate) async fn run(
        mut self,
        tasks: &mut Tasks<'_>,
        events: &mut mpsc::UnboundedReceiver<Event>,
    ) -> Result<Outcome, Failure> {
        let result = self.drive(tasks, events).await;
        let stopping = result.is_err();
        for t in self
            .enumerators
            .iter()
            .map(|e| &e.live)
            .chain(&self.subtasks)
        {
            if stopping {
                let _ = t.commands.send(Command::Cancel);
                t.handle.abort();
            }
        }
        // A task of a failed attempt must not go on writing while the next one starts.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        for t in self
            .enumerators
            .iter()
            .map(|e| &e.live)
            .chain(&self.subtasks)
        {
            if tokio::time::timeout_at(deadline, t.handle.ended())
                .await
                .is_err()
            {
                tracing::warn!("{} did not stop within 10 s", t.task);
            }
        }
        result
    }

    async fn drive(
        &mut self,
        tasks: &mut Tasks<'_>,
        events: &mut mpsc::UnboundedReceiver<Event>,
    ) -> Result<Outcome, Failure> {
        self.start(tasks);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let actions = tokio::select! {
                ev = events.recv() => {
                    let Some(ev) = ev else {
                        return Err(Failure::new(FailureKind::Host, "the pipeline's tasks stopped without reporting"));
                    };
                    if !self.is_live(ev.task(), tasks) {
                        tracing::debug!("dropped an event of {}, which is not live: {ev:?}", ev.task());
                        continue;
                    }
                    match self.on_event(ev, tasks)? {
                        Step::Go(actions) => actions,
                        Step::Done(outcome) => return Ok(outcome),
                    }
                }
                _ = tick.tick() => self.on_tick()?,
            };
            let mut actions = actions;
            actions.extend(self.maybe_request());
            self.act(actions, tasks).await?;
        }
    }

    /// Starts the attempt: commits again what a restore needs, else launches the tasks.
    fn start(&mut self, tasks: &mut Tasks<'_>) {
        let recommit = self
            .restore
            .as_ref()
            .map(|r| (r.checkpoint, r.recommit.clone()));
        if let Some((id, infos)) = recommit {
            let waiting = self.send_commits(tasks, id, &infos);
            if !waiting.is_empty() {
                self.phase = Phase::Restoring { waiting };
                self.committing_since = Some(Instant::now());
                return;
            }
        }
        self.launch(tasks);
    }

    /// Launches the enumerators and subtasks of this attempt.
    fn launch(&mut self, tasks: &mut Tasks<'_>) {
        let mut restore = self.restore.take();
        if let Some(r) = &mut restore {
            super::rescale(r, self.plan, self.pipeline);
        }
        let snapshot = |key: &str| restore.as_ref().map(|r| r.task(key)).unwrap_or_default();
        for &source in &self.pipeline.sources {
            let task = self.task(TaskRole::Enumerator { source });
            let restored = snapshot(&task.role.key());
            let was_restored = !restored.states.is_empty();
            self.enumerators.push(Enumerator {
                live: tasks.launch(task, restored),
                source,
                asked: false,
                done: false,
                restored: was_restored,
            });
        }
        for index in 0..self.pipeline.parallelism {
            let task = self.task(TaskRole::Subtask { index });
            let restored = snapshot(&task.role.key());
            self.subtasks.push(tasks.launch(task, restored));
        }
        self.phase = Phase::Running;
        tasks.status.apply(PipelineInput::Started);
    }

    fn is_live(&self, task: &TaskId, tasks: &Tasks<'_>) -> bool {
        match task.role {
            TaskRole::Committer { .. } => tasks.committers.iter().any(|c| c.task == *task),
            TaskRole::Enumerator { .. } => self.enumerators.iter().any(|e| e.live.task == *task),
            TaskRole::Subtask { .. } => self.subtasks.iter().any(|s| s.task == *task),
        }
    }

    fn on_tick(&mut self) -> Result<Vec<Action>, Failure> {
        if self.control.cancel.is_cancelled() {
            return Err(Failure::cancelled());
        }
        if self.savepoint_deadline.is_some_and(|d| Instant::now() > d) {
            // A plugin stuck in a call never reaches the barrier: stop it instead.
            self.control.cancel.cancel();
            return Err(Failure::new(
                FailureKind::Timeout,
                format!(
                    "the savepoint did not complete within {} ms; the job was cancelled",
                    self.plan.checkpoint_timeout_ms
                ),
            )
            .final_());
        }
        if let Some(since) = self.committing_since
            && since.elapsed() > Duration::from_millis(self.plan.checkpoint_timeout_ms)
        {
            return Err(Failure::new(
                FailureKind::Timeout,
                format!(
                    "the committers did not commit within {} ms",
                    self.plan.checkpoint_timeout_ms
                ),
            ));
        }
        if matches!(self.phase, Phase::Restoring { .. }) {
            return Ok(Vec::new());
        }
        if self.reported.elapsed() >= Duration::from_secs(1) {
            self.reported = Instant::now();
            self.control.emit(JobEvent::Progress {
                pipeline: self.pipeline.id,
                metrics: self.totals(),
            });
        }
        for e in self.enumerators.iter_mut().filter(|e| !e.done && !e.asked) {
            e.asked = true;
            let _ = e.live.commands.send(Command::RequestSplits);
        }
        // No new checkpoint while one is being committed.
        if matches!(self.barrier, Barrier::Committing { .. }) {
            return Ok(Vec::new());
        }
        Ok(self.checkpoints.tick(now_ms()))
    }

    /// What the attempt's tasks moved so far: the finished ones' and the running ones' latest.
    fn totals(&self) -> TaskMetrics {
        let mut m = self.metrics.clone();
        for p in self.progress.values() {
            m.merge(p.clone());
        }
        m
    }

    /// A savepoint, the final checkpoint of a drained BATCH pipeline, or a checkpoint a subtask
    /// waits for, when one is due.
    fn maybe_request(&mut self) -> Vec<Action> {
        if self.phase != Phase::Running {
            return Vec::new();
        }
        if self.control.savepoint.is_cancelled() {
            self.phase = Phase::Ending(Kind::Savepoint);
            self.savepoint_deadline =
                Some(Instant::now() + Duration::from_millis(self.plan.checkpoint_timeout_ms));
            return self.checkpoints.request(Kind::Savepoint, now_ms());
        }
        if self.plan.bounded
            && self.drained.len() == self.subtasks.len()
            && self.enumerators.iter().all(|e| e.done)
        {
            self.phase = Phase::Ending(Kind::Final);
            return self.checkpoints.request(Kind::Final, now_ms());
        }
        if self.checkpoint_wanted && !self.checkpoints.busy() && self.barrier == Barrier::Idle {
            // (When one is in flight, the subtask may have passed its barrier already.)
            self.checkpoint_wanted = false;
            return self.checkpoints.request(Kind::Periodic, now_ms());
        }
        Vec::new()
    }

    fn on_event(&mut self, ev: Event, tasks: &mut Tasks<'_>) -> Result<Step, Failure> {
        match ev {
            Event::Failed { failure, .. } => return Err(failure),
            Event::Splits {
                task,
                assignments,
                no_more,
            } => {
                let TaskRole::Enumerator { source } = task.role else {
                    return Err(confused(&task, "splits"));
                };
                if let Some(e) = self.enumerators.iter_mut().find(|e| e.source == source) {
                    e.asked = false;
                }
                let after_snapshot = matches!(&self.barrier,
                    Barrier::Enumerators { waiting, .. } if !waiting.contains(&task));
                let held = Held {
                    source,
                    assignments,
                    no_more,
                };
                if after_snapshot {
                    self.held.push(held);
                } else {
                    self.assign(held)?;
                }
            }
            Event::Ack { task, id, snapshot } => return self.on_ack(task, id, snapshot),
            Event::Committed { task, id } => return self.on_committed(task, id, tasks),
            Event::Drained { task } => {
                self.drained.insert(task);
            }
            Event::WantCheckpoint { .. } => self.checkpoint_wanted = true,
            Event::Metrics { task, metrics } => {
                self.progress.insert(task, metrics);
            }
            Event::Finished { task, metrics } => {
                self.progress.remove(&task);
                self.metrics.merge(metrics);
                if let Phase::Finishing { kind, waiting } = &mut self.phase {
                    waiting.remove(&task);
                    if waiting.is_empty() {
                        let metrics = std::mem::take(&mut self.metrics);
                        return Ok(Step::Done(match kind {
                            Kind::Savepoint => Outcome::Savepointed(metrics),
                            _ => Outcome::Finished(metrics),
                        }));
                    }
                }
            }
        }
        Ok(Step::Go(Vec::new()))
    }

    /// Hands an enumerator's splits to their readers' subtasks.
    fn assign(&mut self, h: Held) -> Result<(), Failure> {
        let par = self.pipeline.parallelism;
        let Some(e) = self.enumerators.iter_mut().find(|e| e.source == h.source) else {
            return Ok(());
        };
        let mut per_reader: BTreeMap<u32, Vec<SplitMsg>> = BTreeMap::new();
        for (reader, split) in h.assignments {
            // A split kept for a reader that a lower parallelism removed goes to a remaining one.
            let reader = if e.restored && reader >= par {
                reader % par.max(1)
            } else {
                reader
            };
            if reader >= par {
                let v = self.plan.vertex(h.source);
                return Err(Failure::new(
                    FailureKind::Contract,
                    format!(
                        "{} [{}.enumerator] broke the contract: assigned split {} to reader {reader}, but there are {par}",
                        v.plugin.name, v.path, split.id
                    ),
                ));
            }
            per_reader.entry(reader).or_default().push(split);
        }
        for (reader, splits) in per_reader {
            let _ = self.subtasks[reader as usize]
                .commands
                .send(Command::AssignSplits {
                    source: h.source,
                    splits,
                });
        }
        if h.no_more && !e.done {
            e.done = true;
            for s in &self.subtasks {
                let _ = s.commands.send(Command::NoMoreSplits { source: h.source });
            }
        }
        Ok(())
    }

    fn on_ack(
        &mut self,
        task: TaskId,
        id: CheckpointId,
        snapshot: TaskSnapshot,
    ) -> Result<Step, Failure> {
        let actions = self
            .checkpoints
            .ack(&task.role.key(), id, snapshot, now_ms())
            .map_err(|e| Failure::new(FailureKind::Host, e.to_string()))?;
        if matches!(self.barrier, Barrier::Enumerators { .. })
            && let Some(kind) = self.barrier.answered(id, &task)
        {
            for s in &self.subtasks {
                let _ = s.commands.send(Command::Barrier { id, kind });
            }
            self.barrier = Barrier::Subtasks { id };
            for h in std::mem::take(&mut self.held) {
                self.assign(h)?;
            }
        }
        Ok(Step::Go(actions))
    }

    fn on_committed(
        &mut self,
        task: TaskId,
        id: CheckpointId,
        tasks: &mut Tasks<'_>,
    ) -> Result<Step, Failure> {
        if let Phase::Restoring { waiting } = &mut self.phase {
            waiting.remove(&task);
            if waiting.is_empty() {
                self.committing_since = None;
                self.launch(tasks);
            }
            return Ok(Step::Go(Vec::new()));
        }
        if matches!(self.barrier, Barrier::Committing { .. })
            && let Some(kind) = self.barrier.answered(id, &task)
        {
            self.completed(id, kind);
        }
        Ok(Step::Go(Vec::new()))
    }

    /// Checkpoint `id` is durable and committed: the tasks hear it; an ending one finishes them.
    fn completed(&mut self, id: CheckpointId, kind: Kind) {
        self.barrier = Barrier::Idle;
        self.committing_since = None;
        if let Some(t) = self.triggered.take() {
            self.control.emit(JobEvent::CheckpointCompleted {
                pipeline: self.pipeline.id,
                id,
                kind,
                duration_ms: u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
                tasks: self.persisted.0,
                size_bytes: self.persisted.1,
            });
        }
        let running = || {
            self.enumerators
                .iter()
                .map(|e| &e.live)
                .chain(&self.subtasks)
        };
        for t in running() {
            let _ = t.commands.send(Command::CheckpointComplete { id });
        }
        if kind != Kind::Periodic {
            for t in running() {
                let _ = t.commands.send(Command::Finish);
            }
            self.savepoint_deadline = None;
            self.phase = Phase::Finishing {
                kind,
                waiting: running().map(|t| t.task).collect(),
            };
        }
    }

    /// Sends checkpoint `id`'s commit infos to the committers that have some; returns those.
    fn send_commits(
        &self,
        tasks: &Tasks<'_>,
        id: CheckpointId,
        infos: &BTreeMap<String, Vec<Vec<u8>>>,
    ) -> BTreeSet<TaskId> {
        let mut waiting = BTreeSet::new();
        for c in &tasks.committers {
            let TaskRole::Committer { sink } = c.task.role else {
                continue;
            };
            let Some(infos) = infos
                .get(&self.plan.vertex(sink).path)
                .filter(|i| !i.is_empty())
            else {
                continue;
            };
            let _ = c.commands.send(Command::Commit {
                id,
                infos: infos.clone(),
            });
            waiting.insert(c.task);
        }
        waiting
    }

    async fn act(&mut self, actions: Vec<Action>, tasks: &mut Tasks<'_>) -> Result<(), Failure> {
        for action in actions {
            match action {
                Action::Trigger { id, kind, .. } => {
                    if kind != Kind::Periodic {
                        self.phase = Phase::Ending(kind);
                    }
                    let waiting: BTreeSet<TaskId> =
                        self.enumerators.iter().map(|e| e.live.task).collect();
                    for e in &self.enumerators {
                        let _ = e.live.commands.send(Command::Barrier { id, kind });
                    }
                    self.triggered = Some(Instant::now());
                    self.barrier = Barrier::Enumerators { id, kind, waiting };
                }
                Action::Persist(cp) => {
                    self.persisted = (
                        u32::try_from(cp.tasks.len()).unwrap_or(u32::MAX),
                        cp.state_bytes(),
                    );
                    let id = cp.id;
                    let kind = cp.kind;
                    let infos = cp.commit_infos();
                    let written = match &self.control.store {
                        Some(store) => store.write(&cp).await.map_err(|e| e.to_string()),
                        None => Ok(()),
                    };
                    let next = match written {
                        Ok(()) => self
                            .checkpoints
                            .persisted(id)
                            .map_err(|e| Failure::new(FailureKind::Host, e.to_string()))?,
                        Err(e) => self.checkpoints.persist_failed(id, &e),
                    };
                    for a in next {
                        match a {
                            Action::Commit { .. } => {
                                if let Some(store) = &self.control.store
                                    && let Err(e) = store
                                        .retain(self.pipeline.id, self.control.max_retained)
                                        .await
                                {
                                    tracing::warn!("{e}");
                                }
                                let waiting = self.send_commits(tasks, id, &infos);
                                if waiting.is_empty() {
                                    self.completed(id, kind);
                                } else {
                                    self.barrier = Barrier::Committing { id, kind, waiting };
                                    self.committing_since = Some(Instant::now());
                                }
                            }
                            Action::Abort { reason, .. } => {
                                return Err(Failure::new(FailureKind::Storage, reason));
                            }
                            _ => {}
                        }
                    }
                }
                Action::Abort { reason, .. } => {
                    // Writers already handed their prepared data to this checkpoint: the only
                    // way not to lose it is to go back to the previous one.
                    return Err(Failure::new(FailureKind::Timeout, reason));
                }
                Action::Commit { .. } => {}
            }
        }
        Ok(())
    }
}

/// What handling an event leads to.
enum Step {
    Go(Vec<Action>),
    Done(Outcome),
}

fn confused(task: &TaskId, what: &str) -> Failure {
    Failure::new(
        FailureKind::Host,
        format!("{task} sent {what}, which its role does not send"),
    )
}
