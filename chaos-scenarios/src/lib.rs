//! Named fault scenarios run on the deterministic simulator, and the framework that runs them.
//!
//! A scenario is one story of faults, in the style of TigerBeetle's `replica_test.zig`:
//! "a machine crashes mid-append and the log recovers". Each implements [`Scenario`]: under a
//! `u64` seed it draws its [`swarm::FaultMix`], runs the simulator, checks its invariants and
//! reports a [`RunOutcome`] with the trace hash and the coverage [`Marks`] it reached.
//!
//! To add a scenario, write a module implementing [`Scenario`], declare it below, and add it
//! to [`registry::scenarios`]. The `sluice-chaos` command ([`cli`]) then lists, runs, sweeps and
//! checks it for determinism with no further code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod cluster;
pub mod determinism;
pub mod registry;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod swarm;
pub mod sweep;

/// Declares the [`Scenario`] `$type` that runs `$story` of a module through `$run(story,
/// name, seed, options)`, with the story's coverage marks.
macro_rules! story_scenario {
    ($type:ident, $story:expr, $run:path, $name:literal, $description:literal) => {
        #[doc = concat!("The scenario `", $name, "`.")]
        pub struct $type;

        impl $crate::Scenario for $type {
            fn name(&self) -> &'static str {
                $name
            }

            fn description(&self) -> &'static str {
                $description
            }

            fn marks(&self) -> &'static [&'static str] {
                $story.marks()
            }

            fn known_failure(&self) -> Option<&'static str> {
                $story.known_failure()
            }

            fn run(&self, seed: u64, options: &$crate::RunOptions) -> $crate::RunOutcome {
                $run($story, $name, seed, options)
            }
        }
    };
}

// Scenario modules go here, one per story:
pub mod admin_faults;
pub mod groups;
pub mod log_crash_recovery;
pub mod metadata_quorum;
pub mod replication;

#[cfg(test)]
mod testing;

pub use scenario::{Failure, Marks, RunOptions, RunOutcome, Scenario};
