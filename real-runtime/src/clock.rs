//! The real runtime's clocks. The core never reads one; the runtime passes their readings in.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch, as Kafka timestamps count them. A clock set
/// before 1970 reads as zero rather than failing.
pub fn wall_clock_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// The monotonic clock the runtime reads `now` from for the core: nanoseconds since the clock
/// was started, as a core [`Instant`](sluice_core::time::Instant). It never goes back, whatever
/// happens to the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    start: std::time::Instant,
}

impl MonotonicClock {
    /// A clock whose epoch is now.
    pub fn start() -> MonotonicClock {
        MonotonicClock {
            start: std::time::Instant::now(),
        }
    }

    /// The time since the clock started. Saturates after 584 years.
    pub fn now(&self) -> sluice_core::time::Instant {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        sluice_core::time::Instant::from_nanos(nanos)
    }
}

/// The clocks a node reads: a monotonic `now` for the core, and the wall clock for record
/// timestamps and retention. Both run on tokio's clock, so that under turmoil's simulated time
/// a node sees the simulation's time and nothing else; outside a simulation tokio's clock is
/// the OS's monotonic clock.
#[derive(Clone, Copy, Debug)]
pub struct NodeClocks {
    start: tokio::time::Instant,
    /// `None`: read the OS wall clock. `Some(ms)`: the wall clock is `ms` at `start` and
    /// advances with tokio's clock (a simulation's).
    wall_at_start: Option<i64>,
}

impl NodeClocks {
    /// The OS's clocks, from now. Must be called inside a tokio runtime.
    pub fn os() -> NodeClocks {
        NodeClocks {
            start: tokio::time::Instant::now(),
            wall_at_start: None,
        }
    }

    /// Clocks that read only tokio's clock, with the wall clock at `wall_at_start` ms now.
    pub fn simulated(wall_at_start: i64) -> NodeClocks {
        NodeClocks {
            start: tokio::time::Instant::now(),
            wall_at_start: Some(wall_at_start),
        }
    }

    /// The time since the clocks started, as core's [`Instant`](sluice_core::time::Instant).
    pub fn now(&self) -> sluice_core::time::Instant {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        sluice_core::time::Instant::from_nanos(nanos)
    }

    /// Wall-clock milliseconds since the Unix epoch.
    pub fn wall_ms(&self) -> i64 {
        match self.wall_at_start {
            None => wall_clock_ms(),
            Some(base) => {
                let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
                base.saturating_add(elapsed)
            }
        }
    }

    /// How long until core's `deadline`.
    pub fn until(&self, deadline: sluice_core::time::Instant) -> std::time::Duration {
        let left = deadline.saturating_duration_since(self.now());
        std::time::Duration::from_nanos(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_readings_never_go_back() {
        let clock = MonotonicClock::start();
        let first = clock.now();
        let second = clock.now();
        assert!(second >= first);
        assert!(wall_clock_ms() > 0);
    }
}
