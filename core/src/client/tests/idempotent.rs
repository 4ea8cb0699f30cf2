//! The idempotent producer against the fake cluster, whose leaders check sequences as real
//! ones do (KIP-98).

use super::producer::{err, ms, ok, Harness};
use super::{tp, FakeCluster, Fault};
use crate::api::{ErrorCode, Request};
use crate::client::ProducerConfig;
use crate::record::BatchHeader;

fn idempotent() -> ProducerConfig {
    ProducerConfig {
        linger_ms: 0,
        enable_idempotence: true,
        ..Default::default()
    }
}

/// (producer id, epoch, first sequence) of every produced batch, in send order.
fn stamps(h: &Harness) -> Vec<(i64, i16, i32)> {
    let batches = h.sent.iter().filter_map(|(_, _, request)| match request {
        Request::Produce(produce) => Some(produce.partitions.iter()),
        _ => None,
    });
    batches
        .flatten()
        .map(|(_, bytes)| {
            let header = BatchHeader::parse(bytes).unwrap();
            (
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
            )
        })
        .collect()
}

#[test]
fn init_producer_id_comes_first_and_sequences_advance_per_partition() {
    let mut cluster = FakeCluster::new(1, &[("t", 2)]);
    cluster.next_producer_id = 40;
    // The broker has no id block yet: the producer asks again after the backoff.
    cluster
        .init_faults
        .push_back(ErrorCode::CoordinatorLoadInProgress);
    let mut h = Harness::new(idempotent(), cluster);
    h.send("t", Some("a"), "1", 0);
    h.advance_to(ms(50));
    assert!(stamps(&h).is_empty(), "no batch before the producer id");
    h.advance_to(ms(500));
    for (token, value) in [(1, "2"), (2, "3")] {
        h.send("t", Some("a"), value, token);
        h.advance_to(h.now + crate::time::Duration::from_millis(10));
    }
    let inits = h
        .sent
        .iter()
        .filter(|(_, _, r)| matches!(r, Request::InitProducerId(_)));
    assert_eq!(inits.count(), 2);
    assert_eq!(stamps(&h), [(40, 0, 0), (40, 0, 1), (40, 0, 2)]);
    assert_eq!(h.completed.len(), 3);
}

#[test]
fn a_retry_after_a_lost_answer_is_appended_once_with_its_original_offset() {
    let mut h = Harness::new(idempotent(), FakeCluster::new(1, &[("t", 1)]));
    h.cluster.append(&tp("t", 0), &["before"]);
    h.cluster
        .produce_faults
        .push_back(Fault::AppendThenDisconnect);
    h.send("t", None, "v", 7);
    h.advance_to(ms(5_000));
    // Two attempts of the same batch, same sequence; the leader kept one copy.
    assert_eq!(stamps(&h), [(0, 0, 0), (0, 0, 0)]);
    assert_eq!(h.cluster.values(&tp("t", 0)), ["before", "v"]);
    assert_eq!(h.completed, [(7, ok(0, 1))]);
}

#[test]
fn a_sequence_error_fails_the_batch_and_the_next_starts_a_new_epoch() {
    let mut h = Harness::new(idempotent(), FakeCluster::new(1, &[("t", 1)]));
    h.send("t", None, "a", 0);
    h.advance_to(ms(100));
    h.cluster
        .produce_faults
        .push_back(Fault::Error(ErrorCode::OutOfOrderSequenceNumber));
    h.send("t", None, "b", 1);
    h.advance_to(ms(200));
    h.send("t", None, "c", 2);
    h.advance_to(ms(300));
    assert_eq!(stamps(&h), [(0, 0, 0), (0, 0, 1), (0, 1, 0)]);
    let refused = err(ErrorCode::OutOfOrderSequenceNumber, true);
    assert_eq!(h.completed, [(0, ok(0, 0)), (1, refused), (2, ok(0, 1))]);
    assert_eq!(h.cluster.values(&tp("t", 0)), ["a", "c"]);
}

#[test]
fn a_batch_given_up_after_it_was_sent_moves_to_a_new_epoch() {
    let config = ProducerConfig {
        retries: 0,
        ..idempotent()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 1)]));
    // Lost without an answer: its sequence may or may not be in the log.
    h.cluster.produce_faults.push_back(Fault::BlackHole);
    h.send("t", None, "a", 0);
    h.advance_to(ms(60_000));
    h.send("t", None, "b", 1);
    h.advance_to(ms(61_000));
    assert_eq!(stamps(&h), [(0, 0, 0), (0, 1, 0)]);
    assert_eq!(h.completed[0], (0, err(ErrorCode::RequestTimedOut, false)));
    assert_eq!(h.completed[1], (1, ok(0, 0)));
}
