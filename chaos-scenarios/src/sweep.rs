//! Sweeps: many seeds of one scenario, with a coverage table of its declared marks.
//!
//! Seeds may run on several threads, but outcomes are handed on strictly in seed order, so a
//! sweep's output is the same whatever the number of threads. The wall clock is read only to
//! print seeds per minute; it never reaches a scenario or changes a result.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::report;
use crate::runner::run_guarded;
use crate::scenario::{RunOptions, RunOutcome, Scenario};

/// The counts of one scenario's sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepTally {
    scenario: &'static str,
    seeds: u64,
    passed: u64,
    failed: u64,
    /// For each declared mark, how many seeds reached it; declared order is kept separately.
    reached_by: BTreeMap<&'static str, u64>,
    declared: &'static [&'static str],
}

impl SweepTally {
    /// An empty tally for `scenario`.
    pub fn new(scenario: &dyn Scenario) -> SweepTally {
        let declared = scenario.marks();
        SweepTally {
            scenario: scenario.name(),
            seeds: 0,
            passed: 0,
            failed: 0,
            reached_by: declared.iter().map(|mark| (*mark, 0)).collect(),
            declared,
        }
    }

    /// Counts one seed's outcome. Panics on a mark the scenario did not declare.
    pub fn record(&mut self, outcome: &RunOutcome) {
        assert_eq!(
            outcome.scenario, self.scenario,
            "outcome of another scenario"
        );
        self.seeds += 1;
        if outcome.passed() {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        for mark in &outcome.marks_hit {
            match self.reached_by.get_mut(mark) {
                Some(count) => *count += 1,
                None => panic!("{} hit undeclared mark {mark:?}", self.scenario),
            }
        }
        assert_eq!(self.passed + self.failed, self.seeds);
    }

    /// Declared marks no seed reached, in declaration order.
    pub fn marks_missing(&self) -> Vec<&'static str> {
        let missing = |mark: &&&str| self.reached_by[**mark] == 0;
        self.declared.iter().filter(missing).copied().collect()
    }

    /// True if every seed passed and every declared mark was reached.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.marks_missing().is_empty()
    }

    /// Writes the coverage table, the never-reached marks, the rate and the final sweep line.
    pub fn write_summary(&self, out: &mut dyn Write, elapsed: Duration) -> io::Result<()> {
        for mark in self.declared {
            let count = self.reached_by[mark];
            writeln!(out, "mark {mark} reached_by={count}/{} seeds", self.seeds)?;
        }
        let missing = self.marks_missing();
        for mark in &missing {
            writeln!(out, "FAILED: mark {mark} never reached")?;
        }
        let rate = seeds_per_minute(self.seeds, elapsed);
        writeln!(
            out,
            "rate scenario={} seeds_per_minute={rate}",
            self.scenario
        )?;
        writeln!(
            out,
            "marks scenario={} missing={} result={}",
            self.scenario,
            missing.len(),
            if self.passed() { "pass" } else { "fail" }
        )?;
        // The mandated last line, exactly: tools grep for it.
        writeln!(
            out,
            "sweep scenario={} seeds={} passed={} failed={}",
            self.scenario, self.seeds, self.passed, self.failed
        )
    }
}

/// Seeds per minute of wall time, rounded down; an immeasurably short sweep counts as 1 ns.
pub fn seeds_per_minute(seeds: u64, elapsed: Duration) -> u128 {
    let nanos = elapsed.as_nanos().max(1);
    u128::from(seeds) * 60_000_000_000 / nanos
}

/// Runs seeds `start..start + count` of `scenario` and writes the sweep's report: for each
/// failing seed its run report (without trace), then the summary. Returns the tally.
pub fn sweep(
    out: &mut dyn Write,
    scenario: &dyn Scenario,
    start: u64,
    count: u64,
    workers: usize,
) -> io::Result<SweepTally> {
    let started = Instant::now();
    let mut tally = SweepTally::new(scenario);
    run_seeds_in_order(scenario, start, count, workers, |outcome| {
        tally.record(&outcome);
        if outcome.passed() {
            return Ok(());
        }
        report::write_run(out, &outcome, false)
    })?;
    tally.write_summary(out, started.elapsed())?;
    Ok(tally)
}

/// Runs seeds `start..start + count` on up to `workers` threads and hands each outcome to
/// `deliver` in seed order. Stops early, returning the error, if `deliver` fails.
pub fn run_seeds_in_order(
    scenario: &dyn Scenario,
    start: u64,
    count: u64,
    workers: usize,
    mut deliver: impl FnMut(RunOutcome) -> io::Result<()>,
) -> io::Result<()> {
    assert!(
        count == 0 || start.checked_add(count - 1).is_some(),
        "seeds past u64::MAX"
    );
    let options = RunOptions::default();
    if workers <= 1 || count <= 1 {
        for index in 0..count {
            deliver(run_guarded(scenario, start + index, &options))?;
        }
        return Ok(());
    }
    let next_index = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..workers {
            let sender = sender.clone();
            let (next_index, stop) = (&next_index, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = next_index.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        break;
                    }
                    let outcome = run_guarded(scenario, start + index, &options);
                    if sender.send((index, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Outcomes arrive in any order; hold back each until all lower seeds are delivered.
        let mut pending = BTreeMap::new();
        let mut expected = 0u64;
        for (index, outcome) in receiver {
            pending.insert(index, outcome);
            while let Some(outcome) = pending.remove(&expected) {
                expected += 1;
                if let Err(error) = deliver(outcome) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        assert_eq!(expected, count, "a sweep worker stopped early");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NeverReached, Panicky, SeedParity};

    fn sweep_lines(scenario: &dyn Scenario, start: u64, count: u64, workers: usize) -> String {
        let mut out = Vec::new();
        sweep(&mut out, scenario, start, count, workers).unwrap();
        let text = String::from_utf8(out).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("rate ")).collect();
        kept.join("\n")
    }

    #[test]
    fn tally_counts_failures_and_marks() {
        let mut tally = SweepTally::new(&SeedParity);
        for seed in 0..10 {
            tally.record(&SeedParity.run(seed, &RunOptions::default()));
        }
        // Seeds 3 and 8 are 3 mod 5; 0,2,4,6,8 are even; 0,3,6,9 are multiples of three.
        assert_eq!((tally.seeds, tally.passed, tally.failed), (10, 8, 2));
        assert_eq!(tally.reached_by["even-seed"], 5);
        assert_eq!(tally.reached_by["multiple-of-three"], 4);
        assert!(tally.marks_missing().is_empty());
        assert!(!tally.passed());
    }

    #[test]
    fn never_reached_mark_fails_an_otherwise_passing_sweep() {
        let mut out = Vec::new();
        let tally = sweep(&mut out, &NeverReached, 0, 5, 1).unwrap();
        assert_eq!((tally.passed, tally.failed), (5, 0));
        assert_eq!(tally.marks_missing(), ["unreachable"]);
        assert!(!tally.passed());
        let expected = "\
mark reachable reached_by=5/5 seeds
mark unreachable reached_by=0/5 seeds
FAILED: mark unreachable never reached
marks scenario=never-reached missing=1 result=fail\nsweep scenario=never-reached seeds=5 passed=5 failed=0";
        assert_eq!(sweep_lines(&NeverReached, 0, 5, 1), expected);
    }

    #[test]
    fn sweep_prints_only_failing_seeds_then_the_summary() {
        let text = sweep_lines(&SeedParity, 1, 4, 1);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("SEED=3 scenario=seed-parity faults="));
        assert_eq!(lines[1], "FAILED: lost-synced-batch: offset 30 vanished");
        assert_eq!(
            lines[2],
            "replay: sluice-chaos run seed-parity --seed 3 --trace"
        );
        assert!(lines[3].starts_with("seed=3 scenario=seed-parity events=2 trace_hash="));
        assert!(lines[3].ends_with(" result=fail"));
        assert_eq!(lines[4], "mark even-seed reached_by=2/4 seeds");
        assert_eq!(lines[5], "mark multiple-of-three reached_by=1/4 seeds");
        assert_eq!(lines[6], "marks scenario=seed-parity missing=0 result=fail");
        assert_eq!(
            lines[7],
            "sweep scenario=seed-parity seeds=4 passed=3 failed=1"
        );
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn parallel_sweep_output_equals_sequential() {
        let sequential = sweep_lines(&SeedParity, 0, 200, 1);
        for workers in [2, 3, 8] {
            assert_eq!(sweep_lines(&SeedParity, 0, 200, workers), sequential);
        }
    }

    #[test]
    fn panicking_seed_is_reported_and_the_sweep_goes_on() {
        let mut out = Vec::new();
        let tally = sweep(&mut out, &Panicky, 5, 5, 2).unwrap();
        assert_eq!((tally.seeds, tally.passed, tally.failed), (5, 4, 1));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("FAILED: panic: invariant broken: two leaders in epoch 7\n"));
        assert!(text.contains("replay: sluice-chaos run panicky --seed 7 --trace\n"));
        assert!(text.ends_with(
            "missing=0 result=fail\nsweep scenario=panicky seeds=5 passed=4 failed=1\n"
        ));
    }

    #[test]
    fn sweep_reaching_the_last_seed_does_not_overflow() {
        let mut seeds = Vec::new();
        run_seeds_in_order(&SeedParity, u64::MAX - 2, 3, 2, |o| {
            seeds.push(o.seed);
            Ok(())
        })
        .unwrap();
        assert_eq!(seeds, [u64::MAX - 2, u64::MAX - 1, u64::MAX]);
    }

    #[test]
    fn delivery_error_stops_the_sweep() {
        let mut delivered = 0;
        let result = run_seeds_in_order(&SeedParity, 0, 1000, 2, |_| {
            delivered += 1;
            if delivered == 3 {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
            }
            Ok(())
        });
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(delivered, 3);
    }

    #[test]
    fn rate_is_seeds_per_minute() {
        assert_eq!(seeds_per_minute(100, Duration::from_secs(30)), 200);
        assert_eq!(seeds_per_minute(1, Duration::ZERO), 60_000_000_000);
        let tally = SweepTally::new(&NeverReached);
        let mut out = Vec::new();
        tally
            .write_summary(&mut out, Duration::from_secs(1))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("rate scenario=never-reached seeds_per_minute=0\n"));
    }
}
