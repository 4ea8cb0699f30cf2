//! One client connection to a broker: ApiVersions first, then requests at the highest version
//! both sides serve, either one at a time ([`Connection::call`]) or pipelined through a task
//! ([`Connection::pipeline`]) that answers in request order, as Kafka guarantees per
//! connection.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Buf, Bytes, BytesMut};
use sluice_core::api::{self, Disconnected};
use sluice_net::client::{decode_response, encode_request, ClientCodecError};
use sluice_net::convert::outbound::{api_key_of, request_to_kafka, response_to_core, Answer};
use sluice_net::frame::{parse_frame, FrameStatus};
use sluice_net::kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;
use sluice_net::versions::supported_range;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::transport::{Connector, Stream};

/// The largest answer a client reads (Kafka's clients have no such limit; a fetch answer is
/// bounded by the fetch's own `max_bytes`, so this only stops a garbage size prefix).
const RESPONSE_BYTES_MAX: usize = 1 << 30;

/// Why a request got no usable answer.
#[derive(Debug)]
pub enum ClientError {
    /// Connecting, writing or reading failed, or the broker closed the connection.
    Io(std::io::Error),
    /// The request could not be encoded or its answer not decoded.
    Codec(ClientCodecError),
    /// The broker serves no version of the API that this client speaks.
    Unsupported(ApiKey),
    /// The broker answered something that does not fit the request.
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(error) => write!(f, "{error}"),
            ClientError::Codec(error) => write!(f, "{error}"),
            ClientError::Unsupported(api_key) => {
                write!(
                    f,
                    "the broker serves no version of {api_key:?} this client speaks"
                )
            }
            ClientError::Protocol(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(error: std::io::Error) -> ClientError {
        ClientError::Io(error)
    }
}

impl From<ClientCodecError> for ClientError {
    fn from(error: ClientCodecError) -> ClientError {
        ClientError::Codec(error)
    }
}

/// A connection that has agreed versions with its broker.
pub struct Connection<S> {
    stream: S,
    client_id: String,
    versions: BTreeMap<i16, i16>,
    next_correlation_id: i32,
    frames: FrameReader,
}

impl<S: Stream> Connection<S> {
    /// Connects to `host:port` and asks which versions the broker serves (ApiVersions v0,
    /// which every broker answers, so no KIP-511 fallback round is needed).
    pub async fn open<C: Connector<Stream = S>>(
        connector: &C,
        host: &str,
        port: u16,
        client_id: &str,
    ) -> Result<Connection<S>, ClientError> {
        let stream = connector.connect(host, port).await?;
        let mut connection = Connection {
            stream,
            client_id: client_id.to_string(),
            versions: BTreeMap::new(),
            next_correlation_id: 0,
            frames: FrameReader::default(),
        };
        let body = RequestBody::ApiVersions(
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("sluice"))
                .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION"))),
        );
        let ResponseBody::ApiVersions(answer) = connection.call_at(0, &body).await? else {
            return Err(ClientError::Protocol(
                "ApiVersions answered with another API".into(),
            ));
        };
        if answer.error_code != 0 {
            return Err(ClientError::Protocol(format!(
                "ApiVersions refused with error {}",
                answer.error_code
            )));
        }
        for range in answer.api_keys {
            let Some(ours) = supported_range(range.api_key) else {
                continue;
            };
            let highest = ours.max_version.min(range.max_version);
            if highest >= ours.min_version.max(range.min_version) {
                connection.versions.insert(range.api_key, highest);
            }
        }
        Ok(connection)
    }

    /// The version this connection uses for `api_key`.
    pub fn version(&self, api_key: ApiKey) -> Result<i16, ClientError> {
        self.versions
            .get(&(api_key as i16))
            .copied()
            .ok_or(ClientError::Unsupported(api_key))
    }

    /// Sends `body` and waits for its answer.
    pub async fn call(&mut self, body: &RequestBody) -> Result<ResponseBody, ClientError> {
        let version = self.version(body.api_key())?;
        self.call_at(version, body).await
    }

    /// Sends core's `request` and waits for its answer in core's terms: what the admin tools
    /// use, so that they build and read the same types as core's clients and the broker.
    pub async fn call_core(&mut self, request: api::Request) -> Result<Answer, ClientError> {
        let api_key = api_key_of(&request);
        let version = self.version(api_key)?;
        let Some(body) = request_to_kafka(request, version) else {
            return Err(ClientError::Protocol(format!(
                "{api_key:?} v{version} cannot carry this request"
            )));
        };
        let answer = self.call_at(version, &body).await?;
        response_to_core(api_key, answer).map_err(|error| ClientError::Protocol(error.to_string()))
    }

    async fn call_at(
        &mut self,
        version: i16,
        body: &RequestBody,
    ) -> Result<ResponseBody, ClientError> {
        let correlation_id = self.write(version, body).await?;
        let frame = self.frames.next(&mut self.stream).await?;
        let (answered, body) = decode_response(body.api_key(), version, frame)?;
        if answered != correlation_id {
            return Err(ClientError::Protocol(format!(
                "answer {answered} to request {correlation_id}"
            )));
        }
        Ok(body)
    }

    async fn write(&mut self, version: i16, body: &RequestBody) -> Result<i32, ClientError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_request(correlation_id, &self.client_id, version, body)?;
        self.stream.write_all(&frame).await?;
        Ok(correlation_id)
    }

    /// Sends core requests as they come from `incoming` and passes each answer, in core's
    /// terms, to `answers` with the caller's id, until `incoming` closes. Answers come in
    /// request order, as Kafka guarantees per connection; a Produce with acks=0 gets none, as
    /// on the wire. Once the connection fails, every request in flight and every later one is
    /// answered `Err(Disconnected)`.
    pub async fn pipeline(
        self,
        mut incoming: mpsc::UnboundedReceiver<(u64, api::Request)>,
        answers: mpsc::UnboundedSender<(u64, Result<Answer, Disconnected>)>,
    ) {
        let (mut reader, mut writer) = tokio::io::split(self.stream);
        let mut correlation_id = self.next_correlation_id;
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut broken = false;
        // Reads run on their own task: `read_exact` is not cancel-safe inside a select.
        let (frames_in, mut frames) = mpsc::unbounded_channel();
        let mut reading = self.frames;
        let read_task = tokio::spawn(async move {
            loop {
                let frame = reading.next(&mut reader).await;
                let failed = frame.is_err();
                if frames_in.send(frame).is_err() || failed {
                    break;
                }
            }
        });
        loop {
            tokio::select! {
                biased;
                request = incoming.recv() => {
                    let Some((id, request)) = request else { break };
                    let api_key = api_key_of(&request);
                    let frame = match (broken, self.versions.get(&(api_key as i16))) {
                        (false, Some(&version)) => {
                            let acks_zero = matches!(&request, api::Request::Produce(p) if p.acks == 0);
                            request_to_kafka(request, version)
                                .and_then(|body| {
                                    encode_request(correlation_id, &self.client_id, version, &body)
                                        .ok()
                                })
                                .map(|frame| (version, frame, acks_zero))
                        }
                        _ => None,
                    };
                    let Some((version, frame, acks_zero)) = frame else {
                        let _ = answers.send((id, Err(Disconnected)));
                        continue;
                    };
                    if writer.write_all(&frame).await.is_err() {
                        broken = true;
                        let _ = answers.send((id, Err(Disconnected)));
                        fail_all(&mut in_flight, &answers);
                        continue;
                    }
                    // A Produce with acks=0 gets no answer.
                    if !acks_zero {
                        in_flight.push_back(InFlight { id, correlation_id, version, api_key });
                    }
                    correlation_id = correlation_id.wrapping_add(1);
                }
                frame = frames.recv(), if !broken => {
                    let read = match (frame, in_flight.pop_front()) {
                        (Some(Ok(frame)), Some(request)) => {
                            let id = request.id;
                            answer(request, frame).map(|answer| (id, answer))
                        }
                        (Some(Err(error)), request) => Err((request, error)),
                        (None, request) => Err((request, ClientError::Protocol("closed".into()))),
                        (Some(Ok(_)), None) => Err((None, ClientError::Protocol("an answer to nothing".into()))),
                    };
                    match read {
                        Ok((id, answer)) => {
                            let _ = answers.send((id, Ok(answer)));
                        }
                        Err((request, error)) => {
                            tracing::debug!("connection failed: {error}");
                            broken = true;
                            if let Some(request) = request {
                                let _ = answers.send((request.id, Err(Disconnected)));
                            }
                            fail_all(&mut in_flight, &answers);
                        }
                    }
                }
            }
        }
        read_task.abort();
    }
}

/// A request written and not yet answered.
struct InFlight {
    id: u64,
    correlation_id: i32,
    version: i16,
    api_key: ApiKey,
}

fn answer(request: InFlight, frame: Bytes) -> Result<Answer, (Option<InFlight>, ClientError)> {
    let failed = |request: InFlight, error| Err((Some(request), error));
    let (correlation_id, body) = match decode_response(request.api_key, request.version, frame) {
        Ok(decoded) => decoded,
        Err(error) => return failed(request, error.into()),
    };
    if correlation_id != request.correlation_id {
        let error = format!(
            "answer {correlation_id} to request {}",
            request.correlation_id
        );
        return failed(request, ClientError::Protocol(error));
    }
    match response_to_core(request.api_key, body) {
        Ok(answer) => Ok(answer),
        Err(error) => failed(request, ClientError::Protocol(error.to_string())),
    }
}

fn fail_all(
    in_flight: &mut VecDeque<InFlight>,
    answers: &mpsc::UnboundedSender<(u64, Result<Answer, Disconnected>)>,
) {
    for request in in_flight.drain(..) {
        let _ = answers.send((request.id, Err(Disconnected)));
    }
}

/// Reads size-prefixed frames into one buffer, handing each out as a shared slice. Once the
/// frames handed out are dropped (a Fetch answer's records are parsed and let go), the next
/// frame reuses the same memory instead of a fresh allocation the kernel must fault in.
#[derive(Default)]
struct FrameReader {
    buffer: BytesMut,
}

/// The least spare room a read asks the socket to fill.
const READ_BYTES_MIN: usize = 64 * 1024;

impl FrameReader {
    /// The next frame, without its size prefix.
    async fn next(
        &mut self,
        stream: &mut (impl tokio::io::AsyncRead + Unpin),
    ) -> Result<Bytes, ClientError> {
        loop {
            let missing = match parse_frame(&self.buffer, RESPONSE_BYTES_MAX) {
                FrameStatus::Frame(payload) => {
                    let mut frame = self.buffer.split_to(payload.end);
                    frame.advance(payload.start);
                    return Ok(frame.freeze());
                }
                FrameStatus::NeedMore(missing) => missing,
                FrameStatus::TooLarge(size) => {
                    return Err(ClientError::Protocol(format!(
                        "answer of {size} bytes is over the client's limit"
                    )))
                }
                FrameStatus::Negative(size) => {
                    return Err(ClientError::Protocol(format!(
                        "negative answer size {size}"
                    )))
                }
            };
            self.buffer.reserve(missing.max(READ_BYTES_MIN));
            if stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }
}
