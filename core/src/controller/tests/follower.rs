//! A broker following the metadata log (Build item 3 of the controller issue; KIP-595 observers,
//! KIP-631 broker roles): the batches a [`QuorumController`] decides become committed entries,
//! a [`MetadataFollower`] applies them, and the partition roles it reports are checked exactly.

use std::collections::BTreeMap;

use super::*;
use crate::raft::{CommittedRead, Entry};

/// The broker whose view the tests check.
const ME: BrokerId = 1;

/// An active controller whose every decision becomes one committed entry of a log, after a
/// Raft leader's empty first entry.
struct Log {
    h: Harness,
    entries: Vec<Entry>,
    epochs: BTreeMap<BrokerId, i64>,
}

impl Log {
    fn new() -> Log {
        let config = ControllerConfig {
            auto_leader_rebalance_enable: false,
            ..ControllerConfig::default()
        };
        let noop = Entry {
            term: 1,
            index: 1,
            data: Vec::new(),
        };
        Log {
            h: Harness::new(config),
            entries: vec![noop],
            epochs: BTreeMap::new(),
        }
    }

    fn commit<T>(&mut self, result: ControllerResult<T>) -> T {
        if !result.records.is_empty() {
            let index = self.entries.len() as u64 + 1;
            let data = encode_batch(&result.records);
            self.entries.push(Entry {
                term: 1,
                index,
                data,
            });
        }
        self.h.commit(result)
    }

    fn commit_index(&self) -> u64 {
        self.entries.len() as u64
    }

    fn register(&mut self, broker_id: BrokerId) -> i64 {
        let request = RegisterBrokerRequest {
            broker_id,
            incarnation_id: Uuid(1000 + broker_id as u128),
            listeners: Vec::new(),
            rack: None,
            previous_broker_epoch: -1,
        };
        let result = self.h.controller.register_broker(self.h.now, &request);
        let epoch = self.commit(result).expect("registered");
        self.epochs.insert(broker_id, epoch);
        epoch
    }

    fn heartbeat(&mut self, broker_id: BrokerId, caught_up: bool, want_fence: bool) -> bool {
        let request = HeartbeatRequest {
            broker_id,
            broker_epoch: self.epochs[&broker_id],
            caught_up,
            want_fence,
            want_shutdown: false,
        };
        let result = self.h.controller.broker_heartbeat(self.h.now, &request);
        !self.commit(result).expect("heartbeat").is_fenced
    }

    fn create(&mut self, name: &str, partitions: i32, rf: i16) -> Uuid {
        let request = CreateTopicRequest {
            name: name.to_string(),
            partitions,
            replication_factor: rf,
            unclean_leader_election_enable: None,
        };
        let result = self.h.controller.create_topics(&mut self.h.rng, &[request]);
        self.commit(result).remove(0).expect("created").topic_id
    }

    fn delete(&mut self, name: &str) {
        let result = self.h.controller.delete_topics(&[name.to_string()]);
        self.commit(result).remove(0).expect("deleted");
    }

    /// What a voter's `read_committed` answers: up to `count` entries from `from`.
    fn read(&self, from: u64, count: usize) -> CommittedRead {
        let commit = self.commit_index();
        if from > commit {
            return CommittedRead::UpToDate { commit };
        }
        let start = (from - 1) as usize;
        let end = (start + count).min(self.entries.len());
        CommittedRead::Entries {
            entries: self.entries[start..end].to_vec(),
            commit,
        }
    }

    /// Feeds `follower` everything committed, `count` entries per read; returns the changes.
    fn follow(&self, follower: &mut MetadataFollower, count: usize) -> Vec<PartitionRole> {
        let mut changes = Vec::new();
        while follower.fetch_from() <= self.commit_index() {
            follower
                .handle_read(self.read(follower.fetch_from(), count))
                .expect("a good read");
            changes.extend(std::iter::from_fn(|| follower.poll_change()));
        }
        assert_eq!(follower.applied_index(), self.commit_index());
        assert_eq!(follower.image(), self.h.controller.image());
        changes
    }

    /// Every leader asks to add its live replicas back to the ISR (AlterPartition, KIP-497).
    fn expand_isrs(&mut self) {
        let image = self.h.controller.image();
        let requests: Vec<AlterPartitionRequest> = image
            .partitions()
            .filter(|(_, _, s)| s.leader >= 0)
            .filter_map(|(topic_id, partition, s)| {
                let missing = s
                    .replicas
                    .iter()
                    .filter(|b| !s.isr.contains(b) && image.is_active_broker(**b));
                let new_isr: Vec<BrokerId> = s.isr.iter().chain(missing).copied().collect();
                (new_isr.len() > s.isr.len()).then(|| AlterPartitionRequest {
                    broker_id: s.leader,
                    broker_epoch: self.epochs[&s.leader],
                    topic_id,
                    partition,
                    leader_epoch: s.leader_epoch,
                    partition_epoch: s.partition_epoch,
                    new_isr,
                    leader_recovery: s.leader_recovery,
                })
            })
            .collect();
        for request in requests {
            let result = self.h.controller.alter_partition(&request);
            self.commit(result).expect("ISR expanded");
        }
    }

    fn replicas(&self, topic_id: Uuid, partition: i32) -> Vec<BrokerId> {
        self.h.partition(topic_id, partition).replicas
    }
}

fn change(topic_id: Uuid, partition: i32, role: Role) -> PartitionRole {
    PartitionRole {
        topic_id,
        partition,
        role,
    }
}

fn leader(leader_epoch: i32, partition_epoch: i32, isr: &[BrokerId]) -> Role {
    Role::Leader {
        leader_epoch,
        partition_epoch,
        isr: isr.to_vec(),
    }
}

fn follower_of(leader: BrokerId, leader_epoch: i32) -> Role {
    Role::Follower {
        leader,
        leader_epoch,
    }
}

fn without(list: &[BrokerId], gone: BrokerId) -> Vec<BrokerId> {
    list.iter().copied().filter(|b| *b != gone).collect()
}

/// Three brokers registered and unfenced, broker 1's heartbeats saying `caught_up` only once
/// its follower has applied its registration (KIP-631).
fn three_brokers(log: &mut Log, me: &mut MetadataFollower) {
    for broker in 0..3 {
        let epoch = log.register(broker);
        if broker == ME {
            assert!(!me.is_registered(epoch), "not applied yet");
            assert!(!log.heartbeat(ME, me.is_registered(epoch), false));
            assert!(log.follow(me, 1).is_empty());
            assert!(me.is_registered(epoch));
            assert!(!me.is_registered(epoch + 1));
            assert!(log.heartbeat(ME, me.is_registered(epoch), false));
        } else {
            assert!(log.heartbeat(broker, true, false));
        }
    }
    assert!(log.follow(me, 1).is_empty());
}

/// KIP-631: a broker leads or follows each partition exactly as the applied metadata says,
/// one change per partition whose role for it changed, in log order: creation, a fenced
/// leader's partitions moving, its own fencing, deletion.
#[test]
fn roles_follow_the_metadata_log_exactly() {
    let mut log = Log::new();
    let mut me = MetadataFollower::new(ME, ImageLimits::default());
    three_brokers(&mut log, &mut me);

    let t = log.create("t", 3, 3);
    let replicas: Vec<Vec<BrokerId>> = (0..3).map(|p| log.replicas(t, p)).collect();
    let expected: Vec<PartitionRole> = (0..3)
        .map(|p| {
            let r = &replicas[p as usize];
            let role = match r[0] {
                ME => leader(0, 0, r),
                other => follower_of(other, 0),
            };
            change(t, p, role)
        })
        .collect();
    assert_eq!(log.follow(&mut me, 4), expected);

    // Broker 0 is fenced: its leaderships go to the next replica in its ISR, and it leaves
    // every ISR. Broker 1 hears of the partitions it now leads (or leads with a smaller ISR)
    // and of new leaders to follow; an ISR change where it follows is no change of role.
    assert!(!log.heartbeat(0, true, true));
    let mut expected = Vec::new();
    for p in 0..3 {
        let r = &replicas[p as usize];
        let isr = without(r, 0);
        let role = match (r[0], isr[0]) {
            (0, ME) => leader(1, 1, &isr),
            (0, other) => follower_of(other, 1),
            (ME, _) => leader(0, 1, &isr),
            _ => continue,
        };
        expected.push(change(t, p, role));
    }
    assert_eq!(log.follow(&mut me, 1), expected);

    // Broker 1 is fenced itself: every partition it leads moves to broker 2, the last one in
    // the ISR; where it follows nothing changes for it.
    assert!(!log.heartbeat(ME, true, true));
    let led: Vec<i32> = (0..3)
        .filter(|p| log.h.partition(t, *p).leader == 2)
        .collect();
    let expected: Vec<PartitionRole> = (0..3)
        .filter(|p| matches!(me.role(t, *p), Role::Leader { .. }))
        .map(|p| {
            let Some(epoch) = me.role(t, p).leader_epoch() else {
                unreachable!()
            };
            change(t, p, follower_of(2, epoch + 1))
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(log.follow(&mut me, 1), expected);
    assert_eq!(led, vec![0, 1, 2]);

    log.delete("t");
    let expected: Vec<PartitionRole> = (0..3).map(|p| change(t, p, Role::None)).collect();
    assert_eq!(log.follow(&mut me, 1), expected);
    assert_eq!(me.stats().entries_applied, log.commit_index());
}

/// A broker that is not a replica hears nothing of a partition; one that is hears of it even
/// when its leader is elected in the same read as other entries (several entries per read).
#[test]
fn only_replicas_hear_of_a_partition() {
    let mut log = Log::new();
    let mut me = MetadataFollower::new(ME, ImageLimits::default());
    three_brokers(&mut log, &mut me);
    let t = log.create("single", 6, 1);
    let mine: Vec<i32> = (0..6).filter(|p| log.replicas(t, *p) == vec![ME]).collect();
    assert_eq!(mine.len(), 2, "leaders are spread evenly");
    let expected: Vec<PartitionRole> = mine
        .iter()
        .map(|p| change(t, *p, leader(0, 0, &[ME])))
        .collect();
    assert_eq!(log.follow(&mut me, 100), expected);
}

/// KIP-630: a snapshot replaces the image, and the roles it reports are relative to the image
/// it replaced — the same final roles as applying the entries it covers, without the steps in
/// between.
#[test]
fn a_snapshot_yields_roles_relative_to_the_previous_image() {
    let mut log = Log::new();
    let mut me = MetadataFollower::new(ME, ImageLimits::default());
    three_brokers(&mut log, &mut me);
    let gone = log.create("gone", 2, 3);
    let kept = log.create("kept", 3, 3);
    assert_eq!(log.follow(&mut me, 10).len(), 5);
    let before: BTreeMap<(Uuid, i32), Role> = [gone, kept]
        .iter()
        .flat_map(|t| (0..3).map(move |p| (*t, p)))
        .map(|(t, p)| ((t, p), me.role(t, p)))
        .collect();

    log.delete("gone");
    assert!(!log.heartbeat(0, true, true));
    let new = log.create("new", 2, 2);
    let snapshot = CommittedRead::Snapshot {
        index: log.commit_index(),
        term: 1,
        data: log.h.controller.image().encode_snapshot(),
    };
    let mut stepwise = me.clone();
    log.follow(&mut stepwise, 1);

    me.handle_read(snapshot.clone()).unwrap();
    let changes: Vec<PartitionRole> = std::iter::from_fn(|| me.poll_change()).collect();
    assert_eq!(me.image(), stepwise.image());
    assert_eq!(me.applied_index(), log.commit_index());
    assert_eq!(me.stats().snapshots_loaded, 1);
    let mut expected: Vec<PartitionRole> = [(gone, 2), (kept, 3), (new, 2)]
        .iter()
        .flat_map(|(t, n)| (0..*n).map(move |p| (*t, p)))
        .filter_map(|(t, p)| {
            let was = before.get(&(t, p)).cloned().unwrap_or(Role::None);
            let is = stepwise.role(t, p);
            (was != is).then(|| change(t, p, is))
        })
        .collect();
    expected.sort_by_key(|c| (c.topic_id, c.partition));
    assert!(expected
        .iter()
        .any(|c| c.topic_id == gone && c.role == Role::None));
    assert_eq!(changes, expected);

    // A fresh broker learns every role it has from the snapshot alone.
    let mut fresh = MetadataFollower::new(ME, ImageLimits::default());
    fresh.handle_read(snapshot.clone()).unwrap();
    let changes: Vec<PartitionRole> = std::iter::from_fn(|| fresh.poll_change()).collect();
    let mut expected: Vec<PartitionRole> = [(kept, 3), (new, 2)]
        .iter()
        .flat_map(|(t, n)| (0..*n).map(move |p| (*t, p)))
        .filter(|(t, p)| stepwise.role(*t, *p) != Role::None)
        .map(|(t, p)| change(t, p, stepwise.role(t, p)))
        .collect();
    expected.sort_by_key(|c| (c.topic_id, c.partition));
    assert_eq!(changes, expected);

    // The same snapshot again is stale: nothing changes.
    let image = me.image().clone();
    let stale = FollowError::StaleSnapshot {
        index: log.commit_index(),
        applied: log.commit_index(),
    };
    assert_eq!(me.handle_read(snapshot), Err(stale));
    assert_eq!(me.poll_change(), None);
    assert_eq!(me.image(), &image);
}

/// A read that does not continue the applied log exactly, or holds an entry that is not a
/// metadata batch or not committed, is refused whole: the follower is left as it was and
/// fetches again.
#[test]
fn bad_reads_are_refused_and_change_nothing() {
    let mut log = Log::new();
    let mut me = MetadataFollower::new(ME, ImageLimits::default());
    three_brokers(&mut log, &mut me);
    let applied = me.applied_index();
    log.create("t", 3, 3);
    assert!(!log.heartbeat(0, true, true));
    let commit = log.commit_index();
    assert!(commit >= applied + 2);
    let good = |from: u64| log.entries[(from - 1) as usize..].to_vec();
    let mut garbled = good(applied + 1);
    garbled[1].data = vec![0xff; 9];
    let mut lower_term = good(applied + 1);
    lower_term[0].term = 0;
    let cases = [
        (
            good(applied + 2),
            commit,
            FollowError::Gap {
                expected: applied + 1,
                found: applied + 2,
            },
        ),
        (
            good(applied),
            commit,
            FollowError::IndexBackwards {
                expected: applied + 1,
                found: applied,
            },
        ),
        (
            garbled,
            commit,
            FollowError::Undecodable {
                index: applied + 2,
                error: decode_batch(&[0xff; 9]).unwrap_err(),
            },
        ),
        (
            good(applied + 1),
            applied + 1,
            FollowError::BeyondCommit {
                index: applied + 2,
                commit: applied + 1,
            },
        ),
        (
            lower_term,
            commit,
            FollowError::TermBackwards {
                index: applied + 1,
                term: 0,
                previous: 1,
            },
        ),
    ];
    let image = me.image().clone();
    for (refused, (entries, commit, error)) in cases.into_iter().enumerate() {
        let read = CommittedRead::Entries { entries, commit };
        assert_eq!(me.handle_read(read), Err(error));
        assert_eq!(me.image(), &image);
        assert_eq!(me.applied_index(), applied);
        assert_eq!(me.poll_change(), None);
        assert_eq!(me.stats().reads_refused, refused as u64 + 1);
    }
    let garbage = CommittedRead::Snapshot {
        index: commit,
        term: 1,
        data: vec![0, 1, 2],
    };
    assert!(matches!(
        me.handle_read(garbage),
        Err(FollowError::UndecodableSnapshot { .. })
    ));
    assert_eq!((me.image(), me.applied_index()), (&image, applied));

    // A read while changes are queued is refused too, so the queue stays one read long.
    me.handle_read(log.read(applied + 1, 1)).unwrap();
    assert!(me.poll_change().is_some());
    let pending = me.handle_read(log.read(applied + 2, 1));
    assert!(matches!(pending, Err(FollowError::ChangesPending { .. })));
    while me.poll_change().is_some() {}
    log.follow(&mut me, 1);
}

/// A broker that is behind never acts on an epoch it has not applied, and the leader epochs
/// it is told for a partition only grow: checked over many fencings and returns, read in
/// random chunks, against the controller's own image at every step.
#[test]
fn reported_epochs_never_decrease() {
    let mut log = Log::new();
    let mut me = MetadataFollower::new(ME, ImageLimits::default());
    three_brokers(&mut log, &mut me);
    for broker in 3..5 {
        log.register(broker);
        assert!(log.heartbeat(broker, true, false));
    }
    let topics = [log.create("a", 8, 3), log.create("b", 5, 2)];
    // The roles as the stream of changes tells them, which must match the controller's image.
    let mut reported: BTreeMap<(Uuid, i32), Role> = BTreeMap::new();
    let (mut moves, mut led) = (0, 0);
    for round in 0..90 {
        match log.h.rng.below(3) {
            0 => {
                let broker = log.h.rng.below(5) as BrokerId;
                let fenced = !log.h.controller.image().is_active_broker(broker);
                log.heartbeat(broker, true, !fenced);
            }
            1 => log.expand_isrs(),
            _ => {
                let result = log
                    .h
                    .controller
                    .elect_leaders(ElectionType::Preferred, None);
                log.commit(result);
            }
        }
        if round % 3 != 0 {
            continue;
        }
        // Only what is applied shows: the follower lags the log until it reads.
        let chunk = 1 + log.h.rng.below(4) as usize;
        while me.fetch_from() <= log.commit_index() {
            me.handle_read(log.read(me.fetch_from(), chunk)).unwrap();
            for c in std::iter::from_fn(|| me.poll_change()) {
                let last = reported.insert((c.topic_id, c.partition), c.role.clone());
                assert_ne!(last.as_ref(), Some(&c.role), "a change changes something");
                let last_epoch = last.as_ref().and_then(Role::leader_epoch);
                if let (Some(was), Some(is)) = (last_epoch, c.role.leader_epoch()) {
                    assert!(is >= was, "{c:?} after {last:?}");
                }
                moves += 1;
            }
        }
        for t in topics {
            for (p, state) in log
                .h
                .controller
                .image()
                .topic(t)
                .unwrap()
                .partitions
                .iter()
                .enumerate()
            {
                let p = p as i32;
                let expected = match state.leader {
                    _ if !state.replicas.contains(&ME) => Role::None,
                    ME => leader(state.leader_epoch, state.partition_epoch, &state.isr),
                    other => follower_of(other, state.leader_epoch),
                };
                led += usize::from(matches!(expected, Role::Leader { .. }));
                assert_eq!(me.role(t, p), expected);
                let told = reported.get(&(t, p)).cloned().unwrap_or(Role::None);
                assert_eq!(told, expected, "{t}-{p} in round {round}");
            }
        }
    }
    assert!(moves > 40, "only {moves} role changes");
    assert!(led > 20, "led only {led} times when checked");
}

fn partition(topic_id: Uuid, leader_epoch: i32) -> MetadataRecord {
    MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition: 0,
        replicas: vec![ME, 2],
        isr: vec![ME, 2],
        leader: ME,
        leader_epoch,
        partition_epoch: leader_epoch,
    })
}

fn topic(topic_id: Uuid) -> MetadataRecord {
    MetadataRecord::Topic {
        name: "reused".to_string(),
        topic_id,
        unclean_leader_election_enable: None,
    }
}

/// No controller reuses a topic id (they are random 128-bit ids), but a log that does must
/// not trip the follower: the old partition is reported gone before the new one's role, so
/// each partition's epochs still only grow, whether the log is read entry by entry or the
/// reuse arrives inside a snapshot.
#[test]
fn a_reused_topic_id_starts_the_partition_over() {
    let id = Uuid(77);
    let batches = [
        vec![topic(id), partition(id, 5)],
        vec![
            MetadataRecord::RemoveTopic { topic_id: id },
            topic(id),
            partition(id, 0),
        ],
    ];
    let entries: Vec<Entry> = batches
        .iter()
        .zip(1..)
        .map(|(records, index)| Entry {
            term: 1,
            index,
            data: encode_batch(records),
        })
        .collect();
    let read = |from: usize| CommittedRead::Entries {
        entries: entries[from..=from].to_vec(),
        commit: 2,
    };
    let mut me = MetadataFollower::new(ME, ImageLimits::default());
    me.handle_read(read(0)).unwrap();
    let mut snapshotted = me.clone();
    assert_eq!(
        me.poll_change(),
        Some(change(id, 0, leader(5, 5, &[ME, 2])))
    );
    assert_eq!(me.poll_change(), None);
    while snapshotted.poll_change().is_some() {}
    me.handle_read(read(1)).unwrap();
    let expected = vec![
        change(id, 0, Role::None),
        change(id, 0, leader(0, 0, &[ME, 2])),
    ];
    let changes: Vec<PartitionRole> = std::iter::from_fn(|| me.poll_change()).collect();
    assert_eq!(changes, expected);
    let snapshot = CommittedRead::Snapshot {
        index: 2,
        term: 1,
        data: me.image().encode_snapshot(),
    };
    snapshotted.handle_read(snapshot).unwrap();
    let changes: Vec<PartitionRole> = std::iter::from_fn(|| snapshotted.poll_change()).collect();
    assert_eq!(changes, expected);
}

proptest::proptest! {
    /// Whatever a server sends, the follower refuses or applies it; it never panics.
    #[test]
    fn garbage_reads_never_panic(
        index in 0u64..4,
        term in 0u64..3,
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        snapshot in proptest::prelude::any::<bool>(),
    ) {
        let mut me = MetadataFollower::new(ME, ImageLimits::default());
        let read = if snapshot {
            CommittedRead::Snapshot { index, term, data }
        } else {
            let entry = Entry { term, index, data };
            CommittedRead::Entries { entries: vec![entry], commit: index }
        };
        if me.handle_read(read).is_err() {
            proptest::prop_assert_eq!(me.applied_index(), 0);
            proptest::prop_assert_eq!(me.poll_change(), None);
        }
    }
}
