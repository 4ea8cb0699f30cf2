//! The canary: with the test-only `bug-skip-torn-tail-truncation` feature, recovery keeps a
//! torn tail instead of cutting it, and a log-crash-recovery sweep must catch it with a seed
//! that replays to the same failure and trace. Run with
//! `cargo test -p sluice-chaos --features bug-skip-torn-tail-truncation --test bug_switch`.
#![cfg(feature = "bug-skip-torn-tail-truncation")]

use sluice_chaos::registry::{lookup, scenarios};
use sluice_chaos::RunOptions;

#[test]
fn skipping_torn_tail_truncation_is_caught_and_replays() {
    let registry = scenarios();
    let scenario = lookup(&registry, "log-crash-recovery").expect("registered");
    let options = RunOptions::default();
    let first_failure = (0..500u64)
        .map(|seed| scenario.run(seed, &options))
        .find(|outcome| !outcome.passed())
        .expect("500 seeds never caught the skipped torn-tail truncation");
    let replay = scenario.run(first_failure.seed, &options);
    assert_eq!(
        replay.failure, first_failure.failure,
        "the failing seed replays"
    );
    assert_eq!(
        replay.trace_hash, first_failure.trace_hash,
        "to the same trace"
    );
    println!(
        "caught at seed {}: {:?} (replay: sluice-chaos run log-crash-recovery --seed {})",
        first_failure.seed, first_failure.failure, first_failure.seed
    );
}
