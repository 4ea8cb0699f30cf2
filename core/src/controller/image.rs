//! The metadata image: the cluster state every node builds by applying committed records in
//! log order (KIP-631's MetadataImage). Brokers read leaders and ISRs from it; the active
//! controller decides from it.

use std::collections::BTreeMap;

use super::config::{ImageLimits, TOPIC_CONFIGS_MAX, TOPIC_NAME_BYTES_MAX};
use super::record::{
    BrokerId, LeaderRecoveryState, Listener, MetadataRecord, PartitionChange, PartitionRecord,
    RegisterBroker, Uuid, CONFIG_RESOURCE_TOPIC, NO_LEADER,
};

/// What the image knows about one registered broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    /// The broker's id.
    pub broker_id: BrokerId,
    /// The process incarnation that registered.
    pub incarnation_id: Uuid,
    /// The epoch of this registration; requests must carry it.
    pub broker_epoch: i64,
    /// Where clients reach it.
    pub listeners: Vec<Listener>,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
    /// A fenced broker may not lead a partition or join an ISR.
    pub fenced: bool,
    /// A broker in controlled shutdown may not lead or join an ISR either.
    pub in_controlled_shutdown: bool,
}

impl BrokerRegistration {
    /// True when the broker may lead partitions and join ISRs: unfenced and not shutting down.
    pub fn is_active(&self) -> bool {
        !self.fenced && !self.in_controlled_shutdown
    }
}

/// One partition's replicas, leader and ISR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// The assigned replicas; the first is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas; empty only while the partition has no leader, after its last
    /// member shut down uncleanly (KIP-966).
    pub isr: Vec<BrokerId>,
    /// The eligible leader replicas (KIP-966), disjoint from the ISR: they left it while it
    /// was below `min.insync.replicas`, so they hold every committed record, and may lead
    /// when no ISR member can.
    pub elr: Vec<BrokerId>,
    /// The leader, or [`NO_LEADER`].
    pub leader: BrokerId,
    /// Bumped on every leader change.
    pub leader_epoch: i32,
    /// Bumped on every change.
    pub partition_epoch: i32,
    /// Whether the leader was elected uncleanly and has not yet reported recovery (KIP-704).
    pub leader_recovery: LeaderRecoveryState,
    /// The leader epoch before the last applied change, kept so that invariant checks can
    /// see that epochs never went backwards.
    pub previous_leader_epoch: i32,
    /// The partition epoch before the last applied change.
    pub previous_partition_epoch: i32,
}

/// One topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicImage {
    /// Its name.
    pub name: String,
    /// Its id.
    pub topic_id: Uuid,
    /// Topic-level `unclean.leader.election.enable`; `None` uses the cluster default.
    pub unclean_leader_election_enable: Option<bool>,
    /// Its partitions, indexed by partition number.
    pub partitions: Vec<PartitionState>,
    /// The topic configs set on it (DYNAMIC_TOPIC_CONFIG), by name; the rest are defaults.
    pub configs: BTreeMap<String, String>,
}

/// Whether [`MetadataImage::apply`] took a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The record changed the image (or was a no-op record).
    Applied,
    /// The record did not fit the image and changed nothing; the reason says why.
    Ignored(&'static str),
}

/// The cluster metadata as of some point in the log. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataImage {
    pub(super) limits: ImageLimits,
    pub(super) brokers: BTreeMap<BrokerId, BrokerRegistration>,
    pub(super) topic_ids: BTreeMap<String, Uuid>,
    pub(super) topics: BTreeMap<Uuid, TopicImage>,
    pub(super) partition_count: usize,
    pub(super) broker_epoch_max: i64,
    pub(super) next_producer_id: i64,
    pub(super) records_applied: u64,
    pub(super) records_ignored: u64,
    pub(super) unclean_elections: u64,
}

impl Default for MetadataImage {
    fn default() -> Self {
        MetadataImage::new(ImageLimits::default())
    }
}

impl MetadataImage {
    /// An empty image, the state before the first record.
    pub fn new(limits: ImageLimits) -> MetadataImage {
        MetadataImage {
            limits,
            brokers: BTreeMap::new(),
            topic_ids: BTreeMap::new(),
            topics: BTreeMap::new(),
            partition_count: 0,
            broker_epoch_max: 0,
            next_producer_id: 0,
            records_applied: 0,
            records_ignored: 0,
            unclean_elections: 0,
        }
    }

    /// Applies one committed record. Deterministic and total: a record that does not fit
    /// (stale epoch, unknown topic, over a limit) changes nothing and is counted in
    /// [`MetadataImage::records_ignored`].
    pub fn apply(&mut self, record: &MetadataRecord) -> ApplyOutcome {
        let result = match record {
            MetadataRecord::RegisterBroker(r) => self.apply_register(r),
            MetadataRecord::FenceBroker {
                broker_id,
                broker_epoch,
            } => self.apply_broker_flag(*broker_id, *broker_epoch, BrokerChange::Fence),
            MetadataRecord::UnfenceBroker {
                broker_id,
                broker_epoch,
            } => self.apply_broker_flag(*broker_id, *broker_epoch, BrokerChange::Unfence),
            MetadataRecord::BeginControlledShutdown {
                broker_id,
                broker_epoch,
            } => self.apply_broker_flag(*broker_id, *broker_epoch, BrokerChange::Shutdown),
            MetadataRecord::UnregisterBroker {
                broker_id,
                broker_epoch,
            } => self.apply_broker_flag(*broker_id, *broker_epoch, BrokerChange::Unregister),
            MetadataRecord::Topic {
                name,
                topic_id,
                unclean_leader_election_enable,
            } => self.apply_topic(name, *topic_id, *unclean_leader_election_enable),
            MetadataRecord::Partition(p) => self.apply_partition(p),
            MetadataRecord::PartitionChange(c) => self.apply_partition_change(c),
            MetadataRecord::RemoveTopic { topic_id } => self.apply_remove_topic(*topic_id),
            MetadataRecord::ProducerIds {
                next_producer_id, ..
            } => self.apply_producer_ids(*next_producer_id),
            MetadataRecord::NoOp => Ok(()),
            MetadataRecord::Config {
                resource_type,
                resource_name,
                name,
                value,
            } => self.apply_config(*resource_type, resource_name, name, value.as_deref()),
        };
        match result {
            Ok(()) => {
                self.records_applied += 1;
                ApplyOutcome::Applied
            }
            Err(reason) => {
                self.records_ignored += 1;
                ApplyOutcome::Ignored(reason)
            }
        }
    }

    fn apply_register(&mut self, r: &RegisterBroker) -> Result<(), &'static str> {
        if r.broker_id < 0 {
            return Err("register: negative broker id");
        }
        if r.broker_epoch <= self.broker_epoch_max {
            return Err("register: broker epoch not above every earlier one");
        }
        if !self.brokers.contains_key(&r.broker_id) && self.brokers.len() >= self.limits.brokers_max
        {
            return Err("register: brokers_max reached");
        }
        self.broker_epoch_max = r.broker_epoch;
        let registration = BrokerRegistration {
            broker_id: r.broker_id,
            incarnation_id: r.incarnation_id,
            broker_epoch: r.broker_epoch,
            listeners: r.listeners.clone(),
            rack: r.rack.clone(),
            fenced: r.fenced,
            in_controlled_shutdown: false,
        };
        self.brokers.insert(r.broker_id, registration);
        assert!(self.brokers.len() <= self.limits.brokers_max);
        Ok(())
    }

    fn apply_broker_flag(
        &mut self,
        broker_id: BrokerId,
        broker_epoch: i64,
        change: BrokerChange,
    ) -> Result<(), &'static str> {
        let Some(broker) = self.brokers.get_mut(&broker_id) else {
            return Err("broker change: broker not registered");
        };
        if broker.broker_epoch != broker_epoch {
            return Err("broker change: stale broker epoch");
        }
        match change {
            BrokerChange::Fence => broker.fenced = true,
            BrokerChange::Unfence if broker.in_controlled_shutdown => {
                return Err("unfence: broker is in controlled shutdown");
            }
            BrokerChange::Unfence => broker.fenced = false,
            BrokerChange::Shutdown => broker.in_controlled_shutdown = true,
            BrokerChange::Unregister => {
                self.brokers.remove(&broker_id);
            }
        }
        Ok(())
    }

    fn apply_topic(
        &mut self,
        name: &str,
        topic_id: Uuid,
        unclean: Option<bool>,
    ) -> Result<(), &'static str> {
        if name.is_empty() || name.len() > TOPIC_NAME_BYTES_MAX {
            return Err("topic: invalid name");
        }
        if topic_id == Uuid::ZERO || self.topics.contains_key(&topic_id) {
            return Err("topic: id zero or taken");
        }
        if self.topic_ids.contains_key(name) {
            return Err("topic: name taken");
        }
        if self.topics.len() >= self.limits.topics_max {
            return Err("topic: topics_max reached");
        }
        self.topic_ids.insert(name.to_string(), topic_id);
        let topic = TopicImage {
            name: name.to_string(),
            topic_id,
            unclean_leader_election_enable: unclean,
            partitions: Vec::new(),
            configs: BTreeMap::new(),
        };
        self.topics.insert(topic_id, topic);
        assert_eq!(self.topics.len(), self.topic_ids.len());
        Ok(())
    }

    fn apply_partition(&mut self, p: &PartitionRecord) -> Result<(), &'static str> {
        if self.partition_count >= self.limits.partitions_max {
            return Err("partition: partitions_max reached");
        }
        let rf_max = self.limits.replication_factor_max;
        let Some(topic) = self.topics.get_mut(&p.topic_id) else {
            return Err("partition: unknown topic");
        };
        if usize::try_from(p.partition) != Ok(topic.partitions.len()) {
            return Err("partition: index is not the next one");
        }
        if p.replicas.is_empty() || p.replicas.len() > rf_max || !distinct_ids(&p.replicas) {
            return Err("partition: bad replica list");
        }
        check_leader_and_isr(&p.replicas, &p.isr, &[], p.leader)?;
        if p.leader_epoch < 0 || p.partition_epoch < 0 {
            return Err("partition: negative epoch");
        }
        topic.partitions.push(PartitionState {
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            elr: Vec::new(),
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            leader_recovery: LeaderRecoveryState::Recovered,
            previous_leader_epoch: p.leader_epoch,
            previous_partition_epoch: p.partition_epoch,
        });
        self.partition_count += 1;
        Ok(())
    }

    fn apply_partition_change(&mut self, c: &PartitionChange) -> Result<(), &'static str> {
        let Some(state) = self.partition_mut(c.topic_id, c.partition) else {
            return Err("partition change: unknown partition");
        };
        if Some(c.partition_epoch) != state.partition_epoch.checked_add(1) {
            return Err("partition change: partition epoch is not the next one");
        }
        let leader_changed = c.leader != state.leader;
        if c.leader_epoch < state.leader_epoch
            || (leader_changed && c.leader_epoch == state.leader_epoch)
        {
            return Err("partition change: leader epoch does not advance with the leader");
        }
        check_leader_and_isr(&state.replicas, &c.isr, &c.elr, c.leader)?;
        state.previous_leader_epoch = state.leader_epoch;
        state.previous_partition_epoch = state.partition_epoch;
        state.isr = c.isr.clone();
        state.elr = c.elr.clone();
        state.leader = c.leader;
        state.leader_epoch = c.leader_epoch;
        state.partition_epoch = c.partition_epoch;
        state.leader_recovery = c.leader_recovery;
        if c.unclean {
            self.unclean_elections += 1;
        }
        Ok(())
    }

    fn apply_remove_topic(&mut self, topic_id: Uuid) -> Result<(), &'static str> {
        let Some(topic) = self.topics.remove(&topic_id) else {
            return Err("remove topic: unknown topic");
        };
        self.topic_ids.remove(&topic.name);
        assert!(self.partition_count >= topic.partitions.len());
        self.partition_count -= topic.partitions.len();
        Ok(())
    }

    fn apply_config(
        &mut self,
        resource_type: i8,
        resource_name: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), &'static str> {
        if resource_type != CONFIG_RESOURCE_TOPIC {
            return Err("config: only topic configs are kept");
        }
        let Some(topic_id) = self.topic_ids.get(resource_name) else {
            return Err("config: unknown topic");
        };
        let topic = self.topics.get_mut(topic_id).expect("names index topics");
        match value {
            None => {
                topic.configs.remove(name);
            }
            Some(value) => {
                if !topic.configs.contains_key(name) && topic.configs.len() >= TOPIC_CONFIGS_MAX {
                    return Err("config: TOPIC_CONFIGS_MAX reached");
                }
                topic.configs.insert(name.to_string(), value.to_string());
            }
        }
        // Elections read the topic's setting from here (absent: the cluster default).
        if name == "unclean.leader.election.enable" {
            topic.unclean_leader_election_enable = value.and_then(|v| v.parse().ok());
        }
        Ok(())
    }

    fn apply_producer_ids(&mut self, next_producer_id: i64) -> Result<(), &'static str> {
        if next_producer_id <= self.next_producer_id {
            return Err("producer ids: next producer id does not advance");
        }
        self.next_producer_id = next_producer_id;
        Ok(())
    }

    pub(super) fn partition_mut(
        &mut self,
        topic_id: Uuid,
        partition: i32,
    ) -> Option<&mut PartitionState> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get_mut(&topic_id)?.partitions.get_mut(index)
    }
}

#[derive(Clone, Copy)]
enum BrokerChange {
    Fence,
    Unfence,
    Shutdown,
    Unregister,
}

/// True when `ids` holds no duplicates and no negative ids.
pub(crate) fn distinct_ids(ids: &[BrokerId]) -> bool {
    ids.iter()
        .enumerate()
        .all(|(i, id)| *id >= 0 && !ids[..i].contains(id))
}

/// The structural rules every partition state keeps: an ISR and an ELR of distinct replicas,
/// disjoint, and a leader that is in the ISR or absent (the ISR may be empty only then).
pub(crate) fn check_leader_and_isr(
    replicas: &[BrokerId],
    isr: &[BrokerId],
    elr: &[BrokerId],
    leader: BrokerId,
) -> Result<(), &'static str> {
    if !distinct_ids(isr) || !isr.iter().all(|b| replicas.contains(b)) {
        return Err("partition: ISR duplicated or outside the replicas");
    }
    if !distinct_ids(elr) || !elr.iter().all(|b| replicas.contains(b) && !isr.contains(b)) {
        return Err("partition: ELR duplicated, outside the replicas or overlapping the ISR");
    }
    if leader != NO_LEADER && !isr.contains(&leader) {
        return Err("partition: leader outside the ISR");
    }
    Ok(())
}
