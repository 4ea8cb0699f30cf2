//! Three `sluice` nodes under turmoil's simulated network: the runtime's own glue (listeners,
//! the peer links and their hello, pipelined client connections, the node task's timers) runs
//! unchanged over simulated TCP, with in-memory disks and the simulation's clock. A client
//! produces with acks=all while the network partitions a node away, holds messages, and a
//! node is bounced (restarted on its disk); afterwards every acknowledged record must be
//! readable. The same seed must give the same run: a test runs one seed twice and compares
//! what the client saw, record by record.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::rand_core::SeedableRng;
use sluice::broker::{start_in, Environment};
use sluice::client::Connection;
use sluice::clock::NodeClocks;
use sluice::config::{self, ServerConfig};
use sluice::records::RecordFiles;
use sluice::server::{serve, NamedListener, ServerOptions};
use sluice::transport::{Connector, Listener};
use sluice_core::disk::{Disk, DiskError};
use sluice_core::mem_disk::MemDisk;
use sluice_core::record::{Compression, RecordBatchBuilder};
use sluice_net::kafka_protocol::messages::{
    metadata_request, produce_request, MetadataRequest, ProduceRequest, TopicName,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;
use support::{fetch_partition_0, records_of};

const NODES: [&str; 3] = ["n1", "n2", "n3"];
const TOPIC: &str = "simulated";
const RECORDS: usize = 60;

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

#[derive(Clone, Copy)]
struct SimConnector;

impl Connector for SimConnector {
    type Stream = turmoil::net::TcpStream;

    async fn connect(&self, host: &str, port: u16) -> std::io::Result<turmoil::net::TcpStream> {
        turmoil::net::TcpStream::connect((host, port)).await
    }
}

/// A node's disk, kept across bounces: a bounce restarts the process, not the machine, so
/// what it wrote is all still there.
#[derive(Clone, Default)]
struct SharedDisk(Arc<Mutex<MemDisk>>);

/// Its Fetch answers read the records: there are no files to send them from.
impl RecordFiles for SharedDisk {}

impl Disk for SharedDisk {
    fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError> {
        self.0.lock().unwrap().create_dir_all(dir)
    }
    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError> {
        self.0.lock().unwrap().list(dir)
    }
    fn create(&mut self, path: &str) -> Result<(), DiskError> {
        self.0.lock().unwrap().create(path)
    }
    fn len(&mut self, path: &str) -> Result<u64, DiskError> {
        self.0.lock().unwrap().len(path)
    }
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        self.0.lock().unwrap().read_at(path, offset, buf)
    }
    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        self.0.lock().unwrap().write_at(path, offset, data)
    }
    fn write_vectored_at(
        &mut self,
        path: &str,
        offset: u64,
        parts: &[&[u8]],
    ) -> Result<(), DiskError> {
        self.0
            .lock()
            .unwrap()
            .write_vectored_at(path, offset, parts)
    }
    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        self.0.lock().unwrap().truncate(path, len)
    }
    fn sync(&mut self, path: &str) -> Result<(), DiskError> {
        self.0.lock().unwrap().sync(path)
    }
    fn remove(&mut self, path: &str) -> Result<(), DiskError> {
        self.0.lock().unwrap().remove(path)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.0.lock().unwrap().rename(from, to)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        self.0.lock().unwrap().sync_dir(dir)
    }
}

fn overrides(id: usize) -> Vec<String> {
    let voters: Vec<String> = (1..=NODES.len())
        .map(|voter| format!("{voter}@n{voter}:9093"))
        .collect();
    [
        format!("node.id={id}"),
        "process.roles=broker,controller".to_string(),
        "listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093".to_string(),
        format!("advertised.listeners=PLAINTEXT://n{id}:9092"),
        "controller.listener.names=CONTROLLER".to_string(),
        format!("controller.quorum.voters={}", voters.join(",")),
        "log.dirs=data".to_string(),
        "num.partitions=1".to_string(),
        "default.replication.factor=3".to_string(),
        "min.insync.replicas=2".to_string(),
        "broker.heartbeat.interval.ms=500".to_string(),
        "broker.session.timeout.ms=4000".to_string(),
    ]
    .into()
}

/// One node: the binary's server and broker over turmoil's TCP and an in-memory disk.
async fn node(id: usize, disk: SharedDisk, seed: u64) -> turmoil::Result {
    let properties = config::load(None, &overrides(id))?;
    let config = ServerConfig::from_properties(&properties)?;
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for endpoint in &config.listeners {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", endpoint.port)).await?;
        bound.push((endpoint.name.clone(), listener.local_addr()?));
        listeners.push(NamedListener {
            name: endpoint.name.clone(),
            listener: SimListener(listener),
        });
    }
    let advertised = config.advertised_for(&bound);
    let environment = Environment {
        disk,
        clean: true,
        seed: seed ^ id as u64,
        clocks: NodeClocks::simulated(1_700_000_000_000),
    };
    let handler = start_in(&config, &advertised, SimConnector, environment)?;
    serve(
        listeners,
        Arc::new(handler),
        ServerOptions::default(),
        std::future::pending(),
    )
    .await;
    Ok(())
}

fn topic() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

type Client = Connection<turmoil::net::TcpStream>;

async fn connect(host: &str) -> Option<Client> {
    let opening = Connection::open(&SimConnector, host, 9092, "turmoil");
    tokio::time::timeout(Duration::from_secs(2), opening)
        .await
        .ok()?
        .ok()
}

/// A call that gives up after a while: a held or partitioned link answers nothing.
async fn call(client: &mut Client, body: RequestBody) -> Option<ResponseBody> {
    tokio::time::timeout(Duration::from_secs(3), client.call(&body))
        .await
        .ok()?
        .ok()
}

/// The leader of partition 0 and its ISR size, as `host` sees them.
async fn leader(host: &str) -> Option<(usize, usize)> {
    let mut client = connect(host).await?;
    let body = RequestBody::Metadata(
        MetadataRequest::default()
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(topic()))]))
            .with_allow_auto_topic_creation(true),
    );
    let Some(ResponseBody::Metadata(answer)) = call(&mut client, body).await else {
        return None;
    };
    let partition = answer.topics.first()?.partitions.first()?;
    let leader = usize::try_from(partition.leader_id.0).ok()?;
    Some((leader, partition.isr_nodes.len()))
}

/// Produces `value` with acks=all to partition 0's leader; the offset it was acknowledged at.
async fn produce(leader: usize, value: &str) -> Option<i64> {
    let mut client = connect(NODES[leader - 1]).await?;
    let mut builder = RecordBatchBuilder::new(Compression::None);
    builder.append(1_700_000_000_000, None, Some(value.as_bytes()), &[]);
    let partition = produce_request::PartitionProduceData::default()
        .with_index(0)
        .with_records(Some(Bytes::from(builder.build())));
    let body = RequestBody::Produce(
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(2_000)
            .with_topic_data(vec![produce_request::TopicProduceData::default()
                .with_name(topic())
                .with_partition_data(vec![partition])]),
    );
    let Some(ResponseBody::Produce(answer)) = call(&mut client, body).await else {
        return None;
    };
    let partition = answer.responses.first()?.partition_responses.first()?;
    (partition.error_code == 0).then_some(partition.base_offset)
}

/// Every (offset, value) of partition 0 up to the high watermark, from the leader.
async fn read_all(leader: usize) -> Option<Vec<(i64, String)>> {
    let mut client = connect(NODES[leader - 1]).await?;
    let mut records = Vec::new();
    let mut offset = 0;
    loop {
        let body = fetch_partition_0(TOPIC, offset);
        let Some(ResponseBody::Fetch(answer)) = call(&mut client, body).await else {
            return None;
        };
        let partition = answer.responses.first()?.partitions.first()?;
        if partition.error_code != 0 {
            return None;
        }
        let bytes = partition.records.clone().unwrap_or_default();
        for (at, value) in records_of(&bytes)? {
            records.push((at, value));
            offset = at + 1;
        }
        if offset >= partition.high_watermark {
            return Some(records);
        }
        if bytes.is_empty() {
            return None;
        }
    }
}

/// The client: produce through the faults, then read everything back. Returns its log.
async fn client(log: Arc<Mutex<Vec<String>>>) -> turmoil::Result {
    let note = |line: String| log.lock().unwrap().push(line);
    let mut current = None;
    let mut acknowledged = Vec::new();
    let mut sent = 0;
    while sent < RECORDS {
        if current.is_none() {
            for host in NODES {
                if let Some((leader, isr)) = leader(host).await {
                    if isr >= 2 {
                        current = Some(leader);
                        break;
                    }
                }
            }
        }
        let Some(leader) = current else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let value = format!("r{sent:03}");
        match produce(leader, &value).await {
            Some(offset) => {
                note(format!("acked {value} at {offset} by n{leader}"));
                acknowledged.push(value);
                sent += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            None => {
                note(format!("{value} not acknowledged by n{leader}"));
                current = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // Reads from whichever node leads once the faults are over.
    for _ in 0..100 {
        let mut leaders = Vec::new();
        for host in NODES {
            leaders.extend(leader(host).await.map(|(leader, _)| leader));
        }
        if let Some(&leader) = leaders.first() {
            if let Some(records) = read_all(leader).await {
                let values: Vec<&str> = records.iter().map(|(_, value)| value.as_str()).collect();
                if acknowledged
                    .iter()
                    .all(|value| values.contains(&value.as_str()))
                {
                    note(format!("read {} records from n{leader}", records.len()));
                    for (offset, value) in &records {
                        note(format!("{offset} {value}"));
                    }
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err("acknowledged records never became readable".into())
}

/// Runs the cluster and the client under faults drawn from `seed`; returns the client's log.
fn run(seed: u64) -> Result<Vec<String>, String> {
    let rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(180))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(5))
        .build_with_rng(Box::new(rng));
    for (index, name) in NODES.iter().enumerate() {
        let disk = SharedDisk::default();
        sim.host(*name, move || node(index + 1, disk.clone(), seed));
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let client_log = Arc::clone(&log);
    sim.client("client", client(client_log));
    // The faults, at fixed simulated times, on nodes the seed picks.
    let victim = NODES[(seed % 3) as usize];
    let other = NODES[((seed + 1) % 3) as usize];
    let mut step = 0u64;
    loop {
        let elapsed = sim.elapsed();
        match (step, elapsed.as_secs()) {
            (0, 12..) => {
                sim.partition(victim, other);
                step = 1;
            }
            (1, 16..) => {
                sim.repair(victim, other);
                sim.hold(victim, "client");
                step = 2;
            }
            (2, 18..) => {
                sim.release(victim, "client");
                sim.bounce(victim);
                step = 3;
            }
            _ => {}
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                let log = log.lock().unwrap();
                return Err(format!("{error}\nclient log: {log:#?}"));
            }
        }
    }
    let log = log.lock().unwrap().clone();
    Ok(log)
}

#[test]
fn three_nodes_keep_acknowledged_records_through_partitions_holds_and_a_bounce() {
    let log = run(7).unwrap_or_else(|error| panic!("{error}"));
    assert!(log.iter().any(|line| line.starts_with("read ")), "{log:#?}");
    // The bounce of the node the seed picks (the leader, for this seed) moved leadership.
    assert!(log.iter().any(|line| line.ends_with("by n1")), "{log:#?}");
    assert!(log.iter().any(|line| line.ends_with("by n2")), "{log:#?}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let first = run(11).unwrap_or_else(|error| panic!("{error}"));
    let second = run(11).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(first, second);
}
