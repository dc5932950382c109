//! Memory stays flat across hundreds of jobs: 500 sequential jobs in one process, once with
//! `component-cache-mode: true` and once with `false`. The resident set after the last job must
//! be within 10% of the resident set after the 50th, and with the cache on every component must
//! have been compiled exactly once. Runs as its own process (`harness = false`) so nothing else
//! allocates beside it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use st_engine::Engine;
use st_runtime::{PluginSource, Runtime, RuntimeConfig};

const JOBS: usize = 500;
const BASELINE_AFTER: usize = 50;

const JOB: &str = r#"
env { parallelism = 2 }
source { FakeSource { row.num = 2000, split.num = 2, schema = { fields { id = bigint, name = string, score = double } } } }
transform { Copy { fields { name_copy = name } } }
sink { Assert { rules { row_rules = [ { rule_type = MIN_ROW, rule_value = 4000 }, { rule_type = MAX_ROW, rule_value = 4000 } ] } } }
"#;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn run_mode(keep_compiled: bool) -> Result<(), String> {
    let cache = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = RuntimeConfig {
        keep_compiled,
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let rt = Runtime::new(config).map_err(|e| e.to_string())?;
    for b in st_builtin::BUILTINS {
        rt.register(b.name, b.kind, PluginSource::Builtin(b.wasm));
    }
    let rt = Arc::new(rt);
    let engine = Engine::new(rt.clone());
    let job = st_job::load_str("leak.conf", JOB, &HashMap::new(), &|_| None)
        .map_err(|e| e.to_string())?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut baseline = 0;
    for i in 1..=JOBS {
        let report = tokio.block_on(async {
            let prepared = engine
                .prepare(&job, st_engine::JobId::generate())
                .await
                .map_err(|e| e.to_string())?;
            engine.run(prepared).await.map_err(|e| e.to_string())
        })?;
        if report.total_written() != 4000 {
            return Err(format!("job {i} wrote {} rows", report.total_written()));
        }
        if i == BASELINE_AFTER {
            baseline = rss_bytes();
        }
    }
    let last = rss_bytes();
    let compiled = rt.stats.compiled.load(Ordering::Relaxed);
    let disk = rt.stats.disk_loads.load(Ordering::Relaxed);
    let held = rt.cached_components();
    println!(
        "component-cache-mode {keep_compiled}: RSS after job {BASELINE_AFTER} {:.1} MiB, after job {JOBS} {:.1} MiB ({:+.1}%); compiled {compiled}, mapped from disk {disk}, held after the last job {held}",
        baseline as f64 / 1048576.0,
        last as f64 / 1048576.0,
        (last as f64 / baseline as f64 - 1.0) * 100.0
    );
    if last as f64 > baseline as f64 * 1.10 {
        return Err(format!(
            "RSS grew from {baseline} to {last} bytes between job {BASELINE_AFTER} and job {JOBS}"
        ));
    }
    // Three components: FakeSource, Copy, Assert.
    if keep_compiled {
        if compiled != 3 || disk != 0 || held != 3 {
            return Err(format!(
                "with the cache on each component compiles once and stays: compiled {compiled}, from disk {disk}, held {held}"
            ));
        }
    } else if compiled != 3 || held != 0 {
        return Err(format!(
            "with the cache off components are compiled once (then mapped from disk) and released after each job: compiled {compiled}, held {held}"
        ));
    }
    Ok(())
}

fn main() {
    let (mut passed, mut failed) = (0, 0);
    for keep in [true, false] {
        let name = format!("leak::component_cache_mode_{keep}");
        match run_mode(keep) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored");
    if failed > 0 {
        std::process::exit(1);
    }
}
