//! FilterRowKind: keeps rows whose kind is in `include_kinds`, or drops those in
//! `exclude_kinds` (INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE); exactly one of the two.

use serde_json::Value as Json;
use st_sdk::{
    Batch, DataType, Describe, Error, OptionSpecs, OptionType, Options, Result, RowKind,
    TableSchema, TaskContext, Transform, string_list,
};

pub struct FilterRowKind {
    tables: Vec<TableSchema>,
    types: Vec<Vec<DataType>>,
    keep: [bool; 4],
}

fn index(k: RowKind) -> usize {
    match k {
        RowKind::Insert => 0,
        RowKind::UpdateBefore => 1,
        RowKind::UpdateAfter => 2,
        RowKind::Delete => 3,
    }
}

impl Describe for FilterRowKind {
    const NAME: &'static str = "FilterRowKind";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .optional(
                "include_kinds",
                OptionType::List,
                Json::Null,
                "Row kinds to keep: INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE.",
            )
            .optional(
                "exclude_kinds",
                OptionType::List,
                Json::Null,
                "Row kinds to drop.",
            )
    }
}

fn kinds(names: &[String], option: &str) -> Result<[bool; 4]> {
    let mut set = [false; 4];
    for n in names {
        let k = RowKind::parse(n).ok_or_else(|| {
            Error::invalid_option(
                option,
                format!("`{n}` is not INSERT, UPDATE_BEFORE, UPDATE_AFTER or DELETE"),
            )
        })?;
        set[index(k)] = true;
    }
    Ok(set)
}

impl Transform for FilterRowKind {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let keep = match (
            string_list(options, "include_kinds")?,
            string_list(options, "exclude_kinds")?,
        ) {
            (Some(inc), None) => kinds(&inc, "include_kinds")?,
            (None, Some(exc)) => kinds(&exc, "exclude_kinds")?.map(|drop| !drop),
            _ => {
                return Err(Error::invalid_option(
                    "include_kinds",
                    "set exactly one of include_kinds and exclude_kinds",
                ));
            }
        };
        Ok(FilterRowKind {
            types: inputs.iter().map(TableSchema::row_type).collect(),
            tables: inputs,
            keep,
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.clone()
    }

    fn map(&mut self, batch: Batch) -> Result<Vec<Batch>> {
        let flags: Vec<bool> = (0..batch.num_rows)
            .map(|i| self.keep[index(batch.row_kind(i))])
            .collect();
        if flags.iter().all(|k| *k) {
            return Ok(vec![batch]);
        }
        let out = batch.filter_rows(&flags, &self.types[batch.table as usize]);
        Ok(if out.num_rows == 0 {
            Vec::new()
        } else {
            vec![out]
        })
    }
}

st_sdk::export_transform!(FilterRowKind);
