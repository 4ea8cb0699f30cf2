//! The safety properties a metadata image must hold after every applied record. The
//! simulator calls [`check_invariants`] after each step; a violation is a bug in the
//! controller (or a planted one), never bad input.

use core::fmt;

use super::image::{distinct_ids, MetadataImage, PartitionState};
use super::record::{LeaderRecoveryState, Uuid, NO_LEADER};

/// A broken invariant: which partition (if any) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation {
    /// The partition concerned, as `(topic id, index)`, or `None` for image-wide rules.
    pub partition: Option<(Uuid, i32)>,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.partition {
            Some((topic_id, index)) => write!(f, "partition {topic_id}-{index}: {}", self.what),
            None => write!(f, "metadata image: {}", self.what),
        }
    }
}

impl std::error::Error for InvariantViolation {}

/// Checks the image: every leader is a registered, unfenced broker among the replicas and in
/// the ISR; a leader still recovering from an unclean election has ISR `[leader]`; the ISR is
/// a non-empty set within the replicas; leader and partition epochs did not go backwards in
/// the last applied change; topic names and ids index each other; counts match limits.
pub fn check_invariants(image: &MetadataImage) -> Result<(), InvariantViolation> {
    check_image_wide(image)?;
    for (topic_id, index, state) in image.partitions() {
        check_partition(image, state).map_err(|what| InvariantViolation {
            partition: Some((topic_id, index)),
            what,
        })?;
    }
    Ok(())
}

fn check_image_wide(image: &MetadataImage) -> Result<(), InvariantViolation> {
    let fail = |what: String| {
        Err(InvariantViolation {
            partition: None,
            what,
        })
    };
    let limits = image.limits();
    if image.brokers().count() > limits.brokers_max || image.topics().count() > limits.topics_max {
        return fail("more brokers or topics than the limits allow".to_string());
    }
    if image.partitions().count() != image.partition_count()
        || image.partition_count() > limits.partitions_max
    {
        return fail("partition count disagrees with the topics or the limit".to_string());
    }
    for broker in image.brokers() {
        if broker.broker_epoch > image.broker_epoch_max() {
            return fail(format!(
                "broker {} epoch above the maximum",
                broker.broker_id
            ));
        }
    }
    for topic in image.topics() {
        if image.topic_id(&topic.name) != Some(topic.topic_id) {
            return fail(format!("topic {} is not indexed by name", topic.name));
        }
    }
    Ok(())
}

fn check_partition(image: &MetadataImage, state: &PartitionState) -> Result<(), String> {
    if state.replicas.is_empty() || !distinct_ids(&state.replicas) {
        return Err(format!("bad replicas {:?}", state.replicas));
    }
    if super::image::check_leader_and_isr(&state.replicas, &state.isr, &state.elr, state.leader)
        .is_err()
    {
        return Err(format!(
            "bad ISR {:?} or ELR {:?} for replicas {:?} and leader {}",
            state.isr, state.elr, state.replicas, state.leader
        ));
    }
    if state.leader_epoch < state.previous_leader_epoch {
        return Err(format!(
            "leader epoch went back from {} to {}",
            state.previous_leader_epoch, state.leader_epoch
        ));
    }
    if state.partition_epoch < state.previous_partition_epoch {
        return Err(format!(
            "partition epoch went back from {} to {}",
            state.previous_partition_epoch, state.partition_epoch
        ));
    }
    check_leader(image, state)
}

fn check_leader(image: &MetadataImage, state: &PartitionState) -> Result<(), String> {
    let leader = state.leader;
    if leader == NO_LEADER {
        return Ok(());
    }
    if !state.replicas.contains(&leader) {
        return Err(format!("leader {leader} is not a replica"));
    }
    match image.broker(leader) {
        None => return Err(format!("leader {leader} is not registered")),
        Some(broker) if broker.fenced => return Err(format!("leader {leader} is fenced")),
        Some(_) => {}
    }
    if !state.isr.contains(&leader) {
        return Err(format!("leader {leader} is not in the ISR {:?}", state.isr));
    }
    if state.leader_recovery == LeaderRecoveryState::Recovering && state.isr != [leader] {
        return Err(format!(
            "leader {leader} is recovering from an unclean election but the ISR is {:?}",
            state.isr
        ));
    }
    Ok(())
}
