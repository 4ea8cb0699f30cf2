//! Sluice's sans-IO core.
//!
//! Everything that decides something lives here and never touches a socket, a file, a thread,
//! the wall clock or OS randomness: time arrives as a parameter ([`time::Instant`]), randomness
//! through [`rng::Rng`], and storage through the [`disk::Disk`] trait whose contract states
//! exactly what survives a crash. The simulator (`sluice-sim`) and the production runtime
//! (`sluice`) are two drivers of the same code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod broker;
pub mod bugs;
pub mod client;
pub mod controller;
pub mod disk;
pub mod group;
pub mod log;
pub mod mem_disk;
pub mod raft;
pub mod record;
pub mod replica;
pub mod rng;
pub mod time;
pub mod topic_config;
