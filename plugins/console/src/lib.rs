//! Console: prints every row to standard output, as SeaTunnel's Console sink does
//! (`log.print.data`, `log.print.delay.ms`).

use std::io::Write as _;

use serde_json::{Value as Json, json};
use st_sdk::{
    Batch, DataType, Describe, NoCommit, OptionSpecs, OptionType, Options, Result, Sink,
    SinkWriter, TableSchema, TaskContext,
};

pub struct Console;

impl Describe for Console {
    const NAME: &'static str = "Console";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "log.print.data",
                OptionType::Boolean,
                json!(true),
                "Print each row; false prints nothing but still counts rows.",
            )
            .optional(
                "log.print.delay.ms",
                OptionType::Integer,
                json!(0),
                "Milliseconds to wait after printing each row.",
            )
            .optional(
                "multi_table_sink_replica",
                OptionType::Integer,
                Json::Null,
                "Accepted for compatibility; has no effect.",
            )
    }
}

pub struct Writer {
    subtask: u32,
    tables: Vec<(String, Vec<DataType>)>,
    print: bool,
    delay_ms: u64,
    row_index: u64,
}

impl SinkWriter for Writer {
    fn write(&mut self, batch: Batch) -> Result<()> {
        if !self.print {
            self.row_index += batch.num_rows as u64;
            return Ok(());
        }
        let Some((table, types)) = self.tables.get(batch.table as usize) else {
            return Err(st_sdk::Error::fatal(format!(
                "batch for unknown table {}",
                batch.table
            )));
        };
        let mut out = String::new();
        let stdout = std::io::stdout();
        for i in 0..batch.num_rows {
            self.row_index += 1;
            let row = batch.row(i, types);
            out.clear();
            out.push_str(&format!(
                "subtaskIndex={} rowIndex={}:  SeaTunnelRow#tableId={} SeaTunnelRow#kind={} : ",
                self.subtask,
                self.row_index,
                table,
                batch.row_kind(i).name()
            ));
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    out.push_str(", ");
                }
                out.push_str(&v.to_string());
            }
            out.push('\n');
            let mut lock = stdout.lock();
            let _ = lock.write_all(out.as_bytes());
            let _ = lock.flush();
            if self.delay_ms > 0 {
                std::thread::sleep(std::time::Duration::from_millis(self.delay_ms));
            }
        }
        Ok(())
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

impl Sink for Console {
    type Writer = Writer;
    type Committer = NoCommit;

    fn writer(
        options: &Options,
        ctx: &TaskContext,
        tables: Vec<TableSchema>,
        _restored: Vec<Vec<u8>>,
    ) -> Result<Writer> {
        Ok(Writer {
            subtask: ctx.subtask,
            tables: tables
                .into_iter()
                .map(|t| {
                    let types = t.row_type();
                    (t.table_path, types)
                })
                .collect(),
            print: options.bool("log.print.data")?.unwrap_or(true),
            delay_ms: options.i64("log.print.delay.ms")?.unwrap_or(0).max(0) as u64,
            row_index: 0,
        })
    }

    fn committer(_: &Options, _: &TaskContext, _: Vec<TableSchema>) -> Result<NoCommit> {
        Ok(NoCommit)
    }
}

st_sdk::export_sink!(Console);
