//! What each replica knows of the idempotent producers writing to its partition (KIP-98):
//! per producer id, its epoch and its last five batches. The leader checks every client
//! batch against it before appending; every replica updates it as batches reach its log.
//!
//! The rules are Apache Kafka's (`ProducerAppendInfo.checkProducerEpoch`/`checkSequence`,
//! `ProducerStateEntry.findDuplicateBatch`, `UnifiedLog.analyzeAndValidateProducerState`):
//!
//! - an exact repeat (same epoch, same first and last sequence) of one of the last five
//!   batches is not appended again: the leader answers NONE with the original batch's offsets,
//!   as Kafka's `UnifiedLog.append` does for the duplicate `analyzeAndValidateProducerState`
//!   finds. Kafka's broker never answers DUPLICATE_SEQUENCE_NUMBER for such a retry (the
//!   client would then not learn the offset); neither does this one;
//! - an epoch older than the partition's is fenced: INVALID_PRODUCER_EPOCH (Kafka ≥ 2.7
//!   answers it instead of PRODUCER_FENCED to non-transactional producers);
//! - a newer epoch must start at sequence 0, and within an epoch each batch's first sequence
//!   must follow the previous batch's last (wrapping after `i32::MAX` to 0): otherwise
//!   OUT_OF_ORDER_SEQUENCE_NUMBER;
//! - a producer the partition does not know may start at any sequence. Since KIP-360 (Kafka
//!   2.5) the broker no longer answers UNKNOWN_PRODUCER_ID: its state may have gone with
//!   retention or expiry, and the producer's sequence is then taken as the new start.
//!
//! Followers record every batch they append, so a replica that becomes leader already holds
//! the state its log implies and needs no rebuild. Kafka keeps this state in producer
//! snapshots taken at segment rolls; Sluice rebuilds it by scanning the batch headers of
//! every stored batch when a replica opens and after every truncation, from the first segment
//! and not from the log start offset (DeleteRecords moves that past batches a producer may
//! still retry): correct, and slow for large logs until snapshots come. Producers whose
//! segments retention or DeleteRecords removed are kept until they expire, as in Kafka, also
//! across a truncation, but a reopen forgets them (Kafka's snapshots would keep them); such a
//! producer then counts as unknown, whose next batch is taken at any sequence.

use std::collections::{BTreeMap, VecDeque};

use crate::api::ErrorCode;
use crate::record::BatchHeader;

/// How many of a producer's latest batches are kept for duplicate detection: Kafka's
/// `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`, which is also the most batches its producer
/// keeps in flight per partition (`max.in.flight.requests.per.connection` ≤ 5).
pub const BATCHES_RETAINED: usize = 5;

/// Kafka's default `producer.id.expiration.ms`: one day.
pub const PRODUCER_ID_EXPIRATION_MS_DEFAULT: i64 = 86_400_000;

/// Kafka's `producer.id.expiration.check.interval.ms`: expiry runs at most this often.
const EXPIRATION_CHECK_INTERVAL_MS: i64 = 600_000;

/// One appended batch of a producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMetadata {
    /// The sequence of its first record.
    pub first_sequence: i32,
    /// The sequence of its last record.
    pub last_sequence: i32,
    /// The offset of its first record.
    pub first_offset: i64,
    /// The offset of its last record.
    pub last_offset: i64,
}

/// One producer's state on one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerEntry {
    /// Its latest epoch here.
    pub epoch: i16,
    /// Its last [`BATCHES_RETAINED`] batches of that epoch, oldest first.
    pub batches: VecDeque<BatchMetadata>,
    /// The largest timestamp of its last batch, which expiry counts from (as Kafka's
    /// `lastTimestamp`).
    pub last_timestamp: i64,
}

/// The leader's verdict on a client's batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// It repeats this batch, already in the log: answer with its offsets, append nothing.
    Duplicate(BatchMetadata),
}

/// Every producer of one partition replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerStates {
    producers: BTreeMap<i64, ProducerEntry>,
    expiration_ms: i64,
    next_expiry_check_ms: i64,
}

/// The sequence `increment` records after `sequence`, wrapping after `i32::MAX` to 0 as
/// Kafka's `DefaultRecordBatch.incrementSequence` does.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// Whether the batch carries a producer id whose sequences the partition tracks. Control
/// batches (transaction markers) carry one too, but Sluice writes none yet.
fn is_idempotent(header: &BatchHeader) -> bool {
    let control = crate::record::Attributes::from_bits(header.attributes).is_control();
    header.producer_id >= 0 && !control
}

impl ProducerStates {
    /// No producers yet; ids idle for `expiration_ms` (`producer.id.expiration.ms`) are
    /// forgotten.
    pub fn new(expiration_ms: i64) -> ProducerStates {
        ProducerStates {
            producers: BTreeMap::new(),
            expiration_ms,
            next_expiry_check_ms: i64::MIN,
        }
    }

    /// One producer's state.
    pub fn producer(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// How many producers are known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Whether no producer is known.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The leader's check of a client's batch (see the module documentation). A batch
    /// without a producer id always appends.
    pub fn check(&self, header: &BatchHeader) -> Result<SequenceCheck, ErrorCode> {
        if !is_idempotent(header) {
            return Ok(SequenceCheck::Append);
        }
        if header.base_sequence < 0 || header.producer_epoch < 0 {
            // Kafka's LogValidator refuses an idempotent batch without a sequence.
            return Err(ErrorCode::InvalidRecord);
        }
        let Some(entry) = self.producers.get(&header.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        let last_sequence = increment_sequence(header.base_sequence, header.last_offset_delta);
        if entry.epoch == header.producer_epoch {
            let same = |b: &&BatchMetadata| {
                b.first_sequence == header.base_sequence && b.last_sequence == last_sequence
            };
            if let Some(original) = entry.batches.iter().find(same) {
                return Ok(SequenceCheck::Duplicate(*original));
            }
        }
        if header.producer_epoch < entry.epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if header.producer_epoch > entry.epoch {
            return match header.base_sequence {
                0 => Ok(SequenceCheck::Append),
                _ => Err(ErrorCode::OutOfOrderSequenceNumber),
            };
        }
        match entry.batches.back() {
            Some(last) if !in_sequence(last.last_sequence, header.base_sequence) => {
                Err(ErrorCode::OutOfOrderSequenceNumber)
            }
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Records a batch the log now holds at its header's offsets, whoever wrote it: a
    /// different epoch replaces the producer's batches, as in Kafka's
    /// `ProducerStateEntry.maybeUpdateProducerEpoch`.
    pub fn record(&mut self, header: &BatchHeader) {
        if !is_idempotent(header) {
            return;
        }
        let batch = BatchMetadata {
            first_sequence: header.base_sequence,
            last_sequence: increment_sequence(header.base_sequence, header.last_offset_delta),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
        };
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert(ProducerEntry {
                epoch: header.producer_epoch,
                batches: VecDeque::new(),
                last_timestamp: header.max_timestamp,
            });
        if entry.epoch != header.producer_epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(batch);
        if entry.batches.len() > BATCHES_RETAINED {
            entry.batches.pop_front();
        }
        entry.last_timestamp = header.max_timestamp;
        assert!(entry.batches.len() <= BATCHES_RETAINED);
        assert!(!entry.batches.is_empty());
    }

    /// Takes back from `earlier`, this replica's state before a rebuild that scanned the log
    /// from `floor`, what the scan could not see: each producer's batches that end below
    /// `floor`, whose segments are gone. A producer the scan found in another epoch keeps
    /// only what the scan found; one it found in the same epoch gets them before its scanned
    /// batches, up to [`BATCHES_RETAINED`] in all.
    pub fn keep_below(&mut self, earlier: &ProducerStates, floor: i64) {
        for (&producer_id, old) in &earlier.producers {
            let below = old.batches.iter().filter(|b| b.last_offset < floor);
            let mut batches: VecDeque<BatchMetadata> = below.copied().collect();
            if batches.is_empty() {
                continue;
            }
            match self.producers.get_mut(&producer_id) {
                None => {
                    self.producers.insert(
                        producer_id,
                        ProducerEntry {
                            epoch: old.epoch,
                            batches,
                            last_timestamp: old.last_timestamp,
                        },
                    );
                }
                Some(entry) if entry.epoch == old.epoch => {
                    batches.extend(entry.batches.iter().filter(|b| b.first_offset >= floor));
                    while batches.len() > BATCHES_RETAINED {
                        batches.pop_front();
                    }
                    entry.batches = batches;
                }
                Some(_) => {}
            }
        }
    }

    /// Forgets every producer.
    pub fn clear(&mut self) {
        self.producers.clear();
    }

    /// Forgets producers whose last batch is `producer.id.expiration.ms` old at `now_ms`,
    /// checking at most every ten minutes as Kafka does.
    pub fn maybe_expire(&mut self, now_ms: i64) {
        if now_ms < self.next_expiry_check_ms {
            return;
        }
        self.next_expiry_check_ms = now_ms.saturating_add(EXPIRATION_CHECK_INTERVAL_MS);
        let expiration = self.expiration_ms;
        self.producers
            .retain(|_, entry| now_ms.saturating_sub(entry.last_timestamp) < expiration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{stamp_base_offset, Compression, RecordBatchBuilder};

    fn batch(pid: i64, epoch: i16, seq: i32, records: usize, offset: i64) -> BatchHeader {
        let mut builder = RecordBatchBuilder::new(Compression::None).producer(pid, epoch, seq);
        for _ in 0..records {
            builder.append(1_000, None, Some(b"v"), &[]);
        }
        let mut bytes = builder.build();
        stamp_base_offset(&mut bytes, offset);
        BatchHeader::parse(&bytes).unwrap()
    }

    #[test]
    fn sequences_follow_kafkas_rules() {
        let mut states = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        // Unknown producer: any start is taken (KIP-360).
        let first = batch(7, 0, 10, 3, 0);
        assert_eq!(states.check(&first), Ok(SequenceCheck::Append));
        states.record(&first);
        // Exact repeat: the original offsets.
        let original = BatchMetadata {
            first_sequence: 10,
            last_sequence: 12,
            first_offset: 0,
            last_offset: 2,
        };
        assert_eq!(
            states.check(&batch(7, 0, 10, 3, 99)),
            Ok(SequenceCheck::Duplicate(original))
        );
        // A gap, or an overlapping batch that is not an exact repeat.
        let gap = batch(7, 0, 14, 1, 3);
        assert_eq!(states.check(&gap), Err(ErrorCode::OutOfOrderSequenceNumber));
        let overlap = batch(7, 0, 10, 2, 3);
        assert_eq!(
            states.check(&overlap),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        assert_eq!(
            states.check(&batch(7, 0, 13, 1, 3)),
            Ok(SequenceCheck::Append)
        );
        // A new epoch starts at 0; an old one is fenced.
        let bumped = batch(7, 1, 5, 1, 3);
        assert_eq!(
            states.check(&bumped),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        let bumped = batch(7, 1, 0, 1, 3);
        assert_eq!(states.check(&bumped), Ok(SequenceCheck::Append));
        states.record(&bumped);
        let fenced = batch(7, 0, 13, 1, 4);
        assert_eq!(states.check(&fenced), Err(ErrorCode::InvalidProducerEpoch));
        // The original of the old epoch is no longer a duplicate either.
        let stale = batch(7, 0, 10, 3, 4);
        assert_eq!(states.check(&stale), Err(ErrorCode::InvalidProducerEpoch));
        // No producer id: no check.
        let plain = batch(-1, -1, -1, 1, 4);
        assert_eq!(states.check(&plain), Ok(SequenceCheck::Append));
    }

    #[test]
    fn keeps_five_batches_and_wraps_sequences() {
        let mut states = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        for n in 0..7 {
            states.record(&batch(1, 0, n, 1, i64::from(n)));
        }
        let entry = states.producer(1).unwrap();
        assert_eq!(entry.batches.len(), BATCHES_RETAINED);
        assert_eq!(entry.batches[0].first_sequence, 2);
        // The oldest two are gone: their retry is out of order, not a duplicate.
        let old = batch(1, 0, 1, 1, 9);
        assert_eq!(states.check(&old), Err(ErrorCode::OutOfOrderSequenceNumber));
        // Wrapping after i32::MAX.
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        let mut states = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        states.record(&batch(2, 0, i32::MAX - 1, 2, 0));
        assert_eq!(
            states.producer(2).unwrap().batches[0].last_sequence,
            i32::MAX
        );
        assert_eq!(
            states.check(&batch(2, 0, 0, 1, 2)),
            Ok(SequenceCheck::Append)
        );
    }

    #[test]
    fn idle_producers_expire() {
        let mut states = ProducerStates::new(5_000);
        states.record(&batch(1, 0, 0, 1, 0)); // timestamp 1_000
        states.maybe_expire(5_999);
        assert_eq!(states.len(), 1);
        // The next check waits for the interval.
        states.maybe_expire(6_000);
        assert_eq!(states.len(), 1);
        states.maybe_expire(5_999 + EXPIRATION_CHECK_INTERVAL_MS);
        assert!(states.is_empty());
    }
}
