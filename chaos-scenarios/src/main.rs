//! The `sluice-chaos` command: list, run, sweep and check the determinism of scenarios.
//!
//! All logic lives in [`sluice_chaos::cli`]; this file only connects it to the process.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;

use sluice_chaos::cli;
use sluice_chaos::registry;

fn main() -> ExitCode {
    // Lossy, so a non-UTF-8 argument becomes a usage error instead of a panic.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (stdout, stderr) = (io::stdout(), io::stderr());
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let exit = cli::main_with(&args, &registry::scenarios(), workers, &mut out, &mut err);
    // A failed flush was already reflected in `exit`; nothing more can be reported.
    let _ = err.flush();
    ExitCode::from(exit as u8)
}
