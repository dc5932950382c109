//! The engine with the real wasm plugins, in one process: hostile plugins fail only their own
//! job while a neighbour completes, cancel stops a busy plugin, concurrent jobs compile a
//! component once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod failures;
mod plan;
mod read_limit;
mod rescale;

use st_engine::{Engine, JobError, JobReport};
use st_runtime::{PluginSource, Runtime, RuntimeConfig};

/// A runtime with the built-ins and no disk cache, so every count is this process's own.
pub fn runtime() -> Arc<Runtime> {
    let config = RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    };
    let rt = Runtime::new(config).expect("runtime");
    for b in st_builtin::BUILTINS {
        rt.register(b.name, b.kind, PluginSource::Builtin(b.wasm));
    }
    Arc::new(rt)
}

fn job(text: &str) -> st_job::JobConfig {
    let vars = HashMap::from([(
        "TEST_PLUGINS".to_string(),
        st_builtin::TEST_PLUGIN_DIR.to_string(),
    )]);
    st_job::load_str("job.conf", text, &vars, &|_| None).expect("valid job")
}

async fn run(engine: &Engine, text: &str) -> Result<JobReport, JobError> {
    let prepared = engine
        .prepare(&job(text), st_engine::JobId::generate())
        .await?;
    engine.run(prepared).await
}

const GOOD: &str = r#"
source { FakeSource { row.num = 200000, split.num = 4, parallelism = 2, schema = { fields { id = bigint, name = string } } } }
sink { Assert { rules { row_rules = [ { rule_type = MIN_ROW, rule_value = 400000 }, { rule_type = MAX_ROW, rule_value = 400000 } ] } } }
"#;

fn hostile(attack: &str) -> String {
    format!(
        "env {{ job.retry.times = 0, sandbox {{ max-memory-mb = 64, call-timeout-ms = 500 }} }}\nsource {{ \"${{TEST_PLUGINS}}/st_test_hostile.wasm\" {{ {attack} }} }}\nsink {{ Console {{}} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_plugin_fails_only_its_own_job() {
    let engine = Engine::new(runtime());
    let panic = "env { job.retry.times = 0, sandbox { max-memory-mb = 64 } }\nsource { \"${TEST_PLUGINS}/st_test_faulty_source.wasm\" { fail_in = panic } }\nsink { Console {} }\n".to_string();
    for (attack, want) in [
        (hostile("attack = busy-loop"), "call timeout of 500 ms"),
        (
            hostile("attack = memory-bomb"),
            "hit its memory limit of 64 MiB",
        ),
        (
            hostile("attack = read-file, target = \"/etc/passwd\""),
            "cannot read /etc/passwd",
        ),
        (
            hostile("attack = connect, target = \"127.0.0.1:9\""),
            "the sandbox denied: connect to 127.0.0.1:9",
        ),
        (
            hostile("attack = bad-batch"),
            "broke the contract: malformed batch",
        ),
        (panic, "the faulty source panicked on purpose"),
    ] {
        let (bad, good) = tokio::join!(run(&engine, &attack), run(&engine, GOOD));
        let err = bad.expect_err(want).to_string();
        assert!(err.contains(want), "{want}: {err}");
        assert!(
            err.contains("Source [source[0](st_test_"),
            "names plugin and task: {err}"
        );
        let report = good.unwrap_or_else(|e| panic!("the neighbour of `{want}` failed: {e}"));
        assert_eq!(report.total_written(), 400_000, "neighbour of `{want}`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_busy_plugin() {
    let engine = Arc::new(Engine::new(runtime()));
    let text =
        hostile("attack = busy-loop").replace("call-timeout-ms = 500", "call-timeout-ms = 0");
    let prepared = engine
        .prepare(&job(&text), st_engine::JobId::generate())
        .await
        .expect("prepares");
    let cancel = prepared.cancel_token();
    let e = engine.clone();
    let running = tokio::spawn(async move { e.run(prepared).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !running.is_finished(),
        "the busy loop should still be running"
    );
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("cancel stops the job")
        .expect("joins");
    let err = result.expect_err("cancelled").to_string();
    assert!(err.contains("stopped: the job was cancelled"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_jobs_compile_each_component_once() {
    let rt = runtime();
    let engine = Engine::new(rt.clone());
    let (a, b, c) = tokio::join!(run(&engine, GOOD), run(&engine, GOOD), run(&engine, GOOD));
    for r in [a, b, c] {
        assert_eq!(r.expect("runs").total_written(), 400_000);
    }
    // FakeSource and Assert, once each, whatever the interleaving.
    assert_eq!(rt.stats.compiled.load(Ordering::Relaxed), 2);
}
