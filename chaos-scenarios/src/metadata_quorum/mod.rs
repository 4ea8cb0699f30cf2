//! Scenarios of the metadata quorum: Raft controllers electing, replicating and applying the
//! controller's records while brokers register and heartbeat and an admin creates topics.
//!
//! Every story runs a safety phase with faults, heals everything, and runs a liveness phase.
//! Safety is checked after every step: one Raft leader per term, one committed entry per index
//! on every node, identical images at equal indexes, the metadata image's own invariants (no
//! fenced or out-of-ISR leader, epochs only grow), one partition leader per leader epoch.
//! Liveness, after healing: an active controller within ten election timeouts, every node
//! caught up, every broker registered and unfenced, every partition led.
//!
//! - `controller-partition`: partitions (a node isolated, a minority cut from a majority,
//!   one-way links), pauses, lossy links and crashes of any controller.
//! - `controller-failover`: the active controller crashes (process or machine) again and again
//!   while it creates topics and moves leaders, sometimes restarting at once (a flapping node);
//!   some seeds send one entry per AppendEntries and use slow links and tight election timeouts,
//!   which opens Raft's Figure 8 window and split votes.
//! - `broker-fencing`: brokers stall past their session timeout, are fenced, their partitions
//!   move, and they return and are unfenced.
//! - `many-topics`: hundreds of partitions created and deleted under the partition faults.

pub(crate) mod liveness;
pub(crate) mod script;

use sluice_core::time::{Duration, Instant};

use crate::cluster::{AdminClient, Cluster, Event, Role, Settings, Topology};
use crate::swarm::{FaultMix, FaultSpec};
use crate::{Marks, RunOptions, RunOutcome};
use liveness::{check_liveness, note_stats};
use script::{
    Script, ADMIN_TICK, ELECTION_BOUND, ELECTION_CHECK, FAULT, HEAL_ALL, LIVENESS_PHASE,
    NOTE_COMMIT, SAFETY_PHASE, UNCLEAN_RECOVERY,
};

/// One of the stories in the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Story {
    /// `controller-partition`.
    Partition,
    /// `controller-failover`.
    Failover,
    /// `broker-fencing`.
    BrokerFencing,
    /// `many-topics`.
    ManyTopics,
    /// `metadata-catch-up`.
    CatchUp,
}

const PARTITION_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "controller-elected",
    "controller-failover",
    "pre-vote-refused",
    "check-quorum-step-down",
    "log-truncated",
    "log-compacted",
    "snapshot-installed",
    "broker-unfenced",
    "one-way-partition",
    "controller-restarted",
    "crash-point",
    "bridge-partition",
];

const FAILOVER_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "controller-failover",
    "active-controller-crashed",
    "crash-with-uncommitted-decisions",
    "process-crash",
    "machine-crash",
    "flapping-controller",
    "crash-point",
    "log-truncated",
    "snapshot-installed",
    "partition-leader-moved",
];

const FENCING_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "broker-fenced",
    "partition-leader-moved",
    "broker-unfenced",
    "controller-failover",
    "controlled-shutdown",
];

const MANY_TOPICS_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "topic-deleted",
    "log-compacted",
    "snapshot-installed",
    "controller-failover",
];

const CATCH_UP_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "broker-loaded-snapshot",
    "broker-fenced",
    "broker-unfenced",
    "broker-became-leader",
    "log-compacted",
];

const FAULTS: &[FaultSpec] = &[
    FaultSpec::new("isolate", 1000, 1000),
    FaultSpec::new("split", 1000, 1000),
    FaultSpec::new("one-way", 1000, 1000),
    FaultSpec::new("pause", 1000, 1000),
    FaultSpec::new("crash", 1000, 1000),
    FaultSpec::new("lossy-links", 1000, 1000),
    FaultSpec::new("bridge", 1000, 1000),
    FaultSpec::new("slow-links", 1000, 1000).enabled_per_mille(300),
    FaultSpec::new("crash-points", 50, 300).enabled_per_mille(300),
    FaultSpec::new("tight-elections", 1000, 1000).enabled_per_mille(300),
];

const FAILOVER_FAULTS: &[FaultSpec] = &[
    FaultSpec::new("flap", 1000, 1000),
    FaultSpec::new("rapid-crashes", 1000, 1000),
    FaultSpec::new("crash-points", 50, 300),
    FaultSpec::new("slow-links", 1000, 1000),
    FaultSpec::new("one-entry-appends", 1000, 1000),
    FaultSpec::new("tight-elections", 1000, 1000),
];

impl Story {
    fn marks(self) -> &'static [&'static str] {
        match self {
            Story::Partition => PARTITION_MARKS,
            Story::Failover => FAILOVER_MARKS,
            Story::BrokerFencing => FENCING_MARKS,
            Story::ManyTopics => MANY_TOPICS_MARKS,
            Story::CatchUp => CATCH_UP_MARKS,
        }
    }

    fn known_failure(self) -> Option<&'static str> {
        None
    }

    fn faults(self) -> &'static [FaultSpec] {
        match self {
            Story::Failover => FAILOVER_FAULTS,
            _ => FAULTS,
        }
    }

    /// The settings of this seed's nodes and the admin's pace.
    fn settings(self, mix: &FaultMix) -> (Settings, (u64, u64)) {
        let mut settings = Settings::new();
        // These stories are about the metadata quorum: brokers fsync, so that a machine crash
        // of a combined node never makes a single-replica partition wait for an operator's
        // unclean election (KIP-966), which is the replication stories' business.
        settings.node.replica.durability = sluice_core::replica::Durability::Fsync;
        // Knobs any story's mix may enable.
        let crash_points = u64::from(mix.rate_per_mille("crash-points"));
        settings.crash_after_vote_per_mille = crash_points;
        settings.crash_after_append_per_mille = crash_points;
        if mix.enabled("tight-elections") {
            settings.election_timeout = Duration::from_millis(300);
            settings.heartbeat = Duration::from_millis(60);
        }
        let admin_interval_ms = match self {
            Story::Failover => (200, 1_000),
            Story::ManyTopics => (50, 400),
            Story::CatchUp => (100, 600),
            _ => (1_000, 4_000),
        };
        if self == Story::Failover && mix.enabled("one-entry-appends") {
            settings.append_entries_max = 1;
        }
        (settings, admin_interval_ms)
    }
}

/// Runs `story` under `seed`.
fn run_story(story: Story, name: &'static str, seed: u64, options: &RunOptions) -> RunOutcome {
    let mut fault_rng = sluice_sim::SimRng::new(seed ^ 0x5eed_fa17);
    let mix = FaultMix::draw(&mut fault_rng, story.faults());
    let topology = Topology::draw(&mut fault_rng, &[3, 5], (3, 5));
    let (settings, admin_interval_ms) = story.settings(&mix);
    let marks = Marks::new(story.marks());
    let mut cluster = Cluster::new(seed, options.keep_trace, topology, &settings, marks);
    if mix.enabled("slow-links") {
        slow_links(&mut cluster);
    }
    let admin = AdminClient::new(cluster.topology.broker_ids(), &mut cluster.rng);
    let admin = cluster.add_client(Role::Admin(admin));
    let mut script = Script {
        story,
        mix,
        down: Vec::new(),
        commit_before_end: None,
        paused: Vec::new(),
        admin,
        admin_interval_ms,
        next_topic: 0,
        deletes: story == Story::ManyTopics,
    };
    let before_end = SAFETY_PHASE + LIVENESS_PHASE - Duration::from_secs(10);
    cluster
        .kernel
        .schedule_after(before_end, Event::Script(NOTE_COMMIT));
    cluster
        .kernel
        .schedule_after(Duration::from_secs(3), Event::Script(ADMIN_TICK));
    cluster
        .kernel
        .schedule_after(Duration::from_secs(5), Event::Script(FAULT));
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE, Event::Script(HEAL_ALL));
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE + ELECTION_BOUND, Event::Script(ELECTION_CHECK));
    cluster.kernel.schedule_after(
        SAFETY_PHASE + ELECTION_BOUND + Duration::from_secs(2),
        Event::Script(UNCLEAN_RECOVERY),
    );
    let end = Instant::ZERO + SAFETY_PHASE + LIVENESS_PHASE;
    cluster.run_until(end, &mut |cluster, step| script.step(cluster, step));
    if cluster.failure.is_none() {
        check_liveness(&mut cluster, &script);
    }
    note_stats(&mut cluster);
    let swarm = format!(
        "{} append_entries_max={}",
        script.mix, settings.append_entries_max
    );
    cluster.outcome(seed, name, swarm)
}

/// Links between controllers take 5 to 50 ms: elections overlap and messages cross.
pub(crate) fn slow_links(cluster: &mut Cluster) {
    let slow = sluice_sim::LinkConfig {
        latency_min: Duration::from_millis(5),
        latency_max: Duration::from_millis(50),
        tail_max: Duration::from_millis(200),
        ..sluice_sim::LinkConfig::LAN
    };
    let controllers: Vec<_> = cluster
        .controller_indexes()
        .into_iter()
        .map(|i| cluster.procs[i].net_id)
        .collect();
    for a in &controllers {
        for b in controllers.iter().filter(|b| *b != a) {
            cluster.net.set_link(*a, *b, slow);
        }
    }
}

story_scenario!(
    ControllerPartition,
    Story::Partition,
    run_story,
    "controller-partition",
    "Raft controllers under partitions (isolated node, minority/majority, one-way), pauses, \
     loss and crashes; one leader per term, identical committed logs and images, liveness \
     after healing"
);
story_scenario!(
    ControllerFailover,
    Story::Failover,
    run_story,
    "controller-failover",
    "the active controller crashes again and again during topic creation and leader \
     elections, sometimes flapping; Figure 8 windows and split votes on some seeds"
);
story_scenario!(
    BrokerFencing,
    Story::BrokerFencing,
    run_story,
    "broker-fencing",
    "brokers stall past broker.session.timeout.ms, are fenced, their partitions move, they \
     return and are unfenced; never a fenced leader"
);
story_scenario!(
    MetadataCatchUp,
    Story::CatchUp,
    run_story,
    "metadata-catch-up",
    "brokers follow the committed metadata log; one goes down long enough that the log is \
     compacted past it and it must load a snapshot, then registers again and is unfenced"
);
story_scenario!(
    ManyTopics,
    Story::ManyTopics,
    run_story,
    "many-topics",
    "hundreds of partitions created and deleted under partitions, pauses and crashes, with \
     log compaction and snapshot installs"
);
