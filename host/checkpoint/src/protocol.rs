//! The checkpoint coordinator of one pipeline, as a state machine over plain data: no clocks,
//! no I/O, no channels. The engine feeds it time and acknowledgements and carries out the
//! actions it returns; the same machine drives local mode and, later, the cluster.
//!
//! One checkpoint is in flight at a time (SeaTunnel's default). A checkpoint completes when
//! every task that was running when it was triggered has acknowledged it with its snapshot;
//! only then may the engine persist it, and only once it is persisted may committers commit
//! (two-phase commit). A checkpoint that is not acknowledged within the timeout, or that a task
//! declines, is aborted; the writers' prepared data for it is rolled back by the next restore.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::bytes64;

/// Checkpoint ids grow by one per trigger, across restores.
pub type CheckpointId = u64;

/// A task of the pipeline as the coordinator knows it: `enumerator/source[0](FakeSource)`,
/// `subtask/3`, ... The engine chooses the names; they only need to be stable across restores.
pub type TaskKey = String;

/// Why a checkpoint is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Periodic, every `checkpoint.interval`.
    Periodic,
    /// Asked for by the user (SIGINT/SIGTERM, `st savepoint`): the job stops after it.
    Savepoint,
    /// The end of a BATCH job: commits what the last interval wrote.
    Final,
}

/// What one task put into a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSnapshot {
    /// Per plugin of the task (by its path, e.g. `source[0](FakeSource)`), its opaque states:
    /// a reader's splits, a writer's states, an enumerator's state.
    #[serde(with = "bytes64::nested")]
    pub states: BTreeMap<String, Vec<Vec<u8>>>,
    /// Per sink (by its path), the commit infos its writer prepared at this barrier.
    #[serde(with = "bytes64::nested")]
    pub commit_infos: BTreeMap<String, Vec<Vec<u8>>>,
}

/// A completed checkpoint: everything needed to restore the pipeline and finish its commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: CheckpointId,
    pub pipeline: u32,
    pub kind: Kind,
    /// Milliseconds since the epoch, as the engine's clock said when it completed.
    pub completed_at_ms: u64,
    pub tasks: BTreeMap<TaskKey, TaskSnapshot>,
}

impl Checkpoint {
    /// The bytes of its states and commit infos, over all tasks.
    pub fn state_bytes(&self) -> u64 {
        let len = |m: &BTreeMap<String, Vec<Vec<u8>>>| -> u64 {
            m.values().flatten().map(|b| b.len() as u64).sum()
        };
        self.tasks
            .values()
            .map(|s| len(&s.states) + len(&s.commit_infos))
            .sum()
    }

    /// Every commit info of a sink, over all tasks, in task order.
    pub fn commit_infos(&self) -> BTreeMap<String, Vec<Vec<u8>>> {
        let mut out: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for snap in self.tasks.values() {
            for (sink, infos) in &snap.commit_infos {
                out.entry(sink.clone())
                    .or_default()
                    .extend(infos.iter().cloned());
            }
        }
        out
    }

    /// What a restored task starts from: its own snapshot (empty for a task the checkpoint
    /// did not know, e.g. after a parallelism change), and the commits to re-run, which are
    /// idempotent, because a failure may have come between persisting and committing.
    pub fn restore_plan(&self) -> RestorePlan {
        RestorePlan {
            checkpoint: self.id,
            tasks: self.tasks.clone(),
            recommit: self.commit_infos(),
        }
    }
}

/// How a pipeline restarts from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    pub checkpoint: CheckpointId,
    pub tasks: BTreeMap<TaskKey, TaskSnapshot>,
    /// Per sink, the infos to commit again before anything else runs.
    pub recommit: BTreeMap<String, Vec<Vec<u8>>>,
}

impl RestorePlan {
    /// The snapshot of one task (empty when it had none).
    pub fn task(&self, key: &str) -> TaskSnapshot {
        self.tasks.get(key).cloned().unwrap_or_default()
    }

    /// Hands the states under `paths` of task `from`, which the restored job no longer runs
    /// (a lower parallelism), to task `into`, and forgets the rest of `from`: its readers'
    /// splits must go on being read, nothing else of it is needed to continue.
    pub fn fold(&mut self, from: &str, into: &str, paths: &[String]) {
        let Some(gone) = self.tasks.remove(from) else {
            return;
        };
        let target = self.tasks.entry(into.to_string()).or_default();
        for path in paths {
            if let Some(states) = gone.states.get(path) {
                target
                    .states
                    .entry(path.clone())
                    .or_default()
                    .extend(states.iter().cloned());
            }
        }
    }
}

/// Settings, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Between periodic checkpoints; `None`: only final checkpoints and savepoints.
    pub interval_ms: Option<u64>,
    pub timeout_ms: u64,
}

/// What the engine must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Inject barrier `id` into these tasks (sources first; the fused chain carries it on).
    Trigger {
        id: CheckpointId,
        kind: Kind,
        tasks: Vec<TaskKey>,
    },
    /// Every task acknowledged: write it durably, then call [`Coordinator::persisted`].
    Persist(Checkpoint),
    /// The checkpoint is durable: committers commit these infos, readers and enumerators are
    /// told it completed.
    Commit {
        id: CheckpointId,
        kind: Kind,
        infos: BTreeMap<String, Vec<Vec<u8>>>,
    },
    /// The checkpoint failed; tasks drop what they prepared for it. `restore` is set when the
    /// failure must restart the pipeline from the latest completed checkpoint (a timeout).
    Abort {
        id: CheckpointId,
        reason: String,
        restore: bool,
    },
}

/// A message that does not fit the protocol's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("task `{task}` acknowledged checkpoint {id}, which is not in flight")]
    NotInFlight { task: TaskKey, id: CheckpointId },
    #[error("task `{task}` is not part of checkpoint {id}")]
    UnknownTask { task: TaskKey, id: CheckpointId },
    #[error("task `{task}` acknowledged checkpoint {id} twice")]
    Duplicate { task: TaskKey, id: CheckpointId },
    #[error("checkpoint {id} is not waiting to be persisted")]
    NotCompleted { id: CheckpointId },
}

#[derive(Debug)]
struct InFlight {
    id: CheckpointId,
    kind: Kind,
    started_ms: u64,
    waiting: BTreeSet<TaskKey>,
    acks: BTreeMap<TaskKey, TaskSnapshot>,
}

/// The coordinator of one pipeline.
#[derive(Debug)]
pub struct Coordinator {
    pipeline: u32,
    settings: Settings,
    running: BTreeSet<TaskKey>,
    next_id: CheckpointId,
    last_trigger_ms: u64,
    in_flight: Option<InFlight>,
    /// Completed and handed out for persisting, not yet durable.
    persisting: Option<Checkpoint>,
    latest_durable: Option<CheckpointId>,
    /// A savepoint or final checkpoint asked for while another was in flight.
    queued: Option<Kind>,
}

impl Coordinator {
    /// A coordinator for `tasks`; `restored_from` is the checkpoint the pipeline restarts from,
    /// so ids continue after it.
    pub fn new(
        pipeline: u32,
        settings: Settings,
        tasks: impl IntoIterator<Item = TaskKey>,
        restored_from: Option<CheckpointId>,
        now_ms: u64,
    ) -> Coordinator {
        Coordinator {
            pipeline,
            settings,
            running: tasks.into_iter().collect(),
            next_id: restored_from.map_or(1, |id| id + 1),
            last_trigger_ms: now_ms,
            in_flight: None,
            persisting: None,
            latest_durable: restored_from,
            queued: None,
        }
    }

    /// The latest checkpoint known to be durable.
    pub fn latest_durable(&self) -> Option<CheckpointId> {
        self.latest_durable
    }

    /// Whether a checkpoint is being taken or persisted.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some() || self.persisting.is_some()
    }

    /// Advances time: triggers a periodic (or queued) checkpoint when due, aborts one that
    /// timed out.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(f) = &self.in_flight
            && now_ms.saturating_sub(f.started_ms) > self.settings.timeout_ms
        {
            let (id, waiting) = (f.id, f.waiting.iter().cloned().collect::<Vec<_>>());
            self.in_flight = None;
            actions.push(Action::Abort {
                id,
                reason: format!(
                    "checkpoint {id} timed out after {} ms waiting for {}",
                    self.settings.timeout_ms,
                    waiting.join(", ")
                ),
                restore: true,
            });
        }
        if !self.busy() {
            if let Some(kind) = self.queued.take() {
                actions.extend(self.start(kind, now_ms));
            } else if let Some(interval) = self.settings.interval_ms
                && now_ms.saturating_sub(self.last_trigger_ms) >= interval
            {
                actions.extend(self.start(Kind::Periodic, now_ms));
            }
        }
        actions
    }

    /// Asks for a savepoint or a final checkpoint: now if nothing is in flight, else after it.
    pub fn request(&mut self, kind: Kind, now_ms: u64) -> Vec<Action> {
        if self.busy() {
            // A savepoint outranks a final checkpoint, both outrank periodic ones.
            if self.queued != Some(Kind::Savepoint) {
                self.queued = Some(kind);
            }
            return Vec::new();
        }
        self.start(kind, now_ms).into_iter().collect()
    }

    fn start(&mut self, kind: Kind, now_ms: u64) -> Option<Action> {
        if self.running.is_empty() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.last_trigger_ms = now_ms;
        let tasks: Vec<TaskKey> = self.running.iter().cloned().collect();
        self.in_flight = Some(InFlight {
            id,
            kind,
            started_ms: now_ms,
            waiting: self.running.clone(),
            acks: BTreeMap::new(),
        });
        Some(Action::Trigger { id, kind, tasks })
    }

    /// A task acknowledged barrier `id` with its snapshot. Returns `Persist` once every task
    /// has.
    pub fn ack(
        &mut self,
        task: &str,
        id: CheckpointId,
        snapshot: TaskSnapshot,
        now_ms: u64,
    ) -> Result<Vec<Action>, ProtocolError> {
        let Some(f) = self.in_flight.as_mut().filter(|f| f.id == id) else {
            return Err(ProtocolError::NotInFlight {
                task: task.into(),
                id,
            });
        };
        if f.acks.contains_key(task) {
            return Err(ProtocolError::Duplicate {
                task: task.into(),
                id,
            });
        }
        if !f.waiting.remove(task) {
            return Err(ProtocolError::UnknownTask {
                task: task.into(),
                id,
            });
        }
        f.acks.insert(task.to_string(), snapshot);
        if !f.waiting.is_empty() {
            return Ok(Vec::new());
        }
        let f = self.in_flight.take().expect("checked above");
        let cp = Checkpoint {
            id: f.id,
            pipeline: self.pipeline,
            kind: f.kind,
            completed_at_ms: now_ms,
            tasks: f.acks,
        };
        self.persisting = Some(cp.clone());
        Ok(vec![Action::Persist(cp)])
    }

    /// A task could not snapshot: the checkpoint is aborted and the pipeline restarts.
    pub fn decline(&mut self, task: &str, id: CheckpointId, reason: &str) -> Vec<Action> {
        match &self.in_flight {
            Some(f) if f.id == id => {
                self.in_flight = None;
                vec![Action::Abort {
                    id,
                    reason: format!("{task} could not take checkpoint {id}: {reason}"),
                    restore: true,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The engine wrote checkpoint `id` durably: commits may run now.
    pub fn persisted(&mut self, id: CheckpointId) -> Result<Vec<Action>, ProtocolError> {
        let Some(cp) = self.persisting.take_if(|c| c.id == id) else {
            return Err(ProtocolError::NotCompleted { id });
        };
        self.latest_durable = Some(id);
        Ok(vec![Action::Commit {
            id,
            kind: cp.kind,
            infos: cp.commit_infos(),
        }])
    }

    /// Writing checkpoint `id` failed: it never happened.
    pub fn persist_failed(&mut self, id: CheckpointId, reason: &str) -> Vec<Action> {
        match self.persisting.take_if(|c| c.id == id) {
            Some(_) => vec![Action::Abort {
                id,
                reason: format!("checkpoint {id} could not be written: {reason}"),
                restore: false,
            }],
            None => Vec::new(),
        }
    }

    /// A task ended (a BATCH reader ran dry, or it failed): later checkpoints do not wait for
    /// it. An in-flight checkpoint it had not acknowledged is aborted, since its state after
    /// the barrier is unknown.
    pub fn task_finished(&mut self, task: &str) -> Vec<Action> {
        self.running.remove(task);
        match &self.in_flight {
            Some(f) if f.waiting.contains(task) => {
                let id = f.id;
                self.in_flight = None;
                vec![Action::Abort {
                    id,
                    reason: format!("{task} ended before acknowledging checkpoint {id}"),
                    restore: false,
                }]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Settings = Settings {
        interval_ms: Some(1000),
        timeout_ms: 500,
    };

    fn tasks() -> Vec<TaskKey> {
        vec!["enumerator".into(), "subtask/0".into(), "subtask/1".into()]
    }

    fn snap(sink_info: &str) -> TaskSnapshot {
        let mut s = TaskSnapshot::default();
        s.commit_infos
            .insert("sink".into(), vec![sink_info.as_bytes().to_vec()]);
        s
    }

    fn trigger(actions: &[Action]) -> (CheckpointId, Kind) {
        match actions {
            [Action::Trigger { id, kind, .. }] => (*id, *kind),
            other => panic!("expected one trigger, got {other:?}"),
        }
    }

    #[test]
    fn completes_when_every_task_acks_and_commits_only_once_durable() {
        let mut c = Coordinator::new(0, SETTINGS, tasks(), None, 0);
        assert!(c.tick(999).is_empty(), "not due yet");
        let (id, kind) = trigger(&c.tick(1000));
        assert_eq!((id, kind), (1, Kind::Periodic));
        assert!(c.tick(1400).is_empty(), "one checkpoint at a time");
        assert!(
            c.ack("enumerator", 1, TaskSnapshot::default(), 1100)
                .unwrap()
                .is_empty()
        );
        assert!(c.ack("subtask/0", 1, snap("a"), 1100).unwrap().is_empty());
        let persist = c.ack("subtask/1", 1, snap("b"), 1200).unwrap();
        let [Action::Persist(cp)] = persist.as_slice() else {
            panic!("{persist:?}")
        };
        assert_eq!(cp.tasks.len(), 3);
        assert_eq!(cp.completed_at_ms, 1200);
        // Not durable yet: no commit, and nothing new is triggered.
        assert!(c.busy());
        assert!(c.tick(5000).is_empty());
        let commit = c.persisted(1).unwrap();
        assert_eq!(
            commit,
            vec![Action::Commit {
                id: 1,
                kind: Kind::Periodic,
                infos: BTreeMap::from([("sink".to_string(), vec![b"a".to_vec(), b"b".to_vec()])]),
            }]
        );
        assert_eq!(c.latest_durable(), Some(1));
        assert_eq!(trigger(&c.tick(5000)).0, 2);
    }

    #[test]
    fn a_timeout_aborts_and_asks_for_a_restore() {
        let mut c = Coordinator::new(0, SETTINGS, tasks(), None, 0);
        let (id, _) = trigger(&c.tick(1000));
        c.ack("enumerator", id, TaskSnapshot::default(), 1000)
            .unwrap();
        let actions = c.tick(1501);
        let [
            Action::Abort {
                id: 1,
                reason,
                restore: true,
            },
        ] = actions.as_slice()
        else {
            panic!("{actions:?}")
        };
        assert!(reason.contains("timed out after 500 ms"), "{reason}");
        assert!(reason.contains("subtask/0, subtask/1"), "{reason}");
        // A late ack for the aborted checkpoint is refused, and the next one starts fresh.
        assert!(matches!(
            c.ack("subtask/0", 1, TaskSnapshot::default(), 1600),
            Err(ProtocolError::NotInFlight { .. })
        ));
        assert_eq!(trigger(&c.tick(2600)).0, 2);
    }

    #[test]
    fn wrong_acks_are_errors() {
        let mut c = Coordinator::new(0, SETTINGS, tasks(), None, 0);
        let (id, _) = trigger(&c.tick(1000));
        c.ack("subtask/0", id, TaskSnapshot::default(), 1000)
            .unwrap();
        assert!(matches!(
            c.ack("subtask/0", id, TaskSnapshot::default(), 1000),
            Err(ProtocolError::Duplicate { .. })
        ));
        assert!(matches!(
            c.ack("subtask/9", id, TaskSnapshot::default(), 1000),
            Err(ProtocolError::UnknownTask { .. })
        ));
        assert!(matches!(
            c.persisted(id),
            Err(ProtocolError::NotCompleted { .. })
        ));
    }

    #[test]
    fn a_decline_or_a_finished_task_aborts_the_checkpoint_in_flight() {
        let mut c = Coordinator::new(0, SETTINGS, tasks(), None, 0);
        let (id, _) = trigger(&c.tick(1000));
        let a = c.decline("subtask/1", id, "prepare-commit failed");
        assert!(
            matches!(a.as_slice(), [Action::Abort { restore: true, .. }]),
            "{a:?}"
        );
        let (id, _) = trigger(&c.tick(2000));
        let a = c.task_finished("subtask/1");
        assert!(
            matches!(a.as_slice(), [Action::Abort { restore: false, .. }]),
            "{a:?}"
        );
        // Later checkpoints only wait for the tasks still running.
        let (next, _) = trigger(&c.tick(3000));
        assert!(next > id);
        c.ack("enumerator", next, TaskSnapshot::default(), 3000)
            .unwrap();
        let a = c
            .ack("subtask/0", next, TaskSnapshot::default(), 3000)
            .unwrap();
        assert!(matches!(a.as_slice(), [Action::Persist(_)]), "{a:?}");
    }

    #[test]
    fn savepoints_and_final_checkpoints_wait_for_the_one_in_flight() {
        let settings = Settings {
            interval_ms: None,
            timeout_ms: 500,
        };
        let mut c = Coordinator::new(0, settings, tasks(), Some(41), 0);
        assert!(
            c.tick(100_000).is_empty(),
            "no interval, no periodic checkpoints"
        );
        let (id, kind) = trigger(&c.request(Kind::Final, 0));
        assert_eq!(
            (id, kind),
            (42, Kind::Final),
            "ids continue after the restored one"
        );
        assert!(
            c.request(Kind::Savepoint, 10).is_empty(),
            "queued behind 42"
        );
        for t in tasks() {
            c.ack(&t, 42, TaskSnapshot::default(), 20).unwrap();
        }
        c.persisted(42).unwrap();
        assert_eq!(trigger(&c.tick(30)), (43, Kind::Savepoint));
    }

    #[test]
    fn a_restore_plan_recommits_and_hands_each_task_its_state() {
        let mut states = BTreeMap::new();
        states.insert("subtask/0".to_string(), snap("x"));
        let cp = Checkpoint {
            id: 7,
            pipeline: 0,
            kind: Kind::Periodic,
            completed_at_ms: 0,
            tasks: states,
        };
        let plan = cp.restore_plan();
        assert_eq!(plan.checkpoint, 7);
        assert_eq!(plan.recommit["sink"], vec![b"x".to_vec()]);
        assert_eq!(plan.task("subtask/0"), snap("x"));
        assert_eq!(plan.task("subtask/5"), TaskSnapshot::default());
    }

    #[test]
    fn a_removed_task_hands_its_splits_on() {
        let snap = |states: &[(&str, &[u8])]| TaskSnapshot {
            states: states
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_vec()]))
                .collect(),
            ..TaskSnapshot::default()
        };
        let mut plan = RestorePlan {
            checkpoint: 7,
            tasks: BTreeMap::from([
                (
                    "subtask/0".to_string(),
                    snap(&[("source", b"a"), ("sink", b"w0")]),
                ),
                (
                    "subtask/1".to_string(),
                    snap(&[("source", b"b"), ("sink", b"w1")]),
                ),
            ]),
            recommit: BTreeMap::new(),
        };
        plan.fold("subtask/1", "subtask/0", &["source".to_string()]);
        assert_eq!(plan.tasks.len(), 1);
        let kept = plan.task("subtask/0");
        assert_eq!(kept.states["source"], vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(kept.states["sink"], vec![b"w0".to_vec()]);
        // Folding a task that is not there changes nothing.
        plan.fold("subtask/5", "subtask/0", &["source".to_string()]);
        assert_eq!(plan.task("subtask/0"), kept);
    }
}
