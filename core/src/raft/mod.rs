//! Raft for the controller's metadata log, sans-IO (in the style of raft-rs `RawNode` and
//! quinn-proto).
//!
//! A [`RaftNode`] is one voter of a fixed quorum. It implements leader election with
//! randomized timeouts (Raft §5.2), pre-vote and check-quorum (thesis §9.6, §6.2), log
//! replication with the consistency check and fast back-off (§5.3), the current-term commit
//! rule (§5.4.2, Figure 8) and snapshots (§7). It never reads a clock, draws OS randomness or
//! touches a file: time and randomness are parameters, and storage goes through the
//! [`Disk`] passed to each call.
//!
//! # Call order
//!
//! 1. [`RaftNode::open`] recovers the term, vote, snapshot and log from the disk (cutting a
//!    torn tail). If there is a snapshot, the first output is [`Output::RestoreSnapshot`].
//! 2. Drive it with any mix of [`RaftNode::handle_message`], [`RaftNode::handle_timeout`]
//!    (when [`RaftNode::poll_timeout`] is due; a fresh node asks for one at once, to draw its
//!    first randomized election timeout), [`RaftNode::propose`] and [`RaftNode::compact`].
//! 3. After each call, drain [`RaftNode::poll_output`] until `None`: carry out each
//!    [`Output::Persist`] (off the caller's loop if it likes) and report it to
//!    [`RaftNode::handle_persisted`], in order; send each message once every persist before it
//!    has completed; apply the entries. The node never syncs inside a call: its vote, term
//!    and entries leave it as persists, and what depends on them waits for them.
//!
//! A disk error fails the node: that call returns it, and every later call returns
//! [`RaftError::Failed`] and yields no outputs. The owner reopens the node from the disk. A bad
//! message from a peer is ignored and reported as [`RaftError::PeerMisbehaved`]; the node
//! carries on.
//!
//! # What the application must know
//!
//! - An index returned by `propose` is a hope, not a promise: a leader change may replace the
//!   entry. Only [`Output::Apply`] says what was committed. A leader's first entry of each
//!   term has empty data and is applied like any other (treat it as a no-op).
//! - The log lives in memory as well as on disk and only [`RaftNode::compact`] shrinks it, so
//!   the application snapshots every so often (at an index it has applied).
//! - The node's files (`state`, `log`, `snapshot` and their `.tmp` twins) live in the directory
//!   given to `open`; nothing else may write there.

mod config;
mod election;
mod error;
mod log;
mod message;
mod read;
mod replication;
mod snapshot;
mod step;
mod storage;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

pub use config::{RaftConfig, VOTERS_MAX};
pub use error::{CompactError, ProposeError, RaftError, Refusal};
pub use message::{AppendOutcome, Entry, Message, NodeId, Output, Persist};
pub use read::CommittedRead;

use crate::disk::Disk;
use crate::rng::Rng;
use crate::time::{Duration, Instant};
use log::RaftLog;
use replication::Progress;
use storage::{HardState, Snapshot};

/// What a node is doing in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Following a leader, or waiting for one.
    Follower,
    /// Asking whether it could win an election, without raising its term (thesis §9.6).
    PreCandidate,
    /// Campaigning in its current term (Raft §5.2).
    Candidate,
    /// Leading its current term.
    Leader,
}

/// Counters of notable events, for coverage marks in simulation scenarios.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftStats {
    /// Pre-vote rounds started.
    pub pre_votes_started: u64,
    /// Elections started (terms campaigned in).
    pub elections_started: u64,
    /// Elections won.
    pub leaderships_won: u64,
    /// Pre-votes refused because this node heard from a current leader recently.
    pub pre_votes_refused_for_lease: u64,
    /// Vote requests ignored for the same reason.
    pub votes_ignored_for_lease: u64,
    /// Times this node stepped down as leader because it lost touch with a majority.
    pub check_quorum_step_downs: u64,
    /// Conflicting suffixes truncated from this node's log.
    pub log_truncations: u64,
    /// AppendEntries rejected by the consistency check.
    pub append_conflicts: u64,
    /// Snapshots this node sent as leader.
    pub snapshots_sent: u64,
    /// Snapshots this node installed from a leader.
    pub snapshots_installed: u64,
    /// Messages dropped because `outputs_max` outputs were queued.
    pub sends_dropped: u64,
    /// Peer messages ignored as malformed.
    pub refusals: u64,
    /// Bytes of torn or corrupt log tail cut when the node was opened.
    pub tail_cut_bytes: u64,
}

/// The leader's view of its term: replication progress and timers.
#[derive(Debug)]
struct LeaderState {
    progress: BTreeMap<NodeId, Progress>,
    heartbeat_deadline: Instant,
    quorum_deadline: Instant,
}

/// One voter of the metadata quorum. See the module documentation for the call order.
#[derive(Debug)]
pub struct RaftNode {
    config: RaftConfig,
    dir: String,
    hard: HardState,
    role: Role,
    leader: Option<NodeId>,
    log: RaftLog,
    /// The latest durable snapshot, kept to send to followers that need it.
    snapshot: Option<Snapshot>,
    commit: u64,
    /// The last index handed to the application (by `Apply` or `RestoreSnapshot`).
    applied: u64,
    /// The last randomized election timeout drawn; `None` until the first `handle_timeout`.
    election_timeout: Option<Duration>,
    election_deadline: Instant,
    /// When this node last heard from `leader`.
    leader_contact: Instant,
    /// Pre-vote or vote answers in the current round, including this node's own.
    votes: BTreeMap<NodeId, bool>,
    leader_state: Option<LeaderState>,
    outputs: VecDeque<Output>,
    /// Persists handed out and not yet reported done, oldest first, each with the log index
    /// it makes durable (`None` for the term and vote, or once the log was cut under it).
    persisting: VecDeque<(u64, Option<u64>)>,
    next_persist: u64,
    /// Every entry through this index is durable in this node's log: what the leader counts
    /// for itself (Raft Figure 2's "persist before responding" applies to its own vote too).
    log_durable: u64,
    /// The persist of a snapshot after which the log file is rewritten without what it covers.
    snapshot_persist: Option<u64>,
    /// The persist of that rewrite; until it completes the log writes nothing to its file.
    rewrite_persist: Option<u64>,
    /// Messages held while the log's file is rewritten: entries appended meanwhile are only
    /// in memory, so nothing may leave that could vouch for them (see [`RaftLog::freeze`]).
    held_sends: Vec<(NodeId, Message)>,
    stats: RaftStats,
    failure: Option<String>,
}

impl RaftNode {
    /// Opens the node persisted in `dir` (creating an empty one), recovering its term, vote,
    /// snapshot and log. A torn or corrupt log tail is cut: it was never acknowledged.
    pub fn open<D: Disk + ?Sized>(
        disk: &mut D,
        dir: &str,
        config: RaftConfig,
    ) -> Result<RaftNode, RaftError> {
        config.validate()?;
        disk.create_dir_all(dir)?;
        // A process crash may leave renames visible in the page cache that are not durable;
        // make that view durable before trusting it (as the partition log's recovery does).
        disk.sync_dir(dir)?;
        for name in [storage::STATE_NAME, storage::SNAPSHOT_NAME] {
            storage::remove_if_present(disk, &format!("{dir}/{name}.tmp"))?;
        }
        let hard = storage::load_hard_state(disk, dir)?;
        let snapshot = storage::load_snapshot(disk, dir)?;
        let (index, term) = snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
        let (log, recovery) = RaftLog::open(disk, dir, index, term)?;
        // A process crash keeps unsynced entries in the page cache: sync them before this
        // process counts them as its own.
        disk.sync(log.path())?;
        let mut hard = hard;
        if log.last_term() > hard.term {
            // The term and the entries of a new term are persisted by separate outputs, and
            // the kernel may write the entries back first: the crash lost the term's persist,
            // which every message of that term waited for. No vote of that term left this
            // node, so it takes the term with no vote, as if it had never voted in it.
            hard = HardState {
                term: log.last_term(),
                voted_for: None,
            };
            storage::store_hard_state(disk, dir, &hard)?;
        }
        let mut outputs = VecDeque::new();
        if let Some(snapshot) = &snapshot {
            outputs.push_back(Output::RestoreSnapshot {
                index: snapshot.index,
                term: snapshot.term,
                data: snapshot.data.clone(),
            });
        }
        let node = RaftNode {
            dir: dir.to_string(),
            hard,
            role: Role::Follower,
            leader: None,
            snapshot,
            commit: index,
            applied: index,
            election_timeout: None,
            election_deadline: Instant::ZERO,
            leader_contact: Instant::ZERO,
            votes: BTreeMap::new(),
            leader_state: None,
            outputs,
            persisting: VecDeque::new(),
            next_persist: 0,
            log_durable: log.last_index(),
            snapshot_persist: None,
            rewrite_persist: None,
            held_sends: Vec::new(),
            log,
            stats: RaftStats {
                tail_cut_bytes: recovery.tail_cut_bytes,
                ..RaftStats::default()
            },
            failure: None,
            config,
        };
        node.check_invariants();
        Ok(node)
    }

    /// Handles a message from peer `from`.
    pub fn handle_message<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        from: NodeId,
        msg: Message,
    ) -> Result<(), RaftError> {
        self.guard(|node| node.step(now, disk, from, msg))
    }

    /// Fires whatever timer is due at `now`: an election timeout, or the leader's heartbeat and
    /// check-quorum. `rng` draws election timeouts.
    pub fn handle_timeout<D: Disk + ?Sized, R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        rng: &mut R,
    ) -> Result<(), RaftError> {
        self.guard(|node| node.tick(now, disk, rng))
    }

    /// A [`Output::Persist`] completed (in the order they came out): what waited for it may
    /// move on; the leader may count its own entries toward a commit. A failed persist fails
    /// the node.
    pub fn handle_persisted<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        id: u64,
        result: Result<(), crate::disk::DiskError>,
    ) -> Result<(), RaftError> {
        self.guard(|node| {
            let Some(position) = node.persisting.iter().position(|(p, _)| *p == id) else {
                return Ok(());
            };
            assert_eq!(
                position, 0,
                "persists complete in the order they were asked for"
            );
            let (_, durable) = node.persisting.pop_front().expect("found");
            result?;
            if let Some(index) = durable {
                node.log_durable = node.log_durable.max(index.min(node.log.last_index()));
            }
            if node.snapshot_persist == Some(id) {
                node.snapshot_persist = None;
                node.rewrite_log();
            } else if node.rewrite_persist == Some(id) {
                node.rewrite_persist = None;
                node.thaw_log(disk)?;
            }
            if node.role == Role::Leader {
                node.maybe_commit();
            }
            Ok(())
        })
    }

    /// Whether the log's file is being rewritten after a snapshot: [`RaftNode::compact`]
    /// refuses until it is done.
    pub fn rewriting(&self) -> bool {
        self.log.is_frozen()
    }

    /// Persists handed out and not yet reported done.
    pub fn persists_pending(&self) -> usize {
        self.persisting.len()
    }

    /// Appends `data` as a new entry if this node leads, returning its index. The entry is
    /// written and its persist asked for; it commits once a majority holds it durably.
    pub fn propose<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        data: Vec<u8>,
    ) -> Result<u64, ProposeError> {
        // Appending needs no clock; `now` keeps every input's signature alike (and is where a
        // lease check would go).
        let _ = now;
        if let Some(failure) = &self.failure {
            return Err(ProposeError::Failed(RaftError::Failed(failure.clone())));
        }
        if self.role != Role::Leader {
            return Err(ProposeError::NotLeader {
                leader: self.leader,
            });
        }
        if data.len() > self.config.entry_bytes_max {
            return Err(ProposeError::TooLarge {
                size: data.len(),
                max: self.config.entry_bytes_max,
            });
        }
        if self.log.last_index() - self.commit >= self.config.uncommitted_entries_max {
            return Err(ProposeError::QueueFull);
        }
        self.guard(|node| node.append_as_leader(disk, data))
            .map_err(ProposeError::Failed)
    }

    /// Persists `snapshot`, the application's state through applied entry `index`, and drops
    /// the log through `index`, as outputs (the snapshot first, then the log's rewrite).
    /// Followers that need those entries get the snapshot instead.
    pub fn compact(&mut self, index: u64, snapshot: Vec<u8>) -> Result<(), CompactError> {
        if let Some(failure) = &self.failure {
            return Err(CompactError::Failed(RaftError::Failed(failure.clone())));
        }
        let snapshot_index = self.log.snapshot().0;
        if index <= snapshot_index || index > self.applied {
            return Err(CompactError::OutOfRange {
                index,
                snapshot_index,
                applied_index: self.applied,
            });
        }
        if snapshot.len() > self.config.snapshot_bytes_max {
            return Err(CompactError::TooLarge {
                size: snapshot.len(),
                max: self.config.snapshot_bytes_max,
            });
        }
        if self.log.is_frozen() {
            return Err(CompactError::Busy);
        }
        self.compact_log(index, snapshot);
        Ok(())
    }

    /// The next thing for the driver to do, or `None` when there is nothing (or the node
    /// failed). Committed entries are produced here, in order, as the queue drains.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.failure.is_some() {
            return None;
        }
        if let Some(output) = self.outputs.pop_front() {
            return Some(output);
        }
        if self.applied >= self.commit {
            return None;
        }
        let entry = self
            .log
            .entry(self.applied + 1)
            .expect("committed entries are held");
        self.applied += 1;
        Some(Output::Apply {
            index: entry.index,
            term: entry.term,
            data: entry.data.clone(),
        })
    }

    /// When [`RaftNode::handle_timeout`] should next be called (`None` once failed). A fresh
    /// node returns [`Instant::ZERO`]: its first timeout only draws the election timeout.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failure.is_some() {
            return None;
        }
        if self.election_timeout.is_none() {
            return Some(Instant::ZERO);
        }
        match &self.leader_state {
            Some(leader) => Some(leader.heartbeat_deadline.min(leader.quorum_deadline)),
            None => Some(self.election_deadline),
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The settings in force.
    pub fn config(&self) -> &RaftConfig {
        &self.config
    }

    /// What this node is doing.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The latest term this node has seen (persisted).
    pub fn term(&self) -> u64 {
        self.hard.term
    }

    /// Whom this node voted for in its current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.hard.voted_for
    }

    /// The leader of the current term, if this node knows it.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }

    /// The last index handed to the application.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// The index of the last entry (or of the snapshot, when the log is empty).
    pub fn last_index(&self) -> u64 {
        self.log.last_index()
    }

    /// The first index still held in the log; earlier ones are in the snapshot.
    pub fn first_index(&self) -> u64 {
        self.log.first_index()
    }

    /// The snapshot's `(index, term)`, zeros for none.
    pub fn snapshot_index_term(&self) -> (u64, u64) {
        self.log.snapshot()
    }

    /// The term of the entry at `index` if this node knows it (for checkers of Log Matching).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        self.log.term_at(index)
    }

    /// The entry at `index`, if it is held in the log.
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        self.log.entry(index)
    }

    /// Counters of notable events.
    pub fn stats(&self) -> &RaftStats {
        &self.stats
    }

    /// Why the node failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Runs one input. A fatal error fails the node for good and drops its queued outputs,
    /// none of which may be trusted to match the disk any more.
    fn guard<T>(
        &mut self,
        input: impl FnOnce(&mut RaftNode) -> Result<T, RaftError>,
    ) -> Result<T, RaftError> {
        if let Some(failure) = &self.failure {
            return Err(RaftError::Failed(failure.clone()));
        }
        let result = input(self);
        match &result {
            Err(error) if error.is_fatal() => {
                self.failure = Some(error.to_string());
                self.outputs.clear();
            }
            Err(RaftError::PeerMisbehaved { .. }) => {
                self.stats.refusals += 1;
                self.check_invariants();
            }
            _ => self.check_invariants(),
        }
        result
    }

    fn check_invariants(&self) {
        let (snapshot_index, _) = self.log.snapshot();
        assert!(
            self.commit <= self.log.last_index(),
            "commit beyond the log"
        );
        assert!(self.applied <= self.commit, "applied beyond commit");
        assert!(snapshot_index <= self.applied, "snapshot beyond applied");
        assert!(
            self.log.last_term() <= self.hard.term,
            "log term beyond current term"
        );
        assert!(
            self.outputs.len() <= self.config.outputs_max + 1,
            "output queue bound"
        );
        match self.role {
            Role::Leader => {
                assert_eq!(self.leader, Some(self.config.id));
                assert_eq!(self.hard.voted_for, Some(self.config.id));
                let leader = self.leader_state.as_ref().expect("leader state");
                for progress in leader.progress.values() {
                    assert!(progress.match_index < progress.next_index);
                    assert!(progress.next_index <= self.log.last_index() + 1);
                }
            }
            Role::Candidate => {
                assert_eq!(self.hard.voted_for, Some(self.config.id));
                assert!(self.leader_state.is_none());
            }
            Role::Follower | Role::PreCandidate => assert!(self.leader_state.is_none()),
        }
    }
}
