//! A test transform that passes batches through and fails once on purpose, for failover tests:
//! after `fail_at_row` rows in subtask `subtask` (default 0), it crashes (`mode = panic`) or
//! returns a retriable error (`mode = error`). "Once" is remembered by a marker file in
//! `marker_dir`, which the job must grant read-write: the restarted attempt finds the marker
//! and carries on.

use serde_json::json;
use st_sdk::{
    Batch, Describe, Error, OptionSpecs, OptionType, Options, Result, TableSchema, TaskContext,
    Transform,
};

pub struct FaultTransform {
    tables: Vec<TableSchema>,
    fail_at_row: u64,
    seen: u64,
    panic: bool,
    marker: Option<String>,
}

impl Describe for FaultTransform {
    const NAME: &'static str = "FaultTransform";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required(
                "fail_at_row",
                OptionType::Integer,
                "Rows to pass before failing.",
            )
            .required(
                "marker_dir",
                OptionType::String,
                "A granted directory that remembers the failure.",
            )
            .optional(
                "mode",
                OptionType::String,
                json!("panic"),
                "panic or error (retriable).",
            )
            .optional(
                "subtask",
                OptionType::Integer,
                json!(0),
                "The subtask that fails.",
            )
    }
}

impl Transform for FaultTransform {
    fn create(options: &Options, ctx: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let dir: String = options.require("marker_dir")?;
        let which = options.i64("subtask")?.unwrap_or(0);
        let marker = format!(
            "{dir}/failed-once-{}",
            ctx.plugin_path.replace(['[', ']', '(', ')'], "_")
        );
        let armed = i64::from(ctx.subtask) == which && !std::path::Path::new(&marker).exists();
        Ok(FaultTransform {
            tables: inputs,
            fail_at_row: options.i64("fail_at_row")?.unwrap_or(0).max(0) as u64,
            seen: 0,
            panic: options.string("mode")?.as_deref() != Some("error"),
            marker: armed.then_some(marker),
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.clone()
    }

    fn map(&mut self, input: Batch) -> Result<Vec<Batch>> {
        self.seen += input.num_rows as u64;
        if let Some(marker) = &self.marker
            && self.seen >= self.fail_at_row
        {
            std::fs::write(marker, b"failed once")
                .map_err(|e| Error::fatal(format!("cannot write the marker {marker}: {e}")))?;
            self.marker = None;
            if self.panic {
                panic!("injected crash after {} rows", self.seen);
            }
            return Err(Error::retriable(format!(
                "injected failure after {} rows",
                self.seen
            )));
        }
        Ok(vec![input])
    }
}

st_sdk::export_transform!(FaultTransform);
