//! `env.read_limit`: each reader keeps to `rows_per_second` and `bytes_per_second` at once, as
//! SeaTunnel applies them to each parallel reader. The measured rates stay under the limits
//! (a job that ignored them would finish in milliseconds).

use st_engine::Engine;

use crate::{run, runtime};

fn limited(limits: &str, parallelism: u32, rows: u64) -> String {
    format!(
        r#"
env {{ parallelism = {parallelism}, {limits} }}
source {{ FakeSource {{ row.num = {rows}, split.num = {parallelism}, string.length = 90, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ Blackhole {{}} }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_per_second_holds_for_each_reader() {
    let engine = Engine::new(runtime());
    // About 100 bytes a row: 3,000 rows are about 300 kB, 1.5 s at 200 kB/s.
    let report = run(
        &engine,
        &limited("read_limit.bytes_per_second = 200000", 1, 3000),
    )
    .await
    .expect("runs");
    let secs = report.duration.as_secs_f64();
    let rate = report.bytes_read as f64 / secs;
    assert!(report.bytes_read > 250_000, "{} bytes", report.bytes_read);
    assert!(rate <= 200_000.0 * 1.1, "{rate:.0} B/s over {secs:.2} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_limits_hold_and_the_tighter_one_wins_per_reader() {
    let engine = Engine::new(runtime());
    // Two readers of 2,000 rows: at 1,000 rows/s each the rows limit takes 2 s; the bytes
    // limit (10 MB/s) would allow far more.
    let report = run(
        &engine,
        &limited(
            "read_limit.rows_per_second = 1000, read_limit.bytes_per_second = 10000000",
            2,
            2000,
        ),
    )
    .await
    .expect("runs");
    let secs = report.duration.as_secs_f64();
    assert_eq!(report.total_read(), 4000);
    let rate = report.total_read() as f64 / secs;
    assert!(
        rate <= 2.0 * 1000.0 * 1.1,
        "{rate:.0} rows/s over {secs:.2} s"
    );
    // And the other way round: the bytes limit is the tighter one.
    let report = run(
        &engine,
        &limited(
            "read_limit.rows_per_second = 1000000, read_limit.bytes_per_second = 100000",
            2,
            1000,
        ),
    )
    .await
    .expect("runs");
    let rate = report.bytes_read as f64 / report.duration.as_secs_f64();
    assert!(rate <= 2.0 * 100_000.0 * 1.1, "{rate:.0} B/s");
}
