//! The endpoints: SeaTunnel's REST API V2 paths, methods, bodies and errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::{ApiError, ClusterApi, JobView, SubmitJob};
use crate::shapes;

type Answer = Result<Json<Value>, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        fail(status, self.message())
    }
}

/// SeaTunnel's error body: `{"status":"fail","message":...}`.
pub(crate) fn fail(status: StatusCode, message: &str) -> Response {
    let body = json!({"status": "fail", "message": message}).to_string();
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// A job id as SeaTunnel parses it (`Long.valueOf`), with its messages.
fn job_id(text: &str) -> Result<u64, ApiError> {
    if text.is_empty() {
        return Err(bad("The jobId must not be empty."));
    }
    text.parse::<u64>()
        .map_err(|_| bad(format!("For input string: \"{text}\"")))
}

fn body_text(body: &Bytes) -> Result<&str, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| bad("The request body is not UTF-8."))?;
    if text.trim().is_empty() {
        return Err(bad("Request body is empty."));
    }
    Ok(text)
}

fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_str(body_text(body)?).map_err(|_| bad("Invalid JSON format in request body."))
}

pub(crate) async fn overview<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Query(tags): Query<Vec<(String, String)>>,
) -> Answer {
    let cluster = api.cluster().await?;
    let jobs = api.jobs().await?;
    Ok(Json(shapes::overview(&cluster, &jobs, &tags)))
}

async fn with_metrics<A: ClusterApi>(
    api: &A,
    job: &JobView,
    shape: Shape,
) -> Result<Value, ApiError> {
    let t = api.throughput(job.id).await?;
    Ok(shape(job, t.as_ref()))
}

type Shape = fn(&JobView, Option<&crate::api::Throughput>) -> Value;

/// Each job in `shape`, with its metrics fetched concurrently (from the master, for a node
/// that is not), in the order given.
async fn render_all<A: ClusterApi>(
    api: &Arc<A>,
    jobs: Vec<JobView>,
    shape: Shape,
) -> Result<Vec<Value>, ApiError> {
    Ok(with_throughput(api, jobs)
        .await?
        .iter()
        .map(|(job, t)| shape(job, t.as_ref()))
        .collect())
}

/// Each job with its metrics, fetched concurrently, in the order given.
pub(crate) async fn with_throughput<A: ClusterApi>(
    api: &Arc<A>,
    jobs: Vec<JobView>,
) -> Result<Vec<(JobView, Option<crate::api::Throughput>)>, ApiError> {
    let mut set = tokio::task::JoinSet::new();
    for (i, job) in jobs.into_iter().enumerate() {
        let api = api.clone();
        set.spawn(async move {
            let t = api.throughput(job.id).await;
            (i, job, t)
        });
    }
    let mut out = Vec::with_capacity(set.len());
    while let Some(done) = set.join_next().await {
        let (i, job, t) =
            done.map_err(|e| ApiError::Internal(format!("a metrics fetch stopped: {e}")))?;
        out.push((i, job, t?));
    }
    out.sort_by_key(|(i, _, _)| *i);
    Ok(out.into_iter().map(|(_, j, t)| (j, t)).collect())
}

/// Newest first.
async fn unended<A: ClusterApi>(api: &Arc<A>, only: Option<&str>) -> Answer {
    let mut jobs: Vec<_> = api
        .jobs()
        .await?
        .into_iter()
        .filter(|j| !j.ended && only.is_none_or(|s| j.status == s))
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse((j.created_ms, j.id)));
    Ok(Json(Value::Array(
        render_all(api, jobs, shapes::running_job).await?,
    )))
}

pub(crate) async fn running_jobs<A: ClusterApi>(State(api): State<Arc<A>>) -> Answer {
    unended(&api, None).await
}

pub(crate) async fn pending_jobs<A: ClusterApi>(State(api): State<Arc<A>>) -> Answer {
    unended(&api, Some("PENDING")).await
}

pub(crate) async fn job_info<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(id): Path<String>,
) -> Answer {
    let id_num = job_id(&id)?;
    match api.job(id_num).await? {
        Some(job) if job.ended => Ok(Json(
            with_metrics(api.as_ref(), &job, shapes::finished_job).await?,
        )),
        Some(job) => Ok(Json(
            with_metrics(api.as_ref(), &job, shapes::running_job).await?,
        )),
        // SeaTunnel answers an unknown id with the id alone, as typed.
        None => Ok(Json(json!({ "jobId": id }))),
    }
}

pub(crate) async fn job_info_without_id() -> Answer {
    Err(bad("The jobId must not be empty."))
}

/// Ended jobs, ascending by finish time; `state` filters by state name (any case).
async fn finished<A: ClusterApi>(api: &Arc<A>, state: Option<&str>) -> Answer {
    let want = state.map(str::to_uppercase);
    let mut jobs: Vec<_> = api
        .jobs()
        .await?
        .into_iter()
        .filter(|j| j.ended && want.as_deref().is_none_or(|s| j.status == s))
        .collect();
    jobs.sort_by_key(|j| (j.finished_ms.unwrap_or(0), j.id));
    Ok(Json(Value::Array(
        render_all(api, jobs, shapes::finished_job).await?,
    )))
}

pub(crate) async fn finished_jobs<A: ClusterApi>(State(api): State<Arc<A>>) -> Answer {
    finished(&api, None).await
}

pub(crate) async fn finished_jobs_in<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(state): Path<String>,
) -> Answer {
    finished(&api, Some(&state)).await
}

/// How a submit names its job: the query parameters of `/submit-job`, or a `/submit-jobs`
/// element's `params`.
#[derive(Debug, Default)]
struct SubmitParams {
    job_id: Option<String>,
    job_name: Option<String>,
    start_with_savepoint: bool,
}

impl SubmitParams {
    fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> SubmitParams {
        let mut p = SubmitParams::default();
        for (k, v) in pairs {
            match k {
                "jobId" => p.job_id = Some(v.to_string()).filter(|v| !v.is_empty()),
                "jobName" => p.job_name = Some(v.to_string()).filter(|v| !v.is_empty()),
                "isStartWithSavePoint" => p.start_with_savepoint = v.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        p
    }
}

/// Which parser reads a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Hocon,
}

fn format_of(q: &BTreeMap<String, String>) -> Result<Format, ApiError> {
    match q.get("format").map(|f| f.to_ascii_lowercase()).as_deref() {
        None | Some("json") => Ok(Format::Json),
        Some("hocon") => Ok(Format::Hocon),
        Some("sql") => Err(bad(
            "format=sql is not supported: Strait reads job configs as JSON or HOCON",
        )),
        Some(other) => Err(bad(format!(
            "format={other} is not a config format; use json or hocon"
        ))),
    }
}

async fn submit_one<A: ClusterApi>(
    api: &A,
    config: String,
    source: String,
    p: SubmitParams,
) -> Result<Value, ApiError> {
    let id = p.job_id.as_deref().map(job_id).transpose()?;
    if p.start_with_savepoint && id.is_none() {
        return Err(bad("Please provide jobId when start with save point."));
    }
    if let Some(id) = id
        && let Some(known) = api.job(id).await?
    {
        // SeaTunnel: a submit of a running id is a no-op; an ended one needs the savepoint.
        if !known.ended {
            return Ok(json!({"jobId": id.to_string(), "jobName": known.name}));
        }
        if !p.start_with_savepoint {
            return Err(ApiError::Internal(format!(
                "The job id {id} has already been submitted and is not starting with a savepoint."
            )));
        }
    }
    let done = api
        .submit(SubmitJob {
            config,
            source,
            job_id: id,
            job_name: p.job_name,
            start_with_savepoint: p.start_with_savepoint,
        })
        .await?;
    Ok(json!({"jobId": done.job_id.to_string(), "jobName": done.job_name}))
}

fn checked_config(text: &str, format: Format) -> Result<String, ApiError> {
    if format == Format::Json {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(_)) => {}
            Ok(_) => {
                return Err(bad(
                    "The request body must be a JSON object (a job config).",
                ));
            }
            Err(_) => return Err(bad("Invalid JSON format in request body.")),
        }
    }
    Ok(text.to_string())
}

pub(crate) async fn submit_job<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Query(q): Query<BTreeMap<String, String>>,
    body: Bytes,
) -> Answer {
    let format = format_of(&q)?;
    let config = checked_config(body_text(&body)?, format)?;
    let params = SubmitParams::from_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(Json(
        submit_one(api.as_ref(), config, "REST /submit-job".into(), params).await?,
    ))
}

pub(crate) async fn submit_upload<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Query(q): Query<BTreeMap<String, String>>,
    mut form: Multipart,
) -> Answer {
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("a malformed multipart body: {e}")))?
    {
        if field.name() == Some("config_file") {
            let name = field.file_name().unwrap_or("config_file").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| bad(format!("cannot read config_file: {e}")))?;
            file = Some((name, bytes));
            break;
        }
    }
    let Some((name, bytes)) = file else {
        return Err(bad("The multipart body has no config_file field."));
    };
    let format = match name.rsplit_once('.').map(|(_, s)| s.to_ascii_lowercase()) {
        Some(s) if s == "json" => Format::Json,
        Some(s) if s == "conf" || s == "config" || s == "hocon" => Format::Hocon,
        _ => {
            return Err(bad(format!(
                "{name}: a config file ends in .json, .conf or .config"
            )));
        }
    };
    let config = checked_config(body_text(&bytes)?, format)?;
    let params = SubmitParams::from_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(Json(submit_one(api.as_ref(), config, name, params).await?))
}

pub(crate) async fn submit_jobs<A: ClusterApi>(State(api): State<Arc<A>>, body: Bytes) -> Answer {
    let Value::Array(items) = body_json(&body)? else {
        return Err(bad("The request body must be a JSON array of job configs."));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(mut job) = item else {
            continue;
        };
        let params = match job.shift_remove("params") {
            Some(Value::Object(p)) => {
                let pairs: Vec<(String, String)> = p
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, v)
                    })
                    .collect();
                if pairs.iter().any(|(_, v)| v.is_empty()) {
                    return Err(bad("Invalid Params format in Params."));
                }
                SubmitParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
            Some(_) => return Err(bad("Invalid Params format in Params.")),
            None => SubmitParams::default(),
        };
        let config = Value::Object(job).to_string();
        out.push(submit_one(api.as_ref(), config, "REST /submit-jobs".into(), params).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// A stop body's id: a number or a string of digits.
fn stop_target(body: &Value) -> Result<(u64, bool), ApiError> {
    let Value::Object(o) = body else {
        return Err(bad("A stop request is a JSON object: {\"jobId\": ...}."));
    };
    let id = match o.get("jobId") {
        None | Some(Value::Null) => return Err(bad("jobId cannot be empty.")),
        Some(Value::String(s)) if s.is_empty() => return Err(bad("jobId cannot be empty.")),
        Some(Value::String(s)) => job_id(s)?,
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| bad(format!("For input string: \"{n}\"")))?,
        Some(other) => return Err(bad(format!("For input string: \"{other}\""))),
    };
    let savepoint = match o.get("isStopWithSavePoint") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(other) => {
            return Err(bad(format!(
                "isStopWithSavePoint: `{other}` is not a boolean"
            )));
        }
    };
    Ok((id, savepoint))
}

pub(crate) async fn stop_job<A: ClusterApi>(State(api): State<Arc<A>>, body: Bytes) -> Answer {
    let (id, savepoint) = stop_target(&body_json(&body)?)?;
    api.stop(id, savepoint).await?;
    Ok(Json(json!({"jobId": id.to_string()})))
}

pub(crate) async fn stop_jobs<A: ClusterApi>(State(api): State<Arc<A>>, body: Bytes) -> Answer {
    let Value::Array(items) = body_json(&body)? else {
        return Err(bad(
            "The request body must be a JSON array of stop requests.",
        ));
    };
    let targets = items
        .iter()
        .map(stop_target)
        .collect::<Result<Vec<_>, _>>()?;
    let mut failed = Vec::new();
    let mut out = Vec::with_capacity(targets.len());
    for (id, savepoint) in targets {
        match api.stop(id, savepoint).await {
            Ok(()) => out.push(json!({ "jobId": id })),
            Err(e) => failed.push(e),
        }
    }
    if let Some(first) = failed.first() {
        let message = failed
            .iter()
            .map(ApiError::message)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(match first {
            ApiError::BadRequest(_) => ApiError::BadRequest(message),
            ApiError::Internal(_) => ApiError::Internal(message),
        });
    }
    Ok(Json(Value::Array(out)))
}

pub(crate) async fn update_tags<A: ClusterApi>(State(api): State<Arc<A>>, body: Bytes) -> Answer {
    let Value::Object(o) = body_json(&body)? else {
        return Err(bad("Tags are a JSON object: {\"tag\": \"value\"}."));
    };
    let tags = o
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Null => String::new(),
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    api.set_tags(tags).await?;
    Ok(Json(
        json!({"status": "success", "message": "update node tags done."}),
    ))
}

pub(crate) async fn not_found(uri: Uri) -> Response {
    fail(
        StatusCode::NOT_FOUND,
        &format!("{} is not an endpoint of this node", uri.path()),
    )
}

pub(crate) async fn wrong_method(method: axum::http::Method, uri: Uri) -> Response {
    fail(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{} does not take {method}", uri.path()),
    )
}

/// `/restore-job`: `{"jobId": ...}` (or `?jobId=`) resumes an ended job from its savepoint.
pub(crate) async fn restore_job<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Query(q): Query<BTreeMap<String, String>>,
    body: Bytes,
) -> Answer {
    let id = match q.get("jobId") {
        Some(id) => job_id(id)?,
        None => stop_target(&body_json(&body)?)?.0,
    };
    let job = known_job(api.as_ref(), id).await?;
    if !job.ended {
        return Err(bad(format!(
            "job {id} is {}; only an ended job can be restored",
            job.status
        )));
    }
    let done = api.restore(id).await?;
    Ok(Json(
        json!({"jobId": done.job_id.to_string(), "jobName": done.job_name}),
    ))
}

/// `/jobs/:id/checkpoints`: the job's latest completed checkpoints, newest first.
pub(crate) async fn checkpoints<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(id): Path<String>,
) -> Answer {
    let job = known_job(api.as_ref(), job_id(&id)?).await?;
    let list: Vec<Value> = job
        .checkpoint_history
        .iter()
        .rev()
        .map(|c| {
            json!({
                "pipelineId": c.pipeline.to_string(),
                "checkpointId": c.id.to_string(),
                "type": c.kind,
                "state": "COMPLETED",
                "completedTime": shapes::time(c.at_ms),
                "durationMs": c.duration_ms.to_string(),
                "stateSize": c.size_bytes.to_string(),
                "ackedTasks": c.tasks.to_string(),
                "totalTasks": c.tasks.to_string(),
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `/option-rules/:plugin`: what `st plugin inspect` shows, per kind the plugin exists in.
pub(crate) async fn option_rules<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(plugin): Path<String>,
) -> Answer {
    let rules = api.option_rules(&plugin).await?;
    let out: Vec<Value> = rules
        .iter()
        .map(|p| {
            let options: Vec<Value> = p
                .options
                .iter()
                .map(|o| {
                    json!({
                        "name": o.name,
                        "type": o.option_type,
                        "required": o.required,
                        "defaultValue": o.default_value,
                        "doc": o.doc,
                    })
                })
                .collect();
            let grants: Vec<Value> = p
                .grants
                .iter()
                .map(|(o, a)| json!({"option": o, "access": a}))
                .collect();
            json!({
                "pluginName": p.name,
                "type": p.kind,
                "version": p.version,
                "sha256": p.sha256,
                "options": options,
                "grants": grants,
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

/// The options `/encrypt-config` encrypts in each source and sink (as the job loader decrypts).
const SHADED: [&str; 4] = ["password", "username", "auth", "token"];

/// `/encrypt-config`: a JSON job config with `env.shade.identifier` (`base64`), its sources'
/// and sinks' credentials encrypted, as compact JSON.
pub(crate) async fn encrypt_config(body: Bytes) -> Answer {
    use base64::Engine as _;
    let mut config = body_json(&body)?;
    let shade = config
        .get("env")
        .and_then(|e| e.get("shade.identifier"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match shade.as_deref() {
        Some("base64") => {}
        Some(other) => {
            return Err(bad(format!(
                "env.shade.identifier `{other}` is not a shade Strait knows; use base64"
            )));
        }
        None => {
            return Err(bad(
                "env.shade.identifier is not set: name the shade (base64)",
            ));
        }
    }
    for section in ["source", "sink"] {
        let plugins: Vec<&mut Value> = match config.get_mut(section) {
            Some(Value::Array(items)) => items.iter_mut().collect(),
            Some(Value::Object(blocks)) => blocks.values_mut().collect(),
            _ => Vec::new(),
        };
        for plugin in plugins {
            let Value::Object(options) = plugin else {
                continue;
            };
            for key in SHADED {
                if let Some(Value::String(s)) = options.get_mut(key) {
                    *s = base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
                }
            }
        }
    }
    Ok(Json(config))
}

/// `/jobs/:id/events`: what happened to the job beyond its states, oldest first.
pub(crate) async fn events<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(id): Path<String>,
) -> Answer {
    let job = known_job(api.as_ref(), job_id(&id)?).await?;
    Ok(Json(Value::Array(
        job.events
            .iter()
            .map(|(at, text)| json!({"time": shapes::time(*at), "message": text}))
            .collect(),
    )))
}

/// The job `id`, or a 400 saying the cluster does not know it.
async fn known_job<A: ClusterApi>(api: &A, id: u64) -> Result<JobView, ApiError> {
    api.job(id)
        .await?
        .ok_or_else(|| bad(format!("job {id} is not known to this cluster")))
}
