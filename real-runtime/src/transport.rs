//! The small surface the server needs from a network: a [`Listener`] that accepts byte streams
//! and a [`Connector`] that opens them.
//!
//! The server is written against these traits rather than `tokio::net` so that the same code
//! runs over turmoil's simulated TCP, whose `TcpListener` and `TcpStream` have the same shape.
//! A stream is anything tokio can read and write; everything above it (framing, ordering,
//! shutdown) is shared.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::server::writer::ResponseWriter;

/// A byte stream to one peer.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// The read half of a stream.
pub type ReadHalf = Box<dyn AsyncRead + Unpin + Send>;

/// A bound socket that accepts connections.
pub trait Listener: Send + 'static {
    /// The streams it accepts.
    type Stream: Stream;

    /// Waits for the next connection and returns it with the peer's address.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// The address it is bound to (with the real port when it was bound to port 0).
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// Splits an accepted stream into its read half and the writer its responses go out on.
    /// The default goes through tokio's generic halves; a TCP listener keeps the socket, so
    /// that Fetch answers are sent from segment files with sendfile.
    fn split(stream: Self::Stream) -> (ReadHalf, ResponseWriter) {
        let (read, write) = tokio::io::split(stream);
        (Box::new(read), ResponseWriter::Other(Box::new(write)))
    }
}

/// Opens connections to other nodes (replica fetchers, the controller quorum, tests).
pub trait Connector: Send + Sync + 'static {
    /// The streams it opens.
    type Stream: Stream;

    /// Connects to `host:port`.
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Splits an opened stream as [`Listener::split`] does: a TCP connector keeps the socket,
    /// so that a leader's answers to its followers are sent from segment files with sendfile.
    fn split(stream: Self::Stream) -> (ReadHalf, ResponseWriter) {
        let (read, write) = tokio::io::split(stream);
        (Box::new(read), ResponseWriter::Other(Box::new(write)))
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // Kafka turns Nagle off on every connection: responses are whole frames already, and
        // waiting for an ACK before sending the next small one adds a round trip to pipelining.
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }

    fn split(stream: tokio::net::TcpStream) -> (ReadHalf, ResponseWriter) {
        let (read, write) = stream.into_split();
        (Box::new(read), ResponseWriter::Tcp(write))
    }
}

/// [`Connector`] over the operating system's TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioConnector;

impl Connector for TokioConnector {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self, host: &str, port: u16) -> io::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn split(stream: tokio::net::TcpStream) -> (ReadHalf, ResponseWriter) {
        let (read, write) = stream.into_split();
        (Box::new(read), ResponseWriter::Tcp(write))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// The two halves meet: what the connector writes, the accepted stream reads.
    #[test]
    fn tokio_listener_and_connector_talk() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = Listener::local_addr(&listener).unwrap().port();
            let connecting = TokioConnector.connect("127.0.0.1", port);
            let (accepted, connected) = tokio::join!(Listener::accept(&mut listener), connecting);
            let (mut accepted, _) = accepted.unwrap();
            let mut connected = connected.unwrap();
            connected.write_all(b"ping").await.unwrap();
            let mut buffer = [0; 4];
            accepted.read_exact(&mut buffer).await.unwrap();
            assert_eq!(&buffer, b"ping");
        });
    }
}
