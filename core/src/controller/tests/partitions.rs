//! AlterPartition (KIP-497, KIP-841, KIP-704) and leader election when brokers fail.

use super::*;

/// Three unfenced brokers and a one-partition, three-replica topic.
pub(super) fn setup(config: ControllerConfig) -> (Harness, Vec<i64>, Uuid) {
    let mut h = Harness::new(config);
    let epochs = (0..3).map(|b| h.add_broker(b)).collect();
    let topic = h.create("t", 1, 3);
    (h, epochs, topic)
}

pub(super) fn alter(
    h: &Harness,
    epochs: &[i64],
    topic: Uuid,
    new_isr: Vec<BrokerId>,
) -> AlterPartitionRequest {
    let state = h.partition(topic, 0);
    AlterPartitionRequest {
        broker_id: state.leader,
        broker_epoch: epochs[state.leader as usize],
        topic_id: topic,
        partition: 0,
        leader_epoch: state.leader_epoch,
        partition_epoch: state.partition_epoch,
        new_isr,
        leader_recovery: state.leader_recovery,
    }
}

/// KIP-497: the leader shrinks its ISR; the controller proposes exactly that change with the
/// partition epoch bumped and the leader epoch kept.
#[test]
fn alter_partition_shrinks_the_isr() {
    let (mut h, epochs, topic) = setup(ControllerConfig::default());
    let leader = h.partition(topic, 0).leader;
    let result = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![leader]));
    assert_eq!(
        result.records,
        vec![MetadataRecord::PartitionChange(PartitionChange {
            topic_id: topic,
            partition: 0,
            isr: vec![leader],
            elr: Vec::new(),
            leader,
            leader_epoch: 0,
            partition_epoch: 1,
            leader_recovery: LeaderRecoveryState::Recovered,
            unclean: false,
        })]
    );
    let reply = h.commit(result).unwrap();
    assert_eq!((reply.isr, reply.partition_epoch), (vec![leader], 1));
}

/// KIP-497 / KIP-841: stale, misdirected or ineligible AlterPartition requests are refused
/// with Kafka's errors and propose nothing.
#[test]
fn stale_alter_partition_is_refused() {
    let (mut h, epochs, topic) = setup(ControllerConfig::default());
    let state = h.partition(topic, 0);
    let leader = state.leader;
    let follower = state
        .replicas
        .iter()
        .copied()
        .find(|b| *b != leader)
        .unwrap();
    let good = alter(&h, &epochs, topic, vec![leader]);
    let cases: Vec<(AlterPartitionRequest, ControllerError)> = vec![
        (
            AlterPartitionRequest {
                partition_epoch: -1,
                ..good.clone()
            },
            ControllerError::InvalidUpdateVersion,
        ),
        (
            AlterPartitionRequest {
                leader_epoch: -1,
                ..good.clone()
            },
            ControllerError::FencedLeaderEpoch,
        ),
        (
            AlterPartitionRequest {
                broker_epoch: 0,
                ..good.clone()
            },
            ControllerError::StaleBrokerEpoch,
        ),
        (
            AlterPartitionRequest {
                broker_id: follower,
                broker_epoch: epochs[follower as usize],
                ..good.clone()
            },
            ControllerError::NotLeaderOrFollower,
        ),
        (
            AlterPartitionRequest {
                new_isr: vec![follower],
                ..good.clone()
            },
            ControllerError::InvalidRequest,
        ),
        (
            AlterPartitionRequest {
                new_isr: vec![leader, 7],
                ..good.clone()
            },
            ControllerError::IneligibleReplica,
        ),
        (
            AlterPartitionRequest {
                partition: 5,
                ..good.clone()
            },
            ControllerError::UnknownTopicOrPartition,
        ),
        (
            AlterPartitionRequest {
                topic_id: Uuid(5),
                ..good.clone()
            },
            ControllerError::UnknownTopicId,
        ),
    ];
    for (request, error) in cases {
        let result = h.controller.alter_partition(&request);
        assert_eq!(result.response, Err(error), "{request:?}");
        assert!(result.records.is_empty());
    }
    // The good request still works, and repeating it is then stale.
    let result = h.controller.alter_partition(&good);
    h.commit(result).unwrap();
    let again = h.controller.alter_partition(&good);
    assert_eq!(again.response, Err(ControllerError::InvalidUpdateVersion));
}

/// KIP-841: a fenced broker may not be added back to the ISR; once unfenced it may.
#[test]
fn fenced_broker_cannot_rejoin_the_isr() {
    let (mut h, epochs, topic) = setup(ControllerConfig::default());
    let state = h.partition(topic, 0);
    let follower = *state
        .replicas
        .iter()
        .rev()
        .find(|b| **b != state.leader)
        .unwrap();
    let mut request = HeartbeatRequest {
        broker_id: follower,
        broker_epoch: epochs[follower as usize],
        caught_up: true,
        want_fence: true,
        want_shutdown: false,
    };
    let fence = h.controller.broker_heartbeat(h.now, &request);
    h.commit(fence).unwrap();
    let full = state.replicas.clone();
    let refused = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, full.clone()));
    assert_eq!(refused.response, Err(ControllerError::IneligibleReplica));
    request.want_fence = false;
    let unfence = h.controller.broker_heartbeat(h.now, &request);
    h.commit(unfence).unwrap();
    let accepted = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, full.clone()));
    assert_eq!(h.commit(accepted).unwrap().isr, full);
}

/// Fences `broker` by letting its lease lapse while the others heartbeat.
pub(super) fn expire(h: &mut Harness, broker: BrokerId) {
    let start = h.now;
    h.now = start + Duration::from_millis(5_000);
    h.heartbeat_all_but(&[broker]);
    h.now = start + Duration::from_millis(9_000);
    let result = h.controller.tick(h.now);
    h.commit(result);
    assert!(h.controller.image().broker(broker).unwrap().fenced);
}

/// KIP-631: when the last ISR member is fenced the ISR keeps it and the partition has no
/// leader; with unclean.leader.election.enable off nobody outside the ISR is elected.
#[test]
fn no_unclean_election_when_disabled() {
    let (mut h, epochs, topic) = setup(ControllerConfig::default());
    let leader = h.partition(topic, 0).leader;
    let result = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![leader]));
    h.commit(result).unwrap();
    expire(&mut h, leader);
    let state = h.partition(topic, 0);
    assert_eq!((state.leader, state.isr.clone()), (NO_LEADER, vec![leader]));
    assert_eq!(state.leader_epoch, 1);
    h.now = h.now + Duration::from_millis(1_000);
    h.heartbeat_all_but(&[]);
    assert!(h.controller.tick(h.now).records.is_empty());

    // When the last ISR member returns it leads again, cleanly.
    h.heartbeat(leader, epochs[leader as usize]);
    let state = h.partition(topic, 0);
    assert_eq!((state.leader, state.leader_epoch), (leader, 2));
    assert_eq!(h.controller.image().unclean_elections(), 0);
}

/// unclean.leader.election.enable (per topic): a live replica outside the ISR is elected,
/// the record says so, ISR = [leader] and the leader is recovering (KIP-704) until it says
/// otherwise through AlterPartition.
#[test]
fn unclean_election_when_enabled_for_the_topic() {
    let mut h = Harness::new(ControllerConfig::default());
    let epochs: Vec<i64> = (0..2).map(|b| h.add_broker(b)).collect();
    let request = CreateTopicRequest {
        name: "t".to_string(),
        partitions: 1,
        replication_factor: 2,
        unclean_leader_election_enable: Some(true),
    };
    let result = h.controller.create_topics(&mut h.rng, &[request]);
    let topic = h.commit(result)[0].unwrap().topic_id;
    let old = h.partition(topic, 0).leader;
    let other = 1 - old;
    let result = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![old]));
    h.commit(result).unwrap();

    h.now = ms(5_000);
    h.heartbeat_all_but(&[old]);
    h.now = ms(9_000);
    let result = h.controller.tick(h.now);
    assert_eq!(
        result.records[0],
        MetadataRecord::PartitionChange(PartitionChange {
            topic_id: topic,
            partition: 0,
            isr: vec![other],
            elr: Vec::new(),
            leader: other,
            leader_epoch: 1,
            partition_epoch: 2,
            leader_recovery: LeaderRecoveryState::Recovering,
            unclean: true,
        })
    );
    h.commit(result);
    assert_eq!(h.controller.image().unclean_elections(), 1);

    // While recovering the ISR may not grow; reporting recovery is its own change.
    h.heartbeat(old, epochs[old as usize]);
    let grow = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![other, old]));
    assert_eq!(grow.response, Err(ControllerError::InvalidRequest));
    let mut recovered = alter(&h, &epochs, topic, vec![other]);
    recovered.leader_recovery = LeaderRecoveryState::Recovered;
    let result = h.controller.alter_partition(&recovered);
    assert_eq!(
        h.commit(result).unwrap().leader_recovery,
        LeaderRecoveryState::Recovered
    );
    let grow = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![other, old]));
    assert_eq!(h.commit(grow).unwrap().isr, vec![other, old]);
}

/// Leader election on fencing prefers the first live replica of the replica list that is in
/// the ISR, and bumps leader and partition epochs exactly once.
#[test]
fn fencing_elects_the_first_live_isr_replica() {
    let (mut h, _epochs, topic) = setup(ControllerConfig::default());
    let before = h.partition(topic, 0);
    expire(&mut h, before.replicas[0]);
    let after = h.partition(topic, 0);
    assert_eq!(after.leader, before.replicas[1]);
    assert_eq!((after.leader_epoch, after.partition_epoch), (1, 1));
    expire(&mut h, before.replicas[1]);
    let after = h.partition(topic, 0);
    assert_eq!(after.leader, before.replicas[2]);
    assert_eq!(after.isr, vec![before.replicas[2]]);
    assert_eq!((after.leader_epoch, after.partition_epoch), (2, 2));
}
