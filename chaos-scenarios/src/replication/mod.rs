//! Scenarios of partition replication: three to five brokers follow the metadata quorum and
//! replicate one topic (replication factor 3, `min.insync.replicas` 2) while producers write
//! unique values with acks=all and consumers read every partition. Faults strike brokers for
//! the safety phase, then everything heals, a fresh consumer reads every partition to its high
//! watermark, and the run is judged:
//!
//! - while it runs (every 500 ms): HW ≤ LEO on every replica, a leader's HW never goes down
//!   within its epoch, and any two replicas agree below the smaller of their HWs;
//! - at the end: every replica equals its leader's log, nothing is pending, and the client
//!   history passes the checker (no lost, duplicated, reordered or inconsistent record).

mod script;

use sluice_core::client::OffsetResetPolicy;
use sluice_core::replica::Durability;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};

use crate::cluster::{
    AdminClient, AdminOp, Cluster, Event, Settings, SimClient, Topology, Workload,
};
use crate::swarm::{FaultMix, FaultSpec};
use crate::{Marks, RunOptions, RunOutcome};
use script::{ReplicationScript, FAULT, FINAL_READ, HEAL, VERDICT};

/// The workload's topic.
pub const TOPIC: &str = "jepsen";
/// How long faults strike.
pub const SAFETY_PHASE: Duration = Duration::from_secs(60);
/// How long the healed cluster runs before the final read starts.
pub const SETTLE: Duration = Duration::from_secs(30);
/// How long the final reader has.
pub const FINAL_READ_TIME: Duration = Duration::from_secs(20);

/// Which faults a story strikes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Story {
    /// `leader-crash`.
    LeaderCrash,
    /// `follower-truncation`.
    FollowerTruncation,
    /// `leader-isolated`.
    LeaderIsolated,
    /// `isr-shrink-expand`.
    IsrShrinkExpand,
    /// `min-isr`.
    MinIsr,
    /// `lossy-follower`.
    LossyFollower,
    /// `rolling-restart`.
    RollingRestart,
    /// `broker-flapping`.
    BrokerFlapping,
    /// `slow-disk`.
    SlowDisk,
    /// `full-disk`.
    FullDisk,
    /// `whole-cluster-crash`.
    WholeClusterCrash,
    /// `stale-follower`.
    StaleFollower,
    /// `idempotent-retry-failover`.
    IdempotentRetryFailover,
}

const LEADER_CRASH_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "consumer-waited-for-new-leader-hw",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "leader-crashed",
    "machine-crash",
    "follower-truncated-by-epoch",
    "isr-shrink",
    "isr-expand",
];
const TRUNCATION_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "follower-truncated-by-epoch",
    "two-fast-failovers",
    "isr-expand",
];
const ISOLATED_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "leader-isolated",
    "follower-truncated-by-epoch",
    "isr-shrink",
];
const ISR_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "isr-shrink",
    "isr-expand",
];
const MIN_ISR_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "not-enough-replicas",
    "isr-expand",
];
const LOSSY_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "machine-crash",
    "lossy-replica-excluded",
    "isr-expand",
];

const ROLLING_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "controlled-shutdown",
    "isr-expand",
];
const FLAPPING_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "broker-flapped",
    "isr-expand",
];
const SLOW_DISK_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "slow-disk",
];
const FULL_DISK_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "disk-full",
];
const STALE_FOLLOWER_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "stale-follower",
    "controlled-shutdown",
    "fenced-follower-fetch",
    "follower-truncated-by-epoch",
];
const RETRY_FAILOVER_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "follower-restarted-at-leader-start",
    "produce-answer-lost",
    "leader-crashed",
    "duplicate-retry-absorbed",
];
const WHOLE_CLUSTER_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "file-range-reads",
    "acks-all-acknowledged",
    "records-deleted",
    "reset-to-latest-watermark",
    "fetch-range-cut",
    "whole-cluster-crash",
    "unclean-recovery",
    "strike-after-produce-answer",
];

const FAULTS: &[FaultSpec] = &[
    FaultSpec::new("fsync", 1000, 1000).enabled_per_mille(500),
    FaultSpec::new("machine-crashes", 1000, 1000).enabled_per_mille(500),
    FaultSpec::new("lossy-links", 1000, 1000).enabled_per_mille(300),
    FaultSpec::new("stale-metadata", 1000, 1000).enabled_per_mille(500),
    // Not a fault but a workload the others meet: an operator deletes records below an offset
    // (kafka-delete-records) while the consumer replays from the beginning, over small
    // segments, so whole segments go while they are being read.
    FaultSpec::new("delete-records", 1000, 1000).enabled_per_mille(500),
];

impl Story {
    fn marks(self) -> &'static [&'static str] {
        match self {
            Story::LeaderCrash => LEADER_CRASH_MARKS,
            Story::FollowerTruncation => TRUNCATION_MARKS,
            Story::LeaderIsolated => ISOLATED_MARKS,
            Story::IsrShrinkExpand => ISR_MARKS,
            Story::MinIsr => MIN_ISR_MARKS,
            Story::LossyFollower => LOSSY_MARKS,
            Story::RollingRestart => ROLLING_MARKS,
            Story::BrokerFlapping => FLAPPING_MARKS,
            Story::SlowDisk => SLOW_DISK_MARKS,
            Story::FullDisk => FULL_DISK_MARKS,
            Story::WholeClusterCrash => WHOLE_CLUSTER_MARKS,
            Story::StaleFollower => STALE_FOLLOWER_MARKS,
            Story::IdempotentRetryFailover => RETRY_FAILOVER_MARKS,
        }
    }

    fn known_failure(self) -> Option<&'static str> {
        None
    }

    /// Whether brokers run in fsync mode: drawn per seed, except that a lossy machine crash
    /// (page cache lost) is the story of `lossy-follower` alone.
    fn durability(self, mix: &FaultMix) -> Durability {
        match self {
            Story::LossyFollower => Durability::PageCache,
            _ if mix.enabled("fsync") => Durability::Fsync,
            _ => Durability::PageCache,
        }
    }
}

fn run_story(story: Story, name: &'static str, seed: u64, options: &RunOptions) -> RunOutcome {
    let idempotent = story == Story::IdempotentRetryFailover;
    run_story_with(story, name, seed, options, idempotent)
}

/// `idempotent-retry-failover` with producers that are not idempotent: retries of batches
/// whose answers were lost append them twice, which the checker must report (`duplicate`).
/// The canary that shows the scenario can fail.
pub fn retry_failover_without_idempotence(seed: u64) -> RunOutcome {
    let story = Story::IdempotentRetryFailover;
    let options = RunOptions::default();
    run_story_with(story, "idempotent-retry-failover", seed, &options, false)
}

fn run_story_with(
    story: Story,
    name: &'static str,
    seed: u64,
    options: &RunOptions,
    idempotent: bool,
) -> RunOutcome {
    let mut fault_rng = sluice_sim::SimRng::new(seed ^ 0x5eed_da7a);
    let mix = FaultMix::draw(&mut fault_rng, FAULTS);
    let mut topology = Topology::draw(&mut fault_rng, &[1, 3], (3, 5));
    let partitions = fault_rng.range_inclusive(1, 3) as i32;
    let latest = fault_rng.chance(1, 3);
    let mut assignments = Vec::new();
    if story == Story::StaleFollower && topology.combined {
        // Its follower is cut from the controllers yet reaches its leader, so both are
        // broker-only nodes (4 and 5) beside three combined ones; the third replica is
        // combined, so leadership moves through a node that is a controller too.
        topology.controllers = 3;
        topology.brokers = 5;
        assignments = (0..partitions)
            .map(|p| {
                let (first, second) = if p % 2 == 0 { (4, 5) } else { (5, 4) };
                (p, vec![first, second, 1 + p % 3])
            })
            .collect();
    }
    let mut settings = Settings::replicated(story.durability(&mix));
    if mix.enabled("delete-records") {
        // Below Kafka's 1 MiB floor for segment.bytes, which the broker's config parser
        // enforces: the simulator's records are a few bytes, and segments must roll and be
        // deleted within a run.
        settings.node.replica.log.segment_bytes = 4096;
    }
    let marks = Marks::new(story.marks());
    let mut cluster = Cluster::new(seed, options.keep_trace, topology, &settings, marks);
    cluster.workload = Some(Workload::new(TOPIC, partitions));
    let broker_ids = cluster.topology.broker_ids();
    let mut admin = AdminClient::new(broker_ids.clone(), &mut cluster.rng);
    admin.insistent = true;
    admin.submit(AdminOp::Create {
        name: TOPIC.to_string(),
        partitions,
        replication_factor: 3,
        assignments,
        configs: Vec::new(),
    });
    cluster.add_client(crate::cluster::Role::Admin(admin));
    for _ in 0..2 {
        let role = match story {
            Story::IdempotentRetryFailover => {
                SimClient::retrying_producer(broker_ids.clone(), idempotent)
            }
            _ => SimClient::producer(broker_ids.clone()),
        };
        let producer = cluster.add_client(role);
        cluster.set_producing(producer, true);
    }
    // Kafka's Java consumer resets to the latest offset by default; others to the earliest.
    let reset = match latest {
        true => OffsetResetPolicy::Latest,
        false => OffsetResetPolicy::Earliest,
    };
    let consumer = cluster.add_client(SimClient::consumer_resetting_to(broker_ids.clone(), reset));
    let mut script = ReplicationScript::new(story, mix);
    if script.mix.enabled("delete-records") {
        let trimmer = AdminClient::new(broker_ids.clone(), &mut cluster.rng);
        let trimmer = cluster.add_client(crate::cluster::Role::Admin(trimmer));
        script.delete_records(&mut cluster, consumer, trimmer);
    }
    let start = Duration::from_secs(8);
    cluster.kernel.schedule_after(start, Event::Script(FAULT));
    cluster.kernel.schedule_after(start, Event::Audit);
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE, Event::Script(HEAL));
    let read_at = SAFETY_PHASE + SETTLE;
    cluster
        .kernel
        .schedule_after(read_at, Event::Script(FINAL_READ));
    let end = read_at + FINAL_READ_TIME;
    cluster.kernel.schedule_after(end, Event::Script(VERDICT));
    let until = Instant::ZERO + end + Duration::from_millis(1);
    cluster.run_until(until, &mut |cluster, step| script.step(cluster, step));
    note_replica_stats(&mut cluster);
    let reset = if latest { "latest" } else { "earliest" };
    let swarm = format!("{} partitions={partitions} reset={reset}", script.mix);
    cluster.outcome(seed, name, swarm)
}

story_scenario!(
    LeaderCrash,
    Story::LeaderCrash,
    run_story,
    "leader-crash",
    "partition leaders crash (process or machine) during acks=all writes and restart; nothing \
     acknowledged is lost, replicas converge"
);
story_scenario!(
    FollowerTruncation,
    Story::FollowerTruncation,
    run_story,
    "follower-truncation",
    "KIP-101/KIP-279: a follower restarts and the leader dies before it catches up; two fast \
     successive failovers; followers truncate by leader epoch, never by HW"
);
story_scenario!(
    LeaderIsolated,
    Story::LeaderIsolated,
    run_story,
    "leader-isolated",
    "the leader is cut off from the controllers and the other brokers while some clients still \
     reach it; a new leader is elected and the old one cannot acknowledge acks=all writes"
);
story_scenario!(
    IsrShrinkExpand,
    Story::IsrShrinkExpand,
    run_story,
    "isr-shrink-expand",
    "a follower is cut off from the other brokers past replica.lag.time.max.ms, leaves the ISR, \
     and rejoins once it has caught up"
);
story_scenario!(
    LossyFollower,
    Story::LossyFollower,
    run_story,
    "lossy-follower",
    "page-cache durability: replicas machine-crash, losing their unsynced tails, and leaders \
     crash after them; a lossy replica must not lead or rejoin the ISR before it catches up"
);
story_scenario!(
    RollingRestart,
    Story::RollingRestart,
    run_story,
    "rolling-restart",
    "every broker in turn shuts down (controlled: its leaderships move first) and restarts \
     while acks=all writes continue; each rejoins the ISR"
);
story_scenario!(
    BrokerFlapping,
    Story::BrokerFlapping,
    run_story,
    "broker-flapping",
    "one broker crashes or loses its links every second or two, too briefly for its lease, \
     churning its registrations and roles; nothing acknowledged is lost"
);
story_scenario!(
    SlowDisk,
    Story::SlowDisk,
    run_story,
    "slow-disk",
    "a leader's or follower's disk turns slow (fsyncs stalling up to 5 s) for a while: its answers lag, \
     a slow follower may leave the ISR, and nothing acknowledged is lost"
);
story_scenario!(
    FullDisk,
    Story::FullDisk,
    run_story,
    "full-disk",
    "a broker's disk fills: its appends fail with KAFKA_STORAGE_ERROR or fall behind, its log \
     stays intact, and it catches up once space returns"
);
story_scenario!(
    WholeClusterCrash,
    Story::WholeClusterCrash,
    run_story,
    "whole-cluster-crash",
    "every broker machine crashes at once and restarts. In fsync mode nothing acknowledged is \
     lost. In page-cache mode every broker is back from an unclean shutdown, so partitions stay \
     leaderless until an operator's unclean election; the acknowledged records the chosen \
     replica lacks may be lost, and nothing else is"
);
story_scenario!(
    StaleFollower,
    Story::StaleFollower,
    run_story,
    "stale-follower",
    "a follower cut from the controllers keeps fetching in the leader epoch it knows while \
     leadership moves away and back to the same broker; the leader refuses it \
     (FENCED_LEADER_EPOCH) until it learns the new epoch and truncates"
);
story_scenario!(
    IdempotentRetryFailover,
    Story::IdempotentRetryFailover,
    run_story,
    "idempotent-retry-failover",
    "idempotent producers (acks=all, retries): a leader appends and replicates batches whose \
     answers are lost, then crashes; the producers retry on the new leader, which answers with \
     the original offsets: no duplicate, nothing lost"
);
story_scenario!(
    MinIsr,
    Story::MinIsr,
    run_story,
    "min-isr",
    "two brokers go down: acks=all writes are refused with NOT_ENOUGH_REPLICAS, not lost; the \
     ISR expands again when they return"
);

/// Marks read off the replica managers' counters.
fn note_replica_stats(cluster: &mut Cluster) {
    let mut totals = cluster.retired.clone();
    for node in cluster.procs.iter().filter_map(|p| p.node.as_ref()) {
        totals.absorb(node.replica_manager().stats());
    }
    for (hit, mark) in [
        (totals.epoch_truncations > 0, "follower-truncated-by-epoch"),
        (totals.isr_shrinks_asked > 0, "isr-shrink"),
        (totals.isr_expands_asked > 0, "isr-expand"),
        (totals.isr_changes_in_doubt > 0, "isr-change-in-doubt"),
        (totals.not_enough_replicas > 0, "not-enough-replicas"),
        (totals.fenced_follower_fetches > 0, "fenced-follower-fetch"),
        (totals.duplicate_batches > 0, "duplicate-retry-absorbed"),
        (
            totals.restarted_at_leader_start > 0,
            "follower-restarted-at-leader-start",
        ),
    ] {
        if hit {
            cluster.mark(mark);
        }
    }
}
