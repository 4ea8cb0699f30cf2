//! Where the record bytes of a Fetch answer come from when the broker left them in a segment
//! file ([`FetchRecords::File`](sluice_core::api::FetchRecords::File)): an open handle to the
//! file, which the connection sends from with sendfile, or, for a disk that has no files, the
//! bytes themselves.

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

/// A [`Disk`] that hands out the records of a file range for sending.
pub trait RecordFiles: Disk {
    /// The records at `range`. Disks without real files read the bytes.
    fn stored_records(&mut self, range: &FileRange) -> Result<StoredRecords, DiskError> {
        let mut bytes = vec![0; range.len as usize];
        read_exact_at(self, &range.path, range.position, &mut bytes)?;
        Ok(StoredRecords::Bytes(Bytes::from(bytes)))
    }
}

impl RecordFiles for FileDisk {
    fn stored_records(&mut self, range: &FileRange) -> Result<StoredRecords, DiskError> {
        Ok(StoredRecords::File {
            file: self.shared_handle(&range.path)?,
            position: range.position,
            len: range.len as usize,
        })
    }
}

impl RecordFiles for MemDisk {}
