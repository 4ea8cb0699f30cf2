//! The partition assignors a group leader runs (Kafka's `partition.assignment.strategy`), as
//! pure, deterministic functions of the members' subscriptions and the partition counts.
//!
//! - [`Assignor::Range`]: Kafka's `RangeAssignor` (without its rack-aware pass).
//! - [`Assignor::RoundRobin`]: Kafka's `RoundRobinAssignor`.
//! - [`Assignor::CooperativeSticky`]: the properties of Kafka's `CooperativeStickyAssignor`
//!   (balanced, sticky, and a partition changing owner is first revoked), by a simpler
//!   algorithm than Kafka's; see the `sticky` module.

mod range;
mod roundrobin;
mod sticky;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use bytes::Bytes;

use super::consumer_protocol::{Subscription, NO_GENERATION};
use crate::api::TopicPartition;

/// One assignment strategy, named as Kafka names it in JoinGroup's protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Assignor {
    /// `range`.
    Range,
    /// `roundrobin`.
    RoundRobin,
    /// `cooperative-sticky`.
    CooperativeSticky,
}

/// How a group moves partitions between members (Kafka's `RebalanceProtocol`, KIP-429).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RebalanceProtocol {
    /// Every member gives up all its partitions before it joins.
    Eager,
    /// Members keep their partitions through a rebalance and give up only those assigned
    /// elsewhere, which then move in a follow-up rebalance.
    Cooperative,
}

/// A member as the leader sees it: its ids and decoded subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// Its member id.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// What it subscribed to and owns.
    pub subscription: Subscription,
}

/// Each member's partitions, by member id; every member given has an entry.
pub type GroupAssignment = BTreeMap<String, Vec<TopicPartition>>;

impl Assignor {
    /// Kafka's name, the JoinGroup protocol name.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor Kafka names `name`.
    pub fn from_name(name: &str) -> Option<Assignor> {
        [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ]
        .into_iter()
        .find(|assignor| assignor.name() == name)
    }

    /// The rebalance protocols it supports.
    pub fn protocols(self) -> &'static [RebalanceProtocol] {
        match self {
            Assignor::Range | Assignor::RoundRobin => &[RebalanceProtocol::Eager],
            Assignor::CooperativeSticky => {
                &[RebalanceProtocol::Eager, RebalanceProtocol::Cooperative]
            }
        }
    }

    /// The user data a member's subscription carries for this assignor. Kafka's
    /// cooperative-sticky writes its generation as an int32, for leaders that read
    /// subscriptions older than v2 (which lack the generation field).
    pub fn subscription_user_data(self, generation_id: i32) -> Option<Bytes> {
        match self {
            Assignor::Range | Assignor::RoundRobin => None,
            Assignor::CooperativeSticky => {
                Some(Bytes::copy_from_slice(&generation_id.to_be_bytes()))
            }
        }
    }

    /// Assigns the partitions of the subscribed topics that `partition_counts` knows (topics
    /// without a count are skipped, as Kafka skips topics without metadata).
    pub fn assign(
        self,
        members: &[GroupMember],
        partition_counts: &BTreeMap<String, i32>,
    ) -> GroupAssignment {
        let assignment = match self {
            Assignor::Range => range::assign(members, partition_counts),
            Assignor::RoundRobin => roundrobin::assign(members, partition_counts),
            Assignor::CooperativeSticky => sticky::assign_cooperative(members, partition_counts),
        };
        assert_eq!(assignment.len(), members.len(), "one entry per member");
        assignment
    }
}

/// The protocol a member with `assignors` follows: the most advanced one all of them support,
/// as Kafka's `ConsumerCoordinator` chooses it (so `range,cooperative-sticky` is eager).
/// `None` when they share none.
pub fn rebalance_protocol(assignors: &[Assignor]) -> Option<RebalanceProtocol> {
    let first = assignors.first()?;
    first
        .protocols()
        .iter()
        .copied()
        .filter(|protocol| assignors.iter().all(|a| a.protocols().contains(protocol)))
        .max()
}

/// Members in Kafka's `MemberInfo` order: static members first by instance id, then dynamic
/// ones by member id.
fn sorted_members(members: &[GroupMember]) -> Vec<&GroupMember> {
    let mut sorted: Vec<&GroupMember> = members.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |m: &GroupMember| (m.group_instance_id.is_none(), m.group_instance_id.clone());
        key(a)
            .cmp(&key(b))
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    sorted
}

/// An empty assignment for every member.
fn empty_assignment(members: &[GroupMember]) -> GroupAssignment {
    members
        .iter()
        .map(|member| (member.member_id.clone(), Vec::new()))
        .collect()
}

/// The generation a member's owned partitions belong to: the subscription's field (v2+), else
/// the int32 cooperative-sticky puts in its user data, else none (Kafka's `memberData`).
fn member_generation(subscription: &Subscription) -> i32 {
    if subscription.generation_id != NO_GENERATION {
        return subscription.generation_id;
    }
    match subscription.user_data.as_deref() {
        Some([a, b, c, d, ..]) => i32::from_be_bytes([*a, *b, *c, *d]),
        _ => NO_GENERATION,
    }
}

fn partitions_of(topic: &str, count: i32) -> impl Iterator<Item = TopicPartition> + '_ {
    (0..count.max(0)).map(move |partition| TopicPartition {
        topic: topic.to_owned(),
        partition,
    })
}
