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
