//! The broker side of the metadata log: a broker follows the log as a KRaft observer does
//! (KIP-595's Fetch, KIP-630's FetchSnapshot), applies it in order to its own
//! [`MetadataImage`], and learns from each applied batch which partitions it now leads or
//! follows (KIP-631).
//!
//! Roles come only from applied metadata: a broker that is behind never acts on a leader
//! epoch it has not applied, and the epochs it is told for a partition never go down.
//!
//! # Call order
//!
//! 1. [`MetadataFollower::new`] with the broker's id and the controllers' [`ImageLimits`].
//! 2. Ask any controller for `read_committed(follower.fetch_from(), ..)` (see
//!    [`crate::raft::RaftNode::read_committed`]) and hand the answer to
//!    [`MetadataFollower::handle_read`]. A refused answer changed nothing: fetch again, from
//!    the same or another controller.
//! 3. After every `handle_read`, drain [`MetadataFollower::poll_change`] until `None` and act
//!    on each [`PartitionRole`] in order: lead with that epoch and ISR, follow that leader, or
//!    drop the replica. A read arriving while changes are still queued is refused.
//! 4. Heartbeat with `caught_up` = [`MetadataFollower::is_registered`] for the broker's epoch.

use core::fmt;
use std::collections::{BTreeMap, VecDeque};

use super::batch::decode_batch;
use super::codec::DecodeError;
use super::config::ImageLimits;
use super::image::{MetadataImage, PartitionState};
use super::record::{BrokerId, MetadataRecord, Uuid};
use crate::raft::{CommittedRead, Entry};

/// What this broker does for one partition, as of the metadata it has applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// It leads the partition.
    Leader {
        /// The leader epoch to stamp on its log and to check in fetches.
        leader_epoch: i32,
        /// The partition epoch its AlterPartition requests must carry.
        partition_epoch: i32,
        /// The in-sync replicas, itself included.
        isr: Vec<BrokerId>,
    },
    /// It is a replica that fetches from `leader`.
    Follower {
        /// The leader to fetch from, or [`super::NO_LEADER`] while there is none.
        leader: BrokerId,
        /// The leader epoch its fetches must carry.
        leader_epoch: i32,
    },
    /// It is not a replica (any more), or the topic is gone.
    None,
}

impl Role {
    /// The leader epoch of a leader or follower role.
    pub fn leader_epoch(&self) -> Option<i32> {
        match self {
            Role::Leader { leader_epoch, .. } | Role::Follower { leader_epoch, .. } => {
                Some(*leader_epoch)
            }
            Role::None => None,
        }
    }
}

/// A partition whose role for this broker changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRole {
    /// The topic.
    pub topic_id: Uuid,
    /// The partition index.
    pub partition: i32,
    /// The new role.
    pub role: Role,
}

/// Why [`MetadataFollower::handle_read`] refused a read. The follower is left exactly as it
/// was; the caller fetches again from [`MetadataFollower::fetch_from`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowError {
    /// The entries skip past the next index wanted.
    Gap {
        /// The index wanted.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// The entries start before the next index wanted (a duplicate or reordered answer).
    IndexBackwards {
        /// The index wanted.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// An entry or snapshot has a lower term than what was applied before it.
    TermBackwards {
        /// Its index.
        index: u64,
        /// Its term.
        term: u64,
        /// The term applied before it.
        previous: u64,
    },
    /// An entry lies past the commit index the server sent with it: it could be truncated.
    BeyondCommit {
        /// The entry's index.
        index: u64,
        /// The server's commit index.
        commit: u64,
    },
    /// An entry is not a batch of metadata records.
    Undecodable {
        /// The entry's index.
        index: u64,
        /// Why.
        error: DecodeError,
    },
    /// A snapshot that does not reach past what is already applied.
    StaleSnapshot {
        /// The snapshot's index.
        index: u64,
        /// The index already applied.
        applied: u64,
    },
    /// A snapshot that does not load.
    UndecodableSnapshot {
        /// The snapshot's index.
        index: u64,
        /// Why.
        error: DecodeError,
    },
    /// The changes of the previous read were not drained; drain [`MetadataFollower::poll_change`]
    /// first. This keeps the change queue to one read's worth.
    ChangesPending {
        /// Changes still queued.
        pending: usize,
    },
}

impl fmt::Display for FollowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FollowError::Gap { expected, found } => {
                write!(f, "metadata gap: wanted index {expected}, got {found}")
            }
            FollowError::IndexBackwards { expected, found } => {
                write!(
                    f,
                    "metadata index went back: wanted {expected}, got {found}"
                )
            }
            FollowError::TermBackwards {
                index,
                term,
                previous,
            } => write!(
                f,
                "metadata term went back at {index}: {term} after {previous}"
            ),
            FollowError::BeyondCommit { index, commit } => {
                write!(
                    f,
                    "metadata entry {index} is past the commit index {commit}"
                )
            }
            FollowError::Undecodable { index, error } => {
                write!(f, "metadata entry {index} does not decode: {error}")
            }
            FollowError::StaleSnapshot { index, applied } => {
                write!(
                    f,
                    "metadata snapshot at {index} is not past applied {applied}"
                )
            }
            FollowError::UndecodableSnapshot { index, error } => {
                write!(f, "metadata snapshot at {index} does not load: {error}")
            }
            FollowError::ChangesPending { pending } => {
                write!(f, "{pending} partition role changes not yet drained")
            }
        }
    }
}

impl std::error::Error for FollowError {}

/// Counters for coverage marks in simulation scenarios.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FollowerStats {
    /// Log entries applied (no-ops included).
    pub entries_applied: u64,
    /// Snapshots loaded in place of entries.
    pub snapshots_loaded: u64,
    /// Reads refused for what the server sent (every [`FollowError`] but `ChangesPending`).
    pub reads_refused: u64,
}

/// A broker following the metadata log. See the module documentation for the call order.
#[derive(Clone, Debug)]
pub struct MetadataFollower {
    broker_id: BrokerId,
    image: MetadataImage,
    /// The last index applied to `image`, from an entry or a snapshot.
    applied: u64,
    /// The term of that index, which never goes down along a log.
    applied_term: u64,
    /// The highest commit index any server reported.
    commit_seen: u64,
    /// Role changes of the last read, not yet polled.
    changes: VecDeque<PartitionRole>,
    /// A topic config changed since [`MetadataFollower::take_configs_changed`] last said so.
    configs_changed: bool,
    stats: FollowerStats,
}

impl MetadataFollower {
    /// A broker that has applied nothing yet. `limits` must be the controllers' own, or the
    /// images could differ.
    pub fn new(broker_id: BrokerId, limits: ImageLimits) -> MetadataFollower {
        assert!(broker_id >= 0, "broker ids are not negative");
        let follower = MetadataFollower {
            broker_id,
            image: MetadataImage::new(limits),
            applied: 0,
            applied_term: 0,
            commit_seen: 0,
            changes: VecDeque::new(),
            configs_changed: false,
            stats: FollowerStats::default(),
        };
        follower.check_invariants();
        follower
    }

    /// Whether a topic config changed (a ConfigRecord, or a snapshot loaded) since the last
    /// call: the replicas then put their topics' configs in force again.
    pub fn take_configs_changed(&mut self) -> bool {
        std::mem::take(&mut self.configs_changed)
    }

    /// The next index wanted: pass it to `read_committed`.
    pub fn fetch_from(&self) -> u64 {
        self.applied.saturating_add(1)
    }

    /// Applies a server's answer: entries in order, or a snapshot in place of the image. Every
    /// entry is checked and decoded before any is applied, so a refused read changes nothing
    /// (an empty list of entries changes nothing either). Refused while the previous read's
    /// changes are still queued.
    pub fn handle_read(&mut self, read: CommittedRead) -> Result<(), FollowError> {
        if !self.changes.is_empty() {
            return Err(FollowError::ChangesPending {
                pending: self.changes.len(),
            });
        }
        let result = match read {
            CommittedRead::Entries { entries, commit } => self.apply_entries(&entries, commit),
            CommittedRead::Snapshot { index, term, data } => self.load_snapshot(index, term, &data),
            CommittedRead::UpToDate { commit } => {
                self.commit_seen = self.commit_seen.max(commit);
                Ok(())
            }
        };
        if result.is_err() {
            assert!(self.changes.is_empty(), "a refused read changes nothing");
            self.stats.reads_refused += 1;
        }
        self.check_invariants();
        result
    }

    /// The next partition whose role for this broker changed, in the order the metadata
    /// changed it.
    pub fn poll_change(&mut self) -> Option<PartitionRole> {
        self.changes.pop_front()
    }

    /// This broker's role for a partition, as of the applied metadata.
    pub fn role(&self, topic_id: Uuid, partition: i32) -> Role {
        role_of(&self.image, self.broker_id, topic_id, partition)
    }

    /// The metadata applied so far.
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// The last index applied.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// The highest commit index a server reported; the broker is caught up with the log when
    /// [`MetadataFollower::applied_index`] reaches it.
    pub fn commit_seen(&self) -> u64 {
        self.commit_seen
    }

    /// True when this broker's registration with `broker_epoch` is applied: the heartbeat's
    /// `caught_up` (the broker has replayed the log at least up to its own registration).
    pub fn is_registered(&self, broker_epoch: i64) -> bool {
        self.image
            .broker(self.broker_id)
            .is_some_and(|broker| broker.broker_epoch == broker_epoch)
    }

    /// The broker this follower works for.
    pub fn broker_id(&self) -> BrokerId {
        self.broker_id
    }

    /// Counters of notable events.
    pub fn stats(&self) -> &FollowerStats {
        &self.stats
    }

    fn apply_entries(&mut self, entries: &[Entry], commit: u64) -> Result<(), FollowError> {
        let batches = self.apply_entries_check(entries, commit)?;
        self.commit_seen = self.commit_seen.max(commit);
        for (entry, records) in entries.iter().zip(batches) {
            self.apply_batch(&records);
            assert_eq!(entry.index, self.fetch_from(), "checked to be consecutive");
            self.applied = entry.index;
            self.applied_term = entry.term;
            self.stats.entries_applied += 1;
        }
        Ok(())
    }

    /// Checks that `entries` continue what was applied and are committed, and decodes them.
    fn apply_entries_check(
        &self,
        entries: &[Entry],
        commit: u64,
    ) -> Result<Vec<Vec<MetadataRecord>>, FollowError> {
        let mut expected = self.fetch_from();
        let mut previous = self.applied_term;
        let mut batches = Vec::with_capacity(entries.len());
        for entry in entries {
            let (index, term) = (entry.index, entry.term);
            if index < expected {
                return Err(FollowError::IndexBackwards {
                    expected,
                    found: index,
                });
            }
            if index > expected {
                return Err(FollowError::Gap {
                    expected,
                    found: index,
                });
            }
            if index > commit {
                return Err(FollowError::BeyondCommit { index, commit });
            }
            if term < previous {
                return Err(FollowError::TermBackwards {
                    index,
                    term,
                    previous,
                });
            }
            let records = decode_batch(&entry.data)
                .map_err(|error| FollowError::Undecodable { index, error })?;
            batches.push(records);
            expected = expected.saturating_add(1);
            previous = term;
        }
        Ok(batches)
    }

    /// Applies one entry's records and queues the role changes they made, diffing only the
    /// partitions the records touch.
    fn apply_batch(&mut self, records: &[MetadataRecord]) {
        let mut before: BTreeMap<(Uuid, i32), Role> = BTreeMap::new();
        for record in records {
            match record {
                MetadataRecord::Partition(p) => self.touch(&mut before, p.topic_id, p.partition),
                MetadataRecord::PartitionChange(c) => {
                    self.touch(&mut before, c.topic_id, c.partition)
                }
                MetadataRecord::RemoveTopic { topic_id } => {
                    let count = self
                        .image
                        .topic(*topic_id)
                        .map_or(0, |t| t.partitions.len());
                    for partition in 0..count {
                        let partition = i32::try_from(partition).expect("partitions_max fits i32");
                        self.touch(&mut before, *topic_id, partition);
                    }
                }
                MetadataRecord::Config { .. } => self.configs_changed = true,
                _ => {}
            }
            self.image.apply(record);
            if let MetadataRecord::RemoveTopic { .. } = record {
                // A later record of the batch could reuse the topic id for a new topic: its
                // partitions start over, so the removal is reported before they are.
                self.apply_batch_diff(&mut before);
            }
        }
        self.apply_batch_diff(&mut before);
    }

    /// Remembers the role a touched partition had before the batch changed it.
    fn touch(&self, before: &mut BTreeMap<(Uuid, i32), Role>, topic_id: Uuid, partition: i32) {
        before
            .entry((topic_id, partition))
            .or_insert_with(|| role_of(&self.image, self.broker_id, topic_id, partition));
    }

    /// Queues every touched partition whose role differs from the one remembered.
    fn apply_batch_diff(&mut self, before: &mut BTreeMap<(Uuid, i32), Role>) {
        for ((topic_id, partition), old) in std::mem::take(before) {
            let new = self.role(topic_id, partition);
            if new != old {
                self.push_change(&old, topic_id, partition, new);
            }
        }
    }

    /// Replaces the image with a snapshot's and queues the roles that differ from the old
    /// image's.
    fn load_snapshot(&mut self, index: u64, term: u64, data: &[u8]) -> Result<(), FollowError> {
        if index <= self.applied {
            return Err(FollowError::StaleSnapshot {
                index,
                applied: self.applied,
            });
        }
        if term < self.applied_term {
            return Err(FollowError::TermBackwards {
                index,
                term,
                previous: self.applied_term,
            });
        }
        let limits = *self.image.limits();
        let image = MetadataImage::decode_snapshot(limits, data)
            .map_err(|error| FollowError::UndecodableSnapshot { index, error })?;
        let old = std::mem::replace(&mut self.image, image);
        self.configs_changed = true;
        self.load_snapshot_diff(&old);
        self.applied = index;
        self.applied_term = term;
        self.commit_seen = self.commit_seen.max(index);
        self.stats.snapshots_loaded += 1;
        Ok(())
    }

    /// Queues the role of every partition this broker had or has a role in, where it changed.
    /// Loading a snapshot costs O(partitions) anyway, so this may too.
    fn load_snapshot_diff(&mut self, old: &MetadataImage) {
        let broker_id = self.broker_id;
        let mut before: BTreeMap<(Uuid, i32), Role> = old
            .partitions()
            .map(|(topic_id, partition, state)| ((topic_id, partition), role_in(broker_id, state)))
            .filter(|(_, role)| *role != Role::None)
            .collect();
        for (topic_id, partition, state) in self.image.partitions() {
            if role_in(broker_id, state) != Role::None {
                before.entry((topic_id, partition)).or_insert(Role::None);
            }
        }
        for ((topic_id, partition), mut old_role) in before {
            let new = self.role(topic_id, partition);
            let regressed = matches!(
                (old_role.leader_epoch(), new.leader_epoch()),
                (Some(was), Some(is)) if is < was
            );
            if regressed {
                // Only a topic removed and created again under the same id (which no
                // controller does) lowers an epoch: report the old partition gone first.
                self.push_change(&old_role, topic_id, partition, Role::None);
                old_role = Role::None;
            }
            if new != old_role {
                self.push_change(&old_role, topic_id, partition, new);
            }
        }
    }

    fn push_change(&mut self, old: &Role, topic_id: Uuid, partition: i32, role: Role) {
        assert_ne!(*old, role, "only changes are reported");
        if let (Some(was), Some(is)) = (old.leader_epoch(), role.leader_epoch()) {
            // The image applies a leader change only with a higher leader epoch, and a
            // partition's epochs restart only when its topic is removed, which is reported as
            // Role::None before any later role.
            assert!(
                is >= was,
                "{topic_id}-{partition}: leader epoch {is} after {was}"
            );
        }
        self.changes.push_back(PartitionRole {
            topic_id,
            partition,
            role,
        });
    }

    fn check_invariants(&self) {
        assert!(
            self.commit_seen >= self.applied,
            "applied entries were committed"
        );
        assert!(self.applied > 0 || self.applied_term == 0);
        assert!(self.image.partition_count() <= self.image.limits().partitions_max);
    }
}

/// `broker_id`'s role for a partition in `image`.
fn role_of(image: &MetadataImage, broker_id: BrokerId, topic_id: Uuid, partition: i32) -> Role {
    image
        .partition(topic_id, partition)
        .map_or(Role::None, |state| role_in(broker_id, state))
}

/// `broker_id`'s role for a partition in `state`.
fn role_in(broker_id: BrokerId, state: &PartitionState) -> Role {
    if !state.replicas.contains(&broker_id) {
        Role::None
    } else if state.leader == broker_id {
        Role::Leader {
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            isr: state.isr.clone(),
        }
    } else {
        Role::Follower {
            leader: state.leader,
            leader_epoch: state.leader_epoch,
        }
    }
}
