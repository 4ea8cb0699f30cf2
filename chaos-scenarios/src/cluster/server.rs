//! The broker's side of its clients' Kafka connections, through the same `sluice-net`
//! functions the real runtime's connection loop calls: a request frame is decoded and
//! converted to core's request, the node's answer converted and encoded at the request's
//! version, and answers leave each connection in the order its requests came (Kafka's
//! pipelining rule). A Fetch answered with file ranges is written later, when the bytes are
//! read from the disk, as sendfile reads them when the socket takes them: a truncation or a
//! retention run in between cuts the range, and the connection closes.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use sluice_core::api::{self, FileRange};
use sluice_core::broker::Node;
use sluice_core::disk::read_exact_at;
use sluice_net::convert::{
    expects_response, fetch_from_core, from_core, identify_client, to_core, ResponseContext,
};
use sluice_net::fetch_frame::{encode_fetch_frame, FramePart};
use sluice_net::frame::{parse_frame, FrameStatus, REQUEST_BYTES_MAX_DEFAULT};
use sluice_net::header::RequestHeader;
use sluice_net::request::{decode_request, RequestBody};
use sluice_net::response::{api_versions_body_for, encode_response, ResponseBody};
use sluice_net::serving::{cluster_info, serves};
use sluice_sim::{NodeId, SimDisk};

/// The cluster id the simulated brokers report.
pub const CLUSTER_ID: &str = "sluice-sim";

/// What a client's request frame came to.
pub enum Accepted {
    /// Hand the request to the node under this token.
    Serve {
        /// The node's token for the answer.
        token: u64,
        /// The request in core's terms.
        request: api::Request,
    },
    /// Answered without the node (ApiVersions).
    Answered,
}

/// One answer slot of a connection, in request order.
enum Slot {
    /// The node has not answered yet.
    Waiting(u64),
    /// The frame to write.
    Frame(Vec<u8>),
    /// A Fetch frame whose records are still in segment files.
    Fetch {
        parts: Vec<FramePart>,
        files: Vec<FileRange>,
    },
}

/// What to do next on a connection.
pub enum Out {
    /// Send this frame.
    Frame(Vec<u8>),
    /// The head answer has file ranges: write it a moment later (see [`Server::write_fetch`]).
    WriteLater,
}

#[derive(Default)]
struct Connection {
    slots: VecDeque<Slot>,
    write_pending: bool,
}

/// Who waits for a token's answer.
struct Waiting {
    client: NodeId,
    header: RequestHeader,
    context: ResponseContext,
}

/// A process's client connections.
#[derive(Default)]
pub struct Server {
    next_token: u64,
    waiting: BTreeMap<u64, Waiting>,
    connections: BTreeMap<NodeId, Connection>,
}

impl Server {
    /// A request frame (size prefix included) from `client`, read as the real runtime reads
    /// it. Our clients send only what a broker serves, so any refusal is an error of the codec.
    pub fn accept(&mut self, client: NodeId, frame: Vec<u8>) -> Result<Accepted, String> {
        let body = match parse_frame(&frame, REQUEST_BYTES_MAX_DEFAULT) {
            FrameStatus::Frame(range) if range.end == frame.len() => {
                Bytes::from(frame).slice(range)
            }
            status => return Err(format!("request frame: {status:?}")),
        };
        let request = decode_request(body).map_err(|error| format!("{error}"))?;
        let header = request.header.clone();
        let connection = self.connections.entry(client).or_default();
        if let RequestBody::ApiVersions(_) = request.body {
            let body = ResponseBody::ApiVersions(api_versions_body_for(serves));
            let frame = encode_response(&header, &body).map_err(|e| format!("{e}"))?;
            connection.slots.push_back(Slot::Frame(frame));
            return Ok(Accepted::Answered);
        }
        let mut converted = to_core(&request.body, header.api_version).map_err(|error| {
            format!(
                "{:?} v{}: {error}",
                request.body.api_key(),
                header.api_version
            )
        })?;
        // Who sent it, as the real runtime fills it in: the header's client id and the
        // client's address (10.0.x.y from its network id).
        let client_id = header.client_id.as_ref().map(|id| id.to_string());
        identify_client(
            &mut converted.request,
            client_id.as_deref(),
            address_of(client),
        );
        let token = self.next_token;
        self.next_token += 1;
        if expects_response(&request.body) {
            connection.slots.push_back(Slot::Waiting(token));
            let waiting = Waiting {
                client,
                header,
                context: converted.context,
            };
            self.waiting.insert(token, waiting);
        }
        Ok(Accepted::Serve {
            token,
            request: converted.request,
        })
    }

    /// The node answered `token`: the answer is encoded at its request's version. With
    /// `lose_produce`, a Produce answer is lost on the way (its slot goes). Returns the client
    /// whose connection may now have answers to send.
    pub fn answered(
        &mut self,
        token: u64,
        response: api::Response,
        node: &Node,
        lose_produce: bool,
    ) -> Result<Option<NodeId>, String> {
        let Some(waiting) = self.waiting.remove(&token) else {
            return Ok(None);
        };
        let Waiting {
            client,
            header,
            context,
        } = waiting;
        let encode_error =
            |error: &dyn std::fmt::Display| format!("{:?}: {error}", context.api_key);
        let lost = lose_produce && matches!(response, api::Response::Produce(_));
        let slot = match response {
            api::Response::Fetch(fetch) => {
                let (body, files) = fetch_from_core(fetch, &context);
                match files.iter().all(Option::is_none) {
                    true => {
                        let frame =
                            encode_response(&header, &body.into()).map_err(|e| encode_error(&e))?;
                        Slot::Frame(frame)
                    }
                    false => {
                        let parts = encode_fetch_frame(&header, &body, &files)
                            .map_err(|e| encode_error(&e))?;
                        let files = files.into_iter().flatten().collect();
                        Slot::Fetch { parts, files }
                    }
                }
            }
            response => {
                let info = cluster_info(node, CLUSTER_ID);
                let body = from_core(response, &context, &info).map_err(|e| encode_error(&e))?;
                Slot::Frame(encode_response(&header, &body).map_err(|e| encode_error(&e))?)
            }
        };
        let connection = self.connections.entry(client).or_default();
        let Some(at) = connection
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Waiting(t) if *t == token))
        else {
            return Ok(None);
        };
        match lost {
            true => {
                connection.slots.remove(at);
            }
            false => connection.slots[at] = slot,
        }
        Ok(Some(client))
    }

    /// The answers at the head of `client`'s connection that can go now, in order.
    pub fn take_ready(&mut self, client: NodeId) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(connection) = self.connections.get_mut(&client) else {
            return out;
        };
        loop {
            match connection.slots.front() {
                Some(Slot::Frame(_)) => {
                    let Some(Slot::Frame(frame)) = connection.slots.pop_front() else {
                        unreachable!("matched above")
                    };
                    out.push(Out::Frame(frame));
                }
                Some(Slot::Fetch { .. }) if !connection.write_pending => {
                    connection.write_pending = true;
                    out.push(Out::WriteLater);
                    break;
                }
                _ => break,
            }
        }
        out
    }

    /// Writes the Fetch answer at the head of `client`'s connection, reading its file ranges
    /// from the disk now. `Err` names a range the files no longer hold (a truncation or a
    /// retention run since the read): the connection closes, as the real runtime closes it
    /// rather than send a short frame.
    pub fn write_fetch(&mut self, client: NodeId, disk: &mut SimDisk) -> Result<(), String> {
        let Some(connection) = self.connections.get_mut(&client) else {
            return Ok(());
        };
        connection.write_pending = false;
        let Some(Slot::Fetch { parts, files }) = connection.slots.front() else {
            return Ok(());
        };
        let frame = match fill_frame(parts, files, disk) {
            Ok(frame) => frame,
            Err(cut) => {
                self.close(client);
                return Err(cut);
            }
        };
        connection.slots[0] = Slot::Frame(frame);
        Ok(())
    }

    /// Closes `client`'s connection: its answers still owed are dropped.
    pub fn close(&mut self, client: NodeId) {
        self.connections.remove(&client);
        self.waiting.retain(|_, waiting| waiting.client != client);
    }

    /// The clients with a connection open.
    pub fn clients(&self) -> Vec<NodeId> {
        self.connections.keys().copied().collect()
    }
}

/// A simulated client's address: 10.0.x.y from its network id.
fn address_of(client: NodeId) -> std::net::IpAddr {
    let [_, _, x, y] = client.0.to_be_bytes();
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, x, y))
}

/// The frame `parts` make with each file slot read from `disk` now, as sendfile reads it when
/// the socket takes it. `Err` names a range the files no longer hold.
pub(super) fn fill_frame(
    parts: &[FramePart],
    files: &[FileRange],
    disk: &mut SimDisk,
) -> Result<Vec<u8>, String> {
    let mut frame = Vec::new();
    for part in parts {
        match part {
            FramePart::Bytes(bytes) => frame.extend_from_slice(bytes),
            FramePart::File(index) => {
                let range = &files[*index];
                let start = frame.len();
                frame.resize(start + range.len as usize, 0);
                read_exact_at(disk, &range.path, range.position, &mut frame[start..])
                    .map_err(|error| format!("{} at {}: {error}", range.path, range.position))?;
            }
        }
    }
    Ok(frame)
}
