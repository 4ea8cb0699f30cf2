//! The `sluice` client tools, with the flags of Kafka's own: `topics` (kafka-topics),
//! `groups` (kafka-consumer-groups), `produce` (kafka-console-producer), `consume`
//! (kafka-console-consumer, with or without a group), `cluster describe`,
//! and `bench produce|consume` (kafka-producer-perf-test, kafka-consumer-perf-test).

/// `println!` that does not panic when standard output is closed (`sluice ... | head -1`): a
/// tool whose reader went away has nobody left to tell.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod admin;
pub mod cluster;
pub mod consume;
pub mod flags;
pub mod group_bench;
mod group_consume;
mod group_load;
mod group_perf;
pub mod groups;
pub mod perf;
pub mod produce;
pub mod topics;
