//! Sql: SeaTunnel's SQL transform — `SELECT` expressions (aliases, `*`, nested field access)
//! `FROM` the input table with an optional `WHERE`. Parsed with `sqlparser`, compiled once per
//! input table into a typed expression tree (which fixes the output schema), evaluated per row.
//! Errors point at the line and column in the query.

mod compile;
mod eval;
mod funcs;

use st_sdk::{
    Batch, ColumnBuilder, ColumnDef, DataType, Describe, Error, OptionSpecs, OptionType, Options,
    Result, TableSchema, TaskContext, Transform,
};

use crate::compile::Query;

pub struct Sql {
    queries: Vec<Query>,
    outputs: Vec<TableSchema>,
    evaluator: eval::Evaluator,
}

impl Describe for Sql {
    const NAME: &'static str = "Sql";

    fn options() -> OptionSpecs {
        OptionSpecs::new().required(
            "query",
            OptionType::String,
            "The query: `select <expressions> from <input table> [where <condition>]`.",
        )
    }
}

impl Transform for Sql {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let text: String = options.require("query")?;
        let parsed = compile::parse(&text).map_err(|e| Error::invalid_option("query", e))?;
        let mut queries = Vec::new();
        let mut outputs = Vec::new();
        for input in &inputs {
            let q =
                compile::compile(&parsed, input).map_err(|e| Error::invalid_option("query", e))?;
            let mut out = input.clone();
            out.columns = q
                .outputs
                .iter()
                .map(|o| {
                    let mut c = ColumnDef::new(o.name.clone(), o.data_type.clone());
                    c.nullable = o.nullable;
                    c
                })
                .collect();
            let pk = out.primary_key.take();
            out.primary_key = pk.filter(|pk| pk.columns.iter().all(|c| out.index_of(c).is_some()));
            let names: Vec<String> = out.columns.iter().map(|c| c.name.clone()).collect();
            out.constraint_keys
                .retain(|k| k.columns.iter().all(|(c, _)| names.contains(c)));
            outputs.push(out);
            queries.push(q);
        }
        Ok(Sql {
            queries,
            outputs,
            evaluator: eval::Evaluator::default(),
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.outputs.clone()
    }

    fn map(&mut self, batch: Batch) -> Result<Vec<Batch>> {
        let t = batch.table as usize;
        let q = &self.queries[t];
        let types = &q.input_types;
        let mut builders: Vec<ColumnBuilder> = q
            .outputs
            .iter()
            .map(|o| ColumnBuilder::new(&o.data_type))
            .collect();
        let mut kinds = Vec::with_capacity(batch.num_rows);
        let mut rows = 0;
        for i in 0..batch.num_rows {
            let row = batch.row(i, types);
            if let Some(filter) = &q.filter {
                let keep = self
                    .evaluator
                    .eval(filter, &row)
                    .map_err(|e| Error::fatal(format!("where: {e}")))?;
                if keep != st_sdk::Value::Boolean(true) {
                    continue;
                }
            }
            for (o, b) in q.outputs.iter().zip(&mut builders) {
                let v = self
                    .evaluator
                    .eval(&o.expr, &row)
                    .map_err(|e| Error::fatal(format!("`{}`: {e}", o.name)))?;
                let v = eval::coerce(v, &o.data_type)
                    .map_err(|e| Error::fatal(format!("`{}`: {e}", o.name)))?;
                b.push(&v).map_err(Error::fatal)?;
            }
            kinds.push(batch.row_kind(i));
            rows += 1;
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![Batch {
            table: batch.table,
            num_rows: rows,
            row_kinds: batch.row_kinds.as_ref().map(|_| kinds),
            columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
        }])
    }
}

/// The type of a declared output, for messages.
pub fn type_name(t: &DataType) -> String {
    t.to_string()
}

st_sdk::export_transform!(Sql);
