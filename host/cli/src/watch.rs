//! Watching a running job from `st run` (its events) or `st submit` (events made from what
//! the cluster reports): one progress line kept up to date on a terminal, and
//! SeaTunnel's progress block every `print-execution-info-interval` seconds otherwise; restarts
//! are printed as they happen.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use st_engine::{JobEvent, TaskMetrics};
use tokio::sync::broadcast;

use crate::report::Progress;

/// How the watcher shows what happens.
pub struct Watch {
    pub job_id: String,
    /// `job.retry.times`, for the restart lines.
    pub retry_times: u32,
    /// Between progress blocks when not on a terminal.
    pub interval: Duration,
    /// Print each state the job enters before its end (`st submit`).
    pub states: bool,
}

/// Follows `events` until the job ends (or the sender goes away).
pub async fn run(w: Watch, mut events: broadcast::Receiver<JobEvent>) {
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    });
    let say = |text: String| match &bar {
        Some(b) => b.println(text),
        None => eprintln!("{text}"),
    };
    let mut pipelines: BTreeMap<u32, TaskMetrics> = BTreeMap::new();
    let mut last_checkpoint = None;
    let mut previous = (Progress::default(), SystemTime::now());
    let mut blocks = tokio::time::interval_at(
        tokio::time::Instant::now() + w.interval,
        w.interval.max(Duration::from_millis(100)),
    );
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(JobEvent::Progress { pipeline, metrics }) => {
                    pipelines.insert(pipeline, metrics);
                }
                Ok(JobEvent::CheckpointCompleted { id, duration_ms, .. }) => {
                    last_checkpoint = Some((id, duration_ms));
                }
                Ok(JobEvent::Restarted { pipeline, attempt, from_checkpoint, error }) => {
                    let from = from_checkpoint
                        .map_or("from the start".to_string(), |id| format!("from checkpoint {id}"));
                    say(format!(
                        "Pipeline {pipeline} failed: {error}; restarting {from} (retry {attempt} of {})",
                        w.retry_times
                    ));
                }
                Ok(JobEvent::Job { status, .. }) if status.is_end() => break,
                Ok(JobEvent::Job { status, .. }) if w.states => say(format!("Job {}: {status}", w.job_id)),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = blocks.tick(), if bar.is_none() => {
                let mut now = Progress::from_pipelines(pipelines.values());
                now.last_checkpoint = last_checkpoint;
                let at = SystemTime::now();
                eprintln!("{}", now.block(&w.job_id, &previous, at));
                previous = (now, at);
                continue;
            }
        }
        if let Some(b) = &bar {
            let mut now = Progress::from_pipelines(pipelines.values());
            now.last_checkpoint = last_checkpoint;
            b.set_message(now.line(started.elapsed()));
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}
