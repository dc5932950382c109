//! Checkpoints: the coordinator protocol ([`protocol`], pure logic) and the storage that makes
//! a checkpoint durable ([`storage`], object_store). The engine owns the tasks and the clock
//! and wires the two together.

mod bytes64;
pub mod open;
pub mod protocol;
pub mod storage;

pub use protocol::{
    Action, Checkpoint, CheckpointId, Coordinator, Kind, ProtocolError, RestorePlan, Settings,
    TaskKey, TaskSnapshot,
};
pub use storage::{CheckpointStore, Finished, StorageError};
