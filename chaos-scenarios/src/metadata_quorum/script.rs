//! The faults of one run, scripted per story, and the phase changes (heal, checks).

use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::CrashKind;

use super::liveness::active_controller;
use super::{slow_links, Story};
use crate::cluster::{AdminOp, Cluster, Event};
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
pub const ADMIN_TICK: u32 = 6;
pub const UNCLEAN_RECOVERY: u32 = 7;

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
    /// Controllers paused by a fault, resumed when it heals.
    pub paused: Vec<usize>,
    /// The admin client.
    pub admin: usize,
    /// The admin's pause between requests, in milliseconds.
    pub admin_interval_ms: (u64, u64),
    /// The next topic number to create.
    pub next_topic: u32,
    /// The admin also deletes topics.
    pub deletes: bool,
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
            ADMIN_TICK => self.admin_tick(cluster),
            UNCLEAN_RECOVERY => self.unclean_recovery(cluster),
            NOTE_COMMIT => {
                self.commit_before_end = active_controller(cluster)
                    .and_then(|leader| cluster.procs[leader].node.as_ref())
                    .and_then(|node| node.raft())
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

    /// The admin's next topic: created (1 to 4 partitions, replication factor 1 to 3) or,
    /// for a third of many-topics' requests, deleted; one at a time, as Kafka's admin does.
    fn admin_tick(&mut self, cluster: &mut Cluster) {
        let idle = cluster.clients[self.admin]
            .admin()
            .is_some_and(|admin| admin.is_idle());
        if idle {
            let op = if self.deletes && self.next_topic > 0 && cluster.rng.chance(1, 3) {
                let name = format!("topic-{}", cluster.rng.below(u64::from(self.next_topic)));
                AdminOp::Delete { name }
            } else {
                self.next_topic += 1;
                AdminOp::Create {
                    name: format!("topic-{}", self.next_topic - 1),
                    partitions: cluster.rng.range_inclusive(1, 4) as i32,
                    replication_factor: cluster.rng.range_inclusive(1, 3) as i16,
                    assignments: Vec::new(),
                    configs: Vec::new(),
                }
            };
            let admin = cluster.clients[self.admin].admin_mut().expect("an admin");
            admin.submit(op);
            cluster.poke_client(self.admin);
        }
        let (low, high) = self.admin_interval_ms;
        let interval = Duration::from_millis(cluster.rng.range_inclusive(low, high));
        cluster
            .kernel
            .schedule_after(interval, Event::Script(ADMIN_TICK));
    }

    /// A combined node's broker that crashed before it recorded its last registration comes
    /// back unable to vouch for its log, and leaves every ISR and ELR (KIP-966): a partition
    /// whose every replica did so waits for an operator. Once healed, the operator enables
    /// unclean leader election on those topics, as Kafka's operators do.
    fn unclean_recovery(&mut self, cluster: &mut Cluster) {
        let Some(image) = cluster.latest_image() else {
            return;
        };
        let mut topics: Vec<String> = image
            .partitions()
            .filter(|(_, _, s)| s.leader < 0 && s.isr.is_empty() && s.elr.is_empty())
            .filter_map(|(topic, _, _)| image.topic(topic).map(|t| t.name.clone()))
            .collect();
        topics.dedup();
        if topics.is_empty() {
            return;
        }
        cluster.mark("unclean-recovery");
        let admin = cluster.clients[self.admin].admin_mut().expect("an admin");
        for name in topics {
            admin.submit(AdminOp::Alter {
                name,
                key: "unclean.leader.election.enable".to_string(),
                value: "true".to_string(),
            });
        }
        cluster.poke_client(self.admin);
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
            let controllers = cluster.controller_indexes();
            let pick = controllers[cluster.rng.below(controllers.len() as u64) as usize];
            Some(pick).filter(|i| cluster.procs[*i].node.is_some())
        } else {
            active_controller(cluster)
        };
        let Some(victim) = victim.filter(|v| !self.down.contains(v)) else {
            return next;
        };
        let kind = CrashKind::random(&mut cluster.rng);
        cluster.crash(victim, kind);
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

    /// broker-fencing: one broker stalls for longer than its session (or is asked to shut
    /// down), now and then a controller fault on top.
    fn stall_broker(&mut self, cluster: &mut Cluster) -> Duration {
        let brokers = cluster.broker_indexes();
        let victim = brokers[cluster.rng.below(brokers.len() as u64) as usize];
        let registered = cluster.procs[victim]
            .node
            .as_ref()
            .and_then(|node| node.broker_status())
            .is_some_and(|status| status.broker_epoch.is_some());
        if cluster.procs[victim].is_up() && registered && cluster.rng.chance(1, 2) {
            cluster.begin_controlled_shutdown(victim);
            return Duration::from_millis(4_000 + cluster.rng.below(6_000));
        }
        if cluster.procs[victim].is_up() {
            let stall = Duration::from_millis(10_000 + cluster.rng.below(8_000));
            cluster.pause(victim);
            cluster.kernel.schedule_after(stall, Event::Resume(victim));
        }
        if cluster.rng.chance(1, 3) {
            self.strike(cluster);
        }
        Duration::from_millis(4_000 + cluster.rng.below(6_000))
    }

    /// metadata-catch-up: a broker process goes down for 15 to 30 s (the topics created
    /// meanwhile get the controllers' logs compacted past it) and restarts with nothing in
    /// memory; now and then a controller fault on top.
    fn take_broker_down(&mut self, cluster: &mut Cluster) -> Duration {
        let brokers = cluster.broker_indexes();
        let victim = brokers[cluster.rng.below(brokers.len() as u64) as usize];
        let down = Duration::from_millis(15_000 + cluster.rng.below(15_000));
        // Back before the faults stop, so the liveness phase can hold it to being unfenced.
        let until = (cluster.kernel.now() + down).min(Instant::ZERO + SAFETY_PHASE);
        if cluster.procs[victim].node.is_some() && !self.down.contains(&victim) {
            cluster.crash(victim, CrashKind::Process);
            cluster.kernel.schedule_at(until, Event::Start(victim));
            let id = cluster.procs[victim].net_id;
            cluster
                .kernel
                .record(format_args!("{id} down until {until}"));
        }
        if cluster.rng.chance(1, 4) {
            self.strike(cluster);
        }
        Duration::from_millis(5_000 + cluster.rng.below(10_000))
    }

    /// One fault from the seed's mix, healed after a few seconds.
    fn strike(&mut self, cluster: &mut Cluster) -> Duration {
        let next = Duration::from_millis(2_000 + cluster.rng.below(6_000));
        let controllers = cluster.controller_indexes();
        let n = controllers.len();
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
        let ids: Vec<_> = controllers
            .iter()
            .map(|i| cluster.procs[*i].net_id)
            .collect();
        let id = |index: usize| ids[index];
        match fault {
            "isolate" => {
                for i in (0..n).filter(|i| *i != victim) {
                    let (a, b) = (id(victim), id(i));
                    cluster.net.partition(a, b);
                }
            }
            "split" => {
                let minority: Vec<usize> = (0..n).filter(|i| (i + victim) % n < n / 2).collect();
                for a in &minority {
                    for b in (0..n).filter(|b| !minority.contains(b)) {
                        let (a, b) = (id(*a), id(b));
                        cluster.net.partition(a, b);
                    }
                }
            }
            "one-way" => {
                let other = (victim + 1 + cluster.rng.below(n as u64 - 1) as usize) % n;
                let (a, b) = (id(victim), id(other));
                cluster.net.block(a, b);
                cluster.mark("one-way-partition");
            }
            "pause" => {
                cluster.pause(controllers[victim]);
                self.paused.push(controllers[victim]);
            }
            "crash"
                if !self.down.contains(&controllers[victim])
                    && cluster.procs[controllers[victim]].node.is_some() =>
            {
                let kind = CrashKind::random(&mut cluster.rng);
                cluster.crash(controllers[victim], kind);
                self.down.push(controllers[victim]);
            }
            "bridge" => {
                // Jepsen's bridge: two halves that hear each other only through the victim, so
                // each half can win the victim's vote while the other cannot hear it.
                let others: Vec<usize> = (0..n).filter(|i| *i != victim).collect();
                let (left, right) = others.split_at(others.len() / 2);
                for a in left {
                    for b in right {
                        let (a, b) = (id(*a), id(*b));
                        cluster.net.partition(a, b);
                    }
                }
                cluster.mark("bridge-partition");
            }
            "lossy-links" => {
                let link = sluice_sim::LinkConfig {
                    loss_ppm: 200_000,
                    ..sluice_sim::LinkConfig::LAN
                };
                let other = (victim + 1) % n;
                let (a, b) = (id(victim), id(other));
                cluster.net.set_link(a, b, link);
                cluster.net.set_link(b, a, link);
            }
            _ => {}
        }
        let at = id(victim);
        cluster.kernel.record(format_args!("fault {fault} at {at}"));
        let heal_after = Duration::from_millis(1_000 + cluster.rng.below(5_000));
        cluster
            .kernel
            .schedule_after(heal_after, Event::Script(HEAL_ONE));
        next
    }

    /// Restarts the crashed controllers.
    fn restart_down(&mut self, cluster: &mut Cluster) {
        for index in std::mem::take(&mut self.down) {
            cluster.start(index);
            cluster.mark("controller-restarted");
        }
    }

    /// Heals everything: links, pauses, crashed controllers.
    fn heal(&mut self, cluster: &mut Cluster) {
        if self.story != Story::Failover {
            cluster.heal_network();
            for index in std::mem::take(&mut self.paused) {
                cluster.resume(index);
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
