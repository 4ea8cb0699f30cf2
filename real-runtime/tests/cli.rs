//! The `sluice` binary's command line: exit codes, and a tiny end-to-end benchmark run.

use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .expect("run sluice")
}

fn stderr_lines(output: &Output) -> usize {
    String::from_utf8_lossy(&output.stderr).lines().count()
}

#[test]
fn unknown_commands_and_flags_exit_2_with_one_line() {
    for args in [
        &[][..],
        &["server", "--bogus"],
        &["bench"],
        &["bench", "fetch"],
        &["bench", "produce", "--acks", "2"],
        &["bench", "log-append", "--record-size", "tiny"],
        &["bench", "log-append", "--verbose", "yes"],
        &["bench", "log-append", "--dir"],
    ] {
        let output = sluice(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr_lines(&output), 1, "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_prints_usage_and_succeeds() {
    let output = sluice(&["help"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("bench log-append"));
}

#[test]
fn a_small_log_append_bench_prints_one_line_per_case_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_str().unwrap();
    let args = [
        "bench",
        "log-append",
        "--dir",
        base,
        "--total-bytes",
        "1M",
        "--rounds",
        "2",
    ];
    let output = sluice(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("log-append record_size=200 batch_bytes=16384 "));
    assert!(lines[1].starts_with("log-append record_size=1024 batch_bytes=16384 "));
    for line in lines {
        assert!(line.contains(" sync_every_bytes=none "), "{line}");
        assert!(line.contains(" ratio="), "{line}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "scratch left behind"
    );
}

#[test]
fn the_synced_bench_reports_its_cadence() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_str().unwrap();
    let args = [
        "bench",
        "log-append",
        "--dir",
        base,
        "--record-size",
        "1K",
        "--total-bytes",
        "256K",
        "--sync-every-bytes",
        "64K",
        "--rounds",
        "1",
    ];
    let output = sluice(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(" record_size=1024 "), "{stdout}");
    assert!(stdout.contains(" sync_every_bytes=65536 "), "{stdout}");
}
