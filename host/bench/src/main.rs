//! `just bench`: FakeSource (id bigint, name string(16), score double) → a discarding sink,
//! run as wasm plugins through the engine and as the same generator compiled natively into a
//! loop that drops each batch, at parallelism 1 and 2, in the same process. Prints rows/s, MB/s
//! and the wasm/native ratio. Rows per run: `ST_BENCH_ROWS` (default 20,000,000).

mod cluster;
mod failover;
mod files;
mod rest;
mod startup;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use st_engine::Engine;
use st_runtime::{PluginSource, Runtime, RuntimeConfig};
use st_sdk::{Describe, Options, Poll, Source, SplitEnumerator, SplitReader, TaskContext};

const BATCH: u32 = st_engine::BATCH_ROWS;

fn source_options(rows_per_reader: u64) -> serde_json::Value {
    serde_json::json!({
        "row.num": rows_per_reader,
        "split.num": 1,
        "string.length": 16,
        "schema": { "fields": { "id": "bigint", "name": "string", "score": "double" } }
    })
}

/// The wasm pipeline through the engine; returns (seconds, rows, bytes).
async fn wasm_run(engine: &Engine, rows: u64, parallelism: u32) -> (f64, u64, u64) {
    wasm_run_with(engine, rows, parallelism, "").await
}

/// Like `wasm_run`, with a `transform { ... }` body between source and sink.
async fn wasm_run_with(
    engine: &Engine,
    rows: u64,
    parallelism: u32,
    transforms: &str,
) -> (f64, u64, u64) {
    let job = format!(
        "env {{ parallelism = {parallelism}, job.mode = BATCH }}\nsource {{ FakeSource {} }}\ntransform {{ {transforms} }}\nsink {{ Blackhole {{}} }}\n",
        source_options(rows / u64::from(parallelism))
    );
    let job =
        st_job::load_str("bench.conf", &job, &HashMap::new(), &|_| None).expect("bench job parses");
    let prepared = engine
        .prepare(&job, st_engine::JobId::generate())
        .await
        .expect("bench job is valid");
    let t = Instant::now();
    let report = engine.run(prepared).await.expect("bench job runs");
    (
        t.elapsed().as_secs_f64(),
        report.total_written(),
        report.bytes_read,
    )
}

/// Only the wasm source: the reader's batches are lifted into the host and dropped there,
/// which separates the source's cost from the sink's.
async fn wasm_source_only(engine: &Engine, rows: u64) -> (f64, u64) {
    let rt = engine.runtime();
    let plugin = rt.load("FakeSource").await.expect("FakeSource loads");
    let options = source_options(rows).to_string();
    let ctx = st_runtime::TaskContext {
        job_id: "bench".into(),
        job_name: "bench".into(),
        plugin_path: "source[0](FakeSource)".into(),
        subtask: 0,
        parallelism: 1,
        bounded: true,
        sandbox: std::sync::Arc::new(rt.default_sandbox()),
        cancel: Default::default(),
    };
    let info = rt.open_source(&plugin, &options, &ctx).await.expect("open");
    let mut e = rt
        .enumerator(&plugin, &options, &ctx, None)
        .await
        .expect("enumerator");
    let splits: Vec<_> = e
        .enumerate()
        .await
        .expect("splits")
        .assignments
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let mut r = rt
        .reader(&plugin, &options, &ctx, &[], &info.tables)
        .await
        .expect("reader");
    r.add_splits(&splits).await.expect("add");
    r.no_more_splits().await.expect("no more");
    let t = Instant::now();
    let mut n = 0u64;
    loop {
        let (b, status) = r.poll_next(BATCH).await.expect("poll");
        if let Some(b) = b {
            n += b.num_rows as u64;
            black_box(b);
        }
        if status == st_runtime::PollStatus::Finished {
            break;
        }
    }
    (t.elapsed().as_secs_f64(), n)
}

/// The same pipeline in native Rust: the FakeSource code compiled for the host, one thread per
/// reader, each batch dropped.
fn native_run(rows: u64, parallelism: u32) -> (f64, u64, u64) {
    let json = source_options(rows / u64::from(parallelism)).to_string();
    let options =
        Options::parse(&json, st_plugin_fakesource::FakeSource::options()).expect("options");
    let ctx = |subtask| TaskContext {
        job_id: "bench".into(),
        job_name: "bench".into(),
        plugin_path: "source[0](FakeSource)".into(),
        subtask,
        parallelism,
        bounded: true,
    };
    let t = Instant::now();
    let mut enumerator =
        st_plugin_fakesource::FakeSource::enumerator(&options, &ctx(0), None).expect("enumerator");
    let plan = enumerator.enumerate().expect("splits");
    let handles: Vec<_> = (0..parallelism)
        .map(|r| {
            let splits: Vec<_> = plan
                .assignments
                .iter()
                .filter(|(reader, _)| *reader == r)
                .map(|(_, s)| s.clone())
                .collect();
            let options = options.clone();
            let c = ctx(r);
            std::thread::spawn(move || {
                let mut reader = st_plugin_fakesource::FakeSource::reader(&options, &c, Vec::new())
                    .expect("reader");
                reader.add_splits(splits).expect("splits");
                reader.no_more_splits();
                let (mut rows, mut bytes) = (0u64, 0u64);
                loop {
                    match reader.poll_next(BATCH).expect("poll") {
                        Poll::Batch(b) | Poll::Finished(Some(b)) => {
                            rows += b.num_rows as u64;
                            bytes += b.byte_size() as u64;
                            black_box(b);
                        }
                        Poll::Finished(None) => break,
                        Poll::Idle => {}
                    }
                }
                (rows, bytes)
            })
        })
        .collect();
    let (mut rows, mut bytes) = (0, 0);
    for h in handles {
        let (r, b) = h.join().expect("reader thread");
        rows += r;
        bytes += b;
    }
    (t.elapsed().as_secs_f64(), rows, bytes)
}

fn main() {
    let rows: u64 = std::env::var("ST_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let which = std::env::var("ST_BENCH").unwrap_or_else(|_| "all".into());
    if which == "startup" || which == "all" {
        startup::run(&tokio);
        if which == "startup" {
            return;
        }
    }
    if which == "cluster" || which == "all" {
        cluster::run(&tokio, rows);
        if which == "cluster" {
            return;
        }
    }
    if which == "failover" || which == "all" {
        failover::run(&tokio);
        if which == "failover" {
            return;
        }
    }
    if which == "rest" || which == "all" {
        rest::run(&tokio);
        if which == "rest" {
            return;
        }
    }
    if which == "files" || which == "all" {
        files::run_all(&tokio, rows / 4);
        if which == "files" {
            return;
        }
    }
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    for b in st_builtin::BUILTINS {
        runtime.register(b.name, b.kind, PluginSource::Builtin(b.wasm));
    }
    let engine = Engine::new(Arc::new(runtime));
    // Warm-up: compile the components once.
    tokio.block_on(wasm_run(&engine, 100_000, 1));
    println!(
        "FakeSource (id bigint, name string(16), score double) -> discarding sink, {rows} rows per run"
    );
    let (s, n) = tokio.block_on(wasm_source_only(&engine, rows));
    println!(
        "wasm FakeSource alone (batches lifted into the host and dropped): {:.0} rows/s",
        n as f64 / s
    );
    println!(
        "{:<10} {:>4} {:>12} {:>10} {:>8}",
        "pipeline", "par", "rows/s", "MB/s", "ratio"
    );
    for parallelism in [1u32, 2] {
        let (ns, nr, nb) = native_run(rows, parallelism);
        let (ws, wr, wb) = tokio.block_on(wasm_run(&engine, rows, parallelism));
        assert_eq!(nr, wr, "both pipelines move the same rows");
        let native = nr as f64 / ns;
        let wasm = wr as f64 / ws;
        println!(
            "{:<10} {:>4} {:>12.0} {:>10.1} {:>8}",
            "native",
            parallelism,
            native,
            nb as f64 / ns / 1e6,
            ""
        );
        println!(
            "{:<10} {:>4} {:>12.0} {:>10.1} {:>7.0}%",
            "wasm",
            parallelism,
            wasm,
            wb as f64 / ws / 1e6,
            wasm / native * 100.0
        );
    }
    transforms(&tokio, &engine, rows / 2);
}

/// The cost of transforms: the same wasm pipeline with and without them, parallelism 1.
fn transforms(tokio: &tokio::runtime::Runtime, engine: &Engine, rows: u64) {
    let cases = [
        ("none", ""),
        ("Copy", "Copy { fields { name2 = name } }"),
        (
            "Replace",
            "Replace { replace_field = name, pattern = \"a\", replacement = \"b\" }",
        ),
        (
            "Replace (2 chars by 3)",
            "Replace { replace_field = name, pattern = \"ab\", replacement = \"xyz\" }",
        ),
        (
            "FieldMapper",
            "FieldMapper { field_mapper { id = key, name = label, score = points } }",
        ),
        (
            "Copy -> Replace -> FieldMapper",
            "Copy { plugin_output = t1, fields { name2 = name } }\n\
             Replace { plugin_input = t1, plugin_output = t2, replace_field = name, pattern = \"a\", replacement = \"b\" }\n\
             FieldMapper { plugin_input = t2, field_mapper { id = key, name = label, name2 = label2, score = points } }",
        ),
        (
            "Sql (projection, WHERE, 3 functions)",
            "Sql { query = \"select id, upper(name) as name, round(score, 2) as score, length(name) as len from t where id % 2 = 0\" }",
        ),
    ];
    println!(
        "\nTransforms, parallelism 1, {rows} rows, best of 3 (cost = time per input row beyond the plain pipeline)"
    );
    println!(
        "{:<38} {:>12} {:>12} {:>10}",
        "transforms", "rows/s", "ns/row", "slower by"
    );
    let mut base = 0.0;
    for (name, body) in cases {
        // Best of three: one core is shared with everything else on the machine.
        let secs = (0..3)
            .map(|_| tokio.block_on(wasm_run_with(engine, rows, 1, body)).0)
            .fold(f64::INFINITY, f64::min);
        let rate = rows as f64 / secs;
        if name == "none" {
            base = rate;
            println!("{:<38} {:>12.0} {:>12} {:>10}", name, rate, "-", "-");
        } else {
            let cost = 1e9 / rate - 1e9 / base;
            println!(
                "{:<38} {:>12.0} {:>12.1} {:>9.0}%",
                name,
                rate,
                cost,
                (1.0 - rate / base) * 100.0
            );
        }
    }
}
