//! SeaTunnel's JSON shapes, key for key and in its key order: scalars as strings except where
//! SeaTunnel writes numbers or booleans (`vertexId`, `isStartWithSavePoint`, `errorMsg`).

use serde_json::{Map, Value, json};

use crate::api::{ClusterView, JobView, Throughput};

/// `yyyy-MM-dd HH:mm:ss` in the server's time zone.
pub fn time(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => String::new(),
    }
}

fn env(job: &JobView) -> Value {
    Value::Object(
        job.env
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `jobDag`: jobId, pipelineEdges (keyed by pipeline id), envOptions, vertexInfoMap.
fn dag(job: &JobView) -> Value {
    let mut edges = Map::new();
    for (pipeline, from, to) in &job.edges {
        let e = edges
            .entry(pipeline.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = e {
            a.push(json!({"inputVertexId": from.to_string(), "targetVertexId": to.to_string()}));
        }
    }
    let vertices: Vec<Value> = job
        .vertices
        .iter()
        .map(|v| {
            json!({
                "vertexId": v.id,
                "type": v.kind.as_str(),
                "vertexName": v.seatunnel_name(),
                "tablePaths": v.tables,
            })
        })
        .collect();
    json!({
        "jobId": job.id.to_string(),
        "pipelineEdges": edges,
        "envOptions": env(job),
        "vertexInfoMap": vertices,
    })
}

fn plugin_urls(job: &JobView) -> Value {
    Value::Array(
        job.plugins
            .iter()
            .map(|p| json!({ "jarPath": p }))
            .collect(),
    )
}

/// A running or pending job: one element of `/running-jobs`, and `/job-info/:id` while it runs.
pub fn running_job(job: &JobView, t: Option<&Throughput>) -> Value {
    json!({
        "jobId": job.id.to_string(),
        "jobName": job.name,
        "jobStatus": job.status,
        "envOptions": env(job),
        "createTime": time(job.created_ms),
        "jobDag": dag(job),
        "pluginJarsUrls": plugin_urls(job),
        "isStartWithSavePoint": job.start_with_savepoint,
        "metrics": metrics(t),
    })
}

/// An ended job: one element of `/finished-jobs`, and `/job-info/:id` once it ended.
pub fn finished_job(job: &JobView, t: Option<&Throughput>) -> Value {
    json!({
        "jobId": job.id.to_string(),
        "jobName": job.name,
        "jobStatus": job.status,
        "errorMsg": job.error,
        "createTime": time(job.created_ms),
        "finishTime": job.finished_ms.map(time).unwrap_or_default(),
        "jobDag": dag(job),
        "pluginJarsUrls": [],
        "metrics": metrics(t),
    })
}

/// A double as Java's `Double.toString` writes the usual values (`0.0`, `12.5`).
fn double(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        let v = (v * 100.0).round() / 100.0;
        format!("{v}")
    }
}

/// The `metrics` object: totals and per-table maps, every value a string. Bytes per table are
/// known only in total: a job with one table on a side has them, others `{}`.
pub fn metrics(t: Option<&Throughput>) -> Value {
    let empty = Throughput::default();
    let t = t.unwrap_or(&empty);
    let secs = (t.elapsed_ms as f64 / 1000.0).max(0.001);
    let rate = |n: u64| {
        if t.elapsed_ms == 0 {
            0.0
        } else {
            n as f64 / secs
        }
    };
    let read: u64 = t.rows_read.values().sum();
    let written: u64 = t.rows_written.values().sum();
    let table = |rows: &std::collections::BTreeMap<String, u64>, f: &dyn Fn(u64) -> String| {
        Value::Object(
            rows.iter()
                .map(|(k, &n)| (k.clone(), Value::String(f(n))))
                .collect(),
        )
    };
    let only = |rows: &std::collections::BTreeMap<String, u64>, bytes: u64| {
        let mut m = std::collections::BTreeMap::new();
        if rows.len() == 1
            && let Some(k) = rows.keys().next()
        {
            m.insert(k.clone(), bytes);
        }
        m
    };
    let read_bytes = only(&t.rows_read, t.bytes_read);
    let written_bytes = only(&t.rows_written, t.bytes_written);
    let count = |n: u64| n.to_string();
    let per_second = |n: u64| double(rate(n));
    json!({
        "SourceReceivedCount": read.to_string(),
        "SinkWriteCount": written.to_string(),
        "SourceReceivedBytes": t.bytes_read.to_string(),
        "SinkWriteBytes": t.bytes_written.to_string(),
        "SourceReceivedQPS": double(rate(read)),
        "SinkWriteQPS": double(rate(written)),
        "SourceReceivedBytesPerSeconds": double(rate(t.bytes_read)),
        "SinkWriteBytesPerSeconds": double(rate(t.bytes_written)),
        "TableSourceReceivedCount": table(&t.rows_read, &count),
        "TableSinkWriteCount": table(&t.rows_written, &count),
        "TableSourceReceivedBytes": table(&read_bytes, &count),
        "TableSinkWriteBytes": table(&written_bytes, &count),
        "TableSourceReceivedQPS": table(&t.rows_read, &per_second),
        "TableSinkWriteQPS": table(&t.rows_written, &per_second),
        "TableSourceReceivedBytesPerSeconds": table(&read_bytes, &per_second),
        "TableSinkWriteBytesPerSeconds": table(&written_bytes, &per_second),
    })
}

/// `/overview`: slots and workers among the task-running nodes whose tags hold every `tags`
/// pair; job counts from the whole map.
pub fn overview(cluster: &ClusterView, jobs: &[JobView], tags: &[(String, String)]) -> Value {
    let workers: Vec<_> = cluster
        .nodes
        .iter()
        .filter(|n| n.runs_tasks() && n.alive)
        .filter(|n| tags.iter().all(|(k, v)| n.tags.get(k) == Some(v)))
        .collect();
    // Dynamic slots have no total: SeaTunnel counts them as 0.
    let total: u64 = workers
        .iter()
        .filter_map(|n| n.slots_total)
        .map(u64::from)
        .sum();
    let used: u64 = workers
        .iter()
        .filter(|n| n.slots_total.is_some())
        .map(|n| u64::from(n.slots_used))
        .sum();
    let count = |status: &str| jobs.iter().filter(|j| j.status == status).count();
    json!({
        "projectVersion": env!("CARGO_PKG_VERSION"),
        "gitCommitAbbrev": env!("ST_GIT_COMMIT"),
        "totalSlot": total.to_string(),
        "unassignedSlot": total.saturating_sub(used).to_string(),
        "runningJobs": jobs.iter().filter(|j| !j.ended).count().to_string(),
        "finishedJobs": count("FINISHED").to_string(),
        "failedJobs": count("FAILED").to_string(),
        "cancelledJobs": count("CANCELED").to_string(),
        "workers": workers.len().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_read_as_java_writes_them() {
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(12.5), "12.5");
        assert_eq!(double(3.0), "3.0");
        assert_eq!(double(1.0 / 3.0), "0.33");
    }

    #[test]
    fn metrics_are_strings_with_every_table_map_present() {
        let mut t = Throughput {
            elapsed_ms: 2000,
            bytes_read: 100,
            bytes_written: 100,
            ..Default::default()
        };
        t.rows_read.insert("fake".into(), 10);
        t.rows_written.insert("fake".into(), 10);
        let m = metrics(Some(&t));
        assert_eq!(m["SourceReceivedCount"], "10");
        assert_eq!(m["SinkWriteQPS"], "5.0");
        assert_eq!(m["TableSinkWriteBytes"]["fake"], "100");
        let none = metrics(None);
        assert_eq!(none["SourceReceivedCount"], "0");
        assert_eq!(none["TableSourceReceivedCount"], json!({}));
    }
}
