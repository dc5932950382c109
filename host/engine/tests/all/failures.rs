//! Typed failures from the plugin seam to the job result: a fatal error or a broken contract
//! fails the job at once; a retriable error restarts the pipeline until the retries run out,
//! and the job reports its last attempt's error.

use st_engine::{Engine, FailureKind, JobError, RetryHint, TaskRole};

use crate::{run, runtime};

/// Runs `text`, which must fail, and returns its failure.
async fn failure(text: &str) -> st_engine::Failure {
    let engine = Engine::new(runtime());
    match run(&engine, text).await {
        Err(JobError::Failed { failure, .. }) => failure,
        other => panic!("expected a failed job, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committers_fatal_error_fails_the_job_without_a_retry() {
    let f = failure(
        r#"
env { job.retry.times = 3, job.retry.interval.seconds = 0 }
source { FakeSource { row.num = 10, schema = { fields { id = bigint } } } }
sink { "${TEST_PLUGINS}/st_test_fault_sink.wasm" { fail_in = commit_fatal, expect_rows = 10 } }
"#,
    )
    .await;
    assert_eq!(f.kind, FailureKind::Fatal, "{f}");
    assert_eq!(f.retry, RetryHint::Fail);
    let task = f.task.expect("names its task");
    assert!(
        matches!(task.role, TaskRole::Committer { sink: 1 }),
        "{task}"
    );
    assert_eq!(task.attempt, 0, "not retried");
    assert!(
        f.message
            .contains("injected fatal failure committing checkpoint 1"),
        "{f}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enumerators_broken_contract_fails_the_job_without_a_retry() {
    let f = failure(
        r#"
env { parallelism = 2, job.retry.times = 3, job.retry.interval.seconds = 0 }
source { "${TEST_PLUGINS}/st_test_faulty_source.wasm" { fail_in = enumerate } }
sink { Blackhole {} }
"#,
    )
    .await;
    assert_eq!(f.kind, FailureKind::Contract, "{f}");
    assert!(
        f.message
            .contains("assigned split s2 to reader 2, but there are 2"),
        "{f}"
    );
    assert!(!f.may_restart());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_in_each_of_its_four_attempts_reports_the_last_one() {
    let engine = Engine::new(runtime());
    let text = r#"
env { job.retry.times = 3, job.retry.interval.seconds = 0 }
source { "${TEST_PLUGINS}/st_test_faulty_source.wasm" { fail_in = poll_retriable, fail_after = 3 } }
sink { Blackhole {} }
"#;
    let err = run(&engine, text).await.expect_err("fails");
    let JobError::Failed { failure: f, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(f.kind, FailureKind::Retriable, "{f}");
    assert_eq!(
        f.task.expect("names its task").attempt,
        3,
        "the fourth attempt's"
    );
    assert!(
        err.to_string().contains("read failed after 3 rows"),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("(pipeline 0 subtask 0, attempt 4)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_fatal_error_while_reading_is_not_retried() {
    let f = failure(
        r#"
env { job.retry.times = 3, job.retry.interval.seconds = 0 }
source { "${TEST_PLUGINS}/st_test_faulty_source.wasm" { fail_in = poll, fail_after = 3 } }
sink { Blackhole {} }
"#,
    )
    .await;
    assert_eq!(f.kind, FailureKind::Fatal, "{f}");
    assert_eq!(f.task.expect("names its task").attempt, 0);
}
