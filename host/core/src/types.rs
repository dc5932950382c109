//! SeaTunnel's data types and the type-declaration syntax job configs use
//! (`bigint`, `decimal(30, 8)`, `array<int>`, `map<string, {a = int, b = string}>`).

use std::fmt;

/// One of SeaTunnel's data types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DataType {
    Null,
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    String,
    Bytes,
    /// Days since 1970-01-01.
    Date,
    /// Nanoseconds of the day.
    Time,
    /// Microseconds since 1970-01-01T00:00, no time zone.
    Timestamp,
    /// Microseconds since 1970-01-01T00:00 UTC.
    TimestampTz,
    Array(Box<DataType>),
    Map(Box<DataType>, Box<DataType>),
    Row(Vec<Field>),
}

/// A named field of a row type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Field {
    pub name: String,
    pub data_type: DataType,
}

/// A type declaration that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid type `{input}`: {reason}")]
pub struct TypeParseError {
    pub input: String,
    pub reason: String,
}

impl DataType {
    /// Parses SeaTunnel's type syntax. Names are case-insensitive.
    pub fn parse(input: &str) -> Result<DataType, TypeParseError> {
        let mut p = TypeParser {
            s: input.as_bytes(),
            pos: 0,
        };
        let err = |reason: String| TypeParseError {
            input: input.to_string(),
            reason,
        };
        let t = p.data_type().map_err(err)?;
        p.ws();
        if p.pos != p.s.len() {
            return Err(err(format!("unexpected `{}`", &input[p.pos..])));
        }
        Ok(t)
    }

    /// True for types whose values are numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            DataType::TinyInt
                | DataType::SmallInt
                | DataType::Int
                | DataType::BigInt
                | DataType::Float
                | DataType::Double
                | DataType::Decimal { .. }
        )
    }
}

struct TypeParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl TypeParser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at position {}", c as char, self.pos))
        }
    }

    fn word(&mut self) -> String {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || b"_-".contains(&self.s[self.pos]))
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    fn name(&mut self) -> Result<String, String> {
        self.ws();
        if self.eat(b'"') || self.eat(b'`') {
            let quote = self.s[self.pos - 1];
            let start = self.pos;
            while self.pos < self.s.len() && self.s[self.pos] != quote {
                self.pos += 1;
            }
            let name = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
            self.expect(quote)?;
            return Ok(name);
        }
        let w = self.word();
        if w.is_empty() {
            return Err(format!("expected a field name at position {}", self.pos));
        }
        Ok(w)
    }

    fn number(&mut self) -> Result<u8, String> {
        let w = self.word();
        w.parse()
            .map_err(|_| format!("expected a number, found `{w}`"))
    }

    fn data_type(&mut self) -> Result<DataType, String> {
        self.ws();
        if self.eat(b'{') {
            return self.row_fields(b'}');
        }
        let w = self.word();
        let t = match w.to_ascii_lowercase().as_str() {
            "null" => DataType::Null,
            "boolean" | "bool" => DataType::Boolean,
            "tinyint" | "byte" => DataType::TinyInt,
            "smallint" | "short" => DataType::SmallInt,
            "int" | "integer" => DataType::Int,
            "bigint" | "long" => DataType::BigInt,
            "float" => DataType::Float,
            "double" => DataType::Double,
            "string" | "varchar" | "text" => DataType::String,
            "bytes" | "binary" => DataType::Bytes,
            "date" => DataType::Date,
            "time" => DataType::Time,
            "timestamp" => DataType::Timestamp,
            "timestamp_tz" | "timestamptz" | "timestamp_ltz" => DataType::TimestampTz,
            "decimal" => {
                if self.eat(b'(') {
                    let precision = self.number()?;
                    self.expect(b',')?;
                    let scale = self.number()?;
                    self.expect(b')')?;
                    if precision == 0 || precision > 38 || scale > precision {
                        return Err(format!(
                            "decimal({precision}, {scale}) needs 1 <= precision <= 38 and scale <= precision"
                        ));
                    }
                    DataType::Decimal { precision, scale }
                } else {
                    DataType::Decimal {
                        precision: 38,
                        scale: 18,
                    }
                }
            }
            "array" => {
                self.expect(b'<')?;
                let inner = self.data_type()?;
                self.expect(b'>')?;
                DataType::Array(Box::new(inner))
            }
            "map" => {
                self.expect(b'<')?;
                let k = self.data_type()?;
                self.expect(b',')?;
                let v = self.data_type()?;
                self.expect(b'>')?;
                DataType::Map(Box::new(k), Box::new(v))
            }
            "row" | "struct" => {
                self.expect(b'<')?;
                self.row_fields(b'>')?
            }
            "" => return Err(format!("expected a type at position {}", self.pos)),
            other => return Err(format!("unknown type `{other}`")),
        };
        Ok(t)
    }

    fn row_fields(&mut self, close: u8) -> Result<DataType, String> {
        let mut fields = Vec::new();
        loop {
            if self.eat(close) {
                break;
            }
            let name = self.name()?;
            // `{a = int}`, `{a: int}` and `row<a int>` are all accepted.
            let _ = self.eat(b'=') || self.eat(b':');
            let data_type = self.data_type()?;
            fields.push(Field { name, data_type });
            if !self.eat(b',') {
                self.expect(close)?;
                break;
            }
        }
        Ok(DataType::Row(fields))
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Null => f.write_str("null"),
            DataType::Boolean => f.write_str("boolean"),
            DataType::TinyInt => f.write_str("tinyint"),
            DataType::SmallInt => f.write_str("smallint"),
            DataType::Int => f.write_str("int"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::Float => f.write_str("float"),
            DataType::Double => f.write_str("double"),
            DataType::Decimal { precision, scale } => write!(f, "decimal({precision}, {scale})"),
            DataType::String => f.write_str("string"),
            DataType::Bytes => f.write_str("bytes"),
            DataType::Date => f.write_str("date"),
            DataType::Time => f.write_str("time"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::TimestampTz => f.write_str("timestamp_tz"),
            DataType::Array(t) => write!(f, "array<{t}>"),
            DataType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            DataType::Row(fields) => {
                f.write_str("{")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {}", field.name, field.data_type)?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_types_and_prints_them_back() {
        for (input, printed) in [
            ("bigint", "bigint"),
            ("Decimal(30, 8)", "decimal(30, 8)"),
            ("array<int>", "array<int>"),
            ("map<string, array<int>>", "map<string, array<int>>"),
            (
                "map<string, {c_int = int, c_string = string}>",
                "map<string, {c_int = int, c_string = string}>",
            ),
            (
                "row<a int, b map<date, string>>",
                "{a = int, b = map<date, string>}",
            ),
        ] {
            assert_eq!(
                DataType::parse(input).unwrap().to_string(),
                printed,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_bad_declarations_with_the_reason() {
        let e = DataType::parse("map<string>").unwrap_err();
        assert!(e.to_string().contains("expected `,`"), "{e}");
        let e = DataType::parse("varchar2").unwrap_err();
        assert!(e.to_string().contains("unknown type `varchar2`"), "{e}");
        let e = DataType::parse("decimal(40, 2)").unwrap_err();
        assert!(e.to_string().contains("precision"), "{e}");
    }
}
