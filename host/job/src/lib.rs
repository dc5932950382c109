//! Job configs as SeaTunnel writes them: HOCON (or JSON) with `env`, `source`, `transform` and
//! `sink`, parsed with `hocon-parser` plus SeaTunnel's two extra rules (duplicate plugin blocks
//! stay separate plugins, in order; `${var}` variables are filled before parsing). The result is
//! a validated logical DAG. Every problem is reported at once with file, line and option path.
//!
//! Plugin options are checked against the plugin's own `describe()` by [`check_options`];
//! loading plugins is not this crate's business.

mod error;
mod sandbox;
mod scan;
mod vars;

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value as Json};
use st_core::{OptionType, PluginInfo, PluginKind};

pub use error::{ConfigError, ConfigErrors};
pub use sandbox::{DirConfig, SandboxConfig};
pub use vars::substitute;

/// BATCH (bounded) or STREAMING (unbounded) — SeaTunnel's `job.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobMode {
    #[default]
    Batch,
    Streaming,
}

/// The `env` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Env {
    pub job_mode: JobMode,
    /// Default parallelism of every pipeline (`parallelism`, default 1).
    pub parallelism: u32,
    /// `job.name`, default `SeaTunnel_Job` as in SeaTunnel.
    pub job_name: String,
    /// `checkpoint.interval` in milliseconds.
    pub checkpoint_interval_ms: Option<u64>,
    /// `checkpoint.timeout` in milliseconds.
    pub checkpoint_timeout_ms: Option<u64>,
    /// `read_limit.rows_per_second`.
    pub rows_per_second: Option<u64>,
    /// `read_limit.bytes_per_second`.
    pub bytes_per_second: Option<u64>,
    /// `job.retry.times`.
    pub retry_times: Option<u32>,
    /// `job.retry.interval.seconds`.
    pub retry_interval_seconds: Option<u64>,
    /// `sandbox.max-memory-mb` and `sandbox.call-timeout-ms`: limits for every plugin of the job.
    pub sandbox: SandboxConfig,
    /// Every key as written, flattened to dotted names.
    pub raw: Map<String, Json>,
}

/// Env keys Strait knows; others are kept in `raw` and reported as warnings (SeaTunnel configs
/// often carry engine-specific keys such as `spark.master`).
const ENV_KEYS: &[&str] = &[
    "job.mode",
    "parallelism",
    "execution.parallelism",
    "job.name",
    "checkpoint.interval",
    "checkpoint.timeout",
    "min-pause",
    "read_limit.rows_per_second",
    "read_limit.bytes_per_second",
    "job.retry.times",
    "job.retry.interval.seconds",
    "savemode.execute.location",
    "shade.identifier",
    "custom_parameters",
    "jars",
    "node-tag-filter",
    "sandbox",
];

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
    load_str(&file, &text, vars, &|k| std::env::var(k).ok())
}

/// Parses and validates job text; `env` looks up environment variables.
pub fn load_str(
    file: &str,
    text: &str,
    vars: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<JobConfig, ConfigErrors> {
    let (job, problems) = load_str_with_problems(file, text, vars, env)?;
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

fn json_u64(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_env(
    value: &mut Json,
    file: &str,
    line: Option<usize>,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
) -> Env {
    let mut raw = Map::new();
    flatten("", value, &mut raw);
    let keys_has_parallelism = raw.contains_key("parallelism");
    let mut env = Env {
        parallelism: 1,
        job_name: "SeaTunnel_Job".into(),
        ..Env::default()
    };
    let mut bad = |key: &str, message: String| {
        errors.push(ConfigError {
            file: file.into(),
            line,
            col: None,
            path: format!("env.{key}"),
            message,
        });
    };
    for (k, v) in &raw {
        if !ENV_KEYS
            .iter()
            .any(|known| k == known || k.starts_with(&format!("{known}.")))
        {
            warnings.push(format!(
                "{file}: env.{k} is not a Strait setting and is ignored"
            ));
            continue;
        }
        match k.as_str() {
            "job.mode" => match v.as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("BATCH") => env.job_mode = JobMode::Batch,
                Some("STREAMING") => env.job_mode = JobMode::Streaming,
                _ => bad(k, format!("must be BATCH or STREAMING, found {v}")),
            },
            // SeaTunnel's older name; `parallelism` wins when both are set.
            "execution.parallelism" if keys_has_parallelism => {}
            "parallelism" | "execution.parallelism" => match json_u64(v)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| *p > 0)
            {
                Some(p) => env.parallelism = p,
                None => bad(k, format!("must be a positive integer, found {v}")),
            },
            "job.name" => env.job_name = v.as_str().map_or_else(|| v.to_string(), str::to_string),
            "checkpoint.interval"
            | "checkpoint.timeout"
            | "read_limit.rows_per_second"
            | "read_limit.bytes_per_second"
            | "job.retry.interval.seconds" => match json_u64(v) {
                Some(n) => match k.as_str() {
                    "checkpoint.interval" => env.checkpoint_interval_ms = Some(n),
                    "checkpoint.timeout" => env.checkpoint_timeout_ms = Some(n),
                    "read_limit.rows_per_second" => env.rows_per_second = Some(n),
                    "read_limit.bytes_per_second" => env.bytes_per_second = Some(n),
                    _ => env.retry_interval_seconds = Some(n),
                },
                None => bad(k, format!("must be a non-negative integer, found {v}")),
            },
            "sandbox.max-memory-mb" | "sandbox.call-timeout-ms" => {
                match sandbox::limit(&k["sandbox.".len()..], v) {
                    Ok(n) if k == "sandbox.max-memory-mb" => env.sandbox.max_memory_mb = Some(n),
                    Ok(n) => env.sandbox.call_timeout_ms = Some(n),
                    Err(m) => bad(k, m),
                }
            }
            k if k.starts_with("sandbox.") => bad(
                k,
                "env.sandbox sets limits only (max-memory-mb, call-timeout-ms); grant directories, network and environment in each plugin's own `sandbox` block".into(),
            ),
            "job.retry.times" => match json_u64(v).and_then(|p| u32::try_from(p).ok()) {
                Some(n) => env.retry_times = Some(n),
                None => bad(k, format!("must be a non-negative integer, found {v}")),
            },
            _ => {}
        }
    }
    env.raw = raw;
    env
}

fn flatten(prefix: &str, v: &Json, out: &mut Map<String, Json>) {
    match v {
        Json::Object(map) if !prefix.ends_with("custom_parameters") => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn resolve_inputs(
    plugins: &[PluginConfig],
    file: &str,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
) -> Vec<Vec<usize>> {
    let mut outputs: HashMap<&str, usize> = HashMap::new();
    for (i, p) in plugins.iter().enumerate() {
        if p.kind == PluginKind::Sink {
            continue;
        }
        if let Some(name) = &p.output
            && let Some(prev) = outputs.insert(name.as_str(), i)
        {
            errors.push(ConfigError {
                file: file.into(),
                line: Some(p.line),
                col: None,
                path: p.path(),
                message: format!(
                    "plugin_output `{name}` is already the output of {}",
                    plugins[prev].path()
                ),
            });
        }
    }
    let sources: Vec<usize> = (0..plugins.len())
        .filter(|i| plugins[*i].kind == PluginKind::Source)
        .collect();
    let mut inputs = vec![Vec::new(); plugins.len()];
    let mut last_transform: Option<usize> = None;
    for (i, p) in plugins.iter().enumerate() {
        match p.kind {
            PluginKind::Source => {
                if !p.input.is_empty() {
                    warnings.push(format!(
                        "{file}:{}: {}: a source reads no input; plugin_input is ignored",
                        p.line,
                        p.path()
                    ));
                }
            }
            PluginKind::Transform | PluginKind::Sink => {
                if p.input.is_empty() {
                    inputs[i] = match (p.kind, last_transform) {
                        (PluginKind::Transform, Some(t)) | (PluginKind::Sink, Some(t)) => vec![t],
                        _ => sources.clone(),
                    };
                } else {
                    for name in &p.input {
                        match outputs.get(name.as_str()) {
                            Some(j) if *j == i => errors.push(ConfigError {
                                file: file.into(),
                                line: Some(p.line),
                                col: None,
                                path: format!("{}.plugin_input", p.path()),
                                message: format!("`{name}` is this plugin's own output"),
                            }),
                            Some(j) => inputs[i].push(*j),
                            None => {
                                let mut known: Vec<&str> = outputs.keys().copied().collect();
                                known.sort_unstable();
                                errors.push(ConfigError {
                                    file: file.into(),
                                    line: Some(p.line),
                                    col: None,
                                    path: format!("{}.plugin_input", p.path()),
                                    message: format!(
                                        "`{name}` is not the plugin_output of any source or transform (declared outputs: {})",
                                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                                    ),
                                });
                            }
                        }
                    }
                }
                if p.kind == PluginKind::Transform {
                    last_transform = Some(i);
                }
            }
        }
    }
    // Cycles can only run through transforms.
    let mut state = vec![0u8; plugins.len()];
    fn visit(
        i: usize,
        inputs: &[Vec<usize>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        match state[i] {
            2 => return None,
            1 => {
                let from = stack.iter().position(|s| *s == i).unwrap_or(0);
                return Some(stack[from..].to_vec());
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        for &j in &inputs[i] {
            if let Some(cycle) = visit(j, inputs, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state[i] = 2;
        None
    }
    for i in 0..plugins.len() {
        if let Some(cycle) = visit(i, &inputs, &mut state, &mut Vec::new()) {
            let names: Vec<String> = cycle.iter().map(|c| plugins[*c].path()).collect();
            errors.push(ConfigError {
                file: file.into(),
                line: Some(plugins[cycle[0]].line),
                col: None,
                path: plugins[cycle[0]].path(),
                message: format!(
                    "plugin_input forms a cycle: {} -> {}",
                    names.join(" -> "),
                    names[0]
                ),
            });
            break;
        }
    }
    inputs
}

impl JobConfig {
    /// The line where an option path is written inside a plugin's block.
    pub fn line_of(&self, plugin: usize, path: &[String]) -> usize {
        let p = &self.plugins[plugin];
        if p.body.len() >= self.text.len() {
            return p.line;
        }
        scan::locate(&self.text, p.body.clone(), path)
    }

    /// Groups plugins into pipelines: the connected parts of the DAG, each in plugin order.
    pub fn pipelines(&self) -> Vec<Vec<usize>> {
        let n = self.plugins.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], i: usize) -> usize {
            let mut r = i;
            while p[r] != r {
                r = p[r];
            }
            p[i] = r;
            r
        }
        for (i, ins) in self.inputs.iter().enumerate() {
            for &j in ins {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a] = b;
            }
        }
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for i in 0..n {
            let r = find(&mut parent, i);
            match groups.iter_mut().find(|(root, _)| *root == r) {
                Some((_, g)) => g.push(i),
                None => groups.push((r, vec![i])),
            }
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }
}

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
            .map(|o| (edit_distance(&o.name, &u), &o.name))
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

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn hocon_error(file: &str, e: &hocon::HoconError, line_offset: usize) -> ConfigError {
    match e {
        hocon::HoconError::Parse(p) => ConfigError {
            file: file.into(),
            line: Some(p.line + line_offset),
            col: Some(p.col),
            path: String::new(),
            message: format!("HOCON syntax error: {}", p.message),
        },
        other => ConfigError {
            file: file.into(),
            line: None,
            col: None,
            path: String::new(),
            message: format!("invalid HOCON: {other}"),
        },
    }
}

/// Converts a parsed HOCON document to JSON; numbers keep their written digits.
fn config_to_json(c: &hocon::Config) -> Json {
    let mut map = Map::new();
    for k in c.keys() {
        if let Some(v) = c.get(&quote_key(k)) {
            map.insert(k.to_string(), hocon_to_json(v));
        }
    }
    Json::Object(map)
}

fn quote_key(k: &str) -> String {
    if k.contains('.') || k.contains(' ') {
        format!("\"{k}\"")
    } else {
        k.to_string()
    }
}

fn hocon_to_json(v: &hocon::HoconValue) -> Json {
    use hocon::HoconValue as H;
    match v {
        H::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), hocon_to_json(v)))
                .collect(),
        ),
        H::Array(items) => Json::Array(items.iter().map(hocon_to_json).collect()),
        H::Scalar(s) => match s.value_type {
            hocon::ScalarType::Null => Json::Null,
            hocon::ScalarType::Boolean => {
                Json::Bool(s.raw.eq_ignore_ascii_case("true") || s.raw == "yes" || s.raw == "on")
            }
            hocon::ScalarType::Number => s
                .raw
                .parse::<serde_json::Number>()
                .map_or_else(|_| Json::String(s.raw.clone()), Json::Number),
            _ => Json::String(s.raw.clone()),
        },
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests;
