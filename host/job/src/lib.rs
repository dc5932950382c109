//! Job configs as SeaTunnel writes them: HOCON (or JSON) with `env`, `source`, `transform` and
//! `sink`, parsed with `hocon-parser` plus SeaTunnel's two extra rules (duplicate plugin blocks
//! stay separate plugins, in order; `${var}` variables are filled before parsing). The result is
//! a validated logical DAG. Every problem is reported at once with file, line and option path.
//!
//! Plugin options are checked against the plugin's own `describe()` by [`check_options`];
//! loading plugins is not this crate's business.

mod dag;
mod env;
mod error;
mod hocon_json;
mod options;
mod sandbox;
mod scan;
mod vars;

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value as Json};
use st_core::PluginKind;

pub use env::{Env, JobMode};
pub use error::{ConfigError, ConfigErrors};
pub use options::{Checked, TABLE_MATCH_REGEX, TABLE_TRANSFORM, UnknownOptions, check_options};
pub use sandbox::{DirConfig, SandboxConfig};
pub use vars::substitute;

use dag::resolve_inputs;
use env::{json_u64, parse_env};
use hocon_json::{config_to_json, hocon_error};

/// Options every plugin may carry, handled by the engine and not passed to the plugin.
pub const COMMON_OPTIONS: &[&str] = &[
    "plugin_input",
    "plugin_output",
    "source_table_name",
    "result_table_name",
    "parallelism",
    "plugin_name",
    "sandbox",
    "artifact",
    "sha256",
];

/// One plugin block.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    pub kind: PluginKind,
    /// Position within its section.
    pub index: usize,
    /// The plugin name as written (matched case-insensitively).
    pub name: String,
    pub line: usize,
    /// The plugin's own options (common options removed), as written.
    pub options: Map<String, Json>,
    /// `plugin_input` / `source_table_name`.
    pub input: Vec<String>,
    /// `plugin_output` / `result_table_name`.
    pub output: Option<String>,
    /// A per-plugin `parallelism`.
    pub parallelism: Option<u32>,
    /// The plugin's `sandbox` block: grants and limits.
    pub sandbox: SandboxConfig,
    /// `artifact`: an explicit path or URL of the plugin's `.wasm`.
    pub artifact: Option<String>,
    /// `sha256`: the artifact's expected hash.
    pub sha256: Option<String>,
    body: std::ops::Range<usize>,
}

impl PluginConfig {
    /// `source[0](FakeSource)`.
    pub fn path(&self) -> String {
        // A plugin given by path is shown by its file name.
        let name = if self.name.ends_with(".wasm") {
            self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name)
        } else {
            &self.name
        };
        format!("{}[{}]({name})", self.kind, self.index)
    }
}

/// A parsed, structurally valid job.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// The file name used in messages.
    pub file: String,
    text: String,
    pub env: Env,
    /// Sources, then transforms, then sinks, each in config order.
    pub plugins: Vec<PluginConfig>,
    /// For each plugin, the plugins it reads from (indexes into `plugins`), in order.
    pub inputs: Vec<Vec<usize>>,
    /// Things worth telling the user that do not stop the job.
    pub warnings: Vec<String>,
}

/// Reads and validates a job file. `vars` are the `-i key=value` pairs.
pub fn load_file(path: &Path, vars: &HashMap<String, String>) -> Result<JobConfig, ConfigErrors> {
    without_problems(load_file_with_problems(path, vars)?)
}

/// Parses and validates job text; `env` looks up environment variables.
pub fn load_str(
    file: &str,
    text: &str,
    vars: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<JobConfig, ConfigErrors> {
    without_problems(load_str_with_problems(file, text, vars, env)?)
}

fn without_problems(
    (job, problems): (JobConfig, Vec<ConfigError>),
) -> Result<JobConfig, ConfigErrors> {
    if problems.is_empty() {
        Ok(job)
    } else {
        Err(ConfigErrors(problems))
    }
}

/// Like [`load_file`], but a job whose blocks could be read comes back with its problems
/// (wiring, `env`, sections) beside it, so the options of its plugins can be checked in the
/// same run. Only a file that cannot be read or parsed at all is an error.
pub fn load_file_with_problems(
    path: &Path,
    vars: &HashMap<String, String>,
) -> Result<(JobConfig, Vec<ConfigError>), ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: None,
            col: None,
            path: String::new(),
            message: format!("cannot read the job config: {e}"),
        }])
    })?;
    load_str_with_problems(&file, &text, vars, &|k| std::env::var(k).ok())
}

/// [`load_str`], with the problems beside the job (see [`load_file_with_problems`]).
pub fn load_str_with_problems(
    file: &str,
    text: &str,
    vars: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(JobConfig, Vec<ConfigError>), ConfigErrors> {
    let text = vars::substitute(text, vars, env);
    let mut errors = Vec::new();
    let err = |line: Option<usize>, path: &str, message: String| ConfigError {
        file: file.to_string(),
        line,
        col: None,
        path: path.to_string(),
        message,
    };

    // 1. The whole document must be valid HOCON; this also yields positions for syntax errors.
    let whole = match hocon::parse(&text) {
        Ok(c) => c,
        Err(e) => return Err(ConfigErrors(vec![hocon_error(file, &e, 0)])),
    };
    let root = config_to_json(&whole);

    // 2. Find the sections and plugin blocks in the text.
    let (layout, scan_errors) = scan::scan(&text);
    for e in scan_errors {
        errors.push(err(Some(e.line), "", e.message));
    }
    let mut env_value = root.get("env").cloned().unwrap_or(Json::Object(Map::new()));
    let mut plugins = Vec::new();
    let mut seen_sections = Vec::new();
    for (section, blocks) in &layout.sections {
        let lower = section.name.to_ascii_lowercase();
        let kind = match lower.as_str() {
            "env" => {
                continue;
            }
            "source" => PluginKind::Source,
            "transform" => PluginKind::Transform,
            "sink" => PluginKind::Sink,
            other => {
                errors.push(err(
                    Some(section.line),
                    "",
                    format!("unknown section `{other}`; a job has `env`, `source`, `transform` and `sink`"),
                ));
                continue;
            }
        };
        seen_sections.push(kind);
        for block in blocks {
            let body_text = &text[block.body.clone()];
            let options = match hocon::parse(body_text) {
                Ok(c) => config_to_json(&c),
                Err(e) => {
                    // A block that only parses in context (e.g. it refers to another part of the
                    // document) falls back to the merged document's value.
                    match root.get(&section.name).and_then(|s| s.get(&block.name)) {
                        Some(v) => v.clone(),
                        None => {
                            errors.push(hocon_error(
                                file,
                                &e,
                                scan::line_of(&text, block.body.start) - 1,
                            ));
                            continue;
                        }
                    }
                }
            };
            let index = plugins
                .iter()
                .filter(|p: &&PluginConfig| p.kind == kind)
                .count();
            let found = FoundPlugin {
                kind,
                index,
                name: &block.name,
                line: block.line,
                body: block.body.clone(),
                options,
            };
            push_plugin(&mut plugins, &mut errors, file, found);
        }
    }
    // JSON configs (and HOCON written the same way) give sections as lists of objects
    // carrying `plugin_name`.
    for (key, kind) in [
        ("source", PluginKind::Source),
        ("transform", PluginKind::Transform),
        ("sink", PluginKind::Sink),
    ] {
        let Some(Json::Array(items)) = root.get(key) else {
            continue;
        };
        seen_sections.push(kind);
        for (index, item) in items.iter().enumerate() {
            let name = item
                .get("plugin_name")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let line = scan::locate(&text, 0..text.len(), &[key.to_string()]);
            if name.is_empty() {
                errors.push(err(
                    Some(line),
                    &format!("{key}[{index}]"),
                    "missing `plugin_name`".into(),
                ));
                continue;
            }
            let found = FoundPlugin {
                kind,
                index,
                name: &name,
                line,
                body: 0..text.len(),
                options: item.clone(),
            };
            push_plugin(&mut plugins, &mut errors, file, found);
        }
    }
    plugins.sort_by_key(|p| match p.kind {
        PluginKind::Source => 0,
        PluginKind::Transform => 1,
        PluginKind::Sink => 2,
    });

    // 3. env
    let env_line = layout
        .sections
        .iter()
        .find(|(s, _)| s.name == "env")
        .map(|(s, _)| s.line);
    let mut warnings = Vec::new();
    let env = parse_env(&mut env_value, file, env_line, &mut errors, &mut warnings);
    if let Some(shade) = env.raw.get("shade.identifier") {
        let shade = shade.as_str().unwrap_or_default().to_string();
        unshade(&shade, &mut plugins, file, env_line, &mut errors);
    }

    if !plugins.iter().any(|p| p.kind == PluginKind::Source) && errors.is_empty() {
        errors.push(err(
            None,
            "",
            "the job has no source; add a `source { ... }` block with at least one plugin".into(),
        ));
    }
    if !plugins.iter().any(|p| p.kind == PluginKind::Sink) && errors.is_empty() {
        errors.push(err(
            None,
            "",
            "the job has no sink; add a `sink { ... }` block with at least one plugin".into(),
        ));
    }

    // 4. The DAG.
    let inputs = resolve_inputs(&plugins, file, &mut errors, &mut warnings);
    let job = JobConfig {
        file: file.to_string(),
        text,
        env,
        plugins,
        inputs,
        warnings,
    };
    Ok((job, errors))
}

/// The options SeaTunnel's `shade.identifier` encrypts in every source and sink.
pub const SHADED_OPTIONS: [&str; 4] = ["password", "username", "auth", "token"];

/// Decrypts what `env.shade.identifier` says is encrypted: with `base64`, the
/// [`SHADED_OPTIONS`] of every source and sink are base64 text.
fn unshade(
    shade: &str,
    plugins: &mut [PluginConfig],
    file: &str,
    env_line: Option<usize>,
    errors: &mut Vec<ConfigError>,
) {
    use base64::Engine as _;
    if shade != "base64" {
        errors.push(ConfigError {
            file: file.to_string(),
            line: env_line,
            col: None,
            path: "env.shade.identifier".into(),
            message: format!("`{shade}` is not a shade Strait knows; use base64 (or none)"),
        });
        return;
    }
    for p in plugins
        .iter_mut()
        .filter(|p| p.kind != PluginKind::Transform)
    {
        for key in SHADED_OPTIONS {
            let Some(Json::String(text)) = p.options.get(key) else {
                continue;
            };
            let plain = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match plain {
                Some(plain) => {
                    p.options.insert(key.to_string(), Json::String(plain));
                }
                None => errors.push(ConfigError {
                    file: file.to_string(),
                    line: Some(p.line),
                    col: None,
                    path: format!("{}.{key}", p.name),
                    message: format!(
                        "`{key}` is not base64 text, and env.shade.identifier = base64 says it is encrypted"
                    ),
                }),
            }
        }
    }
}

/// A plugin block as found in a job config, before its options are read.
struct FoundPlugin<'a> {
    kind: PluginKind,
    /// Its place among the blocks of its kind.
    index: usize,
    name: &'a str,
    line: usize,
    /// Where its text is, to find its options' lines.
    body: std::ops::Range<usize>,
    options: Json,
}

fn push_plugin(
    plugins: &mut Vec<PluginConfig>,
    errors: &mut Vec<ConfigError>,
    file: &str,
    found: FoundPlugin<'_>,
) {
    let FoundPlugin {
        kind,
        index,
        name,
        line,
        body,
        options,
    } = found;
    let path = format!("{kind}[{index}]({name})");
    let Json::Object(mut options) = options else {
        errors.push(ConfigError {
            file: file.into(),
            line: Some(line),
            col: None,
            path,
            message: "a plugin block must be an object".into(),
        });
        return;
    };
    let names = |v: Option<Json>| -> Vec<String> {
        match v {
            Some(Json::String(s)) => s
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut input = names(options.shift_remove("plugin_input"));
    input.extend(names(options.shift_remove("source_table_name")));
    let mut output = names(options.shift_remove("plugin_output"));
    output.extend(names(options.shift_remove("result_table_name")));
    let parallelism = match options.shift_remove("parallelism") {
        None => None,
        Some(v) => match json_u64(&v)
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0)
        {
            Some(p) => Some(p),
            None => {
                errors.push(ConfigError {
                    file: file.into(),
                    line: Some(line),
                    col: None,
                    path: format!("{path}.parallelism"),
                    message: format!("must be a positive integer, found {v}"),
                });
                None
            }
        },
    };
    options.shift_remove("plugin_name");
    let mut text_option = |key: &str, errors: &mut Vec<ConfigError>| match options.shift_remove(key)
    {
        None => None,
        Some(Json::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(v) => {
            errors.push(ConfigError {
                file: file.into(),
                line: Some(line),
                col: None,
                path: format!("{path}.{key}"),
                message: format!("must be a non-empty string, found {v}"),
            });
            None
        }
    };
    let artifact = text_option("artifact", errors);
    let sha256 = text_option("sha256", errors);
    if let Some(h) = &sha256
        && (h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()))
    {
        errors.push(ConfigError {
            file: file.into(),
            line: Some(line),
            col: None,
            path: format!("{path}.sha256"),
            message: format!("must be 64 hex digits, found \"{h}\""),
        });
    }
    let sandbox = match options.shift_remove("sandbox") {
        None => SandboxConfig::default(),
        Some(v) => {
            let (sb, problems) = sandbox::parse(&v);
            for (sub, message) in problems {
                errors.push(ConfigError {
                    file: file.into(),
                    line: Some(line),
                    col: None,
                    path: format!("{path}.sandbox{sub}"),
                    message,
                });
            }
            sb
        }
    };
    plugins.push(PluginConfig {
        kind,
        index,
        name: name.to_string(),
        line,
        options,
        input,
        output: output.into_iter().next(),
        parallelism,
        sandbox,
        artifact,
        sha256,
        body,
    });
}

#[cfg(test)]
mod tests;
