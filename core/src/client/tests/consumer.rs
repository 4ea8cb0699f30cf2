//! The consumer against the fake cluster: positions, resets and truncation detection.

use std::collections::VecDeque;

use super::{tp, FakeCluster};
use crate::api::{Request, Response, TopicPartition, EARLIEST_TIMESTAMP};
use crate::client::{
    ConsumedRecord, Consumer, ConsumerConfig, ConsumerError, ConsumerOutput, Disconnected,
    OffsetResetPolicy, ResetReason,
};
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

fn ms(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

/// What the consumer reported, without the requests: (offset, epoch, value) for records.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Records(Vec<(i64, i32, String)>),
    Reset(i64, ResetReason),
    Truncated { position: i64, new_offset: i64 },
    Error(ConsumerError),
}

type Answers = VecDeque<(u64, Result<Response, Disconnected>)>;

/// How long the fake holds a fetch with nothing to return (`fetch.max.wait.ms`).
const FETCH_WAIT: Duration = Duration::from_millis(500);

/// A consumer wired to the fake cluster. A fetch with nothing to return is parked and asked
/// again at every pump, then answered empty after [`FETCH_WAIT`], as a broker holds a long poll.
struct Harness {
    consumer: Consumer,
    cluster: FakeCluster,
    now: Instant,
    parked: Vec<(Instant, u64, BrokerId, Request)>,
    sent: Vec<(BrokerId, Request)>,
    seen: Vec<Seen>,
}

impl Harness {
    fn new(policy: OffsetResetPolicy, cluster: FakeCluster) -> Harness {
        let config = ConsumerConfig {
            auto_offset_reset: policy,
            ..Default::default()
        };
        Harness {
            consumer: Consumer::new(config, vec![1]),
            cluster,
            now: Instant::ZERO,
            parked: Vec::new(),
            sent: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn assign(&mut self, partitions: Vec<TopicPartition>) {
        self.consumer.assign(self.now, partitions);
        self.pump();
    }

    fn pump(&mut self) {
        let mut answers = Answers::new();
        for (at, id, to, request) in core::mem::take(&mut self.parked) {
            let wait_over = at + FETCH_WAIT <= self.now;
            match self.cluster.answer(to, &request, wait_over) {
                Some(answer) => answers.push_back((id, answer)),
                None => self.parked.push((at, id, to, request)),
            }
        }
        loop {
            while let Some(output) = self.consumer.poll_output() {
                self.take(output, &mut answers);
            }
            let Some((id, answer)) = answers.pop_front() else {
                break;
            };
            self.consumer.handle_response(self.now, id, answer);
        }
    }

    fn take(&mut self, output: ConsumerOutput, answers: &mut Answers) {
        let seen = match output {
            ConsumerOutput::Request { to, id, request } => {
                match self.cluster.answer(to, &request, false) {
                    Some(answer) => answers.push_back((id, answer)),
                    None => self.parked.push((self.now, id, to, request.clone())),
                }
                self.sent.push((to, request));
                return;
            }
            ConsumerOutput::Records { records, .. } => {
                let value = |r: &ConsumedRecord| String::from_utf8(r.value.clone().unwrap());
                let seen = records
                    .iter()
                    .map(|r| (r.offset, r.leader_epoch, value(r).unwrap()));
                Seen::Records(seen.collect())
            }
            ConsumerOutput::Reset { offset, reason, .. } => Seen::Reset(offset, reason),
            ConsumerOutput::Truncated {
                position,
                new_offset,
                ..
            } => Seen::Truncated {
                position,
                new_offset,
            },
            ConsumerOutput::Error { error, .. } => Seen::Error(error),
            // What an empty answer said is checked where it matters (the simulator's history).
            ConsumerOutput::Caught { .. } => return,
        };
        self.seen.push(seen);
    }

    /// Runs every timer and held fetch due up to `until`.
    fn advance_to(&mut self, until: Instant) {
        loop {
            let release = self.parked.iter().map(|(at, ..)| *at + FETCH_WAIT).min();
            let next = [self.consumer.poll_timeout(), release]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next.filter(|at| *at <= until) else {
                break;
            };
            self.now = self.now.max(at);
            self.consumer.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
        self.pump();
    }

    fn requests(&self, name: &str) -> usize {
        self.sent.iter().filter(|(_, r)| r.name() == name).count()
    }
}

fn records(from: i64, epoch: i32, values: &[&str]) -> Seen {
    let numbered = values.iter().enumerate();
    Seen::Records(
        numbered
            .map(|(i, v)| (from + i as i64, epoch, v.to_string()))
            .collect(),
    )
}

fn cluster_with_five_records() -> FakeCluster {
    let mut cluster = FakeCluster::new(2, &[("t", 1)]);
    cluster.append(&tp("t", 0), &["a", "b", "c"]);
    cluster.append(&tp("t", 0), &["d", "e"]);
    cluster
}

#[test]
fn records_before_the_position_in_a_fetched_batch_are_dropped() {
    let mut h = Harness::new(OffsetResetPolicy::None, cluster_with_five_records());
    h.assign(vec![tp("t", 0)]);
    assert_eq!(
        h.consumer.position(&tp("t", 0)),
        None,
        "no policy: waits for a seek"
    );
    h.consumer.seek(&tp("t", 0), 1);
    h.advance_to(ms(1));
    // The leader returns both batches whole; offset 0 is before the position.
    assert_eq!(h.seen, [records(1, 0, &["b", "c", "d", "e"])]);
    assert_eq!(h.consumer.position(&tp("t", 0)), Some(5));
    h.cluster.append(&tp("t", 0), &["f"]);
    h.pump();
    assert_eq!(h.seen[1], records(5, 0, &["f"]));
}

#[test]
fn out_of_range_resets_with_list_offsets() {
    let mut h = Harness::new(OffsetResetPolicy::Earliest, cluster_with_five_records());
    h.assign(vec![tp("t", 0)]);
    assert_eq!(h.seen[0], Seen::Reset(0, ResetReason::NoPosition));
    assert_eq!(h.seen[1], records(0, 0, &["a", "b", "c", "d", "e"]));
    h.consumer.seek(&tp("t", 0), 100);
    // The fetch in flight when the seek came is answered (empty) after the fetch wait; its
    // answer is stale and dropped, and the next fetch starts at the new position.
    h.advance_to(ms(1_000));
    // A seek leaves no epoch to validate: the position is reset by policy at once.
    assert_eq!(h.seen[2], Seen::Reset(0, ResetReason::OffsetOutOfRange));
    assert_eq!(h.seen[3], records(0, 0, &["a", "b", "c", "d", "e"]));
    let earliest = h.sent.iter().filter(|(_, r)| match r {
        Request::ListOffsets(list) => list.partitions[0].timestamp == EARLIEST_TIMESTAMP,
        _ => false,
    });
    assert_eq!(earliest.count(), 2);
    assert_eq!(h.requests("OffsetForLeaderEpoch"), 0);
}

#[test]
fn out_of_range_without_a_policy_is_reported() {
    let mut h = Harness::new(OffsetResetPolicy::None, cluster_with_five_records());
    h.assign(vec![tp("t", 0)]);
    h.consumer.seek(&tp("t", 0), 100);
    h.advance_to(ms(1_000));
    let reason = ResetReason::OffsetOutOfRange;
    assert_eq!(
        h.seen,
        [Seen::Error(ConsumerError::NoResetPolicy {
            offset: 100,
            reason
        })]
    );
    assert_eq!(h.consumer.position(&tp("t", 0)), None);
    assert_eq!(h.requests("Fetch"), 1, "no fetching until a seek");
}

/// KIP-320: after a leader change, the position is validated; the new leader's log ends
/// epoch 0 at offset 3, below the position 5, so the consumer reports the truncation and
/// continues from 3 instead of silently reading new records at offsets it already consumed.
#[test]
fn truncation_after_a_leader_change_is_detected() {
    let mut h = Harness::new(OffsetResetPolicy::Earliest, cluster_with_five_records());
    h.assign(vec![tp("t", 0)]);
    assert_eq!(h.consumer.position(&tp("t", 0)), Some(5));
    // An unclean election: broker 2 lacked offsets 3 and 4 and leads epoch 1 from offset 3.
    h.cluster.truncate(&tp("t", 0), 3);
    h.cluster.elect(&tp("t", 0), 2);
    h.cluster.append(&tp("t", 0), &["x", "y", "z"]);
    h.pump();
    h.advance_to(ms(1_000));
    let expected = [
        Seen::Reset(0, ResetReason::NoPosition),
        records(0, 0, &["a", "b", "c", "d", "e"]),
        Seen::Truncated {
            position: 5,
            new_offset: 3,
        },
        records(3, 1, &["x", "y", "z"]),
    ];
    assert_eq!(h.seen, expected);
    let validation = h.sent.iter().find_map(|(to, r)| match r {
        Request::OffsetForLeaderEpoch(v) => Some((*to, v.partitions[0].clone())),
        _ => None,
    });
    let (to, asked) = validation.expect("validated");
    assert_eq!(to, 2);
    assert_eq!(asked.current_leader_epoch, Some(1));
    assert_eq!(
        asked.leader_epoch, 0,
        "the epoch of the last record consumed"
    );
}

#[test]
fn a_leader_change_without_truncation_continues_in_place() {
    let mut h = Harness::new(OffsetResetPolicy::Earliest, cluster_with_five_records());
    h.assign(vec![tp("t", 0)]);
    h.cluster.elect(&tp("t", 0), 2);
    h.cluster.append(&tp("t", 0), &["f"]);
    h.pump();
    h.advance_to(ms(1_000));
    assert_eq!(h.seen[2..], [records(5, 1, &["f"])]);
    assert_eq!(h.requests("OffsetForLeaderEpoch"), 1);
}

/// OFFSET_OUT_OF_RANGE above the end, with an epoch to check: validated, found truncated.
#[test]
fn out_of_range_above_the_end_is_validated_as_a_truncation() {
    let mut h = Harness::new(OffsetResetPolicy::Earliest, cluster_with_five_records());
    h.assign(vec![tp("t", 0)]);
    // The same leader and epoch lose the tail (the fake allows what a real broker would not),
    // so only the fetch's OFFSET_OUT_OF_RANGE tells.
    h.cluster.truncate(&tp("t", 0), 3);
    h.advance_to(ms(1_000));
    assert_eq!(
        h.seen[2..],
        [Seen::Truncated {
            position: 5,
            new_offset: 3
        }]
    );
    assert_eq!(h.requests("OffsetForLeaderEpoch"), 1);
    assert_eq!(h.requests("ListOffsets"), 1, "only the first reset");
    h.cluster.append(&tp("t", 0), &["x"]);
    h.pump();
    assert_eq!(h.seen[3], records(3, 0, &["x"]));
}
