//! The byte-level writer and reader the peer codec is built on: big-endian integers, `u32`
//! lengths, and a reader that checks every length against the bytes left in the frame before
//! it takes or allocates anything.

use bytes::Bytes;
use sluice_core::api::{FetchRecords, FileRange};

use super::{DecodeError, EncodeError};
use crate::fetch_frame::FramePart;

/// Appends fields to a frame body. Records left in a segment file become a slot of the
/// frame ([`FramePart::File`]) that the driver fills from the file.
pub(super) struct Writer {
    pub(super) out: Vec<u8>,
    /// What came before `out`: bytes and file slots, in wire order.
    pub(super) parts: Vec<FramePart>,
    /// The file range of each slot.
    pub(super) files: Vec<FileRange>,
}

impl Writer {
    /// A fetch answer's records: their bytes, or a slot for the file they lie in.
    pub(super) fn records(&mut self, records: &FetchRecords) -> Result<(), EncodeError> {
        match records {
            FetchRecords::Bytes(bytes) => self.bytes(bytes),
            FetchRecords::File(range) => {
                self.len(range.len as usize)?;
                let before = std::mem::take(&mut self.out);
                self.parts.push(FramePart::Bytes(before));
                self.parts.push(FramePart::File(self.files.len()));
                self.files.push(range.clone());
                Ok(())
            }
        }
    }

    pub(super) fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    pub(super) fn bool(&mut self, value: bool) {
        self.out.push(u8::from(value));
    }

    pub(super) fn u16(&mut self, value: u16) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn i16(&mut self, value: i16) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn i32(&mut self, value: i32) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn i64(&mut self, value: i64) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn u64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn u128(&mut self, value: u128) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn option_i32(&mut self, value: Option<i32>) {
        self.bool(value.is_some());
        self.i32(value.unwrap_or(0));
    }

    pub(super) fn option_u64(&mut self, value: Option<u64>) {
        self.bool(value.is_some());
        self.u64(value.unwrap_or(0));
    }

    /// A count or byte length; the frame's own `i32` size bounds it anyway.
    pub(super) fn len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = u32::try_from(len).map_err(|_| EncodeError::TooLarge)?;
        self.u32(len);
        Ok(())
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.len(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    pub(super) fn string(&mut self, value: &str) -> Result<(), EncodeError> {
        self.bytes(value.as_bytes())
    }

    pub(super) fn i32s(&mut self, values: &[i32]) -> Result<(), EncodeError> {
        self.len(values.len())?;
        values.iter().for_each(|value| self.i32(*value));
        Ok(())
    }

    /// A count, then each element as `each` writes it.
    pub(super) fn list<T>(
        &mut self,
        items: &[T],
        mut each: impl FnMut(&mut Writer, &T) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.len(items.len())?;
        items.iter().try_for_each(|item| each(self, item))
    }
}

/// Reads fields from a frame body; every read fails with [`DecodeError::Truncated`] rather
/// than reading past the end.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
    /// The frame `rest` lies in, when it is shared: record bytes are sliced from it.
    frame: Option<&'a Bytes>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            rest: bytes,
            frame: None,
        }
    }

    /// A reader whose record bytes are slices of `frame`, not copies.
    pub(super) fn shared(frame: &'a Bytes) -> Reader<'a> {
        Reader {
            rest: frame,
            frame: Some(frame),
        }
    }

    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(super) fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if len > self.rest.len() {
            return Err(DecodeError::Truncated { what });
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue { what }),
        }
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(super) fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    pub(super) fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(super) fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    pub(super) fn u128(&mut self, what: &'static str) -> Result<u128, DecodeError> {
        Ok(u128::from_be_bytes(self.array(what)?))
    }

    pub(super) fn option_i32(&mut self, what: &'static str) -> Result<Option<i32>, DecodeError> {
        let present = self.bool(what)?;
        let value = self.i32(what)?;
        Ok(present.then_some(value))
    }

    pub(super) fn option_u64(&mut self, what: &'static str) -> Result<Option<u64>, DecodeError> {
        let present = self.bool(what)?;
        let value = self.u64(what)?;
        Ok(present.then_some(value))
    }

    /// A length that the bytes left can hold, at `unit` bytes or more per element: a hostile
    /// count is refused before anything is sized by it.
    fn len(&mut self, unit: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = usize::try_from(self.u32(what)?).map_err(|_| DecodeError::TooLong { what })?;
        match len.checked_mul(unit) {
            Some(bytes) if bytes <= self.rest.len() => Ok(len),
            _ => Err(DecodeError::TooLong { what }),
        }
    }

    pub(super) fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        let len = self.len(1, what)?;
        Ok(self.take(len, what)?.to_vec())
    }

    /// Record bytes: a slice of a shared frame, or a copy.
    pub(super) fn records(&mut self, what: &'static str) -> Result<Bytes, DecodeError> {
        let len = self.len(1, what)?;
        let taken = self.take(len, what)?;
        Ok(match self.frame {
            Some(frame) => frame.slice_ref(taken),
            None => Bytes::copy_from_slice(taken),
        })
    }

    pub(super) fn take_len_prefixed(
        &mut self,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.len(1, what)?;
        self.take(len, what)
    }

    pub(super) fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = self.len(1, what)?;
        let bytes = self.take(len, what)?;
        let text = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidValue { what })?;
        Ok(text.to_string())
    }

    pub(super) fn i32s(&mut self, what: &'static str) -> Result<Vec<i32>, DecodeError> {
        let len = self.len(4, what)?;
        (0..len).map(|_| self.i32(what)).collect()
    }

    /// A count, then that many elements as `each` reads them. Every element takes at least
    /// `unit` bytes on the wire, so the count is checked against that before any element.
    pub(super) fn list<T>(
        &mut self,
        unit: usize,
        what: &'static str,
        mut each: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.len(unit.max(1), what)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(each(self)?);
        }
        Ok(items)
    }
}
