//! An in-memory filesystem implementing [`Disk`] with exactly the durability contract of
//! `sluice_core::disk`, plus the faults that contract allows.
//!
//! Call order for a scenario:
//!
//! 1. `SimDisk::new(kernel.rng().fork())`, then optional faults: [`SimDisk::set_capacity`],
//!    [`SimDisk::set_latency`], [`SimDisk::set_torn_garbage`].
//! 2. Hand `&mut disk` to the code under test; after each step, advance the kernel clock by
//!    [`SimDisk::take_busy_time`].
//! 3. To crash between calls, call [`SimDisk::crash_process`] or [`SimDisk::crash_machine`]. To
//!    crash inside a call, [`SimDisk::arm_crash_after_ops`]: the interrupted call and every call
//!    after it fail with [`DiskError::Crashed`] until the driver calls one of the two crashes,
//!    which also restart the disk. [`SimDisk::interrupted_op`] says which call died.
//! 4. Reopen the code under test on the same disk and check what it recovered.

mod faults;
mod file;
mod latency;
mod namespace;

pub use latency::DiskLatency;

use crate::rng::SimRng;
use file::Inode;
use namespace::{InodeId, Namespace};
use sluice_core::disk::{Disk, DiskError};
use sluice_core::time::Duration;
use std::collections::BTreeMap;

/// The largest offset or length a simulated file may reach (EFBIG beyond). It keeps an absurd
/// offset from a buggy caller an error instead of an attempt to allocate it.
pub const FILE_BYTES_MAX: u64 = 1 << 32;

/// Counters of a simulated disk's work, for tests that measure I/O (bytes read at log open).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Calls made through the [`Disk`] trait that did not fail with `Crashed` on entry.
    pub calls: u64,
    /// Bytes returned by `read_at`.
    pub bytes_read: u64,
    /// Bytes written by `write_at` (a partial write counts what it wrote).
    pub bytes_written: u64,
    /// Successful `sync` calls.
    pub syncs: u64,
    /// Successful `sync_dir` calls.
    pub dir_syncs: u64,
}

/// A sync begun by [`SimDisk::begin_sync`]: the file (by its contents, as an fdatasync on an
/// open descriptor survives a rename or removal of its name) and the writes it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncTicket {
    inode: InodeId,
    issued: u64,
}

/// The simulated disk. See the module documentation for the call order.
#[derive(Debug)]
pub struct SimDisk {
    namespace: Namespace,
    inodes: BTreeMap<InodeId, Inode>,
    next_inode: InodeId,
    /// Draws for faults inside calls (armed crashes).
    fault_rng: SimRng,
    /// Draws for latencies, separate so turning latency on does not move the fault draws.
    latency_rng: SimRng,
    latency: DiskLatency,
    capacity_bytes: Option<u64>,
    torn_garbage: bool,
    busy: Duration,
    /// Set while a node handles an input: a sync then is a bug (the node hands its syncs
    /// out as outputs), and panics.
    syncs_forbidden: bool,
    stats: DiskStats,
    crash: faults::CrashState,
}

impl SimDisk {
    /// An empty disk (only the root directory `""`), with no capacity limit, no latency and no
    /// garbage in torn writes. Its randomness comes from `rng`.
    pub fn new(mut rng: SimRng) -> SimDisk {
        let latency_rng = rng.fork();
        SimDisk {
            namespace: Namespace::default(),
            inodes: BTreeMap::new(),
            next_inode: 1,
            fault_rng: rng,
            latency_rng,
            latency: DiskLatency::NONE,
            capacity_bytes: None,
            torn_garbage: false,
            busy: Duration::ZERO,
            syncs_forbidden: false,
            stats: DiskStats::default(),
            crash: faults::CrashState::default(),
        }
    }

    /// Limits the sum of current file lengths to `capacity_bytes` (ENOSPC beyond), or lifts the
    /// limit with `None`. Lowering it below the current usage only refuses growth.
    pub fn set_capacity(&mut self, capacity_bytes: Option<u64>) {
        self.capacity_bytes = capacity_bytes;
    }

    /// Sets the latency model.
    pub fn set_latency(&mut self, latency: DiskLatency) {
        self.latency = latency;
    }

    /// Whether a machine crash may fill part of a torn write with random bytes.
    pub fn set_torn_garbage(&mut self, enabled: bool) {
        self.torn_garbage = enabled;
    }

    /// The sum of current lengths of named files, the quantity the capacity limits.
    pub fn used_bytes(&self) -> u64 {
        self.namespace
            .names()
            .map(|(_, id)| self.inode(id).len())
            .sum()
    }

    /// Makes every `sync` and `sync_dir` panic until called again with `false`: a driver sets
    /// it around a node's input, where the node must not sync on its own loop (it hands its
    /// syncs out as outputs, which the driver carries out later).
    pub fn forbid_syncs(&mut self, forbidden: bool) {
        self.syncs_forbidden = forbidden;
    }

    /// The virtual time calls took since the last call of this method; resets it to zero.
    pub fn take_busy_time(&mut self) -> Duration {
        core::mem::take(&mut self.busy)
    }

    /// The counters since creation or the last [`SimDisk::reset_stats`].
    pub fn stats(&self) -> DiskStats {
        self.stats
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        self.stats = DiskStats::default();
    }

    /// What reads of `path` see now, for checkers and tests. Works while crashed, counts nothing.
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        let id = self.namespace.lookup(path).ok()?;
        Some(&self.inode(id).current)
    }

    /// What `path`'s file holds durably (its contents at its last `sync`), for checkers and
    /// tests. The name itself may not be durable.
    pub fn durable_contents(&self, path: &str) -> Option<&[u8]> {
        let id = self.namespace.lookup(path).ok()?;
        Some(&self.inode(id).durable)
    }

    fn inode(&self, id: InodeId) -> &Inode {
        self.inodes.get(&id).expect("every named file has contents")
    }

    fn inode_mut(&mut self, id: InodeId) -> &mut Inode {
        self.inodes
            .get_mut(&id)
            .expect("every named file has contents")
    }

    /// Drops the contents of files nothing can name any more, not even a crash.
    fn collect_garbage(&mut self) {
        let referenced = self.namespace.referenced();
        self.inodes.retain(|id, _| referenced.contains(id));
    }

    /// After `inode` lost a name: if it has none left, its unsynced data can never be read.
    fn forget_if_unnamed(&mut self, id: InodeId) {
        if !self.namespace.is_named(id) {
            self.inode_mut(id).discard_unsynced();
        }
    }

    /// The largest end offset the file `id` may grow to under the capacity limit.
    fn end_allowed(&self, id: InodeId) -> u64 {
        let len = self.inode(id).len();
        let room = match self.capacity_bytes {
            Some(capacity) => capacity.saturating_sub(self.used_bytes()),
            None => u64::MAX,
        };
        len.saturating_add(room).min(FILE_BYTES_MAX)
    }

    fn write_now(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let id = self.namespace.lookup(path)?;
        let end = offset.checked_add(data.len() as u64);
        if end.is_none_or(|end| end > FILE_BYTES_MAX) {
            return Err(DiskError::Io(format!("{path}: file too large")));
        }
        let end_allowed = self.end_allowed(id).max(self.inode(id).len());
        let fits = end_allowed.saturating_sub(offset).min(data.len() as u64) as usize;
        self.inode_mut(id).write(offset, &data[..fits]);
        self.stats.bytes_written += fits as u64;
        self.busy += self.latency.write_cost(fits);
        if fits < data.len() {
            return Err(DiskError::NoSpace);
        }
        Ok(())
    }

    fn truncate_now(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        let id = self.namespace.lookup(path)?;
        if len > FILE_BYTES_MAX {
            return Err(DiskError::Io(format!("{path}: file too large")));
        }
        let current = self.inode(id).len();
        let len_allowed = len.min(self.end_allowed(id).max(current));
        self.inode_mut(id).truncate(len_allowed);
        self.busy += self.latency.write_cost(0);
        if len_allowed < len {
            return Err(DiskError::NoSpace);
        }
        Ok(())
    }

    fn create_now(&mut self, path: &str) -> Result<(), DiskError> {
        let id = self.next_inode;
        self.namespace.create(path, id)?;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        self.busy += self.latency.write_cost(0);
        Ok(())
    }

    fn remove_now(&mut self, path: &str) -> Result<(), DiskError> {
        let id = self.namespace.remove(path)?;
        self.forget_if_unnamed(id);
        self.busy += self.latency.write_cost(0);
        Ok(())
    }

    fn rename_now(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        if let Some(replaced) = self.namespace.rename(from, to)? {
            self.forget_if_unnamed(replaced);
        }
        self.busy += self.latency.write_cost(0);
        Ok(())
    }

    fn sync_now(&mut self, path: &str) -> Result<(), DiskError> {
        let id = self.namespace.lookup(path)?;
        self.inode_mut(id).sync();
        self.stats.syncs += 1;
        self.busy += self.latency.sync_cost(&mut self.latency_rng);
        Ok(())
    }

    /// Starts a sync of `path` that completes later, at [`SimDisk::finish_sync`]: it covers
    /// the writes and truncations issued before this call and none after, as an fdatasync
    /// run off the caller's thread covers what was written before it started.
    pub fn begin_sync(&mut self, path: &str) -> Result<SyncTicket, DiskError> {
        self.begin_call()?;
        let inode = self.namespace.lookup(path)?;
        let issued = self.inode(inode).mutations_issued();
        Ok(SyncTicket { inode, issued })
    }

    /// Completes a sync from [`SimDisk::begin_sync`]: its writes become durable. An armed
    /// crash may hit it like any mutating call. A file whose contents are gone (its last name
    /// removed and synced away) has nothing left to keep.
    pub fn finish_sync(&mut self, ticket: SyncTicket) -> Result<(), DiskError> {
        self.mutate(
            || format!("sync inode {}", ticket.inode),
            |disk| {
                if let Some(inode) = disk.inodes.get_mut(&ticket.inode) {
                    inode.sync_upto(ticket.issued);
                    disk.stats.syncs += 1;
                }
                Ok(())
            },
        )
    }

    /// How long one sync takes under the latency model, drawn from the latency stream (so the
    /// fault draws do not move); zero without latency.
    pub fn draw_sync_latency(&mut self) -> Duration {
        self.latency.sync_cost(&mut self.latency_rng)
    }

    fn sync_dir_now(&mut self, dir: &str) -> Result<(), DiskError> {
        // Only a file that lost a name here can be left without one.
        for inode in self.namespace.sync_dir(dir)? {
            if !self.namespace.refers_to(inode) {
                self.inodes.remove(&inode);
            }
        }
        self.stats.dir_syncs += 1;
        self.busy += self.latency.sync_cost(&mut self.latency_rng);
        Ok(())
    }
}

impl Disk for SimDisk {
    fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError> {
        self.begin_call()?;
        self.namespace.create_dir_all(dir)
    }

    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError> {
        self.begin_call()?;
        self.namespace.list(dir)
    }

    fn create(&mut self, path: &str) -> Result<(), DiskError> {
        self.mutate(|| format!("create {path}"), |disk| disk.create_now(path))
    }

    fn len(&mut self, path: &str) -> Result<u64, DiskError> {
        self.begin_call()?;
        let id = self.namespace.lookup(path)?;
        Ok(self.inode(id).len())
    }

    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        self.begin_call()?;
        let id = self.namespace.lookup(path)?;
        let contents = &self.inode(id).current;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(contents.len());
        let read = buf.len().min(contents.len() - start);
        buf[..read].copy_from_slice(&contents[start..start + read]);
        self.stats.bytes_read += read as u64;
        self.busy += self.latency.read_cost(read);
        Ok(read)
    }

    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        self.begin_call()?;
        if self.crash_due() {
            let describe = format!("write_at {path} @{offset} len {}", data.len());
            return Err(self.interrupt_write(describe, path, offset, data));
        }
        self.write_now(path, offset, data)
    }

    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        self.mutate(
            || format!("truncate {path} to {len}"),
            |disk| disk.truncate_now(path, len),
        )
    }

    fn sync(&mut self, path: &str) -> Result<(), DiskError> {
        assert!(
            !self.syncs_forbidden,
            "an inline sync of {path} while a node handles an input"
        );
        self.mutate(|| format!("sync {path}"), |disk| disk.sync_now(path))
    }

    fn remove(&mut self, path: &str) -> Result<(), DiskError> {
        self.mutate(|| format!("remove {path}"), |disk| disk.remove_now(path))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.mutate(
            || format!("rename {from} -> {to}"),
            |disk| disk.rename_now(from, to),
        )
    }

    fn sync_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        assert!(
            !self.syncs_forbidden,
            "an inline sync of directory {dir} while a node handles an input"
        );
        self.mutate(|| format!("sync_dir {dir}"), |disk| disk.sync_dir_now(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::disk::read_exact_at;

    fn disk() -> SimDisk {
        let mut disk = SimDisk::new(SimRng::new(1));
        disk.create_dir_all("t-0").expect("mkdir");
        disk.create("t-0/a.log").expect("create");
        disk
    }

    #[test]
    fn reads_see_writes_and_gaps_read_as_zeros() {
        let mut disk = disk();
        disk.write_at("t-0/a.log", 2, b"xy").expect("write");
        let mut buf = [9u8; 8];
        assert_eq!(disk.read_at("t-0/a.log", 0, &mut buf), Ok(4));
        assert_eq!(&buf[..4], b"\0\0xy");
        assert_eq!(disk.read_at("t-0/a.log", 4, &mut buf), Ok(0));
        assert_eq!(disk.read_at("t-0/a.log", u64::MAX, &mut buf), Ok(0));
        assert_eq!(disk.len("t-0/a.log"), Ok(4));
        let mut exact = [0u8; 2];
        read_exact_at(&mut disk, "t-0/a.log", 2, &mut exact).expect("read exact");
        assert_eq!(&exact, b"xy");
    }

    #[test]
    fn missing_files_and_dirs_are_not_found() {
        let mut disk = disk();
        let not_found = |path: &str| Some(DiskError::NotFound(path.to_string()));
        assert_eq!(disk.len("t-0/b.log").err(), not_found("t-0/b.log"));
        assert_eq!(
            disk.write_at("t-0/b.log", 0, b"x").err(),
            not_found("t-0/b.log")
        );
        assert_eq!(disk.sync("t-0/b.log").err(), not_found("t-0/b.log"));
        assert_eq!(disk.remove("t-0/b.log").err(), not_found("t-0/b.log"));
        assert_eq!(
            disk.rename("t-0/b.log", "t-0/c").err(),
            not_found("t-0/b.log")
        );
        assert_eq!(disk.list("t-1").err(), not_found("t-1"));
        assert_eq!(disk.sync_dir("t-1").err(), not_found("t-1"));
        assert_eq!(disk.create("t-1/x").err(), not_found("t-1"));
        let exists = Err(DiskError::AlreadyExists("t-0/a.log".to_string()));
        assert_eq!(disk.create("t-0/a.log"), exists);
    }

    #[test]
    fn absurd_offsets_are_errors_not_allocations() {
        let mut disk = disk();
        assert!(matches!(
            disk.write_at("t-0/a.log", u64::MAX, b"x"),
            Err(DiskError::Io(_))
        ));
        assert!(matches!(
            disk.truncate("t-0/a.log", u64::MAX),
            Err(DiskError::Io(_))
        ));
        assert!(matches!(disk.create("/abs"), Err(DiskError::Io(_))));
        assert_eq!(disk.len("t-0/a.log"), Ok(0));
    }

    #[test]
    #[should_panic(expected = "an inline sync of t-0/a.log while a node handles an input")]
    fn a_sync_while_syncs_are_forbidden_panics() {
        let mut disk = disk();
        disk.forbid_syncs(true);
        let _ = disk.sync("t-0/a.log");
    }

    #[test]
    fn stats_and_busy_time_accumulate() {
        let mut disk = disk();
        disk.set_latency(DiskLatency::SSD);
        disk.reset_stats();
        disk.write_at("t-0/a.log", 0, &[1u8; 100]).expect("write");
        disk.sync("t-0/a.log").expect("sync");
        let mut buf = [0u8; 60];
        disk.read_at("t-0/a.log", 50, &mut buf).expect("read");
        disk.sync_dir("t-0").expect("sync_dir");
        let stats = disk.stats();
        assert_eq!(stats.calls, 4);
        assert_eq!(stats.bytes_written, 100);
        assert_eq!(stats.bytes_read, 50);
        assert_eq!(stats.syncs, 1);
        assert_eq!(stats.dir_syncs, 1);
        let busy = disk.take_busy_time();
        assert!(busy >= DiskLatency::SSD.sync_min * 2, "{busy:?}");
        assert_eq!(disk.take_busy_time(), Duration::ZERO);
        disk.reset_stats();
        assert_eq!(disk.stats(), DiskStats::default());
    }

    #[test]
    fn a_begun_sync_covers_the_writes_before_it_and_none_after() {
        let mut disk = disk();
        disk.write_at("t-0/a.log", 0, b"abcd").expect("write");
        disk.sync_dir("t-0").expect("sync_dir");
        let ticket = disk.begin_sync("t-0/a.log").expect("begin");
        disk.write_at("t-0/a.log", 4, b"efgh").expect("write");
        assert_eq!(disk.durable_contents("t-0/a.log"), Some(&b""[..]));
        // Renaming the file does not matter: the sync is on its contents.
        disk.rename("t-0/a.log", "t-0/b.log").expect("rename");
        disk.finish_sync(ticket).expect("finish");
        assert_eq!(disk.durable_contents("t-0/b.log"), Some(&b"abcd"[..]));
        assert_eq!(disk.contents("t-0/b.log"), Some(&b"abcdefgh"[..]));
        // A later sync finishing first covers the earlier one's writes too.
        let first = disk.begin_sync("t-0/b.log").expect("begin");
        disk.truncate("t-0/b.log", 6).expect("truncate");
        let second = disk.begin_sync("t-0/b.log").expect("begin");
        disk.finish_sync(second).expect("finish");
        assert_eq!(disk.durable_contents("t-0/b.log"), Some(&b"abcdef"[..]));
        disk.finish_sync(first).expect("finish");
        assert_eq!(disk.durable_contents("t-0/b.log"), Some(&b"abcdef"[..]));
    }

    #[test]
    fn a_machine_crash_before_a_sync_finishes_may_lose_what_it_covers() {
        let mut lost = 0;
        for seed in 0..32 {
            let mut disk = disk();
            disk.sync_dir("t-0").expect("sync_dir");
            disk.write_at("t-0/a.log", 0, b"abcd").expect("write");
            let _ticket = disk.begin_sync("t-0/a.log").expect("begin");
            disk.crash_machine(&mut SimRng::new(seed));
            let kept = disk.contents("t-0/a.log").expect("named").to_vec();
            assert!(b"abcd".starts_with(&kept), "a prefix survives: {kept:?}");
            lost += usize::from(kept.len() < 4);
        }
        assert!(lost > 0, "some crash drops the unsynced write");
    }

    #[test]
    fn a_finishing_sync_can_be_hit_by_an_armed_crash() {
        let mut disk = disk();
        disk.write_at("t-0/a.log", 0, b"abcd").expect("write");
        let ticket = disk.begin_sync("t-0/a.log").expect("begin");
        disk.arm_crash_after_ops(0);
        assert_eq!(disk.finish_sync(ticket), Err(DiskError::Crashed));
        assert!(disk.is_crashed());
        assert_eq!(disk.begin_sync("t-0/a.log"), Err(DiskError::Crashed));
    }

    /// A gathered write is the one write of its concatenation: a crash inside it keeps the
    /// same prefix (the fault draws do not move), and a full disk cuts it at the same byte.
    #[test]
    fn a_vectored_write_faults_as_one_write_of_its_parts_joined() {
        let parts: [&[u8]; 3] = [b"abcdefgh", b"", b"ijklmnopqrstuvwxyz"];
        let joined = parts.concat();
        for seed in 0..16 {
            let mut whole = SimDisk::new(SimRng::new(seed));
            let mut gathered = SimDisk::new(SimRng::new(seed));
            for disk in [&mut whole, &mut gathered] {
                disk.create_dir_all("t-0").expect("mkdir");
                disk.create("t-0/a.log").expect("create");
                disk.arm_crash_after_ops(0);
            }
            let one = whole.write_at("t-0/a.log", 3, &joined);
            let many = gathered.write_vectored_at("t-0/a.log", 3, &parts);
            assert_eq!(
                (one, many),
                (Err(DiskError::Crashed), Err(DiskError::Crashed))
            );
            assert_eq!(whole.contents("t-0/a.log"), gathered.contents("t-0/a.log"));
            assert_eq!(whole.interrupted_op(), gathered.interrupted_op());
        }
        let mut full = disk();
        full.set_capacity(Some(10));
        let written = full.write_vectored_at("t-0/a.log", 0, &parts);
        assert_eq!(written, Err(DiskError::NoSpace));
        assert_eq!(full.contents("t-0/a.log"), Some(&joined[..10]));
    }
}
