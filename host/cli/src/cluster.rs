//! The cluster verbs: `st submit`, `list`, `status`, `cancel` and `nodes` talk to a running
//! `st-node` over gRPC.
//!
//! Which node: `--address HOST:PORT[,HOST:PORT...]`, else `$ST_ADDRESS`, else the
//! `hazelcast-client.yaml` in `$STRAIT_HOME/conf` or `./conf` (SeaTunnel's client config,
//! `network.cluster-members`), else `localhost:5801`. The first address that answers is used.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::collections::HashMap;
use std::future::Future;

use anyhow::Context as _;
use st_proto::{NodesReply, NodesRequest};

/// How a cluster verb finds the cluster.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The nodes to ask, `HOST:PORT[,HOST:PORT...]` (default: $ST_ADDRESS, the members in
    /// conf/hazelcast-client.yaml, localhost:5801).
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',')]
    pub address: Vec<String>,
    /// The cluster's name (default: hazelcast-client.yaml's `cluster-name`, else `seatunnel`).
    #[arg(long = "cluster", value_name = "NAME")]
    pub cluster: Option<String>,
}

impl Target {
    fn cluster_name(&self) -> String {
        self.cluster.clone().unwrap_or_else(cluster_name)
    }
}

/// The addresses to try and where they came from.
fn addresses(target: &Target) -> anyhow::Result<(Vec<String>, String)> {
    if !target.address.is_empty() {
        return Ok((target.address.clone(), "--address".into()));
    }
    if let Some(v) = std::env::var("ST_ADDRESS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let list = v.split(',').map(|a| a.trim().to_string()).collect();
        return Ok((list, "$ST_ADDRESS".into()));
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("STRAIT_HOME").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(home).join("conf"));
    }
    dirs.push(PathBuf::from("conf"));
    for dir in dirs {
        let file = dir.join("hazelcast-client.yaml");
        if file.is_file() {
            let client = st_conf::ClientConfig::load(&file)?;
            if !client.members.is_empty() {
                return Ok((client.members, file.display().to_string()));
            }
        }
    }
    Ok((vec!["localhost:5801".into()], "the default".into()))
}

/// Runs `call` against the first node that answers; a node that is down or has no master
/// at the moment is passed over for the next.
async fn first<T, F, Fut>(target: &Target, call: F) -> anyhow::Result<T>
where
    F: Fn(st_proto::Client) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let (list, from) = addresses(target)?;
    client_secret()?;
    let mut why = Vec::new();
    for addr in &list {
        let client = st_proto::client(addr, Duration::from_secs(2)).map_err(anyhow::Error::msg)?;
        match call(client).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
                ) =>
            {
                why.push(format!("{addr}: {}", status_text(&s)));
            }
            Err(s) => anyhow::bail!("{addr}: {}", status_text(&s)),
        }
    }
    anyhow::bail!(
        "no node of the cluster answers (addresses from {from}): {}",
        why.join("; ")
    )
}

/// Asks the first node that answers for the member list.
async fn nodes_reply(target: &Target) -> anyhow::Result<NodesReply> {
    first(target, |mut c| async move {
        let mut req = tonic::Request::new(NodesRequest {});
        req.set_timeout(Duration::from_secs(5));
        c.nodes(req).await
    })
    .await
}

/// The cluster secret this client presents (once per process): `ST_SECRET_FILE` (a file
/// holding it), `ST_SECRET`, or `security` in the engine config `st` finds (`ST_CONFIG`,
/// `$STRAIT_HOME/conf/st.yaml`, ...); none: calls carry no token.
fn client_secret() -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if DONE.get().is_some() {
        return Ok(());
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let secret = if let Some(file) = env("ST_SECRET_FILE") {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("ST_SECRET_FILE: cannot read {file}: {e}"))?;
        Some(text.trim().to_string())
    } else if let Some(s) = env("ST_SECRET") {
        Some(s)
    } else {
        st_conf::EngineConfig::discover(None)
            .ok()
            .and_then(|c| c.security.secret().ok().flatten())
    };
    st_proto::auth::set_secret(secret.as_deref());
    let _ = DONE.set(());
    Ok(())
}

/// A gRPC failure in words: tonic's transport errors hide the cause in their source chain.
fn status_text(s: &tonic::Status) -> String {
    if s.code() == tonic::Code::Unauthenticated {
        return format!(
            "{} (this client's secret comes from ST_SECRET_FILE, ST_SECRET or security.secret in st.yaml)",
            s.message()
        );
    }
    let mut text = s.message().to_string();
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = e.source();
    }
    text
}

/// `st nodes`: every member with its role, liveness, master flag and slots.
pub async fn nodes(target: &Target, json: bool) -> anyhow::Result<ExitCode> {
    let reply = match nodes_reply(target).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if json {
        let nodes: Vec<serde_json::Value> = reply
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "id": n.id.to_string(),
                    "address": n.address,
                    "role": n.role,
                    "alive": n.alive,
                    "master": n.master,
                    "slotsUsed": n.slots_used,
                    "slotsTotal": (n.slots_total >= 0).then_some(n.slots_total),
                    "tags": n.tags,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "clusterName": reply.cluster_name,
            "term": reply.term,
            "master": reply.nodes.iter().find(|n| n.master).map(|n| n.address.clone()),
            "nodes": nodes,
        });
        let text = serde_json::to_string_pretty(&doc).context("encoding the reply")?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "cluster `{}`, term {}, {} of {} members alive",
        reply.cluster_name,
        reply.term,
        reply.nodes.iter().filter(|n| n.alive).count(),
        reply.nodes.len()
    );
    println!(
        "{:<24} {:<18} {:<6} {:<7} {:<10} TAGS",
        "ADDRESS", "ROLE", "ALIVE", "MASTER", "SLOTS"
    );
    for n in &reply.nodes {
        let slots = if n.slots_total < 0 {
            format!("{}/dynamic", n.slots_used)
        } else {
            format!("{}/{}", n.slots_used, n.slots_total)
        };
        let mut tags: Vec<String> = n.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tags.sort();
        println!(
            "{:<24} {:<18} {:<6} {:<7} {:<10} {}",
            n.address,
            n.role,
            if n.alive { "yes" } else { "no" },
            if n.master { "yes" } else { "" },
            slots,
            tags.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The cluster name a client announces: `hazelcast-client.yaml`'s, else `seatunnel`.
fn cluster_name() -> String {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("STRAIT_HOME").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(home).join("conf"));
    }
    dirs.push(PathBuf::from("conf"));
    dirs.iter()
        .map(|d| d.join("hazelcast-client.yaml"))
        .filter(|f| f.is_file())
        .find_map(|f| st_conf::ClientConfig::load(&f).ok()?.cluster_name)
        .unwrap_or_else(|| "seatunnel".into())
}

/// What `st submit` sends.
pub struct Submit<'a> {
    pub path: &'a std::path::Path,
    pub vars: &'a HashMap<String, String>,
    pub job_id: Option<u64>,
    pub job_name: Option<&'a str>,
    pub asynchronous: bool,
    /// Run job `job_id` again from its latest savepoint or checkpoint.
    pub resume: bool,
}

/// `st submit`: sends the job config to the cluster and, unless `--async`, follows the job to
/// its end (Ctrl-C cancels it, as SeaTunnel's client does).
pub async fn submit(target: &Target, s: Submit<'_>) -> anyhow::Result<ExitCode> {
    let file = s.path.display().to_string();
    let text = match std::fs::read_to_string(s.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: cannot read the job config: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let config = st_job::substitute(&text, s.vars, &|k| std::env::var(k).ok());
    let cluster_name = target.cluster_name();
    let plugins = match upload_plugins(target, &cluster_name, &file, &config).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let request = st_proto::SubmitRequest {
        cluster_name: cluster_name.clone(),
        file: file.clone(),
        config,
        job_id: s.job_id.unwrap_or(0),
        job_name: s.job_name.unwrap_or_default().to_string(),
        resume: s.resume,
        plugins,
    };
    let reply = match first(target, |mut c| {
        let mut req = tonic::Request::new(request.clone());
        req.set_timeout(Duration::from_secs(180));
        async move { c.submit(req).await }
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if !reply.error.is_empty() {
        if reply.config_error {
            eprint!("{}", reply.error);
            if !reply.error.ends_with('\n') {
                eprintln!();
            }
            return Ok(ExitCode::from(2));
        }
        eprintln!("error: {}", reply.error);
        return Ok(ExitCode::from(1));
    }
    for w in &reply.warnings {
        eprintln!("warning: {w}");
    }
    let id = reply.job_id;
    eprintln!(
        "Submit job finished, job id: {id}, job name: {}",
        reply.job_name
    );
    if s.asynchronous {
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    let cancelled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let cancelled = cancelled.clone();
        let target = Target {
            address: addresses(target)?.0,
            cluster: Some(cluster_name.clone()),
        };
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("Interrupted: cancelling job {id}");
                cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                if let Err(e) = stop_ids(&target, &cluster_name, &[id], false).await {
                    eprintln!("error: {e:#}");
                }
            }
        });
    }
    // The progress line (on a terminal) or block (otherwise), fed from the cluster's records
    // and the job master's metrics.
    let interval =
        st_conf::EngineConfig::discover(None).map_or(60, |c| c.print_execution_info_interval);
    let (events, rx) = tokio::sync::broadcast::channel(64);
    let watcher = tokio::spawn(crate::watch::run(
        crate::watch::Watch {
            job_id: id.to_string(),
            retry_times: 0,
            interval: Duration::from_secs(interval),
            states: true,
        },
        rx,
    ));
    let mut last: Option<st_engine::JobStatus> = None;
    let mut checkpoints: HashMap<String, u64> = HashMap::new();
    let mut polls = 0u32;
    loop {
        match job_record(target, id).await {
            // A copy of the map that has not caught up yet shows an earlier run of this id.
            Ok(Some(r)) if r["submitted_ms"].as_u64().unwrap_or(0) < reply.submit_ms => {}
            Ok(Some(r)) => {
                let Ok(status) =
                    serde_json::from_value::<st_engine::JobStatus>(r["status"].clone())
                else {
                    anyhow::bail!(
                        "job {id} has a state this client does not know: {}",
                        r["status"]
                    );
                };
                if last != Some(status) {
                    last = Some(status);
                    let _ = events.send(st_engine::JobEvent::Job { status, at_ms: 0 });
                }
                for (p, c) in r["checkpoints"].as_object().into_iter().flatten() {
                    let cp = c["id"].as_u64().unwrap_or(0);
                    if checkpoints.insert(p.clone(), cp) != Some(cp) {
                        let _ = events.send(st_engine::JobEvent::CheckpointCompleted {
                            pipeline: p.parse().unwrap_or(0),
                            id: cp,
                            kind: st_checkpoint::Kind::Periodic,
                            duration_ms: c["duration_ms"].as_u64().unwrap_or(0),
                            size_bytes: c["size_bytes"].as_u64().unwrap_or(0),
                            tasks: 0,
                        });
                    }
                }
                if status.is_end() {
                    if tokio::time::timeout(Duration::from_millis(500), watcher)
                        .await
                        .is_err()
                    {
                        tracing::debug!("the progress watcher did not stop");
                    }
                    eprintln!("Job ({id}) end with state {status}");
                    if let Some(e) = r["error"].as_str() {
                        eprintln!("error: {e}");
                    }
                    let ok = matches!(
                        status,
                        st_engine::JobStatus::Finished | st_engine::JobStatus::SavepointDone
                    );
                    if ok && let Ok(Some(report)) = job_report(target, id).await {
                        println!("{}", crate::report::statistics(&report));
                    }
                    if cancelled.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(ExitCode::from(130));
                    }
                    return Ok(if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    });
                }
                polls += 1;
                if polls.is_multiple_of(3)
                    && let Ok(Some(report)) = job_report(target, id).await
                {
                    let metrics = st_engine::TaskMetrics {
                        rows_read: report.rows_read.into_iter().collect(),
                        rows_written: report.rows_written.into_iter().collect(),
                        bytes_read: report.bytes_read,
                        bytes_written: report.bytes_written,
                        ..Default::default()
                    };
                    let _ = events.send(st_engine::JobEvent::Progress {
                        pipeline: 0,
                        metrics,
                    });
                }
            }
            Ok(None) => {
                eprintln!("error: job {id} is no longer known to the cluster");
                return Ok(ExitCode::from(1));
            }
            // A node that went away: the next poll asks the others.
            Err(e) => tracing::debug!("polling job {id}: {e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Uploads each `.wasm` file the job names (a plugin block named by a path, or an `artifact`
/// path) that exists here: the cluster's nodes cannot read this machine's files. Returns
/// reference as written → sha256. URLs and plugin names are left to the nodes.
async fn upload_plugins(
    target: &Target,
    cluster_name: &str,
    file: &str,
    config: &str,
) -> anyhow::Result<HashMap<String, String>> {
    let mut uploaded = HashMap::new();
    // A config that does not parse is the node's to report, with every problem.
    let Ok((job, _)) = st_job::load_str_with_problems(file, config, &HashMap::new(), &|_| None)
    else {
        return Ok(uploaded);
    };
    for p in &job.plugins {
        let reference = p
            .artifact
            .clone()
            .or_else(|| p.name.ends_with(".wasm").then(|| p.name.clone()));
        let Some(reference) = reference.filter(|r| !r.contains("://")) else {
            continue;
        };
        if uploaded.contains_key(&reference) || !std::path::Path::new(&reference).is_file() {
            continue;
        }
        let component = std::fs::read(&reference)
            .with_context(|| format!("{file}:{}: cannot read {reference}", p.line))?;
        let request = st_proto::PutPluginRequest {
            cluster_name: cluster_name.to_string(),
            name: reference.clone(),
            component,
        };
        let reply = first(target, |mut c| {
            let mut req = tonic::Request::new(request.clone());
            req.set_timeout(Duration::from_secs(120));
            async move { c.put_plugin(req).await }
        })
        .await?;
        if !reply.error.is_empty() {
            anyhow::bail!("{file}:{}: {}", p.line, reply.error);
        }
        uploaded.insert(reference, reply.sha256);
    }
    Ok(uploaded)
}

/// The job's record as the map holds it (JSON), or `None` when no node knows it.
async fn job_record(target: &Target, id: u64) -> anyhow::Result<Option<serde_json::Value>> {
    let reply = first(target, |mut c| async move {
        let mut req = tonic::Request::new(st_proto::JobRequest { job_id: id });
        req.set_timeout(Duration::from_secs(5));
        c.job(req).await
    })
    .await?;
    if !reply.found {
        return Ok(None);
    }
    Ok(Some(
        serde_json::from_slice(&reply.record).context("the job's record")?,
    ))
}

/// `yyyy-MM-dd HH:mm:ss.fff` (UTC) of milliseconds since the epoch, as SeaTunnel's list shows
/// times (trailing zeros of the fraction dropped, at least one digit).
fn timestamp(ms: u64) -> String {
    let text =
        st_core::format_timestamp(i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1000));
    let text = text.replacen('T', " ", 1);
    match text.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            format!("{whole}.{}", if frac.is_empty() { "0" } else { frac })
        }
        None => format!("{text}.0"),
    }
}

/// `st list`: SeaTunnel's `-l` table, newest first (or JSON).
pub async fn list(target: &Target, json: bool) -> anyhow::Result<ExitCode> {
    let reply = match first(target, |mut c| async move {
        let mut req = tonic::Request::new(st_proto::JobsRequest {});
        req.set_timeout(Duration::from_secs(5));
        c.jobs(req).await
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if json {
        let rows: Vec<serde_json::Value> = reply
            .jobs
            .iter()
            .map(|j| {
                serde_json::json!({
                    "jobId": j.job_id,
                    "jobName": j.job_name,
                    "jobStatus": j.status,
                    "submitTime": j.submit_ms,
                    "finishTime": (j.finish_ms > 0).then_some(j.finish_ms),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = reply
        .jobs
        .iter()
        .map(|j| {
            [
                j.job_id.to_string(),
                j.job_name.clone(),
                j.status.clone(),
                timestamp(j.submit_ms),
                if j.finish_ms > 0 {
                    timestamp(j.finish_ms)
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let headers = [
        "Job ID",
        "Job Name",
        "Job Status",
        "Submit Time",
        "Finished Time",
    ];
    let mins = [6, 8, 10, 23, 23];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            if i >= 3 {
                23
            } else {
                rows.iter()
                    .map(|r| r[i].len())
                    .max()
                    .unwrap_or(0)
                    .max(mins[i])
            }
        })
        .collect();
    let line = |cells: [&str; 5]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}  "))
            .collect()
    };
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("{}", line(headers));
    println!(
        "{}",
        line([&dashes[0], &dashes[1], &dashes[2], &dashes[3], &dashes[4]])
    );
    for r in &rows {
        println!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    Ok(ExitCode::SUCCESS)
}

/// Each pipeline's latest checkpoint: `{"0": {"id", "kind", "time", "durationMs"}}`.
fn latest_checkpoints(c: &serde_json::Value) -> serde_json::Value {
    let Some(map) = c.as_object() else {
        return serde_json::json!({});
    };
    map.iter()
        .map(|(p, v)| {
            (
                p.clone(),
                serde_json::json!({
                    "id": v["id"],
                    "kind": v["kind"],
                    "time": v["at_ms"],
                    "durationMs": v["duration_ms"],
                }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// `st status ID`: one line of JSON in the shape of SeaTunnel's `-j`.
pub async fn status(target: &Target, id: u64) -> anyhow::Result<ExitCode> {
    let record = match job_record(target, id).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let Some(r) = record else {
        println!(
            "{}",
            serde_json::json!({ "err": format!("jobId : {id} not found") })
        );
        return Ok(ExitCode::from(1));
    };
    let pipelines = r["pipelines"]
        .as_object()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.iter()
                .map(|(pid, status)| {
                    (
                        format!("PipelineLocation(jobId={id}, pipelineId={pid})"),
                        serde_json::json!({ "pipelineStatus": status }),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
        });
    let history: Vec<serde_json::Value> = r["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|e| serde_json::json!({ "status": e[0], "time": e[1] }))
                .collect()
        })
        .unwrap_or_default();
    let events: Vec<serde_json::Value> = r["events"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|e| serde_json::json!({ "time": e[0], "event": e[1] }))
                .collect()
        })
        .unwrap_or_default();
    let doc = serde_json::json!({
        "jobId": id,
        "jobName": r["plan"]["job_name"],
        "jobStatus": r["status"],
        "submitTime": r["submitted_ms"],
        "finishTime": r["finished_ms"],
        "pipelineStateMapperMap": pipelines,
        "errorMessage": r["error"],
        "stateHistory": history,
        "latestCheckpoints": latest_checkpoints(&r["checkpoints"]),
        "events": events,
    });
    println!("{doc}");
    Ok(ExitCode::SUCCESS)
}

async fn stop_ids(
    target: &Target,
    cluster_name: &str,
    ids: &[u64],
    savepoint: bool,
) -> anyhow::Result<Vec<String>> {
    let request = st_proto::StopRequest {
        cluster_name: cluster_name.to_string(),
        job_ids: ids.to_vec(),
        savepoint,
    };
    let reply = first(target, |mut c| {
        let mut req = tonic::Request::new(request.clone());
        req.set_timeout(Duration::from_secs(30));
        async move { c.stop(req).await }
    })
    .await?;
    Ok(reply.errors)
}

/// `st cancel ID...` (`savepoint: false`) or `st savepoint ID...`: asks the master to stop
/// each job; a savepoint waits until each job has stopped at it. Exits 1 naming any job it
/// could not stop.
pub async fn stop(target: &Target, ids: &[u64], savepoint: bool) -> anyhow::Result<ExitCode> {
    let errors = match stop_ids(target, &target.cluster_name(), ids, savepoint).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    for e in &errors {
        eprintln!("error: {e}");
    }
    let mut failed = !errors.is_empty();
    if savepoint {
        for &id in ids {
            if errors.iter().any(|e| e.contains(&format!("'{id}'"))) {
                continue;
            }
            loop {
                match job_record(target, id).await {
                    Ok(Some(r)) => match r["status"].as_str().unwrap_or_default() {
                        "SAVEPOINT_DONE" => {
                            eprintln!(
                                "Job {id} stopped at a savepoint; resume it with: st resume {id} JOB.conf"
                            );
                            break;
                        }
                        s @ ("FINISHED" | "FAILED" | "CANCELED") => {
                            eprintln!("error: job {id} ended {s} before its savepoint completed");
                            failed = true;
                            break;
                        }
                        _ => {}
                    },
                    Ok(None) => {
                        eprintln!("error: job {id} is no longer known to the cluster");
                        failed = true;
                        break;
                    }
                    Err(e) => tracing::debug!("polling job {id}: {e:#}"),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The job's report from its job master: its totals so far, or its final ones.
async fn job_report(target: &Target, id: u64) -> anyhow::Result<Option<st_engine::JobReport>> {
    let reply = first(target, |mut c| async move {
        let mut req = tonic::Request::new(st_proto::JobRequest { job_id: id });
        req.set_timeout(Duration::from_secs(5));
        c.metrics(req).await
    })
    .await?;
    if !reply.found {
        return Ok(None);
    }
    Ok(Some(
        serde_json::from_slice(&reply.report).context("the job's report")?,
    ))
}

/// `st metrics ID`: the job's metrics as SeaTunnel's `--metrics` prints them: each metric
/// name (and `name#table`) to a list of measurements.
pub async fn metrics(target: &Target, id: u64) -> anyhow::Result<ExitCode> {
    let report = match job_report(target, id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            eprintln!(
                "error: no metrics for job {id} (unknown, not started yet, or its job master has restarted since it ended)"
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let secs = report.duration.as_secs_f64();
    let qps = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let measure = |v: serde_json::Value, table: Option<&str>| {
        let mut tags = serde_json::json!({ "jobId": id.to_string() });
        if let Some(t) = table {
            tags["tableName"] = t.into();
        }
        serde_json::json!([{ "tags": tags, "value": v }])
    };
    let mut doc = serde_json::Map::new();
    let (read, written) = (report.total_read(), report.total_written());
    doc.insert("SourceReceivedCount".into(), measure(read.into(), None));
    doc.insert(
        "SourceReceivedBytes".into(),
        measure(report.bytes_read.into(), None),
    );
    doc.insert("SourceReceivedQPS".into(), measure(qps(read).into(), None));
    doc.insert("SinkWriteCount".into(), measure(written.into(), None));
    doc.insert(
        "SinkWriteBytes".into(),
        measure(report.bytes_written.into(), None),
    );
    doc.insert("SinkWriteQPS".into(), measure(qps(written).into(), None));
    for (t, n) in &report.rows_read {
        doc.insert(
            format!("SourceReceivedCount#{t}"),
            measure((*n).into(), Some(t)),
        );
        doc.insert(
            format!("SourceReceivedQPS#{t}"),
            measure(qps(*n).into(), Some(t)),
        );
    }
    for (t, n) in &report.rows_written {
        doc.insert(format!("SinkWriteCount#{t}"), measure((*n).into(), Some(t)));
        doc.insert(
            format!("SinkWriteQPS#{t}"),
            measure(qps(*n).into(), Some(t)),
        );
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(doc)).context("encoding")?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}
