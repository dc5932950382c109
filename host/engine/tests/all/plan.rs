//! The job plan is data: it goes through JSON and back unchanged, and a node opens the plan it
//! receives (components found by sha256) and runs it.

use st_engine::{Engine, JobId, JobPlan};

use crate::{job, runtime};

const JOB: &str = r#"
env { parallelism = 2, job.name = "planned" }
source { FakeSource { plugin_output = fake, row.num = 50, schema = { fields { id = bigint, name = string } } } }
transform { Filter { plugin_input = fake, plugin_output = kept, include_fields = [id] } }
sink { Assert { plugin_input = kept, rules { row_rules = [ { rule_type = MIN_ROW, rule_value = 100 }, { rule_type = MAX_ROW, rule_value = 100 } ] } } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_round_trips_through_json_and_runs_where_it_is_opened() {
    let engine = Engine::new(runtime());
    let planned = engine
        .plan(&job(JOB), JobId::from(733584788375666689))
        .await
        .expect("plans");
    let text = serde_json::to_string_pretty(&planned.plan).unwrap();
    let back: JobPlan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, planned.plan);
    assert!(text.contains("\"job_id\": 733584788375666689"), "{text}");
    let sha = &back.vertices[0].plugin.sha256;
    assert_eq!(sha.len(), 64, "names its component by sha256");
    assert_eq!(
        back.vertices[2].in_tables[0].columns.len(),
        1,
        "schemas travel"
    );
    assert_eq!(
        back.pipelines[0].tasks(),
        4,
        "an enumerator, a committer, 2 subtasks"
    );

    // Another engine (another node) opens the plan from JSON alone and runs it.
    let other = Engine::new(runtime());
    let opened = other.open(back).await.expect("opens");
    let report = other.run(opened).await.expect("runs");
    assert_eq!(report.total_written(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_component_hash_is_unknown_here_does_not_open() {
    let engine = Engine::new(runtime());
    let mut plan = engine
        .plan(&job(JOB), JobId::generate())
        .await
        .expect("plans")
        .plan;
    plan.vertices[0].plugin.sha256 = "ab".repeat(32);
    let Err(e) = engine.open(plan).await else {
        panic!("opened a plan whose component this node does not have")
    };
    assert!(e.message.contains("does not match its sha256 pin"), "{e}");
    assert!(e.message.starts_with("source[0](FakeSource)"), "{e}");
}
