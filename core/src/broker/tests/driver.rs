//! What the node decides that its drivers used to: holding clients until the broker is ready,
//! the controller named to clients, and the notes an observer reads.

use super::*;
use crate::broker::NodeNote;

#[test]
fn a_request_before_the_broker_is_ready_is_held_and_answered_once_it_is() {
    let mut h = Harness::new(combined_configs(1, 1), 5);
    assert!(
        !h.node(0).serves_clients(),
        "a fresh broker is not registered yet"
    );
    let client = h.request(0, fetch(0));
    assert!(h.answers.is_empty(), "held, not refused: {:?}", h.answers);
    h.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    assert!(h.node(0).serves_clients());
    h.run_until(Duration::from_secs(1), "answered", |h| {
        h.answers.contains_key(&client)
    });
    // The topic is unknown: the answer came from the applied image, not an empty one.
    let Response::Fetch(answer) = &h.answers[&client] else {
        panic!("not a fetch answer");
    };
    assert_eq!(
        answer.partitions[0].error,
        crate::api::ErrorCode::UnknownTopicOrPartition
    );
}

#[test]
fn held_requests_beyond_the_in_flight_limit_are_refused() {
    let mut configs = combined_configs(1, 1);
    configs[0].requests_inflight_max = 2;
    let mut h = Harness::new(configs, 6);
    let held: Vec<u64> = (0..2).map(|_| h.request(0, fetch(0))).collect();
    let refused = h.request(0, fetch(0));
    let Response::Fetch(answer) = &h.answers[&refused] else {
        panic!("the third request is answered at once");
    };
    assert_eq!(answer.error, crate::api::ErrorCode::RequestTimedOut);
    assert_eq!(h.node(0).stats().requests_refused, 1);
    assert!(held.iter().all(|c| !h.answers.contains_key(c)));
}

#[test]
fn clients_are_told_the_active_controller_when_it_is_a_live_broker() {
    let mut h = Harness::new(combined_configs(3, 1), 7);
    for index in 0..3 {
        h.run_until(Duration::from_secs(20), "unfenced", |h| h.unfenced(index));
    }
    let leader = (0..3)
        .find(|i| h.node(*i).is_active_controller())
        .expect("an active controller");
    let expected = leader as i32 + 1;
    for index in 0..3 {
        h.run_until(Duration::from_secs(5), "told", |h| {
            h.node(index).controller_id_for_clients() == expected
        });
    }
}

#[test]
fn an_observed_node_notes_every_committed_entry_and_its_controller_turn() {
    let mut h = Harness::new(combined_configs(1, 1), 8);
    let node = h.nodes[0].as_mut().unwrap();
    node.observe(true);
    h.run_until(Duration::from_secs(10), "unfenced", |h| h.unfenced(0));
    h.await_leader(0);
    let node = h.nodes[0].as_mut().unwrap();
    let mut applied = Vec::new();
    let mut activated = false;
    let mut leads = false;
    while let Some(note) = node.poll_note() {
        match note {
            NodeNote::Applied { index, .. } => applied.push(index),
            NodeNote::ControllerActivated { .. } => activated = true,
            NodeNote::LeadershipTaken { partition: 0, .. } => leads = true,
            _ => {}
        }
    }
    assert!(activated && leads);
    let expected: Vec<u64> = (1..=node.applied_index()).collect();
    assert_eq!(applied, expected, "every index once, in order");
    node.observe(false);
    h.step();
    assert!(h.nodes[0].as_mut().unwrap().poll_note().is_none());
}

#[test]
fn an_admin_request_held_too_long_times_out_rather_than_apply_late() {
    use crate::api::{AdminRequest, AdminResponse, DeleteTopicsRequest};
    let configs = vec![
        NodeConfig::new(1, ProcessRoles::Controller, vec![1]),
        NodeConfig::new(2, ProcessRoles::Broker, vec![1]),
    ];
    let mut h = Harness::new(configs, 9);
    // No controller: the broker never registers, and holds what its clients ask.
    h.stop(0);
    let delete = AdminRequest::DeleteTopics(DeleteTopicsRequest {
        names: vec![TOPIC.to_string()],
    });
    let admin = h.request(1, Request::Admin(delete));
    let data = h.request(1, fetch(0));
    let timeout = h.node(1).config().controller_quorum_request_timeout;
    h.run_until(timeout + STEP, "answered", |h| {
        h.answers.contains_key(&admin)
    });
    let Response::Admin(AdminResponse::DeleteTopics(results)) = &h.answers[&admin] else {
        panic!("not a DeleteTopics answer: {:?}", h.answers[&admin]);
    };
    assert_eq!(results[0].error, crate::api::ErrorCode::RequestTimedOut);
    assert!(!h.answers.contains_key(&data), "data requests still wait");
}
