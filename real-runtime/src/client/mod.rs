//! The Kafka client the `sluice` tools use: core's sans-IO [`Producer`] and [`Consumer`]
//! (partitioning, batching, retries, offset resets) driven over real TCP, plus one-at-a-time
//! calls for the admin requests. Requests and answers go through `sluice-net`'s client
//! direction, so the tools speak exactly the protocol other clients do.
//!
//! [`Producer`]: sluice_core::client::Producer
//! [`Consumer`]: sluice_core::client::Consumer

mod connection;
mod driver;
mod sessions;

pub use connection::{ClientError, Connection};
pub use driver::{Delivered, Driver};
pub use sessions::{Consumed, ConsumerSession, ProducerSession};
