//! InitProducerId on whole nodes: ids come in blocks from the active controller (KIP-730) and
//! stay unique across brokers, restarts and controller failovers.

use std::collections::BTreeSet;

use super::*;
use crate::api::{ErrorCode, InitProducerIdRequest};
use crate::controller::PRODUCER_ID_BLOCK_SIZE;

fn init_producer_id(harness: &mut Harness, index: usize) -> i64 {
    let request = Request::InitProducerId(InitProducerIdRequest::idempotent());
    let Response::InitProducerId(answer) = harness.call(index, request) else {
        panic!("not an InitProducerId answer");
    };
    assert_eq!(answer.error, ErrorCode::None, "{answer:?}");
    // Without a transactional id Kafka always hands out a fresh id at epoch 0.
    assert_eq!(answer.producer_epoch, 0);
    answer.producer_id
}

#[test]
fn producer_ids_are_unique_across_brokers_restarts_and_controller_failover() {
    let mut harness = Harness::new(combined_configs(3, 3), 21);
    let limit = Duration::from_secs(30);
    harness.run_until(limit, "all unfenced", |h| (0..3).all(|i| h.unfenced(i)));
    let mut seen = BTreeSet::new();
    let mut blocks = BTreeSet::new();
    for index in [0, 1, 2, 0, 1, 2] {
        let id = init_producer_id(&mut harness, index);
        assert!(seen.insert(id), "id {id} handed out twice");
        blocks.insert((index, id / PRODUCER_ID_BLOCK_SIZE));
    }
    // One block per broker, consecutive ids within it.
    assert_eq!(blocks.len(), 3);
    // The active controller dies; a new one takes over and the restarted broker, whose
    // block died with its memory, gets a fresh one from it.
    let active = (0..3)
        .find(|&i| harness.node(i).is_active_controller())
        .unwrap();
    harness.stop(active);
    harness.run_until(limit, "a new controller", |h| {
        (0..3).any(|i| h.nodes[i].as_ref().is_some_and(Node::is_active_controller))
    });
    harness.start(active, true);
    harness.run_until(limit, "all unfenced", |h| (0..3).all(|i| h.unfenced(i)));
    for index in [active, (active + 1) % 3, active] {
        let id = init_producer_id(&mut harness, index);
        assert!(seen.insert(id), "id {id} handed out twice");
    }
}

#[test]
fn a_transactional_id_is_refused_without_a_coordinator() {
    let mut harness = Harness::new(combined_configs(1, 1), 22);
    harness.run_until(Duration::from_secs(30), "unfenced", |h| h.unfenced(0));
    let mut request = InitProducerIdRequest::idempotent();
    request.transactional_id = Some("tx".to_string());
    let Response::InitProducerId(answer) = harness.call(0, Request::InitProducerId(request)) else {
        panic!("not an InitProducerId answer");
    };
    assert_eq!(answer.error, ErrorCode::UnsupportedVersion);
    assert_eq!(init_producer_id(&mut harness, 0), 0);
}
