//! [`RequestHandler`]: what the connection loop hands each decoded request to, and
//! [`ApiVersionsOnly`], the placeholder handler until the broker exists.
//!
//! # Ordering
//!
//! Kafka answers the requests of one connection in the order they came, and clients rely on it
//! (a producer with several requests in flight matches responses to requests by position as
//! well as by correlation id). Kafka gets this by handling one request per connection at a
//! time. Sluice keeps reading while a request waits (a long-polled Fetch, an `acks=all`
//! Produce waiting for replicas), so the order is kept in two places:
//!
//! - [`RequestHandler::handle`] is called synchronously, once per request, in the order the
//!   requests arrived. Work whose order matters (appending a connection's Produce batches to a
//!   partition) must be started inside `handle`, for example by sending to the broker's task
//!   over a channel, which keeps the order.
//! - The [`Reply`] may complete at any time, but the connection writes responses strictly in
//!   request order: a quick answer waits behind a slow one.

use std::net::SocketAddr;
use std::sync::Arc;

use sluice_core::api::FileRange;
use sluice_net::kafka_protocol::messages::FetchResponse;
use sluice_net::request::{DecodedRequest, RequestBody};
use sluice_net::response::{api_versions_body, ResponseBody};
use tokio::sync::oneshot;

use crate::peers::PeerInbox;
use crate::records::StoredRecords;

/// Who sent a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// A number unique among this server's connections, for logs.
    pub id: u64,
    /// The name of the listener the connection came in on (`PLAINTEXT`, `CONTROLLER`, …).
    pub listener: Arc<str>,
    /// The peer's address.
    pub peer: SocketAddr,
}

/// What to do once a request has been handled.
#[derive(Debug)]
pub enum Outcome {
    /// Write this response (encoded at the request's version).
    Respond(ResponseBody),
    /// Write this Fetch answer, whose records lie in segment files in part.
    Fetch(FetchAnswer),
    /// Write nothing: the request expects no answer (Produce with `acks=0`).
    NoResponse,
    /// Write the responses to earlier requests, then close the connection. This is Kafka's
    /// answer to a request it cannot serve, since most responses have no generic error field.
    Close(String),
}

/// A Fetch answer with records in segment files, as
/// [`sluice_net::convert::fetch_from_core`] builds it.
#[derive(Debug)]
pub struct FetchAnswer {
    /// The body, those partitions' records left null.
    pub body: FetchResponse,
    /// One entry per partition, in the body's order: the range of the records in a file.
    pub files: Vec<Option<FileRange>>,
    /// The records of each `Some` in `files`, in order.
    pub records: Vec<StoredRecords>,
}

/// A handler's answer to [`RequestHandler::handle`]: ready now, or later through a channel.
#[derive(Debug)]
pub enum Reply {
    /// The outcome is known already.
    Ready(Outcome),
    /// The outcome will be sent on this channel. Dropping the sender closes the connection.
    Later(oneshot::Receiver<Outcome>),
}

impl Reply {
    /// A reply that will arrive later, with the sender to send it on.
    pub fn later() -> (oneshot::Sender<Outcome>, Reply) {
        let (sender, receiver) = oneshot::channel();
        (sender, Reply::Later(receiver))
    }

    /// The outcome if it is known now, else the channel it will come on.
    pub fn now(self) -> Result<Outcome, oneshot::Receiver<Outcome>> {
        match self {
            Reply::Ready(outcome) => Ok(outcome),
            Reply::Later(mut receiver) => match receiver.try_recv() {
                Ok(outcome) => Ok(outcome),
                Err(oneshot::error::TryRecvError::Empty) => Err(receiver),
                Err(oneshot::error::TryRecvError::Closed) => Ok(handler_gone()),
            },
        }
    }

    /// Waits for the outcome.
    pub async fn outcome(self) -> Outcome {
        match self {
            Reply::Ready(outcome) => outcome,
            Reply::Later(receiver) => receiver.await.unwrap_or_else(|_| handler_gone()),
        }
    }
}

fn handler_gone() -> Outcome {
    Outcome::Close("the request's handler went away without answering".to_string())
}

/// Serves decoded requests. See the module documentation for the ordering contract.
pub trait RequestHandler: Send + Sync + 'static {
    /// Starts serving `request`. Called in request order; must not block.
    fn handle(&self, connection: &ConnectionInfo, request: DecodedRequest) -> Reply;

    /// Where connections from other Sluice nodes deliver their messages; `None` (the
    /// default) closes a connection that opens with a peer hello.
    fn peer_inbox(&self) -> Option<&PeerInbox> {
        None
    }
}

/// The handler `sluice server` runs until the broker exists: it answers ApiVersions from
/// `sluice-net`'s versions table and closes the connection on anything else.
///
/// That makes it honest only for the handshake: the table advertises APIs this handler does
/// not serve, so a client that goes on to send Metadata sees its connection closed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiVersionsOnly;

impl RequestHandler for ApiVersionsOnly {
    fn handle(&self, connection: &ConnectionInfo, request: DecodedRequest) -> Reply {
        let outcome = match request.body {
            RequestBody::ApiVersions(_) => {
                Outcome::Respond(ResponseBody::ApiVersions(api_versions_body()))
            }
            other => {
                tracing::warn!(
                    connection = connection.id,
                    peer = %connection.peer,
                    api = ?other.api_key(),
                    "no broker yet to serve this request; closing the connection"
                );
                Outcome::Close(format!("{:?} is not served yet", other.api_key()))
            }
        };
        Reply::Ready(outcome)
    }
}
