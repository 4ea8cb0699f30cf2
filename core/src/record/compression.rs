//! Compressing and decompressing a batch's records section, framed the way Kafka's Java
//! producer frames each codec so that every Kafka client can read what Sluice writes:
//!
//! - gzip: one RFC 1952 member (`GZIPOutputStream`), default level 6; readers accept several
//!   concatenated members, as `GZIPInputStream` does.
//! - snappy: snappy-java's block framing, see [`super::snappy`].
//! - lz4: the LZ4 frame format with 64 KiB independent blocks and no checksums beyond the
//!   header's, as Kafka's `Lz4BlockOutputStream` writes it; readers take any standard frame.
//! - zstd: standard Zstandard frames at level 3, Kafka's default.
//!
//! Decompression is capped: the records section of one batch may not expand beyond a limit, so
//! a few kilobytes of hostile input cannot claim gigabytes of memory.

use std::io::{Read, Write};

use super::attributes::Compression;
use super::cursor::corrupt;
use super::header::BatchError;
use super::snappy;

/// The default cap on the decompressed size of one batch's records section.
pub const DECOMPRESSED_BYTES_MAX: usize = 64 * 1024 * 1024;

const GZIP_LEVEL: u32 = 6;
const ZSTD_LEVEL: i32 = 3;

/// Compresses an encoded records section with `compression`.
pub fn compress(compression: Compression, records: &[u8]) -> Vec<u8> {
    match compression {
        Compression::None => records.to_vec(),
        Compression::Gzip => compress_gzip(records),
        Compression::Snappy => snappy::compress_xerial(records),
        Compression::Lz4 => compress_lz4(records),
        Compression::Zstd => {
            // Compressing into memory only fails on allocation failure or bad parameters.
            zstd::bulk::compress(records, ZSTD_LEVEL).expect("zstd compression into memory")
        }
    }
}

/// Decompresses a records section, failing with [`BatchError::CorruptRecords`] if the bytes do
/// not decode or would expand beyond `bytes_max`.
pub fn decompress(
    compression: Compression,
    compressed: &[u8],
    bytes_max: usize,
) -> Result<Vec<u8>, BatchError> {
    let records = match compression {
        Compression::None => read_capped(compressed, bytes_max, compression)?,
        Compression::Gzip => {
            let decoder = flate2::read::MultiGzDecoder::new(compressed);
            read_capped(decoder, bytes_max, compression)?
        }
        Compression::Snappy => snappy::decompress(compressed, bytes_max)?,
        Compression::Lz4 => {
            if !lz4_frames_terminated(compressed) {
                return Err(corrupt("lz4: frame without its end mark".to_owned()));
            }
            let decoder = lz4_flex::frame::FrameDecoder::new(compressed);
            read_capped(decoder, bytes_max, compression)?
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(compressed)
                .map_err(|error| corrupt(format!("zstd: {error}")))?;
            read_capped(decoder, bytes_max, compression)?
        }
    };
    assert!(records.len() <= bytes_max);
    Ok(records)
}

fn compress_gzip(records: &[u8]) -> Vec<u8> {
    let level = flate2::Compression::new(GZIP_LEVEL);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
    // Writing into a Vec cannot fail.
    encoder.write_all(records).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

fn compress_lz4(records: &[u8]) -> Vec<u8> {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
    let info = FrameInfo::new()
        .block_size(BlockSize::Max64KB)
        .block_mode(BlockMode::Independent);
    let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
    // Writing into a Vec cannot fail.
    encoder.write_all(records).expect("lz4 into memory");
    encoder.finish().expect("lz4 into memory")
}

/// Whether `input` is a run of standard LZ4 frames, each closed by its end mark.
///
/// lz4_flex takes input that stops at a block boundary for a finished frame, while Kafka's
/// reader demands the end mark; walking the block headers restores that check without
/// decoding anything.
fn lz4_frames_terminated(input: &[u8]) -> bool {
    let mut rest = input;
    while !rest.is_empty() {
        match lz4_frame_end(rest) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    true
}

/// The bytes after the frame at the start of `input`, or `None` if it does not end.
fn lz4_frame_end(input: &[u8]) -> Option<&[u8]> {
    const MAGIC: u32 = 0x184d_2204;
    let (magic, rest) = input.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*magic) != MAGIC {
        return None;
    }
    let flags = *rest.first()?;
    let content_size_bytes = if flags & 0x08 != 0 { 8 } else { 0 };
    let dictionary_id_bytes = if flags & 0x01 != 0 { 4 } else { 0 };
    let block_checksum_bytes = if flags & 0x10 != 0 { 4 } else { 0 };
    let content_checksum_bytes = if flags & 0x04 != 0 { 4 } else { 0 };
    // FLG, BD, the optional fields, then the header checksum byte.
    let mut rest = rest.get(2 + content_size_bytes + dictionary_id_bytes + 1..)?;
    loop {
        let (block_size, after) = rest.split_first_chunk::<4>()?;
        let block_size = u32::from_le_bytes(*block_size);
        if block_size == 0 {
            return after.get(content_checksum_bytes..);
        }
        // The high bit marks a block stored uncompressed; the rest is its length.
        let len = usize::try_from(block_size & 0x7fff_ffff).ok()?;
        rest = after.get(len.checked_add(block_checksum_bytes)?..)?;
    }
}

/// Reads `reader` to its end, refusing to hold more than `bytes_max` bytes.
fn read_capped(
    reader: impl Read,
    bytes_max: usize,
    compression: Compression,
) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "beyond it".
    let limit = u64::try_from(bytes_max)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|error| corrupt(format!("{compression}: {error}")))?;
    if out.len() > bytes_max {
        return Err(too_large(bytes_max));
    }
    Ok(out)
}

pub(crate) fn too_large(bytes_max: usize) -> BatchError {
    corrupt(format!("records decompress to more than {bytes_max} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivially so: a repeating pattern with a slow drift.
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
            .collect()
    }

    #[test]
    fn every_codec_round_trips_empty_small_and_multi_block_input() {
        for compression in Compression::ALL {
            for len in [0, 1, 100, 70_000, 300_000] {
                let input = sample(len);
                let compressed = compress(compression, &input);
                let output = decompress(compression, &compressed, DECOMPRESSED_BYTES_MAX);
                assert_eq!(output.as_deref(), Ok(&input[..]), "{compression} len {len}");
            }
        }
    }

    #[test]
    fn compressed_output_is_smaller_for_repetitive_input() {
        let input = vec![7u8; 100_000];
        for compression in Compression::ALL.into_iter().skip(1) {
            assert!(
                compress(compression, &input).len() < 10_000,
                "{compression}"
            );
        }
    }

    /// Reference: the LZ4 frame format (magic 0x184D2204 little-endian, FLG version 01 with
    /// block independence, BD 64 KiB), as Kafka's `Lz4BlockOutputStream` writes the header.
    #[test]
    fn lz4_header_matches_kafka() {
        let compressed = compress(Compression::Lz4, b"hello");
        assert_eq!(&compressed[..4], &[0x04, 0x22, 0x4d, 0x18]);
        assert_eq!(compressed[4], 0b0110_0000);
        assert_eq!(compressed[5], 0b0100_0000);
    }

    /// Reference: RFC 1952 member header (ID1 ID2 CM=8).
    #[test]
    fn gzip_is_an_rfc1952_member() {
        let compressed = compress(Compression::Gzip, b"hello");
        assert_eq!(&compressed[..3], &[0x1f, 0x8b, 0x08]);
    }

    #[test]
    fn gzip_reads_concatenated_members() {
        let mut both = compress(Compression::Gzip, b"hello ");
        both.extend(compress(Compression::Gzip, b"world"));
        let output = decompress(Compression::Gzip, &both, 100).unwrap();
        assert_eq!(output, b"hello world");
    }

    #[test]
    fn the_cap_is_inclusive_and_enforced_for_every_codec() {
        let input = vec![0u8; 1 << 20];
        for compression in Compression::ALL {
            let compressed = compress(compression, &input);
            assert!(decompress(compression, &compressed, input.len()).is_ok());
            let over = decompress(compression, &compressed, input.len() - 1);
            assert!(
                matches!(over, Err(BatchError::CorruptRecords(_))),
                "{compression}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error_for_every_codec() {
        for compression in Compression::ALL.into_iter().skip(1) {
            let result = decompress(compression, b"definitely not compressed", 1000);
            assert!(
                matches!(result, Err(BatchError::CorruptRecords(_))),
                "{compression}"
            );
        }
    }

    #[test]
    fn truncated_streams_are_errors() {
        let input = sample(200_000);
        for compression in Compression::ALL.into_iter().skip(1) {
            let compressed = compress(compression, &input);
            for cut in [1, 4, compressed.len() / 2] {
                let truncated = &compressed[..compressed.len() - cut];
                let result = decompress(compression, truncated, DECOMPRESSED_BYTES_MAX);
                assert!(
                    matches!(result, Err(BatchError::CorruptRecords(_))),
                    "{compression}"
                );
            }
        }
    }

    /// Reference: the LZ4 frame format allows content size, block checksums and a content
    /// checksum; Kafka's writer sets none of them, but other clients' frames may.
    #[test]
    fn lz4_reads_frames_with_optional_fields() {
        use lz4_flex::frame::{FrameEncoder, FrameInfo};
        let input = sample(100_000);
        let info = FrameInfo::new()
            .content_size(Some(input.len() as u64))
            .block_checksums(true)
            .content_checksum(true);
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(&input).unwrap();
        let framed = encoder.finish().unwrap();
        let output = decompress(Compression::Lz4, &framed, input.len());
        assert_eq!(output.as_deref(), Ok(&input[..]));
        let truncated = &framed[..framed.len() - 4];
        assert!(decompress(Compression::Lz4, truncated, input.len()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip_any_bytes(input in proptest::collection::vec(any::<u8>(), 0..5000)) {
            for compression in Compression::ALL {
                let compressed = compress(compression, &input);
                let output = decompress(compression, &compressed, input.len());
                prop_assert_eq!(output.as_deref(), Ok(&input[..]));
            }
        }

        #[test]
        fn decompress_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for compression in Compression::ALL {
                let _ = decompress(compression, &bytes, 1 << 16);
            }
        }

        #[test]
        fn decompress_never_panics_on_damaged_output(
            input in proptest::collection::vec(any::<u8>(), 0..2000),
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            for compression in Compression::ALL.into_iter().skip(1) {
                let mut compressed = compress(compression, &input);
                let at = flip.index(compressed.len());
                compressed[at] ^= 1 << bit;
                let _ = decompress(compression, &compressed, 1 << 16);
            }
        }
    }
}
