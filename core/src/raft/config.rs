//! A Raft node's settings.

use super::error::RaftError;
use super::message::NodeId;
use crate::time::Duration;

/// The most voters a quorum may have. Controller quorums are 3 or 5 nodes (KRaft); the bound
/// keeps every per-peer map small.
pub const VOTERS_MAX: usize = 15;

/// Settings of one [`super::RaftNode`]. Every voter should use the same values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftConfig {
    /// This node.
    pub id: NodeId,
    /// The fixed voter set, including `id` (no membership changes).
    pub voters: Vec<NodeId>,
    /// The shortest election timeout. A follower that heard from its leader more recently than
    /// this refuses (pre-)votes, and a leader that has not heard from a majority within it
    /// steps down (check-quorum).
    pub election_timeout_min: Duration,
    /// The longest election timeout; each election draws one uniformly from the range.
    pub election_timeout_max: Duration,
    /// How often a leader sends heartbeats (and retries stalled followers).
    pub heartbeat_interval: Duration,
    /// The most entries in one AppendEntries.
    pub append_entries_max: usize,
    /// The most entry data bytes in one AppendEntries (one larger entry is still sent alone).
    pub append_bytes_max: usize,
    /// The most AppendEntries in flight to one follower before the leader waits for replies.
    pub inflight_appends_max: usize,
    /// The largest command [`super::RaftNode::propose`] accepts.
    pub entry_bytes_max: usize,
    /// The most entries a leader holds uncommitted before proposals get `QueueFull`.
    pub uncommitted_entries_max: u64,
    /// The largest snapshot, both for `compact` and for an InstallSnapshot received.
    pub snapshot_bytes_max: usize,
    /// The most outputs queued between drains; further messages are dropped (as the network
    /// may drop them) and counted in [`super::RaftStats::sends_dropped`].
    pub outputs_max: usize,
}

impl RaftConfig {
    /// Settings for `id` in `voters` with defaults: election timeout 1–2 s (KRaft's
    /// `controller.quorum.election.timeout.ms` is 1 s), heartbeats every 200 ms, and limits
    /// sized for a metadata log.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> RaftConfig {
        RaftConfig {
            id,
            voters,
            election_timeout_min: Duration::from_millis(1_000),
            election_timeout_max: Duration::from_millis(2_000),
            heartbeat_interval: Duration::from_millis(200),
            append_entries_max: 64,
            append_bytes_max: 1 << 20,
            inflight_appends_max: 4,
            entry_bytes_max: 1 << 20,
            uncommitted_entries_max: 1_024,
            snapshot_bytes_max: 64 << 20,
            outputs_max: 4_096,
        }
    }

    /// Checks the settings' ranges and relationships.
    pub fn validate(&self) -> Result<(), RaftError> {
        let invalid = |detail: &str| Err(RaftError::InvalidConfig(detail.to_string()));
        if self.voters.is_empty() || self.voters.len() > VOTERS_MAX {
            return invalid("voters must hold 1 to VOTERS_MAX nodes");
        }
        if !self.voters.contains(&self.id) {
            return invalid("voters must include id");
        }
        let mut sorted = self.voters.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.voters.len() {
            return invalid("voters must be distinct");
        }
        if self.election_timeout_min.is_zero()
            || self.election_timeout_min > self.election_timeout_max
        {
            return invalid("need 0 < election_timeout_min <= election_timeout_max");
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval >= self.election_timeout_min
        {
            return invalid("need 0 < heartbeat_interval < election_timeout_min");
        }
        if self.append_entries_max == 0 || self.inflight_appends_max == 0 {
            return invalid("append_entries_max and inflight_appends_max must be positive");
        }
        if self.uncommitted_entries_max == 0 || self.outputs_max == 0 {
            return invalid("uncommitted_entries_max and outputs_max must be positive");
        }
        if self.entry_bytes_max > self.append_bytes_max {
            return invalid("entry_bytes_max must not exceed append_bytes_max");
        }
        Ok(())
    }

    /// Votes needed to win an election or commit an entry.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_catches_bad_settings() {
        let voters = vec![NodeId(1), NodeId(2), NodeId(3)];
        let good = RaftConfig::new(NodeId(1), voters.clone());
        assert_eq!(good.validate(), Ok(()));
        assert_eq!(good.quorum(), 2);
        let outsider = RaftConfig::new(NodeId(9), voters.clone());
        assert!(outsider.validate().is_err());
        let twice = RaftConfig::new(NodeId(1), vec![NodeId(1), NodeId(1)]);
        assert!(twice.validate().is_err());
        let mut slow_heartbeat = good.clone();
        slow_heartbeat.heartbeat_interval = slow_heartbeat.election_timeout_min;
        assert!(slow_heartbeat.validate().is_err());
        let mut inverted = good;
        inverted.election_timeout_max = Duration::from_millis(10);
        assert!(inverted.validate().is_err());
    }
}
