//! The Kafka wire protocol: framing, version negotiation and codecs, as pure functions.
//!
//! Nothing here touches a socket, a clock or a thread: drivers (`real-runtime` over TCP, `sim`
//! over its simulated network) feed bytes in and take bytes out.
//!
//! # Layout
//!
//! A request travels through the modules in this order:
//!
//! 1. [`frame`]: split the byte stream into frames at their 4-byte size prefix, refusing a frame
//!    over `socket.request.max.bytes` from its prefix alone.
//! 2. [`request::decode_request`]: read the key and version, refuse what [`versions`] does not
//!    list, parse the [`header`] (v0 to v2), pre-check the body's array counts, and decode the
//!    body with kafka-protocol into a [`request::RequestBody`].
//! 3. For the data plane (Produce, Fetch, ListOffsets, Metadata, OffsetForLeaderEpoch,
//!    InitProducerId), the admin APIs and the consumer-group APIs, [`convert::to_core`] turns
//!    the body into a `sluice_core::api::Request`, refusing what Kafka refuses before the
//!    broker looks (a whole request with a [`convert::ConvertError`], single partitions in its
//!    context).
//! 4. The broker answers with a `sluice_core::api::Response`; [`convert::from_core`] builds
//!    the [`response::ResponseBody`] at the request's version, and
//!    [`response::encode_response`] frames it with the right response header (v0 or v1;
//!    always v0 for ApiVersions). Other APIs answer with a [`response::ResponseBody`] directly.
//!
//! A Fetch answer whose records lie in segment files takes another way out:
//! [`convert::fetch_from_core`] leaves those records out of the body, and
//! [`fetch_frame::encode_fetch_frame`] writes the frame around them, so that the driver sends
//! them from the file.
//!
//! [`versions::SUPPORTED_APIS`] is the single table of what Sluice advertises; ApiVersions
//! answers ([`response::api_versions_response`]) are built from it. [`error_response`] refuses
//! a whole decoded request with one error code, as Kafka's `getErrorResponse` does.
//!
//! The message codecs are kafka-protocol's, generated from Kafka's message specs, and its types
//! appear only in [`request::RequestBody`] and [`response::ResponseBody`]. [`convert`] is the
//! one module that translates them to and from `sluice-core`'s own types, so that core never
//! depends on the codec crate.
//!
//! # Errors
//!
//! Bad input never panics. A request the broker cannot serve becomes a
//! [`request::RequestError`], whose [`response`](request::RequestError::response) says what
//! Kafka does: answer an ApiVersions request at an unknown version in v0 format with
//! UNSUPPORTED_VERSION (KIP-511), and close the connection for everything else.
//!
//! # Memory a request can claim
//!
//! The frame limit bounds the bytes held per request. kafka-protocol, however, sizes an array's
//! `Vec` from the count on the wire before reading any element, so a 14-byte frame could ask for
//! 150 GB and abort the process. A pre-check (the private `bounds` module) walks every body
//! first, with the same layout kafka-protocol decodes, and refuses any count larger than the
//! bytes left. No allocation is then sized by an unchecked length: an array of `n` elements
//! reserves `n × size_of::<element>()` with `n` at most its bytes on the wire, and strings,
//! records and unknown tagged fields are slices of the frame.
//!
//! What stays is the ratio between a valid frame and its decoded form. The densest elements
//! take 2 to 4 wire bytes and 48 to 112 bytes decoded (a Metadata topic is 72), and an unknown
//! tagged field adds a map node of a few hundred bytes for 2 wire bytes, so a frame can cost
//! about 100 times its size once decoded: `tests/allocation.rs` measures it for 1 MiB of
//! Metadata topics. At the 100 MiB default that is ~10 GiB for one hostile but valid request,
//! which a memory budget for in-flight requests (Kafka's `queued.max.request.bytes`) or a lower
//! `socket.request.max.bytes` must cover.
#![forbid(unsafe_code)]

mod bounds;
pub mod client;
pub mod convert;
pub mod error_response;
pub mod fetch_frame;
pub mod frame;
pub mod header;
pub mod peer;
pub mod request;
pub mod response;
#[cfg(test)]
mod samples;
pub mod serving;
pub mod versions;
mod wire;

/// The codec crate, re-exported so that users name its message types at the same version.
pub use kafka_protocol;
