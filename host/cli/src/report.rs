//! How `st` prints a job's statistics and its progress, in SeaTunnel's layout.

use std::time::{Duration, SystemTime};

use st_engine::{JobReport, TaskMetrics};

/// `yyyy-MM-dd HH:mm:ss` (UTC).
fn time(t: SystemTime) -> String {
    let micros = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let s = st_core::format_timestamp(micros);
    s.get(..19).unwrap_or(&s).replace('T', " ")
}

/// The statistics block printed when a job ends.
pub fn statistics(r: &JobReport) -> String {
    use std::fmt::Write as _;
    let mut f = String::new();
    let line = "*".repeat(60);
    let secs = r.duration.as_secs_f64();
    let per_second = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
    let _ = writeln!(f, "{line}");
    let _ = writeln!(f, "{:^60}", "Job Statistic Information");
    let _ = writeln!(f, "{line}");
    let _ = writeln!(f, "{:<26}: {}", "Job Id", r.job_id);
    let _ = writeln!(f, "{:<26}: {}", "Job Name", r.job_name);
    let _ = writeln!(f, "{:<26}: {}", "Job Status", r.status);
    let _ = writeln!(f, "{:<26}: {}", "Start Time", time(r.started));
    let _ = writeln!(f, "{:<26}: {}", "End Time", time(r.started + r.duration));
    let _ = writeln!(f, "{:<26}: {secs:.3}", "Total Time(s)");
    let _ = writeln!(f, "{:<26}: {}", "Total Read Count", r.total_read());
    let _ = writeln!(f, "{:<26}: {}", "Total Write Count", r.total_written());
    let _ = writeln!(f, "{:<26}: {:.0}", "Rows/s", r.rows_per_second());
    let _ = writeln!(
        f,
        "{:<26}: {:.1}",
        "MB/s",
        per_second(r.bytes_read as f64 / 1e6)
    );
    for (t, n) in &r.rows_read {
        let _ = writeln!(f, "{:<26}: {n}", format!("Read  {t}"));
    }
    for (t, n) in &r.rows_written {
        let _ = writeln!(f, "{:<26}: {n}", format!("Write {t}"));
    }
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let _ = writeln!(
        f,
        "{:<26}: {:.1}",
        "Peak Guest Memory(MiB)",
        mib(r.peak_guest_memory)
    );
    for (task, b) in &r.peak_memory {
        let _ = writeln!(
            f,
            "{:<26}: {:.1} MiB",
            format!("Peak Memory {task}"),
            mib(*b)
        );
    }
    if r.recycled > 0 {
        let _ = writeln!(f, "{:<26}: {}", "Recycled Instances", r.recycled);
    }
    if r.read_ahead > 0 {
        let _ = writeln!(f, "{:<26}: {}", "Batches Read Ahead", r.read_ahead);
    }
    for l in &r.loads {
        let _ = writeln!(
            f,
            "{:<26}: {}, {:.1} ms",
            format!("Load {}", l.path),
            l.from,
            l.took.as_secs_f64() * 1000.0
        );
    }
    let _ = write!(f, "{line}");
    f
}

/// What `st run` shows while a job runs.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub read: u64,
    pub written: u64,
    pub last_checkpoint: Option<(u64, u64)>,
}

impl Progress {
    /// Totals over the pipelines' latest figures.
    pub fn from_pipelines<'a>(pipelines: impl Iterator<Item = &'a TaskMetrics>) -> Progress {
        let mut p = Progress::default();
        for m in pipelines {
            p.read += m.total_read();
            p.written += m.total_written();
        }
        p
    }

    /// The one line kept up to date on a terminal.
    pub fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let checkpoint = match self.last_checkpoint {
            Some((id, ms)) => format!(", checkpoint {id} in {ms} ms"),
            None => String::new(),
        };
        format!(
            "{} read, {} written, {:.0} rows/s, {:.0}s{checkpoint}",
            self.read,
            self.written,
            self.read as f64 / secs,
            elapsed.as_secs_f64()
        )
    }

    /// SeaTunnel's progress block, printed every `print-execution-info-interval` seconds when
    /// the output is not a terminal; `since` is the previous block's figures and time.
    pub fn block(&self, job_id: &str, since: &(Progress, SystemTime), now: SystemTime) -> String {
        let line = "*".repeat(47);
        let secs = now
            .duration_since(since.1)
            .unwrap_or_default()
            .as_secs()
            .max(1);
        let row = |label: &str, value: String| format!("{label:<26}: {value:>19}\n");
        let mut s = format!("\n{line}\n{:11}Job Progress Information\n{line}\n", "");
        s += &row("Job Id", job_id.to_string());
        s += &row("Read Count So Far", self.read.to_string());
        s += &row("Write Count So Far", self.written.to_string());
        s += &row(
            "Average Read Count",
            format!("{}/s", self.read.saturating_sub(since.0.read) / secs),
        );
        s += &row(
            "Average Write Count",
            format!("{}/s", self.written.saturating_sub(since.0.written) / secs),
        );
        s += &row("Last Statistic Time", time(since.1));
        s += &row("Current Statistic Time", time(now));
        s + &line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_block_is_seatunnels() {
        let p = Progress {
            read: 320,
            written: 300,
            last_checkpoint: None,
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let before = Progress {
            read: 20,
            written: 0,
            last_checkpoint: None,
        };
        let b = p.block(
            "862969647010611201",
            &(before, t0),
            t0 + Duration::from_secs(60),
        );
        let lines: Vec<&str> = b.lines().collect();
        assert_eq!(lines[1], "*".repeat(47));
        assert_eq!(lines[2], "           Job Progress Information");
        assert_eq!(lines[4], "Job Id                    :  862969647010611201");
        assert_eq!(lines[5], "Read Count So Far         :                 320");
        assert_eq!(lines[7], "Average Read Count        :                 5/s");
        assert_eq!(lines[8], "Average Write Count       :                 5/s");
        assert_eq!(lines[9], "Last Statistic Time       : 2023-11-14 22:13:20");
    }
}
