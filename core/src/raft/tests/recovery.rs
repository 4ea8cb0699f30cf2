//! Persistence tests: snapshots, restart, torn tails, disk failures.

use super::*;
use crate::bugs::{self, Bug};

#[test]
fn compacted_leader_sends_its_snapshot_and_the_follower_installs_it() {
    // Raft §7: a follower that needs entries the leader compacted gets the snapshot; it
    // persists it, discards its conflicting log and restores the application from it.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(8));
    let mut leader = open(&mut disk, 1, 3);
    elect(&mut leader, &mut disk, &mut rng, at(0));
    let now = leader.poll_timeout().unwrap();
    for data in [b"a", b"b"] {
        leader.propose(now, &mut disk, data.to_vec()).unwrap();
    }
    drain(&mut leader, &mut disk);
    leader
        .handle_message(now, &mut disk, NodeId(2), success(1, 3))
        .unwrap();
    assert_eq!(leader.commit_index(), 3);
    drain(&mut leader, &mut disk);
    leader.compact(3, b"state@3".to_vec()).unwrap();
    assert_eq!((leader.first_index(), leader.last_index()), (4, 3));

    // Node 3 never answered its first probe, for index 1, which is gone now: the retry at the
    // next heartbeat carries the snapshot instead.
    let now = leader.poll_timeout().unwrap();
    leader.handle_timeout(now, &mut disk, &mut rng).unwrap();
    let install = Message::InstallSnapshot {
        term: 1,
        index: 3,
        snapshot_term: 1,
        data: b"state@3".to_vec(),
    };
    let to_3: Vec<Output> = drain(&mut leader, &mut disk)
        .into_iter()
        .filter(|out| matches!(out, Output::Send { to: NodeId(3), .. }))
        .collect();
    let heartbeat = Message::Heartbeat { term: 1, commit: 0 };
    assert_eq!(to_3, vec![send(3, heartbeat), send(3, install.clone())]);
    assert_eq!(leader.stats().snapshots_sent, 1);

    let mut follower_disk = MemDisk::default();
    let mut follower = open(&mut follower_disk, 3, 3);
    let stale = Message::AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 1, b""), entry(2, 1, b"z")],
        commit: 0,
    };
    follower
        .handle_message(now, &mut follower_disk, NodeId(1), stale)
        .unwrap();
    drain(&mut follower, &mut follower_disk);
    follower
        .handle_message(now, &mut follower_disk, NodeId(1), install)
        .unwrap();
    let restore = Output::RestoreSnapshot {
        index: 3,
        term: 1,
        data: b"state@3".to_vec(),
    };
    let reply = Message::InstallSnapshotResponse {
        term: 1,
        match_index: 3,
    };
    assert_eq!(
        drain(&mut follower, &mut follower_disk),
        vec![restore.clone(), send(1, reply.clone())]
    );
    assert_eq!(
        (
            follower.commit_index(),
            follower.first_index(),
            follower.last_index()
        ),
        (3, 4, 3)
    );

    // Reopened, it restores the snapshot first and keeps its place.
    let mut reopened = open(&mut follower_disk, 3, 3);
    assert_eq!(drain(&mut reopened, &mut follower_disk), vec![restore]);
    assert_eq!(reopened.snapshot_index_term(), (3, 1));

    // The leader resumes normal replication after the snapshot.
    leader
        .handle_message(now, &mut disk, NodeId(3), reply)
        .unwrap();
    leader.propose(now, &mut disk, b"c".to_vec()).unwrap();
    let out = drain(&mut leader, &mut disk);
    let to_3 = out
        .iter()
        .find(|o| matches!(o, Output::Send { to: NodeId(3), .. }));
    let Some(Output::Send {
        msg: Message::AppendEntries { prev_index, .. },
        ..
    }) = to_3
    else {
        panic!("{out:?}");
    };
    assert_eq!(*prev_index, 3);
}

#[test]
fn restart_recovers_term_vote_and_log() {
    // Raft Figure 2: currentTerm, votedFor and log[] are persistent state.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let append = Message::AppendEntries {
        term: 3,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 2, b"x"), entry(2, 3, b"yy")],
        commit: 1,
    };
    node.handle_message(at(0), &mut disk, NodeId(1), append)
        .unwrap();
    let request = Message::RequestVote {
        term: 4,
        last_log_index: 2,
        last_log_term: 3,
    };
    node.handle_message(at(500), &mut disk, NodeId(3), request)
        .unwrap();
    drain(&mut node, &mut disk);
    let reopened = open(&mut disk, 2, 3);
    let vote = (!bugs::active(Bug::RaftVoteNotPersisted)).then_some(NodeId(3));
    assert_eq!((reopened.term(), reopened.voted_for()), (4, vote));
    assert_eq!(reopened.last_index(), 2);
    assert_eq!(reopened.entry(2), Some(&entry(2, 3, b"yy")));
    assert_eq!(
        reopened.commit_index(),
        0,
        "the commit index is learned again"
    );
    assert_eq!((reopened.role(), reopened.leader()), (Role::Follower, None));
}

#[test]
fn torn_log_tail_is_cut_at_open() {
    // Raft Figure 2 persists entries before acknowledging them, so a torn last record was never
    // acknowledged and recovery may cut it. A corrupt record is cut with everything after it.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let append = Message::AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![
            entry(1, 1, b"first"),
            entry(2, 1, b"second"),
            entry(3, 1, b"third"),
        ],
        commit: 0,
    };
    node.handle_message(at(0), &mut disk, NodeId(1), append)
        .unwrap();
    let path = format!("{DIR}/log");
    let mut bytes = disk.contents(&path).unwrap().to_vec();
    bytes.truncate(bytes.len() - 3);
    disk.set_contents(&path, bytes.clone());
    let reopened = open(&mut disk, 2, 3);
    assert_eq!(reopened.last_index(), 2);
    assert!(reopened.stats().tail_cut_bytes > 0);
    let cut_len = disk.contents(&path).unwrap().len();
    assert!(cut_len < bytes.len(), "the cut is made on disk too");

    let mut damaged = disk.contents(&path).unwrap().to_vec();
    damaged[cut_len - 2] ^= 0xFF;
    disk.set_contents(&path, damaged);
    let mut reopened = open(&mut disk, 2, 3);
    assert_eq!(reopened.last_index(), 1);
    // The node keeps working after the cut: the leader re-sends what was lost.
    let append = Message::AppendEntries {
        term: 1,
        prev_index: 1,
        prev_term: 1,
        entries: vec![entry(2, 1, b"second")],
        commit: 2,
    };
    reopened
        .handle_message(at(1), &mut disk, NodeId(1), append)
        .unwrap();
    assert_eq!(drain(&mut reopened, &mut disk)[0], send(1, success(1, 2)));
    assert_eq!(open(&mut disk, 2, 3).last_index(), 2);
}

#[test]
fn disk_error_fails_the_node_until_reopened() {
    // STYLE §5: an environmental failure is an input; the node stops and must be reopened.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(9));
    let mut node = open(&mut disk, 1, 3);
    node.handle_timeout(at(0), &mut disk, &mut rng).unwrap();
    let request = Message::RequestVote {
        term: 2,
        last_log_index: 0,
        last_log_term: 0,
    };
    node.handle_message(at(1), &mut disk, NodeId(2), request)
        .unwrap();
    // The term and vote go out as a persist, and the granted vote waits behind it.
    let (id, dir, name, bytes) = next_replace(&mut node, "the vote's persist");
    disk.fail_after_calls = Some(1);
    let result = crate::disk::replace_file(&mut disk, &dir, &name, &bytes);
    assert!(result.is_err());
    let error = node.handle_persisted(&mut disk, id, result).unwrap_err();
    assert!(matches!(error, RaftError::Disk(_)), "{error}");
    assert!(error.is_fatal());
    assert_eq!(node.poll_output(), None);
    assert_eq!(node.poll_timeout(), None);
    let again = node.handle_timeout(at(2), &mut disk, &mut rng).unwrap_err();
    assert!(matches!(again, RaftError::Failed(_)));
    assert!(matches!(
        node.propose(at(2), &mut disk, Vec::new()),
        Err(ProposeError::Failed(_))
    ));
    disk.fail_after_calls = None;
    let reopened = open(&mut disk, 1, 3);
    assert!(reopened.term() <= 2);
}

#[cfg(feature = "bug-switches")]
#[test]
fn a_vote_not_persisted_is_forgotten_by_a_restart() {
    bugs::with(
        Bug::RaftVoteNotPersisted,
        restart_recovers_term_vote_and_log,
    );
}
