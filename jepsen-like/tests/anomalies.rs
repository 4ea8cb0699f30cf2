//! One hand-built history per anomaly: with the fault the checker must flag it (with a concrete
//! example), and the same history without the fault must pass. CHECKER.md numbers the
//! invariants each test cites.

mod support;

use sluice_jepsen::{anomaly, check, check_with, CheckOptions, History};
use support::{assert_clean, assert_flags, poll_ok, send_ok};

/// Values 10, 11, 12 acknowledged at offsets 0, 1, 2 of partition 0 by process 1.
fn three_acked() -> History {
    let mut history = History::new();
    for (offset, value) in [(0, 10), (1, 11), (2, 12)] {
        send_ok(&mut history, 1, 0, value, offset);
    }
    history
}

/// Invariant 1: two polls disagree on the value at offset 1.
fn inconsistent(fault: bool) -> History {
    let mut history = three_acked();
    poll_ok(
        &mut history,
        2,
        vec![(0, vec![(0, 10), (1, 11), (2, 12)])],
        true,
    );
    let other = if fault { 12 } else { 11 };
    poll_ok(&mut history, 3, vec![(0, vec![(1, other)])], true);
    history
}

#[test]
fn inconsistent_offsets() {
    assert_flags(
        &check(&inconsistent(true)),
        anomaly::INCONSISTENT_OFFSETS,
        "partition 0 offset 1: value 11",
    );
    assert_clean(&check(&inconsistent(false)));
}

/// Invariant 2: value 10 read again at offset 3 (`nonzero`: first written at 1, not 0).
fn duplicated(fault: bool, nonzero: bool) -> History {
    let mut history = History::new();
    let base = i64::from(nonzero);
    if nonzero {
        send_ok(&mut history, 1, 0, 9, 0);
    }
    send_ok(&mut history, 1, 0, 10, base);
    send_ok(&mut history, 1, 0, 11, base + 1);
    let mut records: Vec<(i64, u64)> = vec![(base, 10), (base + 1, 11)];
    if nonzero {
        records.insert(0, (0, 9));
    }
    if fault {
        records.push((base + 2, 10));
    }
    poll_ok(&mut history, 2, vec![(0, records)], true);
    history
}

#[test]
fn duplicate() {
    let report = check(&duplicated(true, false));
    assert_flags(
        &report,
        anomaly::DUPLICATE,
        "partition 0 value 10 at offsets {0, 2}",
    );
    assert_eq!(report.count(anomaly::DUPLICATE_NONZERO), 0, "{report}");
    assert_clean(&check(&duplicated(false, false)));
}

#[test]
fn duplicate_nonzero() {
    let report = check(&duplicated(true, true));
    assert_flags(
        &report,
        anomaly::DUPLICATE_NONZERO,
        "value 10 at offsets {1, 3}",
    );
    assert_clean(&check(&duplicated(false, true)));
}

#[test]
fn duplicates_are_expected_when_declared() {
    let options = CheckOptions {
        duplicates_allowed: true,
        ..CheckOptions::default()
    };
    let report = check_with(&duplicated(true, true), options);
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.count(anomaly::DUPLICATE), 1);
    assert!(
        report.to_string().contains("duplicate (expected): 1"),
        "{report}"
    );
}

/// Invariant 3: value 11 acknowledged at a spurious offset 0 but polled at offset 1.
fn ack_mismatch(fault: bool) -> History {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 0);
    send_ok(&mut history, 1, 0, 11, if fault { 0 } else { 1 });
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10), (1, 11)])], true);
    history
}

#[test]
fn offset_ack_mismatch() {
    let report = check(&ack_mismatch(true));
    assert_flags(
        &report,
        anomaly::OFFSET_ACK_MISMATCH,
        "value 11 acked at offset 0 by op 1, polled at offsets {1}",
    );
    assert_clean(&check(&ack_mismatch(false)));
}

/// Invariant 4: offset 1 is never read although another consumer read offset 2.
fn lost(fault: bool) -> History {
    let mut history = three_acked();
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10)])], true);
    let tail = if fault {
        vec![(2, 12)]
    } else {
        vec![(1, 11), (2, 12)]
    };
    poll_ok(&mut history, 3, vec![(0, tail)], true);
    history
}

#[test]
fn lost_write() {
    let report = check(&lost(true));
    let needle = "partition 0 value 11 acked at offset 1 by op 1, never polled though polls reached offset 2";
    assert_flags(&report, anomaly::LOST_WRITE, needle);
    assert_eq!(
        report.count(anomaly::UNSEEN),
        0,
        "lost writes are not also unseen:\n{report}"
    );
    assert_clean(&check(&lost(false)));
}

/// Invariant 5: the last acknowledged value is never read.
fn unseen_tail(fault: bool) -> History {
    let mut history = three_acked();
    let records = if fault {
        vec![(0, 10), (1, 11)]
    } else {
        vec![(0, 10), (1, 11), (2, 12)]
    };
    poll_ok(&mut history, 2, vec![(0, records)], true);
    history
}

#[test]
fn unseen() {
    let report = check(&unseen_tail(true));
    assert_flags(
        &report,
        anomaly::UNSEEN,
        "partition 0 value 12 acked at offset 2 by op 2, never polled",
    );
    assert_eq!(report.count(anomaly::LOST_WRITE), 0, "{report}");
    assert_clean(&check(&unseen_tail(false)));
}

#[test]
fn unseen_is_expected_before_final_reads() {
    let options = CheckOptions {
        final_reads_done: false,
        ..CheckOptions::default()
    };
    let report = check_with(&unseen_tail(true), options);
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.count(anomaly::UNSEEN), 1);
}

/// Invariant 8: process 2's second poll starts again at offset 1 (or after a seek, legally).
fn rereads(fault: bool, after_seek: bool) -> History {
    let mut history = three_acked();
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10), (1, 11)])], true);
    let next = if fault {
        vec![(1, 11), (2, 12)]
    } else {
        vec![(2, 12)]
    };
    poll_ok(&mut history, 2, vec![(0, next)], after_seek);
    history
}

#[test]
fn nonmonotonic_poll() {
    let report = check(&rereads(true, false));
    let needle = "process 2 partition 0: op 3 ended at offset 1 (value 11), op 4 began at offset 1 (value 11)";
    assert_flags(&report, anomaly::NONMONOTONIC_POLL, needle);
    assert_clean(&check(&rereads(false, false)));
    assert_clean(&check(&rereads(true, true)));
}

/// Invariant 8: process 2's second poll jumps over offset 1, which process 3 read.
fn skips(fault: bool, after_seek: bool) -> History {
    let mut history = three_acked();
    poll_ok(&mut history, 3, vec![(0, vec![(1, 11)])], true);
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10)])], true);
    let next = if fault {
        vec![(2, 12)]
    } else {
        vec![(1, 11), (2, 12)]
    };
    poll_ok(&mut history, 2, vec![(0, next)], after_seek);
    history
}

#[test]
fn poll_skip() {
    let report = check(&skips(true, false));
    assert_flags(
        &report,
        anomaly::POLL_SKIP,
        "op 4 ended at offset 0 (value 10), op 5 began at offset 2 (value 12), skipping offset 1",
    );
    assert_clean(&check(&skips(false, false)));
    assert_clean(&check(&skips(true, true)));
}

#[test]
fn a_gap_without_records_is_not_a_skip() {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 0);
    send_ok(&mut history, 1, 0, 12, 2);
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10)])], true);
    poll_ok(&mut history, 2, vec![(0, vec![(2, 12)])], false);
    poll_ok(&mut history, 3, vec![(0, vec![(0, 10), (2, 12)])], true);
    assert_clean(&check(&history));
}

/// Invariant 9: one poll jumps over offset 1, which process 3 read.
fn skips_within(fault: bool) -> History {
    let mut history = three_acked();
    poll_ok(&mut history, 3, vec![(0, vec![(1, 11)])], true);
    let records = if fault {
        vec![(0, 10), (2, 12)]
    } else {
        vec![(0, 10), (1, 11), (2, 12)]
    };
    poll_ok(&mut history, 2, vec![(0, records)], true);
    history
}

#[test]
fn int_poll_skip() {
    let report = check(&skips_within(true));
    let needle =
        "op 4 partition 0: offset 0 (value 10) then offset 2 (value 12), skipping offset 1";
    assert_flags(&report, anomaly::INT_POLL_SKIP, needle);
    assert_clean(&check(&skips_within(false)));
}

/// Invariant 9: one poll returns offset 1 before offset 0.
fn inverts_within(fault: bool) -> History {
    let mut history = three_acked();
    let records = if fault {
        vec![(1, 11), (0, 10), (2, 12)]
    } else {
        vec![(0, 10), (1, 11), (2, 12)]
    };
    poll_ok(&mut history, 2, vec![(0, records)], true);
    history
}

#[test]
fn int_nonmonotonic_poll() {
    let report = check(&inverts_within(true));
    let needle = "op 3 partition 0: offset 1 (value 11) then offset 0 (value 10)";
    assert_flags(&report, anomaly::INT_NONMONOTONIC_POLL, needle);
    assert_clean(&check(&inverts_within(false)));
}

#[test]
fn indefinite_sends_are_counted_not_judged() {
    let mut history = three_acked();
    let read_later = history.invoke_send(1, 0, 13).unwrap();
    history.info(read_later).unwrap();
    let never_read = history.invoke_send(1, 0, 14).unwrap();
    history.info(never_read).unwrap();
    let failed = history.invoke_send(1, 0, 15).unwrap();
    history.fail(failed).unwrap();
    history.invoke_send(4, 1, 16).unwrap();
    poll_ok(
        &mut history,
        2,
        vec![(0, vec![(0, 10), (1, 11), (2, 12), (3, 13)])],
        true,
    );
    let report = check(&history);
    assert_clean(&report);
    assert_eq!(
        (
            report.ok_sends,
            report.failed_sends,
            report.indefinite_sends,
            report.ok_polls
        ),
        (3, 1, 3, 1)
    );
}

#[test]
fn display_prints_one_line_per_kind_with_count_and_examples() {
    let report = check(&lost(true));
    let text = report.to_string();
    assert!(
        text.starts_with("INVALID: 3 ok sends, 0 failed sends, 0 indefinite sends, 2 ok polls\n"),
        "{text}"
    );
    assert!(
        text.contains("\nlost-write: 1 e.g. partition 0 value 11"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1 + report.anomalies.len(), "{text}");
}
