//! Network addresses in the configuration: listeners (`NAME://host:port`), controller quorum
//! voters (`id@host:port`) and the listener-to-security-protocol map (`NAME:PROTOCOL`).
//!
//! Listener names are upper-cased, as Kafka's `ListenerName.normalised` does, so `plaintext://`
//! and `PLAINTEXT://` name the same listener. A host may be empty (Kafka binds the default
//! interface; Sluice binds all of them) or an IPv6 literal in brackets.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::error::ConfigError;
use super::values::list;

/// The security protocols Kafka defines. Sluice speaks only [`SecurityProtocol::Plaintext`]
/// so far; the others are recognised so that a configuration using them gets a clear refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No encryption, no authentication.
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL authentication without encryption.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Every protocol, each of which is also a listener name mapped to itself by default.
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// Kafka's name for the protocol.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// The protocol Kafka names `name` (any case).
    pub fn from_name(name: &str) -> Option<SecurityProtocol> {
        SecurityProtocol::ALL
            .into_iter()
            .find(|protocol| protocol.name().eq_ignore_ascii_case(name))
    }
}

/// One listener: a name and the address it binds or advertises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The listener name, upper-cased.
    pub name: String,
    /// A host name or IP literal (without brackets); empty for all interfaces.
    pub host: String,
    /// The port; 0 in `listeners` asks the system for a free one.
    pub port: u16,
}

impl Endpoint {
    /// Whether the host stands for every interface (empty, `0.0.0.0` or `::`), which is fine to
    /// bind but not to advertise.
    pub fn binds_all_interfaces(&self) -> bool {
        self.host.is_empty()
            || self
                .host
                .parse::<IpAddr>()
                .is_ok_and(|address| address.is_unspecified())
    }

    /// The `host:port` string to bind or connect to, with IPv6 literals in brackets and an empty
    /// host read as every IPv4 interface.
    pub fn socket_address(&self) -> String {
        match self.host.as_str() {
            "" => format!("0.0.0.0:{}", self.port),
            host if host.contains(':') => format!("[{host}]:{}", self.port),
            host => format!("{host}:{}", self.port),
        }
    }

    /// Parses one `NAME://host:port` item of `key`, with the port in `port_min..=65535`.
    fn parse(key: &'static str, item: &str, port_min: u16) -> Result<Endpoint, ConfigError> {
        let bad = |expected: &str| ConfigError::value(key, item, expected);
        let (name, address) = item
            .split_once("://")
            .ok_or_else(|| bad("a listener like PLAINTEXT://host:9092"))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("a listener name of letters, digits and `_`"));
        }
        let (host, port) = match address.strip_prefix('[') {
            Some(bracketed) => {
                let (host, rest) = bracketed
                    .split_once(']')
                    .ok_or_else(|| bad("an IPv6 host closed by `]`"))?;
                let port = rest
                    .strip_prefix(':')
                    .ok_or_else(|| bad("`:port` after the host"))?;
                (host, port)
            }
            None => address
                .rsplit_once(':')
                .ok_or_else(|| bad("a listener like PLAINTEXT://host:9092"))?,
        };
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '%' | '.' | '_' | ':'))
        {
            return Err(bad("a host name or IP address"));
        }
        let port = parse_port(port, port_min).ok_or_else(|| {
            bad(&format!(
                "a listener whose port is from {port_min} to 65535"
            ))
        })?;
        Ok(Endpoint {
            name: name.to_ascii_uppercase(),
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

fn parse_port(port: &str, port_min: u16) -> Option<u16> {
    port.parse::<u16>().ok().filter(|port| *port >= port_min)
}

/// Parses a `listeners`-style list: each listener once, and no two on one port unless one is
/// IPv4 and the other IPv6 (Kafka's rule). Port 0 is exempt, since each gets its own port.
pub fn endpoints(
    key: &'static str,
    value: &str,
    port_min: u16,
) -> Result<Vec<Endpoint>, ConfigError> {
    let mut parsed: Vec<Endpoint> = Vec::new();
    for item in list(key, value)? {
        let endpoint = Endpoint::parse(key, item, port_min)?;
        if parsed.iter().any(|other| other.name == endpoint.name) {
            return Err(ConfigError::value(key, value, "each listener name once"));
        }
        let clashes = |other: &&Endpoint| {
            other.port == endpoint.port
                && endpoint.port != 0
                && ip_family(&other.host) == ip_family(&endpoint.host)
        };
        if key == "listeners" && parsed.iter().any(|other| clashes(&other)) {
            return Err(ConfigError::value(
                key,
                value,
                "a different port per listener",
            ));
        }
        parsed.push(endpoint);
    }
    Ok(parsed)
}

/// 4 or 6 for an IP literal, 0 for a name; two names on one port do clash.
fn ip_family(host: &str) -> u8 {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => 6,
        Ok(IpAddr::V4(_)) => 4,
        Err(_) => 0,
    }
}

/// One controller quorum voter: `id@host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voter {
    /// The voter's `node.id`.
    pub id: i32,
    /// Where its controller listener is.
    pub host: String,
    /// Its port.
    pub port: u16,
}

/// Parses `controller.quorum.voters`: each voter id once.
pub fn voters(key: &'static str, value: &str) -> Result<Vec<Voter>, ConfigError> {
    let mut parsed: Vec<Voter> = Vec::new();
    for item in list(key, value)? {
        let bad = || ConfigError::value(key, item, "a voter like 1@host:9093");
        let (id, address) = item.split_once('@').ok_or_else(bad)?;
        let id = id.trim().parse::<i32>().ok().filter(|id| *id >= 0);
        let endpoint = Endpoint::parse(key, &format!("V://{address}"), 1).map_err(|_| bad())?;
        let (Some(id), false) = (id, endpoint.host.is_empty()) else {
            return Err(bad());
        };
        if parsed.iter().any(|voter| voter.id == id) {
            return Err(ConfigError::value(key, value, "each voter id once"));
        }
        parsed.push(Voter {
            id,
            host: endpoint.host,
            port: endpoint.port,
        });
    }
    Ok(parsed)
}

/// Parses `listener.security.protocol.map`: `NAME:PROTOCOL` pairs, each name once.
pub fn protocol_map(
    key: &'static str,
    value: &str,
) -> Result<BTreeMap<String, SecurityProtocol>, ConfigError> {
    let mut map = BTreeMap::new();
    for item in list(key, value)? {
        let protocols = SecurityProtocol::ALL.map(SecurityProtocol::name).join(", ");
        let bad =
            || ConfigError::value(key, item, format!("NAME:PROTOCOL with one of {protocols}"));
        let (name, protocol) = item.split_once(':').ok_or_else(bad)?;
        let protocol = SecurityProtocol::from_name(protocol.trim()).ok_or_else(bad)?;
        let name = name.trim().to_ascii_uppercase();
        if name.is_empty() || map.insert(name, protocol).is_some() {
            return Err(ConfigError::value(key, value, "each listener name once"));
        }
    }
    Ok(map)
}

/// Kafka's default map: each protocol's name is a listener name for that protocol.
pub fn default_protocol_map() -> BTreeMap<String, SecurityProtocol> {
    SecurityProtocol::ALL
        .into_iter()
        .map(|protocol| (protocol.name().to_string(), protocol))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, host: &str, port: u16) -> Endpoint {
        Endpoint {
            name: name.to_string(),
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn listeners_parse_names_hosts_and_ports() {
        let parsed = endpoints(
            "listeners",
            "plaintext://:9092, CONTROLLER://[::1]:9093,INTERNAL://broker-1.example:0",
            0,
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                endpoint("PLAINTEXT", "", 9092),
                endpoint("CONTROLLER", "::1", 9093),
                endpoint("INTERNAL", "broker-1.example", 0),
            ]
        );
        assert_eq!(parsed[1].to_string(), "CONTROLLER://[::1]:9093");
        assert_eq!(parsed[1].socket_address(), "[::1]:9093");
        assert_eq!(parsed[0].socket_address(), "0.0.0.0:9092");
        assert!(parsed[0].binds_all_interfaces());
        assert!(!parsed[2].binds_all_interfaces());
    }

    #[test]
    fn malformed_listeners_name_the_item_and_the_form() {
        for bad in [
            "127.0.0.1:9092",
            "PLAINTEXT://127.0.0.1",
            "PLAINTEXT://127.0.0.1:http",
            "PLAINTEXT://127.0.0.1:65536",
            "PLAINTEXT://[::1:9092",
            "PLAINTEXT://bad host:9092",
            "://host:9092",
            "PLAIN TEXT://host:9092",
        ] {
            let error = endpoints("listeners", bad, 0).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with("listeners: invalid value "),
                "{message}"
            );
            assert!(message.contains("expected"), "{message}");
        }
    }

    #[test]
    fn listeners_need_distinct_names_and_ports() {
        assert!(endpoints("listeners", "A://h:1,a://h:2", 0).is_err());
        assert!(endpoints("listeners", "A://h:1,B://g:1", 0).is_err());
        assert!(endpoints("listeners", "A://127.0.0.1:1,B://[::1]:1", 0).is_ok());
        assert!(endpoints("listeners", "A://h:0,B://h:0", 0).is_ok());
        // Advertised listeners may share a port (a load balancer in front of several).
        assert!(endpoints("advertised.listeners", "A://h:1,B://g:1", 1).is_ok());
        assert!(endpoints("advertised.listeners", "A://h:0", 1).is_err());
    }

    #[test]
    fn voters_parse() {
        assert_eq!(
            voters("v", "1@a:9093, 2@[::1]:9093").unwrap(),
            vec![
                Voter {
                    id: 1,
                    host: "a".to_string(),
                    port: 9093
                },
                Voter {
                    id: 2,
                    host: "::1".to_string(),
                    port: 9093
                },
            ]
        );
        for bad in ["a:9093", "x@a:9093", "-1@a:9093", "1@:9093", "1@a", "1@a:0"] {
            assert!(voters("v", bad).is_err(), "{bad}");
        }
        assert!(voters("v", "1@a:1,1@b:1").is_err());
    }

    #[test]
    fn protocol_maps_parse() {
        let map = protocol_map("m", "client:PLAINTEXT, REPLICATION:ssl").unwrap();
        assert_eq!(map.get("CLIENT"), Some(&SecurityProtocol::Plaintext));
        assert_eq!(map.get("REPLICATION"), Some(&SecurityProtocol::Ssl));
        assert!(protocol_map("m", "A:TLS").is_err());
        assert!(protocol_map("m", "A").is_err());
        assert!(protocol_map("m", "A:SSL,a:PLAINTEXT").is_err());
        assert_eq!(default_protocol_map().len(), 4);
    }
}
