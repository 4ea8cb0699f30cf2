//! An inbound connection from another Sluice node: after its hello, every frame is one
//! message for this node, handed to the [`PeerInbox`] in arrival order. Nothing is written
//! back; answers travel on this node's own connection to the sender.
//!
//! A bad frame (too large, undecodable) or a hello from another cluster closes the
//! connection with a log line; the sender reconnects and the core retries what was lost.

use bytes::Bytes;
use sluice_net::frame::FrameDecoder;
use sluice_net::peer::{decode_hello, decode_message_shared};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use super::handler::ConnectionInfo;
use crate::peers::{PeerInbox, PeerInput};

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Reads a peer's messages until it closes, sends something bad, or the server stops.
pub(super) async fn serve_peer(
    mut reader: impl AsyncRead + Unpin,
    mut decoder: FrameDecoder,
    hello: Bytes,
    info: &ConnectionInfo,
    inbox: Option<&PeerInbox>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(inbox) = inbox else {
        tracing::warn!(connection = info.id, peer = %info.peer, "this server takes no peers");
        return;
    };
    let hello = match decode_hello(&hello) {
        Ok(hello) => hello,
        Err(error) => {
            let peer = info.peer;
            tracing::warn!(connection = info.id, %peer, %error, "bad peer hello; closing");
            return;
        }
    };
    if let Err(reason) = inbox.check(&hello) {
        let node = hello.node_id.0;
        tracing::warn!(connection = info.id, peer = %info.peer, node, reason, "refusing a peer");
        return;
    }
    let from = hello.node_id;
    tracing::info!(connection = info.id, peer = %info.peer, node = from.0, "peer connected");
    if inbox.deliver(PeerInput::Hello(hello)).is_err() {
        return;
    }
    loop {
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    let node = from.0;
                    tracing::warn!(connection = info.id, node, %error, "bad peer frame; closing");
                    return;
                }
            };
            let message = match decode_message_shared(&frame) {
                Ok(message) => message,
                Err(error) => {
                    let node = from.0;
                    tracing::warn!(connection = info.id, node, %error, "bad peer message; closing");
                    return;
                }
            };
            if inbox.deliver(PeerInput::Message { from, message }).is_err() {
                return;
            }
        }
        let read = tokio::select! {
            biased;
            () = super::stopped(&mut shutdown) => return,
            // Straight into the frame's buffer, as a client connection reads.
            read = reader.read_buf(decoder.read_buffer(READ_CHUNK_BYTES)) => read,
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(connection = info.id, node = from.0, %error, "peer read failed");
                break;
            }
        }
    }
    tracing::info!(connection = info.id, node = from.0, "peer disconnected");
}
