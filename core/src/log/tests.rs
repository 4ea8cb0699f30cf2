//! Unit tests of the log over a plain in-memory disk (no faults: the simulator's
//! log-crash-recovery scenario covers crashes).

use super::*;
use crate::disk::{Disk, DiskError};
use crate::mem_disk::MemDisk;
use crate::record::{
    stamp_base_offset, stamp_partition_leader_epoch, BatchError, Compression, RecordBatch,
    RecordBatchBuilder,
};

const NOW: i64 = 1_700_000_000_000;

fn batch(records: usize, value_bytes: usize, timestamp: i64) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for i in 0..records {
        let value = vec![b'a' + (i % 26) as u8; value_bytes];
        builder.append(timestamp + i as i64, Some(b"key"), Some(&value), &[]);
    }
    builder.build()
}

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fn open(disk: &mut MemDisk, config: LogConfig) -> (Log, RecoveryReport) {
    Log::open(disk, "t-0", config, NOW).expect("open")
}

/// Appends `count` batches of 3 records and returns their bytes as the log stores them.
fn fill(log: &mut Log, disk: &mut MemDisk, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut bytes = batch(3, 100, NOW + i as i64 * 10);
            let info = log.append(disk, &bytes, NOW).expect("append");
            stamp_base_offset(&mut bytes, info.base_offset);
            bytes
        })
        .collect()
}

/// Reads the whole log batch by batch.
fn read_all(log: &mut Log, disk: &mut MemDisk) -> Vec<Vec<u8>> {
    let mut batches = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let slice = log.read(disk, offset, 1, None).expect("read");
        assert!(!slice.bytes.is_empty(), "no progress at {offset}");
        offset = slice.next_offset;
        batches.push(slice.bytes);
    }
    batches
}

#[test]
fn appends_assign_contiguous_offsets_and_read_back_across_segments() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let written = fill(&mut log, &mut disk, 40);
    assert_eq!(log.log_end_offset(), 120);
    assert!(log.segment_count() > 3, "small segments roll");
    assert_eq!(read_all(&mut log, &mut disk), written);
    let parsed = RecordBatch::parse(&written[7]).unwrap();
    assert_eq!(parsed.header().base_offset, 21);
}

#[test]
fn read_returns_whole_batches_within_max_bytes_but_always_the_first() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, LogConfig::default());
    let written = fill(&mut log, &mut disk, 5);
    // Mid-batch offset: the containing batch comes back (offset 4 is inside batch 1).
    let slice = log.read(&mut disk, 4, 1, None).unwrap();
    assert_eq!(slice.first_offset, 3);
    assert_eq!(slice.next_offset, 6);
    assert_eq!(slice.bytes, written[1]);
    // Room for two batches and a half: two whole batches.
    let budget = written[0].len() * 2 + written[0].len() / 2;
    let slice = log.read(&mut disk, 0, budget, None).unwrap();
    assert_eq!(
        slice.bytes,
        [written[0].clone(), written[1].clone()].concat()
    );
    // The high watermark bounds what is returned.
    let slice = log.read(&mut disk, 0, usize::MAX, Some(9)).unwrap();
    assert_eq!(slice.next_offset, 9);
    assert!(log
        .read(&mut disk, 9, 100, Some(9))
        .unwrap()
        .bytes
        .is_empty());
    assert!(log.read(&mut disk, 15, 100, None).unwrap().bytes.is_empty());
    assert!(matches!(
        log.read(&mut disk, 16, 100, None),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn bad_batches_are_refused_and_change_nothing() {
    let mut disk = MemDisk::default();
    let config = LogConfig {
        max_message_bytes: 2000,
        ..LogConfig::default()
    };
    let (mut log, _) = open(&mut disk, config);
    fill(&mut log, &mut disk, 1);
    let mut corrupt = batch(2, 10, NOW);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x40;
    assert!(matches!(
        log.append(&mut disk, &corrupt, NOW),
        Err(LogError::InvalidBatch(_))
    ));
    let large = batch(30, 100, NOW);
    assert!(matches!(
        log.append(&mut disk, &large, NOW),
        Err(LogError::BatchTooLarge { .. })
    ));
    let mut trailing = batch(1, 10, NOW);
    trailing.push(0);
    assert!(matches!(
        log.append(&mut disk, &trailing, NOW),
        Err(LogError::InvalidBatch(_))
    ));
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(
        log.size_bytes(),
        disk.contents("t-0/00000000000000000000.log").unwrap().len() as u64
    );
}

#[test]
fn clean_reopen_keeps_everything_and_scans_nothing() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let written = fill(&mut log, &mut disk, 30);
    log.close(&mut disk, NOW).unwrap();
    let (mut log, report) = open(&mut disk, small_config());
    assert_eq!(report.bytes_scanned, 0);
    assert_eq!(report.tail_cut, None);
    assert_eq!(read_all(&mut log, &mut disk), written);
}

#[test]
fn reopen_without_close_rescans_only_past_the_recovery_point() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let mut written = fill(&mut log, &mut disk, 30);
    log.flush(&mut disk, NOW + 60_000).unwrap();
    written.extend(fill(&mut log, &mut disk, 2));
    let size_after_flush = log.size_bytes();
    drop(log);
    let (mut log, report) = open(&mut disk, small_config());
    assert!(report.bytes_scanned > 0);
    assert!(
        report.bytes_scanned < size_after_flush / 4,
        "scanned {}",
        report.bytes_scanned
    );
    assert_eq!(read_all(&mut log, &mut disk), written);
}

#[test]
fn a_torn_tail_is_cut_and_reported() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, LogConfig::default());
    let written = fill(&mut log, &mut disk, 4);
    drop(log);
    let path = "t-0/00000000000000000000.log";
    disk.damage(path, |bytes| bytes.truncate(bytes.len() - 10));
    let (mut log, report) = open(&mut disk, LogConfig::default());
    let cut = report.tail_cut.expect("a cut");
    assert_eq!(cut.reason, TailCutReason::Torn);
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(read_all(&mut log, &mut disk), written[..3].to_vec());
    let again = batch(1, 5, NOW);
    assert_eq!(log.append(&mut disk, &again, NOW).unwrap().base_offset, 9);
}

#[test]
fn a_corrupt_batch_is_cut_with_everything_after_it() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, LogConfig::default());
    let written = fill(&mut log, &mut disk, 4);
    drop(log);
    let path = "t-0/00000000000000000000.log";
    let second = written[0].len() + 30;
    disk.damage(path, |bytes| bytes[second] ^= 1);
    let (mut log, report) = open(&mut disk, LogConfig::default());
    assert_eq!(
        report.tail_cut.expect("a cut").reason,
        TailCutReason::Corrupt
    );
    assert_eq!(read_all(&mut log, &mut disk), written[..1].to_vec());
}

#[test]
fn corruption_below_the_recovery_point_is_reported_on_read_not_served() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, LogConfig::default());
    let written = fill(&mut log, &mut disk, 4);
    log.close(&mut disk, NOW).unwrap();
    let path = "t-0/00000000000000000000.log";
    disk.damage(path, |bytes| bytes[written[0].len() + 70] ^= 4);
    let (mut log, _) = open(&mut disk, LogConfig::default());
    assert!(log.read(&mut disk, 0, 1, None).is_ok());
    assert!(matches!(
        log.read(&mut disk, 3, 1, None),
        Err(LogError::CorruptData { .. })
    ));
}

#[test]
fn truncate_to_cuts_whole_batches_durably() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let written = fill(&mut log, &mut disk, 30);
    assert_eq!(log.truncate_to(&mut disk, 100, NOW).unwrap(), 90);
    assert_eq!(log.truncate_to(&mut disk, 50, NOW).unwrap(), 48);
    assert_eq!(read_all(&mut log, &mut disk), written[..16].to_vec());
    drop(log);
    let (mut log, report) = open(&mut disk, small_config());
    assert_eq!(report.bytes_scanned, 0);
    assert_eq!(log.log_end_offset(), 48);
    let next = batch(1, 1, NOW);
    assert_eq!(log.append(&mut disk, &next, NOW).unwrap().base_offset, 48);
}

#[test]
fn delete_records_and_retention_remove_whole_segments() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill(&mut log, &mut disk, 30);
    let segments = log.segment_count();
    assert_eq!(log.delete_records_before(&mut disk, 40, NOW).unwrap(), 40);
    assert!(log.segment_count() < segments);
    assert!(matches!(
        log.read(&mut disk, 39, 1, None),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.read(&mut disk, 40, 1, None).unwrap().first_offset, 39);
    let config = LogConfig {
        retention_bytes: 3000,
        ..small_config()
    };
    drop(log);
    let (mut log, _) = open(&mut disk, config);
    assert_eq!(log.log_start_offset(), 40);
    let deleted = log.maintain(&mut disk, NOW).unwrap();
    assert!(!deleted.is_empty());
    assert!(log.size_bytes() <= 4096);
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0]);
    // Every record is a week old a week later: everything goes, an empty active segment stays.
    let week_later = NOW + 8 * 24 * 60 * 60 * 1000;
    log.maintain(&mut disk, week_later).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_start_offset(), 90);
    assert_eq!(log.log_end_offset(), 90);
}

/// `cleanup.policy=compact` without `delete`: neither age nor size deletes a segment (only
/// compaction may remove records). The log itself still moves its start when told to; the
/// replica refuses DeleteRecords for such a topic.
#[test]
fn a_compacted_log_without_delete_keeps_its_segments_whatever_their_age_or_size() {
    let mut disk = MemDisk::default();
    let config = LogConfig {
        retention_bytes: 3000,
        cleanup_policy: super::CleanupPolicy::parse("compact").unwrap(),
        ..small_config()
    };
    let (mut log, _) = open(&mut disk, config);
    fill(&mut log, &mut disk, 30);
    let segments = log.segment_count();
    let week_later = NOW + 8 * 24 * 60 * 60 * 1000;
    assert_eq!(
        log.maintain(&mut disk, week_later).unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!((log.segment_count(), log.log_start_offset()), (segments, 0));
    assert_eq!(log.delete_records_before(&mut disk, 40, NOW).unwrap(), 40);
    assert!(log.segment_count() < segments);
}

/// A replica's retention stops below its high watermark: segments holding offsets at or
/// above it stay, however old.
#[test]
fn retention_below_an_upper_bound_keeps_the_segments_at_and_above_it() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill(&mut log, &mut disk, 30);
    let week_later = NOW + 8 * 24 * 60 * 60 * 1000;
    log.maintain_below(&mut disk, week_later, 40).unwrap();
    let start = log.log_start_offset();
    assert!(start > 0 && start <= 40, "start {start}");
    assert!(log.read(&mut disk, 40, 1, None).is_ok());
    log.maintain_below(&mut disk, week_later, 0).unwrap();
    assert_eq!(log.log_start_offset(), start, "nothing below 0 to delete");
}

#[test]
fn segments_roll_by_time() {
    let mut disk = MemDisk::default();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let (mut log, _) = open(&mut disk, config);
    let first = batch(1, 10, NOW);
    log.append(&mut disk, &first, NOW).unwrap();
    let second = batch(1, 10, NOW + 500);
    log.append(&mut disk, &second, NOW + 500).unwrap();
    assert_eq!(log.segment_count(), 1);
    let third = batch(1, 10, NOW + 1500);
    log.append(&mut disk, &third, NOW + 1500).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill(&mut log, &mut disk, 30); // batch i has timestamps NOW + 10i .. NOW + 10i + 2
    log.close(&mut disk, NOW).unwrap();
    let (mut log, _) = open(&mut disk, small_config());
    let found = log
        .offset_for_timestamp(&mut disk, NOW + 121)
        .unwrap()
        .unwrap();
    assert_eq!((found.offset, found.timestamp), (37, NOW + 121));
    let found = log
        .offset_for_timestamp(&mut disk, NOW + 125)
        .unwrap()
        .unwrap();
    assert_eq!((found.offset, found.timestamp), (39, NOW + 130));
    assert_eq!(
        log.offset_for_timestamp(&mut disk, NOW + 10_000).unwrap(),
        None
    );
    assert_eq!(
        log.offset_for_timestamp(&mut disk, 0)
            .unwrap()
            .unwrap()
            .offset,
        0
    );
}

#[test]
fn a_lost_index_is_rebuilt_when_first_needed() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let written = fill(&mut log, &mut disk, 30);
    log.close(&mut disk, NOW).unwrap();
    disk.remove("t-0/00000000000000000000.index").unwrap();
    disk.set_contents("t-0/00000000000000000000.timeindex", vec![1, 2, 3]);
    let (mut log, _) = open(&mut disk, small_config());
    assert_eq!(read_all(&mut log, &mut disk), written);
    assert!(!disk
        .contents("t-0/00000000000000000000.index")
        .unwrap()
        .is_empty());
}

#[test]
fn a_thousand_segments_reopen_reading_only_the_tail() {
    let mut disk = MemDisk::default();
    let config = LogConfig {
        segment_bytes: 1024,
        ..LogConfig::default()
    };
    let (mut log, _) = open(&mut disk, config.clone());
    while log.segment_count() < 1000 {
        let bytes = batch(2, 200, NOW);
        log.append(&mut disk, &bytes, NOW).unwrap();
    }
    let total = log.size_bytes();
    log.close(&mut disk, NOW).unwrap();
    disk.bytes_read = 0;
    let (log, report) = open(&mut disk, config.clone());
    assert_eq!(log.segment_count(), 1000);
    assert_eq!(report.bytes_scanned, 0);
    println!(
        "clean reopen of 1000 segments ({total} bytes) read {} bytes",
        disk.bytes_read
    );
    // The checkpoint and the active segment's index entries only: far below one segment.
    assert!(
        disk.bytes_read < 1024,
        "read {} of {total} bytes at open",
        disk.bytes_read
    );
    // A crash without close rescans the active segment only.
    let mut log = log;
    let bytes = batch(2, 200, NOW);
    log.append(&mut disk, &bytes, NOW).unwrap();
    drop(log);
    disk.bytes_read = 0;
    let (_, report) = open(&mut disk, config);
    println!(
        "unclean reopen read {} bytes, scanned {}",
        disk.bytes_read, report.bytes_scanned
    );
    assert!(report.bytes_scanned <= 1024);
    assert!(
        disk.bytes_read < 4096,
        "read {} bytes at open",
        disk.bytes_read
    );
}

#[test]
fn config_typos_are_clear_errors() {
    let mut disk = MemDisk::default();
    let config = LogConfig {
        segment_bytes: 10,
        ..LogConfig::default()
    };
    let error = Log::open(&mut disk, "t-0", config, NOW).unwrap_err();
    assert!(error.to_string().contains("segment.bytes"), "{error}");
}

#[test]
fn a_bad_header_after_a_good_batch_does_not_fail_the_read_of_the_good_one() {
    // Found by log-crash-recovery seed 2244: bit rot in the length field of the batch after
    // the one being read made the read fail instead of serving the intact batch.
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, LogConfig::default());
    let written = fill(&mut log, &mut disk, 3);
    let path = "t-0/00000000000000000000.log";
    let second = written[0].len();
    disk.damage(path, |bytes| bytes[second + 8] ^= 0x80);
    let slice = log.read(&mut disk, 0, usize::MAX, None).unwrap();
    assert_eq!(slice.bytes, written[0]);
    assert_eq!(slice.next_offset, 3);
    assert!(matches!(
        log.read(&mut disk, 3, 1, None),
        Err(LogError::CorruptData { .. })
    ));
}

#[test]
fn a_range_read_names_the_bytes_a_read_returns() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let written = fill(&mut log, &mut disk, 40);
    let one = written[0].len();
    for offset in 0..=log.log_end_offset() {
        for max_bytes in [1, one * 2, one * 5 / 2, usize::MAX] {
            for max_offset in [None, Some(offset + 4), Some(offset)] {
                let slice = log.read(&mut disk, offset, max_bytes, max_offset).unwrap();
                let range = log
                    .read_range(&mut disk, offset, max_bytes, max_offset)
                    .unwrap();
                let case = format!("offset {offset}, max {max_bytes}, upper {max_offset:?}");
                assert_eq!(range.path, slice.path, "{case}");
                assert_eq!(range.position, slice.position, "{case}");
                assert_eq!(range.len, slice.bytes.len() as u64, "{case}");
                assert_eq!(range.first_offset, slice.first_offset, "{case}");
                assert_eq!(range.next_offset, slice.next_offset, "{case}");
                let mut bytes = vec![0; range.len as usize];
                crate::disk::read_exact_at(&mut disk, &range.path, range.position, &mut bytes)
                    .unwrap();
                assert_eq!(bytes, slice.bytes, "{case}");
            }
        }
    }
    assert!(matches!(
        log.read_range(&mut disk, 121, 100, None),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn a_range_read_leaves_crcs_to_the_consumer_but_stops_at_a_broken_header() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, LogConfig::default());
    let written = fill(&mut log, &mut disk, 4);
    let path = "t-0/00000000000000000000.log";
    let second = written[0].len();
    // A record byte of the second batch: its CRC fails, its header still continues the log.
    disk.damage(path, |bytes| bytes[second + 70] ^= 4);
    assert!(matches!(
        log.read(&mut disk, 3, 1, None),
        Err(LogError::CorruptData { .. })
    ));
    let range = log.read_range(&mut disk, 0, usize::MAX, None).unwrap();
    assert_eq!(
        range.len as usize,
        written.iter().map(Vec::len).sum::<usize>()
    );
    // The third batch's base offset: the range ends before it, and a range read from it fails.
    let third = second * 2;
    disk.damage(path, |bytes| bytes[third + 7] ^= 1);
    let range = log.read_range(&mut disk, 0, usize::MAX, None).unwrap();
    assert_eq!((range.len as usize, range.next_offset), (third, 6));
    assert!(matches!(
        log.read_range(&mut disk, 6, 1, None),
        Err(LogError::CorruptData { .. })
    ));
}

/// A follower whose log ends below its leader's log start starts over there: empty, at the
/// leader's start, and appends continue from it after a reopen.
#[test]
fn truncating_fully_starts_an_empty_log_at_the_offset() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill(&mut log, &mut disk, 30);
    assert!(log.segment_count() > 1);
    log.truncate_fully_and_start_at(&mut disk, 500, NOW)
        .unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (500, 500));
    assert_eq!(log.segment_base_offsets(), vec![500]);
    drop(log);
    let (mut log, _) = open(&mut disk, small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (500, 500));
    fill(&mut log, &mut disk, 2);
    assert_eq!(log.log_end_offset(), 506);
    assert_eq!(read_all(&mut log, &mut disk).len(), 2);
    // Emptied at 506, it may start over below, at the base of the leader's batch that
    // holds its log start (KAFKA-6179).
    log.delete_records_before(&mut disk, 506, NOW).unwrap();
    log.truncate_fully_and_start_at(&mut disk, 504, NOW)
        .unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (504, 504));
    drop(log);
    let (log, _) = open(&mut disk, small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (504, 504));
}

/// A machine crash at any disk call of the restart leaves either the old log, whole, or the
/// new empty one: never both, never neither.
#[test]
fn a_crash_while_truncating_fully_keeps_the_old_log_or_the_new_one() {
    let mut base = MemDisk::default();
    let (mut log, _) = open(&mut base, small_config());
    let written = fill(&mut log, &mut base, 30);
    let end = log.log_end_offset();
    drop(log);
    let mut outcomes = std::collections::BTreeSet::new();
    for calls in 0.. {
        let mut disk = base.clone();
        let (mut log, _) = open(&mut disk, small_config());
        disk.crash_after_calls = Some(calls);
        let done = log.truncate_fully_and_start_at(&mut disk, 500, NOW).is_ok();
        drop(log);
        disk.crash_machine(&mut crate::rng::SplitMix64::new(calls));
        let (mut log, _) = open(&mut disk, small_config());
        let state = (log.log_start_offset(), log.log_end_offset());
        if state == (0, end) {
            assert_eq!(read_all(&mut log, &mut disk).concat(), written.concat());
        } else {
            assert_eq!(state, (500, 500), "after a crash at call {calls}");
        }
        outcomes.insert(state);
        if done {
            break;
        }
    }
    assert_eq!(outcomes.len(), 2, "both outcomes reached: {outcomes:?}");
}

/// A full disk at DeleteRecords' checkpoint leaves the log usable: the deletion is not done
/// (and not claimed), and it goes through once there is room again.
#[test]
fn a_full_disk_at_a_checkpoint_fails_the_step_not_the_log() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill(&mut log, &mut disk, 30);
    let segments = log.segment_count();
    disk.full = true;
    assert!(matches!(
        log.delete_records_before(&mut disk, 40, NOW),
        Err(LogError::Disk(DiskError::NoSpace))
    ));
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.segment_count(), segments);
    assert!(log.failure().is_none());
    assert!(log.read(&mut disk, 0, 1, None).is_ok());
    disk.full = false;
    assert_eq!(log.delete_records_before(&mut disk, 40, NOW).unwrap(), 40);
    drop(log);
    let (log, _) = open(&mut disk, small_config());
    assert_eq!(log.log_start_offset(), 40);
}

/// Appends batches without syncing until the log has rolled at least once.
fn fill_unsynced_past_a_roll(log: &mut Log, disk: &mut MemDisk) {
    while log.segment_count() < 2 {
        let bytes = batch(3, 100, NOW);
        log.append_unsynced(disk, &bytes, NOW).expect("append");
    }
}

/// A roll syncs nothing on the caller's thread: the next flush names the rolled segment's
/// files and the directory, the recovery point passes the rolled segment only when it
/// completes, and the checkpoint it wants comes out then.
#[test]
fn a_roll_leaves_its_syncs_and_checkpoint_to_the_next_flush() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill_unsynced_past_a_roll(&mut log, &mut disk);
    let rolled = log.segment_base_offsets()[1];
    assert!(log.structural_flush_wanted());
    assert!(log.recovery_point() < rolled);
    assert!(
        log.take_io().is_empty(),
        "no checkpoint before the flush completes"
    );
    let flush = log
        .flush_begin(Some(&mut disk), NOW)
        .unwrap()
        .expect("a flush");
    let first = format!("t-0/{:020}", 0);
    for suffix in [".log", ".index", ".timeindex"] {
        assert!(
            flush.files.contains(&format!("{first}{suffix}")),
            "{flush:?}"
        );
    }
    assert_eq!(flush.dirs, ["t-0"]);
    assert!(log.take_io().is_empty());
    log.flush_done(flush.upto).unwrap();
    assert_eq!(log.recovery_point(), log.log_end_offset());
    assert!(!log.structural_flush_wanted());
    let io = log.take_io();
    assert_eq!(io.len(), 1, "the checkpoint at the flushed end");
    assert_eq!(io[0].name, "checkpoint");
}

/// A cut below the recovery point changes no file until its lowered checkpoint is durable,
/// and appends wait for it meanwhile.
#[test]
fn a_cut_waits_for_its_lowered_checkpoint_before_touching_the_files() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    fill(&mut log, &mut disk, 30);
    let files = disk.list("t-0").unwrap();
    let first_len = disk.len(&format!("t-0/{:020}.log", 0)).unwrap();
    log.truncate_to_unsynced(&mut disk, 5, NOW).unwrap();
    assert!(log.log_end_offset() <= 5);
    assert_eq!(disk.list("t-0").unwrap(), files, "no segment removed yet");
    assert_eq!(disk.len(&format!("t-0/{:020}.log", 0)).unwrap(), first_len);
    let more = batch(1, 10, NOW);
    assert_eq!(
        log.append_unsynced(&mut disk, &more, NOW),
        Err(LogError::CutPending)
    );
    assert!(log.flush_begin(Some(&mut disk), NOW).unwrap().is_none());
    let io = log.take_io();
    assert_eq!(io.len(), 1);
    crate::disk::replace_file(&mut disk, "t-0", io[0].name, &io[0].bytes).unwrap();
    log.io_done(&mut disk, io[0].seq, Ok(())).unwrap();
    assert_eq!(log.cut_pending(), None);
    assert!(
        disk.list("t-0").unwrap().len() < files.len(),
        "later segments removed"
    );
    assert!(disk.len(&format!("t-0/{:020}.log", 0)).unwrap() < first_len);
    log.append_unsynced(&mut disk, &more, NOW).unwrap();
    log.flush(&mut disk, NOW).unwrap();
    drop(log);
    let (log, _) = open(&mut disk, small_config());
    assert_eq!(log.log_end_offset(), log.log_start_offset() + 1 + 3);
}

/// A gathered append stores what stamping the batch in place stored: the leader's epoch and
/// offsets where it passes them, the batch's own epoch otherwise, and the rest as sent.
#[test]
fn appends_store_the_batch_as_stamping_it_in_place_did() {
    let mut disk = MemDisk::default();
    let (mut log, _) = open(&mut disk, small_config());
    let mut expected = Vec::new();
    for i in 0..12 {
        let sent = batch(1 + i % 3, 200, NOW + i as i64);
        let mut stamped = sent.clone();
        let info = if i % 2 == 0 {
            let checked = RecordBatch::parse(&sent).unwrap().validated_header();
            log.append_validated_unsynced(&mut disk, &sent, checked, 7, NOW)
                .unwrap()
        } else {
            stamp_partition_leader_epoch(&mut stamped, 3);
            log.append_unsynced(&mut disk, &stamped, NOW).unwrap()
        };
        stamp_base_offset(&mut stamped, info.base_offset);
        if i % 2 == 0 {
            stamp_partition_leader_epoch(&mut stamped, 7);
        }
        expected.push(stamped);
    }
    assert!(log.segment_count() > 1, "across a roll");
    let mut stored = Vec::new();
    for base in log.segment_base_offsets() {
        stored.extend_from_slice(disk.contents(&format!("t-0/{base:020}.log")).unwrap());
    }
    assert_eq!(stored, expected.concat());
    assert_eq!(read_all(&mut log, &mut disk), expected);
}

/// The checks that are the log's hold for a batch whose CRC its caller checked, and the full
/// append still checks the CRC itself.
#[test]
fn a_validated_batch_still_gets_the_logs_checks_and_a_corrupt_one_the_crc_check() {
    let mut disk = MemDisk::default();
    let config = LogConfig {
        max_message_bytes: 2000,
        ..LogConfig::default()
    };
    let (mut log, _) = open(&mut disk, config);
    let mut corrupt = batch(2, 10, NOW);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x40;
    assert!(matches!(
        log.append_unsynced(&mut disk, &corrupt, NOW),
        Err(LogError::InvalidBatch(BatchError::CrcMismatch { .. }))
    ));
    let large = batch(30, 100, NOW);
    let checked = RecordBatch::parse(&large).unwrap().validated_header();
    assert!(matches!(
        log.append_validated_unsynced(&mut disk, &large, checked, 1, NOW),
        Err(LogError::BatchTooLarge { .. })
    ));
    let mut trailing = batch(1, 10, NOW);
    let checked = RecordBatch::parse(&trailing).unwrap().validated_header();
    trailing.push(0);
    assert!(matches!(
        log.append_validated_unsynced(&mut disk, &trailing, checked, 1, NOW),
        Err(LogError::InvalidBatch(BatchError::InvalidHeader(_)))
    ));
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
}
