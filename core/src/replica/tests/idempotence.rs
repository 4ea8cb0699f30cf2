//! The idempotent producer on the replicas (KIP-98): sequence checks on the leader, the
//! producers' state on every replica, across failover, reopen and truncation.

use super::*;

/// A batch of producer `pid` at `epoch` whose first record has sequence `seq`.
fn idempotent(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None).producer(pid, epoch, seq);
    for value in values {
        builder.append(1_000, None, Some(value.as_bytes()), &[]);
    }
    builder.build()
}

impl Cluster {
    fn produce_batch(&mut self, to: BrokerId, acks: i16, batch: Vec<u8>) -> u64 {
        let request = Request::Produce(ProduceRequest {
            acks,
            timeout_ms: 30_000,
            partitions: vec![(tp(), batch.into())],
        });
        self.request(to, request)
    }

    /// The answer's error and base offset.
    fn produce_answer(&self, client: u64) -> Option<(ErrorCode, i64)> {
        match self.answer(client)? {
            Response::Produce(r) => Some((r.partitions[0].error, r.partitions[0].base_offset)),
            other => panic!("{other:?}"),
        }
    }

    fn restart(&mut self, broker: BrokerId) {
        let config = self.nodes[broker as usize].manager.config().clone();
        let mut manager = ReplicaManager::new(broker, config);
        manager.set_broker_epoch(i64::from(broker) + 1);
        self.nodes[broker as usize].manager = manager;
        self.push_roles();
    }
}

#[test]
fn a_retry_on_the_new_leader_gets_the_original_offset_and_no_second_copy() {
    let mut cluster = Cluster::new(3, 2);
    let first = cluster.produce(0, -1, &["plain"]);
    let sent = cluster.produce_batch(0, -1, idempotent(5, 0, 0, &["a", "b"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(first), Some((ErrorCode::None, 0)));
    assert_eq!(cluster.produce_answer(sent), Some((ErrorCode::None, 1)));
    // The answer was lost and the leader died: the producer retries on the new leader, which
    // learnt the batch as a follower. Kafka answers NONE with the original offsets.
    cluster.nodes[0].cut = true;
    cluster.change(1, vec![1, 2]);
    let retry = cluster.produce_batch(1, -1, idempotent(5, 0, 0, &["a", "b"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(retry), Some((ErrorCode::None, 1)));
    assert_eq!(cluster.values(1), ["plain", "a", "b"]);
    assert_eq!(cluster.nodes[1].manager.stats().duplicate_batches, 1);
    // The next batch follows on.
    let next = cluster.produce_batch(1, -1, idempotent(5, 0, 2, &["c"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(next), Some((ErrorCode::None, 3)));
    assert_eq!(cluster.values(2), ["plain", "a", "b", "c"]);
}

#[test]
fn a_sequence_gap_is_refused_and_nothing_is_appended() {
    let mut cluster = Cluster::new(3, 1);
    let first = cluster.produce_batch(0, 1, idempotent(5, 0, 0, &["a"]));
    assert_eq!(cluster.produce_answer(first), Some((ErrorCode::None, 0)));
    let gap = cluster.produce_batch(0, 1, idempotent(5, 0, 2, &["c"]));
    let gap_answer = cluster.produce_answer(gap);
    assert_eq!(gap_answer, Some((ErrorCode::OutOfOrderSequenceNumber, -1)));
    // A new epoch must start at 0.
    let bumped = cluster.produce_batch(0, 1, idempotent(5, 1, 1, &["d"]));
    let bumped_answer = cluster.produce_answer(bumped);
    assert_eq!(
        bumped_answer,
        Some((ErrorCode::OutOfOrderSequenceNumber, -1))
    );
    assert_eq!(cluster.values(0), ["a"]);
    // An unknown producer may start anywhere (KIP-360: no UNKNOWN_PRODUCER_ID).
    let other = cluster.produce_batch(0, 1, idempotent(6, 3, 17, &["x"]));
    assert_eq!(cluster.produce_answer(other), Some((ErrorCode::None, 1)));
}

#[test]
fn a_fenced_producer_epoch_is_refused() {
    let mut cluster = Cluster::new(3, 1);
    let old = cluster.produce_batch(0, 1, idempotent(5, 0, 0, &["a"]));
    assert_eq!(cluster.produce_answer(old), Some((ErrorCode::None, 0)));
    let new = cluster.produce_batch(0, 1, idempotent(5, 1, 0, &["b"]));
    assert_eq!(cluster.produce_answer(new), Some((ErrorCode::None, 1)));
    let zombie = cluster.produce_batch(0, 1, idempotent(5, 0, 1, &["z"]));
    let zombie_answer = cluster.produce_answer(zombie);
    assert_eq!(zombie_answer, Some((ErrorCode::InvalidProducerEpoch, -1)));
    // Even an exact repeat of the old epoch's batch: the epoch moved on.
    let repeat = cluster.produce_batch(0, 1, idempotent(5, 0, 0, &["a"]));
    let repeat_answer = cluster.produce_answer(repeat);
    assert_eq!(repeat_answer, Some((ErrorCode::InvalidProducerEpoch, -1)));
    assert_eq!(cluster.values(0), ["a", "b"]);
}

#[test]
fn producer_state_survives_a_reopen() {
    let mut cluster = Cluster::new(3, 2);
    let sent = cluster.produce_batch(0, -1, idempotent(5, 0, 0, &["a"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(sent), Some((ErrorCode::None, 0)));
    cluster.change(1, vec![0, 1, 2]);
    cluster.restart(0);
    assert!(cluster.nodes[0].manager.partitions[&(TOPIC_ID, 0)]
        .producers
        .producer(5)
        .is_some());
    cluster.run(2_000);
    cluster.change(0, vec![0, 1, 2]);
    let retry = cluster.produce_batch(0, -1, idempotent(5, 0, 0, &["a"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(retry), Some((ErrorCode::None, 0)));
    assert_eq!(cluster.values(0), ["a"]);
}

#[test]
fn producer_state_follows_a_truncation() {
    let mut cluster = Cluster::new(3, 1);
    let first = cluster.produce_batch(0, -1, idempotent(5, 0, 0, &["a"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(first), Some((ErrorCode::None, 0)));
    // The cut-off leader appends the next batch alone; it never reaches anyone else.
    cluster.nodes[0].cut = true;
    let lost = cluster.produce_batch(0, 1, idempotent(5, 0, 1, &["b"]));
    assert_eq!(cluster.produce_answer(lost), Some((ErrorCode::None, 1)));
    cluster.change(1, vec![1, 2]);
    let plain = cluster.produce(1, -1, &["x"]);
    let retry = cluster.produce_batch(1, -1, idempotent(5, 0, 1, &["b"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(plain), Some((ErrorCode::None, 1)));
    assert_eq!(cluster.produce_answer(retry), Some((ErrorCode::None, 2)));
    // Broker 0 comes back, truncates its "b" at 1 and fetches "x" and "b".
    cluster.nodes[0].cut = false;
    cluster.run(3_000);
    assert_eq!(cluster.values(0), ["a", "x", "b"]);
    let entry = cluster.nodes[0].manager.partitions[&(TOPIC_ID, 0)]
        .producers
        .producer(5)
        .unwrap()
        .clone();
    let offsets: Vec<i64> = entry.batches.iter().map(|b| b.first_offset).collect();
    assert_eq!(offsets, [0, 2], "the truncated batch is forgotten");
    // Leading again, it answers the retry with the surviving copy's offset.
    cluster.change(0, vec![0, 1, 2]);
    let again = cluster.produce_batch(0, -1, idempotent(5, 0, 1, &["b"]));
    cluster.run(2_000);
    assert_eq!(cluster.produce_answer(again), Some((ErrorCode::None, 2)));
    assert_eq!(cluster.values(0), ["a", "x", "b"]);
}
