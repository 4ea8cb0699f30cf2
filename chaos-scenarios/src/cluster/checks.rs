//! The global record the safety checks compare every node against (CHECKER.md invariants 19
//! and 20, and Raft's State Machine Safety): one leader per term, one committed entry per
//! index, one image per applied index, one partition leader per leader epoch.

use std::collections::BTreeMap;

use sluice_core::controller::{MetadataImage, MetadataRecord, Uuid};
use sluice_core::raft::NodeId as RaftId;

/// What every node must agree on, as first seen by any node.
#[derive(Debug, Default)]
pub struct History {
    leaders: BTreeMap<u64, RaftId>,
    entries: BTreeMap<u64, (u64, u64)>,
    images: BTreeMap<u64, u64>,
    partition_leaders: BTreeMap<(Uuid, i32, i32), i32>,
    broker_leaders: BTreeMap<(Uuid, i32, i32), i32>,
    last_controller: Option<RaftId>,
}

impl History {
    /// At most one leader per term.
    pub fn leader(&mut self, term: u64, id: RaftId) -> Result<(), String> {
        match self.leaders.insert(term, id) {
            Some(other) if other != id => Err(format!("{other} and {id} both led term {term}")),
            _ => Ok(()),
        }
    }

    /// Every node applies the same entry at the same index.
    pub fn committed(
        &mut self,
        node: u32,
        index: u64,
        term: u64,
        data: &[u8],
    ) -> Result<(), String> {
        let entry = (term, fnv(data));
        match self.entries.insert(index, entry) {
            Some(first) if first != entry => Err(format!(
                "n{node} applied term {term} at index {index}, where term {} was applied before",
                first.0
            )),
            _ => Ok(()),
        }
    }

    /// Every node's image after applying through `index` is the same, byte for byte: `data`
    /// is its encoding, from a snapshot taken or loaded.
    pub fn snapshot(&mut self, index: u64, data: &[u8]) -> Result<(), String> {
        let hash = fnv(data);
        match self.images.insert(index, hash) {
            Some(first) if first != hash => Err(format!("two different images at index {index}")),
            _ => Ok(()),
        }
    }

    /// At most one leader per partition per leader epoch, across every node's image. Only the
    /// partition `record` just changed is looked at: the others are as they were.
    pub fn partition_leader(
        &mut self,
        image: &MetadataImage,
        record: &MetadataRecord,
    ) -> Result<(), String> {
        let (topic_id, partition) = match record {
            MetadataRecord::Partition(record) => (record.topic_id, record.partition),
            MetadataRecord::PartitionChange(change) => (change.topic_id, change.partition),
            _ => return Ok(()),
        };
        let Some(state) = image.partition(topic_id, partition) else {
            return Ok(()); // the record did not fit the image (a deleted topic): nothing changed
        };
        let key = (topic_id, partition, state.leader_epoch);
        match self.partition_leaders.insert(key, state.leader) {
            Some(other) if other != state.leader => Err(format!(
                "partition {partition} of {topic_id:?}: leaders {other} and {} in epoch {}",
                state.leader, state.leader_epoch
            )),
            _ => Ok(()),
        }
    }

    /// At most one broker takes up leadership of a partition in one leader epoch.
    pub fn broker_leads(&mut self, key: (Uuid, i32, i32), broker: i32) -> Result<(), String> {
        match self.broker_leaders.insert(key, broker) {
            Some(other) if other != broker => Err(format!(
                "brokers {other} and {broker} both lead partition {} of {:?} in epoch {}",
                key.1, key.0, key.2
            )),
            _ => Ok(()),
        }
    }

    /// Records the active controller; true when it moved from another node.
    pub fn controller_changed(&mut self, id: RaftId) -> bool {
        let moved = self.last_controller.is_some_and(|last| last != id);
        self.last_controller = Some(id);
        moved
    }
}

/// FNV-1a 64: stable across runs and Rust versions, unlike std's hasher.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
