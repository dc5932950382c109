//! `st-node` as an operator runs it: real processes on free loopback ports, each with its own
//! `STRAIT_HOME` in a temp dir, killed with SIGKILL; `st nodes` is the oracle.

mod console;
mod failover;
mod jobs;
mod membership;
mod rest;
mod security;
mod separated;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `st` binary, built beside `st-node` by `cargo test --workspace`.
pub fn st_bin() -> PathBuf {
    let node = Path::new(env!("CARGO_BIN_EXE_st-node"));
    let st = node.with_file_name("st");
    assert!(
        st.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (or `cargo build -p st-cli` first)",
        st.display()
    );
    st
}

/// Free loopback ports, `n` consecutive ones, below the kernel's ephemeral range (32768 and
/// up): a node restarted on its old port must not find it taken by some process's outgoing
/// connection. Each call takes the next block of a range this test process spreads by its pid.
pub fn consecutive_ports(n: u16) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const HIGH: u32 = 32_700;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let _ = NEXT.compare_exchange(
        0,
        LOW + std::process::id() * 97 % (HIGH - LOW),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let raw = NEXT.fetch_add(u32::from(n), Ordering::SeqCst);
        let base = LOW + (raw - LOW) % (HIGH - LOW - u32::from(n));
        let base = u16::try_from(base).expect("below 32700");
        let bound = (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if bound {
            return base;
        }
    }
}

/// `n` free loopback ports (see [`consecutive_ports`]).
pub fn free_ports(n: usize) -> Vec<u16> {
    let n = u16::try_from(n).expect("a few ports");
    let base = consecutive_ports(n);
    (base..base + n).collect()
}

/// One node's home and, while it runs, its process.
pub struct Node {
    pub home: PathBuf,
    pub port: u16,
    /// Its REST API's port.
    pub http_port: u16,
    pub child: Option<Child>,
    starts: usize,
}

impl Node {
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything this node logged, over all its starts.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|i| {
                std::fs::read_to_string(self.home.join(format!("node-{i}.log"))).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("")
    }

    pub fn start(&mut self, args: &[&str]) {
        assert!(self.child.is_none(), "node {} runs already", self.address());
        self.starts += 1;
        let log = std::fs::File::create(self.home.join(format!("node-{}.log", self.starts)))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_st-node"))
            .args(args)
            .env("STRAIT_HOME", &self.home)
            .env_remove("ST_CONFIG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start st-node");
        self.child = Some(child);
    }

    /// SIGKILL, as a machine that dies.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and the exit status once it has left.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        wait_exit(&mut c, Duration::from_secs(20))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits for a process to end.
pub fn wait_exit(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = c.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("process {} did not exit within {limit:?}", c.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A set of node homes sharing one member list.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// `n` homes whose `conf/hazelcast.yaml` lists all `n` members under `name`.
    pub fn new(n: usize, name: &str) -> Cluster {
        Cluster::with_engine(n, name, "")
    }

    /// Like [`Cluster::new`], with `engine` (YAML lines indented under `seatunnel.engine`)
    /// added to each node's st.yaml.
    pub fn with_engine(n: usize, name: &str, engine: &str) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports(n);
        let http_ports = free_ports(n);
        let members: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, &port)| {
                let home = dir.path().join(format!("node{}", i + 1));
                write_hazelcast(&home, name, &members, port);
                // One checkpoint store for the whole cluster, inside the test's directory,
                // and grants allowed within that directory (a node's default is its data/).
                let sandbox = if engine.contains("sandbox:") {
                    String::new()
                } else {
                    format!("    sandbox:\n      allowed-dirs: [{}]\n", dir.path().display())
                };
                // Each node's REST API on a port of its own (SeaTunnel's default, 8080 and up,
                // is for one node per machine).
                let http = if engine.contains("http:") {
                    String::new()
                } else {
                    format!(
                        "    http:\n      port: {}\n      enable-dynamic-port: false\n",
                        http_ports[i]
                    )
                };
                let engine = format!("{sandbox}{http}{engine}");
                std::fs::write(
                    home.join("conf/st.yaml"),
                    format!(
                        "seatunnel:\n  engine:\n{engine}    checkpoint:\n      storage:\n        type: localfile\n        plugin-config:\n          namespace: {}\n",
                        dir.path().join("checkpoints").display()
                    ),
                )
                .expect("write st.yaml");
                Node {
                    home,
                    port,
                    http_port: http_ports[i],
                    child: None,
                    starts: 0,
                }
            })
            .collect();
        Cluster { dir, nodes }
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start(&[]);
        }
    }

    pub fn addresses(&self) -> String {
        self.nodes
            .iter()
            .map(Node::address)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// How many tasks of job `id` each node's log says it ran (one line per task start).
    pub fn tasks_run(&self, id: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|n| {
                n.log()
                    .matches(&format!("running job {id} pipeline"))
                    .count()
            })
            .collect()
    }

    /// Every node's log, for a failure message.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {} ---\n{}", n.address(), n.log()))
            .collect()
    }
}

/// Writes `home/conf/hazelcast.yaml` as SeaTunnel's own.
pub fn write_hazelcast(home: &Path, name: &str, members: &[String], port: u16) {
    std::fs::create_dir_all(home.join("conf")).expect("conf dir");
    let list: String = members
        .iter()
        .map(|m| format!("          - {m}\n"))
        .collect();
    std::fs::write(
        home.join("conf/hazelcast.yaml"),
        format!(
            "hazelcast:\n  cluster-name: {name}\n  network:\n    join:\n      tcp-ip:\n        enabled: true\n        member-list:\n{list}    port:\n      auto-increment: false\n      port: {port}\n"
        ),
    )
    .expect("write hazelcast.yaml");
}

/// Runs `st` with arguments.
pub fn st(args: &[&str]) -> Output {
    Command::new(st_bin())
        .args(args)
        .env_remove("ST_ADDRESS")
        .output()
        .expect("run st")
}

/// `st nodes --json` through `address`, parsed; `None` while no node there answers.
pub fn nodes(address: &str) -> Option<serde_json::Value> {
    let out = st(&["nodes", "--json", "--address", address]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("st nodes --json prints JSON"))
}

/// Polls `st nodes` through `address` until `ok` holds (at most `limit`), returning that view.
pub fn wait_nodes(
    cluster: &Cluster,
    address: &str,
    limit: Duration,
    what: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(v) = nodes(address) {
            if ok(&v) {
                return v;
            }
            last = Some(v);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{what}: not within {limit:?}; last view {}\n{}",
        last.map_or("none".into(), |v| v.to_string()),
        cluster.logs()
    );
}

/// The `nodes` of an `st nodes --json` view.
pub fn members(v: &serde_json::Value) -> &Vec<serde_json::Value> {
    v["nodes"].as_array().expect("nodes")
}

/// How many members the view shows alive, and which address is master.
pub fn alive_and_master(v: &serde_json::Value) -> (usize, Option<String>) {
    let alive = members(v).iter().filter(|n| n["alive"] == true).count();
    let masters: Vec<String> = members(v)
        .iter()
        .filter(|n| n["master"] == true)
        .map(|n| n["address"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(masters.len() <= 1, "two masters at once: {v}");
    (alive, masters.into_iter().next())
}
