//! One fused subtask of a pipeline: its readers, the pipeline's transforms and writers, run on
//! one task. Between two batches it handles the coordinator's commands (splits, barriers,
//! checkpoint completions, finish, cancel); otherwise it reads a batch from each reader and
//! pushes it through the fused chain.
//!
//! When both reading a batch and pushing one through the chain take long enough to be worth
//! a hand-over between threads, the reader reads its next batch on a thread of its own while
//! the chain works (each instance has its own store, so the two can run at once). Before any
//! command is handled, that read is awaited and its batch pushed through the chain, so nothing
//! is in flight inside the subtask when it takes a snapshot.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use st_checkpoint::{Kind, TaskSnapshot};
use st_conf::ReadAhead;
use st_core::{Batch, PluginKind};
use st_plan::{Command, Event, SplitMsg, TaskId, TaskMetrics, TaskRole};
use st_runtime::{
    PollStatus, ReaderInstance, Runtime, RuntimeError, SandboxSpec, SinkWriterInstance, Split,
    TaskContext, TransformInstance,
};

use super::{Commands, Events};
use crate::{BATCH_ROWS, PreparedJob};

/// How often a running subtask reports what it moved so far.
const METRICS_EVERY: Duration = Duration::from_secs(1);

/// Records an instance replaced near its memory cap (`what` says which kind, for the log).
fn recycled_instance(metrics: &mut TaskMetrics, task: String, peak_memory: usize, what: &str) {
    tracing::info!(
        task,
        memory = peak_memory,
        "recycled a {what} near its memory cap"
    );
    metrics.peak_memory.push((task, peak_memory as u64));
    metrics.recycled += 1;
}

/// What the subtask does next, once its commands are handled.
enum Phase {
    /// Reading and writing.
    Running,
    /// Readers ran dry (BATCH) or a savepoint was taken: only barriers and `Finish` matter.
    Waiting,
    /// `Finish` was handled: the subtask ends.
    Done,
}

type Polled = Result<(Option<Batch>, PollStatus), RuntimeError>;

/// Reading ahead pays when reading a batch and pushing one each take at least this long: a
/// hand-over between threads costs some tens of microseconds.
const WORTH_OVERLAPPING: Duration = Duration::from_micros(250);

/// A moving average of how long something takes per batch.
#[derive(Default, Clone, Copy)]
struct Took(Duration);

impl Took {
    fn add(&mut self, d: Duration) {
        self.0 = if self.0.is_zero() {
            d
        } else {
            (self.0 * 7 + d) / 8
        };
    }
}

/// A reader's poll running on its own thread; dropped with the subtask, which then no longer
/// waits for it.
struct Ahead(tokio::task::JoinHandle<(ReaderInstance, Polled, Duration)>);

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct ReaderSlot {
    node: u32,
    /// Away while `ahead` polls it.
    reader: Option<ReaderInstance>,
    ahead: Option<Ahead>,
    finished: bool,
    /// The enumerator said no more splits will come (told again to a recycled reader).
    no_more: bool,
    rows: u64,
    bytes: u64,
    started: Instant,
    reading: Took,
    pushing: Took,
}

/// What every part of a subtask reads and never changes.
#[derive(Clone, Copy)]
struct Env<'a> {
    rt: &'a Runtime,
    job: &'a PreparedJob,
    index: u32,
    par: u32,
    /// The memory at which each vertex's instances are recycled.
    recycle_at: &'a [Option<usize>],
}

impl Env<'_> {
    fn ctx(&self, vertex: u32) -> TaskContext {
        self.job.ctx(vertex, self.index, self.par)
    }

    fn recycle_at(&self, vertex: u32) -> Option<usize> {
        self.recycle_at[vertex as usize]
    }
}

/// The transforms and writers batches are pushed through.
struct Chain {
    transforms: HashMap<u32, TransformInstance>,
    writers: Vec<(u32, SinkWriterInstance)>,
    /// A writer passed its recycling threshold: what it wrote must go through a checkpoint
    /// before a fresh instance can take over from its state.
    full: bool,
    /// Rows written per table.
    written: BTreeMap<String, u64>,
}

struct Subtask<'a> {
    env: Env<'a>,
    task: TaskId,
    readers: Vec<ReaderSlot>,
    chain: Chain,
    metrics: TaskMetrics,
    /// Rows read per table.
    read: BTreeMap<String, u64>,
    /// The coordinator was asked for a checkpoint to recycle a writer.
    asked: bool,
    /// When metrics were last reported.
    reported: Instant,
}

/// The memory at which an instance is recycled, from st.yaml's `recycle-at-percent`.
fn recycle_threshold(rt: &Runtime, spec: &SandboxSpec) -> Option<usize> {
    let percent = rt.config().recycle_at_percent;
    (percent > 0 && percent < 100).then(|| spec.limits.max_memory_bytes / 100 * percent as usize)
}

/// Replaces a reader whose memory neared its cap with a fresh instance restored from its
/// state: guest memory only grows, so this is how a long-running reader stays within bounds.
async fn recycle_reader(
    env: Env<'_>,
    slot: &mut ReaderSlot,
    metrics: &mut TaskMetrics,
) -> Result<(), RuntimeError> {
    let node = env.job.vertex(slot.node);
    let ctx = env.ctx(slot.node);
    let state = slot.instance()?.snapshot_state(0).await?;
    let mut fresh = env
        .rt
        .reader(
            env.job.plugin(slot.node),
            &node.options,
            &ctx,
            &state,
            &node.out_tables,
        )
        .await?;
    if slot.no_more {
        fresh.no_more_splits().await?;
    }
    let old = std::mem::replace(slot.instance()?, fresh);
    recycled_instance(metrics, ctx.task_id(), old.peak_memory(), "reader");
    Ok(())
}

impl ReaderSlot {
    fn instance(&mut self) -> Result<&mut ReaderInstance, RuntimeError> {
        self.reader.as_mut().ok_or_else(|| {
            RuntimeError::Host("a reader was called while it was reading ahead".into())
        })
    }

    /// The next batch: the one read ahead, or one read now.
    async fn next(&mut self) -> Polled {
        let Some(mut ahead) = self.ahead.take() else {
            let t = Instant::now();
            let polled = self.instance()?.poll_next(BATCH_ROWS).await;
            self.reading.add(t.elapsed());
            return polled;
        };
        let (reader, polled, took) = (&mut ahead.0)
            .await
            .map_err(|e| RuntimeError::Host(format!("a reader's thread ended abnormally: {e}")))?;
        self.reader = Some(reader);
        self.reading.add(took);
        polled
    }

    /// Whether to read the next batch beside the chain: st.yaml's `read-ahead`, and with
    /// `auto`, whether it would pay.
    fn overlaps(&self, mode: ReadAhead) -> bool {
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        match mode {
            ReadAhead::Always => true,
            ReadAhead::Never => false,
            ReadAhead::Auto => {
                let cores = *CORES
                    .get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                cores > 1 && self.reading.0.min(self.pushing.0) >= WORTH_OVERLAPPING
            }
        }
    }

    /// Starts reading the next batch on a thread of its own. (A task spawned from a worker
    /// waits in that worker's next-task slot, which other workers do not steal from, until
    /// the subtask yields: it would not run beside the chain.)
    fn read_ahead(&mut self) {
        if let Some(mut reader) = self.reader.take() {
            let tokio = tokio::runtime::Handle::current();
            self.ahead = Some(Ahead(tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let polled = tokio.block_on(reader.poll_next(BATCH_ROWS));
                (reader, polled, t.elapsed())
            })));
        }
    }

    fn peak_memory(&self) -> u64 {
        self.reader.as_ref().map_or(0, |r| r.peak_memory() as u64)
    }
}

/// How [`Subtask::read`] reads.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    /// Every unfinished reader, each reading its next batch ahead.
    Ahead,
    /// Only the readers reading ahead, to have their batches through the chain.
    Settle,
}

fn split_bytes(s: &Split) -> Vec<u8> {
    serde_json::to_vec(&SplitMsg {
        id: s.id.clone(),
        data: s.data.clone(),
    })
    .unwrap_or_default()
}

fn split_from_bytes(b: &[u8]) -> Result<Split, RuntimeError> {
    let m: SplitMsg = serde_json::from_slice(b)
        .map_err(|e| RuntimeError::Host(format!("a checkpointed split is unreadable: {e}")))?;
    Ok(Split {
        id: m.id,
        data: m.data,
    })
}

/// Runs subtask `task` until the coordinator says `Finish` (or `Cancel`), starting from
/// `restore`.
pub(super) async fn run(
    rt: &Runtime,
    job: &PreparedJob,
    task: TaskId,
    mut cmds: Commands,
    events: &Events,
    restore: TaskSnapshot,
) -> Result<(), RuntimeError> {
    let TaskRole::Subtask { index } = task.role else {
        unreachable!("launched as a subtask");
    };
    let recycle_at: Vec<Option<usize>> = job
        .sandboxes
        .iter()
        .map(|s| recycle_threshold(rt, s))
        .collect();
    let p = task.pipeline as usize;
    let env = Env {
        rt,
        job,
        index,
        par: job.plan.pipelines[p].parallelism,
        recycle_at: &recycle_at,
    };
    let mut subtask = Subtask::open(env, task, &restore).await?;
    let mut phase = Phase::Running;
    let mut idle = false;
    loop {
        // Commands first: a barrier is taken between two batches.
        let mut pending = Vec::new();
        match phase {
            Phase::Waiting => match cmds.recv().await {
                Some(c) => pending.push(c),
                None => return Ok(()),
            },
            // A writer waits for a checkpoint to be recycled: no more rows until then.
            Phase::Running if subtask.chain.full => match cmds.recv().await {
                Some(c) => pending.push(c),
                None => return Ok(()),
            },
            Phase::Running if idle => {
                tokio::select! {
                    cmd = cmds.recv() => match cmd {
                        Some(c) => pending.push(c),
                        None => return Ok(()),
                    },
                    () = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
            }
            Phase::Running | Phase::Done => {}
        }
        while let Ok(c) = cmds.try_recv() {
            pending.push(c);
        }
        if pending.iter().any(|c| matches!(c, Command::Cancel)) {
            // Not waiting for a read in flight: it may be the very call being cancelled.
            return Ok(());
        }
        if !pending.is_empty() {
            subtask.read(Read::Settle).await?;
        }
        for cmd in pending {
            subtask.handle(cmd, events, &mut phase).await?;
            if let Phase::Done = phase {
                return Ok(());
            }
        }
        // (A batch settled above may have filled a writer too.)
        subtask.ask_for_checkpoint_if_full(events);
        if matches!(phase, Phase::Waiting) || subtask.chain.full {
            continue;
        }
        idle = !subtask.read(Read::Ahead).await?;
        subtask.ask_for_checkpoint_if_full(events);
        subtask.report(events);
        if job.plan.bounded && subtask.readers.iter().all(|r| r.finished && r.no_more) {
            let _ = events.send(Event::Drained { task: subtask.task });
            phase = Phase::Waiting;
        }
    }
}

impl<'a> Subtask<'a> {
    /// Instantiates the subtask's readers (restored to their splits), and the transforms and
    /// writers reachable from them (writers restored to their state).
    async fn open(
        env: Env<'a>,
        task: TaskId,
        restore: &TaskSnapshot,
    ) -> Result<Subtask<'a>, RuntimeError> {
        let (rt, job) = (env.rt, env.job);
        let plan = &job.plan.pipelines[task.pipeline as usize];
        let mut readers = Vec::new();
        for &s in &plan.sources {
            let node = job.vertex(s);
            let splits: Vec<Split> = restore
                .states
                .get(&node.path)
                .map(|list| {
                    list.iter()
                        .map(|b| split_from_bytes(b))
                        .collect::<Result<_, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            let reader = rt
                .reader(
                    job.plugin(s),
                    &node.options,
                    &env.ctx(s),
                    &splits,
                    &node.out_tables,
                )
                .await?;
            readers.push(ReaderSlot {
                node: s,
                reader: Some(reader),
                ahead: None,
                finished: false,
                no_more: false,
                rows: 0,
                bytes: 0,
                started: Instant::now(),
                reading: Took::default(),
                pushing: Took::default(),
            });
        }
        // Every vertex reachable from the sources, in the job's order.
        let vertices = &job.plan.vertices;
        let mut reachable = vec![false; vertices.len()];
        let mut stack: Vec<u32> = plan.sources.clone();
        while let Some(n) = stack.pop() {
            if !reachable[n as usize] {
                reachable[n as usize] = true;
                stack.extend(job.vertex(n).downstream.iter().map(|(d, _)| *d));
            }
        }
        let mut chain = Chain {
            transforms: HashMap::new(),
            writers: Vec::new(),
            full: false,
            written: BTreeMap::new(),
        };
        for (i, node) in (0u32..)
            .zip(vertices)
            .filter(|(i, _)| reachable[*i as usize])
        {
            match node.kind {
                PluginKind::Transform => {
                    let t = rt
                        .transform(job.plugin(i), &node.options, &env.ctx(i), &node.in_tables)
                        .await?;
                    chain.transforms.insert(i, t);
                }
                PluginKind::Sink => {
                    let states = restore.states.get(&node.path).cloned().unwrap_or_default();
                    let w = rt
                        .sink_writer(
                            job.plugin(i),
                            &node.options,
                            &env.ctx(i),
                            &node.in_tables,
                            &states,
                        )
                        .await?;
                    chain.writers.push((i, w));
                }
                PluginKind::Source => {}
            }
        }
        Ok(Subtask {
            env,
            task,
            readers,
            chain,
            metrics: TaskMetrics::default(),
            read: BTreeMap::new(),
            asked: false,
            reported: Instant::now(),
        })
    }

    fn reader(&mut self, source: u32) -> Option<&mut ReaderSlot> {
        self.readers.iter_mut().find(|r| r.node == source)
    }

    /// What the subtask moved so far.
    fn progress(&self) -> TaskMetrics {
        TaskMetrics {
            rows_read: self.read.iter().map(|(t, n)| (t.clone(), *n)).collect(),
            rows_written: self
                .chain
                .written
                .iter()
                .map(|(t, n)| (t.clone(), *n))
                .collect(),
            bytes_read: self.metrics.bytes_read,
            bytes_written: self.metrics.bytes_written,
            peak_guest_memory: self
                .readers
                .iter()
                .map(ReaderSlot::peak_memory)
                .chain(
                    self.chain
                        .writers
                        .iter()
                        .map(|(_, w)| w.peak_memory() as u64),
                )
                .max()
                .unwrap_or(0),
            ..TaskMetrics::default()
        }
    }

    /// Reports its progress, at most once every [`METRICS_EVERY`].
    fn report(&mut self, events: &Events) {
        if self.reported.elapsed() >= METRICS_EVERY {
            self.reported = Instant::now();
            let _ = events.send(Event::Metrics {
                task: self.task,
                metrics: self.progress(),
            });
        }
    }

    /// Handles one command from the coordinator, moving `phase` on where it says so.
    async fn handle(
        &mut self,
        cmd: Command,
        events: &Events,
        phase: &mut Phase,
    ) -> Result<(), RuntimeError> {
        match cmd {
            Command::AssignSplits { source, splits } => {
                if let Some(slot) = self.reader(source) {
                    let splits: Vec<Split> = splits
                        .into_iter()
                        .map(|s| Split {
                            id: s.id,
                            data: s.data,
                        })
                        .collect();
                    slot.instance()?.add_splits(&splits).await?;
                    slot.finished = false;
                }
            }
            Command::NoMoreSplits { source } => {
                if let Some(slot) = self.reader(source) {
                    slot.no_more = true;
                    slot.instance()?.no_more_splits().await?;
                }
            }
            Command::Barrier { id, kind } => {
                let snapshot = self.snapshot(id).await?;
                if kind == Kind::Periodic && self.chain.full {
                    self.recycle_writers(&snapshot).await?;
                }
                let _ = events.send(Event::Ack {
                    task: self.task,
                    id,
                    snapshot,
                });
                if kind == Kind::Savepoint {
                    *phase = Phase::Waiting;
                }
            }
            Command::CheckpointComplete { id } => {
                for r in &mut self.readers {
                    r.instance()?.notify_checkpoint_complete(id).await?;
                }
            }
            Command::Finish => {
                let metrics = self.finish().await?;
                let _ = events.send(Event::Finished {
                    task: self.task,
                    metrics,
                });
                *phase = Phase::Done;
            }
            Command::Cancel => {}
            Command::RequestSplits | Command::Commit { .. } => {
                return Err(RuntimeError::Host(format!(
                    "{} received a command it does not take: {cmd:?}",
                    self.task
                )));
            }
        }
        Ok(())
    }

    /// The subtask's part of checkpoint `id`: every reader's splits, every writer's prepared
    /// commit and state.
    async fn snapshot(&mut self, id: u64) -> Result<TaskSnapshot, RuntimeError> {
        let job = self.env.job;
        let mut snapshot = TaskSnapshot::default();
        for r in &mut self.readers {
            let splits = r.instance()?.snapshot_state(id).await?;
            snapshot.states.insert(
                job.vertex(r.node).path.clone(),
                splits.iter().map(split_bytes).collect(),
            );
        }
        for (n, w) in &mut self.chain.writers {
            let path = job.vertex(*n).path.clone();
            if let Some(info) = w.prepare_commit(id).await? {
                snapshot.commit_infos.insert(path.clone(), vec![info]);
            }
            snapshot.states.insert(path, w.snapshot_state(id).await?);
        }
        Ok(snapshot)
    }

    /// Replaces each writer past its recycling threshold by a fresh instance restored from the
    /// state it has just put into `snapshot` (with its prepared commit, which the committer
    /// commits when the checkpoint completes): the same restore as after a failure, without
    /// the failure.
    async fn recycle_writers(&mut self, snapshot: &TaskSnapshot) -> Result<(), RuntimeError> {
        let env = self.env;
        for (n, w) in &mut self.chain.writers {
            if env
                .recycle_at(*n)
                .is_none_or(|limit| w.peak_memory() < limit)
            {
                continue;
            }
            let node = env.job.vertex(*n);
            let ctx = env.ctx(*n);
            let states = snapshot.states.get(&node.path).cloned().unwrap_or_default();
            let fresh = env
                .rt
                .sink_writer(
                    env.job.plugin(*n),
                    &node.options,
                    &ctx,
                    &node.in_tables,
                    &states,
                )
                .await?;
            let old = std::mem::replace(w, fresh);
            recycled_instance(
                &mut self.metrics,
                ctx.task_id(),
                old.peak_memory(),
                "writer",
            );
        }
        self.chain.full = false;
        self.asked = false;
        Ok(())
    }

    /// Once a writer passed its recycling threshold, asks the coordinator (once) for the
    /// checkpoint at which it is replaced.
    fn ask_for_checkpoint_if_full(&mut self, events: &Events) {
        if self.chain.full && !self.asked {
            self.asked = true;
            let _ = events.send(Event::WantCheckpoint { task: self.task });
        }
    }

    /// Closes the writers and gathers the subtask's metrics.
    async fn finish(&mut self) -> Result<TaskMetrics, RuntimeError> {
        let env = self.env;
        let mut metrics = std::mem::take(&mut self.metrics);
        for (n, w) in &mut self.chain.writers {
            w.close().await?;
            metrics
                .peak_memory
                .push((env.ctx(*n).task_id(), w.peak_memory() as u64));
        }
        for r in &self.readers {
            metrics
                .peak_memory
                .push((env.ctx(r.node).task_id(), r.peak_memory()));
        }
        for (n, t) in &self.chain.transforms {
            metrics
                .peak_memory
                .push((env.ctx(*n).task_id(), t.memory() as u64));
        }
        metrics.peak_guest_memory = metrics
            .peak_memory
            .iter()
            .map(|(_, b)| *b)
            .max()
            .unwrap_or(0);
        metrics.rows_read = std::mem::take(&mut self.read).into_iter().collect();
        metrics.rows_written = std::mem::take(&mut self.chain.written)
            .into_iter()
            .collect();
        Ok(metrics)
    }

    /// Takes a batch from each reader `how` says and pushes it through the chain; false when
    /// no reader had a batch.
    async fn read(&mut self, how: Read) -> Result<bool, RuntimeError> {
        let env = self.env;
        let mut progressed = false;
        let chosen = |r: &ReaderSlot| match how {
            Read::Ahead => !r.finished,
            Read::Settle => r.ahead.is_some(),
        };
        for slot in self.readers.iter_mut().filter(|r| chosen(r)) {
            let (batch, status) = slot.next().await?;
            if status == PollStatus::Finished {
                slot.finished = true;
            } else if env
                .recycle_at(slot.node)
                .is_some_and(|limit| slot.instance().is_ok_and(|r| r.memory() >= limit))
            {
                recycle_reader(env, slot, &mut self.metrics).await?;
            }
            let Some(batch) = batch else { continue };
            progressed = true;
            // A reader with nothing to give is polled again only on the next round.
            if how == Read::Ahead && !slot.finished && slot.overlaps(env.rt.config().read_ahead) {
                slot.read_ahead();
                self.metrics.read_ahead += 1;
            }
            if let Some(t) = env
                .job
                .vertex(slot.node)
                .out_tables
                .get(batch.table as usize)
            {
                *self.read.entry(t.table_path.clone()).or_default() += batch.num_rows as u64;
            }
            let bytes = batch.byte_size() as u64;
            self.metrics.bytes_read += bytes;
            slot.rows += batch.num_rows as u64;
            slot.bytes += bytes;
            let t = Instant::now();
            self.chain
                .push(env, &mut self.metrics, slot.node, batch)
                .await?;
            slot.pushing.add(t.elapsed());
            // `read_limit`: each reader keeps to both rates, as SeaTunnel applies them to
            // each parallel reader.
            let plan = &env.job.plan;
            let due = |done: u64, limit: Option<u64>| {
                limit.filter(|l| *l > 0).map_or(Duration::ZERO, |l| {
                    Duration::from_secs_f64(done as f64 / l as f64)
                })
            };
            let due =
                due(slot.rows, plan.rows_per_second).max(due(slot.bytes, plan.bytes_per_second));
            let elapsed = slot.started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
        Ok(progressed)
    }
}

impl Chain {
    /// Pushes a batch from node `from` through every transform and writer downstream of it.
    async fn push(
        &mut self,
        env: Env<'_>,
        metrics: &mut TaskMetrics,
        from: u32,
        batch: Batch,
    ) -> Result<(), RuntimeError> {
        let job = env.job;
        let mut queue: VecDeque<(u32, Batch)> = VecDeque::from([(from, batch)]);
        while let Some((from, batch)) = queue.pop_front() {
            let downstream = &job.vertex(from).downstream;
            let mut batch = Some(batch);
            for (k, &(to, offset)) in downstream.iter().enumerate() {
                let mut b = if k + 1 == downstream.len() {
                    batch.take().expect("moved once, to the last consumer")
                } else {
                    batch
                        .as_ref()
                        .expect("present until the last consumer")
                        .clone()
                };
                b.table += offset;
                match job.vertex(to).kind {
                    PluginKind::Transform => {
                        if let Some(t) = self.transforms.get_mut(&to) {
                            for out in t.map(b).await? {
                                queue.push_back((to, out));
                            }
                            // Transforms keep no state between batches: a fresh instance
                            // replaces one near its memory cap.
                            if env.recycle_at(to).is_some_and(|limit| t.memory() >= limit) {
                                let node = job.vertex(to);
                                let ctx = env.ctx(to);
                                let fresh = env
                                    .rt
                                    .transform(job.plugin(to), &node.options, &ctx, &node.in_tables)
                                    .await?;
                                let old = std::mem::replace(t, fresh);
                                recycled_instance(
                                    metrics,
                                    ctx.task_id(),
                                    old.memory(),
                                    "transform",
                                );
                            }
                        }
                    }
                    PluginKind::Sink => {
                        if let Some((_, w)) = self.writers.iter_mut().find(|(n, _)| *n == to) {
                            if let Some(t) = job.vertex(to).in_tables.get(b.table as usize) {
                                *self.written.entry(t.table_path.clone()).or_default() +=
                                    b.num_rows as u64;
                            }
                            metrics.bytes_written += b.byte_size() as u64;
                            w.write(b).await?;
                            self.full |= env
                                .recycle_at(to)
                                .is_some_and(|limit| w.peak_memory() >= limit);
                        }
                    }
                    PluginKind::Source => {}
                }
            }
        }
        Ok(())
    }
}
