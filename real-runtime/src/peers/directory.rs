//! [`Peers`]: the node task's outbound side. It finds where a node id is reached and keeps
//! one link per address.
//!
//! Where a node is reached depends on what the message is for:
//! - Raft messages and requests to controllers go to the voter's `controller.quorum.voters`
//!   address, as Kafka sends them to the controller listener.
//! - Replica traffic and controllers' answers go to the broker's registered listener named
//!   like this node's inter-broker listener (Kafka's `inter.broker.listener.name`, which
//!   defaults to the first advertised listener here), else its first one.
//! - Failing those, the address the node gave in its last hello: a controller answers a
//!   broker whose registration has not committed yet, and so is in no image.
//!
//! Links are keyed by node and address: a restarted broker that registers a new port gets a
//! new link, and one node reached for two purposes at two addresses has two.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_core::broker::{NodeId, NodeMessage};
use sluice_core::controller::MetadataImage;
use sluice_net::peer::{encode_hello, encode_message_parts, Hello, MessageFrame};

use super::link::{self, Frame, Queue, Target};
use crate::records::RecordFiles;
use crate::transport::Connector;

/// A host and port.
type Address = (String, u16);

/// The node task's connections to other nodes.
pub struct Peers<C> {
    connector: Arc<C>,
    hello: Arc<[u8]>,
    voters: BTreeMap<NodeId, Address>,
    inter_broker_listener: Option<String>,
    learned: BTreeMap<NodeId, Address>,
    links: BTreeMap<(NodeId, Address), Queue>,
    dropped: u64,
}

impl<C: Connector> Peers<C> {
    /// Peers for the node that `hello` describes; `voters` are the quorum's addresses.
    pub fn new(
        connector: C,
        hello: &Hello,
        voters: impl IntoIterator<Item = (NodeId, String, u16)>,
        inter_broker_listener: Option<String>,
    ) -> Result<Peers<C>, String> {
        let hello =
            encode_hello(hello).map_err(|error| format!("cannot encode the hello: {error}"))?;
        Ok(Peers {
            connector: Arc::new(connector),
            hello: Arc::from(hello),
            voters: voters
                .into_iter()
                .map(|(id, host, port)| (id, (host, port)))
                .collect(),
            inter_broker_listener,
            learned: BTreeMap::new(),
            links: BTreeMap::new(),
            dropped: 0,
        })
    }

    /// Remembers where a peer that connected to this node takes connections.
    pub fn learn(&mut self, hello: &Hello) {
        self.learned
            .insert(hello.node_id, (hello.host.clone(), hello.port));
    }

    /// Sends `message` to node `to`, or drops it when `to` cannot be reached now. Records it
    /// holds as file ranges are taken from `disk` now, while the files hold what was read.
    pub fn send(
        &mut self,
        to: NodeId,
        message: &NodeMessage,
        image: &MetadataImage,
        disk: &mut impl RecordFiles,
    ) {
        let Some(address) = self.address(to, message, image) else {
            self.drop_one(to, "no known address");
            return;
        };
        let frame = match encode_message_parts(message) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(node = to.0, %error, "cannot encode a peer message; dropping it");
                return;
            }
        };
        let frame = match frame_of(frame, disk) {
            Ok(frame) => frame,
            Err(error) => {
                // The segment went away since the read (retention, a deleted topic): the
                // follower fetches again.
                self.drop_one(to, &error);
                return;
            }
        };
        let key = (to, address);
        let queue = self.links.entry(key.clone()).or_insert_with(|| {
            let (host, port) = key.1.clone();
            let target = Target {
                node: to,
                host,
                port,
            };
            link::spawn(Arc::clone(&self.connector), target, Arc::clone(&self.hello))
        });
        if queue.push(frame).is_err() {
            self.drop_one(to, "its queue is full");
        }
    }

    fn address(&self, to: NodeId, message: &NodeMessage, image: &MetadataImage) -> Option<Address> {
        let voter = self.voters.get(&to).cloned();
        let learned = self.learned.get(&to).cloned();
        let broker = i32::try_from(to.0)
            .ok()
            .and_then(|id| image.broker(id))
            .and_then(|broker| {
                let named = self.inter_broker_listener.as_ref().and_then(|name| {
                    broker
                        .listeners
                        .iter()
                        .find(|listener| listener.name == *name)
                });
                named.or(broker.listeners.first())
            })
            .map(|listener| (listener.host.clone(), listener.port));
        let to_controller = matches!(
            message,
            NodeMessage::Raft(_) | NodeMessage::ControllerRequest { .. }
        );
        match to_controller {
            true => voter.or(broker).or(learned),
            false => broker.or(learned).or(voter),
        }
    }

    /// Messages dropped so far because their node had no address or its queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Counts a dropped message, logging the first and then every thousandth.
    fn drop_one(&mut self, to: NodeId, why: &str) {
        self.dropped += 1;
        if self.dropped % 1000 == 1 {
            tracing::debug!(
                node = to.0,
                why,
                dropped = self.dropped,
                "dropping a peer message"
            );
        }
    }
}

/// The link's frame for `frame`, its file slots opened on `disk`.
fn frame_of(frame: MessageFrame, disk: &mut impl RecordFiles) -> Result<Frame, String> {
    let frame = match frame.into_bytes() {
        Ok(bytes) => return Ok(Frame::Bytes(bytes)),
        Err(frame) => frame,
    };
    let records = frame
        .files
        .iter()
        .map(|range| {
            disk.stored_records(range)
                .map_err(|error| format!("cannot open {}: {error}", range.path))
        })
        .collect::<Result<_, _>>()?;
    Ok(Frame::Parts {
        parts: frame.parts,
        records,
    })
}
