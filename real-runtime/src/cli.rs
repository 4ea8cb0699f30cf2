//! Command-line dispatch for the `sluice` binary, parsed by hand until the tools need more.

use crate::bench;
use crate::server;
use crate::tools;

/// Exit code for a command that ran and failed (an I/O error, a log error).
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a command line that could not be understood.
pub const EXIT_USAGE: u8 = 2;

/// The usage text printed by `sluice help`.
pub const USAGE: &str = "\
usage: sluice <command>

commands:
  server [CONFIG_FILE] [--override KEY=VALUE]...
      Run a node. CONFIG_FILE is a Kafka-style server.properties; each --override sets one key
      after the file is read. Without arguments: a single node (broker and controller) on
      127.0.0.1:9092 with its data under ./sluice-data. Logs go to standard error; RUST_LOG
      sets the level. SIGTERM or SIGINT stops it cleanly.
  topics --bootstrap-server HOST:PORT create|list|describe|delete|alter [--topic T]
         [--partitions N] [--replication-factor R] [--config KEY=VALUE]... [--if-not-exists]
      kafka-topics: the action is a word or kafka-topics' flag (--create, --list, ...).
      describe shows each partition's leader, replicas and ISR; alter takes --partitions (a
      larger count) and --config (set as kafka-configs --add-config does).
  groups --bootstrap-server HOST:PORT list|describe|reset-offsets|delete|delete-offsets
         [--group G] [--topic T[:P[,P]]]... [--members [--verbose]|--state]
         [--to-earliest|--to-latest|--to-offset N|--shift-by N|--to-datetime TS]
         [--dry-run|--execute]
      kafka-consumer-groups: the action is a word or its flag (--list, --describe, ...).
      list asks every broker (--state adds a STATE column); describe shows each partition's
      CURRENT-OFFSET, LOG-END-OFFSET, LAG and owner, or with --members each member and its
      #PARTITIONS (--verbose: ASSIGNMENT), or with --state the coordinator, assignor, state
      and #MEMBERS. reset-offsets needs --topic and one scenario; it prints the new offsets
      and commits them only with --execute, and only while the group is empty. TS is
      YYYY-MM-DDTHH:mm:SS.sss with an optional Z or +hh:mm zone (UTC without one). delete
      removes an empty group; delete-offsets forgets its offsets of --topic. A refused action
      prints Kafka's message on one line and exits 1.
  produce --bootstrap-server HOST:PORT --topic T [--acks all|-1|0|1]
          [--property parse.key=true] [--property key.separator=SEP]
      kafka-console-producer: each line of standard input is a record, keyed when parse.key
      is true (the separator defaults to a tab). Exits 1 if any record was not acknowledged.
  consume --bootstrap-server HOST:PORT --topic T [--from-beginning] [--max-messages N]
          [--partition P [--offset O|earliest|latest]] [--timeout-ms MS]
          [--property print.key=true] [--property key.separator=SEP]
      kafka-console-consumer without a group: every partition (or P) from the end, the
      beginning, or offset O; one value per line. --timeout-ms ends it after MS idle.
  consume --bootstrap-server HOST:PORT --topic T --group G [--from-beginning]
          [--max-messages N] [--timeout-ms MS] [--property ...]
      In group G: the partitions the group assigns, from its committed offsets (else the end,
      or the beginning with --from-beginning), committing every 5 s and on exit as Kafka's
      consumer does by default; a later run resumes where the last one committed.
  cluster describe --bootstrap-server HOST:PORT
      The brokers, the active controller, brokers that replicas name but that do not serve,
      and under-replicated or leaderless partitions.
  bench produce [--bootstrap-server HOST:PORT] [--topic T] [--num-records N]
                [--record-size BYTES] [--throughput RECORDS_PER_S] [--acks all|-1|0|1]
                [--batch-size BYTES] [--linger-ms MS]
      kafka-producer-perf-test over the sluice client: records/s, MB/s and latency from send
      to acknowledgement (avg, p50, p99, p99.9, max). Defaults: 127.0.0.1:9092, topic
      sluice-bench, 1000000 records of 1024 bytes, no cap, acks all, 256 KiB batches.
  bench consume [--bootstrap-server HOST:PORT] [--topic T] [--num-records N] [--timeout-ms MS]
                [--group G]
      kafka-consumer-perf-test: reads N records from the beginning; records/s and MB/s. With
      --group, as one member of group G from its committed offsets (earliest without), adding
      the time to the first assignment (rebalance.time.ms) and the fetch rate after it.
  bench end-to-end [--bootstrap-server HOST:PORT] [--topic T] [--num-records N]
                   [--record-size BYTES] [--throughput RECORDS_PER_S] [--acks all|-1|0|1]
      A producer at a fixed rate (default 5000/s, 200-byte records, acks 1) and a consumer
      in one process: latency from send to the consumer handing the record over.
  bench group-join [--bootstrap-server HOST:PORT] [--topic T] [--members N] [--rounds N]
                   [--rebalance-delay-ms MS]
      N members (default 3) join a new group together: time from the last member's JoinGroup
      to the group being Stable (every member synced), and that less the broker's
      group.initial.rebalance.delay.ms (pass it as --rebalance-delay-ms; default 3000).
  bench offset-commit [--bootstrap-server HOST:PORT] [--topic T] [--num-commits N]
      One member commits N times (default 10000), one at a time: commits/s and latency p50,
      p99, max.
  bench group-load [--bootstrap-server HOST:PORT] [--topic T] [--groups N] [--partitions P]
                   [--verify]
      Admin commits of N x P offsets (default 1000 x 100) of topic T (default
      sluice-bench-load, which must exist with P partitions: the broker refuses commits for
      unknown partitions) timed; after a broker restart, the
      same command with --verify times from the broker's first answer until every group's
      offsets are served again (the load of __consumer_offsets plus N OffsetFetch calls).
  bench group-load --in-process [--groups N] [--partitions P]
      No broker: N x P commits written as one __consumer_offsets partition on real files,
      then reopened, read and replayed by the group coordinator: the load time, split.
  bench log-append [--dir DIR] [--record-size BYTES] [--batch-bytes BYTES]
                   [--total-bytes BYTES] [--sync-every-bytes BYTES] [--rounds N]
                   [--pool-bytes BYTES]
      Compare appending pre-built record batches through the partition log on real files with
      plain sequential writes to one file, reporting medians over N rounds (default 5). Sizes
      take an optional K, M or G suffix (powers of 1024). Without --record-size, runs 200-byte
      and 1 KiB records; defaults: --batch-bytes 16K --total-bytes 512M, no periodic sync,
      --pool-bytes 64M of distinct batches cycled through (1M keeps them in cache, as a
      broker's just-received request is).
  bench sink [--listen HOST:PORT] [--partitions N]
      A Kafka listener that answers ApiVersions, Metadata (itself the leader of partitions
      0..N-1 of any topic asked for) and Produce (no error, offsets growing per partition)
      and discards the records unchecked: a load generator's own ceiling, to compare broker
      figures with. Defaults: 127.0.0.1:9092, 1 partition. Runs until stopped.
  help
      Print this text.";

/// Why a command did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliError {
    /// The command line is wrong: unknown command, unknown flag, bad value.
    Usage(String),
    /// The command ran and failed.
    Failed(String),
}

/// Runs the command named by `args` (without the program name).
pub fn run(args: &[String]) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        None => Err(CliError::Usage("missing command".to_string())),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("bench") => bench::run(&args[1..]),
        Some("server") => server::command::run(&args[1..]),
        Some("topics") => tools::topics::run(&args[1..]),
        Some("groups") => tools::groups::run(&args[1..]),
        Some("produce") => tools::produce::run(&args[1..]),
        Some("consume") => tools::consume::run(&args[1..]),
        Some("cluster") => tools::cluster::run(&args[1..]),
        Some(other) => Err(CliError::Usage(format!("unknown command `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_words(words: &[&str]) -> Result<(), CliError> {
        let args: Vec<String> = words.iter().map(|word| word.to_string()).collect();
        run(&args)
    }

    fn is_usage(result: Result<(), CliError>) -> bool {
        matches!(result, Err(CliError::Usage(_)))
    }

    #[test]
    fn unknown_commands_are_usage_errors() {
        assert!(is_usage(run_words(&[])));
        assert!(is_usage(run_words(&["server", "--bogus"])));
        assert!(is_usage(run_words(&["bench"])));
        assert!(is_usage(run_words(&["bench", "fetch"])));
        assert!(is_usage(run_words(&[
            "bench",
            "log-append",
            "--bogus",
            "1"
        ])));
        assert!(is_usage(run_words(&[
            "bench",
            "log-append",
            "--record-size"
        ])));
        assert!(is_usage(run_words(&[
            "bench",
            "log-append",
            "--record-size",
            "x"
        ])));
    }
}
