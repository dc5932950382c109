//! LocalFile source: rows from text, csv or json (one object per line) files, with SeaTunnel's
//! options. Each file is a split; a split remembers the byte offset read so far, so a restored
//! reader carries on after the last row a checkpoint covered. Files are reached through the
//! job's WASI directory grants only: grant `path` (read-only is enough).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read, Seek as _, SeekFrom};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
mod ranges;
mod records;

use st_sdk::{
    Access, Batch, ColumnBuilder, ColumnDef, DataType, Describe, Enumeration, Error, OptionGrant,
    OptionSpecs, OptionType, Options, Poll, Result, Source, SourceInfo, Split, SplitEnumerator,
    SplitReader, TableSchema, TaskContext, Value,
};

pub struct LocalFile;

impl Describe for LocalFile {
    const NAME: &'static str = "LocalFile";

    fn grants() -> Vec<OptionGrant> {
        vec![OptionGrant::new("path", Access::Read)]
    }

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required("path", OptionType::String, "A file, or a directory whose files are read.")
            .required("file_format_type", OptionType::String, "text, csv or json (one object per line).")
            .optional("schema", OptionType::Object, Json::Null, "The fields (required for json; text and csv without it give one `content` column).")
            .optional("read_columns", OptionType::List, Json::Null, "The fields to keep, in order.")
            .optional("field_delimiter", OptionType::String, Json::Null, "Between fields (text: \\u0001, csv: ,).")
            .optional("delimiter", OptionType::String, Json::Null, "Old name of field_delimiter.")
            .optional("skip_header_row_number", OptionType::Integer, json!(0), "Lines skipped at the start of each file.")
            .optional("file_filter_pattern", OptionType::String, Json::Null, "A regular expression file names must match.")
            .optional("compress_codec", OptionType::String, json!("none"), "none or gzip.")
            .optional("encoding", OptionType::String, json!("UTF-8"), "Only UTF-8.")
            .optional("parse_partition_from_path", OptionType::Boolean, json!(true), "Accepted; partition directories are not parsed.")
            .optional("date_format", OptionType::String, json!("yyyy-MM-dd"), "Accepted; dates are read as yyyy-MM-dd.")
            .optional("datetime_format", OptionType::String, json!("yyyy-MM-dd HH:mm:ss"), "Accepted; timestamps are read as ISO 8601 or yyyy-MM-dd HH:mm:ss.")
            .optional("time_format", OptionType::String, json!("HH:mm:ss"), "Accepted; times are read as HH:mm:ss[.fff].")
    }
}

use st_file_format::Format;

struct Config {
    path: String,
    format: Format,
    delimiter: String,
    skip: u64,
    filter: Option<regex::Regex>,
    /// Files are gzip-compressed (offsets then count uncompressed bytes).
    gzip: bool,
    /// The table as read (all fields), and the fields kept.
    table: TableSchema,
    keep: Vec<usize>,
    /// No schema: each line is one `content` value.
    whole_line: bool,
}

fn config(options: &Options) -> Result<Config> {
    let path: String = options.require("path")?;
    let (format, delimiter, gzip) = st_file_format::read(options, None)?;
    let table = match options.json("schema") {
        Some(s) if !s.is_null() => st_sdk::schema::parse(&s)?,
        _ if format == Format::Json => {
            return Err(Error::invalid_option("schema", "json files need a schema"));
        }
        _ => TableSchema::new(
            "default.default.default",
            vec![ColumnDef::new("content", DataType::String)],
        ),
    };
    let keep = match options.json("read_columns") {
        Some(Json::Array(names)) => names
            .iter()
            .map(|n| {
                let n = n.as_str().unwrap_or_default();
                table.index_of(n).ok_or_else(|| {
                    Error::invalid_option("read_columns", format!("the schema has no field `{n}`"))
                })
            })
            .collect::<Result<_>>()?,
        _ => (0..table.columns.len()).collect(),
    };
    let filter = options
        .string("file_filter_pattern")?
        .map(|p| {
            regex::Regex::new(&p).map_err(|e| {
                Error::invalid_option(
                    "file_filter_pattern",
                    format!("invalid regular expression: {e}"),
                )
            })
        })
        .transpose()?;
    Ok(Config {
        path,
        format,
        delimiter,
        skip: options.i64("skip_header_row_number")?.unwrap_or(0).max(0) as u64,
        filter,
        gzip,
        table,
        keep,
        whole_line: options.json("schema").is_none_or(|s| s.is_null()),
    })
}

/// The files to read, sorted: `path` itself, or the files directly in it.
fn files(c: &Config) -> Result<Vec<String>> {
    let meta = std::fs::metadata(&c.path).map_err(|e| {
        Error::invalid_option(
            "path",
            format!(
                "cannot read {}: {e} (is it granted in the job's sandbox.dirs?)",
                c.path
            ),
        )
    })?;
    if meta.is_file() {
        return Ok(vec![c.path.clone()]);
    }
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&c.path)
        .map_err(|e| Error::invalid_option("path", format!("cannot list {}: {e}", c.path)))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if c.filter.as_ref().is_some_and(|f| !f.is_match(&name)) {
            continue;
        }
        out.push(format!("{}/{name}", c.path.trim_end_matches('/')));
    }
    out.sort();
    Ok(out)
}

fn output(c: &Config) -> TableSchema {
    c.table
        .with_columns(c.keep.iter().map(|&i| c.table.columns[i].clone()).collect())
}

/// A file, or a byte range of one (see `ranges`), and how far it has been read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileSplit {
    path: String,
    /// Where the next record starts.
    offset: u64,
    /// Header lines still to skip.
    skip: u64,
    /// A range ends where its next record would start at or past this.
    #[serde(default)]
    end: Option<u64>,
    /// `offset` is a range's start, not yet moved to the first line start.
    #[serde(default)]
    unaligned: bool,
}

impl FileSplit {
    fn to_split(&self) -> Split {
        Split {
            id: match self.end {
                Some(end) => format!("{}#{end}", self.path),
                None => self.path.clone(),
            },
            data: serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    /// The file's splits: the whole file, or ranges for several readers.
    fn of(c: &Config, path: String, readers: u32) -> Result<Vec<FileSplit>> {
        let whole = |path: String| FileSplit {
            path,
            offset: 0,
            skip: c.skip,
            end: None,
            unaligned: false,
        };
        if c.gzip || readers < 2 {
            return Ok(vec![whole(path)]);
        }
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        if len < 2 * ranges::MIN_RANGE {
            return Ok(vec![whole(path)]);
        }
        let csv = c.format == Format::Csv && !c.whole_line;
        let starts = ranges::starts(&path, len, readers, csv)
            .map_err(|e| st_sdk::fs::io_error("read", &path, false, &e))?;
        if starts.len() < 2 {
            return Ok(vec![whole(path)]);
        }
        Ok(starts
            .iter()
            .enumerate()
            .map(|(k, &start)| FileSplit {
                path: path.clone(),
                offset: start,
                // Header lines are at the file's start only.
                skip: if k == 0 { c.skip } else { 0 },
                end: Some(starts.get(k + 1).copied().unwrap_or(len)),
                unaligned: start > 0,
            })
            .collect())
    }

    fn from_split(s: &Split) -> Result<FileSplit> {
        serde_json::from_slice(&s.data)
            .map_err(|e| Error::fatal(format!("bad split {}: {e}", s.id)))
    }
}

impl Source for LocalFile {
    type Enumerator = Enumerator;
    type Reader = Reader;

    fn open(options: &Options, _ctx: &TaskContext) -> Result<SourceInfo> {
        let c = config(options)?;
        files(&c)?;
        Ok(SourceInfo {
            tables: vec![output(&c)],
            bounded: true,
        })
    }

    fn enumerator(
        options: &Options,
        ctx: &TaskContext,
        state: Option<Vec<u8>>,
    ) -> Result<Enumerator> {
        let pending: VecDeque<(u32, FileSplit)> = match state {
            Some(s) => serde_json::from_slice(&s)
                .map_err(|e| Error::fatal(format!("bad enumerator state: {e}")))?,
            None => {
                let c = config(options)?;
                let readers = ctx.parallelism.max(1);
                let mut splits = Vec::new();
                for path in files(&c)? {
                    splits.extend(FileSplit::of(&c, path, readers)?);
                }
                splits
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| ((i as u32) % readers, s))
                    .collect()
            }
        };
        Ok(Enumerator { pending })
    }

    fn reader(options: &Options, _ctx: &TaskContext, restored: Vec<Split>) -> Result<Reader> {
        let c = config(options)?;
        let types = c.table.row_type();
        let mut r = Reader {
            c,
            types,
            splits: VecDeque::new(),
            open: None,
            no_more: false,
        };
        r.add_splits(restored)?;
        Ok(r)
    }
}

pub struct Enumerator {
    pending: VecDeque<(u32, FileSplit)>,
}

impl SplitEnumerator for Enumerator {
    fn enumerate(&mut self) -> Result<Enumeration> {
        Ok(Enumeration {
            assignments: self
                .pending
                .drain(..)
                .map(|(r, s)| (r, s.to_split()))
                .collect(),
            no_more_splits: true,
        })
    }

    fn add_splits_back(&mut self, reader: u32, splits: Vec<Split>) -> Result<()> {
        for s in splits {
            self.pending.push_back((reader, FileSplit::from_split(&s)?));
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<u8>> {
        serde_json::to_vec(&self.pending).map_err(|e| Error::fatal(e.to_string()))
    }
}

pub struct Reader {
    c: Config,
    types: Vec<DataType>,
    splits: VecDeque<FileSplit>,
    open: Option<Open>,
    no_more: bool,
}

impl Reader {
    /// Reads up to `max_rows` rows of the current split into `builders`.
    fn fill(&mut self, builders: &mut [ColumnBuilder], max_rows: u32) -> Result<u32> {
        let Some(split) = self.splits.front_mut() else {
            return Ok(0);
        };
        if self.open.is_none() {
            let mut f = File::open(&split.path)
                .map_err(|e| st_sdk::fs::io_error("open", &split.path, false, &e))?;
            if split.unaligned {
                split.offset = ranges::first_line_start(&mut f, split.offset)
                    .map_err(|e| Error::retriable(format!("cannot read {}: {e}", split.path)))?;
                split.unaligned = false;
            }
            let input: Box<dyn Read> = if self.c.gzip {
                // A compressed file cannot seek: decompress and skip what was read before.
                let mut z = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f));
                std::io::copy(&mut (&mut z).take(split.offset), &mut std::io::sink())
                    .map_err(|e| Error::retriable(format!("cannot read {}: {e}", split.path)))?;
                Box::new(z)
            } else {
                f.seek(SeekFrom::Start(split.offset))
                    .map_err(|e| Error::retriable(format!("cannot seek in {}: {e}", split.path)))?;
                Box::new(f)
            };
            self.open = Some(if self.c.format == Format::Csv && !self.c.whole_line {
                // One parser over the file: quoted fields may hold delimiters and newlines.
                Open::Csv(Box::new(records::Records::new(
                    input,
                    split.offset,
                    self.c.delimiter.as_bytes()[0],
                )))
            } else {
                Open::Lines(BufReader::with_capacity(1 << 20, input))
            });
        }
        let open = self.open.as_mut().expect("opened above");
        let mut rows = 0;
        let mut line = String::new();
        let mut done = false;
        while rows < max_rows {
            if split.end.is_some_and(|end| split.offset >= end) {
                // The range's last record was read (it may have run past the range's end).
                done = true;
                break;
            }
            let start = split.offset;
            let at = |e: String| Error::fatal(format!("{} at byte {start}: {e}", split.path));
            let values: Vec<Value> = match open {
                Open::Csv(rdr) => {
                    let more = rdr.next_record().map_err(|e| {
                        Error::retriable(format!("cannot read {}: {e}", split.path))
                    })?;
                    if !more {
                        done = true;
                        break;
                    }
                    split.offset = rdr.position();
                    if split.skip > 0 {
                        split.skip -= 1;
                        continue;
                    }
                    if rdr.len() < self.types.len() {
                        return Err(at(format!(
                            "{} fields where the schema has {}",
                            rdr.len(),
                            self.types.len()
                        )));
                    }
                    let text = rdr.text().map_err(at)?;
                    for (b, &k) in builders.iter_mut().zip(&self.c.keep) {
                        let field = rdr.range(k).and_then(|r| text.get(r)).unwrap_or_default();
                        b.push_text(field).map_err(|e| at(e.into()))?;
                    }
                    rows += 1;
                    continue;
                }
                Open::Lines(reader) => {
                    line.clear();
                    let n = reader.read_line(&mut line).map_err(|e| {
                        Error::retriable(format!("cannot read {}: {e}", split.path))
                    })?;
                    if n == 0 {
                        done = true;
                        break;
                    }
                    split.offset += n as u64;
                    let text = line.trim_end_matches(['\n', '\r']);
                    if split.skip > 0 {
                        split.skip -= 1;
                        continue;
                    }
                    if self.c.whole_line {
                        vec![Value::String(text.to_string())]
                    } else if self.c.format == Format::Json {
                        let obj: Json =
                            serde_json::from_str(text).map_err(|e| at(e.to_string()))?;
                        self.c
                            .table
                            .columns
                            .iter()
                            .zip(&self.types)
                            .map(|(col, t)| {
                                Value::from_json(obj.get(&col.name).unwrap_or(&Json::Null), t)
                            })
                            .collect::<std::result::Result<_, _>>()
                            .map_err(|e: st_sdk::DataError| at(e.into()))?
                    } else {
                        let fields: Vec<&str> = text.split(self.c.delimiter.as_str()).collect();
                        if fields.len() < self.types.len() {
                            return Err(at(format!(
                                "{} fields where the schema has {}",
                                fields.len(),
                                self.types.len()
                            )));
                        }
                        for (b, &k) in builders.iter_mut().zip(&self.c.keep) {
                            b.push_text(fields[k]).map_err(|e| at(e.into()))?;
                        }
                        rows += 1;
                        continue;
                    }
                }
            };
            for (b, &k) in builders.iter_mut().zip(&self.c.keep) {
                b.push(&values[k]).map_err(|e| at(e.into()))?;
            }
            rows += 1;
        }
        if done {
            // The file is done.
            self.splits.pop_front();
            self.open = None;
        }
        Ok(rows)
    }
}

/// An open file: read by lines (text, json, a csv read whole), or by csv records.
enum Open {
    Lines(BufReader<Box<dyn Read>>),
    /// Csv records, and where each ends.
    Csv(Box<records::Records>),
}

impl SplitReader for Reader {
    fn add_splits(&mut self, splits: Vec<Split>) -> Result<()> {
        for s in splits {
            self.splits.push_back(FileSplit::from_split(&s)?);
        }
        Ok(())
    }

    fn no_more_splits(&mut self) {
        self.no_more = true;
    }

    fn poll_next(&mut self, max_rows: u32) -> Result<Poll> {
        if self.splits.is_empty() {
            return Ok(if self.no_more {
                Poll::Finished(None)
            } else {
                Poll::Idle
            });
        }
        let keep: Vec<DataType> = self.c.keep.iter().map(|&k| self.types[k].clone()).collect();
        let mut builders: Vec<ColumnBuilder> = keep.iter().map(ColumnBuilder::new).collect();
        let mut rows = 0;
        while rows < max_rows && !self.splits.is_empty() {
            rows += self.fill(&mut builders, max_rows - rows)?;
        }
        let batch = Batch {
            table: 0,
            num_rows: rows as usize,
            row_kinds: None,
            columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
        };
        let done = self.splits.is_empty() && self.no_more;
        Ok(match (rows, done) {
            (0, true) => Poll::Finished(None),
            (_, true) => Poll::Finished(Some(batch)),
            (0, false) => Poll::Idle,
            _ => Poll::Batch(batch),
        })
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Split>> {
        Ok(self.splits.iter().map(FileSplit::to_split).collect())
    }
}

st_sdk::export_source!(LocalFile);
