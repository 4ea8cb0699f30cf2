//! Real Kafka clients as consumer-group members against `sluice server`, each with its default
//! settings (only bootstrap servers, group id and auto.offset.reset=earliest set):
//! kafka-python, confluent-kafka (librdkafka), aiokafka (PyPI) and kafkajs (npm), driven
//! through `tests/clients/group_member.py` and `group_member.js`, one process per member.
//!
//! On one node, three members split a six-partition topic (each a non-empty share, together
//! all of it); one is killed with `kill -9` and the others take its partitions once the
//! client's default session timeout expires it (45 s for librdkafka), reading everything,
//! records produced after the kill included; the members then close (committing), more is
//! produced, and a member started again begins every partition exactly at the offset the
//! client's own API reads as committed and reads on to the end.
//!
//! On three nodes, for each client, the node coordinating the group (as FindCoordinator
//! names it) is killed with `kill -9` while a consumer commits after every record: every
//! commit the client saw acknowledged is at or below the committed offset read after the
//! fail-over, and the consumer, and a consumer started afterwards, skip nothing.
//!
//! At-least-once is checked exactly: per partition the union of the offsets handed to the
//! application must be contiguous from 0 to the end offset (a record may come twice across a
//! kill), and a failure names the first missing offset. Records are produced with kcat to
//! explicit partitions, so every end offset is known. Every wait is bounded, so a hang fails.
//! `scripts/test-deps.sh` installs the clients.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{listening_address, start_node, start_server};

const PARTITIONS: usize = 6;
/// How long members may take to agree on an assignment, or to read what is there.
const SETTLE: Duration = Duration::from_secs(60);
/// How long the survivors of a kill may take: the client's session timeout (librdkafka's
/// default is 45 s), a rebalance, and the reading.
const TAKE_OVER: Duration = Duration::from_secs(150);
/// How long a closing member or a one-shot client run may take.
const PROCESS_WAIT: Duration = Duration::from_secs(60);

/// One client process of `tests/clients/group_member.*`, its stdout lines collected as they
/// come; dropping it kills the process.
struct Member {
    name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    errors: Arc<Mutex<String>>,
}

impl Member {
    fn start(client: &str, bootstrap: &str, topic: &str, group: &str, mode: &str) -> Member {
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
        let mut command = if client == "kafkajs" {
            let mut node = Command::new("node");
            node.arg(scripts.join("group_member.js"));
            node
        } else {
            let mut python = Command::new("python3");
            python.arg(scripts.join("group_member.py"));
            python
        };
        let partitions = PARTITIONS.to_string();
        let mut child = command
            .args([client, bootstrap, topic, group, mode, &partitions])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the client runs (scripts/test-deps.sh installs it)");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let errors: Arc<Mutex<String>> = Arc::default();
        let stdout = child.stdout.take().unwrap();
        let collected = Arc::clone(&lines);
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let collected = Arc::clone(&errors);
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            collected.lock().unwrap().push_str(&text);
        });
        Member {
            name: format!("{client} {mode}"),
            stdin: child.stdin.take(),
            child: Some(child),
            lines,
            errors,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The partitions the member holds now: its last assignment, unless revoked since.
    fn assignment(&self) -> BTreeSet<usize> {
        let lines = self.lines();
        let last = lines
            .iter()
            .rev()
            .find(|line| *line == "revoked" || line.starts_with("assigned"));
        let Some(numbers) = last.and_then(|line| line.strip_prefix("assigned ")) else {
            return BTreeSet::new();
        };
        numbers.split(',').map(|p| p.parse().unwrap()).collect()
    }

    /// The (partition, offset) of every record handed to the application, in order.
    fn records(&self) -> Vec<(usize, i64)> {
        self.numbered("record ")
    }

    /// The pairs of every line starting with `prefix`.
    fn numbered(&self, prefix: &str) -> Vec<(usize, i64)> {
        let lines = self.lines();
        let pairs = lines.iter().filter_map(|line| line.strip_prefix(prefix));
        pairs
            .map(|pair| {
                let (partition, offset) = pair.split_once(' ').unwrap();
                (partition.parse().unwrap(), offset.parse().unwrap())
            })
            .collect()
    }

    fn kill_9(&mut self) {
        let mut child = self.child.take().expect("the member runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Closes the member's stdin and waits for it to close its consumer and exit.
    fn close(&mut self) {
        drop(self.stdin.take());
        self.finish();
        assert!(
            self.lines().iter().any(|line| line == "closed"),
            "{} did not close: {}",
            self.name,
            self.report()
        );
    }

    /// Waits for the process to exit by itself, and checks it succeeded.
    fn finish(&mut self) {
        let mut child = self.child.take().expect("the member runs");
        let deadline = Instant::now() + PROCESS_WAIT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let status = child.wait().unwrap();
        // Give the reader threads a moment to take the last lines of the closed pipes.
        thread::sleep(Duration::from_millis(100));
        assert!(
            status.success(),
            "{}: {status}\n{}",
            self.name,
            self.report()
        );
    }

    fn report(&self) -> String {
        let lines = self.lines();
        let facts: Vec<&String> = lines.iter().filter(|l| !l.starts_with("record")).collect();
        let errors = self.errors.lock().unwrap();
        let tail = &errors[errors.len().saturating_sub(3000)..];
        format!(
            "{}: {} records, other lines {facts:?}\nstderr: {tail}",
            self.name,
            lines.len() - facts.len()
        )
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the client in `committed` mode: the group's committed offset of every partition, as
/// the client's API reads it (-1 for none).
fn committed_offsets(client: &str, bootstrap: &str, topic: &str, group: &str) -> Vec<i64> {
    let mut reader = Member::start(client, bootstrap, topic, group, "committed");
    reader.finish();
    let mut offsets = vec![i64::MIN; PARTITIONS];
    for (partition, offset) in reader.numbered("committed ") {
        offsets[partition] = offset;
    }
    assert!(!offsets.contains(&i64::MIN), "{}", reader.report());
    offsets
}

/// Produces `count` records to each partition with kcat, acks=all, and adds them to `ends`.
fn produce(bootstrap: &str, topic: &str, batch: &str, count: usize, ends: &mut [i64]) {
    for (partition, end) in ends.iter_mut().enumerate() {
        let mut kcat = Command::new("kcat")
            .args([
                "-b",
                bootstrap,
                "-P",
                "-t",
                topic,
                "-p",
                &partition.to_string(),
            ])
            .args(["-X", "acks=all", "-X", "message.timeout.ms=45000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kcat is installed (Debian package kcat)");
        let records: String = (0..count).map(|n| format!("{batch}-{n}\n")).collect();
        let mut stdin = kcat.stdin.take().unwrap();
        stdin.write_all(records.as_bytes()).unwrap();
        drop(stdin);
        let deadline = Instant::now() + PROCESS_WAIT;
        while kcat.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = kcat.kill();
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let output = kcat.wait_with_output().unwrap();
        assert!(output.status.success(), "kcat: {output:?}");
        *end += count as i64;
    }
}

/// Checks that per partition the offsets in `consumed` cover every offset from `starts` up
/// to `ends` and nothing beyond; names the first one missing.
fn contiguous(consumed: &[(usize, i64)], starts: &[i64], ends: &[i64]) -> Result<(), String> {
    let mut seen: BTreeMap<usize, BTreeSet<i64>> = BTreeMap::new();
    for (partition, offset) in consumed {
        seen.entry(*partition).or_default().insert(*offset);
    }
    for (partition, (start, end)) in starts.iter().zip(ends).enumerate() {
        let offsets = seen.remove(&partition).unwrap_or_default();
        if let Some(missing) = (*start..*end).find(|offset| !offsets.contains(offset)) {
            return Err(format!(
                "partition {partition}: offset {missing} missing (read {} of {start}..{end})",
                offsets.range(start..end).count()
            ));
        }
        if let Some(beyond) = offsets.iter().find(|offset| **offset >= *end) {
            return Err(format!(
                "partition {partition}: offset {beyond} beyond end {end}"
            ));
        }
    }
    match seen.keys().next() {
        Some(partition) => Err(format!("records of unknown partition {partition}")),
        None => Ok(()),
    }
}

/// True when the members hold disjoint, non-empty shares that together cover every partition.
fn split(members: &[&Member]) -> bool {
    let mut union = BTreeSet::new();
    for member in members {
        let share = member.assignment();
        if share.is_empty() || !share.iter().all(|p| union.insert(*p)) {
            return false;
        }
    }
    union.len() == PARTITIONS
}

/// Polls `done` until it holds, or fails after `limit` with `what` and the members' state.
fn wait_until(what: &str, limit: Duration, members: &[&Member], done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            let reports: Vec<String> = members.iter().map(|m| m.report()).collect();
            panic!("never {what} within {limit:?}:\n{}", reports.join("\n"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn all_records(members: &[&Member]) -> Vec<(usize, i64)> {
    members.iter().flat_map(|member| member.records()).collect()
}

/// Three members split the topic; one is killed and the other two take over; they close, and
/// a member started again resumes at the committed offsets.
fn group_of_three(client: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("num.partitions={PARTITIONS}\ngroup.initial.rebalance.delay.ms=3000\n");
    let (mut server, bootstrap) = start_node(dir.path(), &config);
    let (topic, group) = ("orders", "readers");
    let zeros = vec![0; PARTITIONS];
    let mut ends = vec![0; PARTITIONS];
    produce(&bootstrap, topic, "a", 30, &mut ends);

    let mut members: Vec<Member> = (0..3)
        .map(|_| Member::start(client, &bootstrap, topic, group, "member"))
        .collect();
    let everyone: Vec<&Member> = members.iter().collect();
    wait_until("split the partitions three ways", SETTLE, &everyone, || {
        split(&everyone)
    });
    wait_until("read every record", SETTLE, &everyone, || {
        contiguous(&all_records(&everyone), &zeros, &ends).is_ok()
    });

    members[0].kill_9();
    produce(&bootstrap, topic, "b", 30, &mut ends);
    let everyone: Vec<&Member> = members.iter().collect();
    let survivors = &everyone[1..];
    wait_until(
        "had the survivors take the killed member's partitions",
        TAKE_OVER,
        &everyone,
        || split(survivors),
    );
    wait_until(
        "read every record after the kill",
        SETTLE,
        &everyone,
        || contiguous(&all_records(&everyone), &zeros, &ends).is_ok(),
    );
    let read_before_restart = all_records(&everyone);
    contiguous(&read_before_restart, &zeros, &ends).unwrap();
    for member in &mut members[1..] {
        member.close();
    }

    // Closing committed what the members had read: everything up to the end offsets.
    let committed = committed_offsets(client, &bootstrap, topic, group);
    assert_eq!(
        committed, ends,
        "committed offsets after the members closed"
    );
    produce(&bootstrap, topic, "c", 20, &mut ends);
    let restarted = Member::start(client, &bootstrap, topic, group, "member");
    wait_until(
        "read on from the committed offsets",
        SETTLE,
        &[&restarted],
        || contiguous(&restarted.records(), &committed, &ends).is_ok(),
    );
    let mut first = [None; PARTITIONS];
    for (partition, offset) in restarted.records() {
        first[partition].get_or_insert(offset);
    }
    let expected: Vec<Option<i64>> = committed.iter().map(|offset| Some(*offset)).collect();
    assert_eq!(
        first.to_vec(),
        expected,
        "first offset read per partition after the restart"
    );
    let mut everything = read_before_restart;
    everything.extend(restarted.records());
    contiguous(&everything, &zeros, &ends).unwrap();
    drop(restarted);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn kafka_python_group_splits_takes_over_and_resumes() {
    group_of_three("kafka-python");
}

#[test]
fn confluent_kafka_group_splits_takes_over_and_resumes() {
    group_of_three("confluent-kafka");
}

#[test]
fn aiokafka_group_splits_takes_over_and_resumes() {
    group_of_three("aiokafka");
}

#[test]
fn kafkajs_group_splits_takes_over_and_resumes() {
    group_of_three("kafkajs");
}

#[test]
fn the_check_names_the_first_missing_offset() {
    let ends = [3, 2];
    let whole = [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (0, 1)];
    assert_eq!(contiguous(&whole, &[0, 0], &ends), Ok(()));
    let gap = [(0, 0), (0, 2), (1, 0), (1, 1)];
    let error = contiguous(&gap, &[0, 0], &ends).unwrap_err();
    assert!(
        error.starts_with("partition 0: offset 1 missing"),
        "{error}"
    );
    let beyond = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)];
    assert!(contiguous(&beyond, &[0, 0], &ends).is_err());
    assert_eq!(contiguous(&[(0, 2), (1, 1)], &[2, 1], &ends), Ok(()));
}

/// One node: its data directory, client port, process (none once killed) and output lines.
type NodeProcess = (PathBuf, u16, Option<Child>, Arc<Mutex<Vec<String>>>);

/// Three `sluice server` processes forming one cluster (as in `tests/cluster.rs`), with the
/// offsets topic replicated three ways by default; dropping it kills them, and a failing test
/// prints their last lines.
struct Cluster {
    nodes: Vec<NodeProcess>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let voters: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, controller))| format!("{}@127.0.0.1:{controller}", i + 1))
            .collect();
        let mut nodes = Vec::new();
        for (i, (client, controller)) in ports.iter().enumerate() {
            let id = i + 1;
            let config = dir.path().join(format!("node{id}.properties"));
            let text = format!(
                "node.id={id}\n\
                 process.roles=broker,controller\n\
                 listeners=PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{controller}\n\
                 controller.listener.names=CONTROLLER\n\
                 controller.quorum.voters={}\n\
                 log.dirs={}\n\
                 num.partitions={PARTITIONS}\n\
                 default.replication.factor=3\n\
                 min.insync.replicas=2\n\
                 broker.heartbeat.interval.ms=500\n\
                 broker.session.timeout.ms=4000\n\
                 group.initial.rebalance.delay.ms=0\n",
                voters.join(","),
                dir.path().join(format!("data{id}")).display()
            );
            std::fs::write(&config, text).unwrap();
            let (mut child, lines) = start_server(&config);
            let _ = listening_address(&mut child, &lines);
            let log: Arc<Mutex<Vec<String>>> = Arc::default();
            let kept = Arc::clone(&log);
            thread::spawn(move || lines.into_iter().for_each(|l| kept.lock().unwrap().push(l)));
            nodes.push((config, *client, Some(child), log));
        }
        Cluster { nodes, _dir: dir }
    }

    /// The client ports of the running nodes, by node id.
    fn running(&self) -> Vec<(usize, u16)> {
        let nodes = self.nodes.iter().enumerate();
        let running = nodes.filter(|(_, (_, _, child, _))| child.is_some());
        running.map(|(i, (_, port, _, _))| (i + 1, *port)).collect()
    }

    fn bootstrap(&self) -> String {
        let addresses: Vec<String> = self
            .running()
            .iter()
            .map(|(_, port)| format!("127.0.0.1:{port}"))
            .collect();
        addresses.join(",")
    }

    fn kill_9(&mut self, id: usize) {
        let mut child = self.nodes[id - 1].2.take().expect("the node runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The node that FindCoordinator, asked of the running nodes in turn, names for `group`.
    fn coordinator(&self, group: &str) -> Option<usize> {
        use sluice::client::Connection;
        use sluice::transport::TokioConnector;
        use sluice_net::kafka_protocol::messages::FindCoordinatorRequest;
        use sluice_net::kafka_protocol::protocol::StrBytes;
        use sluice_net::request::RequestBody;
        use sluice_net::response::ResponseBody;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ask = Duration::from_secs(5);
        runtime.block_on(async {
            for (_, port) in self.running() {
                let open = Connection::open(&TokioConnector, "127.0.0.1", port, "group-test");
                let Ok(Ok(mut connection)) = tokio::time::timeout(ask, open).await else {
                    continue;
                };
                let find = FindCoordinatorRequest::default()
                    .with_coordinator_keys(vec![StrBytes::from_string(group.to_string())]);
                let body = RequestBody::FindCoordinator(find);
                let call = connection.call(&body);
                let Ok(Ok(ResponseBody::FindCoordinator(found))) =
                    tokio::time::timeout(ask, call).await
                else {
                    continue;
                };
                match found.coordinators.first() {
                    Some(c) if c.error_code == 0 => return Some(c.node_id.0 as usize),
                    _ => continue,
                }
            }
            None
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (id, (_, _, child, log)) in self.nodes.iter_mut().enumerate() {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            if thread::panicking() {
                let log = log.lock().unwrap();
                eprintln!("--- node {} (last lines) ---", id + 1);
                for line in log.iter().skip(log.len().saturating_sub(40)) {
                    eprintln!("{line}");
                }
            }
        }
    }
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// Waits for a FindCoordinator answer naming a node for `group` (the first one creates the
/// offsets topic).
fn wait_for_coordinator(cluster: &Cluster, group: &str, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(node) = cluster.coordinator(group) {
            return node;
        }
        assert!(Instant::now() < deadline, "no coordinator for {group}");
        thread::sleep(Duration::from_millis(250));
    }
}

/// Per partition, the highest offset a commit the client saw acknowledged named.
fn acknowledged_commits(committer: &Member) -> Vec<i64> {
    let mut highest = vec![-1; PARTITIONS];
    for (partition, offset) in committer.numbered("commit-ok ") {
        highest[partition] = highest[partition].max(offset);
    }
    highest
}

#[test]
fn kafka_python_commits_survive_a_coordinator_kill_9() {
    commits_survive_a_coordinator_kill_9("kafka-python");
}

#[test]
fn confluent_kafka_commits_survive_a_coordinator_kill_9() {
    commits_survive_a_coordinator_kill_9("confluent-kafka");
}

#[test]
fn aiokafka_commits_survive_a_coordinator_kill_9() {
    commits_survive_a_coordinator_kill_9("aiokafka");
}

#[test]
fn kafkajs_commits_survive_a_coordinator_kill_9() {
    commits_survive_a_coordinator_kill_9("kafkajs");
}

/// Kills the node coordinating the group with `kill -9` while a consumer of `client`
/// commits synchronously after every record: no acknowledged commit is lost, and nothing is
/// skipped, neither by that consumer nor by one started afterwards from the committed offsets.
fn commits_survive_a_coordinator_kill_9(client: &str) {
    let mut cluster = Cluster::start();
    let (topic, group) = ("payments", "ledger");
    let zeros = vec![0; PARTITIONS];
    let mut ends = vec![0; PARTITIONS];
    produce(&cluster.bootstrap(), topic, "a", 50, &mut ends);
    wait_for_coordinator(&cluster, group, SETTLE);

    let committer = Member::start(client, &cluster.bootstrap(), topic, group, "committer");
    wait_until("had 40 commits acknowledged", SETTLE, &[&committer], || {
        committer.numbered("commit-ok ").len() >= 40
    });
    let victim = cluster
        .coordinator(group)
        .expect("the group has a coordinator");
    cluster.kill_9(victim);
    let acknowledged_at_kill = committer.numbered("commit-ok ").len();
    assert!(
        committer.records().len() < 50 * PARTITIONS,
        "the consumer had read everything before the kill"
    );

    produce(&cluster.bootstrap(), topic, "b", 20, &mut ends);
    wait_until(
        "read every record across the fail-over",
        TAKE_OVER,
        &[&committer],
        || contiguous(&committer.records(), &zeros, &ends).is_ok(),
    );
    let moved = wait_for_coordinator(&cluster, group, SETTLE);
    assert_ne!(moved, victim, "the killed node still coordinates");
    let mut committer = committer;
    committer.close();
    let acknowledged = committer.numbered("commit-ok ").len();
    assert!(
        acknowledged > acknowledged_at_kill,
        "no commit was acknowledged after the kill: {}",
        committer.report()
    );

    let highest = acknowledged_commits(&committer);
    let committed = committed_offsets(client, &cluster.bootstrap(), topic, group);
    for partition in 0..PARTITIONS {
        assert!(
            highest[partition] <= committed[partition],
            "partition {partition}: a commit of {} was acknowledged, but {} is committed after \
             the fail-over",
            highest[partition],
            committed[partition]
        );
        assert!(
            committed[partition] <= ends[partition],
            "{committed:?} {ends:?}"
        );
    }

    produce(&cluster.bootstrap(), topic, "c", 10, &mut ends);
    let resumed = Member::start(client, &cluster.bootstrap(), topic, group, "member");
    wait_until(
        "read on from the committed offsets",
        SETTLE,
        &[&resumed],
        || contiguous(&resumed.records(), &committed, &ends).is_ok(),
    );
    let mut first = [None; PARTITIONS];
    for (partition, offset) in resumed.records() {
        first[partition].get_or_insert(offset);
    }
    for partition in 0..PARTITIONS {
        // A partition whose every record was committed has nothing new but batch c.
        assert_eq!(
            first[partition],
            Some(committed[partition]),
            "partition {partition}"
        );
    }
}
