//! Shorthands for building histories in tests.
// Each test binary uses a subset of these.
#![allow(dead_code)]

use sluice_jepsen::{History, OpId, PartitionReads};

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
