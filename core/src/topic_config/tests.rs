use std::collections::BTreeMap;

use super::*;
use crate::api::ConfigSource;
use crate::log::LogConfig;

#[test]
fn definitions_are_sorted_and_defaults_valid() {
    for pair in TOPIC_CONFIGS.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "{} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for def in TOPIC_CONFIGS {
        if def.domain == Domain::ListOf(&["compact", "delete"]) || def.default.is_empty() {
            continue;
        }
        assert_eq!(
            validate(def.name, def.default).as_deref(),
            Ok(def.default),
            "{}",
            def.name
        );
    }
}

#[test]
fn values_are_checked_as_kafka_checks_them() {
    assert_eq!(validate("retention.ms", " 1000 ").as_deref(), Ok("1000"));
    assert_eq!(
        validate("unclean.leader.election.enable", "TRUE").as_deref(),
        Ok("true")
    );
    assert_eq!(
        validate("cleanup.policy", "compact,delete").as_deref(),
        Ok("compact,delete")
    );
    assert_eq!(
        validate("leader.replication.throttled.replicas", "0:1, 1:2").as_deref(),
        Ok("0:1, 1:2")
    );
    for (name, value) in [
        ("retention.ms", "-2"),
        ("retention.ms", "soon"),
        ("segment.bytes", "1000"),
        ("segment.bytes", "4294967296"),
        ("min.insync.replicas", "0"),
        ("cleanup.policy", "shred"),
        ("compression.type", "brotli"),
        ("min.cleanable.dirty.ratio", "1.5"),
        ("preallocate", "yes"),
        ("compression.gzip.level", "0"),
        ("leader.replication.throttled.replicas", "x"),
    ] {
        let error = validate(name, value).unwrap_err();
        assert!(error.contains(name), "{error}");
    }
    assert_eq!(
        validate("no.such", "1").unwrap_err(),
        "Unknown topic config name: no.such"
    );
    let conflict: BTreeMap<String, String> = [
        ("min.compaction.lag.ms".to_string(), "10".to_string()),
        ("max.compaction.lag.ms".to_string(), "5".to_string()),
    ]
    .into();
    assert!(validate_set(&conflict).is_err());
}

#[test]
fn overrides_shape_the_log_config() {
    let base = LogConfig::default();
    let overrides: BTreeMap<String, String> = [
        ("retention.ms".to_string(), "1000".to_string()),
        ("retention.bytes".to_string(), "-5".to_string()),
        ("segment.bytes".to_string(), "2097152".to_string()),
        ("cleanup.policy".to_string(), "compact,delete".to_string()),
    ]
    .into();
    let config = log_config(&base, &overrides);
    assert_eq!(config.retention_ms, 1000);
    assert_eq!(config.retention_bytes, -1);
    assert_eq!(config.segment_bytes, 2 * 1024 * 1024);
    assert_eq!(config.flush_ms, base.flush_ms);
    let min_isr: BTreeMap<String, String> =
        [("min.insync.replicas".to_string(), "2".to_string())].into();
    assert_eq!(min_insync_replicas(&min_isr), Some(2));
    assert_eq!(min_insync_replicas(&overrides), None);
}

#[test]
fn describe_names_every_config_and_its_source() {
    let log = LogConfig {
        segment_bytes: 8 * 1024 * 1024,
        ..LogConfig::default()
    };
    let defaults = BrokerDefaults::new(&log, 1, false);
    let overrides: BTreeMap<String, String> =
        [("retention.ms".to_string(), "5000".to_string())].into();
    let all = describe_topic(&overrides, &defaults, None, true, true);
    assert_eq!(all.len(), TOPIC_CONFIGS.len());
    let find = |name: &str| all.iter().find(|c| c.name == name).unwrap();
    let retention = find("retention.ms");
    assert_eq!(
        (retention.value.as_deref(), retention.source),
        (Some("5000"), ConfigSource::DynamicTopic)
    );
    assert_eq!(retention.synonyms.len(), 2);
    assert_eq!(retention.synonyms[1].name, "log.retention.ms");
    let segment = find("segment.bytes");
    assert_eq!(
        (segment.value.as_deref(), segment.source),
        (Some("8388608"), ConfigSource::StaticBroker)
    );
    let cleanup = find("cleanup.policy");
    assert_eq!(
        (cleanup.value.as_deref(), cleanup.source),
        (Some("delete"), ConfigSource::Default)
    );
    assert!(cleanup.documentation.is_some());
    let compacting = LogConfig {
        cleanup_policy: crate::log::CleanupPolicy::parse("compact").unwrap(),
        ..LogConfig::default()
    };
    let defaults_compact = BrokerDefaults::new(&compacting, 1, false);
    let described = describe_topic(&BTreeMap::new(), &defaults_compact, None, true, false);
    let cleanup = described
        .iter()
        .find(|c| c.name == "cleanup.policy")
        .unwrap();
    assert_eq!(
        (cleanup.value.as_deref(), cleanup.source),
        (Some("compact"), ConfigSource::StaticBroker)
    );
    assert_eq!(cleanup.synonyms[0].name, "log.cleanup.policy");
    let keys = ["min.insync.replicas".to_string(), "bogus".to_string()];
    let some = describe_topic(&overrides, &defaults, Some(&keys), false, false);
    assert_eq!(some.len(), 1);
    assert!(some[0].synonyms.is_empty() && some[0].documentation.is_none());
}

#[test]
fn a_compact_only_topic_is_never_deleted_by_age_or_size() {
    let base = LogConfig::default();
    let overrides = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let compact = log_config(
        &base,
        &overrides(&[("cleanup.policy", "compact"), ("retention.ms", "1000")]),
    );
    assert!(compact.cleanup_policy.compact && !compact.cleanup_policy.delete);
    let both = log_config(
        &base,
        &overrides(&[
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "1000"),
        ]),
    );
    assert_eq!(both.retention_ms, 1000);
    assert!(both.cleanup_policy.compact && both.cleanup_policy.delete);
    let delete = log_config(&base, &overrides(&[("retention.bytes", "5")]));
    assert_eq!(delete.retention_bytes, 5);
}
