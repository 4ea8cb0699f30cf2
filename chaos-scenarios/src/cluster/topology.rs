//! The cluster a seed runs: which processes, in which roles, and how consumers are answered.

use sluice_core::broker::ProcessRoles;
use sluice_core::rng::Rng;

/// The processes of one run, drawn per seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Controllers that are brokers too (`process.roles=broker,controller`, the default), or
    /// controller-only nodes beside broker-only ones.
    pub combined: bool,
    /// Voters of the metadata quorum.
    pub controllers: u32,
    /// Brokers; with combined nodes at least `controllers`.
    pub brokers: u32,
    /// Leaders answer consumers with file ranges of their segments, read when the answer is
    /// written (as the real runtime's sendfile), rather than with bytes read at once.
    pub file_ranges: bool,
}

impl Topology {
    /// Draws a topology: combined nodes in half the seeds, file ranges in half, `controllers`
    /// and `brokers` from the given choices.
    pub fn draw(rng: &mut impl Rng, controllers: &[u32], brokers: (u32, u32)) -> Topology {
        let combined = rng.chance(1, 2);
        let file_ranges = rng.chance(1, 2);
        let controllers = controllers[rng.below(controllers.len() as u64) as usize];
        let brokers = rng.range_inclusive(u64::from(brokers.0), u64::from(brokers.1)) as u32;
        Topology {
            combined,
            controllers,
            brokers: match combined {
                true => brokers.max(controllers),
                false => brokers,
            },
            file_ranges,
        }
    }

    /// Every process as (node.id, roles). Combined: ids 1 to `controllers` are broker and
    /// controller, any further brokers follow. Separate: controllers take ids 1 to
    /// `controllers`, brokers the ids after them.
    pub fn processes(&self) -> Vec<(u32, ProcessRoles)> {
        match self.combined {
            true => (1..=self.brokers)
                .map(|id| match id <= self.controllers {
                    true => (id, ProcessRoles::Combined),
                    false => (id, ProcessRoles::Broker),
                })
                .collect(),
            false => (1..=self.controllers)
                .map(|id| (id, ProcessRoles::Controller))
                .chain((1..=self.brokers).map(|b| (self.controllers + b, ProcessRoles::Broker)))
                .collect(),
        }
    }

    /// The voters' node ids.
    pub fn voters(&self) -> Vec<u32> {
        (1..=self.controllers).collect()
    }

    /// The brokers' node ids.
    pub fn broker_ids(&self) -> Vec<i32> {
        self.processes()
            .into_iter()
            .filter(|(_, roles)| roles.is_broker())
            .map(|(id, _)| id as i32)
            .collect()
    }

    /// One line for the run's swarm summary.
    pub fn describe(&self) -> String {
        format!(
            "nodes={} controllers={} brokers={} reads={}",
            if self.combined {
                "combined"
            } else {
                "separate"
            },
            self.controllers,
            self.brokers,
            if self.file_ranges {
                "file-ranges"
            } else {
                "copied"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_nodes_share_ids_and_separate_ones_do_not() {
        let combined = Topology {
            combined: true,
            controllers: 3,
            brokers: 4,
            file_ranges: false,
        };
        assert_eq!(
            combined.processes(),
            vec![
                (1, ProcessRoles::Combined),
                (2, ProcessRoles::Combined),
                (3, ProcessRoles::Combined),
                (4, ProcessRoles::Broker)
            ]
        );
        assert_eq!(combined.broker_ids(), vec![1, 2, 3, 4]);
        let separate = Topology {
            combined: false,
            ..combined
        };
        assert_eq!(separate.processes().len(), 7);
        assert_eq!(separate.broker_ids(), vec![4, 5, 6, 7]);
        assert_eq!(separate.voters(), vec![1, 2, 3]);
    }
}
