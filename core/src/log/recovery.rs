//! Opening a log: find its segments, resume from the recovery point, cut a torn or corrupt
//! tail, and report what was cut.
//!
//! Segments before the recovery point's segment were synced when they rolled and are not read
//! at all (their indexes load lazily on first use). The recovery point's segment is scanned
//! from the exact byte the checkpoint names, with the index entries and tail state recorded
//! there, so a clean shutdown reopens after reading only the checkpoint and the index entries.

use std::collections::BTreeMap;

use super::append::create_segment_files;
use super::checkpoint::{self, Checkpoint, Loaded, CHECKPOINT_TMP_NAME};
use super::index::{
    decode_offset_index, decode_time_index, Entries, OFFSET_ENTRY_BYTES, TIME_ENTRY_BYTES,
};
use super::segment::{
    parse_file_name, probe_batch, Probe, Segment, Tail, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX,
};
use super::{Log, LogConfig, LogError};
use crate::bugs::{self, Bug};
use crate::disk::{read_exact_at, Disk, DiskError};

/// Why recovery cut the end of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailCutReason {
    /// The bytes end inside a batch: a write that did not finish.
    Torn,
    /// The bytes are not a valid batch (bad header, CRC mismatch, or offsets that do not
    /// continue the log): garbage or corruption.
    Corrupt,
}

/// A cut recovery made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailCut {
    /// Base offset of the segment that was cut.
    pub segment: i64,
    /// Byte position of the cut.
    pub position: u64,
    /// Bytes removed from that segment.
    pub bytes_cut: u64,
    /// Torn or corrupt.
    pub reason: TailCutReason,
    /// What exactly failed.
    pub detail: String,
}

/// What opening a log found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Whether a valid checkpoint was found (`false` also when none existed).
    pub checkpoint_valid: bool,
    /// A checkpoint file existed but did not decode.
    pub checkpoint_invalid: bool,
    /// The offset from which batches were scanned and checked.
    pub scanned_from_offset: i64,
    /// Bytes of batches scanned and checked.
    pub bytes_scanned: u64,
    /// Batches scanned and found whole.
    pub batches_scanned: u64,
    /// The cut of a torn or corrupt tail, if any.
    pub tail_cut: Option<TailCut>,
    /// Segments removed: beyond a cut, not continuing the log, or below the log start offset.
    pub segments_removed: Vec<i64>,
    /// Leftover files removed (temporary checkpoints, indexes without a segment).
    pub stray_files_removed: Vec<String>,
    /// The recovery segment's index files were unusable and were rebuilt from its data.
    pub index_rebuilt: bool,
    /// Where each leader epoch starts among the scanned batches, as `(epoch, base offset)`
    /// in log order: the epochs a crash may have kept out of the leader epoch checkpoint,
    /// which the owner assigns again (Kafka's `LogSegment.recover` does the same).
    pub epoch_starts: Vec<(i32, i64)>,
}

/// Where scanning resumes.
struct Resume {
    segment: i64,
    position: u64,
    offset: i64,
}

impl Log {
    /// Opens (creating if needed) the log in `dir` and recovers it, then syncs what recovery
    /// found and writes the checkpoint, on the caller's thread. See the module docs.
    pub fn open<D: Disk + ?Sized>(
        disk: &mut D,
        dir: &str,
        config: LogConfig,
        now_ms: i64,
    ) -> Result<(Log, RecoveryReport), LogError> {
        let (mut log, report) = Log::open_unsynced(disk, dir, config, now_ms)?;
        // On a full disk the checkpoint stays wanted, and recovery scans as much next time.
        log.flush(disk, now_ms)?;
        Ok((log, report))
    }

    /// Opens (creating if needed) the log in `dir` and recovers it, syncing nothing: for an
    /// owner that hands its syncs out. The records recovery found past the checkpoint's
    /// recovery point may be in the page cache only (a process crash keeps them there), so
    /// the recovery point stays where the checkpoint put it until the first flush, which
    /// covers every scanned segment and the directory and writes the checkpoint at the end.
    /// Segments below the log start leave the log at once and their files go once that
    /// checkpoint is durable: the checkpoint this open read may itself be a rename a crash
    /// undoes, and its word is acted on only once a checkpoint saying the same is durable.
    pub fn open_unsynced<D: Disk + ?Sized>(
        disk: &mut D,
        dir: &str,
        config: LogConfig,
        now_ms: i64,
    ) -> Result<(Log, RecoveryReport), LogError> {
        config.validate()?;
        disk.create_dir_all(dir)?;
        let mut report = RecoveryReport::default();
        let loaded = checkpoint::load(disk, dir)?;
        report.checkpoint_valid = matches!(loaded, Loaded::Valid(_));
        report.checkpoint_invalid = matches!(loaded, Loaded::Invalid);
        let mut segments = discover(disk, dir, &mut report)?;
        let mut names_changed = !report.stray_files_removed.is_empty();
        let first_base = segments.keys().next().copied();
        let mut log_start = match loaded {
            Loaded::Valid(checkpoint) => checkpoint.log_start_offset,
            _ => first_base.unwrap_or(0),
        };
        if segments.is_empty() {
            let segment = Segment::empty(dir, log_start);
            create_segment_files(disk, &segment)?;
            names_changed = true;
            segments.insert(log_start, segment);
        }
        log_start = log_start.max(*segments.keys().next().unwrap());
        let below = take_below(&mut segments, log_start, &mut report);
        let resume = resume_point(disk, &loaded, &mut segments, &mut report)?;
        report.scanned_from_offset = resume.offset;
        let resumed_at = match loaded {
            Loaded::Valid(checkpoint) if resume.offset == checkpoint.recovery_point => Checkpoint {
                log_start_offset: log_start,
                ..checkpoint
            },
            _ => Checkpoint::segment_start(log_start, resume.segment),
        };
        let removed_before = report.segments_removed.len();
        let (end, scanned) = scan_from(disk, &config, &mut segments, resume, &mut report)?;
        names_changed |= report.segments_removed.len() > removed_before;
        let mut log = Log {
            dir: dir.to_string(),
            config,
            segments,
            log_start_offset: log_start.min(end),
            log_end_offset: end,
            recovery: resumed_at,
            unflushed_messages: 0,
            first_unflushed_ms: None,
            flushed_upto: resumed_at.recovery_point.min(end),
            last_checkpoint_ms: now_ms,
            failure: None,
            unsynced_files: Vec::new(),
            dir_changes: u64::from(names_changed),
            dir_synced: 0,
            checkpoint_wanted: true,
            flushes: Vec::new(),
            generation: 0,
            io: Default::default(),
            checkpoint_cap: i64::MAX,
            deferred_checkpoint: None,
        };
        for base in scanned {
            log.mark_unsynced(base);
        }
        for segment in below {
            log.remove_after_checkpoint(segment);
        }
        log.check_invariants();
        Ok((log, report))
    }
}

/// Lists the directory: one unloaded segment per `.log` file; removes leftovers.
fn discover<D: Disk + ?Sized>(
    disk: &mut D,
    dir: &str,
    report: &mut RecoveryReport,
) -> Result<BTreeMap<i64, Segment>, DiskError> {
    let names = disk.list(dir)?;
    let mut segments = BTreeMap::new();
    for name in &names {
        if let Some((base, LOG_SUFFIX)) = parse_file_name(name) {
            let size = disk.len(&format!("{dir}/{name}"))?;
            segments.insert(base, Segment::unloaded(dir, base, size));
        }
    }
    for name in &names {
        let stray = match parse_file_name(name) {
            Some((base, INDEX_SUFFIX | TIME_INDEX_SUFFIX)) => !segments.contains_key(&base),
            _ => name == CHECKPOINT_TMP_NAME,
        };
        if stray {
            disk.remove(&format!("{dir}/{name}"))?;
            report.stray_files_removed.push(name.clone());
        }
    }
    Ok(segments)
}

/// Takes out the segments that lie wholly below the log start offset (a deletion a crash
/// interrupted after the checkpoint moved the log start); the caller removes their files.
fn take_below(
    segments: &mut BTreeMap<i64, Segment>,
    log_start: i64,
    report: &mut RecoveryReport,
) -> Vec<Segment> {
    let bases: Vec<i64> = segments.keys().copied().collect();
    let mut below = Vec::new();
    for pair in bases.windows(2) {
        if pair[1] <= log_start {
            below.push(segments.remove(&pair[0]).expect("listed"));
            report.segments_removed.push(pair[0]);
        }
    }
    below
}

/// Where to resume: the checkpoint's recovery point when it is consistent with the files,
/// otherwise the start of the first segment.
fn resume_point<D: Disk + ?Sized>(
    disk: &mut D,
    loaded: &Loaded,
    segments: &mut BTreeMap<i64, Segment>,
    report: &mut RecoveryReport,
) -> Result<Resume, DiskError> {
    if let Loaded::Valid(checkpoint) = loaded {
        if let Some(segment) = segments.get_mut(&checkpoint.recovery_segment) {
            if checkpoint.recovery_position <= segment.size
                && load_recovery_indexes(disk, segment, checkpoint)?
            {
                segment.size = checkpoint.recovery_position;
                segment.tail = Some(checkpoint.tail);
                return Ok(Resume {
                    segment: checkpoint.recovery_segment,
                    position: checkpoint.recovery_position,
                    offset: checkpoint.recovery_point,
                });
            }
            report.index_rebuilt = true;
        }
    }
    let (&base, segment) = segments.iter_mut().next().expect("at least one segment");
    reset_for_scan(segment);
    Ok(Resume {
        segment: base,
        position: 0,
        offset: base,
    })
}

/// Loads exactly the index entries the checkpoint says were synced with the segment.
fn load_recovery_indexes<D: Disk + ?Sized>(
    disk: &mut D,
    segment: &mut Segment,
    checkpoint: &Checkpoint,
) -> Result<bool, DiskError> {
    let offsets_len = checkpoint.offset_entries as usize * OFFSET_ENTRY_BYTES;
    let times_len = checkpoint.time_entries as usize * TIME_ENTRY_BYTES;
    let (Some(offsets), Some(times)) = (
        read_prefix(disk, &segment.index_path, offsets_len)?,
        read_prefix(disk, &segment.time_index_path, times_len)?,
    ) else {
        return Ok(false);
    };
    let relative_end = (checkpoint.recovery_point - segment.base_offset).max(1) as u64;
    let offsets = decode_offset_index(&offsets, checkpoint.recovery_position.max(1));
    let times = decode_time_index(&times, relative_end);
    let (Some(offsets), Some(times)) = (offsets, times) else {
        return Ok(false);
    };
    segment.offset_index = Some(Entries::loaded(offsets));
    segment.time_index = Some(Entries::loaded(times));
    Ok(true)
}

fn read_prefix<D: Disk + ?Sized>(
    disk: &mut D,
    path: &str,
    len: usize,
) -> Result<Option<Vec<u8>>, DiskError> {
    match disk.len(path) {
        Ok(file_len) if file_len >= len as u64 => {}
        Ok(_) | Err(DiskError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    }
    let mut bytes = vec![0u8; len];
    read_exact_at(disk, path, 0, &mut bytes)?;
    Ok(Some(bytes))
}

/// Prepares a segment to be scanned from its first byte.
fn reset_for_scan(segment: &mut Segment) {
    segment.size = 0;
    segment.offset_index = Some(Entries::default());
    segment.time_index = Some(Entries::default());
    segment.tail = Some(Tail::EMPTY);
}

/// Scans and checks every batch from the resume point on, cuts at the first bad one, removes
/// the segments after a cut and rewrites the scanned indexes, syncing nothing. Returns the
/// log end and the segments scanned, whose files the next flush syncs.
fn scan_from<D: Disk + ?Sized>(
    disk: &mut D,
    config: &LogConfig,
    segments: &mut BTreeMap<i64, Segment>,
    resume: Resume,
    report: &mut RecoveryReport,
) -> Result<(i64, Vec<i64>), DiskError> {
    let bases: Vec<i64> = segments
        .range(resume.segment..)
        .map(|(base, _)| *base)
        .collect();
    let (mut position, mut expected) = (resume.position, resume.offset);
    let mut scanned = Vec::new();
    let mut stopped = false;
    for base in bases {
        if stopped || base != expected && base != resume.segment {
            let segment = segments.remove(&base).expect("listed");
            segment.remove_files(disk)?;
            report.segments_removed.push(base);
            continue;
        }
        let segment = segments.get_mut(&base).expect("listed");
        if base != resume.segment {
            reset_for_scan(segment);
            position = 0;
        }
        let cut = scan_segment(disk, config, segment, position, &mut expected, report)?;
        scanned.push(base);
        if let Some(cut) = cut {
            cut_tail(disk, segment, &cut)?;
            report.tail_cut = Some(cut);
            stopped = true;
        }
    }
    let last = *scanned.last().expect("the resume segment is scanned");
    for base in &scanned {
        let segment = segments.get_mut(base).expect("scanned");
        if *base != last {
            segment.push_final_time_entry();
        }
        segment.cut_index_files(disk)?;
        segment.persist_indexes(disk)?;
    }
    Ok((expected, scanned))
}

/// Checks batches from `position` until the end of the file or the first bad batch, which it
/// returns as the cut to make. Advances `expected` past every good batch.
fn scan_segment<D: Disk + ?Sized>(
    disk: &mut D,
    config: &LogConfig,
    segment: &mut Segment,
    mut position: u64,
    expected: &mut i64,
    report: &mut RecoveryReport,
) -> Result<Option<TailCut>, DiskError> {
    let end = disk.len(&segment.log_path)?;
    let mut buffer = Vec::new();
    loop {
        let probe = probe_batch(disk, &segment.log_path, position, end, &mut buffer)?;
        let (reason, detail) = match probe {
            Probe::End => return Ok(None),
            Probe::Batch(header) if header.base_offset == *expected => {
                let size = header.total_bytes() as u64;
                let interval = config.index_interval_bytes;
                segment.index_batch(&header, header.base_offset, position, size, interval);
                position += size;
                *expected = header.next_offset();
                report.bytes_scanned += size;
                report.batches_scanned += 1;
                let epoch = header.partition_leader_epoch;
                if report
                    .epoch_starts
                    .last()
                    .is_none_or(|(last, _)| *last != epoch)
                {
                    report.epoch_starts.push((epoch, header.base_offset));
                }
                continue;
            }
            Probe::Batch(header) => (
                TailCutReason::Corrupt,
                format!(
                    "batch at offset {} where {} was expected",
                    header.base_offset, expected
                ),
            ),
            Probe::Torn => (TailCutReason::Torn, "incomplete batch".to_string()),
            Probe::Corrupt(detail) => (TailCutReason::Corrupt, detail),
        };
        let bytes_cut = end - position;
        return Ok(Some(TailCut {
            segment: segment.base_offset,
            position,
            bytes_cut,
            reason,
            detail,
        }));
    }
}

/// Truncates the segment's file at the cut.
fn cut_tail<D: Disk + ?Sized>(
    disk: &mut D,
    segment: &mut Segment,
    cut: &TailCut,
) -> Result<(), DiskError> {
    assert_eq!(segment.size, cut.position, "cut where the scan stopped");
    if bugs::active(Bug::SkipTornTailTruncation) && cut.reason == TailCutReason::Torn {
        // Deliberately broken (test-only): keep the torn bytes as if they were log data.
        segment.size += cut.bytes_cut;
        return Ok(());
    }
    disk.truncate(&segment.log_path, cut.position)
}

/// Rebuilds an inactive segment's indexes from its data (they were missing or invalid), and
/// rewrites the index files. A bad batch ends the rebuild; reads past it report corruption.
pub(super) fn rebuild_indexes<D: Disk + ?Sized>(
    disk: &mut D,
    segment: &mut Segment,
    interval: u64,
    report: &mut RecoveryReport,
) -> Result<(), DiskError> {
    let size = segment.size;
    reset_for_scan(segment);
    let mut expected = segment.base_offset;
    let config = LogConfig {
        index_interval_bytes: interval,
        ..LogConfig::default()
    };
    let _cut = scan_segment(disk, &config, segment, 0, &mut expected, report)?;
    segment.push_final_time_entry();
    segment.size = size;
    segment.cut_index_files(disk)?;
    segment.persist_indexes(disk)
}
