//! Strait's data model, shared by the host and by plugins (through `st-sdk`): SeaTunnel's data
//! types and their declaration syntax, table schemas, columnar batches, single values and the
//! plugin self-description. It holds no I/O, no job config and nothing wasm-specific beyond
//! the `wit_conversions!` macro both sides of the boundary use.

mod batch;
mod plugin;
mod sandbox;
mod schema;
pub mod text;
mod types;
mod value;
mod wit;

pub use batch::{Batch, Column, ColumnBuilder, ColumnData, VarWidth};
pub use plugin::{
    Access, OptionGrant, OptionSpec, OptionType, PluginInfo, PluginKind, UnknownOptions,
    option_value,
};
pub use sandbox::{DirConfig, SandboxConfig, lexical_path};
pub use schema::{ColumnDef, ConstraintKey, ConstraintType, PrimaryKey, SortOrder, TableSchema};
pub use types::{DataType, Field, TypeParseError};
pub use value::{
    RowKind, Value, date_to_days, days_to_date, format_date, format_decimal, format_time,
    format_timestamp, java_double, parse_date, parse_decimal, parse_time, parse_timestamp,
};

/// Data that does not fit its type: a value of another type, a column of the wrong length, a
/// text that does not parse. Its message says which value and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

impl From<String> for DataError {
    fn from(message: String) -> DataError {
        DataError(message)
    }
}

impl From<&str> for DataError {
    fn from(message: &str) -> DataError {
        DataError(message.to_string())
    }
}

impl From<DataError> for String {
    fn from(e: DataError) -> String {
        e.0
    }
}
