//! A bounds-checked cursor over a frame's bytes, for the few things Sluice reads itself (the
//! request header and the length pre-check). Every read names how many bytes it needs and fails
//! with [`Malformed::Truncated`] instead of reading past the end; nothing here allocates.

use std::ops::Range;

use crate::request::Malformed;

/// A read position within a borrowed byte slice.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, position: 0 }
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Takes `count` bytes and returns where they are in the slice.
    pub(crate) fn take(&mut self, count: usize) -> Result<Range<usize>, Malformed> {
        if count > self.remaining() {
            return Err(Malformed::Truncated {
                offset: self.position,
                wanted: count,
                remaining: self.remaining(),
            });
        }
        let start = self.position;
        self.position += count;
        Ok(start..self.position)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let range = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[range]);
        Ok(out)
    }

    pub(crate) fn i16(&mut self) -> Result<i16, Malformed> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, Malformed> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// An unsigned varint of at most 5 bytes whose value fits in 32 bits, as Kafka's
    /// `ByteUtils.readUnsignedVarint` requires.
    pub(crate) fn unsigned_varint(&mut self) -> Result<u32, Malformed> {
        let start = self.position;
        let mut value: u64 = 0;
        for index in 0..5 {
            let byte = self.array::<1>()?[0];
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| Malformed::Varint { offset: start });
            }
        }
        Err(Malformed::Varint { offset: start })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_kafka_limits() {
        assert_eq!(Reader::new(&[0]).unsigned_varint(), Ok(0));
        assert_eq!(Reader::new(&[0x96, 0x01]).unsigned_varint(), Ok(150));
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unsigned_varint(),
            Ok(u32::MAX)
        );
        // A sixth byte, or a fifth byte carrying more than 32 bits, is malformed.
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x8f, 0x01]).unsigned_varint(),
            Err(Malformed::Varint { offset: 0 })
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f]).unsigned_varint(),
            Err(Malformed::Varint { offset: 0 })
        );
        assert!(matches!(
            Reader::new(&[0x80]).unsigned_varint(),
            Err(Malformed::Truncated { .. })
        ));
    }

    #[test]
    fn reads_never_pass_the_end() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.i16(), Ok(0x0102));
        assert_eq!(
            reader.i32(),
            Err(Malformed::Truncated {
                offset: 2,
                wanted: 4,
                remaining: 1
            })
        );
        assert_eq!(reader.take(1), Ok(2..3));
        assert_eq!(reader.remaining(), 0);
        assert_eq!(reader.take(0), Ok(3..3));
    }
}
