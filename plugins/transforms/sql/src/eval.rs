//! Evaluates compiled expressions column-at-a-time: each node of the expression tree runs over
//! every selected row of the batch before its parent does. A column reference reads only that
//! column (nothing else of the row is materialized); AND, OR and CASE narrow the selection for
//! the parts they may skip, so an error in a branch a row does not take is never raised.

use std::cmp::Ordering;
use std::collections::HashMap;

use st_sdk::{DataType, Value};

use crate::compile::{E, Op};
use crate::funcs;

#[derive(Default)]
pub struct Evaluator {
    /// Compiled regular expressions by (pattern, flags).
    pub regexes: HashMap<(String, String), regex::Regex>,
}

fn as_i128(v: &Value) -> Option<i128> {
    Some(match v {
        Value::TinyInt(x) => i128::from(*x),
        Value::SmallInt(x) => i128::from(*x),
        Value::Int(x) => i128::from(*x),
        Value::BigInt(x) => i128::from(*x),
        _ => return None,
    })
}

fn as_text(v: &Value) -> String {
    v.to_string()
}

/// Compares two values of possibly different types: numbers numerically, temporal values
/// against their string forms, everything else by text.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y))
        | (Value::Timestamp(x), Value::Timestamp(y))
        | (Value::TimestampTz(x), Value::TimestampTz(y)) => Some(x.cmp(y)),
        (
            Value::String(_),
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) | Value::TimestampTz(_),
        ) => compare(b, a).map(Ordering::reverse),
        (Value::Date(_), Value::String(s)) => compare(a, &Value::Date(st_sdk::parse_date(s)?)),
        (Value::Time(_), Value::String(s)) => compare(a, &Value::Time(st_sdk::parse_time(s)?)),
        (Value::Timestamp(_), Value::String(s)) => {
            compare(a, &Value::Timestamp(st_sdk::parse_timestamp(s)?))
        }
        (Value::TimestampTz(_), Value::String(s)) => {
            compare(a, &Value::TimestampTz(st_sdk::parse_timestamp(s)?))
        }
        _ => Some(as_text(a).cmp(&as_text(b))),
    }
}

/// Converts a value to type `t` (CAST, and fitting results to their declared column type).
pub fn coerce(v: Value, t: &DataType) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let fail = |v: &Value| format!("cannot convert `{v}` to {t}");
    let int = |v: &Value| -> Result<i128, String> {
        if let Some(i) = as_i128(v) {
            return Ok(i);
        }
        match v {
            Value::Float(f) => Ok(f.trunc() as i128),
            Value::Double(f) => Ok(f.trunc() as i128),
            Value::Decimal(u, s) => Ok(u / 10i128.pow(u32::from(*s))),
            Value::Boolean(b) => Ok(i128::from(*b)),
            Value::String(s) => s
                .trim()
                .parse::<i128>()
                .or_else(|_| s.trim().parse::<f64>().map(|f| f.trunc() as i128))
                .map_err(|_| fail(v)),
            _ => Err(fail(v)),
        }
    };
    Ok(match t {
        DataType::Null => Value::Null,
        DataType::Boolean => match &v {
            Value::Boolean(_) => v,
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Boolean(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Boolean(false),
            other => Value::Boolean(int(other)? != 0),
        },
        DataType::TinyInt => Value::TinyInt(i8::try_from(int(&v)?).map_err(|_| fail(&v))?),
        DataType::SmallInt => Value::SmallInt(i16::try_from(int(&v)?).map_err(|_| fail(&v))?),
        DataType::Int => Value::Int(i32::try_from(int(&v)?).map_err(|_| fail(&v))?),
        DataType::BigInt => Value::BigInt(i64::try_from(int(&v)?).map_err(|_| fail(&v))?),
        DataType::Float => Value::Float(
            v.as_f64()
                .or_else(|| as_text(&v).trim().parse().ok())
                .ok_or_else(|| fail(&v))? as f32,
        ),
        DataType::Double => Value::Double(
            v.as_f64()
                .or_else(|| as_text(&v).trim().parse().ok())
                .ok_or_else(|| fail(&v))?,
        ),
        DataType::Decimal { scale, .. } => {
            let text = match &v {
                Value::Double(f) => format!("{f}"),
                Value::Float(f) => format!("{f}"),
                other => as_text(other),
            };
            Value::Decimal(
                st_sdk::parse_decimal(&text, *scale).ok_or_else(|| fail(&v))?,
                *scale,
            )
        }
        DataType::String => match v {
            Value::String(_) => v,
            other => Value::String(as_text(&other)),
        },
        DataType::Bytes => match v {
            Value::Bytes(_) => v,
            Value::String(s) => Value::Bytes(s.into_bytes()),
            other => return Err(fail(&other)),
        },
        DataType::Date => match &v {
            Value::Date(_) => v,
            Value::Timestamp(m) | Value::TimestampTz(m) => {
                Value::Date(m.div_euclid(86_400_000_000) as i32)
            }
            Value::String(s) => Value::Date(
                st_sdk::parse_date(s)
                    .or_else(|| {
                        st_sdk::parse_timestamp(s).map(|m| m.div_euclid(86_400_000_000) as i32)
                    })
                    .ok_or_else(|| fail(&v))?,
            ),
            // An integer reads as yyyyMMdd, as SeaTunnel casts it.
            Value::TinyInt(_) | Value::SmallInt(_) | Value::Int(_) | Value::BigInt(_) => {
                let n = int(&v)?;
                let text = format!("{:04}-{:02}-{:02}", n / 10_000, n / 100 % 100, n % 100);
                Value::Date(st_sdk::parse_date(&text).ok_or_else(|| fail(&v))?)
            }
            _ => return Err(fail(&v)),
        },
        DataType::Time => match &v {
            Value::Time(_) => v,
            Value::Timestamp(m) | Value::TimestampTz(m) => {
                Value::Time(m.rem_euclid(86_400_000_000) * 1000)
            }
            Value::String(s) => Value::Time(st_sdk::parse_time(s).ok_or_else(|| fail(&v))?),
            // An integer reads as HHmmss.
            Value::TinyInt(_) | Value::SmallInt(_) | Value::Int(_) | Value::BigInt(_) => {
                let n = int(&v)?;
                let text = format!("{:02}:{:02}:{:02}", n / 10_000, n / 100 % 100, n % 100);
                Value::Time(st_sdk::parse_time(&text).ok_or_else(|| fail(&v))?)
            }
            _ => return Err(fail(&v)),
        },
        DataType::Timestamp | DataType::TimestampTz => {
            let micros = match &v {
                Value::Timestamp(m) | Value::TimestampTz(m) => *m,
                Value::Date(d) => i64::from(*d) * 86_400_000_000,
                Value::String(s) => st_sdk::parse_timestamp(s).ok_or_else(|| fail(&v))?,
                // An integer is milliseconds since 1970-01-01 00:00 UTC.
                Value::BigInt(_) | Value::Int(_) => i64::try_from(int(&v)?)
                    .ok()
                    .and_then(|ms| ms.checked_mul(1000))
                    .ok_or_else(|| fail(&v))?,
                _ => return Err(fail(&v)),
            };
            if *t == DataType::Timestamp {
                Value::Timestamp(micros)
            } else {
                Value::TimestampTz(micros)
            }
        }
        DataType::Array(_) | DataType::Map(..) | DataType::Row(_) => v,
    })
}

pub fn arith(op: Op, a: Value, b: Value) -> Result<Value, String> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    // Integers stay integers (in the wider of the two types); division by zero is an error.
    if let (Some(x), Some(y)) = (as_i128(&a), as_i128(&b)) {
        let r = match op {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div | Op::Mod if y == 0 => return Err("division by zero".into()),
            Op::Div => x / y,
            _ => x % y,
        };
        let wide = matches!(a, Value::BigInt(_)) || matches!(b, Value::BigInt(_));
        return Ok(if wide {
            Value::BigInt(i64::try_from(r).map_err(|_| format!("{r} overflows bigint"))?)
        } else {
            Value::Int(
                i32::try_from(r).map_err(|_| format!("{r} overflows int; CAST to bigint first"))?,
            )
        });
    }
    // Decimals with decimals or integers: exact for + - *.
    let dec = |v: &Value| match v {
        Value::Decimal(u, s) => Some((*u, *s)),
        other => as_i128(other).map(|i| (i, 0)),
    };
    if (matches!(a, Value::Decimal(..)) || matches!(b, Value::Decimal(..)))
        && let (Some((x, sx)), Some((y, sy))) = (dec(&a), dec(&b))
        && matches!(op, Op::Add | Op::Sub | Op::Mul)
    {
        let s = sx.max(sy);
        let (x2, y2) = (
            x * 10i128.pow(u32::from(s - sx)),
            y * 10i128.pow(u32::from(s - sy)),
        );
        return Ok(match op {
            Op::Add => Value::Decimal(x2 + y2, s),
            Op::Sub => Value::Decimal(x2 - y2, s),
            _ => Value::Decimal(x * y, sx + sy),
        });
    }
    let (x, y) = (
        a.as_f64().ok_or("not a number")?,
        b.as_f64().ok_or("not a number")?,
    );
    let r = match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div => x / y,
        _ => x % y,
    };
    Ok(
        if matches!(a, Value::Float(_))
            && matches!(b, Value::Float(_) | Value::Int(_) | Value::BigInt(_))
        {
            Value::Float(r as f32)
        } else {
            Value::Double(r)
        },
    )
}

/// SQL LIKE: `%` any run, `_` one character.
pub fn like(text: &str, pattern: &str, ci: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if ci {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    let (mut ti, mut pi, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// The batch an expression reads.
pub struct Input<'a> {
    pub batch: &'a st_sdk::Batch,
    pub types: &'a [DataType],
}

fn compare_op(op: Op, a: &Value, b: &Value) -> Value {
    match compare(a, b) {
        None => Value::Null,
        Some(o) => Value::Boolean(match op {
            Op::Eq => o == Ordering::Equal,
            Op::NotEq => o != Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::LtEq => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }),
    }
}

/// The positions (into `values`) whose value is not `skip`.
fn undecided(values: &[Value], skip: bool) -> Vec<usize> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != Value::Boolean(skip))
        .map(|(i, _)| i)
        .collect()
}

impl Evaluator {
    /// Evaluates `e` for the rows `sel` of the input; the result has one value per selected row.
    pub fn eval(&mut self, e: &E, input: &Input<'_>, sel: &[usize]) -> Result<Vec<Value>, String> {
        Ok(match e {
            E::Col(i) => {
                let (col, t) = (&input.batch.columns[*i], &input.types[*i]);
                sel.iter().map(|&r| col.value(r, t)).collect()
            }
            E::Field(inner, k) => self
                .eval(inner, input, sel)?
                .into_iter()
                .map(|v| match v {
                    Value::Row(mut fields) if *k < fields.len() => fields.swap_remove(*k),
                    _ => Value::Null,
                })
                .collect(),
            E::MapKey(inner, key) => self
                .eval(inner, input, sel)?
                .into_iter()
                .map(|v| match v {
                    Value::Map(entries) => entries
                        .into_iter()
                        .find(|(k, _)| as_text(k) == *key)
                        .map_or(Value::Null, |(_, v)| v),
                    _ => Value::Null,
                })
                .collect(),
            E::Lit(v) => vec![v.clone(); sel.len()],
            E::Bin(op @ (Op::And | Op::Or), l, r) => {
                // FALSE AND x is FALSE, TRUE OR x is TRUE: x is evaluated only where needed.
                let decisive = *op == Op::Or;
                let mut a = self.eval(l, input, sel)?;
                let rest = undecided(&a, decisive);
                let sub: Vec<usize> = rest.iter().map(|&p| sel[p]).collect();
                let b = self.eval(r, input, &sub)?;
                for (p, bv) in rest.into_iter().zip(b) {
                    let av = &a[p];
                    a[p] = match (av, &bv) {
                        (_, Value::Boolean(x)) if *x == decisive => bv,
                        (Value::Boolean(x), Value::Boolean(y))
                            if *x != decisive && *y != decisive =>
                        {
                            bv
                        }
                        _ => Value::Null,
                    };
                }
                a
            }
            E::Bin(op, l, r) => {
                let a = self.eval(l, input, sel)?;
                let b = self.eval(r, input, sel)?;
                let mut out = Vec::with_capacity(a.len());
                for (a, b) in a.into_iter().zip(b) {
                    out.push(match op {
                        Op::Concat if a.is_null() || b.is_null() => Value::Null,
                        Op::Concat => Value::String(format!("{a}{b}")),
                        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => arith(*op, a, b)?,
                        cmp => compare_op(*cmp, &a, &b),
                    });
                }
                out
            }
            E::Not(x) => self
                .eval(x, input, sel)?
                .into_iter()
                .map(|v| match v {
                    Value::Boolean(b) => Value::Boolean(!b),
                    _ => Value::Null,
                })
                .collect(),
            E::Neg(x) => self
                .eval(x, input, sel)?
                .into_iter()
                .map(|v| match v {
                    Value::Null => Ok(Value::Null),
                    v => arith(Op::Sub, Value::Int(0), v),
                })
                .collect::<Result<_, _>>()?,
            E::IsNull(x, negated) => self
                .eval(x, input, sel)?
                .into_iter()
                .map(|v| Value::Boolean(v.is_null() != *negated))
                .collect(),
            E::InList(x, items, negated) => {
                let v = self.eval(x, input, sel)?;
                let lists = items
                    .iter()
                    .map(|i| self.eval(i, input, sel))
                    .collect::<Result<Vec<_>, _>>()?;
                v.iter()
                    .enumerate()
                    .map(|(p, v)| {
                        if v.is_null() {
                            return Value::Null;
                        }
                        let found = lists
                            .iter()
                            .any(|l| compare(v, &l[p]) == Some(Ordering::Equal));
                        Value::Boolean(found != *negated)
                    })
                    .collect()
            }
            E::Between(x, lo, hi, negated) => {
                let v = self.eval(x, input, sel)?;
                let l = self.eval(lo, input, sel)?;
                let h = self.eval(hi, input, sel)?;
                v.iter()
                    .zip(l.iter().zip(&h))
                    .map(|(v, (l, h))| match (compare(v, l), compare(v, h)) {
                        (Some(a), Some(b)) => Value::Boolean(
                            (a != Ordering::Less && b != Ordering::Greater) != *negated,
                        ),
                        _ => Value::Null,
                    })
                    .collect()
            }
            E::Like(x, p, negated, ci) => {
                let v = self.eval(x, input, sel)?;
                let pat = self.eval(p, input, sel)?;
                v.into_iter()
                    .zip(pat)
                    .map(|(v, pat)| match (&v, &pat) {
                        (Value::Null, _) | (_, Value::Null) => Value::Null,
                        _ => {
                            Value::Boolean(like(&v.to_string(), &pat.to_string(), *ci) != *negated)
                        }
                    })
                    .collect()
            }
            E::Case(operand, whens, els) => {
                let subject = match operand {
                    Some(o) => Some(self.eval(o, input, sel)?),
                    None => None,
                };
                let mut out = vec![Value::Null; sel.len()];
                // Positions (into `sel`) no WHEN has matched yet.
                let mut open: Vec<usize> = (0..sel.len()).collect();
                for (cond, res) in whens {
                    if open.is_empty() {
                        break;
                    }
                    let rows: Vec<usize> = open.iter().map(|&p| sel[p]).collect();
                    let c = self.eval(cond, input, &rows)?;
                    let (mut hit, mut miss) = (Vec::new(), Vec::new());
                    for (k, &p) in open.iter().enumerate() {
                        let matched = match &subject {
                            Some(s) => compare(&s[p], &c[k]) == Some(Ordering::Equal),
                            None => c[k] == Value::Boolean(true),
                        };
                        if matched { hit.push(p) } else { miss.push(p) }
                    }
                    let rows: Vec<usize> = hit.iter().map(|&p| sel[p]).collect();
                    for (p, v) in hit.into_iter().zip(self.eval(res, input, &rows)?) {
                        out[p] = v;
                    }
                    open = miss;
                }
                if let Some(x) = els
                    && !open.is_empty()
                {
                    let rows: Vec<usize> = open.iter().map(|&p| sel[p]).collect();
                    for (p, v) in open.into_iter().zip(self.eval(x, input, &rows)?) {
                        out[p] = v;
                    }
                }
                out
            }
            E::Cast(x, t, false) => self
                .eval(x, input, sel)?
                .into_iter()
                .map(|v| coerce(v, t))
                .collect::<Result<_, _>>()?,
            E::Cast(x, t, true) => self
                .eval(x, input, sel)?
                .into_iter()
                .map(|v| coerce(v, t).unwrap_or(Value::Null))
                .collect(),
            E::Func(name, args, types) => {
                let mut columns = args
                    .iter()
                    .map(|a| self.eval(a, input, sel).map(Vec::into_iter))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut out = Vec::with_capacity(sel.len());
                for _ in 0..sel.len() {
                    let row: Vec<Value> = columns
                        .iter_mut()
                        .map(|c| c.next().unwrap_or(Value::Null))
                        .collect();
                    out.push(funcs::call(self, name, row, types)?);
                }
                out
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_sql_wildcards() {
        assert!(like("Joy Ding", "Joy%", false));
        assert!(like("Joy Ding", "%D_ng", false));
        assert!(!like("Joy Ding", "joy%", false));
        assert!(like("Joy Ding", "joy%", true));
    }
}
