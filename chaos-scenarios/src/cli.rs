//! The `sluice-chaos` command line: parsing, dispatch and exit codes.
//!
//! The grammar is small enough to parse by hand. Every command writes its results to `out`;
//! usage errors go to `err` as one line. [`main_with`] takes the registry as a parameter so
//! tests can drive the whole command with test-only scenarios.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use crate::determinism::check_determinism;
use crate::registry::{assert_unique_names, lookup};
use crate::report::{self, COMMAND};
use crate::runner::run_guarded;
use crate::scenario::{RunOptions, Scenario};
use crate::sweep::sweep;

/// The `--help` text.
pub const HELP: &str = "\
sluice-chaos: run Sluice's named fault scenarios on the deterministic simulator

usage:
  sluice-chaos list
      one line per scenario: its name, then what it does
  sluice-chaos run SCENARIO --seed N [--trace]
      run one seed; --trace prints every trace line
  sluice-chaos sweep SCENARIO|all --seeds COUNT [--start N]
      run seeds N..N+COUNT (N defaults to 0); print failing seeds and mark coverage;
      all skips the scenarios list marks as known to fail
  sluice-chaos check-determinism SCENARIO --seed N
      run one seed twice and compare the traces event by event
  sluice-chaos --help
      this text

Numbers are decimal or 0x-prefixed hex. Exit codes: 0 pass, 1 fail, 2 usage error.
";

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for passed.
    Pass = 0,
    /// A seed failed, a mark was never reached, or a scenario is nondeterministic.
    Fail = 1,
    /// The command line was wrong.
    Usage = 2,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help`, `-h` or `help`.
    Help,
    /// `list`.
    List,
    /// `run SCENARIO --seed N [--trace]`.
    Run {
        /// The scenario's name.
        scenario: String,
        /// The seed to run.
        seed: u64,
        /// Print every trace line.
        trace: bool,
    },
    /// `sweep SCENARIO|all --seeds COUNT [--start N]`.
    Sweep {
        /// One scenario's name, or `None` for `all`.
        scenario: Option<String>,
        /// How many seeds to run; at least one.
        seeds: u64,
        /// The first seed.
        start: u64,
    },
    /// `check-determinism SCENARIO --seed N`.
    CheckDeterminism {
        /// The scenario's name.
        scenario: String,
        /// The seed to run twice.
        seed: u64,
    },
}

/// A command-line mistake, printed as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

fn usage<T>(message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(message.into()))
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    let Some((command, rest)) = args.split_first() else {
        return usage("missing command");
    };
    match command.as_str() {
        "help" => expect_no_args(rest).map(|_| Command::Help),
        "list" => expect_no_args(rest).map(|_| Command::List),
        "run" => {
            let mut flags = Flags::parse(rest, &["--seed"], &["--trace"])?;
            Ok(Command::Run {
                scenario: flags.scenario()?,
                seed: flags.number("--seed")?.ok_or_else(|| missing("--seed"))?,
                trace: flags.switch("--trace"),
            })
        }
        "sweep" => {
            let mut flags = Flags::parse(rest, &["--seeds", "--start"], &[])?;
            let scenario = flags.scenario()?;
            let seeds = flags.number("--seeds")?.ok_or_else(|| missing("--seeds"))?;
            let start = flags.number("--start")?.unwrap_or(0);
            if seeds == 0 {
                return usage("--seeds must be at least 1");
            }
            if start.checked_add(seeds - 1).is_none() {
                return usage("--start plus --seeds runs past the largest seed");
            }
            let scenario = (scenario != "all").then_some(scenario);
            Ok(Command::Sweep {
                scenario,
                seeds,
                start,
            })
        }
        "check-determinism" => {
            let mut flags = Flags::parse(rest, &["--seed"], &[])?;
            Ok(Command::CheckDeterminism {
                scenario: flags.scenario()?,
                seed: flags.number("--seed")?.ok_or_else(|| missing("--seed"))?,
            })
        }
        other => usage(format!("unknown command '{other}'")),
    }
}

fn expect_no_args(rest: &[String]) -> Result<(), UsageError> {
    match rest.first() {
        Some(extra) => usage(format!("unexpected argument '{extra}'")),
        None => Ok(()),
    }
}

fn missing(flag: &str) -> UsageError {
    UsageError(format!("missing {flag} N"))
}

/// One subcommand's arguments: positionals, `--flag value` / `--flag=value`, and switches.
struct Flags {
    positionals: Vec<String>,
    values: BTreeMap<&'static str, String>,
    switches: BTreeSet<&'static str>,
}

impl Flags {
    fn parse(
        args: &[String],
        value_flags: &[&'static str],
        switch_flags: &[&'static str],
    ) -> Result<Flags, UsageError> {
        let mut flags = Flags {
            positionals: Vec::new(),
            values: BTreeMap::new(),
            switches: BTreeSet::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if !arg.starts_with("--") {
                flags.positionals.push(arg.clone());
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            if let Some(flag) = switch_flags.iter().find(|f| **f == name) {
                if inline.is_some() {
                    return usage(format!("{name} takes no value"));
                }
                if !flags.switches.insert(flag) {
                    return usage(format!("{name} given twice"));
                }
            } else if let Some(flag) = value_flags.iter().find(|f| **f == name) {
                let Some(value) = inline.or_else(|| args.next().cloned()) else {
                    return usage(format!("{name} needs a value"));
                };
                if flags.values.insert(flag, value).is_some() {
                    return usage(format!("{name} given twice"));
                }
            } else {
                return usage(format!("unknown option '{name}'"));
            }
        }
        Ok(flags)
    }

    /// The single positional argument: the scenario's name.
    fn scenario(&mut self) -> Result<String, UsageError> {
        match self.positionals.len() {
            0 => usage("missing SCENARIO"),
            1 => Ok(self.positionals.remove(0)),
            _ => usage(format!("unexpected argument '{}'", self.positionals[1])),
        }
    }

    fn number(&self, flag: &str) -> Result<Option<u64>, UsageError> {
        self.values
            .get(flag)
            .map(|text| parse_number(flag, text))
            .transpose()
    }

    fn switch(&self, flag: &str) -> bool {
        self.switches.contains(flag)
    }
}

/// A `u64` in decimal or `0x` hex.
fn parse_number(flag: &str, text: &str) -> Result<u64, UsageError> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    parsed.or_else(|_| {
        usage(format!(
            "{flag} expects a number from 0 to 2^64-1, got '{text}'"
        ))
    })
}

/// Runs the command line `args` (without the program name) against `registry`, writing results
/// to `out` and usage errors to `err`. Sweeps use up to `workers` threads.
pub fn main_with(
    args: &[String],
    registry: &[Box<dyn Scenario>],
    workers: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Exit {
    assert_unique_names(registry);
    let result = match parse(args) {
        Ok(command) => execute(&command, registry, workers, out),
        Err(UsageError(message)) => Err(UsageError(format!("{message} (see '{COMMAND} --help')"))),
    };
    // Writes to `err` are best effort: if stderr is gone too there is nobody left to tell.
    match result {
        Ok(Ok(exit)) => match out.flush() {
            Ok(()) => exit,
            Err(_) => Exit::Fail,
        },
        Ok(Err(io_error)) => {
            let _ = writeln!(err, "error: writing output: {io_error}");
            Exit::Fail
        }
        Err(UsageError(message)) => {
            let _ = writeln!(err, "error: {message}");
            Exit::Usage
        }
    }
}

/// Executes a parsed command. The outer `Result` is a usage error (an unknown scenario), the
/// inner one an output error.
fn execute(
    command: &Command,
    registry: &[Box<dyn Scenario>],
    workers: usize,
    out: &mut dyn Write,
) -> Result<io::Result<Exit>, UsageError> {
    let find = |name: &str| {
        lookup(registry, name)
            .ok_or_else(|| UsageError(format!("unknown scenario '{name}' (see '{COMMAND} list')")))
    };
    Ok(match command {
        Command::Help => out.write_all(HELP.as_bytes()).map(|()| Exit::Pass),
        Command::List => list(out, registry),
        Command::Run {
            scenario,
            seed,
            trace,
        } => run(out, find(scenario)?, *seed, *trace),
        Command::CheckDeterminism { scenario, seed } => {
            check_determinism(out, find(scenario)?, *seed).map(pass_or_fail)
        }
        Command::Sweep {
            scenario,
            seeds,
            start,
        } => {
            let selected: Vec<&dyn Scenario> = match scenario {
                Some(name) => vec![find(name)?],
                None => registry
                    .iter()
                    .map(|s| s.as_ref())
                    .filter(|s| s.known_failure().is_none())
                    .collect(),
            };
            sweep_all(out, &selected, *start, *seeds, workers)
        }
    })
}

fn pass_or_fail(passed: bool) -> Exit {
    if passed {
        Exit::Pass
    } else {
        Exit::Fail
    }
}

fn list(out: &mut dyn Write, registry: &[Box<dyn Scenario>]) -> io::Result<Exit> {
    let width = registry.iter().map(|s| s.name().len()).max().unwrap_or(0);
    for scenario in registry {
        let (name, description) = (scenario.name(), scenario.description());
        match scenario.known_failure() {
            None => writeln!(out, "{name:width$}  {description}")?,
            Some(why) => writeln!(
                out,
                "{name:width$}  {description} [known to fail, not in `sweep all`: {why}]"
            )?,
        }
    }
    Ok(Exit::Pass)
}

fn run(out: &mut dyn Write, scenario: &dyn Scenario, seed: u64, trace: bool) -> io::Result<Exit> {
    let outcome = run_guarded(scenario, seed, &RunOptions { keep_trace: trace });
    report::write_run(out, &outcome, trace)?;
    Ok(pass_or_fail(outcome.passed()))
}

fn sweep_all(
    out: &mut dyn Write,
    selected: &[&dyn Scenario],
    start: u64,
    seeds: u64,
    workers: usize,
) -> io::Result<Exit> {
    let mut passed = true;
    for scenario in selected {
        passed &= sweep(out, *scenario, start, seeds, workers)?.passed();
    }
    Ok(pass_or_fail(passed))
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
