//! Random valid histories: a simulated correct log (several partitions, gaps where a transaction
//! marker would sit, a high watermark lagging the log end) written by several producers whose
//! sends succeed, fail or end indefinite, and read below the high watermark by several consumers
//! that poll, fail and seek, each poll reporting the high watermarks it saw. Every seed must pass the checker, so
//! no check fails on correct behaviour; the hand-built histories in `anomalies.rs` show that
//! each check does fail on its fault.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use sluice_jepsen::{
    anomaly, check, History, OpId, PartitionHighWatermark, PartitionReads, Report,
};
use support::Prng;

const PARTITIONS: i32 = 3;
const PRODUCERS: u64 = 3;
const CONSUMERS: u64 = 3;
const STEPS: usize = 300;
const SEEDS: u64 = 500;

/// One consumer: its position per partition, and whether it just sought.
struct Consumer {
    positions: BTreeMap<i32, i64>,
    fresh: bool,
}

/// The simulated cluster: one correct log per partition, and the history of its clients.
struct Simulation {
    prng: Prng,
    history: History,
    logs: BTreeMap<i32, Vec<(i64, u64)>>,
    /// Per partition, the high watermark: only ever rises, never past the log end.
    high_watermarks: BTreeMap<i32, i64>,
    /// Per partition, the highest high watermark a poll reported.
    reported: BTreeMap<i32, i64>,
    in_flight: BTreeMap<u64, OpId>,
    consumers: BTreeMap<u64, Consumer>,
    next_value: u64,
    acked: BTreeSet<(i32, i64)>,
}

impl Simulation {
    fn new(seed: u64) -> Self {
        let consumers = (0..CONSUMERS)
            .map(|c| {
                (
                    100 + c,
                    Consumer {
                        positions: BTreeMap::new(),
                        fresh: true,
                    },
                )
            })
            .collect();
        Self {
            prng: Prng(seed),
            history: History::new(),
            logs: (0..PARTITIONS).map(|p| (p, Vec::new())).collect(),
            high_watermarks: (0..PARTITIONS).map(|p| (p, 0)).collect(),
            reported: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            consumers,
            next_value: 0,
            acked: BTreeSet::new(),
        }
    }

    /// One random client action.
    fn step(&mut self) {
        let producer = self.prng.below(PRODUCERS);
        match self.prng.below(3) {
            0 => self.invoke_send(producer),
            1 => self.complete_send(producer),
            _ => {
                let consumer = 100 + self.prng.below(CONSUMERS);
                if self.prng.chance(10) {
                    self.seek(consumer);
                }
                self.poll(consumer, false);
            }
        }
    }

    fn invoke_send(&mut self, producer: u64) {
        if self.in_flight.contains_key(&producer) {
            return;
        }
        let partition = i32::try_from(self.prng.below(PARTITIONS as u64)).unwrap();
        self.next_value += 1;
        let op = self
            .history
            .invoke_send(producer, partition, self.next_value)
            .unwrap();
        self.in_flight.insert(producer, op);
    }

    /// Completes `producer`'s send: ok (appended), fail (not), or info (appended or not).
    fn complete_send(&mut self, producer: u64) {
        let Some(op) = self.in_flight.remove(&producer) else {
            return;
        };
        let sluice_jepsen::Request::Send { partition, value } =
            self.history.operations()[op.0].request
        else {
            unreachable!("only sends are in flight")
        };
        match self.prng.below(10) {
            0 => self.history.fail(op).unwrap(),
            1 => self.history.info(op).unwrap(),
            2 => {
                self.append(partition, value);
                self.history.info(op).unwrap();
            }
            _ => {
                let offset = self.append(partition, value);
                self.acked.insert((partition, offset));
                self.history.ok_send(op, offset).unwrap();
            }
        }
    }

    /// Appends `value`, sometimes after an offset holding no record (a transaction marker).
    fn append(&mut self, partition: i32, value: u64) -> i64 {
        let gap = i64::from(self.prng.chance(15));
        let log = self.logs.get_mut(&partition).unwrap();
        let offset = log.last().map_or(0, |(last, _)| last + 1) + gap;
        log.push((offset, value));
        offset
    }

    /// Each partition's log end offset.
    fn ends(&self) -> Vec<(i32, i64)> {
        self.logs
            .iter()
            .map(|(p, log)| (*p, log.last().map_or(0, |(last, _)| last + 1)))
            .collect()
    }

    /// Raises some partitions' high watermarks towards their log ends (all the way when
    /// `to_end`).
    fn replicate(&mut self, to_end: bool) {
        for (partition, end) in self.ends() {
            let high_watermark = self.high_watermarks.get_mut(&partition).unwrap();
            if to_end {
                *high_watermark = end;
            } else if self.prng.chance(50) {
                let behind = u64::try_from(end - *high_watermark).unwrap();
                *high_watermark += i64::try_from(self.prng.below(behind + 1)).unwrap();
            }
        }
    }

    /// Moves `consumer` to random positions, backwards or forwards.
    fn seek(&mut self, consumer: u64) {
        let ends = self.ends();
        let mut positions = BTreeMap::new();
        for (partition, end) in ends {
            let end = u64::try_from(end).unwrap();
            positions.insert(partition, i64::try_from(self.prng.below(end + 1)).unwrap());
        }
        let state = self.consumers.get_mut(&consumer).unwrap();
        state.positions = positions;
        state.fresh = true;
    }

    /// One poll by `consumer`: fails sometimes, else reads some records below the high
    /// watermark of some partitions (all of them, to the end, when `to_end`), reporting the high
    /// watermark of each partition read and of some others.
    fn poll(&mut self, consumer: u64, to_end: bool) {
        if !to_end && self.prng.chance(10) {
            let op = self.history.invoke_poll(consumer);
            self.history.fail(op).unwrap();
            return;
        }
        self.replicate(to_end);
        let mut reads: Vec<PartitionReads> = Vec::new();
        let mut high_watermarks: Vec<PartitionHighWatermark> = Vec::new();
        for (partition, log) in &self.logs {
            let high_watermark = self.high_watermarks[partition];
            if !to_end && self.prng.chance(40) {
                if self.prng.chance(30) {
                    high_watermarks.push((*partition, high_watermark));
                }
                continue;
            }
            high_watermarks.push((*partition, high_watermark));
            let limit = if to_end {
                usize::MAX
            } else {
                usize::try_from(self.prng.below(5)).unwrap()
            };
            let state = self.consumers.get_mut(&consumer).unwrap();
            let position = state.positions.entry(*partition).or_insert(0);
            let records: Vec<(i64, u64)> = log
                .iter()
                .filter(|(offset, _)| *offset >= *position && *offset < high_watermark)
                .take(limit)
                .copied()
                .collect();
            if let Some((last, _)) = records.last() {
                *position = last + 1;
            }
            reads.push((*partition, records));
        }
        let state = self.consumers.get_mut(&consumer).unwrap();
        let after_seek = std::mem::replace(&mut state.fresh, false);
        for &(partition, high_watermark) in &high_watermarks {
            let reported = self.reported.entry(partition).or_default();
            *reported = high_watermark.max(*reported);
        }
        let op = self.history.invoke_poll(consumer);
        self.history
            .ok_poll_with_hw(op, reads, high_watermarks, after_seek)
            .unwrap();
    }

    /// Heals: every consumer reads to the end, and a fresh one reads everything from offset 0.
    /// Sends still in flight stay indefinite.
    fn finish(mut self) -> History {
        for consumer in 100..100 + CONSUMERS {
            self.poll(consumer, true);
        }
        self.consumers.insert(
            99,
            Consumer {
                positions: BTreeMap::new(),
                fresh: true,
            },
        );
        self.poll(99, true);
        self.history
    }
}

impl Simulation {
    /// The planted fault: the log loses an acknowledged record that is neither its first nor its
    /// last one, as an unclean truncation followed by new appends would. (Losing the first record
    /// after every reader passed it leaves no trace in the history: no poll reads across it.)
    /// False when no partition holds such a record.
    fn lose_acked_record(&mut self) -> bool {
        for (partition, log) in &mut self.logs {
            let inner = log.len().saturating_sub(1);
            let inner = log.get(1..inner).unwrap_or_default();
            if let Some(index) = inner
                .iter()
                .position(|(offset, _)| self.acked.contains(&(*partition, *offset)))
            {
                log.remove(index + 1);
                return true;
            }
        }
        false
    }

    /// The planted fault for invariant 14: one more poll, reading nothing, reports for some
    /// partition a high watermark one below the highest an earlier poll reported. False when
    /// every reported high watermark is 0.
    fn report_stale_high_watermark(&mut self) -> bool {
        let Some((&partition, &highest)) = self.reported.iter().find(|(_, hw)| **hw > 0) else {
            return false;
        };
        let op = self.history.invoke_poll(100);
        self.history
            .ok_poll_with_hw(op, vec![], vec![(partition, highest - 1)], false)
            .unwrap();
        true
    }
}

/// What a run plants before healing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    LoseAckedRecord,
    StaleHighWatermark,
}

/// Runs `seed` for [`STEPS`] steps, plants `fault`, then heals and checks. `None` when the
/// fault could not be planted.
fn run(seed: u64, fault: Fault) -> Option<Report> {
    let mut simulation = Simulation::new(seed);
    for _ in 0..STEPS {
        simulation.step();
    }
    let planted = match fault {
        Fault::None => true,
        Fault::LoseAckedRecord => simulation.lose_acked_record(),
        Fault::StaleHighWatermark => simulation.report_stale_high_watermark(),
    };
    planted.then(|| check(&simulation.finish()))
}

#[test]
fn random_valid_histories_always_pass() {
    let mut totals = (0, 0, 0);
    for seed in 0..SEEDS {
        let report = run(seed, Fault::None).unwrap();
        assert!(report.anomalies.is_empty(), "seed {seed}:\n{report}");
        assert!(report.is_valid(), "seed {seed}:\n{report}");
        totals.0 += report.ok_sends;
        totals.1 += report.indefinite_sends;
        totals.2 += report.ok_polls;
    }
    // The generator must exercise what it claims to: many acknowledged and indefinite sends.
    assert!(
        totals.0 > 10_000 && totals.1 > 1_000 && totals.2 > 10_000,
        "{totals:?}"
    );
}

#[test]
fn losing_an_acknowledged_record_is_always_caught() {
    let allowed = [
        anomaly::LOST_WRITE,
        anomaly::POLL_SKIP,
        anomaly::INT_POLL_SKIP,
        anomaly::INCONSISTENT_READ,
    ];
    let mut caught = 0;
    for seed in 0..SEEDS {
        let Some(report) = run(seed, Fault::LoseAckedRecord) else {
            continue;
        };
        assert!(
            !report.is_valid(),
            "seed {seed}: the lost record went unnoticed"
        );
        assert!(
            report.anomalies.keys().all(|kind| allowed.contains(kind)),
            "seed {seed}:\n{report}"
        );
        caught += 1;
    }
    assert!(caught > SEEDS / 2, "only {caught} seeds planted the fault");
}

#[test]
fn a_stale_high_watermark_is_always_caught() {
    let mut caught = 0;
    for seed in 0..SEEDS {
        let Some(report) = run(seed, Fault::StaleHighWatermark) else {
            continue;
        };
        assert_eq!(
            report.anomalies.keys().copied().collect::<Vec<_>>(),
            [anomaly::HW_REGRESSION],
            "seed {seed}:\n{report}"
        );
        caught += 1;
    }
    assert!(caught > SEEDS / 2, "only {caught} seeds planted the fault");
}

#[test]
fn random_histories_are_deterministic() {
    let run = |seed| {
        let mut simulation = Simulation::new(seed);
        for _ in 0..STEPS {
            simulation.step();
        }
        simulation.finish()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}
