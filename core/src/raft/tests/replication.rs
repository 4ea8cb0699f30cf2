//! Replication tests: the consistency check, back-off, the commit rules, refusals.

use super::*;
use crate::bugs::{self, Bug};

#[test]
fn stale_leader_is_told_the_newer_term() {
    // Raft §5.1: a request with an old term is rejected with the current term.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    node.handle_message(
        at(0),
        &mut disk,
        NodeId(3),
        Message::Heartbeat { term: 5, commit: 0 },
    )
    .unwrap();
    drain(&mut node, &mut disk);
    let old = Message::AppendEntries {
        term: 3,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 3, b"x")],
        commit: 0,
    };
    node.handle_message(at(1), &mut disk, NodeId(1), old)
        .unwrap();
    let reply = Message::AppendEntriesResponse {
        term: 5,
        outcome: AppendOutcome::StaleTerm,
    };
    assert_eq!(drain(&mut node, &mut disk), vec![send(1, reply)]);
    assert_eq!(node.last_index(), 0);
}

#[test]
fn follower_conflict_reply_carries_the_back_off_hint() {
    // Raft §5.3: on a failed consistency check the follower returns the conflicting term and
    // the first index it stores for it, or its last index + 1 when its log is too short.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let entries = vec![
        entry(1, 1, b""),
        entry(2, 1, b""),
        entry(3, 2, b""),
        entry(4, 2, b""),
    ];
    let append = Message::AppendEntries {
        term: 2,
        prev_index: 0,
        prev_term: 0,
        entries,
        commit: 0,
    };
    node.handle_message(at(0), &mut disk, NodeId(1), append)
        .unwrap();
    assert_eq!(drain(&mut node, &mut disk), vec![send(1, success(2, 4))]);
    let cases = [(4, 3, Some(2), 3), (9, 3, None, 5)];
    for (prev_index, prev_term, conflict_term, first_index) in cases {
        let probe = Message::AppendEntries {
            term: 3,
            prev_index,
            prev_term,
            entries: Vec::new(),
            commit: 1,
        };
        node.handle_message(at(1), &mut disk, NodeId(3), probe)
            .unwrap();
        let outcome = AppendOutcome::Conflict {
            prev_index,
            conflict_term,
            first_index,
        };
        let reply = Message::AppendEntriesResponse { term: 3, outcome };
        assert_eq!(drain(&mut node, &mut disk), vec![send(3, reply)]);
    }
    // The new leader's entries replace the conflicting suffix (truncated durably).
    let append = Message::AppendEntries {
        term: 3,
        prev_index: 2,
        prev_term: 1,
        entries: vec![entry(3, 3, b"new")],
        commit: 3,
    };
    node.handle_message(at(2), &mut disk, NodeId(3), append)
        .unwrap();
    assert_eq!(drain(&mut node, &mut disk)[0], send(3, success(3, 3)));
    assert_eq!(
        (node.last_index(), node.term_at(3), node.commit_index()),
        (3, Some(3), 3)
    );
    assert_eq!(node.stats().log_truncations, 1);
    let reopened = open(&mut disk, 2, 3);
    assert_eq!((reopened.last_index(), reopened.term_at(3)), (3, Some(3)));
}

#[test]
fn follower_commit_stops_at_the_last_new_entry() {
    // Raft Figure 2: commitIndex = min(leaderCommit, index of last new entry), because entries
    // beyond what the request verified may be a deposed leader's.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let old = Message::AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 1, b"a"), entry(2, 1, b"b"), entry(3, 1, b"c")],
        commit: 0,
    };
    node.handle_message(at(0), &mut disk, NodeId(1), old)
        .unwrap();
    drain(&mut node, &mut disk);
    let new = Message::AppendEntries {
        term: 2,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 1, b"a")],
        commit: 3,
    };
    node.handle_message(at(1), &mut disk, NodeId(3), new)
        .unwrap();
    assert_eq!(node.commit_index(), 1);
    assert_eq!(node.last_index(), 3, "a matching prefix never truncates");
}

#[test]
fn leader_backs_off_by_whole_terms() {
    // Raft §5.3 optimization: with the follower's hint the leader skips a whole term per round
    // trip; a term it also has resumes right after its own last entry of that term.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(6));
    let mut node = open(&mut disk, 1, 3);
    let history = Message::AppendEntries {
        term: 3,
        prev_index: 0,
        prev_term: 0,
        entries: (1..=6)
            .map(|i| entry(i, if i <= 3 { 1 } else { 3 }, b""))
            .collect(),
        commit: 0,
    };
    node.handle_message(at(0), &mut disk, NodeId(2), history)
        .unwrap();
    drain(&mut node, &mut disk);
    elect(&mut node, &mut disk, &mut rng, at(1_000));
    let now = at(1_000);
    // The probe went out at prev_index 6; the follower holds term 2 from index 3 on.
    let conflict = AppendOutcome::Conflict {
        prev_index: 6,
        conflict_term: Some(2),
        first_index: 3,
    };
    let reply = Message::AppendEntriesResponse {
        term: 4,
        outcome: conflict,
    };
    node.handle_message(now, &mut disk, NodeId(3), reply)
        .unwrap();
    let out = drain(&mut node, &mut disk);
    let Output::Send {
        msg:
            Message::AppendEntries {
                prev_index,
                prev_term,
                ..
            },
        ..
    } = &out[0]
    else {
        panic!("{out:?}");
    };
    assert_eq!(
        (*prev_index, *prev_term),
        (2, 1),
        "term 2 is unknown here: jump to its start"
    );
    let conflict = AppendOutcome::Conflict {
        prev_index: 2,
        conflict_term: Some(1),
        first_index: 1,
    };
    let reply = Message::AppendEntriesResponse {
        term: 4,
        outcome: conflict,
    };
    node.handle_message(now, &mut disk, NodeId(3), reply)
        .unwrap();
    let stale = AppendOutcome::Conflict {
        prev_index: 6,
        conflict_term: None,
        first_index: 1,
    };
    let reply = Message::AppendEntriesResponse {
        term: 4,
        outcome: stale,
    };
    node.handle_message(now, &mut disk, NodeId(3), reply)
        .unwrap();
    let out = drain(&mut node, &mut disk);
    assert_eq!(out.len(), 1, "a stale conflict reply is ignored: {out:?}");
    let Output::Send {
        msg:
            Message::AppendEntries {
                prev_index,
                entries,
                ..
            },
        ..
    } = &out[0]
    else {
        panic!("{out:?}");
    };
    assert_eq!(
        *prev_index, 1,
        "we hold term 1 through index 3, but the back-off only goes down"
    );
    assert_eq!(entries.first().map(|e| e.index), Some(2));
}

#[test]
fn figure_8_old_term_entry_is_not_committed_by_counting() {
    // Raft §5.4.2 and Figure 8: a leader of term 4 holding an entry of term 2 on a majority
    // must not commit it by counting replicas; it commits once an entry of term 4 is on a
    // majority, and the term-2 entry with it. The planted bug
    // `Bug::RaftCommitOldTermByCount` commits it early.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(7));
    let mut config = config(1, 5);
    config.append_entries_max = 1;
    let mut node = RaftNode::open(&mut disk, DIR, config.clone()).unwrap();
    for (prev_term, new) in [(0, entry(1, 1, b"one")), (1, entry(2, 2, b"two"))] {
        let history = Message::AppendEntries {
            term: 2,
            prev_index: new.index - 1,
            prev_term,
            entries: vec![new],
            commit: 1,
        };
        node.handle_message(at(0), &mut disk, NodeId(5), history)
            .unwrap();
    }
    node.handle_message(
        at(1),
        &mut disk,
        NodeId(5),
        Message::Heartbeat { term: 3, commit: 1 },
    )
    .unwrap();
    drain(&mut node, &mut disk);
    elect(&mut node, &mut disk, &mut rng, at(1_000));
    assert_eq!(
        (node.term(), node.last_index(), node.term_at(3)),
        (4, 3, Some(4))
    );
    let now = at(1_000);
    // Nodes 2 and 3 take index 2 (term 2) but not yet index 3 (term 4): counted, not committed.
    for peer in [2, 3] {
        node.handle_message(now, &mut disk, NodeId(peer), success(4, 2))
            .unwrap();
    }
    let bug = bugs::active(Bug::RaftCommitOldTermByCount);
    assert_eq!(node.commit_index(), if bug { 2 } else { 1 });
    node.handle_message(now, &mut disk, NodeId(2), success(4, 3))
        .unwrap();
    assert_eq!(
        node.commit_index(),
        if bug { 2 } else { 1 },
        "one replica of 3 is too few"
    );
    node.handle_message(now, &mut disk, NodeId(3), success(4, 3))
        .unwrap();
    assert_eq!(node.commit_index(), 3);
    let applied: Vec<u64> = drain(&mut node, &mut disk)
        .into_iter()
        .filter_map(|out| match out {
            Output::Apply { index, .. } => Some(index),
            _ => None,
        })
        .collect();
    assert_eq!(
        applied,
        vec![2, 3],
        "index 1 was applied before the election"
    );
}

#[test]
fn propose_refusals() {
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(10));
    let mut node = open(&mut disk, 1, 3);
    node.handle_message(
        at(0),
        &mut disk,
        NodeId(2),
        Message::Heartbeat { term: 1, commit: 0 },
    )
    .unwrap();
    assert_eq!(
        node.propose(at(0), &mut disk, b"x".to_vec()),
        Err(ProposeError::NotLeader {
            leader: Some(NodeId(2))
        })
    );
    let mut config = config(1, 3);
    config.uncommitted_entries_max = 2;
    config.entry_bytes_max = 4;
    let mut disk = MemDisk::default();
    let mut node = RaftNode::open(&mut disk, DIR, config).unwrap();
    elect(&mut node, &mut disk, &mut rng, at(0));
    assert!(matches!(
        node.propose(at(300), &mut disk, vec![0; 5]),
        Err(ProposeError::TooLarge { size: 5, max: 4 })
    ));
    assert_eq!(node.propose(at(300), &mut disk, b"ok".to_vec()), Ok(2));
    assert_eq!(
        node.propose(at(300), &mut disk, b"no".to_vec()),
        Err(ProposeError::QueueFull)
    );
}

#[test]
fn bad_peer_messages_are_refused_not_fatal() {
    // STYLE §5: a peer's bad message is a typed refusal; the node keeps running.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let gap = Message::AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(2, 1, b"")],
        commit: 0,
    };
    let error = node
        .handle_message(at(0), &mut disk, NodeId(1), gap)
        .unwrap_err();
    assert_eq!(
        error,
        RaftError::PeerMisbehaved {
            from: NodeId(1),
            refusal: Refusal::EntriesNotConsecutive
        }
    );
    assert!(!error.is_fatal());
    let stranger = Message::Heartbeat { term: 1, commit: 0 };
    let error = node
        .handle_message(at(0), &mut disk, NodeId(9), stranger)
        .unwrap_err();
    assert!(matches!(
        error,
        RaftError::PeerMisbehaved {
            refusal: Refusal::UnknownSender,
            ..
        }
    ));
    let future_term = Message::AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 5, b"")],
        commit: 0,
    };
    assert!(node
        .handle_message(at(0), &mut disk, NodeId(1), future_term)
        .is_err());
    assert_eq!(node.stats().refusals, 3);
    assert_eq!(node.failure(), None);
    node.handle_message(
        at(0),
        &mut disk,
        NodeId(1),
        Message::Heartbeat { term: 1, commit: 0 },
    )
    .unwrap();
}

#[cfg(feature = "bug-switches")]
#[test]
fn figure_8_old_term_entry_is_committed_by_counting_with_the_planted_bug() {
    bugs::with(
        Bug::RaftCommitOldTermByCount,
        figure_8_old_term_entry_is_not_committed_by_counting,
    );
}
