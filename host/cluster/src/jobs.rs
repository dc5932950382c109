//! Jobs on the cluster. The master plans a submitted config through its node's [`JobHost`]
//! (the engine; this crate knows none), writes the job into the map, runs it and writes each
//! state change as it happens. Any node answers listings from its copy of the map and forwards
//! submits and cancels to the master.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::collections::BTreeMap;

use st_plan::{JobId, JobPlan, JobStatus, PipelineStatus, TaskRole};
use tokio::sync::{mpsc, watch};

use crate::map::{Applied, Command, JobRecord};
use crate::service::Service;

/// A job config as a client submits it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The file's name on the client, for errors.
    pub file: String,
    /// Its text, variables filled in.
    pub config: String,
    pub job_id: Option<JobId>,
    /// `-n`: wins over `env.job.name` unless empty or SeaTunnel's defaults.
    pub job_name: Option<String>,
    /// Run job `job_id` again from its latest savepoint or checkpoint.
    pub resume: bool,
    /// The `.wasm` files the job names, uploaded by the client: reference → sha256.
    pub plugins: BTreeMap<String, String>,
}

/// Why a submission was not planned.
#[derive(Debug, Clone)]
pub enum PlanError {
    /// The config is wrong (every problem, with file and line).
    Config(String),
    /// Something else (a plugin that does not load on this node).
    Other(String),
}

/// What a running job is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Run,
    Cancel,
    Savepoint,
    /// This node is no longer the master: stop the job and record nothing more of it (the
    /// new master takes it over from its latest checkpoint).
    Abandon,
}

/// A state change of a running job, or its totals so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Job(JobStatus),
    Pipeline(u32, PipelineStatus),
    /// The job's report so far (the engine's, JSON): kept in the job master's memory, never
    /// written to the map.
    Metrics(Vec<u8>),
    /// A pipeline completed a checkpoint.
    Checkpoint(u32, crate::map::CheckpointPointer),
    /// Something happened that the job's states do not tell (a pipeline restarted).
    Event(String),
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub status: JobStatus,
    pub error: Option<String>,
    /// Its final report (JSON), when it ran.
    pub report: Option<Vec<u8>>,
}

impl Ended {
    pub fn without_report(status: JobStatus, error: Option<String>) -> Ended {
        Ended {
            status,
            error,
            report: None,
        }
    }
}

/// The latest report of each job this node's job masters ran (hot metrics, in memory).
#[derive(Clone, Default)]
pub struct Reports(Arc<Mutex<HashMap<JobId, Vec<u8>>>>);

impl Reports {
    pub(crate) fn get(&self, id: JobId) -> Option<Vec<u8>> {
        self.0.lock().expect("reports").get(&id).cloned()
    }

    fn put(&self, id: JobId, report: Vec<u8>) {
        self.0.lock().expect("reports").insert(id, report);
    }

    /// Forgets the reports of jobs the map no longer holds.
    fn retain(&self, keep: impl Fn(&JobId) -> bool) {
        self.0.lock().expect("reports").retain(|id, _| keep(id));
    }
}

/// How long a new master waits for task nodes (registering after a restart, say) before a job
/// it took over is treated as a new submission would be.
const TAKE_OVER_PATIENCE: Duration = Duration::from_secs(30);

/// A node a task runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub node: u64,
    pub address: String,
}

/// Where each task of a job runs, by pipeline and role (the same for every attempt).
#[derive(Debug, Clone)]
pub struct Placement {
    pub cluster_name: String,
    /// The node the job master runs on.
    pub here: u64,
    pub tasks: HashMap<(u32, TaskRole), Site>,
}

impl Placement {
    /// How many tasks each node runs.
    pub fn per_node(&self) -> BTreeMap<u64, u32> {
        let mut n = BTreeMap::new();
        for site in self.tasks.values() {
            *n.entry(site.node).or_insert(0) += 1;
        }
        n
    }
}

/// Where a job's tasks run now, kept by its job master. When a task's node is lost (its
/// stream broke and it does not answer), that node's tasks are placed again on the live task
/// nodes' free slots as their pipelines start them again, and the job's slots follow them.
#[derive(Clone)]
pub struct Sites {
    svc: Service,
    job: JobId,
    tag_filter: BTreeMap<String, String>,
    pub cluster_name: String,
    /// The node the job master runs on.
    pub here: u64,
    state: Arc<Mutex<SitesState>>,
    /// One re-placement at a time.
    moving: Arc<tokio::sync::Mutex<()>>,
}

struct SitesState {
    placement: Placement,
    /// Nodes found gone whose tasks have not moved yet, with their addresses.
    lost: BTreeMap<u64, String>,
}

impl Sites {
    fn new(svc: Service, plan: &JobPlan, placement: Placement) -> Sites {
        Sites {
            job: plan.job_id,
            tag_filter: plan.tag_filter.clone(),
            cluster_name: placement.cluster_name.clone(),
            here: placement.here,
            svc,
            state: Arc::new(Mutex::new(SitesState {
                placement,
                lost: BTreeMap::new(),
            })),
            moving: Default::default(),
        }
    }

    /// Where the task runs, unless its node was lost (then [`Sites::replace`] says).
    pub fn current(&self, pipeline: u32, role: TaskRole) -> Option<Site> {
        let st = self.state.lock().expect("sites");
        st.placement
            .tasks
            .get(&(pipeline, role))
            .filter(|s| !st.lost.contains_key(&s.node))
            .cloned()
    }

    /// How many tasks each node runs now.
    pub fn per_node(&self) -> BTreeMap<u64, u32> {
        self.state.lock().expect("sites").placement.per_node()
    }

    /// A task's stream to `site` broke: whether its node is gone (it does not answer a probe
    /// either). A gone node's tasks move when their pipelines start them again.
    pub async fn check_lost(&self, site: &Site) -> bool {
        if site.node == self.here
            || crate::node::probe(&self.svc.identity, &site.address)
                .await
                .is_some_and(|r| r.accepted)
        {
            return false;
        }
        let mut st = self.state.lock().expect("sites");
        if st.placement.tasks.values().any(|s| s.node == site.node) {
            st.lost.insert(site.node, site.address.clone());
        }
        true
    }

    /// Where a task whose node was lost runs now: every task of each lost node is placed on
    /// the live task nodes' free slots (this one's too) and the job's slots are reserved
    /// again. Without enough slots, it waits under `WAIT` and fails under `REJECT`
    /// (SeaTunnel's `NoEnoughResourceException`, saying why).
    pub async fn replace(&self, pipeline: u32, role: TaskRole) -> Result<Site, st_plan::Failure> {
        let _one = self.moving.lock().await;
        let mut waiting = false;
        loop {
            if let Some(site) = self.current(pipeline, role) {
                return Ok(site);
            }
            let why = match self.move_off_lost().await {
                Ok(()) => continue,
                Err(why) => why,
            };
            if !self.svc.wait_for_slots {
                return Err(st_plan::Failure::new(
                    st_plan::FailureKind::Fatal,
                    format!("NoEnoughResourceException: {why}"),
                ));
            }
            if !waiting {
                waiting = true;
                let text = format!("pipeline {pipeline} waits for slots: {why}");
                tracing::warn!("job {}: {text}", self.job);
                self.event(text).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Records `text` as one of the job's events.
    async fn event(&self, text: String) {
        let cmd = Command::JobEvent {
            job: self.job,
            at_ms: now_ms(),
            text,
            by: Some(self.here),
        };
        if let Err(e) = self.svc.write_retrying(cmd).await {
            tracing::warn!("job {}: an event was not recorded: {e}", self.job);
        }
    }

    /// Moves every task of the lost nodes onto live task nodes with free slots.
    async fn move_off_lost(&self) -> Result<(), String> {
        let (mut placement, lost) = {
            let st = self.state.lock().expect("sites");
            (st.placement.clone(), st.lost.clone())
        };
        // A lost node that answers again (restarted) takes tasks again: its old ones are gone.
        let nodes = self.svc.live_task_nodes(self.job, &self.tag_filter).await;
        let mut moving: Vec<(u32, TaskRole)> = placement
            .tasks
            .iter()
            .filter(|(_, s)| lost.contains_key(&s.node))
            .map(|(k, _)| *k)
            .collect();
        moving.sort_by_key(|(p, r)| (*p, r.key()));
        let mut on = placement.per_node();
        on.retain(|n, _| !lost.contains_key(n));
        // What each live node has left for the moved tasks: its free slots for this job
        // (which count the job's own as free) less what the job's other tasks take there.
        let mut left: Vec<Option<u32>> = nodes
            .iter()
            .map(|(n, _, free)| free.map(|f| f.saturating_sub(on.get(n).copied().unwrap_or(0))))
            .collect();
        let before = left.clone();
        let short = |left: &[Option<u32>]| {
            let free: Vec<String> = nodes
                .iter()
                .zip(left)
                .map(|((_, a, _), f)| match f {
                    Some(f) => format!("{a}: {f} free"),
                    None => format!("{a}: no limit"),
                })
                .collect();
            format!(
                "job {}: the {} tasks of lost node{} {} need slots, the live task nodes have {}",
                self.job,
                moving.len(),
                if lost.len() == 1 { "" } else { "s" },
                lost.values().cloned().collect::<Vec<_>>().join(", "),
                if free.is_empty() {
                    "none".to_string()
                } else {
                    free.join(", ")
                }
            )
        };
        let mut moved: BTreeMap<u32, BTreeMap<String, u32>> = BTreeMap::new();
        let mut cursor = 0;
        for key in &moving {
            let slot = (0..nodes.len())
                .map(|k| (cursor + k) % nodes.len())
                .find(|&i| left[i].is_none_or(|f| f > 0));
            let Some(i) = slot else {
                return Err(short(&before));
            };
            if let Some(f) = &mut left[i] {
                *f -= 1;
            }
            cursor = (i + 1) % nodes.len();
            let (node, address) = (nodes[i].0, nodes[i].1.clone());
            *on.entry(node).or_insert(0) += 1;
            *moved
                .entry(key.0)
                .or_default()
                .entry(address.clone())
                .or_insert(0) += 1;
            placement.tasks.insert(*key, Site { node, address });
        }
        match self
            .svc
            .write(Command::ReserveSlots { job: self.job, on })
            .await
        {
            Ok(Applied::Done | Applied::Stale) => {}
            Ok(Applied::Rejected(why)) => return Err(why),
            Err(e) => return Err(e),
        }
        {
            let mut st = self.state.lock().expect("sites");
            st.placement = placement;
            st.lost.retain(|n, _| !lost.contains_key(n));
        }
        let checkpoints = self
            .svc
            .sm
            .map()
            .jobs
            .get(&self.job)
            .map(|r| r.checkpoints.clone())
            .unwrap_or_default();
        let gone = lost.values().cloned().collect::<Vec<_>>().join(", ");
        for (pipeline, to) in moved {
            let from = match checkpoints.get(&pipeline) {
                Some(c) => format!("from checkpoint {}", c.id),
                None => "from the start".to_string(),
            };
            let to = to
                .iter()
                .map(|(a, n)| format!("{a} ({n} task{})", if *n == 1 { "" } else { "s" }))
                .collect::<Vec<_>>()
                .join(", ");
            let text = format!(
                "pipeline {pipeline} restarted on node {to} {from} after node {gone} was lost"
            );
            tracing::warn!("job {}: {text}", self.job);
            self.event(text).await;
        }
        Ok(())
    }
}

/// Every task of `plan`: per pipeline an enumerator per source, a committer per sink and the
/// fused subtasks, SeaTunnel's 2 + P slots.
pub fn tasks_of(plan: &JobPlan) -> Vec<(u32, TaskRole)> {
    let mut all = Vec::new();
    for p in &plan.pipelines {
        all.extend(
            p.sources
                .iter()
                .map(|&source| (p.id, TaskRole::Enumerator { source })),
        );
        all.extend(
            p.sinks
                .iter()
                .map(|&sink| (p.id, TaskRole::Committer { sink })),
        );
        all.extend((0..p.parallelism).map(|index| (p.id, TaskRole::Subtask { index })));
    }
    all
}

/// What plans and runs jobs on a node: its engine.
#[tonic::async_trait]
pub trait JobHost: Send + Sync + 'static {
    /// Keeps an uploaded plugin component where every node can load it; returns its sha256.
    async fn put_plugin(&self, name: &str, component: Vec<u8>) -> Result<String, String>;
    async fn plan(&self, submission: &Submission, job_id: JobId) -> Result<JobPlan, PlanError>;
    /// Runs `plan` to its end with its tasks where `sites` puts them, sending its state
    /// changes to `updates` and heeding `stop`.
    async fn run(
        &self,
        plan: JobPlan,
        resume: bool,
        sites: Sites,
        stop: watch::Receiver<Stop>,
        updates: mpsc::UnboundedSender<Update>,
    ) -> Ended;
    /// Runs one task of `plan` here for a job master elsewhere (`start`: the engine's task
    /// start, JSON), until it ends; when `commands` closes, the master has let go and the
    /// task is stopped.
    async fn run_task(
        &self,
        plan: JobPlan,
        start: Vec<u8>,
        commands: mpsc::UnboundedReceiver<st_plan::Command>,
        events: mpsc::UnboundedSender<st_plan::Event>,
    ) -> Result<(), String>;
}

/// The jobs this node's master runs.
#[derive(Clone, Default)]
pub struct Running(Arc<Mutex<HashMap<JobId, watch::Sender<Stop>>>>);

/// The jobs waiting to be scheduled, in submission order: only the first is placed, so jobs
/// get their slots first come, first served (SeaTunnel's pending queue).
#[derive(Clone, Default)]
pub struct Queue(Arc<Mutex<std::collections::VecDeque<JobId>>>);

impl Queue {
    fn push(&self, id: JobId) {
        self.0.lock().expect("queue").push_back(id);
    }

    fn first_is(&self, id: JobId) -> bool {
        self.0.lock().expect("queue").front() == Some(&id)
    }

    fn remove(&self, id: JobId) {
        self.0.lock().expect("queue").retain(|j| *j != id);
    }
}

impl Running {
    /// Stops every job this node's job masters run, recording nothing more of them.
    pub(crate) fn abandon_all(&self) {
        let map = self.0.lock().expect("running jobs");
        for (id, tx) in map.iter() {
            tracing::warn!(
                "job {id}: this node is no longer the master; stopping its job master here"
            );
            let _ = tx.send(Stop::Abandon);
        }
    }

    fn stop(&self, id: JobId, how: Stop) -> bool {
        let map = self.0.lock().expect("running jobs");
        match map.get(&id) {
            Some(tx) => {
                let _ = tx.send(how);
                true
            }
            None => false,
        }
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// SeaTunnel's rule for a job's name: `-n` unless it is empty or one of the CLI's defaults,
/// else `env.job.name`, else `SeaTunnel_Job`.
pub fn job_name(given: Option<&str>, from_env: Option<&str>) -> String {
    let usable = |n: &&str| !n.trim().is_empty() && *n != "SeaTunnel" && *n != "SeaTunnel_Job";
    given
        .filter(usable)
        .or(from_env.filter(|n| !n.trim().is_empty()))
        .unwrap_or("SeaTunnel_Job")
        .to_string()
}

impl Service {
    /// Writes `cmd`, retrying while there is no master or the outcome is unknown: state changes
    /// are idempotent, so a retry of one that did commit is stale and harmless.
    pub(crate) async fn write_retrying(&self, cmd: Command) -> Result<Applied, String> {
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for _ in 0..30 {
            match self.write(cmd.clone()).await {
                Ok(a) => return Ok(a),
                Err(e) => last = e,
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        Err(last)
    }

    /// On the master: plans, records and starts a job; returns its id, name, the planner's
    /// warnings and when it was recorded.
    pub(crate) async fn submit_here(
        &self,
        s: Submission,
    ) -> Result<(JobId, String, Vec<String>, u64), PlanError> {
        let Some(host) = self.jobs.clone() else {
            return Err(PlanError::Other(format!(
                "node {} runs no jobs",
                self.identity.address
            )));
        };
        if s.resume && s.job_id.is_none() {
            return Err(PlanError::Other("a resume needs the job's id".into()));
        }
        let id = s.job_id.unwrap_or_else(JobId::generate);
        let known = self.sm.map().jobs.get(&id).map(|r| r.status);
        match known {
            Some(status) if !s.resume => {
                return Err(PlanError::Other(format!(
                    "job id {id} is taken: a job with this id was submitted already ({status})"
                )));
            }
            Some(status) if !status.is_end() => {
                return Err(PlanError::Other(format!(
                    "job {id} is {status}; a running job cannot be resumed"
                )));
            }
            _ => {}
        }
        let plan = host.plan(&s, id).await?;
        let name = plan.job_name.clone();
        let warnings = plan.warnings.clone();
        let now = now_ms();
        let record = Box::new(JobRecord {
            plan: plan.clone(),
            file: s.file.clone(),
            status: JobStatus::Created,
            history: vec![(JobStatus::Created, now)],
            pipelines: Default::default(),
            submitted_ms: now,
            finished_ms: None,
            error: None,
            master: self.identity.id,
            checkpoints: Default::default(),
            events: Vec::new(),
            resumed: s.resume,
            checkpoint_history: Vec::new(),
            config: s.config.clone(),
            plugins: s
                .plugins
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
        let cmd = if s.resume {
            Command::ResubmitJob(record)
        } else {
            Command::SubmitJob(record)
        };
        match self.write(cmd).await {
            Ok(Applied::Rejected(why)) => return Err(PlanError::Other(why)),
            Ok(_) => {}
            Err(e) => return Err(PlanError::Other(format!("the job was not recorded: {e}"))),
        }
        tracing::info!(
            "job {id} ({name}) {} from {}",
            if s.resume { "resumed" } else { "submitted" },
            s.file
        );
        self.start_job(host, plan, s.resume, false);
        Ok((id, name, warnings, now))
    }

    /// Runs a recorded job under this node's job master: schedules it, runs it, and writes
    /// each state change and its end.
    /// A job taken over (`taken_over`) waits for task nodes while the cluster is still
    /// assembling (nodes registering after a restart) rather than being rejected at once.
    fn start_job(&self, host: Arc<dyn JobHost>, plan: JobPlan, resume: bool, taken_over: bool) {
        let id = plan.job_id;
        let (stop, stopped) = watch::channel(Stop::Run);
        {
            let mut running = self.running.0.lock().expect("running jobs");
            if running.contains_key(&id) {
                return;
            }
            running.insert(id, stop);
        }
        self.queue.push(id);
        let svc = self.clone();
        let me = self.identity.id;
        tokio::spawn(async move {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let abandoned = {
                let s = stopped.clone();
                move || *s.borrow() == Stop::Abandon
            };
            let writer = {
                let svc = svc.clone();
                let abandoned = abandoned.clone();
                tokio::spawn(async move {
                    while let Some(u) = rx.recv().await {
                        if abandoned() {
                            continue;
                        }
                        let cmd = match u {
                            Update::Metrics(report) => {
                                svc.reports.put(id, report);
                                continue;
                            }
                            Update::Job(status) => Command::JobStatus {
                                job: id,
                                status,
                                at_ms: now_ms(),
                                error: None,
                                by: Some(me),
                            },
                            Update::Pipeline(pipeline, status) => Command::PipelineStatus {
                                job: id,
                                pipeline,
                                status,
                                by: Some(me),
                            },
                            Update::Checkpoint(pipeline, pointer) => Command::CheckpointCompleted {
                                job: id,
                                pipeline,
                                pointer,
                                by: Some(me),
                            },
                            Update::Event(text) => Command::JobEvent {
                                job: id,
                                at_ms: now_ms(),
                                text,
                                by: Some(me),
                            },
                        };
                        if let Err(e) = svc.write_retrying(cmd).await {
                            tracing::warn!("job {id}: a state change was not recorded: {e}");
                        }
                    }
                })
            };
            let mut stopped = stopped;
            let patience = taken_over.then_some(TAKE_OVER_PATIENCE);
            let scheduled = svc.schedule(&plan, &mut stopped, &tx, patience).await;
            svc.queue.remove(id);
            let ended = match scheduled {
                Ok(placement) => {
                    tracing::info!(
                        "job {id}: tasks placed on {}",
                        placement
                            .per_node()
                            .iter()
                            .map(|(n, c)| format!(
                                "{} ({c})",
                                svc.identity.members.get(n).map_or("?", String::as_str)
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let sites = Sites::new(svc.clone(), &plan, placement);
                    host.run(plan, resume, sites, stopped, tx).await
                }
                Err(ended) => {
                    drop(tx);
                    ended
                }
            };
            let _ = writer.await;
            if let Some(r) = &ended.report {
                svc.reports.put(id, r.clone());
            }
            svc.running.0.lock().expect("running jobs").remove(&id);
            if abandoned() {
                tracing::info!("job {id}: left to the new master");
                return;
            }
            let cmd = Command::JobStatus {
                job: id,
                status: ended.status,
                at_ms: now_ms(),
                error: ended.error.clone(),
                by: Some(me),
            };
            if let Err(e) = svc.write_retrying(cmd).await {
                tracing::error!("job {id}: its end ({}) was not recorded: {e}", ended.status);
            }
            match &ended.error {
                Some(e) => tracing::info!("job {id} ended {}: {e}", ended.status),
                None => tracing::info!("job {id} ended {}", ended.status),
            }
        });
    }

    /// A new master takes over every job the map has not seen end: each resumes from its
    /// latest checkpoint under this node's job master (its old master is gone, and with it
    /// every task it ran: a worker stops a task whose master went away).
    pub(crate) async fn take_over_jobs(&self) {
        let Some(host) = self.jobs.clone() else {
            return;
        };
        let map = self.sm.map();
        for r in map.jobs.values().filter(|r| !r.status.is_end()) {
            let id = r.id();
            if self
                .running
                .0
                .lock()
                .expect("running jobs")
                .contains_key(&id)
            {
                continue;
            }
            tracing::info!(
                "taking over job {id} ({}, {}) from its latest checkpoint",
                r.plan.job_name,
                r.status
            );
            if let Err(e) = self
                .write_retrying(Command::JobMaster {
                    job: id,
                    node: self.identity.id,
                })
                .await
            {
                tracing::warn!("job {id}: could not record its new master: {e}");
                continue;
            }
            self.start_job(host.clone(), r.plan.clone(), true, true);
        }
    }

    /// On the master: asks a running job for a savepoint, after which it stops
    /// (`SAVEPOINT_DONE`) and can be resumed.
    pub(crate) fn savepoint_here(&self, id: JobId) -> Result<(), String> {
        if self.running.stop(id, Stop::Savepoint) {
            tracing::info!("job {id}: savepoint requested");
            return Ok(());
        }
        Err(format!(
            "The job with id '{id}' not running, save point failed"
        ))
    }

    /// Places every task of `plan` on a live node that runs tasks and has a free slot, and
    /// reserves those slots in the map (all or none). Without enough, the job fails with
    /// SeaTunnel's `NoEnoughResourceException` under `REJECT`, or waits `PENDING` under `WAIT`
    /// (a cancel ends the wait).
    async fn schedule(
        &self,
        plan: &JobPlan,
        stop: &mut watch::Receiver<Stop>,
        updates: &mpsc::UnboundedSender<Update>,
        patience: Option<Duration>,
    ) -> Result<Placement, Ended> {
        let id = plan.job_id;
        let tasks = tasks_of(plan);
        let mut pending = false;
        let patient_until = patience.map(|p| tokio::time::Instant::now() + p);
        let queued = tokio::time::Instant::now();
        loop {
            if *stop.borrow() == Stop::Cancel {
                return Err(Ended::without_report(
                    JobStatus::Canceled,
                    Some("cancelled while waiting for slots".into()),
                ));
            }
            if !self.queue.first_is(id) {
                // An earlier job is being scheduled or waits for slots: its turn first.
                if self.wait_for_slots && !pending && queued.elapsed() > Duration::from_millis(200)
                {
                    pending = true;
                    let _ = updates.send(Update::Job(JobStatus::Pending));
                }
                let _ = tokio::time::timeout(Duration::from_millis(50), stop.changed()).await;
                continue;
            }
            let why = match self.place(plan, &tasks).await {
                Ok(placement) => {
                    let on = placement.per_node();
                    match self.write(Command::ReserveSlots { job: id, on }).await {
                        Ok(Applied::Done | Applied::Stale) => return Ok(placement),
                        Ok(Applied::Rejected(why)) => why,
                        Err(e) => e,
                    }
                }
                Err(why) => why,
            };
            if patient_until.is_some_and(|t| tokio::time::Instant::now() < t) {
                tracing::info!(
                    "job {id}: waiting for the cluster's task nodes to take it over: {why}"
                );
                let _ = tokio::time::timeout(Duration::from_secs(1), stop.changed()).await;
                continue;
            }
            if !self.wait_for_slots {
                return Err(Ended::without_report(
                    JobStatus::Failed,
                    Some(format!("NoEnoughResourceException: {why}")),
                ));
            }
            if !pending {
                pending = true;
                tracing::info!("job {id} waits for slots: {why}");
                let _ = updates.send(Update::Job(JobStatus::Pending));
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), stop.changed()).await;
        }
    }

    /// The live nodes that run tasks and carry `plan`'s tags, with their free slots for its
    /// job (`None`: no limit), this node first.
    async fn live_task_nodes(
        &self,
        job: JobId,
        tag_filter: &BTreeMap<String, String>,
    ) -> Vec<(u64, String, Option<u32>)> {
        let map = self.sm.map();
        let mut nodes: Vec<(u64, String, Option<u32>)> = Vec::new();
        let matches = |tags: &BTreeMap<String, String>| {
            tag_filter.iter().all(|(k, v)| tags.get(k) == Some(v))
        };
        for (&node, rec) in &map.nodes {
            if !rec.role.runs_tasks() || !matches(&rec.tags) {
                continue;
            }
            let alive = node == self.identity.id
                || crate::node::probe(&self.identity, &rec.address)
                    .await
                    .is_some_and(|r| r.accepted);
            if alive {
                nodes.push((node, rec.address.clone(), map.slots_free_for(node, job)));
            }
        }
        nodes.sort_by_key(|(n, _, _)| (*n != self.identity.id, *n));
        nodes
    }

    /// A placement of `tasks` on the live task nodes' free slots, this node's first.
    async fn place(&self, plan: &JobPlan, tasks: &[(u32, TaskRole)]) -> Result<Placement, String> {
        let nodes = self.live_task_nodes(plan.job_id, &plan.tag_filter).await;
        let total_free: Option<u32> = nodes
            .iter()
            .try_fold(0u32, |acc, (_, _, f)| f.map(|f| acc + f));
        let describe = || {
            let free = nodes
                .iter()
                .map(|(_, a, f)| match f {
                    Some(f) => format!("{a}: {f} free"),
                    None => format!("{a}: no limit"),
                })
                .collect::<Vec<_>>();
            let filter = if plan.tag_filter.is_empty() {
                String::new()
            } else {
                let tags: Vec<String> = plan
                    .tag_filter
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!(" with the tags {}", tags.join(", "))
            };
            format!(
                "job {} needs {} slots ({}), the live task nodes{filter} have {} ({})",
                plan.job_id,
                tasks.len(),
                slot_needs(plan),
                total_free.map_or("no limit".to_string(), |f| format!("{f} free")),
                if free.is_empty() {
                    "none".to_string()
                } else {
                    free.join(", ")
                }
            )
        };
        if nodes.is_empty() {
            return Err(describe());
        }
        let mut left: Vec<Option<u32>> = nodes.iter().map(|n| n.2).collect();
        let mut placed = HashMap::new();
        let mut cursor = 0;
        for &task in tasks {
            let slot = (0..nodes.len())
                .map(|k| (cursor + k) % nodes.len())
                .find(|&i| left[i].is_none_or(|f| f > 0));
            let Some(i) = slot else {
                return Err(describe());
            };
            if let Some(f) = &mut left[i] {
                *f -= 1;
            }
            cursor = (i + 1) % nodes.len();
            placed.insert(
                task,
                Site {
                    node: nodes[i].0,
                    address: nodes[i].1.clone(),
                },
            );
        }
        Ok(Placement {
            cluster_name: self.identity.cluster_name.clone(),
            here: self.identity.id,
            tasks: placed,
        })
    }

    /// On the master: cancels `id`; an error says why it could not be.
    pub(crate) async fn cancel_here(&self, id: JobId) -> Result<(), String> {
        if self.running.stop(id, Stop::Cancel) {
            tracing::info!("job {id}: cancel requested");
            return Ok(());
        }
        let map = self.sm.map();
        let Some(r) = map.jobs.get(&id) else {
            return Err(format!("job {id} not found"));
        };
        if r.status.is_end() {
            return Err(format!("job {id} has ended already ({})", r.status));
        }
        // Recorded but run by no job master here: nothing else can end it.
        self.write_retrying(Command::JobStatus {
            job: id,
            status: JobStatus::Canceled,
            at_ms: now_ms(),
            error: Some("cancelled by the user".into()),
            by: None,
        })
        .await
        .map(|_| ())
    }

    /// On the master, every minute: forgets jobs that ended more than `keep` ago.
    pub(crate) fn expire_history(&self, keep: Duration) {
        let svc = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if !svc.is_master() {
                    continue;
                }
                let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
                let before_ms = now_ms().saturating_sub(keep_ms);
                let map = svc.sm.map();
                svc.reports.retain(|id| map.jobs.contains_key(id));
                let due = map
                    .jobs
                    .values()
                    .any(|r| r.status.is_end() && r.finished_ms.is_some_and(|f| f < before_ms));
                if due && let Err(e) = svc.write(Command::ExpireJobs { before_ms }).await {
                    tracing::debug!("expiring job history: {e}");
                }
            }
        });
    }
}

/// `pipeline 0: 1 enumerator, 1 committer, 4 subtasks; ...`
fn slot_needs(plan: &JobPlan) -> String {
    plan.pipelines
        .iter()
        .map(|p| {
            format!(
                "pipeline {}: {} enumerator{}, {} committer{}, {} subtask{}",
                p.id,
                p.sources.len(),
                if p.sources.len() == 1 { "" } else { "s" },
                p.sinks.len(),
                if p.sinks.len() == 1 { "" } else { "s" },
                p.parallelism,
                if p.parallelism == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where copies of the map's jobs go (SeaTunnel's `map-store`): a cluster that starts on empty
/// disks reads its jobs back from there.
#[tonic::async_trait]
pub trait MapStore: Send + Sync + 'static {
    /// Where it is, for messages.
    fn location(&self) -> String;
    async fn save(&self, jobs: Vec<u8>) -> Result<(), String>;
    async fn load(&self) -> Result<Option<Vec<u8>>, String>;
}

impl Service {
    /// A master of a map without jobs reads the map store's back (a cluster started on empty
    /// disks), before it takes jobs over.
    pub(crate) async fn restore_from_map_store(&self) {
        let Some(store) = self.map_store.clone() else {
            return;
        };
        if !self.sm.map().jobs.is_empty() {
            return;
        }
        let bytes = match store.load().await {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("cannot read the map store at {}: {e}", store.location());
                return;
            }
        };
        let jobs: BTreeMap<JobId, JobRecord> = match serde_json::from_slice(&bytes) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(
                    "the map store at {} holds no jobs Strait can read: {e}",
                    store.location()
                );
                return;
            }
        };
        let n = jobs.len();
        match self.write_retrying(Command::RestoreJobs(jobs)).await {
            Ok(Applied::Done) => tracing::info!(
                "restored {n} jobs from the map store at {}",
                store.location()
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("restoring jobs from the map store: {e}"),
        }
    }

    /// On the master, every 2 s: writes the map's jobs to the map store when they changed.
    pub(crate) fn export_to_map_store(&self) {
        let Some(store) = self.map_store.clone() else {
            return;
        };
        let svc = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            let mut last: Option<Vec<u8>> = None;
            loop {
                tick.tick().await;
                if !svc.is_master() {
                    continue;
                }
                let jobs = svc.sm.map().jobs;
                let Ok(bytes) = serde_json::to_vec(&jobs) else {
                    continue;
                };
                if last.as_ref() == Some(&bytes) {
                    continue;
                }
                match store.save(bytes.clone()).await {
                    Ok(()) => last = Some(bytes),
                    Err(e) => {
                        tracing::warn!("cannot write the map store at {}: {e}", store.location())
                    }
                }
            }
        });
    }
}
