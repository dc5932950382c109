//! Durable checkpoints on any object_store backend (the local filesystem by default, any
//! S3-compatible store by endpoint, bucket and credentials), laid out as
//! `<prefix>/<pipeline>/<checkpoint id>/{state.json,manifest.json}` with `<prefix>` =
//! `namespace/cluster/job`.
//!
//! The state is written first; the manifest, which names the state's length and blake3 hash,
//! is published with a put-if-absent. A checkpoint exists only once its manifest does, and a
//! manifest is believed only when the state matches it, so a torn or half-written checkpoint is
//! never read as complete, and two writers can never both publish the same id.
//!
//! A finished job leaves only `<prefix>/finished.json`: resuming it again must not run it twice.

use std::sync::Arc;

use futures_util::TryStreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::protocol::{Checkpoint, CheckpointId};

/// A storage failure, with what was being done.
#[derive(Debug, Clone, thiserror::Error)]
#[error("checkpoint storage: {0}")]
pub struct StorageError(pub String);

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    id: CheckpointId,
    state_bytes: usize,
    blake3: String,
}

/// What a finished job leaves behind: resuming it runs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    /// When it finished, in milliseconds since the Unix epoch.
    pub finished_at_ms: u64,
}

const FINISHED: &str = "finished.json";

/// Where a job's checkpoints live.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl CheckpointStore {
    /// `prefix` is `namespace/cluster/job` (any `/`-separated path).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> CheckpointStore {
        CheckpointStore {
            store,
            prefix: Path::from(prefix),
        }
    }

    /// Checkpoints under a local directory (created when missing).
    pub fn local(dir: &std::path::Path, prefix: &str) -> Result<CheckpointStore, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError(format!("cannot create {}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StorageError(format!("cannot open {}: {e}", dir.display())))?;
        Ok(CheckpointStore::new(Arc::new(fs), prefix))
    }

    fn dir(&self, pipeline: u32, id: CheckpointId) -> Path {
        self.prefix
            .clone()
            .join(pipeline.to_string())
            .join(format!("{id:020}"))
    }

    /// Writes a completed checkpoint: state first, then the manifest, put-if-absent.
    pub async fn write(&self, cp: &Checkpoint) -> Result<(), StorageError> {
        let dir = self.dir(cp.pipeline, cp.id);
        let state = serde_json::to_vec(cp)
            .map_err(|e| StorageError(format!("cannot encode checkpoint {}: {e}", cp.id)))?;
        let manifest = Manifest {
            id: cp.id,
            state_bytes: state.len(),
            blake3: blake3::hash(&state).to_hex().to_string(),
        };
        let manifest = serde_json::to_vec(&manifest)
            .map_err(|e| StorageError(format!("cannot encode a manifest: {e}")))?;
        let state_path = dir.clone().join("state.json");
        self.store
            .put(&state_path, PutPayload::from(state))
            .await
            .map_err(|e| StorageError(format!("cannot write {state_path}: {e}")))?;
        let manifest_path = dir.join("manifest.json");
        self.store
            .put_opts(
                &manifest_path,
                PutPayload::from(manifest),
                PutOptions::from(PutMode::Create),
            )
            .await
            .map_err(|e| match e {
                object_store::Error::AlreadyExists { .. } => StorageError(format!(
                    "checkpoint {} of pipeline {} already exists ({manifest_path}); another run of this job is writing here",
                    cp.id, cp.pipeline
                )),
                e => StorageError(format!("cannot write {manifest_path}: {e}")),
            })?;
        Ok(())
    }

    /// The published checkpoint ids of a pipeline, oldest first (torn ones included).
    async fn ids(&self, pipeline: u32) -> Result<Vec<CheckpointId>, StorageError> {
        let base = self.prefix.clone().join(pipeline.to_string());
        let metas: Vec<_> = self
            .store
            .list(Some(&base))
            .try_collect()
            .await
            .map_err(|e| StorageError(format!("cannot list {base}: {e}")))?;
        let mut ids: Vec<CheckpointId> = metas
            .iter()
            .filter(|m| m.location.filename() == Some("manifest.json"))
            .filter_map(|m| {
                let parts: Vec<_> = m.location.parts().collect();
                parts
                    .get(parts.len().checked_sub(2)?)?
                    .as_ref()
                    .parse()
                    .ok()
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Reads checkpoint `id`, `None` when it is missing, torn or does not match its manifest.
    pub async fn read(
        &self,
        pipeline: u32,
        id: CheckpointId,
    ) -> Result<Option<Checkpoint>, StorageError> {
        let dir = self.dir(pipeline, id);
        let get = |p: Path| {
            let store = self.store.clone();
            async move {
                match store.get(&p).await {
                    Ok(r) => r
                        .bytes()
                        .await
                        .map(Some)
                        .map_err(|e| StorageError(format!("cannot read {p}: {e}"))),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(StorageError(format!("cannot read {p}: {e}"))),
                }
            }
        };
        let Some(manifest) = get(dir.clone().join("manifest.json")).await? else {
            return Ok(None);
        };
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&manifest) else {
            return Ok(None);
        };
        let Some(state) = get(dir.join("state.json")).await? else {
            return Ok(None);
        };
        if manifest.id != id
            || manifest.state_bytes != state.len()
            || manifest.blake3 != blake3::hash(&state).to_hex().as_str()
        {
            return Ok(None);
        }
        Ok(serde_json::from_slice::<Checkpoint>(&state)
            .ok()
            .filter(|c| c.id == id && c.pipeline == pipeline))
    }

    /// The newest complete checkpoint of a pipeline.
    pub async fn latest(&self, pipeline: u32) -> Result<Option<Checkpoint>, StorageError> {
        for id in self.ids(pipeline).await?.into_iter().rev() {
            if let Some(cp) = self.read(pipeline, id).await? {
                return Ok(Some(cp));
            }
        }
        Ok(None)
    }

    /// Records that the job finished (written before its checkpoints are cleared, so a crash in
    /// between still leaves the job finished).
    pub async fn mark_finished(&self, finished: &Finished) -> Result<(), StorageError> {
        let path = self.prefix.clone().join(FINISHED);
        let bytes = serde_json::to_vec(finished)
            .map_err(|e| StorageError(format!("cannot encode {path}: {e}")))?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| StorageError(format!("cannot write {path}: {e}")))?;
        Ok(())
    }

    /// Whether (and when) the job finished.
    pub async fn finished(&self) -> Result<Option<Finished>, StorageError> {
        let path = self.prefix.clone().join(FINISHED);
        match self.store.get(&path).await {
            Ok(got) => {
                let bytes = got
                    .bytes()
                    .await
                    .map_err(|e| StorageError(format!("cannot read {path}: {e}")))?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StorageError(format!("{path} is damaged: {e}")))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(StorageError(format!("cannot read {path}: {e}"))),
        }
    }

    /// Deletes every checkpoint under the prefix (a finished job has nothing to resume); the
    /// finished marker stays.
    pub async fn clear(&self) -> Result<(), StorageError> {
        let metas: Vec<_> = self
            .store
            .list(Some(&self.prefix))
            .try_collect()
            .await
            .map_err(|e| StorageError(format!("cannot list {}: {e}", self.prefix)))?;
        // Manifests first, so an interrupted clear leaves torn checkpoints, never wrong ones.
        let (manifests, rest): (Vec<_>, Vec<_>) = metas
            .into_iter()
            .partition(|m| m.location.filename() == Some("manifest.json"));
        let finished = self.prefix.clone().join(FINISHED);
        for m in manifests
            .into_iter()
            .chain(rest)
            .filter(|m| m.location != finished)
        {
            match self.store.delete(&m.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(StorageError(format!("cannot delete {}: {e}", m.location)));
                }
            }
        }
        Ok(())
    }

    /// Keeps the newest `max_retained` checkpoints of a pipeline, deleting older ones (and any
    /// torn leftovers older than the newest complete one).
    pub async fn retain(&self, pipeline: u32, max_retained: usize) -> Result<(), StorageError> {
        let ids = self.ids(pipeline).await?;
        let keep = max_retained.max(1);
        if ids.len() <= keep {
            return Ok(());
        }
        for id in &ids[..ids.len() - keep] {
            let dir = self.dir(pipeline, *id);
            // The manifest goes first: a half-deleted checkpoint is a torn one, never a wrong one.
            for file in ["manifest.json", "state.json"] {
                let p = dir.clone().join(file);
                match self.store.delete(&p).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(StorageError(format!("cannot delete {p}: {e}"))),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::protocol::{Kind, TaskSnapshot};

    fn checkpoint(id: CheckpointId) -> Checkpoint {
        let mut snap = TaskSnapshot::default();
        snap.states
            .insert("source[0](FakeSource)".into(), vec![vec![0, 1, 2, 255]]);
        snap.commit_infos
            .insert("sink[0](LocalFile)".into(), vec![b"part-0001".to_vec()]);
        Checkpoint {
            id,
            pipeline: 0,
            kind: Kind::Periodic,
            completed_at_ms: 1_700_000_000_000 + id,
            tasks: BTreeMap::from([("subtask/0".to_string(), snap)]),
        }
    }

    #[tokio::test]
    async fn written_checkpoints_read_back_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::local(dir.path(), "strait/local/job1").unwrap();
        assert_eq!(store.latest(0).await.unwrap(), None);
        for id in 1..=3 {
            store.write(&checkpoint(id)).await.unwrap();
        }
        assert_eq!(store.latest(0).await.unwrap(), Some(checkpoint(3)));
        assert_eq!(store.read(0, 2).await.unwrap(), Some(checkpoint(2)));
        assert_eq!(store.latest(1).await.unwrap(), None, "pipelines are apart");
        // Ids sort numerically, not as text.
        store.write(&checkpoint(10)).await.unwrap();
        assert_eq!(store.latest(0).await.unwrap().unwrap().id, 10);
    }

    #[tokio::test]
    async fn a_torn_checkpoint_is_never_read_as_complete() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::local(dir.path(), "ns/cluster/job").unwrap();
        store.write(&checkpoint(1)).await.unwrap();
        store.write(&checkpoint(2)).await.unwrap();
        // State written, manifest never published (a crash in between).
        let torn = dir.path().join("ns/cluster/job/0/00000000000000000003");
        std::fs::create_dir_all(&torn).unwrap();
        std::fs::write(torn.join("state.json"), b"{\"id\":3").unwrap();
        assert_eq!(store.latest(0).await.unwrap().unwrap().id, 2);
        // A state truncated after its manifest was published.
        let two = dir
            .path()
            .join("ns/cluster/job/0/00000000000000000002/state.json");
        let bytes = std::fs::read(&two).unwrap();
        std::fs::write(&two, &bytes[..bytes.len() - 5]).unwrap();
        assert_eq!(store.latest(0).await.unwrap().unwrap().id, 1);
    }

    #[tokio::test]
    async fn the_same_id_is_published_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::local(dir.path(), "job").unwrap();
        store.write(&checkpoint(1)).await.unwrap();
        let err = store.write(&checkpoint(1)).await.unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[tokio::test]
    async fn retain_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::local(dir.path(), "job").unwrap();
        for id in 1..=5 {
            store.write(&checkpoint(id)).await.unwrap();
        }
        store.retain(0, 2).await.unwrap();
        assert_eq!(store.read(0, 3).await.unwrap(), None);
        assert_eq!(store.read(0, 4).await.unwrap(), Some(checkpoint(4)));
        assert_eq!(store.latest(0).await.unwrap(), Some(checkpoint(5)));
    }

    #[tokio::test]
    async fn a_finished_job_keeps_only_its_marker() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::local(dir.path(), "ns/local/job").unwrap();
        assert_eq!(store.finished().await.unwrap(), None);
        store.write(&checkpoint(1)).await.unwrap();
        let done = Finished {
            finished_at_ms: 1_700_000_000_123,
        };
        store.mark_finished(&done).await.unwrap();
        store.clear().await.unwrap();
        assert_eq!(store.latest(0).await.unwrap(), None);
        assert_eq!(store.finished().await.unwrap(), Some(done));
    }
}
