//! The scalar functions of SeaTunnel's SQL transform: their result types (checked when the
//! query is compiled) and their evaluation. Most return null when an argument is null.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use st_sdk::{DataType, Value};

use crate::eval::{Evaluator, coerce};

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::String | DataType::Null)
}

fn is_num(t: &DataType) -> bool {
    t.is_numeric() || *t == DataType::Null
}

fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date
            | DataType::Timestamp
            | DataType::TimestampTz
            | DataType::Time
            | DataType::Null
            | DataType::String
    )
}

/// Checks argument count and types; returns the result type.
pub fn return_type(name: &str, args: &[DataType]) -> Result<DataType, String> {
    let n = args.len();
    let arity = |lo: usize, hi: usize| -> Result<(), String> {
        if n < lo || n > hi {
            let want = if lo == hi {
                format!("{lo}")
            } else if hi == usize::MAX {
                format!("at least {lo}")
            } else {
                format!("{lo} to {hi}")
            };
            Err(format!(
                "{name} takes {want} argument{}, found {n}",
                if hi == 1 { "" } else { "s" }
            ))
        } else {
            Ok(())
        }
    };
    let want = |i: usize, ok: fn(&DataType) -> bool, what: &str| -> Result<(), String> {
        match args.get(i) {
            Some(t) if !ok(t) => Err(format!(
                "{name} expects {what} as argument {}, found {t}",
                i + 1
            )),
            _ => Ok(()),
        }
    };
    use DataType as T;
    Ok(match name {
        "ASCII" => {
            arity(1, 1)?;
            want(0, is_text, "a string")?;
            T::Int
        }
        "BIT_LENGTH" | "CHAR_LENGTH" | "LENGTH" | "OCTET_LENGTH" => {
            arity(1, 1)?;
            T::BigInt
        }
        "CHAR" | "CHR" => {
            arity(1, 1)?;
            want(0, is_num, "a number")?;
            T::String
        }
        "CONCAT" => {
            arity(1, usize::MAX)?;
            T::String
        }
        "CONCAT_WS" => {
            arity(2, usize::MAX)?;
            T::String
        }
        "HEXTORAW" | "RAWTOHEX" | "LOWER" | "LCASE" | "UPPER" | "UCASE" | "SOUNDEX" => {
            arity(1, 1)?;
            if name != "RAWTOHEX" {
                want(0, is_text, "a string")?;
            }
            T::String
        }
        "INSERT" => {
            arity(4, 4)?;
            want(0, is_text, "a string")?;
            want(1, is_num, "a number")?;
            want(2, is_num, "a number")?;
            T::String
        }
        "LEFT" | "RIGHT" | "REPEAT" => {
            arity(2, 2)?;
            want(1, is_num, "a number")?;
            T::String
        }
        "LOCATE" | "INSTR" | "POSITION" => {
            arity(2, 3)?;
            T::Int
        }
        "LPAD" | "RPAD" => {
            arity(2, 3)?;
            want(1, is_num, "a number")?;
            T::String
        }
        "LTRIM" | "RTRIM" | "TRIM" => {
            arity(1, 2)?;
            T::String
        }
        "REGEXP_REPLACE" => {
            arity(3, 4)?;
            T::String
        }
        "REGEXP_LIKE" => {
            arity(2, 3)?;
            T::Boolean
        }
        "REGEXP_SUBSTR" => {
            arity(2, 6)?;
            T::String
        }
        "REPLACE" => {
            arity(2, 3)?;
            T::String
        }
        "SPACE" => {
            arity(1, 1)?;
            want(0, is_num, "a number")?;
            T::String
        }
        "SUBSTRING" | "SUBSTR" => {
            arity(2, 3)?;
            want(1, is_num, "a number")?;
            T::String
        }
        "TO_CHAR" => {
            arity(1, 2)?;
            T::String
        }
        "TRANSLATE" => {
            arity(3, 3)?;
            T::String
        }
        "ABS" | "SIGN" => {
            arity(1, 1)?;
            want(0, is_num, "a number")?;
            if name == "SIGN" {
                T::Int
            } else {
                args[0].clone()
            }
        }
        "ACOS" | "ASIN" | "ATAN" | "COS" | "COSH" | "COT" | "SIN" | "SINH" | "TAN" | "TANH"
        | "EXP" | "LN" | "LOG10" | "RADIANS" | "SQRT" | "DEGREES" => {
            arity(1, 1)?;
            want(0, is_num, "a number")?;
            T::Double
        }
        "LOG" => {
            arity(1, 2)?;
            want(0, is_num, "a number")?;
            want(1, is_num, "a number")?;
            T::Double
        }
        "ATAN2" | "POWER" => {
            arity(2, 2)?;
            want(0, is_num, "a number")?;
            want(1, is_num, "a number")?;
            T::Double
        }
        "MOD" => {
            arity(2, 2)?;
            want(0, is_num, "a number")?;
            want(1, is_num, "a number")?;
            crate::compile::numeric_result(&args[0], &args[1]).unwrap_or(T::Double)
        }
        // Of a float or double, SeaTunnel returns an INT.
        "CEIL" | "CEILING" | "FLOOR" => {
            arity(1, 1)?;
            want(0, is_num, "a number")?;
            match &args[0] {
                T::Float | T::Double => T::Int,
                T::Decimal { precision, .. } => T::Decimal {
                    precision: *precision,
                    scale: 0,
                },
                other => other.clone(),
            }
        }
        "ROUND" | "TRUNC" | "TRUNCATE" => {
            arity(1, 2)?;
            want(0, is_num, "a number")?;
            args[0].clone()
        }
        "PI" | "RAND" | "RANDOM" => {
            arity(0, 1)?;
            T::Double
        }
        "CURRENT_DATE" => T::Date,
        "CURRENT_TIME" => T::Time,
        "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" => T::Timestamp,
        // SeaTunnel's order: the date-time first, the unit last (DAY when left out).
        "DATEADD" | "TIMESTAMPADD" => {
            arity(2, 3)?;
            want(0, is_time, "a date or timestamp")?;
            want(1, is_num, "a number")?;
            match &args[0] {
                T::Date => T::Date,
                T::Time => T::Time,
                _ => T::Timestamp,
            }
        }
        "DATEDIFF" | "TIMESTAMPDIFF" => {
            arity(2, 3)?;
            want(0, is_time, "a date or timestamp")?;
            want(1, is_time, "a date or timestamp")?;
            T::BigInt
        }
        "DATE_TRUNC" => {
            arity(2, 2)?;
            want(0, is_time, "a date or timestamp")?;
            if args[0] == T::Date {
                T::Date
            } else {
                T::Timestamp
            }
        }
        "DAYNAME" | "MONTHNAME" => {
            arity(1, 1)?;
            want(0, is_time, "a date or timestamp")?;
            T::String
        }
        "DAY_OF_MONTH" | "DAYOFMONTH" | "DAY" | "DAY_OF_WEEK" | "DAYOFWEEK" | "DAY_OF_YEAR"
        | "DAYOFYEAR" | "HOUR" | "MINUTE" | "MONTH" | "QUARTER" | "SECOND" | "WEEK" | "YEAR" => {
            arity(1, 1)?;
            want(0, is_time, "a date, time or timestamp")?;
            T::Int
        }
        "EXTRACT" => T::Int,
        "FORMATDATETIME" => {
            arity(2, 2)?;
            want(0, is_time, "a date or timestamp")?;
            T::String
        }
        "PARSEDATETIME" | "TO_DATE" => {
            arity(2, 2)?;
            want(0, is_text, "a string")?;
            parsed_type(name)
        }
        "IS_DATE" => {
            arity(2, 2)?;
            T::Boolean
        }
        "FROM_UNIXTIME" => {
            arity(1, 3)?;
            want(0, is_num, "a number")?;
            T::String
        }
        "COALESCE" | "IFNULL" | "NULLIF" | "NVL" => {
            arity(
                if name == "COALESCE" { 1 } else { 2 },
                if name == "COALESCE" { usize::MAX } else { 2 },
            )?;
            args.iter()
                .find(|t| **t != T::Null)
                .cloned()
                .unwrap_or(T::Null)
        }
        "UUID" => {
            arity(0, 0)?;
            T::String
        }
        "DES_ENCRYPT" | "DES_DECRYPT" => {
            arity(2, 2)?;
            T::String
        }
        other => return Err(format!("unknown function {other}")),
    })
}

fn text(v: &Value) -> String {
    v.to_string()
}

fn int(v: &Value) -> Result<i64, String> {
    match coerce(v.clone(), &DataType::BigInt)? {
        Value::BigInt(i) => Ok(i),
        other => Err(format!("`{other}` is not a number")),
    }
}

fn float(v: &Value) -> Result<f64, String> {
    v.as_f64().ok_or_else(|| format!("`{v}` is not a number"))
}

fn datetime(v: &Value) -> Option<NaiveDateTime> {
    let micros = match v {
        Value::Date(d) => i64::from(*d) * 86_400_000_000,
        Value::Timestamp(m) | Value::TimestampTz(m) => *m,
        Value::Time(n) => n / 1000,
        Value::String(s) => st_sdk::parse_timestamp(s)?,
        _ => return None,
    };
    chrono::DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

fn from_datetime(d: NaiveDateTime, t: &DataType) -> Value {
    let micros = d.and_utc().timestamp_micros();
    match t {
        DataType::Date => Value::Date(micros.div_euclid(86_400_000_000) as i32),
        DataType::Time => Value::Time(micros.rem_euclid(86_400_000_000) * 1000),
        _ => Value::Timestamp(micros),
    }
}

/// Java date patterns (`yyyy-MM-dd HH:mm:ss.SSS`) as chrono's.
fn java_format(p: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
                i += n;
                continue;
            }
        };
        out.push_str(spec);
        i += n;
    }
    out
}

fn regex<'a>(
    ev: &'a mut Evaluator,
    pattern: &str,
    flags: &str,
) -> Result<&'a regex::Regex, String> {
    let key = (pattern.to_string(), flags.to_string());
    if !ev.regexes.contains_key(&key) {
        let mut b = regex::RegexBuilder::new(pattern);
        for f in flags.chars() {
            match f {
                'i' => b.case_insensitive(true),
                'c' => b.case_insensitive(false),
                'n' => b.dot_matches_new_line(true),
                'm' => b.multi_line(true),
                other => {
                    return Err(format!(
                        "regular expression flag `{other}` is not one of i, c, n, m"
                    ));
                }
            };
        }
        let re = b
            .build()
            .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))?;
        ev.regexes.insert(key.clone(), re);
    }
    ev.regexes
        .get(&key)
        .ok_or_else(|| "regex cache".to_string())
}

fn soundex(s: &str) -> String {
    let code = |c: char| match c.to_ascii_lowercase() {
        'b' | 'f' | 'p' | 'v' => '1',
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
        'd' | 't' => '3',
        'l' => '4',
        'm' | 'n' => '5',
        'r' => '6',
        'h' | 'w' => 'h',
        _ => '0',
    };
    let letters: Vec<char> = s.chars().filter(char::is_ascii_alphabetic).collect();
    let Some(first) = letters.first() else {
        return String::new();
    };
    let mut out = first.to_ascii_uppercase().to_string();
    let mut last = code(*first);
    for &c in &letters[1..] {
        let d = code(c);
        if d == 'h' {
            continue;
        }
        if d != '0' && d != last {
            out.push(d);
        }
        last = d;
        if out.len() == 4 {
            break;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

fn pad(s: &str, len: i64, with: &str, left: bool) -> String {
    let len = len.max(0) as usize;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len {
        return chars[..len].iter().collect();
    }
    let fill: Vec<char> = if with.is_empty() {
        vec![' ']
    } else {
        with.chars().collect()
    };
    let padding: String = fill.iter().cycle().take(len - chars.len()).collect();
    if left {
        format!("{padding}{s}")
    } else {
        format!("{s}{padding}")
    }
}

fn trim(s: &str, chars: Option<&str>, left: bool, right: bool) -> String {
    let set: Vec<char> = chars.map_or_else(|| vec![' '], |c| c.chars().collect());
    let mut out = s;
    if left {
        out = out.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        out = out.trim_end_matches(|c| set.contains(&c));
    }
    out.to_string()
}

pub fn call(
    ev: &mut Evaluator,
    name: &str,
    args: Vec<Value>,
    types: &[DataType],
) -> Result<Value, String> {
    let null_in = args.iter().any(Value::is_null);
    let s = |i: usize| args.get(i).map(text).unwrap_or_default();
    match name {
        "CONCAT" => {
            return Ok(Value::String(
                args.iter().filter(|a| !a.is_null()).map(text).collect(),
            ));
        }
        "CONCAT_WS" => {
            let sep = if args[0].is_null() {
                String::new()
            } else {
                s(0)
            };
            let parts: Vec<String> = args[1..]
                .iter()
                .filter(|a| !a.is_null())
                .map(text)
                .collect();
            return Ok(Value::String(parts.join(&sep)));
        }
        "COALESCE" => {
            return Ok(args
                .into_iter()
                .find(|a| !a.is_null())
                .unwrap_or(Value::Null));
        }
        "IFNULL" | "NVL" => {
            return Ok(if args[0].is_null() {
                args[1].clone()
            } else {
                args[0].clone()
            });
        }
        "NULLIF" => {
            return Ok(
                if crate::eval::compare(&args[0], &args[1]) == Some(std::cmp::Ordering::Equal) {
                    Value::Null
                } else {
                    args[0].clone()
                },
            );
        }
        "UUID" => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_mut(8).enumerate() {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let x = (t as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(17 * (i as u32 + 1))
                    ^ (ev.regexes.len() as u64);
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            return Ok(Value::String(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )));
        }
        "PI" => return Ok(Value::Double(std::f64::consts::PI)),
        "RAND" | "RANDOM" => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            return Ok(Value::Double(f64::from(t % 1_000_000) / 1_000_000.0));
        }
        "CURRENT_DATE" | "CURRENT_TIME" | "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" => {
            let now = chrono::Utc::now().naive_utc();
            let t = match name {
                "CURRENT_DATE" => DataType::Date,
                "CURRENT_TIME" => DataType::Time,
                _ => DataType::Timestamp,
            };
            return Ok(from_datetime(now, &t));
        }
        "REGEXP_SUBSTR" if !args[0].is_null() && !args[1].is_null() => {}
        "TO_CHAR" if args.len() == 2 && args[1].is_null() => {}
        _ if null_in => return Ok(Value::Null),
        _ => {}
    }
    Ok(match name {
        "ASCII" => s(0)
            .chars()
            .next()
            .map_or(Value::Null, |c| Value::Int(c as i32)),
        "BIT_LENGTH" => Value::BigInt(match &args[0] {
            Value::Bytes(b) => b.len() as i64 * 8,
            other => text(other).len() as i64 * 8,
        }),
        "OCTET_LENGTH" => Value::BigInt(match &args[0] {
            Value::Bytes(b) => b.len() as i64,
            other => text(other).len() as i64,
        }),
        "CHAR_LENGTH" | "LENGTH" => Value::BigInt(match &args[0] {
            Value::Bytes(b) => b.len() as i64,
            other => text(other).chars().count() as i64,
        }),
        "CHAR" | "CHR" => Value::String(
            char::from_u32(u32::try_from(int(&args[0])?).unwrap_or(0))
                .map(String::from)
                .unwrap_or_default(),
        ),
        "HEXTORAW" => {
            let h = s(0);
            let mut out = String::new();
            let digits: Vec<char> = h.chars().collect();
            for chunk in digits.chunks(4) {
                let code = u32::from_str_radix(&chunk.iter().collect::<String>(), 16)
                    .map_err(|_| format!("`{h}` is not hexadecimal"))?;
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Value::String(out)
        }
        "RAWTOHEX" => Value::String(match &args[0] {
            Value::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
            other => text(other)
                .encode_utf16()
                .map(|u| format!("{u:04x}"))
                .collect(),
        }),
        "INSERT" => {
            let chars: Vec<char> = s(0).chars().collect();
            let start = (int(&args[1])?.max(1) as usize - 1).min(chars.len());
            let len = int(&args[2])?.max(0) as usize;
            let end = (start + len).min(chars.len());
            Value::String(
                chars[..start]
                    .iter()
                    .chain(s(3).chars().collect::<Vec<_>>().iter())
                    .chain(chars[end..].iter())
                    .collect(),
            )
        }
        "LOWER" | "LCASE" => Value::String(s(0).to_lowercase()),
        "UPPER" | "UCASE" => Value::String(s(0).to_uppercase()),
        "LEFT" => Value::String(s(0).chars().take(int(&args[1])?.max(0) as usize).collect()),
        "RIGHT" => {
            let chars: Vec<char> = s(0).chars().collect();
            let n = (int(&args[1])?.max(0) as usize).min(chars.len());
            Value::String(chars[chars.len() - n..].iter().collect())
        }
        "LOCATE" | "INSTR" | "POSITION" => {
            let (needle, hay) = if name == "INSTR" {
                (s(1), s(0))
            } else {
                (s(0), s(1))
            };
            let start = if args.len() == 3 { int(&args[2])? } else { 1 };
            let hay_chars: Vec<char> = hay.chars().collect();
            let needle_chars: Vec<char> = needle.chars().collect();
            let found = if start < 0 {
                let end = (hay_chars.len() as i64 + start + 1).max(0) as usize;
                (0..end.saturating_sub(needle_chars.len().saturating_sub(1)))
                    .rev()
                    .find(|i| hay_chars[*i..].starts_with(&needle_chars))
            } else {
                let from = (start.max(1) - 1) as usize;
                (from..hay_chars.len()).find(|i| hay_chars[*i..].starts_with(&needle_chars))
            };
            Value::Int(found.map_or(0, |i| i as i32 + 1))
        }
        "LPAD" | "RPAD" => {
            let with = if args.len() == 3 { s(2) } else { " ".into() };
            Value::String(pad(&s(0), int(&args[1])?, &with, name == "LPAD"))
        }
        "LTRIM" | "RTRIM" | "TRIM" => {
            let chars = (args.len() == 2).then(|| s(1));
            Value::String(trim(
                &s(0),
                chars.as_deref(),
                name != "RTRIM",
                name != "LTRIM",
            ))
        }
        "REGEXP_REPLACE" => {
            let flags = if args.len() == 4 { s(3) } else { String::new() };
            let input = s(0);
            let repl = s(2);
            let re = regex(ev, &s(1), &flags)?;
            Value::String(re.replace_all(&input, repl.as_str()).into_owned())
        }
        "REGEXP_LIKE" => {
            let flags = if args.len() == 3 { s(2) } else { String::new() };
            let input = s(0);
            Value::Boolean(regex(ev, &s(1), &flags)?.is_match(&input))
        }
        "REGEXP_SUBSTR" => {
            let input = s(0);
            let position = if args.len() > 2 && !args[2].is_null() {
                int(&args[2])?.max(1) as usize
            } else {
                1
            };
            let occurrence = if args.len() > 3 && !args[3].is_null() {
                int(&args[3])?.max(1) as usize
            } else {
                1
            };
            let flags = if args.len() > 4 && !args[4].is_null() {
                s(4)
            } else {
                String::new()
            };
            let group = if args.len() > 5 && !args[5].is_null() {
                int(&args[5])?.max(0) as usize
            } else {
                0
            };
            let start = input
                .char_indices()
                .nth(position - 1)
                .map_or(input.len(), |(i, _)| i);
            let re = regex(ev, &s(1), &flags)?;
            match re.captures_iter(&input[start..]).nth(occurrence - 1) {
                Some(c) => c
                    .get(group)
                    .map_or(Value::Null, |m| Value::String(m.as_str().to_string())),
                None => Value::Null,
            }
        }
        "REPEAT" => Value::String(s(0).repeat(int(&args[1])?.max(0) as usize)),
        "REPLACE" => {
            Value::String(s(0).replace(&s(1), &if args.len() == 3 { s(2) } else { String::new() }))
        }
        "SOUNDEX" => Value::String(soundex(&s(0))),
        "SPACE" => Value::String(" ".repeat(int(&args[0])?.max(0) as usize)),
        "SUBSTRING" | "SUBSTR" => {
            let chars: Vec<char> = s(0).chars().collect();
            let start = int(&args[1])?;
            let from = if start < 0 {
                (chars.len() as i64 + start).max(0) as usize
            } else {
                (start.max(1) - 1) as usize
            };
            let from = from.min(chars.len());
            let len = if args.len() == 3 {
                int(&args[2])?.max(0) as usize
            } else {
                chars.len()
            };
            Value::String(chars[from..(from + len).min(chars.len())].iter().collect())
        }
        "TO_CHAR" => match (&args[0], args.get(1)) {
            (
                v @ (Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_) | Value::Time(_)),
                Some(f),
            ) if !f.is_null() => {
                let d = datetime(v).ok_or("bad date")?;
                Value::String(d.format(&java_format(&text(f))).to_string())
            }
            (v, _) => Value::String(text(v)),
        },
        "TRANSLATE" => {
            let from: Vec<char> = s(1).chars().collect();
            let to: Vec<char> = s(2).chars().collect();
            Value::String(
                s(0).chars()
                    .filter_map(|c| match from.iter().position(|f| *f == c) {
                        Some(i) => to.get(i).copied(),
                        None => Some(c),
                    })
                    .collect(),
            )
        }
        "ABS" => match &args[0] {
            Value::TinyInt(x) => Value::TinyInt(x.wrapping_abs()),
            Value::SmallInt(x) => Value::SmallInt(x.wrapping_abs()),
            Value::Int(x) => Value::Int(x.wrapping_abs()),
            Value::BigInt(x) => Value::BigInt(x.wrapping_abs()),
            Value::Float(x) => Value::Float(x.abs()),
            Value::Decimal(x, sc) => Value::Decimal(x.abs(), *sc),
            other => Value::Double(float(other)?.abs()),
        },
        "SIGN" => Value::Int(float(&args[0])?.signum() as i32 * i32::from(float(&args[0])? != 0.0)),
        "ACOS" => Value::Double(float(&args[0])?.acos()),
        "ASIN" => Value::Double(float(&args[0])?.asin()),
        "ATAN" => Value::Double(float(&args[0])?.atan()),
        "ATAN2" => Value::Double(float(&args[0])?.atan2(float(&args[1])?)),
        "COS" => Value::Double(float(&args[0])?.cos()),
        "COSH" => Value::Double(float(&args[0])?.cosh()),
        "COT" => Value::Double(1.0 / float(&args[0])?.tan()),
        "SIN" => Value::Double(float(&args[0])?.sin()),
        "SINH" => Value::Double(float(&args[0])?.sinh()),
        "TAN" => Value::Double(float(&args[0])?.tan()),
        "TANH" => Value::Double(float(&args[0])?.tanh()),
        "EXP" => Value::Double(float(&args[0])?.exp()),
        "LN" => Value::Double(float(&args[0])?.ln()),
        "LOG10" => Value::Double(float(&args[0])?.log10()),
        "LOG" if args.len() == 2 => Value::Double(float(&args[1])?.log(float(&args[0])?)),
        "LOG" => Value::Double(float(&args[0])?.ln()),
        "RADIANS" => Value::Double(float(&args[0])?.to_radians()),
        "DEGREES" => Value::Double(float(&args[0])?.to_degrees()),
        "SQRT" => Value::Double(float(&args[0])?.sqrt()),
        "POWER" => Value::Double(float(&args[0])?.powf(float(&args[1])?)),
        "MOD" => crate::eval::arith(crate::compile::Op::Mod, args[0].clone(), args[1].clone())?,
        "CEIL" | "CEILING" | "FLOOR" => {
            let up = name != "FLOOR";
            match &args[0] {
                Value::Decimal(x, sc) => {
                    let p = 10i128.pow(u32::from(*sc));
                    let q = x.div_euclid(p) + i128::from(up && x.rem_euclid(p) != 0);
                    Value::Decimal(q, 0)
                }
                Value::Float(_) | Value::Double(_) => {
                    let f = float(&args[0])?;
                    let r = if up { f.ceil() } else { f.floor() };
                    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&r) {
                        return Err(format!("{r} does not fit the INT that {name} returns"));
                    }
                    Value::Int(r as i32)
                }
                other => other.clone(),
            }
        }
        "ROUND" | "TRUNC" | "TRUNCATE" => {
            let digits = if args.len() == 2 { int(&args[1])? } else { 0 } as i32;
            let f = float(&args[0])?;
            let m = 10f64.powi(digits);
            let r = if name == "ROUND" {
                (f * m).round() / m
            } else {
                (f * m).trunc() / m
            };
            coerce(Value::Double(r), &types[0])?
        }
        "DATEADD" | "TIMESTAMPADD" => {
            let unit = unit_arg(&args, 2)?;
            let n = int(&args[1])?;
            let d = datetime(&args[0]).ok_or_else(|| format!("`{}` is not a date", args[0]))?;
            let shifted = match unit.as_str() {
                "YEAR" | "YEARS" => d
                    .checked_add_months(chrono::Months::new((n * 12).unsigned_abs() as u32))
                    .filter(|_| n >= 0)
                    .or_else(|| {
                        d.checked_sub_months(chrono::Months::new((n * 12).unsigned_abs() as u32))
                    }),
                "MONTH" | "MONTHS" => {
                    if n >= 0 {
                        d.checked_add_months(chrono::Months::new(n as u32))
                    } else {
                        d.checked_sub_months(chrono::Months::new(n.unsigned_abs() as u32))
                    }
                }
                "WEEK" | "WEEKS" => d.checked_add_signed(chrono::Duration::weeks(n)),
                "DAY" | "DAYS" => d.checked_add_signed(chrono::Duration::days(n)),
                "HOUR" | "HOURS" => d.checked_add_signed(chrono::Duration::hours(n)),
                "MINUTE" | "MINUTES" => d.checked_add_signed(chrono::Duration::minutes(n)),
                "SECOND" | "SECONDS" => d.checked_add_signed(chrono::Duration::seconds(n)),
                "MILLISECOND" | "MILLISECONDS" => {
                    d.checked_add_signed(chrono::Duration::milliseconds(n))
                }
                other => return Err(format!("unknown date unit `{other}`")),
            }
            .ok_or("date out of range")?;
            from_datetime(shifted, &types[0])
        }
        "DATEDIFF" | "TIMESTAMPDIFF" => {
            let unit = unit_arg(&args, 2)?;
            let a = datetime(&args[0]).ok_or("not a date")?;
            let b = datetime(&args[1]).ok_or("not a date")?;
            let diff = b - a;
            Value::BigInt(match unit.as_str() {
                // Whole years and months between the two dates, as a calendar period.
                "YEAR" | "YEARS" => whole_months(a.date(), b.date()) / 12,
                "MONTH" | "MONTHS" => whole_months(a.date(), b.date()),
                "WEEK" | "WEEKS" => diff.num_weeks(),
                "DAY" | "DAYS" => b.date().signed_duration_since(a.date()).num_days(),
                "HOUR" | "HOURS" => diff.num_hours(),
                "MINUTE" | "MINUTES" => diff.num_minutes(),
                "SECOND" | "SECONDS" => diff.num_seconds(),
                "MILLISECOND" | "MILLISECONDS" => diff.num_milliseconds(),
                other => return Err(format!("unknown date unit `{other}`")),
            })
        }
        "DATE_TRUNC" => {
            let unit = s(1).to_ascii_uppercase();
            let d = datetime(&args[0]).ok_or("not a date")?;
            let date = d.date();
            let t = match unit.as_str() {
                "YEAR" => {
                    NaiveDate::from_ymd_opt(date.year(), 1, 1).and_then(|x| x.and_hms_opt(0, 0, 0))
                }
                "MONTH" => NaiveDate::from_ymd_opt(date.year(), date.month(), 1)
                    .and_then(|x| x.and_hms_opt(0, 0, 0)),
                "DAY" => date.and_hms_opt(0, 0, 0),
                "HOUR" => date.and_hms_opt(d.hour(), 0, 0),
                "MINUTE" => date.and_hms_opt(d.hour(), d.minute(), 0),
                "SECOND" => date.and_hms_opt(d.hour(), d.minute(), d.second()),
                other => return Err(format!("unknown date unit `{other}`")),
            }
            .ok_or("date out of range")?;
            from_datetime(t, &types[0])
        }
        "DAYNAME" => Value::String(
            datetime(&args[0])
                .ok_or("not a date")?
                .format("%A")
                .to_string(),
        ),
        "MONTHNAME" => Value::String(
            datetime(&args[0])
                .ok_or("not a date")?
                .format("%B")
                .to_string(),
        ),
        "DAY_OF_MONTH" | "DAYOFMONTH" | "DAY" | "DAY_OF_WEEK" | "DAYOFWEEK" | "DAY_OF_YEAR"
        | "DAYOFYEAR" | "HOUR" | "MINUTE" | "MONTH" | "QUARTER" | "SECOND" | "WEEK" | "YEAR" => {
            let d = datetime(&args[0]).ok_or("not a date")?;
            Value::Int(part(name, &d)?)
        }
        "EXTRACT" => {
            let d = datetime(&args[1]).ok_or("not a date")?;
            Value::Int(part(&s(0), &d)?)
        }
        "FORMATDATETIME" => {
            Value::String(format_java(&datetime(&args[0]).ok_or("not a date")?, &s(1)))
        }
        "PARSEDATETIME" | "TO_DATE" => {
            let f = java_format(&s(1));
            let d = NaiveDateTime::parse_from_str(&s(0), &f)
                .or_else(|_| {
                    NaiveDate::parse_from_str(&s(0), &f)
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .map_err(|e| format!("`{}` does not match `{}`: {e}", s(0), s(1)))?;
            from_datetime(d, &parsed_type(name))
        }
        "IS_DATE" => {
            let f = java_format(&s(1));
            Value::Boolean(
                NaiveDateTime::parse_from_str(&s(0), &f).is_ok()
                    || NaiveDate::parse_from_str(&s(0), &f).is_ok(),
            )
        }
        "FROM_UNIXTIME" => {
            let secs = int(&args[0])?;
            let f = if args.len() > 1 {
                java_format(&s(1))
            } else {
                "%Y-%m-%d %H:%M:%S".into()
            };
            let d = chrono::DateTime::from_timestamp(secs, 0).ok_or("timestamp out of range")?;
            let offset = match args.get(2) {
                Some(_) => utc_offset(&s(2))?,
                None => 0,
            };
            let local = d.naive_utc() + chrono::Duration::seconds(offset);
            Value::String(local.format(&f).to_string())
        }
        "DES_ENCRYPT" => Value::String(des_encrypt(&s(0), s(1).as_bytes())?),
        "DES_DECRYPT" => Value::String(des_decrypt(&s(0), &s(1))?),
        other => return Err(format!("unknown function {other}")),
    })
}

fn des_key(key: &str) -> Result<des::Des, String> {
    use des::cipher::KeyInit as _;
    let mut k = [0u8; 8];
    for (d, b) in k.iter_mut().zip(key.as_bytes()) {
        *d = *b;
    }
    des::Des::new_from_slice(&k).map_err(|e| format!("bad DES key: {e}"))
}

/// DES in ECB mode with PKCS#5 padding (Java's default `DES`), as base64 text.
fn des_encrypt(key: &str, data: &[u8]) -> Result<String, String> {
    use base64::Engine as _;
    use des::cipher::{BlockEncrypt as _, generic_array::GenericArray};
    let cipher = des_key(key)?;
    let pad = 8 - data.len() % 8;
    let mut buf = data.to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    for block in buf.chunks_mut(8) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

fn des_decrypt(key: &str, text: &str) -> Result<String, String> {
    use base64::Engine as _;
    use des::cipher::{BlockDecrypt as _, generic_array::GenericArray};
    let cipher = des_key(key)?;
    let mut buf = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("DES_DECRYPT input is not base64: {e}"))?;
    if buf.is_empty() || buf.len() % 8 != 0 {
        return Err("DES_DECRYPT input is not a whole number of 8-byte blocks".into());
    }
    for block in buf.chunks_mut(8) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(*buf.last().unwrap_or(&0));
    if pad == 0 || pad > 8 || pad > buf.len() {
        return Err("DES_DECRYPT: bad padding (wrong key?)".into());
    }
    buf.truncate(buf.len() - pad);
    String::from_utf8(buf)
        .map_err(|_| "DES_DECRYPT: the result is not UTF-8 (wrong key?)".to_string())
}

fn part(unit: &str, d: &NaiveDateTime) -> Result<i32, String> {
    Ok(match unit.to_ascii_uppercase().as_str() {
        "YEAR" => d.year(),
        "MONTH" => d.month() as i32,
        "QUARTER" => (d.month() as i32 - 1) / 3 + 1,
        // The week of the year as the US counts it: weeks start on Sunday, week 1 holds
        // January 1st.
        "WEEK" => {
            let jan1 = NaiveDate::from_ymd_opt(d.year(), 1, 1).ok_or("date out of range")?;
            (d.ordinal() as i32 + jan1.weekday().num_days_from_sunday() as i32 - 1) / 7 + 1
        }
        "DAY" | "DAY_OF_MONTH" | "DAYOFMONTH" => d.day() as i32,
        // 1 (Monday) to 7 (Sunday).
        "DAY_OF_WEEK" | "DAYOFWEEK" | "DOW" => d.weekday().number_from_monday() as i32,
        "DAY_OF_YEAR" | "DAYOFYEAR" | "DOY" => d.ordinal() as i32,
        "HOUR" => d.hour() as i32,
        "MINUTE" => d.minute() as i32,
        "SECOND" => d.second() as i32,
        "MILLISECOND" => (d.nanosecond() % 1_000_000_000 / 1_000_000) as i32,
        "MICROSECOND" => (d.nanosecond() % 1_000_000_000 / 1_000) as i32,
        "NANOSECOND" => (d.nanosecond() % 1_000_000_000) as i32,
        other => return Err(format!("unknown date-time field `{other}`")),
    })
}

/// Seconds east of UTC of a zone written as an offset: `UTC`, `UTC+8`, `GMT-05:30`, `+08:00`.
fn utc_offset(zone: &str) -> Result<i64, String> {
    let z = zone.trim();
    let rest = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| z.strip_prefix(p))
        .unwrap_or(z);
    if rest.is_empty() || rest == "Z" {
        return Ok(0);
    }
    let bad = || {
        format!(
            "time zone `{zone}`: write it as an offset from UTC, such as UTC+8 or +05:30 (named zones are not supported)"
        )
    };
    let (sign, hm) = match rest.split_at(1) {
        ("+", hm) => (1, hm),
        ("-", hm) => (-1, hm),
        _ => return Err(bad()),
    };
    let (h, m) = match hm.split_once(':') {
        Some((h, m)) => (h, m),
        None if hm.len() == 4 => hm.split_at(2),
        None => (hm, "0"),
    };
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 18 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// The unit argument at `i`, DAY when left out.
fn unit_arg(args: &[Value], i: usize) -> Result<String, String> {
    match args.get(i) {
        None => Ok("DAY".into()),
        Some(Value::String(u)) => Ok(u.to_ascii_uppercase()),
        Some(other) => Err(format!(
            "the unit must be a string such as 'DAY', found {other}"
        )),
    }
}

/// Whole calendar months from `a` to `b` (negative when `b` is earlier), as a period counts
/// them: a month is complete once its day of the month is reached.
fn whole_months(a: NaiveDate, b: NaiveDate) -> i64 {
    let mut m = i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month());
    if m > 0 && b.day() < a.day() {
        m -= 1;
    } else if m < 0 && b.day() > a.day() {
        m += 1;
    }
    m
}

/// What a parsing function returns: TO_DATE a date, PARSEDATETIME a timestamp.
fn parsed_type(name: &str) -> DataType {
    if name == "TO_DATE" {
        DataType::Date
    } else {
        DataType::Timestamp
    }
}

/// Formats as java.time's DateTimeFormatter does: a run of n `S` is the first n digits of
/// the fraction of the second; everything else through [`java_format`].
fn format_java(d: &NaiveDateTime, pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find('S') {
        out.push_str(&d.format(&java_format(&rest[..at])).to_string());
        let n = rest[at..].chars().take_while(|&c| c == 'S').count();
        let digits = format!("{:09}", d.nanosecond() % 1_000_000_000);
        out.push_str(&digits[..n.min(9)]);
        out.extend(std::iter::repeat_n('0', n.saturating_sub(9)));
        rest = &rest[at + n..];
    }
    out.push_str(&d.format(&java_format(rest)).to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soundex_and_java_formats() {
        assert_eq!(soundex("Joy Ding"), "J352");
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(java_format("yyyy-MM-dd HH:mm:ss"), "%Y-%m-%d %H:%M:%S");
        let d = NaiveDate::from_ymd_opt(2021, 4, 8)
            .and_then(|d| d.and_hms_nano_opt(13, 4, 5, 235_000_000))
            .unwrap();
        assert_eq!(format_java(&d, "HH:mm:ss.S"), "13:04:05.2");
        assert_eq!(format_java(&d, "SSSSSS"), "235000");
    }

    #[test]
    fn periods_and_weeks_as_seatunnel_counts_them() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(whole_months(day(2021, 4, 15), day(2022, 1, 23)), 9);
        assert_eq!(whole_months(day(2021, 4, 15), day(2022, 4, 14)), 11);
        assert_eq!(whole_months(day(2022, 4, 14), day(2021, 4, 15)), -11);
        let at = |y, m, d| day(y, m, d).and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(part("WEEK", &at(2021, 4, 8)), Ok(15));
        assert_eq!(part("WEEK", &at(2021, 1, 2)), Ok(1));
        assert_eq!(part("WEEK", &at(2021, 1, 3)), Ok(2));
        assert_eq!(part("DAY_OF_WEEK", &at(2021, 4, 15)), Ok(4));
        assert!(part("FORTNIGHT", &at(2021, 4, 15)).is_err());
        assert_eq!(utc_offset("UTC+8"), Ok(8 * 3600));
        assert_eq!(utc_offset("GMT-05:30"), Ok(-(5 * 3600 + 30 * 60)));
        assert_eq!(utc_offset("+0100"), Ok(3600));
        assert_eq!(utc_offset("UTC"), Ok(0));
        assert!(utc_offset("Asia/Shanghai").is_err());
    }
}
