//! SeaTunnel's catalog table: a table path, its columns, primary and constraint keys.

use crate::types::DataType;

/// One column of a table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    /// The default value as written in the schema, e.g. `CURRENT_TIMESTAMP` or `0`.
    pub default_value: Option<String>,
    pub comment: Option<String>,
}

impl ColumnDef {
    pub fn new(name: impl Into<String>, data_type: DataType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            data_type,
            nullable: true,
            default_value: None,
            comment: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrimaryKey {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConstraintType {
    IndexKey,
    UniqueKey,
    ForeignKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConstraintKey {
    pub name: String,
    pub constraint_type: ConstraintType,
    pub columns: Vec<(String, SortOrder)>,
}

/// A table's schema.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TableSchema {
    /// `database.table` or `database.schema.table`, as the source declared it.
    pub table_path: String,
    pub columns: Vec<ColumnDef>,
    pub primary_key: Option<PrimaryKey>,
    pub constraint_keys: Vec<ConstraintKey>,
    pub comment: Option<String>,
}

impl TableSchema {
    pub fn new(table_path: impl Into<String>, columns: Vec<ColumnDef>) -> TableSchema {
        TableSchema {
            table_path: table_path.into(),
            columns,
            ..TableSchema::default()
        }
    }

    /// The position of a column, by exact name.
    /// The same table with other columns: keys that name a column no longer there are dropped
    /// (a projection, a rename or a query's output keeps only the keys it still carries).
    pub fn with_columns(&self, columns: Vec<ColumnDef>) -> TableSchema {
        let has = |name: &str| columns.iter().any(|c| c.name == name);
        let primary_key = self
            .primary_key
            .clone()
            .filter(|pk| pk.columns.iter().all(|c| has(c)));
        let constraint_keys = self
            .constraint_keys
            .iter()
            .filter(|k| k.columns.iter().all(|(c, _)| has(c)))
            .cloned()
            .collect();
        TableSchema {
            primary_key,
            constraint_keys,
            columns,
            ..self.clone()
        }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The columns' types, in order.
    pub fn row_type(&self) -> Vec<DataType> {
        self.columns.iter().map(|c| c.data_type.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_columns_keeps_only_keys_whose_columns_remain() {
        let mut t = TableSchema::new(
            "db.t",
            vec![
                ColumnDef::new("id", DataType::BigInt),
                ColumnDef::new("name", DataType::String),
            ],
        );
        t.primary_key = Some(PrimaryKey {
            name: "pk".into(),
            columns: vec!["id".into()],
        });
        t.constraint_keys = vec![ConstraintKey {
            name: "by_name".into(),
            constraint_type: ConstraintType::IndexKey,
            columns: vec![("name".into(), SortOrder::Asc)],
        }];
        let only_id = t.with_columns(vec![ColumnDef::new("id", DataType::BigInt)]);
        assert_eq!(only_id.table_path, "db.t");
        assert_eq!(only_id.primary_key, t.primary_key);
        assert!(only_id.constraint_keys.is_empty());
        let renamed = t.with_columns(vec![ColumnDef::new("key", DataType::BigInt)]);
        assert_eq!(renamed.primary_key, None);
        assert_eq!(renamed.columns.len(), 1);
    }
}
