//! Size-prefixed framing: every Kafka request and response is a 4-byte big-endian length
//! followed by that many bytes.
//!
//! The limit (`socket.request.max.bytes`) is checked on the 4 length bytes alone, before anything
//! is allocated for the frame, the way Kafka's `NetworkReceive` does: a peer that claims a huge
//! frame is refused after sending 4 bytes, not after the broker has reserved room for it.
//!
//! Two forms, both sans-IO:
//! - [`parse_frame`] looks at the bytes a driver has buffered so far and says what they hold.
//! - [`FrameDecoder`] owns the buffer: push bytes in as they arrive (one at a time is fine), take
//!   whole frames out as [`Bytes`] without copying them again.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

/// Bytes in the length prefix.
pub const SIZE_PREFIX_BYTES: usize = 4;

/// Kafka's default `socket.request.max.bytes` (100 MiB): the largest request frame a broker
/// accepts, not counting the size prefix.
pub const REQUEST_BYTES_MAX_DEFAULT: usize = 104_857_600;

/// What the bytes at the head of a buffer hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameStatus {
    /// At least this many more bytes are needed before anything can be said. While the prefix
    /// is incomplete this counts only the prefix bytes still missing; once the prefix is read it
    /// counts the rest of the frame, which is never more than the limit.
    NeedMore(usize),
    /// A whole frame: its payload is `buffer[range]`, and the frame with its prefix takes
    /// `range.end` bytes, which the caller consumes.
    Frame(Range<usize>),
    /// The prefix announces a frame larger than the limit. Kafka closes the connection.
    TooLarge(usize),
    /// The prefix is negative. Kafka closes the connection.
    Negative(i32),
}

/// Looks at the head of `buffer` for one frame whose payload may be at most `frame_bytes_max`.
///
/// Never allocates and never reads past `buffer`: the answer depends only on the bytes present.
pub fn parse_frame(buffer: &[u8], frame_bytes_max: usize) -> FrameStatus {
    let Some(prefix) = buffer.first_chunk::<SIZE_PREFIX_BYTES>() else {
        return FrameStatus::NeedMore(SIZE_PREFIX_BYTES - buffer.len());
    };
    let size = i32::from_be_bytes(*prefix);
    let Ok(size) = usize::try_from(size) else {
        return FrameStatus::Negative(size);
    };
    if size > frame_bytes_max {
        return FrameStatus::TooLarge(size);
    }
    let end = SIZE_PREFIX_BYTES + size;
    if buffer.len() < end {
        return FrameStatus::NeedMore(end - buffer.len());
    }
    FrameStatus::Frame(SIZE_PREFIX_BYTES..end)
}

/// Why a [`FrameDecoder`] stopped. Once it has failed it keeps returning the same error: the
/// byte stream has lost its framing and the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The peer announced a frame of this many bytes, more than the limit.
    TooLarge {
        /// The announced payload size.
        size: usize,
        /// The limit in force.
        frame_bytes_max: usize,
    },
    /// The peer announced a negative frame size.
    Negative(i32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge {
                size,
                frame_bytes_max,
            } => write!(
                f,
                "frame of {size} bytes is larger than socket.request.max.bytes ({frame_bytes_max})"
            ),
            FrameError::Negative(size) => write!(f, "negative frame size {size}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// An incremental frame reader over a byte stream.
///
/// Call order: [`FrameDecoder::push`] whatever bytes arrived, then call
/// [`FrameDecoder::next_frame`] until it returns `Ok(None)`. The buffer only grows by what was
/// pushed, and [`FrameDecoder::bytes_wanted`] tells a driver how much to read next without ever
/// exceeding the current frame.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: BytesMut,
    frame_bytes_max: usize,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder that accepts frames of at most `frame_bytes_max` payload bytes.
    pub fn new(frame_bytes_max: usize) -> FrameDecoder {
        FrameDecoder {
            buffer: BytesMut::new(),
            frame_bytes_max,
            failed: None,
        }
    }

    /// Appends bytes received from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// The buffer for a driver to read the peer's bytes into directly (tokio's `read_buf`), in
    /// place of [`FrameDecoder::push`]: room is reserved for the rest of the frame being read
    /// at once, or for at least `min` bytes, so a large request is read with one allocation
    /// and no copy beyond the kernel's. A read may run past the frame into the next one.
    pub fn read_buffer(&mut self, min: usize) -> &mut BytesMut {
        let wanted = self.bytes_wanted().max(min);
        self.buffer.reserve(wanted);
        &mut self.buffer
    }

    /// The next whole frame's payload (without its prefix), `Ok(None)` if more bytes are needed,
    /// or the error that ended the stream.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        match parse_frame(&self.buffer, self.frame_bytes_max) {
            FrameStatus::NeedMore(_) => Ok(None),
            FrameStatus::Frame(range) => {
                let mut frame = self.buffer.split_to(range.end);
                frame.advance(range.start);
                Ok(Some(frame.freeze()))
            }
            FrameStatus::TooLarge(size) => self.fail(FrameError::TooLarge {
                size,
                frame_bytes_max: self.frame_bytes_max,
            }),
            FrameStatus::Negative(size) => self.fail(FrameError::Negative(size)),
        }
    }

    fn fail(&mut self, error: FrameError) -> Result<Option<Bytes>, FrameError> {
        self.failed = Some(error);
        self.buffer = BytesMut::new();
        Err(error)
    }

    /// How many more bytes complete the frame being read (or its prefix); 0 once a whole frame
    /// is buffered or the decoder has failed.
    pub fn bytes_wanted(&self) -> usize {
        if self.failed.is_some() {
            return 0;
        }
        match parse_frame(&self.buffer, self.frame_bytes_max) {
            FrameStatus::NeedMore(bytes) => bytes,
            _ => 0,
        }
    }

    /// Bytes buffered and not yet returned as a frame.
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut bytes = (payload.len() as i32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn parse_frame_reports_what_is_missing() {
        assert_eq!(parse_frame(&[], 100), FrameStatus::NeedMore(4));
        assert_eq!(parse_frame(&[0, 0], 100), FrameStatus::NeedMore(2));
        assert_eq!(parse_frame(&[0, 0, 0, 3], 100), FrameStatus::NeedMore(3));
        assert_eq!(parse_frame(&[0, 0, 0, 3, 9], 100), FrameStatus::NeedMore(2));
        assert_eq!(
            parse_frame(&[0, 0, 0, 3, 9, 8, 7, 6], 100),
            FrameStatus::Frame(4..7)
        );
        assert_eq!(parse_frame(&[0, 0, 0, 0], 100), FrameStatus::Frame(4..4));
    }

    #[test]
    fn parse_frame_checks_the_limit_on_the_prefix_alone() {
        // Only the 4 prefix bytes are present: the refusal must not wait for the payload.
        assert_eq!(
            parse_frame(&[0, 0, 0, 101], 100),
            FrameStatus::TooLarge(101)
        );
        assert_eq!(
            parse_frame(&[0, 0, 0, 100], 100),
            FrameStatus::NeedMore(100)
        );
        assert_eq!(
            parse_frame(&[0x7f, 0xff, 0xff, 0xff], REQUEST_BYTES_MAX_DEFAULT),
            FrameStatus::TooLarge(i32::MAX as usize)
        );
        assert_eq!(
            parse_frame(&[0xff, 0xff, 0xff, 0xff], 100),
            FrameStatus::Negative(-1)
        );
        assert_eq!(
            parse_frame(&[0x80, 0, 0, 0], 100),
            FrameStatus::Negative(i32::MIN)
        );
    }

    #[test]
    fn decoder_assembles_frames_from_single_bytes() {
        let mut stream = framed(b"first");
        stream.extend(framed(b""));
        stream.extend(framed(b"third frame"));
        let mut decoder = FrameDecoder::new(100);
        let mut frames = Vec::new();
        for byte in &stream {
            assert!(decoder.bytes_wanted() > 0);
            decoder.push(std::slice::from_ref(byte));
            while let Some(frame) = decoder.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, vec![&b"first"[..], b"", b"third frame"]);
        assert_eq!(decoder.buffered_bytes(), 0);
        assert_eq!(decoder.bytes_wanted(), 4);
    }

    #[test]
    fn decoder_returns_several_frames_from_one_push() {
        let mut stream = framed(b"a");
        stream.extend(framed(b"bc"));
        stream.extend(&framed(b"def")[..5]);
        let mut decoder = FrameDecoder::new(100);
        decoder.push(&stream);
        assert_eq!(decoder.next_frame().unwrap().unwrap(), &b"a"[..]);
        assert_eq!(decoder.next_frame().unwrap().unwrap(), &b"bc"[..]);
        assert_eq!(decoder.next_frame().unwrap(), None);
        assert_eq!(decoder.bytes_wanted(), 2);
        decoder.push(b"ef");
        assert_eq!(decoder.next_frame().unwrap().unwrap(), &b"def"[..]);
    }

    #[test]
    fn the_read_buffer_has_room_for_the_whole_frame_once_its_prefix_is_in() {
        let payload = vec![7u8; 300_000];
        let stream = framed(&payload);
        let mut decoder = FrameDecoder::new(REQUEST_BYTES_MAX_DEFAULT);
        decoder.read_buffer(16).extend_from_slice(&stream[..10]);
        assert_eq!(decoder.next_frame().unwrap(), None);
        let buffer = decoder.read_buffer(16);
        // The rest of the frame fits without growing (a read fills spare capacity only).
        assert!(buffer.capacity() - buffer.len() >= stream.len() - 10);
        buffer.extend_from_slice(&stream[10..]);
        assert_eq!(decoder.next_frame().unwrap().unwrap(), &payload[..]);
        assert_eq!(decoder.buffered_bytes(), 0);
    }

    #[test]
    fn decoder_refuses_an_oversized_frame_and_stays_failed() {
        let mut decoder = FrameDecoder::new(REQUEST_BYTES_MAX_DEFAULT);
        // 100 MiB + 1, announced byte by byte: refused as soon as the prefix is complete.
        let prefix = (REQUEST_BYTES_MAX_DEFAULT as i32 + 1).to_be_bytes();
        for byte in &prefix[..3] {
            decoder.push(std::slice::from_ref(byte));
            assert_eq!(decoder.next_frame(), Ok(None));
        }
        decoder.push(&prefix[3..]);
        let error = FrameError::TooLarge {
            size: REQUEST_BYTES_MAX_DEFAULT + 1,
            frame_bytes_max: REQUEST_BYTES_MAX_DEFAULT,
        };
        assert_eq!(decoder.next_frame(), Err(error));
        decoder.push(&[0; 64]);
        assert_eq!(decoder.buffered_bytes(), 0);
        assert_eq!(decoder.next_frame(), Err(error));
        assert_eq!(decoder.bytes_wanted(), 0);
    }

    #[test]
    fn decoder_refuses_a_negative_size() {
        let mut decoder = FrameDecoder::new(100);
        decoder.push(&(-5i32).to_be_bytes());
        assert_eq!(decoder.next_frame(), Err(FrameError::Negative(-5)));
    }

    #[test]
    fn a_frame_exactly_at_the_limit_is_accepted() {
        let mut decoder = FrameDecoder::new(8);
        decoder.push(&framed(&[7; 8]));
        assert_eq!(decoder.next_frame().unwrap().unwrap(), &[7u8; 8][..]);
    }
}
