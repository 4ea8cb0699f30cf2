//! The replication invariants, checked across brokers while the run goes on, and the final
//! verdict once it healed: the checker over the client history and the replicas' logs.

use std::collections::BTreeMap;

use sluice_core::controller::{MetadataImage, Uuid};
use sluice_core::replica::PartitionKey;
use sluice_core::time::Duration;
use sluice_jepsen::{check_healed_replicas, check_replicas, check_with, CheckOptions, ReplicaLog};

use super::{Cluster, Event};

/// How often the cross-broker invariants are checked.
pub const AUDIT_EVERY: Duration = Duration::from_millis(500);
/// Every how many audits the replicas' whole logs are compared.
const LOG_MATCHING_EVERY: u64 = 4;

/// What the audit remembers between rounds.
#[derive(Default)]
pub struct AuditState {
    /// The highest high watermark each leader reported, per epoch and process start.
    leader_hw: BTreeMap<(PartitionKey, i32, usize, u32), i64>,
    /// The committed log as the replicas' high watermarks revealed it: (partition, offset) →
    /// (value, the node and epoch it was first seen at). Every replica's records below its
    /// high watermark must match it.
    committed: BTreeMap<(i32, i64), (u64, u32, Option<i32>)>,
    /// Per replica (partition, process, process start), the offset its records were checked
    /// against `committed` up to.
    checked: BTreeMap<(PartitionKey, usize, u32), i64>,
    /// Audits so far.
    rounds: u64,
}

impl AuditState {
    /// Forgets what was committed in `partition`: an unclean election chose a new history.
    pub(crate) fn forget_committed(&mut self, partition: i32) {
        self.committed.retain(|(p, _), _| *p != partition);
        self.checked.retain(|(key, _, _), _| key.1 != partition);
    }
}

/// The workload's values (decimal numbers) of stored records, by offset.
pub(crate) fn workload_values(
    records: Vec<sluice_core::replica::StoredRecord>,
) -> impl Iterator<Item = (i64, u64)> {
    records.into_iter().filter_map(|(offset, value)| {
        let value = std::str::from_utf8(value.as_deref()?).ok()?.parse().ok()?;
        Some((offset, value))
    })
}

/// The id of the group coordinator's `__consumer_offsets` topic in `node`'s image: its
/// partitions hold group records, not the workload's, and are not audited as the workload's.
fn offsets_topic_id(node: &sluice_core::broker::Node) -> Option<Uuid> {
    let name = sluice_core::group::OFFSETS_TOPIC;
    node.image().topic_by_name(name).map(|topic| topic.topic_id)
}

impl Cluster {
    /// The image of the running node that applied the most.
    pub fn latest_image(&self) -> Option<&MetadataImage> {
        self.procs
            .iter()
            .filter_map(|p| p.node.as_ref())
            .max_by_key(|node| node.applied_index())
            .map(|node| node.image())
    }

    /// Every running replica's log, as the checker reads them.
    pub(crate) fn replica_logs(&mut self) -> Vec<ReplicaLog> {
        let mut logs = Vec::new();
        for process in &mut self.procs {
            let replica = process.net_id.0 as i32;
            let Some(node) = process.node.as_mut() else {
                continue;
            };
            let internal = offsets_topic_id(node);
            let partitions: Vec<(PartitionKey, i64, i64)> = node
                .replica_manager()
                .partitions()
                .filter(|(key, _)| Some(key.0) != internal)
                .map(|(key, p)| (*key, p.high_watermark, p.log.log_start_offset()))
                .collect();
            for (key, hw, start) in partitions {
                let Ok(records) = node.replica_records(&mut process.disk, key, i64::MIN, None)
                else {
                    continue;
                };
                logs.push(ReplicaLog {
                    partition: key.1,
                    replica,
                    high_watermark: hw,
                    records: workload_values(records).collect(),
                    log_start_offset: start,
                });
            }
        }
        logs
    }

    /// The invariants of one process's replicas, after each of its steps: HW ≤ LEO; a leader's
    /// HW never goes down within its epoch; the records below each replica's HW are the
    /// committed ones, the same on every replica (checked for the records the HW passed since
    /// the last step).
    pub(super) fn audit_process(&mut self, index: usize) {
        let Some(workload) = self.workload.as_mut() else {
            return;
        };
        let process = &mut self.procs[index];
        let id = process.net_id.0;
        let incarnation = process.incarnation;
        let Some(node) = process.node.as_mut() else {
            return;
        };
        let mut problems = Vec::new();
        let internal = offsets_topic_id(node);
        let rows: Vec<(PartitionKey, i64, i64, Option<i32>)> = node
            .replica_manager()
            .partitions()
            .filter(|(key, _)| Some(key.0) != internal)
            .map(|(key, p)| {
                let epoch = p.leader().map(|state| state.leader_epoch);
                (*key, p.high_watermark, p.log_end_offset(), epoch)
            })
            .collect();
        for (key, hw, leo, leader_epoch) in rows {
            if hw > leo {
                problems.push(("hw-above-leo", format!("n{id} {key:?}: {hw} > {leo}")));
            }
            if let Some(epoch) = leader_epoch {
                let seen = workload
                    .audit
                    .leader_hw
                    .entry((key, epoch, index, incarnation))
                    .or_insert(hw);
                if hw < *seen {
                    let detail = format!("n{id} {key:?}: {} -> {hw}", *seen);
                    problems.push(("hw-regression-on-leader", detail));
                }
                *seen = (*seen).max(hw);
            }
            let at = (key, index, incarnation);
            let from = workload.audit.checked.get(&at).copied().unwrap_or(i64::MIN);
            if from >= hw {
                continue;
            }
            let Ok(records) = node.replica_records(&mut process.disk, key, from, Some(hw)) else {
                continue;
            };
            for (offset, value) in workload_values(records) {
                let (committed, first, epoch) = *workload
                    .audit
                    .committed
                    .entry((key.1, offset))
                    .or_insert((value, id, leader_epoch));
                if committed != value {
                    let detail = format!(
                        "partition {} offset {offset}: n{id} holds {value} below its high \
                         watermark {hw} (leading: epoch {leader_epoch:?}), n{first} held \
                         {committed} below its own (leading: epoch {epoch:?})",
                        key.1
                    );
                    problems.push(("log-divergence", detail));
                }
            }
            workload.audit.checked.insert(at, hw);
        }
        if let Some((kind, detail)) = problems.into_iter().next() {
            self.fail(kind, detail);
        }
    }

    /// Across brokers: every 500 ms, ISR and ELR members hold the committed log; every 2 s,
    /// any two replicas agree below the smaller of their high watermarks. The second reads
    /// every log whole, and each replica's records below its high watermark are already held
    /// to the committed ones after each of its steps ([`Cluster::audit_process`]); a
    /// divergence it alone sees (a replica cut below its checked mark and refilled) lasts.
    pub(super) fn audit(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let mut problems = self.incomplete_candidates();
        let round = self.workload.as_mut().map(|w| {
            w.audit.rounds += 1;
            w.audit.rounds
        });
        if round.is_some_and(|round| round % LOG_MATCHING_EVERY == 0) {
            let logs = self.replica_logs();
            for anomaly in check_replicas(&logs) {
                problems.push((anomaly.kind, anomaly.example));
            }
        }
        if let Some((kind, detail)) = problems.into_iter().next() {
            return self.fail(kind, detail);
        }
        self.kernel.schedule_after(AUDIT_EVERY, Event::Audit);
    }

    /// A broker took up a leadership: after a whole-cluster loss, the first leader of each
    /// workload partition chooses its history; what it holds then is what may survive.
    pub(super) fn on_leader(&mut self, index: usize, topic_id: Uuid, partition: i32) {
        let Some(workload) = self.workload.as_mut() else {
            return;
        };
        let known = workload
            .unclean_recovery
            .as_ref()
            .is_none_or(|logs| logs.contains_key(&partition));
        let in_scope = workload
            .unclean_scope
            .as_ref()
            .is_none_or(|scope| scope.contains(&partition));
        if known || !in_scope {
            return;
        }
        let process = &mut self.procs[index];
        let Some(node) = process.node.as_mut() else {
            return;
        };
        let is_workload = node
            .image()
            .topic_by_name(&workload.topic)
            .is_some_and(|topic| topic.topic_id == topic_id);
        if !is_workload {
            return;
        }
        let key = (topic_id, partition);
        let Ok(records) = node.replica_records(&mut process.disk, key, i64::MIN, None) else {
            return;
        };
        let log = workload_values(records).collect();
        if let Some(logs) = workload.unclean_recovery.as_mut() {
            logs.insert(partition, log);
        }
        workload.audit.forget_committed(partition);
        self.kernel.record(format_args!(
            "n{} leads partition {partition} after the unclean election",
            self.procs[index].net_id.0
        ));
    }

    /// The end of a run: every replica matches its leader, every consumer read to the end, and
    /// the history passes the checker.
    pub fn final_verdict(&mut self, reader: usize) {
        if self.failure.is_some() {
            return;
        }
        let logs = self.replica_logs();
        let leaders: BTreeMap<i32, i32> = self.leaders();
        if let Some(detail) = self.leaderless() {
            return self.fail("unavailability", detail);
        }
        if let Some(anomaly) = check_healed_replicas(&logs, &leaders).into_iter().next() {
            return self.fail(anomaly.kind, anomaly.example);
        }
        let workload = self.workload.as_ref().expect("a workload");
        if leaders.len() != workload.partitions as usize {
            let detail = format!(
                "{} of {} partitions led",
                leaders.len(),
                workload.partitions
            );
            return self.fail("unavailability", detail);
        }
        for (partition, leader) in &leaders {
            let end = logs
                .iter()
                .find(|log| log.partition == *partition && log.replica == *leader)
                .map_or(0, |log| log.high_watermark);
            let reached = self.clients[reader]
                .reached
                .get(partition)
                .copied()
                .unwrap_or(0);
            if reached < end {
                let detail = format!("partition {partition}: read to {reached}, HW {end}");
                return self.fail("stuck-consumer", detail);
            }
        }
        let pending: usize = self.clients.iter().map(|c| c.pending_sends()).sum();
        if pending > 0 {
            return self.fail("stuck-producer", format!("{pending} sends never completed"));
        }
        let report = match &workload.unclean_recovery {
            None => check_with(&workload.history, CheckOptions::default()),
            Some(logs) => {
                let scope = workload.unclean_scope.clone();
                let in_scope = move |p: &i32| scope.as_ref().is_none_or(|s| s.contains(p));
                // Every broker lost its unsynced writes and an unclean election chose each
                // partition's log: acknowledged records that log lacked may be lost (and their
                // offsets reused), and every other one must still be there.
                let mut history = workload.history.clone();
                let declared = history.declare_losable(|partition, offset, value| {
                    in_scope(&partition)
                        && logs
                            .get(&partition)
                            .is_none_or(|log| log.get(&offset) != Some(&value))
                });
                self.kernel.record(format_args!(
                    "{} acknowledged records were not on the replicas the unclean elections chose",
                    declared.len()
                ));
                let options = CheckOptions {
                    unclean_elections_allowed: true,
                    ..CheckOptions::default()
                };
                check_with(&history, options)
            }
        };
        if !report.is_valid() {
            let (kind, examples) = report
                .anomalies
                .iter()
                .find(|(kind, _)| !report.expected.contains(*kind))
                .expect("an unexpected anomaly");
            let detail = format!("{} ({} in all)", examples[0], examples.len());
            return self.fail(kind, detail);
        }
        if report.ok_sends > 0 {
            self.mark("acks-all-acknowledged");
        }
    }

    /// Every running ISR and ELR member holds the committed log (Leader Candidate
    /// Completeness): its log reaches its leader's high watermark. A replica back from a lossy
    /// crash that is admitted before it caught up fails this (unclean-admission).
    fn incomplete_candidates(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let Some(workload) = self.workload.as_ref() else {
            return problems;
        };
        let Some(image) = self.latest_image() else {
            return problems;
        };
        let Some(topic) = image.topic_by_name(&workload.topic) else {
            return problems;
        };
        let replica = |broker: i32, index: usize| {
            let process = self.procs.iter().find(|p| p.net_id.0 as i32 == broker)?;
            let node = process.node.as_ref()?;
            node.broker_status()?.active.then_some(())?;
            node.replica_manager()
                .partition((topic.topic_id, index as i32))
        };
        for (index, state) in topic.partitions.iter().enumerate() {
            let Some(leader) = replica(state.leader, index) else {
                continue;
            };
            let leads = leader
                .leader()
                .is_some_and(|l| l.leader_epoch == state.leader_epoch);
            if !leads {
                continue;
            }
            let hw = leader.high_watermark;
            for member in state.isr.iter().chain(&state.elr) {
                let Some(candidate) = replica(*member, index) else {
                    continue;
                };
                let end = candidate.log_end_offset();
                if end < hw {
                    let detail = format!(
                        "partition {index}: broker {member} is in the ISR {:?} or ELR {:?} with \
                         its log ending at {end}, below the leader's high watermark {hw}",
                        state.isr, state.elr
                    );
                    problems.push(("unclean-admission", detail));
                }
            }
        }
        problems
    }

    /// The first partition without a leader, with the ISR and ELR that left it so.
    pub fn leaderless(&self) -> Option<String> {
        let workload = self.workload.as_ref()?;
        let image = self.latest_image()?;
        let topic = image.topic_by_name(&workload.topic)?;
        let (index, state) = topic
            .partitions
            .iter()
            .enumerate()
            .find(|(_, state)| state.leader < 0)?;
        Some(format!(
            "partition {index} has no leader: ISR {:?}, ELR {:?}, replicas {:?}",
            state.isr, state.elr, state.replicas
        ))
    }

    /// Each workload partition's leader, from the most advanced image.
    pub fn leaders(&self) -> BTreeMap<i32, i32> {
        let Some(workload) = self.workload.as_ref() else {
            return BTreeMap::new();
        };
        let Some(image) = self.latest_image() else {
            return BTreeMap::new();
        };
        let Some(topic) = image.topic_by_name(&workload.topic) else {
            return BTreeMap::new();
        };
        topic
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, state)| state.leader >= 0)
            .map(|(index, state)| (index as i32, state.leader))
            .collect()
    }
}
