//! What a finished job reports: rows read and written per table, bytes, time, memory. Data
//! only: `st` prints it, a cluster node sends it to the client that waits for the job.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use st_plan::{JobStatus, TaskMetrics};

/// How a plugin was loaded while the job was planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginLoad {
    /// `sink[0](Console)`.
    pub path: String,
    /// `builtin`, `memory cache`, `disk cache`, `compiled`, ...
    pub from: String,
    pub took: Duration,
}

/// A finished job's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    pub job_id: String,
    pub job_name: String,
    /// The state it ended in: FINISHED, or SAVEPOINT_DONE.
    pub status: JobStatus,
    pub started: SystemTime,
    pub duration: Duration,
    /// Rows read per source table.
    pub rows_read: BTreeMap<String, u64>,
    /// Rows written per sink table.
    pub rows_written: BTreeMap<String, u64>,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// The largest linear memory any task instance reached.
    pub peak_guest_memory: u64,
    /// Peak linear memory per task id (`sink[0](Console)#1`).
    pub peak_memory: BTreeMap<String, u64>,
    /// Instances recycled near their memory cap.
    pub recycled: u64,
    /// Batches readers read on their own threads while transforms and writers worked.
    pub read_ahead: u64,
    /// How each plugin was loaded.
    pub loads: Vec<PluginLoad>,
}

impl JobReport {
    pub(crate) fn new(job_id: &str, job_name: &str, started: SystemTime) -> JobReport {
        JobReport {
            job_id: job_id.to_string(),
            job_name: job_name.to_string(),
            status: JobStatus::Created,
            started,
            duration: Duration::ZERO,
            rows_read: BTreeMap::new(),
            rows_written: BTreeMap::new(),
            bytes_read: 0,
            bytes_written: 0,
            peak_guest_memory: 0,
            peak_memory: BTreeMap::new(),
            recycled: 0,
            read_ahead: 0,
            loads: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, m: &TaskMetrics) {
        for (t, n) in &m.rows_read {
            *self.rows_read.entry(t.clone()).or_default() += n;
        }
        for (t, n) in &m.rows_written {
            *self.rows_written.entry(t.clone()).or_default() += n;
        }
        self.bytes_read += m.bytes_read;
        self.bytes_written += m.bytes_written;
        self.peak_guest_memory = self.peak_guest_memory.max(m.peak_guest_memory);
        for (t, b) in &m.peak_memory {
            let e = self.peak_memory.entry(t.clone()).or_default();
            *e = (*e).max(*b);
        }
        self.recycled += m.recycled;
        self.read_ahead += m.read_ahead;
    }

    /// A running job's report so far, from its pipelines' latest totals.
    pub fn so_far<'a>(
        job_id: &str,
        job_name: &str,
        started: SystemTime,
        status: JobStatus,
        pipelines: impl IntoIterator<Item = &'a TaskMetrics>,
    ) -> JobReport {
        let mut r = JobReport::new(job_id, job_name, started);
        r.status = status;
        r.duration = started.elapsed().unwrap_or_default();
        for m in pipelines {
            r.add(m);
        }
        r
    }

    pub fn total_read(&self) -> u64 {
        self.rows_read.values().sum()
    }

    pub fn total_written(&self) -> u64 {
        self.rows_written.values().sum()
    }

    /// Rows read per second over the whole job.
    pub fn rows_per_second(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.total_read() as f64 / secs
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_data_that_round_trips_through_json() {
        let mut r = JobReport::new("733584788375666689", "demo", SystemTime::UNIX_EPOCH);
        r.add(&TaskMetrics {
            rows_read: vec![("db.t".into(), 10)],
            rows_written: vec![("db.t".into(), 9)],
            bytes_read: 100,
            bytes_written: 90,
            ..TaskMetrics::default()
        });
        r.status = JobStatus::Finished;
        r.loads.push(PluginLoad {
            path: "source[0](FakeSource)".into(),
            from: "memory cache".into(),
            took: Duration::from_micros(300),
        });
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"status\":\"FINISHED\""), "{text}");
        let back: JobReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        assert_eq!((back.total_read(), back.total_written()), (10, 9));
    }
}
