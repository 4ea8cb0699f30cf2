//! The connection loop over real TCP on 127.0.0.1: framing, order, refusals and shutdown.
//!
//! Every wait is bounded by [`WAIT`] so that a bug fails the test instead of hanging it; no
//! assertion depends on how long anything takes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice::server::{
    serve, ApiVersionsOnly, ConnectionInfo, NamedListener, Outcome, Reply, RequestHandler,
    ServerOptions,
};
use sluice::transport::{Connector, Listener};
use sluice_net::kafka_protocol::messages::ProduceResponse;
use sluice_net::request::{DecodedRequest, RequestBody};
use sluice_net::response::{
    api_versions_body, api_versions_response, unsupported_api_versions_response, ResponseBody,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The bound on every wait.
const WAIT: Duration = Duration::from_secs(10);

struct Server {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(handler: Arc<dyn RequestHandler>, options: ServerOptions) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let listeners = vec![NamedListener {
            name: "PLAINTEXT".to_string(),
            listener,
        }];
        let task = tokio::spawn(serve(listeners, handler, options, async {
            let _ = stopped.await;
        }));
        Server {
            port,
            stop: Some(stop),
            task,
        }
    }

    async fn connect(&self) -> TcpStream {
        timeout(WAIT, TcpStream::connect(("127.0.0.1", self.port)))
            .await
            .expect("connect in time")
            .unwrap()
    }

    /// Asks the server to stop and waits for `serve` to return.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        timeout(WAIT, self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap();
    }
}

/// An ApiVersions request frame: header v1 for v0–v2, header v2 and KIP-511's client software
/// name and version for v3 and later.
fn api_versions_request(correlation_id: i32, version: i16) -> Vec<u8> {
    let mut payload = vec![0, 18];
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(&correlation_id.to_be_bytes());
    payload.extend_from_slice(&[0, 4]);
    payload.extend_from_slice(b"test");
    if version >= 3 {
        payload.push(0); // header tagged fields
        payload.push(5); // compact string: length + 1
        payload.extend_from_slice(b"test");
        payload.push(4);
        payload.extend_from_slice(b"1.0");
        payload.push(0); // body tagged fields
    }
    framed(&payload)
}

/// A Produce v3 request with no topics and the given `acks`.
fn produce_request(correlation_id: i32, acks: i16) -> Vec<u8> {
    let mut payload = vec![0, 0, 0, 3];
    payload.extend_from_slice(&correlation_id.to_be_bytes());
    payload.extend_from_slice(&[0, 4]);
    payload.extend_from_slice(b"test");
    payload.extend_from_slice(&[0xff, 0xff]); // null transactional id
    payload.extend_from_slice(&acks.to_be_bytes());
    payload.extend_from_slice(&30_000i32.to_be_bytes());
    payload.extend_from_slice(&[0, 0, 0, 0]); // no topics
    framed(&payload)
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// Reads one whole response frame, size prefix included.
async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    timeout(WAIT, async {
        let mut prefix = [0; 4];
        stream.read_exact(&mut prefix).await.unwrap();
        let size = usize::try_from(i32::from_be_bytes(prefix)).unwrap();
        let mut frame = prefix.to_vec();
        frame.resize(4 + size, 0);
        stream.read_exact(&mut frame[4..]).await.unwrap();
        frame
    })
    .await
    .expect("a response in time")
}

fn correlation_id(frame: &[u8]) -> i32 {
    i32::from_be_bytes(frame[4..8].try_into().unwrap())
}

/// Waits for the server to close the connection: end of stream or a reset, with nothing
/// written before it.
async fn assert_closed(stream: &mut TcpStream) {
    let mut byte = [0; 1];
    match timeout(WAIT, stream.read(&mut byte))
        .await
        .expect("closed in time")
    {
        Ok(0) | Err(_) => {}
        Ok(_) => panic!("the server wrote {byte:?} instead of closing"),
    }
}

fn api_versions_only() -> Arc<dyn RequestHandler> {
    Arc::new(ApiVersionsOnly)
}

#[tokio::test]
async fn api_versions_v0_to_v4_are_answered() {
    let server = Server::start(api_versions_only(), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    for version in 0..=4 {
        let correlation_id = 100 + i32::from(version);
        stream
            .write_all(&api_versions_request(correlation_id, version))
            .await
            .unwrap();
        let response = read_frame(&mut stream).await;
        assert_eq!(
            response,
            api_versions_response(correlation_id, version),
            "v{version}"
        );
    }
    server.stop().await;
}

/// KIP-511: an ApiVersions request at a version the server does not know gets a v0 answer with
/// UNSUPPORTED_VERSION, and the connection stays open for the client's retry.
#[tokio::test]
async fn api_versions_at_an_unsupported_version_gets_the_v0_fallback() {
    let server = Server::start(api_versions_only(), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    let mut request = api_versions_request(7, 3);
    request[7] = 9; // version 9
    stream.write_all(&request).await.unwrap();
    assert_eq!(
        read_frame(&mut stream).await,
        unsupported_api_versions_response(7)
    );
    stream.write_all(&api_versions_request(8, 3)).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, api_versions_response(8, 3));
    server.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(api_versions_only(), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    let mut requests = api_versions_request(1, 0);
    requests.extend(api_versions_request(2, 3));
    requests.extend(api_versions_request(3, 4));
    stream.write_all(&requests).await.unwrap();
    for (correlation_id, version) in [(1, 0), (2, 3), (3, 4)] {
        let response = read_frame(&mut stream).await;
        assert_eq!(self::correlation_id(&response), correlation_id);
        assert_eq!(response, api_versions_response(correlation_id, version));
    }
    server.stop().await;
}

/// A handler that answers nothing itself: it passes each request's reply sender to the test,
/// which decides when and in what order requests complete.
struct Deferred {
    handed: mpsc::UnboundedSender<(i32, oneshot::Sender<Outcome>)>,
}

impl RequestHandler for Deferred {
    fn handle(&self, _: &ConnectionInfo, request: DecodedRequest) -> Reply {
        let (sender, reply) = Reply::later();
        let _ = self.handed.send((request.header.correlation_id, sender));
        reply
    }
}

fn api_versions_outcome() -> Outcome {
    Outcome::Respond(ResponseBody::ApiVersions(api_versions_body()))
}

/// A server whose handler defers every answer, and a connection that sent it three
/// pipelined ApiVersions requests (correlation ids 1 to 3): their reply senders, in request
/// order, once all three reached the handler.
async fn three_deferred_requests() -> (Server, TcpStream, Vec<oneshot::Sender<Outcome>>) {
    let (handed, mut handed_out) = mpsc::unbounded_channel();
    let server = Server::start(Arc::new(Deferred { handed }), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    let mut requests = Vec::new();
    for correlation_id in 1..=3 {
        requests.extend(api_versions_request(correlation_id, 3));
    }
    stream.write_all(&requests).await.unwrap();
    let mut senders = Vec::new();
    for expected in 1..=3 {
        let (correlation_id, sender) = timeout(WAIT, handed_out.recv()).await.unwrap().unwrap();
        assert_eq!(correlation_id, expected);
        senders.push(sender);
    }
    (server, stream, senders)
}

/// A slow first request does not stop the next ones from being read and handled, and their
/// answers, though ready first, are written after it.
#[tokio::test]
async fn a_slow_request_does_not_block_decoding_and_answers_stay_in_order() {
    // All three reach the handler while none is answered.
    let (server, mut stream, mut senders) = three_deferred_requests().await;
    // Complete them last to first.
    while let Some(sender) = senders.pop() {
        sender.send(api_versions_outcome()).unwrap();
    }
    for correlation_id in 1..=3 {
        let response = read_frame(&mut stream).await;
        assert_eq!(response, api_versions_response(correlation_id, 3));
    }
    server.stop().await;
}

/// An answer is written as soon as it is known, even while the request after it on the same
/// connection still waits for its own (as acks=all produces wait for followers): a buffered
/// answer never waits for a later one.
#[tokio::test]
async fn an_answer_goes_out_while_the_next_request_still_waits() {
    let (server, mut stream, senders) = three_deferred_requests().await;
    let mut senders = senders.into_iter();
    senders
        .next()
        .unwrap()
        .send(api_versions_outcome())
        .unwrap();
    let first = timeout(WAIT, read_frame(&mut stream))
        .await
        .expect("the first answer arrives while the second is pending");
    assert_eq!(first, api_versions_response(1, 3));
    for sender in senders {
        sender.send(api_versions_outcome()).unwrap();
    }
    for correlation_id in 2..=3 {
        let response = read_frame(&mut stream).await;
        assert_eq!(response, api_versions_response(correlation_id, 3));
    }
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_api_key_closes_the_connection_after_earlier_answers() {
    let server = Server::start(api_versions_only(), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    let mut requests = api_versions_request(1, 3);
    // Key 1000 does not exist.
    requests.extend(framed(&[0x03, 0xe8, 0, 0, 0, 0, 0, 2, 0xff, 0xff]));
    stream.write_all(&requests).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, api_versions_response(1, 3));
    assert_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn a_frame_over_socket_request_max_bytes_closes_the_connection() {
    let options = ServerOptions {
        request_bytes_max: 100,
        ..ServerOptions::default()
    };
    let server = Server::start(api_versions_only(), options).await;
    let mut stream = server.connect().await;
    // A request under the limit is served as usual.
    stream.write_all(&api_versions_request(1, 0)).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, api_versions_response(1, 0));
    // The prefix alone announcing 101 bytes is enough to be refused.
    stream.write_all(&101i32.to_be_bytes()).await.unwrap();
    assert_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_body_closes_the_connection() {
    let server = Server::start(api_versions_only(), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    // ApiVersions v3 whose body is cut off after the header.
    let mut payload = vec![0, 18, 0, 3, 0, 0, 0, 1, 0, 4];
    payload.extend_from_slice(b"test");
    payload.push(0);
    payload.push(9); // a compact string of 8 bytes, none of which follow
    stream.write_all(&framed(&payload)).await.unwrap();
    assert_closed(&mut stream).await;
    // A Metadata v1 request claiming 2^31 - 1 topics in a 14-byte frame.
    let mut stream = server.connect().await;
    let frame = framed(&[0, 3, 0, 1, 0, 0, 0, 4, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
    stream.write_all(&frame).await.unwrap();
    assert_closed(&mut stream).await;
    server.stop().await;
}

/// The placeholder handler serves the handshake only: a valid Metadata request closes the
/// connection.
#[tokio::test]
async fn api_versions_only_closes_on_other_requests() {
    let server = Server::start(api_versions_only(), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    let mut payload = vec![0, 3, 0, 0, 0, 0, 0, 5, 0, 4];
    payload.extend_from_slice(b"test");
    payload.extend_from_slice(&[0, 0, 0, 0]); // Metadata v0, no topics
    stream.write_all(&framed(&payload)).await.unwrap();
    assert_closed(&mut stream).await;
    server.stop().await;
}

/// Answers Produce with an empty response and ApiVersions as usual.
struct AnswersProduce;

impl RequestHandler for AnswersProduce {
    fn handle(&self, _: &ConnectionInfo, request: DecodedRequest) -> Reply {
        Reply::Ready(match request.body {
            RequestBody::Produce(_) => {
                Outcome::Respond(ResponseBody::Produce(ProduceResponse::default()))
            }
            _ => api_versions_outcome(),
        })
    }
}

/// Kafka never answers a Produce with `acks=0`, even when the broker has a response for it.
#[tokio::test]
async fn a_produce_with_acks_0_gets_no_response() {
    let server = Server::start(Arc::new(AnswersProduce), ServerOptions::default()).await;
    let mut stream = server.connect().await;
    let mut requests = produce_request(1, 0);
    requests.extend(produce_request(2, 1));
    requests.extend(api_versions_request(3, 3));
    stream.write_all(&requests).await.unwrap();
    assert_eq!(correlation_id(&read_frame(&mut stream).await), 2);
    assert_eq!(read_frame(&mut stream).await, api_versions_response(3, 3));
    server.stop().await;
}

/// Shutdown stops accepting and reading, but a request already read is still answered.
#[tokio::test]
async fn shutdown_answers_requests_in_flight_then_closes() {
    let (handed, mut handed_out) = mpsc::unbounded_channel();
    let server = Server::start(Arc::new(Deferred { handed }), ServerOptions::default()).await;
    let port = server.port;
    let mut stream = server.connect().await;
    stream.write_all(&api_versions_request(1, 3)).await.unwrap();
    let (_, sender) = timeout(WAIT, handed_out.recv()).await.unwrap().unwrap();
    let Server { stop, task, .. } = server;
    stop.unwrap().send(()).unwrap();
    // The server holds the connection until the request is answered; answering lets the
    // answer out, then the connection and `serve` end.
    sender.send(api_versions_outcome()).unwrap();
    assert_eq!(read_frame(&mut stream).await, api_versions_response(1, 3));
    assert_closed(&mut stream).await;
    timeout(WAIT, task).await.expect("serve returns").unwrap();
    // The listener is gone.
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

/// Past the grace period, connections with unanswered requests are closed.
#[tokio::test]
async fn shutdown_gives_up_on_requests_after_the_grace() {
    let (handed, mut handed_out) = mpsc::unbounded_channel();
    let options = ServerOptions {
        shutdown_grace: Duration::ZERO,
        ..ServerOptions::default()
    };
    let server = Server::start(Arc::new(Deferred { handed }), options).await;
    let mut stream = server.connect().await;
    stream.write_all(&api_versions_request(1, 3)).await.unwrap();
    let (_, _sender) = timeout(WAIT, handed_out.recv()).await.unwrap().unwrap();
    server.stop().await;
    assert_closed(&mut stream).await;
}

/// turmoil's simulated TCP behind the transport traits: the server code is the same.
struct SimListener(turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;

    async fn accept(&mut self) -> std::io::Result<(turmoil::net::TcpStream, SocketAddr)> {
        self.0.accept().await
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

struct SimConnector;

impl Connector for SimConnector {
    type Stream = turmoil::net::TcpStream;

    async fn connect(&self, host: &str, port: u16) -> std::io::Result<turmoil::net::TcpStream> {
        turmoil::net::TcpStream::connect((host, port)).await
    }
}

/// The server runs unchanged over a simulated network: pipelined ApiVersions requests are
/// answered in order.
#[test]
fn api_versions_over_turmoil() -> turmoil::Result {
    let mut sim = turmoil::Builder::new().build();
    sim.host("broker", || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 9092)).await?;
        let listeners = vec![NamedListener {
            name: "PLAINTEXT".to_string(),
            listener: SimListener(listener),
        }];
        serve(
            listeners,
            api_versions_only(),
            ServerOptions::default(),
            std::future::pending(),
        )
        .await;
        Ok(())
    });
    sim.client("client", async {
        let mut stream = SimConnector.connect("broker", 9092).await?;
        let mut requests = api_versions_request(1, 0);
        requests.extend(api_versions_request(2, 4));
        stream.write_all(&requests).await?;
        assert_eq!(read_frame(&mut stream).await, api_versions_response(1, 0));
        assert_eq!(read_frame(&mut stream).await, api_versions_response(2, 4));
        Ok(())
    });
    sim.run()
}
