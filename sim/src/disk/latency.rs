//! How much virtual time the simulated disk's calls take.
//!
//! The disk cannot move the kernel's clock itself (the `Disk` trait has no `now`), so it sums the
//! time its calls took and the driver collects it with `SimDisk::take_busy_time` and advances
//! the clock by it.

use crate::rng::SimRng;
use sluice_core::rng::Rng;
use sluice_core::time::Duration;

/// The latency model of a simulated disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskLatency {
    /// Fixed cost of a read call.
    pub read: Duration,
    /// Fixed cost of a write, truncate, create, remove or rename call.
    pub write: Duration,
    /// Transfer cost per KiB read or written, on top of the fixed cost.
    pub per_kib: Duration,
    /// Fastest `sync` or `sync_dir`.
    pub sync_min: Duration,
    /// Slowest ordinary `sync` or `sync_dir`; each sync is drawn uniformly from the range.
    pub sync_max: Duration,
    /// One sync in this many is slow (0 = never): a stalled device or a journal commit.
    pub slow_sync_one_in: u64,
    /// How many times longer a slow sync takes than its drawn latency.
    pub slow_sync_multiplier: u32,
}

impl DiskLatency {
    /// Every call takes no virtual time; no randomness is drawn.
    pub const NONE: DiskLatency = DiskLatency {
        read: Duration::ZERO,
        write: Duration::ZERO,
        per_kib: Duration::ZERO,
        sync_min: Duration::ZERO,
        sync_max: Duration::ZERO,
        slow_sync_one_in: 0,
        slow_sync_multiplier: 1,
    };

    /// A datacenter SSD: tens of microseconds per call, fsync around a millisecond, and one
    /// fsync in a hundred fifty times slower.
    pub const SSD: DiskLatency = DiskLatency {
        read: Duration::from_micros(20),
        write: Duration::from_micros(10),
        per_kib: Duration::from_nanos(500),
        sync_min: Duration::from_micros(200),
        sync_max: Duration::from_millis(2),
        slow_sync_one_in: 100,
        slow_sync_multiplier: 50,
    };

    /// The time a read of `bytes` takes.
    pub(crate) fn read_cost(&self, bytes: usize) -> Duration {
        self.read + transfer(self.per_kib, bytes)
    }

    /// The time a write of `bytes` (or a metadata call, with `bytes = 0`) takes.
    pub(crate) fn write_cost(&self, bytes: usize) -> Duration {
        self.write + transfer(self.per_kib, bytes)
    }

    /// The time one sync takes, drawn from `rng`.
    pub(crate) fn sync_cost(&self, rng: &mut SimRng) -> Duration {
        let ordered = (
            self.sync_min.min(self.sync_max),
            self.sync_min.max(self.sync_max),
        );
        let mut cost = rng.duration_between(ordered.0, ordered.1);
        if self.slow_sync_one_in > 0 && rng.chance(1, self.slow_sync_one_in) {
            cost = cost.saturating_mul(self.slow_sync_multiplier);
        }
        cost
    }
}

impl Default for DiskLatency {
    fn default() -> DiskLatency {
        DiskLatency::NONE
    }
}

fn transfer(per_kib: Duration, bytes: usize) -> Duration {
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    per_kib.saturating_mul(kib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_model() {
        let model = DiskLatency::SSD;
        assert_eq!(model.read_cost(0), Duration::from_micros(20));
        assert_eq!(
            model.write_cost(2048),
            Duration::from_micros(10) + Duration::from_nanos(1_000)
        );
        let mut rng = SimRng::new(3);
        let mut slow = 0;
        for _ in 0..10_000 {
            let cost = model.sync_cost(&mut rng);
            assert!(cost >= model.sync_min);
            if cost > model.sync_max {
                slow += 1;
            }
        }
        assert!((20..300).contains(&slow), "about 1 in 100 is slow: {slow}");
        assert_eq!(DiskLatency::NONE.sync_cost(&mut rng), Duration::ZERO);
    }
}
