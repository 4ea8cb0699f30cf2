//! A real Kafka client against `sluice server`: kcat (librdkafka) produces to a topic the
//! broker creates on first use, consumes it back, and after a `kill -9` and a restart on the
//! same data directory reads every record again and appends after them.
//!
//! kcat comes from Debian's `kcat` package, which `.ci/run` installs. Waits are bounded.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{listening_address, start_server, WAIT};

fn start(dir: &Path, port: u16) -> (Child, String) {
    let config = dir.join("server.properties");
    let text = format!(
        "listeners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\n",
        dir.join("data").display()
    );
    std::fs::write(&config, text).unwrap();
    let (mut child, lines) = start_server(&config);
    let address = listening_address(&mut child, &lines);
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

fn kcat(address: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new("kcat")
        .args(["-b", address])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat is installed (Debian package kcat)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("kcat {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "kcat {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn produce(address: &str, lines: &str) {
    kcat(address, &["-P", "-t", "demo"], lines);
}

fn consume(address: &str) -> String {
    kcat(
        address,
        &["-C", "-t", "demo", "-o", "beginning", "-e", "-q"],
        "",
    )
}

/// Waits until the broker serves `demo` again. After a `kill -9` the restarted broker's new
/// registration waits for its previous incarnation's lease to lapse
/// (`broker.session.timeout.ms`, 9 s), as Kafka's does, and it serves nobody before that.
fn wait_until_led(address: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let output = Command::new("kcat")
            .args(["-b", address, "-L", "-t", "demo", "-m", "2"])
            .output()
            .expect("kcat is installed");
        let text = String::from_utf8_lossy(&output.stdout);
        if text.contains("partition 0, leader 1") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "demo never got a leader again: {output:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

#[test]
fn kcat_produces_and_consumes_across_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut server, address) = start(dir.path(), port);
    produce(&address, "one\ntwo\nthree\n");
    assert_eq!(consume(&address), "one\ntwo\nthree\n");
    let metadata = kcat(&address, &["-L", "-t", "demo"], "");
    assert!(
        metadata.contains("partition 0, leader 1, replicas: 1, isrs: 1"),
        "{metadata}"
    );

    server.kill().unwrap();
    server.wait().unwrap();
    let (mut server, address) = start(dir.path(), port);
    wait_until_led(&address);
    assert_eq!(consume(&address), "one\ntwo\nthree\n");
    produce(&address, "four\n");
    assert_eq!(consume(&address), "one\ntwo\nthree\nfour\n");
    server.kill().unwrap();
    server.wait().unwrap();
}
