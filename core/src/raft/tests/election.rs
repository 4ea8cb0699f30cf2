//! Election tests: randomized timeouts, pre-vote, the election restriction, check-quorum.

use super::*;
use crate::bugs::{self, Bug};

#[test]
fn election_runs_pre_vote_then_vote_then_leads() {
    // Raft §5.2 with thesis §9.6: a timed-out follower asks for pre-votes at term + 1 without
    // raising its term, campaigns once a majority would vote, and leads once a majority does.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(1));
    let mut node = open(&mut disk, 1, 3);
    assert_eq!(node.poll_timeout(), Some(Instant::ZERO));
    let now = fire_election_timeout(&mut node, &mut disk, &mut rng);
    assert_eq!(node.role(), Role::PreCandidate);
    assert_eq!(node.term(), 0);
    let pre_vote = Message::PreVote {
        term: 1,
        last_log_index: 0,
        last_log_term: 0,
    };
    assert_eq!(
        drain(&mut node, &mut disk),
        vec![send(2, pre_vote.clone()), send(3, pre_vote)]
    );

    let granted = Message::PreVoteResponse {
        term: 1,
        granted: true,
    };
    node.handle_message(now, &mut disk, NodeId(2), granted)
        .unwrap();
    assert_eq!((node.role(), node.term()), (Role::Candidate, 1));
    assert_eq!(node.voted_for(), Some(NodeId(1)));
    let vote = Message::RequestVote {
        term: 1,
        last_log_index: 0,
        last_log_term: 0,
    };
    assert_eq!(
        drain(&mut node, &mut disk),
        vec![send(2, vote.clone()), send(3, vote)]
    );

    let granted = Message::RequestVoteResponse {
        term: 1,
        granted: true,
    };
    node.handle_message(now, &mut disk, NodeId(3), granted)
        .unwrap();
    assert_eq!(
        (node.role(), node.leader()),
        (Role::Leader, Some(NodeId(1)))
    );
    // Raft §8: the new leader's first entry is an empty one of its own term.
    let append = Message::AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 1, b"")],
        commit: 0,
    };
    assert_eq!(
        drain(&mut node, &mut disk),
        vec![send(2, append.clone()), send(3, append)]
    );

    node.handle_message(now, &mut disk, NodeId(2), success(1, 1))
        .unwrap();
    assert_eq!(node.commit_index(), 1);
    let heartbeat = Message::Heartbeat { term: 1, commit: 1 };
    let apply = Output::Apply {
        index: 1,
        term: 1,
        data: Vec::new(),
    };
    assert_eq!(drain(&mut node, &mut disk), vec![send(2, heartbeat), apply]);
    assert_eq!(node.stats().leaderships_won, 1);
}

#[test]
fn majority_refusal_ends_the_pre_vote_round() {
    // Thesis §9.6: refused pre-votes leave the term alone; the node waits for its next timeout.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(2));
    let mut node = open(&mut disk, 1, 3);
    let now = fire_election_timeout(&mut node, &mut disk, &mut rng);
    drain(&mut node, &mut disk);
    for peer in [2, 3] {
        let refused = Message::PreVoteResponse {
            term: 0,
            granted: false,
        };
        node.handle_message(now, &mut disk, NodeId(peer), refused)
            .unwrap();
    }
    assert_eq!((node.role(), node.term()), (Role::Follower, 0));
    assert!(drain(&mut node, &mut disk).is_empty());
    assert!(node.poll_timeout().unwrap() > now);
}

/// Node 2 of 3, fresh, after node 1 asked for its vote in term 4 (its outputs not drained).
fn asked_for_a_vote_in_term_4() -> (MemDisk, RaftNode) {
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let request = Message::RequestVote {
        term: 4,
        last_log_index: 0,
        last_log_term: 0,
    };
    node.handle_message(at(5), &mut disk, NodeId(1), request)
        .unwrap();
    (disk, node)
}

#[test]
fn a_granted_vote_comes_out_after_the_persist_of_the_vote() {
    // Raft Figure 2, with durability in the outputs (raft-rs's persisted messages): the
    // reply follows the term-and-vote persist in the output queue, so a driver holds it until
    // the persist completes. The planted bug `Bug::RaftVoteBeforeSync` puts it first.
    let (disk, mut node) = asked_for_a_vote_in_term_4();
    let outputs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
    let granted = send(
        1,
        Message::RequestVoteResponse {
            term: 4,
            granted: true,
        },
    );
    let persist_at = outputs.iter().position(|o| {
        matches!(
            o,
            Output::Persist {
                write: Persist::Replace { .. },
                ..
            }
        )
    });
    let reply_at = outputs.iter().position(|o| *o == granted);
    assert!(persist_at.is_some() && reply_at.is_some(), "{outputs:?}");
    assert_eq!(
        persist_at < reply_at,
        !bugs::active(Bug::RaftVoteBeforeSync),
        "{outputs:?}"
    );
    // Until the persist completes, nothing of the vote is on the disk.
    assert_eq!(open(&mut disk.clone(), 2, 3).voted_for(), None);
}

#[test]
fn vote_is_durable_before_the_reply() {
    // Raft Figure 2 ("persistent state ... updated on stable storage before responding"): a
    // node restarted after voting remembers the vote and refuses a second candidate. The
    // planted bug `Bug::RaftVoteNotPersisted` forgets it and votes twice in one term.
    let (mut disk, mut node) = asked_for_a_vote_in_term_4();
    let granted = Message::RequestVoteResponse {
        term: 4,
        granted: true,
    };
    assert_eq!(drain(&mut node, &mut disk), vec![send(1, granted)]);

    let bug = bugs::active(Bug::RaftVoteNotPersisted);
    let mut node = open(&mut disk, 2, 3);
    let remembered = if bug { None } else { Some(NodeId(1)) };
    assert_eq!((node.term(), node.voted_for()), (4, remembered));
    let rival = Message::RequestVote {
        term: 4,
        last_log_index: 9,
        last_log_term: 3,
    };
    node.handle_message(at(6), &mut disk, NodeId(3), rival)
        .unwrap();
    let second_vote = Message::RequestVoteResponse {
        term: 4,
        granted: bug,
    };
    assert_eq!(drain(&mut node, &mut disk), vec![send(3, second_vote)]);
}

#[test]
fn vote_refused_to_a_candidate_with_a_stale_log() {
    // Raft §5.4.1: vote only for a candidate whose log is at least as up to date. The planted
    // bug `Bug::RaftVoteForStaleLog` skips the check.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let append = Message::AppendEntries {
        term: 2,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 1, b"a"), entry(2, 2, b"b")],
        commit: 0,
    };
    node.handle_message(at(0), &mut disk, NodeId(1), append)
        .unwrap();
    drain(&mut node, &mut disk);
    // Past the leader's lease, so only the log decides.
    let late = at(500);
    for (last_log_index, last_log_term, granted) in [(5, 1, false), (1, 2, false), (2, 2, true)] {
        let mut node = open(&mut disk.clone(), 2, 3);
        let request = Message::RequestVote {
            term: 3,
            last_log_index,
            last_log_term,
        };
        node.handle_message(late, &mut disk.clone(), NodeId(3), request)
            .unwrap();
        let granted = granted || bugs::active(Bug::RaftVoteForStaleLog);
        let reply = Message::RequestVoteResponse { term: 3, granted };
        assert_eq!(drain(&mut node, &mut disk), vec![send(3, reply)]);
    }
}

#[test]
fn pre_vote_refused_by_a_node_that_hears_its_leader() {
    // Thesis §9.6 (pre-vote with leader stickiness): a follower that heard from its leader
    // within the minimum election timeout refuses pre-votes; later it grants them.
    let mut disk = MemDisk::default();
    let mut node = open(&mut disk, 2, 3);
    let heartbeat = Message::Heartbeat { term: 3, commit: 0 };
    node.handle_message(at(10), &mut disk, NodeId(1), heartbeat)
        .unwrap();
    assert_eq!(
        drain(&mut node, &mut disk),
        vec![send(1, Message::HeartbeatResponse { term: 3 })]
    );
    let pre_vote = Message::PreVote {
        term: 4,
        last_log_index: 0,
        last_log_term: 0,
    };
    node.handle_message(at(50), &mut disk, NodeId(3), pre_vote.clone())
        .unwrap();
    let refused = Message::PreVoteResponse {
        term: 3,
        granted: false,
    };
    assert_eq!(drain(&mut node, &mut disk), vec![send(3, refused)]);
    assert_eq!(node.stats().pre_votes_refused_for_lease, 1);
    assert_eq!((node.term(), node.leader()), (3, Some(NodeId(1))));

    node.handle_message(at(111), &mut disk, NodeId(3), pre_vote)
        .unwrap();
    let granted = Message::PreVoteResponse {
        term: 4,
        granted: true,
    };
    assert_eq!(drain(&mut node, &mut disk), vec![send(3, granted)]);
    assert_eq!(node.term(), 3, "granting a pre-vote changes nothing");
}

#[test]
fn returning_partitioned_node_does_not_disrupt_the_leader() {
    // Thesis §9.6: a node cut off keeps failing pre-votes without raising its term, so when it
    // returns its term is not above the leader's; a vote request at a higher term is ignored
    // by followers that hear their leader.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(3));
    let mut isolated = open(&mut disk, 3, 3);
    fire_election_timeout(&mut isolated, &mut disk, &mut rng);
    for _ in 0..10 {
        let now = isolated.poll_timeout().unwrap();
        isolated.handle_timeout(now, &mut disk, &mut rng).unwrap();
    }
    assert_eq!(isolated.term(), 0);
    assert_eq!(isolated.stats().pre_votes_started, 11);
    assert_eq!(isolated.stats().elections_started, 0);

    let mut follower_disk = MemDisk::default();
    let mut follower = open(&mut follower_disk, 2, 3);
    let heartbeat = Message::Heartbeat { term: 1, commit: 0 };
    follower
        .handle_message(at(0), &mut follower_disk, NodeId(1), heartbeat)
        .unwrap();
    drain(&mut follower, &mut follower_disk);
    let request = Message::RequestVote {
        term: 7,
        last_log_index: 0,
        last_log_term: 0,
    };
    follower
        .handle_message(at(30), &mut follower_disk, NodeId(3), request)
        .unwrap();
    assert!(drain(&mut follower, &mut follower_disk).is_empty());
    assert_eq!((follower.term(), follower.leader()), (1, Some(NodeId(1))));
    assert_eq!(follower.stats().votes_ignored_for_lease, 1);
}

#[test]
fn leader_without_a_quorum_steps_down() {
    // Thesis §6.2 (check-quorum): a leader that has not heard from a majority within an
    // election timeout steps down.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(4));
    let mut node = open(&mut disk, 1, 3);
    let elected = elect(&mut node, &mut disk, &mut rng, at(0));
    // Node 2 answers for a while, then falls silent with node 3.
    node.handle_message(
        elected + ms(30),
        &mut disk,
        NodeId(2),
        Message::HeartbeatResponse { term: 1 },
    )
    .unwrap();
    let mut now = elected;
    while node.role() == Role::Leader {
        now = node.poll_timeout().unwrap();
        node.handle_timeout(now, &mut disk, &mut rng).unwrap();
        drain(&mut node, &mut disk);
    }
    assert_eq!(
        now,
        elected + ms(200),
        "survives one window on node 2's answer, not two"
    );
    assert_eq!(
        (node.role(), node.leader(), node.term()),
        (Role::Follower, None, 1)
    );
    assert_eq!(node.stats().check_quorum_step_downs, 1);
}

#[test]
fn leader_with_a_quorum_keeps_leading() {
    // Thesis §6.2: answers from a majority keep the leader in place.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(5));
    let mut node = open(&mut disk, 1, 3);
    elect(&mut node, &mut disk, &mut rng, at(0));
    for _ in 0..100 {
        let now = node.poll_timeout().unwrap();
        node.handle_timeout(now, &mut disk, &mut rng).unwrap();
        drain(&mut node, &mut disk);
        node.handle_message(
            now,
            &mut disk,
            NodeId(3),
            Message::HeartbeatResponse { term: 1 },
        )
        .unwrap();
    }
    assert_eq!(node.role(), Role::Leader);
}

#[test]
fn single_voter_elects_itself_and_commits_alone() {
    // Raft §5.2 degenerate case: a quorum of one.
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(11));
    let mut node = open(&mut disk, 1, 1);
    let now = fire_election_timeout(&mut node, &mut disk, &mut rng);
    assert_eq!((node.role(), node.term()), (Role::Leader, 1));
    // The leader counts its no-op once the no-op is durable.
    assert_eq!(node.commit_index(), 0);
    assert_eq!(drain(&mut node, &mut disk).len(), 1);
    assert_eq!(node.commit_index(), 1);
    assert_eq!(node.propose(now, &mut disk, b"x".to_vec()), Ok(2));
    let applied: Vec<Output> = drain(&mut node, &mut disk);
    assert_eq!(applied.len(), 1);
    assert_eq!(
        applied[0],
        Output::Apply {
            index: 2,
            term: 1,
            data: b"x".to_vec()
        }
    );
    assert_eq!(node.compact(2, b"s".to_vec()), Ok(()));
    assert!(matches!(
        node.compact(2, b"s".to_vec()),
        Err(CompactError::OutOfRange { .. })
    ));
}

#[cfg(feature = "bug-switches")]
#[test]
fn planted_vote_bugs_change_the_votes() {
    bugs::with(Bug::RaftVoteNotPersisted, vote_is_durable_before_the_reply);
    bugs::with(
        Bug::RaftVoteForStaleLog,
        vote_refused_to_a_candidate_with_a_stale_log,
    );
}

/// A compaction writes nothing to the log's file until its snapshot and then the rewrite are
/// durable: entries proposed meanwhile wait in memory, and count toward a commit only once the
/// file holds them.
#[test]
fn a_compaction_holds_the_log_file_until_its_snapshot_and_rewrite_are_durable() {
    let (mut disk, mut rng) = (MemDisk::default(), TestRng::new(11));
    let mut node = open(&mut disk, 1, 1);
    let now = fire_election_timeout(&mut node, &mut disk, &mut rng);
    drain(&mut node, &mut disk);
    assert_eq!(node.propose(now, &mut disk, b"x".to_vec()), Ok(2));
    drain(&mut node, &mut disk);
    assert_eq!(node.commit_index(), 2);
    let log_path = format!("{DIR}/log");
    let before = disk.len(&log_path).unwrap();
    assert_eq!(node.compact(2, b"s".to_vec()), Ok(()));
    assert!(node.rewriting());
    assert_eq!(node.propose(now, &mut disk, b"y".to_vec()), Ok(3));
    assert_eq!(
        disk.len(&log_path).unwrap(),
        before,
        "nothing written while frozen"
    );
    // The snapshot's persist comes first; the log is rewritten only after it.
    let (id, dir, name, bytes) = next_replace(&mut node, "the snapshot's persist");
    assert_eq!(name, "snapshot");
    assert!(
        node.poll_output().is_none(),
        "the rewrite waits for the snapshot"
    );
    crate::disk::replace_file(&mut disk, &dir, &name, &bytes).unwrap();
    node.handle_persisted(&mut disk, id, Ok(())).unwrap();
    assert_eq!(node.commit_index(), 2, "y is not durable yet");
    let (id, dir, name, bytes) = next_replace(&mut node, "the log's rewrite");
    assert_eq!(name, "log");
    crate::disk::replace_file(&mut disk, &dir, &name, &bytes).unwrap();
    node.handle_persisted(&mut disk, id, Ok(())).unwrap();
    drain(&mut node, &mut disk);
    assert!(!node.rewriting());
    assert_eq!(node.commit_index(), 3);
    // The node reopens from the snapshot and the rewritten log.
    drop(node);
    let node = open(&mut disk, 1, 1);
    assert_eq!(node.first_index(), 3);
}
