//! The network side of the server: accept connections on each listener, serve each connection
//! with a [`RequestHandler`], and shut down cleanly.
//!
//! Call order: bind the listeners (with tokio, turmoil or anything that implements
//! [`Listener`]), then run [`serve`] until its `shutdown` future completes. `serve` then stops
//! accepting, stops reading new requests, gives the requests already read up to
//! [`ServerOptions::shutdown_grace`] to be answered, closes what is left and returns.
//!
//! [`command`] is `sluice server`: configuration, logging, signals and binding around `serve`.

pub mod command;
mod connection;
mod handler;
mod peer_connection;
pub mod writer;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_net::frame::REQUEST_BYTES_MAX_DEFAULT;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use handler::{ApiVersionsOnly, ConnectionInfo, FetchAnswer, Outcome, Reply, RequestHandler};

use crate::transport::Listener;

/// How many requests of one connection may wait for their answers before the server stops
/// reading from it. Clients pipeline up to 5 by default (Java's
/// `max.in.flight.requests.per.connection`); this leaves room for more without letting one
/// connection queue without bound.
pub const INFLIGHT_REQUESTS_MAX_DEFAULT: usize = 64;

/// How long shutdown waits for requests already read to be answered.
pub const SHUTDOWN_GRACE_DEFAULT: Duration = Duration::from_secs(10);

/// Limits that apply to every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// The largest request frame (`socket.request.max.bytes`); a larger one closes the
    /// connection.
    pub request_bytes_max: usize,
    /// Requests of one connection waiting for answers before reading pauses (at least 1).
    pub inflight_requests_max: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            request_bytes_max: REQUEST_BYTES_MAX_DEFAULT,
            inflight_requests_max: INFLIGHT_REQUESTS_MAX_DEFAULT,
            shutdown_grace: SHUTDOWN_GRACE_DEFAULT,
        }
    }
}

/// A bound listener and the listener name it serves (`PLAINTEXT`, `CONTROLLER`, …).
#[derive(Debug)]
pub struct NamedListener<L> {
    /// The listener name from the configuration.
    pub name: String,
    /// The bound socket.
    pub listener: L,
}

/// Serves every listener until `shutdown` completes, then shuts down as the module
/// documentation describes.
pub async fn serve<L: Listener>(
    listeners: Vec<NamedListener<L>>,
    handler: Arc<dyn RequestHandler>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopping) = watch::channel(false);
    let connection_ids = Arc::new(AtomicU64::new(0));
    let mut accepting = JoinSet::new();
    for named in listeners {
        accepting.spawn(accept_loop(
            named,
            Arc::clone(&handler),
            options,
            stopping.clone(),
            Arc::clone(&connection_ids),
        ));
    }
    shutdown.await;
    tracing::info!("shutting down: no new connections or requests");
    // The receivers only end when every accept loop has finished, so sending cannot fail
    // while any of them is still listening.
    let _ = stop.send(true);
    while let Some(finished) = accepting.join_next().await {
        if let Err(error) = finished {
            tracing::error!(%error, "a listener task failed");
        }
    }
}

/// Completes once shutdown has begun (or the server is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`, so it is dropped here rather than held by
    // the caller's `select!`.
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn accept_loop<L: Listener>(
    named: NamedListener<L>,
    handler: Arc<dyn RequestHandler>,
    options: ServerOptions,
    mut stopping: watch::Receiver<bool>,
    connection_ids: Arc<AtomicU64>,
) {
    let NamedListener { name, mut listener } = named;
    let name: Arc<str> = Arc::from(name);
    let mut connections = JoinSet::new();
    // Each connection watches for shutdown too; `stopping` itself is borrowed by the wait.
    let connection_stopping = stopping.clone();
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let info = ConnectionInfo {
                        id: connection_ids.fetch_add(1, Ordering::Relaxed),
                        listener: Arc::clone(&name),
                        peer,
                    };
                    let handler = Arc::clone(&handler);
                    let (reader, writer) = L::split(stream);
                    connections.spawn(connection::serve_connection(
                        reader, writer, info, handler, options, connection_stopping.clone(),
                    ));
                }
                Err(error) => {
                    // Usually out of file descriptors; pausing lets connections close rather
                    // than spinning on the same error.
                    tracing::warn!(listener = %name, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = finished {
                    tracing::error!(listener = %name, %error, "a connection task failed");
                }
            }
        }
    }
    drop(listener);
    let open = connections.len();
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            listener = %name,
            open,
            left = connections.len(),
            "closing connections whose requests outlasted the shutdown grace"
        );
        connections.shutdown().await;
    }
}
