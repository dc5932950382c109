//! What a node says about itself: `/system-monitoring-information`, `/thread-dump` and its
//! log files (`/logs`, `/log`, `/log/:name`), read from `/proc` and its log directory.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::{ApiError, ClusterApi};
use crate::routes::fail;

fn proc_kb(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mb(kb: u64) -> String {
    format!("{}M", kb / 1024)
}

/// This process's and this machine's figures, every value a string.
fn local_figures(out: &mut Map<String, Value>) {
    let mut put = |k: &str, v: String| {
        out.insert(k.to_string(), Value::String(v));
    };
    put(
        "processors",
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string(),
    );
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    for (key, name) in [
        ("MemTotal:", "physical.memory.total"),
        ("MemAvailable:", "physical.memory.free"),
        ("SwapTotal:", "swap.space.total"),
        ("SwapFree:", "swap.space.free"),
    ] {
        if let Some(kb) = proc_kb(&meminfo, key) {
            put(name, mb(kb));
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = proc_kb(&status, "VmRSS:") {
        put("process.memory.rss", mb(kb));
    }
    if let Some(kb) = proc_kb(&status, "VmHWM:") {
        put("process.memory.peak", mb(kb));
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg")
        && let Some(one) = load.split_whitespace().next()
    {
        put("load.systemAverage", one.to_string());
    }
    if let Some(n) = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .map(|s| s.trim().to_string())
    {
        put("thread.count", n);
    }
}

pub(crate) async fn monitoring<A: ClusterApi>(
    State(api): State<Arc<A>>,
) -> Result<Json<Value>, ApiError> {
    let cluster = api.cluster().await?;
    let me = api.this_node().address;
    let out = cluster
        .nodes
        .iter()
        .filter(|n| n.alive)
        .map(|n| {
            let (host, port) = n.address.rsplit_once(':').unwrap_or((&n.address, ""));
            let mut o = Map::new();
            o.insert("isMaster".into(), Value::String(n.master.to_string()));
            o.insert("host".into(), Value::String(host.to_string()));
            o.insert("port".into(), Value::String(port.to_string()));
            o.insert("role".into(), Value::String(n.role.clone()));
            if n.address == me {
                local_figures(&mut o);
            }
            Value::Object(o)
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

/// Java's thread states for Linux's.
fn thread_state(code: &str) -> &'static str {
    match code {
        "R" => "RUNNABLE",
        "D" => "BLOCKED",
        "T" | "t" => "WAITING",
        "Z" | "X" => "TERMINATED",
        _ => "TIMED_WAITING",
    }
}

/// One entry per thread of this process: name, id, state, and where the kernel has it wait.
pub(crate) async fn thread_dump() -> Json<Value> {
    let mut threads = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            let path = e.path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
            // `pid (comm) S ...`: the state follows the last `)`.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("S");
            let wchan = std::fs::read_to_string(path.join("wchan")).unwrap_or_default();
            threads.push(json!({
                "threadName": name.trim(),
                "threadId": tid,
                "threadState": thread_state(state),
                "stackTrace": if wchan.is_empty() || wchan == "0" { String::new() } else { format!("kernel: {wchan}") },
            }));
        }
    }
    threads.sort_by_key(|t| t["threadId"].as_u64());
    Json(Value::Array(threads))
}

fn log_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// `/logs[?format=json]`: this node's log files with links (SeaTunnel lists every node's; a
/// Strait node lists its own, and each node serves its own).
pub(crate) async fn logs<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Query(q): Query<std::collections::BTreeMap<String, String>>,
    Extension(ctx): Extension<crate::ContextPath>,
    headers: axum::http::HeaderMap,
) -> Response {
    listing(api.as_ref(), &q, &headers, &ctx.0, None)
}

fn listing<A: ClusterApi>(
    api: &A,
    q: &std::collections::BTreeMap<String, String>,
    headers: &axum::http::HeaderMap,
    ctx: &str,
    only: Option<&str>,
) -> Response {
    let me = api.this_node();
    let names: Vec<String> = me
        .log_dir
        .as_deref()
        .map(log_names)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| only.is_none_or(|o| n.contains(o)))
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let link = |n: &str| format!("http://{host}{}/logs/{n}", ctx);
    if q.get("format").is_some_and(|f| f == "json") {
        let items: Vec<Value> = names
            .iter()
            .map(|n| json!({"node": me.address, "logLink": link(n), "logName": n}))
            .collect();
        return Json(Value::Array(items)).into_response();
    }
    let items: String = names
        .iter()
        .map(|n| {
            format!(
                "<li><a href=\"{}\">{}-{}</a></li>\n",
                link(n),
                me.address,
                html_escape(n)
            )
        })
        .collect();
    Html(format!(
        "<html><head><title>Seatunnel log</title></head>\n<body>\n <h2>Seatunnel log</h2>\n <ul>\n{items} </ul>\n</body></html>"
    ))
    .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/logs/:name`: a file's content when `name` is one, otherwise the files whose name holds it
/// (a job id).
pub(crate) async fn log_or_listing<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(name): Path<String>,
    Query(q): Query<std::collections::BTreeMap<String, String>>,
    Extension(ctx): Extension<crate::ContextPath>,
    headers: axum::http::HeaderMap,
) -> Response {
    let me = api.this_node();
    let is_file = me
        .log_dir
        .as_deref()
        .is_some_and(|d| log_names(d).contains(&name));
    if is_file {
        return log_file(api.as_ref(), &name);
    }
    listing(api.as_ref(), &q, &headers, &ctx.0, Some(&name))
}

/// `/log`: this node's files, linked relatively.
pub(crate) async fn local_logs<A: ClusterApi>(State(api): State<Arc<A>>) -> Response {
    let names = api
        .this_node()
        .log_dir
        .as_deref()
        .map(log_names)
        .unwrap_or_default();
    let items: String = names
        .iter()
        .map(|n| {
            let n = html_escape(n);
            format!("<li><a href=\"log/{n}\">{n}</a></li>\n")
        })
        .collect();
    Html(format!(
        "<html><head><title>Seatunnel log</title></head>\n<body>\n <h2>Seatunnel log</h2>\n <ul>\n{items} </ul>\n</body></html>"
    ))
    .into_response()
}

pub(crate) async fn local_log<A: ClusterApi>(
    State(api): State<Arc<A>>,
    Path(name): Path<String>,
) -> Response {
    log_file(api.as_ref(), &name)
}

/// One file of the log directory, by its exact name (never a path).
fn log_file<A: ClusterApi>(api: &A, name: &str) -> Response {
    let Some(dir) = api.this_node().log_dir else {
        return fail(StatusCode::BAD_REQUEST, "this node keeps no log files");
    };
    if !log_names(&dir).iter().any(|n| n == name) {
        return fail(
            StatusCode::BAD_REQUEST,
            &format!("{name} is not a log file of this node"),
        );
    }
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], bytes).into_response(),
        Err(e) => fail(StatusCode::BAD_REQUEST, &format!("cannot read {name}: {e}")),
    }
}
