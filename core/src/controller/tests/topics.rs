//! CreateTopics, DeleteTopics and CreatePartitions (KIP-631's TopicRecord, PartitionRecord,
//! RemoveTopicRecord).

use super::*;

fn topic(name: &str, partitions: i32, replication_factor: i16) -> CreateTopicRequest {
    CreateTopicRequest {
        name: name.to_string(),
        partitions,
        replication_factor,
        unclean_leader_election_enable: None,
    }
}

/// KIP-631: a topic is a TopicRecord followed by one PartitionRecord per partition, each with
/// its replicas as ISR and its first replica as leader at epoch zero.
#[test]
fn create_topic_proposes_topic_then_partitions() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..3).for_each(|b| {
        h.add_broker(b);
    });
    let result = h
        .controller
        .create_topics(&mut h.rng, &[topic("orders", 3, 3)]);
    let created = result.response[0].unwrap();
    assert_eq!(created.partitions, 3);
    assert_eq!(result.records.len(), 4);
    assert_eq!(
        result.records[0],
        MetadataRecord::Topic {
            name: "orders".to_string(),
            topic_id: created.topic_id,
            unclean_leader_election_enable: None
        }
    );
    let mut leaders = Vec::new();
    for (index, record) in result.records[1..].iter().enumerate() {
        let MetadataRecord::Partition(p) = record else {
            panic!("expected a partition record, got {record:?}");
        };
        assert_eq!(p.topic_id, created.topic_id);
        assert_eq!(p.partition, index as i32);
        assert_eq!(p.isr, p.replicas);
        assert_eq!(p.leader, p.replicas[0]);
        assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
        leaders.push(p.leader);
    }
    leaders.sort();
    assert_eq!(leaders, vec![0, 1, 2], "one leader per broker");
    h.commit(result);
    assert_eq!(
        h.controller.image().topic_id("orders"),
        Some(created.topic_id)
    );
}

/// Kafka's CreateTopics errors, one per topic in request order.
#[test]
fn create_topic_errors() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..3).for_each(|b| {
        h.add_broker(b);
    });
    h.create("taken", 1, 1);
    let requests = [
        topic("taken", 1, 1),
        topic("too-many-replicas", 1, 4),
        topic("no-replicas", 1, 0),
        topic("no-partitions", 0, 1),
        topic("bad/name", 1, 1),
        topic("", 1, 1),
        topic("ok", 2, 3),
        topic("ok", 2, 3),
    ];
    let result = h.controller.create_topics(&mut h.rng, &requests);
    let errors: Vec<Option<ControllerError>> = result.response.iter().map(|r| r.err()).collect();
    assert_eq!(
        errors,
        vec![
            Some(ControllerError::TopicAlreadyExists),
            Some(ControllerError::InvalidReplicationFactor),
            Some(ControllerError::InvalidReplicationFactor),
            Some(ControllerError::InvalidPartitions),
            Some(ControllerError::InvalidTopic),
            Some(ControllerError::InvalidTopic),
            None,
            Some(ControllerError::TopicAlreadyExists),
        ]
    );
    assert_eq!(result.records.len(), 3, "only the one good topic");
    h.commit(result);
}

/// Replicas go only to unfenced brokers; too few of them is INVALID_REPLICATION_FACTOR.
#[test]
fn fenced_brokers_get_no_replicas() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..3).for_each(|b| {
        h.add_broker(b);
    });
    let request = RegisterBrokerRequest {
        broker_id: 3,
        incarnation_id: Uuid(99),
        listeners: Vec::new(),
        rack: None,
        previous_broker_epoch: -1,
    };
    let result = h.controller.register_broker(h.now, &request);
    h.commit(result).unwrap();
    let topic_id = h.create("t", 20, 3);
    for p in 0..20 {
        assert!(!h.partition(topic_id, p).replicas.contains(&3));
    }
    let result = h.controller.create_topics(&mut h.rng, &[topic("u", 1, 4)]);
    assert_eq!(
        result.response[0],
        Err(ControllerError::InvalidReplicationFactor)
    );
}

/// KIP-631: deleting a topic is one RemoveTopicRecord; a later change to it is ignored by
/// every image and counted.
#[test]
fn delete_topic_then_stale_change_is_ignored() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..2).for_each(|b| {
        h.add_broker(b);
    });
    let topic_id = h.create("t", 1, 2);
    let names = ["t".to_string(), "missing".to_string()];
    let result = h.controller.delete_topics(&names);
    assert_eq!(
        result.records,
        vec![MetadataRecord::RemoveTopic { topic_id }]
    );
    assert_eq!(
        result.response,
        vec![Ok(topic_id), Err(ControllerError::UnknownTopicOrPartition)]
    );
    h.commit(result);
    let mut image = h.controller.image().clone();
    let stale = MetadataRecord::PartitionChange(PartitionChange {
        topic_id,
        partition: 0,
        isr: vec![0],
        elr: Vec::new(),
        leader: 0,
        leader_epoch: 1,
        partition_epoch: 1,
        leader_recovery: LeaderRecoveryState::Recovered,
        unclean: false,
    });
    assert!(matches!(image.apply(&stale), ApplyOutcome::Ignored(_)));
    assert_eq!(image.records_ignored(), 1);
    assert!(image.topic_by_name("t").is_none());
    check_invariants(&image).unwrap();
}

/// CreatePartitions adds PartitionRecords after the existing ones, with the topic's
/// replication factor; shrinking or keeping the count is INVALID_PARTITIONS.
#[test]
fn create_partitions_appends() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..3).for_each(|b| {
        h.add_broker(b);
    });
    let topic_id = h.create("t", 2, 2);
    let result = h.controller.create_partitions(&mut h.rng, "t", 5);
    assert_eq!(result.records.len(), 3);
    h.commit(result).unwrap();
    let topic = h.controller.image().topic(topic_id).unwrap();
    assert_eq!(topic.partitions.len(), 5);
    assert!(topic.partitions.iter().all(|p| p.replicas.len() == 2));
    let same = h.controller.create_partitions(&mut h.rng, "t", 5);
    assert_eq!(same.response, Err(ControllerError::InvalidPartitions));
    let missing = h.controller.create_partitions(&mut h.rng, "nope", 5);
    assert_eq!(
        missing.response,
        Err(ControllerError::UnknownTopicOrPartition)
    );
}

/// Leaders stay balanced across many topics over many brokers (Kafka's replica placement).
#[test]
fn leaders_balance_across_many_topics() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..10).for_each(|b| {
        h.add_broker(b);
    });
    for t in 0..20 {
        h.create(&format!("t{t}"), 10, 3);
    }
    let mut leaders = [0u32; 10];
    let mut replicas = [0u32; 10];
    for (_, _, state) in h.controller.image().partitions() {
        leaders[state.leader as usize] += 1;
        state
            .replicas
            .iter()
            .for_each(|b| replicas[*b as usize] += 1);
    }
    assert!(leaders.iter().all(|n| *n == 20), "{leaders:?}");
    assert!(
        replicas.iter().all(|n| (50..=70).contains(n)),
        "{replicas:?}"
    );
}
