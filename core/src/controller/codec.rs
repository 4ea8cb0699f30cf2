//! The binary encoding of [`MetadataRecord`]s, as they travel in the metadata log.
//!
//! Each record is `[type: u8][version: u8][fields]`, big-endian like Kafka's protocol, with
//! `u16` lengths for strings and arrays. A decoder sees bytes from disk and from peers, so
//! every length is checked against both a fixed limit and the bytes that remain before
//! anything is allocated, and every failure is a [`DecodeError`], never a panic.

use core::fmt;

use super::record::{
    LeaderRecoveryState, Listener, MetadataRecord, PartitionChange, PartitionRecord,
    RegisterBroker, Uuid,
};

/// The only record version this code writes and reads.
pub const RECORD_VERSION: u8 = 0;
/// The longest string a record may hold, in bytes (host names, topic names, racks).
pub const STRING_BYTES_MAX: usize = 1024;
/// The most elements an array in a record may hold (replicas, ISR, listeners).
pub const ARRAY_LEN_MAX: usize = 1024;

const TYPE_REGISTER_BROKER: u8 = 0;
const TYPE_FENCE_BROKER: u8 = 1;
const TYPE_UNFENCE_BROKER: u8 = 2;
const TYPE_BEGIN_CONTROLLED_SHUTDOWN: u8 = 3;
const TYPE_UNREGISTER_BROKER: u8 = 4;
const TYPE_TOPIC: u8 = 5;
const TYPE_PARTITION: u8 = 6;
const TYPE_PARTITION_CHANGE: u8 = 7;
const TYPE_REMOVE_TOPIC: u8 = 8;
const TYPE_PRODUCER_IDS: u8 = 9;
const TYPE_NO_OP: u8 = 10;
const TYPE_CONFIG: u8 = 11;

/// Why bytes did not decode into a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the field `what`.
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// The type byte names no known record.
    UnknownType(u8),
    /// The version byte is newer (or other) than this code understands.
    UnsupportedVersion {
        /// The record type.
        record_type: u8,
        /// The version found.
        version: u8,
    },
    /// A length is above its limit.
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: usize,
    },
    /// A field holds a value outside its domain (a bool that is not 0 or 1, bad UTF-8).
    InvalidValue {
        /// The field.
        what: &'static str,
    },
    /// Bytes remain after the record.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what } => write!(f, "record truncated at {what}"),
            DecodeError::UnknownType(t) => write!(f, "unknown metadata record type {t}"),
            DecodeError::UnsupportedVersion {
                record_type,
                version,
            } => write!(
                f,
                "record type {record_type} has unsupported version {version}"
            ),
            DecodeError::TooLong { what, len } => write!(f, "{what} length {len} over limit"),
            DecodeError::InvalidValue { what } => write!(f, "invalid value in {what}"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} bytes after the record"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl MetadataRecord {
    /// The record's bytes. Panics only if the record breaks the codec limits
    /// ([`STRING_BYTES_MAX`], [`ARRAY_LEN_MAX`]), which the controller never proposes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let mut w = Writer { out: &mut out };
        match self {
            MetadataRecord::RegisterBroker(r) => {
                w.header(TYPE_REGISTER_BROKER);
                encode_register_broker(&mut w, r);
            }
            MetadataRecord::FenceBroker {
                broker_id,
                broker_epoch,
            } => w.broker_ref(TYPE_FENCE_BROKER, *broker_id, *broker_epoch),
            MetadataRecord::UnfenceBroker {
                broker_id,
                broker_epoch,
            } => w.broker_ref(TYPE_UNFENCE_BROKER, *broker_id, *broker_epoch),
            MetadataRecord::BeginControlledShutdown {
                broker_id,
                broker_epoch,
            } => w.broker_ref(TYPE_BEGIN_CONTROLLED_SHUTDOWN, *broker_id, *broker_epoch),
            MetadataRecord::UnregisterBroker {
                broker_id,
                broker_epoch,
            } => w.broker_ref(TYPE_UNREGISTER_BROKER, *broker_id, *broker_epoch),
            MetadataRecord::Topic {
                name,
                topic_id,
                unclean_leader_election_enable,
            } => {
                w.header(TYPE_TOPIC);
                w.string(name);
                w.uuid(*topic_id);
                w.option_bool(*unclean_leader_election_enable);
            }
            MetadataRecord::Partition(p) => {
                w.header(TYPE_PARTITION);
                encode_partition(&mut w, p);
            }
            MetadataRecord::PartitionChange(c) => {
                w.header(TYPE_PARTITION_CHANGE);
                encode_partition_change(&mut w, c);
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                w.header(TYPE_REMOVE_TOPIC);
                w.uuid(*topic_id);
            }
            MetadataRecord::ProducerIds {
                broker_id,
                broker_epoch,
                next_producer_id,
            } => {
                w.broker_ref(TYPE_PRODUCER_IDS, *broker_id, *broker_epoch);
                w.i64(*next_producer_id);
            }
            MetadataRecord::NoOp => w.header(TYPE_NO_OP),
            MetadataRecord::Config {
                resource_type,
                resource_name,
                name,
                value,
            } => {
                w.header(TYPE_CONFIG);
                w.u8(*resource_type as u8);
                w.string(resource_name);
                w.string(name);
                w.option_string(value.as_deref());
            }
        }
        out
    }

    /// Decodes one record that fills `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<MetadataRecord, DecodeError> {
        let mut r = Reader { rest: bytes };
        let record_type = r.u8("record type")?;
        let version = r.u8("record version")?;
        if record_type > TYPE_CONFIG {
            return Err(DecodeError::UnknownType(record_type));
        }
        if version != RECORD_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                record_type,
                version,
            });
        }
        let record = decode_body(&mut r, record_type)?;
        if !r.rest.is_empty() {
            return Err(DecodeError::TrailingBytes(r.rest.len()));
        }
        Ok(record)
    }
}

fn decode_body(r: &mut Reader<'_>, record_type: u8) -> Result<MetadataRecord, DecodeError> {
    let record = match record_type {
        TYPE_REGISTER_BROKER => MetadataRecord::RegisterBroker(decode_register_broker(r)?),
        TYPE_FENCE_BROKER => MetadataRecord::FenceBroker {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
        },
        TYPE_UNFENCE_BROKER => MetadataRecord::UnfenceBroker {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
        },
        TYPE_BEGIN_CONTROLLED_SHUTDOWN => MetadataRecord::BeginControlledShutdown {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
        },
        TYPE_UNREGISTER_BROKER => MetadataRecord::UnregisterBroker {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
        },
        TYPE_TOPIC => MetadataRecord::Topic {
            name: r.string("topic name")?,
            topic_id: r.uuid("topic id")?,
            unclean_leader_election_enable: r.option_bool("unclean.leader.election.enable")?,
        },
        TYPE_PARTITION => MetadataRecord::Partition(decode_partition(r)?),
        TYPE_PARTITION_CHANGE => MetadataRecord::PartitionChange(decode_partition_change(r)?),
        TYPE_REMOVE_TOPIC => MetadataRecord::RemoveTopic {
            topic_id: r.uuid("topic id")?,
        },
        TYPE_PRODUCER_IDS => MetadataRecord::ProducerIds {
            broker_id: r.i32("broker id")?,
            broker_epoch: r.i64("broker epoch")?,
            next_producer_id: r.i64("next producer id")?,
        },
        TYPE_NO_OP => MetadataRecord::NoOp,
        TYPE_CONFIG => MetadataRecord::Config {
            resource_type: r.u8("config resource type")? as i8,
            resource_name: r.string("config resource name")?,
            name: r.string("config name")?,
            value: r.option_string("config value")?,
        },
        other => return Err(DecodeError::UnknownType(other)),
    };
    Ok(record)
}

pub(super) fn encode_register_broker(w: &mut Writer<'_>, r: &RegisterBroker) {
    w.i32(r.broker_id);
    w.uuid(r.incarnation_id);
    w.i64(r.broker_epoch);
    w.len(r.listeners.len());
    for listener in &r.listeners {
        w.string(&listener.name);
        w.string(&listener.host);
        w.out.extend_from_slice(&listener.port.to_be_bytes());
    }
    match &r.rack {
        None => w.u8(0),
        Some(rack) => {
            w.u8(1);
            w.string(rack);
        }
    }
    w.bool(r.fenced);
}

pub(super) fn decode_register_broker(r: &mut Reader<'_>) -> Result<RegisterBroker, DecodeError> {
    let broker_id = r.i32("broker id")?;
    let incarnation_id = r.uuid("incarnation id")?;
    let broker_epoch = r.i64("broker epoch")?;
    // A listener takes at least six bytes: two empty strings and a port.
    let count = r.len("listeners", 6)?;
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.string("listener name")?;
        let host = r.string("listener host")?;
        let port = u16::from_be_bytes(r.array("listener port")?);
        listeners.push(Listener { name, host, port });
    }
    let rack = match r.bool("rack present")? {
        false => None,
        true => Some(r.string("rack")?),
    };
    let fenced = r.bool("fenced")?;
    Ok(RegisterBroker {
        broker_id,
        incarnation_id,
        broker_epoch,
        listeners,
        rack,
        fenced,
    })
}

fn encode_partition(w: &mut Writer<'_>, p: &PartitionRecord) {
    w.uuid(p.topic_id);
    w.i32(p.partition);
    w.brokers(&p.replicas);
    w.brokers(&p.isr);
    w.i32(p.leader);
    w.i32(p.leader_epoch);
    w.i32(p.partition_epoch);
}

fn decode_partition(r: &mut Reader<'_>) -> Result<PartitionRecord, DecodeError> {
    Ok(PartitionRecord {
        topic_id: r.uuid("topic id")?,
        partition: r.i32("partition")?,
        replicas: r.brokers("replicas")?,
        isr: r.brokers("isr")?,
        leader: r.i32("leader")?,
        leader_epoch: r.i32("leader epoch")?,
        partition_epoch: r.i32("partition epoch")?,
    })
}

fn encode_partition_change(w: &mut Writer<'_>, c: &PartitionChange) {
    w.uuid(c.topic_id);
    w.i32(c.partition);
    w.brokers(&c.isr);
    w.brokers(&c.elr);
    w.i32(c.leader);
    w.i32(c.leader_epoch);
    w.i32(c.partition_epoch);
    w.bool(c.leader_recovery == LeaderRecoveryState::Recovering);
    w.bool(c.unclean);
}

fn decode_partition_change(r: &mut Reader<'_>) -> Result<PartitionChange, DecodeError> {
    Ok(PartitionChange {
        topic_id: r.uuid("topic id")?,
        partition: r.i32("partition")?,
        isr: r.brokers("isr")?,
        elr: r.brokers("elr")?,
        leader: r.i32("leader")?,
        leader_epoch: r.i32("leader epoch")?,
        partition_epoch: r.i32("partition epoch")?,
        leader_recovery: match r.bool("leader recovery state")? {
            false => LeaderRecoveryState::Recovered,
            true => LeaderRecoveryState::Recovering,
        },
        unclean: r.bool("unclean")?,
    })
}

pub(super) struct Writer<'o> {
    pub(super) out: &'o mut Vec<u8>,
}

impl Writer<'_> {
    pub(super) fn header(&mut self, record_type: u8) {
        self.out.push(record_type);
        self.out.push(RECORD_VERSION);
    }

    pub(super) fn broker_ref(&mut self, record_type: u8, broker_id: i32, broker_epoch: i64) {
        self.header(record_type);
        self.i32(broker_id);
        self.i64(broker_epoch);
    }

    pub(super) fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    pub(super) fn bool(&mut self, value: bool) {
        self.out.push(u8::from(value));
    }

    pub(super) fn option_bool(&mut self, value: Option<bool>) {
        self.out.push(match value {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }

    pub(super) fn i32(&mut self, value: i32) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn i64(&mut self, value: i64) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn uuid(&mut self, value: Uuid) {
        self.out.extend_from_slice(&value.0.to_be_bytes());
    }

    pub(super) fn len(&mut self, len: usize) {
        assert!(
            len <= ARRAY_LEN_MAX,
            "array of {len} elements over the codec limit"
        );
        assert!(ARRAY_LEN_MAX <= usize::from(u16::MAX));
        self.out.extend_from_slice(&(len as u16).to_be_bytes());
    }

    pub(super) fn string(&mut self, value: &str) {
        assert!(
            value.len() <= STRING_BYTES_MAX,
            "string over the codec limit"
        );
        self.out
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.out.extend_from_slice(value.as_bytes());
    }

    pub(super) fn option_string(&mut self, value: Option<&str>) {
        self.bool(value.is_some());
        if let Some(value) = value {
            self.string(value);
        }
    }

    pub(super) fn brokers(&mut self, brokers: &[i32]) {
        self.len(brokers.len());
        for broker in brokers {
            self.i32(*broker);
        }
    }
}

pub(super) struct Reader<'b> {
    pub(super) rest: &'b [u8],
}

impl<'b> Reader<'b> {
    pub(super) fn take(&mut self, len: usize, what: &'static str) -> Result<&'b [u8], DecodeError> {
        if len > self.rest.len() {
            return Err(DecodeError::Truncated { what });
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    pub(super) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(super) fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue { what }),
        }
    }

    pub(super) fn option_bool(&mut self, what: &'static str) -> Result<Option<bool>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(false)),
            2 => Ok(Some(true)),
            _ => Err(DecodeError::InvalidValue { what }),
        }
    }

    pub(super) fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub(super) fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    pub(super) fn uuid(&mut self, what: &'static str) -> Result<Uuid, DecodeError> {
        Ok(Uuid(u128::from_be_bytes(self.array(what)?)))
    }

    /// Reads an array length, refusing one above the limit or one whose elements (each at
    /// least `element_bytes_min` long) could not fit in what remains, before any allocation.
    pub(super) fn len(
        &mut self,
        what: &'static str,
        element_bytes_min: usize,
    ) -> Result<usize, DecodeError> {
        let len = usize::from(u16::from_be_bytes(self.array(what)?));
        if len > ARRAY_LEN_MAX {
            return Err(DecodeError::TooLong { what, len });
        }
        if len.saturating_mul(element_bytes_min) > self.rest.len() {
            return Err(DecodeError::Truncated { what });
        }
        Ok(len)
    }

    /// Reads a `u32` element count, refusing one above `max` or one whose elements could not
    /// fit in what remains, before any allocation.
    pub(super) fn count(
        &mut self,
        what: &'static str,
        max: usize,
        element_bytes_min: usize,
    ) -> Result<usize, DecodeError> {
        let count = u32::from_be_bytes(self.array(what)?);
        let count = usize::try_from(count).map_err(|_| DecodeError::TooLong {
            what,
            len: usize::MAX,
        })?;
        if count > max {
            return Err(DecodeError::TooLong { what, len: count });
        }
        if count.saturating_mul(element_bytes_min) > self.rest.len() {
            return Err(DecodeError::Truncated { what });
        }
        Ok(count)
    }

    pub(super) fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = usize::from(u16::from_be_bytes(self.array(what)?));
        if len > STRING_BYTES_MAX {
            return Err(DecodeError::TooLong { what, len });
        }
        let bytes = self.take(len, what)?;
        match core::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_string()),
            Err(_) => Err(DecodeError::InvalidValue { what }),
        }
    }

    pub(super) fn option_string(
        &mut self,
        what: &'static str,
    ) -> Result<Option<String>, DecodeError> {
        match self.bool(what)? {
            false => Ok(None),
            true => self.string(what).map(Some),
        }
    }

    pub(super) fn brokers(&mut self, what: &'static str) -> Result<Vec<i32>, DecodeError> {
        let len = self.len(what, 4)?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(self.i32(what)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brokers() -> impl Strategy<Value = Vec<i32>> {
        proptest::collection::vec(-1..10i32, 0..6)
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._-]{0,20}"
    }

    fn register() -> impl Strategy<Value = MetadataRecord> {
        let listener = (text(), text(), any::<u16>()).prop_map(|(name, host, port)| Listener {
            name,
            host,
            port,
        });
        (
            any::<i32>(),
            any::<u128>(),
            any::<i64>(),
            proptest::collection::vec(listener, 0..3),
            proptest::option::of(text()),
            any::<bool>(),
        )
            .prop_map(|(broker_id, id, broker_epoch, listeners, rack, fenced)| {
                MetadataRecord::RegisterBroker(RegisterBroker {
                    broker_id,
                    incarnation_id: Uuid(id),
                    broker_epoch,
                    listeners,
                    rack,
                    fenced,
                })
            })
    }

    fn partition_records() -> impl Strategy<Value = MetadataRecord> {
        let partition = (
            any::<u128>(),
            any::<i32>(),
            brokers(),
            brokers(),
            any::<[i32; 3]>(),
        )
            .prop_map(|(id, partition, replicas, isr, [leader, le, pe])| {
                MetadataRecord::Partition(PartitionRecord {
                    topic_id: Uuid(id),
                    partition,
                    replicas,
                    isr,
                    leader,
                    leader_epoch: le,
                    partition_epoch: pe,
                })
            });
        let change = (
            any::<u128>(),
            any::<i32>(),
            (brokers(), brokers()),
            any::<[i32; 3]>(),
            any::<[bool; 2]>(),
        )
            .prop_map(
                |(id, partition, (isr, elr), [leader, le, pe], [recovering, unclean])| {
                    MetadataRecord::PartitionChange(PartitionChange {
                        topic_id: Uuid(id),
                        partition,
                        isr,
                        elr,
                        leader,
                        leader_epoch: le,
                        partition_epoch: pe,
                        leader_recovery: if recovering {
                            LeaderRecoveryState::Recovering
                        } else {
                            LeaderRecoveryState::Recovered
                        },
                        unclean,
                    })
                },
            );
        prop_oneof![partition, change]
    }

    fn simple_records() -> impl Strategy<Value = MetadataRecord> {
        (
            0u8..10,
            any::<i32>(),
            any::<i64>(),
            any::<u128>(),
            text(),
            any::<Option<bool>>(),
        )
            .prop_map(
                |(kind, broker_id, broker_epoch, id, name, unclean)| match kind {
                    0 => MetadataRecord::FenceBroker {
                        broker_id,
                        broker_epoch,
                    },
                    1 => MetadataRecord::UnfenceBroker {
                        broker_id,
                        broker_epoch,
                    },
                    2 => MetadataRecord::BeginControlledShutdown {
                        broker_id,
                        broker_epoch,
                    },
                    3 => MetadataRecord::UnregisterBroker {
                        broker_id,
                        broker_epoch,
                    },
                    4 => MetadataRecord::Topic {
                        name,
                        topic_id: Uuid(id),
                        unclean_leader_election_enable: unclean,
                    },
                    5 => MetadataRecord::RemoveTopic { topic_id: Uuid(id) },
                    6 => MetadataRecord::ProducerIds {
                        broker_id,
                        broker_epoch,
                        next_producer_id: broker_epoch.wrapping_mul(3),
                    },
                    7 => MetadataRecord::Config {
                        resource_type: broker_id as i8,
                        resource_name: name.clone(),
                        name,
                        value: unclean.map(|b| b.to_string()),
                    },
                    _ => MetadataRecord::NoOp,
                },
            )
    }

    fn records() -> impl Strategy<Value = MetadataRecord> {
        prop_oneof![register(), partition_records(), simple_records()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// KIP-631: every node must decode exactly the records the controller wrote.
        #[test]
        fn records_round_trip(record in records()) {
            let bytes = record.encode();
            prop_assert_eq!(MetadataRecord::decode(&bytes), Ok(record));
        }

        /// Garbage from a peer or a corrupt log yields an error, never a panic.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = MetadataRecord::decode(&bytes);
        }

        /// Every proper prefix of a record is refused.
        #[test]
        fn truncated_records_are_refused(record in records()) {
            let bytes = record.encode();
            for cut in 0..bytes.len() {
                prop_assert!(MetadataRecord::decode(&bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn typed_errors_name_the_problem() {
        assert_eq!(
            MetadataRecord::decode(&[99, 0]),
            Err(DecodeError::UnknownType(99))
        );
        assert_eq!(
            MetadataRecord::decode(&[TYPE_NO_OP, 7]),
            Err(DecodeError::UnsupportedVersion {
                record_type: TYPE_NO_OP,
                version: 7
            })
        );
        assert_eq!(
            MetadataRecord::decode(&[TYPE_NO_OP, 0, 1]),
            Err(DecodeError::TrailingBytes(1))
        );
        // A partition claiming 65535 replicas in a few bytes is refused before allocating.
        let mut bytes = vec![TYPE_PARTITION, 0];
        bytes.extend_from_slice(&[0; 20]);
        bytes.extend_from_slice(&[0xff, 0xff, 0, 0]);
        assert_eq!(
            MetadataRecord::decode(&bytes),
            Err(DecodeError::TooLong {
                what: "replicas",
                len: 0xffff
            })
        );
    }
}
