//! The broker's standing with the controller (KIP-631's broker lifecycle): register with the
//! epoch its disk vouches for (KIP-966), heartbeat to keep its lease, register again when the
//! controller no longer knows the registration.

use super::channel::Purpose;
use super::epoch_file::{self, BROKER_EPOCH_FILE};
use super::message::ControllerRequest;
use super::node::{BrokerStatus, Node, NodeError, Step, SyncOwner};
use crate::controller::{
    ControllerError, HeartbeatReply, HeartbeatRequest, RegisterBrokerRequest, Uuid,
};
use crate::time::Instant;

/// The broker side of one process.
#[derive(Clone, Debug)]
pub(super) struct Lifecycle {
    /// Random per process start: tells the controller a restart from a retry.
    incarnation: Uuid,
    /// What the next registration says its disk vouches for: the last accepted epoch, or -1.
    pub(super) previous_broker_epoch: i64,
    /// The current registration's epoch, once accepted.
    pub(super) epoch: Option<i64>,
    unfenced: bool,
    /// The applied metadata held this registration once: the broker acts on its roles.
    pub(super) active: bool,
    /// When to send the next registration or heartbeat; `None` while one is in flight.
    next_at: Option<Instant>,
    /// When a broker-only node next fetches metadata; `None` while a fetch is in flight, and
    /// always on a voter, whose image comes from its own log.
    pub(super) fetch_at: Option<Instant>,
    /// A controlled shutdown was asked for: heartbeats say `want_shutdown`.
    shutting_down: bool,
    /// The controller moved this broker's leaderships away and let it go.
    shut_down: bool,
}

impl Lifecycle {
    pub(super) fn new(incarnation: Uuid, previous_broker_epoch: i64, observer: bool) -> Lifecycle {
        assert!(previous_broker_epoch >= -1);
        Lifecycle {
            incarnation,
            previous_broker_epoch,
            epoch: None,
            unfenced: false,
            active: false,
            next_at: Some(Instant::ZERO),
            fetch_at: observer.then_some(Instant::ZERO),
            shutting_down: false,
            shut_down: false,
        }
    }

    pub(super) fn status(&self) -> BrokerStatus {
        BrokerStatus {
            broker_epoch: self.epoch,
            previous_broker_epoch: self.previous_broker_epoch,
            unfenced: self.unfenced,
            active: self.active,
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        [self.next_at, self.fetch_at].into_iter().flatten().min()
    }
}

impl Node {
    /// Sends the registration or heartbeat, and the metadata fetch, that are due.
    pub(super) fn lifecycle_timeout(&mut self, step: &mut Step<'_>) {
        let now = step.now;
        let Some(lifecycle) = self.lifecycle.as_mut() else {
            return;
        };
        if lifecycle.next_at.is_some_and(|at| at <= now) {
            lifecycle.next_at = None;
            let request = self.lifecycle_request();
            self.ask_controller(step, Purpose::Lifecycle, request);
        }
        let lifecycle = self.lifecycle.as_mut().expect("checked above");
        if lifecycle.fetch_at.is_some_and(|at| at <= now) {
            lifecycle.fetch_at = None;
            let from_index = self.follower.fetch_from();
            let request = ControllerRequest::MetadataFetch { from_index };
            self.ask_controller(step, Purpose::MetadataFetch, request);
        }
    }

    /// Register until accepted, then heartbeat.
    fn lifecycle_request(&self) -> ControllerRequest {
        let lifecycle = self.lifecycle.as_ref().expect("a broker");
        let broker_id = self.config.broker_id();
        match lifecycle.epoch {
            None => ControllerRequest::Register(RegisterBrokerRequest {
                broker_id,
                incarnation_id: lifecycle.incarnation,
                listeners: self.config.advertised_listeners.clone(),
                rack: self.config.broker_rack.clone(),
                previous_broker_epoch: lifecycle.previous_broker_epoch,
            }),
            Some(broker_epoch) => ControllerRequest::Heartbeat(HeartbeatRequest {
                broker_id,
                broker_epoch,
                // Caught up: its own registration is in the metadata it has applied.
                caught_up: self.follower.is_registered(broker_epoch),
                want_fence: false,
                want_shutdown: lifecycle.shutting_down,
            }),
        }
    }

    /// The controller accepted (or refused) a registration. The epoch is stored durably by a
    /// replace output, so a later restart can vouch for it. Nothing waits for it: until it
    /// completes the file holds an older epoch (or none), and a restart that vouches for an
    /// older epoch is treated as unclean by the controller, which is pessimistic, never
    /// unsafe.
    pub(super) fn registered(&mut self, step: &mut Step<'_>, result: Result<i64, ControllerError>) {
        let now = step.now;
        let epoch = match result {
            Ok(epoch) if epoch >= 0 => epoch,
            Ok(_) => return self.lifecycle_retry_at(now),
            Err(error) => return self.lifecycle_refused(now, error),
        };
        let dir = self.config.replica.log_dir.clone();
        if let Err(error) = step.disk.create_dir_all(&dir) {
            return self.fail(NodeError::Disk(error));
        }
        let bytes = epoch_file::encode(epoch);
        self.issue_replace(SyncOwner::BrokerEpoch, dir, BROKER_EPOCH_FILE, bytes);
        let lifecycle = self.lifecycle.as_mut().expect("only brokers register");
        lifecycle.epoch = Some(epoch);
        lifecycle.previous_broker_epoch = epoch;
        lifecycle.unfenced = false;
        lifecycle.next_at = Some(now);
        self.manager.set_broker_epoch(epoch);
        self.stats.registrations += 1;
        self.activate(step);
    }

    pub(super) fn heartbeat_answered(
        &mut self,
        step: &mut Step<'_>,
        result: Result<HeartbeatReply, ControllerError>,
    ) {
        let now = step.now;
        let interval = self.config.broker_heartbeat_interval;
        let lifecycle = self.lifecycle.as_mut().expect("only brokers heartbeat");
        match result {
            Ok(reply) => {
                lifecycle.unfenced = !reply.is_fenced;
                lifecycle.shut_down |= lifecycle.shutting_down && reply.should_shut_down;
                // While shutting down, ask again soon: the controller moves leaderships as its
                // records commit, and the process waits on the answer.
                let pause = match lifecycle.shutting_down {
                    true => self.config.retry_backoff,
                    false => interval,
                };
                lifecycle.next_at = Some(now.checked_add(pause).unwrap_or(now));
            }
            Err(ControllerError::StaleBrokerEpoch | ControllerError::BrokerIdNotRegistered) => {
                // The controller lost or replaced this registration: register again at once.
                lifecycle.epoch = None;
                lifecycle.unfenced = false;
                lifecycle.next_at = Some(now);
            }
            Err(error) => self.lifecycle_refused(now, error),
        }
    }

    /// A refusal: another controller is tried after `retry.backoff.ms`; anything else (such
    /// as DUPLICATE_BROKER_REGISTRATION while the previous process's lease runs out) after a
    /// heartbeat interval.
    fn lifecycle_refused(&mut self, now: Instant, error: ControllerError) {
        let pause = match error {
            ControllerError::NotController => self.config.retry_backoff,
            _ => self.config.broker_heartbeat_interval,
        };
        let lifecycle = self.lifecycle.as_mut().expect("a broker");
        lifecycle.next_at = Some(now.checked_add(pause).unwrap_or(now));
    }

    /// The next registration or heartbeat goes after `retry.backoff.ms`.
    pub(super) fn lifecycle_retry_at(&mut self, now: Instant) {
        let backoff = self.config.retry_backoff;
        if let Some(lifecycle) = self.lifecycle.as_mut() {
            lifecycle.next_at = Some(now.checked_add(backoff).unwrap_or(now));
        }
    }

    /// Starts a controlled shutdown (KIP-631): heartbeats ask the controller to move this
    /// broker's leaderships away, until it answers that the broker may stop.
    pub(super) fn ask_controlled_shutdown(&mut self, now: Instant) {
        if let Some(lifecycle) = self.lifecycle.as_mut() {
            lifecycle.shutting_down = true;
        }
        self.heartbeat_soon(now);
    }

    /// Whether a controlled shutdown has finished: the controller let the broker go, or there
    /// is no registration to shut down (a controller-only node, or a broker never accepted).
    pub fn controlled_shutdown_done(&self) -> bool {
        self.lifecycle
            .as_ref()
            .is_none_or(|lifecycle| lifecycle.shut_down || lifecycle.epoch.is_none())
    }

    /// Heartbeats at once, unless one is already on its way: used when the broker catches up
    /// with its registration, so it is unfenced without waiting an interval.
    pub(super) fn heartbeat_soon(&mut self, now: Instant) {
        if self.channel.is_waiting_for(&Purpose::Lifecycle) {
            return;
        }
        if let Some(lifecycle) = self.lifecycle.as_mut() {
            lifecycle.next_at = Some(now);
        }
    }
}
