//! The cross-node checks, fed by what each node notes of its decisions after every input.

use sluice_core::broker::NodeNote;
use sluice_core::controller::{check_invariants, decode_batch, MetadataRecord};
use sluice_core::raft::Role;

use super::Cluster;

impl Cluster {
    /// Checks what `index`'s node noted in its last input, and the state it is in now.
    pub(super) fn check_notes(&mut self, index: usize) {
        let id = self.procs[index].net_id.0;
        let controller = self.procs[index].is_controller();
        let mut records = Vec::new();
        loop {
            let Some(node) = self.procs[index].node.as_mut() else {
                return;
            };
            let Some(note) = node.poll_note() else {
                break;
            };
            match note {
                NodeNote::Applied {
                    index: entry,
                    term,
                    data,
                } => {
                    if let Err(detail) = self.history.committed(id, entry, term, &data) {
                        return self.fail("committed-entry-changed", detail);
                    }
                    match decode_batch(&data) {
                        Ok(batch) => records.extend(batch),
                        Err(error) => {
                            return self.fail("undecodable-entry", format!("{entry}: {error}"))
                        }
                    }
                }
                NodeNote::SnapshotLoaded { index: entry, data } => {
                    if let Err(detail) = self.history.snapshot(entry, &data) {
                        return self.fail("snapshot-diverged", detail);
                    }
                    self.kernel
                        .record(format_args!("n{id} loaded a snapshot at {entry}"));
                    self.mark(match controller {
                        true => "snapshot-installed",
                        false => "broker-loaded-snapshot",
                    });
                }
                NodeNote::SnapshotTaken { index: entry, data } => {
                    if let Err(detail) = self.history.snapshot(entry, &data) {
                        return self.fail("snapshot-diverged", detail);
                    }
                    self.mark("log-compacted");
                }
                NodeNote::ControllerActivated { term } => {
                    self.kernel.record(format_args!(
                        "n{id} is the active controller in term {term}"
                    ));
                    self.mark("controller-elected");
                    if self
                        .history
                        .controller_changed(sluice_core::raft::NodeId(id))
                    {
                        self.mark("controller-failover");
                    }
                }
                NodeNote::ControllerResigned => {
                    self.kernel
                        .record(format_args!("n{id} resigned as controller"));
                }
                NodeNote::LeadershipTaken {
                    topic_id,
                    partition,
                    leader_epoch,
                } => {
                    self.mark("broker-became-leader");
                    self.kernel.record(format_args!(
                        "n{id} leads partition {partition} in epoch {leader_epoch}"
                    ));
                    let key = (topic_id, partition, leader_epoch);
                    if let Err(detail) = self.history.broker_leads(key, id as i32) {
                        return self.fail("two-brokers-lead-one-epoch", detail);
                    }
                    self.on_leader(index, topic_id, partition);
                }
            }
        }
        for record in &records {
            self.note_record(record, &records);
        }
        let Some(node) = self.procs[index].node.as_ref() else {
            return;
        };
        if let Some(raft) = node.raft().filter(|raft| raft.role() == Role::Leader) {
            let (term, me) = (raft.term(), raft.id());
            if let Err(detail) = self.history.leader(term, me) {
                return self.fail("two-leaders-one-term", detail);
            }
        }
        if records.is_empty() {
            return;
        }
        let image = node.image();
        if let Err(violation) = check_invariants(image) {
            let applied = node.applied_index();
            return self.fail(
                "metadata-invariant",
                format!("n{id} at {applied}: {violation:?}"),
            );
        }
        for record in &records {
            if let Err(detail) = self.history.partition_leader(image, record) {
                return self.fail("two-leaders-one-epoch", detail);
            }
        }
    }

    /// Marks for what the committed metadata says happened.
    fn note_record(&mut self, record: &MetadataRecord, entry: &[MetadataRecord]) {
        match record {
            MetadataRecord::FenceBroker { .. } => self.mark("broker-fenced"),
            MetadataRecord::RemoveTopic { .. } => self.mark("topic-deleted"),
            MetadataRecord::UnfenceBroker { .. } => self.mark("broker-unfenced"),
            MetadataRecord::PartitionChange(change) if change.leader >= 0 => {
                self.mark("partition-leader-moved")
            }
            MetadataRecord::RegisterBroker(register) => {
                // KIP-966: a broker back from an unclean shutdown leaves every ISR and ELR in
                // the decision that registers it.
                let excluded = entry.iter().any(|other| {
                    matches!(other, MetadataRecord::PartitionChange(c)
                        if !c.isr.contains(&register.broker_id)
                            && !c.elr.contains(&register.broker_id)
                            && c.leader != register.broker_id)
                });
                if excluded {
                    self.mark("lossy-replica-excluded");
                }
            }
            _ => {}
        }
    }
}
