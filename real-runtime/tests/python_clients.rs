//! Real Kafka clients from PyPI against `sluice server`, each with its default settings:
//! confluent-kafka (librdkafka), aiokafka and kafka-python 3.x (idempotent and acks=all by
//! default, so InitProducerId and sequence numbers are exercised). Each script in
//! `tests/clients/` produces keyed records to a topic the broker creates on first use with
//! three partitions, reads every partition back, and fails naming the first acknowledged
//! record that is missing, moved, altered or out of order. One runs again with a flush per
//! message, so that every answer waits for its sync.
//!
//! `scripts/test-deps.sh` installs the clients (the README's test command runs it first).

mod support;

use support::{run_python, start_node};

fn run_client(script: &str) {
    // Three partitions per auto-created topic, so that keys spread.
    run_client_on(script, "num.partitions=3\n");
}

fn run_client_on(script: &str, config: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_node(dir.path(), config);
    let output = run_python(script, &[address.as_str(), "checked"]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn confluent_kafka_with_defaults() {
    run_client("confluent_kafka_client.py");
}

/// Every produce answer waits for an fdatasync, run off the node's loop and merged with the
/// other partitions' (see `sluice::sync_worker`): the answers must still all come, in order.
#[test]
fn confluent_kafka_with_a_flush_per_message() {
    let config = "num.partitions=3\nlog.flush.interval.messages=1\n";
    run_client_on("confluent_kafka_client.py", config);
}

#[test]
fn aiokafka_with_defaults() {
    run_client("aiokafka_client.py");
}

#[test]
fn kafka_python_with_defaults() {
    run_client("kafka_python_client.py");
}
