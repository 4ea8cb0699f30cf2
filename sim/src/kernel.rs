//! The discrete-event loop: a virtual clock and a queue of future events.
//!
//! Call order for a scenario:
//!
//! 1. `Kernel::new(seed, keep_trace_lines)`; fork the RNG for each component (`kernel.rng().fork()`
//!    for the disk, the network, the workload) in a fixed order.
//! 2. Schedule the first events with [`Kernel::schedule_at`] / [`Kernel::schedule_after`].
//! 3. Loop on [`Kernel::pop`]: it advances the clock to the event's time and hands the event
//!    back. Handle it, [`Kernel::record`] what happened, and schedule follow-ups.
//! 4. When an operation itself takes virtual time (a slow fsync), call [`Kernel::advance`].
//!
//! The queue is ordered by `(time, insertion sequence)`, so events due at the same instant run
//! in the order they were scheduled, on every run.

use crate::rng::SimRng;
use crate::trace::Trace;
use core::fmt;
use sluice_core::time::{Duration, Instant, TimestampMs};
use std::collections::BTreeMap;

/// Kafka wall-clock time at virtual time zero: 2023-11-14T22:13:20Z. Fixed so record timestamps
/// are the same on every run of a seed.
pub const WALL_EPOCH_MS: TimestampMs = 1_700_000_000_000;

/// The wall-clock milliseconds (Kafka record timestamps) at virtual time `now`.
pub fn wall_ms(now: Instant) -> TimestampMs {
    let millis = now.as_nanos() / 1_000_000;
    // Virtual time fits: u64 nanoseconds is at most ~1.8e13 ms, far inside i64.
    WALL_EPOCH_MS + i64::try_from(millis).expect("u64 nanos as millis fits in i64")
}

/// Names a scheduled event, for [`Kernel::cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    at: Instant,
    sequence: u64,
}

impl EventId {
    /// When the event is due.
    pub fn at(self) -> Instant {
        self.at
    }
}

/// The simulator's event queue, virtual clock, seeded RNG and trace.
///
/// Events scheduled in the past are clamped to the current time rather than rejected: a core
/// state machine's deadline can legitimately fall behind the clock after an operation took
/// virtual time ([`Kernel::advance`]), and the honest reaction is to fire it late, now.
pub struct Kernel<E> {
    now: Instant,
    next_sequence: u64,
    queue: BTreeMap<EventId, E>,
    rng: SimRng,
    trace: Trace,
}

impl<E> fmt::Debug for Kernel<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel")
            .field("now", &self.now)
            .field("pending", &self.queue.len())
            .field("trace_events", &self.trace.events())
            .finish_non_exhaustive()
    }
}

impl<E> Kernel<E> {
    /// A kernel at time zero with an empty queue, an RNG seeded from `seed`, and a trace that
    /// keeps its lines when `keep_trace_lines` is set.
    pub fn new(seed: u64, keep_trace_lines: bool) -> Kernel<E> {
        Kernel {
            now: Instant::ZERO,
            next_sequence: 0,
            queue: BTreeMap::new(),
            rng: SimRng::new(seed),
            trace: Trace::new(keep_trace_lines),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The wall-clock milliseconds at the current virtual time (see [`wall_ms`]).
    pub fn wall_ms(&self) -> TimestampMs {
        wall_ms(self.now)
    }

    /// Schedules `event` at `at`, or at the current time if `at` has already passed.
    pub fn schedule_at(&mut self, at: Instant, event: E) -> EventId {
        let id = EventId {
            at: at.max(self.now),
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        let previous = self.queue.insert(id, event);
        assert!(previous.is_none(), "event sequence numbers are unique");
        id
    }

    /// Schedules `event` `delay` after the current time.
    pub fn schedule_after(&mut self, delay: Duration, event: E) -> EventId {
        let at = self.now.checked_add(delay).expect("virtual time overflow");
        self.schedule_at(at, event)
    }

    /// Removes a scheduled event, returning it if it had not yet been popped or cancelled.
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        self.queue.remove(&id)
    }

    /// When the next event is due, if any. It may be before [`Kernel::now`] if the clock was
    /// advanced past it; it then fires at the current time.
    pub fn next_event_at(&self) -> Option<Instant> {
        self.queue.first_key_value().map(|(id, _)| id.at)
    }

    /// Takes the earliest event, advancing the clock to its time (never backwards), and returns
    /// the time it is handled at together with the event.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        let (id, event) = self.queue.pop_first()?;
        self.now = self.now.max(id.at);
        assert!(self.now >= id.at, "an event never fires before it is due");
        Some((self.now, event))
    }

    /// Takes the earliest event if it is due at or before `deadline`, like [`Kernel::pop`].
    /// Lets a scenario interleave the queue with another event source such as the network.
    pub fn pop_until(&mut self, deadline: Instant) -> Option<(Instant, E)> {
        match self.next_event_at() {
            Some(at) if at <= deadline => self.pop(),
            _ => None,
        }
    }

    /// Moves the clock forward by `by`, for operations that take virtual time themselves.
    /// Events that fall due meanwhile fire late, at the new time, in their original order.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.checked_add(by).expect("virtual time overflow");
    }

    /// Moves the clock to `at` if that is later; earlier instants leave it unchanged.
    pub fn advance_to(&mut self, at: Instant) {
        self.now = self.now.max(at);
    }

    /// How many events are scheduled.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no event is scheduled.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The run's RNG. Fork it per component so their draws do not perturb each other.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    /// The run's trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Records an event in the trace at the current time.
    pub fn record(&mut self, description: impl fmt::Display) {
        self.trace.record(self.now, description);
    }

    /// Ends the run, handing back its trace.
    pub fn into_trace(self) -> Trace {
        self.trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::rng::Rng;

    fn at(nanos: u64) -> Instant {
        Instant::from_nanos(nanos)
    }

    #[test]
    fn pops_in_time_order_with_fifo_ties() {
        let mut kernel = Kernel::new(1, false);
        kernel.schedule_at(at(30), "c");
        kernel.schedule_at(at(10), "a1");
        kernel.schedule_at(at(20), "b");
        kernel.schedule_at(at(10), "a2");
        kernel.schedule_at(at(10), "a3");
        assert_eq!(kernel.len(), 5);
        let order: Vec<_> = std::iter::from_fn(|| kernel.pop()).collect();
        assert_eq!(
            order,
            vec![
                (at(10), "a1"),
                (at(10), "a2"),
                (at(10), "a3"),
                (at(20), "b"),
                (at(30), "c")
            ]
        );
        assert!(kernel.is_empty());
        assert_eq!(kernel.now(), at(30));
        assert_eq!(kernel.pop(), None);
    }

    #[test]
    fn schedule_after_is_relative_and_past_is_clamped() {
        let mut kernel = Kernel::new(1, false);
        kernel.schedule_at(at(100), 1);
        assert_eq!(kernel.pop(), Some((at(100), 1)));
        kernel.schedule_after(Duration::from_nanos(5), 2);
        kernel.schedule_at(at(50), 3);
        assert_eq!(kernel.next_event_at(), Some(at(100)));
        assert_eq!(kernel.pop(), Some((at(100), 3)));
        assert_eq!(kernel.pop(), Some((at(105), 2)));
    }

    #[test]
    fn advance_makes_overtaken_events_fire_late_in_order() {
        let mut kernel = Kernel::new(1, false);
        kernel.schedule_at(at(10), "x");
        kernel.schedule_at(at(20), "y");
        kernel.advance(Duration::from_nanos(50));
        assert_eq!(kernel.now(), at(50));
        assert_eq!(kernel.pop(), Some((at(50), "x")));
        assert_eq!(kernel.pop(), Some((at(50), "y")));
        kernel.advance_to(at(40));
        assert_eq!(kernel.now(), at(50), "the clock never goes backwards");
        kernel.advance_to(at(60));
        assert_eq!(kernel.now(), at(60));
    }

    #[test]
    fn cancel_removes_only_pending_events() {
        let mut kernel = Kernel::new(1, false);
        let keep = kernel.schedule_at(at(10), "keep");
        let drop = kernel.schedule_at(at(10), "drop");
        assert_eq!(drop.at(), at(10));
        assert_eq!(kernel.cancel(drop), Some("drop"));
        assert_eq!(kernel.cancel(drop), None);
        assert_eq!(kernel.pop(), Some((at(10), "keep")));
        assert_eq!(kernel.cancel(keep), None);
    }

    #[test]
    fn pop_until_respects_the_deadline() {
        let mut kernel = Kernel::new(1, false);
        kernel.schedule_at(at(10), 1);
        kernel.schedule_at(at(30), 2);
        assert_eq!(kernel.pop_until(at(20)), Some((at(10), 1)));
        assert_eq!(kernel.pop_until(at(20)), None);
        assert_eq!(kernel.now(), at(10));
    }

    #[test]
    fn wall_clock_follows_virtual_time() {
        assert_eq!(wall_ms(Instant::ZERO), WALL_EPOCH_MS);
        assert_eq!(wall_ms(at(2_500_000_000)), WALL_EPOCH_MS + 2_500);
        let mut kernel: Kernel<()> = Kernel::new(1, false);
        kernel.advance(Duration::from_millis(7));
        assert_eq!(kernel.wall_ms(), WALL_EPOCH_MS + 7);
    }

    #[test]
    fn same_seed_same_run() {
        fn run(seed: u64) -> (u64, u64) {
            let mut kernel = Kernel::new(seed, false);
            for i in 0..20u64 {
                let delay = Duration::from_nanos(kernel.rng().below(1_000));
                kernel.schedule_after(delay, i);
            }
            while let Some((now, event)) = kernel.pop() {
                kernel.record(format_args!("event {event}"));
                if event < 40 && kernel.rng().chance(1, 2) {
                    let delay = Duration::from_nanos(kernel.rng().below(1_000));
                    kernel.schedule_at(now + delay, event + 20);
                }
            }
            let trace = kernel.into_trace();
            (trace.events(), trace.hash())
        }
        assert_eq!(run(9), run(9));
        assert_ne!(run(9).1, run(10).1);
    }
}
