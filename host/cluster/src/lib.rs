//! `st-cluster`: what makes `st-node` processes one cluster. Nodes of one cluster name find each
//! other from the member list, elect a master with Raft (openraft, its log on redb) and keep the
//! job-state map replicated; every RPC between nodes, and from clients, is gRPC (tonic).

pub mod jobs;
pub mod map;
pub mod network;
pub mod node;
pub mod service;
pub mod store;
pub mod types;

pub use st_proto as proto;
