//! The Sluice production runtime: real files, the wall clock, and the `sluice` command's tools.
//!
//! The binary (`src/main.rs`) is a thin command-line front over these modules, so that tests
//! and benchmarks can use them directly.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bench;
pub mod cli;
pub mod clock;
pub mod file_disk;
