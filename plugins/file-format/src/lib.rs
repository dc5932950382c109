//! The options SeaTunnel's file connectors share (`file_format_type`, `field_delimiter`,
//! `encoding`, `compress_codec`), read the same way by every file source and sink.

use st_sdk::{Error, Options, Result};

/// `file_format_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    /// One JSON object per line.
    Json,
}

/// The format, the field delimiter and whether files are gzip-compressed. `default_format` is
/// used when the option is absent (`None`: the option is required by the plugin's spec).
pub fn read(options: &Options, default_format: Option<&str>) -> Result<(Format, String, bool)> {
    let format = match options
        .string("file_format_type")?
        .or_else(|| default_format.map(str::to_string))
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "text" => Format::Text,
        "csv" => Format::Csv,
        "json" => Format::Json,
        other => {
            return Err(Error::invalid_option(
                "file_format_type",
                format!("`{other}` is not supported; use text, csv or json"),
            ));
        }
    };
    let encoding = options
        .string("encoding")?
        .unwrap_or_else(|| "utf-8".into());
    if !encoding.eq_ignore_ascii_case("utf-8") {
        return Err(Error::invalid_option(
            "encoding",
            format!("only UTF-8 is supported, found `{encoding}`"),
        ));
    }
    let gzip = match options
        .string("compress_codec")?
        .unwrap_or_else(|| "none".into())
        .to_ascii_lowercase()
        .as_str()
    {
        "none" => false,
        "gzip" | "gz" => true,
        other => {
            return Err(Error::invalid_option(
                "compress_codec",
                format!("`{other}` is not supported; use none or gzip"),
            ));
        }
    };
    // `delimiter` is the field's old name (SeaTunnel 2.3.5 and before).
    let delimiter = match (
        options.string("field_delimiter")?,
        options.string("delimiter")?,
    ) {
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) if format == Format::Csv => ",".into(),
        (None, None) => "\u{1}".into(),
    };
    if format == Format::Csv && delimiter.len() != 1 {
        return Err(Error::invalid_option(
            "field_delimiter",
            "csv needs a one-byte delimiter",
        ));
    }
    Ok((format, delimiter, gzip))
}
