//! Running one pipeline with checkpoints.
//!
//! The pipeline's coordinator (this module's [`run_attempt`]) owns the enumerators and the
//! committers and talks to the fused subtasks only through [`Command`]s and [`Event`]s. Split
//! assignments and checkpoint barriers leave the coordinator on the same ordered channel per
//! subtask, right after the enumerators' snapshot, so a split is either in the enumerator's
//! snapshot or in a reader's, never both and never neither. A subtask takes its snapshot between
//! two batches (its chain is fused, so nothing is in flight inside it), which is the aligned
//! barrier of Chandy–Lamport for this shape of pipeline.
//!
//! Writers prepare their commits at the barrier; the checkpoint is written durably; only then
//! do the committers commit (two-phase commit). A BATCH pipeline ends with a final checkpoint
//! that commits what the last interval wrote; a savepoint ends the pipeline resumable. A failed
//! attempt restarts from the latest durable checkpoint, up to `job.retry.times`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use st_checkpoint::{Action, Coordinator, Kind, RestorePlan, Settings, TaskSnapshot};
use st_runtime::{EnumeratorInstance, Runtime, RuntimeError, SinkCommitterInstance};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::protocol::{Command, Event, SplitMsg, TaskId, TaskMetrics, TaskRole};
use crate::{JobControl, PreparedJob, ctx};

/// Why an attempt failed, and whether running it again from a checkpoint may help: a crash,
/// a timeout or a retriable plugin error may; a plugin's fatal error, a broken contract or a
/// cancel will not.
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    pub retriable: bool,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            retriable: true,
        }
    }
}

impl From<RuntimeError> for Failure {
    fn from(e: RuntimeError) -> Self {
        let retriable = match &e {
            RuntimeError::Trap { .. } => true,
            RuntimeError::Plugin { error, .. } => {
                matches!(error, st_runtime::PluginError::Retriable(_))
            }
            RuntimeError::Host(m) => m != "cancelled",
            RuntimeError::Contract { .. }
            | RuntimeError::Load { .. }
            | RuntimeError::UnknownPlugin { .. } => false,
        };
        Failure {
            message: e.to_string(),
            retriable,
        }
    }
}

/// How a pipeline ended, when it did not fail.
pub(crate) enum Outcome {
    Finished(TaskMetrics),
    /// A savepoint was taken; the pipeline can be resumed from it.
    Savepointed(TaskMetrics),
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn subtask_key(index: u32) -> String {
    format!("subtask/{index}")
}

/// The subtask a task key of `subtask_key` names.
fn subtask_index(key: &str) -> Option<u32> {
    key.strip_prefix("subtask/")?.parse().ok()
}

/// Fits a checkpoint taken at another parallelism: the readers' splits of subtasks the job no
/// longer runs go to subtask `index % parallelism` (a higher parallelism needs nothing: the new
/// subtasks start with no splits).
fn rescale(plan: &mut RestorePlan, job: &PreparedJob, p: usize) {
    let pipeline = &job.pipelines[p];
    let par = pipeline.parallelism.max(1);
    let sources: Vec<String> = pipeline
        .sources
        .iter()
        .map(|&s| job.nodes[s].path.clone())
        .collect();
    let gone: Vec<u32> = plan
        .tasks
        .keys()
        .filter_map(|k| subtask_index(k))
        .filter(|&i| i >= par)
        .collect();
    for i in gone {
        plan.fold(&subtask_key(i), &subtask_key(i % par), &sources);
    }
}

fn enumerator_key(job: &PreparedJob, source: usize) -> String {
    format!("enumerator/{}", job.nodes[source].path)
}

/// Runs pipeline `p`, restarting it from its latest checkpoint after a failure.
pub(crate) async fn run_with_retries(
    rt: Arc<Runtime>,
    job: Arc<PreparedJob>,
    p: usize,
    control: JobControl,
) -> Result<Outcome, String> {
    let pipeline = job.pipelines[p].id;
    let mut restore = if control.resume {
        match &control.store {
            Some(store) => store
                .latest(pipeline)
                .await
                .map_err(|e| e.to_string())?
                .map(|c| c.restore_plan()),
            None => None,
        }
    } else {
        None
    };
    // Committers live across attempts: they only ever see durable checkpoints' infos.
    let plan = &job.pipelines[p];
    let mut committers: Vec<(usize, SinkCommitterInstance)> = Vec::new();
    for &sink in &plan.sinks {
        let node = &job.nodes[sink];
        let c = rt
            .sink_committer(
                &node.plugin,
                &node.options,
                &ctx(&job, sink, 0, plan.parallelism),
                &node.in_tables,
            )
            .await
            .map_err(|e| e.to_string())?;
        committers.push((sink, c));
    }
    let mut attempt = 0;
    loop {
        match run_attempt(&rt, &job, p, &control, restore.take(), &mut committers).await {
            Ok(outcome) => return Ok(outcome),
            Err(Failure { message, retriable }) => {
                if !retriable || job.cancel.is_cancelled() || attempt >= job.retry_times {
                    return Err(message);
                }
                attempt += 1;
                let from = match &control.store {
                    Some(store) => store.latest(pipeline).await.map_err(|e| e.to_string())?,
                    None => None,
                };
                eprintln!(
                    "Pipeline {pipeline} failed: {message}; restarting {} (retry {attempt} of {})",
                    from.as_ref()
                        .map_or("from the start".to_string(), |c| format!(
                            "from checkpoint {}",
                            c.id
                        )),
                    job.retry_times
                );
                restore = from.map(|c| c.restore_plan());
                tokio::time::sleep(job.retry_interval).await;
            }
        }
    }
}

struct Enumerator {
    node: usize,
    instance: EnumeratorInstance,
    done: bool,
    /// Restored from a checkpoint, whose assignments may name readers of a higher parallelism.
    restored: bool,
}

/// One attempt at running the pipeline, from `restore` or from the start.
async fn run_attempt(
    rt: &Arc<Runtime>,
    job: &Arc<PreparedJob>,
    p: usize,
    control: &JobControl,
    restore: Option<RestorePlan>,
    committers: &mut [(usize, SinkCommitterInstance)],
) -> Result<Outcome, Failure> {
    let plan = &job.pipelines[p];
    let par = plan.parallelism;
    let restore = restore.map(|mut r| {
        rescale(&mut r, job, p);
        r
    });
    let restored_from = restore.as_ref().map(|r| r.checkpoint);
    let err = Failure::from;

    // Commits a failure may have cut short run again first (they are idempotent).
    if let Some(r) = &restore {
        commit_all(job, committers, r.checkpoint, &r.recommit).await?;
    }

    let mut enumerators = Vec::new();
    for &source in &plan.sources {
        let node = &job.nodes[source];
        let state = restore.as_ref().and_then(|r| {
            r.task(&enumerator_key(job, source))
                .states
                .get(&node.path)
                .and_then(|s| s.first().cloned())
        });
        let restored = state.is_some();
        let instance = rt
            .enumerator(
                &node.plugin,
                &node.options,
                &ctx(job, source, 0, par),
                state,
            )
            .await
            .map_err(err)?;
        enumerators.push(Enumerator {
            node: source,
            instance,
            done: false,
            restored,
        });
    }

    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<Event>();
    let mut tasks = JoinSet::new();
    let mut cmds = Vec::new();
    for index in 0..par {
        let (tx, rx) = mpsc::unbounded_channel::<Command>();
        cmds.push(tx);
        let (rt, job, events) = (rt.clone(), job.clone(), event_tx.clone());
        let snapshot = restore
            .as_ref()
            .map(|r| r.task(&subtask_key(index)))
            .unwrap_or_default();
        let task = TaskId {
            job_id: job.job_id.clone(),
            pipeline: plan.id,
            role: TaskRole::Subtask { index },
        };
        tasks.spawn(async move {
            if let Err(e) = crate::subtask::run(&rt, &job, p, index, rx, &events, snapshot).await {
                let f = Failure::from(e);
                let _ = events.send(Event::Failed {
                    task,
                    error: f.message,
                    retriable: f.retriable,
                });
            }
        });
    }
    drop(event_tx);
    let result = coordinate(
        job,
        p,
        control,
        restored_from,
        &mut enumerators,
        committers,
        &cmds,
        &mut event_rx,
    )
    .await;
    if result.is_err() {
        for c in &cmds {
            let _ = c.send(Command::Cancel);
        }
        tasks.abort_all();
    }
    while tasks.join_next().await.is_some() {}
    let outcome = result?;
    if let Outcome::Finished(_) = &outcome {
        for (sink, c) in committers.iter_mut() {
            // Everything is committed; a committer refusing to close (an Assert rule broken by
            // the whole job's data) is final, not something a restart could change.
            c.close().await.map_err(|e| Failure {
                message: format!("{}: {e}", job.nodes[*sink].path),
                retriable: false,
            })?;
        }
    }
    Ok(outcome)
}

/// Commits `infos` (per sink path) for checkpoint `id`, retrying what the committer hands back.
async fn commit_all(
    job: &PreparedJob,
    committers: &mut [(usize, SinkCommitterInstance)],
    id: u64,
    infos: &BTreeMap<String, Vec<Vec<u8>>>,
) -> Result<(), String> {
    for (sink, c) in committers.iter_mut() {
        let path = &job.nodes[*sink].path;
        let mut pending = infos.get(path).cloned().unwrap_or_default();
        if pending.is_empty() {
            continue;
        }
        for attempt in 1..=3 {
            pending = c.commit(id, &pending).await.map_err(|e| e.to_string())?;
            if pending.is_empty() {
                break;
            }
            tracing::warn!(
                "{path}: {} commit infos to retry (attempt {attempt})",
                pending.len()
            );
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
        if !pending.is_empty() {
            return Err(format!(
                "{path}: {} commits of checkpoint {id} still failing after 3 attempts",
                pending.len()
            ));
        }
    }
    Ok(())
}

/// The coordinator's loop: enumerate, checkpoint, commit, until the pipeline ends.
#[allow(clippy::too_many_arguments)]
async fn coordinate(
    job: &Arc<PreparedJob>,
    p: usize,
    control: &JobControl,
    restored_from: Option<u64>,
    enumerators: &mut [Enumerator],
    committers: &mut [(usize, SinkCommitterInstance)],
    cmds: &[mpsc::UnboundedSender<Command>],
    events: &mut mpsc::UnboundedReceiver<Event>,
) -> Result<Outcome, Failure> {
    let plan = &job.pipelines[p];
    let par = plan.parallelism;
    let settings = Settings {
        interval_ms: job.checkpoint_interval_ms,
        timeout_ms: job.checkpoint_timeout_ms,
    };
    let keys: Vec<String> = (0..par).map(subtask_key).collect();
    let mut coord = Coordinator::new(plan.id, settings, keys, restored_from, now_ms());
    let mut drained = 0;
    let mut finished = 0;
    let mut ending: Option<Kind> = None;
    let mut metrics = TaskMetrics::default();
    let mut savepoint_asked = false;
    let mut savepoint_deadline: Option<Instant> = None;
    // A subtask waits for a checkpoint to replace a writer near its memory cap.
    let mut checkpoint_wanted = false;
    // Enumerator snapshots of the checkpoint in flight, joined to the subtasks' at completion.
    let mut enumerator_states: Vec<(String, TaskSnapshot)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut actions = Vec::new();
        tokio::select! {
            ev = events.recv() => match ev {
                Some(Event::Ack { task, id, snapshot }) => {
                    let key = match task.role {
                        TaskRole::Subtask { index } => subtask_key(index),
                        _ => return Err(format!("unexpected acknowledgement from {task}").into()),
                    };
                    actions = coord.ack(&key, id, snapshot, now_ms()).map_err(|e| e.to_string())?;
                }
                Some(Event::Drained { .. }) => {
                    drained += 1;
                }
                Some(Event::WantCheckpoint { .. }) => {
                    checkpoint_wanted = true;
                }
                Some(Event::Finished { metrics: m, .. }) => {
                    finished += 1;
                    metrics.merge(m);
                    if finished == par {
                        return Ok(match ending {
                            Some(Kind::Savepoint) => Outcome::Savepointed(metrics),
                            _ => Outcome::Finished(metrics),
                        });
                    }
                }
                Some(Event::Failed { task, error, retriable }) => {
                    tracing::debug!("{task} failed");
                    return Err(Failure { message: error, retriable });
                }
                None => return Err("the pipeline's tasks stopped without reporting".to_string().into()),
            },
            _ = tick.tick() => {
                for e in enumerators.iter_mut().filter(|e| !e.done) {
                    enumerate(job, e, par, cmds).await?;
                }
                actions = coord.tick(now_ms());
            }
        }
        if ending.is_none() {
            if control.savepoint.is_cancelled() && !savepoint_asked {
                savepoint_asked = true;
                savepoint_deadline =
                    Some(Instant::now() + Duration::from_millis(job.checkpoint_timeout_ms));
                actions.extend(coord.request(Kind::Savepoint, now_ms()));
            } else if job.bounded
                && drained == par
                && enumerators.iter().all(|e| e.done)
                && !savepoint_asked
            {
                ending = Some(Kind::Final);
                actions.extend(coord.request(Kind::Final, now_ms()));
            } else if checkpoint_wanted && !coord.busy() {
                // (When one is in flight, the subtask may have passed its barrier already.)
                checkpoint_wanted = false;
                actions.extend(coord.request(Kind::Periodic, now_ms()));
            }
        }
        if savepoint_deadline.is_some_and(|d| Instant::now() > d) {
            // A plugin stuck in a call never reaches the barrier: stop it instead.
            job.cancel.cancel();
            return Err(Failure {
                message: format!(
                    "the savepoint did not complete within {} ms; the job was cancelled",
                    job.checkpoint_timeout_ms
                ),
                retriable: false,
            });
        }
        for action in actions {
            match action {
                Action::Trigger { id, kind, .. } => {
                    // Enumerators snapshot here; the barriers follow their assignments on the
                    // same channels.
                    enumerator_states.clear();
                    for e in enumerators.iter_mut() {
                        let state = e
                            .instance
                            .snapshot_state(id)
                            .await
                            .map_err(|x| x.to_string())?;
                        let mut snap = TaskSnapshot::default();
                        snap.states
                            .insert(job.nodes[e.node].path.clone(), vec![state]);
                        enumerator_states.push((enumerator_key(job, e.node), snap));
                    }
                    if kind != Kind::Periodic {
                        ending = Some(kind);
                    }
                    for c in cmds {
                        let _ = c.send(Command::Barrier { id, kind });
                    }
                }
                Action::Persist(mut cp) => {
                    cp.tasks.extend(std::mem::take(&mut enumerator_states));
                    let id = cp.id;
                    let written = match &control.store {
                        Some(store) => store.write(&cp).await.map_err(|e| e.to_string()),
                        None => Ok(()),
                    };
                    let next = match written {
                        Ok(()) => coord.persisted(id).map_err(|e| e.to_string())?,
                        Err(e) => coord.persist_failed(id, &e),
                    };
                    for a in next {
                        match a {
                            Action::Commit { id, kind, infos } => {
                                commit_all(job, committers, id, &infos).await?;
                                for c in cmds {
                                    let _ = c.send(Command::CheckpointComplete { id });
                                }
                                for e in enumerators.iter_mut() {
                                    e.instance
                                        .notify_checkpoint_complete(id)
                                        .await
                                        .map_err(|x| x.to_string())?;
                                }
                                if let Some(store) = &control.store
                                    && let Err(e) = store.retain(plan.id, job.max_retained).await
                                {
                                    tracing::warn!("{e}");
                                }
                                if kind != Kind::Periodic {
                                    for c in cmds {
                                        let _ = c.send(Command::Finish);
                                    }
                                }
                            }
                            Action::Abort { reason, .. } => return Err(reason.into()),
                            _ => {}
                        }
                    }
                }
                Action::Abort { reason, .. } => {
                    // Writers already handed their prepared data to this checkpoint: the only
                    // way not to lose it is to go back to the previous one.
                    return Err(reason.into());
                }
                Action::Commit { .. } => {}
            }
        }
    }
}

/// One enumeration step: hand out new splits, then tell readers when there will be no more.
async fn enumerate(
    job: &PreparedJob,
    e: &mut Enumerator,
    parallelism: u32,
    cmds: &[mpsc::UnboundedSender<Command>],
) -> Result<(), String> {
    let node = &job.nodes[e.node];
    let step = e.instance.enumerate().await.map_err(|x| x.to_string())?;
    let mut per_reader: BTreeMap<u32, Vec<SplitMsg>> = BTreeMap::new();
    for (reader, split) in step.assignments {
        // A split kept for a reader that a lower parallelism removed goes to a remaining one.
        let reader = if e.restored && reader >= parallelism {
            reader % parallelism.max(1)
        } else {
            reader
        };
        if reader >= parallelism {
            return Err(RuntimeError::Contract {
                plugin: node.plugin.info.name.clone(),
                task: format!("{}.enumerator", node.path),
                message: format!(
                    "assigned split {} to reader {reader}, but there are {parallelism}",
                    split.id
                ),
            }
            .to_string());
        }
        per_reader.entry(reader).or_default().push(SplitMsg {
            id: split.id,
            data: split.data,
        });
    }
    for (reader, splits) in per_reader {
        let _ = cmds[reader as usize].send(Command::AssignSplits {
            source: e.node as u32,
            splits,
        });
    }
    if step.no_more_splits {
        e.done = true;
        for c in cmds {
            let _ = c.send(Command::NoMoreSplits {
                source: e.node as u32,
            });
        }
    }
    Ok(())
}
