//! Virtual time. The core never reads a clock: drivers pass `now` in.

use core::fmt;
use core::ops::{Add, Sub};

pub use core::time::Duration;

/// A point on the driver's monotonic clock, in nanoseconds since the driver's own epoch.
///
/// The simulator starts at zero; the real runtime counts from process start. Only differences
/// between two instants of the same driver mean anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(0);

    /// An instant `nanos` nanoseconds after the epoch.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + duration`, or `None` on overflow.
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, duration: Duration) -> Instant {
        self.checked_add(duration).expect("instant overflow")
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        assert!(self >= earlier, "instant subtraction went negative");
        Duration::from_nanos(self.0 - earlier.0)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0;
        write!(f, "{}.{:09}s", nanos / 1_000_000_000, nanos % 1_000_000_000)
    }
}

/// Wall-clock time in milliseconds since the Unix epoch, the unit of Kafka record timestamps.
///
/// Retention and time-based segment rolls compare record timestamps with the current wall
/// time, so drivers pass this beside [`Instant`]; the simulator derives it from virtual time.
pub type TimestampMs = i64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_round_trips() {
        let a = Instant::from_nanos(1_500);
        let b = a + Duration::from_nanos(500);
        assert_eq!(b.as_nanos(), 2_000);
        assert_eq!(b - a, Duration::from_nanos(500));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
        assert_eq!(
            Instant::from_nanos(u64::MAX).checked_add(Duration::from_nanos(1)),
            None
        );
        assert_eq!(
            Instant::from_nanos(1_000_000_001).to_string(),
            "1.000000001s"
        );
    }
}
