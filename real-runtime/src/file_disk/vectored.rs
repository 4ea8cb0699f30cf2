//! Gathered positional writes: `pwritev(2)` until every part is written, as `write_all_at`
//! does for one buffer.

use std::fs::File;
use std::io::{self, ErrorKind, IoSlice};

/// Parts handed to one `pwritev` call; more take more calls. A log append has two.
const SLICES_PER_CALL: usize = 8;

/// Writes `parts` one after another from `offset`, retrying `EINTR` and going on after a short
/// write (a signal, or a disk filling up, which then refuses the rest with `ENOSPC`).
pub(super) fn write_all_vectored_at(file: &File, offset: u64, parts: &[&[u8]]) -> io::Result<()> {
    write_all_with(offset, parts, |slices, at| {
        rustix::io::pwritev(file, slices, at).map_err(io::Error::from)
    })
}

/// The loop of [`write_all_vectored_at`] over any positional gathered write, so that short
/// writes can be tested.
fn write_all_with(
    mut offset: u64,
    mut parts: &[&[u8]],
    mut write: impl FnMut(&[IoSlice<'_>], u64) -> io::Result<usize>,
) -> io::Result<()> {
    // How much of `parts[0]` is written already.
    let mut done = 0;
    loop {
        // Empty parts would make a call that writes nothing look like a stalled device.
        while parts.first().is_some_and(|first| done == first.len()) {
            parts = &parts[1..];
            done = 0;
        }
        let Some(first) = parts.first() else {
            return Ok(());
        };
        let mut slices = [IoSlice::new(&[]); SLICES_PER_CALL];
        let count = parts.len().min(SLICES_PER_CALL);
        slices[0] = IoSlice::new(&first[done..]);
        for (slice, part) in slices[1..count].iter_mut().zip(&parts[1..count]) {
            *slice = IoSlice::new(part);
        }
        match write(&slices[..count], offset) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => {
                offset += written as u64;
                advance(&mut parts, &mut done, written);
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Moves past `written` bytes, which the write took from the parts it was given.
fn advance(parts: &mut &[&[u8]], done: &mut usize, mut written: usize) {
    while written > 0 {
        let left = parts[0].len() - *done;
        if written < left {
            *done += written;
            return;
        }
        written -= left;
        *parts = &parts[1..];
        *done = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in memory whose writes take at most `max` bytes, or fail once with `EINTR`.
    struct Stingy {
        file: Vec<u8>,
        max: usize,
        interrupt: bool,
        calls: usize,
    }

    impl Stingy {
        fn write(&mut self, slices: &[IoSlice<'_>], offset: u64) -> io::Result<usize> {
            self.calls += 1;
            if std::mem::take(&mut self.interrupt) {
                return Err(ErrorKind::Interrupted.into());
            }
            assert!(!slices[0].is_empty(), "the first part has bytes left");
            let joined: Vec<u8> = slices
                .iter()
                .flat_map(|slice| slice.iter().copied())
                .collect();
            let take = joined.len().min(self.max);
            let at = offset as usize;
            if self.file.len() < at + take {
                self.file.resize(at + take, 0);
            }
            self.file[at..at + take].copy_from_slice(&joined[..take]);
            Ok(take)
        }
    }

    #[test]
    fn short_and_interrupted_writes_go_on_where_they_stopped() {
        let parts: [&[u8]; 5] = [b"", b"0123456789abcdef", b"", b"x", b"ghijklmnop"];
        let joined = parts.concat();
        for max in 1..=joined.len() {
            let mut file = Stingy {
                file: b"??".to_vec(),
                max,
                interrupt: true,
                calls: 0,
            };
            write_all_with(2, &parts, |slices, at| file.write(slices, at)).unwrap();
            assert_eq!(&file.file[2..], &joined[..], "at most {max} bytes a call");
            assert_eq!(file.calls, 1 + joined.len().div_ceil(max));
        }
    }

    #[test]
    fn more_parts_than_one_call_takes_and_none_at_all() {
        let parts: Vec<&[u8]> = (0..20).map(|_| &b"ab"[..]).collect();
        let mut file = Stingy {
            file: Vec::new(),
            max: usize::MAX,
            interrupt: false,
            calls: 0,
        };
        write_all_with(0, &parts, |slices, at| file.write(slices, at)).unwrap();
        assert_eq!(file.file, parts.concat());
        assert_eq!(file.calls, 20usize.div_ceil(SLICES_PER_CALL));
        write_all_with(0, &[b"", b""], |_, _| panic!("nothing to write")).unwrap();
    }

    #[test]
    fn a_write_that_takes_nothing_is_an_error() {
        let error = write_all_with(0, &[b"a"], |_, _| Ok(0)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::WriteZero);
    }
}
