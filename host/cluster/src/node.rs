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
        if !opts.role.master_eligible() {
            return Err("separated mode's worker role is not available yet: start the node as hybrid or master".into());
        }
        if net.members.is_empty() {
            return Err(format!(
                "{}: hazelcast.network.join.tcp-ip.member-list is empty; list every member (this node too)",
                net.source
            ));
        }
        let members: BTreeMap<u64, String> = net
            .members
            .iter()
            .map(|m| (member_id(m), m.clone()))
            .collect();
        // This node: the first member entry on this machine whose port it can take.
        let tries = if net.auto_increment {
            net.port_count.max(1)
        } else {
            1
        };
        let mut bound = None;
        let mut taken = Vec::new();
        for port in (net.port..).take(usize::from(tries)) {
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
        });

        // Detection: a master silent for max.no.heartbeat seconds is replaced. Failover takes
        // about election-max + U(min, max) + 1.5 heartbeats, so both sit well inside it.
        let budget_ms = net.max_no_heartbeat_secs * 1000;
        let election_max = (budget_ms / 2).max(300);
        let election_min = (budget_ms / 4).max(150);
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
        };
        service.expire_history(opts.history_expire);
        service.export_to_map_store();
        let (stop, mut stopped) = watch::channel(false);
        let svc = proto::cluster_server::ClusterServer::new(service.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let server = tokio::spawn(async move {
            // Keepalives find a peer that vanished without closing its connections.
            tonic::transport::Server::builder()
                .http2_keepalive_interval(Some(Duration::from_secs(2)))
                .http2_keepalive_timeout(Some(Duration::from_secs(5)))
                .add_service(svc)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
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
        node.bootstrap().await?;
        node.watch_leadership();
        node.register(NodeRecord {
            id,
            address,
            role: opts.role,
            tags: net.attributes.clone(),
            slots: opts.slots,
            incarnation: incarnation(&opts.data_dir)?,
        });
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
        loop {
            for (&peer, addr) in me.members.iter().filter(|(id, _)| **id != me.id) {
                if answered.contains_key(&peer) {
                    continue;
                }
                if let Some(reply) = probe(me, addr).await {
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
        match self.raft.initialize(nodes).await {
            Ok(()) => tracing::info!("initialized the cluster with {} members", me.members.len()),
            Err(e) => tracing::info!("not initializing: {e}"),
        }
        Ok(())
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

    /// Writes this node's record into the map once a master takes it (retried until then).
    fn register(&self, record: NodeRecord) {
        let service = self.service.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
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

    /// Leaves: stops serving and shuts Raft down (a master's peers elect another at once, as
    /// its heartbeats stop).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.raft.shutdown().await;
        let _ = self.server.await;
    }
}

/// Asks the node at `addr` who it is; `None` when it does not answer.
pub(crate) async fn probe(me: &Identity, addr: &str) -> Option<proto::ProbeReply> {
    let mut c = crate::network::client(addr, Duration::from_millis(300)).ok()?;
    let mut req = tonic::Request::new(proto::ProbeRequest {
        cluster_name: me.cluster_name.clone(),
        node_id: me.id,
        address: me.address.clone(),
        fingerprint: me.fingerprint.clone(),
    });
    req.set_timeout(Duration::from_millis(500));
    c.probe(req).await.ok().map(|r| r.into_inner())
}

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
