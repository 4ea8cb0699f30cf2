//! Every topic-level config Kafka 4.1 defines (`LogConfig`'s definitions), with its type,
//! default, domain and the broker-level configs that supply its default.

use crate::api::ConfigType;

/// The values a config accepts beyond its type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Domain {
    /// Any value of the type.
    Any,
    /// An integer in `min..=max`.
    Range(i64, i64),
    /// A double in `0.0..=1.0`.
    Ratio,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A list whose items are each one of these.
    ListOf(&'static [&'static str]),
    /// `*`, or a list of `partition:broker` pairs (the replication throttle lists).
    ThrottledReplicas,
    /// gzip levels: 1..=9 or -1 (the codec's default).
    GzipLevel,
}

/// One topic config.
#[derive(Clone, Copy, Debug)]
pub struct TopicConfigDef {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub config_type: ConfigType,
    /// Kafka's default, as text.
    pub default: &'static str,
    /// Its domain.
    pub domain: Domain,
    /// The broker-level configs whose value is the default for topics, most specific first.
    pub synonyms: &'static [&'static str],
    /// What it does.
    pub doc: &'static str,
}

const fn def(
    name: &'static str,
    config_type: ConfigType,
    default: &'static str,
    domain: Domain,
    synonyms: &'static [&'static str],
    doc: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        config_type,
        default,
        domain,
        synonyms,
        doc,
    }
}

const I32_MAX: i64 = i32::MAX as i64;
const LONG_MAX: &str = "9223372036854775807";

use ConfigType::{Boolean, Double, Int, List, Long, String as Str};

/// The configs, sorted by name.
#[rustfmt::skip]
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def("cleanup.policy", List, "delete", Domain::ListOf(&["compact", "delete"]),
        &["log.cleanup.policy"], "How old segments are dropped: delete, compact, or both."),
    def("compression.gzip.level", Int, "-1", Domain::GzipLevel,
        &["compression.gzip.level"], "The gzip level when compression.type is gzip."),
    def("compression.lz4.level", Int, "9", Domain::Range(1, 17),
        &["compression.lz4.level"], "The lz4 level when compression.type is lz4."),
    def("compression.type", Str, "producer",
        Domain::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        &["compression.type"], "The codec batches are stored with; producer keeps theirs."),
    def("compression.zstd.level", Int, "3", Domain::Range(-131072, 22),
        &["compression.zstd.level"], "The zstd level when compression.type is zstd."),
    def("delete.retention.ms", Long, "86400000", Domain::Range(0, i64::MAX),
        &["log.cleaner.delete.retention.ms"], "How long compaction keeps delete tombstones."),
    def("file.delete.delay.ms", Long, "60000", Domain::Range(0, i64::MAX),
        &["log.segment.delete.delay.ms"], "How long a deleted segment's files linger."),
    def("flush.messages", Long, LONG_MAX, Domain::Range(1, i64::MAX),
        &["log.flush.interval.messages"], "Records between forced fsyncs of the log."),
    def("flush.ms", Long, LONG_MAX, Domain::Range(0, i64::MAX),
        &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "Longest time a write stays unsynced."),
    def("follower.replication.throttled.replicas", List, "", Domain::ThrottledReplicas,
        &[], "Replicas whose follower-side replication is throttled."),
    def("index.interval.bytes", Int, "4096", Domain::Range(0, I32_MAX),
        &["log.index.interval.bytes"], "Bytes of log between offset index entries."),
    def("leader.replication.throttled.replicas", List, "", Domain::ThrottledReplicas,
        &[], "Replicas whose leader-side replication is throttled."),
    def("local.retention.bytes", Long, "-2", Domain::Range(-2, i64::MAX),
        &["log.local.retention.bytes"], "Local size limit with tiered storage; -2 = retention.bytes."),
    def("local.retention.ms", Long, "-2", Domain::Range(-2, i64::MAX),
        &["log.local.retention.ms"], "Local age limit with tiered storage; -2 = retention.ms."),
    def("max.compaction.lag.ms", Long, LONG_MAX, Domain::Range(1, i64::MAX),
        &["log.cleaner.max.compaction.lag.ms"], "Longest a record stays uncompacted."),
    def("max.message.bytes", Int, "1048588", Domain::Range(0, I32_MAX),
        &["message.max.bytes"], "The largest record batch the topic accepts."),
    def("message.timestamp.after.max.ms", Long, "3600000", Domain::Range(0, i64::MAX),
        &["log.message.timestamp.after.max.ms"],
        "How far in the future a CreateTime timestamp may be."),
    def("message.timestamp.before.max.ms", Long, LONG_MAX, Domain::Range(0, i64::MAX),
        &["log.message.timestamp.before.max.ms"],
        "How far in the past a CreateTime timestamp may be."),
    def("message.timestamp.type", Str, "CreateTime",
        Domain::OneOf(&["CreateTime", "LogAppendTime"]),
        &["log.message.timestamp.type"], "Whose clock stamps records: the producer's or the broker's."),
    def("min.cleanable.dirty.ratio", Double, "0.5", Domain::Ratio,
        &["log.cleaner.min.cleanable.ratio"], "Share of uncompacted log that triggers compaction."),
    def("min.compaction.lag.ms", Long, "0", Domain::Range(0, i64::MAX),
        &["log.cleaner.min.compaction.lag.ms"], "Shortest a record stays uncompacted."),
    def("min.insync.replicas", Int, "1", Domain::Range(1, I32_MAX),
        &["min.insync.replicas"], "In-sync replicas an acks=all write needs."),
    def("preallocate", Boolean, "false", Domain::Any,
        &["log.preallocate"], "Whether new segment files are allocated whole."),
    def("remote.log.copy.disable", Boolean, "false", Domain::Any,
        &[], "Stop copying segments to tiered storage."),
    def("remote.log.delete.on.disable", Boolean, "false", Domain::Any,
        &[], "Delete tiered data when tiered storage is turned off."),
    def("remote.storage.enable", Boolean, "false", Domain::Any,
        &[], "Whether the topic uses tiered storage."),
    def("retention.bytes", Long, "-1", Domain::Any,
        &["log.retention.bytes"], "Largest a partition's log grows before old segments go; -1 = no limit."),
    def("retention.ms", Long, "604800000", Domain::Range(-1, i64::MAX),
        &["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        "How long segments are kept; -1 = forever."),
    def("segment.bytes", Int, "1073741824", Domain::Range(1024 * 1024, I32_MAX),
        &["log.segment.bytes"], "Size at which the active segment rolls."),
    def("segment.index.bytes", Int, "10485760", Domain::Range(4, I32_MAX),
        &["log.index.size.max.bytes"], "Size of a segment's offset index."),
    def("segment.jitter.ms", Long, "0", Domain::Range(0, i64::MAX),
        &["log.roll.jitter.ms", "log.roll.jitter.hours"], "Random slack taken off segment.ms."),
    def("segment.ms", Long, "604800000", Domain::Range(1, i64::MAX),
        &["log.roll.ms", "log.roll.hours"], "Age at which the active segment rolls."),
    def("unclean.leader.election.enable", Boolean, "false", Domain::Any,
        &["unclean.leader.election.enable"],
        "Whether a replica outside the ISR may become leader, at the cost of lost records."),
];
