//! What the bug-switch canaries share.

use sluice_chaos::registry::{lookup, scenarios};
use sluice_chaos::{RunOptions, RunOutcome};

/// Sweeps `scenario` from seed 0 until a seed fails, checks that it replays, and returns it.
#[allow(dead_code)]
pub fn first_failure(scenario: &str, seeds: u64) -> RunOutcome {
    let registry = scenarios();
    let scenario = lookup(&registry, scenario).expect("registered");
    let options = RunOptions::default();
    let failure = (0..seeds)
        .map(|seed| scenario.run(seed, &options))
        .find(|outcome| !outcome.passed())
        .unwrap_or_else(|| panic!("{seeds} seeds of {} never caught the bug", scenario.name()));
    let replay = scenario.run(failure.seed, &options);
    assert_eq!(replay.failure, failure.failure, "the failing seed replays");
    assert_eq!(replay.trace_hash, failure.trace_hash, "to the same trace");
    println!(
        "caught at seed {}: {:?} (replay: sluice-chaos run {} --seed {})",
        failure.seed,
        failure.failure,
        scenario.name(),
        failure.seed
    );
    failure
}
