//! `sluice cluster describe`: the brokers, the active controller, the brokers replicas name
//! that are not serving (fenced or down), and the partitions that are under-replicated or
//! without a leader — all from one Metadata answer, which lists only unfenced brokers.

use std::collections::BTreeSet;

use super::admin;
use super::flags::{bootstrap_servers, Flags, Kind};
use crate::cli::CliError;

const FLAGS: &[(&str, Kind)] = &[("--bootstrap-server", Kind::Value)];

/// Runs `sluice cluster <args>`.
pub fn run(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    if flags.words != ["describe"] {
        return Err(CliError::Usage(
            "`cluster` knows one action: describe".into(),
        ));
    }
    let bootstrap = bootstrap_servers(flags.required("--bootstrap-server")?)?;
    let answer = admin::runtime()?.block_on(async {
        let mut connection = admin::connect(&bootstrap).await?;
        admin::metadata(&mut connection, None).await
    })?;
    let cluster_id = answer.cluster_id.as_deref().unwrap_or("unknown");
    out!("Cluster id: {cluster_id}");
    out!("Active controller: {}", answer.controller_id.0);
    let mut brokers: Vec<_> = answer.brokers.iter().collect();
    brokers.sort_by_key(|broker| broker.node_id.0);
    out!("Brokers:");
    for broker in &brokers {
        let rack = broker
            .rack
            .as_deref()
            .map(|rack| format!(" rack {rack}"))
            .unwrap_or_default();
        out!(
            "\t{} at {}:{}{rack}",
            broker.node_id.0,
            broker.host,
            broker.port
        );
    }
    let live: BTreeSet<i32> = brokers.iter().map(|broker| broker.node_id.0).collect();
    let mut absent = BTreeSet::new();
    let mut under = Vec::new();
    let mut leaderless = Vec::new();
    for topic in &answer.topics {
        let name = topic
            .name
            .as_ref()
            .map(|name| name.0.to_string())
            .unwrap_or_default();
        for partition in &topic.partitions {
            absent.extend(
                partition
                    .replica_nodes
                    .iter()
                    .map(|id| id.0)
                    .filter(|id| !live.contains(id)),
            );
            let label = format!("{name}-{}", partition.partition_index);
            if partition.leader_id.0 < 0 {
                leaderless.push(label.clone());
            }
            if partition.isr_nodes.len() < partition.replica_nodes.len() {
                under.push(format!(
                    "{label} (isr {:?} of replicas {:?})",
                    partition
                        .isr_nodes
                        .iter()
                        .map(|id| id.0)
                        .collect::<Vec<_>>(),
                    partition
                        .replica_nodes
                        .iter()
                        .map(|id| id.0)
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    under.sort();
    leaderless.sort();
    let list = |ids: &BTreeSet<i32>| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    out!(
        "Fenced or offline brokers: {}",
        if absent.is_empty() {
            "none".into()
        } else {
            list(&absent)
        }
    );
    out!("Under-replicated partitions: {}", under.len());
    for partition in under {
        out!("\t{partition}");
    }
    out!("Partitions without a leader: {}", leaderless.len());
    for partition in leaderless {
        out!("\t{partition}");
    }
    Ok(())
}
