//! Checks on the replicas' logs, as the simulator's state holds them (S-checks, invariant 21):
//! [`check_replicas`] for `log-divergence` at any moment, and [`check_healed_replicas`] for
//! `divergent-replicas` once faults have healed and replication has caught up.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::report::{anomaly, Anomaly};

/// One replica's log of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaLog {
    /// The partition.
    pub partition: i32,
    /// The broker holding this replica.
    pub replica: i32,
    /// The replica's local high watermark.
    pub high_watermark: i64,
    /// Its records, `(offset, value)`, one per offset (offsets holding no record, such as
    /// transaction markers, are absent); a repeated offset keeps its last value.
    pub records: Vec<(i64, u64)>,
    /// The first offset the replica still holds; offsets below it are not compared.
    pub log_start_offset: i64,
}

/// One replica's records, indexed.
struct Indexed<'r> {
    log: &'r ReplicaLog,
    records: BTreeMap<i64, u64>,
}

impl<'r> Indexed<'r> {
    fn new(log: &'r ReplicaLog) -> Self {
        Self {
            log,
            records: log.records.iter().copied().collect(),
        }
    }
}

/// Invariant 21: two replicas of a partition whose logs differ below the smaller of their high
/// watermarks and at or above both log start offsets: a value differs, or an offset holds a
/// record in one and none in the other. One `log-divergence` per pair of replicas, naming the
/// first differing offset; pairs in (partition, replica) order.
pub fn check_replicas(replicas: &[ReplicaLog]) -> Vec<Anomaly> {
    let mut found = Vec::new();
    for (partition, logs) in by_partition(replicas) {
        for (at, a) in logs.iter().enumerate() {
            for b in &logs[at + 1..] {
                let below = a.log.high_watermark.min(b.log.high_watermark);
                let Some(example) = compare(a, b, Bound::Excluded(below)) else {
                    continue;
                };
                found.push(Anomaly {
                    kind: anomaly::LOG_DIVERGENCE,
                    example: format!(
                        "partition {partition} replicas {} and {} below high watermark {below}: {example}",
                        a.log.replica, b.log.replica
                    ),
                });
            }
        }
    }
    found
}

/// For a run whose faults have healed and whose replication has caught up: every replica of a
/// partition holds exactly its leader's records at or above both log start offsets, through the
/// leader's log end, with nothing past it. `leaders` maps each partition to its leader replica;
/// a partition with no leader, or whose leader's log is not given, is reported too. One
/// `divergent-replicas` per follower that differs, naming the first differing offset.
pub fn check_healed_replicas(
    replicas: &[ReplicaLog],
    leaders: &BTreeMap<i32, i32>,
) -> Vec<Anomaly> {
    let logs = by_partition(replicas);
    let partitions: BTreeSet<i32> = logs.keys().chain(leaders.keys()).copied().collect();
    let mut found = Vec::new();
    let mut push = |example: String| {
        found.push(Anomaly {
            kind: anomaly::DIVERGENT_REPLICAS,
            example,
        });
    };
    for partition in partitions {
        let Some(&leader) = leaders.get(&partition) else {
            push(format!("partition {partition}: no leader given"));
            continue;
        };
        let replicas = logs.get(&partition).map_or(&[][..], Vec::as_slice);
        let Some(leading) = replicas.iter().find(|log| log.log.replica == leader) else {
            push(format!(
                "partition {partition}: no log of its leader, replica {leader}"
            ));
            continue;
        };
        for follower in replicas.iter().filter(|log| log.log.replica != leader) {
            if let Some(example) = compare(leading, follower, Bound::Unbounded) {
                push(format!(
                    "partition {partition} leader {leader} and replica {}: {example}",
                    follower.log.replica
                ));
            }
        }
    }
    found
}

/// Each partition's replicas, in replica order.
fn by_partition(replicas: &[ReplicaLog]) -> BTreeMap<i32, Vec<Indexed<'_>>> {
    let mut logs: BTreeMap<i32, Vec<Indexed<'_>>> = BTreeMap::new();
    for log in replicas {
        logs.entry(log.partition)
            .or_default()
            .push(Indexed::new(log));
    }
    for replicas in logs.values_mut() {
        replicas.sort_by_key(|log| log.log.replica);
    }
    logs
}

/// Describes how `a` and `b` differ from the higher of their log starts up to `end`: the first
/// differing offset and how many differ. `None` when they agree.
fn compare(a: &Indexed<'_>, b: &Indexed<'_>, end: Bound<i64>) -> Option<String> {
    let start = a.log.log_start_offset.max(b.log.log_start_offset);
    if let Bound::Excluded(end) = end {
        if end <= start {
            return None;
        }
    }
    let range = (Bound::Included(start), end);
    let offsets: BTreeSet<i64> = a
        .records
        .range(range)
        .chain(b.records.range(range))
        .map(|(offset, _)| *offset)
        .collect();
    let differing: Vec<i64> = offsets
        .into_iter()
        .filter(|offset| a.records.get(offset) != b.records.get(offset))
        .collect();
    let &first = differing.first()?;
    let holds = |log: &Indexed<'_>| match log.records.get(&first) {
        Some(value) => format!("value {value} on replica {}", log.log.replica),
        None => format!("nothing on replica {}", log.log.replica),
    };
    Some(format!(
        "offset {first} holds {}, {}; differing offsets: {}",
        holds(a),
        holds(b),
        differing.len()
    ))
}
