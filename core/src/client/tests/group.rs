//! Group members against the fake cluster and its coordinator: several members, one shared
//! cluster, virtual time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{tp, FakeCluster};
use crate::api::{ErrorCode, GroupRequest, Request, Response, TopicPartition};
use crate::client::assignor::{Assignor, RebalanceProtocol};
use crate::client::{
    CommitReason, CommitResult, ConsumerOutput, Disconnected, GroupConsumer, GroupConsumerConfig,
    GroupConsumerOutput, GroupError, OffsetResetPolicy,
};
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

/// How long the fake holds a fetch with nothing to return.
const FETCH_WAIT: Duration = Duration::from_millis(500);

/// Steps a harness loop may take before it is deemed stuck.
const STEPS_MAX: usize = 200_000;

/// What a member reported, without requests and records.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Joined {
        generation: i32,
        leader: bool,
    },
    Assigned {
        generation: i32,
        added: Vec<TopicPartition>,
        assignment: Vec<TopicPartition>,
    },
    Revoked(Vec<TopicPartition>),
    Lost(Vec<TopicPartition>),
    Resumed(TopicPartition, i64),
    Reset(TopicPartition, i64),
    Committed(CommitResult),
    Error(GroupError),
    Failed(GroupError),
    Closed,
    Consumer(ConsumerOutput),
}

struct Member {
    consumer: GroupConsumer,
    /// A stopped member gets no input at all, as a paused or dead process.
    stopped: bool,
    events: Vec<Event>,
    /// Every record consumed: (partition, offset).
    records: Vec<(TopicPartition, i64)>,
    sent: Vec<(BrokerId, Request)>,
}

impl Member {
    fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer.assignment()
    }

    fn sent_group(&self, name: &str) -> Vec<(BrokerId, GroupRequest)> {
        let group = self.sent.iter().filter_map(|(to, request)| match request {
            Request::Group(group) if group.name() == name => Some((*to, group.clone())),
            _ => None,
        });
        group.collect()
    }

    fn commits(&self, reason: CommitReason) -> Vec<&CommitResult> {
        let commits = self.events.iter().filter_map(|event| match event {
            Event::Committed(result) if result.reason == reason => Some(result),
            _ => None,
        });
        commits.collect()
    }

    fn joined_generations(&self) -> Vec<i32> {
        let joined = self.events.iter().filter_map(|event| match event {
            Event::Joined { generation, .. } => Some(*generation),
            _ => None,
        });
        joined.collect()
    }
}

struct Parked {
    member: usize,
    at: Instant,
    id: u64,
    to: BrokerId,
    request: Request,
}

type Answers = VecDeque<(usize, u64, Result<Response, Disconnected>)>;

/// Members wired to one fake cluster. A request the cluster cannot answer yet (a long-poll
/// fetch, a JoinGroup waiting for the others, a follower's SyncGroup) is parked and asked
/// again after every step. After every answer, the live members' assignments are checked to
/// be disjoint: no partition is ever owned by two of them.
struct Harness {
    cluster: FakeCluster,
    members: Vec<Member>,
    now: Instant,
    parked: Vec<Parked>,
    check_disjoint: bool,
}

fn config(client_id: &str) -> GroupConsumerConfig {
    let mut config = GroupConsumerConfig::new("g");
    config.client_id = client_id.to_owned();
    config.consumer.auto_offset_reset = OffsetResetPolicy::Earliest;
    config.session_timeout_ms = 10_000;
    config.heartbeat_interval_ms = 1_000;
    config.max_poll_interval_ms = 20_000;
    config
}

fn cooperative(client_id: &str) -> GroupConsumerConfig {
    let mut config = config(client_id);
    config.partition_assignment_strategy = vec![Assignor::CooperativeSticky];
    config
}

impl Harness {
    fn new(cluster: FakeCluster) -> Harness {
        Harness {
            cluster,
            members: Vec::new(),
            now: Instant::ZERO,
            parked: Vec::new(),
            check_disjoint: true,
        }
    }

    /// A new member subscribed to `topics`.
    fn add(&mut self, config: GroupConsumerConfig, topics: &[&str]) -> usize {
        let mut consumer = GroupConsumer::new(config, self.cluster.brokers.clone());
        let topics = topics.iter().map(|t| (*t).to_owned()).collect();
        consumer.subscribe(self.now, topics);
        self.members.push(Member {
            consumer,
            stopped: false,
            events: Vec::new(),
            records: Vec::new(),
            sent: Vec::new(),
        });
        self.pump();
        self.members.len() - 1
    }

    fn pump(&mut self) {
        let mut answers = Answers::new();
        for _ in 0..STEPS_MAX {
            self.cluster.now = self.now;
            self.cluster.groups.tick(self.now);
            for parked in core::mem::take(&mut self.parked) {
                if self.members[parked.member].stopped {
                    continue; // its connections are gone
                }
                let wait_over = parked.at + FETCH_WAIT <= self.now;
                match self.cluster.answer(parked.to, &parked.request, wait_over) {
                    Some(answer) => answers.push_back((parked.member, parked.id, answer)),
                    None => self.parked.push(parked),
                }
            }
            for index in 0..self.members.len() {
                if self.members[index].stopped {
                    continue;
                }
                while let Some(output) = self.members[index].consumer.poll_output() {
                    self.take(index, output, &mut answers);
                }
            }
            let Some((index, id, answer)) = answers.pop_front() else {
                return;
            };
            if !self.members[index].stopped {
                let member = &mut self.members[index].consumer;
                member.handle_response(self.now, id, answer);
            }
            self.assert_disjoint();
        }
        panic!("the harness does not settle at {}", self.now);
    }

    fn take(&mut self, index: usize, output: GroupConsumerOutput, answers: &mut Answers) {
        let member = &mut self.members[index];
        let event = match output {
            GroupConsumerOutput::Request { to, id, request } => {
                match self.cluster.answer(to, &request, false) {
                    Some(answer) => answers.push_back((index, id, answer)),
                    None => {
                        let at = self.now;
                        let request = request.clone();
                        let parked = Parked {
                            member: index,
                            at,
                            id,
                            to,
                            request,
                        };
                        self.parked.push(parked);
                    }
                }
                member.sent.push((to, request));
                return;
            }
            GroupConsumerOutput::Consumed(ConsumerOutput::Records {
                partition, records, ..
            }) => {
                let consumed = records.iter().map(|r| (partition.clone(), r.offset));
                member.records.extend(consumed);
                return;
            }
            GroupConsumerOutput::Consumed(ConsumerOutput::Caught { .. }) => return,
            GroupConsumerOutput::Consumed(ConsumerOutput::Reset {
                partition, offset, ..
            }) => Event::Reset(partition, offset),
            GroupConsumerOutput::Consumed(other) => Event::Consumer(other),
            GroupConsumerOutput::Joined {
                generation_id,
                leader,
                ..
            } => Event::Joined {
                generation: generation_id,
                leader,
            },
            GroupConsumerOutput::Assigned {
                generation_id,
                added,
                assignment,
            } => Event::Assigned {
                generation: generation_id,
                added,
                assignment,
            },
            GroupConsumerOutput::Revoked { partitions } => Event::Revoked(partitions),
            GroupConsumerOutput::Lost { partitions } => Event::Lost(partitions),
            GroupConsumerOutput::Resumed {
                partition, offset, ..
            } => Event::Resumed(partition, offset),
            GroupConsumerOutput::Committed(result) => Event::Committed(result),
            GroupConsumerOutput::Error(error) => Event::Error(error),
            GroupConsumerOutput::Failed(error) => Event::Failed(error),
            GroupConsumerOutput::Closed => Event::Closed,
        };
        member.events.push(event);
    }

    fn assert_disjoint(&self) {
        if !self.check_disjoint {
            return;
        }
        let mut owners: BTreeMap<TopicPartition, usize> = BTreeMap::new();
        for (index, member) in self.members.iter().enumerate() {
            if member.stopped {
                continue;
            }
            for partition in member.assignment() {
                if let Some(other) = owners.insert(partition.clone(), index) {
                    panic!(
                        "{partition:?} owned by members {other} and {index} at {}",
                        self.now
                    );
                }
            }
        }
    }

    /// Runs every timer, held fetch and coordinator deadline due in the next `millis`.
    fn settle(&mut self, millis: u64) {
        let until = self.now + Duration::from_millis(millis);
        for _ in 0..STEPS_MAX {
            let live = || self.members.iter().filter(|m| !m.stopped);
            let timers = live().filter_map(|m| m.consumer.poll_timeout()).min();
            let release = self
                .parked
                .iter()
                .filter(|p| matches!(p.request, Request::Fetch(_)))
                .map(|p| p.at + FETCH_WAIT)
                .min();
            let next = [timers, release, self.cluster.groups.deadline()]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next.filter(|at| *at <= until) else {
                self.now = until;
                return self.pump();
            };
            self.now = self.now.max(at);
            for member in self.members.iter_mut().filter(|m| !m.stopped) {
                if member
                    .consumer
                    .poll_timeout()
                    .is_some_and(|due| due <= self.now)
                {
                    member.consumer.handle_timeout(self.now);
                }
            }
            self.pump();
        }
        panic!("timers do not settle at {}", self.now);
    }

    /// Every partition's owner among the live members.
    fn owners(&self) -> BTreeMap<TopicPartition, usize> {
        let mut owners = BTreeMap::new();
        for (index, member) in self.members.iter().enumerate() {
            if !member.stopped {
                for partition in member.assignment() {
                    owners.insert(partition, index);
                }
            }
        }
        owners
    }
}

fn topic(name: &str, partitions: i32) -> Vec<TopicPartition> {
    (0..partitions).map(|p| tp(name, p)).collect()
}

/// A cluster with topic `t` of `partitions`, each holding `records` records.
fn cluster(partitions: usize, records: usize) -> FakeCluster {
    let mut cluster = FakeCluster::new(2, &[("t", partitions)]);
    append_everywhere(&mut cluster, partitions as i32, records);
    cluster
}

fn append_everywhere(cluster: &mut FakeCluster, partitions: i32, records: usize) {
    for partition in 0..partitions {
        let values: Vec<&str> = vec!["v"; records];
        if !values.is_empty() {
            cluster.append(&tp("t", partition), &values);
        }
    }
}

/// Per partition, every offset consumed by anyone, in order, duplicates kept.
fn consumed(h: &Harness) -> BTreeMap<TopicPartition, Vec<i64>> {
    let mut all: BTreeMap<TopicPartition, Vec<i64>> = BTreeMap::new();
    for member in &h.members {
        for (partition, offset) in &member.records {
            all.entry(partition.clone()).or_default().push(*offset);
        }
    }
    for offsets in all.values_mut() {
        offsets.sort();
    }
    all
}

/// Each partition's records from 0 to `end`, each consumed exactly once.
fn assert_exactly_once(h: &Harness, partitions: i32, end: i64) {
    let all = consumed(h);
    for partition in topic("t", partitions) {
        let expected: Vec<i64> = (0..end).collect();
        assert_eq!(
            all.get(&partition).cloned().unwrap_or_default(),
            expected,
            "{partition:?}"
        );
    }
}

#[test]
fn two_members_split_a_topic() {
    let mut h = Harness::new(cluster(4, 2));
    let a = h.add(config("a"), &["t"]);
    h.settle(2_000);
    assert_eq!(
        h.members[a].assignment(),
        topic("t", 4),
        "alone, it takes everything"
    );
    assert_eq!(
        h.members[a].events[0],
        Event::Joined {
            generation: 1,
            leader: true
        }
    );
    let b = h.add(config("b"), &["t"]);
    h.settle(5_000);
    // Range over members a-1 < b-2: a takes partitions 0 and 1.
    assert_eq!(h.members[a].assignment(), [tp("t", 0), tp("t", 1)]);
    assert_eq!(h.members[b].assignment(), [tp("t", 2), tp("t", 3)]);
    assert_eq!(h.members[a].joined_generations(), [1, 2]);
    assert_eq!(h.members[b].joined_generations(), [2]);
    // Eager: a gave up everything, committing its positions first; b resumed from them.
    assert!(h.members[a].events.contains(&Event::Revoked(topic("t", 4))));
    let revocation = h.members[a].commits(CommitReason::Revocation);
    assert_eq!(revocation.len(), 1);
    assert!(revocation[0].is_ok());
    assert!(revocation[0].partitions.iter().all(|p| p.offset == 2));
    for partition in [tp("t", 2), tp("t", 3)] {
        assert!(h.members[b].events.contains(&Event::Resumed(partition, 2)));
    }
    // New records go to each partition's owner only, and nothing is read twice.
    append_everywhere(&mut h.cluster, 4, 3);
    h.settle(2_000);
    assert_exactly_once(&h, 4, 5);
    let by_b: BTreeSet<TopicPartition> = h.members[b].records.iter().map(|r| r.0.clone()).collect();
    assert_eq!(by_b, [tp("t", 2), tp("t", 3)].into_iter().collect());
}

#[test]
fn a_third_member_joins_and_partitions_rebalance() {
    let mut h = Harness::new(cluster(6, 1));
    let a = h.add(config("a"), &["t"]);
    let b = h.add(config("b"), &["t"]);
    h.settle(5_000);
    assert_eq!(h.members[a].assignment().len(), 3);
    assert_eq!(h.members[b].assignment().len(), 3);
    let c = h.add(config("c"), &["t"]);
    h.settle(5_000);
    for member in [a, b, c] {
        assert_eq!(h.members[member].assignment().len(), 2, "member {member}");
        assert!(h.members[member].consumer.is_stable());
    }
    assert_eq!(h.owners().len(), 6);
    append_everywhere(&mut h.cluster, 6, 2);
    h.settle(2_000);
    assert_exactly_once(&h, 6, 3);
}

/// KIP-429: under the cooperative protocol the two members keep two of their three
/// partitions each throughout; the third of each is revoked in one generation and assigned to
/// the newcomer only in the next, so no partition ever has two owners (the harness checks
/// that after every answer).
#[test]
fn cooperative_rebalance_revokes_before_it_moves() {
    let mut h = Harness::new(cluster(6, 1));
    let a = h.add(cooperative("a"), &["t"]);
    let b = h.add(cooperative("b"), &["t"]);
    h.settle(5_000);
    assert_eq!(
        h.members[a].consumer.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    );
    let before_a = h.members[a].assignment();
    let before_b = h.members[b].assignment();
    assert_eq!((before_a.len(), before_b.len()), (3, 3));
    let c = h.add(cooperative("c"), &["t"]);
    h.settle(8_000);
    let after_a = h.members[a].assignment();
    let after_b = h.members[b].assignment();
    assert_eq!(h.members[c].assignment().len(), 2);
    assert!(
        after_a.iter().all(|tp| before_a.contains(tp)),
        "sticky: {before_a:?} {after_a:?}"
    );
    assert!(
        after_b.iter().all(|tp| before_b.contains(tp)),
        "sticky: {before_b:?} {after_b:?}"
    );
    assert_eq!((after_a.len(), after_b.len()), (2, 2));
    // a gave up exactly one partition, its positions committed; nothing was lost.
    let revoked: Vec<&Event> = h.members[a]
        .events
        .iter()
        .filter(|e| matches!(e, Event::Revoked(_) | Event::Lost(_)))
        .collect();
    assert_eq!(revoked.len(), 1);
    assert!(matches!(revoked[0], Event::Revoked(p) if p.len() == 1));
    assert_eq!(h.members[a].commits(CommitReason::Revocation).len(), 1);
    // The newcomer's first assignment was empty: the moving partitions were being revoked.
    let first = h.members[c]
        .events
        .iter()
        .find(|e| matches!(e, Event::Assigned { .. }));
    assert!(matches!(first, Some(Event::Assigned { assignment, .. }) if assignment.is_empty()));
    let generations = h.members[a].joined_generations();
    assert_eq!(
        generations.len(),
        4,
        "two joins, then the newcomer's and the follow-up"
    );
    append_everywhere(&mut h.cluster, 6, 2);
    h.settle(2_000);
    assert_exactly_once(&h, 6, 3);
}

#[test]
fn a_member_that_stops_heartbeating_is_replaced() {
    let mut h = Harness::new(cluster(6, 2));
    let a = h.add(config("a"), &["t"]);
    let b = h.add(config("b"), &["t"]);
    let c = h.add(config("c"), &["t"]);
    h.settle(8_000);
    let of_c = h.members[c].assignment();
    assert_eq!(of_c.len(), 2);
    // c consumed its records and auto-committed (every 5 s), then stops.
    h.members[c].stopped = true;
    append_everywhere(&mut h.cluster, 6, 1);
    // The coordinator expires c after its 10 s session; a and b rejoin within a heartbeat.
    h.settle(15_000);
    assert_eq!(h.members[a].assignment().len(), 3);
    assert_eq!(h.members[b].assignment().len(), 3);
    assert_eq!(h.owners().len(), 6);
    // c's partitions resumed from what c committed: its two records, no more.
    for partition in &of_c {
        let resumed = h.members[a]
            .events
            .iter()
            .chain(&h.members[b].events)
            .any(|e| *e == Event::Resumed(partition.clone(), 2));
        assert!(resumed, "{partition:?} resumed at c's commit");
    }
    assert_exactly_once(&h, 6, 3);
    let group = &h.cluster.groups.groups["g"];
    assert_eq!(group.members.len(), 2);
}

/// A member paused past its session comes back as a zombie: the coordinator has forgotten it,
/// so its heartbeat gets UNKNOWN_MEMBER_ID, it reports its partitions lost (no commit), and
/// joins again as a new member.
#[test]
fn a_member_back_after_its_session_loses_its_partitions_and_rejoins() {
    let mut h = Harness::new(cluster(4, 1));
    let a = h.add(config("a"), &["t"]);
    let b = h.add(config("b"), &["t"]);
    h.settle(5_000);
    let of_b = h.members[b].assignment();
    h.members[b].stopped = true;
    h.settle(15_000);
    assert_eq!(h.members[a].assignment().len(), 4);
    // Back: until its heartbeat fails it still thinks it owns its partitions.
    h.check_disjoint = false;
    h.members[b].stopped = false;
    h.settle(5_000);
    let lost = Event::Lost(of_b.clone());
    assert!(
        h.members[b].events.contains(&lost),
        "{:?}",
        h.members[b].events
    );
    let commits_while_lost = h.members[b].commits(CommitReason::Revocation);
    assert!(
        commits_while_lost.is_empty(),
        "lost partitions are not committed"
    );
    let joins = h.members[b].sent_group("JoinGroup");
    let member_ids: Vec<String> = joins
        .iter()
        .map(|(_, r)| match r {
            GroupRequest::JoinGroup(join) => join.member_id.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        member_ids.last().map(String::as_str),
        Some(h.members[b].consumer.member_id())
    );
    assert_eq!(h.members[a].assignment().len(), 2);
    assert_eq!(h.members[b].assignment().len(), 2);
}

#[test]
fn commit_then_restart_resumes_from_the_committed_offset() {
    let mut h = Harness::new(cluster(1, 5));
    let mut manual = config("a");
    manual.enable_auto_commit = false;
    let a = h.add(manual.clone(), &["t"]);
    h.settle(2_000);
    assert_eq!(h.members[a].records.len(), 5);
    let token = h.members[a].consumer.commit(h.now);
    h.pump();
    let explicit = h.members[a].commits(CommitReason::Explicit);
    assert_eq!(explicit.len(), 1);
    assert_eq!(explicit[0].token, token);
    assert!(explicit[0].is_ok());
    assert_eq!(explicit[0].partitions[0].offset, 5);
    assert_eq!(explicit[0].partitions[0].leader_epoch, 0);
    h.members[a].consumer.close(h.now);
    h.pump();
    assert_eq!(h.members[a].events.last(), Some(&Event::Closed));
    assert_eq!(h.members[a].sent_group("LeaveGroup").len(), 1);
    assert!(
        h.members[a].commits(CommitReason::Close).is_empty(),
        "no auto-commit on close"
    );
    assert_eq!(h.members[a].consumer.poll_timeout(), None);
    assert!(
        h.cluster.groups.groups["g"].members.is_empty(),
        "left, not expired"
    );
    h.members[a].stopped = true;
    h.cluster.append(&tp("t", 0), &["f", "g"]);
    let b = h.add(manual, &["t"]);
    h.settle(2_000);
    assert!(h.members[b].events.contains(&Event::Resumed(tp("t", 0), 5)));
    let offsets: Vec<i64> = h.members[b].records.iter().map(|r| r.1).collect();
    assert_eq!(offsets, [5, 6]);
}

/// With auto-commit, close commits the consumed positions before it leaves.
#[test]
fn close_commits_then_leaves() {
    let mut h = Harness::new(cluster(2, 3));
    let a = h.add(config("a"), &["t"]);
    let b = h.add(config("b"), &["t"]);
    h.settle(4_000);
    h.members[a].consumer.close(h.now);
    h.pump();
    let close = h.members[a].commits(CommitReason::Close);
    assert_eq!(close.len(), 1);
    assert!(close[0].is_ok());
    assert!(h.members[a]
        .events
        .contains(&Event::Revoked(vec![tp("t", 0)])));
    assert_eq!(h.members[a].events.last(), Some(&Event::Closed));
    // b takes over at once (no session to wait for) from a's commit.
    h.settle(2_000);
    assert_eq!(h.members[b].assignment(), topic("t", 2));
    assert!(h.members[b].events.contains(&Event::Resumed(tp("t", 0), 3)));
    assert_exactly_once(&h, 2, 3);
}

/// KIP-394: a JoinGroup without a member id is answered MEMBER_ID_REQUIRED with an id, and
/// the member joins again at once with it.
#[test]
fn member_id_required_two_step() {
    let mut h = Harness::new(cluster(1, 0));
    let a = h.add(config("a"), &["t"]);
    let joins = h.members[a].sent_group("JoinGroup");
    assert_eq!(joins.len(), 2);
    let GroupRequest::JoinGroup(first) = &joins[0].1 else {
        unreachable!()
    };
    let GroupRequest::JoinGroup(second) = &joins[1].1 else {
        unreachable!()
    };
    assert_eq!(first.member_id, "");
    assert!(first.require_known_member_id);
    assert_eq!(second.member_id, "a-1", "the id the coordinator handed out");
    assert_eq!(h.members[a].consumer.member_id(), "a-1");
    assert_eq!(
        first
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["range", "cooperative-sticky"]
    );
    assert_eq!(first.rebalance_timeout_ms, 20_000);
    assert_eq!(first.session_timeout_ms, 10_000);
    assert_eq!(
        h.members[a].events[0],
        Event::Joined {
            generation: 1,
            leader: true
        }
    );
}

/// FindCoordinator answered COORDINATOR_NOT_AVAILABLE is retried after the backoff; when the
/// coordinator moves, NOT_COORDINATOR makes the member find it again and carry on in the same
/// generation.
#[test]
fn coordinator_rediscovery() {
    let mut cluster = cluster(2, 1);
    let unavailable = ("FindCoordinator", ErrorCode::CoordinatorNotAvailable);
    cluster.groups.faults.extend([unavailable, unavailable]);
    let mut h = Harness::new(cluster);
    let a = h.add(config("a"), &["t"]);
    assert_eq!(h.members[a].sent_group("FindCoordinator").len(), 1);
    h.settle(1_000);
    assert_eq!(
        h.members[a].sent_group("FindCoordinator").len(),
        3,
        "two retries"
    );
    assert!(h.members[a].consumer.is_stable());
    h.settle(3_000);
    // The coordinator moves to broker 2 (its state with it, as a partition leader change
    // carries __consumer_offsets).
    h.cluster.groups.coordinator = 2;
    h.settle(3_000);
    assert_eq!(h.members[a].sent_group("FindCoordinator").len(), 4);
    let beats = h.members[a].sent_group("Heartbeat");
    let (to_old, to_new) = beats.iter().partition::<Vec<_>, _>(|(to, _)| *to == 1);
    assert!(!to_old.is_empty() && !to_new.is_empty());
    assert!(beats.iter().rev().take(2).all(|(to, _)| *to == 2));
    assert_eq!(h.members[a].joined_generations(), [1], "no rebalance");
    assert!(h.members[a].consumer.is_stable());
    // Commits go to the new coordinator too.
    h.settle(6_000);
    let commits = h.members[a].sent_group("OffsetCommit");
    assert!(commits.last().is_some_and(|(to, _)| *to == 2));
    assert!(h.members[a]
        .commits(CommitReason::Auto)
        .iter()
        .all(|c| c.is_ok()));
}

/// A disconnect from the coordinator counts as losing it too.
#[test]
fn join_group_not_coordinator_is_retried_at_the_rediscovered_coordinator() {
    let mut cluster = cluster(1, 0);
    cluster
        .groups
        .faults
        .push_back(("JoinGroup", ErrorCode::NotCoordinator));
    let mut h = Harness::new(cluster);
    let a = h.add(config("a"), &["t"]);
    h.settle(1_000);
    assert_eq!(h.members[a].sent_group("FindCoordinator").len(), 2);
    assert!(h.members[a].consumer.is_stable());
}

/// KIP-345: another member with the same `group.instance.id` fenced this one: fatal.
#[test]
fn fenced_instance_id_is_fatal() {
    let mut h = Harness::new(cluster(2, 1));
    let mut static_member = config("a");
    static_member.group_instance_id = Some("i-1".to_owned());
    let a = h.add(static_member, &["t"]);
    h.settle(2_000);
    assert_eq!(h.members[a].assignment().len(), 2);
    let joins = h.members[a].sent_group("JoinGroup");
    let GroupRequest::JoinGroup(join) = &joins[0].1 else {
        unreachable!()
    };
    assert_eq!(join.group_instance_id.as_deref(), Some("i-1"));
    h.cluster
        .groups
        .faults
        .push_back(("Heartbeat", ErrorCode::FencedInstanceId));
    h.settle(2_000);
    let events = &h.members[a].events;
    assert!(events.contains(&Event::Lost(topic("t", 2))));
    assert_eq!(
        events.last(),
        Some(&Event::Failed(GroupError::FencedInstanceId))
    );
    assert!(h.members[a].assignment().is_empty());
    assert_eq!(h.members[a].consumer.poll_timeout(), None);
}

/// REBALANCE_IN_PROGRESS from a commit makes a stable member rejoin; ILLEGAL_GENERATION from a
/// heartbeat resets the generation (keeping the member id) and loses the partitions.
#[test]
fn heartbeat_and_commit_errors() {
    let mut h = Harness::new(cluster(2, 1));
    let a = h.add(config("a"), &["t"]);
    h.settle(2_000);
    h.cluster
        .groups
        .faults
        .push_back(("Heartbeat", ErrorCode::IllegalGeneration));
    h.settle(1_500);
    assert!(h.members[a].events.contains(&Event::Lost(topic("t", 2))));
    let joins = h.members[a].sent_group("JoinGroup");
    let GroupRequest::JoinGroup(last) = &joins.last().unwrap().1 else {
        unreachable!()
    };
    assert_eq!(
        last.member_id, "a-1",
        "ILLEGAL_GENERATION keeps the member id"
    );
    assert!(h.members[a].consumer.is_stable());
    h.cluster
        .groups
        .faults
        .push_back(("OffsetCommit", ErrorCode::RebalanceInProgress));
    let generations = h.members[a].joined_generations().len();
    h.members[a].consumer.commit(h.now);
    h.settle(2_000);
    let explicit = h.members[a].commits(CommitReason::Explicit);
    assert!(explicit[0]
        .partitions
        .iter()
        .all(|p| p.error == ErrorCode::RebalanceInProgress));
    assert_eq!(h.members[a].joined_generations().len(), generations + 1);
}

/// The leader watches the group's topics: when one gains partitions it rejoins, and the new
/// partitions are assigned (Kafka's `ConsumerCoordinator.maybeUpdateSubscriptionMetadata`).
#[test]
fn the_leader_rejoins_when_partitions_are_added() {
    let mut h = Harness::new(cluster(2, 1));
    let mut fast_metadata = config("a");
    fast_metadata.consumer.metadata_max_age_ms = 1_000;
    let a = h.add(fast_metadata, &["t"]);
    let b = h.add(config("b"), &["t"]);
    h.settle(4_000);
    assert!(h.members[a].consumer.is_leader());
    assert_eq!(h.owners().len(), 2);
    let fresh = h.cluster.topics["t"][0].clone();
    let fresh = super::FakePartition {
        batches: Vec::new(),
        ..fresh
    };
    h.cluster
        .topics
        .get_mut("t")
        .unwrap()
        .extend([fresh.clone(), fresh]);
    h.settle(5_000);
    assert_eq!(h.owners().len(), 4);
    assert_eq!(h.members[a].assignment().len(), 2);
    assert_eq!(h.members[b].assignment().len(), 2);
    assert_eq!(h.members[b].joined_generations().len(), 2);
}

/// `auto.offset.reset=none` and no committed offset: the partition waits, reported.
#[test]
fn no_committed_offset_and_no_reset_policy_is_reported() {
    let mut h = Harness::new(cluster(1, 2));
    let mut strict = config("a");
    strict.consumer.auto_offset_reset = OffsetResetPolicy::None;
    let a = h.add(strict, &["t"]);
    h.settle(2_000);
    let error = crate::client::ConsumerError::NoResetPolicy {
        offset: -1,
        reason: crate::client::ResetReason::NoPosition,
    };
    let reported = Event::Consumer(ConsumerOutput::Error {
        partition: tp("t", 0),
        error,
    });
    assert!(h.members[a].events.contains(&reported));
    assert!(h.members[a].records.is_empty());
    assert_eq!(h.members[a].consumer.position(&tp("t", 0)), None);
}

/// The coordinator picks the protocol every member supports by their preferences; the leader
/// runs that assignor.
#[test]
fn the_group_runs_the_protocol_all_members_support() {
    let mut h = Harness::new(cluster(4, 0));
    let mut a_config = config("a");
    a_config.partition_assignment_strategy = vec![Assignor::RoundRobin, Assignor::Range];
    let mut b_config = config("b");
    b_config.partition_assignment_strategy = vec![Assignor::RoundRobin];
    let a = h.add(a_config, &["t"]);
    let b = h.add(b_config, &["t"]);
    h.settle(4_000);
    assert_eq!(
        h.cluster.groups.groups["g"].protocol.as_deref(),
        Some("roundrobin")
    );
    assert_eq!(h.members[a].assignment(), [tp("t", 0), tp("t", 2)]);
    assert_eq!(h.members[b].assignment(), [tp("t", 1), tp("t", 3)]);
}

/// The Java heartbeat thread's rule: a session without a heartbeat answer means the
/// coordinator is presumed lost and looked up again; the coordinator meanwhile expired the
/// member, so it loses its partitions and joins again.
#[test]
fn a_session_without_heartbeat_answers_looks_the_coordinator_up_again() {
    let mut h = Harness::new(cluster(2, 1));
    let a = h.add(config("a"), &["t"]);
    h.settle(2_000);
    assert_eq!(h.members[a].sent_group("FindCoordinator").len(), 1);
    // Commits would keep the session alive at the coordinator, as in Kafka: hold them too.
    h.cluster
        .groups
        .black_holes
        .extend(["Heartbeat", "OffsetCommit"]);
    h.settle(9_000);
    assert_eq!(
        h.members[a].sent_group("FindCoordinator").len(),
        1,
        "within the session"
    );
    h.settle(2_000);
    assert_eq!(
        h.members[a].sent_group("FindCoordinator").len(),
        2,
        "the session ran out"
    );
    h.cluster.groups.black_holes.clear();
    h.settle(5_000);
    assert!(h.members[a].events.contains(&Event::Lost(topic("t", 2))));
    // Generation 2 was the group emptied by the expiry.
    assert_eq!(h.members[a].joined_generations(), [1, 3]);
    assert!(h.members[a].consumer.is_stable());
    assert_eq!(h.members[a].assignment(), topic("t", 2));
}

fn ms(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

/// Drains a member's outputs, keeping only group requests.
fn group_requests(member: &mut GroupConsumer) -> Vec<(BrokerId, u64, GroupRequest)> {
    let mut requests = Vec::new();
    while let Some(output) = member.poll_output() {
        if let GroupConsumerOutput::Request {
            to,
            id,
            request: Request::Group(group),
        } = output
        {
            requests.push((to, id, group));
        }
    }
    requests
}

fn found(node_id: BrokerId) -> Result<Response, Disconnected> {
    let coordinator = crate::api::Coordinator {
        node_id,
        ..crate::api::Coordinator::error("g".to_owned(), ErrorCode::None)
    };
    let answer = crate::api::FindCoordinatorResponse {
        coordinators: vec![coordinator],
    };
    Ok(Response::Group(crate::api::GroupResponse::FindCoordinator(
        answer,
    )))
}

/// Exact outputs, by hand: a JoinGroup whose connection drops makes the member look the
/// coordinator up again, and join again only after the backoff.
#[test]
fn a_dropped_join_rediscovers_the_coordinator_and_backs_off() {
    let mut member = GroupConsumer::new(config("a"), vec![1]);
    member.subscribe(ms(0), vec!["t".to_owned()]);
    let sent = group_requests(&mut member);
    assert_eq!(sent.len(), 1);
    let (to, find, GroupRequest::FindCoordinator(request)) = &sent[0] else {
        panic!("{sent:?}")
    };
    assert_eq!(
        (*to, request.keys.as_slice()),
        (1, ["g".to_owned()].as_slice())
    );
    member.handle_response(ms(1), *find, found(3));
    let sent = group_requests(&mut member);
    let [(3, join, GroupRequest::JoinGroup(_))] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    member.handle_response(ms(2), *join, Err(Disconnected));
    let sent = group_requests(&mut member);
    let [(1, find, GroupRequest::FindCoordinator(_))] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    member.handle_response(ms(3), *find, found(3));
    assert!(
        group_requests(&mut member).is_empty(),
        "the join waits for the backoff"
    );
    assert_eq!(
        member.poll_timeout(),
        Some(ms(102)),
        "retry.backoff.ms after the failure"
    );
    member.handle_timeout(ms(102));
    let sent = group_requests(&mut member);
    let [(3, _, GroupRequest::JoinGroup(join))] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert_eq!(join.member_id, "");
}

/// As leader, a member listed twice counts once and a subscription that cannot be read is
/// assigned nothing: network input never panics the member.
#[test]
fn the_leader_survives_garbage_members() {
    let mut member = GroupConsumer::new(config("a"), vec![1]);
    let mut metadata = VecDeque::new();
    let mut sent = Vec::new();
    let mut errors = Vec::new();
    let mut drain = |member: &mut GroupConsumer| {
        while let Some(output) = member.poll_output() {
            match output {
                GroupConsumerOutput::Request {
                    id,
                    request: Request::Metadata(_),
                    ..
                } => {
                    metadata.push_back(id);
                }
                GroupConsumerOutput::Request {
                    id,
                    request: Request::Group(group),
                    ..
                } => {
                    sent.push((id, group));
                }
                GroupConsumerOutput::Error(error) => errors.push(error),
                _ => {}
            }
        }
        (core::mem::take(&mut metadata), core::mem::take(&mut sent))
    };
    member.subscribe(ms(0), vec!["t".to_owned()]);
    let (mut waiting, group) = drain(&mut member);
    member.handle_response(ms(1), group[0].0, found(1));
    let (more, group) = drain(&mut member);
    waiting.extend(more);
    let [(join, GroupRequest::JoinGroup(request))] = group.as_slice() else {
        panic!("{group:?}")
    };
    let mine = request.protocols[0].metadata.clone();
    let listed = |id: &str, metadata: bytes::Bytes| crate::api::JoinGroupMember {
        member_id: id.to_owned(),
        group_instance_id: None,
        metadata,
    };
    let answer = crate::api::JoinGroupResponse {
        error: ErrorCode::None,
        generation_id: 1,
        protocol_type: Some("consumer".to_owned()),
        protocol_name: Some("range".to_owned()),
        leader: "a-1".to_owned(),
        member_id: "a-1".to_owned(),
        members: vec![
            listed("a-1", mine.clone()),
            listed("a-1", mine),
            listed("z-9", bytes::Bytes::from_static(&[0xFF, 0x01, 0x02])),
        ],
    };
    let answer = Ok(Response::Group(crate::api::GroupResponse::JoinGroup(
        answer,
    )));
    member.handle_response(ms(2), *join, answer);
    let topics = vec![crate::api::TopicMetadata {
        error: ErrorCode::None,
        name: "t".to_owned(),
        partitions: (0..2)
            .map(|partition| crate::api::PartitionMetadata {
                error: ErrorCode::None,
                partition,
                leader: 1,
                leader_epoch: 0,
                replicas: vec![1],
                isr: vec![1],
            })
            .collect(),
    }];
    let brokers = vec![1];
    let known = Ok(Response::Metadata(crate::api::MetadataResponse {
        brokers,
        topics,
    }));
    let mut sync = None;
    for at in 3..10 {
        let (more, group) = drain(&mut member);
        waiting.extend(more);
        for (_, request) in group {
            if let GroupRequest::SyncGroup(request) = request {
                sync = Some(request);
            }
        }
        match waiting.pop_front() {
            Some(id) => member.handle_response(ms(at * 100), id, known.clone()),
            None => member.handle_timeout(ms(at * 100)),
        }
    }
    let (_, group) = drain(&mut member);
    sync = sync.or(group.into_iter().find_map(|(_, r)| match r {
        GroupRequest::SyncGroup(request) => Some(request),
        _ => None,
    }));
    assert!(
        matches!(&errors[..], [GroupError::BadSubscription { member_id, .. }] if member_id == "z-9"),
        "{errors:?}"
    );
    let sync = sync.expect("the leader synced");
    let assigned: Vec<(String, Vec<TopicPartition>)> = sync
        .assignments
        .iter()
        .map(|(id, bytes)| {
            let decoded = crate::client::consumer_protocol::Assignment::decode(bytes);
            (id.clone(), decoded.unwrap().0.partitions)
        })
        .collect();
    let expected = [
        ("a-1".to_owned(), topic("t", 2)),
        ("z-9".to_owned(), Vec::new()),
    ];
    assert_eq!(assigned, expected);
}
