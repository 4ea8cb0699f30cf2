//! Canaries of the controller quorum: each test-only bug switch must be caught by a sweep of a
//! controller scenario, with a failing seed that replays to the same failure and trace. Run one
//! with `cargo test -p sluice-chaos --features FEATURE --test bug_switches_controller`.

mod support;

#[cfg(feature = "bug-raft-vote-for-stale-log")]
#[test]
fn a_vote_for_a_stale_log_is_caught() {
    let failure = support::first_failure("controller-partition", 500);
    assert_eq!(failure.failure.unwrap().anomaly, "committed-entry-changed");
}

#[cfg(feature = "bug-controller-elect-fenced")]
#[test]
fn a_fenced_leader_is_caught() {
    let failure = support::first_failure("broker-fencing", 500);
    assert_eq!(failure.failure.unwrap().anomaly, "metadata-invariant");
}

#[cfg(feature = "bug-raft-vote-not-persisted")]
#[test]
fn a_vote_forgotten_by_a_restart_is_caught() {
    let failure = support::first_failure("controller-failover", 1_000);
    assert_eq!(failure.failure.unwrap().anomaly, "two-leaders-one-term");
}

#[cfg(feature = "bug-raft-commit-old-term-by-count")]
#[test]
fn committing_an_old_term_entry_by_counting_is_caught() {
    let failure = support::first_failure("controller-failover", 1_000);
    assert_eq!(failure.failure.unwrap().anomaly, "committed-entry-changed");
}
