//! The history's consumer-group operations, indexed for the group checks: offset commits and
//! resets that may have taken effect, OK assignments, and OK committed-offset reads.

use std::collections::{BTreeMap, BTreeSet};

use crate::history::{Completion, History, OpId, Request};

/// An offset commit (or reset) that did not definitely fail.
pub(crate) struct Commit<'h> {
    pub(crate) op: OpId,
    pub(crate) group: &'h str,
    pub(crate) member: &'h str,
    pub(crate) generation: i32,
    pub(crate) reset: bool,
    pub(crate) invoked: usize,
    /// The completion index when it completed OK; `None` when it is indefinite (info, or never
    /// completed).
    pub(crate) ok_at: Option<usize>,
    /// The offsets it committed (OK) or may have committed (indefinite): those asked for, less
    /// the partitions the answer refused.
    pub(crate) offsets: BTreeMap<i32, i64>,
}

/// An OK assignment.
pub(crate) struct Assignment<'h> {
    pub(crate) op: OpId,
    pub(crate) group: &'h str,
    pub(crate) member: &'h str,
    pub(crate) generation: i32,
    pub(crate) partitions: &'h BTreeSet<i32>,
    pub(crate) completed: usize,
}

/// An OK committed-offset read.
pub(crate) struct Read<'h> {
    pub(crate) op: OpId,
    pub(crate) process: u64,
    pub(crate) group: &'h str,
    /// The partitions asked for; `None` for all.
    pub(crate) asked: Option<&'h BTreeSet<i32>>,
    /// The answer: per partition the committed offset, −1 for none.
    pub(crate) offsets: &'h BTreeMap<i32, i64>,
    pub(crate) invoked: usize,
    pub(crate) completed: usize,
}

impl Read<'_> {
    /// The committed offset the read returned for `partition`, `None` for none.
    pub(crate) fn offset(&self, partition: i32) -> Option<i64> {
        self.offsets
            .get(&partition)
            .copied()
            .filter(|offset| *offset >= 0)
    }
}

/// Every group operation the checks judge, each list in operation (invocation) order.
#[derive(Default)]
pub(crate) struct Groups<'h> {
    pub(crate) commits: Vec<Commit<'h>>,
    pub(crate) assignments: Vec<Assignment<'h>>,
    pub(crate) reads: Vec<Read<'h>>,
}

/// Indexes the history's group operations.
pub(crate) fn index(history: &History) -> Groups<'_> {
    let mut groups = Groups::default();
    for (index, operation) in history.operations().iter().enumerate() {
        let op = OpId(index);
        match (&operation.request, &operation.completion) {
            (
                Request::Commit {
                    group,
                    member,
                    generation,
                    offsets,
                    reset,
                },
                completion,
            ) => {
                let (ok_at, offsets) = match completion {
                    Completion::Fail => continue,
                    Completion::CommitOk { failed } => {
                        let mut committed = offsets.clone();
                        committed.retain(|partition, _| !failed.contains(partition));
                        (operation.complete_index, committed)
                    }
                    _ => (None, offsets.clone()),
                };
                groups.commits.push(Commit {
                    op,
                    group,
                    member,
                    generation: *generation,
                    reset: *reset,
                    invoked: operation.invoke_index,
                    ok_at,
                    offsets,
                });
            }
            (
                Request::Assignment {
                    group,
                    member,
                    generation,
                },
                Completion::AssignmentOk { partitions, .. },
            ) => {
                let Some(completed) = operation.complete_index else {
                    continue;
                };
                groups.assignments.push(Assignment {
                    op,
                    group,
                    member,
                    generation: *generation,
                    partitions,
                    completed,
                });
            }
            (Request::OffsetFetch { group, partitions }, Completion::OffsetFetchOk { offsets }) => {
                let Some(completed) = operation.complete_index else {
                    continue;
                };
                groups.reads.push(Read {
                    op,
                    process: operation.process,
                    group,
                    asked: partitions.as_ref(),
                    offsets,
                    invoked: operation.invoke_index,
                    completed,
                });
            }
            _ => {}
        }
    }
    groups
}

/// Formats partitions as `[0, 2]`.
pub(crate) fn partition_list<'p>(partitions: impl Iterator<Item = &'p i32>) -> String {
    let partitions: Vec<&i32> = partitions.collect();
    format!("{partitions:?}")
}
