//! A sink's instances: its writers and its committer.

use st_core::Batch;
use st_world::conv;
use wasmtime::component::ResourceAny;

use super::Sandbox;
use crate::RuntimeError;

/// A sink writer: one per parallel subtask.
pub struct SinkWriterInstance {
    pub(super) sb: Sandbox,
    pub(super) b: st_world::sink::SinkPlugin,
    pub(super) res: ResourceAny,
}

impl SinkWriterInstance {
    pub async fn write(&mut self, batch: Batch) -> Result<(), RuntimeError> {
        let w = conv::batch_to_wit(batch);
        let r = self
            .b
            .strait_connector_sink()
            .sink_writer()
            .call_write(self.sb.call(), self.res, &w)
            .await;
        self.sb.result(r)
    }

    pub async fn prepare_commit(
        &mut self,
        checkpoint_id: u64,
    ) -> Result<Option<Vec<u8>>, RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_writer()
            .call_prepare_commit(self.sb.call(), self.res, checkpoint_id)
            .await;
        self.sb.result(r)
    }

    pub async fn snapshot_state(
        &mut self,
        checkpoint_id: u64,
    ) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_writer()
            .call_snapshot_state(self.sb.call(), self.res, checkpoint_id)
            .await;
        self.sb.result(r)
    }

    pub async fn abort_prepare(&mut self) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_writer()
            .call_abort_prepare(self.sb.call(), self.res)
            .await;
        self.sb.result(r)
    }

    pub async fn close(&mut self) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_writer()
            .call_close(self.sb.call(), self.res)
            .await;
        self.sb.result(r)
    }

    /// Peak linear memory of this instance, in bytes (wasm memory never shrinks, so this is
    /// also its memory now).
    pub fn peak_memory(&self) -> usize {
        self.sb.store.data().peak_memory()
    }
}

/// A sink's committer: one per pipeline.
pub struct SinkCommitterInstance {
    pub(super) sb: Sandbox,
    pub(super) b: st_world::sink::SinkPlugin,
    pub(super) res: ResourceAny,
}

impl SinkCommitterInstance {
    /// Commits; returns the infos that must be retried.
    pub async fn commit(
        &mut self,
        checkpoint_id: u64,
        infos: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_committer()
            .call_commit(self.sb.call(), self.res, checkpoint_id, infos)
            .await;
        self.sb.result(r)
    }

    pub async fn abort(&mut self, infos: &[Vec<u8>]) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_committer()
            .call_abort(self.sb.call(), self.res, infos)
            .await;
        self.sb.result(r)
    }

    pub async fn close(&mut self) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_sink()
            .sink_committer()
            .call_close(self.sb.call(), self.res)
            .await;
        self.sb.result(r)
    }
}
