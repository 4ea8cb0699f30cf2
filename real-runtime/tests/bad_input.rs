//! Bad input to a running broker loses nothing: a batch whose CRC does not match gets
//! CORRUPT_MESSAGE; a frame over `socket.request.max.bytes`, a negative size, an unknown API
//! key and a body that does not decode close the connection. Afterwards the log holds exactly
//! the records acknowledged before, and the next good batch lands right after them.

mod support;

use std::time::Duration;

use bytes::Bytes;
use sluice::client::Connection;
use sluice::transport::TokioConnector;
use sluice_core::record::{Compression, RecordBatchBuilder};
use sluice_net::kafka_protocol::messages::{
    metadata_request, produce_request, MetadataRequest, ProduceRequest, TopicName,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{fetch_partition_0, records_of, start_node};

const TOPIC: &str = "guarded";
const REQUEST_BYTES_MAX: usize = 65_536;

fn topic() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

fn batch(values: &[&str]) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for value in values {
        builder.append(1_700_000_000_000, None, Some(value.as_bytes()), &[]);
    }
    builder.build()
}

/// Produces `records` (acks=1) and returns the partition's error code and base offset.
async fn produce(connection: &mut Connection<TcpStream>, records: Vec<u8>) -> (i16, i64) {
    let partition = produce_request::PartitionProduceData::default()
        .with_index(0)
        .with_records(Some(Bytes::from(records)));
    let body = RequestBody::Produce(
        ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(5_000)
            .with_topic_data(vec![produce_request::TopicProduceData::default()
                .with_name(topic())
                .with_partition_data(vec![partition])]),
    );
    let ResponseBody::Produce(answer) = connection.call(&body).await.unwrap() else {
        panic!("not a Produce answer")
    };
    let partition = &answer.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

/// Every value in the partition, fetched from offset 0 up to the high watermark (a fetch
/// answers from one segment at a time, as Kafka's does).
async fn values(connection: &mut Connection<TcpStream>) -> Vec<String> {
    let mut values = Vec::new();
    let mut offset = 0;
    loop {
        let body = fetch_partition_0(TOPIC, offset);
        let ResponseBody::Fetch(answer) = connection.call(&body).await.unwrap() else {
            panic!("not a Fetch answer")
        };
        let partition = &answer.responses[0].partitions[0];
        assert_eq!(partition.error_code, 0);
        let bytes = partition.records.clone().unwrap_or_default();
        for (at, value) in records_of(&bytes).expect("the batches parse") {
            values.push(value);
            offset = at + 1;
        }
        if offset >= partition.high_watermark {
            return values;
        }
        assert!(!bytes.is_empty(), "no records below the high watermark");
    }
}

/// Waits until the topic, created on first use, has a leader.
async fn create_topic(connection: &mut Connection<TcpStream>) {
    for _ in 0..100 {
        let body = RequestBody::Metadata(
            MetadataRequest::default()
                .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
                )
                .with_name(Some(topic()))]))
                .with_allow_auto_topic_creation(true),
        );
        let ResponseBody::Metadata(answer) = connection.call(&body).await.unwrap() else {
            panic!("not a Metadata answer")
        };
        let led = answer.topics[0]
            .partitions
            .first()
            .is_some_and(|partition| partition.leader_id.0 >= 0);
        if led {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{TOPIC} never got a leader");
}

/// Writes `bytes` on a fresh connection and checks the broker closes it without answering.
async fn closes(address: &str, bytes: &[u8], what: &str) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
        .await
        .unwrap_or_else(|_| panic!("{what}: the connection stayed open"));
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "{what}: answered {read:?} instead of closing"
    );
}

fn header(api_key: i16, version: i16) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&api_key.to_be_bytes());
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&7i32.to_be_bytes());
    bytes.extend_from_slice(&(-1i16).to_be_bytes());
    bytes
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as i32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn bad_input_gets_errors_and_leaves_the_log_intact() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("socket.request.max.bytes={REQUEST_BYTES_MAX}\n");
    let (mut server, address) = start_node(dir.path(), &extra);
    let (host, port) = address.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut connection = Connection::open(&TokioConnector, host, port, "bad-input")
            .await
            .unwrap();
        create_topic(&mut connection).await;
        assert_eq!(
            produce(&mut connection, batch(&["one", "two"])).await,
            (0, 0)
        );

        let mut corrupt = batch(&["lost"]);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let (error, _) = produce(&mut connection, corrupt).await;
        assert_eq!(error, 2, "a bad CRC gets CORRUPT_MESSAGE");

        let mut too_big = header(18, 0);
        too_big.resize(REQUEST_BYTES_MAX + 1, 0);
        closes(
            &address,
            &framed(&too_big),
            "a frame over socket.request.max.bytes",
        )
        .await;
        closes(&address, &(-5i32).to_be_bytes(), "a negative size").await;
        closes(&address, &framed(&header(9_999, 0)), "an unknown API key").await;
        let mut garbage = header(0, 7);
        garbage.extend_from_slice(&[0xff; 9]);
        closes(
            &address,
            &framed(&garbage),
            "a Produce body that does not decode",
        )
        .await;

        assert_eq!(values(&mut connection).await, ["one", "two"]);
        assert_eq!(produce(&mut connection, batch(&["three"])).await, (0, 2));
        assert_eq!(values(&mut connection).await, ["one", "two", "three"]);
    });
    server.kill().unwrap();
    server.wait().unwrap();
}
