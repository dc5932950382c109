//! Large files read by several readers at once, each a byte range of the file.
//!
//! A range's records are the lines that start in it: a reader whose range starts mid-file skips
//! to the first line start at or after its start, and reads until the next line start is at or
//! past its end (the last line may run past it). That is exact when every line is a record and
//! every record a line: always for text and json lines, and for csv when the file holds no quote
//! (a quoted field may hold a line break) and no carriage return that does not end a line. A csv
//! file is scanned for those once before it is cut; compressed files are never cut.

use std::fs::File;
use std::io::{Read, Seek as _, SeekFrom};

/// A range is at least this long: smaller files are read whole.
pub const MIN_RANGE: u64 = 32 << 20;

/// Where the ranges of a file of `len` bytes start, for `readers` readers: `[0]` to read it
/// whole. `csv` files are cut only when their lines are their records.
pub fn starts(path: &str, len: u64, readers: u32, csv: bool) -> std::io::Result<Vec<u64>> {
    let parts = (len / MIN_RANGE).min(u64::from(readers));
    if parts < 2 || (csv && !lines_are_records(File::open(path)?)?) {
        return Ok(vec![0]);
    }
    Ok((0..parts).map(|i| i * len / parts).collect())
}

/// Whether `input` holds no quote and no carriage return outside a `\r\n`.
fn lines_are_records(mut input: impl Read) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 1 << 20];
    // A `\r` ended the previous chunk: the next byte must be `\n`.
    let mut after_cr = false;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(!after_cr),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        if after_cr && chunk[0] != b'\n' {
            return Ok(false);
        }
        after_cr = false;
        for at in memchr::memchr2_iter(b'"', b'\r', chunk) {
            if chunk[at] == b'"' {
                return Ok(false);
            }
            match chunk.get(at + 1) {
                Some(b'\n') => {}
                Some(_) => return Ok(false),
                None => after_cr = true,
            }
        }
    }
}

/// The first line start at or after `offset` (`offset` itself when a line ends just before
/// it): where a range starting at `offset` begins reading.
pub fn first_line_start(file: &mut File, offset: u64) -> std::io::Result<u64> {
    if offset == 0 {
        return Ok(0);
    }
    let mut at = offset - 1;
    file.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(at), // the end of the file
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_cut_only_when_its_lines_are_its_records() {
        let clean: &[&[u8]] = &[b"a,b\n1,2\n", b"a,b\r\n1,2\r\n", b"", b"x"];
        for text in clean {
            assert!(lines_are_records(*text).unwrap(), "{text:?}");
        }
        let unsafe_: &[&[u8]] = &[b"a,\"b\nc\"\n", b"a\rb\n", b"a,b\r"];
        for text in unsafe_ {
            assert!(!lines_are_records(*text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn every_line_is_read_by_exactly_one_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.txt");
        let text: String = (0..2000)
            .map(|i| format!("{i},{}\n", "x".repeat(i % 17)))
            .collect();
        std::fs::write(&path, &text).unwrap();
        let len = text.len() as u64;
        for parts in [2u64, 3, 7, 64] {
            let starts: Vec<u64> = (0..parts).map(|i| i * len / parts).collect();
            let mut lines = Vec::new();
            for (k, &s) in starts.iter().enumerate() {
                let end = starts.get(k + 1).copied().unwrap_or(len);
                let mut f = File::open(&path).unwrap();
                let mut at = first_line_start(&mut f, s).unwrap();
                // Lines whose start is before the range's end.
                while at < end {
                    let rest = &text[at as usize..];
                    let line_len = rest.find('\n').map_or(rest.len(), |i| i + 1);
                    lines.push(rest[..line_len].to_string());
                    at += line_len as u64;
                }
            }
            assert_eq!(lines.concat(), text, "{parts} ranges");
        }
    }
}
