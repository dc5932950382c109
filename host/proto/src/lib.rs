//! `st-proto`: the gRPC services and messages between nodes and from clients
//! (`proto/cluster.proto`), generated at build time. Conversions only; no logic.

#![allow(missing_docs)]

tonic::include_proto!("strait.cluster");

/// The largest message a node or client sends or takes.
pub const MAX_MESSAGE: usize = 64 << 20;

pub mod auth;

/// A client of a node: every call carries this process's token for the cluster secret.
pub type Client = cluster_client::ClusterClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, auth::Token>,
>;

/// A client for the node at `address` (`host:port`), connecting on first use.
pub fn client(address: &str, connect_timeout: std::time::Duration) -> Result<Client, String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| format!("`{address}` is not an address: {e}"))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        // A long call (a task's stream) notices a peer that vanished.
        .http2_keep_alive_interval(std::time::Duration::from_secs(2))
        .keep_alive_timeout(std::time::Duration::from_secs(5))
        .keep_alive_while_idle(true);
    Ok(
        cluster_client::ClusterClient::with_interceptor(endpoint.connect_lazy(), auth::Token)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
    )
}
