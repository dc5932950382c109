//! Assert: checks the rows reaching it against SeaTunnel's rules — `field_rules` (types,
//! NULL/NOT_NULL, MIN/MAX, MIN_LENGTH/MAX_LENGTH, `equals_to`), `row_rules` (MIN_ROW/MAX_ROW),
//! `catalog_table_rule`, `table-names` and per-table `tables_configs`. Field rules fail the job
//! at the first offending row. Row counts are per job: writers report their counts with each
//! prepared commit and the committer checks the totals when the job finishes.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use st_sdk::{
    Batch, DataType, Describe, Error, OptionSpecs, OptionType, Options, Result, Sink,
    SinkCommitter, SinkWriter, TableSchema, TaskContext, Value,
};

pub struct Assert;

impl Describe for Assert {
    const NAME: &'static str = "Assert";

    fn options() -> OptionSpecs {
        OptionSpecs::new().required(
            "rules",
            OptionType::Object,
            "The rules: row_rules, field_rules, catalog_table_rule, table-names, tables_configs.",
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RuleType {
    NotNull,
    Null,
    Min,
    Max,
    MinLength,
    MaxLength,
    MinRow,
    MaxRow,
}

impl RuleType {
    fn parse(s: &str) -> Option<RuleType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "NOT_NULL" => RuleType::NotNull,
            "NULL" => RuleType::Null,
            "MIN" => RuleType::Min,
            "MAX" => RuleType::Max,
            "MIN_LENGTH" => RuleType::MinLength,
            "MAX_LENGTH" => RuleType::MaxLength,
            "MIN_ROW" => RuleType::MinRow,
            "MAX_ROW" => RuleType::MaxRow,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            RuleType::NotNull => "NOT_NULL",
            RuleType::Null => "NULL",
            RuleType::Min => "MIN",
            RuleType::Max => "MAX",
            RuleType::MinLength => "MIN_LENGTH",
            RuleType::MaxLength => "MAX_LENGTH",
            RuleType::MinRow => "MIN_ROW",
            RuleType::MaxRow => "MAX_ROW",
        }
    }
}

#[derive(Debug, Clone)]
struct ValueRule {
    rule_type: Option<RuleType>,
    rule_value: Option<f64>,
    equals_to: Option<Json>,
}

#[derive(Debug, Clone)]
struct FieldRule {
    name: String,
    field_type: Option<DataType>,
    values: Vec<ValueRule>,
}

#[derive(Debug, Clone, Default)]
struct RuleSet {
    /// The table these rules are for; `None` applies to every table.
    table: Option<String>,
    row_rules: Vec<(RuleType, f64)>,
    field_rules: Vec<FieldRule>,
    catalog: Option<Json>,
}

fn num(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.to_string().parse().ok(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn field_type(v: &Json, at: &str) -> Result<DataType> {
    match v {
        Json::String(s) => DataType::parse(s).map_err(|e| Error::invalid_option(at, e.to_string())),
        Json::Object(map) => Ok(DataType::Row(
            map.iter()
                .map(|(k, t)| {
                    Ok(st_sdk::Field {
                        name: k.clone(),
                        data_type: field_type(t, &format!("{at}.{k}"))?,
                    })
                })
                .collect::<Result<_>>()?,
        )),
        other => Err(Error::invalid_option(
            at,
            format!("expected a type, found {other}"),
        )),
    }
}

fn parse_rule_set(v: &Json, at: &str, table: Option<String>) -> Result<RuleSet> {
    let mut set = RuleSet {
        table,
        ..RuleSet::default()
    };
    if let Some(rules) = v.get("row_rules") {
        let Json::Array(rules) = rules else {
            return Err(Error::invalid_option(
                format!("{at}.row_rules"),
                "must be a list",
            ));
        };
        for (i, r) in rules.iter().enumerate() {
            let here = format!("{at}.row_rules[{i}]");
            let t = r
                .get("rule_type")
                .and_then(Json::as_str)
                .and_then(RuleType::parse);
            let t = match t {
                Some(t @ (RuleType::MinRow | RuleType::MaxRow)) => t,
                _ => {
                    return Err(Error::invalid_option(
                        format!("{here}.rule_type"),
                        "must be MIN_ROW or MAX_ROW",
                    ));
                }
            };
            let value = r.get("rule_value").and_then(num).ok_or_else(|| {
                Error::invalid_option(format!("{here}.rule_value"), "must be a number")
            })?;
            set.row_rules.push((t, value));
        }
    }
    if let Some(rules) = v.get("field_rules") {
        let Json::Array(rules) = rules else {
            return Err(Error::invalid_option(
                format!("{at}.field_rules"),
                "must be a list",
            ));
        };
        for (i, r) in rules.iter().enumerate() {
            let here = format!("{at}.field_rules[{i}]");
            let name = r
                .get("field_name")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::invalid_option(format!("{here}.field_name"), "is required"))?
                .to_string();
            let ft = r
                .get("field_type")
                .map(|t| field_type(t, &format!("{here}.field_type")))
                .transpose()?;
            let mut values = Vec::new();
            if let Some(Json::Array(vs)) = r.get("field_value") {
                for (j, vr) in vs.iter().enumerate() {
                    let vat = format!("{here}.field_value[{j}]");
                    let rule_type = match vr.get("rule_type").and_then(Json::as_str) {
                        None => None,
                        Some(s) => Some(RuleType::parse(s).ok_or_else(|| {
                            Error::invalid_option(
                                format!("{vat}.rule_type"),
                                format!("unknown rule type `{s}`"),
                            )
                        })?),
                    };
                    let rule_value = vr.get("rule_value").and_then(num);
                    if matches!(
                        rule_type,
                        Some(
                            RuleType::Min
                                | RuleType::Max
                                | RuleType::MinLength
                                | RuleType::MaxLength
                        )
                    ) && rule_value.is_none()
                    {
                        return Err(Error::invalid_option(
                            format!("{vat}.rule_value"),
                            "is required for this rule_type",
                        ));
                    }
                    values.push(ValueRule {
                        rule_type,
                        rule_value,
                        equals_to: vr.get("equals_to").cloned(),
                    });
                }
            }
            set.field_rules.push(FieldRule {
                name,
                field_type: ft,
                values,
            });
        }
    }
    set.catalog = v.get("catalog_table_rule").cloned();
    Ok(set)
}

fn rule_sets(options: &Options) -> Result<(Vec<RuleSet>, Vec<String>)> {
    let rules = options
        .json("rules")
        .ok_or_else(|| Error::invalid_option("rules", "is required"))?;
    let mut sets = vec![parse_rule_set(&rules, "rules", None)?];
    if let Some(Json::Array(tables)) = rules.get("tables_configs") {
        for (i, t) in tables.iter().enumerate() {
            let at = format!("rules.tables_configs[{i}]");
            let path = t
                .get("table_path")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::invalid_option(format!("{at}.table_path"), "is required"))?;
            sets.push(parse_rule_set(t, &at, Some(path.to_string()))?);
        }
    }
    let names = match rules.get("table-names") {
        Some(Json::Array(n)) => n
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok((sets, names))
}

/// Equality for `equals_to`: maps compare without regard to entry order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| same(k, k2) && same(v, v2)))
        }
        (Value::Array(x), Value::Array(y)) | (Value::Row(x), Value::Row(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Bytes(b) => Some(b.len()),
        Value::Array(a) => Some(a.len()),
        Value::Map(m) => Some(m.len()),
        _ => None,
    }
}

struct TableRules {
    path: String,
    types: Vec<DataType>,
    /// (column index, rule) for every field rule that applies to this table.
    checks: Vec<(usize, FieldRule)>,
}

pub struct Writer {
    tables: Vec<TableRules>,
    rows: u64,
    per_table: BTreeMap<String, u64>,
    subtask: u32,
}

fn check_catalog(rule: &Json, table: &TableSchema) -> Result<()> {
    let fail = |m: String| {
        Err(Error::fatal(format!(
            "catalog_table_rule failed for table {}: {m}",
            table.table_path
        )))
    };
    if let Some(pk) = rule.get("primary_key_rule") {
        let Some(actual) = &table.primary_key else {
            return fail("the table has no primary key".into());
        };
        if let Some(name) = pk.get("primary_key_name").and_then(Json::as_str)
            && name != actual.name
        {
            return fail(format!(
                "primary key name is `{}`, expected `{name}`",
                actual.name
            ));
        }
        if let Some(Json::Array(cols)) = pk.get("primary_key_columns") {
            let want: Vec<&str> = cols.iter().filter_map(Json::as_str).collect();
            if want
                != actual
                    .columns
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            {
                return fail(format!(
                    "primary key columns are {:?}, expected {want:?}",
                    actual.columns
                ));
            }
        }
    }
    if let Some(Json::Array(keys)) = rule.get("constraint_key_rule") {
        for k in keys {
            let name = k
                .get("constraint_key_name")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let Some(actual) = table.constraint_keys.iter().find(|c| c.name == name) else {
                return fail(format!("no constraint key named `{name}`"));
            };
            if let Some(Json::Array(cols)) = k.get("constraint_key_columns") {
                let want: Vec<&str> = cols
                    .iter()
                    .filter_map(|c| c.get("constraint_key_column_name").and_then(Json::as_str))
                    .collect();
                let got: Vec<&str> = actual.columns.iter().map(|(n, _)| n.as_str()).collect();
                if want != got {
                    return fail(format!(
                        "constraint key `{name}` has columns {got:?}, expected {want:?}"
                    ));
                }
            }
        }
    }
    if let Some(Json::Array(cols)) = rule.get("column_rule") {
        for c in cols {
            let name = c.get("name").and_then(Json::as_str).unwrap_or_default();
            let Some(actual) = table.columns.iter().find(|a| a.name == name) else {
                return fail(format!("no column named `{name}`"));
            };
            if let Some(t) = c.get("type") {
                let want = field_type(t, "column_rule.type")?;
                if want != actual.data_type {
                    return fail(format!(
                        "column `{name}` has type {}, expected {want}",
                        actual.data_type
                    ));
                }
            }
            if let Some(n) = c.get("nullable").and_then(Json::as_bool)
                && n != actual.nullable
            {
                return fail(format!(
                    "column `{name}` nullable is {}, expected {n}",
                    actual.nullable
                ));
            }
            if let Some(d) = c.get("default_value").and_then(Json::as_str)
                && Some(d) != actual.default_value.as_deref()
            {
                return fail(format!(
                    "column `{name}` default is {:?}, expected `{d}`",
                    actual.default_value
                ));
            }
            if let Some(d) = c.get("comment").and_then(Json::as_str)
                && Some(d) != actual.comment.as_deref()
            {
                return fail(format!(
                    "column `{name}` comment is {:?}, expected `{d}`",
                    actual.comment
                ));
            }
        }
    }
    Ok(())
}

impl Writer {
    fn check_row(&self, t: &TableRules, batch: &Batch, i: usize) -> Result<()> {
        for (col, rule) in &t.checks {
            let v = batch.columns[*col].value(i, &t.types[*col]);
            let fail = |what: String| {
                Err(Error::fatal(format!(
                    "Assert failed on table {}, row {} (kind {}): field `{}` = {v}: {what}",
                    t.path,
                    i,
                    batch.row_kind(i).name(),
                    rule.name
                )))
            };
            if rule.field_type == Some(DataType::Null) && !v.is_null() {
                return fail(format!("has type {}, expected null", t.types[*col]));
            }
            for vr in &rule.values {
                match vr.rule_type {
                    Some(RuleType::NotNull) if v.is_null() => {
                        return fail("breaks rule NOT_NULL".into());
                    }
                    Some(RuleType::Null) if !v.is_null() => return fail("breaks rule NULL".into()),
                    Some(r @ (RuleType::Min | RuleType::Max)) if !v.is_null() => {
                        let bound = vr.rule_value.unwrap_or_default();
                        match v.as_f64() {
                            Some(x)
                                if (r == RuleType::Min && x < bound)
                                    || (r == RuleType::Max && x > bound) =>
                            {
                                return fail(format!("breaks rule {} {bound}", r.name()));
                            }
                            Some(_) => {}
                            None => {
                                return fail(format!("rule {} needs a numeric field", r.name()));
                            }
                        }
                    }
                    Some(r @ (RuleType::MinLength | RuleType::MaxLength)) if !v.is_null() => {
                        let bound = vr.rule_value.unwrap_or_default();
                        match length(&v) {
                            Some(n)
                                if (r == RuleType::MinLength && (n as f64) < bound)
                                    || (r == RuleType::MaxLength && (n as f64) > bound) =>
                            {
                                return fail(format!(
                                    "length {n} breaks rule {} {bound}",
                                    r.name()
                                ));
                            }
                            Some(_) => {}
                            None => {
                                return fail(format!(
                                    "rule {} needs a string, bytes, array or map field",
                                    r.name()
                                ));
                            }
                        }
                    }
                    _ => {}
                }
                if let Some(expected) = &vr.equals_to {
                    let want = Value::from_json(expected, &t.types[*col]).map_err(|e| {
                        Error::invalid_option(format!("field_rules `{}` equals_to", rule.name), e)
                    })?;
                    if !same(&v, &want) {
                        return fail(format!("is not equal to {want} (equals_to)"));
                    }
                }
            }
        }
        Ok(())
    }
}

impl SinkWriter for Writer {
    fn write(&mut self, batch: Batch) -> Result<()> {
        let Some(t) = self.tables.get(batch.table as usize) else {
            return Err(Error::fatal(format!(
                "batch for unknown table {}",
                batch.table
            )));
        };
        for i in 0..batch.num_rows {
            self.check_row(t, &batch, i)?;
        }
        self.rows += batch.num_rows as u64;
        *self.per_table.entry(t.path.clone()).or_default() += batch.num_rows as u64;
        Ok(())
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Option<Vec<u8>>> {
        // The key makes commits idempotent: a restore re-commits its checkpoint's infos.
        let key = format!("{}/{checkpoint_id}", self.subtask);
        let info = json!({ "key": key, "rows": self.rows, "tables": self.per_table });
        self.rows = 0;
        self.per_table.clear();
        Ok(Some(info.to_string().into_bytes()))
    }
}

pub struct Committer {
    sets: Vec<RuleSet>,
    rows: u64,
    per_table: BTreeMap<String, u64>,
    /// Keys of the infos already counted.
    committed: std::collections::HashSet<String>,
}

impl SinkCommitter for Committer {
    fn commit(&mut self, _checkpoint_id: u64, infos: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        for info in infos {
            let v: Json = serde_json::from_slice(&info)
                .map_err(|e| Error::fatal(format!("bad commit info: {e}")))?;
            let key = v.get("key").and_then(Json::as_str).unwrap_or_default();
            if !self.committed.insert(key.to_string()) {
                continue;
            }
            self.rows += v.get("rows").and_then(Json::as_u64).unwrap_or(0);
            if let Some(Json::Object(t)) = v.get("tables") {
                for (k, n) in t {
                    *self.per_table.entry(k.clone()).or_default() += n.as_u64().unwrap_or(0);
                }
            }
        }
        Ok(Vec::new())
    }

    fn close(&mut self) -> Result<()> {
        for set in &self.sets {
            let (count, what) = match &set.table {
                None => (self.rows, "the job".to_string()),
                Some(t) => (
                    self.per_table.get(t).copied().unwrap_or(0),
                    format!("table {t}"),
                ),
            };
            for (rule, bound) in &set.row_rules {
                let broken = match rule {
                    RuleType::MinRow => (count as f64) < *bound,
                    _ => (count as f64) > *bound,
                };
                if broken {
                    return Err(Error::fatal(format!(
                        "Assert failed: {what} wrote {count} rows, breaking rule {} {bound}",
                        rule.name()
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Sink for Assert {
    type Writer = Writer;
    type Committer = Committer;

    fn writer(
        options: &Options,
        ctx: &TaskContext,
        tables: Vec<TableSchema>,
        _restored: Vec<Vec<u8>>,
    ) -> Result<Writer> {
        let (sets, _) = rule_sets(options)?;
        let mut out = Vec::new();
        for t in &tables {
            let mut checks = Vec::new();
            for set in sets
                .iter()
                .filter(|s| s.table.as_ref().is_none_or(|p| *p == t.table_path))
            {
                for rule in &set.field_rules {
                    let Some(col) = t.index_of(&rule.name) else {
                        // A global rule may name a field another table has.
                        if set.table.is_some() || tables.len() == 1 {
                            return Err(Error::invalid_option(
                                format!("rules.field_rules `{}`", rule.name),
                                format!(
                                    "table {} has no field `{}`; it has: {}",
                                    t.table_path,
                                    rule.name,
                                    t.columns
                                        .iter()
                                        .map(|c| c.name.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            ));
                        }
                        continue;
                    };
                    // `field_type = "null"` (as SeaTunnel checks a null value's type) holds for
                    // a field of any type whose every value is null: checked row by row.
                    if let Some(ft) = &rule.field_type
                        && *ft != t.columns[col].data_type
                        && *ft != DataType::Null
                    {
                        return Err(Error::fatal(format!(
                            "Assert failed on table {}: field `{}` has type {}, expected {ft}",
                            t.table_path, rule.name, t.columns[col].data_type
                        )));
                    }
                    checks.push((col, rule.clone()));
                }
                if let Some(catalog) = &set.catalog {
                    check_catalog(catalog, t)?;
                }
            }
            out.push(TableRules {
                path: t.table_path.clone(),
                types: t.row_type(),
                checks,
            });
        }
        Ok(Writer {
            tables: out,
            rows: 0,
            per_table: BTreeMap::new(),
            subtask: ctx.subtask,
        })
    }

    fn committer(
        options: &Options,
        _ctx: &TaskContext,
        tables: Vec<TableSchema>,
    ) -> Result<Committer> {
        let (sets, names) = rule_sets(options)?;
        for n in &names {
            if !tables.iter().any(|t| &t.table_path == n) {
                return Err(Error::fatal(format!(
                    "Assert failed: table {n} is not in the data (tables: {})",
                    tables
                        .iter()
                        .map(|t| t.table_path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(Committer {
            sets,
            rows: 0,
            per_table: BTreeMap::new(),
            committed: Default::default(),
        })
    }
}

st_sdk::export_sink!(Assert);
