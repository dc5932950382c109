//! The Raft log and the state machine's snapshots on redb, in one file under the node's data
//! directory (`data/raft.redb`). redb's lock on the file also keeps a second node off the same
//! directory.
//!
//! Log entries, the vote and snapshots are committed with `Durability::Immediate` (an fsync);
//! the committed index with `None`, made durable by the next immediate commit (openraft
//! re-applies from the last snapshot up to it after a crash). The map itself lives in memory
//! and is rebuilt at start from the latest snapshot and the log after it.

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, RaftLogStorage, RaftStateMachine};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, LogState, OptionalSend, RaftLogReader,
    RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership,
    Vote,
};
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::map::{Applied, JobStateMap};
use crate::types::TypeConfig;

type NodeId = u64;
type Error = StorageError<NodeId>;

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshot");

/// Version byte in front of every stored value, so a later format can tell old data.
const FORMAT: u8 = 1;

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![FORMAT];
    serde_json::to_writer(&mut out, v).expect("raft types serialize");
    out
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, AnyError> {
    match bytes.split_first() {
        Some((&FORMAT, rest)) => serde_json::from_slice(rest).map_err(|e| AnyError::new(&e)),
        Some((v, _)) => Err(AnyError::error(format!(
            "stored with format {v}, which this version does not read"
        ))),
        None => Err(AnyError::error("empty stored value")),
    }
}

fn any(e: impl std::fmt::Display) -> AnyError {
    AnyError::error(e.to_string())
}

/// Opens (or creates) `dir/raft.redb` and returns its log store and state machine.
pub fn open(dir: &Path) -> Result<(LogStore, StateMachine), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("raft.redb");
    let db = Database::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let tx = db
        .begin_write()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    {
        tx.open_table(LOG).map_err(|e| e.to_string())?;
        tx.open_table(META).map_err(|e| e.to_string())?;
        tx.open_table(SNAPSHOT).map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())?;
    let db = Arc::new(db);
    let sm = StateMachine::load(db.clone()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((LogStore { db }, sm))
}

#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
}

impl LogStore {
    fn meta<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<Option<T>, AnyError> {
        let tx = self.db.begin_read().map_err(any)?;
        let t = tx.open_table(META).map_err(any)?;
        match t.get(key).map_err(any)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    fn put_meta<T: Serialize>(&self, key: &str, v: &T, durable: bool) -> Result<(), AnyError> {
        let mut tx = self.db.begin_write().map_err(any)?;
        if !durable {
            tx.set_durability(redb::Durability::None).map_err(any)?;
        }
        {
            let mut t = tx.open_table(META).map_err(any)?;
            t.insert(key, encode(v).as_slice()).map_err(any)?;
        }
        tx.commit().map_err(any)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, Error> {
        let read = || -> Result<Vec<Entry<TypeConfig>>, AnyError> {
            let tx = self.db.begin_read().map_err(any)?;
            let t = tx.open_table(LOG).map_err(any)?;
            let mut out = Vec::new();
            for item in t.range(range.clone()).map_err(any)? {
                let (_, v) = item.map_err(any)?;
                out.push(decode(v.value())?);
            }
            Ok(out)
        };
        read().map_err(|e| StorageIOError::read_logs(e).into())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, Error> {
        let state = || -> Result<LogState<TypeConfig>, AnyError> {
            let last_purged: Option<LogId<NodeId>> = self.meta("last_purged")?;
            let tx = self.db.begin_read().map_err(any)?;
            let t = tx.open_table(LOG).map_err(any)?;
            let last = match t.last().map_err(any)? {
                Some((_, v)) => Some(decode::<Entry<TypeConfig>>(v.value())?.log_id),
                None => last_purged,
            };
            Ok(LogState {
                last_purged_log_id: last_purged,
                last_log_id: last,
            })
        };
        state().map_err(|e| StorageIOError::read_logs(e).into())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), Error> {
        self.put_meta("vote", vote, true)
            .map_err(|e| StorageIOError::write_vote(e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, Error> {
        self.meta("vote")
            .map_err(|e| StorageIOError::read_vote(e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), Error> {
        self.put_meta("committed", &committed, false)
            .map_err(|e| StorageIOError::write(e).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, Error> {
        Ok(self
            .meta::<Option<LogId<NodeId>>>("committed")
            .map_err(StorageIOError::read)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), Error>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let write = || -> Result<(), AnyError> {
            let tx = self.db.begin_write().map_err(any)?;
            {
                let mut t = tx.open_table(LOG).map_err(any)?;
                for e in entries {
                    t.insert(e.log_id.index, encode(&e).as_slice())
                        .map_err(any)?;
                }
            }
            tx.commit().map_err(any)
        };
        match write() {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(StorageIOError::write_logs(e).into())
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), Error> {
        self.remove(log_id.index..)
            .map_err(|e| StorageIOError::write_logs(e).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), Error> {
        let purge = || -> Result<(), AnyError> {
            self.put_meta("last_purged", &Some(log_id), true)?;
            self.remove(..=log_id.index)
        };
        purge().map_err(|e| StorageIOError::write_logs(e).into())
    }
}

impl LogStore {
    fn remove(&self, range: impl RangeBounds<u64>) -> Result<(), AnyError> {
        let tx = self.db.begin_write().map_err(any)?;
        {
            let mut t = tx.open_table(LOG).map_err(any)?;
            t.retain_in(range, |_, _| false).map_err(any)?;
        }
        tx.commit().map_err(any)
    }
}

/// What a snapshot holds: the map and what Raft needs beside it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SmState {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, openraft::BasicNode>,
    map: JobStateMap,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, openraft::BasicNode>,
    data: Vec<u8>,
}

/// The job-state map as Raft applies it; readers share it through [`StateMachine::map`].
#[derive(Clone)]
pub struct StateMachine {
    db: Arc<Database>,
    state: Arc<Mutex<SmState>>,
    snapshots: Arc<std::sync::atomic::AtomicU64>,
}

impl StateMachine {
    fn load(db: Arc<Database>) -> Result<StateMachine, AnyError> {
        let stored = Self::stored(&db)?;
        let state = match &stored {
            Some(s) => serde_json::from_slice(&s.data).map_err(|e| AnyError::new(&e))?,
            None => SmState::default(),
        };
        Ok(StateMachine {
            db,
            state: Arc::new(Mutex::new(state)),
            snapshots: Default::default(),
        })
    }

    fn stored(db: &Database) -> Result<Option<StoredSnapshot>, AnyError> {
        let tx = db.begin_read().map_err(any)?;
        let t = tx.open_table(SNAPSHOT).map_err(any)?;
        match t.get("current").map_err(any)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    fn save(&self, s: &StoredSnapshot) -> Result<(), AnyError> {
        let tx = self.db.begin_write().map_err(any)?;
        {
            let mut t = tx.open_table(SNAPSHOT).map_err(any)?;
            t.insert("current", encode(s).as_slice()).map_err(any)?;
        }
        tx.commit().map_err(any)
    }

    /// A copy of the map as applied on this node (possibly behind the leader's).
    pub fn map(&self) -> JobStateMap {
        self.state.lock().expect("state lock").map.clone()
    }

    /// Reads the map as applied on this node without copying it (keep `f` short: Raft
    /// applies wait for it).
    pub fn read<R>(&self, f: impl FnOnce(&JobStateMap) -> R) -> R {
        f(&self.state.lock().expect("state lock").map)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, Error> {
        // A copy taken under the lock, serialized outside it: applies and readers wait for
        // the copy only, not for the JSON of every job.
        let copy = self.state.lock().expect("state lock").clone();
        let (data, last_applied, membership) = (
            serde_json::to_vec(&copy).expect("map serializes"),
            copy.last_applied,
            copy.membership.clone(),
        );
        let n = self
            .snapshots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = match last_applied {
            Some(l) => format!("{}-{}-{n}", l.leader_id, l.index),
            None => format!("none-{n}"),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id: id,
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        };
        self.save(&stored)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<
        (
            Option<LogId<NodeId>>,
            StoredMembership<NodeId, openraft::BasicNode>,
        ),
        Error,
    > {
        let s = self.state.lock().expect("state lock");
        Ok((s.last_applied, s.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, Error>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut s = self.state.lock().expect("state lock");
        let mut out = Vec::new();
        for e in entries {
            s.last_applied = Some(e.log_id);
            out.push(match e.payload {
                EntryPayload::Blank => Applied::Done,
                EntryPayload::Normal(cmd) => s.map.apply(cmd),
                EntryPayload::Membership(m) => {
                    s.membership = StoredMembership::new(Some(e.log_id), m);
                    Applied::Done
                }
            });
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, Error> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), Error> {
        let data = snapshot.into_inner();
        let state: SmState = serde_json::from_slice(&data).map_err(|e| {
            StorageIOError::read_snapshot(Some(meta.signature()), AnyError::new(&e))
        })?;
        self.save(&StoredSnapshot {
            meta: meta.clone(),
            data,
        })
        .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), e))?;
        *self.state.lock().expect("state lock") = SmState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            ..state
        };
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, Error> {
        let stored = Self::stored(&self.db).map_err(|e| StorageIOError::read_snapshot(None, e))?;
        Ok(stored.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
