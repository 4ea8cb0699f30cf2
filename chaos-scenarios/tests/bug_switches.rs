//! The bug-switch canaries: each planted bug of `sluice_core::bugs`, switched on for its test's
//! thread, must be caught by a sweep of a scenario, with a failing seed that replays to the
//! same failure and trace, and that passes again once the bug is switched off. One build runs
//! them all: `cargo test -p sluice-chaos --features bug-switches --test bug_switches`.
//!
//! A scenario run executes on the calling thread (only `sweep` spreads seeds over threads, and
//! these tests do not use it), so the thread-local switch holds for every run it starts.
#![cfg(feature = "bug-switches")]

use sluice_chaos::registry::{lookup, scenarios};
use sluice_chaos::{RunOptions, RunOutcome};
use sluice_core::bugs::{self, Bug};

/// The canary of each planted bug: the scenario whose sweep must catch it, how many seeds from
/// seed 0 it may take, and the anomalies it may report (empty: any).
fn canary(bug: Bug) -> (&'static str, u64, &'static [&'static str]) {
    match bug {
        Bug::SkipTornTailTruncation => ("log-crash-recovery", 500, &[]),
        Bug::RaftVoteForStaleLog => ("controller-partition", 500, &["committed-entry-changed"]),
        // A fenced leader breaks the image's invariants; a leaving one (a broker in controlled
        // shutdown) keeps being elected, so its shutdown never completes and it is still fenced
        // when the run ends (seed 2: n8 begins its shutdown at 55.9 s and never restarts).
        Bug::ControllerElectFenced => (
            "broker-fencing",
            500,
            &["metadata-invariant", "broker-not-unfenced"],
        ),
        Bug::RaftVoteNotPersisted => ("controller-failover", 1_000, &["two-leaders-one-term"]),
        Bug::RaftCommitOldTermByCount => {
            ("controller-failover", 1_000, &["committed-entry-changed"])
        }
        // The acknowledged records the crashed leader alone held are gone: their offsets hold
        // other records (inconsistent-offsets), or the final read never sees them (unseen).
        Bug::ReplicaAckBeforeIsr => (
            "leader-crash",
            200,
            &["inconsistent-offsets", "unseen", "lost-write"],
        ),
        Bug::ReplicaTruncateToHw => ("follower-truncation", 200, &["log-divergence"]),
        Bug::ReplicaHwOutsideIsr => ("leader-crash", 200, &["unclean-admission"]),
        // The replica that lost its tail leads: a consumer sees the watermark go back
        // (hw-regression) or the audit sees the committed log change (log-divergence),
        // whichever the seed shows first.
        Bug::ControllerIgnoreUncleanShutdown => ("lossy-follower", 200, &[]),
        Bug::ReplicaSkipFetchEpochCheck => ("stale-follower", 200, &["log-divergence"]),
        // Every broker's machine crashes while acknowledged records are still unsynced: the
        // checker finds them missing (lost-write) or their offsets reused by later records
        // (inconsistent-offsets), whichever the seed shows first.
        Bug::ReplicaAckBeforeSync => ("whole-cluster-crash", 200, &[]),
        // A voter machine-crashes right after its granted vote leaves, before the vote's
        // persist completes, comes back without it and votes again in the same term.
        Bug::RaftVoteBeforeSync => ("controller-failover", 1_000, &["two-leaders-one-term"]),
        // A member paused past its session resumes and auto-commits in its old generation
        // after the others were assigned a newer one; the coordinator accepts it (or the
        // stale commit moves the committed offset back before a newer one is assigned).
        Bug::GroupCommitStaleGeneration => (
            "group-rebalance",
            500,
            &["zombie-commit", "committed-offset-regression"],
        ),
        // A follower is cut, the coordinator crashes, and its successor serves the tail it
        // loaded above its high watermark; struck in turn, it hands over to the cut follower,
        // which never had that tail: a committed offset read from the successor goes back.
        Bug::GroupServeBeforeLoaded => (
            "coordinator-failover",
            500,
            &["committed-offset-regression"],
        ),
        // Commits acknowledged before the ISR holds them vanish with the crashed coordinator.
        Bug::GroupCommitBeforeReplicated => ("coordinator-failover", 500, &[]),
        // A crashed member keeps its partitions: the group never gives them to the others.
        Bug::SessionExpiryWithoutRebalance => ("group-rebalance", 200, &[]),
    }
}

/// With `bug` switched on, sweeps its canary's scenario from seed 0 until a seed fails, checks
/// the anomaly and that the seed replays to the same failure and trace; then checks that the
/// same seed passes with the bug switched off.
fn caught(bug: Bug) {
    let (scenario, seeds, anomaly) = canary(bug);
    let registry = scenarios();
    let scenario = lookup(&registry, scenario).expect("registered");
    let options = RunOptions::default();
    let (failure, replay): (RunOutcome, RunOutcome) = bugs::with(bug, || {
        assert!(bugs::active(bug));
        let failure = (0..seeds)
            .map(|seed| scenario.run(seed, &options))
            .find(|outcome| !outcome.passed())
            .unwrap_or_else(|| panic!("{seeds} seeds of {} never caught {bug:?}", scenario.name()));
        (failure.clone(), scenario.run(failure.seed, &options))
    });
    assert_eq!(replay.failure, failure.failure, "the failing seed replays");
    assert_eq!(replay.trace_hash, failure.trace_hash, "to the same trace");
    println!(
        "{bug:?} caught by {} at seed {}: {:?}",
        scenario.name(),
        failure.seed,
        failure.failure
    );
    let found = &failure.failure.as_ref().unwrap().anomaly;
    assert!(
        anomaly.is_empty() || anomaly.contains(&found.as_str()),
        "{bug:?} reported {found}, not one of {anomaly:?}"
    );
    assert!(!bugs::active(bug), "switched off again");
    let control = scenario.run(failure.seed, &options);
    assert!(
        control.passed(),
        "seed {} of {} fails without {bug:?} too: {:?}",
        failure.seed,
        scenario.name(),
        control.failure
    );
}

#[test]
fn no_bug_is_active_unless_switched_on_and_only_on_its_thread() {
    assert!(Bug::ALL.iter().all(|&bug| !bugs::active(bug)));
    bugs::with(Bug::ReplicaAckBeforeIsr, || {
        assert!(bugs::active(Bug::ReplicaAckBeforeIsr));
        let elsewhere = std::thread::spawn(|| Bug::ALL.map(bugs::active));
        assert_eq!(elsewhere.join().unwrap(), [false; Bug::ALL.len()]);
    });
    assert!(Bug::ALL.iter().all(|&bug| !bugs::active(bug)));
}

// Recovery of the partition log.

#[test]
fn skipping_torn_tail_truncation_is_caught_and_replays() {
    caught(Bug::SkipTornTailTruncation);
}

// The controller quorum.

#[test]
fn a_vote_for_a_stale_log_is_caught() {
    caught(Bug::RaftVoteForStaleLog);
}

#[test]
fn a_fenced_leader_is_caught() {
    caught(Bug::ControllerElectFenced);
}

#[test]
fn a_vote_forgotten_by_a_restart_is_caught() {
    caught(Bug::RaftVoteNotPersisted);
}

#[test]
fn committing_an_old_term_entry_by_counting_is_caught() {
    caught(Bug::RaftCommitOldTermByCount);
}

// Partition replication.

#[test]
fn acknowledging_before_the_isr_holds_a_batch_is_caught() {
    caught(Bug::ReplicaAckBeforeIsr);
}

#[test]
fn truncating_to_the_high_watermark_is_caught() {
    caught(Bug::ReplicaTruncateToHw);
}

#[test]
fn a_high_watermark_from_outside_the_isr_is_caught() {
    caught(Bug::ReplicaHwOutsideIsr);
}

#[test]
fn electing_a_replica_back_from_an_unclean_shutdown_is_caught() {
    caught(Bug::ControllerIgnoreUncleanShutdown);
}

#[test]
fn acknowledging_before_the_sync_completes_is_caught() {
    caught(Bug::ReplicaAckBeforeSync);
}

#[test]
fn a_vote_sent_before_its_sync_completes_is_caught() {
    caught(Bug::RaftVoteBeforeSync);
}

#[test]
fn serving_a_fetch_from_an_older_leader_epoch_is_caught() {
    caught(Bug::ReplicaSkipFetchEpochCheck);
}

// Consumer groups.

#[test]
fn a_commit_from_a_stale_generation_accepted_is_caught() {
    caught(Bug::GroupCommitStaleGeneration);
}

#[test]
fn a_coordinator_serving_before_it_loaded_is_caught() {
    caught(Bug::GroupServeBeforeLoaded);
}

#[test]
fn a_commit_acknowledged_before_replication_is_caught() {
    caught(Bug::GroupCommitBeforeReplicated);
}

#[test]
fn a_session_expiry_without_rebalance_is_caught() {
    caught(Bug::SessionExpiryWithoutRebalance);
}
