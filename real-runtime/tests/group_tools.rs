//! `sluice groups` and `sluice consume --group` against a running `sluice server`: a group
//! consumer reads and commits, a second run resumes after the commit, and kafka-consumer-groups'
//! list, describe (offsets with lag, members, state), reset-offsets (dry run and execute),
//! delete-offsets and delete show and change what OffsetFetch answers; refused actions print
//! Kafka's message on one line and exit 1.

mod support;

use std::io::Write;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use support::{sluice, start_node, WAIT};

fn run(args: &[&str], input: &str) -> Output {
    let mut child = sluice()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let output = run(args, "");
    assert!(output.status.success(), "sluice {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A refused action: exit 1 and one line on standard error.
fn refused(args: &[&str]) -> String {
    let output = run(args, "");
    assert_eq!(output.status.code(), Some(1), "sluice {args:?}: {output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

fn produce(b: &str, lines: &str) {
    let args = [
        "produce",
        "--bootstrap-server",
        b,
        "--topic",
        "orders",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
    ];
    let output = run(&args, lines);
    assert!(output.status.success(), "{output:?}");
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The describe table's rows as (partition, current, log-end, lag, consumer) columns.
fn describe_rows(b: &str, group: &str) -> Vec<Vec<String>> {
    let text = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        group,
    ]);
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let mut rows: Vec<Vec<String>> = lines
        .map(|line| {
            line.split_whitespace()
                .skip(2)
                .map(str::to_string)
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

fn total_lag(rows: &[Vec<String>]) -> i64 {
    rows.iter().map(|row| row[3].parse::<i64>().unwrap()).sum()
}

fn group_state(b: &str, group: &str) -> String {
    let text = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        group,
        "--state",
    ]);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    // Columns are padded to the header's positions; the assignor may be empty.
    let at = header.find("STATE").unwrap();
    row[at..].split_whitespace().next().unwrap().to_string()
}

fn consume_group(b: &str, args: &[&str]) -> String {
    let mut all = vec![
        "consume",
        "--bootstrap-server",
        b,
        "--topic",
        "orders",
        "--group",
        "billing",
    ];
    all.extend_from_slice(args);
    ok(&all)
}

#[test]
fn groups_tool_and_group_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_node(
        dir.path(),
        "num.partitions=2\ngroup.initial.rebalance.delay.ms=0\n",
    );
    let b = address.as_str();
    produce(b, "k1:a\nk2:b\nk3:c\nk4:d\nk5:e\nk6:f\n");

    // The first run starts from the beginning and commits on close.
    let read = consume_group(b, &["--from-beginning", "--max-messages", "6"]);
    assert_eq!(sorted_lines(&read), ["a", "b", "c", "d", "e", "f"]);
    assert!(ok(&["groups", "--bootstrap-server", b, "--list"])
        .lines()
        .any(|g| g == "billing"));
    let rows = describe_rows(b, "billing");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let committed: i64 = rows.iter().map(|row| row[1].parse::<i64>().unwrap()).sum();
    assert_eq!((committed, total_lag(&rows)), (6, 0), "{rows:?}");
    assert!(
        rows.iter().all(|row| row[4] == "-"),
        "no member owns them now: {rows:?}"
    );

    // Lag grows with the log; a second run resumes after the commit.
    produce(b, "k1:g\nk2:h\nk3:i\n");
    assert_eq!(total_lag(&describe_rows(b, "billing")), 3);
    let read = consume_group(b, &["--max-messages", "3"]);
    assert_eq!(sorted_lines(&read), ["g", "h", "i"]);
    assert_eq!(total_lag(&describe_rows(b, "billing")), 0);
    assert_eq!(group_state(b, "billing"), "Empty");

    active_member_refusals(b);

    // Reset: a dry run prints and changes nothing; execute moves the committed offsets.
    let reset = [
        "groups",
        "--bootstrap-server",
        b,
        "--reset-offsets",
        "--group",
        "billing",
    ];
    let dry = ok(&[
        &reset[..],
        &["--topic", "orders", "--to-earliest", "--dry-run"],
    ]
    .concat());
    let dry_rows: Vec<&str> = dry.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        dry_rows[0].split_whitespace().collect::<Vec<_>>(),
        ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    );
    assert_eq!(dry_rows.len(), 3, "{dry}");
    assert!(dry_rows[1..]
        .iter()
        .all(|row| row.ends_with(" 0") || row.trim_end().ends_with(" 0")));
    assert_eq!(
        total_lag(&describe_rows(b, "billing")),
        0,
        "a dry run commits nothing"
    );
    ok(&[
        &reset[..],
        &["--topic", "orders", "--to-earliest", "--execute"],
    ]
    .concat());
    assert_eq!(total_lag(&describe_rows(b, "billing")), 10);
    ok(&[
        &reset[..],
        &["--topic", "orders:0", "--to-offset", "1", "--execute"],
    ]
    .concat());
    let rows = describe_rows(b, "billing");
    assert_eq!(rows[0][..2], ["0".to_string(), "1".to_string()], "{rows:?}");
    ok(&[
        &reset[..],
        &["--topic", "orders:0", "--shift-by", "1", "--execute"],
    ]
    .concat());
    assert_eq!(describe_rows(b, "billing")[0][1], "2");
    ok(&[
        &reset[..],
        &[
            "--topic",
            "orders",
            "--to-datetime",
            "2000-01-01T00:00:00.000",
            "--execute",
        ],
    ]
    .concat());
    assert_eq!(
        total_lag(&describe_rows(b, "billing")),
        10,
        "every record is newer"
    );
    ok(&[
        &reset[..],
        &["--topic", "orders", "--to-latest", "--execute"],
    ]
    .concat());
    assert_eq!(total_lag(&describe_rows(b, "billing")), 0);

    // delete-offsets forgets the topic's offsets; delete removes the group.
    let deleted = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--delete-offsets",
        "--group",
        "billing",
        "--topic",
        "orders",
    ]);
    assert!(
        deleted.starts_with("Request succeed for deleting offsets with topic orders group billing"),
        "{deleted}"
    );
    let text = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "billing",
    ]);
    assert!(text.trim().is_empty(), "no offsets left: {text}");
    let deleted = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--delete",
        "--group",
        "billing",
    ]);
    assert_eq!(
        deleted.trim(),
        "Deletion of requested consumer groups ('billing') was successful."
    );
    assert!(!ok(&["groups", "--bootstrap-server", b, "--list"])
        .lines()
        .any(|g| g == "billing"));

    // Unknown groups.
    let error = refused(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "billing",
    ]);
    assert!(
        error.contains("Error: Consumer group 'billing' does not exist."),
        "{error}"
    );
    let error = refused(&[
        "groups",
        "--bootstrap-server",
        b,
        "--delete",
        "--group",
        "nobody",
    ]);
    assert!(
        error.contains("Group 'nobody' could not be deleted due to: The group id does not exist."),
        "{error}"
    );
    let output = run(&["groups", "--bootstrap-server", b, "--describe"], "");
    assert_eq!(
        output.status.code(),
        Some(2),
        "missing --group is a usage error"
    );

    server.kill().unwrap();
    server.wait().unwrap();
}

/// With a member in the group: describe shows it, and reset, delete and delete-offsets are
/// refused with Kafka's messages. The member then reads one record and leaves.
fn active_member_refusals(b: &str) {
    let member: Child = sluice()
        .args([
            "consume",
            "--bootstrap-server",
            b,
            "--topic",
            "orders",
            "--group",
            "billing",
        ])
        .args(["--max-messages", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while group_state(b, "billing") != "Stable" {
        assert!(Instant::now() < deadline, "the member never joined");
        std::thread::sleep(Duration::from_millis(100));
    }
    let members = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "billing",
        "--members",
        "--verbose",
    ]);
    let lines: Vec<&str> = members.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "GROUP",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT"
        ]
    );
    assert_eq!(lines.len(), 2, "{members}");
    assert!(
        lines[1].contains("sluice-console-consumer") && lines[1].contains("orders(0,1)"),
        "{members}"
    );
    let rows = describe_rows(b, "billing");
    assert!(
        rows.iter().all(|row| row[4] != "-"),
        "the member owns both: {rows:?}"
    );

    let error = refused(&[
        "groups",
        "--bootstrap-server",
        b,
        "--reset-offsets",
        "--group",
        "billing",
        "--topic",
        "orders",
        "--to-earliest",
        "--execute",
    ]);
    assert!(error.contains(
        "Error: Assignments can only be reset if the group 'billing' is inactive, but the current state is Stable."
    ), "{error}");
    let error = refused(&[
        "groups",
        "--bootstrap-server",
        b,
        "--delete",
        "--group",
        "billing",
    ]);
    assert!(
        error.contains("could not be deleted due to: The group is not empty."),
        "{error}"
    );

    produce(b, "k1:j\n");
    let output = member.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "j\n");
    let deadline = Instant::now() + WAIT;
    while group_state(b, "billing") != "Empty" {
        assert!(Instant::now() < deadline, "the member never left");
        std::thread::sleep(Duration::from_millis(100));
    }
}
