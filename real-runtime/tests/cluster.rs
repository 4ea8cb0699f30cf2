//! Three `sluice server` processes on loopback form one cluster over the peer transport:
//! kcat (librdkafka) produces with `acks=all` to a topic replicated three ways, the leader of
//! a partition is killed with `kill -9` while a producer is mid-stream, producing goes on to
//! the new leader, and every record a producer had acknowledged is then read back, in order
//! within its partition. The killed node is restarted and must rejoin the ISR.
//!
//! A kcat producer exits 0 only when every one of its records got a successful delivery
//! report, so the records of an invocation that exited 0 are the acknowledged ones; those of
//! an invocation that failed may or may not be there. kcat comes from Debian's `kcat`
//! package. Every wait is bounded and the servers are killed when the test ends.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{listening_address, start_server};

/// How long the cluster may take to form, fail over, or catch up.
const SETTLE: Duration = Duration::from_secs(60);
/// How long one kcat run may take (a producer retries through a fail-over).
const KCAT_WAIT: Duration = Duration::from_secs(60);
const NODES: usize = 3;
const TOPIC: &str = "replicated";

struct Node {
    id: usize,
    config: PathBuf,
    client_port: u16,
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
}

/// The three servers; dropping it kills them, and a failing test prints their last lines.
struct Cluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..NODES).map(|_| (free_port(), free_port())).collect();
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
                 num.partitions=3\n\
                 default.replication.factor=3\n\
                 min.insync.replicas=2\n\
                 broker.heartbeat.interval.ms=500\n\
                 broker.session.timeout.ms=4000\n",
                voters.join(","),
                dir.path().join(format!("data{id}")).display()
            );
            std::fs::write(&config, text).unwrap();
            nodes.push(Node {
                id,
                config,
                client_port: *client,
                child: None,
                log: Arc::default(),
            });
        }
        let mut cluster = Cluster { nodes, _dir: dir };
        for index in 0..NODES {
            cluster.launch(index);
        }
        cluster
    }

    fn launch(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let (mut child, lines) = start_server(&node.config);
        let _ = listening_address(&mut child, &lines);
        let log = Arc::clone(&node.log);
        thread::spawn(move || {
            for line in lines {
                log.lock().unwrap().push(line);
            }
        });
        node.child = Some(child);
    }

    /// Sends SIGTERM and waits for the process to exit on its own.
    fn terminate(&mut self, id: usize) {
        let mut child = self.nodes[id - 1].child.take().expect("the node runs");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + SETTLE;
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "node {id} did not stop on SIGTERM"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn logged(&self, id: usize, text: &str) -> bool {
        let log = self.nodes[id - 1].log.lock().unwrap();
        log.iter().any(|line| line.contains(text))
    }

    fn kill_9(&mut self, id: usize) {
        let mut child = self.nodes[id - 1].child.take().expect("the node runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The client addresses of the running nodes, as a bootstrap list.
    fn bootstrap(&self) -> String {
        let running = self.nodes.iter().filter(|node| node.child.is_some());
        let addresses: Vec<String> = running
            .map(|node| format!("127.0.0.1:{}", node.client_port))
            .collect();
        addresses.join(",")
    }

    /// Polls `kcat -L` until `done` holds for its output.
    fn wait_for_metadata(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SETTLE;
        loop {
            let output = Kcat::spawn(&self.bootstrap(), &["-L", "-m", "3"]).finish();
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            if done(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "never {what}: {text}");
            thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            if thread::panicking() {
                let log = node.log.lock().unwrap();
                eprintln!("--- node {} (last lines) ---", node.id);
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

/// A kcat run that is killed if it outlasts [`KCAT_WAIT`].
struct Kcat(Option<Child>);

impl Kcat {
    fn spawn(bootstrap: &str, args: &[&str]) -> Kcat {
        let child = Command::new("kcat")
            .args(["-b", bootstrap])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kcat is installed (Debian package kcat)");
        Kcat(Some(child))
    }

    fn write(&mut self, text: &str) {
        let child = self.0.as_mut().unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes its input and waits for it to exit.
    fn finish(mut self) -> Output {
        let mut child = self.0.take().unwrap();
        drop(child.stdin.take());
        let deadline = Instant::now() + KCAT_WAIT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!("kcat did not finish: {output:?}");
            }
            thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Kcat {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Producer settings: every record waits for the whole ISR, one request in flight at a time
/// so retries cannot reorder, and a fail-over is retried through rather than reported.
const PRODUCE: &[&str] = &[
    "-P",
    "-t",
    TOPIC,
    "-X",
    "acks=all",
    "-X",
    "max.in.flight.requests.per.connection=1",
    "-X",
    "message.timeout.ms=45000",
];

fn records(batch: &str, count: usize) -> Vec<String> {
    (0..count).map(|n| format!("{batch}-{n:04}")).collect()
}

fn lines(records: &[String]) -> String {
    records.iter().map(|record| format!("{record}\n")).collect()
}

/// Every record of the topic as (partition, value), in each partition's offset order.
fn consume(bootstrap: &str) -> Vec<(u32, String)> {
    let args = [
        "-C",
        "-t",
        TOPIC,
        "-o",
        "beginning",
        "-e",
        "-q",
        "-f",
        "%p %s\n",
    ];
    let output = Kcat::spawn(bootstrap, &args).finish();
    assert!(output.status.success(), "consume: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (partition, value) = line.split_once(' ').expect("partition and value");
            (partition.parse().unwrap(), value.to_string())
        })
        .collect()
}

/// `kcat -L`'s leader of `partition` of the topic.
fn leader_of(metadata: &str, partition: u32) -> Option<usize> {
    let prefix = format!("partition {partition}, leader ");
    let line = metadata
        .lines()
        .find(|line| line.trim().starts_with(&prefix))?;
    let rest = line.trim().strip_prefix(&prefix)?;
    rest.split(',').next()?.trim().parse().ok()
}

/// True when the topic lists `partitions` partitions, each led and with `isr` in-sync
/// replicas.
fn fully_replicated(metadata: &str, partitions: u32, isr: usize) -> bool {
    let topic = format!("topic \"{TOPIC}\" with {partitions} partitions");
    if !metadata.contains(&topic) {
        return false;
    }
    (0..partitions).all(|partition| {
        let prefix = format!("partition {partition}, leader ");
        metadata.lines().any(|line| {
            let line = line.trim();
            let Some((_, isrs)) = line.split_once("isrs: ") else {
                return false;
            };
            line.starts_with(&prefix)
                && !line.starts_with(&format!("{prefix}-1"))
                && isrs.split(',').count() == isr
        })
    })
}

/// Checks that every acknowledged record is in `consumed`, and that within each partition
/// the first copies of the records of one batch come in the order they were sent.
fn check(consumed: &[(u32, String)], acknowledged: &[String]) -> Result<(), String> {
    let present: BTreeSet<&str> = consumed.iter().map(|(_, value)| value.as_str()).collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|record| !present.contains(record.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} acknowledged records missing: {missing:?}",
            missing.len()
        ));
    }
    let mut seen = BTreeSet::new();
    let mut last: BTreeMap<(u32, &str), &str> = BTreeMap::new();
    for (partition, value) in consumed {
        if !seen.insert(value.as_str()) {
            continue;
        }
        let (batch, _) = value.split_once('-').expect("batch-number");
        if let Some(previous) = last.insert((*partition, batch), value.as_str()) {
            if previous > value.as_str() {
                return Err(format!("partition {partition}: {value} after {previous}"));
            }
        }
    }
    Ok(())
}

#[test]
fn acknowledged_records_survive_a_leader_kill_9() {
    let mut cluster = Cluster::start();
    cluster.wait_for_metadata("saw 3 brokers", |text| text.contains(" 3 brokers:"));
    let mut acknowledged = Vec::new();

    // The first batch creates the topic; wait until every partition is on all three nodes.
    let first = records("a", 60);
    let mut producer = Kcat::spawn(&cluster.bootstrap(), PRODUCE);
    producer.write(&lines(&first));
    let output = producer.finish();
    assert!(output.status.success(), "first batch: {output:?}");
    acknowledged.extend(first);
    let metadata = cluster.wait_for_metadata("replicated the topic", |text| {
        fully_replicated(text, 3, NODES)
    });
    let victim = leader_of(&metadata, 0).expect("partition 0 has a leader");

    // A producer mid-stream: half its records go before the kill, half after.
    let second = records("b", 60);
    let mut producer = Kcat::spawn(&cluster.bootstrap(), PRODUCE);
    producer.write(&lines(&second[..30]));
    thread::sleep(Duration::from_millis(500));
    cluster.kill_9(victim);
    producer.write(&lines(&second[30..]));
    let output = producer.finish();
    assert!(
        output.status.success(),
        "the producer across the kill failed: {output:?}"
    );
    acknowledged.extend(second);

    // Producing goes on against the survivors, to the new leaders.
    let metadata = cluster.wait_for_metadata("moved the leaders", |text| {
        fully_replicated(text, 3, NODES - 1)
    });
    assert_ne!(leader_of(&metadata, 0), Some(victim), "{metadata}");
    let third = records("c", 60);
    let mut producer = Kcat::spawn(&cluster.bootstrap(), PRODUCE);
    producer.write(&lines(&third));
    let output = producer.finish();
    assert!(output.status.success(), "after the kill: {output:?}");
    acknowledged.extend(third);

    // A new leader's high watermark may trail for a moment; read until it has caught up.
    let deadline = Instant::now() + SETTLE;
    loop {
        let consumed = consume(&cluster.bootstrap());
        match check(&consumed, &acknowledged) {
            Ok(()) => break,
            Err(problem) if Instant::now() < deadline && problem.contains("missing") => {
                thread::sleep(Duration::from_millis(500));
            }
            Err(problem) => panic!("{problem}\nconsumed: {consumed:?}"),
        }
    }

    // The killed node comes back, catches up, and serves every acknowledged record again.
    cluster.launch(victim - 1);
    cluster.wait_for_metadata("took the restarted node back into every ISR", |text| {
        text.contains(" 3 brokers:") && fully_replicated(text, 3, NODES)
    });
    let consumed = consume(&format!(
        "127.0.0.1:{}",
        cluster.nodes[victim - 1].client_port
    ));
    check(&consumed, &acknowledged).unwrap();
}

/// SIGTERM makes a partition leader hand its leaderships over before it exits (controlled
/// shutdown): the controller lets it go only once they moved, and nothing acknowledged is lost.
#[test]
fn sigterm_moves_leadership_before_the_node_stops() {
    let mut cluster = Cluster::start();
    cluster.wait_for_metadata("saw 3 brokers", |text| text.contains(" 3 brokers:"));
    let first = records("s", 40);
    let mut producer = Kcat::spawn(&cluster.bootstrap(), PRODUCE);
    producer.write(&lines(&first));
    let output = producer.finish();
    assert!(output.status.success(), "produce: {output:?}");
    let metadata = cluster.wait_for_metadata("replicated the topic", |text| {
        fully_replicated(text, 3, NODES)
    });
    let victim = leader_of(&metadata, 0).expect("partition 0 has a leader");
    cluster.terminate(victim);
    assert!(
        cluster.logged(
            victim,
            "controlled shutdown: the controller let the broker go"
        ),
        "node {victim} stopped without a controlled shutdown"
    );
    let metadata = cluster.wait_for_metadata("moved the leaders", |text| {
        fully_replicated(text, 3, NODES - 1)
    });
    assert_ne!(leader_of(&metadata, 0), Some(victim), "{metadata}");
    let consumed = consume(&cluster.bootstrap());
    check(&consumed, &first).unwrap();
}

/// Runs `tests/clients/failover.py` for `client` and kills the leader of partition 0 when
/// the script says it is mid-stream; the script checks every acknowledged record.
fn python_client_across_a_leader_kill_9(client: &str) {
    use std::io::BufRead;
    let mut cluster = Cluster::start();
    cluster.wait_for_metadata("saw 3 brokers", |text| text.contains(" 3 brokers:"));
    let topic = format!("failover-{client}");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/failover.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([client, &cluster.bootstrap(), &topic])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let (said, heard) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if said.send(line).is_err() {
                break;
            }
        }
    });
    let mut killed = None;
    let mut output = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match heard.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line == "MIDSTREAM" && killed.is_none() => {
                let args = ["-L", "-t", topic.as_str(), "-m", "5"];
                let metadata = Kcat::spawn(&cluster.bootstrap(), &args).finish();
                let text = String::from_utf8_lossy(&metadata.stdout).into_owned();
                let victim = leader_of(&text, 0).expect("partition 0 has a leader");
                cluster.kill_9(victim);
                killed = Some(victim);
            }
            Ok(line) => output.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait().unwrap();
    let mut errors = String::new();
    let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut errors);
    assert!(
        killed.is_some(),
        "{client} never got mid-stream: {output:?} {errors}"
    );
    assert!(status.success(), "{client}: {status} {output:?}\n{errors}");
}

#[test]
fn confluent_kafka_loses_nothing_across_a_leader_kill_9() {
    python_client_across_a_leader_kill_9("confluent-kafka");
}

#[test]
fn kafka_python_loses_nothing_across_a_leader_kill_9() {
    python_client_across_a_leader_kill_9("kafka-python");
}

#[test]
fn aiokafka_loses_nothing_across_a_leader_kill_9() {
    python_client_across_a_leader_kill_9("aiokafka");
}

#[test]
fn the_check_catches_lost_and_reordered_records() {
    let acknowledged = vec!["a-0001".to_string(), "a-0002".to_string()];
    let whole = vec![(0, "a-0001".to_string()), (0, "a-0002".to_string())];
    assert!(check(&whole, &acknowledged).is_ok());
    let lost = vec![(0, "a-0001".to_string())];
    assert!(check(&lost, &acknowledged).is_err());
    let reordered = vec![(0, "a-0002".to_string()), (0, "a-0001".to_string())];
    assert!(check(&reordered, &acknowledged).is_err());
    let duplicated = vec![
        (0, "a-0001".to_string()),
        (0, "a-0002".to_string()),
        (0, "a-0001".to_string()),
    ];
    assert!(check(&duplicated, &acknowledged).is_ok());
}
