//! LocalFile sink: rows to text, csv or json files under `path`, with SeaTunnel's options.
//!
//! Exactly-once by two-phase commit: a writer writes into `tmp_path/<job id>/` and, at each
//! checkpoint barrier, closes its files and hands their (temporary, final) names to the
//! checkpoint; the committer renames them into `path` once the checkpoint is durable. A rename
//! whose temporary file is gone and whose final file exists was done before, so commits can be
//! repeated after a restore. The files are reached through the job's WASI directory grants
//! only: grant `path` (and `tmp_path`, which defaults to `path/.strait-tmp`) read-write.

use std::collections::BTreeMap;
mod file;

use file::OutFile;
use std::io::{BufWriter, Write as _};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use st_sdk::{
    Access, Batch, DataType, Describe, Error, OptionGrant, OptionSpecs, OptionType, Options,
    Result, Sink, SinkCommitter, SinkWriter, TableSchema, TaskContext, Value,
};

pub struct LocalFile;

impl Describe for LocalFile {
    const NAME: &'static str = "LocalFile";

    fn grants() -> Vec<OptionGrant> {
        vec![
            OptionGrant::new("path", Access::ReadWrite),
            OptionGrant::new("tmp_path", Access::ReadWrite),
        ]
    }

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required("path", OptionType::String, "The directory the files are written to.")
            .optional("tmp_path", OptionType::String, Json::Null, "Where files are written before their commit (default: path/.strait-tmp; must be on the same filesystem).")
            .optional("custom_filename", OptionType::Boolean, json!(false), "Name files by file_name_expression.")
            .optional("file_name_expression", OptionType::String, json!("${transactionId}"), "File name with ${transactionId} and ${now}; only with custom_filename.")
            .optional("filename_time_format", OptionType::String, json!("yyyy.MM.dd"), "How ${now} is written (yyyy, MM, dd, HH, mm, ss).")
            .optional("file_format_type", OptionType::String, json!("csv"), "text, csv or json.")
            .optional("field_delimiter", OptionType::String, Json::Null, "Between fields (text: \\u0001, csv: ,).")
            .optional("row_delimiter", OptionType::String, json!("\n"), "Between rows (text and csv).")
            .optional("sink_columns", OptionType::List, Json::Null, "The fields written, in order (default: all).")
            .optional("is_enable_transaction", OptionType::Boolean, json!(true), "Two-phase commit (exactly-once); false writes files in place.")
            .optional("batch_size", OptionType::Integer, json!(1_000_000), "Rows per file before a new one is started.")
            .optional("enable_header_write", OptionType::Boolean, json!(false), "Write the column names first (text and csv).")
            .optional("compress_codec", OptionType::String, json!("none"), "none or gzip (files get a .gz suffix).")
            .optional("encoding", OptionType::String, json!("UTF-8"), "Only UTF-8.")
            .optional("have_partition", OptionType::Boolean, json!(false), "Partitioned directories are not supported.")
            .optional("schema_save_mode", OptionType::String, json!("CREATE_SCHEMA_WHEN_NOT_EXIST"), "CREATE_SCHEMA_WHEN_NOT_EXIST or ERROR_WHEN_SCHEMA_NOT_EXIST.")
            .optional("data_save_mode", OptionType::String, json!("APPEND_DATA"), "APPEND_DATA or ERROR_WHEN_DATA_EXISTS.")
    }
}

use st_file_format::Format;

#[derive(Debug, Clone)]
struct Config {
    path: String,
    tmp: String,
    format: Format,
    field_delimiter: String,
    row_delimiter: String,
    transactional: bool,
    batch_size: u64,
    header: bool,
    custom: Option<(String, String)>,
    gzip: bool,
}

fn config(options: &Options, job_id: &str) -> Result<Config> {
    let path: String = options.require("path")?;
    let path = path.trim_end_matches('/').to_string();
    let (format, field_delimiter, gzip) = st_file_format::read(options, Some("csv"))?;
    if options.bool("have_partition")?.unwrap_or(false) {
        return Err(Error::invalid_option(
            "have_partition",
            "partitioned output is not supported",
        ));
    }
    let tmp = options
        .string("tmp_path")?
        .unwrap_or_else(|| format!("{path}/.strait-tmp"));
    let custom = options.bool("custom_filename")?.unwrap_or(false).then(|| {
        Ok::<_, Error>((
            options
                .string("file_name_expression")?
                .unwrap_or_else(|| "${transactionId}".into()),
            options
                .string("filename_time_format")?
                .unwrap_or_else(|| "yyyy.MM.dd".into()),
        ))
    });
    Ok(Config {
        path,
        tmp: format!("{}/{job_id}", tmp.trim_end_matches('/')),
        format,
        field_delimiter,
        row_delimiter: options
            .string("row_delimiter")?
            .unwrap_or_else(|| "\n".into()),
        transactional: options.bool("is_enable_transaction")?.unwrap_or(true),
        batch_size: options.i64("batch_size")?.unwrap_or(1_000_000).max(1) as u64,
        header: options.bool("enable_header_write")?.unwrap_or(false),
        custom: custom.transpose()?,
        gzip,
    })
}

/// Which fields of each table are written.
fn columns(options: &Options, tables: &[TableSchema]) -> Result<Vec<Vec<usize>>> {
    let wanted = options.json("sink_columns").and_then(|v| match v {
        Json::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect::<Vec<_>>(),
        ),
        _ => None,
    });
    tables
        .iter()
        .map(|t| match &wanted {
            None => Ok((0..t.columns.len()).collect()),
            Some(names) => names
                .iter()
                .map(|n| {
                    t.index_of(n).ok_or_else(|| {
                        Error::invalid_option(
                            "sink_columns",
                            format!("table {} has no field `{n}`", t.table_path),
                        )
                    })
                })
                .collect(),
        })
        .collect()
}

/// A file being written.
struct OpenFile {
    tmp: String,
    dest: String,
    out: Out,
    rows: u64,
}

/// The bytes' way into the file.
enum Out {
    Plain(BufWriter<OutFile>),
    Gzip(flate2::write::GzEncoder<BufWriter<OutFile>>),
}

impl Out {
    /// Flushes everything (the gzip trailer too) and returns the file.
    fn finish(self) -> std::io::Result<OutFile> {
        let buffered = match self {
            Out::Plain(w) => w,
            Out::Gzip(z) => z.finish()?,
        };
        buffered
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
    }
}

impl std::io::Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Plain(w) => w.write(buf),
            Out::Gzip(z) => z.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(buf),
            Out::Gzip(z) => z.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.flush(),
            Out::Gzip(z) => z.flush(),
        }
    }
}

/// A closed file waiting for its commit: (where it is, where it goes).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Move {
    tmp: String,
    dest: String,
}

/// How a table's rows are written, worked out once per writer.
struct Layout {
    /// Every field's name and type (of the table as it arrives).
    names: Vec<String>,
    types: Vec<DataType>,
    /// The fields written, in order.
    cols: Vec<usize>,
    quoting: Quoting,
}

pub struct Writer {
    /// Shared so a batch can read it while the writer starts and finishes files.
    config: std::rc::Rc<Config>,
    layouts: Vec<std::rc::Rc<Layout>>,
    /// Column texts and the text of the rows, kept from batch to batch.
    texts: Vec<ColumnText>,
    out: Vec<u8>,
    job_id: String,
    subtask: u32,
    /// Files started by this writer so far, across restores (the writer's state): names never
    /// repeat a committed one.
    seq: u64,
    open: BTreeMap<u32, OpenFile>,
    closed: Vec<Move>,
}

/// A file system error: a path the job does not grant (or grants read-only) is fatal and
/// says so; a missing file or any other failure is retriable.
fn io(what: &str, path: &str, e: std::io::Error) -> Error {
    st_sdk::fs::io_error(what, path, true, &e)
}

/// `yyyy.MM.dd`-style patterns for `${now}`.
fn now_text(pattern: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let micros = secs * 1_000_000;
    let ts = st_sdk::format_timestamp(micros);
    // `YYYY-MM-DDTHH:MM:SS`
    let part = |a: usize, b: usize| ts.get(a..b).unwrap_or("00").to_string();
    pattern
        .replace("yyyy", &part(0, 4))
        .replace("MM", &part(5, 7))
        .replace("dd", &part(8, 10))
        .replace("HH", &part(11, 13))
        .replace("mm", &part(14, 16))
        .replace("ss", &part(17, 19))
}

impl Writer {
    fn extension(&self) -> &'static str {
        match self.config.format {
            Format::Text => "txt",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    fn start(&mut self, table: u32) -> Result<OpenFile> {
        let transaction = format!("T_{}_{}_{}", self.job_id, self.subtask, self.seq);
        self.seq += 1;
        let stem = match &self.config.custom {
            Some((expr, fmt)) => expr
                .replace("${transactionId}", &transaction)
                .replace("${now}", &now_text(fmt)),
            None => transaction.clone(),
        };
        let table_part = if self.layouts.len() > 1 {
            format!("_{table}")
        } else {
            String::new()
        };
        let gz = if self.config.gzip { ".gz" } else { "" };
        let name = format!("{stem}{table_part}.{}{gz}", self.extension());
        let dest = format!("{}/{name}", self.config.path);
        let tmp = if self.config.transactional {
            format!("{}/{name}", self.config.tmp)
        } else {
            dest.clone()
        };
        let dir = if self.config.transactional {
            &self.config.tmp
        } else {
            &self.config.path
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        let file = OutFile::create(&tmp).map_err(|e| io("create", &tmp, e))?;
        let mut f = OpenFile {
            tmp,
            dest,
            out: {
                let buffered = BufWriter::with_capacity(1 << 20, file);
                if self.config.gzip {
                    Out::Gzip(flate2::write::GzEncoder::new(
                        buffered,
                        flate2::Compression::fast(),
                    ))
                } else {
                    Out::Plain(buffered)
                }
            },
            rows: 0,
        };
        if self.config.header && self.config.format != Format::Json {
            let layout = &self.layouts[table as usize];
            let names: Vec<&str> = layout
                .cols
                .iter()
                .map(|&c| layout.names[c].as_str())
                .collect();
            let line = names.join(&self.config.field_delimiter);
            f.out
                .write_all(line.as_bytes())
                .and_then(|()| f.out.write_all(self.config.row_delimiter.as_bytes()))
                .map_err(|e| io("write", &f.tmp, e))?;
        }
        Ok(f)
    }

    /// Finishes a file: flushed, synced, waiting for its commit.
    fn finish(&mut self, f: OpenFile) -> Result<()> {
        let file = f.out.finish().map_err(|e| io("write", &f.tmp, e))?;
        file.sync_data().map_err(|e| io("sync", &f.tmp, e))?;
        self.closed.push(Move {
            tmp: f.tmp,
            dest: f.dest,
        });
        Ok(())
    }
}

/// A column's fields as text, one after another, and where each ends.
#[derive(Default)]
struct ColumnText {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl ColumnText {
    /// Field `i`.
    fn field(&self, i: usize) -> &[u8] {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[from..self.ends[i]]
    }

    /// Writes the first `rows` fields of `col` (null is empty), a type at a time.
    fn fill(&mut self, col: &st_sdk::Column, t: &DataType, rows: usize) {
        use st_sdk::ColumnData as D;
        use st_sdk::text;
        self.bytes.clear();
        self.ends.clear();
        match (&col.data, t) {
            (D::Utf8(v), _) => self.each(col, rows, |o, i| o.extend_from_slice(v.get(i))),
            (D::Int64(v), DataType::BigInt) => {
                self.each(col, rows, |o, i| text::write_int(o, v[i]))
            }
            (D::Int32(v), DataType::Int) => self.each(col, rows, |o, i| text::write_int(o, v[i])),
            (D::Float64(v), DataType::Double) => {
                self.each(col, rows, |o, i| text::write_java_double(o, v[i], None));
            }
            (D::Decimal(v), DataType::Decimal { scale, .. }) => {
                self.each(col, rows, |o, i| text::write_decimal(o, v[i], *scale));
            }
            (D::Int64(v), DataType::Timestamp | DataType::TimestampTz) => {
                self.each(col, rows, |o, i| text::write_timestamp(o, v[i]));
            }
            (D::Int32(v), DataType::Date) => self.each(col, rows, |o, i| text::write_date(o, v[i])),
            _ => self.each(col, rows, |o, i| {
                o.extend_from_slice(field_text(&col.value(i, t)).as_bytes());
            }),
        }
    }

    fn each(
        &mut self,
        col: &st_sdk::Column,
        rows: usize,
        mut write: impl FnMut(&mut Vec<u8>, usize),
    ) {
        for i in 0..rows {
            if !col.is_null(i) {
                write(&mut self.bytes, i);
            }
            self.ends.push(self.bytes.len());
        }
    }

    /// Quotes the fields that must be quoted (a scan of the whole column finds none nearly
    /// always).
    fn quote(&mut self, special: &[bool; 256]) {
        if !self.bytes.iter().any(|&b| special[usize::from(b)]) {
            return;
        }
        let (bytes, ends) = (
            std::mem::take(&mut self.bytes),
            std::mem::take(&mut self.ends),
        );
        let mut from = 0;
        for end in ends {
            let field = &bytes[from..end];
            from = end;
            if field.iter().any(|&b| special[usize::from(b)]) {
                self.bytes.push(b'"');
                for &b in field {
                    if b == b'"' {
                        self.bytes.push(b'"');
                    }
                    self.bytes.push(b);
                }
                self.bytes.push(b'"');
            } else {
                self.bytes.extend_from_slice(field);
            }
            self.ends.push(self.bytes.len());
        }
    }
}

/// What makes a csv field need quotes: the delimiter, a quote, CR or LF.
struct Quoting {
    special: [bool; 256],
    /// Per written column: whether its text can hold a special byte at all (numbers, dates
    /// and timestamps cannot, unless the delimiter is a character they are written with).
    check: Vec<bool>,
}

impl Quoting {
    fn new(delimiter: u8, types: &[DataType], cols: &[usize]) -> Quoting {
        let mut special = [false; 256];
        for b in [delimiter, b'"', b'\n', b'\r'] {
            special[usize::from(b)] = true;
        }
        let plain_safe = !delimiter.is_ascii_alphanumeric() && !b"+-.:<> ".contains(&delimiter);
        let check = cols
            .iter()
            .map(|&c| {
                let t = &types[c];
                !(plain_safe
                    && (t.is_numeric()
                        || matches!(
                            t,
                            DataType::Date
                                | DataType::Time
                                | DataType::Timestamp
                                | DataType::TimestampTz
                        )))
            })
            .collect();
        Quoting { special, check }
    }
}

/// A value as text in a text or csv field (null is empty).
fn field_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A value as JSON, typed.
fn to_json(v: &Value, t: &DataType) -> Json {
    match (v, t) {
        (Value::Null, _) => Json::Null,
        (Value::Boolean(b), _) => Json::Bool(*b),
        (Value::TinyInt(x), _) => json!(x),
        (Value::SmallInt(x), _) => json!(x),
        (Value::Int(x), _) => json!(x),
        (Value::BigInt(x), _) => json!(x),
        (Value::Float(x), _) => json!(x),
        (Value::Double(x), _) => json!(x),
        (Value::Decimal(..), _) => {
            serde_json::from_str(&v.to_string()).unwrap_or_else(|_| Json::String(v.to_string()))
        }
        (Value::Array(items), DataType::Array(inner)) => {
            Json::Array(items.iter().map(|i| to_json(i, inner)).collect())
        }
        (Value::Map(entries), DataType::Map(_, vt)) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (field_text(k), to_json(v, vt)))
                .collect(),
        ),
        (Value::Row(fields), DataType::Row(defs)) => Json::Object(
            fields
                .iter()
                .zip(defs)
                .map(|(v, d)| (d.name.clone(), to_json(v, &d.data_type)))
                .collect(),
        ),
        (other, _) => Json::String(other.to_string()),
    }
}

impl SinkWriter for Writer {
    fn write(&mut self, batch: Batch) -> Result<()> {
        let table = batch.table;
        let layout = self
            .layouts
            .get(table as usize)
            .ok_or_else(|| Error::fatal(format!("batch for unknown table {table}")))?
            .clone();
        let Layout {
            names,
            types,
            cols,
            quoting,
        } = &*layout;
        let config = self.config.clone();
        let (format, fd, rd) = (
            config.format,
            &config.field_delimiter,
            &config.row_delimiter,
        );
        // Text and csv: each column formatted a type at a time, then rows put together.
        let mut texts = std::mem::take(&mut self.texts);
        let mut out = std::mem::take(&mut self.out);
        if format != Format::Json {
            texts.resize_with(cols.len(), ColumnText::default);
            for ((k, &c), text) in cols.iter().enumerate().zip(&mut texts) {
                text.fill(&batch.columns[c], &types[c], batch.num_rows);
                if format == Format::Csv && quoting.check[k] {
                    text.quote(&quoting.special);
                }
            }
        }
        // The table's open file, out of the map while the batch is written.
        let mut file = self.open.remove(&table);
        let mut i = 0;
        while i < batch.num_rows {
            if let Some(full) = file.take_if(|f| f.rows >= self.config.batch_size) {
                self.finish(full)?;
            }
            let f = match &mut file {
                Some(f) => f,
                None => file.insert(self.start(table)?),
            };
            // The rows that still fit the file.
            let n = (batch.num_rows - i).min((self.config.batch_size - f.rows) as usize);
            out.clear();
            for row in i..i + n {
                match format {
                    Format::Text | Format::Csv => {
                        let before = out.len();
                        for (k, text) in texts.iter().enumerate() {
                            if k > 0 {
                                out.extend_from_slice(fd.as_bytes());
                            }
                            out.extend_from_slice(text.field(row));
                        }
                        if format == Format::Csv && cols.len() == 1 && out.len() == before {
                            // A record of one empty field, told apart from a blank line.
                            out.extend_from_slice(b"\"\"");
                        }
                        out.extend_from_slice(rd.as_bytes());
                    }
                    Format::Json => {
                        let obj: serde_json::Map<String, Json> = cols
                            .iter()
                            .map(|&c| {
                                (
                                    names[c].clone(),
                                    to_json(&batch.columns[c].value(row, &types[c]), &types[c]),
                                )
                            })
                            .collect();
                        serde_json::to_writer(&mut out, &obj)
                            .map_err(|e| Error::fatal(format!("json: {e}")))?;
                        out.push(b'\n');
                    }
                }
            }
            f.out.write_all(&out).map_err(|e| io("write", &f.tmp, e))?;
            f.rows += n as u64;
            i += n;
        }
        if let Some(f) = file {
            self.open.insert(table, f);
        }
        (self.texts, self.out) = (texts, out);
        Ok(())
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Option<Vec<u8>>> {
        for (_, f) in std::mem::take(&mut self.open) {
            self.finish(f)?;
        }
        if !self.config.transactional || self.closed.is_empty() {
            self.closed.clear();
            return Ok(None);
        }
        let moves = std::mem::take(&mut self.closed);
        serde_json::to_vec(&moves)
            .map(Some)
            .map_err(|e| Error::fatal(e.to_string()))
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        Ok(vec![self.seq.to_le_bytes().to_vec()])
    }

    fn abort_prepare(&mut self) -> Result<()> {
        for m in self.closed.drain(..) {
            let _ = std::fs::remove_file(&m.tmp);
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        // Everything was prepared at the final checkpoint; anything left is not committed.
        for (_, f) in std::mem::take(&mut self.open) {
            drop(f.out);
            if self.config.transactional {
                let _ = std::fs::remove_file(&f.tmp);
            }
        }
        Ok(())
    }
}

pub struct Committer {
    tmp: String,
}

impl SinkCommitter for Committer {
    fn commit(&mut self, _checkpoint_id: u64, infos: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        for info in infos {
            let moves: Vec<Move> = serde_json::from_slice(&info)
                .map_err(|e| Error::fatal(format!("bad commit info: {e}")))?;
            for m in moves {
                match std::fs::rename(&m.tmp, &m.dest) {
                    Ok(()) => {}
                    // Committed before (a commit repeated after a restore).
                    Err(_) if !exists(&m.tmp) && exists(&m.dest) => {}
                    Err(e) => return Err(io("move into place", &m.dest, e)),
                }
            }
        }
        Ok(Vec::new())
    }

    fn abort(&mut self, infos: Vec<Vec<u8>>) -> Result<()> {
        for info in infos {
            if let Ok(moves) = serde_json::from_slice::<Vec<Move>>(&info) {
                for m in moves {
                    let _ = std::fs::remove_file(&m.tmp);
                }
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        // The job ended: temporary files left by failed attempts are garbage.
        match std::fs::remove_dir_all(&self.tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &self.tmp, e)),
        }
        // The temporary root too, when no other job is using it.
        if let Some((root, _)) = self.tmp.rsplit_once('/') {
            let _ = std::fs::remove_dir(root);
        }
        Ok(())
    }
}

fn exists(path: &str) -> bool {
    std::fs::metadata(path).is_ok()
}

impl Sink for LocalFile {
    type Writer = Writer;
    type Committer = Committer;

    fn writer(
        options: &Options,
        ctx: &TaskContext,
        tables: Vec<TableSchema>,
        restored: Vec<Vec<u8>>,
    ) -> Result<Writer> {
        let config = config(options, &ctx.job_id)?;
        let mode = options
            .string("data_save_mode")?
            .unwrap_or_else(|| "APPEND_DATA".into())
            .to_ascii_uppercase();
        match mode.as_str() {
            "APPEND_DATA" => {}
            "ERROR_WHEN_DATA_EXISTS" if restored.is_empty() => {
                let has_data = std::fs::read_dir(&config.path)
                    .map(|d| d.flatten().any(|e| e.path().is_file()))
                    .unwrap_or(false);
                if has_data {
                    return Err(Error::invalid_option(
                        "data_save_mode",
                        format!(
                            "{} already holds files (ERROR_WHEN_DATA_EXISTS)",
                            config.path
                        ),
                    ));
                }
            }
            "ERROR_WHEN_DATA_EXISTS" => {}
            other => {
                return Err(Error::invalid_option(
                    "data_save_mode",
                    format!(
                        "`{other}` is not supported; use APPEND_DATA or ERROR_WHEN_DATA_EXISTS"
                    ),
                ));
            }
        }
        let columns = columns(options, &tables)?;
        let seq = restored
            .first()
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map_or(0, u64::from_le_bytes);
        let layouts = tables
            .iter()
            .zip(columns)
            .map(|(t, cols)| {
                let types = t.row_type();
                std::rc::Rc::new(Layout {
                    names: t.columns.iter().map(|c| c.name.clone()).collect(),
                    quoting: Quoting::new(
                        config
                            .field_delimiter
                            .as_bytes()
                            .first()
                            .copied()
                            .unwrap_or(b','),
                        &types,
                        &cols,
                    ),
                    types,
                    cols,
                })
            })
            .collect();
        Ok(Writer {
            config: std::rc::Rc::new(config),
            layouts,
            texts: Vec::new(),
            out: Vec::new(),
            job_id: ctx.job_id.clone(),
            subtask: ctx.subtask,
            seq,
            open: BTreeMap::new(),
            closed: Vec::new(),
        })
    }

    fn committer(
        options: &Options,
        ctx: &TaskContext,
        tables: Vec<TableSchema>,
    ) -> Result<Committer> {
        let config = config(options, &ctx.job_id)?;
        columns(options, &tables)?;
        if config.transactional {
            std::fs::create_dir_all(&config.path).map_err(|e| io("create", &config.path, e))?;
        }
        Ok(Committer { tmp: config.tmp })
    }
}

st_sdk::export_sink!(LocalFile);

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(field: &str, delimiter: u8, t: DataType) -> String {
        let q = Quoting::new(delimiter, std::slice::from_ref(&t), &[0]);
        let mut text = ColumnText::default();
        text.bytes.extend_from_slice(b"x");
        text.ends.push(1);
        text.bytes.extend_from_slice(field.as_bytes());
        text.ends.push(text.bytes.len());
        if q.check[0] {
            text.quote(&q.special);
        }
        assert_eq!(text.field(0), b"x");
        format!("x,{}", String::from_utf8(text.field(1).to_vec()).unwrap())
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(quoted("plain", b',', DataType::String), "x,plain");
        assert_eq!(quoted("a,b", b',', DataType::String), "x,\"a,b\"");
        assert_eq!(
            quoted("say \"hi\"", b',', DataType::String),
            "x,\"say \"\"hi\"\"\""
        );
        assert_eq!(
            quoted("two\nlines", b',', DataType::String),
            "x,\"two\nlines\""
        );
        assert_eq!(quoted("cr\rhere", b',', DataType::String), "x,\"cr\rhere\"");
        assert_eq!(quoted("a|b", b'|', DataType::String), "x,\"a|b\"");
        // Dates cannot hold a comma, but do hold a dash.
        assert_eq!(quoted("2024-01-02", b',', DataType::Date), "x,2024-01-02");
        assert_eq!(
            quoted("2024-01-02", b'-', DataType::Date),
            "x,\"2024-01-02\""
        );
        assert_eq!(quoted("1.5", b'.', DataType::Double), "x,\"1.5\"");
    }
}
