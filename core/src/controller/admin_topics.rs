//! The admin APIs the active controller decides (Kafka's ControllerApis): CreateTopics with
//! configs and manual assignments, DeleteTopics and CreatePartitions, each per topic, with
//! Kafka's error codes and a message, and validate_only decided exactly as the real thing.

use std::collections::{BTreeMap, BTreeSet};

use super::codec::STRING_BYTES_MAX;
use super::controller::QuorumController;
use super::error::ControllerError;
use super::record::{BrokerId, MetadataRecord, PartitionRecord, Uuid, CONFIG_RESOURCE_TOPIC};
use super::requests::ControllerResult;
use super::topics::validate_topic_name;
use crate::api::{
    AdminRequest, AdminResponse, CreatableTopic, CreatePartitionsRequest, CreateTopicResult,
    CreateTopicsRequest, DeleteTopicResult, ErrorCode, NewPartitions, TopicError,
};
use crate::rng::Rng;
use crate::topic_config;

/// A refusal: Kafka's code and a message for the client.
pub(super) type Refusal = (ErrorCode, String);

impl QuorumController {
    /// Decides one admin request. DescribeConfigs, DeleteRecords and DescribeCluster are the
    /// brokers' and are refused INVALID_REQUEST here.
    pub fn admin(
        &mut self,
        rng: &mut dyn Rng,
        request: &AdminRequest,
    ) -> ControllerResult<AdminResponse> {
        let mut records = Vec::new();
        let response = match request {
            AdminRequest::CreateTopics(request) => {
                AdminResponse::CreateTopics(self.admin_create_topics(&mut records, rng, request))
            }
            AdminRequest::DeleteTopics(request) => {
                let result = self.delete_topics(&request.names);
                records = result.records;
                let answers = request.names.iter().zip(result.response);
                AdminResponse::DeleteTopics(
                    answers
                        .map(|(name, result)| DeleteTopicResult {
                            name: name.clone(),
                            topic_id: *result.as_ref().unwrap_or(&Uuid::ZERO),
                            error: result.err().map_or(ErrorCode::None, error_code),
                        })
                        .collect(),
                )
            }
            AdminRequest::CreatePartitions(request) => AdminResponse::CreatePartitions(
                self.admin_create_partitions(&mut records, rng, request),
            ),
            AdminRequest::AlterConfigs(request) => {
                AdminResponse::AlterConfigs(self.admin_alter_configs(&mut records, request))
            }
            other => other.refuse(ErrorCode::InvalidRequest),
        };
        ControllerResult { records, response }
    }

    fn admin_create_topics(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        request: &CreateTopicsRequest,
    ) -> Vec<CreateTopicResult> {
        let duplicates = duplicated(request.topics.iter().map(|t| t.name.as_str()));
        let mut results = Vec::with_capacity(request.topics.len());
        for topic in &request.topics {
            let name = topic.name.clone();
            if duplicates.contains(topic.name.as_str()) {
                let message = format!("Create topics request from client contains a duplicate topic with name: {name}");
                results.push(CreateTopicResult::error(
                    name,
                    ErrorCode::InvalidRequest,
                    Some(message),
                ));
                continue;
            }
            let created = match request.validate_only {
                true => self.dry_run(|c, out| c.create_one(out, rng, topic)),
                false => self.create_one(out, rng, topic),
            };
            results.push(match created {
                Ok((topic_id, partitions, rf)) => CreateTopicResult {
                    name,
                    // A validated topic gets no id: it does not exist.
                    topic_id: match request.validate_only {
                        true => Uuid::ZERO,
                        false => topic_id,
                    },
                    error: ErrorCode::None,
                    message: None,
                    num_partitions: partitions,
                    replication_factor: rf,
                    configs: Vec::new(),
                },
                Err((error, message)) => CreateTopicResult::error(name, error, Some(message)),
            });
        }
        results
    }

    /// One topic: its id, partitions and replication factor.
    fn create_one(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        topic: &CreatableTopic,
    ) -> Result<(Uuid, i32, i16), Refusal> {
        self.check_room().map_err(refusal)?;
        let name = &topic.name;
        validate_topic_name(name).map_err(|_| {
            let message = format!("Topic name {name:?} is illegal: it must be 1 to 249 of [a-zA-Z0-9._-], and not . or ..");
            (ErrorCode::InvalidTopicException, message)
        })?;
        if self.working.topic_id(name).is_some() {
            let message = format!("Topic '{name}' already exists.");
            return Err((ErrorCode::TopicAlreadyExists, message));
        }
        let configs = topic_configs(&topic.configs)?;
        let assignments = self.plan_assignments(rng, topic)?;
        let limits = *self.working.limits();
        if self.working.topics().count() >= limits.topics_max
            || self
                .working
                .partition_count()
                .saturating_add(assignments.len())
                > limits.partitions_max
        {
            let message = "The cluster holds as many topics or partitions as it may.".to_string();
            return Err((ErrorCode::PolicyViolation, message));
        }
        let mut topic_id = Uuid::random(rng);
        while self.working.topic(topic_id).is_some() {
            topic_id = Uuid::random(rng);
        }
        let record = MetadataRecord::Topic {
            name: name.clone(),
            topic_id,
            unclean_leader_election_enable: topic_config::unclean_leader_election(&configs),
        };
        self.propose(out, record);
        for (key, value) in &configs {
            let record = MetadataRecord::Config {
                resource_type: CONFIG_RESOURCE_TOPIC,
                resource_name: name.clone(),
                name: key.clone(),
                value: Some(value.clone()),
            };
            self.propose(out, record);
        }
        let rf = assignments.first().map_or(0, Vec::len);
        let count = assignments.len();
        self.propose_assigned(out, topic_id, 0, assignments)?;
        let count = i32::try_from(count).expect("partitions_max fits i32");
        Ok((topic_id, count, i16::try_from(rf).unwrap_or(i16::MAX)))
    }

    /// The replica lists of a new topic: the manual assignment, checked, or placed by the
    /// controller for the requested count and factor.
    fn plan_assignments(
        &mut self,
        rng: &mut dyn Rng,
        topic: &CreatableTopic,
    ) -> Result<Vec<Vec<BrokerId>>, Refusal> {
        if topic.assignments.is_empty() {
            if topic.num_partitions <= 0 {
                let message = "Number of partitions was set to an invalid non-positive value.";
                return Err((ErrorCode::InvalidPartitions, message.to_string()));
            }
            if topic.replication_factor <= 0 {
                let message =
                    "Replication factor must be larger than 0, or -1 to use the default value.";
                return Err((ErrorCode::InvalidReplicationFactor, message.to_string()));
            }
            let count = usize::try_from(topic.num_partitions).unwrap_or(usize::MAX);
            if count > self.working.limits().partitions_max {
                let message = "The cluster holds as many topics or partitions as it may.";
                return Err((ErrorCode::PolicyViolation, message.to_string()));
            }
            return self.placed(rng, 0, count, topic.replication_factor);
        }
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            let message = "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.";
            return Err((ErrorCode::InvalidRequest, message.to_string()));
        }
        let mut sorted: Vec<&(i32, Vec<BrokerId>)> = topic.assignments.iter().collect();
        sorted.sort_by_key(|(index, _)| *index);
        let consecutive = sorted
            .iter()
            .enumerate()
            .all(|(i, (index, _))| usize::try_from(*index) == Ok(i));
        if !consecutive {
            let message = "Partitions should be numbered consecutively, starting at 0.";
            return Err((ErrorCode::InvalidReplicaAssignment, message.to_string()));
        }
        let lists: Vec<Vec<BrokerId>> = sorted.into_iter().map(|(_, r)| r.clone()).collect();
        self.check_assignment(&lists)?;
        Ok(lists)
    }

    /// `count` replica lists of `rf` replicas placed by the controller, for partitions from
    /// `first` on.
    fn placed(
        &mut self,
        rng: &mut dyn Rng,
        first: usize,
        count: usize,
        rf: i16,
    ) -> Result<Vec<Vec<BrokerId>>, Refusal> {
        let (brokers, rf_usize) = self.placement_brokers(rf).map_err(|_| {
            let active = self.working.brokers().filter(|b| b.is_active()).count();
            let message = format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {active} broker(s) are registered."
            );
            (ErrorCode::InvalidReplicationFactor, message)
        })?;
        Ok(super::placement::place_replicas(
            rng, &brokers, first, count, rf_usize,
        ))
    }

    /// Manual replica lists: the same length, distinct, registered brokers.
    fn check_assignment(&self, lists: &[Vec<BrokerId>]) -> Result<(), Refusal> {
        let bad = |message: String| Err((ErrorCode::InvalidReplicaAssignment, message));
        let rf = lists.first().map_or(0, Vec::len);
        for (index, replicas) in lists.iter().enumerate() {
            if replicas.is_empty() || replicas.len() > self.working.limits().replication_factor_max
            {
                return bad(format!("The manual partition assignment of partition {index} has no replicas, or too many."));
            }
            if replicas.len() != rf {
                return bad("All partitions in the manual partition assignment must have the same number of replicas.".to_string());
            }
            if !super::image::distinct_ids(replicas) {
                return bad(format!(
                    "The manual partition assignment of partition {index} contains duplicates."
                ));
            }
            if let Some(missing) = replicas.iter().find(|b| self.working.broker(**b).is_none()) {
                return bad(format!("The manual partition assignment includes broker {missing}, but no such broker is registered."));
            }
            if !replicas.iter().any(|b| self.working.is_active_broker(*b)) {
                return bad(format!("All brokers specified in the manual partition assignment for partition {index} are fenced or in controlled shutdown."));
            }
        }
        Ok(())
    }

    /// Proposes partitions from index `first` with these replica lists; each starts with its
    /// active replicas as ISR and the first of them as leader.
    fn propose_assigned(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        topic_id: Uuid,
        first: usize,
        lists: Vec<Vec<BrokerId>>,
    ) -> Result<(), Refusal> {
        for (offset, replicas) in lists.into_iter().enumerate() {
            let isr: Vec<BrokerId> = replicas
                .iter()
                .copied()
                .filter(|b| self.working.is_active_broker(*b))
                .collect();
            let partition = i32::try_from(first + offset).map_err(|_| {
                (
                    ErrorCode::InvalidPartitions,
                    "Too many partitions.".to_string(),
                )
            })?;
            let record = PartitionRecord {
                topic_id,
                partition,
                leader: isr[0],
                isr,
                replicas,
                leader_epoch: 0,
                partition_epoch: 0,
            };
            self.propose(out, MetadataRecord::Partition(record));
        }
        Ok(())
    }

    fn admin_create_partitions(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        request: &CreatePartitionsRequest,
    ) -> Vec<TopicError> {
        let duplicates = duplicated(request.topics.iter().map(|t| t.topic.as_str()));
        let mut results = Vec::with_capacity(request.topics.len());
        for topic in &request.topics {
            let result = if duplicates.contains(topic.topic.as_str()) {
                let message = "Duplicate topic in the request.".to_string();
                Err((ErrorCode::InvalidRequest, message))
            } else if request.validate_only {
                self.dry_run(|c, out| c.grow_one(out, rng, topic))
            } else {
                self.grow_one(out, rng, topic)
            };
            let (error, message) = match result {
                Ok(()) => (ErrorCode::None, None),
                Err((error, message)) => (error, Some(message)),
            };
            results.push(TopicError {
                name: topic.topic.clone(),
                error,
                message,
            });
        }
        results
    }

    fn grow_one(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        request: &NewPartitions,
    ) -> Result<(), Refusal> {
        self.check_room().map_err(refusal)?;
        let name = &request.topic;
        let Some(topic) = self.working.topic_by_name(name) else {
            let message = format!("This server does not host this topic ID, or topic {name}.");
            return Err((ErrorCode::UnknownTopicOrPartition, message));
        };
        let (topic_id, current) = (topic.topic_id, topic.partitions.len());
        let rf = topic.partitions.first().map_or(1, |p| p.replicas.len());
        let total = usize::try_from(request.count).unwrap_or(0);
        if total == current {
            let message = format!("Topic already has {current} partition(s).");
            return Err((ErrorCode::InvalidPartitions, message));
        }
        if total < current {
            let message = format!(
                "The topic {name} currently has {current} partition(s); {} would not be an increase.",
                request.count
            );
            return Err((ErrorCode::InvalidPartitions, message));
        }
        let added = total - current;
        if self.working.partition_count().saturating_add(added)
            > self.working.limits().partitions_max
        {
            let message = "The cluster holds as many partitions as it may.".to_string();
            return Err((ErrorCode::PolicyViolation, message));
        }
        let lists = match &request.assignments {
            Some(lists) if lists.len() != added => {
                let message = format!(
                    "Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.",
                    lists.len()
                );
                return Err((ErrorCode::InvalidReplicaAssignment, message));
            }
            Some(lists) => {
                self.check_assignment(lists)?;
                lists.clone()
            }
            None => {
                let rf = i16::try_from(rf).unwrap_or(i16::MAX);
                self.placed(rng, current, added, rf)?
            }
        };
        self.propose_assigned(out, topic_id, current, lists)
    }
}

/// The names that occur more than once.
pub(super) fn duplicated<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            twice.insert(name);
        }
    }
    twice
}

/// A new topic's configs, each checked; the last of a repeated name wins.
fn topic_configs(
    configs: &[(String, Option<String>)],
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut out = BTreeMap::new();
    for (name, value) in configs {
        let Some(value) = value else {
            let message = format!("Null value not supported for topic configs: {name}");
            return Err((ErrorCode::InvalidConfig, message));
        };
        out.insert(name.clone(), checked_value(name, value)?);
    }
    topic_config::validate_set(&out).map_err(|message| (ErrorCode::InvalidConfig, message))?;
    Ok(out)
}

/// One config value as stored, or INVALID_CONFIG.
pub(super) fn checked_value(name: &str, value: &str) -> Result<String, Refusal> {
    let value = topic_config::validate(name, value).map_err(|m| (ErrorCode::InvalidConfig, m))?;
    if name.len() > STRING_BYTES_MAX || value.len() > STRING_BYTES_MAX {
        let message = format!("The value of {name} is longer than {STRING_BYTES_MAX} bytes.");
        return Err((ErrorCode::InvalidConfig, message));
    }
    Ok(value)
}

/// A controller refusal as a client-facing code and message.
pub(super) fn refusal(error: ControllerError) -> Refusal {
    (error_code(error), error.to_string())
}

/// The client-facing code of a controller error.
pub(super) fn error_code(error: ControllerError) -> ErrorCode {
    match error {
        ControllerError::UnknownTopicOrPartition => ErrorCode::UnknownTopicOrPartition,
        ControllerError::RequestTimedOut => ErrorCode::RequestTimedOut,
        ControllerError::InvalidTopic => ErrorCode::InvalidTopicException,
        ControllerError::TopicAlreadyExists => ErrorCode::TopicAlreadyExists,
        ControllerError::InvalidPartitions => ErrorCode::InvalidPartitions,
        ControllerError::InvalidReplicationFactor => ErrorCode::InvalidReplicationFactor,
        ControllerError::NotController => ErrorCode::NotController,
        ControllerError::PolicyViolation => ErrorCode::PolicyViolation,
        ControllerError::UnknownTopicId => ErrorCode::UnknownTopicId,
        _ => ErrorCode::InvalidRequest,
    }
}
