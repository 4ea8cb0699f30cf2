//! The metadata image: apply is total and deterministic, and check_invariants catches what it
//! must (KIP-631's metadata records; the checker's fenced-leader and epoch-regression rules).

use super::*;
use crate::bugs::{self, Bug};

fn register(broker_id: BrokerId, broker_epoch: i64, fenced: bool) -> MetadataRecord {
    MetadataRecord::RegisterBroker(RegisterBroker {
        broker_id,
        incarnation_id: Uuid(1),
        broker_epoch,
        listeners: Vec::new(),
        rack: None,
        fenced,
    })
}

fn change(
    topic_id: Uuid,
    leader: BrokerId,
    epochs: (i32, i32),
    isr: Vec<BrokerId>,
) -> MetadataRecord {
    MetadataRecord::PartitionChange(PartitionChange {
        topic_id,
        partition: 0,
        isr,
        elr: Vec::new(),
        leader,
        leader_epoch: epochs.0,
        partition_epoch: epochs.1,
        leader_recovery: LeaderRecoveryState::Recovered,
        unclean: false,
    })
}

/// Two unfenced brokers and topic `t` (id 9) with one partition led by 0 at epoch zero.
fn small_image() -> MetadataImage {
    let mut image = MetadataImage::default();
    let records = [
        register(0, 1, false),
        register(1, 2, false),
        MetadataRecord::Topic {
            name: "t".to_string(),
            topic_id: Uuid(9),
            unclean_leader_election_enable: None,
        },
        MetadataRecord::Partition(PartitionRecord {
            topic_id: Uuid(9),
            partition: 0,
            replicas: vec![0, 1],
            isr: vec![0, 1],
            leader: 0,
            leader_epoch: 0,
            partition_epoch: 0,
        }),
    ];
    for record in &records {
        assert_eq!(image.apply(record), ApplyOutcome::Applied);
    }
    check_invariants(&image).unwrap();
    image
}

/// Records that do not fit the image are ignored and counted, never applied, never a panic.
#[test]
fn apply_ignores_records_that_do_not_fit() {
    let base = small_image();
    let topic = Uuid(9);
    let misfits = [
        register(2, 2, true),                 // broker epoch not new
        change(topic, 1, (0, 1), vec![0, 1]), // leader change without a leader epoch bump
        change(topic, 0, (0, 2), vec![0]),    // partition epoch skips one
        change(topic, 0, (0, 1), vec![]),     // empty ISR
        change(topic, 5, (1, 1), vec![0, 5]), // ISR outside the replicas
        change(topic, 1, (1, 1), vec![0]),    // leader outside the ISR
        change(Uuid(8), 0, (0, 1), vec![0]),  // unknown topic
        MetadataRecord::FenceBroker {
            broker_id: 1,
            broker_epoch: 1,
        }, // stale broker epoch
        MetadataRecord::UnfenceBroker {
            broker_id: 7,
            broker_epoch: 1,
        }, // unknown broker
        MetadataRecord::Topic {
            name: "t".to_string(),
            topic_id: Uuid(3),
            unclean_leader_election_enable: None,
        },
        MetadataRecord::Partition(PartitionRecord {
            topic_id: topic,
            partition: 3,
            replicas: vec![0],
            isr: vec![0],
            leader: 0,
            leader_epoch: 0,
            partition_epoch: 0,
        }),
        MetadataRecord::RemoveTopic { topic_id: Uuid(8) },
    ];
    for record in &misfits {
        let mut image = base.clone();
        assert!(
            matches!(image.apply(record), ApplyOutcome::Ignored(_)),
            "{record:?}"
        );
        assert_eq!(image.records_ignored(), 1);
        assert_eq!(image.partition(topic, 0), base.partition(topic, 0));
        check_invariants(&image).unwrap();
    }
}

/// Image limits hold against a hostile log: the record past a limit is ignored.
#[test]
fn apply_enforces_limits() {
    let limits = ImageLimits {
        brokers_max: 2,
        ..ImageLimits::default()
    };
    let mut image = MetadataImage::new(limits);
    assert_eq!(image.apply(&register(0, 1, true)), ApplyOutcome::Applied);
    assert_eq!(image.apply(&register(1, 2, true)), ApplyOutcome::Applied);
    assert!(matches!(
        image.apply(&register(2, 3, true)),
        ApplyOutcome::Ignored(_)
    ));
    // Re-registering a known broker is not growth.
    assert_eq!(image.apply(&register(1, 4, true)), ApplyOutcome::Applied);
}

/// The checker's rule: no partition is led by a fenced broker.
#[test]
fn invariants_catch_a_fenced_leader() {
    let mut image = small_image();
    image.apply(&MetadataRecord::FenceBroker {
        broker_id: 0,
        broker_epoch: 1,
    });
    let violation = check_invariants(&image).unwrap_err();
    assert_eq!(violation.partition, Some((Uuid(9), 0)));
    assert!(violation.what.contains("fenced"), "{violation}");
}

/// The planted bug `Bug::ControllerElectFenced` keeps a fenced broker as leader when it is the
/// last ISR member; without it the partition goes leaderless and the invariants hold.
#[test]
fn bug_switch_elects_a_fenced_leader() {
    let mut h = Harness::new(ControllerConfig::default());
    let epochs: Vec<i64> = (0..2).map(|b| h.add_broker(b)).collect();
    let topic = h.create("t", 1, 2);
    let state = h.partition(topic, 0);
    let shrink = AlterPartitionRequest {
        broker_id: state.leader,
        broker_epoch: epochs[state.leader as usize],
        topic_id: topic,
        partition: 0,
        leader_epoch: 0,
        partition_epoch: 0,
        new_isr: vec![state.leader],
        leader_recovery: LeaderRecoveryState::Recovered,
    };
    let result = h.controller.alter_partition(&shrink);
    h.commit(result).unwrap();
    let fence = HeartbeatRequest {
        broker_id: state.leader,
        broker_epoch: epochs[state.leader as usize],
        caught_up: true,
        want_fence: true,
        want_shutdown: false,
    };
    let result = h.controller.broker_heartbeat(h.now, &fence);
    for record in &result.records {
        h.controller.replay(record);
    }
    let checked = check_invariants(h.controller.image());
    assert_eq!(
        checked.is_err(),
        bugs::active(Bug::ControllerElectFenced),
        "{checked:?}"
    );
}

/// KIP-631: every node that applies the controller's records, encoded and decoded, builds
/// the same image as the controller.
#[test]
fn followers_build_the_same_image_from_encoded_records() {
    let mut h = Harness::new(ControllerConfig::default());
    let mut log: Vec<Vec<u8>> = Vec::new();
    let mut follow = |h: &mut Harness, records: Vec<MetadataRecord>| {
        for record in records {
            log.push(record.encode());
            h.controller.replay(&record);
        }
    };
    for b in 0..4 {
        let request = RegisterBrokerRequest {
            broker_id: b,
            incarnation_id: Uuid(100 + b as u128),
            listeners: Vec::new(),
            rack: None,
            previous_broker_epoch: -1,
        };
        let result = h.controller.register_broker(h.now, &request);
        let epoch = *result.response.as_ref().unwrap();
        follow(&mut h, result.records);
        let beat = HeartbeatRequest {
            broker_id: b,
            broker_epoch: epoch,
            caught_up: true,
            want_fence: false,
            want_shutdown: false,
        };
        let result = h.controller.broker_heartbeat(h.now, &beat);
        follow(&mut h, result.records);
    }
    let requests: Vec<CreateTopicRequest> = (0..3)
        .map(|t| CreateTopicRequest {
            name: format!("t{t}"),
            partitions: 4,
            replication_factor: 3,
            unclean_leader_election_enable: Some(t == 1),
        })
        .collect();
    let result = h.controller.create_topics(&mut h.rng, &requests);
    follow(&mut h, result.records);
    h.now = ms(9_000);
    let result = h.controller.tick(h.now);
    follow(&mut h, result.records);
    let mut image = MetadataImage::default();
    for bytes in &log {
        assert_eq!(
            image.apply(&MetadataRecord::decode(bytes).unwrap()),
            ApplyOutcome::Applied
        );
    }
    assert_eq!(&image, h.controller.image());
    assert!(image.brokers().all(|b| b.fenced), "nobody heartbeated");
    check_invariants(&image).unwrap();
}

/// A committed record this controller did not propose (its proposals were lost) makes it
/// decide from the committed image again.
#[test]
fn foreign_commit_resyncs_the_working_image() {
    let mut h = Harness::new(ControllerConfig::default());
    h.add_broker(0);
    let lost = h.controller.create_topics(
        &mut h.rng,
        &[CreateTopicRequest {
            name: "lost".to_string(),
            partitions: 1,
            replication_factor: 1,
            unclean_leader_election_enable: None,
        }],
    );
    assert!(h.controller.working_image().topic_id("lost").is_some());
    assert_eq!(h.controller.uncommitted_len(), lost.records.len());
    h.controller.replay(&MetadataRecord::NoOp);
    assert_eq!(h.controller.resyncs(), 1);
    assert_eq!(h.controller.uncommitted_len(), 0);
    assert!(h.controller.working_image().topic_id("lost").is_none());
}

#[cfg(feature = "bug-switches")]
#[test]
fn bug_switch_elects_a_fenced_leader_when_switched_on() {
    bugs::with(
        Bug::ControllerElectFenced,
        bug_switch_elects_a_fenced_leader,
    );
}
