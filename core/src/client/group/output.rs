//! What a group member reports: requests, what its fetching consumer saw, and what happened
//! to its membership, assignment and commits.

use crate::api::{ErrorCode, Request, TopicPartition};
use crate::client::consumer_protocol::ProtocolError;
use crate::client::ConsumerOutput;
use crate::controller::BrokerId;

/// Why a commit was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitReason {
    /// `enable.auto.commit`, every `auto.commit.interval.ms`.
    Auto,
    /// [`GroupConsumer::commit`](super::GroupConsumer::commit) or
    /// [`GroupConsumer::commit_offsets`](super::GroupConsumer::commit_offsets).
    Explicit,
    /// Auto-commit of partitions about to be revoked by a rebalance.
    Revocation,
    /// Auto-commit on [`GroupConsumer::close`](super::GroupConsumer::close).
    Close,
}

/// One partition's part of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// The next offset to consume, as committed.
    pub offset: i64,
    /// The leader epoch of the last record consumed, or -1.
    pub leader_epoch: i32,
    /// NONE, the coordinator's error for the partition, REQUEST_TIMED_OUT when no answer came,
    /// REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION when it could not be sent (the member was
    /// rejoining, or had lost its generation), COORDINATOR_NOT_AVAILABLE when no coordinator
    /// was found in time.
    pub error: ErrorCode,
}

/// The final outcome of one commit, after any retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitResult {
    /// The commit's handle (what `commit` returned, or a fresh one for automatic commits).
    pub token: u64,
    /// Why it was made.
    pub reason: CommitReason,
    /// Each partition's outcome, in request order.
    pub partitions: Vec<CommittedOffset>,
}

impl CommitResult {
    /// Whether every partition was committed.
    pub fn is_ok(&self) -> bool {
        self.partitions.iter().all(|p| p.error == ErrorCode::None)
    }
}

/// A problem of the group membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupError {
    /// A group API answered with an error the member does not expect; it retries.
    Broker {
        /// The API (`JoinGroup`, `Heartbeat`, …).
        api: &'static str,
        /// The error.
        error: ErrorCode,
    },
    /// Another member took this member's `group.instance.id` (KIP-345). Fatal.
    FencedInstanceId,
    /// JoinGroup refused the member for good: INCONSISTENT_GROUP_PROTOCOL,
    /// INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID, GROUP_MAX_SIZE_REACHED or UNSUPPORTED_VERSION;
    /// or a JoinGroup or SyncGroup answer named another protocol type or name
    /// (INCONSISTENT_GROUP_PROTOCOL). Fatal.
    JoinRefused(ErrorCode),
    /// The coordinator chose a protocol the member did not offer. Fatal.
    UnknownProtocol(String),
    /// The SyncGroup assignment could not be read; the member rejoins.
    BadAssignment(ProtocolError),
    /// The assignment named topics the member does not subscribe to; it rejoins.
    AssignmentNotSubscribed(Vec<TopicPartition>),
    /// As leader, a member's subscription could not be read; it is assigned nothing.
    BadSubscription {
        /// The member.
        member_id: String,
        /// Why.
        error: ProtocolError,
    },
    /// OffsetFetch answered `error` for `partition`; it is asked again after the backoff.
    CommittedOffset {
        /// The partition.
        partition: TopicPartition,
        /// The error.
        error: ErrorCode,
    },
}

/// Work and news a [`GroupConsumer`](super::GroupConsumer) hands to its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupConsumerOutput {
    /// Send `request` to broker `to`, and pass the answer back with `id` (group requests and
    /// the fetching consumer's alike).
    Request {
        /// The broker.
        to: BrokerId,
        /// The id for [`GroupConsumer::handle_response`](super::GroupConsumer::handle_response).
        id: u64,
        /// The request.
        request: Request,
    },
    /// What the fetching consumer reports: records, resets, truncations and its errors (never
    /// a [`ConsumerOutput::Request`]; those come as [`GroupConsumerOutput::Request`]).
    Consumed(ConsumerOutput),
    /// The member joined generation `generation_id` of the group.
    Joined {
        /// The generation.
        generation_id: i32,
        /// The member's id.
        member_id: String,
        /// Whether it leads this generation (and so computed the assignment).
        leader: bool,
        /// The assignor the group uses.
        protocol: String,
    },
    /// The member's assignment in `generation_id`: `added` are new to it and start from the
    /// committed offsets (see [`GroupConsumerOutput::Resumed`]) or by `auto.offset.reset`;
    /// the rest of `assignment` it kept, and it consumes them on without a pause.
    Assigned {
        /// The generation.
        generation_id: i32,
        /// Partitions it did not own before.
        added: Vec<TopicPartition>,
        /// Every partition it owns now.
        assignment: Vec<TopicPartition>,
    },
    /// The member gave up `partitions` (a rebalance under the eager protocol, partitions
    /// assigned elsewhere under the cooperative one, or close). No records of them are
    /// reported after this; with auto-commit a [`CommitReason::Revocation`] (or `Close`) commit
    /// of their positions follows, and the member joins only once it is answered.
    Revoked {
        /// The partitions.
        partitions: Vec<TopicPartition>,
    },
    /// The member lost `partitions` without committing: its generation was fenced
    /// (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) or it failed. Others may own them already.
    Lost {
        /// The partitions.
        partitions: Vec<TopicPartition>,
    },
    /// Consumption of newly assigned `partition` starts at the group's committed `offset`.
    Resumed {
        /// The partition.
        partition: TopicPartition,
        /// The committed offset.
        offset: i64,
        /// The leader epoch committed with it, if any.
        leader_epoch: Option<i32>,
    },
    /// A commit's final outcome.
    Committed(CommitResult),
    /// A problem the member works around (it retries or rejoins).
    Error(GroupError),
    /// A fatal problem: the member has stopped, given up its partitions and ignores further
    /// input.
    Failed(GroupError),
    /// [`GroupConsumer::close`](super::GroupConsumer::close) finished: commits answered and the
    /// group left.
    Closed,
}
