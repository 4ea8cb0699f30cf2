//! The broker's requests to the controllers: which controller to ask, what is in flight, and
//! where each answer goes.

use std::collections::BTreeMap;

use super::message::{ControllerRequest, ControllerResponse, NodeMessage};
use super::node::{Node, Step};
use crate::controller::ControllerError;
use crate::raft::NodeId;
use crate::time::{Duration, Instant};

/// What an answer is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// A registration or heartbeat (one at a time).
    Lifecycle,
    /// A broker-only node's metadata fetch (one at a time).
    MetadataFetch,
    /// The replica manager's AlterPartition with this id.
    AlterPartition(u64),
    /// The auto-creation of this topic.
    CreateTopic(String),
    /// The creation of `__consumer_offsets` (one at a time).
    CreateOffsetsTopic,
    /// The next block of producer ids (one at a time).
    AllocateProducerIds,
    /// A client's admin request, answered with the controller's answer.
    Admin {
        /// The client's token.
        client: u64,
        /// The request, for the answer that says it timed out.
        request: Box<crate::api::AdminRequest>,
    },
}

#[derive(Clone, Debug)]
struct Inflight {
    purpose: Purpose,
    sent_at: Instant,
}

/// Requests in flight to controllers. Each kind is bounded: one lifecycle request, one fetch,
/// one AlterPartition per led partition, `auto_create_inflight_max` creations; and each is
/// given up after `controller.quorum.request.timeout.ms`.
#[derive(Debug)]
pub(super) struct ControllerChannel {
    /// The voter believed to be the active controller, as an index into the voters.
    target: usize,
    /// Request ids start at a random point, so an answer meant for an earlier process of this
    /// node (still in flight when it restarted) matches nothing.
    next_id: u64,
    inflight: BTreeMap<u64, Inflight>,
}

impl ControllerChannel {
    pub(super) fn new(first_id: u64) -> ControllerChannel {
        ControllerChannel {
            target: 0,
            next_id: first_id,
            inflight: BTreeMap::new(),
        }
    }

    pub(super) fn poll_timeout(&self, timeout: Duration) -> Option<Instant> {
        let oldest = self.inflight.values().map(|i| i.sent_at).min()?;
        Some(oldest.checked_add(timeout).unwrap_or(oldest))
    }

    pub(super) fn is_waiting_for(&self, purpose: &Purpose) -> bool {
        self.inflight.values().any(|i| i.purpose == *purpose)
    }

    pub(super) fn admin_requests(&self) -> usize {
        let admin = |i: &&Inflight| matches!(i.purpose, Purpose::Admin { .. });
        self.inflight.values().filter(admin).count()
    }

    pub(super) fn creations(&self) -> usize {
        let creation = |i: &&Inflight| matches!(i.purpose, Purpose::CreateTopic(_));
        self.inflight.values().filter(creation).count()
    }
}

impl Node {
    /// Sends `request` to the controller most likely to answer: any voter for a fetch, the
    /// known Raft leader or the current guess for the rest.
    pub(super) fn ask_controller(
        &mut self,
        step: &mut Step<'_>,
        purpose: Purpose,
        request: ControllerRequest,
    ) {
        let voters = &self.config.controller_quorum_voters;
        let leader = self.quorum.as_ref().and_then(|q| q.raft().leader());
        let to = match (&request, leader) {
            (ControllerRequest::MetadataFetch { .. }, _) => {
                NodeId(voters[step.rng.below(voters.len() as u64) as usize])
            }
            (_, Some(leader)) => leader,
            (_, None) => NodeId(voters[self.channel.target % voters.len()]),
        };
        let id = self.channel.next_id;
        self.channel.next_id = id.wrapping_add(1);
        let inflight = Inflight {
            purpose,
            sent_at: step.now,
        };
        self.channel.inflight.insert(id, inflight);
        self.send(to, NodeMessage::ControllerRequest { id, request });
    }

    pub(super) fn controller_answered(
        &mut self,
        step: &mut Step<'_>,
        id: u64,
        response: ControllerResponse,
    ) {
        let Some(inflight) = self.channel.inflight.remove(&id) else {
            return; // given up already, or meant for an earlier process
        };
        if response.is_not_controller() {
            self.channel.target = self.channel.target.wrapping_add(1);
        }
        match (inflight.purpose, response) {
            (Purpose::Lifecycle, ControllerResponse::Registered(result)) => {
                self.registered(step, result)
            }
            (Purpose::Lifecycle, ControllerResponse::Heartbeat(result)) => {
                self.heartbeat_answered(step, result)
            }
            (Purpose::MetadataFetch, ControllerResponse::Metadata(read)) => {
                self.metadata_fetched(step, read)
            }
            (Purpose::AlterPartition(alter), ControllerResponse::AlterPartition(result)) => {
                let now = step.now;
                self.manager
                    .handle_alter_partition(now, step.disk, alter, result)
            }
            // The next Metadata request sees the topic (or asks again).
            (Purpose::CreateTopic(_), ControllerResponse::TopicCreated(_)) => {}
            // FindCoordinator finds the topic in the image once it is created.
            (Purpose::CreateOffsetsTopic, ControllerResponse::Admin(_)) => {}
            (Purpose::AllocateProducerIds, ControllerResponse::ProducerIds(result)) => match result
            {
                Ok((first, count)) => self.producer_ids.block_allocated(step.now, first, count),
                Err(_) => self.producer_ids.allocation_failed(step.now),
            },
            (Purpose::Admin { client, request }, ControllerResponse::Admin(response)) => {
                self.admin_answered(client, &request, Some(response))
            }
            (purpose, _) => {
                self.stats.peer_messages_ignored += 1;
                self.request_abandoned(step, purpose);
            }
        }
    }

    /// Gives up requests unanswered for `controller.quorum.request.timeout.ms`.
    pub(super) fn channel_timeout(&mut self, step: &mut Step<'_>) {
        let timeout = self.config.controller_quorum_request_timeout;
        let now = step.now;
        let expired: Vec<u64> = self
            .channel
            .inflight
            .iter()
            .filter(|(_, i)| now.saturating_duration_since(i.sent_at) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let inflight = self.channel.inflight.remove(&id).expect("listed above");
            self.stats.controller_requests_timed_out += 1;
            if inflight.purpose != Purpose::MetadataFetch {
                self.channel.target = self.channel.target.wrapping_add(1);
            }
            self.request_abandoned(step, inflight.purpose);
        }
    }

    /// Whoever waited for an answer that will not come asks again in its own time.
    fn request_abandoned(&mut self, step: &mut Step<'_>, purpose: Purpose) {
        let now = step.now;
        match purpose {
            Purpose::Lifecycle => self.lifecycle_retry_at(now),
            Purpose::MetadataFetch => self.fetch_retry_at(now),
            Purpose::AlterPartition(alter) => {
                let timed_out = Err(ControllerError::RequestTimedOut);
                self.manager
                    .handle_alter_partition(now, step.disk, alter, timed_out);
            }
            Purpose::CreateTopic(_) | Purpose::CreateOffsetsTopic => {}
            Purpose::AllocateProducerIds => self.producer_ids.allocation_failed(now),
            Purpose::Admin { client, request } => self.admin_answered(client, &request, None),
        }
    }
}
