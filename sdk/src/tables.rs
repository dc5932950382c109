//! SeaTunnel's multi-table transform settings, for every transform: `table_match_regex`
//! chooses the input tables a transform applies to (matched against the whole
//! `database.table`; the others pass through unchanged), and `table_transform` gives tables
//! their own options, each entry naming its table by `table_path` (or `tablePath`) and
//! overriding the block's options for it. Each distinct option set gets its own instance of
//! the transform, created with just its tables.

use serde_json::{Map, Value as Json};

use crate::{Batch, Error, Options, Result, TableSchema, TaskContext, Transform};

/// Where an input table goes.
pub(crate) enum Route {
    /// Not chosen: passed through unchanged.
    Pass,
    /// To table `local` of instance `instance`.
    To { instance: usize, local: u32 },
}

/// A transform over its input tables: one instance, or one per option set.
pub(crate) enum Tables<T> {
    One(T),
    Many {
        routes: Vec<Route>,
        /// Each instance with the input tables it was created with.
        instances: Vec<(T, Vec<u32>)>,
        outputs: Vec<TableSchema>,
    },
}

impl<T: Transform> Tables<T> {
    pub(crate) fn create(
        json: &str,
        ctx: &TaskContext,
        inputs: Vec<TableSchema>,
    ) -> Result<Tables<T>> {
        let mut map = match serde_json::from_str::<Json>(json) {
            Ok(Json::Object(map)) => map,
            _ => return Err(Error::fatal("options must be a JSON object")),
        };
        let regex = map.remove("table_match_regex");
        let entries = map.remove("table_transform");
        if regex.is_none() && entries.is_none() {
            let options = Options::from_map(map, &T::options());
            return Ok(Tables::One(T::create(&options, ctx, inputs)?));
        }
        let chosen = match &regex {
            None => None,
            Some(Json::String(r)) => {
                Some(regex_lite::Regex::new(&format!("^(?:{r})$")).map_err(|e| {
                    Error::invalid_option(
                        "table_match_regex",
                        format!("not a valid regular expression: {e}"),
                    )
                })?)
            }
            Some(other) => {
                return Err(Error::invalid_option(
                    "table_match_regex",
                    format!("expected a string, found {other}"),
                ));
            }
        };
        let entries: Vec<(String, Map<String, Json>)> = match entries {
            None => Vec::new(),
            Some(Json::Array(list)) => list
                .into_iter()
                .map(|e| {
                    let Json::Object(mut e) = e else {
                        return Err(Error::invalid_option(
                            "table_transform",
                            "each entry must be an object",
                        ));
                    };
                    match e.remove("table_path").or_else(|| e.remove("tablePath")) {
                        Some(Json::String(path)) => Ok((path, e)),
                        _ => Err(Error::invalid_option(
                            "table_transform",
                            "each entry needs `table_path`",
                        )),
                    }
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(Error::invalid_option(
                    "table_transform",
                    format!("expected a list, found {other}"),
                ));
            }
        };
        // Group the tables by option set: an entry of their own, else the block's options
        // when the regex (all tables without one) chooses them.
        let mut groups: Vec<(Option<usize>, Vec<u32>)> = Vec::new();
        let mut routes = Vec::with_capacity(inputs.len());
        for (i, t) in inputs.iter().enumerate() {
            let set = match entries.iter().position(|(p, _)| *p == t.table_path) {
                Some(e) => Some(e),
                None if chosen.as_ref().is_none_or(|r| r.is_match(&t.table_path)) => None,
                None => {
                    routes.push(Route::Pass);
                    continue;
                }
            };
            let instance = match groups.iter().position(|(s, _)| *s == set) {
                Some(k) => k,
                None => {
                    groups.push((set, Vec::new()));
                    groups.len() - 1
                }
            };
            routes.push(Route::To {
                instance,
                local: groups[instance].1.len() as u32,
            });
            groups[instance].1.push(i as u32);
        }
        let mut instances = Vec::with_capacity(groups.len());
        for (set, tables) in groups {
            let mut options = map.clone();
            if let Some(e) = set {
                options.extend(entries[e].1.clone());
            }
            let schemas: Vec<TableSchema> =
                tables.iter().map(|&i| inputs[i as usize].clone()).collect();
            let options = Options::from_map(options, &T::options());
            let t = T::create(&options, ctx, schemas).map_err(|err| {
                let which = match set {
                    Some(e) => format!("table_transform for {}", entries[e].0),
                    None => format!("the options for {}", inputs[tables[0] as usize].table_path),
                };
                match err {
                    Error::InvalidOption { option, message } => Error::InvalidOption {
                        option,
                        message: format!("{message} ({which})"),
                    },
                    Error::Retriable(m) => Error::Retriable(format!("{which}: {m}")),
                    Error::Fatal(m) => Error::Fatal(format!("{which}: {m}")),
                }
            })?;
            instances.push((t, tables));
        }
        let outputs = routes
            .iter()
            .zip(&inputs)
            .map(|(route, input)| match route {
                Route::Pass => Ok(input.clone()),
                Route::To { instance, local } => instances[*instance]
                    .0
                    .output_schemas()
                    .get(*local as usize)
                    .cloned()
                    .ok_or_else(|| Error::fatal("an output table is missing")),
            })
            .collect::<Result<_>>()?;
        Ok(Tables::Many {
            routes,
            instances,
            outputs,
        })
    }

    pub(crate) fn output_schemas(&self) -> Vec<TableSchema> {
        match self {
            Tables::One(t) => t.output_schemas(),
            Tables::Many { outputs, .. } => outputs.clone(),
        }
    }

    pub(crate) fn map(&mut self, mut input: Batch) -> Result<Vec<Batch>> {
        let (routes, instances) = match self {
            Tables::One(t) => return t.map(input),
            Tables::Many {
                routes, instances, ..
            } => (routes, instances),
        };
        match routes.get(input.table as usize) {
            None => Err(Error::fatal(format!(
                "a batch of unknown table {}",
                input.table
            ))),
            Some(Route::Pass) => Ok(vec![input]),
            Some(Route::To { instance, local }) => {
                let (t, tables) = &mut instances[*instance];
                input.table = *local;
                let mut out = t.map(input)?;
                for b in &mut out {
                    b.table = tables.get(b.table as usize).copied().ok_or_else(|| {
                        Error::fatal(format!("the transform returned unknown table {}", b.table))
                    })?;
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnDef, DataType, Describe, OptionSpecs, OptionType};
    use serde_json::json;

    /// Appends one column named by its `name` option to every table it is given.
    struct AddColumn {
        outputs: Vec<TableSchema>,
    }

    impl Describe for AddColumn {
        const NAME: &'static str = "AddColumn";
        fn options() -> OptionSpecs {
            OptionSpecs::new().required("name", OptionType::String, "The new column.")
        }
    }

    impl Transform for AddColumn {
        fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
            let name: String = options.require("name")?;
            let outputs = inputs
                .into_iter()
                .map(|mut t| {
                    t.columns.push(ColumnDef::new(&name, DataType::Int));
                    t
                })
                .collect();
            Ok(AddColumn { outputs })
        }
        fn output_schemas(&self) -> Vec<TableSchema> {
            self.outputs.clone()
        }
        fn map(&mut self, input: Batch) -> Result<Vec<Batch>> {
            // Echoes the batch (its table index says which instance table it was).
            Ok(vec![input])
        }
    }

    fn ctx() -> TaskContext {
        TaskContext {
            job_id: "j".into(),
            job_name: "j".into(),
            plugin_path: "transform[0]".into(),
            subtask: 0,
            parallelism: 1,
            bounded: true,
        }
    }

    fn tables(paths: &[&str]) -> Vec<TableSchema> {
        paths
            .iter()
            .map(|p| TableSchema::new(*p, vec![ColumnDef::new("id", DataType::Int)]))
            .collect()
    }

    fn columns(t: &Tables<AddColumn>) -> Vec<Vec<String>> {
        t.output_schemas()
            .iter()
            .map(|s| s.columns.iter().map(|c| c.name.clone()).collect())
            .collect()
    }

    fn batch(table: u32) -> Batch {
        Batch {
            table,
            num_rows: 0,
            row_kinds: None,
            columns: Vec::new(),
        }
    }

    #[test]
    fn tables_are_routed_by_entry_then_regex_else_passed_through() {
        let options = json!({
            "name": "x",
            "table_match_regex": "a\\..*",
            "table_transform": [ { "table_path": "b.one", "name": "y" }, { "tablePath": "a.two", "name": "z" } ]
        });
        let mut t = Tables::<AddColumn>::create(
            &options.to_string(),
            &ctx(),
            tables(&["a.one", "b.one", "c.one", "a.two", "a.three"]),
        )
        .unwrap();
        assert_eq!(
            columns(&t),
            vec![
                vec!["id", "x"],
                vec!["id", "y"],
                vec!["id"],
                vec!["id", "z"],
                vec!["id", "x"]
            ]
        );
        // Each batch comes back under its own table, whichever instance mapped it.
        for table in 0..5 {
            let out = t.map(batch(table)).unwrap();
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].table, table);
        }
        assert!(t.map(batch(9)).is_err());
    }

    #[test]
    fn without_the_settings_one_instance_takes_every_table() {
        let t = Tables::<AddColumn>::create(
            &json!({ "name": "x" }).to_string(),
            &ctx(),
            tables(&["a.one", "b.two"]),
        )
        .unwrap();
        assert!(matches!(t, Tables::One(_)));
        assert_eq!(columns(&t), vec![vec!["id", "x"], vec!["id", "x"]]);
    }

    #[test]
    fn errors_name_the_table_and_the_option() {
        let e = Tables::<AddColumn>::create(
            &json!({ "table_transform": [ { "table_path": "b.one" } ] }).to_string(),
            &ctx(),
            tables(&["b.one"]),
        )
        .err()
        .unwrap();
        assert!(
            matches!(&e, Error::InvalidOption { option, message } if option == "name" && message.contains("table_transform for b.one")),
            "{e:?}"
        );
        let e = Tables::<AddColumn>::create(
            &json!({ "name": "x", "table_match_regex": "(" }).to_string(),
            &ctx(),
            tables(&["b.one"]),
        )
        .err()
        .unwrap();
        assert!(
            matches!(&e, Error::InvalidOption { option, .. } if option == "table_match_regex"),
            "{e:?}"
        );
    }
}
