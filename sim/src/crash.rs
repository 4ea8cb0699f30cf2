//! The two kinds of crash a scenario can inflict on a node.

use core::fmt;
use sluice_core::rng::Rng;

/// How a node dies, which decides what its disk keeps (see `SimDisk::crash_process` and
/// `SimDisk::crash_machine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CrashKind {
    /// The process dies; the operating system and its page cache survive, so every completed
    /// write is kept.
    Process,
    /// The machine loses power; only what was synced is guaranteed to survive.
    Machine,
}

impl CrashKind {
    /// Both kinds, in a fixed order.
    pub const ALL: [CrashKind; 2] = [CrashKind::Process, CrashKind::Machine];

    /// One of the two kinds, uniformly.
    pub fn random(rng: &mut impl Rng) -> CrashKind {
        CrashKind::ALL[rng.below(2) as usize]
    }
}

impl fmt::Display for CrashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CrashKind::Process => "process-crash",
            CrashKind::Machine => "machine-crash",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;

    #[test]
    fn displays_and_draws_both() {
        assert_eq!(CrashKind::Process.to_string(), "process-crash");
        assert_eq!(CrashKind::Machine.to_string(), "machine-crash");
        let mut rng = SimRng::new(1);
        let drawn: Vec<_> = (0..50).map(|_| CrashKind::random(&mut rng)).collect();
        assert!(drawn.contains(&CrashKind::Process));
        assert!(drawn.contains(&CrashKind::Machine));
    }
}
