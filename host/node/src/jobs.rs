//! The node's engine as the cluster's [`JobHost`]: plans submitted configs with the plugins
//! this node has, and runs their plans.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use st_cluster::jobs::{
    Ended, JobHost, PlanError, Site, Sites, Stop, Submission, Update, job_name,
};
use st_engine::{
    Command, Commands, Engine, Event, Events, Failure, FailureKind, JobError, JobEvent, JobId,
    JobPlan, JobStatus, LocalLauncher, PreparedJob, TaskHandle, TaskLauncher, TaskStart,
    spawn_task,
};
use tokio::sync::{mpsc, watch};

pub struct EngineHost {
    pub engine: Engine,
    /// Plans opened here for tasks of jobs mastered elsewhere, shared by their tasks.
    opened: Mutex<HashMap<JobId, Weak<PreparedJob>>>,
}

impl EngineHost {
    pub fn new(engine: Engine) -> EngineHost {
        EngineHost {
            engine,
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// `plan` opened on this node, once for all of its tasks that run here at a time.
    async fn opened(&self, plan: JobPlan) -> Result<Arc<PreparedJob>, Failure> {
        let id = plan.job_id;
        if let Some(p) = self
            .opened
            .lock()
            .expect("opened plans")
            .get(&id)
            .and_then(Weak::upgrade)
            && p.plan == plan
        {
            return Ok(p);
        }
        self.engine.fetch_plugins(&plan).await?;
        let p = Arc::new(self.engine.open(plan).await?);
        let mut opened = self.opened.lock().expect("opened plans");
        opened.retain(|_, w| w.strong_count() > 0);
        opened.insert(id, Arc::downgrade(&p));
        Ok(p)
    }
}

/// Starts each task on the node its sites name: this node's in this process, others' through
/// their `RunTask` stream. A task whose node was lost is placed again first.
struct ClusterLauncher {
    local: Arc<LocalLauncher>,
    sites: Sites,
    plan: Arc<Vec<u8>>,
}

/// Stops the task it holds when dropped (a task started here after a re-placement, inside the
/// launcher's own task).
struct AbortOnDrop(Box<dyn TaskHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TaskLauncher for ClusterLauncher {
    fn launch(&self, start: TaskStart, commands: Commands, events: Events) -> Box<dyn TaskHandle> {
        let task = start.task;
        let here = self.sites.here;
        match self.sites.current(task.pipeline, task.role) {
            Some(site) if site.node == here => {
                tracing::info!("running {task} here");
                self.local.launch(start, commands, events)
            }
            Some(site) => {
                let (sites, plan) = (self.sites.clone(), self.plan.clone());
                spawn_task(remote(sites, site, plan, start, commands, events))
            }
            None => {
                let (sites, plan, local) =
                    (self.sites.clone(), self.plan.clone(), self.local.clone());
                spawn_task(async move {
                    let site = match sites.replace(task.pipeline, task.role).await {
                        Ok(site) => site,
                        Err(failure) => {
                            let _ = events.send(Event::Failed {
                                task,
                                failure: failure.from_task(task),
                            });
                            return;
                        }
                    };
                    if site.node == here {
                        tracing::info!("running {task} here");
                        let handle = AbortOnDrop(local.launch(start, commands, events));
                        handle.0.ended().await;
                    } else {
                        remote(sites, site, plan, start, commands, events).await;
                    }
                })
            }
        }
    }
}

/// Runs a task on `site` through its `RunTask` stream, forwarding commands and events; a
/// stream that breaks fails the task, as a lost node when the node does not answer either.
async fn remote(
    sites: Sites,
    site: Site,
    plan: Arc<Vec<u8>>,
    start: TaskStart,
    mut commands: Commands,
    events: Events,
) {
    let task = start.task;
    let start = match serde_json::to_vec(&start) {
        Ok(s) => s,
        Err(e) => {
            let failure =
                Failure::new(FailureKind::Host, format!("{task} does not serialize: {e}"));
            let _ = events.send(Event::Failed {
                task,
                failure: failure.from_task(task),
            });
            return;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = tx.send(st_proto::TaskIn {
        cluster_name: sites.cluster_name.clone(),
        plan: plan.to_vec(),
        start,
        command: Vec::new(),
    });
    let pump = tokio::spawn(async move {
        while let Some(c) = commands.recv().await {
            let Ok(command) = serde_json::to_vec(&c) else {
                return;
            };
            let msg = st_proto::TaskIn {
                command,
                ..Default::default()
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
    let outcome = async {
        let mut client = st_proto::client(&site.address, Duration::from_secs(2))?;
        let stream = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
        let mut events_in = client
            .run_task(stream)
            .await
            .map_err(|s| s.message().to_string())?
            .into_inner();
        let mut ended = false;
        while let Some(m) = events_in
            .message()
            .await
            .map_err(|s| s.message().to_string())?
        {
            let ev: Event = serde_json::from_slice(&m.event).map_err(|e| e.to_string())?;
            ended |= matches!(ev, Event::Finished { .. } | Event::Failed { .. });
            let _ = events.send(ev);
        }
        if ended {
            Ok(())
        } else {
            Err("its task ended without a word".to_string())
        }
    }
    .await;
    pump.abort();
    if let Err(why) = outcome {
        tracing::warn!("{task} on {}: {why}", site.address);
        let failure = if sites.check_lost(&site).await {
            Failure::new(
                FailureKind::NodeLost,
                format!("node {} was lost: {why}", site.address),
            )
        } else {
            Failure::new(
                FailureKind::Host,
                format!("the stream of {task} to node {} broke: {why}", site.address),
            )
        };
        let _ = events.send(Event::Failed {
            task,
            failure: failure.from_task(task),
        });
    }
}

#[tonic::async_trait]
impl JobHost for EngineHost {
    async fn put_plugin(&self, name: &str, component: Vec<u8>) -> Result<String, String> {
        let sha = self.engine.put_plugin(component, name).await?;
        tracing::info!("plugin {name} uploaded (sha256 {sha})");
        Ok(sha)
    }

    async fn plan(&self, s: &Submission, job_id: JobId) -> Result<JobPlan, PlanError> {
        // The client filled the variables in; the node's environment is not the job's.
        let no_env = |_: &str| None;
        let job = st_job::load_str(&s.file, &s.config, &HashMap::new(), &no_env)
            .map_err(|e| PlanError::Config(e.to_string()))?;
        // The job's own `.wasm` files are the client's: their uploaded components stand in.
        let rt = self.engine.runtime();
        for (reference, sha) in &s.plugins {
            match self.engine.load_stored(sha, reference).await {
                Ok(true) => rt.provide(reference, sha),
                Ok(false) => {
                    return Err(PlanError::Other(format!(
                        "{reference}: its uploaded component (sha256 {sha}) is not in the cluster's store; submit again"
                    )));
                }
                Err(f) => return Err(PlanError::Other(f.to_string())),
            }
        }
        let planned = self.engine.plan(&job, job_id).await;
        for reference in s.plugins.keys() {
            rt.withdraw(reference);
        }
        let mut plan = match planned {
            Ok(planned) => planned.plan,
            Err(JobError::Invalid(errors)) => return Err(PlanError::Config(errors.to_string())),
            Err(e) => return Err(PlanError::Other(e.to_string())),
        };
        plan.job_name = job_name(s.job_name.as_deref(), Some(job.env.job_name.as_str()));
        Ok(plan)
    }

    async fn run(
        &self,
        plan: JobPlan,
        resume: bool,
        sites: Sites,
        mut stop: watch::Receiver<Stop>,
        updates: mpsc::UnboundedSender<Update>,
    ) -> Ended {
        let job_id = plan.job_id;
        let plan_json = match serde_json::to_vec(&plan) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                return Ended::without_report(
                    JobStatus::Failed,
                    Some(format!("the plan does not serialize: {e}")),
                );
            }
        };
        // A master that took the job over may not have its uploaded plugins yet.
        if let Err(f) = self.engine.fetch_plugins(&plan).await {
            return Ended::without_report(JobStatus::Failed, Some(f.to_string()));
        }
        let prepared = match self.engine.open(plan).await {
            Ok(p) => p,
            Err(f) => {
                return Ended::without_report(JobStatus::Failed, Some(f.to_string()));
            }
        };
        let (cancel, savepoint) = (prepared.cancel_token(), prepared.savepoint_token());
        let mut events = prepared.events();
        let (job_name, started) = (prepared.plan.job_name.clone(), std::time::SystemTime::now());
        let mut forward = tokio::spawn(async move {
            let mut totals: std::collections::BTreeMap<u32, st_engine::TaskMetrics> =
                Default::default();
            let mut status = JobStatus::Created;
            loop {
                match events.recv().await {
                    Ok(JobEvent::Job { status: now, .. }) => {
                        status = now;
                        let _ = updates.send(Update::Job(now));
                    }
                    Ok(JobEvent::Progress { pipeline, metrics }) => {
                        totals.insert(pipeline, metrics);
                        let report = st_engine::JobReport::so_far(
                            &job_id.to_string(),
                            &job_name,
                            started,
                            status,
                            totals.values(),
                        );
                        if let Ok(r) = serde_json::to_vec(&report) {
                            let _ = updates.send(Update::Metrics(r));
                        }
                    }
                    Ok(JobEvent::Pipeline {
                        pipeline, status, ..
                    }) => {
                        let _ = updates.send(Update::Pipeline(pipeline, status));
                    }
                    Ok(JobEvent::CheckpointCompleted {
                        pipeline,
                        id,
                        kind,
                        duration_ms,
                        size_bytes,
                        tasks,
                    }) => {
                        tracing::debug!(
                            "job {job_id}: pipeline {pipeline}: checkpoint {id} in {duration_ms} ms"
                        );
                        let kind = match kind {
                            st_checkpoint::Kind::Periodic => "checkpoint",
                            st_checkpoint::Kind::Savepoint => "savepoint",
                            st_checkpoint::Kind::Final => "final",
                        };
                        let pointer = st_cluster::map::CheckpointPointer {
                            id,
                            kind: kind.into(),
                            at_ms: st_cluster::jobs::now_ms(),
                            duration_ms,
                            size_bytes,
                            tasks,
                        };
                        let _ = updates.send(Update::Checkpoint(pipeline, pointer));
                    }
                    Ok(restarted @ JobEvent::Restarted { .. }) => {
                        tracing::warn!("job {job_id}: {restarted}");
                        let _ = updates.send(Update::Event(restarted.to_string()));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("job {job_id}: {n} events not recorded (too many at once)");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        let watch_stop = tokio::spawn(async move {
            while stop.changed().await.is_ok() {
                match *stop.borrow() {
                    Stop::Cancel | Stop::Abandon => cancel.cancel(),
                    Stop::Savepoint => savepoint.cancel(),
                    Stop::Run => {}
                }
            }
        });
        let runtime = self.engine.runtime().clone();
        let result = self
            .engine
            .run_placed(prepared, resume, move |job| {
                Arc::new(ClusterLauncher {
                    local: Arc::new(LocalLauncher::new(runtime, job.clone())),
                    sites,
                    plan: plan_json,
                })
            })
            .await;
        watch_stop.abort();
        // The job's event channel closes with the job: every state change is forwarded.
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut forward)
            .await
            .is_err()
        {
            forward.abort();
            tracing::debug!("job {job_id}: its event channel did not close");
        }
        match result {
            Ok(report) => Ended {
                status: report.status,
                error: None,
                report: serde_json::to_vec(&report).ok(),
            },
            Err(JobError::Savepointed { report, .. }) => Ended {
                status: JobStatus::SavepointDone,
                error: None,
                report: serde_json::to_vec(&report).ok(),
            },
            // A resume of a job whose end was written to its checkpoints but not to the map.
            Err(JobError::AlreadyFinished { .. }) => {
                Ended::without_report(JobStatus::Finished, None)
            }
            Err(JobError::Failed { failure, .. }) if failure.is_cancel() => {
                Ended::without_report(JobStatus::Canceled, Some(failure.to_string()))
            }
            Err(e) => Ended::without_report(JobStatus::Failed, Some(e.to_string())),
        }
    }

    async fn run_task(
        &self,
        plan: JobPlan,
        start: Vec<u8>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<(), String> {
        let start: TaskStart = serde_json::from_slice(&start)
            .map_err(|e| format!("a task start that does not parse: {e}"))?;
        let task = start.task;
        let job = match self.opened(plan).await {
            Ok(j) => j,
            Err(f) => {
                let _ = events.send(Event::Failed {
                    task,
                    failure: f.clone().from_task(task),
                });
                return Err(f.to_string());
            }
        };
        tracing::info!("running {task} here");
        let (tx, rx) = mpsc::unbounded_channel();
        let handle =
            LocalLauncher::new(self.engine.runtime().clone(), job).launch(start, rx, events);
        let mut ended = handle.ended();
        loop {
            tokio::select! {
                () = &mut ended => break,
                c = commands.recv() => match c {
                    Some(c) => { let _ = tx.send(c); }
                    None => {
                        // The job master let go (or is gone): nothing of this task may go on.
                        tracing::info!("{task}: its job master let go; stopping it");
                        handle.abort();
                        (&mut ended).await;
                        break;
                    }
                },
            }
        }
        Ok(())
    }
}

/// SeaTunnel's `map-store` (`map.engine*.map-store.properties`: `type`, `namespace`,
/// `clusterName`, `storage.type`, S3 keys) as an object_store location holding the map's jobs.
pub struct ObjectMapStore {
    store: Arc<dyn object_store::ObjectStore>,
    path: object_store::path::Path,
    location: String,
}

impl ObjectMapStore {
    pub fn open(
        props: &std::collections::BTreeMap<String, String>,
        cluster_name: &str,
    ) -> Result<ObjectMapStore, String> {
        let kind = props.get("type").map_or("hdfs", String::as_str);
        let cluster = props
            .get("clusterName")
            .map_or(cluster_name, String::as_str);
        let opened = st_checkpoint::open::open(kind, props, cluster).map_err(|e| {
            format!(
                "map-store: {}",
                e.to_string().replace("checkpoint.storage", "map-store")
            )
        })?;
        let key = format!("{}/job-state-map.json", opened.prefix);
        let location = match &opened.local_root {
            Some(root) => root.join(&key).display().to_string(),
            None => key.clone(),
        };
        Ok(ObjectMapStore {
            store: opened.store,
            path: object_store::path::Path::from(key),
            location,
        })
    }
}

#[tonic::async_trait]
impl st_cluster::jobs::MapStore for ObjectMapStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn save(&self, jobs: Vec<u8>) -> Result<(), String> {
        use object_store::ObjectStoreExt as _;
        self.store
            .put(&self.path, jobs.into())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn load(&self) -> Result<Option<Vec<u8>>, String> {
        use object_store::ObjectStoreExt as _;
        match self.store.get(&self.path).await {
            Ok(got) => got
                .bytes()
                .await
                .map(|b| Some(b.to_vec()))
                .map_err(|e| e.to_string()),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
