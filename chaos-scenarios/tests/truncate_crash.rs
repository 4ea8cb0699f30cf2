//! A crash at every disk call of a truncation that removes segments: the log must reopen as a
//! prefix with no gap. Regression for log-crash-recovery seed 26.

use sluice_core::log::{Log, LogConfig};
use sluice_core::record::{Compression, RecordBatchBuilder};
use sluice_sim::{SimDisk, SimRng};

const NOW: i64 = 1_700_000_000_000;

fn batch() -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    builder.append(NOW, Some(b"k"), Some(&[7u8; 300]), &[]);
    builder.build()
}

#[test]
fn a_crash_anywhere_in_a_truncation_leaves_a_readable_prefix() {
    let config = LogConfig {
        segment_bytes: 1024,
        ..LogConfig::default()
    };
    for crash_after in 0..40 {
        let mut disk = SimDisk::new(SimRng::new(crash_after));
        let (mut log, _) = Log::open(&mut disk, "t-0", config.clone(), NOW).unwrap();
        for _ in 0..12 {
            log.append(&mut disk, &batch(), NOW).unwrap();
        }
        log.flush(&mut disk, NOW).unwrap();
        assert!(log.segment_count() >= 4);
        disk.arm_crash_after_ops(crash_after);
        let truncated = log.truncate_to(&mut disk, 2, NOW).is_ok();
        drop(log);
        disk.crash_process();
        let (mut log, _) = Log::open(&mut disk, "t-0", config.clone(), NOW).unwrap();
        let end = log.log_end_offset();
        assert!(
            end == 2 || (!truncated && end >= 2),
            "crash after {crash_after} ops: end {end}"
        );
        let mut offset = 0;
        while offset < end {
            let slice = log.read(&mut disk, offset, 1, None).unwrap();
            assert!(
                !slice.bytes.is_empty(),
                "crash after {crash_after} ops: stall at {offset}"
            );
            offset = slice.next_offset;
        }
        log.verify_indexes(&mut disk).unwrap();
    }
}
