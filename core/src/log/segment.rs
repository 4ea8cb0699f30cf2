//! One segment: a `.log` file of whole batches named by its base offset, with its indexes.

use super::index::{
    decode_offset_index, decode_time_index, Entries, OffsetEntry, TimeEntry, OFFSET_ENTRY_BYTES,
    TIME_ENTRY_BYTES,
};
use crate::disk::{read_exact_at, Disk, DiskError};
use crate::record::{validate_batch, BatchHeader, BATCH_HEADER_BYTES, LOG_OVERHEAD};

/// Suffix of segment data files.
pub const LOG_SUFFIX: &str = ".log";
/// Suffix of offset index files.
pub const INDEX_SUFFIX: &str = ".index";
/// Suffix of time index files.
pub const TIME_INDEX_SUFFIX: &str = ".timeindex";

/// The file name stem of the segment starting at `base_offset`: 20 zero-padded digits.
pub fn file_stem(base_offset: i64) -> String {
    assert!(base_offset >= 0, "negative base offset");
    format!("{base_offset:020}")
}

/// Parses `00000000000000000042.log` style names into (base offset, suffix).
pub fn parse_file_name(name: &str) -> Option<(i64, &str)> {
    let (stem, suffix) = name.split_at(name.find('.')?);
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, suffix))
}

/// What is known of the end of a segment that may still receive appends or was just scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail {
    /// Bytes appended since the last offset index entry.
    pub bytes_since_index: u64,
    /// Largest batch max timestamp in the segment, or -1.
    pub max_timestamp: i64,
    /// Base offset of the batch holding `max_timestamp`.
    pub offset_of_max_timestamp: i64,
    /// The first batch's max timestamp: `segment.ms` counts from it, as Kafka's roll does.
    pub rolling_base_timestamp: Option<i64>,
}

impl Tail {
    /// The tail of an empty segment.
    pub const EMPTY: Tail = Tail {
        bytes_since_index: 0,
        max_timestamp: -1,
        offset_of_max_timestamp: -1,
        rolling_base_timestamp: None,
    };
}

/// A segment's in-memory state. Indexes of segments untouched since open load lazily.
#[derive(Debug)]
pub struct Segment {
    /// Offset of the first batch.
    pub base_offset: i64,
    /// Path of the `.log` file.
    pub log_path: String,
    /// Path of the `.index` file.
    pub index_path: String,
    /// Path of the `.timeindex` file.
    pub time_index_path: String,
    /// Valid bytes in the `.log` file.
    pub size: u64,
    /// The offset index, once loaded or built.
    pub offset_index: Option<Entries<OffsetEntry>>,
    /// The time index, once loaded or built.
    pub time_index: Option<Entries<TimeEntry>>,
    /// Known for the active segment and for segments recovery scanned.
    pub tail: Option<Tail>,
}

impl Segment {
    /// A segment of `size` valid bytes whose indexes have not been read.
    pub fn unloaded(dir: &str, base_offset: i64, size: u64) -> Segment {
        let stem = file_stem(base_offset);
        Segment {
            base_offset,
            log_path: format!("{dir}/{stem}{LOG_SUFFIX}"),
            index_path: format!("{dir}/{stem}{INDEX_SUFFIX}"),
            time_index_path: format!("{dir}/{stem}{TIME_INDEX_SUFFIX}"),
            size,
            offset_index: None,
            time_index: None,
            tail: None,
        }
    }

    /// A new, empty segment with empty indexes.
    pub fn empty(dir: &str, base_offset: i64) -> Segment {
        let mut segment = Segment::unloaded(dir, base_offset, 0);
        segment.offset_index = Some(Entries::default());
        segment.time_index = Some(Entries::default());
        segment.tail = Some(Tail::EMPTY);
        segment
    }

    /// The offset relative to this segment's base, as indexes store it.
    pub fn relative(&self, offset: i64) -> u32 {
        let relative = offset - self.base_offset;
        assert!(
            relative >= 0,
            "offset {offset} below segment base {}",
            self.base_offset
        );
        u32::try_from(relative).expect("relative offset overflows u32")
    }

    /// Records a batch written at `position` in the in-memory indexes and tail, as Kafka's
    /// `LogSegment.append` does: an index entry once more than `interval` bytes were appended
    /// since the last one. Used by appends and by recovery alike, so both build the same index.
    pub fn index_batch(
        &mut self,
        header: &BatchHeader,
        base_offset: i64,
        position: u64,
        size: u64,
        interval: u64,
    ) {
        assert_eq!(position, self.size, "batches are indexed in order");
        let relative_offset = self.relative(base_offset);
        let mut tail = self.tail.expect("indexing a segment whose tail is known");
        if header.max_timestamp > tail.max_timestamp {
            tail.max_timestamp = header.max_timestamp;
            tail.offset_of_max_timestamp = base_offset;
        }
        tail.rolling_base_timestamp
            .get_or_insert(header.max_timestamp);
        if tail.bytes_since_index > interval {
            let position = u32::try_from(position).expect("segment position fits u32");
            let index = self.offset_index.as_mut().expect("offset index loaded");
            index.entries.push(OffsetEntry {
                relative_offset,
                position,
            });
            self.tail = Some(tail);
            self.push_final_time_entry();
            tail.bytes_since_index = 0;
        }
        tail.bytes_since_index += size;
        self.size += size;
        self.tail = Some(tail);
    }

    /// Appends a time index entry for the segment's max timestamp if it grew since the last
    /// entry; a segment becoming inactive calls this so its last entry is its max timestamp.
    pub fn push_final_time_entry(&mut self) {
        let tail = self.tail.expect("tail known");
        if tail.offset_of_max_timestamp < 0 {
            return;
        }
        let relative_offset = self.relative(tail.offset_of_max_timestamp);
        let times = self.time_index.as_mut().expect("time index loaded");
        if times
            .entries
            .last()
            .is_none_or(|last| tail.max_timestamp > last.timestamp)
        {
            times.entries.push(TimeEntry {
                timestamp: tail.max_timestamp,
                relative_offset,
            });
        }
    }

    /// Reads the index files if they are not in memory yet, validating them against the
    /// segment; returns false when either is missing or invalid and must be rebuilt.
    pub fn load_indexes<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        next_offset: i64,
    ) -> Result<bool, DiskError> {
        if self.offset_index.is_some() && self.time_index.is_some() {
            return Ok(true);
        }
        let offsets = read_whole(disk, &self.index_path)?
            .and_then(|bytes| decode_offset_index(&bytes, self.size.max(1)));
        let relative_end = (next_offset - self.base_offset) as u64;
        let times = read_whole(disk, &self.time_index_path)?
            .and_then(|bytes| decode_time_index(&bytes, relative_end.max(1)));
        match (offsets, times) {
            (Some(offsets), Some(times)) => {
                let complete = self.size == 0 || !times.is_empty();
                self.offset_index = Some(Entries::loaded(offsets));
                self.time_index = Some(Entries::loaded(times));
                Ok(complete)
            }
            _ => Ok(false),
        }
    }

    /// The largest timestamp in an inactive segment (its last time index entry), or -1.
    pub fn max_timestamp(&self) -> i64 {
        if let Some(tail) = &self.tail {
            return tail.max_timestamp;
        }
        let times = self.time_index.as_ref().expect("time index loaded");
        times.entries.last().map_or(-1, |entry| entry.timestamp)
    }

    /// Writes index entries that are only in memory to their files.
    pub fn persist_indexes<D: Disk + ?Sized>(&mut self, disk: &mut D) -> Result<(), DiskError> {
        if let Some(index) = &mut self.offset_index {
            let mut bytes = Vec::new();
            for entry in &index.entries[index.persisted..] {
                entry.encode(&mut bytes);
            }
            if !bytes.is_empty() {
                let at = (index.persisted * OFFSET_ENTRY_BYTES) as u64;
                disk.write_at(&self.index_path, at, &bytes)?;
                index.persisted = index.entries.len();
            }
        }
        if let Some(index) = &mut self.time_index {
            let mut bytes = Vec::new();
            for entry in &index.entries[index.persisted..] {
                entry.encode(&mut bytes);
            }
            if !bytes.is_empty() {
                let at = (index.persisted * TIME_ENTRY_BYTES) as u64;
                disk.write_at(&self.time_index_path, at, &bytes)?;
                index.persisted = index.entries.len();
            }
        }
        Ok(())
    }

    /// Cuts both index files to their persisted entries (after entries were dropped).
    pub fn cut_index_files<D: Disk + ?Sized>(&self, disk: &mut D) -> Result<(), DiskError> {
        if let Some(index) = &self.offset_index {
            truncate_or_create(
                disk,
                &self.index_path,
                (index.persisted * OFFSET_ENTRY_BYTES) as u64,
            )?;
        }
        if let Some(index) = &self.time_index {
            truncate_or_create(
                disk,
                &self.time_index_path,
                (index.persisted * TIME_ENTRY_BYTES) as u64,
            )?;
        }
        Ok(())
    }

    /// The segment's three files: data, offset index, time index.
    pub fn files(&self) -> [&String; 3] {
        [&self.log_path, &self.index_path, &self.time_index_path]
    }

    /// Removes the segment's three files; missing ones are fine.
    pub fn remove_files<D: Disk + ?Sized>(&self, disk: &mut D) -> Result<(), DiskError> {
        for path in self.files() {
            match disk.remove(path) {
                Ok(()) | Err(DiskError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// The result of looking at the bytes at one position of a segment file.
#[derive(Debug)]
pub enum Probe {
    /// No bytes remain.
    End,
    /// A whole batch whose header parses (CRC checked only by [`probe_batch`]).
    Batch(BatchHeader),
    /// Fewer bytes remain than a header, or than the header's length promises.
    Torn,
    /// The bytes are not a batch (bad header or CRC).
    Corrupt(String),
}

/// Reads and parses the header at `position`, without reading the batch body.
pub fn probe_header<D: Disk + ?Sized>(
    disk: &mut D,
    path: &str,
    position: u64,
    end: u64,
) -> Result<Probe, DiskError> {
    assert!(position <= end, "probe beyond the end");
    let remaining = end - position;
    if remaining == 0 {
        return Ok(Probe::End);
    }
    if remaining < BATCH_HEADER_BYTES as u64 {
        return Ok(Probe::Torn);
    }
    let mut bytes = [0u8; BATCH_HEADER_BYTES];
    read_exact_at(disk, path, position, &mut bytes)?;
    match BatchHeader::parse(&bytes) {
        Err(error) => Ok(Probe::Corrupt(error.to_string())),
        Ok(header) if header.total_bytes() as u64 > remaining => Ok(Probe::Torn),
        Ok(header) => Ok(Probe::Batch(header)),
    }
}

/// Reads the whole batch at `position` into `buffer` and verifies its CRC.
pub fn probe_batch<D: Disk + ?Sized>(
    disk: &mut D,
    path: &str,
    position: u64,
    end: u64,
    buffer: &mut Vec<u8>,
) -> Result<Probe, DiskError> {
    let header = match probe_header(disk, path, position, end)? {
        Probe::Batch(header) => header,
        other => return Ok(other),
    };
    buffer.clear();
    buffer.resize(header.total_bytes(), 0);
    read_exact_at(disk, path, position, buffer)?;
    match validate_batch(buffer) {
        Ok(checked) => {
            assert_eq!(checked.total_bytes(), header.total_bytes());
            assert!(checked.total_bytes() >= LOG_OVERHEAD);
            Ok(Probe::Batch(checked))
        }
        Err(error) => Ok(Probe::Corrupt(error.to_string())),
    }
}

fn read_whole<D: Disk + ?Sized>(disk: &mut D, path: &str) -> Result<Option<Vec<u8>>, DiskError> {
    let len = match disk.len(path) {
        Ok(len) => len,
        Err(DiskError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut bytes =
        vec![0u8; usize::try_from(len).map_err(|_| DiskError::Io(format!("{path}: too large")))?];
    read_exact_at(disk, path, 0, &mut bytes)?;
    Ok(Some(bytes))
}

fn truncate_or_create<D: Disk + ?Sized>(
    disk: &mut D,
    path: &str,
    len: u64,
) -> Result<(), DiskError> {
    match disk.truncate(path, len) {
        Err(DiskError::NotFound(_)) => {
            disk.create(path)?;
            disk.truncate(path, len)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(file_stem(42), "00000000000000000042");
        assert_eq!(
            parse_file_name("00000000000000000042.log"),
            Some((42, ".log"))
        );
        assert_eq!(
            parse_file_name("00000000000000000042.timeindex"),
            Some((42, ".timeindex"))
        );
        assert_eq!(parse_file_name("0042.log"), None);
        assert_eq!(parse_file_name("checkpoint"), None);
        assert_eq!(parse_file_name("0000000000000000004x.log"), None);
    }
}
