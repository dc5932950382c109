use std::collections::HashMap;

use st_core::{OptionSpec, OptionType, PluginInfo, PluginKind};

use super::*;

fn load(text: &str) -> Result<JobConfig, ConfigErrors> {
    load_str("job.conf", text, &HashMap::new(), &|_| None)
}

fn info(options: Vec<(&str, OptionType, bool)>) -> PluginInfo {
    PluginInfo {
        name: "FakeSource".into(),
        kind: PluginKind::Source,
        version: "0.1.0".into(),
        options: options
            .into_iter()
            .map(|(n, t, r)| OptionSpec {
                name: n.into(),
                option_type: t,
                required: r,
                default_value: None,
                doc: "doc".into(),
            })
            .collect(),
        grants: Vec::new(),
    }
}

#[test]
fn duplicate_blocks_stay_separate_plugins() {
    let job = load(
        "env { parallelism = 2, job.mode = BATCH }\nsource {\n  FakeSource { row.num = 1, plugin_output = a }\n  FakeSource { row.num = 2, plugin_output = b }\n}\nsink {\n  Console { plugin_input = [a, b] }\n}\n",
    )
    .unwrap();
    assert_eq!(job.env.parallelism, 2);
    let sources: Vec<_> = job
        .plugins
        .iter()
        .filter(|p| p.kind == PluginKind::Source)
        .collect();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[1].options["row"]["num"], serde_json::json!(2));
    assert_eq!((sources[0].line, sources[1].line), (3, 4));
    assert_eq!(job.inputs[2], vec![0, 1]);
    assert_eq!(job.pipelines(), vec![vec![0, 1, 2]]);
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let e = load(
        "env {\n  parallelism = 1\n}\nsource {\n  FakeSource {\n    row.num = [1, 2\n  }\n}\n",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("job.conf:7:"), "{msg}");
    assert!(msg.contains("HOCON syntax error"), "{msg}");
}

#[test]
fn unknown_input_and_cycles_are_reported_together() {
    let e = load(
        "source { FakeSource { plugin_output = src } }\ntransform {\n  Copy { plugin_input = t2, plugin_output = t1 }\n  Copy { plugin_input = t1, plugin_output = t2 }\n}\nsink { Console { plugin_input = nope } }\n",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("job.conf:6: sink[0](Console).plugin_input: `nope` is not the plugin_output"),
        "{msg}"
    );
    assert!(msg.contains("plugin_input forms a cycle: transform[0](Copy) -> transform[1](Copy) -> transform[0](Copy)"), "{msg}");
    assert!(msg.starts_with("2 problems"), "{msg}");
}

#[test]
fn options_are_checked_against_the_plugin_description() {
    let job = load(
        "source {\n  FakeSource {\n    row.num = \"many\"\n    split {\n      nmu = 3\n    }\n  }\n}\nsink { Console {} }\n",
    )
    .unwrap();
    let info = info(vec![
        ("row.num", OptionType::Integer, false),
        ("split.num", OptionType::Integer, false),
        ("schema", OptionType::Object, true),
    ]);
    let errors = check_options(&job, 0, &info, UnknownOptions::Error).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|e| e.starts_with("job.conf:5: source[0](FakeSource).split.nmu: unknown option for FakeSource; did you mean `split.num`?")), "{text:?}");
    assert!(
        text.iter().any(|e| e
            == "job.conf:3: source[0](FakeSource).row.num: expected an integer, found \"many\""),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("missing required option `schema`")),
        "{text:?}"
    );
}

#[test]
fn an_unknown_option_is_a_warning_with_its_line_and_hint_unless_strict() {
    let job = load(
        "source {\n  FakeSource {\n    row.num = 3\n    split.nmu = 3\n  }\n}\nsink { Console {} }\n",
    )
    .unwrap();
    let info = info(vec![
        ("row.num", OptionType::Integer, false),
        ("split.num", OptionType::Integer, false),
    ]);
    let checked = check_options(&job, 0, &info, UnknownOptions::Warn).expect("only a warning");
    assert_eq!(checked.options["row.num"], serde_json::json!(3));
    assert!(!checked.options.contains_key("split.nmu"), "ignored");
    let w: Vec<String> = checked.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("job.conf:4: source[0](FakeSource).split.nmu: unknown option for FakeSource; did you mean `split.num`?"),
        "{w:?}"
    );
    assert!(check_options(&job, 0, &info, UnknownOptions::Error).is_err());
}

#[test]
fn wiring_problems_come_back_beside_the_job_so_its_options_can_be_checked_too() {
    let (job, problems) = load_str_with_problems(
        "job.conf",
        "source { FakeSource { plugin_output = a, row.num = \"many\" } }\nsink { Console { plugin_input = b } }\n",
        &HashMap::new(),
        &|_| None,
    )
    .expect("readable");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .to_string()
            .contains("`b` is not the plugin_output"),
        "{problems:?}"
    );
    assert_eq!(job.plugins.len(), 2, "both blocks read");
    // Listed in file and line order, whatever order they were found in.
    let all = ConfigErrors(vec![
        ConfigError {
            line: Some(9),
            ..problems[0].clone()
        },
        ConfigError {
            line: Some(2),
            ..problems[0].clone()
        },
    ]);
    let text = all.to_string();
    assert!(
        text.find("job.conf:2:").unwrap() < text.find("job.conf:9:").unwrap(),
        "{text}"
    );
}

#[test]
fn nested_and_flat_options_normalize_to_declared_names() {
    let job = load("source {\n  FakeSource {\n    row { num = 4 }\n    \"split.num\" = 2\n  }\n}\nsink { Console {} }\n").unwrap();
    let info = info(vec![
        ("row.num", OptionType::Integer, false),
        ("split.num", OptionType::Integer, false),
    ]);
    let opts = check_options(&job, 0, &info, UnknownOptions::Error)
        .unwrap()
        .options;
    assert_eq!(opts["row.num"], serde_json::json!(4));
    assert_eq!(opts["split.num"], serde_json::json!(2));
}

#[test]
fn variables_fill_before_parsing_and_env_warns_on_foreign_keys() {
    let vars = HashMap::from([("rows".to_string(), "7".to_string())]);
    let job = load_str(
        "job.conf",
        "env { spark.master = local }\nsource { FakeSource { row.num = ${rows}, name = \"${who:anon}\" } }\nsink { Console {} }",
        &vars,
        &|_| None,
    )
    .unwrap();
    assert_eq!(job.plugins[0].options["row"]["num"], serde_json::json!(7));
    assert_eq!(job.plugins[0].options["name"], serde_json::json!("anon"));
    assert!(
        job.warnings[0].contains("env.spark.master is not a Strait setting"),
        "{:?}",
        job.warnings
    );
}

#[test]
fn json_configs_are_accepted() {
    let job = load_str(
        "job.json",
        r#"{"env": {"parallelism": 1}, "source": [{"plugin_name": "FakeSource", "plugin_output": "f", "row.num": 3}], "sink": [{"plugin_name": "Console", "plugin_input": "f"}]}"#,
        &HashMap::new(),
        &|_| None,
    )
    .unwrap();
    assert_eq!(job.plugins.len(), 2);
    assert_eq!(job.plugins[1].name, "Console");
    assert_eq!(job.inputs[1], vec![0]);
}

#[test]
fn bad_env_values_name_the_key() {
    let e = load("env { job.mode = SOMETIMES, parallelism = 0 }\nsource { FakeSource {} }\nsink { Console {} }").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("env.job.mode: must be BATCH or STREAMING"),
        "{msg}"
    );
    assert!(
        msg.contains("env.parallelism: must be a positive integer"),
        "{msg}"
    );
}

#[test]
fn a_base64_shade_decrypts_credentials_of_sources_and_sinks_and_bad_text_is_named() {
    let job = load_str(
        "job.json",
        r#"{"env": {"shade.identifier": "base64"}, "source": [{"plugin_name": "FakeSource", "plugin_output": "f", "username": "cm9vdA==", "password": "c2VhdHVubmVs"}], "sink": [{"plugin_name": "Console", "plugin_input": "f", "token": "dG9r"}]}"#,
        &HashMap::new(),
        &|_| None,
    )
    .unwrap();
    assert_eq!(job.plugins[0].options["username"], "root");
    assert_eq!(job.plugins[0].options["password"], "seatunnel");
    assert_eq!(job.plugins[1].options["token"], "tok");
    let err = load_str(
        "job.json",
        r#"{"env": {"shade.identifier": "base64"}, "source": [{"plugin_name": "FakeSource", "password": "not base64!"}], "sink": [{"plugin_name": "Console"}]}"#,
        &HashMap::new(),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("FakeSource.password") && err.contains("base64"),
        "{err}"
    );
    let err = load_str(
        "job.json",
        r#"{"env": {"shade.identifier": "aes"}, "source": [{"plugin_name": "FakeSource"}], "sink": [{"plugin_name": "Console"}]}"#,
        &HashMap::new(),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("shade.identifier") && err.contains("aes"),
        "{err}"
    );
}
