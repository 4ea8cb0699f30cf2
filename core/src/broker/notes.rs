//! What a node lets an observer see of its decisions: the committed metadata it applies, the
//! snapshots it takes and loads, its turns as the active controller and the partition
//! leaderships its broker takes up. The simulator reads them to check the whole cluster (one
//! committed entry per index on every node, one leader per partition epoch, identical images
//! at equal indexes); off by default, so a node that ships keeps none.

use super::node::Node;
use crate::controller::{FollowError, Uuid};
use crate::raft::CommittedRead;

/// One thing a node did, in the order it did them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeNote {
    /// A committed metadata entry was applied to the node's image.
    Applied {
        /// Its index in the metadata log.
        index: u64,
        /// Its term.
        term: u64,
        /// Its bytes (a batch of metadata records).
        data: Vec<u8>,
    },
    /// A snapshot of the image replaced everything applied up to `index`, from the
    /// controller's compacted log (a voter behind its leader, or a broker-only node).
    SnapshotLoaded {
        /// The last index it covers.
        index: u64,
        /// The encoded image.
        data: Vec<u8>,
    },
    /// The node snapshotted its image at `index` and compacted its log.
    SnapshotTaken {
        /// The last index it covers.
        index: u64,
        /// The encoded image.
        data: Vec<u8>,
    },
    /// The node became the active controller in `term`.
    ControllerActivated {
        /// The Raft term.
        term: u64,
    },
    /// The node stopped being the active controller.
    ControllerResigned,
    /// The broker acts as the leader of a partition in a leader epoch: a leadership taken up,
    /// or a change of its ISR within the epoch.
    LeadershipTaken {
        /// The topic.
        topic_id: Uuid,
        /// The partition.
        partition: i32,
        /// The leader epoch.
        leader_epoch: i32,
    },
}

impl Node {
    /// Starts (or stops) keeping [`NodeNote`]s for [`Node::poll_note`]. An observer that turns
    /// them on must drain them.
    pub fn observe(&mut self, on: bool) {
        self.observed = on;
        if !on {
            self.notes.clear();
        }
    }

    /// The next note, oldest first.
    pub fn poll_note(&mut self) -> Option<NodeNote> {
        self.notes.pop_front()
    }

    pub(super) fn note(&mut self, note: impl FnOnce() -> NodeNote) {
        if self.observed {
            self.notes.push_back(note());
        }
    }

    /// Hands a committed read to the metadata follower, noting what it applied.
    pub(super) fn follow_read(&mut self, read: CommittedRead) -> Result<(), FollowError> {
        if !self.observed {
            return self.follower.handle_read(read);
        }
        let before = self.follower.applied_index();
        let notes: Vec<NodeNote> = match &read {
            CommittedRead::Entries { entries, .. } => entries
                .iter()
                .filter(|entry| entry.index > before)
                .map(|entry| NodeNote::Applied {
                    index: entry.index,
                    term: entry.term,
                    data: entry.data.clone(),
                })
                .collect(),
            CommittedRead::Snapshot { index, data, .. } => vec![NodeNote::SnapshotLoaded {
                index: *index,
                data: data.clone(),
            }],
            CommittedRead::UpToDate { .. } => Vec::new(),
        };
        self.follower.handle_read(read)?;
        let applied = self.follower.applied_index();
        self.notes
            .extend(notes.into_iter().filter(|note| match note {
                NodeNote::Applied { index, .. } => *index <= applied,
                _ => true,
            }));
        Ok(())
    }
}
