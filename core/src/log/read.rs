//! Reading whole batches by offset: a segment lookup, an index lookup, and a short walk over
//! batch headers from the index entry — never a scan of the log.

use super::recovery::{rebuild_indexes, RecoveryReport};
use super::segment::{probe_header, Probe};
use super::{index, Log, LogError};
use crate::disk::{read_exact_at, Disk};
use crate::record::validate_batch;

/// Whole batches read from one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSlice {
    /// The segment file the bytes came from (a sendfile-capable driver can send the range).
    pub path: String,
    /// Byte position of the first batch in that file.
    pub position: u64,
    /// The batches, exactly as stored.
    pub bytes: Vec<u8>,
    /// Base offset of the first batch: at or before the offset asked for, which may lie inside
    /// it, as in Kafka.
    pub first_offset: i64,
    /// The offset after the last batch returned; equals the offset asked for when empty.
    pub next_offset: i64,
}

/// Whole batches of one segment as a byte range of its file, from [`Log::read_range`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRange {
    /// The segment file.
    pub path: String,
    /// Byte position of the first batch in that file.
    pub position: u64,
    /// Byte length of the batches; zero when there are none.
    pub len: u64,
    /// Base offset of the first batch (see [`ReadSlice::first_offset`]).
    pub first_offset: i64,
    /// The offset after the last batch; equals the offset asked for when empty.
    pub next_offset: i64,
}

/// Where a read lies: positions `start..end` of segment file `path`.
struct Span {
    path: String,
    start: u64,
    end: u64,
    first_offset: i64,
    next_offset: i64,
}

impl Span {
    fn into_slice(self, bytes: Vec<u8>) -> ReadSlice {
        ReadSlice {
            path: self.path,
            position: self.start,
            bytes,
            first_offset: self.first_offset,
            next_offset: self.next_offset,
        }
    }
}

impl Log {
    /// Kafka's `Log.read`: the whole batches from the one containing `offset`, as many as fit
    /// in `max_bytes` — but always the first one, even when larger, so a consumer never stalls
    /// (KIP-74) — from one segment, and none starting at or after `max_offset` (the high
    /// watermark, for consumers). Every returned batch's CRC is checked: corrupt bytes are an
    /// error, never served.
    pub fn read<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<ReadSlice, LogError> {
        let floor = self.log_start_offset;
        self.read_from(disk, offset, floor, max_bytes, max_offset)
    }

    /// [`Log::read`] from any batch the log still stores, also one below the log start offset
    /// in a segment that is not yet deleted (DeleteRecords and retention remove whole segments
    /// only, as in Kafka): for state its owner derives from every stored batch, never for
    /// readers.
    pub fn read_stored<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        max_bytes: usize,
    ) -> Result<ReadSlice, LogError> {
        let floor = self.first_stored_offset();
        self.read_from(disk, offset, floor, max_bytes, None)
    }

    fn read_from<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        floor: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<ReadSlice, LogError> {
        let span = self.span(disk, offset, floor, max_bytes, max_offset)?;
        if span.start == span.end {
            return Ok(span.into_slice(Vec::new()));
        }
        let mut bytes = vec![0u8; (span.end - span.start) as usize];
        read_exact_at(disk, &span.path, span.start, &mut bytes)?;
        // Serve the valid batches before any bad one; a read starting at the bad one reports it.
        let (valid, next_offset) = valid_prefix(&bytes, span.first_offset);
        if valid == 0 {
            let detail = validate_batch(&bytes)
                .err()
                .map_or("offset mismatch".into(), |e| e.to_string());
            return Err(LogError::CorruptData {
                path: span.path,
                position: span.start,
                detail,
            });
        }
        bytes.truncate(valid);
        let mut slice = span.into_slice(bytes);
        slice.next_offset = next_offset;
        Ok(slice)
    }

    /// What [`Log::read`] would return, as a byte range of the segment file instead of the
    /// bytes: the same batches, found by the same walk over batch headers (each continuing the
    /// one before), but neither read nor CRC-checked. A driver that sends records from the file
    /// to the socket (sendfile) serves consumers from this, as Kafka does; the consumer checks
    /// the CRCs.
    pub fn read_range<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<ReadRange, LogError> {
        let floor = self.log_start_offset;
        let span = self.span(disk, offset, floor, max_bytes, max_offset)?;
        Ok(ReadRange {
            len: span.end - span.start,
            path: span.path,
            position: span.start,
            first_offset: span.first_offset,
            next_offset: span.next_offset,
        })
    }

    /// Where a read from `offset` lies in its segment, by batch headers alone.
    fn span<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        floor: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<Span, LogError> {
        self.check_usable()?;
        if offset < floor || offset > self.log_end_offset {
            return Err(self.out_of_range(offset));
        }
        let upper = max_offset.map_or(self.log_end_offset, |max| max.min(self.log_end_offset));
        let base = self.segment_holding(offset);
        self.ensure_indexes(disk, base)?;
        let path = self.segments[&base].log_path.clone();
        let empty = Span {
            path: path.clone(),
            start: 0,
            end: 0,
            first_offset: offset,
            next_offset: offset,
        };
        if offset >= upper {
            return Ok(empty);
        }
        let Some((start, first)) = self.locate(disk, base, offset)? else {
            return Ok(empty);
        };
        let (end, next_offset) = self.extent(disk, base, start, first, max_bytes, upper)?;
        Ok(Span {
            path,
            start,
            end,
            first_offset: first,
            next_offset,
        })
    }

    /// The position and base offset of the batch holding `offset` in segment `base`. The walk
    /// from the index entry checks that each header continues the one before (the base offset
    /// is outside the CRC), so a damaged header is reported, not followed.
    pub(super) fn locate<D: Disk + ?Sized>(
        &self,
        disk: &mut D,
        base: i64,
        offset: i64,
    ) -> Result<Option<(u64, i64)>, LogError> {
        let segment = &self.segments[&base];
        let entries = &segment
            .offset_index
            .as_ref()
            .expect("indexes loaded")
            .entries;
        let entry = index::floor_offset(entries, segment.relative(offset));
        let mut position = entry.map_or(0, |e| u64::from(e.position));
        let mut expected = entry.map_or(base, |e| base + i64::from(e.relative_offset));
        loop {
            let header = match probe_header(disk, &segment.log_path, position, segment.size)? {
                Probe::End => return Ok(None),
                Probe::Batch(header) if header.base_offset == expected => header,
                Probe::Batch(_) | Probe::Torn | Probe::Corrupt(_) => {
                    return Err(corrupt(
                        &segment.log_path,
                        position,
                        "batch header does not continue the log",
                    ))
                }
            };
            if header.next_offset() > offset {
                return Ok(Some((position, header.base_offset)));
            }
            position += header.total_bytes() as u64;
            expected = header.next_offset();
        }
    }

    /// How far a read starting at `start` (the batch with base offset `first`) goes: the end
    /// position and the offset after the last batch it takes.
    fn extent<D: Disk + ?Sized>(
        &self,
        disk: &mut D,
        base: i64,
        start: u64,
        first: i64,
        max_bytes: usize,
        upper: i64,
    ) -> Result<(u64, i64), LogError> {
        let segment = &self.segments[&base];
        let mut position = start;
        let mut next_offset = first;
        loop {
            let header = match probe_header(disk, &segment.log_path, position, segment.size)? {
                Probe::End => break,
                Probe::Batch(header) => header,
                // Past the first batch, stop before a bad header: the next read reports it.
                Probe::Torn | Probe::Corrupt(_) if position > start => break,
                Probe::Torn | Probe::Corrupt(_) => {
                    return Err(corrupt(
                        &segment.log_path,
                        position,
                        "unreadable batch header",
                    ))
                }
            };
            let total = header.total_bytes() as u64;
            let over_budget = position > start && position - start + total > max_bytes as u64;
            // A header that does not continue the one before ends the read; the next read,
            // starting there, reports it.
            if header.base_offset >= upper || over_budget || header.base_offset != next_offset {
                break;
            }
            position += total;
            next_offset = header.next_offset();
        }
        Ok((position, next_offset))
    }

    /// Loads segment `base`'s indexes, rebuilding them from its data when they are missing or
    /// invalid.
    pub(super) fn ensure_indexes<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        base: i64,
    ) -> Result<(), LogError> {
        let next_offset = self.segment_next_offset(base);
        let interval = self.config.index_interval_bytes;
        let segment = self.segments.get_mut(&base).expect("segment exists");
        if segment.load_indexes(disk, next_offset)? {
            return Ok(());
        }
        let mut report = RecoveryReport::default();
        rebuild_indexes(disk, segment, interval, &mut report)?;
        Ok(())
    }

    /// The offset after segment `base`'s last batch.
    pub(super) fn segment_next_offset(&self, base: i64) -> i64 {
        self.segments
            .range(base + 1..)
            .next()
            .map_or(self.log_end_offset, |(next_base, _)| *next_base)
    }

    pub(super) fn out_of_range(&self, offset: i64) -> LogError {
        LogError::OffsetOutOfRange {
            offset,
            log_start_offset: self.log_start_offset,
            log_end_offset: self.log_end_offset,
        }
    }
}

fn corrupt(path: &str, position: u64, detail: &str) -> LogError {
    LogError::CorruptData {
        path: path.to_string(),
        position,
        detail: detail.to_string(),
    }
}

/// The length of the longest prefix of `bytes` made of whole batches with valid CRCs and
/// contiguous offsets from `first`, and the offset after it.
fn valid_prefix(bytes: &[u8], first: i64) -> (usize, i64) {
    let (mut valid, mut expected) = (0, first);
    while valid < bytes.len() {
        match validate_batch(&bytes[valid..]) {
            Ok(header) if header.base_offset == expected => {
                valid += header.total_bytes();
                expected = header.next_offset();
            }
            _ => break,
        }
    }
    (valid, expected)
}
