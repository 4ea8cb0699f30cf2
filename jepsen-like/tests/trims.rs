//! Hand-built histories with trims (Kafka DeleteRecords) and log start offsets: acknowledged
//! records a trim deleted are neither `lost-write` nor `unseen`, and only when a trim was asked
//! for and a client was told the log start moved; a log start past every trim asked for is a
//! `lost-write` when it took acknowledged records.

mod support;

use sluice_jepsen::{anomaly, check, History, OpId};
use support::{assert_clean, assert_flags, poll_ok, send_ok};

/// How a trim ended.
#[derive(Clone, Copy)]
enum Outcome {
    /// Acknowledged, its answer carrying this low watermark.
    Ok(i64),
    Fail,
    Info,
    Pending,
}

/// Records an admin (process 9) trim of `partition` below `offset`, ending as `outcome`.
fn trim(history: &mut History, partition: i32, offset: i64, outcome: Outcome) -> OpId {
    let op = history
        .invoke_trim(9, partition, offset)
        .expect("valid trim");
    match outcome {
        Outcome::Ok(low_watermark) => history.ok_trim(op, low_watermark),
        Outcome::Fail => history.fail(op),
        Outcome::Info => history.info(op),
        Outcome::Pending => Ok(()),
    }
    .expect("pending trim");
    op
}

/// Records a ListOffsets(earliest) answer to process 2: partition 0 starts at `log_start`.
fn earliest(history: &mut History, log_start: i64) -> OpId {
    let op = history.invoke_poll(2);
    history
        .ok_poll_observed(op, vec![], vec![], vec![(0, log_start)], false)
        .expect("pending poll");
    op
}

/// Value 10 acked at offset 5 and never read, value 11 acked at 12 and read, so polls read past
/// offset 5; with `trimmed`, a trim below 10 acknowledged at low watermark 10.
fn read_past_trimmed(trimmed: bool) -> History {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 5);
    if trimmed {
        trim(&mut history, 0, 10, Outcome::Ok(10));
    }
    send_ok(&mut history, 1, 0, 11, 12);
    poll_ok(&mut history, 2, vec![(0, vec![(12, 11)])], true);
    history
}

#[test]
fn acked_trim_excuses_unread_sends_below_it() {
    assert_clean(&check(&read_past_trimmed(true)));
    assert_flags(
        &check(&read_past_trimmed(false)),
        anomaly::LOST_WRITE,
        "partition 0 value 10 acked at offset 5",
    );
}

#[test]
fn send_above_an_acked_trim_is_still_unseen() {
    let mut history = History::new();
    trim(&mut history, 0, 10, Outcome::Ok(10));
    send_ok(&mut history, 1, 0, 10, 12);
    let report = check(&history);
    assert_flags(
        &report,
        anomaly::UNSEEN,
        "partition 0 value 10 acked at offset 12",
    );
    assert_eq!(report.count(anomaly::LOST_WRITE), 0, "{report}");
}

/// A failed trim asked for nothing, so the log start a client saw moved without a request.
#[test]
fn failed_trim_excuses_nothing() {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 5);
    trim(&mut history, 0, 10, Outcome::Fail);
    let seen = earliest(&mut history, 10);
    let report = check(&history);
    assert_flags(
        &report,
        anomaly::UNSEEN,
        "partition 0 value 10 acked at offset 5",
    );
    assert_flags(
        &report,
        anomaly::LOST_WRITE,
        &format!("{seen} was told log start offset 10 though no trim was requested"),
    );
}

/// An indefinite trim below 20 and a client told the log start is 10: deleted below 10 only.
#[test]
fn indefinite_trim_excuses_below_the_log_start_seen() {
    for outcome in [Outcome::Info, Outcome::Pending] {
        let mut history = History::new();
        send_ok(&mut history, 1, 0, 10, 5);
        send_ok(&mut history, 1, 0, 11, 15);
        trim(&mut history, 0, 20, outcome);
        earliest(&mut history, 10);
        let report = check(&history);
        assert_flags(
            &report,
            anomaly::UNSEEN,
            "partition 0 value 11 acked at offset 15",
        );
        assert_eq!(report.count(anomaly::UNSEEN), 1, "{report}");
        assert_eq!(report.count(anomaly::LOST_WRITE), 0, "{report}");
    }
}

/// A trim below 10 was asked for, then a client saw the log start at `log_start`; value 10 was
/// acked at offset 15 and never read.
fn log_start_seen_at(log_start: i64) -> (History, OpId) {
    let mut history = History::new();
    trim(&mut history, 0, 10, Outcome::Ok(10));
    send_ok(&mut history, 1, 0, 10, 15);
    let seen = earliest(&mut history, log_start);
    (history, seen)
}

#[test]
fn log_start_past_every_trim_loses_acked_sends() {
    let (history, seen) = log_start_seen_at(20);
    let report = check(&history);
    let needle = format!(
        "partition 0: {seen} was told log start offset 20 though the highest trim requested was below offset 10; value 10 acked at offset 15"
    );
    assert_flags(&report, anomaly::LOST_WRITE, &needle);
    assert_flags(
        &report,
        anomaly::UNSEEN,
        "partition 0 value 10 acked at offset 15",
    );
    let (history, _) = log_start_seen_at(10);
    let report = check(&history);
    assert_eq!(report.count(anomaly::LOST_WRITE), 0, "{report}");
}

/// Records gone past every trim, but none acknowledged: no acknowledged data lost.
#[test]
fn log_start_past_every_trim_without_acked_sends_below_it_loses_nothing() {
    let mut history = History::new();
    trim(&mut history, 0, 10, Outcome::Ok(10));
    send_ok(&mut history, 1, 0, 10, 25);
    earliest(&mut history, 20);
    poll_ok(&mut history, 2, vec![(0, vec![(25, 10)])], true);
    assert_clean(&check(&history));
}

/// A trim's answer is a log start told like any other: past the request, it excuses nothing.
#[test]
fn trim_answer_past_its_request_is_not_trusted() {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 15);
    let trimmed = trim(&mut history, 0, 10, Outcome::Ok(20));
    let report = check(&history);
    assert_flags(
        &report,
        anomaly::LOST_WRITE,
        &format!("{trimmed} was told log start offset 20"),
    );
    assert_flags(
        &report,
        anomaly::UNSEEN,
        "partition 0 value 10 acked at offset 15",
    );
}
