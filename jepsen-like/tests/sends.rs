//! Hand-built histories for where acknowledged sends land (CHECKER.md invariants 10 and 11):
//! with the fault the checker flags it with a concrete example; the same history without the
//! fault passes.

mod support;

use sluice_jepsen::{anomaly, check, History};
use support::{assert_clean, assert_flags, poll_ok, send_ok};

/// Invariant 10: process 1's second send lands below its first.
fn inverted(fault: bool) -> History {
    let mut history = History::new();
    let (first, second) = if fault { (1, 0) } else { (0, 1) };
    send_ok(&mut history, 1, 0, 10, first);
    send_ok(&mut history, 1, 0, 11, second);
    let mut records = vec![(first, 10), (second, 11)];
    records.sort_unstable();
    poll_ok(&mut history, 2, vec![(0, records)], true);
    history
}

#[test]
fn nonmonotonic_send() {
    let report = check(&inverted(true));
    let needle =
        "process 1 partition 0: op 0 acked value 10 at offset 1, then op 1 acked value 11 at offset 0";
    assert_flags(&report, anomaly::NONMONOTONIC_SEND, needle);
    assert_clean(&check(&inverted(false)));
}

/// Invariant 11: process 2 invokes its send after process 1's completed, and lands below it.
fn out_of_real_time(fault: bool) -> History {
    let mut history = History::new();
    let (first, second) = if fault { (1, 0) } else { (0, 1) };
    send_ok(&mut history, 1, 0, 10, first);
    send_ok(&mut history, 2, 0, 11, second);
    let mut records = vec![(first, 10), (second, 11)];
    records.sort_unstable();
    poll_ok(&mut history, 3, vec![(0, records)], true);
    history
}

#[test]
fn realtime_append_violation() {
    let report = check(&out_of_real_time(true));
    let needle = "partition 0: op 0 acked value 10 at offset 1 before op 1 was invoked, which acked value 11 at offset 0";
    assert_flags(&report, anomaly::REALTIME_APPEND_VIOLATION, needle);
    assert_eq!(report.anomalies.len(), 1, "two processes: {report}");
    assert_clean(&check(&out_of_real_time(false)));
}

#[test]
fn overlapping_sends_may_land_in_either_order() {
    let mut history = History::new();
    let first = history.invoke_send(1, 0, 10).unwrap();
    let second = history.invoke_send(2, 0, 11).unwrap();
    history.ok_send(first, 1).unwrap();
    history.ok_send(second, 0).unwrap();
    poll_ok(&mut history, 3, vec![(0, vec![(0, 11), (1, 10)])], true);
    assert_clean(&check(&history));
}

#[test]
fn indefinite_sends_are_not_ordered() {
    let mut history = History::new();
    send_ok(&mut history, 1, 0, 10, 1);
    let unknown = history.invoke_send(1, 0, 11).unwrap();
    history.info(unknown).unwrap();
    poll_ok(&mut history, 3, vec![(0, vec![(0, 11), (1, 10)])], true);
    assert_clean(&check(&history));
}
