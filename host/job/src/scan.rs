//! A structural scan of a HOCON job file: where each section and each plugin block starts and
//! ends. HOCON merges two `FakeSource {}` blocks into one object; SeaTunnel keeps them as two
//! plugins in order, so the blocks are found here, in the text, and parsed one by one.

/// A `Name { ... }` block inside a section, or the section itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub name: String,
    /// 1-based line of the block's name.
    pub line: usize,
    /// Byte range of the block's braces, `{` through `}` inclusive.
    pub body: std::ops::Range<usize>,
}

/// The top-level sections found, with the plugin blocks inside each.
#[derive(Debug, Default)]
pub struct Layout {
    pub sections: Vec<(Block, Vec<Block>)>,
}

/// A scanning problem: a plugin block that is not `Name { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanError {
    pub line: usize,
    pub message: String,
}

pub fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    /// Skips whitespace, commas and comments.
    fn skip_trivia(&mut self) {
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            if c.is_ascii_whitespace() || c == b',' {
                self.pos += 1;
            } else if c == b'#' || (c == b'/' && self.s.get(self.pos + 1) == Some(&b'/')) {
                while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Skips a quoted string starting at the current quote.
    fn skip_string(&mut self) {
        if self.s[self.pos..].starts_with(b"\"\"\"") {
            self.pos += 3;
            while self.pos < self.s.len() && !self.s[self.pos..].starts_with(b"\"\"\"") {
                self.pos += 1;
            }
            self.pos = (self.pos + 3).min(self.s.len());
            while self.s.get(self.pos) == Some(&b'"') {
                self.pos += 1;
            }
            return;
        }
        self.pos += 1;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\n' => return,
                _ => self.pos += 1,
            }
        }
    }

    /// Reads a key: a quoted string or an unquoted run up to `=`, `:`, `{`, whitespace.
    fn key(&mut self) -> Option<String> {
        self.skip_trivia();
        let start = self.pos;
        if self.s.get(self.pos) == Some(&b'"') {
            self.skip_string();
            let raw = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
            return Some(raw.trim_matches('"').to_string());
        }
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            if c.is_ascii_whitespace()
                || b"=:{}[],#\"".contains(&c)
                || self.s[self.pos..].starts_with(b"+=")
            {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// After a key: skips `=` or `:` and returns whether an object `{` follows.
    fn object_follows(&mut self) -> bool {
        self.skip_trivia();
        if matches!(self.s.get(self.pos), Some(b'=' | b':')) {
            self.pos += 1;
            self.skip_trivia();
        }
        self.s.get(self.pos) == Some(&b'{')
    }

    /// Skips one value (object, array, string or unquoted run to end of line).
    fn skip_value(&mut self) {
        self.skip_trivia();
        match self.s.get(self.pos) {
            Some(b'{' | b'[') => self.skip_nested(),
            Some(b'"') => self.skip_string(),
            _ => {
                while self.pos < self.s.len() && !b"\n,}]".contains(&self.s[self.pos]) {
                    if self.s[self.pos] == b'"' {
                        self.skip_string();
                    } else if self.s[self.pos] == b'#' {
                        break;
                    } else {
                        self.pos += 1;
                    }
                }
            }
        }
    }

    /// From an opening `{` or `[`, moves past its matching close.
    fn skip_nested(&mut self) {
        let mut depth = 0usize;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                    if depth == 0 {
                        return;
                    }
                }
                b'"' => self.skip_string(),
                b'#' => self.skip_trivia(),
                b'/' if self.s.get(self.pos + 1) == Some(&b'/') => self.skip_trivia(),
                _ => self.pos += 1,
            }
        }
    }

    /// Reads `key [=|:] {...}` entries until `end`, returning object-valued ones as blocks and
    /// reporting others through `other`.
    fn entries(
        &mut self,
        text: &str,
        end: usize,
        mut other: impl FnMut(String, usize),
    ) -> Vec<Block> {
        let mut blocks = Vec::new();
        loop {
            self.skip_trivia();
            if self.pos >= end || matches!(self.s.get(self.pos), Some(b'}')) {
                break;
            }
            let key_pos = self.pos;
            let Some(key) = self.key() else {
                // Not a key (e.g. a stray bracket): skip one value and go on.
                self.skip_value();
                if self.pos == key_pos {
                    self.pos += 1;
                }
                continue;
            };
            if self.object_follows() {
                let start = self.pos;
                self.skip_nested();
                blocks.push(Block {
                    name: key,
                    line: line_of(text, key_pos),
                    body: start..self.pos,
                });
            } else {
                other(key, line_of(text, key_pos));
                self.skip_value();
            }
        }
        blocks
    }
}

/// Finds the top-level sections and, in `source`/`transform`/`sink`, the plugin blocks.
pub fn scan(text: &str) -> (Layout, Vec<ScanError>) {
    let mut sc = Scanner {
        s: text.as_bytes(),
        pos: 0,
    };
    let mut errors = Vec::new();
    sc.skip_trivia();
    // A document may wrap everything in one pair of root braces.
    let end = if sc.s.get(sc.pos) == Some(&b'{') {
        let open = sc.pos;
        sc.skip_nested();
        let close = sc.pos.saturating_sub(1);
        sc.pos = open + 1;
        close
    } else {
        text.len()
    };
    let sections = sc.entries(text, end, |_, _| {});
    let mut layout = Layout::default();
    for section in sections {
        let lower = section.name.to_ascii_lowercase();
        let blocks = if matches!(lower.as_str(), "source" | "transform" | "sink") {
            let mut inner = Scanner {
                s: text.as_bytes(),
                pos: section.body.start + 1,
            };
            inner.entries(text, section.body.end - 1, |key, line| {
                errors.push(ScanError {
                    line,
                    message: format!(
                        "`{key}` in `{}` is not a plugin block; write `PluginName {{ ... }}`",
                        section.name
                    ),
                });
            })
        } else {
            Vec::new()
        };
        layout.sections.push((section, blocks));
    }
    (layout, errors)
}

/// The line where the option at `path` (dotted keys; `[n]` list indexes are skipped) is
/// written inside `range`, found by looking for each key in turn. Falls back to the line of
/// the last key found, or of the range's start.
pub fn locate(text: &str, range: std::ops::Range<usize>, path: &[String]) -> usize {
    let bytes = text.as_bytes();
    let mut pos = range.start;
    let mut line = line_of(text, range.start);
    for seg in path {
        if seg.starts_with('[') {
            continue;
        }
        for part in seg.split('.') {
            let Some(found) = find_key(bytes, pos, range.end, part) else {
                return line;
            };
            pos = found + part.len();
            line = line_of(text, found);
        }
    }
    line
}

fn find_key(s: &[u8], from: usize, to: usize, key: &str) -> Option<usize> {
    let k = key.as_bytes();
    let mut i = from;
    while i + k.len() <= to.min(s.len()) {
        if &s[i..i + k.len()] == k {
            let before_ok = i == 0
                || !(s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'_' || s[i - 1] == b'-');
            let mut j = i + k.len();
            if s.get(j) == Some(&b'"') && i > 0 && s[i - 1] == b'"' {
                j += 1;
            }
            while j < s.len() && (s[j] == b' ' || s[j] == b'\t') {
                j += 1;
            }
            let after_ok = matches!(s.get(j), Some(b'=' | b':' | b'{' | b'.'));
            if before_ok && after_ok {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicate_blocks_in_order_with_lines() {
        let text = "env {\n  parallelism = 1\n}\nsource {\n  FakeSource { a = 1 }\n  # comment {\n  FakeSource = {\n    b = \"}\"\n  }\n}\nsink { Console {} }\n";
        let (layout, errors) = scan(text);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<_> = layout
            .sections
            .iter()
            .map(|(s, b)| (s.name.clone(), b.len()))
            .collect();
        assert_eq!(
            names,
            vec![("env".into(), 0), ("source".into(), 2), ("sink".into(), 1)]
        );
        let src = &layout.sections[1].1;
        assert_eq!((src[0].line, src[1].line), (5, 7));
        assert_eq!(&text[src[1].body.clone()], "{\n    b = \"}\"\n  }");
    }

    #[test]
    fn locates_nested_options() {
        let text =
            "Assert {\n  rules {\n    field_rules = [\n      { field_name = a }\n    ]\n  }\n}";
        let path = [
            "rules".to_string(),
            "field_rules".to_string(),
            "[0]".to_string(),
            "field_name".to_string(),
        ];
        assert_eq!(locate(text, 0..text.len(), &path), 4);
    }
}
