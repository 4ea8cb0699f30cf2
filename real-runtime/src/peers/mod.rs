//! Traffic between Sluice nodes: the node task's messages to other nodes go out over one
//! outbound connection per peer address ([`Peers`]), and messages from other nodes come in on
//! connections they opened, to the [`PeerInbox`].
//!
//! Each direction has its own connection: a node dials each peer for its own sends, and its
//! first frame there is a hello naming it (`sluice_net::peer`). Peers connect to the same
//! listeners as clients; the connection loop tells them apart by that first frame. So a
//! connection never carries an answer back, and a controller answers a broker on the
//! connection it dials to the broker.
//!
//! Losing a message is always safe (the core retries, as it does under the simulator's lossy
//! network), so nothing here waits: a full queue or a connection being re-dialled drops what
//! is sent to it, and a connection that fails is dialled again after a backoff.

mod directory;
mod link;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use sluice_core::broker::{NodeId, NodeMessage};
use sluice_net::peer::Hello;
use tokio::sync::mpsc;

pub use directory::Peers;

/// Messages from peers that may wait for the node task before more are dropped.
pub const INBOX_CAPACITY: usize = 4096;

/// What peer connections hand the node task.
#[derive(Debug)]
pub enum PeerInput {
    /// A peer connected: where it takes connections itself.
    Hello(Hello),
    /// A message from a peer.
    Message {
        /// The sender's node id, from its hello.
        from: NodeId,
        /// The message.
        message: NodeMessage,
    },
}

/// The node task's end is gone: the server is stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboxClosed;

/// Where inbound peer connections deliver. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PeerInbox {
    cluster_id: Arc<str>,
    node_id: NodeId,
    inputs: mpsc::Sender<PeerInput>,
}

impl PeerInbox {
    /// An inbox for node `node_id` of cluster `cluster_id`, and the node task's receiver.
    pub fn new(cluster_id: &str, node_id: NodeId) -> (PeerInbox, mpsc::Receiver<PeerInput>) {
        let (inputs, receiver) = mpsc::channel(INBOX_CAPACITY);
        let inbox = PeerInbox {
            cluster_id: Arc::from(cluster_id),
            node_id,
            inputs,
        };
        (inbox, receiver)
    }

    /// Whether a peer that sent `hello` may talk to this node.
    pub fn check(&self, hello: &Hello) -> Result<(), String> {
        if hello.cluster_id != *self.cluster_id {
            return Err(format!(
                "the peer is in cluster {}, this node in {}",
                hello.cluster_id, self.cluster_id
            ));
        }
        if hello.node_id == self.node_id {
            return Err("the peer claims this node's own id".to_string());
        }
        Ok(())
    }

    /// Hands `input` to the node task, dropping it when the task is behind.
    pub fn deliver(&self, input: PeerInput) -> Result<(), InboxClosed> {
        match self.inputs.try_send(input) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(input)) => {
                tracing::debug!(?input, "the node is behind; dropping a peer message");
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(InboxClosed),
        }
    }
}
