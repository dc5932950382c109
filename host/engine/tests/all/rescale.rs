//! Resuming at a lower parallelism from a checkpoint whose enumerator still held a split for a
//! reader the job no longer runs (a split given back after a failure and not yet handed out
//! again when the checkpoint was taken).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use st_checkpoint::{Checkpoint, CheckpointStore, Kind, TaskSnapshot};
use st_engine::{CheckpointConfig, Engine, TaskRole};

use crate::{job, runtime};

const SOURCE: &str = "source[0](FakeSource)";

/// FakeSource's split: `rows` rows of table 0 for `reader`, `offset` of them already read.
fn fake_split(reader: u32, rows: u64, offset: u64) -> Value {
    json!({ "table": 0, "reader": reader, "index": 0, "rows": rows, "offset": offset })
}

/// A split as a reader's snapshot holds it.
fn reader_state(split: &Value) -> Vec<u8> {
    let id = format!("0-{}-0", split["reader"]);
    serde_json::to_vec(&json!({ "id": id, "data": serde_json::to_vec(split).unwrap() })).unwrap()
}

fn task(states: Vec<Vec<u8>>) -> TaskSnapshot {
    TaskSnapshot {
        states: BTreeMap::from([(SOURCE.to_string(), states)]),
        commit_infos: BTreeMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_kept_for_a_removed_reader_goes_to_a_remaining_one() {
    let dir = tempfile::tempdir().unwrap();
    let opened = st_checkpoint::open::open(
        "localfile",
        &BTreeMap::from([("namespace".to_string(), dir.path().display().to_string())]),
        "test",
    )
    .unwrap();
    let engine = Engine::new(runtime()).with_checkpoints(CheckpointConfig {
        store: Some(opened.clone()),
        ..CheckpointConfig::default()
    });
    // Taken at parallelism 2: reader 0 had read 40 of its 100 rows; the enumerator held reader
    // 1's split of 100 rows, none read.
    let job_id = st_engine::JobId::generate();
    let store = CheckpointStore::new(opened.store.clone(), &format!("{}/{job_id}", opened.prefix));
    let pending = serde_json::to_vec(&json!([[1, fake_split(1, 100, 0)]])).unwrap();
    store
        .write(&Checkpoint {
            id: 7,
            pipeline: 0,
            kind: Kind::Savepoint,
            completed_at_ms: 1,
            tasks: BTreeMap::from([
                (
                    TaskRole::Enumerator { source: 0 }.key(),
                    task(vec![pending]),
                ),
                (
                    TaskRole::Subtask { index: 0 }.key(),
                    task(vec![reader_state(&fake_split(0, 100, 40))]),
                ),
                (TaskRole::Subtask { index: 1 }.key(), task(vec![])),
            ]),
        })
        .await
        .unwrap();

    // Resumed at parallelism 1: the one reader finishes its own split and takes reader 1's.
    let text = r#"
env { parallelism = 1 }
source { FakeSource { row.num = 100, split.num = 1, schema = { fields { id = bigint } } } }
sink { Assert { rules { row_rules = [ { rule_type = MIN_ROW, rule_value = 160 }, { rule_type = MAX_ROW, rule_value = 160 } ] } } }
"#;
    let prepared = engine.prepare(&job(text), job_id).await.expect("prepares");
    let report = engine.resume(prepared).await.expect("resumes");
    assert_eq!(
        report.total_read(),
        160,
        "60 rows left of split 0, all 100 of split 1"
    );
    assert_eq!(report.total_written(), 160);
}
