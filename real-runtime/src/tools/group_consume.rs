//! `sluice consume --group G`: kafka-console-consumer in a consumer group. Core's
//! `GroupConsumer` joins the group, is assigned partitions, starts each at the group's
//! committed offset (or by `auto.offset.reset`: earliest with `--from-beginning`, else
//! latest), and commits as Kafka's consumer does by default: every 5 s, and on close. As in
//! kafka-console-consumer, stopping at `--max-messages` commits the position of everything
//! fetched, which may lie past the last record printed.

use std::io::Write;
use std::time::Duration;

use sluice_core::client::{GroupConsumerConfig, OffsetResetPolicy};

use super::admin;
use super::consume::write_record;
use crate::cli::CliError;
use crate::client::{Consumed, GroupEvent, GroupSession};

/// How long closing (the close commit and LeaveGroup) may take before the tool gives up.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// What `sluice consume --group` was asked to do.
pub struct Options {
    /// The bootstrap servers.
    pub bootstrap: Vec<(String, u16)>,
    /// The topic subscribed to.
    pub topic: String,
    /// `group.id`.
    pub group: String,
    /// `auto.offset.reset=earliest` instead of latest.
    pub from_beginning: bool,
    /// Stop after this many records.
    pub max_messages: Option<u64>,
    /// Stop after this long without a record.
    pub timeout: Option<Duration>,
    /// Print keys before values.
    pub print_key: bool,
    /// Between key and value.
    pub separator: String,
}

/// Runs the group consumer until `--max-messages` or `--timeout-ms`, then closes it.
pub fn run(options: Options) -> Result<(), CliError> {
    let mut config = GroupConsumerConfig::new(options.group.clone());
    config.client_id = "sluice-console-consumer".to_string();
    config.consumer.auto_offset_reset = match options.from_beginning {
        true => OffsetResetPolicy::Earliest,
        false => OffsetResetPolicy::Latest,
    };
    admin::runtime()?.block_on(async move {
        // An unreachable broker is reported at once, not after the coordinator search.
        admin::connect(&options.bootstrap).await?;
        let mut session =
            GroupSession::new(&options.bootstrap, config, vec![options.topic.clone()]);
        let consumed = consume(&mut session, &options).await;
        close(&mut session).await;
        consumed
    })
}

async fn consume(session: &mut GroupSession, options: &Options) -> Result<(), CliError> {
    let mut printed = 0u64;
    let stdout = std::io::stdout();
    let mut idle_until = options
        .timeout
        .map(|wait| tokio::time::Instant::now() + wait);
    loop {
        if options.max_messages.is_some_and(|max| printed >= max) {
            return Ok(());
        }
        let events = match idle_until {
            Some(deadline) => match tokio::time::timeout_at(deadline, session.poll()).await {
                Ok(events) => events,
                // kafka-console-consumer ends quietly when --timeout-ms passes idle.
                Err(_) => return Ok(()),
            },
            None => session.poll().await,
        };
        let mut out = stdout.lock();
        for event in events {
            let records = match event {
                GroupEvent::Consumed(Consumed::Records(_, records)) => records,
                GroupEvent::Consumed(Consumed::Error(partition, error)) => {
                    return Err(CliError::Failed(format!(
                        "cannot read {}-{}: {error:?}",
                        partition.topic, partition.partition
                    )))
                }
                GroupEvent::Failed(error) => {
                    return Err(CliError::Failed(format!(
                        "group '{}': {error:?}",
                        options.group
                    )))
                }
                GroupEvent::Error(error) => {
                    tracing::debug!("group {}: {error:?}", options.group);
                    continue;
                }
                GroupEvent::Assigned(_) | GroupEvent::Committed(_) | GroupEvent::Closed => continue,
            };
            if !records.is_empty() {
                idle_until = options
                    .timeout
                    .map(|wait| tokio::time::Instant::now() + wait);
            }
            for record in records {
                if options.max_messages.is_some_and(|max| printed >= max) {
                    break;
                }
                if write_record(&mut out, &record, options.print_key, &options.separator).is_err() {
                    // The reader went away (a closed pipe): nothing left to print.
                    return Ok(());
                }
                printed += 1;
            }
        }
        let _ = out.flush();
    }
}

/// Closes the member: its close commit, then LeaveGroup, waiting at most [`CLOSE_WAIT`].
pub(super) async fn close(session: &mut GroupSession) {
    session.close();
    let closed = async {
        loop {
            for event in session.poll().await {
                match event {
                    GroupEvent::Closed | GroupEvent::Failed(_) => return,
                    GroupEvent::Committed(result) if !result.is_ok() => {
                        eprintln!("sluice: close commit failed: {:?}", result.partitions);
                    }
                    _ => {}
                }
            }
        }
    };
    if tokio::time::timeout(CLOSE_WAIT, closed).await.is_err() {
        eprintln!("sluice: the group member did not close within {CLOSE_WAIT:?}");
    }
}
