//! CreateTopics, DeleteTopics and CreatePartitions on the active controller.

use super::config::TOPIC_NAME_BYTES_MAX;
use super::controller::QuorumController;
use super::error::ControllerError;
use super::placement::place_replicas;
use super::record::{BrokerId, MetadataRecord, PartitionRecord, Uuid};
use super::requests::{ControllerResult, CreateTopicRequest, CreatedTopic};
use crate::rng::Rng;

impl QuorumController {
    /// CreateTopics: one result per requested topic, in request order. Replicas go to
    /// unfenced brokers only, placed round-robin from a random start (leaders spread evenly
    /// over brokers, as Kafka's replica placement does); each partition starts with its
    /// whole replica list as ISR and its first replica as leader, at epoch zero.
    pub fn create_topics(
        &mut self,
        rng: &mut dyn Rng,
        requests: &[CreateTopicRequest],
    ) -> ControllerResult<Vec<Result<CreatedTopic, ControllerError>>> {
        let mut out = Vec::new();
        let response = requests
            .iter()
            .map(|request| self.create_topic_into(&mut out, rng, request))
            .collect();
        ControllerResult {
            records: out,
            response,
        }
    }

    fn create_topic_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        request: &CreateTopicRequest,
    ) -> Result<CreatedTopic, ControllerError> {
        self.check_room()?;
        validate_topic_name(&request.name)?;
        if self.working.topic_id(&request.name).is_some() {
            return Err(ControllerError::TopicAlreadyExists);
        }
        let Ok(count) = usize::try_from(request.partitions) else {
            return Err(ControllerError::InvalidPartitions);
        };
        if count == 0 {
            return Err(ControllerError::InvalidPartitions);
        }
        let (brokers, rf) = self.placement_brokers(request.replication_factor)?;
        let limits = *self.working.limits();
        if self.working.topics().count() >= limits.topics_max
            || self.working.partition_count().saturating_add(count) > limits.partitions_max
        {
            return Err(ControllerError::PolicyViolation);
        }
        let mut topic_id = Uuid::random(rng);
        while self.working.topic(topic_id).is_some() {
            topic_id = Uuid::random(rng);
        }
        let topic = MetadataRecord::Topic {
            name: request.name.clone(),
            topic_id,
            unclean_leader_election_enable: request.unclean_leader_election_enable,
        };
        self.propose(out, topic);
        self.propose_partitions(out, rng, topic_id, &brokers, 0, count, rf);
        Ok(CreatedTopic {
            topic_id,
            partitions: request.partitions,
        })
    }

    /// DeleteTopics by name: one result per name.
    pub fn delete_topics(
        &mut self,
        names: &[String],
    ) -> ControllerResult<Vec<Result<Uuid, ControllerError>>> {
        let mut out = Vec::new();
        let mut response = Vec::with_capacity(names.len());
        for name in names {
            let result = self.check_room().and_then(|()| {
                let topic_id = self
                    .working
                    .topic_id(name)
                    .ok_or(ControllerError::UnknownTopicOrPartition)?;
                self.propose(&mut out, MetadataRecord::RemoveTopic { topic_id });
                Ok(topic_id)
            });
            response.push(result);
        }
        ControllerResult {
            records: out,
            response,
        }
    }

    /// CreatePartitions: grows `topic` to `total` partitions, with the replication factor of
    /// its first partition.
    pub fn create_partitions(
        &mut self,
        rng: &mut dyn Rng,
        topic: &str,
        total: i32,
    ) -> ControllerResult<Result<(), ControllerError>> {
        let mut out = Vec::new();
        let response = self.create_partitions_into(&mut out, rng, topic, total);
        ControllerResult {
            records: out,
            response,
        }
    }

    fn create_partitions_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        topic: &str,
        total: i32,
    ) -> Result<(), ControllerError> {
        self.check_room()?;
        let Some(image) = self.working.topic_by_name(topic) else {
            return Err(ControllerError::UnknownTopicOrPartition);
        };
        let topic_id = image.topic_id;
        let current = image.partitions.len();
        let rf = image.partitions.first().map_or(1, |p| p.replicas.len());
        let total = usize::try_from(total).map_err(|_| ControllerError::InvalidPartitions)?;
        if total <= current {
            return Err(ControllerError::InvalidPartitions);
        }
        let added = total - current;
        if self.working.partition_count().saturating_add(added)
            > self.working.limits().partitions_max
        {
            return Err(ControllerError::PolicyViolation);
        }
        let rf = i16::try_from(rf).map_err(|_| ControllerError::InvalidReplicationFactor)?;
        let (brokers, rf) = self.placement_brokers(rf)?;
        self.propose_partitions(out, rng, topic_id, &brokers, current, added, rf);
        Ok(())
    }

    /// The unfenced brokers to place `replication_factor` replicas on, and that factor, or
    /// INVALID_REPLICATION_FACTOR when it is out of range or there are too few.
    pub(super) fn placement_brokers(
        &self,
        replication_factor: i16,
    ) -> Result<(Vec<BrokerId>, usize), ControllerError> {
        let rf = usize::try_from(replication_factor)
            .ok()
            .filter(|rf| (1..=self.working.limits().replication_factor_max).contains(rf))
            .ok_or(ControllerError::InvalidReplicationFactor)?;
        let brokers: Vec<BrokerId> = self
            .working
            .brokers()
            .filter(|b| b.is_active())
            .map(|b| b.broker_id)
            .collect();
        if brokers.len() < rf {
            return Err(ControllerError::InvalidReplicationFactor);
        }
        Ok((brokers, rf))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn propose_partitions(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        rng: &mut dyn Rng,
        topic_id: Uuid,
        brokers: &[BrokerId],
        first: usize,
        count: usize,
        rf: usize,
    ) {
        let lists = place_replicas(rng, brokers, first, count, rf);
        for (offset, replicas) in lists.into_iter().enumerate() {
            let partition = i32::try_from(first + offset).expect("partitions_max fits i32");
            let record = PartitionRecord {
                topic_id,
                partition,
                isr: replicas.clone(),
                leader: replicas[0],
                replicas,
                leader_epoch: 0,
                partition_epoch: 0,
            };
            self.propose(out, MetadataRecord::Partition(record));
        }
    }
}

/// INVALID_TOPIC_EXCEPTION unless the name is 1..=249 of `[a-zA-Z0-9._-]` and not `.` or
/// `..`, as Kafka's `Topic.validate`.
pub(super) fn validate_topic_name(name: &str) -> Result<(), ControllerError> {
    let legal = name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-');
    if name.is_empty() || name.len() > TOPIC_NAME_BYTES_MAX || !legal || name == "." || name == ".."
    {
        return Err(ControllerError::InvalidTopic);
    }
    Ok(())
}
