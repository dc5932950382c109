//! The cluster against local mode, on this machine: a 3-node cluster of release `st-node`
//! processes (the binaries next to this one) on loopback ports. Measures the idle cost of a
//! node (CPU share of one core, RSS), submit → RUNNING for a cached job, and FakeSource →
//! Blackhole at parallelism 6 spread over the 3 nodes against the same job in `st run`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const CLUSTER: &str = "bench";

pub(crate) struct Node {
    pub(crate) child: Child,
    /// Its REST API's port (set by [`start_nodes`]).
    pub(crate) http: u16,
}

impl Node {
    pub(crate) fn start(node_bin: &Path, home: &Path) -> Node {
        // ST_BENCH_LOG sets the nodes' ST_LOG; each start appends to its home's bench.log.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("bench.log"))
            .expect("bench.log");
        let child = Command::new(node_bin)
            .env("STRAIT_HOME", home)
            .env(
                "ST_LOG",
                std::env::var("ST_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("st-node");
        Node { child, http: 0 }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join(name);
    p.exists().then_some(p)
}

pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let l: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    l.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is 0, utime 11, stime 12; 100 ticks per second.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn job(
    dir: &Path,
    name: &str,
    mode: &str,
    parallelism: u32,
    rows: u64,
    interval_ms: u64,
) -> String {
    let text = format!(
        "env {{\n  job.mode = \"{mode}\"\n  parallelism = {parallelism}\n}}\nsource {{\n  FakeSource {{\n    row.num = {rows}\n    split.read-interval = {interval_ms}\n    schema = {{ fields {{ id = bigint, name = string, score = double }} }}\n  }}\n}}\nsink {{\n  Blackhole {{}}\n}}\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, &text).expect("job file");
    text
}

pub(crate) async fn client(addr: &str) -> st_proto::Client {
    st_proto::client(addr, Duration::from_secs(2)).expect("client")
}

pub(crate) async fn status(c: &mut st_proto::Client, id: u64) -> String {
    let r = c
        .job(st_proto::JobRequest { job_id: id })
        .await
        .expect("job")
        .into_inner();
    let v: serde_json::Value = serde_json::from_slice(&r.record).unwrap_or_default();
    v["status"].as_str().unwrap_or_default().to_string()
}

/// Submits `config`; the node's error when it refuses (no master at the moment, say).
pub(crate) async fn try_submit(c: &mut st_proto::Client, config: &str) -> Result<u64, String> {
    let r = c
        .submit(st_proto::SubmitRequest {
            cluster_name: CLUSTER.into(),
            file: "bench.conf".into(),
            config: config.into(),
            ..Default::default()
        })
        .await
        .map_err(|s| s.message().to_string())?
        .into_inner();
    if r.error.is_empty() {
        Ok(r.job_id)
    } else {
        Err(r.error)
    }
}

pub(crate) async fn submit(c: &mut st_proto::Client, config: &str) -> u64 {
    try_submit(c, config)
        .await
        .unwrap_or_else(|e| panic!("submit: {e}"))
}

pub(crate) async fn wait_for(c: &mut st_proto::Client, id: u64, want: &str) {
    loop {
        let s = status(c, id).await;
        if s == want {
            return;
        }
        assert!(
            !matches!(s.as_str(), "FAILED" | "CANCELED" | "FINISHED") || s == want,
            "job {id} ended {s}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Starts `n` release nodes under `dir` (one home each, a shared checkpoint store and component
/// cache, grants allowed within `dir`); returns them and their addresses.
pub(crate) fn start_nodes(node_bin: &Path, dir: &Path, n: usize) -> (Vec<Node>, Vec<String>) {
    let _ = std::fs::remove_dir_all(dir);
    let ports = free_ports(n);
    let http = free_ports(n);
    let members: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let cache = dir.join("components");
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let home = dir.join(format!("node{i}"));
        std::fs::create_dir_all(home.join("conf")).expect("conf");
        let list: String = members
            .iter()
            .map(|m| format!("          - {m}\n"))
            .collect();
        std::fs::write(
            home.join("conf/hazelcast.yaml"),
            format!("hazelcast:\n  cluster-name: {CLUSTER}\n  network:\n    join:\n      tcp-ip:\n        member-list:\n{list}    port:\n      auto-increment: false\n      port: {port}\n"),
        )
        .expect("hazelcast.yaml");
        std::fs::write(
            home.join("conf/st.yaml"),
            format!(
                "seatunnel:\n  engine:\n    component-cache-dir: {}\n    http:\n      port: {}\n      enable-dynamic-port: false\n    sandbox:\n      allowed-dirs: [{}]\n    checkpoint:\n      storage:\n        plugin-config:\n          namespace: {}\n",
                cache.display(),
                http[i],
                dir.display(),
                dir.join("checkpoints").display()
            ),
        )
        .expect("st.yaml");
        let mut node = Node::start(node_bin, &home);
        node.http = http[i];
        nodes.push(node);
    }
    (nodes, members)
}

/// Waits until `n` nodes are alive and registered under a master.
pub(crate) async fn wait_formed(c: &mut st_proto::Client, n: usize) {
    let formed = Instant::now();
    loop {
        if let Ok(r) = c.nodes(st_proto::NodesRequest {}).await {
            let r = r.into_inner();
            let alive = r
                .nodes
                .iter()
                .filter(|n| n.alive && n.role != "unregistered")
                .count();
            if r.master != 0 && alive == n {
                return;
            }
        }
        assert!(
            formed.elapsed() < Duration::from_secs(60),
            "the cluster did not form"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn run(tokio: &tokio::runtime::Runtime, rows: u64) {
    let (Some(node_bin), Some(st_bin)) = (binary("st-node"), binary("st")) else {
        println!(
            "cluster: skipped (build them first: `cargo build --release -p st-node -p st-cli`)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("strait-bench-cluster-{}", std::process::id()));
    let (nodes, members) = start_nodes(&node_bin, &dir, 3);
    let first = members[0].clone();
    tokio.block_on(async {
        let mut c = client(&first).await;
        let formed = Instant::now();
        wait_formed(&mut c, 3).await;
        println!(
            "cluster: 3 nodes formed in {:.0} ms",
            formed.elapsed().as_secs_f64() * 1000.0
        );

        // Idle: no jobs, after the start-up has settled.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
        let before: Vec<f64> = pids.iter().map(|&p| cpu_seconds(p)).collect();
        let window = Duration::from_secs(10);
        tokio::time::sleep(window).await;
        let shares: Vec<f64> = pids
            .iter()
            .zip(&before)
            .map(|(&p, b)| (cpu_seconds(p) - b) / window.as_secs_f64() * 100.0)
            .collect();
        let rss: Vec<f64> = pids.iter().map(|&p| rss_mib(p)).collect();
        println!(
            "cluster idle, per node over {} s: CPU {} % of one core (target < 2 %), RSS {} MiB (target < 60 MiB)",
            window.as_secs(),
            shares.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(" / "),
            rss.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" / ")
        );

        // Submit → RUNNING of a cached job (the first run compiles its components).
        let streaming = job(&dir, "stream.conf", "STREAMING", 1, 1_000_000, 1000);
        let mut times = Vec::new();
        for i in 0..11 {
            let t = Instant::now();
            let id = submit(&mut c, &streaming).await;
            wait_for(&mut c, id, "RUNNING").await;
            if i > 0 {
                times.push(t.elapsed());
            }
            c.stop(st_proto::StopRequest {
                cluster_name: CLUSTER.into(),
                job_ids: vec![id],
                savepoint: false,
            })
            .await
            .expect("stop");
            wait_for(&mut c, id, "CANCELED").await;
        }
        println!(
            "cluster submit -> RUNNING, cached job, 3 nodes: {:.1} ms median of {} (target < 200 ms)",
            median(times.clone()).as_secs_f64() * 1000.0,
            times.len()
        );

        // Throughput: FakeSource -> Blackhole at parallelism 6, over the cluster and locally,
        // with 10 × the rows of a run, so a run lasts seconds and the ~0.1 s of submitting and
        // scheduling does not decide the ratio.
        let per_reader = (rows * 10 / 6).max(1);
        let batch = job(&dir, "batch.conf", "BATCH", 6, per_reader, 0);
        let total = per_reader * 6;
        let mut cluster_s = Vec::new();
        let mut local_s = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let id = submit(&mut c, &batch).await;
            wait_for(&mut c, id, "FINISHED").await;
            cluster_s.push(t.elapsed());
            let t = Instant::now();
            let out = Command::new(&st_bin)
                .arg("--st-config")
                .arg(dir.join("node0/conf/st.yaml"))
                .arg("run")
                .arg(dir.join("batch.conf"))
                .output()
                .expect("st run");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            local_s.push(t.elapsed());
        }
        let (cl, lo) = (median(cluster_s).as_secs_f64(), median(local_s).as_secs_f64());
        let rate = |s: f64| total as f64 / s / 1e6;
        println!(
            "FakeSource -> Blackhole, parallelism 6, {total} rows: cluster (3 nodes) {:.1} M rows/s, local mode {:.1} M rows/s: cluster/local = {:.2} (target >= 0.90; medians of 3)",
            rate(cl),
            rate(lo),
            lo / cl
        );
    });
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}
