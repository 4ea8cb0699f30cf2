//! The canary of `idempotent-retry-failover`: the same story with producers that are not
//! idempotent must be caught appending retried batches twice, or the scenario's passing says
//! nothing. Its first failing seed replays to the same failure and trace.

use sluice_chaos::replication::retry_failover_without_idempotence;

#[test]
fn retries_without_idempotence_are_caught_as_duplicates() {
    let failure = (0..50)
        .map(retry_failover_without_idempotence)
        .find(|outcome| !outcome.passed())
        .expect("50 seeds without idempotence never duplicated a retried batch");
    let anomaly = &failure.failure.as_ref().unwrap().anomaly;
    assert!(anomaly.starts_with("duplicate"), "{:?}", failure.failure);
    let replay = retry_failover_without_idempotence(failure.seed);
    assert_eq!(replay.failure, failure.failure, "the failing seed replays");
    assert_eq!(replay.trace_hash, failure.trace_hash, "to the same trace");
    println!("caught at seed {}: {:?}", failure.seed, failure.failure);
}
