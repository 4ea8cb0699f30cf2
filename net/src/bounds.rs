//! The length pre-check: proves that every array count in a request body fits in the bytes left
//! before kafka-protocol decodes it.
//!
//! Why it exists: kafka-protocol 0.18 decodes an array by reading its count from the wire and
//! calling `Vec::with_capacity(count)` before it reads a single element (`types::Array` and
//! `types::CompactArray`). The count is a peer-chosen `i32` (or varint) unrelated to the frame
//! size, so a 12-byte request claiming 2^31 topics asks for 2^31 × `size_of::<Topic>()` bytes at
//! once, and a failed allocation aborts the process rather than returning an error. (Strings,
//! bytes and records are read with `try_get_bytes`, which checks the length first, and unknown
//! tagged fields likewise.)
//!
//! The pre-check walks the body with the same layout kafka-protocol decodes, from a table of
//! fields per message below, reading only lengths and counts and allocating nothing. It refuses
//! any count larger than the bytes remaining, which no valid message has: every element of every
//! array Sluice serves takes at least one byte. Once it passes, each `with_capacity` kafka-protocol
//! makes is at most the bytes remaining, so the memory decoding can take is bounded by
//! `frame size × size_of::<element>()` over the frame's arrays; with the frame limited by
//! `socket.request.max.bytes` that is a fixed multiple of the limit (see the crate docs).
//!
//! The walk must read exactly what kafka-protocol reads, or the two would disagree about where a
//! later count sits. Three things keep them together: the tables follow the generated decoders
//! field for field (versions included), known tagged fields must fill exactly their declared
//! size, and `decode_request` compares the bytes consumed by both and refuses a request on which
//! they differ. The tests encode a populated message of every advertised version with
//! kafka-protocol and require the walk to consume it exactly.

use kafka_protocol::messages::ApiKey;

use crate::request::Malformed;
use crate::wire::Reader;

/// Field presence up to the newest version.
const LATEST: i16 = i16::MAX;

/// How a field is laid out on the wire. Strings, bytes and arrays switch to their compact form
/// in flexible versions.
#[derive(Clone, Copy)]
enum Kind {
    Int8,
    Int16,
    Int32,
    Int64,
    Uuid,
    /// STRING / NULLABLE_STRING (INT16 length) or their compact forms (varint length + 1).
    Str,
    /// BYTES / NULLABLE_BYTES / RECORDS (INT32 length) or their compact forms.
    Bytes,
    Int32Array,
    StringArray,
    StructArray(&'static Struct),
}

/// A field present in versions `min..=max`.
#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    kind: Kind,
    min: i16,
    max: i16,
}

/// A tagged field that kafka-protocol decodes by type (rather than skipping its bytes) in
/// versions `min..=max`, and rejects in other flexible versions.
#[derive(Clone, Copy)]
struct TaggedField {
    tag: u32,
    field: Field,
}

/// A struct: its fields in wire order, then (in flexible versions) its tagged-field section.
struct Struct {
    fields: &'static [Field],
    tagged: &'static [TaggedField],
}

/// A request body and the first version in which it is flexible.
struct Message {
    flexible_from: i16,
    body: Struct,
}

const fn field(name: &'static str, kind: Kind, min: i16, max: i16) -> Field {
    Field {
        name,
        kind,
        min,
        max,
    }
}

const fn fields(fields: &'static [Field]) -> Struct {
    Struct {
        fields,
        tagged: &[],
    }
}

use Kind::{Bytes, Int16, Int32, Int32Array, Int64, Int8, Str, StringArray, StructArray, Uuid};

// Int8 also stands for BOOLEAN: one byte, any value.

const API_VERSIONS: Message = Message {
    flexible_from: 3,
    body: fields(&[
        field("client_software_name", Str, 3, LATEST),
        field("client_software_version", Str, 3, LATEST),
    ]),
};

const METADATA_TOPIC: Struct = fields(&[
    field("topic_id", Uuid, 10, LATEST),
    field("name", Str, 0, LATEST),
]);
const METADATA: Message = Message {
    flexible_from: 9,
    body: fields(&[
        field("topics", StructArray(&METADATA_TOPIC), 0, LATEST),
        field("allow_auto_topic_creation", Int8, 4, LATEST),
        field("include_cluster_authorized_operations", Int8, 8, 10),
        field("include_topic_authorized_operations", Int8, 8, LATEST),
    ]),
};

const PRODUCE_PARTITION: Struct = fields(&[
    field("index", Int32, 0, LATEST),
    field("records", Bytes, 0, LATEST),
]);
const PRODUCE_TOPIC: Struct = fields(&[
    field("name", Str, 0, 12),
    field("topic_id", Uuid, 13, LATEST),
    field("partition_data", StructArray(&PRODUCE_PARTITION), 0, LATEST),
]);
const PRODUCE: Message = Message {
    flexible_from: 9,
    body: fields(&[
        field("transactional_id", Str, 3, LATEST),
        field("acks", Int16, 0, LATEST),
        field("timeout_ms", Int32, 0, LATEST),
        field("topic_data", StructArray(&PRODUCE_TOPIC), 0, LATEST),
    ]),
};

const FETCH_PARTITION: Struct = Struct {
    fields: &[
        field("partition", Int32, 0, LATEST),
        field("current_leader_epoch", Int32, 9, LATEST),
        field("fetch_offset", Int64, 0, LATEST),
        field("last_fetched_epoch", Int32, 12, LATEST),
        field("log_start_offset", Int64, 5, LATEST),
        field("partition_max_bytes", Int32, 0, LATEST),
    ],
    tagged: &[
        TaggedField {
            tag: 0,
            field: field("replica_directory_id", Uuid, 17, LATEST),
        },
        TaggedField {
            tag: 1,
            field: field("high_watermark", Int64, 18, LATEST),
        },
    ],
};
const FETCH_TOPIC: Struct = fields(&[
    field("topic", Str, 0, 12),
    field("topic_id", Uuid, 13, LATEST),
    field("partitions", StructArray(&FETCH_PARTITION), 0, LATEST),
]);
const FETCH_FORGOTTEN_TOPIC: Struct = fields(&[
    field("topic", Str, 7, 12),
    field("topic_id", Uuid, 13, LATEST),
    field("partitions", Int32Array, 7, LATEST),
]);
const FETCH_REPLICA_STATE: Struct = fields(&[
    field("replica_id", Int32, 15, LATEST),
    field("replica_epoch", Int64, 15, LATEST),
]);
/// ReplicaState is a tagged struct, never an array: as a tagged value, a `StructArray` kind
/// stands for one struct decoded in place (see `walk_tagged_value`).
const FETCH_REPLICA_STATE_FIELD: Field = field(
    "replica_state",
    StructArray(&FETCH_REPLICA_STATE),
    15,
    LATEST,
);
const FETCH: Message = Message {
    flexible_from: 12,
    body: Struct {
        fields: &[
            field("replica_id", Int32, 0, 14),
            field("max_wait_ms", Int32, 0, LATEST),
            field("min_bytes", Int32, 0, LATEST),
            field("max_bytes", Int32, 3, LATEST),
            field("isolation_level", Int8, 4, LATEST),
            field("session_id", Int32, 7, LATEST),
            field("session_epoch", Int32, 7, LATEST),
            field("topics", StructArray(&FETCH_TOPIC), 0, LATEST),
            field(
                "forgotten_topics_data",
                StructArray(&FETCH_FORGOTTEN_TOPIC),
                7,
                LATEST,
            ),
            field("rack_id", Str, 11, LATEST),
        ],
        tagged: &[
            TaggedField {
                tag: 0,
                field: field("cluster_id", Str, 12, LATEST),
            },
            // Served versions stop at 12, where kafka-protocol rejects tag 1; the entry keeps
            // the walk from skipping bytes kafka-protocol would not skip.
            TaggedField {
                tag: 1,
                field: FETCH_REPLICA_STATE_FIELD,
            },
        ],
    },
};

const LIST_OFFSETS_PARTITION: Struct = fields(&[
    field("partition_index", Int32, 0, LATEST),
    field("current_leader_epoch", Int32, 4, LATEST),
    field("timestamp", Int64, 0, LATEST),
]);
const LIST_OFFSETS_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field(
        "partitions",
        StructArray(&LIST_OFFSETS_PARTITION),
        0,
        LATEST,
    ),
]);
const LIST_OFFSETS: Message = Message {
    flexible_from: 6,
    body: fields(&[
        field("replica_id", Int32, 0, LATEST),
        field("isolation_level", Int8, 2, LATEST),
        field("topics", StructArray(&LIST_OFFSETS_TOPIC), 0, LATEST),
        field("timeout_ms", Int32, 10, LATEST),
    ]),
};

const OFFSET_COMMIT_PARTITION: Struct = fields(&[
    field("partition_index", Int32, 0, LATEST),
    field("committed_offset", Int64, 0, LATEST),
    field("committed_leader_epoch", Int32, 6, LATEST),
    field("committed_metadata", Str, 0, LATEST),
]);
const OFFSET_COMMIT_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field(
        "partitions",
        StructArray(&OFFSET_COMMIT_PARTITION),
        0,
        LATEST,
    ),
]);
const OFFSET_COMMIT: Message = Message {
    flexible_from: 8,
    body: fields(&[
        field("group_id", Str, 0, LATEST),
        field("generation_id_or_member_epoch", Int32, 0, LATEST),
        field("member_id", Str, 0, LATEST),
        field("group_instance_id", Str, 7, LATEST),
        field("retention_time_ms", Int64, 2, 4),
        field("topics", StructArray(&OFFSET_COMMIT_TOPIC), 0, LATEST),
    ]),
};

/// One topic of an OffsetFetch, in the single-group (v1–7) and batched (v8+) layouts alike.
const OFFSET_FETCH_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("partition_indexes", Int32Array, 0, LATEST),
]);
const OFFSET_FETCH_GROUP: Struct = fields(&[
    field("group_id", Str, 8, LATEST),
    field("member_id", Str, 9, LATEST),
    field("member_epoch", Int32, 9, LATEST),
    field("topics", StructArray(&OFFSET_FETCH_TOPIC), 8, LATEST),
]);
const OFFSET_FETCH: Message = Message {
    flexible_from: 6,
    body: fields(&[
        field("group_id", Str, 0, 7),
        field("topics", StructArray(&OFFSET_FETCH_TOPIC), 0, 7),
        field("groups", StructArray(&OFFSET_FETCH_GROUP), 8, LATEST),
        field("require_stable", Int8, 7, LATEST),
    ]),
};

const FIND_COORDINATOR: Message = Message {
    flexible_from: 3,
    body: fields(&[
        field("key", Str, 0, 3),
        field("key_type", Int8, 1, LATEST),
        field("coordinator_keys", StringArray, 4, LATEST),
    ]),
};

const JOIN_GROUP_PROTOCOL: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("metadata", Bytes, 0, LATEST),
]);
const JOIN_GROUP: Message = Message {
    flexible_from: 6,
    body: fields(&[
        field("group_id", Str, 0, LATEST),
        field("session_timeout_ms", Int32, 0, LATEST),
        field("rebalance_timeout_ms", Int32, 1, LATEST),
        field("member_id", Str, 0, LATEST),
        field("group_instance_id", Str, 5, LATEST),
        field("protocol_type", Str, 0, LATEST),
        field("protocols", StructArray(&JOIN_GROUP_PROTOCOL), 0, LATEST),
        field("reason", Str, 8, LATEST),
    ]),
};

const HEARTBEAT: Message = Message {
    flexible_from: 4,
    body: fields(&[
        field("group_id", Str, 0, LATEST),
        field("generation_id", Int32, 0, LATEST),
        field("member_id", Str, 0, LATEST),
        field("group_instance_id", Str, 3, LATEST),
    ]),
};

const LEAVE_GROUP_MEMBER: Struct = fields(&[
    field("member_id", Str, 3, LATEST),
    field("group_instance_id", Str, 3, LATEST),
    field("reason", Str, 5, LATEST),
]);
const LEAVE_GROUP: Message = Message {
    flexible_from: 4,
    body: fields(&[
        field("group_id", Str, 0, LATEST),
        field("member_id", Str, 0, 2),
        field("members", StructArray(&LEAVE_GROUP_MEMBER), 3, LATEST),
    ]),
};

const SYNC_GROUP_ASSIGNMENT: Struct = fields(&[
    field("member_id", Str, 0, LATEST),
    field("assignment", Bytes, 0, LATEST),
]);
const SYNC_GROUP: Message = Message {
    flexible_from: 4,
    body: fields(&[
        field("group_id", Str, 0, LATEST),
        field("generation_id", Int32, 0, LATEST),
        field("member_id", Str, 0, LATEST),
        field("group_instance_id", Str, 3, LATEST),
        field("protocol_type", Str, 5, LATEST),
        field("protocol_name", Str, 5, LATEST),
        field(
            "assignments",
            StructArray(&SYNC_GROUP_ASSIGNMENT),
            0,
            LATEST,
        ),
    ]),
};

const DESCRIBE_GROUPS: Message = Message {
    flexible_from: 5,
    body: fields(&[
        field("groups", StringArray, 0, LATEST),
        field("include_authorized_operations", Int8, 3, LATEST),
    ]),
};

const LIST_GROUPS: Message = Message {
    flexible_from: 3,
    body: fields(&[
        field("states_filter", StringArray, 4, LATEST),
        field("types_filter", StringArray, 5, LATEST),
    ]),
};

const DELETE_GROUPS: Message = Message {
    flexible_from: 2,
    body: fields(&[field("groups_names", StringArray, 0, LATEST)]),
};

const OFFSET_DELETE_PARTITION: Struct = fields(&[field("partition_index", Int32, 0, LATEST)]);
const OFFSET_DELETE_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field(
        "partitions",
        StructArray(&OFFSET_DELETE_PARTITION),
        0,
        LATEST,
    ),
]);
/// OffsetDelete has no flexible version.
const OFFSET_DELETE: Message = Message {
    flexible_from: LATEST,
    body: fields(&[
        field("group_id", Str, 0, LATEST),
        field("topics", StructArray(&OFFSET_DELETE_TOPIC), 0, LATEST),
    ]),
};

const CREATE_TOPICS_ASSIGNMENT: Struct = fields(&[
    field("partition_index", Int32, 0, LATEST),
    field("broker_ids", Int32Array, 0, LATEST),
]);
const CREATE_TOPICS_CONFIG: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("value", Str, 0, LATEST),
]);
const CREATE_TOPICS_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("num_partitions", Int32, 0, LATEST),
    field("replication_factor", Int16, 0, LATEST),
    field(
        "assignments",
        StructArray(&CREATE_TOPICS_ASSIGNMENT),
        0,
        LATEST,
    ),
    field("configs", StructArray(&CREATE_TOPICS_CONFIG), 0, LATEST),
]);
const CREATE_TOPICS: Message = Message {
    flexible_from: 5,
    body: fields(&[
        field("topics", StructArray(&CREATE_TOPICS_TOPIC), 0, LATEST),
        field("timeout_ms", Int32, 0, LATEST),
        field("validate_only", Int8, 1, LATEST),
    ]),
};

const DELETE_TOPICS_STATE: Struct = fields(&[
    field("name", Str, 6, LATEST),
    field("topic_id", Uuid, 6, LATEST),
]);
const DELETE_TOPICS: Message = Message {
    flexible_from: 4,
    body: fields(&[
        field("topics", StructArray(&DELETE_TOPICS_STATE), 6, LATEST),
        field("topic_names", StringArray, 0, 5),
        field("timeout_ms", Int32, 0, LATEST),
    ]),
};

const DELETE_RECORDS_PARTITION: Struct = fields(&[
    field("partition_index", Int32, 0, LATEST),
    field("offset", Int64, 0, LATEST),
]);
const DELETE_RECORDS_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field(
        "partitions",
        StructArray(&DELETE_RECORDS_PARTITION),
        0,
        LATEST,
    ),
]);
const DELETE_RECORDS: Message = Message {
    flexible_from: 2,
    body: fields(&[
        field("topics", StructArray(&DELETE_RECORDS_TOPIC), 0, LATEST),
        field("timeout_ms", Int32, 0, LATEST),
    ]),
};

const INIT_PRODUCER_ID: Message = Message {
    flexible_from: 2,
    body: fields(&[
        field("transactional_id", Str, 0, LATEST),
        field("transaction_timeout_ms", Int32, 0, LATEST),
        field("producer_id", Int64, 3, LATEST),
        field("producer_epoch", Int16, 3, LATEST),
    ]),
};

const OFFSET_FOR_LEADER_EPOCH_PARTITION: Struct = fields(&[
    field("partition", Int32, 0, LATEST),
    field("current_leader_epoch", Int32, 2, LATEST),
    field("leader_epoch", Int32, 0, LATEST),
]);
const OFFSET_FOR_LEADER_EPOCH_TOPIC: Struct = fields(&[
    field("topic", Str, 0, LATEST),
    field(
        "partitions",
        StructArray(&OFFSET_FOR_LEADER_EPOCH_PARTITION),
        0,
        LATEST,
    ),
]);
const OFFSET_FOR_LEADER_EPOCH: Message = Message {
    flexible_from: 4,
    body: fields(&[
        field("replica_id", Int32, 3, LATEST),
        field(
            "topics",
            StructArray(&OFFSET_FOR_LEADER_EPOCH_TOPIC),
            0,
            LATEST,
        ),
    ]),
};

const DESCRIBE_CONFIGS_RESOURCE: Struct = fields(&[
    field("resource_type", Int8, 0, LATEST),
    field("resource_name", Str, 0, LATEST),
    field("configuration_keys", StringArray, 0, LATEST),
]);
const DESCRIBE_CONFIGS: Message = Message {
    flexible_from: 4,
    body: fields(&[
        field(
            "resources",
            StructArray(&DESCRIBE_CONFIGS_RESOURCE),
            0,
            LATEST,
        ),
        field("include_synonyms", Int8, 1, LATEST),
        field("include_documentation", Int8, 3, LATEST),
    ]),
};

const ALTER_CONFIGS_CONFIG: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("value", Str, 0, LATEST),
]);
const ALTER_CONFIGS_RESOURCE: Struct = fields(&[
    field("resource_type", Int8, 0, LATEST),
    field("resource_name", Str, 0, LATEST),
    field("configs", StructArray(&ALTER_CONFIGS_CONFIG), 0, LATEST),
]);
const ALTER_CONFIGS: Message = Message {
    flexible_from: 2,
    body: fields(&[
        field("resources", StructArray(&ALTER_CONFIGS_RESOURCE), 0, LATEST),
        field("validate_only", Int8, 0, LATEST),
    ]),
};

const CREATE_PARTITIONS_ASSIGNMENT: Struct = fields(&[field("broker_ids", Int32Array, 0, LATEST)]);
const CREATE_PARTITIONS_TOPIC: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("count", Int32, 0, LATEST),
    field(
        "assignments",
        StructArray(&CREATE_PARTITIONS_ASSIGNMENT),
        0,
        LATEST,
    ),
]);
const CREATE_PARTITIONS: Message = Message {
    flexible_from: 2,
    body: fields(&[
        field("topics", StructArray(&CREATE_PARTITIONS_TOPIC), 0, LATEST),
        field("timeout_ms", Int32, 0, LATEST),
        field("validate_only", Int8, 0, LATEST),
    ]),
};

const INCREMENTAL_ALTER_CONFIGS_CONFIG: Struct = fields(&[
    field("name", Str, 0, LATEST),
    field("config_operation", Int8, 0, LATEST),
    field("value", Str, 0, LATEST),
]);
const INCREMENTAL_ALTER_CONFIGS_RESOURCE: Struct = fields(&[
    field("resource_type", Int8, 0, LATEST),
    field("resource_name", Str, 0, LATEST),
    field(
        "configs",
        StructArray(&INCREMENTAL_ALTER_CONFIGS_CONFIG),
        0,
        LATEST,
    ),
]);
const INCREMENTAL_ALTER_CONFIGS: Message = Message {
    flexible_from: 1,
    body: fields(&[
        field(
            "resources",
            StructArray(&INCREMENTAL_ALTER_CONFIGS_RESOURCE),
            0,
            LATEST,
        ),
        field("validate_only", Int8, 0, LATEST),
    ]),
};

const DESCRIBE_CLUSTER: Message = Message {
    flexible_from: 0,
    body: fields(&[
        field("include_cluster_authorized_operations", Int8, 0, LATEST),
        field("endpoint_type", Int8, 1, LATEST),
        field("include_fenced_brokers", Int8, 2, LATEST),
    ]),
};

/// The layout table of a served request, `None` for keys without one.
fn message(api_key: ApiKey) -> Option<&'static Message> {
    let message = match api_key {
        ApiKey::Produce => &PRODUCE,
        ApiKey::Fetch => &FETCH,
        ApiKey::ListOffsets => &LIST_OFFSETS,
        ApiKey::Metadata => &METADATA,
        ApiKey::OffsetCommit => &OFFSET_COMMIT,
        ApiKey::OffsetFetch => &OFFSET_FETCH,
        ApiKey::FindCoordinator => &FIND_COORDINATOR,
        ApiKey::JoinGroup => &JOIN_GROUP,
        ApiKey::Heartbeat => &HEARTBEAT,
        ApiKey::LeaveGroup => &LEAVE_GROUP,
        ApiKey::SyncGroup => &SYNC_GROUP,
        ApiKey::DescribeGroups => &DESCRIBE_GROUPS,
        ApiKey::ListGroups => &LIST_GROUPS,
        ApiKey::ApiVersions => &API_VERSIONS,
        ApiKey::CreateTopics => &CREATE_TOPICS,
        ApiKey::DeleteTopics => &DELETE_TOPICS,
        ApiKey::DeleteRecords => &DELETE_RECORDS,
        ApiKey::InitProducerId => &INIT_PRODUCER_ID,
        ApiKey::OffsetForLeaderEpoch => &OFFSET_FOR_LEADER_EPOCH,
        ApiKey::DescribeConfigs => &DESCRIBE_CONFIGS,
        ApiKey::AlterConfigs => &ALTER_CONFIGS,
        ApiKey::CreatePartitions => &CREATE_PARTITIONS,
        ApiKey::DeleteGroups => &DELETE_GROUPS,
        ApiKey::IncrementalAlterConfigs => &INCREMENTAL_ALTER_CONFIGS,
        ApiKey::OffsetDelete => &OFFSET_DELETE,
        ApiKey::DescribeCluster => &DESCRIBE_CLUSTER,
        _ => return None,
    };
    Some(message)
}

/// Walks a request body of `api_key` at `version` and returns how many bytes kafka-protocol
/// will consume decoding it, or why it must not be handed to kafka-protocol.
///
/// Panics if `api_key` has no layout table: callers only pass served keys.
pub(crate) fn check_request_body(
    api_key: ApiKey,
    version: i16,
    body: &[u8],
) -> Result<usize, Malformed> {
    let message =
        message(api_key).unwrap_or_else(|| panic!("no layout table for served key {api_key:?}"));
    let mut walk = Walk {
        reader: Reader::new(body),
        version,
        flexible: version >= message.flexible_from,
    };
    walk.walk_struct(&message.body)?;
    Ok(walk.reader.position())
}

struct Walk<'a> {
    reader: Reader<'a>,
    version: i16,
    flexible: bool,
}

impl Walk<'_> {
    fn walk_struct(&mut self, schema: &Struct) -> Result<(), Malformed> {
        for field in schema.fields {
            if (field.min..=field.max).contains(&self.version) {
                self.walk_kind(field)?;
            }
        }
        if self.flexible {
            self.walk_tagged_fields(schema)?;
        }
        Ok(())
    }

    fn walk_kind(&mut self, field: &Field) -> Result<(), Malformed> {
        match field.kind {
            Int8 => self.reader.take(1).map(drop),
            Int16 => self.reader.take(2).map(drop),
            Int32 => self.reader.take(4).map(drop),
            Int64 => self.reader.take(8).map(drop),
            Uuid => self.reader.take(16).map(drop),
            Str => {
                let length = self.string_length()?;
                self.reader.take(length).map(drop)
            }
            Bytes => {
                let length = self.bytes_length()?;
                self.reader.take(length).map(drop)
            }
            Int32Array => {
                let count = self.array_count(field)?;
                self.reader.take(count * 4).map(drop)
            }
            StringArray => {
                let count = self.array_count(field)?;
                for _ in 0..count {
                    let length = self.string_length()?;
                    self.reader.take(length)?;
                }
                Ok(())
            }
            StructArray(element) => {
                let count = self.array_count(field)?;
                for _ in 0..count {
                    self.walk_struct(element)?;
                }
                Ok(())
            }
        }
    }

    /// A compact length: varint of length + 1, 0 for null (read as length 0).
    fn compact_length(&mut self) -> Result<usize, Malformed> {
        Ok((self.reader.unsigned_varint()? as usize).saturating_sub(1))
    }

    fn string_length(&mut self) -> Result<usize, Malformed> {
        if self.flexible {
            return self.compact_length();
        }
        let offset = self.reader.position();
        let length = self.reader.i16()?;
        nullable_length(offset, i32::from(length))
    }

    fn bytes_length(&mut self) -> Result<usize, Malformed> {
        if self.flexible {
            return self.compact_length();
        }
        let offset = self.reader.position();
        let length = self.reader.i32()?;
        nullable_length(offset, length)
    }

    /// An array count (null counts as empty), refused if it exceeds the bytes left: this is
    /// the check that bounds kafka-protocol's `Vec::with_capacity`.
    fn array_count(&mut self, field: &Field) -> Result<usize, Malformed> {
        let offset = self.reader.position();
        let count = if self.flexible {
            self.compact_length()?
        } else {
            let count = self.reader.i32()?;
            nullable_length(offset, count)?
        };
        if count > self.reader.remaining() {
            return Err(Malformed::ArrayCount {
                field: field.name,
                offset,
                count,
                remaining: self.reader.remaining(),
            });
        }
        Ok(count)
    }

    /// The tagged-field section: unknown tags are skipped by size, as kafka-protocol does;
    /// known tags must be valid for the version and fill exactly their declared size.
    fn walk_tagged_fields(&mut self, schema: &Struct) -> Result<(), Malformed> {
        let count = self.reader.unsigned_varint()?;
        for _ in 0..count {
            let offset = self.reader.position();
            let tag = self.reader.unsigned_varint()?;
            let size = self.reader.unsigned_varint()? as usize;
            if size > self.reader.remaining() {
                return Err(Malformed::Truncated {
                    offset: self.reader.position(),
                    wanted: size,
                    remaining: self.reader.remaining(),
                });
            }
            let Some(known) = schema.tagged.iter().find(|known| known.tag == tag) else {
                self.reader.take(size)?;
                continue;
            };
            let field = &known.field;
            if !(field.min..=field.max).contains(&self.version) {
                return Err(Malformed::Tag { offset, tag });
            }
            let start = self.reader.position();
            self.walk_tagged_value(field)?;
            if self.reader.position() - start != size {
                return Err(Malformed::Tag { offset, tag });
            }
        }
        Ok(())
    }

    fn walk_tagged_value(&mut self, field: &Field) -> Result<(), Malformed> {
        match field.kind {
            // A tagged struct is decoded in place, not as an array: walk one element.
            StructArray(element) => self.walk_struct(element),
            _ => self.walk_kind(field),
        }
    }
}

/// A non-compact length or count: -1 is null (taken as 0), other negatives are malformed.
fn nullable_length(offset: usize, length: i32) -> Result<usize, Malformed> {
    match length {
        -1 => Ok(0),
        length => usize::try_from(length).map_err(|_| Malformed::Length {
            offset,
            length: i64::from(length),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_array_count_is_refused_before_any_element() {
        // Metadata v0: topics count 2^31 - 1, then 3 bytes.
        let body = [0x7f, 0xff, 0xff, 0xff, 0, 1, b'a'];
        assert_eq!(
            check_request_body(ApiKey::Metadata, 0, &body),
            Err(Malformed::ArrayCount {
                field: "topics",
                offset: 0,
                count: i32::MAX as usize,
                remaining: 3
            })
        );
        // Metadata v9 (compact): count varint 2^32 - 1 means 2^32 - 2 topics.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0];
        assert!(matches!(
            check_request_body(ApiKey::Metadata, 9, &body),
            Err(Malformed::ArrayCount { .. })
        ));
    }

    #[test]
    fn nested_counts_are_checked_against_what_is_left() {
        // CreateTopics v2: one topic "t", 1 partition, RF 1, assignments: one entry whose
        // broker_ids claims 1000 ids.
        let mut body = vec![0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 1];
        body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]);
        body.extend_from_slice(&[0; 16]);
        assert!(matches!(
            check_request_body(ApiKey::CreateTopics, 2, &body),
            Err(Malformed::ArrayCount {
                field: "broker_ids",
                count: 1000,
                ..
            })
        ));
    }

    #[test]
    fn null_arrays_and_strings_are_accepted() {
        // Metadata v1: null topics (all topics).
        assert_eq!(
            check_request_body(ApiKey::Metadata, 1, &[0xff, 0xff, 0xff, 0xff]),
            Ok(4)
        );
        // Other negative counts are malformed.
        assert!(matches!(
            check_request_body(ApiKey::Metadata, 1, &[0xff, 0xff, 0xff, 0xfe]),
            Err(Malformed::Length { length: -2, .. })
        ));
    }

    #[test]
    fn fetch_tags_follow_kafka_protocol() {
        // Fetch v12 with no topics, then a tag section holding cluster_id "c" (tag 0, size 2).
        let mut body = vec![0; 4 * 4 + 1 + 4 + 4];
        body.extend_from_slice(&[1, 1, 1, 1, 0, 2, 2, b'c']);
        assert_eq!(check_request_body(ApiKey::Fetch, 12, &body), Ok(body.len()));
        // The same tag claiming a size its value does not fill.
        let last = body.len() - 3;
        body[last] = 3;
        body.push(0);
        assert!(matches!(
            check_request_body(ApiKey::Fetch, 12, &body),
            Err(Malformed::Tag { tag: 0, .. })
        ));
        // Tag 1 (replica_state) is only valid from v15.
        let mut body = vec![0; 4 * 4 + 1 + 4 + 4];
        body.extend_from_slice(&[1, 1, 1, 1, 1, 1, 0]);
        assert!(matches!(
            check_request_body(ApiKey::Fetch, 12, &body),
            Err(Malformed::Tag { tag: 1, .. })
        ));
    }
}
