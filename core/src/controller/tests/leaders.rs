//! Preferred leader election (KIP-460) and automatic leader rebalancing
//! (auto.leader.rebalance.enable, leader.imbalance.per.broker.percentage).

use super::*;

/// Three brokers and a six-partition, three-replica topic in which broker 0, the preferred
/// leader of two partitions, was fenced, came back and rejoined every ISR, so it leads none.
fn preferred_leader_displaced(config: ControllerConfig) -> (Harness, Uuid, Vec<i32>) {
    let mut h = Harness::new(config);
    let epochs: Vec<i64> = (0..3).map(|b| h.add_broker(b)).collect();
    let topic = h.create("t", 6, 3);
    let mut request = HeartbeatRequest {
        broker_id: 0,
        broker_epoch: epochs[0],
        caught_up: true,
        want_fence: true,
        want_shutdown: false,
    };
    let result = h.controller.broker_heartbeat(h.now, &request);
    h.commit(result).unwrap();
    request.want_fence = false;
    let result = h.controller.broker_heartbeat(h.now, &request);
    h.commit(result).unwrap();
    for p in 0..6 {
        let state = h.partition(topic, p);
        let mut isr = state.isr.clone();
        isr.push(0);
        let alter = AlterPartitionRequest {
            broker_id: state.leader,
            broker_epoch: epochs[state.leader as usize],
            topic_id: topic,
            partition: p,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr: isr,
            leader_recovery: state.leader_recovery,
        };
        let result = h.controller.alter_partition(&alter);
        h.commit(result).unwrap();
    }
    let preferring: Vec<i32> = (0..6)
        .filter(|p| h.partition(topic, *p).replicas[0] == 0)
        .collect();
    assert_eq!(preferring.len(), 2);
    assert!(preferring
        .iter()
        .all(|p| h.partition(topic, *p).leader != 0));
    (h, topic, preferring)
}

fn name(partition: i32) -> TopicPartition {
    TopicPartition {
        topic: "t".to_string(),
        partition,
    }
}

/// KIP-460: a preferred election moves leadership back to the first replica when it is live
/// and in the ISR, bumping the leader epoch; otherwise it says why not.
#[test]
fn preferred_leader_election() {
    let config = ControllerConfig {
        auto_leader_rebalance_enable: false,
        ..ControllerConfig::default()
    };
    let (mut h, topic, preferring) = preferred_leader_displaced(config);
    let p = preferring[0];
    let before = h.partition(topic, p);
    let led_elsewhere = (0..6)
        .find(|q| h.partition(topic, *q).replicas[0] != 0)
        .unwrap();
    let result = h.controller.elect_leaders(
        ElectionType::Preferred,
        Some(&[name(p), name(led_elsewhere), name(9)]),
    );
    assert_eq!(
        result.response,
        vec![
            (name(p), Ok(())),
            (name(led_elsewhere), Err(ControllerError::ElectionNotNeeded)),
            (name(9), Err(ControllerError::UnknownTopicOrPartition)),
        ]
    );
    assert_eq!(
        result.records,
        vec![MetadataRecord::PartitionChange(PartitionChange {
            topic_id: topic,
            partition: p,
            isr: before.isr.clone(),
            elr: Vec::new(),
            leader: 0,
            leader_epoch: before.leader_epoch + 1,
            partition_epoch: before.partition_epoch + 1,
            leader_recovery: LeaderRecoveryState::Recovered,
            unclean: false,
        })]
    );
    h.commit(result);
    assert_eq!(h.partition(topic, p).leader, 0);
}

/// KIP-460: the preferred replica cannot lead from outside the ISR.
#[test]
fn preferred_leader_outside_the_isr_is_not_available() {
    let (mut h, topic, preferring) = preferred_leader_displaced(ControllerConfig::default());
    let p = preferring[0];
    let state = h.partition(topic, p);
    let epoch = h
        .controller
        .image()
        .broker(state.leader)
        .unwrap()
        .broker_epoch;
    let shrink = AlterPartitionRequest {
        broker_id: state.leader,
        broker_epoch: epoch,
        topic_id: topic,
        partition: p,
        leader_epoch: state.leader_epoch,
        partition_epoch: state.partition_epoch,
        new_isr: vec![state.leader],
        leader_recovery: state.leader_recovery,
    };
    let result = h.controller.alter_partition(&shrink);
    h.commit(result).unwrap();
    let result = h
        .controller
        .elect_leaders(ElectionType::Preferred, Some(&[name(p)]));
    assert_eq!(
        result.response,
        vec![(name(p), Err(ControllerError::PreferredLeaderNotAvailable))]
    );
    assert!(result.records.is_empty());
}

/// auto.leader.rebalance.enable: at the check interval, brokers whose share of preferred
/// partitions led elsewhere is strictly above leader.imbalance.per.broker.percentage get
/// their leaderships back; at or below it nothing moves.
#[test]
fn auto_rebalance_only_over_the_threshold() {
    for (percentage, expect_moves) in [(50, 0), (49, 1)] {
        let config = ControllerConfig {
            leader_imbalance_per_broker_percentage: percentage,
            ..ControllerConfig::default()
        };
        let (mut h, topic, preferring) = preferred_leader_displaced(config);
        // Give one of its two partitions back by hand: 1 of 2 (50%) is still elsewhere.
        let result = h
            .controller
            .elect_leaders(ElectionType::Preferred, Some(&[name(preferring[0])]));
        h.commit(result);
        h.now = ms(299_000);
        h.heartbeat_all_but(&[]);
        assert!(h.controller.tick(h.now).records.is_empty(), "not yet time");
        h.now = ms(300_000);
        h.heartbeat_all_but(&[]);
        let result = h.controller.tick(h.now);
        assert_eq!(
            result.records.len(),
            expect_moves,
            "percentage {percentage}"
        );
        h.commit(result);
        let led = preferring
            .iter()
            .filter(|p| h.partition(topic, **p).leader == 0)
            .count();
        assert_eq!(led, 1 + expect_moves);
        assert_eq!(h.controller.poll_timeout(), Some(ms(309_000)));
    }
}

/// ElectLeaders(unclean) elects from outside the ISR even when the config forbids automatic
/// unclean elections, and only for leaderless partitions.
#[test]
fn admin_unclean_election() {
    let mut h = Harness::new(ControllerConfig::default());
    let epochs: Vec<i64> = (0..2).map(|b| h.add_broker(b)).collect();
    let topic = h.create("t", 1, 2);
    let leader = h.partition(topic, 0).leader;
    let other = 1 - leader;
    let state = h.partition(topic, 0);
    let shrink = AlterPartitionRequest {
        broker_id: leader,
        broker_epoch: epochs[leader as usize],
        topic_id: topic,
        partition: 0,
        leader_epoch: state.leader_epoch,
        partition_epoch: state.partition_epoch,
        new_isr: vec![leader],
        leader_recovery: state.leader_recovery,
    };
    let result = h.controller.alter_partition(&shrink);
    h.commit(result).unwrap();
    let not_needed = h
        .controller
        .elect_leaders(ElectionType::Unclean, Some(&[name(0)]));
    assert_eq!(
        not_needed.response[0].1,
        Err(ControllerError::ElectionNotNeeded)
    );
    let fence = HeartbeatRequest {
        broker_id: leader,
        broker_epoch: epochs[leader as usize],
        caught_up: true,
        want_fence: true,
        want_shutdown: false,
    };
    let result = h.controller.broker_heartbeat(h.now, &fence);
    h.commit(result).unwrap();
    assert_eq!(h.partition(topic, 0).leader, NO_LEADER);
    let result = h
        .controller
        .elect_leaders(ElectionType::Unclean, Some(&[name(0)]));
    assert_eq!(result.response[0].1, Ok(()));
    h.commit(result);
    let state = h.partition(topic, 0);
    assert_eq!((state.leader, state.isr), (other, vec![other]));
    assert_eq!(h.controller.image().unclean_elections(), 1);
}
