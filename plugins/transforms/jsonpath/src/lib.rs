//! JsonPath: extracts values from a JSON field (or a bytes, array, map or row field, turned into
//! JSON) with JSONPath expressions into new typed fields. Like SeaTunnel, the JSON is read
//! permissively (unquoted keys and values, single quotes). Errors follow
//! `row_error_handle_way` (FAIL, SKIP) unless a column's `column_error_handle_way` (FAIL, SKIP,
//! SKIP_ROW) says otherwise.

mod lenient;

use serde_json::{Value as Json, json};
use serde_json_path::JsonPath as Path;
use st_sdk::{
    Batch, ColumnBuilder, ColumnDef, DataType, Describe, Error, OptionSpecs, OptionType, Options,
    Result, TableSchema, TaskContext, Transform, Value, field_index,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum OnError {
    Fail,
    Skip,
    SkipRow,
}

fn on_error(s: &str, option: &str, allow_skip_row: bool) -> Result<OnError> {
    match s.to_ascii_uppercase().as_str() {
        "FAIL" => Ok(OnError::Fail),
        "SKIP" => Ok(OnError::Skip),
        "SKIP_ROW" if allow_skip_row => Ok(OnError::SkipRow),
        other => Err(Error::invalid_option(
            option,
            format!(
                "`{other}` is not {}",
                if allow_skip_row {
                    "FAIL, SKIP or SKIP_ROW"
                } else {
                    "FAIL or SKIP"
                }
            ),
        )),
    }
}

struct Column {
    src: String,
    dest: String,
    path: Path,
    path_text: String,
    dest_type: DataType,
    on_error: Option<OnError>,
}

pub struct JsonPath {
    columns: Vec<Column>,
    row_on_error: OnError,
    tables: Vec<(TableSchema, Vec<usize>, Vec<DataType>)>,
}

impl Describe for JsonPath {
    const NAME: &'static str = "JsonPath";

    fn options() -> OptionSpecs {
        OptionSpecs::new()
            .required("columns", OptionType::List, "Extractions: [{ src_field, path, dest_field, dest_type, column_error_handle_way }].")
            .optional("row_error_handle_way", OptionType::String, json!("FAIL"), "On a bad row: FAIL the job or SKIP the row.")
    }
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::Float(_)
        | Value::Double(_)
        | Value::Decimal(..) => v
            .to_string()
            .parse::<serde_json::Number>()
            .map_or_else(|_| Json::String(v.to_string()), Json::Number),
        Value::Array(items) | Value::Row(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        other => Json::String(other.to_string()),
    }
}

impl Transform for JsonPath {
    fn create(options: &Options, _: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self> {
        let row_on_error = on_error(
            &options
                .string("row_error_handle_way")?
                .unwrap_or_else(|| "FAIL".into()),
            "row_error_handle_way",
            false,
        )?;
        let list = options.list("columns")?.unwrap_or_default();
        if list.is_empty() {
            return Err(Error::invalid_option(
                "columns",
                "must list at least one extraction",
            ));
        }
        let mut columns = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let at = |k: &str| format!("columns[{i}].{k}");
            let get = |k: &str| -> Result<String> {
                c.get(k)
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| Error::invalid_option(at(k), "is required"))
            };
            let path_text = get("path")?;
            let path = Path::parse(&path_text).map_err(|e| {
                Error::invalid_option(at("path"), format!("invalid JSONPath `{path_text}`: {e}"))
            })?;
            let dest_type = match c.get("dest_type").and_then(Json::as_str) {
                None => DataType::String,
                Some(t) => DataType::parse(t)
                    .map_err(|e| Error::invalid_option(at("dest_type"), e.to_string()))?,
            };
            let on_error = match c.get("column_error_handle_way").and_then(Json::as_str) {
                None => None,
                Some(s) => Some(on_error(s, &at("column_error_handle_way"), true)?),
            };
            columns.push(Column {
                src: get("src_field")?,
                dest: get("dest_field")?,
                path,
                path_text,
                dest_type,
                on_error,
            });
        }
        let mut tables = Vec::new();
        for input in inputs {
            let mut out = input.clone();
            let mut sources = Vec::new();
            for (i, c) in columns.iter().enumerate() {
                let idx = field_index(&input, &c.src, &format!("columns[{i}].src_field"))?;
                match input.columns[idx].data_type {
                    DataType::String
                    | DataType::Bytes
                    | DataType::Array(_)
                    | DataType::Map(..)
                    | DataType::Row(_) => {}
                    ref other => {
                        return Err(Error::invalid_option(
                            format!("columns[{i}].src_field"),
                            format!(
                                "`{}` is {other}; JsonPath reads string, bytes, array, map or row fields",
                                c.src
                            ),
                        ));
                    }
                }
                if out.index_of(&c.dest).is_some() {
                    return Err(Error::invalid_option(
                        format!("columns[{i}].dest_field"),
                        format!("`{}` already exists", c.dest),
                    ));
                }
                out.columns
                    .push(ColumnDef::new(c.dest.clone(), c.dest_type.clone()));
                sources.push(idx);
            }
            let types = input.row_type();
            tables.push((out, sources, types));
        }
        Ok(JsonPath {
            columns,
            row_on_error,
            tables,
        })
    }

    fn output_schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(t, _, _)| t.clone()).collect()
    }

    fn map(&mut self, batch: Batch) -> Result<Vec<Batch>> {
        let (_, sources, types) = &self.tables[batch.table as usize];
        let mut builders: Vec<ColumnBuilder> = self
            .columns
            .iter()
            .map(|c| ColumnBuilder::new(&c.dest_type))
            .collect();
        let mut keep = vec![true; batch.num_rows];
        let mut extracted: Vec<Vec<Value>> = Vec::with_capacity(batch.num_rows);
        for (r, keep_row) in keep.iter_mut().enumerate() {
            let mut row = Vec::with_capacity(self.columns.len());
            let mut parsed: Vec<Option<Json>> = vec![None; types.len()];
            for (c, &src) in self.columns.iter().zip(sources) {
                let result = (|| -> std::result::Result<Value, String> {
                    if parsed[src].is_none() {
                        let v = batch.columns[src].value(r, &types[src]);
                        parsed[src] = Some(match &v {
                            Value::Null => Json::Null,
                            Value::String(s) => lenient::parse(s)?,
                            Value::Bytes(b) => lenient::parse(&String::from_utf8_lossy(b))?,
                            other => to_json(other),
                        });
                    }
                    let doc = parsed[src].as_ref().unwrap_or(&Json::Null);
                    if doc.is_null() {
                        return Ok(Value::Null);
                    }
                    let found = c
                        .path
                        .query(doc)
                        .exactly_one()
                        .map_err(|_| format!("path `{}` matches nothing", c.path_text))?;
                    let found = match (found, &c.dest_type) {
                        (Json::Array(_) | Json::Object(_), DataType::String) => {
                            Json::String(found.to_string())
                        }
                        (f, _) => f.clone(),
                    };
                    Value::from_json(&found, &c.dest_type).map_err(String::from)
                })();
                match result {
                    Ok(v) => row.push(v),
                    Err(e) => match c.on_error.unwrap_or(self.row_on_error) {
                        OnError::Fail => {
                            return Err(Error::fatal(format!(
                                "JsonPath `{}` on field `{}` (row {r}): {e}",
                                c.path_text, c.src
                            )));
                        }
                        OnError::Skip if c.on_error.is_some() => row.push(Value::Null),
                        OnError::Skip | OnError::SkipRow => {
                            *keep_row = false;
                            break;
                        }
                    },
                }
            }
            extracted.push(row);
        }
        let mut batch = if keep.iter().all(|k| *k) {
            batch
        } else {
            batch.filter_rows(&keep, types)
        };
        for (row, _) in extracted.iter().zip(&keep).filter(|(_, k)| **k) {
            for (b, v) in builders.iter_mut().zip(row) {
                b.push(v).map_err(Error::fatal)?;
            }
        }
        batch
            .columns
            .extend(builders.into_iter().map(ColumnBuilder::finish));
        Ok(if batch.num_rows == 0 {
            Vec::new()
        } else {
            vec![batch]
        })
    }
}

st_sdk::export_transform!(JsonPath);
