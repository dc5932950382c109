//! The gRPC service every node serves: probes, Raft's messages, map writes (forwarded to the
//! master) and the member listing. A caller with another cluster name is refused, and both
//! sides log why.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use tonic::{Request, Response, Status};

use crate::jobs::{JobHost, MapStore, PlanError, Queue, Reports, Running, Submission};
use crate::map::{Applied, Command};
use crate::proto::{self, RaftKind};
use crate::store::StateMachine;
use crate::types::Raft;

/// How long a map write may wait for its commit; after that its outcome is unknown (it may
/// still commit), which the caller is told.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

const NO_MASTER: &str = "there is no master at the moment (an election is running, or too few master-eligible nodes are alive)";

/// What this node knows of itself and its peers.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cluster_name: String,
    pub id: u64,
    pub address: String,
    /// `id=address,...` over every master-eligible member, sorted by id.
    pub fingerprint: String,
    /// The master-eligible members (the Raft voters), by id.
    pub members: BTreeMap<u64, String>,
    pub role: crate::map::Role,
}

#[derive(Clone)]
pub struct Service {
    pub identity: Arc<Identity>,
    pub raft: Raft,
    pub sm: StateMachine,
    /// What plans and runs jobs here (none: this node runs no job master).
    pub jobs: Option<Arc<dyn JobHost>>,
    pub(crate) running: Running,
    pub(crate) reports: Reports,
    pub(crate) queue: Queue,
    /// SeaTunnel's `map-store`: where the master also keeps the map's jobs.
    pub(crate) map_store: Option<Arc<dyn MapStore>>,
    /// `job-schedule-strategy: WAIT`: a job without enough slots waits (`REJECT`: fails).
    pub(crate) wait_for_slots: bool,
    /// On a worker (no Raft member): the master's address as last found.
    pub(crate) master_hint: Arc<std::sync::Mutex<Option<String>>>,
    /// The highest commit index a master has sent this node, plus one (0: none has yet).
    pub(crate) leader_commit: Arc<std::sync::atomic::AtomicU64>,
    /// This node's record as it registers it (tags change through [`Service::set_tags`]).
    pub(crate) own: Arc<std::sync::Mutex<Option<crate::map::NodeRecord>>>,
    /// The latest probe of each member: when, and whether it answered (kept fresh by
    /// [`Service::probe_members`], so `st nodes` and the REST API need not wait for probes).
    pub(crate) liveness:
        Arc<std::sync::Mutex<std::collections::HashMap<u64, (std::time::Instant, bool)>>>,
}

/// How old a probe result may be for `st nodes`; an older one is probed again at once.
const LIVENESS_FRESH: Duration = Duration::from_millis(1500);

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("raft messages serialize")
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(bytes).map_err(|e| Status::invalid_argument(format!("bad payload: {e}")))
}

impl Service {
    /// Whether this node is the master now.
    pub fn is_master(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.identity.id)
    }

    fn is_worker(&self) -> bool {
        self.identity.role == crate::map::Role::Worker
    }

    /// The master's address as a worker last found it.
    pub(crate) fn hinted_master(&self) -> Option<String> {
        self.master_hint.lock().expect("master hint").clone()
    }

    /// The master's address, when there is one and it is not this node.
    fn master_address(&self) -> Result<Option<String>, Status> {
        if self.is_worker() {
            return self
                .hinted_master()
                .map(Some)
                .ok_or_else(|| Status::unavailable(NO_MASTER));
        }
        match self.raft.metrics().borrow().current_leader {
            Some(l) if l == self.identity.id => Ok(None),
            Some(l) => Ok(self.identity.members.get(&l).cloned()),
            None => Err(Status::unavailable(NO_MASTER)),
        }
    }

    /// A client for the master at `addr`.
    fn master_client(&self, addr: &str) -> Result<st_proto::Client, Status> {
        crate::network::shared(addr, Duration::from_secs(1)).map_err(Status::internal)
    }

    fn check_cluster(&self, theirs: &str, who: &str) -> Result<(), String> {
        if theirs == self.identity.cluster_name {
            return Ok(());
        }
        let reason = format!(
            "cluster name `{theirs}` is not this cluster's `{}` (hazelcast.cluster-name)",
            self.identity.cluster_name
        );
        tracing::warn!("refused {who}: {reason}");
        Err(reason)
    }

    pub(crate) fn own_record(&self) -> Option<crate::map::NodeRecord> {
        self.own.lock().expect("own record").clone()
    }

    /// Replaces this node's tags (`member-attributes`) in the map.
    pub async fn set_tags(
        &self,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<(), String> {
        let record = {
            let mut own = self.own.lock().expect("own record");
            let Some(r) = own.as_mut() else {
                return Err("this node has not registered yet".into());
            };
            r.tags = tags;
            r.clone()
        };
        self.write(Command::RegisterNode(record)).await.map(|_| ())
    }

    /// Writes `cmd` through this node when it is the master, else through the master.
    pub async fn write(&self, cmd: Command) -> Result<Applied, String> {
        if self.is_worker() {
            let Some(master) = self.hinted_master() else {
                return Err(NO_MASTER.into());
            };
            return self.forward_write(&master, &cmd).await;
        }
        let res = tokio::time::timeout(WRITE_TIMEOUT, self.raft.client_write(cmd.clone())).await;
        match res {
            Err(_) => Err(format!(
                "not committed within {} s; the outcome is unknown (it may still commit)",
                WRITE_TIMEOUT.as_secs()
            )),
            Ok(Ok(r)) => Ok(r.data),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                let Some(leader) = f.leader_node else {
                    return Err(NO_MASTER.into());
                };
                self.forward_write(&leader.addr, &cmd).await
            }
            Ok(Err(e)) => Err(e.to_string()),
        }
    }

    /// Writes `cmd` through the master at `addr`.
    async fn forward_write(&self, addr: &str, cmd: &Command) -> Result<Applied, String> {
        let mut c = crate::network::shared(addr, Duration::from_secs(1))?;
        let mut req = Request::new(proto::WriteRequest {
            cluster_name: self.identity.cluster_name.clone(),
            command: json(cmd),
        });
        req.set_timeout(WRITE_TIMEOUT + Duration::from_secs(1));
        let reply = c
            .write(req)
            .await
            .map_err(|s| format!("the master at {addr} did not answer: {}", s.message()))?
            .into_inner();
        if !reply.error.is_empty() {
            return Err(reply.error);
        }
        serde_json::from_slice(&reply.applied).map_err(|e| e.to_string())
    }

    /// On a worker, which holds no map: a client for the master, to ask it instead.
    fn worker_asks_master(&self) -> Result<Option<st_proto::Client>, Status> {
        if !self.is_worker() {
            return Ok(None);
        }
        let master = self
            .master_address()?
            .ok_or_else(|| Status::unavailable(NO_MASTER))?;
        self.master_client(&master).map(Some)
    }
}

type TaskStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::TaskOut, Status>> + Send>>;

#[tonic::async_trait]
impl proto::cluster_server::Cluster for Service {
    type RunTaskStream = TaskStream;

    async fn run_task(
        &self,
        request: Request<tonic::Streaming<proto::TaskIn>>,
    ) -> Result<Response<TaskStream>, Status> {
        use tokio_stream::StreamExt as _;
        let mut inbound = request.into_inner();
        let first = inbound
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no task to run"))?;
        self.check_cluster(&first.cluster_name, "a task")
            .map_err(Status::permission_denied)?;
        let Some(host) = self.jobs.clone() else {
            return Err(Status::failed_precondition(format!(
                "node {} runs no tasks",
                self.identity.address
            )));
        };
        let plan: st_plan::JobPlan = parse(&first.plan)?;
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = tokio::sync::mpsc::unbounded_channel::<st_plan::Event>();
        // Commands in. The master closing its side ends the commands, not the task; the call
        // failing (the master is gone, or stopped the task) drops them, which stops the task.
        tokio::spawn(async move {
            loop {
                match inbound.message().await {
                    Ok(Some(m)) => match serde_json::from_slice::<st_plan::Command>(&m.command) {
                        Ok(c) => {
                            if cmd_tx.send(c).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!("a task command that does not parse: {e}");
                            return;
                        }
                    },
                    Ok(None) => {
                        cmd_tx.closed().await;
                        return;
                    }
                    Err(s) => {
                        tracing::debug!("a task's job master went away: {}", s.message());
                        return;
                    }
                }
            }
        });
        let start = first.start;
        tokio::spawn(async move {
            if let Err(e) = host.run_task(plan, start, cmd_rx, ev_tx).await {
                tracing::warn!("a task could not run here: {e}");
            }
        });
        let out = tokio_stream::wrappers::UnboundedReceiverStream::new(ev_rx)
            .map(|e| Ok(proto::TaskOut { event: json(&e) }));
        Ok(Response::new(Box::pin(out)))
    }

    async fn probe(
        &self,
        request: Request<proto::ProbeRequest>,
    ) -> Result<Response<proto::ProbeReply>, Status> {
        let p = request.into_inner();
        let metrics = self.raft.metrics().borrow().clone();
        let mut reply = proto::ProbeReply {
            accepted: true,
            reason: String::new(),
            node_id: self.identity.id,
            // From the metrics, not a round trip through a Raft core that may be busy.
            initialized: metrics
                .membership_config
                .membership()
                .voter_ids()
                .next()
                .is_some(),
            fingerprint: self.identity.fingerprint.clone(),
            leader: metrics.current_leader.unwrap_or(0),
            term: metrics.current_term,
            role: self.identity.role.to_string(),
            leader_address: match self.master_address() {
                Ok(Some(a)) => a,
                Ok(None) => self.identity.address.clone(),
                Err(_) => String::new(),
            },
        };
        if let Err(reason) = self.check_cluster(&p.cluster_name, &format!("node {}", p.address)) {
            reply.accepted = false;
            reply.reason = reason;
        }
        Ok(Response::new(reply))
    }

    async fn raft(
        &self,
        request: Request<proto::RaftRequest>,
    ) -> Result<Response<proto::RaftReply>, Status> {
        let r = request.into_inner();
        self.check_cluster(&r.cluster_name, "a Raft message")
            .map_err(Status::permission_denied)?;
        if self.is_worker() {
            return Err(Status::failed_precondition(format!(
                "node {} is a worker: it holds no map and never votes",
                self.identity.address
            )));
        }
        fn reply<T: serde::Serialize, E: serde::Serialize>(
            res: Result<T, E>,
        ) -> Response<proto::RaftReply> {
            Response::new(match res {
                Ok(v) => proto::RaftReply {
                    payload: json(&v),
                    error: false,
                },
                Err(e) => proto::RaftReply {
                    payload: json(&e),
                    error: true,
                },
            })
        }
        match RaftKind::try_from(r.kind) {
            Ok(RaftKind::AppendEntries) => {
                let req: openraft::raft::AppendEntriesRequest<crate::types::TypeConfig> =
                    parse(&r.payload)?;
                if let Some(c) = req.leader_commit {
                    self.leader_commit
                        .fetch_max(c.index + 1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(reply(self.raft.append_entries(req).await))
            }
            Ok(RaftKind::Vote) => Ok(reply(self.raft.vote(parse(&r.payload)?).await)),
            Ok(RaftKind::InstallSnapshot) => {
                Ok(reply(self.raft.install_snapshot(parse(&r.payload)?).await))
            }
            Err(_) => Err(Status::invalid_argument(format!(
                "unknown Raft message kind {}",
                r.kind
            ))),
        }
    }

    async fn write(
        &self,
        request: Request<proto::WriteRequest>,
    ) -> Result<Response<proto::WriteReply>, Status> {
        let w = request.into_inner();
        self.check_cluster(&w.cluster_name, "a map write")
            .map_err(Status::permission_denied)?;
        let cmd: Command = parse(&w.command)?;
        // Only the master writes: forwarding once more would loop between two nodes that
        // each think the other leads.
        let res = match tokio::time::timeout(WRITE_TIMEOUT, self.raft.client_write(cmd)).await {
            Err(_) => Err(format!(
                "not committed within {} s; the outcome is unknown (it may still commit)",
                WRITE_TIMEOUT.as_secs()
            )),
            Ok(Ok(r)) => Ok(r.data),
            Ok(Err(e)) => Err(format!(
                "node {} is not the master: {e}",
                self.identity.address
            )),
        };
        Ok(Response::new(match res {
            Ok(a) => proto::WriteReply {
                applied: json(&a),
                error: String::new(),
            },
            Err(error) => proto::WriteReply {
                applied: Vec::new(),
                error,
            },
        }))
    }

    async fn submit(
        &self,
        request: Request<proto::SubmitRequest>,
    ) -> Result<Response<proto::SubmitReply>, Status> {
        let r = request.into_inner();
        self.check_cluster(&r.cluster_name, "a submit")
            .map_err(Status::permission_denied)?;
        if let Some(master) = self.master_address()? {
            let mut req = Request::new(r);
            req.set_timeout(Duration::from_secs(120));
            return self.master_client(&master)?.submit(req).await;
        }
        let submission = Submission {
            file: r.file,
            config: r.config,
            job_id: (r.job_id != 0).then(|| st_plan::JobId::from(r.job_id)),
            job_name: (!r.job_name.is_empty()).then_some(r.job_name),
            resume: r.resume,
            plugins: r.plugins.into_iter().collect(),
        };
        Ok(Response::new(match self.submit_here(submission).await {
            Ok((id, name, warnings, submit_ms)) => proto::SubmitReply {
                job_id: id.get(),
                job_name: name,
                error: String::new(),
                config_error: false,
                warnings,
                submit_ms,
            },
            Err(e) => {
                let (error, config_error) = match e {
                    PlanError::Config(e) => (e, true),
                    PlanError::Other(e) => (e, false),
                };
                proto::SubmitReply {
                    job_id: r.job_id,
                    job_name: String::new(),
                    error,
                    config_error,
                    warnings: Vec::new(),
                    submit_ms: 0,
                }
            }
        }))
    }

    async fn put_plugin(
        &self,
        request: Request<proto::PutPluginRequest>,
    ) -> Result<Response<proto::PutPluginReply>, Status> {
        let r = request.into_inner();
        self.check_cluster(&r.cluster_name, "a plugin upload")
            .map_err(Status::permission_denied)?;
        if let Some(master) = self.master_address()? {
            let mut req = Request::new(r);
            req.set_timeout(Duration::from_secs(120));
            return self.master_client(&master)?.put_plugin(req).await;
        }
        let Some(host) = self.jobs.clone() else {
            return Err(Status::failed_precondition("this node runs no jobs"));
        };
        Ok(Response::new(
            match host.put_plugin(&r.name, r.component).await {
                Ok(sha256) => proto::PutPluginReply {
                    sha256,
                    error: String::new(),
                },
                Err(error) => proto::PutPluginReply {
                    sha256: String::new(),
                    error: format!("{}: {error}", r.name),
                },
            },
        ))
    }

    async fn jobs(
        &self,
        request: Request<proto::JobsRequest>,
    ) -> Result<Response<proto::JobsReply>, Status> {
        if let Some(mut master) = self.worker_asks_master()? {
            return master.jobs(request.into_inner()).await;
        }
        let mut jobs: Vec<proto::JobSummary> = self.sm.read(|map| {
            map.jobs
                .values()
                .map(|r| proto::JobSummary {
                    job_id: r.id().get(),
                    job_name: r.plan.job_name.clone(),
                    status: r.status.as_str().to_string(),
                    submit_ms: r.submitted_ms,
                    finish_ms: r.finished_ms.unwrap_or(0),
                })
                .collect()
        });
        jobs.sort_by(|a, b| b.submit_ms.cmp(&a.submit_ms).then(b.job_id.cmp(&a.job_id)));
        Ok(Response::new(proto::JobsReply { jobs }))
    }

    async fn job(
        &self,
        request: Request<proto::JobRequest>,
    ) -> Result<Response<proto::JobReply>, Status> {
        let r = request.into_inner();
        let id = st_plan::JobId::from(r.job_id);
        let map = self.sm.map();
        // A job just submitted through the master may not have reached this copy yet.
        if !map.jobs.contains_key(&id)
            && let Ok(Some(master)) = self.master_address()
        {
            let mut req = Request::new(r);
            req.set_timeout(Duration::from_secs(5));
            return self.master_client(&master)?.job(req).await;
        }
        Ok(Response::new(match map.jobs.get(&id) {
            Some(r) => proto::JobReply {
                found: true,
                record: json(r),
                master_address: self
                    .identity
                    .members
                    .get(&r.master)
                    .cloned()
                    .unwrap_or_default(),
            },
            None => proto::JobReply {
                found: false,
                record: Vec::new(),
                master_address: String::new(),
            },
        }))
    }

    async fn metrics(
        &self,
        request: Request<proto::JobRequest>,
    ) -> Result<Response<proto::MetricsReply>, Status> {
        let r = request.into_inner();
        if let Some(mut master) = self.worker_asks_master()? {
            return master.metrics(r).await;
        }
        let id = st_plan::JobId::from(r.job_id);
        if let Some(report) = self.reports.get(id) {
            return Ok(Response::new(proto::MetricsReply {
                found: true,
                report,
            }));
        }
        // The job's job master holds them; another node asks it.
        let master = self
            .sm
            .read(|m| m.jobs.get(&id).map(|rec| rec.master))
            .filter(|&m| m != self.identity.id)
            .and_then(|m| self.identity.members.get(&m).cloned());
        match master {
            Some(addr) => {
                let mut req = Request::new(r);
                req.set_timeout(Duration::from_secs(5));
                self.master_client(&addr)?.metrics(req).await
            }
            None => Ok(Response::new(proto::MetricsReply {
                found: false,
                report: Vec::new(),
            })),
        }
    }

    async fn stop(
        &self,
        request: Request<proto::StopRequest>,
    ) -> Result<Response<proto::StopReply>, Status> {
        let r = request.into_inner();
        self.check_cluster(&r.cluster_name, "a stop")
            .map_err(Status::permission_denied)?;
        if let Some(master) = self.master_address()? {
            let mut req = Request::new(r);
            req.set_timeout(Duration::from_secs(30));
            return self.master_client(&master)?.stop(req).await;
        }
        let mut errors = Vec::new();
        for id in r.job_ids {
            let id = st_plan::JobId::from(id);
            let res = if r.savepoint {
                self.savepoint_here(id)
            } else {
                self.cancel_here(id).await
            };
            if let Err(e) = res {
                errors.push(e);
            }
        }
        Ok(Response::new(proto::StopReply { errors }))
    }

    async fn nodes(
        &self,
        request: Request<proto::NodesRequest>,
    ) -> Result<Response<proto::NodesReply>, Status> {
        if let Some(mut master) = self.worker_asks_master()? {
            return master.nodes(request.into_inner()).await;
        }
        let metrics = self.raft.metrics().borrow().clone();
        let master = metrics.current_leader.unwrap_or(0);
        // The master-eligible members and every worker that registered, with their slots.
        let mut all = self.identity.members.clone();
        let (records, used) = self.sm.read(|m| {
            for (&id, rec) in &m.nodes {
                all.entry(id).or_insert_with(|| rec.address.clone());
            }
            let used: BTreeMap<u64, u32> = all.keys().map(|&id| (id, m.slots_used(id))).collect();
            (m.nodes.clone(), used)
        });
        // Alive: this node, and every member whose latest probe (at most LIVENESS_FRESH old,
        // else one now) it answered.
        let alive = self.alive(&all).await;
        let mut nodes: Vec<proto::NodeInfo> = all
            .iter()
            .map(|(&id, addr)| {
                let rec = records.get(&id);
                proto::NodeInfo {
                    id,
                    address: addr.clone(),
                    role: rec.map_or("unregistered".into(), |r| r.role.seatunnel_name().into()),
                    alive: alive.get(&id).copied().unwrap_or(false),
                    master: id == master,
                    slots_used: used.get(&id).copied().unwrap_or(0),
                    slots_total: rec.and_then(|r| r.slots).map_or(-1, i64::from),
                    tags: rec
                        .map(|r| r.tags.clone().into_iter().collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
        nodes.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(Response::new(proto::NodesReply {
            cluster_name: self.identity.cluster_name.clone(),
            term: metrics.current_term,
            master,
            nodes,
        }))
    }
}

impl Service {
    /// Whether each of `members` answers: this node does; the others from a probe at most
    /// [`LIVENESS_FRESH`] old, or one now.
    async fn alive(&self, members: &BTreeMap<u64, String>) -> BTreeMap<u64, bool> {
        let now = std::time::Instant::now();
        let known = self.liveness.lock().expect("liveness").clone();
        let mut alive = BTreeMap::new();
        let mut stale = BTreeMap::new();
        for (&id, addr) in members {
            match known.get(&id) {
                _ if id == self.identity.id => {
                    alive.insert(id, true);
                }
                Some((at, up)) if now.duration_since(*at) < LIVENESS_FRESH => {
                    alive.insert(id, *up);
                }
                _ => {
                    stale.insert(id, addr.clone());
                }
            }
        }
        alive.extend(self.probe(&stale).await);
        alive
    }

    /// Probes `members` at once and records what they answered.
    async fn probe(&self, members: &BTreeMap<u64, String>) -> BTreeMap<u64, bool> {
        let probes = members.iter().map(|(&id, addr)| {
            let me = self.identity.clone();
            let addr = addr.clone();
            async move {
                let up = crate::node::probe(&me, &addr)
                    .await
                    .is_some_and(|r| r.accepted);
                (id, up)
            }
        });
        let answered: BTreeMap<u64, bool> = futures_join(probes).await.into_iter().collect();
        let at = std::time::Instant::now();
        let mut l = self.liveness.lock().expect("liveness");
        for (&id, &up) in &answered {
            l.insert(id, (at, up));
        }
        answered
    }

    /// Probes every other member each `interval`, so the liveness `st nodes` shows is fresh.
    pub(crate) fn probe_members(
        &self,
        interval: Duration,
        leaving: tokio::sync::watch::Receiver<bool>,
    ) {
        let svc = self.clone();
        tokio::spawn(async move {
            loop {
                if *leaving.borrow() {
                    return;
                }
                let mut all = svc.identity.members.clone();
                svc.sm.read(|m| {
                    for (&id, rec) in &m.nodes {
                        all.entry(id).or_insert_with(|| rec.address.clone());
                    }
                });
                all.remove(&svc.identity.id);
                svc.probe(&all).await;
                tokio::time::sleep(interval).await;
            }
        });
    }
}

/// Runs `futs` concurrently and collects their outputs in order.
async fn futures_join<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}
