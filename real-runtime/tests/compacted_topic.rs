//! A compacted topic through a real client: on a broker whose `log.cleanup.policy` is
//! `compact`, a topic created on first use is compacted; confluent-kafka's keyless record is
//! refused with INVALID_RECORD (Kafka's LogValidator), and the keyed records around it, a
//! tombstone included, are stored and read back in order with nothing between them.

mod support;

use support::{run_python, start_node};

#[test]
fn a_compacted_topic_refuses_keyless_records_and_keeps_the_keyed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_node(dir.path(), "log.cleanup.policy=compact\n");
    let output = run_python("compacted_produce.py", &[address.as_str(), "table"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "ok 0",
            "error INVALID_RECORD",
            "ok 1",
            "record k1 v1",
            "record k2 -"
        ],
        "{stderr}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
