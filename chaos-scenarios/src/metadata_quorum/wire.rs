//! What crosses the simulated network between controllers, brokers and the admin client.

use sluice_core::api;
use sluice_core::controller::{
    AlterPartitionRequest, ControllerError, CreateTopicRequest, CreatedTopic, ElectionResult,
    HeartbeatReply, HeartbeatRequest, PartitionReply, RegisterBrokerRequest, Uuid,
};
use sluice_core::raft::{CommittedRead, Message};

/// One message on the simulated network.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Raft traffic between controllers.
    Raft(Message),
    /// A broker's or the admin client's request to a controller.
    Request {
        /// Matches the response to the request.
        id: u64,
        /// The request.
        request: Request,
    },
    /// A controller's answer, sent once the records it produced committed.
    Response {
        /// The request's id.
        id: u64,
        /// The answer.
        response: Response,
    },
    /// A data-plane request to a broker, from a client or another broker.
    Data {
        /// Matches the answer.
        id: u64,
        /// The request.
        request: api::Request,
    },
    /// A broker's data-plane answer.
    DataResponse {
        /// The request's id.
        id: u64,
        /// The answer.
        response: api::Response,
    },
}

impl Wire {
    /// A short description for the trace.
    pub fn describe(&self) -> String {
        match self {
            Wire::Raft(message) => format!("{} term {}", message.kind(), message.term()),
            Wire::Request { id, request } => format!("request {id} {}", request.kind()),
            Wire::Response { id, response } => format!("response {id} {}", response.kind()),
            Wire::Data { id, request } => format!("data {id} {}", request.name()),
            Wire::DataResponse { id, response } => {
                format!("data response {id} {}", response.name())
            }
        }
    }
}

/// Requests to the active controller (Kafka's BrokerRegistration, BrokerHeartbeat and
/// CreateTopics).
#[derive(Clone, Debug)]
pub enum Request {
    /// A broker registers.
    Register(RegisterBrokerRequest),
    /// A broker renews its lease.
    Heartbeat(HeartbeatRequest),
    /// The admin client creates a topic.
    CreateTopic(CreateTopicRequest),
    /// The admin client deletes a topic by name.
    DeleteTopic(String),
    /// A broker fetches the committed metadata log from this index (any controller answers).
    MetadataFetch(u64),
    /// A partition leader asks to change its ISR.
    AlterPartition(AlterPartitionRequest),
    /// The admin client asks for unclean elections of every leaderless partition (KIP-460's
    /// ElectLeaders with election type UNCLEAN): an operator's last resort.
    ElectLeadersUnclean,
    /// A broker asks for its next block of producer ids (KIP-730's AllocateProducerIds).
    AllocateProducerIds {
        /// The broker.
        broker_id: i32,
        /// Its registration's epoch.
        broker_epoch: i64,
    },
}

/// Answers from the active controller.
#[derive(Clone, Debug)]
pub enum Response {
    /// The broker's new epoch.
    Registered(Result<i64, ControllerError>),
    /// The lease was renewed (or refused).
    Heartbeat(Result<HeartbeatReply, ControllerError>),
    /// The topic was created (or refused).
    TopicCreated(Result<CreatedTopic, ControllerError>),
    /// The topic was deleted (or refused).
    TopicDeleted(Result<Uuid, ControllerError>),
    /// Committed metadata entries, or a snapshot.
    Metadata(CommittedRead),
    /// The partition's state after an AlterPartition (or the refusal).
    AlterPartition(Result<PartitionReply, ControllerError>),
    /// Per partition, whether a leader was elected.
    LeadersElected(Result<Vec<ElectionResult>, ControllerError>),
    /// A block of producer ids, `(first, count)`.
    ProducerIds(Result<(i64, i64), ControllerError>),
}

impl Request {
    /// The request's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Register(_) => "BrokerRegistration",
            Request::Heartbeat(_) => "BrokerHeartbeat",
            Request::CreateTopic(_) => "CreateTopics",
            Request::DeleteTopic(_) => "DeleteTopics",
            Request::MetadataFetch(_) => "MetadataFetch",
            Request::AlterPartition(_) => "AlterPartition",
            Request::ElectLeadersUnclean => "ElectLeaders",
            Request::AllocateProducerIds { .. } => "AllocateProducerIds",
        }
    }
}

impl Response {
    /// The response's name and error, if any.
    pub fn kind(&self) -> String {
        let (name, error) = match self {
            Response::Registered(result) => ("BrokerRegistration", result.as_ref().err()),
            Response::Heartbeat(result) => ("BrokerHeartbeat", result.as_ref().err()),
            Response::TopicCreated(result) => ("CreateTopics", result.as_ref().err()),
            Response::TopicDeleted(result) => ("DeleteTopics", result.as_ref().err()),
            Response::Metadata(read) => return format!("MetadataFetch {}", describe_read(read)),
            Response::AlterPartition(result) => ("AlterPartition", result.as_ref().err()),
            Response::LeadersElected(result) => ("ElectLeaders", result.as_ref().err()),
            Response::ProducerIds(result) => ("AllocateProducerIds", result.as_ref().err()),
        };
        match error {
            Some(error) => format!("{name} {}", error.name()),
            None => name.to_string(),
        }
    }

    /// The refusal every request gets from a node that is not the active controller.
    pub fn not_controller(request: &Request) -> Response {
        let error = ControllerError::NotController;
        match request {
            Request::Register(_) => Response::Registered(Err(error)),
            Request::Heartbeat(_) => Response::Heartbeat(Err(error)),
            Request::CreateTopic(_) => Response::TopicCreated(Err(error)),
            Request::DeleteTopic(_) => Response::TopicDeleted(Err(error)),
            Request::MetadataFetch(_) => Response::Metadata(CommittedRead::UpToDate { commit: 0 }),
            Request::AlterPartition(_) => Response::AlterPartition(Err(error)),
            Request::ElectLeadersUnclean => Response::LeadersElected(Err(error)),
            Request::AllocateProducerIds { .. } => Response::ProducerIds(Err(error)),
        }
    }

    /// True when the answer says to try another controller.
    pub fn is_not_controller(&self) -> bool {
        let error = match self {
            Response::Registered(Err(error)) => error,
            Response::Heartbeat(Err(error)) => error,
            Response::TopicCreated(Err(error)) => error,
            Response::TopicDeleted(Err(error)) => error,
            Response::AlterPartition(Err(error)) => error,
            Response::LeadersElected(Err(error)) => error,
            Response::ProducerIds(Err(error)) => error,
            _ => return false,
        };
        *error == ControllerError::NotController
    }
}

impl Response {
    /// The NOT_CONTROLLER answer of the same kind as `response`, for a controller that resigns
    /// before the decision it answered committed.
    pub fn not_controller_for(response: &Response) -> Response {
        let error = ControllerError::NotController;
        match response {
            Response::Registered(_) => Response::Registered(Err(error)),
            Response::Heartbeat(_) => Response::Heartbeat(Err(error)),
            Response::TopicCreated(_) => Response::TopicCreated(Err(error)),
            Response::TopicDeleted(_) => Response::TopicDeleted(Err(error)),
            Response::Metadata(_) => Response::Metadata(CommittedRead::UpToDate { commit: 0 }),
            Response::AlterPartition(_) => Response::AlterPartition(Err(error)),
            Response::LeadersElected(_) => Response::LeadersElected(Err(error)),
            Response::ProducerIds(_) => Response::ProducerIds(Err(error)),
        }
    }
}

fn describe_read(read: &CommittedRead) -> String {
    match read {
        CommittedRead::Entries { entries, commit } => {
            format!("{} entries, commit {commit}", entries.len())
        }
        CommittedRead::Snapshot { index, .. } => format!("snapshot at {index}"),
        CommittedRead::UpToDate { commit } => format!("up to date at {commit}"),
    }
}
