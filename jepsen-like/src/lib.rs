//! Operation histories and the checker that judges them, for the Kafka queue workload as
//! Jepsen's Kafka test models it, and for its consumer groups. The vocabulary is
//! `shared/CHECKER.md`'s.
//!
//! Build a [`History`] event by event (the simulator, and later a real cluster under a nemesis,
//! feed it), then [`check`] it. The [`Report`] lists each anomaly kind found with concrete
//! examples (partition, offsets, values, operation numbers).
//!
//! Checks present (CHECKER.md invariant numbers in brackets):
//! - `inconsistent-offsets` \[1\]: one (partition, offset) seen with two values across acks and
//!   polls.
//! - `duplicate` and `duplicate-nonzero` \[2\]: one value at two offsets of a partition, across
//!   acks and polls; expected when [`CheckOptions::duplicates_allowed`].
//! - `offset-ack-mismatch` \[3\]: a value acknowledged at offset o, polled, but never at o.
//! - `lost-write` \[4\]: an OK send at offset o never polled, though some OK poll read that
//!   partition at offset o or beyond. Records below the partition's trimmed bound are excused:
//!   min(highest offset a trim not definitely failed asked to delete below, highest log start a
//!   client was told by a trim's answer ([`History::ok_trim`]) or a poll's
//!   ([`History::ok_poll_observed`])); nothing is excused without both. Also a log start told
//!   above every trim asked for (above 0 with none), when an OK send lies at or above the trim
//!   and below that log start: acknowledged records deleted without a request.
//! - `unseen` \[5\]: any other OK send never polled, trimmed records excused as for
//!   `lost-write`; a failure unless the run declares its final reads were not done
//!   ([`CheckOptions::final_reads_done`]).
//! - `poll-skip` and `nonmonotonic-poll` \[8\]: successive OK polls of a partition by one process,
//!   without a seek or assign in between, not continuing at the next offset known to exist. A
//!   group member's OK assignment ([`History::ok_assignment`]) is an assign of its process, and
//!   the start positions recorded for it ([`History::ok_assignment_positions`]) a seek: the first
//!   OK poll of such a partition completed after them begins at its start position, or at the
//!   next offset known to exist above it.
//! - `int-poll-skip` and `int-nonmonotonic-poll` \[9\]: the same inside one poll.
//! - `nonmonotonic-send` \[10\]: one process's OK sends to a partition, in completion order,
//!   not at increasing offsets.
//! - `realtime-append-violation` \[11\]: an OK send completed before another OK send to the
//!   same partition was invoked, at an offset not below the later one's.
//! - `hw-regression` \[14\]: a poll saw a lower high watermark for a partition than a poll (by
//!   any consumer) that completed before it was invoked. Polls report high watermarks through
//!   [`History::ok_poll_with_hw`].
//! - `read-above-hw`: a poll returned a record at or above the high watermark of its own fetch
//!   response.
//! - `inconsistent-read` \[15\]: a poll completing after one that read value v at offset o
//!   covers o (reads that partition at or below and at or above o) without returning v there.
//! - `zombie-commit` \[16\]: an OK commit of generation g ≥ 0 invoked after an assignment of a
//!   newer generation of its group completed; or an OK commit by member M in generation g of a
//!   partition that M's OK assignments of g did not give it (when the history has one), unless
//!   M is revoking it cooperatively (KIP-429: M's latest earlier assignment gave it, and no
//!   other member's assignment of g does). A partition the commit's answer refused is not
//!   committed.
//! - `committed-offset-regression` \[16\]: an OK committed-offset read (OffsetFetch) returning,
//!   for a partition, less than (or no offset where there was) an offset that an OK commit
//!   committed, or an OK read returned, before the read was invoked; unless an explicit reset
//!   ([`History::invoke_reset`]) not definitely failed may have taken effect in between. A
//!   commit that vanished is this anomaly too (there is no separate lost-commit). Assumes
//!   committed offsets only move forward except through resets.
//! - `double-assignment` \[17\]: two different members' OK assignments of the same group and
//!   generation share a partition.
//! - `unclean-truncation`: `hw-regression` and `inconsistent-read` become this expected kind
//!   when [`CheckOptions::unclean_elections_allowed`].
//! - Indefinite sends (`info`, or never completed) are counted, never judged. Trims
//!   ([`History::invoke_trim`]) are not counted. OK commits, offset fetches and assignments are
//!   counted; revocations ([`History::revoke`]) are recorded but judged by no check.
//!
//! Simulator-state checks, on replica logs rather than a history:
//! - `log-divergence` \[21\] ([`check_replicas`]): two replicas of a partition differ below the
//!   smaller of their high watermarks.
//! - `divergent-replicas` ([`check_healed_replicas`]): after faults healed, a replica's log is
//!   not exactly its leader's.
//!
//! Their [`Anomaly`] lists extend a [`Report`].
//!
//! Checks absent: every other invariant and anomaly of CHECKER.md, among them G1a, G0, G1b,
//! G1c, precommitted-read, torn and hanging transactions, int-send-skip and
//! int-nonmonotonic-send, LSO and ListOffsets(latest) regressions (only the fetch high watermark
//! is recorded), log start regressions, every other simulator-state (S) check, and every
//! liveness (L) check (a group becoming Stable among them). Of invariant 16, commits accepted
//! from a member fenced by a newer member epoch (KIP-848 epochs are not recorded) and a member's
//! commit of a partition it already revoked in the same generation are not judged; committed
//! offsets that expire (`offsets.retention.minutes`) or a deleted group would be reported as a
//! `committed-offset-regression`. `unclean-truncation` only relabels the two checks above: under
//! unclean elections the lost-write, unseen, inconsistent-offsets and offset-ack-mismatch
//! findings that truncation also causes are still failures.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checker;
pub mod history;
pub mod report;

pub use checker::{
    check, check_healed_replicas, check_replicas, check_with, CheckOptions, ReplicaLog,
};
pub use history::{
    AssignmentStart, Completion, History, HistoryError, OpId, Operation, PartitionHighWatermark,
    PartitionLogStart, PartitionOffset, PartitionReads, Request, GENERATION_NONE,
};
pub use report::{anomaly, Anomaly, Report};
