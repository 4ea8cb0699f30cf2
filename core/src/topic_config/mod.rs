//! Kafka's topic-level configs: their definitions, the validation the controller applies
//! before it stores a value, how stored values shape a replica's log, and how a broker
//! describes them (DescribeConfigs).

mod defs;
mod describe;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use defs::{Domain, TopicConfigDef, TOPIC_CONFIGS};
pub use describe::{describe_topic, BrokerDefaults};

use crate::api::ConfigType;
use crate::log::{CleanupPolicy, LogConfig};

/// The definition of `name`, if Kafka defines such a topic config.
pub fn definition(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS
        .binary_search_by(|def| def.name.cmp(name))
        .ok()
        .map(|index| &TOPIC_CONFIGS[index])
}

/// Checks one value, returning it as stored (trimmed, as Kafka's parser trims), or Kafka's
/// kind of message for INVALID_CONFIG.
pub fn validate(name: &str, value: &str) -> Result<String, String> {
    let def = definition(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    let value = value.trim();
    let bad = |why: &str| format!("Invalid value {value} for configuration {name}: {why}");
    match def.config_type {
        ConfigType::Boolean => {
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                return Err(bad("Expected value to be either true or false"));
            }
            return Ok(value.to_ascii_lowercase());
        }
        ConfigType::Int | ConfigType::Long => {
            let number: i64 = value
                .parse()
                .map_err(|_| bad(&format!("Not a number of type {:?}", def.config_type)))?;
            if def.config_type == ConfigType::Int && i32::try_from(number).is_err() {
                return Err(bad("Not a number of type INT"));
            }
            check_number(def.domain, number).map_err(|why| bad(&why))?;
        }
        ConfigType::Double => {
            let number: f64 = value
                .parse()
                .map_err(|_| bad("Not a number of type DOUBLE"))?;
            if def.domain == Domain::Ratio && !(0.0..=1.0).contains(&number) {
                return Err(bad("Value must be between 0 and 1"));
            }
        }
        ConfigType::String => {
            if let Domain::OneOf(allowed) = def.domain {
                if !allowed.contains(&value) {
                    return Err(bad(&format!(
                        "String must be one of: {}",
                        allowed.join(", ")
                    )));
                }
            }
        }
        ConfigType::List => check_list(def.domain, value).map_err(|why| bad(&why))?,
    }
    Ok(value.to_string())
}

fn check_number(domain: Domain, number: i64) -> Result<(), String> {
    match domain {
        Domain::Range(min, _) if number < min => Err(format!("Value must be at least {min}")),
        Domain::Range(_, max) if number > max => Err(format!("Value must be no more than {max}")),
        Domain::GzipLevel if number != -1 && !(1..=9).contains(&number) => {
            Err("Value must be between 1 and 9, or -1".to_string())
        }
        _ => Ok(()),
    }
}

fn check_list(domain: Domain, value: &str) -> Result<(), String> {
    let items: Vec<&str> = list_items(value);
    match domain {
        Domain::ListOf(allowed) => {
            if items.is_empty() {
                return Err("Empty list".to_string());
            }
            match items.iter().find(|item| !allowed.contains(item)) {
                Some(item) => Err(format!("Invalid value {item}; one of {allowed:?} expected")),
                None => Ok(()),
            }
        }
        Domain::ThrottledReplicas => {
            if items == ["*"] {
                return Ok(());
            }
            let pair = |item: &&str| {
                let (partition, broker) = item.split_once(':')?;
                partition.trim().parse::<i32>().ok()?;
                broker.trim().parse::<i32>().ok()
            };
            match items.iter().all(|item| pair(item).is_some()) {
                true => Ok(()),
                false => Err(
                    "must be the literal '*' or a list of replicas in the format \
                              [PartitionId]:[BrokerId],..."
                        .to_string(),
                ),
            }
        }
        _ => Ok(()),
    }
}

/// The items of a list value, trimmed, without empty ones.
pub fn list_items(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

/// Checks a topic's whole set of overrides together (Kafka's `LogConfig.validateValues`).
pub fn validate_set(configs: &BTreeMap<String, String>) -> Result<(), String> {
    let long = |name: &str| {
        configs
            .get(name)
            .map(String::as_str)
            .or_else(|| definition(name).map(|def| def.default))
            .and_then(|value| value.parse::<i64>().ok())
    };
    if let (Some(min), Some(max)) = (long("min.compaction.lag.ms"), long("max.compaction.lag.ms")) {
        if min > max {
            return Err(format!(
                "conflict topic config setting min.compaction.lag.ms ({min}) > \
                 max.compaction.lag.ms ({max})"
            ));
        }
    }
    Ok(())
}

/// The log settings of a topic's replicas: the broker's, with the topic's overrides of the
/// ones a Sluice log honours. Values were validated when stored; one that does not parse or
/// that the log would refuse leaves the broker's setting.
pub fn log_config(base: &LogConfig, overrides: &BTreeMap<String, String>) -> LogConfig {
    let mut config = base.clone();
    let long = |name: &str| overrides.get(name).and_then(|v| v.parse::<i64>().ok());
    if let Some(v) = long("segment.bytes").and_then(|v| u64::try_from(v).ok()) {
        config.segment_bytes = v;
    }
    if let Some(v) = long("segment.ms") {
        config.segment_ms = v;
    }
    // segment.index.bytes and index.interval.bytes are only stored: open segments size
    // their indexes from the settings they were created with.
    if let Some(v) = long("retention.ms") {
        config.retention_ms = v;
    }
    if let Some(v) = long("retention.bytes") {
        // Kafka treats every negative limit as none.
        config.retention_bytes = v.max(-1);
    }
    if let Some(policy) = overrides
        .get("cleanup.policy")
        .and_then(|v| CleanupPolicy::parse(v))
    {
        config.cleanup_policy = policy;
    }
    if let Some(v) = long("flush.messages") {
        config.flush_messages = v;
    }
    if let Some(v) = long("flush.ms") {
        config.flush_ms = v;
    }
    if let Some(v) = long("max.message.bytes").and_then(|v| u32::try_from(v).ok()) {
        config.max_message_bytes = v;
    }
    match config.validate() {
        Ok(()) => config,
        Err(_) => base.clone(),
    }
}

/// The topic's `min.insync.replicas`, if it overrides the broker's.
pub fn min_insync_replicas(overrides: &BTreeMap<String, String>) -> Option<usize> {
    overrides
        .get("min.insync.replicas")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|v| *v >= 1)
}

/// The topic's `unclean.leader.election.enable`, if set.
pub fn unclean_leader_election(overrides: &BTreeMap<String, String>) -> Option<bool> {
    overrides
        .get("unclean.leader.election.enable")
        .and_then(|v| v.parse::<bool>().ok())
}
