//! The Sluice production runtime: real files, the clocks, TCP listeners serving the Kafka
//! protocol, the server's configuration, and the `sluice` command's tools.
//!
//! The binary (`src/main.rs`) is a thin command-line front over these modules, so that tests
//! and benchmarks can use them directly.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod file_disk;
pub mod logging;
pub mod peers;
pub mod records;
pub mod server;
pub mod sync_worker;
pub mod tools;
pub mod transport;
