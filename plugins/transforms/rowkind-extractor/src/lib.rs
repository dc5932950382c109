//! RowKindExtractor: adds a string field holding each row's kind (`SHORT`: +I, -U, +U, -D;
//! `FULL`: INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE) and turns every row into an INSERT.

use serde_json::json;
use st_sdk::{
    Batch, Column, ColumnData, ColumnDef, DataType, Describe, Error, OptionSpecs, OptionType,
    Options, Result, TableSchema, TaskContext, Transform, VarWidth,
};

pub struct RowKindExtractor {
    tables: Vec<TableSchema>,
    full: bool,
}

impl Describe for RowKindExtractor {
    const NAME: &'static str = "RowKindExtractor";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "custom_field_name",
                OptionType::String,
                json!("row_kind"),
                "The name of the added field.",
            )
            .optional(
                "transform_type",
                OptionType::String,
                json!("SHORT"),
                "SHORT (+I, -U, +U, -D) or FULL (INSERT, UPDATE_BEFORE, ...).",
            )
    }
}

impl Transform for RowKindExtractor {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let name = options
            .string("custom_field_name")?
            .unwrap_or_else(|| "row_kind".into());
        let full = match options
            .string("transform_type")?
            .unwrap_or_else(|| "SHORT".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "SHORT" => false,
            "FULL" => true,
            other => {
                return Err(Error::invalid_option(
                    "transform_type",
                    format!("must be SHORT or FULL, found `{other}`"),
                ));
            }
        };
        let mut tables = Vec::new();
        for mut t in inputs {
            if t.index_of(&name).is_some() {
                return Err(Error::invalid_option(
                    "custom_field_name",
                    format!("table {} already has a field `{name}`", t.table_path),
                ));
            }
            let mut col = ColumnDef::new(name.clone(), DataType::String);
            col.nullable = false;
            t.columns.push(col);
            tables.push(t);
        }
        Ok(RowKindExtractor { tables, full })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.clone()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let mut out = VarWidth::with_capacity(batch.num_rows, batch.num_rows * 2);
        for i in 0..batch.num_rows {
            let k = batch.row_kind(i);
            out.push(if self.full { k.name() } else { k.short() }.as_bytes());
        }
        batch.columns.push(Column::new(ColumnData::Utf8(out)));
        batch.row_kinds = None;
        Ok(vec![batch])
    }
}

st_sdk::export_transform!(RowKindExtractor);
