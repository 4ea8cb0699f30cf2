//! Random request sequences with proposals committed late, in pieces, or lost in a failover:
//! the invariants hold after every committed record, on the working image after every
//! request, and the working image always equals the committed one once nothing is pending
//! (KIP-631's active controller running ahead of the log).

use super::*;

struct Run {
    rng: TestRng,
    controller: QuorumController,
    pending: std::collections::VecDeque<MetadataRecord>,
    now: Instant,
    incarnation: u128,
}

impl Run {
    fn pick(&mut self, bound: u64) -> u64 {
        self.rng.below(bound)
    }

    /// Queues the records to commit later; responses are not needed here.
    fn take<T>(&mut self, result: ControllerResult<T>) {
        self.pending.extend(result.records);
        if let Err(violation) = check_invariants(self.controller.working_image()) {
            panic!("working image: {violation}");
        }
    }

    fn commit_some(&mut self) {
        let count = self.pick(self.pending.len() as u64 + 1);
        for _ in 0..count {
            let record = self.pending.pop_front().expect("counted");
            self.controller.replay(&record);
            if let Err(violation) = check_invariants(self.controller.image()) {
                panic!("after {record:?}: {violation}");
            }
        }
    }

    /// The Raft leader changes: some proposals commit under the new leader, the rest are
    /// lost, and a new controller starts from the committed image.
    fn failover(&mut self) {
        self.commit_some();
        self.pending.clear();
        let config = self.controller.config().clone();
        let image = self.controller.clone().into_image();
        self.controller = QuorumController::new(config, image, self.now);
    }

    fn broker(&mut self) -> (BrokerId, i64) {
        let id = self.pick(6) as BrokerId;
        let epoch = self
            .controller
            .working_image()
            .broker(id)
            .map_or(1, |b| b.broker_epoch);
        (id, epoch - i64::from(self.pick(8) == 0))
    }

    fn step(&mut self) {
        match self.pick(12) {
            0 => {
                self.incarnation += 1;
                let request = RegisterBrokerRequest {
                    broker_id: self.pick(6) as BrokerId,
                    incarnation_id: Uuid(self.incarnation),
                    listeners: Vec::new(),
                    rack: None,
                    previous_broker_epoch: -1,
                };
                let result = self.controller.register_broker(self.now, &request);
                self.take(result);
            }
            1..=3 => self.heartbeat(),
            4 => self.create_topic(),
            5 => {
                let names = [format!("t{}", self.pick(4))];
                let result = self.controller.delete_topics(&names);
                self.take(result);
            }
            6 => self.alter_partition(),
            7 => {
                let kind = [ElectionType::Preferred, ElectionType::Unclean][self.pick(2) as usize];
                let result = self.controller.elect_leaders(kind, None);
                self.take(result);
            }
            8 => {
                self.now = self.now + Duration::from_millis(self.pick(6_000));
                let result = self.controller.tick(self.now);
                self.take(result);
            }
            9 if self.pick(10) == 0 => self.failover(),
            10 if self.pick(2) == 0 => self.alter_config(),
            _ => self.commit_some(),
        }
    }

    fn alter_config(&mut self) {
        let (name, value) = [
            ("retention.ms", Some("1000")),
            ("unclean.leader.election.enable", Some("true")),
            ("cleanup.policy", Some("compact")),
            ("retention.ms", None),
        ][self.pick(4) as usize];
        let op = match value {
            Some(_) => crate::api::AlterConfigOp::Set,
            None => crate::api::AlterConfigOp::Delete,
        };
        let request = crate::api::AdminRequest::AlterConfigs(crate::api::AlterConfigsRequest {
            resources: vec![crate::api::AlterConfigsResource {
                resource: crate::api::ConfigResource {
                    resource_type: crate::api::resource_type::TOPIC,
                    name: format!("t{}", self.pick(4)),
                },
                ops: vec![(name.to_string(), op, value.map(str::to_string))],
            }],
            validate_only: self.pick(4) == 0,
            incremental: true,
        });
        let result = self.controller.admin(&mut self.rng, &request);
        self.take(result);
    }

    fn heartbeat(&mut self) {
        let (broker_id, broker_epoch) = self.broker();
        let request = HeartbeatRequest {
            broker_id,
            broker_epoch,
            caught_up: self.pick(4) != 0,
            want_fence: self.pick(20) == 0,
            want_shutdown: self.pick(30) == 0,
        };
        let result = self.controller.broker_heartbeat(self.now, &request);
        self.take(result);
    }

    fn create_topic(&mut self) {
        let request = CreateTopicRequest {
            name: format!("t{}", self.pick(4)),
            partitions: 1 + self.pick(4) as i32,
            replication_factor: 1 + self.pick(3) as i16,
            unclean_leader_election_enable: [None, Some(true), Some(false)][self.pick(3) as usize],
        };
        let result = self.controller.create_topics(&mut self.rng, &[request]);
        self.take(result);
    }

    fn alter_partition(&mut self) {
        let image = self.controller.working_image();
        let partitions: Vec<(Uuid, i32, PartitionState)> = image
            .partitions()
            .map(|(topic_id, index, state)| (topic_id, index, state.clone()))
            .collect();
        if partitions.is_empty() {
            return;
        }
        let (topic_id, partition, state) =
            partitions[self.pick(partitions.len() as u64) as usize].clone();
        let leader = self.controller.working_image().broker(state.leader);
        let broker_epoch = leader.map_or(0, |b| b.broker_epoch);
        let mut new_isr = vec![state.leader];
        for replica in &state.replicas {
            if *replica != state.leader && self.pick(2) == 0 {
                new_isr.push(*replica);
            }
        }
        let request = AlterPartitionRequest {
            broker_id: state.leader,
            broker_epoch,
            topic_id,
            partition,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch - i32::from(self.pick(6) == 0),
            new_isr,
            leader_recovery: LeaderRecoveryState::Recovered,
        };
        let result = self.controller.alter_partition(&request);
        self.take(result);
    }
}

impl Run {
    fn new(seed: u64) -> Run {
        let config = ControllerConfig {
            leader_imbalance_check_interval: Duration::from_secs(20),
            ..ControllerConfig::default()
        };
        Run {
            rng: TestRng::new(seed),
            controller: QuorumController::new(config, MetadataImage::default(), Instant::ZERO),
            pending: Default::default(),
            now: Instant::ZERO,
            incarnation: 0,
        }
    }

    /// Runs `steps` random requests, then commits everything pending.
    fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step();
        }
        while !self.pending.is_empty() {
            self.commit_some();
        }
    }
}

/// The committed image after a random run: brokers in every state, topics, unclean elections.
pub(in crate::controller) fn random_image(seed: u64) -> MetadataImage {
    let mut run = Run::new(seed);
    run.run(400);
    run.controller.into_image()
}

#[test]
fn random_requests_keep_the_invariants() {
    for seed in 0..100 {
        let mut run = Run::new(seed);
        run.run(400);
        assert_eq!(run.controller.image(), run.controller.working_image());
        assert_eq!(run.controller.resyncs(), 0, "seed {seed}");
    }
}
