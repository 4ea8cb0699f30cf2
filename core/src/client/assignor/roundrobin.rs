//! Kafka's `RoundRobinAssignor`: every partition of every subscribed topic, sorted, dealt to
//! the members in order, skipping a member not subscribed to the partition's topic.

use std::collections::{BTreeMap, BTreeSet};

use super::{empty_assignment, partitions_of, sorted_members, GroupAssignment, GroupMember};

pub(super) fn assign(
    members: &[GroupMember],
    partition_counts: &BTreeMap<String, i32>,
) -> GroupAssignment {
    let mut assignment = empty_assignment(members);
    let sorted = sorted_members(members);
    let topics: BTreeSet<&String> = members
        .iter()
        .flat_map(|m| &m.subscription.topics)
        .filter(|topic| partition_counts.contains_key(*topic))
        .collect();
    let mut next = 0usize;
    for topic in topics {
        for partition in partitions_of(topic, partition_counts[topic]) {
            // Some member subscribes to every topic listed, so the search ends within a lap.
            let lap = sorted.len();
            let offset = (0..lap)
                .find(|step| {
                    let member = sorted[(next + step) % lap];
                    member.subscription.topics.contains(topic)
                })
                .expect("a subscriber of the topic");
            let member = sorted[(next + offset) % lap];
            next = (next + offset + 1) % lap;
            assignment
                .get_mut(&member.member_id)
                .expect("every member has an entry")
                .push(partition);
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::super::tests::{member, tps};
    use super::*;

    /// Reference: RoundRobinAssignor's javadoc, first example: C0 and C1 subscribed to t0 and
    /// t1 of three partitions each: C0 gets t0p0, t0p2, t1p1 and C1 gets t0p1, t1p0, t1p2.
    #[test]
    fn the_javadoc_example_with_equal_subscriptions() {
        let members = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
        let counts = BTreeMap::from([("t0".to_owned(), 3), ("t1".to_owned(), 3)]);
        let assignment = assign(&members, &counts);
        assert_eq!(assignment["C0"], tps(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(assignment["C1"], tps(&[("t0", 1), ("t1", 0), ("t1", 2)]));
    }

    /// Reference: the javadoc's second example: t0, t1, t2 of 1, 2 and 3 partitions; C0 takes
    /// t0, C1 t0 and t1, C2 all three: C0 [t0p0], C1 [t1p0], C2 [t1p1, t2p0, t2p1, t2p2].
    #[test]
    fn the_javadoc_example_with_unequal_subscriptions() {
        let members = [
            member("C0", &["t0"]),
            member("C1", &["t0", "t1"]),
            member("C2", &["t0", "t1", "t2"]),
        ];
        let counts = BTreeMap::from([
            ("t0".to_owned(), 1),
            ("t1".to_owned(), 2),
            ("t2".to_owned(), 3),
        ]);
        let assignment = assign(&members, &counts);
        assert_eq!(assignment["C0"], tps(&[("t0", 0)]));
        assert_eq!(assignment["C1"], tps(&[("t1", 0)]));
        assert_eq!(
            assignment["C2"],
            tps(&[("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)])
        );
    }
}
