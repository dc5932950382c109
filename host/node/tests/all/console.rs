//! The web console in a real headless Chromium, driven over WebDriver (chromedriver): the job
//! list shows a submitted job, its page shows the DAG and a live rows/s above zero, and the stop
//! button stops it at a savepoint.

use std::io::BufRead;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::jobs::formed_with;
use crate::rest::Rest;

/// chromedriver in its own process group, killed with every browser it started.
struct Driver {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Driver {
    /// `None` when chromedriver is not installed (an error under CI, which installs it).
    fn start() -> Option<Driver> {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let dir = std::path::PathBuf::from(format!("/tmp/st-chrome-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tmp")).expect("browser dir");
        let spawned = Command::new(&bin)
            .arg("--port=0")
            .env("XDG_CONFIG_HOME", &dir)
            .env("XDG_CACHE_HOME", &dir)
            .env("TMPDIR", dir.join("tmp"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "cannot run {bin}: {e} (apt-get install chromium chromium-driver)"
                );
                eprintln!("SKIP the console test: cannot run {bin}: {e}");
                return None;
            }
        };
        let out = child.stdout.take().expect("stdout");
        let mut port = None;
        for line in std::io::BufReader::new(out).lines() {
            let line = line.expect("chromedriver output");
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                port = rest.trim_end_matches('.').trim().parse().ok();
                break;
            }
        }
        let port = port.expect("chromedriver says its port");
        Some(Driver { child, port, dir })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_console_lists_a_job_shows_its_dag_and_live_rate_and_stops_it() {
    let Some(driver) = Driver::start() else {
        return;
    };
    let (c, _) = formed_with(1, "");
    let rest = Rest::new(&c.nodes[0], "");
    rest.wait_up(&c);
    let job = json!({
        // 1,000 splits of 100 rows, one every 100 ms: a steady stream for minutes, so the
        // page's live rate is a rate between two of its polls.
        "env": {"job.mode": "STREAMING", "job.name": "console_stream", "checkpoint.interval": 1000},
        "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": 100000,
                    "split.num": 1000, "split.read-interval": 100,
                    "schema": {"fields": {"id": "bigint", "name": "string"}}}],
        "transform": [{"plugin_name": "Filter", "plugin_input": "fake", "plugin_output": "kept", "include_fields": ["id"]}],
        "sink": [{"plugin_name": "Blackhole", "plugin_input": "kept"}]
    });
    let r = rest.post("/submit-job", &job.to_string());
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json()["jobId"].as_str().unwrap().to_string();
    rest.wait_status(&id, "RUNNING", Duration::from_secs(60), &c);

    let ui = format!("http://127.0.0.1:{}/ui", c.nodes[0].http_port);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--window-size=1280,900"
            ]}),
        );
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session");
        browser.goto(&ui).await.expect("the console loads");

        // The job list shows the job.
        let row = browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(&format!("#running tr[data-job='{id}']")))
            .await
            .expect("the running job is listed");
        let text = row.text().await.unwrap();
        assert!(
            text.contains("console_stream") && text.contains("RUNNING"),
            "{text}"
        );
        let nodes = browser
            .find(Locator::Css("#nodes"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(nodes.contains("master"), "{nodes}");

        // Its page: the DAG (source -> transform -> sink) and a live rate above zero.
        browser
            .find(Locator::Css(&format!("a[href='#/job/{id}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let dag = browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("#dag"))
            .await
            .expect("the DAG is drawn");
        let dag_text = dag.text().await.unwrap_or_default();
        let vertices = browser
            .find_all(Locator::Css("#dag g.vertex"))
            .await
            .unwrap();
        assert_eq!(vertices.len(), 3, "{dag_text}");
        let html = browser.source().await.unwrap();
        for name in [
            "Source[0]-FakeSource",
            "Transform[0]-Filter",
            "Sink[0]-Blackhole",
        ] {
            assert!(html.contains(name), "the DAG lacks {name}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rate = browser
                .find(Locator::Css("#rate"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap_or_default();
            if rate.trim().parse::<f64>().is_ok_and(|r| r > 0.0) {
                break;
            }
            assert!(Instant::now() < deadline, "no rows/s above zero: `{rate}`");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }

        // The stop button takes a savepoint and stops it; the page then offers a restore.
        browser
            .find(Locator::Css("#stop-savepoint"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css("#restore"))
            .await
            .expect("the page shows the job ended");
        let _ = browser.close().await;
    });
    let v = rest.get(&format!("/job-info/{id}")).json();
    assert_eq!(v["jobStatus"], "SAVEPOINT_DONE", "{v}");
}
