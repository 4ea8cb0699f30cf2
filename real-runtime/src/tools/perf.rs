//! `sluice bench produce|consume`: kafka-producer-perf-test and kafka-consumer-perf-test over
//! the `sluice` client. Both print records/s and MB/s (MB = 10^6 bytes, as Kafka's tools);
//! produce adds the latency from `send` to acknowledgement (avg, p50, p99, p99.9, max).

use std::time::{Duration, Instant};

use sluice_core::client::{
    ConsumedRecord, ConsumerConfig, OffsetResetPolicy, ProducerConfig, SendOutcome,
};

use super::admin;
use super::consume::partitions_of;
use super::flags::{bootstrap_servers, Flags, Kind};
use super::produce::parse_acks;
use crate::cli::CliError;
use crate::client::{Consumed, ConsumerSession, ProducerSession};

const PRODUCE_FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--num-records", Kind::Value),
    ("--record-size", Kind::Value),
    ("--throughput", Kind::Value),
    ("--acks", Kind::Value),
    ("--batch-size", Kind::Value),
    ("--linger-ms", Kind::Value),
];

const CONSUME_FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--num-records", Kind::Value),
    ("--timeout-ms", Kind::Value),
    ("--group", Kind::Value),
];

const END_TO_END_FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--num-records", Kind::Value),
    ("--record-size", Kind::Value),
    ("--throughput", Kind::Value),
    ("--acks", Kind::Value),
];

const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";
const DEFAULT_TOPIC: &str = "sluice-bench";

/// Bytes of records queued in the producer before sending waits (Kafka's `buffer.memory`).
const BUFFER_MEMORY: usize = 64 << 20;

/// Runs `sluice bench produce <args>`.
pub fn produce(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, PRODUCE_FLAGS)?;
    let bootstrap = bootstrap_or_default(&flags)?;
    let topic = flags.value("--topic").unwrap_or(DEFAULT_TOPIC).to_string();
    let records: u64 = flags.number("--num-records", 1_000_000)?;
    let size: usize = flags.number("--record-size", 1024)?;
    let throughput: f64 = flags.number("--throughput", -1.0)?;
    let config = ProducerConfig {
        acks: parse_acks(flags.value("--acks").unwrap_or("all"))?,
        batch_size: flags.number("--batch-size", 256 * 1024)?,
        linger_ms: flags.number("--linger-ms", 5)?,
        allow_auto_topic_creation: true,
        ..ProducerConfig::default()
    };
    // Idempotent under acks=all, as Kafka's producer is by default.
    let config = ProducerConfig {
        enable_idempotence: config.acks == -1,
        ..config
    };
    if records == 0 || size == 0 {
        return Err(CliError::Usage(
            "--num-records and --record-size must be positive".into(),
        ));
    }
    // Printable bytes that do not compress to nothing, drawn once as Kafka's tool does.
    let payload: Vec<u8> = (0..size)
        .map(|i| b'A' + ((i * 7 + i / 26) % 26) as u8)
        .collect();
    let pending_max = (BUFFER_MEMORY / size).max(1);
    admin::runtime()?.block_on(async move {
        // An unreachable broker is reported at once rather than after the delivery timeout.
        admin::connect(&bootstrap).await?;
        let mut session = ProducerSession::new(&bootstrap, config);
        let mut sent_at: Vec<Instant> = Vec::with_capacity(records as usize);
        let mut latencies: Vec<Duration> = Vec::with_capacity(records as usize);
        let mut failed = 0u64;
        let mut first_error = None;
        let start = Instant::now();
        let mut note = |outcomes: Vec<(u64, SendOutcome)>, sent_at: &[Instant]| {
            let now = Instant::now();
            for (token, outcome) in outcomes {
                match outcome {
                    SendOutcome::Ok { .. } => latencies.push(now - sent_at[token as usize]),
                    SendOutcome::Err { error, .. } => {
                        failed += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
        };
        for token in 0..records {
            if throughput > 0.0 {
                let due = start + Duration::from_secs_f64(token as f64 / throughput);
                while Instant::now() < due {
                    tokio::select! {
                        outcomes = session.completions(), if session.pending() > 0 => note(outcomes, &sent_at),
                        _ = tokio::time::sleep_until(due.into()) => {}
                    }
                }
            }
            sent_at.push(Instant::now());
            session.send(&topic, None, payload.clone(), token);
            while session.pending() >= pending_max {
                note(session.completions().await, &sent_at);
            }
        }
        while session.pending() > 0 {
            note(session.completions().await, &sent_at);
        }
        let elapsed = start.elapsed();
        if let Some(error) = first_error {
            eprintln!("{failed} of {records} records failed; first error {error}");
        }
        report(records - failed, size, elapsed);
        print_latencies(&mut latencies);
        Ok(())
    })
}

/// Runs `sluice bench consume <args>`.
pub fn consume(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, CONSUME_FLAGS)?;
    let bootstrap = bootstrap_or_default(&flags)?;
    let topic = flags.value("--topic").unwrap_or(DEFAULT_TOPIC).to_string();
    let records: u64 = flags.number("--num-records", 1_000_000)?;
    let idle = Duration::from_millis(flags.number("--timeout-ms", 10_000)?);
    if let Some(group) = flags.value("--group") {
        return super::group_perf::consume(bootstrap, topic, group.to_string(), records, idle);
    }
    admin::runtime()?.block_on(async move {
        let partitions = partitions_of(&bootstrap, &topic).await?;
        let config = ConsumerConfig {
            auto_offset_reset: OffsetResetPolicy::Earliest,
            ..ConsumerConfig::default()
        };
        let mut session = ConsumerSession::new(&bootstrap, config, partitions);
        let start = Instant::now();
        let mut read = 0u64;
        let mut bytes = 0usize;
        let mut last = start;
        while read < records {
            let Ok(batch) = tokio::time::timeout(idle, session.poll()).await else {
                eprintln!(
                    "no record for {} ms: stopping at {read} of {records}",
                    idle.as_millis()
                );
                break;
            };
            for consumed in batch {
                match consumed {
                    Consumed::Records(_, batch) => {
                        read += batch.len() as u64;
                        bytes += payload_bytes(&batch);
                    }
                    Consumed::Error(partition, error) => {
                        return Err(CliError::Failed(format!(
                            "cannot read {}-{}: {error:?}",
                            partition.topic, partition.partition
                        )))
                    }
                }
            }
            last = Instant::now();
        }
        let elapsed = last - start;
        let seconds = elapsed.as_secs_f64().max(1e-9);
        out!(
            "{read} records read in {:.3} s: {:.0} records/s, {:.1} MB/s",
            seconds,
            read as f64 / seconds,
            bytes as f64 / seconds / 1e6
        );
        Ok(())
    })
}

/// Runs `sluice bench end-to-end <args>`: one producer sends at `--throughput` records/s
/// while a consumer in the same process reads the topic from its end; each record's latency
/// runs from its `send` to the consumer handing it over (Kafka's EndToEndLatency tool).
pub fn end_to_end(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, END_TO_END_FLAGS)?;
    let bootstrap = bootstrap_or_default(&flags)?;
    let topic = flags
        .value("--topic")
        .unwrap_or("sluice-bench-e2e")
        .to_string();
    let records: u64 = flags.number("--num-records", 50_000)?;
    let size: usize = flags.number("--record-size", 200)?;
    let throughput: f64 = flags.number("--throughput", 5_000.0)?;
    let acks = parse_acks(flags.value("--acks").unwrap_or("1"))?;
    if records == 0 || size < 8 || throughput <= 0.0 {
        return Err(CliError::Usage(
            "--num-records and --throughput must be positive, --record-size at least 8".into(),
        ));
    }
    let config = ProducerConfig {
        acks,
        linger_ms: 0,
        allow_auto_topic_creation: true,
        ..ProducerConfig::default()
    };
    admin::runtime()?.block_on(async move {
        admin::connect(&bootstrap).await?;
        let mut producer = ProducerSession::new(&bootstrap, config);
        // One record first, so the topic exists before the consumer looks for its partitions.
        producer.send(&topic, None, vec![0; size], u64::MAX);
        for (_, outcome) in producer.completions().await {
            if let SendOutcome::Err { error, .. } = outcome {
                return Err(CliError::Failed(format!(
                    "cannot produce to {topic}: {error}"
                )));
            }
        }
        let partitions = partitions_of(&bootstrap, &topic).await?;
        let config = ConsumerConfig {
            auto_offset_reset: OffsetResetPolicy::Latest,
            fetch_max_wait_ms: 500,
            ..ConsumerConfig::default()
        };
        let mut consumer = ConsumerSession::new(&bootstrap, config, partitions);
        // Records sent before the consumer knows where the end is would be skipped.
        consumer.wait_for_positions().await;
        let start = Instant::now();
        let sent_at = std::cell::RefCell::new(vec![start; records as usize]);
        let producing = async {
            for sequence in 0..records {
                let due = start + Duration::from_secs_f64(sequence as f64 / throughput);
                while Instant::now() < due {
                    tokio::select! {
                        _ = producer.completions(), if producer.pending() > 0 => {}
                        _ = tokio::time::sleep_until(due.into()) => {}
                    }
                }
                let mut value = vec![0u8; size];
                value[..8].copy_from_slice(&sequence.to_be_bytes());
                sent_at.borrow_mut()[sequence as usize] = Instant::now();
                producer.send(&topic, None, value, sequence);
            }
            while producer.pending() > 0 {
                producer.completions().await;
            }
        };
        let consuming = async {
            let mut latencies = Vec::with_capacity(records as usize);
            while (latencies.len() as u64) < records {
                let polled = tokio::time::timeout(Duration::from_secs(30), consumer.poll()).await;
                let Ok(batch) = polled else { break };
                let now = Instant::now();
                for consumed in batch {
                    let Consumed::Records(_, batch) = consumed else {
                        continue;
                    };
                    for record in batch {
                        let value = record.value.unwrap_or_default();
                        let Some(sequence) = value.get(..8) else {
                            continue;
                        };
                        let sequence = u64::from_be_bytes(sequence.try_into().unwrap_or_default());
                        if let Some(sent) = sent_at.borrow().get(sequence as usize) {
                            latencies.push(now - *sent);
                        }
                    }
                }
            }
            latencies
        };
        let ((), mut latencies) = tokio::join!(producing, consuming);
        if (latencies.len() as u64) < records {
            eprintln!("only {} of {records} records came through", latencies.len());
        }
        out!("end-to-end, {records} records of {size} bytes at {throughput} records/s:");
        print_latencies(&mut latencies);
        Ok(())
    })
}

/// `--bootstrap-server`, or the single node the README starts.
fn bootstrap_or_default(flags: &Flags) -> Result<Vec<(String, u16)>, CliError> {
    bootstrap_servers(
        flags
            .value("--bootstrap-server")
            .unwrap_or(DEFAULT_BOOTSTRAP),
    )
}

/// The key and value bytes of `records`, which kafka-consumer-perf-test's MB count.
pub(super) fn payload_bytes(records: &[ConsumedRecord]) -> usize {
    let payload = |record: &ConsumedRecord| {
        record.value.as_ref().map_or(0, Vec::len) + record.key.as_ref().map_or(0, Vec::len)
    };
    records.iter().map(payload).sum()
}

fn report(records: u64, size: usize, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    out!(
        "{records} records sent in {seconds:.3} s: {:.0} records/s, {:.1} MB/s",
        records as f64 / seconds,
        (records as f64 * size as f64) / seconds / 1e6
    );
}

fn print_latencies(latencies: &mut [Duration]) {
    if latencies.is_empty() {
        return;
    }
    latencies.sort_unstable();
    let at = |fraction: f64| {
        let index = ((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len());
        latencies[index - 1].as_secs_f64() * 1e3
    };
    let average = latencies.iter().map(Duration::as_secs_f64).sum::<f64>() / latencies.len() as f64;
    out!(
        "latency ms: avg {:.2}, p50 {:.2}, p99 {:.2}, p99.9 {:.2}, max {:.2}",
        average * 1e3,
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}
