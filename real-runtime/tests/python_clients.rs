//! Real Kafka clients from PyPI against `sluice server`, each with its default settings:
//! confluent-kafka (librdkafka), aiokafka and kafka-python 3.x (idempotent and acks=all by
//! default, so InitProducerId and sequence numbers are exercised). Each script in
//! `tests/clients/` produces keyed records to a topic the broker creates on first use with
//! three partitions, reads every partition back, and fails naming the first acknowledged
//! record that is missing, moved, altered or out of order.
//!
//! `scripts/test-deps.sh` installs the clients (the README's test command runs it first).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::start_node;

fn run_client(script: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Three partitions per auto-created topic, so that keys spread.
    let (mut server, address) = start_node(dir.path(), "num.partitions=3\n");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let mut client = Command::new("python3")
        .arg(scripts.join(script))
        .args([address.as_str(), "checked"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = client.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = client.wait_with_output().unwrap();
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
