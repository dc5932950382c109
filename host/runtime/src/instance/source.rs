//! A source's instances: its split enumerator and its readers.

use st_core::{Batch, DataType};
use st_world::types as wit;
use wasmtime::component::ResourceAny;

use super::{Enumeration, PollStatus, Sandbox, Split, split_to_wit};
use crate::RuntimeError;

/// A source's split enumerator.
pub struct EnumeratorInstance {
    pub(super) sb: Sandbox,
    pub(super) b: st_world::source::SourcePlugin,
    pub(super) res: ResourceAny,
}

impl EnumeratorInstance {
    pub async fn enumerate(&mut self) -> Result<Enumeration, RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_enumerator()
            .call_enumerate(self.sb.call(), self.res)
            .await;
        let e = self.sb.result(r)?;
        Ok(Enumeration {
            assignments: e
                .assignments
                .into_iter()
                .map(|a| (a.reader, a.split.into()))
                .collect(),
            no_more_splits: e.no_more_splits,
        })
    }

    pub async fn add_splits_back(
        &mut self,
        reader: u32,
        splits: &[Split],
    ) -> Result<(), RuntimeError> {
        let splits: Vec<wit::Split> = splits.iter().map(split_to_wit).collect();
        let r = self
            .b
            .strait_connector_source()
            .split_enumerator()
            .call_add_splits_back(self.sb.call(), self.res, reader, &splits)
            .await;
        self.sb.result(r)
    }

    pub async fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>, RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_enumerator()
            .call_snapshot_state(self.sb.call(), self.res, checkpoint_id)
            .await;
        self.sb.result(r)
    }

    pub async fn notify_checkpoint_complete(
        &mut self,
        checkpoint_id: u64,
    ) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_enumerator()
            .call_notify_checkpoint_complete(self.sb.call(), self.res, checkpoint_id)
            .await;
        self.sb.result(r)
    }
}

/// A source reader: one per parallel subtask.
pub struct ReaderInstance {
    pub(super) sb: Sandbox,
    pub(super) b: st_world::source::SourcePlugin,
    pub(super) res: ResourceAny,
    pub(super) tables: Vec<(Vec<DataType>, Vec<String>)>,
}

impl ReaderInstance {
    pub async fn add_splits(&mut self, splits: &[Split]) -> Result<(), RuntimeError> {
        let splits: Vec<wit::Split> = splits.iter().map(split_to_wit).collect();
        let r = self
            .b
            .strait_connector_source()
            .split_reader()
            .call_add_splits(self.sb.call(), self.res, &splits)
            .await;
        self.sb.result(r)
    }

    pub async fn no_more_splits(&mut self) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_reader()
            .call_no_more_splits(self.sb.call(), self.res)
            .await;
        r.map_err(|e| self.sb.trap(&e))
    }

    /// Polls the next batch, checked against the source's declared tables.
    pub async fn poll_next(
        &mut self,
        max_rows: u32,
    ) -> Result<(Option<Batch>, PollStatus), RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_reader()
            .call_poll_next(self.sb.call(), self.res, max_rows)
            .await;
        let poll = self.sb.result(r)?;
        let batch = match poll.batch {
            Some(b) => Some(self.sb.check_batch(b, &self.tables)?),
            None => None,
        };
        let status = match poll.status {
            st_world::source::exports::strait::connector::source::PollStatus::More => {
                PollStatus::More
            }
            st_world::source::exports::strait::connector::source::PollStatus::Idle => {
                PollStatus::Idle
            }
            st_world::source::exports::strait::connector::source::PollStatus::Finished => {
                PollStatus::Finished
            }
        };
        Ok((batch, status))
    }

    pub async fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Split>, RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_reader()
            .call_snapshot_state(self.sb.call(), self.res, checkpoint_id)
            .await;
        Ok(self.sb.result(r)?.into_iter().map(Into::into).collect())
    }

    pub async fn notify_checkpoint_complete(
        &mut self,
        checkpoint_id: u64,
    ) -> Result<(), RuntimeError> {
        let r = self
            .b
            .strait_connector_source()
            .split_reader()
            .call_notify_checkpoint_complete(self.sb.call(), self.res, checkpoint_id)
            .await;
        self.sb.result(r)
    }

    /// Peak linear memory of this instance, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.sb.store.data().peak_memory()
    }

    /// Linear memory now, in bytes (wasm memory never shrinks, so this is also the peak).
    pub fn memory(&self) -> usize {
        self.sb.store.data().peak_memory()
    }
}
