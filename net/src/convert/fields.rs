//! Readings of single wire fields whose meaning Kafka fixes the same way in every API.

use sluice_core::api::{IsolationLevel, CONSUMER_REPLICA_ID};

use super::ConvertError;

/// Kafka's "no leader epoch" (`RecordBatch.NO_PARTITION_LEADER_EPOCH`).
const NO_LEADER_EPOCH: i32 = -1;

/// A current-leader-epoch field: -1 skips the fencing check, as Kafka's
/// `RequestUtils.getLeaderEpoch` reads it. Any other value, even a negative one, is checked
/// (and fenced), as in Kafka.
pub(super) fn current_leader_epoch(epoch: i32) -> Option<i32> {
    (epoch != NO_LEADER_EPOCH).then_some(epoch)
}

/// An isolation-level byte. Only 0 and 1 exist.
pub(super) fn isolation_level(level: i8) -> Result<IsolationLevel, ConvertError> {
    match level {
        0 => Ok(IsolationLevel::ReadUncommitted),
        1 => Ok(IsolationLevel::ReadCommitted),
        level => Err(ConvertError::UnknownIsolationLevel { level }),
    }
}

/// A replica-id field. Kafka treats only ids ≥ 0 as followers; the negative ones (-1
/// consumer, -2 debugging tool, -3 future local replica) never advance a follower's state.
/// Core knows only -1, so every negative id becomes a consumer: the debugging tool loses its
/// read past the high watermark, nothing more.
pub(super) fn replica_id(id: i32) -> i32 {
    if id < 0 {
        CONSUMER_REPLICA_ID
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_minus_one_skips_the_epoch_check() {
        assert_eq!(current_leader_epoch(-1), None);
        assert_eq!(current_leader_epoch(0), Some(0));
        assert_eq!(current_leader_epoch(7), Some(7));
        assert_eq!(current_leader_epoch(-2), Some(-2));
    }

    #[test]
    fn isolation_levels() {
        assert_eq!(isolation_level(0), Ok(IsolationLevel::ReadUncommitted));
        assert_eq!(isolation_level(1), Ok(IsolationLevel::ReadCommitted));
        for level in [2, -1, i8::MIN, i8::MAX] {
            assert_eq!(
                isolation_level(level),
                Err(ConvertError::UnknownIsolationLevel { level })
            );
        }
    }

    #[test]
    fn negative_replica_ids_are_consumers() {
        assert_eq!(replica_id(-1), CONSUMER_REPLICA_ID);
        assert_eq!(replica_id(-2), CONSUMER_REPLICA_ID);
        assert_eq!(replica_id(i32::MIN), CONSUMER_REPLICA_ID);
        assert_eq!(replica_id(0), 0);
        assert_eq!(replica_id(3), 3);
    }
}
