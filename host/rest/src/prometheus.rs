//! `/metrics`: Prometheus text, rendered at each scrape from what the cluster holds then (a
//! fresh recorder per scrape, so a job that ended leaves no stale series behind). Every series
//! carries `cluster`; job series carry `jobId` and `jobName`, table series `tableName`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics::{describe_gauge, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::api::{ApiError, ClusterApi, ClusterView, JobView, Throughput};

/// SeaTunnel's job states, as `job_count`'s `type` label writes them.
const STATES: [(&str, &str); 11] = [
    ("CREATED", "created"),
    ("PENDING", "pending"),
    ("SCHEDULED", "scheduled"),
    ("RUNNING", "running"),
    ("FAILING", "failing"),
    ("FAILED", "failed"),
    ("DOING_SAVEPOINT", "doing_savepoint"),
    ("SAVEPOINT_DONE", "savepoint_done"),
    ("CANCELING", "cancelling"),
    ("CANCELED", "canceled"),
    ("FINISHED", "finished"),
];

pub(crate) async fn metrics<A: ClusterApi>(
    State(api): State<Arc<A>>,
) -> Result<Response, ApiError> {
    let cluster = api.cluster().await?;
    let jobs = api.jobs().await?;
    let running: Vec<JobView> = jobs.iter().filter(|j| !j.ended).cloned().collect();
    let live: Vec<(JobView, Throughput)> = crate::routes::with_throughput(&api, running)
        .await?
        .into_iter()
        .filter_map(|(j, t)| t.map(|t| (j, t)))
        .collect();
    let me = api.this_node().address;
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        record(&cluster, &jobs, &live, &me);
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response())
}

fn record(cluster: &ClusterView, jobs: &[JobView], live: &[(JobView, Throughput)], me: &str) {
    let name = cluster.cluster_name.clone();
    describe_gauge!("cluster_info", "The cluster, labelled with its master");
    let master = cluster
        .nodes
        .iter()
        .find(|n| n.master)
        .map_or(String::new(), |n| n.address.clone());
    gauge!("cluster_info", "cluster" => name.clone(), "master" => master).set(1.0);
    describe_gauge!(
        "node_state",
        "1 for a member that answers, 0 for one that does not"
    );
    describe_gauge!(
        "slots_total",
        "A task node's slots (dynamic slots: not reported)"
    );
    describe_gauge!("slots_used", "Slots held by running pipelines");
    for n in &cluster.nodes {
        let labels = [
            ("cluster", name.clone()),
            ("address", n.address.clone()),
            ("role", n.role.clone()),
        ];
        gauge!("node_state", &labels).set(if n.alive { 1.0 } else { 0.0 });
        if n.runs_tasks() {
            if let Some(t) = n.slots_total {
                gauge!("slots_total", &labels).set(f64::from(t));
            }
            gauge!("slots_used", &labels).set(f64::from(n.slots_used));
        }
    }
    describe_gauge!("job_count", "Jobs in the job-state map, by state");
    for (state, label) in STATES {
        let n = jobs.iter().filter(|j| j.status == state).count();
        gauge!("job_count", "cluster" => name.clone(), "type" => label).set(n as f64);
    }
    describe_gauge!("raft_term", "This node's Raft term");
    describe_gauge!("raft_leader", "The member id this node follows as master");
    describe_gauge!(
        "raft_last_log_index",
        "The last index of this node's Raft log"
    );
    describe_gauge!(
        "raft_applied_index",
        "The last index this node applied to its map"
    );
    let node = [("cluster", name.clone()), ("address", me.to_string())];
    gauge!("raft_term", &node).set(cluster.term as f64);
    if let Some(l) = cluster.raft.leader {
        gauge!("raft_leader", &node).set(l as f64);
    }
    if let Some(i) = cluster.raft.last_log_index {
        gauge!("raft_last_log_index", &node).set(i as f64);
    }
    if let Some(i) = cluster.raft.applied_index {
        gauge!("raft_applied_index", &node).set(i as f64);
    }
    process(&node);
    for (job, t) in live {
        job_series(&name, job, t);
    }
}

/// This process's resident memory and CPU time, from `/proc`.
fn process(labels: &[(&'static str, String)]) {
    describe_gauge!(
        "process_resident_memory_bytes",
        "Resident memory of this st-node process"
    );
    describe_gauge!(
        "process_cpu_seconds_total",
        "CPU time (user + system) of this st-node process"
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        gauge!("process_resident_memory_bytes", labels).set((kb * 1024) as f64);
    }
    // utime and stime are fields 14 and 15 of /proc/self/stat, in clock ticks (100 a second
    // on Linux), counted after the `)` that ends the command name.
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let f: Vec<u64> = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() == 2 {
            gauge!("process_cpu_seconds_total", labels).set((f[0] + f[1]) as f64 / 100.0);
        }
    }
}

fn job_series(cluster: &str, job: &JobView, t: &Throughput) {
    let labels = [
        ("cluster", cluster.to_string()),
        ("jobId", job.id.to_string()),
        ("jobName", job.name.clone()),
    ];
    let secs = (t.elapsed_ms as f64 / 1000.0).max(0.001);
    let read: u64 = t.rows_read.values().sum();
    let written: u64 = t.rows_written.values().sum();
    gauge!("SourceReceivedCount", &labels).set(read as f64);
    gauge!("SourceReceivedBytes", &labels).set(t.bytes_read as f64);
    gauge!("SourceReceivedQPS", &labels).set(read as f64 / secs);
    gauge!("SinkWriteCount", &labels).set(written as f64);
    gauge!("SinkWriteBytes", &labels).set(t.bytes_written as f64);
    gauge!("SinkWriteQPS", &labels).set(written as f64 / secs);
    let table = |table: &str| {
        let mut l = labels.to_vec();
        l.push(("tableName", table.to_string()));
        l
    };
    for (tb, n) in &t.rows_read {
        gauge!("TableSourceReceivedCount", &table(tb)).set(*n as f64);
        gauge!("TableSourceReceivedQPS", &table(tb)).set(*n as f64 / secs);
    }
    for (tb, n) in &t.rows_written {
        gauge!("TableSinkWriteCount", &table(tb)).set(*n as f64);
        gauge!("TableSinkWriteQPS", &table(tb)).set(*n as f64 / secs);
    }
    for c in &job.checkpoints {
        let mut l = labels.to_vec();
        l.push(("pipeline", c.pipeline.to_string()));
        gauge!("checkpoint_latest_id", &l).set(c.id as f64);
        gauge!("checkpoint_latest_duration_seconds", &l).set(c.duration_ms as f64 / 1000.0);
    }
    let restarts = job
        .events
        .iter()
        .filter(|(_, e)| e.contains(" restarted"))
        .count();
    gauge!("pipeline_restarts", &labels).set(restarts as f64);
    for (task, bytes) in &t.peak_memory {
        let mut l = labels.to_vec();
        l.push(("task", task.clone()));
        gauge!("plugin_peak_memory_bytes", &l).set(*bytes as f64);
    }
    gauge!("plugin_instance_recycles", &labels).set(t.recycled as f64);
}
