//! Separated mode, as SeaTunnel recommends it: `--role master` nodes hold the map and schedule,
//! `--role worker` nodes run the tasks; each reads its own hazelcast-master.yaml or
//! hazelcast-worker.yaml.

use std::time::{Duration, Instant};

use crate::jobs::*;
use crate::*;

/// A separated cluster's homes: `masters` masters sharing one port range and `workers` workers
/// on the ports after it, every member listed in both files.
struct Separated {
    c: Cluster,
    masters: Vec<usize>,
    workers: Vec<usize>,
}

impl Separated {
    fn new(masters: u16, workers: u16) -> Separated {
        let n = usize::from(masters + workers);
        let mut c = Cluster::new(n, "strait-test");
        let base = consecutive_ports(masters + workers);
        let members: String = (base..base + masters + workers)
            .map(|p| format!("          - 127.0.0.1:{p}\n"))
            .collect();
        let file = |port: u16, count: u16| {
            format!(
                "hazelcast:\n  cluster-name: strait-test\n  network:\n    join:\n      tcp-ip:\n        enabled: true\n        member-list:\n{members}    port:\n      auto-increment: true\n      port-count: {count}\n      port: {port}\n"
            )
        };
        for (i, node) in c.nodes.iter_mut().enumerate() {
            let i = u16::try_from(i).unwrap();
            let conf = node.home.join("conf");
            std::fs::write(conf.join("hazelcast-master.yaml"), file(base, masters)).unwrap();
            std::fs::write(
                conf.join("hazelcast-worker.yaml"),
                file(base + masters, workers),
            )
            .unwrap();
            // Started in order, each takes the next port of its range.
            node.port = base + i;
        }
        Separated {
            c,
            masters: (0..usize::from(masters)).collect(),
            workers: (usize::from(masters)..n).collect(),
        }
    }

    fn start(&mut self, i: usize) {
        let role = if self.masters.contains(&i) {
            "master"
        } else {
            "worker"
        };
        self.c.nodes[i].start(&["--role", role]);
        // The next node must not race it for its port.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.c.nodes[i].port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "node {i} does not listen\n{}",
                self.c.nodes[i].log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_all(&mut self) {
        for i in 0..self.c.nodes.len() {
            self.start(i);
        }
    }

    fn address(&self, i: usize) -> String {
        self.c.nodes[i].address()
    }

    /// Waits until `st nodes` through `via` shows every node alive, with its role, and a
    /// master among the masters; returns the master's index.
    fn wait_formed(&self, via: &str) -> usize {
        let want = self.c.nodes.len();
        let v = wait_nodes(&self.c, via, FORM, "the separated cluster forms", |v| {
            let roles: Vec<&str> = members(v)
                .iter()
                .filter(|n| n["alive"] == true)
                .map(|n| n["role"].as_str().unwrap_or_default())
                .collect();
            let (_, master) = alive_and_master(v);
            roles.len() == want
                && roles.iter().filter(|r| **r == "master").count() == self.masters.len()
                && roles.iter().filter(|r| **r == "worker").count() == self.workers.len()
                && master.is_some_and(|m| self.masters.iter().any(|&i| self.address(i) == m))
        });
        let master = alive_and_master(&v).1.unwrap();
        self.masters
            .iter()
            .copied()
            .find(|&i| self.address(i) == master)
            .unwrap()
    }
}

#[test]
fn masters_hold_the_map_and_schedule_and_workers_run_every_task_and_rejoin_after_losing_every_master()
 {
    let mut s = Separated::new(3, 2);
    s.start_all();
    let worker = s.address(s.workers[0]);
    // A worker answers client verbs by asking the master.
    s.wait_formed(&worker);
    let out_dir = s.c.dir.path().join("out");
    let job = file_job(s.c.dir.path(), &out_dir, "BATCH", 500, 4, 1);
    let out = st_at(&worker, &["submit", &job]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", s.c.logs());
    let id = submitted_id(&stderr);
    assert_eq!(committed_rows(&out_dir), 500 * 4);
    let ran = s.c.tasks_run(&id);
    assert!(
        s.masters.iter().all(|&m| ran[m] == 0) && s.workers.iter().all(|&w| ran[w] > 0),
        "tasks per node {ran:?} (masters first)\n{}",
        s.c.logs()
    );
    assert_eq!(ran.iter().sum::<usize>(), 6, "{ran:?}");
    // Workers hold no map: their Raft log was never written.
    let w_log = s.c.nodes[s.workers[0]].log();
    assert!(w_log.contains("registered as"), "{w_log}");
    assert!(!w_log.contains("initialized the cluster"), "{w_log}");

    // Every master dies: the workers say so, and rejoin when the masters are back.
    for &m in &s.masters.clone() {
        s.c.nodes[m].kill();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.c.nodes[s.workers[0]].log().contains("lost every master") {
        assert!(Instant::now() < deadline, "{}", s.c.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    for m in s.masters.clone() {
        s.start(m);
    }
    s.wait_formed(&worker);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.c.nodes[s.workers[0]].log().contains("a master is back") {
        assert!(Instant::now() < deadline, "{}", s.c.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    let out_dir = s.c.dir.path().join("again");
    let job = file_job(s.c.dir.path(), &out_dir, "BATCH", 100, 2, 1);
    let out = st_at(&worker, &["submit", &job]);
    assert!(out.status.success(), "{}\n{}", text(&out).1, s.c.logs());
    assert_eq!(committed_rows(&out_dir), 100 * 2);
}

#[test]
fn kill_9_of_a_worker_a_standby_master_and_the_active_master_mid_stream_loses_and_repeats_no_row() {
    let mut s = Separated::new(3, 2);
    s.start_all();
    let client = s.address(s.workers[1]);
    let active = s.wait_formed(&client);
    let out_dir = s.c.dir.path().join("out");
    // 2 readers × 600 rows in 200 splits, one split every 100 ms: about 10 s of reading.
    let (id, _) = submit_slow(&s.c, &client, &out_dir, "STREAMING", 600, 2, 200);
    let progress = |s: &Separated, past: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while committed_rows(&out_dir) <= past {
            assert!(
                Instant::now() < deadline,
                "no progress past {past}\n{}",
                s.c.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    progress(&s, 0);

    // A worker dies: its tasks move to the other one.
    let w = s.workers[0];
    let lost = s.address(w);
    s.c.nodes[w].kill();
    progress(&s, committed_rows(&out_dir));
    s.start(w);

    // A standby master dies: nothing is disturbed (no pipeline restarts).
    let restarts = || {
        status_json(&client, &id)["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["event"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("restarted")
            })
            .count()
    };
    let before = restarts();
    let standby = *s.masters.iter().find(|&&m| m != active).unwrap();
    s.c.nodes[standby].kill();
    progress(&s, committed_rows(&out_dir));
    s.start(standby);
    let active = s.wait_formed(&client);
    assert_eq!(
        restarts(),
        before,
        "a standby master's loss restarts nothing"
    );

    // The active master dies: another takes the job over from its latest checkpoint.
    s.c.nodes[active].kill();
    let survivor = s.address(*s.masters.iter().find(|&&m| m != active).unwrap());
    wait_rows(&s.c, &out_dir, 600 * 2);
    let v = wait_status(&s.c, &client, &id, "RUNNING");
    assert!(
        s.c.logs().contains(&format!("taking over job {id}")),
        "{v}\n{}",
        s.c.logs()
    );
    let moved = format!("after node {lost} was lost");
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"].as_str().unwrap_or_default().ends_with(&moved)),
        "{v}"
    );
    assert!(st_at(&survivor, &["cancel", &id]).status.success());
    wait_status(&s.c, &client, &id, "CANCELED");
}
