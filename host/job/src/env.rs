//! The `env` block: SeaTunnel's run settings of a job (mode, parallelism, checkpoints, read
//! limits, retries), plus `sandbox` limits; keys meant for other engines are warnings.

use serde_json::{Map, Value as Json};

use crate::ConfigError;
use crate::sandbox::{self, SandboxConfig};

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
    /// `tag_filter`: on a cluster, the job's tasks run only on nodes whose tags
    /// (`member-attributes`) have every one of these values.
    pub tag_filter: std::collections::BTreeMap<String, String>,
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
    "tag_filter",
    "sandbox",
];

pub(crate) fn json_u64(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn parse_env(
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
            k if k.starts_with("tag_filter.") => {
                let value = match v {
                    Json::String(s) => s.clone(),
                    Json::Number(_) | Json::Bool(_) => v.to_string(),
                    _ => {
                        bad(k, format!("must be a text value, found {v}"));
                        continue;
                    }
                };
                env.tag_filter.insert(k["tag_filter.".len()..].to_string(), value);
            }
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

pub(crate) fn flatten(prefix: &str, v: &Json, out: &mut Map<String, Json>) {
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
