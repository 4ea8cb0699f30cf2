//! The controller side: the Raft voter of the metadata quorum, the active controller while
//! this voter leads, and the answers owed once decisions commit (the call order of
//! [`crate::controller`]'s driver contract).

use std::collections::BTreeMap;

use super::message::{ControllerRequest, ControllerResponse, NodeMessage};
use super::node::{Node, NodeError, Step};
use super::notes::NodeNote;
use crate::controller::{
    decode_batch, encode_batch, ControllerError, FollowError, MetadataRecord, QuorumController,
};
use crate::raft::{
    CommittedRead, CompactError, Entry, Message, NodeId, Output, ProposeError, RaftError, RaftNode,
    Role,
};
use crate::time::Instant;

/// An answer to send once the entry holding its decision commits.
#[derive(Clone, Debug)]
pub(super) struct Reply {
    pub to: NodeId,
    pub id: u64,
    pub response: ControllerResponse,
}

/// Answers waiting for one log index, proposed in `term`: if another leader's entry commits
/// at that index instead, the decision was lost and the answer becomes NOT_CONTROLLER.
#[derive(Debug)]
struct Pending {
    term: u64,
    replies: Vec<Reply>,
}

/// The voter and, while it leads, the active controller.
#[derive(Debug)]
pub(super) struct Quorum {
    pub(super) raft: RaftNode,
    /// The active controller and the Raft term it was built in.
    active: Option<(QuorumController, u64)>,
    pending: BTreeMap<u64, Pending>,
    /// Compaction is not tried again before this applied index (after a refusal).
    compact_not_before: u64,
}

impl Quorum {
    pub(super) fn new(raft: RaftNode) -> Quorum {
        Quorum {
            raft,
            active: None,
            pending: BTreeMap::new(),
            compact_not_before: 0,
        }
    }

    pub(super) fn raft(&self) -> &RaftNode {
        &self.raft
    }

    pub(super) fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Log indexes whose decisions still wait to commit before they are answered.
    pub(super) fn decisions_pending(&self) -> usize {
        self.pending.len()
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        let controller = self
            .active
            .as_ref()
            .and_then(|(controller, _)| controller.poll_timeout());
        [self.raft.poll_timeout(), controller]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Node {
    pub(super) fn raft_message(&mut self, step: &mut Step<'_>, from: NodeId, message: Message) {
        let Some(quorum) = self.quorum.as_mut() else {
            self.stats.peer_messages_ignored += 1;
            return;
        };
        let result = quorum
            .raft
            .handle_message(step.now, step.disk, from, message);
        self.raft_result(result);
    }

    fn raft_result(&mut self, result: Result<(), RaftError>) {
        match result {
            Ok(()) => {}
            Err(error) if error.is_fatal() => self.fail(NodeError::Raft(error)),
            Err(_) => self.stats.peer_messages_ignored += 1,
        }
    }

    /// Raft's election and heartbeat timers, and the controller's leases and elections.
    pub(super) fn quorum_timeout(&mut self, step: &mut Step<'_>) {
        let Some(quorum) = self.quorum.as_mut() else {
            return;
        };
        if quorum.raft.poll_timeout().is_some_and(|at| at <= step.now) {
            let result = quorum.raft.handle_timeout(step.now, step.disk, step.rng);
            self.raft_result(result);
        }
        let Some((controller, _)) = self.quorum.as_mut().and_then(|q| q.active.as_mut()) else {
            return;
        };
        if controller.poll_timeout().is_some_and(|at| at <= step.now) {
            let result = controller.tick(step.now);
            self.propose(step, result.records, None);
        }
    }

    /// Hands Raft's outputs on: messages to peers, committed entries to the image, the
    /// controller and the answers waiting for them.
    pub(super) fn drain_raft(&mut self, step: &mut Step<'_>) {
        while self.failure.is_none() {
            let Some(output) = self.quorum.as_mut().and_then(|q| q.raft.poll_output()) else {
                return;
            };
            match output {
                Output::Send { to, msg } => {
                    // Every message waits for the voter's persists before it.
                    let after = self.raft_persist;
                    self.send_after(to, NodeMessage::Raft(msg), after);
                }
                Output::Persist { id, write } => self.issue_raft_persist(id, write),
                Output::Apply { index, term, data } => self.apply_entry(step, index, term, data),
                Output::RestoreSnapshot { index, term, data } => {
                    self.restore_snapshot(step, index, term, data)
                }
            }
        }
    }

    fn apply_entry(&mut self, step: &mut Step<'_>, index: u64, term: u64, data: Vec<u8>) {
        let records = match decode_batch(&data) {
            Ok(records) => records,
            Err(error) => {
                return self.fail(NodeError::Metadata(FollowError::Undecodable {
                    index,
                    error,
                }))
            }
        };
        let read = CommittedRead::Entries {
            entries: vec![Entry { term, index, data }],
            commit: index,
        };
        if let Err(error) = self.follow_read(read) {
            return self.fail(NodeError::Metadata(error));
        }
        let quorum = self.quorum.as_mut().expect("only voters apply entries");
        if let Some((controller, _)) = quorum.active.as_mut() {
            for record in &records {
                controller.replay(record);
            }
        }
        let pending = quorum.pending.remove(&index);
        self.roles_changed(step);
        let Some(Pending {
            term: proposed_in,
            replies,
        }) = pending
        else {
            return;
        };
        for reply in replies {
            let response = match proposed_in == term {
                true => reply.response,
                false => ControllerResponse::not_controller_for(&reply.response),
            };
            let message = NodeMessage::ControllerResponse {
                id: reply.id,
                response,
            };
            self.send(reply.to, message);
        }
    }

    fn restore_snapshot(&mut self, step: &mut Step<'_>, index: u64, term: u64, data: Vec<u8>) {
        let read = CommittedRead::Snapshot { index, term, data };
        if let Err(error) = self.follow_read(read) {
            return self.fail(NodeError::Metadata(error));
        }
        // The controller decided from a state the snapshot replaced.
        self.resign();
        self.roles_changed(step);
    }

    /// Becomes the active controller once this voter leads and its term's first entry is
    /// committed and applied (KRaft waits for it too); stops being it when it no longer leads
    /// in that term.
    pub(super) fn check_leadership(&mut self, step: &mut Step<'_>) {
        let Some(quorum) = self.quorum.as_ref() else {
            return;
        };
        let raft = &quorum.raft;
        let (leads, term) = (raft.role() == Role::Leader, raft.term());
        if quorum
            .active
            .as_ref()
            .is_some_and(|(_, built_in)| !leads || *built_in != term)
        {
            self.resign();
        }
        let quorum = self.quorum.as_mut().expect("checked above");
        let raft = &quorum.raft;
        let ready = leads
            && raft.term_at(raft.commit_index()) == Some(term)
            && raft.applied_index() == raft.commit_index()
            && self.follower.applied_index() == raft.commit_index();
        if quorum.active.is_none() && ready {
            let image = self.follower.image().clone();
            let controller = QuorumController::new(self.config.controller.clone(), image, step.now);
            quorum.active = Some((controller, term));
            self.stats.controller_activations += 1;
            self.note(|| NodeNote::ControllerActivated { term });
        }
    }

    /// Drops the active controller and answers what it still owed with NOT_CONTROLLER.
    fn resign(&mut self) {
        let Some(quorum) = self.quorum.as_mut() else {
            return;
        };
        if quorum.active.take().is_none() {
            return;
        }
        self.stats.controller_resignations += 1;
        let pending = std::mem::take(&mut quorum.pending);
        self.note(|| NodeNote::ControllerResigned);
        for reply in pending.into_values().flat_map(|p| p.replies) {
            let response = ControllerResponse::not_controller_for(&reply.response);
            let message = NodeMessage::ControllerResponse {
                id: reply.id,
                response,
            };
            self.send(reply.to, message);
        }
    }

    /// A broker's request: any voter serves the committed log; the active controller decides
    /// the rest and answers once its decision commits.
    pub(super) fn serve_controller(
        &mut self,
        step: &mut Step<'_>,
        from: NodeId,
        id: u64,
        request: ControllerRequest,
    ) {
        let (entries_max, bytes_max) = (
            self.config.metadata_fetch_entries_max,
            self.config.metadata_fetch_bytes_max,
        );
        let quorum = self.quorum.as_mut();
        let (quorum, request) = match (quorum, request) {
            (Some(quorum), ControllerRequest::MetadataFetch { from_index }) => {
                let read = quorum
                    .raft
                    .read_committed(from_index, entries_max, bytes_max);
                let response = ControllerResponse::Metadata(read);
                return self.send(from, NodeMessage::ControllerResponse { id, response });
            }
            (Some(quorum), request) if quorum.active.is_some() => (quorum, request),
            (_, request) => {
                let response = ControllerResponse::not_controller(&request);
                return self.send(from, NodeMessage::ControllerResponse { id, response });
            }
        };
        let (controller, _) = quorum.active.as_mut().expect("matched above");
        let now = step.now;
        let (records, response) = match request {
            ControllerRequest::Register(request) => {
                let result = controller.register_broker(now, &request);
                (
                    result.records,
                    ControllerResponse::Registered(result.response),
                )
            }
            ControllerRequest::Heartbeat(request) => {
                let result = controller.broker_heartbeat(now, &request);
                (
                    result.records,
                    ControllerResponse::Heartbeat(result.response),
                )
            }
            ControllerRequest::CreateTopic(request) => {
                let result = controller.create_topics(step.rng, &[request]);
                let created = result.response.into_iter().next();
                let created = created.unwrap_or(Err(ControllerError::InvalidRequest));
                (result.records, ControllerResponse::TopicCreated(created))
            }
            ControllerRequest::AlterPartition(request) => {
                let result = controller.alter_partition(&request);
                (
                    result.records,
                    ControllerResponse::AlterPartition(result.response),
                )
            }
            ControllerRequest::AllocateProducerIds {
                broker_id,
                broker_epoch,
            } => {
                let result = controller.allocate_producer_ids(broker_id, broker_epoch);
                (
                    result.records,
                    ControllerResponse::ProducerIds(result.response),
                )
            }
            ControllerRequest::Admin(request) => {
                let result = controller.admin(step.rng, &request);
                (result.records, ControllerResponse::Admin(result.response))
            }
            ControllerRequest::MetadataFetch { .. } => unreachable!("served above"),
        };
        let reply = Reply {
            to: from,
            id,
            response,
        };
        self.propose(step, records, Some(reply));
    }

    /// Proposes one controller decision as one entry; its answer waits for the commit. A
    /// refused proposal leaves the controller's working image ahead of the log, so it
    /// resigns (and is rebuilt from the committed image if this voter still leads).
    fn propose(&mut self, step: &mut Step<'_>, records: Vec<MetadataRecord>, reply: Option<Reply>) {
        if records.is_empty() {
            if let Some(Reply { to, id, response }) = reply {
                self.send(to, NodeMessage::ControllerResponse { id, response });
            }
            return;
        }
        let quorum = self.quorum.as_mut().expect("only a voter proposes");
        let term = quorum.raft.term();
        match quorum
            .raft
            .propose(step.now, step.disk, encode_batch(&records))
        {
            Ok(index) => {
                let stale = quorum.pending.remove(&index);
                let pending = quorum.pending.entry(index).or_insert(Pending {
                    term,
                    replies: Vec::new(),
                });
                pending.replies.extend(reply);
                // An index proposed again was lost with an earlier leadership.
                for reply in stale.into_iter().flat_map(|p| p.replies) {
                    let response = ControllerResponse::not_controller_for(&reply.response);
                    self.send(
                        reply.to,
                        NodeMessage::ControllerResponse {
                            id: reply.id,
                            response,
                        },
                    );
                }
            }
            Err(ProposeError::Failed(error)) => self.fail(NodeError::Raft(error)),
            Err(_) => {
                self.resign();
                if let Some(reply) = reply {
                    let response = ControllerResponse::not_controller_for(&reply.response);
                    self.send(
                        reply.to,
                        NodeMessage::ControllerResponse {
                            id: reply.id,
                            response,
                        },
                    );
                }
            }
        }
    }

    /// Snapshots the applied image and drops the log it covers, every
    /// `metadata_snapshot_interval_entries` entries.
    pub(super) fn maybe_compact(&mut self) {
        let interval = self.config.metadata_snapshot_interval_entries;
        let applied = self.follower.applied_index();
        let Some(quorum) = self.quorum.as_mut() else {
            return;
        };
        let due = quorum.raft.first_index().saturating_add(interval);
        if applied < due || applied < quorum.compact_not_before || quorum.raft.rewriting() {
            return;
        }
        assert_eq!(
            applied,
            quorum.raft.applied_index(),
            "the image is Raft's state"
        );
        let snapshot = self.follower.image().encode_snapshot();
        let noted = self.observed.then(|| snapshot.clone());
        match quorum.raft.compact(applied, snapshot) {
            Ok(()) => {
                self.stats.snapshots_taken += 1;
                if let Some(data) = noted {
                    self.note(|| NodeNote::SnapshotTaken {
                        index: applied,
                        data,
                    });
                }
            }
            Err(CompactError::Failed(error)) => self.fail(NodeError::Raft(error)),
            // The last compaction is still rewriting the log: the next input tries again.
            Err(CompactError::Busy) => {}
            // Too large for a snapshot: keep the log and try again an interval later.
            Err(_) => quorum.compact_not_before = applied.saturating_add(interval),
        }
    }
}
