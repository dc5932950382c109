//! A transform's instance.

use st_core::{Batch, DataType, TableSchema};
use st_world::conv;
use wasmtime::component::ResourceAny;

use super::Sandbox;
use crate::RuntimeError;

/// A transform instance.
pub struct TransformInstance {
    pub(super) sb: Sandbox,
    pub(super) b: st_world::transform::TransformPlugin,
    pub(super) res: ResourceAny,
    /// The declared output tables.
    pub outputs: Vec<TableSchema>,
    pub(super) tables: Vec<(Vec<DataType>, Vec<String>)>,
}

impl TransformInstance {
    /// Linear memory now (and at its peak), in bytes.
    pub fn memory(&self) -> usize {
        self.sb.store.data().peak_memory()
    }

    pub async fn map(&mut self, input: Batch) -> Result<Vec<Batch>, RuntimeError> {
        let w = conv::batch_to_wit(input);
        let r = self
            .b
            .strait_connector_transform()
            .transformer()
            .call_map(self.sb.call(), self.res, &w)
            .await;
        let out = self.sb.result(r)?;
        out.into_iter()
            .map(|b| self.sb.check_batch(b, &self.tables))
            .collect()
    }
}
