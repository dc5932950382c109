//! Planning: a job config becomes a [`JobPlan`]. Every plugin is resolved and pinned by the
//! sha256 of its component, its options are checked against the plugin's description, and
//! sources and transforms are opened once to learn their schemas. Every problem found is
//! reported, each with its file, line and option.

use std::sync::Arc;
use std::time::Duration;

use st_core::{PluginKind, SandboxConfig};
use st_job::{ConfigError, ConfigErrors, JobConfig, JobMode};
use st_plan::{JobId, JobPlan, PipelinePlan, PluginId, Vertex};
use st_runtime::{
    CancelToken, LoadedFrom, Plugin, PluginError, PluginRef, RuntimeError, SandboxSpec, TaskContext,
};

use crate::{Engine, JobError, sandbox};

/// A planned job and what planning loaded: the components stay loaded while this lives, so
/// opening the plan in this process finds them by hash.
pub struct Planned {
    pub plan: JobPlan,
    /// How each plugin was loaded: (plugin path, from, time).
    pub loads: Vec<(String, LoadedFrom, Duration)>,
    pub(crate) plugins: Vec<Arc<Plugin>>,
}

fn config_error(job: &JobConfig, plugin: usize, path: &[String], message: String) -> ConfigError {
    let p = &job.plugins[plugin];
    ConfigError {
        file: job.file.clone(),
        line: Some(if path.is_empty() {
            p.line
        } else {
            job.line_of(plugin, path)
        }),
        col: None,
        path: if path.is_empty() {
            p.path()
        } else {
            format!("{}.{}", p.path(), path.join("."))
        },
        message,
    }
}

/// Turns a plugin's error during planning into a config error when it names an option.
fn plan_error(job: &JobConfig, plugin: usize, e: RuntimeError) -> ConfigError {
    match e.plugin_error() {
        Some(PluginError::InvalidOption { option, message }) => {
            let path: Vec<String> = option.split('.').map(str::to_string).collect();
            config_error(job, plugin, &path, message.clone())
        }
        _ => config_error(job, plugin, &[], e.to_string()),
    }
}

/// Orders plugins so every plugin comes after its inputs (the DAG is acyclic by now).
fn topo_order(inputs: &[Vec<usize>]) -> Vec<usize> {
    fn visit(i: usize, inputs: &[Vec<usize>], seen: &mut [bool], out: &mut Vec<usize>) {
        if seen[i] {
            return;
        }
        seen[i] = true;
        for &j in &inputs[i] {
            visit(j, inputs, seen, out);
        }
        out.push(i);
    }
    let mut seen = vec![false; inputs.len()];
    let mut out = Vec::new();
    for i in 0..inputs.len() {
        visit(i, inputs, &mut seen, &mut out);
    }
    out
}

/// A plugin's sandbox as declared: its own block, its limits falling back to `env.sandbox`.
fn declared(env: &SandboxConfig, plugin: &SandboxConfig) -> SandboxConfig {
    SandboxConfig {
        max_memory_mb: plugin.max_memory_mb.or(env.max_memory_mb),
        call_timeout_ms: plugin.call_timeout_ms.or(env.call_timeout_ms),
        ..plugin.clone()
    }
}

/// Whether the job's explicit `sandbox` block covers `value` of an option the plugin declares:
/// a path under one of its `dirs` (writable when the plugin writes there), a host in its
/// `network`. The path is the one the plugin sees (a dir's `guest`, else its `path`).
fn covered(sandbox: &SandboxConfig, value: &str, access: st_core::Access) -> Result<(), String> {
    if access == st_core::Access::Connect {
        if crate::sandbox::host_listed(&sandbox.network, value) {
            return Ok(());
        }
        return Err(format!(
            "`{value}` is not granted by the job's sandbox.network ({}); add it there, or drop the network list to grant exactly what the options name",
            sandbox.network.join(", ")
        ));
    }
    let path = st_core::lexical_path(value);
    let under: Vec<&st_core::DirConfig> = sandbox
        .dirs
        .iter()
        .filter(|d| path.starts_with(st_core::lexical_path(d.guest.as_deref().unwrap_or(&d.path))))
        .collect();
    let dirs = || {
        let v: Vec<&str> = sandbox
            .dirs
            .iter()
            .map(|d| d.guest.as_deref().unwrap_or(&d.path))
            .collect();
        v.join(", ")
    };
    match access {
        _ if under.is_empty() => Err(format!(
            "`{value}` is not in a directory the job's sandbox.dirs grant ({}); add it there, or drop the dirs list to grant exactly what the options name",
            dirs()
        )),
        st_core::Access::ReadWrite if !under.iter().any(|d| d.writable) => Err(format!(
            "`{value}` is written by the plugin but the job's sandbox.dirs grant it read-only; add `writable = true` to its entry"
        )),
        _ => Ok(()),
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Every plugin of a job loaded and its options checked.
struct Resolved {
    /// (plugin, normalized options as JSON text) per plugin; `None` where it failed.
    loaded: Vec<Option<(Arc<Plugin>, String)>>,
    errors: Vec<ConfigError>,
    /// Options the plugins do not declare, when those are warnings.
    warnings: Vec<ConfigError>,
    loads: Vec<(String, LoadedFrom, Duration)>,
    /// (declared, resolved here) per plugin.
    sandboxes: Vec<(SandboxConfig, Arc<SandboxSpec>)>,
}

impl Engine {
    /// The problems of each plugin's options (and of its sandbox and kind), for a job whose
    /// wiring is wrong: it cannot be planned, but its options can be checked in the same run.
    pub async fn option_problems(&self, job: &JobConfig) -> Vec<ConfigError> {
        self.resolve(job).await.errors
    }

    /// Adds to `sandbox` what the plugin's declared grants name in `options` (each path or
    /// address within the node's policy); returns (option, problem) for each one refused. A
    /// block that grants directories (or addresses) itself keeps exactly those: what the job
    /// wrote is not widened.
    fn grant_options(
        &self,
        plugin: &Plugin,
        options: &serde_json::Map<String, serde_json::Value>,
        sandbox: &mut SandboxConfig,
    ) -> Vec<(String, String)> {
        let node = self.runtime.config();
        let mut problems = Vec::new();
        let (explicit_dirs, explicit_net) = (!sandbox.dirs.is_empty(), !sandbox.network.is_empty());
        for g in &plugin.info.grants {
            let connect = g.access == st_core::Access::Connect;
            let values: Vec<String> = match options.get(&g.option) {
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let values = values.into_iter().filter(|v| !v.trim().is_empty());
            // A job's own sandbox block replaces the declared grants: what the option names
            // must then lie within it, or the plugin would fail on it once running.
            if (connect && explicit_net) || (!connect && explicit_dirs) {
                for v in values {
                    if let Err(m) = covered(sandbox, &v, g.access) {
                        problems.push((g.option.clone(), m));
                    }
                }
                continue;
            }
            for v in values {
                if connect {
                    match sandbox::host_allowed(node, &v) {
                        Ok(()) if !sandbox.network.contains(&v) => sandbox.network.push(v),
                        Ok(()) => {}
                        Err(m) => problems.push((g.option.clone(), m)),
                    }
                    continue;
                }
                let path = std::path::Path::new(&v);
                if !path.is_absolute() {
                    problems.push((
                        g.option.clone(),
                        format!(
                            "`{v}` must be an absolute path (the plugin is granted exactly it)"
                        ),
                    ));
                    continue;
                }
                if let Err(m) = sandbox::dir_allowed(node, path) {
                    problems.push((g.option.clone(), m));
                    continue;
                }
                let writable = g.access == st_core::Access::ReadWrite;
                // A file is reached through its directory (read-only); a directory to write
                // is created where the task runs.
                let (dir, create) = if writable {
                    (path.to_path_buf(), true)
                } else if path.is_file() {
                    match path.parent() {
                        Some(parent) => (parent.to_path_buf(), false),
                        None => continue,
                    }
                } else if path.is_dir() {
                    (path.to_path_buf(), false)
                } else {
                    // Missing: the plugin says so when it looks for it.
                    continue;
                };
                let dir = dir.display().to_string();
                match sandbox.dirs.iter_mut().find(|d| d.path == dir) {
                    Some(d) => d.writable |= writable,
                    None => sandbox.dirs.push(st_core::DirConfig {
                        path: dir,
                        guest: None,
                        writable,
                        create,
                    }),
                }
            }
        }
        problems
    }

    /// Loads every plugin of `job`, checks its kind, options and sandbox.
    async fn resolve(&self, job: &JobConfig) -> Resolved {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut loaded = Vec::new();
        let mut loads = Vec::new();
        let mut sandboxes = Vec::new();
        for (i, p) in job.plugins.iter().enumerate() {
            let mut declared = declared(&job.env.sandbox, &p.sandbox);
            let r = PluginRef {
                name: &p.name,
                artifact: p.artifact.as_deref(),
                sha256: p.sha256.as_deref(),
                kind: Some(p.kind),
            };
            let res = self.runtime.load_ref(r).await.map(|l| {
                loads.push((p.path(), l.from, l.elapsed));
                l.plugin
            });
            match res {
                Ok(plugin) if plugin.info.kind != p.kind => {
                    errors.push(config_error(
                        job,
                        i,
                        &[],
                        format!(
                            "{} is a {} plugin and cannot be used under `{}`",
                            plugin.info.name, plugin.info.kind, p.kind
                        ),
                    ));
                    loaded.push(None);
                }
                Ok(plugin) => {
                    match st_job::check_options(job, i, &plugin.info, self.unknown_options) {
                        Ok(checked) => {
                            warnings.extend(checked.warnings);
                            for (option, message) in
                                self.grant_options(&plugin, &checked.options, &mut declared)
                            {
                                let path: Vec<String> =
                                    option.split('.').map(str::to_string).collect();
                                errors.push(config_error(job, i, &path, message));
                            }
                            let options = serde_json::Value::Object(checked.options).to_string();
                            loaded.push(Some((plugin, options)));
                        }
                        Err(errs) => {
                            errors.extend(errs);
                            loaded.push(None);
                        }
                    }
                }
                Err(e) => {
                    errors.push(config_error(job, i, &[], e.to_string()));
                    loaded.push(None);
                }
            }
            match sandbox::spec(self.runtime.config(), &declared, false) {
                Ok(spec) => sandboxes.push((declared, Arc::new(spec))),
                Err((sub, message)) => {
                    let path: Vec<String> =
                        std::iter::once("sandbox".to_string()).chain(sub).collect();
                    errors.push(config_error(job, i, &path, message));
                    sandboxes.push((declared, Arc::new(SandboxSpec::default())));
                }
            }
        }
        Resolved {
            loaded,
            errors,
            warnings,
            loads,
            sandboxes,
        }
    }

    /// Plans `job` under `job_id`. Grants are checked here as they will be where the tasks run
    /// (this node, in local mode), so a wrong one is reported with its line before anything runs.
    pub async fn plan(&self, job: &JobConfig, job_id: JobId) -> Result<Planned, JobError> {
        let Resolved {
            loaded,
            mut errors,
            warnings: option_warnings,
            loads,
            sandboxes,
        } = self.resolve(job).await;
        if !errors.is_empty() {
            return Err(JobError::Invalid(ConfigErrors(errors)));
        }
        let bounded = job.env.job_mode == JobMode::Batch;
        let mut plugins = Vec::new();
        let mut specs = Vec::new();
        let mut vertices: Vec<Vertex> = Vec::new();
        for ((l, p), (declared, spec)) in loaded.into_iter().zip(&job.plugins).zip(sandboxes) {
            let (plugin, options) = l.expect("every plugin loaded when there are no errors");
            vertices.push(Vertex {
                path: p.path(),
                kind: plugin.info.kind,
                plugin: PluginId {
                    name: p.name.clone(),
                    sha256: plugin.sha256.clone(),
                    artifact: p.artifact.clone(),
                },
                options,
                in_tables: Vec::new(),
                out_tables: Vec::new(),
                downstream: Vec::new(),
                parallelism: p.parallelism,
                sandbox: declared,
            });
            plugins.push(plugin);
            specs.push(spec);
        }
        let cancel = CancelToken::default();
        for i in topo_order(&job.inputs) {
            let mut in_tables = Vec::new();
            for &j in &job.inputs[i] {
                let offset = index(in_tables.len());
                vertices[j].downstream.push((index(i), offset));
                in_tables.extend(vertices[j].out_tables.iter().cloned());
            }
            let ctx = TaskContext {
                job_id: job_id.to_string(),
                job_name: job.env.job_name.clone(),
                plugin_path: vertices[i].path.clone(),
                subtask: 0,
                parallelism: vertices[i].parallelism.unwrap_or(job.env.parallelism),
                bounded,
                sandbox: specs[i].clone(),
                cancel: cancel.clone(),
            };
            let (v, plugin) = (&vertices[i], &plugins[i]);
            match v.kind {
                PluginKind::Source => {
                    match self.runtime.open_source(plugin, &v.options, &ctx).await {
                        Ok(info) => {
                            if bounded && !info.bounded {
                                errors.push(config_error(job, i, &[], "is unbounded and cannot run in a BATCH job; set env.job.mode = STREAMING".into()));
                            }
                            vertices[i].out_tables = info.tables;
                        }
                        Err(e) => errors.push(plan_error(job, i, e)),
                    }
                }
                PluginKind::Transform => match self
                    .runtime
                    .transform(plugin, &v.options, &ctx, &in_tables)
                    .await
                {
                    Ok(t) => vertices[i].out_tables = t.outputs,
                    Err(e) => errors.push(plan_error(job, i, e)),
                },
                PluginKind::Sink => {}
            }
            vertices[i].in_tables = in_tables;
        }
        if !errors.is_empty() {
            return Err(JobError::Invalid(ConfigErrors(errors)));
        }
        let mut warnings = job.warnings.clone();
        warnings.extend(option_warnings.iter().map(ToString::to_string));
        let mut pipelines = Vec::new();
        for group in job.pipelines() {
            let of_kind = |kind| -> Vec<u32> {
                group
                    .iter()
                    .copied()
                    .filter(|i| vertices[*i].kind == kind)
                    .map(index)
                    .collect()
            };
            let (sources, sinks) = (of_kind(PluginKind::Source), of_kind(PluginKind::Sink));
            if sinks.is_empty() {
                warnings.push(format!(
                    "{} reach no sink and will not run",
                    group
                        .iter()
                        .map(|i| vertices[*i].path.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            }
            let parallelism = sources
                .iter()
                .filter_map(|s| vertices[*s as usize].parallelism)
                .max()
                .unwrap_or(job.env.parallelism)
                .max(1);
            pipelines.push(PipelinePlan {
                id: index(pipelines.len()),
                sources,
                sinks,
                parallelism,
            });
        }
        let checkpoints = &self.checkpoints;
        let plan = JobPlan {
            job_id,
            job_name: job.env.job_name.clone(),
            bounded,
            vertices,
            pipelines,
            rows_per_second: job.env.rows_per_second,
            bytes_per_second: job.env.bytes_per_second,
            checkpoint_interval_ms: job
                .env
                .checkpoint_interval_ms
                .or((!bounded).then_some(checkpoints.interval_ms)),
            checkpoint_timeout_ms: job
                .env
                .checkpoint_timeout_ms
                .unwrap_or(checkpoints.timeout_ms),
            retry_times: job.env.retry_times.unwrap_or(3),
            retry_interval_ms: job.env.retry_interval_seconds.unwrap_or(3) * 1000,
            tag_filter: job.env.tag_filter.clone(),
            env: job
                .env
                .raw
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
            warnings,
        };
        Ok(Planned {
            plan,
            loads,
            plugins,
        })
    }
}
