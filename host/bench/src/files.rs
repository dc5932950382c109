//! Files and checkpoints: FakeSource → LocalFile csv without checkpoints and with one every
//! second (the cost of checkpointing), then LocalFile csv → csv on a 10 M-row file set beside
//! DuckDB doing the same copy with one thread (`pip install duckdb`), in the same run. Strait
//! syncs each file it commits (two-phase commit needs it durable); DuckDB's COPY does not.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use st_engine::{CheckpointConfig, Engine};
use st_runtime::{PluginSource, Runtime, RuntimeConfig};

const FIELDS: &str = "id = bigint, name = string, city = string, score = double, amount = \"decimal(10, 2)\", created = timestamp";

fn engine(checkpoints: &Path) -> Engine {
    let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
    for b in st_builtin::BUILTINS {
        rt.register(b.name, b.kind, PluginSource::Builtin(b.wasm));
    }
    let store = st_checkpoint::open::open(
        "localfile",
        &[("namespace".to_string(), checkpoints.display().to_string())]
            .into_iter()
            .collect(),
        "bench",
    )
    .expect("checkpoint store");
    Engine::new(Arc::new(rt)).with_checkpoints(CheckpointConfig {
        store: Some(store),
        ..CheckpointConfig::default()
    })
}

/// Runs a job text; returns (seconds, rows written).
fn run(tokio: &tokio::runtime::Runtime, engine: &Engine, text: &str) -> (f64, u64) {
    let job = st_job::load_str("bench.conf", text, &Default::default(), &|_| None)
        .unwrap_or_else(|e| panic!("{e}"));
    // Preparing (compiling a plugin the first time) is start-up, not throughput: the clock
    // starts when the job does, as DuckDB's starts at its COPY.
    tokio.block_on(async {
        let prepared = engine
            .prepare(&job, st_engine::JobId::generate())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let t = Instant::now();
        let report = engine.run(prepared).await.unwrap_or_else(|e| panic!("{e}"));
        (t.elapsed().as_secs_f64(), report.total_written())
    })
}

/// FakeSource → LocalFile csv with `readers` readers; each writer starts a new file every
/// `file_rows` rows.
fn generate_job(
    out: &Path,
    readers: u32,
    rows_per_reader: u64,
    file_rows: u64,
    interval: Option<u64>,
) -> String {
    let checkpoint = interval.map_or(String::new(), |ms| format!("checkpoint.interval = {ms}\n"));
    format!(
        "env {{\n  parallelism = {readers}\n  {checkpoint}}}\nsource {{ FakeSource {{ row.num = {rows_per_reader}, split.num = 4, string.length = 20, double.min = 0, double.max = 1000000, schema = {{ fields {{ {FIELDS} }} }} }} }}\nsink {{ LocalFile {{ path = \"{o}\", file_format_type = csv, batch_size = {file_rows}, sandbox {{ dirs = [ {{ path = \"{o}\", mode = rw }} ] }} }} }}\n",
        o = out.display()
    )
}

/// Writes what earlier steps left dirty back to disk and reads the input once, so each timed
/// copy starts alike: nothing to write back, the input in the page cache.
fn settle(input: &Path) {
    let _ = Command::new("sync").status();
    for e in std::fs::read_dir(input).into_iter().flatten().flatten() {
        let _ = std::io::copy(
            &mut std::fs::File::open(e.path()).expect("input"),
            &mut std::io::sink(),
        );
    }
}

fn fresh(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("bench dir");
}

pub fn run_all(tokio: &tokio::runtime::Runtime, rows: u64) {
    let root = std::env::temp_dir().join(format!("st-bench-files-{}", std::process::id()));
    fresh(&root);
    let engine = engine(&root.join("checkpoints"));
    let out = root.join("gen");

    println!("\nFakeSource -> LocalFile csv, parallelism 2, {rows} rows");
    println!("{:<32} {:>12} {:>10}", "checkpoints", "rows/s", "cost");
    let mut base = 0.0;
    for (name, interval) in [("none", None), ("every 1 s", Some(1000))] {
        // Best of three: the disk is shared with everything else on the machine.
        let mut best = 0.0f64;
        for _ in 0..3 {
            fresh(&out);
            let job = generate_job(&out, 2, rows / 2, 1_000_000, interval);
            let (secs, n) = run(tokio, &engine, &job);
            best = best.max(n as f64 / secs);
        }
        if interval.is_none() {
            base = best;
            println!("{name:<32} {best:>12.0} {:>10}", "-");
        } else {
            println!(
                "{name:<32} {best:>12.0} {:>9.1}%",
                (1.0 - best / base) * 100.0
            );
        }
    }

    let copy_rows = std::env::var("ST_BENCH_COPY_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000u64);
    let input = root.join("input");
    fresh(&input);
    // One file, as a user's export would be: readers share it by byte ranges.
    run(
        tokio,
        &engine,
        &generate_job(&input, 1, copy_rows, copy_rows, None),
    );
    let bytes: u64 = std::fs::read_dir(&input)
        .expect("input")
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum();
    println!(
        "\nLocalFile csv -> csv, one file of {copy_rows} rows, {:.2} GB",
        bytes as f64 / 1e9
    );
    println!("{:<32} {:>12}", "copy", "rows/s");
    let copied = root.join("copied");
    for par in [1, 2] {
        fresh(&copied);
        settle(&input);
        let job = format!(
            "env {{ parallelism = {par} }}\nsource {{ LocalFile {{ path = \"{i}\", file_format_type = csv, schema = {{ fields {{ {FIELDS} }} }}, sandbox {{ dirs = [ \"{i}\" ] }} }} }}\nsink {{ LocalFile {{ path = \"{o}\", file_format_type = csv, sandbox {{ dirs = [ {{ path = \"{o}\", mode = rw }} ] }} }} }}\n",
            i = input.display(),
            o = copied.display()
        );
        let (secs, n) = run(tokio, &engine, &job);
        assert_eq!(n, copy_rows, "every row copied");
        println!(
            "{:<32} {:>12.0}",
            format!("Strait, parallelism {par}"),
            n as f64 / secs
        );
    }
    let _ = std::fs::remove_dir_all(&copied);
    let script = format!(
        r#"
import duckdb, time
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute("SET enable_progress_bar = false")
cols = "{{'id': 'BIGINT', 'name': 'VARCHAR', 'city': 'VARCHAR', 'score': 'DOUBLE', 'amount': 'DECIMAL(10,2)', 'created': 'TIMESTAMP'}}"
t = time.time()
n = con.execute(f"COPY (SELECT * FROM read_csv('{i}/*.csv', header = false, columns = {{cols}})) TO '{o}' (HEADER false)").fetchone()[0]
print(n / (time.time() - t))
"#,
        i = input.display(),
        o = root.join("duckdb.csv").display()
    );
    settle(&input);
    match Command::new("python3").arg("-c").arg(&script).output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            match text.trim().lines().last().unwrap_or("").parse::<f64>() {
                Ok(rate) => println!("{:<32} {:>12.0}", "DuckDB, 1 thread", rate),
                Err(_) => println!("DuckDB: unexpected output `{}`", text.trim()),
            }
        }
        Ok(o) => println!(
            "DuckDB: not run ({})",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("DuckDB: not run ({e})"),
    }
    let _ = std::fs::remove_dir_all(&root);
}
