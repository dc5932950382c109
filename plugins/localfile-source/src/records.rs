//! Csv records from a byte stream, fast where csv is simple.
//!
//! Most csv lines hold no quote and no carriage return except a trailing one: those are split at
//! the delimiter with `memchr` straight out of the read buffer. A line with a quote (which may
//! hide delimiters and line breaks) or a lone carriage return goes through `csv_core`'s parser
//! from its first byte, so both ways read RFC 4180 csv the same: blank lines are skipped, `\n`,
//! `\r\n` and `\r` end records, `""` inside quotes is a quote.

use std::io::Read;

/// Reads at least this much at a time.
const CHUNK: usize = 1 << 20;

pub struct Records {
    input: Box<dyn Read>,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// The stream offset of `buf[0]`.
    base: u64,
    delimiter: u8,
    core: csv_core::Reader,
    /// The current record: its bytes, `buf[record]` (simple lines) or `unquoted[record]`,
    /// and its fields as ranges within them.
    record: (usize, usize),
    fields: Vec<(usize, usize)>,
    in_buf: bool,
    unquoted: Vec<u8>,
    ends: Vec<usize>,
    /// A UTF-8 byte order mark at the stream's start is skipped.
    at_stream_start: bool,
}

impl Records {
    /// Records from `input`, whose first byte is at stream offset `base`.
    pub fn new(input: Box<dyn Read>, base: u64, delimiter: u8) -> Records {
        Records {
            input,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            base,
            delimiter,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            record: (0, 0),
            fields: Vec::new(),
            in_buf: true,
            unquoted: Vec::new(),
            ends: Vec::new(),
            at_stream_start: base == 0,
        }
    }

    /// The stream offset just after the last record read.
    pub fn position(&self) -> u64 {
        self.base + self.start as u64
    }

    /// The current record's number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// The current record's bytes (unquoted), UTF-8 checked once for all its fields.
    pub fn text(&self) -> Result<&str, String> {
        let (a, b) = self.record;
        let bytes = if self.in_buf {
            &self.buf[a..b]
        } else {
            &self.unquoted[a..b]
        };
        simdutf8::basic::from_utf8(bytes).map_err(|_| match std::str::from_utf8(bytes) {
            Err(e) => format!("not valid UTF-8 ({e})"),
            Ok(_) => "not valid UTF-8".to_string(),
        })
    }

    /// Where field `k` is in `text()`.
    pub fn range(&self, k: usize) -> Option<std::ops::Range<usize>> {
        self.fields.get(k).map(|&(a, b)| a..b)
    }

    /// Field `k` of the current record.
    #[cfg(test)]
    fn field(&self, k: usize) -> Option<&[u8]> {
        let (base, _) = self.record;
        let (a, b) = *self.fields.get(k)?;
        Some(if self.in_buf {
            &self.buf[base + a..base + b]
        } else {
            &self.unquoted[a..b]
        })
    }

    /// Moves the unconsumed bytes to the front and reads more after them; false at the end.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < CHUNK / 2 {
            // A record longer than the buffer: grow it.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the next record; false at the end of the stream.
    pub fn next_record(&mut self) -> std::io::Result<bool> {
        if self.at_stream_start {
            while self.end < 3 && self.fill()? {}
            if self.buf[..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.start = 3;
            }
            self.at_stream_start = false;
        }
        loop {
            let rest = &self.buf[self.start..self.end];
            let Some(at) = memchr::memchr3(b'\n', b'\r', b'"', rest) else {
                // No line end yet: read more, or the stream's last line has no terminator.
                if self.fill()? {
                    continue;
                }
                if self.start == self.end {
                    return Ok(false);
                }
                let line = (self.start, self.end);
                self.split(line);
                self.start = self.end;
                return Ok(true);
            };
            let line_end = match rest[at] {
                b'\n' => Some((at, at + 1)),
                b'\r' if rest.get(at + 1) == Some(&b'\n') => Some((at, at + 2)),
                b'\r' if at + 1 == rest.len() && !self.eof => {
                    // A `\r` at the buffer's end: what follows decides.
                    if self.fill()? {
                        continue;
                    }
                    None
                }
                _ => None,
            };
            match line_end {
                Some((0, consumed)) => self.start += consumed, // a blank line
                Some((len, consumed)) => {
                    let line = (self.start, self.start + len);
                    self.split(line);
                    self.start += consumed;
                    return Ok(true);
                }
                None => return self.parse_quoted(),
            }
        }
    }

    /// Splits the simple line `buf[a..b]` at the delimiter.
    fn split(&mut self, (a, b): (usize, usize)) {
        self.in_buf = true;
        self.record = (a, b);
        self.fields.clear();
        let mut from = 0;
        for d in memchr::memchr_iter(self.delimiter, &self.buf[a..b]) {
            self.fields.push((from, d));
            from = d + 1;
        }
        self.fields.push((from, b - a));
    }

    /// Parses one record with `csv_core`, from `buf[start..]`.
    fn parse_quoted(&mut self) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult as R;
        self.in_buf = false;
        self.unquoted.resize(self.unquoted.len().max(256), 0);
        self.ends.resize(self.ends.len().max(16), 0);
        let (mut out, mut nends) = (0, 0);
        loop {
            let input = &self.buf[self.start..self.end];
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.unquoted[out..], &mut self.ends[nends..]);
            self.start += nin;
            out += nout;
            nends += nend;
            match res {
                R::InputEmpty => {
                    if !self.fill()? {
                        // The end of the stream: an empty input finishes the record.
                        continue;
                    }
                }
                R::OutputFull => {
                    let n = self.unquoted.len() * 2;
                    self.unquoted.resize(n, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                R::Record => {
                    self.record = (0, out);
                    self.fields.clear();
                    let mut from = 0;
                    for &e in &self.ends[..nends] {
                        self.fields.push((from, e));
                        from = e;
                    }
                    return Ok(true);
                }
                R::End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text`, read through a reader that hands out `step` bytes at a time
    /// (so records straddle refills), with the position after each.
    fn records(text: &str, step: usize) -> Vec<(Vec<String>, u64)> {
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.2.min(out.len()).min(self.0.len() - self.1);
                out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut r = Records::new(
            Box::new(Trickle(text.as_bytes().to_vec(), 0, step)),
            0,
            b',',
        );
        let mut all = Vec::new();
        while r.next_record().unwrap() {
            let fields = (0..r.len())
                .map(|k| String::from_utf8(r.field(k).unwrap().to_vec()).unwrap())
                .collect();
            all.push((fields, r.position()));
        }
        all
    }

    /// The same, through the `csv` crate (the reference, which keeps a byte order mark).
    fn reference(text: &str) -> Vec<Vec<String>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn reads_what_the_csv_crate_reads() {
        for text in [
            "a,b,c\n1,2,3\n",
            "a,b\r\n1,2\r\n",
            "a,b\r1,2\r",
            "\n\na,b\n\n\nc,d",
            "x,\"q,uoted\",\"with \"\"quotes\"\"\"\ny,\"two\nlines\",z\n",
            "plain,,\n,,\n\"\",x\n",
            "last line without end",
            "a,b\r\n\"c\r\n\",d\r\ne,f",
            "",
            "\r\n",
            "\u{feff}id,name\n1,x\n",
        ] {
            let want = reference(text);
            for step in [1, 2, 3, 7, 64, 1 << 20] {
                let got: Vec<Vec<String>> =
                    records(text, step).into_iter().map(|(f, _)| f).collect();
                assert_eq!(got, want, "{text:?} read {step} bytes at a time");
            }
        }
    }

    #[test]
    fn positions_are_record_starts() {
        let text = "1,a\n2,\"b\nb\"\n\n3,c\r\n4,d";
        let got = records(text, 5);
        let starts: Vec<u64> = got.iter().map(|(_, p)| *p).collect();
        assert_eq!(starts, [4, 12, 18, 21]);
        // Reading from each position gives the rest.
        for (i, p) in starts.iter().enumerate() {
            let rest = records(&text[*p as usize..], 3);
            assert_eq!(rest.len(), got.len() - i - 1);
        }
    }
}
