//! Checks that a generation gives each partition to one member (invariant 17,
//! `double-assignment`): two different members' OK assignments of the same group and generation
//! never share a partition.
//!
//! Two OK assignments of one member in one generation (a SyncGroup retried) are not judged
//! against each other. Cooperative rebalancing (KIP-429) keeps to the rule too: a partition
//! moving between members is revoked in one generation and assigned in the next.

use std::collections::BTreeMap;

use super::groups::Groups;
use crate::history::OpId;
use crate::report::{anomaly, Anomalies};

/// Runs the check.
pub(crate) fn check(groups: &Groups<'_>, anomalies: &mut Anomalies) {
    // (group, generation, partition) -> member -> its first OK assignment of that partition.
    let mut owners: BTreeMap<(&str, i32, i32), BTreeMap<&str, OpId>> = BTreeMap::new();
    for assignment in &groups.assignments {
        for &partition in assignment.partitions {
            owners
                .entry((assignment.group, assignment.generation, partition))
                .or_default()
                .entry(assignment.member)
                .or_insert(assignment.op);
        }
    }
    for ((group, generation, partition), members) in owners {
        if members.len() < 2 {
            continue;
        }
        let owners: Vec<String> = members
            .iter()
            .map(|(member, op)| format!("member {member} ({op})"))
            .collect();
        let example = format!(
            "group {group} generation {generation} partition {partition}: assigned to {}",
            owners.join(" and ")
        );
        anomalies.push(anomaly::DOUBLE_ASSIGNMENT, example);
    }
}
