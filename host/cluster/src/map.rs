//! The replicated job-state map (SeaTunnel's IMap): data, commands as data and a pure
//! [`JobStateMap::apply`]. Every change to it is one Raft log entry; hot metrics never are.
//!
//! This first part holds the cluster's members and the master's epoch; jobs, pipelines,
//! checkpoint pointers and slots join it with the scheduler.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a node does: SeaTunnel's `master_and_worker`, `master`, `worker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Master-eligible and runs tasks (SeaTunnel's `master_and_worker`).
    Hybrid,
    Master,
    Worker,
}

impl Role {
    /// SeaTunnel's name for it.
    pub fn seatunnel_name(self) -> &'static str {
        match self {
            Role::Hybrid => "master_and_worker",
            Role::Master => "master",
            Role::Worker => "worker",
        }
    }

    /// Whether it holds the map and votes.
    pub fn master_eligible(self) -> bool {
        self != Role::Worker
    }

    /// Whether it runs tasks.
    pub fn runs_tasks(self) -> bool {
        self != Role::Master
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Hybrid => "hybrid",
            Role::Master => "master",
            Role::Worker => "worker",
        })
    }
}

/// A member as it registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: u64,
    pub address: String,
    pub role: Role,
    /// `member-attributes`.
    pub tags: BTreeMap<String, String>,
    /// Static slots (`slot-service.slot-num`), or `None` for dynamic slots (no limit).
    pub slots: Option<u32>,
    /// Bumped at each start of the node, so a record from before a restart is told apart.
    pub incarnation: u64,
}

/// The term in which a node took up master duties, written by it before it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterEpoch {
    pub term: u64,
    pub node: u64,
}

/// A change to the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A node (re)registers; the newer incarnation wins, an older one is ignored.
    RegisterNode(NodeRecord),
    /// A new master fences off older ones: applied only when its term is newer.
    MasterEpoch(MasterEpoch),
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    Done,
    /// Nothing changed: the command was older than what the map holds (an idempotent retry
    /// of a write whose first answer was lost lands here too).
    Stale,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStateMap {
    pub nodes: BTreeMap<u64, NodeRecord>,
    pub master: Option<MasterEpoch>,
}

impl JobStateMap {
    pub fn apply(&mut self, cmd: Command) -> Applied {
        match cmd {
            Command::RegisterNode(n) => match self.nodes.get(&n.id) {
                Some(old) if old.incarnation > n.incarnation || *old == n => Applied::Stale,
                _ => {
                    self.nodes.insert(n.id, n);
                    Applied::Done
                }
            },
            Command::MasterEpoch(e) => match self.master {
                Some(m) if m.term >= e.term => Applied::Stale,
                _ => {
                    self.master = Some(e);
                    Applied::Done
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, incarnation: u64) -> NodeRecord {
        NodeRecord {
            id,
            address: format!("127.0.0.1:{}", 5800 + id),
            role: Role::Hybrid,
            tags: BTreeMap::new(),
            slots: None,
            incarnation,
        }
    }

    #[test]
    fn newer_registrations_and_epochs_win_and_retries_are_harmless() {
        let mut m = JobStateMap::default();
        assert_eq!(m.apply(Command::RegisterNode(node(1, 2))), Applied::Done);
        assert_eq!(m.apply(Command::RegisterNode(node(1, 2))), Applied::Stale);
        assert_eq!(m.apply(Command::RegisterNode(node(1, 1))), Applied::Stale);
        assert_eq!(m.nodes[&1].incarnation, 2);
        assert_eq!(m.apply(Command::RegisterNode(node(1, 3))), Applied::Done);
        let e = |term| Command::MasterEpoch(MasterEpoch { term, node: 1 });
        assert_eq!(m.apply(e(3)), Applied::Done);
        assert_eq!(m.apply(e(3)), Applied::Stale);
        assert_eq!(m.apply(e(2)), Applied::Stale);
        assert_eq!(m.master.unwrap().term, 3);
    }
}
