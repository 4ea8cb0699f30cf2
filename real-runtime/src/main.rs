//! The `sluice` command: `sluice server` runs a node (so far it answers only ApiVersions; the
//! broker behind it comes later) and `sluice bench log-append` measures the log.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use sluice::cli::{self, CliError};

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => {
                eprintln!("sluice: argument is not UTF-8: {}", arg.to_string_lossy());
                return ExitCode::from(cli::EXIT_USAGE);
            }
        }
    }
    match cli::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(message)) => {
            eprintln!("sluice: {message} (try `sluice help`)");
            ExitCode::from(cli::EXIT_USAGE)
        }
        Err(CliError::Failed(message)) => {
            eprintln!("sluice: {message}");
            ExitCode::from(cli::EXIT_FAILED)
        }
    }
}
