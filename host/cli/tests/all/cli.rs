//! `st plugin ...` and command-line errors.

use crate::{st_plain, text};

#[test]
fn plugin_list_shows_every_builtin_with_its_kind() {
    let out = st_plain(&["plugin", "list"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for (name, kind) in [
        ("FakeSource", "source"),
        ("Console", "sink"),
        ("Assert", "sink"),
        ("Blackhole", "sink"),
        ("LocalFile", "source"),
        ("LocalFile", "sink"),
        ("Sql", "transform"),
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().take(2).collect::<Vec<_>>() == [name, kind]),
            "{name} {kind} missing:\n{stdout}"
        );
    }
}

#[test]
fn a_name_that_is_a_source_and_a_sink_is_inspected_as_both_or_as_the_kind_asked() {
    let out = st_plain(&["plugin", "inspect", "LocalFile"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("kind:     source"), "{stdout}");
    assert!(stdout.contains("kind:     sink"), "{stdout}");
    let out = st_plain(&["plugin", "inspect", "localfile", "--kind", "source"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("kind:     source"), "{stdout}");
    assert!(!stdout.contains("kind:     sink"), "{stdout}");
    assert!(stdout.contains("skip_header_row_number"), "{stdout}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_st"))
        .args(["plugin", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing: closing our end makes every write after the pipe's buffer fails.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn plugin_inspect_prints_options_with_docs_and_defaults() {
    let out = st_plain(&["plugin", "inspect", "fakesource"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("kind:     source"), "{stdout}");
    assert!(
        stdout.contains("world:    strait:connector/source-plugin@0.1.0"),
        "{stdout}"
    );
    let row_num = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("row.num "))
        .expect("row.num listed");
    assert!(
        row_num.contains("integer") && row_num.contains("default 5"),
        "{row_num}"
    );
    assert!(
        stdout.contains("Rows generated per parallel reader."),
        "{stdout}"
    );
}

#[test]
fn plugin_inspect_refuses_a_core_module() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let out = st_plain(&["plugin", "inspect", path.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("is a core WebAssembly module, not a component"),
        "{stderr}"
    );
}

#[test]
fn a_missing_job_file_is_named() {
    let out = st_plain(&["run", "no/such/job.conf"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no/such/job.conf: cannot read the job config"),
        "{stderr}"
    );
}

#[test]
fn a_bad_variable_argument_is_named() {
    let out = st_plain(&["run", "conf/examples/fake_to_console.conf", "-i", "novalue"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("`-i novalue` is not KEY=VALUE"), "{stderr}");
}

#[test]
fn plugin_inspect_shows_transform_options() {
    for (name, option, doc) in [
        ("Sql", "query", "select <expressions> from <input table>"),
        ("Replace", "replace_first", "Replace only the first match"),
        (
            "JsonPath",
            "row_error_handle_way",
            "FAIL the job or SKIP the row",
        ),
        (
            "RowKindExtractor",
            "transform_type",
            "SHORT (+I, -U, +U, -D)",
        ),
    ] {
        let out = st_plain(&["plugin", "inspect", name]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stdout.contains("kind:     transform"), "{name}: {stdout}");
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(option)),
            "{name} lacks {option}: {stdout}"
        );
        assert!(stdout.contains(doc), "{name} lacks doc `{doc}`: {stdout}");
    }
}

#[test]
fn the_perfmap_profiler_names_plugin_functions_for_perf() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_st"))
        .arg("run")
        .arg("conf/examples/fake_to_console.conf")
        .env("ST_WASM_PROFILER", "perfmap")
        .current_dir(crate::root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run st");
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&map).unwrap_or_default();
    let _ = std::fs::remove_file(&map);
    assert!(
        text.contains("wasm["),
        "no plugin functions in {}",
        map.display()
    );
}

#[test]
fn the_unknown_option_hint_for_a_plugin_loaded_by_path_is_a_command_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.conf");
    std::fs::write(
        &job,
        "source { \"${TEST_PLUGINS}/st_test_faulty_source.wasm\" { fial_in = none } }\nsink { Blackhole {} }\n",
    )
    .unwrap();
    let out = crate::st(&["check", "--strict", &job.display().to_string()]);
    let (_, stderr) = crate::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("did you mean `fail_in`?"), "{stderr}");
    let hint = stderr
        .split("(`st plugin inspect ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no inspect hint in {stderr}"));
    assert!(hint.ends_with("st_test_faulty_source.wasm"), "{hint}");
    let out = crate::st_plain(&["plugin", "inspect", hint]);
    let (stdout, stderr) = crate::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("fail_in"), "{stdout}");
}
