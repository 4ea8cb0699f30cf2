//! One Sluice process as a sans-IO state machine: a [`Node`] is a broker, a controller, or
//! both (`process.roles`), and composes the pieces the rest of `core` provides — the metadata
//! quorum's [`crate::raft`] voter, the active [`crate::controller`], the broker's
//! [`crate::controller::MetadataFollower`] and its [`crate::replica::ReplicaManager`]. A
//! driver (the real runtime, the simulator) runs it as a whole process.
//!
//! # Call order
//!
//! 1. [`Node::open`] with the [`NodeConfig`], the disk, an RNG and `clean` (see below). A
//!    voter recovers its metadata log; the node asks for a timeout at once.
//! 2. Feed it inputs, each with the driver's monotonic `now` and wall-clock `wall_ms`:
//!    [`Node::handle_client_request`] for a client's data-plane request with the driver's
//!    token, [`Node::handle_message`] for a [`NodeMessage`] from another node, and
//!    [`Node::handle_timeout`] once [`Node::poll_timeout`] has passed.
//! 3. After each input, drain [`Node::poll_output`] until `None`: [`NodeOutput::Send`] a
//!    message to a node id (voters and brokers share `node.id`s; the driver maps them to
//!    addresses), [`NodeOutput::Respond`] to a client by its token, and
//!    [`NodeOutput::Sync`] the files it names, off the loop, reporting the completion to
//!    [`Node::handle_sync_done`]. An output with `after: Some(token)` leaves only once that
//!    sync has completed ([`SyncTracker`] keeps the books); everything else an output depends
//!    on is already on the disk as its contract requires.
//! 4. If [`Node::failure`] is set (the disk failed, or the metadata log cannot be applied),
//!    stop the process and open a new [`Node`] over the same disk.
//!
//! # One disk
//!
//! A node takes one [`crate::disk::Disk`] and keeps everything apart by path: the metadata
//! log in `metadata_log_dir` (a voter's only), the partition logs and the `broker-epoch` file
//! in the replica manager's `log_dir`. Two physical devices are the driver's business (it can
//! route the two directories to two places).
//!
//! # Messages to itself
//!
//! A combined node's broker talks to its own controller (registration, heartbeats,
//! AlterPartition, auto-creation): messages addressed to the node itself never come out of
//! [`Node::poll_output`]. They are handled inside the same input before it returns, so a
//! one-node cluster needs no network at all (its Raft, a single voter, sends nothing).
//!
//! # Registration and roles
//!
//! The broker side registers with the active controller (the local one, the Raft leader it
//! knows, or each voter in turn), carrying KIP-966's `previous_broker_epoch`: the epoch of its
//! last accepted registration, read from the `broker-epoch` file it writes durably when a
//! registration is accepted — but only if `clean` (the process went down, not the machine) or
//! the replicas run in fsync mode; otherwise -1, and the controller takes the broker out of
//! every ISR and ELR until it catches up again. It then heartbeats every
//! `broker.heartbeat.interval.ms`, and registers again when the controller forgets it.
//!
//! Every node applies the committed metadata log to one image: a voter from its own Raft
//! log, a broker-only node by fetching committed entries (or a snapshot) from any voter. The
//! broker acts on partition roles only once that image holds its current registration;
//! it then takes up every role the image gives it, heartbeats as caught up, and is unfenced.
//!
//! # Clients before the broker is ready
//!
//! As Kafka opens its listeners only once the broker has caught up with the metadata log,
//! client requests that come before the broker is registered, acting on its roles and
//! unfenced are held (up to `requests_inflight_max`; beyond, refused with
//! REQUEST_TIMED_OUT) and served once it is ([`Node::serves_clients`]). The controller id
//! Metadata answers name is the node's call too ([`Node::controller_id_for_clients`]), so
//! every driver answers alike.
//!
//! # Observers
//!
//! [`Node::observe`] makes the node keep [`NodeNote`]s of its decisions (entries applied,
//! snapshots, controller turns, leaderships taken) for [`Node::poll_note`]: the simulator
//! checks the whole cluster with them. After every input the node asserts its own
//! invariants and, while observed, its replicas' too (HW ≤ LEO, a leader in its ISR, the ISR
//! among the replicas, a leader's HW never down within its epoch), a walk of every replica
//! a node that ships does not pay per input.
//!
//! # Producer ids
//!
//! A broker answers InitProducerId itself, from blocks of producer ids the active controller
//! hands it through the metadata log (KIP-730's AllocateProducerIds, see
//! [`ProducerIdBlocks`]), so ids stay unique across brokers, restarts and controller
//! failovers.
//!
//! # The controller side
//!
//! A voter whose Raft leads, with its term's first entry committed and applied, builds the
//! active controller from its image and answers brokers' requests once their records commit
//! (NOT_CONTROLLER if the leadership is lost first); it ticks the controller (leases,
//! elections) at the controller's deadlines, and snapshots its image to compact the log every
//! `metadata_snapshot_interval_entries` entries.

mod admin;
mod channel;
mod config;
mod epoch_file;
mod follow;
mod groups;
mod lifecycle;
mod message;
mod node;
mod notes;
mod producer_ids;
mod quorum;
mod serve;
mod sync;

#[cfg(test)]
mod tests;

pub use crate::raft::NodeId;
pub use config::{ConfigError, NodeConfig, ProcessRoles};
pub use epoch_file::BROKER_EPOCH_FILE;
pub use message::{ControllerRequest, ControllerResponse, NodeMessage, NodeOutput};
pub use node::{BrokerStatus, Node, NodeError, NodeStats};
pub use notes::NodeNote;
pub use producer_ids::{ProducerIdBlocks, ProducerIdOutput};
pub use sync::{Completed, SyncToken, SyncTracker};
