//! Crashes and latent corruption on the simulated disk.
//!
//! A crash has two halves. The *fault* is where it hits: between calls (the driver simply stops
//! using the disk) or inside one ([`SimDisk::arm_crash_after_ops`]), after which every call fails
//! with [`DiskError::Crashed`]. The *restart* decides what survived: [`SimDisk::crash_process`]
//! keeps everything the page cache holds, [`SimDisk::crash_machine`] keeps only what the
//! durability contract promises, chosen at random among the outcomes it allows.

use super::SimDisk;
use sluice_core::disk::DiskError;
use sluice_core::rng::Rng;

/// Whether the disk is up, and whether a crash is armed.
#[derive(Clone, Debug, Default)]
pub(crate) struct CrashState {
    /// Mutating calls still allowed to complete before the armed crash hits.
    armed_after_ops: Option<u64>,
    /// Set when an armed crash hit; cleared by a restart.
    crashed: bool,
    /// The call the armed crash interrupted.
    interrupted_op: Option<String>,
}

impl SimDisk {
    /// Arms a crash inside a later call: `ops` mutating calls (`write_at`, `truncate`, `create`,
    /// `remove`, `rename`, `sync`, `sync_dir`, whether they succeed or fail) complete normally,
    /// and the next one crashes — `arm_crash_after_ops(0)` crashes the very next one.
    ///
    /// The interrupted `write_at` leaves a random prefix of its bytes (possibly none) in the page
    /// cache; any other interrupted call takes effect or not at random. It returns
    /// [`DiskError::Crashed`], as does every later call, until the driver restarts the disk with
    /// [`SimDisk::crash_process`] or [`SimDisk::crash_machine`] (which also disarm).
    pub fn arm_crash_after_ops(&mut self, ops: u64) {
        self.crash.armed_after_ops = Some(ops);
    }

    /// Whether an armed crash has hit and the disk awaits a restart.
    pub fn is_crashed(&self) -> bool {
        self.crash.crashed
    }

    /// The call an armed crash interrupted, such as
    /// `write_at topic-0/00000000000000000042.log @4096 len 16384`, until the restart.
    pub fn interrupted_op(&self) -> Option<&str> {
        self.crash.interrupted_op.as_deref()
    }

    /// Restarts after a process crash: the page cache survives, so every completed write (and
    /// whatever part of an interrupted one reached it) stays readable. Unsynced data stays
    /// unsynced: a later machine crash may still lose it.
    pub fn crash_process(&mut self) {
        self.restart();
    }

    /// Restarts after a machine crash (power loss). Each file keeps its synced contents plus a
    /// random prefix of its unsynced writes and truncations, in issue order, the last kept write
    /// possibly torn (and with [`SimDisk::set_torn_garbage`], partly garbage). Each create,
    /// remove and rename since its directory's last `sync_dir` is kept or undone at random; a
    /// file that reappears has its synced contents. Afterwards everything left is durable.
    pub fn crash_machine(&mut self, rng: &mut impl Rng) {
        self.namespace.crash_machine(rng);
        self.collect_garbage();
        let garbage = self.torn_garbage;
        // BTreeMap order: the draws happen in the same order on every run.
        for inode in self.inodes.values_mut() {
            inode.crash_machine(rng, garbage);
        }
        self.restart();
    }

    /// Flips one random bit at a random offset of the synced contents of a random file whose
    /// path passes `path_filter`, as bit rot would. Returns the file and offset, or `None` when
    /// no matching file has synced bytes. Reads see the flip unless an unsynced write covers it.
    pub fn corrupt_durable_byte(
        &mut self,
        rng: &mut impl Rng,
        path_filter: impl Fn(&str) -> bool,
    ) -> Option<(String, u64)> {
        let candidates: Vec<(String, u64)> = self
            .namespace
            .names()
            .filter(|(path, id)| path_filter(path) && !self.inode(*id).durable.is_empty())
            .map(|(path, id)| (path.to_string(), id))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (path, id) = candidates[rng.below(candidates.len() as u64) as usize].clone();
        let inode = self.inode_mut(id);
        let offset = rng.below(inode.durable.len() as u64);
        let bit = rng.below(8);
        inode.durable[offset as usize] ^= 1 << bit;
        inode.replay_pending();
        Some((path, offset))
    }

    fn restart(&mut self) {
        self.crash = CrashState::default();
    }

    /// Starts a trait call: fails at once if the disk has crashed, else counts the call.
    pub(super) fn begin_call(&mut self) -> Result<(), DiskError> {
        if self.crash.crashed {
            return Err(DiskError::Crashed);
        }
        self.stats.calls += 1;
        Ok(())
    }

    /// Counts a mutating call against the armed crash; true when this call must crash.
    pub(super) fn crash_due(&mut self) -> bool {
        match self.crash.armed_after_ops {
            Some(0) => {
                self.crash.armed_after_ops = None;
                true
            }
            Some(remaining) => {
                self.crash.armed_after_ops = Some(remaining - 1);
                false
            }
            None => false,
        }
    }

    /// Runs a mutating call other than `write_at`; if an armed crash hits it, the call takes
    /// effect or not at random, and fails with `Crashed` either way.
    pub(super) fn mutate(
        &mut self,
        describe: impl FnOnce() -> String,
        call: impl FnOnce(&mut SimDisk) -> Result<(), DiskError>,
    ) -> Result<(), DiskError> {
        self.begin_call()?;
        if !self.crash_due() {
            return call(self);
        }
        if self.fault_rng.chance(1, 2) {
            // The call's own error is moot: the process died before it could report anything.
            let _ = call(self);
        }
        Err(self.enter_crashed(describe()))
    }

    /// An armed crash inside `write_at`: a random prefix of `data` (possibly none) reaches the
    /// page cache.
    pub(super) fn interrupt_write(
        &mut self,
        describe: String,
        path: &str,
        offset: u64,
        data: &[u8],
    ) -> DiskError {
        let kept = self.fault_rng.below(data.len() as u64 + 1) as usize;
        // As in `mutate`, the partial write's own error (NotFound, NoSpace) is moot.
        let _ = self.write_now(path, offset, &data[..kept]);
        self.enter_crashed(describe)
    }

    fn enter_crashed(&mut self, describe: String) -> DiskError {
        assert!(!self.crash.crashed, "a crashed disk runs no calls");
        self.crash.crashed = true;
        self.crash.interrupted_op = Some(describe);
        DiskError::Crashed
    }
}
