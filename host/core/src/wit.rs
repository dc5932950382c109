//! Conversions between this crate's types and the WIT `types` interface.
//!
//! The host (wasmtime's `bindgen!`) and guests (`wit-bindgen`) each generate their own Rust
//! types from `wit/`; both have the same shape, so one macro writes the conversions for either.
//! Buffers move; nothing is copied except decimals (i128 ↔ 16 bytes).

/// Writes `batch_to_wit`, `batch_from_wit`, `schema_to_wit`, `schema_from_wit` for the types
/// module at the given path (the generated `strait::connector::types`).
#[macro_export]
macro_rules! wit_conversions {
    ($($m:ident)::+) => {
        /// Moves a batch into the WIT shape: nested columns are flattened into the column arena.
        pub fn batch_to_wit(b: $crate::Batch) -> $($m)::+::Batch {
            let n = b.columns.len();
            let mut arena: ::std::vec::Vec<::std::option::Option<$($m)::+::Column>> =
                ::std::iter::repeat_with(|| None).take(n).collect();
            for (i, c) in b.columns.into_iter().enumerate() {
                column_to_wit(c, &mut arena, i);
            }
            $($m)::+::Batch {
                table: b.table,
                num_rows: u32::try_from(b.num_rows).unwrap_or(u32::MAX),
                row_kinds: b.row_kinds.map(|k| k.into_iter().map(row_kind_to_wit).collect()),
                columns: arena.into_iter().flatten().collect(),
            }
        }

        fn column_to_wit(
            c: $crate::Column,
            arena: &mut ::std::vec::Vec<::std::option::Option<$($m)::+::Column>>,
            slot: usize,
        ) {
            use $crate::ColumnData as D;
            use $($m)::+::ColumnValues as W;
            let mut child = |c: $crate::Column, arena: &mut ::std::vec::Vec<_>| -> u32 {
                let idx = arena.len();
                arena.push(None);
                column_to_wit(c, arena, idx);
                u32::try_from(idx).unwrap_or(u32::MAX)
            };
            let values = match c.data {
                D::Null(n) => W::Null(u32::try_from(n).unwrap_or(u32::MAX)),
                D::Boolean(v) => W::Boolean(v),
                D::Int8(v) => W::Int8(v),
                D::Int16(v) => W::Int16(v),
                D::Int32(v) => W::Int32(v),
                D::Int64(v) => W::Int64(v),
                D::Float32(v) => W::Float32(v),
                D::Float64(v) => W::Float64(v),
                D::Decimal(v) => W::Decimal(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                D::Utf8(v) => W::Utf8($($m)::+::VarWidth { offsets: v.offsets, data: v.data }),
                D::Binary(v) => W::Binary($($m)::+::VarWidth { offsets: v.offsets, data: v.data }),
                D::List { offsets, child: c } => {
                    let child = child(*c, arena);
                    W::List($($m)::+::ListValues { offsets, child })
                }
                D::Map { offsets, keys, values } => {
                    let keys = child(*keys, arena);
                    let values = child(*values, arena);
                    W::Map($($m)::+::MapValues { offsets, keys, values })
                }
                D::Row { fields, .. } => W::Row(fields.into_iter().map(|f| child(f, arena)).collect()),
            };
            arena[slot] = Some($($m)::+::Column { validity: c.validity, values });
        }

        /// Rebuilds a batch from the WIT shape. Fails (never panics) on a malformed arena:
        /// an index out of range, a column used twice, or a child before its parent.
        /// The result still needs `Batch::check` against its schema.
        pub fn batch_from_wit(b: $($m)::+::Batch) -> ::std::result::Result<$crate::Batch, ::std::string::String> {
            let num_rows = b.num_rows as usize;
            let mut arena: ::std::vec::Vec<::std::option::Option<$($m)::+::Column>> =
                b.columns.into_iter().map(Some).collect();
            let mut top = ::std::vec::Vec::new();
            let mut i = 0;
            // Top-level columns are the leading entries that no other column names as a child;
            // they are taken in order until the arena's remaining entries are all children.
            let child_indices: ::std::collections::BTreeSet<u32> = arena
                .iter()
                .flatten()
                .flat_map(|c| match &c.values {
                    $($m)::+::ColumnValues::List(l) => vec![l.child],
                    $($m)::+::ColumnValues::Map(m) => vec![m.keys, m.values],
                    $($m)::+::ColumnValues::Row(r) => r.clone(),
                    _ => vec![],
                })
                .collect();
            while i < arena.len() && !child_indices.contains(&u32::try_from(i).unwrap_or(u32::MAX)) {
                top.push(column_from_wit(&mut arena, i, None, Some(num_rows))?);
                i += 1;
            }
            if let Some(pos) = arena.iter().position(Option::is_some) {
                return Err(format!("column {pos} of the batch is not referenced by any column"));
            }
            let row_kinds = b.row_kinds.map(|k| k.into_iter().map(row_kind_from_wit).collect());
            Ok($crate::Batch { table: b.table, num_rows, row_kinds, columns: top })
        }

        fn column_from_wit(
            arena: &mut ::std::vec::Vec<::std::option::Option<$($m)::+::Column>>,
            idx: usize,
            parent: ::std::option::Option<usize>,
            expected_len: ::std::option::Option<usize>,
        ) -> ::std::result::Result<$crate::Column, ::std::string::String> {
            use $crate::ColumnData as D;
            use $($m)::+::ColumnValues as W;
            if parent.is_some_and(|p| idx <= p) {
                return Err(format!("column {idx} is a child of column {} but does not come after it", parent.unwrap_or(0)));
            }
            let c = arena
                .get_mut(idx)
                .ok_or_else(|| format!("column index {idx} is out of range"))?
                .take()
                .ok_or_else(|| format!("column {idx} is used twice"))?;
            let data = match c.values {
                W::Null(n) => D::Null(n as usize),
                W::Boolean(v) => D::Boolean(v),
                W::Int8(v) => D::Int8(v),
                W::Int16(v) => D::Int16(v),
                W::Int32(v) => D::Int32(v),
                W::Int64(v) => D::Int64(v),
                W::Float32(v) => D::Float32(v),
                W::Float64(v) => D::Float64(v),
                W::Decimal(v) => {
                    if v.len() % 16 != 0 {
                        return Err(format!("decimal column {idx} has {} bytes, not a multiple of 16", v.len()));
                    }
                    D::Decimal(
                        v.chunks_exact(16)
                            .map(|c| {
                                let mut b = [0u8; 16];
                                b.copy_from_slice(c);
                                i128::from_le_bytes(b)
                            })
                            .collect(),
                    )
                }
                W::Utf8(v) => D::Utf8($crate::VarWidth { offsets: v.offsets, data: v.data }),
                W::Binary(v) => D::Binary($crate::VarWidth { offsets: v.offsets, data: v.data }),
                W::List(l) => {
                    let n = l.offsets.last().map(|o| *o as usize);
                    let child = column_from_wit(arena, l.child as usize, Some(idx), n)?;
                    D::List { offsets: l.offsets, child: Box::new(child) }
                }
                W::Map(m) => {
                    let n = m.offsets.last().map(|o| *o as usize);
                    let keys = column_from_wit(arena, m.keys as usize, Some(idx), n)?;
                    let values = column_from_wit(arena, m.values as usize, Some(idx), n)?;
                    D::Map { offsets: m.offsets, keys: Box::new(keys), values: Box::new(values) }
                }
                W::Row(children) => {
                    let fields = children
                        .iter()
                        .map(|c| column_from_wit(arena, *c as usize, Some(idx), expected_len))
                        .collect::<::std::result::Result<::std::vec::Vec<_>, _>>()?;
                    let len = fields.first().map(|f| f.len()).or(expected_len).unwrap_or(0);
                    D::Row { len, fields }
                }
            };
            Ok($crate::Column { validity: c.validity, data })
        }

        pub fn row_kind_to_wit(k: $crate::RowKind) -> $($m)::+::RowKind {
            match k {
                $crate::RowKind::Insert => $($m)::+::RowKind::Insert,
                $crate::RowKind::UpdateBefore => $($m)::+::RowKind::UpdateBefore,
                $crate::RowKind::UpdateAfter => $($m)::+::RowKind::UpdateAfter,
                $crate::RowKind::Delete => $($m)::+::RowKind::Delete,
            }
        }

        pub fn row_kind_from_wit(k: $($m)::+::RowKind) -> $crate::RowKind {
            match k {
                $($m)::+::RowKind::Insert => $crate::RowKind::Insert,
                $($m)::+::RowKind::UpdateBefore => $crate::RowKind::UpdateBefore,
                $($m)::+::RowKind::UpdateAfter => $crate::RowKind::UpdateAfter,
                $($m)::+::RowKind::Delete => $crate::RowKind::Delete,
            }
        }

        /// Flattens a schema's types into the WIT type arena.
        pub fn schema_to_wit(s: &$crate::TableSchema) -> $($m)::+::TableSchema {
            fn push(t: &$crate::DataType, types: &mut ::std::vec::Vec<$($m)::+::DataType>) -> u32 {
                use $crate::DataType as T;
                use $($m)::+::DataType as W;
                let w = match t {
                    T::Null => W::Null,
                    T::Boolean => W::Boolean,
                    T::TinyInt => W::Tinyint,
                    T::SmallInt => W::Smallint,
                    T::Int => W::Int,
                    T::BigInt => W::Bigint,
                    T::Float => W::Float,
                    T::Double => W::Double,
                    T::Decimal { precision, scale } => {
                        W::Decimal($($m)::+::DecimalType { precision: *precision, scale: *scale })
                    }
                    T::String => W::String,
                    T::Bytes => W::Bytes,
                    T::Date => W::Date,
                    T::Time => W::Time,
                    T::Timestamp => W::Timestamp,
                    T::TimestampTz => W::TimestampTz,
                    T::Array(inner) => W::Array(push(inner, types)),
                    T::Map(k, v) => {
                        let key = push(k, types);
                        let value = push(v, types);
                        W::Map($($m)::+::MapType { key, value })
                    }
                    T::Row(fields) => W::Row(
                        fields
                            .iter()
                            .map(|f| $($m)::+::RowField { name: f.name.clone(), data_type: push(&f.data_type, types) })
                            .collect(),
                    ),
                };
                types.push(w);
                u32::try_from(types.len() - 1).unwrap_or(u32::MAX)
            }
            let mut types = ::std::vec::Vec::new();
            let columns = s
                .columns
                .iter()
                .map(|c| $($m)::+::ColumnDef {
                    name: c.name.clone(),
                    data_type: push(&c.data_type, &mut types),
                    nullable: c.nullable,
                    default_value: c.default_value.clone(),
                    comment: c.comment.clone(),
                })
                .collect();
            $($m)::+::TableSchema {
                table_path: s.table_path.clone(),
                types,
                columns,
                primary_key: s
                    .primary_key
                    .as_ref()
                    .map(|p| $($m)::+::PrimaryKey { name: p.name.clone(), columns: p.columns.clone() }),
                constraint_keys: s
                    .constraint_keys
                    .iter()
                    .map(|k| $($m)::+::ConstraintKey {
                        name: k.name.clone(),
                        constraint_type: match k.constraint_type {
                            $crate::ConstraintType::IndexKey => $($m)::+::ConstraintType::IndexKey,
                            $crate::ConstraintType::UniqueKey => $($m)::+::ConstraintType::UniqueKey,
                            $crate::ConstraintType::ForeignKey => $($m)::+::ConstraintType::ForeignKey,
                        },
                        columns: k
                            .columns
                            .iter()
                            .map(|(n, o)| $($m)::+::ConstraintColumn {
                                name: n.clone(),
                                sort: match o {
                                    $crate::SortOrder::Asc => $($m)::+::SortOrder::Asc,
                                    $crate::SortOrder::Desc => $($m)::+::SortOrder::Desc,
                                },
                            })
                            .collect(),
                    })
                    .collect(),
                comment: s.comment.clone(),
            }
        }

        /// Rebuilds a schema from the WIT type arena; fails on a bad or cyclic type index.
        pub fn schema_from_wit(s: $($m)::+::TableSchema) -> ::std::result::Result<$crate::TableSchema, ::std::string::String> {
            fn get(
                types: &[$($m)::+::DataType],
                idx: u32,
                depth: usize,
            ) -> ::std::result::Result<$crate::DataType, ::std::string::String> {
                use $crate::DataType as T;
                use $($m)::+::DataType as W;
                if depth > 64 {
                    return Err("type nesting deeper than 64 (a cycle?)".into());
                }
                let w = types.get(idx as usize).ok_or_else(|| format!("type index {idx} is out of range"))?;
                Ok(match w {
                    W::Null => T::Null,
                    W::Boolean => T::Boolean,
                    W::Tinyint => T::TinyInt,
                    W::Smallint => T::SmallInt,
                    W::Int => T::Int,
                    W::Bigint => T::BigInt,
                    W::Float => T::Float,
                    W::Double => T::Double,
                    W::Decimal(d) => T::Decimal { precision: d.precision, scale: d.scale },
                    W::String => T::String,
                    W::Bytes => T::Bytes,
                    W::Date => T::Date,
                    W::Time => T::Time,
                    W::Timestamp => T::Timestamp,
                    W::TimestampTz => T::TimestampTz,
                    W::Array(i) => T::Array(Box::new(get(types, *i, depth + 1)?)),
                    W::Map(m) => T::Map(Box::new(get(types, m.key, depth + 1)?), Box::new(get(types, m.value, depth + 1)?)),
                    W::Row(fields) => T::Row(
                        fields
                            .iter()
                            .map(|f| Ok($crate::Field { name: f.name.clone(), data_type: get(types, f.data_type, depth + 1)? }))
                            .collect::<::std::result::Result<_, ::std::string::String>>()?,
                    ),
                })
            }
            let columns = s
                .columns
                .iter()
                .map(|c| {
                    Ok($crate::ColumnDef {
                        name: c.name.clone(),
                        data_type: get(&s.types, c.data_type, 0).map_err(|e| format!("column `{}`: {e}", c.name))?,
                        nullable: c.nullable,
                        default_value: c.default_value.clone(),
                        comment: c.comment.clone(),
                    })
                })
                .collect::<::std::result::Result<_, ::std::string::String>>()?;
            Ok($crate::TableSchema {
                table_path: s.table_path,
                columns,
                primary_key: s.primary_key.map(|p| $crate::PrimaryKey { name: p.name, columns: p.columns }),
                constraint_keys: s
                    .constraint_keys
                    .into_iter()
                    .map(|k| $crate::ConstraintKey {
                        name: k.name,
                        constraint_type: match k.constraint_type {
                            $($m)::+::ConstraintType::IndexKey => $crate::ConstraintType::IndexKey,
                            $($m)::+::ConstraintType::UniqueKey => $crate::ConstraintType::UniqueKey,
                            $($m)::+::ConstraintType::ForeignKey => $crate::ConstraintType::ForeignKey,
                        },
                        columns: k
                            .columns
                            .into_iter()
                            .map(|c| {
                                (c.name, match c.sort {
                                    $($m)::+::SortOrder::Asc => $crate::SortOrder::Asc,
                                    $($m)::+::SortOrder::Desc => $crate::SortOrder::Desc,
                                })
                            })
                            .collect(),
                    })
                    .collect(),
                comment: s.comment,
            })
        }
    };
}
