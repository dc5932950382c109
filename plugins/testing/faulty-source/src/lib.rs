//! A test source that fails on purpose, where the option `fail_in` says: `open` (an invalid
//! option), `reader` (a fatal error creating the reader), `poll` (a fatal error after
//! `fail_after` rows), `poll_retriable` (the same, as a retriable error), `panic` (a guest
//! panic: a trap), `enumerate` (the enumerator breaks the contract: it assigns a split to a
//! reader that does not exist) or `none`. It produces `rows` rows of (id bigint) per reader.

use serde_json::{Value as Json, json};
use st_sdk::{
    Batch, Column, ColumnData, ColumnDef, DataType, Describe, Enumeration, Error, OptionSpecs,
    OptionType, Options, Poll, Result, Source, SourceInfo, Split, SplitEnumerator, SplitReader,
    TableSchema, TaskContext,
};

pub struct Faulty;

impl Describe for Faulty {
    const NAME: &'static str = "FaultySource";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "fail_in",
                OptionType::String,
                json!("none"),
                "Where to fail: none, open, reader, poll, poll_retriable, panic, enumerate.",
            )
            .optional("rows", OptionType::Integer, json!(10), "Rows per reader.")
            .optional(
                "fail_after",
                OptionType::Integer,
                json!(0),
                "Rows to emit before failing in poll.",
            )
            .optional(
                "message",
                OptionType::String,
                Json::Null,
                "The error message to return.",
            )
    }
}

fn schema() -> TableSchema {
    TableSchema::new("test.faulty", vec![ColumnDef::new("id", DataType::BigInt)])
}

fn mode(o: &Options) -> Result<String> {
    Ok(o.string("fail_in")?.unwrap_or_default())
}

impl Source for Faulty {
    type Enumerator = Enum;
    type Reader = Reader;

    fn open(options: &Options, ctx: &TaskContext) -> Result<SourceInfo> {
        if mode(options)? == "open" {
            let msg = options
                .string("message")?
                .unwrap_or_else(|| "this source refuses to open".into());
            return Err(Error::invalid_option("fail_in", msg));
        }
        Ok(SourceInfo {
            tables: vec![schema()],
            bounded: ctx.bounded,
        })
    }

    fn enumerator(options: &Options, ctx: &TaskContext, _: Option<Vec<u8>>) -> Result<Enum> {
        Ok(Enum {
            // One reader too many: the last split goes to a reader that does not exist.
            readers: ctx.parallelism + u32::from(mode(options)? == "enumerate"),
            done: false,
        })
    }

    fn reader(options: &Options, _: &TaskContext, _: Vec<Split>) -> Result<Reader> {
        let mode = mode(options)?;
        if mode == "reader" {
            return Err(Error::fatal("cannot connect to the fake database"));
        }
        Ok(Reader {
            mode,
            rows: options.i64("rows")?.unwrap_or(10).max(0) as u64,
            fail_after: options.i64("fail_after")?.unwrap_or(0).max(0) as u64,
            emitted: 0,
            has_split: false,
            no_more: false,
        })
    }
}

pub struct Enum {
    readers: u32,
    done: bool,
}

impl SplitEnumerator for Enum {
    fn enumerate(&mut self) -> Result<Enumeration> {
        let assignments = if self.done {
            Vec::new()
        } else {
            (0..self.readers)
                .map(|r| {
                    (
                        r,
                        Split {
                            id: format!("s{r}"),
                            data: Vec::new(),
                        },
                    )
                })
                .collect()
        };
        self.done = true;
        Ok(Enumeration {
            assignments,
            no_more_splits: true,
        })
    }
    fn add_splits_back(&mut self, _: u32, _: Vec<Split>) -> Result<()> {
        Ok(())
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

pub struct Reader {
    mode: String,
    rows: u64,
    fail_after: u64,
    emitted: u64,
    has_split: bool,
    no_more: bool,
}

impl SplitReader for Reader {
    fn add_splits(&mut self, splits: Vec<Split>) -> Result<()> {
        self.has_split |= !splits.is_empty();
        Ok(())
    }
    fn no_more_splits(&mut self) {
        self.no_more = true;
    }
    fn poll_next(&mut self, max_rows: u32) -> Result<Poll> {
        let failing = matches!(self.mode.as_str(), "poll" | "poll_retriable" | "panic");
        if failing && self.emitted >= self.fail_after {
            let message = format!("read failed after {} rows", self.emitted);
            return Err(match self.mode.as_str() {
                "panic" => panic!(
                    "the faulty source panicked on purpose after {} rows",
                    self.emitted
                ),
                "poll_retriable" => Error::retriable(message),
                _ => Error::fatal(message),
            });
        }
        if !self.has_split || self.emitted >= self.rows {
            return Ok(if self.no_more {
                Poll::Finished(None)
            } else {
                Poll::Idle
            });
        }
        let mut n = (self.rows - self.emitted).min(u64::from(max_rows));
        if failing {
            n = n.min(self.fail_after - self.emitted);
        }
        let ids: Vec<i64> = (self.emitted..self.emitted + n).map(|i| i as i64).collect();
        self.emitted += n;
        Ok(Poll::Batch(Batch {
            table: 0,
            num_rows: n as usize,
            row_kinds: None,
            columns: vec![Column::new(ColumnData::Int64(ids))],
        }))
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Split>> {
        Ok(Vec::new())
    }
}

st_sdk::export_source!(Faulty);
