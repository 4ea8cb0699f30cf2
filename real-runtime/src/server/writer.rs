//! The write half of a client connection, which can send record bytes straight from a segment
//! file to a TCP socket (sendfile), as Kafka's `FileRecords.writeTo` does: the bytes go from the
//! page cache to the socket without passing through the broker's memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use sluice_net::fetch_frame::FramePart;
use tokio::io::{AsyncWrite, BufWriter};

use crate::records::StoredRecords;

/// Bytes read per step when a stream cannot take a file directly.
const COPY_CHUNK_BYTES: usize = 256 * 1024;

/// Where a connection writes its responses.
pub enum ResponseWriter {
    /// A TCP socket: file records go out with sendfile.
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    /// Any other stream (turmoil's simulated TCP): file records are read, then written.
    Other(Box<dyn AsyncWrite + Unpin + Send>),
}

impl ResponseWriter {
    /// Writes `records`. For a file, fails if the file no longer holds the whole range.
    pub async fn send_records(&mut self, records: &StoredRecords) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        match (self, records) {
            (writer, StoredRecords::Bytes(bytes)) => writer.write_all(bytes).await,
            #[cfg(target_os = "linux")]
            (
                ResponseWriter::Tcp(half),
                StoredRecords::File {
                    file,
                    position,
                    len,
                },
            ) => send_file(half.as_ref(), file, *position, *len).await,
            (
                writer,
                StoredRecords::File {
                    file,
                    position,
                    len,
                },
            ) => copy_file(writer, file, *position, *len).await,
        }
    }

    /// Drops the writer without closing the stream's write side: a connection that only
    /// reads (from a peer node) must not look closed to the other end.
    pub fn forget(self) {
        match self {
            ResponseWriter::Tcp(half) => half.forget(),
            ResponseWriter::Other(writer) => drop(writer),
        }
    }
}

/// Writes a frame's parts: encoded bytes through the buffer, and in place of each
/// `FramePart::File(n)` the records `records[n]`, straight to the stream once what came before
/// them is flushed. Shared by client connections (Fetch answers) and peer links (followers'
/// answers).
pub async fn write_parts(
    writer: &mut BufWriter<ResponseWriter>,
    parts: &[FramePart],
    records: &[StoredRecords],
) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    for part in parts {
        match part {
            FramePart::Bytes(bytes) => writer.write_all(bytes).await?,
            FramePart::File(slot) => {
                writer.flush().await?;
                writer.get_mut().send_records(&records[*slot]).await?;
            }
        }
    }
    Ok(())
}

/// sendfile(2) from `file` at `position` to the socket, `len` bytes, waiting for the socket
/// whenever its buffer is full.
#[cfg(target_os = "linux")]
async fn send_file(
    socket: &tokio::net::TcpStream,
    file: &std::fs::File,
    mut position: u64,
    mut len: usize,
) -> io::Result<()> {
    while len > 0 {
        socket.writable().await?;
        let sent = socket.try_io(tokio::io::Interest::WRITABLE, || {
            rustix::fs::sendfile(socket, file, Some(&mut position), len).map_err(io::Error::from)
        });
        match sent {
            Ok(0) => return Err(cut_short()),
            Ok(sent) => len -= sent,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Reads the range in chunks and writes them: one copy through memory.
async fn copy_file(
    writer: &mut ResponseWriter,
    file: &std::fs::File,
    mut position: u64,
    mut len: usize,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    use tokio::io::AsyncWriteExt;
    let mut chunk = vec![0; len.min(COPY_CHUNK_BYTES)];
    while len > 0 {
        let want = len.min(chunk.len());
        // A read from the page cache: short enough not to need a blocking thread.
        let read = file.read_at(&mut chunk[..want], position)?;
        if read == 0 {
            return Err(cut_short());
        }
        writer.write_all(&chunk[..read]).await?;
        position += read as u64;
        len -= read;
    }
    Ok(())
}

fn cut_short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the segment file was cut shorter than the records being sent",
    )
}

impl AsyncWrite for ResponseWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ResponseWriter::Tcp(half) => Pin::new(half).poll_write(cx, buf),
            ResponseWriter::Other(writer) => Pin::new(writer).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ResponseWriter::Tcp(half) => Pin::new(half).poll_write_vectored(cx, bufs),
            ResponseWriter::Other(writer) => Pin::new(writer).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ResponseWriter::Tcp(half) => half.is_write_vectored(),
            ResponseWriter::Other(writer) => writer.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ResponseWriter::Tcp(half) => Pin::new(half).poll_flush(cx),
            ResponseWriter::Other(writer) => Pin::new(writer).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ResponseWriter::Tcp(half) => Pin::new(half).poll_shutdown(cx),
            ResponseWriter::Other(writer) => Pin::new(writer).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::transport::{Connector, Listener, TokioConnector};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A segment-like file of `len` bytes, each its position modulo 251.
    fn segment(len: usize) -> Arc<std::fs::File> {
        let mut file = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        file.write_all(&bytes).unwrap();
        Arc::new(file)
    }

    fn range(file: &Arc<std::fs::File>, position: u64, len: usize) -> StoredRecords {
        StoredRecords::File {
            file: Arc::clone(file),
            position,
            len,
        }
    }

    fn expected(position: usize, len: usize) -> Vec<u8> {
        (position..position + len)
            .map(|i| (i % 251) as u8)
            .collect()
    }

    /// Over TCP (sendfile): a range larger than the socket buffers arrives whole and in
    /// order, and a range past the file's end fails instead of sending a short frame.
    #[test]
    fn a_tcp_writer_sends_file_ranges_whole_or_fails() {
        runtime().block_on(async {
            let mut listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = Listener::local_addr(&listener).unwrap().port();
            let (accepted, connected) = tokio::join!(
                Listener::accept(&mut listener),
                TokioConnector.connect("127.0.0.1", port)
            );
            let (_read, mut writer) = tokio::net::TcpListener::split(accepted.unwrap().0);
            assert!(matches!(writer, ResponseWriter::Tcp(_)));
            let mut client = connected.unwrap();
            let file = segment(8 << 20);
            let (len, position) = (6 << 20, 12_345);
            let reading = async {
                let mut received = vec![0; len];
                client.read_exact(&mut received).await.unwrap();
                received
            };
            let records = range(&file, position as u64, len);
            let (sent, received) = tokio::join!(writer.send_records(&records), reading);
            sent.unwrap();
            assert!(received == expected(position, len), "the bytes differ");
            let past_the_end = writer.send_records(&range(&file, (8 << 20) - 10, 20)).await;
            assert_eq!(
                past_the_end.unwrap_err().kind(),
                io::ErrorKind::UnexpectedEof
            );
        });
    }

    /// Over any other stream the range is read and written, with the same outcome.
    #[test]
    fn another_writer_copies_file_ranges() {
        runtime().block_on(async {
            let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
            let mut writer = ResponseWriter::Other(Box::new(ours));
            let file = segment(1 << 20);
            let (len, position) = (700_000, 99);
            let reading = async {
                let mut received = vec![0; len];
                theirs.read_exact(&mut received).await.unwrap();
                received
            };
            let records = range(&file, position as u64, len);
            let (sent, received) = tokio::join!(writer.send_records(&records), reading);
            sent.unwrap();
            assert!(received == expected(position, len), "the bytes differ");
            let past_the_end = writer.send_records(&range(&file, (1 << 20) - 1, 2)).await;
            assert_eq!(
                past_the_end.unwrap_err().kind(),
                io::ErrorKind::UnexpectedEof
            );
        });
    }
}
