//! Copy: appends copies of fields under new names — `fields { new = old, ... }`, or the older
//! `src_field` / `dest_field` pair.

use serde_json::Value as Json;
use st_sdk::{
    Batch, ColumnDef, Describe, Error, OptionSpecs, OptionType, Options, Result, TableSchema,
    TaskContext, Transform, field_index,
};

pub struct Copy {
    /// Per input table: the output schema and the source column of each appended column.
    tables: Vec<(TableSchema, Vec<usize>)>,
}

impl Describe for Copy {
    const NAME: &'static str = "Copy";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "fields",
                OptionType::Object,
                Json::Null,
                "New fields and the fields they copy: `fields { name_copy = name }`.",
            )
            .optional(
                "src_field",
                OptionType::String,
                Json::Null,
                "The field to copy (with dest_field).",
            )
            .optional(
                "dest_field",
                OptionType::String,
                Json::Null,
                "The new field's name (with src_field).",
            )
    }
}

impl Transform for Copy {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let mut pairs: Vec<(String, String, String)> = Vec::new();
        if let Some(Json::Object(fields)) = options.json("fields") {
            for (dest, src) in fields {
                let src = src.as_str().map(str::to_string).ok_or_else(|| {
                    Error::invalid_option(
                        format!("fields.{dest}"),
                        format!("must name a field, found {src}"),
                    )
                })?;
                pairs.push((dest.clone(), src, format!("fields.{dest}")));
            }
        }
        match (options.string("src_field")?, options.string("dest_field")?) {
            (Some(src), Some(dest)) => pairs.push((dest, src, "src_field".into())),
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::invalid_option(
                    "dest_field",
                    "is required with src_field",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::invalid_option(
                    "src_field",
                    "is required with dest_field",
                ));
            }
        }
        if pairs.is_empty() {
            return Err(Error::invalid_option(
                "fields",
                "set `fields` or `src_field` and `dest_field`",
            ));
        }
        let mut tables = Vec::new();
        for input in inputs {
            let mut out = input.clone();
            let mut sources = Vec::new();
            for (dest, src, option) in &pairs {
                let i = field_index(&input, src, option)?;
                if out.index_of(dest).is_some() {
                    return Err(Error::invalid_option(
                        option.clone(),
                        format!("table {} already has a field `{dest}`", input.table_path),
                    ));
                }
                let mut col = ColumnDef::new(dest.clone(), input.columns[i].data_type.clone());
                col.nullable = input.columns[i].nullable;
                out.columns.push(col);
                sources.push(i);
            }
            tables.push((out, sources));
        }
        Ok(Copy { tables })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(t, _)| t.clone()).collect()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let (_, sources) = &self.tables[batch.table as usize];
        for &i in sources {
            let copy = batch.columns[i].clone();
            batch.columns.push(copy);
        }
        Ok(vec![batch])
    }
}

st_sdk::export_transform!(Copy);
