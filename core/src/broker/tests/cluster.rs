//! Three nodes, each a controller and a broker, over the test's message pump.

use super::*;
use crate::controller::Uuid;

/// Three combined nodes elect one controller, register and unfence all three brokers; a
/// topic auto-created with replication factor 3 gets a leader, and an acks=all produce is
/// answered once the followers have fetched it.
#[test]
fn three_combined_nodes_replicate_an_acks_all_produce() {
    let mut harness = Harness::new(combined_configs(3, 3), 11);
    let limit = Duration::from_secs(30);
    harness.run_until(limit, "all unfenced", |h| (0..3).all(|i| h.unfenced(i)));
    let controllers = (0..3)
        .filter(|&i| harness.node(i).is_active_controller())
        .count();
    assert_eq!(controllers, 1);

    let leader = harness.await_leader(1);
    // A client asks the leader it was told about, which may learn of its role a step later.
    assert_eq!(harness.await_leader(leader), leader);
    let state = harness.metadata(1).topics[0].partitions[0].clone();
    assert_eq!((state.replicas.len(), state.isr.len()), (3, 3));
    assert_eq!(produced_offset(&harness.call(leader, produce("all"))), 0);

    // The answer waited for the ISR: every replica holds the record.
    let topic_id: Uuid = harness.node(leader).image().topic_id(TOPIC).unwrap();
    for index in 0..3 {
        let partition = harness
            .node(index)
            .replica_manager()
            .partition((topic_id, 0));
        assert_eq!(partition.unwrap().log_end_offset(), 1, "node {}", index + 1);
    }
    let records = fetched_records(&harness.call(leader, fetch(0)));
    assert_eq!(records, vec![(0, b"all".to_vec())]);
}

/// A controlled shutdown of a partition leader: the controller moves the leadership to
/// another ISR member before it lets the broker go, and the record stays readable.
#[test]
fn a_controlled_shutdown_moves_leadership_before_the_broker_stops() {
    let mut harness = Harness::new(combined_configs(3, 3), 13);
    let limit = Duration::from_secs(30);
    harness.run_until(limit, "all unfenced", |h| (0..3).all(|i| h.unfenced(i)));
    let leader = harness.await_leader(1);
    assert_eq!(harness.await_leader(leader), leader);
    harness.run_until(limit, "a full ISR", |h| {
        let image = h.node(0).image();
        let id = image.topic_id(TOPIC);
        id.and_then(|id| image.partition(id, 0))
            .is_some_and(|state| state.isr.len() == 3)
    });
    assert_eq!(produced_offset(&harness.call(leader, produce("kept"))), 0);
    assert!(!harness.node(leader).controlled_shutdown_done());

    let (now, wall_ms) = (harness.now, harness.wall_ms());
    harness.begin_controlled_shutdown(leader, now, wall_ms);
    harness.run_until(limit, "the controller let the leader go", |h| {
        h.node(leader).controlled_shutdown_done()
    });
    // The controller answered once the records that moved the leadership committed: the
    // other nodes apply them as they learn of the commit.
    let other = (leader + 1) % 3;
    let led_by = |h: &Harness| {
        let image = h.node(other).image();
        let id = image.topic_id(TOPIC).expect("created");
        image.partition(id, 0).map(|state| state.leader)
    };
    harness.run_until(limit, "the move applied", |h| {
        led_by(h).is_some_and(|l| l >= 0 && l != leader as i32 + 1)
    });
    let new_leader = harness.await_leader(other);
    assert_ne!(
        new_leader, leader,
        "the leadership moved before the broker stopped"
    );
    harness.stop(leader);
    let records = fetched_records(&harness.call(new_leader, fetch(0)));
    assert_eq!(records, vec![(0, b"kept".to_vec())]);
}

/// The same seed gives the same run: every decision comes from the inputs.
#[test]
fn a_three_node_run_is_deterministic() {
    let run = || {
        let mut harness = Harness::new(combined_configs(3, 3), 12);
        harness.run_until(Duration::from_secs(30), "all unfenced", |h| {
            (0..3).all(|i| h.unfenced(i))
        });
        let leader = harness.await_leader(0);
        (harness.now, harness.messages_sent, leader)
    };
    assert_eq!(run(), run());
}

/// A broker-only node follows the metadata log by fetching it from the controller-only node
/// (KIP-595's observers), registers, is unfenced once it has applied its registration, and
/// serves a topic it auto-created.
#[test]
fn a_broker_only_node_follows_a_controller_only_node() {
    let voters = vec![1];
    let mut controller = NodeConfig::new(1, ProcessRoles::Controller, voters.clone());
    controller.advertised_listeners.clear();
    let broker = NodeConfig::new(2, ProcessRoles::Broker, voters);
    let mut harness = Harness::new(vec![controller, broker], 13);
    assert_eq!(harness.node(0).broker_status(), None);
    assert!(harness.node(1).raft().is_none());
    harness.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(1));
    assert!(harness.node(0).is_active_controller());

    assert_eq!(harness.await_leader(1), 1);
    assert_eq!(produced_offset(&harness.call(1, produce("observed"))), 0);
    let records = fetched_records(&harness.call(1, fetch(0)));
    assert_eq!(records, vec![(0, b"observed".to_vec())]);
    // The controller's image agrees with the broker's.
    let (on_controller, on_broker) = (harness.node(0).image(), harness.node(1).image());
    assert_eq!(on_controller.topic_id(TOPIC), on_broker.topic_id(TOPIC));
}
