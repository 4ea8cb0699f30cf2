//! The builder refuses malformed histories.

use super::*;

#[test]
fn completing_an_unknown_op_is_an_error() {
    let mut history = History::new();
    assert_eq!(history.fail(OpId(0)), Err(HistoryError::UnknownOp(OpId(0))));
    assert_eq!(
        history.ok_send(OpId(3), 0),
        Err(HistoryError::UnknownOp(OpId(3)))
    );
}

#[test]
fn completing_an_op_twice_is_an_error() {
    let mut history = History::new();
    let send = history.invoke_send(1, 0, 7).unwrap();
    history.ok_send(send, 0).unwrap();
    assert_eq!(
        history.info(send),
        Err(HistoryError::AlreadyCompleted(send))
    );
    let poll = history.invoke_poll(2);
    history.fail(poll).unwrap();
    assert_eq!(
        history.ok_poll(poll, vec![], false),
        Err(HistoryError::AlreadyCompleted(poll))
    );
}

#[test]
fn completion_kind_must_match_the_request() {
    let mut history = History::new();
    let send = history.invoke_send(1, 0, 7).unwrap();
    let poll = history.invoke_poll(2);
    assert_eq!(
        history.ok_poll(send, vec![], false),
        Err(HistoryError::NotAPoll(send))
    );
    assert_eq!(history.ok_send(poll, 0), Err(HistoryError::NotASend(poll)));
}

#[test]
fn malformed_values_are_refused() {
    let mut history = History::new();
    assert_eq!(
        history.invoke_send(1, -1, 7),
        Err(HistoryError::NegativePartition(-1))
    );
    let first = history.invoke_send(1, 0, 7).unwrap();
    let again = history.invoke_send(2, 0, 7);
    assert_eq!(
        again,
        Err(HistoryError::DuplicateSendValue {
            partition: 0,
            value: 7,
            first
        })
    );
    assert_eq!(
        history.ok_send(first, -2),
        Err(HistoryError::NegativeOffset {
            op: first,
            offset: -2
        })
    );
    let poll = history.invoke_poll(3);
    let twice = vec![(0, vec![(0, 7)]), (0, vec![])];
    assert_eq!(
        history.ok_poll(poll, twice, false),
        Err(HistoryError::RepeatedPartition {
            op: poll,
            partition: 0
        })
    );
}

#[test]
fn events_are_indexed_in_order() {
    let mut history = History::new();
    let send = history.invoke_send(1, 0, 7).unwrap();
    let poll = history.invoke_poll(2);
    history.ok_send(send, 0).unwrap();
    let operations = history.operations();
    assert_eq!(operations[send.0].invoke_index, 0);
    assert_eq!(operations[poll.0].invoke_index, 1);
    assert_eq!(operations[send.0].complete_index, Some(2));
    assert_eq!(operations[poll.0].completion, Completion::Pending);
    assert_eq!(history.events(), 3);
}

#[test]
fn high_watermarks_are_validated_and_kept() {
    let mut history = History::new();
    let negative = history.invoke_poll(1);
    assert_eq!(
        history.ok_poll_with_hw(negative, vec![], vec![(0, -1)], false),
        Err(HistoryError::NegativeOffset {
            op: negative,
            offset: -1
        })
    );
    assert_eq!(
        history.ok_poll_with_hw(negative, vec![], vec![(0, 3), (0, 4)], false),
        Err(HistoryError::RepeatedPartition {
            op: negative,
            partition: 0
        })
    );
    assert_eq!(
        history.ok_poll_with_hw(negative, vec![], vec![(-2, 3)], false),
        Err(HistoryError::NegativePartition(-2))
    );
    history
        .ok_poll_with_hw(
            negative,
            vec![(0, vec![(0, 7)])],
            vec![(1, 0), (0, 3)],
            true,
        )
        .unwrap();
    let Completion::PollOk {
        high_watermarks, ..
    } = &history.operations()[negative.0].completion
    else {
        panic!("not completed ok");
    };
    assert_eq!(
        high_watermarks.iter().collect::<Vec<_>>(),
        vec![(&0, &3), (&1, &0)]
    );
    let plain = history.invoke_poll(1);
    history.ok_poll(plain, vec![], false).unwrap();
    assert!(matches!(
        &history.operations()[plain.0].completion,
        Completion::PollOk { high_watermarks, .. } if high_watermarks.is_empty()
    ));
}

/// Declared losable sends become indefinite; the others stay acknowledged.
#[test]
fn declared_losable_sends_become_indefinite() {
    let mut history = History::new();
    let low = history.invoke_send(1, 0, 10).unwrap();
    history.ok_send(low, 4).unwrap();
    let high = history.invoke_send(1, 0, 11).unwrap();
    history.ok_send(high, 5).unwrap();
    let other = history.invoke_send(1, 1, 12).unwrap();
    history.ok_send(other, 9).unwrap();
    let declared = history.declare_losable(|partition, offset, _| partition == 0 && offset >= 5);
    assert_eq!(declared, vec![high]);
    assert_eq!(history.operations()[high.0].completion, Completion::Info);
    assert_eq!(
        history.operations()[low.0].completion,
        Completion::SendOk { offset: 4 }
    );
}

#[test]
fn trims_are_validated_and_kept() {
    let mut history = History::new();
    assert_eq!(
        history.invoke_trim(9, -1, 5),
        Err(HistoryError::NegativePartition(-1))
    );
    assert_eq!(
        history.invoke_trim(9, 0, -5),
        Err(HistoryError::NegativeTrimOffset {
            partition: 0,
            offset: -5
        })
    );
    let send = history.invoke_send(1, 0, 7).unwrap();
    let trim = history.invoke_trim(9, 0, 5).unwrap();
    assert_eq!(history.ok_trim(send, 5), Err(HistoryError::NotATrim(send)));
    assert_eq!(history.ok_send(trim, 5), Err(HistoryError::NotASend(trim)));
    assert_eq!(
        history.ok_poll(trim, vec![], false),
        Err(HistoryError::NotAPoll(trim))
    );
    assert_eq!(
        history.ok_trim(trim, -1),
        Err(HistoryError::NegativeOffset {
            op: trim,
            offset: -1
        })
    );
    history.ok_trim(trim, 5).unwrap();
    assert_eq!(
        history.operations()[trim.0].request,
        Request::Trim {
            partition: 0,
            offset: 5
        }
    );
    assert_eq!(
        history.operations()[trim.0].completion,
        Completion::TrimOk { low_watermark: 5 }
    );
    assert_eq!(
        history.ok_trim(trim, 5),
        Err(HistoryError::AlreadyCompleted(trim))
    );
    let failed = history.invoke_trim(9, 0, 6).unwrap();
    history.fail(failed).unwrap();
    assert_eq!(history.operations()[failed.0].completion, Completion::Fail);
    let indefinite = history.invoke_trim(9, 0, 7).unwrap();
    history.info(indefinite).unwrap();
    assert_eq!(
        history.ok_trim(indefinite, 7),
        Err(HistoryError::AlreadyCompleted(indefinite))
    );
}

#[test]
fn log_start_offsets_are_validated_and_kept() {
    let mut history = History::new();
    let poll = history.invoke_poll(1);
    assert_eq!(
        history.ok_poll_observed(poll, vec![], vec![], vec![(0, 3), (0, 4)], false),
        Err(HistoryError::RepeatedPartition {
            op: poll,
            partition: 0
        })
    );
    assert_eq!(
        history.ok_poll_observed(poll, vec![], vec![], vec![(0, -3)], false),
        Err(HistoryError::NegativeOffset {
            op: poll,
            offset: -3
        })
    );
    assert_eq!(
        history.ok_poll_observed(poll, vec![], vec![], vec![(-1, 3)], false),
        Err(HistoryError::NegativePartition(-1))
    );
    assert_eq!(
        history.ok_poll_observed(poll, vec![], vec![(0, 1), (0, 2)], vec![], false),
        Err(HistoryError::RepeatedPartition {
            op: poll,
            partition: 0
        })
    );
    // A ListOffsets(earliest) answer: a log start without records or high watermark.
    history
        .ok_poll_observed(poll, vec![], vec![(1, 9)], vec![(2, 4), (1, 3)], false)
        .unwrap();
    let Completion::PollOk {
        high_watermarks,
        log_start_offsets,
        ..
    } = &history.operations()[poll.0].completion
    else {
        panic!("not completed ok");
    };
    assert_eq!(high_watermarks.iter().collect::<Vec<_>>(), vec![(&1, &9)]);
    assert_eq!(
        log_start_offsets.iter().collect::<Vec<_>>(),
        vec![(&1, &3), (&2, &4)]
    );
    let plain = history.invoke_poll(1);
    history
        .ok_poll_with_hw(plain, vec![], vec![(0, 3)], false)
        .unwrap();
    assert!(matches!(
        &history.operations()[plain.0].completion,
        Completion::PollOk { log_start_offsets, .. } if log_start_offsets.is_empty()
    ));
}

#[test]
fn commits_are_validated_and_kept() {
    let mut history = History::new();
    assert_eq!(
        history.invoke_commit(1, "g", "m", -2, vec![(0, 1)]),
        Err(HistoryError::InvalidGeneration(-2))
    );
    assert_eq!(
        history.invoke_commit(1, "g", "m", 1, vec![(0, -1)]),
        Err(HistoryError::NegativeCommitOffset {
            partition: 0,
            offset: -1
        })
    );
    assert_eq!(
        history.invoke_commit(1, "g", "m", 1, vec![(-1, 0)]),
        Err(HistoryError::NegativePartition(-1))
    );
    assert_eq!(
        history.invoke_reset(9, "g", vec![(0, 1), (0, 2)]),
        Err(HistoryError::PartitionRequestedTwice(0))
    );
    assert_eq!(history.events(), 0, "refused invocations are not recorded");
    let commit = history
        .invoke_commit(1, "g", "m", 3, vec![(1, 7), (0, 5)])
        .unwrap();
    let poll = history.invoke_poll(1);
    assert_eq!(history.ok_commit(poll), Err(HistoryError::NotACommit(poll)));
    assert_eq!(
        history.ok_commit_partial(commit, vec![2]),
        Err(HistoryError::PartitionNotRequested {
            op: commit,
            partition: 2
        })
    );
    history.ok_commit_partial(commit, vec![1]).unwrap();
    let operation = &history.operations()[commit.0];
    assert_eq!(
        operation.request,
        Request::Commit {
            group: "g".to_owned(),
            member: "m".to_owned(),
            generation: 3,
            offsets: [(0, 5), (1, 7)].into_iter().collect(),
            reset: false,
        }
    );
    assert_eq!(
        operation.completion,
        Completion::CommitOk {
            failed: [1].into_iter().collect()
        }
    );
    let reset = history.invoke_reset(9, "g", vec![(0, 0)]).unwrap();
    assert!(matches!(
        &history.operations()[reset.0].request,
        Request::Commit { member, generation: GENERATION_NONE, reset: true, .. } if member.is_empty()
    ));
    history.info(reset).unwrap();
}

#[test]
fn offset_fetches_are_validated_and_kept() {
    let mut history = History::new();
    assert_eq!(
        history.invoke_offset_fetch(1, "g", Some(vec![0, 0])),
        Err(HistoryError::PartitionRequestedTwice(0))
    );
    let some = history
        .invoke_offset_fetch(1, "g", Some(vec![0, 1]))
        .unwrap();
    assert_eq!(
        history.ok_offset_fetch(some, vec![(2, 4)]),
        Err(HistoryError::PartitionNotRequested {
            op: some,
            partition: 2
        })
    );
    assert_eq!(
        history.ok_offset_fetch(some, vec![(0, -2)]),
        Err(HistoryError::NegativeOffset {
            op: some,
            offset: -2
        })
    );
    assert_eq!(
        history.ok_offset_fetch(some, vec![(0, 1), (0, 1)]),
        Err(HistoryError::RepeatedPartition {
            op: some,
            partition: 0
        })
    );
    history
        .ok_offset_fetch(some, vec![(1, -1), (0, 4)])
        .unwrap();
    assert_eq!(
        history.operations()[some.0].completion,
        Completion::OffsetFetchOk {
            offsets: [(0, 4), (1, -1)].into_iter().collect()
        }
    );
    let all = history.invoke_offset_fetch(1, "g", None).unwrap();
    history.ok_offset_fetch(all, vec![(5, 9)]).unwrap();
    let send = history.invoke_send(1, 0, 7).unwrap();
    assert_eq!(
        history.ok_offset_fetch(send, vec![]),
        Err(HistoryError::NotAnOffsetFetch(send))
    );
}

#[test]
fn assignments_and_their_positions_are_validated_and_kept() {
    let mut history = History::new();
    assert_eq!(
        history.invoke_assignment(1, "g", "m", -1),
        Err(HistoryError::InvalidGeneration(-1))
    );
    let sync = history.invoke_assignment(1, "g", "m", 2).unwrap();
    assert_eq!(
        history.ok_assignment_positions(sync, vec![(0, 1)]),
        Err(HistoryError::AssignmentNotOk(sync))
    );
    assert_eq!(
        history.ok_assignment(sync, vec![1, 1]),
        Err(HistoryError::PartitionRequestedTwice(1))
    );
    history.ok_assignment(sync, vec![1, 0]).unwrap();
    assert_eq!(
        history.ok_assignment_positions(sync, vec![(2, 0)]),
        Err(HistoryError::PartitionNotRequested {
            op: sync,
            partition: 2
        })
    );
    assert_eq!(
        history.ok_assignment_positions(sync, vec![(0, -1)]),
        Err(HistoryError::NegativeOffset {
            op: sync,
            offset: -1
        })
    );
    assert_eq!(history.events(), 2);
    history.ok_assignment_positions(sync, vec![(1, 8)]).unwrap();
    assert_eq!(
        history.events(),
        3,
        "the positions are an event of their own"
    );
    assert_eq!(
        history.ok_assignment_positions(sync, vec![(0, 8)]),
        Err(HistoryError::PositionsAlreadyRecorded(sync))
    );
    assert_eq!(
        history.operations()[sync.0].completion,
        Completion::AssignmentOk {
            partitions: [0, 1].into_iter().collect(),
            start: Some(AssignmentStart {
                positions: [(1, 8)].into_iter().collect(),
                event_index: 2,
            }),
        }
    );
    let poll = history.invoke_poll(1);
    assert_eq!(
        history.ok_assignment(poll, vec![]),
        Err(HistoryError::NotAnAssignment(poll))
    );
    assert_eq!(
        history.ok_assignment_positions(poll, vec![]),
        Err(HistoryError::NotAnAssignment(poll))
    );
}

#[test]
fn revocations_are_done_when_invoked() {
    let mut history = History::new();
    assert_eq!(
        history.revoke(1, "g", "m", -1, vec![0]),
        Err(HistoryError::InvalidGeneration(-1))
    );
    let revocation = history.revoke(1, "g", "m", 2, vec![1, 0]).unwrap();
    let operation = &history.operations()[revocation.0];
    assert_eq!(operation.completion, Completion::Revoked);
    assert_eq!(
        (operation.invoke_index, operation.complete_index),
        (0, Some(1))
    );
    assert_eq!(
        history.fail(revocation),
        Err(HistoryError::AlreadyCompleted(revocation))
    );
}
