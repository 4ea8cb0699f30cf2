//! The admin APIs on the broker. Topic and config changes go to the active controller and
//! are answered once it has committed them (Kafka's brokers forward them the same way);
//! DescribeConfigs and DescribeCluster are answered from the applied image and the broker's
//! settings; DeleteRecords goes to the replicas (see `serve`).

use super::channel::Purpose;
use super::message::{ControllerRequest, NodeOutput};
use super::node::{Node, Step};
use crate::api::{
    resource_type, AdminRequest, AdminResponse, ConfigResource, ConfigSource, ConfigType,
    DescribeConfigsRequest, DescribeConfigsResult, DescribedConfig, ErrorCode, Response,
};
use crate::topic_config::{self, BrokerDefaults};

impl Node {
    pub(super) fn serve_admin(&mut self, step: &mut Step<'_>, client: u64, request: AdminRequest) {
        let response = match request {
            AdminRequest::DescribeCluster { endpoint_type } => {
                // KIP-919: only controllers list controllers; brokers answer 1 (brokers).
                let error = match endpoint_type {
                    1 => ErrorCode::None,
                    _ => ErrorCode::UnsupportedEndpointType,
                };
                AdminResponse::DescribeCluster { error }
            }
            AdminRequest::DescribeConfigs(request) => {
                AdminResponse::DescribeConfigs(self.describe_configs(&request))
            }
            AdminRequest::CreateTopics(mut create) => {
                for topic in &mut create.topics {
                    if topic.assignments.is_empty() && topic.num_partitions == -1 {
                        topic.num_partitions = self.config.num_partitions;
                    }
                    if topic.assignments.is_empty() && topic.replication_factor == -1 {
                        topic.replication_factor = self.config.default_replication_factor;
                    }
                }
                return self.forward(step, client, AdminRequest::CreateTopics(create));
            }
            request @ (AdminRequest::DeleteTopics(_)
            | AdminRequest::CreatePartitions(_)
            | AdminRequest::AlterConfigs(_)) => return self.forward(step, client, request),
            // Served by the replicas; never routed here.
            request @ AdminRequest::DeleteRecords(_) => request.refuse(ErrorCode::InvalidRequest),
        };
        self.respond_admin(client, response);
    }

    fn forward(&mut self, step: &mut Step<'_>, client: u64, request: AdminRequest) {
        if self.channel.admin_requests() >= self.config.requests_inflight_max {
            self.stats.requests_refused += 1;
            return self.respond_admin(client, request.refuse(ErrorCode::RequestTimedOut));
        }
        let purpose = Purpose::Admin {
            client,
            request: Box::new(request.clone()),
        };
        self.ask_controller(step, purpose, ControllerRequest::Admin(request));
    }

    /// The controller's answer (or none: `response` is then `None` and the client gets
    /// REQUEST_TIMED_OUT). CreateTopics answers carry the new topics' configs (v5+), which
    /// only the broker can describe.
    pub(super) fn admin_answered(
        &mut self,
        client: u64,
        request: &AdminRequest,
        response: Option<AdminResponse>,
    ) {
        let mut response = response.unwrap_or_else(|| request.refuse(ErrorCode::RequestTimedOut));
        if let (AdminRequest::CreateTopics(create), AdminResponse::CreateTopics(results)) =
            (request, &mut response)
        {
            let defaults = self.broker_defaults();
            for (topic, result) in create.topics.iter().zip(results.iter_mut()) {
                if result.error != ErrorCode::None {
                    continue;
                }
                let overrides = topic
                    .configs
                    .iter()
                    .filter_map(|(name, value)| {
                        let value = topic_config::validate(name, value.as_deref()?).ok()?;
                        Some((name.clone(), value))
                    })
                    .collect();
                result.configs =
                    topic_config::describe_topic(&overrides, &defaults, None, false, false);
            }
        }
        self.respond_admin(client, response);
    }

    fn respond_admin(&mut self, client: u64, response: AdminResponse) {
        let response = Response::Admin(response);
        self.outputs.push_back(NodeOutput::Respond {
            client,
            response,
            after: None,
        });
    }

    fn broker_defaults(&self) -> BrokerDefaults {
        BrokerDefaults::new(
            &self.config.replica.log,
            self.config.replica.min_insync_replicas,
            self.config.controller.unclean_leader_election_enable,
        )
    }

    fn describe_configs(&self, request: &DescribeConfigsRequest) -> Vec<DescribeConfigsResult> {
        let defaults = self.broker_defaults();
        let image = self.follower.image();
        let (synonyms, docs) = (request.include_synonyms, request.include_documentation);
        let mut results = Vec::with_capacity(request.resources.len());
        for (resource, keys) in &request.resources {
            let keys = keys.as_deref();
            let described = match resource.resource_type {
                resource_type::TOPIC => match image.topic_by_name(&resource.name) {
                    Some(topic) => Ok(topic_config::describe_topic(
                        &topic.configs,
                        &defaults,
                        keys,
                        synonyms,
                        docs,
                    )),
                    None => Err((
                        ErrorCode::UnknownTopicOrPartition,
                        format!("Topic {} does not exist.", resource.name),
                    )),
                },
                resource_type::BROKER => self.describe_broker(&resource.name, keys, docs),
                other => Err((
                    ErrorCode::InvalidRequest,
                    format!("Sluice describes topics and brokers only, not resource type {other}."),
                )),
            };
            results.push(match described {
                Ok(configs) => DescribeConfigsResult {
                    resource: resource.clone(),
                    error: ErrorCode::None,
                    message: None,
                    configs,
                },
                Err((error, message)) => DescribeConfigsResult {
                    resource: ConfigResource {
                        resource_type: resource.resource_type,
                        name: resource.name.clone(),
                    },
                    error,
                    message: Some(message),
                    configs: Vec::new(),
                },
            });
        }
        results
    }

    /// The broker's own settings that Sluice knows by Kafka's names, read-only (Sluice has no
    /// dynamic broker configs). The empty name is the cluster-wide dynamic default, of which
    /// there are none.
    fn describe_broker(
        &self,
        name: &str,
        keys: Option<&[String]>,
        docs: bool,
    ) -> Result<Vec<DescribedConfig>, (ErrorCode, String)> {
        if name.is_empty() {
            return Ok(Vec::new());
        }
        let me = self.config.node_id;
        if name.parse::<u32>() != Ok(me) {
            let message =
                format!("Unexpected broker id, expected {me} or empty string, but received {name}");
            return Err((ErrorCode::InvalidRequest, message));
        }
        let c = &self.config;
        let log = &c.replica.log;
        let settings: [(&str, ConfigType, String); 15] = [
            ("node.id", ConfigType::Int, c.node_id.to_string()),
            ("broker.id", ConfigType::Int, c.node_id.to_string()),
            (
                "num.partitions",
                ConfigType::Int,
                c.num_partitions.to_string(),
            ),
            (
                "default.replication.factor",
                ConfigType::Int,
                c.default_replication_factor.to_string(),
            ),
            (
                "auto.create.topics.enable",
                ConfigType::Boolean,
                c.auto_create_topics_enable.to_string(),
            ),
            (
                "min.insync.replicas",
                ConfigType::Int,
                c.replica.min_insync_replicas.to_string(),
            ),
            (
                "unclean.leader.election.enable",
                ConfigType::Boolean,
                c.controller.unclean_leader_election_enable.to_string(),
            ),
            (
                "log.segment.bytes",
                ConfigType::Int,
                log.segment_bytes.to_string(),
            ),
            ("log.roll.ms", ConfigType::Long, log.segment_ms.to_string()),
            (
                "log.retention.ms",
                ConfigType::Long,
                log.retention_ms.to_string(),
            ),
            (
                "log.retention.bytes",
                ConfigType::Long,
                log.retention_bytes.to_string(),
            ),
            (
                "log.flush.interval.messages",
                ConfigType::Long,
                log.flush_messages.to_string(),
            ),
            (
                "log.flush.interval.ms",
                ConfigType::Long,
                log.flush_ms.to_string(),
            ),
            (
                "message.max.bytes",
                ConfigType::Int,
                log.max_message_bytes.to_string(),
            ),
            (
                "replica.lag.time.max.ms",
                ConfigType::Long,
                c.replica.replica_lag_time_max_ms.to_string(),
            ),
        ];
        let mut configs: Vec<DescribedConfig> = settings
            .into_iter()
            .filter(|(name, _, _)| keys.is_none_or(|keys| keys.iter().any(|k| k == name)))
            .map(|(name, config_type, value)| DescribedConfig {
                name: name.to_string(),
                value: Some(value),
                read_only: true,
                source: ConfigSource::StaticBroker,
                sensitive: false,
                synonyms: Vec::new(),
                config_type,
                documentation: docs.then(|| "A setting of the broker's configuration.".to_string()),
            })
            .collect();
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(configs)
    }
}
