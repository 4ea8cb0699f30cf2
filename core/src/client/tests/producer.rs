//! The producer against the fake cluster: batching, partitioning, retries and outcomes.

use std::collections::VecDeque;

use super::{tp, FakeCluster, Fault};
use crate::api::{ErrorCode, Request};
use crate::client::{partition_for_key, Producer, ProducerConfig, ProducerOutput, SendOutcome};
use crate::controller::BrokerId;
use crate::record::RecordBatch;
use crate::rng::SplitMix64;
use crate::time::{Duration, Instant};

pub(super) fn ms(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

/// A producer wired to the fake cluster; answers are delivered at once.
pub(super) struct Harness {
    pub(super) producer: Producer,
    pub(super) cluster: FakeCluster,
    pub(super) now: Instant,
    rng: SplitMix64,
    /// Every request sent: (time, broker, request).
    pub(super) sent: Vec<(Instant, BrokerId, Request)>,
    pub(super) completed: Vec<(u64, SendOutcome)>,
}

impl Harness {
    pub(super) fn new(config: ProducerConfig, cluster: FakeCluster) -> Harness {
        Harness {
            producer: Producer::new(config, vec![1]),
            cluster,
            now: Instant::ZERO,
            rng: SplitMix64::new(42),
            sent: Vec::new(),
            completed: Vec::new(),
        }
    }

    pub(super) fn send(&mut self, topic: &str, key: Option<&str>, value: &str, token: u64) {
        let key = key.map(|k| k.as_bytes().to_vec());
        let value = value.as_bytes().to_vec();
        self.producer
            .send(self.now, &mut self.rng, topic, key, value, 0, token);
        self.pump();
    }

    fn pump(&mut self) {
        let mut answers = VecDeque::new();
        loop {
            while let Some(output) = self.producer.poll_output() {
                match output {
                    ProducerOutput::Request { to, id, request } => {
                        if let Some(answer) = self.cluster.answer(to, &request, true) {
                            answers.push_back((id, answer));
                        }
                        self.sent.push((self.now, to, request));
                    }
                    ProducerOutput::Completed { token, outcome } => {
                        self.completed.push((token, outcome));
                    }
                }
            }
            let Some((id, answer)) = answers.pop_front() else {
                break;
            };
            self.producer.handle_response(self.now, id, answer);
        }
    }

    pub(super) fn advance_to(&mut self, until: Instant) {
        while let Some(at) = self.producer.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.producer.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    /// Per Produce sent: (time, broker, values per partition batch).
    fn produces(&self) -> Vec<(Instant, BrokerId, Vec<Vec<String>>)> {
        let produces = self
            .sent
            .iter()
            .filter_map(|(at, to, request)| match request {
                Request::Produce(produce) => Some((*at, *to, produce)),
                _ => None,
            });
        let values = |bytes: &[u8]| -> Vec<String> {
            let batch = RecordBatch::parse(bytes).unwrap();
            let records = batch.records().unwrap().into_iter();
            records
                .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
                .collect()
        };
        produces
            .map(|(at, to, p)| {
                (
                    at,
                    to,
                    p.partitions.iter().map(|(_, b)| values(b)).collect(),
                )
            })
            .collect()
    }
}

pub(super) fn ok(partition: i32, offset: i64) -> SendOutcome {
    SendOutcome::Ok { partition, offset }
}

pub(super) fn err(error: ErrorCode, definite: bool) -> SendOutcome {
    SendOutcome::Err { error, definite }
}

#[test]
fn batches_fill_to_batch_size_without_waiting_for_linger() {
    // 61 header bytes + 3 records of at most 132 bytes each: three 100-byte values per batch.
    let config = ProducerConfig {
        linger_ms: 1_000,
        batch_size: 457,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 1)]));
    let value = "x".repeat(100);
    for token in 0..7 {
        h.send("t", None, &value, token);
    }
    let counts: Vec<usize> = h.produces().iter().map(|(_, _, b)| b[0].len()).collect();
    assert_eq!(
        counts,
        [3, 3],
        "full batches go at once, the last one lingers"
    );
    let expected: Vec<(u64, SendOutcome)> = (0..6).map(|t| (t, ok(0, t as i64))).collect();
    assert_eq!(
        h.completed, expected,
        "offset = batch base offset + index in the batch"
    );
    h.advance_to(ms(999));
    assert_eq!(h.produces().len(), 2);
    h.advance_to(ms(1_000));
    assert_eq!(h.produces()[2].0, ms(1_000));
    assert_eq!(h.completed.last(), Some(&(6, ok(0, 6))));
    assert_eq!(h.producer.pending_count(), 0);
}

#[test]
fn a_batch_waits_for_linger_ms() {
    let config = ProducerConfig {
        linger_ms: 5,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 1)]));
    h.send("t", Some("k"), "a", 0);
    h.send("t", Some("k"), "b", 1);
    assert!(h.produces().is_empty());
    assert_eq!(h.producer.poll_timeout(), Some(ms(5)));
    h.advance_to(ms(5));
    let produces = h.produces();
    assert_eq!(produces.len(), 1);
    assert_eq!(produces[0].2, [vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(h.completed, [(0, ok(0, 0)), (1, ok(0, 1))]);
}

/// Keys go where Kafka's Java client puts them; keyless records stick to one partition per
/// batch and move to another once it is full (KIP-480).
#[test]
fn keyed_records_hash_and_keyless_records_stick() {
    let config = ProducerConfig {
        linger_ms: 1_000,
        batch_size: 457,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 4)]));
    let value = "x".repeat(100);
    for token in 0..6 {
        h.send("t", None, &value, token);
    }
    h.send("t", Some("foobar"), "keyed", 6);
    h.advance_to(ms(1_000));
    let partition_of = |token: u64| match h.completed.iter().find(|(t, _)| *t == token) {
        Some((_, SendOutcome::Ok { partition, .. })) => *partition,
        other => panic!("token {token}: {other:?}"),
    };
    let first = partition_of(0);
    assert!((0..3).all(|t| partition_of(t) == first));
    let second = partition_of(3);
    assert_ne!(second, first, "a new batch moves the sticky partition");
    assert!((3..6).all(|t| partition_of(t) == second));
    assert_eq!(partition_of(6), partition_for_key(b"foobar", 4));
}

#[test]
fn retry_after_not_leader_goes_to_the_new_leader() {
    let config = ProducerConfig {
        linger_ms: 5,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(2, &[("t", 1)]));
    h.send("t", None, "v", 0);
    h.cluster.elect(&tp("t", 0), 2);
    h.advance_to(ms(1_000));
    let produces = h.produces();
    let route: Vec<(Instant, BrokerId)> = produces.iter().map(|(at, to, _)| (*at, *to)).collect();
    // Refused by the old leader at 5 ms; metadata refreshed at 100 ms (the backoff after the
    // first refresh at 0); resent to the new leader after the retry backoff.
    assert_eq!(route, [(ms(5), 1), (ms(105), 2)]);
    let metadata_times: Vec<Instant> = h
        .sent
        .iter()
        .filter(|(_, _, r)| matches!(r, Request::Metadata(_)))
        .map(|(at, _, _)| *at)
        .collect();
    assert_eq!(metadata_times, [ms(0), ms(100)]);
    assert_eq!(h.completed, [(0, ok(0, 0))]);
    assert_eq!(h.cluster.values(&tp("t", 0)), ["v"]);
}

/// Runs one record against `faults` and returns its outcome and what the log holds.
fn outcome_with(retries: i32, faults: &[Fault]) -> (SendOutcome, Vec<String>) {
    let config = ProducerConfig {
        linger_ms: 0,
        retries,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 1)]));
    h.cluster.produce_faults.extend(faults.iter().copied());
    h.send("t", None, "v", 7);
    h.advance_to(ms(200_000));
    assert_eq!(h.completed.len(), 1, "exactly one outcome");
    assert_eq!(h.completed[0].0, 7);
    (h.completed[0].1.clone(), h.cluster.values(&tp("t", 0)))
}

#[test]
fn outcomes_are_definite_only_when_nothing_can_have_been_appended() {
    let refused = Fault::Error(ErrorCode::NotEnoughReplicas);
    assert_eq!(
        outcome_with(0, &[refused]),
        (err(ErrorCode::NotEnoughReplicas, true), vec![])
    );
    let after = Fault::AppendThenError(ErrorCode::NotEnoughReplicasAfterAppend);
    let (outcome, log) = outcome_with(0, &[after]);
    assert_eq!(outcome, err(ErrorCode::NotEnoughReplicasAfterAppend, false));
    assert_eq!(log, ["v"]);
    let (outcome, log) = outcome_with(0, &[Fault::AppendThenDisconnect]);
    assert_eq!(outcome, err(ErrorCode::RequestTimedOut, false));
    assert_eq!(log, ["v"]);
    // Lost without an answer: the request times out, and nothing says it did not land.
    let (outcome, log) = outcome_with(0, &[Fault::BlackHole]);
    assert_eq!(outcome, err(ErrorCode::RequestTimedOut, false));
    assert!(log.is_empty());
    // An earlier attempt that may have landed makes a later definite refusal indefinite.
    let (outcome, log) = outcome_with(1, &[Fault::AppendThenDisconnect, refused]);
    assert_eq!(outcome, err(ErrorCode::NotEnoughReplicas, false));
    assert_eq!(log, ["v"]);
    // Retriable refusals are retried until they stop.
    assert_eq!(
        outcome_with(i32::MAX, &[refused, refused]),
        (ok(0, 0), vec!["v".into()])
    );
    // Not retriable: fails at once, definitely.
    let too_large = Fault::Error(ErrorCode::MessageTooLarge);
    assert_eq!(
        outcome_with(i32::MAX, &[too_large]).0,
        err(ErrorCode::MessageTooLarge, true)
    );
}

#[test]
fn an_unknown_topic_fails_definitely_at_the_delivery_timeout() {
    let mut h = Harness::new(ProducerConfig::default(), FakeCluster::new(1, &[("t", 1)]));
    h.send("nope", None, "v", 3);
    h.advance_to(ms(119_999));
    assert!(h.completed.is_empty());
    h.advance_to(ms(120_000));
    assert_eq!(
        h.completed,
        [(3, err(ErrorCode::UnknownTopicOrPartition, true))]
    );
    assert!(h.produces().is_empty());
}

#[test]
fn an_explicit_partition_the_topic_lacks_fails_definitely() {
    let mut h = Harness::new(ProducerConfig::default(), FakeCluster::new(1, &[("t", 2)]));
    let now = h.now;
    h.producer
        .send_to_partition(now, "t", 1, None, b"a".to_vec(), 0, 0);
    h.producer
        .send_to_partition(now, "t", 2, None, b"b".to_vec(), 0, 1);
    h.pump();
    h.advance_to(ms(10));
    assert_eq!(
        h.completed,
        [
            (1, err(ErrorCode::UnknownTopicOrPartition, true)),
            (0, ok(1, 0))
        ]
    );
}

#[test]
fn acks_zero_completes_with_offset_minus_one_without_an_answer() {
    let config = ProducerConfig {
        acks: 0,
        linger_ms: 0,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 1)]));
    h.send("t", None, "v", 0);
    assert_eq!(h.completed, [(0, ok(0, -1))]);
    assert_eq!(h.cluster.values(&tp("t", 0)), ["v"]);
    assert_eq!(h.producer.pending_count(), 0);
}

/// max.in.flight = 1 per partition: a later batch waits until the earlier one is done, so a
/// retry cannot be overtaken.
#[test]
fn one_produce_in_flight_per_partition() {
    let config = ProducerConfig {
        linger_ms: 0,
        ..Default::default()
    };
    let mut h = Harness::new(config, FakeCluster::new(1, &[("t", 1)]));
    h.cluster.produce_faults.push_back(Fault::BlackHole);
    h.send("t", None, "a", 0);
    h.send("t", None, "b", 1);
    assert_eq!(h.produces().len(), 1);
    h.advance_to(ms(60_000));
    let batches: Vec<(Instant, Vec<Vec<String>>)> =
        h.produces().into_iter().map(|(at, _, b)| (at, b)).collect();
    let one = |v: &str| vec![vec![v.to_string()]];
    assert_eq!(
        batches,
        [
            (ms(0), one("a")),
            (ms(30_100), one("a")),
            (ms(30_100), one("b"))
        ]
    );
    assert_eq!(h.completed, [(0, ok(0, 0)), (1, ok(0, 1))]);
    assert_eq!(h.cluster.values(&tp("t", 0)), ["a", "b"]);
}
