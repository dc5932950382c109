//! `st run` shows a running job's progress: SeaTunnel's progress block every
//! `print-execution-info-interval` seconds when its output is a pipe, one line kept up to date
//! on a terminal. `--set-job-id` names the job.

use std::process::Command;

use crate::{root, text};

/// A job of about three seconds: 3,000 rows at 1,000 rows/s.
fn slow_job(dir: &std::path::Path) -> std::path::PathBuf {
    let job = dir.join("slow.conf");
    std::fs::write(
        &job,
        "env { read_limit.rows_per_second = 1000 }\nsource { FakeSource { row.num = 3000, split.num = 30, schema = { fields { id = bigint } } } }\nsink { Blackhole {} }\n",
    )
    .unwrap();
    job
}

fn st_yaml(dir: &std::path::Path) -> std::path::PathBuf {
    let conf = dir.join("st.yaml");
    std::fs::write(
        &conf,
        format!(
            "seatunnel:\n  engine:\n    print-execution-info-interval: 1\n    checkpoint:\n      storage:\n        type: localfile\n        plugin-config:\n          namespace: {}\n",
            dir.join("checkpoints").display()
        ),
    )
    .unwrap();
    conf
}

#[test]
fn a_pipe_gets_seatunnels_progress_block_every_interval() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_st"))
        .arg("--st-config")
        .arg(st_yaml(dir.path()))
        .args(["run", "--set-job-id", "7340000000000000001"])
        .arg(slow_job(dir.path()))
        .current_dir(root())
        .output()
        .expect("run st");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Job 7340000000000000001 ("), "{stderr}");
    let blocks: Vec<&str> = stderr.split("Job Progress Information").skip(1).collect();
    assert!(
        blocks.len() >= 2,
        "one block a second in a 3 s job:\n{stderr}"
    );
    let read = |block: &str| -> u64 {
        let line = block
            .lines()
            .find(|l| l.starts_with("Read Count So Far"))
            .unwrap_or_else(|| panic!("no read count in {block}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(blocks[0].contains(": 7340000000000000001"), "{}", blocks[0]);
    let counts: Vec<u64> = blocks.iter().map(|b| read(b)).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert!(
        counts.iter().any(|&c| c > 0 && c < 3000),
        "counts move: {counts:?}"
    );
    assert!(
        stdout.contains("Total Read Count          : 3000"),
        "{stdout}"
    );
}

#[test]
fn a_terminal_gets_one_live_progress_line() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} --st-config {} run {}",
        env!("CARGO_BIN_EXE_st"),
        st_yaml(dir.path()).display(),
        slow_job(dir.path()).display()
    );
    // `script` runs the command on a pseudo-terminal and copies what it shows.
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(root())
        .output()
        .expect("run script");
    let (shown, stderr) = text(&out);
    assert!(out.status.success(), "{shown}{stderr}");
    assert!(
        shown.contains(" written, ") && shown.contains(" rows/s, "),
        "{shown}"
    );
    assert!(!shown.contains("Job Progress Information"), "{shown}");
    assert!(
        shown.contains("Total Read Count          : 3000"),
        "{shown}"
    );
}

#[test]
fn a_job_id_that_is_not_a_positive_number_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_st"))
        .args(["run", "--set-job-id", "abc"])
        .arg(slow_job(dir.path()))
        .output()
        .expect("run st");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`abc` is not a job id"), "{stderr}");
}
