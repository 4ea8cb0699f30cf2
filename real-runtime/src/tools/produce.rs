//! `sluice produce`: kafka-console-producer. Each line of standard input is a record; with
//! `--property parse.key=true` the text before `key.separator` (a tab by default) is its key.
//! Exits non-zero, naming the error, if any record was not acknowledged.

use std::io::BufRead;

use sluice_core::client::{ProducerConfig, SendOutcome};
use tokio::sync::mpsc;

use super::admin;
use super::flags::{bootstrap_servers, Flags, Kind};
use crate::cli::CliError;
use crate::client::ProducerSession;

const FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--property", Kind::Repeated),
    ("--acks", Kind::Value),
    ("--request-required-acks", Kind::Value),
];

/// Records queued in the producer before reading more input, so memory stays bounded.
const PENDING_MAX: usize = 100_000;

/// `acks` as Kafka's tools take it: all, -1, 0 or 1.
pub fn parse_acks(text: &str) -> Result<i16, CliError> {
    match text {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        _ => Err(CliError::Usage(format!(
            "acks: `{text}` is not all, -1, 0 or 1"
        ))),
    }
}

/// Runs `sluice produce <args>`.
pub fn run(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    let bootstrap = bootstrap_servers(flags.required("--bootstrap-server")?)?;
    let topic = flags.required("--topic")?.to_string();
    let mut config = ProducerConfig {
        allow_auto_topic_creation: true,
        ..ProducerConfig::default()
    };
    if let Some(acks) = flags
        .value("--acks")
        .or(flags.value("--request-required-acks"))
    {
        config.acks = parse_acks(acks)?;
    }
    // Kafka's producer is idempotent by default, and quietly not when acks is not all.
    config.enable_idempotence = config.acks == -1;
    let mut parse_key = false;
    let mut separator = "\t".to_string();
    for (key, value) in flags.pairs("--property")? {
        match key.as_str() {
            "parse.key" => parse_key = value == "true",
            "key.separator" => separator = value,
            _ => return Err(CliError::Usage(format!("--property: unknown `{key}`"))),
        }
    }
    let (lines_in, mut lines) = mpsc::channel::<std::io::Result<String>>(1024);
    // Standard input blocks; it is read on its own thread.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if lines_in.blocking_send(line).is_err() {
                break;
            }
        }
    });
    admin::runtime()?.block_on(async move {
        let mut session = ProducerSession::new(&bootstrap, config);
        let mut token = 0u64;
        let mut failed = 0u64;
        let mut first_error = None;
        let mut note = |outcomes: Vec<(u64, SendOutcome)>| {
            for (_, outcome) in outcomes {
                if let SendOutcome::Err { error, .. } = outcome {
                    failed += 1;
                    first_error.get_or_insert(error);
                }
            }
        };
        while let Some(line) = lines.recv().await {
            let line =
                line.map_err(|error| CliError::Failed(format!("standard input: {error}")))?;
            let (key, value) = match parse_key {
                true => match line.split_once(separator.as_str()) {
                    Some((key, value)) => {
                        (Some(key.as_bytes().to_vec()), value.as_bytes().to_vec())
                    }
                    None => {
                        return Err(CliError::Failed(format!(
                            "no key separator {separator:?} in line {}",
                            token + 1
                        )))
                    }
                },
                false => (None, line.into_bytes()),
            };
            token += 1;
            session.send(&topic, key, value, token);
            while session.pending() >= PENDING_MAX {
                note(session.completions().await);
            }
        }
        while session.pending() > 0 {
            note(session.completions().await);
        }
        match first_error {
            None => Ok(()),
            Some(error) => Err(CliError::Failed(format!(
                "{failed} of {token} records were not acknowledged; first error {error}"
            ))),
        }
    })
}
