//! Split: splits a string field by `separator` (a regular expression, as in SeaTunnel) into the
//! new string fields `output_fields`; missing parts are null and the last field keeps the rest.

use st_sdk::{
    Batch, ColumnBuilder, ColumnDef, DataType, Describe, Error, OptionSpecs, OptionType, Options,
    Result, TableSchema, TaskContext, Transform, Value, field_index, string_list,
};

pub struct Split {
    tables: Vec<TableSchema>,
    columns: Vec<usize>,
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
                "The string field to split.",
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
        for mut t in inputs {
            let i = field_index(&t, &field, "split_field")?;
            if t.columns[i].data_type != DataType::String {
                return Err(Error::invalid_option(
                    "split_field",
                    format!("`{field}` is {}, not a string", t.columns[i].data_type),
                ));
            }
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
            tables.push(t);
        }
        Ok(Split {
            tables,
            columns,
            separator,
            outputs: outputs.len(),
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.clone()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let col = &batch.columns[self.columns[batch.table as usize]];
        let mut builders: Vec<ColumnBuilder> = (0..self.outputs)
            .map(|_| ColumnBuilder::new(&DataType::String))
            .collect();
        for i in 0..batch.num_rows {
            let v = col.value(i, &DataType::String);
            let parts: Vec<Value> = match &v {
                Value::String(s) => self
                    .separator
                    .splitn(s, self.outputs)
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
                _ => Vec::new(),
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

st_sdk::export_transform!(Split);
