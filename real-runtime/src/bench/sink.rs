//! `sluice bench sink`: a Kafka listener that takes Produce requests and throws the records
//! away, so that a load generator measured against it shows its own ceiling on this machine in
//! the same run as the broker figures it is compared with.
//!
//! It speaks the real protocol through `sluice-net`, the broker's own codec: frames, request
//! headers and bodies are decoded exactly as `sluice server` decodes them, and answers are
//! encoded the same way, so what differs from the broker is only the work behind the answer.
//! That work is kept to what a client cannot do without: ApiVersions lists ApiVersions, Metadata
//! and Produce (at the broker's ranges), and Fetch, which it does not answer but librdkafka needs
//! to see before it writes RecordBatch v2; Metadata names the sink as the only broker and the
//! leader of partitions `0..N` of every topic asked for; Produce is answered with no error and a
//! base offset that grows per partition by the records each batch declares. Batch CRCs are not
//! checked and compressed batches are not opened, since that would be broker work counted against
//! the client. A Produce with `acks=0` gets no answer, as in Kafka. Any other request, Fetch
//! included, closes the connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sluice_core::api::ErrorCode;
use sluice_core::record::BatchHeader;
use sluice_net::frame::{FrameDecoder, REQUEST_BYTES_MAX_DEFAULT};
use sluice_net::kafka_protocol::messages::{
    metadata_response, produce_response, ApiKey, BrokerId, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::{decode_request, RequestBody};
use sluice_net::response::{api_versions_body_for, encode_response, ResponseBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::cli::CliError;
use crate::tools::flags::{Flags, Kind};

/// The APIs the sink answers, and so the only ones its ApiVersions lists besides Fetch: a
/// client uses every API it sees listed.
const SINK_APIS: [ApiKey; 3] = [ApiKey::Produce, ApiKey::Metadata, ApiKey::ApiVersions];

/// Listed but not answered. librdkafka writes RecordBatch v2 only to a broker that lists both
/// Produce 3+ and Fetch 4+ (its `MSGVER2` feature, rdkafka_feature.c); without Fetch it falls
/// back to the legacy MessageSet v0, which Sluice (like Kafka 4) refuses with CORRUPT_MESSAGE,
/// a retriable error, so the producer retries forever. A producer never sends Fetch, so the
/// sink lists it at the broker's range and closes the connection of a client that does.
const LISTED_UNANSWERED: ApiKey = ApiKey::Fetch;

/// The node id the sink gives itself in Metadata.
const SINK_NODE_ID: i32 = 0;

/// Bytes asked of the socket per read: large, since nearly everything read is Produce data.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// The flags of `sluice bench sink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    /// Where to listen, `HOST:PORT`.
    pub listen: String,
    /// Partitions every topic has.
    pub partitions: i32,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            listen: "127.0.0.1:9092".to_string(),
            partitions: 1,
        }
    }
}

impl SinkOptions {
    /// Parses `--listen HOST:PORT` and `--partitions N`, as `--flag VALUE` or `--flag=VALUE`.
    pub fn parse(args: &[String]) -> Result<SinkOptions, CliError> {
        const FLAGS: &[(&str, Kind)] = &[("--listen", Kind::Value), ("--partitions", Kind::Value)];
        let flags = Flags::parse(args, FLAGS)?;
        if let Some(word) = flags.words.first() {
            return Err(CliError::Usage(format!("unexpected `{word}`")));
        }
        let mut options = SinkOptions::default();
        if let Some(listen) = flags.value("--listen") {
            options.listen = listen.to_string();
        }
        if let Some(value) = flags.value("--partitions") {
            let flag = "--partitions";
            options.partitions = i32::try_from(super::parse_count(flag, value)?)
                .map_err(|_| CliError::Usage(format!("{flag}: `{value}` is too large")))?;
        }
        Ok(options)
    }
}

/// Runs `sluice bench sink` until the process is stopped.
pub fn run(options: &SinkOptions) -> Result<(), CliError> {
    crate::logging::init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Failed(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&options.listen).await.map_err(|error| {
            CliError::Failed(format!("cannot listen on {}: {error}", options.listen))
        })?;
        let address = listener
            .local_addr()
            .map_err(|error| CliError::Failed(error.to_string()))?;
        tracing::info!(
            "sink listening on {address}, {} partition(s) per topic",
            options.partitions
        );
        serve(listener, options.partitions).await;
        Ok(())
    })
}

/// Accepts connections on `listener` and serves each in its own task, forever.
pub async fn serve(listener: TcpListener, partitions: i32) {
    let sink = Arc::new(Sink::new(partitions));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, sink.clone()));
            }
            Err(error) => {
                // Out of descriptors and the like: the next accept may work again.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// The sink's state: the next offset of every partition that has been produced to, shared by
/// all connections so that offsets grow per partition whichever connection writes.
struct Sink {
    partitions: i32,
    next_offsets: Mutex<HashMap<String, Vec<i64>>>,
}

/// What the sink does with one request frame.
enum Answer {
    /// Send this frame (size prefix included).
    Frame(Vec<u8>),
    /// Send nothing (Produce with `acks=0`).
    Nothing,
    /// Close the connection, for this reason.
    Close(String),
}

impl Sink {
    fn new(partitions: i32) -> Sink {
        Sink {
            partitions,
            next_offsets: Mutex::new(HashMap::new()),
        }
    }

    /// The answer to one request frame, from a client connected to `local` (the address the
    /// sink names as its broker, so that it is one the client can reach).
    fn answer(&self, frame: Bytes, local: SocketAddr) -> Answer {
        let request = match decode_request(frame) {
            Ok(request) => request,
            Err(error) => {
                return match error.response() {
                    Some(frame) => Answer::Frame(frame),
                    None => Answer::Close(error.to_string()),
                }
            }
        };
        let version = request.header.api_version;
        let body = match request.body {
            RequestBody::ApiVersions(_) => {
                ResponseBody::ApiVersions(api_versions_body_for(|key| {
                    SINK_APIS.contains(&key) || key == LISTED_UNANSWERED
                }))
            }
            RequestBody::Metadata(body) => {
                ResponseBody::Metadata(self.metadata(&body, version, local))
            }
            RequestBody::Produce(body) => {
                let response = self.produce(&body, version);
                if body.acks == 0 {
                    return Answer::Nothing;
                }
                ResponseBody::Produce(response)
            }
            RequestBody::Fetch(_) => {
                return Answer::Close(
                    "the sink lists Fetch for librdkafka's sake but serves no consumer".to_string(),
                )
            }
            other => {
                return Answer::Close(format!("{:?} is not served by the sink", other.api_key()))
            }
        };
        match encode_response(&request.header, &body) {
            Ok(frame) => Answer::Frame(frame),
            Err(error) => Answer::Close(error.to_string()),
        }
    }

    fn metadata(
        &self,
        request: &MetadataRequest,
        version: i16,
        local: SocketAddr,
    ) -> MetadataResponse {
        let node = BrokerId(SINK_NODE_ID);
        let broker = metadata_response::MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(StrBytes::from_string(local.ip().to_string()))
            .with_port(i32::from(local.port()));
        let partitions: Vec<_> = (0..self.partitions)
            .map(|index| {
                let partition = metadata_response::MetadataResponsePartition::default()
                    .with_partition_index(index)
                    .with_leader_id(node)
                    .with_replica_nodes(vec![node])
                    .with_isr_nodes(vec![node]);
                if version >= 7 {
                    partition.with_leader_epoch(0)
                } else {
                    partition
                }
            })
            .collect();
        // A request for all topics (null, or empty before v1) lists none: the sink keeps no
        // topics, it only says yes to the ones it is asked about.
        let topics = request
            .topics
            .iter()
            .flatten()
            .map(|topic| match &topic.name {
                Some(name) => metadata_response::MetadataResponseTopic::default()
                    .with_name(Some(name.clone()))
                    .with_partitions(partitions.clone()),
                // A lookup by topic id: the sink gives topics no ids.
                None => metadata_response::MetadataResponseTopic::default()
                    .with_error_code(ErrorCode::UnknownTopicId.code())
                    .with_topic_id(topic.topic_id),
            })
            .collect();
        let mut response = MetadataResponse::default()
            .with_brokers(vec![broker])
            .with_topics(topics);
        if version >= 1 {
            response.controller_id = node;
        }
        if version >= 2 {
            response.cluster_id = Some(StrBytes::from_static_str("sluice-bench-sink"));
        }
        response
    }

    fn produce(&self, request: &ProduceRequest, version: i16) -> ProduceResponse {
        let mut next_offsets = self.next_offsets.lock().expect("no panics under the lock");
        let responses = request
            .topic_data
            .iter()
            .map(|topic| {
                let partition_responses = topic
                    .partition_data
                    .iter()
                    .map(|data| {
                        // Kafka answers -1 as the base offset of a partition it refuses.
                        let mut response = produce_response::PartitionProduceResponse::default()
                            .with_index(data.index)
                            .with_base_offset(-1);
                        if version >= 5 {
                            response.log_start_offset = 0;
                        }
                        if !(0..self.partitions).contains(&data.index) {
                            return response
                                .with_error_code(ErrorCode::UnknownTopicOrPartition.code());
                        }
                        let Some(count) = declared_records(data.records.as_deref().unwrap_or(&[]))
                        else {
                            return response.with_error_code(ErrorCode::CorruptMessage.code());
                        };
                        let offsets = match next_offsets.get_mut(topic.name.0.as_str()) {
                            Some(offsets) => offsets,
                            None => next_offsets
                                .entry(topic.name.0.to_string())
                                .or_insert_with(|| vec![0; self.partitions as usize]),
                        };
                        let next = &mut offsets[data.index as usize];
                        let base_offset = *next;
                        *next += count;
                        response.with_base_offset(base_offset)
                    })
                    .collect();
                produce_response::TopicProduceResponse::default()
                    .with_name(topic.name.clone())
                    .with_partition_responses(partition_responses)
            })
            .collect();
        ProduceResponse::default().with_responses(responses)
    }
}

/// The offsets a partition's record bytes take: for each RecordBatch v2, its last offset delta
/// plus one, read from the fixed header alone (no CRC check, no decompression). `None` when
/// the bytes are not whole batches.
fn declared_records(mut records: &[u8]) -> Option<i64> {
    let mut count = 0i64;
    while !records.is_empty() {
        let header = BatchHeader::parse(records).ok()?;
        count += i64::from(header.last_offset_delta) + 1;
        records = records.get(header.total_bytes()..)?;
    }
    Some(count)
}

/// Serves one connection: every request read is answered at once, in order, and the answers
/// to what one read brought in go out in one write.
async fn serve_connection(stream: TcpStream, sink: Arc<Sink>) {
    // Produce answers are small and a client waits on them to free its in-flight slots.
    let _ = stream.set_nodelay(true);
    let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut decoder = FrameDecoder::new(REQUEST_BYTES_MAX_DEFAULT);
    let mut out = Vec::new();
    loop {
        let mut close = None;
        loop {
            match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(frame)) => match sink.answer(frame, local) {
                    Answer::Frame(frame) => out.extend_from_slice(&frame),
                    Answer::Nothing => {}
                    Answer::Close(reason) => {
                        close = Some(reason);
                        break;
                    }
                },
                Err(error) => {
                    close = Some(error.to_string());
                    break;
                }
            }
        }
        if !out.is_empty() {
            if writer.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if let Some(reason) = close {
            tracing::warn!(%peer, reason, "closing");
            let _ = writer.shutdown().await;
            return;
        }
        // Straight into the frame's buffer, as the broker's connections read.
        match reader.read_buf(decoder.read_buffer(READ_CHUNK_BYTES)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::BytesMut;
    use sluice_core::record::{Compression, RecordBatchBuilder};
    use sluice_net::client::{decode_response, encode_request};
    use sluice_net::kafka_protocol::messages::{
        metadata_request, produce_request, ApiVersionsRequest, FetchRequest, TopicName,
    };

    use super::*;

    fn words(words: &[&str]) -> Result<SinkOptions, CliError> {
        let args: Vec<String> = words.iter().map(|word| word.to_string()).collect();
        SinkOptions::parse(&args)
    }

    #[test]
    fn sink_flags() {
        assert_eq!(words(&[]).unwrap(), SinkOptions::default());
        assert_eq!(
            words(&["--listen", "0.0.0.0:9000", "--partitions=4"]).unwrap(),
            SinkOptions {
                listen: "0.0.0.0:9000".to_string(),
                partitions: 4
            }
        );
        for bad in [
            &["--partitions", "0"][..],
            &["--partitions", "x"],
            &["--partitions", "9999999999"],
            &["--listen"],
            &["--nope", "1"],
        ] {
            assert!(matches!(words(bad), Err(CliError::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn batches_are_counted_from_their_headers() {
        let batch = |count: usize| {
            let mut builder = RecordBatchBuilder::new(Compression::None);
            for _ in 0..count {
                builder.append(0, None, Some(b"value"), &[]);
            }
            builder.build()
        };
        let mut two = batch(3);
        two.extend_from_slice(&batch(2));
        assert_eq!(declared_records(&two), Some(5));
        assert_eq!(declared_records(&[]), Some(0));
        assert_eq!(declared_records(&two[..two.len() - 1]), None);
        assert_eq!(declared_records(&[0; 10]), None);
    }

    /// A client on a real socket, using the crate's own client codec.
    struct Client {
        stream: TcpStream,
        correlation_id: i32,
    }

    impl Client {
        async fn send(&mut self, version: i16, body: RequestBody) -> i32 {
            self.correlation_id += 1;
            let frame = encode_request(self.correlation_id, "sink-test", version, &body).unwrap();
            self.stream.write_all(&frame).await.unwrap();
            self.correlation_id
        }

        /// The next answer's frame, size prefix removed; `None` once the sink has closed.
        async fn frame(&mut self) -> Option<Bytes> {
            let mut prefix = [0; 4];
            self.stream.read_exact(&mut prefix).await.ok()?;
            let mut frame = BytesMut::zeroed(i32::from_be_bytes(prefix) as usize);
            self.stream.read_exact(&mut frame).await.unwrap();
            Some(frame.freeze())
        }

        async fn call(&mut self, version: i16, body: RequestBody) -> ResponseBody {
            let api_key = body.api_key();
            let sent = self.send(version, body).await;
            let frame = self.frame().await.expect("an answer");
            let (correlation_id, body) = decode_response(api_key, version, frame).unwrap();
            assert_eq!(correlation_id, sent);
            body
        }
    }

    fn produce(acks: i16, topic: &str, partition: i32, records: &[usize]) -> RequestBody {
        let mut bytes = Vec::new();
        for &count in records {
            let mut builder = RecordBatchBuilder::new(Compression::None);
            for _ in 0..count {
                builder.append(0, None, Some(&[7; 200]), &[]);
            }
            bytes.extend_from_slice(&builder.build());
        }
        let data = produce_request::PartitionProduceData::default()
            .with_index(partition)
            .with_records(Some(Bytes::from(bytes)));
        let topic = produce_request::TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![data]);
        RequestBody::Produce(
            ProduceRequest::default()
                .with_acks(acks)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![topic]),
        )
    }

    /// (error code, base offset) of the one partition of a Produce answer.
    fn produced(body: ResponseBody) -> (i16, i64) {
        let ResponseBody::Produce(body) = body else {
            panic!("{body:?}")
        };
        let partition = &body.responses[0].partition_responses[0];
        (partition.error_code, partition.base_offset)
    }

    async fn exercise_sink() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, 3));
        let mut client = Client {
            stream: TcpStream::connect(address).await.unwrap(),
            correlation_id: 0,
        };

        let versions = ApiVersionsRequest::default();
        let ResponseBody::ApiVersions(versions) =
            client.call(3, RequestBody::ApiVersions(versions)).await
        else {
            panic!("not an ApiVersions answer")
        };
        assert_eq!(versions.error_code, 0);
        let listed: Vec<(i16, i16, i16)> = versions
            .api_keys
            .iter()
            .map(|row| (row.api_key, row.min_version, row.max_version))
            .collect();
        // Fetch is listed (librdkafka's RecordBatch v2 depends on it) but not answered.
        assert_eq!(listed, vec![(0, 3, 11), (1, 4, 12), (3, 0, 12), (18, 0, 4)]);

        let topic = metadata_request::MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("bench"))));
        let metadata = MetadataRequest::default().with_topics(Some(vec![topic]));
        for version in [1, 9, 12] {
            let ResponseBody::Metadata(answer) = client
                .call(version, RequestBody::Metadata(metadata.clone()))
                .await
            else {
                panic!("not a Metadata answer")
            };
            assert_eq!(answer.brokers.len(), 1);
            assert_eq!(answer.brokers[0].host.as_str(), "127.0.0.1");
            assert_eq!(answer.brokers[0].port, i32::from(address.port()));
            assert_eq!(answer.controller_id, BrokerId(SINK_NODE_ID));
            let topic = &answer.topics[0];
            assert_eq!(topic.error_code, 0);
            assert_eq!(topic.name.as_ref().unwrap().0.as_str(), "bench");
            let leaders: Vec<(i32, i32)> = topic
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.leader_id.0))
                .collect();
            assert_eq!(leaders, vec![(0, 0), (1, 0), (2, 0)], "v{version}");
        }

        // Offsets grow per partition by the records of every batch.
        assert_eq!(
            produced(client.call(9, produce(1, "bench", 1, &[3, 2])).await),
            (0, 0)
        );
        assert_eq!(
            produced(client.call(11, produce(-1, "bench", 1, &[4])).await),
            (0, 5)
        );
        assert_eq!(
            produced(client.call(3, produce(1, "bench", 0, &[1])).await),
            (0, 0)
        );
        assert_eq!(
            produced(client.call(9, produce(1, "bench", 3, &[1])).await),
            (ErrorCode::UnknownTopicOrPartition.code(), -1)
        );

        // acks=0 is not answered: the next answer is the next request's, and its offsets
        // include the unanswered batch.
        client.send(9, produce(0, "bench", 1, &[10])).await;
        assert_eq!(
            produced(client.call(9, produce(1, "bench", 1, &[1])).await),
            (0, 19)
        );

        // Fetch, listed but not answered, closes the connection.
        client
            .send(12, RequestBody::Fetch(FetchRequest::default()))
            .await;
        assert_eq!(client.frame().await, None);
    }

    #[test]
    fn sink_answers_a_client_over_tcp() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), exercise_sink())
                .await
                .expect("the sink answered in time")
        });
    }
}
