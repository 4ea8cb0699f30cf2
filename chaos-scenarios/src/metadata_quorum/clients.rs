//! The controllers' clients: brokers that register and heartbeat (Kafka's
//! broker.heartbeat.interval.ms is 2 s against a 9 s session), and an admin client creating
//! topics. Each talks to the controller it believes active and moves on when told
//! NOT_CONTROLLER or when an answer is late.

use sluice_core::controller::{
    ControllerError, CreateTopicRequest, HeartbeatRequest, ImageLimits, Listener, MetadataFollower,
    RegisterBrokerRequest, Uuid,
};
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::NodeId;

use super::wire::{Request, Response};

/// How long a client waits for an answer before trying another controller.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// A request in flight.
#[derive(Clone, Copy, Debug)]
pub struct Outstanding {
    /// Its id.
    pub id: u64,
    /// When it left.
    pub sent_at: Instant,
}

/// A simulated broker: only its conversation with the controller.
#[derive(Debug)]
pub struct SimBroker {
    /// Kafka broker id.
    pub broker_id: i32,
    /// Its network address.
    pub net_id: NodeId,
    /// The epoch of its current registration, once accepted.
    pub epoch: Option<i64>,
    /// The last heartbeat answer said it is unfenced.
    pub unfenced: bool,
    /// Which controller it talks to (index into the controller list).
    pub target: usize,
    /// The request waiting for an answer.
    pub outstanding: Option<Outstanding>,
    /// Until then it sends nothing: a broker stalled (a long GC, a hung disk) whose lease lapses.
    pub muted_until: Option<Instant>,
    /// Its view of the metadata, followed from the controllers' committed log.
    pub follower: MetadataFollower,
    /// The metadata fetch waiting for an answer.
    pub fetch_outstanding: Option<Outstanding>,
    /// The broker process is down until `muted_until` and restarts then, memory lost.
    pub restart_on_wake: bool,
    /// The controller allowed the controlled shutdown: the driver takes the process down.
    pub stopped: bool,
    /// An operator asked it to stop: it heartbeats with want_shutdown until the controller has
    /// moved its leaderships away (Kafka's controlled shutdown), then stops for a while.
    pub shutting_down: bool,
    /// A machine crash took writes its disk had not synced, so its next registration says it
    /// cannot vouch for its past (KIP-966's PreviousBrokerEpoch of -1).
    pub lost_writes: bool,
    /// The epoch of its last accepted registration, kept across restarts as a disk would.
    last_epoch: i64,
    incarnation: Uuid,
}

impl SimBroker {
    /// A broker that has not registered yet.
    pub fn new(broker_id: i32, net_id: NodeId, incarnation: Uuid) -> SimBroker {
        SimBroker {
            broker_id,
            net_id,
            epoch: None,
            unfenced: false,
            target: 0,
            outstanding: None,
            muted_until: None,
            follower: MetadataFollower::new(broker_id, ImageLimits::default()),
            fetch_outstanding: None,
            restart_on_wake: false,
            shutting_down: false,
            stopped: false,
            lost_writes: false,
            last_epoch: -1,
            incarnation,
        }
    }

    /// The next request: register until accepted, then heartbeat.
    pub fn next_request(&self) -> Request {
        match self.epoch {
            None => Request::Register(RegisterBrokerRequest {
                broker_id: self.broker_id,
                incarnation_id: self.incarnation,
                listeners: vec![Listener {
                    name: "PLAINTEXT".to_string(),
                    host: format!("broker-{}", self.broker_id),
                    port: 9092,
                }],
                rack: None,
                previous_broker_epoch: if self.lost_writes {
                    -1
                } else {
                    self.last_epoch
                },
            }),
            Some(broker_epoch) => Request::Heartbeat(HeartbeatRequest {
                broker_id: self.broker_id,
                broker_epoch,
                // Caught up means its own registration is in the metadata it has applied.
                caught_up: self.follower.is_registered(broker_epoch),
                want_fence: false,
                want_shutdown: self.shutting_down,
            }),
        }
    }

    /// A restarted broker process: its metadata and registration are gone from memory, so it
    /// fetches the log again from the start (a compacted log answers with a snapshot) and
    /// registers with a new incarnation.
    pub fn restart(&mut self, incarnation: Uuid) {
        self.follower = MetadataFollower::new(self.broker_id, ImageLimits::default());
        self.epoch = None;
        self.unfenced = false;
        self.outstanding = None;
        self.fetch_outstanding = None;
        self.shutting_down = false;
        self.stopped = false;
        self.incarnation = incarnation;
    }

    /// Takes an answer; returns whether to look for another controller.
    pub fn answered(&mut self, response: &Response) -> bool {
        self.outstanding = None;
        match response {
            Response::Registered(Ok(epoch)) => {
                self.epoch = Some(*epoch);
                self.last_epoch = *epoch;
                self.lost_writes = false;
            }
            Response::Heartbeat(Ok(reply)) => {
                self.unfenced = !reply.is_fenced;
                self.stopped = self.shutting_down && reply.should_shut_down;
            }
            Response::Heartbeat(Err(
                ControllerError::StaleBrokerEpoch | ControllerError::BrokerIdNotRegistered,
            )) => {
                // The controller lost or replaced this registration: register again.
                self.epoch = None;
                self.unfenced = false;
            }
            _ => {}
        }
        response.is_not_controller()
    }
}

/// The admin client: creates topics one after another and, when asked to, deletes some.
#[derive(Debug)]
pub struct Admin {
    /// Its network address.
    pub net_id: NodeId,
    /// Which controller it talks to.
    pub target: usize,
    /// The request waiting for an answer.
    pub outstanding: Option<Outstanding>,
    /// The request being retried until an answer other than NOT_CONTROLLER.
    pub current: Option<Request>,
    /// The next topic number to create.
    pub next_topic: u32,
    /// Topics created.
    pub created: u32,
    /// Topics deleted.
    pub deleted: u32,
    /// Once `current` is done, send nothing more (the replication scenarios create one topic).
    pub idle_after_current: bool,
    deletes: bool,
}

impl Admin {
    /// An admin client; `deletes` makes a third of its requests deletions.
    pub fn new(net_id: NodeId, deletes: bool) -> Admin {
        Admin {
            net_id,
            target: 0,
            outstanding: None,
            current: None,
            next_topic: 0,
            created: 0,
            deleted: 0,
            idle_after_current: false,
            deletes,
        }
    }

    /// The request to send: the one being retried, or a new creation or deletion.
    pub fn request(&mut self, rng: &mut impl Rng) -> Option<Request> {
        if let Some(request) = &self.current {
            return Some(request.clone());
        }
        if self.idle_after_current {
            return None;
        }
        let request = if self.deletes && self.next_topic > 0 && rng.chance(1, 3) {
            Request::DeleteTopic(format!("topic-{}", rng.below(u64::from(self.next_topic))))
        } else {
            self.next_topic += 1;
            Request::CreateTopic(CreateTopicRequest {
                name: format!("topic-{}", self.next_topic - 1),
                partitions: rng.range_inclusive(1, 4) as i32,
                replication_factor: rng.range_inclusive(1, 3) as i16,
                unclean_leader_election_enable: None,
            })
        };
        self.current = Some(request.clone());
        Some(request)
    }

    /// Takes an answer; returns whether to look for another controller.
    pub fn answered(&mut self, response: &Response) -> bool {
        self.outstanding = None;
        if response.is_not_controller() {
            return true;
        }
        match response {
            Response::TopicCreated(Ok(_)) => self.created += 1,
            Response::TopicDeleted(Ok(_)) => self.deleted += 1,
            Response::LeadersElected(Ok(_)) => {}
            // The one topic of an idle-after admin is retried until it exists.
            _ if self.idle_after_current => return false,
            _ => {}
        }
        self.current = None;
        false
    }
}
