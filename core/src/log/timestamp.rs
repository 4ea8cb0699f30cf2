//! ListOffsets by timestamp: the first offset whose record timestamp is at or after a target.

use super::index::floor_timestamp;
use super::segment::{probe_header, Probe};
use super::{Log, LogError};
use crate::disk::{read_exact_at, Disk};
use crate::record::RecordBatch;

/// A record found by timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    /// Offset of the first record with a timestamp at or after the target.
    pub offset: i64,
    /// That record's timestamp.
    pub timestamp: i64,
}

impl Log {
    /// Kafka's `fetchOffsetByTimestamp`: the earliest record at or after the log start whose
    /// timestamp is at least `target`, or `None` when every record is older. Segments whose
    /// newest record is older are skipped without reading them; inside the segment the time
    /// index skips every batch known to be older.
    pub fn offset_for_timestamp<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        target: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        self.check_usable()?;
        let first = self.segment_holding(self.log_start_offset);
        let bases: Vec<i64> = self
            .segments
            .range(first..)
            .map(|(base, _)| *base)
            .collect();
        for base in bases {
            self.ensure_indexes(disk, base)?;
            if self.segments[&base].max_timestamp() < target {
                continue;
            }
            if let Some(found) = self.find_in_segment(disk, base, target)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn find_in_segment<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        base: i64,
        target: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        let segment = &self.segments[&base];
        let times = &segment.time_index.as_ref().expect("indexes loaded").entries;
        // Batches before the floor entry's offset all have smaller max timestamps.
        let from = floor_timestamp(times, target)
            .map_or(base, |entry| base + i64::from(entry.relative_offset))
            .max(self.log_start_offset);
        let Some((mut position, _)) = self.locate(disk, base, from)? else {
            return Ok(None);
        };
        let segment = &self.segments[&base];
        let mut buffer = Vec::new();
        loop {
            let header = match probe_header(disk, &segment.log_path, position, segment.size)? {
                Probe::End => return Ok(None),
                Probe::Batch(header) => header,
                Probe::Torn | Probe::Corrupt(_) => {
                    return Err(LogError::CorruptData {
                        path: segment.log_path.clone(),
                        position,
                        detail: "unreadable batch header".to_string(),
                    })
                }
            };
            if header.max_timestamp >= target {
                buffer.resize(header.total_bytes(), 0);
                read_exact_at(disk, &segment.log_path, position, &mut buffer)?;
                let corrupt = |detail: String| LogError::CorruptData {
                    path: segment.log_path.clone(),
                    position,
                    detail,
                };
                let batch = RecordBatch::parse(&buffer).map_err(|e| corrupt(e.to_string()))?;
                let records = batch.records().map_err(|e| corrupt(e.to_string()))?;
                let found = records.iter().find(|record| {
                    record.timestamp >= target && record.offset >= self.log_start_offset
                });
                if let Some(record) = found {
                    return Ok(Some(TimestampOffset {
                        offset: record.offset,
                        timestamp: record.timestamp,
                    }));
                }
            }
            position += header.total_bytes() as u64;
        }
    }
}
