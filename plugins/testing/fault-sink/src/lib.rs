//! A test sink for failover tests: it counts rows through two-phase commit (keyed, idempotent
//! commits, like Assert) and fails once on purpose where `fail_in` says: `snapshot`,
//! `prepare` (prepare-commit) or `commit`, after `after_rows` rows. "Once" is remembered by a
//! marker file in the granted `marker_dir`. `commit_fatal` makes every commit fail with a fatal
//! error (no marker: a fatal error is not retried). At the end the committer checks that exactly
//! `expect_rows` rows were committed. With `leak_mb`, each writer leaks that many MiB per batch
//! (`fail_in = none` then tests a writer recycled near its memory cap).

use std::collections::HashSet;

use serde_json::{Value as Json, json};
use st_sdk::{
    Batch, Describe, Error, OptionSpecs, OptionType, Options, Result, Sink, SinkCommitter,
    SinkWriter, TableSchema, TaskContext,
};

pub struct FaultSink;

impl Describe for FaultSink {
    const NAME: &'static str = "FaultSink";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required(
                "fail_in",
                OptionType::String,
                "snapshot, prepare, commit, commit_fatal or none.",
            )
            .optional(
                "marker_dir",
                OptionType::String,
                Json::Null,
                "A granted directory that remembers the failure (required unless fail_in is none).",
            )
            .required(
                "expect_rows",
                OptionType::Integer,
                "Rows that must be committed in all.",
            )
            .optional(
                "after_rows",
                OptionType::Integer,
                json!(1),
                "Rows written before the failure may happen.",
            )
            .optional(
                "leak_mb",
                OptionType::Integer,
                json!(0),
                "MiB each writer leaks per batch it writes.",
            )
    }
}

fn marker(options: &Options) -> Result<String> {
    if matches!(
        options.string("fail_in")?.as_deref(),
        Some("none" | "commit_fatal")
    ) {
        return Ok(String::new());
    }
    let dir: String = options.require("marker_dir")?;
    Ok(format!("{dir}/fault-sink-failed-once"))
}

/// Fails once: true the first time (and leaves the marker), false ever after.
fn first_time(marker: &str) -> Result<bool> {
    if std::path::Path::new(marker).exists() {
        return Ok(false);
    }
    std::fs::write(marker, b"failed once")
        .map_err(|e| Error::fatal(format!("cannot write the marker {marker}: {e}")))?;
    Ok(true)
}

pub struct Writer {
    fail_in: String,
    after_rows: u64,
    marker: String,
    subtask: u32,
    rows: u64,
    total: u64,
    leak_mb: usize,
}

impl Writer {
    fn maybe_fail(&self, stage: &str) -> Result<()> {
        if self.fail_in == stage
            && self.subtask == 0
            && self.total >= self.after_rows
            && first_time(&self.marker)?
        {
            return Err(Error::retriable(format!(
                "injected failure in {stage} after {} rows",
                self.total
            )));
        }
        Ok(())
    }
}

impl SinkWriter for Writer {
    fn write(&mut self, batch: Batch) -> Result<()> {
        self.rows += batch.num_rows as u64;
        self.total += batch.num_rows as u64;
        if self.leak_mb > 0 {
            std::hint::black_box(Vec::leak(vec![7u8; self.leak_mb << 20]));
        }
        Ok(())
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Option<Vec<u8>>> {
        self.maybe_fail("prepare")?;
        let info = json!({ "key": format!("{}/{checkpoint_id}", self.subtask), "rows": self.rows });
        self.rows = 0;
        Ok(Some(info.to_string().into_bytes()))
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        self.maybe_fail("snapshot")?;
        Ok(Vec::new())
    }
}

pub struct Committer {
    fail: bool,
    fatal: bool,
    marker: String,
    expect: u64,
    rows: u64,
    seen: HashSet<String>,
}

impl SinkCommitter for Committer {
    fn commit(&mut self, checkpoint_id: u64, infos: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        if self.fatal {
            return Err(Error::fatal(format!(
                "injected fatal failure committing checkpoint {checkpoint_id}"
            )));
        }
        if self.fail && self.rows > 0 && first_time(&self.marker)? {
            return Err(Error::retriable(format!(
                "injected failure in commit after {} rows",
                self.rows
            )));
        }
        for info in infos {
            let v: serde_json::Value =
                serde_json::from_slice(&info).map_err(|e| Error::fatal(e.to_string()))?;
            let key = v["key"].as_str().unwrap_or_default().to_string();
            if self.seen.insert(key) {
                self.rows += v["rows"].as_u64().unwrap_or(0);
            }
        }
        Ok(Vec::new())
    }

    fn close(&mut self) -> Result<()> {
        if self.rows != self.expect {
            return Err(Error::fatal(format!(
                "committed {} rows, expected {}",
                self.rows, self.expect
            )));
        }
        Ok(())
    }
}

impl Sink for FaultSink {
    type Writer = Writer;
    type Committer = Committer;

    fn writer(
        options: &Options,
        ctx: &TaskContext,
        _: Vec<TableSchema>,
        _: Vec<Vec<u8>>,
    ) -> Result<Writer> {
        Ok(Writer {
            fail_in: options.string("fail_in")?.unwrap_or_default(),
            after_rows: options.i64("after_rows")?.unwrap_or(1).max(0) as u64,
            marker: marker(options)?,
            subtask: ctx.subtask,
            rows: 0,
            total: 0,
            leak_mb: options.i64("leak_mb")?.unwrap_or(0).max(0) as usize,
        })
    }

    fn committer(options: &Options, _: &TaskContext, _: Vec<TableSchema>) -> Result<Committer> {
        Ok(Committer {
            fail: options.string("fail_in")?.as_deref() == Some("commit"),
            fatal: options.string("fail_in")?.as_deref() == Some("commit_fatal"),
            marker: marker(options)?,
            expect: options.i64("expect_rows")?.unwrap_or(0).max(0) as u64,
            rows: 0,
            seen: HashSet::new(),
        })
    }
}

st_sdk::export_sink!(FaultSink);
