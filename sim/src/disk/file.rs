//! One simulated file's bytes: what reads see, what survives a machine crash, and the unsynced
//! mutations between the two.
//!
//! Invariant: `current` is always `durable` with every `pending` mutation applied in order.
//! A machine crash keeps `durable` plus a prefix of `pending`, the last kept write possibly torn.

use sluice_core::rng::Rng;

/// An unsynced change to a file, kept so a machine crash can replay a prefix of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mutation {
    /// `data` written at `offset`.
    Write { offset: u64, data: Vec<u8> },
    /// The length set to `len`.
    Truncate { len: u64 },
}

/// A file's contents, independent of the names that point at it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inode {
    /// What reads see: the page cache.
    pub(crate) current: Vec<u8>,
    /// What survives a machine crash: the contents at the last `sync`.
    pub(crate) durable: Vec<u8>,
    /// Mutations since the last `sync`, in issue order.
    pub(crate) pending: Vec<Mutation>,
    /// Mutations ever retired from `pending` (made durable, discarded or settled by a crash):
    /// `retired + pending.len()` numbers the next one, so a sync begun earlier knows which
    /// mutations it covers.
    pub(crate) retired: u64,
}

impl Inode {
    /// The current length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.current.len() as u64
    }

    /// Writes `data` at `offset` into the current contents and remembers it as unsynced.
    pub(crate) fn write(&mut self, offset: u64, data: &[u8]) {
        if data.is_empty() {
            // Like pwrite(2) with a zero length: nothing changes, not even the length.
            return;
        }
        apply_write(&mut self.current, offset, data);
        self.pending.push(Mutation::Write {
            offset,
            data: data.to_vec(),
        });
    }

    /// Sets the current length and remembers it as unsynced.
    pub(crate) fn truncate(&mut self, len: u64) {
        apply_truncate(&mut self.current, len);
        self.pending.push(Mutation::Truncate { len });
    }

    /// Makes the current contents durable.
    pub(crate) fn sync(&mut self) {
        self.durable.clone_from(&self.current);
        self.retired += self.pending.len() as u64;
        self.pending.clear();
    }

    /// The number every mutation so far stays under: a sync begun now covers exactly them.
    pub(crate) fn mutations_issued(&self) -> u64 {
        self.retired + self.pending.len() as u64
    }

    /// Makes durable the mutations numbered below `issued` (from [`Inode::mutations_issued`]
    /// when the sync began); later ones stay unsynced, as writes issued after an fdatasync
    /// started are not covered by it.
    pub(crate) fn sync_upto(&mut self, issued: u64) {
        let covered = issued
            .saturating_sub(self.retired)
            .min(self.pending.len() as u64);
        if covered == self.pending.len() as u64 {
            self.sync();
            return;
        }
        for mutation in self.pending.drain(..covered as usize) {
            apply_mutation(&mut self.durable, &mutation);
        }
        self.retired += covered;
    }

    /// Forgets unsynced changes. Used when the file loses its last name: should a machine crash
    /// bring the name back, the contract says the file returns with its synced contents.
    pub(crate) fn discard_unsynced(&mut self) {
        self.current.clone_from(&self.durable);
        self.retired += self.pending.len() as u64;
        self.pending.clear();
    }

    /// Rebuilds `current` from `durable` and `pending`, after `durable` changed underneath
    /// (latent corruption), so the page cache still shows newer writes over the rotten byte.
    pub(crate) fn replay_pending(&mut self) {
        let mut contents = self.durable.clone();
        for mutation in &self.pending {
            apply_mutation(&mut contents, mutation);
        }
        self.current = contents;
    }

    /// A machine crash: keeps the durable contents plus a random prefix of the unsynced
    /// mutations, the last kept write possibly torn (and, with `garbage`, partly scrambled).
    /// Afterwards everything left is durable.
    pub(crate) fn crash_machine(&mut self, rng: &mut impl Rng, garbage: bool) {
        let kept = rng.range_inclusive(0, self.pending.len() as u64) as usize;
        self.retired += self.pending.len() as u64;
        let mut contents = core::mem::take(&mut self.durable);
        for (index, mutation) in self.pending.drain(..).take(kept).enumerate() {
            match mutation {
                Mutation::Write { offset, data } if index + 1 == kept => {
                    apply_torn_write(&mut contents, offset, &data, rng, garbage);
                }
                other => apply_mutation(&mut contents, &other),
            }
        }
        self.current.clone_from(&contents);
        self.durable = contents;
        assert!(self.pending.is_empty(), "a crash leaves nothing unsynced");
    }
}

fn apply_mutation(contents: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::Write { offset, data } => apply_write(contents, *offset, data),
        Mutation::Truncate { len } => apply_truncate(contents, *len),
    }
}

/// Writes `data` at `offset`, zero-filling any gap past the end.
pub(crate) fn apply_write(contents: &mut Vec<u8>, offset: u64, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let start = usize::try_from(offset).expect("file offsets are bounded by the disk");
    let end = start + data.len();
    if contents.len() < end {
        contents.resize(end, 0);
    }
    contents[start..end].copy_from_slice(data);
}

/// Cuts or zero-extends `contents` to `len`.
pub(crate) fn apply_truncate(contents: &mut Vec<u8>, len: u64) {
    let len = usize::try_from(len).expect("file lengths are bounded by the disk");
    contents.resize(len, 0);
}

/// The last write before a crash: whole half the time, otherwise a random prefix (possibly
/// empty); with `garbage`, half the time a random span of what was kept becomes random bytes,
/// as when the sectors being written hold neither the old nor the new data.
fn apply_torn_write(
    contents: &mut Vec<u8>,
    offset: u64,
    data: &[u8],
    rng: &mut impl Rng,
    garbage: bool,
) {
    let kept = if rng.chance(1, 2) {
        data.len()
    } else {
        rng.below(data.len() as u64 + 1) as usize
    };
    apply_write(contents, offset, &data[..kept]);
    if !garbage || kept == 0 || !rng.chance(1, 2) {
        return;
    }
    let span_start = rng.below(kept as u64) as usize;
    let span_len = rng.range_inclusive(1, (kept - span_start) as u64) as usize;
    let mut noise = vec![0u8; span_len];
    rng.fill_bytes(&mut noise);
    apply_write(contents, offset + span_start as u64, &noise);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;

    #[test]
    fn write_past_end_zero_fills() {
        let mut contents = b"ab".to_vec();
        apply_write(&mut contents, 4, b"cd");
        assert_eq!(contents, b"ab\0\0cd");
        apply_write(&mut contents, 1, b"XY");
        assert_eq!(contents, b"aXY\0cd");
        apply_write(&mut contents, 100, b"");
        assert_eq!(contents.len(), 6, "an empty write never extends");
        apply_truncate(&mut contents, 2);
        assert_eq!(contents, b"aX");
        apply_truncate(&mut contents, 4);
        assert_eq!(contents, b"aX\0\0");
    }

    #[test]
    fn current_is_durable_plus_pending() {
        let mut inode = Inode::default();
        inode.write(0, b"hello");
        inode.sync();
        inode.write(5, b" world");
        inode.truncate(8);
        assert_eq!(inode.current, b"hello wo");
        assert_eq!(inode.durable, b"hello");
        let before = inode.current.clone();
        inode.replay_pending();
        assert_eq!(inode.current, before);
        inode.discard_unsynced();
        assert_eq!(inode.current, b"hello");
        assert!(inode.pending.is_empty());
    }

    #[test]
    fn crash_keeps_a_prefix_of_mutations() {
        for seed in 0..200 {
            let mut rng = SimRng::new(seed);
            let mut inode = Inode::default();
            inode.write(0, b"AAAA");
            inode.sync();
            inode.write(4, b"BBBB");
            inode.write(8, b"CCCC");
            inode.crash_machine(&mut rng, false);
            // Contiguous appends: any kept prefix of them is a prefix of everything written.
            let got = inode.current.clone();
            let ok = got.len() >= 4 && b"AAAABBBBCCCC".starts_with(&got);
            assert!(ok, "seed {seed}: {got:?}");
            assert_eq!(inode.current, inode.durable);
        }
    }
}
