//! What Raft nodes say to each other, and what a node hands back to its driver.

use core::fmt;

/// A voter's identity in the controller quorum (KRaft's `node.id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// One entry of the replicated log.
///
/// A new leader's first entry of its term has empty `data` (Raft §8: it commits the entries of
/// earlier terms); the application treats empty data as a no-op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The term of the leader that created the entry.
    pub term: u64,
    /// Its position in the log, from 1.
    pub index: u64,
    /// The application's command.
    pub data: Vec<u8>,
}

/// How a follower answers an AppendEntries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The follower's log now matches the leader's through `match_index` (the last entry the
    /// request carried, or its `prev_index`), and every entry through it is synced.
    Success {
        /// The last index known to match.
        match_index: u64,
    },
    /// The consistency check failed at `prev_index` (Raft §5.3). The hint lets the leader skip
    /// a whole term per round trip instead of one entry.
    Conflict {
        /// The request's `prev_index`, so the leader can tell a stale reply from a fresh one.
        prev_index: u64,
        /// The term of the follower's entry at `prev_index`, or `None` when its log is shorter.
        conflict_term: Option<u64>,
        /// The first index of `conflict_term` in the follower's log, or the follower's last
        /// index plus one when its log is shorter.
        first_index: u64,
    },
    /// The request came from a leader of an older term; the reply's term tells it so.
    StaleTerm,
}

/// A message between two voters. Every message carries its sender's term (Raft §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Would you vote for me in `term`? Sent by a pre-candidate without raising its own term
    /// (thesis §9.6), so a node that cannot win never disrupts the cluster.
    PreVote {
        /// The term the sender would campaign in: its current term plus one.
        term: u64,
        /// Index of the sender's last log entry.
        last_log_index: u64,
        /// Term of the sender's last log entry.
        last_log_term: u64,
    },
    /// The answer to a [`Message::PreVote`].
    PreVoteResponse {
        /// The pre-vote's term when granted, else the responder's current term.
        term: u64,
        /// Whether the responder would vote.
        granted: bool,
    },
    /// Vote for me in `term` (Raft §5.2).
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// Index of the candidate's last log entry.
        last_log_index: u64,
        /// Term of the candidate's last log entry.
        last_log_term: u64,
    },
    /// The answer to a [`Message::RequestVote`], sent only after the vote is persisted.
    RequestVoteResponse {
        /// The responder's current term.
        term: u64,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// Entries to append after `prev_index` (Raft §5.3).
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// Index of the entry just before `entries`.
        prev_index: u64,
        /// Term of that entry.
        prev_term: u64,
        /// Consecutive entries starting at `prev_index + 1`; may be empty (a probe).
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
    },
    /// The answer to a [`Message::AppendEntries`], sent only after its entries are synced.
    AppendEntriesResponse {
        /// The responder's current term.
        term: u64,
        /// What happened.
        outcome: AppendOutcome,
    },
    /// The leader is alive; entries through `commit` are committed and match the leader's log.
    Heartbeat {
        /// The leader's term.
        term: u64,
        /// The smaller of the leader's commit index and the follower's known match index, so a
        /// follower never commits an entry it has not been shown to share.
        commit: u64,
    },
    /// The answer to a [`Message::Heartbeat`]: it feeds the leader's check-quorum.
    HeartbeatResponse {
        /// The responder's current term.
        term: u64,
    },
    /// The leader's snapshot, for a follower that needs entries the leader has compacted.
    InstallSnapshot {
        /// The leader's term.
        term: u64,
        /// The last index the snapshot covers.
        index: u64,
        /// The term of that entry.
        snapshot_term: u64,
        /// The application's snapshot bytes.
        data: Vec<u8>,
    },
    /// The answer to a [`Message::InstallSnapshot`], sent after the snapshot is persisted.
    InstallSnapshotResponse {
        /// The responder's current term.
        term: u64,
        /// The follower's log now matches the leader's through this index.
        match_index: u64,
    },
}

impl Message {
    /// The sender's term (for a granted pre-vote, the term it would be granted in).
    pub fn term(&self) -> u64 {
        match self {
            Message::PreVote { term, .. }
            | Message::PreVoteResponse { term, .. }
            | Message::RequestVote { term, .. }
            | Message::RequestVoteResponse { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::AppendEntriesResponse { term, .. }
            | Message::Heartbeat { term, .. }
            | Message::HeartbeatResponse { term }
            | Message::InstallSnapshot { term, .. }
            | Message::InstallSnapshotResponse { term, .. } => *term,
        }
    }

    /// A short name for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::PreVote { .. } => "PreVote",
            Message::PreVoteResponse { .. } => "PreVoteResponse",
            Message::RequestVote { .. } => "RequestVote",
            Message::RequestVoteResponse { .. } => "RequestVoteResponse",
            Message::AppendEntries { .. } => "AppendEntries",
            Message::AppendEntriesResponse { .. } => "AppendEntriesResponse",
            Message::Heartbeat { .. } => "Heartbeat",
            Message::HeartbeatResponse { .. } => "HeartbeatResponse",
            Message::InstallSnapshot { .. } => "InstallSnapshot",
            Message::InstallSnapshotResponse { .. } => "InstallSnapshotResponse",
        }
    }
}

/// Work a [`super::RaftNode`] hands back to its driver, in order.
///
/// Durability is in the outputs, as raft-rs's `persisted_messages`: the node writes its log
/// and its term and vote to the page cache (or not at all) and asks for them to be made
/// durable with [`Output::Persist`]. Every [`Output::Send`] waits for each `Persist` that came
/// before it (the vote, the entries a success acknowledges), and each `Persist` for the ones
/// before it; report each completion to [`super::RaftNode::handle_persisted`], in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send `msg` to `to`. Losing it is safe; Raft retries.
    Send {
        /// The recipient.
        to: NodeId,
        /// The message.
        msg: Message,
    },
    /// Apply a committed entry. Entries come in index order, each exactly once per process
    /// lifetime; after a restart they start again after the snapshot.
    Apply {
        /// The entry's index.
        index: u64,
        /// The entry's term.
        term: u64,
        /// The command (empty for a leader's no-op).
        data: Vec<u8>,
    },
    /// Make durable what the node wrote (see the type's documentation).
    Persist {
        /// Names it in [`super::RaftNode::handle_persisted`].
        id: u64,
        /// What to do.
        write: Persist,
    },
    /// Replace the application's state with this snapshot: it covers every entry through
    /// `index`, and the next [`Output::Apply`] is `index + 1`.
    RestoreSnapshot {
        /// The last index the snapshot covers.
        index: u64,
        /// The term of that entry.
        term: u64,
        /// The application's snapshot bytes.
        data: Vec<u8>,
    },
}

/// How an [`Output::Persist`] makes the node's state durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Persist {
    /// fdatasync the log file: it covers every write issued before the output.
    Sync {
        /// The file's path on the node's disk.
        file: String,
    },
    /// Replace `{dir}/{name}` whole with `bytes`, atomically
    /// ([`crate::disk::replace_file`]): the term and vote.
    Replace {
        /// The directory.
        dir: String,
        /// The file's name in it.
        name: String,
        /// The new contents.
        bytes: Vec<u8>,
    },
}
