//! Checks that only the current owner's commits are accepted (invariant 16, `zombie-commit`).
//!
//! Two findings, both on OK commits from inside the group (generation g ≥ 0) that committed at
//! least one partition:
//!
//! - A stale generation: the commit was invoked after an assignment of a newer generation
//!   g' > g of the same group had completed. The coordinator answers a SyncGroup only once the
//!   new generation is durable, so from then on it must refuse commits of older generations
//!   (ILLEGAL_GENERATION), across failovers too.
//! - A non-owner: the commit of member M in generation g includes a partition that M's
//!   assignment of g (every OK assignment of M in g, when the history has one) did not give it.
//!   Kafka's classic coordinator does not track which member owns which partition, so this one
//!   catches a client that commits partitions it does not own rather than a coordinator that
//!   accepts them. One exception is KIP-429's cooperative revocation: a member commits the
//!   partitions generation g takes from it in g (Kafka's `onPartitionsRevoked`), before it
//!   rejoins. So a partition that M's latest earlier assignment gave it, and that no other
//!   member's assignment of g gives, is M's to commit in g.
//!
//! Commits from outside the group (generation −1, resets included) are not judged here.

use std::collections::{BTreeMap, BTreeSet};

use super::groups::{partition_list, Assignment, Commit, Groups};
use crate::history::OpId;
use crate::report::{anomaly, Anomalies};

/// The newest generation of a group assigned so far, at some point of the history.
#[derive(Clone, Copy)]
struct Newest {
    /// The completion index of the assignment that made it newest.
    completed: usize,
    generation: i32,
    op: OpId,
}

/// Runs both checks.
pub(crate) fn check(groups: &Groups<'_>, anomalies: &mut Anomalies) {
    let newest = newest_by_group(&groups.assignments);
    let owned = owned_by_member(&groups.assignments);
    for commit in &groups.commits {
        if commit.ok_at.is_none() || commit.generation < 0 || commit.offsets.is_empty() {
            continue;
        }
        stale_generation(commit, &newest, anomalies);
        non_owner(commit, &owned, anomalies);
    }
}

/// Per group, the steps at which the newest assigned generation rose, in completion order.
fn newest_by_group<'h>(assignments: &[Assignment<'h>]) -> BTreeMap<&'h str, Vec<Newest>> {
    let mut completed: Vec<&Assignment<'h>> = assignments.iter().collect();
    completed.sort_unstable_by_key(|assignment| assignment.completed);
    let mut newest: BTreeMap<&'h str, Vec<Newest>> = BTreeMap::new();
    for assignment in completed {
        let steps = newest.entry(assignment.group).or_default();
        if steps
            .last()
            .is_some_and(|last| last.generation >= assignment.generation)
        {
            continue;
        }
        steps.push(Newest {
            completed: assignment.completed,
            generation: assignment.generation,
            op: assignment.op,
        });
    }
    newest
}

/// Per (group, member, generation), the partitions its OK assignments gave it, and the first
/// of them.
fn owned_by_member<'h>(
    assignments: &[Assignment<'h>],
) -> BTreeMap<(&'h str, &'h str, i32), (OpId, BTreeSet<i32>)> {
    let mut owned: BTreeMap<(&'h str, &'h str, i32), (OpId, BTreeSet<i32>)> = BTreeMap::new();
    for assignment in assignments {
        let key = (assignment.group, assignment.member, assignment.generation);
        let (_, partitions) = owned
            .entry(key)
            .or_insert_with(|| (assignment.op, BTreeSet::new()));
        partitions.extend(assignment.partitions.iter().copied());
    }
    owned
}

/// Reports `commit` if an assignment of a newer generation completed before it was invoked.
fn stale_generation(
    commit: &Commit<'_>,
    newest: &BTreeMap<&str, Vec<Newest>>,
    anomalies: &mut Anomalies,
) {
    let Some(steps) = newest.get(commit.group) else {
        return;
    };
    let before = steps.partition_point(|step| step.completed < commit.invoked);
    let Some(newer) = before
        .checked_sub(1)
        .map(|at| steps[at])
        .filter(|step| step.generation > commit.generation)
    else {
        return;
    };
    let example = format!(
        "{} was accepted, though invoked after {} completed an assignment of generation {}",
        describe(commit),
        newer.op,
        newer.generation
    );
    anomalies.push(anomaly::ZOMBIE_COMMIT, example);
}

/// Reports `commit` if it committed partitions its member was not assigned in its generation.
fn non_owner(
    commit: &Commit<'_>,
    owned: &BTreeMap<(&str, &str, i32), (OpId, BTreeSet<i32>)>,
    anomalies: &mut Anomalies,
) {
    let key = (commit.group, commit.member, commit.generation);
    let Some((op, partitions)) = owned.get(&key) else {
        return;
    };
    let revoking = revoked_in(commit, owned);
    let foreign: Vec<&i32> = commit
        .offsets
        .keys()
        .filter(|partition| !partitions.contains(partition) && !revoking.contains(partition))
        .collect();
    if foreign.is_empty() {
        return;
    }
    let example = format!(
        "{} was accepted, though partitions {} are not the member's in generation {} ({op} assigned it {})",
        describe(commit),
        partition_list(foreign.into_iter()),
        commit.generation,
        partition_list(partitions.iter())
    );
    anomalies.push(anomaly::ZOMBIE_COMMIT, example);
}

/// The partitions the commit's member may still commit in its generation g as their
/// cooperative revoker: those its latest assignment of an earlier generation gave it, less
/// those another member's assignment of g gives.
fn revoked_in(
    commit: &Commit<'_>,
    owned: &BTreeMap<(&str, &str, i32), (OpId, BTreeSet<i32>)>,
) -> BTreeSet<i32> {
    let earlier = owned
        .range(
            (commit.group, commit.member, i32::MIN)
                ..(commit.group, commit.member, commit.generation),
        )
        .next_back();
    let Some((_, (_, held))) = earlier else {
        return BTreeSet::new();
    };
    let others: BTreeSet<i32> = owned
        .iter()
        .filter(|((group, member, generation), _)| {
            *group == commit.group && *member != commit.member && *generation == commit.generation
        })
        .flat_map(|(_, (_, partitions))| partitions.iter().copied())
        .collect();
    held.difference(&others).copied().collect()
}

/// Names a commit: `group g: op 9 (member m-1, generation 1) committing partition 0 offset 5`.
fn describe(commit: &Commit<'_>) -> String {
    let offsets: Vec<String> = commit
        .offsets
        .iter()
        .map(|(partition, offset)| format!("partition {partition} offset {offset}"))
        .collect();
    format!(
        "group {}: {} (member {}, generation {}) committing {}",
        commit.group,
        commit.op,
        commit.member,
        commit.generation,
        offsets.join(", ")
    )
}
