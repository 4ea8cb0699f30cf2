//! The faults of a group run and its phases: faults, heal, the group's liveness, final read,
//! verdict.

use std::collections::BTreeSet;

use sluice_core::api::TopicPartition;
use sluice_core::group::{partition_for_group, OFFSETS_TOPIC};
use sluice_core::replica::Durability;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, NodeId};

use super::{
    MemberSettings, Story, BROKERS_BACK, GROUP, PARTITIONS, REBALANCE_TIMEOUT_MS, SAFETY_PHASE,
    SESSION_TIMEOUT_MS, TOPIC,
};
use crate::cluster::{Cluster, Event, OffsetReader, Role, SimClient};
use crate::swarm::FaultMix;

/// Script steps.
pub const FAULT: u32 = 0;
/// Heal every fault, restart every member, stop the producers.
pub const HEAL: u32 = 1;
/// Start the final reader.
pub const FINAL_READ: u32 = 2;
/// Judge the run.
pub const VERDICT: u32 = 3;
const HEAL_LINKS: u32 = 4;
const CRASH_COORDINATOR: u32 = 5;
const LIVENESS: u32 = 6;
/// Restart every member that failed for good, every second.
const SUPERVISE: u32 = 8;
/// Start the members once the workload's topic exists.
pub const START_MEMBERS: u32 = 7;
/// Look for the coordinator that took over from a struck one while a follower is cut.
const WATCH_SUCCESSOR: u32 = 9;
/// Crash the successor found loading, and heal the cut follower.
const STRIKE_SUCCESSOR: u32 = 10;
/// Restart the member of slot `step - RESTART_SLOT`.
const RESTART_SLOT: u32 = 100;
/// Resume the paused member of slot `step - RESUME_SLOT`.
const RESUME_SLOT: u32 = 200;

/// How long after the heal the group must be Stable with every partition assigned: the
/// brokers' few seconds back, then twice the rebalance timeout (CHECKER.md 28).
pub fn liveness_bound() -> Duration {
    BROKERS_BACK + Duration::from_millis(2 * REBALANCE_TIMEOUT_MS)
}

/// One slot of the group: the client running it, if any.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    client: Option<usize>,
    static_member: bool,
    paused: bool,
    /// The generation its last incarnation held, when it crashed (static members).
    crashed_in: Option<i32>,
}

/// One run's faults.
pub struct GroupScript {
    story: Story,
    /// The seed's fault mix.
    pub mix: FaultMix,
    /// The members' settings.
    pub settings: MemberSettings,
    slots: Vec<Slot>,
    incarnations: usize,
    final_reader: Option<usize>,
    /// The broker last seen coordinating the group.
    coordinator: Option<i32>,
    /// The coordinator's process to crash at CRASH_COORDINATOR, and whether by machine.
    crash_next: Option<(&'static str, bool)>,
    /// A successor strike under way.
    successor: Option<SuccessorWatch>,
    settled: bool,
}

/// A successor strike: a follower of the group's offsets partition is cut from the other
/// brokers, the coordinator crashes, and whoever takes over is watched.
#[derive(Clone, Copy, Debug)]
struct SuccessorWatch {
    /// The broker the strike crashed (or will crash).
    struck: i32,
    /// The cut follower.
    cut: i32,
    /// When the watch gives up and heals the cut.
    until: Instant,
    /// The successor was found loading: it is crashed at STRIKE_SUCCESSOR.
    found: bool,
}

impl GroupScript {
    /// The script of `story`, with `members` slots (static ones when `statics`).
    pub fn new(
        story: Story,
        mix: FaultMix,
        settings: MemberSettings,
        members: usize,
        statics: bool,
    ) -> Self {
        let slots = (0..members)
            .map(|slot| Slot {
                // With static members, every other slot is static (offset-resume: all).
                static_member: statics && (story == Story::OffsetResume || slot % 2 == 0),
                ..Slot::default()
            })
            .collect();
        GroupScript {
            story,
            mix,
            settings,
            slots,
            incarnations: 0,
            final_reader: None,
            coordinator: None,
            crash_next: None,
            successor: None,
            settled: false,
        }
    }

    /// Starts a member in every slot but, in group-rebalance, the last (it joins late).
    pub fn start_members(&mut self, cluster: &mut Cluster) {
        let late = usize::from(self.story == Story::Rebalance);
        for slot in 0..self.slots.len() - late {
            self.start_slot(cluster, slot);
        }
    }

    fn start_slot(&mut self, cluster: &mut Cluster, slot: usize) {
        if self.slots[slot].client.is_some() {
            return;
        }
        self.incarnations += 1;
        let state = &mut self.slots[slot];
        let config = self
            .settings
            .config(slot, self.incarnations, state.static_member);
        let previous = state.crashed_in.take();
        let index = cluster.add_group_member(config, previous);
        self.slots[slot].client = Some(index);
        self.slots[slot].paused = false;
    }

    /// Runs one step.
    pub fn step(&mut self, cluster: &mut Cluster, step: u32) {
        let now = cluster.kernel.now();
        match step {
            FAULT if now < Instant::ZERO + SAFETY_PHASE => {
                self.observe(cluster);
                let next = self.strike(cluster);
                cluster.kernel.schedule_after(next, Event::Script(FAULT));
            }
            FAULT => {}
            HEAL_LINKS => {
                cluster.net.heal();
                cluster.kernel.record("links healed");
            }
            CRASH_COORDINATOR => self.crash_coordinator(cluster),
            WATCH_SUCCESSOR => self.watch_successor(cluster),
            STRIKE_SUCCESSOR => self.strike_successor(cluster),
            HEAL => self.heal(cluster),
            LIVENESS => self.liveness(cluster),
            SUPERVISE => {
                self.supervise(cluster);
                cluster
                    .kernel
                    .schedule_after(Duration::from_secs(1), Event::Script(SUPERVISE));
            }
            START_MEMBERS => {
                // Members start once every broker sees every broker active: a coordinator
                // asked earlier creates __consumer_offsets with as many replicas as it sees
                // brokers, fewer than min.insync.replicas, and then every append of the group
                // fails with NOT_ENOUGH_REPLICAS (Kafka since KIP-115 refuses to create it
                // before offsets.topic.replication.factor brokers are alive).
                let brokers = cluster.broker_indexes();
                let created = brokers.iter().all(|index| {
                    cluster.procs[*index]
                        .node
                        .as_ref()
                        .is_some_and(|node| node.live_brokers().count() == brokers.len())
                });
                match created {
                    true => {
                        let brokers = cluster.topology.broker_ids();
                        let reader = OffsetReader::new(GROUP, TOPIC, PARTITIONS, brokers);
                        cluster.add_client(Role::OffsetReader(reader));
                        self.start_members(cluster);
                        cluster
                            .kernel
                            .schedule_after(Duration::from_secs(1), Event::Script(SUPERVISE));
                    }
                    false => {
                        let later = Duration::from_millis(250);
                        cluster
                            .kernel
                            .schedule_after(later, Event::Script(START_MEMBERS));
                    }
                }
            }
            FINAL_READ => {
                let reader = SimClient::consumer(cluster.topology.broker_ids());
                self.final_reader = Some(cluster.add_client(reader));
            }
            VERDICT => self.verdict(cluster),
            step if (RESTART_SLOT..RESUME_SLOT).contains(&step) => {
                let slot = (step - RESTART_SLOT) as usize;
                if now < Instant::ZERO + SAFETY_PHASE {
                    self.start_slot(cluster, slot);
                }
            }
            step if step >= RESUME_SLOT => {
                let slot = (step - RESUME_SLOT) as usize;
                self.resume_slot(cluster, slot);
            }
            _ => unreachable!("unknown step {step}"),
        }
    }

    /// A member that failed for good (a static member fenced by FENCED_INSTANCE_ID, as
    /// Kafka's coordinator fences one whose member id a failover's reloaded group does not
    /// know) is an application that exits: its supervisor starts another in its slot.
    fn supervise(&mut self, cluster: &mut Cluster) {
        for slot in 0..self.slots.len() {
            let Some(index) = self.slots[slot].client else {
                continue;
            };
            if cluster
                .group_member(index)
                .is_some_and(|member| member.failed)
            {
                cluster.crash_client(index);
                self.slots[slot].client = None;
                self.slots[slot].paused = false;
                self.start_slot(cluster, slot);
            }
        }
    }

    fn live_slots(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|s| self.slots[*s].client.is_some() && !self.slots[*s].paused)
            .collect()
    }

    fn pick(cluster: &mut Cluster, from: &[usize]) -> Option<usize> {
        match from.len() {
            0 => None,
            n => Some(from[cluster.rng.below(n as u64) as usize]),
        }
    }

    /// Marks read off the nodes: sessions expired, the coordinator moved.
    fn observe(&mut self, cluster: &mut Cluster) {
        let expired = cluster
            .procs
            .iter()
            .filter_map(|p| p.node.as_ref())
            .any(|node| node.group_coordinator().stats().sessions_expired > 0);
        if expired {
            cluster.mark("member-expired");
        }
        if let Some((_, id)) = coordinator_of(cluster) {
            if self.coordinator.is_some_and(|last| last != id) {
                cluster.mark("coordinator-moved");
            }
            self.coordinator = Some(id);
        }
    }

    fn strike(&mut self, cluster: &mut Cluster) -> Duration {
        match self.story {
            Story::Rebalance => {
                self.churn(cluster, true);
                Duration::from_millis(2_000 + cluster.rng.below(3_000))
            }
            Story::OffsetResume => {
                self.crash_and_resume(cluster);
                Duration::from_millis(2_000 + cluster.rng.below(3_000))
            }
            Story::CoordinatorFailover => self.strike_coordinator(cluster),
        }
    }

    /// One change of membership: a member joins, leaves, crashes or pauses past its session.
    fn churn(&mut self, cluster: &mut Cluster, pauses: bool) {
        let empty: Vec<usize> = (0..self.slots.len())
            .filter(|s| self.slots[*s].client.is_none())
            .collect();
        let live = self.live_slots();
        let choice = cluster.rng.below(if pauses { 4 } else { 3 });
        match choice {
            0 if !empty.is_empty() => {
                let slot = Self::pick(cluster, &empty).expect("not empty");
                cluster.mark("member-joined-late");
                self.start_slot(cluster, slot);
            }
            1 if live.len() > 1 => {
                let slot = Self::pick(cluster, &live).expect("not empty");
                let index = self.slots[slot].client.take().expect("live");
                cluster.close_member(index);
                let back = Duration::from_millis(3_000 + cluster.rng.below(5_000));
                self.restart_later(cluster, slot, back);
            }
            2 if live.len() > 1 => {
                let slot = Self::pick(cluster, &live).expect("not empty");
                self.crash_slot(cluster, slot);
                let back = Duration::from_millis(1_000 + cluster.rng.below(7_000));
                self.restart_later(cluster, slot, back);
            }
            3 if live.len() > 1 => {
                let slot = Self::pick(cluster, &live).expect("not empty");
                let index = self.slots[slot].client.expect("live");
                cluster.pause_client(index);
                self.slots[slot].paused = true;
                cluster.mark("member-paused-past-session");
                let pause = SESSION_TIMEOUT_MS + 1_000 + cluster.rng.below(6_000);
                let step = RESUME_SLOT + slot as u32;
                cluster
                    .kernel
                    .schedule_after(Duration::from_millis(pause), Event::Script(step));
            }
            _ => {}
        }
    }

    fn restart_later(&mut self, cluster: &mut Cluster, slot: usize, after: Duration) {
        let step = RESTART_SLOT + slot as u32;
        cluster.kernel.schedule_after(after, Event::Script(step));
    }

    fn crash_slot(&mut self, cluster: &mut Cluster, slot: usize) {
        let Some(index) = self.slots[slot].client.take() else {
            return;
        };
        let generation = cluster
            .group_member(index)
            .map(|member| member.consumer.generation_id().max(member.last_generation));
        if self.slots[slot].static_member {
            self.slots[slot].crashed_in = generation;
        }
        cluster.crash_client(index);
        cluster.mark("member-crashed");
        self.slots[slot].paused = false;
    }

    fn resume_slot(&mut self, cluster: &mut Cluster, slot: usize) {
        if !self.slots[slot].paused {
            return;
        }
        self.slots[slot].paused = false;
        if let Some(index) = self.slots[slot].client {
            cluster.resume_client(index);
        }
    }

    /// A member crashes and its replacement starts soon (a static one usually within its
    /// session), resuming from the committed offsets; now and then one pauses instead.
    fn crash_and_resume(&mut self, cluster: &mut Cluster) {
        let live = self.live_slots();
        if live.len() < 2 {
            return;
        }
        let slot = Self::pick(cluster, &live).expect("not empty");
        if cluster.rng.chance(1, 6) {
            let index = self.slots[slot].client.expect("live");
            cluster.pause_client(index);
            self.slots[slot].paused = true;
            let pause = 2_000 + cluster.rng.below(8_000);
            let step = RESUME_SLOT + slot as u32;
            cluster
                .kernel
                .schedule_after(Duration::from_millis(pause), Event::Script(step));
            return;
        }
        if self.slots[slot].static_member {
            cluster.mark("static-member-restarted");
        }
        self.crash_slot(cluster, slot);
        let back = Duration::from_millis(300 + cluster.rng.below(4_000));
        self.restart_later(cluster, slot, back);
    }

    /// The coordinator crashes right after a member sends a commit, or right after the
    /// membership changed (mid-rebalance), or after a follower of its offsets partition was
    /// cut (and then its successor is struck while it loads), or is cut from the other
    /// brokers and the controllers for a while (its clients still reach it).
    fn strike_coordinator(&mut self, cluster: &mut Cluster) -> Duration {
        let next = Duration::from_millis(5_000 + cluster.rng.below(4_000));
        let Some((index, _)) = coordinator_of(cluster) else {
            return Duration::from_secs(1);
        };
        let durable = cluster.procs[index].config.replica.durability == Durability::Fsync;
        let machine = durable && cluster.rng.chance(1, 2);
        match cluster.rng.below(4) {
            0 => {
                self.crash_next = Some(("coordinator-crashed-mid-commit", machine));
                cluster.strike_after_group_commit = Some(CRASH_COORDINATOR);
            }
            1 => {
                self.churn(cluster, false);
                self.crash_next = Some(("coordinator-crashed-mid-rebalance", machine));
                let delay = Duration::from_millis(cluster.rng.below(500));
                cluster
                    .kernel
                    .schedule_after(delay, Event::Script(CRASH_COORDINATOR));
            }
            2 => return self.cut_follower_and_strike(cluster, index, machine),
            _ => {
                cluster.mark("coordinator-isolated");
                isolate(cluster, index);
                if cluster.rng.chance(1, 2) {
                    self.churn(cluster, false);
                }
                let heal = Duration::from_millis(4_000 + cluster.rng.below(8_000));
                cluster
                    .kernel
                    .schedule_after(heal, Event::Script(HEAL_LINKS));
                return next.max(heal + Duration::from_secs(2));
            }
        }
        next
    }

    /// A follower of the group's offsets partition is cut from the other brokers: it stays
    /// registered and in the ISR (until the leader's lag check drops it), so the group's
    /// later writes are appended by the others but not committed. The coordinator crashes
    /// 1 to 3 s later; the replica that takes over holds that tail above its high watermark,
    /// and must not serve before its high watermark reaches the end it loaded. It is watched
    /// and struck in turn while it loads, and the cut follower, which lacks the tail, is
    /// healed and may lead: whatever the struck successor served from the tail is gone.
    fn cut_follower_and_strike(
        &mut self,
        cluster: &mut Cluster,
        index: usize,
        machine: bool,
    ) -> Duration {
        let leader = cluster.procs[index].net_id.0 as i32;
        let followers: Vec<i32> = offsets_partition_isr(cluster)
            .into_iter()
            .filter(|b| *b != leader)
            .collect();
        if followers.is_empty() {
            return Duration::from_secs(1);
        }
        let cut = followers[cluster.rng.below(followers.len() as u64) as usize];
        let Some(cut_index) = cluster.proc_index(NodeId(cut as u32)) else {
            return Duration::from_secs(1);
        };
        cluster.cut_off(cut_index, "cut from the other brokers", |peer| {
            peer.is_broker()
        });
        self.crash_next = Some(("coordinator-crashed-follower-cut", machine));
        let crash = Duration::from_millis(1_000 + cluster.rng.below(2_000));
        cluster
            .kernel
            .schedule_after(crash, Event::Script(CRASH_COORDINATOR));
        let watch = Duration::from_secs(12);
        self.successor = Some(SuccessorWatch {
            struck: leader,
            cut,
            until: cluster.kernel.now() + crash + watch,
            found: false,
        });
        cluster
            .kernel
            .schedule_after(crash, Event::Script(WATCH_SUCCESSOR));
        crash + watch + Duration::from_secs(2)
    }

    /// Every 100 ms: has a broker other than the struck one and the cut one taken up the
    /// group's offsets partition, and is it still loading? Then it is struck soon.
    fn watch_successor(&mut self, cluster: &mut Cluster) {
        let Some(mut watch) = self.successor else {
            return;
        };
        let now = cluster.kernel.now();
        if watch.found {
            return;
        }
        if now >= watch.until {
            self.successor = None;
            cluster.net.heal();
            cluster.kernel.record("links healed");
            return;
        }
        let loading = coordinator_of(cluster).filter(|(index, id)| {
            *id != watch.struck && *id != watch.cut && successor_loading(cluster, *index)
        });
        if loading.is_some() {
            watch.found = true;
            self.successor = Some(watch);
            let serve = Duration::from_millis(300 + cluster.rng.below(1_500));
            cluster
                .kernel
                .schedule_after(serve, Event::Script(STRIKE_SUCCESSOR));
            return;
        }
        cluster
            .kernel
            .schedule_after(Duration::from_millis(100), Event::Script(WATCH_SUCCESSOR));
    }

    /// The successor found loading crashes (it restarts 1 to 6 s later), and the cut
    /// follower is healed.
    fn strike_successor(&mut self, cluster: &mut Cluster) {
        let Some(watch) = self.successor.take() else {
            return;
        };
        let now = cluster.kernel.now();
        if let Some((index, id)) = coordinator_of(cluster) {
            if id != watch.struck && id != watch.cut && cluster.procs[index].is_up() {
                cluster.mark("successor-struck-while-loading");
                cluster.crash(index, CrashKind::Process);
                let down = Duration::from_millis(1_000 + cluster.rng.below(5_000));
                let until = (now + down).min(Instant::ZERO + SAFETY_PHASE).max(now);
                cluster.kernel.schedule_at(until, Event::Start(index));
            }
        }
        cluster.net.heal();
        cluster.kernel.record("links healed");
    }

    /// Crashes the group's coordinator now; it restarts 1 to 6 s later (before the heal).
    fn crash_coordinator(&mut self, cluster: &mut Cluster) {
        let Some((mark, machine)) = self.crash_next.take() else {
            return;
        };
        let now = cluster.kernel.now();
        let Some((index, _)) = coordinator_of(cluster) else {
            return;
        };
        cluster.mark(mark);
        let kind = match machine {
            true => CrashKind::Machine,
            false => CrashKind::Process,
        };
        cluster.crash(index, kind);
        let down = Duration::from_millis(1_000 + cluster.rng.below(5_000));
        let until = (now + down).min(Instant::ZERO + SAFETY_PHASE).max(now);
        cluster.kernel.schedule_at(until, Event::Start(index));
    }

    fn heal(&mut self, cluster: &mut Cluster) {
        cluster.strike_after_group_commit = None;
        self.crash_next = None;
        self.successor = None;
        cluster.net.heal();
        cluster.kernel.record("links healed");
        for index in 0..cluster.procs.len() {
            if cluster.procs[index].node.is_none() {
                cluster.start(index);
            }
        }
        for slot in 0..self.slots.len() {
            self.resume_slot(cluster, slot);
            self.start_slot(cluster, slot);
        }
        for index in 0..cluster.clients.len() {
            cluster.set_producing(index, false);
        }
        cluster
            .kernel
            .schedule_after(Duration::from_millis(500), Event::Script(LIVENESS));
    }

    /// Until the bound: is the group Stable with every partition assigned once?
    fn liveness(&mut self, cluster: &mut Cluster) {
        if self.settled {
            return;
        }
        let deadline = Instant::ZERO + SAFETY_PHASE + liveness_bound();
        match self.group_settled(cluster) {
            Ok(generation) => {
                self.settled = true;
                cluster.mark("group-stable-after-heal");
                cluster.kernel.record(format_args!(
                    "group {GROUP} stable in generation {generation}"
                ));
            }
            Err(why) if cluster.kernel.now() >= deadline => {
                let bound = liveness_bound();
                cluster.fail(
                    "unavailability",
                    format!("group {GROUP} not settled {bound:?} after the heal: {why}"),
                );
            }
            Err(_) => {
                cluster
                    .kernel
                    .schedule_after(Duration::from_millis(500), Event::Script(LIVENESS));
            }
        }
    }

    /// The generation the group is Stable in, with every member stable in it and every
    /// partition assigned to exactly one; or why not.
    fn group_settled(&self, cluster: &Cluster) -> Result<i32, String> {
        let (index, id) = coordinator_of(cluster).ok_or("no coordinator")?;
        let node = cluster.procs[index]
            .node
            .as_ref()
            .ok_or("coordinator down")?;
        let (_, state, generation) = node
            .group_coordinator()
            .groups()
            .find(|(group, _, _)| *group == GROUP)
            .ok_or_else(|| format!("coordinator {id} does not hold the group"))?;
        if state != "Stable" {
            let offsets = cluster
                .latest_image()
                .and_then(|image| image.topic_by_name(OFFSETS_TOPIC))
                .map(|topic| {
                    let p = &topic.partitions
                        [partition_for_group(GROUP, topic.partitions.len() as i32) as usize];
                    format!("replicas {:?} isr {:?}", p.replicas, p.isr)
                });
            return Err(format!(
                "coordinator {id}: {state} in generation {generation}; {offsets:?}"
            ));
        }
        let mut assigned = BTreeSet::new();
        for slot in &self.slots {
            let index = slot.client.ok_or("a slot without a member")?;
            let member = cluster.group_member(index).ok_or("a member is gone")?;
            let consumer = &member.consumer;
            if !consumer.is_stable() || consumer.generation_id() != generation {
                return Err(format!(
                    "member {} in generation {} (stable: {}), group in {generation}",
                    cluster.clients[index].net_id,
                    consumer.generation_id(),
                    consumer.is_stable()
                ));
            }
            for partition in consumer.assignment() {
                if !assigned.insert(partition.partition) {
                    return Err(format!("partition {} assigned twice", partition.partition));
                }
            }
        }
        if assigned.len() != PARTITIONS as usize {
            return Err(format!("only partitions {assigned:?} assigned"));
        }
        Ok(generation)
    }

    fn verdict(&mut self, cluster: &mut Cluster) {
        if cluster.failure.is_some() {
            return;
        }
        if !self.settled {
            return cluster.fail("unavailability", format!("group {GROUP} never settled"));
        }
        // Every member has read its partitions to their high watermarks.
        let leaders = cluster.leaders();
        let logs = cluster.replica_logs();
        for slot in &self.slots {
            let Some(member) = slot.client.and_then(|index| cluster.group_member(index)) else {
                continue;
            };
            for partition in member.consumer.assignment() {
                let p = partition.partition;
                let Some(leader) = leaders.get(&p) else {
                    continue;
                };
                let end = logs
                    .iter()
                    .find(|log| log.partition == p && log.replica == *leader)
                    .map_or(0, |log| log.high_watermark);
                let position = member.consumer.position(&TopicPartition {
                    topic: TOPIC.to_string(),
                    partition: p,
                });
                if position.unwrap_or(0) < end {
                    let detail = format!(
                        "group member at {position:?} of partition {p}, high watermark {end}"
                    );
                    return cluster.fail("stuck-consumer", detail);
                }
            }
        }
        let reader = self.final_reader.expect("the final read started");
        cluster.final_verdict(reader);
    }
}

/// The process coordinating the group (the leader of its `__consumer_offsets` partition, as
/// the most advanced image says) and its broker id.
fn coordinator_of(cluster: &Cluster) -> Option<(usize, i32)> {
    let image = cluster.latest_image()?;
    let topic = image.topic_by_name(OFFSETS_TOPIC)?;
    let partition = partition_for_group(GROUP, topic.partitions.len() as i32);
    let leader = topic.partitions.get(partition as usize)?.leader;
    let index = cluster.proc_index(NodeId(u32::try_from(leader).ok()?))?;
    Some((index, leader))
}

/// The ISR of the group's offsets partition, as the most advanced image says.
fn offsets_partition_isr(cluster: &Cluster) -> Vec<i32> {
    let Some(image) = cluster.latest_image() else {
        return Vec::new();
    };
    let Some(topic) = image.topic_by_name(OFFSETS_TOPIC) else {
        return Vec::new();
    };
    let partition = partition_for_group(GROUP, topic.partitions.len() as i32);
    topic
        .partitions
        .get(partition as usize)
        .map(|p| p.isr.clone())
        .unwrap_or_default()
}

/// Whether the process at `index` leads the group's offsets partition and has not loaded it.
fn successor_loading(cluster: &Cluster, index: usize) -> bool {
    let Some(node) = cluster.procs[index].node.as_ref() else {
        return false;
    };
    let coordinator = node.group_coordinator();
    let partitions = coordinator.config().offsets_topic_num_partitions;
    let partition = partition_for_group(GROUP, partitions);
    coordinator.led().any(|(p, _)| p == partition) && !coordinator.is_ready(partition)
}

/// Cuts a broker from every other process (brokers and controllers); clients still reach it.
fn isolate(cluster: &mut Cluster, index: usize) {
    cluster.cut_off(index, "isolated", |_| true);
}
