//! [`FileDisk`]: the production [`Disk`], backed by real files under one root directory.
//!
//! Paths are the `/`-separated relative names of the [`Disk`] contract. A path that is absolute
//! or contains a `..` component is refused, so the core can never reach outside the root (a
//! symlink planted inside the root by someone else is not guarded against).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use sluice_core::disk::{Disk, DiskError};

#[cfg(target_os = "linux")]
mod vectored;

/// How many open file handles the cache keeps by default; past this, the first-named one is
/// closed (and reopened on its next use).
///
/// A partition has a few live files (the active segment and its indexes). The default stays well
/// under the common soft limit of 1024 descriptors; a broker with many partitions raises both
/// with [`FileDisk::with_open_files_max`].
pub const OPEN_FILES_MAX_DEFAULT: usize = 256;

/// Linux's `ENOSPC`, for platforms whose error does not map to [`ErrorKind::StorageFull`].
const ENOSPC: i32 = 28;

/// A [`Disk`] over the files under one root directory, caching open handles so that appends
/// do not reopen their file.
#[derive(Debug)]
pub struct FileDisk {
    root: PathBuf,
    // Shared, so that a Fetch answer being sent from a segment keeps its handle (and the
    // file's bytes, even once removed) after the cache closes it.
    open: BTreeMap<String, Arc<File>>,
    open_files_max: usize,
}

impl FileDisk {
    /// Opens a disk rooted at `root`, creating the directory (and its parents) if missing.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<FileDisk> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        let open = BTreeMap::new();
        Ok(FileDisk {
            root,
            open,
            open_files_max: OPEN_FILES_MAX_DEFAULT,
        })
    }

    /// Sets how many file handles the cache may keep open (at least one).
    pub fn with_open_files_max(mut self, open_files_max: usize) -> FileDisk {
        assert!(
            open_files_max >= 1,
            "the handle cache needs room for one file"
        );
        self.open_files_max = open_files_max;
        while self.open.len() > open_files_max {
            self.open.pop_first();
        }
        self
    }

    /// The root directory every path is relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real location of `path`, after checking that it stays inside the root. The empty
    /// path names the root itself (useful for directories only).
    fn resolve(&self, path: &str) -> Result<PathBuf, DiskError> {
        let relative = Path::new(path);
        for component in relative.components() {
            match component {
                Component::Normal(_) | Component::CurDir => {}
                _ => return Err(DiskError::Io(format!("{path}: path escapes the disk root"))),
            }
        }
        Ok(self.root.join(relative))
    }

    /// The cached handle for `path`, opening (never creating) the file on a miss.
    fn handle(&mut self, path: &str) -> Result<&File, DiskError> {
        if !self.open.contains_key(path) {
            let real = self.resolve(path)?;
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&real)
                .map_err(|error| disk_error(path, &error))?;
            self.cache(path, file);
        }
        Ok(&self.open[path])
    }

    /// A shared handle to `path`, for sending its bytes from another task.
    pub fn shared_handle(&mut self, path: &str) -> Result<Arc<File>, DiskError> {
        self.handle(path)?;
        Ok(Arc::clone(&self.open[path]))
    }

    /// A directory, opened for syncing its names.
    pub fn open_dir(&mut self, dir: &str) -> Result<File, DiskError> {
        let real = self.resolve(dir)?;
        File::open(real).map_err(|error| disk_error(dir, &error))
    }

    /// Closes the cached handle of `path`, if any: the next use reopens it by name.
    pub fn close(&mut self, path: &str) {
        self.open.remove(path);
    }

    /// Adds an open handle to the cache, closing another one first when the cache is full.
    fn cache(&mut self, path: &str, file: File) {
        if self.open.len() >= self.open_files_max && !self.open.contains_key(path) {
            self.open.pop_first();
        }
        self.open.insert(path.to_owned(), Arc::new(file));
        assert!(self.open.len() <= self.open_files_max);
    }
}

impl Disk for FileDisk {
    fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError> {
        let real = self.resolve(dir)?;
        fs::create_dir_all(real).map_err(|error| disk_error(dir, &error))
    }

    fn remove_empty_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        let real = self.resolve(dir)?;
        fs::remove_dir(real).map_err(|error| disk_error(dir, &error))
    }

    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError> {
        let real = self.resolve(dir)?;
        let mut names = Vec::new();
        for entry in fs::read_dir(real).map_err(|error| disk_error(dir, &error))? {
            let entry = entry.map_err(|error| disk_error(dir, &error))?;
            let kind = entry.file_type().map_err(|error| disk_error(dir, &error))?;
            if !kind.is_file() {
                continue;
            }
            // A name the contract cannot express is reported rather than silently hidden.
            let name = entry.file_name().into_string().map_err(|name| {
                DiskError::Io(format!(
                    "{dir}: file name is not UTF-8: {}",
                    name.to_string_lossy()
                ))
            })?;
            names.push(name);
        }
        names.sort_unstable();
        Ok(names)
    }

    fn create(&mut self, path: &str) -> Result<(), DiskError> {
        let real = self.resolve(path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(real)
            .map_err(|error| disk_error(path, &error))?;
        self.cache(path, file);
        Ok(())
    }

    fn len(&mut self, path: &str) -> Result<u64, DiskError> {
        let metadata = match self.open.get(path) {
            Some(file) => file.metadata(),
            None => fs::metadata(self.resolve(path)?),
        };
        Ok(metadata.map_err(|error| disk_error(path, &error))?.len())
    }

    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        let file = self.handle(path)?;
        read_full_at(file, offset, buf).map_err(|error| disk_error(path, &error))
    }

    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        // `write_all_at` loops over short writes and retries `Interrupted`; a write past the end
        // leaves a hole, which reads as zeros.
        let file = self.handle(path)?;
        file.write_all_at(data, offset)
            .map_err(|error| disk_error(path, &error))
    }

    /// One `pwritev` for a log append's stamped header bytes and the request's own bytes,
    /// which would otherwise have to be joined in a copy first.
    #[cfg(target_os = "linux")]
    fn write_vectored_at(
        &mut self,
        path: &str,
        offset: u64,
        parts: &[&[u8]],
    ) -> Result<(), DiskError> {
        let file = self.handle(path)?;
        vectored::write_all_vectored_at(file, offset, parts)
            .map_err(|error| disk_error(path, &error))
    }

    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        let file = self.handle(path)?;
        file.set_len(len).map_err(|error| disk_error(path, &error))
    }

    fn sync(&mut self, path: &str) -> Result<(), DiskError> {
        // `fdatasync` suffices for rule 2: it flushes the data and every piece of metadata needed
        // to read it back, which includes a changed file size (after an append or a truncate).
        // It skips only timestamps, which nothing here depends on.
        let file = self.handle(path)?;
        file.sync_data().map_err(|error| disk_error(path, &error))
    }

    fn remove(&mut self, path: &str) -> Result<(), DiskError> {
        let real = self.resolve(path)?;
        self.open.remove(path);
        fs::remove_file(real).map_err(|error| disk_error(path, &error))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        let real_from = self.resolve(from)?;
        let real_to = self.resolve(to)?;
        self.open.remove(from);
        self.open.remove(to);
        fs::rename(real_from, real_to).map_err(|error| disk_error(from, &error))
    }

    fn sync_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        let directory = self.open_dir(dir)?;
        directory
            .sync_all()
            .map_err(|error| disk_error(dir, &error))
    }
}

/// Reads until `buf` is full or the file ends, retrying interrupted reads; returns the count.
fn read_full_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(read) => done += read,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    assert!(done <= buf.len());
    Ok(done)
}

/// Maps an OS error on `path` to the contract's [`DiskError`].
pub(crate) fn disk_error(path: &str, error: &io::Error) -> DiskError {
    match error.kind() {
        ErrorKind::NotFound => DiskError::NotFound(path.to_owned()),
        ErrorKind::AlreadyExists => DiskError::AlreadyExists(path.to_owned()),
        ErrorKind::StorageFull => DiskError::NoSpace,
        _ if error.raw_os_error() == Some(ENOSPC) => DiskError::NoSpace,
        _ => DiskError::Io(format!("{path}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::disk::read_exact_at;

    fn disk() -> (tempfile::TempDir, FileDisk) {
        let dir = tempfile::tempdir().unwrap();
        let disk = FileDisk::open(dir.path().join("root")).unwrap();
        (dir, disk)
    }

    fn contents(disk: &mut FileDisk, path: &str) -> Vec<u8> {
        let mut buf = vec![0; disk.len(path).unwrap() as usize];
        read_exact_at(disk, path, 0, &mut buf).unwrap();
        buf
    }

    #[test]
    fn open_creates_the_root() {
        let (_dir, disk) = disk();
        assert!(disk.root().is_dir());
    }

    #[test]
    fn read_sees_write_and_gap_reads_as_zeros() {
        let (_dir, mut disk) = disk();
        disk.create_dir_all("p-0").unwrap();
        disk.create("p-0/a.log").unwrap();
        disk.write_at("p-0/a.log", 0, b"hello").unwrap();
        disk.write_at("p-0/a.log", 8, b"end").unwrap();
        assert_eq!(disk.len("p-0/a.log").unwrap(), 11);
        assert_eq!(contents(&mut disk, "p-0/a.log"), b"hello\0\0\0end");
        disk.sync("p-0/a.log").unwrap();
        disk.sync_dir("p-0").unwrap();
    }

    #[test]
    fn a_vectored_write_stores_its_parts_joined() {
        let (_dir, mut disk) = disk();
        disk.create("a").unwrap();
        disk.write_at("a", 0, b"0123456789").unwrap();
        let parts: [&[u8]; 4] = [b"ab", b"", b"cde", b"fghijklm"];
        disk.write_vectored_at("a", 4, &parts).unwrap();
        assert_eq!(contents(&mut disk, "a"), b"0123abcdefghijklm");
        assert_eq!(
            disk.write_vectored_at("x", 0, &parts),
            Err(DiskError::NotFound("x".into()))
        );
    }

    #[test]
    fn read_past_the_end_is_short() {
        let (_dir, mut disk) = disk();
        disk.create("a").unwrap();
        disk.write_at("a", 0, b"abcdef").unwrap();
        let mut buf = [0xff; 10];
        assert_eq!(disk.read_at("a", 4, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(disk.read_at("a", 100, &mut buf).unwrap(), 0);
    }

    #[test]
    fn handles_opened_by_another_instance_see_the_same_file() {
        let (_dir, mut disk) = disk();
        disk.create("a").unwrap();
        disk.write_at("a", 0, b"abc").unwrap();
        let mut other = FileDisk::open(disk.root()).unwrap();
        assert_eq!(contents(&mut other, "a"), b"abc");
    }

    #[test]
    fn truncate_cuts_and_zero_extends() {
        let (_dir, mut disk) = disk();
        disk.create("a").unwrap();
        disk.write_at("a", 0, b"abcdef").unwrap();
        disk.truncate("a", 2).unwrap();
        assert_eq!(contents(&mut disk, "a"), b"ab");
        disk.truncate("a", 4).unwrap();
        assert_eq!(contents(&mut disk, "a"), b"ab\0\0");
    }

    #[test]
    fn rename_replaces_the_target() {
        let (_dir, mut disk) = disk();
        disk.create("old").unwrap();
        disk.write_at("old", 0, b"new contents").unwrap();
        disk.create("target").unwrap();
        disk.write_at("target", 0, b"stale").unwrap();
        disk.rename("old", "target").unwrap();
        assert_eq!(contents(&mut disk, "target"), b"new contents");
        assert_eq!(disk.len("old"), Err(DiskError::NotFound("old".into())));
        assert_eq!(disk.list("").unwrap(), vec!["target".to_owned()]);
    }

    #[test]
    fn only_empty_directories_are_removed() {
        let (_dir, mut disk) = disk();
        disk.create_dir_all("d").unwrap();
        disk.create("d/a").unwrap();
        assert!(disk.remove_empty_dir("d").is_err());
        disk.remove("d/a").unwrap();
        disk.remove_empty_dir("d").unwrap();
        assert!(matches!(disk.list("d"), Err(DiskError::NotFound(_))));
    }

    #[test]
    fn list_is_sorted_and_holds_files_only() {
        let (_dir, mut disk) = disk();
        disk.create_dir_all("d/sub").unwrap();
        for name in ["d/b", "d/a", "d/c.index", "d/B"] {
            disk.create(name).unwrap();
        }
        assert_eq!(disk.list("d").unwrap(), ["B", "a", "b", "c.index"]);
        disk.remove("d/a").unwrap();
        assert_eq!(disk.list("d").unwrap(), ["B", "b", "c.index"]);
    }

    #[test]
    fn missing_files_are_not_found() {
        let (_dir, mut disk) = disk();
        let not_found = |path: &str| DiskError::NotFound(path.to_owned());
        let mut buf = [0; 4];
        assert_eq!(disk.read_at("x", 0, &mut buf).unwrap_err(), not_found("x"));
        assert_eq!(disk.write_at("x", 0, b"a").unwrap_err(), not_found("x"));
        assert_eq!(disk.len("x").unwrap_err(), not_found("x"));
        assert_eq!(disk.truncate("x", 0).unwrap_err(), not_found("x"));
        assert_eq!(disk.sync("x").unwrap_err(), not_found("x"));
        assert_eq!(disk.remove("x").unwrap_err(), not_found("x"));
        assert_eq!(disk.rename("x", "y").unwrap_err(), not_found("x"));
        assert_eq!(disk.list("nodir").unwrap_err(), not_found("nodir"));
        assert_eq!(disk.sync_dir("nodir").unwrap_err(), not_found("nodir"));
        assert_eq!(disk.create("nodir/a").unwrap_err(), not_found("nodir/a"));
    }

    #[test]
    fn create_refuses_an_existing_file() {
        let (_dir, mut disk) = disk();
        disk.create("a").unwrap();
        disk.write_at("a", 0, b"keep").unwrap();
        assert_eq!(disk.create("a"), Err(DiskError::AlreadyExists("a".into())));
        assert_eq!(contents(&mut disk, "a"), b"keep");
    }

    #[test]
    fn removed_file_is_gone_even_with_a_cached_handle() {
        let (_dir, mut disk) = disk();
        disk.create("a").unwrap();
        disk.write_at("a", 0, b"abc").unwrap();
        disk.remove("a").unwrap();
        assert_eq!(
            disk.write_at("a", 0, b"x"),
            Err(DiskError::NotFound("a".into()))
        );
        disk.create("a").unwrap();
        assert_eq!(disk.len("a").unwrap(), 0);
    }

    #[test]
    fn paths_cannot_escape_the_root() {
        let (dir, mut disk) = disk();
        std::fs::write(dir.path().join("outside"), b"secret").unwrap();
        let escapes = ["../outside", "a/../../outside", "/etc/passwd", "a/.."];
        for path in escapes {
            assert!(matches!(disk.create(path), Err(DiskError::Io(_))), "{path}");
            assert!(matches!(disk.len(path), Err(DiskError::Io(_))), "{path}");
            assert!(matches!(disk.remove(path), Err(DiskError::Io(_))), "{path}");
            assert!(matches!(disk.list(path), Err(DiskError::Io(_))), "{path}");
            assert!(
                matches!(disk.rename("a", path), Err(DiskError::Io(_))),
                "{path}"
            );
        }
        assert_eq!(
            std::fs::read(dir.path().join("outside")).unwrap(),
            b"secret"
        );
    }

    #[test]
    fn os_errors_map_to_the_contract() {
        let no_space = io::Error::from_raw_os_error(ENOSPC);
        assert_eq!(disk_error("a", &no_space), DiskError::NoSpace);
        let full = io::Error::from(ErrorKind::StorageFull);
        assert_eq!(disk_error("a", &full), DiskError::NoSpace);
        let other = io::Error::other("boom");
        assert_eq!(disk_error("a", &other), DiskError::Io("a: boom".into()));
    }

    #[test]
    fn the_handle_cache_is_bounded() {
        let (_dir, disk) = disk();
        let mut disk = disk.with_open_files_max(4);
        for index in 0..10 {
            let path = format!("f{index:05}");
            disk.create(&path).unwrap();
            disk.write_at(&path, 0, b"x").unwrap();
        }
        assert_eq!(disk.open.len(), 4);
        assert_eq!(contents(&mut disk, "f00000"), b"x");
        assert_eq!(disk.open.len(), 4);
    }
}
