//! Value generation: column-at-a-time for flat types (the fast path), value-at-a-time for
//! nested ones, explicit rows from `rows`, and column defaults.

use base64::Engine as _;
use serde_json::Value as Json;
use st_sdk::{
    Batch, Column, ColumnBuilder, ColumnData, DataType, Error, Options, Result, RowKind,
    TableSchema, Value, VarWidth,
};

use st_sdk::schema;

/// The generator's random numbers: xoshiro256++ (64-bit operations only, so it is as fast in
/// wasm as natively), with the few range helpers FakeSource needs. Ranges map by modulo, which
/// is slightly biased for spans that do not divide 2^64 — fine for fake data.
pub struct Rng(rand_xoshiro::Xoshiro256PlusPlus);

/// 64 symbols so six random bits pick one with shifts only (wasm has no cheap division);
/// `a` and `b` appear twice, a small bias that fake data can afford.
const ALPHANUMERIC: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzab";

impl Rng {
    pub fn with_seed(seed: u64) -> Rng {
        use rand_core::SeedableRng as _;
        Rng(rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    fn u64(&mut self) -> u64 {
        use rand_core::Rng as _;
        self.0.next_u64()
    }

    fn bool(&mut self) -> bool {
        self.u64() & 1 == 1
    }

    fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A value in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.u64() % n as u64) as usize
    }

    /// A value in `lo..=hi`.
    fn i64_in(&mut self, lo: i64, hi: i64) -> i64 {
        let span = hi.wrapping_sub(lo) as u64;
        if span == u64::MAX {
            return self.u64() as i64;
        }
        let n = span + 1;
        let offset = if n.is_power_of_two() {
            self.u64() & (n - 1)
        } else {
            self.u64() % n
        };
        lo.wrapping_add(offset as i64)
    }

    /// Appends `n` random alphanumeric characters, ten from each 64-bit draw.
    /// Appends `n` symbols, ten from each random number, written into place (no capacity
    /// check per byte).
    fn alphanumeric(&mut self, n: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + n, 0);
        for chunk in out[start..].chunks_mut(10) {
            let mut x = self.u64();
            for b in chunk {
                *b = ALPHANUMERIC[(x & 63) as usize];
                x >>= 6;
            }
        }
    }
}

/// How values of one numeric type are drawn.
#[derive(Debug, Clone)]
enum Numbers {
    Range(f64, f64),
    Template(Vec<f64>),
}

/// Generator settings for one table.
#[derive(Debug, Clone)]
pub struct TableGen {
    pub schema: TableSchema,
    pub row_num: u64,
    pub split_num: u64,
    rows: Option<Vec<(RowKind, Vec<Value>)>>,
    defaults: Vec<Option<Value>>,
    map_size: usize,
    array_size: usize,
    bytes_length: usize,
    string_length: usize,
    strings: Option<Vec<String>>,
    tinyint: Numbers,
    smallint: Numbers,
    int: Numbers,
    bigint: Numbers,
    float: Numbers,
    double: Numbers,
    date_parts: [Option<Vec<i64>>; 3],
    time_parts: [Option<Vec<i64>>; 3],
}

fn size(options: &Options, name: &str) -> Result<usize> {
    let v = options.i64(name)?.unwrap_or(0);
    usize::try_from(v)
        .map_err(|_| Error::invalid_option(name, format!("must not be negative, found {v}")))
}

/// A kind's fake mode, lower-cased: as set, else `template` when its template is given (as
/// SeaTunnel's own configs rely on), else `range`.
fn fake_mode(options: &Options, mode_key: &str, template_key: &str) -> Result<String> {
    if !options.contains(mode_key) && options.contains(template_key) {
        return Ok("template".into());
    }
    Ok(options
        .string(mode_key)?
        .unwrap_or_else(|| "range".into())
        .to_ascii_lowercase())
}

fn numbers(options: &Options, kind: &str) -> Result<Numbers> {
    let mode_key = if kind == "int"
        && options.contains("int.fake.template")
        && !options.contains("int.fake.mode")
    {
        "int.fake.template".to_string()
    } else {
        format!("{kind}.fake.mode")
    };
    let mode = fake_mode(options, &mode_key, &format!("{kind}.template"))?;
    match mode.as_str() {
        "template" => {
            let key = format!("{kind}.template");
            let list = options.list(&key)?.ok_or_else(|| {
                Error::invalid_option(&key, format!("is required when {mode_key} = template"))
            })?;
            let values = list
                .iter()
                .map(|v| {
                    st_sdk_num(v).ok_or_else(|| {
                        Error::invalid_option(&key, format!("`{v}` is not a number"))
                    })
                })
                .collect::<Result<Vec<f64>>>()?;
            if values.is_empty() {
                return Err(Error::invalid_option(&key, "is empty"));
            }
            Ok(Numbers::Template(values))
        }
        "range" => {
            let min = options.f64(&format!("{kind}.min"))?.unwrap_or(0.0);
            let max = options.f64(&format!("{kind}.max"))?.unwrap_or(0.0);
            if min > max {
                return Err(Error::invalid_option(
                    format!("{kind}.min"),
                    format!("{min} is greater than {kind}.max {max}"),
                ));
            }
            Ok(Numbers::Range(min, max))
        }
        other => Err(Error::invalid_option(
            mode_key,
            format!("must be `range` or `template`, found `{other}`"),
        )),
    }
}

fn st_sdk_num(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.to_string().parse().ok(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn int_list(options: &Options, key: &str) -> Result<Option<Vec<i64>>> {
    Ok(match options.list(key)? {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .map(|v| {
                    st_sdk_num(v)
                        .map(|f| f as i64)
                        .ok_or_else(|| Error::invalid_option(key, format!("`{v}` is not a number")))
                })
                .collect::<Result<_>>()?,
        ),
    })
}

impl TableGen {
    /// The tables one FakeSource config describes (several with `table-names`).
    pub fn from_options(options: &Options) -> Result<Vec<TableGen>> {
        let schema_json = options
            .json("schema")
            .ok_or_else(|| Error::invalid_option("schema", "is required"))?;
        let schema = schema::parse(&schema_json)?;
        let types = schema.row_type();
        let rows = match options.list("rows")? {
            None => None,
            Some(items) => {
                let mut rows = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = format!("rows[{i}]");
                    let kind = match item.get("kind").and_then(Json::as_str) {
                        None => RowKind::Insert,
                        Some(k) => RowKind::parse(k).ok_or_else(|| {
                            Error::invalid_option(
                                format!("{at}.kind"),
                                format!(
                                    "`{k}` is not INSERT, UPDATE_BEFORE, UPDATE_AFTER or DELETE"
                                ),
                            )
                        })?,
                    };
                    let fields = item.get("fields").and_then(Json::as_array).ok_or_else(|| {
                        Error::invalid_option(format!("{at}.fields"), "must be a list of values")
                    })?;
                    if fields.len() != types.len() {
                        return Err(Error::invalid_option(
                            format!("{at}.fields"),
                            format!(
                                "has {} values but the schema has {} columns",
                                fields.len(),
                                types.len()
                            ),
                        ));
                    }
                    let values = fields
                        .iter()
                        .zip(&schema.columns)
                        .map(|(v, c)| {
                            literal(v, &c.data_type).map_err(|e| {
                                Error::invalid_option(format!("{at}.fields.{}", c.name), e)
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    rows.push((kind, values));
                }
                Some(rows)
            }
        };
        let defaults = schema
            .columns
            .iter()
            .map(|c| match &c.default_value {
                None => Ok(None),
                Some(d) => literal(&Json::String(d.clone()), &c.data_type)
                    .map(Some)
                    .map_err(|e| {
                        Error::invalid_option(format!("schema.columns.{}.defaultValue", c.name), e)
                    }),
            })
            .collect::<Result<Vec<_>>>()?;
        let split_num = options.i64("split.num")?.unwrap_or(1);
        if split_num < 1 {
            return Err(Error::invalid_option(
                "split.num",
                format!("must be at least 1, found {split_num}"),
            ));
        }
        let split_num = split_num as u64;
        let row_num = match &rows {
            Some(r) => r.len() as u64 * split_num,
            None => {
                let n = options.i64("row.num")?.unwrap_or(5);
                u64::try_from(n).map_err(|_| {
                    Error::invalid_option("row.num", format!("must not be negative, found {n}"))
                })?
            }
        };
        let strings = match fake_mode(options, "string.fake.mode", "string.template")?.as_str() {
            "template" => Some(
                options
                    .list("string.template")?
                    .ok_or_else(|| {
                        Error::invalid_option(
                            "string.template",
                            "is required when string.fake.mode = template",
                        )
                    })?
                    .into_iter()
                    .map(|v| match v {
                        Json::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
            ),
            "range" => None,
            other => {
                return Err(Error::invalid_option(
                    "string.fake.mode",
                    format!("must be `range` or `template`, found `{other}`"),
                ));
            }
        };
        let table_gen = TableGen {
            schema: schema.clone(),
            row_num,
            split_num,
            rows,
            defaults,
            map_size: size(options, "map.size")?,
            array_size: size(options, "array.size")?,
            bytes_length: size(options, "bytes.length")?,
            string_length: size(options, "string.length")?,
            strings,
            tinyint: numbers(options, "tinyint")?,
            smallint: numbers(options, "smallint")?,
            int: numbers(options, "int")?,
            bigint: numbers(options, "bigint")?,
            float: numbers(options, "float")?,
            double: numbers(options, "double")?,
            date_parts: [
                int_list(options, "date.year.template")?,
                int_list(options, "date.month.template")?,
                int_list(options, "date.day.template")?,
            ],
            time_parts: [
                int_list(options, "time.hour.template")?,
                int_list(options, "time.minute.template")?,
                int_list(options, "time.second.template")?,
            ],
        };
        match options.list("table-names")? {
            None => Ok(vec![table_gen]),
            Some(names) => Ok(names
                .iter()
                .map(|n| {
                    let mut g = table_gen.clone();
                    g.schema.table_path = n.as_str().map_or_else(|| n.to_string(), str::to_string);
                    g
                })
                .collect()),
        }
    }

    /// Rows `offset..min(offset + max, rows)` of a split.
    pub fn generate(
        &self,
        table: u32,
        seed: u64,
        offset: u64,
        rows: u64,
        max: u64,
    ) -> Result<Batch> {
        let n = (rows - offset).min(max) as usize;
        if let Some(explicit) = &self.rows {
            let len = explicit.len() as u64;
            let chunk: Vec<(RowKind, Vec<Value>)> = (0..n as u64)
                .map(|i| explicit[((offset + i) % len) as usize].clone())
                .collect();
            return Batch::from_rows(table, &self.schema.row_type(), &chunk).map_err(Error::fatal);
        }
        let mut rng = Rng::with_seed(seed ^ offset.wrapping_mul(0xA076_1D64_78BD_642F));
        let columns = self
            .schema
            .columns
            .iter()
            .zip(&self.defaults)
            .map(|(c, default)| match default {
                Some(v) => {
                    Column::from_values(&c.data_type, &vec![v.clone(); n]).map_err(Error::fatal)
                }
                None => self.column(&c.data_type, n, &mut rng),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Batch {
            table,
            num_rows: n,
            row_kinds: None,
            columns,
        })
    }

    fn pick_num(&self, spec: &Numbers, rng: &mut Rng) -> f64 {
        match spec {
            Numbers::Range(min, max) => min + (max - min) * rng.f64(),
            Numbers::Template(values) => values[rng.below(values.len())],
        }
    }

    fn pick_int(&self, spec: &Numbers, rng: &mut Rng, lo: i64, hi: i64) -> i64 {
        match spec {
            Numbers::Range(min, max) => {
                let (a, b) = ((*min as i64).clamp(lo, hi), (*max as i64).clamp(lo, hi));
                if a >= b { a } else { rng.i64_in(a, b) }
            }
            Numbers::Template(values) => (values[rng.below(values.len())] as i64).clamp(lo, hi),
        }
    }

    /// A column of `n` generated values; flat types are built directly into their buffers.
    fn column(&self, t: &DataType, n: usize, rng: &mut Rng) -> Result<Column> {
        let data = match t {
            DataType::Null => ColumnData::Null(n),
            DataType::Boolean => ColumnData::Boolean((0..n).map(|_| rng.bool()).collect()),
            DataType::TinyInt => ColumnData::Int8(
                (0..n)
                    .map(|_| {
                        self.pick_int(&self.tinyint, rng, i8::MIN.into(), i8::MAX.into()) as i8
                    })
                    .collect(),
            ),
            DataType::SmallInt => ColumnData::Int16(
                (0..n)
                    .map(|_| {
                        self.pick_int(&self.smallint, rng, i16::MIN.into(), i16::MAX.into()) as i16
                    })
                    .collect(),
            ),
            DataType::Int => ColumnData::Int32(
                (0..n)
                    .map(|_| self.pick_int(&self.int, rng, i32::MIN.into(), i32::MAX.into()) as i32)
                    .collect(),
            ),
            DataType::BigInt => ColumnData::Int64(
                (0..n)
                    .map(|_| self.pick_int(&self.bigint, rng, i64::MIN, i64::MAX))
                    .collect(),
            ),
            DataType::Float => ColumnData::Float32(
                (0..n)
                    .map(|_| self.pick_num(&self.float, rng) as f32)
                    .collect(),
            ),
            DataType::Double => {
                ColumnData::Float64((0..n).map(|_| self.pick_num(&self.double, rng)).collect())
            }
            DataType::String => {
                let mut out = VarWidth::with_capacity(n, n * self.string_length);
                match &self.strings {
                    Some(t) if !t.is_empty() => {
                        for _ in 0..n {
                            out.push(t[rng.below(t.len())].as_bytes());
                        }
                    }
                    _ => {
                        for _ in 0..n {
                            rng.alphanumeric(self.string_length, &mut out.data);
                            out.offsets.push(out.data.len() as u32);
                        }
                    }
                }
                ColumnData::Utf8(out)
            }
            _ => {
                let mut b = ColumnBuilder::new(t);
                for _ in 0..n {
                    b.push(&self.value(t, rng)).map_err(Error::fatal)?;
                }
                return Ok(b.finish());
            }
        };
        Ok(Column::new(data))
    }

    /// One generated value, for nested and temporal types.
    fn value(&self, t: &DataType, rng: &mut Rng) -> Value {
        match t {
            DataType::Null => Value::Null,
            DataType::Boolean => Value::Boolean(rng.bool()),
            DataType::TinyInt => {
                Value::TinyInt(
                    self.pick_int(&self.tinyint, rng, i8::MIN.into(), i8::MAX.into()) as i8,
                )
            }
            DataType::SmallInt => {
                Value::SmallInt(
                    self.pick_int(&self.smallint, rng, i16::MIN.into(), i16::MAX.into()) as i16,
                )
            }
            DataType::Int => {
                Value::Int(self.pick_int(&self.int, rng, i32::MIN.into(), i32::MAX.into()) as i32)
            }
            DataType::BigInt => Value::BigInt(self.pick_int(&self.bigint, rng, i64::MIN, i64::MAX)),
            DataType::Float => Value::Float(self.pick_num(&self.float, rng) as f32),
            DataType::Double => Value::Double(self.pick_num(&self.double, rng)),
            DataType::Decimal { precision, scale } => {
                let digits = u32::from(*precision).min(18);
                let v = rng.i64_in(0, 10i64.pow(digits) - 1);
                Value::Decimal(i128::from(v), *scale)
            }
            DataType::String => match &self.strings {
                Some(t) if !t.is_empty() => Value::String(t[rng.below(t.len())].clone()),
                _ => {
                    let mut buf = Vec::with_capacity(self.string_length);
                    rng.alphanumeric(self.string_length, &mut buf);
                    Value::String(String::from_utf8_lossy(&buf).into_owned())
                }
            },
            DataType::Bytes => {
                let mut buf = Vec::with_capacity(self.bytes_length);
                rng.alphanumeric(self.bytes_length, &mut buf);
                Value::Bytes(buf)
            }
            DataType::Date => {
                let pick = |parts: &Option<Vec<i64>>, lo: i64, hi: i64, rng: &mut Rng| match parts {
                    Some(v) if !v.is_empty() => v[rng.below(v.len())],
                    _ => rng.i64_in(lo, hi),
                };
                let y = pick(&self.date_parts[0], 2000, 2030, rng) as i32;
                let m = pick(&self.date_parts[1], 1, 12, rng) as u32;
                let d = pick(&self.date_parts[2], 1, 28, rng) as u32;
                Value::Date(st_sdk_date(y, m, d))
            }
            DataType::Time => Value::Time(self.time_of_day(rng)),
            DataType::Timestamp | DataType::TimestampTz => {
                let day = i64::from(self.value(&DataType::Date, rng).as_date().unwrap_or(0));
                let micros = day * 86_400_000_000 + self.time_of_day(rng) / 1000;
                if *t == DataType::Timestamp {
                    Value::Timestamp(micros)
                } else {
                    Value::TimestampTz(micros)
                }
            }
            DataType::Array(inner) => Value::Array(
                (0..self.array_size)
                    .map(|_| self.value(inner, rng))
                    .collect(),
            ),
            // Keys are unique, as in SeaTunnel's maps: a key drawn twice is kept once.
            DataType::Map(k, v) => {
                let mut entries: Vec<(Value, Value)> = Vec::with_capacity(self.map_size);
                for _ in 0..self.map_size {
                    let (key, value) = (self.value(k, rng), self.value(v, rng));
                    if !entries.iter().any(|(seen, _)| *seen == key) {
                        entries.push((key, value));
                    }
                }
                Value::Map(entries)
            }
            DataType::Row(fields) => Value::Row(
                fields
                    .iter()
                    .map(|f| self.value(&f.data_type, rng))
                    .collect(),
            ),
        }
    }

    fn time_of_day(&self, rng: &mut Rng) -> i64 {
        let pick = |parts: &Option<Vec<i64>>, hi: i64, rng: &mut Rng| match parts {
            Some(v) if !v.is_empty() => v[rng.below(v.len())],
            _ => rng.i64_in(0, hi - 1),
        };
        let h = pick(&self.time_parts[0], 24, rng);
        let m = pick(&self.time_parts[1], 60, rng);
        let s = pick(&self.time_parts[2], 60, rng);
        ((h * 60 + m) * 60 + s) * 1_000_000_000
    }
}

trait AsDate {
    fn as_date(&self) -> Option<i32>;
}

impl AsDate for Value {
    fn as_date(&self) -> Option<i32> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }
}

fn st_sdk_date(y: i32, m: u32, d: u32) -> i32 {
    st_sdk::parse_date(&format!("{y:04}-{m:02}-{d:02}")).unwrap_or(0)
}

/// A literal from a job config, with FakeSource's extras: `CURRENT_DATE`, `CURRENT_TIME`,
/// `CURRENT_TIMESTAMP`, and base64 strings for bytes.
fn literal(v: &Json, t: &DataType) -> std::result::Result<Value, String> {
    if let Json::String(s) = v {
        let now_micros = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0)
        };
        match (s.as_str(), t) {
            ("CURRENT_TIMESTAMP", DataType::Timestamp) => {
                return Ok(Value::Timestamp(now_micros()));
            }
            ("CURRENT_TIMESTAMP", DataType::TimestampTz) => {
                return Ok(Value::TimestampTz(now_micros()));
            }
            ("CURRENT_DATE", DataType::Date) => {
                return Ok(Value::Date(now_micros().div_euclid(86_400_000_000) as i32));
            }
            ("CURRENT_TIME", DataType::Time) => {
                return Ok(Value::Time(now_micros().rem_euclid(86_400_000_000) * 1000));
            }
            (_, DataType::Bytes) => {
                return base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map(Value::Bytes)
                    .or_else(|_| Ok(Value::Bytes(s.as_bytes().to_vec())));
            }
            _ => {}
        }
    }
    Value::from_json(v, t).map_err(String::from)
}
