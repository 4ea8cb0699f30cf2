//! The serving side of a metadata fetch: committed entries for observers (KIP-595's Fetch and
//! KIP-630's FetchSnapshot, as KRaft brokers use them to follow the metadata log).
//!
//! An observer is not a voter: it never appends, votes or counts towards a commit. So it is
//! only ever shown committed entries, which no leader change can truncate, and it needs no
//! consistency check or divergence handling of its own. Any voter can serve, leader or
//! follower; a follower's commit index may lag the leader's, which only makes the observer
//! wait a little longer.

use super::message::Entry;
use super::RaftNode;

/// What [`RaftNode::read_committed`] found for an observer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommittedRead {
    /// Consecutive committed entries starting at the index asked for.
    Entries {
        /// At least one entry; the last one's index is at most `commit`.
        entries: Vec<Entry>,
        /// The serving node's commit index: the observer is caught up with this node once it
        /// has applied through it.
        commit: u64,
    },
    /// The entries asked for were compacted: the observer replaces its state with this
    /// snapshot and fetches again from `index + 1` (KIP-630's FetchSnapshot).
    Snapshot {
        /// The last index the snapshot covers (committed).
        index: u64,
        /// The term of that entry.
        term: u64,
        /// The application's snapshot bytes.
        data: Vec<u8>,
    },
    /// Nothing committed at or after the index asked for; ask again later.
    UpToDate {
        /// The serving node's commit index, below the index asked for.
        commit: u64,
    },
}

impl RaftNode {
    /// Committed entries from `from_index` on, for an observer that has applied everything
    /// before it: at most `entries_max` of them with at most `bytes_max` data bytes, except
    /// that the first entry is always sent whole, so a large entry cannot stall the reader
    /// (zero limits count as one entry). If `from_index` was compacted away, the latest
    /// snapshot instead. An index of 0 reads as 1, the first index of every log.
    ///
    /// A failed node serves nothing: its log in memory may have been left half-changed by the
    /// disk error that failed it.
    pub fn read_committed(
        &self,
        from_index: u64,
        entries_max: usize,
        bytes_max: usize,
    ) -> CommittedRead {
        let from = from_index.max(1);
        if self.failure.is_some() || from > self.commit {
            return CommittedRead::UpToDate {
                commit: self.commit.min(from - 1),
            };
        }
        if from < self.log.first_index() {
            return self.read_committed_snapshot(from);
        }
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        for index in from..=self.commit {
            if entries.len() >= entries_max.max(1) {
                break;
            }
            let entry = self.log.entry(index).expect("committed entries are held");
            if !entries.is_empty() && bytes.saturating_add(entry.data.len()) > bytes_max {
                break;
            }
            bytes = bytes.saturating_add(entry.data.len());
            entries.push(entry.clone());
        }
        assert_eq!(entries.first().map(|e| e.index), Some(from));
        let last = entries.last().expect("at least the first entry").index;
        assert!(
            last <= self.commit,
            "an observer never sees an uncommitted entry"
        );
        CommittedRead::Entries {
            entries,
            commit: self.commit,
        }
    }

    /// The snapshot that replaced the compacted entries from `from` on.
    fn read_committed_snapshot(&self, from: u64) -> CommittedRead {
        let snapshot = self
            .snapshot
            .as_ref()
            .expect("a compacted log has a snapshot");
        // The snapshot covers exactly what the log no longer holds, and only applied (so
        // committed) entries: `compact` takes an applied index, and an installed snapshot
        // comes from a leader's committed state.
        assert_eq!(snapshot.index + 1, self.log.first_index());
        assert!(from <= snapshot.index);
        assert!(snapshot.index <= self.commit);
        CommittedRead::Snapshot {
            index: snapshot.index,
            term: snapshot.term,
            data: snapshot.data.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, drain, entry, open, success};
    use super::*;
    use crate::raft::{Message, NodeId, Role};
    use crate::rng::SplitMix64;
    use crate::time::Instant;

    /// Node 2 of 3, following leader 1 in term 1 with entries 1..=5 of which 1..=3 are
    /// committed and applied.
    fn follower<D: crate::disk::Disk>(disk: &mut D, node: &mut RaftNode) {
        let entries = (1..=5).map(|i| entry(i, 1, &[i as u8; 10])).collect();
        let append = Message::AppendEntries {
            term: 1,
            prev_index: 0,
            prev_term: 0,
            entries,
            commit: 3,
        };
        node.handle_message(at(0), disk, NodeId(1), append).unwrap();
        drain(node, disk);
        assert_eq!((node.commit_index(), node.last_index()), (3, 5));
    }

    fn entries_of(read: &CommittedRead) -> Vec<u64> {
        match read {
            CommittedRead::Entries { entries, .. } => entries.iter().map(|e| e.index).collect(),
            other => panic!("expected entries, got {other:?}"),
        }
    }

    /// An observer sees committed entries only (Raft §5.4: only they are never truncated),
    /// even from a node that holds more.
    #[test]
    fn reads_stop_at_the_commit_index() {
        let mut disk = Default::default();
        let mut node = open(&mut disk, 2, 3);
        follower(&mut disk, &mut node);
        let read = node.read_committed(1, 100, 1 << 20);
        assert_eq!(entries_of(&read), vec![1, 2, 3]);
        assert!(matches!(read, CommittedRead::Entries { commit: 3, .. }));
        assert_eq!(entries_of(&node.read_committed(3, 100, 1 << 20)), vec![3]);
        for from in [4, 5, 6, 99] {
            let read = node.read_committed(from, 100, 1 << 20);
            assert_eq!(read, CommittedRead::UpToDate { commit: 3 }, "from {from}");
        }
        // Index 0 is read as the first index, never underflows.
        assert_eq!(entries_of(&node.read_committed(0, 1, 0)), vec![1]);
    }

    /// The limits bound a reply, but the first entry always goes, whatever its size.
    #[test]
    fn reads_respect_count_and_byte_limits() {
        let mut disk = Default::default();
        let mut node = open(&mut disk, 2, 3);
        follower(&mut disk, &mut node);
        assert_eq!(entries_of(&node.read_committed(1, 2, 1 << 20)), vec![1, 2]);
        assert_eq!(entries_of(&node.read_committed(1, 100, 25)), vec![1, 2]);
        assert_eq!(entries_of(&node.read_committed(1, 100, 20)), vec![1, 2]);
        assert_eq!(entries_of(&node.read_committed(1, 100, 19)), vec![1]);
        assert_eq!(entries_of(&node.read_committed(2, 100, 0)), vec![2]);
        assert_eq!(entries_of(&node.read_committed(2, 0, 1 << 20)), vec![2]);
        let CommittedRead::Entries { entries, .. } = node.read_committed(2, 1, 0) else {
            panic!("entries");
        };
        assert_eq!(entries, vec![entry(2, 1, &[2; 10])]);
    }

    /// KIP-630: a reader behind the log's start gets the snapshot that replaced it, then
    /// continues with the entries after it.
    #[test]
    fn compacted_entries_are_served_as_the_snapshot() {
        let mut disk = Default::default();
        let mut node = open(&mut disk, 2, 3);
        follower(&mut disk, &mut node);
        node.compact(2, b"image@2".to_vec()).unwrap();
        assert_eq!(node.first_index(), 3);
        // The snapshot's and the log rewrite's persists are carried out.
        drain(&mut node, &mut disk);
        let snapshot = CommittedRead::Snapshot {
            index: 2,
            term: 1,
            data: b"image@2".to_vec(),
        };
        for from in [0, 1, 2] {
            assert_eq!(
                node.read_committed(from, 100, 1 << 20),
                snapshot,
                "from {from}"
            );
        }
        assert_eq!(entries_of(&node.read_committed(3, 100, 1 << 20)), vec![3]);
        // A snapshot installed from the leader is served the same way.
        let install = Message::InstallSnapshot {
            term: 1,
            index: 8,
            snapshot_term: 1,
            data: b"image@8".to_vec(),
        };
        node.handle_message(at(1), &mut disk, NodeId(1), install)
            .unwrap();
        drain(&mut node, &mut disk);
        let read = node.read_committed(4, 100, 1 << 20);
        assert!(matches!(read, CommittedRead::Snapshot { index: 8, .. }));
        assert_eq!(
            node.read_committed(9, 100, 1 << 20),
            CommittedRead::UpToDate { commit: 8 }
        );
    }

    /// Any voter serves, the leader included: its proposals show only once a majority holds
    /// them (Raft §5.3).
    #[test]
    fn the_leader_serves_what_it_committed() {
        let mut disk = Default::default();
        let mut node = open(&mut disk, 1, 3);
        let mut rng = SplitMix64::new(7);
        node.handle_timeout(Instant::ZERO, &mut disk, &mut rng)
            .unwrap();
        let deadline = node.poll_timeout().unwrap();
        node.handle_timeout(deadline, &mut disk, &mut rng).unwrap();
        let grants = [
            Message::PreVoteResponse {
                term: 1,
                granted: true,
            },
            Message::RequestVoteResponse {
                term: 1,
                granted: true,
            },
        ];
        for grant in grants {
            node.handle_message(deadline, &mut disk, NodeId(2), grant)
                .unwrap();
        }
        assert_eq!(node.role(), Role::Leader);
        let proposed = node.propose(deadline, &mut disk, b"a".to_vec()).unwrap();
        assert_eq!(proposed, 2, "after the term's no-op");
        assert_eq!(
            node.read_committed(1, 10, 100),
            CommittedRead::UpToDate { commit: 0 }
        );
        // The leader counts itself once its own entries are durable.
        drain(&mut node, &mut disk);
        node.handle_message(deadline, &mut disk, NodeId(2), success(1, 2))
            .unwrap();
        let read = node.read_committed(1, 10, 100);
        assert_eq!(entries_of(&read), vec![1, 2]);
        let CommittedRead::Entries { entries, commit } = read else {
            unreachable!()
        };
        assert_eq!(
            (entries[0].data.len(), entries[1].data.clone(), commit),
            (0, b"a".to_vec(), 2)
        );
    }

    /// A node failed by its disk serves nothing: what it holds in memory is suspect.
    #[test]
    fn a_failed_node_serves_nothing() {
        let mut disk = Default::default();
        let mut node = open(&mut disk, 2, 3);
        follower(&mut disk, &mut node);
        disk.fail_after_calls = Some(0);
        let append = Message::AppendEntries {
            term: 1,
            prev_index: 5,
            prev_term: 1,
            entries: vec![entry(6, 1, b"x")],
            commit: 5,
        };
        assert!(node
            .handle_message(at(1), &mut disk, NodeId(1), append)
            .is_err());
        assert!(node.failure().is_some());
        assert_eq!(
            node.read_committed(1, 10, 100),
            CommittedRead::UpToDate { commit: 0 }
        );
        assert_eq!(
            node.read_committed(9, 10, 100),
            CommittedRead::UpToDate { commit: 3 }
        );
    }
}
