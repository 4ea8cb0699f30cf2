//! The group coordinator inside whole nodes: FindCoordinator creates `__consumer_offsets`,
//! members join and sync, commits survive restarts and coordinator failover.

use bytes::Bytes;

use super::*;
use crate::api::{
    ErrorCode, FindCoordinatorRequest, GroupRequest, GroupResponse, HeartbeatRequest,
    JoinGroupRequest, JoinGroupResponse, JoinProtocol, OffsetCommitPartition, OffsetCommitRequest,
    OffsetFetchGroup, OffsetFetchRequest, SyncGroupRequest, COORDINATOR_KEY_GROUP,
};

const GROUP: &str = "billing";

fn group_configs(n: u32, replication_factor: i16) -> Vec<NodeConfig> {
    let mut configs = combined_configs(n, replication_factor);
    for config in &mut configs {
        config.group.offsets_topic_num_partitions = 3;
        config.group.group_initial_rebalance_delay_ms = 0;
    }
    configs
}

fn group_call(harness: &mut Harness, index: usize, request: GroupRequest) -> GroupResponse {
    match harness.call(index, Request::Group(request)) {
        Response::Group(response) => response,
        other => panic!("not a group answer: {other:?}"),
    }
}

/// Asks until FindCoordinator names a coordinator; returns its index.
fn find_coordinator(harness: &mut Harness, index: usize) -> usize {
    let end = harness.now + Duration::from_secs(60);
    loop {
        let request = GroupRequest::FindCoordinator(FindCoordinatorRequest {
            key_type: COORDINATOR_KEY_GROUP,
            keys: vec![GROUP.to_string()],
        });
        let GroupResponse::FindCoordinator(response) = group_call(harness, index, request) else {
            panic!("not FindCoordinator");
        };
        let found = &response.coordinators[0];
        if found.error == ErrorCode::None {
            return (found.node_id - 1) as usize;
        }
        assert_eq!(found.error, ErrorCode::CoordinatorNotAvailable);
        assert!(harness.now < end, "no coordinator");
        for _ in 0..10 {
            harness.step();
        }
    }
}

fn join_request(member_id: &str) -> GroupRequest {
    GroupRequest::JoinGroup(JoinGroupRequest {
        group_id: GROUP.to_string(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        member_id: member_id.to_string(),
        group_instance_id: None,
        protocol_type: "consumer".to_string(),
        protocols: vec![JoinProtocol {
            name: "range".to_string(),
            metadata: Bytes::from_static(b"subscription"),
        }],
        require_known_member_id: true,
        client_id: "client".to_string(),
        client_host: "/127.0.0.1".to_string(),
    })
}

/// Joins until the coordinator accepts (retrying load-in-progress), with KIP-394's two steps.
fn join(harness: &mut Harness, index: usize) -> JoinGroupResponse {
    let end = harness.now + Duration::from_secs(60);
    let mut member_id = String::new();
    loop {
        let GroupResponse::JoinGroup(response) =
            group_call(harness, index, join_request(&member_id))
        else {
            panic!("not JoinGroup");
        };
        match response.error {
            ErrorCode::None => return response,
            ErrorCode::MemberIdRequired => member_id = response.member_id,
            // The image named the leader before it took up the role.
            ErrorCode::CoordinatorLoadInProgress | ErrorCode::NotCoordinator => harness.step(),
            other => panic!("join refused: {other:?}"),
        }
        assert!(harness.now < end, "not joined");
    }
}

fn sync(harness: &mut Harness, index: usize, joined: &JoinGroupResponse) -> GroupResponse {
    group_call(
        harness,
        index,
        GroupRequest::SyncGroup(SyncGroupRequest {
            group_id: GROUP.to_string(),
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: None,
            protocol_type: Some("consumer".to_string()),
            protocol_name: joined.protocol_name.clone(),
            assignments: vec![(joined.member_id.clone(), Bytes::from_static(b"all of it"))],
        }),
    )
}

fn commit(
    harness: &mut Harness,
    index: usize,
    generation: i32,
    member: &str,
    offset: i64,
) -> ErrorCode {
    let request = GroupRequest::OffsetCommit(OffsetCommitRequest {
        group_id: GROUP.to_string(),
        generation_id: generation,
        member_id: member.to_string(),
        group_instance_id: None,
        partitions: vec![OffsetCommitPartition {
            partition: tp(),
            offset,
            leader_epoch: -1,
            metadata: Some("m".to_string()),
        }],
    });
    let GroupResponse::OffsetCommit(response) = group_call(harness, index, request) else {
        panic!("not OffsetCommit");
    };
    response.partitions[0].1
}

/// The committed offset of the test partition, retrying while the coordinator loads.
fn committed(harness: &mut Harness, index: usize) -> i64 {
    let end = harness.now + Duration::from_secs(60);
    loop {
        let request = GroupRequest::OffsetFetch(OffsetFetchRequest {
            groups: vec![OffsetFetchGroup {
                group_id: GROUP.to_string(),
                partitions: Some(vec![tp()]),
            }],
            require_stable: true,
        });
        let GroupResponse::OffsetFetch(response) = group_call(harness, index, request) else {
            panic!("not OffsetFetch");
        };
        let group = &response.groups[0];
        match group.error {
            ErrorCode::None => return group.partitions[0].offset,
            ErrorCode::CoordinatorLoadInProgress | ErrorCode::NotCoordinator => harness.step(),
            other => panic!("fetch refused: {other:?}"),
        }
        assert!(harness.now < end, "offsets not loaded");
    }
}

/// One member through the whole protocol on one node, then a restart: the commit and the
/// generation come back from `__consumer_offsets`.
#[test]
fn a_member_joins_syncs_commits_and_the_commit_survives_a_restart() {
    let mut harness = Harness::new(group_configs(1, 1), 11);
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    harness.await_leader(0);
    assert_eq!(find_coordinator(&mut harness, 0), 0);

    let joined = join(&mut harness, 0);
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader, joined.member_id, "the only member leads");
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    let GroupResponse::SyncGroup(synced) = sync(&mut harness, 0, &joined) else {
        panic!("not SyncGroup");
    };
    assert_eq!(synced.error, ErrorCode::None);
    assert_eq!(&synced.assignment[..], b"all of it");

    let beat = GroupRequest::Heartbeat(HeartbeatRequest {
        group_id: GROUP.to_string(),
        generation_id: joined.generation_id,
        member_id: joined.member_id.clone(),
        group_instance_id: None,
    });
    let GroupResponse::Heartbeat(beat) = group_call(&mut harness, 0, beat) else {
        panic!("not Heartbeat");
    };
    assert_eq!(beat.error, ErrorCode::None);

    let member = joined.member_id.clone();
    assert_eq!(commit(&mut harness, 0, 1, &member, 42), ErrorCode::None);
    // A commit from a generation that is not the group's is refused and changes nothing.
    assert_eq!(
        commit(&mut harness, 0, 7, &member, 1),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        commit(&mut harness, 0, 1, "stranger", 1),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(committed(&mut harness, 0), 42);

    harness.stop(0);
    harness.start(0, true);
    harness.run_until(Duration::from_secs(30), "unfenced", |h| h.unfenced(0));
    assert_eq!(committed(&mut harness, 0), 42);
    let coordinator = harness.node(0).group_coordinator();
    let groups: Vec<_> = coordinator.groups().collect();
    assert_eq!(groups, vec![(GROUP, "Stable", 1)]);
}

/// A commit acknowledged by the coordinator of a three-node cluster survives the kill of
/// that coordinator: the new leader of the offsets partition loads it.
#[test]
fn an_acknowledged_commit_survives_the_coordinators_crash() {
    let mut harness = Harness::new(group_configs(3, 3), 12);
    harness.run_until(Duration::from_secs(30), "unfenced", |h| {
        (0..3).all(|i| h.unfenced(i))
    });
    harness.await_leader(0);
    let coordinator = find_coordinator(&mut harness, 0);
    let joined = join(&mut harness, coordinator);
    let GroupResponse::SyncGroup(synced) = sync(&mut harness, coordinator, &joined) else {
        panic!("not SyncGroup");
    };
    assert_eq!(synced.error, ErrorCode::None);
    let member = joined.member_id.clone();
    assert_eq!(
        commit(&mut harness, coordinator, 1, &member, 77),
        ErrorCode::None
    );

    harness.stop(coordinator);
    let survivor = (coordinator + 1) % 3;
    let end = harness.now + Duration::from_secs(60);
    let next = loop {
        let found = find_coordinator(&mut harness, survivor);
        if found != coordinator {
            break found;
        }
        assert!(harness.now < end, "no new coordinator");
        for _ in 0..10 {
            harness.step();
        }
    };
    assert_eq!(committed(&mut harness, next), 77);
}
