//! The admin APIs through whole nodes: forwarded to the controller and answered once
//! committed, described from the image, and taking effect on the replicas.

use super::*;
use crate::api::{
    resource_type, AdminRequest, AdminResponse, AlterConfigOp, AlterConfigsRequest,
    AlterConfigsResource, ConfigResource, ConfigSource, CreatableTopic, CreateTopicsRequest,
    DeleteRecordsRequest, DeleteTopicsRequest, DescribeConfigsRequest, ErrorCode,
};
use crate::controller::Uuid;
use crate::disk::Disk;
use crate::replica::Partition;

fn admin(harness: &mut Harness, index: usize, request: AdminRequest) -> AdminResponse {
    match harness.call(index, Request::Admin(request)) {
        Response::Admin(response) => response,
        other => panic!("not an admin answer: {other:?}"),
    }
}

fn create_orders(harness: &mut Harness, index: usize, configs: &[(&str, &str)]) -> AdminResponse {
    let topic = CreatableTopic {
        name: TOPIC.to_string(),
        num_partitions: 1,
        replication_factor: -1,
        assignments: Vec::new(),
        configs: configs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect(),
    };
    let request = CreateTopicsRequest {
        topics: vec![topic],
        validate_only: false,
    };
    admin(harness, index, AdminRequest::CreateTopics(request))
}

fn topic_resource() -> ConfigResource {
    ConfigResource {
        resource_type: resource_type::TOPIC,
        name: TOPIC.to_string(),
    }
}

fn delete_records(
    harness: &mut Harness,
    index: usize,
    offsets: &[(i32, i64)],
) -> Vec<(i64, ErrorCode)> {
    let partitions = offsets
        .iter()
        .map(|(p, o)| {
            (
                TopicPartition {
                    topic: TOPIC.to_string(),
                    partition: *p,
                },
                *o,
            )
        })
        .collect();
    match admin(
        harness,
        index,
        AdminRequest::DeleteRecords(DeleteRecordsRequest { partitions }),
    ) {
        AdminResponse::DeleteRecords(results) => {
            results.iter().map(|r| (r.low_watermark, r.error)).collect()
        }
        other => panic!("{other:?}"),
    }
}

/// One node: a topic created with configs answers them (with the broker's defaults for the
/// rest), describes them with their sources, puts them in force on its replica, follows
/// alterations, deletes records up to the high watermark, and goes away with its files.
#[test]
fn a_single_node_serves_the_admin_apis() {
    let mut configs = combined_configs(1, 1);
    configs[0].replica.log.segment_bytes = 4 << 20;
    let mut harness = Harness::new(configs, 3);
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));

    let AdminResponse::CreateTopics(created) =
        create_orders(&mut harness, 0, &[("retention.ms", "1000")])
    else {
        panic!()
    };
    assert_eq!(created[0].error, ErrorCode::None, "{created:?}");
    assert_eq!(
        (created[0].num_partitions, created[0].replication_factor),
        (1, 1)
    );
    let source = |name: &str| {
        created[0]
            .configs
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.source)
    };
    assert_eq!(source("retention.ms"), Some(ConfigSource::DynamicTopic));
    assert_eq!(source("segment.bytes"), Some(ConfigSource::StaticBroker));
    assert_eq!(source("cleanup.policy"), Some(ConfigSource::Default));
    let topic_id: Uuid = harness.node(0).image().topic_id(TOPIC).unwrap();
    harness.run_until(Duration::from_secs(10), "led", |h| {
        h.node(0)
            .replica_manager()
            .partition((topic_id, 0))
            .is_some_and(|p| p.leader().is_some())
    });
    let log_config = |h: &Harness| {
        h.node(0)
            .replica_manager()
            .partition((topic_id, 0))
            .unwrap()
            .log
            .config()
            .clone()
    };
    assert_eq!(log_config(&harness).retention_ms, 1000);

    let alter = AdminRequest::AlterConfigs(AlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource: topic_resource(),
            ops: vec![
                (
                    "retention.bytes".to_string(),
                    AlterConfigOp::Set,
                    Some("5000".to_string()),
                ),
                ("retention.ms".to_string(), AlterConfigOp::Delete, None),
            ],
        }],
        validate_only: false,
        incremental: true,
    });
    let AdminResponse::AlterConfigs(altered) = admin(&mut harness, 0, alter) else {
        panic!()
    };
    assert_eq!(altered[0].error, ErrorCode::None);
    let config = log_config(&harness);
    assert_eq!(
        (config.retention_bytes, config.retention_ms),
        (5000, 7 * 24 * 3600 * 1000)
    );

    let describe = AdminRequest::DescribeConfigs(DescribeConfigsRequest {
        resources: vec![
            (topic_resource(), Some(vec!["retention.bytes".to_string()])),
            (
                ConfigResource {
                    resource_type: resource_type::TOPIC,
                    name: "nope".to_string(),
                },
                None,
            ),
            (
                ConfigResource {
                    resource_type: resource_type::BROKER,
                    name: "1".to_string(),
                },
                None,
            ),
            (
                ConfigResource {
                    resource_type: resource_type::BROKER,
                    name: "2".to_string(),
                },
                None,
            ),
        ],
        include_synonyms: true,
        include_documentation: false,
    });
    let AdminResponse::DescribeConfigs(described) = admin(&mut harness, 0, describe) else {
        panic!()
    };
    let errors: Vec<ErrorCode> = described.iter().map(|r| r.error).collect();
    use ErrorCode as E;
    assert_eq!(
        errors,
        [
            E::None,
            E::UnknownTopicOrPartition,
            E::None,
            E::InvalidRequest
        ]
    );
    let retention = &described[0].configs;
    assert_eq!(retention.len(), 1);
    assert_eq!(retention[0].value.as_deref(), Some("5000"));
    assert_eq!(retention[0].synonyms[0].source, ConfigSource::DynamicTopic);
    assert!(described[2]
        .configs
        .iter()
        .any(|c| c.name == "log.segment.bytes" && c.read_only));

    for value in ["a", "b", "c"] {
        let mut request = produce(value);
        if let Request::Produce(p) = &mut request {
            p.acks = 1;
        }
        produced_offset(&harness.call(0, request));
    }
    assert_eq!(
        delete_records(&mut harness, 0, &[(0, 2), (0, 9), (5, 0)]),
        [
            (2, E::None),
            (-1, E::OffsetOutOfRange),
            (-1, E::UnknownTopicOrPartition)
        ]
    );
    assert_eq!(delete_records(&mut harness, 0, &[(0, -1)]), [(3, E::None)]);
    let Response::ListOffsets(listed) = harness.call(0, fetch_start()) else {
        panic!()
    };
    assert_eq!(
        listed.partitions[0].offset, 3,
        "the earliest offset a client sees"
    );

    // max.message.bytes takes effect on the leader's next append.
    let limit = AdminRequest::AlterConfigs(AlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource: topic_resource(),
            ops: vec![(
                "max.message.bytes".to_string(),
                AlterConfigOp::Set,
                Some("100".to_string()),
            )],
        }],
        validate_only: false,
        incremental: true,
    });
    admin(&mut harness, 0, limit);
    let Response::Produce(refused) = harness.call(0, produce(&"x".repeat(200))) else {
        panic!()
    };
    assert_eq!(refused.partitions[0].error, E::MessageTooLarge);

    let dir = Partition::dir(&harness.configs[0].replica, TOPIC, 0);
    assert!(!harness.disks[0].list(&dir).unwrap().is_empty());
    let delete = AdminRequest::DeleteTopics(DeleteTopicsRequest {
        names: vec![TOPIC.to_string(), "nope".to_string()],
    });
    let AdminResponse::DeleteTopics(deleted) = admin(&mut harness, 0, delete) else {
        panic!()
    };
    assert_eq!((deleted[0].error, deleted[0].topic_id), (E::None, topic_id));
    assert_eq!(deleted[1].error, E::UnknownTopicOrPartition);
    assert!(harness
        .node(0)
        .replica_manager()
        .partition((topic_id, 0))
        .is_none());
    assert!(
        harness.disks[0].list(&dir).unwrap_or_default().is_empty(),
        "the log's files are gone"
    );

    let cluster = admin(
        &mut harness,
        0,
        AdminRequest::DescribeCluster { endpoint_type: 2 },
    );
    assert_eq!(
        cluster,
        AdminResponse::DescribeCluster {
            error: E::UnsupportedEndpointType
        }
    );
}

/// A ListOffsets for the earliest offset, to check the log start a client sees.
fn fetch_start() -> Request {
    Request::ListOffsets(crate::api::ListOffsetsRequest {
        replica_id: CONSUMER_REPLICA_ID,
        isolation_level: IsolationLevel::ReadUncommitted,
        partitions: vec![crate::api::ListOffsetsPartition {
            partition: tp(),
            current_leader_epoch: None,
            timestamp: crate::api::EARLIEST_TIMESTAMP,
        }],
    })
}

/// Three nodes: a forwarded CreateTopics is answered by any broker; records deleted on the
/// leader are deleted on the followers too, from the leader's fetch answers; a topic's
/// min.insync.replicas reaches every replica.
#[test]
fn followers_take_up_deletions_and_configs() {
    let mut harness = Harness::new(combined_configs(3, 3), 12);
    harness.run_until(Duration::from_secs(30), "all unfenced", |h| {
        (0..3).all(|i| h.unfenced(i))
    });
    let asker = (0..3)
        .find(|&i| !harness.node(i).is_active_controller())
        .unwrap();
    let AdminResponse::CreateTopics(created) =
        create_orders(&mut harness, asker, &[("min.insync.replicas", "2")])
    else {
        panic!()
    };
    assert_eq!(created[0].error, ErrorCode::None, "{created:?}");
    let leader = harness.await_leader(asker);
    assert_eq!(harness.await_leader(leader), leader);
    for value in ["a", "b", "c", "d"] {
        produced_offset(&harness.call(leader, produce(value)));
    }
    assert_eq!(
        delete_records(&mut harness, leader, &[(0, 3)]),
        [(3, ErrorCode::None)]
    );
    let topic_id = created[0].topic_id;
    harness.run_until(
        Duration::from_secs(10),
        "followers moved their log start",
        |h| {
            (0..3).all(|i| {
                let partition = h.node(i).replica_manager().partition((topic_id, 0));
                partition.is_some_and(|p| p.log.log_start_offset() == 3)
            })
        },
    );
    for index in 0..3 {
        let partition = harness
            .node(index)
            .replica_manager()
            .partition((topic_id, 0))
            .unwrap();
        assert_eq!(partition.min_insync_replicas, Some(2), "node {}", index + 1);
    }
}

/// A follower whose log ends below its leader's log start (it was down while the leader took
/// records and deleted them) starts over at that log start and catches up, as Kafka's
/// `truncateFullyAndStartAt`, instead of fetching OFFSET_OUT_OF_RANGE for ever.
#[test]
fn a_follower_behind_its_leaders_log_start_starts_over_there() {
    let mut configs = combined_configs(3, 3);
    for config in &mut configs {
        config.replica.replica_lag_time_max_ms = 2_000;
    }
    let mut harness = Harness::new(configs, 13);
    harness.run_until(Duration::from_secs(30), "all unfenced", |h| {
        (0..3).all(|i| h.unfenced(i))
    });
    let AdminResponse::CreateTopics(created) = create_orders(&mut harness, 0, &[]) else {
        panic!()
    };
    assert_eq!(created[0].error, ErrorCode::None, "{created:?}");
    let topic_id = created[0].topic_id;
    let leader = harness.await_leader(0);
    assert_eq!(harness.await_leader(leader), leader);
    produced_offset(&harness.call(leader, produce("a")));
    let behind = (0..3).find(|&i| i != leader).unwrap();
    harness.stop(behind);
    for value in ["b", "c", "d"] {
        produced_offset(&harness.call(leader, produce(value)));
    }
    assert_eq!(
        delete_records(&mut harness, leader, &[(0, 4)]),
        [(4, ErrorCode::None)]
    );
    assert_eq!(produced_offset(&harness.call(leader, produce("e"))), 4);
    harness.start(behind, true);
    harness.run_until(Duration::from_secs(30), "caught up", |h| {
        let partition = h.node(behind).replica_manager().partition((topic_id, 0));
        partition.is_some_and(|p| (p.log.log_start_offset(), p.log_end_offset()) == (4, 5))
    });
    let stats = harness.node(behind).replica_manager().stats();
    assert_eq!(stats.restarted_at_leader_start, 1);
}

/// A topic's retention.ms takes effect: the retention run deletes the segments it no longer
/// keeps, never the active one's records above the high watermark.
#[test]
fn retention_follows_the_topics_config() {
    let mut configs = combined_configs(1, 1);
    configs[0].replica.log.segment_bytes = 200;
    let mut harness = Harness::new(configs, 4);
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    create_orders(&mut harness, 0, &[("retention.ms", "60000")]);
    let topic_id: Uuid = harness.node(0).image().topic_id(TOPIC).unwrap();
    harness.await_leader(0);
    for value in ["a", "b", "c", "d", "e"] {
        produced_offset(&harness.call(0, produce(&value.repeat(100))));
    }
    let start = |h: &Harness| {
        let partition = h.node(0).replica_manager().partition((topic_id, 0));
        partition.unwrap().log.log_start_offset()
    };
    assert_eq!(start(&harness), 0);
    let limit = crate::replica::RETENTION_CHECK_INTERVAL + Duration::from_secs(60);
    harness.run_until(limit, "old segments deleted", |h| start(h) == 5);
}
