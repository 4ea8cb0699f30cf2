//! The run's trace: every event, folded into a stable 64-bit hash.
//!
//! Two runs of the same seed must produce the same trace hash; when they do not, the kept lines
//! of both runs are diffed with [`first_divergence`] to find the first event that differs. The
//! hash is a hand-written FNV-1a so its value is stable across Rust releases and platforms
//! (std's `DefaultHasher` promises neither).

use core::fmt::{self, Write as _};
use sluice_core::time::Instant;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Ends each event's bytes in the hash. 0xFF never occurs in UTF-8, so event boundaries cannot
/// be confused ("ab" + "c" hashes differently from "a" + "bc").
const EVENT_SEPARATOR: u8 = 0xFF;

/// A running FNV-1a 64 hash that can be written to with `write!`, so recording an event hashes
/// its description without allocating.
#[derive(Clone, Copy, Debug)]
struct Fnv1a(u64);

impl Fnv1a {
    fn bytes(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
}

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.bytes(text.as_bytes());
        Ok(())
    }
}

/// Every event of a run, as a count and a hash, and optionally as text lines.
///
/// Lines are kept only when asked (for `--trace` output or determinism diffing) because a long
/// run records millions of events.
#[derive(Debug)]
pub struct Trace {
    events: u64,
    hash: Fnv1a,
    lines: Option<Vec<String>>,
}

impl Trace {
    /// An empty trace; `keep_lines` keeps a formatted line per event.
    pub fn new(keep_lines: bool) -> Trace {
        Trace {
            events: 0,
            hash: Fnv1a(FNV_OFFSET_BASIS),
            lines: keep_lines.then(Vec::new),
        }
    }

    /// Records one event at virtual time `now`. Pass `format_args!(..)` to avoid allocating
    /// when lines are not kept.
    pub fn record(&mut self, now: Instant, description: impl fmt::Display) {
        self.hash.bytes(&now.as_nanos().to_le_bytes());
        let index = self.events;
        match &mut self.lines {
            Some(lines) => {
                let text = description.to_string();
                self.hash.bytes(text.as_bytes());
                lines.push(format_line(now, index, &text));
            }
            None => {
                // Writing into the hasher cannot fail; a Display impl that errors is a bug in
                // the caller's type, and the hash then still covers what it wrote.
                let _ = write!(self.hash, "{description}");
            }
        }
        self.hash.bytes(&[EVENT_SEPARATOR]);
        self.events += 1;
    }

    /// How many events were recorded.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash of every event so far (time and description, in order).
    pub fn hash(&self) -> u64 {
        self.hash.0
    }

    /// The formatted lines, if the trace keeps them. Line `i` is event `#i`.
    pub fn lines(&self) -> Option<&[String]> {
        self.lines.as_deref()
    }
}

/// Formats an event as `[   1.234567890s] #17 description`.
fn format_line(now: Instant, index: u64, description: &str) -> String {
    // Instant's Display ignores width flags, so render it first and pad the string.
    let time = now.to_string();
    format!("[{time:>15}] #{index} {description}")
}

/// Where two traces first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The index of the first differing line.
    pub index: usize,
    /// The first trace's line there, or `None` when the first trace ended (it is a prefix of
    /// the second).
    pub left: Option<String>,
    /// The second trace's line there, or `None` when the second trace ended.
    pub right: Option<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = "<trace ended>";
        writeln!(f, "traces diverge at line {}:", self.index)?;
        writeln!(f, "  first:  {}", self.left.as_deref().unwrap_or(end))?;
        write!(f, "  second: {}", self.right.as_deref().unwrap_or(end))
    }
}

/// The first line at which `a` and `b` differ, or `None` when they are identical.
pub fn first_divergence(a: &[String], b: &[String]) -> Option<Divergence> {
    let index = a
        .iter()
        .zip(b)
        .position(|(left, right)| left != right)
        .unwrap_or(a.len().min(b.len()));
    if index == a.len() && index == b.len() {
        return None;
    }
    Some(Divergence {
        index,
        left: a.get(index).cloned(),
        right: b.get(index).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(keep: bool, last: &str) -> Trace {
        let mut trace = Trace::new(keep);
        trace.record(Instant::ZERO, "start");
        trace.record(
            Instant::from_nanos(1_234_567_890),
            format_args!("append {}", 17),
        );
        trace.record(Instant::from_nanos(2_000_000_000), last);
        trace
    }

    #[test]
    fn hash_does_not_depend_on_keeping_lines() {
        let kept = sample(true, "end");
        let hashed = sample(false, "end");
        assert_eq!(kept.hash(), hashed.hash());
        assert_eq!(kept.events(), 3);
        assert_eq!(hashed.events(), 3);
        assert!(hashed.lines().is_none());
        assert_ne!(sample(false, "end").hash(), sample(false, "End").hash());
    }

    #[test]
    fn hash_is_stable_across_releases() {
        // Pinned value: if this changes, every recorded seed's trace hash changes with it.
        let mut trace = Trace::new(false);
        trace.record(Instant::from_nanos(1), "a");
        let mut expected = Fnv1a(FNV_OFFSET_BASIS);
        expected.bytes(&1u64.to_le_bytes());
        expected.bytes(b"a\xFF");
        assert_eq!(trace.hash(), expected.0);
        assert_eq!(Trace::new(false).hash(), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn event_boundaries_and_times_matter() {
        let mut ab_c = Trace::new(false);
        ab_c.record(Instant::ZERO, "ab");
        ab_c.record(Instant::ZERO, "c");
        let mut a_bc = Trace::new(false);
        a_bc.record(Instant::ZERO, "a");
        a_bc.record(Instant::ZERO, "bc");
        assert_ne!(ab_c.hash(), a_bc.hash());

        let mut later = Trace::new(false);
        later.record(Instant::from_nanos(1), "ab");
        later.record(Instant::ZERO, "c");
        assert_ne!(ab_c.hash(), later.hash());
    }

    #[test]
    fn lines_are_formatted() {
        let trace = sample(true, "end");
        let lines = trace.lines().expect("kept");
        assert_eq!(lines[0], "[   0.000000000s] #0 start");
        assert_eq!(lines[1], "[   1.234567890s] #1 append 17");
        assert_eq!(lines[2], "[   2.000000000s] #2 end");
    }

    #[test]
    fn divergence_names_the_first_difference() {
        let a = sample(true, "end");
        let b = sample(true, "other");
        let a = a.lines().expect("kept");
        let b = b.lines().expect("kept");
        assert_eq!(first_divergence(a, a), None);
        let found = first_divergence(a, b).expect("differs");
        assert_eq!(found.index, 2);
        assert_eq!(found.left.as_deref(), Some(a[2].as_str()));
        assert_eq!(found.right.as_deref(), Some(b[2].as_str()));
        assert!(found.to_string().contains("line 2"));

        let prefix = first_divergence(&a[..1], a).expect("prefix differs");
        assert_eq!(prefix.index, 1);
        assert_eq!(prefix.left, None);
        assert_eq!(prefix.right.as_deref(), Some(a[1].as_str()));
        assert!(first_divergence(&[], &[]).is_none());
    }
}
