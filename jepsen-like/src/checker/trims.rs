//! Trims (Kafka DeleteRecords) and log start offsets: which acknowledged records were deleted on
//! purpose, and acknowledged records that vanished though nobody asked.
//!
//! A record below a partition's log start offset is gone, so an acknowledged send there that no
//! poll read is neither `lost-write` nor `unseen` when a trim deleted it. That excuse needs two
//! witnesses. Someone asked: `requested`, the highest offset of any trim that did not definitely
//! fail, since an indefinite one may have taken effect. And the broker said it happened: `told`,
//! the highest log start any client was told, by a trim's answer (its low watermark) or by a
//! Fetch or ListOffsets(earliest) answer. Records below min(requested, told), the trimmed bound,
//! are excused. A log start alone excuses nothing, because nobody asked; a request alone excuses
//! nothing, because an indefinite trim may never have run.
//!
//! The cap by `requested` keeps the excuse sound: records that a broker bug deletes past every
//! request are still judged. A trim's own answer is capped too. A correct broker's low watermark
//! never exceeds the highest offset asked for, because a trim never moves the log start past its
//! own offset and an earlier log start came from an earlier request. Trusting the answer
//! uncapped would let a broker that answers "trimmed to 50" to a request for 10 excuse 10 to 49.
//! When answers stay within requests, the bound equals max(acked, min(observed, requested)).
//!
//! A log start told above `requested` (above 0 when no trim was asked for) proves that records
//! nobody asked to delete were deleted. If an acknowledged send lies at or above `requested` and
//! below that log start, read or not, the deletion took acknowledged data: `lost-write`. If none
//! does, only records never acknowledged went, which loses no acknowledged data. `requested`
//! spans the whole history, so a request made after the log start was told still covers it:
//! the check assumes no real-time order between the admin and the consumers.

use super::observations::PartitionLog;
use crate::history::OpId;
use crate::report::{anomaly, Anomalies};

/// One partition's trims and the log starts clients were told.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Trims {
    /// The highest offset any trim that did not definitely fail asked to delete below.
    pub(crate) requested: Option<i64>,
    /// The highest log start a client was told.
    told: Option<Told>,
}

/// A log start a client was told, and the first operation told it.
#[derive(Clone, Copy, Debug)]
struct Told {
    op: OpId,
    log_start: i64,
}

impl Trims {
    /// Notes that `op`'s answer gave `log_start` as the partition's log start offset.
    pub(crate) fn log_start_told(&mut self, op: OpId, log_start: i64) {
        if self.told.is_none_or(|best| log_start > best.log_start) {
            self.told = Some(Told { op, log_start });
        }
    }

    /// Offsets below this were deleted on purpose; 0 when no trim is known to have run.
    pub(crate) fn trimmed_bound(&self) -> i64 {
        match (self.requested, self.told) {
            (Some(requested), Some(told)) => requested.min(told.log_start),
            _ => 0,
        }
    }
}

/// Reports a log start told above every trim requested of `partition`, when acknowledged sends
/// lie between the two.
pub(crate) fn vanished(partition: i32, log: &PartitionLog, anomalies: &mut Anomalies) {
    let Some(told) = log.trims.told else {
        return;
    };
    let floor = log.trims.requested.unwrap_or(0);
    let mut lost: Vec<(i64, u64, OpId)> = log
        .acked
        .iter()
        .filter(|(_, ack)| (floor..told.log_start).contains(&ack.offset))
        .map(|(value, ack)| (ack.offset, *value, ack.op))
        .collect();
    lost.sort_unstable();
    let Some(&(offset, value, op)) = lost.first() else {
        return;
    };
    let asked = match log.trims.requested {
        Some(requested) => format!("the highest trim requested was below offset {requested}"),
        None => "no trim was requested".to_owned(),
    };
    let example = format!(
        "partition {partition}: {} was told log start offset {} though {asked}; value {value} acked at offset {offset} by {op} was deleted ({} acked records in between)",
        told.op,
        told.log_start,
        lost.len()
    );
    anomalies.push(anomaly::LOST_WRITE, example);
}
