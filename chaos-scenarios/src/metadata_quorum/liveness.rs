//! What must hold once the faults stop, and the marks read off Raft's counters.

use sluice_core::raft::Role;

use super::cluster::Cluster;
use super::script::Script;

/// The node acting as the active controller in the highest term, if any.
pub fn active_controller(cluster: &Cluster) -> Option<usize> {
    let term = cluster.history.last_term()?;
    cluster.nodes.iter().position(|node| {
        node.controller.is_some()
            && node
                .raft
                .as_ref()
                .is_some_and(|raft| raft.role() == Role::Leader && raft.term() == term)
    })
}

/// After the healed phase: one active controller, every node applied what it committed,
/// every broker registered and unfenced, every partition led.
pub fn check_liveness(cluster: &mut Cluster, script: &Script) {
    let Some(leader) = active_controller(cluster) else {
        return cluster.fail("no-controller", "no active controller at the end".into());
    };
    let commit = cluster.nodes[leader]
        .raft
        .as_ref()
        .expect("running")
        .commit_index();
    let behind: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|node| node.applied + 8 < commit)
        .map(|node| format!("{} at {}", node.id, node.applied))
        .collect();
    if !behind.is_empty() {
        return cluster.fail(
            "stuck-follower",
            format!("commit {commit}, behind: {behind:?}"),
        );
    }
    // Brokers fetch while the admin keeps creating topics: they must have reached what was
    // committed ten seconds before the end.
    let target = script.commit_before_end.unwrap_or(0);
    let lagging: Vec<String> = cluster
        .brokers
        .iter()
        .filter(|broker| broker.follower.applied_index() < target)
        .map(|broker| {
            format!(
                "broker {} at {}",
                broker.broker_id,
                broker.follower.applied_index()
            )
        })
        .collect();
    if !lagging.is_empty() {
        return cluster.fail(
            "stuck-broker-metadata",
            format!("commit {target}: {lagging:?}"),
        );
    }
    let image = &cluster.nodes[leader].image;
    for broker in &cluster.brokers {
        let active = image
            .broker(broker.broker_id)
            .is_some_and(|b| b.is_active());
        if !active {
            let detail = format!("broker {} is not registered and unfenced", broker.broker_id);
            return cluster.fail("broker-not-unfenced", detail);
        }
    }
    let leaderless: Vec<String> = image
        .partitions()
        .filter(|(_, _, state)| state.leader < 0)
        .map(|(topic, partition, _)| format!("{topic:?}-{partition}"))
        .collect();
    if !leaderless.is_empty() {
        cluster.fail("leaderless-partition", format!("{leaderless:?}"));
    }
}

/// Marks that come from Raft's own counters.
pub fn note_stats(cluster: &mut Cluster) {
    let stats: Vec<_> = cluster
        .nodes
        .iter()
        .filter_map(|n| n.raft.as_ref().map(|r| *r.stats()))
        .collect();
    if stats
        .iter()
        .any(|s| s.pre_votes_refused_for_lease + s.votes_ignored_for_lease > 0)
    {
        cluster.mark("pre-vote-refused");
    }
    if stats.iter().any(|s| s.check_quorum_step_downs > 0) {
        cluster.mark("check-quorum-step-down");
    }
    if stats.iter().any(|s| s.log_truncations > 0) {
        cluster.mark("log-truncated");
    }
}
