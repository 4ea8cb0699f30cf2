//! Where the record bytes of a Fetch answer come from when the broker left them in a segment
//! file ([`FetchRecords::File`](sluice_core::api::FetchRecords::File)): an open handle to the
//! file, which the connection sends from with sendfile, or, for a disk that has no files, the
//! bytes themselves. And what a sync of a record file runs on: the same open handle, which a
//! worker fdatasyncs off the node's loop (see [`crate::sync_worker`]).

use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;
use sluice_core::api::FileRange;
use sluice_core::disk::{read_exact_at, Disk, DiskError};
use sluice_core::mem_disk::MemDisk;

use crate::file_disk::FileDisk;

/// The records of one file range, ready for a connection to send.
#[derive(Clone, Debug)]
pub enum StoredRecords {
    /// `len` bytes of `file` from `position`. The handle is taken when the broker answers, so
    /// a segment removed afterwards (retention) is still read whole; a segment cut shorter
    /// (truncation) fails the send, and the connection closes rather than send a short frame.
    File {
        /// The segment file.
        file: Arc<File>,
        /// Where the batches start.
        position: u64,
        /// How many bytes they take.
        len: usize,
    },
    /// The bytes, read already.
    Bytes(Bytes),
}

impl StoredRecords {
    /// The byte length of the records.
    pub fn len(&self) -> usize {
        match self {
            StoredRecords::File { len, .. } => *len,
            StoredRecords::Bytes(bytes) => bytes.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a sync the node asked for of one file goes on (see [`RecordFiles::begin_sync`]).
#[derive(Debug)]
pub enum FileSync {
    /// The file the node wrote, to fdatasync off the loop: the very inode, even when its path
    /// is renamed or removed before the worker gets to it.
    Later(Arc<File>),
    /// Synced already, on the loop.
    Done,
}

/// A [`Disk`] that hands out the records of a file range for sending, and its files for
/// syncing off the node's loop.
pub trait RecordFiles: Disk {
    /// The records at `range`. Disks without real files read the bytes.
    fn stored_records(&mut self, range: &FileRange) -> Result<StoredRecords, DiskError> {
        let mut bytes = vec![0; range.len as usize];
        read_exact_at(self, &range.path, range.position, &mut bytes)?;
        Ok(StoredRecords::Bytes(Bytes::from(bytes)))
    }

    /// Starts a sync of `path`. A disk without real files syncs here, on the caller's task:
    /// an in-memory sync costs nothing, and a turmoil run stays one thread and repeatable.
    fn begin_sync(&mut self, path: &str) -> Result<FileSync, DiskError> {
        self.sync(path)?;
        Ok(FileSync::Done)
    }

    /// Starts a sync of the names in directory `dir`, as [`RecordFiles::begin_sync`] does for
    /// a file's contents.
    fn begin_sync_dir(&mut self, dir: &str) -> Result<FileSync, DiskError> {
        self.sync_dir(dir)?;
        Ok(FileSync::Done)
    }

    /// Where a worker can replace this disk's files by path: the root of its real files, or
    /// `None` for a disk that replaces them on the caller's task.
    fn replace_root(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// Forgets what the disk remembers of `path` (an open handle), after someone else
    /// replaced the file behind it.
    fn forget(&mut self, _path: &str) {}
}

impl RecordFiles for FileDisk {
    fn stored_records(&mut self, range: &FileRange) -> Result<StoredRecords, DiskError> {
        Ok(StoredRecords::File {
            file: self.shared_handle(&range.path)?,
            position: range.position,
            len: range.len as usize,
        })
    }

    fn begin_sync(&mut self, path: &str) -> Result<FileSync, DiskError> {
        // The cached handle is the one the node's writes went through. When the cache has
        // closed it since, the file is reopened by its path, which (nothing renames a file
        // between writing it and asking for its sync) is the same inode, and fdatasync
        // flushes an inode's dirty pages whichever descriptor asks.
        Ok(FileSync::Later(self.shared_handle(path)?))
    }

    fn begin_sync_dir(&mut self, dir: &str) -> Result<FileSync, DiskError> {
        Ok(FileSync::Later(Arc::new(self.open_dir(dir)?)))
    }

    fn replace_root(&self) -> Option<std::path::PathBuf> {
        Some(self.root().to_path_buf())
    }

    fn forget(&mut self, path: &str) {
        self.close(path);
    }
}

impl RecordFiles for MemDisk {}
