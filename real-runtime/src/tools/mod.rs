//! The `sluice` client tools, with the flags of Kafka's own: `topics` (kafka-topics),
//! `produce` (kafka-console-producer), `consume` (kafka-console-consumer), `cluster describe`,
//! and `bench produce|consume` (kafka-producer-perf-test, kafka-consumer-perf-test).

mod admin;
pub mod cluster;
pub mod consume;
pub mod flags;
pub mod perf;
pub mod produce;
pub mod topics;
