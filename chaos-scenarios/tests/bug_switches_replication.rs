//! Canaries of partition replication: each test-only bug switch must be caught by a sweep of a
//! replication scenario, with a failing seed that replays to the same failure and trace. Run
//! one with `cargo test -p sluice-chaos --features FEATURE --test bug_switches_replication`.

mod support;

#[cfg(feature = "bug-replica-ack-before-isr")]
#[test]
fn acknowledging_before_the_isr_holds_a_batch_is_caught() {
    let failure = support::first_failure("leader-crash", 200);
    assert_eq!(failure.failure.unwrap().anomaly, "inconsistent-offsets");
}

#[cfg(feature = "bug-replica-truncate-to-hw")]
#[test]
fn truncating_to_the_high_watermark_is_caught() {
    let failure = support::first_failure("follower-truncation", 200);
    assert_eq!(failure.failure.unwrap().anomaly, "log-divergence");
}

#[cfg(feature = "bug-replica-hw-outside-isr")]
#[test]
fn a_high_watermark_from_outside_the_isr_is_caught() {
    let failure = support::first_failure("leader-crash", 200);
    assert_eq!(failure.failure.unwrap().anomaly, "log-divergence");
}

#[cfg(feature = "bug-controller-ignore-unclean-shutdown")]
#[test]
fn electing_a_replica_back_from_an_unclean_shutdown_is_caught() {
    let failure = support::first_failure("lossy-follower", 200);
    assert_eq!(failure.failure.unwrap().anomaly, "unclean-admission");
}

#[cfg(feature = "bug-replica-skip-fetch-epoch-check")]
#[test]
fn serving_a_fetch_from_an_older_leader_epoch_is_caught() {
    let failure = support::first_failure("stale-follower", 200);
    assert_eq!(failure.failure.unwrap().anomaly, "log-divergence");
}
