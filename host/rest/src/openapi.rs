//! `/openapi.json`: an OpenAPI 3 document of every endpoint (a test checks that each path it
//! lists is routed).

use serde_json::{Map, Value, json};

/// (method, path, summary, what the 200 answer is).
const ENDPOINTS: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/overview",
        "The cluster: slots, workers and job counts; query parameters filter workers by tag",
        "an object of strings",
    ),
    (
        "get",
        "/running-jobs",
        "Every pending or running job, newest first",
        "an array of running jobs",
    ),
    (
        "get",
        "/pending-jobs",
        "Jobs waiting for slots",
        "an array of running jobs",
    ),
    (
        "get",
        "/job-info/{id}",
        "One job: the running shape while it runs, the finished shape once it ended",
        "a job",
    ),
    (
        "get",
        "/running-job/{id}",
        "Alias of /job-info/{id}",
        "a job",
    ),
    (
        "get",
        "/finished-jobs",
        "Ended jobs, ascending by finish time",
        "an array of finished jobs",
    ),
    (
        "get",
        "/finished-jobs/{state}",
        "Ended jobs in one state",
        "an array of finished jobs",
    ),
    (
        "post",
        "/submit-job",
        "Submit a job (JSON body, or HOCON with format=hocon); jobId, jobName, isStartWithSavePoint",
        "{jobId, jobName}",
    ),
    (
        "post",
        "/submit-job/upload",
        "Submit a job config file (multipart field config_file)",
        "{jobId, jobName}",
    ),
    (
        "post",
        "/submit-jobs",
        "Submit several jobs, each with optional params",
        "an array of {jobId, jobName}",
    ),
    (
        "post",
        "/stop-job",
        "Cancel a job, or stop it with a savepoint: {jobId, isStopWithSavePoint}",
        "{jobId}",
    ),
    (
        "post",
        "/stop-jobs",
        "Stop several jobs",
        "an array of {jobId}",
    ),
    (
        "post",
        "/restore-job",
        "Resume an ended job under its id from its savepoint: {jobId}",
        "{jobId, jobName}",
    ),
    (
        "get",
        "/jobs/{id}/checkpoints",
        "A job's latest completed checkpoints, newest first",
        "an array of checkpoints",
    ),
    (
        "get",
        "/option-rules/{plugin}",
        "A plugin's declared options and grants",
        "an array of plugin descriptions",
    ),
    (
        "post",
        "/encrypt-config",
        "Encrypt a JSON job config's credentials with its env.shade.identifier",
        "the config",
    ),
    (
        "post",
        "/update-tags",
        "Replace this node's tags",
        "{status, message}",
    ),
    (
        "get",
        "/system-monitoring-information",
        "Every live member, with this node's own figures",
        "an array of objects of strings",
    ),
    (
        "get",
        "/thread-dump",
        "This process's threads",
        "an array of threads",
    ),
    (
        "get",
        "/logs",
        "This node's log files (format=json for JSON)",
        "HTML or JSON",
    ),
    (
        "get",
        "/logs/{name}",
        "A log file, or the files whose name holds a job id",
        "text, HTML or JSON",
    ),
    (
        "get",
        "/log",
        "This node's log files, linked relatively",
        "HTML",
    ),
    ("get", "/log/{name}", "A log file of this node", "text"),
    (
        "get",
        "/jobs/{id}/events",
        "A job's events (restarts, moves to other nodes), oldest first",
        "an array of {time, message}",
    ),
    ("get", "/ui", "The web console", "HTML"),
    (
        "get",
        "/metrics",
        "Prometheus text",
        "text/plain; version=0.0.4",
    ),
    ("get", "/openapi.json", "This document", "OpenAPI 3"),
];

pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, answer) in ENDPOINTS {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": {"description": answer},
                "400": {"description": "bad input: {\"status\":\"fail\",\"message\":...}"},
                "401": {"description": "the cluster secret is missing or wrong"},
                "500": {"description": "the cluster could not do it: {\"status\":\"fail\",\"message\":...}"}
            }
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let entry = paths
            .entry(path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Strait REST API V2",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "SeaTunnel's REST API V2 paths, JSON and errors, served by every st-node"
        },
        "paths": paths,
    })
}

pub(crate) async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}
