//! What the admin APIs ask of a broker's replicas: DeleteRecords on partition leaders, topic
//! configs taking effect on the logs, and the logs of deleted topics going away.

use super::manager::{PartitionKey, ReplicaManager};
use crate::api::{AdminResponse, DeleteRecordsRequest, DeleteRecordsResult, ErrorCode};
use crate::controller::MetadataImage;
use crate::disk::Disk;
use crate::time::Instant;
use crate::topic_config;

impl ReplicaManager {
    /// DeleteRecords: each led partition's log start moves up to the offset asked (-1 = the
    /// high watermark); beyond the high watermark is OFFSET_OUT_OF_RANGE, as in Kafka. The low
    /// watermark answered is the leader's new log start: followers take it up from their next
    /// fetch answers, and the leader does not wait for them (Kafka does).
    pub(super) fn delete_records(
        &mut self,
        image: &MetadataImage,
        request: &DeleteRecordsRequest,
    ) -> (AdminResponse, Option<u64>) {
        let mut results = Vec::with_capacity(request.partitions.len());
        // The answer waits until every moved log start is durable: the partitions' checkpoint
        // replaces are chained, and it waits on the last.
        let mut after = None;
        for (tp, offset) in &request.partitions {
            let answer = self.leader_key(image, tp, None).and_then(|key| {
                let partition = self.partitions.get_mut(&key).expect("leader_key found it");
                let hw = partition.high_watermark;
                let offset = if *offset == -1 { hw } else { *offset };
                if offset < 0 || offset > hw {
                    return Err(ErrorCode::OffsetOutOfRange);
                }
                let moved = partition.delete_records_before(offset);
                // Fetches held below the new start are out of range now, not once the
                // checkpoint this answer waits for is durable: a fetch arriving now is refused
                // at once too.
                self.wake_if_changed(key);
                Ok((key, moved?))
            });
            let (low_watermark, error) = match answer {
                Ok((key, (start, seq))) => {
                    if seq.is_some() {
                        after = self.issue_log_io(key, after, true);
                    }
                    (start, ErrorCode::None)
                }
                Err(error) => (-1, error),
            };
            results.push(DeleteRecordsResult {
                partition: tp.clone(),
                low_watermark,
                error,
            });
        }
        (AdminResponse::DeleteRecords(results), after)
    }

    /// Puts every replica's topic configs in force (after the metadata changed them).
    pub fn sync_topic_configs(&mut self, now: Instant, disk: &mut dyn Disk, image: &MetadataImage) {
        let keys: Vec<PartitionKey> = self.partitions.keys().copied().collect();
        for key in keys {
            if self.apply_topic_configs(image, key) {
                // Strict min ISR holds a leader's high watermark back while its ISR is
                // smaller: a lower setting may let it move now, and nothing else may come to
                // move it (a lone replica, or followers that all left the ISR).
                self.on_progress(key);
            }
        }
        self.complete_woken_fetches(now, disk);
    }

    /// Puts the topic configs of one replica in force: its log settings and
    /// `min.insync.replicas`. A topic gone from the image leaves them as they are. Returns
    /// whether `min.insync.replicas` changed.
    pub(super) fn apply_topic_configs(&mut self, image: &MetadataImage, key: PartitionKey) -> bool {
        let Some(topic) = image.topic(key.0) else {
            return false;
        };
        let base = self.config.log.clone();
        let Some(partition) = self.partitions.get_mut(&key) else {
            return false;
        };
        let wanted = topic_config::log_config(&base, &topic.configs);
        if *partition.log.config() != wanted {
            // log_config only yields settings that validate.
            let _ = partition.log.set_config(wanted);
        }
        let min_isr = topic_config::min_insync_replicas(&topic.configs);
        std::mem::replace(&mut partition.min_insync_replicas, min_isr) != min_isr
    }
}

/// Removes every file of a deleted replica's log directory, the data first, so a crash half
/// way leaves no segment a later topic of the same name could mistake for its own. The
/// removals become durable with the directory's sync, an output, after which the directory
/// itself goes.
pub(super) fn delete_log_files(disk: &mut dyn Disk, dir: &str) {
    let Ok(names) = disk.list(dir) else {
        return;
    };
    let (data, rest): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|name| name.ends_with(".log"));
    for name in data.into_iter().chain(rest) {
        let _ = disk.remove(&format!("{dir}/{name}"));
    }
}
