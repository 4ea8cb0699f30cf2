//! The contract every named scenario implements, and the types a run hands back.
//!
//! A scenario is one story — "a machine crashes mid-append and the log recovers" — run under a
//! `u64` seed that derives every parameter. Running the same seed twice must produce the same
//! [`RunOutcome`], trace hash included; `sluice-chaos check-determinism` checks exactly that.

use std::collections::BTreeSet;

/// A named fault scenario run on the simulator under one seed.
///
/// Implementations must be deterministic: everything they decide comes from `seed`, never from
/// the wall clock, OS randomness or `HashMap` iteration order. They must be `Send + Sync`
/// because a sweep runs seeds on several threads at once.
pub trait Scenario: Send + Sync {
    /// The scenario's name on the command line, in kebab case: `log-crash-recovery`.
    fn name(&self) -> &'static str;

    /// One line saying what the scenario does and what it checks.
    fn description(&self) -> &'static str;

    /// The coverage marks this scenario declares: each must be reached by at least one seed of
    /// a sweep, or the sweep fails, because a mark never reached means the fault it names was
    /// never exercised.
    fn marks(&self) -> &'static [&'static str];

    /// Why this scenario is known to fail, while the fix it waits for is not built: `sweep all`
    /// (CI) skips it and `list` says why; `run` and `sweep` by name still run it, so its
    /// failing seeds replay. `None` for every scenario that must pass.
    fn known_failure(&self) -> Option<&'static str> {
        None
    }

    /// Runs the scenario once under `seed`.
    ///
    /// A violated invariant is reported as [`RunOutcome::failure`]; a panic is caught by the
    /// runner and reported as the anomaly `panic`.
    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome;
}

/// How to run one seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep the trace's lines in [`RunOutcome::trace_lines`] (for `--trace` and determinism
    /// checks), not only its hash. Sweeps leave this off to save memory.
    pub keep_trace: bool,
}

/// What one run of a scenario under one seed produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// The seed the run was given.
    pub seed: u64,
    /// The scenario's [`Scenario::name`].
    pub scenario: &'static str,
    /// How many simulator events the run processed.
    pub events: u64,
    /// The 64-bit hash of the whole trace; equal seeds must give equal hashes.
    pub trace_hash: u64,
    /// The first anomaly found, or `None` if every check passed.
    pub failure: Option<Failure>,
    /// The declared marks this run reached; see [`Marks`].
    pub marks_hit: BTreeSet<&'static str>,
    /// One line naming what the seed enabled, such as
    /// `faults=machine-crash:40,torn-write:250 sync_every=7`; see [`crate::swarm::FaultMix`].
    pub swarm: String,
    /// The trace's lines when [`RunOptions::keep_trace`] was set, else `None`.
    pub trace_lines: Option<Vec<String>>,
}

impl RunOutcome {
    /// True if the run found no anomaly.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// An anomaly a run found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A short kebab-case name for the kind of anomaly, such as `lost-synced-batch`.
    pub anomaly: String,
    /// What exactly went wrong, on one line: offsets, epochs, the event index.
    pub detail: String,
}

impl Failure {
    /// A failure with the given anomaly name and detail.
    pub fn new(anomaly: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            anomaly: anomaly.into(),
            detail: detail.into(),
        }
    }
}

/// The marks a scenario reaches during one run.
///
/// A scenario creates one from its [`Scenario::marks`] at the start of a run, calls
/// [`Marks::hit`] each time it reaches an interesting state, and moves [`Marks::into_hit`] into
/// its [`RunOutcome`]. Hitting a mark the scenario did not declare is a bug in the scenario and
/// panics, so the declared list and the code cannot drift apart silently.
#[derive(Clone, Debug)]
pub struct Marks {
    declared: &'static [&'static str],
    hit: BTreeSet<&'static str>,
}

impl Marks {
    /// Tracks the given declared marks, none hit yet. Names must be unique and non-empty.
    pub fn new(declared: &'static [&'static str]) -> Marks {
        let unique: BTreeSet<&str> = declared.iter().copied().collect();
        assert_eq!(
            unique.len(),
            declared.len(),
            "duplicate mark in {declared:?}"
        );
        assert!(declared.iter().all(|m| !m.is_empty()), "empty mark name");
        Marks {
            declared,
            hit: BTreeSet::new(),
        }
    }

    /// Records that the run reached mark `name`. Panics if `name` was not declared.
    pub fn hit(&mut self, name: &str) {
        let Some(declared) = self.declared.iter().find(|m| **m == name) else {
            panic!("mark {name:?} is not declared in {:?}", self.declared);
        };
        self.hit.insert(declared);
    }

    /// True if the scenario declared mark `name`: a driver shared by several scenarios hits
    /// only the marks each declares.
    pub fn declares(&self, name: &str) -> bool {
        self.declared.contains(&name)
    }

    /// True if mark `name` was hit in this run.
    pub fn is_hit(&self, name: &str) -> bool {
        self.hit.contains(name)
    }

    /// The marks hit so far, for [`RunOutcome::marks_hit`].
    pub fn into_hit(self) -> BTreeSet<&'static str> {
        self.hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[&str] = &["crash", "torn-tail"];

    #[test]
    fn marks_records_declared_hits_once() {
        let mut marks = Marks::new(DECLARED);
        marks.hit("crash");
        marks.hit("crash");
        assert!(marks.is_hit("crash"));
        assert!(!marks.is_hit("torn-tail"));
        assert_eq!(marks.into_hit().into_iter().collect::<Vec<_>>(), ["crash"]);
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn marks_rejects_undeclared_mark() {
        Marks::new(DECLARED).hit("enospc");
    }

    #[test]
    #[should_panic(expected = "duplicate mark")]
    fn marks_rejects_duplicate_declaration() {
        Marks::new(&["crash", "crash"]);
    }
}
