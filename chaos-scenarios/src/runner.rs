//! Runs one seed of a scenario, turning a panic into a reported failure.
//!
//! The core asserts its invariants and crashes on a broken one (STYLE.md §5), so inside the
//! simulator a panic is the most common way a bug shows itself. A sweep must report that seed
//! and carry on with the next, not die, so every run goes through [`run_guarded`].

use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};

use crate::scenario::{Failure, RunOptions, RunOutcome, Scenario};

/// The anomaly name of a run that panicked.
pub const PANIC_ANOMALY: &str = "panic";

/// The swarm line of a run that panicked: the scenario's own line was lost with its outcome.
pub const PANIC_SWARM: &str = "swarm=unknown(panicked)";

/// Runs `scenario` under `seed`, catching a panic.
///
/// A panicking run becomes an outcome with the anomaly [`PANIC_ANOMALY`], the panic message as
/// detail, zero events and a zero trace hash. The panic hook still prints the message and
/// location to stderr as usual.
pub fn run_guarded(scenario: &dyn Scenario, seed: u64, options: &RunOptions) -> RunOutcome {
    match run_catching(scenario, seed, options) {
        Ok(outcome) => outcome,
        Err(message) => RunOutcome {
            seed,
            scenario: scenario.name(),
            events: 0,
            trace_hash: 0,
            failure: Some(Failure::new(PANIC_ANOMALY, message)),
            marks_hit: BTreeSet::new(),
            swarm: PANIC_SWARM.to_string(),
            trace_lines: None,
        },
    }
}

/// Runs `scenario` under `seed`, returning the panic message, on one line, if it panicked.
///
/// An outcome whose `seed` or `scenario` does not match what was asked for is a bug in the
/// scenario and is reported as a panic too.
pub fn run_catching(
    scenario: &dyn Scenario,
    seed: u64,
    options: &RunOptions,
) -> Result<RunOutcome, String> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        let outcome = scenario.run(seed, options);
        assert_eq!(
            outcome.seed, seed,
            "scenario returned another seed's outcome"
        );
        assert_eq!(
            outcome.scenario,
            scenario.name(),
            "outcome names another scenario"
        );
        outcome
    }))
    .map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload, flattened onto one line.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_string()
    };
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Panicky, SeedParity};

    #[test]
    fn passing_run_is_returned_unchanged() {
        let options = RunOptions::default();
        let outcome = run_guarded(&SeedParity, 4, &options);
        assert_eq!(outcome, SeedParity.run(4, &options));
    }

    #[test]
    fn panic_becomes_a_failure() {
        let outcome = run_guarded(&Panicky, Panicky::PANIC_SEED, &RunOptions::default());
        assert_eq!(outcome.seed, Panicky::PANIC_SEED);
        assert_eq!(outcome.scenario, "panicky");
        let failure = outcome.failure.expect("panic is a failure");
        assert_eq!(failure.anomaly, PANIC_ANOMALY);
        assert_eq!(failure.detail, "invariant broken: two leaders in epoch 7");
        assert_eq!(outcome.swarm, PANIC_SWARM);
    }
}
