//! A bounds-checked reader over untrusted record bytes: every read either succeeds or returns
//! [`BatchError::CorruptRecords`], so decoders never index past the end.

use super::header::BatchError;
use super::varint::{decode_varint, decode_varlong};

/// Reads primitives from the front of a byte slice, advancing past them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'b> {
    rest: &'b [u8],
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Cursor<'b> {
        Cursor { rest: bytes }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn byte(&mut self, what: &str) -> Result<u8, BatchError> {
        let bytes = self.bytes(1, what)?;
        Ok(bytes[0])
    }

    /// Takes exactly `len` bytes, or fails without consuming anything.
    pub(crate) fn bytes(&mut self, len: usize, what: &str) -> Result<&'b [u8], BatchError> {
        if len > self.rest.len() {
            return Err(corrupt(format!(
                "{what}: needs {len} bytes, {} remain",
                self.rest.len()
            )));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    pub(crate) fn varint(&mut self, what: &str) -> Result<i32, BatchError> {
        let (value, used) =
            decode_varint(self.rest).map_err(|error| corrupt(format!("{what}: {error}")))?;
        self.rest = &self.rest[used..];
        Ok(value)
    }

    pub(crate) fn varlong(&mut self, what: &str) -> Result<i64, BatchError> {
        let (value, used) =
            decode_varlong(self.rest).map_err(|error| corrupt(format!("{what}: {error}")))?;
        self.rest = &self.rest[used..];
        Ok(value)
    }

    /// Reads a varint length that must be `0..=remaining` and returns it as a `usize`; the
    /// check comes before any use so that no caller allocates from an unchecked length.
    pub(crate) fn length(&mut self, what: &str) -> Result<usize, BatchError> {
        let len = self.varint(what)?;
        let Ok(len) = usize::try_from(len) else {
            return Err(corrupt(format!("{what}: negative length {len}")));
        };
        if len > self.rest.len() {
            return Err(corrupt(format!(
                "{what}: length {len} exceeds the {} remaining bytes",
                self.rest.len()
            )));
        }
        Ok(len)
    }

    /// Reads a varint length followed by that many bytes, where -1 means null.
    pub(crate) fn nullable_bytes(&mut self, what: &str) -> Result<Option<&'b [u8]>, BatchError> {
        let mut probe = *self;
        if probe.varint(what)? == -1 {
            *self = probe;
            return Ok(None);
        }
        let len = self.length(what)?;
        Ok(Some(self.bytes(len, what)?))
    }
}

pub(crate) fn corrupt(what: String) -> BatchError {
    BatchError::CorruptRecords(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_without_consuming_past_the_end() {
        let mut cursor = Cursor::new(&[0x04, 0xaa]);
        assert!(cursor.bytes(3, "x").is_err());
        assert_eq!(cursor.remaining(), 2);
        // 0x04 is the zig-zag varint 2, but only one byte follows it.
        assert!(cursor.length("len").is_err());
    }

    #[test]
    fn length_rejects_negative_values() {
        let mut cursor = Cursor::new(&[0x03, 0x00]);
        assert!(cursor.length("len").is_err());
    }

    #[test]
    fn nullable_bytes_reads_null_empty_and_present() {
        let mut cursor = Cursor::new(&[0x01, 0x00, 0x02, 0x61]);
        assert_eq!(cursor.nullable_bytes("a"), Ok(None));
        assert_eq!(cursor.nullable_bytes("b"), Ok(Some(&[][..])));
        assert_eq!(cursor.nullable_bytes("c"), Ok(Some(&[0x61][..])));
        assert!(cursor.is_empty());
    }

    #[test]
    fn nullable_bytes_rejects_lengths_below_minus_one() {
        let mut cursor = Cursor::new(&[0x03]);
        assert!(cursor.nullable_bytes("a").is_err());
    }
}
