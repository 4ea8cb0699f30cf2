//! The simulator's admin client, as Kafka's AdminClient behaves: one request at a time to a
//! broker (which forwards it to the controller), retried on another broker after a timeout,
//! a lost connection or a retriable error, until an answer settles it. It keeps the log of
//! what it was told, for the verdict of `admin-under-faults`.

use sluice_core::api::{
    self, AdminRequest, AdminResponse, AlterConfigOp, AlterConfigsRequest, AlterConfigsResource,
    ConfigResource, CreatableTopic, CreatePartitionsRequest, CreateTopicsRequest,
    DeleteRecordsRequest, DeleteTopicsRequest, Disconnected, ErrorCode, NewPartitions,
    TopicPartition,
};
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};

/// How long the admin waits for an answer before trying another broker.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long it waits before retrying after a retriable error.
const RETRY_BACKOFF: Duration = Duration::from_millis(300);

/// One change the admin asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminOp {
    /// CreateTopics.
    Create {
        /// The topic.
        name: String,
        /// Its partitions.
        partitions: i32,
        /// Its replication factor.
        replication_factor: i16,
        /// Replicas chosen by the admin, per partition (first = preferred leader); when given,
        /// the request names -1 partitions and replication factor, as Kafka's clients do.
        assignments: Vec<(i32, Vec<i32>)>,
        /// Topic configs.
        configs: Vec<(String, String)>,
    },
    /// DeleteRecords: delete the records of one partition below `offset`
    /// (`kafka-delete-records`), sent to the partition's leader.
    Trim {
        /// The topic.
        name: String,
        /// The partition.
        partition: i32,
        /// The new log start offset.
        offset: i64,
    },
    /// DeleteTopics.
    Delete {
        /// The topic.
        name: String,
    },
    /// CreatePartitions: grow to `count`.
    Grow {
        /// The topic.
        name: String,
        /// The partition count wanted.
        count: i32,
    },
    /// IncrementalAlterConfigs: SET one topic config.
    Alter {
        /// The topic.
        name: String,
        /// The config.
        key: String,
        /// Its new value.
        value: String,
    },
}

impl AdminOp {
    fn request(&self) -> api::Request {
        let admin = match self {
            AdminOp::Create {
                name,
                partitions,
                replication_factor,
                assignments,
                configs,
            } => AdminRequest::CreateTopics(CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: name.clone(),
                    num_partitions: if assignments.is_empty() {
                        *partitions
                    } else {
                        -1
                    },
                    replication_factor: if assignments.is_empty() {
                        *replication_factor
                    } else {
                        -1
                    },
                    assignments: assignments.clone(),
                    configs: configs
                        .iter()
                        .map(|(key, value)| (key.clone(), Some(value.clone())))
                        .collect(),
                }],
                validate_only: false,
            }),
            AdminOp::Trim {
                name,
                partition,
                offset,
            } => AdminRequest::DeleteRecords(DeleteRecordsRequest {
                partitions: vec![(
                    TopicPartition {
                        topic: name.clone(),
                        partition: *partition,
                    },
                    *offset,
                )],
            }),
            AdminOp::Delete { name } => AdminRequest::DeleteTopics(DeleteTopicsRequest {
                names: vec![name.clone()],
            }),
            AdminOp::Grow { name, count } => {
                AdminRequest::CreatePartitions(CreatePartitionsRequest {
                    topics: vec![NewPartitions {
                        topic: name.clone(),
                        count: *count,
                        assignments: None,
                    }],
                    validate_only: false,
                })
            }
            AdminOp::Alter { name, key, value } => {
                AdminRequest::AlterConfigs(AlterConfigsRequest {
                    resources: vec![AlterConfigsResource {
                        resource: ConfigResource {
                            resource_type: api::resource_type::TOPIC,
                            name: name.clone(),
                        },
                        ops: vec![(key.clone(), AlterConfigOp::Set, Some(value.clone()))],
                    }],
                    validate_only: false,
                    incremental: true,
                })
            }
        };
        api::Request::Admin(admin)
    }
}

/// What became of an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// The broker answered NONE: the change is acknowledged.
    Acknowledged,
    /// The broker answered with this error, which retrying would not change.
    Refused(ErrorCode),
}

/// The admin client.
#[derive(Debug)]
pub struct AdminClient {
    brokers: Vec<i32>,
    target: usize,
    next_id: u64,
    /// The op being tried, and how many times it was sent.
    current: Option<(AdminOp, u32)>,
    /// The request in flight: its id and when it goes stale.
    outstanding: Option<(u64, Instant)>,
    /// Not before then (a backoff).
    wait_until: Option<Instant>,
    /// Ops waiting their turn.
    queue: std::collections::VecDeque<AdminOp>,
    /// Every op settled, in order, with what the broker said and how many attempts it took.
    pub log: Vec<(AdminOp, Settled, u32)>,
    /// Retries refusals too, until the op is acknowledged (an operator setting a cluster up
    /// waits for its brokers to come).
    pub insistent: bool,
    /// The log start offset the last acknowledged DeleteRecords answer reported.
    pub low_watermark: Option<i64>,
}

impl AdminClient {
    /// An admin that talks to `brokers`, starting at a random one.
    pub fn new(brokers: Vec<i32>, rng: &mut impl Rng) -> AdminClient {
        let target = rng.below(brokers.len() as u64) as usize;
        AdminClient {
            brokers,
            target,
            next_id: 0,
            current: None,
            outstanding: None,
            wait_until: None,
            queue: std::collections::VecDeque::new(),
            log: Vec::new(),
            insistent: false,
            low_watermark: None,
        }
    }

    /// Queues an op.
    pub fn submit(&mut self, op: AdminOp) {
        self.queue.push_back(op);
    }

    /// Sends the next attempt to `broker` (found in metadata, as Kafka's AdminClient finds a
    /// partition's leader), if it is one of this admin's.
    pub fn aim_at(&mut self, broker: i32) {
        if let Some(index) = self.brokers.iter().position(|b| *b == broker) {
            self.target = index;
        }
    }

    /// Whether every op submitted is settled.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    /// The request to send now, if any: (broker, id, request).
    pub fn poll_request(&mut self, now: Instant) -> Option<(i32, u64, api::Request)> {
        if self.outstanding.is_some() || self.wait_until.is_some() {
            return None;
        }
        if self.current.is_none() {
            self.current = Some((self.queue.pop_front()?, 0));
        }
        let (op, attempts) = self.current.as_mut().expect("set above");
        *attempts += 1;
        self.next_id += 1;
        let id = self.next_id;
        self.outstanding = Some((id, now + ANSWER_TIMEOUT));
        Some((self.brokers[self.target], id, op.request()))
    }

    /// When [`AdminClient::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let stale = self.outstanding.map(|(_, at)| at);
        [stale, self.wait_until].into_iter().flatten().min()
    }

    /// Gives up a request that went unanswered, and ends a backoff.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut impl Rng) {
        if self.outstanding.is_some_and(|(_, at)| at <= now) {
            self.outstanding = None;
            self.next_broker(rng);
        }
        if self.wait_until.is_some_and(|at| at <= now) {
            self.wait_until = None;
        }
    }

    /// The answer to request `id`; the op it settled, if it did.
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: u64,
        answer: Result<api::Response, Disconnected>,
    ) -> Option<(AdminOp, Settled, u32)> {
        if self.outstanding.is_none_or(|(sent, _)| sent != id) {
            return None;
        }
        self.outstanding = None;
        let error = match answer {
            Ok(api::Response::Admin(AdminResponse::DeleteRecords(results))) => {
                let first = results.first();
                self.low_watermark = first.map(|r| r.low_watermark);
                Some(first.map_or(ErrorCode::UnknownServerError, |r| r.error))
            }
            Ok(api::Response::Admin(response)) => Some(error_of(&response)),
            Ok(_) => Some(ErrorCode::UnknownServerError),
            // The connection dropped: the request may or may not have taken effect.
            Err(Disconnected) => None,
        };
        let (op, attempts) = self.current.clone().expect("an op is in flight");
        let settled = match error {
            None => None,
            Some(ErrorCode::None) => Some(Settled::Acknowledged),
            // An earlier attempt of this op took effect and its answer was lost.
            Some(ErrorCode::TopicAlreadyExists)
                if attempts > 1 && matches!(op, AdminOp::Create { .. }) =>
            {
                Some(Settled::Acknowledged)
            }
            Some(ErrorCode::UnknownTopicOrPartition)
                if attempts > 1 && matches!(op, AdminOp::Delete { .. }) =>
            {
                Some(Settled::Acknowledged)
            }
            // The topic has the count asked for already: only this admin grows it.
            Some(ErrorCode::InvalidPartitions)
                if attempts > 1 && matches!(op, AdminOp::Grow { .. }) =>
            {
                Some(Settled::Acknowledged)
            }
            Some(error) if is_retriable(error) || self.insistent => None,
            Some(error) => Some(Settled::Refused(error)),
        };
        match settled {
            Some(settled) => {
                self.log.push((op.clone(), settled, attempts));
                self.current = None;
                Some((op, settled, attempts))
            }
            None => {
                self.wait_until = Some(now + RETRY_BACKOFF);
                self.target = (self.target + 1) % self.brokers.len();
                None
            }
        }
    }

    fn next_broker(&mut self, rng: &mut impl Rng) {
        let skip = 1 + rng.below(self.brokers.len().max(2) as u64 - 1) as usize;
        self.target = (self.target + skip) % self.brokers.len();
    }
}

/// Whether Kafka's AdminClient retries a request that got `error`.
fn is_retriable(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::NotController
            | ErrorCode::NotLeaderOrFollower
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::RequestTimedOut
            | ErrorCode::UnknownServerError
            | ErrorCode::KafkaStorageError
    )
}

/// The one error of an answer about one resource.
fn error_of(response: &AdminResponse) -> ErrorCode {
    let first = match response {
        AdminResponse::CreateTopics(results) => results.first().map(|r| r.error),
        AdminResponse::DeleteTopics(results) => results.first().map(|r| r.error),
        AdminResponse::CreatePartitions(results) => results.first().map(|r| r.error),
        AdminResponse::AlterConfigs(results) => results.first().map(|r| r.error),
        AdminResponse::DescribeConfigs(results) => results.first().map(|r| r.error),
        AdminResponse::DeleteRecords(results) => results.first().map(|r| r.error),
        AdminResponse::DescribeCluster { error } => Some(*error),
    };
    first.unwrap_or(ErrorCode::UnknownServerError)
}
