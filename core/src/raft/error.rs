//! What can go wrong in a Raft node, one kind per cause (STYLE §5).

use core::fmt;

use super::message::NodeId;
use crate::disk::DiskError;

/// Why a peer's message was ignored. The node keeps running: a bad message from the network
/// never crashes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not one of the configured voters (or is this node).
    UnknownSender,
    /// An AppendEntries whose entries do not run consecutively from `prev_index + 1`.
    EntriesNotConsecutive,
    /// An entry's term is above the message's term or below the one before it.
    EntryTermOutOfOrder,
    /// More entries or bytes than `append_entries_max` / `append_bytes_max` allow.
    AppendTooLarge,
    /// A snapshot above `snapshot_bytes_max`.
    SnapshotTooLarge,
    /// The leader's entries conflict with an entry this node already knows is committed: one
    /// of the two broke Raft's Leader Completeness property.
    ConflictBelowCommit {
        /// The committed index the message contradicts.
        index: u64,
    },
    /// A snapshot at index 0, with term 0, or with a term above the message's.
    MalformedSnapshot,
    /// A follower claims to match entries beyond the leader's log.
    MatchBeyondLog {
        /// The index it claimed.
        match_index: u64,
    },
    /// A leader message in this node's own term while this node leads it: two leaders in one
    /// term, which Raft's voting rules forbid.
    SecondLeader,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownSender => write!(f, "sender is not a voter"),
            Refusal::EntriesNotConsecutive => write!(f, "entries are not consecutive"),
            Refusal::EntryTermOutOfOrder => write!(f, "entry terms are out of order"),
            Refusal::AppendTooLarge => write!(f, "append exceeds the configured limits"),
            Refusal::SnapshotTooLarge => write!(f, "snapshot exceeds snapshot_bytes_max"),
            Refusal::ConflictBelowCommit { index } => {
                write!(f, "entries conflict with committed index {index}")
            }
            Refusal::MalformedSnapshot => write!(f, "malformed snapshot"),
            Refusal::MatchBeyondLog { match_index } => {
                write!(
                    f,
                    "claims to match index {match_index}, beyond the leader's log"
                )
            }
            Refusal::SecondLeader => write!(f, "a second leader in this node's term"),
        }
    }
}

/// Why a call on a [`super::RaftNode`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftError {
    /// The storage failed. The node has failed: every later call returns
    /// [`RaftError::Failed`] and the owner must reopen it, which recovers from the disk.
    Disk(DiskError),
    /// A persisted file does not decode: latent corruption of synced bytes.
    Corrupt(String),
    /// A setting is out of range.
    InvalidConfig(String),
    /// The node failed earlier (carries the original failure) and must be reopened.
    Failed(String),
    /// A peer sent a message that breaks the protocol. It was ignored; the node is fine.
    PeerMisbehaved {
        /// The sender.
        from: NodeId,
        /// What was wrong.
        refusal: Refusal,
    },
}

impl RaftError {
    /// Whether the node has stopped and must be reopened (everything except
    /// [`RaftError::PeerMisbehaved`]).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, RaftError::PeerMisbehaved { .. })
    }
}

impl From<DiskError> for RaftError {
    fn from(error: DiskError) -> RaftError {
        RaftError::Disk(error)
    }
}

impl fmt::Display for RaftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftError::Disk(error) => write!(f, "raft storage: {error}"),
            RaftError::Corrupt(detail) => write!(f, "raft storage corrupt: {detail}"),
            RaftError::InvalidConfig(detail) => write!(f, "invalid raft config: {detail}"),
            RaftError::Failed(detail) => write!(f, "raft node failed earlier: {detail}"),
            RaftError::PeerMisbehaved { from, refusal } => {
                write!(f, "ignored a message from {from}: {refusal}")
            }
        }
    }
}

impl std::error::Error for RaftError {}

/// Why [`super::RaftNode::propose`] refused a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// Only the leader appends; `leader` is the one this node knows of, if any.
    NotLeader {
        /// The current leader, as far as this node knows.
        leader: Option<NodeId>,
    },
    /// The command is larger than `entry_bytes_max`.
    TooLarge {
        /// Bytes in the command.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// `uncommitted_entries_max` entries wait for a quorum; retry after some commit.
    QueueFull,
    /// The node failed (now, or earlier); see [`RaftError`].
    Failed(RaftError),
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::NotLeader {
                leader: Some(leader),
            } => {
                write!(f, "not the leader; try {leader}")
            }
            ProposeError::NotLeader { leader: None } => write!(f, "not the leader; none known"),
            ProposeError::TooLarge { size, max } => {
                write!(f, "command of {size} bytes exceeds entry_bytes_max {max}")
            }
            ProposeError::QueueFull => write!(f, "too many uncommitted entries"),
            ProposeError::Failed(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ProposeError {}

/// Why [`super::RaftNode::compact`] refused a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompactError {
    /// The snapshot must cover only applied entries, and more than the current snapshot.
    OutOfRange {
        /// The index asked for.
        index: u64,
        /// The current snapshot's index.
        snapshot_index: u64,
        /// The last applied index.
        applied_index: u64,
    },
    /// The snapshot is larger than `snapshot_bytes_max`.
    TooLarge {
        /// Bytes in the snapshot.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A compaction (or an installed snapshot) is still rewriting the log: try later.
    Busy,
    /// The node failed (now, or earlier); see [`RaftError`].
    Failed(RaftError),
}

impl fmt::Display for CompactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompactError::OutOfRange {
                index,
                snapshot_index,
                applied_index,
            } => write!(
                f,
                "snapshot index {index} outside ({snapshot_index}, {applied_index}]"
            ),
            CompactError::TooLarge { size, max } => {
                write!(
                    f,
                    "snapshot of {size} bytes exceeds snapshot_bytes_max {max}"
                )
            }
            CompactError::Busy => write!(f, "the log is still being rewritten"),
            CompactError::Failed(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CompactError {}
