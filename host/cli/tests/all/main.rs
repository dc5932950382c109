//! End-to-end tests of the `st` binary with the real wasm plugins: the data-driven cases of
//! `tests/cases/` plus the tests that need more than a config and expected text.

mod cache;
mod cases;
mod checkpoint;
mod cli;
mod localfile;
mod progress;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Runs `st` with arguments; the test plugins' directory is passed as `${TEST_PLUGINS}`.
pub fn st(args: &[&str]) -> Output {
    let plugins = st_builtin::TEST_PLUGIN_DIR;
    Command::new(env!("CARGO_BIN_EXE_st"))
        .args(args)
        .arg("-i")
        .arg(format!("TEST_PLUGINS={plugins}"))
        .current_dir(root())
        .output()
        .expect("run st")
}

/// Like `st`, without the extra variable (for commands that take no job).
pub fn st_plain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_st"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run st")
}

/// Sends SIGINT to a running `st`.
pub fn sigint(child: &std::process::Child) {
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
}

/// Waits (at most 30 s) for a process to exit.
pub fn wait_for_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "st did not stop after SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
