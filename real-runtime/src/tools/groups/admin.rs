//! The requests `sluice groups` makes, in core's terms: to any broker (Metadata, ListGroups),
//! to the group's coordinator (DescribeGroups, OffsetFetch, OffsetCommit, DeleteGroups,
//! OffsetDelete) and to each partition's leader (ListOffsets), as Kafka's admin client routes
//! them.

use std::collections::BTreeMap;

use sluice_core::api::{
    self, DescribedGroup, ErrorCode, FetchedOffset, GroupRequest, GroupResponse, IsolationLevel,
    ListOffsetsPartition, ListOffsetsRequest, MetadataRequest, MetadataResponse, Request, Response,
    TopicPartition, CONSUMER_REPLICA_ID, COORDINATOR_KEY_GROUP,
};
use sluice_core::controller::BrokerId;
use sluice_net::convert::outbound::Answer;
use tokio::net::TcpStream;

use crate::cli::CliError;
use crate::client::Connection;
use crate::tools::admin;
use crate::transport::TokioConnector;

/// A connection to a bootstrap server plus the brokers it named.
pub struct GroupAdmin {
    bootstrap: Connection<TcpStream>,
    /// Every broker's address, from the first Metadata answer.
    pub brokers: BTreeMap<BrokerId, (String, u16)>,
}

impl GroupAdmin {
    /// Connects to the first bootstrap server that answers and learns the brokers.
    pub async fn connect(bootstrap: &[(String, u16)]) -> Result<GroupAdmin, CliError> {
        let mut admin = GroupAdmin {
            bootstrap: admin::connect(bootstrap).await?,
            brokers: BTreeMap::new(),
        };
        admin.metadata(Some(Vec::new())).await?;
        Ok(admin)
    }

    /// Sends `request` to the bootstrap server.
    pub async fn call(&mut self, request: Request) -> Result<Answer, CliError> {
        call(&mut self.bootstrap, request).await
    }

    /// Metadata of `topics` (`None` for every topic), never creating one.
    pub async fn metadata(
        &mut self,
        topics: Option<Vec<String>>,
    ) -> Result<MetadataResponse, CliError> {
        let request = Request::Metadata(MetadataRequest {
            topics,
            allow_auto_topic_creation: false,
        });
        let answer = self.call(request).await?;
        for broker in &answer.brokers {
            self.brokers
                .insert(broker.id, (broker.host.clone(), broker.port));
        }
        match answer.response {
            Response::Metadata(metadata) => Ok(metadata),
            other => Err(mismatch("Metadata", &other)),
        }
    }

    /// Opens a connection to broker `id`.
    pub async fn open(&self, id: BrokerId) -> Result<Connection<TcpStream>, CliError> {
        let Some((host, port)) = self.brokers.get(&id) else {
            return Err(CliError::Failed(format!(
                "broker {id} has no known address"
            )));
        };
        Connection::open(&TokioConnector, host, *port, "sluice-admin")
            .await
            .map_err(|error| CliError::Failed(format!("cannot reach {host}:{port}: {error}")))
    }

    /// The coordinator of `group`: its id and a connection to it.
    pub async fn coordinator(
        &mut self,
        group: &str,
    ) -> Result<(BrokerId, Connection<TcpStream>), CliError> {
        let request = GroupRequest::FindCoordinator(api::FindCoordinatorRequest {
            key_type: COORDINATOR_KEY_GROUP,
            keys: vec![group.to_string()],
        });
        let answer = self.call(Request::Group(request)).await?;
        for broker in &answer.brokers {
            self.brokers
                .insert(broker.id, (broker.host.clone(), broker.port));
        }
        let Response::Group(GroupResponse::FindCoordinator(found)) = answer.response else {
            return Err(mismatch("FindCoordinator", &answer.response));
        };
        let Some(coordinator) = found.coordinators.into_iter().next() else {
            return Err(CliError::Failed(
                "FindCoordinator named no coordinator".into(),
            ));
        };
        if coordinator.error != ErrorCode::None {
            return Err(CliError::Failed(format!(
                "no coordinator for group '{group}': {}",
                coordinator.error
            )));
        }
        let connection = self.open(coordinator.node_id).await?;
        Ok((coordinator.node_id, connection))
    }

    /// The first offset at or after `timestamp` (or one of ListOffsets' special timestamps) of
    /// each partition, asked of its leader; a partition whose leader refuses is left out.
    pub async fn list_offsets(
        &mut self,
        partitions: &[TopicPartition],
        timestamp: i64,
    ) -> Result<BTreeMap<TopicPartition, i64>, CliError> {
        let mut topics: Vec<String> = partitions.iter().map(|p| p.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let metadata = self.metadata(Some(topics)).await?;
        let mut by_leader: BTreeMap<BrokerId, Vec<ListOffsetsPartition>> = BTreeMap::new();
        for topic in &metadata.topics {
            for partition in &topic.partitions {
                let wanted = TopicPartition {
                    topic: topic.name.clone(),
                    partition: partition.partition,
                };
                if partition.leader >= 0 && partitions.contains(&wanted) {
                    by_leader
                        .entry(partition.leader)
                        .or_default()
                        .push(ListOffsetsPartition {
                            partition: wanted,
                            current_leader_epoch: None,
                            timestamp,
                        });
                }
            }
        }
        let mut offsets = BTreeMap::new();
        for (leader, asked) in by_leader {
            let mut connection = self.open(leader).await?;
            let request = Request::ListOffsets(ListOffsetsRequest {
                replica_id: CONSUMER_REPLICA_ID,
                isolation_level: IsolationLevel::ReadUncommitted,
                partitions: asked,
            });
            let answer = call(&mut connection, request).await?;
            let Response::ListOffsets(listed) = answer.response else {
                return Err(mismatch("ListOffsets", &answer.response));
            };
            for listed in listed.partitions {
                if listed.error == ErrorCode::None {
                    offsets.insert(listed.partition, listed.offset);
                }
            }
        }
        Ok(offsets)
    }
}

/// Sends `request` on `connection`, or a one-line error.
pub async fn call(
    connection: &mut Connection<TcpStream>,
    request: Request,
) -> Result<Answer, CliError> {
    let name = request.name();
    connection
        .call_core(request)
        .await
        .map_err(|error| CliError::Failed(format!("{name}: {error}")))
}

/// A group request to the coordinator and its answer of the same kind.
pub async fn group_call(
    connection: &mut Connection<TcpStream>,
    request: GroupRequest,
) -> Result<GroupResponse, CliError> {
    let name = request.name();
    match call(connection, Request::Group(request)).await?.response {
        Response::Group(response) if response.name() == name => Ok(response),
        other => Err(mismatch(name, &other)),
    }
}

/// `group` as the coordinator describes it.
pub async fn describe(
    connection: &mut Connection<TcpStream>,
    group: &str,
) -> Result<DescribedGroup, CliError> {
    let request = GroupRequest::DescribeGroups(api::DescribeGroupsRequest {
        groups: vec![group.to_string()],
    });
    let GroupResponse::DescribeGroups(answer) = group_call(connection, request).await? else {
        unreachable!("group_call checks the answer's kind");
    };
    let Some(described) = answer.groups.into_iter().next() else {
        return Err(CliError::Failed("DescribeGroups described no group".into()));
    };
    if described.error != ErrorCode::None {
        return Err(CliError::Failed(format!(
            "cannot describe group '{group}': {}",
            described.error
        )));
    }
    Ok(described)
}

/// Every offset `group` has committed.
pub async fn committed(
    connection: &mut Connection<TcpStream>,
    group: &str,
) -> Result<Vec<FetchedOffset>, CliError> {
    let request = GroupRequest::OffsetFetch(api::OffsetFetchRequest {
        groups: vec![api::OffsetFetchGroup {
            group_id: group.to_string(),
            partitions: None,
        }],
        require_stable: false,
    });
    let GroupResponse::OffsetFetch(answer) = group_call(connection, request).await? else {
        unreachable!("group_call checks the answer's kind");
    };
    let Some(fetched) = answer.groups.into_iter().next() else {
        return Err(CliError::Failed("OffsetFetch answered for no group".into()));
    };
    if fetched.error != ErrorCode::None {
        return Err(CliError::Failed(format!(
            "cannot fetch the offsets of group '{group}': {}",
            fetched.error
        )));
    }
    // Kafka answers -1 for a partition asked for and never committed.
    Ok(fetched
        .partitions
        .into_iter()
        .filter(|offset| offset.error == ErrorCode::None && offset.offset >= 0)
        .collect())
}

fn mismatch(asked: &str, answer: &Response) -> CliError {
    CliError::Failed(format!("{asked} answered with {}", answer.name()))
}
