//! What the tests that run the `sluice` binary share.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(20);

pub fn sluice() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.env_remove("RUST_LOG");
    command
}

/// Starts `sluice server` and returns it with a channel of its stderr lines.
pub fn start_server(config: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = sluice()
        .arg("server")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice server");
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    // Drains stderr for the whole run so the child never blocks on a full pipe.
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, received)
}

/// The address in the server's "listening on PLAINTEXT://ADDRESS" log line.
pub fn listening_address(child: &mut Child, lines: &mpsc::Receiver<String>) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some((_, address)) = line.split_once("listening on PLAINTEXT://") {
                    return address.trim().to_string();
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no `listening on` line from sluice server");
            }
        }
    }
}

/// Starts a single-node `sluice server` on a free loopback port with its data under `dir`,
/// plus `extra` server.properties lines; returns it with the address it listens on.
pub fn start_node(dir: &Path, extra: &str) -> (Child, String) {
    let config = dir.join("server.properties");
    let text = format!(
        "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n{extra}",
        dir.join("data").display()
    );
    std::fs::write(&config, text).unwrap();
    let (mut child, lines) = start_server(&config);
    let address = listening_address(&mut child, &lines);
    // Keep draining the server's log so it never blocks on a full pipe.
    thread::spawn(move || for _ in lines {});
    (child, address)
}

/// Runs `tests/clients/SCRIPT ARGS…` with python3, killed if it outlasts two minutes.
pub fn run_python(script: &str, args: &[&str]) -> std::process::Output {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let mut client = Command::new("python3")
        .arg(scripts.join(script))
        .args(args)
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
        thread::sleep(Duration::from_millis(50));
    }
    client.wait_with_output().unwrap()
}

/// A sessionless Fetch of partition 0 of `topic` from `offset`, answered at once.
pub fn fetch_partition_0(topic: &'static str, offset: i64) -> sluice_net::request::RequestBody {
    use sluice_net::kafka_protocol::messages::{fetch_request, BrokerId, FetchRequest, TopicName};
    use sluice_net::kafka_protocol::protocol::StrBytes;
    let partition = fetch_request::FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1 << 20);
    sluice_net::request::RequestBody::Fetch(
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_static_str(topic)))
                .with_partitions(vec![partition])]),
    )
}

/// Every record in fetched `bytes` as (offset, value), or `None` if a batch does not parse.
pub fn records_of(bytes: &[u8]) -> Option<Vec<(i64, String)>> {
    let mut records = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let batch = sluice_core::record::RecordBatch::parse(rest).ok()?;
        for record in batch.records().ok()? {
            records.push((record.offset, String::from_utf8(record.value?).ok()?));
        }
        rest = &rest[batch.bytes().len()..];
    }
    Some(records)
}
