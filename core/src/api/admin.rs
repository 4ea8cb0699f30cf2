//! The admin APIs as core types: CreateTopics, DeleteTopics, CreatePartitions,
//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, DeleteRecords and
//! DescribeCluster. Topic and config changes are decided by the active controller; the broker
//! answers the rest from its image, its config and its replicas.

use super::{ErrorCode, TopicPartition};
use crate::controller::{BrokerId, Uuid};

/// An admin request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminRequest {
    /// CreateTopics (key 19).
    CreateTopics(CreateTopicsRequest),
    /// DeleteTopics (key 20).
    DeleteTopics(DeleteTopicsRequest),
    /// CreatePartitions (key 37).
    CreatePartitions(CreatePartitionsRequest),
    /// DescribeConfigs (key 32).
    DescribeConfigs(DescribeConfigsRequest),
    /// AlterConfigs (key 33) and IncrementalAlterConfigs (key 44).
    AlterConfigs(AlterConfigsRequest),
    /// DeleteRecords (key 21).
    DeleteRecords(DeleteRecordsRequest),
    /// DescribeCluster (key 60): the driver knows the listeners, so the broker only says
    /// whether it can answer.
    DescribeCluster {
        /// 1 = brokers; 2 = controllers, which only a controller answers (KIP-919).
        endpoint_type: i8,
    },
}

/// The answer to an [`AdminRequest`] of the same kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminResponse {
    /// To CreateTopics.
    CreateTopics(Vec<CreateTopicResult>),
    /// To DeleteTopics.
    DeleteTopics(Vec<DeleteTopicResult>),
    /// To CreatePartitions.
    CreatePartitions(Vec<TopicError>),
    /// To DescribeConfigs.
    DescribeConfigs(Vec<DescribeConfigsResult>),
    /// To (Incremental)AlterConfigs.
    AlterConfigs(Vec<AlterConfigsResult>),
    /// To DeleteRecords.
    DeleteRecords(Vec<DeleteRecordsResult>),
    /// To DescribeCluster.
    DescribeCluster {
        /// NONE, or why the broker cannot answer.
        error: ErrorCode,
    },
}

/// One topic of a CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatableTopic {
    /// The name.
    pub name: String,
    /// Partitions, or -1 for the broker's `num.partitions` (or when `assignments` are given).
    pub num_partitions: i32,
    /// Replicas per partition, or -1 for `default.replication.factor`.
    pub replication_factor: i16,
    /// Manual assignment: each partition index with its replica list, first = preferred leader.
    pub assignments: Vec<(i32, Vec<BrokerId>)>,
    /// Topic configs to set, in request order (a null value is refused as Kafka does).
    pub configs: Vec<(String, Option<String>)>,
}

/// CreateTopics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTopicsRequest {
    /// The topics, in request order.
    pub topics: Vec<CreatableTopic>,
    /// Check only; create nothing.
    pub validate_only: bool,
}

/// One topic's answer to CreateTopics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTopicResult {
    /// The topic.
    pub name: String,
    /// Its new id (zero on error or validate_only).
    pub topic_id: Uuid,
    /// NONE or why not.
    pub error: ErrorCode,
    /// A message for the error.
    pub message: Option<String>,
    /// Partitions (v5+), -1 on error.
    pub num_partitions: i32,
    /// Replication factor (v5+), -1 on error.
    pub replication_factor: i16,
    /// Every topic config with its value (v5+), empty on error.
    pub configs: Vec<DescribedConfig>,
}

impl CreateTopicResult {
    /// The answer refusing `name` with `error`.
    pub fn error(name: String, error: ErrorCode, message: Option<String>) -> CreateTopicResult {
        CreateTopicResult {
            name,
            topic_id: Uuid::ZERO,
            error,
            message,
            num_partitions: -1,
            replication_factor: -1,
            configs: Vec::new(),
        }
    }
}

/// DeleteTopics by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteTopicsRequest {
    /// The names, in request order.
    pub names: Vec<String>,
}

/// One topic's answer to DeleteTopics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteTopicResult {
    /// The topic.
    pub name: String,
    /// Its id, zero if unknown.
    pub topic_id: Uuid,
    /// NONE or why not.
    pub error: ErrorCode,
}

/// One topic of a CreatePartitions request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPartitions {
    /// The topic.
    pub topic: String,
    /// The partition count wanted.
    pub count: i32,
    /// Replica lists of the new partitions, if assigned manually.
    pub assignments: Option<Vec<Vec<BrokerId>>>,
}

/// CreatePartitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatePartitionsRequest {
    /// The topics.
    pub topics: Vec<NewPartitions>,
    /// Check only.
    pub validate_only: bool,
}

/// A per-topic error with its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicError {
    /// The topic.
    pub name: String,
    /// NONE or why not.
    pub error: ErrorCode,
    /// A message for the error.
    pub message: Option<String>,
}

/// Kafka's `ConfigResource.Type` of a config resource.
pub mod resource_type {
    /// A topic.
    pub const TOPIC: i8 = 2;
    /// A broker (by id; the empty name is the cluster-wide default).
    pub const BROKER: i8 = 4;
    /// A broker's loggers.
    pub const BROKER_LOGGER: i8 = 8;
}

/// Where a config's value comes from (`DescribeConfigsResponse.ConfigSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// DYNAMIC_TOPIC_CONFIG (1): set on the topic.
    DynamicTopic,
    /// STATIC_BROKER_CONFIG (4): the broker's configuration file.
    StaticBroker,
    /// DEFAULT_CONFIG (5): Kafka's default.
    Default,
}

impl ConfigSource {
    /// Kafka's number.
    pub const fn code(self) -> i8 {
        match self {
            ConfigSource::DynamicTopic => 1,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }
}

/// A config's type (`DescribeConfigsResponse.ConfigType`, KIP-569).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    /// BOOLEAN (1).
    Boolean,
    /// STRING (2).
    String,
    /// INT (3).
    Int,
    /// LONG (5).
    Long,
    /// DOUBLE (6).
    Double,
    /// LIST (7).
    List,
}

impl ConfigType {
    /// Kafka's number.
    pub const fn code(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
        }
    }
}

/// One source a config value could come from, most specific first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSynonym {
    /// The name at that source (a broker-level name for broker sources).
    pub name: String,
    /// The value there.
    pub value: Option<String>,
    /// The source.
    pub source: ConfigSource,
}

/// One config of a described resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedConfig {
    /// The name.
    pub name: String,
    /// The value in force.
    pub value: Option<String>,
    /// Whether it may not be altered.
    pub read_only: bool,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether the value is secret (then it is null).
    pub sensitive: bool,
    /// Every source with a value, most specific first (when asked for).
    pub synonyms: Vec<ConfigSynonym>,
    /// Its type.
    pub config_type: ConfigType,
    /// What it does (when asked for).
    pub documentation: Option<String>,
}

/// One resource of a DescribeConfigs request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigResource {
    /// See [`resource_type`].
    pub resource_type: i8,
    /// Topic name or broker id.
    pub name: String,
}

/// DescribeConfigs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeConfigsRequest {
    /// Each resource with the config names wanted (`None` = all).
    pub resources: Vec<(ConfigResource, Option<Vec<String>>)>,
    /// Fill synonyms.
    pub include_synonyms: bool,
    /// Fill documentation.
    pub include_documentation: bool,
}

/// One resource's answer to DescribeConfigs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeConfigsResult {
    /// The resource.
    pub resource: ConfigResource,
    /// NONE or why not.
    pub error: ErrorCode,
    /// A message for the error.
    pub message: Option<String>,
    /// Its configs.
    pub configs: Vec<DescribedConfig>,
}

/// IncrementalAlterConfigs' operation on one config (`AlterConfigOp.OpType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterConfigOp {
    /// SET (0).
    Set,
    /// DELETE (1): back to the default.
    Delete,
    /// APPEND (2): add to a list.
    Append,
    /// SUBTRACT (3): remove from a list.
    Subtract,
}

impl AlterConfigOp {
    /// The operation numbered `code`, if any.
    pub fn from_code(code: i8) -> Option<AlterConfigOp> {
        match code {
            0 => Some(AlterConfigOp::Set),
            1 => Some(AlterConfigOp::Delete),
            2 => Some(AlterConfigOp::Append),
            3 => Some(AlterConfigOp::Subtract),
            _ => None,
        }
    }
}

/// One resource of an (Incremental)AlterConfigs request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterConfigsResource {
    /// The resource.
    pub resource: ConfigResource,
    /// Each config with its operation and value. AlterConfigs gives only SETs (a null value
    /// there is a DELETE) and replaces every dynamic config of the resource.
    pub ops: Vec<(String, AlterConfigOp, Option<String>)>,
}

/// AlterConfigs or IncrementalAlterConfigs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterConfigsRequest {
    /// The resources.
    pub resources: Vec<AlterConfigsResource>,
    /// Check only.
    pub validate_only: bool,
    /// IncrementalAlterConfigs: change only the configs named. AlterConfigs (false) makes the
    /// given set the resource's whole set of dynamic configs.
    pub incremental: bool,
}

/// One resource's answer to (Incremental)AlterConfigs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterConfigsResult {
    /// The resource.
    pub resource: ConfigResource,
    /// NONE or why not.
    pub error: ErrorCode,
    /// A message for the error.
    pub message: Option<String>,
}

/// DeleteRecords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRecordsRequest {
    /// Each partition with the offset below which records go (-1 = the high watermark).
    pub partitions: Vec<(TopicPartition, i64)>,
}

/// One partition's answer to DeleteRecords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRecordsResult {
    /// The partition.
    pub partition: TopicPartition,
    /// The log start offset after the deletion, or -1 on error.
    pub low_watermark: i64,
    /// NONE or why not.
    pub error: ErrorCode,
}

impl AdminRequest {
    /// Kafka's name for the request.
    pub fn name(&self) -> &'static str {
        match self {
            AdminRequest::CreateTopics(_) => "CreateTopics",
            AdminRequest::DeleteTopics(_) => "DeleteTopics",
            AdminRequest::CreatePartitions(_) => "CreatePartitions",
            AdminRequest::DescribeConfigs(_) => "DescribeConfigs",
            AdminRequest::AlterConfigs(r) if r.incremental => "IncrementalAlterConfigs",
            AdminRequest::AlterConfigs(_) => "AlterConfigs",
            AdminRequest::DeleteRecords(_) => "DeleteRecords",
            AdminRequest::DescribeCluster { .. } => "DescribeCluster",
        }
    }

    /// The answer giving `error` for every topic, resource or partition of the request.
    pub fn refuse(&self, error: ErrorCode) -> AdminResponse {
        match self {
            AdminRequest::CreateTopics(r) => AdminResponse::CreateTopics(
                r.topics
                    .iter()
                    .map(|t| CreateTopicResult::error(t.name.clone(), error, None))
                    .collect(),
            ),
            AdminRequest::DeleteTopics(r) => AdminResponse::DeleteTopics(
                r.names
                    .iter()
                    .map(|name| DeleteTopicResult {
                        name: name.clone(),
                        topic_id: Uuid::ZERO,
                        error,
                    })
                    .collect(),
            ),
            AdminRequest::CreatePartitions(r) => AdminResponse::CreatePartitions(
                r.topics
                    .iter()
                    .map(|t| TopicError {
                        name: t.topic.clone(),
                        error,
                        message: None,
                    })
                    .collect(),
            ),
            AdminRequest::DescribeConfigs(r) => AdminResponse::DescribeConfigs(
                r.resources
                    .iter()
                    .map(|(resource, _)| DescribeConfigsResult {
                        resource: resource.clone(),
                        error,
                        message: None,
                        configs: Vec::new(),
                    })
                    .collect(),
            ),
            AdminRequest::AlterConfigs(r) => AdminResponse::AlterConfigs(
                r.resources
                    .iter()
                    .map(|res| AlterConfigsResult {
                        resource: res.resource.clone(),
                        error,
                        message: None,
                    })
                    .collect(),
            ),
            AdminRequest::DeleteRecords(r) => AdminResponse::DeleteRecords(
                r.partitions
                    .iter()
                    .map(|(tp, _)| DeleteRecordsResult {
                        partition: tp.clone(),
                        low_watermark: -1,
                        error,
                    })
                    .collect(),
            ),
            AdminRequest::DescribeCluster { .. } => AdminResponse::DescribeCluster { error },
        }
    }
}

impl AdminResponse {
    /// Kafka's name for the response.
    pub fn name(&self) -> &'static str {
        match self {
            AdminResponse::CreateTopics(_) => "CreateTopics",
            AdminResponse::DeleteTopics(_) => "DeleteTopics",
            AdminResponse::CreatePartitions(_) => "CreatePartitions",
            AdminResponse::DescribeConfigs(_) => "DescribeConfigs",
            AdminResponse::AlterConfigs(_) => "AlterConfigs",
            AdminResponse::DeleteRecords(_) => "DeleteRecords",
            AdminResponse::DescribeCluster { .. } => "DescribeCluster",
        }
    }

    /// True when an item says NOT_CONTROLLER: the request reached a controller that does not
    /// lead.
    pub fn is_not_controller(&self) -> bool {
        let not = |e: &ErrorCode| *e == ErrorCode::NotController;
        match self {
            AdminResponse::CreateTopics(v) => v.iter().any(|t| not(&t.error)),
            AdminResponse::DeleteTopics(v) => v.iter().any(|t| not(&t.error)),
            AdminResponse::CreatePartitions(v) => v.iter().any(|t| not(&t.error)),
            AdminResponse::AlterConfigs(v) => v.iter().any(|r| not(&r.error)),
            _ => false,
        }
    }

    /// The same answer with every item's error replaced by NOT_CONTROLLER, for a decision
    /// whose records were lost with the controller's leadership.
    pub fn into_not_controller(self) -> AdminResponse {
        let e = ErrorCode::NotController;
        match self {
            AdminResponse::CreateTopics(v) => AdminResponse::CreateTopics(
                v.into_iter()
                    .map(|t| CreateTopicResult::error(t.name, e, None))
                    .collect(),
            ),
            AdminResponse::DeleteTopics(v) => AdminResponse::DeleteTopics(
                v.into_iter()
                    .map(|t| DeleteTopicResult { error: e, ..t })
                    .collect(),
            ),
            AdminResponse::CreatePartitions(v) => AdminResponse::CreatePartitions(
                v.into_iter()
                    .map(|t| TopicError {
                        error: e,
                        message: None,
                        ..t
                    })
                    .collect(),
            ),
            AdminResponse::AlterConfigs(v) => AdminResponse::AlterConfigs(
                v.into_iter()
                    .map(|r| AlterConfigsResult {
                        error: e,
                        message: None,
                        ..r
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}
