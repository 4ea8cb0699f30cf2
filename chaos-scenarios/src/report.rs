//! The lines `sluice-chaos` prints about one run. Scripts and CI parse them; keep them stable.
//!
//! ```text
//! SEED=42 scenario=log-crash-recovery faults=machine-crash:40,torn-write:250 sync_every=7
//! FAILED: lost-synced-batch: offset 420 acknowledged as synced but gone after restart
//! replay: sluice-chaos run log-crash-recovery --seed 42 --trace
//! seed=42 scenario=log-crash-recovery events=1234 trace_hash=00c0ffee00c0ffee result=fail
//! ```

use std::io::{self, Write};

use crate::scenario::RunOutcome;

/// The command's name in replay lines.
pub const COMMAND: &str = "sluice-chaos";

/// `SEED=N scenario=NAME <swarm line>`: the first line about a run.
pub fn seed_line(outcome: &RunOutcome) -> String {
    format!(
        "SEED={} scenario={} {}",
        outcome.seed, outcome.scenario, outcome.swarm
    )
}

/// `replay: sluice-chaos run NAME --seed N --trace`.
pub fn replay_line(scenario: &str, seed: u64) -> String {
    format!("replay: {COMMAND} run {scenario} --seed {seed} --trace")
}

/// `seed=N scenario=NAME events=E trace_hash=HEX result=pass|fail`: the last line about a run.
pub fn result_line(outcome: &RunOutcome) -> String {
    format!(
        "seed={} scenario={} events={} trace_hash={} result={}",
        outcome.seed,
        outcome.scenario,
        outcome.events,
        hex(outcome.trace_hash),
        if outcome.passed() { "pass" } else { "fail" }
    )
}

/// A trace hash as 16 lowercase hex digits.
pub fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// Writes the full report of one run: the seed line, the trace lines if `with_trace` and they
/// were kept, the failure and replay lines if it failed, and always the result line last.
pub fn write_run(out: &mut dyn Write, outcome: &RunOutcome, with_trace: bool) -> io::Result<()> {
    writeln!(out, "{}", seed_line(outcome))?;
    if with_trace {
        for line in outcome.trace_lines.iter().flatten() {
            writeln!(out, "{line}")?;
        }
    }
    if let Some(failure) = &outcome.failure {
        writeln!(out, "FAILED: {}: {}", failure.anomaly, failure.detail)?;
        writeln!(out, "{}", replay_line(outcome.scenario, outcome.seed))?;
    }
    writeln!(out, "{}", result_line(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{RunOptions, Scenario};
    use crate::testing::SeedParity;

    fn report(seed: u64, with_trace: bool) -> Vec<String> {
        let outcome = SeedParity.run(seed, &RunOptions { keep_trace: true });
        let mut out = Vec::new();
        write_run(&mut out, &outcome, with_trace).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn passing_run_prints_seed_and_result_lines() {
        let lines = report(4, false);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("SEED=4 scenario=seed-parity faults="));
        assert!(lines[0].contains(" sync_every="));
        let expected_prefix = "seed=4 scenario=seed-parity events=2 trace_hash=";
        assert!(lines[1].starts_with(expected_prefix), "{}", lines[1]);
        let hash = lines[1][expected_prefix.len()..]
            .strip_suffix(" result=pass")
            .unwrap();
        assert_eq!(hash.len(), 16);
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn failing_run_with_trace_prints_everything_in_order() {
        let lines = report(3, true);
        assert!(lines[0].starts_with("SEED=3 scenario=seed-parity "));
        assert_eq!(&lines[1..3], ["0 start seed=3", "1 triple"]);
        assert_eq!(lines[3], "FAILED: lost-synced-batch: offset 30 vanished");
        assert_eq!(
            lines[4],
            "replay: sluice-chaos run seed-parity --seed 3 --trace"
        );
        assert!(lines[5].starts_with("seed=3 scenario=seed-parity events=2 trace_hash="));
        assert!(lines[5].ends_with(" result=fail"));
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn hex_is_sixteen_lowercase_digits() {
        assert_eq!(hex(0), "0000000000000000");
        assert_eq!(hex(0xDEAD_BEEF), "00000000deadbeef");
        assert_eq!(hex(u64::MAX), "ffffffffffffffff");
    }
}
