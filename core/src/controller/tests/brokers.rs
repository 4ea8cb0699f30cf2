//! Broker registration, heartbeats, leases, fencing and controlled shutdown (KIP-631).

use super::*;

fn registration(broker_id: BrokerId, incarnation: u128) -> RegisterBrokerRequest {
    RegisterBrokerRequest {
        broker_id,
        incarnation_id: Uuid(incarnation),
        listeners: Vec::new(),
        rack: Some("rack-a".to_string()),
        previous_broker_epoch: -1,
    }
}

fn beat(broker_id: BrokerId, broker_epoch: i64, caught_up: bool) -> HeartbeatRequest {
    HeartbeatRequest {
        broker_id,
        broker_epoch,
        caught_up,
        want_fence: false,
        want_shutdown: false,
    }
}

/// KIP-631: a registration gets a new broker epoch and starts fenced; a heartbeat unfences it
/// only once the broker says it caught up with the metadata log.
#[test]
fn registration_starts_fenced_until_caught_up() {
    let mut h = Harness::new(ControllerConfig::default());
    let result = h.controller.register_broker(h.now, &registration(1, 7));
    assert_eq!(
        result.records,
        vec![MetadataRecord::RegisterBroker(RegisterBroker {
            broker_id: 1,
            incarnation_id: Uuid(7),
            broker_epoch: 1,
            listeners: Vec::new(),
            rack: Some("rack-a".to_string()),
            fenced: true,
        })]
    );
    assert_eq!(h.commit(result), Ok(1));

    let behind = h.controller.broker_heartbeat(h.now, &beat(1, 1, false));
    assert!(behind.records.is_empty());
    let reply = h.commit(behind).unwrap();
    assert!(reply.is_fenced);
    assert!(!reply.is_caught_up);

    let caught_up = h.controller.broker_heartbeat(h.now, &beat(1, 1, true));
    assert_eq!(
        caught_up.records,
        vec![MetadataRecord::UnfenceBroker {
            broker_id: 1,
            broker_epoch: 1
        }]
    );
    assert!(!h.commit(caught_up).unwrap().is_fenced);
    assert!(h.controller.image().is_active_broker(1));
}

/// KIP-631: heartbeats with an unknown broker or an old broker epoch are refused.
#[test]
fn heartbeats_check_the_broker_epoch() {
    let mut h = Harness::new(ControllerConfig::default());
    let epoch = h.add_broker(1);
    let unknown = h.controller.broker_heartbeat(h.now, &beat(2, epoch, true));
    assert_eq!(
        unknown.response,
        Err(ControllerError::BrokerIdNotRegistered)
    );
    let stale = h
        .controller
        .broker_heartbeat(h.now, &beat(1, epoch - 1, true));
    assert_eq!(stale.response, Err(ControllerError::StaleBrokerEpoch));
    assert!(stale.records.is_empty());
    assert_eq!(ControllerError::StaleBrokerEpoch.code(), 77);
}

/// KIP-631: another incarnation of a broker id is refused while the old one holds a live
/// lease, and accepted (with a new epoch, fenced) once the lease lapsed.
#[test]
fn duplicate_registration_waits_for_the_lease() {
    let mut h = Harness::new(ControllerConfig::default());
    let result = h.controller.register_broker(h.now, &registration(1, 7));
    h.commit(result).unwrap();
    h.now = ms(8_999);
    let early = h.controller.register_broker(h.now, &registration(1, 8));
    assert_eq!(
        early.response,
        Err(ControllerError::DuplicateBrokerRegistration)
    );
    // The same incarnation retrying is not a duplicate.
    let retry = h.controller.register_broker(h.now, &registration(1, 7));
    assert_eq!(h.commit(retry), Ok(2));
    h.now = ms(8_999 + 9_000);
    let late = h.controller.register_broker(h.now, &registration(1, 8));
    assert_eq!(h.commit(late), Ok(3));
    assert_eq!(
        h.controller.image().broker(1).unwrap().incarnation_id,
        Uuid(8)
    );
}

/// KIP-631: a broker whose lease (broker.session.timeout.ms) lapses is fenced, its
/// leaderships move to another ISR member first, and it comes back unfenced but outside the
/// ISR once it heartbeats caught up.
#[test]
fn lease_expiry_fences_then_heartbeat_unfences() {
    let mut h = Harness::new(ControllerConfig::default());
    let epochs: Vec<i64> = (0..3).map(|b| h.add_broker(b)).collect();
    let topic = h.create("t", 1, 3);
    let before = h.partition(topic, 0);
    let victim = before.leader;

    h.now = ms(8_999);
    h.heartbeat_all_but(&[victim]);
    assert!(h.controller.tick(h.now).records.is_empty());
    assert_eq!(h.controller.poll_timeout(), Some(ms(9_000)));
    h.now = ms(9_000);
    let result = h.controller.tick(h.now);
    let isr: Vec<BrokerId> = before
        .isr
        .iter()
        .copied()
        .filter(|b| *b != victim)
        .collect();
    let new_leader = before
        .replicas
        .iter()
        .copied()
        .find(|b| *b != victim)
        .unwrap();
    assert_eq!(
        result.records,
        vec![
            MetadataRecord::PartitionChange(PartitionChange {
                topic_id: topic,
                partition: 0,
                isr,
                elr: Vec::new(),
                leader: new_leader,
                leader_epoch: 1,
                partition_epoch: 1,
                leader_recovery: LeaderRecoveryState::Recovered,
                unclean: false,
            }),
            MetadataRecord::FenceBroker {
                broker_id: victim,
                broker_epoch: epochs[victim as usize],
            },
        ]
    );
    h.commit(result);
    assert!(h.controller.image().broker(victim).unwrap().fenced);
    // A fenced broker's lease no longer matters; the others' still do.
    assert_eq!(h.controller.poll_timeout(), Some(ms(8_999 + 9_000)));

    assert!(!h.heartbeat(victim, epochs[victim as usize]).is_fenced);
    let after = h.partition(topic, 0);
    assert_eq!(after.leader, new_leader);
    assert!(
        !after.isr.contains(&victim),
        "rejoining the ISR is the leader's call"
    );
}

/// KIP-631: a newly elected controller gives every registered broker a fresh lease.
#[test]
fn a_new_controller_grants_fresh_leases() {
    let mut h = Harness::new(ControllerConfig::default());
    h.add_broker(1);
    let image = h.controller.clone().into_image();
    let mut next = QuorumController::new(ControllerConfig::default(), image, ms(60_000));
    assert!(next.tick(ms(68_999)).records.is_empty());
    let fenced = next.tick(ms(69_000));
    assert_eq!(
        fenced.records,
        vec![MetadataRecord::FenceBroker {
            broker_id: 1,
            broker_epoch: 1
        }]
    );
}

/// KIP-631: a broker asking to be fenced is fenced, and its leaderships move first.
#[test]
fn want_fence_fences() {
    let mut h = Harness::new(ControllerConfig::default());
    let epoch = h.add_broker(0);
    h.add_broker(1);
    let mut request = beat(0, epoch, true);
    request.want_fence = true;
    let result = h.controller.broker_heartbeat(h.now, &request);
    assert_eq!(
        result.records.last(),
        Some(&MetadataRecord::FenceBroker {
            broker_id: 0,
            broker_epoch: epoch
        })
    );
    assert!(h.commit(result).unwrap().is_fenced);
}

/// Controlled shutdown (KIP-631): the broker is marked shutting down, every leadership and
/// ISR membership moves away, and only then is it fenced and told it may stop.
#[test]
fn controlled_shutdown_moves_leadership_away_first() {
    let mut h = Harness::new(ControllerConfig::default());
    let epochs: Vec<i64> = (0..3).map(|b| h.add_broker(b)).collect();
    let topic = h.create("t", 6, 2);
    let led: Vec<i32> = (0..6)
        .filter(|p| h.partition(topic, *p).leader == 0)
        .collect();
    assert!(!led.is_empty());

    let result = h.controller.controlled_shutdown(h.now, 0, epochs[0]);
    assert_eq!(
        result.records.first(),
        Some(&MetadataRecord::BeginControlledShutdown {
            broker_id: 0,
            broker_epoch: epochs[0]
        })
    );
    assert_eq!(
        result.records.last(),
        Some(&MetadataRecord::FenceBroker {
            broker_id: 0,
            broker_epoch: epochs[0]
        })
    );
    assert_eq!(h.commit(result), Ok(true));
    for p in 0..6 {
        let state = h.partition(topic, p);
        assert_ne!(state.leader, 0);
        assert!(!state.isr.contains(&0));
        if led.contains(&p) {
            assert_eq!(state.leader_epoch, 1);
        }
    }
    // A broker that shut down stays fenced until it registers again.
    let stays = h
        .controller
        .broker_heartbeat(h.now, &beat(0, epochs[0], true));
    assert!(stays.records.is_empty());
    assert!(h.commit(stays).unwrap().is_fenced);
}

/// KIP-730: producer-id blocks never overlap.
#[test]
fn producer_id_blocks_advance() {
    let mut h = Harness::new(ControllerConfig::default());
    let epoch = h.add_broker(1);
    let first = h.controller.allocate_producer_ids(1, epoch);
    assert_eq!(h.commit(first), Ok((0, PRODUCER_ID_BLOCK_SIZE)));
    let second = h.controller.allocate_producer_ids(1, epoch);
    assert_eq!(
        h.commit(second),
        Ok((PRODUCER_ID_BLOCK_SIZE, PRODUCER_ID_BLOCK_SIZE))
    );
    let stale = h.controller.allocate_producer_ids(1, epoch + 1);
    assert_eq!(stale.response, Err(ControllerError::StaleBrokerEpoch));
}

/// KIP-631: unregistering moves leaderships away, then removes the broker.
#[test]
fn unregister_removes_the_broker() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..2).for_each(|b| {
        h.add_broker(b);
    });
    let topic = h.create("t", 2, 2);
    let result = h.controller.unregister_broker(1);
    h.commit(result).unwrap();
    assert!(h.controller.image().broker(1).is_none());
    for p in 0..2 {
        assert_eq!(h.partition(topic, p).leader, 0);
    }
    let again = h.controller.unregister_broker(1);
    assert_eq!(again.response, Err(ControllerError::BrokerIdNotRegistered));
}
