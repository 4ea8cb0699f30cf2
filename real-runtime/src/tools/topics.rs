//! `sluice topics`: kafka-topics' create, list, describe, delete and alter, with its flags.
//! The action is a word (`sluice topics create`) or kafka-topics' own flag (`--create`).

use sluice_net::kafka_protocol::messages::{
    create_partitions_request, create_topics_request, incremental_alter_configs_request,
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    IncrementalAlterConfigsRequest, MetadataResponse, TopicName,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;

use super::admin::{self, call, error_name};
use super::flags::{bootstrap_servers, Flags, Kind};
use crate::cli::CliError;

const FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--partitions", Kind::Value),
    ("--replication-factor", Kind::Value),
    ("--config", Kind::Repeated),
    ("--if-not-exists", Kind::Switch),
    ("--create", Kind::Switch),
    ("--list", Kind::Switch),
    ("--describe", Kind::Switch),
    ("--delete", Kind::Switch),
    ("--alter", Kind::Switch),
];

const ACTIONS: [&str; 5] = ["create", "list", "describe", "delete", "alter"];

/// Runs `sluice topics <args>`.
pub fn run(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    let mut actions: Vec<&str> = ACTIONS
        .into_iter()
        .filter(|action| flags.has(&format!("--{action}")))
        .collect();
    actions.extend(flags.words.iter().map(String::as_str));
    let action = match actions.as_slice() {
        [action] if ACTIONS.contains(action) => *action,
        [] => {
            return Err(CliError::Usage(format!(
                "`topics` needs one of {}",
                ACTIONS.join(", ")
            )))
        }
        other => return Err(CliError::Usage(format!("`topics`: cannot do {other:?}"))),
    };
    let bootstrap = bootstrap_servers(flags.required("--bootstrap-server")?)?;
    admin::runtime()?.block_on(async {
        let mut connection = admin::connect(&bootstrap).await?;
        match action {
            "list" => {
                let answer = admin::metadata(&mut connection, None).await?;
                let mut names: Vec<String> = answer
                    .topics
                    .iter()
                    .filter_map(|topic| topic.name.as_ref().map(|name| name.0.to_string()))
                    .collect();
                names.sort();
                for name in names {
                    out!("{name}");
                }
                Ok(())
            }
            "describe" => {
                let topics = flags.value("--topic").map(|topic| vec![topic.to_string()]);
                let answer = admin::metadata(&mut connection, topics.as_deref()).await?;
                describe(&answer)
            }
            "create" => {
                let body = create(&flags)?;
                let ResponseBody::CreateTopics(answer) = call(&mut connection, body).await? else {
                    return Err(CliError::Failed("CreateTopics got another answer".into()));
                };
                for topic in answer.topics {
                    let exists = topic.error_code == 36 && flags.has("--if-not-exists");
                    if topic.error_code != 0 && !exists {
                        return Err(refused(
                            "create",
                            &topic.name.0,
                            topic.error_code,
                            topic.error_message,
                        ));
                    }
                    out!("Created topic {}.", topic.name.0);
                }
                Ok(())
            }
            "delete" => {
                let name = flags.required("--topic")?;
                let body = RequestBody::DeleteTopics(
                    DeleteTopicsRequest::default()
                        .with_topic_names(vec![topic_name(name)])
                        .with_timeout_ms(30_000),
                );
                let ResponseBody::DeleteTopics(answer) = call(&mut connection, body).await? else {
                    return Err(CliError::Failed("DeleteTopics got another answer".into()));
                };
                for topic in answer.responses {
                    if topic.error_code != 0 {
                        return Err(refused(
                            "delete",
                            name,
                            topic.error_code,
                            topic.error_message,
                        ));
                    }
                }
                out!("Deleted topic {name}.");
                Ok(())
            }
            _ => alter(&flags, &mut connection).await,
        }
    })
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn refused(what: &str, topic: &str, code: i16, message: Option<StrBytes>) -> CliError {
    let detail = message.map(|text| format!(": {text}")).unwrap_or_default();
    CliError::Failed(format!(
        "cannot {what} topic {topic}: {}{detail}",
        error_name(code)
    ))
}

fn create(flags: &Flags) -> Result<RequestBody, CliError> {
    let name = flags.required("--topic")?;
    let configs = flags
        .pairs("--config")?
        .into_iter()
        .map(|(key, value)| {
            create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(key))
                .with_value(Some(StrBytes::from_string(value)))
        })
        .collect();
    // -1 asks for the broker's num.partitions and default.replication.factor, as kafka-topics
    // does when the flags are left out.
    let topic = create_topics_request::CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(flags.number("--partitions", -1)?)
        .with_replication_factor(flags.number("--replication-factor", -1)?)
        .with_configs(configs);
    Ok(RequestBody::CreateTopics(
        CreateTopicsRequest::default()
            .with_topics(vec![topic])
            .with_timeout_ms(30_000),
    ))
}

async fn alter(
    flags: &Flags,
    connection: &mut crate::client::Connection<tokio::net::TcpStream>,
) -> Result<(), CliError> {
    let name = flags.required("--topic")?;
    let configs = flags.pairs("--config")?;
    if !flags.has("--partitions") && configs.is_empty() {
        return Err(CliError::Usage(
            "`topics alter` needs --partitions or --config".into(),
        ));
    }
    if flags.has("--partitions") {
        let topic = create_partitions_request::CreatePartitionsTopic::default()
            .with_name(topic_name(name))
            .with_count(flags.number("--partitions", 0)?)
            // Null: the controller places the new partitions (an empty list would name none).
            .with_assignments(None);
        let body = RequestBody::CreatePartitions(
            CreatePartitionsRequest::default()
                .with_topics(vec![topic])
                .with_timeout_ms(30_000),
        );
        let ResponseBody::CreatePartitions(answer) = call(connection, body).await? else {
            return Err(CliError::Failed(
                "CreatePartitions got another answer".into(),
            ));
        };
        for result in answer.results {
            if result.error_code != 0 {
                return Err(refused(
                    "alter",
                    name,
                    result.error_code,
                    result.error_message,
                ));
            }
        }
    }
    if !configs.is_empty() {
        // SET (0) each key, as kafka-configs --alter --add-config does.
        let configs = configs
            .into_iter()
            .map(|(key, value)| {
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_string(key))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_string(value)))
            })
            .collect();
        let resource = incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(name.to_string()))
            .with_configs(configs);
        let body = RequestBody::IncrementalAlterConfigs(
            IncrementalAlterConfigsRequest::default().with_resources(vec![resource]),
        );
        let ResponseBody::IncrementalAlterConfigs(answer) = call(connection, body).await? else {
            return Err(CliError::Failed(
                "IncrementalAlterConfigs got another answer".into(),
            ));
        };
        for response in answer.responses {
            if response.error_code != 0 {
                return Err(refused(
                    "alter",
                    name,
                    response.error_code,
                    response.error_message,
                ));
            }
        }
    }
    out!("Altered topic {name}.");
    Ok(())
}

/// kafka-topics' describe layout: a line per topic, then a line per partition.
fn describe(answer: &MetadataResponse) -> Result<(), CliError> {
    let mut topics: Vec<_> = answer.topics.iter().collect();
    topics.sort_by_key(|topic| topic.name.as_ref().map(|name| name.0.to_string()));
    for topic in topics {
        let name = topic
            .name
            .as_ref()
            .map(|name| name.0.to_string())
            .unwrap_or_default();
        if topic.error_code != 0 {
            return Err(CliError::Failed(format!(
                "topic {name}: {}",
                error_name(topic.error_code)
            )));
        }
        let mut partitions: Vec<_> = topic.partitions.iter().collect();
        partitions.sort_by_key(|partition| partition.partition_index);
        let replication = partitions
            .first()
            .map_or(0, |partition| partition.replica_nodes.len());
        out!(
            "Topic: {name}\tPartitionCount: {}\tReplicationFactor: {replication}",
            partitions.len()
        );
        for partition in partitions {
            let ids = |nodes: &[sluice_net::kafka_protocol::messages::BrokerId]| {
                nodes
                    .iter()
                    .map(|id| id.0.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            out!(
                "\tTopic: {name}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}",
                partition.partition_index,
                match partition.leader_id.0 {
                    -1 => "none".to_string(),
                    leader => leader.to_string(),
                },
                ids(&partition.replica_nodes),
                ids(&partition.isr_nodes),
            );
        }
    }
    Ok(())
}
