//! Split: splits a field by `separator` (a regular expression, as in SeaTunnel) into the new
//! string fields `output_fields`; missing parts are null and the last field keeps the rest. A
//! field that is not a string is split as its text (`101` by `1` gives ``, `0`, `1`).

use st_sdk::{
    Batch, ColumnBuilder, ColumnDef, DataType, Describe, Error, OptionSpecs, OptionType, Options,
    Result, TableSchema, TaskContext, Transform, Value, field_index, string_list,
};

pub struct Split {
    tables: Vec<TableSchema>,
    columns: Vec<usize>,
    /// The split field's type, per table.
    types: Vec<DataType>,
    separator: regex::Regex,
    outputs: usize,
}

impl Describe for Split {
    const NAME: &'static str = "Split";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required(
                "separator",
                OptionType::String,
                "The separator, a regular expression.",
            )
            .required(
                "split_field",
                OptionType::String,
                "The field to split (a field of another type is split as its text).",
            )
            .required(
                "output_fields",
                OptionType::List,
                "The new fields, one per part.",
            )
    }
}

impl Transform for Split {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let sep = options.string("separator")?.unwrap_or_default();
        if sep.is_empty() {
            return Err(Error::invalid_option("separator", "must not be empty"));
        }
        let separator = regex::Regex::new(&sep).map_err(|e| {
            Error::invalid_option("separator", format!("invalid regular expression: {e}"))
        })?;
        let field: String = options.require("split_field")?;
        let outputs = string_list(options, "output_fields")?.unwrap_or_default();
        if outputs.is_empty() {
            return Err(Error::invalid_option(
                "output_fields",
                "must name at least one field",
            ));
        }
        let mut tables = Vec::new();
        let mut columns = Vec::new();
        let mut types = Vec::new();
        for mut t in inputs {
            // A field of another type is split as its text, as SeaTunnel does.
            let i = field_index(&t, &field, "split_field")?;
            for o in &outputs {
                if t.index_of(o).is_some() {
                    return Err(Error::invalid_option(
                        "output_fields",
                        format!("table {} already has a field `{o}`", t.table_path),
                    ));
                }
                t.columns.push(ColumnDef::new(o.clone(), DataType::String));
            }
            columns.push(i);
            types.push(t.columns[i].data_type.clone());
            tables.push(t);
        }
        Ok(Split {
            tables,
            columns,
            types,
            separator,
            outputs: outputs.len(),
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.clone()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let table = batch.table as usize;
        let (col, ty) = (&batch.columns[self.columns[table]], &self.types[table]);
        let mut builders: Vec<ColumnBuilder> = (0..self.outputs)
            .map(|_| ColumnBuilder::new(&DataType::String))
            .collect();
        for i in 0..batch.num_rows {
            let parts: Vec<Value> = match col.value(i, ty) {
                Value::Null => Vec::new(),
                Value::String(s) => self.split(&s),
                other => self.split(&other.to_string()),
            };
            for (k, b) in builders.iter_mut().enumerate() {
                b.push(parts.get(k).unwrap_or(&Value::Null))
                    .map_err(Error::fatal)?;
            }
        }
        batch
            .columns
            .extend(builders.into_iter().map(ColumnBuilder::finish));
        Ok(vec![batch])
    }
}

impl Split {
    fn split(&self, text: &str) -> Vec<Value> {
        self.separator
            .splitn(text, self.outputs)
            .map(|p| Value::String(p.to_string()))
            .collect()
    }
}

st_sdk::export_transform!(Split);
