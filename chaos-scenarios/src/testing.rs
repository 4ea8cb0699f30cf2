//! Test-only scenarios and RNG whose behaviour under each seed is known in advance.

use std::sync::atomic::{AtomicU64, Ordering};

use sluice_core::rng::Rng;

use crate::scenario::{Failure, Marks, RunOptions, RunOutcome, Scenario};
use crate::swarm::{FaultMix, FaultSpec};

/// A tiny deterministic RNG, standing in for the simulator's.
pub use sluice_core::rng::SplitMix64 as SplitMix;

/// FNV-1a over the lines, each followed by a newline.
pub fn hash_lines(lines: &[String]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in lines.iter().flat_map(|l| l.bytes().chain(Some(b'\n'))) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Builds an outcome from trace lines, keeping them only if asked.
fn outcome(
    scenario: &dyn Scenario,
    seed: u64,
    options: &RunOptions,
    lines: Vec<String>,
    marks: Marks,
    failure: Option<Failure>,
    swarm: String,
) -> RunOutcome {
    RunOutcome {
        seed,
        scenario: scenario.name(),
        events: lines.len() as u64,
        trace_hash: hash_lines(&lines),
        failure,
        marks_hit: marks.into_hit(),
        swarm,
        trace_lines: options.keep_trace.then_some(lines),
    }
}

/// Fails when `seed % 5 == 3`; hits `even-seed` on even seeds and `multiple-of-three` on
/// multiples of three.
pub struct SeedParity;

impl SeedParity {
    const FAULTS: &'static [FaultSpec] = &[
        FaultSpec::new("machine-crash", 10, 50),
        FaultSpec::new("torn-write", 100, 300),
    ];
}

impl Scenario for SeedParity {
    fn name(&self) -> &'static str {
        "seed-parity"
    }
    fn description(&self) -> &'static str {
        "fails on seeds that are 3 mod 5"
    }
    fn marks(&self) -> &'static [&'static str] {
        &["even-seed", "multiple-of-three"]
    }
    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        let mut rng = SplitMix::new(seed);
        let mix = FaultMix::draw(&mut rng, Self::FAULTS);
        let mut marks = Marks::new(self.marks());
        let mut lines = vec![format!("0 start seed={seed}")];
        if seed.rem_euclid(2) == 0 {
            marks.hit("even-seed");
            lines.push("1 even".to_string());
        }
        if seed.rem_euclid(3) == 0 {
            marks.hit("multiple-of-three");
            lines.push(format!("{} triple", lines.len()));
        }
        let failure = (seed % 5 == 3).then(|| {
            Failure::new(
                "lost-synced-batch",
                format!("offset {} vanished", seed * 10),
            )
        });
        let swarm = format!("{mix} sync_every={}", rng.range_inclusive(1, 9));
        outcome(self, seed, options, lines, marks, failure, swarm)
    }
}

/// Always passes but declares a mark it never reaches.
pub struct NeverReached;

impl Scenario for NeverReached {
    fn name(&self) -> &'static str {
        "never-reached"
    }
    fn description(&self) -> &'static str {
        "declares a mark no seed reaches"
    }
    fn marks(&self) -> &'static [&'static str] {
        &["reachable", "unreachable"]
    }
    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        let mut marks = Marks::new(self.marks());
        marks.hit("reachable");
        let lines = vec![format!("0 start seed={seed}")];
        outcome(
            self,
            seed,
            options,
            lines,
            marks,
            None,
            "faults=none".into(),
        )
    }
}

/// Deliberately nondeterministic: its third trace line carries a process-wide counter.
pub struct Nondeterministic;

static NONDETERMINISTIC_RUNS: AtomicU64 = AtomicU64::new(0);

impl Scenario for Nondeterministic {
    fn name(&self) -> &'static str {
        "nondeterministic"
    }
    fn description(&self) -> &'static str {
        "leaks a global counter into its trace"
    }
    fn marks(&self) -> &'static [&'static str] {
        &[]
    }
    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        let runs = NONDETERMINISTIC_RUNS.fetch_add(1, Ordering::Relaxed);
        let lines = vec![
            format!("0 start seed={seed}"),
            "1 append".to_string(),
            format!("2 counter={runs}"),
            "3 end".to_string(),
        ];
        let marks = Marks::new(self.marks());
        outcome(
            self,
            seed,
            options,
            lines,
            marks,
            None,
            "faults=none".into(),
        )
    }
}

/// Panics on [`Panicky::PANIC_SEED`], passes on every other seed.
pub struct Panicky;

impl Panicky {
    pub const PANIC_SEED: u64 = 7;
}

impl Scenario for Panicky {
    fn name(&self) -> &'static str {
        "panicky"
    }
    fn description(&self) -> &'static str {
        "panics on one seed"
    }
    fn marks(&self) -> &'static [&'static str] {
        &[]
    }
    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        assert!(
            seed != Self::PANIC_SEED,
            "invariant broken: two leaders in epoch {seed}"
        );
        let lines = vec![format!("0 start seed={seed}")];
        let marks = Marks::new(self.marks());
        outcome(
            self,
            seed,
            options,
            lines,
            marks,
            None,
            "faults=none".into(),
        )
    }
}

/// Fails on every seed and says why it is known to: `sweep all` must skip it.
pub struct KnownBroken;

impl Scenario for KnownBroken {
    fn name(&self) -> &'static str {
        "known-broken"
    }
    fn description(&self) -> &'static str {
        "fails on every seed"
    }
    fn marks(&self) -> &'static [&'static str] {
        &[]
    }
    fn known_failure(&self) -> Option<&'static str> {
        Some("its fix is not built")
    }
    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        let lines = vec![format!("0 start seed={seed}")];
        let failure = Some(Failure::new("lost-write", "always"));
        let marks = Marks::new(self.marks());
        outcome(
            self,
            seed,
            options,
            lines,
            marks,
            failure,
            "faults=none".into(),
        )
    }
}

/// Every test scenario, in a fixed order.
pub fn registry() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(SeedParity),
        Box::new(NeverReached),
        Box::new(Nondeterministic),
        Box::new(Panicky),
        Box::new(KnownBroken),
    ]
}
