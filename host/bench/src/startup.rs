//! Job start-up: compiling a component cold, mapping it from the disk cache, finding it in the
//! memory cache, instantiating a task, cancelling a busy plugin, and the whole `st run` process
//! for a 5-row FakeSource → Console job with the components already in the disk cache.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use st_runtime::{PluginSource, Runtime, RuntimeConfig, TaskContext};

fn runtime(cache_dir: Option<&Path>) -> Runtime {
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: cache_dir.map(Path::to_path_buf),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    for b in st_builtin::BUILTINS {
        rt.register(b.name, b.kind, PluginSource::Builtin(b.wasm));
    }
    rt
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn run(tokio: &tokio::runtime::Runtime) {
    let cache = std::env::temp_dir().join(format!("st-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    println!("\nStart-up (median of runs; the memory and disk caches as `st` uses them)");
    println!(
        "{:<12} {:>16} {:>16} {:>16}",
        "plugin", "cold compile ms", "disk cache ms", "memory cache ms"
    );
    for name in ["FakeSource", "Console", "Sql"] {
        let mut cold = Vec::new();
        let mut disk = Vec::new();
        let mut memory = Vec::new();
        for round in 0..5 {
            let dir = cache.join(format!("{name}-{round}"));
            // Cold: nothing on disk, nothing in memory (and written to disk as `st` does).
            let rt = runtime(Some(&dir));
            let t = Instant::now();
            let p = tokio.block_on(rt.load(name)).expect("loads");
            cold.push(t.elapsed());
            drop(p);
            drop(rt);
            // A new process would find the artifact on disk.
            let rt = runtime(Some(&dir));
            let t = Instant::now();
            let p = tokio.block_on(rt.load(name)).expect("loads");
            disk.push(t.elapsed());
            let t = Instant::now();
            let again = tokio.block_on(rt.load(name)).expect("loads");
            memory.push(t.elapsed());
            drop((p, again));
        }
        println!(
            "{:<12} {:>16.1} {:>16.2} {:>16.3}",
            name,
            ms(median(cold)),
            ms(median(disk)),
            ms(median(memory))
        );
    }
    instantiation(tokio, &cache);
    cancel_latency(tokio);
    whole_process(&cache);
    let _ = std::fs::remove_dir_all(&cache);
}

fn ctx(rt: &Runtime) -> TaskContext {
    TaskContext {
        job_id: "bench".into(),
        job_name: "bench".into(),
        plugin_path: "sink[0](Console)".into(),
        subtask: 0,
        parallelism: 1,
        bounded: true,
        sandbox: Arc::new(rt.default_sandbox()),
        cancel: Default::default(),
    }
}

/// Instantiating a task: a fresh Store, WASI context and instance from the `InstancePre`, plus
/// the contract's `create` call.
fn instantiation(tokio: &tokio::runtime::Runtime, cache: &Path) {
    let rt = runtime(Some(&cache.join("inst")));
    let console = tokio.block_on(rt.load("Console")).expect("loads");
    let ctx = ctx(&rt);
    let n = 2000;
    let t = Instant::now();
    tokio.block_on(async {
        for _ in 0..n {
            let w = rt
                .sink_writer(&console, "{}", &ctx, &[], &[])
                .await
                .expect("writer");
            drop(w);
        }
    });
    println!(
        "instantiate a task (Store + instance + create), Console sink writer: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}

/// Time from cancelling a job to its busy plugin having stopped.
fn cancel_latency(tokio: &tokio::runtime::Runtime) {
    let rt = Arc::new(runtime(None));
    let engine = st_engine::Engine::new(rt);
    let text = format!(
        "env {{ sandbox {{ call-timeout-ms = 0 }} }}\nsource {{ \"{}\" {{ attack = busy-loop }} }}\nsink {{ Console {{}} }}\n",
        st_builtin::test_plugin("hostile").display()
    );
    let job =
        st_job::load_str("cancel.conf", &text, &Default::default(), &|_| None).expect("parses");
    let mut samples = Vec::new();
    for _ in 0..10 {
        let prepared = tokio
            .block_on(engine.prepare(&job, st_engine::JobId::generate()))
            .expect("prepares");
        let cancel = prepared.cancel_token();
        let latency = tokio.block_on(async {
            let running = engine.run(prepared);
            tokio::pin!(running);
            tokio::select! {
                _ = &mut running => panic!("a busy loop does not finish"),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            let t = Instant::now();
            cancel.cancel();
            let _ = running.await;
            t.elapsed()
        });
        samples.push(latency);
    }
    println!(
        "cancel a job whose plugin spins in a busy loop: stopped after {:.1} ms (median of 10; worst {:.1} ms)",
        ms(median(samples.clone())),
        ms(*samples.iter().max().expect("samples"))
    );
}

/// The `st` binary next to this one.
fn st_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let st = exe.parent()?.join("st");
    st.exists().then_some(st)
}

fn whole_process(cache: &Path) {
    let Some(st) = st_binary() else {
        println!(
            "whole `st run` process: skipped (build `st` first: `cargo build --release -p st-cli`)"
        );
        return;
    };
    let dir = cache.join("process");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("st.yaml");
    std::fs::write(
        &conf,
        "seatunnel:\n  engine:\n    component-cache-dir: components\n",
    )
    .expect("st.yaml");
    let job = dir.join("job.conf");
    std::fs::write(
        &job,
        "source { FakeSource { row.num = 5, schema = { fields { id = bigint, name = string } } } }\nsink { Console {} }\n",
    )
    .expect("job");
    let run = || {
        let t = Instant::now();
        let out = Command::new(&st)
            .arg("--st-config")
            .arg(&conf)
            .arg("run")
            .arg(&job)
            .output()
            .expect("st runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    };
    let first = run();
    let warm: Vec<Duration> = (0..20).map(|_| run()).collect();
    println!(
        "whole `st run` process, 5-row FakeSource -> Console: first run (compiles) {:.0} ms; components in the disk cache {:.1} ms (median of 20; target < 150 ms)",
        ms(first),
        ms(median(warm))
    );
}
