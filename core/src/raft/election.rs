//! Leader election: randomized timeouts (Raft §5.2), pre-vote (thesis §9.6), the election
//! restriction (§5.4.1) and check-quorum (thesis §6.2).

use std::collections::BTreeMap;

use super::message::{Entry, Message, NodeId};
use super::replication::Progress;
use super::{LeaderState, RaftError, RaftNode, Role};
use crate::bugs::{self, Bug};
use crate::disk::Disk;
use crate::rng::Rng;
use crate::time::{Duration, Instant};

impl RaftNode {
    /// Draws a fresh election timeout from `[election_timeout_min, election_timeout_max]` and
    /// restarts the election timer with it. Randomness keeps split votes rare (Raft §5.2).
    pub(super) fn draw_election_timeout<R: Rng + ?Sized>(&mut self, now: Instant, rng: &mut R) {
        let low = duration_nanos(self.config.election_timeout_min);
        let high = duration_nanos(self.config.election_timeout_max);
        let timeout = Duration::from_nanos(rng.range_inclusive(low, high));
        assert!(timeout >= self.config.election_timeout_min);
        self.election_timeout = Some(timeout);
        self.election_deadline = now + timeout;
    }

    fn reset_election_timer(&mut self, now: Instant) {
        let timeout = self
            .election_timeout
            .unwrap_or(self.config.election_timeout_max);
        self.election_deadline = now + timeout;
    }

    /// Whether this node currently hears a leader: it is one, or it heard from one less than
    /// `election_timeout_min` ago. Such a node refuses (pre-)votes, so a node that was
    /// partitioned away cannot depose a healthy leader when it returns (thesis §9.6).
    pub(super) fn in_lease(&self, now: Instant) -> bool {
        match self.role {
            Role::Leader => true,
            Role::Follower => {
                self.leader.is_some()
                    && now < self.leader_contact + self.config.election_timeout_min
            }
            Role::PreCandidate | Role::Candidate => false,
        }
    }

    /// The election restriction (Raft §5.4.1): vote only for a candidate whose log is at least
    /// as up to date as ours.
    fn log_is_up_to_date(&self, last_log_index: u64, last_log_term: u64) -> bool {
        if bugs::active(Bug::RaftVoteForStaleLog) {
            return true;
        }
        let (my_index, my_term) = (self.log.last_index(), self.log.last_term());
        last_log_term > my_term || (last_log_term == my_term && last_log_index >= my_index)
    }

    /// Adopts `term` (persisting it when it is new) and follows `leader`, if known.
    pub(super) fn become_follower(&mut self, now: Instant, term: u64, leader: Option<NodeId>) {
        assert!(term >= self.hard.term, "terms only grow");
        if term > self.hard.term {
            self.hard.term = term;
            self.hard.voted_for = None;
            self.persist_hard_state();
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.leader_state = None;
        self.votes.clear();
        if leader.is_some() {
            self.leader_contact = now;
        }
        self.reset_election_timer(now);
    }

    /// Follows `leader` of the current term, which just spoke: restarts the election timer.
    pub(super) fn follow_current_leader(&mut self, now: Instant, leader: NodeId) {
        assert_ne!(leader, self.config.id);
        assert!(self.role != Role::Leader, "two leaders in one term");
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.votes.clear();
        self.leader_contact = now;
        self.reset_election_timer(now);
    }

    /// A follower or candidate heard nothing for an election timeout: ask for pre-votes first,
    /// so that a node that cannot win does not raise everyone's term (thesis §9.6).
    pub(super) fn on_election_timeout<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
    ) -> Result<(), RaftError> {
        assert!(self.role != Role::Leader);
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes.clear();
        self.votes.insert(self.config.id, true);
        self.stats.pre_votes_started += 1;
        let msg = Message::PreVote {
            term: self.hard.term + 1,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.peers() {
            self.send(peer, msg.clone());
        }
        self.tally(now, disk)
    }

    /// Counts the current round's answers: a majority for moves up a stage, a majority
    /// against ends the round (the timer starts another).
    fn tally<D: Disk + ?Sized>(&mut self, now: Instant, disk: &mut D) -> Result<(), RaftError> {
        let granted = self.votes.values().filter(|granted| **granted).count();
        let refused = self.votes.len() - granted;
        let quorum = self.config.quorum();
        if granted >= quorum {
            match self.role {
                Role::PreCandidate => return self.become_candidate(now, disk),
                Role::Candidate => return self.become_leader(now, disk),
                Role::Follower | Role::Leader => unreachable!("only candidates count votes"),
            }
        }
        if refused >= quorum {
            let term = self.hard.term;
            self.become_follower(now, term, None);
            return Ok(());
        }
        Ok(())
    }

    fn become_candidate<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
    ) -> Result<(), RaftError> {
        assert_eq!(self.role, Role::PreCandidate);
        self.hard.term += 1;
        self.hard.voted_for = Some(self.config.id);
        // The vote for ourselves must be durable before anyone can count it (Raft Figure 2).
        self.persist_hard_state();
        self.role = Role::Candidate;
        self.votes.clear();
        self.votes.insert(self.config.id, true);
        self.stats.elections_started += 1;
        let msg = Message::RequestVote {
            term: self.hard.term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.peers() {
            self.send(peer, msg.clone());
        }
        self.tally(now, disk)
    }

    /// Won the election: append an empty entry of the new term, whose commit also commits
    /// every earlier entry (Raft §8; Figure 8's rule counts only current-term entries).
    fn become_leader<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
    ) -> Result<(), RaftError> {
        assert_eq!(self.role, Role::Candidate);
        assert_eq!(self.hard.voted_for, Some(self.config.id));
        self.role = Role::Leader;
        self.leader = Some(self.config.id);
        self.votes.clear();
        self.stats.leaderships_won += 1;
        let next_index = self.log.last_index() + 1;
        let progress: BTreeMap<NodeId, Progress> = self
            .peers()
            .into_iter()
            .map(|peer| (peer, Progress::new(next_index, now)))
            .collect();
        self.leader_state = Some(LeaderState {
            progress,
            heartbeat_deadline: now + self.config.heartbeat_interval,
            quorum_deadline: now + self.config.election_timeout_min,
        });
        let noop = Entry {
            term: self.hard.term,
            index: next_index,
            data: Vec::new(),
        };
        self.append_to_log(disk, &[noop])?;
        self.maybe_commit();
        for peer in self.peers() {
            self.send_append(peer);
        }
        Ok(())
    }

    /// Check-quorum (thesis §6.2): a leader that has not heard from a majority (itself
    /// included) within `election_timeout_min` steps down, so a leader cut off in a minority
    /// stops claiming leadership and clients go elsewhere.
    pub(super) fn check_quorum(&mut self, now: Instant) -> Result<(), RaftError> {
        let window = self.config.election_timeout_min;
        let leader = self.leader_state.as_mut().expect("leader state");
        let heard = leader
            .progress
            .values()
            .filter(|progress| now < progress.last_heard + window)
            .count();
        if heard + 1 >= self.config.quorum() {
            leader.quorum_deadline = now + window;
            return Ok(());
        }
        self.stats.check_quorum_step_downs += 1;
        let term = self.hard.term;
        self.become_follower(now, term, None);
        Ok(())
    }

    pub(super) fn on_pre_vote(
        &mut self,
        now: Instant,
        from: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) -> Result<(), RaftError> {
        let in_lease = self.in_lease(now);
        if in_lease {
            self.stats.pre_votes_refused_for_lease += 1;
        }
        let granted = term > self.hard.term
            && !in_lease
            && self.log_is_up_to_date(last_log_index, last_log_term);
        let reply_term = if granted { term } else { self.hard.term };
        self.send(
            from,
            Message::PreVoteResponse {
                term: reply_term,
                granted,
            },
        );
        Ok(())
    }

    pub(super) fn on_pre_vote_response<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        from: NodeId,
        term: u64,
        granted: bool,
    ) -> Result<(), RaftError> {
        let answers_this_round = if granted {
            term == self.hard.term + 1
        } else {
            term == self.hard.term
        };
        if self.role != Role::PreCandidate || !answers_this_round {
            return Ok(());
        }
        self.votes.insert(from, granted);
        self.tally(now, disk)
    }

    /// A vote request in the current term (a newer term was adopted by `step`).
    pub(super) fn on_request_vote(
        &mut self,
        now: Instant,
        from: NodeId,
        last_log_index: u64,
        last_log_term: u64,
    ) -> Result<(), RaftError> {
        let free = self.hard.voted_for.is_none_or(|voted| voted == from);
        let granted =
            free && !self.in_lease(now) && self.log_is_up_to_date(last_log_index, last_log_term);
        let term = self.hard.term;
        if granted && bugs::active(Bug::RaftVoteBeforeSync) {
            // The planted bug answers before asking for the vote's persist, so the answer
            // does not wait for it.
            self.send(from, Message::RequestVoteResponse { term, granted });
        }
        if granted {
            self.hard.voted_for = Some(from);
            // The vote must be durable before the reply leaves (Raft Figure 2); otherwise a
            // restart could vote again in this term and elect two leaders. The reply comes
            // after the persist, so it waits for it.
            if !bugs::active(Bug::RaftVoteNotPersisted) {
                self.persist_hard_state();
            }
            self.reset_election_timer(now);
        }
        if !(granted && bugs::active(Bug::RaftVoteBeforeSync)) {
            self.send(from, Message::RequestVoteResponse { term, granted });
        }
        Ok(())
    }

    pub(super) fn on_request_vote_response<D: Disk + ?Sized>(
        &mut self,
        now: Instant,
        disk: &mut D,
        from: NodeId,
        granted: bool,
    ) -> Result<(), RaftError> {
        if self.role != Role::Candidate {
            return Ok(());
        }
        self.votes.insert(from, granted);
        self.tally(now, disk)
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).expect("timeouts fit in u64 nanoseconds")
}
