//! Operation histories and the checker that judges them, for the Kafka queue workload as
//! Jepsen's Kafka test models it. The vocabulary is `shared/CHECKER.md`'s.
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
//!   partition at offset o or beyond.
//! - `unseen` \[5\]: any other OK send never polled; a failure unless the run declares its final
//!   reads were not done ([`CheckOptions::final_reads_done`]).
//! - `poll-skip` and `nonmonotonic-poll` \[8\]: successive OK polls of a partition by one process,
//!   without a seek or assign in between, not continuing at the next offset known to exist.
//! - `int-poll-skip` and `int-nonmonotonic-poll` \[9\]: the same inside one poll.
//! - Indefinite sends (`info`, or never completed) are counted, never judged.
//!
//! Checks absent: every other invariant and anomaly of CHECKER.md, among them G1a, G0, G1b,
//! G1c, precommitted-read, torn and hanging transactions, nonmonotonic-send,
//! realtime-append-violation, hw-regression, inconsistent-read, consumer-group checks, reads
//! above the high watermark, and every simulator-state (S) and liveness (L) check, including
//! divergent replicas after healing.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checker;
pub mod history;
pub mod report;

pub use checker::{check, check_with, CheckOptions};
pub use history::{Completion, History, HistoryError, OpId, Operation, PartitionReads, Request};
pub use report::{anomaly, Report};
