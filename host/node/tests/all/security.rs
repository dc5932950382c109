//! A closed cluster: with `security.secret` set, a node or client without that secret is
//! refused.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::jobs::*;
use crate::*;

const SECRET: &str = "a-cluster-secret-of-some-length";

/// `st` with `args` through `address`, presenting `secret` (none: no secret at all).
fn st_secret(secret: Option<&str>, address: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(st_bin());
    cmd.args(args)
        .args(["--address", address, "--cluster", "strait-test"])
        .env_remove("ST_ADDRESS")
        .env_remove("ST_SECRET_FILE")
        .env_remove("ST_CONFIG")
        .env_remove("STRAIT_HOME");
    match secret {
        Some(s) => cmd.env("ST_SECRET", s),
        None => cmd.env_remove("ST_SECRET"),
    };
    cmd.output().expect("run st")
}

#[test]
fn a_node_or_client_without_the_cluster_secret_is_refused_and_one_with_it_works() {
    let engine = format!("    security:\n      secret: \"{SECRET}\"\n");
    let mut c = Cluster::with_engine(3, "strait-test", &engine);
    // The third node has another secret.
    let conf = c.nodes[2].home.join("conf/st.yaml");
    let wrong = std::fs::read_to_string(&conf)
        .unwrap()
        .replace(SECRET, "another-secret-entirely");
    std::fs::write(&conf, wrong).unwrap();
    c.start_all();
    let first = c.nodes[0].address();
    let outsider = c.nodes[2].address();

    // The two with the secret form the cluster; the third is never alive in their view.
    let deadline = Instant::now() + FORM;
    let view = loop {
        let out = st_secret(Some(SECRET), &first, &["nodes", "--json"]);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let (alive, master) = alive_and_master(&v);
            // Registered too: a submit needs the task nodes in the map.
            let registered = members(&v)
                .iter()
                .filter(|n| n["role"] == "master_and_worker")
                .count();
            if alive == 2 && master.is_some() && registered == 2 {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "no cluster\n{}", c.logs());
        std::thread::sleep(Duration::from_millis(200));
    };
    let third = members(&view)
        .iter()
        .find(|n| n["address"] == outsider.as_str())
        .unwrap();
    assert_eq!(third["alive"], false, "{view}");
    let outsider_log = c.nodes[2].log();
    assert!(
        outsider_log.contains("refused this node") && outsider_log.contains("another secret"),
        "{outsider_log}"
    );
    assert!(
        c.nodes[0].log().contains("refused a call from 127.0.0.1"),
        "{}",
        c.nodes[0].log()
    );

    // A client without the secret, or with another, can neither read nor submit.
    let out_dir = c.dir.path().join("out");
    let job = file_job(c.dir.path(), &out_dir, "BATCH", 100, 2, 1);
    for (secret, says) in [
        (None, "requires its secret"),
        (Some("not-the-cluster-secret"), "another secret"),
    ] {
        for args in [
            vec!["nodes"],
            vec!["list"],
            vec!["submit", job.as_str(), "--async"],
        ] {
            let out = st_secret(secret, &first, &args);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains(says), "{args:?}: {stderr}");
        }
    }
    let listed = st_secret(Some(SECRET), &first, &["list", "--json"]);
    assert!(listed.status.success(), "{}", text(&listed).1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&listed.stdout).unwrap(),
        serde_json::json!([]),
        "nothing was submitted"
    );

    // With the secret, a job runs across the two nodes.
    let out = st_secret(Some(SECRET), &first, &["submit", &job]);
    assert!(out.status.success(), "{}\n{}", text(&out).1, c.logs());
    assert_eq!(committed_rows(&out_dir), 100 * 2);
}

#[test]
fn a_secret_that_is_too_short_or_unreadable_stops_the_node_naming_the_option() {
    for (security, says) in [
        (
            "    security:\n      secret: short\n",
            "at least 16 characters",
        ),
        (
            "    security:\n      secret-file: /nonexistent/strait-secret\n",
            "security.secret-file: cannot read /nonexistent/strait-secret",
        ),
    ] {
        let mut c = Cluster::with_engine(1, "strait-test", security);
        c.nodes[0].start(&[]);
        let status = wait_exit(c.nodes[0].child.as_mut().unwrap(), Duration::from_secs(20));
        c.nodes[0].child = None;
        assert!(!status.success());
        let log = c.nodes[0].log();
        assert!(log.contains(says) && log.contains("st.yaml"), "{log}");
    }
}
