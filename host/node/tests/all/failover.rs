//! Fault tolerance: `kill -9` of a node that runs tasks, mid-job. The oracle is the committed
//! rows: every row exactly once.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::jobs::*;
use crate::*;

/// The master's address, and a third node that is neither the master nor `client`.
fn master_and_victim(c: &Cluster, client: &str) -> (String, usize) {
    let master = alive_and_master(&nodes(client).unwrap()).1.unwrap();
    let victim = c
        .nodes
        .iter()
        .position(|n| n.address() != master && n.address() != client)
        .expect("a third node");
    (master, victim)
}

/// Waits until something of `dir` is committed (a checkpoint completed).
fn wait_first_commit(c: &Cluster, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while committed_rows(dir) == 0 {
        assert!(Instant::now() < deadline, "nothing committed\n{}", c.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The texts of job `id`'s events, as `st status` shows them.
fn events(v: &serde_json::Value) -> Vec<String> {
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Job `id` says its pipeline restarted elsewhere after `victim` was lost, in `st status`
/// and in the master's log.
fn assert_moved_off(c: &Cluster, v: &serde_json::Value, master: &str, victim: &str) {
    let said = events(v);
    assert!(
        said.iter().any(|e| e.contains(" restarted on node ")
            && e.ends_with(&format!("after node {victim} was lost"))),
        "events {said:?}\n{}",
        c.logs()
    );
    let log = c
        .nodes
        .iter()
        .find(|n| n.address() == master)
        .unwrap()
        .log();
    assert!(
        log.contains(&format!("after node {victim} was lost")),
        "{log}"
    );
}

#[test]
fn kill_9_of_a_task_node_mid_batch_job_moves_its_tasks_and_every_row_is_committed_once() {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    // 4 readers × 300 rows in 120 splits, one split every 100 ms: about 3 s of reading each;
    // 6 tasks over 3 nodes, so the victim runs some.
    let (id, _) = submit_slow(&c, &other, &out_dir, "BATCH", 300, 4, 120);
    let (master, victim) = master_and_victim(&c, &other);
    wait_first_commit(&c, &out_dir);
    let victim_address = c.nodes[victim].address();
    c.nodes[victim].kill();
    let v = wait_status(&c, &other, &id, "FINISHED");
    assert_eq!(committed_rows(&out_dir), 300 * 4, "every row once: {v}");
    assert_moved_off(&c, &v, &master, &victim_address);
    // The lost node's slots went with its tasks, and every slot is free again.
    wait_slots(&c, &other, 0);
}

#[test]
fn kill_9_of_a_task_node_mid_streaming_job_keeps_it_running_with_every_row_once() {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let (id, _) = submit_slow(&c, &other, &out_dir, "STREAMING", 300, 4, 120);
    let (master, victim) = master_and_victim(&c, &other);
    wait_first_commit(&c, &out_dir);
    let victim_address = c.nodes[victim].address();
    c.nodes[victim].kill();
    wait_rows(&c, &out_dir, 300 * 4);
    // Still running, and still no more rows 10 s after the last.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(committed_rows(&out_dir), 300 * 4, "no row twice");
    let v = wait_status(&c, &other, &id, "RUNNING");
    assert_moved_off(&c, &v, &master, &victim_address);
    assert!(st_at(&other, &["cancel", &id]).status.success());
    wait_status(&c, &other, &id, "CANCELED");
}

/// Two independent FakeSource → LocalFile pipelines, `rows` each, read slowly.
fn two_pipelines(dir: &Path, a: &Path, b: &Path, rows: u64) -> String {
    std::fs::create_dir_all(a).unwrap();
    std::fs::create_dir_all(b).unwrap();
    let source = |name: &str| {
        format!(
            "  FakeSource {{\n    plugin_output = \"{name}\"\n    row.num = {rows}\n    split.num = 30\n    split.read-interval = 100\n    schema = {{ fields {{ id = bigint, name = string }} }}\n  }}\n"
        )
    };
    let sink = |name: &str, out: &Path| {
        format!(
            "  LocalFile {{\n    plugin_input = \"{name}\"\n    path = \"{}\"\n    file_format_type = csv\n  }}\n",
            out.display()
        )
    };
    let job = dir.join("two-pipelines.conf");
    std::fs::write(
        &job,
        format!(
            "env {{\n  job.mode = \"BATCH\"\n  job.name = \"two_pipelines\"\n  parallelism = 1\n  checkpoint.interval = 1000\n}}\nsource {{\n{}{}}}\nsink {{\n{}{}}}\n",
            source("a"),
            source("b"),
            sink("a", a),
            sink("b", b)
        ),
    )
    .unwrap();
    job.display().to_string()
}

#[test]
fn a_lost_node_restarts_only_the_pipeline_that_had_tasks_there() {
    let (mut c, other) = formed_with(3, STATIC_SLOTS);
    // One node that is not the master gets a single slot: with the master's tasks placed
    // first, it runs one task of pipeline 0 and none of pipeline 1.
    let (master, victim) = master_and_victim(&c, &other);
    let victim_address = c.nodes[victim].address();
    assert!(c.nodes[victim].terminate().success());
    let conf = c.nodes[victim].home.join("conf/st.yaml");
    let one_slot = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("slot-num: 3", "slot-num: 1");
    std::fs::write(&conf, one_slot).unwrap();
    c.nodes[victim].start(&[]);
    wait_nodes(&c, &other, FORM, "the node is back with 1 slot", |v| {
        members(v).iter().any(|n| {
            n["address"] == victim_address.as_str() && n["alive"] == true && n["slotsTotal"] == 1
        })
    });
    let (a, b) = (c.dir.path().join("a"), c.dir.path().join("b"));
    let job = two_pipelines(c.dir.path(), &a, &b, 300);
    let out = st_at(&other, &["submit", &job, "--async"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let id = text(&out).0.trim().to_string();
    wait_status(&c, &other, &id, "RUNNING");
    wait_first_commit(&c, &a);
    let ran_there = c.nodes[victim].log();
    assert!(
        ran_there.contains(&format!("running job {id} pipeline 0"))
            && !ran_there.contains(&format!("running job {id} pipeline 1")),
        "the victim runs pipeline 0 only\n{ran_there}"
    );
    c.nodes[victim].kill();
    let v = wait_status(&c, &other, &id, "FINISHED");
    assert_eq!(
        (committed_rows(&a), committed_rows(&b)),
        (300, 300),
        "every row once: {v}\n{}",
        c.logs()
    );
    let said = events(&v);
    assert!(
        said.iter().any(|e| e.starts_with("pipeline 0 restarted")),
        "{said:?}"
    );
    assert!(
        !said.iter().any(|e| e.starts_with("pipeline 1 restarted")),
        "pipeline 1 never restarts: {said:?}"
    );
    assert_moved_off(&c, &v, &master, &victim_address);
}

#[test]
fn without_slots_for_a_lost_nodes_tasks_reject_fails_the_job_saying_why() {
    let (mut c, other) = formed_with(3, STATIC_SLOTS);
    let out_dir = c.dir.path().join("out");
    // 2 + 5 = 7 of the 9 slots: the 3 of a lost node do not fit in the 2 left.
    let (id, _) = submit_slow(&c, &other, &out_dir, "STREAMING", 300, 5, 150);
    let (_, victim) = master_and_victim(&c, &other);
    wait_first_commit(&c, &out_dir);
    let victim_address = c.nodes[victim].address();
    c.nodes[victim].kill();
    let v = wait_status(&c, &other, &id, "FAILED");
    let error = v["errorMessage"].as_str().unwrap_or_default();
    assert!(
        error.contains("NoEnoughResourceException")
            && error.contains(&format!("lost node {victim_address}")),
        "{v}"
    );
    // Nothing committed twice by the attempts before it failed.
    let rows = committed_rows(&out_dir);
    assert!(rows <= 300 * 5, "{rows}");
}

#[test]
fn under_wait_a_lost_nodes_tasks_wait_for_slots_and_run_once_the_node_is_back() {
    let engine = format!("{STATIC_SLOTS}    job-schedule-strategy: WAIT\n");
    let (mut c, other) = formed_with(3, &engine);
    let out_dir = c.dir.path().join("out");
    let (id, _) = submit_slow(&c, &other, &out_dir, "STREAMING", 300, 5, 150);
    let (_, victim) = master_and_victim(&c, &other);
    wait_first_commit(&c, &out_dir);
    c.nodes[victim].kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = status_json(&other, &id);
        if events(&v).iter().any(|e| e.contains("waits for slots")) {
            assert_eq!(v["jobStatus"], "RUNNING", "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "no wait: {v}\n{}", c.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    c.nodes[victim].start(&[]);
    wait_rows(&c, &out_dir, 300 * 5);
    assert!(st_at(&other, &["cancel", &id]).status.success());
    wait_status(&c, &other, &id, "CANCELED");
}

/// A small deterministic generator, seeded from the clock (the seed is printed, to replay).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn ten_rounds_of_kill_9_of_a_random_node_at_a_random_moment_lose_and_repeat_no_row() {
    let seed = std::env::var("ST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("ST_TEST_SEED={seed}");
    let mut rng = Lcg(seed);
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    // 2 readers × 1500 rows in 600 splits, one split every 100 ms: about 30 s of reading.
    let (id, _) = submit_slow(&c, &other, &out_dir, "STREAMING", 1500, 2, 600);
    for round in 0..10 {
        std::thread::sleep(Duration::from_millis(300 + rng.below(2500)));
        let victim = usize::try_from(rng.below(3)).unwrap();
        println!(
            "round {round}: kill -9 {} ({} rows committed)",
            c.nodes[victim].address(),
            committed_rows(&out_dir)
        );
        c.nodes[victim].kill();
        std::thread::sleep(Duration::from_millis(rng.below(1500)));
        c.nodes[victim].start(&[]);
        let via = c.nodes[(victim + 1) % 3].address();
        wait_nodes(&c, &via, FORM, "all three back", |v| {
            let (alive, master) = alive_and_master(v);
            alive == 3 && master.is_some()
        });
    }
    wait_rows(&c, &out_dir, 1500 * 2);
    let via = c.nodes[0].address();
    let v = wait_status(&c, &via, &id, "RUNNING");
    assert!(st_at(&via, &["cancel", &id]).status.success(), "{v}");
    wait_status(&c, &via, &id, "CANCELED");
}

#[test]
fn kill_9_of_the_master_mid_batch_job_leaves_a_waiting_st_submit_through_another_node_to_see_it_finish()
 {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 300, 2, 100);
    let text_of = std::fs::read_to_string(&job)
        .unwrap()
        .replace("split.num = 5", "split.num = 60");
    std::fs::write(&job, text_of).unwrap();
    let mut client = std::process::Command::new(st_bin())
        .args([
            "submit",
            &job,
            "--address",
            &other,
            "--cluster",
            "strait-test",
        ])
        .env_remove("ST_ADDRESS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_first_commit(&c, &out_dir);
    let (master, _) = master_and_victim(&c, &other);
    let victim = c.nodes.iter().position(|n| n.address() == master).unwrap();
    c.nodes[victim].kill();
    let status = wait_exit(&mut client, Duration::from_secs(90));
    let out = client.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{stderr}\n{}", c.logs());
    assert!(stderr.contains("end with state FINISHED"), "{stderr}");
    assert_eq!(committed_rows(&out_dir), 300 * 2, "every row once");
}

#[test]
fn kill_9_of_the_master_mid_streaming_job_the_new_master_keeps_it_running_with_every_row_once() {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let (id, _) = submit_slow(&c, &other, &out_dir, "STREAMING", 300, 2, 60);
    wait_first_commit(&c, &out_dir);
    let (master, _) = master_and_victim(&c, &other);
    let victim = c.nodes.iter().position(|n| n.address() == master).unwrap();
    c.nodes[victim].kill();
    wait_rows(&c, &out_dir, 300 * 2);
    let v = wait_status(&c, &other, &id, "RUNNING");
    assert!(
        c.logs().contains(&format!("taking over job {id}")),
        "{v}\n{}",
        c.logs()
    );
    assert!(st_at(&other, &["cancel", &id]).status.success());
    wait_status(&c, &other, &id, "CANCELED");
}
