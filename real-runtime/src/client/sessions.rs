//! Core's producer and consumer, each with its driver: the loop every sans-IO client runs —
//! apply an input, drain the outputs, wait for an answer or the next timeout.

use sluice_core::api::{Disconnected, Response, TopicPartition};
use sluice_core::client::{
    ConsumedRecord, Consumer, ConsumerConfig, ConsumerError, ConsumerOutput, Producer,
    ProducerConfig, ProducerOutput, SendOutcome,
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
