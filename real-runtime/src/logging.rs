//! Structured logs through `tracing`, written to standard error as text lines.
//!
//! The level comes from `RUST_LOG` (`RUST_LOG=debug`, `RUST_LOG=sluice=debug,info`), and is
//! `info` when it is unset. Standard output stays free for commands that print results.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide subscriber. A second call, or a subscriber installed by a test
/// harness, is left in place.
pub fn init() {
    let (filter, bad_filter) = match std::env::var("RUST_LOG") {
        Err(_) => (EnvFilter::new("info"), None),
        Ok(directives) => match EnvFilter::try_new(&directives) {
            Ok(filter) => (filter, None),
            Err(error) => (EnvFilter::new("info"), Some((directives, error))),
        },
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let (Ok(()), Some((directives, error))) = (installed, bad_filter) {
        tracing::warn!(%directives, %error, "RUST_LOG is not a valid filter; logging at info");
    }
}
