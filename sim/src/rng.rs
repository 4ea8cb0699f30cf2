//! The simulator's seeded randomness.
//!
//! Every random choice in a simulated run — workload, fault timing, torn-write lengths, network
//! latency — comes from a [`SimRng`] derived from the run's single `u64` seed, so replaying the
//! seed replays the run. Components that must not perturb each other (the disk's faults and the
//! workload, say) each take their own stream with [`SimRng::fork`].

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sluice_core::rng::Rng;
use sluice_core::time::Duration;

/// A deterministic ChaCha8 generator implementing the core's [`Rng`] contract.
///
/// It is deliberately not `Clone`: two clones would replay the same stream, which is almost
/// always a bug. Use [`SimRng::fork`] to derive an independent stream.
#[derive(Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> SimRng {
        // `seed_from_u64` is rand_core's documented portable expansion, so a seed means the same
        // stream on every platform and version of this crate.
        SimRng {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Derives an independent generator from the next 256 bits of this one.
    ///
    /// The child's stream depends only on this generator's position, so forking in the same
    /// order after the same draws yields the same children. Draws from the child never move the
    /// parent, which is the point: adding a fault to the disk does not reshuffle the workload.
    pub fn fork(&mut self) -> SimRng {
        let mut seed = [0u8; 32];
        self.inner.fill_bytes(&mut seed);
        SimRng {
            inner: ChaCha8Rng::from_seed(seed),
        }
    }

    /// A duration drawn uniformly from `low..=high` (nanosecond resolution).
    pub fn duration_between(&mut self, low: Duration, high: Duration) -> Duration {
        assert!(low <= high, "empty duration range");
        let low_nanos = duration_nanos(low);
        let high_nanos = duration_nanos(high);
        Duration::from_nanos(self.range_inclusive(low_nanos, high_nanos))
    }
}

impl Rng for SimRng {
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

/// A duration's nanoseconds, saturating at `u64::MAX` (about 584 years, beyond any run).
pub(crate) fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(rng: &mut SimRng, count: usize) -> Vec<u64> {
        (0..count).map(|_| rng.next_u64()).collect()
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = SimRng::new(42);
        let mut b = SimRng::new(42);
        assert_eq!(draws(&mut a, 100), draws(&mut b, 100));
        let mut c = SimRng::new(43);
        assert_ne!(draws(&mut SimRng::new(42), 10), draws(&mut c, 10));
    }

    #[test]
    fn fork_is_deterministic_and_independent() {
        let mut parent_a = SimRng::new(7);
        let mut parent_b = SimRng::new(7);
        let mut child_a = parent_a.fork();
        let mut child_b = parent_b.fork();
        assert_eq!(draws(&mut child_a, 50), draws(&mut child_b, 50));

        // Draining one child does not move its parent: both parents still agree.
        let _ = draws(&mut child_a, 1_000);
        assert_eq!(draws(&mut parent_a, 50), draws(&mut parent_b, 50));

        // The child's stream is not the parent's stream.
        let mut parent = SimRng::new(7);
        let mut child = parent.fork();
        assert_ne!(draws(&mut parent, 10), draws(&mut child, 10));
    }

    #[test]
    fn duration_between_stays_in_range() {
        let mut rng = SimRng::new(1);
        let low = Duration::from_micros(5);
        let high = Duration::from_micros(9);
        for _ in 0..1_000 {
            let drawn = rng.duration_between(low, high);
            assert!(drawn >= low);
            assert!(drawn <= high);
        }
        assert_eq!(rng.duration_between(high, high), high);
    }
}
