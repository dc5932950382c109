//! A test source that attacks its sandbox, where the option `attack` says:
//! - `busy-loop`: spins forever inside `poll-next`;
//! - `memory-bomb`: allocates until the allocator gives up;
//! - `read-file`: reads `target` (default `/etc/passwd`) from the host's filesystem;
//! - `write-file`: writes a file named by `target`;
//! - `connect`: opens a TCP connection to `target` (`host:port`);
//! - `env`: reads the environment variable `target`;
//! - `bad-batch`: returns a batch whose column does not match the declared schema;
//! - `leak`: leaks `leak_mb` MiB per batch but otherwise reads `rows` rows correctly, keeping
//!   its position in its split so a fresh instance can carry on from a snapshot;
//! - `slow`: reads like `none`, sleeping `sleep_ms` inside every poll (a checkpoint barrier
//!   waits for the poll to end);
//! - `none`: reads `rows` rows of (id bigint).
//!
//! An attack that succeeds returns an error saying so; one that is refused returns the error the
//! sandbox gave it.

use std::hint::black_box;

use serde_json::json;
use st_sdk::{
    Batch, Column, ColumnData, ColumnDef, DataType, Describe, Enumeration, Error, OptionSpecs,
    OptionType, Options, Poll, Result, Source, SourceInfo, Split, SplitEnumerator, SplitReader,
    TableSchema, TaskContext,
};

pub struct Hostile;

impl Describe for Hostile {
    const NAME: &'static str = "HostileSource";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "attack",
                OptionType::String,
                json!("none"),
                "busy-loop, memory-bomb, read-file, write-file, connect, env, bad-batch, leak or none.",
            )
            .optional("target", OptionType::String, json!(""), "What the attack aims at.")
            .optional("rows", OptionType::Integer, json!(10), "Rows per reader.")
            .optional("leak_mb", OptionType::Integer, json!(1), "MiB leaked per batch by `leak`.")
            .optional("batch_rows", OptionType::Integer, json!(1000), "Rows per batch.")
            .optional("sleep_ms", OptionType::Integer, json!(0), "Milliseconds `slow` sleeps per poll.")
    }
}

fn schema() -> TableSchema {
    TableSchema::new("test.hostile", vec![ColumnDef::new("id", DataType::BigInt)])
}

impl Source for Hostile {
    type Enumerator = Enum;
    type Reader = Reader;

    fn open(_: &Options, ctx: &TaskContext) -> Result<SourceInfo> {
        Ok(SourceInfo {
            tables: vec![schema()],
            bounded: ctx.bounded,
        })
    }

    fn enumerator(_: &Options, ctx: &TaskContext, state: Option<Vec<u8>>) -> Result<Enum> {
        Ok(Enum {
            readers: ctx.parallelism,
            // Restored after the splits were handed out: their readers' states hold them.
            done: state.is_some_and(|s| s == [1]),
        })
    }

    fn reader(options: &Options, _: &TaskContext, restored: Vec<Split>) -> Result<Reader> {
        let mut r = Reader {
            attack: options.string("attack")?.unwrap_or_default(),
            target: options.string("target")?.unwrap_or_default(),
            rows: options.i64("rows")?.unwrap_or(10).max(0) as u64,
            leak_mb: options.i64("leak_mb")?.unwrap_or(1).max(0) as usize,
            batch_rows: options.i64("batch_rows")?.unwrap_or(1000).max(1) as u64,
            sleep_ms: options.i64("sleep_ms")?.unwrap_or(0).max(0) as u64,
            position: None,
            no_more: false,
        };
        r.add_splits(restored)?;
        Ok(r)
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
                .map(|r| (r, position_split(r, 0)))
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
        Ok(vec![u8::from(self.done)])
    }
}

fn position_split(reader: u32, position: u64) -> Split {
    Split {
        id: format!("s{reader}"),
        data: position.to_le_bytes().to_vec(),
    }
}

pub struct Reader {
    attack: String,
    target: String,
    rows: u64,
    leak_mb: usize,
    batch_rows: u64,
    sleep_ms: u64,
    /// (split id, rows already read) of the one split.
    position: Option<(String, u64)>,
    no_more: bool,
}

impl Reader {
    fn attack(&self) -> Result<()> {
        match self.attack.as_str() {
            "busy-loop" => {
                let mut x: u64 = 0;
                loop {
                    x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 8 << 20]);
                    black_box(&hoard);
                }
            }
            "read-file" => {
                let path = if self.target.is_empty() {
                    "/etc/passwd"
                } else {
                    &self.target
                };
                match std::fs::read(path) {
                    Ok(b) => Err(Error::fatal(format!("read {} bytes of {path}", b.len()))),
                    Err(e) => Err(st_sdk::fs::io_error("read", path, false, &e)),
                }
            }
            "write-file" => match std::fs::write(&self.target, b"written by a plugin") {
                Ok(()) => Err(Error::fatal(format!("wrote {}", self.target))),
                Err(e) => Err(st_sdk::fs::io_error("write", &self.target, true, &e)),
            },
            "connect" => match std::net::TcpStream::connect(&self.target) {
                Ok(_) => Err(Error::fatal(format!(
                    "escaped: connected to {}",
                    self.target
                ))),
                Err(e) => Err(Error::fatal(format!(
                    "cannot connect to {}: {e}",
                    self.target
                ))),
            },
            "env" => match std::env::var(&self.target) {
                Ok(v) => Err(Error::fatal(format!("{} = {v}", self.target))),
                Err(e) => Err(Error::fatal(format!("no {}: {e}", self.target))),
            },
            _ => Ok(()),
        }
    }
}

impl SplitReader for Reader {
    fn add_splits(&mut self, splits: Vec<Split>) -> Result<()> {
        for s in splits {
            let bytes: [u8; 8] = s
                .data
                .as_slice()
                .try_into()
                .map_err(|_| Error::fatal("bad split"))?;
            self.position = Some((s.id, u64::from_le_bytes(bytes)));
        }
        Ok(())
    }
    fn no_more_splits(&mut self) {
        self.no_more = true;
    }
    fn poll_next(&mut self, _max_rows: u32) -> Result<Poll> {
        self.attack()?;
        if self.attack == "slow" {
            std::thread::sleep(std::time::Duration::from_millis(self.sleep_ms));
        }
        let Some((_, pos)) = &mut self.position else {
            return Ok(if self.no_more {
                Poll::Finished(None)
            } else {
                Poll::Idle
            });
        };
        if *pos >= self.rows {
            return Ok(if self.no_more {
                Poll::Finished(None)
            } else {
                Poll::Idle
            });
        }
        let n = (self.rows - *pos).min(self.batch_rows);
        let start = *pos;
        *pos += n;
        if self.attack == "leak" {
            let leaked: &'static mut [u8] = Vec::leak(vec![7u8; self.leak_mb << 20]);
            black_box(leaked);
        }
        let columns = if self.attack == "bad-batch" {
            // Declared bigint, sent as strings.
            let mut text = st_sdk::VarWidth::with_capacity(n as usize, 8 * n as usize);
            for i in start..start + n {
                text.push(i.to_string().as_bytes());
            }
            vec![Column::new(ColumnData::Utf8(text))]
        } else {
            vec![Column::new(ColumnData::Int64(
                (start..start + n).map(|i| i as i64).collect(),
            ))]
        };
        Ok(Poll::Batch(Batch {
            table: 0,
            num_rows: n as usize,
            row_kinds: None,
            columns,
        }))
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Split>> {
        Ok(self
            .position
            .iter()
            .map(|(id, pos)| Split {
                id: id.clone(),
                data: pos.to_le_bytes().to_vec(),
            })
            .collect())
    }
}

st_sdk::export_source!(Hostile);
