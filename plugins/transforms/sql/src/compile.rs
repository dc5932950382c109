//! From sqlparser's AST to a typed expression tree for one input table.

use sqlparser::ast::{self as ast, Spanned as _};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use st_sdk::{DataType, TableSchema, Value};

use crate::funcs;

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub enum E {
    Col(usize),
    Field(Box<E>, usize),
    /// A map's value under a key (`map_col.key`); NULL where the key is missing.
    MapKey(Box<E>, String),
    Lit(Value),
    Bin(Op, Box<E>, Box<E>),
    Not(Box<E>),
    Neg(Box<E>),
    IsNull(Box<E>, bool),
    InList(Box<E>, Vec<E>, bool),
    Between(Box<E>, Box<E>, Box<E>, bool),
    Like(Box<E>, Box<E>, bool, bool),
    Case(Option<Box<E>>, Vec<(E, E)>, Option<Box<E>>),
    /// CAST, or TRY_CAST (true: a value that does not convert becomes NULL).
    Cast(Box<E>, DataType, bool),
    Func(String, Vec<E>, Vec<DataType>),
}

pub struct Output {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    pub expr: E,
}

pub struct Query {
    pub input_types: Vec<DataType>,
    pub outputs: Vec<Output>,
    pub filter: Option<E>,
}

pub struct Parsed {
    select: ast::Select,
    table: Option<String>,
}

fn at(e: &ast::Expr) -> String {
    let s = e.span().start;
    if s.line == 0 {
        String::new()
    } else {
        format!(" (line {}, column {})", s.line, s.column)
    }
}

/// Parses the query text; only a single `SELECT ... FROM table [WHERE ...]` is accepted.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let mut stmts = Parser::parse_sql(&GenericDialect {}, text)
        .map_err(|e| format!("SQL syntax error: {e}"))?;
    if stmts.len() != 1 {
        return Err(format!(
            "expected one SELECT statement, found {}",
            stmts.len()
        ));
    }
    let ast::Statement::Query(q) = stmts.remove(0) else {
        return Err("only SELECT queries are supported".into());
    };
    let ast::SetExpr::Select(select) = *q.body else {
        return Err("only a plain SELECT is supported (no UNION, VALUES, ...)".into());
    };
    if !matches!(select.group_by, ast::GroupByExpr::Expressions(ref g, _) if g.is_empty())
        || select.having.is_some()
    {
        return Err("GROUP BY and aggregates are not supported by the Sql transform".into());
    }
    if select.from.len() > 1 || select.from.iter().any(|f| !f.joins.is_empty()) {
        return Err(
            "joins and several tables are not supported: the query reads its one input table"
                .into(),
        );
    }
    let table = select.from.first().and_then(|f| match &f.relation {
        ast::TableFactor::Table { name, .. } => Some(name.to_string()),
        _ => None,
    });
    Ok(Parsed {
        select: *select,
        table,
    })
}

struct Ctx<'a> {
    input: &'a TableSchema,
    table: Option<&'a str>,
}

pub fn compile(p: &Parsed, input: &TableSchema) -> Result<Query, String> {
    let ctx = Ctx {
        input,
        table: p.table.as_deref(),
    };
    let mut outputs = Vec::new();
    for item in &p.select.projection {
        match item {
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                for (i, c) in input.columns.iter().enumerate() {
                    outputs.push(Output {
                        name: c.name.clone(),
                        data_type: c.data_type.clone(),
                        nullable: c.nullable,
                        expr: E::Col(i),
                    });
                }
            }
            ast::SelectItem::UnnamedExpr(e) => {
                let (expr, t) = ctx.expr(e)?;
                let (name, nullable) = match &expr {
                    E::Col(i) => (input.columns[*i].name.clone(), input.columns[*i].nullable),
                    _ => (
                        match e {
                            ast::Expr::CompoundIdentifier(parts) => {
                                parts.last().map(|p| p.value.clone()).unwrap_or_default()
                            }
                            other => other.to_string(),
                        },
                        true,
                    ),
                };
                outputs.push(Output {
                    name,
                    data_type: t,
                    nullable,
                    expr,
                });
            }
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                let (e, t) = ctx.expr(expr)?;
                let nullable = match &e {
                    E::Col(i) => input.columns[*i].nullable,
                    _ => true,
                };
                outputs.push(Output {
                    name: alias.value.clone(),
                    data_type: t,
                    nullable,
                    expr: e,
                });
            }
            other => return Err(format!("unsupported select item `{other}`")),
        }
    }
    let filter = match &p.select.selection {
        None => None,
        Some(w) => {
            let (e, t) = ctx.expr(w)?;
            if !matches!(t, DataType::Boolean | DataType::Null) {
                return Err(format!("the WHERE condition is {t}, not boolean{}", at(w)));
            }
            Some(e)
        }
    };
    Ok(Query {
        input_types: input.row_type(),
        outputs,
        filter,
    })
}

fn is_int(t: &DataType) -> bool {
    matches!(
        t,
        DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt
    )
}

/// The result type of arithmetic on two numeric types.
pub fn numeric_result(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as T;
    Some(match (a, b) {
        (T::Null, x) | (x, T::Null) if x.is_numeric() => x.clone(),
        (T::Double, x) | (x, T::Double) if x.is_numeric() => T::Double,
        (T::Float, x) | (x, T::Float) if x.is_numeric() => T::Float,
        (
            T::Decimal {
                precision: p1,
                scale: s1,
            },
            T::Decimal {
                precision: p2,
                scale: s2,
            },
        ) => T::Decimal {
            precision: (*p1).max(*p2),
            scale: (*s1).max(*s2),
        },
        (d @ T::Decimal { .. }, x) | (x, d @ T::Decimal { .. }) if is_int(x) => d.clone(),
        (T::BigInt, x) | (x, T::BigInt) if is_int(x) => T::BigInt,
        (x, y) if is_int(x) && is_int(y) => T::Int,
        _ => return None,
    })
}

impl Ctx<'_> {
    fn column(&self, parts: &[ast::Ident], e: &ast::Expr) -> Result<(E, DataType), String> {
        let mut names: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
        if names.len() > 1
            && self.table.is_some_and(|t| t == names[0])
            && self.input.index_of(names[0]).is_none()
        {
            names.remove(0);
        }
        let first = names[0];
        let i = self.input.index_of(first).ok_or_else(|| {
            format!(
                "unknown field `{first}`{}; table {} has: {}",
                at(e),
                self.input.table_path,
                self.input
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let mut expr = E::Col(i);
        let mut t = self.input.columns[i].data_type.clone();
        let mut path = first.to_string();
        for n in &names[1..] {
            if let DataType::Map(_, value) = &t {
                let value = (**value).clone();
                expr = E::MapKey(Box::new(expr), n.to_string());
                t = value;
                path = format!("{path}.{n}");
                continue;
            }
            let DataType::Row(fields) = &t else {
                return Err(format!(
                    "`{path}` is {t}, which has no field `{n}`{}",
                    at(e)
                ));
            };
            path = format!("{path}.{n}");
            let k = fields
                .iter()
                .position(|f| f.name == *n)
                .ok_or_else(|| format!("row has no field `{n}`{}", at(e)))?;
            let next = fields[k].data_type.clone();
            expr = E::Field(Box::new(expr), k);
            t = next;
        }
        Ok((expr, t))
    }

    fn expr(&self, e: &ast::Expr) -> Result<(E, DataType), String> {
        use ast::Expr as X;
        Ok(match e {
            X::Identifier(id) => self.column(std::slice::from_ref(id), e)?,
            X::CompoundIdentifier(parts) => self.column(parts, e)?,
            X::Nested(inner) => self.expr(inner)?,
            X::Value(v) => literal(&v.value, e)?,
            X::TypedString(ts) => {
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                let t = sql_type(&ts.data_type).map_err(|m| format!("{m}{}", at(e)))?;
                let v = crate::eval::coerce(Value::String(text), &t)
                    .map_err(|m| format!("{m}{}", at(e)))?;
                (E::Lit(v), t)
            }
            X::UnaryOp { op, expr } => {
                let (inner, t) = self.expr(expr)?;
                match op {
                    ast::UnaryOperator::Not => (E::Not(Box::new(inner)), DataType::Boolean),
                    ast::UnaryOperator::Minus if t.is_numeric() || t == DataType::Null => {
                        (E::Neg(Box::new(inner)), t)
                    }
                    ast::UnaryOperator::Plus if t.is_numeric() => (inner, t),
                    _ => return Err(format!("operator {op} cannot apply to {t}{}", at(e))),
                }
            }
            X::BinaryOp { left, op, right } => {
                let (l, lt) = self.expr(left)?;
                let (r, rt) = self.expr(right)?;
                use ast::BinaryOperator as B;
                let (o, t) = match op {
                    B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                        let t = numeric_result(&lt, &rt).ok_or_else(|| {
                            format!("operator {op} needs numbers, found {lt} and {rt}{}", at(e))
                        })?;
                        let o = match op {
                            B::Plus => Op::Add,
                            B::Minus => Op::Sub,
                            B::Multiply => Op::Mul,
                            B::Divide => Op::Div,
                            _ => Op::Mod,
                        };
                        (o, t)
                    }
                    B::StringConcat => (Op::Concat, DataType::String),
                    B::Eq => (Op::Eq, DataType::Boolean),
                    B::NotEq => (Op::NotEq, DataType::Boolean),
                    B::Lt => (Op::Lt, DataType::Boolean),
                    B::LtEq => (Op::LtEq, DataType::Boolean),
                    B::Gt => (Op::Gt, DataType::Boolean),
                    B::GtEq => (Op::GtEq, DataType::Boolean),
                    B::And => (Op::And, DataType::Boolean),
                    B::Or => (Op::Or, DataType::Boolean),
                    other => return Err(format!("operator {other} is not supported{}", at(e))),
                };
                (E::Bin(o, Box::new(l), Box::new(r)), t)
            }
            X::IsNull(inner) => (
                E::IsNull(Box::new(self.expr(inner)?.0), false),
                DataType::Boolean,
            ),
            X::IsNotNull(inner) => (
                E::IsNull(Box::new(self.expr(inner)?.0), true),
                DataType::Boolean,
            ),
            X::IsTrue(inner) => (
                E::Bin(
                    Op::Eq,
                    Box::new(self.expr(inner)?.0),
                    Box::new(E::Lit(Value::Boolean(true))),
                ),
                DataType::Boolean,
            ),
            X::IsFalse(inner) => (
                E::Bin(
                    Op::Eq,
                    Box::new(self.expr(inner)?.0),
                    Box::new(E::Lit(Value::Boolean(false))),
                ),
                DataType::Boolean,
            ),
            X::InList {
                expr,
                list,
                negated,
            } => {
                let (x, _) = self.expr(expr)?;
                let items = list
                    .iter()
                    .map(|i| self.expr(i).map(|r| r.0))
                    .collect::<Result<_, _>>()?;
                (E::InList(Box::new(x), items, *negated), DataType::Boolean)
            }
            X::Between {
                expr,
                negated,
                low,
                high,
            } => (
                E::Between(
                    Box::new(self.expr(expr)?.0),
                    Box::new(self.expr(low)?.0),
                    Box::new(self.expr(high)?.0),
                    *negated,
                ),
                DataType::Boolean,
            ),
            X::Like {
                negated,
                expr,
                pattern,
                ..
            } => (
                E::Like(
                    Box::new(self.expr(expr)?.0),
                    Box::new(self.expr(pattern)?.0),
                    *negated,
                    false,
                ),
                DataType::Boolean,
            ),
            X::ILike {
                negated,
                expr,
                pattern,
                ..
            } => (
                E::Like(
                    Box::new(self.expr(expr)?.0),
                    Box::new(self.expr(pattern)?.0),
                    *negated,
                    true,
                ),
                DataType::Boolean,
            ),
            X::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = operand
                    .as_ref()
                    .map(|o| self.expr(o).map(|r| Box::new(r.0)))
                    .transpose()?;
                let mut t = DataType::Null;
                let mut whens = Vec::new();
                for c in conditions {
                    let (cond, _) = self.expr(&c.condition)?;
                    let (res, rt) = self.expr(&c.result)?;
                    t = unify(&t, &rt)
                        .ok_or_else(|| format!("CASE branches have types {t} and {rt}{}", at(e)))?;
                    whens.push((cond, res));
                }
                let els = match else_result {
                    Some(x) => {
                        let (r, rt) = self.expr(x)?;
                        t = unify(&t, &rt).ok_or_else(|| {
                            format!("CASE branches have types {t} and {rt}{}", at(e))
                        })?;
                        Some(Box::new(r))
                    }
                    None => None,
                };
                (E::Case(operand, whens, els), t)
            }
            X::Cast {
                expr,
                data_type,
                kind,
                ..
            } => {
                let (x, _) = self.expr(expr)?;
                let t = sql_type(data_type).map_err(|m| format!("{m}{}", at(e)))?;
                let lenient = matches!(
                    kind,
                    sqlparser::ast::CastKind::TryCast | sqlparser::ast::CastKind::SafeCast
                );
                (E::Cast(Box::new(x), t.clone(), lenient), t)
            }
            X::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "LTRIM",
                    Some(ast::TrimWhereField::Trailing) => "RTRIM",
                    _ => "TRIM",
                };
                let mut args = vec![expr.as_ref().clone()];
                if let Some(w) = trim_what {
                    args.push(w.as_ref().clone());
                } else if let Some(chars) = trim_characters.as_ref().and_then(|c| c.first()) {
                    args.push(chars.clone());
                }
                self.call(name, &args, e)?
            }
            X::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![expr.as_ref().clone()];
                args.extend(substring_from.iter().map(|x| x.as_ref().clone()));
                args.extend(substring_for.iter().map(|x| x.as_ref().clone()));
                self.call("SUBSTRING", &args, e)?
            }
            X::Position { expr, r#in } => {
                self.call("LOCATE", &[expr.as_ref().clone(), r#in.as_ref().clone()], e)?
            }
            X::Ceil { expr, .. } => self.call("CEIL", std::slice::from_ref(expr.as_ref()), e)?,
            X::Floor { expr, .. } => self.call("FLOOR", std::slice::from_ref(expr.as_ref()), e)?,
            X::Extract { field, expr, .. } => {
                let (x, xt) = self.expr(expr)?;
                let unit = field.to_string().to_ascii_uppercase();
                let name = "EXTRACT".to_string();
                let t = funcs::return_type(&name, &[DataType::String, xt.clone()])
                    .map_err(|m| format!("{m}{}", at(e)))?;
                (
                    E::Func(
                        name,
                        vec![E::Lit(Value::String(unit)), x],
                        vec![DataType::String, xt],
                    ),
                    t,
                )
            }
            X::Function(f) => {
                let name = f.name.to_string().to_ascii_uppercase();
                let args: Vec<ast::Expr> = match &f.args {
                    ast::FunctionArguments::None => Vec::new(),
                    ast::FunctionArguments::List(l) => l
                        .args
                        .iter()
                        .map(|a| match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => {
                                Ok(x.clone())
                            }
                            other => {
                                Err(format!("unsupported function argument `{other}`{}", at(e)))
                            }
                        })
                        .collect::<Result<_, _>>()?,
                    ast::FunctionArguments::Subquery(_) => {
                        return Err(format!("subqueries are not supported{}", at(e)));
                    }
                };
                self.call(&name, &args, e)?
            }
            other => return Err(format!("unsupported expression `{other}`{}", at(other))),
        })
    }

    fn call(&self, name: &str, args: &[ast::Expr], e: &ast::Expr) -> Result<(E, DataType), String> {
        let compiled = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>, _>>()?;
        let types: Vec<DataType> = compiled.iter().map(|(_, t)| t.clone()).collect();
        let t = funcs::return_type(name, &types).map_err(|m| format!("{m}{}", at(e)))?;
        Ok((
            E::Func(
                name.to_string(),
                compiled.into_iter().map(|(x, _)| x).collect(),
                types,
            ),
            t,
        ))
    }
}

/// The common type of two branch types.
fn unify(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b || *b == DataType::Null {
        return Some(a.clone());
    }
    if *a == DataType::Null {
        return Some(b.clone());
    }
    numeric_result(a, b)
        .or_else(|| (a == &DataType::String || b == &DataType::String).then_some(DataType::String))
}

fn literal(v: &ast::Value, e: &ast::Expr) -> Result<(E, DataType), String> {
    Ok(match v {
        ast::Value::Number(n, _) => {
            if let Ok(i) = n.parse::<i32>() {
                (E::Lit(Value::Int(i)), DataType::Int)
            } else if let Ok(i) = n.parse::<i64>() {
                (E::Lit(Value::BigInt(i)), DataType::BigInt)
            } else {
                let f: f64 = n
                    .parse()
                    .map_err(|_| format!("bad number `{n}`{}", at(e)))?;
                (E::Lit(Value::Double(f)), DataType::Double)
            }
        }
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            (E::Lit(Value::String(s.clone())), DataType::String)
        }
        ast::Value::Boolean(b) => (E::Lit(Value::Boolean(*b)), DataType::Boolean),
        ast::Value::Null => (E::Lit(Value::Null), DataType::Null),
        other => return Err(format!("unsupported literal `{other}`{}", at(e))),
    })
}

/// A SQL type name as a SeaTunnel type.
pub fn sql_type(t: &ast::DataType) -> Result<DataType, String> {
    let text = t.to_string().to_ascii_lowercase();
    let base = text.split('(').next().unwrap_or("").trim();
    Ok(match base {
        "int" | "integer" => DataType::Int,
        "bigint" | "long" => DataType::BigInt,
        "smallint" => DataType::SmallInt,
        "tinyint" => DataType::TinyInt,
        "float" | "real" => DataType::Float,
        "double" | "double precision" => DataType::Double,
        "boolean" | "bool" => DataType::Boolean,
        "string" | "varchar" | "char" | "text" | "character varying" => DataType::String,
        "bytes" | "binary" | "varbinary" | "blob" => DataType::Bytes,
        "date" => DataType::Date,
        "time" => DataType::Time,
        "timestamp" | "datetime" => DataType::Timestamp,
        "decimal" | "numeric" => DataType::parse(&text).map_err(|e| e.to_string())?,
        other => return Err(format!("unsupported type `{other}` in CAST")),
    })
}
