//! Taking up an offsets partition: its groups rebuilt from its records.

use std::collections::BTreeMap;

use super::coordinator::{GroupCoordinator, OffsetsPartition};
use super::records::{self, GroupValue, OffsetValue, RecordKey};
use super::state::Group;
use crate::api::TopicPartition;
use crate::record::Record;
use crate::rng::Rng;
use crate::time::Instant;

/// One group's records, latest value per key.
#[derive(Default)]
struct Replayed {
    metadata: Option<GroupValue>,
    offsets: BTreeMap<TopicPartition, OffsetValue>,
}

impl GroupCoordinator {
    /// This broker leads offsets partition `partition` in leader epoch `epoch`; `records` are
    /// its log from the start to `log_end`. Anything held of an earlier epoch is dropped
    /// first. The groups are served once [`GroupCoordinator::high_watermark`] reaches
    /// `log_end`.
    #[allow(clippy::too_many_arguments)]
    pub fn lead(
        &mut self,
        now: Instant,
        wall_ms: i64,
        rng: &mut dyn Rng,
        partition: i32,
        epoch: i32,
        records: Vec<Record>,
        log_end: i64,
        high_watermark: i64,
    ) {
        self.resign(now, wall_ms, rng, partition);
        if self.next_retention_check.is_none() {
            let interval = self.config.offsets_retention_check_interval_ms;
            self.next_retention_check = Some(super::after_ms(now, interval));
        }
        let mut replayed: BTreeMap<String, Replayed> = BTreeMap::new();
        for record in records {
            self.stats.records_loaded += 1;
            let Some(key) = record
                .key
                .as_deref()
                .and_then(|k| records::read_key(k).ok())
            else {
                self.stats.records_skipped += 1;
                continue;
            };
            let entry = replayed.entry(key.group().to_string()).or_default();
            match (key, record.value) {
                (RecordKey::Offset { partition, .. }, None) => {
                    entry.offsets.remove(&partition);
                }
                (RecordKey::Offset { partition, .. }, Some(value)) => {
                    match records::read_offset_value(&value) {
                        Ok(value) => {
                            entry.offsets.insert(partition, value);
                        }
                        Err(_) => self.stats.records_skipped += 1,
                    }
                }
                (RecordKey::Group { .. }, None) => entry.metadata = None,
                (RecordKey::Group { .. }, Some(value)) => match records::read_group_value(&value) {
                    Ok(value) => entry.metadata = Some(value),
                    Err(_) => self.stats.records_skipped += 1,
                },
            }
        }
        let mut groups = BTreeMap::new();
        for (group_id, replay) in replayed {
            let mut group = match replay.metadata {
                Some(value) => Group::from_value(group_id.clone(), value, now),
                None => Group::new(group_id.clone(), wall_ms),
            };
            group.offsets = replay.offsets;
            if group.is_forgettable() && group.generation == 0 {
                continue;
            }
            groups.insert(group_id, group);
        }
        let ids: Vec<String> = groups.keys().cloned().collect();
        self.partitions.insert(
            partition,
            OffsetsPartition {
                epoch,
                load_end: log_end,
                ready: false,
                groups,
            },
        );
        self.stats.partitions_loaded += 1;
        for group_id in ids {
            self.settle_group(partition, &group_id);
        }
        self.high_watermark(partition, high_watermark);
    }
}
