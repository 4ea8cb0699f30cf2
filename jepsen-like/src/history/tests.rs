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
