//! What must hold once the faults stop, and the marks read off Raft's counters.

use sluice_core::raft::Role;

use super::script::Script;
use crate::cluster::Cluster;

/// The process acting as the active controller in the highest term, if any.
pub fn active_controller(cluster: &Cluster) -> Option<usize> {
    cluster
        .controller_indexes()
        .into_iter()
        .filter(|index| {
            cluster.procs[*index].node.as_ref().is_some_and(|node| {
                node.is_active_controller() && node.raft().is_some_and(|r| r.role() == Role::Leader)
            })
        })
        .max_by_key(|index| {
            let node = cluster.procs[*index].node.as_ref().expect("filtered");
            node.raft().map_or(0, |raft| raft.term())
        })
}

/// After the healed phase: one active controller, every node applied what it committed,
/// every broker registered and unfenced, every partition led.
pub fn check_liveness(cluster: &mut Cluster, script: &Script) {
    let Some(leader) = active_controller(cluster) else {
        return cluster.fail("no-controller", "no active controller at the end".into());
    };
    let node = cluster.procs[leader].node.as_ref().expect("active");
    let commit = node.raft().expect("a controller").commit_index();
    let behind: Vec<String> = cluster
        .controller_indexes()
        .into_iter()
        .filter_map(|index| {
            let process = &cluster.procs[index];
            let applied = process.node.as_ref().map_or(0, |n| n.applied_index());
            (applied + 8 < commit).then(|| format!("{} at {applied}", process.net_id))
        })
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
        .broker_indexes()
        .into_iter()
        .filter_map(|index| {
            let process = &cluster.procs[index];
            let applied = process.node.as_ref().map_or(0, |n| n.applied_index());
            (applied < target).then(|| format!("{} at {applied}", process.net_id))
        })
        .collect();
    if !lagging.is_empty() {
        return cluster.fail(
            "stuck-broker-metadata",
            format!("commit {target}: {lagging:?}"),
        );
    }
    let image = cluster.procs[leader].node.as_ref().expect("active").image();
    for id in cluster.topology.broker_ids() {
        if !image.broker(id).is_some_and(|b| b.is_active()) {
            let detail = format!("broker {id} is not registered and unfenced");
            return cluster.fail("broker-not-unfenced", detail);
        }
    }
    let leaderless: Vec<String> = image
        .partitions()
        .filter(|(_, _, state)| state.leader < 0)
        .map(|(topic, partition, state)| {
            let name = image.topic(topic).map_or("?", |t| t.name.as_str());
            format!(
                "{name}-{partition} (replicas {:?}, ISR {:?}, ELR {:?})",
                state.replicas, state.isr, state.elr
            )
        })
        .collect();
    if !leaderless.is_empty() {
        cluster.fail("leaderless-partition", format!("{leaderless:?}"));
    }
}

/// Marks that come from Raft's own counters, of running and stopped processes alike.
pub fn note_stats(cluster: &mut Cluster) {
    let mut stats = cluster.retired_raft.clone();
    stats.extend(
        cluster
            .procs
            .iter()
            .filter_map(|p| p.node.as_ref().and_then(|n| n.raft()).map(|r| *r.stats())),
    );
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
