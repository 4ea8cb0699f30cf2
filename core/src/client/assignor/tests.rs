//! Properties every assignor keeps, over random groups.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

pub(super) fn tps(list: &[(&str, i32)]) -> Vec<TopicPartition> {
    list.iter()
        .map(|(topic, partition)| TopicPartition {
            topic: (*topic).to_owned(),
            partition: *partition,
        })
        .collect()
}

pub(super) fn member(id: &str, topics: &[&str]) -> GroupMember {
    GroupMember {
        member_id: id.to_owned(),
        group_instance_id: None,
        subscription: Subscription::new(topics.iter().map(|t| (*t).to_owned()).collect()),
    }
}

pub(super) fn owning(
    mut member: GroupMember,
    generation: i32,
    owned: &[(&str, i32)],
) -> GroupMember {
    member.subscription.generation_id = generation;
    member.subscription.owned_partitions = tps(owned);
    member
}

#[test]
fn names_round_trip_and_protocols_follow_kafka() {
    for assignor in [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::CooperativeSticky,
    ] {
        assert_eq!(Assignor::from_name(assignor.name()), Some(assignor));
    }
    assert_eq!(Assignor::from_name("sticky"), None);
    // Kafka 3.x's default, range then cooperative-sticky, shares only the eager protocol.
    let default = [Assignor::Range, Assignor::CooperativeSticky];
    assert_eq!(rebalance_protocol(&default), Some(RebalanceProtocol::Eager));
    let cooperative = [Assignor::CooperativeSticky];
    assert_eq!(
        rebalance_protocol(&cooperative),
        Some(RebalanceProtocol::Cooperative)
    );
    assert_eq!(rebalance_protocol(&[]), None);
}

#[test]
fn static_members_sort_first() {
    let mut a = member("a", &["t"]);
    let mut z = member("z", &["t"]);
    z.group_instance_id = Some("i1".into());
    a.group_instance_id = None;
    let members = [a, z, member("m", &["t"])];
    let sorted: Vec<&str> = sorted_members(&members)
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    assert_eq!(sorted, ["z", "a", "m"]);
}

const TOPICS: [&str; 3] = ["x", "y", "z"];

/// A random group: up to 6 members, each subscribed to a non-empty subset of three topics
/// (or all of them when `identical`), owning random partitions at random generations.
fn arb_group(identical: bool) -> impl Strategy<Value = (Vec<GroupMember>, BTreeMap<String, i32>)> {
    let counts = prop::collection::vec(0..7i32, 3);
    let arb_member = (
        1..8u8,
        0..4i32,
        prop::collection::vec((0..3usize, 0..8i32), 0..6),
    );
    (counts, prop::collection::vec(arb_member, 1..7)).prop_map(move |(counts, members)| {
        let counts: BTreeMap<String, i32> = TOPICS
            .iter()
            .zip(counts)
            .map(|(t, c)| ((*t).to_owned(), c))
            .collect();
        let members = members
            .into_iter()
            .enumerate()
            .map(|(index, (mask, generation, owned))| {
                let mask = if identical { 7 } else { mask };
                let topics: Vec<&str> = (0..3)
                    .filter(|bit| mask & (1 << bit) != 0)
                    .map(|bit| TOPICS[bit])
                    .collect();
                let owned: Vec<(&str, i32)> = owned.iter().map(|(t, p)| (TOPICS[*t], *p)).collect();
                owning(member(&format!("m{index}"), &topics), generation, &owned)
            })
            .collect();
        (members, counts)
    })
}

/// Every partition of a subscribed topic is assigned to at most one member, which subscribes
/// to it; with `withheld_ok`, a missing partition must be one another member claims.
fn check_coverage(
    members: &[GroupMember],
    counts: &BTreeMap<String, i32>,
    assignment: &GroupAssignment,
    withheld_ok: bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(assignment.len(), members.len());
    let mut owner: BTreeMap<&TopicPartition, &str> = BTreeMap::new();
    for member in members {
        for tp in &assignment[&member.member_id] {
            prop_assert!(
                member.subscription.topics.contains(&tp.topic),
                "{tp:?} not subscribed"
            );
            prop_assert!(
                owner.insert(tp, &member.member_id).is_none(),
                "{tp:?} twice"
            );
        }
    }
    for (topic, count) in counts {
        let subscribed = members
            .iter()
            .any(|m| m.subscription.topics.contains(topic));
        for tp in partitions_of(topic, *count) {
            if !subscribed {
                prop_assert!(!owner.contains_key(&tp));
                continue;
            }
            if owner.contains_key(&tp) {
                continue;
            }
            prop_assert!(withheld_ok, "{tp:?} unassigned");
            let claimed = members
                .iter()
                .any(|m| m.subscription.owned_partitions.contains(&tp));
            prop_assert!(claimed, "{tp:?} withheld though nobody owns it");
        }
    }
    Ok(())
}

fn counts_of(assignment: &GroupAssignment) -> Vec<usize> {
    assignment.values().map(Vec::len).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn range_covers_every_partition_once((members, counts) in arb_group(false)) {
        let assignment = Assignor::Range.assign(&members, &counts);
        check_coverage(&members, &counts, &assignment, false)?;
    }

    #[test]
    fn roundrobin_covers_and_balances((members, counts) in arb_group(false)) {
        let assignment = Assignor::RoundRobin.assign(&members, &counts);
        check_coverage(&members, &counts, &assignment, false)?;
    }

    #[test]
    fn roundrobin_is_balanced_for_identical_subscriptions((members, counts) in arb_group(true)) {
        let counts = counts_of(&Assignor::RoundRobin.assign(&members, &counts));
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        prop_assert!(max - min <= 1);
    }

    /// Without the cooperative step (or when nothing changes owner), every partition is
    /// assigned; with it, a partition may be missing only while someone else owns it.
    #[test]
    fn sticky_covers_every_partition((members, counts) in arb_group(false)) {
        let claims = sticky::resolve_claims(&members, &counts);
        let assignment = sticky::assign_sticky(&members, &counts, &claims);
        check_coverage(&members, &counts, &assignment, false)?;
        let cooperative = Assignor::CooperativeSticky.assign(&members, &counts);
        check_coverage(&members, &counts, &cooperative, true)?;
    }

    /// A partition given to a member that did not own it is never owned by anyone else.
    #[test]
    fn cooperative_never_hands_over_an_owned_partition((members, counts) in arb_group(false)) {
        let assignment = Assignor::CooperativeSticky.assign(&members, &counts);
        for member in &members {
            for tp in &assignment[&member.member_id] {
                if member.subscription.owned_partitions.contains(tp) {
                    continue;
                }
                let others = members.iter().filter(|m| m.member_id != member.member_id);
                for other in others {
                    prop_assert!(!other.subscription.owned_partitions.contains(tp));
                }
            }
        }
    }

    /// Identical subscriptions: counts within one of each other (before the cooperative step
    /// withholds anything), and each member keeps at least min(valid owned, P / N).
    #[test]
    fn sticky_is_balanced_and_sticky((members, counts) in arb_group(true)) {
        let claims = sticky::resolve_claims(&members, &counts);
        let assignment = sticky::assign_sticky(&members, &counts, &claims);
        let sizes = counts_of(&assignment);
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        prop_assert!(max - min <= 1, "{sizes:?}");
        let total: usize = sizes.iter().sum();
        let floor = total / members.len();
        for member in &members {
            let kept = &claims.kept[&member.member_id];
            let still: BTreeSet<&TopicPartition> = assignment[&member.member_id].iter().collect();
            let kept_now = kept.iter().filter(|tp| still.contains(tp)).count();
            prop_assert!(kept_now >= kept.len().min(floor), "{} kept {kept_now} of {}", member.member_id, kept.len());
        }
    }

    /// The same input gives the same output, whatever the order of the members.
    #[test]
    fn assignors_ignore_member_order((mut members, counts) in arb_group(false)) {
        let before: Vec<GroupAssignment> = [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky]
            .iter()
            .map(|a| a.assign(&members, &counts))
            .collect();
        members.reverse();
        let after: Vec<GroupAssignment> = [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky]
            .iter()
            .map(|a| a.assign(&members, &counts))
            .collect();
        prop_assert_eq!(before, after);
    }
}
