//! The server's configuration: a `server.properties` file in Kafka's syntax and with Kafka's
//! names, overridden by `--override key=value` arguments as `kafka-server-start` takes them.
//!
//! Call order: [`load`] (or [`Properties::parse`] and [`Properties::set`]), then
//! [`ServerConfig::from_properties`], then [`ServerConfig::check_data_dirs`] before anything is
//! written. Keys Sluice does not know are reported by [`unknown_keys`]; like Kafka, the server
//! warns about them and carries on.
//!
//! Defaults are Kafka's (4.x), with the exceptions that make `sluice server` with no arguments a
//! working single-node cluster on the loopback interface:
//!
//! | key | Kafka | Sluice |
//! |---|---|---|
//! | `node.id` | none (required) | 1 |
//! | `process.roles` | none (required) | `broker,controller` |
//! | `listeners` | `PLAINTEXT://:9092` | `PLAINTEXT://127.0.0.1:9092` |
//! | `log.dirs` / `log.dir` | `/tmp/kafka-logs` | `./sluice-data` |
//! | `controller.quorum.voters` | none | empty: this node alone, when it is a controller |
//! | `cluster.id` | written by `kafka-storage format` | [`CLUSTER_ID_DEFAULT`] |
//!
//! `cluster.id` is a Sluice key: Kafka keeps the id in each log directory's `meta.properties`,
//! written by a separate format step. Sluice takes it from the configuration instead, so nodes
//! started from the same file agree without a format step; two clusters on one network keep
//! apart by setting different ids.

mod data_dirs;
mod endpoints;
mod error;
mod groups;
mod properties;
mod values;

use sluice_core::log::CleanupPolicy;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use endpoints::{Endpoint, SecurityProtocol, Voter};
pub use error::ConfigError;
pub use properties::{Properties, SyntaxError};

use endpoints::{default_protocol_map, endpoints, protocol_map, voters};
use values::{boolean, int_at_least, integer, list, long_at_least};

/// The cluster id used when `cluster.id` is not set.
pub const CLUSTER_ID_DEFAULT: &str = "sluice-cluster";

/// The data directory used when neither `log.dirs` nor `log.dir` is set.
pub const DATA_DIR_DEFAULT: &str = "./sluice-data";

/// Every key Sluice reads. Anything else is warned about and ignored.
pub const KNOWN_KEYS: &[&str] = &[
    "node.id",
    "process.roles",
    "listeners",
    "advertised.listeners",
    "controller.listener.names",
    "controller.quorum.voters",
    "listener.security.protocol.map",
    "log.dirs",
    "log.dir",
    "num.partitions",
    "default.replication.factor",
    "min.insync.replicas",
    "auto.create.topics.enable",
    "log.segment.bytes",
    "log.retention.ms",
    "log.retention.minutes",
    "log.retention.hours",
    "log.retention.check.interval.ms",
    "log.cleanup.policy",
    "replica.lag.time.max.ms",
    "replica.fetch.wait.max.ms",
    "replica.fetch.max.bytes",
    "socket.request.max.bytes",
    "unclean.leader.election.enable",
    "log.flush.interval.messages",
    "broker.heartbeat.interval.ms",
    "broker.session.timeout.ms",
    "cluster.id",
];

/// Which parts of a node this process runs (`process.roles`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessRoles {
    /// Serves clients and hosts partitions.
    pub broker: bool,
    /// Votes in the metadata quorum.
    pub controller: bool,
}

/// A validated server configuration. Field names are the Kafka keys with `_` for `.`; each
/// field's documentation gives its default and where that default comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// `node.id`: this node's id, at least 0. Default 1 (Sluice; Kafka requires it).
    pub node_id: i32,
    /// `process.roles`: `broker`, `controller` or both. Default both (Sluice; Kafka requires
    /// it).
    pub process_roles: ProcessRoles,
    /// `listeners`: what to bind. Default `PLAINTEXT://127.0.0.1:9092` (Kafka binds `:9092`).
    pub listeners: Vec<Endpoint>,
    /// `advertised.listeners`: what to tell clients. Default: `listeners` without the controller
    /// listeners (Kafka). A port of 0 or a host that binds every interface, possible only in
    /// the default, is settled by [`ServerConfig::advertised_for`] once the listeners are bound.
    pub advertised_listeners: Vec<Endpoint>,
    /// `controller.listener.names`: the listeners controllers talk on. Default none (Kafka).
    pub controller_listener_names: Vec<String>,
    /// `listener.security.protocol.map`: each listener name's protocol. Default: each protocol's
    /// name maps to itself, and controller listeners not in the map are PLAINTEXT (Kafka).
    /// Sluice refuses a listener whose protocol is not PLAINTEXT, for now.
    pub listener_security_protocol_map: BTreeMap<String, SecurityProtocol>,
    /// `controller.quorum.voters`: the metadata quorum. Default none (Kafka), which Sluice reads
    /// as this node alone when it is a controller.
    pub controller_quorum_voters: Vec<Voter>,
    /// `log.dirs`, else `log.dir`: where partitions are stored. Default `./sluice-data`
    /// (Sluice; Kafka uses `/tmp/kafka-logs`).
    pub log_dirs: Vec<PathBuf>,
    /// `num.partitions`: partitions of an auto-created topic, at least 1. Default 1 (Kafka).
    pub num_partitions: i32,
    /// `default.replication.factor`: replicas of an auto-created topic. Default 1 (Kafka).
    /// Sluice requires 1 to 32767 (the protocol's INT16); Kafka does not check it here.
    pub default_replication_factor: i16,
    /// `min.insync.replicas`: at least 1. Default 1 (Kafka).
    pub min_insync_replicas: i32,
    /// `auto.create.topics.enable`: default true (Kafka).
    pub auto_create_topics_enable: bool,
    /// `log.segment.bytes`: at least 1 MiB (Kafka 4.0, KIP-1030). Default 1 GiB (Kafka).
    pub log_segment_bytes: i32,
    /// `log.retention.ms`, else `.minutes`, else `.hours`, in milliseconds; `None` (a negative
    /// value) keeps data forever. Default 168 hours (Kafka).
    pub log_retention_ms: Option<u64>,
    /// `log.retention.check.interval.ms`: how often retention runs, at least 1. Default
    /// 300000 (Kafka).
    pub log_retention_check_interval_ms: u64,
    /// `log.cleanup.policy`: the default `cleanup.policy` of topics: `delete`, `compact` or
    /// both. Default `delete` (Kafka).
    pub log_cleanup_policy: CleanupPolicy,
    /// `replica.lag.time.max.ms`: default 30000 (Kafka).
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: default 500 (Kafka); at most `replica.lag.time.max.ms`.
    pub replica_fetch_wait_max_ms: u32,
    /// `replica.fetch.max.bytes`: default 1048576 (Kafka).
    pub replica_fetch_max_bytes: u32,
    /// `socket.request.max.bytes`: the largest request frame, at least 1. Default 104857600
    /// (Kafka).
    pub socket_request_max_bytes: u32,
    /// `unclean.leader.election.enable`: default false (Kafka).
    pub unclean_leader_election_enable: bool,
    /// `log.flush.interval.messages`: records between fsyncs, at least 1. Default
    /// 9223372036854775807, i.e. never (Kafka).
    pub log_flush_interval_messages: u64,
    /// `broker.heartbeat.interval.ms`: default 2000 (Kafka).
    pub broker_heartbeat_interval_ms: u32,
    /// `broker.session.timeout.ms`: default 9000 (Kafka); must exceed the heartbeat interval.
    pub broker_session_timeout_ms: u32,
    /// `cluster.id`: default [`CLUSTER_ID_DEFAULT`] (Sluice, see the module documentation).
    pub cluster_id: String,
    /// The group coordinator's keys (`offsets.topic.*`, `offsets.*`, `group.*`), Kafka's defaults.
    pub group: sluice_core::group::GroupConfig,
}

/// Reads the configuration file, if any, then applies `overrides` (`key=value` each).
pub fn load(file: Option<&Path>, overrides: &[String]) -> Result<Properties, ConfigError> {
    let mut properties = match file {
        None => Properties::new(),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|error| ConfigError::File {
                path: path.to_path_buf(),
                reason: error.to_string(),
            })?;
            Properties::parse_bytes(bytes).map_err(|error| ConfigError::Syntax {
                path: path.to_path_buf(),
                error,
            })?
        }
    };
    for argument in overrides {
        match argument.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => properties.set(key.trim(), value),
            _ => return Err(ConfigError::Override(argument.clone())),
        }
    }
    Ok(properties)
}

/// The keys of `properties` that Sluice does not read, in key order.
pub fn unknown_keys(properties: &Properties) -> Vec<&str> {
    properties
        .iter()
        .map(|(key, _)| key)
        .filter(|key| !KNOWN_KEYS.contains(key) && !groups::GROUP_KEYS.contains(key))
        .collect()
}

/// Reads a key with a parser, or returns the default when it is not set.
fn read<T>(
    properties: &Properties,
    key: &'static str,
    default: T,
    parse: impl FnOnce(&'static str, &str) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    match properties.get(key) {
        Some(value) => parse(key, value),
        None => Ok(default),
    }
}

fn non_negative(key: &'static str, value: &str) -> Result<u32, ConfigError> {
    let number = integer(key, value, 0, i64::from(i32::MAX))?;
    u32::try_from(number).map_err(|_| ConfigError::value(key, value, "a non-negative int"))
}

fn positive(key: &'static str, value: &str) -> Result<u32, ConfigError> {
    let number = integer(key, value, 1, i64::from(i32::MAX))?;
    u32::try_from(number).map_err(|_| ConfigError::value(key, value, "a positive int"))
}

impl ServerConfig {
    /// Builds the configuration from `properties`, checking every value and how they fit
    /// together. Unknown keys are not an error (see [`unknown_keys`]).
    pub fn from_properties(properties: &Properties) -> Result<ServerConfig, ConfigError> {
        let p = properties;
        let listeners = read(p, "listeners", None, |k, v| endpoints(k, v, 0).map(Some))?
            .unwrap_or_else(default_listeners);
        let advertised = read(p, "advertised.listeners", None, |k, v| {
            endpoints(k, v, 1).map(Some)
        })?;
        let controller_listener_names =
            read(p, "controller.listener.names", Vec::new(), |k, v| {
                Ok(list(k, v)?.iter().map(|n| n.to_ascii_uppercase()).collect())
            })?;
        let advertised_listeners = advertised.unwrap_or_else(|| {
            listeners
                .iter()
                .filter(|listener| !controller_listener_names.contains(&listener.name))
                .cloned()
                .collect()
        });
        let config = ServerConfig {
            node_id: read(p, "node.id", 1, |k, v| int_at_least(k, v, 0))?,
            process_roles: read(p, "process.roles", ProcessRoles::BOTH, process_roles)?,
            listeners,
            advertised_listeners,
            controller_listener_names,
            listener_security_protocol_map: read(
                p,
                "listener.security.protocol.map",
                default_protocol_map(),
                protocol_map,
            )?,
            controller_quorum_voters: read(p, "controller.quorum.voters", Vec::new(), voters)?,
            log_dirs: log_dirs(p)?,
            num_partitions: read(p, "num.partitions", 1, |k, v| int_at_least(k, v, 1))?,
            default_replication_factor: read(p, "default.replication.factor", 1, |k, v| {
                let factor = integer(k, v, 1, i64::from(i16::MAX))?;
                i16::try_from(factor).map_err(|_| ConfigError::value(k, v, "an INT16"))
            })?,
            min_insync_replicas: read(p, "min.insync.replicas", 1, |k, v| int_at_least(k, v, 1))?,
            auto_create_topics_enable: read(p, "auto.create.topics.enable", true, boolean)?,
            log_segment_bytes: read(p, "log.segment.bytes", 1 << 30, |k, v| {
                int_at_least(k, v, 1 << 20)
            })?,
            log_retention_ms: log_retention_ms(p)?,
            log_retention_check_interval_ms: read(
                p,
                "log.retention.check.interval.ms",
                300_000,
                |k, v| long_at_least(k, v, 1).map(|ms| ms.unsigned_abs()),
            )?,
            log_cleanup_policy: read(p, "log.cleanup.policy", CleanupPolicy::DELETE, |k, v| {
                CleanupPolicy::parse(v)
                    .ok_or_else(|| ConfigError::value(k, v, "a list of delete and compact"))
            })?,
            replica_lag_time_max_ms: read(p, "replica.lag.time.max.ms", 30_000, |k, v| {
                long_at_least(k, v, 0).map(|ms| ms.unsigned_abs())
            })?,
            replica_fetch_wait_max_ms: read(p, "replica.fetch.wait.max.ms", 500, non_negative)?,
            replica_fetch_max_bytes: read(p, "replica.fetch.max.bytes", 1 << 20, non_negative)?,
            socket_request_max_bytes: read(p, "socket.request.max.bytes", 104_857_600, positive)?,
            unclean_leader_election_enable: read(
                p,
                "unclean.leader.election.enable",
                false,
                boolean,
            )?,
            log_flush_interval_messages: read(
                p,
                "log.flush.interval.messages",
                i64::MAX as u64,
                |k, v| long_at_least(k, v, 1).map(|count| count.unsigned_abs()),
            )?,
            broker_heartbeat_interval_ms: read(p, "broker.heartbeat.interval.ms", 2000, positive)?,
            broker_session_timeout_ms: read(p, "broker.session.timeout.ms", 9000, positive)?,
            cluster_id: read(p, "cluster.id", CLUSTER_ID_DEFAULT.to_string(), cluster_id)?,
            group: groups::group_config(p)?,
        };
        config.check()?;
        Ok(config)
    }

    /// The voters of the metadata quorum: `controller.quorum.voters`, or this node alone when
    /// that is empty (only possible for a combined broker and controller).
    pub fn effective_voters(&self) -> Vec<Voter> {
        if !self.controller_quorum_voters.is_empty() {
            return self.controller_quorum_voters.clone();
        }
        let local = self
            .listeners
            .iter()
            .find(|listener| self.controller_listener_names.contains(&listener.name))
            .or(self.listeners.first());
        vec![Voter {
            id: self.node_id,
            host: local.map_or_else(String::new, |listener| listener.host.clone()),
            port: local.map_or(0, |listener| listener.port),
        }]
    }

    /// The advertised listeners once the listeners are bound: a port of 0 becomes the port the
    /// listener of the same name got, and an empty host becomes the bound address. A wildcard
    /// address is left as it is (Kafka would advertise the machine's host name); clients cannot
    /// reach it, so `sluice server` warns that `advertised.listeners` should be set.
    pub fn advertised_for(&self, bound: &[(String, std::net::SocketAddr)]) -> Vec<Endpoint> {
        let mut advertised = self.advertised_listeners.clone();
        for endpoint in &mut advertised {
            let Some((_, address)) = bound.iter().find(|(name, _)| *name == endpoint.name) else {
                continue;
            };
            if endpoint.port == 0 {
                endpoint.port = address.port();
            }
            if endpoint.binds_all_interfaces() {
                endpoint.host = address.ip().to_string();
            }
        }
        advertised
    }

    /// Creates each data directory if missing and checks that a file can be written in it.
    pub fn check_data_dirs(&self) -> Result<(), ConfigError> {
        self.log_dirs
            .iter()
            .try_for_each(|dir| data_dirs::check(dir))
    }
}

impl ProcessRoles {
    const BOTH: ProcessRoles = ProcessRoles {
        broker: true,
        controller: true,
    };
}

fn default_listeners() -> Vec<Endpoint> {
    vec![Endpoint {
        name: "PLAINTEXT".to_string(),
        host: "127.0.0.1".to_string(),
        port: 9092,
    }]
}

fn process_roles(key: &'static str, value: &str) -> Result<ProcessRoles, ConfigError> {
    let expected = "broker, controller, or broker,controller";
    let mut roles = ProcessRoles {
        broker: false,
        controller: false,
    };
    for role in list(key, value)? {
        let seen = match role.to_ascii_lowercase().as_str() {
            "broker" => std::mem::replace(&mut roles.broker, true),
            "controller" => std::mem::replace(&mut roles.controller, true),
            _ => return Err(ConfigError::value(key, value, expected)),
        };
        if seen {
            return Err(ConfigError::value(key, value, expected));
        }
    }
    if !roles.broker && !roles.controller {
        return Err(ConfigError::value(key, value, expected));
    }
    Ok(roles)
}

/// `log.dirs` wins over `log.dir` (Kafka).
fn log_dirs(properties: &Properties) -> Result<Vec<PathBuf>, ConfigError> {
    for key in ["log.dirs", "log.dir"] {
        if let Some(value) = properties.get(key) {
            let dirs = list(key, value)?;
            if dirs.is_empty() {
                return Err(ConfigError::value(key, value, "at least one directory"));
            }
            return Ok(dirs.into_iter().map(PathBuf::from).collect());
        }
    }
    Ok(vec![PathBuf::from(DATA_DIR_DEFAULT)])
}

/// `log.retention.ms` wins over `.minutes`, which wins over `.hours` (Kafka). Kafka reads any
/// negative result as "no limit".
fn log_retention_ms(properties: &Properties) -> Result<Option<u64>, ConfigError> {
    let milliseconds = if let Some(value) = properties.get("log.retention.ms") {
        long_at_least("log.retention.ms", value, i64::MIN)?
    } else if let Some(value) = properties.get("log.retention.minutes") {
        i64::from(int_at_least("log.retention.minutes", value, i32::MIN)?) * 60_000
    } else if let Some(value) = properties.get("log.retention.hours") {
        i64::from(int_at_least("log.retention.hours", value, i32::MIN)?) * 3_600_000
    } else {
        168 * 3_600_000
    };
    Ok(u64::try_from(milliseconds).ok())
}

fn cluster_id(key: &'static str, value: &str) -> Result<String, ConfigError> {
    let id = value.trim();
    let valid = (1..=255).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(ConfigError::value(
            key,
            value,
            "1 to 255 letters, digits, `-`, `_` or `.`",
        ));
    }
    Ok(id.to_string())
}

mod checks;

#[cfg(test)]
mod tests;
