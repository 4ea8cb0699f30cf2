//! The batch `attributes` field: codec, timestamp type and the transactional, control and
//! delete-horizon flags.
//!
//! ```text
//! bits 0-2  compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
//! bit  3    timestamp type: 0 CreateTime, 1 LogAppendTime
//! bit  4    transactional (KIP-98)
//! bit  5    control batch (KIP-98 transaction markers)
//! bit  6    base timestamp is the delete horizon (KIP-534)
//! bits 7-15 unused
//! ```

use core::fmt;

use super::header::BatchError;

const CODEC_MASK: i16 = 0b111;
const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;
const DELETE_HORIZON_BIT: i16 = 1 << 6;

/// The codec that compresses a batch's records section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Compression {
    /// Records are stored as they are.
    None,
    /// gzip (RFC 1952), as `java.util.zip.GZIPOutputStream` writes it.
    Gzip,
    /// Snappy in snappy-java's (xerial) block framing.
    Snappy,
    /// The LZ4 frame format.
    Lz4,
    /// Zstandard frames (KIP-110).
    Zstd,
}

impl Compression {
    /// Every codec, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec id stored in bits 0-2 of the attributes.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec with this id; ids 5-7 fit the field but Kafka defines no codec for them.
    pub fn from_id(id: u8) -> Result<Compression, BatchError> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(BatchError::UnknownCompression(id)),
        }
    }

    /// The name Kafka's `compression.type` setting uses.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a batch's timestamps mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimestampType {
    /// Each record carries the time its producer created it.
    CreateTime,
    /// The broker's append time, stored once as the batch's max timestamp, applies to every
    /// record.
    LogAppendTime,
}

/// The 16-bit attributes field of a batch header.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attributes(i16);

impl Attributes {
    /// Attributes with the given codec and timestamp type and no flags set.
    pub fn new(compression: Compression, timestamp_type: TimestampType) -> Attributes {
        let attributes = Attributes(i16::from(compression.id()));
        attributes.with_timestamp_type(timestamp_type)
    }

    /// Wraps the raw field, keeping every bit (unknown ones included) so that a batch can be
    /// re-serialised unchanged.
    pub fn from_bits(bits: i16) -> Attributes {
        Attributes(bits)
    }

    /// The raw field.
    pub fn bits(self) -> i16 {
        self.0
    }

    /// The raw codec id in bits 0-2.
    pub fn compression_id(self) -> u8 {
        (self.0 & CODEC_MASK) as u8
    }

    /// The codec, or [`BatchError::UnknownCompression`] for ids 5-7.
    pub fn compression(self) -> Result<Compression, BatchError> {
        Compression::from_id(self.compression_id())
    }

    /// The timestamp type in bit 3.
    pub fn timestamp_type(self) -> TimestampType {
        if self.0 & TIMESTAMP_TYPE_BIT == 0 {
            TimestampType::CreateTime
        } else {
            TimestampType::LogAppendTime
        }
    }

    /// Whether the batch belongs to a transaction (bit 4).
    pub fn is_transactional(self) -> bool {
        self.0 & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records such as commit/abort markers (bit 5).
    pub fn is_control(self) -> bool {
        self.0 & CONTROL_BIT != 0
    }

    /// Whether the base timestamp holds the compaction delete horizon (bit 6).
    pub fn has_delete_horizon(self) -> bool {
        self.0 & DELETE_HORIZON_BIT != 0
    }

    /// These attributes with the codec replaced.
    pub fn with_compression(self, compression: Compression) -> Attributes {
        Attributes((self.0 & !CODEC_MASK) | i16::from(compression.id()))
    }

    /// These attributes with the timestamp type replaced.
    pub fn with_timestamp_type(self, timestamp_type: TimestampType) -> Attributes {
        let set = timestamp_type == TimestampType::LogAppendTime;
        self.with_bit(TIMESTAMP_TYPE_BIT, set)
    }

    /// These attributes with the transactional flag set or cleared.
    pub fn with_transactional(self, transactional: bool) -> Attributes {
        self.with_bit(TRANSACTIONAL_BIT, transactional)
    }

    /// These attributes with the control flag set or cleared.
    pub fn with_control(self, control: bool) -> Attributes {
        self.with_bit(CONTROL_BIT, control)
    }

    /// These attributes with the delete-horizon flag set or cleared.
    pub fn with_delete_horizon(self, delete_horizon: bool) -> Attributes {
        self.with_bit(DELETE_HORIZON_BIT, delete_horizon)
    }

    fn with_bit(self, bit: i16, set: bool) -> Attributes {
        assert!(bit.count_ones() == 1);
        if set {
            Attributes(self.0 | bit)
        } else {
            Attributes(self.0 & !bit)
        }
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attributes")
            .field("bits", &format_args!("{:#06x}", self.0))
            .field("compression_id", &self.compression_id())
            .field("timestamp_type", &self.timestamp_type())
            .field("transactional", &self.is_transactional())
            .field("control", &self.is_control())
            .field("delete_horizon", &self.has_delete_horizon())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the bit layout in Kafka's protocol documentation, "Record Batch".
    #[test]
    fn bits_match_the_documented_layout() {
        assert_eq!(
            Attributes::new(Compression::Zstd, TimestampType::CreateTime).bits(),
            4
        );
        let all = Attributes::new(Compression::Lz4, TimestampType::LogAppendTime)
            .with_transactional(true)
            .with_control(true)
            .with_delete_horizon(true);
        assert_eq!(all.bits(), 0b111_1011);
        assert!(all.is_transactional());
        assert!(all.is_control());
        assert!(all.has_delete_horizon());
        assert_eq!(all.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(all.compression(), Ok(Compression::Lz4));
        let cleared = all
            .with_transactional(false)
            .with_control(false)
            .with_delete_horizon(false)
            .with_timestamp_type(TimestampType::CreateTime)
            .with_compression(Compression::None);
        assert_eq!(cleared.bits(), 0);
    }

    #[test]
    fn codec_ids_round_trip_and_unknown_ids_are_errors() {
        for compression in Compression::ALL {
            assert_eq!(Compression::from_id(compression.id()), Ok(compression));
        }
        for id in 5..=7 {
            assert_eq!(
                Attributes::from_bits(i16::from(id)).compression(),
                Err(BatchError::UnknownCompression(id))
            );
        }
    }

    #[test]
    fn unknown_high_bits_are_kept() {
        let attributes = Attributes::from_bits(-0x8000 | 2);
        assert_eq!(attributes.compression(), Ok(Compression::Snappy));
        assert_eq!(attributes.with_control(true).bits(), -0x8000 | 0x22);
    }
}
