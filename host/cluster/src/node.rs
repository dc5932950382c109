//! Starting a node: finding itself in the member list, opening its Raft log, serving gRPC,
//! forming the cluster with its peers, and watching who is master.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, ServerState, SnapshotPolicy};
use st_conf::NetworkConfig;
use tokio::sync::watch;

use crate::jobs::JobHost;
use crate::map::{Command, MasterEpoch, NodeRecord, Role};
use crate::network::{MAX_MESSAGE, Network};
use crate::proto;
use crate::service::{Identity, Service, WRITE_TIMEOUT};
use crate::store;
use crate::types::Raft;

/// What a node is started with.
#[derive(Clone)]
pub struct NodeOptions {
    pub network: NetworkConfig,
    pub role: Role,
    /// `$STRAIT_HOME/data`: the Raft log and snapshots.
    pub data_dir: PathBuf,
    /// `slot-service.slot-num` when slots are static.
    pub slots: Option<u32>,
    /// What plans and runs jobs on this node.
    pub jobs: Option<Arc<dyn JobHost>>,
    /// `history-job-expire-minutes`: how long ended jobs stay in the map.
    pub history_expire: Duration,
    /// `job-schedule-strategy: WAIT` (else `REJECT`).
    pub wait_for_slots: bool,
    /// `map.engine*.map-store`, when enabled.
    pub map_store: Option<Arc<dyn crate::jobs::MapStore>>,
}

/// A running node.
pub struct ClusterNode {
    pub identity: Arc<Identity>,
    pub raft: Raft,
    service: Service,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<Result<(), String>>,
}

/// A member's id: the same on every node for the same address as written in the member list,
/// and unchanged when members are added.
pub fn member_id(address: &str) -> u64 {
    let h = blake3::hash(address.as_bytes());
    let id = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes")) >> 1;
    id.max(1)
}

/// The addresses `host:port` resolves to.
fn resolve(address: &str) -> Vec<SocketAddr> {
    use std::net::ToSocketAddrs as _;
    address
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default()
}

/// Whether `ip` belongs to this machine (it can be bound).
fn local(ip: std::net::IpAddr) -> bool {
    std::net::TcpListener::bind((ip, 0)).is_ok()
}

impl ClusterNode {
    pub async fn start(opts: NodeOptions) -> Result<ClusterNode, String> {
        let net = &opts.network;
        if net.members.is_empty() {
            return Err(format!(
                "{}: hazelcast.network.join.tcp-ip.member-list is empty; list every member (this node too)",
                net.source
            ));
        }
        // This node: the first member entry on this machine whose port it can take.
        let tries = if net.auto_increment {
            net.port_count.max(1)
        } else {
            1
        };
        let members = master_entries(net, opts.role, tries);
        let mut bound = None;
        let mut taken = Vec::new();
        // A node comes back as the member it was (its Raft log is that member's): the port it
        // last had first, then the rest of its range.
        let last_file = opts.data_dir.join("member");
        let last: Option<u16> = std::fs::read_to_string(&last_file)
            .ok()
            .and_then(|a| a.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()));
        let range: Vec<u16> = (net.port..).take(usize::from(tries)).collect();
        let ports = last
            .filter(|p| range.contains(p))
            .into_iter()
            .chain(range.iter().copied().filter(|p| Some(*p) != last));
        for port in ports {
            let mine = net.members.iter().find(|m| {
                m.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) == Some(port)
                    && resolve(m).iter().any(|a| local(a.ip()))
            });
            let Some(entry) = mine else { continue };
            let addr = resolve(entry)
                .into_iter()
                .find(|a| local(a.ip()))
                .expect("checked above");
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => {
                    bound = Some((entry.clone(), l));
                    break;
                }
                Err(e) => taken.push(format!("{entry} ({e})")),
            }
        }
        let Some((address, listener)) = bound else {
            return Err(if taken.is_empty() {
                format!(
                    "{}: no entry of hazelcast.network.join.tcp-ip.member-list ({}) is this machine at port {}{}",
                    net.source,
                    net.members.join(", "),
                    net.port,
                    if net.auto_increment {
                        format!(" (or the {} after it)", tries - 1)
                    } else {
                        String::new()
                    }
                )
            } else {
                format!("cannot listen: {}", taken.join("; "))
            });
        };
        let id = member_id(&address);
        std::fs::create_dir_all(&opts.data_dir)
            .and_then(|()| std::fs::write(&last_file, format!("{address}\n")))
            .map_err(|e| format!("cannot write {}: {e}", last_file.display()))?;
        let fingerprint = members
            .iter()
            .map(|(id, a)| format!("{id}={a}"))
            .collect::<Vec<_>>()
            .join(",");
        let identity = Arc::new(Identity {
            cluster_name: net.cluster_name.clone(),
            id,
            address: address.clone(),
            fingerprint,
            members: members.clone(),
            role: opts.role,
        });

        // Detection: a master silent for max.no.heartbeat seconds is replaced. Failover takes
        // about election-max (the followers' lease on the old master) + U(min, max) + 1.5
        // heartbeats: with a third and a sixth of it, a master is replaced within
        // two thirds of max.no.heartbeat.
        let budget_ms = net.max_no_heartbeat_secs * 1000;
        let election_max = (budget_ms / 3).max(300);
        let election_min = (budget_ms / 6).max(150);
        let heartbeat = (net.heartbeat_interval_secs * 1000)
            .min(election_min / 3)
            .max(50);
        let config = Config {
            cluster_name: net.cluster_name.clone(),
            heartbeat_interval: heartbeat,
            election_timeout_min: election_min,
            election_timeout_max: election_max,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(500),
            max_in_snapshot_log_to_keep: 100,
            // Enabled by `hold_elections` once this node has caught up with the master.
            enable_elect: false,
            ..Default::default()
        }
        .validate()
        .map_err(|e| format!("Raft settings: {e}"))?;
        let (log, sm) = store::open(&opts.data_dir)?;
        let raft = Raft::new(
            id,
            Arc::new(config),
            Network {
                cluster_name: net.cluster_name.clone(),
            },
            log,
            sm.clone(),
        )
        .await
        .map_err(|e| format!("cannot start Raft: {e}"))?;
        let service = Service {
            identity: identity.clone(),
            raft: raft.clone(),
            sm,
            jobs: opts.jobs.clone(),
            running: Default::default(),
            reports: Default::default(),
            queue: Default::default(),
            map_store: opts.map_store.clone(),
            wait_for_slots: opts.wait_for_slots,
            master_hint: Default::default(),
            leader_commit: Default::default(),
            own: Default::default(),
            liveness: Default::default(),
        };
        service.expire_history(opts.history_expire);
        service.export_to_map_store();
        let (stop, mut stopped) = watch::channel(false);
        let svc = tonic::service::interceptor::InterceptedService::new(
            proto::cluster_server::ClusterServer::new(service.clone())
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            refuse_without_secret(),
        );
        let server = tokio::spawn(async move {
            // Keepalives find a peer that vanished without closing its connections.
            tonic::transport::Server::builder()
                .http2_keepalive_interval(Some(Duration::from_secs(2)))
                .http2_keepalive_timeout(Some(Duration::from_secs(5)))
                .add_service(svc)
                .serve_with_incoming_shutdown(
                    // Without TCP_NODELAY a reply written in parts waits for the
                    // caller's delayed ACK (about 40 ms).
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                    async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    },
                )
                .await
                .map_err(|e| e.to_string())
        });
        tracing::info!(
            "node {id} listening on {address}, cluster `{}`, members {}",
            net.cluster_name,
            net.members.join(", ")
        );
        let node = ClusterNode {
            identity,
            raft,
            service,
            stop,
            server,
        };
        let record = NodeRecord {
            id,
            address,
            role: opts.role,
            tags: net.attributes.clone(),
            slots: opts.slots,
            incarnation: incarnation(&opts.data_dir)?,
        };
        *node.service.own.lock().expect("own record") = Some(record.clone());
        node.service.probe_members(
            Duration::from_millis(LIVENESS_INTERVAL_MS),
            node.stop.subscribe(),
        );
        if opts.role.master_eligible() {
            node.hold_elections(Duration::from_millis(2 * election_max));
            node.bootstrap().await?;
            node.watch_leadership();
            node.register(record);
        } else {
            node.follow_masters(
                record,
                Duration::from_secs(net.heartbeat_interval_secs.max(1)),
                Duration::from_secs(net.max_no_heartbeat_secs.max(1)),
            );
        }
        Ok(node)
    }

    /// Forms the cluster: a node with an empty log asks its peers first and initializes Raft
    /// with the whole member list only when none has formed a cluster already and every one
    /// that answers has the same member list (a different list would split the cluster).
    async fn bootstrap(&self) -> Result<(), String> {
        if self
            .raft
            .is_initialized()
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(());
        }
        let me = &self.identity;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut answered = BTreeMap::new();
        let mut refused = std::collections::BTreeSet::new();
        loop {
            for (&peer, addr) in me.members.iter().filter(|(id, _)| **id != me.id) {
                if answered.contains_key(&peer) {
                    continue;
                }
                let reply = match ask(me, addr).await {
                    Ok(r) => Some(r),
                    // Not of this cluster (or this node is not): it is not waited for, and
                    // the majority with the secret forms without it.
                    Err(st) if st.code() == tonic::Code::Unauthenticated => {
                        if refused.insert(peer) {
                            tracing::error!(
                                "node {addr} refused this node: {} (security.secret must be the same on every node)",
                                st.message()
                            );
                        }
                        None
                    }
                    Err(_) => None,
                };
                if let Some(reply) = reply {
                    if !reply.accepted {
                        tracing::error!(
                            "node {addr} refused this node: {}; not joining it",
                            reply.reason
                        );
                    } else if reply.fingerprint != me.fingerprint {
                        tracing::error!(
                            "node {addr} has another member list ({}) than this node ({}); not forming a cluster until they agree",
                            reply.fingerprint,
                            me.fingerprint
                        );
                    }
                    answered.insert(peer, reply);
                }
            }
            let all = answered.len() + 1 == me.members.len();
            if all || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if answered
            .values()
            .any(|r| !r.accepted || r.fingerprint != me.fingerprint)
        {
            return Ok(());
        }
        if answered.values().any(|r| r.initialized) {
            tracing::info!(
                "the cluster has formed already; waiting for its master to reach this node"
            );
            return Ok(());
        }
        let nodes: BTreeMap<u64, BasicNode> = me
            .members
            .iter()
            .map(|(&id, a)| (id, BasicNode::new(a)))
            .collect();
        self.raft.runtime_config().elect(true);
        match self.raft.initialize(nodes).await {
            Ok(()) => tracing::info!("initialized the cluster with {} members", me.members.len()),
            Err(e) => tracing::info!("not initializing: {e}"),
        }
        Ok(())
    }

    /// A node that starts stands for election only once its log has caught up with the
    /// master's commit index (or when no master has reached it within `patience`, a lease and
    /// an election timeout): a node whose log is behind cannot win, and the vote it casts for
    /// itself would make the up-to-date follower wait for another election round.
    fn hold_elections(&self, patience: Duration) {
        let raft = self.raft.clone();
        let seen = self.service.leader_commit.clone();
        let alone = self.identity.members.len() == 1;
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            loop {
                let commit = seen.load(std::sync::atomic::Ordering::Relaxed);
                let last = raft.metrics().borrow().last_log_index.map_or(0, |i| i + 1);
                let why = if alone {
                    Some("this is the only member".to_string())
                } else if commit > 0 && last >= commit {
                    Some(format!(
                        "its log has caught up with the master's (index {last})"
                    ))
                } else if commit == 0 && started.elapsed() >= patience {
                    Some(format!(
                        "no master reached it in {} ms",
                        patience.as_millis()
                    ))
                } else if started.elapsed() >= HOLD_AT_MOST {
                    Some(format!(
                        "its log is still behind the master's (index {last} of {commit}) after {} s",
                        HOLD_AT_MOST.as_secs()
                    ))
                } else {
                    None
                };
                if let Some(why) = why {
                    tracing::info!("this node stands for election from now on: {why}");
                    raft.runtime_config().elect(true);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }

    /// Logs master changes; the master fences older ones off with an epoch entry in its own
    /// term before acting as master. A Raft core that died ends the process: a node whose core
    /// is gone would go on reporting its last state.
    fn watch_leadership(&self) {
        let mut metrics = self.raft.metrics();
        let service = self.service.clone();
        let me = self.identity.id;
        let leaving = self.stop.subscribe();
        tokio::spawn(async move {
            let mut last = (None, 0);
            loop {
                let m = metrics.borrow_and_update().clone();
                if *leaving.borrow() {
                    return;
                }
                if let Err(e) = &m.running_state {
                    tracing::error!("the Raft core stopped: {e}; exiting");
                    std::process::exit(70);
                }
                let now = (m.current_leader, m.current_term);
                if now != last {
                    last = now;
                    match m.current_leader {
                        Some(l) if l == me && m.state == ServerState::Leader => {
                            let epoch = MasterEpoch {
                                term: m.current_term,
                                node: me,
                            };
                            // Written here, never forwarded: a node that restarts sees its
                            // own old leadership in its metrics until it hears the cluster.
                            let raft = service.raft.clone();
                            let svc = service.clone();
                            tokio::spawn(async move {
                                let write = raft.client_write(Command::MasterEpoch(epoch));
                                match tokio::time::timeout(WRITE_TIMEOUT, write).await {
                                    Ok(Ok(_)) => {
                                        tracing::info!(
                                            "this node is the master (term {})",
                                            epoch.term
                                        );
                                        svc.restore_from_map_store().await;
                                        svc.take_over_jobs().await;
                                    }
                                    Ok(Err(e)) => {
                                        tracing::info!("not the master in term {}: {e}", epoch.term)
                                    }
                                    Err(_) => tracing::warn!(
                                        "could not take up master duties in term {}: no majority answered within {} s",
                                        epoch.term,
                                        WRITE_TIMEOUT.as_secs()
                                    ),
                                }
                            });
                        }
                        Some(l) => {
                            tracing::info!(
                                "master is node {l} ({}), term {}",
                                service.identity.members.get(&l).map_or("?", |s| s.as_str()),
                                m.current_term
                            );
                            // Another master acts now: this node's job masters must not.
                            if l != me {
                                service.running.abandon_all();
                            }
                        }
                        None => tracing::info!("no master (term {})", m.current_term),
                    }
                }
                if metrics.changed().await.is_err() {
                    if *leaving.borrow() {
                        return;
                    }
                    tracing::error!("the Raft core is gone; exiting");
                    std::process::exit(71);
                }
            }
        });
    }

    /// A worker: finds the master among the master-eligible members every `interval`,
    /// registers with it (again with each new master: a map restored from elsewhere may not
    /// know it), and says so in its log when no master has answered for `patience`.
    fn follow_masters(&self, record: NodeRecord, interval: Duration, patience: Duration) {
        let service = self.service.clone();
        let leaving = self.stop.subscribe();
        tokio::spawn(async move {
            let mut last_seen = tokio::time::Instant::now();
            let mut lost = false;
            loop {
                if *leaving.borrow() {
                    return;
                }
                let found = find_master(&service.identity).await;
                let known = service.hinted_master();
                match found {
                    Some(master) => {
                        last_seen = tokio::time::Instant::now();
                        if lost {
                            tracing::info!("a master is back: {master}; rejoining the cluster");
                            lost = false;
                        }
                        if known.as_deref() != Some(master.as_str()) {
                            tracing::info!("master is {master}");
                            *service.master_hint.lock().expect("master hint") = Some(master);
                            let record = service.own_record().unwrap_or_else(|| record.clone());
                            match service.write(Command::RegisterNode(record.clone())).await {
                                Ok(_) => tracing::info!(
                                    "registered as {} ({})",
                                    record.address,
                                    record.role
                                ),
                                Err(e) => {
                                    tracing::warn!("registering with the master: {e}; retrying");
                                    *service.master_hint.lock().expect("master hint") = None;
                                }
                            }
                        }
                    }
                    None if !lost && last_seen.elapsed() >= patience => {
                        lost = true;
                        *service.master_hint.lock().expect("master hint") = None;
                        tracing::warn!(
                            "lost every master: none of {} has answered for {} s; this worker runs no new tasks until one is back",
                            service
                                .identity
                                .members
                                .values()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", "),
                            patience.as_secs()
                        );
                    }
                    None => {}
                }
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// Writes this node's record into the map once a master takes it (retried until then).
    fn register(&self, record: NodeRecord) {
        let service = self.service.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                let record = service.own_record().unwrap_or_else(|| record.clone());
                match service.write(Command::RegisterNode(record.clone())).await {
                    Ok(_) => {
                        tracing::info!("registered as {} ({})", record.address, record.role);
                        return;
                    }
                    Err(e) => tracing::debug!("registering: {e}; retrying"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        });
    }

    /// The node's service: what its REST API calls.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Leaves: stops serving and shuts Raft down (a master's peers elect another at once, as
    /// its heartbeats stop).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.raft.shutdown().await;
        let _ = self.server.await;
    }
}

/// Refuses calls without a valid token for the cluster secret (when this node has one),
/// logging each refused address once a minute.
fn refuse_without_secret()
-> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    let logged: Arc<std::sync::Mutex<BTreeMap<std::net::IpAddr, std::time::Instant>>> =
        Arc::default();
    move |req: tonic::Request<()>| {
        let Some(why) = st_proto::auth::refusal(&req) else {
            return Ok(req);
        };
        let from = req.remote_addr();
        if let Some(ip) = from.map(|a| a.ip()) {
            let mut logged = logged.lock().expect("refusal log");
            let due = logged
                .get(&ip)
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
            if due {
                logged.insert(ip, std::time::Instant::now());
                tracing::warn!(
                    "refused a call from {}: {why}",
                    from.map_or("?".to_string(), |a| a.to_string())
                );
            }
        }
        Err(tonic::Status::unauthenticated(format!("refused: {why}")))
    }
}

/// The member-list entries that hold the map and vote. Hybrid nodes: every entry. In separated
/// mode masters and workers listen on different ports (SeaTunnel's hazelcast-master.yaml and
/// hazelcast-worker.yaml): a master takes the entries on its own port (or port range) as the
/// masters, a worker the entries off its own.
fn master_entries(net: &NetworkConfig, role: Role, tries: u16) -> BTreeMap<u64, String> {
    let own_range = |m: &String| {
        m.rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .is_some_and(|p| p >= net.port && u32::from(p) < u32::from(net.port) + u32::from(tries))
    };
    net.members
        .iter()
        .filter(|m| match role {
            Role::Hybrid => true,
            Role::Master => own_range(m),
            Role::Worker => !own_range(m),
        })
        .map(|m| (member_id(m), m.clone()))
        .collect()
}

/// The master's address as the master-eligible members know it (the first that does).
async fn find_master(me: &Identity) -> Option<String> {
    for addr in me.members.values() {
        if let Some(r) = probe(me, addr).await
            && r.accepted
            && r.role != Role::Worker.to_string()
            && !r.leader_address.is_empty()
        {
            return Some(r.leader_address);
        }
    }
    None
}

/// Asks the node at `addr` who it is; `None` when it does not answer (or refuses).
pub(crate) async fn probe(me: &Identity, addr: &str) -> Option<proto::ProbeReply> {
    ask(me, addr).await.ok()
}

/// Asks the node at `addr` who it is.
async fn ask(me: &Identity, addr: &str) -> Result<proto::ProbeReply, tonic::Status> {
    let mut c = crate::network::shared(addr, Duration::from_millis(300))
        .map_err(tonic::Status::invalid_argument)?;
    let mut req = tonic::Request::new(proto::ProbeRequest {
        cluster_name: me.cluster_name.clone(),
        node_id: me.id,
        address: me.address.clone(),
        fingerprint: me.fingerprint.clone(),
    });
    req.set_timeout(Duration::from_millis(500));
    c.probe(req).await.map(tonic::Response::into_inner)
}

/// How often a node probes the other members for `st nodes` (their liveness shown is at most
/// this old, plus a probe's time).
const LIVENESS_INTERVAL_MS: u64 = 1000;

/// How long a node whose log is behind waits to catch up before it may stand for election.
const HOLD_AT_MOST: Duration = Duration::from_secs(30);

/// This start's number, one more than the last (kept in `data/incarnation`).
fn incarnation(data_dir: &std::path::Path) -> Result<u64, String> {
    let path = data_dir.join("incarnation");
    let last = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    std::fs::write(&path, format!("{}\n", last + 1))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_are_the_entries_on_a_masters_port_range_and_off_a_workers() {
        let mut net = st_conf::EngineConfig::default().network;
        net.members = ["m:5801", "m:5802", "n:5801", "w:5811", "x:5811"]
            .map(String::from)
            .to_vec();
        let names = |role, port, tries| {
            let mut n = net.clone();
            n.port = port;
            master_entries(&n, role, tries)
                .into_values()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Role::Master, 5801, 2), ["m:5801", "m:5802", "n:5801"]);
        assert_eq!(names(Role::Master, 5801, 1), ["m:5801", "n:5801"]);
        assert_eq!(names(Role::Worker, 5811, 1), ["m:5801", "m:5802", "n:5801"]);
        assert_eq!(names(Role::Hybrid, 5801, 1).len(), 5);
    }
}
