//! Builds `plugins/` (its own cargo workspace) for wasm32-wasip2 and embeds the components.
//! The test plugins in `plugins/testing/` are built by the same step and exposed by path.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// (crate directory, plugin name, kind) of every built-in.
const BUILTINS: &[(&str, &str, &str)] = &[
    ("fakesource", "FakeSource", "Source"),
    ("console", "Console", "Sink"),
    ("assert", "Assert", "Sink"),
    ("blackhole", "Blackhole", "Sink"),
    ("localfile_sink", "LocalFile", "Sink"),
    ("localfile_source", "LocalFile", "Source"),
    ("copy", "Copy", "Transform"),
    ("field_mapper", "FieldMapper", "Transform"),
    ("filter", "Filter", "Transform"),
    ("filter_rowkind", "FilterRowKind", "Transform"),
    ("replace", "Replace", "Transform"),
    ("rowkind_extractor", "RowKindExtractor", "Transform"),
    ("split", "Split", "Transform"),
    ("sql", "Sql", "Transform"),
    ("jsonpath", "JsonPath", "Transform"),
];

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let plugins = root.join("plugins");
    let target_dir = env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| root.join("target"), PathBuf::from)
        .join("plugins");
    for watched in ["plugins", "sdk", "wit", "host/core/src"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // From the plugins' folder, so their `.cargo/config.toml` (wasm target features) applies.
        .current_dir(&plugins)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("could not run cargo to build the plugins");
    assert!(
        status.success(),
        "building plugins/ for wasm32-wasip2 failed (see the errors above)"
    );
    let out_wasm = target_dir.join("wasm32-wasip2/release");
    let mut code = String::from(
        "/// The built-in plugins, compiled into this binary.\npub static BUILTINS: &[Builtin] = &[\n",
    );
    for (dir, name, kind) in BUILTINS {
        let wasm = out_wasm.join(format!("st_plugin_{dir}.wasm"));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        writeln!(
            code,
            "    Builtin {{ name: {name:?}, kind: st_core::PluginKind::{kind}, wasm: include_bytes!({:?}) }},",
            wasm.display().to_string()
        )
        .expect("write to string");
    }
    code.push_str("];\n\n/// Where the test plugins of `plugins/testing/` were built.\npub const TEST_PLUGIN_DIR: &str = ");
    writeln!(code, "{:?};", out_wasm.display().to_string()).expect("write to string");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin.rs");
    std::fs::write(out, code).expect("write builtin.rs");
}
