//! The simulator-state checks on replica logs (CHECKER.md invariant 21): with the fault the
//! checker flags it with a concrete example; the same logs without the fault pass.

use std::collections::BTreeMap;

use sluice_jepsen::{
    anomaly, check, check_healed_replicas, check_replicas, History, ReplicaLog, Report,
};

fn replica(replica: i32, high_watermark: i64, records: &[(i64, u64)]) -> ReplicaLog {
    ReplicaLog {
        partition: 0,
        replica,
        high_watermark,
        records: records.to_vec(),
        log_start_offset: records.first().map_or(0, |(offset, _)| *offset),
    }
}

const LEADER: [(i64, u64); 4] = [(0, 10), (1, 11), (2, 12), (3, 13)];

fn examples(found: &[sluice_jepsen::Anomaly], kind: &str) -> Vec<String> {
    found
        .iter()
        .inspect(|anomaly| assert_eq!(anomaly.kind, kind))
        .map(|anomaly| anomaly.example.clone())
        .collect()
}

#[test]
fn log_divergence_on_a_differing_value() {
    let divergent = [(0, 10), (1, 99), (2, 12)];
    let found = check_replicas(&[replica(1, 4, &LEADER), replica(2, 2, &divergent)]);
    assert_eq!(
        examples(&found, anomaly::LOG_DIVERGENCE),
        ["partition 0 replicas 1 and 2 below high watermark 2: offset 1 holds value 11 on replica 1, value 99 on replica 2; differing offsets: 1"]
    );
    let agreeing = [(0, 10), (1, 11), (2, 12)];
    assert!(check_replicas(&[replica(1, 4, &LEADER), replica(2, 2, &agreeing)]).is_empty());
}

#[test]
fn log_divergence_on_a_missing_record() {
    let holed = [(0, 10), (2, 12), (3, 13)];
    let found = check_replicas(&[replica(2, 4, &holed), replica(1, 3, &LEADER)]);
    assert_eq!(
        examples(&found, anomaly::LOG_DIVERGENCE),
        ["partition 0 replicas 1 and 2 below high watermark 3: offset 1 holds value 11 on replica 1, nothing on replica 2; differing offsets: 1"]
    );
}

#[test]
fn logs_may_differ_at_or_above_a_high_watermark_and_below_a_log_start() {
    // Replica 2's uncommitted tail differs at offset 2 (its high watermark), and it deleted
    // offsets 0 and 1.
    let truncated_tail = [(2, 99)];
    let other_partition = ReplicaLog {
        partition: 1,
        ..replica(2, 1, &[(0, 50)])
    };
    let found = check_replicas(&[
        replica(1, 4, &LEADER),
        replica(2, 2, &truncated_tail),
        other_partition,
        replica(3, 2, &[(0, 10), (1, 11), (2, 98)]),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn divergent_replicas_after_healing() {
    let leaders = BTreeMap::from([(0, 1)]);
    let behind = [(0, 10), (1, 11), (2, 12)];
    let ahead = [(0, 10), (1, 11), (2, 12), (3, 13), (4, 14)];
    let found = check_healed_replicas(
        &[
            replica(1, 4, &LEADER),
            replica(2, 4, &behind),
            replica(3, 4, &ahead),
        ],
        &leaders,
    );
    assert_eq!(
        examples(&found, anomaly::DIVERGENT_REPLICAS),
        [
            "partition 0 leader 1 and replica 2: offset 3 holds value 13 on replica 1, nothing on replica 2; differing offsets: 1",
            "partition 0 leader 1 and replica 3: offset 4 holds nothing on replica 1, value 14 on replica 3; differing offsets: 1",
        ]
    );
    // Below both high watermarks these logs agree: no log-divergence.
    assert!(check_replicas(&[replica(1, 3, &LEADER), replica(2, 3, &behind)]).is_empty());
    let healed = [
        replica(1, 4, &LEADER),
        replica(2, 4, &LEADER),
        replica(3, 4, &LEADER),
    ];
    assert!(check_healed_replicas(&healed, &leaders).is_empty());
}

#[test]
fn healing_needs_each_partitions_leader_log() {
    let found = check_healed_replicas(&[replica(2, 4, &LEADER)], &BTreeMap::from([(0, 1), (1, 1)]));
    assert_eq!(
        examples(&found, anomaly::DIVERGENT_REPLICAS),
        [
            "partition 0: no log of its leader, replica 1",
            "partition 1: no log of its leader, replica 1"
        ]
    );
    let found = check_healed_replicas(&[replica(2, 4, &LEADER)], &BTreeMap::new());
    assert_eq!(
        examples(&found, anomaly::DIVERGENT_REPLICAS),
        ["partition 0: no leader given"]
    );
}

#[test]
fn replica_anomalies_extend_a_report() {
    let mut report: Report = check(&History::new());
    assert!(report.is_valid());
    report.extend(check_replicas(&[
        replica(1, 4, &LEADER),
        replica(2, 4, &[(0, 10), (1, 99)]),
    ]));
    assert!(!report.is_valid(), "{report}");
    assert_eq!(report.count(anomaly::LOG_DIVERGENCE), 1, "{report}");
}
