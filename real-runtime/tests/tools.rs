//! The `sluice` client tools against a running `sluice server`: produce keyed lines, read
//! them back, list and describe topics, describe the cluster, and run both benchmarks on a
//! few records. Every tool's output is checked, not just its exit status.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use support::{sluice, start_node};

fn tool(args: &[&str], input: &str) -> Output {
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
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "sluice {args:?}: {output:?}");
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn tools_produce_consume_and_describe() {
    let dir = tempfile::tempdir().unwrap();
    let config = "num.partitions=2\ngroup.initial.rebalance.delay.ms=0\n";
    let (mut server, address) = start_node(dir.path(), config);
    let b = address.as_str();

    tool(
        &[
            "produce",
            "--bootstrap-server",
            b,
            "--topic",
            "lines",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--acks",
            "all",
        ],
        "k1:one\nk2:two\nk1:three\n",
    );
    let read = tool(
        &[
            "consume",
            "--bootstrap-server",
            b,
            "--topic",
            "lines",
            "--from-beginning",
            "--max-messages",
            "3",
            "--property",
            "print.key=true",
            "--property",
            "key.separator==",
        ],
        "",
    );
    let mut lines: Vec<String> = stdout(&read).lines().map(str::to_string).collect();
    // Two partitions: order holds per key, so k1's records keep theirs.
    let k1: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("k1="))
        .collect();
    assert_eq!(k1, ["k1=one", "k1=three"]);
    lines.sort();
    assert_eq!(lines, ["k1=one", "k1=three", "k2=two"]);

    let listed = tool(&["topics", "--bootstrap-server", b, "--list"], "");
    assert_eq!(stdout(&listed), "lines\n");
    let described = stdout(&tool(
        &[
            "topics",
            "--bootstrap-server",
            b,
            "describe",
            "--topic",
            "lines",
        ],
        "",
    ));
    assert!(
        described.starts_with("Topic: lines\tPartitionCount: 2\tReplicationFactor: 1\n"),
        "{described}"
    );
    assert!(
        described.contains("\tTopic: lines\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\n"),
        "{described}"
    );
    tool(
        &[
            "topics",
            "--bootstrap-server",
            b,
            "alter",
            "--topic",
            "lines",
            "--partitions",
            "3",
            "--config",
            "retention.ms=86400000",
        ],
        "",
    );
    tool(
        &[
            "topics",
            "--bootstrap-server",
            b,
            "create",
            "--topic",
            "made",
            "--partitions",
            "4",
        ],
        "",
    );
    let described = stdout(&tool(&["topics", "--bootstrap-server", b, "describe"], ""));
    assert!(
        described.contains("Topic: lines\tPartitionCount: 3\t"),
        "{described}"
    );
    assert!(
        described.contains("Topic: made\tPartitionCount: 4\t"),
        "{described}"
    );
    tool(
        &[
            "topics",
            "--bootstrap-server",
            b,
            "delete",
            "--topic",
            "made",
        ],
        "",
    );
    let cluster = stdout(&tool(&["cluster", "describe", "--bootstrap-server", b], ""));
    assert!(cluster.contains("Active controller: 1\n"), "{cluster}");
    assert!(cluster.contains(&format!("\t1 at {b}\n")), "{cluster}");
    assert!(
        cluster.contains("Under-replicated partitions: 0\n"),
        "{cluster}"
    );

    let produced = stdout(&tool(
        &[
            "bench",
            "produce",
            "--bootstrap-server",
            b,
            "--num-records",
            "2000",
            "--record-size",
            "100",
        ],
        "",
    ));
    assert!(produced.starts_with("2000 records sent in "), "{produced}");
    assert!(produced.contains("latency ms: avg "), "{produced}");
    let consumed = stdout(&tool(
        &[
            "bench",
            "consume",
            "--bootstrap-server",
            b,
            "--num-records",
            "2000",
        ],
        "",
    ));
    assert!(consumed.starts_with("2000 records read in "), "{consumed}");
    // In a group: it reads from the group's committed offsets (none: the beginning), reports
    // its first assignment, and commits what it read on close.
    let in_group = stdout(&tool(
        &[
            "bench",
            "consume",
            "--bootstrap-server",
            b,
            "--num-records",
            "2000",
            "--group",
            "perf",
        ],
        "",
    ));
    assert!(in_group.starts_with("2000 records read in "), "{in_group}");
    assert!(in_group.contains("rebalance.time.ms "), "{in_group}");
    let described = stdout(&tool(
        &[
            "groups",
            "--bootstrap-server",
            b,
            "describe",
            "--group",
            "perf",
        ],
        "",
    ));
    let committed: i64 = described
        .lines()
        .filter(|line| line.starts_with("perf "))
        .map(|line| {
            line.split_whitespace()
                .nth(3)
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(committed, 2000, "{described}");

    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn tools_explain_bad_flags_and_unreachable_brokers() {
    for args in [
        &["produce", "--topic", "t"][..],
        &[
            "consume",
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--offset",
            "5",
        ],
        &["topics", "--bootstrap-server", "h:1"],
        &["topics", "--bootstrap-server", "nope", "--list"],
        &["bench", "produce", "--acks", "2"],
    ] {
        let output = sluice().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
    let output = sluice()
        .args(["topics", "--bootstrap-server", "127.0.0.1:1", "--list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.starts_with("sluice: cannot reach 127.0.0.1:1"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}
