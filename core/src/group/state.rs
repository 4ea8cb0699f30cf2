//! One group as its coordinator holds it: Kafka's classic group state machine
//! (`GroupMetadata`), its members and its committed offsets.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::records::{GroupValue, MemberValue, OffsetValue};
use crate::api::{DescribedGroup, DescribedMember, ErrorCode, JoinProtocol, TopicPartition};
use crate::rng::Rng;
use crate::time::Instant;

/// Kafka's group states, with its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupState {
    /// No members; offsets may remain.
    Empty,
    /// Members are (re)joining for the next generation.
    PreparingRebalance,
    /// The generation is decided; the leader's assignment is awaited.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
}

impl GroupState {
    /// Kafka's name, as DescribeGroups and ListGroups give it.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// One member.
#[derive(Clone, Debug)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocols: Vec<JoinProtocol>,
    pub assignment: Bytes,
    /// The JoinGroup waiting for the generation to complete: its token.
    pub awaiting_join: Option<u64>,
    /// The SyncGroup waiting for the leader's assignment: its token.
    pub awaiting_sync: Option<u64>,
    /// When the member is removed unless it heartbeats (while it waits for a join or a sync
    /// answer it cannot, and is kept).
    pub session_deadline: Instant,
}

impl Member {
    /// Its metadata for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }

    /// Whether `protocols` are the ones it joined with (names, order and metadata).
    pub fn same_protocols(&self, protocols: &[JoinProtocol]) -> bool {
        self.protocols == protocols
    }

    pub fn refresh(&mut self, now: Instant) {
        self.session_deadline = super::after_ms(now, self.session_timeout_ms.into());
    }

    /// When its session runs out, if it can run out now.
    pub fn expiry(&self) -> Option<Instant> {
        match self.awaiting_join.is_some() || self.awaiting_sync.is_some() {
            true => None,
            false => Some(self.session_deadline),
        }
    }

    pub fn value(&self, protocol: Option<&str>) -> MemberValue {
        MemberValue {
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            client_id: self.client_id.clone(),
            client_host: self.client_host.clone(),
            rebalance_timeout_ms: self.rebalance_timeout_ms,
            session_timeout_ms: self.session_timeout_ms,
            subscription: protocol.map(|p| self.metadata(p)).unwrap_or_default(),
            assignment: self.assignment.clone(),
        }
    }
}

/// A committed offset.
pub type Committed = OffsetValue;

/// The join phase's timer: a plain deadline, or Kafka's initial delay
/// (`group.initial.rebalance.delay.ms`), which waits again while new members keep coming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinTimer {
    pub deadline: Instant,
    /// `Some(remaining ms of the rebalance timeout)` during an initial delay.
    pub initial_remaining_ms: Option<i64>,
    /// A member joined during this initial delay.
    pub new_member_added: bool,
}

/// One group.
#[derive(Clone, Debug)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// Members by id.
    pub members: BTreeMap<String, Member>,
    /// `group.instance.id` → member id of the static members.
    pub static_members: BTreeMap<String, String>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined, with when they lapse.
    pub pending_members: BTreeMap<String, Instant>,
    /// The join phase's timer, in PreparingRebalance.
    pub join_timer: Option<JoinTimer>,
    /// The leader's assignment being written, with its generation.
    pub storing_assignment: Option<(i32, BTreeMap<String, Bytes>)>,
    /// Wall-clock ms when the group entered its state (KIP-211 expires an empty group's
    /// offsets from when it became empty).
    pub state_timestamp: i64,
    pub offsets: BTreeMap<TopicPartition, Committed>,
    /// Commits being written, per partition: `require_stable` reads wait for them.
    pub pending_commits: BTreeMap<TopicPartition, usize>,
}

impl Group {
    pub fn new(group_id: String, wall_ms: i64) -> Group {
        Group {
            group_id,
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            join_timer: None,
            storing_assignment: None,
            state_timestamp: wall_ms,
            offsets: BTreeMap::new(),
            pending_commits: BTreeMap::new(),
        }
    }

    /// The group as its metadata record describes it: Stable with its members, or Empty.
    pub fn from_value(group_id: String, value: GroupValue, now: Instant) -> Group {
        let mut group = Group::new(group_id, value.current_state_timestamp);
        group.generation = value.generation;
        group.protocol_type = Some(value.protocol_type).filter(|t| !t.is_empty());
        group.protocol = value.protocol;
        group.leader = value.leader;
        for member in value.members {
            let protocols = match &group.protocol {
                Some(name) => vec![JoinProtocol {
                    name: name.clone(),
                    metadata: member.subscription,
                }],
                None => Vec::new(),
            };
            if let Some(instance) = &member.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), member.member_id.clone());
            }
            let mut loaded = Member {
                member_id: member.member_id.clone(),
                group_instance_id: member.group_instance_id,
                client_id: member.client_id,
                client_host: member.client_host,
                rebalance_timeout_ms: member.rebalance_timeout_ms,
                session_timeout_ms: member.session_timeout_ms,
                protocols,
                assignment: member.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                session_deadline: now,
            };
            loaded.refresh(now);
            group.members.insert(member.member_id, loaded);
        }
        group.state = match group.members.is_empty() {
            true => GroupState::Empty,
            false => GroupState::Stable,
        };
        group
    }

    /// The metadata record of the group as it stands.
    pub fn value(&self) -> GroupValue {
        let protocol = self.protocol.as_deref();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp,
            members: self.members.values().map(|m| m.value(protocol)).collect(),
        }
    }

    pub fn transition(&mut self, state: GroupState, wall_ms: i64) {
        self.state = state;
        self.state_timestamp = wall_ms;
    }

    /// Whether a member with `protocol_type` and `protocols` may join: an empty group takes
    /// any non-empty set; otherwise the type must match and one protocol must be common to
    /// every member.
    pub fn supports(&self, protocol_type: &str, protocols: &[JoinProtocol]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|p| self.members.values().all(|m| supports(m, &p.name)))
    }

    /// Kafka's `selectProtocol`: among the protocols every member supports, each member
    /// votes for the first in its own order; the most votes wins, ties going to the protocol
    /// the leader (else the first member) prefers.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&str> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .filter(|name| self.members.values().all(|m| supports(m, name)))
            .collect();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(choice) = member
                .protocols
                .iter()
                .map(|p| p.name.as_str())
                .find(|name| candidates.contains(name))
            {
                *votes.entry(choice).or_default() += 1;
            }
        }
        let preference = self
            .leader
            .as_ref()
            .and_then(|id| self.members.get(id))
            .or_else(|| self.members.values().next())?;
        let rank = |name: &str| {
            preference
                .protocols
                .iter()
                .position(|p| p.name == name)
                .unwrap_or(usize::MAX)
        };
        votes
            .into_iter()
            .max_by(|(a, va), (b, vb)| va.cmp(vb).then(rank(b).cmp(&rank(a))))
            .map(|(name, _)| name.to_string())
    }

    /// Whether every member has rejoined and no MEMBER_ID_REQUIRED id is still out.
    pub fn all_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// The longest rebalance timeout of the members: how long a join phase may last.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// When the group next has something to do on its own.
    pub fn next_deadline(&self) -> Option<Instant> {
        let join = self.join_timer.map(|t| t.deadline);
        let members = self.members.values().filter_map(Member::expiry).min();
        let pending = self.pending_members.values().copied().min();
        [join, members, pending].into_iter().flatten().min()
    }

    /// Whether the static member `instance` is fenced for `member_id`: another member now
    /// holds the instance id.
    pub fn is_fenced(&self, member_id: &str, instance: Option<&str>) -> bool {
        let Some(instance) = instance else {
            return false;
        };
        self.static_members
            .get(instance)
            .is_some_and(|holder| holder != member_id)
    }

    /// Whether the group has nothing left: no members, no offsets, nothing being written.
    pub fn is_forgettable(&self) -> bool {
        self.state == GroupState::Empty
            && self.members.is_empty()
            && self.pending_members.is_empty()
            && self.offsets.is_empty()
            && self.pending_commits.is_empty()
    }

    /// The topics the members subscribe to, when the group runs the consumer protocol
    /// (whose subscriptions Sluice can read).
    pub fn subscribed_topics(&self) -> Option<Vec<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol.as_deref()?;
        let mut topics = Vec::new();
        for member in self.members.values() {
            topics.extend(subscription_topics(&member.metadata(protocol))?);
        }
        topics.sort();
        topics.dedup();
        Some(topics)
    }

    /// DescribeGroups' view: members with metadata and assignment only when Stable.
    pub fn describe(&self) -> DescribedGroup {
        let stable = self.state == GroupState::Stable;
        let protocol = self.protocol.clone().filter(|_| stable);
        DescribedGroup {
            error: ErrorCode::None,
            group_id: self.group_id.clone(),
            state: self.state.name().to_string(),
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_data: protocol.clone().unwrap_or_default(),
            members: self
                .members
                .values()
                .map(|m| DescribedMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: protocol
                        .as_deref()
                        .map(|p| m.metadata(p))
                        .unwrap_or_default(),
                    assignment: match stable {
                        true => m.assignment.clone(),
                        false => Bytes::new(),
                    },
                })
                .collect(),
        }
    }
}

fn supports(member: &Member, protocol: &str) -> bool {
    member.protocols.iter().any(|p| p.name == protocol)
}

/// A new member id as Kafka makes them: the client id (or the instance id of a static
/// member), a dash and a random UUID.
pub fn new_member_id(prefix: &str, rng: &mut dyn Rng) -> String {
    let high = rng.next_u64();
    let low = rng.next_u64();
    // A version-4 UUID: the version nibble 4, the variant bits 10.
    let high = (high & !0xf000) | 0x4000;
    let low = (low & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{prefix}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// The topics of a consumer protocol subscription (`ConsumerProtocolSubscription`, any
/// version: an int16 version, then the topics as an int32-counted array of int16-length
/// strings); `None` if it does not read.
pub fn subscription_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut at = 2usize;
    let count = i32::from_be_bytes(metadata.get(at..at + 4)?.try_into().ok()?);
    at += 4;
    let count = usize::try_from(count).ok()?;
    if count > metadata.len() {
        return None;
    }
    let mut topics = Vec::with_capacity(count);
    for _ in 0..count {
        let len = i16::from_be_bytes(metadata.get(at..at + 2)?.try_into().ok()?);
        at += 2;
        let len = usize::try_from(len).ok()?;
        let name = metadata.get(at..at + len)?;
        at += len;
        topics.push(String::from_utf8(name.to_vec()).ok()?);
    }
    Some(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_look_like_kafkas() {
        let mut rng = crate::rng::SplitMix64::new(7);
        let id = new_member_id("client", &mut rng);
        let uuid = id.strip_prefix("client-").unwrap();
        let parts: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&uuid[14..15], "4");
    }

    #[test]
    fn subscriptions_read_their_topics() {
        let mut metadata = vec![0, 1, 0, 0, 0, 2, 0, 1, b'a', 0, 2, b'b', b'c'];
        metadata.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            subscription_topics(&metadata),
            Some(vec!["a".to_string(), "bc".to_string()])
        );
        assert_eq!(subscription_topics(&[0, 1, 0x7f, 0, 0, 0]), None);
        assert_eq!(subscription_topics(&[]), None);
    }
}
