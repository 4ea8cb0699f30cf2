//! Finding the coordinator (FindCoordinator) and staying in the group (Heartbeat), as the Java
//! client's `AbstractCoordinator` and its heartbeat thread do.

use super::{GroupConsumer, GroupError, Kind, Phase};
use crate::api::{
    ErrorCode, FindCoordinatorRequest, GroupRequest, GroupResponse, HeartbeatRequest, Request,
    COORDINATOR_KEY_GROUP,
};
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

/// Which broker coordinates the group, as far as the member knows.
#[derive(Clone, Debug, Default)]
pub(super) struct CoordinatorState {
    pub(super) node: Option<BrokerId>,
    /// The FindCoordinator in flight.
    finding: Option<u64>,
    /// The earliest the next FindCoordinator may go out.
    find_at: Instant,
    /// Counts lookups, to cycle through the brokers asked.
    attempts: u64,
}

/// The heartbeat schedule and the client side of the session.
#[derive(Clone, Debug, Default)]
pub(super) struct HeartbeatState {
    in_flight: Option<u64>,
    next_at: Instant,
    /// When the coordinator last showed the member alive (a heartbeat answer, a join, a
    /// coordinator found). Without news for a session timeout the coordinator is presumed
    /// lost, as the Java heartbeat thread presumes it.
    last_alive: Instant,
}

impl CoordinatorState {
    /// The FindCoordinator in flight.
    pub(super) fn finding(&self) -> Option<u64> {
        self.finding
    }
}

impl HeartbeatState {
    /// The Heartbeat in flight.
    pub(super) fn in_flight(&self) -> Option<u64> {
        self.in_flight
    }

    /// A generation starts: the session counts from now, the first heartbeat an interval on.
    pub(super) fn restart(&mut self, now: Instant, interval: Duration) {
        self.last_alive = now;
        self.next_at = now + interval;
    }
}

impl GroupConsumer {
    /// Whether anything the member has to do needs the coordinator.
    fn needs_coordinator(&self) -> bool {
        let phase_needs = !matches!(
            self.phase,
            Phase::Unsubscribed
                | Phase::Closing
                | Phase::AwaitingLeave { .. }
                | Phase::Closed
                | Phase::Failed
        );
        phase_needs || self.commits.pending()
    }

    pub(super) fn find_coordinator_if_needed(&mut self, now: Instant) {
        let Some(at) = self.coordinator_due_at() else {
            return;
        };
        if at > now {
            return;
        }
        let to = self.consumer.any_broker(self.coordinator.attempts);
        self.coordinator.attempts += 1;
        let request = Request::Group(GroupRequest::FindCoordinator(FindCoordinatorRequest {
            key_type: COORDINATOR_KEY_GROUP,
            keys: vec![self.config.group_id.clone()],
        }));
        let deadline = self.request_deadline(now);
        let id = self.send(deadline, Kind::FindCoordinator, to, request);
        self.coordinator.finding = Some(id);
    }

    /// When the next FindCoordinator is due, if one is needed and none is in flight.
    pub(super) fn coordinator_due_at(&self) -> Option<Instant> {
        let idle = self.coordinator.node.is_none() && self.coordinator.finding.is_none();
        (idle && self.needs_coordinator()).then_some(self.coordinator.find_at)
    }

    /// COORDINATOR_NOT_AVAILABLE and the like are retried after the backoff; an answer
    /// naming a broker makes it the coordinator.
    pub(super) fn find_coordinator_answered(
        &mut self,
        now: Instant,
        id: u64,
        response: Result<&GroupResponse, Disconnected>,
    ) {
        if self.coordinator.finding != Some(id) {
            return;
        }
        self.coordinator.finding = None;
        let found = match response {
            // An answer before v4 names no key: its one coordinator is for the one key asked.
            Ok(GroupResponse::FindCoordinator(answer)) => answer.coordinators.iter().find(|c| {
                c.key == self.config.group_id
                    || (c.key.is_empty() && answer.coordinators.len() == 1)
            }),
            _ => None,
        };
        match found {
            Some(found) if found.error == ErrorCode::None && found.node_id >= 0 => {
                self.coordinator.node = Some(found.node_id);
                self.heartbeat.last_alive = now;
            }
            Some(found) => {
                if !matches!(
                    found.error,
                    ErrorCode::None
                        | ErrorCode::CoordinatorNotAvailable
                        | ErrorCode::CoordinatorLoadInProgress
                        | ErrorCode::NotCoordinator
                ) {
                    let api = "FindCoordinator";
                    let error = GroupError::Broker {
                        api,
                        error: found.error,
                    };
                    self.outputs
                        .push_back(super::GroupConsumerOutput::Error(error));
                }
                self.coordinator.find_at = now + self.backoff();
            }
            None => self.coordinator.find_at = now + self.backoff(),
        }
    }

    /// The coordinator `to` failed a request (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a
    /// dropped connection, a session without answers): if it is still the one the member
    /// uses, find it again. The Java client also drops its connection, failing what is in
    /// flight there; here the heartbeat in flight is forgotten (its answer will be ignored) so
    /// that the next one can go to the coordinator found.
    pub(super) fn coordinator_lost(&mut self, now: Instant, to: BrokerId) {
        if self.coordinator.node == Some(to) {
            self.coordinator.node = None;
            self.coordinator.find_at = self.coordinator.find_at.max(now);
            self.heartbeat.in_flight = None;
        }
    }

    /// Whether the member heartbeats: it has a generation and is not joining afresh.
    fn heartbeating(&self) -> bool {
        let phase = matches!(
            self.phase,
            Phase::Revoking
                | Phase::AwaitingMetadata { .. }
                | Phase::AwaitingSync { .. }
                | Phase::Stable
        );
        phase && self.member.generation_id >= 0
    }

    /// When the session the member keeps runs out without a heartbeat answer.
    pub(super) fn session_deadline(&self) -> Option<Instant> {
        let session = Duration::from_millis(self.config.session_timeout_ms);
        let watching = self.heartbeating() && self.coordinator.node.is_some();
        watching.then_some(self.heartbeat.last_alive + session)
    }

    /// A session without news from the coordinator: presume it lost and find it again (the
    /// Java heartbeat thread's "session timed out without receiving a heartbeat response").
    pub(super) fn check_session(&mut self, now: Instant) {
        let Some(deadline) = self.session_deadline() else {
            return;
        };
        if deadline <= now {
            let node = self.coordinator.node.expect("watching a known coordinator");
            self.coordinator_lost(now, node);
            self.heartbeat.last_alive = now;
        }
    }

    pub(super) fn heartbeat_due_at(&self) -> Option<Instant> {
        let ready = self.heartbeating()
            && self.coordinator.node.is_some()
            && self.heartbeat.in_flight.is_none();
        ready.then_some(self.heartbeat.next_at)
    }

    pub(super) fn send_heartbeat_if_due(&mut self, now: Instant) {
        let Some(at) = self.heartbeat_due_at() else {
            return;
        };
        if at > now {
            return;
        }
        let to = self.coordinator.node.expect("due only with a coordinator");
        let generation_id = self.member.generation_id;
        let request = Request::Group(GroupRequest::Heartbeat(HeartbeatRequest {
            group_id: self.config.group_id.clone(),
            generation_id,
            member_id: self.member.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
        }));
        let deadline = self.request_deadline(now);
        let id = self.send(deadline, Kind::Heartbeat(generation_id), to, request);
        self.heartbeat.in_flight = Some(id);
        self.heartbeat.next_at = now + Duration::from_millis(self.config.heartbeat_interval_ms);
    }

    /// Reference: `AbstractCoordinator.HeartbeatResponseHandler`. REBALANCE_IN_PROGRESS makes
    /// a stable member rejoin (and is ignored while it already is rejoining); ILLEGAL_GENERATION
    /// and UNKNOWN_MEMBER_ID for the current generation reset it (only UNKNOWN_MEMBER_ID
    /// resets the member id); FENCED_INSTANCE_ID is fatal.
    pub(super) fn heartbeat_answered(
        &mut self,
        now: Instant,
        id: u64,
        to: BrokerId,
        generation_id: i32,
        response: Result<&GroupResponse, Disconnected>,
    ) {
        if self.heartbeat.in_flight != Some(id) {
            return;
        }
        self.heartbeat.in_flight = None;
        let error = match response {
            Ok(GroupResponse::Heartbeat(answer)) => answer.error,
            _ => ErrorCode::RequestTimedOut,
        };
        let current = generation_id == self.member.generation_id;
        match error {
            ErrorCode::None => self.heartbeat.last_alive = now,
            ErrorCode::RebalanceInProgress => {
                self.heartbeat.last_alive = now;
                if self.phase == Phase::Stable {
                    self.rejoin_wanted = true;
                }
            }
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId if current => {
                let reset_member_id = error == ErrorCode::UnknownMemberId;
                self.reset_generation(now, reset_member_id);
            }
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId => {}
            ErrorCode::FencedInstanceId => self.fail(now, GroupError::FencedInstanceId),
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::RequestTimedOut => {
                self.coordinator_lost(now, to);
                self.heartbeat.next_at = now + self.backoff();
            }
            error => {
                let api = "Heartbeat";
                let error = GroupError::Broker { api, error };
                self.outputs
                    .push_back(super::GroupConsumerOutput::Error(error));
                self.heartbeat.next_at = now + self.backoff();
            }
        }
    }
}
