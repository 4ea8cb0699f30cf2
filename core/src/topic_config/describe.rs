//! DescribeConfigs for a topic: every config Kafka defines, each with the value in force and
//! where it comes from — the topic's own setting (DYNAMIC_TOPIC_CONFIG), the broker's
//! configuration (STATIC_BROKER_CONFIG) or Kafka's default (DEFAULT_CONFIG).

use std::collections::BTreeMap;

use super::defs::TOPIC_CONFIGS;
use crate::api::{ConfigSource, ConfigSynonym, DescribedConfig};
use crate::log::LogConfig;

/// The broker's own settings that are defaults for topic configs, by topic config name: the
/// broker-level name and its value. Only values other than Kafka's default are listed, since
/// Sluice cannot tell a setting written in the file from one left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerDefaults {
    values: BTreeMap<&'static str, (&'static str, String)>,
}

impl BrokerDefaults {
    /// The defaults a broker with these settings gives its topics.
    pub fn new(log: &LogConfig, min_insync_replicas: usize, unclean: bool) -> BrokerDefaults {
        let candidates: [(&'static str, &'static str, String); 12] = [
            (
                "segment.bytes",
                "log.segment.bytes",
                log.segment_bytes.to_string(),
            ),
            ("segment.ms", "log.roll.ms", log.segment_ms.to_string()),
            (
                "segment.index.bytes",
                "log.index.size.max.bytes",
                log.segment_index_bytes.to_string(),
            ),
            (
                "index.interval.bytes",
                "log.index.interval.bytes",
                log.index_interval_bytes.to_string(),
            ),
            (
                "retention.ms",
                "log.retention.ms",
                log.retention_ms.to_string(),
            ),
            (
                "retention.bytes",
                "log.retention.bytes",
                log.retention_bytes.to_string(),
            ),
            (
                "flush.messages",
                "log.flush.interval.messages",
                log.flush_messages.to_string(),
            ),
            (
                "flush.ms",
                "log.flush.interval.ms",
                log.flush_ms.to_string(),
            ),
            (
                "max.message.bytes",
                "message.max.bytes",
                log.max_message_bytes.to_string(),
            ),
            (
                "min.insync.replicas",
                "min.insync.replicas",
                min_insync_replicas.to_string(),
            ),
            (
                "cleanup.policy",
                "log.cleanup.policy",
                log.cleanup_policy.name().to_string(),
            ),
            (
                "unclean.leader.election.enable",
                "unclean.leader.election.enable",
                unclean.to_string(),
            ),
        ];
        let values = candidates
            .into_iter()
            .filter(|(name, _, value)| super::definition(name).is_some_and(|d| d.default != value))
            .map(|(name, broker_name, value)| (name, (broker_name, value)))
            .collect();
        BrokerDefaults { values }
    }

    /// The broker-level name and value that default `name`, if the broker sets one.
    pub fn get(&self, name: &str) -> Option<(&'static str, &str)> {
        self.values
            .get(name)
            .map(|(broker_name, value)| (*broker_name, value.as_str()))
    }
}

/// The topic's configs: all of them, or those named in `keys` (unknown names are left out,
/// as Kafka leaves them out), sorted by name.
pub fn describe_topic(
    overrides: &BTreeMap<String, String>,
    defaults: &BrokerDefaults,
    keys: Option<&[String]>,
    include_synonyms: bool,
    include_documentation: bool,
) -> Vec<DescribedConfig> {
    TOPIC_CONFIGS
        .iter()
        .filter(|def| keys.is_none_or(|keys| keys.iter().any(|k| k == def.name)))
        .map(|def| {
            let mut synonyms = Vec::new();
            if let Some(value) = overrides.get(def.name) {
                synonyms.push(ConfigSynonym {
                    name: def.name.to_string(),
                    value: Some(value.clone()),
                    source: ConfigSource::DynamicTopic,
                });
            }
            if let Some((broker_name, value)) = defaults.get(def.name) {
                synonyms.push(ConfigSynonym {
                    name: broker_name.to_string(),
                    value: Some(value.to_string()),
                    source: ConfigSource::StaticBroker,
                });
            }
            synonyms.push(ConfigSynonym {
                name: def.synonyms.first().unwrap_or(&def.name).to_string(),
                value: Some(def.default.to_string()),
                source: ConfigSource::Default,
            });
            let first = synonyms[0].clone();
            DescribedConfig {
                name: def.name.to_string(),
                value: first.value,
                read_only: false,
                source: first.source,
                sensitive: false,
                synonyms: if include_synonyms {
                    synonyms
                } else {
                    Vec::new()
                },
                config_type: def.config_type,
                documentation: include_documentation.then(|| def.doc.to_string()),
            }
        })
        .collect()
}
