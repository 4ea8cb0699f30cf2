//! `sluice groups`: kafka-consumer-groups' list, describe (offsets and lag, `--members`,
//! `--state`), reset-offsets, delete and delete-offsets, with its flags, columns and messages.
//! The action is a word (`sluice groups describe`) or kafka-consumer-groups' own flag
//! (`--describe`). A refused action prints Kafka's message on one line and exits 1.

mod admin;
mod reset;

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::api::{
    self, DescribedGroup, ErrorCode, GroupRequest, GroupResponse, TopicPartition, LATEST_TIMESTAMP,
};
use sluice_core::client::consumer_protocol::Assignment;

use super::flags::{bootstrap_servers, Flags, Kind};
use crate::cli::CliError;
pub use admin::{committed as committed_offsets, group_call, GroupAdmin};

const FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--group", Kind::Value),
    ("--topic", Kind::Repeated),
    ("--list", Kind::Switch),
    ("--describe", Kind::Switch),
    ("--members", Kind::Switch),
    ("--offsets", Kind::Switch),
    ("--state", Kind::Switch),
    ("--verbose", Kind::Switch),
    ("--reset-offsets", Kind::Switch),
    ("--to-earliest", Kind::Switch),
    ("--to-latest", Kind::Switch),
    ("--to-offset", Kind::Value),
    ("--shift-by", Kind::Value),
    ("--to-datetime", Kind::Value),
    ("--dry-run", Kind::Switch),
    ("--execute", Kind::Switch),
    ("--delete", Kind::Switch),
    ("--delete-offsets", Kind::Switch),
];

const ACTIONS: [&str; 5] = [
    "list",
    "describe",
    "reset-offsets",
    "delete",
    "delete-offsets",
];

/// What kafka-consumer-groups prints where a value is missing.
const MISSING: &str = "-";

/// Runs `sluice groups <args>`.
pub fn run(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    let mut actions: Vec<&str> = ACTIONS
        .into_iter()
        .filter(|action| flags.has(&format!("--{action}")))
        .collect();
    actions.extend(flags.words.iter().map(String::as_str));
    let action = match actions.as_slice() {
        [action] if ACTIONS.contains(action) => *action,
        _ => {
            // kafka-consumer-groups' own words.
            return Err(CliError::Usage(
                "Command must include exactly one action: --list, --describe, --delete, \
                 --reset-offsets, --delete-offsets"
                    .into(),
            ));
        }
    };
    let bootstrap = bootstrap_servers(flags.required("--bootstrap-server")?)?;
    let group = match action {
        "list" => String::new(),
        _ => flags.required("--group")?.to_string(),
    };
    super::admin::runtime()?.block_on(async {
        let mut admin = GroupAdmin::connect(&bootstrap).await?;
        match action {
            "list" => list(&mut admin, flags.has("--state")).await,
            "describe" if flags.has("--members") => {
                members(&mut admin, &group, flags.has("--verbose")).await
            }
            "describe" if flags.has("--state") => state(&mut admin, &group).await,
            "describe" => offsets(&mut admin, &group).await,
            "reset-offsets" => reset::run(&mut admin, &group, &flags).await,
            "delete" => delete(&mut admin, &group).await,
            _ => delete_offsets(&mut admin, &group, flags.all("--topic")).await,
        }
    })
}

/// `--list`: ListGroups to every broker (each coordinates its own groups), merged.
async fn list(admin: &mut GroupAdmin, with_state: bool) -> Result<(), CliError> {
    let mut groups = BTreeMap::new();
    let brokers: Vec<_> = admin.brokers.keys().copied().collect();
    for broker in brokers {
        let mut connection = admin.open(broker).await?;
        let request = GroupRequest::ListGroups(api::ListGroupsRequest {
            states_filter: Vec::new(),
        });
        let GroupResponse::ListGroups(answer) = admin::group_call(&mut connection, request).await?
        else {
            unreachable!("group_call checks the answer's kind");
        };
        if answer.error != ErrorCode::None {
            return Err(CliError::Failed(format!(
                "broker {broker} cannot list its groups: {}",
                answer.error
            )));
        }
        for listed in answer.groups {
            groups.insert(listed.group_id, listed.state);
        }
    }
    if !with_state {
        for group in groups.keys() {
            out!("{group}");
        }
        return Ok(());
    }
    let width = groups.keys().map(String::len).max().unwrap_or(0).max(15) + 10;
    out!("{:<width$} {:<20}", "GROUP", "STATE");
    for (group, state) in &groups {
        out!("{group:<width$} {state:<20}");
    }
    Ok(())
}

/// The group's description, or Kafka's one-line error for a group that does not exist.
async fn described(
    connection: &mut crate::client::Connection<tokio::net::TcpStream>,
    group: &str,
) -> Result<DescribedGroup, CliError> {
    let described = admin::describe(connection, group).await?;
    if described.state == "Dead" {
        return Err(CliError::Failed(format!(
            "Error: Consumer group '{group}' does not exist."
        )));
    }
    match described.state.as_str() {
        "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
        "PreparingRebalance" | "CompletingRebalance" => {
            eprintln!("\nWarning: Consumer group '{group}' is rebalancing.")
        }
        _ => {}
    }
    Ok(described)
}

/// A member's assigned partitions, read from its SyncGroup assignment (none if unreadable).
fn assigned(member: &api::DescribedMember) -> Vec<TopicPartition> {
    match Assignment::decode(&member.assignment) {
        Ok((assignment, _)) => assignment.partitions,
        Err(_) => Vec::new(),
    }
}

/// One row of the offsets table.
struct Row {
    partition: TopicPartition,
    offset: Option<i64>,
    end: Option<i64>,
    consumer: String,
    host: String,
    client: String,
}

/// `--describe` (`--offsets`): each assigned or committed partition with its committed
/// offset, log-end offset and lag, and the member that owns it.
async fn offsets(admin: &mut GroupAdmin, group: &str) -> Result<(), CliError> {
    let (_, mut connection) = admin.coordinator(group).await?;
    let described = described(&mut connection, group).await?;
    let committed: BTreeMap<TopicPartition, i64> = admin::committed(&mut connection, group)
        .await?
        .into_iter()
        .map(|offset| (offset.partition, offset.offset))
        .collect();
    let mut rows = Vec::new();
    // Members with the most partitions first, as kafka-consumer-groups sorts them.
    let mut members: Vec<_> = described
        .members
        .iter()
        .map(|member| (member, assigned(member)))
        .filter(|(_, partitions)| !partitions.is_empty())
        .collect();
    members.sort_by_key(|(_, partitions)| std::cmp::Reverse(partitions.len()));
    let mut owned = BTreeSet::new();
    for (member, mut partitions) in members {
        partitions.sort();
        for partition in partitions {
            owned.insert(partition.clone());
            rows.push(Row {
                offset: committed.get(&partition).copied(),
                partition,
                end: None,
                consumer: member.member_id.clone(),
                host: member.client_host.clone(),
                client: member.client_id.clone(),
            });
        }
    }
    for (partition, offset) in &committed {
        if !owned.contains(partition) {
            rows.push(Row {
                partition: partition.clone(),
                offset: Some(*offset),
                end: None,
                consumer: MISSING.into(),
                host: MISSING.into(),
                client: MISSING.into(),
            });
        }
    }
    let partitions: Vec<TopicPartition> = rows.iter().map(|row| row.partition.clone()).collect();
    let ends = admin.list_offsets(&partitions, LATEST_TIMESTAMP).await?;
    for row in &mut rows {
        row.end = ends.get(&row.partition).copied();
    }
    // Kafka prints no table for a group with nothing assigned or committed.
    if !rows.is_empty() {
        print_offsets(group, &rows);
    }
    Ok(())
}

fn print_offsets(group: &str, rows: &[Row]) {
    let text = |value: Option<i64>| value.map_or(MISSING.to_string(), |value| value.to_string());
    let wide = |values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0).max(15);
    let g = group.len().max(15);
    let t = wide(&mut rows.iter().map(|row| row.partition.topic.len()));
    let c = wide(&mut rows.iter().map(|row| row.consumer.len()));
    let h = wide(&mut rows.iter().map(|row| row.host.len()));
    out!();
    out!(
        "{:<g$} {:<t$} {:<10} {:<15} {:<15} {:<15} {:<c$} {:<h$} {}",
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID"
    );
    for row in rows {
        // Kafka's lag: the log-end offset less the committed one, when both are known.
        let lag = row.offset.zip(row.end).map(|(offset, end)| end - offset);
        out!(
            "{group:<g$} {:<t$} {:<10} {:<15} {:<15} {:<15} {:<c$} {:<h$} {}",
            row.partition.topic,
            row.partition.partition,
            text(row.offset),
            text(row.end),
            text(lag),
            row.consumer,
            row.host,
            row.client
        );
    }
}

/// `--describe --members [--verbose]`: one line per member.
async fn members(admin: &mut GroupAdmin, group: &str, verbose: bool) -> Result<(), CliError> {
    let (_, mut connection) = admin.coordinator(group).await?;
    let described = described(&mut connection, group).await?;
    let members = &described.members;
    let wide = |values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0).max(15);
    let g = group.len().max(15);
    let c = wide(&mut members.iter().map(|m| m.member_id.len()));
    let h = wide(&mut members.iter().map(|m| m.client_host.len()));
    let l = wide(&mut members.iter().map(|m| m.client_id.len()));
    let tail = if verbose { "ASSIGNMENT" } else { "" };
    out!();
    out!(
        "{:<g$} {:<c$} {:<h$} {:<l$} {:<15} {tail}",
        "GROUP",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS"
    );
    for member in members {
        let partitions = assigned(member);
        let tail = if verbose {
            assignment_text(&partitions)
        } else {
            String::new()
        };
        out!(
            "{group:<g$} {:<c$} {:<h$} {:<l$} {:<15} {tail}",
            member.member_id,
            member.client_host,
            member.client_id,
            partitions.len()
        );
    }
    Ok(())
}

/// `topic(0,1), other(2)`, as the ASSIGNMENT column shows it.
fn assignment_text(partitions: &[TopicPartition]) -> String {
    if partitions.is_empty() {
        return MISSING.to_string();
    }
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for partition in partitions {
        by_topic
            .entry(&partition.topic)
            .or_default()
            .push(partition.partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, mut indexes)| {
            indexes.sort();
            let list: Vec<String> = indexes.iter().map(i32::to_string).collect();
            format!("{topic}({})", list.join(","))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--describe --state`: the coordinator, assignor, state and member count.
async fn state(admin: &mut GroupAdmin, group: &str) -> Result<(), CliError> {
    let (coordinator, mut connection) = admin.coordinator(group).await?;
    let described = described(&mut connection, group).await?;
    let (host, port) = admin.brokers.get(&coordinator).cloned().unwrap_or_default();
    let at = format!("{host}:{port}  ({coordinator})");
    let g = group.len().max(15);
    let width = at.len().max(25);
    out!();
    out!(
        "{:<g$} {:<width$} {:<20} {:<15} {}",
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "#MEMBERS"
    );
    out!(
        "{group:<g$} {at:<width$} {:<20} {:<15} {}",
        described.protocol_data,
        described.state,
        described.members.len()
    );
    Ok(())
}

/// `--delete`: DeleteGroups to the coordinator.
async fn delete(admin: &mut GroupAdmin, group: &str) -> Result<(), CliError> {
    let (_, mut connection) = admin.coordinator(group).await?;
    let request = GroupRequest::DeleteGroups(api::DeleteGroupsRequest {
        groups: vec![group.to_string()],
    });
    let GroupResponse::DeleteGroups(answer) = admin::group_call(&mut connection, request).await?
    else {
        unreachable!("group_call checks the answer's kind");
    };
    let error = answer
        .groups
        .iter()
        .find(|(name, _)| name == group)
        .map_or(ErrorCode::None, |(_, error)| *error);
    if error != ErrorCode::None {
        let why = match error {
            ErrorCode::NonEmptyGroup => "The group is not empty.".to_string(),
            ErrorCode::GroupIdNotFound => "The group id does not exist.".to_string(),
            other => other.to_string(),
        };
        return Err(CliError::Failed(format!(
            "Error: Deletion of some consumer groups failed: Group '{group}' could not be \
             deleted due to: {why}"
        )));
    }
    out!("Deletion of requested consumer groups ('{group}') was successful.");
    Ok(())
}

/// `T` (every partition of T) or `T:P[,P]`, as kafka-consumer-groups reads `--topic`.
pub async fn topic_partitions(
    admin: &mut GroupAdmin,
    topics: &[String],
) -> Result<Vec<TopicPartition>, CliError> {
    let mut partitions = Vec::new();
    for argument in topics {
        let Some((topic, list)) = argument.split_once(':') else {
            let metadata = admin.metadata(Some(vec![argument.clone()])).await?;
            for found in metadata.topics {
                if found.error != ErrorCode::None {
                    return Err(CliError::Failed(format!(
                        "Error: topic '{argument}': {}",
                        found.error
                    )));
                }
                for partition in found.partitions {
                    partitions.push(TopicPartition {
                        topic: found.name.clone(),
                        partition: partition.partition,
                    });
                }
            }
            continue;
        };
        for index in list.split(',') {
            let partition = index.trim().parse().map_err(|_| {
                CliError::Usage(format!(
                    "Invalid partition '{index}' specified in topic arg '{argument}'"
                ))
            })?;
            partitions.push(TopicPartition {
                topic: topic.to_string(),
                partition,
            });
        }
    }
    partitions.sort();
    partitions.dedup();
    Ok(partitions)
}

/// `--delete-offsets --topic T`: OffsetDelete of the topic's partitions.
async fn delete_offsets(
    admin: &mut GroupAdmin,
    group: &str,
    topics: &[String],
) -> Result<(), CliError> {
    if topics.is_empty() {
        return Err(CliError::Usage("--delete-offsets needs --topic".into()));
    }
    let partitions = topic_partitions(admin, topics).await?;
    let (_, mut connection) = admin.coordinator(group).await?;
    let request = GroupRequest::OffsetDelete(api::OffsetDeleteRequest {
        group_id: group.to_string(),
        partitions: partitions.clone(),
    });
    let GroupResponse::OffsetDelete(answer) = admin::group_call(&mut connection, request).await?
    else {
        unreachable!("group_call checks the answer's kind");
    };
    let failed = |message: String| Err(CliError::Failed(format!("Error: {message}")));
    match answer.error {
        ErrorCode::None => {}
        ErrorCode::InvalidGroupId => return failed(format!("'{group}' is not valid.")),
        ErrorCode::GroupIdNotFound => return failed(format!("'{group}' does not exist.")),
        ErrorCode::NonEmptyGroup => {
            return failed(format!(
                "Deleting offsets of a consumer group '{group}' is forbidden if the group is \
                 not empty."
            ))
        }
        other => return failed(format!("Encounter some unknown error: {other}")),
    }
    let partition_errors: Vec<_> = answer
        .partitions
        .iter()
        .filter(|(_, error)| *error != ErrorCode::None)
        .collect();
    if let Some((partition, error)) = partition_errors.first() {
        return failed(format!(
            "Encounter some partition level error: {}-{}: {error}",
            partition.topic, partition.partition
        ));
    }
    out!(
        "Request succeed for deleting offsets with topic {} group {group}",
        topics.join(", ")
    );
    out!();
    out!("{:<30} {:<15} {:<15}", "TOPIC", "PARTITION", "STATUS");
    for partition in &partitions {
        out!(
            "{:<30} {:<15} {:<15}",
            partition.topic,
            partition.partition,
            "Successful"
        );
    }
    Ok(())
}
