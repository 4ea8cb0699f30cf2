//! The coordinator alone, leading one offsets partition whose appends the test completes
//! by hand: rebalances, session expiry, static membership, the initial delay, loading.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::*;
use crate::api::{
    DescribeGroupsRequest, ErrorCode, GroupRequest, GroupResponse, HeartbeatRequest,
    JoinGroupRequest, JoinGroupResponse, JoinProtocol, LeaveGroupRequest, LeavingMember,
    ListGroupsRequest, SyncGroupRequest,
};
use crate::controller::{ImageLimits, MetadataImage};
use crate::record::RecordBatch;
use crate::rng::SplitMix64;
use crate::time::{Duration, Instant};

const GROUP: &str = "g";

struct Bench {
    coordinator: GroupCoordinator,
    image: MetadataImage,
    rng: SplitMix64,
    now: Instant,
    next_token: u64,
    answers: BTreeMap<u64, GroupResponse>,
    /// The records appended so far, as the partition's log would hold them.
    log: Vec<crate::record::Record>,
    /// Appends whose outcome the test has not reported yet.
    unacked: Vec<u64>,
    /// Report appends as done at once.
    auto_ack: bool,
}

impl Bench {
    fn new(config: GroupConfig) -> Bench {
        let mut bench = Bench {
            coordinator: GroupCoordinator::new(config),
            image: MetadataImage::new(ImageLimits::default()),
            rng: SplitMix64::new(5),
            now: Instant::ZERO + Duration::from_secs(1),
            next_token: 0,
            answers: BTreeMap::new(),
            log: Vec::new(),
            unacked: Vec::new(),
            auto_ack: true,
        };
        bench.lead(0);
        bench
    }

    fn partition(&self) -> i32 {
        partition_for_group(
            GROUP,
            self.coordinator.config().offsets_topic_num_partitions,
        )
    }

    fn wall_ms(&self) -> i64 {
        1_700_000_000_000 + (self.now.as_nanos() / 1_000_000) as i64
    }

    /// (Re)takes the partition in `epoch` from the records appended so far.
    fn lead(&mut self, epoch: i32) {
        let end = self.log.len() as i64;
        let (now, wall) = (self.now, self.wall_ms());
        let partition = self.partition();
        let records = self.log.clone();
        self.coordinator.lead(
            now,
            wall,
            &mut self.rng,
            partition,
            epoch,
            records,
            end,
            end,
        );
        self.drain();
    }

    fn request(&mut self, request: GroupRequest) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        let (now, wall) = (self.now, self.wall_ms());
        self.coordinator
            .handle_request(now, wall, &mut self.rng, &self.image, 1, token, request);
        self.drain();
        token
    }

    fn drain(&mut self) {
        while let Some(output) = self.coordinator.poll_output() {
            match output {
                GroupOutput::Answer {
                    token, response, ..
                } => {
                    assert!(
                        self.answers.insert(token, response).is_none(),
                        "answered twice"
                    );
                }
                GroupOutput::Append { id, batch, .. } => {
                    let parsed = RecordBatch::parse(&batch).unwrap();
                    let base = self.log.len() as i64;
                    for (i, mut record) in parsed.records().unwrap().into_iter().enumerate() {
                        record.offset = base + i as i64;
                        self.log.push(record);
                    }
                    self.unacked.push(id);
                }
                GroupOutput::CreateOffsetsTopic { .. } => {}
            }
        }
        if self.auto_ack {
            self.ack_all();
        }
    }

    fn ack_all(&mut self) {
        let (now, wall) = (self.now, self.wall_ms());
        for id in std::mem::take(&mut self.unacked) {
            self.coordinator
                .append_done(now, wall, &mut self.rng, id, Ok(()), None);
        }
        while let Some(output) = self.coordinator.poll_output() {
            if let GroupOutput::Answer {
                token, response, ..
            } = output
            {
                assert!(self.answers.insert(token, response).is_none());
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while let Some(at) = self.coordinator.poll_timeout().filter(|at| *at <= end) {
            self.now = self.now.max(at);
            let (now, wall) = (self.now, self.wall_ms());
            self.coordinator.handle_timeout(now, wall, &mut self.rng);
            self.drain();
        }
        self.now = end;
    }

    fn take(&mut self, token: u64) -> Option<GroupResponse> {
        self.answers.remove(&token)
    }

    fn joined(&mut self, token: u64) -> JoinGroupResponse {
        match self.take(token) {
            Some(GroupResponse::JoinGroup(response)) => response,
            other => panic!("no join answer: {other:?}"),
        }
    }

    fn state(&mut self) -> String {
        let token = self.request(GroupRequest::DescribeGroups(DescribeGroupsRequest {
            groups: vec![GROUP.to_string()],
        }));
        match self.take(token) {
            Some(GroupResponse::DescribeGroups(d)) => d.groups[0].state.clone(),
            other => panic!("{other:?}"),
        }
    }

    /// Joins with a known id (or none, two-step off) and returns the token.
    fn join(&mut self, member_id: &str, instance: Option<&str>, metadata: &'static [u8]) -> u64 {
        self.request(GroupRequest::JoinGroup(JoinGroupRequest {
            group_id: GROUP.to_string(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 20_000,
            member_id: member_id.to_string(),
            group_instance_id: instance.map(str::to_string),
            protocol_type: "consumer".to_string(),
            protocols: vec![JoinProtocol {
                name: "range".to_string(),
                metadata: Bytes::from_static(metadata),
            }],
            require_known_member_id: false,
            client_id: "c".to_string(),
            client_host: "/10.0.0.1".to_string(),
        }))
    }

    fn sync(&mut self, joined: &JoinGroupResponse, assignment: Vec<(String, Bytes)>) -> u64 {
        self.request(GroupRequest::SyncGroup(SyncGroupRequest {
            group_id: GROUP.to_string(),
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: None,
            protocol_type: None,
            protocol_name: None,
            assignments: assignment,
        }))
    }

    fn heartbeat(&mut self, joined: &JoinGroupResponse) -> ErrorCode {
        let token = self.request(GroupRequest::Heartbeat(HeartbeatRequest {
            group_id: GROUP.to_string(),
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: None,
        }));
        match self.take(token) {
            Some(GroupResponse::Heartbeat(h)) => h.error,
            other => panic!("{other:?}"),
        }
    }
}

fn config() -> GroupConfig {
    GroupConfig {
        offsets_topic_num_partitions: 1,
        group_initial_rebalance_delay_ms: 0,
        ..GroupConfig::default()
    }
}

/// Two members form a generation; a third joins and everyone rejoins for the next; one
/// stops heartbeating and is expired, which starts another rebalance.
#[test]
fn members_rebalance_on_join_and_on_session_expiry() {
    let mut bench = Bench::new(config());
    let a = bench.join("", None, b"a");
    let a = bench.joined(a);
    assert_eq!((a.generation_id, a.leader == a.member_id), (1, true));
    let sync_a = bench.sync(&a, vec![(a.member_id.clone(), Bytes::from_static(b"0,1"))]);
    assert!(
        matches!(bench.take(sync_a), Some(GroupResponse::SyncGroup(s)) if s.error == ErrorCode::None)
    );
    assert_eq!(bench.state(), "Stable");

    // b joins: the group waits for a to rejoin.
    let b = bench.join("", None, b"b");
    assert!(bench.take(b).is_none(), "held until everyone rejoins");
    assert_eq!(bench.heartbeat(&a), ErrorCode::RebalanceInProgress);
    let a_again = bench.join(&a.member_id, None, b"a");
    let a2 = bench.joined(a_again);
    let b2 = bench.joined(b);
    assert_eq!((a2.generation_id, b2.generation_id), (2, 2));
    assert_eq!(a2.members.len(), 2, "the leader gets the members");
    assert!(b2.members.is_empty());
    // The follower's sync waits for the leader's.
    let sync_b = bench.sync(&b2, Vec::new());
    assert!(bench.take(sync_b).is_none());
    let assignment = vec![
        (a2.member_id.clone(), Bytes::from_static(b"0")),
        (b2.member_id.clone(), Bytes::from_static(b"1")),
    ];
    let sync_a = bench.sync(&a2, assignment);
    let Some(GroupResponse::SyncGroup(sb)) = bench.take(sync_b) else {
        panic!("b not synced");
    };
    assert_eq!(&sb.assignment[..], b"1");
    assert!(bench.take(sync_a).is_some());
    // A heartbeat with the old generation is refused.
    assert_eq!(bench.heartbeat(&a), ErrorCode::IllegalGeneration);

    // b goes silent; a keeps heartbeating and is told to rejoin once b's session lapses.
    for _ in 0..4 {
        bench.advance(3_000);
        let expected = match bench.heartbeat(&a2) {
            ErrorCode::None => continue,
            error => error,
        };
        assert_eq!(expected, ErrorCode::RebalanceInProgress);
        break;
    }
    assert_eq!(bench.coordinator.stats().sessions_expired, 1);
    let a3 = bench.join(&a2.member_id, None, b"a");
    let a3 = bench.joined(a3);
    assert_eq!((a3.generation_id, a3.members.len()), (3, 1));
}

/// The planted bug keeps a lapsed member: the survivor never hears of a rebalance.
#[cfg(feature = "bug-switches")]
#[test]
fn the_planted_expiry_bug_keeps_a_dead_member() {
    crate::bugs::with(crate::bugs::Bug::SessionExpiryWithoutRebalance, || {
        let mut bench = Bench::new(config());
        let a = bench.join("", None, b"a");
        let a = bench.joined(a);
        let b = bench.join("", None, b"b");
        let a_again = bench.join(&a.member_id, None, b"a");
        let (a2, _) = (bench.joined(a_again), bench.joined(b));
        bench.sync(&a2, Vec::new());
        bench.advance(30_000);
        assert_eq!(bench.heartbeat(&a2), ErrorCode::None);
    });
}

/// KIP-394: a v4+ join without an id gets MEMBER_ID_REQUIRED with the id to use; an id
/// never used lapses after the session timeout and leaves nothing behind.
#[test]
fn the_member_id_two_step() {
    let mut bench = Bench::new(config());
    let mut request = JoinGroupRequest {
        group_id: GROUP.to_string(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        member_id: String::new(),
        group_instance_id: None,
        protocol_type: "consumer".to_string(),
        protocols: vec![JoinProtocol {
            name: "range".to_string(),
            metadata: Bytes::new(),
        }],
        require_known_member_id: true,
        client_id: "client".to_string(),
        client_host: "h".to_string(),
    };
    let first = bench.request(GroupRequest::JoinGroup(request.clone()));
    let first = bench.joined(first);
    assert_eq!(first.error, ErrorCode::MemberIdRequired);
    assert!(first.member_id.starts_with("client-"));
    request.member_id = first.member_id.clone();
    let second = bench.request(GroupRequest::JoinGroup(request.clone()));
    let second = bench.joined(second);
    assert_eq!(second.error, ErrorCode::None);
    assert_eq!(second.member_id, first.member_id);

    // Another id handed out but never used lapses.
    request.member_id = String::new();
    let other = bench.request(GroupRequest::JoinGroup(request));
    assert_eq!(bench.joined(other).error, ErrorCode::MemberIdRequired);
    bench.advance(11_000);
    assert!(bench.coordinator.groups().count() == 1);
}

/// KIP-345: a static member that restarts (no member id) takes its old place without a
/// rebalance; the old incarnation is fenced.
#[test]
fn a_restarted_static_member_keeps_the_generation() {
    let mut bench = Bench::new(config());
    let leader = bench.join("", None, b"l");
    let leader = bench.joined(leader);
    let s = bench.join("", Some("instance-1"), b"s");
    let again = bench.join(&leader.member_id, None, b"l");
    let (leader, s) = (bench.joined(again), bench.joined(s));
    assert_eq!(leader.generation_id, 2);
    let assignment = vec![(s.member_id.clone(), Bytes::from_static(b"p1"))];
    let sync_leader = bench.sync(&leader, assignment);
    bench.take(sync_leader);

    let restarted = bench.join("", Some("instance-1"), b"s");
    let restarted = bench.joined(restarted);
    assert_eq!(restarted.error, ErrorCode::None);
    assert_eq!(restarted.generation_id, 2, "no new generation");
    assert_ne!(restarted.member_id, s.member_id);
    assert_eq!(bench.state(), "Stable");
    let sync = bench.sync(&restarted, Vec::new());
    let Some(GroupResponse::SyncGroup(synced)) = bench.take(sync) else {
        panic!("not synced");
    };
    assert_eq!(&synced.assignment[..], b"p1", "the old assignment");
    // The old incarnation is fenced.
    let old = bench.request(GroupRequest::Heartbeat(HeartbeatRequest {
        group_id: GROUP.to_string(),
        generation_id: 2,
        member_id: s.member_id.clone(),
        group_instance_id: Some("instance-1".to_string()),
    }));
    assert!(matches!(
        bench.take(old),
        Some(GroupResponse::Heartbeat(h)) if h.error == ErrorCode::FencedInstanceId
    ));
}

/// `group.initial.rebalance.delay.ms`: the first generation of an empty group waits for
/// more members, and waits again while they keep coming.
#[test]
fn the_initial_delay_gathers_members() {
    let mut bench = Bench::new(GroupConfig {
        group_initial_rebalance_delay_ms: 3_000,
        ..config()
    });
    let a = bench.join("", None, b"a");
    bench.advance(2_000);
    let b = bench.join("", None, b"b");
    bench.advance(1_500);
    assert!(
        bench.take(a).is_none(),
        "b came during the delay: it starts again"
    );
    bench.advance(3_000);
    let (a, b) = (bench.joined(a), bench.joined(b));
    assert_eq!((a.generation_id, b.generation_id), (1, 1));
}

/// A leaving member (batched, by instance id too) triggers a rebalance; leaving twice is
/// UNKNOWN_MEMBER_ID.
#[test]
fn members_leave() {
    let mut bench = Bench::new(config());
    let a = bench.join("", Some("ia"), b"a");
    let a = bench.joined(a);
    let sync = bench.sync(&a, Vec::new());
    bench.take(sync);
    let leave = |member_id: &str, instance: Option<&str>| {
        GroupRequest::LeaveGroup(LeaveGroupRequest {
            group_id: GROUP.to_string(),
            members: vec![LeavingMember {
                member_id: member_id.to_string(),
                group_instance_id: instance.map(str::to_string),
            }],
        })
    };
    let token = bench.request(leave("", Some("ia")));
    let Some(GroupResponse::LeaveGroup(left)) = bench.take(token) else {
        panic!("not LeaveGroup");
    };
    assert_eq!(left.members[0].error, ErrorCode::None);
    assert_eq!(bench.state(), "Empty");
    let token = bench.request(leave(&a.member_id, None));
    let Some(GroupResponse::LeaveGroup(left)) = bench.take(token) else {
        panic!("not LeaveGroup");
    };
    assert_eq!(left.members[0].error, ErrorCode::UnknownMemberId);
}

/// The group's metadata record brings a new coordinator back to the same generation, with
/// members and assignments; until the HW reaches the loaded end, requests are told to wait.
#[test]
fn a_new_leader_loads_the_generation_and_waits_for_its_hw() {
    let mut bench = Bench::new(config());
    let a = bench.join("", None, b"a");
    let a = bench.joined(a);
    let sync = bench.sync(&a, vec![(a.member_id.clone(), Bytes::from_static(b"x"))]);
    bench.take(sync);
    let partition = bench.partition();
    bench
        .coordinator
        .resign(bench.now, bench.wall_ms(), &mut bench.rng, partition);
    assert_eq!(bench.heartbeat(&a), ErrorCode::NotCoordinator);

    let end = bench.log.len() as i64;
    let records = bench.log.clone();
    let (now, wall) = (bench.now, bench.wall_ms());
    bench.coordinator.lead(
        now,
        wall,
        &mut bench.rng,
        partition,
        1,
        records,
        end,
        end - 1,
    );
    assert_eq!(bench.heartbeat(&a), ErrorCode::CoordinatorLoadInProgress);
    let listed = bench.request(GroupRequest::ListGroups(ListGroupsRequest {
        states_filter: Vec::new(),
    }));
    assert!(matches!(
        bench.take(listed),
        Some(GroupResponse::ListGroups(l)) if l.error == ErrorCode::CoordinatorLoadInProgress
    ));
    bench.coordinator.high_watermark(partition, end);
    assert_eq!(bench.heartbeat(&a), ErrorCode::None);
    assert_eq!(bench.state(), "Stable");
}

/// A sync answered only once the assignment is written: a failed write sends the members
/// back to rejoin.
#[test]
fn a_failed_assignment_write_fails_the_sync() {
    let mut bench = Bench::new(config());
    bench.auto_ack = false;
    let a = bench.join("", None, b"a");
    let a = bench.joined(a);
    let sync = bench.sync(&a, Vec::new());
    assert!(bench.take(sync).is_none(), "waits for the write");
    let id = bench.unacked.pop().unwrap();
    let (now, wall) = (bench.now, bench.wall_ms());
    bench.coordinator.append_done(
        now,
        wall,
        &mut bench.rng,
        id,
        Err(ErrorCode::NotEnoughReplicas),
        None,
    );
    bench.drain();
    let Some(GroupResponse::SyncGroup(failed)) = bench.take(sync) else {
        panic!("not answered");
    };
    assert_eq!(failed.error, ErrorCode::CoordinatorNotAvailable);
    assert_eq!(bench.state(), "PreparingRebalance");
}
