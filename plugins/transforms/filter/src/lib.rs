//! Filter: keeps the fields in `include_fields` (in that order) or drops those in
//! `exclude_fields`; exactly one of the two. `fields`, the name SeaTunnel's older configs use
//! for `include_fields`, is read too.

use serde_json::Value as Json;
use st_sdk::{
    Batch, Describe, Error, OptionSpecs, OptionType, Options, Result, TableSchema, TaskContext,
    Transform, field_index, string_list,
};

pub struct Filter {
    tables: Vec<(TableSchema, Vec<usize>)>,
}

impl Describe for Filter {
    const NAME: &'static str = "Filter";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "include_fields",
                OptionType::List,
                Json::Null,
                "The fields to keep, in output order.",
            )
            .optional(
                "exclude_fields",
                OptionType::List,
                Json::Null,
                "The fields to drop.",
            )
            .optional(
                "fields",
                OptionType::List,
                Json::Null,
                "The older name of include_fields, still read.",
            )
    }
}

impl Transform for Filter {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let include = match string_list(options, "include_fields")? {
            Some(list) => Some(list),
            None => string_list(options, "fields")?,
        };
        let exclude = string_list(options, "exclude_fields")?;
        let mut tables = Vec::new();
        for input in inputs {
            let picks: Vec<usize> = match (&include, &exclude) {
                (Some(inc), None) => inc
                    .iter()
                    .map(|f| field_index(&input, f, "include_fields"))
                    .collect::<Result<_>>()?,
                (None, Some(exc)) => {
                    for f in exc {
                        field_index(&input, f, "exclude_fields")?;
                    }
                    (0..input.columns.len())
                        .filter(|i| !exc.contains(&input.columns[*i].name))
                        .collect()
                }
                _ => {
                    return Err(Error::invalid_option(
                        "include_fields",
                        "set exactly one of include_fields and exclude_fields",
                    ));
                }
            };
            let out = input.with_columns(picks.iter().map(|&i| input.columns[i].clone()).collect());
            tables.push((out, picks));
        }
        Ok(Filter { tables })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(t, _)| t.clone()).collect()
    }

    fn map(&mut self, mut batch: Batch) -> Result<Vec<Batch>> {
        let (_, picks) = &self.tables[batch.table as usize];
        let mut old: Vec<Option<st_sdk::Column>> = batch.columns.drain(..).map(Some).collect();
        batch.columns = picks
            .iter()
            .map(|&i| old[i].take())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::fatal("a field is listed twice in include_fields"))?;
        Ok(vec![batch])
    }
}

st_sdk::export_transform!(Filter);
