//! A held fetch is answered by the input that changes its answer on the paths besides the high
//! watermark's moves (for those see
//! `a_held_fetch_is_answered_by_the_input_that_makes_its_records_readable`): the log start
//! passing it (retention, DeleteRecords), the replica going offline, and a topic config that
//! lets the high watermark move. No timer runs in these tests unless one is run by hand, so an
//! answer left for the fetch's deadline never comes.
//!
//! A held fetch below the high watermark is one that wants more bytes than there are
//! (`fetch.min.bytes` above one): with one byte, any record below the high watermark answers
//! it at once, and neither retention nor DeleteRecords moves the log start past the high
//! watermark.

use super::*;
use crate::api::{AdminRequest, DeleteRecordsRequest};
use crate::controller::CONFIG_RESOURCE_TOPIC;

/// More than any of these tests produces.
const MANY_BYTES: i32 = 1 << 20;

impl Cluster {
    /// Changes the log settings of every replica.
    fn set_log_config(&mut self, change: impl Fn(&mut crate::log::LogConfig)) {
        for node in &mut self.nodes {
            for partition in node.manager.partitions.values_mut() {
                let mut log = partition.log.config().clone();
                change(&mut log);
                partition.log.set_config(log).unwrap();
            }
        }
    }

    /// Runs `broker`'s timeout now, whatever it waits for, and collects the outputs.
    fn timeout(&mut self, broker: BrokerId) {
        let node = &mut self.nodes[broker as usize];
        node.manager
            .handle_timeout(self.now, 0, &mut node.disk, &self.image);
        self.deliver();
    }

    /// One replica of three batches, one per segment, every one committed. Its syncs and
    /// replaces are held from here on: a retention run or a DeleteRecords asks for both, and
    /// their completions (another input, in a real driver) would wake the held fetches too.
    fn three_segments() -> Cluster {
        let mut cluster = Cluster::new(1, 1);
        cluster.timers = false;
        cluster.set_log_config(|log| log.segment_bytes = 100);
        for value in ["a", "b", "c"] {
            let produced = cluster.produce(0, 1, &[value]);
            assert_eq!(cluster.produce_error(produced), Some(ErrorCode::None));
        }
        assert_eq!(cluster.hw(0), 3);
        let log = &cluster.nodes[0].manager.partitions[&(TOPIC_ID, 0)].log;
        assert_eq!(log.segment_count(), 3);
        cluster.held_syncs = Some(Vec::new());
        cluster
    }
}

/// Retention drops the segments a consumer waits in: it hears OFFSET_OUT_OF_RANGE from the
/// retention run, not 500 ms later at its deadline, and resets its offset that much sooner.
#[test]
fn retention_past_a_held_fetch_answers_it_out_of_range_at_once() {
    let mut cluster = Cluster::three_segments();
    let fetch = cluster.request(0, fetch_waiting_for(0, MANY_BYTES));
    assert_eq!(cluster.fetched(fetch), None, "fewer bytes than it wants");
    cluster.set_log_config(|log| log.retention_bytes = 0);
    cluster.nodes[0].manager.next_retention_check = Some(cluster.now);
    cluster.timeout(0);
    let log_start = cluster.nodes[0].manager.partitions[&(TOPIC_ID, 0)]
        .log
        .log_start_offset();
    assert!(log_start > 0, "retention ran");
    let answer = cluster
        .fetched(fetch)
        .expect("answered by the retention run");
    assert_eq!(answer.error, ErrorCode::OffsetOutOfRange);
    assert_eq!(answer.log_start_offset, log_start);
}

/// DeleteRecords past a held fetch answers it at once. The fetch's answer does not wait for
/// the checkpoint that makes the new log start durable, as DeleteRecords' own answer does: a
/// fetch arriving now is refused below the new start without waiting either, and a crash
/// before the checkpoint only gives back records the consumer may read again.
#[test]
fn delete_records_past_a_held_fetch_answers_it_out_of_range_at_once() {
    let mut cluster = Cluster::three_segments();
    let fetch = cluster.request(0, fetch_waiting_for(0, MANY_BYTES));
    assert_eq!(cluster.fetched(fetch), None, "fewer bytes than it wants");
    let delete = DeleteRecordsRequest {
        partitions: vec![(tp(), 2)],
    };
    let deleted = cluster.request(0, Request::Admin(AdminRequest::DeleteRecords(delete)));
    assert!(
        cluster.after(deleted).is_some(),
        "DeleteRecords is answered once its checkpoint is durable"
    );
    let answer = cluster
        .fetched(fetch)
        .expect("answered by the DeleteRecords");
    assert_eq!(answer.error, ErrorCode::OffsetOutOfRange);
    assert_eq!(answer.log_start_offset, 2);
    assert_eq!(cluster.after(fetch), None);
}

/// A produce whose write fails takes the replica offline: the fetches held on it hear
/// KAFKA_STORAGE_ERROR from that produce, and look for the partition elsewhere.
#[test]
fn a_failed_append_answers_the_held_fetches_of_its_replica() {
    let mut cluster = Cluster::new(1, 1);
    cluster.timers = false;
    let fetch = cluster.request(0, waiting_fetch(0));
    assert_eq!(cluster.fetched(fetch), None, "nothing to read yet");
    cluster.nodes[0].disk.broken = true;
    let produced = cluster.produce(0, 1, &["a"]);
    assert_eq!(
        cluster.produce_error(produced),
        Some(ErrorCode::KafkaStorageError)
    );
    let answer = cluster.fetched(fetch).expect("answered by the produce");
    assert_eq!(answer.error, ErrorCode::KafkaStorageError);
}

/// A fetch whose read fails takes the replica offline: the other fetches held on it hear so
/// from that fetch.
#[test]
fn a_failed_read_answers_the_other_held_fetches_of_its_replica() {
    let mut cluster = Cluster::new(1, 1);
    cluster.timers = false;
    cluster.produce(0, 1, &["a"]);
    let held = cluster.request(0, fetch_waiting_for(0, MANY_BYTES));
    assert_eq!(cluster.fetched(held), None, "fewer bytes than it wants");
    cluster.nodes[0].disk.broken = true;
    let failed = cluster.request(0, waiting_fetch(0));
    let answer = cluster.fetched(failed).expect("its read failed");
    assert_eq!(answer.error, ErrorCode::KafkaStorageError);
    let answer = cluster.fetched(held).expect("answered by the failed read");
    assert_eq!(answer.error, ErrorCode::KafkaStorageError);
}

/// A checkpoint replace that fails takes the replica offline: the fetches held on it hear so
/// from the replace's completion.
#[test]
fn a_failed_checkpoint_answers_the_held_fetches_of_its_replica() {
    let mut cluster = Cluster::holding_syncs(1, Durability::PageCache, i64::MAX);
    cluster.timers = false;
    // Its flush stays under way, so the replace's completion starts none (a flush that would
    // find the replica offline).
    cluster.produce(0, 1, &["a"]);
    assert_eq!(cluster.held_sync_ids().len(), 1);
    let fetch = cluster.request(0, waiting_fetch(1));
    assert_eq!(cluster.fetched(fetch), None, "nothing to read yet");
    // The leader epoch's checkpoint, queued when the replica took up its leadership.
    let held = std::mem::take(cluster.held_syncs.as_mut().unwrap());
    let replace = held.iter().find_map(|(_, output)| match output {
        ReplicaOutput::Replace { id, .. } => Some(*id),
        _ => None,
    });
    let node = &mut cluster.nodes[0];
    let broken = Err(DiskError::Io("broken".to_string()));
    node.manager.handle_sync_done(
        cluster.now,
        0,
        &mut node.disk,
        replace.expect("a checkpoint under way"),
        broken,
    );
    cluster.deliver();
    let answer = cluster
        .fetched(fetch)
        .expect("answered by the replace's completion");
    assert_eq!(answer.error, ErrorCode::KafkaStorageError);
}
/// Lowering a topic's min.insync.replicas to what its ISR holds lets the high watermark move
/// (strict min ISR held it back): the records a consumer waits for become readable when the
/// config takes effect, not at the next produce or follower fetch, which may never come.
#[test]
fn a_lower_min_isr_moves_the_high_watermark_and_answers_held_fetches() {
    let mut cluster = Cluster::new(1, 2);
    cluster.timers = false;
    let produced = cluster.produce(0, 1, &["a"]);
    assert_eq!(cluster.produce_error(produced), Some(ErrorCode::None));
    assert_eq!(cluster.hw(0), 0, "one replica in the ISR commits nothing");
    let fetch = cluster.request(0, waiting_fetch(0));
    assert_eq!(cluster.fetched(fetch), None, "above the high watermark");
    cluster.image.apply(&MetadataRecord::Config {
        resource_type: CONFIG_RESOURCE_TOPIC,
        resource_name: TOPIC.to_string(),
        name: "min.insync.replicas".to_string(),
        value: Some("1".to_string()),
    });
    let node = &mut cluster.nodes[0];
    node.manager
        .sync_topic_configs(cluster.now, &mut node.disk, &cluster.image);
    cluster.deliver();
    assert_eq!(cluster.hw(0), 1);
    assert!(
        cluster.fetched_bytes(fetch).is_some_and(|n| n > 0),
        "answered when the config took effect"
    );
}
