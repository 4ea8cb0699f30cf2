//! One controller decision as one Raft entry: the records a call returns must commit together
//! (a leader move and the fence it makes way for), so they travel as one length-prefixed batch.

use super::codec::{DecodeError, ARRAY_LEN_MAX};
use super::record::MetadataRecord;

/// Encodes `records` as one entry: a u32 count, then each record as a u32 length and its
/// [`MetadataRecord::encode`] bytes.
pub fn encode_batch(records: &[MetadataRecord]) -> Vec<u8> {
    assert!(
        records.len() <= ARRAY_LEN_MAX,
        "batch of {} records",
        records.len()
    );
    let mut out = Vec::new();
    out.extend_from_slice(&(records.len() as u32).to_be_bytes());
    for record in records {
        let bytes = record.encode();
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Decodes an entry written by [`encode_batch`]. An empty entry (a Raft leader's no-op)
/// decodes to no records.
pub fn decode_batch(mut bytes: &[u8]) -> Result<Vec<MetadataRecord>, DecodeError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let count = take_u32(&mut bytes, "batch count")? as usize;
    if count > ARRAY_LEN_MAX {
        return Err(DecodeError::TooLong {
            what: "batch count",
            len: count,
        });
    }
    // Each record takes at least its 4-byte length: a count the bytes cannot hold is refused
    // before anything is allocated for it.
    if count > bytes.len() / 4 {
        return Err(DecodeError::Truncated {
            what: "batch records",
        });
    }
    let mut records = Vec::with_capacity(count);
    for _ in 0..count {
        let len = take_u32(&mut bytes, "record length")? as usize;
        if len > bytes.len() {
            return Err(DecodeError::Truncated { what: "record" });
        }
        let (record, rest) = bytes.split_at(len);
        records.push(MetadataRecord::decode(record)?);
        bytes = rest;
    }
    if !bytes.is_empty() {
        return Err(DecodeError::TrailingBytes(bytes.len()));
    }
    Ok(records)
}

fn take_u32(bytes: &mut &[u8], what: &'static str) -> Result<u32, DecodeError> {
    if bytes.len() < 4 {
        return Err(DecodeError::Truncated { what });
    }
    let (head, rest) = bytes.split_at(4);
    *bytes = rest;
    Ok(u32::from_be_bytes(head.try_into().expect("four bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_garbage_is_refused() {
        let records = vec![
            MetadataRecord::NoOp,
            MetadataRecord::FenceBroker {
                broker_id: 3,
                broker_epoch: 7,
            },
        ];
        let bytes = encode_batch(&records);
        assert_eq!(decode_batch(&bytes).unwrap(), records);
        assert_eq!(decode_batch(&[]).unwrap(), Vec::new());
        for cut in 1..bytes.len() {
            assert!(
                decode_batch(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_batch(&trailing).is_err());
        assert!(decode_batch(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
