//! The replication invariants, checked across brokers while the run goes on, and the final
//! verdict once it healed: the checker over the client history and the replicas' logs.

use std::collections::BTreeMap;

use sluice_core::replica::PartitionKey;
use sluice_jepsen::{check_healed_replicas, check_replicas, check_with, CheckOptions, ReplicaLog};

use crate::metadata_quorum::cluster::{Cluster, Event};
use sluice_core::time::Duration;

/// How often the cross-broker invariants are checked.
pub const AUDIT_EVERY: Duration = Duration::from_millis(500);

/// What the audit remembers between rounds.
#[derive(Default)]
pub struct AuditState {
    /// The highest high watermark each leader reported, per epoch and process start.
    leader_hw: BTreeMap<(PartitionKey, i32, usize, u32), i64>,
    /// The committed log as the replicas' high watermarks revealed it: (partition, offset) →
    /// value. Every replica's records below its high watermark must match it.
    committed: BTreeMap<(i32, i64), u64>,
    /// Per replica (partition, broker, process start), the offset its records were checked
    /// against `committed` up to.
    checked: BTreeMap<(PartitionKey, usize, u32), i64>,
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

impl Cluster {
    /// Every running replica's log, as the checker reads them; `None` where a log is unreadable.
    pub(crate) fn replica_logs(&mut self) -> Vec<ReplicaLog> {
        let mut logs = Vec::new();
        let Some(data) = self.data.as_mut() else {
            return logs;
        };
        for (index, broker) in data.brokers.iter_mut().enumerate() {
            let Some(manager) = broker.manager.as_mut() else {
                continue;
            };
            let keys: Vec<PartitionKey> = manager.partitions().map(|(k, _)| *k).collect();
            for key in keys {
                let partition = manager.partition(key).expect("listed");
                let (hw, start) = (partition.high_watermark, partition.log.log_start_offset());
                let Ok(records) = manager.records(&mut broker.disk, key, None) else {
                    continue;
                };
                let records = workload_values(records).collect();
                logs.push(ReplicaLog {
                    partition: key.1,
                    replica: index as i32,
                    high_watermark: hw,
                    records,
                    log_start_offset: start,
                });
            }
        }
        logs
    }

    /// The invariants of one broker's replicas, after each of its steps: HW ≤ LEO; a leader's
    /// HW never goes down within its epoch; the records below each replica's HW are the
    /// committed ones, the same on every replica (checked for the records the HW passed since
    /// the last step).
    pub(crate) fn audit_broker(&mut self, index: usize) {
        if self.failure.is_some() {
            return;
        }
        let mut problems = Vec::new();
        let data = self.data.as_mut().expect("data plane");
        let broker = &mut data.brokers[index];
        let Some(manager) = broker.manager.as_mut() else {
            return;
        };
        let keys: Vec<PartitionKey> = manager.partitions().map(|(key, _)| *key).collect();
        for key in &keys {
            let partition = manager.partition(*key).expect("listed");
            let hw = partition.high_watermark;
            let at = (*key, index, broker.incarnation);
            let from = data.audit.checked.get(&at).copied().unwrap_or(i64::MIN);
            if from >= hw {
                continue;
            }
            let Ok(records) = manager.records_in(&mut broker.disk, *key, from, Some(hw)) else {
                continue;
            };
            for (offset, value) in workload_values(records) {
                let committed = *data.audit.committed.entry((key.1, offset)).or_insert(value);
                if committed != value {
                    let detail = format!(
                        "partition {} offset {offset}: broker {index} holds {value} below its \
                         high watermark {hw}, another replica held {committed}",
                        key.1
                    );
                    problems.push(("log-divergence", detail));
                }
            }
            data.audit.checked.insert(at, hw);
        }
        for (key, partition) in manager.partitions() {
            let (hw, leo) = (partition.high_watermark, partition.log_end_offset());
            if hw > leo {
                problems.push((
                    "hw-above-leo",
                    format!("broker {index} {key:?}: {hw} > {leo}"),
                ));
            }
            if let Some(state) = partition.leader() {
                let seen = data
                    .audit
                    .leader_hw
                    .entry((*key, state.leader_epoch, index, broker.incarnation))
                    .or_insert(hw);
                if hw < *seen {
                    let detail = format!("broker {index} {key:?}: {} -> {hw}", *seen);
                    problems.push(("hw-regression-on-leader", detail));
                }
                *seen = (*seen).max(hw);
            }
        }
        if let Some((kind, detail)) = problems.into_iter().next() {
            self.fail(kind, detail);
        }
    }

    /// Every 500 ms, across brokers: ISR and ELR members hold the committed log, and any two
    /// replicas agree below the smaller of their high watermarks.
    pub(crate) fn audit(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let mut problems = self.incomplete_candidates();
        let logs = self.replica_logs();
        for anomaly in check_replicas(&logs) {
            problems.push((anomaly.kind, anomaly.example));
        }
        if let Some((kind, detail)) = problems.into_iter().next() {
            return self.fail(kind, detail);
        }
        self.kernel.schedule_after(AUDIT_EVERY, Event::Audit);
    }

    /// The end of a run: every replica matches its leader, every consumer read to the end, and
    /// the history passes the checker.
    pub(crate) fn final_verdict(&mut self, reader: usize) {
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
        let data = self.data.as_ref().expect("data plane");
        if leaders.len() != data.partitions as usize {
            let detail = format!("{} of {} partitions led", leaders.len(), data.partitions);
            return self.fail("unavailability", detail);
        }
        for (partition, leader) in &leaders {
            let end = logs
                .iter()
                .find(|log| log.partition == *partition && log.replica == *leader)
                .map_or(0, |log| log.high_watermark);
            let reached = data.clients[reader]
                .reached
                .get(partition)
                .copied()
                .unwrap_or(0);
            if reached < end {
                let detail = format!("partition {partition}: read to {reached}, HW {end}");
                return self.fail("stuck-consumer", detail);
            }
        }
        let pending: usize = data.clients.iter().map(|c| c.pending_sends()).sum();
        if pending > 0 {
            return self.fail("stuck-producer", format!("{pending} sends never completed"));
        }
        let report = match &data.unclean_recovery {
            None => check_with(&data.history, CheckOptions::default()),
            Some(logs) => {
                // Every broker lost its unsynced writes and an unclean election chose each
                // partition's log: acknowledged records that log lacked may be lost (and their
                // offsets reused), and every other one must still be there.
                let mut history = data.history.clone();
                let declared = history.declare_losable(|partition, offset, value| {
                    logs.get(&partition)
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

    /// Each workload partition's leader, from the metadata of the first running broker.
    /// Every running ISR and ELR member holds the committed log (Leader Candidate
    /// Completeness): its log reaches its leader's high watermark. A replica back from a lossy
    /// crash that is admitted before it caught up fails this (unclean-admission).
    fn incomplete_candidates(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let Some(data) = self.data.as_ref() else {
            return problems;
        };
        let Some(node) = self.nodes.iter().max_by_key(|n| n.applied) else {
            return problems;
        };
        let Some(topic) = node.image.topic_by_name(&data.topic) else {
            return problems;
        };
        let replica = |broker: i32, index: usize| {
            let broker = data.brokers.get(usize::try_from(broker).ok()?)?;
            broker.is_active().then_some(())?;
            broker
                .manager
                .as_ref()?
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
    fn leaderless(&self) -> Option<String> {
        let data = self.data.as_ref().expect("data plane");
        let image = self.brokers.first()?.follower.image();
        let topic = image.topic_by_name(&data.topic)?;
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

    fn leaders(&self) -> BTreeMap<i32, i32> {
        let data = self.data.as_ref().expect("data plane");
        let Some(broker) = self.brokers.first() else {
            return BTreeMap::new();
        };
        let image = broker.follower.image();
        let Some(topic) = image.topic_by_name(&data.topic) else {
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
