//! The storage contract every driver implements.
//!
//! Files are named by `/`-separated paths relative to the disk's root (for example
//! `orders-0/00000000000000000000.log`). The core calls these methods synchronously; a driver
//! that models latency (the simulator's slow fsync) accounts for it in its own clock.
//!
//! # Durability contract
//!
//! This is exactly what code in `core` may assume, and exactly what the simulator's faults
//! exercise:
//!
//! 1. **A read sees every earlier write.** After `write_at`, `truncate`, `create`, `remove` or
//!    `rename` returns `Ok`, every later call on the same disk (until a crash) observes it.
//! 2. **Synced bytes survive.** Once `sync(path)` returns `Ok`, the file's contents and length
//!    as they were when `sync` was called survive any crash — as long as the file's name does
//!    (rule 4). Latent corruption (bit rot) is the one exception, and it is why every batch
//!    carries a CRC.
//! 3. **Unsynced bytes may be lost or torn.** At a machine crash, writes and truncations made
//!    after a file's last `sync` may each be kept, dropped, kept in part (a torn write keeps a
//!    prefix of the write), or — for the sectors a write was touching — replaced by garbage.
//!    They are applied in the order they were issued: a later unsynced write never survives when
//!    an earlier one on the same file was dropped. A *process* crash loses nothing that a call
//!    already wrote: the operating system's page cache keeps it.
//! 4. **Names are durable after `sync_dir`.** `create`, `remove` and `rename` are atomic. Once
//!    `sync_dir(dir)` returns `Ok`, the names in `dir` survive a crash as they are; before that, a
//!    machine crash may undo any of those operations made since the last `sync_dir` (a created
//!    file vanishes, a removed file reappears with its synced contents, a rename is undone).
//! 5. **Errors are inputs.** Any call may fail with [`DiskError`]; a failed `write_at` may have
//!    written a prefix of its bytes (and a failed `write_vectored_at` a prefix of their
//!    concatenation). [`DiskError::Crashed`] means the machine or process died
//!    during the call: the caller must stop using the disk and recover from a fresh open.
//! 6. **A sync begun earlier covers what was written before it.** A driver may run a sync off
//!    the caller's thread (a node's `Sync` output): it covers exactly the writes and
//!    truncations issued before it was asked for, and they are durable once its completion is
//!    reported. Until then rule 3 holds for them, and the kernel may write any of them back
//!    first, in any order across files.

use core::fmt;

/// Why a disk operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// The file or directory does not exist.
    NotFound(String),
    /// The file already exists (from [`Disk::create`]).
    AlreadyExists(String),
    /// The device is full (ENOSPC). A failed write may have written a prefix.
    NoSpace,
    /// The device reported an error (EIO and friends).
    Io(String),
    /// The process or machine crashed during the call. Nothing after this call runs; the
    /// driver restarts and the owner recovers from a fresh open.
    Crashed,
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::NotFound(path) => write!(f, "{path}: not found"),
            DiskError::AlreadyExists(path) => write!(f, "{path}: already exists"),
            DiskError::NoSpace => write!(f, "no space left on device"),
            DiskError::Io(detail) => write!(f, "i/o error: {detail}"),
            DiskError::Crashed => write!(f, "crashed during the operation"),
        }
    }
}

impl std::error::Error for DiskError {}

/// Storage with the durability contract in this module's documentation.
pub trait Disk {
    /// Creates `dir` and its parents if they are missing.
    fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError>;

    /// The names (not paths) of the files in `dir`, sorted bytewise. A missing directory is
    /// [`DiskError::NotFound`].
    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError>;

    /// Creates an empty file; [`DiskError::AlreadyExists`] if it exists.
    fn create(&mut self, path: &str) -> Result<(), DiskError>;

    /// The file's current length in bytes (synced or not). Reading a length reads no data.
    fn len(&mut self, path: &str) -> Result<u64, DiskError>;

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read, fewer only at the
    /// end of the file.
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError>;

    /// Writes all of `data` at `offset`, extending the file as needed (a gap reads as zeros).
    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError>;

    /// Writes `parts` one after another from `offset`, exactly as one [`Disk::write_at`] of
    /// their concatenation: the same bytes, and the same outcomes under faults (a failed or
    /// torn write keeps a prefix of the concatenation). It lets a caller write a few stamped
    /// header bytes from the stack and the rest from a shared buffer it may not edit.
    ///
    /// The default is that one write, of the parts joined in a copy: a disk whose faults are
    /// modelled per write (the simulator's, the in-memory one) then treats it exactly as the
    /// write it stands for. A driver with a native gathered write (`pwritev`) overrides it.
    fn write_vectored_at(
        &mut self,
        path: &str,
        offset: u64,
        parts: &[&[u8]],
    ) -> Result<(), DiskError> {
        self.write_at(path, offset, &parts.concat())
    }

    /// Sets the file's length to `len`, cutting or zero-extending it.
    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError>;

    /// Makes the file's contents and length durable (rule 2).
    fn sync(&mut self, path: &str) -> Result<(), DiskError>;

    /// Removes a file.
    fn remove(&mut self, path: &str) -> Result<(), DiskError>;

    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError>;

    /// Makes the names in `dir` durable (rule 4).
    fn sync_dir(&mut self, dir: &str) -> Result<(), DiskError>;

    /// Removes `dir` if it holds no files. A disk whose directories exist only through their
    /// files (the in-memory ones) has nothing to do.
    fn remove_empty_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        let _ = dir;
        Ok(())
    }
}

impl<D: Disk + ?Sized> Disk for &mut D {
    fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError> {
        (**self).create_dir_all(dir)
    }
    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError> {
        (**self).list(dir)
    }
    fn create(&mut self, path: &str) -> Result<(), DiskError> {
        (**self).create(path)
    }
    fn len(&mut self, path: &str) -> Result<u64, DiskError> {
        (**self).len(path)
    }
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        (**self).read_at(path, offset, buf)
    }
    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        (**self).write_at(path, offset, data)
    }
    fn write_vectored_at(
        &mut self,
        path: &str,
        offset: u64,
        parts: &[&[u8]],
    ) -> Result<(), DiskError> {
        (**self).write_vectored_at(path, offset, parts)
    }
    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        (**self).truncate(path, len)
    }
    fn sync(&mut self, path: &str) -> Result<(), DiskError> {
        (**self).sync(path)
    }
    fn remove(&mut self, path: &str) -> Result<(), DiskError> {
        (**self).remove(path)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        (**self).rename(from, to)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        (**self).sync_dir(dir)
    }
    fn remove_empty_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        (**self).remove_empty_dir(dir)
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or fails with [`DiskError::Io`] on a short read.
pub fn read_exact_at<D: Disk + ?Sized>(
    disk: &mut D,
    path: &str,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), DiskError> {
    let read = disk.read_at(path, offset, buf)?;
    if read != buf.len() {
        return Err(DiskError::Io(format!(
            "{path}: short read at {offset}: wanted {} bytes, got {read}",
            buf.len()
        )));
    }
    Ok(())
}

/// Writes `bytes` under `{dir}/{name}.tmp`, syncs it, renames it over `{dir}/{name}` and syncs
/// the directory: after `Ok`, the new contents survive any crash, and before it a crash leaves
/// the old contents (and perhaps a `.tmp` that the owner removes when it opens).
pub fn replace_file<D: Disk + ?Sized>(
    disk: &mut D,
    dir: &str,
    name: &str,
    bytes: &[u8],
) -> Result<(), DiskError> {
    let tmp = format!("{dir}/{name}.tmp");
    match disk.remove(&tmp) {
        Ok(()) | Err(DiskError::NotFound(_)) => {}
        Err(error) => return Err(error),
    }
    disk.create(&tmp)?;
    disk.write_at(&tmp, 0, bytes)?;
    disk.sync(&tmp)?;
    disk.rename(&tmp, &format!("{dir}/{name}"))?;
    disk.sync_dir(dir)
}
