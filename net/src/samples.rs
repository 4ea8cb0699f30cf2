//! Test-only sample requests: for every served API and version, a request with every field of
//! that version set to something other than its default, and every array (nested ones too)
//! holding two elements. Encoding one with kafka-protocol and decoding it back exercises every
//! field the length pre-check walks.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    alter_configs_request, create_partitions_request, create_topics_request,
    delete_records_request, delete_topics_request, describe_configs_request, fetch_request,
    incremental_alter_configs_request, join_group_request, leave_group_request,
    list_offsets_request, metadata_request, offset_commit_request, offset_delete_request,
    offset_fetch_request, offset_for_leader_epoch_request, produce_request, sync_group_request,
    AlterConfigsRequest, ApiKey, ApiVersionsRequest, BrokerId, CreatePartitionsRequest,
    CreateTopicsRequest, DeleteGroupsRequest, DeleteRecordsRequest, DeleteTopicsRequest,
    DescribeClusterRequest, DescribeConfigsRequest, DescribeGroupsRequest, FetchRequest,
    FindCoordinatorRequest, GroupId, HeartbeatRequest, IncrementalAlterConfigsRequest,
    InitProducerIdRequest, JoinGroupRequest, LeaveGroupRequest, ListGroupsRequest,
    ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetDeleteRequest,
    OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest, ProducerId,
    RequestHeader as CodecRequestHeader, SyncGroupRequest, TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

use crate::request::RequestBody;

fn text(value: &'static str) -> StrBytes {
    StrBytes::from_static_str(value)
}

fn topic(value: &'static str) -> TopicName {
    TopicName(text(value))
}

/// Two of something, built from an index.
fn two<T>(build: impl Fn(i32) -> T) -> Vec<T> {
    vec![build(1), build(2)]
}

/// A populated request of `api_key` at `version`.
pub(crate) fn sample_request(api_key: ApiKey, version: i16) -> RequestBody {
    match api_key {
        ApiKey::Produce => RequestBody::Produce(produce()),
        ApiKey::Fetch => RequestBody::Fetch(fetch(version)),
        ApiKey::ListOffsets => RequestBody::ListOffsets(list_offsets(version)),
        ApiKey::Metadata => RequestBody::Metadata(metadata(version)),
        ApiKey::ApiVersions => RequestBody::ApiVersions(api_versions(version)),
        ApiKey::CreateTopics => RequestBody::CreateTopics(create_topics()),
        ApiKey::DeleteTopics => RequestBody::DeleteTopics(delete_topics(version)),
        ApiKey::DeleteRecords => RequestBody::DeleteRecords(delete_records()),
        ApiKey::InitProducerId => RequestBody::InitProducerId(init_producer_id(version)),
        ApiKey::OffsetForLeaderEpoch => {
            RequestBody::OffsetForLeaderEpoch(offset_for_leader_epoch(version))
        }
        ApiKey::DescribeConfigs => RequestBody::DescribeConfigs(describe_configs(version)),
        ApiKey::AlterConfigs => RequestBody::AlterConfigs(alter_configs()),
        ApiKey::CreatePartitions => RequestBody::CreatePartitions(create_partitions()),
        ApiKey::IncrementalAlterConfigs => {
            RequestBody::IncrementalAlterConfigs(incremental_alter_configs())
        }
        ApiKey::DescribeCluster => RequestBody::DescribeCluster(describe_cluster(version)),
        ApiKey::OffsetCommit => RequestBody::OffsetCommit(offset_commit(version)),
        ApiKey::OffsetFetch => RequestBody::OffsetFetch(offset_fetch(version)),
        ApiKey::FindCoordinator => RequestBody::FindCoordinator(find_coordinator(version)),
        ApiKey::JoinGroup => RequestBody::JoinGroup(join_group(version)),
        ApiKey::Heartbeat => RequestBody::Heartbeat(heartbeat(version)),
        ApiKey::LeaveGroup => RequestBody::LeaveGroup(leave_group(version)),
        ApiKey::SyncGroup => RequestBody::SyncGroup(sync_group(version)),
        ApiKey::DescribeGroups => RequestBody::DescribeGroups(describe_groups(version)),
        ApiKey::ListGroups => RequestBody::ListGroups(list_groups(version)),
        ApiKey::DeleteGroups => RequestBody::DeleteGroups(delete_groups()),
        ApiKey::OffsetDelete => RequestBody::OffsetDelete(offset_delete()),
        other => panic!("no sample for {other:?}"),
    }
}

fn api_versions(version: i16) -> ApiVersionsRequest {
    let request = ApiVersionsRequest::default();
    if version < 3 {
        return request;
    }
    request
        .with_client_software_name(text("sluice-test"))
        .with_client_software_version(text("0.1.0"))
}

fn metadata(version: i16) -> MetadataRequest {
    let topics = two(|index| {
        // Topic ids stay nil: Sluice does not serve topic ids yet, and a UUID is 16 bytes to the
        // length pre-check whatever its value.
        metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(index)))
    });
    let mut request = MetadataRequest::default().with_topics(Some(topics));
    if version >= 4 {
        request.allow_auto_topic_creation = false;
    }
    if (8..=10).contains(&version) {
        request.include_cluster_authorized_operations = true;
    }
    if version >= 8 {
        request.include_topic_authorized_operations = true;
    }
    request
}

fn topic_name(index: i32) -> TopicName {
    if index == 1 {
        topic("orders")
    } else {
        topic("payments")
    }
}

fn produce() -> ProduceRequest {
    let topics = two(|index| {
        produce_request::TopicProduceData::default()
            .with_name(topic_name(index))
            .with_partition_data(two(|partition| {
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(Bytes::from(vec![partition as u8; 70])))
            }))
    });
    ProduceRequest::default()
        .with_transactional_id(Some(TransactionalId(text("txn"))))
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(topics)
}

fn fetch(version: i16) -> FetchRequest {
    let topics = two(|index| {
        fetch_request::FetchTopic::default()
            .with_topic(topic_name(index))
            .with_partitions(two(|partition| {
                let mut entry = fetch_request::FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(1000 + i64::from(partition))
                    .with_partition_max_bytes(1 << 20);
                if version >= 9 {
                    entry.current_leader_epoch = 7;
                }
                if version >= 12 {
                    entry.last_fetched_epoch = 6;
                }
                if version >= 5 {
                    entry.log_start_offset = 10;
                }
                entry
            }))
    });
    let mut request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_isolation_level(1)
        .with_topics(topics);
    if version >= 7 {
        request.session_id = 12;
        request.session_epoch = 3;
        request.forgotten_topics_data = two(|index| {
            fetch_request::ForgottenTopic::default()
                .with_topic(topic_name(index))
                .with_partitions(vec![0, 1, 2])
        });
    }
    if version >= 11 {
        request.rack_id = text("rack-a");
    }
    if version >= 12 {
        request.cluster_id = Some(text("cluster-1"));
    }
    request
}

fn list_offsets(version: i16) -> ListOffsetsRequest {
    let topics = two(|index| {
        list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(index))
            .with_partitions(two(|partition| {
                let entry = list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(-2);
                if version >= 4 {
                    entry.with_current_leader_epoch(4)
                } else {
                    entry
                }
            }))
    });
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(topics);
    if version >= 2 {
        request.with_isolation_level(1)
    } else {
        request
    }
}

fn create_topics() -> CreateTopicsRequest {
    let topics = two(|index| {
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name(index))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(two(|partition| {
                create_topics_request::CreatableReplicaAssignment::default()
                    .with_partition_index(partition)
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
            }))
            .with_configs(two(|config| {
                create_topics_request::CreatableTopicConfig::default()
                    .with_name(text("cleanup.policy"))
                    .with_value((config == 1).then(|| text("compact")))
            }))
    });
    CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(60_000)
        .with_validate_only(true)
}

fn delete_topics(version: i16) -> DeleteTopicsRequest {
    let request = DeleteTopicsRequest::default().with_timeout_ms(30_000);
    if version >= 6 {
        request.with_topics(two(|index| {
            delete_topics_request::DeleteTopicState::default().with_name(Some(topic_name(index)))
        }))
    } else {
        request.with_topic_names(two(topic_name))
    }
}

fn delete_records() -> DeleteRecordsRequest {
    let topics = two(|index| {
        delete_records_request::DeleteRecordsTopic::default()
            .with_name(topic_name(index))
            .with_partitions(two(|partition| {
                delete_records_request::DeleteRecordsPartition::default()
                    .with_partition_index(partition)
                    .with_offset(99)
            }))
    });
    DeleteRecordsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000)
}

fn init_producer_id(version: i16) -> InitProducerIdRequest {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(text("txn-1"))))
        .with_transaction_timeout_ms(60_000);
    if version >= 3 {
        request
            .with_producer_id(ProducerId(4000))
            .with_producer_epoch(2)
    } else {
        request
    }
}

fn offset_for_leader_epoch(version: i16) -> OffsetForLeaderEpochRequest {
    let topics = two(|index| {
        offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
            .with_topic(topic_name(index))
            .with_partitions(two(|partition| {
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(partition)
                    .with_current_leader_epoch(5)
                    .with_leader_epoch(4)
            }))
    });
    let request = OffsetForLeaderEpochRequest::default().with_topics(topics);
    if version >= 3 {
        request.with_replica_id(BrokerId(-1))
    } else {
        request
    }
}

fn describe_configs(version: i16) -> DescribeConfigsRequest {
    let resources = two(|index| {
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(text(if index == 1 { "orders" } else { "payments" }))
            .with_configuration_keys(Some(vec![text("retention.ms"), text("segment.bytes")]))
    });
    let request = DescribeConfigsRequest::default()
        .with_resources(resources)
        .with_include_synonyms(true);
    if version >= 3 {
        request.with_include_documentation(true)
    } else {
        request
    }
}

fn alter_configs() -> AlterConfigsRequest {
    let resources = two(|_| {
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(text("orders"))
            .with_configs(two(|config| {
                alter_configs_request::AlterableConfig::default()
                    .with_name(text("retention.ms"))
                    .with_value((config == 1).then(|| text("1000")))
            }))
    });
    AlterConfigsRequest::default()
        .with_resources(resources)
        .with_validate_only(true)
}

fn create_partitions() -> CreatePartitionsRequest {
    let topics = two(|index| {
        create_partitions_request::CreatePartitionsTopic::default()
            .with_name(topic_name(index))
            .with_count(6)
            .with_assignments(Some(two(|_| {
                create_partitions_request::CreatePartitionsAssignment::default()
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2)])
            })))
    });
    CreatePartitionsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000)
        .with_validate_only(true)
}

fn incremental_alter_configs() -> IncrementalAlterConfigsRequest {
    let resources = two(|_| {
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(text("orders"))
            .with_configs(two(|config| {
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(text("retention.ms"))
                    .with_config_operation(config as i8)
                    .with_value((config == 1).then(|| text("1000")))
            }))
    });
    IncrementalAlterConfigsRequest::default()
        .with_resources(resources)
        .with_validate_only(true)
}

fn describe_cluster(version: i16) -> DescribeClusterRequest {
    let request =
        DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
    if version >= 1 {
        request.with_endpoint_type(2)
    } else {
        request
    }
}

fn group(value: &'static str) -> GroupId {
    GroupId(text(value))
}

fn group_name(index: i32) -> GroupId {
    if index == 1 {
        group("billing")
    } else {
        group("audit")
    }
}

fn offset_commit(version: i16) -> OffsetCommitRequest {
    let topics = two(|index| {
        offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(topic_name(index))
            .with_partitions(two(|partition| {
                let entry = offset_commit_request::OffsetCommitRequestPartition::default()
                    .with_partition_index(partition)
                    .with_committed_offset(500 + i64::from(partition))
                    .with_committed_metadata(Some(text("checkpoint")));
                if version >= 6 {
                    entry.with_committed_leader_epoch(3)
                } else {
                    entry
                }
            }))
    });
    let mut request = OffsetCommitRequest::default()
        .with_group_id(group("billing"))
        .with_generation_id_or_member_epoch(4)
        .with_member_id(text("member-1"))
        .with_topics(topics);
    if version <= 4 {
        request.retention_time_ms = 86_400_000;
    }
    if version >= 7 {
        request.group_instance_id = Some(text("instance-1"));
    }
    request
}

fn offset_fetch_topics() -> Vec<offset_fetch_request::OffsetFetchRequestTopics> {
    two(|index| {
        offset_fetch_request::OffsetFetchRequestTopics::default()
            .with_name(topic_name(index))
            .with_partition_indexes(vec![0, 1])
    })
}

fn offset_fetch(version: i16) -> OffsetFetchRequest {
    let request = if version >= 8 {
        OffsetFetchRequest::default().with_groups(two(|index| {
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(group_name(index))
                .with_topics(Some(offset_fetch_topics()))
        }))
    } else {
        let topics = two(|index| {
            offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(topic_name(index))
                .with_partition_indexes(vec![0, 1])
        });
        OffsetFetchRequest::default()
            .with_group_id(group("billing"))
            .with_topics(Some(topics))
    };
    if version >= 7 {
        request.with_require_stable(true)
    } else {
        request
    }
}

fn find_coordinator(version: i16) -> FindCoordinatorRequest {
    let request = if version >= 4 {
        FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![text("billing"), text("audit")])
    } else {
        FindCoordinatorRequest::default().with_key(text("billing"))
    };
    // A transactional id is the value that differs from the default (a group).
    if version >= 1 {
        request.with_key_type(1)
    } else {
        request
    }
}

fn join_group(version: i16) -> JoinGroupRequest {
    let protocols = two(|index| {
        join_group_request::JoinGroupRequestProtocol::default()
            .with_name(text(if index == 1 { "range" } else { "roundrobin" }))
            .with_metadata(Bytes::from(vec![index as u8; 12]))
    });
    let mut request = JoinGroupRequest::default()
        .with_group_id(group("billing"))
        .with_session_timeout_ms(45_000)
        .with_member_id(text("member-1"))
        .with_protocol_type(text("consumer"))
        .with_protocols(protocols);
    if version >= 1 {
        request.rebalance_timeout_ms = 300_000;
    }
    if version >= 5 {
        request.group_instance_id = Some(text("instance-1"));
    }
    request
}

fn heartbeat(version: i16) -> HeartbeatRequest {
    let request = HeartbeatRequest::default()
        .with_group_id(group("billing"))
        .with_generation_id(4)
        .with_member_id(text("member-1"));
    if version >= 3 {
        request.with_group_instance_id(Some(text("instance-1")))
    } else {
        request
    }
}

fn leave_group(version: i16) -> LeaveGroupRequest {
    let request = LeaveGroupRequest::default().with_group_id(group("billing"));
    if version < 3 {
        return request.with_member_id(text("member-1"));
    }
    request.with_members(two(|index| {
        let member = leave_group_request::MemberIdentity::default()
            .with_member_id(text(if index == 1 { "member-1" } else { "member-2" }))
            .with_group_instance_id(Some(text("instance-1")));
        if version >= 5 {
            member.with_reason(Some(text("shutting down")))
        } else {
            member
        }
    }))
}

fn sync_group(version: i16) -> SyncGroupRequest {
    let assignments = two(|index| {
        sync_group_request::SyncGroupRequestAssignment::default()
            .with_member_id(text(if index == 1 { "member-1" } else { "member-2" }))
            .with_assignment(Bytes::from(vec![index as u8; 20]))
    });
    let mut request = SyncGroupRequest::default()
        .with_group_id(group("billing"))
        .with_generation_id(4)
        .with_member_id(text("member-1"))
        .with_assignments(assignments);
    if version >= 3 {
        request.group_instance_id = Some(text("instance-1"));
    }
    if version >= 5 {
        request.protocol_type = Some(text("consumer"));
        request.protocol_name = Some(text("range"));
    }
    request
}

fn describe_groups(version: i16) -> DescribeGroupsRequest {
    let request = DescribeGroupsRequest::default().with_groups(two(group_name));
    if version >= 3 {
        request.with_include_authorized_operations(true)
    } else {
        request
    }
}

fn list_groups(version: i16) -> ListGroupsRequest {
    let request = ListGroupsRequest::default();
    if version >= 4 {
        request.with_states_filter(vec![text("Stable"), text("Empty")])
    } else {
        request
    }
}

fn delete_groups() -> DeleteGroupsRequest {
    DeleteGroupsRequest::default().with_groups_names(two(group_name))
}

fn offset_delete() -> OffsetDeleteRequest {
    let topics = two(|index| {
        offset_delete_request::OffsetDeleteRequestTopic::default()
            .with_name(topic_name(index))
            .with_partitions(two(|partition| {
                offset_delete_request::OffsetDeleteRequestPartition::default()
                    .with_partition_index(partition)
            }))
    });
    OffsetDeleteRequest::default()
        .with_group_id(group("billing"))
        .with_topics(topics)
}

/// A request frame (without size prefix) as a client would send it: header of the version the
/// key and version call for, then `body` at `version`.
pub(crate) fn request_frame(
    correlation_id: i32,
    client_id: Option<&'static str>,
    version: i16,
    body: &RequestBody,
) -> Bytes {
    let api_key = body.api_key();
    let header = CodecRequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(client_id.map(text));
    let mut buffer = BytesMut::new();
    header
        .encode(&mut buffer, api_key.request_header_version(version))
        .unwrap();
    body.encode(&mut buffer, version).unwrap();
    buffer.freeze()
}
