//! The Raft log: entries in memory, mirrored in one append-only file.
//!
//! The file `log` holds length-prefixed, CRC-32C-checked records, one per entry, with
//! consecutive indices. Records before the snapshot may linger at the front of the file until
//! the next compaction rewrites it; they are skipped when the log is opened. Every change is
//! synced before the call returns, so a caller may acknowledge entries as soon as it does
//! (Raft Figure 2: "respond after persisting").
//!
//! Record layout, big-endian: `length: u32` (of what follows the CRC), `crc: u32` (CRC-32C of
//! what follows it), `term: u64`, `index: u64`, `data`.

use super::error::RaftError;
use super::message::Entry;
use super::storage::remove_if_present;
use crate::disk::{read_exact_at, Disk, DiskError};
use crate::record::crc32c;

/// File name of the log inside the node's directory.
pub const LOG_NAME: &str = "log";

const PREFIX_BYTES: usize = 4 + 4;
const BODY_HEADER_BYTES: usize = 8 + 8;

/// What opening the log found and repaired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogRecovery {
    /// Bytes cut from the end of the file: a torn or corrupt tail, never acknowledged.
    pub tail_cut_bytes: u64,
    /// Entries discarded because they conflict with the snapshot (a crash while installing
    /// one).
    pub discarded_for_snapshot: u64,
}

/// The log of one node. Indices run from `snapshot_index + 1` to `last_index()`.
#[derive(Debug)]
pub struct RaftLog {
    path: String,
    snapshot_index: u64,
    snapshot_term: u64,
    entries: Vec<Entry>,
    /// File position of each entry's record, parallel to `entries`.
    offsets: Vec<u64>,
    /// The end of the last record: where the next one goes.
    file_len: u64,
    /// A rewrite of the file under way (see [`RaftLog::freeze`]): nothing is written to it
    /// until the rewrite is done.
    frozen: Option<Frozen>,
}

/// The file is being rewritten with the entries the log holds after a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frozen {
    /// The rewrite's contents were handed out ([`RaftLog::rewrite`]).
    issued: bool,
    /// How many leading entries the rewritten file holds (fewer after a truncation).
    kept: usize,
    /// How many entries it was written with.
    written: usize,
}

impl RaftLog {
    /// Opens (creating if needed) the log in `dir`, which must exist, under the snapshot
    /// `(snapshot_index, snapshot_term)` (zeros for none). Cuts a torn or corrupt tail and drops
    /// entries that conflict with the snapshot, durably.
    pub fn open<D: Disk + ?Sized>(
        disk: &mut D,
        dir: &str,
        snapshot_index: u64,
        snapshot_term: u64,
    ) -> Result<(RaftLog, LogRecovery), RaftError> {
        let path = format!("{dir}/{LOG_NAME}");
        remove_if_present(disk, &format!("{path}.tmp"))?;
        let bytes = match disk.len(&path) {
            Ok(len) => read_all(disk, &path, len)?,
            Err(DiskError::NotFound(_)) => {
                disk.create(&path)?;
                disk.sync_dir(dir)?;
                Vec::new()
            }
            Err(error) => return Err(error.into()),
        };
        let (entries, offsets, good_len) = parse(&bytes);
        let mut log = RaftLog {
            path,
            snapshot_index,
            snapshot_term,
            entries,
            offsets,
            file_len: good_len,
            frozen: None,
        };
        let mut recovery = LogRecovery {
            tail_cut_bytes: bytes.len() as u64 - good_len,
            ..LogRecovery::default()
        };
        if recovery.tail_cut_bytes > 0 {
            disk.truncate(&log.path, good_len)?;
            disk.sync(&log.path)?;
        }
        recovery.discarded_for_snapshot = log.reconcile_with_snapshot(disk)?;
        log.check();
        Ok((log, recovery))
    }

    /// Drops entries the snapshot covers; discards the whole log if it contradicts the
    /// snapshot. Returns how many entries were discarded for contradicting it.
    fn reconcile_with_snapshot<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
    ) -> Result<u64, RaftError> {
        let Some(first) = self.entries.first().map(|entry| entry.index) else {
            return Ok(0);
        };
        if first > self.snapshot_index + 1 {
            return Err(RaftError::Corrupt(format!(
                "{}: starts at index {first}, after snapshot index {}",
                self.path, self.snapshot_index
            )));
        }
        let at_snapshot = self
            .entries
            .iter()
            .find(|entry| entry.index == self.snapshot_index);
        if at_snapshot.is_some_and(|entry| entry.term != self.snapshot_term) {
            let discarded = self.entries.len() as u64;
            self.clear(disk)?;
            return Ok(discarded);
        }
        let covered = self
            .entries
            .partition_point(|entry| entry.index <= self.snapshot_index);
        self.entries.drain(..covered);
        self.offsets.drain(..covered);
        Ok(0)
    }

    /// Index of the first entry held (one past the snapshot).
    pub fn first_index(&self) -> u64 {
        self.snapshot_index + 1
    }

    /// Index of the last entry, or the snapshot's when the log is empty.
    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.len() as u64
    }

    /// Term of the last entry, or the snapshot's.
    pub fn last_term(&self) -> u64 {
        self.entries
            .last()
            .map_or(self.snapshot_term, |entry| entry.term)
    }

    /// The snapshot's index and term.
    pub fn snapshot(&self) -> (u64, u64) {
        (self.snapshot_index, self.snapshot_term)
    }

    /// The term of the entry at `index`, if known: index 0 has term 0, the snapshot's index has
    /// the snapshot's term, and compacted or missing entries have none.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|entry| entry.term)
    }

    /// The entry at `index`, if held.
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        let position = index.checked_sub(self.first_index())?;
        self.entries.get(usize::try_from(position).ok()?)
    }

    /// Up to `count_max` entries from `from`, with at most `bytes_max` data bytes unless the
    /// first alone is larger.
    pub fn entries_from(&self, from: u64, count_max: usize, bytes_max: usize) -> Vec<Entry> {
        assert!(
            from >= self.first_index(),
            "entries before the snapshot are gone"
        );
        assert!(count_max > 0);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for index in from..=self.last_index() {
            let entry = self.entry(index).expect("held entry");
            if out.len() == count_max || (!out.is_empty() && bytes + entry.data.len() > bytes_max) {
                break;
            }
            bytes += entry.data.len();
            out.push(entry.clone());
        }
        out
    }

    /// The last index whose entry has `term`, if the log (or the snapshot) holds one.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let found = self.entries.iter().rev().find(|entry| entry.term == term);
        match found {
            Some(entry) => Some(entry.index),
            None => (self.snapshot_term == term && self.snapshot_index > 0)
                .then_some(self.snapshot_index),
        }
    }

    /// The first held index whose entry has the same term as the entry at `index`.
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let term = self.term_at(index).expect("a held index");
        let mut first = index;
        while first > self.first_index() && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Appends `entries` (which must continue the log) to the page cache; the owner asks for
    /// the sync.
    pub fn append<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        entries: &[Entry],
    ) -> Result<(), DiskError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        assert_eq!(
            first.index,
            self.last_index() + 1,
            "entries must continue the log"
        );
        assert!(
            first.term >= self.last_term(),
            "terms never decrease along the log"
        );
        let mut bytes = Vec::new();
        for entry in entries {
            self.offsets.push(self.file_len + bytes.len() as u64);
            encode(entry, &mut bytes);
            self.entries.push(entry.clone());
        }
        // While the file is rewritten, the entries wait in memory for [`RaftLog::thaw`].
        if self.frozen.is_none() {
            disk.write_at(&self.path, self.file_len, &bytes)?;
        }
        self.file_len += bytes.len() as u64;
        self.check();
        Ok(())
    }

    /// Whether a rewrite of the file is under way: appends are not written, and the owner
    /// holds back what would acknowledge them.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Moves the log under a snapshot `(index, term)` that is not durable yet, in memory: keeps
    /// the entries after it when the log agrees with it at `index` (Raft §7), else discards
    /// them all. The file is rewritten once the snapshot is durable ([`RaftLog::rewrite`]),
    /// and nothing is written to it until that rewrite is done ([`RaftLog::thaw`]): until
    /// then the file still holds every entry it held, which opening reconciles with whichever
    /// snapshot a crash left.
    pub fn freeze(&mut self, index: u64, term: u64) {
        assert!(index > self.snapshot_index, "snapshots move forward");
        assert!(self.frozen.is_none(), "one rewrite at a time");
        if self.term_at(index) == Some(term) {
            let covered = usize::try_from(index - self.snapshot_index).expect("small log");
            self.entries.drain(..covered);
        } else {
            self.entries.clear();
        }
        self.snapshot_index = index;
        self.snapshot_term = term;
        self.offsets.clear();
        let mut len = 0u64;
        let mut scratch = Vec::new();
        for entry in &self.entries {
            self.offsets.push(len);
            scratch.clear();
            encode(entry, &mut scratch);
            len += scratch.len() as u64;
        }
        self.file_len = len;
        self.frozen = Some(Frozen {
            issued: false,
            kept: 0,
            written: 0,
        });
        self.check();
    }

    /// The snapshot the freeze was for is durable: the new contents of the file, every entry
    /// held now, for the owner to replace it with.
    pub fn rewrite(&mut self) -> Vec<u8> {
        let frozen = self.frozen.as_mut().expect("frozen");
        assert!(!frozen.issued, "rewritten once");
        let mut bytes = Vec::new();
        for entry in &self.entries {
            encode(entry, &mut bytes);
        }
        frozen.issued = true;
        frozen.kept = self.entries.len();
        frozen.written = self.entries.len();
        bytes
    }

    /// The rewrite is durable: the entries appended since are written after the ones it
    /// holds (a truncation since cuts the file first). Returns whether any were written, for
    /// the owner to ask for their sync.
    pub fn thaw<D: Disk + ?Sized>(&mut self, disk: &mut D) -> Result<bool, DiskError> {
        let frozen = self.frozen.take().expect("frozen");
        assert!(frozen.issued, "the rewrite was handed out");
        if frozen.kept < frozen.written {
            let cut_at = self
                .offsets
                .get(frozen.kept)
                .copied()
                .unwrap_or(self.file_len);
            disk.truncate(&self.path, cut_at)?;
        }
        let mut bytes = Vec::new();
        for entry in &self.entries[frozen.kept..] {
            encode(entry, &mut bytes);
        }
        if bytes.is_empty() {
            return Ok(false);
        }
        let at = self.offsets[frozen.kept];
        disk.write_at(&self.path, at, &bytes)?;
        Ok(true)
    }

    /// The log file's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Removes the entries from `index` on. The caller appends right after, and that append's
    /// sync makes the truncation durable too: truncation and the writes after it reach the disk
    /// in order (Disk contract rule 3), and a truncation lost to a crash only brings back
    /// entries that were never acknowledged as matching.
    pub fn truncate_from<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        index: u64,
    ) -> Result<(), DiskError> {
        assert!(
            index > self.snapshot_index,
            "the snapshot's entries are committed"
        );
        assert!(index <= self.last_index(), "nothing to truncate");
        let keep = usize::try_from(index - self.first_index()).expect("small log");
        let cut_at = self.offsets[keep];
        self.entries.truncate(keep);
        self.offsets.truncate(keep);
        self.file_len = cut_at;
        match &mut self.frozen {
            // The file is cut when the rewrite is done.
            Some(frozen) => frozen.kept = frozen.kept.min(keep),
            None => disk.truncate(&self.path, cut_at)?,
        }
        self.check();
        Ok(())
    }

    fn clear<D: Disk + ?Sized>(&mut self, disk: &mut D) -> Result<(), DiskError> {
        self.entries.clear();
        self.offsets.clear();
        self.file_len = 0;
        disk.truncate(&self.path, 0)?;
        disk.sync(&self.path)
    }

    fn check(&self) {
        assert_eq!(self.entries.len(), self.offsets.len());
        if let Some(first) = self.entries.first() {
            assert_eq!(
                first.index,
                self.snapshot_index + 1,
                "log continues the snapshot"
            );
            assert!(
                first.term >= self.snapshot_term,
                "terms never decrease along the log"
            );
        }
        assert!(self
            .offsets
            .last()
            .is_none_or(|offset| *offset < self.file_len));
    }
}

fn read_all<D: Disk + ?Sized>(disk: &mut D, path: &str, len: u64) -> Result<Vec<u8>, DiskError> {
    let len = usize::try_from(len).map_err(|_| DiskError::Io(format!("{path}: too large")))?;
    let mut bytes = vec![0u8; len];
    read_exact_at(disk, path, 0, &mut bytes)?;
    Ok(bytes)
}

fn encode(entry: &Entry, out: &mut Vec<u8>) {
    let body_len = BODY_HEADER_BYTES + entry.data.len();
    let length = u32::try_from(body_len).expect("entry_bytes_max keeps entries small");
    let body_start = out.len() + PREFIX_BYTES;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&entry.term.to_be_bytes());
    out.extend_from_slice(&entry.index.to_be_bytes());
    out.extend_from_slice(&entry.data);
    let crc = crc32c(&out[body_start..]);
    out[body_start - 4..body_start].copy_from_slice(&crc.to_be_bytes());
}

/// Parses records from the start of `bytes` until the end or the first record that is torn,
/// fails its CRC, or does not continue the one before it. Returns the entries, their offsets
/// and the length of the good prefix.
fn parse(bytes: &[u8]) -> (Vec<Entry>, Vec<u64>, u64) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut offsets = Vec::new();
    let mut at = 0usize;
    while let Some((entry, len)) = parse_one(&bytes[at..]) {
        let continues = entries
            .last()
            .is_none_or(|last| entry.index == last.index + 1 && entry.term >= last.term);
        if !continues || entry.index == 0 || entry.term == 0 {
            break;
        }
        offsets.push(at as u64);
        entries.push(entry);
        at += len;
    }
    (entries, offsets, at as u64)
}

fn parse_one(bytes: &[u8]) -> Option<(Entry, usize)> {
    let prefix = bytes.get(..PREFIX_BYTES)?;
    let length = u32::from_be_bytes(prefix[0..4].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(prefix[4..8].try_into().ok()?);
    if length < BODY_HEADER_BYTES {
        return None;
    }
    let body = bytes.get(PREFIX_BYTES..PREFIX_BYTES.checked_add(length)?)?;
    if crc32c(body) != crc {
        return None;
    }
    let entry = Entry {
        term: u64::from_be_bytes(body[0..8].try_into().ok()?),
        index: u64::from_be_bytes(body[8..16].try_into().ok()?),
        data: body[BODY_HEADER_BYTES..].to_vec(),
    };
    Some((entry, PREFIX_BYTES + length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry {
            term,
            index,
            data: data.to_vec(),
        }
    }

    #[test]
    fn parse_stops_at_a_torn_or_corrupt_record() {
        let mut bytes = Vec::new();
        for index in 1..=3 {
            encode(&entry(index, 1, b"abc"), &mut bytes);
        }
        let whole = bytes.len() as u64;
        let (entries, offsets, good) = parse(&bytes);
        assert_eq!((entries.len(), offsets.len(), good), (3, 3, whole));
        let (entries, _, good) = parse(&bytes[..bytes.len() - 1]);
        assert_eq!(entries.len(), 2);
        assert_eq!(good, offsets[2]);
        let mut damaged = bytes.clone();
        damaged[offsets[1] as usize + 12] ^= 0x40;
        let (entries, _, good) = parse(&damaged);
        assert_eq!((entries.len(), good), (1, offsets[1]));
    }

    #[test]
    fn parse_stops_where_indices_or_terms_break() {
        let mut bytes = Vec::new();
        encode(&entry(1, 2, b""), &mut bytes);
        encode(&entry(3, 2, b""), &mut bytes);
        assert_eq!(parse(&bytes).0.len(), 1);
        let mut bytes = Vec::new();
        encode(&entry(1, 2, b""), &mut bytes);
        encode(&entry(2, 1, b""), &mut bytes);
        assert_eq!(parse(&bytes).0.len(), 1);
    }
}
