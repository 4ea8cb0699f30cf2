//! Every bug the simulator found, as the scenario and seed that found it. Each seed failed
//! before its fix; each must pass for good. Replay one with
//! `sluice-chaos run SCENARIO --seed N --trace`.
//!
//! The seeds above the line found their bugs before the simulator drove `core::broker::Node`
//! (issue 12); the same seed now draws another run, kept as one more seed that must pass.

use sluice_chaos::registry::{lookup, scenarios};
use sluice_chaos::RunOptions;

/// (scenario, seed, what it found)
const REGRESSIONS: &[(&str, u64, &str)] = &[
    (
        "log-crash-recovery",
        26,
        "a crash while truncate_to removed later segments left a gap before the checkpoint's \
         recovery segment; recovery trusted it and reads stalled at the gap",
    ),
    (
        "log-crash-recovery",
        2244,
        "bit rot in the length field of a batch made reads of the intact batch before it fail",
    ),
    (
        "log-crash-recovery",
        1777,
        "the same read failure, with the rot in a batch header's length",
    ),
    (
        "log-crash-recovery",
        186,
        "recovery removed segments below a log start read from a checkpoint whose rename was \
         not yet durable; a machine crash mid-recovery brought the old checkpoint back but not \
         the removed segment, leaving a gap",
    ),
    (
        "log-crash-recovery",
        469,
        "the same gap after a machine crash during recovery",
    ),
    (
        "lossy-follower",
        7,
        "a restarted broker took up the roles its metadata replayed from its previous \
         incarnation, leading again an epoch whose tail its crash had taken: the HW clients \
         saw went down (fixed by acting on roles only under the broker's own registration and \
         never resuming an epoch already in its epoch cache)",
    ),
    ("lossy-follower", 4, "the same stale leadership"),
    ("lossy-follower", 5, "the same stale leadership"),
    ("lossy-follower", 15, "the same stale leadership"),
    ("lossy-follower", 19, "the same stale leadership"),
    (
        "full-disk",
        2,
        "a replica whose log could not be created on a full disk was never opened again once \
         space returned: the partition it was to lead stayed without a log",
    ),
    ("full-disk", 4, "the same replica never reopened"),
    ("full-disk", 6, "the same replica never reopened"),
    (
        "full-disk",
        60,
        "a broker elected leader while its disk was full could not write its epoch checkpoint, \
         kept the epoch in memory, then refused the leadership as an epoch it had led before: \
         its followers looped between OffsetForLeaderEpoch and OFFSET_OUT_OF_RANGE",
    ),
    ("full-disk", 8, "the same refused leadership"),
    ("full-disk", 26, "the same refused leadership"),
    ("full-disk", 32, "the same refused leadership"),
    // Found once the simulator drove core::broker::Node with bytes on the wire.
    (
        "whole-cluster-crash",
        0,
        "an operator enabling unclean.leader.election.enable on a topic whose replicas all came \
         back from unclean shutdowns got no election: the controller elected leaderless \
         partitions only at its periodic tick, which leases that keep renewing never brought",
    ),
    (
        "lossy-follower",
        65,
        "a broker's machine crashed; its next process never registered and crashed in turn; \
         the start after that found the page cache intact and vouched for the epoch of its \
         registration from before the machine crash, so a replica that had lost its tail led \
         and the committed log diverged (fixed: an unclean start durably forgets the epoch)",
    ),
    (
        "admin-under-faults",
        287,
        "a restarted broker held an admin request until it was registered and unfenced, ~48 s \
         later, and applied it after the client had given up and retried elsewhere: a deleted \
         topic came back (fixed: held admin requests time out as forwarded ones do)",
    ),
    // Found by the delete-records workload (DeleteRecords while consumers replay).
    (
        "leader-crash",
        17,
        "a follower whose log ended below its leader's log start (the leader deleted records it \
         never got) fetched OFFSET_OUT_OF_RANGE forever and never caught up (fixed: it starts \
         over at the leader's log start, Kafka's truncateFullyAndStartAt)",
    ),
    (
        "leader-crash",
        47,
        "the same follower stuck below its leader's log start",
    ),
    (
        "isr-shrink-expand",
        4,
        "the same follower stuck below its leader's log start",
    ),
    (
        "isr-shrink-expand",
        23,
        "a follower started over at its leader's log start, which DeleteRecords had put inside \
         a batch: the batch began below the follower's empty log and was refused for ever \
         (fixed: the log starts over at the batch's base, as KAFKA-6179)",
    ),
    (
        "rolling-restart",
        34,
        "the same batch below an emptied follower log",
    ),
    (
        "full-disk",
        8,
        "a full disk while DeleteRecords or a segment roll wrote the log's checkpoint failed \
         the log for good while its replica stayed online, so a leader answered every fetch \
         with KAFKA_STORAGE_ERROR (fixed: the old checkpoint stays whole, the step is refused \
         or stands, the log stays usable)",
    ),
    (
        "full-disk",
        17,
        "the same log failed by a full disk at a checkpoint",
    ),
    (
        "log-crash-recovery",
        31,
        "(in that fix, before it landed) a full disk at the periodic checkpoint after a synced \
         append refused the append that had already changed the log",
    ),
    // Found while syncs became outputs (issue 13).
    (
        "leader-isolated",
        218,
        "(at 97c11de, whose trace a later change moved) DeleteRecords took the new leader's \
         whole first epoch, so its epoch cache dropped epoch 0; the old leader, following, \
         asked for epoch 0's end, got UNDEFINED and truncated to its own log start, below the \
         high watermark, while it stayed in the ELR (fixed: an epoch below the cache answers \
         the next epoch's start, as Kafka's endOffsetFor)",
    ),
    (
        "whole-cluster-crash",
        189,
        "(with that fix) after an unclean election a follower's epochs agreed up to the \
         leader's log start, which DeleteRecords had put inside a batch; the follower's log \
         ended inside that batch, the batch could not continue it, and it asked and fetched \
         for ever (fixed: a follower whose whole log lies below the leader's log start cuts \
         it and starts over at the batch's base, KAFKA-6179 for a log that is not empty)",
    ),
    (
        "stale-follower",
        220,
        "the same follower stuck inside the leader's first batch",
    ),
    (
        "log-crash-recovery",
        173,
        "(found while cuts became outputs, before it was committed) a cut removed and \
         shortened segments before its lowered checkpoint was durable; a machine crash found the \
         old checkpoint trusting a segment the cut had shortened, and reads stalled (fixed: the \
         files change only once the lowered checkpoint is durable)",
    ),
    // Found by the consumer-group scenarios.
    (
        "group-rebalance",
        1,
        "a group member speaking FindCoordinator v0-v3 never found its coordinator (the answer \
         names no key, and the GroupConsumer looked for its group id), and one speaking \
         OffsetFetch v0-v7 never resumed its partitions (the answer names no group): fixed by \
         taking a keyless answer's one coordinator, and an unnamed answer's one group, as the \
         one asked for",
    ),
    (
        "coordinator-failover",
        57,
        "(before the successor strike changed this scenario's draws) a leader whose ISR \
         expansion was committed but whose answer was lost gave the change up on the timeout, \
         went back to its smaller ISR and moved its high watermark past the log of a broker the \
         controller held in the ISR (unclean-admission): fixed by keeping a change in doubt in \
         the maximal ISR and sending it again until an answer or the metadata settles it, as \
         Kafka does; unit test \
         replica::tests::an_isr_expansion_whose_answer_was_lost_holds_the_high_watermark_back",
    ),
    (
        "idempotent-retry-failover",
        451,
        "a producer's retry was appended twice (partition 0 value 686 at offsets 147 and 149): \
         DeleteRecords had moved the log start past the producer's last batch, and replicas \
         rebuilt their producer state from the log start, on a follower's truncation and on a \
         restarted broker's open, so the producer was unknown to the next leader, which took \
         the retry at any sequence (fixed: the rebuild scans every stored batch, also those \
         below the log start, and a truncation keeps what it knew of deleted segments)",
    ),
];

#[test]
fn every_seed_that_found_a_bug_passes() {
    let registry = scenarios();
    for &(name, seed, found) in REGRESSIONS {
        let scenario = lookup(&registry, name).expect("registered scenario");
        let outcome = scenario.run(seed, &RunOptions::default());
        assert!(
            outcome.passed(),
            "{name} seed {seed} ({found}): {:?}",
            outcome.failure
        );
    }
}
