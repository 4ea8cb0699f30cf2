//! Kafka's admin APIs against `sluice server`, driven by a real client: kafka-python 3.x's
//! `KafkaAdminClient` (`tests/clients/kafka_python_admin.py`) describes the cluster, creates a
//! topic with three partitions and a config, lists it, describes its configs (a default and
//! the set value, with their sources), alters them with AlterConfigs and
//! IncrementalAlterConfigs, adds partitions, deletes records and deletes the topic, checking
//! every answer, refusals included.
//!
//! `scripts/test-deps.sh` installs the client (the README's test command runs it first).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{listening_address, start_server};

#[test]
fn kafka_python_admin_client() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.properties");
    let text = format!(
        "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n",
        dir.path().join("data").display()
    );
    std::fs::write(&config, text).unwrap();
    let (mut server, lines) = start_server(&config);
    let address = listening_address(&mut server, &lines);
    std::thread::spawn(move || for _ in lines {});
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/kafka_python_admin.py");
    let mut client = Command::new("python3")
        .arg(script)
        .arg(&address)
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
