//! Single values, for the places that work a row at a time: literal rows in job configs,
//! assertions, printing. Bulk data stays in columns (see `batch`).

use std::fmt;

use base64::Engine as _;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::types::DataType;

/// SeaTunnel's RowKind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RowKind {
    #[default]
    Insert,
    UpdateBefore,
    UpdateAfter,
    Delete,
}

impl RowKind {
    /// Parses `INSERT`, `UPDATE_BEFORE`, `UPDATE_AFTER`, `DELETE` and the short forms `+I`, `-U`, `+U`, `-D`.
    pub fn parse(s: &str) -> Option<RowKind> {
        match s.trim().to_ascii_uppercase().as_str() {
            "INSERT" | "+I" => Some(RowKind::Insert),
            "UPDATE_BEFORE" | "-U" => Some(RowKind::UpdateBefore),
            "UPDATE_AFTER" | "+U" => Some(RowKind::UpdateAfter),
            "DELETE" | "-D" => Some(RowKind::Delete),
            _ => None,
        }
    }

    /// SeaTunnel's short form: `+I`, `-U`, `+U`, `-D`.
    pub fn short(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }

    /// SeaTunnel's long form: `INSERT`, `UPDATE_BEFORE`, `UPDATE_AFTER`, `DELETE`.
    pub fn name(self) -> &'static str {
        match self {
            RowKind::Insert => "INSERT",
            RowKind::UpdateBefore => "UPDATE_BEFORE",
            RowKind::UpdateAfter => "UPDATE_AFTER",
            RowKind::Delete => "DELETE",
        }
    }
}

/// One value of some `DataType`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    TinyInt(i8),
    SmallInt(i16),
    Int(i32),
    BigInt(i64),
    Float(f32),
    Double(f64),
    /// The unscaled value and the scale.
    Decimal(i128, u8),
    String(String),
    Bytes(Vec<u8>),
    Date(i32),
    Time(i64),
    Timestamp(i64),
    TimestampTz(i64),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Row(Vec<Value>),
}

const UNIX_EPOCH_DAY: i32 = 719_163; // days from 0001-01-01 (CE day 1) to 1970-01-01

/// Days since 1970-01-01 for a calendar date.
pub fn date_to_days(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - UNIX_EPOCH_DAY
}

/// The calendar date of a day number, if it is in chrono's range.
pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAY)?)
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(s: &str) -> Option<i32> {
    let s = crate::text::trim(s);
    if s.len() == 10
        && let Some(d) = fast_date(s.as_bytes())
    {
        return Some(d);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(date_to_days)
}

/// Parses `HH:MM:SS[.fff]` into nanoseconds of the day.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Some((secs, nanos)) = fast_time(crate::text::trim(s).as_bytes()) {
        return Some(i64::from(secs) * 1_000_000_000 + i64::from(nanos));
    }
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M"))
        .ok()?;
    Some(i64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(t.nanosecond()))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff]` (or with a space) into microseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = crate::text::trim(s);
    let b = s.as_bytes();
    if b.len() >= 19
        && (b[10] == b'T' || b[10] == b' ')
        && let (Some(d), Some((secs, nanos))) = (fast_date(b), fast_time(&b[11..]))
    {
        let days = i64::from(d);
        return Some(days * 86_400_000_000 + i64::from(secs) * 1_000_000 + i64::from(nanos / 1000));
    }
    let dt = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(dt.and_utc().timestamp_micros())
}

/// Parses a decimal literal into its unscaled value at `scale`, rounding half up.
pub fn parse_decimal(s: &str, scale: u8) -> Option<i128> {
    let s = crate::text::trim(s);
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = frac_part.as_bytes();
    let digit = |i: usize| frac.get(i).map_or(0, |b| b - b'0');
    let mut v: i128 = if int_part.len() + usize::from(scale) <= 18 {
        // Fits an i64 without checks (the common case, and much cheaper than i128 math).
        let mut small: i64 = 0;
        for b in int_part.bytes() {
            small = small * 10 + i64::from(b - b'0');
        }
        for i in 0..usize::from(scale) {
            small = small * 10 + i64::from(digit(i));
        }
        i128::from(small)
    } else {
        let mut big: i128 = 0;
        for b in int_part.bytes() {
            big = big.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        for i in 0..usize::from(scale) {
            big = big.checked_mul(10)?.checked_add(i128::from(digit(i)))?;
        }
        big
    };
    if frac.get(usize::from(scale)).is_some_and(|b| *b >= b'5') {
        v = v.checked_add(1)?;
    }
    Some(if neg { -v } else { v })
}

/// Formats an unscaled decimal with its scale, e.g. (12345, 2) → `123.45`.
pub fn format_decimal(v: i128, scale: u8) -> String {
    let mut out = Vec::with_capacity(24);
    crate::text::write_decimal(&mut out, v, scale);
    crate::text::ascii(out)
}

/// Formats days since the epoch as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let mut out = Vec::with_capacity(10);
    crate::text::write_date(&mut out, days);
    crate::text::ascii(out)
}

/// Two ASCII digits at `at`.
fn digits2(b: &[u8], at: usize) -> Option<u32> {
    let (x, y) = (*b.get(at)?, *b.get(at + 1)?);
    (x.is_ascii_digit() && y.is_ascii_digit())
        .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
}

/// `YYYY-MM-DD` at the start of `b`, without the general parser.
fn fast_date(b: &[u8]) -> Option<i32> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits2(b, 0)? * 100 + digits2(b, 2)?;
    crate::text::days_from_civil(year, digits2(b, 5)?, digits2(b, 8)?)
}

/// `HH:MM:SS[.f{1,9}]` as (seconds of the day, nanoseconds), without the general parser.
fn fast_time(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits2(b, 0)?, digits2(b, 3)?, digits2(b, 6)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let mut nanos = 0u32;
    if b.len() > 8 {
        let frac = b.get(9..)?;
        if b[8] != b'.' || frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        for (i, d) in frac.iter().enumerate() {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
    }
    Some((h * 3600 + m * 60 + sec, nanos))
}

/// Formats nanoseconds of the day as `HH:MM:SS[.fff]`.
pub fn format_time(nanos: i64) -> String {
    let mut out = Vec::with_capacity(18);
    crate::text::write_time(&mut out, nanos);
    crate::text::ascii(out)
}

/// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
pub fn format_timestamp(micros: i64) -> String {
    let mut out = Vec::with_capacity(26);
    crate::text::write_timestamp(&mut out, micros);
    crate::text::ascii(out)
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a number, for numeric comparisons.
    pub fn as_f64(&self) -> Option<f64> {
        Some(match self {
            Value::TinyInt(v) => f64::from(*v),
            Value::SmallInt(v) => f64::from(*v),
            Value::Int(v) => f64::from(*v),
            #[expect(
                clippy::cast_precision_loss,
                reason = "comparisons against configured bounds"
            )]
            Value::BigInt(v) => *v as f64,
            Value::Float(v) => f64::from(*v),
            Value::Double(v) => *v,
            Value::Decimal(v, s) => format_decimal(*v, *s).parse().ok()?,
            _ => return None,
        })
    }

    /// Reads a value of type `t` from its JSON form in a job config (FakeSource's `rows`,
    /// Assert's `equals_to`): numbers or numeric strings, `YYYY-MM-DD` dates, base64 bytes,
    /// arrays as lists, maps as objects, rows as lists of their fields in order.
    /// The value of `t` a JSON value writes (as FakeSource's `rows` and Assert's rules do).
    pub fn from_json(json: &serde_json::Value, t: &DataType) -> Result<Value, crate::DataError> {
        Value::from_json_text(json, t).map_err(crate::DataError)
    }

    fn from_json_text(json: &serde_json::Value, t: &DataType) -> Result<Value, String> {
        use serde_json::Value as J;
        if json.is_null() {
            return Ok(Value::Null);
        }
        let text = || match json {
            J::String(s) => Some(s.clone()),
            J::Number(n) => Some(n.to_string()),
            J::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let bad = || format!("`{json}` is not a valid {t}");
        let int = || -> Result<i64, String> {
            text()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(bad)
        };
        Ok(match t {
            DataType::Null => {
                return Err(format!(
                    "`{json}` given for a null-typed field; only null fits"
                ));
            }
            DataType::Boolean => match json {
                J::Bool(b) => Value::Boolean(*b),
                J::String(s) if s.eq_ignore_ascii_case("true") => Value::Boolean(true),
                J::String(s) if s.eq_ignore_ascii_case("false") => Value::Boolean(false),
                _ => return Err(bad()),
            },
            DataType::TinyInt => Value::TinyInt(i8::try_from(int()?).map_err(|_| bad())?),
            DataType::SmallInt => Value::SmallInt(i16::try_from(int()?).map_err(|_| bad())?),
            DataType::Int => Value::Int(i32::try_from(int()?).map_err(|_| bad())?),
            DataType::BigInt => Value::BigInt(int()?),
            DataType::Float => {
                Value::Float(text().and_then(|s| s.trim().parse().ok()).ok_or_else(bad)?)
            }
            DataType::Double => {
                Value::Double(text().and_then(|s| s.trim().parse().ok()).ok_or_else(bad)?)
            }
            DataType::Decimal { scale, .. } => Value::Decimal(
                text()
                    .and_then(|s| parse_decimal(&s, *scale))
                    .ok_or_else(bad)?,
                *scale,
            ),
            DataType::String => match json {
                J::String(s) => Value::String(s.clone()),
                J::Number(_) | J::Bool(_) => Value::String(text().unwrap_or_default()),
                other => Value::String(other.to_string()),
            },
            DataType::Bytes => match json {
                J::String(s) => Value::Bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(s.trim())
                        .map_err(|e| format!("{}: {e}", bad()))?,
                ),
                _ => return Err(bad()),
            },
            DataType::Date => Value::Date(text().and_then(|s| parse_date(&s)).ok_or_else(bad)?),
            DataType::Time => Value::Time(text().and_then(|s| parse_time(&s)).ok_or_else(bad)?),
            DataType::Timestamp => {
                Value::Timestamp(text().and_then(|s| parse_timestamp(&s)).ok_or_else(bad)?)
            }
            DataType::TimestampTz => {
                Value::TimestampTz(text().and_then(|s| parse_timestamp(&s)).ok_or_else(bad)?)
            }
            DataType::Array(inner) => match json {
                J::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|v| Value::from_json(v, inner))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(bad()),
            },
            DataType::Map(kt, vt) => match json {
                J::Object(entries) => Value::Map(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok((
                                Value::from_json(&J::String(k.clone()), kt)?,
                                Value::from_json(v, vt)?,
                            ))
                        })
                        .collect::<Result<_, String>>()?,
                ),
                _ => return Err(bad()),
            },
            DataType::Row(fields) => match json {
                J::Array(items) if items.len() == fields.len() => Value::Row(
                    items
                        .iter()
                        .zip(fields)
                        .map(|(v, f)| Value::from_json(v, &f.data_type))
                        .collect::<Result<_, _>>()?,
                ),
                J::Array(items) => {
                    return Err(format!(
                        "a row of {} fields needs {} values, found {}",
                        fields.len(),
                        fields.len(),
                        items.len()
                    ));
                }
                J::Object(map) => Value::Row(
                    fields
                        .iter()
                        .map(|f| {
                            map.get(&f.name)
                                .map_or(Ok(Value::Null), |v| Value::from_json(v, &f.data_type))
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(bad()),
            },
        })
    }
}

/// A float as Java's `Double.toString` (and `Float.toString`) writes it, which is what SeaTunnel
/// users see: plain between 10^-3 and 10^7 with at least one decimal, scientific (`1.5E10`)
/// outside, `NaN`, `Infinity`. The digits are the shortest that read back to the same value.
pub fn java_double(v: f64, as_f32: Option<f32>) -> String {
    let mut out = Vec::with_capacity(24);
    crate::text::write_java_double(&mut out, v, as_f32);
    crate::text::ascii(out)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::TinyInt(v) => write!(f, "{v}"),
            Value::SmallInt(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Float(v) => f.write_str(&java_double(f64::from(*v), Some(*v))),
            Value::Double(v) => f.write_str(&java_double(*v, None)),
            Value::Decimal(v, s) => f.write_str(&format_decimal(*v, *s)),
            Value::String(v) => f.write_str(v),
            Value::Bytes(v) => f.write_str(&base64::engine::general_purpose::STANDARD.encode(v)),
            Value::Date(v) => f.write_str(&format_date(*v)),
            Value::Time(v) => f.write_str(&format_time(*v)),
            Value::Timestamp(v) | Value::TimestampTz(v) => f.write_str(&format_timestamp(*v)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Row(fields) => {
                f.write_str("(")?;
                for (i, v) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_round_trip_through_the_fast_paths() {
        for text in [
            "1969-12-31T23:59:59.999999",
            "2038-01-19T03:14:08",
            "0001-01-01T00:00:00.5",
            "2024-02-29T12:00:00.123",
        ] {
            let micros = parse_timestamp(text).unwrap();
            let slow = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .unwrap()
                .and_utc()
                .timestamp_micros();
            assert_eq!(micros, slow, "{text}");
            let back = format_timestamp(micros);
            assert_eq!(parse_timestamp(&back), Some(micros), "{text} -> {back}");
        }
        assert_eq!(
            format_timestamp(parse_timestamp("2005-01-11 16:14:21").unwrap()),
            "2005-01-11T16:14:21"
        );
        assert_eq!(
            format_timestamp(parse_timestamp("2024-02-29T12:00:00.120").unwrap()),
            "2024-02-29T12:00:00.120"
        );
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(format_date(parse_date("1969-07-20").unwrap()), "1969-07-20");
        assert_eq!(parse_time("25:00:00"), None);
        assert_eq!(
            format_time(parse_time("23:59:59.999").unwrap()),
            "23:59:59.999"
        );
        assert_eq!(
            format_time(parse_time("01:02:03.000004").unwrap()),
            "01:02:03.000004"
        );
    }

    #[test]
    fn floats_print_as_java_does() {
        let d = |v: f64| java_double(v, None);
        assert_eq!(d(1.5), "1.5");
        assert_eq!(d(100.0), "100.0");
        assert_eq!(d(-2.25), "-2.25");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(1e7), "1.0E7");
        assert_eq!(d(1.5e10), "1.5E10");
        assert_eq!(d(-2.5e-7), "-2.5E-7");
        assert_eq!(d(0.0), "0.0");
        assert_eq!(d(f64::NAN), "NaN");
        assert_eq!(d(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java_double(1.1f32.into(), Some(1.1)), "1.1");
        assert_eq!(Value::Float(3.0).to_string(), "3.0");
    }

    #[test]
    fn decimals_parse_and_print_exactly() {
        assert_eq!(parse_decimal("99999.99999999", 8), Some(9_999_999_999_999));
        assert_eq!(format_decimal(9_999_999_999_999, 8), "99999.99999999");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(parse_decimal("1.005", 2), Some(101));
        assert_eq!(parse_decimal("abc", 2), None);
        // Either side of the i64 fast path, and past i128.
        assert_eq!(
            parse_decimal("-9999999999999999.99", 2),
            Some(-999_999_999_999_999_999)
        );
        assert_eq!(
            parse_decimal("12345678901234567890.125", 2),
            Some(1_234_567_890_123_456_789_013)
        );
        assert_eq!(parse_decimal(&"9".repeat(40), 0), None);
    }

    #[test]
    fn dates_and_times_round_trip() {
        let d = parse_date("2012-12-21").unwrap();
        assert_eq!(format_date(d), "2012-12-21");
        assert_eq!(format_time(parse_time("12:34:56").unwrap()), "12:34:56");
        assert_eq!(
            format_timestamp(parse_timestamp("2012-12-21T12:34:56").unwrap()),
            "2012-12-21T12:34:56"
        );
        assert_eq!(
            parse_timestamp("2012-12-21 12:34:56"),
            parse_timestamp("2012-12-21T12:34:56")
        );
    }

    #[test]
    fn json_values_follow_the_declared_type() {
        let t = DataType::parse("{a = array<int>, b = map<string, decimal(10, 2)>}").unwrap();
        let v = Value::from_json(&serde_json::json!([[1, 2], {"k": "1.5"}]), &t).unwrap();
        assert_eq!(
            v,
            Value::Row(vec![
                Value::Array(vec![Value::Int(1), Value::Int(2)]),
                Value::Map(vec![(Value::String("k".into()), Value::Decimal(150, 2))])
            ])
        );
        let e = Value::from_json(&serde_json::json!(300), &DataType::TinyInt).unwrap_err();
        assert!(e.0.contains("not a valid tinyint"), "{e}");
    }
}
