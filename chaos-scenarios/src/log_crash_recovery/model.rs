//! What the scenario knows the log must hold: the batches whose appends completed, the log
//! start, and the offset below which the log promised durability.

use sluice_core::record::{stamp_base_offset, BatchHeader};

/// A batch as stored: base offset stamped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// First offset.
    pub base: i64,
    /// The offset after it.
    pub next: i64,
    /// The bytes as the log stores them.
    pub bytes: Vec<u8>,
}

impl Stored {
    /// Wraps the bytes of one whole batch.
    pub fn from_bytes(bytes: Vec<u8>) -> Stored {
        let header = BatchHeader::parse(&bytes).expect("a built batch parses");
        Stored {
            base: header.base_offset,
            next: header.next_offset(),
            bytes,
        }
    }

    /// `bytes` stamped with `base`, as the log would store it.
    pub fn stamped(mut bytes: Vec<u8>, base: i64) -> Stored {
        stamp_base_offset(&mut bytes, base);
        Stored::from_bytes(bytes)
    }
}

/// An operation a crash interrupted: it may or may not have taken effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// An append of this batch.
    Append(Stored),
    /// A truncation to this offset.
    Truncate(i64),
    /// A move of the log start, to at most this offset (DeleteRecords or retention).
    MoveStart(i64),
    /// A flush, maintenance or open: changes nothing the model tracks.
    Other,
}

/// The scenario's knowledge of the log.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Batches from the log start on, oldest first, whose appends completed.
    pub batches: Vec<Stored>,
    /// The log start offset.
    pub log_start: i64,
    /// The log end offset.
    pub log_end: i64,
    /// The log promised that every offset below this survives a machine crash.
    pub durable_upto: i64,
    /// The operation a crash interrupted, if one did.
    pub in_flight: Option<InFlight>,
    /// A machine crash (not only process crashes) happened since the last check.
    pub machine_crashed: bool,
}

impl Model {
    /// Records a completed append.
    pub fn appended(&mut self, stored: Stored) {
        assert_eq!(stored.base, self.log_end, "appends are contiguous");
        self.log_end = stored.next;
        self.batches.push(stored);
    }

    /// Records a completed truncation to `new_end`.
    pub fn truncated(&mut self, new_end: i64) {
        self.batches.retain(|batch| batch.next <= new_end);
        self.log_end = new_end;
    }

    /// Records a completed move of the log start.
    pub fn start_moved(&mut self, log_start: i64) {
        self.log_start = log_start;
        self.batches.retain(|batch| batch.next > log_start);
    }

    /// The batches a recovered log may hold, in order: the completed ones, then an interrupted
    /// append's batch.
    pub fn candidates(&self) -> Vec<&Stored> {
        let mut candidates: Vec<&Stored> = self.batches.iter().collect();
        if let Some(InFlight::Append(stored)) = &self.in_flight {
            candidates.push(stored);
        }
        candidates
    }

    /// The offset below which every completed batch must survive this recovery.
    pub fn must_survive_upto(&self) -> i64 {
        let promised = if self.machine_crashed {
            self.durable_upto
        } else {
            self.log_end
        };
        match self.in_flight {
            // A truncation in progress may legitimately have removed batches it was cutting.
            Some(InFlight::Truncate(offset)) => promised.min(offset),
            _ => promised,
        }
    }
}
