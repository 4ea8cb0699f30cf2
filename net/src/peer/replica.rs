//! A follower's Fetch and OffsetForLeaderEpoch to a partition leader, and the answers. Record
//! bytes are carried as the leader's log holds them; the follower checks them as it appends.

use sluice_core::api::{
    EpochEndOffset, ErrorCode, FetchPartition, FetchPartitionResponse, FetchRecords, FetchRequest,
    FetchResponse, IsolationLevel, OffsetForLeaderEpochPartition, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, Request, Response, TopicPartition,
};

use super::wire::{Reader, Writer};
use super::{DecodeError, EncodeError};

const FETCH: u8 = 0;
const OFFSET_FOR_LEADER_EPOCH: u8 = 1;

/// A topic name's length and a partition index: the fewest bytes a partition name takes.
const PARTITION_BYTES_MIN: usize = 8;

pub(super) fn encode_request(w: &mut Writer, request: &Request) -> Result<(), EncodeError> {
    match request {
        Request::Fetch(fetch) => {
            w.u8(FETCH);
            w.i32(fetch.replica_id);
            w.i64(fetch.replica_epoch);
            w.i32(fetch.max_wait_ms);
            w.i32(fetch.min_bytes);
            w.i32(fetch.max_bytes);
            w.u8(match fetch.isolation_level {
                IsolationLevel::ReadUncommitted => 0,
                IsolationLevel::ReadCommitted => 1,
            });
            w.list(&fetch.partitions, |w, partition| {
                encode_partition(w, &partition.partition)?;
                w.option_i32(partition.current_leader_epoch);
                w.i64(partition.fetch_offset);
                w.i64(partition.log_start_offset);
                w.i32(partition.partition_max_bytes);
                Ok(())
            })
        }
        Request::OffsetForLeaderEpoch(request) => {
            w.u8(OFFSET_FOR_LEADER_EPOCH);
            w.i32(request.replica_id);
            w.list(&request.partitions, |w, partition| {
                encode_partition(w, &partition.partition)?;
                w.option_i32(partition.current_leader_epoch);
                w.i32(partition.leader_epoch);
                Ok(())
            })
        }
        other => Err(EncodeError::NotReplicaTraffic(other.name())),
    }
}

pub(super) fn decode_request(r: &mut Reader<'_>) -> Result<Request, DecodeError> {
    match r.u8("replica request type")? {
        FETCH => Ok(Request::Fetch(FetchRequest {
            replica_id: r.i32("replica id")?,
            replica_epoch: r.i64("replica epoch")?,
            max_wait_ms: r.i32("max wait ms")?,
            min_bytes: r.i32("min bytes")?,
            max_bytes: r.i32("max bytes")?,
            isolation_level: match r.u8("isolation level")? {
                0 => IsolationLevel::ReadUncommitted,
                1 => IsolationLevel::ReadCommitted,
                _ => {
                    return Err(DecodeError::InvalidValue {
                        what: "isolation level",
                    })
                }
            },
            partitions: r.list(PARTITION_BYTES_MIN, "fetch partitions", |r| {
                Ok(FetchPartition {
                    partition: decode_partition(r)?,
                    current_leader_epoch: r.option_i32("current leader epoch")?,
                    fetch_offset: r.i64("fetch offset")?,
                    log_start_offset: r.i64("log start offset")?,
                    partition_max_bytes: r.i32("partition max bytes")?,
                })
            })?,
        })),
        OFFSET_FOR_LEADER_EPOCH => Ok(Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest {
            replica_id: r.i32("replica id")?,
            partitions: r.list(PARTITION_BYTES_MIN, "epoch partitions", |r| {
                Ok(OffsetForLeaderEpochPartition {
                    partition: decode_partition(r)?,
                    current_leader_epoch: r.option_i32("current leader epoch")?,
                    leader_epoch: r.i32("leader epoch")?,
                })
            })?,
        })),
        other => Err(DecodeError::UnknownType {
            what: "replica request",
            value: other,
        }),
    }
}

pub(super) fn encode_response(w: &mut Writer, response: &Response) -> Result<(), EncodeError> {
    match response {
        Response::Fetch(fetch) => {
            w.u8(FETCH);
            w.i16(fetch.error.code());
            w.list(&fetch.partitions, |w, partition| {
                encode_partition(w, &partition.partition)?;
                w.i16(partition.error.code());
                w.i64(partition.high_watermark);
                w.i64(partition.last_stable_offset);
                w.i64(partition.log_start_offset);
                w.records(&partition.records)
            })
        }
        Response::OffsetForLeaderEpoch(response) => {
            w.u8(OFFSET_FOR_LEADER_EPOCH);
            w.list(&response.partitions, |w, partition| {
                encode_partition(w, &partition.partition)?;
                w.i16(partition.error.code());
                w.i32(partition.leader_epoch);
                w.i64(partition.end_offset);
                Ok(())
            })
        }
        other => Err(EncodeError::NotReplicaTraffic(other.name())),
    }
}

pub(super) fn decode_response(r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    match r.u8("replica response type")? {
        FETCH => Ok(Response::Fetch(FetchResponse {
            error: decode_error(r)?,
            partitions: r.list(PARTITION_BYTES_MIN, "fetch partitions", |r| {
                Ok(FetchPartitionResponse {
                    partition: decode_partition(r)?,
                    error: decode_error(r)?,
                    high_watermark: r.i64("high watermark")?,
                    last_stable_offset: r.i64("last stable offset")?,
                    log_start_offset: r.i64("log start offset")?,
                    records: FetchRecords::Bytes(r.records("records")?),
                })
            })?,
        })),
        OFFSET_FOR_LEADER_EPOCH => Ok(Response::OffsetForLeaderEpoch(
            OffsetForLeaderEpochResponse {
                partitions: r.list(PARTITION_BYTES_MIN, "epoch partitions", |r| {
                    Ok(EpochEndOffset {
                        partition: decode_partition(r)?,
                        error: decode_error(r)?,
                        leader_epoch: r.i32("leader epoch")?,
                        end_offset: r.i64("end offset")?,
                    })
                })?,
            },
        )),
        other => Err(DecodeError::UnknownType {
            what: "replica response",
            value: other,
        }),
    }
}

fn encode_partition(w: &mut Writer, partition: &TopicPartition) -> Result<(), EncodeError> {
    w.string(&partition.topic)?;
    w.i32(partition.partition);
    Ok(())
}

fn decode_partition(r: &mut Reader<'_>) -> Result<TopicPartition, DecodeError> {
    Ok(TopicPartition {
        topic: r.string("topic")?,
        partition: r.i32("partition")?,
    })
}

fn decode_error(r: &mut Reader<'_>) -> Result<ErrorCode, DecodeError> {
    let code = r.i16("error code")?;
    ErrorCode::from_code(code).ok_or(DecodeError::UnknownErrorCode(code))
}
