//! The engine config, the disk cache of compiled components, plugin artifacts by path and URL
//! with sha256 pins, `plugin-dirs`, and cancelling a busy plugin.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::Digest as _;

use crate::{root, sigint, text, wait_for_exit};

/// Runs `st --st-config CONF args...` with the test plugins as `${TEST_PLUGINS}` when a job runs.
fn st_conf(conf: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_st"));
    cmd.arg("--st-config").arg(conf).args(args);
    if args.first().is_some_and(|a| *a == "run" || *a == "check") {
        cmd.arg("-i")
            .arg(format!("TEST_PLUGINS={}", st_builtin::TEST_PLUGIN_DIR));
    }
    cmd.current_dir(root()).output().expect("run st")
}

/// A temp dir holding `st.yaml` with `body` under `seatunnel.engine` and a private cache dir.
fn engine_config(body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("st.yaml");
    std::fs::write(
        &conf,
        format!("seatunnel:\n  engine:\n    component-cache-dir: cache\n{body}"),
    )
    .unwrap();
    (dir, conf)
}

fn artifacts(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    v.sort();
    v
}

const JOB: &str = "conf/examples/fake_to_console.conf";

#[test]
fn a_second_process_maps_compiled_components_from_the_disk_cache() {
    let (dir, conf) = engine_config("");
    let first = st_conf(&conf, &["run", JOB]);
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stderr}");
    assert!(
        stdout.contains("Load source[0](FakeSource): compiled"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Load sink[0](Console)     : compiled"),
        "{stdout}"
    );
    let cache = dir.path().join("cache");
    assert_eq!(artifacts(&cache).len(), 2, "one artifact per component");

    let second = st_conf(&conf, &["run", JOB]);
    let (stdout, stderr) = text(&second);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stdout.contains("Load source[0](FakeSource): disk cache"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Load sink[0](Console)     : disk cache"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Write demo.people         : 10"),
        "{stdout}"
    );
}

#[test]
fn a_corrupt_or_foreign_artifact_is_recompiled_never_loaded() {
    let (dir, conf) = engine_config("");
    assert!(st_conf(&conf, &["run", JOB]).status.success());
    let cache = dir.path().join("cache");
    // Truncate one artifact: its checksum no longer matches.
    for a in artifacts(&cache) {
        let bytes = std::fs::read(&a).unwrap();
        std::fs::write(&a, &bytes[..bytes.len() / 2]).unwrap();
    }
    let out = st_conf(&conf, &["run", JOB]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("Load source[0](FakeSource): compiled"),
        "{stdout}"
    );
    assert!(stderr.contains("its checksum does not match"), "{stderr}");
    assert!(stderr.contains("recompiling"), "{stderr}");

    // An artifact whose checksum matches but which is not wasmtime's output for this engine
    // (another version, or garbage written with a fresh sum): wasmtime refuses it.
    for a in artifacts(&cache) {
        let garbage = b"\x7fELF this is not a compiled component".to_vec();
        std::fs::write(&a, &garbage).unwrap();
        std::fs::write(
            a.with_extension("sum"),
            format!("{} {}\n", blake3::hash(&garbage).to_hex(), garbage.len()),
        )
        .unwrap();
    }
    let out = st_conf(&conf, &["run", JOB]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("Load sink[0](Console)     : compiled"),
        "{stdout}"
    );
    assert!(stderr.contains("wasmtime refuses it"), "{stderr}");

    let again = st_conf(&conf, &["run", JOB]);
    let (stdout, _) = text(&again);
    assert!(
        stdout.contains("Load sink[0](Console)     : disk cache"),
        "{stdout}"
    );
}

#[test]
fn inspect_reports_world_size_compile_time_and_cache_state() {
    let (_dir, conf) = engine_config("");
    let out = st_conf(&conf, &["plugin", "inspect", "Console"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("world:    strait:connector/sink-plugin@0.1.0"),
        "{stdout}"
    );
    assert!(stdout.contains("size:     "), "{stdout}");
    assert!(
        stdout.contains("cache:    compiled now, stored in the disk cache"),
        "{stdout}"
    );
    let out = st_conf(&conf, &["plugin", "inspect", "Console"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("cache:    loaded from the disk cache"),
        "{stdout}"
    );
    assert!(stdout.contains("(disk cache)"), "{stdout}");
}

#[test]
fn engine_config_errors_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("st.yaml");
    std::fs::write(
        &conf,
        "seatunnel:\n  engine:\n    backup-count: 1\n    component-cache-mod: true\n",
    )
    .unwrap();
    let out = st_conf(&conf, &["run", JOB]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:4:5: unknown field `component-cache-mod`",
            conf.display()
        )),
        "{stderr}"
    );

    let out = st_conf(&dir.path().join("missing.yaml"), &["run", JOB]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing.yaml: cannot read"), "{stderr}");
}

#[test]
fn classloader_cache_mode_is_read_as_component_cache_mode_with_a_notice() {
    let (_dir, conf) = engine_config("    classloader-cache-mode: false\n");
    let out = st_conf(&conf, &["run", JOB]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("classloader-cache-mode is read as component-cache-mode"),
        "{stderr}"
    );
}

#[test]
fn plugin_dirs_make_plugins_resolvable_by_name() {
    let (_dir, conf) = engine_config(&format!(
        "    plugin-dirs: [\"{}\"]\n",
        st_builtin::TEST_PLUGIN_DIR
    ));
    let out = st_conf(&conf, &["plugin", "list"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("st_test_faulty_source") && l.contains("source")),
        "{stdout}"
    );
    let job = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        job.path(),
        "source { st_test_faulty_source { rows = 3 } }\nsink { Assert { rules { row_rules = [ { rule_type = MIN_ROW, rule_value = 3 }, { rule_type = MAX_ROW, rule_value = 3 } ] } } }\n",
    )
    .unwrap();
    let out = st_conf(&conf, &["run", job.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Total Write Count         : 3"), "{stdout}");
}

/// A job reading 3 rows through the faulty source named by `artifact` (and `sha256`).
fn artifact_job(artifact: &str, sha256: Option<&str>) -> tempfile::NamedTempFile {
    let job = tempfile::NamedTempFile::new().unwrap();
    let pin = sha256
        .map(|h| format!("\n    sha256 = \"{h}\""))
        .unwrap_or_default();
    std::fs::write(
        job.path(),
        format!(
            "source {{\n  MyFaulty {{\n    artifact = \"{artifact}\"{pin}\n    rows = 3\n  }}\n}}\nsink {{ Assert {{ rules {{ row_rules = [ {{ rule_type = MIN_ROW, rule_value = 3 }}, {{ rule_type = MAX_ROW, rule_value = 3 }} ] }} }} }}\n"
        ),
    )
    .unwrap();
    job
}

/// Serves `bytes` at every path over HTTP on 127.0.0.1 until the returned server is dropped.
fn serve(bytes: Vec<u8>) -> (std::sync::Arc<tiny_http::Server>, u16) {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let s = server.clone();
    std::thread::spawn(move || {
        for req in s.incoming_requests() {
            let resp = if req.url().ends_with(".wasm") {
                tiny_http::Response::from_data(bytes.clone())
                    .with_status_code(200)
                    .with_chunked_threshold(usize::MAX)
            } else {
                tiny_http::Response::from_data(b"not here".to_vec()).with_status_code(404)
            };
            let _ = req.respond(resp);
        }
    });
    (server, port)
}

#[test]
fn artifacts_resolve_by_path_file_url_and_http_url_with_sha256_pins() {
    let (_dir, conf) = engine_config("");
    let wasm = st_builtin::test_plugin("faulty-source");
    let bytes = std::fs::read(&wasm).unwrap();
    let good = hex::encode(sha2::Sha256::digest(&bytes));
    let bad = "0".repeat(64);
    let (server, port) = serve(bytes);
    let path = wasm.display().to_string();
    let file_url = format!("file://{path}");
    let http_url = format!("http://127.0.0.1:{port}/plugins/st_test_faulty_source.wasm");
    for location in [&path, &file_url, &http_url] {
        for pin in [None, Some(good.as_str())] {
            let job = artifact_job(location, pin);
            let out = st_conf(&conf, &["run", job.path().to_str().unwrap()]);
            let (stdout, stderr) = text(&out);
            assert!(out.status.success(), "{location} {pin:?}: {stderr}");
            assert!(stdout.contains("Total Write Count         : 3"), "{stdout}");
        }
        let job = artifact_job(location, Some(&bad));
        let out = st_conf(&conf, &["run", job.path().to_str().unwrap()]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{location}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "source[0](MyFaulty): plugin {location} does not match its sha256 pin: the job expects {bad}, the artifact's bytes hash to {good}; refusing to run it"
            )),
            "{stderr}"
        );
    }
    let missing = format!("http://127.0.0.1:{port}/nothing");
    let job = artifact_job(&missing, None);
    let out = st_conf(&conf, &["run", job.path().to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("plugin {missing} cannot fetch")),
        "{stderr}"
    );
    drop(server);
}

#[test]
fn a_second_sigint_cancels_a_busy_plugin_and_exits_130() {
    let job = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        job.path(),
        format!(
            "env {{ sandbox {{ call-timeout-ms = 0 }} }}\nsource {{ \"{}\" {{ attack = busy-loop }} }}\nsink {{ Console {{}} }}\n",
            st_builtin::test_plugin("hostile").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_st"))
        .args(["run", job.path().to_str().unwrap()])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("started") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "st ended early");
    }
    // Let the plugin get into its loop, then interrupt: the first SIGINT asks for a savepoint,
    // which a plugin stuck in one call never reaches; the second cancels.
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(300));
        sigint(&child);
    }
    let status = wait_for_exit(&mut child);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("stopped: the job was cancelled"), "{rest}");
}
