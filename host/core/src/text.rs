//! Values written as text straight into a byte buffer, without `core::fmt` or allocation: the
//! forms `format_*` and `java_double` return, for sinks that write millions of them.

use chrono::Datelike as _;

use crate::value::days_to_date;

/// Appends `n` as exactly two digits (`n` < 100).
fn push2(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
}

/// Appends `n` zero-padded to `width` digits (more when it has more).
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    out.extend(std::iter::repeat_n(
        b'0',
        width.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits.as_bytes());
}

/// Appends an integer.
pub fn write_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an unscaled decimal with its scale, e.g. (12345, 2) → `123.45`.
pub fn write_decimal(out: &mut Vec<u8>, v: i128, scale: u8) {
    if v < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    let abs = v.unsigned_abs();
    // u64 digits are much cheaper than u128 ones where the value fits.
    let digits = match u64::try_from(abs) {
        Ok(small) => buf.format(small),
        Err(_) => buf.format(abs),
    }
    .as_bytes();
    let scale = usize::from(scale);
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits);
    } else {
        let (i, f) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(i);
        out.push(b'.');
        out.extend_from_slice(f);
    }
}

/// Appends days since the epoch as `YYYY-MM-DD`.
pub fn write_date(out: &mut Vec<u8>, days: i32) {
    if (YEAR_0_DAY..=YEAR_9999_END).contains(&days) {
        let (y, m, d) = civil_from_days(days);
        push_padded(out, u64::from(y), 4);
        out.push(b'-');
        push2(out, m);
        out.push(b'-');
        push2(out, d);
        return;
    }
    match days_to_date(days) {
        Some(d) => {
            // `{:04}`: four characters, a minus sign included.
            let y = d.year();
            if y < 0 {
                out.push(b'-');
                push_padded(out, u64::from(y.unsigned_abs()), 3);
            } else {
                push_padded(out, y as u64, 4);
            }
            out.push(b'-');
            push2(out, d.month());
            out.push(b'-');
            push2(out, d.day());
        }
        None => {
            out.extend_from_slice(b"<day ");
            write_int(out, days);
            out.push(b'>');
        }
    }
}

/// Days since 1970-01-01 of 0000-03-01 and of 9999-12-31: the span the calendar arithmetic
/// below serves (chrono serves the rest).
const YEAR_0_DAY: i32 = -719_468;
const YEAR_9999_END: i32 = 2_932_896;

/// The proleptic Gregorian (year, month, day) of a day number in `YEAR_0_DAY..=YEAR_9999_END`,
/// by 400-year eras starting on March 1st (leap days fall at an era-year's end).
fn civil_from_days(days: i32) -> (u32, u32, u32) {
    let z = (days - YEAR_0_DAY) as u32; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = era * 400 + yoe + u32::from(m <= 2);
    (y, m, d)
}

/// The day number of a valid date in years 0..=9999 (the inverse of `civil_from_days`);
/// `None` when month or day is out of range.
pub(crate) fn days_from_civil(y: u32, m: u32, d: u32) -> Option<i32> {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if y > 9999 || d == 0 || d > month_days {
        return None;
    }
    let y = i64::from(y) - i64::from(m <= 2); // years start on March 1st
    let (m, d) = (i64::from(m), i64::from(d));
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe + i64::from(YEAR_0_DAY)).ok()
}

/// Appends `.fff`, `.ffffff` or `.fffffffff`: the shortest of the three that holds `nanos`
/// (nothing when it is zero), as chrono's `%.f` writes it.
fn write_fraction(out: &mut Vec<u8>, nanos: u32) {
    if nanos == 0 {
        return;
    }
    out.push(b'.');
    if nanos.is_multiple_of(1_000_000) {
        push_padded(out, u64::from(nanos / 1_000_000), 3);
    } else if nanos.is_multiple_of(1_000) {
        push_padded(out, u64::from(nanos / 1_000), 6);
    } else {
        push_padded(out, u64::from(nanos), 9);
    }
}

/// Appends nanoseconds of the day as `HH:MM:SS[.fff]`.
pub fn write_time(out: &mut Vec<u8>, nanos: i64) {
    let secs = nanos.div_euclid(1_000_000_000);
    let ns = nanos.rem_euclid(1_000_000_000) as u32;
    if !(0..86_400).contains(&secs) {
        out.extend_from_slice(b"<time ");
        write_int(out, nanos);
        out.push(b'>');
        return;
    }
    let secs = secs as u32;
    push2(out, secs / 3600);
    out.push(b':');
    push2(out, secs / 60 % 60);
    out.push(b':');
    push2(out, secs % 60);
    write_fraction(out, ns);
}

/// Appends microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
pub fn write_timestamp(out: &mut Vec<u8>, micros: i64) {
    let days = micros.div_euclid(86_400_000_000);
    match i32::try_from(days)
        .ok()
        .filter(|d| days_to_date(*d).is_some())
    {
        Some(d) => {
            write_date(out, d);
            out.push(b'T');
            write_time(out, micros.rem_euclid(86_400_000_000) * 1000);
        }
        None => {
            out.extend_from_slice(b"<timestamp ");
            write_int(out, micros);
            out.push(b'>');
        }
    }
}

/// Appends a double as Java's `Double.toString` writes it (SeaTunnel's text form): the
/// shortest digits that read back to the same value, `1.0E10` style outside [10^-3, 10^7).
/// `as_f32` writes a float's shortest digits instead (`Float.toString`).
pub fn write_java_double(out: &mut Vec<u8>, v: f64, as_f32: Option<f32>) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    let a = v.abs();
    if a == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    if (1e-3..1e7).contains(&a) {
        // ryu writes the shortest digits in plain notation throughout this range, with `.0`
        // after whole numbers, as Java does.
        let mut buf = ryu::Buffer::new();
        let s = match as_f32 {
            Some(x) => buf.format_finite(x),
            None => buf.format_finite(v),
        };
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let s = match as_f32 {
        Some(x) => format!("{x:e}"),
        None => format!("{v:e}"),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    out.extend_from_slice(mantissa.as_bytes());
    if !mantissa.contains('.') {
        out.extend_from_slice(b".0");
    }
    out.push(b'E');
    out.extend_from_slice(exp.as_bytes());
}

/// Text this module wrote: ASCII by construction.
pub(crate) fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `s` without leading and trailing whitespace, as `str::trim`, cheaply when the ends are
/// ASCII (they nearly always are).
pub fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    match (t.as_bytes().first(), t.as_bytes().last()) {
        (Some(&a), Some(&b)) if a >= 0x80 || b >= 0x80 => t.trim(),
        _ => t,
    }
}

/// Parses an optionally signed decimal integer into an `i64` in one pass without checked
/// arithmetic (19 digits cannot overflow a `u64`); `None` for anything else, which the caller
/// hands to the general parser for its error.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    if neg {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// Levenshtein distance between `a` and `b`, by characters (for "did you mean" hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        ascii(out)
    }

    #[test]
    fn doubles_read_as_rust_and_java_write_them() {
        // A spread of magnitudes and digit counts; the plain range must agree with Rust's
        // shortest round-trip digits.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let s = text(|o| write_java_double(o, v, None));
            assert_eq!(s.replace('E', "e").parse::<f64>().unwrap(), v, "{s}");
            let a = v.abs();
            if (1e-3..1e7).contains(&a) {
                let rust = format!("{v}");
                let rust = if rust.contains('.') {
                    rust
                } else {
                    format!("{rust}.0")
                };
                assert_eq!(s, rust);
            }
            let scaled = (v % 1e7).abs() + 1e-3;
            let s = text(|o| write_java_double(o, scaled, None));
            let rust = format!("{scaled}");
            let rust = if rust.contains('.') {
                rust
            } else {
                format!("{rust}.0")
            };
            assert_eq!(s, rust);
        }
        for (v, want) in [
            (1.0, "1.0"),
            (0.001, "0.001"),
            (1e7, "1.0E7"),
            (-1.5e-4, "-1.5E-4"),
            (9_999_999.5, "9999999.5"),
            (0.0, "0.0"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(text(|o| write_java_double(o, v, None)), want);
        }
        assert_eq!(
            text(|o| write_java_double(o, 0.1f32.into(), Some(0.1))),
            "0.1"
        );
    }

    #[test]
    fn decimals_dates_and_times() {
        for (v, s, want) in [
            (12345, 2, "123.45"),
            (-5, 2, "-0.05"),
            (0, 2, "0.00"),
            (7, 0, "7"),
            (i128::MAX, 0, "170141183460469231731687303715884105727"),
            (-123_456_789, 9, "-0.123456789"),
        ] {
            assert_eq!(text(|o| write_decimal(o, v, s)), want);
        }
        assert_eq!(text(|o| write_date(o, 0)), "1970-01-01");
        assert_eq!(text(|o| write_date(o, -719_162)), "0001-01-01");
        assert_eq!(text(|o| write_time(o, 3_723_000_000_000)), "01:02:03");
        assert_eq!(text(|o| write_time(o, 3_723_004_000_000)), "01:02:03.004");
        assert_eq!(text(|o| write_time(o, 1_000)), "00:00:00.000001");
        assert_eq!(text(|o| write_time(o, 1)), "00:00:00.000000001");
        assert_eq!(
            text(|o| write_time(o, 86_400_000_000_000)),
            "<time 86400000000000>"
        );
        assert_eq!(
            text(|o| write_timestamp(o, -1)),
            "1969-12-31T23:59:59.999999"
        );
        assert_eq!(
            text(|o| write_timestamp(o, i64::MAX)),
            format!("<timestamp {}>", i64::MAX)
        );
    }

    #[test]
    fn calendar_arithmetic_agrees_with_chrono() {
        use chrono::Datelike as _;
        for days in (YEAR_0_DAY - 800..=YEAR_9999_END + 800).step_by(7).chain([
            YEAR_0_DAY,
            YEAR_9999_END,
            0,
            -1,
            11_016,
        ]) {
            let want = days_to_date(days).unwrap();
            assert_eq!(
                text(|o| write_date(o, days)),
                format!("{:04}-{:02}-{:02}", want.year(), want.month(), want.day()),
                "day {days}"
            );
            if (0..=9999).contains(&want.year()) {
                assert_eq!(
                    days_from_civil(want.year() as u32, want.month(), want.day()),
                    Some(days),
                    "{want}"
                );
            }
        }
        assert_eq!(days_from_civil(2023, 2, 29), None);
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(1900, 2, 29), None);
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(2024, 13, 1), None);
        assert_eq!(days_from_civil(2024, 4, 31), None);
        assert_eq!(days_from_civil(2024, 1, 0), None);
    }

    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " ",
            " a ",
            "\u{3000}x\u{2003}",
            "\té\n",
            "é",
            " \u{a0}1",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn integers_parse_and_the_rest_is_left_to_the_general_parser() {
        assert_eq!(parse_i64(b"-123"), Some(-123));
        assert_eq!(parse_i64(b"+7"), Some(7));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-9223372036854775809"), None);
        assert_eq!(parse_i64(b"9999999999999999999"), None);
        assert_eq!(parse_i64(b"00000000000000000000001"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"1a"), None);
        assert_eq!(parse_i64(b" 1"), None);
    }
}
