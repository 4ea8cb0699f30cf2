//! The wire form of what Sluice nodes say to each other: every
//! `sluice_core::broker::NodeMessage` (Raft, controller requests and answers, replica Fetch and
//! OffsetForLeaderEpoch), framed as Kafka frames its requests.
//!
//! A peer connection carries frames one way, from the node that opened it: first a [`Hello`]
//! naming the sender, then one frame per message. Each frame is a 4-byte big-endian size and
//! the body; a body is a type byte and the message's fields, big-endian, with `u32` lengths
//! before byte strings and lists. The hello starts with [`HELLO_MAGIC`], which no Kafka request
//! can start with (it would be API key 21324), so a listener tells a peer from a client by
//! its first frame.
//!
//! The codec is Sluice's own, not Kafka's (KRaft and replica fetches use Kafka's RPCs): only
//! Sluice nodes speak it, and core's types cross it unchanged. Metadata log bytes (entries,
//! snapshots) and record batches are carried as they are; a registration travels as the
//! metadata log's own `RegisterBroker` record.
//!
//! Decoding is total: bytes from a peer never panic and never size an allocation by a length
//! the frame cannot hold. Frames are split with [`crate::frame::FrameDecoder`].

mod admin;
mod controller;
mod raft;
mod replica;
#[cfg(test)]
mod tests;
mod wire;

use core::fmt;

use sluice_core::api::FileRange;
use sluice_core::broker::{NodeId, NodeMessage};

use crate::fetch_frame::{encoded_len, FramePart};

use wire::{Reader, Writer};

/// The first bytes of a [`Hello`] body.
pub const HELLO_MAGIC: [u8; 8] = *b"SLUICEPR";

/// The peer protocol this code speaks; a hello naming another is refused.
pub const PEER_PROTOCOL_VERSION: u8 = 0;

const RAFT: u8 = 0;
const CONTROLLER_REQUEST: u8 = 1;
const CONTROLLER_RESPONSE: u8 = 2;
const REPLICA_REQUEST: u8 = 3;
const REPLICA_RESPONSE: u8 = 4;

/// The first frame of a peer connection: who is sending, and where it takes connections
/// itself (so that a controller can answer a broker it has not seen registered yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The sender's `node.id`.
    pub node_id: NodeId,
    /// The sender's `cluster.id`: a node refuses peers of another cluster.
    pub cluster_id: String,
    /// A host the sender accepts peer connections on.
    pub host: String,
    /// Its port.
    pub port: u16,
}

/// Why bytes from a peer did not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the field `what`.
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// A type byte names nothing known.
    UnknownType {
        /// What it should have named.
        what: &'static str,
        /// The byte found.
        value: u8,
    },
    /// A length is more than the rest of the frame can hold.
    TooLong {
        /// The field.
        what: &'static str,
    },
    /// A field holds a value outside its domain (a bool that is not 0 or 1, bad UTF-8).
    InvalidValue {
        /// The field.
        what: &'static str,
    },
    /// An error code that names no known error.
    UnknownErrorCode(i16),
    /// An embedded metadata record did not decode.
    Record(sluice_core::controller::DecodeError),
    /// A hello without [`HELLO_MAGIC`], or of a protocol version this code does not speak.
    NotAHello,
    /// Bytes remain after the message.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what } => write!(f, "peer frame truncated at {what}"),
            DecodeError::UnknownType { what, value } => write!(f, "unknown {what} type {value}"),
            DecodeError::TooLong { what } => write!(f, "{what} longer than its frame"),
            DecodeError::InvalidValue { what } => write!(f, "invalid value in {what}"),
            DecodeError::UnknownErrorCode(code) => write!(f, "unknown error code {code}"),
            DecodeError::Record(error) => write!(f, "bad registration record: {error}"),
            DecodeError::NotAHello => write!(f, "not a Sluice peer hello of this version"),
            DecodeError::TrailingBytes(count) => write!(f, "{count} bytes after the message"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a message cannot be put on the wire. The sender drops it, as a lost message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A replica message holding a request or answer that is not replica traffic.
    NotReplicaTraffic(&'static str),
    /// The frame, or a value in it, is over what its length fields can say.
    TooLarge,
    /// A message the peer codec has no encoding for yet.
    Unsupported(&'static str),
    /// Records in a segment file, given to an encoder that writes bytes only.
    FileRecords,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NotReplicaTraffic(name) => {
                write!(f, "{name} is not sent between replicas")
            }
            EncodeError::TooLarge => write!(f, "message too large for a peer frame"),
            EncodeError::Unsupported(name) => write!(f, "{name} has no peer encoding yet"),
            EncodeError::FileRecords => write!(f, "records in a file need a frame of parts"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// True when a frame body is a peer hello rather than a Kafka request.
pub fn is_hello(body: &[u8]) -> bool {
    body.starts_with(&HELLO_MAGIC)
}

/// The hello as a whole frame, size prefix included.
pub fn encode_hello(hello: &Hello) -> Result<Vec<u8>, EncodeError> {
    let mut w = frame_writer();
    w.out.extend_from_slice(&HELLO_MAGIC);
    w.u8(PEER_PROTOCOL_VERSION);
    w.u32(hello.node_id.0);
    w.string(&hello.cluster_id)?;
    w.string(&hello.host)?;
    w.u16(hello.port);
    finish_frame(w)
}

/// Decodes a hello frame's body (without the size prefix).
pub fn decode_hello(body: &[u8]) -> Result<Hello, DecodeError> {
    let mut r = Reader::new(body);
    if r.take(HELLO_MAGIC.len(), "magic")? != HELLO_MAGIC
        || r.u8("version")? != PEER_PROTOCOL_VERSION
    {
        return Err(DecodeError::NotAHello);
    }
    let hello = Hello {
        node_id: NodeId(r.u32("node id")?),
        cluster_id: r.string("cluster id")?,
        host: r.string("host")?,
        port: r.u16("port")?,
    };
    finish_decode(&r)?;
    Ok(hello)
}

/// The message as a whole frame, size prefix included. A message whose records lie in a
/// segment file is refused ([`EncodeError::FileRecords`]): those take
/// [`encode_message_parts`].
pub fn encode_message(message: &NodeMessage) -> Result<Vec<u8>, EncodeError> {
    encode_message_parts(message)?
        .into_bytes()
        .map_err(|_| EncodeError::FileRecords)
}

/// A message frame whose fetch answer records may lie in segment files: the driver writes
/// the parts in order, each [`FramePart::File`] slot filled with the whole range it names in
/// `files` (sendfile, or a read where the stream is not a socket). The size prefix counts the
/// slots' bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageFrame {
    /// Encoded bytes and file slots, in wire order.
    pub parts: Vec<FramePart>,
    /// The file range of each slot.
    pub files: Vec<FileRange>,
}

impl MessageFrame {
    /// The frame's length on the wire, size prefix included.
    pub fn wire_len(&self) -> usize {
        let files: usize = self.files.iter().map(|f| f.len as usize).sum();
        encoded_len(&self.parts) + files
    }

    /// The whole frame as bytes when it has no file slots, else the frame as it was.
    pub fn into_bytes(mut self) -> Result<Vec<u8>, MessageFrame> {
        if self.files.is_empty() && self.parts.len() == 1 {
            if let Some(FramePart::Bytes(bytes)) = self.parts.pop() {
                return Ok(bytes);
            }
        }
        Err(self)
    }
}

/// The message as a frame of parts: [`encode_message`] for messages whose records may lie in
/// segment files ([`sluice_core::api::FetchRecords::File`]).
pub fn encode_message_parts(message: &NodeMessage) -> Result<MessageFrame, EncodeError> {
    let mut w = frame_writer();
    match message {
        NodeMessage::Raft(message) => {
            w.u8(RAFT);
            raft::encode_message(&mut w, message)?;
        }
        NodeMessage::ControllerRequest { id, request } => {
            w.u8(CONTROLLER_REQUEST);
            w.u64(*id);
            controller::encode_request(&mut w, request)?;
        }
        NodeMessage::ControllerResponse { id, response } => {
            w.u8(CONTROLLER_RESPONSE);
            w.u64(*id);
            controller::encode_response(&mut w, response)?;
        }
        NodeMessage::ReplicaRequest { id, request } => {
            w.u8(REPLICA_REQUEST);
            w.u64(*id);
            replica::encode_request(&mut w, request)?;
        }
        NodeMessage::ReplicaResponse { id, response } => {
            w.u8(REPLICA_RESPONSE);
            w.u64(*id);
            replica::encode_response(&mut w, response)?;
        }
    }
    finish_parts(w)
}

/// Decodes one message frame's body (without the size prefix), which it must fill exactly.
pub fn decode_message(body: &[u8]) -> Result<NodeMessage, DecodeError> {
    decode_from(Reader::new(body))
}

/// [`decode_message`] for a body the caller holds as [`bytes::Bytes`]: a fetch answer's
/// records are slices of it, not copies.
pub fn decode_message_shared(body: &bytes::Bytes) -> Result<NodeMessage, DecodeError> {
    decode_from(Reader::shared(body))
}

fn decode_from(mut r: Reader<'_>) -> Result<NodeMessage, DecodeError> {
    let message = match r.u8("message type")? {
        RAFT => NodeMessage::Raft(raft::decode_message(&mut r)?),
        CONTROLLER_REQUEST => NodeMessage::ControllerRequest {
            id: r.u64("request id")?,
            request: controller::decode_request(&mut r)?,
        },
        CONTROLLER_RESPONSE => NodeMessage::ControllerResponse {
            id: r.u64("request id")?,
            response: controller::decode_response(&mut r)?,
        },
        REPLICA_REQUEST => NodeMessage::ReplicaRequest {
            id: r.u64("request id")?,
            request: replica::decode_request(&mut r)?,
        },
        REPLICA_RESPONSE => NodeMessage::ReplicaResponse {
            id: r.u64("request id")?,
            response: replica::decode_response(&mut r)?,
        },
        other => {
            return Err(DecodeError::UnknownType {
                what: "message",
                value: other,
            })
        }
    };
    finish_decode(&r)?;
    Ok(message)
}

fn frame_writer() -> Writer {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0; crate::frame::SIZE_PREFIX_BYTES]);
    Writer {
        out,
        parts: Vec::new(),
        files: Vec::new(),
    }
}

fn finish_frame(w: Writer) -> Result<Vec<u8>, EncodeError> {
    debug_assert!(w.files.is_empty(), "a hello has no records");
    match finish_parts(w)?.parts.pop() {
        Some(FramePart::Bytes(bytes)) => Ok(bytes),
        _ => unreachable!("a frame without file slots is one part"),
    }
}

/// Writes the size prefix, counting the file slots' bytes, into the first part.
fn finish_parts(mut w: Writer) -> Result<MessageFrame, EncodeError> {
    let rest = std::mem::take(&mut w.out);
    w.parts.push(FramePart::Bytes(rest));
    let mut frame = MessageFrame {
        parts: w.parts,
        files: w.files,
    };
    let size = frame.wire_len() - crate::frame::SIZE_PREFIX_BYTES;
    let size = i32::try_from(size).map_err(|_| EncodeError::TooLarge)?;
    let Some(FramePart::Bytes(first)) = frame.parts.first_mut() else {
        unreachable!("the first part holds the prefix")
    };
    first[..crate::frame::SIZE_PREFIX_BYTES].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

fn finish_decode(r: &Reader<'_>) -> Result<(), DecodeError> {
    match r.remaining() {
        0 => Ok(()),
        left => Err(DecodeError::TrailingBytes(left)),
    }
}
