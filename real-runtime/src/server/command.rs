//! `sluice server [CONFIG_FILE] [--override key=value]...`: load the configuration, bind the
//! listeners, serve until SIGTERM or SIGINT, and exit 0.
//!
//! The arguments follow `kafka-server-start`: an optional `server.properties` file, then any
//! number of `--override key=value` (also `--override=key=value`), applied in order over the
//! file. Without a file the defaults give a single-node cluster on 127.0.0.1:9092 with its
//! data under `./sluice-data` (see [`crate::config`]).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use super::{serve, NamedListener, ServerOptions};
use crate::cli::CliError;
use crate::config::{self, ServerConfig};
use crate::logging;

/// The command line of `sluice server`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerArguments {
    /// The properties file, if one was given.
    pub config_file: Option<PathBuf>,
    /// The `key=value` overrides, in order.
    pub overrides: Vec<String>,
}

impl ServerArguments {
    /// Parses the arguments after `server`.
    pub fn parse(args: &[String]) -> Result<ServerArguments, CliError> {
        let mut parsed = ServerArguments::default();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if let Some(inline) = arg.strip_prefix("--override=") {
                parsed.overrides.push(inline.to_string());
            } else if arg == "--override" {
                let value = rest.next().ok_or_else(|| {
                    CliError::Usage("--override needs a key=value argument".to_string())
                })?;
                parsed.overrides.push(value.clone());
            } else if arg.starts_with('-') {
                return Err(CliError::Usage(format!("unknown flag `{arg}`")));
            } else if parsed.config_file.is_some() {
                return Err(CliError::Usage(format!(
                    "`server` takes one config file; `{arg}` is a second"
                )));
            } else {
                parsed.config_file = Some(PathBuf::from(arg));
            }
        }
        Ok(parsed)
    }
}

/// Runs `sluice server <args>` to completion.
pub fn run(args: &[String]) -> Result<(), CliError> {
    let arguments = ServerArguments::parse(args)?;
    let failed = |error: config::ConfigError| CliError::Failed(error.to_string());
    let properties =
        config::load(arguments.config_file.as_deref(), &arguments.overrides).map_err(failed)?;
    logging::init();
    for key in config::unknown_keys(&properties) {
        tracing::warn!(
            "the configuration {key} was supplied but is not a known config; ignoring it"
        );
    }
    let config = ServerConfig::from_properties(&properties).map_err(failed)?;
    config.check_data_dirs().map_err(failed)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Failed(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(serve_config(&config))
}

async fn serve_config(config: &ServerConfig) -> Result<(), CliError> {
    let shutdown = shutdown_signal()
        .map_err(|error| CliError::Failed(format!("cannot listen for signals: {error}")))?;
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for endpoint in &config.listeners {
        let cannot_bind = |error: std::io::Error| {
            CliError::Failed(format!("cannot listen on {endpoint}: {error}"))
        };
        let listener = TcpListener::bind(endpoint.socket_address())
            .await
            .map_err(cannot_bind)?;
        let address = listener.local_addr().map_err(cannot_bind)?;
        tracing::info!("listening on {}://{address}", endpoint.name);
        bound.push((endpoint.name.clone(), address));
        listeners.push(NamedListener {
            name: endpoint.name.clone(),
            listener,
        });
    }
    let advertised = config.advertised_for(&bound);
    for endpoint in &advertised {
        tracing::info!("advertising {endpoint}");
        if endpoint.binds_all_interfaces() {
            tracing::warn!(
                "{endpoint} is a wildcard address that clients cannot connect to; set \
                 advertised.listeners to a name or address they can reach"
            );
        }
    }
    let handler = crate::broker::start(config, &advertised).map_err(CliError::Failed)?;
    let options = ServerOptions {
        request_bytes_max: config.socket_request_max_bytes as usize,
        ..ServerOptions::default()
    };
    // On SIGTERM the broker first hands its leaderships over, as Kafka's controlled shutdown
    // does, for at most the session timeout after which the controller would fence it anyway.
    let limit = std::time::Duration::from_millis(u64::from(config.broker_session_timeout_ms));
    let controlled = handler.clone();
    let shutdown = async move {
        shutdown.await;
        if !controlled.controlled_shutdown(limit).await {
            tracing::warn!("controlled shutdown did not finish in {limit:?}; stopping anyway");
        }
    };
    serve(listeners, Arc::new(handler), options, shutdown).await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on the first SIGTERM or SIGINT. The handlers are installed before this returns,
/// so a signal that arrives while the listeners are being bound is not lost.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("received {name}");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<ServerArguments, CliError> {
        let args: Vec<String> = words.iter().map(|word| word.to_string()).collect();
        ServerArguments::parse(&args)
    }

    #[test]
    fn a_file_and_overrides_in_either_form() {
        let parsed = parse(&[
            "--override",
            "node.id=2",
            "config/server.properties",
            "--override=num.partitions=3",
        ])
        .unwrap();
        assert_eq!(
            parsed.config_file,
            Some(PathBuf::from("config/server.properties"))
        );
        assert_eq!(parsed.overrides, vec!["node.id=2", "num.partitions=3"]);
        assert_eq!(parse(&[]).unwrap(), ServerArguments::default());
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for words in [
            &["--override"][..],
            &["--verbose"],
            &["a.properties", "b.properties"],
        ] {
            assert!(matches!(parse(words), Err(CliError::Usage(_))), "{words:?}");
        }
    }
}
