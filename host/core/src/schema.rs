//! SeaTunnel's catalog table: a table path, its columns, primary and constraint keys.

use crate::types::DataType;

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintType {
    IndexKey,
    UniqueKey,
    ForeignKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintKey {
    pub name: String,
    pub constraint_type: ConstraintType,
    pub columns: Vec<(String, SortOrder)>,
}

/// A table's schema.
#[derive(Debug, Clone, PartialEq, Default)]
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
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The columns' types, in order.
    pub fn row_type(&self) -> Vec<DataType> {
        self.columns.iter().map(|c| c.data_type.clone()).collect()
    }
}
