//! Tests of the command line, run against the test-only scenarios.

use super::*;
use crate::testing;

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

fn parse_error(line: &str) -> String {
    match parse(&args(line)) {
        Err(UsageError(message)) => message,
        Ok(command) => panic!("{line:?} parsed as {command:?}"),
    }
}

/// Runs a command line against the test registry: exit code, stdout and stderr.
fn sluice_chaos(line: &str) -> (Exit, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = main_with(&args(line), &testing::registry(), 2, &mut out, &mut err);
    let text = |bytes| String::from_utf8(bytes).unwrap();
    (exit, text(out), text(err))
}

#[test]
fn parses_every_command() {
    let parsed = |line: &str| parse(&args(line)).unwrap();
    assert_eq!(parsed("list"), Command::List);
    assert_eq!(parsed("--help"), Command::Help);
    assert_eq!(parsed("run x --seed 3 -h"), Command::Help);
    assert_eq!(parsed("help"), Command::Help);
    let run = |scenario: &str, seed, trace| Command::Run {
        scenario: scenario.into(),
        seed,
        trace,
    };
    assert_eq!(parsed("run a --seed 42"), run("a", 42, false));
    assert_eq!(parsed("run --trace --seed=0x2A a"), run("a", 42, true));
    assert_eq!(
        parsed("run a --seed 18446744073709551615"),
        run("a", u64::MAX, false)
    );
    let sweep = |scenario: Option<&str>, seeds, start| Command::Sweep {
        scenario: scenario.map(String::from),
        seeds,
        start,
    };
    assert_eq!(parsed("sweep all --seeds 10"), sweep(None, 10, 0));
    assert_eq!(
        parsed("sweep a --seeds 10 --start 5"),
        sweep(Some("a"), 10, 5)
    );
    assert_eq!(
        parsed("check-determinism a --seed 7"),
        Command::CheckDeterminism {
            scenario: "a".into(),
            seed: 7
        }
    );
}

#[test]
fn rejects_malformed_command_lines() {
    assert_eq!(parse_error(""), "missing command");
    assert_eq!(parse_error("frobnicate"), "unknown command 'frobnicate'");
    assert_eq!(parse_error("list extra"), "unexpected argument 'extra'");
    assert_eq!(parse_error("run a"), "missing --seed N");
    assert_eq!(parse_error("run --seed 1"), "missing SCENARIO");
    assert_eq!(parse_error("run a b --seed 1"), "unexpected argument 'b'");
    assert_eq!(parse_error("run a --seed"), "--seed needs a value");
    assert_eq!(parse_error("run a --seed 1 --seed 2"), "--seed given twice");
    assert_eq!(
        parse_error("run a --seed 1 --trace --trace"),
        "--trace given twice"
    );
    assert_eq!(
        parse_error("run a --seed 1 --trace=yes"),
        "--trace takes no value"
    );
    assert_eq!(
        parse_error("run a --seed 1 --seeds 4"),
        "unknown option '--seeds'"
    );
    assert_eq!(
        parse_error("check-determinism a --seed 1 --trace"),
        "unknown option '--trace'"
    );
    assert_eq!(parse_error("sweep a"), "missing --seeds N");
    assert_eq!(
        parse_error("sweep a --seeds 0"),
        "--seeds must be at least 1"
    );
    assert_eq!(
        parse_error("sweep a --seeds 2 --start 18446744073709551615"),
        "--start plus --seeds runs past the largest seed"
    );
    for bad in ["abc", "-1", "1.5", "0x", "0xg", "18446744073709551616", ""] {
        let message = parse_error(&format!("run a --seed={bad}"));
        assert_eq!(
            message,
            format!("--seed expects a number from 0 to 2^64-1, got '{bad}'")
        );
    }
}

#[test]
fn usage_errors_exit_2_with_one_line_on_stderr() {
    for line in [
        "",
        "run nope --seed 1",
        "run seed-parity --seed x",
        "sweep nope --seeds 3",
    ] {
        let (exit, out, err) = sluice_chaos(line);
        assert_eq!(exit, Exit::Usage, "{line:?}");
        assert_eq!(out, "", "{line:?}");
        assert_eq!(err.lines().count(), 1, "{line:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    let (_, _, err) = sluice_chaos("check-determinism nope --seed 1");
    assert_eq!(
        err,
        "error: unknown scenario 'nope' (see 'sluice-chaos list')\n"
    );
    let (_, _, err) = sluice_chaos("run a");
    assert_eq!(err, "error: missing --seed N (see 'sluice-chaos --help')\n");
}

#[test]
fn help_and_list() {
    let (exit, out, _) = sluice_chaos("--help");
    assert_eq!((exit, out.as_str()), (Exit::Pass, HELP));
    let (exit, out, _) = sluice_chaos("list");
    assert_eq!(exit, Exit::Pass);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[0],
        "seed-parity       fails on seeds that are 3 mod 5"
    );
    assert_eq!(lines[3], "panicky           panics on one seed");
    assert_eq!(
        lines[4],
        "known-broken      fails on every seed [known to fail, not in `sweep all`: its fix is \
         not built]"
    );
}

#[test]
fn run_exit_codes_and_final_line() {
    let (exit, out, _) = sluice_chaos("run seed-parity --seed 4");
    assert_eq!(exit, Exit::Pass);
    assert_eq!(out.lines().count(), 2);
    assert!(out.starts_with("SEED=4 scenario=seed-parity faults="));
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("seed=4 scenario=seed-parity events=2 trace_hash="));
    assert!(last.ends_with(" result=pass"));

    let (exit, out, _) = sluice_chaos("run seed-parity --seed 0x8 --trace");
    assert_eq!(exit, Exit::Fail);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("SEED=8 scenario=seed-parity "));
    assert_eq!(&lines[1..3], ["0 start seed=8", "1 even"]);
    assert_eq!(lines[3], "FAILED: lost-synced-batch: offset 80 vanished");
    assert_eq!(
        lines[4],
        "replay: sluice-chaos run seed-parity --seed 8 --trace"
    );
    assert!(lines[5].starts_with("seed=8 scenario=seed-parity events=2 trace_hash="));
    assert!(lines[5].ends_with(" result=fail"));
    assert_eq!(lines.len(), 6);
}

#[test]
fn run_of_a_panicking_seed_fails_without_panicking() {
    let (exit, out, _) = sluice_chaos("run panicky --seed 7");
    assert_eq!(exit, Exit::Fail);
    assert!(out.contains("FAILED: panic: invariant broken: two leaders in epoch 7\n"));
    let expected = "seed=7 scenario=panicky events=0 trace_hash=0000000000000000 result=fail\n";
    assert!(out.ends_with(expected), "{out}");
}

#[test]
fn sweep_exit_codes() {
    // Seeds 0..3 all pass, and seed 0 reaches both marks.
    let (exit, out, _) = sluice_chaos("sweep seed-parity --seeds 3");
    assert_eq!(exit, Exit::Pass);
    assert!(out.ends_with(
        "marks scenario=seed-parity missing=0 result=pass\nsweep scenario=seed-parity seeds=3 passed=3 failed=0\n"
    ));
    let (exit, out, _) = sluice_chaos("sweep seed-parity --seeds 3 --start 1");
    assert_eq!(exit, Exit::Fail);
    assert!(out.contains("replay: sluice-chaos run seed-parity --seed 3 --trace\n"));
    let (exit, _, _) = sluice_chaos("sweep never-reached --seeds 3");
    assert_eq!(exit, Exit::Fail);
}

#[test]
fn sweep_all_runs_every_scenario_in_registry_order() {
    let (exit, out, _) = sluice_chaos("sweep all --seeds 9");
    assert_eq!(exit, Exit::Fail);
    let finals: Vec<&str> = out.lines().filter(|l| l.starts_with("sweep ")).collect();
    assert_eq!(
        finals,
        [
            "sweep scenario=seed-parity seeds=9 passed=7 failed=2",
            "sweep scenario=never-reached seeds=9 passed=9 failed=0",
            "sweep scenario=nondeterministic seeds=9 passed=9 failed=0",
            "sweep scenario=panicky seeds=9 passed=8 failed=1",
        ]
    );
    let marks: Vec<&str> = out.lines().filter(|l| l.starts_with("marks ")).collect();
    assert_eq!(
        marks[1],
        "marks scenario=never-reached missing=1 result=fail"
    );
    let rates = out
        .lines()
        .filter(|l| l.starts_with("rate scenario="))
        .count();
    assert_eq!(rates, 4);
}

#[test]
fn a_known_failure_runs_by_name_only() {
    let (exit, out, _) = sluice_chaos("sweep known-broken --seeds 3");
    assert_eq!(exit, Exit::Fail);
    assert!(out.ends_with("sweep scenario=known-broken seeds=3 passed=0 failed=3\n"));
    let (exit, _, _) = sluice_chaos("run known-broken --seed 1");
    assert_eq!(exit, Exit::Fail);
}

#[test]
fn check_determinism_exit_codes() {
    let (exit, out, _) = sluice_chaos("check-determinism seed-parity --seed 9");
    assert_eq!(exit, Exit::Pass);
    assert!(out.starts_with("deterministic seed=9 scenario=seed-parity trace_hash="));
    let (exit, out, _) = sluice_chaos("check-determinism nondeterministic --seed 9");
    assert_eq!(exit, Exit::Fail);
    assert!(out.contains("first divergent event: index=2\n"), "{out}");
}
