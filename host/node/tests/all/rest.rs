//! REST API V2 on a real cluster: SeaTunnel's paths, keys (in its order), string-typed
//! scalars, status codes and error bodies, through the master and the other nodes.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::jobs::{committed_rows, formed_with};
use crate::{Cluster, Node};

/// A REST client for one node.
pub(crate) struct Rest {
    base: String,
    client: reqwest::blocking::Client,
    auth: Option<String>,
}

/// A response: its status, content type and body (JSON when it parses).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    /// An error in SeaTunnel's shape: `{"status":"fail","message":...}`, keys in that order.
    pub fn fail(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        let v = self.json();
        assert_eq!(keys(&v), ["status", "message"], "{v}");
        assert_eq!(v["status"], "fail");
        v["message"].as_str().expect("a message").to_string()
    }
}

impl Rest {
    pub fn new(node: &Node, context: &str) -> Rest {
        Rest {
            base: format!("http://127.0.0.1:{}{context}", node.http_port),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            auth: None,
        }
    }

    pub fn with_auth(mut self, header: &str) -> Rest {
        self.auth = Some(header.to_string());
        self
    }

    fn send(&self, r: reqwest::blocking::RequestBuilder) -> Answer {
        let r = match &self.auth {
            Some(a) => r.header("Authorization", a),
            None => r,
        };
        let resp = r.send().expect("the node answers");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Answer {
            status,
            content_type,
            text: resp.text().expect("a body"),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    pub fn post(&self, path: &str, body: &str) -> Answer {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .body(body.to_string()),
        )
    }

    pub fn upload(&self, path: &str, file_name: &str, content: &str) -> Answer {
        let part = reqwest::blocking::multipart::Part::text(content.to_string())
            .file_name(file_name.to_string());
        let form = reqwest::blocking::multipart::Form::new().part("config_file", part);
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .multipart(form),
        )
    }

    /// Waits for the REST API to answer `/overview` with 200.
    pub fn wait_up(&self, cluster: &Cluster) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .client
                .get(format!("{}/overview", self.base))
                .header("Authorization", self.auth.clone().unwrap_or_default())
                .send();
            if r.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no REST API\n{}",
                self.base,
                cluster.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls `/job-info/:id` until its jobStatus is `status`.
    pub fn wait_status(&self, id: &str, status: &str, limit: Duration, c: &Cluster) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.get(&format!("/job-info/{id}")).json();
            if v["jobStatus"] == status {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} not {status} within {limit:?}: {v}\n{}",
                c.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub(crate) fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn all_strings(v: &Value) {
    for (k, x) in v.as_object().expect("an object") {
        match x {
            Value::String(_) => {}
            Value::Object(_) => all_strings(x),
            other => panic!("{k} is {other}, not a string"),
        }
    }
}

/// A streaming FakeSource → LocalFile job as SeaTunnel's JSON body.
fn streaming_json(out: &Path, name: &str) -> String {
    json!({
        "env": {"job.mode": "STREAMING", "job.name": name, "checkpoint.interval": 1000, "parallelism": 2},
        "source": [{
            "plugin_name": "FakeSource",
            "plugin_output": "fake",
            "row.num": 200,
            "split.num": 10,
            "split.read-interval": 300,
            "schema": {"fields": {"id": "bigint", "name": "string"}}
        }],
        "transform": [],
        "sink": [{"plugin_name": "LocalFile", "plugin_input": ["fake"], "path": out.display().to_string(), "file_format_type": "csv"}]
    })
    .to_string()
}

const RUNNING_KEYS: [&str; 9] = [
    "jobId",
    "jobName",
    "jobStatus",
    "envOptions",
    "createTime",
    "jobDag",
    "pluginJarsUrls",
    "isStartWithSavePoint",
    "metrics",
];

const FINISHED_KEYS: [&str; 9] = [
    "jobId",
    "jobName",
    "jobStatus",
    "errorMsg",
    "createTime",
    "finishTime",
    "jobDag",
    "pluginJarsUrls",
    "metrics",
];

fn is_time(s: &Value) -> bool {
    let s = s.as_str().unwrap_or_default();
    chrono_like(s)
}

/// `yyyy-MM-dd HH:mm:ss`.
fn chrono_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

#[test]
fn every_endpoint_answers_with_seatunnels_shapes_through_any_node() {
    let (c, other) = formed_with(3, "");
    let master_rest = c
        .nodes
        .iter()
        .find(|n| n.address() != other)
        .expect("a node");
    let via = c.nodes.iter().find(|n| n.address() == other).unwrap();
    let rest = Rest::new(via, "");
    rest.wait_up(&c);
    let _ = master_rest;

    // /overview: SeaTunnel's keys in its order, every value a string.
    let o = rest.get("/overview");
    assert_eq!(o.status, 200);
    assert!(o.content_type.starts_with("application/json"));
    let o = o.json();
    assert_eq!(
        keys(&o),
        [
            "projectVersion",
            "gitCommitAbbrev",
            "totalSlot",
            "unassignedSlot",
            "runningJobs",
            "finishedJobs",
            "failedJobs",
            "cancelledJobs",
            "workers"
        ]
    );
    all_strings(&o);
    assert_eq!(o["workers"], "3");
    assert_eq!(o["runningJobs"], "0");
    // Dynamic slots count as 0, as in SeaTunnel.
    assert_eq!(o["totalSlot"], "0");

    // Submit (JSON body) through a node that is not the master.
    let out = c.dir.path().join("out-stream");
    std::fs::create_dir_all(&out).unwrap();
    let r = rest.post(
        "/submit-job?jobName=rest_stream",
        &streaming_json(&out, "ignored"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let s = r.json();
    assert_eq!(keys(&s), ["jobId", "jobName"]);
    assert_eq!(s["jobName"], "rest_stream");
    let id = s["jobId"].as_str().expect("jobId is a string").to_string();
    assert!(id.parse::<u64>().is_ok());

    // /running-jobs and /job-info: the running shape, with live metrics.
    rest.wait_status(&id, "RUNNING", Duration::from_secs(60), &c);
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let list = rest.get("/running-jobs").json();
        let job = list
            .as_array()
            .expect("an array")
            .iter()
            .find(|j| j["jobId"] == id.as_str())
            .cloned();
        if let Some(j) = job
            && j["metrics"]["SourceReceivedCount"] != "0"
        {
            break j;
        }
        assert!(Instant::now() < deadline, "no live metrics: {list}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(keys(&running), RUNNING_KEYS);
    assert_eq!(running["jobStatus"], "RUNNING");
    assert_eq!(running["isStartWithSavePoint"], false);
    assert!(is_time(&running["createTime"]), "{}", running["createTime"]);
    assert_eq!(running["envOptions"]["job.mode"], "STREAMING");
    assert_eq!(running["envOptions"]["checkpoint.interval"], "1000");
    let dag = &running["jobDag"];
    assert_eq!(
        keys(dag),
        ["jobId", "pipelineEdges", "envOptions", "vertexInfoMap"]
    );
    assert_eq!(dag["jobId"], id.as_str());
    assert_eq!(
        dag["pipelineEdges"],
        json!({"1": [{"inputVertexId": "1", "targetVertexId": "2"}]})
    );
    let vertices = dag["vertexInfoMap"].as_array().expect("an array");
    let tables = vertices[0]["tablePaths"].clone();
    assert!(tables.as_array().is_some_and(|t| !t.is_empty()), "{dag}");
    assert_eq!(
        dag["vertexInfoMap"],
        json!([
            {"vertexId": 1, "type": "source", "vertexName": "pipeline-1 [Source[0]-FakeSource]", "tablePaths": tables},
            {"vertexId": 2, "type": "sink", "vertexName": "pipeline-1 [Sink[0]-LocalFile-MultiTableSink]", "tablePaths": tables}
        ])
    );
    let m = &running["metrics"];
    all_strings(m);
    for k in [
        "SourceReceivedCount",
        "SinkWriteCount",
        "SourceReceivedBytes",
        "SinkWriteBytes",
        "SourceReceivedQPS",
        "SinkWriteQPS",
        "SourceReceivedBytesPerSeconds",
        "SinkWriteBytesPerSeconds",
        "TableSourceReceivedCount",
        "TableSinkWriteCount",
    ] {
        assert!(m.get(k).is_some(), "metrics lack {k}: {m}");
    }
    let table = tables[0].as_str().unwrap();
    assert!(m["TableSourceReceivedCount"][table].is_string(), "{m}");
    // The alias and every node answer the same job.
    for n in &c.nodes {
        let v = Rest::new(n, "").get(&format!("/running-job/{id}")).json();
        assert_eq!(keys(&v), RUNNING_KEYS, "{v}");
        assert_eq!(v["jobId"], id.as_str());
    }
    let o = rest.get("/overview").json();
    assert_eq!(o["runningJobs"], "1");

    // /metrics: Prometheus text with the job's SeaTunnel-named series, states, slots, Raft.
    let p = rest.get("/metrics");
    assert_eq!(p.status, 200);
    assert!(
        p.content_type.starts_with("text/plain"),
        "{}",
        p.content_type
    );
    let series = |name: &str, label: &str| -> Option<f64> {
        p.text
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
            .and_then(|l| l.rsplit_once(' '))
            .and_then(|(_, v)| v.parse().ok())
    };
    let job_label = format!("jobId=\"{id}\"");
    let read = series("SourceReceivedCount", &job_label).unwrap_or_else(|| panic!("{}", p.text));
    assert!(read > 0.0, "{}", p.text);
    assert!(series("SinkWriteCount", &job_label).is_some(), "{}", p.text);
    assert!(
        series("TableSourceReceivedCount", &job_label).is_some(),
        "{}",
        p.text
    );
    assert_eq!(
        series("job_count", "type=\"running\""),
        Some(1.0),
        "{}",
        p.text
    );
    assert_eq!(
        series("node_state", "cluster=\"strait-test\""),
        Some(1.0),
        "{}",
        p.text
    );
    assert!(
        series("raft_term", "address=").is_some_and(|t| t >= 1.0),
        "{}",
        p.text
    );
    assert!(
        series("process_resident_memory_bytes", "address=").is_some_and(|b| b > 1e6),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("# TYPE SourceReceivedCount gauge"),
        "{}",
        p.text
    );
    // Once every row is committed, the scrape's counts are the committed rows.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let p = rest.get("/metrics");
        let value = |name: &str| {
            p.text
                .lines()
                .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(&job_label))
                .and_then(|l| l.rsplit_once(' '))
                .and_then(|(_, v)| v.parse::<f64>().ok())
        };
        let rows = committed_rows(&out);
        if rows == 400
            && value("SinkWriteCount") == Some(400.0)
            && value("SourceReceivedCount") == Some(400.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "committed {rows}, scraped {:?} written / {:?} read",
            value("SinkWriteCount"),
            value("SourceReceivedCount")
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A second submit of a running id is a no-op that answers the same job.
    let again = rest.post(
        &format!("/submit-job?jobId={id}"),
        &streaming_json(&out, "x"),
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["jobId"], id.as_str());

    // Stop with a savepoint: SAVEPOINT_DONE, listed under finished-jobs/SAVEPOINT_DONE.
    let r = rest.post(
        "/stop-job",
        &json!({"jobId": id.parse::<u64>().unwrap(), "isStopWithSavePoint": true}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"jobId": id.as_str()}));
    let done = rest.wait_status(&id, "SAVEPOINT_DONE", Duration::from_secs(60), &c);
    assert_eq!(keys(&done), FINISHED_KEYS, "{done}");
    assert_eq!(done["errorMsg"], Value::Null);
    assert_eq!(done["pluginJarsUrls"], json!([]));
    assert!(is_time(&done["finishTime"]), "{done}");
    let listed = rest.get("/finished-jobs/savepoint_done").json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["jobId"] == id.as_str()),
        "{listed}"
    );
    let before = committed_rows(&out);

    // Restore it from the savepoint, then cancel: CANCELED, and every row once.
    let r = rest.post(
        &format!("/submit-job?jobId={id}&isStartWithSavePoint=true"),
        &streaming_json(&out, "rest_stream"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let resumed = rest.wait_status(&id, "RUNNING", Duration::from_secs(60), &c);
    assert_eq!(resumed["isStartWithSavePoint"], true);
    // Every row was read before the savepoint: the restored run adds none.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(committed_rows(&out), before, "rows after the restore");
    let r = rest.post("/stop-job", &json!({"jobId": id}).to_string());
    assert_eq!(r.status, 200, "{}", r.text);
    rest.wait_status(&id, "CANCELED", Duration::from_secs(60), &c);
    assert_eq!(committed_rows(&out), 400, "every row exactly once");

    // A HOCON batch job, by query parameter; FINISHED with its row count.
    let hocon = "env {\n  job.mode = \"BATCH\"\n}\nsource {\n  FakeSource {\n    row.num = 25\n    schema = { fields { id = bigint } }\n  }\n}\nsink {\n  Blackhole {}\n}\n";
    let r = rest.post("/submit-job?format=hocon&jobName=rest_batch", hocon);
    assert_eq!(r.status, 200, "{}", r.text);
    let batch = r.json()["jobId"].as_str().unwrap().to_string();
    let fin = rest.wait_status(&batch, "FINISHED", Duration::from_secs(60), &c);
    assert_eq!(fin["jobName"], "rest_batch");
    assert_eq!(fin["metrics"]["SinkWriteCount"], "25", "{fin}");
    let finished = rest.get("/finished-jobs/FINISHED").json();
    assert!(
        finished
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["jobStatus"] == "FINISHED" && keys(j) == FINISHED_KEYS),
        "{finished}"
    );
    let all = rest.get("/finished-jobs").json();
    let times: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["finishTime"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "ascending by finish time");
    assert_eq!(rest.get("/finished-jobs/NO_SUCH_STATE").json(), json!([]));
    let o = rest.get("/overview").json();
    assert_eq!(
        (
            &o["runningJobs"],
            &o["finishedJobs"],
            &o["cancelledJobs"],
            &o["failedJobs"]
        ),
        (&json!("0"), &json!("1"), &json!("1"), &json!("0")),
        "{o}"
    );

    // A finished id again without a savepoint: SeaTunnel's 500.
    let r = rest.post(&format!("/submit-job?jobId={batch}&format=hocon"), hocon);
    let msg = r.fail(500);
    assert!(
        msg.contains(&format!(
            "The job id {batch} has already been submitted and is not starting with a savepoint."
        )),
        "{msg}"
    );

    // Upload, and several at once.
    let r = rest.upload("/submit-job/upload?jobName=uploaded", "job.conf", hocon);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["jobName"], "uploaded");
    let many = json!([
        {"params": {"jobId": "8800001", "jobName": "many_a"}, "env": {"job.mode": "BATCH"},
         "source": [{"plugin_name": "FakeSource", "row.num": 3, "schema": {"fields": {"id": "bigint"}}}],
         "sink": [{"plugin_name": "Blackhole"}]},
        {"params": {"jobId": "8800002", "jobName": "many_b"}, "env": {"job.mode": "STREAMING"},
         "source": [{"plugin_name": "FakeSource", "row.num": 1000, "split.read-interval": 1000, "schema": {"fields": {"id": "bigint"}}}],
         "sink": [{"plugin_name": "Blackhole"}]}
    ]);
    let r = rest.post("/submit-jobs", &many.to_string());
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!([{"jobId": "8800001", "jobName": "many_a"}, {"jobId": "8800002", "jobName": "many_b"}])
    );
    rest.wait_status("8800002", "RUNNING", Duration::from_secs(60), &c);
    let r = rest.post(
        "/stop-jobs",
        &json!([{"jobId": 8800002u64, "isStopWithSavePoint": true}]).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([{"jobId": 8800002u64}]));
    rest.wait_status("8800002", "SAVEPOINT_DONE", Duration::from_secs(60), &c);
    // /restore-job resumes it by id alone, from its savepoint.
    let r = rest.post("/restore-job", r#"{"jobId": "8800002"}"#);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"jobId": "8800002", "jobName": "many_b"}));
    let back = rest.wait_status("8800002", "RUNNING", Duration::from_secs(60), &c);
    assert_eq!(back["isStartWithSavePoint"], true);
    let m = rest
        .post("/restore-job", r#"{"jobId": "8800002"}"#)
        .fail(400);
    assert!(m.contains("RUNNING"), "{m}");
    let r = rest.post(
        "/stop-jobs",
        &json!([{"jobId": 8800002u64, "isStopWithSavePoint": false}]).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    rest.wait_status("8800002", "CANCELED", Duration::from_secs(60), &c);

    // The streaming job's checkpoints: newest first, with their size and tasks.
    let cps = rest.get(&format!("/jobs/{id}/checkpoints")).json();
    let cps = cps.as_array().expect("an array");
    assert!(!cps.is_empty(), "no checkpoints");
    for cp in cps {
        assert_eq!(
            keys(cp),
            [
                "pipelineId",
                "checkpointId",
                "type",
                "state",
                "completedTime",
                "durationMs",
                "stateSize",
                "ackedTasks",
                "totalTasks"
            ]
        );
        all_strings(cp);
        assert!(
            cp["stateSize"].as_str().unwrap().parse::<u64>().unwrap() > 0,
            "{cp}"
        );
        assert_eq!(cp["ackedTasks"], cp["totalTasks"]);
    }
    assert!(cps.iter().any(|c| c["type"] == "savepoint"), "{cps:?}");
    let ids: Vec<u64> = cps
        .iter()
        .map(|c| c["checkpointId"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ids:?}"
    );
    rest.get("/jobs/42/checkpoints").fail(400);

    // What a plugin declares.
    let rules = rest.get("/option-rules/FakeSource").json();
    let fake = &rules[0];
    assert_eq!(fake["pluginName"], "FakeSource");
    assert_eq!(fake["type"], "source");
    assert!(
        fake["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "row.num" && o["required"] == false),
        "{fake}"
    );
    let m = rest.get("/option-rules/NoSuchPlugin").fail(400);
    assert!(m.contains("NoSuchPlugin"), "{m}");

    // Bad requests: SeaTunnel's messages, 400.
    let m = rest.get("/job-info/abc").fail(400);
    assert_eq!(m, "For input string: \"abc\"");
    assert_eq!(
        rest.get("/job-info/").fail(400),
        "The jobId must not be empty."
    );
    assert_eq!(
        rest.get("/job-info/123456789").json(),
        json!({"jobId": "123456789"})
    );
    assert_eq!(
        rest.post("/submit-job", "").fail(400),
        "Request body is empty."
    );
    assert_eq!(
        rest.post("/submit-job", "{not json").fail(400),
        "Invalid JSON format in request body."
    );
    assert_eq!(
        rest.post("/submit-job?isStartWithSavePoint=true&format=hocon", hocon)
            .fail(400),
        "Please provide jobId when start with save point."
    );
    let m = rest
        .post(
            "/submit-job",
            &json!({"env": {"job.mode": "BATCH"}, "source": [{"plugin_name": "NoSuchSource"}], "sink": [{"plugin_name": "Blackhole"}]}).to_string(),
        )
        .fail(400);
    assert!(m.contains("NoSuchSource"), "{m}");
    assert_eq!(
        rest.post("/stop-job", "{}").fail(400),
        "jobId cannot be empty."
    );
    assert_eq!(
        rest.post("/update-tags", "").fail(400),
        "Request body is empty."
    );
    // Unknown paths 404, wrong methods 405, both with the error body.
    rest.get("/no-such-endpoint").fail(404);
    rest.get("/submit-job").fail(405);
    rest.post("/overview", "{}").fail(405);

    // Tags: replaced on the node asked, and /overview filters workers by them.
    let r = rest.post("/update-tags", r#"{"zone":"eu","tier":null}"#);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"status": "success", "message": "update node tags done."})
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = rest.get("/overview?zone=eu").json();
        if o["workers"] == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "tags not applied: {o}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rest.get("/overview?zone=us").json()["workers"], "0");

    // The node's own figures and threads.
    let s = rest.get("/system-monitoring-information").json();
    let nodes = s.as_array().expect("an array");
    assert_eq!(nodes.len(), 3, "{s}");
    for n in nodes {
        assert_eq!(&keys(n)[..3], ["isMaster", "host", "port"], "{n}");
        all_strings(n);
    }
    assert_eq!(
        nodes.iter().filter(|n| n["isMaster"] == "true").count(),
        1,
        "{s}"
    );
    let t = rest.get("/thread-dump").json();
    let threads = t.as_array().expect("an array");
    assert!(threads.len() > 2, "{t}");
    for th in threads {
        assert_eq!(
            keys(th),
            ["threadName", "threadId", "threadState", "stackTrace"]
        );
        assert!(th["threadId"].is_u64(), "{th}");
    }
    // The OpenAPI document and a shaded config.
    let doc = rest.get("/openapi.json").json();
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"]["/submit-job"]["post"].is_object(), "{doc}");
    let shaded = rest
        .post(
            "/encrypt-config",
            r#"{"env":{"shade.identifier":"base64"},"source":[{"plugin_name":"FakeSource","password":"seatunnel"}],"sink":[{"plugin_name":"Blackhole"}]}"#,
        )
        .json();
    assert_eq!(shaded["source"][0]["password"], "c2VhdHVubmVs");
    // Log files are served by name only.
    assert_eq!(rest.get("/logs?format=json").status, 200);
    let m = rest.get("/log/..%2F..%2Fconf%2Fst.yaml").fail(400);
    assert!(m.contains("not a log file"), "{m}");
}

#[test]
fn a_closed_cluster_asks_rest_clients_for_its_secret_and_a_context_path_holds_every_endpoint() {
    let mut c = Cluster::with_engine(
        1,
        "strait-test",
        "    security:\n      secret: s3cr3t-for-rest-api\n",
    );
    // This node's REST API under /seatunnel.
    let port = c.nodes[0].http_port;
    let conf = c.nodes[0].home.join("conf/st.yaml");
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        "      enable-dynamic-port: false\n",
        "      enable-dynamic-port: false\n      context-path: /seatunnel\n",
    );
    std::fs::write(&conf, text).unwrap();
    c.start_all();
    let open = Rest::new(&c.nodes[0], "/seatunnel");
    let good = Rest::new(&c.nodes[0], "/seatunnel").with_auth("Bearer s3cr3t-for-rest-api");
    good.wait_up(&c);
    assert_eq!(port, c.nodes[0].http_port);

    let r = open.get("/overview");
    let m = r.fail(401);
    assert!(m.contains("secret"), "{m}");
    let wrong = Rest::new(&c.nodes[0], "/seatunnel").with_auth("Bearer nope");
    wrong.get("/running-jobs").fail(401);
    wrong.post("/submit-job", "{}").fail(401);
    assert_eq!(good.get("/overview").status, 200);
    // Basic auth with the secret as password (what a browser sends).
    let basic = Rest::new(&c.nodes[0], "/seatunnel")
        .with_auth(&format!("Basic {}", base64_of("admin:s3cr3t-for-rest-api")));
    assert_eq!(basic.get("/running-jobs").json(), json!([]));
    // Outside the context path there is nothing.
    Rest::new(&c.nodes[0], "")
        .with_auth("Bearer s3cr3t-for-rest-api")
        .get("/overview")
        .fail(404);
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
