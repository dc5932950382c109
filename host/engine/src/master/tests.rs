//! The coordinator driven by fake tasks on channels: no plugin, no wasm, just the protocol.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use st_checkpoint::{CheckpointStore, Kind, TaskSnapshot};
use st_core::{PluginKind, SandboxConfig};
use st_plan::{
    Command, Event, FailureKind, JobEvent, JobId, JobPlan, PipelinePlan, PluginId, SplitMsg,
    TaskId, TaskMetrics, TaskRole, Vertex,
};
use st_runtime::CancelToken;

use super::{Outcome, run_pipeline};
use crate::JobControl;
use crate::task::{Commands, Events, TaskHandle, TaskLauncher, TaskStart};

const SOURCE: &str = "source[0](Fake)";
const SINK: &str = "sink[0](Fake)";

fn vertex(path: &str, kind: PluginKind, downstream: Vec<(u32, u32)>) -> Vertex {
    Vertex {
        path: path.into(),
        kind,
        plugin: PluginId {
            name: "Fake".into(),
            sha256: "00".repeat(32),
            artifact: None,
        },
        options: "{}".into(),
        in_tables: Vec::new(),
        out_tables: Vec::new(),
        downstream,
        parallelism: None,
        sandbox: SandboxConfig::default(),
    }
}

fn plan(bounded: bool, interval_ms: Option<u64>, retry_times: u32) -> JobPlan {
    JobPlan {
        env: Vec::new(),
        job_id: JobId::from(42),
        job_name: "fake".into(),
        bounded,
        vertices: vec![
            vertex(SOURCE, PluginKind::Source, vec![(1, 0)]),
            vertex(SINK, PluginKind::Sink, Vec::new()),
        ],
        pipelines: vec![PipelinePlan {
            id: 0,
            sources: vec![0],
            sinks: vec![1],
            parallelism: 2,
        }],
        rows_per_second: None,
        bytes_per_second: None,
        checkpoint_interval_ms: interval_ms,
        checkpoint_timeout_ms: 400,
        retry_times,
        retry_interval_ms: 0,
        warnings: Vec::new(),
        tag_filter: Default::default(),
    }
}

fn control(store: Option<CheckpointStore>) -> JobControl {
    JobControl {
        store,
        resume: false,
        max_retained: 3,
        cancel: CancelToken::default(),
        savepoint: CancelToken::default(),
        events: tokio::sync::broadcast::channel(1024).0,
    }
}

fn memory_store() -> CheckpointStore {
    CheckpointStore::new(Arc::new(object_store::memory::InMemory::new()), "test/42")
}

/// How the fake tasks misbehave.
#[derive(Default, Clone)]
struct Script {
    /// (attempt, subtask): fails with a crash when checkpoint 1 completes.
    fail_after_first_checkpoint: Option<(u32, u32)>,
    /// (attempt, subtask): never acknowledges a barrier.
    silent: Option<(u32, u32)>,
    /// Subtask 0 of every attempt before this one is lost with its node at its first
    /// completed checkpoint.
    node_lost_before_attempt: u32,
}

/// What the fake tasks saw, in order, e.g. `barrier enumerator/0@0 1`.
#[derive(Default, Clone)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn position(&self, line: &str) -> usize {
        let lines = self.lines();
        lines
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("no `{line}` in {lines:#?}"))
    }
}

struct Fake {
    script: Script,
    log: Log,
    /// The restore each task started from, by `role@attempt`.
    starts: Arc<Mutex<BTreeMap<String, TaskSnapshot>>>,
    /// Every events sender handed out, to send stale events with.
    senders: Arc<Mutex<Vec<(TaskId, Events)>>>,
}

struct Handle(Arc<AtomicBool>, tokio::task::AbortHandle);

impl TaskHandle for Handle {
    fn abort(&self) {
        self.1.abort();
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_finished(&self) -> bool {
        self.0.load(Ordering::SeqCst) || self.1.is_finished()
    }

    fn ended(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let (done, abort) = (self.0.clone(), self.1.clone());
        Box::pin(async move {
            while !(done.load(Ordering::SeqCst) || abort.is_finished()) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    }
}

/// Logs `ended X` when task X's future is dropped: at its end, or when it is aborted.
struct Ended(Log, String);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.push(format!("ended {}", self.1));
    }
}

fn name(t: &TaskId) -> String {
    format!("{}@{}", t.role.key(), t.attempt)
}

impl TaskLauncher for Fake {
    fn launch(&self, start: TaskStart, cmds: Commands, events: Events) -> Box<dyn TaskHandle> {
        let task = start.task;
        self.log.push(format!("launch {}", name(&task)));
        self.starts
            .lock()
            .unwrap()
            .insert(name(&task), start.restore.clone());
        self.senders.lock().unwrap().push((task, events.clone()));
        let (script, log) = (self.script.clone(), self.log.clone());
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let ended = Ended(log.clone(), name(&task));
        let h = tokio::spawn(async move {
            let _ended = ended;
            fake_task(task, script, log, cmds, events).await;
            flag.store(true, Ordering::SeqCst);
        });
        Box::new(Handle(done, h.abort_handle()))
    }
}

async fn fake_task(task: TaskId, script: Script, log: Log, mut cmds: Commands, events: Events) {
    let me = name(&task);
    let subtask = match task.role {
        TaskRole::Subtask { index } => Some(index),
        _ => None,
    };
    let is = |s: Option<(u32, u32)>| s.is_some() && s == subtask.map(|i| (task.attempt, i));
    let mut handed_out = false;
    while let Some(cmd) = cmds.recv().await {
        let send = |ev| {
            let _ = events.send(ev);
        };
        match cmd {
            Command::RequestSplits => {
                let assignments = if handed_out {
                    Vec::new()
                } else {
                    (0..2)
                        .map(|r| {
                            let id = format!("split-{r}");
                            (r, SplitMsg { id, data: vec![] })
                        })
                        .collect()
                };
                handed_out = true;
                send(Event::Splits {
                    task,
                    assignments,
                    no_more: true,
                });
            }
            Command::AssignSplits { splits, .. } => {
                log.push(format!("assign {me} {}", splits[0].id));
            }
            Command::NoMoreSplits { .. } => send(Event::Drained { task }),
            Command::Barrier { id, kind } => {
                log.push(format!("barrier {me} {id} {kind:?}"));
                if is(script.silent) {
                    continue;
                }
                let mut snapshot = TaskSnapshot::default();
                match subtask {
                    Some(i) => {
                        snapshot
                            .states
                            .insert(SOURCE.into(), vec![format!("reader {i}@{id}").into()]);
                        snapshot
                            .commit_infos
                            .insert(SINK.into(), vec![format!("{i}/{id}").into()]);
                    }
                    None => {
                        snapshot
                            .states
                            .insert(SOURCE.into(), vec![format!("enum@{id}").into()]);
                    }
                }
                send(Event::Ack { task, id, snapshot });
            }
            Command::Commit { id, infos } => {
                let infos: Vec<String> = infos
                    .iter()
                    .map(|i| String::from_utf8_lossy(i).into_owned())
                    .collect();
                log.push(format!("commit {id} {}", infos.join(",")));
                send(Event::Committed { task, id });
            }
            Command::CheckpointComplete { id } => {
                if subtask == Some(0) && task.attempt < script.node_lost_before_attempt {
                    send(Event::Failed {
                        task,
                        failure: st_plan::Failure::new(FailureKind::NodeLost, "node B was lost")
                            .from_task(task),
                    });
                    return;
                }
                if id == 1 && is(script.fail_after_first_checkpoint) {
                    send(Event::Failed {
                        task,
                        failure: st_plan::Failure::new(FailureKind::Crash, "the fake crashed")
                            .from_task(task),
                    });
                    return;
                }
            }
            Command::Finish => {
                log.push(format!("finish {me}"));
                let rows = if subtask.is_some() { 5 } else { 0 };
                send(Event::Finished {
                    task,
                    metrics: TaskMetrics {
                        rows_read: vec![(SOURCE.into(), rows)],
                        ..TaskMetrics::default()
                    },
                });
                return;
            }
            Command::Cancel => {
                log.push(format!("cancel {me}"));
                return;
            }
        }
    }
}

fn fake(script: Script) -> Fake {
    Fake {
        script,
        log: Log::default(),
        starts: Arc::default(),
        senders: Arc::default(),
    }
}

async fn run(
    plan: &JobPlan,
    fake: &Fake,
    control: &JobControl,
) -> Result<Outcome, st_plan::Failure> {
    tokio::time::timeout(
        Duration::from_secs(20),
        run_pipeline(plan, 0, fake, control),
    )
    .await
    .expect("the pipeline ends")
}

#[tokio::test]
async fn a_batch_pipeline_ends_with_a_final_checkpoint_committed_before_it_finishes() {
    let (plan, fake) = (plan(true, None, 0), fake(Script::default()));
    let outcome = run(&plan, &fake, &control(None)).await.expect("finishes");
    let Outcome::Finished(metrics) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(metrics.total_read(), 10, "both subtasks' rows");
    let log = &fake.log;
    // Splits reach their readers ahead of the barrier; the enumerator snapshots before any
    // subtask gets the barrier; the commit comes before anyone finishes.
    assert!(
        log.position("assign subtask/0@0 split-0") < log.position("barrier subtask/0@0 1 Final")
    );
    assert!(
        log.position("barrier enumerator/0@0 1 Final")
            < log.position("barrier subtask/0@0 1 Final")
    );
    assert!(
        log.position("barrier enumerator/0@0 1 Final")
            < log.position("barrier subtask/1@0 1 Final")
    );
    assert!(log.position("commit 1 0/1,1/1") < log.position("finish subtask/0@0"));
    assert!(log.position("finish subtask/1@0") < log.position("finish committer/1@0"));
}

#[tokio::test]
async fn a_savepoint_stops_a_streaming_pipeline_after_committing_it() {
    let (plan, fake) = (plan(false, Some(60_000), 0), fake(Script::default()));
    let control = control(Some(memory_store()));
    let savepoint = control.savepoint.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        savepoint.cancel();
    });
    let outcome = run(&plan, &fake, &control).await.expect("stops");
    assert!(matches!(outcome, Outcome::Savepointed(_)), "{outcome:?}");
    let log = &fake.log;
    assert!(log.position("commit 1 0/1,1/1") < log.position("finish subtask/0@0"));
    // The committers are not closed: the job goes on when it is resumed.
    assert!(!log.lines().contains(&"finish committer/1@0".to_string()));
    let cp = control
        .store
        .unwrap()
        .latest(0)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!((cp.id, cp.kind), (1, Kind::Savepoint));
    assert_eq!(cp.tasks.len(), 3, "the enumerator and both subtasks");
}

#[tokio::test]
async fn a_crash_restarts_from_the_latest_checkpoint_and_commits_it_again_first() {
    let script = Script {
        fail_after_first_checkpoint: Some((0, 1)),
        ..Script::default()
    };
    let (plan, fake) = (plan(true, Some(50), 1), fake(script));
    let control = control(Some(memory_store()));
    let mut events = control.events.subscribe();
    let outcome = run(&plan, &fake, &control)
        .await
        .expect("finishes on its second attempt");
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    let log = &fake.log;
    // Checkpoint 1 is committed again before attempt 1's tasks start, from its snapshots.
    let first = log.position("commit 1 0/1,1/1");
    let recommit = log.lines()[first + 1..]
        .iter()
        .position(|l| l == "commit 1 0/1,1/1")
        .expect("committed again")
        + first
        + 1;
    assert!(recommit < log.position("launch subtask/0@1"));
    let starts = fake.starts.lock().unwrap();
    assert_eq!(
        starts["subtask/1@1"].states[SOURCE],
        vec![b"reader 1@1".to_vec()]
    );
    assert_eq!(
        starts["enumerator/0@1"].states[SOURCE],
        vec![b"enum@1".to_vec()]
    );
    // One committer for the whole run: it lives across attempts.
    assert!(!log.lines().contains(&"launch committer/1@1".to_string()));
    drop(starts);
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        match e {
            JobEvent::Pipeline { status, .. } => seen.push(status.to_string()),
            JobEvent::Restarted {
                attempt,
                from_checkpoint,
                error,
                ..
            } => seen.push(format!(
                "restart {attempt} from {from_checkpoint:?}: {error}"
            )),
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            "SCHEDULED",
            "DEPLOYING",
            "RUNNING",
            "DEPLOYING",
            "restart 1 from Some(1): the fake crashed",
            "RUNNING",
            "FINISHED"
        ]
    );
}

#[tokio::test]
async fn lost_nodes_restart_the_pipeline_without_using_up_its_retries() {
    let script = Script {
        node_lost_before_attempt: 4,
        ..Script::default()
    };
    // No retries at all, and four attempts lost to dead nodes: the fifth finishes.
    let (p, f) = (plan(true, Some(50), 0), fake(script));
    let outcome = run(&p, &f, &control(Some(memory_store())))
        .await
        .expect("finishes");
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    assert!(f.log.lines().contains(&"launch subtask/0@4".to_string()));
    // A crash still counts: with no retries it fails the pipeline at once.
    let script = Script {
        fail_after_first_checkpoint: Some((0, 0)),
        ..Script::default()
    };
    let (p, f) = (plan(true, Some(50), 0), fake(script));
    let failure = run(&p, &f, &control(Some(memory_store())))
        .await
        .expect_err("fails");
    assert_eq!(failure.kind, FailureKind::Crash, "{failure}");
}

#[tokio::test]
async fn a_cancel_during_a_checkpoint_stops_every_task_without_a_retry() {
    let script = Script {
        silent: Some((0, 0)),
        ..Script::default()
    };
    let (plan, fake) = (plan(false, Some(20), 3), fake(script));
    let control = control(None);
    let cancel = control.cancel.clone();
    let log = fake.log.clone();
    tokio::spawn(async move {
        while !log
            .lines()
            .iter()
            .any(|l| l.starts_with("barrier subtask/0@0"))
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
    });
    let failure = run(&plan, &fake, &control).await.expect_err("cancelled");
    assert_eq!(failure.kind, FailureKind::Cancelled);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines = fake.log.lines();
    assert!(
        !lines.iter().any(|l| l.contains("@1")),
        "no second attempt: {lines:#?}"
    );
    for t in [
        "enumerator/0@0",
        "subtask/0@0",
        "subtask/1@0",
        "committer/1@0",
    ] {
        assert!(
            lines.contains(&format!("ended {t}")),
            "{t} stopped: {lines:#?}"
        );
    }
}

#[tokio::test]
async fn a_task_that_never_answers_times_the_checkpoint_out() {
    let script = Script {
        silent: Some((0, 1)),
        ..Script::default()
    };
    let (plan, fake) = (plan(false, Some(20), 0), fake(script));
    let failure = run(&plan, &fake, &control(None))
        .await
        .expect_err("times out");
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    assert!(failure.message.contains("subtask/1"), "{failure}");
}

#[tokio::test]
async fn a_late_ack_of_an_older_attempt_does_not_count() {
    // Attempt 0 crashes after checkpoint 1; in attempt 1 subtask 0 never acknowledges, and an
    // acknowledgement in its name from attempt 0 arrives instead: it must not complete the
    // checkpoint, which therefore times out.
    let script = Script {
        fail_after_first_checkpoint: Some((0, 1)),
        silent: Some((1, 0)),
        ..Script::default()
    };
    let (plan, fake) = (plan(false, Some(50), 1), fake(script));
    let senders = fake.senders.clone();
    let log = fake.log.clone();
    tokio::spawn(async move {
        loop {
            let lines = log.lines();
            if let Some(barrier) = lines.iter().find(|l| l.starts_with("barrier subtask/0@1 ")) {
                let id: u64 = barrier.split(' ').nth(2).unwrap().parse().unwrap();
                let senders = senders.lock().unwrap();
                let (task, events) = senders
                    .iter()
                    .find(|(t, _)| t.role == TaskRole::Subtask { index: 0 } && t.attempt == 0)
                    .unwrap();
                let _ = events.send(Event::Ack {
                    task: *task,
                    id,
                    snapshot: TaskSnapshot::default(),
                });
                return;
            }
            drop(lines);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let failure = run(&plan, &fake, &control(Some(memory_store())))
        .await
        .expect_err("attempt 1 times out");
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    // Counted, the stale ack would have completed checkpoint 2 and a later one timed out.
    assert!(
        failure.message.contains("checkpoint 2 timed out") && failure.message.contains("subtask/0"),
        "{failure}"
    );
    assert!(!fake.log.lines().iter().any(|l| l.starts_with("commit 2")));
}

/// An in-memory store whose listings fail the first `failures` times: a checkpoint store that
/// is still coming back when a new master resumes a job.
#[derive(Debug)]
struct Flaky {
    inner: object_store::memory::InMemory,
    failures: std::sync::atomic::AtomicU32,
}

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaky")
    }
}

impl Flaky {
    fn fails(&self) -> Option<object_store::Error> {
        let left = self.failures.load(Ordering::SeqCst);
        (left > 0).then(|| {
            self.failures.store(left - 1, Ordering::SeqCst);
            object_store::Error::Generic {
                store: "flaky",
                source: "not reachable yet".into(),
            }
        })
    }
}

#[async_trait::async_trait]
impl object_store::ObjectStore for Flaky {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: futures_util::stream::BoxStream<
            'static,
            object_store::Result<object_store::path::Path>,
        >,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::path::Path>>
    {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
    {
        use futures_util::StreamExt as _;
        match self.fails() {
            Some(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
            None => self.inner.list(prefix),
        }
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        match self.fails() {
            Some(e) => Err(e),
            None => self.inner.list_with_delimiter(prefix).await,
        }
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[tokio::test]
async fn a_resume_retries_a_checkpoint_store_that_is_not_reachable_yet() {
    let store = Arc::new(Flaky {
        inner: object_store::memory::InMemory::new(),
        failures: std::sync::atomic::AtomicU32::new(3),
    });
    let mut control = control(Some(CheckpointStore::new(store.clone(), "test/42")));
    control.resume = true;
    let (plan, fake) = (plan(true, Some(50), 0), fake(Script::default()));
    let outcome = run(&plan, &fake, &control).await.expect("finishes");
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    assert_eq!(
        store.failures.load(Ordering::SeqCst),
        0,
        "it was asked again"
    );
}
