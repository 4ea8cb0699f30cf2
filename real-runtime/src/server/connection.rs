//! One client connection: a reader that frames, decodes and hands requests over as they
//! arrive, and a writer that answers them in request order.
//!
//! The two halves run in one task and meet at a bounded queue of replies in request order.
//! The bound (`inflight_requests_max`) is the connection's back-pressure: when that many
//! requests wait for answers the reader stops reading, and TCP slows the client down.
//!
//! How a connection ends, following Kafka's `SocketServer`:
//! - The peer closes or resets: stop at once; unanswered requests are dropped.
//! - A frame over `socket.request.max.bytes`, a malformed request, an unknown API or version
//!   (other than ApiVersions, which gets the KIP-511 answer), or a handler's
//!   [`Outcome::Close`]: write the responses to earlier requests, then close.
//! - Server shutdown: stop reading, write the answers to what was already read, then close.

use std::sync::Arc;

use bytes::Bytes;
use sluice_net::fetch_frame::encode_fetch_frame;
use sluice_net::frame::FrameDecoder;
use sluice_net::header::RequestHeader;
use sluice_net::request::{decode_request, RequestBody};
use sluice_net::response::encode_response;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, watch};

use super::handler::{ConnectionInfo, Outcome, Reply, RequestHandler};
use super::writer::{write_parts, ResponseWriter};
use super::ServerOptions;
use crate::transport::ReadHalf;

/// Bytes of room a read has at least: more when the frame being read needs more.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// One entry of the reply queue, in request order.
enum Queued {
    /// A handled request and where its outcome will come from.
    Reply {
        header: RequestHeader,
        reply: Reply,
        /// False for a Produce with `acks=0`, which never gets a response.
        respond: bool,
    },
    /// A response that is already a frame (the KIP-511 ApiVersions fallback).
    Frame(Vec<u8>),
    /// Close after the entries before this one (the reason is logged where it is found).
    Close,
}

/// Why the reader stopped.
enum ReadEnd {
    /// The peer went away: nothing more can be written either.
    PeerGone,
    /// Reading stopped but what was queued should still be answered.
    Stopped,
}

/// Serves one connection until it ends.
pub(super) async fn serve_connection(
    mut reader: ReadHalf,
    writer: ResponseWriter,
    info: ConnectionInfo,
    handler: Arc<dyn RequestHandler>,
    options: ServerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(connection = info.id, peer = %info.peer, listener = %info.listener, "accepted");
    let mut decoder = FrameDecoder::new(options.request_bytes_max);
    let Some(first) = first_frame(&mut reader, &mut decoder, &info, &mut shutdown).await else {
        tracing::debug!(connection = info.id, peer = %info.peer, "closed before a request");
        return;
    };
    // Another Sluice node: its connection only carries messages to this one, and nothing is
    // written back (not even a shutdown of the write half, which would look like a close).
    if sluice_net::peer::is_hello(&first) {
        let inbox = handler.peer_inbox();
        super::peer_connection::serve_peer(reader, decoder, first, &info, inbox, shutdown).await;
        writer.forget();
        return;
    }
    let (queue, queued) = mpsc::channel(options.inflight_requests_max.max(1));
    let reading = read_requests(
        reader,
        decoder,
        first,
        queue,
        &info,
        handler.as_ref(),
        &mut shutdown,
    );
    let writing = write_responses(writer, queued, &info);
    tokio::pin!(reading, writing);
    tokio::select! {
        biased;
        end = &mut reading => {
            if let ReadEnd::Stopped = end {
                writing.await;
            }
        }
        () = &mut writing => {}
    }
    tracing::debug!(connection = info.id, peer = %info.peer, "closed");
}

/// Reads until the first whole frame, which says whether this is a client or a peer.
async fn first_frame(
    reader: &mut (impl AsyncRead + Unpin),
    decoder: &mut FrameDecoder,
    info: &ConnectionInfo,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Bytes> {
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => return Some(frame),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(connection = info.id, peer = %info.peer, %error, "closing");
                return None;
            }
        }
        let read = tokio::select! {
            biased;
            () = super::stopped(shutdown) => return None,
            read = reader.read_buf(decoder.read_buffer(READ_CHUNK_BYTES)) => read,
        };
        match read {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn read_requests(
    mut reader: impl AsyncRead + Unpin,
    mut decoder: FrameDecoder,
    first: Bytes,
    queue: mpsc::Sender<Queued>,
    info: &ConnectionInfo,
    handler: &dyn RequestHandler,
    shutdown: &mut watch::Receiver<bool>,
) -> ReadEnd {
    let mut first = Some(first);
    loop {
        loop {
            let next = match first.take() {
                Some(frame) => Ok(Some(frame)),
                None => decoder.next_frame(),
            };
            let entry = match next {
                Ok(None) => break,
                Ok(Some(frame)) => queue_entry(frame, info, handler),
                Err(error) => {
                    tracing::warn!(connection = info.id, peer = %info.peer, %error, "closing");
                    Queued::Close
                }
            };
            let last = matches!(entry, Queued::Close);
            if queue.send(entry).await.is_err() {
                return ReadEnd::PeerGone;
            }
            if last {
                return ReadEnd::Stopped;
            }
        }
        let read = tokio::select! {
            biased;
            () = super::stopped(shutdown) => return ReadEnd::Stopped,
            // Straight into the frame's buffer: no copy of the request beyond the kernel's.
            read = reader.read_buf(decoder.read_buffer(READ_CHUNK_BYTES)) => read,
        };
        match read {
            Ok(0) => return ReadEnd::PeerGone,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(connection = info.id, peer = %info.peer, %error, "read failed");
                return ReadEnd::PeerGone;
            }
        }
    }
}

/// Decodes one frame and hands it to the handler, or says how the connection answers a frame
/// it cannot decode.
fn queue_entry(frame: Bytes, info: &ConnectionInfo, handler: &dyn RequestHandler) -> Queued {
    match decode_request(frame) {
        Ok(request) => {
            let respond =
                !matches!(&request.body, RequestBody::Produce(produce) if produce.acks == 0);
            let header = request.header.clone();
            let reply = handler.handle(info, request);
            Queued::Reply {
                header,
                reply,
                respond,
            }
        }
        Err(error) => match error.response() {
            Some(frame) => {
                tracing::debug!(connection = info.id, peer = %info.peer, %error, "answered");
                Queued::Frame(frame)
            }
            None => {
                tracing::warn!(connection = info.id, peer = %info.peer, %error, "closing");
                Queued::Close
            }
        },
    }
}

async fn write_responses(
    writer: ResponseWriter,
    mut queued: mpsc::Receiver<Queued>,
    info: &ConnectionInfo,
) {
    let mut writer = BufWriter::new(writer);
    while let Some(entry) = queued.recv().await {
        let written = match entry {
            Queued::Frame(frame) => writer.write_all(&frame).await,
            Queued::Close => break,
            Queued::Reply {
                header,
                reply,
                respond,
            } => {
                let outcome = match reply.now() {
                    Ok(outcome) => outcome,
                    Err(pending) => {
                        // Answers written already go out now rather than wait behind one still
                        // being decided (an acks=all produce waiting for its followers).
                        if writer.flush().await.is_err() {
                            return;
                        }
                        Reply::Later(pending).outcome().await
                    }
                };
                match outcome {
                    Outcome::Respond(body) if respond => match encode_response(&header, &body) {
                        Ok(frame) => writer.write_all(&frame).await,
                        Err(error) => {
                            // A handler bug, not the client's doing: the client cannot be
                            // answered in order any more, so it is disconnected and will retry.
                            tracing::error!(connection = info.id, %error, "cannot encode a response");
                            break;
                        }
                    },
                    Outcome::Fetch(answer) => {
                        match encode_fetch_frame(&header, &answer.body, &answer.files) {
                            Ok(parts) => write_parts(&mut writer, &parts, &answer.records).await,
                            Err(error) => {
                                tracing::error!(connection = info.id, %error, "cannot encode a response");
                                break;
                            }
                        }
                    }
                    Outcome::Respond(_) | Outcome::NoResponse => Ok(()),
                    Outcome::Close(reason) => {
                        tracing::debug!(connection = info.id, peer = %info.peer, reason, "closing");
                        break;
                    }
                }
            }
        };
        if let Err(error) = written {
            tracing::debug!(connection = info.id, peer = %info.peer, %error, "write failed");
            return;
        }
        // Pipelined answers that are already known go out in one write.
        if queued.is_empty() && writer.flush().await.is_err() {
            return;
        }
    }
    if writer.flush().await.is_ok() {
        // Errors here mean the peer is gone already, which is where this was heading.
        let _ = writer.shutdown().await;
    }
}
