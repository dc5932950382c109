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
    pattern: String,
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
            pattern,
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
        if let ColumnData::Utf8(values) = &col.data {
            let mut out = VarWidth::with_capacity(values.len(), values.data.len());
            for i in 0..values.len() {
                let s =
                    std::str::from_utf8(values.get(i)).map_err(|e| Error::fatal(e.to_string()))?;
                match &self.regex {
                    Some(re) => {
                        let replaced = if self.first {
                            re.replace(s, self.replacement.as_str())
                        } else {
                            re.replace_all(s, self.replacement.as_str())
                        };
                        out.data.extend_from_slice(replaced.as_bytes());
                    }
                    None => {
                        // Write the pieces straight into the output buffer: no per-row string.
                        let mut last = 0;
                        for (at, _) in s.match_indices(self.pattern.as_str()) {
                            out.data.extend_from_slice(&s.as_bytes()[last..at]);
                            out.data.extend_from_slice(self.replacement.as_bytes());
                            last = at + self.pattern.len();
                        }
                        out.data.extend_from_slice(&s.as_bytes()[last..]);
                    }
                }
                out.offsets.push(
                    u32::try_from(out.data.len())
                        .map_err(|_| Error::fatal("batch over 4 GiB of text"))?,
                );
            }
            col.data = ColumnData::Utf8(out);
        }
        Ok(vec![batch])
    }
}

st_sdk::export_transform!(Replace);
