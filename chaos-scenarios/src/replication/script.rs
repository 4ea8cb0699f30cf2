//! The faults of a replication run and its phases: faults, heal, final read, verdict.

use std::collections::BTreeSet;

use sluice_core::replica::Durability;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{DiskLatency, NodeId};

use super::clients::SimClient;
use super::{Story, SAFETY_PHASE};
use crate::metadata_quorum::cluster::{Cluster, Event};
use crate::metadata_quorum::wire::Request;
use crate::swarm::FaultMix;

/// Script steps.
pub const FAULT: u32 = 0;
/// Heal every fault, restart every broker, stop the producers.
pub const HEAL: u32 = 1;
/// Start the final reader.
pub const FINAL_READ: u32 = 2;
/// Judge the run.
pub const VERDICT: u32 = 3;
const HEAL_LINKS: u32 = 4;
const SECOND_CRASH: u32 = 5;
const HEAL_DISKS: u32 = 6;
const SHUT_DOWN_FIRST: u32 = 7;
const SHUT_DOWN_SECOND: u32 = 8;
const UNCLEAN_RECOVERY: u32 = 9;
const CRASH_AFTER_LOSS: u32 = 10;

/// One run's faults.
pub struct ReplicationScript {
    story: Story,
    /// The seed's fault mix.
    pub mix: FaultMix,
    brokers: Vec<i32>,
    final_reader: Option<usize>,
    /// The broker to crash at SECOND_CRASH (follower-truncation's leader).
    second: Option<usize>,
    /// Brokers whose machine crashed in page-cache mode and that are not yet back in every
    /// ISR they belong to.
    lossy: BTreeSet<usize>,
    /// The broker that restarts next in a rolling restart, or that flaps.
    turn: usize,
    /// stale-follower's two controlled shutdowns: leadership moves away and back.
    shutdowns: Vec<usize>,
    /// idempotent-retry-failover's leader whose answers are being lost, to crash next.
    answers_lost: Option<(usize, bool)>,
}

impl ReplicationScript {
    /// The script of `story`.
    pub fn new(story: Story, mix: FaultMix, brokers: Vec<i32>) -> Self {
        ReplicationScript {
            story,
            mix,
            brokers,
            final_reader: None,
            second: None,
            lossy: BTreeSet::new(),
            turn: 0,
            shutdowns: Vec::new(),
            answers_lost: None,
        }
    }

    /// Runs one step.
    pub fn step(&mut self, cluster: &mut Cluster, step: u32) {
        let now = cluster.kernel.now();
        match step {
            FAULT if now < Instant::ZERO + SAFETY_PHASE => {
                let next = self.strike(cluster);
                cluster.kernel.schedule_after(next, Event::Script(FAULT));
            }
            FAULT => {}
            HEAL_LINKS => heal_links(cluster),
            HEAL_DISKS => heal_disks(cluster),
            UNCLEAN_RECOVERY => unclean_recovery(cluster),
            SHUT_DOWN_FIRST | SHUT_DOWN_SECOND => {
                if !self.shutdowns.is_empty() {
                    let index = self.shutdowns.remove(0);
                    let now = cluster.kernel.now();
                    if cluster.brokers[index].muted_until.is_none_or(|t| t <= now) {
                        cluster.brokers[index].shutting_down = true;
                        cluster
                            .kernel
                            .record(format_args!("broker {index} begins a controlled shutdown"));
                    }
                }
            }
            CRASH_AFTER_LOSS => {
                if let Some((victim, machine)) = self.answers_lost.take() {
                    cluster.mark("leader-crashed");
                    self.crash(cluster, victim, machine);
                }
            }
            SECOND_CRASH => {
                if let Some(victim) = self.second.take() {
                    cluster.mark("two-fast-failovers");
                    self.crash(cluster, victim, false);
                }
            }
            HEAL => {
                heal_links(cluster);
                heal_disks(cluster);
                for index in 0..cluster.data.as_ref().map_or(0, |d| d.clients.len()) {
                    cluster.set_producing(index, false);
                }
            }
            FINAL_READ => {
                let reader = SimClient::consumer(99, self.brokers.clone());
                self.final_reader = Some(cluster.add_client(reader));
            }
            VERDICT => {
                let reader = self.final_reader.expect("the final read started");
                cluster.final_verdict(reader);
            }
            _ => unreachable!("unknown step {step}"),
        }
    }

    /// The broker leading `partition` of the workload topic, as the controllers' image says.
    fn leader_of(cluster: &mut Cluster) -> Option<(usize, Vec<i32>)> {
        let data = cluster.data.as_ref()?;
        let partition = cluster.rng.below(data.partitions as u64) as i32;
        let image = &cluster.nodes.iter().max_by_key(|n| n.applied)?.image;
        let topic = image.topic_by_name(&data.topic)?;
        let state = topic.partitions.get(partition as usize)?;
        (state.leader >= 0).then(|| (state.leader as usize, state.replicas.clone()))
    }

    fn strike(&mut self, cluster: &mut Cluster) -> Duration {
        let next = Duration::from_millis(4_000 + cluster.rng.below(6_000));
        let Some((leader, replicas)) = Self::leader_of(cluster) else {
            return Duration::from_millis(1_000);
        };
        let lossy = self.story == Story::LossyFollower;
        let durable = cluster
            .data
            .as_ref()
            .is_some_and(|d| d.config.durability == Durability::Fsync);
        // A machine crash in page-cache mode loses data: that is lossy-follower's story only.
        let machine =
            lossy || (durable && self.mix.enabled("machine-crashes") && cluster.rng.chance(1, 2));
        if self.mix.enabled("stale-metadata") && cluster.rng.chance(1, 2) {
            // A replica that cannot reach the controllers keeps acting on the leader and epoch
            // it last saw while leadership moves on: the case leader-epoch checks are for.
            let stale = cluster.rng.below(cluster.brokers.len() as u64) as usize;
            if stale != leader {
                cut_from_controllers(cluster, stale);
                let heal = Duration::from_millis(2_000 + cluster.rng.below(5_000));
                cluster
                    .kernel
                    .schedule_after(heal, Event::Script(HEAL_LINKS));
            }
        }
        match self.story {
            Story::LeaderCrash => {
                cluster.mark("leader-crashed");
                self.crash(cluster, leader, machine);
            }
            Story::FollowerTruncation | Story::LossyFollower => {
                let follower = replicas.iter().copied().find(|r| *r as usize != leader);
                if let Some(follower) = follower {
                    self.crash(cluster, follower as usize, machine);
                    self.second = Some(leader);
                    let gap = Duration::from_millis(200 + cluster.rng.below(2_000));
                    cluster
                        .kernel
                        .schedule_after(gap, Event::Script(SECOND_CRASH));
                }
            }
            Story::LeaderIsolated => {
                cluster.mark("leader-isolated");
                isolate(cluster, leader, true);
                let heal = Duration::from_millis(6_000 + cluster.rng.below(8_000));
                cluster
                    .kernel
                    .schedule_after(heal, Event::Script(HEAL_LINKS));
                return next.max(heal + Duration::from_secs(3));
            }
            Story::IsrShrinkExpand => {
                let follower = replicas.iter().copied().find(|r| *r as usize != leader);
                if let Some(follower) = follower {
                    isolate(cluster, follower as usize, false);
                    let heal = Duration::from_millis(12_000 + cluster.rng.below(8_000));
                    cluster
                        .kernel
                        .schedule_after(heal, Event::Script(HEAL_LINKS));
                    return heal + Duration::from_secs(5);
                }
            }
            Story::RollingRestart => {
                // One broker at a time, by controlled shutdown; the next only once the last
                // has had time to return and catch up.
                let brokers = cluster.brokers.len();
                let index = self.turn % brokers;
                self.turn += 1;
                let now = cluster.kernel.now();
                if cluster.brokers[index].muted_until.is_none_or(|t| t <= now) {
                    cluster.brokers[index].shutting_down = true;
                    cluster
                        .kernel
                        .record(format_args!("broker {index} begins a controlled shutdown"));
                }
                return Duration::from_millis(14_000 + cluster.rng.below(6_000));
            }
            Story::BrokerFlapping => {
                // The same broker goes down and comes back, or loses its links, every second
                // or two: too briefly for the lease, often enough to churn its roles.
                let index = self.turn % cluster.brokers.len();
                cluster.mark("broker-flapped");
                if cluster.rng.chance(1, 2) {
                    let down = Duration::from_millis(300 + cluster.rng.below(1_200));
                    self.crash_for(cluster, index, machine && durable, down);
                } else {
                    let controllers = cluster.rng.chance(1, 2);
                    isolate(cluster, index, controllers);
                    let heal = Duration::from_millis(500 + cluster.rng.below(1_500));
                    cluster
                        .kernel
                        .schedule_after(heal, Event::Script(HEAL_LINKS));
                }
                return Duration::from_millis(1_000 + cluster.rng.below(2_000));
            }
            Story::SlowDisk => {
                let victim = if cluster.rng.chance(1, 2) {
                    Some(leader)
                } else {
                    replicas.iter().map(|r| *r as usize).find(|r| *r != leader)
                };
                if let Some(victim) = victim {
                    slow_disk(cluster, victim);
                    let heal = Duration::from_millis(5_000 + cluster.rng.below(15_000));
                    cluster
                        .kernel
                        .schedule_after(heal, Event::Script(HEAL_DISKS));
                    return heal + Duration::from_secs(5);
                }
            }
            Story::FullDisk => {
                let victim = if cluster.rng.chance(1, 2) {
                    leader
                } else {
                    cluster.rng.below(cluster.brokers.len() as u64) as usize
                };
                fill_disk(cluster, victim);
                let heal = Duration::from_millis(2_000 + cluster.rng.below(10_000));
                cluster
                    .kernel
                    .schedule_after(heal, Event::Script(HEAL_DISKS));
                return heal + Duration::from_secs(5);
            }
            Story::StaleFollower => {
                // A follower cut from the controllers keeps the leader and epoch it knows
                // while leadership moves away (a controlled shutdown) and back (another one):
                // the returning leader must refuse its fetches in the old epoch
                // (FENCED_LEADER_EPOCH) until it learns the new one and truncates.
                let mut others = replicas
                    .iter()
                    .map(|r| *r as usize)
                    .filter(|r| *r != leader);
                let (Some(stale), Some(second)) = (others.next(), others.next()) else {
                    return Duration::from_secs(1);
                };
                cut_from_controllers(cluster, stale);
                cluster.mark("stale-follower");
                // The first shutdown waits for the stale follower's lease to lapse, so that
                // leadership cannot move to it; the second waits for the first broker to be
                // back (its new registration waits for its old lease) and in sync, so that
                // leadership returns to it.
                self.shutdowns = vec![leader, second];
                let first = Duration::from_millis(10_000 + cluster.rng.below(1_000));
                let second_at = first + Duration::from_millis(17_000 + cluster.rng.below(3_000));
                let heal = second_at + Duration::from_millis(6_000 + cluster.rng.below(4_000));
                cluster
                    .kernel
                    .schedule_after(first, Event::Script(SHUT_DOWN_FIRST));
                cluster
                    .kernel
                    .schedule_after(second_at, Event::Script(SHUT_DOWN_SECOND));
                cluster
                    .kernel
                    .schedule_after(heal, Event::Script(HEAL_LINKS));
                return heal + Duration::from_secs(3);
            }
            Story::WholeClusterCrash => {
                // Every broker's machine at once, once per run.
                if self.turn == 0 {
                    self.turn = 1;
                    cluster.mark("whole-cluster-crash");
                    for index in 0..cluster.brokers.len() {
                        self.crash(cluster, index, true);
                    }
                    let data = cluster.data.as_mut().expect("data plane");
                    if data.config.durability == Durability::PageCache {
                        // Every broker comes back from an unclean shutdown: no replica is
                        // eligible, and only an operator's unclean election brings the
                        // partitions back, at the cost of what the chosen replica lacks.
                        data.unclean_recovery = Some(Default::default());
                        cluster.kernel.schedule_after(
                            Duration::from_secs(2),
                            Event::Script(UNCLEAN_RECOVERY),
                        );
                    }
                }
                return Duration::from_secs(60);
            }
            Story::IdempotentRetryFailover => {
                // The leader goes on appending and replicating, but its answers to producers
                // are lost; then it crashes, and the producers' retries reach the new leader,
                // which holds the batches already.
                let window = Duration::from_millis(300 + cluster.rng.below(1_500));
                let now = cluster.kernel.now();
                if let Some(data) = cluster.data.as_mut() {
                    data.brokers[leader].answers_lost_until = Some(now + window);
                }
                cluster
                    .kernel
                    .record(format_args!("broker {leader} loses its produce answers"));
                self.answers_lost = Some((leader, machine));
                cluster
                    .kernel
                    .schedule_after(window, Event::Script(CRASH_AFTER_LOSS));
            }
            Story::MinIsr => {
                let others: Vec<usize> = replicas
                    .iter()
                    .map(|r| *r as usize)
                    .filter(|r| *r != leader)
                    .collect();
                for victim in others {
                    self.crash(cluster, victim, false);
                }
                return Duration::from_secs(20);
            }
        }
        next
    }

    /// Crashes a broker (its process, or its machine); it restarts 1 to 6 s later.
    ///
    /// In page-cache mode a machine crash loses the broker's unsynced writes. Two such losses
    /// at once may take every copy of an acknowledged record (min.insync.replicas is 2), which
    /// no protocol can undo, so a machine crash waits until the last lossy broker is back in
    /// every ISR it belongs to; until then the crash is of the process.
    fn crash(&mut self, cluster: &mut Cluster, index: usize, machine: bool) {
        let down = Duration::from_millis(1_000 + cluster.rng.below(5_000));
        self.crash_for(cluster, index, machine, down);
    }

    /// Crashes a broker for `down`.
    fn crash_for(
        &mut self,
        cluster: &mut Cluster,
        index: usize,
        mut machine: bool,
        down: Duration,
    ) {
        let now = cluster.kernel.now();
        if cluster.brokers[index]
            .muted_until
            .is_some_and(|until| until > now)
        {
            return;
        }
        let page_cache = cluster
            .data
            .as_ref()
            .is_some_and(|d| d.config.durability == Durability::PageCache);
        if machine && page_cache && self.story != Story::WholeClusterCrash {
            self.lossy.retain(|broker| !back_in_sync(cluster, *broker));
            machine = self.lossy.iter().all(|broker| *broker == index);
            if machine {
                self.lossy.insert(index);
            }
        }
        let until = (now + down).min(Instant::ZERO + SAFETY_PHASE);
        cluster.brokers[index].muted_until = Some(until.max(now));
        cluster.brokers[index].restart_on_wake = true;
        if machine {
            cluster.net.crash(cluster.brokers[index].net_id);
            cluster.mark("machine-crash");
        }
        cluster.data_crash(index, machine);
        let kind = if machine { "machine" } else { "process" };
        cluster
            .kernel
            .record(format_args!("broker {index} {kind} crash until {until}"));
    }
}

/// The operator's part after a whole-cluster loss: once every broker is back and registered,
/// asks for unclean elections while some partition has no leader, checking again every 2 s.
fn unclean_recovery(cluster: &mut Cluster) {
    let all_back = cluster
        .brokers
        .iter()
        .all(|b| b.epoch.is_some() && !b.lost_writes);
    let leaderless = cluster
        .nodes
        .iter()
        .max_by_key(|n| n.applied)
        .and_then(|node| {
            let data = cluster.data.as_ref()?;
            let topic = node.image.topic_by_name(&data.topic)?;
            Some(topic.partitions.iter().any(|p| p.leader < 0))
        })
        .unwrap_or(true);
    if all_back && leaderless && cluster.admin.current.is_none() {
        cluster.admin.current = Some(Request::ElectLeadersUnclean);
        cluster.mark("unclean-recovery");
        cluster
            .kernel
            .record("the operator asks for unclean elections");
    }
    // Until every partition has a leader chosen after the loss (a lease may still show a
    // crashed broker as leader for a while).
    let recovered = cluster.data.as_ref().is_some_and(|data| {
        data.unclean_recovery
            .as_ref()
            .is_none_or(|logs| logs.len() == data.partitions as usize)
    });
    if !recovered {
        cluster
            .kernel
            .schedule_after(Duration::from_secs(2), Event::Script(UNCLEAN_RECOVERY));
    }
}

/// Whether `broker` has registered since it lost writes (so the controller excluded it) and
/// is back in the ISR of every workload partition it replicates, as the most advanced
/// controller's image says.
fn back_in_sync(cluster: &Cluster, broker: usize) -> bool {
    let Some(data) = cluster.data.as_ref() else {
        return true;
    };
    if cluster.brokers[broker].lost_writes {
        return false;
    }
    let Some(node) = cluster.nodes.iter().max_by_key(|n| n.applied) else {
        return false;
    };
    let Some(topic) = node.image.topic_by_name(&data.topic) else {
        return false;
    };
    let id = broker as i32;
    topic
        .partitions
        .iter()
        .all(|p| !p.replicas.contains(&id) || p.isr.contains(&id))
}

/// Cuts a broker off from the other brokers, and from the controllers too when `controllers`.
fn isolate(cluster: &mut Cluster, index: usize, controllers: bool) {
    let me = cluster.brokers[index].net_id;
    let brokers: Vec<NodeId> = cluster.brokers.iter().map(|b| b.net_id).collect();
    for other in brokers.into_iter().filter(|b| *b != me) {
        cluster.net.partition(me, other);
    }
    if controllers {
        for node in 0..cluster.nodes.len() {
            cluster.net.partition(me, NodeId(node as u32 + 1));
        }
    }
    cluster
        .kernel
        .record(format_args!("broker {index} isolated"));
}

/// Cuts a broker off from the controllers only: its metadata goes stale.
fn cut_from_controllers(cluster: &mut Cluster, index: usize) {
    let me = cluster.brokers[index].net_id;
    for node in 0..cluster.nodes.len() {
        cluster.net.partition(me, NodeId(node as u32 + 1));
    }
    cluster
        .kernel
        .record(format_args!("broker {index} cut from the controllers"));
}

/// Gives a broker's data disk a slow device: fsyncs of 5 to 50 ms, and one in fifty a hundred
/// times longer (a stall of up to 5 s).
fn slow_disk(cluster: &mut Cluster, index: usize) {
    let Some(data) = cluster.data.as_mut() else {
        return;
    };
    data.brokers[index].disk.set_latency(DiskLatency {
        read: Duration::from_millis(1),
        write: Duration::from_millis(2),
        per_kib: Duration::from_micros(200),
        sync_min: Duration::from_millis(5),
        sync_max: Duration::from_millis(50),
        slow_sync_one_in: 50,
        slow_sync_multiplier: 100,
    });
    cluster.mark("slow-disk");
    cluster
        .kernel
        .record(format_args!("broker {index} disk slow"));
}

/// Fills a broker's data disk: nothing more fits until it heals.
fn fill_disk(cluster: &mut Cluster, index: usize) {
    let Some(data) = cluster.data.as_mut() else {
        return;
    };
    let disk = &mut data.brokers[index].disk;
    let used = disk.used_bytes();
    disk.set_capacity(Some(used));
    cluster.mark("disk-full");
    cluster
        .kernel
        .record(format_args!("broker {index} disk full at {used} bytes"));
}

/// Every data disk back to full speed and free space.
fn heal_disks(cluster: &mut Cluster) {
    let Some(data) = cluster.data.as_mut() else {
        return;
    };
    for broker in &mut data.brokers {
        broker.disk.set_latency(DiskLatency::NONE);
        broker.disk.set_capacity(None);
    }
    cluster.kernel.record("disks healed");
}

fn heal_links(cluster: &mut Cluster) {
    cluster.net.heal();
    cluster.kernel.record("links healed");
}
