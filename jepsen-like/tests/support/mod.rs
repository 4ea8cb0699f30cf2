//! Shorthands for building histories in tests.
// Each test binary uses a subset of these.
#![allow(dead_code)]

use sluice_jepsen::{History, OpId, PartitionHighWatermark, PartitionReads, Report};

/// Records a send of `value` to `partition` acknowledged at `offset`.
pub fn send_ok(
    history: &mut History,
    process: u64,
    partition: i32,
    value: u64,
    offset: i64,
) -> OpId {
    let op = history
        .invoke_send(process, partition, value)
        .expect("fresh value");
    history.ok_send(op, offset).expect("pending send");
    op
}

/// Records an OK poll by `process` that read `reads`.
pub fn poll_ok(
    history: &mut History,
    process: u64,
    reads: Vec<PartitionReads>,
    after_seek: bool,
) -> OpId {
    let op = history.invoke_poll(process);
    history
        .ok_poll(op, reads, after_seek)
        .expect("pending poll");
    op
}

/// Records an OK poll by `process` that read `reads` and reported `high_watermarks`.
pub fn poll_ok_hw(
    history: &mut History,
    process: u64,
    reads: Vec<PartitionReads>,
    high_watermarks: Vec<PartitionHighWatermark>,
    after_seek: bool,
) -> OpId {
    let op = history.invoke_poll(process);
    history
        .ok_poll_with_hw(op, reads, high_watermarks, after_seek)
        .expect("pending poll");
    op
}

/// Asserts `report` is invalid because of `kind`, with an example mentioning `needle`.
pub fn assert_flags(report: &Report, kind: &str, needle: &str) {
    assert!(
        !report.is_valid(),
        "expected {kind}, got a valid report:\n{report}"
    );
    let examples = report
        .anomalies
        .get(kind)
        .unwrap_or_else(|| panic!("no {kind} in:\n{report}"));
    assert!(
        examples.iter().any(|e| e.contains(needle)),
        "no {kind} example with {needle:?}:\n{report}"
    );
}

/// Asserts `report` found nothing at all.
pub fn assert_clean(report: &Report) {
    assert!(report.is_valid(), "{report}");
    assert!(report.anomalies.is_empty(), "{report}");
}

/// SplitMix64: a small deterministic generator, so the random tests need no dependency.
pub struct Prng(pub u64);

impl Prng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
