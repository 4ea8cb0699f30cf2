//! The group coordinator's keys (`offsets.topic.*`, `offsets.*`, `group.*`), with Kafka's
//! defaults.

use sluice_core::group::GroupConfig;

use super::values::{int_at_least, integer, long_at_least};
use super::{read, ConfigError, Properties};

/// The keys this module reads.
pub const GROUP_KEYS: &[&str] = &[
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "offsets.topic.segment.bytes",
    "offsets.commit.timeout.ms",
    "offset.metadata.max.bytes",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "group.initial.rebalance.delay.ms",
    "group.max.size",
];

/// The coordinator's settings from `p`.
pub fn group_config(p: &Properties) -> Result<GroupConfig, ConfigError> {
    let defaults = GroupConfig::default();
    let config = GroupConfig {
        offsets_topic_num_partitions: read(
            p,
            "offsets.topic.num.partitions",
            defaults.offsets_topic_num_partitions,
            |k, v| int_at_least(k, v, 1),
        )?,
        offsets_topic_replication_factor: read(
            p,
            "offsets.topic.replication.factor",
            defaults.offsets_topic_replication_factor,
            |k, v| {
                let factor = integer(k, v, 1, i64::from(i16::MAX))?;
                i16::try_from(factor).map_err(|_| ConfigError::value(k, v, "an INT16"))
            },
        )?,
        offsets_topic_segment_bytes: read(
            p,
            "offsets.topic.segment.bytes",
            defaults.offsets_topic_segment_bytes,
            |k, v| int_at_least(k, v, 1 << 20),
        )?,
        offsets_commit_timeout_ms: read(
            p,
            "offsets.commit.timeout.ms",
            defaults.offsets_commit_timeout_ms,
            |k, v| int_at_least(k, v, 1),
        )?,
        offset_metadata_max_bytes: read(
            p,
            "offset.metadata.max.bytes",
            defaults.offset_metadata_max_bytes,
            |k, v| int_at_least(k, v, 0).map(|n| n as usize),
        )?,
        offsets_retention_ms: read(
            p,
            "offsets.retention.minutes",
            defaults.offsets_retention_ms,
            |k, v| int_at_least(k, v, 1).map(|minutes| i64::from(minutes) * 60_000),
        )?,
        offsets_retention_check_interval_ms: read(
            p,
            "offsets.retention.check.interval.ms",
            defaults.offsets_retention_check_interval_ms,
            |k, v| long_at_least(k, v, 1),
        )?,
        group_min_session_timeout_ms: read(
            p,
            "group.min.session.timeout.ms",
            defaults.group_min_session_timeout_ms,
            |k, v| int_at_least(k, v, 0),
        )?,
        group_max_session_timeout_ms: read(
            p,
            "group.max.session.timeout.ms",
            defaults.group_max_session_timeout_ms,
            |k, v| int_at_least(k, v, 0),
        )?,
        group_initial_rebalance_delay_ms: read(
            p,
            "group.initial.rebalance.delay.ms",
            defaults.group_initial_rebalance_delay_ms,
            |k, v| int_at_least(k, v, 0),
        )?,
        group_max_size: read(p, "group.max.size", defaults.group_max_size, |k, v| {
            int_at_least(k, v, 1).map(|n| n as usize)
        })?,
    };
    if config.group_min_session_timeout_ms > config.group_max_session_timeout_ms {
        return Err(ConfigError::Conflict(format!(
            "group.min.session.timeout.ms ({}) must be at most group.max.session.timeout.ms ({})",
            config.group_min_session_timeout_ms, config.group_max_session_timeout_ms
        )));
    }
    Ok(config)
}
