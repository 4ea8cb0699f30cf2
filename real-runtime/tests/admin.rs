//! Kafka's admin APIs against `sluice server`, driven by a real client: kafka-python 3.x's
//! `KafkaAdminClient` (`tests/clients/kafka_python_admin.py`) describes the cluster, creates a
//! topic with three partitions and a config, lists it, describes its configs (a default and
//! the set value, with their sources), alters them with AlterConfigs and
//! IncrementalAlterConfigs, adds partitions, deletes records and deletes the topic, checking
//! every answer, refusals included.
//!
//! `scripts/test-deps.sh` installs the client (the README's test command runs it first).

mod support;

use support::{run_python, start_node};

#[test]
fn kafka_python_admin_client() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_node(dir.path(), "");
    let output = run_python("kafka_python_admin.py", &[address.as_str()]);
    server.kill().unwrap();
    server.wait().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("ok: every admin step"),
        "the admin client failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // The deleted topic's partition directories are gone with their data.
    let leftovers: Vec<String> = std::fs::read_dir(dir.path().join("data/data"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("admin-orders"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}
