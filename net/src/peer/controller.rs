//! Brokers' requests to the controllers and the controllers' answers.
//!
//! A registration travels as the metadata log's own `RegisterBroker` record (the controller
//! codec's encoding, with the request's `previous_broker_epoch` in the epoch field), so the
//! listener list has one byte encoding and one set of limits.

use sluice_core::broker::{ControllerRequest, ControllerResponse};
use sluice_core::controller::{
    AlterPartitionRequest, ControllerError, CreateTopicRequest, CreatedTopic, HeartbeatReply,
    HeartbeatRequest, LeaderRecoveryState, MetadataRecord, PartitionReply, RegisterBroker,
    RegisterBrokerRequest, Uuid, ARRAY_LEN_MAX, STRING_BYTES_MAX,
};

use super::raft::{decode_read, encode_read};
use super::wire::{Reader, Writer};
use super::{DecodeError, EncodeError};

const REGISTER: u8 = 0;
const HEARTBEAT: u8 = 1;
const CREATE_TOPIC: u8 = 2;
const ALTER_PARTITION: u8 = 3;
const METADATA: u8 = 4;
const PRODUCER_IDS: u8 = 5;
const ADMIN: u8 = 6;

pub(super) fn encode_request(
    w: &mut Writer,
    request: &ControllerRequest,
) -> Result<(), EncodeError> {
    match request {
        ControllerRequest::Register(register) => {
            w.u8(REGISTER);
            w.bytes(&registration_record(register)?.encode())?;
        }
        ControllerRequest::Heartbeat(heartbeat) => {
            w.u8(HEARTBEAT);
            w.i32(heartbeat.broker_id);
            w.i64(heartbeat.broker_epoch);
            w.bool(heartbeat.caught_up);
            w.bool(heartbeat.want_fence);
            w.bool(heartbeat.want_shutdown);
        }
        ControllerRequest::CreateTopic(create) => {
            w.u8(CREATE_TOPIC);
            w.string(&create.name)?;
            w.i32(create.partitions);
            w.i16(create.replication_factor);
            w.bool(create.unclean_leader_election_enable.is_some());
            w.bool(create.unclean_leader_election_enable.unwrap_or(false));
        }
        ControllerRequest::AlterPartition(alter) => {
            w.u8(ALTER_PARTITION);
            w.i32(alter.broker_id);
            w.i64(alter.broker_epoch);
            w.u128(alter.topic_id.0);
            w.i32(alter.partition);
            w.i32(alter.leader_epoch);
            w.i32(alter.partition_epoch);
            w.i32s(&alter.new_isr)?;
            encode_recovery(w, alter.leader_recovery);
        }
        ControllerRequest::MetadataFetch { from_index } => {
            w.u8(METADATA);
            w.u64(*from_index);
        }
        ControllerRequest::AllocateProducerIds {
            broker_id,
            broker_epoch,
        } => {
            w.u8(PRODUCER_IDS);
            w.i32(*broker_id);
            w.i64(*broker_epoch);
        }
        ControllerRequest::Admin(request) => {
            w.u8(ADMIN);
            super::admin::encode_request(w, request)?;
        }
    }
    Ok(())
}

pub(super) fn decode_request(r: &mut Reader<'_>) -> Result<ControllerRequest, DecodeError> {
    let request = match r.u8("controller request type")? {
        REGISTER => {
            let bytes = r.take_len_prefixed("registration")?;
            ControllerRequest::Register(registration_request(bytes)?)
        }
        HEARTBEAT => ControllerRequest::Heartbeat(HeartbeatRequest {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
            caught_up: r.bool("caught up")?,
            want_fence: r.bool("want fence")?,
            want_shutdown: r.bool("want shutdown")?,
        }),
        CREATE_TOPIC => ControllerRequest::CreateTopic(CreateTopicRequest {
            name: r.string("topic name")?,
            partitions: r.i32("partitions")?,
            replication_factor: r.i16("replication factor")?,
            unclean_leader_election_enable: {
                let present = r.bool("unclean election set")?;
                let value = r.bool("unclean election")?;
                present.then_some(value)
            },
        }),
        ALTER_PARTITION => ControllerRequest::AlterPartition(AlterPartitionRequest {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
            topic_id: Uuid(r.u128("topic id")?),
            partition: r.i32("partition")?,
            leader_epoch: r.i32("leader epoch")?,
            partition_epoch: r.i32("partition epoch")?,
            new_isr: r.i32s("new isr")?,
            leader_recovery: decode_recovery(r)?,
        }),
        METADATA => ControllerRequest::MetadataFetch {
            from_index: r.u64("from index")?,
        },
        ADMIN => ControllerRequest::Admin(super::admin::decode_request(r)?),
        PRODUCER_IDS => ControllerRequest::AllocateProducerIds {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
        },
        other => {
            return Err(DecodeError::UnknownType {
                what: "controller request",
                value: other,
            })
        }
    };
    Ok(request)
}

/// The record form of a registration; refused here rather than left to the record encoder,
/// which panics on values over its limits.
fn registration_record(request: &RegisterBrokerRequest) -> Result<MetadataRecord, EncodeError> {
    let strings = request
        .listeners
        .iter()
        .flat_map(|listener| [&listener.name, &listener.host])
        .chain(&request.rack);
    let fits = request.listeners.len() <= ARRAY_LEN_MAX
        && strings
            .into_iter()
            .all(|text| text.len() <= STRING_BYTES_MAX);
    if !fits {
        return Err(EncodeError::TooLarge);
    }
    Ok(MetadataRecord::RegisterBroker(RegisterBroker {
        broker_id: request.broker_id,
        incarnation_id: request.incarnation_id,
        broker_epoch: request.previous_broker_epoch,
        listeners: request.listeners.clone(),
        rack: request.rack.clone(),
        fenced: true,
    }))
}

fn registration_request(bytes: &[u8]) -> Result<RegisterBrokerRequest, DecodeError> {
    match MetadataRecord::decode(bytes).map_err(DecodeError::Record)? {
        MetadataRecord::RegisterBroker(record) => Ok(RegisterBrokerRequest {
            broker_id: record.broker_id,
            incarnation_id: record.incarnation_id,
            listeners: record.listeners,
            rack: record.rack,
            previous_broker_epoch: record.broker_epoch,
        }),
        _ => Err(DecodeError::InvalidValue {
            what: "registration",
        }),
    }
}

const OK: u8 = 0;
const REFUSED: u8 = 1;

pub(super) fn encode_response(
    w: &mut Writer,
    response: &ControllerResponse,
) -> Result<(), EncodeError> {
    match response {
        ControllerResponse::Registered(result) => {
            w.u8(REGISTER);
            encode_result(w, result, |w, epoch| {
                w.i64(*epoch);
                Ok(())
            })?;
        }
        ControllerResponse::Heartbeat(result) => {
            w.u8(HEARTBEAT);
            encode_result(w, result, |w, reply| {
                w.bool(reply.is_caught_up);
                w.bool(reply.is_fenced);
                w.bool(reply.should_shut_down);
                Ok(())
            })?;
        }
        ControllerResponse::TopicCreated(result) => {
            w.u8(CREATE_TOPIC);
            encode_result(w, result, |w, created| {
                w.u128(created.topic_id.0);
                w.i32(created.partitions);
                Ok(())
            })?;
        }
        ControllerResponse::AlterPartition(result) => {
            w.u8(ALTER_PARTITION);
            encode_result(w, result, |w, reply| {
                w.i32(reply.leader);
                w.i32(reply.leader_epoch);
                w.i32s(&reply.isr)?;
                w.i32(reply.partition_epoch);
                encode_recovery(w, reply.leader_recovery);
                Ok(())
            })?;
        }
        ControllerResponse::Metadata(read) => {
            w.u8(METADATA);
            encode_read(w, read)?;
        }
        ControllerResponse::Admin(response) => {
            w.u8(ADMIN);
            super::admin::encode_response(w, response)?;
        }
        ControllerResponse::ProducerIds(result) => {
            w.u8(PRODUCER_IDS);
            encode_result(w, result, |w, (first, count)| {
                w.i64(*first);
                w.i64(*count);
                Ok(())
            })?;
        }
    }
    Ok(())
}

pub(super) fn decode_response(r: &mut Reader<'_>) -> Result<ControllerResponse, DecodeError> {
    let response = match r.u8("controller response type")? {
        REGISTER => ControllerResponse::Registered(decode_result(r, |r| r.i64("broker epoch"))?),
        HEARTBEAT => ControllerResponse::Heartbeat(decode_result(r, |r| {
            Ok(HeartbeatReply {
                is_caught_up: r.bool("is caught up")?,
                is_fenced: r.bool("is fenced")?,
                should_shut_down: r.bool("should shut down")?,
            })
        })?),
        CREATE_TOPIC => ControllerResponse::TopicCreated(decode_result(r, |r| {
            Ok(CreatedTopic {
                topic_id: Uuid(r.u128("topic id")?),
                partitions: r.i32("partitions")?,
            })
        })?),
        ALTER_PARTITION => ControllerResponse::AlterPartition(decode_result(r, |r| {
            Ok(PartitionReply {
                leader: r.i32("leader")?,
                leader_epoch: r.i32("leader epoch")?,
                isr: r.i32s("isr")?,
                partition_epoch: r.i32("partition epoch")?,
                leader_recovery: decode_recovery(r)?,
            })
        })?),
        METADATA => ControllerResponse::Metadata(decode_read(r)?),
        ADMIN => ControllerResponse::Admin(super::admin::decode_response(r)?),
        PRODUCER_IDS => ControllerResponse::ProducerIds(decode_result(r, |r| {
            Ok((r.i64("first producer id")?, r.i64("producer id count")?))
        })?),
        other => {
            return Err(DecodeError::UnknownType {
                what: "controller response",
                value: other,
            })
        }
    };
    Ok(response)
}

fn encode_result<T>(
    w: &mut Writer,
    result: &Result<T, ControllerError>,
    ok: impl FnOnce(&mut Writer, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    match result {
        Ok(value) => {
            w.u8(OK);
            ok(w, value)
        }
        Err(error) => {
            w.u8(REFUSED);
            w.i16(error.code());
            Ok(())
        }
    }
}

fn decode_result<'a, T>(
    r: &mut Reader<'a>,
    ok: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Result<T, ControllerError>, DecodeError> {
    match r.u8("result")? {
        OK => ok(r).map(Ok),
        REFUSED => {
            let code = r.i16("error code")?;
            let error = CONTROLLER_ERRORS
                .iter()
                .find(|error| error.code() == code)
                .ok_or(DecodeError::UnknownErrorCode(code))?;
            Ok(Err(*error))
        }
        other => Err(DecodeError::UnknownType {
            what: "result",
            value: other,
        }),
    }
}

fn encode_recovery(w: &mut Writer, state: LeaderRecoveryState) {
    w.u8(match state {
        LeaderRecoveryState::Recovered => 0,
        LeaderRecoveryState::Recovering => 1,
    });
}

fn decode_recovery(r: &mut Reader<'_>) -> Result<LeaderRecoveryState, DecodeError> {
    match r.u8("leader recovery state")? {
        0 => Ok(LeaderRecoveryState::Recovered),
        1 => Ok(LeaderRecoveryState::Recovering),
        other => Err(DecodeError::UnknownType {
            what: "leader recovery state",
            value: other,
        }),
    }
}

/// Every refusal a controller can send, found again by its Kafka code.
pub(super) const CONTROLLER_ERRORS: &[ControllerError] = &[
    ControllerError::UnknownTopicOrPartition,
    ControllerError::NotLeaderOrFollower,
    ControllerError::RequestTimedOut,
    ControllerError::InvalidTopic,
    ControllerError::TopicAlreadyExists,
    ControllerError::InvalidPartitions,
    ControllerError::InvalidReplicationFactor,
    ControllerError::NotController,
    ControllerError::InvalidRequest,
    ControllerError::PolicyViolation,
    ControllerError::FencedLeaderEpoch,
    ControllerError::StaleBrokerEpoch,
    ControllerError::PreferredLeaderNotAvailable,
    ControllerError::EligibleLeadersNotAvailable,
    ControllerError::ElectionNotNeeded,
    ControllerError::InvalidUpdateVersion,
    ControllerError::UnknownTopicId,
    ControllerError::DuplicateBrokerRegistration,
    ControllerError::BrokerIdNotRegistered,
    ControllerError::IneligibleReplica,
];

/// Does not compile once core adds an error this table lacks: a new variant must be listed
/// above, or a refusal carrying it would not decode.
#[allow(dead_code)]
fn every_controller_error_is_listed(error: ControllerError) {
    match error {
        ControllerError::UnknownTopicOrPartition
        | ControllerError::NotLeaderOrFollower
        | ControllerError::RequestTimedOut
        | ControllerError::InvalidTopic
        | ControllerError::TopicAlreadyExists
        | ControllerError::InvalidPartitions
        | ControllerError::InvalidReplicationFactor
        | ControllerError::NotController
        | ControllerError::InvalidRequest
        | ControllerError::PolicyViolation
        | ControllerError::FencedLeaderEpoch
        | ControllerError::StaleBrokerEpoch
        | ControllerError::PreferredLeaderNotAvailable
        | ControllerError::EligibleLeadersNotAvailable
        | ControllerError::ElectionNotNeeded
        | ControllerError::InvalidUpdateVersion
        | ControllerError::UnknownTopicId
        | ControllerError::DuplicateBrokerRegistration
        | ControllerError::BrokerIdNotRegistered
        | ControllerError::IneligibleReplica => {}
    }
}
