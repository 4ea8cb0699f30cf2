//! Per-log settings, named and defaulted as Kafka's topic configs are.

use super::error::LogError;

/// Settings of one partition log. Field names follow Kafka's topic-level configs (broker-level
/// names in parentheses); defaults are Kafka's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes` (`log.segment.bytes`): roll when the active segment would exceed this.
    pub segment_bytes: u64,
    /// `segment.ms` (`log.roll.ms`): roll a non-empty segment this long after its first batch.
    pub segment_ms: i64,
    /// `segment.index.bytes` (`log.index.size.max.bytes`): roll when the offset index is full.
    pub segment_index_bytes: u64,
    /// `index.interval.bytes` (`log.index.interval.bytes`): bytes between index entries.
    pub index_interval_bytes: u64,
    /// `retention.ms` (`log.retention.ms`): delete segments whose newest record is older; -1
    /// keeps them forever.
    pub retention_ms: i64,
    /// `retention.bytes` (`log.retention.bytes`): delete the oldest segments while the log is
    /// larger; -1 means no limit.
    pub retention_bytes: i64,
    /// `flush.messages` (`log.flush.interval.messages`): fsync after this many records.
    pub flush_messages: i64,
    /// `flush.ms` (`log.flush.interval.ms`): fsync when the oldest unflushed write is this old.
    pub flush_ms: i64,
    /// `max.message.bytes` (`message.max.bytes`): the largest batch accepted.
    pub max_message_bytes: u32,
    /// `log.flush.offset.checkpoint.interval.ms`: how often a flush also rewrites the
    /// recovery-point checkpoint (rolls and clean closes always do).
    pub recovery_point_checkpoint_interval_ms: i64,
    /// `cleanup.policy` (`log.cleanup.policy`): whether retention deletes old segments, and
    /// whether the topic is compacted (every record then needs a key).
    pub cleanup_policy: CleanupPolicy,
}

/// Kafka's `cleanup.policy`: `delete`, `compact`, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Retention (`retention.ms`, `retention.bytes`) deletes old segments.
    pub delete: bool,
    /// The log keeps each key's latest record; records without a key are refused.
    pub compact: bool,
}

impl CleanupPolicy {
    /// Kafka's default.
    pub const DELETE: CleanupPolicy = CleanupPolicy {
        delete: true,
        compact: false,
    };

    /// Reads Kafka's list form: `delete`, `compact`, or both in either order, spaces allowed;
    /// `None` for anything else.
    pub fn parse(text: &str) -> Option<CleanupPolicy> {
        let mut policy = CleanupPolicy {
            delete: false,
            compact: false,
        };
        for part in text.split(',').map(str::trim) {
            match part {
                "delete" => policy.delete = true,
                "compact" => policy.compact = true,
                _ => return None,
            }
        }
        Some(policy)
    }

    /// The list as Kafka writes it.
    pub fn name(self) -> &'static str {
        match (self.compact, self.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            _ => "delete",
        }
    }
}

/// The smallest `segment.bytes` Kafka accepts is 14; a v2 batch needs at least its header.
const SEGMENT_BYTES_MIN: u64 = crate::record::BATCH_HEADER_BYTES as u64;
/// Index entries address positions as u32, as Kafka's do.
const SEGMENT_BYTES_MAX: u64 = i32::MAX as u64;

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            segment_index_bytes: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            max_message_bytes: 1024 * 1024 + 12,
            recovery_point_checkpoint_interval_ms: 60_000,
            cleanup_policy: CleanupPolicy::DELETE,
        }
    }
}

impl LogConfig {
    /// Checks ranges the way Kafka's config validation does, naming the offending setting.
    pub fn validate(&self) -> Result<(), LogError> {
        let bad = |what: &str| Err(LogError::InvalidConfig(what.to_string()));
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            return bad("segment.bytes must be between 61 and 2147483647");
        }
        if self.segment_ms < 1 {
            return bad("segment.ms must be at least 1");
        }
        if self.segment_index_bytes < super::index::OFFSET_ENTRY_BYTES as u64 {
            return bad("segment.index.bytes must hold at least one index entry");
        }
        if self.retention_ms < -1 {
            return bad("retention.ms must be -1 or non-negative");
        }
        if self.retention_bytes < -1 {
            return bad("retention.bytes must be -1 or non-negative");
        }
        if self.flush_messages < 1 {
            return bad("flush.messages must be at least 1");
        }
        if self.flush_ms < 0 {
            return bad("flush.ms must be non-negative");
        }
        if self.max_message_bytes < crate::record::BATCH_HEADER_BYTES as u32 {
            return bad("max.message.bytes must hold at least a batch header");
        }
        if self.recovery_point_checkpoint_interval_ms < 0 {
            return bad("log.flush.offset.checkpoint.interval.ms must be non-negative");
        }
        Ok(())
    }

    /// Entries the offset index of one segment may hold before the segment rolls.
    pub(crate) fn index_entries_max(&self) -> usize {
        (self.segment_index_bytes / super::index::OFFSET_ENTRY_BYTES as u64) as usize
    }
}
