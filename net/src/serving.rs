//! What a broker's driver needs from its node to answer clients, shared by every driver (the
//! real runtime's connection loop and the simulator's), so that both advertise and describe
//! the cluster the same way.

use std::collections::BTreeMap;

use kafka_protocol::messages::ApiKey;
use sluice_core::broker::Node;

use crate::convert::{BrokerEndpoint, ClusterInfo, ADMIN_APIS, DATA_PLANE_APIS, GROUP_APIS};

/// Whether a broker answers `api_key`, and so whether ApiVersions lists it: a client that
/// sees an API listed uses it, and one the broker cannot serve would cost it its connection.
/// ApiVersions, and every API [`crate::convert`] converts for the node (the group APIs too:
/// the node answers them, if only with COORDINATOR_NOT_AVAILABLE while it coordinates no
/// group).
pub fn serves(api_key: ApiKey) -> bool {
    api_key == ApiKey::ApiVersions
        || DATA_PLANE_APIS.contains(&api_key)
        || ADMIN_APIS.contains(&api_key)
        || GROUP_APIS.contains(&api_key)
}

/// What Metadata, DescribeCluster and FindCoordinator answers say about the cluster, from the
/// node's image: every live broker on its first advertised listener, and the controller id the
/// node names to clients.
pub fn cluster_info(node: &Node, cluster_id: &str) -> ClusterInfo {
    let brokers: BTreeMap<i32, BrokerEndpoint> = node
        .live_brokers()
        .filter_map(|broker| {
            let listener = broker.listeners.first()?;
            Some((
                broker.broker_id,
                BrokerEndpoint {
                    host: listener.host.clone(),
                    port: i32::from(listener.port),
                    rack: broker.rack.clone(),
                },
            ))
        })
        .collect();
    ClusterInfo {
        cluster_id: Some(cluster_id.to_string()),
        controller_id: node.controller_id_for_clients(),
        brokers,
    }
}
