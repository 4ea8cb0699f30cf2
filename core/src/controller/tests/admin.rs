//! The admin APIs the controller decides: CreateTopics with configs, assignments and
//! validate_only, CreatePartitions, DeleteTopics and (Incremental)AlterConfigs, each refused
//! per topic with Kafka's code.

use super::*;
use crate::api::{
    resource_type, AdminRequest, AdminResponse, AlterConfigOp, AlterConfigsRequest,
    AlterConfigsResource, ConfigResource, CreatableTopic, CreatePartitionsRequest,
    CreateTopicsRequest, DeleteTopicsRequest, ErrorCode, NewPartitions,
};

fn creatable(name: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic {
        name: name.to_string(),
        num_partitions: partitions,
        replication_factor: rf,
        assignments: Vec::new(),
        configs: configs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect(),
    }
}

fn create(topics: Vec<CreatableTopic>, validate_only: bool) -> AdminRequest {
    AdminRequest::CreateTopics(CreateTopicsRequest {
        topics,
        validate_only,
    })
}

fn alter(
    topic: &str,
    incremental: bool,
    ops: &[(&str, AlterConfigOp, Option<&str>)],
) -> AdminRequest {
    AdminRequest::AlterConfigs(AlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource: ConfigResource {
                resource_type: resource_type::TOPIC,
                name: topic.to_string(),
            },
            ops: ops
                .iter()
                .map(|(k, op, v)| (k.to_string(), *op, v.map(str::to_string)))
                .collect(),
        }],
        validate_only: false,
        incremental,
    })
}

impl Harness {
    fn admin(&mut self, request: AdminRequest) -> AdminResponse {
        let result = self.controller.admin(&mut self.rng, &request);
        self.commit(result)
    }

    fn configs(&self, topic: &str) -> Vec<(String, String)> {
        let topic = self.controller.image().topic_by_name(topic).unwrap();
        topic.configs.clone().into_iter().collect()
    }
}

fn errors(response: &AdminResponse) -> Vec<ErrorCode> {
    match response {
        AdminResponse::CreateTopics(v) => v.iter().map(|t| t.error).collect(),
        AdminResponse::DeleteTopics(v) => v.iter().map(|t| t.error).collect(),
        AdminResponse::CreatePartitions(v) => v.iter().map(|t| t.error).collect(),
        AdminResponse::AlterConfigs(v) => v.iter().map(|t| t.error).collect(),
        other => panic!("{other:?}"),
    }
}

/// A topic's configs are ConfigRecords after its TopicRecord; the image keeps them, and
/// `unclean.leader.election.enable` also becomes the topic's election setting.
#[test]
fn create_topics_stores_configs_and_answers_per_topic() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..3).for_each(|b| {
        h.add_broker(b);
    });
    let request = create(
        vec![
            creatable(
                "a",
                3,
                2,
                &[
                    ("retention.ms", " 1000 "),
                    ("unclean.leader.election.enable", "true"),
                ],
            ),
            creatable("dup", 1, 1, &[]),
            creatable("dup", 1, 1, &[]),
            creatable("b", 1, 1, &[("retention.ms", "soon")]),
            creatable("c", 1, 1, &[("no.such", "1")]),
            creatable("d", 0, 1, &[]),
            creatable("e", 1, 4, &[]),
            creatable("bad name", 1, 1, &[]),
            creatable("f", 2, 3, &[]),
        ],
        false,
    );
    let result = h.controller.admin(&mut h.rng, &request);
    assert!(matches!(
        result.records[0],
        MetadataRecord::Topic {
            unclean_leader_election_enable: Some(true),
            ..
        }
    ));
    assert!(
        matches!(&result.records[1], MetadataRecord::Config { name, value: Some(v), .. } if name == "retention.ms" && v == "1000")
    );
    let response = h.commit(result);
    use ErrorCode::*;
    assert_eq!(
        errors(&response),
        [
            None,
            InvalidRequest,
            InvalidRequest,
            InvalidConfig,
            InvalidConfig,
            InvalidPartitions,
            InvalidReplicationFactor,
            InvalidTopicException,
            None
        ]
    );
    let AdminResponse::CreateTopics(results) = &response else {
        unreachable!()
    };
    assert_eq!(
        (results[8].num_partitions, results[8].replication_factor),
        (2, 3)
    );
    assert!(results[3]
        .message
        .as_deref()
        .unwrap()
        .contains("retention.ms"));
    assert_eq!(
        h.controller.image().topic_id("dup"),
        Option::None,
        "a duplicate creates nothing"
    );
    let expected = [
        ("retention.ms", "1000"),
        ("unclean.leader.election.enable", "true"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(h.configs("a"), expected);
    let again = h.admin(create(vec![creatable("a", 1, 1, &[])], false));
    assert_eq!(errors(&again), [TopicAlreadyExists]);
}

/// validate_only decides exactly as a real request and changes nothing.
#[test]
fn validate_only_changes_nothing() {
    let mut h = Harness::new(ControllerConfig::default());
    h.add_broker(0);
    let before = h.controller.working_image().clone();
    let result = h.controller.admin(
        &mut h.rng,
        &create(
            vec![creatable("v", 2, 1, &[]), creatable("w", 1, 2, &[])],
            true,
        ),
    );
    assert!(result.records.is_empty());
    assert_eq!(
        errors(&result.response),
        [ErrorCode::None, ErrorCode::InvalidReplicationFactor]
    );
    let AdminResponse::CreateTopics(results) = &result.response else {
        unreachable!()
    };
    assert_eq!(
        (results[0].topic_id, results[0].num_partitions),
        (Uuid::ZERO, 2)
    );
    assert_eq!(h.controller.working_image(), &before);
}

/// Manual assignments: consecutive partitions of registered, distinct brokers.
#[test]
fn manual_assignments_are_checked() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..3).for_each(|b| {
        h.add_broker(b);
    });
    let assigned = |lists: Vec<(i32, Vec<BrokerId>)>, partitions: i32| CreatableTopic {
        assignments: lists,
        ..creatable("m", partitions, -1, &[])
    };
    let bad = [
        assigned(vec![(0, vec![0, 1]), (2, vec![1, 2])], -1),
        assigned(vec![(0, vec![0, 0])], -1),
        assigned(vec![(0, vec![7])], -1),
        assigned(vec![(0, vec![0, 1]), (1, vec![2])], -1),
    ];
    for topic in bad {
        let response = h.admin(create(vec![topic.clone()], false));
        assert_eq!(
            errors(&response),
            [ErrorCode::InvalidReplicaAssignment],
            "{topic:?}"
        );
    }
    let both = h.admin(create(vec![assigned(vec![(0, vec![0])], 1)], false));
    assert_eq!(errors(&both), [ErrorCode::InvalidRequest]);
    let good = h.admin(create(
        vec![assigned(vec![(1, vec![2, 0]), (0, vec![1, 2])], -1)],
        false,
    ));
    assert_eq!(errors(&good), [ErrorCode::None]);
    let id = h.controller.image().topic_id("m").unwrap();
    assert_eq!(h.partition(id, 0).replicas, [1, 2]);
    assert_eq!(
        (
            h.partition(id, 1).replicas.clone(),
            h.partition(id, 1).leader
        ),
        (vec![2, 0], 2)
    );
}

#[test]
fn create_partitions_grows_topics_only() {
    let mut h = Harness::new(ControllerConfig::default());
    (0..2).for_each(|b| {
        h.add_broker(b);
    });
    h.admin(create(vec![creatable("g", 2, 2, &[])], false));
    let grow = |topic: &str, count: i32, assignments: Option<Vec<Vec<BrokerId>>>| NewPartitions {
        topic: topic.to_string(),
        count,
        assignments,
    };
    let response = h.admin(AdminRequest::CreatePartitions(CreatePartitionsRequest {
        topics: vec![
            grow("g", 2, Option::None),
            grow("nope", 3, Option::None),
            grow("g", 4, Some(vec![vec![0, 1]])),
        ],
        validate_only: false,
    }));
    use ErrorCode::*;
    assert_eq!(
        errors(&response),
        [InvalidRequest, UnknownTopicOrPartition, InvalidRequest]
    );
    let response = h.admin(AdminRequest::CreatePartitions(CreatePartitionsRequest {
        topics: vec![grow("g", 1, Option::None)],
        validate_only: false,
    }));
    assert_eq!(errors(&response), [InvalidPartitions]);
    let response = h.admin(AdminRequest::CreatePartitions(CreatePartitionsRequest {
        topics: vec![grow("g", 4, Some(vec![vec![0, 1]]))],
        validate_only: false,
    }));
    assert_eq!(errors(&response), [InvalidReplicaAssignment]);
    let response = h.admin(AdminRequest::CreatePartitions(CreatePartitionsRequest {
        topics: vec![grow("g", 4, Option::None)],
        validate_only: false,
    }));
    assert_eq!(errors(&response), [None]);
    let id = h.controller.image().topic_id("g").unwrap();
    assert_eq!(h.controller.image().topic(id).unwrap().partitions.len(), 4);
    assert_eq!(
        h.partition(id, 3).replicas.len(),
        2,
        "the topic's replication factor"
    );
}

/// AlterConfigs replaces the whole set; IncrementalAlterConfigs changes the names it gives;
/// anything invalid refuses the resource and changes nothing.
#[test]
fn configs_are_altered_as_kafka_alters_them() {
    let mut h = Harness::new(ControllerConfig::default());
    h.add_broker(0);
    h.admin(create(
        vec![creatable(
            "t",
            1,
            1,
            &[("retention.ms", "1000"), ("segment.ms", "5000")],
        )],
        false,
    ));
    let set = AlterConfigOp::Set;
    assert_eq!(
        errors(&h.admin(alter("t", false, &[("retention.ms", set, Some("2000"))]))),
        [ErrorCode::None]
    );
    assert_eq!(
        h.configs("t"),
        [("retention.ms".to_string(), "2000".to_string())]
    );
    let ops = [
        ("cleanup.policy", AlterConfigOp::Append, Some("compact")),
        ("unclean.leader.election.enable", set, Some("true")),
        ("retention.ms", AlterConfigOp::Delete, Option::None),
    ];
    assert_eq!(errors(&h.admin(alter("t", true, &ops))), [ErrorCode::None]);
    let expected = [
        ("cleanup.policy", "delete,compact"),
        ("unclean.leader.election.enable", "true"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(h.configs("t"), expected);
    let id = h.controller.image().topic_id("t").unwrap();
    assert_eq!(
        h.controller
            .image()
            .topic(id)
            .unwrap()
            .unclean_leader_election_enable,
        Some(true)
    );
    let subtract = [("cleanup.policy", AlterConfigOp::Subtract, Some("delete"))];
    h.admin(alter("t", true, &subtract));
    assert_eq!(h.configs("t")[0].1, "compact");
    for (incremental, ops) in [
        (true, vec![("min.insync.replicas", set, Some("0"))]),
        (
            true,
            vec![("retention.ms", AlterConfigOp::Append, Some("1"))],
        ),
        (true, vec![("bogus", set, Some("1"))]),
        (
            false,
            vec![
                ("min.compaction.lag.ms", set, Some("9")),
                ("max.compaction.lag.ms", set, Some("5")),
            ],
        ),
    ] {
        let response = h.admin(alter("t", incremental, &ops));
        assert_eq!(errors(&response), [ErrorCode::InvalidConfig], "{ops:?}");
    }
    let twice = [
        ("retention.ms", set, Some("1")),
        ("retention.ms", set, Some("2")),
    ];
    assert_eq!(
        errors(&h.admin(alter("t", true, &twice))),
        [ErrorCode::InvalidRequest]
    );
    assert_eq!(
        errors(&h.admin(alter("missing", true, &[]))),
        [ErrorCode::UnknownTopicOrPartition]
    );
    assert_eq!(h.configs("t")[0].1, "compact", "refusals changed nothing");
}

/// A deleted topic takes its configs with it; a topic created again under its name starts
/// from the defaults.
#[test]
fn deleting_a_topic_drops_its_configs() {
    let mut h = Harness::new(ControllerConfig::default());
    h.add_broker(0);
    h.admin(create(
        vec![creatable("d", 1, 1, &[("retention.ms", "1")])],
        false,
    ));
    let names = vec!["d".to_string(), "nope".to_string()];
    let response = h.admin(AdminRequest::DeleteTopics(DeleteTopicsRequest { names }));
    assert_eq!(
        errors(&response),
        [ErrorCode::None, ErrorCode::UnknownTopicOrPartition]
    );
    h.admin(create(vec![creatable("d", 1, 1, &[])], false));
    assert!(h.configs("d").is_empty());
}

/// A topic's own min.insync.replicas governs its eligible leader replicas (KIP-966), over the
/// cluster's.
#[test]
fn a_topics_min_insync_replicas_governs_its_elr() {
    let (mut h, _epochs, topic) = super::partitions::setup(ControllerConfig::default());
    let set = [("min.insync.replicas", AlterConfigOp::Set, Some("2"))];
    assert_eq!(errors(&h.admin(alter("t", true, &set))), [ErrorCode::None]);
    let state = h.partition(topic, 0);
    let followers: Vec<BrokerId> = state
        .replicas
        .iter()
        .copied()
        .filter(|b| *b != state.leader)
        .collect();
    super::partitions::expire(&mut h, followers[0]);
    super::partitions::expire(&mut h, followers[1]);
    let state = h.partition(topic, 0);
    assert_eq!(
        (state.isr.clone(), state.elr.clone()),
        (vec![state.leader], vec![followers[1]]),
        "with the cluster's min.insync.replicas of 1 nobody would be eligible"
    );
}
