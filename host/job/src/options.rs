//! Checking a plugin's options against its own description: types, required options, unknown
//! options (with the closest declared name), and SeaTunnel's multi-table transform settings.

use serde_json::{Map, Value as Json};
use st_core::{OptionType, PluginInfo, PluginKind};

use crate::{ConfigError, JobConfig};

/// Options a transform takes besides its own, SeaTunnel's multi-table settings: which input
/// tables it applies to (a regular expression over `database.table`; other tables pass
/// through unchanged) and per-table option sets, each naming its table by `table_path`
/// (`tablePath` is read too) and overriding the block's options for that table.
pub const TABLE_MATCH_REGEX: &str = "table_match_regex";
pub const TABLE_TRANSFORM: &str = "table_transform";

/// Checks a plugin's options against its `describe()` and returns them normalized: every
/// declared option under its declared (dotted) name, whether written flat or nested. A
/// transform's `table_transform` entries are checked the same way, each with the block's
/// options under it. Problems name the file, the line and the option's path.
pub fn check_options(
    job: &JobConfig,
    plugin: usize,
    info: &PluginInfo,
    unknown: UnknownOptions,
) -> Result<Checked, Vec<ConfigError>> {
    let p = &job.plugins[plugin];
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let problem = |path: &[String], message: String| ConfigError {
        file: job.file.clone(),
        line: Some(job.line_of(plugin, path)),
        col: None,
        path: format!("{}.{}", p.path(), path.join(".")),
        message,
    };
    let mut base = p.options.clone();
    let (regex, tables) = if info.kind == PluginKind::Transform {
        (base.remove(TABLE_MATCH_REGEX), base.remove(TABLE_TRANSFORM))
    } else {
        (None, None)
    };
    let mut entries = Vec::new();
    if let Some(list) = &tables {
        let at = |i: usize| ConfigError {
            path: format!("{}.{TABLE_TRANSFORM}.{i}", p.path()),
            ..problem(&[TABLE_TRANSFORM.into()], String::new())
        };
        let Some(list) = list.as_array() else {
            return Err(vec![problem(
                &[TABLE_TRANSFORM.into()],
                "expected a list of `{ table_path = ..., options }`".into(),
            )]);
        };
        for (i, entry) in list.iter().enumerate() {
            let Some(entry) = entry.as_object() else {
                errors.push(ConfigError {
                    message: "expected an object `{ table_path = ..., options }`".into(),
                    ..at(i)
                });
                continue;
            };
            let mut own = entry.clone();
            let path = own.remove("table_path").or_else(|| own.remove("tablePath"));
            let Some(Json::String(path)) = path else {
                errors.push(ConfigError {
                    message: "missing `table_path`, the table this entry is for".into(),
                    ..at(i)
                });
                continue;
            };
            // The entry's own options, then the block's under them.
            let (mut checked, problems) = check_map(&own, info, &p.name);
            for pr in problems {
                let e = ConfigError {
                    path: format!("{}.{TABLE_TRANSFORM}.{i}.{}", p.path(), pr.option),
                    ..problem(&[TABLE_TRANSFORM.into()], pr.message)
                };
                match (pr.unknown, unknown) {
                    (true, UnknownOptions::Warn) => warnings.push(e),
                    _ => errors.push(e),
                }
            }
            let mut merged = base.clone();
            merged.extend(own);
            for spec in info.options.iter().filter(|s| s.required) {
                if st_core::option_value(&merged, &spec.name).is_none_or(|v| v.is_null()) {
                    errors.push(ConfigError {
                        message: format!(
                            "the entry for {path} is missing required option `{}` ({})",
                            spec.name, spec.doc
                        ),
                        ..at(i)
                    });
                }
            }
            checked.insert("table_path".into(), Json::String(path));
            entries.push(Json::Object(checked));
        }
    }
    if let Some(r) = &regex
        && !r.is_string()
    {
        errors.push(problem(
            &[TABLE_MATCH_REGEX.into()],
            format!("expected a string, found {r}"),
        ));
    }
    let (mut out, problems) = check_map(&base, info, &p.name);
    for pr in problems {
        let e = problem(&[pr.option], pr.message);
        match (pr.unknown, unknown) {
            (true, UnknownOptions::Warn) => warnings.push(e),
            _ => errors.push(e),
        }
    }
    // With per-table option sets, the block's own options may be partial: a table that uses
    // them finds out when the transform is created.
    if tables.is_none() {
        for spec in info.options.iter().filter(|s| s.required) {
            if st_core::option_value(&base, &spec.name).is_none_or(|v| v.is_null()) {
                errors.push(ConfigError {
                    file: job.file.clone(),
                    line: Some(p.line),
                    col: None,
                    path: p.path(),
                    message: format!("missing required option `{}` ({})", spec.name, spec.doc),
                });
            }
        }
    }
    if let Some(r) = regex {
        out.insert(TABLE_MATCH_REGEX.into(), r);
    }
    if tables.is_some() {
        out.insert(TABLE_TRANSFORM.into(), Json::Array(entries));
    }
    if errors.is_empty() {
        Ok(Checked {
            options: out,
            warnings,
        })
    } else {
        Err(errors)
    }
}

pub use st_core::UnknownOptions;

/// A plugin's options, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Every declared option under its declared (dotted) name.
    pub options: Map<String, Json>,
    /// Options the plugin does not declare (ignored), when those are warnings.
    pub warnings: Vec<ConfigError>,
}

/// A problem with one option.
struct Problem {
    option: String,
    message: String,
    /// The plugin does not declare it (rather than: a value of the wrong type).
    unknown: bool,
}

/// Checks one options object against the specs, without requiring anything: the normalized
/// options, and a problem for each unknown key and each value of the wrong type. `written` is
/// the plugin as the job names it (a name or a `.wasm` path), which `st plugin inspect` takes.
fn check_map(
    map: &Map<String, Json>,
    info: &PluginInfo,
    written: &str,
) -> (Map<String, Json>, Vec<Problem>) {
    fn walk(prefix: &str, map: &Map<String, Json>, info: &PluginInfo, unknown: &mut Vec<String>) {
        for (k, v) in map {
            let full = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if info.options.iter().any(|o| o.name == full) {
                continue;
            }
            let nested = format!("{full}.");
            if let Json::Object(inner) = v
                && info.options.iter().any(|o| o.name.starts_with(&nested))
            {
                walk(&full, inner, info, unknown);
                continue;
            }
            unknown.push(full);
        }
    }
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    walk("", map, info, &mut unknown);
    for u in unknown {
        let hint = info
            .options
            .iter()
            .map(|o| (st_core::text::edit_distance(&o.name, &u), &o.name))
            .min()
            .filter(|(d, _)| *d <= 3)
            .map(|(_, n)| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        problems.push(Problem {
            option: u,
            message: format!(
                "unknown option for {}; {hint}(`st plugin inspect {written}` lists its options)",
                info.name
            ),
            unknown: true,
        });
    }
    let mut out = Map::new();
    for spec in &info.options {
        match st_core::option_value(map, &spec.name).cloned() {
            None => {}
            Some(v) if v.is_null() => {}
            Some(v) => {
                if spec.option_type == OptionType::Any || spec.option_type.accepts(&v) {
                    out.insert(spec.name.clone(), v);
                } else {
                    problems.push(Problem {
                        option: spec.name.clone(),
                        message: format!("expected {}, found {v}", describe_type(spec.option_type)),
                        unknown: false,
                    });
                }
            }
        }
    }
    (out, problems)
}

fn describe_type(t: OptionType) -> &'static str {
    match t {
        OptionType::Boolean => "true or false",
        OptionType::Integer => "an integer",
        OptionType::Number => "a number",
        OptionType::String => "a string",
        OptionType::List => "a list",
        OptionType::Object => "an object `{ ... }`",
        OptionType::Any => "any value",
    }
}
