//! The rules that tie several keys together, checked once every value has parsed. Each is
//! Kafka's (`KafkaConfig.validateValues`) unless its comment says otherwise.

use super::{ConfigError, Endpoint, SecurityProtocol, ServerConfig};

impl ServerConfig {
    /// Checks how the values fit together.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        self.check_listeners()?;
        self.check_quorum()?;
        if self.replica_fetch_wait_max_ms as u64 > self.replica_lag_time_max_ms {
            return Err(ConfigError::Conflict(format!(
                "replica.fetch.wait.max.ms ({}) must be at most replica.lag.time.max.ms ({}), or \
                 followers on quiet partitions drop out of the ISR",
                self.replica_fetch_wait_max_ms, self.replica_lag_time_max_ms
            )));
        }
        // Sluice's own rule: a lease shorter than the heartbeat interval would fence every
        // broker between two heartbeats.
        if self.broker_heartbeat_interval_ms >= self.broker_session_timeout_ms {
            return Err(ConfigError::Conflict(format!(
                "broker.heartbeat.interval.ms ({}) must be less than broker.session.timeout.ms ({})",
                self.broker_heartbeat_interval_ms, self.broker_session_timeout_ms
            )));
        }
        Ok(())
    }

    fn is_controller_listener(&self, endpoint: &Endpoint) -> bool {
        self.controller_listener_names.contains(&endpoint.name)
    }

    /// The security protocol of listener `name`.
    pub fn security_protocol(&self, name: &str) -> Option<SecurityProtocol> {
        let mapped = self.listener_security_protocol_map.get(name).copied();
        let controller = self.controller_listener_names.iter().any(|n| n == name);
        mapped.or(controller.then_some(SecurityProtocol::Plaintext))
    }

    fn check_listeners(&self) -> Result<(), ConfigError> {
        if self.listeners.is_empty() {
            return Err(ConfigError::value("listeners", "", "at least one listener"));
        }
        for endpoint in self.listeners.iter().chain(&self.advertised_listeners) {
            let Some(protocol) = self.security_protocol(&endpoint.name) else {
                return Err(ConfigError::Conflict(format!(
                    "listener {endpoint} has no security protocol: add {}:PLAINTEXT to \
                     listener.security.protocol.map",
                    endpoint.name
                )));
            };
            if protocol != SecurityProtocol::Plaintext {
                return Err(ConfigError::Conflict(format!(
                    "listener {endpoint} uses {}, which Sluice does not support yet: only \
                     PLAINTEXT listeners work",
                    protocol.name()
                )));
            }
        }
        for advertised in &self.advertised_listeners {
            if !self.listeners.iter().any(|l| l.name == advertised.name) {
                return Err(ConfigError::Conflict(format!(
                    "advertised.listeners names {}, which is not in listeners",
                    advertised.name
                )));
            }
            let wildcard = advertised.binds_all_interfaces() && !advertised.host.is_empty();
            if wildcard {
                return Err(ConfigError::value(
                    "advertised.listeners",
                    &advertised.to_string(),
                    "a routable host, not the wildcard address",
                ));
            }
            if self.process_roles.broker && self.is_controller_listener(advertised) {
                return Err(ConfigError::Conflict(format!(
                    "advertised.listeners must not include the controller listener {}",
                    advertised.name
                )));
            }
        }
        if self.process_roles.broker && self.advertised_listeners.is_empty() {
            return Err(ConfigError::Conflict(
                "a broker needs a listener that is not in controller.listener.names".to_string(),
            ));
        }
        Ok(())
    }

    fn check_quorum(&self) -> Result<(), ConfigError> {
        let roles = self.process_roles;
        let voters = &self.controller_quorum_voters;
        if roles.controller && !voters.is_empty() && !voters.iter().any(|v| v.id == self.node_id) {
            return Err(ConfigError::Conflict(format!(
                "node.id {} runs a controller but is not in controller.quorum.voters",
                self.node_id
            )));
        }
        // Sluice's reading of an empty voter list: this node alone, so it must be a controller.
        if !roles.controller && voters.is_empty() {
            return Err(ConfigError::Conflict(
                "a broker-only node needs controller.quorum.voters to find the controllers"
                    .to_string(),
            ));
        }
        if !voters.is_empty() && self.controller_listener_names.is_empty() {
            return Err(ConfigError::Conflict(
                "controller.quorum.voters is set, so controller.listener.names must name the \
                 controller listener"
                    .to_string(),
            ));
        }
        let listed = |name: &String| self.listeners.iter().any(|l| &l.name == name);
        if let Some(first) = self.controller_listener_names.first() {
            if roles.controller && !listed(first) {
                return Err(ConfigError::Conflict(format!(
                    "controller.listener.names names {first}, which is not in listeners"
                )));
            }
            if !roles.controller && self.controller_listener_names.iter().any(listed) {
                return Err(ConfigError::Conflict(
                    "a broker-only node must not listen on a controller listener".to_string(),
                ));
            }
        }
        Ok(())
    }
}
