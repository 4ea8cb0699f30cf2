//! `sluice bench consume --group G`: kafka-consumer-perf-test with its group. One member of
//! group G (core's `GroupConsumer`) subscribes to the topic, starts at the group's committed
//! offsets (earliest without one, as the perf test's consumer) and reads N records. It prints
//! records/s and MB/s over the whole run, then the time to its first assignment (Kafka's
//! `rebalance.time.ms`) and the reading after it (`fetch.time.ms`, with its own rates); on
//! close it commits its position and leaves the group.

use std::time::{Duration, Instant};

use sluice_core::client::{GroupConsumerConfig, OffsetResetPolicy};

use super::admin;
use super::group_consume::close;
use super::perf::payload_bytes;
use crate::cli::CliError;
use crate::client::{Consumed, GroupEvent, GroupSession};

/// Reads `records` records of `topic` as a member of `group`; stops after `idle` without one.
pub fn consume(
    bootstrap: Vec<(String, u16)>,
    topic: String,
    group: String,
    records: u64,
    idle: Duration,
) -> Result<(), CliError> {
    let mut config = GroupConsumerConfig::new(group.clone());
    config.client_id = "sluice-perf-consumer".to_string();
    config.consumer.auto_offset_reset = OffsetResetPolicy::Earliest;
    admin::runtime()?.block_on(async move {
        admin::connect(&bootstrap).await?;
        let start = Instant::now();
        let mut session = GroupSession::new(&bootstrap, config, vec![topic]);
        let mut assigned_at = None;
        let (mut read, mut bytes) = (0u64, 0usize);
        let mut last = start;
        let outcome = loop {
            if read >= records {
                break Ok(());
            }
            let Ok(events) = tokio::time::timeout(idle, session.poll()).await else {
                eprintln!(
                    "no record for {} ms: stopping at {read} of {records}",
                    idle.as_millis()
                );
                break Ok(());
            };
            for event in events {
                match event {
                    GroupEvent::Assigned(_) => {
                        assigned_at.get_or_insert_with(Instant::now);
                    }
                    GroupEvent::Consumed(Consumed::Records(_, batch)) => {
                        read += batch.len() as u64;
                        bytes += payload_bytes(&batch);
                        last = Instant::now();
                    }
                    GroupEvent::Consumed(Consumed::Error(partition, error)) => {
                        let why = format!(
                            "cannot read {}-{}: {error:?}",
                            partition.topic, partition.partition
                        );
                        return Err(CliError::Failed(why));
                    }
                    GroupEvent::Failed(error) => {
                        return Err(CliError::Failed(format!("group '{group}': {error:?}")));
                    }
                    GroupEvent::Error(_) | GroupEvent::Committed(_) | GroupEvent::Closed => {}
                }
            }
        };
        close(&mut session).await;
        outcome?;
        let rate = |elapsed: Duration| {
            let seconds = elapsed.as_secs_f64().max(1e-9);
            (seconds, read as f64 / seconds, bytes as f64 / seconds / 1e6)
        };
        let (seconds, per_second, mb) = rate(last - start);
        out!("{read} records read in {seconds:.3} s: {per_second:.0} records/s, {mb:.1} MB/s");
        if let Some(assigned) = assigned_at {
            let rebalance = assigned - start;
            let (fetch, per_second, mb) = rate(last.max(assigned) - assigned);
            out!(
                "rebalance.time.ms {} fetch.time.ms {:.0}: {per_second:.0} records/s, {mb:.1} MB/s",
                rebalance.as_millis(),
                fetch * 1e3
            );
        }
        Ok(())
    })
}
