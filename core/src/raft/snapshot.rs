//! Snapshots (Raft §7): the application compacts the log into a snapshot; a leader sends its
//! snapshot to a follower that needs entries it no longer holds.

use super::error::Refusal;
use super::message::{Message, NodeId, Output, Persist};
use super::replication::{misbehaved, Sending};
use super::storage::{self, Snapshot};
use super::{RaftError, RaftNode, Role};
use crate::disk::Disk;
use crate::time::Instant;

impl RaftNode {
    /// Persists the application's snapshot through `index`, then rewrites the log without the
    /// entries it covers, each as an output and in that order: a crash between the two leaves
    /// both, and opening the node skips the covered entries. The log drops them in memory at
    /// once and writes nothing to its file until the rewrite is done (see
    /// [`super::log::RaftLog::freeze`]).
    pub(super) fn compact_log(&mut self, index: u64, data: Vec<u8>) {
        assert!(
            index <= self.applied,
            "a snapshot covers applied entries only"
        );
        assert!(!self.log.is_frozen(), "one compaction at a time");
        let term = self.log.term_at(index).expect("applied entries are held");
        let snapshot = Snapshot { index, term, data };
        self.begin_snapshot(snapshot);
        assert_eq!(self.log.first_index(), index + 1);
    }

    /// Persists `snapshot` and freezes the log under it; the rewrite follows its persist.
    fn begin_snapshot(&mut self, snapshot: Snapshot) {
        assert!(snapshot.index > 0, "a snapshot covers at least one entry");
        assert!(snapshot.term > 0, "entries have terms from 1");
        let write = Persist::Replace {
            dir: self.dir.clone(),
            name: storage::SNAPSHOT_NAME.to_string(),
            bytes: snapshot.encode(),
        };
        self.snapshot_persist = Some(self.persist(write, None));
        self.log.freeze(snapshot.index, snapshot.term);
        self.snapshot = Some(snapshot);
    }

    /// The snapshot is durable: the log's file is rewritten with the entries after it, which
    /// are durable once the rewrite is.
    pub(super) fn rewrite_log(&mut self) {
        let write = Persist::Replace {
            dir: self.dir.clone(),
            name: super::log::LOG_NAME.to_string(),
            bytes: self.log.rewrite(),
        };
        let last = self.log.last_index();
        self.rewrite_persist = Some(self.persist(write, Some(last)));
    }

    /// The rewrite is durable: the entries appended since go to the file, with their sync,
    /// and the messages held meanwhile leave after it.
    pub(super) fn thaw_log<D: Disk + ?Sized>(&mut self, disk: &mut D) -> Result<(), RaftError> {
        if self.log.thaw(disk)? {
            let file = self.log.path().to_string();
            let last = self.log.last_index();
            self.persist(Persist::Sync { file }, Some(last));
        }
        for (to, msg) in std::mem::take(&mut self.held_sends) {
            self.send(to, msg);
        }
        Ok(())
    }

    /// Leader side: `peer` needs entries before our first index, so send the snapshot whole.
    /// It is resent at heartbeats until the follower acknowledges it.
    pub(super) fn send_snapshot(&mut self, peer: NodeId) {
        let snapshot = self
            .snapshot
            .as_ref()
            .expect("a compacted log has a snapshot");
        assert!(snapshot.index + 1 == self.log.first_index());
        let msg = Message::InstallSnapshot {
            term: self.hard.term,
            index: snapshot.index,
            snapshot_term: snapshot.term,
            data: snapshot.data.clone(),
        };
        self.stats.snapshots_sent += 1;
        let leader = self.leader_state.as_mut().expect("leader state");
        let progress = leader.progress.get_mut(&peer).expect("a peer");
        progress.sending = Sending::Snapshot;
        progress.inflight.clear();
        self.send(peer, msg);
    }

    /// Follower side: persist the leader's snapshot, drop the log it replaces, and hand it to
    /// the application. The reply leaves only after the snapshot is durable.
    pub(super) fn on_install_snapshot(
        &mut self,
        now: Instant,
        from: NodeId,
        index: u64,
        snapshot_term: u64,
        data: Vec<u8>,
    ) -> Result<(), RaftError> {
        if self.role == Role::Leader {
            return Err(misbehaved(from, Refusal::SecondLeader));
        }
        if data.len() > self.config.snapshot_bytes_max {
            return Err(misbehaved(from, Refusal::SnapshotTooLarge));
        }
        if index == 0 || snapshot_term == 0 || snapshot_term > self.hard.term {
            return Err(misbehaved(from, Refusal::MalformedSnapshot));
        }
        self.follow_current_leader(now, from);
        let term = self.hard.term;
        if index <= self.commit {
            // We already hold (or applied) everything it covers.
            let match_index = self.commit;
            self.send(from, Message::InstallSnapshotResponse { term, match_index });
            return Ok(());
        }
        if self.log.is_frozen() {
            // A rewrite is under way: the leader sends the snapshot again at a heartbeat.
            return Ok(());
        }
        let snapshot = Snapshot {
            index,
            term: snapshot_term,
            data,
        };
        let restored = snapshot.data.clone();
        self.begin_snapshot(snapshot);
        // The snapshot covers everything through `index` (its persist is under way; what
        // vouches for it leaves after).
        self.log_durable = self.log_durable.clamp(index, self.log.last_index());
        self.commit = index;
        self.applied = index;
        self.outputs.push_back(Output::RestoreSnapshot {
            index,
            term: snapshot_term,
            data: restored,
        });
        self.stats.snapshots_installed += 1;
        let match_index = index;
        self.send(from, Message::InstallSnapshotResponse { term, match_index });
        Ok(())
    }

    /// Leader side: the follower holds our log through `match_index` now.
    pub(super) fn on_install_snapshot_response(
        &mut self,
        from: NodeId,
        match_index: u64,
    ) -> Result<(), RaftError> {
        if self.role != Role::Leader {
            return Ok(());
        }
        self.on_append_success(from, match_index)?;
        let leader = self.leader_state.as_mut().expect("leader state");
        let progress = leader.progress.get_mut(&from).expect("a peer");
        if progress.sending == Sending::Snapshot {
            progress.sending = Sending::Probe { sent: false };
            progress.next_index = progress.match_index + 1;
            self.send_append(from);
        }
        Ok(())
    }
}
