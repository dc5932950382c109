# Every task a person runs. `.ci/run` calls the same commands.

default:
    @just --list

# Build the built-in and test plugins for wasm32-wasip2 (the `st` build does this too).
build-plugins:
    cd plugins && cargo build --release --locked --target wasm32-wasip2 --target-dir ../target/plugins

# Run the example job in local mode.
run-example:
    cargo run --release -p st-cli -- run conf/examples/fake_to_console.conf

# Run every test: the plugins' and SDK's unit tests natively, then the workspace.
test:
    cd plugins && cargo test --locked --target-dir ../target/plugins-native
    cd sdk && cargo test --target-dir ../target/sdk-native
    cargo test --workspace

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cd plugins && cargo fmt --all --check
    cd sdk && cargo fmt --check
    cargo clippy --workspace --all-targets -- -D warnings
    cd plugins && cargo clippy --target wasm32-wasip2 --target-dir ../target/plugins -- -D warnings
    cd sdk && cargo clippy --all-targets --target-dir ../target/sdk-native -- -D warnings

# Benchmarks: start-up (compile, disk and memory cache, instantiation, cancel, the whole `st run`
# process), a 3-node cluster against local mode (idle cost, submit -> RUNNING, throughput),
# failover times (kill -9 of a task node, of the master), then
# the wasm pipeline against the same pipeline in native Rust, then transforms.
# `ST_BENCH=startup|cluster|failover|rest|files|throughput` runs one part; `ST_BENCH_ROWS` sets the rows per run and
# `ST_BENCH_COPY_ROWS` the size of the csv copy (default 10 M rows, about 1 GB).
bench:
    pip install --quiet duckdb || echo "duckdb not installed: its comparison is skipped"
    cargo build --release -p st-cli -p st-node
    cargo run --release -p st-bench
