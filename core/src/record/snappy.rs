//! Snappy as Kafka clients write it.
//!
//! The Java producer wraps snappy in snappy-java's (xerial) `SnappyOutputStream` framing:
//!
//! ```text
//! header: 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, version: i32 BE (1), compatible: i32 BE (1)
//! blocks: (compressedLength: i32 BE, raw snappy block of up to 32 KiB of input)*
//! ```
//!
//! librdkafka and other clients may instead write one raw snappy block with no framing, and
//! snappy-java's reader accepts both, telling them apart by the magic. A raw block cannot start
//! with the magic: its first bytes are the uncompressed length as a varint, and those eight
//! bytes would encode a length far beyond 32 bits.

use super::compression::too_large;
use super::cursor::corrupt;
use super::header::BatchError;

const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_BYTES: usize = 16;
const XERIAL_VERSION: i32 = 1;
const XERIAL_COMPATIBLE_VERSION: i32 = 1;
/// snappy-java's default block size, which Kafka's producer does not override.
const XERIAL_BLOCK_BYTES: usize = 32 * 1024;

/// Compresses `input` in xerial framing, as Kafka's Java producer does.
pub(crate) fn compress_xerial(input: &[u8]) -> Vec<u8> {
    let mut encoder = snap::raw::Encoder::new();
    let blocks = input.len().div_ceil(XERIAL_BLOCK_BYTES);
    let bound =
        XERIAL_HEADER_BYTES + blocks * (4 + snap::raw::max_compress_len(XERIAL_BLOCK_BYTES));
    let mut out = Vec::with_capacity(bound);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_COMPATIBLE_VERSION.to_be_bytes());
    let mut block = vec![0u8; snap::raw::max_compress_len(XERIAL_BLOCK_BYTES)];
    for chunk in input.chunks(XERIAL_BLOCK_BYTES) {
        // A chunk of at most 32 KiB is far below snappy's input limit.
        let len = encoder.compress(chunk, &mut block).expect("snappy block");
        let len_field = i32::try_from(len).expect("a snappy block is below 2 GiB");
        out.extend_from_slice(&len_field.to_be_bytes());
        out.extend_from_slice(&block[..len]);
    }
    assert!(out.len() <= bound);
    out
}

/// Decompresses xerial-framed or raw snappy, producing at most `bytes_max` bytes.
pub(crate) fn decompress(input: &[u8], bytes_max: usize) -> Result<Vec<u8>, BatchError> {
    let out = if input.starts_with(&XERIAL_MAGIC) {
        decompress_xerial(input, bytes_max)?
    } else {
        let mut out = Vec::new();
        decompress_block(input, bytes_max, &mut out)?;
        out
    };
    assert!(out.len() <= bytes_max);
    Ok(out)
}

fn decompress_xerial(input: &[u8], bytes_max: usize) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        // snappy-java's reader accepts several framed streams back to back, so a header may
        // appear where a block length is expected; block lengths are never negative, and the
        // magic's first byte would make one so, so the two cannot be confused.
        if rest.starts_with(&XERIAL_MAGIC) {
            if rest.len() < XERIAL_HEADER_BYTES {
                return Err(corrupt("snappy: truncated xerial header".to_owned()));
            }
            rest = &rest[XERIAL_HEADER_BYTES..];
            continue;
        }
        let Some((len_field, after)) = rest.split_first_chunk::<4>() else {
            return Err(corrupt("snappy: truncated xerial block length".to_owned()));
        };
        let len = i32::from_be_bytes(*len_field);
        let block = usize::try_from(len)
            .ok()
            .and_then(|len| after.get(..len))
            .ok_or_else(|| corrupt(format!("snappy: invalid xerial block length {len}")))?;
        rest = &after[block.len()..];
        let allowance = bytes_max - out.len();
        decompress_block(block, allowance, &mut out)?;
    }
    Ok(out)
}

/// Appends one raw snappy block to `out`, checking its declared length against `allowance`
/// before allocating for it.
fn decompress_block(block: &[u8], allowance: usize, out: &mut Vec<u8>) -> Result<(), BatchError> {
    let declared =
        snap::raw::decompress_len(block).map_err(|error| corrupt(format!("snappy: {error}")))?;
    if declared > allowance {
        return Err(too_large(out.len() + allowance));
    }
    let start = out.len();
    out.resize(start + declared, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|error| corrupt(format!("snappy: {error}")))?;
    if written != declared {
        return Err(corrupt(
            "snappy: block shorter than its declared length".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// snappy-java's `SnappyOutputStream` output for "foobar\n", as a third-party reader's
    /// documentation records it: header, one block of 9 bytes (length 7 varint, literal tag,
    /// the literal).
    const FOOBAR_XERIAL: [u8; 29] = [
        0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x09, 0x07, 0x18, 0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72, 0x0a,
    ];

    #[test]
    fn writes_and_reads_the_known_xerial_stream() {
        assert_eq!(compress_xerial(b"foobar\n"), FOOBAR_XERIAL);
        assert_eq!(decompress(&FOOBAR_XERIAL, 7).unwrap(), b"foobar\n");
    }

    #[test]
    fn reads_raw_snappy_blocks() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"librdkafka style")
            .unwrap();
        assert_eq!(decompress(&raw, 100).unwrap(), b"librdkafka style");
    }

    #[test]
    fn reads_concatenated_xerial_streams_and_header_only_streams() {
        let mut both = compress_xerial(b"one ");
        both.extend(compress_xerial(b"two"));
        assert_eq!(decompress(&both, 100).unwrap(), b"one two");
        assert_eq!(decompress(&compress_xerial(b""), 0).unwrap(), b"");
    }

    #[test]
    fn splits_input_into_32_kib_blocks() {
        let input = vec![1u8; XERIAL_BLOCK_BYTES * 2 + 1];
        let framed = compress_xerial(&input);
        let mut rest = &framed[XERIAL_HEADER_BYTES..];
        let mut blocks = 0;
        while !rest.is_empty() {
            let len = i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            rest = &rest[4 + len..];
            blocks += 1;
        }
        assert_eq!(blocks, 3);
        assert_eq!(decompress(&framed, input.len()).unwrap(), input);
    }

    #[test]
    fn rejects_bad_framing_and_oversized_blocks() {
        let mut negative = FOOBAR_XERIAL.to_vec();
        negative[16] = 0x80;
        assert!(decompress(&negative, 100).is_err());
        let truncated = &FOOBAR_XERIAL[..FOOBAR_XERIAL.len() - 1];
        assert!(decompress(truncated, 100).is_err());
        assert!(decompress(&FOOBAR_XERIAL[..10], 100).is_err());
        assert!(decompress(&FOOBAR_XERIAL, 6).is_err());
        // A raw block that claims 2^32 - 1 bytes must fail before allocating them.
        assert!(decompress(&[0xff, 0xff, 0xff, 0xff, 0x0f], 1 << 20).is_err());
    }
}
