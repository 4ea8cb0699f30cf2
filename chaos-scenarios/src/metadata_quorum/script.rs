//! The faults of one run, scripted per story, and the phase changes (heal, checks).

use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, NodeId};

use super::cluster::{Cluster, Event};
use super::liveness::active_controller;
use super::{slow_links, Story};
use crate::swarm::FaultMix;

/// How long faults strike before everything heals.
pub const SAFETY_PHASE: Duration = Duration::from_secs(60);
/// Ten election timeouts (2 s at most each): an active controller must exist by then.
pub const ELECTION_BOUND: Duration = Duration::from_secs(20);
/// How long the healed cluster runs before the liveness checks.
pub const LIVENESS_PHASE: Duration = Duration::from_secs(40);

/// Script steps.
pub const FAULT: u32 = 0;
const HEAL_ONE: u32 = 1;
pub const HEAL_ALL: u32 = 2;
pub const ELECTION_CHECK: u32 = 3;
const RESTART: u32 = 4;
pub const NOTE_COMMIT: u32 = 5;

/// The faults of one run.
pub struct Script {
    /// The story being told.
    pub story: Story,
    /// The seed's fault mix.
    pub mix: FaultMix,
    /// Controllers crashed and waiting for their restart.
    pub down: Vec<usize>,
    /// The active controller's commit index ten seconds before the end.
    pub commit_before_end: Option<u64>,
}

impl Script {
    pub fn step(&mut self, cluster: &mut Cluster, step: u32) {
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
        let broker = &cluster.brokers[victim];
        let idle = broker
            .muted_until
            .is_none_or(|until| until <= cluster.kernel.now());
        if idle && broker.epoch.is_some() && cluster.rng.chance(1, 2) {
            cluster.brokers[victim].shutting_down = true;
            cluster
                .kernel
                .record(format_args!("broker {victim} asked to shut down"));
            return Duration::from_millis(4_000 + cluster.rng.below(6_000));
        }
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
