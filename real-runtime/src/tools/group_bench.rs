//! `sluice bench group-join|offset-commit|group-load`: consumer-group figures against a
//! running cluster. They print what they measure; nothing is asserted on time.
//!
//! - `group-join`: members of a new group start together; reported is the time from the last
//!   member's JoinGroup to the group being Stable (every member assigned through SyncGroup),
//!   and that time less `group.initial.rebalance.delay.ms` (given with `--rebalance-delay-ms`,
//!   the broker's setting, which this tool cannot read). Like Kafka's InitialDelayedJoin,
//!   the coordinator waits the delay, then once more because members arrived during it.
//! - `offset-commit`: one member commits N times, one commit in flight; latency from the
//!   commit to its answer.
//! - `group-load`: admin commits (generation -1) of groups × partitions offsets, timed; with
//!   `--verify` after a broker restart, the time from the first answered request until the
//!   coordinator serves every group's offsets again (loading `__consumer_offsets`).

use std::time::{Duration, Instant};

use sluice_core::api::{
    self, ErrorCode, GroupRequest, GroupResponse, OffsetCommitPartition, TopicPartition,
    ADMIN_GENERATION,
};
use sluice_core::client::{GroupConsumerConfig, ProducerConfig};

use super::admin;
use super::flags::{bootstrap_servers, Flags, Kind};
use super::groups::GroupAdmin;
use crate::cli::CliError;
use crate::client::{GroupEvent, GroupSession, ProducerSession};

const FLAGS: &[(&str, Kind)] = &[
    ("--bootstrap-server", Kind::Value),
    ("--topic", Kind::Value),
    ("--members", Kind::Value),
    ("--rounds", Kind::Value),
    ("--rebalance-delay-ms", Kind::Value),
    ("--num-commits", Kind::Value),
    ("--groups", Kind::Value),
    ("--partitions", Kind::Value),
    ("--verify", Kind::Switch),
    ("--in-process", Kind::Switch),
];

const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

fn bootstrap(flags: &Flags) -> Result<Vec<(String, u16)>, CliError> {
    bootstrap_servers(
        flags
            .value("--bootstrap-server")
            .unwrap_or(DEFAULT_BOOTSTRAP),
    )
}

/// A run-unique suffix so that each run uses fresh groups.
fn run_id() -> u128 {
    crate::clock::wall_clock_ms() as u128
}

/// Makes sure `topic` exists (auto-created by a one-record produce) before members join.
async fn ensure_topic(bootstrap: &[(String, u16)], topic: &str) -> Result<(), CliError> {
    admin::connect(bootstrap).await?;
    let config = ProducerConfig {
        allow_auto_topic_creation: true,
        ..ProducerConfig::default()
    };
    let mut producer = ProducerSession::new(bootstrap, config);
    producer.send(topic, None, b"bench".to_vec(), 0);
    while producer.pending() > 0 {
        for (_, outcome) in producer.completions().await {
            if let sluice_core::client::SendOutcome::Err { error, .. } = outcome {
                return Err(CliError::Failed(format!(
                    "cannot produce to {topic}: {error:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Drives `session` until it is assigned (Stable), returning when that happened.
async fn until_assigned(session: &mut GroupSession) -> Result<Instant, CliError> {
    loop {
        for event in session.poll().await {
            match event {
                GroupEvent::Assigned(_) => return Ok(Instant::now()),
                GroupEvent::Failed(error) => {
                    return Err(CliError::Failed(format!("member failed: {error:?}")))
                }
                _ => {}
            }
        }
    }
}

/// Runs `sluice bench group-join <args>`.
pub fn group_join(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    let bootstrap = bootstrap(&flags)?;
    let topic = flags
        .value("--topic")
        .unwrap_or("sluice-bench-groups")
        .to_string();
    let members: usize = flags.number("--members", 3)?;
    let rounds: usize = flags.number("--rounds", 5)?;
    let delay_ms: u64 = flags.number("--rebalance-delay-ms", 3_000)?;
    if members == 0 || rounds == 0 {
        return Err(CliError::Usage(
            "--members and --rounds must be positive".into(),
        ));
    }
    admin::runtime()?.block_on(async move {
        ensure_topic(&bootstrap, &topic).await?;
        let mut overheads = Vec::new();
        for round in 0..rounds {
            let group = format!("sluice-bench-join-{}-{round}", run_id());
            let start = Instant::now();
            let sessions: Vec<GroupSession> = (0..members)
                .map(|_| {
                    let mut config = GroupConsumerConfig::new(group.clone());
                    config.client_id = "sluice-bench".into();
                    GroupSession::new(&bootstrap, config, vec![topic.clone()])
                })
                .collect();
            let (mut sessions, stable_at) = all_assigned(sessions).await?;
            let last_join = sessions
                .iter()
                .filter_map(GroupSession::join_sent_at)
                .max()
                .unwrap_or(start);
            let after_join = stable_at.saturating_duration_since(last_join);
            // Kafka's InitialDelayedJoin waits the delay once, and once more when members
            // arrived meanwhile (all of them do here, within the first delay).
            let waits = if members > 1 { 2 } else { 1 };
            let expected = Duration::from_millis(delay_ms * waits);
            let overhead = after_join.saturating_sub(expected);
            out!(
                "round {round}: {members} members, first start to Stable {:.1} ms, last \
                 JoinGroup to Stable {:.1} ms, of which initial rebalance delay {:.0} ms \
                 ({waits} x group.initial.rebalance.delay.ms {delay_ms}), beyond it {:.1} ms",
                ms(stable_at - start),
                ms(after_join),
                ms(expected),
                ms(overhead)
            );
            overheads.push(overhead);
            for session in &mut sessions {
                session.close();
            }
            for session in &mut sessions {
                let _ = tokio::time::timeout(Duration::from_secs(10), async {
                    loop {
                        if session
                            .poll()
                            .await
                            .iter()
                            .any(|e| matches!(e, GroupEvent::Closed))
                        {
                            return;
                        }
                    }
                })
                .await;
            }
        }
        overheads.sort();
        out!(
            "median beyond the delay over {rounds} rounds: {:.1} ms (max {:.1} ms)",
            ms(overheads[overheads.len() / 2]),
            ms(*overheads.last().unwrap_or(&Duration::ZERO))
        );
        Ok(())
    })
}

/// Drives every session on its own local task until all are assigned; returns the sessions
/// and when the last one was.
async fn all_assigned(
    sessions: Vec<GroupSession>,
) -> Result<(Vec<GroupSession>, Instant), CliError> {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let tasks: Vec<_> = sessions
                .into_iter()
                .map(|mut session| {
                    tokio::task::spawn_local(async move {
                        until_assigned(&mut session).await.map(|at| (session, at))
                    })
                })
                .collect();
            let mut done = Vec::new();
            let mut last = None;
            for task in tasks {
                let (session, at) = task
                    .await
                    .map_err(|error| CliError::Failed(format!("member task: {error}")))??;
                last = Some(last.map_or(at, |last: Instant| last.max(at)));
                done.push(session);
            }
            Ok((done, last.unwrap_or_else(Instant::now)))
        })
        .await
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// Runs `sluice bench offset-commit <args>`.
pub fn offset_commit(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    let bootstrap = bootstrap(&flags)?;
    let topic = flags
        .value("--topic")
        .unwrap_or("sluice-bench-groups")
        .to_string();
    let commits: usize = flags.number("--num-commits", 10_000)?;
    if commits == 0 {
        return Err(CliError::Usage("--num-commits must be positive".into()));
    }
    admin::runtime()?.block_on(async move {
        ensure_topic(&bootstrap, &topic).await?;
        let mut config = GroupConsumerConfig::new(format!("sluice-bench-commit-{}", run_id()));
        config.client_id = "sluice-bench".into();
        config.enable_auto_commit = false;
        let mut session = GroupSession::new(&bootstrap, config, vec![topic.clone()]);
        until_assigned(&mut session).await?;
        let assignment = session.member().assignment();
        let Some(partition) = assignment.first().cloned() else {
            return Err(CliError::Failed("the member was assigned nothing".into()));
        };
        let mut latencies = Vec::with_capacity(commits);
        let start = Instant::now();
        for index in 0..commits {
            let offset = OffsetCommitPartition {
                partition: partition.clone(),
                offset: index as i64 % 2,
                leader_epoch: -1,
                metadata: None,
            };
            let sent = Instant::now();
            let token = session.commit_offsets(vec![offset]);
            'answer: loop {
                for event in session.poll().await {
                    match event {
                        GroupEvent::Committed(result) if result.token == token => {
                            if !result.is_ok() {
                                return Err(CliError::Failed(format!(
                                    "commit {index} failed: {:?}",
                                    result.partitions
                                )));
                            }
                            break 'answer;
                        }
                        GroupEvent::Failed(error) => {
                            return Err(CliError::Failed(format!("member failed: {error:?}")))
                        }
                        _ => {}
                    }
                }
            }
            latencies.push(sent.elapsed());
        }
        let elapsed = start.elapsed();
        latencies.sort();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        out!(
            "{commits} commits in {:.2} s ({:.0} commits/s), latency p50 {:.2} ms, p99 {:.2} ms, \
             max {:.2} ms",
            elapsed.as_secs_f64(),
            commits as f64 / elapsed.as_secs_f64(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(*latencies.last().unwrap())
        );
        session.close();
        let _ = tokio::time::timeout(Duration::from_secs(10), session.poll()).await;
        Ok(())
    })
}

/// Runs `sluice bench group-load <args>`.
pub fn group_load(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, FLAGS)?;
    if flags.has("--in-process") {
        let groups: usize = flags.number("--groups", 1_000)?;
        let partitions: i32 = flags.number("--partitions", 100)?;
        if groups == 0 || partitions <= 0 {
            return Err(CliError::Usage(
                "--groups and --partitions must be positive".into(),
            ));
        }
        return super::group_load::run(groups, partitions);
    }
    let bootstrap = bootstrap(&flags)?;
    let topic = flags
        .value("--topic")
        .unwrap_or("sluice-bench-load")
        .to_string();
    let groups: usize = flags.number("--groups", 1_000)?;
    let partitions: i32 = flags.number("--partitions", 100)?;
    if groups == 0 || partitions <= 0 {
        return Err(CliError::Usage(
            "--groups and --partitions must be positive".into(),
        ));
    }
    let names: Vec<String> = (0..groups)
        .map(|g| format!("sluice-bench-load-{g}"))
        .collect();
    let offsets: Vec<OffsetCommitPartition> = (0..partitions)
        .map(|p| OffsetCommitPartition {
            partition: TopicPartition {
                topic: topic.clone(),
                partition: p,
            },
            offset: i64::from(p) + 1,
            leader_epoch: -1,
            metadata: None,
        })
        .collect();
    admin::runtime()?.block_on(async move {
        if flags.has("--verify") {
            return verify_load(&bootstrap, &names, &offsets).await;
        }
        let mut admin = GroupAdmin::connect(&bootstrap).await?;
        let start = Instant::now();
        for group in &names {
            let (_, mut connection) = admin.coordinator(group).await?;
            let request = GroupRequest::OffsetCommit(api::OffsetCommitRequest {
                group_id: group.clone(),
                generation_id: ADMIN_GENERATION,
                member_id: String::new(),
                group_instance_id: None,
                partitions: offsets.clone(),
            });
            let GroupResponse::OffsetCommit(answer) =
                super::groups::group_call(&mut connection, request).await?
            else {
                unreachable!("group_call checks the answer's kind");
            };
            if let Some((partition, error)) = answer
                .partitions
                .iter()
                .find(|(_, e)| *e != ErrorCode::None)
            {
                return Err(CliError::Failed(format!(
                    "{group}: {}-{}: {error}",
                    partition.topic, partition.partition
                )));
            }
        }
        let elapsed = start.elapsed();
        let total = names.len() * offsets.len();
        out!(
            "committed {total} offsets ({groups} groups x {partitions} partitions) in {:.2} s \
             ({:.0} offsets/s)",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64()
        );
        out!("restart the broker, then run the same command with --verify to time the load");
        Ok(())
    })
}

/// Waits for the restarted coordinator to serve the committed offsets, timing from the first
/// request it answers; then checks that every group's offsets came back.
async fn verify_load(
    bootstrap: &[(String, u16)],
    names: &[String],
    offsets: &[OffsetCommitPartition],
) -> Result<(), CliError> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first_answer = None;
    let mut admin = loop {
        match GroupAdmin::connect(bootstrap).await {
            Ok(admin) => break admin,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(error) => return Err(error),
        }
    };
    let mut checked = 0;
    for group in names {
        loop {
            let fetched = match admin.coordinator(group).await {
                Ok((_, mut connection)) => {
                    first_answer.get_or_insert_with(Instant::now);
                    super::groups::committed_offsets(&mut connection, group).await
                }
                Err(error) => Err(error),
            };
            match fetched {
                Ok(fetched) if fetched.len() == offsets.len() => break,
                Ok(fetched) => {
                    return Err(CliError::Failed(format!(
                        "{group}: {} offsets back of {}",
                        fetched.len(),
                        offsets.len()
                    )))
                }
                // COORDINATOR_LOAD_IN_PROGRESS until the partition is read back.
                Err(_) if Instant::now() < deadline => {
                    first_answer.get_or_insert_with(Instant::now);
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                Err(error) => return Err(error),
            }
        }
        checked += 1;
    }
    let since = first_answer.map_or(Duration::ZERO, |at| at.elapsed());
    out!(
        "{} offsets of {checked} groups served again {:.1} ms after the broker's first answer",
        checked * offsets.len(),
        ms(since)
    );
    Ok(())
}
