//! Variable-length integers as Kafka's `ByteUtils` writes them: base-128 little-endian groups
//! (protobuf's varint), zig-zag mapped for the signed forms that records use.
//!
//! Decoding is stricter than Kafka in one way: Kafka silently drops the bits of the last byte
//! that do not fit the type (the 5th byte of a varint above `0x0f`), while here they are an
//! [`VarintError::Overflow`]. No conforming writer produces them, and a value that decodes the
//! same from two different byte strings would make corruption harder to see. Non-minimal but
//! in-range encodings (`0x80 0x00` for zero) are accepted, as Kafka accepts them.

use core::fmt;

/// Most bytes an unsigned 32-bit varint can take.
pub const VARINT_BYTES_MAX: usize = 5;
/// Most bytes an unsigned 64-bit varlong can take.
pub const VARLONG_BYTES_MAX: usize = 10;

/// Why bytes are not a varint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended before a byte without the continuation bit.
    Truncated,
    /// The continuation bit is still set on the last byte the type allows.
    TooLong,
    /// The last byte carries bits beyond the width of the type.
    Overflow,
}

impl fmt::Display for VarintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarintError::Truncated => write!(f, "varint truncated"),
            VarintError::TooLong => write!(f, "varint longer than its type allows"),
            VarintError::Overflow => write!(f, "varint overflows its type"),
        }
    }
}

impl std::error::Error for VarintError {}

/// Appends `value` as an unsigned varint (1 to 5 bytes).
pub fn encode_unsigned_varint(value: u32, out: &mut Vec<u8>) {
    encode_unsigned_varlong(u64::from(value), out);
}

/// Appends `value` as an unsigned varlong (1 to 10 bytes).
pub fn encode_unsigned_varlong(mut value: u64, out: &mut Vec<u8>) {
    let start = out.len();
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    assert!(out.len() - start <= VARLONG_BYTES_MAX);
}

/// Appends `value` zig-zag encoded as a varint, as Kafka's `ByteUtils.writeVarint`.
pub fn encode_varint(value: i32, out: &mut Vec<u8>) {
    encode_unsigned_varint(zigzag32(value), out);
}

/// Appends `value` zig-zag encoded as a varlong, as Kafka's `ByteUtils.writeVarlong`.
pub fn encode_varlong(value: i64, out: &mut Vec<u8>) {
    encode_unsigned_varlong(zigzag64(value), out);
}

/// Bytes [`encode_varint`] writes for `value`.
pub fn varint_len(value: i32) -> usize {
    unsigned_len(u64::from(zigzag32(value)))
}

/// Bytes [`encode_varlong`] writes for `value`.
pub fn varlong_len(value: i64) -> usize {
    unsigned_len(zigzag64(value))
}

/// Decodes an unsigned varint from the start of `bytes`; returns it and the bytes it used.
pub fn decode_unsigned_varint(bytes: &[u8]) -> Result<(u32, usize), VarintError> {
    let (value, used) = decode_unsigned(bytes, VARINT_BYTES_MAX)?;
    assert!(used <= VARINT_BYTES_MAX);
    match u32::try_from(value) {
        Ok(value) => Ok((value, used)),
        Err(_) => Err(VarintError::Overflow),
    }
}

/// Decodes an unsigned varlong from the start of `bytes`; returns it and the bytes it used.
pub fn decode_unsigned_varlong(bytes: &[u8]) -> Result<(u64, usize), VarintError> {
    decode_unsigned(bytes, VARLONG_BYTES_MAX)
}

/// Decodes a zig-zag varint from the start of `bytes`; returns it and the bytes it used.
pub fn decode_varint(bytes: &[u8]) -> Result<(i32, usize), VarintError> {
    let (raw, used) = decode_unsigned_varint(bytes)?;
    Ok((unzigzag32(raw), used))
}

/// Decodes a zig-zag varlong from the start of `bytes`; returns it and the bytes it used.
pub fn decode_varlong(bytes: &[u8]) -> Result<(i64, usize), VarintError> {
    let (raw, used) = decode_unsigned_varlong(bytes)?;
    Ok((unzigzag64(raw), used))
}

fn decode_unsigned(bytes: &[u8], bytes_max: usize) -> Result<(u64, usize), VarintError> {
    assert!(bytes_max == VARINT_BYTES_MAX || bytes_max == VARLONG_BYTES_MAX);
    let width: u32 = if bytes_max == VARINT_BYTES_MAX {
        32
    } else {
        64
    };
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().take(bytes_max).enumerate() {
        let shift = 7 * index as u32;
        assert!(shift < width);
        let payload = u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            let room = width - shift;
            if room < 7 && payload >> room != 0 {
                return Err(VarintError::Overflow);
            }
            return Ok((value | (payload << shift), index + 1));
        }
        if index + 1 == bytes_max {
            return Err(VarintError::TooLong);
        }
        value |= payload << shift;
    }
    Err(VarintError::Truncated)
}

fn unsigned_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag32(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

fn unzigzag64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn varint_bytes(value: i32) -> Vec<u8> {
        let mut out = Vec::new();
        encode_varint(value, &mut out);
        out
    }

    fn varlong_bytes(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_varlong(value, &mut out);
        out
    }

    /// Reference: the protobuf encoding guide's zig-zag table and its 300 = `ac 02` example.
    #[test]
    fn known_answers() {
        assert_eq!(varint_bytes(0), [0x00]);
        assert_eq!(varint_bytes(-1), [0x01]);
        assert_eq!(varint_bytes(1), [0x02]);
        assert_eq!(varint_bytes(-2), [0x03]);
        assert_eq!(varint_bytes(150), [0xac, 0x02]);
        assert_eq!(varint_bytes(i32::MAX), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(varint_bytes(i32::MIN), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        let mut out = Vec::new();
        encode_unsigned_varint(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(
            varlong_bytes(i64::MIN),
            [0xff; 9].iter().chain(&[0x01]).copied().collect::<Vec<_>>()
        );
    }

    #[test]
    fn decode_rejects_truncated_too_long_and_overflow() {
        assert_eq!(decode_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(decode_varint(&[0x80, 0x80]), Err(VarintError::Truncated));
        assert_eq!(decode_varint(&[0x80; 5]), Err(VarintError::TooLong));
        assert_eq!(
            decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x10]),
            Err(VarintError::Overflow)
        );
        assert_eq!(
            decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Ok((i32::MIN, 5))
        );
        assert_eq!(decode_varlong(&[0x80; 10]), Err(VarintError::TooLong));
        let mut overflowing = vec![0xff; 9];
        overflowing.push(0x02);
        assert_eq!(decode_varlong(&overflowing), Err(VarintError::Overflow));
    }

    #[test]
    fn decode_accepts_non_minimal_encodings_like_kafka() {
        assert_eq!(decode_varint(&[0x80, 0x00]), Ok((0, 2)));
        assert_eq!(decode_varlong(&[0x81, 0x80, 0x00]), Ok((-1, 3)));
    }

    #[test]
    fn decode_stops_at_the_first_final_byte() {
        assert_eq!(decode_varint(&[0x02, 0xff, 0xff]), Ok((1, 1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn varint_round_trips(value: i32, tail: Vec<u8>) {
            let mut bytes = varint_bytes(value);
            prop_assert_eq!(bytes.len(), varint_len(value));
            let len = bytes.len();
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(decode_varint(&bytes), Ok((value, len)));
        }

        #[test]
        fn varlong_round_trips(value: i64, tail: Vec<u8>) {
            let mut bytes = varlong_bytes(value);
            prop_assert_eq!(bytes.len(), varlong_len(value));
            let len = bytes.len();
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(decode_varlong(&bytes), Ok((value, len)));
        }

        #[test]
        fn decode_never_panics(bytes: Vec<u8>) {
            let _ = decode_varint(&bytes);
            let _ = decode_varlong(&bytes);
        }
    }
}
