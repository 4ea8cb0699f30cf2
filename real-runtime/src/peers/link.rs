//! One outbound connection to a peer address: dialled when there is something to send,
//! opened with this node's hello, then fed encoded frames from a bounded queue. A frame's
//! records that lie in segment files go from the file to the socket with sendfile.
//!
//! While the connection is down, what is queued is dropped rather than sent late, and the
//! next dial waits a backoff that doubles from [`BACKOFF_MIN`] to [`BACKOFF_MAX`] (Kafka's
//! `reconnect.backoff.ms` and `reconnect.backoff.max.ms` defaults).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_core::broker::NodeId;
use sluice_net::fetch_frame::{encoded_len, FramePart};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::records::StoredRecords;
use crate::server::writer::{write_parts, ResponseWriter};
use crate::transport::Connector;

/// The first wait before dialling again after a failure.
pub const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest wait between dials.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long a dial may take before it counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Encoded frames that may wait for the connection before more are dropped.
pub const QUEUE_CAPACITY: usize = 1024;
/// Bytes of encoded frames that may wait, so that a few large fetch answers cannot hold
/// `QUEUE_CAPACITY` times their size.
pub const QUEUE_BYTES_MAX: usize = 64 << 20;

/// One message frame, ready to write.
#[derive(Debug)]
pub(super) enum Frame {
    /// The whole frame, encoded.
    Bytes(Vec<u8>),
    /// Encoded parts, with the records of each file slot (`FramePart::File(n)` is the `n`th).
    Parts {
        parts: Vec<FramePart>,
        records: Vec<StoredRecords>,
    },
}

impl Frame {
    /// Its length on the wire.
    fn len(&self) -> usize {
        match self {
            Frame::Bytes(bytes) => bytes.len(),
            Frame::Parts { parts, records } => {
                encoded_len(parts) + records.iter().map(StoredRecords::len).sum::<usize>()
            }
        }
    }

    /// Writes it whole; records in a file go with sendfile once what precedes them is out.
    async fn write(&self, writer: &mut BufWriter<ResponseWriter>) -> std::io::Result<()> {
        match self {
            Frame::Bytes(bytes) => writer.write_all(bytes).await,
            Frame::Parts { parts, records } => write_parts(writer, parts, records).await,
        }
    }
}

/// The node task's end of a link.
pub(super) struct Queue {
    frames: mpsc::Sender<Frame>,
    bytes: Arc<AtomicUsize>,
}

impl Queue {
    /// Queues `frame`, or gives it back when the queue is full.
    pub(super) fn push(&self, frame: Frame) -> Result<(), Frame> {
        let len = frame.len();
        // Counted before it is queued, so the link's subtraction never runs ahead. A frame
        // over the whole budget still goes when nothing else waits.
        let before = self.bytes.fetch_add(len, Ordering::Relaxed);
        if before + len > QUEUE_BYTES_MAX && before > 0 {
            self.bytes.fetch_sub(len, Ordering::Relaxed);
            return Err(frame);
        }
        self.frames.try_send(frame).map_err(|error| {
            self.bytes.fetch_sub(len, Ordering::Relaxed);
            error.into_inner()
        })
    }
}

/// The link task's end.
struct Frames {
    frames: mpsc::Receiver<Frame>,
    bytes: Arc<AtomicUsize>,
}

impl Frames {
    async fn recv(&mut self) -> Option<Frame> {
        let frame = self.frames.recv().await?;
        self.bytes.fetch_sub(frame.len(), Ordering::Relaxed);
        Some(frame)
    }

    /// Drops what was queued for a connection that is down.
    fn drain(&mut self) {
        while let Ok(frame) = self.frames.try_recv() {
            self.bytes.fetch_sub(frame.len(), Ordering::Relaxed);
        }
    }

    fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// Where one link dials.
pub(super) struct Target {
    pub(super) node: NodeId,
    pub(super) host: String,
    pub(super) port: u16,
}

/// Starts a link's task and returns its queue; the task ends when the queue drops.
pub(super) fn spawn<C: Connector>(connector: Arc<C>, target: Target, hello: Arc<[u8]>) -> Queue {
    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
    let bytes = Arc::new(AtomicUsize::new(0));
    let frames = Frames {
        frames: receiver,
        bytes: Arc::clone(&bytes),
    };
    tokio::spawn(run(connector, target, hello, frames));
    Queue {
        frames: sender,
        bytes,
    }
}

async fn run<C: Connector>(
    connector: Arc<C>,
    target: Target,
    hello: Arc<[u8]>,
    mut frames: Frames,
) {
    let Target { node, host, port } = target;
    let mut backoff = BACKOFF_MIN;
    // Dialled lazily: only once there is a frame to send.
    while let Some(first) = frames.recv().await {
        let dialled = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(&host, port)).await;
        let failure = match dialled {
            Ok(Ok(stream)) => {
                tracing::debug!(node = node.0, %host, port, "connected to peer");
                let connected = tokio::time::Instant::now();
                let ended = pump::<C>(stream, &hello, first, &mut frames).await;
                // A peer that closes at once (one refusing this node's hello) is dialled
                // ever more slowly, not 20 times a second.
                if connected.elapsed() >= BACKOFF_MAX {
                    backoff = BACKOFF_MIN;
                }
                match ended {
                    Ok(()) => return,
                    Err(error) => error,
                }
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "connect timed out".to_string(),
        };
        tracing::debug!(node = node.0, %host, port, failure, ?backoff, "peer connection down");
        frames.drain();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        frames.drain();
    }
}

/// Writes the hello and then every queued frame until the connection fails (`Err`) or the
/// queue closes (`Ok`). The peer never writes on this connection, so a read that returns
/// means it closed or failed: seen at once rather than at the next write.
async fn pump<C: Connector>(
    stream: C::Stream,
    hello: &[u8],
    first: Frame,
    frames: &mut Frames,
) -> Result<(), String> {
    let (mut reader, writer) = C::split(stream);
    let mut writer = BufWriter::new(writer);
    let broken = |error: std::io::Error| error.to_string();
    writer.write_all(hello).await.map_err(broken)?;
    first.write(&mut writer).await.map_err(broken)?;
    let mut probe = [0u8; 1];
    loop {
        if frames.is_empty() {
            writer.flush().await.map_err(broken)?;
        }
        tokio::select! {
            biased;
            frame = frames.recv() => match frame {
                Some(frame) => frame.write(&mut writer).await.map_err(broken)?,
                None => return Ok(()),
            },
            read = reader.read(&mut probe) => {
                return Err(match read {
                    Ok(0) => "closed by the peer".to_string(),
                    Ok(_) => "the peer wrote on a one-way connection".to_string(),
                    Err(error) => error.to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connector whose dials never finish, so nothing leaves the queue.
    struct Stuck;

    impl Connector for Stuck {
        type Stream = tokio::net::TcpStream;

        async fn connect(&self, _: &str, _: u16) -> std::io::Result<tokio::net::TcpStream> {
            std::future::pending().await
        }
    }

    #[test]
    fn the_queue_holds_a_bounded_number_of_bytes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let target = Target {
                node: NodeId(2),
                host: "127.0.0.1".to_string(),
                port: 9,
            };
            let queue = spawn(Arc::new(Stuck), target, Arc::from(&b"hello"[..]));
            let frame = || Frame::Bytes(vec![0; 1 << 20]);
            let accepted = (0..100).filter(|_| queue.push(frame()).is_ok()).count();
            assert_eq!(accepted, QUEUE_BYTES_MAX / frame().len());
            // Room again once the link has taken a frame.
            tokio::task::yield_now().await;
            assert!(queue.push(frame()).is_ok());
            assert!(queue.push(frame()).is_err());
        });
    }
}
