//! The log's structural IO as requests for its owner: checkpoint replaces, and what waits on
//! them.
//!
//! A node never syncs on its own loop, so the log never writes its checkpoint there either:
//! it queues the new contents ([`Log::take_io`]) and hears back ([`Log::io_done`]). Two
//! things wait on a checkpoint:
//! - **Removals.** A segment below a moved log start leaves the log at once, but its files
//!   are removed only once a checkpoint naming the new start is durable, so a crash never
//!   finds the old checkpoint with its segments gone.
//! - **A cut.** Recovery trusts every byte below the checkpoint's recovery point without
//!   reading it. After a cut below that point, the lowered checkpoint must be durable before
//!   new records are written where the old ones were, or a crash could find the old
//!   checkpoint vouching for torn new bytes. Appends wait for it ([`LogError::CutPending`]).
//!
//! Replaces of the checkpoint complete in the order they were asked for (each driver keeps a
//! file's replaces in order), so the last one asked for is the one a crash finds, or an
//! earlier one.

use super::checkpoint::{self, CHECKPOINT_NAME};
use super::segment::Segment;
use super::{Log, LogError};
use crate::disk::{replace_file, Disk, DiskError};

/// A replace of the log's checkpoint file for the owner to carry out: write `bytes` to
/// `{dir}/{name}` atomically and durably, then report [`Log::io_done`] with `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogIo {
    /// Names the replace in [`Log::io_done`].
    pub seq: u64,
    /// The file's name in the log's directory.
    pub name: &'static str,
    /// The new contents.
    pub bytes: Vec<u8>,
}

/// Requests not yet taken, and what waits on the ones under way.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    queued: Vec<LogIo>,
    next_seq: u64,
    /// Segments out of the log whose files go once a checkpoint of at least this seq is
    /// durable.
    removals: Vec<(u64, Segment)>,
    /// The lowered checkpoint of a cut: appends wait until a checkpoint of at least this seq
    /// is durable.
    cut_guard: Option<u64>,
    /// Cuts made in memory whose files change once a checkpoint of at least their seq is
    /// durable, in order.
    cuts: Vec<(u64, PendingCut)>,
}

/// What a move of the log start changes, for undoing it.
#[derive(Debug)]
pub(super) struct StartBefore {
    pub start: i64,
    pub flushed_upto: i64,
    pub unsynced_files: Vec<String>,
}

impl Log {
    pub(super) fn start_before(&self) -> StartBefore {
        StartBefore {
            start: self.log_start_offset,
            flushed_upto: self.flushed_upto,
            unsynced_files: self.unsynced_files.clone(),
        }
    }
}

/// A cut of the log's files, waiting for its lowered checkpoint.
#[derive(Debug)]
pub(super) struct PendingCut {
    /// The segment cut.
    pub base: i64,
    /// Its new length.
    pub position: u64,
    /// The segments after it, out of the log already.
    pub removed: Vec<Segment>,
}

impl Outbox {
    /// The seq the next queued replace gets.
    pub(super) fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

impl Log {
    /// The checkpoint replaces to carry out, in order; report each with [`Log::io_done`].
    pub fn take_io(&mut self) -> Vec<LogIo> {
        std::mem::take(&mut self.io.queued)
    }

    /// Whether replaces are queued for [`Log::take_io`].
    pub fn has_io(&self) -> bool {
        !self.io.queued.is_empty()
    }

    /// Whether a cut waits for its checkpoint (appends are refused meanwhile).
    pub fn cut_pending(&self) -> Option<u64> {
        self.io.cut_guard
    }

    /// The replace `seq` completed. A full disk leaves what waited on it waiting for the next
    /// checkpoint (which the next flush writes); any other failure, or a full disk under a
    /// cut, fails the log, whose reopening recovers it.
    pub fn io_done<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        seq: u64,
        result: Result<(), DiskError>,
    ) -> Result<(), LogError> {
        self.check_usable()?;
        match result {
            Ok(()) => {}
            Err(DiskError::NoSpace) if self.io.cut_guard.is_none_or(|guard| guard > seq) => {
                self.checkpoint_wanted = true;
                return Err(LogError::Disk(DiskError::NoSpace));
            }
            Err(error) => return Err(self.fail_disk(error)),
        }
        let (cuts, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.io.cuts)
            .into_iter()
            .partition(|(after, _)| *after <= seq);
        self.io.cuts = later;
        for (_, cut) in cuts {
            if let Err(error) = self.finish_cut(disk, cut) {
                return Err(self.fail_disk(error));
            }
        }
        if self.io.cut_guard.is_some_and(|guard| guard <= seq) {
            self.io.cut_guard = None;
        }
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.io.removals)
            .into_iter()
            .partition(|(after, _)| *after <= seq);
        self.io.removals = waiting;
        for (_, segment) in due {
            // Not synced: a removal a crash undoes is done again when the log next opens,
            // since the checkpoint puts the segment below the log start.
            match segment.remove_files(disk) {
                Ok(()) | Err(DiskError::NotFound(_)) => {}
                Err(error) => return Err(self.fail_disk(error)),
            }
            self.dir_changes += 1;
        }
        Ok(())
    }

    /// Carries out every queued replace on the caller's thread: for owners that have one.
    pub(super) fn run_io_inline<D: Disk + ?Sized>(&mut self, disk: &mut D) -> Result<(), LogError> {
        loop {
            let queued = self.take_io();
            if queued.is_empty() {
                return Ok(());
            }
            for io in queued {
                let result = replace_file(disk, &self.dir, io.name, &io.bytes);
                self.io_done(disk, io.seq, result)?;
            }
        }
    }

    /// On the caller's thread, carries out the checkpoint `seq` that moved the log start up
    /// from `old_start`. On a full disk the move is undone (the start and the segments come
    /// back), so the step fails whole and the old checkpoint stays a true account.
    pub(super) fn settle_start_move<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        before: StartBefore,
        seq: u64,
    ) -> Result<(), LogError> {
        match self.run_io_inline(disk) {
            Err(LogError::Disk(DiskError::NoSpace)) if self.failure.is_none() => {
                let (back, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.io.removals)
                    .into_iter()
                    .partition(|(after, _)| *after == seq);
                self.io.removals = waiting;
                for (_, segment) in back {
                    self.segments.insert(segment.base_offset, segment);
                }
                self.log_start_offset = before.start;
                self.flushed_upto = before.flushed_upto;
                self.unsynced_files = before.unsynced_files;
                self.check_invariants();
                Err(LogError::Disk(DiskError::NoSpace))
            }
            other => other,
        }
    }

    /// Queues a replace of the checkpoint with the current log start and recovery point;
    /// returns its seq.
    pub(super) fn queue_checkpoint(&mut self) -> u64 {
        if !self.segments.contains_key(&self.recovery.recovery_segment) {
            // Retention removed the segment the last recovery point lay in: the first one
            // left is where a scan would start anyway.
            let first = *self
                .segments
                .keys()
                .next()
                .expect("a log always has a segment");
            self.recovery = checkpoint::Checkpoint::segment_start(self.log_start_offset, first);
        }
        let contents = checkpoint::Checkpoint {
            log_start_offset: self.log_start_offset,
            ..self.recovery
        };
        let seq = self.io.next_seq;
        self.io.next_seq += 1;
        self.io.queued.push(LogIo {
            seq,
            name: CHECKPOINT_NAME,
            bytes: contents.encode(),
        });
        seq
    }

    /// A flush made `checkpoint` true: it becomes the recovery point, unless a later one or a
    /// cut got there first, and goes out, or waits while it would pass the cap.
    pub(super) fn write_checkpoint_of(&mut self, checkpoint: checkpoint::Checkpoint) {
        if checkpoint.recovery_point < self.recovery.recovery_point
            || !self.segments.contains_key(&checkpoint.recovery_segment)
        {
            return;
        }
        if checkpoint.recovery_point > self.checkpoint_cap {
            self.deferred_checkpoint = Some(checkpoint);
            return;
        }
        self.recovery = checkpoint;
        self.queue_checkpoint();
    }

    /// Sets how far the checkpoint's recovery point may go (`i64::MAX`: anywhere): the owner
    /// lowers it while a new leader epoch's start is not durable in its own checkpoint, and
    /// raises it once it is, which lets a checkpoint held back go out.
    pub fn cap_checkpoints(&mut self, cap: i64) {
        self.checkpoint_cap = cap;
        if let Some(deferred) = self.deferred_checkpoint.take() {
            self.write_checkpoint_of(deferred);
        }
    }

    /// Takes `segment` out of the log's files once a checkpoint queued from now on is durable.
    pub(super) fn remove_after_checkpoint(&mut self, segment: Segment) {
        let after = self.io.next_seq;
        self.io.removals.push((after, segment));
    }

    /// Segment `base`'s files: a later flush must sync them before the recovery point may
    /// pass them.
    pub(super) fn mark_unsynced(&mut self, base: i64) {
        for path in self.segments[&base].files() {
            if !self.unsynced_files.contains(path) {
                self.unsynced_files.push(path.clone());
            }
        }
    }

    /// `segment` left the log: nothing syncs its files any more.
    pub(super) fn forget_unsynced(&mut self, segment: &Segment) {
        let files = segment.files();
        self.unsynced_files
            .retain(|unsynced| !files.contains(&unsynced));
    }

    /// Appends and flushes wait until the checkpoint `seq` (a cut's lowered one) is durable,
    /// and then `cut` changes the files.
    pub(super) fn guard_cut(&mut self, seq: u64, cut: PendingCut) {
        self.io.cut_guard = Some(self.io.cut_guard.map_or(seq, |guard| guard.max(seq)));
        self.io.cuts.push((seq, cut));
    }

    /// The lowered checkpoint of `cut` is durable: the files follow the log in memory. Nothing
    /// is synced; the cut segment's files join the next flush, which writes the checkpoint at
    /// the new end.
    fn finish_cut<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        cut: PendingCut,
    ) -> Result<(), DiskError> {
        for segment in cut.removed {
            segment.remove_files(disk)?;
            self.dir_changes += 1;
        }
        let Some(segment) = self.segments.get_mut(&cut.base) else {
            // Gone since (a later move of the log start): nothing of it is left to cut.
            return Ok(());
        };
        disk.truncate(&segment.log_path, cut.position)?;
        segment.cut_index_files(disk)?;
        segment.persist_indexes(disk)?;
        self.mark_unsynced(cut.base);
        self.checkpoint_wanted = true;
        Ok(())
    }
}
