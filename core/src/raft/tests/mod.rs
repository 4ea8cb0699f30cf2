//! State-machine tests: feed a node inputs and assert its exact outputs. Each test cites the
//! part of the Raft paper (Ongaro & Ousterhout 2014) or of Ongaro's thesis (2014) it checks.
//! `cluster` runs whole clusters under faults, on `crate::mem_disk`.

mod cluster;
mod election;
mod recovery;
mod replication;

use super::*;
use crate::mem_disk::MemDisk;
use crate::rng::SplitMix64 as TestRng;

pub(super) const DIR: &str = "meta";

pub(super) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

pub(super) fn at(millis: u64) -> Instant {
    Instant::ZERO + ms(millis)
}

pub(super) fn config(id: u32, voters: u32) -> RaftConfig {
    let mut config = RaftConfig::new(NodeId(id), (1..=voters).map(NodeId).collect());
    config.election_timeout_min = ms(100);
    config.election_timeout_max = ms(200);
    config.heartbeat_interval = ms(20);
    config
}

pub(super) fn open(disk: &mut MemDisk, id: u32, voters: u32) -> RaftNode {
    RaftNode::open(disk, DIR, config(id, voters)).expect("open")
}

/// The node's outputs, with each persist carried out on `disk` and reported at once (the
/// outputs after it come after it, as a driver releases them).
pub(super) fn drain<D: Disk + ?Sized>(node: &mut RaftNode, disk: &mut D) -> Vec<Output> {
    let mut outputs = Vec::new();
    while let Some(output) = node.poll_output() {
        match output {
            Output::Persist { id, write } => {
                let result = match write {
                    Persist::Sync { file } => disk.sync(&file),
                    Persist::Replace { dir, name, bytes } => {
                        crate::disk::replace_file(disk, &dir, &name, &bytes)
                    }
                };
                node.handle_persisted(disk, id, result).expect("persisted");
            }
            output => outputs.push(output),
        }
    }
    outputs
}

/// The node's next output, which must be a `Persist::Replace` (`what` says which, for the
/// panic): its id, directory, file name and contents.
pub(super) fn next_replace(node: &mut RaftNode, what: &str) -> (u64, String, String, Vec<u8>) {
    match node.poll_output() {
        Some(Output::Persist {
            id,
            write: Persist::Replace { dir, name, bytes },
        }) => (id, dir, name, bytes),
        other => panic!("{what} comes next, not {other:?}"),
    }
}

pub(super) fn send(to: u32, msg: Message) -> Output {
    Output::Send {
        to: NodeId(to),
        msg,
    }
}

pub(super) fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    Entry {
        term,
        index,
        data: data.to_vec(),
    }
}

pub(super) fn success(term: u64, match_index: u64) -> Message {
    Message::AppendEntriesResponse {
        term,
        outcome: AppendOutcome::Success { match_index },
    }
}

/// Draws the first timeout at 0, then fires the election timeout; returns when it fired.
pub(super) fn fire_election_timeout(
    node: &mut RaftNode,
    disk: &mut MemDisk,
    rng: &mut TestRng,
) -> Instant {
    node.handle_timeout(Instant::ZERO, disk, rng).unwrap();
    let deadline = node.poll_timeout().unwrap();
    assert!(deadline >= at(100) && deadline <= at(200), "{deadline}");
    node.handle_timeout(deadline, disk, rng).unwrap();
    deadline
}

/// Makes `node` leader of the next term with grants from the lowest-numbered peers.
pub(super) fn elect(
    node: &mut RaftNode,
    disk: &mut MemDisk,
    rng: &mut TestRng,
    now: Instant,
) -> Instant {
    if node.poll_timeout() == Some(Instant::ZERO) {
        node.handle_timeout(Instant::ZERO, disk, rng).unwrap();
    }
    let deadline = node.poll_timeout().unwrap().max(now);
    node.handle_timeout(deadline, disk, rng).unwrap();
    let term = node.term() + 1;
    let peers: Vec<NodeId> = node
        .config()
        .voters
        .iter()
        .copied()
        .filter(|id| *id != node.id())
        .collect();
    let needed = node.config().quorum() - 1;
    for peer in &peers[..needed] {
        let msg = Message::PreVoteResponse {
            term,
            granted: true,
        };
        node.handle_message(deadline, disk, *peer, msg).unwrap();
    }
    for peer in &peers[..needed] {
        let msg = Message::RequestVoteResponse {
            term,
            granted: true,
        };
        node.handle_message(deadline, disk, *peer, msg).unwrap();
    }
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.term(), term);
    drain(node, disk);
    deadline
}
