//! The log's checkpoint file: log start offset and recovery point, replaced atomically.
//!
//! Kafka keeps these in per-directory `log-start-offset-checkpoint` and
//! `recovery-point-offset-checkpoint` files; Sluice keeps one small file per log so that each
//! partition's recovery is independent. The recovery point also records the byte position in
//! its segment, the index entry counts and the segment's tail state at that point, so recovery
//! resumes from exactly there without reading what came before.

use super::segment::Tail;
use crate::disk::{read_exact_at, Disk, DiskError};

/// File name of the checkpoint inside the log directory.
pub const CHECKPOINT_NAME: &str = "checkpoint";
/// Temporary name used while replacing it.
pub const CHECKPOINT_TMP_NAME: &str = "checkpoint.tmp";

const VERSION: u16 = 1;
const ENCODED_BYTES: usize = 2 + 8 * 4 + 4 * 2 + 8 * 4 + 4;
const NO_TIMESTAMP: i64 = i64::MIN;

/// What the checkpoint records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The first offset readers may see.
    pub log_start_offset: i64,
    /// Every byte before this offset was synced: recovery starts here.
    pub recovery_point: i64,
    /// Base offset of the segment holding the recovery point.
    pub recovery_segment: i64,
    /// Byte position of the recovery point in that segment.
    pub recovery_position: u64,
    /// Offset index entries of that segment that were synced with it.
    pub offset_entries: u32,
    /// Time index entries of that segment that were synced with it.
    pub time_entries: u32,
    /// The segment's tail state at the recovery point.
    pub tail: Tail,
}

impl Checkpoint {
    /// A recovery point at the first byte of segment `base`: recovery rescans that segment.
    pub fn segment_start(log_start_offset: i64, base: i64) -> Checkpoint {
        Checkpoint {
            log_start_offset,
            recovery_point: base,
            recovery_segment: base,
            recovery_position: 0,
            offset_entries: 0,
            time_entries: 0,
            tail: Tail::EMPTY,
        }
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_BYTES);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.log_start_offset.to_be_bytes());
        out.extend_from_slice(&self.recovery_point.to_be_bytes());
        out.extend_from_slice(&self.recovery_segment.to_be_bytes());
        out.extend_from_slice(&self.recovery_position.to_be_bytes());
        out.extend_from_slice(&self.offset_entries.to_be_bytes());
        out.extend_from_slice(&self.time_entries.to_be_bytes());
        out.extend_from_slice(&self.tail.bytes_since_index.to_be_bytes());
        out.extend_from_slice(&self.tail.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.tail.offset_of_max_timestamp.to_be_bytes());
        let rolling = self.tail.rolling_base_timestamp.unwrap_or(NO_TIMESTAMP);
        out.extend_from_slice(&rolling.to_be_bytes());
        let crc = crate::record::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(out.len(), ENCODED_BYTES);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Checkpoint> {
        if bytes.len() != ENCODED_BYTES {
            return None;
        }
        let (body, crc) = bytes.split_at(ENCODED_BYTES - 4);
        if crate::record::crc32c(body) != u32::from_be_bytes(crc.try_into().unwrap()) {
            return None;
        }
        if u16::from_be_bytes(body[0..2].try_into().unwrap()) != VERSION {
            return None;
        }
        let field = |at: usize| i64::from_be_bytes(body[at..at + 8].try_into().unwrap());
        let count = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().unwrap());
        let rolling = field(66);
        let checkpoint = Checkpoint {
            log_start_offset: field(2),
            recovery_point: field(10),
            recovery_segment: field(18),
            recovery_position: field(26) as u64,
            offset_entries: count(34),
            time_entries: count(38),
            tail: Tail {
                bytes_since_index: field(42) as u64,
                max_timestamp: field(50),
                offset_of_max_timestamp: field(58),
                rolling_base_timestamp: (rolling != NO_TIMESTAMP).then_some(rolling),
            },
        };
        let sane = checkpoint.log_start_offset >= 0
            && checkpoint.recovery_segment >= 0
            && checkpoint.recovery_point >= checkpoint.recovery_segment;
        sane.then_some(checkpoint)
    }
}

/// What reading the checkpoint found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// No checkpoint: a new log, or one never checkpointed.
    Missing,
    /// The file exists but does not decode (bit rot): recovery must scan everything.
    Invalid,
    /// A valid checkpoint.
    Valid(Checkpoint),
}

/// Reads the checkpoint in `dir`.
pub fn load<D: Disk + ?Sized>(disk: &mut D, dir: &str) -> Result<Loaded, DiskError> {
    let path = format!("{dir}/{CHECKPOINT_NAME}");
    let len = match disk.len(&path) {
        Ok(len) => len,
        Err(DiskError::NotFound(_)) => return Ok(Loaded::Missing),
        Err(error) => return Err(error),
    };
    if len != ENCODED_BYTES as u64 {
        return Ok(Loaded::Invalid);
    }
    let mut bytes = [0u8; ENCODED_BYTES];
    read_exact_at(disk, &path, 0, &mut bytes)?;
    Ok(Checkpoint::decode(&bytes).map_or(Loaded::Invalid, Loaded::Valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_detects_damage() {
        let checkpoint = Checkpoint {
            log_start_offset: 5,
            recovery_point: 900,
            recovery_segment: 800,
            recovery_position: 12_345,
            offset_entries: 7,
            time_entries: 3,
            tail: Tail {
                bytes_since_index: 99,
                max_timestamp: 1_700_000_000_123,
                offset_of_max_timestamp: 870,
                rolling_base_timestamp: Some(1_700_000_000_000),
            },
        };
        let bytes = checkpoint.encode();
        assert_eq!(Checkpoint::decode(&bytes), Some(checkpoint));
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Checkpoint::decode(&damaged), None, "bit {bit}");
        }
        assert_eq!(Checkpoint::decode(&bytes[..10]), None);
    }
}
