//! The openraft type configuration: commands of the job-state map, node ids as u64 and
//! addresses as `BasicNode`.

use crate::map::{Applied, Command};

openraft::declare_raft_types!(
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

pub type Raft = openraft::Raft<TypeConfig>;
