//! The records of `__consumer_offsets`, in Kafka's formats (`OffsetCommitKey`,
//! `OffsetCommitValue`, `GroupMetadataKey`, `GroupMetadataValue` in Kafka's
//! `group-coordinator` message specs), so that tools that decode the topic read Sluice's too.
//!
//! Every key and value starts with an `int16` version. Sluice writes the newest non-flexible
//! versions (offset key 1, offset value 3, group key 2, group value 3) and reads those and
//! the older ones; a flexible value (offset value 4, group value 4, written by Kafka ≥ 3.x
//! in some cases) is read too, since its fields are the same plus a tagged-field section.
//! A null value is a tombstone: the offset or the group is gone.

use bytes::Bytes;

use crate::api::TopicPartition;

/// The key version of an offset commit (`OffsetCommitKey`; 0 is the same layout).
const OFFSET_KEY_VERSION: i16 = 1;
/// The key version of a group's metadata (`GroupMetadataKey`).
const GROUP_KEY_VERSION: i16 = 2;
/// `OffsetCommitValue` v3: offset, leader epoch, metadata, commit timestamp.
const OFFSET_VALUE_VERSION: i16 = 3;
/// `GroupMetadataValue` v3: static members' instance ids.
const GROUP_VALUE_VERSION: i16 = 3;

/// What a record's key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKey {
    /// A committed offset of a group for a partition.
    Offset {
        /// The group.
        group: String,
        /// The partition.
        partition: TopicPartition,
    },
    /// A group's membership.
    Group {
        /// The group.
        group: String,
    },
}

impl RecordKey {
    /// The group the record belongs to.
    pub fn group(&self) -> &str {
        match self {
            RecordKey::Offset { group, .. } | RecordKey::Group { group } => group,
        }
    }
}

/// A committed offset as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetValue {
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last record consumed, or -1.
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: String,
    /// When it was committed (wall clock, ms).
    pub commit_timestamp: i64,
}

/// One member as a group's metadata record keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberValue {
    /// Its id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its address.
    pub client_host: String,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Its session timeout.
    pub session_timeout_ms: i32,
    /// Its metadata for the group's protocol.
    pub subscription: Bytes,
    /// Its assignment.
    pub assignment: Bytes,
}

/// A group's membership as of its last completed rebalance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupValue {
    /// `consumer`, or another protocol type.
    pub protocol_type: String,
    /// The generation.
    pub generation: i32,
    /// The chosen protocol, `None` for an empty group.
    pub protocol: Option<String>,
    /// The leader, `None` for an empty group.
    pub leader: Option<String>,
    /// When the group entered its state (wall clock, ms), -1 if unknown.
    pub current_state_timestamp: i64,
    /// The members.
    pub members: Vec<MemberValue>,
}

/// A record that does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRecord(pub &'static str);

impl core::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed __consumer_offsets record: {}", self.0)
    }
}

/// The key of `group`'s committed offset for `partition`.
pub fn offset_key(group: &str, partition: &TopicPartition) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + group.len() + partition.topic.len());
    put_i16(&mut out, OFFSET_KEY_VERSION);
    put_string(&mut out, group);
    put_string(&mut out, &partition.topic);
    put_i32(&mut out, partition.partition);
    out
}

/// The key of `group`'s metadata.
pub fn group_key(group: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + group.len());
    put_i16(&mut out, GROUP_KEY_VERSION);
    put_string(&mut out, group);
    out
}

/// An offset's value.
pub fn offset_value(value: &OffsetValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + value.metadata.len());
    put_i16(&mut out, OFFSET_VALUE_VERSION);
    put_i64(&mut out, value.offset);
    put_i32(&mut out, value.leader_epoch);
    put_string(&mut out, &value.metadata);
    put_i64(&mut out, value.commit_timestamp);
    out
}

/// A group's metadata value.
pub fn group_value(value: &GroupValue) -> Vec<u8> {
    let mut out = Vec::new();
    put_i16(&mut out, GROUP_VALUE_VERSION);
    put_string(&mut out, &value.protocol_type);
    put_i32(&mut out, value.generation);
    put_nullable_string(&mut out, value.protocol.as_deref());
    put_nullable_string(&mut out, value.leader.as_deref());
    put_i64(&mut out, value.current_state_timestamp);
    put_i32(&mut out, len_i32(value.members.len()));
    for member in &value.members {
        put_string(&mut out, &member.member_id);
        put_nullable_string(&mut out, member.group_instance_id.as_deref());
        put_string(&mut out, &member.client_id);
        put_string(&mut out, &member.client_host);
        put_i32(&mut out, member.rebalance_timeout_ms);
        put_i32(&mut out, member.session_timeout_ms);
        put_bytes(&mut out, &member.subscription);
        put_bytes(&mut out, &member.assignment);
    }
    out
}

/// Reads a record's key.
pub fn read_key(bytes: &[u8]) -> Result<RecordKey, BadRecord> {
    let mut reader = Reader { bytes };
    let version = reader.i16()?;
    let key = match version {
        0 | 1 => RecordKey::Offset {
            group: reader.string()?,
            partition: TopicPartition {
                topic: reader.string()?,
                partition: reader.i32()?,
            },
        },
        2 => RecordKey::Group {
            group: reader.string()?,
        },
        _ => return Err(BadRecord("unknown key version")),
    };
    Ok(key)
}

/// Reads an offset's value (versions 0–4).
pub fn read_offset_value(bytes: &[u8]) -> Result<OffsetValue, BadRecord> {
    let mut reader = Reader { bytes };
    let version = reader.i16()?;
    if !(0..=4).contains(&version) {
        return Err(BadRecord("unknown offset value version"));
    }
    let flexible = version >= 4;
    let offset = reader.i64()?;
    let leader_epoch = match version >= 3 {
        true => reader.i32()?,
        false => -1,
    };
    let metadata = reader.string_in(flexible)?;
    let commit_timestamp = reader.i64()?;
    // v1 carries an expire timestamp, which Kafka ignores since KIP-211.
    if version == 1 {
        reader.i64()?;
    }
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

/// Reads a group's metadata value (versions 0–4).
pub fn read_group_value(bytes: &[u8]) -> Result<GroupValue, BadRecord> {
    let mut reader = Reader { bytes };
    let version = reader.i16()?;
    if !(0..=4).contains(&version) {
        return Err(BadRecord("unknown group value version"));
    }
    let flexible = version >= 4;
    let protocol_type = reader.string_in(flexible)?;
    let generation = reader.i32()?;
    let protocol = reader.nullable_string_in(flexible)?;
    let leader = reader.nullable_string_in(flexible)?;
    let current_state_timestamp = match version >= 2 {
        true => reader.i64()?,
        false => -1,
    };
    let count = reader.array_len(flexible)?;
    let mut members = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let member_id = reader.string_in(flexible)?;
        let group_instance_id = match version >= 3 {
            true => reader.nullable_string_in(flexible)?,
            false => None,
        };
        let client_id = reader.string_in(flexible)?;
        let client_host = reader.string_in(flexible)?;
        let rebalance_timeout_ms = match version >= 1 {
            true => reader.i32()?,
            false => -1,
        };
        let session_timeout_ms = reader.i32()?;
        let subscription = reader.bytes_in(flexible)?;
        let assignment = reader.bytes_in(flexible)?;
        if flexible {
            reader.skip_tags()?;
        }
        members.push(MemberValue {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).expect("a group's fields are far below 2 GiB")
}

fn put_i16(out: &mut Vec<u8>, value: i16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// A non-nullable `STRING`: int16 length. Longer strings are cut at 32767 bytes (on a char
/// boundary); the coordinator refuses ids that long before they get here.
fn put_string(out: &mut Vec<u8>, value: &str) {
    let mut end = value.len().min(i16::MAX as usize);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    put_i16(out, i16::try_from(end).expect("cut to i16"));
    out.extend_from_slice(&value.as_bytes()[..end]);
}

fn put_nullable_string(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => put_string(out, value),
        None => put_i16(out, -1),
    }
}

fn put_bytes(out: &mut Vec<u8>, value: &[u8]) {
    put_i32(out, len_i32(value.len()));
    out.extend_from_slice(value);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], BadRecord> {
        if self.bytes.len() < n {
            return Err(BadRecord("truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, BadRecord> {
        let bytes = self.take(2)?;
        Ok(i16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn i32(&mut self) -> Result<i32, BadRecord> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes(bytes.try_into().expect("4 bytes")))
    }

    fn i64(&mut self) -> Result<i64, BadRecord> {
        let bytes = self.take(8)?;
        Ok(i64::from_be_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn uvarint(&mut self) -> Result<u64, BadRecord> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BadRecord("varint too long"))
    }

    /// A length: int16/int32 (`-1` = null) or, flexible, an unsigned varint of length + 1.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<Option<usize>, BadRecord> {
        let length = match (flexible, wide) {
            (true, _) => i64::try_from(self.uvarint()?).map_err(|_| BadRecord("length"))? - 1,
            (false, false) => i64::from(self.i16()?),
            (false, true) => i64::from(self.i32()?),
        };
        match length {
            -1 => Ok(None),
            n if n < 0 => Err(BadRecord("negative length")),
            n => usize::try_from(n)
                .map(Some)
                .map_err(|_| BadRecord("length")),
        }
    }

    fn nullable_string_in(&mut self, flexible: bool) -> Result<Option<String>, BadRecord> {
        let Some(len) = self.length(flexible, false)? else {
            return Ok(None);
        };
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| BadRecord("string is not UTF-8"))
    }

    fn string_in(&mut self, flexible: bool) -> Result<String, BadRecord> {
        self.nullable_string_in(flexible)?
            .ok_or(BadRecord("null string"))
    }

    fn string(&mut self) -> Result<String, BadRecord> {
        self.string_in(false)
    }

    fn bytes_in(&mut self, flexible: bool) -> Result<Bytes, BadRecord> {
        let len = self.length(flexible, true)?.unwrap_or(0);
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    fn array_len(&mut self, flexible: bool) -> Result<usize, BadRecord> {
        let len = self.length(flexible, true)?.unwrap_or(0);
        // Each member takes at least a few bytes: a count beyond the bytes left is a lie.
        if len > self.bytes.len() {
            return Err(BadRecord("array longer than the record"));
        }
        Ok(len)
    }

    fn skip_tags(&mut self) -> Result<(), BadRecord> {
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).map_err(|_| BadRecord("tag size"))?;
            self.take(size)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_string(),
            partition,
        }
    }

    #[test]
    fn an_offset_key_is_kafkas_layout() {
        // version 1, "g", "t", partition 7, as Kafka's OffsetCommitKey serializes it.
        let key = offset_key("g", &tp("t", 7));
        assert_eq!(key, [0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 7]);
        let back = read_key(&key).unwrap();
        assert_eq!(
            back,
            RecordKey::Offset {
                group: "g".into(),
                partition: tp("t", 7)
            }
        );
        assert_eq!(group_key("g"), [0, 2, 0, 1, b'g']);
        assert_eq!(
            read_key(&group_key("g")).unwrap(),
            RecordKey::Group { group: "g".into() }
        );
    }

    #[test]
    fn values_round_trip() {
        let offset = OffsetValue {
            offset: 42,
            leader_epoch: 3,
            metadata: "m".into(),
            commit_timestamp: 1_700_000_000_000,
        };
        assert_eq!(read_offset_value(&offset_value(&offset)).unwrap(), offset);
        let group = GroupValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("a-1".into()),
            current_state_timestamp: 9,
            members: vec![MemberValue {
                member_id: "a-1".into(),
                group_instance_id: Some("i".into()),
                client_id: "a".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(read_group_value(&group_value(&group)).unwrap(), group);
    }

    #[test]
    fn an_old_offset_value_reads() {
        // v1: offset, metadata, commit timestamp, expire timestamp.
        let mut v1 = vec![0, 1];
        v1.extend_from_slice(&10i64.to_be_bytes());
        v1.extend_from_slice(&[0, 0]);
        v1.extend_from_slice(&5i64.to_be_bytes());
        v1.extend_from_slice(&6i64.to_be_bytes());
        let value = read_offset_value(&v1).unwrap();
        assert_eq!((value.offset, value.leader_epoch), (10, -1));
        assert_eq!(value.commit_timestamp, 5);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &[][..],
            &[0],
            &[0, 9, 1],
            &[0, 3, 0, 0],
            &[0, 2, 0, 5, b'x'],
        ] {
            assert!(read_key(bytes).is_err());
            assert!(read_offset_value(bytes).is_err());
            assert!(read_group_value(bytes).is_err());
        }
        // A member count far beyond the bytes.
        let mut lie = vec![0, 3, 0, 0, 0, 0, 0, 1, 255, 255, 255, 255];
        lie.extend_from_slice(&0i64.to_be_bytes());
        lie.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(read_group_value(&lie).is_err());
    }
}
