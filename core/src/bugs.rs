//! Planted bugs: deliberately broken behaviour that the simulator's scenarios and checkers
//! must catch (the bug-switch canaries of `sluice-chaos`).
//!
//! Each [`Bug`] names one planted bug; the code that plants it asks [`active`]. Without the
//! test-only cargo feature `bug-switches`, [`active`] is a constant `false`, so the compiler
//! removes every planted branch and a build that ships contains none of them. With the feature,
//! no bug is active until a test switches one on for the calling thread with `bugs::with` (or
//! `bugs::switch_on`); the behaviour is otherwise unchanged, and parallel test threads stay
//! independent. A scenario run executes on the thread that starts it, so a switch set
//! around it holds for the whole run (a `sluice-chaos` sweep spreads seeds over worker
//! threads, which do not inherit it).
//!
//! The switch is per thread, not global, and is only ever set by tests: it is no hidden input
//! to the sans-IO state machines in a normal run, and a run under a switch is as deterministic
//! as any other.

/// A planted bug. Each variant's documentation says what it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Log recovery keeps a torn tail instead of cutting it, as if its bytes were log data.
    SkipTornTailTruncation,
    /// The controller accepts fenced and leaving brokers as partition leaders, which
    /// `check_invariants` must catch.
    ControllerElectFenced,
    /// A Raft node grants a vote without persisting it first, so a restart can vote twice in
    /// one term and elect two leaders.
    RaftVoteNotPersisted,
    /// A Raft leader commits an entry of an older term by counting replicas (Raft §5.4.2,
    /// Figure 8).
    RaftCommitOldTermByCount,
    /// A Raft node votes for a candidate whatever its log (no election restriction, §5.4.1).
    RaftVoteForStaleLog,
    /// A follower truncates to its local high watermark, the pre-KIP-101 rule, instead of
    /// asking the leader with OffsetForLeaderEpoch.
    ReplicaTruncateToHw,
    /// A partition leader answers `acks=all` produces once it alone holds the batch.
    ReplicaAckBeforeIsr,
    /// A partition leader moves the high watermark by whichever followers fetched, in the ISR
    /// or not.
    ReplicaHwOutsideIsr,
    /// The controller trusts every broker restart: a broker back from an unclean shutdown,
    /// which may have lost records it acknowledged, stays in the ISRs and ELRs it was in.
    ControllerIgnoreUncleanShutdown,
    /// A partition leader serves fetches whatever leader epoch they name.
    ReplicaSkipFetchEpochCheck,
    /// In fsync mode replicas acknowledge before their syncs complete: a leader answers a
    /// produce and counts its unsynced log end toward the high watermark, and a follower
    /// reports unsynced offsets in its fetches.
    ReplicaAckBeforeSync,
    /// A Raft node sends its granted vote before asking for the vote's persist, so the reply
    /// does not wait for it: a machine crash can forget the vote after it was counted.
    RaftVoteBeforeSync,
    /// A group coordinator accepts an offset commit whatever generation it names.
    GroupCommitStaleGeneration,
    /// A group coordinator serves a partition's groups before it has loaded them and its
    /// high watermark has reached the loaded end.
    GroupServeBeforeLoaded,
    /// A group coordinator answers an offset commit as soon as its record is appended to
    /// the leader, before the ISR holds it.
    GroupCommitBeforeReplicated,
    /// A member whose session lapses keeps its place: no rebalance gives its partitions to
    /// the others.
    SessionExpiryWithoutRebalance,
}

#[cfg(feature = "bug-switches")]
impl Bug {
    /// Every planted bug.
    pub const ALL: [Bug; 16] = [
        Bug::SkipTornTailTruncation,
        Bug::ControllerElectFenced,
        Bug::RaftVoteNotPersisted,
        Bug::RaftCommitOldTermByCount,
        Bug::RaftVoteForStaleLog,
        Bug::ReplicaTruncateToHw,
        Bug::ReplicaAckBeforeIsr,
        Bug::ReplicaHwOutsideIsr,
        Bug::ControllerIgnoreUncleanShutdown,
        Bug::ReplicaSkipFetchEpochCheck,
        Bug::ReplicaAckBeforeSync,
        Bug::RaftVoteBeforeSync,
        Bug::GroupCommitStaleGeneration,
        Bug::GroupServeBeforeLoaded,
        Bug::GroupCommitBeforeReplicated,
        Bug::SessionExpiryWithoutRebalance,
    ];

    /// The bit of this bug in the calling thread's set of active bugs.
    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// Whether `bug` is planted on the calling thread: always `false` without the `bug-switches`
/// feature.
#[cfg(not(feature = "bug-switches"))]
#[inline(always)]
pub fn active(bug: Bug) -> bool {
    let _ = bug;
    false
}

/// Whether `bug` is planted on the calling thread: switched on by [`with`] or [`switch_on`].
#[cfg(feature = "bug-switches")]
#[inline]
pub fn active(bug: Bug) -> bool {
    switches::ACTIVE.with(|active| active.get() & bug.bit() != 0)
}

#[cfg(feature = "bug-switches")]
pub use switches::{switch_on, with, Switch};

#[cfg(feature = "bug-switches")]
mod switches {
    use std::cell::Cell;

    use super::Bug;

    thread_local! {
        /// The calling thread's active bugs, one bit each.
        pub(super) static ACTIVE: Cell<u32> = const { Cell::new(0) };
    }

    /// Keeps a bug switched on for the calling thread until dropped (also by a panic), then
    /// restores the switches as they were.
    #[must_use = "the bug is switched off again when the guard is dropped"]
    #[derive(Debug)]
    pub struct Switch {
        before: u32,
        /// Thread-bound: the guard must be dropped on the thread whose switch it set.
        _not_send: std::marker::PhantomData<*const ()>,
    }

    /// Switches `bug` on for the calling thread until the returned guard is dropped.
    pub fn switch_on(bug: Bug) -> Switch {
        let before = ACTIVE.with(|active| active.replace(active.get() | bug.bit()));
        Switch {
            before,
            _not_send: std::marker::PhantomData,
        }
    }

    impl Drop for Switch {
        fn drop(&mut self) {
            ACTIVE.with(|active| active.set(self.before));
        }
    }

    /// Runs `f` with `bug` switched on for the calling thread, and off again afterwards.
    pub fn with<T>(bug: Bug, f: impl FnOnce() -> T) -> T {
        let _switch = switch_on(bug);
        f()
    }
}

#[cfg(all(test, feature = "bug-switches"))]
mod tests {
    use super::*;

    #[test]
    fn a_switch_holds_on_its_thread_until_dropped() {
        assert!(Bug::ALL.iter().all(|&bug| !active(bug)));
        with(Bug::RaftVoteForStaleLog, || {
            assert!(active(Bug::RaftVoteForStaleLog));
            assert!(!active(Bug::ReplicaTruncateToHw));
        });
        assert!(!active(Bug::RaftVoteForStaleLog));
        let unwound = std::panic::catch_unwind(|| {
            with(Bug::ReplicaAckBeforeIsr, || panic!("planted"));
        });
        assert!(unwound.is_err());
        assert!(!active(Bug::ReplicaAckBeforeIsr), "a panic switches it off");
    }
}
