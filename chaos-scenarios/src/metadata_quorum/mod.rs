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

mod checks;
mod clients;
mod cluster;
mod node;
mod wire;

use sluice_core::raft::Role;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, NodeId};

use crate::swarm::{FaultMix, FaultSpec};
use crate::{Marks, RunOptions, RunOutcome, Scenario};
use cluster::{Cluster, Event, Shape};

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

/// The scenario `controller-partition`.
pub struct ControllerPartition;
/// The scenario `controller-failover`.
pub struct ControllerFailover;
/// The scenario `broker-fencing`.
pub struct BrokerFencing;
/// The scenario `many-topics`.
pub struct ManyTopics;
/// The scenario `metadata-catch-up`.
pub struct MetadataCatchUp;

const PARTITION_MARKS: &[&str] = &[
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
    "broker-fenced",
    "partition-leader-moved",
    "broker-unfenced",
    "controller-failover",
];

const MANY_TOPICS_MARKS: &[&str] = &[
    "topic-deleted",
    "log-compacted",
    "snapshot-installed",
    "controller-failover",
];

const CATCH_UP_MARKS: &[&str] = &[
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

    fn faults(self) -> &'static [FaultSpec] {
        match self {
            Story::Failover => FAILOVER_FAULTS,
            _ => FAULTS,
        }
    }

    /// The cluster this seed runs.
    fn shape(self, mix: &FaultMix, rng: &mut impl Rng) -> Shape {
        let controllers = if rng.chance(1, 3) { 5 } else { 3 };
        let mut shape = Shape::new(controllers, rng.range_inclusive(3, 5) as u32);
        // Knobs any story's mix may enable.
        let crash_points = u64::from(mix.rate_per_mille("crash-points"));
        shape.crash_after_vote_per_mille = crash_points;
        shape.crash_after_append_per_mille = crash_points / 4;
        if mix.enabled("tight-elections") {
            shape.election_timeout = (Duration::from_millis(300), Duration::from_millis(360));
            shape.heartbeat = Duration::from_millis(60);
        }
        if self == Story::Failover {
            shape.admin_interval_ms = (200, 1_000);
            if mix.enabled("one-entry-appends") {
                shape.append_entries_max = 1;
            }
        }
        if self == Story::ManyTopics {
            shape.admin_deletes = true;
            shape.admin_interval_ms = (50, 400);
        }
        if self == Story::CatchUp {
            shape.admin_interval_ms = (100, 600);
        }
        shape
    }
}

/// Runs `story` under `seed`.
fn run_story(story: Story, name: &'static str, seed: u64, options: &RunOptions) -> RunOutcome {
    let mut fault_rng = sluice_sim::SimRng::new(seed ^ 0x5eed_fa17);
    let mix = FaultMix::draw(&mut fault_rng, story.faults());
    let shape = story.shape(&mix, &mut fault_rng);
    let mut cluster = Cluster::new(seed, options.keep_trace, &shape, Marks::new(story.marks()));
    if mix.enabled("slow-links") {
        slow_links(&mut cluster);
    }
    let mut script = Script {
        story,
        mix,
        down: Vec::new(),
        commit_before_end: None,
    };
    let before_end = SAFETY_PHASE + LIVENESS_PHASE - Duration::from_secs(10);
    cluster
        .kernel
        .schedule_after(before_end, Event::Script(NOTE_COMMIT));
    cluster
        .kernel
        .schedule_after(Duration::from_secs(5), Event::Script(FAULT));
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE, Event::Script(HEAL_ALL));
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE + ELECTION_BOUND, Event::Script(ELECTION_CHECK));
    let end = Instant::ZERO + SAFETY_PHASE + LIVENESS_PHASE;
    cluster.run_until(end, &mut |cluster, step| script.step(cluster, step));
    if cluster.failure.is_none() {
        check_liveness(&mut cluster, &script);
    }
    note_stats(&mut cluster);
    let swarm = format!(
        "{} controllers={} brokers={} append_entries_max={}",
        script.mix, shape.controllers, shape.brokers, shape.append_entries_max
    );
    RunOutcome {
        seed,
        scenario: name,
        events: cluster.kernel.trace().events(),
        trace_hash: cluster.kernel.trace().hash(),
        failure: cluster.failure.take(),
        marks_hit: cluster.marks.clone().into_hit(),
        swarm,
        trace_lines: cluster.kernel.trace().lines().map(<[String]>::to_vec),
    }
}

/// Links between controllers take 5 to 50 ms: elections overlap and messages cross.
fn slow_links(cluster: &mut Cluster) {
    let slow = sluice_sim::LinkConfig {
        latency_min: Duration::from_millis(5),
        latency_max: Duration::from_millis(50),
        tail_max: Duration::from_millis(200),
        ..sluice_sim::LinkConfig::LAN
    };
    let n = cluster.nodes.len() as u32;
    for a in 1..=n {
        for b in (1..=n).filter(|b| *b != a) {
            cluster.net.set_link(NodeId(a), NodeId(b), slow);
        }
    }
}

macro_rules! story_scenario {
    ($type:ident, $story:expr, $name:literal, $description:literal) => {
        impl Scenario for $type {
            fn name(&self) -> &'static str {
                $name
            }

            fn description(&self) -> &'static str {
                $description
            }

            fn marks(&self) -> &'static [&'static str] {
                $story.marks()
            }

            fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
                run_story($story, $name, seed, options)
            }
        }
    };
}

story_scenario!(
    ControllerPartition,
    Story::Partition,
    "controller-partition",
    "Raft controllers under partitions (isolated node, minority/majority, one-way), pauses, \
     loss and crashes; one leader per term, identical committed logs and images, liveness \
     after healing"
);
story_scenario!(
    ControllerFailover,
    Story::Failover,
    "controller-failover",
    "the active controller crashes again and again during topic creation and leader \
     elections, sometimes flapping; Figure 8 windows and split votes on some seeds"
);
story_scenario!(
    BrokerFencing,
    Story::BrokerFencing,
    "broker-fencing",
    "brokers stall past broker.session.timeout.ms, are fenced, their partitions move, they \
     return and are unfenced; never a fenced leader"
);
story_scenario!(
    MetadataCatchUp,
    Story::CatchUp,
    "metadata-catch-up",
    "brokers follow the committed metadata log; one goes down long enough that the log is \
     compacted past it and it must load a snapshot, then registers again and is unfenced"
);
story_scenario!(
    ManyTopics,
    Story::ManyTopics,
    "many-topics",
    "hundreds of partitions created and deleted under partitions, pauses and crashes, with \
     log compaction and snapshot installs"
);

/// How long faults strike before everything heals.
const SAFETY_PHASE: Duration = Duration::from_secs(60);
/// Ten election timeouts (2 s at most each): an active controller must exist by then.
const ELECTION_BOUND: Duration = Duration::from_secs(20);
/// How long the healed cluster runs before the liveness checks.
const LIVENESS_PHASE: Duration = Duration::from_secs(40);

/// Script steps.
const FAULT: u32 = 0;
const HEAL_ONE: u32 = 1;
const HEAL_ALL: u32 = 2;
const ELECTION_CHECK: u32 = 3;
const RESTART: u32 = 4;
const NOTE_COMMIT: u32 = 5;

/// The faults of one run.
struct Script {
    story: Story,
    mix: FaultMix,
    /// Controllers crashed and waiting for their restart.
    down: Vec<usize>,
    /// The active controller's commit index ten seconds before the end.
    commit_before_end: Option<u64>,
}

impl Script {
    fn step(&mut self, cluster: &mut Cluster, step: u32) {
        match step {
            FAULT if cluster.kernel.now() < Instant::ZERO + SAFETY_PHASE => {
                let next = match self.story {
                    Story::Failover => self.crash_active(cluster),
                    Story::BrokerFencing => self.stall_broker(cluster),
                    Story::CatchUp => self.take_broker_down(cluster),
                    _ => self.strike(cluster),
                };
                cluster.kernel.schedule_after(next, Event::Script(FAULT));
            }
            FAULT => {}
            HEAL_ONE => self.heal(cluster),
            HEAL_ALL => {
                cluster.disable_crash_points();
                self.heal(cluster);
            }
            RESTART => self.restart_down(cluster),
            NOTE_COMMIT => {
                self.commit_before_end = active_controller(cluster)
                    .and_then(|leader| cluster.nodes[leader].raft.as_ref())
                    .map(|raft| raft.commit_index());
            }
            ELECTION_CHECK => {
                if active_controller(cluster).is_none() {
                    cluster.fail(
                        "no-controller",
                        "no active controller 20 s after healing".into(),
                    );
                }
            }
            _ => unreachable!("unknown script step {step}"),
        }
    }

    /// controller-failover: crash whoever is the active controller now — or, on flapping
    /// seeds, sometimes a voter that may just have granted a vote, restarted at once.
    fn crash_active(&mut self, cluster: &mut Cluster) -> Duration {
        let (low, span) = if self.mix.enabled("rapid-crashes") {
            (300, 1_200)
        } else {
            (2_000, 4_000)
        };
        let next = Duration::from_millis(low + cluster.rng.below(span));
        let flap = self.mix.enabled("flap") && cluster.rng.chance(1, 2);
        let victim = if flap && cluster.rng.chance(1, 3) {
            let n = cluster.nodes.len() as u64;
            Some(cluster.rng.below(n) as usize).filter(|i| cluster.nodes[*i].raft.is_some())
        } else {
            active_controller(cluster)
        };
        let Some(victim) = victim.filter(|v| !self.down.contains(v)) else {
            return next;
        };
        let kind = CrashKind::random(&mut cluster.rng);
        cluster.crash_node(victim, kind);
        self.down.push(victim);
        let restart_after = if flap {
            cluster.mark("flapping-controller");
            Duration::from_millis(cluster.rng.below(300))
        } else {
            Duration::from_millis(500 + cluster.rng.below(3_000))
        };
        cluster
            .kernel
            .schedule_after(restart_after, Event::Script(RESTART));
        next
    }

    /// broker-fencing: one broker stalls for longer than its session, now and then a
    /// controller fault on top.
    fn stall_broker(&mut self, cluster: &mut Cluster) -> Duration {
        let victim = cluster.rng.below(cluster.brokers.len() as u64) as usize;
        let stall = Duration::from_millis(10_000 + cluster.rng.below(8_000));
        let until = cluster.kernel.now() + stall;
        cluster.brokers[victim].muted_until = Some(until);
        cluster
            .kernel
            .record(format_args!("broker {victim} stalls until {until}"));
        if cluster.rng.chance(1, 3) {
            self.strike(cluster);
        }
        Duration::from_millis(4_000 + cluster.rng.below(6_000))
    }

    /// metadata-catch-up: a broker process goes down for 15 to 30 s (the topics created
    /// meanwhile get the controllers' logs compacted past it) and restarts with nothing in
    /// memory; now and then a controller fault on top.
    fn take_broker_down(&mut self, cluster: &mut Cluster) -> Duration {
        let victim = cluster.rng.below(cluster.brokers.len() as u64) as usize;
        let down = Duration::from_millis(15_000 + cluster.rng.below(15_000));
        // Back before the faults stop, so the liveness phase can hold it to being unfenced.
        let until = (cluster.kernel.now() + down).min(Instant::ZERO + SAFETY_PHASE);
        let broker = &mut cluster.brokers[victim];
        if broker
            .muted_until
            .is_none_or(|current| current <= cluster.kernel.now())
        {
            broker.muted_until = Some(until);
            broker.restart_on_wake = true;
            cluster
                .kernel
                .record(format_args!("broker {victim} down until {until}"));
        }
        if cluster.rng.chance(1, 4) {
            self.strike(cluster);
        }
        Duration::from_millis(5_000 + cluster.rng.below(10_000))
    }

    /// One fault from the seed's mix, healed after a few seconds.
    fn strike(&mut self, cluster: &mut Cluster) -> Duration {
        let next = Duration::from_millis(2_000 + cluster.rng.below(6_000));
        let n = cluster.nodes.len();
        let victim = cluster.rng.below(n as u64) as usize;
        let enabled: Vec<&str> = [
            "isolate",
            "split",
            "one-way",
            "pause",
            "crash",
            "lossy-links",
            "bridge",
        ]
        .into_iter()
        .filter(|fault| self.mix.enabled(fault))
        .collect();
        if enabled.is_empty() {
            return next;
        }
        let fault = enabled[cluster.rng.below(enabled.len() as u64) as usize];
        let id = |index: usize| NodeId(index as u32 + 1);
        match fault {
            "isolate" => (0..n)
                .filter(|i| *i != victim)
                .for_each(|i| cluster.net.partition(id(victim), id(i))),
            "split" => {
                let minority: Vec<usize> = (0..n).filter(|i| (i + victim) % n < n / 2).collect();
                for a in &minority {
                    (0..n)
                        .filter(|b| !minority.contains(b))
                        .for_each(|b| cluster.net.partition(id(*a), id(b)));
                }
            }
            "one-way" => {
                let other = (victim + 1 + cluster.rng.below(n as u64 - 1) as usize) % n;
                cluster.net.block(id(victim), id(other));
                cluster.mark("one-way-partition");
            }
            "pause" => {
                cluster.net.pause(id(victim));
                cluster.nodes[victim].paused = true;
            }
            "crash" if !self.down.contains(&victim) && cluster.nodes[victim].raft.is_some() => {
                let kind = CrashKind::random(&mut cluster.rng);
                cluster.crash_node(victim, kind);
                self.down.push(victim);
            }
            "bridge" => {
                // Jepsen's bridge: two halves that hear each other only through the victim, so
                // each half can win the victim's vote while the other cannot hear it.
                let others: Vec<usize> = (0..n).filter(|i| *i != victim).collect();
                let (left, right) = others.split_at(others.len() / 2);
                for a in left {
                    right
                        .iter()
                        .for_each(|b| cluster.net.partition(id(*a), id(*b)));
                }
                cluster.mark("bridge-partition");
            }
            "lossy-links" => {
                let link = sluice_sim::LinkConfig {
                    loss_ppm: 200_000,
                    ..sluice_sim::LinkConfig::LAN
                };
                let other = (victim + 1) % n;
                cluster.net.set_link(id(victim), id(other), link);
                cluster.net.set_link(id(other), id(victim), link);
            }
            _ => {}
        }
        cluster
            .kernel
            .record(format_args!("fault {fault} at n{}", victim + 1));
        let heal_after = Duration::from_millis(1_000 + cluster.rng.below(5_000));
        cluster
            .kernel
            .schedule_after(heal_after, Event::Script(HEAL_ONE));
        next
    }

    /// Restarts the crashed controllers.
    fn restart_down(&mut self, cluster: &mut Cluster) {
        for index in std::mem::take(&mut self.down) {
            cluster.start_node(index);
            cluster.mark("controller-restarted");
        }
    }

    /// Heals everything: links, pauses, crashed controllers.
    fn heal(&mut self, cluster: &mut Cluster) {
        if self.story != Story::Failover {
            cluster.net.heal();
            let n = cluster.nodes.len();
            for index in 0..n {
                let id = NodeId(index as u32 + 1);
                for other in 0..n {
                    cluster
                        .net
                        .set_link(id, NodeId(other as u32 + 1), sluice_sim::LinkConfig::LAN);
                }
                if cluster.nodes[index].paused {
                    cluster.nodes[index].paused = false;
                    cluster.net.resume(id);
                    cluster.reschedule(index);
                }
            }
            // Slow links are the seed's network, not a fault: they stay.
            if self.mix.enabled("slow-links") {
                slow_links(cluster);
            }
        }
        self.restart_down(cluster);
        cluster.kernel.record("healed");
    }
}

/// The node acting as the active controller in the highest term, if any.
fn active_controller(cluster: &Cluster) -> Option<usize> {
    let term = cluster.history.last_term()?;
    cluster.nodes.iter().position(|node| {
        node.controller.is_some()
            && node
                .raft
                .as_ref()
                .is_some_and(|raft| raft.role() == Role::Leader && raft.term() == term)
    })
}

/// After the healed phase: one active controller, every node applied what it committed,
/// every broker registered and unfenced, every partition led.
fn check_liveness(cluster: &mut Cluster, script: &Script) {
    let Some(leader) = active_controller(cluster) else {
        return cluster.fail("no-controller", "no active controller at the end".into());
    };
    let commit = cluster.nodes[leader]
        .raft
        .as_ref()
        .expect("running")
        .commit_index();
    let behind: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|node| node.applied + 8 < commit)
        .map(|node| format!("{} at {}", node.id, node.applied))
        .collect();
    if !behind.is_empty() {
        return cluster.fail(
            "stuck-follower",
            format!("commit {commit}, behind: {behind:?}"),
        );
    }
    // Brokers fetch while the admin keeps creating topics: they must have reached what was
    // committed ten seconds before the end.
    let target = script.commit_before_end.unwrap_or(0);
    let lagging: Vec<String> = cluster
        .brokers
        .iter()
        .filter(|broker| broker.follower.applied_index() < target)
        .map(|broker| {
            format!(
                "broker {} at {}",
                broker.broker_id,
                broker.follower.applied_index()
            )
        })
        .collect();
    if !lagging.is_empty() {
        return cluster.fail(
            "stuck-broker-metadata",
            format!("commit {target}: {lagging:?}"),
        );
    }
    let image = &cluster.nodes[leader].image;
    for broker in &cluster.brokers {
        let active = image
            .broker(broker.broker_id)
            .is_some_and(|b| b.is_active());
        if !active {
            let detail = format!("broker {} is not registered and unfenced", broker.broker_id);
            return cluster.fail("broker-not-unfenced", detail);
        }
    }
    let leaderless: Vec<String> = image
        .partitions()
        .filter(|(_, _, state)| state.leader < 0)
        .map(|(topic, partition, _)| format!("{topic:?}-{partition}"))
        .collect();
    if !leaderless.is_empty() {
        cluster.fail("leaderless-partition", format!("{leaderless:?}"));
    }
}

/// Marks that come from Raft's own counters.
fn note_stats(cluster: &mut Cluster) {
    let stats: Vec<_> = cluster
        .nodes
        .iter()
        .filter_map(|n| n.raft.as_ref().map(|r| *r.stats()))
        .collect();
    if stats
        .iter()
        .any(|s| s.pre_votes_refused_for_lease + s.votes_ignored_for_lease > 0)
    {
        cluster.mark("pre-vote-refused");
    }
    if stats.iter().any(|s| s.check_quorum_step_downs > 0) {
        cluster.mark("check-quorum-step-down");
    }
    if stats.iter().any(|s| s.log_truncations > 0) {
        cluster.mark("log-truncated");
    }
}
