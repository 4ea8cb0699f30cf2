//! `sluice server` as a process: it starts from a config file, answers ApiVersions, exits 0 on
//! SIGTERM, and refuses a bad configuration with one line and a non-zero exit.
//!
//! Waits are bounded (the child is killed and the test fails past [`WAIT`]); no assertion
//! depends on timing.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Output};
use std::thread;
use std::time::{Duration, Instant};

use support::{listening_address, sluice, start_server, WAIT};

use sluice_net::response::{api_versions_body_for, encode_response_at, ResponseBody};

fn wait_for_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sluice server did not exit after SIGTERM");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn api_versions_v3_request(correlation_id: i32) -> Vec<u8> {
    let mut payload = vec![0, 18, 0, 3];
    payload.extend_from_slice(&correlation_id.to_be_bytes());
    payload.extend_from_slice(&[0, 4]);
    payload.extend_from_slice(b"test");
    payload.extend_from_slice(&[0, 5]);
    payload.extend_from_slice(b"test");
    payload.push(4);
    payload.extend_from_slice(b"1.0");
    payload.push(0);
    let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
    frame.extend(payload);
    frame
}

#[test]
fn server_answers_api_versions_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("server.properties");
    let text = format!(
        "# a test node\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\nnum.network.threads=3\n",
        data.display()
    );
    std::fs::write(&config, text).unwrap();
    let (mut child, lines) = start_server(&config);
    let address = listening_address(&mut child, &lines);
    assert!(data.is_dir(), "the data directory is created at startup");

    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(&api_versions_v3_request(11)).unwrap();
    let body = api_versions_body_for(sluice::broker::serves);
    let expected = encode_response_at(11, 3, &ResponseBody::ApiVersions(body)).unwrap();
    let mut response = vec![0; expected.len()];
    stream.read_exact(&mut response).unwrap();
    assert_eq!(response, expected);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_for_exit(&mut child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    // The child has exited, but its last lines may still be on their way through the reader
    // thread: take them until it sees the end of the pipe.
    let mut rest = Vec::new();
    let deadline = Instant::now() + WAIT;
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        rest.push(line);
    }
    assert!(
        rest.iter().any(|line| line.contains("received SIGTERM")),
        "{rest:?}"
    );
}

fn run_failing(args: &[&str]) -> Output {
    let output = sluice().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
    assert!(output.stdout.is_empty());
    output
}

fn one_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn a_bad_value_is_one_line_and_exit_1() {
    let output = run_failing(&["server", "--override", "num.partitions=zero"]);
    assert_eq!(
        one_line(&output),
        "sluice: num.partitions: invalid value \"zero\": expected an integer from 1 to \
         2147483647\n"
    );
    let output = run_failing(&["server", "/nonexistent/server.properties"]);
    assert!(one_line(&output).starts_with("sluice: cannot read config file "));
}

#[test]
fn an_unusable_data_directory_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let override_dirs = format!("log.dirs={}", file.join("data").display());
    let output = run_failing(&["server", "--override", &override_dirs]);
    let line = one_line(&output);
    assert!(line.starts_with("sluice: data directory "), "{line}");
    assert!(line.contains("is unusable"), "{line}");
}

#[test]
fn a_port_in_use_is_one_line_and_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let output = run_failing(&[
        "server",
        "--override",
        &format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
        "--override",
        &format!("log.dirs={}", dir.path().display()),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "sluice: cannot listen on PLAINTEXT://127.0.0.1:{port}: "
        )),
        "{stderr}"
    );
}
