//! The broker follows the metadata log and takes up the partition roles it gives — but only
//! once the metadata holds its current registration (the rule the simulator's replication
//! scenarios call `data_activate`).
//!
//! Before that, what the broker replays is its previous incarnation's world: it may show
//! this broker leading an epoch whose tail a crash took, until the controller (which moves a
//! re-registering broker's leaderships away, KIP-966) has had its say.

use super::node::{Node, Step};
use super::notes::NodeNote;
use crate::controller::{PartitionRole, Role};
use crate::raft::CommittedRead;
use crate::time::Instant;

impl Node {
    /// A broker-only node's metadata fetch came back: apply it, then fetch again at once
    /// while behind, or after `metadata_fetch_interval` once caught up.
    pub(super) fn metadata_fetched(&mut self, step: &mut Step<'_>, read: CommittedRead) {
        let behind = !matches!(read, CommittedRead::UpToDate { .. });
        // A refused read changed nothing: the next fetch starts from the right place.
        let applied = self.follow_read(read).is_ok();
        self.roles_changed(step);
        let now = step.now;
        let at = match behind && applied {
            true => now,
            false => {
                let interval = self.config.metadata_fetch_interval;
                now.checked_add(interval).unwrap_or(now)
            }
        };
        if let Some(lifecycle) = self.lifecycle.as_mut() {
            lifecycle.fetch_at = Some(at);
        }
    }

    /// The next metadata fetch goes after `retry.backoff.ms`.
    pub(super) fn fetch_retry_at(&mut self, now: Instant) {
        let backoff = self.config.retry_backoff;
        if let Some(lifecycle) = self.lifecycle.as_mut() {
            lifecycle.fetch_at = Some(now.checked_add(backoff).unwrap_or(now));
        }
    }

    /// Acts on every role change the last applied metadata made, in order, once active.
    pub(super) fn roles_changed(&mut self, step: &mut Step<'_>) {
        let active = self.lifecycle.as_ref().is_some_and(|l| l.active);
        while let Some(change) = self.follower.poll_change() {
            if active {
                self.apply_role(step, &change);
            }
        }
        if self.follower.take_configs_changed() {
            let image = self.follower.image();
            self.manager.sync_topic_configs(step.now, step.disk, image);
        }
        self.activate(step);
    }

    fn apply_role(&mut self, step: &mut Step<'_>, change: &PartitionRole) {
        let image = self.follower.image();
        let result = self
            .manager
            .apply_role(step.now, step.wall_ms, step.disk, image, change);
        if result.is_err() {
            // The replica stays offline; clients get errors for it until a later role opens it.
            self.stats.roles_failed += 1;
        } else if let Role::Leader { leader_epoch, .. } = change.role {
            let (topic_id, partition) = (change.topic_id, change.partition);
            self.note(|| NodeNote::LeadershipTaken {
                topic_id,
                partition,
                leader_epoch,
            });
        }
    }

    /// Once the applied metadata holds this broker's current registration, takes up every
    /// role it gives, and heartbeats at once: the broker is caught up and may be unfenced.
    pub(super) fn activate(&mut self, step: &mut Step<'_>) {
        let Some(lifecycle) = self.lifecycle.as_mut() else {
            return;
        };
        let Some(epoch) = lifecycle.epoch else {
            return;
        };
        if lifecycle.active || !self.follower.is_registered(epoch) {
            return;
        }
        lifecycle.active = true;
        let me = self.config.broker_id();
        let roles: Vec<PartitionRole> = self
            .follower
            .image()
            .partitions()
            .filter(|(_, _, state)| state.replicas.contains(&me))
            .map(|(topic_id, partition, _)| PartitionRole {
                topic_id,
                partition,
                role: self.follower.role(topic_id, partition),
            })
            .filter(|change| change.role != Role::None)
            .collect();
        for change in &roles {
            self.apply_role(step, change);
        }
        self.heartbeat_soon(step.now);
    }
}
