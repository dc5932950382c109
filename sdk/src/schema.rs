//! SeaTunnel's `schema` option: `fields { name = type }` (a nested object is a row type) or
//! `columns = [{ name, type, nullable, defaultValue, comment }]`, with `table`, `primaryKey`
//! and `constraintKeys`.

use crate::{
    ColumnDef, ConstraintKey, ConstraintType, DataType, Error, Field, PrimaryKey, Result,
    SortOrder, TableSchema,
};
use serde_json::Value as Json;

/// Reads a type declaration: a string (`"map<string, int>"`) or an object (a row type).
pub fn data_type(v: &Json, option: &str) -> Result<DataType> {
    match v {
        Json::String(s) => {
            DataType::parse(s).map_err(|e| Error::invalid_option(option, e.to_string()))
        }
        Json::Object(fields) => Ok(DataType::Row(
            fields
                .iter()
                .map(|(name, t)| {
                    Ok(Field {
                        name: name.clone(),
                        data_type: data_type(t, &format!("{option}.{name}"))?,
                    })
                })
                .collect::<Result<_>>()?,
        )),
        other => Err(Error::invalid_option(
            option,
            format!("expected a type name or an object, found {other}"),
        )),
    }
}

pub fn parse(schema: &Json) -> Result<TableSchema> {
    let Json::Object(map) = schema else {
        return Err(Error::invalid_option("schema", "must be an object"));
    };
    let table = map
        .get("table")
        .and_then(Json::as_str)
        .unwrap_or("default.default.default")
        .to_string();
    let mut columns = Vec::new();
    // `columns` written as an object of `name = type` (as some of SeaTunnel's own configs
    // do) reads like `fields`.
    let fields = map.get("fields").map(|f| ("fields", f)).or_else(|| {
        map.get("columns")
            .filter(|c| c.is_object())
            .map(|c| ("columns", c))
    });
    if let Some((key, fields)) = fields {
        let Json::Object(fields) = fields else {
            return Err(Error::invalid_option(
                format!("schema.{key}"),
                "must be an object of `name = type`",
            ));
        };
        for (name, t) in fields {
            columns.push(ColumnDef::new(
                name.clone(),
                data_type(t, &format!("schema.{key}.{name}"))?,
            ));
        }
    } else if let Some(cols) = map.get("columns") {
        let Json::Array(cols) = cols else {
            return Err(Error::invalid_option(
                "schema.columns",
                "must be a list of `{ name = ..., type = ... }` or an object of `name = type`",
            ));
        };
        for (i, c) in cols.iter().enumerate() {
            let at = format!("schema.columns[{i}]");
            let name = c
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::invalid_option(&at, "needs a `name`"))?;
            let t = c
                .get("type")
                .ok_or_else(|| Error::invalid_option(&at, "needs a `type`"))?;
            let mut col = ColumnDef::new(name, data_type(t, &format!("{at}.type"))?);
            col.nullable = c.get("nullable").and_then(Json::as_bool).unwrap_or(true);
            col.default_value = c
                .get("defaultValue")
                .filter(|v| !v.is_null())
                .map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                });
            col.comment = c.get("comment").and_then(Json::as_str).map(str::to_string);
            columns.push(col);
        }
    } else {
        return Err(Error::invalid_option(
            "schema",
            "needs `fields` or `columns`",
        ));
    }
    let primary_key = map.get("primaryKey").map(|pk| PrimaryKey {
        name: pk
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        columns: pk
            .get("columnNames")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    });
    let mut constraint_keys = Vec::new();
    if let Some(Json::Array(keys)) = map.get("constraintKeys") {
        for k in keys {
            let constraint_type = match k
                .get("constraintType")
                .and_then(Json::as_str)
                .unwrap_or("INDEX_KEY")
            {
                "UNIQUE_KEY" => ConstraintType::UniqueKey,
                "FOREIGN_KEY" => ConstraintType::ForeignKey,
                _ => ConstraintType::IndexKey,
            };
            let columns = k
                .get("constraintColumns")
                .and_then(Json::as_array)
                .map(|cols| {
                    cols.iter()
                        .map(|c| {
                            let name = c
                                .get("columnName")
                                .and_then(Json::as_str)
                                .unwrap_or_default()
                                .to_string();
                            let sort = match c.get("sortType").and_then(Json::as_str) {
                                Some("DESC") => SortOrder::Desc,
                                _ => SortOrder::Asc,
                            };
                            (name, sort)
                        })
                        .collect()
                })
                .unwrap_or_default();
            constraint_keys.push(ConstraintKey {
                name: k
                    .get("constraintName")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string(),
                constraint_type,
                columns,
            });
        }
    }
    Ok(TableSchema {
        table_path: table,
        columns,
        primary_key,
        constraint_keys,
        comment: map
            .get("comment")
            .and_then(Json::as_str)
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_as_a_list_or_as_an_object_of_types() {
        let listed =
            parse(&json!({ "columns": [ { "name": "a", "type": "int", "nullable": false } ] }))
                .unwrap();
        assert_eq!(listed.columns[0].name, "a");
        assert!(!listed.columns[0].nullable);
        let object = parse(&json!({ "columns": { "a": "int", "b": "array<string>" } })).unwrap();
        let names: Vec<&str> = object.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(object.columns[0].data_type, DataType::Int);
        let e = parse(&json!({ "columns": 5 })).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { option, .. } if option == "schema.columns"),
            "{e:?}"
        );
    }
}
