//! Log replication (Raft §5.3): the leader's per-follower progress, AppendEntries with the
//! consistency check and fast back-off, heartbeats, and the commit rule of §5.4.2.

use std::collections::VecDeque;

use super::error::Refusal;
use super::message::{AppendOutcome, Entry, Message, NodeId};
use super::{RaftError, RaftNode, Role};
use crate::bugs::{self, Bug};
use crate::disk::Disk;
use crate::time::Instant;

/// How the leader is sending to one follower (raft-rs's `ProgressState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sending {
    /// The match point is unknown: one AppendEntries at a time, each waiting for its reply
    /// (or the next heartbeat) before the next.
    Probe {
        /// A probe is in flight.
        sent: bool,
    },
    /// The logs match through `match_index`: entries stream out, up to `inflight_appends_max`.
    Replicate,
    /// An InstallSnapshot is in flight.
    Snapshot,
}

/// The leader's view of one follower.
#[derive(Clone, Debug)]
pub(super) struct Progress {
    /// The follower's log matches ours through here (synced on its side).
    pub match_index: u64,
    /// The next index to send.
    pub next_index: u64,
    pub sending: Sending,
    /// The last index of each AppendEntries in flight, oldest first.
    pub inflight: VecDeque<u64>,
    /// A reply moved this follower forward since the last heartbeat.
    pub acked_since_tick: bool,
    /// When the follower last spoke in this term (for check-quorum).
    pub last_heard: Instant,
}

impl Progress {
    /// A follower of a new leader: probe from the leader's end of log. Check-quorum counts it
    /// as heard at the election, which gives it one election timeout to answer.
    pub fn new(next_index: u64, now: Instant) -> Progress {
        Progress {
            match_index: 0,
            next_index,
            sending: Sending::Probe { sent: false },
            inflight: VecDeque::new(),
            acked_since_tick: false,
            last_heard: now,
        }
    }

    fn probe_from(&mut self, next_index: u64) {
        assert!(next_index > self.match_index);
        self.next_index = next_index;
        self.sending = Sending::Probe { sent: false };
        self.inflight.clear();
    }
}

impl RaftNode {
    fn progress(&mut self, peer: NodeId) -> &mut Progress {
        let leader = self.leader_state.as_mut().expect("leader state");
        leader.progress.get_mut(&peer).expect("a peer")
    }

    /// Sends `peer` what it needs next, if its state and window allow.
    pub(super) fn send_append(&mut self, peer: NodeId) {
        let (first_index, last_index) = (self.log.first_index(), self.log.last_index());
        let inflight_max = self.config.inflight_appends_max;
        let progress = self.progress(peer);
        let blocked = match progress.sending {
            Sending::Snapshot | Sending::Probe { sent: true } => true,
            Sending::Replicate => {
                progress.inflight.len() >= inflight_max || progress.next_index > last_index
            }
            Sending::Probe { sent: false } => false,
        };
        if blocked {
            return;
        }
        let next_index = progress.next_index;
        if next_index < first_index {
            self.send_snapshot(peer);
            return;
        }
        let entries = if next_index <= last_index {
            let (count_max, bytes_max) =
                (self.config.append_entries_max, self.config.append_bytes_max);
            self.log.entries_from(next_index, count_max, bytes_max)
        } else {
            Vec::new()
        };
        let last_sent = next_index - 1 + entries.len() as u64;
        let msg = Message::AppendEntries {
            term: self.hard.term,
            prev_index: next_index - 1,
            prev_term: self.log.term_at(next_index - 1).expect("prev is held"),
            entries,
            commit: self.commit,
        };
        let progress = self.progress(peer);
        if progress.sending == Sending::Replicate {
            progress.next_index = last_sent + 1;
            progress.inflight.push_back(last_sent);
        } else {
            progress.sending = Sending::Probe { sent: true };
        }
        self.send(peer, msg);
    }

    /// Appends a proposal to the leader's log (synced), then replicates it.
    pub(super) fn append_as_leader<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        data: Vec<u8>,
    ) -> Result<u64, RaftError> {
        assert_eq!(self.role, Role::Leader);
        let index = self.log.last_index() + 1;
        let entry = Entry {
            term: self.hard.term,
            index,
            data,
        };
        self.append_to_log(disk, &[entry])?;
        self.maybe_commit();
        for peer in self.peers() {
            self.send_append(peer);
        }
        Ok(index)
    }

    /// Heartbeats, retries and check-quorum, when their deadlines pass.
    pub(super) fn leader_tick(&mut self, now: Instant) -> Result<(), RaftError> {
        let leader = self.leader_state.as_ref().expect("leader state");
        let (heartbeat_due, quorum_due) = (
            now >= leader.heartbeat_deadline,
            now >= leader.quorum_deadline,
        );
        if quorum_due {
            self.check_quorum(now)?;
            if self.role != Role::Leader {
                return Ok(());
            }
        }
        if heartbeat_due {
            let interval = self.config.heartbeat_interval;
            self.leader_state
                .as_mut()
                .expect("leader state")
                .heartbeat_deadline = now + interval;
            for peer in self.peers() {
                self.heartbeat(peer);
            }
        }
        Ok(())
    }

    /// Sends `peer` a heartbeat and restarts its replication if it stalled: a lost
    /// AppendEntries or snapshot is retried from the last point the follower confirmed.
    fn heartbeat(&mut self, peer: NodeId) {
        let commit = self.commit;
        let term = self.hard.term;
        let progress = self.progress(peer);
        let safe_commit = commit.min(progress.match_index);
        let stalled = !progress.acked_since_tick;
        progress.acked_since_tick = false;
        match progress.sending {
            // Retry the probe where the back-off left it.
            Sending::Probe { .. } => progress.sending = Sending::Probe { sent: false },
            // Entries or the snapshot were lost: resume after what the follower confirmed.
            Sending::Replicate if stalled && !progress.inflight.is_empty() => {
                let from = progress.match_index + 1;
                progress.probe_from(from);
            }
            Sending::Snapshot if stalled => {
                let from = progress.match_index + 1;
                progress.probe_from(from);
            }
            Sending::Replicate | Sending::Snapshot => {}
        }
        self.send(
            peer,
            Message::Heartbeat {
                term,
                commit: safe_commit,
            },
        );
        self.send_append(peer);
    }

    /// The commit rule (Raft §5.4.2, Figure 8): an entry is committed once a majority holds
    /// it, but the leader counts replicas only for entries of its own term; earlier entries
    /// commit with them. Followers learn the new commit index at once.
    pub(super) fn maybe_commit(&mut self) {
        let leader = self.leader_state.as_ref().expect("leader state");
        let mut matches: Vec<u64> = leader
            .progress
            .values()
            .map(|progress| progress.match_index)
            .collect();
        // The leader counts itself only through what its own log holds durably.
        matches.push(self.log_durable.min(self.log.last_index()));
        matches.sort_unstable_by(|a, b| b.cmp(a));
        let candidate = matches[self.config.quorum() - 1];
        if candidate <= self.commit {
            return;
        }
        let current_term = self.log.term_at(candidate) == Some(self.hard.term);
        if !current_term && !bugs::active(Bug::RaftCommitOldTermByCount) {
            return;
        }
        self.commit = candidate;
        for peer in self.peers() {
            let progress = self.progress(peer);
            if progress.sending == Sending::Replicate && progress.inflight.is_empty() {
                let commit = candidate.min(progress.match_index);
                let term = self.hard.term;
                self.send(peer, Message::Heartbeat { term, commit });
            }
        }
    }

    /// Leader side: a follower answered an AppendEntries.
    pub(super) fn on_append_entries_response(
        &mut self,
        from: NodeId,
        outcome: AppendOutcome,
    ) -> Result<(), RaftError> {
        if self.role != Role::Leader {
            return Ok(());
        }
        match outcome {
            AppendOutcome::Success { match_index } => self.on_append_success(from, match_index),
            AppendOutcome::Conflict {
                prev_index,
                conflict_term,
                first_index,
            } => {
                self.on_append_conflict(from, prev_index, conflict_term, first_index);
                Ok(())
            }
            // Sent only with a newer term, which `step` already acted on.
            AppendOutcome::StaleTerm => Ok(()),
        }
    }

    pub(super) fn on_append_success(
        &mut self,
        from: NodeId,
        match_index: u64,
    ) -> Result<(), RaftError> {
        if match_index > self.log.last_index() {
            return Err(RaftError::PeerMisbehaved {
                from,
                refusal: Refusal::MatchBeyondLog { match_index },
            });
        }
        let progress = self.progress(from);
        let advanced = match_index > progress.match_index;
        if advanced {
            progress.match_index = match_index;
            progress.acked_since_tick = true;
        }
        progress.next_index = progress.next_index.max(progress.match_index + 1);
        while progress
            .inflight
            .front()
            .is_some_and(|last| *last <= match_index)
        {
            progress.inflight.pop_front();
        }
        if matches!(progress.sending, Sending::Probe { .. }) {
            progress.sending = Sending::Replicate;
            progress.next_index = progress.match_index + 1;
            progress.inflight.clear();
        }
        if advanced {
            self.maybe_commit();
        }
        self.send_append(from);
        Ok(())
    }

    /// The follower's log disagrees at `prev_index`. Jump `next_index` back by whole terms
    /// using the follower's hint (Raft §5.3, "the follower can include the term of the
    /// conflicting entry and the first index it stores for that term").
    fn on_append_conflict(
        &mut self,
        from: NodeId,
        prev_index: u64,
        conflict_term: Option<u64>,
        first_index: u64,
    ) {
        let hint = match conflict_term {
            Some(term) => self
                .log
                .last_index_of_term(term)
                .map_or(first_index, |last| last + 1),
            None => first_index,
        };
        let progress = self.progress(from);
        let current = match progress.sending {
            Sending::Probe { .. } => prev_index + 1 == progress.next_index,
            Sending::Replicate => prev_index > progress.match_index,
            Sending::Snapshot => false,
        };
        if !current {
            return; // A reply to an older request, overtaken by later ones.
        }
        let next_index = hint.min(prev_index).max(progress.match_index + 1);
        progress.probe_from(next_index);
        self.send_append(from);
    }

    /// Follower side: the leader of the current term sent entries (Raft §5.3).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_append_entries<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        from: NodeId,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
    ) -> Result<(), RaftError> {
        if self.role == Role::Leader {
            return Err(misbehaved(from, Refusal::SecondLeader));
        }
        self.check_entries(from, prev_index, prev_term, &entries)?;
        self.follow_current_leader(now, from);
        let term = self.hard.term;
        if prev_index < self.commit {
            // Everything through our commit index matches the leader's log (Leader
            // Completeness); say so and let the leader continue from there.
            let match_index = self.commit;
            let outcome = AppendOutcome::Success { match_index };
            self.send(from, Message::AppendEntriesResponse { term, outcome });
            return Ok(());
        }
        if let Some(outcome) = self.consistency_check(prev_index, prev_term) {
            self.stats.append_conflicts += 1;
            self.send(from, Message::AppendEntriesResponse { term, outcome });
            return Ok(());
        }
        let match_index = prev_index + entries.len() as u64;
        self.store_new_entries(disk, from, entries)?;
        // Commit only what this request showed to match: older entries beyond it may still be
        // from a deposed leader (Raft Figure 2, "min(leaderCommit, index of last new entry)").
        let commit = leader_commit.min(match_index);
        if commit > self.commit {
            self.commit = commit;
        }
        let outcome = AppendOutcome::Success { match_index };
        self.send(from, Message::AppendEntriesResponse { term, outcome });
        Ok(())
    }

    /// Refuses entries that do not run consecutively after `prev_index` with sensible terms,
    /// or that break the configured limits.
    fn check_entries(
        &self,
        from: NodeId,
        prev_index: u64,
        prev_term: u64,
        entries: &[Entry],
    ) -> Result<(), RaftError> {
        let bytes: usize = entries.iter().map(|entry| entry.data.len()).sum();
        if entries.len() > self.config.append_entries_max || bytes > self.config.append_bytes_max {
            return Err(misbehaved(from, Refusal::AppendTooLarge));
        }
        let mut expected = (prev_index, prev_term);
        for entry in entries {
            if Some(entry.index) != expected.0.checked_add(1) {
                return Err(misbehaved(from, Refusal::EntriesNotConsecutive));
            }
            if entry.term < expected.1 || entry.term > self.hard.term {
                return Err(misbehaved(from, Refusal::EntryTermOutOfOrder));
            }
            expected = (entry.index, entry.term);
        }
        if prev_term > self.hard.term {
            return Err(misbehaved(from, Refusal::EntryTermOutOfOrder));
        }
        Ok(())
    }

    /// The consistency check: `None` if our log holds `prev_index` with `prev_term`, else the
    /// conflict reply with the back-off hint.
    fn consistency_check(&self, prev_index: u64, prev_term: u64) -> Option<AppendOutcome> {
        match self.log.term_at(prev_index) {
            Some(term) if term == prev_term => None,
            Some(term) => Some(AppendOutcome::Conflict {
                prev_index,
                conflict_term: Some(term),
                first_index: self.log.first_index_of_term_at(prev_index),
            }),
            None => Some(AppendOutcome::Conflict {
                prev_index,
                conflict_term: None,
                first_index: self.log.last_index() + 1,
            }),
        }
    }

    /// Appends the entries we lack, truncating a conflicting suffix first (Raft §5.3: "if an
    /// existing entry conflicts with a new one, delete the existing entry and all that follow
    /// it"). Entries we already hold are left alone, so a delayed duplicate cannot cut off
    /// entries appended since.
    fn store_new_entries<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        from: NodeId,
        entries: Vec<Entry>,
    ) -> Result<(), RaftError> {
        let Some(position) = entries
            .iter()
            .position(|entry| self.log.term_at(entry.index) != Some(entry.term))
        else {
            return Ok(());
        };
        let first_new = entries[position].index;
        if first_new <= self.log.last_index() {
            if first_new <= self.commit {
                let refusal = Refusal::ConflictBelowCommit { index: first_new };
                return Err(misbehaved(from, refusal));
            }
            self.log.truncate_from(disk, first_new)?;
            // Persists under way covered entries that are gone: they no longer vouch.
            self.log_durable = self.log_durable.min(first_new - 1);
            for (_, durable) in &mut self.persisting {
                *durable = None;
            }
            self.stats.log_truncations += 1;
        }
        self.append_to_log(disk, &entries[position..])
    }

    /// Follower side: the leader is alive, and entries through `commit` are committed.
    pub(super) fn on_heartbeat(
        &mut self,
        now: Instant,
        from: NodeId,
        commit: u64,
    ) -> Result<(), RaftError> {
        if self.role == Role::Leader {
            return Err(misbehaved(from, Refusal::SecondLeader));
        }
        self.follow_current_leader(now, from);
        // The leader sends min(its commit, our match), so this never commits an entry we have
        // not been shown to share; the clamp guards against a confused peer.
        let commit = commit.min(self.log.last_index());
        if commit > self.commit {
            self.commit = commit;
        }
        let term = self.hard.term;
        self.send(from, Message::HeartbeatResponse { term });
        Ok(())
    }
}

pub(super) fn misbehaved(from: NodeId, refusal: Refusal) -> RaftError {
    RaftError::PeerMisbehaved { from, refusal }
}
