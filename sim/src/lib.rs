//! The deterministic discrete-event simulator.
//!
//! One `u64` seed determines a whole run: [`Kernel`] holds the virtual clock, the event queue,
//! the seeded [`SimRng`] and the [`Trace`] whose hash proves two runs identical; [`SimDisk`]
//! implements core's `Disk` contract with crashes, torn writes, ENOSPC, bit rot and slow fsync;
//! [`SimNetwork`] carries messages with latency, loss, partitions, pauses and crashes.
//!
//! Nothing here reads a clock, touches the OS, spawns a thread or iterates a randomly ordered
//! map: the same seed gives the same run, event for event.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod crash;
pub mod disk;
mod kernel;
mod net;
mod rng;
mod trace;

pub use crash::CrashKind;
pub use disk::{DiskLatency, DiskStats, SimDisk, SyncTicket};
pub use kernel::{wall_ms, EventId, Kernel, WALL_EPOCH_MS};
pub use net::{Delivery, LinkConfig, NetStats, NodeId, SimNetwork, PPM};
pub use rng::SimRng;
pub use trace::{first_divergence, Divergence, Trace};
