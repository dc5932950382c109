//! The REST API's view of this node's cluster: reads from the job-state map as applied here,
//! writes and live metrics through the node's own service (which forwards to the master).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use st_cluster::map::JobRecord;
use st_cluster::proto::{self, cluster_server::Cluster as _};
use st_cluster::service::Service;
use st_core::PluginKind;
use st_rest::{
    ApiError, CheckpointView, ClusterApi, ClusterView, JobView, NodeView, SubmitJob, Submitted,
    ThisNode, Throughput, VertexKind, VertexView,
};
use tonic::Request;

pub struct NodeApi {
    pub service: Service,
    pub log_dir: Option<PathBuf>,
    /// This node's plugins, for `/option-rules`.
    pub runtime: Arc<st_runtime::Runtime>,
}

fn checkpoint_view(pipeline: u32, c: &st_cluster::map::CheckpointPointer) -> CheckpointView {
    CheckpointView {
        pipeline: pipeline + 1,
        id: c.id,
        kind: c.kind.clone(),
        at_ms: c.at_ms,
        duration_ms: c.duration_ms,
        size_bytes: c.size_bytes,
        tasks: c.tasks,
    }
}

fn status_error(s: tonic::Status) -> ApiError {
    match s.code() {
        tonic::Code::InvalidArgument => ApiError::BadRequest(s.message().to_string()),
        _ => ApiError::Internal(s.message().to_string()),
    }
}

/// A record as the REST API shows it: vertices numbered from 1 in plan order, each in the
/// pipeline that reaches it from its sources.
pub fn job_view(r: &JobRecord) -> JobView {
    let plan = &r.plan;
    let mut pipeline_of = vec![0u32; plan.vertices.len()];
    for p in &plan.pipelines {
        let mut todo: Vec<u32> = p.sources.clone();
        let mut seen = BTreeSet::new();
        while let Some(v) = todo.pop() {
            if !seen.insert(v) {
                continue;
            }
            if let Some(slot) = pipeline_of.get_mut(v as usize) {
                *slot = p.id + 1;
            }
            if let Some(vertex) = plan.vertices.get(v as usize) {
                todo.extend(vertex.downstream.iter().map(|(d, _)| *d));
            }
        }
    }
    let mut per_kind = BTreeMap::new();
    let vertices: Vec<VertexView> = plan
        .vertices
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let kind = match v.kind {
                PluginKind::Source => VertexKind::Source,
                PluginKind::Transform => VertexKind::Transform,
                PluginKind::Sink => VertexKind::Sink,
            };
            let n = per_kind.entry(kind.as_str()).or_insert(0u32);
            let index = *n;
            *n += 1;
            let tables = if kind == VertexKind::Sink {
                &v.in_tables
            } else {
                &v.out_tables
            };
            VertexView {
                id: i as u32 + 1,
                pipeline: pipeline_of[i].max(1),
                kind,
                index,
                plugin: v.plugin.name.clone(),
                tables: tables.iter().map(|t| t.table_path.clone()).collect(),
            }
        })
        .collect();
    let edges = plan
        .vertices
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            let pipeline = pipeline_of[i].max(1);
            v.downstream
                .iter()
                .map(move |(d, _)| (pipeline, i as u32 + 1, d + 1))
        })
        .collect();
    JobView {
        id: plan.job_id.get(),
        name: plan.job_name.clone(),
        status: r.status.as_str().to_string(),
        ended: r.status.is_end(),
        env: plan.env.clone(),
        created_ms: r.submitted_ms,
        finished_ms: r.finished_ms,
        error: r.error.clone(),
        start_with_savepoint: r.resumed,
        vertices,
        edges,
        plugins: plan
            .vertices
            .iter()
            .filter_map(|v| v.plugin.artifact.clone())
            .collect(),
        events: r.events.clone(),
        checkpoints: r
            .checkpoints
            .iter()
            .map(|(p, c)| checkpoint_view(*p, c))
            .collect(),
        checkpoint_history: r
            .checkpoint_history
            .iter()
            .map(|(p, c)| checkpoint_view(*p, c))
            .collect(),
    }
}

impl ClusterApi for NodeApi {
    async fn cluster(&self) -> Result<ClusterView, ApiError> {
        let r = self
            .service
            .nodes(Request::new(proto::NodesRequest {}))
            .await
            .map_err(status_error)?
            .into_inner();
        let raft = {
            let m = self.service.raft.metrics();
            let m = m.borrow();
            st_rest::RaftView {
                leader: m.current_leader,
                last_log_index: m.last_log_index,
                applied_index: m.last_applied.map(|l| l.index),
            }
        };
        Ok(ClusterView {
            raft,
            cluster_name: r.cluster_name,
            term: r.term,
            nodes: r
                .nodes
                .into_iter()
                .map(|n| NodeView {
                    id: n.id,
                    address: n.address,
                    role: n.role,
                    alive: n.alive,
                    master: n.master,
                    slots_used: n.slots_used,
                    slots_total: u32::try_from(n.slots_total).ok(),
                    tags: n.tags.into_iter().collect(),
                })
                .collect(),
        })
    }

    async fn jobs(&self) -> Result<Vec<JobView>, ApiError> {
        Ok(self
            .service
            .sm
            .read(|m| m.jobs.values().map(job_view).collect()))
    }

    async fn job(&self, id: u64) -> Result<Option<JobView>, ApiError> {
        let id = st_plan::JobId::from(id);
        Ok(self.service.sm.read(|m| m.jobs.get(&id).map(job_view)))
    }

    async fn throughput(&self, id: u64) -> Result<Option<Throughput>, ApiError> {
        let r = self
            .service
            .metrics(Request::new(proto::JobRequest { job_id: id }))
            .await
            .map_err(status_error)?
            .into_inner();
        if !r.found {
            return Ok(None);
        }
        let report: st_engine::JobReport = serde_json::from_slice(&r.report)
            .map_err(|e| ApiError::Internal(format!("job {id}'s report: {e}")))?;
        Ok(Some(Throughput {
            elapsed_ms: u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
            rows_read: report.rows_read,
            rows_written: report.rows_written,
            bytes_read: report.bytes_read,
            bytes_written: report.bytes_written,
            peak_memory: report.peak_memory,
            recycled: report.recycled,
        }))
    }

    async fn submit(&self, job: SubmitJob) -> Result<Submitted, ApiError> {
        let r = self
            .service
            .submit(Request::new(proto::SubmitRequest {
                cluster_name: self.service.identity.cluster_name.clone(),
                file: job.source,
                config: job.config,
                job_id: job.job_id.unwrap_or(0),
                job_name: job.job_name.unwrap_or_default(),
                resume: job.start_with_savepoint,
                plugins: Default::default(),
            }))
            .await
            .map_err(status_error)?
            .into_inner();
        if !r.error.is_empty() {
            return Err(if r.config_error {
                ApiError::BadRequest(r.error)
            } else {
                ApiError::Internal(r.error)
            });
        }
        Ok(Submitted {
            job_id: r.job_id,
            job_name: r.job_name,
        })
    }

    async fn stop(&self, id: u64, savepoint: bool) -> Result<(), ApiError> {
        let r = self
            .service
            .stop(Request::new(proto::StopRequest {
                cluster_name: self.service.identity.cluster_name.clone(),
                job_ids: vec![id],
                savepoint,
            }))
            .await
            .map_err(status_error)?
            .into_inner();
        match r.errors.into_iter().next() {
            Some(e) => Err(ApiError::BadRequest(e)),
            None => Ok(()),
        }
    }

    async fn set_tags(&self, tags: BTreeMap<String, String>) -> Result<(), ApiError> {
        self.service
            .set_tags(tags)
            .await
            .map_err(ApiError::Internal)
    }

    async fn restore(&self, id: u64) -> Result<Submitted, ApiError> {
        let job_id = st_plan::JobId::from(id);
        let record = self.service.sm.read(|m| {
            m.jobs.get(&job_id).map(|r| {
                (
                    r.file.clone(),
                    r.config.clone(),
                    r.plugins.clone(),
                    r.plan.job_name.clone(),
                )
            })
        });
        let Some((file, config, plugins, name)) = record else {
            return Err(ApiError::BadRequest(format!(
                "job {id} is not known to this cluster"
            )));
        };
        if config.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "job {id} was recorded without its config; resume it with `st resume {id} FILE`"
            )));
        }
        let r = self
            .service
            .submit(Request::new(proto::SubmitRequest {
                cluster_name: self.service.identity.cluster_name.clone(),
                file,
                config,
                job_id: id,
                job_name: name,
                resume: true,
                plugins: plugins.into_iter().collect(),
            }))
            .await
            .map_err(status_error)?
            .into_inner();
        if !r.error.is_empty() {
            return Err(ApiError::Internal(r.error));
        }
        Ok(Submitted {
            job_id: r.job_id,
            job_name: r.job_name,
        })
    }

    async fn option_rules(&self, plugin: &str) -> Result<Vec<st_rest::PluginRules>, ApiError> {
        // Each kind a built-in of that name has; otherwise whatever kind the name resolves to.
        let mut kinds: Vec<Option<PluginKind>> = st_builtin::BUILTINS
            .iter()
            .filter(|b| b.name.eq_ignore_ascii_case(plugin))
            .map(|b| Some(b.kind))
            .collect();
        if kinds.is_empty() {
            kinds.push(None);
        }
        let mut out = Vec::new();
        for kind in kinds {
            let loaded = self
                .runtime
                .load_ref(st_runtime::PluginRef {
                    name: plugin,
                    kind,
                    ..Default::default()
                })
                .await
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let p = &loaded.plugin;
            out.push(st_rest::PluginRules {
                name: p.info.name.clone(),
                kind: p.info.kind.to_string(),
                version: p.info.version.clone(),
                sha256: p.sha256.clone(),
                options: p
                    .info
                    .options
                    .iter()
                    .map(|o| st_rest::OptionRule {
                        name: o.name.clone(),
                        option_type: o.option_type.as_str().to_string(),
                        required: o.required,
                        default_value: o.default_value.clone(),
                        doc: o.doc.clone(),
                    })
                    .collect(),
                grants: p
                    .info
                    .grants
                    .iter()
                    .map(|g| (g.option.clone(), g.access.to_string()))
                    .collect(),
            });
        }
        Ok(out)
    }

    fn this_node(&self) -> ThisNode {
        ThisNode {
            address: self.service.identity.address.clone(),
            log_dir: self.log_dir.clone(),
        }
    }
}

/// `seatunnel.engine.http` over SeaTunnel's defaults.
pub fn settings(
    http: &st_conf::HttpSection,
    secret: Option<String>,
) -> Result<st_rest::Settings, String> {
    let d = st_rest::Settings::default();
    let basic_auth = match (
        http.enable_basic_auth.unwrap_or(false),
        &http.basic_auth_username,
        &http.basic_auth_password,
    ) {
        (false, _, _) => None,
        (true, Some(u), Some(p)) => Some((u.clone(), p.clone())),
        (true, _, _) => {
            return Err(
                "http.enable-basic-auth needs http.basic-auth-username and http.basic-auth-password"
                    .into(),
            );
        }
    };
    if http.enable_https.unwrap_or(false) {
        return Err("http.enable-https: HTTPS is not supported yet; put the REST API behind a TLS proxy, or set enable-https: false".into());
    }
    let context_path = http.context_path.clone().unwrap_or_default();
    if !context_path.is_empty() && !context_path.starts_with('/') {
        return Err(format!(
            "http.context-path `{context_path}` must start with `/`"
        ));
    }
    Ok(st_rest::Settings {
        enabled: http.enable_http.unwrap_or(d.enabled),
        port: http.port.unwrap_or(d.port),
        context_path,
        dynamic_port: http.enable_dynamic_port.unwrap_or(d.dynamic_port),
        port_range: http.port_range.unwrap_or(d.port_range),
        secret,
        basic_auth,
        allow_anonymous_submit: http.allow_anonymous_submit.unwrap_or(false),
        ..d
    })
}

pub fn api(
    service: Service,
    log_dir: Option<PathBuf>,
    runtime: Arc<st_runtime::Runtime>,
) -> Arc<NodeApi> {
    Arc::new(NodeApi {
        service,
        log_dir,
        runtime,
    })
}
