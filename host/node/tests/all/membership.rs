//! Forming a cluster from a member list, electing a master, losing it, refusing strangers,
//! leaving cleanly, and starting from SeaTunnel's own config files.

use std::time::Duration;

use crate::*;

const FORM: Duration = Duration::from_secs(20);

fn formed(v: &serde_json::Value, n: usize) -> bool {
    let (alive, master) = alive_and_master(v);
    alive == n && master.is_some() && members(v).iter().all(|m| m["role"] == "master_and_worker")
}

#[test]
fn three_nodes_elect_one_master_replace_it_when_killed_and_take_it_back_when_it_restarts() {
    let mut c = Cluster::new(3, "strait-test");
    c.start_all();
    let first = c.nodes[0].address();
    let v = wait_nodes(&c, &first, FORM, "3 registered nodes and a master", |v| {
        formed(v, 3)
    });
    assert_eq!(v["clusterName"], "strait-test");
    assert_eq!(members(&v).len(), 3);
    // Three members sharing a local checkpoint directory: each node says what that requires.
    assert!(
        c.nodes[0]
            .log()
            .contains("checkpoints go to a local directory"),
        "{}",
        c.nodes[0].log()
    );
    let (_, master) = alive_and_master(&v);
    let master = master.unwrap();
    // Every node names the same master.
    for n in &c.nodes {
        let seen = wait_nodes(&c, &n.address(), FORM, "a node's view", |v| formed(v, 3));
        assert_eq!(
            alive_and_master(&seen).1.as_deref(),
            Some(master.as_str()),
            "{seen}"
        );
    }

    // kill -9 the master: the others elect one of themselves within the detection budget.
    let victim = c.nodes.iter().position(|n| n.address() == master).unwrap();
    c.nodes[victim].kill();
    let other = c.nodes[(victim + 1) % 3].address();
    let v = wait_nodes(
        &c,
        &other,
        FORM,
        "a new master after the old one died",
        |v| {
            let (alive, m) = alive_and_master(v);
            alive == 2 && m.is_some_and(|m| m != master)
        },
    );
    let dead: Vec<_> = members(&v).iter().filter(|n| n["alive"] == false).collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["address"], master.as_str());
    assert!(v["term"].as_u64().unwrap() >= 2, "a new term: {v}");
    let new_master = alive_and_master(&v).1.unwrap();

    // The old master comes back from its data directory as a follower of the new one.
    c.nodes[victim].start(&[]);
    let back = c.nodes[victim].address();
    let v = wait_nodes(&c, &back, FORM, "the restarted node rejoins", |v| {
        formed(v, 3)
    });
    assert_eq!(
        alive_and_master(&v).1.as_deref(),
        Some(new_master.as_str()),
        "{v}"
    );
    let incarnation =
        std::fs::read_to_string(c.nodes[victim].home.join("data/incarnation")).unwrap();
    assert_eq!(incarnation.trim(), "2");
    assert!(c.nodes[victim].home.join("data/raft.redb").is_file());
}

#[test]
fn a_node_of_another_cluster_is_refused_and_both_logs_say_why() {
    let mut c = Cluster::new(2, "prod");
    c.start_all();
    wait_nodes(&c, &c.nodes[0].address(), FORM, "the cluster forms", |v| {
        formed(v, 2)
    });

    // A stranger that lists one of them as a member, under another cluster name.
    let port = free_ports(1)[0];
    let home = c.dir.path().join("stranger");
    let list = vec![c.nodes[0].address(), format!("127.0.0.1:{port}")];
    write_hazelcast(&home, "staging", &list, port);
    let http_port = free_ports(1)[0];
    std::fs::write(
        home.join("conf/st.yaml"),
        format!("seatunnel:\n  engine:\n    http:\n      port: {http_port}\n      enable-dynamic-port: false\n"),
    )
    .unwrap();
    let mut stranger = Node {
        home,
        port,
        http_port,
        child: None,
        starts: 0,
    };
    stranger.start(&[]);
    let deadline = std::time::Instant::now() + FORM;
    let refusal = format!(
        "refused node {}: cluster name `staging` is not this cluster's `prod`",
        stranger.address()
    );
    while !(c.nodes[0].log().contains(&refusal) && stranger.log().contains("refused this node")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no refusal in the logs:\n{}\n--- stranger ---\n{}",
            c.logs(),
            stranger.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        stranger.log().contains(&format!(
            "node {} refused this node: cluster name `staging` is not this cluster's `prod` (hazelcast.cluster-name)",
            c.nodes[0].address()
        )),
        "{}",
        stranger.log()
    );
    // The cluster still has its two members and the stranger joined nothing.
    let v = nodes(&c.nodes[1].address()).unwrap();
    assert_eq!(members(&v).len(), 2);
    assert!(!v.to_string().contains(&stranger.address()), "{v}");
    let s = nodes(&stranger.address()).unwrap();
    assert_eq!(s["clusterName"], "staging");
    assert_eq!(
        alive_and_master(&s).1,
        None,
        "the stranger has no master: {s}"
    );
}

#[test]
fn sigterm_leaves_the_cluster_cleanly_and_the_rest_keep_a_master() {
    let mut c = Cluster::new(3, "strait-test");
    c.start_all();
    let v = wait_nodes(&c, &c.nodes[0].address(), FORM, "the cluster forms", |v| {
        formed(v, 3)
    });
    let master = alive_and_master(&v).1.unwrap();
    let leaver = c.nodes.iter().position(|n| n.address() == master).unwrap();
    let status = c.nodes[leaver].terminate();
    assert!(
        status.success(),
        "st-node exits 0 on SIGTERM: {status:?}\n{}",
        c.nodes[leaver].log()
    );
    assert!(c.nodes[leaver].log().contains("leaving the cluster"));
    assert!(
        !c.nodes[leaver].log().contains("ERROR"),
        "{}",
        c.nodes[leaver].log()
    );
    let other = c.nodes[(leaver + 1) % 3].address();
    wait_nodes(&c, &other, FORM, "a master among the two left", |v| {
        let (alive, m) = alive_and_master(v);
        alive == 2 && m.is_some_and(|m| m != master)
    });
}

#[test]
fn seatunnels_stock_config_directory_starts_a_node_as_it_ships() {
    // SeaTunnel's config/ as shipped: one member, localhost, port 5801, auto-increment off.
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let stock =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/seatunnel-config");
    for f in [
        "seatunnel.yaml",
        "hazelcast.yaml",
        "hazelcast-client.yaml",
        "hazelcast-master.yaml",
        "hazelcast-worker.yaml",
    ] {
        std::fs::copy(stock.join(f), conf.join(f)).unwrap();
    }
    if std::net::TcpListener::bind("127.0.0.1:5801").is_err() {
        panic!(
            "port 5801 (SeaTunnel's default, in the stock hazelcast.yaml) is taken on this machine; this test needs it free"
        );
    }
    if std::net::TcpListener::bind("0.0.0.0:8080").is_err() {
        panic!(
            "port 8080 (the REST API's, in the stock seatunnel.yaml with enable-dynamic-port: false) is taken on this machine; this test needs it free"
        );
    }
    let mut node = Node {
        home: home.path().to_path_buf(),
        port: 5801,
        http_port: 8080,
        child: None,
        starts: 0,
    };
    node.start(&[]);
    // The client finds it through the stock hazelcast-client.yaml in $STRAIT_HOME/conf.
    let deadline = std::time::Instant::now() + FORM;
    let view = loop {
        let out = std::process::Command::new(st_bin())
            .args(["nodes", "--json"])
            .env("STRAIT_HOME", home.path())
            .env_remove("ST_ADDRESS")
            .current_dir(home.path())
            .output()
            .unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if alive_and_master(&v).1.is_some() && v["nodes"][0]["role"] == "master_and_worker" {
                break v;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no one-node cluster:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(view["clusterName"], "seatunnel");
    assert_eq!(view["master"], "localhost:5801");
    let log = node.log();
    assert!(log.contains("config: "), "{log}");
    assert!(log.contains("seatunnel.yaml"), "{log}");
    // Hazelcast's own properties and JVM-only engine keys are one notice each, named.
    assert!(
        log.contains("hazelcast.invocation.max.retry.count"),
        "{log}"
    );
    assert!(log.contains("metrics-fetch-timeout-ms"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");

    // It runs a job, submitted as a SeaTunnel user would: the client config, nothing else.
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../conf/examples/fake_to_console.conf");
    let out = std::process::Command::new(st_bin())
        .args(["run", "-m", "cluster", "-c"])
        .arg(&example)
        .env("STRAIT_HOME", home.path())
        .env_remove("ST_ADDRESS")
        .current_dir(home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", node.log());
    assert!(stderr.contains("end with state FINISHED"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Total Write Count         : 10"),
        "{stdout}"
    );
    // Console wrote the rows into the node's log.
    assert!(node.log().contains("demo.people"), "{}", node.log());
}

#[test]
fn daemon_mode_runs_in_the_background_and_logs_to_strait_node_log() {
    let c = Cluster::new(1, "solo");
    let home = &c.nodes[0].home;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_st-node"))
        .arg("-d")
        .env("STRAIT_HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = text
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {text}"));
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
    let _reap = Reap(pid);
    wait_nodes(&c, &c.nodes[0].address(), FORM, "the daemon answers", |v| {
        formed(v, 1)
    });
    let log = std::fs::read_to_string(home.join("logs/strait-node.log")).unwrap();
    assert!(log.contains("this node is the master"), "{log}");
}

#[test]
fn bad_network_configs_are_errors_that_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |home: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_st-node"))
            .args(args)
            .env("STRAIT_HOME", home)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // A key neither Strait nor Hazelcast knows.
    let typo = dir.path().join("typo");
    std::fs::create_dir_all(typo.join("conf")).unwrap();
    std::fs::write(
        typo.join("conf/hazelcast.yaml"),
        "hazelcast:\n  cluster-name: x\n  network:\n    prot:\n      port: 5801\n",
    )
    .unwrap();
    let (code, err) = run(&typo, &[]);
    assert_ne!(code, Some(0));
    let file = typo.join("conf/hazelcast.yaml").display().to_string();
    assert!(err.contains(&format!("{file}:4")), "{err}");
    assert!(err.contains("prot"), "{err}");

    // A member list that does not name this machine at the configured port.
    let elsewhere = dir.path().join("elsewhere");
    write_hazelcast(&elsewhere, "x", &["127.0.0.1:1".into()], free_ports(1)[0]);
    let (code, err) = run(&elsewhere, &[]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("member-list") && err.contains("127.0.0.1:1"),
        "{err}"
    );

    // A role that does not exist: a usage error.
    let (code, err) = run(&elsewhere, &["--role", "boss"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`boss` is not a role"), "{err}");
}
