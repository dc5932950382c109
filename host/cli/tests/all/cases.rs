//! Data-driven cases: each folder of `tests/cases/` holds a job (`job.conf` or `job.json`) and
//! an `expect` file:
//!
//! ```text
//! args: run            # the st verb and any extra arguments (default: run)
//! exit: 0              # the exit code
//! stdout: some text    # text stdout must contain (repeatable)
//! stderr: some text    # text stderr must contain (repeatable)
//! ```

use crate::{root, st, text};

pub fn run_case(name: &str) {
    let dir = root().join("tests/cases").join(name);
    let expect = std::fs::read_to_string(dir.join("expect"))
        .unwrap_or_else(|e| panic!("{name}/expect: {e}"));
    let job = ["job.conf", "job.json"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} has no job.conf or job.json"));
    let mut args: Vec<String> = vec!["run".into()];
    let mut exit = 0;
    let mut wants: Vec<(bool, String)> = Vec::new();
    for line in expect
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{name}/expect: bad line `{line}`"));
        let value = value.trim().to_string();
        match key.trim() {
            "args" => args = value.split_whitespace().map(str::to_string).collect(),
            "exit" => {
                exit = value
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}/expect: bad exit `{value}`"))
            }
            "stdout" => wants.push((true, value)),
            "stderr" => wants.push((false, value)),
            other => panic!("{name}/expect: unknown key `{other}`"),
        }
    }
    let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let job = job.display().to_string();
    argv.insert(1, &job);
    let out = st(&argv);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{name}: exit code\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for (is_stdout, want) in wants {
        let hay = if is_stdout { &stdout } else { &stderr };
        assert!(
            hay.contains(&want),
            "{name}: {} lacks `{want}`\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            if is_stdout { "stdout" } else { "stderr" }
        );
    }
}

include!(concat!(env!("OUT_DIR"), "/cases.rs"));
