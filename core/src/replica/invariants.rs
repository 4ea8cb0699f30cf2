//! What must hold of every replica after every input, asserted by the node (STYLE.md §5): a
//! broken one is a bug, and inside the simulator the panic fails the seed.

use std::collections::BTreeMap;

use super::manager::ReplicaManager;
use super::PartitionKey;

/// The highest high watermark each led partition has shown, by leader epoch: a leader's high
/// watermark never goes down within its epoch (consumers saw it).
#[derive(Debug, Default)]
pub(super) struct LeaderWatermarks(BTreeMap<PartitionKey, (i32, i64)>);

impl ReplicaManager {
    /// Asserts the replicas' invariants: HW ≤ LEO; a leader is in its ISR, the ISR and its
    /// followers are among the assigned replicas, and its HW never goes down within its
    /// epoch; and no partition woken by an input is left for a later one to try its held
    /// fetches.
    pub fn check_invariants(&mut self) {
        assert!(
            self.woken.is_empty(),
            "held fetches of {:?} left for a later input",
            self.woken
        );
        let me = self.me;
        let watermarks = &mut self.watermarks.0;
        for (key, partition) in &self.partitions {
            let (hw, leo) = (partition.high_watermark, partition.log_end_offset());
            assert!(
                hw <= leo,
                "{key:?}: high watermark {hw} above log end {leo}"
            );
            let Some(leader) = partition.leader() else {
                // Only what leads is remembered: a leadership lost and taken again is a new
                // epoch.
                watermarks.remove(key);
                continue;
            };
            assert!(
                leader.isr.contains(&me),
                "{key:?}: leader outside its ISR {:?}",
                leader.isr
            );
            let assigned = |b: &i32| leader.replicas.contains(b);
            assert!(
                leader.isr.iter().all(assigned),
                "{key:?}: ISR {:?} outside the replicas {:?}",
                leader.isr,
                leader.replicas
            );
            assert!(leader.followers.keys().all(assigned));
            let epoch = leader.leader_epoch;
            match watermarks.get_mut(key) {
                Some((seen_epoch, seen_hw)) if *seen_epoch == epoch => {
                    assert!(
                        *seen_hw <= hw,
                        "{key:?}: the leader's high watermark went from {seen_hw} to {hw} in \
                         epoch {epoch}"
                    );
                    *seen_hw = hw;
                }
                Some(seen) => *seen = (epoch, hw),
                None => {
                    watermarks.insert(*key, (epoch, hw));
                }
            }
        }
        // Partitions gone altogether (a deleted topic) are forgotten too.
        if watermarks.len() > self.partitions.len() {
            watermarks.retain(|key, _| self.partitions.contains_key(key));
        }
    }
}
