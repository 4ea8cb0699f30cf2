//! `sluice bench …`: measurements of the real runtime, reported as ratios to what the machine
//! does without Sluice in the way.

mod batches;
mod log_append;
mod passes;
mod sink;

use std::path::PathBuf;

use crate::cli::CliError;

pub use log_append::LogAppendOptions;
pub use sink::SinkOptions;

/// Runs `sluice bench <args>`.
pub fn run(args: &[String]) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        None => Err(CliError::Usage(
            "`bench` needs a benchmark name: produce, consume, end-to-end, group-join, \
             offset-commit, group-load, log-append or sink"
                .to_string(),
        )),
        Some("produce") => crate::tools::perf::produce(&args[1..]),
        Some("consume") => crate::tools::perf::consume(&args[1..]),
        Some("end-to-end") => crate::tools::perf::end_to_end(&args[1..]),
        Some("group-join") => crate::tools::group_bench::group_join(&args[1..]),
        Some("offset-commit") => crate::tools::group_bench::offset_commit(&args[1..]),
        Some("group-load") => crate::tools::group_bench::group_load(&args[1..]),
        Some("log-append") => {
            let options = LogAppendOptions::parse(&args[1..])?;
            log_append::run(&options).map_err(CliError::Failed)
        }
        Some("sink") => sink::run(&SinkOptions::parse(&args[1..])?),
        Some(other) => Err(CliError::Usage(format!("unknown benchmark `{other}`"))),
    }
}

impl LogAppendOptions {
    /// Parses the flags of `sluice bench log-append`, as `--flag VALUE` or `--flag=VALUE`.
    pub fn parse(args: &[String]) -> Result<LogAppendOptions, CliError> {
        let mut options = LogAppendOptions::default();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            let value = match inline.or_else(|| rest.next().cloned()) {
                Some(value) if flag.starts_with("--") => value,
                _ => return Err(CliError::Usage(format!("bad flag `{arg}`"))),
            };
            match flag {
                "--dir" => options.dir = Some(PathBuf::from(value)),
                "--record-size" => options.record_sizes = vec![parse_size(flag, &value)?],
                "--batch-bytes" => options.batch_bytes = parse_size(flag, &value)?,
                "--total-bytes" => options.total_bytes = parse_size(flag, &value)? as u64,
                "--rounds" => options.rounds = parse_count(flag, &value)?,
                "--pool-bytes" => options.pool_bytes = parse_size(flag, &value)?,
                "--sync-every-bytes" => {
                    options.sync_every_bytes = Some(parse_size(flag, &value)? as u64);
                }
                _ => return Err(CliError::Usage(format!("unknown flag `{flag}`"))),
            }
        }
        options.check().map_err(CliError::Usage)?;
        Ok(options)
    }
}

/// Parses a positive plain count.
fn parse_count(flag: &str, value: &str) -> Result<usize, CliError> {
    match value.parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(CliError::Usage(format!(
            "{flag}: `{value}` is not a positive count"
        ))),
    }
}

/// Parses a positive byte count with an optional binary suffix: `512`, `16K`, `64KiB`, `1M`.
fn parse_size(flag: &str, value: &str) -> Result<usize, CliError> {
    let bad = || CliError::Usage(format!("{flag}: `{value}` is not a positive byte count"));
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, suffix) = value.split_at(split);
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    let count: usize = digits.parse().map_err(|_| bad())?;
    let bytes = count.checked_mul(1 << shift).ok_or_else(bad)?;
    if bytes == 0 {
        return Err(bad());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<LogAppendOptions, CliError> {
        let args: Vec<String> = words.iter().map(|word| word.to_string()).collect();
        LogAppendOptions::parse(&args)
    }

    #[test]
    fn defaults_run_both_record_sizes() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.record_sizes, vec![200, 1024]);
        assert_eq!(options.batch_bytes, 16 * 1024);
        assert_eq!(options.total_bytes, 512 << 20);
        assert_eq!(options.sync_every_bytes, None);
        assert_eq!(options.dir, None);
        assert_eq!(options.rounds, 5);
    }

    #[test]
    fn flags_take_separate_or_inline_values_with_suffixes() {
        let options = parse(&[
            "--dir",
            "/tmp/x",
            "--record-size=1K",
            "--batch-bytes",
            "64KiB",
            "--total-bytes=1G",
            "--sync-every-bytes",
            "65536",
            "--rounds=3",
        ])
        .unwrap();
        assert_eq!(options.dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(options.record_sizes, vec![1024]);
        assert_eq!(options.batch_bytes, 64 * 1024);
        assert_eq!(options.total_bytes, 1 << 30);
        assert_eq!(options.sync_every_bytes, Some(65536));
        assert_eq!(options.rounds, 3);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for words in [
            &["--record-size"][..],
            &["--record-size", "0"],
            &["--record-size", "-5"],
            &["--batch-bytes", "12X"],
            &["--total-bytes", "99999999999999999999"],
            &["record-size", "5"],
            &["--nope", "5"],
            &["--batch-bytes", "16"],
            &["--rounds", "0"],
            &["--rounds", "2K"],
        ] {
            assert!(matches!(parse(words), Err(CliError::Usage(_))), "{words:?}");
        }
    }
}
