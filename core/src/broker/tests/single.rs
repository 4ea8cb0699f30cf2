//! One combined node: broker and sole voter in one process, no network at all.

use super::*;
use crate::api::ErrorCode;
use crate::replica::Durability;

/// Starts a one-node cluster and writes one record through auto-creation and acks=all;
/// returns the harness and the node's broker epoch.
fn one_record(seed: u64) -> (Harness, i64) {
    let mut harness = Harness::new(combined_configs(1, 1), seed);
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    assert!(harness.node(0).is_active_controller());

    // Kafka answers LEADER_NOT_AVAILABLE while the topic it asked for is being created.
    let first = harness.metadata(0);
    assert_eq!(first.brokers, vec![1]);
    assert_eq!(first.topics[0].error, ErrorCode::LeaderNotAvailable);
    assert_eq!(harness.node(0).stats().auto_creations_asked, 1);
    assert_eq!(harness.await_leader(0), 0);

    assert_eq!(produced_offset(&harness.call(0, produce("first"))), 0);
    let records = fetched_records(&harness.call(0, fetch(0)));
    assert_eq!(records, vec![(0, b"first".to_vec())]);
    let epoch = harness
        .node(0)
        .broker_status()
        .unwrap()
        .broker_epoch
        .unwrap();
    (harness, epoch)
}

/// A combined node elects itself, registers its broker through its own controller, is
/// unfenced once its metadata holds its registration, auto-creates a topic for Metadata, and
/// serves an acks=all produce and a fetch — without one message to the driver.
#[test]
fn a_single_combined_node_serves_end_to_end() {
    let (harness, _) = one_record(1);
    assert_eq!(
        harness.messages_sent, 0,
        "everything stayed inside the process"
    );
    let node = harness.node(0);
    let stats = node.stats();
    assert_eq!((stats.registrations, stats.controller_activations), (1, 1));
    let brokers: Vec<_> = node
        .live_brokers()
        .map(|b| b.listeners[0].host.clone())
        .collect();
    assert_eq!(brokers, vec!["node-1".to_string()]);
}

/// A process restart over the same disk recovers the metadata log and the partition log.
/// The restarted broker vouches for its last epoch (KIP-966): its registration is refused
/// while the old process's lease lasts, then accepted, and it leads its partition again.
#[test]
fn a_restarted_node_recovers_metadata_and_records() {
    let (mut harness, epoch) = one_record(2);
    harness.stop(0);
    harness.start(0, true);
    let status = harness.node(0).broker_status().unwrap();
    assert_eq!(status.previous_broker_epoch, epoch);
    assert_eq!(status.broker_epoch, None);

    harness.run_until(Duration::from_secs(30), "unfenced", |h| h.unfenced(0));
    let status = harness.node(0).broker_status().unwrap();
    assert!(status.broker_epoch.unwrap() > epoch);
    assert_eq!(harness.await_leader(0), 0);
    assert_eq!(
        harness.node(0).stats().auto_creations_asked,
        0,
        "the topic was kept"
    );
    let records = fetched_records(&harness.call(0, fetch(0)));
    assert_eq!(records, vec![(0, b"first".to_vec())]);
    assert_eq!(produced_offset(&harness.call(0, produce("second"))), 1);
}

/// After its machine went down in page-cache mode a broker cannot vouch for anything it
/// wrote (KIP-966's PreviousBrokerEpoch of -1), and no later start can either, even one that
/// finds the page cache intact: the loss happened before it (lossy-follower seed 65 found a
/// process restart after an unregistered machine-crash restart vouching for the old epoch).
/// In fsync mode it can.
#[test]
fn an_unclean_restart_vouches_only_in_fsync_mode() {
    let (mut harness, _) = one_record(3);
    harness.stop(0);
    harness.start(0, false);
    let status = harness.node(0).broker_status().unwrap();
    assert_eq!(status.previous_broker_epoch, -1);
    harness.stop(0);
    harness.start(0, true);
    let status = harness.node(0).broker_status().unwrap();
    assert_eq!(
        status.previous_broker_epoch, -1,
        "the loss is not forgotten"
    );

    let (mut harness, epoch) = one_record(4);
    harness.stop(0);
    harness.configs[0].replica.durability = Durability::Fsync;
    harness.start(0, false);
    let status = harness.node(0).broker_status().unwrap();
    assert_eq!(status.previous_broker_epoch, epoch);
}

/// A client that does not allow auto-creation, or a broker configured against it, gets
/// UNKNOWN_TOPIC_OR_PARTITION and no topic.
#[test]
fn auto_creation_needs_both_the_client_and_the_broker() {
    let mut configs = combined_configs(1, 1);
    configs[0].auto_create_topics_enable = false;
    let mut harness = Harness::new(configs, 4);
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    let response = harness.metadata(0);
    assert_eq!(response.topics[0].error, ErrorCode::UnknownTopicOrPartition);
    let request = Request::Metadata(MetadataRequest {
        topics: Some(vec!["other".to_string()]),
        allow_auto_topic_creation: false,
    });
    let Response::Metadata(response) = harness.call(0, request) else {
        panic!("metadata answer");
    };
    assert_eq!(response.topics[0].error, ErrorCode::UnknownTopicOrPartition);
    assert_eq!(harness.node(0).stats().auto_creations_asked, 0);
}

/// The metadata log is compacted into a snapshot of the image, and a restart loads it.
#[test]
fn a_compacted_metadata_log_restarts_from_its_snapshot() {
    let mut configs = combined_configs(1, 1);
    configs[0].metadata_snapshot_interval_entries = 3;
    let mut harness = Harness::new(configs, 5);
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    assert_eq!(harness.await_leader(0), 0);
    assert_eq!(produced_offset(&harness.call(0, produce("kept"))), 0);
    assert!(harness.node(0).stats().snapshots_taken > 0);
    assert!(harness.node(0).raft().unwrap().first_index() > 1);
    harness.stop(0);
    harness.start(0, true);
    harness.run_until(Duration::from_secs(30), "unfenced", |h| h.unfenced(0));
    assert_eq!(harness.await_leader(0), 0);
    let records = fetched_records(&harness.call(0, fetch(0)));
    assert_eq!(records, vec![(0, b"kept".to_vec())]);
}
