//! Consumer-group operations: offset commits and resets, committed-offset reads (OffsetFetch),
//! assignments (SyncGroup) with the positions a member starts from, and revocations.
//! The `history` module's doc shows a group member's life as a history records it.

use std::collections::{BTreeMap, BTreeSet};

use super::operation::{AssignmentStart, GENERATION_NONE};
use super::validate::per_partition;
use super::{Completion, History, HistoryError, OpId, PartitionOffset, Request};

impl History {
    /// Records the invocation by `process` of an offset commit (Kafka OffsetCommit) of `offsets`
    /// for `group`, by `member` in `generation`. A commit from outside the group (an admin
    /// commit) has generation [`GENERATION_NONE`] (−1); when the run means it as an explicit
    /// reset, which may move offsets backwards, record it with [`History::invoke_reset`].
    ///
    /// Fails on a generation below −1, a negative partition or offset, or a partition listed
    /// twice.
    pub fn invoke_commit(
        &mut self,
        process: u64,
        group: &str,
        member: &str,
        generation: i32,
        offsets: Vec<PartitionOffset>,
    ) -> Result<OpId, HistoryError> {
        if generation < GENERATION_NONE {
            return Err(HistoryError::InvalidGeneration(generation));
        }
        let offsets = commit_offsets(offsets)?;
        let request = Request::Commit {
            group: group.to_owned(),
            member: member.to_owned(),
            generation,
            offsets,
            reset: false,
        };
        Ok(self.invoke(process, request))
    }

    /// Records the invocation by `process` of an explicit reset of `group`'s committed offsets
    /// to `offsets`: an offset commit from outside the group (no member, generation −1) that
    /// the run declares may move them backwards. Complete it as a commit.
    ///
    /// Fails on a negative partition or offset, or a partition listed twice.
    pub fn invoke_reset(
        &mut self,
        process: u64,
        group: &str,
        offsets: Vec<PartitionOffset>,
    ) -> Result<OpId, HistoryError> {
        let offsets = commit_offsets(offsets)?;
        let request = Request::Commit {
            group: group.to_owned(),
            member: String::new(),
            generation: GENERATION_NONE,
            offsets,
            reset: true,
        };
        Ok(self.invoke(process, request))
    }

    /// Completes commit (or reset) `op` as successful for every partition.
    pub fn ok_commit(&mut self, op: OpId) -> Result<(), HistoryError> {
        self.ok_commit_partial(op, Vec::new())
    }

    /// Completes commit (or reset) `op` as successful, except for the partitions in `failed`,
    /// whose commit the answer refused (an error code per partition): those were not committed.
    ///
    /// Fails if `op` is not a pending commit, or a partition of `failed` is not one it committed.
    pub fn ok_commit_partial(&mut self, op: OpId, failed: Vec<i32>) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        let Request::Commit { offsets, .. } = &operation.request else {
            return Err(HistoryError::NotACommit(op));
        };
        let failed = partition_set(failed)?;
        if let Some(&partition) = failed.iter().find(|p| !offsets.contains_key(p)) {
            return Err(HistoryError::PartitionNotRequested { op, partition });
        }
        self.complete(op, Completion::CommitOk { failed });
        Ok(())
    }

    /// Records the invocation by `process` of a read of `group`'s committed offsets (Kafka
    /// OffsetFetch) for `partitions`, or for every partition when `None`.
    ///
    /// Fails on a negative partition or a partition listed twice.
    pub fn invoke_offset_fetch(
        &mut self,
        process: u64,
        group: &str,
        partitions: Option<Vec<i32>>,
    ) -> Result<OpId, HistoryError> {
        let partitions = partitions.map(partition_set).transpose()?;
        let request = Request::OffsetFetch {
            group: group.to_owned(),
            partitions,
        };
        Ok(self.invoke(process, request))
    }

    /// Completes offset fetch `op` as successful, its answer carrying `offsets`: per partition
    /// the committed offset, −1 for none. A partition asked for but absent has none too.
    ///
    /// Fails if `op` is not a pending offset fetch, on a negative partition, an offset below −1,
    /// a partition listed twice, or a partition the fetch did not ask for.
    pub fn ok_offset_fetch(
        &mut self,
        op: OpId,
        offsets: Vec<PartitionOffset>,
    ) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        let Request::OffsetFetch { partitions, .. } = &operation.request else {
            return Err(HistoryError::NotAnOffsetFetch(op));
        };
        let mut by_partition = BTreeMap::new();
        for (partition, offset) in offsets {
            if partition < 0 {
                return Err(HistoryError::NegativePartition(partition));
            }
            if offset < -1 {
                return Err(HistoryError::NegativeOffset { op, offset });
            }
            if partitions
                .as_ref()
                .is_some_and(|asked| !asked.contains(&partition))
            {
                return Err(HistoryError::PartitionNotRequested { op, partition });
            }
            if by_partition.insert(partition, offset).is_some() {
                return Err(HistoryError::RepeatedPartition { op, partition });
            }
        }
        self.complete(
            op,
            Completion::OffsetFetchOk {
                offsets: by_partition,
            },
        );
        Ok(())
    }

    /// Records the invocation by `process` of the SyncGroup with which `member` of `group` asks
    /// for its partitions in `generation` (the one its JoinGroup answer gave).
    ///
    /// Fails on a negative generation.
    pub fn invoke_assignment(
        &mut self,
        process: u64,
        group: &str,
        member: &str,
        generation: i32,
    ) -> Result<OpId, HistoryError> {
        if generation < 0 {
            return Err(HistoryError::InvalidGeneration(generation));
        }
        let request = Request::Assignment {
            group: group.to_owned(),
            member: member.to_owned(),
            generation,
        };
        Ok(self.invoke(process, request))
    }

    /// Completes assignment `op` as successful: the SyncGroup answer assigned `partitions`.
    ///
    /// For the poll checks this is an assign of the process: its earlier positions are
    /// forgotten, as after a seek.
    ///
    /// Fails if `op` is not a pending assignment, on a negative partition or a partition listed
    /// twice.
    pub fn ok_assignment(&mut self, op: OpId, partitions: Vec<i32>) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        if !matches!(operation.request, Request::Assignment { .. }) {
            return Err(HistoryError::NotAnAssignment(op));
        }
        let partitions = partition_set(partitions)?;
        self.complete(
            op,
            Completion::AssignmentOk {
                partitions,
                start: None,
            },
        );
        Ok(())
    }

    /// Records, as one more event, where the member of OK assignment `op` starts consuming each
    /// of its `positions`' partitions (the offset of the first record to consume), once it has
    /// fetched its committed offsets. Partitions assigned but not listed are not judged.
    ///
    /// For the poll checks this is a seek of the process: the first OK poll of a listed
    /// partition completed after this event must start at its position, or at the next offset
    /// known to exist above it. These positions are the seek: that poll sets `after_seek` only
    /// if the member sought elsewhere since (say after OFFSET_OUT_OF_RANGE), and then the
    /// positions are forgotten with the rest.
    ///
    /// Fails if `op` is not an assignment completed OK, already has positions, or a partition is
    /// negative, listed twice or not assigned, or a position is negative.
    pub fn ok_assignment_positions(
        &mut self,
        op: OpId,
        positions: Vec<PartitionOffset>,
    ) -> Result<(), HistoryError> {
        let event_index = self.events;
        let operation = self
            .operations
            .get_mut(op.0)
            .ok_or(HistoryError::UnknownOp(op))?;
        if !matches!(operation.request, Request::Assignment { .. }) {
            return Err(HistoryError::NotAnAssignment(op));
        }
        let Completion::AssignmentOk { partitions, start } = &mut operation.completion else {
            return Err(HistoryError::AssignmentNotOk(op));
        };
        if start.is_some() {
            return Err(HistoryError::PositionsAlreadyRecorded(op));
        }
        let positions = per_partition(op, positions)?;
        if let Some(&partition) = positions.keys().find(|p| !partitions.contains(p)) {
            return Err(HistoryError::PartitionNotRequested { op, partition });
        }
        *start = Some(AssignmentStart {
            positions,
            event_index,
        });
        self.events += 1;
        Ok(())
    }

    /// Records that `member` of `group`, run by `process`, gave up `partitions` it was assigned
    /// in `generation` (before rejoining for a rebalance). A revocation is the member's own
    /// decision: it is invoked and done in one event pair, and never fails.
    ///
    /// Fails on a negative generation or partition, or a partition listed twice.
    pub fn revoke(
        &mut self,
        process: u64,
        group: &str,
        member: &str,
        generation: i32,
        partitions: Vec<i32>,
    ) -> Result<OpId, HistoryError> {
        if generation < 0 {
            return Err(HistoryError::InvalidGeneration(generation));
        }
        let request = Request::Revocation {
            group: group.to_owned(),
            member: member.to_owned(),
            generation,
            partitions: partition_set(partitions)?,
        };
        let op = self.invoke(process, request);
        self.complete(op, Completion::Revoked);
        Ok(op)
    }
}

/// The partitions of an invocation: none negative, none twice.
fn partition_set(partitions: Vec<i32>) -> Result<BTreeSet<i32>, HistoryError> {
    let mut set = BTreeSet::new();
    for partition in partitions {
        if partition < 0 {
            return Err(HistoryError::NegativePartition(partition));
        }
        if !set.insert(partition) {
            return Err(HistoryError::PartitionRequestedTwice(partition));
        }
    }
    Ok(set)
}

/// The offsets of a commit: no negative partition or offset, no partition twice.
fn commit_offsets(offsets: Vec<PartitionOffset>) -> Result<BTreeMap<i32, i64>, HistoryError> {
    let mut by_partition = BTreeMap::new();
    for (partition, offset) in offsets {
        if partition < 0 {
            return Err(HistoryError::NegativePartition(partition));
        }
        if offset < 0 {
            return Err(HistoryError::NegativeCommitOffset { partition, offset });
        }
        if by_partition.insert(partition, offset).is_some() {
            return Err(HistoryError::PartitionRequestedTwice(partition));
        }
    }
    Ok(by_partition)
}
