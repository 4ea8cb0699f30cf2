//! Both ends of the peer transport over loopback TCP: a connection opening with a hello is
//! delivered to the inbox, a bad one is closed, and an outbound link dials lazily, opens with
//! the hello, and dials again after the peer drops it.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::api::{
    FetchPartitionResponse, FetchRecords, FetchResponse, FileRange, Response, TopicPartition,
};
use sluice_core::broker::{NodeId, NodeMessage};
use sluice_core::controller::MetadataImage;
use sluice_core::disk::Disk;
use sluice_core::mem_disk::MemDisk;
use sluice_core::raft::Message;
use sluice_net::frame::FrameDecoder;
use sluice_net::peer::{decode_hello, decode_message, encode_hello, encode_message, Hello};
use sluice_net::request::DecodedRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{PeerInbox, PeerInput, Peers};
use crate::file_disk::FileDisk;
use crate::server::{
    serve, ApiVersionsOnly, ConnectionInfo, NamedListener, Reply, RequestHandler, ServerOptions,
};
use crate::transport::TokioConnector;

const WAIT: Duration = Duration::from_secs(10);

struct Inboxed(PeerInbox);

impl RequestHandler for Inboxed {
    fn handle(&self, connection: &ConnectionInfo, request: DecodedRequest) -> Reply {
        ApiVersionsOnly.handle(connection, request)
    }

    fn peer_inbox(&self) -> Option<&PeerInbox> {
        Some(&self.0)
    }
}

fn hello(id: u32, cluster: &str) -> Hello {
    Hello {
        node_id: NodeId(id),
        cluster_id: cluster.to_string(),
        host: "127.0.0.1".to_string(),
        port: 9,
    }
}

fn heartbeat(term: u64) -> NodeMessage {
    NodeMessage::Raft(Message::Heartbeat { term, commit: 0 })
}

fn run(test: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { tokio::time::timeout(WAIT, test).await.expect("timed out") });
}

/// A server for node 1 of cluster `c`, its port, and what its peers deliver.
async fn server() -> (u16, mpsc::Receiver<PeerInput>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (inbox, inputs) = PeerInbox::new("c", NodeId(1));
    let listeners = vec![NamedListener {
        name: "PLAINTEXT".to_string(),
        listener,
    }];
    let handler = Arc::new(Inboxed(inbox));
    tokio::spawn(serve(
        listeners,
        handler,
        ServerOptions::default(),
        std::future::pending(),
    ));
    (port, inputs)
}

/// Reads until the server closes the connection; true if it did.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0; 16];
    matches!(stream.read(&mut buffer).await, Ok(0) | Err(_))
}

#[test]
fn a_peer_connection_delivers_until_a_bad_frame_closes_it() {
    run(async {
        let (port, mut inputs) = server().await;
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(&encode_hello(&hello(2, "c")).unwrap())
            .await
            .unwrap();
        stream
            .write_all(&encode_message(&heartbeat(7)).unwrap())
            .await
            .unwrap();
        match inputs.recv().await.unwrap() {
            PeerInput::Hello(got) => assert_eq!(got, hello(2, "c")),
            other => panic!("{other:?}"),
        }
        match inputs.recv().await.unwrap() {
            PeerInput::Message { from, message } => {
                assert_eq!((from, message), (NodeId(2), heartbeat(7)));
            }
            other => panic!("{other:?}"),
        }
        // A frame whose body is no message.
        stream.write_all(&[0, 0, 0, 2, 99, 99]).await.unwrap();
        assert!(closed_by_server(&mut stream).await);
    });
}

#[test]
fn a_peer_of_another_cluster_is_refused() {
    run(async {
        let (port, mut inputs) = server().await;
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(&encode_hello(&hello(2, "other")).unwrap())
            .await
            .unwrap();
        assert!(closed_by_server(&mut stream).await);
        assert!(inputs.try_recv().is_err());
    });
}

/// Reads one frame's body from `stream`.
async fn read_frame(stream: &mut TcpStream, decoder: &mut FrameDecoder) -> Option<bytes::Bytes> {
    let mut chunk = [0; 4096];
    loop {
        if let Some(frame) = decoder.next_frame().unwrap() {
            return Some(frame);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(count) => decoder.push(&chunk[..count]),
        }
    }
}

#[test]
fn a_link_dials_lazily_and_again_after_the_peer_drops_it() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let voters = [(NodeId(2), "127.0.0.1".to_string(), port)];
        let mut peers = Peers::new(TokioConnector, &hello(1, "c"), voters, None).unwrap();
        let image = MetadataImage::default();
        for attempt in 0..2u64 {
            // Messages sent while the link is still down may be dropped: keep sending until
            // one arrives on a new connection.
            let sending = async {
                for term in 0.. {
                    peers.send(
                        NodeId(2),
                        &heartbeat(attempt * 1000 + term),
                        &image,
                        &mut MemDisk::default(),
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            let accepting = async {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut decoder = FrameDecoder::new(1 << 20);
                let first = read_frame(&mut stream, &mut decoder).await.unwrap();
                assert_eq!(decode_hello(&first).unwrap(), hello(1, "c"));
                let second = read_frame(&mut stream, &mut decoder).await.unwrap();
                match decode_message(&second).unwrap() {
                    NodeMessage::Raft(Message::Heartbeat { term, .. }) => {
                        assert!(term >= attempt * 1000);
                    }
                    other => panic!("{other:?}"),
                }
                // Dropping the stream here closes the connection.
            };
            tokio::select! {
                () = sending => unreachable!(),
                () = accepting => {}
            }
        }
    });
}

#[test]
fn a_node_with_no_address_drops_the_message() {
    run(async {
        let mut peers = Peers::new(TokioConnector, &hello(1, "c"), [], None).unwrap();
        peers.send(
            NodeId(5),
            &heartbeat(1),
            &MetadataImage::default(),
            &mut MemDisk::default(),
        );
        assert_eq!(peers.dropped(), 1);
    });
}

/// A leader's answer whose records lie in a segment file arrives as the frame of the same
/// answer holding the bytes: over TCP they go with sendfile.
#[test]
fn records_in_a_file_arrive_as_their_bytes() {
    run(async {
        let root = tempfile::tempdir().unwrap();
        let mut disk = FileDisk::open(root.path()).unwrap();
        let batches: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        disk.create_dir_all("t-0").unwrap();
        disk.create("t-0/0.log").unwrap();
        disk.write_at("t-0/0.log", 0, &[7; 100]).unwrap();
        disk.write_at("t-0/0.log", 100, &batches).unwrap();
        let answer = |records: FetchRecords| NodeMessage::ReplicaResponse {
            id: 9,
            response: Response::Fetch(FetchResponse {
                error: sluice_core::api::ErrorCode::None,
                partitions: vec![FetchPartitionResponse {
                    partition: TopicPartition {
                        topic: "t".to_string(),
                        partition: 0,
                    },
                    error: sluice_core::api::ErrorCode::None,
                    high_watermark: 5,
                    last_stable_offset: 5,
                    log_start_offset: 0,
                    records,
                }],
            }),
        };
        let in_file = answer(FetchRecords::File(FileRange {
            path: "t-0/0.log".to_string(),
            position: 100,
            len: batches.len() as u32,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let voters = [(NodeId(2), "127.0.0.1".to_string(), port)];
        let mut peers = Peers::new(TokioConnector, &hello(1, "c"), voters, None).unwrap();
        peers.send(NodeId(2), &in_file, &MetadataImage::default(), &mut disk);
        let (mut stream, _) = tokio::time::timeout(WAIT, listener.accept())
            .await
            .unwrap()
            .unwrap();
        let mut decoder = FrameDecoder::new(1 << 20);
        let first = read_frame(&mut stream, &mut decoder).await.unwrap();
        assert_eq!(decode_hello(&first).unwrap(), hello(1, "c"));
        let second = tokio::time::timeout(WAIT, read_frame(&mut stream, &mut decoder))
            .await
            .expect("the whole frame arrives")
            .unwrap();
        let expected = answer(FetchRecords::from(batches));
        assert_eq!(decode_message(&second).unwrap(), expected);
    });
}
