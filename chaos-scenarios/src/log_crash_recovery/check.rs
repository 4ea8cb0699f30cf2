//! The checks after every recovery: the log is a prefix of what was appended, holds every
//! batch it promised to keep, every batch reads back byte for byte with a valid CRC at
//! contiguous offsets, and the indexes agree with the data.

use sluice_core::disk::Disk;
use sluice_core::log::{Log, LogError};
use sluice_core::record::BatchHeader;
use sluice_core::rng::Rng;

use super::model::{InFlight, Model, Stored};
use crate::Failure;

/// Reads every batch from the log start to the log end, with read sizes drawn from `rng` so
/// that single-batch, multi-batch and oversized-first-batch reads all happen.
pub fn read_all(
    log: &mut Log,
    disk: &mut impl Disk,
    rng: &mut impl Rng,
) -> Result<Vec<Stored>, Failure> {
    let mut batches = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let max_bytes = rng.range_inclusive(1, 64 << 10) as usize;
        let slice = log.read(disk, offset, max_bytes, None).map_err(|error| {
            Failure::new(
                "unreadable-batch",
                format!("read at offset {offset}: {error}"),
            )
        })?;
        if slice.bytes.is_empty() {
            return Err(Failure::new(
                "read-stalled",
                format!("empty read at offset {offset}"),
            ));
        }
        offset = slice.next_offset;
        batches.extend(split(&slice.bytes));
    }
    Ok(batches)
}

/// Splits whole batches read from the log.
pub fn split(mut bytes: &[u8]) -> Vec<Stored> {
    let mut batches = Vec::new();
    while !bytes.is_empty() {
        let total = BatchHeader::parse(bytes)
            .expect("the log returned whole batches")
            .total_bytes();
        batches.push(Stored::from_bytes(bytes[..total].to_vec()));
        bytes = &bytes[total..];
    }
    batches
}

/// Checks a freshly recovered log against the model and returns the model of what it holds.
pub fn recovered(
    log: &mut Log,
    disk: &mut impl Disk,
    rng: &mut impl Rng,
    model: &Model,
) -> Result<Model, Failure> {
    let (start, end) = (log.log_start_offset(), log.log_end_offset());
    check_log_start(model, start, end)?;
    let batches = read_all(log, disk, rng)?;
    let candidates: Vec<&Stored> = model
        .candidates()
        .into_iter()
        .filter(|batch| batch.next > start)
        .collect();
    for (index, got) in batches.iter().enumerate() {
        match candidates.get(index) {
            Some(expected) if *expected == got => {}
            Some(expected) => {
                return Err(Failure::new(
                    "not-a-prefix",
                    format!(
                        "batch at offset {} differs from the one appended at {}",
                        got.base, expected.base
                    ),
                ))
            }
            None => {
                return Err(Failure::new(
                    "not-a-prefix",
                    format!("batch at offset {} was never appended", got.base),
                ))
            }
        }
    }
    let must = model.must_survive_upto();
    let required = candidates
        .iter()
        .take_while(|batch| batch.next <= must)
        .count();
    if batches.len() < required {
        let lost = candidates[batches.len()];
        let anomaly = if model.machine_crashed {
            "lost-synced-batch"
        } else {
            "lost-written-batch"
        };
        return Err(Failure::new(
            anomaly,
            format!(
                "batch at offset {} (below {must}) is gone; log end {end}",
                lost.base
            ),
        ));
    }
    let last_next = batches.last().map_or(start, |batch| batch.next);
    if last_next != end {
        return Err(Failure::new(
            "log-end-mismatch",
            format!("log end {end}, batches end at {last_next}"),
        ));
    }
    log.verify_indexes(disk)
        .map_err(|error| Failure::new("index-mismatch", error.to_string()))?;
    Ok(Model {
        batches,
        log_start: start,
        log_end: end,
        durable_upto: log.recovery_point(),
        in_flight: None,
        machine_crashed: false,
    })
}

/// The recovered log start must be the model's, or between the old and the new one when a
/// move was interrupted — never beyond the log end.
fn check_log_start(model: &Model, start: i64, end: i64) -> Result<(), Failure> {
    let low = model.log_start.min(end);
    let high = match model.in_flight {
        Some(InFlight::MoveStart(to)) => to.max(model.log_start).min(end.max(low)),
        _ => low,
    };
    if start < low || start > high {
        return Err(Failure::new(
            "log-start-mismatch",
            format!("log start {start}, expected between {low} and {high}"),
        ));
    }
    Ok(())
}

/// After bit rot: every read returns the appended bytes (the partition leader epoch, which no
/// CRC covers, excepted) or reports corruption; nothing before the rotted batch is lost.
pub fn after_rot(
    log: &mut Log,
    disk: &mut impl Disk,
    model: &Model,
    rot_base: i64,
) -> Result<bool, Failure> {
    let mut caught = false;
    let start = log.log_start_offset();
    for batch in model.batches.iter().filter(|batch| batch.next > start) {
        match log.read(disk, batch.base.max(start), 1, None) {
            // Recovery cut the log at the rotted batch.
            Ok(slice) if slice.bytes.is_empty() && batch.base >= rot_base => caught = true,
            Ok(slice) if slice.bytes.is_empty() => {
                return Err(Failure::new(
                    "lost-intact-batch",
                    format!(
                        "batch at offset {} before the rot at {rot_base} is gone",
                        batch.base
                    ),
                ))
            }
            Ok(slice) => {
                let got = &split(&slice.bytes)[0];
                if masked(&got.bytes) != masked(&batch.bytes) {
                    return Err(Failure::new(
                        "corrupt-batch-served",
                        format!("batch at offset {} read back different bytes", batch.base),
                    ));
                }
            }
            Err(LogError::CorruptData { .. }) | Err(LogError::OffsetOutOfRange { .. })
                if batch.base >= rot_base =>
            {
                caught = true;
            }
            Err(error) => {
                return Err(Failure::new(
                    "intact-batch-unreadable",
                    format!(
                        "batch at offset {} before the rot at {rot_base}: {error}",
                        batch.base
                    ),
                ))
            }
        }
    }
    Ok(caught)
}

/// The bytes with the partition leader epoch zeroed: Kafka's format leaves it outside the CRC.
fn masked(bytes: &[u8]) -> Vec<u8> {
    let mut masked = bytes.to_vec();
    masked[12..16].fill(0);
    masked
}
