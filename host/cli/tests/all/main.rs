//! End-to-end tests of the `st` binary with the real wasm plugins: the data-driven cases of
//! `tests/cases/` plus the tests that need more than a config and expected text.

mod cache;
mod cases;
mod checkpoint;
mod cli;
mod localfile;

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

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
