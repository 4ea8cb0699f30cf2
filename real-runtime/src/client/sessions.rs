//! Core's producer and consumer, each with its driver: the loop every sans-IO client runs —
//! apply an input, drain the outputs, wait for an answer or the next timeout.

use sluice_core::api::{
    Disconnected, GroupRequest, OffsetCommitPartition, Request, Response, TopicPartition,
};
use sluice_core::client::{
    CommitResult, ConsumedRecord, Consumer, ConsumerConfig, ConsumerError, ConsumerOutput,
    GroupConsumer, GroupConsumerConfig, GroupConsumerOutput, GroupError, Producer, ProducerConfig,
    ProducerOutput, SendOutcome,
};
use sluice_core::rng::SplitMix64;
use sluice_core::time::Instant;

use super::driver::{sleep, Driver};
use crate::clock::wall_clock_ms;
use crate::transport::TokioConnector;

/// What the consumer handed over in one step.
#[derive(Debug)]
pub enum Consumed {
    /// Records of one partition, in offset order.
    Records(TopicPartition, Vec<ConsumedRecord>),
    /// A partition cannot be read (an unknown topic, no reset policy, an authorization error).
    Error(TopicPartition, ConsumerError),
}

/// The inputs core's clients share.
trait SansIo {
    fn handle_response(&mut self, now: Instant, id: u64, answer: Result<Response, Disconnected>);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
}

impl SansIo for Producer {
    fn handle_response(&mut self, now: Instant, id: u64, answer: Result<Response, Disconnected>) {
        Producer::handle_response(self, now, id, answer);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Producer::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Producer::poll_timeout(self)
    }
}

impl SansIo for Consumer {
    fn handle_response(&mut self, now: Instant, id: u64, answer: Result<Response, Disconnected>) {
        Consumer::handle_response(self, now, id, answer);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Consumer::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Consumer::poll_timeout(self)
    }
}

impl SansIo for GroupConsumer {
    fn handle_response(&mut self, now: Instant, id: u64, answer: Result<Response, Disconnected>) {
        GroupConsumer::handle_response(self, now, id, answer);
    }
    fn handle_timeout(&mut self, now: Instant) {
        GroupConsumer::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        GroupConsumer::poll_timeout(self)
    }
}

/// One turn of the loop: the next answer, or the client's next timeout, whichever is first.
async fn turn(driver: &mut Driver<TokioConnector>, client: &mut impl SansIo) {
    let wait = driver.time_until(client.poll_timeout());
    tokio::select! {
        biased;
        (id, answer) = driver.answer() => client.handle_response(driver.now(), id, answer),
        _ = sleep(wait) => client.handle_timeout(driver.now()),
    }
}

/// A producer over TCP.
pub struct ProducerSession {
    driver: Driver<TokioConnector>,
    producer: Producer,
    rng: SplitMix64,
    done: Vec<(u64, SendOutcome)>,
}

impl ProducerSession {
    /// A producer for the cluster behind `bootstrap`.
    pub fn new(bootstrap: &[(String, u16)], config: ProducerConfig) -> ProducerSession {
        let (driver, ids) = Driver::new(TokioConnector, bootstrap, "sluice-producer");
        ProducerSession {
            driver,
            producer: Producer::new(config, ids),
            rng: SplitMix64::new(u64::from(std::process::id()) ^ wall_clock_ms() as u64),
            done: Vec::new(),
        }
    }

    /// The session's clock.
    pub fn now(&self) -> Instant {
        self.driver.now()
    }

    /// Queues a record (key-hash or sticky partitioning); its outcome comes back with `token`.
    pub fn send(&mut self, topic: &str, key: Option<Vec<u8>>, value: Vec<u8>, token: u64) {
        let now = self.driver.now();
        let timestamp = wall_clock_ms();
        self.producer
            .send(now, &mut self.rng, topic, key, value, timestamp, token);
        self.drain();
    }

    /// Records sent and not yet completed.
    pub fn pending(&self) -> usize {
        self.producer.pending_count()
    }

    /// Waits until at least one record completes, or the producer has nothing left, and
    /// returns the outcomes so far.
    pub async fn completions(&mut self) -> Vec<(u64, SendOutcome)> {
        while self.done.is_empty() && self.producer.pending_count() > 0 {
            turn(&mut self.driver, &mut self.producer).await;
            self.drain();
        }
        std::mem::take(&mut self.done)
    }

    fn drain(&mut self) {
        while let Some(output) = self.producer.poll_output() {
            match output {
                ProducerOutput::Request { to, id, request } => self.driver.send(to, id, request),
                ProducerOutput::Completed { token, outcome } => self.done.push((token, outcome)),
            }
        }
    }
}

/// A consumer over TCP, in assign mode.
pub struct ConsumerSession {
    driver: Driver<TokioConnector>,
    consumer: Consumer,
    ready: Vec<Consumed>,
}

impl ConsumerSession {
    /// A consumer for the cluster behind `bootstrap`, reading `partitions`.
    pub fn new(
        bootstrap: &[(String, u16)],
        config: ConsumerConfig,
        partitions: Vec<TopicPartition>,
    ) -> ConsumerSession {
        let (driver, ids) = Driver::new(TokioConnector, bootstrap, "sluice-consumer");
        let mut consumer = Consumer::new(config, ids);
        consumer.assign(driver.now(), partitions);
        let mut session = ConsumerSession {
            driver,
            consumer,
            ready: Vec::new(),
        };
        session.drain();
        session
    }

    /// Starts `partition` at `offset`.
    pub fn seek(&mut self, partition: &TopicPartition, offset: i64) {
        self.consumer.seek(partition, offset);
        let now = self.driver.now();
        self.consumer.handle_timeout(now);
        self.drain();
    }

    /// Drives the consumer until every assigned partition has a position (an offset reset
    /// resolved), keeping whatever it hands over meanwhile for [`ConsumerSession::poll`].
    pub async fn wait_for_positions(&mut self) {
        let positioned = |consumer: &Consumer| {
            consumer
                .assignment()
                .iter()
                .all(|partition| consumer.position(partition).is_some())
        };
        while !positioned(&self.consumer) {
            turn(&mut self.driver, &mut self.consumer).await;
            self.drain();
        }
    }

    /// Waits for records or errors and returns them.
    pub async fn poll(&mut self) -> Vec<Consumed> {
        while self.ready.is_empty() {
            turn(&mut self.driver, &mut self.consumer).await;
            self.drain();
        }
        std::mem::take(&mut self.ready)
    }

    fn drain(&mut self) {
        while let Some(output) = self.consumer.poll_output() {
            match output {
                ConsumerOutput::Request { to, id, request } => self.driver.send(to, id, request),
                ConsumerOutput::Records {
                    partition, records, ..
                } => self.ready.push(Consumed::Records(partition, records)),
                ConsumerOutput::Error { partition, error } => {
                    self.ready.push(Consumed::Error(partition, error))
                }
                // The position moves on by itself; the tools only print what they read.
                ConsumerOutput::Reset { .. }
                | ConsumerOutput::Truncated { .. }
                | ConsumerOutput::Caught { .. } => {}
            }
        }
    }
}

/// What a group member handed over in one step.
#[derive(Debug)]
pub enum GroupEvent {
    /// Records or a partition's error, as from [`ConsumerSession::poll`].
    Consumed(Consumed),
    /// The member is in a generation with this assignment.
    Assigned(Vec<TopicPartition>),
    /// A commit's final outcome.
    Committed(CommitResult),
    /// A membership problem the member works around (it retries or rejoins).
    Error(GroupError),
    /// The member stopped for good.
    Failed(GroupError),
    /// [`GroupSession::close`] finished: commits answered and the group left.
    Closed,
}

/// A consumer-group member (core's [`GroupConsumer`]) over TCP. Its own requests and its
/// fetching consumer's share the driver; each answer finds its way back by its request id.
pub struct GroupSession {
    driver: Driver<TokioConnector>,
    member: GroupConsumer,
    ready: Vec<GroupEvent>,
    /// When the member last sent a JoinGroup (for `bench group-join`), in the machine's
    /// monotonic clock so that members of one process compare.
    join_sent_at: Option<std::time::Instant>,
}

impl GroupSession {
    /// A member of `config.group_id` for the cluster behind `bootstrap`, subscribed to
    /// `topics`.
    pub fn new(
        bootstrap: &[(String, u16)],
        config: GroupConsumerConfig,
        topics: Vec<String>,
    ) -> GroupSession {
        let client_id = match config.client_id.is_empty() {
            true => "sluice-consumer".to_string(),
            false => config.client_id.clone(),
        };
        let (driver, ids) = Driver::new(TokioConnector, bootstrap, &client_id);
        let mut member = GroupConsumer::new(config, ids);
        member.subscribe(driver.now(), topics);
        let mut session = GroupSession {
            driver,
            member,
            ready: Vec::new(),
            join_sent_at: None,
        };
        session.drain();
        session
    }

    /// The member's state machine, to read its generation, assignment and positions.
    pub fn member(&self) -> &GroupConsumer {
        &self.member
    }

    /// The session's clock.
    pub fn now(&self) -> Instant {
        self.driver.now()
    }

    /// Commits the positions consumed so far; the outcome comes as [`GroupEvent::Committed`]
    /// with the returned token.
    pub fn commit(&mut self) -> u64 {
        let now = self.driver.now();
        let token = self.member.commit(now);
        self.drain();
        token
    }

    /// Commits `offsets` (each partition's next offset to read) in the member's generation.
    pub fn commit_offsets(&mut self, offsets: Vec<OffsetCommitPartition>) -> u64 {
        let now = self.driver.now();
        let token = self.member.commit_offsets(now, offsets);
        self.drain();
        token
    }

    /// When the member last sent a JoinGroup.
    pub fn join_sent_at(&self) -> Option<std::time::Instant> {
        self.join_sent_at
    }

    /// Starts leaving: the close commit (with auto-commit), then LeaveGroup; ends with
    /// [`GroupEvent::Closed`].
    pub fn close(&mut self) {
        let now = self.driver.now();
        self.member.close(now);
        self.drain();
    }

    /// Waits for the member to hand something over and returns it.
    pub async fn poll(&mut self) -> Vec<GroupEvent> {
        while self.ready.is_empty() {
            turn(&mut self.driver, &mut self.member).await;
            self.drain();
        }
        std::mem::take(&mut self.ready)
    }

    fn drain(&mut self) {
        while let Some(output) = self.member.poll_output() {
            let event = match output {
                GroupConsumerOutput::Request { to, id, request } => {
                    if matches!(request, Request::Group(GroupRequest::JoinGroup(_))) {
                        self.join_sent_at = Some(std::time::Instant::now());
                    }
                    self.driver.send(to, id, request);
                    continue;
                }
                GroupConsumerOutput::Consumed(ConsumerOutput::Records {
                    partition,
                    records,
                    ..
                }) => GroupEvent::Consumed(Consumed::Records(partition, records)),
                GroupConsumerOutput::Consumed(ConsumerOutput::Error { partition, error }) => {
                    GroupEvent::Consumed(Consumed::Error(partition, error))
                }
                GroupConsumerOutput::Assigned { assignment, .. } => {
                    GroupEvent::Assigned(assignment)
                }
                GroupConsumerOutput::Committed(result) => GroupEvent::Committed(result),
                GroupConsumerOutput::Error(error) => GroupEvent::Error(error),
                GroupConsumerOutput::Failed(error) => GroupEvent::Failed(error),
                GroupConsumerOutput::Closed => GroupEvent::Closed,
                // Membership news the tools do not print; positions move on by themselves.
                GroupConsumerOutput::Consumed(_)
                | GroupConsumerOutput::Joined { .. }
                | GroupConsumerOutput::Revoked { .. }
                | GroupConsumerOutput::Lost { .. }
                | GroupConsumerOutput::Resumed { .. } => continue,
            };
            self.ready.push(event);
        }
    }
}
