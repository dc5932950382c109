//! Failover on a 3-node cluster of release `st-node` processes, default heartbeat settings:
//! from `kill -9` of a node that runs tasks to rows committed again by the restarted pipeline,
//! and from `kill -9` of the master to the new master accepting a submit.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cluster::{
    Node, binary, client, median, start_nodes, status, submit, try_submit, wait_formed,
};

/// Rows in the committed csv files of `dir`.
fn committed(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
                .map(|e| {
                    std::fs::read_to_string(e.path())
                        .unwrap_or_default()
                        .lines()
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A streaming FakeSource → LocalFile job that reads slowly for a long time.
fn slow_job(out: &Path) -> String {
    format!(
        "env {{\n  job.mode = \"STREAMING\"\n  parallelism = 3\n  checkpoint.interval = 1000\n}}\nsource {{\n  FakeSource {{\n    row.num = 1000000\n    split.num = 30000\n    split.read-interval = 20\n    schema = {{ fields {{ id = bigint, name = string }} }}\n  }}\n}}\nsink {{\n  LocalFile {{\n    path = \"{}\"\n    file_format_type = csv\n  }}\n}}\n",
        out.display()
    )
}

/// The address of the master and of the nodes that are not, as `via` sees them.
async fn roles(via: &str) -> (String, Vec<String>) {
    let r = client(via)
        .await
        .nodes(st_proto::NodesRequest {})
        .await
        .expect("nodes")
        .into_inner();
    let master = r
        .nodes
        .iter()
        .find(|n| n.master)
        .map(|n| n.address.clone())
        .expect("a master");
    let others = r
        .nodes
        .iter()
        .filter(|n| !n.master)
        .map(|n| n.address.clone())
        .collect();
    (master, others)
}

/// The texts of job `id`'s events.
async fn events(via: &str, id: u64) -> Vec<String> {
    let Ok(r) = client(via)
        .await
        .job(st_proto::JobRequest { job_id: id })
        .await
    else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&r.into_inner().record).unwrap_or_default();
    v["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e[1].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(tokio: &tokio::runtime::Runtime) {
    let Some(node_bin) = binary("st-node") else {
        println!("failover: skipped (build it first: `cargo build --release -p st-node`)");
        return;
    };
    let mut worker_s = Vec::new();
    let mut master_s = Vec::new();
    let mut elected_s = Vec::new();
    for round in 0..3 {
        let dir = std::env::temp_dir().join(format!(
            "strait-bench-failover-{}-{round}",
            std::process::id()
        ));
        let (mut nodes, members) = start_nodes(&node_bin, &dir, 3);
        let index = |addr: &str| members.iter().position(|m| m == addr).expect("a member");
        tokio.block_on(async {
            let mut c = client(&members[0]).await;
            wait_formed(&mut c, 3).await;

            // A node that runs tasks dies.
            let out = dir.join("out");
            std::fs::create_dir_all(&out).expect("out");
            let id = submit(&mut c, &slow_job(&out)).await;
            while committed(&out) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let (master, others) = roles(&members[0]).await;
            let victim = index(&others[0]);
            let _ = nodes[victim].child.kill();
            let killed = Instant::now();
            let _ = nodes[victim].child.wait();
            // Rows committed by the pipeline that restarted elsewhere: the first increase
            // after the job records the move.
            let before = loop {
                let e = events(&master, id).await;
                if e.iter().any(|e| e.contains(" restarted on node ")) {
                    break committed(&out);
                }
                assert!(killed.elapsed() < Duration::from_secs(60), "no failover: {e:?}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            while committed(&out) <= before {
                assert!(killed.elapsed() < Duration::from_secs(60), "no rows after failover");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            worker_s.push(killed.elapsed());

            // The lost node comes back (a majority must live for the next part).
            nodes[victim] = Node::start(&node_bin, &dir.join(format!("node{victim}")));
            wait_formed(&mut client(&master).await, 3).await;

            // The master dies: how long until a submit through another node is accepted.
            let survivor = members
                .iter()
                .find(|m| **m != master)
                .expect("a survivor")
                .clone();
            let _ = nodes[index(&master)].child.kill();
            let killed = Instant::now();
            let tiny = "env {\n  job.mode = \"BATCH\"\n}\nsource {\n  FakeSource {\n    row.num = 5\n    schema = { fields { id = bigint } }\n  }\n}\nsink {\n  Blackhole {}\n}\n";
            let mut s = client(&survivor).await;
            let mut elected = None;
            loop {
                if elected.is_none()
                    && let Ok(r) = s.nodes(st_proto::NodesRequest {}).await
                    && r.get_ref().nodes.iter().any(|n| n.master && n.address != master)
                {
                    elected = Some(killed.elapsed());
                }
                if let Ok(id) = try_submit(&mut s, tiny).await {
                    let _ = status(&mut s, id).await;
                    break;
                }
                assert!(killed.elapsed() < Duration::from_secs(60), "no new master");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            master_s.push(killed.elapsed());
            elected_s.push(elected.unwrap_or_else(|| killed.elapsed()));
        });
        drop(nodes);
        // ST_BENCH_KEEP keeps the nodes' homes and logs.
        if std::env::var_os("ST_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let ms = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "failover, 3 hybrid nodes, default heartbeats (1 s / 5 s) and job.retry.interval.seconds (3): kill -9 of a task node -> rows committed again by its restarted pipeline: {:.2} s median ({} s; target < 10 s)",
        median(worker_s.clone()).as_secs_f64(),
        ms(&worker_s)
    );
    println!(
        "failover: kill -9 of the master -> a new master in st nodes {:.2} s, a submit through another node accepted {:.2} s median ({} s; target < 5 s)",
        median(elected_s.clone()).as_secs_f64(),
        median(master_s.clone()).as_secs_f64(),
        ms(&master_s)
    );
}
