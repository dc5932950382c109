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
            let out = input.with_columns(
                q.outputs
                    .iter()
                    .map(|o| {
                        let mut c = ColumnDef::new(o.name.clone(), o.data_type.clone());
                        c.nullable = o.nullable;
                        c
                    })
                    .collect(),
            );
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
        let input = eval::Input {
            batch: &batch,
            types: &q.input_types,
        };
        let all: Vec<usize> = (0..batch.num_rows).collect();
        // WHERE first, over the columns it reads; then each output over the surviving rows.
        let keep: Option<Vec<bool>> = match &q.filter {
            None => None,
            Some(filter) => Some(
                self.evaluator
                    .eval(filter, &input, &all)
                    .map_err(|e| Error::fatal(format!("where: {e}")))?
                    .into_iter()
                    .map(|v| v == st_sdk::Value::Boolean(true))
                    .collect(),
            ),
        };
        let sel: Vec<usize> = match &keep {
            None => all,
            Some(k) => (0..batch.num_rows).filter(|&i| k[i]).collect(),
        };
        if sel.is_empty() {
            return Ok(Vec::new());
        }
        let mut columns = Vec::with_capacity(q.outputs.len());
        for o in &q.outputs {
            // A column passed through unchanged is copied as a column, never as values.
            if let compile::E::Col(i) = o.expr
                && q.input_types[i] == o.data_type
            {
                let col = &batch.columns[i];
                columns.push(match &keep {
                    None => col.clone(),
                    Some(k) => col.filter(k, &o.data_type),
                });
                continue;
            }
            let values = self
                .evaluator
                .eval(&o.expr, &input, &sel)
                .map_err(|e| Error::fatal(format!("`{}`: {e}", o.name)))?;
            let mut b = ColumnBuilder::new(&o.data_type);
            for v in values {
                let v = eval::coerce(v, &o.data_type)
                    .map_err(|e| Error::fatal(format!("`{}`: {e}", o.name)))?;
                b.push(&v).map_err(Error::fatal)?;
            }
            columns.push(b.finish());
        }
        Ok(vec![Batch {
            table: batch.table,
            num_rows: sel.len(),
            row_kinds: batch
                .row_kinds
                .as_ref()
                .map(|k| sel.iter().map(|&i| k[i]).collect()),
            columns,
        }])
    }
}

/// The type of a declared output, for messages.
pub fn type_name(t: &DataType) -> String {
    t.to_string()
}

st_sdk::export_transform!(Sql);
