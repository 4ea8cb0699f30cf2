//! A follower replica's fetch state. A follower first agrees with its leader on where their
//! logs diverge — by leader epoch, with OffsetForLeaderEpoch (KIP-101, KIP-279), never by
//! its high watermark — truncates there, and only then fetches.

use crate::api::UNDEFINED_EPOCH;
use crate::controller::BrokerId;

/// Where a follower is in its cycle with the current leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// It must ask the leader where its last epoch ends before fetching. `asking` is the
    /// epoch to ask about: its own latest at first, then lower ones (KIP-279).
    Truncating {
        /// The epoch to ask about, or `None` when it has no epochs (nothing to truncate).
        asking: Option<i32>,
    },
    /// Its log is a prefix of the leader's: it fetches from its log end.
    Fetching,
}

/// A follower's state for one leader epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerState {
    /// The leader to fetch from, or -1 while there is none.
    pub leader: BrokerId,
    /// The leader epoch its requests carry.
    pub leader_epoch: i32,
    /// Where it is in its cycle.
    pub phase: Phase,
}

/// What to do with the leader's answer to OffsetForLeaderEpoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Divergence {
    /// Truncate to this offset (it may equal the log end: nothing to cut), then fetch.
    TruncateTo(i64),
    /// The leader does not know that epoch: ask again about this lower one.
    AskAgain(i32),
}

/// Decides from the leader's answer `(leader_epoch, end_offset)` to a question about
/// `asked`, given `local_end_for(epoch)` — this replica's own OffsetForLeaderEpoch answer for
/// an epoch — and its log start.
///
/// - The leader has the epoch asked about: the logs agree up to the smaller of the two ends
///   of that epoch.
/// - The leader's largest epoch at or below it is an older one, `e`: if this replica has `e`
///   too, the logs agree up to the smaller of the two ends of `e`; otherwise ask about the
///   largest epoch this replica has below `e`.
/// - The leader has no epoch at or below it: nothing this replica holds is known to match.
pub fn divergence(
    asked: i32,
    leader_answer: (i32, i64),
    local_end_for: &dyn Fn(i32) -> (i32, i64),
    log_start: i64,
) -> Divergence {
    let (leader_epoch, leader_end) = leader_answer;
    if leader_epoch == UNDEFINED_EPOCH {
        return Divergence::TruncateTo(log_start);
    }
    let (local_epoch, local_end) = local_end_for(leader_epoch);
    if local_epoch == leader_epoch || leader_epoch == asked {
        return Divergence::TruncateTo(leader_end.min(local_end).max(log_start));
    }
    if local_epoch == UNDEFINED_EPOCH {
        return Divergence::TruncateTo(log_start);
    }
    Divergence::AskAgain(local_epoch)
}
