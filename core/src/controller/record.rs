//! The metadata records the controller proposes and every node applies, after KIP-631's
//! record types (RegisterBrokerRecord, FenceBrokerRecord, TopicRecord, PartitionRecord,
//! PartitionChangeRecord, RemoveTopicRecord, ProducerIdsRecord, NoOpRecord, ConfigRecord).

use core::fmt;

/// A broker's id (`node.id`), as Kafka's int32.
pub type BrokerId = i32;

/// The leader id of a partition that has no leader, as Kafka's `-1`.
pub const NO_LEADER: BrokerId = -1;

/// A 128-bit unique id: topic ids (KIP-516) and broker incarnation ids (KIP-631).
///
/// Ids come from the RNG the driver hands in, so a seed always makes the same ones. Zero is
/// reserved, as Kafka reserves `Uuid.ZERO_UUID`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(pub u128);

impl Uuid {
    /// The reserved all-zero id, never assigned to anything.
    pub const ZERO: Uuid = Uuid(0);

    /// A fresh non-zero id drawn from `rng`.
    pub fn random(rng: &mut dyn crate::rng::Rng) -> Uuid {
        loop {
            let id = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
            if id != 0 {
                return Uuid(id);
            }
        }
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// One endpoint a broker listens on (a `listeners` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The listener name, such as `PLAINTEXT`.
    pub name: String,
    /// Host name or address clients connect to.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// A broker registration (KIP-631's RegisterBrokerRecord).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterBroker {
    /// The broker's id.
    pub broker_id: BrokerId,
    /// Random per process start: tells a restarted broker from a retry of the same process.
    pub incarnation_id: Uuid,
    /// Strictly greater than every broker epoch handed out before, for any broker.
    pub broker_epoch: i64,
    /// Where clients reach it.
    pub listeners: Vec<Listener>,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
    /// Registrations start fenced: the broker must first catch up with the metadata log.
    pub fenced: bool,
}

/// Whether a partition leader may have lost committed records (KIP-704's LeaderRecoveryState).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeaderRecoveryState {
    /// The leader was elected from the ISR, or has finished recovering.
    Recovered,
    /// The leader was elected uncleanly; the ISR stays `[leader]` until it says it recovered.
    Recovering,
}

/// A new partition with its full state (KIP-631's PartitionRecord).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRecord {
    /// The topic it belongs to.
    pub topic_id: Uuid,
    /// Its index; partitions of a topic are numbered densely from zero.
    pub partition: i32,
    /// The assigned replicas; the first is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The leader, or [`NO_LEADER`].
    pub leader: BrokerId,
    /// Bumped on every leader change.
    pub leader_epoch: i32,
    /// Bumped on every change of any kind.
    pub partition_epoch: i32,
}

/// A change to a partition's leader or ISR (KIP-631's PartitionChangeRecord).
///
/// Unlike Kafka's record, which carries only the changed fields and lets each node derive the
/// epochs, this one carries the full resulting leader, ISR and epochs: a node applies it only
/// when `partition_epoch` is exactly one more than what it has, so a change computed from a
/// stale view can never be applied on top of a newer one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionChange {
    /// The topic.
    pub topic_id: Uuid,
    /// The partition index.
    pub partition: i32,
    /// The ISR after the change; empty only while the partition has no leader.
    pub isr: Vec<BrokerId>,
    /// The eligible leader replicas after the change (KIP-966): replicas that left the ISR
    /// while it was smaller than `min.insync.replicas`, so that the high watermark could not
    /// pass them, and that have not shut down uncleanly since.
    pub elr: Vec<BrokerId>,
    /// The leader after the change, or [`NO_LEADER`].
    pub leader: BrokerId,
    /// The leader epoch after the change: one more than before when the leader changed.
    pub leader_epoch: i32,
    /// The partition epoch after the change: always one more than before.
    pub partition_epoch: i32,
    /// The leader recovery state after the change.
    pub leader_recovery: LeaderRecoveryState,
    /// True when this change elected a leader from outside the ISR
    /// (`unclean.leader.election.enable`); the simulator counts these.
    pub unclean: bool,
}

/// One entry of the metadata log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataRecord {
    /// A broker registered (or re-registered after a restart).
    RegisterBroker(RegisterBroker),
    /// A broker is fenced: it may not lead or be added to an ISR.
    FenceBroker {
        /// The broker.
        broker_id: BrokerId,
        /// The registration this applies to; a mismatch means the record is stale.
        broker_epoch: i64,
    },
    /// A fenced broker caught up with the metadata log and is unfenced.
    UnfenceBroker {
        /// The broker.
        broker_id: BrokerId,
        /// The registration this applies to.
        broker_epoch: i64,
    },
    /// A broker began a controlled shutdown: it may no longer lead or join an ISR
    /// (BrokerRegistrationChangeRecord with InControlledShutdown set).
    BeginControlledShutdown {
        /// The broker.
        broker_id: BrokerId,
        /// The registration this applies to.
        broker_epoch: i64,
    },
    /// A broker's registration is removed.
    UnregisterBroker {
        /// The broker.
        broker_id: BrokerId,
        /// The registration this applies to.
        broker_epoch: i64,
    },
    /// A topic is created; its partitions follow as [`MetadataRecord::Partition`] records.
    Topic {
        /// The topic's name.
        name: String,
        /// Its id (KIP-516).
        topic_id: Uuid,
        /// Topic-level `unclean.leader.election.enable`; `None` uses the cluster default.
        unclean_leader_election_enable: Option<bool>,
    },
    /// A partition is created.
    Partition(PartitionRecord),
    /// A partition's leader or ISR changed.
    PartitionChange(PartitionChange),
    /// A topic and all its partitions are removed.
    RemoveTopic {
        /// The topic.
        topic_id: Uuid,
    },
    /// A block of producer ids was handed to a broker (KIP-730's ProducerIdsRecord).
    ProducerIds {
        /// The broker that got the block.
        broker_id: BrokerId,
        /// Its broker epoch at the time.
        broker_epoch: i64,
        /// The first producer id of the next block: ids below it are taken.
        next_producer_id: i64,
    },
    /// Nothing: written so that a new controller's first entry commits (KIP-631's NoOpRecord).
    NoOp,
    /// A config of a resource is set or removed (KIP-631's ConfigRecord). Images keep topic
    /// configs only ([`CONFIG_RESOURCE_TOPIC`]).
    Config {
        /// Kafka's `ConfigResource.Type`.
        resource_type: i8,
        /// The topic's name.
        resource_name: String,
        /// The config's name.
        name: String,
        /// Its value; `None` removes it (back to the default).
        value: Option<String>,
    },
}

/// The resource type of a topic's configs, as Kafka's `ConfigResource.Type.TOPIC`.
pub const CONFIG_RESOURCE_TOPIC: i8 = 2;
