//! REST API latency on a loaded cluster: `/overview` and `/running-jobs` with 1,000 finished
//! and 50 running jobs in the map, and a `/metrics` scrape, each against the same request on
//! the cluster before any job ran (the baseline, in the same run).

use std::time::{Duration, Instant};

use crate::cluster::{binary, client, start_nodes, try_submit, wait_formed};

const FINISHED: usize = 1000;
const RUNNING: usize = 50;

const BATCH: &str = "env {\n  job.mode = \"BATCH\"\n}\nsource {\n  FakeSource {\n    row.num = 5\n    schema = { fields { id = bigint } }\n  }\n}\nsink {\n  Blackhole {}\n}\n";
const STREAM: &str = "env {\n  job.mode = \"STREAMING\"\n  checkpoint.interval = 10000\n}\nsource {\n  FakeSource {\n    row.num = 100000000\n    split.num = 1\n    split.read-interval = 1000\n    schema = { fields { id = bigint } }\n  }\n}\nsink {\n  Blackhole {}\n}\n";

/// p50 and p99 of `n` sequential GETs of `url`, after a warm-up.
async fn latency(http: &reqwest::Client, url: &str, n: usize) -> (Duration, Duration) {
    for _ in 0..10 {
        let _ = http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status());
    }
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = http.get(url).send().await.expect("the REST API answers");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let _ = r.bytes().await.expect("a body");
        took.push(t.elapsed());
    }
    took.sort();
    (took[n / 2], took[(n * 99 / 100).min(n - 1)])
}

async fn count(c: &mut st_proto::Client, status: &str) -> usize {
    c.jobs(st_proto::JobsRequest {})
        .await
        .map(|r| {
            r.into_inner()
                .jobs
                .iter()
                .filter(|j| j.status == status)
                .count()
        })
        .unwrap_or(0)
}

pub fn run(tokio: &tokio::runtime::Runtime) {
    let Some(node_bin) = binary("st-node") else {
        println!("rest: skipped (build it first: `cargo build --release -p st-node`)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("strait-bench-rest-{}", std::process::id()));
    let (nodes, members) = start_nodes(&node_bin, &dir, 3);
    tokio.block_on(async {
        let mut c = client(&members[0]).await;
        wait_formed(&mut c, 3).await;
        let master = c
            .nodes(st_proto::NodesRequest {})
            .await
            .expect("nodes")
            .into_inner()
            .nodes
            .iter()
            .position(|n| n.master)
            .expect("a master");
        let other = (master + 1) % nodes.len();
        let http = reqwest::Client::new();
        let url = |node: usize, path: &str| format!("http://127.0.0.1:{}{path}", nodes[node].http);
        const N: usize = 300;
        let paths = ["/overview", "/running-jobs", "/metrics"];
        let mut empty = Vec::new();
        for p in paths {
            empty.push(latency(&http, &url(other, p), N).await);
        }

        // 1,000 finished jobs, submitted 8 at a time, then 50 that keep running.
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..FINISHED {
            let addr = members[i % members.len()].clone();
            set.spawn(async move {
                let mut c = client(&addr).await;
                loop {
                    match try_submit(&mut c, BATCH).await {
                        Ok(id) => return id,
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
            while set.len() >= 8 {
                let _ = set.join_next().await;
            }
        }
        while set.join_next().await.is_some() {}
        while count(&mut c, "FINISHED").await < FINISHED {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for _ in 0..RUNNING {
            while try_submit(&mut c, STREAM).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        while count(&mut c, "RUNNING").await < RUNNING {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The jobs' first checkpoints and the map's snapshot settle first.
        tokio::time::sleep(Duration::from_secs(15)).await;
        println!(
            "rest: {FINISHED} finished and {RUNNING} running jobs in the map ({:.1} s to submit and run them)",
            started.elapsed().as_secs_f64()
        );
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        for (i, p) in paths.iter().enumerate() {
            for (who, node) in [("another node", other), ("master", master)] {
                let (p50, p99) = latency(&http, &url(node, p), N).await;
                let target = if *p == "/metrics" { 50.0 } else { 20.0 };
                println!(
                    "rest: GET {p} via {who}: p50 {:.2} ms, p99 {:.2} ms (target < {target} ms); empty cluster p99 {:.2} ms ({:.1}x)",
                    ms(p50),
                    ms(p99),
                    ms(empty[i].1),
                    ms(p99) / ms(empty[i].1).max(0.001)
                );
            }
        }
    });
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}
