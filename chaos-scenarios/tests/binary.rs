//! End-to-end checks of the built `sluice-chaos` binary: exit codes and stream discipline.

use std::ffi::OsStr;
use std::process::{Command, Output};

fn sluice_chaos<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_sluice-chaos"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn help_exits_zero_on_stdout() {
    let output = sluice_chaos(["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("sluice-chaos run SCENARIO --seed N [--trace]"));
    assert!(output.stderr.is_empty());
}

#[test]
fn list_exits_zero() {
    let output = sluice_chaos(["list"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());
}

#[test]
fn usage_errors_exit_two_with_one_line() {
    let cases: [&[&str]; 4] = [
        &[],
        &["run", "no-such-scenario", "--seed", "1"],
        &["sweep", "all", "--seeds", "many"],
        &["check-determinism", "x"],
    ];
    for args in cases {
        let output = sluice_chaos(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(output.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_argument_is_a_usage_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let output = sluice_chaos([OsStr::from_bytes(b"run"), OsStr::from_bytes(b"\xff")]);
    assert_eq!(output.status.code(), Some(2));
}
