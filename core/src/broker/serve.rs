//! The data plane: clients' requests, other brokers' replica requests, and the replica
//! manager's outputs routed to clients, peers and the controller. Metadata is answered here,
//! from the applied image, because it may auto-create topics.

use std::collections::BTreeMap;

use super::channel::Purpose;
use super::message::{ControllerRequest, NodeMessage, NodeOutput};
use super::node::{Node, Step};
use super::producer_ids::ProducerIdOutput;
use super::sync::SyncToken;
use crate::api::{
    AdminRequest, Disconnected, EpochEndOffset, ErrorCode, FetchPartitionResponse, FetchResponse,
    InitProducerIdResponse, ListOffsetsResponse, ListedOffset, MetadataRequest, MetadataResponse,
    OffsetForLeaderEpochResponse, ProducePartitionResponse, ProduceResponse, Request, Response,
};
use crate::controller::{CreateTopicRequest, TOPIC_NAME_BYTES_MAX};
use crate::raft::NodeId;
use crate::replica::{metadata_response, ReplicaOutput};

/// Who is waiting for the answer to a request the replica manager serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Asker {
    /// A client, by the driver's token.
    Client(u64),
    /// Another broker, by its request id.
    Peer(NodeId, u64),
    /// The group coordinator's append, by its id.
    Group(u64),
}

/// Tokens for the replica manager and ids for requests to other brokers.
#[derive(Debug)]
pub(super) struct PeerTraffic {
    next_token: u64,
    /// The manager's token → who asked. Bounded by `requests_inflight_max`.
    askers: BTreeMap<u64, Asker>,
    /// Ids of requests to other brokers are the manager's ids shifted by this random offset,
    /// so an answer meant for an earlier process of this node matches nothing.
    wire_offset: u64,
}

impl PeerTraffic {
    pub(super) fn new(wire_offset: u64) -> PeerTraffic {
        PeerTraffic {
            next_token: 0,
            askers: BTreeMap::new(),
            wire_offset,
        }
    }
}

impl Node {
    pub(super) fn serve_client(&mut self, step: &mut Step<'_>, client: u64, request: Request) {
        match request {
            Request::Metadata(request) => {
                let response = Response::Metadata(self.metadata(step, &request));
                self.answer(Asker::Client(client), response);
            }
            Request::InitProducerId(request) => {
                self.producer_ids.handle_request(step.now, client, &request)
            }
            Request::Admin(request) if !matches!(request, AdminRequest::DeleteRecords(_)) => {
                self.serve_admin(step, client, request)
            }
            Request::Group(request) => self.serve_group(step, client, request),
            request => self.serve_data(step, Asker::Client(client), request),
        }
    }

    /// Routes the producer id blocks' outputs: allocations to the controller (once this
    /// broker has a registration to name), answers to clients.
    pub(super) fn drain_producer_ids(&mut self, step: &mut Step<'_>) {
        while let Some(output) = self.producer_ids.poll_output() {
            match output {
                ProducerIdOutput::Allocate => {
                    let epoch = self
                        .lifecycle
                        .as_ref()
                        .and_then(|l| l.status().broker_epoch);
                    let Some(broker_epoch) = epoch else {
                        self.producer_ids.allocation_failed(step.now);
                        continue;
                    };
                    let request = ControllerRequest::AllocateProducerIds {
                        broker_id: self.config.broker_id(),
                        broker_epoch,
                    };
                    self.ask_controller(step, Purpose::AllocateProducerIds, request);
                }
                ProducerIdOutput::Answer { token, response } => {
                    let response = Response::InitProducerId(response);
                    self.answer(Asker::Client(token), response);
                }
            }
        }
    }

    pub(super) fn serve_peer(
        &mut self,
        step: &mut Step<'_>,
        from: NodeId,
        id: u64,
        request: Request,
    ) {
        self.serve_data(step, Asker::Peer(from, id), request);
    }

    pub(super) fn peer_answered(&mut self, step: &mut Step<'_>, id: u64, response: Response) {
        let request_id = id.wrapping_sub(self.peers.wire_offset);
        let (now, wall_ms) = (step.now, step.wall_ms);
        self.manager
            .handle_response(now, wall_ms, step.disk, request_id, Ok(response));
    }

    pub(super) fn serve_data(&mut self, step: &mut Step<'_>, asker: Asker, request: Request) {
        if self.peers.askers.len() >= self.config.requests_inflight_max {
            self.stats.requests_refused += 1;
            if let Some(response) = refusal(&request, ErrorCode::RequestTimedOut) {
                self.answer(asker, response);
            }
            return;
        }
        let token = self.peers.next_token;
        self.peers.next_token = token.wrapping_add(1);
        // acks=0 gets no answer, so nobody waits for one.
        let answered = !matches!(&request, Request::Produce(p) if p.acks == 0);
        if answered {
            self.peers.askers.insert(token, asker);
        }
        let image = self.follower.image();
        let (now, wall_ms) = (step.now, step.wall_ms);
        self.manager
            .handle_request(now, wall_ms, step.disk, image, token, request);
    }

    /// Answers a client's request with REQUEST_TIMED_OUT unserved (too many waiting).
    pub(super) fn refuse_client(&mut self, client: u64, request: &Request) {
        if let Some(response) = refusal(request, ErrorCode::RequestTimedOut) {
            self.answer(Asker::Client(client), response);
        }
    }

    fn answer(&mut self, asker: Asker, response: Response) {
        self.answer_after(asker, response, None);
    }

    fn answer_after(&mut self, asker: Asker, response: Response, after: Option<SyncToken>) {
        match asker {
            Asker::Client(client) => self.outputs.push_back(NodeOutput::Respond {
                client,
                response,
                after,
            }),
            Asker::Peer(to, id) => {
                let message = NodeMessage::ReplicaResponse { id, response };
                self.send_after(to, message, after)
            }
            Asker::Group(id) => self.group_appended(id, response, after),
        }
    }

    /// Routes the replica manager's outputs.
    pub(super) fn drain_manager(&mut self, step: &mut Step<'_>) {
        while let Some(output) = self.manager.poll_output() {
            match output {
                ReplicaOutput::Request {
                    to,
                    id,
                    request,
                    after,
                } => match u32::try_from(to) {
                    Ok(to) => {
                        let id = id.wrapping_add(self.peers.wire_offset);
                        let message = NodeMessage::ReplicaRequest { id, request };
                        let after = self.replica_sync_token(after);
                        self.send_after(NodeId(to), message, after);
                    }
                    Err(_) => {
                        let (now, wall_ms) = (step.now, step.wall_ms);
                        let answer = Err(Disconnected);
                        self.manager
                            .handle_response(now, wall_ms, step.disk, id, answer);
                    }
                },
                ReplicaOutput::Respond {
                    client,
                    response,
                    after,
                } => {
                    if let Some(asker) = self.peers.askers.remove(&client) {
                        let after = self.replica_sync_token(after);
                        self.answer_after(asker, response, after);
                    }
                }
                ReplicaOutput::Sync { id, files, dirs } => self.issue_replica_sync(id, files, dirs),
                ReplicaOutput::Replace {
                    id,
                    dir,
                    name,
                    bytes,
                    after,
                } => {
                    let after = self.replica_sync_token(after);
                    self.issue_replica_replace(id, dir, name, bytes, after)
                }
                ReplicaOutput::AlterPartition { id, request } => {
                    let purpose = Purpose::AlterPartition(id);
                    let request = ControllerRequest::AlterPartition(request);
                    self.ask_controller(step, purpose, request);
                }
            }
        }
    }

    /// Metadata from the applied image. A named topic that does not exist is created, when
    /// both the client (`allow_auto_topic_creation`) and the broker
    /// (`auto.create.topics.enable`) allow, with `num.partitions` and
    /// `default.replication.factor`; meanwhile it is answered LEADER_NOT_AVAILABLE, as Kafka
    /// answers it.
    fn metadata(&mut self, step: &mut Step<'_>, request: &MetadataRequest) -> MetadataResponse {
        let mut response = metadata_response(self.follower.image(), request);
        let creates = request.topics.is_some()
            && request.allow_auto_topic_creation
            && self.config.auto_create_topics_enable
            && self.lifecycle.is_some();
        if !creates {
            return response;
        }
        for topic in &mut response.topics {
            // Kafka answers a bad name INVALID_TOPIC_EXCEPTION, which core's codes lack.
            if topic.error != ErrorCode::UnknownTopicOrPartition || !is_valid_topic(&topic.name) {
                continue;
            }
            topic.error = ErrorCode::LeaderNotAvailable;
            let name = topic.name.clone();
            self.auto_create(step, name);
        }
        response
    }

    fn auto_create(&mut self, step: &mut Step<'_>, name: String) {
        let purpose = Purpose::CreateTopic(name.clone());
        let full = self.channel.creations() >= self.config.auto_create_inflight_max;
        if full || self.channel.is_waiting_for(&purpose) {
            return;
        }
        let request = CreateTopicRequest {
            name,
            partitions: self.config.num_partitions,
            replication_factor: self.config.default_replication_factor,
            unclean_leader_election_enable: None,
        };
        self.stats.auto_creations_asked += 1;
        self.ask_controller(step, purpose, ControllerRequest::CreateTopic(request));
    }
}

/// Kafka's rule for topic names (`Topic.validate`): 1 to 249 of `[a-zA-Z0-9._-]`, and not `.`
/// or `..`.
fn is_valid_topic(name: &str) -> bool {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    !name.is_empty()
        && name.len() <= TOPIC_NAME_BYTES_MAX
        && name != "."
        && name != ".."
        && name.chars().all(legal)
}

/// The answer to `request` with `error` for every partition (`None` for acks=0, which gets
/// no answer).
fn refusal(request: &Request, error: ErrorCode) -> Option<Response> {
    let response = match request {
        Request::Produce(request) if request.acks == 0 => return None,
        Request::Produce(request) => Response::Produce(ProduceResponse {
            partitions: request
                .partitions
                .iter()
                .map(|(tp, _)| ProducePartitionResponse::error(tp.clone(), error))
                .collect(),
        }),
        Request::Fetch(request) => Response::Fetch(FetchResponse {
            error,
            partitions: request
                .partitions
                .iter()
                .map(|p| FetchPartitionResponse::error(p.partition.clone(), error))
                .collect(),
        }),
        Request::ListOffsets(request) => Response::ListOffsets(ListOffsetsResponse {
            partitions: request
                .partitions
                .iter()
                .map(|p| ListedOffset::error(p.partition.clone(), error))
                .collect(),
        }),
        Request::OffsetForLeaderEpoch(request) => {
            Response::OffsetForLeaderEpoch(OffsetForLeaderEpochResponse {
                partitions: request
                    .partitions
                    .iter()
                    .map(|p| EpochEndOffset::error(p.partition.clone(), error))
                    .collect(),
            })
        }
        Request::InitProducerId(_) => {
            Response::InitProducerId(InitProducerIdResponse::error(error))
        }
        Request::Admin(request) => Response::Admin(request.refuse(error)),
        Request::Group(request) => Response::Group(request.refuse(error)),
        Request::Metadata(_) => Response::Metadata(MetadataResponse {
            brokers: Vec::new(),
            topics: Vec::new(),
        }),
    };
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::is_valid_topic;

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for good in ["orders", "a.b_c-1", "..."] {
            assert!(is_valid_topic(good), "{good}");
        }
        let long = "x".repeat(250);
        for bad in ["", ".", "..", "a b", "ä", long.as_str()] {
            assert!(!is_valid_topic(bad), "{bad}");
        }
    }
}
