//! A full consistency check of a log's indexes against its data, for tests and tools (what
//! Kafka's `DumpLogSegments --verify-index-only` does).

use super::index::{OffsetEntry, TimeEntry};
use super::segment::{probe_header, Probe};
use super::{Log, LogError};
use crate::disk::{read_exact_at, Disk};

impl Log {
    /// Checks every segment's indexes against its batches: each offset entry points at the
    /// header of the batch it names, each time entry names a batch whose max timestamp it
    /// records, and each index file holds exactly the entries the log believes it wrote.
    /// Loads every segment's indexes. Returns the first disagreement found.
    pub fn verify_indexes<D: Disk + ?Sized>(&mut self, disk: &mut D) -> Result<(), LogError> {
        self.check_usable()?;
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        for base in bases {
            self.ensure_indexes(disk, base)?;
            self.verify_segment_indexes(disk, base)
                .map_err(|detail| LogError::CorruptData {
                    path: self.segments[&base].index_path.clone(),
                    position: 0,
                    detail,
                })?;
        }
        Ok(())
    }

    fn verify_segment_indexes<D: Disk + ?Sized>(
        &self,
        disk: &mut D,
        base: i64,
    ) -> Result<(), String> {
        let segment = &self.segments[&base];
        let offsets = segment.offset_index.as_ref().expect("loaded");
        let times = segment.time_index.as_ref().expect("loaded");
        for entry in &offsets.entries {
            let at = u64::from(entry.position);
            match probe_header(disk, &segment.log_path, at, segment.size)
                .map_err(|e| e.to_string())?
            {
                Probe::Batch(header)
                    if header.base_offset == base + i64::from(entry.relative_offset) => {}
                other => return Err(format!("offset entry {entry:?} points at {other:?}")),
            }
        }
        for entry in &times.entries {
            let offset = base + i64::from(entry.relative_offset);
            let (position, _) = self
                .locate(disk, base, offset)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("time entry {entry:?} beyond the segment"))?;
            match probe_header(disk, &segment.log_path, position, segment.size)
                .map_err(|e| e.to_string())?
            {
                Probe::Batch(header)
                    if header.base_offset == offset && header.max_timestamp == entry.timestamp => {}
                other => return Err(format!("time entry {entry:?} names {other:?}")),
            }
        }
        let mut expected = Vec::new();
        offsets.entries[..offsets.persisted]
            .iter()
            .for_each(|e: &OffsetEntry| e.encode(&mut expected));
        compare_file(disk, &segment.index_path, &expected)?;
        expected.clear();
        times.entries[..times.persisted]
            .iter()
            .for_each(|e: &TimeEntry| e.encode(&mut expected));
        compare_file(disk, &segment.time_index_path, &expected)
    }
}

/// The file must start with `expected`; entries past it are unsynced leftovers that recovery
/// rewrites, but the log never writes them, so the file must be exactly as long.
fn compare_file<D: Disk + ?Sized>(disk: &mut D, path: &str, expected: &[u8]) -> Result<(), String> {
    let len = disk.len(path).map_err(|e| e.to_string())?;
    if len != expected.len() as u64 {
        return Err(format!(
            "{path}: {len} bytes where {} were written",
            expected.len()
        ));
    }
    let mut bytes = vec![0u8; expected.len()];
    read_exact_at(disk, path, 0, &mut bytes).map_err(|e| e.to_string())?;
    if bytes != expected {
        return Err(format!(
            "{path}: contents differ from the entries in memory"
        ));
    }
    Ok(())
}
