//! The cooperative-sticky assignor: balanced, sticky, and cooperative (KIP-429).
//!
//! Kafka's `AbstractStickyAssignor` is a long search; this one reaches the same properties in
//! four plain steps, all in a fixed order so the result depends on nothing but the input:
//!
//! 1. Claims: each member's owned partitions that still exist and that it still subscribes to.
//!    A partition claimed by several members goes to the claim of the highest generation; two
//!    claims in that same generation cancel (Kafka's "multiple previous owners").
//! 2. The rest, fewest possible owners first, each to the eligible member with fewest partitions.
//! 3. Balance: while some member has two or more partitions more than a member that could take
//!    one of them, move one (a partition it did not own before, if it has one). Each move lowers
//!    the sum of squared counts, so this ends; at the end identical subscriptions differ by at
//!    most one, and a member keeps at least `min(owned, partitions / members)` of what it owned.
//! 4. Cooperative: a partition assigned to a member that does not own it while another member
//!    claims it, or whose claims cancelled, is left out of this generation. Its old owner sees
//!    it revoked, gives it up and rejoins, and the follow-up rebalance assigns it (Kafka's
//!    `CooperativeStickyAssignor.adjustAssignment`).

use std::collections::{BTreeMap, BTreeSet};

use super::{member_generation, partitions_of, sorted_members, GroupAssignment, GroupMember};
use crate::api::TopicPartition;

/// The cooperative-sticky assignment: [`assign_sticky`], then partitions changing owner left
/// out (step 4).
pub(super) fn assign_cooperative(
    members: &[GroupMember],
    partition_counts: &BTreeMap<String, i32>,
) -> GroupAssignment {
    let claims = resolve_claims(members, partition_counts);
    let mut assignment = assign_sticky(members, partition_counts, &claims);
    let mut claimed_by: BTreeMap<&TopicPartition, BTreeSet<&str>> = BTreeMap::new();
    for member in members {
        for tp in &member.subscription.owned_partitions {
            claimed_by.entry(tp).or_default().insert(&member.member_id);
        }
    }
    for (member_id, partitions) in &mut assignment {
        partitions.retain(|tp| {
            let others_claim = claimed_by
                .get(tp)
                .is_some_and(|owners| owners.iter().any(|owner| *owner != member_id));
            let owns = claimed_by
                .get(tp)
                .is_some_and(|owners| owners.contains(member_id.as_str()));
            let moving = !owns && others_claim;
            !moving && !claims.contested.contains(tp)
        });
    }
    assignment
}

/// What the members' owned partitions come to after step 1.
#[derive(Debug, Default)]
pub(super) struct Claims {
    /// The partitions each member keeps a valid claim on.
    pub(super) kept: BTreeMap<String, BTreeSet<TopicPartition>>,
    /// Partitions claimed by two members of the same (highest) generation.
    pub(super) contested: BTreeSet<TopicPartition>,
}

pub(super) fn resolve_claims(
    members: &[GroupMember],
    partition_counts: &BTreeMap<String, i32>,
) -> Claims {
    // For each valid partition: the best generation claiming it and who claimed at it.
    let mut best: BTreeMap<TopicPartition, (i32, Vec<&str>)> = BTreeMap::new();
    for member in members {
        let generation = member_generation(&member.subscription);
        let subscription = &member.subscription;
        for tp in &subscription.owned_partitions {
            let exists = partition_counts
                .get(&tp.topic)
                .is_some_and(|count| (0..*count).contains(&tp.partition));
            if !exists || !subscription.topics.contains(&tp.topic) {
                continue;
            }
            let entry = best.entry(tp.clone()).or_insert((generation, Vec::new()));
            if generation > entry.0 {
                *entry = (generation, Vec::new());
            }
            if generation == entry.0 && !entry.1.contains(&member.member_id.as_str()) {
                entry.1.push(&member.member_id);
            }
        }
    }
    let mut claims = Claims::default();
    for member in members {
        claims
            .kept
            .insert(member.member_id.clone(), BTreeSet::new());
    }
    for (tp, (_, owners)) in best {
        match owners[..] {
            [owner] => {
                let kept = claims.kept.get_mut(owner).expect("a member");
                kept.insert(tp);
            }
            _ => {
                assert!(owners.len() > 1);
                claims.contested.insert(tp);
            }
        }
    }
    claims
}

/// Steps 2 and 3: the balanced, sticky assignment before cooperative adjustment.
pub(super) fn assign_sticky(
    members: &[GroupMember],
    partition_counts: &BTreeMap<String, i32>,
    claims: &Claims,
) -> GroupAssignment {
    let order: Vec<&str> = sorted_members(members)
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    let subscribers = |topic: &str| -> Vec<&str> {
        let subscribes = |id: &&str| {
            let member = members.iter().find(|m| m.member_id == *id).expect("listed");
            member.subscription.topics.iter().any(|t| t == topic)
        };
        order.iter().copied().filter(subscribes).collect()
    };
    let mut eligible: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for topic in partition_counts.keys() {
        eligible.insert(topic, subscribers(topic));
    }
    let mut owned: BTreeMap<&str, BTreeSet<TopicPartition>> = order
        .iter()
        .map(|id| (*id, claims.kept[*id].clone()))
        .collect();
    let retained: BTreeSet<&TopicPartition> = claims.kept.values().flatten().collect();

    // Step 2: unclaimed partitions, those with the fewest possible owners first.
    let mut unassigned: Vec<TopicPartition> = partition_counts
        .iter()
        .flat_map(|(topic, count)| partitions_of(topic, *count))
        .filter(|tp| !retained.contains(tp) && !eligible[tp.topic.as_str()].is_empty())
        .collect();
    unassigned.sort_by_key(|tp| (eligible[tp.topic.as_str()].len(), tp.clone()));
    for tp in unassigned {
        let candidates = &eligible[tp.topic.as_str()];
        let fewest = candidates
            .iter()
            .min_by_key(|id| owned[**id].len())
            .expect("only partitions with subscribers");
        owned.get_mut(*fewest).expect("a member").insert(tp);
    }

    // Step 3: balance.
    while let Some((from, to, tp)) = best_move(&order, &owned, &eligible, claims) {
        assert!(owned.get_mut(from).expect("a member").remove(&tp));
        assert!(owned.get_mut(to).expect("a member").insert(tp));
    }
    owned
        .into_iter()
        .map(|(id, partitions)| (id.to_owned(), partitions.into_iter().collect()))
        .collect()
}

/// The move that narrows the widest gap between a member and one that could take one of its
/// partitions by at least two; among partitions of that member, one it did not own first.
fn best_move<'a>(
    order: &[&'a str],
    owned: &BTreeMap<&'a str, BTreeSet<TopicPartition>>,
    eligible: &BTreeMap<&str, Vec<&'a str>>,
    claims: &Claims,
) -> Option<(&'a str, &'a str, TopicPartition)> {
    // (gap, prefers-unowned, then the first in member and partition order)
    let mut best: Option<(usize, bool, &'a str, &'a str, &TopicPartition)> = None;
    for from in order {
        let count = owned[from].len();
        for tp in &owned[from] {
            let fresh = !claims.kept[*from].contains(tp);
            for to in &eligible[tp.topic.as_str()] {
                let gap = count.saturating_sub(owned[to].len());
                if gap < 2 {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((best_gap, best_fresh, ..)) => (gap, fresh) > (best_gap, best_fresh),
                };
                if better {
                    best = Some((gap, fresh, from, to, tp));
                }
            }
        }
    }
    best.map(|(_, _, from, to, tp)| (from, to, tp.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{member, owning, tps};
    use super::*;

    /// A new member takes partitions only from the others' surplus, and under the cooperative
    /// protocol not yet: they are first revoked from their owners.
    #[test]
    fn a_new_member_waits_for_revoked_partitions() {
        let members = [
            owning(member("a", &["t"]), 1, &[("t", 0), ("t", 1), ("t", 2)]),
            owning(member("b", &["t"]), 1, &[("t", 3), ("t", 4), ("t", 5)]),
            member("c", &["t"]),
        ];
        let counts = BTreeMap::from([("t".to_owned(), 6)]);
        let claims = resolve_claims(&members, &counts);
        let sticky = assign_sticky(&members, &counts, &claims);
        assert_eq!(sticky["a"].len(), 2);
        assert_eq!(sticky["b"].len(), 2);
        assert_eq!(sticky["c"].len(), 2);
        let cooperative = assign_cooperative(&members, &counts);
        assert_eq!(cooperative["a"], sticky["a"]);
        assert_eq!(cooperative["b"], sticky["b"]);
        assert_eq!(
            cooperative["c"],
            tps(&[]),
            "both moving partitions are withheld"
        );
        // The follow-up: a and b now own two each; c gets the two nobody owns.
        let members = [
            owning(
                member("a", &["t"]),
                2,
                &sticky["a"]
                    .iter()
                    .map(|tp| (tp.topic.as_str(), tp.partition))
                    .collect::<Vec<_>>(),
            ),
            owning(
                member("b", &["t"]),
                2,
                &sticky["b"]
                    .iter()
                    .map(|tp| (tp.topic.as_str(), tp.partition))
                    .collect::<Vec<_>>(),
            ),
            owning(member("c", &["t"]), 2, &[]),
        ];
        let follow_up = assign_cooperative(&members, &counts);
        assert_eq!(follow_up["c"], sticky["c"]);
        assert_eq!(follow_up["a"], sticky["a"]);
    }

    /// Two claims in the same generation cancel; a higher generation's claim wins.
    #[test]
    fn claims_resolve_by_generation() {
        let members = [
            owning(member("a", &["t"]), 3, &[("t", 0), ("t", 1)]),
            owning(member("b", &["t"]), 3, &[("t", 0)]),
            owning(member("c", &["t"]), 2, &[("t", 1), ("t", 2)]),
        ];
        let counts = BTreeMap::from([("t".to_owned(), 3)]);
        let claims = resolve_claims(&members, &counts);
        assert_eq!(claims.contested, tps(&[("t", 0)]).into_iter().collect());
        assert_eq!(claims.kept["a"], tps(&[("t", 1)]).into_iter().collect());
        assert_eq!(claims.kept["c"], tps(&[("t", 2)]).into_iter().collect());
        let cooperative = assign_cooperative(&members, &counts);
        let assigned: Vec<&TopicPartition> = cooperative.values().flatten().collect();
        assert!(
            !assigned.contains(&&tps(&[("t", 0)])[0]),
            "contested: withheld"
        );
    }
}
