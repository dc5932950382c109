//! The cluster verbs: `st nodes` talks to a running `st-node` over gRPC.
//!
//! Which node: `--address HOST:PORT[,HOST:PORT...]`, else `$ST_ADDRESS`, else the
//! `hazelcast-client.yaml` in `$STRAIT_HOME/conf` or `./conf` (SeaTunnel's client config,
//! `network.cluster-members`), else `localhost:5801`. The first address that answers is used.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use st_proto::{NodesReply, NodesRequest};

/// How a cluster verb finds the cluster.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The nodes to ask, `HOST:PORT[,HOST:PORT...]` (default: $ST_ADDRESS, the members in
    /// conf/hazelcast-client.yaml, localhost:5801).
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',')]
    pub address: Vec<String>,
}

/// The addresses to try and where they came from.
fn addresses(target: &Target) -> anyhow::Result<(Vec<String>, String)> {
    if !target.address.is_empty() {
        return Ok((target.address.clone(), "--address".into()));
    }
    if let Some(v) = std::env::var("ST_ADDRESS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let list = v.split(',').map(|a| a.trim().to_string()).collect();
        return Ok((list, "$ST_ADDRESS".into()));
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("STRAIT_HOME").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(home).join("conf"));
    }
    dirs.push(PathBuf::from("conf"));
    for dir in dirs {
        let file = dir.join("hazelcast-client.yaml");
        if file.is_file() {
            let client = st_conf::ClientConfig::load(&file)?;
            if !client.members.is_empty() {
                return Ok((client.members, file.display().to_string()));
            }
        }
    }
    Ok((vec!["localhost:5801".into()], "the default".into()))
}

/// Asks the first node that answers for the member list.
async fn nodes_reply(target: &Target) -> anyhow::Result<NodesReply> {
    let (list, from) = addresses(target)?;
    let mut why = Vec::new();
    for addr in &list {
        let mut client =
            st_proto::client(addr, Duration::from_secs(2)).map_err(anyhow::Error::msg)?;
        let mut req = tonic::Request::new(NodesRequest {});
        req.set_timeout(Duration::from_secs(5));
        match client.nodes(req).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) => why.push(format!("{addr}: {}", status_text(&s))),
        }
    }
    anyhow::bail!(
        "no node of the cluster answers (addresses from {from}): {}",
        why.join("; ")
    )
}

/// A gRPC failure in words: tonic's transport errors hide the cause in their source chain.
fn status_text(s: &tonic::Status) -> String {
    let mut text = s.message().to_string();
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = e.source();
    }
    text
}

/// `st nodes`: every member with its role, liveness, master flag and slots.
pub async fn nodes(target: &Target, json: bool) -> anyhow::Result<ExitCode> {
    let reply = match nodes_reply(target).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if json {
        let nodes: Vec<serde_json::Value> = reply
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "id": n.id.to_string(),
                    "address": n.address,
                    "role": n.role,
                    "alive": n.alive,
                    "master": n.master,
                    "slotsUsed": n.slots_used,
                    "slotsTotal": (n.slots_total >= 0).then_some(n.slots_total),
                    "tags": n.tags,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "clusterName": reply.cluster_name,
            "term": reply.term,
            "master": reply.nodes.iter().find(|n| n.master).map(|n| n.address.clone()),
            "nodes": nodes,
        });
        let text = serde_json::to_string_pretty(&doc).context("encoding the reply")?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "cluster `{}`, term {}, {} of {} members alive",
        reply.cluster_name,
        reply.term,
        reply.nodes.iter().filter(|n| n.alive).count(),
        reply.nodes.len()
    );
    println!(
        "{:<24} {:<18} {:<6} {:<7} {:<10} TAGS",
        "ADDRESS", "ROLE", "ALIVE", "MASTER", "SLOTS"
    );
    for n in &reply.nodes {
        let slots = if n.slots_total < 0 {
            format!("{}/dynamic", n.slots_used)
        } else {
            format!("{}/{}", n.slots_used, n.slots_total)
        };
        let mut tags: Vec<String> = n.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tags.sort();
        println!(
            "{:<24} {:<18} {:<6} {:<7} {:<10} {}",
            n.address,
            n.role,
            if n.alive { "yes" } else { "no" },
            if n.master { "yes" } else { "" },
            slots,
            tags.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}
