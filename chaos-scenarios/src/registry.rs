//! The list of every scenario `sluice-chaos` knows.
//!
//! Adding a scenario takes two steps: write a module in `src/` with a type implementing
//! [`Scenario`], declare it in `lib.rs` (`pub mod log_crash_recovery;`), and add one line to
//! [`scenarios`]. `sweep all` runs them in this list's order.

use crate::scenario::Scenario;

/// Every registered scenario, in the order `list` prints and `sweep all` runs them.
pub fn scenarios() -> Vec<Box<dyn Scenario>> {
    let registry: Vec<Box<dyn Scenario>> = vec![
        // Add one line per scenario here, for example:
        Box::new(crate::log_crash_recovery::LogCrashRecovery),
        Box::new(crate::metadata_quorum::ControllerPartition),
        Box::new(crate::metadata_quorum::ControllerFailover),
        Box::new(crate::metadata_quorum::BrokerFencing),
        Box::new(crate::metadata_quorum::MetadataCatchUp),
        Box::new(crate::metadata_quorum::ManyTopics),
        Box::new(crate::admin_faults::AdminUnderFaults),
        Box::new(crate::replication::LeaderCrash),
        Box::new(crate::replication::FollowerTruncation),
        Box::new(crate::replication::LeaderIsolated),
        Box::new(crate::replication::IsrShrinkExpand),
        Box::new(crate::replication::MinIsr),
        Box::new(crate::replication::LossyFollower),
        Box::new(crate::replication::RollingRestart),
        Box::new(crate::replication::BrokerFlapping),
        Box::new(crate::replication::SlowDisk),
        Box::new(crate::replication::FullDisk),
        Box::new(crate::replication::WholeClusterCrash),
        Box::new(crate::replication::StaleFollower),
        Box::new(crate::replication::IdempotentRetryFailover),
        Box::new(crate::groups::GroupRebalance),
        Box::new(crate::groups::CoordinatorFailover),
        Box::new(crate::groups::OffsetResume),
    ];
    assert_unique_names(&registry);
    registry
}

/// The scenario called `name` in `registry`, if any.
pub fn lookup<'a>(registry: &'a [Box<dyn Scenario>], name: &str) -> Option<&'a dyn Scenario> {
    registry
        .iter()
        .map(|s| s.as_ref())
        .find(|s| s.name() == name)
}

/// Panics if two scenarios share a name: `run NAME` would silently pick the first.
pub fn assert_unique_names(registry: &[Box<dyn Scenario>]) {
    for (i, scenario) in registry.iter().enumerate() {
        let name = scenario.name();
        assert!(!name.is_empty(), "scenario without a name");
        assert!(
            !name.contains(char::is_whitespace),
            "scenario name {name:?} contains whitespace"
        );
        assert!(
            registry[..i].iter().all(|s| s.name() != name),
            "scenario {name:?} registered twice"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn real_registry_is_well_formed() {
        // Also runs the uniqueness assertion inside scenarios().
        for scenario in scenarios() {
            assert!(!scenario.description().is_empty());
            assert!(!scenario.description().contains('\n'));
        }
    }

    #[test]
    fn lookup_finds_by_exact_name() {
        let registry = testing::registry();
        assert_unique_names(&registry);
        let found = lookup(&registry, "seed-parity").expect("registered");
        assert_eq!(found.name(), "seed-parity");
        assert!(lookup(&registry, "seed").is_none());
        assert!(lookup(&registry, "").is_none());
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn duplicate_names_are_rejected() {
        let registry: Vec<Box<dyn Scenario>> =
            vec![Box::new(testing::Panicky), Box::new(testing::Panicky)];
        assert_unique_names(&registry);
    }
}
