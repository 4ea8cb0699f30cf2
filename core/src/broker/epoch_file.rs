//! The `broker-epoch` file: the epoch of this broker's last accepted registration, kept so that
//! a restarted broker can tell the controller which registration its disk vouches for
//! (KIP-966's PreviousBrokerEpoch).
//!
//! Layout: the epoch as 8 big-endian bytes, then the CRC-32C of those bytes (4 bytes, big
//! endian). It is replaced atomically (write a twin, sync, rename, sync the directory), so a
//! crash leaves either the old or the new epoch; a file that fails its check vouches for
//! nothing.

use crate::disk::{read_exact_at, Disk, DiskError};
use crate::record::crc32c;

/// The file's name, in the replica manager's `log.dirs` directory (where Kafka keeps its
/// clean-shutdown marker).
pub const BROKER_EPOCH_FILE: &str = "broker-epoch";

const FILE_BYTES: usize = 12;

/// The epoch stored in `dir`, or `None` when there is none or it fails its check.
pub fn load(disk: &mut dyn Disk, dir: &str) -> Result<Option<i64>, DiskError> {
    let path = format!("{dir}/{BROKER_EPOCH_FILE}");
    let len = match disk.len(&path) {
        Ok(len) => len,
        Err(DiskError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    if len != FILE_BYTES as u64 {
        return Ok(None);
    }
    let mut bytes = [0u8; FILE_BYTES];
    read_exact_at(disk, &path, 0, &mut bytes)?;
    let (epoch, check) = bytes.split_at(8);
    if crc32c(epoch).to_be_bytes() != check {
        return Ok(None);
    }
    let epoch = i64::from_be_bytes(epoch.try_into().expect("8 bytes"));
    Ok((epoch >= 0).then_some(epoch))
}

/// The file's contents for `epoch`, for a durable replace of `{dir}/BROKER_EPOCH_FILE`.
pub fn encode(epoch: i64) -> Vec<u8> {
    assert!(epoch >= 0, "broker epochs handed out are not negative");
    let mut bytes = epoch.to_be_bytes().to_vec();
    bytes.extend_from_slice(&crc32c(&bytes).to_be_bytes());
    assert_eq!(bytes.len(), FILE_BYTES);
    bytes
}

/// Durably replaces the epoch stored in `dir` (on the caller's thread), as a driver carries
/// out the node's replace of it.
#[cfg(test)]
fn store(disk: &mut dyn Disk, dir: &str, epoch: i64) -> Result<(), DiskError> {
    disk.create_dir_all(dir)?;
    crate::disk::replace_file(disk, dir, BROKER_EPOCH_FILE, &encode(epoch))
}

/// Durably forgets the epoch stored in `dir`: the disk can no longer vouch for it (its
/// machine crashed since), and no later start may, until a new registration is stored.
pub fn forget(disk: &mut dyn Disk, dir: &str) -> Result<(), DiskError> {
    match disk.remove(&format!("{dir}/{BROKER_EPOCH_FILE}")) {
        Ok(()) => disk.sync_dir(dir),
        Err(DiskError::NotFound(_)) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem_disk::MemDisk;

    #[test]
    fn an_epoch_round_trips_and_damage_vouches_for_nothing() {
        let mut disk = MemDisk::default();
        assert_eq!(load(&mut disk, "data"), Ok(None));
        store(&mut disk, "data", 41).unwrap();
        store(&mut disk, "data", 42).unwrap();
        assert_eq!(load(&mut disk, "data"), Ok(Some(42)));
        disk.damage("data/broker-epoch", |bytes| bytes[7] ^= 1);
        assert_eq!(load(&mut disk, "data"), Ok(None));
        store(&mut disk, "data", 43).unwrap();
        forget(&mut disk, "data").unwrap();
        assert_eq!(load(&mut disk, "data"), Ok(None));
        forget(&mut disk, "data").unwrap();
    }
}
