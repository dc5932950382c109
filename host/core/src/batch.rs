//! Columnar batches: the unit that moves between stages and across the wasm boundary.
//!
//! The layout follows Arrow's buffers (validity bitmap, offsets, flat values), so a batch
//! crosses the component boundary in one call with no per-row work.

use crate::DataError;
use crate::types::DataType;
use crate::value::{RowKind, Value};

/// Variable-width values (strings, bytes): value i is `data[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VarWidth {
    pub offsets: Vec<u32>,
    pub data: Vec<u8>,
}

impl VarWidth {
    pub fn with_capacity(rows: usize, bytes: usize) -> VarWidth {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        VarWidth {
            offsets,
            data: Vec::with_capacity(bytes),
        }
    }

    pub fn push(&mut self, v: &[u8]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.data.extend_from_slice(v);
        self.offsets
            .push(u32::try_from(self.data.len()).unwrap_or(u32::MAX));
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value i. Call only on validated data with i < len.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// The physical values of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Null(usize),
    Boolean(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Decimal(Vec<i128>),
    Utf8(VarWidth),
    Binary(VarWidth),
    List {
        offsets: Vec<u32>,
        child: Box<Column>,
    },
    Map {
        offsets: Vec<u32>,
        keys: Box<Column>,
        values: Box<Column>,
    },
    Row {
        len: usize,
        fields: Vec<Column>,
    },
}

/// A column: values plus an optional validity bitmap (bit set = not null).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub validity: Option<Vec<u8>>,
    pub data: ColumnData,
}

impl Column {
    pub fn new(data: ColumnData) -> Column {
        Column {
            validity: None,
            data,
        }
    }

    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Null(n) => *n,
            ColumnData::Boolean(v) => v.len(),
            ColumnData::Int8(v) => v.len(),
            ColumnData::Int16(v) => v.len(),
            ColumnData::Int32(v) => v.len(),
            ColumnData::Int64(v) => v.len(),
            ColumnData::Float32(v) => v.len(),
            ColumnData::Float64(v) => v.len(),
            ColumnData::Decimal(v) => v.len(),
            ColumnData::Utf8(v) | ColumnData::Binary(v) => v.len(),
            ColumnData::List { offsets, .. } | ColumnData::Map { offsets, .. } => {
                offsets.len().saturating_sub(1)
            }
            ColumnData::Row { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when row i holds null.
    pub fn is_null(&self, i: usize) -> bool {
        if matches!(self.data, ColumnData::Null(_)) {
            return true;
        }
        self.validity
            .as_ref()
            .is_some_and(|bits| bits.get(i / 8).is_none_or(|b| b & (1 << (i % 8)) == 0))
    }

    /// The value at row i as type `t`. The column must have passed `check` against `t`.
    pub fn value(&self, i: usize, t: &DataType) -> Value {
        if self.is_null(i) {
            return Value::Null;
        }
        match (&self.data, t) {
            (ColumnData::Boolean(v), _) => Value::Boolean(v[i]),
            (ColumnData::Int8(v), _) => Value::TinyInt(v[i]),
            (ColumnData::Int16(v), _) => Value::SmallInt(v[i]),
            (ColumnData::Int32(v), DataType::Date) => Value::Date(v[i]),
            (ColumnData::Int32(v), _) => Value::Int(v[i]),
            (ColumnData::Int64(v), DataType::Time) => Value::Time(v[i]),
            (ColumnData::Int64(v), DataType::Timestamp) => Value::Timestamp(v[i]),
            (ColumnData::Int64(v), DataType::TimestampTz) => Value::TimestampTz(v[i]),
            (ColumnData::Int64(v), _) => Value::BigInt(v[i]),
            (ColumnData::Float32(v), _) => Value::Float(v[i]),
            (ColumnData::Float64(v), _) => Value::Double(v[i]),
            (ColumnData::Decimal(v), DataType::Decimal { scale, .. }) => {
                Value::Decimal(v[i], *scale)
            }
            (ColumnData::Decimal(v), _) => Value::Decimal(v[i], 0),
            (ColumnData::Utf8(v), _) => {
                Value::String(String::from_utf8_lossy(v.get(i)).into_owned())
            }
            (ColumnData::Binary(v), _) => Value::Bytes(v.get(i).to_vec()),
            (ColumnData::List { offsets, child }, DataType::Array(inner)) => Value::Array(
                (offsets[i] as usize..offsets[i + 1] as usize)
                    .map(|j| child.value(j, inner))
                    .collect(),
            ),
            (
                ColumnData::Map {
                    offsets,
                    keys,
                    values,
                },
                DataType::Map(kt, vt),
            ) => Value::Map(
                (offsets[i] as usize..offsets[i + 1] as usize)
                    .map(|j| (keys.value(j, kt), values.value(j, vt)))
                    .collect(),
            ),
            (ColumnData::Row { fields, .. }, DataType::Row(types)) => Value::Row(
                fields
                    .iter()
                    .zip(types)
                    .map(|(c, f)| c.value(i, &f.data_type))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }

    /// Builds a column of type `t` from values. Fails when a value does not fit the type.
    /// A column of `t` holding `values`.
    pub fn from_values(t: &DataType, values: &[Value]) -> Result<Column, DataError> {
        Column::from_values_text(t, values).map_err(DataError)
    }

    fn from_values_text(t: &DataType, values: &[Value]) -> Result<Column, String> {
        let mut b = ColumnBuilder::new(t);
        for v in values {
            b.push(v)?;
        }
        Ok(b.finish())
    }

    /// Checks that the column is well-formed for `t` with exactly `len` rows: the physical
    /// layout matches the type, offsets are monotonic and in bounds, strings are UTF-8,
    /// the bitmap covers every row. A guest's batch is checked before the host reads it.
    /// Whether the column holds `len` values of `t`.
    pub fn check(&self, t: &DataType, len: usize) -> Result<(), DataError> {
        self.check_text(t, len).map_err(DataError)
    }

    fn check_text(&self, t: &DataType, len: usize) -> Result<(), String> {
        if let Some(bits) = &self.validity
            && bits.len() < len.div_ceil(8)
        {
            return Err(format!(
                "validity bitmap has {} bytes for {len} rows",
                bits.len()
            ));
        }
        let actual = self.len();
        if actual != len {
            return Err(format!("{actual} values where {len} rows were expected"));
        }
        let offsets_ok = |offsets: &[u32], limit: usize| -> Result<(), String> {
            if offsets.windows(2).any(|w| w[0] > w[1]) {
                return Err("offsets are not monotonic".into());
            }
            if offsets.last().is_some_and(|o| *o as usize > limit) {
                return Err(format!(
                    "offset {} past the end ({limit})",
                    offsets.last().copied().unwrap_or(0)
                ));
            }
            Ok(())
        };
        match (&self.data, t) {
            (ColumnData::Null(_), _) => Ok(()),
            (ColumnData::Boolean(_), DataType::Boolean)
            | (ColumnData::Int8(_), DataType::TinyInt)
            | (ColumnData::Int16(_), DataType::SmallInt)
            | (ColumnData::Int32(_), DataType::Int | DataType::Date)
            | (
                ColumnData::Int64(_),
                DataType::BigInt | DataType::Time | DataType::Timestamp | DataType::TimestampTz,
            )
            | (ColumnData::Float32(_), DataType::Float)
            | (ColumnData::Float64(_), DataType::Double)
            | (ColumnData::Decimal(_), DataType::Decimal { .. }) => Ok(()),
            (ColumnData::Utf8(v), DataType::String) => {
                offsets_ok(&v.offsets, v.data.len())?;
                // Validate the used bytes once, then check every value starts and ends on a
                // character boundary: together that makes each value valid UTF-8.
                let (start, end) = (
                    v.offsets.first().copied().unwrap_or(0) as usize,
                    v.offsets.last().copied().unwrap_or(0) as usize,
                );
                let text = std::str::from_utf8(&v.data[start.min(end)..end])
                    .map_err(|e| format!("not valid UTF-8 at byte {}", start + e.valid_up_to()))?;
                if let Some(i) = v
                    .offsets
                    .iter()
                    .position(|o| !text.is_char_boundary((*o as usize).saturating_sub(start)))
                {
                    return Err(format!(
                        "row {} is not valid UTF-8 (it splits a character)",
                        i.saturating_sub(1)
                    ));
                }
                Ok(())
            }
            (ColumnData::Binary(v), DataType::Bytes) => offsets_ok(&v.offsets, v.data.len()),
            (ColumnData::List { offsets, child }, DataType::Array(inner)) => {
                offsets_ok(offsets, child.len())?;
                child
                    .check(inner, child.len())
                    .map_err(|e| format!("array element: {e}"))
            }
            (
                ColumnData::Map {
                    offsets,
                    keys,
                    values,
                },
                DataType::Map(kt, vt),
            ) => {
                offsets_ok(offsets, keys.len())?;
                keys.check(kt, keys.len())
                    .map_err(|e| format!("map key: {e}"))?;
                values
                    .check(vt, keys.len())
                    .map_err(|e| format!("map value: {e}"))
            }
            (ColumnData::Row { fields, .. }, DataType::Row(types)) => {
                if fields.len() != types.len() {
                    return Err(format!(
                        "row has {} fields, its type has {}",
                        fields.len(),
                        types.len()
                    ));
                }
                for (c, f) in fields.iter().zip(types) {
                    c.check(&f.data_type, len)
                        .map_err(|e| format!("field `{}`: {e}", f.name))?;
                }
                Ok(())
            }
            (data, t) => Err(format!(
                "{} values in a column of type {t}",
                data.kind_name()
            )),
        }
    }
}

impl Column {
    /// The rows where `keep` is true, in order. `t` is the column's type.
    pub fn filter(&self, keep: &[bool], t: &DataType) -> Column {
        fn pick<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
            v.iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| x.clone())
                .collect()
        }
        let data = match &self.data {
            ColumnData::Null(_) => ColumnData::Null(keep.iter().filter(|k| **k).count()),
            ColumnData::Boolean(v) => ColumnData::Boolean(pick(v, keep)),
            ColumnData::Int8(v) => ColumnData::Int8(pick(v, keep)),
            ColumnData::Int16(v) => ColumnData::Int16(pick(v, keep)),
            ColumnData::Int32(v) => ColumnData::Int32(pick(v, keep)),
            ColumnData::Int64(v) => ColumnData::Int64(pick(v, keep)),
            ColumnData::Float32(v) => ColumnData::Float32(pick(v, keep)),
            ColumnData::Float64(v) => ColumnData::Float64(pick(v, keep)),
            ColumnData::Decimal(v) => ColumnData::Decimal(pick(v, keep)),
            ColumnData::Utf8(v) | ColumnData::Binary(v) => {
                let mut out = VarWidth::with_capacity(v.len(), v.data.len());
                for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
                    out.push(v.get(i));
                }
                if matches!(self.data, ColumnData::Utf8(_)) {
                    ColumnData::Utf8(out)
                } else {
                    ColumnData::Binary(out)
                }
            }
            _ => {
                let values: Vec<Value> = keep
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| **k)
                    .map(|(i, _)| self.value(i, t))
                    .collect();
                return Column::from_values(t, &values).unwrap_or_else(|_| Column::empty(t));
            }
        };
        let validity = self.validity.as_ref().map(|_| {
            let kept: Vec<bool> = keep
                .iter()
                .enumerate()
                .filter(|(_, k)| **k)
                .map(|(i, _)| !self.is_null(i))
                .collect();
            let mut bits = vec![0u8; kept.len().div_ceil(8)];
            for (i, valid) in kept.iter().enumerate() {
                if *valid {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            bits
        });
        Column { validity, data }
    }
}

impl ColumnData {
    /// The physical kind's name, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ColumnData::Null(_) => "null",
            ColumnData::Boolean(_) => "boolean",
            ColumnData::Int8(_) => "int8",
            ColumnData::Int16(_) => "int16",
            ColumnData::Int32(_) => "int32",
            ColumnData::Int64(_) => "int64",
            ColumnData::Float32(_) => "float32",
            ColumnData::Float64(_) => "float64",
            ColumnData::Decimal(_) => "decimal",
            ColumnData::Utf8(_) => "utf8",
            ColumnData::Binary(_) => "binary",
            ColumnData::List { .. } => "list",
            ColumnData::Map { .. } => "map",
            ColumnData::Row { .. } => "row",
        }
    }
}

/// Appends values of one type and produces a `Column`.
#[derive(Debug)]
pub struct ColumnBuilder {
    data: ColumnData,
    data_type: DataType,
    validity: Vec<u8>,
    has_null: bool,
    len: usize,
}

impl ColumnBuilder {
    pub fn new(t: &DataType) -> ColumnBuilder {
        let data = match t {
            DataType::Null => ColumnData::Null(0),
            DataType::Boolean => ColumnData::Boolean(Vec::new()),
            DataType::TinyInt => ColumnData::Int8(Vec::new()),
            DataType::SmallInt => ColumnData::Int16(Vec::new()),
            DataType::Int | DataType::Date => ColumnData::Int32(Vec::new()),
            DataType::BigInt | DataType::Time | DataType::Timestamp | DataType::TimestampTz => {
                ColumnData::Int64(Vec::new())
            }
            DataType::Float => ColumnData::Float32(Vec::new()),
            DataType::Double => ColumnData::Float64(Vec::new()),
            DataType::Decimal { .. } => ColumnData::Decimal(Vec::new()),
            DataType::String => ColumnData::Utf8(VarWidth::with_capacity(0, 0)),
            DataType::Bytes => ColumnData::Binary(VarWidth::with_capacity(0, 0)),
            DataType::Array(inner) => ColumnData::List {
                offsets: vec![0],
                child: Box::new(Column::empty(inner)),
            },
            DataType::Map(k, v) => ColumnData::Map {
                offsets: vec![0],
                keys: Box::new(Column::empty(k)),
                values: Box::new(Column::empty(v)),
            },
            DataType::Row(fields) => ColumnData::Row {
                len: 0,
                fields: fields.iter().map(|f| Column::empty(&f.data_type)).collect(),
            },
        };
        ColumnBuilder {
            data,
            data_type: t.clone(),
            validity: Vec::new(),
            has_null: false,
            len: 0,
        }
    }

    fn set_valid(&mut self, valid: bool) {
        if self.len.is_multiple_of(8) {
            self.validity.push(0);
        }
        if valid {
            if let Some(last) = self.validity.last_mut() {
                *last |= 1 << (self.len % 8);
            }
        } else {
            self.has_null = true;
        }
        self.len += 1;
    }

    /// Appends a value given as text (a csv or text file's field), parsed for the column's
    /// type; an empty field is null, except in a string column where it is the empty string.
    /// Parses `text` as a value of the column's type and appends it.
    pub fn push_text(&mut self, text: &str) -> Result<(), DataError> {
        self.push_text_inner(text).map_err(DataError)
    }

    fn push_text_inner(&mut self, text: &str) -> Result<(), String> {
        let bad = |t: &DataType| format!("`\"{text}\"` is not a valid {t}");
        match (&mut self.data, &self.data_type) {
            (ColumnData::Utf8(out), DataType::String) => out.push(text.as_bytes()),
            _ if text.is_empty() => return self.push_value(&Value::Null),
            (ColumnData::Int64(out), t @ DataType::BigInt) => {
                let text = crate::text::trim(text);
                out.push(match crate::text::parse_i64(text.as_bytes()) {
                    Some(v) => v,
                    None => text.parse().map_err(|_| bad(t))?,
                });
            }
            (ColumnData::Int32(out), t @ DataType::Int) => {
                let text = crate::text::trim(text);
                out.push(
                    match crate::text::parse_i64(text.as_bytes())
                        .and_then(|v| i32::try_from(v).ok())
                    {
                        Some(v) => v,
                        None => text.parse().map_err(|_| bad(t))?,
                    },
                );
            }
            (ColumnData::Float64(out), t @ DataType::Double) => {
                out.push(crate::text::trim(text).parse().map_err(|_| bad(t))?);
            }
            (ColumnData::Int32(out), t @ DataType::Date) => {
                out.push(crate::value::parse_date(text).ok_or_else(|| bad(t))?);
            }
            (ColumnData::Int64(out), t @ (DataType::Timestamp | DataType::TimestampTz)) => {
                out.push(crate::value::parse_timestamp(text).ok_or_else(|| bad(t))?);
            }
            (ColumnData::Decimal(out), t @ DataType::Decimal { scale, .. }) => {
                out.push(crate::value::parse_decimal(text, *scale).ok_or_else(|| bad(t))?);
            }
            (_, t) => {
                let t = t.clone();
                let v = Value::from_json(&serde_json::Value::String(text.to_string()), &t)?;
                return self.push_value(&v);
            }
        }
        self.set_valid(true);
        Ok(())
    }

    /// Appends one value; `Value::Null` appends a null.
    /// Appends `v`, which must be of the column's type (or null).
    pub fn push(&mut self, v: &Value) -> Result<(), DataError> {
        self.push_value(v).map_err(DataError)
    }

    fn push_value(&mut self, v: &Value) -> Result<(), String> {
        let is_null = v.is_null();
        let t = self.data_type.clone();
        let mismatch = || format!("value `{v}` does not fit type {t}");
        match &mut self.data {
            ColumnData::Null(n) => {
                if !is_null {
                    return Err(mismatch());
                }
                *n += 1;
            }
            ColumnData::Boolean(out) => out.push(match v {
                Value::Boolean(b) => *b,
                Value::Null => false,
                _ => return Err(mismatch()),
            }),
            ColumnData::Int8(out) => out.push(match v {
                Value::TinyInt(x) => *x,
                Value::Null => 0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Int16(out) => out.push(match v {
                Value::SmallInt(x) => *x,
                Value::Null => 0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Int32(out) => out.push(match v {
                Value::Int(x) | Value::Date(x) => *x,
                Value::Null => 0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Int64(out) => out.push(match v {
                Value::BigInt(x) | Value::Time(x) | Value::Timestamp(x) | Value::TimestampTz(x) => {
                    *x
                }
                Value::Null => 0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Float32(out) => out.push(match v {
                Value::Float(x) => *x,
                Value::Null => 0.0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Float64(out) => out.push(match v {
                Value::Double(x) => *x,
                Value::Null => 0.0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Decimal(out) => out.push(match v {
                Value::Decimal(x, _) => *x,
                Value::Null => 0,
                _ => return Err(mismatch()),
            }),
            ColumnData::Utf8(out) => match v {
                Value::String(s) => out.push(s.as_bytes()),
                Value::Null => out.push(b""),
                _ => return Err(mismatch()),
            },
            ColumnData::Binary(out) => match v {
                Value::Bytes(s) => out.push(s),
                Value::Null => out.push(b""),
                _ => return Err(mismatch()),
            },
            ColumnData::List { offsets, child } => {
                let DataType::Array(inner) = &t else {
                    return Err(mismatch());
                };
                match v {
                    Value::Array(items) => {
                        let mut b = ColumnBuilder::resume(
                            std::mem::replace(child.as_mut(), Column::empty(inner)),
                            inner,
                        );
                        for item in items {
                            b.push(item)?;
                        }
                        **child = b.finish();
                    }
                    Value::Null => {}
                    _ => return Err(mismatch()),
                }
                offsets.push(u32::try_from(child.len()).unwrap_or(u32::MAX));
            }
            ColumnData::Map {
                offsets,
                keys,
                values,
            } => {
                let DataType::Map(kt, vt) = &t else {
                    return Err(mismatch());
                };
                match v {
                    Value::Map(entries) => {
                        let mut kb = ColumnBuilder::resume(
                            std::mem::replace(keys.as_mut(), Column::empty(kt)),
                            kt,
                        );
                        let mut vb = ColumnBuilder::resume(
                            std::mem::replace(values.as_mut(), Column::empty(vt)),
                            vt,
                        );
                        for (k, val) in entries {
                            kb.push(k)?;
                            vb.push(val)?;
                        }
                        **keys = kb.finish();
                        **values = vb.finish();
                    }
                    Value::Null => {}
                    _ => return Err(mismatch()),
                }
                offsets.push(u32::try_from(keys.len()).unwrap_or(u32::MAX));
            }
            ColumnData::Row { len, fields } => {
                let DataType::Row(types) = &t else {
                    return Err(mismatch());
                };
                let items: Vec<Value> = match v {
                    Value::Row(items) if items.len() == types.len() => items.clone(),
                    Value::Null => vec![Value::Null; types.len()],
                    _ => return Err(mismatch()),
                };
                for ((col, f), item) in fields.iter_mut().zip(types).zip(&items) {
                    let mut b = ColumnBuilder::resume(
                        std::mem::replace(col, Column::empty(&f.data_type)),
                        &f.data_type,
                    );
                    b.push(item)?;
                    *col = b.finish();
                }
                *len += 1;
            }
        }
        self.set_valid(!is_null);
        Ok(())
    }

    /// Continues appending to an existing column.
    fn resume(col: Column, t: &DataType) -> ColumnBuilder {
        let len = col.len();
        let has_null = col.validity.is_some();
        let validity = col.validity.unwrap_or_else(|| {
            let mut bits = vec![0xffu8; len.div_ceil(8)];
            if !len.is_multiple_of(8)
                && let Some(last) = bits.last_mut()
            {
                *last = (1u8 << (len % 8)) - 1;
            }
            bits
        });
        ColumnBuilder {
            data: col.data,
            data_type: t.clone(),
            validity,
            has_null,
            len,
        }
    }

    pub fn finish(self) -> Column {
        Column {
            validity: self.has_null.then_some(self.validity),
            data: self.data,
        }
    }
}

impl Column {
    /// An empty column of type `t`.
    pub fn empty(t: &DataType) -> Column {
        ColumnBuilder::new(t).finish()
    }
}

/// Rows of one table, stored by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The table every row belongs to: an index into the producing stage's table list.
    pub table: u32,
    pub num_rows: usize,
    /// One per row; `None` means every row is an insert.
    pub row_kinds: Option<Vec<RowKind>>,
    pub columns: Vec<Column>,
}

impl Batch {
    /// Builds a batch from rows of values laid out as `types`.
    pub fn from_rows(
        table: u32,
        types: &[DataType],
        rows: &[(RowKind, Vec<Value>)],
    ) -> Result<Batch, DataError> {
        let mut builders: Vec<ColumnBuilder> = types.iter().map(ColumnBuilder::new).collect();
        for (r, (_, values)) in rows.iter().enumerate() {
            if values.len() != types.len() {
                return Err(DataError(format!(
                    "row {r} has {} values for {} columns",
                    values.len(),
                    types.len()
                )));
            }
            for (b, v) in builders.iter_mut().zip(values) {
                b.push(v).map_err(|e| format!("row {r}: {e}"))?;
            }
        }
        let kinds: Vec<RowKind> = rows.iter().map(|(k, _)| *k).collect();
        Ok(Batch {
            table,
            num_rows: rows.len(),
            row_kinds: kinds.iter().any(|k| *k != RowKind::Insert).then_some(kinds),
            columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
        })
    }

    pub fn row_kind(&self, i: usize) -> RowKind {
        self.row_kinds
            .as_ref()
            .and_then(|k| k.get(i).copied())
            .unwrap_or_default()
    }

    /// Row i as values. The batch must have passed `check` against `types`.
    pub fn row(&self, i: usize, types: &[DataType]) -> Vec<Value> {
        self.columns
            .iter()
            .zip(types)
            .map(|(c, t)| c.value(i, t))
            .collect()
    }

    /// Checks the batch against its table's column types; see `Column::check`.
    /// Whether the batch fits a table of these column types (`names` name them in messages).
    pub fn check(&self, types: &[DataType], names: &[String]) -> Result<(), DataError> {
        self.check_columns(types, names).map_err(DataError)
    }

    fn check_columns(&self, types: &[DataType], names: &[String]) -> Result<(), String> {
        if self.columns.len() != types.len() {
            return Err(format!(
                "{} columns where the table has {}",
                self.columns.len(),
                types.len()
            ));
        }
        if let Some(kinds) = &self.row_kinds
            && kinds.len() != self.num_rows
        {
            return Err(format!(
                "{} row kinds for {} rows",
                kinds.len(),
                self.num_rows
            ));
        }
        for ((c, t), name) in self.columns.iter().zip(types).zip(names) {
            c.check(t, self.num_rows)
                .map_err(|e| format!("column `{name}`: {e}"))?;
        }
        Ok(())
    }

    /// The rows where `keep` is true (one flag per row), with their row kinds.
    pub fn filter_rows(&self, keep: &[bool], types: &[DataType]) -> Batch {
        let kept = keep.iter().filter(|k| **k).count();
        Batch {
            table: self.table,
            num_rows: kept,
            row_kinds: self.row_kinds.as_ref().map(|k| {
                k.iter()
                    .zip(keep)
                    .filter(|(_, keep)| **keep)
                    .map(|(k, _)| *k)
                    .collect()
            }),
            columns: self
                .columns
                .iter()
                .zip(types)
                .map(|(c, t)| c.filter(keep, t))
                .collect(),
        }
    }

    /// An approximate size in bytes of the batch's buffers.
    pub fn byte_size(&self) -> usize {
        fn col(c: &Column) -> usize {
            c.validity.as_ref().map_or(0, Vec::len)
                + match &c.data {
                    ColumnData::Null(_) => 0,
                    ColumnData::Boolean(v) => v.len(),
                    ColumnData::Int8(v) => v.len(),
                    ColumnData::Int16(v) => v.len() * 2,
                    ColumnData::Int32(v) => v.len() * 4,
                    ColumnData::Float32(v) => v.len() * 4,
                    ColumnData::Int64(v) => v.len() * 8,
                    ColumnData::Float64(v) => v.len() * 8,
                    ColumnData::Decimal(v) => v.len() * 16,
                    ColumnData::Utf8(v) | ColumnData::Binary(v) => {
                        v.data.len() + v.offsets.len() * 4
                    }
                    ColumnData::List { offsets, child } => offsets.len() * 4 + col(child),
                    ColumnData::Map {
                        offsets,
                        keys,
                        values,
                    } => offsets.len() * 4 + col(keys) + col(values),
                    ColumnData::Row { fields, .. } => fields.iter().map(col).sum(),
                }
        }
        self.columns.iter().map(col).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_round_trip_through_columns() {
        let t = DataType::parse("{a = array<int>, m = map<string, bigint>, s = string}").unwrap();
        let rows = vec![
            Value::Row(vec![
                Value::Array(vec![Value::Int(1), Value::Null]),
                Value::Map(vec![(Value::String("k".into()), Value::BigInt(7))]),
                Value::String("x".into()),
            ]),
            Value::Null,
            Value::Row(vec![Value::Array(vec![]), Value::Map(vec![]), Value::Null]),
        ];
        let col = Column::from_values(&t, &rows).unwrap();
        col.check(&t, 3).unwrap();
        let back: Vec<Value> = (0..3).map(|i| col.value(i, &t)).collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn filter_keeps_chosen_rows_with_nulls_and_kinds() {
        let types = vec![DataType::Int, DataType::parse("array<string>").unwrap()];
        let rows = vec![
            (
                RowKind::Insert,
                vec![Value::Int(1), Value::Array(vec![Value::String("a".into())])],
            ),
            (RowKind::Delete, vec![Value::Null, Value::Null]),
            (
                RowKind::UpdateAfter,
                vec![Value::Int(3), Value::Array(vec![])],
            ),
        ];
        let b = Batch::from_rows(0, &types, &rows).unwrap();
        let f = b.filter_rows(&[false, true, true], &types);
        f.check(&types, &["a".into(), "b".into()]).unwrap();
        assert_eq!(f.num_rows, 2);
        assert_eq!(f.row(0, &types), vec![Value::Null, Value::Null]);
        assert_eq!(f.row(1, &types), vec![Value::Int(3), Value::Array(vec![])]);
        assert_eq!(f.row_kind(1), RowKind::UpdateAfter);
    }

    #[test]
    fn utf8_check_catches_a_value_that_splits_a_character() {
        let col = Column::new(ColumnData::Utf8(VarWidth {
            offsets: vec![0, 1, 2],
            data: "é".as_bytes().to_vec(),
        }));
        assert!(
            col.check(&DataType::String, 2)
                .unwrap_err()
                .0
                .contains("splits a character")
        );
        let bad = Column::new(ColumnData::Utf8(VarWidth {
            offsets: vec![0, 1],
            data: vec![0xff],
        }));
        assert!(
            bad.check(&DataType::String, 1)
                .unwrap_err()
                .0
                .contains("not valid UTF-8")
        );
    }

    #[test]
    fn check_rejects_malformed_columns() {
        let bad = Column::new(ColumnData::Utf8(VarWidth {
            offsets: vec![0, 5],
            data: vec![b'a'],
        }));
        assert!(
            bad.check(&DataType::String, 1)
                .unwrap_err()
                .0
                .contains("past the end")
        );
        let wrong = Column::new(ColumnData::Int32(vec![1]));
        assert!(
            wrong
                .check(&DataType::String, 1)
                .unwrap_err()
                .0
                .contains("int32 values in a column of type string")
        );
        let short = Column::new(ColumnData::Int64(vec![1]));
        assert!(
            short
                .check(&DataType::BigInt, 2)
                .unwrap_err()
                .0
                .contains("1 values where 2 rows")
        );
    }
}
