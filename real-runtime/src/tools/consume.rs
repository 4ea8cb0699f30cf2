//! `sluice consume`: kafka-console-consumer. Without `--group` it reads every partition of
//! the topic (or the one `--partition` names) from the end, from the beginning with
//! `--from-beginning`, or from `--offset`, and prints one value per line (with
//! `--property print.key=true`, the key and `key.separator` first). With `--group` it joins
//! the group instead (see `group_consume`).

use std::io::Write;
use std::time::Duration;

use sluice_core::api::TopicPartition;
use sluice_core::client::{ConsumerConfig, OffsetResetPolicy};

use super::admin;
use super::flags::{bootstrap_servers, Flags, Kind};
use crate::cli::CliError;
use crate::client::{Consumed, ConsumerSession};

const FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--from-beginning", Kind::Switch),
    ("--max-messages", Kind::Value),
    ("--partition", Kind::Value),
    ("--offset", Kind::Value),
    ("--timeout-ms", Kind::Value),
    ("--property", Kind::Repeated),
    ("--group", Kind::Value),
];

/// Where reading starts.
enum Start {
    Earliest,
    Latest,
    At(i64),
}

/// Runs `sluice consume <args>`.
pub fn run(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    let bootstrap = bootstrap_servers(flags.required("--bootstrap-server")?)?;
    let topic = flags.required("--topic")?.to_string();
    let max_messages: Option<u64> = match flags.value("--max-messages") {
        None => None,
        Some(_) => Some(flags.number("--max-messages", 0)?),
    };
    let timeout = match flags.value("--timeout-ms") {
        None => None,
        Some(_) => Some(Duration::from_millis(flags.number("--timeout-ms", 0)?)),
    };
    let partition: Option<i32> = match flags.value("--partition") {
        None => None,
        Some(_) => Some(flags.number("--partition", 0)?),
    };
    let start = match (flags.value("--offset"), flags.has("--from-beginning")) {
        (Some(_), true) => {
            return Err(CliError::Usage(
                "--offset and --from-beginning exclude each other".into(),
            ))
        }
        (Some("earliest"), _) | (None, true) => Start::Earliest,
        (Some("latest"), _) | (None, false) => Start::Latest,
        (Some(offset), _) => match (offset.parse::<i64>(), partition) {
            (Ok(offset), Some(_)) if offset >= 0 => Start::At(offset),
            (Ok(_), None) => return Err(CliError::Usage("--offset needs --partition".into())),
            _ => {
                return Err(CliError::Usage(format!(
                    "--offset: `{offset}` is not an offset"
                )))
            }
        },
    };
    let (print_key, separator) = print_properties(&flags)?;
    if let Some(group) = flags.value("--group") {
        if partition.is_some() || flags.has("--offset") {
            return Err(CliError::Usage(
                "Options group and partition (or offset) cannot be specified together".into(),
            ));
        }
        let options = super::group_consume::Options {
            bootstrap,
            topic,
            group: group.to_string(),
            from_beginning: flags.has("--from-beginning"),
            max_messages,
            timeout,
            print_key,
            separator,
        };
        return super::group_consume::run(options);
    }
    admin::runtime()?.block_on(async move {
        let partitions = match partition {
            Some(index) => vec![TopicPartition {
                topic: topic.clone(),
                partition: index,
            }],
            None => partitions_of(&bootstrap, &topic).await?,
        };
        let config = ConsumerConfig {
            auto_offset_reset: match start {
                Start::Earliest => OffsetResetPolicy::Earliest,
                _ => OffsetResetPolicy::Latest,
            },
            ..ConsumerConfig::default()
        };
        let mut session = ConsumerSession::new(&bootstrap, config, partitions.clone());
        if let Start::At(offset) = start {
            session.seek(&partitions[0], offset);
        }
        let mut printed = 0u64;
        let stdout = std::io::stdout();
        loop {
            if max_messages.is_some_and(|max| printed >= max) {
                return Ok(());
            }
            let batch = match timeout {
                Some(timeout) => match tokio::time::timeout(timeout, session.poll()).await {
                    Ok(batch) => batch,
                    // kafka-console-consumer ends quietly when --timeout-ms passes idle.
                    Err(_) => return Ok(()),
                },
                None => session.poll().await,
            };
            let mut out = stdout.lock();
            for consumed in batch {
                let (_, records) = match consumed {
                    Consumed::Records(partition, records) => (partition, records),
                    Consumed::Error(partition, error) => {
                        return Err(CliError::Failed(format!(
                            "cannot read {}-{}: {error:?}",
                            partition.topic, partition.partition
                        )))
                    }
                };
                for record in records {
                    if max_messages.is_some_and(|max| printed >= max) {
                        break;
                    }
                    if write_record(&mut out, &record, print_key, &separator).is_err() {
                        // The reader went away (a closed pipe): nothing left to do.
                        return Ok(());
                    }
                    printed += 1;
                }
            }
            let _ = out.flush();
        }
    })
}

/// `print.key` and `key.separator` from `--property`.
fn print_properties(flags: &Flags) -> Result<(bool, String), CliError> {
    let mut print_key = false;
    let mut separator = "\t".to_string();
    for (key, value) in flags.pairs("--property")? {
        match key.as_str() {
            "print.key" => print_key = value == "true",
            "key.separator" => separator = value,
            _ => return Err(CliError::Usage(format!("--property: unknown `{key}`"))),
        }
    }
    Ok((print_key, separator))
}

/// One record as kafka-console-consumer prints it: the value (with `print.key`, the key and
/// the separator first) and a newline.
pub(super) fn write_record(
    out: &mut impl Write,
    record: &sluice_core::client::ConsumedRecord,
    print_key: bool,
    separator: &str,
) -> std::io::Result<()> {
    if print_key {
        out.write_all(record.key.as_deref().unwrap_or(b"null"))?;
        out.write_all(separator.as_bytes())?;
    }
    out.write_all(record.value.as_deref().unwrap_or(b"null"))?;
    out.write_all(b"\n")
}

/// Every partition of `topic`, from a Metadata answer.
pub async fn partitions_of(
    bootstrap: &[(String, u16)],
    topic: &str,
) -> Result<Vec<TopicPartition>, CliError> {
    let mut connection = admin::connect(bootstrap).await?;
    let answer = admin::metadata(&mut connection, Some(&[topic.to_string()])).await?;
    let Some(found) = answer.topics.first() else {
        return Err(CliError::Failed(format!("no metadata for topic {topic}")));
    };
    if found.error_code != 0 {
        return Err(CliError::Failed(format!(
            "topic {topic}: {}",
            admin::error_name(found.error_code)
        )));
    }
    let mut partitions: Vec<TopicPartition> = found
        .partitions
        .iter()
        .map(|partition| TopicPartition {
            topic: topic.to_string(),
            partition: partition.partition_index,
        })
        .collect();
    partitions.sort();
    Ok(partitions)
}
