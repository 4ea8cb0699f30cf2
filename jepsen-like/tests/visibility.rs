//! Hand-built histories for what clients see of the high watermark and of records already read
//! (CHECKER.md invariants 14 and 15, and reads above the high watermark): with the fault the
//! checker flags it with a concrete example; the same history without the fault passes.

mod support;

use sluice_jepsen::{anomaly, check, check_with, CheckOptions, History};
use support::{assert_clean, assert_flags, poll_ok, poll_ok_hw, send_ok};

/// Values 10, 11, 12 acknowledged at offsets 0, 1, 2 of partition 0 by process 1 (ops 0 to 2).
fn three_acked() -> History {
    let mut history = History::new();
    for (offset, value) in [(0, 10), (1, 11), (2, 12)] {
        send_ok(&mut history, 1, 0, value, offset);
    }
    history
}

fn unclean() -> CheckOptions {
    CheckOptions {
        unclean_elections_allowed: true,
        ..CheckOptions::default()
    }
}

/// Invariant 14: process 3 sees high watermark 2 after process 2 saw 3.
fn hw_drops(fault: bool) -> History {
    let mut history = three_acked();
    let all = vec![(0, vec![(0, 10), (1, 11), (2, 12)])];
    poll_ok_hw(&mut history, 2, all, vec![(0, 3)], true);
    let later = if fault { 2 } else { 3 };
    poll_ok_hw(
        &mut history,
        3,
        vec![(0, vec![(0, 10)])],
        vec![(0, later)],
        true,
    );
    history
}

#[test]
fn hw_regression() {
    let report = check(&hw_drops(true));
    let needle =
        "partition 0: op 4 (process 3) saw high watermark 2 after op 3 (process 2) had seen 3";
    assert_flags(&report, anomaly::HW_REGRESSION, needle);
    assert_eq!(report.anomalies.len(), 1, "{report}");
    assert_clean(&check(&hw_drops(false)));
}

#[test]
fn hw_regression_is_expected_unclean_truncation_when_declared() {
    let report = check_with(&hw_drops(true), unclean());
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.count(anomaly::HW_REGRESSION), 0, "{report}");
    let examples = &report.anomalies[anomaly::UNCLEAN_TRUNCATION];
    assert!(
        examples[0].starts_with("hw-regression: partition 0: op 4"),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("unclean-truncation (expected): 1"),
        "{report}"
    );
}

#[test]
fn overlapping_polls_may_see_high_watermarks_in_either_order() {
    let mut history = three_acked();
    let first = history.invoke_poll(2);
    let second = history.invoke_poll(3);
    history
        .ok_poll_with_hw(
            second,
            vec![(0, vec![(0, 10), (1, 11), (2, 12)])],
            vec![(0, 3)],
            true,
        )
        .unwrap();
    // Invoked before `second` completed: its response may have been built first.
    history
        .ok_poll_with_hw(first, vec![(0, vec![(0, 10)])], vec![(0, 1)], true)
        .unwrap();
    assert_clean(&check(&history));
}

/// A poll returns offset 2 in a response whose high watermark is 2.
fn reads_above(fault: bool) -> History {
    let mut history = three_acked();
    let high_watermark = if fault { 2 } else { 3 };
    let all = vec![(0, vec![(0, 10), (1, 11), (2, 12)])];
    poll_ok_hw(&mut history, 2, all, vec![(0, high_watermark)], true);
    history
}

#[test]
fn read_above_hw() {
    let report = check(&reads_above(true));
    let needle = "op 3 partition 0: read offset 2 (value 12) though its response's high watermark was 2; records at or above it: 1";
    assert_flags(&report, anomaly::READ_ABOVE_HW, needle);
    assert_eq!(report.anomalies.len(), 1, "{report}");
    assert_clean(&check(&reads_above(false)));
    // Not excused by unclean elections.
    assert!(!check_with(&reads_above(true), unclean()).is_valid());
}

/// Invariant 15: process 3 reads across offset 1, which process 2 read, without it.
fn vanishes(fault: bool) -> History {
    let mut history = three_acked();
    poll_ok(
        &mut history,
        2,
        vec![(0, vec![(0, 10), (1, 11), (2, 12)])],
        true,
    );
    let again = if fault {
        vec![(0, 10), (2, 12)]
    } else {
        vec![(0, 10), (1, 11), (2, 12)]
    };
    poll_ok(&mut history, 3, vec![(0, again)], true);
    // Starting past offset 1 does not cover it.
    poll_ok(&mut history, 4, vec![(0, vec![(2, 12)])], true);
    history
}

#[test]
fn inconsistent_read_of_a_vanished_record() {
    let report = check(&vanishes(true));
    let needle =
        "partition 0 offset 1: op 3 read value 11, later op 4 read offsets 0 to 2 without it";
    assert_flags(&report, anomaly::INCONSISTENT_READ, needle);
    assert_eq!(report.count(anomaly::INCONSISTENT_READ), 1, "{report}");
    assert_eq!(report.count(anomaly::INCONSISTENT_OFFSETS), 0, "{report}");
    assert_clean(&check(&vanishes(false)));
}

/// Invariant 15: process 3's poll starts at offset 1, which process 2 read, with another value.
fn changes(fault: bool) -> History {
    let mut history = History::new();
    poll_ok(
        &mut history,
        2,
        vec![(0, vec![(0, 10), (1, 11), (2, 12)])],
        true,
    );
    let at_one = if fault { 13 } else { 11 };
    poll_ok(&mut history, 3, vec![(0, vec![(1, at_one), (2, 12)])], true);
    history
}

#[test]
fn inconsistent_read_of_a_changed_record() {
    let report = check(&changes(true));
    let needle = "partition 0 offset 1: op 0 read value 11, later op 1 read value 13 there";
    assert_flags(&report, anomaly::INCONSISTENT_READ, needle);
    assert_clean(&check(&changes(false)));
}

#[test]
fn inconsistent_read_is_expected_unclean_truncation_when_declared() {
    let report = check_with(&changes(true), unclean());
    assert_eq!(report.count(anomaly::INCONSISTENT_READ), 0, "{report}");
    assert!(report.expected.contains(anomaly::UNCLEAN_TRUNCATION));
    let examples = &report.anomalies[anomaly::UNCLEAN_TRUNCATION];
    let starts = |prefix: &str| examples.iter().any(|e| e.starts_with(prefix));
    assert!(
        starts("inconsistent-read: partition 0 offset 1: op 0 read value 11"),
        "{report}"
    );
    // The second value at offset 1 is the truncated offset reused: expected too.
    assert!(
        starts("inconsistent-offsets: partition 0 offset 1"),
        "{report}"
    );
    assert_eq!(report.count(anomaly::INCONSISTENT_OFFSETS), 0, "{report}");
}

#[test]
fn an_offset_without_a_record_is_not_a_vanished_read() {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 0);
    send_ok(&mut history, 1, 0, 12, 2);
    poll_ok_hw(
        &mut history,
        2,
        vec![(0, vec![(0, 10), (2, 12)])],
        vec![(0, 3)],
        true,
    );
    poll_ok_hw(
        &mut history,
        3,
        vec![(0, vec![(0, 10), (2, 12)])],
        vec![(0, 3)],
        true,
    );
    assert_clean(&check(&history));
}
