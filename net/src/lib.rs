//! The Kafka wire protocol: framing, version negotiation and codecs, as pure functions.
//!
//! Nothing is here yet: the protocol arrives with the wire-protocol issue. This crate exists so
//! that the workspace has its final shape; it exports nothing that pretends to work.
#![forbid(unsafe_code)]
