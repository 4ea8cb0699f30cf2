//! Durability in the outputs: syncs a [`super::Node`] asks its driver for, and the outputs
//! that may leave only once one has completed.
//!
//! A node writes to the page cache on its own loop (reads must see writes at once), but never
//! waits for a sync there. It hands out [`super::NodeOutput::Sync`] with a fresh
//! [`SyncToken`]; an answer or message that promises the synced data carries
//! `after: Some(token)`. The driver runs the sync off its loop, calls
//! [`super::Node::handle_sync_done`], and releases what waited on the token. Keeping that
//! bookkeeping here, in [`SyncTracker`], leaves both drivers doing IO and nothing else.
//!
//! The contract, as raft-rs's `persisted_messages` and openraft's `IOFlushed`: a sync covers
//! every write issued before its output came out of [`super::Node::poll_output`], and nothing
//! gated on it may reach a client or a peer before it completes.

use std::collections::BTreeMap;

use super::message::NodeOutput;
use crate::api::{ErrorCode, Response};
use crate::disk::DiskError;

/// Names one sync a node asked for. Numbered by the node from zero, so a new process reuses
/// numbers: a driver drops completions of an earlier process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SyncToken(pub u64);

impl core::fmt::Display for SyncToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "sync#{}", self.0)
    }
}

/// A driver's record of the syncs under way and of the outputs waiting for them.
///
/// Call order: [`SyncTracker::issued`] for each `Sync` and `Replace` output (then start its
/// IO), [`SyncTracker::admit`] for each `Send` and `Respond` (carry out what it hands back),
/// and once a sync's IO has finished, [`SyncTracker::io_done`]: it says which syncs are now
/// complete, in order, each to be reported to [`super::Node::handle_sync_done`], and which
/// outputs to carry out. A sync issued `after` another completes only once that one has (the
/// Raft log's syncs and the term's replaces form one such chain), whatever order their IO
/// finishes in. A new process starts a new tracker.
#[derive(Debug, Default)]
pub struct SyncTracker {
    pending: BTreeMap<SyncToken, Pending>,
    held: BTreeMap<SyncToken, Vec<NodeOutput>>,
}

#[derive(Debug)]
struct Pending {
    /// The sync this one completes after, while that one is pending.
    after: Option<SyncToken>,
    /// The IO's outcome, once it finished.
    io: Option<Result<(), DiskError>>,
    /// The predecessor failed: so does this one, whatever its own IO says.
    poisoned: Option<DiskError>,
}

/// What finished with one sync's IO (see [`SyncTracker::io_done`]).
#[derive(Debug, Default)]
pub struct Completed {
    /// The syncs now complete, in the order to report them, each with its outcome: a sync
    /// after one that failed fails too, since it promised that one's writes.
    pub syncs: Vec<(SyncToken, Result<(), DiskError>)>,
    /// The outputs that waited for them, to carry out.
    pub outputs: Vec<NodeOutput>,
}

impl SyncTracker {
    /// An empty tracker.
    pub fn new() -> SyncTracker {
        SyncTracker::default()
    }

    /// A `Sync` or `Replace` output came out: outputs after it may wait on its token.
    pub fn issued(&mut self, token: SyncToken, after: Option<SyncToken>) {
        let after = after.filter(|earlier| self.pending.contains_key(earlier));
        let pending = Pending {
            after,
            io: None,
            poisoned: None,
        };
        let fresh = self.pending.insert(token, pending).is_none();
        assert!(fresh, "{token} issued twice");
    }

    /// Hands `output` back when it may be carried out now; holds it while the sync it waits
    /// on is under way. A token that is not under way has completed.
    pub fn admit(&mut self, output: NodeOutput) -> Option<NodeOutput> {
        match output.after() {
            Some(token) if self.pending.contains_key(&token) => {
                self.held.entry(token).or_default().push(output);
                None
            }
            _ => Some(output),
        }
    }

    /// The IO of sync `token` finished with `result`. On success the outputs held for each
    /// completed sync are released in the order they came. On failure no held message leaves
    /// (its promise is broken), and each held answer becomes KAFKA_STORAGE_ERROR, so the
    /// client hears once and retries, as from a broker whose log directory failed.
    pub fn io_done(&mut self, token: SyncToken, result: Result<(), DiskError>) -> Completed {
        let mut completed = Completed::default();
        match self.pending.get_mut(&token) {
            Some(pending) if pending.io.is_none() => pending.io = Some(result),
            _ => return completed,
        }
        // Complete every sync whose IO is done and whose predecessor is complete, until none.
        while let Some(ready) = self
            .pending
            .iter()
            .find(|(_, p)| p.io.is_some() && p.after.is_none())
            .map(|(token, _)| *token)
        {
            let pending = self.pending.remove(&ready).expect("found");
            let result = match pending.poisoned {
                Some(error) => Err(error),
                None => pending.io.expect("finished"),
            };
            for later in self.pending.values_mut() {
                if later.after == Some(ready) {
                    later.after = None;
                    later.poisoned = result.clone().err();
                }
            }
            self.release(ready, result.is_ok(), &mut completed.outputs);
            completed.syncs.push((ready, result));
        }
        completed
    }

    fn release(&mut self, token: SyncToken, ok: bool, outputs: &mut Vec<NodeOutput>) {
        let held = self.held.remove(&token).unwrap_or_default();
        if ok {
            outputs.extend(held);
            return;
        }
        outputs.extend(held.into_iter().filter_map(|output| match output {
            NodeOutput::Respond {
                client, response, ..
            } => Some(NodeOutput::Respond {
                client,
                response: storage_error(response),
                after: None,
            }),
            _ => None,
        }));
    }

    /// Syncs under way.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Outputs waiting for a sync.
    pub fn held(&self) -> usize {
        self.held.values().map(Vec::len).sum()
    }
}

/// The answer a client gets instead of `response` when the sync it waited on failed.
fn storage_error(response: Response) -> Response {
    match response {
        Response::Produce(mut produce) => {
            for partition in &mut produce.partitions {
                if partition.error == ErrorCode::None {
                    partition.error = ErrorCode::KafkaStorageError;
                    partition.base_offset = -1;
                }
            }
            Response::Produce(produce)
        }
        // Only produce answers wait on syncs today; any other keeps its own error codes.
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ProducePartitionResponse, ProduceResponse, TopicPartition};
    use crate::raft::NodeId;

    fn produced(client: u64, after: Option<u64>) -> NodeOutput {
        let partition = ProducePartitionResponse {
            partition: TopicPartition {
                topic: "t".to_string(),
                partition: 0,
            },
            error: ErrorCode::None,
            base_offset: 7,
            log_append_time_ms: -1,
            log_start_offset: 0,
        };
        NodeOutput::Respond {
            client,
            response: Response::Produce(ProduceResponse {
                partitions: vec![partition],
            }),
            after: after.map(SyncToken),
        }
    }

    fn clients(outputs: &[NodeOutput]) -> Vec<u64> {
        outputs
            .iter()
            .filter_map(|output| match output {
                NodeOutput::Respond { client, .. } => Some(*client),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn outputs_wait_for_their_sync_and_leave_in_order() {
        let mut tracker = SyncTracker::new();
        tracker.issued(SyncToken(1), None);
        tracker.issued(SyncToken(2), None);
        assert_eq!(tracker.admit(produced(10, Some(1))), None);
        assert_eq!(tracker.admit(produced(11, Some(2))), None);
        assert_eq!(tracker.admit(produced(12, Some(1))), None);
        // Nothing to wait for, or a sync that has completed: out at once.
        assert!(tracker.admit(produced(13, None)).is_some());
        assert_eq!((tracker.pending(), tracker.held()), (2, 3));
        // Syncs of different files complete in any order.
        let second = tracker.io_done(SyncToken(2), Ok(()));
        assert_eq!(second.syncs, [(SyncToken(2), Ok(()))]);
        assert_eq!(clients(&second.outputs), [11]);
        assert!(tracker.admit(produced(14, Some(2))).is_some());
        assert_eq!(
            clients(&tracker.io_done(SyncToken(1), Ok(())).outputs),
            [10, 12]
        );
        assert_eq!((tracker.pending(), tracker.held()), (0, 0));
        // A completion heard twice releases nothing twice.
        assert!(tracker.io_done(SyncToken(1), Ok(())).syncs.is_empty());
    }

    #[test]
    fn a_failed_sync_turns_held_answers_into_storage_errors_and_drops_messages() {
        let mut tracker = SyncTracker::new();
        tracker.issued(SyncToken(3), None);
        assert_eq!(tracker.admit(produced(10, Some(3))), None);
        let vote = NodeOutput::Send {
            to: NodeId(2),
            message: crate::broker::NodeMessage::ControllerResponse {
                id: 1,
                response: crate::broker::ControllerResponse::Metadata(
                    crate::raft::CommittedRead::UpToDate { commit: 0 },
                ),
            },
            after: Some(SyncToken(3)),
        };
        assert_eq!(tracker.admit(vote), None);
        let released = tracker
            .io_done(SyncToken(3), Err(DiskError::Io("eio".into())))
            .outputs;
        assert_eq!(released.len(), 1);
        let NodeOutput::Respond {
            response: Response::Produce(produce),
            after: None,
            ..
        } = &released[0]
        else {
            panic!("an answer comes out: {released:?}");
        };
        assert_eq!(produce.partitions[0].error, ErrorCode::KafkaStorageError);
        assert_eq!(produce.partitions[0].base_offset, -1);
    }

    #[test]
    fn a_sync_after_another_completes_after_it_and_fails_with_it() {
        let mut tracker = SyncTracker::new();
        tracker.issued(SyncToken(1), None);
        tracker.issued(SyncToken(2), Some(SyncToken(1)));
        tracker.issued(SyncToken(3), Some(SyncToken(2)));
        assert_eq!(tracker.admit(produced(10, Some(3))), None);
        // The later IO finishes first: nothing completes until its predecessor has.
        let early = tracker.io_done(SyncToken(3), Ok(()));
        assert!(early.syncs.is_empty() && early.outputs.is_empty());
        let first = tracker.io_done(SyncToken(1), Ok(()));
        assert_eq!(first.syncs, [(SyncToken(1), Ok(()))]);
        let second = tracker.io_done(SyncToken(2), Ok(()));
        assert_eq!(
            second.syncs,
            [(SyncToken(2), Ok(())), (SyncToken(3), Ok(()))]
        );
        assert_eq!(clients(&second.outputs), [10]);
        // A failure fails what comes after it, whether its IO finished before or after.
        let eio = DiskError::Io("eio".into());
        tracker.issued(SyncToken(4), None);
        tracker.issued(SyncToken(5), Some(SyncToken(4)));
        tracker.issued(SyncToken(6), Some(SyncToken(5)));
        assert!(tracker.io_done(SyncToken(5), Ok(())).syncs.is_empty());
        let failed = tracker.io_done(SyncToken(4), Err(eio.clone()));
        assert_eq!(
            failed.syncs,
            [
                (SyncToken(4), Err(eio.clone())),
                (SyncToken(5), Err(eio.clone()))
            ]
        );
        let last = tracker.io_done(SyncToken(6), Ok(()));
        assert_eq!(last.syncs, [(SyncToken(6), Err(eio))]);
        assert_eq!(tracker.pending(), 0);
    }
}
