//! The leader epoch cache: which leader epoch began at which offset of one partition's log.
//!
//! Kafka's `LeaderEpochFileCache`. A replica answers OffsetForLeaderEpoch from it and uses the
//! leader's answer to cut a divergent tail after a leader change (KIP-101, KIP-279), instead of
//! trusting the high watermark, which can lose acknowledged records or keep divergent ones.
//!
//! The cache is persisted in the log directory as `leader-epoch-checkpoint`, byte for byte
//! Kafka's text format so a Kafka data directory reads here and back:
//!
//! ```text
//! 0            <- format version
//! 2            <- entry count
//! 0 0          <- "epoch start_offset", one per line, each line ending in '\n'
//! 3 1200
//! ```
//!
//! Reading is stricter than Kafka's: the file must end in a newline, fields are separated by
//! exactly one space, numbers are unsigned decimal, the count must match, and entries must
//! strictly increase in both epoch and start offset. Anything else is
//! [`EpochCacheError::Corrupt`], so a torn or rotted file is rebuilt rather than half-trusted.

use core::fmt;

use crate::disk::{read_exact_at, Disk, DiskError};

const VERSION: &str = "0";
/// A real cache holds one short line per leader election; a larger file is damage, and reading
/// it whole would let a corrupted length allocate without bound.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// One leader epoch and the offset of its first record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    /// The leader epoch (non-negative).
    pub epoch: i32,
    /// The first offset written in this epoch (non-negative).
    pub start_offset: i64,
}

/// Why the cache could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochCacheError {
    /// The disk failed; the file may be fine, so the caller retries or stops, never rebuilds.
    Disk(DiskError),
    /// The file exists but does not parse (torn, rotted or hand-edited). Nothing in it can be
    /// trusted: the caller starts from [`LeaderEpochCache::new`], rebuilds the entries from the
    /// log's batches (or fetches them again) and flushes the result over the damaged file.
    Corrupt(String),
}

impl fmt::Display for EpochCacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpochCacheError::Disk(error) => write!(f, "leader epoch cache: {error}"),
            EpochCacheError::Corrupt(reason) => write!(f, "corrupt leader epoch cache: {reason}"),
        }
    }
}

impl std::error::Error for EpochCacheError {}

impl From<DiskError> for EpochCacheError {
    fn from(error: DiskError) -> Self {
        EpochCacheError::Disk(error)
    }
}

/// The epochs of one partition log, oldest first; both epochs and start offsets strictly
/// increase, which every method below keeps true.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// The file's name inside the log directory (Kafka's).
    pub const FILE_NAME: &'static str = "leader-epoch-checkpoint";
    /// The name the next version is written under before it is renamed into place.
    pub const TMP_FILE_NAME: &'static str = "leader-epoch-checkpoint.tmp";
    /// Kafka's `UNDEFINED_EPOCH`: OffsetForLeaderEpoch found no epoch to answer with.
    pub const UNDEFINED_EPOCH: i32 = -1;
    /// Kafka's `UNDEFINED_EPOCH_OFFSET`, sent with [`Self::UNDEFINED_EPOCH`].
    pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

    /// An empty cache: a new log, or the starting point of a rebuild.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the cache persisted in `dir`. A missing file is an empty cache, because a log that
    /// never had a leader has no epochs; a file that does not parse is
    /// [`EpochCacheError::Corrupt`] rather than an empty cache, so that damage is never
    /// mistaken for a log without epochs.
    pub fn load<D: Disk + ?Sized>(disk: &mut D, dir: &str) -> Result<Self, EpochCacheError> {
        let path = format!("{dir}/{}", Self::FILE_NAME);
        let len = match disk.len(&path) {
            Ok(len) => len,
            Err(DiskError::NotFound(_)) => return Ok(Self::new()),
            Err(error) => return Err(error.into()),
        };
        if len > MAX_FILE_BYTES {
            return Err(EpochCacheError::Corrupt(format!("{path}: {len} bytes")));
        }
        let mut bytes = vec![0u8; len as usize];
        read_exact_at(disk, &path, 0, &mut bytes)?;
        let entries = parse(&bytes)
            .map_err(|reason| EpochCacheError::Corrupt(format!("{path}: {reason}")))?;
        Ok(LeaderEpochCache { entries })
    }

    /// Records that `epoch` starts at `start_offset`; returns whether the cache changed.
    ///
    /// An epoch not above the latest is ignored: the latest epoch's start is fixed by its first
    /// append, and an older leader's epoch arriving late must not rewrite history. Entries
    /// starting at or after `start_offset` are dropped, because the new epoch's records replace
    /// whatever they described. Negative values are ignored (Kafka rejects them outright).
    ///
    /// Nothing is persisted: flush before the first record of the new epoch can become durable,
    /// or a crash could keep records whose epoch the cache no longer knows.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || start_offset < 0 || self.latest_epoch().is_some_and(|l| epoch <= l) {
            return false;
        }
        let keep = self.starting_before(start_offset);
        self.entries.truncate(keep);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// The epoch of the newest entry: the one the log is (or was last) written in.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|entry| entry.epoch)
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The epoch the record at `offset` was written in, if the cache reaches back that far.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let covering = self.starting_at_or_before(offset);
        covering.checked_sub(1).map(|at| self.entries[at].epoch)
    }

    /// OffsetForLeaderEpoch's answer for a follower whose log ends in `requested_epoch`: the
    /// largest epoch not above it and the offset where that epoch ended here, i.e. where the
    /// next higher epoch starts (or `log_end_offset` for the latest epoch, which has not ended).
    /// The follower truncates to that offset. An epoch below the first entry (its records
    /// were deleted here: DeleteRecords or retention dropped it from the cache) answers itself
    /// with the start of the first later epoch, as Kafka's `endOffsetFor` does: the follower
    /// keeps what it holds up to there, which the leader's log start has passed. An empty
    /// cache, or an epoch above the latest, answers `(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)`,
    /// telling the follower to fall back.
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch == Self::UNDEFINED_EPOCH {
            return (Self::UNDEFINED_EPOCH, Self::UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let not_above = self.entries.partition_point(|e| e.epoch <= requested_epoch);
        match (not_above.checked_sub(1), self.entries.get(not_above)) {
            (Some(floor), Some(next)) => (self.entries[floor].epoch, next.start_offset),
            // Found by leader-isolated seed 218: answering UNDEFINED sent the follower back to
            // its own log start, below the high watermark, while it stayed eligible (ELR).
            (None, Some(next)) => (requested_epoch, next.start_offset),
            _ => (Self::UNDEFINED_EPOCH, Self::UNDEFINED_EPOCH_OFFSET),
        }
    }

    /// After the log was truncated to `end_offset`, forgets epochs that now have no records;
    /// returns whether the cache changed. A negative offset is ignored, as in Kafka: it is an
    /// unknown position, not an instruction to forget everything.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        if end_offset < 0 {
            return false;
        }
        let keep = self.starting_before(end_offset);
        let changed = keep < self.entries.len();
        self.entries.truncate(keep);
        changed
    }

    /// After the log start moved to `start_offset`, drops epochs wholly before it and moves the
    /// start of the epoch covering it up to it, so no entry points at deleted records; returns
    /// whether the cache changed.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let covering = self.starting_at_or_before(start_offset);
        let Some(last_dropped) = covering.checked_sub(1) else {
            return false;
        };
        let changed = last_dropped > 0 || self.entries[0].start_offset != start_offset;
        self.entries.drain(..last_dropped);
        self.entries[0].start_offset = start_offset;
        changed
    }

    /// Forgets every entry (the log was deleted or is being rebuilt).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Durably replaces the file in `dir` with this cache, on the caller's thread
    /// ([`crate::disk::replace_file`]): a crash at any step leaves the old or the new file
    /// whole, never a mix. A replica hands the same contents ([`LeaderEpochCache::encode`]) to
    /// its driver instead.
    pub fn flush<D: Disk + ?Sized>(&self, disk: &mut D, dir: &str) -> Result<(), DiskError> {
        crate::disk::replace_file(disk, dir, Self::FILE_NAME, self.encode().as_bytes())
    }

    /// How many entries start before `offset`: the entries are sorted by start offset, so
    /// this is where a cut at `offset` falls.
    fn starting_before(&self, offset: i64) -> usize {
        self.entries.partition_point(|e| e.start_offset < offset)
    }

    /// How many entries start at or before `offset`; the last of them covers `offset`.
    fn starting_at_or_before(&self, offset: i64) -> usize {
        self.entries.partition_point(|e| e.start_offset <= offset)
    }

    /// The checkpoint file's contents for this cache.
    pub fn encode(&self) -> String {
        let mut text = format!("{VERSION}\n{}\n", self.entries.len());
        for entry in &self.entries {
            text += &format!("{} {}\n", entry.epoch, entry.start_offset);
        }
        text
    }
}

/// Parses the whole file; the error says what was wrong, for the operator's log.
fn parse(bytes: &[u8]) -> Result<Vec<EpochEntry>, &'static str> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8")?;
    let body = text.strip_suffix('\n').ok_or("does not end in a newline")?;
    let mut lines = body.split('\n');
    if lines.next() != Some(VERSION) {
        return Err("unknown version");
    }
    let count: usize = lines.next().and_then(number).ok_or("bad entry count")?;
    let mut entries: Vec<EpochEntry> = Vec::new();
    for line in lines {
        let (epoch, offset) = line.split_once(' ').ok_or("entry is not two fields")?;
        let entry = EpochEntry {
            epoch: number(epoch).ok_or("bad epoch")?,
            start_offset: number(offset).ok_or("bad start offset")?,
        };
        if let Some(last) = entries.last() {
            if entry.epoch <= last.epoch || entry.start_offset <= last.start_offset {
                return Err("entries do not strictly increase");
            }
        }
        entries.push(entry);
    }
    if entries.len() != count {
        return Err("entry count does not match the entries");
    }
    Ok(entries)
}

/// Unsigned decimal only: `parse` alone would accept a sign, and a negative epoch or offset
/// is never written.
fn number<T: std::str::FromStr>(field: &str) -> Option<T> {
    let digits = !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| field.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem_disk::MemDisk;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    const DIR: &str = "t-0";
    const FILE: &str = "t-0/leader-epoch-checkpoint";

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::new();
        for &(epoch, start) in entries {
            assert!(cache.assign(epoch, start));
        }
        cache
    }

    fn increasing(entries: &[EpochEntry]) -> bool {
        let up =
            |a: &EpochEntry, b: &EpochEntry| a.epoch < b.epoch && a.start_offset < b.start_offset;
        entries.windows(2).all(|w| up(&w[0], &w[1]))
    }

    fn load_bytes(bytes: &[u8]) -> Result<LeaderEpochCache, EpochCacheError> {
        let mut disk = MemDisk::default();
        disk.set_contents(FILE, bytes.to_vec());
        LeaderEpochCache::load(&mut disk, DIR)
    }

    #[test]
    fn file_is_kafkas_text_format_and_round_trips() {
        let mut disk = MemDisk::default();
        let original = cache(&[(0, 0), (3, 1200), (7, 5000)]);
        original.flush(&mut disk, DIR).unwrap();
        assert_eq!(disk.contents(FILE).unwrap(), b"0\n3\n0 0\n3 1200\n7 5000\n");
        assert_eq!(LeaderEpochCache::load(&mut disk, DIR).unwrap(), original);
        LeaderEpochCache::new().flush(&mut disk, DIR).unwrap();
        assert_eq!(disk.contents(FILE).unwrap(), b"0\n0\n");
        assert_eq!(disk.contents("t-0/leader-epoch-checkpoint.tmp"), None);
    }

    #[test]
    fn missing_file_is_empty_and_disk_errors_are_not_corruption() {
        let mut disk = MemDisk::default();
        let empty = LeaderEpochCache::load(&mut disk, DIR).unwrap();
        assert_eq!(empty, LeaderEpochCache::new());
        disk.set_contents(FILE, b"0\n0\n".to_vec());
        disk.fail_after_calls = Some(0);
        let error = LeaderEpochCache::load(&mut disk, DIR).unwrap_err();
        assert!(matches!(error, EpochCacheError::Disk(DiskError::Io(_))));
    }

    #[test]
    fn malformed_files_are_corrupt() {
        let texts = "|\n|0\n|1\n0\n|0\n1\n|0\n1\n3 10|0\n2\n3 10\n|0\n1\n3  10\n|0\n1\n3\t10\n\
            |0\n1\n3 10 7\n|0\n1\n-3 10\n|0\n1\n+3 10\n|0\n1\n3 x\n|0\n1\n2147483648 10\n\
            |0\n1\n3 10\r\n|0\n2\n3 10\n3 20\n|0\n2\n3 10\n4 10\n|0\n2\n4 10\n3 20\n\
            |0\n1\n3 10\n\n|0\n-1\n";
        let binary: &[u8] = b"\xff\n0\n";
        for bytes in texts.split('|').map(str::as_bytes).chain([binary]) {
            let result = load_bytes(bytes);
            let text = String::from_utf8_lossy(bytes);
            assert!(
                matches!(result, Err(EpochCacheError::Corrupt(_))),
                "{text:?}: {result:?}"
            );
        }
        let mut disk = MemDisk::default();
        disk.set_contents(FILE, vec![b'0'; MAX_FILE_BYTES as usize + 1]);
        let result = LeaderEpochCache::load(&mut disk, DIR);
        assert!(
            matches!(result, Err(EpochCacheError::Corrupt(_))),
            "oversized"
        );
        assert_eq!(disk.bytes_read, 0, "an oversized file is not read");
    }

    #[test]
    fn every_proper_prefix_of_a_file_is_corrupt() {
        let bytes = cache(&[(1, 0), (4, 77), (12, 9000)]).encode().into_bytes();
        for len in 0..bytes.len() {
            assert!(load_bytes(&bytes[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn assign_follows_kafkas_rules() {
        let mut c = LeaderEpochCache::new();
        assert!(c.assign(2, 10));
        assert!(!c.assign(2, 10), "same epoch again");
        assert!(!c.assign(2, 5), "same epoch, earlier offset");
        assert!(!c.assign(1, 50), "older epoch");
        assert!(!c.assign(-1, 50) && !c.assign(3, -1), "negative values");
        assert!(c.assign(3, 20));
        assert!(c.assign(5, 40));
        assert_eq!(c, cache(&[(2, 10), (3, 20), (5, 40)]));
        assert!(
            c.assign(6, 20),
            "supersedes entries starting at or after 20"
        );
        assert_eq!(c, cache(&[(2, 10), (6, 20)]));
        assert!(c.assign(7, 0));
        assert_eq!(c, cache(&[(7, 0)]));
        assert_eq!(c.latest_epoch(), Some(7));
    }

    #[test]
    fn epoch_for_offset_picks_the_covering_entry() {
        let c = cache(&[(1, 10), (4, 20), (6, 35)]);
        let offsets = [0, 9, 10, 19, 20, 34, 35, i64::MAX];
        let epochs = offsets.map(|offset| c.epoch_for_offset(offset));
        let (one, four, six) = (Some(1), Some(4), Some(6));
        assert_eq!(epochs, [None, None, one, one, four, four, six, six]);
        assert_eq!(LeaderEpochCache::new().epoch_for_offset(5), None);
    }

    #[test]
    fn end_offset_for_covers_every_branch() {
        const UNDEFINED: (i32, i64) = (-1, -1);
        assert_eq!(LeaderEpochCache::new().end_offset_for(0, 100), UNDEFINED);
        let c = cache(&[(1, 10), (4, 20), (6, 35)]);
        let cases = [
            (6, (6, 100), "latest epoch: the log end"),
            (
                0,
                (0, 10),
                "below the first epoch (deleted here): the first epoch's start",
            ),
            (-1, UNDEFINED, "UNDEFINED_EPOCH requested"),
            (7, UNDEFINED, "above the latest epoch"),
            (1, (1, 20), "known epoch: the next one's start"),
            (4, (4, 35), "known epoch: the next one's start"),
            (2, (1, 20), "unknown epoch: the largest below it"),
            (5, (4, 35), "unknown epoch: the largest below it"),
        ];
        for (requested, answer, why) in cases {
            assert_eq!(c.end_offset_for(requested, 100), answer, "{why}");
        }
    }

    #[test]
    fn truncate_from_end_drops_epochs_without_records() {
        let mut c = cache(&[(1, 10), (4, 20), (6, 35)]);
        assert!(!c.truncate_from_end(36));
        assert!(!c.truncate_from_end(-1), "unknown offset is ignored");
        assert!(c.truncate_from_end(35));
        assert_eq!(c, cache(&[(1, 10), (4, 20)]));
        assert!(c.truncate_from_end(15));
        assert_eq!(c, cache(&[(1, 10)]));
        assert!(c.truncate_from_end(0));
        assert_eq!(c, cache(&[]));
    }

    #[test]
    fn truncate_from_start_moves_the_covering_epoch_up() {
        let mut c = cache(&[(1, 10), (4, 20), (6, 35)]);
        assert!(!c.truncate_from_start(5), "before every entry");
        assert!(!c.truncate_from_start(10), "exactly at the first entry");
        assert!(c.truncate_from_start(12));
        assert_eq!(c, cache(&[(1, 12), (4, 20), (6, 35)]));
        assert!(c.truncate_from_start(20));
        assert_eq!(c, cache(&[(4, 20), (6, 35)]));
        assert!(c.truncate_from_start(50));
        assert_eq!(c, cache(&[(6, 50)]));
        c.clear();
        assert!(!c.truncate_from_start(60));
        assert_eq!(c.latest_epoch(), None);
    }

    #[test]
    fn a_crash_at_any_point_of_flush_leaves_the_old_or_the_new_file() {
        let old = cache(&[(0, 0), (2, 100)]);
        let new = cache(&[(0, 0), (2, 100), (5, 300)]);
        for start in [None, Some(&old)] {
            let (mut saw_old, mut saw_new) = (false, false);
            for calls in 0..8 {
                for seed in 0..8 {
                    let mut disk = MemDisk::default();
                    if let Some(start) = start {
                        start.flush(&mut disk, DIR).unwrap();
                    }
                    let before = LeaderEpochCache::load(&mut disk, DIR).unwrap();
                    disk.crash_after_calls = Some(calls);
                    let result = new.flush(&mut disk, DIR);
                    assert_eq!(result.is_ok(), calls >= 6, "{calls} calls: {result:?}");
                    disk.crash_machine(&mut SplitMix64::new(seed));
                    let loaded = LeaderEpochCache::load(&mut disk, DIR).unwrap();
                    assert!(loaded == before || loaded == new, "{calls}: {loaded:?}");
                    saw_old |= loaded == before;
                    saw_new |= loaded == new;
                    new.flush(&mut disk, DIR).unwrap();
                    assert_eq!(LeaderEpochCache::load(&mut disk, DIR).unwrap(), new);
                }
            }
            assert!(saw_old && saw_new);
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = load_bytes(&bytes);
            let text: Vec<u8> = bytes.iter().map(|b| b"0123 \n-"[*b as usize % 7]).collect();
            let _ = load_bytes(&text);
        }

        #[test]
        fn damaged_files_never_panic_nor_load_unordered(at in 0usize..64, byte in any::<u8>()) {
            let mut bytes = cache(&[(0, 0), (3, 1200), (7, 5000)]).encode().into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            if let Ok(loaded) = load_bytes(&bytes) {
                prop_assert!(increasing(loaded.entries()), "{bytes:?}");
            }
        }

        #[test]
        fn operations_keep_entries_strictly_increasing(
            ops in proptest::collection::vec((0u8..4, 0i32..20, -5i64..200), 0..40),
        ) {
            let mut c = LeaderEpochCache::new();
            for (op, epoch, offset) in ops {
                match op {
                    0 | 1 => { c.assign(epoch, offset); }
                    2 => { c.truncate_from_end(offset); }
                    _ => { c.truncate_from_start(offset); }
                }
                prop_assert!(increasing(c.entries()));
                prop_assert_eq!(parse(c.encode().as_bytes()).unwrap(), c.entries().to_vec());
            }
        }
    }
}
