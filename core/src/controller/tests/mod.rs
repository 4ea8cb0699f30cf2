//! Controller tests: requests in, exact records and responses out, records replayed as
//! committed with [`check_invariants`] after every one.

mod admin;
mod brokers;
mod eligible;
mod follower;
mod image;
mod leaders;
mod partitions;
mod random;

pub(super) use random::random_image;
mod topics;

use super::*;
use crate::rng::Rng;
use crate::time::{Duration, Instant};

pub(super) use crate::rng::SplitMix64 as TestRng;

/// An active controller plus the clock and RNG a driver would hand it.
pub(super) struct Harness {
    pub(super) controller: QuorumController,
    pub(super) rng: TestRng,
    pub(super) now: Instant,
}

pub(super) fn ms(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

impl Harness {
    pub(super) fn new(config: ControllerConfig) -> Harness {
        Harness {
            controller: QuorumController::new(config, MetadataImage::default(), Instant::ZERO),
            rng: TestRng::new(42),
            now: Instant::ZERO,
        }
    }

    /// Replays `result.records` as committed, checking the invariants after each one.
    pub(super) fn commit<T>(&mut self, result: ControllerResult<T>) -> T {
        for record in &result.records {
            assert_eq!(
                self.controller.replay(record),
                ApplyOutcome::Applied,
                "{record:?}"
            );
            if let Err(violation) = check_invariants(self.controller.image()) {
                panic!("after {record:?}: {violation}");
            }
        }
        assert_eq!(self.controller.uncommitted_len(), 0);
        assert_eq!(self.controller.resyncs(), 0);
        result.response
    }

    pub(super) fn heartbeat(&mut self, broker_id: BrokerId, epoch: i64) -> HeartbeatReply {
        let request = HeartbeatRequest {
            broker_id,
            broker_epoch: epoch,
            caught_up: true,
            want_fence: false,
            want_shutdown: false,
        };
        let result = self.controller.broker_heartbeat(self.now, &request);
        self.commit(result).expect("heartbeat")
    }

    /// Registers `broker_id` and unfences it; returns its broker epoch.
    pub(super) fn add_broker(&mut self, broker_id: BrokerId) -> i64 {
        let request = RegisterBrokerRequest {
            broker_id,
            incarnation_id: Uuid::random(&mut self.rng),
            listeners: vec![Listener {
                name: "PLAINTEXT".to_string(),
                host: format!("broker-{broker_id}"),
                port: 9092,
            }],
            rack: None,
            previous_broker_epoch: -1,
        };
        let result = self.controller.register_broker(self.now, &request);
        let epoch = self.commit(result).expect("registration");
        assert!(!self.heartbeat(broker_id, epoch).is_fenced);
        epoch
    }

    pub(super) fn create(&mut self, name: &str, partitions: i32, rf: i16) -> Uuid {
        let request = CreateTopicRequest {
            name: name.to_string(),
            partitions,
            replication_factor: rf,
            unclean_leader_election_enable: None,
        };
        let result = self.controller.create_topics(&mut self.rng, &[request]);
        let mut response = self.commit(result);
        response.remove(0).expect("create").topic_id
    }

    pub(super) fn partition(&self, topic_id: Uuid, partition: i32) -> PartitionState {
        self.controller
            .image()
            .partition(topic_id, partition)
            .expect("partition exists")
            .clone()
    }

    /// Heartbeats every unfenced broker at `now`, so only the ones left out lose their lease.
    pub(super) fn heartbeat_all_but(&mut self, skip: &[BrokerId]) {
        let brokers: Vec<(BrokerId, i64)> = self
            .controller
            .image()
            .brokers()
            .filter(|b| !b.fenced && !skip.contains(&b.broker_id))
            .map(|b| (b.broker_id, b.broker_epoch))
            .collect();
        for (id, epoch) in brokers {
            self.heartbeat(id, epoch);
        }
    }
}
