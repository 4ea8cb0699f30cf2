//! The simulated directory tree: which names point at which files, now and durably.
//!
//! Names follow rule 4 of the durability contract: `create`, `remove` and `rename` change the
//! current names at once and atomically, and become durable only when `sync_dir` is called on
//! their directory. Until then each such operation is logged, and a machine crash keeps or undoes
//! each one independently. A kept operation is replayed only if it still makes sense in the
//! rebuilt tree (a rename whose source creation was undone is undone too), so no file ever ends
//! up with two names or a rename loses both.
//!
//! Directories themselves are durable as soon as `create_dir_all` returns: the core creates
//! partition directories once, and modelling their loss adds nothing the file names do not.

use sluice_core::disk::DiskError;
use sluice_core::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Identifies a file's contents independently of its names (an inode number).
pub(crate) type InodeId = u64;

/// A name change not yet made durable by `sync_dir`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NameOp {
    Create {
        path: String,
        inode: InodeId,
    },
    Remove {
        path: String,
        inode: InodeId,
    },
    Rename {
        from: String,
        to: String,
        inode: InodeId,
    },
}

impl NameOp {
    fn touches(&self, dir: &str) -> bool {
        match self {
            NameOp::Create { path, .. } | NameOp::Remove { path, .. } => parent(path) == dir,
            NameOp::Rename { from, to, .. } => parent(from) == dir || parent(to) == dir,
        }
    }

    fn inode(&self) -> InodeId {
        match self {
            NameOp::Create { inode, .. }
            | NameOp::Remove { inode, .. }
            | NameOp::Rename { inode, .. } => *inode,
        }
    }
}

/// Directories and file names, current and durable.
#[derive(Clone, Debug)]
pub(crate) struct Namespace {
    /// Every directory; `""` is the root and always present.
    dirs: BTreeSet<String>,
    /// Current file names (what `list` and lookups see).
    names: BTreeMap<String, InodeId>,
    /// File names as a machine crash would find them if no pending operation survived.
    durable: BTreeMap<String, InodeId>,
    /// Name changes since their directory's last `sync_dir`, in issue order.
    pending: Vec<NameOp>,
}

impl Default for Namespace {
    fn default() -> Namespace {
        Namespace {
            dirs: BTreeSet::from([String::new()]),
            names: BTreeMap::new(),
            durable: BTreeMap::new(),
            pending: Vec::new(),
        }
    }
}

/// The directory part of a checked path (`""` for the root).
/// The entries of `map` directly in `dir`, found by their common prefix rather than by a
/// walk of every name (a broker holds thousands).
fn children<'a, V>(
    map: &'a BTreeMap<String, V>,
    dir: &'a str,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    let range = match dir.is_empty() {
        // Root names have no '/': every name is a candidate.
        true => map.range::<String, _>(..),
        // '0' follows '/': the range holds every path under `dir/`.
        false => map.range(format!("{dir}/")..format!("{dir}0")),
    };
    range.filter(move |(path, _)| parent(path) == dir)
}

pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Rejects paths the contract does not describe: absolute, empty components, `.` or `..`.
/// `""` is allowed only for directories (the root).
pub(crate) fn check_path(path: &str, is_dir: bool) -> Result<(), DiskError> {
    if path.is_empty() && is_dir {
        return Ok(());
    }
    let valid = !path.is_empty()
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if valid {
        Ok(())
    } else {
        Err(DiskError::Io(format!("{path:?}: invalid path")))
    }
}

impl Namespace {
    /// Creates `dir` and its parents.
    pub(crate) fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError> {
        check_path(dir, true)?;
        let mut prefix = String::new();
        for part in dir.split('/').filter(|part| !part.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.names.contains_key(&prefix) {
                return Err(DiskError::AlreadyExists(prefix));
            }
            self.dirs.insert(prefix.clone());
        }
        Ok(())
    }

    /// The sorted names of the files directly in `dir`.
    pub(crate) fn list(&self, dir: &str) -> Result<Vec<String>, DiskError> {
        check_path(dir, true)?;
        self.require_dir(dir)?;
        let listed = self
            .names
            .keys()
            .filter(|path| parent(path) == dir)
            .map(|path| path.rsplit('/').next().unwrap_or(path).to_string())
            .collect();
        Ok(listed)
    }

    /// The file `path` names now.
    pub(crate) fn lookup(&self, path: &str) -> Result<InodeId, DiskError> {
        // Every name was checked when it was made, so only a miss needs the check.
        if let Some(inode) = self.names.get(path) {
            return Ok(*inode);
        }
        check_path(path, false)?;
        Err(DiskError::NotFound(path.to_string()))
    }

    /// Names the new file `inode` as `path`.
    pub(crate) fn create(&mut self, path: &str, inode: InodeId) -> Result<(), DiskError> {
        check_path(path, false)?;
        self.require_dir(parent(path))?;
        if self.names.contains_key(path) || self.dirs.contains(path) {
            return Err(DiskError::AlreadyExists(path.to_string()));
        }
        self.names.insert(path.to_string(), inode);
        let path = path.to_string();
        self.pending.push(NameOp::Create { path, inode });
        Ok(())
    }

    /// Removes the name `path`, returning the file it named.
    pub(crate) fn remove(&mut self, path: &str) -> Result<InodeId, DiskError> {
        let inode = self.lookup(path)?;
        self.names.remove(path);
        let path = path.to_string();
        self.pending.push(NameOp::Remove { path, inode });
        Ok(inode)
    }

    /// Moves the name `from` to `to`, returning the file `to` named before, if any.
    pub(crate) fn rename(&mut self, from: &str, to: &str) -> Result<Option<InodeId>, DiskError> {
        let inode = self.lookup(from)?;
        check_path(to, false)?;
        self.require_dir(parent(to))?;
        if self.dirs.contains(to) {
            return Err(DiskError::Io(format!("{to}: is a directory")));
        }
        if from == to {
            return Ok(None);
        }
        self.names.remove(from);
        let replaced = self.names.insert(to.to_string(), inode);
        self.pending.push(NameOp::Rename {
            from: from.to_string(),
            to: to.to_string(),
            inode,
        });
        Ok(replaced)
    }

    /// Makes the names in `dir` durable. A rename between two directories is committed whole,
    /// as a journalling filesystem commits it in one transaction. Returns the files that lost
    /// a durable name here: only they may now have no name at all.
    pub(crate) fn sync_dir(&mut self, dir: &str) -> Result<Vec<InodeId>, DiskError> {
        check_path(dir, true)?;
        self.require_dir(dir)?;
        let gone: Vec<String> = children(&self.durable, dir)
            .map(|(p, _)| p.clone())
            .collect();
        let mut dropped: Vec<InodeId> = gone
            .iter()
            .filter_map(|path| self.durable.remove(path))
            .collect();
        for (path, inode) in children(&self.names, dir) {
            self.durable.insert(path.clone(), *inode);
        }
        let (committed, still_pending): (Vec<NameOp>, Vec<NameOp>) =
            self.pending.drain(..).partition(|op| op.touches(dir));
        self.pending = still_pending;
        for op in committed {
            match op {
                NameOp::Rename { from, to, inode } => {
                    // The side in `dir` was copied above; commit the other side too.
                    if parent(from.as_str()) != dir && self.durable.get(&from) == Some(&inode) {
                        self.durable.remove(&from);
                    }
                    if parent(to.as_str()) != dir {
                        dropped.extend(self.durable.insert(to, inode));
                    }
                }
                // A file created and removed between two syncs was never durable.
                NameOp::Remove { inode, .. } => dropped.push(inode),
                NameOp::Create { .. } => {}
            }
        }
        dropped.retain(|inode| !self.durable.values().any(|named| named == inode));
        Ok(dropped)
    }

    /// Whether any name, durable name or pending operation still refers to `inode`.
    pub(crate) fn refers_to(&self, inode: InodeId) -> bool {
        self.names.values().any(|named| *named == inode)
            || self.durable.values().any(|named| *named == inode)
            || self.pending.iter().any(|op| op.inode() == inode)
    }

    /// A machine crash: keeps or undoes each pending name change at random. Afterwards the
    /// rebuilt names are both current and durable.
    pub(crate) fn crash_machine(&mut self, rng: &mut impl Rng) {
        let mut rebuilt = self.durable.clone();
        for op in self.pending.drain(..) {
            if rng.chance(1, 2) {
                replay_kept(&mut rebuilt, op);
            }
        }
        self.names.clone_from(&rebuilt);
        self.durable = rebuilt;
    }

    /// Whether `inode` has a current name.
    pub(crate) fn is_named(&self, inode: InodeId) -> bool {
        self.names.values().any(|named| *named == inode)
    }

    /// Every file some name points at now, durably, or through a pending operation: the files
    /// whose contents must be kept.
    pub(crate) fn referenced(&self) -> BTreeSet<InodeId> {
        let mut all: BTreeSet<InodeId> = self.names.values().copied().collect();
        all.extend(self.durable.values().copied());
        all.extend(self.pending.iter().map(NameOp::inode));
        all
    }

    /// Current names and their files, sorted by path.
    pub(crate) fn names(&self) -> impl Iterator<Item = (&str, InodeId)> {
        self.names
            .iter()
            .map(|(path, inode)| (path.as_str(), *inode))
    }

    fn require_dir(&self, dir: &str) -> Result<(), DiskError> {
        if self.dirs.contains(dir) {
            Ok(())
        } else {
            Err(DiskError::NotFound(dir.to_string()))
        }
    }
}

/// Replays a kept operation onto the rebuilt names, only where it still applies: an operation
/// whose premise was undone (its file was never durably named) is undone with it.
fn replay_kept(rebuilt: &mut BTreeMap<String, InodeId>, op: NameOp) {
    match op {
        NameOp::Create { path, inode } => {
            let inode_named = rebuilt.values().any(|named| *named == inode);
            if !inode_named && !rebuilt.contains_key(&path) {
                rebuilt.insert(path, inode);
            }
        }
        NameOp::Remove { path, inode } => {
            if rebuilt.get(&path) == Some(&inode) {
                rebuilt.remove(&path);
            }
        }
        NameOp::Rename { from, to, inode } => {
            if rebuilt.get(&from) == Some(&inode) {
                rebuilt.remove(&from);
                rebuilt.insert(to, inode);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;

    fn names(namespace: &Namespace) -> Vec<(String, InodeId)> {
        namespace
            .names()
            .map(|(path, inode)| (path.to_string(), inode))
            .collect()
    }

    #[test]
    fn paths_are_checked() {
        assert!(check_path("a/b.log", false).is_ok());
        assert!(check_path("", true).is_ok());
        for bad in ["", "/a", "a/", "a//b", "a/./b", "../a"] {
            assert!(check_path(bad, false).is_err(), "{bad:?}");
        }
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("c"), "");
    }

    #[test]
    fn list_and_lookup() {
        let mut namespace = Namespace::default();
        namespace.create_dir_all("t-0/sub").expect("mkdir");
        namespace.create("t-0/b", 2).expect("create");
        namespace.create("t-0/a", 1).expect("create");
        namespace.create("t-0/sub/c", 3).expect("create");
        assert_eq!(namespace.list("t-0").expect("list"), vec!["a", "b"]);
        assert_eq!(namespace.list("").expect("list root"), Vec::<String>::new());
        assert!(matches!(
            namespace.list("nope"),
            Err(DiskError::NotFound(_))
        ));
        assert!(matches!(
            namespace.create("t-0/a", 9),
            Err(DiskError::AlreadyExists(_))
        ));
        assert!(matches!(
            namespace.create("x/a", 9),
            Err(DiskError::NotFound(_))
        ));
        assert_eq!(namespace.lookup("t-0/sub/c"), Ok(3));
        assert!(namespace.create_dir_all("t-0/a/deeper").is_err());
    }

    #[test]
    fn crash_outcomes_are_consistent() {
        // create a, sync_dir; then rename a -> b, create c, remove c's neighbour, all unsynced.
        let mut seen = BTreeSet::new();
        for seed in 0..200 {
            let mut namespace = Namespace::default();
            namespace.create("a", 1).expect("create");
            namespace.create("x", 2).expect("create");
            namespace.sync_dir("").expect("sync_dir");
            namespace.rename("a", "b").expect("rename");
            namespace.create("c", 3).expect("create");
            namespace.rename("c", "d").expect("rename");
            namespace.crash_machine(&mut SimRng::new(seed));
            let after = names(&namespace);
            let has = |path: &str| after.iter().any(|(name, _)| name == path);
            assert!(
                has("a") != has("b"),
                "seed {seed}: rename is atomic: {after:?}"
            );
            assert!(
                !(has("c") && has("d")),
                "seed {seed}: one name per file: {after:?}"
            );
            assert!(has("x"));
            seen.insert(after);
        }
        // a|b times {none, c, d}: every outcome occurs.
        assert_eq!(seen.len(), 6, "{seen:?}");
    }

    #[test]
    fn cross_directory_rename_commits_whole() {
        let mut namespace = Namespace::default();
        namespace.create_dir_all("x").expect("mkdir");
        namespace.create_dir_all("y").expect("mkdir");
        namespace.create("x/a", 1).expect("create");
        namespace.sync_dir("x").expect("sync_dir");
        namespace.rename("x/a", "y/b").expect("rename");
        namespace.sync_dir("y").expect("sync_dir");
        namespace.crash_machine(&mut SimRng::new(1));
        assert_eq!(names(&namespace), vec![("y/b".to_string(), 1)]);
    }
}
