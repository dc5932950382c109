//! FieldMapper: keeps, reorders and renames fields — `field_mapper { old = new, ... }`; fields
//! not listed are dropped and the output follows the listed order.

use serde_json::Value as Json;
use st_sdk::{
    Batch, ColumnDef, Describe, Error, OptionSpecs, OptionType, Options, Result, TableSchema,
    TaskContext, Transform, field_index,
};

pub struct FieldMapper {
    tables: Vec<(TableSchema, Vec<usize>)>,
}

impl Describe for FieldMapper {
    const NAME: &'static str = "FieldMapper";

    fn options() -> OptionSpecs {
        OptionSpecs::new().required(
            "field_mapper",
            OptionType::Object,
            "Input field → output field name, in output order: `field_mapper { id = id, name = new_name }`.",
        )
    }
}

impl Transform for FieldMapper {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let Some(Json::Object(map)) = options.json("field_mapper") else {
            return Err(Error::invalid_option(
                "field_mapper",
                "must be an object of `input = output`",
            ));
        };
        let mut tables = Vec::new();
        for input in inputs {
            let mut columns: Vec<ColumnDef> = Vec::new();
            let mut picks = Vec::new();
            for (from, to) in &map {
                let option = format!("field_mapper.{from}");
                let i = field_index(&input, from, &option)?;
                let to = to.as_str().ok_or_else(|| {
                    Error::invalid_option(&option, format!("must be a field name, found {to}"))
                })?;
                if columns.iter().any(|c| c.name == to) {
                    return Err(Error::invalid_option(
                        option,
                        format!("`{to}` is produced twice"),
                    ));
                }
                let mut col = input.columns[i].clone();
                col.name = to.to_string();
                columns.push(col);
                picks.push(i);
            }
            tables.push((input.with_columns(columns), picks));
        }
        Ok(FieldMapper { tables })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(t, _)| t.clone()).collect()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let (_, picks) = &self.tables[batch.table as usize];
        let mut old: Vec<Option<st_sdk::Column>> = batch.columns.drain(..).map(Some).collect();
        // Object keys are unique, so every input column is taken at most once.
        batch.columns = picks
            .iter()
            .map(|&i| old[i].take())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::fatal("an input field is mapped twice"))?;
        Ok(vec![batch])
    }
}

st_sdk::export_transform!(FieldMapper);
