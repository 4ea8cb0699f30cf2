//! The consumer-group APIs reach a running broker and come back: a client sees them
//! advertised, and FindCoordinator, JoinGroup, OffsetCommit and OffsetFetch at the newest
//! versions Sluice serves get answers of their own kind on the same connection, whatever the
//! group coordinator decides (until it exists, COORDINATOR_NOT_AVAILABLE). A coordinator named
//! in a FindCoordinator answer is reachable at the address the answer gives.

mod support;

use bytes::Bytes;
use sluice::client::Connection;
use sluice::transport::TokioConnector;
use sluice_net::kafka_protocol::messages::{
    join_group_request, offset_commit_request, offset_fetch_request, ApiKey,
    FindCoordinatorRequest, GroupId, JoinGroupRequest, OffsetCommitRequest, OffsetFetchRequest,
    TopicName,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;

use support::start_node;

fn text(value: &'static str) -> StrBytes {
    StrBytes::from_static_str(value)
}

#[test]
fn group_requests_are_served_on_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_node(dir.path(), "");
    let (host, port) = address.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut connection = Connection::open(&TokioConnector, host, port, "group-test")
            .await
            .unwrap();
        for (api_key, newest) in [
            (ApiKey::FindCoordinator, 4),
            (ApiKey::JoinGroup, 7),
            (ApiKey::SyncGroup, 5),
            (ApiKey::Heartbeat, 4),
            (ApiKey::LeaveGroup, 5),
            (ApiKey::OffsetCommit, 8),
            (ApiKey::OffsetFetch, 8),
            (ApiKey::DescribeGroups, 5),
            (ApiKey::ListGroups, 4),
            (ApiKey::DeleteGroups, 2),
            (ApiKey::OffsetDelete, 0),
        ] {
            assert_eq!(
                connection.version(api_key).ok(),
                Some(newest),
                "{api_key:?}"
            );
        }

        let find = FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![text("billing"), text("audit")]);
        let answer = connection.call(&RequestBody::FindCoordinator(find)).await;
        let Ok(ResponseBody::FindCoordinator(found)) = answer else {
            panic!("{answer:?}")
        };
        let keys: Vec<&str> = found.coordinators.iter().map(|c| &*c.key).collect();
        assert_eq!(keys, ["billing", "audit"]);
        for coordinator in &found.coordinators {
            if coordinator.error_code == 0 {
                let at = format!("{}:{}", coordinator.host, coordinator.port);
                assert_eq!(at, address, "{coordinator:?}");
            } else {
                assert_eq!((coordinator.node_id.0, coordinator.port), (-1, -1));
            }
        }

        let protocol = join_group_request::JoinGroupRequestProtocol::default()
            .with_name(text("range"))
            .with_metadata(Bytes::from_static(&[0, 1, 0, 0, 0, 0]));
        let join = JoinGroupRequest::default()
            .with_group_id(GroupId(text("billing")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(text("consumer"))
            .with_protocols(vec![protocol]);
        let answer = connection.call(&RequestBody::JoinGroup(join)).await;
        assert!(
            matches!(answer, Ok(ResponseBody::JoinGroup(_))),
            "{answer:?}"
        );

        let partition = offset_commit_request::OffsetCommitRequestPartition::default()
            .with_partition_index(0)
            .with_committed_offset(5);
        let commit = OffsetCommitRequest::default()
            .with_group_id(GroupId(text("billing")))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(text("orders")))
                    .with_partitions(vec![partition]),
            ]);
        let answer = connection.call(&RequestBody::OffsetCommit(commit)).await;
        let Ok(ResponseBody::OffsetCommit(committed)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(committed.topics[0].partitions[0].partition_index, 0);

        let group = offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(text("billing")))
            .with_topics(None);
        let fetch = OffsetFetchRequest::default().with_groups(vec![group]);
        let answer = connection.call(&RequestBody::OffsetFetch(fetch)).await;
        let Ok(ResponseBody::OffsetFetch(fetched)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(&*fetched.groups[0].group_id, "billing");
    });
    server.kill().unwrap();
    server.wait().unwrap();
}
