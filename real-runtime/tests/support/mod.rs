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
