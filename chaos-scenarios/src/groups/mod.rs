//! Scenarios of consumer groups: three brokers replicate a topic of six partitions
//! (replication factor 3, `min.insync.replicas` 2) and the group coordinator's
//! `__consumer_offsets` (three partitions), producers write unique values with acks=all, and
//! three or four members of one group (core's `GroupConsumer`, auto-commit every second or so,
//! a 6 s session) consume the topic, while a reader fetches the group's committed offsets every
//! few hundred milliseconds. Faults strike the members or the coordinator for the safety
//! phase; then everything heals and the run is judged:
//!
//! - liveness (CHECKER.md 28): within twice the rebalance timeout of the heal (plus the
//!   brokers' few seconds back), the coordinator holds the group Stable, every member is
//!   stable in its generation, and every partition is assigned to exactly one of them
//!   (`unavailability` otherwise); at the end every member has read its partitions to their
//!   high watermarks (`stuck-consumer`);
//! - safety: a final reader reads every partition, and the history, group operations included,
//!   passes the checker: no lost or duplicated record, the members' polls continue where their
//!   assignments started them (committed offsets) and never skip, no zombie commit, no
//!   double assignment, no committed-offset regression. A member re-reads after a crash (the
//!   group's delivery is at least once): each incarnation is its own process in the history.

mod script;

use sluice_core::client::assignor::Assignor;
use sluice_core::client::{ConsumerConfig, GroupConsumerConfig, OffsetResetPolicy};
use sluice_core::group::GroupConfig;
use sluice_core::replica::Durability;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};

use crate::cluster::{AdminClient, AdminOp, Cluster, Event, Settings, SimClient, Topology};
use crate::cluster::{Role, Workload};
use crate::swarm::{FaultMix, FaultSpec};
use crate::{Marks, RunOptions, RunOutcome};
use script::{GroupScript, FAULT, FINAL_READ, HEAL, START_MEMBERS, VERDICT};

/// The workload's topic.
pub const TOPIC: &str = "jepsen";
/// The group.
pub const GROUP: &str = "jepsen-group";
/// The topic's partitions.
pub const PARTITIONS: i32 = 6;
/// `session.timeout.ms` of the members: the smallest `group.min.session.timeout.ms` allows.
pub const SESSION_TIMEOUT_MS: u64 = 6_000;
/// `max.poll.interval.ms` of the members, their rebalance timeout.
pub const REBALANCE_TIMEOUT_MS: u64 = 10_000;
/// When the faults stop.
pub const SAFETY_PHASE: Duration = Duration::from_secs(40);
/// How long the healed brokers may take to be back and led before the group's bound runs.
pub const BROKERS_BACK: Duration = Duration::from_secs(5);
/// How long the final reader has.
pub const FINAL_READ_TIME: Duration = Duration::from_secs(8);

/// Which faults a story strikes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Story {
    /// `group-rebalance`.
    Rebalance,
    /// `coordinator-failover`.
    CoordinatorFailover,
    /// `offset-resume`.
    OffsetResume,
}

const REBALANCE_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "acks-all-acknowledged",
    "rebalance-completed",
    "partitions-revoked-cooperatively",
    "member-joined-late",
    "member-left",
    "member-crashed",
    "member-paused-past-session",
    "member-expired",
    "partitions-lost",
    "commit-refused-illegal-generation",
    "group-stable-after-heal",
    "member-failed",
];
const FAILOVER_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "acks-all-acknowledged",
    "rebalance-completed",
    "coordinator-crashed-mid-commit",
    "coordinator-crashed-mid-rebalance",
    "coordinator-isolated",
    "coordinator-crashed-follower-cut",
    "successor-struck-while-loading",
    "coordinator-moved",
    "machine-crash",
    "resumed-from-committed-offset",
    "group-stable-after-heal",
    "member-failed",
];
const RESUME_MARKS: &[&str] = &[
    "combined-nodes",
    "separate-controllers",
    "acks-all-acknowledged",
    "rebalance-completed",
    "member-crashed",
    "resumed-from-committed-offset",
    "static-member-restarted",
    "static-member-rejoined-without-rebalance",
    "group-stable-after-heal",
    "member-failed",
];

const FAULTS: &[FaultSpec] = &[
    FaultSpec::new("fsync", 1000, 1000).enabled_per_mille(500),
    // The members prefer roundrobin to range (both eager); a third of the seeds (drawn apart,
    // below) run cooperative-sticky alone (KIP-429's incremental rebalances).
    FaultSpec::new("roundrobin", 1000, 1000).enabled_per_mille(500),
    FaultSpec::new("static-members", 1000, 1000).enabled_per_mille(500),
];

impl Story {
    fn marks(self) -> &'static [&'static str] {
        match self {
            Story::Rebalance => REBALANCE_MARKS,
            Story::CoordinatorFailover => FAILOVER_MARKS,
            Story::OffsetResume => RESUME_MARKS,
        }
    }

    fn known_failure(self) -> Option<&'static str> {
        None
    }
}

/// The members' settings, drawn per seed and shared by every member of the run.
#[derive(Clone, Debug)]
pub struct MemberSettings {
    /// `partition.assignment.strategy`.
    pub assignors: Vec<Assignor>,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval_ms: u64,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval_ms: u64,
}

impl MemberSettings {
    /// The config of the member in slot `slot`, its `n`-th incarnation overall.
    pub fn config(&self, slot: usize, n: usize, static_member: bool) -> GroupConsumerConfig {
        let mut config = GroupConsumerConfig::new(GROUP);
        config.consumer = ConsumerConfig {
            auto_offset_reset: OffsetResetPolicy::Earliest,
            request_timeout_ms: 5_000,
            ..ConsumerConfig::default()
        };
        config.client_id = format!("member-{n}");
        config.group_instance_id = static_member.then(|| format!("instance-{slot}"));
        config.partition_assignment_strategy = self.assignors.clone();
        config.session_timeout_ms = SESSION_TIMEOUT_MS;
        config.heartbeat_interval_ms = self.heartbeat_interval_ms;
        config.max_poll_interval_ms = REBALANCE_TIMEOUT_MS;
        config.auto_commit_interval_ms = self.auto_commit_interval_ms;
        config.default_api_timeout_ms = 10_000;
        config
    }
}

fn run_story(story: Story, name: &'static str, seed: u64, options: &RunOptions) -> RunOutcome {
    let mut fault_rng = sluice_sim::SimRng::new(seed ^ 0x6a0c_0ff5);
    let mix = FaultMix::draw(&mut fault_rng, FAULTS);
    let topology = Topology::draw(&mut fault_rng, &[1, 3], (3, 3));
    let members = fault_rng.range_inclusive(3, 4) as usize;
    let mut member_settings = MemberSettings {
        assignors: match mix.enabled("roundrobin") {
            true => vec![Assignor::RoundRobin, Assignor::Range],
            false => vec![Assignor::Range, Assignor::RoundRobin],
        },
        auto_commit_interval_ms: 500 + fault_rng.below(1_000),
        heartbeat_interval_ms: 1_000 + fault_rng.below(1_000),
    };
    let initial_delay = fault_rng.below(500) as i32;
    // Drawn last, so that adding it changed no earlier draw of the seeds.
    if fault_rng.chance(1, 3) {
        member_settings.assignors = vec![Assignor::CooperativeSticky];
    }
    let durability = match mix.enabled("fsync") {
        true => Durability::Fsync,
        false => Durability::PageCache,
    };
    let mut settings = Settings::replicated(durability);
    settings.node.group = GroupConfig {
        offsets_topic_num_partitions: 3,
        offsets_topic_replication_factor: 3,
        group_min_session_timeout_ms: SESSION_TIMEOUT_MS as i32,
        group_initial_rebalance_delay_ms: initial_delay,
        ..GroupConfig::default()
    };
    let marks = Marks::new(story.marks());
    let mut cluster = Cluster::new(seed, options.keep_trace, topology, &settings, marks);
    cluster.workload = Some(Workload::new(TOPIC, PARTITIONS));
    let broker_ids = cluster.topology.broker_ids();
    let mut admin = AdminClient::new(broker_ids.clone(), &mut cluster.rng);
    admin.insistent = true;
    admin.submit(AdminOp::Create {
        name: TOPIC.to_string(),
        partitions: PARTITIONS,
        replication_factor: 3,
        assignments: Vec::new(),
        configs: Vec::new(),
    });
    cluster.add_client(Role::Admin(admin));
    for _ in 0..2 {
        let producer = cluster.add_client(SimClient::producer(broker_ids.clone()));
        cluster.set_producing(producer, true);
    }
    let statics = mix.enabled("static-members");
    let mut script = GroupScript::new(story, mix, member_settings, members, statics);
    cluster
        .kernel
        .schedule_after(Duration::ZERO, Event::Script(START_MEMBERS));
    let start = Duration::from_secs(8);
    cluster.kernel.schedule_after(start, Event::Script(FAULT));
    cluster.kernel.schedule_after(start, Event::Audit);
    cluster
        .kernel
        .schedule_after(SAFETY_PHASE, Event::Script(HEAL));
    let read_at = SAFETY_PHASE + script::liveness_bound() + Duration::from_secs(1);
    cluster
        .kernel
        .schedule_after(read_at, Event::Script(FINAL_READ));
    let end = read_at + FINAL_READ_TIME;
    cluster.kernel.schedule_after(end, Event::Script(VERDICT));
    let until = Instant::ZERO + end + Duration::from_millis(1);
    cluster.run_until(until, &mut |cluster, step| script.step(cluster, step));
    let swarm = format!(
        "{} members={members} assignors={:?} auto_commit_ms={} heartbeat_ms={} delay_ms={initial_delay}",
        script.mix,
        script.settings.assignors,
        script.settings.auto_commit_interval_ms,
        script.settings.heartbeat_interval_ms
    );
    cluster.outcome(seed, name, swarm)
}

story_scenario!(
    GroupRebalance,
    Story::Rebalance,
    run_story,
    "group-rebalance",
    "members of a consumer group join, leave, crash and pause past their session timeout while \
     records keep arriving; every rebalance assigns each partition once, polls continue from the \
     committed offsets, no stale commit is accepted, and the group settles once faults stop"
);
story_scenario!(
    CoordinatorFailover,
    Story::CoordinatorFailover,
    run_story,
    "coordinator-failover",
    "the leader of the group's __consumer_offsets partition crashes or is isolated mid-commit \
     and mid-rebalance; the new coordinator loads the group before serving it, and acknowledged \
     commits and generations survive the move"
);
story_scenario!(
    OffsetResume,
    Story::OffsetResume,
    run_story,
    "offset-resume",
    "group members crash and their replacements resume from the committed offsets; static \
     members (group.instance.id) restart within their session and take their partitions back \
     without a rebalance"
);
