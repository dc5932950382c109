//! Raft's messages over gRPC: one lazily connected tonic channel per peer. A peer that cannot
//! be reached is `Unreachable`, so openraft backs off instead of retrying at once.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::proto::{RaftKind, RaftRequest};
use crate::types::TypeConfig;

pub use st_proto::{MAX_MESSAGE, client};

/// A client for `address` shared by every caller in this process: one HTTP/2 connection per
/// peer (re-established by tonic when it breaks) instead of a handshake per call.
pub fn shared(address: &str, connect_timeout: Duration) -> Result<st_proto::Client, String> {
    type Clients =
        std::sync::Mutex<std::collections::HashMap<(String, Duration), st_proto::Client>>;
    static CLIENTS: std::sync::OnceLock<Clients> = std::sync::OnceLock::new();
    let clients = CLIENTS.get_or_init(Default::default);
    let key = (address.to_string(), connect_timeout);
    if let Some(c) = clients.lock().expect("clients").get(&key) {
        return Ok(c.clone());
    }
    let c = client(address, connect_timeout)?;
    clients.lock().expect("clients").insert(key, c.clone());
    Ok(c)
}

#[derive(Debug, Clone)]
pub struct Network {
    pub cluster_name: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Peer {
        Peer {
            target,
            address: node.addr.clone(),
            cluster_name: self.cluster_name.clone(),
            client: None,
        }
    }
}

pub struct Peer {
    target: u64,
    address: String,
    cluster_name: String,
    client: Option<st_proto::Client>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Text(String);

impl Peer {
    async fn call<Req, Resp, E>(
        &mut self,
        kind: RaftKind,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, BasicNode, RaftError<u64, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        if self.client.is_none() {
            let c = client(&self.address, Duration::from_millis(500))
                .map_err(|e| RPCError::Unreachable(Unreachable::new(&Text(e))))?;
            self.client = Some(c);
        }
        let client = self.client.as_mut().expect("set above");
        let payload = serde_json::to_vec(req).expect("raft messages serialize");
        let mut request = tonic::Request::new(RaftRequest {
            cluster_name: self.cluster_name.clone(),
            kind: kind as i32,
            payload,
        });
        request.set_timeout(option.hard_ttl());
        let reply = match client.raft(request).await {
            Ok(r) => r.into_inner(),
            Err(s) if s.code() == tonic::Code::Unavailable => {
                return Err(RPCError::Unreachable(Unreachable::new(&s)));
            }
            Err(s) => return Err(RPCError::Network(NetworkError::new(&s))),
        };
        if reply.error {
            let e: RaftError<u64, E> = serde_json::from_slice(&reply.payload)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
            return Err(RPCError::RemoteError(openraft::error::RemoteError::new(
                self.target,
                e,
            )));
        }
        serde_json::from_slice(&reply.payload).map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(RaftKind::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.call(RaftKind::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(RaftKind::Vote, &rpc, &option).await
    }
}
