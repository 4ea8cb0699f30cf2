//! `check-determinism`: run one seed twice and compare the two runs event by event.
//!
//! A seed is only worth printing if replaying it reproduces the run, so every scenario must be
//! a pure function of its seed. Two runs of a deterministic scenario give equal outcomes: same
//! trace hash, events, swarm line, marks, failure and trace lines. When they differ, the first
//! divergent trace line points at the nondeterministic decision (openraft's approach).

use std::io::{self, Write};

use crate::report::{self, hex};
use crate::runner::run_catching;
use crate::scenario::{RunOptions, RunOutcome, Scenario};

/// The first place where two traces' lines differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divergence<'a> {
    /// Index of the first differing line, counting from zero.
    pub index: usize,
    /// The first trace's line there, or `None` if that trace ended.
    pub first: Option<&'a str>,
    /// The second trace's line there, or `None` if that trace ended.
    pub second: Option<&'a str>,
}

/// The first index where `first` and `second` differ, or `None` if they are equal.
///
/// This mirrors the simulator's own `first_divergence` for kept trace lines, so this crate
/// does not depend on that function's exact signature.
pub fn first_divergence<'a>(first: &'a [String], second: &'a [String]) -> Option<Divergence<'a>> {
    let index = first
        .iter()
        .zip(second)
        .position(|(a, b)| a != b)
        .unwrap_or(first.len().min(second.len()));
    if index == first.len() && index == second.len() {
        return None;
    }
    Some(Divergence {
        index,
        first: first.get(index).map(String::as_str),
        second: second.get(index).map(String::as_str),
    })
}

/// Runs `scenario` under `seed` twice with trace lines kept and writes the verdict. Returns
/// true if both runs produced the same outcome.
pub fn check_determinism(
    out: &mut dyn Write,
    scenario: &dyn Scenario,
    seed: u64,
) -> io::Result<bool> {
    let options = RunOptions { keep_trace: true };
    let first = run_catching(scenario, seed, &options);
    let second = run_catching(scenario, seed, &options);
    let (first, second) = match (first, second) {
        (Ok(first), Ok(second)) => (first, second),
        (first, second) => {
            for (run, result) in [(1, first), (2, second)] {
                if let Err(message) = result {
                    writeln!(out, "FAILED: panic: run {run}: {message}")?;
                }
            }
            let name = scenario.name();
            writeln!(
                out,
                "cannot check determinism seed={seed} scenario={name}: a run panicked"
            )?;
            writeln!(out, "{}", report::replay_line(name, seed))?;
            return Ok(false);
        }
    };
    if first == second {
        writeln!(
            out,
            "deterministic seed={seed} scenario={} trace_hash={} events={}",
            first.scenario,
            hex(first.trace_hash),
            first.events
        )?;
        return Ok(true);
    }
    write_difference(out, &first, &second)?;
    Ok(false)
}

/// Writes what differs between two runs of the same seed, naming the first divergent event.
fn write_difference(
    out: &mut dyn Write,
    first: &RunOutcome,
    second: &RunOutcome,
) -> io::Result<()> {
    writeln!(
        out,
        "FAILED: nondeterministic: seed={} scenario={} trace_hash={} then {} events={} then {}",
        first.seed,
        first.scenario,
        hex(first.trace_hash),
        hex(second.trace_hash),
        first.events,
        second.events
    )?;
    let fields = [
        ("trace_hash", first.trace_hash != second.trace_hash),
        ("events", first.events != second.events),
        ("swarm", first.swarm != second.swarm),
        ("marks", first.marks_hit != second.marks_hit),
        ("failure", first.failure != second.failure),
        ("trace_lines", first.trace_lines != second.trace_lines),
    ];
    let differing: Vec<&str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
    writeln!(out, "differs: {}", differing.join(","))?;
    match (&first.trace_lines, &second.trace_lines) {
        (Some(a), Some(b)) => match first_divergence(a, b) {
            Some(divergence) => {
                let end = "<end of trace>";
                writeln!(out, "first divergent event: index={}", divergence.index)?;
                writeln!(out, "run 1: {}", divergence.first.unwrap_or(end))?;
                writeln!(out, "run 2: {}", divergence.second.unwrap_or(end))?;
            }
            None => writeln!(
                out,
                "trace lines are identical; the difference is elsewhere"
            )?,
        },
        _ => writeln!(
            out,
            "the scenario kept no trace lines; cannot name the event"
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Nondeterministic, Panicky, SeedParity};

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_divergence_finds_changed_missing_and_equal() {
        let a = lines(&["x", "y", "z"]);
        assert_eq!(first_divergence(&a, &a), None);
        let b = lines(&["x", "q", "z"]);
        let d = first_divergence(&a, &b).unwrap();
        assert_eq!((d.index, d.first, d.second), (1, Some("y"), Some("q")));
        let shorter = lines(&["x", "y"]);
        let d = first_divergence(&a, &shorter).unwrap();
        assert_eq!((d.index, d.first, d.second), (2, Some("z"), None));
        let d = first_divergence(&[], &a).unwrap();
        assert_eq!((d.index, d.first, d.second), (0, None, Some("x")));
    }

    #[test]
    fn deterministic_scenario_passes() {
        let mut out = Vec::new();
        assert!(check_determinism(&mut out, &SeedParity, 6).unwrap());
        let text = String::from_utf8(out).unwrap();
        let expected = SeedParity.run(6, &RunOptions::default());
        let line = format!(
            "deterministic seed=6 scenario=seed-parity trace_hash={} events=3\n",
            hex(expected.trace_hash)
        );
        assert_eq!(text, line);
    }

    #[test]
    fn nondeterministic_scenario_is_caught_at_the_divergent_event() {
        let mut out = Vec::new();
        assert!(!check_determinism(&mut out, &Nondeterministic, 11).unwrap());
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with(
            "FAILED: nondeterministic: seed=11 scenario=nondeterministic trace_hash="
        ));
        assert!(lines[0].ends_with(" events=4 then 4"));
        assert_eq!(lines[1], "differs: trace_hash,trace_lines");
        assert_eq!(lines[2], "first divergent event: index=2");
        let first: u64 = lines[3]
            .strip_prefix("run 1: 2 counter=")
            .unwrap()
            .parse()
            .unwrap();
        let second: u64 = lines[4]
            .strip_prefix("run 2: 2 counter=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(second > first);
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn panicking_run_cannot_be_checked() {
        let mut out = Vec::new();
        assert!(!check_determinism(&mut out, &Panicky, Panicky::PANIC_SEED).unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("FAILED: panic: run 1: invariant broken"));
        assert!(text.contains("cannot check determinism seed=7 scenario=panicky: a run panicked\n"));
    }
}
