//! Malformed and out-of-order group requests over real TCP get Kafka's error codes and leave
//! the group's committed state intact. A member joins (KIP-394's two steps), syncs and commits;
//! then SyncGroup and Heartbeat from an unknown member get UNKNOWN_MEMBER_ID, an OffsetCommit
//! with the wrong generation gets ILLEGAL_GENERATION (and commits nothing), a JoinGroup with an
//! empty protocol list gets INCONSISTENT_GROUP_PROTOCOL (and starts no rebalance), and a group
//! request whose body is cut short closes its connection while the broker stays up. After each,
//! OffsetFetch returns the offsets committed before, and the member's heartbeat still succeeds.

mod support;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sluice::client::Connection;
use sluice::transport::TokioConnector;
use sluice_net::kafka_protocol::messages::{
    join_group_request, metadata_request, offset_commit_request, offset_fetch_request,
    sync_group_request, FindCoordinatorRequest, GroupId, HeartbeatRequest, JoinGroupRequest,
    MetadataRequest, OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest, TopicName,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::start_node;

const GROUP: &str = "guarded-group";
const TOPIC: &str = "ledger";
const UNKNOWN_MEMBER_ID: i16 = 25;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const MEMBER_ID_REQUIRED: i16 = 79;
/// How long one answer may take before the test fails instead of hanging.
const ANSWER_WAIT: Duration = Duration::from_secs(20);

type Link = Connection<TcpStream>;

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

async fn call(connection: &mut Link, body: RequestBody) -> ResponseBody {
    tokio::time::timeout(ANSWER_WAIT, connection.call(&body))
        .await
        .expect("the broker answers in time")
        .expect("the call succeeds")
}

fn join_request(member_id: &str, protocols: Vec<&'static str>) -> JoinGroupRequest {
    let protocols = protocols
        .into_iter()
        .map(|name| {
            join_group_request::JoinGroupRequestProtocol::default()
                .with_name(text(name))
                .with_metadata(Bytes::from_static(&[0, 1, 0, 0, 0, 0]))
        })
        .collect();
    JoinGroupRequest::default()
        .with_group_id(GroupId(text(GROUP)))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(text(member_id))
        .with_protocol_type(text("consumer"))
        .with_protocols(protocols)
}

async fn find_coordinator(connection: &mut Link) {
    for _ in 0..200 {
        let find = FindCoordinatorRequest::default().with_coordinator_keys(vec![text(GROUP)]);
        let ResponseBody::FindCoordinator(answer) =
            call(connection, RequestBody::FindCoordinator(find)).await
        else {
            panic!("not a FindCoordinator answer")
        };
        if answer.coordinators[0].error_code == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("FindCoordinator never named a coordinator");
}

/// Creates the topic (two partitions, `num.partitions`) through Metadata and waits until
/// it has a leader: an OffsetCommit names only existing partitions, as Kafka's must.
async fn create_topic(connection: &mut Link) {
    for _ in 0..200 {
        let topic = metadata_request::MetadataRequestTopic::default()
            .with_name(Some(TopicName(text(TOPIC))));
        let body = RequestBody::Metadata(
            MetadataRequest::default()
                .with_topics(Some(vec![topic]))
                .with_allow_auto_topic_creation(true),
        );
        let ResponseBody::Metadata(answer) = call(connection, body).await else {
            panic!("not a Metadata answer")
        };
        let partitions = &answer.topics[0].partitions;
        if partitions.len() == 2 && partitions.iter().all(|p| p.leader_id.0 >= 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{TOPIC} never got a leader");
}

/// JoinGroup's (error, generation, member id).
async fn join(
    connection: &mut Link,
    member_id: &str,
    protocols: Vec<&'static str>,
) -> (i16, i32, String) {
    let body = RequestBody::JoinGroup(join_request(member_id, protocols));
    let ResponseBody::JoinGroup(answer) = call(connection, body).await else {
        panic!("not a JoinGroup answer")
    };
    (
        answer.error_code,
        answer.generation_id,
        answer.member_id.to_string(),
    )
}

async fn sync(connection: &mut Link, generation: i32, member_id: &str) -> i16 {
    let assignment = sync_group_request::SyncGroupRequestAssignment::default()
        .with_member_id(text(member_id))
        .with_assignment(Bytes::from_static(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    let body = RequestBody::SyncGroup(
        SyncGroupRequest::default()
            .with_group_id(GroupId(text(GROUP)))
            .with_generation_id(generation)
            .with_member_id(text(member_id))
            .with_protocol_type(Some(text("consumer")))
            .with_protocol_name(Some(text("range")))
            .with_assignments(vec![assignment]),
    );
    let ResponseBody::SyncGroup(answer) = call(connection, body).await else {
        panic!("not a SyncGroup answer")
    };
    answer.error_code
}

async fn heartbeat(connection: &mut Link, generation: i32, member_id: &str) -> i16 {
    let body = RequestBody::Heartbeat(
        HeartbeatRequest::default()
            .with_group_id(GroupId(text(GROUP)))
            .with_generation_id(generation)
            .with_member_id(text(member_id)),
    );
    let ResponseBody::Heartbeat(answer) = call(connection, body).await else {
        panic!("not a Heartbeat answer")
    };
    answer.error_code
}

fn commit_request(generation: i32, member_id: &str, offsets: &[i64]) -> OffsetCommitRequest {
    let partitions = offsets
        .iter()
        .enumerate()
        .map(|(index, offset)| {
            offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(index as i32)
                .with_committed_offset(*offset)
        })
        .collect();
    OffsetCommitRequest::default()
        .with_group_id(GroupId(text(GROUP)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(text(member_id))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(text(TOPIC)))
                .with_partitions(partitions),
        ])
}

/// OffsetCommit's error code per partition.
async fn commit(
    connection: &mut Link,
    generation: i32,
    member_id: &str,
    offsets: &[i64],
) -> Vec<i16> {
    let body = RequestBody::OffsetCommit(commit_request(generation, member_id, offsets));
    let ResponseBody::OffsetCommit(answer) = call(connection, body).await else {
        panic!("not an OffsetCommit answer")
    };
    let partitions = &answer.topics[0].partitions;
    partitions
        .iter()
        .map(|partition| partition.error_code)
        .collect()
}

/// The group's committed offsets of the topic, by partition.
async fn committed(connection: &mut Link) -> Vec<(i32, i64)> {
    let group = offset_fetch_request::OffsetFetchRequestGroup::default()
        .with_group_id(GroupId(text(GROUP)))
        .with_topics(None);
    let body = RequestBody::OffsetFetch(OffsetFetchRequest::default().with_groups(vec![group]));
    let ResponseBody::OffsetFetch(answer) = call(connection, body).await else {
        panic!("not an OffsetFetch answer")
    };
    let group = &answer.groups[0];
    assert_eq!(group.error_code, 0);
    let mut offsets: Vec<(i32, i64)> = group
        .topics
        .iter()
        .filter(|topic| &*topic.name == TOPIC)
        .flat_map(|topic| &topic.partitions)
        .map(|partition| (partition.partition_index, partition.committed_offset))
        .collect();
    offsets.sort();
    offsets
}

/// A request frame of `body` at `version` (a flexible version, so header v2) with the last
/// `cut` bytes of its body left off.
fn truncated(body: &RequestBody, version: i16, cut: usize) -> Vec<u8> {
    let mut encoded = BytesMut::new();
    body.encode(&mut encoded, version).unwrap();
    assert!(encoded.len() > cut);
    let mut payload = Vec::new();
    payload.extend_from_slice(&(body.api_key() as i16).to_be_bytes());
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(&7i32.to_be_bytes());
    payload.extend_from_slice(&(-1i16).to_be_bytes());
    payload.push(0); // No tagged fields in the header.
    payload.extend_from_slice(&encoded[..encoded.len() - cut]);
    let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    frame
}

/// Writes `bytes` on a fresh connection and checks the broker closes it without answering.
async fn closes(address: &str, bytes: &[u8], what: &str) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(ANSWER_WAIT, stream.read(&mut buffer))
        .await
        .unwrap_or_else(|_| panic!("{what}: the connection stayed open"));
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "{what}: answered {read:?} instead of closing"
    );
}

#[test]
fn bad_group_requests_get_errors_and_leave_commits_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_node(
        dir.path(),
        "num.partitions=2\ngroup.initial.rebalance.delay.ms=0\n",
    );
    let (host, port) = address.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let open = Connection::open(&TokioConnector, host, port, "group-bad-requests");
        let mut connection = tokio::time::timeout(ANSWER_WAIT, open)
            .await
            .unwrap()
            .unwrap();
        create_topic(&mut connection).await;
        // The first FindCoordinator creates the offsets topic; ask until it names a node.
        find_coordinator(&mut connection).await;
        // The coordinator may answer COORDINATOR_LOAD_IN_PROGRESS (or NOT_COORDINATOR, or
        // COORDINATOR_NOT_AVAILABLE) until it has loaded the offsets partition.
        let mut first = (15, 0, String::new());
        for _ in 0..200 {
            first = join(&mut connection, "", vec!["range"]).await;
            if ![14, 15, 16].contains(&first.0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(first.0, MEMBER_ID_REQUIRED, "{first:?}");
        let member = first.2;
        let (error, generation, _) = join(&mut connection, &member, vec!["range"]).await;
        assert_eq!((error, generation), (0, 1));
        assert_eq!(sync(&mut connection, generation, &member).await, 0);
        assert_eq!(
            commit(&mut connection, generation, &member, &[5, 7]).await,
            [0, 0]
        );
        let kept = vec![(0, 5), (1, 7)];
        assert_eq!(committed(&mut connection).await, kept);

        assert_eq!(
            sync(&mut connection, generation, "nobody").await,
            UNKNOWN_MEMBER_ID,
            "SyncGroup from an unknown member"
        );
        assert_eq!(committed(&mut connection).await, kept);
        assert_eq!(
            heartbeat(&mut connection, generation, "nobody").await,
            UNKNOWN_MEMBER_ID,
            "Heartbeat from an unknown member"
        );
        assert_eq!(committed(&mut connection).await, kept);
        assert_eq!(
            commit(&mut connection, generation + 1, &member, &[99, 99]).await,
            [ILLEGAL_GENERATION, ILLEGAL_GENERATION],
            "OffsetCommit with a generation the group never had"
        );
        assert_eq!(committed(&mut connection).await, kept);
        assert_eq!(
            join(&mut connection, "", vec![]).await.0,
            INCONSISTENT_GROUP_PROTOCOL,
            "JoinGroup of a new member with no protocols"
        );
        assert_eq!(
            join(&mut connection, &member, vec![]).await.0,
            INCONSISTENT_GROUP_PROTOCOL,
            "JoinGroup of the member with no protocols"
        );
        assert_eq!(committed(&mut connection).await, kept);
        // No rebalance was started: the member's heartbeat is still simply accepted.
        assert_eq!(heartbeat(&mut connection, generation, &member).await, 0);

        let join_body = RequestBody::JoinGroup(join_request(&member, vec!["range"]));
        closes(
            &address,
            &truncated(&join_body, 7, 3),
            "a JoinGroup cut short",
        )
        .await;
        let commit_body = RequestBody::OffsetCommit(commit_request(generation, &member, &[99, 99]));
        for cut in [1, 9, 20] {
            let frame = truncated(&commit_body, 8, cut);
            closes(
                &address,
                &frame,
                &format!("an OffsetCommit {cut} bytes short"),
            )
            .await;
        }
        assert_eq!(committed(&mut connection).await, kept);
        assert_eq!(heartbeat(&mut connection, generation, &member).await, 0);

        // The broker is up for new connections, and the member can still commit.
        let open = Connection::open(&TokioConnector, host, port, "group-bad-requests-2");
        let mut fresh = tokio::time::timeout(ANSWER_WAIT, open)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(committed(&mut fresh).await, kept);
        assert_eq!(
            commit(&mut fresh, generation, &member, &[6, 8]).await,
            [0, 0]
        );
        assert_eq!(committed(&mut connection).await, [(0, 6), (1, 8)]);
    });
    server.kill().unwrap();
    server.wait().unwrap();
}
