//! Scenarios of the metadata quorum: Raft controllers electing, replicating and applying the
//! controller's records while brokers register and heartbeat and an admin creates topics.
//!
//! `controller-partition`: 3 or 5 controllers under partitions (a node isolated, a minority
//! cut from a majority, one-way links), pauses, lossy links and process or machine crashes,
//! then a liveness phase with every fault healed. Safety is checked after every step: one Raft
//! leader per term, one committed entry per index on every node, identical images at equal
//! indexes, the metadata image's own invariants (no fenced or out-of-ISR leader, epochs only
//! grow), one partition leader per leader epoch. Liveness, after healing: an active
//! controller within ten election timeouts, every node caught up, every broker registered
//! and unfenced, every partition led.

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
use cluster::{Cluster, Event};

/// The scenario; see the module documentation.
pub struct ControllerPartition;

const MARKS: &[&str] = &[
    "controller-elected",
    "controller-failover",
    "pre-vote-refused",
    "check-quorum-step-down",
    "log-truncated",
    "log-compacted",
    "snapshot-installed",
    "broker-fenced",
    "broker-unfenced",
    "partition-leader-moved",
    "one-way-partition",
    "controller-restarted",
];

const FAULTS: &[FaultSpec] = &[
    FaultSpec::new("isolate", 1000, 1000),
    FaultSpec::new("split", 1000, 1000),
    FaultSpec::new("one-way", 1000, 1000),
    FaultSpec::new("pause", 1000, 1000),
    FaultSpec::new("crash", 1000, 1000),
    FaultSpec::new("lossy-links", 1000, 1000),
];

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

impl Scenario for ControllerPartition {
    fn name(&self) -> &'static str {
        "controller-partition"
    }

    fn description(&self) -> &'static str {
        "Raft controllers under partitions (isolated node, minority/majority, one-way), pauses, \
         loss and crashes; one leader per term, identical committed logs and images, then \
         liveness after healing"
    }

    fn marks(&self) -> &'static [&'static str] {
        MARKS
    }

    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        let mut fault_rng = sluice_sim::SimRng::new(seed ^ 0x5eed_fa17);
        let mix = FaultMix::draw(&mut fault_rng, FAULTS);
        let controllers = if fault_rng.chance(1, 3) { 5 } else { 3 };
        let brokers = fault_rng.range_inclusive(3, 5) as u32;
        let mut cluster = Cluster::new(
            seed,
            options.keep_trace,
            controllers,
            brokers,
            Marks::new(MARKS),
        );
        let mut script = Script {
            mix,
            down: Vec::new(),
        };
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
            check_liveness(&mut cluster);
        }
        note_stats(&mut cluster);
        let swarm = format!("{} controllers={controllers} brokers={brokers}", script.mix);
        RunOutcome {
            seed,
            scenario: self.name(),
            events: cluster.kernel.trace().events(),
            trace_hash: cluster.kernel.trace().hash(),
            failure: cluster.failure.take(),
            marks_hit: cluster.marks.clone().into_hit(),
            swarm,
            trace_lines: cluster.kernel.trace().lines().map(<[String]>::to_vec),
        }
    }
}

/// The faults of one run.
struct Script {
    mix: FaultMix,
    /// Controllers crashed and waiting for their restart.
    down: Vec<usize>,
}

impl Script {
    fn step(&mut self, cluster: &mut Cluster, step: u32) {
        match step {
            FAULT if cluster.kernel.now() < Instant::ZERO + SAFETY_PHASE => {
                self.strike(cluster);
                let next = Duration::from_millis(2_000 + cluster.rng.below(6_000));
                cluster.kernel.schedule_after(next, Event::Script(FAULT));
            }
            FAULT => {}
            HEAL_ONE | HEAL_ALL => self.heal(cluster),
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

    /// One fault from the seed's mix, healed after a few seconds.
    fn strike(&mut self, cluster: &mut Cluster) {
        let n = cluster.nodes.len();
        let victim = cluster.rng.below(n as u64) as usize;
        let enabled: Vec<&str> = [
            "isolate",
            "split",
            "one-way",
            "pause",
            "crash",
            "lossy-links",
        ]
        .into_iter()
        .filter(|fault| self.mix.enabled(fault))
        .collect();
        if enabled.is_empty() {
            return;
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
                cluster.marks.hit("one-way-partition");
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
    }

    /// Heals everything: links, pauses, crashed controllers.
    fn heal(&mut self, cluster: &mut Cluster) {
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
        for index in std::mem::take(&mut self.down) {
            cluster.start_node(index);
            cluster.marks.hit("controller-restarted");
        }
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
fn check_liveness(cluster: &mut Cluster) {
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
        cluster.marks.hit("pre-vote-refused");
    }
    if stats.iter().any(|s| s.check_quorum_step_downs > 0) {
        cluster.marks.hit("check-quorum-step-down");
    }
    if stats.iter().any(|s| s.log_truncations > 0) {
        cluster.marks.hit("log-truncated");
    }
}
