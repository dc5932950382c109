//! Jobs on a cluster: submitted through any node, run by the master's job master, their
//! state kept in the replicated map (and on disk), listed, followed and cancelled with `st`.

use std::path::Path;
use std::time::Duration;

use crate::*;

pub(crate) const FORM: Duration = Duration::from_secs(20);

/// A formed cluster of `n` hybrid nodes, and the address of one that is not the master.
pub(crate) fn formed(n: usize) -> (Cluster, String) {
    formed_with(n, "")
}

/// [`formed`], with `engine` lines in each node's st.yaml.
pub(crate) fn formed_with(n: usize, engine: &str) -> (Cluster, String) {
    let mut c = Cluster::with_engine(n, "strait-test", engine);
    c.start_all();
    let v = wait_nodes(&c, &c.nodes[0].address(), FORM, "the cluster forms", |v| {
        let (alive, master) = alive_and_master(v);
        alive == n
            && master.is_some()
            && members(v).iter().all(|m| m["role"] == "master_and_worker")
    });
    let master = alive_and_master(&v).1.unwrap();
    let other = c
        .nodes
        .iter()
        .map(Node::address)
        .find(|a| *a != master)
        .unwrap_or(master);
    (c, other)
}

/// `st` with the cluster's name and `address`.
pub(crate) fn st_at(address: &str, args: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--address", address, "--cluster", "strait-test"]);
    st(&all)
}

pub(crate) fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// FakeSource (`rows` per reader, `parallelism` readers) → LocalFile csv in `out`.
pub(crate) fn file_job(
    dir: &Path,
    out: &Path,
    mode: &str,
    rows: u64,
    parallelism: u32,
    interval_ms: u64,
) -> String {
    std::fs::create_dir_all(out).unwrap();
    let job = dir.join(format!("{mode}-{rows}.conf"));
    std::fs::write(
        &job,
        format!(
            r#"env {{
  job.mode = "{mode}"
  job.name = "fake_to_file"
  parallelism = {parallelism}
  checkpoint.interval = 1000
}}
source {{
  FakeSource {{
    row.num = {rows}
    split.num = 5
    split.read-interval = {interval_ms}
    schema = {{ fields {{ id = bigint, name = string }} }}
  }}
}}
sink {{
  LocalFile {{
    path = "{o}"
    file_format_type = csv
  }}
}}
"#,
            o = out.display()
        ),
    )
    .unwrap();
    job.display().to_string()
}

/// Rows in the committed csv files of `dir` (temporary files excluded).
pub(crate) fn committed_rows(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap().lines().count())
        .sum()
}

pub(crate) fn status_json(address: &str, id: &str) -> serde_json::Value {
    let out = st_at(address, &["status", id]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "st status {id}: {stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line of JSON: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

pub(crate) fn wait_status(c: &Cluster, address: &str, id: &str, want: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let v = status_json(address, id);
        if v["jobStatus"] == want {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {id} not {want}: {v}\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_batch_job_submitted_through_any_node_commits_every_row_once_and_every_node_knows_it_finished()
{
    let (c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 400, 2, 1);
    let out = st_at(&other, &["submit", &job, "-n", "nightly_copy"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}\n{}", c.logs());
    assert!(stderr.contains("job name: nightly_copy"), "{stderr}");
    assert!(stderr.contains("end with state FINISHED"), "{stderr}");
    let id = submitted_id(&stderr);
    assert_eq!(
        committed_rows(&out_dir),
        400 * 2,
        "row.num × parallelism, each once"
    );
    // The statistics block, as `st run` prints it, from the job master's report.
    assert!(stdout.contains("Job Statistic Information"), "{stdout}");
    let count = |label: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(label))
            .and_then(|l| l.rsplit(':').next())
            .map(|v| v.trim().to_string())
    };
    assert_eq!(
        count("Total Read Count").as_deref(),
        Some("800"),
        "{stdout}"
    );
    assert_eq!(
        count("Total Write Count").as_deref(),
        Some("800"),
        "{stdout}"
    );
    // `st metrics`, in SeaTunnel's shape, through any node.
    for n in &c.nodes {
        let out = st_at(&n.address(), &["metrics", &id]);
        assert!(out.status.success(), "{}", text(&out).1);
        let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(m["SourceReceivedCount"][0]["value"], 800, "{m}");
        assert_eq!(m["SinkWriteCount"][0]["value"], 800, "{m}");
        assert!(m["SinkWriteBytes"][0]["value"].as_u64().unwrap() > 0, "{m}");
        let per_table = m
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("SinkWriteCount#"))
            .count();
        assert_eq!(per_table, 1, "{m}");
    }

    // Every node's copy of the map has the job and its history.
    for n in &c.nodes {
        // (A follower's copy may lag the master's by a moment.)
        let v = wait_status(&c, &n.address(), &id, "FINISHED");
        assert_eq!(v["jobName"], "nightly_copy");
        assert_eq!(v["jobId"].to_string(), id);
        assert!(v["finishTime"].as_u64().unwrap() >= v["submitTime"].as_u64().unwrap());
        assert_eq!(v["errorMessage"], serde_json::Value::Null);
        let states: Vec<&str> = v["stateHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["status"].as_str().unwrap())
            .collect();
        assert_eq!(states.first(), Some(&"CREATED"), "{v}");
        assert!(states.contains(&"RUNNING"), "{v}");
        assert_eq!(states.last(), Some(&"FINISHED"), "{v}");
        let pipelines = v["pipelineStateMapperMap"].as_object().unwrap();
        assert_eq!(pipelines.len(), 1, "{v}");
        assert!(
            pipelines
                .values()
                .all(|p| p["pipelineStatus"] == "FINISHED"),
            "{v}"
        );
    }

    // SeaTunnel's `-l` table: header, rule, one row per job.
    let out = st_at(&other, &["list"]);
    let (stdout, _) = text(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("Job ID"), "{stdout}");
    assert!(
        lines[0].contains("Job Name") && lines[0].contains("Finished Time"),
        "{stdout}"
    );
    assert!(lines[1].starts_with("------"), "{stdout}");
    let row = lines
        .iter()
        .find(|l| l.starts_with(&id))
        .expect("the job's row");
    assert!(
        row.contains("nightly_copy") && row.contains("FINISHED"),
        "{row}"
    );
}

#[test]
fn a_streaming_job_runs_until_cancelled_then_stays_canceled() {
    let (c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "STREAMING", 100_000, 1, 500);
    let out = st_at(&other, &["submit", &job, "--async"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", c.logs());
    let id = stdout.trim().to_string();
    assert!(
        id.parse::<u64>().is_ok(),
        "--async prints the job id: {stdout}"
    );
    wait_status(&c, &other, &id, "RUNNING");
    // Live metrics: the rows read so far, while it runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = st_at(&other, &["metrics", &id]);
        if out.status.success() {
            let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if m["SourceReceivedCount"][0]["value"].as_u64().unwrap_or(0) > 0 {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no live metrics: {}",
            text(&out).1
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = st_at(&other, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["jobId"].as_u64().map(|n| n.to_string()).as_deref() == Some(id.as_str()))
        .expect("listed");
    assert_eq!(row["jobStatus"], "RUNNING");
    assert_eq!(row["jobName"], "fake_to_file");
    assert_eq!(row["finishTime"], serde_json::Value::Null);

    // Each completed checkpoint is recorded in the map: pipeline 0 has one within seconds
    // (checkpoint.interval = 1000).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = status_json(&other, &id);
        let cp = &v["latestCheckpoints"]["0"];
        if cp["id"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(cp["kind"], "checkpoint", "{v}");
            assert!(cp["time"].as_u64().unwrap() >= v["submitTime"].as_u64().unwrap());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint recorded: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = st_at(&other, &["cancel", &id]);
    assert!(out.status.success(), "{}", text(&out).1);
    let v = wait_status(&c, &other, &id, "CANCELED");
    let states: Vec<&str> = v["stateHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert!(states.ends_with(&["CANCELING", "CANCELED"]), "{v}");
    // An ended job is not cancelled twice, and an unknown one is named.
    let out = st_at(&other, &["cancel", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("has ended already (CANCELED)"),
        "{}",
        text(&out).1
    );
    let out = st_at(&other, &["cancel", "12345"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("job 12345 not found"));
    let out = st_at(&other, &["status", "12345"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out).0.trim(), r#"{"err":"jobId : 12345 not found"}"#);
}

#[test]
fn bad_submissions_are_refused_with_the_reason_and_nothing_runs() {
    let (c, other) = formed(3);
    let dir = c.dir.path();
    // A config error: the node's planner names the client's file and line; exit 2.
    let bad = dir.join("bad.conf");
    std::fs::write(
        &bad,
        "env {\n  job.mode = \"BATCH\"\n}\nsource {\n  FakeSource {\n    schema = { fields { id = int } }\n  }\n}\nsink {\n  Consle {}\n}\n",
    )
    .unwrap();
    let out = st_at(&other, &["submit", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    assert!(
        text(&out).1.contains(&format!(
            "{}:10: sink[0](Consle): unknown plugin `Consle`",
            bad.display()
        )),
        "{}",
        text(&out).1
    );

    // A job whose data breaks an Assert rule fails, with the rule in the error; exit 1.
    let failing = dir.join("assert.conf");
    std::fs::write(
        &failing,
        "source {\n  FakeSource {\n    schema = { fields { id = int } }\n    rows = [ { kind = INSERT, fields = [1] } ]\n  }\n}\nsink {\n  Assert {\n    rules { row_rules = [ { rule_type = MIN_ROW, rule_value = 10 } ] }\n  }\n}\n",
    )
    .unwrap();
    let out = st_at(
        &other,
        &["submit", failing.to_str().unwrap(), "--set-job-id", "4242"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}\n{}", c.logs());
    assert!(stderr.contains("end with state FAILED"), "{stderr}");
    let v = status_json(&other, "4242");
    assert_eq!(v["jobStatus"], "FAILED");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("MIN_ROW"),
        "{v}"
    );

    // The same id twice is refused, the first job untouched.
    let out = st_at(
        &other,
        &["submit", failing.to_str().unwrap(), "--set-job-id", "4242"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("job id 4242 is taken"),
        "{}",
        text(&out).1
    );
    assert_eq!(status_json(&other, "4242")["jobStatus"], "FAILED");

    // Another cluster's name is refused by the node, which says whose name it has.
    let out = st(&[
        "submit",
        failing.to_str().unwrap(),
        "--address",
        &other,
        "--cluster",
        "other",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("cluster name `other` is not this cluster's `strait-test`"),
        "{}",
        text(&out).1
    );

    // No node answering: every address is named.
    let dead = format!("127.0.0.1:{}", free_ports(1)[0]);
    let out = st(&["list", "--address", &dead]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(&format!(
            "no node of the cluster answers (addresses from --address): {dead}"
        )),
        "{}",
        text(&out).1
    );
}

#[test]
fn the_job_history_survives_the_masters_death_and_a_restart_of_every_node() {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 50, 1, 1);
    let out = st_at(&other, &["submit", &job, "--set-job-id", "777"]);
    assert!(out.status.success(), "{}", text(&out).1);

    // kill -9 the master: the others still answer for the job.
    let v = nodes(&other).unwrap();
    let master = alive_and_master(&v).1.unwrap();
    let victim = c.nodes.iter().position(|n| n.address() == master).unwrap();
    c.nodes[victim].kill();
    let survivor = c.nodes[(victim + 1) % 3].address();
    wait_nodes(&c, &survivor, FORM, "a new master", |v| {
        alive_and_master(v).1.is_some_and(|m| m != master)
    });
    assert_eq!(status_json(&survivor, "777")["jobStatus"], "FINISHED");
    // The new master runs new jobs.
    let second = file_job(c.dir.path(), &c.dir.path().join("out2"), "BATCH", 30, 1, 1);
    let out = st_at(&survivor, &["submit", &second, "--set-job-id", "778"]);
    assert!(out.status.success(), "{}\n{}", text(&out).1, c.logs());

    // Every node dies; all come back from their data directories.
    for n in &mut c.nodes {
        n.kill();
    }
    for n in &mut c.nodes {
        n.start(&[]);
    }
    let first = c.nodes[0].address();
    wait_nodes(&c, &first, FORM, "the cluster again", |v| {
        let (alive, m) = alive_and_master(v);
        alive == 3 && m.is_some()
    });
    for id in ["777", "778"] {
        wait_status(&c, &first, id, "FINISHED");
    }
    assert_eq!(committed_rows(&out_dir), 50);
}

/// The id `st submit` printed (`Submit job finished, job id: ID, ...`).
pub(crate) fn submitted_id(stderr: &str) -> String {
    stderr
        .split("job id: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no job id in {stderr}"))
        .to_string()
}

#[test]
fn a_jobs_tasks_run_across_the_nodes_and_every_row_is_committed_once() {
    let (c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 2000, 4, 1);
    let out = st_at(&other, &["submit", &job]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", c.logs());
    let id = submitted_id(&stderr);
    assert_eq!(committed_rows(&out_dir), 2000 * 4);
    // 1 enumerator + 1 committer + 4 subtasks over 3 nodes: every node ran some.
    let ran = c.tasks_run(&id);
    assert!(
        ran.iter().all(|&k| k > 0),
        "tasks per node {ran:?}\n{}",
        c.logs()
    );
    assert_eq!(ran.iter().sum::<usize>(), 6, "{ran:?}");
    let placed = c.logs();
    assert!(
        placed.contains(&format!("job {id}: tasks placed on")),
        "{placed}"
    );
}

pub(crate) const STATIC_SLOTS: &str =
    "    slot-service:\n      dynamic-slot: false\n      slot-num: 3\n";

/// The slots in use over all nodes, and their total, as `st nodes` shows them.
pub(crate) fn slots(address: &str) -> (u64, u64) {
    let v = nodes(address).unwrap();
    members(&v).iter().fold((0, 0), |(u, t), n| {
        (
            u + n["slotsUsed"].as_u64().unwrap(),
            t + n["slotsTotal"].as_u64().unwrap_or(0),
        )
    })
}

pub(crate) fn wait_slots(c: &Cluster, address: &str, used: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while slots(address).0 != used {
        assert!(
            std::time::Instant::now() < deadline,
            "slots used {:?}, want {used}\n{}",
            slots(address),
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn static_slots_reject_a_job_that_does_not_fit_and_free_up_when_a_job_ends() {
    let (c, other) = formed_with(3, STATIC_SLOTS);
    assert_eq!(slots(&other), (0, 9));
    let out_dir = c.dir.path().join("out");
    let streaming = file_job(c.dir.path(), &out_dir, "STREAMING", 100_000, 4, 500);
    let out = st_at(&other, &["submit", &streaming, "--async"]);
    let first = text(&out).0.trim().to_string();
    wait_status(&c, &other, &first, "RUNNING");
    // 1 enumerator + 1 committer + 4 subtasks.
    wait_slots(&c, &other, 6);

    // Another 6 do not fit in the 3 left: the job fails at once with SeaTunnel's exception.
    let out = st_at(&other, &["submit", &streaming]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("end with state FAILED"), "{stderr}");
    assert!(
        stderr.contains("NoEnoughResourceException: job"),
        "{stderr}"
    );
    assert!(
        stderr.contains("needs 6 slots (pipeline 0: 1 enumerator, 1 committer, 4 subtasks)"),
        "{stderr}"
    );
    assert!(stderr.contains("have 3 free"), "{stderr}");
    assert_eq!(slots(&other).0, 6, "the refused job holds nothing");

    // A smaller job fits beside it and gives its slots back when it ends.
    let small = file_job(c.dir.path(), &c.dir.path().join("small"), "BATCH", 10, 1, 1);
    let out = st_at(&other, &["submit", &small]);
    assert!(out.status.success(), "{}", text(&out).1);
    wait_slots(&c, &other, 6);

    let out = st_at(&other, &["cancel", &first]);
    assert!(out.status.success());
    wait_status(&c, &other, &first, "CANCELED");
    wait_slots(&c, &other, 0);
}

#[test]
fn under_wait_a_job_stays_pending_until_slots_free_up_and_a_pending_job_can_be_cancelled() {
    let engine = format!("{STATIC_SLOTS}    job-schedule-strategy: WAIT\n");
    let (c, other) = formed_with(3, &engine);
    let streaming = file_job(
        c.dir.path(),
        &c.dir.path().join("out"),
        "STREAMING",
        100_000,
        4,
        500,
    );
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let out = st_at(&other, &["submit", &streaming, "--async"]);
            assert!(out.status.success(), "{}", text(&out).1);
            text(&out).0.trim().to_string()
        })
        .collect();
    wait_status(&c, &other, &ids[0], "RUNNING");
    wait_status(&c, &other, &ids[1], "PENDING");
    wait_status(&c, &other, &ids[2], "PENDING");
    wait_slots(&c, &other, 6);

    // A pending job is cancelled without ever running.
    assert!(st_at(&other, &["cancel", &ids[2]]).status.success());
    let v = wait_status(&c, &other, &ids[2], "CANCELED");
    assert!(!v.to_string().contains("RUNNING"), "{v}");

    // The running one ends: the waiting one gets its slots and runs.
    assert!(st_at(&other, &["cancel", &ids[0]]).status.success());
    wait_status(&c, &other, &ids[1], "RUNNING");
    wait_slots(&c, &other, 6);
    assert!(st_at(&other, &["cancel", &ids[1]]).status.success());
    wait_status(&c, &other, &ids[1], "CANCELED");
    wait_slots(&c, &other, 0);
}

/// Waits until `dir` holds `rows` committed rows, then checks no more arrive.
pub(crate) fn wait_rows(c: &Cluster, dir: &Path, rows: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while committed_rows(dir) < rows {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {rows} rows committed\n{}",
            committed_rows(dir),
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        committed_rows(dir),
        rows,
        "every row once, and no more later"
    );
}

#[test]
fn a_savepoint_stops_a_job_and_a_resume_finishes_it_with_every_row_once() {
    let (c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    // 4 readers, 40 splits of 5 rows each, one split every 100 ms: about 4 s of reading.
    let (id, job) = submit_slow(&c, &other, &out_dir, "BATCH", 200, 4, 40);
    std::thread::sleep(Duration::from_millis(1500));
    let out = st_at(&other, &["savepoint", &id]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", c.logs());
    assert!(stderr.contains("stopped at a savepoint"), "{stderr}");
    assert_eq!(status_json(&other, &id)["jobStatus"], "SAVEPOINT_DONE");
    let partial = committed_rows(&out_dir);
    assert!(
        partial < 800,
        "the savepoint came before the end: {partial} rows"
    );

    // This one resumes and finishes; the waiting client prints SeaTunnel's progress block
    // (stderr is not a terminal) every print-execution-info-interval seconds of its st.yaml.
    let client_conf = c.dir.path().join("client-st.yaml");
    std::fs::write(
        &client_conf,
        "seatunnel:\n  engine:\n    print-execution-info-interval: 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(st_bin())
        .args([
            "resume",
            &id,
            &job,
            "--address",
            &other,
            "--cluster",
            "strait-test",
        ])
        .env("ST_CONFIG", &client_conf)
        .env_remove("ST_ADDRESS")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", c.logs());
    assert!(stderr.contains("end with state FINISHED"), "{stderr}");
    assert!(stderr.contains("Job Progress Information"), "{stderr}");
    assert!(stderr.contains(&format!("Job {id}: RUNNING")), "{stderr}");
    assert_eq!(
        committed_rows(&out_dir),
        200 * 4,
        "every row once across both runs"
    );
    let v = status_json(&other, &id);
    let states: Vec<&str> = v["stateHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"SAVEPOINT_DONE") && states.ends_with(&["FINISHED"]),
        "{v}"
    );

    // A savepoint of a job that does not run is SeaTunnel's error.
    let out = st_at(&other, &["savepoint", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(&format!(
            "The job with id '{id}' not running, save point failed"
        )),
        "{}",
        text(&out).1
    );
}

#[test]
fn kill_9_of_every_node_mid_stream_and_a_restart_resume_the_job_under_its_id_with_every_row_once() {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    // 2 readers × 300 rows in 60 splits, one split every 100 ms: about 3 s of reading each.
    let (id, _) = submit_slow(&c, &other, &out_dir, "STREAMING", 300, 2, 60);
    // Let a checkpoint or two commit, then every node dies at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while committed_rows(&out_dir) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing committed\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for n in &mut c.nodes {
        n.kill();
    }
    let at_kill = committed_rows(&out_dir);
    assert!(at_kill < 600, "killed before the end: {at_kill}");
    for n in &mut c.nodes {
        n.start(&[]);
    }
    // The new master takes the job over by itself: RUNNING again, same id, every row once.
    wait_rows(&c, &out_dir, 300 * 2);
    let v = wait_status(&c, &c.nodes[0].address(), &id, "RUNNING");
    assert!(
        c.logs().contains(&format!("taking over job {id}")),
        "{}",
        c.logs()
    );
    assert_eq!(v["jobId"].to_string(), id);
    assert!(
        st_at(&c.nodes[0].address(), &["cancel", &id])
            .status
            .success()
    );
    wait_status(&c, &c.nodes[0].address(), &id, "CANCELED");
}

#[test]
fn kill_9_of_the_master_mid_job_hands_the_job_to_the_new_master_which_finishes_it() {
    let (mut c, other) = formed(3);
    let out_dir = c.dir.path().join("out");
    let (id, _) = submit_slow(&c, &other, &out_dir, "BATCH", 300, 2, 60);
    std::thread::sleep(Duration::from_millis(1500));
    let master = alive_and_master(&nodes(&other).unwrap()).1.unwrap();
    let victim = c.nodes.iter().position(|n| n.address() == master).unwrap();
    c.nodes[victim].kill();
    let survivor = c
        .nodes
        .iter()
        .map(Node::address)
        .find(|a| *a != master)
        .unwrap();
    let v = wait_status(&c, &survivor, &id, "FINISHED");
    assert_eq!(committed_rows(&out_dir), 300 * 2, "every row once: {v}");
}

#[test]
fn a_node_lets_jobs_grant_only_its_data_directory_unless_its_config_allows_more() {
    // A sandbox section without allowed-dirs: the node's own default applies.
    let (c, other) = formed_with(1, "    sandbox:\n      max-memory-mb: 512\n");
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 10, 1, 1);
    let out = st_at(&other, &["submit", &job]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}\n{}", c.logs());
    assert!(stderr.contains("sink[0](LocalFile)"), "{stderr}");
    assert!(stderr.contains(&out_dir.display().to_string()), "{stderr}");
    assert!(stderr.contains("allowed-dirs"), "{stderr}");
    assert_eq!(committed_rows(&out_dir), 0);
    assert!(
        c.logs().contains("sandbox.allowed-dirs is not set"),
        "{}",
        c.logs()
    );

    // Inside its data directory, the same job runs.
    let data = c.nodes[0].home.join("data/exports");
    let job = file_job(c.dir.path(), &data, "BATCH", 10, 1, 1);
    let out = st_at(&other, &["submit", &job]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(committed_rows(&data), 10);
}

#[test]
fn tag_filter_places_a_jobs_tasks_only_on_nodes_with_those_tags() {
    let mut c = Cluster::new(3, "strait-test");
    for (i, team) in [(1, "team1"), (2, "team2")] {
        let file = c.nodes[i].home.join("conf/hazelcast.yaml");
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str(&format!(
            "  member-attributes:\n    group:\n      type: string\n      value: platform\n    team:\n      type: string\n      value: {team}\n"
        ));
        std::fs::write(&file, text).unwrap();
    }
    c.start_all();
    let first = c.nodes[0].address();
    let v = wait_nodes(&c, &first, FORM, "the cluster forms", |v| {
        alive_and_master(v).0 == 3 && members(v).iter().all(|m| m["role"] == "master_and_worker")
    });
    let team1 = c.nodes[1].address();
    let tagged = members(&v)
        .iter()
        .find(|m| m["address"] == team1.as_str())
        .unwrap();
    assert_eq!(tagged["tags"]["team"], "team1", "{v}");

    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 50, 2, 1);
    let text_of = std::fs::read_to_string(&job).unwrap().replacen(
        "env {",
        "env {\n  tag_filter {\n    group = \"platform\"\n    team = \"team1\"\n  }",
        1,
    );
    std::fs::write(&job, text_of).unwrap();
    let out = st_at(&first, &["submit", &job]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", c.logs());
    let id = submitted_id(&stderr);
    assert_eq!(committed_rows(&out_dir), 100);
    let ran = c.tasks_run(&id);
    assert_eq!(ran, [0, 4, 0], "every task on the team1 node\n{}", c.logs());

    // No node has the tags: SeaTunnel's exception, naming them.
    let none = c.dir.path().join("none.conf");
    let text_of = std::fs::read_to_string(&job)
        .unwrap()
        .replace("team = \"team1\"", "team = \"error_tag\"");
    std::fs::write(&none, text_of).unwrap();
    let out = st_at(&first, &["submit", none.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("NoEnoughResourceException"), "{stderr}");
    assert!(
        stderr.contains("with the tags group=platform, team=error_tag"),
        "{stderr}"
    );
}

#[test]
fn a_plugin_that_is_not_built_in_travels_with_the_job_to_every_node_that_runs_it() {
    let (c, other) = formed(3);
    // The plugin exists only in the client's directory, under a relative path.
    let client = c.dir.path().join("client");
    std::fs::create_dir_all(client.join("plugins")).unwrap();
    std::fs::copy(
        st_builtin::test_plugin("fault-transform"),
        client.join("plugins/passthrough.wasm"),
    )
    .unwrap();
    let markers = c.dir.path().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 100, 4, 1);
    let with_plugin = std::fs::read_to_string(&job).unwrap().replacen(
        "sink {",
        &format!(
            "transform {{\n  \"plugins/passthrough.wasm\" {{\n    fail_at_row = 1000000000\n    marker_dir = \"{m}\"\n    sandbox {{ dirs = [ {{ path = \"{m}\", mode = rw }} ] }}\n  }}\n}}\nsink {{",
            m = markers.display()
        ),
        1,
    );
    std::fs::write(&job, &with_plugin).unwrap();
    let submit = |job: &str| {
        std::process::Command::new(st_bin())
            .args([
                "submit",
                job,
                "--address",
                &other,
                "--cluster",
                "strait-test",
            ])
            .current_dir(&client)
            .env_remove("ST_ADDRESS")
            .output()
            .unwrap()
    };
    let out = submit(&job);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{}", c.logs());
    let id = submitted_id(&stderr);
    assert_eq!(committed_rows(&out_dir), 400);
    let logs = c.logs();
    assert!(
        logs.contains("plugin plugins/passthrough.wasm uploaded (sha256 "),
        "{logs}"
    );
    let nodes_ran = c
        .nodes
        .iter()
        .filter(|n| {
            n.log()
                .contains(&format!("running job {id} pipeline 0 subtask"))
        })
        .count();
    assert!(
        nodes_ran >= 2,
        "subtasks on several nodes, each with the uploaded plugin\n{logs}"
    );

    // A `.wasm` that is neither here nor on the nodes: refused with the reference named.
    let missing = c.dir.path().join("missing.conf");
    std::fs::write(
        &missing,
        with_plugin.replace("plugins/passthrough.wasm", "plugins/missing.wasm"),
    )
    .unwrap();
    let out = submit(missing.to_str().unwrap());
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("plugins/missing.wasm"), "{stderr}");
}

#[test]
fn with_a_map_store_a_cluster_restarted_on_empty_disks_gets_its_running_job_back() {
    let mut c = Cluster::new(3, "strait-test");
    let imap = c.dir.path().join("imap");
    for n in &c.nodes {
        let file = n.home.join("conf/hazelcast.yaml");
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str(&format!(
            "  map:\n    engine*:\n      map-store:\n        enabled: true\n        initial-mode: EAGER\n        factory-class-name: org.apache.seatunnel.engine.server.persistence.FileMapStoreFactory\n        properties:\n          type: hdfs\n          namespace: {}\n          clusterName: seatunnel-cluster\n          storage.type: hdfs\n          fs.defaultFS: file:///\n",
            imap.display()
        ));
        std::fs::write(&file, text).unwrap();
    }
    c.start_all();
    let first = c.nodes[0].address();
    wait_nodes(&c, &first, FORM, "the cluster forms", |v| {
        let (alive, m) = alive_and_master(v);
        // Registered too: a submit needs the task nodes in the map.
        alive == 3 && m.is_some() && members(v).iter().all(|n| n["role"] == "master_and_worker")
    });
    let out_dir = c.dir.path().join("out");
    let (id, _) = submit_slow(&c, &first, &out_dir, "STREAMING", 300, 2, 60);
    // The master keeps the map's jobs in the map store.
    let stored = imap.join("seatunnel-cluster/job-state-map.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !(std::fs::read_to_string(&stored).is_ok_and(|t| t.contains("RUNNING"))
        && committed_rows(&out_dir) > 0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing in {}\n{}",
            stored.display(),
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Every node dies and loses its disk.
    for n in &mut c.nodes {
        n.kill();
        std::fs::remove_dir_all(n.home.join("data")).unwrap();
    }
    for n in &mut c.nodes {
        n.start(&[]);
    }
    wait_rows(&c, &out_dir, 300 * 2);
    let v = wait_status(&c, &first, &id, "RUNNING");
    assert!(
        c.logs().contains("restored 1 jobs from the map store"),
        "{}",
        c.logs()
    );
    assert_eq!(v["jobName"], "fake_to_file");
    assert!(st_at(&first, &["cancel", &id]).status.success());
    wait_status(&c, &first, &id, "CANCELED");
}

/// Submits (`--async`) a job that reads slowly enough to be hit mid-way: `rows` per reader in
/// `splits` splits, one split every 100 ms; returns its id once it runs, and the job file.
pub(crate) fn submit_slow(
    c: &Cluster,
    address: &str,
    out_dir: &Path,
    mode: &str,
    rows: u64,
    parallelism: u32,
    splits: u32,
) -> (String, String) {
    let job = file_job(c.dir.path(), out_dir, mode, rows, parallelism, 100);
    let text_of = std::fs::read_to_string(&job)
        .unwrap()
        .replace("split.num = 5", &format!("split.num = {splits}"));
    std::fs::write(&job, text_of).unwrap();
    let out = st_at(address, &["submit", &job, "--async"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let id = text(&out).0.trim().to_string();
    wait_status(c, address, &id, "RUNNING");
    (id, job)
}
