//! The sparse offset index and the time index of one segment.
//!
//! Formats follow Kafka's: an offset entry is 8 bytes (offset relative to the segment's base,
//! u32; byte position in the segment, u32), a time entry 12 bytes (timestamp, i64; relative
//! offset, u32), big-endian. Unlike Kafka's, our offset entries name a batch's *base* offset,
//! so the floor entry of any offset points at or before the batch containing it.
//!
//! Entries past the recovery point are rebuilt by recovery, so new entries are kept in memory
//! and written only when the segment is flushed: an append costs one write.

/// Bytes per offset index entry.
pub const OFFSET_ENTRY_BYTES: usize = 8;
/// Bytes per time index entry.
pub const TIME_ENTRY_BYTES: usize = 12;

/// One offset index entry: the batch starting at `offset` begins at `position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Base offset of a batch, relative to the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of that batch in the segment file.
    pub position: u32,
}

/// One time index entry: the largest timestamp up to and including `relative_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeEntry {
    /// Largest timestamp seen so far in the segment.
    pub timestamp: i64,
    /// Offset (relative) of the record batch holding that timestamp.
    pub relative_offset: u32,
}

/// The in-memory entries of one index and how many of them are already in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entries<T> {
    /// All entries, oldest first.
    pub entries: Vec<T>,
    /// The first `persisted` entries are written to the file (perhaps not yet synced).
    pub persisted: usize,
}

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries {
            entries: Vec::new(),
            persisted: 0,
        }
    }
}

impl<T> Entries<T> {
    /// Entries from a file, all persisted.
    pub fn loaded(entries: Vec<T>) -> Self {
        let persisted = entries.len();
        Entries { entries, persisted }
    }
}

impl OffsetEntry {
    /// Encodes the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
}

impl TimeEntry {
    /// Encodes the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
}

/// Decodes an offset index file, or `None` when it is not a valid index for a segment of
/// `segment_bytes` bytes: a partial entry, offsets not strictly increasing, positions not
/// strictly increasing or beyond the segment. An invalid index is rebuilt, never trusted.
pub fn decode_offset_index(bytes: &[u8], segment_bytes: u64) -> Option<Vec<OffsetEntry>> {
    if !bytes.len().is_multiple_of(OFFSET_ENTRY_BYTES) {
        return None;
    }
    let mut entries: Vec<OffsetEntry> = Vec::with_capacity(bytes.len() / OFFSET_ENTRY_BYTES);
    for chunk in bytes.chunks_exact(OFFSET_ENTRY_BYTES) {
        let entry = OffsetEntry {
            relative_offset: u32::from_be_bytes(chunk[0..4].try_into().unwrap()),
            position: u32::from_be_bytes(chunk[4..8].try_into().unwrap()),
        };
        if u64::from(entry.position) >= segment_bytes {
            return None;
        }
        if let Some(last) = entries.last() {
            if entry.relative_offset <= last.relative_offset || entry.position <= last.position {
                return None;
            }
        }
        entries.push(entry);
    }
    Some(entries)
}

/// Decodes a time index file, or `None` when invalid: a partial entry, timestamps or offsets
/// not strictly increasing, or an offset at or beyond `relative_offset_end`.
pub fn decode_time_index(bytes: &[u8], relative_offset_end: u64) -> Option<Vec<TimeEntry>> {
    if !bytes.len().is_multiple_of(TIME_ENTRY_BYTES) {
        return None;
    }
    let mut entries: Vec<TimeEntry> = Vec::with_capacity(bytes.len() / TIME_ENTRY_BYTES);
    for chunk in bytes.chunks_exact(TIME_ENTRY_BYTES) {
        let entry = TimeEntry {
            timestamp: i64::from_be_bytes(chunk[0..8].try_into().unwrap()),
            relative_offset: u32::from_be_bytes(chunk[8..12].try_into().unwrap()),
        };
        if u64::from(entry.relative_offset) >= relative_offset_end {
            return None;
        }
        if let Some(last) = entries.last() {
            if entry.timestamp <= last.timestamp || entry.relative_offset < last.relative_offset {
                return None;
            }
        }
        entries.push(entry);
    }
    Some(entries)
}

/// The last entry whose offset is at most `relative_offset`.
pub fn floor_offset(entries: &[OffsetEntry], relative_offset: u32) -> Option<OffsetEntry> {
    let after = entries.partition_point(|entry| entry.relative_offset <= relative_offset);
    after.checked_sub(1).map(|index| entries[index])
}

/// The last entry whose timestamp is at most `timestamp`.
pub fn floor_timestamp(entries: &[TimeEntry], timestamp: i64) -> Option<TimeEntry> {
    let after = entries.partition_point(|entry| entry.timestamp <= timestamp);
    after.checked_sub(1).map(|index| entries[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset_bytes(entries: &[(u32, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(relative_offset, position) in entries {
            OffsetEntry {
                relative_offset,
                position,
            }
            .encode(&mut out);
        }
        out
    }

    #[test]
    fn offset_index_round_trips_and_looks_up_floors() {
        let bytes = offset_bytes(&[(3, 100), (9, 4200), (20, 9000)]);
        let entries = decode_offset_index(&bytes, 10_000).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(floor_offset(&entries, 2), None);
        assert_eq!(floor_offset(&entries, 3).unwrap().position, 100);
        assert_eq!(floor_offset(&entries, 19).unwrap().position, 4200);
        assert_eq!(floor_offset(&entries, 500).unwrap().position, 9000);
    }

    #[test]
    fn invalid_offset_indexes_are_refused() {
        assert!(decode_offset_index(&offset_bytes(&[(3, 100)])[..7], 10_000).is_none());
        assert!(decode_offset_index(&offset_bytes(&[(3, 100), (3, 200)]), 10_000).is_none());
        assert!(decode_offset_index(&offset_bytes(&[(3, 100), (4, 100)]), 10_000).is_none());
        assert!(decode_offset_index(&offset_bytes(&[(3, 10_000)]), 10_000).is_none());
        assert_eq!(decode_offset_index(&[], 0), Some(Vec::new()));
    }

    #[test]
    fn time_index_round_trips_and_refuses_disorder() {
        let mut bytes = Vec::new();
        TimeEntry {
            timestamp: 10,
            relative_offset: 0,
        }
        .encode(&mut bytes);
        TimeEntry {
            timestamp: 30,
            relative_offset: 5,
        }
        .encode(&mut bytes);
        let entries = decode_time_index(&bytes, 6).unwrap();
        assert_eq!(floor_timestamp(&entries, 9), None);
        assert_eq!(floor_timestamp(&entries, 29).unwrap().relative_offset, 0);
        assert_eq!(floor_timestamp(&entries, 30).unwrap().relative_offset, 5);
        assert!(decode_time_index(&bytes, 5).is_none());
        let mut reversed = Vec::new();
        TimeEntry {
            timestamp: 30,
            relative_offset: 0,
        }
        .encode(&mut reversed);
        TimeEntry {
            timestamp: 10,
            relative_offset: 5,
        }
        .encode(&mut reversed);
        assert!(decode_time_index(&reversed, 6).is_none());
    }
}
