//! Consumer-group checks, one hand-built history per anomaly as in `anomalies.rs`: with the
//! fault the checker flags it with a concrete example, and the near-identical history without it
//! passes. CHECKER.md numbers the invariants each test cites.

mod support;

use sluice_jepsen::{anomaly, check, History, OpId};
use support::{assert_clean, assert_flags, poll_ok, send_ok};

const GROUP: &str = "g";

/// Records `member`'s OK assignment of `partitions` in `generation`, run by `process`.
fn assign(
    history: &mut History,
    process: u64,
    member: &str,
    generation: i32,
    partitions: Vec<i32>,
) -> OpId {
    let op = history
        .invoke_assignment(process, GROUP, member, generation)
        .expect("valid assignment");
    history.ok_assignment(op, partitions).expect("pending");
    op
}

/// Records `member`'s OK commit of `offsets` in `generation`, run by `process`.
fn commit(
    history: &mut History,
    process: u64,
    member: &str,
    generation: i32,
    offsets: Vec<(i32, i64)>,
) -> OpId {
    let op = history
        .invoke_commit(process, GROUP, member, generation, offsets)
        .expect("valid commit");
    history.ok_commit(op).expect("pending");
    op
}

/// Records an OK read of the committed offsets of `partitions` (all when `None`) by `process`.
fn fetch(
    history: &mut History,
    process: u64,
    partitions: Option<Vec<i32>>,
    offsets: Vec<(i32, i64)>,
) -> OpId {
    let op = history
        .invoke_offset_fetch(process, GROUP, partitions)
        .expect("valid fetch");
    history.ok_offset_fetch(op, offsets).expect("pending");
    op
}

/// Invariant 16: member a of generation 1 commits after member b's assignment of generation 2
/// completed (the fault), or before it.
fn stale_commit(fault: bool) -> History {
    let mut history = History::new();
    assign(&mut history, 1, "a", 1, vec![0, 1]);
    if fault {
        assign(&mut history, 2, "b", 2, vec![0, 1]);
        commit(&mut history, 1, "a", 1, vec![(0, 5)]);
    } else {
        commit(&mut history, 1, "a", 1, vec![(0, 5)]);
        assign(&mut history, 2, "b", 2, vec![0, 1]);
    }
    history
}

#[test]
fn zombie_commit_of_a_stale_generation() {
    let report = check(&stale_commit(true));
    let needle = "group g: op 2 (member a, generation 1) committing partition 0 offset 5 was accepted, though invoked after op 1 completed an assignment of generation 2";
    assert_flags(&report, anomaly::ZOMBIE_COMMIT, needle);
    assert_eq!(report.count(anomaly::ZOMBIE_COMMIT), 1, "{report}");
    assert_clean(&check(&stale_commit(false)));
}

#[test]
fn a_stale_commit_refused_or_overlapping_the_new_generation_is_no_zombie() {
    let mut history = History::new();
    assign(&mut history, 1, "a", 1, vec![0]);
    // Invoked while generation 2's SyncGroup was in flight: it may have been accepted first.
    let sync = history.invoke_assignment(2, GROUP, "b", 2).unwrap();
    commit(&mut history, 1, "a", 1, vec![(0, 5)]);
    history.ok_assignment(sync, vec![0]).unwrap();
    // Invoked after it: refused as a whole, or for its only partition.
    let refused = history
        .invoke_commit(1, GROUP, "a", 1, vec![(0, 6)])
        .unwrap();
    history.fail(refused).unwrap();
    let partly = history
        .invoke_commit(1, GROUP, "a", 1, vec![(0, 6)])
        .unwrap();
    history.ok_commit_partial(partly, vec![0]).unwrap();
    // A commit from outside the group is not judged by generation.
    let admin = history
        .invoke_commit(9, GROUP, "", -1, vec![(0, 7)])
        .unwrap();
    history.ok_commit(admin).unwrap();
    assert_clean(&check(&history));
}

/// Invariant 16: member a, assigned partition 0 in generation 1, commits partition 1 too
/// (the fault), or only partition 0.
fn foreign_commit(fault: bool) -> History {
    let mut history = History::new();
    assign(&mut history, 1, "a", 1, vec![0]);
    assign(&mut history, 2, "b", 1, vec![1]);
    let offsets = if fault {
        vec![(0, 3), (1, 4)]
    } else {
        vec![(0, 3)]
    };
    commit(&mut history, 1, "a", 1, offsets);
    history
}

#[test]
fn zombie_commit_of_a_partition_not_owned() {
    let report = check(&foreign_commit(true));
    let needle = "group g: op 2 (member a, generation 1) committing partition 0 offset 3, partition 1 offset 4 was accepted, though partitions [1] are not the member's in generation 1 (op 0 assigned it [0])";
    assert_flags(&report, anomaly::ZOMBIE_COMMIT, needle);
    assert_clean(&check(&foreign_commit(false)));
}

/// KIP-429: generation 2 takes partition 1 from member a (cooperative-sticky), and a commits
/// it in generation 2 as it revokes it. That is allowed while no one holds partition 1 in
/// generation 2; with the fault, b was given it in generation 2 already.
fn cooperative_revocation(fault: bool) -> History {
    let mut history = History::new();
    assign(&mut history, 1, "a", 1, vec![0, 1]);
    assign(&mut history, 2, "b", 1, vec![]);
    assign(&mut history, 1, "a", 2, vec![0]);
    let b = if fault { vec![1] } else { vec![] };
    assign(&mut history, 2, "b", 2, b);
    commit(&mut history, 1, "a", 2, vec![(0, 3), (1, 4)]);
    history
}

#[test]
fn a_revoking_member_commits_what_no_one_else_holds_yet() {
    let report = check(&cooperative_revocation(true));
    let needle = "partitions [1] are not the member's in generation 2";
    assert_flags(&report, anomaly::ZOMBIE_COMMIT, needle);
    assert_clean(&check(&cooperative_revocation(false)));
}

#[test]
fn a_foreign_partition_refused_or_an_unknown_assignment_is_not_judged() {
    let mut history = foreign_commit(false);
    let refused = history
        .invoke_commit(1, GROUP, "a", 1, vec![(0, 4), (1, 5)])
        .unwrap();
    history.ok_commit_partial(refused, vec![1]).unwrap();
    // Member c's assignment of generation 1 is not in the history: nothing to judge against.
    commit(&mut history, 3, "c", 1, vec![(2, 9)]);
    assert_clean(&check(&history));
}

/// Invariant 17: in generation 2, members a and b are both assigned partition 1 (the fault),
/// or b gets it only in generation 3.
fn shared_partition(fault: bool) -> History {
    let mut history = History::new();
    assign(&mut history, 1, "a", 2, vec![0, 1]);
    if fault {
        assign(&mut history, 2, "b", 2, vec![1, 2]);
    } else {
        assign(&mut history, 2, "b", 2, vec![2]);
        assign(&mut history, 2, "b", 3, vec![1, 2]);
    }
    // A retried SyncGroup of the same member is no double assignment.
    assign(&mut history, 1, "a", 2, vec![0, 1]);
    history
}

#[test]
fn double_assignment() {
    let report = check(&shared_partition(true));
    let needle =
        "group g generation 2 partition 1: assigned to member a (op 0) and member b (op 1)";
    assert_flags(&report, anomaly::DOUBLE_ASSIGNMENT, needle);
    assert_eq!(report.count(anomaly::DOUBLE_ASSIGNMENT), 1, "{report}");
    assert_clean(&check(&shared_partition(false)));
}

/// Invariant 16: after an OK commit of offset 5, a read returns `read` (-1 for none).
fn read_after_commit(read: i64) -> History {
    let mut history = History::new();
    assign(&mut history, 1, "a", 1, vec![0]);
    commit(&mut history, 1, "a", 1, vec![(0, 5)]);
    fetch(&mut history, 2, Some(vec![0]), vec![(0, read)]);
    history
}

#[test]
fn committed_offset_regression() {
    let report = check(&read_after_commit(3));
    let needle = "group g partition 0: op 2 (process 2) read committed offset 3, though op 1 (member a, generation 1) had committed offset 5 before it was invoked";
    assert_flags(&report, anomaly::COMMITTED_OFFSET_REGRESSION, needle);
    assert_clean(&check(&read_after_commit(5)));
    assert_clean(&check(&read_after_commit(6)));
}

#[test]
fn a_commit_that_vanished_is_a_committed_offset_regression() {
    let needle = "op 2 (process 2) read no committed offset, though op 1";
    let report = check(&read_after_commit(-1));
    assert_flags(&report, anomaly::COMMITTED_OFFSET_REGRESSION, needle);
    // Absent from an answer for every partition.
    let mut history = read_after_commit(5);
    fetch(&mut history, 2, None, vec![(3, 1)]);
    let needle = "op 3 (process 2) read no committed offset, though op 1";
    assert_flags(
        &check(&history),
        anomaly::COMMITTED_OFFSET_REGRESSION,
        needle,
    );
    // Absent from an answer that did not ask for it.
    let mut history = read_after_commit(5);
    fetch(&mut history, 2, Some(vec![3]), vec![]);
    assert_clean(&check(&history));
}

/// Invariant 16: after an OK commit of offset 5, a reset to 0 is invoked before the read
/// completes, and the read returns 0; `outcome` says how the reset ended.
fn reset_before_read(outcome: &str) -> History {
    let mut history = History::new();
    commit(&mut history, 1, "a", 1, vec![(0, 5)]);
    let reset = history.invoke_reset(9, GROUP, vec![(0, 0)]).unwrap();
    let read = history.invoke_offset_fetch(2, GROUP, None).unwrap();
    match outcome {
        "ok" => history.ok_commit(reset).unwrap(),
        "refused" => history.ok_commit_partial(reset, vec![0]).unwrap(),
        "failed" => history.fail(reset).unwrap(),
        _ => {} // still pending: indefinite
    }
    history.ok_offset_fetch(read, vec![(0, 0)]).unwrap();
    history
}

#[test]
fn a_reset_may_move_the_committed_offset_back() {
    assert_clean(&check(&reset_before_read("ok")));
    assert_clean(&check(&reset_before_read("pending")));
    for outcome in ["failed", "refused"] {
        assert_flags(
            &check(&reset_before_read(outcome)),
            anomaly::COMMITTED_OFFSET_REGRESSION,
            "op 2 (process 2) read committed offset 0, though op 0 (member a, generation 1) had committed offset 5",
        );
    }
}

#[test]
fn a_reset_binds_later_reads_and_excuses_only_earlier_commits() {
    let mut history = History::new();
    commit(&mut history, 1, "a", 1, vec![(0, 5)]);
    let reset = history.invoke_reset(9, GROUP, vec![(0, 2)]).unwrap();
    history.ok_commit(reset).unwrap();
    commit(&mut history, 1, "a", 2, vec![(0, 3)]);
    fetch(&mut history, 2, None, vec![(0, 3)]);
    assert_clean(&check(&history));
    fetch(&mut history, 2, None, vec![(0, 2)]);
    let needle = "op 4 (process 2) read committed offset 2, though op 2 (member a, generation 2) had committed offset 3";
    assert_flags(
        &check(&history),
        anomaly::COMMITTED_OFFSET_REGRESSION,
        needle,
    );
}

/// Invariant 16: a commit of 7 ends indefinite, a read returns 7, and a later read returns
/// `later`.
fn read_then_read(later: i64) -> History {
    let mut history = History::new();
    let lost_answer = history
        .invoke_commit(1, GROUP, "a", 1, vec![(0, 7)])
        .unwrap();
    history.info(lost_answer).unwrap();
    fetch(&mut history, 2, Some(vec![0]), vec![(0, 7)]);
    fetch(&mut history, 3, Some(vec![0]), vec![(0, later)]);
    history
}

#[test]
fn a_read_offset_binds_later_reads() {
    let needle = "group g partition 0: op 2 (process 3) read committed offset 5, though op 1 (process 2) had read offset 7 before it was invoked";
    assert_flags(
        &check(&read_then_read(5)),
        anomaly::COMMITTED_OFFSET_REGRESSION,
        needle,
    );
    assert_clean(&check(&read_then_read(7)));
}

#[test]
fn a_read_overlapping_a_commit_may_miss_it() {
    let mut history = History::new();
    commit(&mut history, 1, "a", 1, vec![(0, 5)]);
    let slow = history
        .invoke_commit(1, GROUP, "a", 1, vec![(0, 8)])
        .unwrap();
    fetch(&mut history, 2, None, vec![(0, 5)]);
    history.ok_commit(slow).unwrap();
    fetch(&mut history, 2, None, vec![(0, 8)]);
    assert_clean(&check(&history));
}

/// Values 10..=14 at offsets 0..=4 of partition 0, read by process 3.
fn five_records() -> History {
    let mut history = History::new();
    for offset in 0..5 {
        send_ok(&mut history, 1, 0, 10 + offset as u64, offset);
    }
    let all = (0..5).map(|offset| (offset, 10 + offset as u64)).collect();
    poll_ok(&mut history, 3, vec![(0, all)], true);
    history
}

/// Invariant 8: process 2 read offsets 0 and 1, is assigned partition 0 starting at offset 2,
/// and its first poll begins at `first`.
fn poll_after_assignment(first: i64) -> History {
    let mut history = five_records();
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10), (1, 11)])], true);
    let sync = assign(&mut history, 2, "a", 1, vec![0]);
    history.ok_assignment_positions(sync, vec![(0, 2)]).unwrap();
    let records = (first..5)
        .map(|offset| (offset, 10 + offset as u64))
        .collect();
    poll_ok(&mut history, 2, vec![(0, records)], false);
    history
}

#[test]
fn a_poll_skipping_its_assigned_start_is_a_poll_skip() {
    let report = check(&poll_after_assignment(3));
    let needle = "process 2 partition 0: assignment op 7 started it at offset 2, op 8 began at offset 3 (value 13), skipping offset 2";
    assert_flags(&report, anomaly::POLL_SKIP, needle);
    assert_clean(&check(&poll_after_assignment(2)));
}

#[test]
fn a_poll_before_its_assigned_start_is_nonmonotonic() {
    let report = check(&poll_after_assignment(1));
    let needle = "process 2 partition 0: assignment op 7 started it at offset 2, op 8 began at offset 1 (value 11)";
    assert_flags(&report, anomaly::NONMONOTONIC_POLL, needle);
}

#[test]
fn starting_past_a_start_without_records_is_no_skip() {
    // Offsets 2 and 3 hold no record (transaction markers, say).
    let mut history = History::new();
    for (offset, value) in [(0, 10), (1, 11), (4, 14)] {
        send_ok(&mut history, 1, 0, value, offset);
    }
    let sync = assign(&mut history, 2, "a", 1, vec![0]);
    history.ok_assignment_positions(sync, vec![(0, 2)]).unwrap();
    poll_ok(&mut history, 2, vec![(0, vec![(4, 14)])], false);
    poll_ok(
        &mut history,
        3,
        vec![(0, vec![(0, 10), (1, 11), (4, 14)])],
        true,
    );
    assert_clean(&check(&history));
}

#[test]
fn an_assignment_forgets_earlier_positions() {
    // Process 2 read offset 0 and is reassigned the partition, starting wherever (no positions
    // recorded), and later elsewhere by its positions; both are seeks.
    let mut history = five_records();
    poll_ok(&mut history, 2, vec![(0, vec![(0, 10)])], true);
    assign(&mut history, 2, "a", 1, vec![0]);
    poll_ok(&mut history, 2, vec![(0, vec![(3, 13)])], false);
    poll_ok(&mut history, 2, vec![(0, vec![(4, 14)])], false);
    let sync = assign(&mut history, 2, "a", 2, vec![0]);
    history.ok_assignment_positions(sync, vec![(0, 1)]).unwrap();
    poll_ok(&mut history, 2, vec![(0, vec![(1, 11), (2, 12)])], false);
    assert_clean(&check(&history));
    // Polls continue from there as usual.
    poll_ok(&mut history, 2, vec![(0, vec![(4, 14)])], false);
    assert_flags(
        &check(&history),
        anomaly::POLL_SKIP,
        "op 11 ended at offset 2 (value 12), op 12 began at offset 4 (value 14), skipping offset 3",
    );
}

#[test]
fn group_operations_are_counted() {
    let report = check(&stale_commit(false));
    assert_eq!(
        (
            report.ok_commits,
            report.ok_offset_fetches,
            report.ok_assignments
        ),
        (1, 0, 2)
    );
    assert!(
        report
            .to_string()
            .starts_with("valid: 0 ok sends, 0 failed sends, 0 indefinite sends, 0 ok polls, 1 ok commits, 0 ok offset fetches, 2 ok assignments\n"),
        "{report}"
    );
}
