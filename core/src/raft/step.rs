//! Routing an input: the term rules every message obeys (Raft §5.1), dispatch to the role's
//! handler, and the timers.

use super::message::{AppendOutcome, Entry, Message, NodeId, Output, Persist};
use super::storage;
use super::{RaftError, RaftNode, Refusal};
use crate::disk::Disk;
use crate::rng::Rng;
use crate::time::Instant;

impl RaftNode {
    /// Dispatches a message after the term rules every message obeys (Raft §5.1): a newer
    /// term makes this node a follower in it, an older one gets the current term back.
    pub(super) fn step<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        from: NodeId,
        msg: Message,
    ) -> Result<(), RaftError> {
        if from == self.config.id || !self.config.voters.contains(&from) {
            return Err(RaftError::PeerMisbehaved {
                from,
                refusal: Refusal::UnknownSender,
            });
        }
        let term = msg.term();
        if term > self.hard.term {
            match &msg {
                // Pre-votes carry a term no one is in yet; they change nothing (thesis §9.6).
                Message::PreVote { .. } | Message::PreVoteResponse { granted: true, .. } => {}
                Message::RequestVote { .. } if self.in_lease(now) => {
                    // Check-quorum's lease: a node that hears a leader ignores the request
                    // entirely, so a returning partitioned node cannot depose a healthy leader.
                    self.stats.votes_ignored_for_lease += 1;
                    return Ok(());
                }
                Message::AppendEntries { .. }
                | Message::Heartbeat { .. }
                | Message::InstallSnapshot { .. } => {
                    self.become_follower(now, term, Some(from));
                }
                _ => self.become_follower(now, term, None),
            }
        } else if term < self.hard.term {
            self.answer_stale(from, &msg);
            return Ok(());
        }
        if let Some(leader) = &mut self.leader_state {
            if term == self.hard.term {
                leader.progress.get_mut(&from).expect("a peer").last_heard = now;
            }
        }
        self.dispatch(now, disk, from, msg)
    }

    pub(super) fn dispatch<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        from: NodeId,
        msg: Message,
    ) -> Result<(), RaftError> {
        match msg {
            Message::PreVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_pre_vote(now, from, term, last_log_index, last_log_term),
            Message::PreVoteResponse { term, granted } => {
                self.on_pre_vote_response(now, disk, from, term, granted)
            }
            Message::RequestVote {
                last_log_index,
                last_log_term,
                ..
            } => self.on_request_vote(now, from, last_log_index, last_log_term),
            Message::RequestVoteResponse { granted, .. } => {
                self.on_request_vote_response(now, disk, from, granted)
            }
            Message::AppendEntries {
                prev_index,
                prev_term,
                entries,
                commit,
                ..
            } => self.on_append_entries(now, disk, from, prev_index, prev_term, entries, commit),
            Message::AppendEntriesResponse { outcome, .. } => {
                self.on_append_entries_response(from, outcome)
            }
            Message::Heartbeat { commit, .. } => self.on_heartbeat(now, from, commit),
            Message::HeartbeatResponse { .. } => Ok(()),
            Message::InstallSnapshot {
                index,
                snapshot_term,
                data,
                ..
            } => self.on_install_snapshot(now, from, index, snapshot_term, data),
            Message::InstallSnapshotResponse { match_index, .. } => {
                self.on_install_snapshot_response(from, match_index)
            }
        }
    }

    /// Tells the sender of an old-term request the current term, so a deposed leader or a
    /// stale candidate steps down. Old-term responses are dropped.
    pub(super) fn answer_stale(&mut self, from: NodeId, msg: &Message) {
        let term = self.hard.term;
        let reply = match msg {
            Message::PreVote { .. } => Message::PreVoteResponse {
                term,
                granted: false,
            },
            Message::RequestVote { .. } => Message::RequestVoteResponse {
                term,
                granted: false,
            },
            Message::AppendEntries { .. } => Message::AppendEntriesResponse {
                term,
                outcome: AppendOutcome::StaleTerm,
            },
            Message::Heartbeat { .. } => Message::HeartbeatResponse { term },
            Message::InstallSnapshot { .. } => Message::InstallSnapshotResponse {
                term,
                match_index: 0,
            },
            _ => return,
        };
        self.send(from, reply);
    }

    pub(super) fn tick<D: Disk + ?Sized, R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        rng: &mut R,
    ) -> Result<(), RaftError> {
        if self.election_timeout.is_none() {
            self.draw_election_timeout(now, rng);
            return Ok(());
        }
        if self.leader_state.is_some() {
            return self.leader_tick(now);
        }
        if now >= self.election_deadline {
            self.draw_election_timeout(now, rng);
            self.on_election_timeout(now, disk)?;
        }
        Ok(())
    }

    /// Queues a message, or drops it when the output queue is full (as the network might).
    pub(super) fn send(&mut self, to: NodeId, msg: Message) {
        if self.outputs.len() + self.held_sends.len() >= self.config.outputs_max {
            self.stats.sends_dropped += 1;
            return;
        }
        if self.log.is_frozen() {
            // Entries appended now are not in the file yet: see `RaftNode::thaw_log`.
            self.held_sends.push((to, msg));
            return;
        }
        self.outputs.push_back(Output::Send { to, msg });
    }

    pub(super) fn peers(&self) -> Vec<NodeId> {
        let me = self.config.id;
        self.config
            .voters
            .iter()
            .copied()
            .filter(|id| *id != me)
            .collect()
    }

    /// Asks for the term and vote to be persisted: every message from here on waits for it.
    pub(super) fn persist_hard_state(&mut self) {
        let write = Persist::Replace {
            dir: self.dir.clone(),
            name: storage::STATE_NAME.to_string(),
            bytes: self.hard.encode(),
        };
        self.persist(write, None);
    }

    /// Writes `entries` after the log's end and asks for them to be persisted.
    pub(super) fn append_to_log<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        entries: &[Entry],
    ) -> Result<(), RaftError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.log.append(disk, entries)?;
        if self.log.is_frozen() {
            // Not in the file yet: the rewrite or the writes after it make them durable.
            return Ok(());
        }
        let file = self.log.path().to_string();
        let last = self.log.last_index();
        self.persist(Persist::Sync { file }, Some(last));
        Ok(())
    }

    pub(super) fn persist(&mut self, write: Persist, durable: Option<u64>) -> u64 {
        let id = self.next_persist;
        self.next_persist += 1;
        self.persisting.push_back((id, durable));
        // Never dropped, unlike a message: what waits for it would wait forever.
        self.outputs.push_back(Output::Persist { id, write });
        id
    }
}
