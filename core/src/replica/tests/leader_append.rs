//! A leader's append of a produced batch: stored as stamping the batch in place stored it,
//! without editing the request's bytes, and a bad batch answered with the code it always got,
//! changing nothing.

use super::*;
use crate::log::LogConfig;
use crate::record::{compute_crc, stamp_base_offset, stamp_partition_leader_epoch};

const NOW_MS: i64 = 1_700_000_000_000;
const EPOCH: i32 = 7;
const SEGMENT: &str = "data/t-0/00000000000000000000.log";

fn leader(disk: &mut MemDisk, log: LogConfig) -> Partition {
    let config = ReplicaConfig {
        log,
        ..ReplicaConfig::default()
    };
    let state = LeaderState::new(1, EPOCH, 0, vec![1], vec![1], 0, Instant::ZERO);
    let role = ReplicaRole::Leader(state);
    Partition::open(disk, &config, "t", Uuid(1), 0, role, NOW_MS).expect("open")
}

fn built(builder: RecordBatchBuilder, values: &[&str]) -> Vec<u8> {
    let mut builder = builder;
    for value in values {
        builder.append(NOW_MS, None, Some(value.as_bytes()), &[]);
    }
    builder.build()
}

#[test]
fn a_produced_batch_is_stored_as_stamping_it_in_place_stored_it() {
    let mut disk = MemDisk::default();
    let mut partition = leader(&mut disk, LogConfig::default());
    let sent = [
        built(RecordBatchBuilder::new(Compression::None), &["a", "b"]),
        built(RecordBatchBuilder::new(Compression::Gzip), &["c", "d", "e"]),
        built(
            RecordBatchBuilder::new(Compression::None).producer(9, 0, 0),
            &["f"],
        ),
    ];
    let mut expected = Vec::new();
    for batch in &sent {
        let frame = bytes::Bytes::copy_from_slice(batch);
        let append = partition
            .append_as_leader(&mut disk, &frame, NOW_MS)
            .unwrap();
        assert!(!append.duplicate);
        assert_eq!(&frame[..], &batch[..], "the request's bytes are not edited");
        let mut stamped = batch.clone();
        stamp_base_offset(&mut stamped, append.info.base_offset);
        stamp_partition_leader_epoch(&mut stamped, EPOCH);
        expected.extend_from_slice(&stamped);
    }
    assert_eq!(disk.contents(SEGMENT), Some(&expected[..]));
    // The producer's state took the offsets the log gave, not the ones the batch was sent with.
    let retry = partition
        .append_as_leader(&mut disk, &sent[2], NOW_MS)
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.info.base_offset, 5);
    assert_eq!(disk.contents(SEGMENT), Some(&expected[..]));
}

/// `bytes` with its CRC recomputed, as a client that means them would send them.
fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    const CRC_AT: usize = 17;
    let crc = compute_crc(&bytes);
    bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn bad_batches_get_the_codes_they_always_got_and_change_nothing() {
    let mut disk = MemDisk::default();
    let log = LogConfig {
        max_message_bytes: 2000,
        ..LogConfig::default()
    };
    let mut partition = leader(&mut disk, log);
    let good = built(RecordBatchBuilder::new(Compression::None), &["a"]);
    partition
        .append_as_leader(&mut disk, &good, NOW_MS)
        .unwrap();
    let before = disk.contents(SEGMENT).unwrap().to_vec();

    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    let mut trailing = good.clone();
    trailing.push(0);
    // No records, and a count to match: the records check passes it; the log refuses it.
    let (length_at, count_at, header_bytes) = (8, 57, 61);
    let mut empty = good[..header_bytes].to_vec();
    empty[length_at..length_at + 4].copy_from_slice(&49i32.to_be_bytes());
    empty[count_at..count_at + 4].copy_from_slice(&0i32.to_be_bytes());
    let empty = with_crc(empty);
    let values: Vec<String> = (0..30).map(|i| format!("{i:0100}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let large = built(RecordBatchBuilder::new(Compression::None), &values);
    let cases: [(&str, &[u8], ErrorCode); 6] = [
        ("a bad CRC", &flipped, ErrorCode::CorruptMessage),
        (
            "a cut batch",
            &good[..good.len() - 1],
            ErrorCode::CorruptMessage,
        ),
        (
            "bytes after the batch",
            &trailing,
            ErrorCode::CorruptMessage,
        ),
        ("no records", &empty, ErrorCode::CorruptMessage),
        ("garbage", &[1, 2, 3], ErrorCode::CorruptMessage),
        ("over max.message.bytes", &large, ErrorCode::MessageTooLarge),
    ];
    for (what, batch, code) in cases {
        let refused = partition.append_as_leader(&mut disk, batch, NOW_MS);
        assert_eq!(refused, Err(code), "{what}");
        assert_eq!(partition.log_end_offset(), 1, "{what}");
        assert_eq!(disk.contents(SEGMENT), Some(&before[..]), "{what}");
        assert!(partition.offline.is_none(), "{what}");
    }
}

/// Carries out the log's and the epoch checkpoint's replaces.
fn carry_out_io(disk: &mut MemDisk, partition: &mut Partition) {
    let dir = partition.log.dir().to_string();
    for (io, name, bytes) in partition.take_io() {
        let result = crate::disk::replace_file(disk, &dir, name, &bytes);
        partition.io_done(disk, io, result).unwrap();
    }
}

#[test]
fn a_retry_of_a_batch_below_the_log_start_stays_a_duplicate_after_a_truncation_or_a_reopen() {
    // Seed 451 of idempotent-retry-failover: DeleteRecords moved the log start past a
    // producer's last batch, whose answer was lost. A follower's truncation, and a restarted
    // replica's open, rebuilt the producers from the log start: the producer was unknown,
    // and the replica, once leader, appended its retry a second time.
    let mut disk = MemDisk::default();
    let mut partition = leader(&mut disk, LogConfig::default());
    let lost = built(
        RecordBatchBuilder::new(Compression::None).producer(9, 0, 72),
        &["686"],
    );
    let other = built(
        RecordBatchBuilder::new(Compression::None).producer(8, 0, 75),
        &["687"],
    );
    for batch in [&lost, &other] {
        partition
            .append_as_leader(&mut disk, batch, NOW_MS)
            .unwrap();
    }
    partition.raise_high_watermark(2);
    assert_eq!(partition.delete_records_before(1).unwrap().0, 1);
    carry_out_io(&mut disk, &mut partition);
    let retried = |partition: &mut Partition, disk: &mut MemDisk| {
        let retry = partition.append_as_leader(disk, &lost, NOW_MS).unwrap();
        assert!(retry.duplicate);
        assert_eq!(retry.info.base_offset, 0);
        assert_eq!(partition.log_end_offset(), 2);
    };
    retried(&mut partition, &mut disk);
    // A truncation that removes nothing still rebuilds the producers.
    partition.truncate_to(&mut disk, 2, NOW_MS).unwrap();
    carry_out_io(&mut disk, &mut partition);
    retried(&mut partition, &mut disk);
    // So does a truncation that removes the other producer's batch.
    partition.truncate_to(&mut disk, 1, NOW_MS).unwrap();
    carry_out_io(&mut disk, &mut partition);
    assert!(partition.producers.producer(8).is_none());
    partition
        .append_as_leader(&mut disk, &other, NOW_MS)
        .unwrap();
    retried(&mut partition, &mut disk);
    // And a reopen.
    partition.log.flush(&mut disk, NOW_MS).unwrap();
    carry_out_io(&mut disk, &mut partition);
    drop(partition);
    let mut partition = leader(&mut disk, LogConfig::default());
    assert_eq!(partition.log.log_start_offset(), 1);
    retried(&mut partition, &mut disk);
}

/// Kafka's LogValidator: a compacted topic refuses a batch with a record that has no key
/// (INVALID_RECORD), compressed or not, and stores nothing of it; keyed batches, tombstones
/// included, go in. A topic that is not compacted takes keyless records.
#[test]
fn a_compacted_topic_refuses_a_batch_with_a_keyless_record() {
    let mut disk = MemDisk::default();
    let compacted = LogConfig {
        cleanup_policy: crate::log::CleanupPolicy::parse("compact").unwrap(),
        ..LogConfig::default()
    };
    let mut partition = leader(&mut disk, compacted);
    let mut keyed = RecordBatchBuilder::new(Compression::None);
    keyed.append(NOW_MS, Some(b"k1"), Some(b"v1"), &[]);
    keyed.append(NOW_MS, Some(b"k2"), None, &[]);
    let keyed = keyed.build();
    let appended = partition.append_as_leader(&mut disk, &keyed, NOW_MS);
    assert_eq!(appended.map(|a| a.info.base_offset), Ok(0));
    let stored = disk.contents(SEGMENT).map(<[u8]>::to_vec);
    for compression in [Compression::None, Compression::Gzip] {
        let mut mixed = RecordBatchBuilder::new(compression);
        mixed.append(NOW_MS, Some(b"k3"), Some(b"v3"), &[]);
        mixed.append(NOW_MS, None, Some(b"no key"), &[]);
        let refused = partition.append_as_leader(&mut disk, &mixed.build(), NOW_MS);
        assert_eq!(
            refused.err(),
            Some(ErrorCode::InvalidRecord),
            "{compression:?}"
        );
    }
    assert_eq!(disk.contents(SEGMENT).map(<[u8]>::to_vec), stored);
    assert_eq!(partition.log_end_offset(), 2);

    let mut disk = MemDisk::default();
    let mut plain = leader(&mut disk, LogConfig::default());
    let keyless = built(RecordBatchBuilder::new(Compression::None), &["a"]);
    assert!(plain.append_as_leader(&mut disk, &keyless, NOW_MS).is_ok());
}
