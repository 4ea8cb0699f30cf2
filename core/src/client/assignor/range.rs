//! Kafka's `RangeAssignor`: topic by topic, the subscribed members in order each take a
//! contiguous range of partitions, the first `count % members` one more than the rest.

use std::collections::BTreeMap;

use super::{empty_assignment, partitions_of, sorted_members, GroupAssignment, GroupMember};

pub(super) fn assign(
    members: &[GroupMember],
    partition_counts: &BTreeMap<String, i32>,
) -> GroupAssignment {
    let mut assignment = empty_assignment(members);
    let sorted = sorted_members(members);
    for (topic, count) in partition_counts {
        let subscribed: Vec<&GroupMember> = sorted
            .iter()
            .copied()
            .filter(|m| m.subscription.topics.contains(topic))
            .collect();
        if subscribed.is_empty() || *count <= 0 {
            continue;
        }
        let count = usize::try_from(*count).expect("positive");
        let (each, extra) = (count / subscribed.len(), count % subscribed.len());
        let mut partitions = partitions_of(topic, count as i32);
        for (index, member) in subscribed.iter().enumerate() {
            let take = each + usize::from(index < extra);
            let range = partitions.by_ref().take(take);
            assignment
                .get_mut(&member.member_id)
                .expect("every member has an entry")
                .extend(range);
        }
        assert!(partitions.next().is_none(), "every partition assigned");
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::super::tests::{member, tps};
    use super::*;

    /// Reference: RangeAssignor's javadoc example: two consumers, two topics of three
    /// partitions: C0 gets t0p0, t0p1, t1p0, t1p1 and C1 gets t0p2, t1p2.
    #[test]
    fn the_javadoc_example() {
        let members = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
        let counts = BTreeMap::from([("t0".to_owned(), 3), ("t1".to_owned(), 3)]);
        let assignment = assign(&members, &counts);
        assert_eq!(
            assignment["C0"],
            tps(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)])
        );
        assert_eq!(assignment["C1"], tps(&[("t0", 2), ("t1", 2)]));
    }

    /// Only members subscribed to a topic share it; others get nothing of it.
    #[test]
    fn only_subscribers_share_a_topic() {
        let members = [member("a", &["x"]), member("b", &["x", "y"])];
        let counts = BTreeMap::from([("x".to_owned(), 2), ("y".to_owned(), 2)]);
        let assignment = assign(&members, &counts);
        assert_eq!(assignment["a"], tps(&[("x", 0)]));
        assert_eq!(assignment["b"], tps(&[("x", 1), ("y", 0), ("y", 1)]));
    }
}
