//! Random valid consumer-group histories: a simulated correct group coordinator (generations,
//! committed offsets, resets) and members that rebalance, poll a fixed log from where their
//! assignment starts them, and commit what they read, while a reader fetches the committed
//! offsets. Commits, fetches and resets overlap each other and rebalances, take effect at some
//! point between invocation and completion (one process's in order), and end OK, failed or
//! indefinite (an indefinite one may still take effect later). Resets overlap commits too, though
//! Kafka only takes them while the group is empty. Every seed must pass the checker; each
//! planted coordinator bug must be caught in most seeds.

mod support;

use std::collections::BTreeMap;

use sluice_jepsen::{anomaly, check, History, OpId, Report};
use support::Prng;

const GROUP: &str = "g";
const PARTITIONS: i32 = 3;
const MEMBERS: u64 = 3;
/// Offsets of each partition's log; every seventh holds no record (a transaction marker).
const LOG_END: i64 = 60;
const READER: u64 = 8;
const ADMIN: u64 = 9;
const STEPS: usize = 400;
const SEEDS: u64 = 300;

/// A planted coordinator bug.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Commits of any generation are accepted.
    AcceptStaleGenerations,
    /// One partition is given to two members in each rebalance.
    DoubleAssign,
    /// The final committed-offset read is served from a stale cache: each partition's last
    /// committed offset below its current one (none when there was none).
    StaleFinalRead,
}

/// What a member believes: the generation and partitions of its last OK assignment, and where
/// it stands on each.
#[derive(Default)]
struct Member {
    generation: i32,
    positions: BTreeMap<i32, i64>,
}

/// An operation in flight.
enum Effect {
    Commit {
        generation: i32,
        offsets: Vec<(i32, i64)>,
        reset: bool,
    },
    Fetch {
        partitions: Option<Vec<i32>>,
    },
}

/// How an operation's effect went, once it took effect.
enum Outcome {
    Accepted,
    Refused,
    Read(Vec<(i32, i64)>),
}

/// A commit, reset or fetch in flight, or completed indefinite and not yet in effect.
struct Pending {
    op: OpId,
    process: u64,
    effect: Effect,
    outcome: Option<Outcome>,
    /// Completed indefinite: it may still take effect, but is never completed again.
    completed: bool,
}

/// A SyncGroup in flight: the coordinator already moved to its generation.
struct Sync {
    op: OpId,
    member: u64,
    generation: i32,
    partitions: Vec<i32>,
    starts: Vec<(i32, i64)>,
}

/// The coordinator, its members and the history of their operations.
struct Simulation {
    prng: Prng,
    fault: Fault,
    history: History,
    generation: i32,
    /// Per partition, every committed offset in the order they took effect.
    committed: BTreeMap<i32, Vec<i64>>,
    members: BTreeMap<u64, Member>,
    pending: Vec<Pending>,
    syncs: Vec<Sync>,
}

impl Simulation {
    fn new(seed: u64, fault: Fault) -> Self {
        let mut history = History::new();
        for partition in 0..PARTITIONS {
            for offset in (0..LOG_END).filter(|offset| offset % 7 != 6) {
                let op = history.invoke_send(50, partition, offset as u64).unwrap();
                history.ok_send(op, offset).unwrap();
            }
        }
        Self {
            prng: Prng(seed),
            fault,
            history,
            generation: 0,
            committed: BTreeMap::new(),
            members: (1..=MEMBERS).map(|m| (m, Member::default())).collect(),
            pending: Vec::new(),
            syncs: Vec::new(),
        }
    }

    /// One random action.
    fn step(&mut self) {
        let member = 1 + self.prng.below(MEMBERS);
        match self.prng.below(100) {
            0..=4 => self.rebalance(),
            5..=14 => self.complete_sync(),
            15..=39 => self.poll(member),
            40..=54 => self.commit(member),
            55..=62 => self.fetch(),
            63..=64 => self.reset(),
            65..=84 => self.apply(),
            _ => self.complete(),
        }
    }

    /// The offset `partition` has committed now, if any.
    fn committed_now(&self, partition: i32) -> Option<i64> {
        self.committed
            .get(&partition)
            .and_then(|c| c.last().copied())
    }

    /// A new generation: the coordinator moves to it at once, and each member's SyncGroup for
    /// it is invoked; they complete later. Waits for the previous generation's.
    fn rebalance(&mut self) {
        if !self.syncs.is_empty() {
            return;
        }
        self.generation += 1;
        let mut owned: BTreeMap<u64, Vec<i32>> = (1..=MEMBERS).map(|m| (m, vec![])).collect();
        for partition in 0..PARTITIONS {
            let owner = 1 + self.prng.below(MEMBERS);
            owned.get_mut(&owner).unwrap().push(partition);
            if self.fault == Fault::DoubleAssign && partition == 0 {
                let other = 1 + owner % MEMBERS;
                owned.get_mut(&other).unwrap().push(partition);
            }
        }
        for (member, partitions) in owned {
            let starts = partitions
                .iter()
                .map(|p| (*p, self.committed_now(*p).unwrap_or(0)))
                .collect();
            let op = self
                .history
                .invoke_assignment(member, GROUP, &format!("m{member}"), self.generation)
                .unwrap();
            self.syncs.push(Sync {
                op,
                member,
                generation: self.generation,
                partitions,
                starts,
            });
        }
    }

    /// Completes a random SyncGroup: OK (the member revokes what it had and starts its new
    /// partitions where they were committed), or failed or indefinite (it keeps its old view).
    fn complete_sync(&mut self) {
        if self.syncs.is_empty() {
            return;
        }
        let at = self.prng.below(self.syncs.len() as u64) as usize;
        let sync = self.syncs.remove(at);
        match self.prng.below(10) {
            0 => return self.history.fail(sync.op).unwrap(),
            1 => return self.history.info(sync.op).unwrap(),
            _ => {}
        }
        let member = self.members.get_mut(&sync.member).unwrap();
        if member.generation > 0 && !member.positions.is_empty() {
            let had: Vec<i32> = member.positions.keys().copied().collect();
            let name = format!("m{}", sync.member);
            self.history
                .revoke(sync.member, GROUP, &name, member.generation, had)
                .unwrap();
        }
        self.history
            .ok_assignment(sync.op, sync.partitions)
            .unwrap();
        self.history
            .ok_assignment_positions(sync.op, sync.starts.clone())
            .unwrap();
        member.generation = sync.generation;
        member.positions = sync.starts.into_iter().collect();
    }

    /// One poll by `member` of the partitions it believes it owns, a few records each.
    fn poll(&mut self, member: u64) {
        let mut reads = Vec::new();
        let limit = self.prng.below(5) as usize;
        let state = self.members.get_mut(&member).unwrap();
        for (partition, position) in &mut state.positions {
            let records: Vec<(i64, u64)> = (*position..LOG_END)
                .filter(|offset| offset % 7 != 6)
                .take(limit)
                .map(|offset| (offset, offset as u64))
                .collect();
            if let Some((last, _)) = records.last() {
                *position = last + 1;
            }
            reads.push((*partition, records));
        }
        if reads.is_empty() {
            return;
        }
        let op = self.history.invoke_poll(member);
        self.history.ok_poll(op, reads, false).unwrap();
    }

    /// `member` commits where it stands, in the generation it believes in.
    fn commit(&mut self, member: u64) {
        let state = &self.members[&member];
        if state.positions.is_empty() {
            return;
        }
        let offsets: Vec<(i32, i64)> = state.positions.iter().map(|(p, o)| (*p, *o)).collect();
        let generation = state.generation;
        let op = self
            .history
            .invoke_commit(
                member,
                GROUP,
                &format!("m{member}"),
                generation,
                offsets.clone(),
            )
            .unwrap();
        self.push(
            op,
            member,
            Effect::Commit {
                generation,
                offsets,
                reset: false,
            },
        );
    }

    /// The reader fetches the committed offsets of some partitions, or of all.
    fn fetch(&mut self) {
        let partitions = if self.prng.chance(50) {
            None
        } else {
            Some(vec![
                i32::try_from(self.prng.below(PARTITIONS as u64)).unwrap()
            ])
        };
        let op = self
            .history
            .invoke_offset_fetch(READER, GROUP, partitions.clone())
            .unwrap();
        self.push(op, READER, Effect::Fetch { partitions });
    }

    /// The operator resets one partition back to a lower offset.
    fn reset(&mut self) {
        let partition = i32::try_from(self.prng.below(PARTITIONS as u64)).unwrap();
        let Some(now) = self.committed_now(partition) else {
            return;
        };
        let offset = i64::try_from(self.prng.below(now as u64 + 1)).unwrap();
        let offsets = vec![(partition, offset)];
        let op = self
            .history
            .invoke_reset(ADMIN, GROUP, offsets.clone())
            .unwrap();
        self.push(
            op,
            ADMIN,
            Effect::Commit {
                generation: -1,
                offsets,
                reset: true,
            },
        );
    }

    /// Puts an invoked commit, reset or fetch in flight.
    fn push(&mut self, op: OpId, process: u64, effect: Effect) {
        self.pending.push(Pending {
            op,
            process,
            effect,
            outcome: None,
            completed: false,
        });
    }

    /// A random process's oldest operation not yet in effect takes effect.
    fn apply(&mut self) {
        let process = [1, 2, 3, READER, ADMIN][self.prng.below(5) as usize];
        self.apply_oldest(process);
    }

    /// `process`'s oldest operation not yet in effect takes effect; false when there is none.
    fn apply_oldest(&mut self, process: u64) -> bool {
        let Some(at) = self
            .pending
            .iter()
            .position(|p| p.process == process && p.outcome.is_none())
        else {
            return false;
        };
        let outcome = match &self.pending[at].effect {
            Effect::Commit {
                generation,
                offsets,
                reset,
            } => {
                let current =
                    *generation == self.generation || self.fault == Fault::AcceptStaleGenerations;
                if *reset || current {
                    for (partition, offset) in offsets {
                        self.committed.entry(*partition).or_default().push(*offset);
                    }
                    Outcome::Accepted
                } else {
                    Outcome::Refused
                }
            }
            Effect::Fetch { partitions } => {
                let asked: Vec<i32> = match partitions {
                    Some(asked) => asked.clone(),
                    None => self.committed.keys().copied().collect(),
                };
                let read = asked
                    .into_iter()
                    .map(|p| (p, self.committed_now(p).unwrap_or(-1)))
                    .collect();
                Outcome::Read(read)
            }
        };
        self.pending[at].outcome = Some(outcome);
        true
    }

    /// Completes a random operation: as it went once in effect (sometimes indefinite), or
    /// indefinite before (it may take effect later). Done once both are, it leaves the list.
    fn complete(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let at = self.prng.below(self.pending.len() as u64) as usize;
        let pending = &mut self.pending[at];
        if pending.completed {
            return;
        }
        let op = pending.op;
        let indefinite = self.prng.chance(15);
        match (&pending.outcome, indefinite) {
            (None, false) => return,
            (None, true) => {
                pending.completed = true;
                return self.history.info(op).unwrap();
            }
            (Some(_), true) => self.history.info(op).unwrap(),
            (Some(Outcome::Accepted), false) => self.history.ok_commit(op).unwrap(),
            (Some(Outcome::Refused), false) => self.history.fail(op).unwrap(),
            (Some(Outcome::Read(read)), false) => {
                self.history.ok_offset_fetch(op, read.clone()).unwrap()
            }
        }
        self.pending.remove(at);
    }

    /// Everything in flight takes effect and completes, then the reader fetches every
    /// committed offset, and a fresh consumer reads the whole log.
    fn finish(mut self) -> History {
        while !self.syncs.is_empty() {
            self.complete_sync();
        }
        for process in [1, 2, 3, READER, ADMIN] {
            while self.apply_oldest(process) {}
        }
        while let Some(at) = self.pending.iter().position(|p| !p.completed) {
            self.finish_one(at);
        }
        let read: Vec<(i32, i64)> = self
            .committed
            .iter()
            .map(|(partition, offsets)| {
                let now = *offsets.last().unwrap();
                let read = if self.fault == Fault::StaleFinalRead {
                    offsets
                        .iter()
                        .rev()
                        .find(|o| **o < now)
                        .copied()
                        .unwrap_or(-1)
                } else {
                    now
                };
                (*partition, read)
            })
            .collect();
        let op = self
            .history
            .invoke_offset_fetch(READER, GROUP, None)
            .unwrap();
        self.history.ok_offset_fetch(op, read).unwrap();
        let everything = (0..PARTITIONS)
            .map(|p| {
                let records = (0..LOG_END)
                    .filter(|offset| offset % 7 != 6)
                    .map(|offset| (offset, offset as u64))
                    .collect();
                (p, records)
            })
            .collect();
        let op = self.history.invoke_poll(99);
        self.history.ok_poll(op, everything, true).unwrap();
        self.history
    }

    /// Completes the in-effect operation at `at` as it went.
    fn finish_one(&mut self, at: usize) {
        let pending = self.pending.remove(at);
        match pending.outcome {
            Some(Outcome::Accepted) => self.history.ok_commit(pending.op).unwrap(),
            Some(Outcome::Refused) => self.history.fail(pending.op).unwrap(),
            Some(Outcome::Read(read)) => self.history.ok_offset_fetch(pending.op, read).unwrap(),
            None => self.history.info(pending.op).unwrap(),
        }
    }
}

/// Runs `seed` with `fault` planted and checks the history.
fn run(seed: u64, fault: Fault) -> Report {
    let mut simulation = Simulation::new(seed, fault);
    for _ in 0..STEPS {
        simulation.step();
    }
    check(&simulation.finish())
}

#[test]
fn random_valid_group_histories_always_pass() {
    let mut totals = (0, 0, 0);
    for seed in 0..SEEDS {
        let report = run(seed, Fault::None);
        assert!(report.anomalies.is_empty(), "seed {seed}:\n{report}");
        totals.0 += report.ok_commits;
        totals.1 += report.ok_offset_fetches;
        totals.2 += report.ok_assignments;
    }
    // The generator must exercise what it claims to.
    assert!(
        totals.0 > 2_000 && totals.1 > 5_000 && totals.2 > 4_000,
        "{totals:?}"
    );
}

/// Runs every seed with `fault`; each report may hold only `allowed` kinds, and `caught` of
/// them must say `expected`.
fn planted(fault: Fault, expected: &str, allowed: &[&str]) -> u64 {
    let mut caught = 0;
    for seed in 0..SEEDS {
        let report = run(seed, fault);
        assert!(
            report.anomalies.keys().all(|kind| allowed.contains(kind)),
            "seed {seed}:\n{report}"
        );
        caught += u64::from(report.count(expected) > 0);
    }
    caught
}

#[test]
fn accepting_stale_generations_is_caught() {
    let allowed = [anomaly::ZOMBIE_COMMIT, anomaly::COMMITTED_OFFSET_REGRESSION];
    let caught = planted(
        Fault::AcceptStaleGenerations,
        anomaly::ZOMBIE_COMMIT,
        &allowed,
    );
    assert!(caught > SEEDS / 2, "caught in {caught} seeds");
}

#[test]
fn assigning_a_partition_twice_is_caught() {
    let allowed = [
        anomaly::DOUBLE_ASSIGNMENT,
        anomaly::COMMITTED_OFFSET_REGRESSION,
    ];
    let caught = planted(Fault::DoubleAssign, anomaly::DOUBLE_ASSIGNMENT, &allowed);
    assert!(caught > SEEDS * 9 / 10, "caught in {caught} seeds");
}

#[test]
fn a_stale_committed_offset_read_is_caught() {
    let allowed = [anomaly::COMMITTED_OFFSET_REGRESSION];
    let caught = planted(
        Fault::StaleFinalRead,
        anomaly::COMMITTED_OFFSET_REGRESSION,
        &allowed,
    );
    assert!(caught > SEEDS / 2, "caught in {caught} seeds");
}

#[test]
fn random_group_histories_are_deterministic() {
    let run = |seed| {
        let mut simulation = Simulation::new(seed, Fault::None);
        for _ in 0..STEPS {
            simulation.step();
        }
        simulation.finish()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}
