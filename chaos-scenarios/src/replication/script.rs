//! The faults of a replication run and its phases: faults, heal, final read, verdict.

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::replica::Durability;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, DiskLatency, NodeId};

use super::{Story, SAFETY_PHASE, TOPIC};
use crate::cluster::{AdminOp, Cluster, Event, SimClient};
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
const STUCK_CHECK: u32 = 11;
const LAG_NEXT_LEADER: u32 = 12;
const END_LAG: u32 = 13;
const REPLAY: u32 = 14;
const TRIM: u32 = 15;
const CRASH_ALL_BROKERS: u32 = 16;

/// One run's faults.
pub struct ReplicationScript {
    story: Story,
    /// The seed's fault mix.
    pub mix: FaultMix,
    final_reader: Option<usize>,
    /// The broker to crash at SECOND_CRASH (follower-truncation's leader).
    second: Option<usize>,
    /// Processes whose machine crashed in page-cache mode and that are not yet back in every
    /// ISR they belong to.
    lossy: BTreeSet<usize>,
    /// The broker that restarts next in a rolling restart, or that flaps.
    turn: usize,
    /// stale-follower's two controlled shutdowns: leadership moves away and back.
    shutdowns: Vec<usize>,
    /// idempotent-retry-failover's leader whose answers are being lost, to crash next.
    answers_lost: Option<(usize, bool)>,
    /// stale-follower's leader and the broker to lead next, whose link is cut for a while.
    lagging: Option<(usize, usize)>,
    /// With delete-records: the consumer that replays and the admin that deletes records.
    trimming: Option<(usize, usize)>,
    /// When the consumer last went back to the beginning, and where it was then.
    replayed: Option<(Instant, BTreeMap<i32, i64>)>,
}

impl ReplicationScript {
    /// The script of `story`.
    pub fn new(story: Story, mix: FaultMix) -> Self {
        ReplicationScript {
            story,
            mix,
            final_reader: None,
            second: None,
            lossy: BTreeSet::new(),
            turn: 0,
            shutdowns: Vec::new(),
            answers_lost: None,
            lagging: None,
            trimming: None,
            replayed: None,
        }
    }

    /// Deletes records while the run goes on: every 2 to 6 s of the safety phase the consumer
    /// replays from the beginning and, a moment later while it reads old segments, an admin
    /// deletes one partition's records below an offset between its log start and its high
    /// watermark.
    pub fn delete_records(&mut self, cluster: &mut Cluster, consumer: usize, trimmer: usize) {
        self.trimming = Some((consumer, trimmer));
        let first = Duration::from_millis(10_000 + cluster.rng.below(5_000));
        cluster.kernel.schedule_after(first, Event::Script(REPLAY));
    }

    /// Every broker's machine crashes at once (the whole-cluster-crash story).
    fn crash_all_brokers(&mut self, cluster: &mut Cluster) {
        cluster.mark("whole-cluster-crash");
        for index in cluster.broker_indexes() {
            self.crash(cluster, index, true);
        }
        if durability(cluster) == Durability::PageCache {
            // Every broker comes back from an unclean shutdown: no replica is eligible, and
            // only an operator's unclean election brings the partitions back, at the cost of
            // what the chosen replica lacks.
            let workload = cluster.workload.as_mut().expect("a workload");
            workload.unclean_recovery = Some(Default::default());
            cluster
                .kernel
                .schedule_after(Duration::from_secs(2), Event::Script(UNCLEAN_RECOVERY));
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
                    cluster.begin_controlled_shutdown(index);
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
            STUCK_CHECK => stuck_check(cluster),
            CRASH_ALL_BROKERS => self.crash_all_brokers(cluster),
            REPLAY if now < Instant::ZERO + SAFETY_PHASE => {
                let (consumer, _) = self.trimming.expect("scheduled with delete-records");
                self.replayed = Some((now, cluster.clients[consumer].reached.clone()));
                cluster.replay(consumer);
                cluster
                    .kernel
                    .schedule_after(Duration::from_millis(2), Event::Script(TRIM));
                let next = Duration::from_millis(2_000 + cluster.rng.below(4_000));
                cluster.kernel.schedule_after(next, Event::Script(REPLAY));
            }
            REPLAY => {}
            TRIM => self.trim_while_replaying(cluster),
            LAG_NEXT_LEADER | END_LAG => {
                if let Some((a, b)) = self.lagging {
                    let (a, b) = (cluster.procs[a].net_id, cluster.procs[b].net_id);
                    match step {
                        LAG_NEXT_LEADER => {
                            cluster.net.partition(a, b);
                            cluster.kernel.record(format_args!("{a} and {b} cut"));
                        }
                        _ => {
                            self.lagging = None;
                            cluster.net.unblock(a, b);
                            cluster.net.unblock(b, a);
                            cluster.kernel.record(format_args!("{a} and {b} rejoined"));
                        }
                    }
                }
            }
            HEAL => {
                cluster
                    .kernel
                    .schedule_after(Duration::from_secs(15), Event::Script(STUCK_CHECK));
                heal_links(cluster);
                heal_disks(cluster);
                for index in 0..cluster.clients.len() {
                    cluster.set_producing(index, false);
                }
            }
            FINAL_READ => {
                let reader = SimClient::consumer(cluster.topology.broker_ids());
                self.final_reader = Some(cluster.add_client(reader));
            }
            VERDICT => {
                let reader = self.final_reader.expect("the final read started");
                cluster.final_verdict(reader);
            }
            _ => unreachable!("unknown step {step}"),
        }
    }

    /// Once the consumer rereads a partition it was sent back on (its answer in flight when it
    /// went back comes first: a seek does not cancel a fetch), deletes records of that
    /// partition past where it is, a moment later: whole segments may go while it reads them.
    /// Gives up after a second.
    fn trim_while_replaying(&mut self, cluster: &mut Cluster) {
        let (Some((consumer, trimmer)), Some((since, before))) =
            (self.trimming, self.replayed.as_ref())
        else {
            return;
        };
        let reached = &cluster.clients[consumer].reached;
        let rereading: Vec<(i32, i64)> = before
            .iter()
            .filter_map(|(p, was)| {
                reached
                    .get(p)
                    .filter(|now| *now < was)
                    .map(|now| (*p, *now))
            })
            .collect();
        if rereading.is_empty() {
            if cluster.kernel.now() < *since + Duration::from_secs(1) {
                cluster
                    .kernel
                    .schedule_after(Duration::from_millis(2), Event::Script(TRIM));
            }
            return;
        }
        self.replayed = None;
        let (partition, position) = rereading[cluster.rng.below(rereading.len() as u64) as usize];
        trim(cluster, trimmer, partition as usize, position);
    }

    /// The process leading a random partition of the workload topic, as the most advanced
    /// image says, and the processes of its replicas.
    fn leader_of(cluster: &mut Cluster) -> Option<(usize, Vec<usize>)> {
        let partitions = cluster.workload.as_ref()?.partitions;
        let partition = cluster.rng.below(partitions as u64) as usize;
        leader_of_partition(cluster, partition)
    }

    fn strike(&mut self, cluster: &mut Cluster) -> Duration {
        let next = Duration::from_millis(4_000 + cluster.rng.below(6_000));
        let Some((leader, replicas)) = Self::leader_of(cluster) else {
            return Duration::from_millis(1_000);
        };
        let lossy = self.story == Story::LossyFollower;
        let durable = durability(cluster) == Durability::Fsync;
        // A machine crash in page-cache mode loses data: that is lossy-follower's story only.
        let machine =
            lossy || (durable && self.mix.enabled("machine-crashes") && cluster.rng.chance(1, 2));
        if self.mix.enabled("stale-metadata") && cluster.rng.chance(1, 2) {
            // A replica that cannot reach the controllers keeps acting on the leader and epoch
            // it last saw while leadership moves on: the case leader-epoch checks are for.
            let brokers = cluster.broker_indexes();
            let stale = brokers[cluster.rng.below(brokers.len() as u64) as usize];
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
                let follower = replicas.iter().copied().find(|r| *r != leader);
                if let Some(follower) = follower {
                    self.crash(cluster, follower, machine);
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
                let follower = replicas.iter().copied().find(|r| *r != leader);
                if let Some(follower) = follower {
                    isolate(cluster, follower, false);
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
                let brokers = cluster.broker_indexes();
                let index = brokers[self.turn % brokers.len()];
                self.turn += 1;
                cluster.begin_controlled_shutdown(index);
                return Duration::from_millis(14_000 + cluster.rng.below(6_000));
            }
            Story::BrokerFlapping => {
                // The same broker goes down and comes back, or loses its links, every second
                // or two: too briefly for the lease, often enough to churn its roles.
                let brokers = cluster.broker_indexes();
                let index = brokers[self.turn % brokers.len()];
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
                    replicas.iter().copied().find(|r| *r != leader)
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
                    let brokers = cluster.broker_indexes();
                    brokers[cluster.rng.below(brokers.len() as u64) as usize]
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
                // (FENCED_LEADER_EPOCH) until it learns the new one and truncates. Both are
                // broker-only, so that the cut leaves the stale follower its leader.
                let broker_only = |index: usize| !cluster.procs[index].is_controller();
                let mut others = replicas.iter().copied().filter(|r| *r != leader);
                let stale = others.clone().find(|r| broker_only(*r));
                let second = others.find(|r| Some(*r) != stale);
                let (Some(stale), Some(second), true) = (stale, second, broker_only(leader)) else {
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
                // Before the first shutdown the next leader stops hearing from this one for a
                // while (within replica.lag.time.max.ms, so it stays in the ISR), and the
                // stale follower takes records it lacks: an uncommitted tail that the next
                // epoch overwrites, which the stale follower keeps until it truncates.
                let lag = Duration::from_millis(500 + cluster.rng.below(2_500));
                self.lagging = Some((leader, second));
                cluster
                    .kernel
                    .schedule_after(first - lag, Event::Script(LAG_NEXT_LEADER));
                cluster
                    .kernel
                    .schedule_after(first + Duration::from_millis(1_000), Event::Script(END_LAG));
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
                // Every broker's machine at once, once per run: now, or in half the fsync
                // seeds within half a millisecond after the next produce answer leaves, while
                // syncs of what was just acknowledged may still be under way.
                if self.turn == 0 {
                    self.turn = 1;
                    let durable = durability(cluster) == Durability::Fsync;
                    match durable && cluster.rng.chance(1, 2) {
                        true => cluster.strike_after_produce_answer = Some(CRASH_ALL_BROKERS),
                        false => self.crash_all_brokers(cluster),
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
                cluster.procs[leader].produce_answers_lost_until = Some(now + window);
                let id = cluster.procs[leader].net_id;
                cluster
                    .kernel
                    .record(format_args!("{id} loses its produce answers"));
                self.answers_lost = Some((leader, machine));
                cluster
                    .kernel
                    .schedule_after(window, Event::Script(CRASH_AFTER_LOSS));
            }
            Story::MinIsr => {
                let others: Vec<usize> =
                    replicas.iter().copied().filter(|r| *r != leader).collect();
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
        if cluster.procs[index].node.is_none() {
            return;
        }
        let page_cache = durability(cluster) == Durability::PageCache;
        if machine && page_cache && self.story != Story::WholeClusterCrash {
            self.lossy.retain(|broker| !back_in_sync(cluster, *broker));
            machine = self.lossy.iter().all(|broker| *broker == index);
            if machine {
                self.lossy.insert(index);
            }
        }
        let until = (now + down).min(Instant::ZERO + SAFETY_PHASE).max(now);
        let kind = match machine {
            true => CrashKind::Machine,
            false => CrashKind::Process,
        };
        cluster.crash(index, kind);
        cluster.kernel.schedule_at(until, Event::Start(index));
        let id = cluster.procs[index].net_id;
        cluster
            .kernel
            .record(format_args!("{id} down until {until}"));
    }
}

/// The brokers' durability mode.
fn durability(cluster: &Cluster) -> Durability {
    cluster.procs[0].config.replica.durability
}

/// The operator's part after a whole-cluster loss: once every broker is back and registered,
/// asks for unclean elections while some partition has no leader, checking again every 2 s.
fn unclean_recovery(cluster: &mut Cluster) {
    let all_back = cluster.broker_indexes().into_iter().all(|index| {
        let node = cluster.procs[index].node.as_ref();
        node.and_then(|n| n.broker_status())
            .is_some_and(|status| status.broker_epoch.is_some())
    });
    let leaderless = cluster.leaderless().is_some()
        || cluster
            .latest_image()
            .is_none_or(|image| image.topic_by_name(TOPIC).is_none());
    let asked = cluster.workload.as_ref().is_some_and(|w| w.unclean_asked);
    if all_back && leaderless && !asked {
        // Kafka's operator: kafka-configs --alter --add-config unclean.leader.election.enable=true
        if let Some(workload) = cluster.workload.as_mut() {
            workload.unclean_asked = true;
        }
        let op = AdminOp::Alter {
            name: TOPIC.to_string(),
            key: "unclean.leader.election.enable".to_string(),
            value: "true".to_string(),
        };
        let admin = (0..cluster.clients.len())
            .find(|i| cluster.clients[*i].admin().is_some())
            .expect("the run has an admin");
        cluster.clients[admin]
            .admin_mut()
            .expect("found")
            .submit(op);
        cluster.poke_client(admin);
        cluster.mark("unclean-recovery");
        cluster
            .kernel
            .record("the operator enables unclean leader election");
    }
    // Until every partition has a leader chosen after the loss (a lease may still show a
    // crashed broker as leader for a while).
    let recovered = cluster.workload.as_ref().is_some_and(|workload| {
        let wanted = workload
            .unclean_scope
            .as_ref()
            .map_or(workload.partitions as usize, |scope| scope.len());
        workload
            .unclean_recovery
            .as_ref()
            .is_none_or(|logs| logs.len() == wanted)
    });
    if !recovered {
        cluster
            .kernel
            .schedule_after(Duration::from_secs(2), Event::Script(UNCLEAN_RECOVERY));
    }
}

/// Once healed, a partition whose every replica came back from a shutdown it could not
/// vouch for (a machine crash, or a crash between a registration the controller accepted and
/// the broker recording it) has no eligible leader, as KIP-966 intends; the operator then
/// enables unclean leader election for it, and what the chosen replica lacks may be lost.
fn stuck_check(cluster: &mut Cluster) {
    let Some(workload) = cluster.workload.as_ref() else {
        return;
    };
    if workload.unclean_recovery.is_some() {
        return;
    }
    let Some(topic) = cluster.latest_image().and_then(|i| i.topic_by_name(TOPIC)) else {
        return;
    };
    let stuck: BTreeSet<i32> = topic
        .partitions
        .iter()
        .enumerate()
        .filter(|(_, p)| p.leader < 0 && p.isr.is_empty() && p.elr.is_empty())
        .map(|(index, _)| index as i32)
        .collect();
    if stuck.is_empty() {
        return;
    }
    cluster.kernel.record(format_args!(
        "partitions {stuck:?} have no eligible replica"
    ));
    let workload = cluster.workload.as_mut().expect("checked");
    workload.unclean_recovery = Some(Default::default());
    workload.unclean_scope = Some(stuck);
    unclean_recovery(cluster);
}

/// Whether process `index` has registered since it lost writes (so the controller excluded
/// it) and is back in the ISR of every workload partition it replicates, as the most advanced
/// image says.
fn back_in_sync(cluster: &Cluster, index: usize) -> bool {
    let registered = cluster.procs[index]
        .node
        .as_ref()
        .and_then(|node| node.broker_status())
        .is_some_and(|status| status.broker_epoch.is_some());
    if !registered {
        return false;
    }
    let Some(topic) = cluster.latest_image().and_then(|i| i.topic_by_name(TOPIC)) else {
        return false;
    };
    let id = cluster.procs[index].net_id.0 as i32;
    topic
        .partitions
        .iter()
        .all(|p| !p.replicas.contains(&id) || p.isr.contains(&id))
}

/// Cuts a broker off from the other brokers, and from the controllers too when
/// `controllers` (a combined node is both: it is cut from every other node).
fn isolate(cluster: &mut Cluster, index: usize, controllers: bool) {
    cluster.cut_off(index, "isolated", |peer| {
        peer.is_broker() || (controllers && peer.is_controller())
    });
}

/// Cuts a broker off from the controllers only: its metadata goes stale.
fn cut_from_controllers(cluster: &mut Cluster, index: usize) {
    cluster.cut_off(index, "cut from the controllers", |peer| {
        peer.is_controller()
    });
}

/// Gives a broker's disk a slow device: fsyncs of 5 to 50 ms, and one in fifty a hundred
/// times longer (a stall of up to 5 s).
fn slow_disk(cluster: &mut Cluster, index: usize) {
    cluster.procs[index].disk.set_latency(DiskLatency {
        read: Duration::from_millis(1),
        write: Duration::from_millis(2),
        per_kib: Duration::from_micros(200),
        sync_min: Duration::from_millis(5),
        sync_max: Duration::from_millis(50),
        slow_sync_one_in: 50,
        slow_sync_multiplier: 100,
    });
    cluster.mark("slow-disk");
    let id = cluster.procs[index].net_id;
    cluster.kernel.record(format_args!("{id} disk slow"));
}

/// Fills a broker's disk: nothing more fits until it heals.
fn fill_disk(cluster: &mut Cluster, index: usize) {
    let disk = &mut cluster.procs[index].disk;
    let used = disk.used_bytes();
    disk.set_capacity(Some(used));
    cluster.mark("disk-full");
    let id = cluster.procs[index].net_id;
    cluster
        .kernel
        .record(format_args!("{id} disk full at {used} bytes"));
}

/// Every disk back to full speed and free space.
fn heal_disks(cluster: &mut Cluster) {
    for process in &mut cluster.procs {
        process.disk.set_latency(DiskLatency::NONE);
        process.disk.set_capacity(None);
    }
    cluster.kernel.record("disks healed");
}

fn heal_links(cluster: &mut Cluster) {
    cluster.net.heal();
    cluster.kernel.record("links healed");
}

/// The process leading `partition` of the workload topic, as the most advanced image says,
/// and the processes of its replicas.
fn leader_of_partition(cluster: &Cluster, partition: usize) -> Option<(usize, Vec<usize>)> {
    let image = cluster.latest_image()?;
    let state = image.topic_by_name(TOPIC)?.partitions.get(partition)?;
    let process = |id: i32| cluster.proc_index(NodeId(u32::try_from(id).ok()?));
    let leader = process(state.leader)?;
    let replicas = state.replicas.iter().filter_map(|r| process(*r)).collect();
    Some((leader, replicas))
}

/// Has admin `trimmer` delete `partition`'s records below an offset past `from` and the
/// leader's log start, up to its high watermark (Kafka refuses one past the high watermark).
fn trim(cluster: &mut Cluster, trimmer: usize, partition: usize, from: i64) {
    let Some((leader, _)) = leader_of_partition(cluster, partition) else {
        return;
    };
    let Some(topic_id) = cluster
        .latest_image()
        .and_then(|image| image.topic_by_name(TOPIC))
        .map(|topic| topic.topic_id)
    else {
        return;
    };
    let process = &cluster.procs[leader];
    let Some(replica) = process.node.as_ref().and_then(|node| {
        node.replica_manager()
            .partition((topic_id, partition as i32))
    }) else {
        return;
    };
    let (start, hw) = (
        replica.log.log_start_offset().max(from),
        replica.high_watermark,
    );
    if hw <= start {
        return;
    }
    let offset = start + 1 + cluster.rng.below((hw - start) as u64) as i64;
    let broker = process.net_id.0 as i32;
    cluster.trim(trimmer, partition as i32, offset, broker);
}
