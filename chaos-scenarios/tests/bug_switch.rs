//! The canary: with the test-only `bug-skip-torn-tail-truncation` feature, recovery keeps a
//! torn tail instead of cutting it, and a log-crash-recovery sweep must catch it with a seed
//! that replays to the same failure and trace. Run with
//! `cargo test -p sluice-chaos --features bug-skip-torn-tail-truncation --test bug_switch`.
#![cfg(feature = "bug-skip-torn-tail-truncation")]

mod support;

#[test]
fn skipping_torn_tail_truncation_is_caught_and_replays() {
    support::first_failure("log-crash-recovery", 500);
}
