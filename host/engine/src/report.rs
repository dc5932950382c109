//! What a finished job reports: rows read and written per table, bytes, time.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use st_runtime::LoadedFrom;

use crate::protocol::TaskMetrics;

/// A finished job's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    pub job_id: String,
    pub job_name: String,
    pub started: SystemTime,
    pub duration: Duration,
    /// Rows read per source table.
    pub rows_read: BTreeMap<String, u64>,
    /// Rows written per sink table.
    pub rows_written: BTreeMap<String, u64>,
    pub bytes_read: u64,
    /// The largest linear memory any task instance reached.
    pub peak_guest_memory: u64,
    /// Peak linear memory per task id (`sink[0](Console)#1`).
    pub peak_memory: BTreeMap<String, u64>,
    /// Instances recycled near their memory cap.
    pub recycled: u64,
    /// Batches readers read on their own threads while transforms and writers worked.
    pub read_ahead: u64,
    /// How each plugin was loaded: (plugin path, from, time).
    pub loads: Vec<(String, LoadedFrom, Duration)>,
}

impl JobReport {
    pub(crate) fn new(job_id: &str, job_name: &str, started: SystemTime) -> JobReport {
        JobReport {
            job_id: job_id.to_string(),
            job_name: job_name.to_string(),
            started,
            duration: Duration::ZERO,
            rows_read: BTreeMap::new(),
            rows_written: BTreeMap::new(),
            bytes_read: 0,
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
        self.peak_guest_memory = self.peak_guest_memory.max(m.peak_guest_memory);
        for (t, b) in &m.peak_memory {
            let e = self.peak_memory.entry(t.clone()).or_default();
            *e = (*e).max(*b);
        }
        self.recycled += m.recycled;
        self.read_ahead += m.read_ahead;
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

impl fmt::Display for JobReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = "*".repeat(60);
        writeln!(f, "{line}")?;
        writeln!(f, "{:^60}", "Job Statistic Information")?;
        writeln!(f, "{line}")?;
        writeln!(f, "{:<26}: {}", "Job Id", self.job_id)?;
        writeln!(f, "{:<26}: {}", "Job Name", self.job_name)?;
        writeln!(
            f,
            "{:<26}: {:.3}",
            "Total Time(s)",
            self.duration.as_secs_f64()
        )?;
        writeln!(f, "{:<26}: {}", "Total Read Count", self.total_read())?;
        writeln!(f, "{:<26}: {}", "Total Write Count", self.total_written())?;
        writeln!(f, "{:<26}: {:.0}", "Rows/s", self.rows_per_second())?;
        writeln!(
            f,
            "{:<26}: {:.1}",
            "MB/s",
            if self.duration.as_secs_f64() > 0.0 {
                self.bytes_read as f64 / 1e6 / self.duration.as_secs_f64()
            } else {
                0.0
            }
        )?;
        for (t, n) in &self.rows_read {
            writeln!(f, "{:<26}: {n}", format!("Read  {t}"))?;
        }
        for (t, n) in &self.rows_written {
            writeln!(f, "{:<26}: {n}", format!("Write {t}"))?;
        }
        writeln!(
            f,
            "{:<26}: {:.1}",
            "Peak Guest Memory(MiB)",
            self.peak_guest_memory as f64 / f64::from(1 << 20)
        )?;
        for (task, b) in &self.peak_memory {
            writeln!(
                f,
                "{:<26}: {:.1} MiB",
                format!("Peak Memory {task}"),
                *b as f64 / f64::from(1 << 20)
            )?;
        }
        if self.recycled > 0 {
            writeln!(f, "{:<26}: {}", "Recycled Instances", self.recycled)?;
        }
        if self.read_ahead > 0 {
            writeln!(f, "{:<26}: {}", "Batches Read Ahead", self.read_ahead)?;
        }
        for (path, from, took) in &self.loads {
            writeln!(
                f,
                "{:<26}: {from}, {:.1} ms",
                format!("Load {path}"),
                took.as_secs_f64() * 1000.0
            )?;
        }
        write!(f, "{line}")
    }
}
