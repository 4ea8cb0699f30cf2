//! KIP-966: eligible leader replicas, and brokers back from an unclean shutdown.

use super::partitions::{alter, expire, setup};
use super::*;

fn min_isr_two() -> ControllerConfig {
    ControllerConfig {
        min_insync_replicas: 2,
        ..ControllerConfig::default()
    }
}

/// A new process of `broker` registers; `previous` is its PreviousBrokerEpoch.
fn reregister(h: &mut Harness, broker: BrokerId, previous: i64) -> i64 {
    let request = RegisterBrokerRequest {
        broker_id: broker,
        incarnation_id: Uuid::random(&mut h.rng),
        listeners: Vec::new(),
        rack: None,
        previous_broker_epoch: previous,
    };
    let result = h.controller.register_broker(h.now, &request);
    let epoch = h.commit(result).expect("registration");
    h.heartbeat(broker, epoch);
    epoch
}

/// The leader and the two followers of partition 0, in replica order.
fn roles(h: &Harness, topic: Uuid) -> (BrokerId, BrokerId, BrokerId) {
    let state = h.partition(topic, 0);
    let others: Vec<BrokerId> = state
        .replicas
        .iter()
        .copied()
        .filter(|b| *b != state.leader)
        .collect();
    (state.leader, others[0], others[1])
}

/// The ISR shrinks to its leader one fencing at a time: the member that left while the ISR
/// still met min.insync.replicas is not eligible, the one whose leaving took it below is, and
/// once the leader is fenced too that eligible replica leads when it returns.
#[test]
fn a_replica_that_left_below_min_isr_leads_when_the_isr_cannot() {
    let (mut h, epochs, topic) = setup(min_isr_two());
    let (leader, first, second) = roles(&h, topic);
    expire(&mut h, first);
    let state = h.partition(topic, 0);
    assert_eq!((state.isr.len(), state.elr.clone()), (2, vec![]));
    expire(&mut h, second);
    let state = h.partition(topic, 0);
    assert_eq!(
        (state.isr.clone(), state.elr.clone()),
        (vec![leader], vec![second])
    );
    expire(&mut h, leader);
    let state = h.partition(topic, 0);
    assert_eq!(state.leader, NO_LEADER);
    assert_eq!(
        (state.isr.clone(), state.elr.clone()),
        (vec![leader], vec![second])
    );

    // `first` left while the ISR met min ISR: the HW may have passed it, so it may not lead.
    h.heartbeat(first, epochs[first as usize]);
    assert_eq!(h.partition(topic, 0).leader, NO_LEADER);
    h.heartbeat(second, epochs[second as usize]);
    let state = h.partition(topic, 0);
    assert_eq!(state.leader, second);
    assert_eq!(
        (state.isr.clone(), state.elr.clone()),
        (vec![second], vec![leader])
    );
    assert_eq!(h.controller.image().unclean_elections(), 0);
}

/// A broker back from an unclean shutdown leaves the ISR even as its last member, and the
/// ELR: it may have lost acknowledged records. With nobody eligible left the partition stays
/// leaderless rather than elect a replica that may lack committed records.
#[test]
fn an_unclean_restart_leaves_the_isr_and_the_elr() {
    let (mut h, _, topic) = setup(min_isr_two());
    let (leader, first, second) = roles(&h, topic);
    expire(&mut h, first);
    expire(&mut h, second);
    expire(&mut h, leader);
    reregister(&mut h, leader, -1);
    let state = h.partition(topic, 0);
    assert_eq!(state.leader, NO_LEADER);
    assert_eq!(
        (state.isr.clone(), state.elr.clone()),
        (vec![], vec![second])
    );

    reregister(&mut h, second, -1);
    let state = h.partition(topic, 0);
    assert_eq!(state.leader, NO_LEADER);
    assert_eq!((state.isr.clone(), state.elr.clone()), (vec![], vec![]));
    reregister(&mut h, first, -1);
    assert_eq!(h.partition(topic, 0).leader, NO_LEADER);
}

/// An operator turning `unclean.leader.election.enable` on for a topic whose replicas all came
/// back from unclean shutdowns gets its leaderless partitions a leader in the same decision,
/// as Kafka's controller elects them when the setting changes (the periodic tick alone would
/// wait for a broker's lease to lapse).
#[test]
fn enabling_unclean_election_elects_the_leaderless_partitions_at_once() {
    use crate::api::{
        resource_type, AdminRequest, AlterConfigOp, AlterConfigsRequest, AlterConfigsResource,
        ConfigResource,
    };
    let (mut h, _, topic) = setup(min_isr_two());
    let (leader, first, second) = roles(&h, topic);
    for broker in [first, second, leader] {
        expire(&mut h, broker);
    }
    for broker in [leader, second, first] {
        reregister(&mut h, broker, -1);
    }
    assert_eq!(h.partition(topic, 0).leader, NO_LEADER);
    let enable = AdminRequest::AlterConfigs(AlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource: ConfigResource {
                resource_type: resource_type::TOPIC,
                name: h.controller.image().topic(topic).unwrap().name.clone(),
            },
            ops: vec![(
                "unclean.leader.election.enable".to_string(),
                AlterConfigOp::Set,
                Some("true".to_string()),
            )],
        }],
        validate_only: false,
        incremental: true,
    });
    let result = h.controller.admin(&mut h.rng, &enable);
    h.commit(result);
    let state = h.partition(topic, 0);
    assert_ne!(state.leader, NO_LEADER, "{state:?}");
    assert_eq!(state.isr, vec![state.leader]);
    assert_eq!(h.controller.image().unclean_elections(), 1);
}

/// A broker whose PreviousBrokerEpoch matches its last registration lost nothing: as the
/// last ISR member it leads again when it returns.
#[test]
fn a_clean_restart_keeps_the_last_isr_member_eligible() {
    let (mut h, epochs, topic) = setup(min_isr_two());
    let (leader, first, second) = roles(&h, topic);
    expire(&mut h, first);
    expire(&mut h, second);
    expire(&mut h, leader);
    reregister(&mut h, leader, epochs[leader as usize]);
    let state = h.partition(topic, 0);
    assert_eq!(state.leader, leader);
    assert_eq!(
        (state.isr.clone(), state.elr.clone()),
        (vec![leader], vec![second])
    );
}

/// AlterPartition: a shrink below min.insync.replicas makes the removed members eligible; an
/// expansion back to min.insync.replicas empties the ELR.
#[test]
fn alter_partition_keeps_the_elr() {
    let (mut h, epochs, topic) = setup(min_isr_two());
    let (leader, first, second) = roles(&h, topic);
    let shrink = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![leader]));
    h.commit(shrink).unwrap();
    let mut elr = h.partition(topic, 0).elr;
    elr.sort_unstable();
    let mut expected = vec![first, second];
    expected.sort_unstable();
    assert_eq!(elr, expected);
    let expand = h
        .controller
        .alter_partition(&alter(&h, &epochs, topic, vec![leader, first]));
    h.commit(expand).unwrap();
    assert_eq!(h.partition(topic, 0).elr, Vec::<BrokerId>::new());
}
