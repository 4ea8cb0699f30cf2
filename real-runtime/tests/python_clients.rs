//! Real Kafka clients from PyPI against `sluice server`, each with its default settings:
//! confluent-kafka (librdkafka), aiokafka and kafka-python 3.x (idempotent and acks=all by
//! default, so InitProducerId and sequence numbers are exercised). Each script in
//! `tests/clients/` produces keyed records to a topic the broker creates on first use with
//! three partitions, reads every partition back, and fails naming the first acknowledged
//! record that is missing, moved, altered or out of order.
//!
//! `scripts/test-deps.sh` installs the clients (the README's test command runs it first).

mod support;

use support::{run_python, start_node};

fn run_client(script: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Three partitions per auto-created topic, so that keys spread.
    let (mut server, address) = start_node(dir.path(), "num.partitions=3\n");
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

#[test]
fn aiokafka_with_defaults() {
    run_client("aiokafka_client.py");
}

#[test]
fn kafka_python_with_defaults() {
    run_client("kafka_python_client.py");
}
