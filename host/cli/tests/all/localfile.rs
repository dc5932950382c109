//! The LocalFile source and sink: formats, options, and their errors, through `st run`.

use std::path::Path;
use std::process::Command;

use crate::{root, text};

fn run_job(dir: &Path, job: &str) -> std::process::Output {
    st_job(dir, "run", job)
}

fn check_job(dir: &Path, job: &str) -> std::process::Output {
    st_job(dir, "check", job)
}

/// `st VERB job.conf` with the job written into `dir` (`DIR` in it replaced by `dir`).
fn st_job(dir: &Path, verb: &str, job: &str) -> std::process::Output {
    let path = dir.join("job.conf");
    std::fs::write(&path, job.replace("DIR", &dir.display().to_string())).unwrap();
    Command::new(env!("CARGO_BIN_EXE_st"))
        .arg(verb)
        .arg(&path)
        .current_dir(root())
        .output()
        .expect("run st")
}

fn read_dir_text(dir: &Path, ext: &str) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[test]
fn csv_with_header_and_quotes_reads_into_typed_fields_and_writes_json_text_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("people.csv"),
        "id,name,born,score\n1,\"Doe, Jane\",1990-05-01,1.5\n2,\"say \"\"hi\"\"\",,\n",
    )
    .unwrap();
    std::fs::write(input.join("notes.txt"), "not csv\n").unwrap();
    for d in ["json", "text", "csv"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let out = run_job(
        dir.path(),
        r#"
source {
  LocalFile {
    path = "DIR/in"
    file_format_type = csv
    file_filter_pattern = ".*\\.csv"
    skip_header_row_number = 1
    schema = { fields { id = bigint, name = string, born = date, score = double } }
    plugin_output = "people"
    sandbox { dirs = [ "DIR/in" ] }
  }
}
sink {
  LocalFile { plugin_input = "people", path = "DIR/json", file_format_type = json, sandbox { dirs = [ { path = "DIR/json", mode = rw } ] } }
  LocalFile { plugin_input = "people", path = "DIR/text", file_format_type = text, field_delimiter = "|", sink_columns = [name, id], sandbox { dirs = [ { path = "DIR/text", mode = rw } ] } }
  LocalFile { plugin_input = "people", path = "DIR/csv", enable_header_write = true, sandbox { dirs = [ { path = "DIR/csv", mode = rw } ] } }
}
"#,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Total Read Count          : 2"), "{stdout}");
    assert_eq!(
        read_dir_text(&dir.path().join("json"), "json"),
        "{\"id\":1,\"name\":\"Doe, Jane\",\"born\":\"1990-05-01\",\"score\":1.5}\n{\"id\":2,\"name\":\"say \\\"hi\\\"\",\"born\":null,\"score\":null}\n"
    );
    assert_eq!(
        read_dir_text(&dir.path().join("text"), "txt"),
        "Doe, Jane|1\nsay \"hi\"|2\n"
    );
    assert_eq!(
        read_dir_text(&dir.path().join("csv"), "csv"),
        "id,name,born,score\n1,\"Doe, Jane\",1990-05-01,1.5\n2,\"say \"\"hi\"\"\",,\n"
    );
    // Nothing temporary is left behind.
    assert!(!dir.path().join("csv/.strait-tmp").exists());
}

#[test]
fn text_without_schema_is_one_content_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "first line\nsecond\u{1}line\n").unwrap();
    let out = run_job(
        dir.path(),
        r#"
source { LocalFile { path = "DIR/a.log", file_format_type = text, sandbox { dirs = [ "DIR" ] } } }
sink { Assert { rules { row_rules = [ { rule_type = MAX_ROW, rule_value = 2 }, { rule_type = MIN_ROW, rule_value = 2 } ], field_rules = [ { field_name = content, field_type = string, field_value = [ { rule_type = NOT_NULL } ] } ] } } }
"#,
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn bad_input_names_the_option_or_the_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.csv"), "1,x\nnot-a-number,y\n").unwrap();
    let cases = [
        (
            r#"source { LocalFile { path = "DIR", file_format_type = parquet, sandbox { dirs = [ "DIR" ] } } }
sink { Console {} }"#,
            "source[0](LocalFile).file_format_type: `parquet` is not supported; use text, csv or json",
        ),
        (
            r#"source { LocalFile { path = "DIR", file_format_type = json, sandbox { dirs = [ "DIR" ] } } }
sink { Console {} }"#,
            "source[0](LocalFile).schema: json files need a schema",
        ),
        (
            r#"source { LocalFile { path = "DIR/bad.csv", file_format_type = csv, schema = { fields { id = bigint, s = string } }, sandbox { dirs = [ "DIR" ] } } }
sink { Console {} }"#,
            "bad.csv at byte 4: `\"not-a-number\"` is not a valid bigint",
        ),
        (
            r#"source { FakeSource { schema = { fields { id = int } } } }
sink { LocalFile { path = "DIR/out", file_format_type = xml, sandbox { dirs = [ { path = "DIR", mode = rw } ] } } }"#,
            "sink[0](LocalFile)",
        ),
        (
            r#"source { FakeSource { row.num = 5, schema = { fields { id = int } } } }
sink { LocalFile { path = "DIR/ro", sandbox { dirs = [ { path = "DIR/ro", mode = ro } ] } } }"#,
            "sink[0](LocalFile).path: `DIR/ro` is written by the plugin but the job's sandbox.dirs grant it read-only",
        ),
    ];
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::create_dir_all(dir.path().join("ro")).unwrap();
    for (job, want) in cases {
        let out = run_job(dir.path(), job);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{job}");
        let want = want.replace("DIR", &dir.path().display().to_string());
        for part in want.split('|') {
            assert!(stderr.contains(part), "{part}\n{stderr}");
        }
    }
    // A path option outside the job's own sandbox block is found before anything runs, by
    // `st check` as by `st run`; `..` does not lead out of a grant.
    for (tmp, args) in [("DIR/elsewhere", "run"), ("DIR/out/../elsewhere", "check")] {
        let job = format!(
            r#"source {{ FakeSource {{ row.num = 5, schema = {{ fields {{ id = int }} }} }} }}
sink {{ LocalFile {{ path = "DIR/out", tmp_path = "{tmp}", sandbox {{ dirs = [ {{ path = "DIR/out", mode = rw }} ] }} }} }}"#
        );
        let out = if args == "run" {
            run_job(dir.path(), &job)
        } else {
            check_job(dir.path(), &job)
        };
        let (_, stderr) = text(&out);
        let d = dir.path().display().to_string();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "sink[0](LocalFile).tmp_path: `{}` is not in a directory the job's sandbox.dirs grant ({d}/out)",
                tmp.replace("DIR", &d)
            )),
            "{stderr}"
        );
    }
}

#[test]
fn gzip_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["gz", "plain"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let out = run_job(
        dir.path(),
        r#"
env { parallelism = 2 }
source { FakeSource { row.num = 3000, split.num = 3, schema = { fields { id = bigint, name = string } }, plugin_output = "rows" } }
sink {
  LocalFile { plugin_input = "rows", path = "DIR/gz", compress_codec = gzip, sandbox { dirs = [ { path = "DIR/gz", mode = rw } ] } }
  LocalFile { plugin_input = "rows", path = "DIR/plain", sandbox { dirs = [ { path = "DIR/plain", mode = rw } ] } }
}
"#,
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let gz: Vec<_> = std::fs::read_dir(dir.path().join("gz"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(gz.iter().all(|n| n.ends_with(".csv.gz")), "{gz:?}");
    std::fs::create_dir_all(dir.path().join("back")).unwrap();
    let out = run_job(
        dir.path(),
        r#"
source { LocalFile { path = "DIR/gz", file_format_type = csv, compress_codec = gzip, schema = { fields { id = bigint, name = string } }, sandbox { dirs = [ "DIR/gz" ] } } }
sink { LocalFile { path = "DIR/back", sandbox { dirs = [ { path = "DIR/back", mode = rw } ] } } }
"#,
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let lines = |d: &str| {
        let mut v: Vec<String> = read_dir_text(&dir.path().join(d), "csv")
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(lines("back").len(), 6000);
    assert_eq!(lines("back"), lines("plain"));
}

/// Writes a csv file of about 70 MB (more than two 32 MB ranges): a header, then `id,pad`
/// rows; `quoted` puts a quoted field with a line break in the middle.
fn big_csv(path: &Path, quoted: bool) -> usize {
    use std::io::Write as _;
    let pad = "p".repeat(180);
    let rows = 360_000;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,pad").unwrap();
    for i in 0..rows {
        if quoted && i == rows / 2 {
            writeln!(out, "{i},\"two\nlines\"").unwrap();
        } else {
            writeln!(out, "{i},{pad}").unwrap();
        }
    }
    rows
}

/// The ids in the csv files of `dir`, sorted, and how many files had rows.
fn ids_and_files(dir: &Path) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "csv") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let mut any = false;
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes());
            for r in rdr.records() {
                ids.push(r.unwrap()[0].parse::<i64>().unwrap());
                any = true;
            }
            files += usize::from(any);
        }
    }
    ids.sort_unstable();
    (ids, files)
}

#[test]
fn a_large_file_is_read_in_ranges_by_every_reader_and_each_row_once() {
    // (format, a quoted line break in the middle, ranges expected)
    for (format, quoted, cut) in [
        ("csv", false, true),
        ("csv", true, false),
        ("text", false, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("in")).unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let rows = big_csv(&dir.path().join("in/big.csv"), quoted);
        let job = r#"
env { parallelism = 2 }
source { LocalFile { path = "DIR/in", file_format_type = FORMAT, field_delimiter = ",", skip_header_row_number = 1, schema = { fields { id = bigint, pad = string } }, sandbox { dirs = [ "DIR/in" ] } } }
sink { LocalFile { path = "DIR/out", sandbox { dirs = [ { path = "DIR/out", mode = rw } ] } } }
"#;
        let out = run_job(dir.path(), &job.replace("FORMAT", format));
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        let (ids, files) = ids_and_files(&dir.path().join("out"));
        assert_eq!(
            ids,
            (0..rows as i64).collect::<Vec<_>>(),
            "{format}, quoted: {quoted}"
        );
        // Clean csv and text are cut between the two readers; a quoted line break keeps a
        // csv file whole.
        assert_eq!(files, if cut { 2 } else { 1 }, "{format}, quoted: {quoted}");
    }
}

/// `st` with an engine config that lets jobs reach `allowed` only.
fn run_bounded(dir: &Path, allowed: &Path, verb: &str, job: &str) -> std::process::Output {
    let conf = dir.join("st.yaml");
    std::fs::write(
        &conf,
        format!(
            "seatunnel:\n  engine:\n    sandbox:\n      allowed-dirs: [{}]\n",
            allowed.display()
        ),
    )
    .unwrap();
    let path = dir.join("job.conf");
    std::fs::write(&path, job.replace("DIR", &dir.display().to_string())).unwrap();
    Command::new(env!("CARGO_BIN_EXE_st"))
        .arg("--st-config")
        .arg(&conf)
        .arg(verb)
        .arg(&path)
        .current_dir(root())
        .output()
        .expect("run st")
}

#[test]
fn localfile_paths_are_granted_from_the_options_the_plugin_declares() {
    // No sandbox block: LocalFile declares that it reads `path` and writes `path` and
    // `tmp_path`, so the job is granted exactly those; the output directory is created.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.csv"), "1,x\n2,y\n3,z\n").unwrap();
    let job = r#"
source { LocalFile { path = "DIR/in/a.csv", file_format_type = csv, schema = { fields { id = bigint, s = string } } } }
sink { LocalFile { path = "DIR/out/new", file_format_type = csv } }
"#;
    let out = run_bounded(dir.path(), dir.path(), "run", job);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Total Write Count         : 3"), "{stdout}");
    let written = read_dir_text(&dir.path().join("out/new"), "csv");
    let mut lines: Vec<&str> = written.lines().collect();
    lines.sort();
    assert_eq!(lines, ["1,x", "2,y", "3,z"]);
    // What the source declares, as `st plugin inspect` shows it.
    let inspect = crate::st_plain(&["plugin", "inspect", "LocalFile", "--kind", "source"]);
    assert!(
        text(&inspect).0.contains("grants:   path (read)"),
        "{}",
        text(&inspect).0
    );
}

#[test]
fn a_path_outside_the_nodes_allowed_dirs_is_refused_with_its_option() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(dir.path().join("secret")).unwrap();
    // A declared path option, checked by `st check` before anything runs.
    let out = run_bounded(
        dir.path(),
        &allowed,
        "check",
        "source { FakeSource { schema = { fields { id = int } } } }\nsink {\n  LocalFile { path = \"DIR/secret/out\" }\n}\n",
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let want = format!(
        "job.conf:3: sink[0](LocalFile).path: `{}/secret/out` is outside the directories this node lets jobs reach (sandbox.allowed-dirs in st.yaml: {})",
        dir.path().display(),
        allowed.display()
    );
    assert!(stderr.contains(&want), "{want}\n{stderr}");
    assert!(!dir.path().join("secret/out").exists(), "nothing ran");
    // An explicit grant is bounded the same way, named by its place in the sandbox block.
    let out = run_bounded(
        dir.path(),
        &allowed,
        "check",
        "source { FakeSource { schema = { fields { id = int } } } }\nsink {\n  LocalFile { path = \"DIR/allowed/out\", sandbox { dirs = [ { path = \"DIR/secret\", mode = rw } ] } }\n}\n",
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sink[0](LocalFile).sandbox.dirs[0]: `")
            && stderr.contains("/secret` is outside"),
        "{stderr}"
    );
    // A symbolic link inside the allowed directory does not lead out of it.
    std::os::unix::fs::symlink(dir.path().join("secret"), allowed.join("link")).unwrap();
    let out = run_bounded(
        dir.path(),
        &allowed,
        "check",
        "source { FakeSource { schema = { fields { id = int } } } }\nsink {\n  LocalFile { path = \"DIR/allowed/link/out\" }\n}\n",
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("link/out` is outside"), "{stderr}");
}
