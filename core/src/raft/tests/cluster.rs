//! A small deterministic cluster harness: 3 or 5 nodes, an in-memory network that drops,
//! delays (so reorders) and duplicates messages, link cuts, machine crashes with torn log
//! tails, and snapshots, all drawn from one seed. It checks Raft's safety properties (Raft
//! Figure 3) at every step, then heals the faults and checks that the cluster converges.
//!
//! Replay one seed with `RAFT_SEED=<seed> cargo test -p sluice-core raft::tests::cluster`.

use std::collections::{BTreeMap, BTreeSet};

use crate::bugs::{self, Bug};
use crate::disk::DiskError;
use crate::mem_disk::MemDisk;
use crate::raft::*;
use crate::rng::SplitMix64 as TestRng;

const DIR: &str = "controller";

/// Fault settings for one run, derived from the seed.
#[derive(Clone, Copy, Debug)]
struct Faults {
    drop_per_mille: u64,
    duplicate_per_mille: u64,
    delay_max_ms: u64,
    crashes: bool,
    cuts: bool,
}

/// The application each node runs: a digest of every entry applied, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct App {
    index: u64,
    digest: u64,
}

impl App {
    fn apply(&mut self, index: u64, term: u64, data: &[u8]) {
        let mut digest = self.digest ^ index.rotate_left(17) ^ term.rotate_left(41);
        for byte in data {
            digest = (digest ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.digest = digest.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.index = index;
    }

    fn encode(&self) -> Vec<u8> {
        [self.index.to_be_bytes(), self.digest.to_be_bytes()].concat()
    }

    fn decode(bytes: &[u8]) -> App {
        App {
            index: u64::from_be_bytes(bytes[0..8].try_into().unwrap()),
            digest: u64::from_be_bytes(bytes[8..16].try_into().unwrap()),
        }
    }
}

/// What every node must agree on, learned as the run goes.
#[derive(Default)]
struct Oracle {
    /// Election Safety: the one leader of each term.
    leaders: BTreeMap<u64, NodeId>,
    /// State Machine Safety: the term of each committed index, which never changes.
    committed: BTreeMap<u64, u64>,
    /// The application digest after each index, the same on every node.
    digests: BTreeMap<u64, u64>,
}

struct Cluster {
    seed: u64,
    rng: TestRng,
    faults: Faults,
    now: Instant,
    configs: Vec<RaftConfig>,
    nodes: Vec<Option<RaftNode>>,
    disks: Vec<MemDisk>,
    node_rngs: Vec<TestRng>,
    down_until: Vec<Option<Instant>>,
    apps: Vec<App>,
    /// Per node: committed indices already checked against the oracle.
    checked_commit: Vec<u64>,
    /// Per node: the highest term seen, which must never go down (even across restarts).
    terms: Vec<u64>,
    network: BTreeMap<(Instant, u64), (usize, usize, Message)>,
    sequence: u64,
    cut: BTreeSet<(usize, usize)>,
    next_action: Instant,
    proposed: u64,
    oracle: Oracle,
    trace: u64,
    /// Counters of nodes that crashed, summed.
    retired_stats: Vec<RaftStats>,
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

impl Cluster {
    fn new(seed: u64, voters: usize, faults: Faults) -> Cluster {
        let mut rng = TestRng::new(seed);
        let ids: Vec<NodeId> = (1..=voters as u32).map(NodeId).collect();
        let configs: Vec<RaftConfig> = ids
            .iter()
            .map(|id| {
                let mut config = RaftConfig::new(*id, ids.clone());
                config.election_timeout_min = ms(150);
                config.election_timeout_max = ms(300);
                config.heartbeat_interval = ms(30);
                config.append_entries_max = 4;
                config.inflight_appends_max = 3;
                config.uncommitted_entries_max = 64;
                config
            })
            .collect();
        let mut disks = vec![MemDisk::default(); voters];
        let nodes = (0..voters)
            .map(|i| Some(RaftNode::open(&mut disks[i], DIR, configs[i].clone()).unwrap()))
            .collect();
        let node_rngs = (0..voters).map(|_| TestRng::new(rng.next_u64())).collect();
        Cluster {
            seed,
            rng,
            faults,
            now: Instant::ZERO,
            configs,
            nodes,
            disks,
            node_rngs,
            down_until: vec![None; voters],
            apps: vec![App::default(); voters],
            checked_commit: vec![0; voters],
            terms: vec![0; voters],
            network: BTreeMap::new(),
            sequence: 0,
            cut: BTreeSet::new(),
            next_action: Instant::ZERO,
            proposed: 0,
            oracle: Oracle::default(),
            trace: 0,
            retired_stats: Vec::new(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "SEED={} t={} FAILED: {what}\nreplay: RAFT_SEED={} cargo test -p sluice-core raft::tests::cluster",
            self.seed, self.now, self.seed
        );
    }

    fn record(&mut self, event: &str) {
        for byte in event.bytes().chain(self.now.as_nanos().to_be_bytes()) {
            self.trace = (self.trace ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    /// Runs until `end`, one event at a time: the earliest of a delivery, a node's timer, or
    /// the next fault/client action.
    fn run_until(&mut self, end: Instant) {
        loop {
            let delivery = self.network.keys().next().map(|(at, _)| *at);
            let timer = (0..self.nodes.len())
                .filter_map(|i| Some((self.nodes[i].as_ref()?.poll_timeout()?, i)))
                .min();
            let next = [delivery, timer.map(|(at, _)| at), Some(self.next_action)]
                .into_iter()
                .flatten()
                .min()
                .unwrap();
            if next > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(next);
            if delivery == Some(next) {
                let (_, (from, to, msg)) = self.network.pop_first().unwrap();
                self.deliver(from, to, msg);
            } else if let Some((at, i)) = timer.filter(|(at, _)| *at == next) {
                assert!(at <= self.now);
                let node = self.nodes[i].as_mut().unwrap();
                let result =
                    node.handle_timeout(self.now, &mut self.disks[i], &mut self.node_rngs[i]);
                self.record(&format!("timeout {i}"));
                self.settle(i, result, "a timeout");
            } else {
                self.act();
                self.next_action = self.now + ms(10);
            }
            self.check();
        }
    }

    fn deliver(&mut self, from: usize, to: usize, msg: Message) {
        if self.nodes[to].is_none() {
            return;
        }
        self.record(&format!("{from}->{to} {msg:?}"));
        let from_id = self.configs[from].id;
        let node = self.nodes[to].as_mut().unwrap();
        let result = node.handle_message(self.now, &mut self.disks[to], from_id, msg);
        self.settle(to, result, "a message");
    }

    /// Drains node `i` after an input, or crashes it if its disk died during the input.
    fn settle<T>(&mut self, i: usize, result: Result<T, RaftError>, input: &str) {
        match result {
            Ok(_) => self.drain(i),
            Err(RaftError::Disk(DiskError::Crashed)) => self.crash(i),
            Err(error) => self.fail(&format!("node {i} failed on {input}: {error}")),
        }
    }

    fn drain(&mut self, i: usize) {
        while let Some(output) = self.nodes[i].as_mut().unwrap().poll_output() {
            match output {
                Output::Persist { id, write } => {
                    // Carried out at once: the outputs after it come after it.
                    let disk = &mut self.disks[i];
                    let result = match write {
                        Persist::Sync { file } => disk.sync(&file),
                        Persist::Replace { dir, name, bytes } => {
                            crate::disk::replace_file(disk, &dir, &name, &bytes)
                        }
                    };
                    let node = self.nodes[i].as_mut().unwrap();
                    let result = node.handle_persisted(&mut self.disks[i], id, result);
                    if let Err(RaftError::Disk(DiskError::Crashed)) = result {
                        return self.crash(i);
                    }
                    if let Err(error) = result {
                        self.fail(&format!("node {i} failed to persist: {error}"));
                    }
                }
                Output::Send { to, msg } => self.transmit(i, to.0 as usize - 1, msg),
                Output::Apply { index, term, data } => {
                    if index != self.apps[i].index + 1 {
                        self.fail(&format!(
                            "node {i} applied {index} after {}",
                            self.apps[i].index
                        ));
                    }
                    self.apps[i].apply(index, term, &data);
                    self.record(&format!("apply {i} {index} {term}"));
                    let digest = self.apps[i].digest;
                    if *self.oracle.digests.entry(index).or_insert(digest) != digest {
                        self.fail(&format!("node {i} applied a different entry at {index}"));
                    }
                }
                Output::RestoreSnapshot { index, data, .. } => {
                    let app = App::decode(&data);
                    if app.index != index || self.oracle.digests.get(&index) != Some(&app.digest) {
                        self.fail(&format!(
                            "node {i} restored a snapshot unlike the others at {index}"
                        ));
                    }
                    if index < self.apps[i].index {
                        self.fail(&format!(
                            "node {i} restored {index} after applying {}",
                            self.apps[i].index
                        ));
                    }
                    self.apps[i] = app;
                }
            }
        }
    }

    fn transmit(&mut self, from: usize, to: usize, msg: Message) {
        if self.cut.contains(&(from, to)) || self.rng.chance(self.faults.drop_per_mille, 1000) {
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate_per_mille, 1000) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = ms(self.rng.range_inclusive(1, self.faults.delay_max_ms));
            self.sequence += 1;
            self.network
                .insert((self.now + delay, self.sequence), (from, to, msg.clone()));
        }
    }

    /// Client proposals, crashes and restarts, link cuts and compactions.
    fn act(&mut self) {
        let leader = (0..self.nodes.len())
            .filter(|i| {
                self.nodes[*i]
                    .as_ref()
                    .is_some_and(|n| n.role() == Role::Leader)
            })
            .max_by_key(|i| self.nodes[*i].as_ref().unwrap().term());
        if let Some(i) = leader.filter(|_| self.rng.chance(1, 3)) {
            self.proposed += 1;
            let data = self.proposed.to_be_bytes().to_vec();
            let node = self.nodes[i].as_mut().unwrap();
            match node.propose(self.now, &mut self.disks[i], data) {
                Ok(_) | Err(ProposeError::QueueFull) => self.drain(i),
                Err(ProposeError::Failed(error)) => self.settle::<()>(i, Err(error), "propose"),
                Err(error) => self.fail(&format!("propose at leader {i}: {error}")),
            }
        }
        for i in 0..self.nodes.len() {
            if self.down_until[i].is_some_and(|until| until <= self.now) {
                self.restart(i);
            }
        }
        let down = self.nodes.iter().filter(|node| node.is_none()).count();
        if self.faults.crashes && down < self.nodes.len() / 2 && self.rng.chance(1, 150) {
            let i = self.rng.below(self.nodes.len() as u64) as usize;
            if self.nodes[i].is_some() && self.rng.chance(1, 2) {
                self.crash(i);
            } else if self.nodes[i].is_some() {
                // Die inside one of the next disk calls, perhaps mid-write.
                self.disks[i].crash_after_calls = Some(self.rng.below(12));
            }
        }
        if self.faults.cuts && self.rng.chance(1, 100) {
            self.reshape_cuts();
        }
        if self.rng.chance(1, 20) {
            self.compact_somewhere();
        }
    }

    fn crash(&mut self, i: usize) {
        self.record(&format!("crash {i}"));
        let node = self.nodes[i].take().unwrap();
        self.retired_stats.push(*node.stats());
        let died_in_a_call = self.disks[i].crash_after_calls == Some(0);
        if died_in_a_call || self.rng.chance(1, 2) {
            self.disks[i].crash_machine(&mut self.rng);
        }
        // An armed crash that did not fire is disarmed with the process.
        self.disks[i].crash_after_calls = None;
        self.down_until[i] = Some(self.now + ms(self.rng.range_inclusive(20, 600)));
    }

    fn restart(&mut self, i: usize) {
        self.record(&format!("restart {i}"));
        let node = RaftNode::open(&mut self.disks[i], DIR, self.configs[i].clone())
            .unwrap_or_else(|error| self.fail(&format!("node {i} does not reopen: {error}")));
        self.checked_commit[i] = node.snapshot_index_term().0;
        self.apps[i] = App::default();
        self.nodes[i] = Some(node);
        self.down_until[i] = None;
        self.drain(i);
    }

    /// Heals every cut, or isolates one node, or cuts one direction of one link.
    fn reshape_cuts(&mut self) {
        let n = self.nodes.len() as u64;
        self.cut.clear();
        match self.rng.below(3) {
            0 => {}
            1 => {
                let alone = self.rng.below(n) as usize;
                for other in 0..self.nodes.len() {
                    self.cut.insert((alone, other));
                    self.cut.insert((other, alone));
                }
            }
            _ => {
                let from = self.rng.below(n) as usize;
                let to = self.rng.below(n) as usize;
                self.cut.insert((from, to));
            }
        }
    }

    fn compact_somewhere(&mut self) {
        let i = self.rng.below(self.nodes.len() as u64) as usize;
        let app = self.apps[i];
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        if app.index >= node.snapshot_index_term().0 + 8 {
            assert_eq!(node.applied_index(), app.index);
            match node.compact(app.index, app.encode()) {
                Ok(()) => {}
                Err(CompactError::Failed(error)) => self.settle::<()>(i, Err(error), "compact"),
                Err(error) => self.fail(&format!("compact at {i}: {error}")),
            }
        }
    }

    /// Election Safety, State Machine Safety and monotonic terms, after every event.
    fn check(&mut self) {
        for i in 0..self.nodes.len() {
            let Some(node) = self.nodes[i].as_ref() else {
                continue;
            };
            if node.term() < self.terms[i] {
                self.fail(&format!("node {i}'s term went back to {}", node.term()));
            }
            self.terms[i] = node.term();
            if node.role() == Role::Leader {
                let first = *self.oracle.leaders.entry(node.term()).or_insert(node.id());
                if first != node.id() {
                    self.fail(&format!(
                        "two leaders in term {}: {first} and {}",
                        node.term(),
                        node.id()
                    ));
                }
            }
            let from = self.checked_commit[i].max(node.snapshot_index_term().0) + 1;
            for index in from..=node.commit_index() {
                let term = node.term_at(index).unwrap();
                if *self.oracle.committed.entry(index).or_insert(term) != term {
                    self.fail(&format!("node {i} committed term {term} at {index}, another term was committed there"));
                }
            }
            self.checked_commit[i] = self.checked_commit[i].max(node.commit_index());
        }
    }

    /// Log Matching (Raft §5.3): if two logs hold an entry with the same index and term, they
    /// are identical up to it.
    fn check_log_matching(&self) {
        let up: Vec<&RaftNode> = self.nodes.iter().flatten().collect();
        for (a, left) in up.iter().enumerate() {
            for right in &up[a + 1..] {
                let low = left.first_index().max(right.first_index());
                let high = left.last_index().min(right.last_index());
                let Some(agree) = (low..=high)
                    .rev()
                    .find(|i| left.term_at(*i) == right.term_at(*i))
                else {
                    continue;
                };
                for index in low..=agree {
                    if left.entry(index) != right.entry(index) {
                        self.fail(&format!(
                            "logs of {} and {} differ at {index} below matching {agree}",
                            left.id(),
                            right.id()
                        ));
                    }
                }
            }
        }
    }

    /// Ends the faults, restarts every node and checks the cluster elects one leader that every
    /// node follows, and commits and applies a new entry everywhere.
    fn heal_and_converge(&mut self) {
        self.faults = Faults {
            drop_per_mille: 0,
            duplicate_per_mille: 0,
            delay_max_ms: self.faults.delay_max_ms,
            crashes: false,
            cuts: false,
        };
        self.cut.clear();
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_none() {
                self.restart(i);
            }
        }
        self.run_until(self.now + ms(3_000));
        let nodes: Vec<&RaftNode> = self.nodes.iter().flatten().collect();
        let leaders: Vec<NodeId> = nodes
            .iter()
            .filter(|n| n.role() == Role::Leader)
            .map(|n| n.id())
            .collect();
        if leaders.len() != 1 || nodes.iter().any(|n| n.leader() != Some(leaders[0])) {
            self.fail(&format!("no single leader after healing: {leaders:?}"));
        }
        let i = leaders[0].0 as usize - 1;
        let index = self.nodes[i].as_mut().unwrap().propose(
            self.now,
            &mut self.disks[i],
            b"final".to_vec(),
        );
        let index = index.unwrap_or_else(|error| self.fail(&format!("final proposal: {error}")));
        self.drain(i);
        self.run_until(self.now + ms(1_000));
        if let Some(lagging) = (0..self.apps.len()).find(|i| self.apps[*i].index < index) {
            self.fail(&format!(
                "node {lagging} applied {} of {index}",
                self.apps[lagging].index
            ));
        }
        self.check_log_matching();
    }
}

fn faults_for(seed: u64) -> Faults {
    let mut rng = TestRng::new(seed ^ 0xFA01_7500);
    Faults {
        drop_per_mille: rng.below(200),
        duplicate_per_mille: rng.below(50),
        delay_max_ms: rng.range_inclusive(2, 40),
        crashes: rng.chance(2, 3),
        cuts: rng.chance(2, 3),
    }
}

/// What a run reached, summed over its nodes, for coverage marks.
#[derive(Clone, Copy, Debug, Default)]
struct Coverage {
    committed: u64,
    leaders: u64,
    pre_votes_refused_for_lease: u64,
    check_quorum_step_downs: u64,
    log_truncations: u64,
    snapshots_installed: u64,
    tail_cuts: u64,
}

impl Coverage {
    fn add(&mut self, stats: &RaftStats) {
        self.pre_votes_refused_for_lease += stats.pre_votes_refused_for_lease;
        self.check_quorum_step_downs += stats.check_quorum_step_downs;
        self.log_truncations += stats.log_truncations;
        self.snapshots_installed += stats.snapshots_installed;
        self.tail_cuts += u64::from(stats.tail_cut_bytes > 0);
    }

    fn merge(&mut self, other: &Coverage) {
        self.committed += other.committed;
        self.leaders += other.leaders;
        self.pre_votes_refused_for_lease += other.pre_votes_refused_for_lease;
        self.check_quorum_step_downs += other.check_quorum_step_downs;
        self.log_truncations += other.log_truncations;
        self.snapshots_installed += other.snapshots_installed;
        self.tail_cuts += other.tail_cuts;
    }

    fn assert_reached(&self) {
        assert!(self.committed > 0, "{self:?}");
        assert!(self.leaders > 0, "{self:?}");
        assert!(self.pre_votes_refused_for_lease > 0, "{self:?}");
        assert!(self.check_quorum_step_downs > 0, "{self:?}");
        assert!(self.log_truncations > 0, "{self:?}");
        assert!(self.snapshots_installed > 0, "{self:?}");
        assert!(self.tail_cuts > 0, "{self:?}");
    }
}

/// Runs one seed: a fault phase checked at every step, then a healed phase that must converge.
/// Returns the trace hash and what the run reached.
fn run_seed(seed: u64, voters: usize) -> (u64, Coverage) {
    let mut cluster = Cluster::new(seed, voters, faults_for(seed));
    for _ in 0..8 {
        let end = cluster.now + ms(500);
        cluster.run_until(end);
        cluster.check_log_matching();
    }
    cluster.heal_and_converge();
    let mut coverage = Coverage {
        committed: cluster.oracle.committed.len() as u64,
        leaders: cluster.oracle.leaders.len() as u64,
        ..Coverage::default()
    };
    for stats in &cluster.retired_stats {
        coverage.add(stats);
    }
    for node in cluster.nodes.iter().flatten() {
        coverage.add(node.stats());
    }
    (cluster.trace, coverage)
}

fn sweep(count: u64, voters: usize) {
    if bugs::active(Bug::RaftVoteForStaleLog) {
        // The planted bug must be caught: some seed elects a leader that lacks a committed
        // entry, and the checks fail.
        let caught = seeds(count, voters as u64)
            .into_iter()
            .position(|seed| std::panic::catch_unwind(|| run_seed(seed, voters)).is_err());
        let caught = caught.expect("the planted Bug::RaftVoteForStaleLog went unnoticed");
        println!(
            "Bug::RaftVoteForStaleLog caught by seed number {}",
            caught + 1
        );
        return;
    }
    let mut total = Coverage::default();
    for seed in seeds(count, voters as u64) {
        total.merge(&run_seed(seed, voters).1);
    }
    if std::env::var("RAFT_SEED").is_err() {
        total.assert_reached();
    }
}

/// The seeds of a sweep: `RAFT_SEED` alone if set, else `RAFT_SEEDS` (default `count`) seeds
/// that differ per cluster size so the two sweeps explore different runs.
fn seeds(count: u64, salt: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var("RAFT_SEED") {
        return vec![seed.parse().expect("RAFT_SEED is a u64")];
    }
    let count = std::env::var("RAFT_SEEDS").map_or(count, |n| n.parse().expect("a count"));
    (0..count).map(|i| i * 1_000_003 + salt).collect()
}

#[test]
fn three_voters_stay_safe_under_faults_and_converge() {
    // Raft Figure 3: Election Safety, Log Matching, State Machine Safety; thesis §9.6 and §6.2
    // for liveness after the faults heal.
    sweep(60, 3);
}

#[test]
fn five_voters_stay_safe_under_faults_and_converge() {
    sweep(40, 5);
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    assert_eq!(run_seed(42, 5).0, run_seed(42, 5).0);
    assert_ne!(run_seed(42, 5).0, run_seed(43, 5).0);
}

#[cfg(feature = "bug-switches")]
#[test]
fn a_vote_for_a_stale_log_is_caught() {
    bugs::with(Bug::RaftVoteForStaleLog, || {
        sweep(60, 3);
        sweep(40, 5);
    });
}
