//! `admin-under-faults`: an admin creates, grows, alters and deletes topics through brokers
//! that forward each request to the active controller, while controllers fail over, links
//! partition (between controllers, and between the admin and its broker) and brokers pause.
//! The admin behaves as Kafka's AdminClient: one request at a time, retried on another broker
//! after a timeout, a dropped connection or a retriable error, so a request whose answer was
//! lost is sent again.
//!
//! The verdict, once everything healed: every acknowledged change is in the final metadata
//! (a deleted topic is gone, a created one exists with the partition count and config its
//! last acknowledged changes gave it), and nothing was applied twice (no topic name twice,
//! no partitions beyond the count asked for). An attempt the admin gave up on may still take
//! effect later, as with Kafka's AdminClient, whose retries are not idempotent: a paused
//! broker forwards what it held when it wakes. So a final state that such a late attempt
//! explains passes (a config value an abandoned attempt set, a topic an abandoned create
//! brought back after its delete); anything else is a lost or doubled change.

use std::collections::BTreeMap;

use sluice_core::controller::MetadataImage;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, LinkConfig};

use crate::cluster::admin::Settled;
use crate::cluster::{AdminClient, AdminOp, Cluster, Event, Role, Settings, Topology};
use crate::swarm::{FaultMix, FaultSpec};
use crate::{Marks, RunOptions, RunOutcome};

const SAFETY_PHASE: Duration = Duration::from_secs(60);
const LIVENESS_PHASE: Duration = Duration::from_secs(40);

const FAULT: u32 = 0;
const ADMIN_TICK: u32 = 1;
const HEAL: u32 = 2;
const HEAL_ALL: u32 = 3;
const RESTART: u32 = 4;

const MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "controller-failover",
    "active-controller-crashed",
    "admin-retried",
    "admin-cut-from-broker",
    "topic-created",
    "topic-grown",
    "topic-altered",
    "topic-deleted",
];

const FAULTS: &[FaultSpec] = &[
    FaultSpec::new("controller-crash", 1000, 1000),
    FaultSpec::new("controller-split", 1000, 1000),
    FaultSpec::new("admin-cut", 1000, 1000),
    FaultSpec::new("broker-pause", 1000, 1000),
    FaultSpec::new("lossy-links", 1000, 1000).enabled_per_mille(300),
];

/// What the admin was told of one topic so far.
#[derive(Clone, Debug, Default)]
struct TopicModel {
    /// An acknowledged create, not followed by an acknowledged delete.
    exists: bool,
    /// The partition count of its last acknowledged create or grow.
    partitions: i32,
    /// `retention.ms` as its last acknowledged alter set it.
    retention: Option<String>,
    /// An op on it was refused after retries, so what it holds cannot be told.
    unknown: bool,
    /// Values of `retention.ms` that attempts the admin gave up on may have set late.
    late_retention: Vec<String>,
    /// The partitions of its create, if an attempt of it was given up (it may come back).
    late_create: Option<i32>,
}

struct Script {
    mix: FaultMix,
    admin: usize,
    /// Admin log entries already folded into `model`.
    settled: usize,
    model: BTreeMap<String, TopicModel>,
    next_topic: u32,
    next_value: u64,
    down: Vec<usize>,
}

fn run(seed: u64, options: &RunOptions) -> RunOutcome {
    let mut fault_rng = sluice_sim::SimRng::new(seed ^ 0xad31_fa17);
    let mix = FaultMix::draw(&mut fault_rng, FAULTS);
    let topology = Topology::draw(&mut fault_rng, &[3], (3, 5));
    let mut settings = Settings::new();
    settings.node.replica.durability = sluice_core::replica::Durability::Fsync;
    let mut cluster = Cluster::new(
        seed,
        options.keep_trace,
        topology,
        &settings,
        Marks::new(MARKS),
    );
    let admin = AdminClient::new(cluster.topology.broker_ids(), &mut cluster.rng);
    let admin = cluster.add_client(Role::Admin(admin));
    let mut script = Script {
        mix,
        admin,
        settled: 0,
        model: BTreeMap::new(),
        next_topic: 0,
        next_value: 0,
        down: Vec::new(),
    };
    cluster
        .kernel
        .schedule_after(Duration::from_secs(3), Event::Script(ADMIN_TICK));
    cluster
        .kernel
        .schedule_after(Duration::from_secs(5), Event::Script(FAULT));
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE, Event::Script(HEAL_ALL));
    let end = Instant::ZERO + SAFETY_PHASE + LIVENESS_PHASE;
    cluster.run_until(end, &mut |cluster, step| script.step(cluster, step));
    if cluster.failure.is_none() {
        script.verdict(&mut cluster);
    }
    let swarm = script.mix.to_string();
    cluster.outcome(seed, "admin-under-faults", swarm)
}

impl Script {
    fn step(&mut self, cluster: &mut Cluster, step: u32) {
        let now = cluster.kernel.now();
        match step {
            FAULT if now < Instant::ZERO + SAFETY_PHASE => {
                let next = self.strike(cluster);
                cluster.kernel.schedule_after(next, Event::Script(FAULT));
            }
            FAULT => {}
            ADMIN_TICK => self.admin_tick(cluster),
            HEAL => heal(cluster),
            RESTART => {
                for index in std::mem::take(&mut self.down) {
                    cluster.start(index);
                }
            }
            HEAL_ALL => {
                heal(cluster);
                for index in std::mem::take(&mut self.down) {
                    cluster.start(index);
                }
                for index in 0..cluster.procs.len() {
                    cluster.resume(index);
                }
            }
            _ => unreachable!("unknown step {step}"),
        }
    }

    /// Folds what the admin was told into the model, then, if it is idle and the faults
    /// still strike, asks for the next change.
    fn admin_tick(&mut self, cluster: &mut Cluster) {
        self.fold(cluster);
        let now = cluster.kernel.now();
        let admin = cluster.clients[self.admin].admin().expect("an admin");
        // The last changes go in while the faults still strike; the liveness phase lets the
        // admin settle them.
        let asking = now < Instant::ZERO + SAFETY_PHASE + Duration::from_secs(10);
        if admin.is_idle() && asking {
            let op = self.next_op(cluster);
            cluster.clients[self.admin]
                .admin_mut()
                .expect("an admin")
                .submit(op);
            cluster.poke_client(self.admin);
        }
        let interval = Duration::from_millis(cluster.rng.range_inclusive(100, 800));
        cluster
            .kernel
            .schedule_after(interval, Event::Script(ADMIN_TICK));
    }

    fn fold(&mut self, cluster: &mut Cluster) {
        let log = &cluster.clients[self.admin].admin().expect("an admin").log;
        let fresh: Vec<(AdminOp, Settled, u32)> = log[self.settled..].to_vec();
        self.settled = log.len();
        for (op, settled, attempts) in fresh {
            if attempts > 1 {
                cluster.mark("admin-retried");
            }
            let name = match &op {
                AdminOp::Create { name, .. }
                | AdminOp::Delete { name }
                | AdminOp::Grow { name, .. }
                | AdminOp::Alter { name, .. }
                | AdminOp::Trim { name, .. } => name.clone(),
            };
            let topic = self.model.entry(name).or_default();
            let Settled::Acknowledged = settled else {
                // A refusal after a retry may follow an attempt that took effect.
                topic.unknown |= attempts > 1;
                continue;
            };
            let abandoned = attempts > 1;
            match op {
                AdminOp::Create { partitions, .. } => {
                    cluster.mark("topic-created");
                    *topic = TopicModel {
                        exists: true,
                        partitions,
                        late_create: abandoned.then_some(partitions),
                        ..TopicModel::default()
                    };
                }
                AdminOp::Grow { count, .. } => {
                    cluster.mark("topic-grown");
                    topic.partitions = count;
                }
                AdminOp::Alter { value, .. } => {
                    cluster.mark("topic-altered");
                    if abandoned {
                        topic.late_retention.push(value.clone());
                    }
                    topic.retention = Some(value);
                }
                AdminOp::Delete { .. } => {
                    cluster.mark("topic-deleted");
                    topic.exists = false;
                    topic.partitions = 0;
                    topic.retention = None;
                    topic.late_retention.clear();
                }
                AdminOp::Trim { .. } => unreachable!("this admin deletes no records"),
            }
        }
    }

    /// A create of a new topic, or a grow, alter or delete of one the admin created.
    fn next_op(&mut self, cluster: &mut Cluster) -> AdminOp {
        let live: Vec<(String, i32)> = self
            .model
            .iter()
            .filter(|(_, t)| t.exists && !t.unknown)
            .map(|(name, t)| (name.clone(), t.partitions))
            .collect();
        let pick = cluster.rng.below(10);
        if live.is_empty() || pick < 3 {
            self.next_topic += 1;
            return AdminOp::Create {
                name: format!("admin-{}", self.next_topic - 1),
                partitions: cluster.rng.range_inclusive(1, 3) as i32,
                replication_factor: cluster.rng.range_inclusive(1, 3) as i16,
                assignments: Vec::new(),
                configs: Vec::new(),
            };
        }
        let (name, partitions) = live[cluster.rng.below(live.len() as u64) as usize].clone();
        match pick {
            3..=5 => AdminOp::Grow {
                name,
                count: partitions + cluster.rng.range_inclusive(1, 2) as i32,
            },
            6..=8 => {
                self.next_value += 1;
                AdminOp::Alter {
                    name,
                    key: "retention.ms".to_string(),
                    value: (3_600_000 + self.next_value).to_string(),
                }
            }
            _ => AdminOp::Delete { name },
        }
    }

    fn strike(&mut self, cluster: &mut Cluster) -> Duration {
        let next = Duration::from_millis(2_000 + cluster.rng.below(4_000));
        let faults: Vec<&str> = [
            "controller-crash",
            "controller-split",
            "admin-cut",
            "broker-pause",
            "lossy-links",
        ]
        .into_iter()
        .filter(|fault| self.mix.enabled(fault))
        .collect();
        if faults.is_empty() {
            return next;
        }
        let fault = faults[cluster.rng.below(faults.len() as u64) as usize];
        let heal_after = Duration::from_millis(1_000 + cluster.rng.below(4_000));
        match fault {
            "controller-crash" => {
                let active = cluster.controller_indexes().into_iter().find(|i| {
                    cluster.procs[*i]
                        .node
                        .as_ref()
                        .is_some_and(|n| n.is_active_controller())
                });
                if let Some(victim) = active.filter(|v| !self.down.contains(v)) {
                    let kind = CrashKind::random(&mut cluster.rng);
                    cluster.crash(victim, kind);
                    self.down.push(victim);
                    let restart = Duration::from_millis(300 + cluster.rng.below(3_000));
                    cluster
                        .kernel
                        .schedule_after(restart, Event::Script(RESTART));
                }
            }
            "controller-split" => {
                let controllers = cluster.controller_indexes();
                let lone = controllers[cluster.rng.below(controllers.len() as u64) as usize];
                cluster.cut_off(lone, "isolated", |_| true);
                cluster
                    .kernel
                    .schedule_after(heal_after, Event::Script(HEAL));
            }
            "admin-cut" => {
                let admin = cluster.clients[self.admin].net_id;
                let broker = random_broker(cluster);
                let id = cluster.procs[broker].net_id;
                cluster.net.partition(admin, id);
                cluster.mark("admin-cut-from-broker");
                cluster.kernel.record(format_args!("{admin} cut from {id}"));
                cluster
                    .kernel
                    .schedule_after(heal_after, Event::Script(HEAL));
            }
            "broker-pause" => {
                let broker = random_broker(cluster);
                cluster.pause(broker);
                cluster
                    .kernel
                    .schedule_after(heal_after, Event::Resume(broker));
            }
            "lossy-links" => {
                let lossy = LinkConfig {
                    loss_ppm: 200_000,
                    ..LinkConfig::LAN
                };
                let admin = cluster.clients[self.admin].net_id;
                let broker = random_broker(cluster);
                let id = cluster.procs[broker].net_id;
                cluster.net.set_link(admin, id, lossy);
                cluster.net.set_link(id, admin, lossy);
                cluster
                    .kernel
                    .schedule_after(heal_after, Event::Script(HEAL));
            }
            _ => {}
        }
        next
    }

    /// Every change settled, each acknowledged one in the final metadata, none twice.
    fn verdict(&mut self, cluster: &mut Cluster) {
        self.fold(cluster);
        let admin = cluster.clients[self.admin].admin().expect("an admin");
        if !admin.is_idle() {
            return cluster.fail("stuck-admin", "a change was never settled".to_string());
        }
        let Some(image) = active_image(cluster) else {
            return cluster.fail("no-controller", "no active controller at the end".into());
        };
        if let Err(detail) = check_image(image, &self.model) {
            cluster.fail("admin-change-lost", detail);
        }
    }
}

/// The active controller's image.
fn active_image(cluster: &Cluster) -> Option<&MetadataImage> {
    cluster
        .procs
        .iter()
        .filter_map(|p| p.node.as_ref())
        .find(|n| n.is_active_controller())
        .map(|n| n.image())
}

/// The final image against what the admin was told.
fn check_image(image: &MetadataImage, model: &BTreeMap<String, TopicModel>) -> Result<(), String> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for topic in image.topics() {
        *names.entry(topic.name.as_str()).or_default() += 1;
    }
    if let Some((name, count)) = names.iter().find(|(_, count)| **count > 1) {
        return Err(format!("{name} exists {count} times"));
    }
    for (name, expected) in model {
        let topic = image.topic_by_name(name);
        if expected.unknown {
            continue;
        }
        match (expected.exists, topic) {
            (false, Some(topic)) => {
                // Only an abandoned attempt of its create, applied after the delete, brings
                // a topic back, as it was created.
                let count = topic.partitions.len() as i32;
                if expected.late_create != Some(count) || !topic.configs.is_empty() {
                    return Err(format!(
                        "{name} exists after its acknowledged delete, with {count} partitions \
                         and configs {:?}",
                        topic.configs
                    ));
                }
            }
            (true, None) => {
                return Err(format!(
                    "{name} is gone, though its create was acknowledged"
                ))
            }
            (false, None) => {}
            (true, Some(topic)) => {
                let count = topic.partitions.len() as i32;
                if count != expected.partitions {
                    return Err(format!(
                        "{name} has {count} partitions, the admin was told {}",
                        expected.partitions
                    ));
                }
                let retention = topic.configs.get("retention.ms");
                let late = retention.is_some_and(|value| expected.late_retention.contains(value));
                if retention != expected.retention.as_ref() && !late {
                    return Err(format!(
                        "{name} has retention.ms {retention:?}, the admin was told {:?}",
                        expected.retention
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A broker process drawn at random.
fn random_broker(cluster: &mut Cluster) -> usize {
    let brokers = cluster.broker_indexes();
    brokers[cluster.rng.below(brokers.len() as u64) as usize]
}

fn heal(cluster: &mut Cluster) {
    cluster.heal_network();
    cluster.kernel.record("healed");
}

/// The scenario `admin-under-faults`.
pub struct AdminUnderFaults;

impl crate::Scenario for AdminUnderFaults {
    fn name(&self) -> &'static str {
        "admin-under-faults"
    }

    fn description(&self) -> &'static str {
        "an admin creates, grows, alters and deletes topics through brokers that forward to the \
         controller while controllers fail over and links partition; every acknowledged change \
         is in the final metadata and none is applied twice"
    }

    fn marks(&self) -> &'static [&'static str] {
        MARKS
    }

    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        run(seed, options)
    }
}
