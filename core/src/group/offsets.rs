//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, DeleteGroups and retention.

use std::collections::BTreeMap;

use super::coordinator::{unknown_group_offsets, Append, GroupCoordinator, Waiter};
use super::records::{self, OffsetValue};
use super::state::{Group, GroupState};
use crate::api::{
    DeleteGroupsRequest, DeleteGroupsResponse, ErrorCode, FetchedGroupOffsets, FetchedOffset,
    GroupResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest,
    OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse, TopicPartition,
    ADMIN_GENERATION,
};
use crate::controller::MetadataImage;
use crate::time::Instant;

/// A record to write: key and value (`None` = tombstone).
type KeyValue = (Vec<u8>, Option<Vec<u8>>);

impl GroupCoordinator {
    /// OffsetCommit: checked against the group's generation and members, then written; the
    /// answer comes once the ISR holds the records.
    pub(super) fn commit(
        &mut self,
        now: Instant,
        wall_ms: i64,
        image: &MetadataImage,
        token: u64,
        request: OffsetCommitRequest,
    ) {
        let refuse_all = |error: ErrorCode| OffsetCommitResponse {
            partitions: request
                .partitions
                .iter()
                .map(|p| (p.partition.clone(), error))
                .collect(),
        };
        let partition = match self.serving(&request.group_id) {
            _ if request.group_id.is_empty() => Err(ErrorCode::InvalidGroupId),
            served => served,
        };
        let partition = match partition {
            Ok(partition) => partition,
            Err(error) => {
                let response = GroupResponse::OffsetCommit(refuse_all(error));
                return self.answer(token, response, None);
            }
        };
        let state = self.partitions.get_mut(&partition).expect("served");
        let admin = request.generation_id < 0;
        if !state.groups.contains_key(&request.group_id) {
            if !admin {
                let response =
                    GroupResponse::OffsetCommit(refuse_all(ErrorCode::IllegalGeneration));
                return self.answer(token, response, None);
            }
            // Kafka creates a group for a commit from outside any group (a simple consumer,
            // an admin reset): it holds offsets only.
            let group = Group::new(request.group_id.clone(), wall_ms);
            state.groups.insert(request.group_id.clone(), group);
        }
        let group = state.groups.get_mut(&request.group_id).expect("present");
        if let Err(error) = check_commit(group, now, &request) {
            let response = GroupResponse::OffsetCommit(refuse_all(error));
            self.answer(token, response, None);
            return self.settle_group(partition, &request.group_id);
        }
        let mut answers = Vec::new();
        let mut offsets = Vec::new();
        for commit in &request.partitions {
            let tp = &commit.partition;
            let metadata = commit.metadata.clone().unwrap_or_default();
            let known = image
                .topic_by_name(&tp.topic)
                .is_some_and(|t| tp.partition >= 0 && (tp.partition as usize) < t.partitions.len());
            let error = if !known {
                ErrorCode::UnknownTopicOrPartition
            } else if metadata.len() > self.config.offset_metadata_max_bytes {
                ErrorCode::OffsetMetadataTooLarge
            } else {
                ErrorCode::None
            };
            if error != ErrorCode::None {
                answers.push((tp.clone(), error));
                continue;
            }
            let value = OffsetValue {
                offset: commit.offset,
                leader_epoch: commit.leader_epoch,
                metadata,
                commit_timestamp: wall_ms,
            };
            *group.pending_commits.entry(tp.clone()).or_default() += 1;
            offsets.push((tp.clone(), value));
        }
        if offsets.is_empty() {
            let response = GroupResponse::OffsetCommit(OffsetCommitResponse {
                partitions: order_like(&request, answers),
            });
            self.answer(token, response, None);
            return self.settle_group(partition, &request.group_id);
        }
        let records: Vec<KeyValue> = offsets
            .iter()
            .map(|(tp, value)| {
                let key = records::offset_key(&request.group_id, tp);
                (key, Some(records::offset_value(value)))
            })
            .collect();
        let epoch = state.epoch;
        let purpose = Append::Commit {
            token: Some(token),
            partition,
            epoch,
            group: request.group_id.clone(),
            offsets,
            answers: order_like(&request, answers),
        };
        self.append(partition, wall_ms, &records, purpose);
        self.settle_group(partition, &request.group_id);
    }

    /// A commit's append finished.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit_done(
        &mut self,
        token: Option<u64>,
        partition: i32,
        epoch: i32,
        group_id: &str,
        offsets: Vec<(TopicPartition, OffsetValue)>,
        mut answers: Vec<(TopicPartition, ErrorCode)>,
        result: Result<(), ErrorCode>,
        after: Option<u64>,
    ) {
        let same_epoch = self
            .partitions
            .get(&partition)
            .is_some_and(|p| p.epoch == epoch);
        let group = self
            .partitions
            .get_mut(&partition)
            .filter(|_| same_epoch)
            .and_then(|p| p.groups.get_mut(group_id));
        if let Some(group) = group {
            for (tp, value) in &offsets {
                if let Some(count) = group.pending_commits.get_mut(tp) {
                    *count -= 1;
                    if *count == 0 {
                        group.pending_commits.remove(tp);
                    }
                }
                if result.is_ok() {
                    group.offsets.insert(tp.clone(), value.clone());
                }
            }
        }
        let code = result.err().unwrap_or(ErrorCode::None);
        for (tp, _) in &offsets {
            if let Some(slot) = answers
                .iter_mut()
                .find(|(p, e)| p == tp && *e == ErrorCode::None)
            {
                slot.1 = code;
            }
        }
        if let Some(token) = token {
            let response = GroupResponse::OffsetCommit(OffsetCommitResponse {
                partitions: answers,
            });
            self.answer(token, response, after);
        }
        self.settle_group(partition, group_id);
    }

    /// OffsetFetch, group by group.
    pub(super) fn fetch_offsets(&self, request: &OffsetFetchRequest) -> OffsetFetchResponse {
        let groups = request
            .groups
            .iter()
            .map(|asked| {
                let partition = match self.serving(&asked.group_id) {
                    Ok(partition) => partition,
                    Err(error) => return FetchedGroupOffsets::error(asked.group_id.clone(), error),
                };
                let Some(group) = self.group(partition, &asked.group_id) else {
                    return unknown_group_offsets(&asked.group_id, &asked.partitions);
                };
                let wanted: Vec<TopicPartition> = match &asked.partitions {
                    Some(partitions) => partitions.clone(),
                    None => group.offsets.keys().cloned().collect(),
                };
                let partitions = wanted
                    .into_iter()
                    .map(|tp| fetched(group, tp, request.require_stable))
                    .collect();
                FetchedGroupOffsets {
                    group_id: asked.group_id.clone(),
                    error: ErrorCode::None,
                    partitions,
                }
            })
            .collect();
        OffsetFetchResponse { groups }
    }

    /// DeleteGroups: an empty group's offsets and metadata are tombstoned; the answer comes
    /// once every tombstone is written.
    pub(super) fn delete_groups(
        &mut self,
        wall_ms: i64,
        token: u64,
        request: &DeleteGroupsRequest,
    ) {
        let mut answers = Vec::with_capacity(request.groups.len());
        let mut writes: BTreeMap<i32, Vec<KeyValue>> = BTreeMap::new();
        for group_id in &request.groups {
            let partition = match self.serving(group_id) {
                Ok(partition) => partition,
                Err(error) => {
                    answers.push((group_id.clone(), error));
                    continue;
                }
            };
            let state = self.partitions.get_mut(&partition).expect("served");
            let error = match state.groups.get(group_id) {
                None => ErrorCode::GroupIdNotFound,
                Some(group) if group.state != GroupState::Empty => ErrorCode::NonEmptyGroup,
                Some(_) => {
                    let group = state.groups.remove(group_id).expect("present");
                    writes
                        .entry(partition)
                        .or_default()
                        .extend(tombstones(&group, group.offsets.keys().cloned().collect()));
                    ErrorCode::None
                }
            };
            answers.push((group_id.clone(), error));
            self.settle_group(partition, group_id);
        }
        let response = GroupResponse::DeleteGroups(DeleteGroupsResponse { groups: answers });
        self.answer_after_writes(wall_ms, token, response, writes);
    }

    /// OffsetDelete: offsets of topics the group's members do not subscribe to.
    pub(super) fn delete_offsets(
        &mut self,
        wall_ms: i64,
        token: u64,
        request: &OffsetDeleteRequest,
    ) {
        let refuse = |error| {
            GroupResponse::OffsetDelete(OffsetDeleteResponse {
                error,
                partitions: Vec::new(),
            })
        };
        let partition = match self.serving(&request.group_id) {
            _ if request.group_id.is_empty() => Err(ErrorCode::InvalidGroupId),
            served => served,
        };
        let partition = match partition {
            Ok(partition) => partition,
            Err(error) => return self.answer(token, refuse(error), None),
        };
        let state = self.partitions.get_mut(&partition).expect("served");
        let Some(group) = state.groups.get_mut(&request.group_id) else {
            return self.answer(token, refuse(ErrorCode::GroupIdNotFound), None);
        };
        let subscribed = match group.state {
            GroupState::Empty => Vec::new(),
            _ => match group.subscribed_topics() {
                Some(topics) => topics,
                None => return self.answer(token, refuse(ErrorCode::NonEmptyGroup), None),
            },
        };
        let mut answers = Vec::new();
        let mut gone = Vec::new();
        for tp in &request.partitions {
            match subscribed.contains(&tp.topic) {
                true => answers.push((tp.clone(), ErrorCode::GroupSubscribedToTopic)),
                false => {
                    answers.push((tp.clone(), ErrorCode::None));
                    if group.offsets.remove(tp).is_some() {
                        gone.push(tp.clone());
                    }
                }
            }
        }
        let records: Vec<KeyValue> = gone
            .iter()
            .map(|tp| (records::offset_key(&request.group_id, tp), None))
            .collect();
        let response = GroupResponse::OffsetDelete(OffsetDeleteResponse {
            error: ErrorCode::None,
            partitions: answers,
        });
        let writes = match records.is_empty() {
            true => BTreeMap::new(),
            false => BTreeMap::from([(partition, records)]),
        };
        self.answer_after_writes(wall_ms, token, response, writes);
        self.settle_group(partition, &request.group_id);
    }

    /// Answers `response` once every write is done (at once when there is none).
    fn answer_after_writes(
        &mut self,
        wall_ms: i64,
        token: u64,
        response: GroupResponse,
        writes: BTreeMap<i32, Vec<KeyValue>>,
    ) {
        if writes.is_empty() {
            return self.answer(token, response, None);
        }
        let waiter = self.next_waiter;
        self.next_waiter += 1;
        self.waiters.insert(
            waiter,
            Waiter {
                token,
                response,
                remaining: writes.len(),
                after: None,
            },
        );
        for (partition, records) in writes {
            self.append(partition, wall_ms, &records, Append::Joint { waiter });
        }
    }

    /// Retention (KIP-211): the offsets of a group that has been empty for
    /// `offsets.retention.minutes` expire (of a group that never had members, each offset
    /// that long after its commit); a group with nothing left is tombstoned.
    pub(super) fn expire_offsets(&mut self, wall_ms: i64) {
        let retention = self.config.offsets_retention_ms;
        let mut writes: BTreeMap<i32, Vec<KeyValue>> = BTreeMap::new();
        let mut touched = Vec::new();
        for (partition, state) in &mut self.partitions {
            if !state.ready {
                continue;
            }
            for group in state.groups.values_mut() {
                if group.state != GroupState::Empty || !group.pending_commits.is_empty() {
                    continue;
                }
                let standalone = group.protocol_type.is_none();
                let state_timestamp = group.state_timestamp;
                let expired: Vec<TopicPartition> = group
                    .offsets
                    .iter()
                    .filter(|(_, value)| {
                        let base = match standalone {
                            true => value.commit_timestamp,
                            false => state_timestamp.max(value.commit_timestamp),
                        };
                        base.saturating_add(retention) <= wall_ms
                    })
                    .map(|(tp, _)| tp.clone())
                    .collect();
                if expired.is_empty() {
                    continue;
                }
                self.stats.offsets_expired += expired.len() as u64;
                let mut records: Vec<KeyValue> = Vec::new();
                for tp in &expired {
                    group.offsets.remove(tp);
                    records.push((records::offset_key(&group.group_id, tp), None));
                }
                if group.is_forgettable() {
                    records.push((records::group_key(&group.group_id), None));
                    touched.push((*partition, group.group_id.clone(), true));
                }
                writes.entry(*partition).or_default().extend(records);
            }
        }
        for (partition, group_id, forget) in touched {
            if forget {
                if let Some(state) = self.partitions.get_mut(&partition) {
                    state.groups.remove(&group_id);
                }
            }
            self.settle_group(partition, &group_id);
        }
        for (partition, records) in writes {
            self.append(partition, wall_ms, &records, Append::Quiet);
        }
    }
}

/// Kafka's checks of an OffsetCommit against the group (`GroupCoordinator.handleCommitOffsets`).
fn check_commit(
    group: &mut Group,
    now: Instant,
    request: &OffsetCommitRequest,
) -> Result<(), ErrorCode> {
    let instance = request.group_instance_id.as_deref();
    if group.is_fenced(&request.member_id, instance) {
        return Err(ErrorCode::FencedInstanceId);
    }
    if request.generation_id == ADMIN_GENERATION || request.generation_id < 0 {
        return match group.state {
            GroupState::Empty => Ok(()),
            _ if crate::bugs::active(crate::bugs::Bug::GroupCommitStaleGeneration) => Ok(()),
            // A commit from outside the group while it has members would overwrite theirs.
            _ => Err(ErrorCode::UnknownMemberId),
        };
    }
    if crate::bugs::active(crate::bugs::Bug::GroupCommitStaleGeneration) {
        return Ok(());
    }
    if group.state == GroupState::CompletingRebalance {
        return Err(ErrorCode::RebalanceInProgress);
    }
    let Some(member) = group.members.get_mut(&request.member_id) else {
        return Err(ErrorCode::UnknownMemberId);
    };
    if request.generation_id != group.generation {
        return Err(ErrorCode::IllegalGeneration);
    }
    member.refresh(now);
    Ok(())
}

fn fetched(group: &Group, tp: TopicPartition, require_stable: bool) -> FetchedOffset {
    if require_stable && group.pending_commits.contains_key(&tp) {
        return FetchedOffset {
            partition: tp,
            offset: -1,
            leader_epoch: -1,
            metadata: Some(String::new()),
            error: ErrorCode::UnstableOffsetCommit,
        };
    }
    match group.offsets.get(&tp) {
        Some(value) => FetchedOffset {
            partition: tp,
            offset: value.offset,
            leader_epoch: value.leader_epoch,
            metadata: Some(value.metadata.clone()),
            error: ErrorCode::None,
        },
        None => FetchedOffset {
            partition: tp,
            offset: -1,
            leader_epoch: -1,
            metadata: Some(String::new()),
            error: ErrorCode::None,
        },
    }
}

/// The group's tombstones: each offset in `offsets`, then its metadata.
fn tombstones(group: &Group, offsets: Vec<TopicPartition>) -> Vec<KeyValue> {
    let mut records: Vec<KeyValue> = offsets
        .iter()
        .map(|tp| (records::offset_key(&group.group_id, tp), None))
        .collect();
    records.push((records::group_key(&group.group_id), None));
    records
}

/// Every partition of the request in its order, the refused ones with their errors, the
/// others NONE (until the append decides, if there is one).
fn order_like(
    request: &OffsetCommitRequest,
    mut refused: Vec<(TopicPartition, ErrorCode)>,
) -> Vec<(TopicPartition, ErrorCode)> {
    request
        .partitions
        .iter()
        .map(|p| {
            let at = refused.iter().position(|(tp, _)| *tp == p.partition);
            match at {
                Some(at) => refused.remove(at),
                None => (p.partition.clone(), ErrorCode::None),
            }
        })
        .collect()
}
