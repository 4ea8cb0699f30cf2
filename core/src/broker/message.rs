//! What nodes say to each other, and what a node hands back to its driver.

use super::sync::SyncToken;
use crate::api;
use crate::controller::{
    AlterPartitionRequest, ControllerError, CreateTopicRequest, CreatedTopic, HeartbeatReply,
    HeartbeatRequest, PartitionReply, RegisterBrokerRequest,
};
use crate::raft::{CommittedRead, Message, NodeId};

/// One message between two nodes. The driver carries it over its transport unchanged; its
/// wire encoding is the driver's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeMessage {
    /// Raft traffic between voters of the metadata quorum.
    Raft(Message),
    /// A broker's request to a controller.
    ControllerRequest {
        /// Matches the answer to the request.
        id: u64,
        /// The request.
        request: ControllerRequest,
    },
    /// A controller's answer, sent once the records it decided have committed.
    ControllerResponse {
        /// The request's id.
        id: u64,
        /// The answer.
        response: ControllerResponse,
    },
    /// A follower replica's request to a partition leader (Fetch or OffsetForLeaderEpoch).
    ReplicaRequest {
        /// Matches the answer to the request.
        id: u64,
        /// The request.
        request: api::Request,
    },
    /// A leader's answer to a [`NodeMessage::ReplicaRequest`].
    ReplicaResponse {
        /// The request's id.
        id: u64,
        /// The answer.
        response: api::Response,
    },
}

/// Requests to the controllers: Kafka's BrokerRegistration, BrokerHeartbeat, CreateTopics,
/// AlterPartition and AllocateProducerIds (answered by the active controller only), and a metadata fetch (KIP-595's
/// observer Fetch, answered by any voter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerRequest {
    /// A broker registers.
    Register(RegisterBrokerRequest),
    /// A broker renews its lease.
    Heartbeat(HeartbeatRequest),
    /// A broker auto-creates a topic a client asked for.
    CreateTopic(CreateTopicRequest),
    /// A partition leader asks to change its ISR.
    AlterPartition(AlterPartitionRequest),
    /// A broker asks for its next block of producer ids (KIP-730's AllocateProducerIds).
    AllocateProducerIds {
        /// The broker.
        broker_id: i32,
        /// Its current registration's epoch.
        broker_epoch: i64,
    },
    /// A broker-only node reads the committed metadata log from this index.
    MetadataFetch {
        /// The first index wanted.
        from_index: u64,
    },
    /// A client's admin request the controller decides (CreateTopics, DeleteTopics,
    /// CreatePartitions, (Incremental)AlterConfigs), forwarded by a broker.
    Admin(api::AdminRequest),
}

/// A controller's answer to a [`ControllerRequest`] of the same kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerResponse {
    /// The broker's new epoch.
    Registered(Result<i64, ControllerError>),
    /// The lease was renewed (or refused).
    Heartbeat(Result<HeartbeatReply, ControllerError>),
    /// The topic was created (or refused).
    TopicCreated(Result<CreatedTopic, ControllerError>),
    /// The partition's state after the change (or the refusal).
    AlterPartition(Result<PartitionReply, ControllerError>),
    /// The block of producer ids, as `(first id, count)`, once its record committed.
    ProducerIds(Result<(i64, i64), ControllerError>),
    /// Committed entries, a snapshot, or nothing new.
    Metadata(CommittedRead),
    /// The answer to a forwarded admin request.
    Admin(api::AdminResponse),
}

impl ControllerRequest {
    /// Kafka's name for the request.
    pub fn name(&self) -> &'static str {
        match self {
            ControllerRequest::Register(_) => "BrokerRegistration",
            ControllerRequest::Heartbeat(_) => "BrokerHeartbeat",
            ControllerRequest::CreateTopic(_) => "CreateTopics",
            ControllerRequest::AlterPartition(_) => "AlterPartition",
            ControllerRequest::AllocateProducerIds { .. } => "AllocateProducerIds",
            ControllerRequest::MetadataFetch { .. } => "MetadataFetch",
            ControllerRequest::Admin(request) => request.name(),
        }
    }
}

impl ControllerResponse {
    /// The NOT_CONTROLLER answer to `request`; a metadata fetch gets "nothing new".
    pub fn not_controller(request: &ControllerRequest) -> ControllerResponse {
        let error = ControllerError::NotController;
        match request {
            ControllerRequest::Register(_) => ControllerResponse::Registered(Err(error)),
            ControllerRequest::Heartbeat(_) => ControllerResponse::Heartbeat(Err(error)),
            ControllerRequest::CreateTopic(_) => ControllerResponse::TopicCreated(Err(error)),
            ControllerRequest::AlterPartition(_) => ControllerResponse::AlterPartition(Err(error)),
            ControllerRequest::AllocateProducerIds { .. } => {
                ControllerResponse::ProducerIds(Err(error))
            }
            ControllerRequest::MetadataFetch { .. } => {
                ControllerResponse::Metadata(CommittedRead::UpToDate { commit: 0 })
            }
            ControllerRequest::Admin(request) => {
                ControllerResponse::Admin(request.refuse(api::ErrorCode::NotController))
            }
        }
    }

    /// The NOT_CONTROLLER answer of the same kind as `response`, for a controller that lost
    /// its leadership before the decision it answered committed.
    pub fn not_controller_for(response: &ControllerResponse) -> ControllerResponse {
        let error = ControllerError::NotController;
        match response {
            ControllerResponse::Registered(_) => ControllerResponse::Registered(Err(error)),
            ControllerResponse::Heartbeat(_) => ControllerResponse::Heartbeat(Err(error)),
            ControllerResponse::TopicCreated(_) => ControllerResponse::TopicCreated(Err(error)),
            ControllerResponse::AlterPartition(_) => ControllerResponse::AlterPartition(Err(error)),
            ControllerResponse::ProducerIds(_) => ControllerResponse::ProducerIds(Err(error)),
            ControllerResponse::Metadata(_) => {
                ControllerResponse::Metadata(CommittedRead::UpToDate { commit: 0 })
            }
            ControllerResponse::Admin(response) => {
                ControllerResponse::Admin(response.clone().into_not_controller())
            }
        }
    }

    /// True when the answer says to try another controller.
    pub fn is_not_controller(&self) -> bool {
        let error = match self {
            ControllerResponse::Registered(Err(error))
            | ControllerResponse::Heartbeat(Err(error))
            | ControllerResponse::TopicCreated(Err(error))
            | ControllerResponse::AlterPartition(Err(error))
            | ControllerResponse::ProducerIds(Err(error)) => error,
            ControllerResponse::Admin(response) => return response.is_not_controller(),
            _ => return false,
        };
        *error == ControllerError::NotController
    }
}

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeOutput {
    /// Send `message` to node `to`. Never this node itself: those are handled inside.
    Send {
        /// The node.
        to: NodeId,
        /// The message.
        message: NodeMessage,
        /// The sync that must complete before the message leaves (see [`super::SyncTracker`]).
        after: Option<SyncToken>,
    },
    /// Answer the client whose request carried this token.
    Respond {
        /// The driver's token from [`super::Node::handle_client_request`].
        client: u64,
        /// The answer.
        response: api::Response,
        /// The sync that must complete before the answer leaves (see [`super::SyncTracker`]).
        after: Option<SyncToken>,
    },
    /// Make the named files durable (fdatasync), covering every write issued before this
    /// output, then call [`super::Node::handle_sync_done`] with `token`. Syncs run off the
    /// node's loop and may be merged: one fdatasync of a file covers every request for it
    /// issued before that fdatasync started.
    Sync {
        /// Names the sync in outputs waiting on it and in its completion.
        token: SyncToken,
        /// The files, by their paths on the node's disk.
        files: Vec<String>,
        /// Directories whose names (files created, removed or renamed in them) must be
        /// durable too, as `fsync` of the directory makes them.
        dirs: Vec<String>,
        /// A sync this one is reported after (see [`super::SyncTracker`]): its completion
        /// promises that one's too.
        after: Option<SyncToken>,
    },
    /// Replace `{dir}/{name}` whole with `bytes`, atomically and durably
    /// ([`crate::disk::replace_file`]), off the node's loop, then call
    /// [`super::Node::handle_sync_done`] with `token`. The node reads the file only when it
    /// opens; replaces of one file run in the order they came out.
    Replace {
        /// Names the replace, as a sync's token.
        token: SyncToken,
        /// The directory.
        dir: String,
        /// The file's name in it.
        name: String,
        /// The new contents.
        bytes: Vec<u8>,
        /// As for [`NodeOutput::Sync`].
        after: Option<SyncToken>,
    },
}

impl NodeOutput {
    /// The sync this output waits for (a message or an answer) or is reported after (a sync
    /// or a replace), if any.
    pub fn after(&self) -> Option<SyncToken> {
        match self {
            NodeOutput::Send { after, .. }
            | NodeOutput::Respond { after, .. }
            | NodeOutput::Sync { after, .. }
            | NodeOutput::Replace { after, .. } => *after,
        }
    }
}
