//! Checkpoints through the real `st` process: failover from the latest checkpoint with every
//! row committed exactly once, the error that exhausts the retries, and a STREAMING job stopped
//! by a savepoint and resumed without a gap or a duplicate.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{root, sigint, text, wait_for_exit};

/// A private engine config: its own component cache and checkpoint namespace. Readers always
/// read ahead, so every batch boundary a barrier meets has a read in flight to settle first.
fn engine_config(dir: &Path) -> std::path::PathBuf {
    let conf = dir.join("st.yaml");
    std::fs::write(
        &conf,
        format!(
            "seatunnel:\n  engine:\n    read-ahead: always\n    checkpoint:\n      storage:\n        type: localfile\n        plugin-config:\n          namespace: {}\n",
            dir.join("checkpoints").display()
        ),
    )
    .unwrap();
    conf
}

fn run(conf: &Path, job: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_st"))
        .arg("--st-config")
        .arg(conf)
        .arg("run")
        .arg(job)
        .args(extra)
        .arg("-i")
        .arg(format!("TEST_PLUGINS={}", st_builtin::TEST_PLUGIN_DIR))
        .current_dir(root())
        .output()
        .expect("run st")
}

/// 2 readers × 100,000 rows at 100,000 rows/s each, checkpoints every 200 ms, a transform that
/// fails once after `fail_at_row` rows in subtask 0, and Assert counting the committed rows.
fn failover_job(dir: &Path, mode: &str, retries: u32) -> std::path::PathBuf {
    let marker = dir.join("markers");
    std::fs::create_dir_all(&marker).unwrap();
    let job = dir.join("job.conf");
    std::fs::write(
        &job,
        format!(
            r#"env {{
  parallelism = 2
  checkpoint.interval = 200
  job.retry.times = {retries}
  job.retry.interval.seconds = 0
  read_limit.rows_per_second = 100000
}}
source {{ FakeSource {{ row.num = 100000, split.num = 4, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
transform {{
  "${{TEST_PLUGINS}}/st_test_fault_transform.wasm" {{
    fail_at_row = 60000
    mode = {mode}
    marker_dir = "{m}"
    sandbox {{ dirs = [ {{ path = "{m}", mode = rw }} ] }}
  }}
}}
sink {{ Assert {{ rules {{ row_rules = [ {{ rule_type = MIN_ROW, rule_value = 200000 }}, {{ rule_type = MAX_ROW, rule_value = 200000 }} ] }} }} }}
"#,
            m = marker.display()
        ),
    )
    .unwrap();
    job
}

#[test]
fn a_crash_restarts_the_pipeline_from_its_checkpoint_and_commits_every_row_once() {
    for mode in ["panic", "error"] {
        let dir = tempfile::tempdir().unwrap();
        let conf = engine_config(dir.path());
        let job = failover_job(dir.path(), mode, 3);
        let out = run(&conf, &job, &[]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{mode}: {stderr}\n{stdout}");
        assert!(
            stderr.contains("Pipeline 0 failed:") && stderr.contains("restarting from checkpoint"),
            "{mode}: no restart from a checkpoint in:\n{stderr}"
        );
        let injected = if mode == "panic" {
            "injected crash after"
        } else {
            "injected failure after"
        };
        assert!(stderr.contains(injected), "{mode}: {stderr}");
        // Assert's committer counted exactly 200,000 rows: none lost, none twice.
        assert!(stdout.contains("Job Statistic Information"), "{stdout}");
        // A finished job leaves no checkpoints behind, only the mark that it finished.
        let left = files_under(&dir.path().join("checkpoints/local"));
        assert!(
            left.len() == 1 && left[0].ends_with("finished.json"),
            "left behind: {left:?}"
        );
    }
}

/// Every file below `dir`.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            files.extend(files_under(&e.path()));
        } else {
            files.push(e.path());
        }
    }
    files
}

#[test]
fn the_error_that_exhausts_the_retries_is_the_one_reported() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    let job = failover_job(dir.path(), "error", 0);
    let out = run(&conf, &job, &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "FaultTransform [transform[0](st_test_fault_transform.wasm)#0]: injected failure after"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("restarting"), "{stderr}");
}

fn spawn(conf: &Path, job: &Path, extra: &[&str]) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_st"))
        .arg("--st-config")
        .arg(conf)
        .arg("run")
        .arg(job)
        .args(extra)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !(line.contains(" started") || line.contains(" resumed")) {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "st ended early");
    }
    (child, stderr)
}

/// Sends SIGINT and waits for the exit; returns (code, stdout, rest of stderr).
fn interrupt(
    mut child: Child,
    mut stderr: BufReader<std::process::ChildStderr>,
) -> (i32, String, String) {
    sigint(&child);
    let status = wait_for_exit(&mut child);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    (status.code().unwrap_or(-1), out, err)
}

fn total_read(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix("Total Read Count          : "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no read count in:\n{report}"))
}

#[test]
fn a_streaming_job_stops_at_a_savepoint_and_resumes_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    // The rows a BATCH run of the same deterministic source writes.
    let want = reference_ids(dir.path(), &conf, 30_000);
    assert_eq!(want.len(), 60_000);
    // The same source in STREAMING mode (it never ends by itself), 1 s checkpoints, 2 readers
    // × 30,000 rows at 20,000 rows/s each: about 1.5 s of data, then the source idles.
    let out = dir.path().join("streamed");
    let job = file_job(dir.path(), &out, 30_000, 20_000, "")
        .to_string_lossy()
        .into_owned();
    let text = std::fs::read_to_string(&job).unwrap().replace(
        "checkpoint.interval = 200",
        "checkpoint.interval = 1000
  job.mode = STREAMING",
    );
    let job = std::path::PathBuf::from(format!("{job}.stream"));
    std::fs::write(&job, text).unwrap();
    let (child, stderr) = spawn(&conf, &job, &[]);
    std::thread::sleep(Duration::from_millis(700));
    let (code, first, err) = interrupt(child, stderr);
    assert_eq!(code, 130, "{err}");
    assert!(
        err.contains("stopped at a savepoint; resume it with: st run --resume "),
        "{err}"
    );
    let job_id = resume_id(&err);
    let read_before = total_read(&first);
    assert!(
        read_before > 0 && read_before < 60_000,
        "first run read {read_before}"
    );
    // What the savepoint committed is in the files already.
    assert_eq!(ids_in(&out).len() as u64, read_before);

    let (child, stderr) = spawn(&conf, &job, &["--resume", &job_id]);
    // Long enough to read the rest at the limited rate.
    std::thread::sleep(Duration::from_millis(3500));
    let (code, second, err) = interrupt(child, stderr);
    assert_eq!(code, 130, "{err}");
    let read_after = total_read(&second);
    assert_eq!(
        read_before + read_after,
        60_000,
        "first {read_before} + resumed {read_after}"
    );
    same_ids(&ids_in(&out), &want, "no gap and no duplicate");
}

/// Every id in the csv files of `dir` (first column), sorted.
fn ids_in(dir: &Path) -> Vec<i64> {
    let mut ids = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "csv") {
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                let id = line.split(',').next().unwrap();
                ids.push(
                    id.parse::<i64>()
                        .unwrap_or_else(|_| panic!("{}: `{line}`", p.display())),
                );
            }
        }
    }
    ids.sort_unstable();
    ids
}

/// Asserts two sorted id lists are equal, naming the first ids missing or written twice
/// (rather than printing a million of them).
fn same_ids(got: &[i64], want: &[i64], what: &str) {
    if got == want {
        return;
    }
    let count = |ids: &[i64]| {
        let mut m = std::collections::BTreeMap::<i64, usize>::new();
        for &i in ids {
            *m.entry(i).or_default() += 1;
        }
        m
    };
    let (g, w) = (count(got), count(want));
    let missing: Vec<_> = w
        .iter()
        .filter(|(i, n)| g.get(i).copied().unwrap_or(0) < **n)
        .map(|(i, _)| *i)
        .collect();
    let extra: Vec<_> = g
        .iter()
        .filter(|(i, n)| w.get(i).copied().unwrap_or(0) < **n)
        .map(|(i, _)| *i)
        .collect();
    panic!(
        "{what}: {} ids written, {} expected; {} missing (first {:?}), {} too often (first {:?})",
        got.len(),
        want.len(),
        missing.len(),
        &missing[..missing.len().min(10)],
        extra.len(),
        &extra[..extra.len().min(10)]
    );
}

/// The ids a failure-free BATCH run of `file_job(rows)` writes: what every other run of it must
/// leave in its files.
fn reference_ids(dir: &Path, conf: &Path, rows: u64) -> Vec<i64> {
    let reference = dir.join("reference");
    let job = file_job(dir, &reference, rows, 0, "");
    let out = run(conf, &job, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    ids_in(&reference)
}

/// The job id in `st run`'s "resume it with: st run --resume ID ..." line.
fn resume_id(stderr: &str) -> String {
    stderr
        .split("st run --resume ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id to resume in:\n{stderr}"))
        .to_string()
}

/// FakeSource (deterministic) → optional transform → LocalFile csv under `out`.
fn file_job(dir: &Path, out: &Path, rows: u64, rate: u64, transform: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(out).unwrap();
    let job = dir.join(format!("file-{rows}-{}.conf", transform.len()));
    std::fs::write(
        &job,
        format!(
            r#"env {{
  parallelism = 2
  checkpoint.interval = 200
  job.retry.interval.seconds = 0
  read_limit.rows_per_second = {rate}
}}
source {{ FakeSource {{ row.num = {rows}, split.num = 5, schema = {{ fields {{ id = bigint, name = string, score = double }} }} }} }}
transform {{ {transform} }}
sink {{
  LocalFile {{
    path = "{o}"
    file_format_type = csv
    sandbox {{ dirs = [ {{ path = "{o}", mode = rw }} ] }}
  }}
}}
"#,
            o = out.display()
        ),
    )
    .unwrap();
    job
}

#[test]
fn a_failure_mid_stream_leaves_every_id_in_the_files_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    // The reference: the same deterministic rows without a failure.
    let want = reference_ids(dir.path(), &conf, 500_000);
    assert_eq!(want.len(), 1_000_000);

    let marker = dir.path().join("markers");
    std::fs::create_dir_all(&marker).unwrap();
    let failing = dir.path().join("failing");
    let fault = format!(
        "\"${{TEST_PLUGINS}}/st_test_fault_transform.wasm\" {{ fail_at_row = 300000, marker_dir = \"{m}\", sandbox {{ dirs = [ {{ path = \"{m}\", mode = rw }} ] }} }}",
        m = marker.display()
    );
    let job = file_job(dir.path(), &failing, 500_000, 400_000, &fault);
    let out = run(&conf, &job, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("restarting from checkpoint"), "{stderr}");
    assert!(stdout.contains("Batches Read Ahead"), "{stdout}");
    same_ids(&ids_in(&failing), &want, "every id exactly once");
    assert!(
        !failing.join(".strait-tmp").exists(),
        "temporary files are cleaned up"
    );
}

/// A small xorshift, seeded from the clock: the kill moments differ from run to run (the seed
/// is printed so a failure can be replayed).
fn moments(n: usize) -> (u64, Vec<u64>) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut x = seed;
    let v = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            200 + x % 1200
        })
        .collect();
    (seed, v)
}

#[test]
fn a_savepoint_resumes_at_a_lower_parallelism_without_losing_a_split() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    let want = reference_ids(dir.path(), &conf, 100_000);

    // Two readers at 50,000 rows/s each: a savepoint about a third of the way in.
    let out = dir.path().join("lowered");
    let job = file_job(dir.path(), &out, 100_000, 50_000, "");
    let (child, stderr) = spawn(&conf, &job, &[]);
    std::thread::sleep(Duration::from_millis(700));
    let (code, _, err) = interrupt(child, stderr);
    assert_eq!(code, 130, "{err}");
    let id = resume_id(&err);
    // The same job with one reader: the other's splits must go on being read.
    let one = dir.path().join("one-reader.conf");
    let two = std::fs::read_to_string(&job).unwrap();
    assert!(two.contains("parallelism = 2"));
    std::fs::write(&one, two.replace("parallelism = 2", "parallelism = 1")).unwrap();
    let resumed = run(&conf, &one, &["--resume", &id]);
    let (_, stderr) = text(&resumed);
    assert!(resumed.status.success(), "{stderr}");
    same_ids(&ids_in(&out), &want, "resumed at parallelism 1");
}

#[test]
fn resuming_a_finished_job_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    let out_dir = dir.path().join("out");
    let job = file_job(dir.path(), &out_dir, 1_000, 0, "");
    let out = run(&conf, &job, &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let id = stderr.split_whitespace().nth(1).unwrap().to_string();
    let before = ids_in(&out_dir);
    assert_eq!(before.len(), 2_000);

    let out = run(&conf, &job, &["--resume", &id]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("job {id} already finished at "))
            && stderr.contains("nothing to resume"),
        "{stderr}"
    );
    assert!(!stdout.contains("Job Statistic Information"), "{stdout}");
    assert_eq!(ids_in(&out_dir), before, "nothing written twice");
}

#[test]
fn kill_9_five_times_then_resume_commits_every_id_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    let want = reference_ids(dir.path(), &conf, 200_000);

    let out_dir = dir.path().join("killed");
    // About 2 s of data at 100,000 rows/s per reader.
    let job = file_job(dir.path(), &out_dir, 200_000, 100_000, "");
    let (seed, kills) = moments(5);
    let mut job_id: Option<String> = None;
    for (round, wait) in kills.iter().enumerate() {
        let extra: Vec<&str> = match &job_id {
            Some(id) => vec!["--resume", id],
            None => vec![],
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_st"))
            .arg("--st-config")
            .arg(&conf)
            .arg("run")
            .arg(&job)
            .args(&extra)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        if job_id.is_none() {
            job_id = line.split_whitespace().nth(1).map(str::to_string);
        }
        std::thread::sleep(Duration::from_millis(*wait));
        let ended = child.try_wait().ok().flatten();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        match ended {
            Some(status) => eprintln!("round {round}: ended by itself ({status}) (seed {seed})"),
            None => eprintln!("round {round}: killed after {wait} ms (seed {seed})"),
        }
    }
    let id = job_id.expect("the job printed its id");
    let out = run(&conf, &job, &["--resume", &id]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "seed {seed}: {stderr}");
    same_ids(
        &ids_in(&out_dir),
        &want,
        &format!("seed {seed}: every id exactly once"),
    );
}

#[test]
fn a_checkpoint_that_times_out_is_a_clear_error_and_a_restore() {
    let dir = tempfile::tempdir().unwrap();
    let conf = engine_config(dir.path());
    let job = dir.path().join("slow.conf");
    // Every poll takes 1.5 s; a barrier waits for it, past the 300 ms checkpoint timeout.
    std::fs::write(
        &job,
        "env {\n  checkpoint.interval = 100\n  checkpoint.timeout = 300\n  job.retry.times = 1\n  job.retry.interval.seconds = 0\n}\nsource { \"${TEST_PLUGINS}/st_test_hostile.wasm\" { attack = slow, sleep_ms = 1500, rows = 100000 } }\nsink { Blackhole {} }\n",
    )
    .unwrap();
    let out = run(&conf, &job, &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("timed out after 300 ms waiting for subtask/0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("restarting from the start (retry 1 of 1)"),
        "{stderr}"
    );
}

#[test]
fn failures_in_snapshot_prepare_and_commit_restore_and_commit_every_row_once() {
    for stage in ["snapshot", "prepare", "commit"] {
        let dir = tempfile::tempdir().unwrap();
        let conf = engine_config(dir.path());
        let marker = dir.path().join("markers");
        std::fs::create_dir_all(&marker).unwrap();
        let job = dir.path().join("job.conf");
        std::fs::write(
            &job,
            format!(
                r#"env {{
  parallelism = 2
  checkpoint.interval = 150
  job.retry.interval.seconds = 0
  read_limit.rows_per_second = 200000
}}
source {{ FakeSource {{ row.num = 150000, split.num = 3, schema = {{ fields {{ id = bigint }} }} }} }}
sink {{
  "${{TEST_PLUGINS}}/st_test_fault_sink.wasm" {{
    fail_in = {stage}
    after_rows = 40000
    expect_rows = 300000
    marker_dir = "{m}"
    sandbox {{ dirs = [ {{ path = "{m}", mode = rw }} ] }}
  }}
}}
"#,
                m = marker.display()
            ),
        )
        .unwrap();
        let out = run(&conf, &job, &[]);
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{stage}: {stderr}");
        assert!(
            stderr.contains(&format!("injected failure in {stage}")),
            "{stage}: {stderr}"
        );
        assert!(stderr.contains("restarting from"), "{stage}: {stderr}");
    }
}

/// `s3s-fs`, a real S3 server on a directory: `$ST_S3S_FS`, else on the PATH. `.ci/run`
/// installs it; elsewhere the S3 test says how to get it and passes only outside CI.
fn s3s_fs() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("ST_S3S_FS") {
        return Some(p.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("s3s-fs"))
            .find(|p| p.is_file())
    })
}

struct S3Server {
    child: Child,
    port: u16,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3(bin: &Path, root_dir: &Path) -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "strait", "--secret-key", "strait-secret"])
        .arg(root_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    S3Server { child, port }
}

#[test]
fn checkpoints_on_a_real_s3_server_survive_a_savepoint_and_resume() {
    let Some(bin) = s3s_fs() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide s3s-fs (ST_S3S_FS or PATH)"
        );
        eprintln!(
            "skipped: s3s-fs not found (cargo install s3s-fs@0.14.1 --features binary --locked)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("s3");
    std::fs::create_dir_all(data.join("checkpoints")).unwrap();
    let server = start_s3(&bin, &data);
    let conf = dir.path().join("st.yaml");
    std::fs::write(
        &conf,
        format!(
            "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: hdfs\n        max-retained: 2\n        plugin-config:\n          storage.type: s3\n          s3.bucket: s3a://checkpoints\n          fs.s3a.endpoint: http://127.0.0.1:{}\n          fs.s3a.access.key: strait\n          fs.s3a.secret.key: strait-secret\n",
            server.port
        ),
    )
    .unwrap();
    let job = dir.path().join("stream.conf");
    std::fs::write(
        &job,
        "env {\n  job.mode = STREAMING\n  parallelism = 2\n  checkpoint.interval = 300\n  read_limit.rows_per_second = 20000\n}\nsource { FakeSource { row.num = 20000, split.num = 2, schema = { fields { id = bigint } } } }\nsink { Blackhole {} }\n",
    )
    .unwrap();
    let (child, stderr) = spawn(&conf, &job, &[]);
    std::thread::sleep(Duration::from_millis(600));
    let (code, first, err) = interrupt(child, stderr);
    assert_eq!(code, 130, "{err}");
    let job_id = resume_id(&err);
    // The savepoint is in the bucket, under namespace/cluster/job/pipeline/checkpoint.
    let pipeline = data.join(format!("checkpoints/strait/checkpoints/local/{job_id}/0"));
    let kept: Vec<_> = std::fs::read_dir(&pipeline)
        .unwrap_or_else(|e| panic!("{}: {e}", pipeline.display()))
        .flatten()
        .filter(|e| e.path().join("manifest.json").is_file())
        .collect();
    assert!(
        !kept.is_empty() && kept.len() <= 2,
        "{} checkpoints kept",
        kept.len()
    );
    let (child, stderr) = spawn(&conf, &job, &["--resume", &job_id]);
    std::thread::sleep(Duration::from_millis(2500));
    let (code, second, err) = interrupt(child, stderr);
    assert_eq!(code, 130, "{err}");
    assert_eq!(total_read(&first) + total_read(&second), 40_000);
    drop(server);
}
