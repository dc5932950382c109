//! Replace: replaces text in one string field — plainly (every occurrence) or by regular
//! expression (`is_regex`; every match, or the first with `replace_first`).

use serde_json::json;
use st_sdk::{
    Batch, ColumnData, DataType, Describe, Error, OptionSpecs, OptionType, Options, Result,
    TableSchema, TaskContext, Transform, VarWidth, field_index,
};

pub struct Replace {
    tables: Vec<TableSchema>,
    /// Per input table, the field's column.
    columns: Vec<usize>,
    /// The plain pattern's searcher, built once.
    finder: memchr::memmem::Finder<'static>,
    regex: Option<regex::Regex>,
    replacement: String,
    first: bool,
}

impl Describe for Replace {
    const NAME: &'static str = "Replace";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required(
                "replace_field",
                OptionType::String,
                "The string field to change.",
            )
            .required(
                "pattern",
                OptionType::String,
                "The text (or regular expression) to replace.",
            )
            .required(
                "replacement",
                OptionType::String,
                "What replaces it; with is_regex, `$1` names a group.",
            )
            .optional(
                "is_regex",
                OptionType::Boolean,
                json!(false),
                "Treat pattern as a regular expression.",
            )
            .optional(
                "replace_first",
                OptionType::Boolean,
                json!(false),
                "Replace only the first match (with is_regex).",
            )
    }
}

impl Transform for Replace {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let field: String = options.require("replace_field")?;
        let pattern = options.string("pattern")?.unwrap_or_default();
        let replacement = options.string("replacement")?.unwrap_or_default();
        let is_regex = options.bool("is_regex")?.unwrap_or(false);
        let regex = if is_regex {
            Some(regex::Regex::new(&pattern).map_err(|e| {
                Error::invalid_option("pattern", format!("invalid regular expression: {e}"))
            })?)
        } else {
            if pattern.is_empty() {
                return Err(Error::invalid_option("pattern", "must not be empty"));
            }
            None
        };
        let mut columns = Vec::new();
        for t in &inputs {
            let i = field_index(t, &field, "replace_field")?;
            if t.columns[i].data_type != DataType::String {
                return Err(Error::invalid_option(
                    "replace_field",
                    format!(
                        "`{field}` in table {} is {}, not a string",
                        t.table_path, t.columns[i].data_type
                    ),
                ));
            }
            columns.push(i);
        }
        // Java's replacement syntax (`$1`) is also the regex crate's; `${1}` works too.
        Ok(Replace {
            tables: inputs,
            columns,
            finder: memchr::memmem::Finder::new(pattern.as_bytes()).into_owned(),
            regex,
            replacement,
            first: options.bool("replace_first")?.unwrap_or(false),
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.clone()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let col = &mut batch.columns[self.columns[batch.table as usize]];
        let ColumnData::Utf8(values) = &mut col.data else {
            return Ok(vec![batch]);
        };
        // A plain pattern replaced by text of the same length: overwrite in place.
        if self.regex.is_none() && self.replacement.len() == self.finder.needle().len() {
            replace_in_place(values, &self.finder, self.replacement.as_bytes());
            return Ok(vec![batch]);
        }
        let mut out = VarWidth::with_capacity(values.len(), values.data.len());
        match &self.regex {
            Some(re) => {
                for i in 0..values.len() {
                    let s = std::str::from_utf8(values.get(i))
                        .map_err(|e| Error::fatal(e.to_string()))?;
                    let replaced = if self.first {
                        re.replace(s, self.replacement.as_str())
                    } else {
                        re.replace_all(s, self.replacement.as_str())
                    };
                    out.push(replaced.as_bytes());
                }
            }
            None => {
                // Nothing to replace anywhere in the batch: pass it on untouched.
                if self.finder.find(&values.data).is_none() {
                    return Ok(vec![batch]);
                }
                // Every match is replaced (`replace_first` applies to regexes only, as in
                // SeaTunnel).
                out = replace_plain(values, &self.finder, self.replacement.as_bytes())?;
            }
        }
        col.data = ColumnData::Utf8(out);
        Ok(vec![batch])
    }
}

/// `replace_plain` for a replacement as long as the pattern: the offsets do not change, so the
/// matches are overwritten in the batch's own buffer.
fn replace_in_place(values: &mut VarWidth, finder: &memchr::memmem::Finder<'_>, with: &[u8]) {
    // One byte for another (a separator, say): a loop the compiler turns into SIMD.
    if let ([from], [to]) = (finder.needle(), with) {
        let (from, to) = (*from, *to);
        for b in &mut values.data {
            *b = if *b == from { to } else { *b };
        }
        return;
    }
    let hits = matches(values, finder);
    let n = with.len();
    for at in hits {
        values.data[at..at + n].copy_from_slice(with);
    }
}

/// Where the non-overlapping matches inside single values start, left to right. A match that
/// would straddle two values is none; the search restarts at the first value's end.
fn matches(values: &VarWidth, finder: &memchr::memmem::Finder<'_>) -> Vec<usize> {
    let (data, offs) = (&values.data, &values.offsets);
    let n = finder.needle().len();
    let mut hits = Vec::new();
    let (mut row, mut pos, mut free) = (0usize, 0usize, 0usize);
    'search: loop {
        for m in finder.find_iter(&data[pos..]) {
            let at = pos + m;
            if at < free {
                continue;
            }
            while (offs[row + 1] as usize) <= at {
                row += 1;
            }
            let end = offs[row + 1] as usize;
            if at + n > end {
                pos = end;
                free = end;
                continue 'search;
            }
            hits.push(at);
            free = at + n;
        }
        break;
    }
    hits
}

/// Replaces every match of `finder` in every value, in one pass over the text buffer. A UTF-8
/// pattern matches UTF-8 text only at character boundaries; a match that would straddle two
/// values is skipped by restarting the search at the first value's end.
fn replace_plain(
    values: &VarWidth,
    finder: &memchr::memmem::Finder<'_>,
    with: &[u8],
) -> Result<VarWidth> {
    let (data, offs) = (&values.data, &values.offsets);
    let needle = finder.needle().len();
    let hits = matches(values, finder);
    let grown = hits.len() * with.len().saturating_sub(needle);
    let mut out = VarWidth::with_capacity(values.len(), data.len() + grown);
    let too_big = || Error::fatal("batch over 4 GiB of text");
    // Unchanged stretches are copied whole; each value's end moves by what the replacements
    // before it added or removed.
    let (mut row, mut copied, mut delta) = (0usize, 0usize, 0i64);
    let shift = |end: u32, delta: i64| u32::try_from(i64::from(end) + delta).map_err(|_| too_big());
    for at in hits {
        while (offs[row + 1] as usize) <= at {
            out.offsets.push(shift(offs[row + 1], delta)?);
            row += 1;
        }
        out.data.extend_from_slice(&data[copied..at]);
        out.data.extend_from_slice(with);
        copied = at + needle;
        delta += with.len() as i64 - needle as i64;
    }
    out.data.extend_from_slice(&data[copied..]);
    while row < values.len() {
        out.offsets.push(shift(offs[row + 1], delta)?);
        row += 1;
    }
    Ok(out)
}

st_sdk::export_transform!(Replace);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[&str], pattern: &str, with: &str) -> Vec<String> {
        let mut v = VarWidth::with_capacity(values.len(), 64);
        for s in values {
            v.push(s.as_bytes());
        }
        let finder = memchr::memmem::Finder::new(pattern);
        let out = replace_plain(&v, &finder, with.as_bytes()).unwrap();
        let text = |w: &VarWidth| -> Vec<String> {
            (0..w.len())
                .map(|i| String::from_utf8(w.get(i).to_vec()).unwrap())
                .collect()
        };
        if pattern.len() == with.len() {
            let mut in_place = v.clone();
            replace_in_place(&mut in_place, &finder, with.as_bytes());
            assert_eq!(text(&in_place), text(&out), "in place and copying agree");
        }
        text(&out)
    }

    #[test]
    fn replaces_within_values_never_across_them() {
        assert_eq!(
            run(&["abca", "", "a", "bb"], "a", "xy"),
            ["xybcxy", "", "xy", "bb"]
        );
        // "aa" straddles the first two values, but each also holds one of its own.
        assert_eq!(
            run(&["xa", "aab", "a", "a"], "aa", "-"),
            ["xa", "-b", "a", "a"]
        );
        assert_eq!(run(&["ééé", "é"], "é", "e"), ["eee", "e"]);
        assert_eq!(run(&["none", "here"], "z", "!"), ["none", "here"]);
        assert_eq!(run(&["aaaa"], "aa", "b"), ["bb"]);
        assert_eq!(run(&["aaa", "aa"], "aa", "bb"), ["bba", "bb"]);
        assert_eq!(run(&["xa", "aab"], "aa", "zz"), ["xa", "zzb"]);
        assert_eq!(run(&["abcab", "c"], "a", "é"), ["ébcéb", "c"]);
        assert_eq!(run(&[], "a", "b"), Vec::<String>::new());
    }
}
