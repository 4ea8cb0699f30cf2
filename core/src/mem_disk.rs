//! A small in-memory [`Disk`] for core's own tests (core cannot depend on `sluice-sim`).
//!
//! It models just enough of the durability contract to test recovery: a machine crash
//! reverts every file to its synced contents, except that an append-only tail written since
//! the last sync may survive in part (a torn write). Names are treated as durable at once;
//! the simulator's `SimDisk` exercises the rest of the contract.

use std::collections::BTreeMap;

use crate::disk::{Disk, DiskError};
use crate::rng::Rng;

#[derive(Clone, Debug, Default)]
struct File {
    current: Vec<u8>,
    synced: Vec<u8>,
}

/// Files in memory, with crash and failure injection.
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    files: BTreeMap<String, File>,
    /// Calls left before every call fails with `Io`; `None` never fails.
    pub fail_after_calls: Option<u64>,
    /// Calls left before the machine dies inside a call: that call and every later one fail
    /// with `Crashed` (a dying `write_at` writes the first half of its bytes) until
    /// [`MemDisk::crash_machine`].
    pub crash_after_calls: Option<u64>,
    /// The disk is full: a write that would grow a file fails with `NoSpace` (and writes
    /// nothing), as ENOSPC.
    pub full: bool,
    /// `sync` calls made, to check what a path costs.
    pub syncs: u64,
    /// Bytes returned by `read_at`, to measure what an operation reads.
    pub bytes_read: u64,
}

impl MemDisk {
    /// The current contents of `path`.
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(|file| file.current.as_slice())
    }

    /// Replaces the contents of `path` (current and synced), creating it if missing — for
    /// damaging files in tests.
    pub fn set_contents(&mut self, path: &str, bytes: Vec<u8>) {
        let file = self.files.entry(path.to_string()).or_default();
        file.current = bytes.clone();
        file.synced = bytes;
    }

    /// Edits the contents of `path` in place (current and synced), as bit rot or a tool would.
    pub fn damage(&mut self, path: &str, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = self.contents(path).expect("file exists").to_vec();
        edit(&mut bytes);
        self.set_contents(path, bytes);
    }

    /// A machine crash: unsynced data is lost, except a random prefix of an unsynced
    /// append-only tail (a torn write).
    pub fn crash_machine<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        for file in self.files.values_mut() {
            let extends =
                file.current.len() > file.synced.len() && file.current.starts_with(&file.synced);
            if extends && rng.chance(1, 2) {
                let keep = rng.range_inclusive(file.synced.len() as u64, file.current.len() as u64);
                file.current.truncate(keep as usize);
            } else {
                file.current = file.synced.clone();
            }
            file.synced = file.current.clone();
        }
        self.crash_after_calls = None;
    }

    fn call(&mut self) -> Result<(), DiskError> {
        match &mut self.crash_after_calls {
            Some(0) => return Err(DiskError::Crashed),
            Some(left) => *left -= 1,
            None => {}
        }
        match &mut self.fail_after_calls {
            Some(0) => Err(DiskError::Io("injected".to_string())),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn file(&mut self, path: &str) -> Result<&mut File, DiskError> {
        self.call()?;
        self.files
            .get_mut(path)
            .ok_or_else(|| DiskError::NotFound(path.to_string()))
    }
}

impl Disk for MemDisk {
    fn create_dir_all(&mut self, _dir: &str) -> Result<(), DiskError> {
        self.call()
    }
    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError> {
        self.call()?;
        let prefix = format!("{dir}/");
        Ok(self
            .files
            .keys()
            .filter_map(|path| path.strip_prefix(&prefix))
            .filter(|name| !name.contains('/'))
            .map(str::to_string)
            .collect())
    }
    fn create(&mut self, path: &str) -> Result<(), DiskError> {
        self.call()?;
        if self.files.contains_key(path) {
            return Err(DiskError::AlreadyExists(path.to_string()));
        }
        self.files.insert(path.to_string(), File::default());
        Ok(())
    }
    fn len(&mut self, path: &str) -> Result<u64, DiskError> {
        Ok(self.file(path)?.current.len() as u64)
    }
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        let file = &self.file(path)?.current;
        let start = (offset as usize).min(file.len());
        let n = buf.len().min(file.len() - start);
        buf[..n].copy_from_slice(&file[start..start + n]);
        self.bytes_read += n as u64;
        Ok(n)
    }
    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        if self.crash_after_calls == Some(0) && self.files.contains_key(path) {
            let torn = &data[..data.len() / 2];
            self.crash_after_calls = None;
            self.write_at(path, offset, torn)?;
            self.crash_after_calls = Some(0);
            return Err(DiskError::Crashed);
        }
        let full = self.full;
        let file = &mut self.file(path)?.current;
        let end = offset as usize + data.len();
        if full && file.len() < end {
            return Err(DiskError::NoSpace);
        }
        if file.len() < end {
            file.resize(end, 0);
        }
        file[offset as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        self.file(path)?.current.resize(len as usize, 0);
        Ok(())
    }
    fn sync(&mut self, path: &str) -> Result<(), DiskError> {
        let file = self.file(path)?;
        file.synced = file.current.clone();
        self.syncs += 1;
        Ok(())
    }
    fn remove(&mut self, path: &str) -> Result<(), DiskError> {
        self.call()?;
        self.files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| DiskError::NotFound(path.to_string()))
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.call()?;
        let file = self
            .files
            .remove(from)
            .ok_or_else(|| DiskError::NotFound(from.to_string()))?;
        self.files.insert(to.to_string(), file);
        Ok(())
    }
    fn sync_dir(&mut self, _dir: &str) -> Result<(), DiskError> {
        self.call()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The faults treat a gathered write as the one write of its parts joined: a dying one keeps
    /// half of all of them, a full disk refuses all of them.
    #[test]
    fn a_vectored_write_faults_as_one_write() {
        let parts: [&[u8]; 3] = [b"ab", b"", b"cdefgh"];
        let mut disk = MemDisk::default();
        disk.create("a").unwrap();
        disk.write_vectored_at("a", 1, &parts).unwrap();
        assert_eq!(disk.contents("a"), Some(&b"\0abcdefgh"[..]));
        disk.full = true;
        let full = disk.write_vectored_at("a", 9, &parts);
        assert_eq!(full, Err(DiskError::NoSpace));
        assert_eq!(disk.contents("a"), Some(&b"\0abcdefgh"[..]));
        disk.full = false;
        disk.crash_after_calls = Some(0);
        let crashed = disk.write_vectored_at("a", 0, &parts);
        assert_eq!(crashed, Err(DiskError::Crashed));
        assert_eq!(
            disk.contents("a"),
            Some(&b"abcddefgh"[..]),
            "\"abcd\": half of 8"
        );
    }
}
