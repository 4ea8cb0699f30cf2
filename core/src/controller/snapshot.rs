//! Snapshots of a [`MetadataImage`], so the Raft log below it can be truncated and a node far
//! behind can load the state instead of replaying every record (KIP-630's metadata snapshots).
//!
//! A snapshot is `[version: u8][counters][brokers][topics][topic configs]` (version 0 has no
//! topic configs). Loading rebuilds the image
//! through [`MetadataImage::apply`], so a corrupt or hostile snapshot is held to the same
//! rules (and limits) as the log, and fails with a [`DecodeError`] instead of a panic.

use super::codec::{decode_register_broker, encode_register_broker, DecodeError, Reader, Writer};
use super::config::ImageLimits;
use super::config::TOPIC_CONFIGS_MAX;
use super::image::{check_leader_and_isr, ApplyOutcome, MetadataImage};
use super::record::{
    LeaderRecoveryState, MetadataRecord, PartitionRecord, RegisterBroker, CONFIG_RESOURCE_TOPIC,
};

/// The snapshot format this code writes and reads.
pub const SNAPSHOT_VERSION: u8 = 1;
/// The format before topic configs, still read.
const SNAPSHOT_VERSION_NO_CONFIGS: u8 = 0;

/// Smallest encodings, used to refuse counts that cannot fit before allocating.
const BROKER_BYTES_MIN: usize = 33;
const TOPIC_BYTES_MIN: usize = 23;
const PARTITION_BYTES_MIN: usize = 27;
const CONFIG_BYTES_MIN: usize = 7;

impl MetadataImage {
    /// The image's state as bytes; [`MetadataImage::decode_snapshot`] gives back an equal
    /// image.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut out = vec![SNAPSHOT_VERSION];
        let mut w = Writer { out: &mut out };
        w.i64(self.broker_epoch_max);
        w.i64(self.next_producer_id);
        for counter in [
            self.records_applied,
            self.records_ignored,
            self.unclean_elections,
        ] {
            w.out.extend_from_slice(&counter.to_be_bytes());
        }
        w.out
            .extend_from_slice(&(self.brokers.len() as u32).to_be_bytes());
        for b in self.brokers.values() {
            let record = RegisterBroker {
                broker_id: b.broker_id,
                incarnation_id: b.incarnation_id,
                broker_epoch: b.broker_epoch,
                listeners: b.listeners.clone(),
                rack: b.rack.clone(),
                fenced: b.fenced,
            };
            encode_register_broker(&mut w, &record);
            w.bool(b.in_controlled_shutdown);
        }
        w.out
            .extend_from_slice(&(self.topics.len() as u32).to_be_bytes());
        for topic in self.topics.values() {
            w.string(&topic.name);
            w.uuid(topic.topic_id);
            w.option_bool(topic.unclean_leader_election_enable);
            w.out
                .extend_from_slice(&(topic.partitions.len() as u32).to_be_bytes());
            for p in &topic.partitions {
                w.brokers(&p.replicas);
                w.brokers(&p.isr);
                w.i32(p.leader);
                w.i32(p.leader_epoch);
                w.i32(p.partition_epoch);
                w.bool(p.leader_recovery == LeaderRecoveryState::Recovering);
                w.i32(p.previous_leader_epoch);
                w.i32(p.previous_partition_epoch);
                w.brokers(&p.elr);
            }
        }
        let configs = self.topics.values().map(|t| t.configs.len()).sum::<usize>();
        w.out.extend_from_slice(&(configs as u32).to_be_bytes());
        for topic in self.topics.values() {
            for (name, value) in &topic.configs {
                w.string(&topic.name);
                w.string(name);
                w.string(value);
            }
        }
        out
    }

    /// Loads a snapshot written by [`MetadataImage::encode_snapshot`] into an image with
    /// `limits`.
    pub fn decode_snapshot(
        limits: ImageLimits,
        bytes: &[u8],
    ) -> Result<MetadataImage, DecodeError> {
        let mut r = Reader { rest: bytes };
        let version = r.u8("snapshot version")?;
        if version != SNAPSHOT_VERSION && version != SNAPSHOT_VERSION_NO_CONFIGS {
            return Err(DecodeError::UnsupportedVersion {
                record_type: u8::MAX,
                version,
            });
        }
        let broker_epoch_max = r.i64("broker epoch max")?;
        let next_producer_id = r.i64("next producer id")?;
        let mut counters = [0u64; 3];
        for counter in &mut counters {
            *counter = u64::from_be_bytes(r.array("record counters")?);
        }
        let mut image = MetadataImage::new(limits);
        load_brokers(&mut image, &mut r)?;
        load_topics(&mut image, &mut r)?;
        if version != SNAPSHOT_VERSION_NO_CONFIGS {
            load_configs(&mut image, &mut r)?;
        }
        if !r.rest.is_empty() {
            return Err(DecodeError::TrailingBytes(r.rest.len()));
        }
        if broker_epoch_max < image.broker_epoch_max || next_producer_id < 0 {
            return Err(DecodeError::InvalidValue {
                what: "snapshot counters",
            });
        }
        image.broker_epoch_max = broker_epoch_max;
        image.next_producer_id = next_producer_id;
        [
            image.records_applied,
            image.records_ignored,
            image.unclean_elections,
        ] = counters;
        Ok(image)
    }
}

fn apply_or_fail(
    image: &mut MetadataImage,
    record: &MetadataRecord,
    what: &'static str,
) -> Result<(), DecodeError> {
    match image.apply(record) {
        ApplyOutcome::Applied => Ok(()),
        ApplyOutcome::Ignored(_) => Err(DecodeError::InvalidValue { what }),
    }
}

fn load_brokers(image: &mut MetadataImage, r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let count = r.count(
        "snapshot brokers",
        image.limits.brokers_max,
        BROKER_BYTES_MIN,
    )?;
    let mut brokers = Vec::with_capacity(count);
    for _ in 0..count {
        let registration = decode_register_broker(r)?;
        let shutting_down = r.bool("in controlled shutdown")?;
        brokers.push((registration, shutting_down));
    }
    // Registrations apply only in rising epoch order.
    brokers.sort_by_key(|(b, _)| b.broker_epoch);
    for (registration, shutting_down) in brokers {
        let (broker_id, broker_epoch) = (registration.broker_id, registration.broker_epoch);
        let register = MetadataRecord::RegisterBroker(registration);
        apply_or_fail(image, &register, "snapshot broker")?;
        if shutting_down {
            let shutdown = MetadataRecord::BeginControlledShutdown {
                broker_id,
                broker_epoch,
            };
            apply_or_fail(image, &shutdown, "snapshot broker")?;
        }
    }
    Ok(())
}

fn load_topics(image: &mut MetadataImage, r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let count = r.count("snapshot topics", image.limits.topics_max, TOPIC_BYTES_MIN)?;
    for _ in 0..count {
        let name = r.string("topic name")?;
        let topic_id = r.uuid("topic id")?;
        let unclean_leader_election_enable = r.option_bool("unclean.leader.election.enable")?;
        let topic = MetadataRecord::Topic {
            name,
            topic_id,
            unclean_leader_election_enable,
        };
        apply_or_fail(image, &topic, "snapshot topic")?;
        let partitions_max = image.limits.partitions_max;
        let partitions = r.count("snapshot partitions", partitions_max, PARTITION_BYTES_MIN)?;
        for index in 0..partitions {
            let record = PartitionRecord {
                topic_id,
                partition: i32::try_from(index).map_err(|_| DecodeError::TooLong {
                    what: "snapshot partitions",
                    len: partitions,
                })?,
                replicas: r.brokers("replicas")?,
                isr: r.brokers("isr")?,
                leader: r.i32("leader")?,
                leader_epoch: r.i32("leader epoch")?,
                partition_epoch: r.i32("partition epoch")?,
            };
            let recovering = r.bool("leader recovery state")?;
            let previous_leader_epoch = r.i32("previous leader epoch")?;
            let previous_partition_epoch = r.i32("previous partition epoch")?;
            let elr = r.brokers("elr")?;
            let partition = record.partition;
            apply_or_fail(
                image,
                &MetadataRecord::Partition(record),
                "snapshot partition",
            )?;
            // What a PartitionRecord does not carry is set after it applied.
            let state = image
                .partition_mut(topic_id, partition)
                .expect("just applied");
            if recovering {
                state.leader_recovery = LeaderRecoveryState::Recovering;
            }
            state.previous_leader_epoch = previous_leader_epoch;
            state.previous_partition_epoch = previous_partition_epoch;
            check_leader_and_isr(&state.replicas, &state.isr, &elr, state.leader).map_err(
                |_| DecodeError::InvalidValue {
                    what: "snapshot elr",
                },
            )?;
            state.elr = elr;
        }
    }
    Ok(())
}

fn load_configs(image: &mut MetadataImage, r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let max = image.limits.topics_max.saturating_mul(TOPIC_CONFIGS_MAX);
    let count = r.count("snapshot configs", max, CONFIG_BYTES_MIN)?;
    for _ in 0..count {
        let record = MetadataRecord::Config {
            resource_type: CONFIG_RESOURCE_TOPIC,
            resource_name: r.string("config topic")?,
            name: r.string("config name")?,
            value: Some(r.string("config value")?),
        };
        apply_or_fail(image, &record, "snapshot config")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::tests::random_image;
    use proptest::prelude::*;

    /// KIP-630: a snapshot loads into exactly the image it was taken from.
    #[test]
    fn snapshots_round_trip() {
        let with_configs = (0..20).filter(|seed| {
            random_image(*seed)
                .topics()
                .any(|topic| !topic.configs.is_empty())
        });
        assert!(with_configs.count() > 0, "topic configs are covered");
        for seed in 0..20 {
            let image = random_image(seed);
            let bytes = image.encode_snapshot();
            let loaded = MetadataImage::decode_snapshot(*image.limits(), &bytes);
            assert_eq!(loaded.as_ref(), Ok(&image), "seed {seed}");
        }
    }

    /// Every proper prefix of a snapshot is refused, and limits hold on load.
    #[test]
    fn bad_snapshots_are_refused() {
        let image = random_image(3);
        assert!(image.brokers().count() > 1);
        let bytes = image.encode_snapshot();
        for cut in 0..bytes.len() {
            assert!(MetadataImage::decode_snapshot(*image.limits(), &bytes[..cut]).is_err());
        }
        let tight = ImageLimits {
            brokers_max: 1,
            ..*image.limits()
        };
        assert!(MetadataImage::decode_snapshot(tight, &bytes).is_err());
    }

    /// Snapshots written before topic configs existed still load.
    #[test]
    fn version_zero_snapshots_load() {
        let mut image = MetadataImage::default();
        let topic = MetadataRecord::Topic {
            name: "t".to_string(),
            topic_id: super::super::record::Uuid(7),
            unclean_leader_election_enable: Some(true),
        };
        assert_eq!(image.apply(&topic), ApplyOutcome::Applied);
        let mut bytes = image.encode_snapshot();
        bytes.truncate(bytes.len() - 4);
        bytes[0] = SNAPSHOT_VERSION_NO_CONFIGS;
        let loaded = MetadataImage::decode_snapshot(*image.limits(), &bytes);
        assert_eq!(loaded.as_ref(), Ok(&image));
    }

    proptest! {
        /// Garbage never panics the loader.
        #[test]
        fn garbage_snapshots_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = MetadataImage::decode_snapshot(ImageLimits::default(), &bytes);
        }
    }
}
