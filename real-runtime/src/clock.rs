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
