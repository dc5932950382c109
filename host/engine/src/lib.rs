//! Runs jobs. A job's logical DAG is planned into pipelines (the connected parts of the DAG);
//! each pipeline runs one enumerator per source, one committer per sink, and `parallelism`
//! fused subtasks, each driving readers → transforms → writers in one tokio task, moving
//! batches by ownership (a batch is cloned only where the DAG fans out).
//!
//! The coordinator talks to subtasks only through the serializable messages of [`protocol`].
//! Checkpoints and failover build on the same protocol (not yet: a BATCH job commits once,
//! when every subtask has finished).

pub mod protocol;
mod report;
mod sandbox;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use st_core::{Batch, PluginKind, TableSchema};
use st_job::{ConfigError, ConfigErrors, JobConfig, JobMode};
use st_runtime::{
    CancelToken, EnumeratorInstance, LoadedFrom, Plugin, PluginError, PluginRef, PollStatus,
    ReaderInstance, Runtime, RuntimeError, SandboxSpec, SinkWriterInstance, Split, TaskContext,
    TransformInstance,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use protocol::{Command, Event, SplitMsg, TaskId, TaskMetrics, TaskRole};
pub use report::JobReport;

/// Rows a reader is asked for per poll.
pub const BATCH_ROWS: u32 = 8192;

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job config is wrong; nothing ran.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// A task failed while the job ran.
    #[error("job {job_id} failed: {message}")]
    Failed { job_id: String, message: String },
}

/// One plugin of the job, resolved and checked.
struct Node {
    plugin: Arc<Plugin>,
    kind: PluginKind,
    /// `sink[0](Assert)`.
    path: String,
    /// Normalized options as JSON text.
    options: String,
    /// The tables arriving at this node (transform and sink), in input order.
    in_tables: Vec<TableSchema>,
    /// The tables this node produces (source and transform).
    out_tables: Vec<TableSchema>,
    /// (downstream node, offset added to this node's table index there).
    downstream: Vec<(usize, u32)>,
    parallelism: Option<u32>,
    /// Limits and grants of this plugin in this job.
    sandbox: Arc<SandboxSpec>,
}

struct PipelinePlan {
    id: u32,
    sources: Vec<usize>,
    sinks: Vec<usize>,
    parallelism: u32,
}

/// A job that passed every check and is ready to run.
pub struct PreparedJob {
    pub job_id: String,
    pub job_name: String,
    bounded: bool,
    rows_per_second: Option<u64>,
    nodes: Vec<Node>,
    pipelines: Vec<PipelinePlan>,
    /// Warnings from the config and planning.
    pub warnings: Vec<String>,
    /// How each plugin was loaded: (plugin path, from, time).
    pub loads: Vec<(String, LoadedFrom, Duration)>,
    cancel: CancelToken,
}

impl PreparedJob {
    /// (plugin path, name, kind) of every plugin, in job order.
    pub fn plugins(&self) -> Vec<(String, String, PluginKind)> {
        self.nodes
            .iter()
            .map(|n| (n.path.clone(), n.plugin.info.name.clone(), n.kind))
            .collect()
    }

    /// The number of pipelines.
    /// Cancelling stops every task of the job; a busy plugin is interrupted within an epoch tick.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }
}

/// A new job id: SeaTunnel uses large decimal numbers; so does Strait.
pub fn new_job_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}", (nanos as u64) >> 4)
}

fn config_error(job: &JobConfig, plugin: usize, path: &[String], message: String) -> ConfigError {
    let p = &job.plugins[plugin];
    ConfigError {
        file: job.file.clone(),
        line: Some(if path.is_empty() {
            p.line
        } else {
            job.line_of(plugin, path)
        }),
        col: None,
        path: if path.is_empty() {
            p.path()
        } else {
            format!("{}.{}", p.path(), path.join("."))
        },
        message,
    }
}

/// Turns a plugin's error during planning into a config error when it names an option.
fn plan_error(job: &JobConfig, plugin: usize, e: RuntimeError) -> ConfigError {
    match e.plugin_error() {
        Some(PluginError::InvalidOption { option, message }) => {
            let path: Vec<String> = option.split('.').map(str::to_string).collect();
            config_error(job, plugin, &path, message.clone())
        }
        _ => config_error(job, plugin, &[], e.to_string()),
    }
}

/// Orders plugins so every plugin comes after its inputs (the DAG is acyclic by now).
fn topo_order(inputs: &[Vec<usize>]) -> Vec<usize> {
    fn visit(i: usize, inputs: &[Vec<usize>], seen: &mut [bool], out: &mut Vec<usize>) {
        if seen[i] {
            return;
        }
        seen[i] = true;
        for &j in &inputs[i] {
            visit(j, inputs, seen, out);
        }
        out.push(i);
    }
    let mut seen = vec![false; inputs.len()];
    let mut out = Vec::new();
    for i in 0..inputs.len() {
        visit(i, inputs, &mut seen, &mut out);
    }
    out
}

/// Plans and runs jobs on a shared runtime.
#[derive(Debug, Clone)]
pub struct Engine {
    runtime: Arc<Runtime>,
}

impl Engine {
    pub fn new(runtime: Arc<Runtime>) -> Engine {
        Engine { runtime }
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Resolves every plugin, checks options against each plugin's description, opens sources
    /// and transforms to learn their schemas. Reports every problem found.
    pub async fn prepare(&self, job: &JobConfig, job_id: String) -> Result<PreparedJob, JobError> {
        let mut errors = Vec::new();
        let mut loaded = Vec::new();
        let mut loads = Vec::new();
        let mut sandboxes = Vec::new();
        for (i, p) in job.plugins.iter().enumerate() {
            match sandbox::spec(self.runtime.config(), &job.env.sandbox, &p.sandbox) {
                Ok(spec) => sandboxes.push(Arc::new(spec)),
                Err((sub, message)) => {
                    let path: Vec<String> =
                        std::iter::once("sandbox".to_string()).chain(sub).collect();
                    errors.push(config_error(job, i, &path, message));
                    sandboxes.push(Arc::new(SandboxSpec::default()));
                }
            }
            let r = PluginRef {
                name: &p.name,
                artifact: p.artifact.as_deref(),
                sha256: p.sha256.as_deref(),
            };
            let res = self.runtime.load_ref(r).await.map(|l| {
                loads.push((p.path(), l.from, l.elapsed));
                l.plugin
            });
            match res {
                Ok(plugin) if plugin.info.kind != p.kind => {
                    errors.push(config_error(
                        job,
                        i,
                        &[],
                        format!(
                            "{} is a {} plugin and cannot be used under `{}`",
                            plugin.info.name, plugin.info.kind, p.kind
                        ),
                    ));
                    loaded.push(None);
                }
                Ok(plugin) => match st_job::check_options(job, i, &plugin.info) {
                    Ok(opts) => {
                        loaded.push(Some((plugin, serde_json::Value::Object(opts).to_string())))
                    }
                    Err(errs) => {
                        errors.extend(errs);
                        loaded.push(None);
                    }
                },
                Err(e) => {
                    errors.push(config_error(job, i, &[], e.to_string()));
                    loaded.push(None);
                }
            }
        }
        if !errors.is_empty() {
            return Err(JobError::Invalid(ConfigErrors(errors)));
        }
        let bounded = job.env.job_mode == JobMode::Batch;
        let mut nodes: Vec<Node> = loaded
            .into_iter()
            .zip(&job.plugins)
            .zip(sandboxes)
            .map(|((l, p), sandbox)| {
                let (plugin, options) = l.expect("every plugin loaded when there are no errors");
                Node {
                    kind: plugin.info.kind,
                    plugin,
                    path: p.path(),
                    options,
                    in_tables: Vec::new(),
                    out_tables: Vec::new(),
                    downstream: Vec::new(),
                    parallelism: p.parallelism,
                    sandbox,
                }
            })
            .collect();
        let cancel = CancelToken::default();
        for i in topo_order(&job.inputs) {
            let mut in_tables = Vec::new();
            for &j in &job.inputs[i] {
                let offset = u32::try_from(in_tables.len()).unwrap_or(u32::MAX);
                nodes[j].downstream.push((i, offset));
                in_tables.extend(nodes[j].out_tables.iter().cloned());
            }
            let ctx = TaskContext {
                job_id: job_id.clone(),
                job_name: job.env.job_name.clone(),
                plugin_path: nodes[i].path.clone(),
                subtask: 0,
                parallelism: nodes[i].parallelism.unwrap_or(job.env.parallelism),
                bounded,
                sandbox: nodes[i].sandbox.clone(),
                cancel: cancel.clone(),
            };
            let node = &nodes[i];
            match node.kind {
                PluginKind::Source => match self
                    .runtime
                    .open_source(&node.plugin, &node.options, &ctx)
                    .await
                {
                    Ok(info) => {
                        if bounded && !info.bounded {
                            errors.push(config_error(job, i, &[], "is unbounded and cannot run in a BATCH job; set env.job.mode = STREAMING".into()));
                        }
                        nodes[i].out_tables = info.tables;
                    }
                    Err(e) => errors.push(plan_error(job, i, e)),
                },
                PluginKind::Transform => match self
                    .runtime
                    .transform(&node.plugin, &node.options, &ctx, &in_tables)
                    .await
                {
                    Ok(t) => nodes[i].out_tables = t.outputs,
                    Err(e) => errors.push(plan_error(job, i, e)),
                },
                PluginKind::Sink => {}
            }
            nodes[i].in_tables = in_tables;
        }
        if !errors.is_empty() {
            return Err(JobError::Invalid(ConfigErrors(errors)));
        }
        let mut warnings = job.warnings.clone();
        let mut pipelines = Vec::new();
        for group in job.pipelines() {
            let sources: Vec<usize> = group
                .iter()
                .copied()
                .filter(|i| nodes[*i].kind == PluginKind::Source)
                .collect();
            let sinks: Vec<usize> = group
                .iter()
                .copied()
                .filter(|i| nodes[*i].kind == PluginKind::Sink)
                .collect();
            if sinks.is_empty() {
                warnings.push(format!(
                    "{} reach no sink and will not run",
                    group
                        .iter()
                        .map(|i| nodes[*i].path.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            }
            let parallelism = sources
                .iter()
                .filter_map(|s| nodes[*s].parallelism)
                .max()
                .unwrap_or(job.env.parallelism)
                .max(1);
            pipelines.push(PipelinePlan {
                id: u32::try_from(pipelines.len()).unwrap_or(0),
                sources,
                sinks,
                parallelism,
            });
        }
        Ok(PreparedJob {
            job_id,
            job_name: job.env.job_name.clone(),
            bounded,
            rows_per_second: job.env.rows_per_second,
            nodes,
            pipelines,
            warnings,
            loads,
            cancel,
        })
    }

    /// Runs a prepared job to the end.
    pub async fn run(&self, job: PreparedJob) -> Result<JobReport, JobError> {
        let started = SystemTime::now();
        let clock = Instant::now();
        let job = Arc::new(job);
        let mut pipelines = JoinSet::new();
        for p in 0..job.pipelines.len() {
            let (rt, job) = (self.runtime.clone(), job.clone());
            pipelines.spawn(async move { run_pipeline(rt, job, p).await });
        }
        let mut report = JobReport::new(&job.job_id, &job.job_name, started);
        report.loads = job.loads.clone();
        while let Some(res) = pipelines.join_next().await {
            match res {
                Ok(Ok(metrics)) => report.add(&metrics),
                Ok(Err(message)) => {
                    pipelines.abort_all();
                    return Err(JobError::Failed {
                        job_id: job.job_id.clone(),
                        message,
                    });
                }
                Err(e) => {
                    pipelines.abort_all();
                    return Err(JobError::Failed {
                        job_id: job.job_id.clone(),
                        message: format!("a pipeline stopped: {e}"),
                    });
                }
            }
        }
        report.duration = clock.elapsed();
        Ok(report)
    }
}

fn ctx(job: &PreparedJob, node: usize, subtask: u32, parallelism: u32) -> TaskContext {
    TaskContext {
        job_id: job.job_id.clone(),
        job_name: job.job_name.clone(),
        plugin_path: job.nodes[node].path.clone(),
        subtask,
        parallelism,
        bounded: job.bounded,
        sandbox: job.nodes[node].sandbox.clone(),
        cancel: job.cancel.clone(),
    }
}

/// Runs one pipeline: enumerators, subtasks, then the committers. Returns the subtasks' metrics.
async fn run_pipeline(
    rt: Arc<Runtime>,
    job: Arc<PreparedJob>,
    p: usize,
) -> Result<TaskMetrics, String> {
    let plan = &job.pipelines[p];
    let par = plan.parallelism;
    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<Event>();
    let mut tasks = JoinSet::new();
    let mut cmd_txs = Vec::new();
    for index in 0..par {
        let (tx, rx) = mpsc::unbounded_channel::<Command>();
        cmd_txs.push(tx);
        let (rt, job, events) = (rt.clone(), job.clone(), event_tx.clone());
        let task = TaskId {
            job_id: job.job_id.clone(),
            pipeline: plan.id,
            role: TaskRole::Subtask { index },
        };
        tasks.spawn(async move {
            let event = match run_subtask(&rt, &job, p, index, rx).await {
                Ok((commit_infos, metrics)) => Event::Finished {
                    task,
                    commit_infos,
                    metrics,
                },
                Err(e) => Event::Failed {
                    task,
                    error: e.to_string(),
                },
            };
            let _ = events.send(event);
        });
    }
    // Enumerators hand out splits while the subtasks run.
    for &source in &plan.sources {
        let (rt, job, cmds, events) = (rt.clone(), job.clone(), cmd_txs.clone(), event_tx.clone());
        let task = TaskId {
            job_id: job.job_id.clone(),
            pipeline: plan.id,
            role: TaskRole::Enumerator {
                source: source as u32,
            },
        };
        tasks.spawn(async move {
            if let Err(e) = run_enumerator(&rt, &job, source, par, &cmds).await {
                let _ = events.send(Event::Failed {
                    task,
                    error: e.to_string(),
                });
            }
        });
    }
    drop(event_tx);
    let mut committers = Vec::new();
    for &sink in &plan.sinks {
        let node = &job.nodes[sink];
        match rt
            .sink_committer(
                &node.plugin,
                &node.options,
                &ctx(&job, sink, 0, par),
                &node.in_tables,
            )
            .await
        {
            Ok(c) => committers.push((sink, c)),
            Err(e) => {
                tasks.abort_all();
                return Err(e.to_string());
            }
        }
    }
    let mut finished = 0;
    let mut infos: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
    let mut metrics = TaskMetrics::default();
    while finished < par {
        match event_rx.recv().await {
            Some(Event::Finished {
                commit_infos,
                metrics: m,
                ..
            }) => {
                finished += 1;
                for (sink, list) in commit_infos {
                    infos.entry(sink as usize).or_default().extend(list);
                }
                metrics.rows_read.extend(m.rows_read);
                metrics.rows_written.extend(m.rows_written);
                metrics.bytes_read += m.bytes_read;
                metrics.peak_guest_memory = metrics.peak_guest_memory.max(m.peak_guest_memory);
                metrics.peak_memory.extend(m.peak_memory);
                metrics.recycled += m.recycled;
            }
            Some(Event::Failed { task, error }) => {
                tasks.abort_all();
                for (sink, c) in &mut committers {
                    let pending = infos.remove(sink).unwrap_or_default();
                    if let Err(e) = c.abort(&pending).await {
                        tracing::warn!("aborting {}: {e}", job.nodes[*sink].path);
                    }
                }
                tracing::debug!("{task} failed");
                return Err(error);
            }
            None => return Err("the pipeline's tasks stopped without reporting".into()),
        }
    }
    // Every subtask prepared its final commit: commit once, then close.
    const FINAL_CHECKPOINT: u64 = 1;
    for (sink, c) in &mut committers {
        let mut pending = infos.remove(sink).unwrap_or_default();
        for attempt in 0..3 {
            pending = c
                .commit(FINAL_CHECKPOINT, &pending)
                .await
                .map_err(|e| e.to_string())?;
            if pending.is_empty() {
                break;
            }
            tracing::warn!(
                "{}: {} commit infos to retry (attempt {})",
                job.nodes[*sink].path,
                pending.len(),
                attempt + 1
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !pending.is_empty() {
            return Err(format!(
                "{}: {} commits still failing after 3 attempts",
                job.nodes[*sink].path,
                pending.len()
            ));
        }
        c.close().await.map_err(|e| e.to_string())?;
    }
    while tasks.join_next().await.is_some() {}
    Ok(metrics)
}

async fn run_enumerator(
    rt: &Runtime,
    job: &PreparedJob,
    source: usize,
    parallelism: u32,
    cmds: &[mpsc::UnboundedSender<Command>],
) -> Result<(), RuntimeError> {
    let node = &job.nodes[source];
    let mut e: EnumeratorInstance = rt
        .enumerator(
            &node.plugin,
            &node.options,
            &ctx(job, source, 0, parallelism),
            None,
        )
        .await?;
    loop {
        let step = e.enumerate().await?;
        let mut per_reader: BTreeMap<u32, Vec<SplitMsg>> = BTreeMap::new();
        for (reader, split) in step.assignments {
            if reader >= parallelism {
                return Err(RuntimeError::Contract {
                    plugin: node.plugin.info.name.clone(),
                    task: format!("{}.enumerator", node.path),
                    message: format!(
                        "assigned split {} to reader {reader}, but there are {parallelism}",
                        split.id
                    ),
                });
            }
            per_reader.entry(reader).or_default().push(SplitMsg {
                id: split.id,
                data: split.data,
            });
        }
        for (reader, splits) in per_reader {
            let _ = cmds[reader as usize].send(Command::AssignSplits {
                source: source as u32,
                splits,
            });
        }
        if step.no_more_splits {
            for c in cmds {
                let _ = c.send(Command::NoMoreSplits {
                    source: source as u32,
                });
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct ReaderSlot {
    node: usize,
    reader: ReaderInstance,
    finished: bool,
    /// The enumerator said no more splits will come (told again to a recycled reader).
    no_more: bool,
    rows: u64,
    started: Instant,
}

/// The memory at which an instance is recycled, from st.yaml's `recycle-at-percent`.
fn recycle_threshold(rt: &Runtime, spec: &SandboxSpec) -> Option<usize> {
    let percent = rt.config().recycle_at_percent;
    (percent > 0 && percent < 100).then(|| spec.limits.max_memory_bytes / 100 * percent as usize)
}

/// Replaces a reader whose memory neared its cap with a fresh instance restored from its
/// state: guest memory only grows, so this is how a long-running reader stays within bounds.
async fn recycle_reader(
    rt: &Runtime,
    job: &PreparedJob,
    slot: &mut ReaderSlot,
    ctx: &TaskContext,
    metrics: &mut TaskMetrics,
) -> Result<(), RuntimeError> {
    let node = &job.nodes[slot.node];
    let state = slot.reader.snapshot_state(0).await?;
    let mut fresh = rt
        .reader(&node.plugin, &node.options, ctx, &state, &node.out_tables)
        .await?;
    if slot.no_more {
        fresh.no_more_splits().await?;
    }
    let old = std::mem::replace(&mut slot.reader, fresh);
    metrics
        .peak_memory
        .push((ctx.task_id(), old.peak_memory() as u64));
    metrics.recycled += 1;
    tracing::info!(
        task = ctx.task_id(),
        memory = old.peak_memory(),
        "recycled a reader near its memory cap"
    );
    Ok(())
}

/// One fused subtask: its readers, the transforms and the writers of the pipeline.
async fn run_subtask(
    rt: &Runtime,
    job: &PreparedJob,
    p: usize,
    index: u32,
    mut cmds: mpsc::UnboundedReceiver<Command>,
) -> Result<(Vec<(u32, Vec<Vec<u8>>)>, TaskMetrics), RuntimeError> {
    let plan = &job.pipelines[p];
    let par = plan.parallelism;
    let mut readers = Vec::new();
    for &s in &plan.sources {
        let node = &job.nodes[s];
        let reader = rt
            .reader(
                &node.plugin,
                &node.options,
                &ctx(job, s, index, par),
                &[],
                &node.out_tables,
            )
            .await?;
        readers.push(ReaderSlot {
            node: s,
            reader,
            finished: false,
            no_more: false,
            rows: 0,
            started: Instant::now(),
        });
    }
    // Every node reachable from the sources, in the job's order.
    let mut reachable = vec![false; job.nodes.len()];
    let mut stack: Vec<usize> = plan.sources.clone();
    while let Some(n) = stack.pop() {
        if !reachable[n] {
            reachable[n] = true;
            stack.extend(job.nodes[n].downstream.iter().map(|(d, _)| *d));
        }
    }
    let mut transforms: HashMap<usize, TransformInstance> = HashMap::new();
    let mut writers: Vec<(usize, SinkWriterInstance)> = Vec::new();
    for (i, node) in job.nodes.iter().enumerate().filter(|(i, _)| reachable[*i]) {
        match node.kind {
            PluginKind::Transform => {
                transforms.insert(
                    i,
                    rt.transform(
                        &node.plugin,
                        &node.options,
                        &ctx(job, i, index, par),
                        &node.in_tables,
                    )
                    .await?,
                );
            }
            PluginKind::Sink => {
                writers.push((
                    i,
                    rt.sink_writer(
                        &node.plugin,
                        &node.options,
                        &ctx(job, i, index, par),
                        &node.in_tables,
                        &[],
                    )
                    .await?,
                ));
            }
            PluginKind::Source => {}
        }
    }
    let mut metrics = TaskMetrics::default();
    let mut read: BTreeMap<String, u64> = BTreeMap::new();
    let mut written: BTreeMap<String, u64> = BTreeMap::new();
    let mut queue: VecDeque<(usize, Batch)> = VecDeque::new();
    loop {
        while let Ok(cmd) = cmds.try_recv() {
            apply(cmd, &mut readers).await?;
        }
        let mut progressed = false;
        for slot in readers.iter_mut().filter(|r| !r.finished) {
            let (batch, status) = slot.reader.poll_next(BATCH_ROWS).await?;
            if status == PollStatus::Finished {
                slot.finished = true;
            } else {
                let ctx = ctx(job, slot.node, index, par);
                if recycle_threshold(rt, &ctx.sandbox)
                    .is_some_and(|limit| slot.reader.memory() >= limit)
                {
                    recycle_reader(rt, job, slot, &ctx, &mut metrics).await?;
                }
            }
            let Some(batch) = batch else { continue };
            progressed = true;
            let node = &job.nodes[slot.node];
            if let Some(t) = node.out_tables.get(batch.table as usize) {
                *read.entry(t.table_path.clone()).or_default() += batch.num_rows as u64;
            }
            metrics.bytes_read += batch.byte_size() as u64;
            slot.rows += batch.num_rows as u64;
            queue.push_back((slot.node, batch));
            // Push the batch through the fused chain before reading more.
            while let Some((from, batch)) = queue.pop_front() {
                let downstream = &job.nodes[from].downstream;
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
                    match job.nodes[to].kind {
                        PluginKind::Transform => {
                            if let Some(t) = transforms.get_mut(&to) {
                                for out in t.map(b).await? {
                                    queue.push_back((to, out));
                                }
                                // Transforms keep no state between batches: a fresh instance
                                // replaces one near its memory cap.
                                let node = &job.nodes[to];
                                let ctx = ctx(job, to, index, par);
                                if recycle_threshold(rt, &ctx.sandbox)
                                    .is_some_and(|limit| t.memory() >= limit)
                                {
                                    let fresh = rt
                                        .transform(
                                            &node.plugin,
                                            &node.options,
                                            &ctx,
                                            &node.in_tables,
                                        )
                                        .await?;
                                    let old = std::mem::replace(t, fresh);
                                    metrics
                                        .peak_memory
                                        .push((ctx.task_id(), old.memory() as u64));
                                    metrics.recycled += 1;
                                }
                            }
                        }
                        PluginKind::Sink => {
                            if let Some((_, w)) = writers.iter_mut().find(|(n, _)| *n == to) {
                                if let Some(t) = job.nodes[to].in_tables.get(b.table as usize) {
                                    *written.entry(t.table_path.clone()).or_default() +=
                                        b.num_rows as u64;
                                }
                                w.write(b).await?;
                            }
                        }
                        PluginKind::Source => {}
                    }
                }
            }
            if let Some(limit) = job.rows_per_second.filter(|l| *l > 0) {
                let due = Duration::from_secs_f64(slot.rows as f64 / limit as f64);
                let elapsed = slot.started.elapsed();
                if due > elapsed {
                    tokio::time::sleep(due - elapsed).await;
                }
            }
        }
        if readers.iter().all(|r| r.finished) {
            break;
        }
        if !progressed {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => apply(cmd, &mut readers).await?,
                    None => tokio::time::sleep(Duration::from_millis(5)).await,
                },
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
    }
    let mut commit_infos = Vec::new();
    for (node, w) in &mut writers {
        let info = w.prepare_commit(1).await?;
        w.close().await?;
        commit_infos.push((*node as u32, info.into_iter().collect()));
        metrics.peak_memory.push((
            ctx(job, *node, index, par).task_id(),
            w.peak_memory() as u64,
        ));
    }
    for r in &readers {
        metrics.peak_memory.push((
            ctx(job, r.node, index, par).task_id(),
            r.reader.peak_memory() as u64,
        ));
    }
    for (n, t) in &transforms {
        metrics
            .peak_memory
            .push((ctx(job, *n, index, par).task_id(), t.memory() as u64));
    }
    metrics.peak_guest_memory = metrics
        .peak_memory
        .iter()
        .map(|(_, b)| *b)
        .max()
        .unwrap_or(0);
    metrics.rows_read = read.into_iter().collect();
    metrics.rows_written = written.into_iter().collect();
    Ok((commit_infos, metrics))
}

async fn apply(cmd: Command, readers: &mut [ReaderSlot]) -> Result<(), RuntimeError> {
    match cmd {
        Command::AssignSplits { source, splits } => {
            if let Some(slot) = readers.iter_mut().find(|r| r.node == source as usize) {
                let splits: Vec<Split> = splits
                    .into_iter()
                    .map(|s| Split {
                        id: s.id,
                        data: s.data,
                    })
                    .collect();
                slot.reader.add_splits(&splits).await?;
            }
        }
        Command::NoMoreSplits { source } => {
            if let Some(slot) = readers.iter_mut().find(|r| r.node == source as usize) {
                slot.no_more = true;
                slot.reader.no_more_splits().await?;
            }
        }
        Command::Cancel => {
            return Err(RuntimeError::Host("cancelled".into()));
        }
    }
    Ok(())
}
