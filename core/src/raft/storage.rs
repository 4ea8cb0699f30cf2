//! The two small files a Raft node replaces whole: its hard state (term and vote) and its
//! snapshot. Each is written to a temporary name, synced, renamed over the old one and made
//! durable with `sync_dir`, so a crash at any step leaves the old or the new file whole (the
//! same dance as the partition log's checkpoint). Each carries a CRC-32C so bit rot is seen.

use super::error::RaftError;
use super::message::NodeId;
use crate::disk::{read_exact_at, Disk, DiskError};
use crate::record::crc32c;

/// File name of the hard state inside the node's directory.
pub const STATE_NAME: &str = "state";
/// File name of the snapshot inside the node's directory.
pub const SNAPSHOT_NAME: &str = "snapshot";

const VERSION: u16 = 1;
const STATE_BYTES: usize = 2 + 8 + 1 + 4 + 4;
const SNAPSHOT_HEADER_BYTES: usize = 2 + 8 + 8;
const CRC_BYTES: usize = 4;

/// What Raft must remember across crashes before it answers anyone (Raft Figure 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: u64,
    /// Whom it voted for in `term`.
    pub voted_for: Option<NodeId>,
}

impl HardState {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_BYTES);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.term.to_be_bytes());
        out.push(u8::from(self.voted_for.is_some()));
        out.extend_from_slice(&self.voted_for.map_or(0, |id| id.0).to_be_bytes());
        seal(&mut out);
        assert_eq!(out.len(), STATE_BYTES);
        out
    }

    fn decode(bytes: &[u8]) -> Option<HardState> {
        let body = unseal(bytes)?;
        if body.len() != STATE_BYTES - CRC_BYTES || be_u16(&body[0..2]) != VERSION {
            return None;
        }
        let voted_for = match body[10] {
            0 => None,
            1 => Some(NodeId(u32::from_be_bytes(body[11..15].try_into().ok()?))),
            _ => return None,
        };
        Some(HardState {
            term: be_u64(&body[2..10]),
            voted_for,
        })
    }
}

/// A persisted snapshot: the application's state through `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last index it covers.
    pub index: u64,
    /// The term of that entry.
    pub term: u64,
    /// The application's bytes.
    pub data: Vec<u8>,
}

impl Snapshot {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + self.data.len() + CRC_BYTES);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.term.to_be_bytes());
        out.extend_from_slice(&self.data);
        seal(&mut out);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Snapshot> {
        let body = unseal(bytes)?;
        if body.len() < SNAPSHOT_HEADER_BYTES || be_u16(&body[0..2]) != VERSION {
            return None;
        }
        let snapshot = Snapshot {
            index: be_u64(&body[2..10]),
            term: be_u64(&body[10..18]),
            data: body[SNAPSHOT_HEADER_BYTES..].to_vec(),
        };
        (snapshot.index > 0 && snapshot.term > 0).then_some(snapshot)
    }
}

/// Reads the hard state in `dir`; a node that never persisted one starts at term 0.
pub fn load_hard_state<D: Disk + ?Sized>(disk: &mut D, dir: &str) -> Result<HardState, RaftError> {
    match load_file(disk, &format!("{dir}/{STATE_NAME}"))? {
        None => Ok(HardState::default()),
        Some(bytes) => HardState::decode(&bytes)
            .ok_or_else(|| RaftError::Corrupt(format!("{dir}/{STATE_NAME} fails its check"))),
    }
}

/// Durably replaces the hard state in `dir`.
pub fn store_hard_state<D: Disk + ?Sized>(
    disk: &mut D,
    dir: &str,
    state: &HardState,
) -> Result<(), DiskError> {
    replace_file(disk, dir, STATE_NAME, &state.encode())
}

/// Reads the snapshot in `dir`, if there is one.
pub fn load_snapshot<D: Disk + ?Sized>(
    disk: &mut D,
    dir: &str,
) -> Result<Option<Snapshot>, RaftError> {
    match load_file(disk, &format!("{dir}/{SNAPSHOT_NAME}"))? {
        None => Ok(None),
        Some(bytes) => Snapshot::decode(&bytes)
            .map(Some)
            .ok_or_else(|| RaftError::Corrupt(format!("{dir}/{SNAPSHOT_NAME} fails its check"))),
    }
}

/// See [`crate::disk::replace_file`].
pub use crate::disk::replace_file;

/// Removes `path`; a missing file is not an error.
pub fn remove_if_present<D: Disk + ?Sized>(disk: &mut D, path: &str) -> Result<(), DiskError> {
    match disk.remove(path) {
        Ok(()) | Err(DiskError::NotFound(_)) => Ok(()),
        Err(error) => Err(error),
    }
}

fn load_file<D: Disk + ?Sized>(disk: &mut D, path: &str) -> Result<Option<Vec<u8>>, DiskError> {
    let len = match disk.len(path) {
        Ok(len) => len,
        Err(DiskError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    let len = usize::try_from(len).map_err(|_| DiskError::Io(format!("{path}: too large")))?;
    let mut bytes = vec![0u8; len];
    read_exact_at(disk, path, 0, &mut bytes)?;
    Ok(Some(bytes))
}

fn seal(out: &mut Vec<u8>) {
    let crc = crc32c(out);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < CRC_BYTES {
        return None;
    }
    let (body, crc) = bytes.split_at(bytes.len() - CRC_BYTES);
    (crc32c(body) == u32::from_be_bytes(crc.try_into().ok()?)).then_some(body)
}

fn be_u16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes(bytes.try_into().expect("two bytes"))
}

fn be_u64(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_state_round_trips_and_detects_damage() {
        let state = HardState {
            term: 7,
            voted_for: Some(NodeId(3)),
        };
        let bytes = state.encode();
        assert_eq!(HardState::decode(&bytes), Some(state));
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(HardState::decode(&damaged), None, "bit {bit}");
        }
        assert_eq!(HardState::decode(&bytes[..5]), None);
    }

    #[test]
    fn snapshot_round_trips_and_detects_damage() {
        let snapshot = Snapshot {
            index: 40,
            term: 3,
            data: b"state".to_vec(),
        };
        let bytes = snapshot.encode();
        assert_eq!(Snapshot::decode(&bytes), Some(snapshot));
        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        assert_eq!(Snapshot::decode(&damaged), None);
        assert_eq!(Snapshot::decode(&bytes[..bytes.len() - 1]), None);
    }
}
