//! The consumer protocol's embedded messages: ConsumerProtocolSubscription (a member's
//! JoinGroup `metadata`) and ConsumerProtocolAssignment (its SyncGroup `assignment`).
//!
//! Both are Kafka's non-flexible format behind an int16 version: big-endian integers, strings
//! with an int16 length, bytes and arrays with an int32 length, -1 for null. Versions 0–3 are
//! those of `ConsumerProtocolSubscription.json` and `ConsumerProtocolAssignment.json`:
//!
//! | version | subscription adds | assignment |
//! |---|---|---|
//! | 0 | topics, user_data | assigned partitions, user_data |
//! | 1 | owned_partitions | same |
//! | 2 | generation_id | same |
//! | 3 | rack_id | same |
//!
//! As Kafka's `ConsumerProtocol` does, a newer version is read as the newest known one (later
//! versions may only append fields), bytes after the known fields are ignored, and a version
//! below 0 is refused. Decoding never panics: garbage comes back as a [`ProtocolError`].

use bytes::{BufMut, Bytes, BytesMut};

use crate::api::TopicPartition;

/// The newest version of both messages this codec knows.
pub const CONSUMER_PROTOCOL_VERSION_MAX: i16 = 3;

/// The generation a subscription carries when its member has none (and before v2).
pub const NO_GENERATION: i32 = -1;

/// A member's subscription: the topics it wants and what it owns, for the leader's assignor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The subscribed topics.
    pub topics: Vec<String>,
    /// The assignor's opaque data, or `None`.
    pub user_data: Option<Bytes>,
    /// The partitions the member owns now (v1+; empty before).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation its owned partitions were assigned in (v2+), or [`NO_GENERATION`].
    pub generation_id: i32,
    /// Its `client.rack` (v3+).
    pub rack_id: Option<String>,
}

/// What the leader assigned one member.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The partitions, grouped by topic on the wire in the order their topics first appear.
    pub partitions: Vec<TopicPartition>,
    /// The assignor's opaque data, or `None`.
    pub user_data: Option<Bytes>,
}

/// Why consumer-protocol bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// The bytes end inside `field`.
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// The version prefix is negative.
    UnsupportedVersion(i16),
    /// `field` is null (length -1) where the format does not allow it.
    NullField {
        /// The field.
        field: &'static str,
    },
    /// `field` has a length below -1, or an array count larger than the bytes left could hold.
    InvalidLength {
        /// The field.
        field: &'static str,
        /// The length read.
        length: i64,
    },
    /// A string is not UTF-8.
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
}

impl Subscription {
    /// A subscription to `topics` that owns nothing.
    pub fn new(topics: Vec<String>) -> Subscription {
        Subscription {
            topics,
            user_data: None,
            owned_partitions: Vec::new(),
            generation_id: NO_GENERATION,
            rack_id: None,
        }
    }

    /// The message at `version` (0..=3) behind its version prefix. Topics and owned partitions
    /// are written sorted, as Kafka's `ConsumerProtocol.serializeSubscription` writes them;
    /// fields the version lacks are left out.
    pub fn encode(&self, version: i16) -> Bytes {
        assert!((0..=CONSUMER_PROTOCOL_VERSION_MAX).contains(&version));
        let mut out = BytesMut::new();
        out.put_i16(version);
        let mut topics: Vec<&String> = self.topics.iter().collect();
        topics.sort();
        topics.dedup();
        put_array_len(&mut out, topics.len());
        for topic in topics {
            put_string(&mut out, topic);
        }
        put_nullable_bytes(&mut out, self.user_data.as_deref());
        if version >= 1 {
            let mut owned = self.owned_partitions.clone();
            owned.sort();
            owned.dedup();
            put_topic_partitions(&mut out, &owned);
        }
        if version >= 2 {
            out.put_i32(self.generation_id);
        }
        if version >= 3 {
            match &self.rack_id {
                Some(rack) => put_string(&mut out, rack),
                None => out.put_i16(-1),
            }
        }
        out.freeze()
    }

    /// Reads a version-prefixed subscription; returns it with the version it was written at.
    pub fn decode(bytes: &[u8]) -> Result<(Subscription, i16), ProtocolError> {
        let mut reader = Reader { bytes };
        let version = reader.version()?;
        let topics = reader.strings("topics")?;
        let user_data = reader.nullable_bytes("user_data")?;
        let mut subscription = Subscription {
            topics,
            user_data,
            ..Subscription::new(Vec::new())
        };
        if version >= 1 {
            subscription.owned_partitions = reader.topic_partitions("owned_partitions")?;
        }
        if version >= 2 {
            subscription.generation_id = reader.i32("generation_id")?;
        }
        if version >= 3 {
            // Kafka reads an empty rack as no rack.
            let rack = reader.nullable_string("rack_id")?;
            subscription.rack_id = rack.filter(|rack| !rack.is_empty());
        }
        Ok((subscription, version))
    }
}

impl Assignment {
    /// The message at `version` (0..=3: all share one layout) behind its version prefix.
    pub fn encode(&self, version: i16) -> Bytes {
        assert!((0..=CONSUMER_PROTOCOL_VERSION_MAX).contains(&version));
        let mut out = BytesMut::new();
        out.put_i16(version);
        put_topic_partitions(&mut out, &self.partitions);
        put_nullable_bytes(&mut out, self.user_data.as_deref());
        out.freeze()
    }

    /// Reads a version-prefixed assignment; returns it with the version it was written at.
    pub fn decode(bytes: &[u8]) -> Result<(Assignment, i16), ProtocolError> {
        let mut reader = Reader { bytes };
        let version = reader.version()?;
        let partitions = reader.topic_partitions("assigned_partitions")?;
        let user_data = reader.nullable_bytes("user_data")?;
        let assignment = Assignment {
            partitions,
            user_data,
        };
        Ok((assignment, version))
    }
}

fn put_array_len(out: &mut BytesMut, len: usize) {
    out.put_i32(i32::try_from(len).expect("array longer than i32::MAX"));
}

fn put_string(out: &mut BytesMut, value: &str) {
    out.put_i16(i16::try_from(value.len()).expect("string longer than i16::MAX bytes"));
    out.put_slice(value.as_bytes());
}

fn put_nullable_bytes(out: &mut BytesMut, value: Option<&[u8]>) {
    match value {
        None => out.put_i32(-1),
        Some(bytes) => {
            out.put_i32(i32::try_from(bytes.len()).expect("bytes longer than i32::MAX"));
            out.put_slice(bytes);
        }
    }
}

/// `[]TopicPartition`: one entry per run of one topic, each with its partition indexes.
fn put_topic_partitions(out: &mut BytesMut, partitions: &[TopicPartition]) {
    let mut runs: Vec<(&str, Vec<i32>)> = Vec::new();
    for tp in partitions {
        match runs.iter_mut().find(|(topic, _)| *topic == tp.topic) {
            Some((_, indexes)) => indexes.push(tp.partition),
            None => runs.push((&tp.topic, vec![tp.partition])),
        }
    }
    put_array_len(out, runs.len());
    for (topic, indexes) in runs {
        put_string(out, topic);
        put_array_len(out, indexes.len());
        for index in indexes {
            out.put_i32(index);
        }
    }
}

/// A cursor over untrusted bytes: every read checks what is left.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, len: usize, field: &'static str) -> Result<&[u8], ProtocolError> {
        if self.bytes.len() < len {
            return Err(ProtocolError::Truncated { field });
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, ProtocolError> {
        let bytes = self.take(2, field)?;
        Ok(i16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, ProtocolError> {
        let bytes = self.take(4, field)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The version prefix, clamped to the newest known version (Kafka's `checkVersion`).
    fn version(&mut self) -> Result<i16, ProtocolError> {
        let version = self.i16("version")?;
        if version < 0 {
            return Err(ProtocolError::UnsupportedVersion(version));
        }
        Ok(version.min(CONSUMER_PROTOCOL_VERSION_MAX))
    }

    /// An array count, checked against the bytes left at `element_bytes_min` per element, so
    /// that a garbage count cannot make the decoder allocate more than the input's size.
    fn array_len(
        &mut self,
        field: &'static str,
        element_bytes_min: usize,
    ) -> Result<usize, ProtocolError> {
        let count = self.i32(field)?;
        if count == -1 {
            return Err(ProtocolError::NullField { field });
        }
        let length = i64::from(count);
        let fits = usize::try_from(count)
            .ok()
            .filter(|n| n.saturating_mul(element_bytes_min) <= self.bytes.len());
        fits.ok_or(ProtocolError::InvalidLength { field, length })
    }

    fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, ProtocolError> {
        let length = self.i16(field)?;
        if length == -1 {
            return Ok(None);
        }
        let Ok(len) = usize::try_from(length) else {
            let length = i64::from(length);
            return Err(ProtocolError::InvalidLength { field, length });
        };
        let bytes = self.take(len, field)?;
        let text = core::str::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8 { field })?;
        Ok(Some(text.to_owned()))
    }

    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        self.nullable_string(field)?
            .ok_or(ProtocolError::NullField { field })
    }

    fn strings(&mut self, field: &'static str) -> Result<Vec<String>, ProtocolError> {
        let count = self.array_len(field, 2)?;
        let mut strings = Vec::with_capacity(count);
        for _ in 0..count {
            strings.push(self.string(field)?);
        }
        Ok(strings)
    }

    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<Bytes>, ProtocolError> {
        let length = self.i32(field)?;
        if length == -1 {
            return Ok(None);
        }
        let Ok(len) = usize::try_from(length) else {
            let length = i64::from(length);
            return Err(ProtocolError::InvalidLength { field, length });
        };
        Ok(Some(Bytes::copy_from_slice(self.take(len, field)?)))
    }

    fn topic_partitions(
        &mut self,
        field: &'static str,
    ) -> Result<Vec<TopicPartition>, ProtocolError> {
        // A topic entry is at least a 2-byte name length and a 4-byte partition count.
        let topics = self.array_len(field, 6)?;
        let mut partitions = Vec::new();
        for _ in 0..topics {
            let topic = self.string(field)?;
            let count = self.array_len(field, 4)?;
            partitions.reserve(count);
            for _ in 0..count {
                let partition = self.i32(field)?;
                let topic = topic.clone();
                partitions.push(TopicPartition { topic, partition });
            }
        }
        Ok(partitions)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_owned(),
            partition,
        }
    }

    fn sample() -> Subscription {
        Subscription {
            topics: vec!["b".to_owned(), "a".to_owned()],
            user_data: Some(Bytes::from_static(&[0xAB])),
            owned_partitions: vec![tp("a", 1), tp("a", 0)],
            generation_id: 7,
            rack_id: Some("r1".to_owned()),
        }
    }

    /// Reference: ConsumerProtocolSubscription.json, versions 0-3, non-flexible: int16
    /// version, `[]string` topics (int32 count, int16-length strings), nullable `bytes`
    /// user data (int32 length), `[]TopicPartition` owned partitions (v1+), int32 generation
    /// (v2+), nullable string rack id (v3+). The bytes are written out by hand from the spec.
    #[test]
    fn subscription_v3_matches_the_spec_byte_for_byte() {
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x00, 0x03,                         // version 3
            0x00, 0x00, 0x00, 0x02,             // 2 topics, sorted
            0x00, 0x01, b'a',
            0x00, 0x01, b'b',
            0x00, 0x00, 0x00, 0x01, 0xAB,       // user data: 1 byte
            0x00, 0x00, 0x00, 0x01,             // owned: 1 topic
            0x00, 0x01, b'a',
            0x00, 0x00, 0x00, 0x02,             // 2 partitions, sorted
            0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x07,             // generation 7
            0x00, 0x02, b'r', b'1',             // rack "r1"
        ];
        assert_eq!(&sample().encode(3)[..], expected);
        let (decoded, version) = Subscription::decode(expected).unwrap();
        assert_eq!(version, 3);
        assert_eq!(decoded.topics, ["a", "b"]);
        assert_eq!(decoded.owned_partitions, [tp("a", 0), tp("a", 1)]);
        assert_eq!(decoded.generation_id, 7);
        assert_eq!(decoded.rack_id.as_deref(), Some("r1"));
    }

    /// v0 has only topics and user data; a null user data is length -1.
    #[test]
    fn subscription_v0_leaves_out_later_fields() {
        let subscription = Subscription {
            user_data: None,
            ..sample()
        };
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x00, 0x00,
            0x00, 0x00, 0x00, 0x02, 0x00, 0x01, b'a', 0x00, 0x01, b'b',
            0xFF, 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(&subscription.encode(0)[..], expected);
        let (decoded, version) = Subscription::decode(expected).unwrap();
        assert_eq!(version, 0);
        assert_eq!(decoded, Subscription::new(vec!["a".into(), "b".into()]));
    }

    /// Reference: ConsumerProtocolAssignment.json: int16 version, `[]TopicPartition`, nullable
    /// bytes user data; the layout is the same in versions 0-3.
    #[test]
    fn assignment_matches_the_spec_byte_for_byte() {
        let assignment = Assignment {
            partitions: vec![tp("t", 2), tp("u", 0), tp("t", 5)],
            user_data: None,
        };
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x00, 0x03,
            0x00, 0x00, 0x00, 0x02,             // 2 topics in first-seen order
            0x00, 0x01, b't',
            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05,
            0x00, 0x01, b'u',
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0xFF, 0xFF, 0xFF, 0xFF,             // no user data
        ];
        assert_eq!(&assignment.encode(3)[..], expected);
        let (decoded, _) = Assignment::decode(expected).unwrap();
        assert_eq!(decoded.partitions, [tp("t", 2), tp("t", 5), tp("u", 0)]);
        assert_eq!(decoded.user_data, None);
    }

    /// Kafka reads a newer version with the newest format it knows and ignores what follows.
    #[test]
    fn a_newer_version_is_read_as_the_newest_known() {
        let mut bytes = sample().encode(3).to_vec();
        bytes[1] = 9;
        bytes.extend_from_slice(&[1, 2, 3]);
        let (decoded, version) = Subscription::decode(&bytes).unwrap();
        assert_eq!(version, 3);
        assert_eq!(decoded.generation_id, 7);
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(
            Subscription::decode(&[]),
            Err(ProtocolError::Truncated { field: "version" })
        );
        assert_eq!(
            Assignment::decode(&[0xFF, 0xFF]),
            Err(ProtocolError::UnsupportedVersion(-1))
        );
        let null_topics = [0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            Subscription::decode(&null_topics),
            Err(ProtocolError::NullField { field: "topics" })
        );
        let huge_count = [0, 0, 0x7F, 0xFF, 0xFF, 0xFF];
        assert!(matches!(
            Subscription::decode(&huge_count),
            Err(ProtocolError::InvalidLength { .. })
        ));
        let bad_utf8 = [0, 0, 0, 0, 0, 1, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            Subscription::decode(&bad_utf8),
            Err(ProtocolError::InvalidUtf8 { field: "topics" })
        );
        let cut = sample().encode(3);
        for len in 0..cut.len() {
            assert!(Subscription::decode(&cut[..len]).is_err(), "cut at {len}");
        }
    }

    fn arb_subscription() -> impl Strategy<Value = Subscription> {
        let topic = "[a-z]{1,4}";
        (
            prop::collection::btree_set(topic, 0..4),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
            prop::collection::btree_set((topic, 0..8i32), 0..6),
            any::<i32>(),
            prop::option::of("[a-z]{1,3}"),
        )
            .prop_map(
                |(topics, user_data, owned, generation_id, rack_id)| Subscription {
                    topics: topics.into_iter().collect(),
                    user_data: user_data.map(Bytes::from),
                    owned_partitions: owned.into_iter().map(|(t, p)| tp(&t, p)).collect(),
                    generation_id,
                    rack_id,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn subscription_round_trips_at_v3(subscription in arb_subscription()) {
            let (decoded, version) = Subscription::decode(&subscription.encode(3)).unwrap();
            prop_assert_eq!(version, 3);
            prop_assert_eq!(decoded, subscription);
        }

        #[test]
        fn assignment_round_trips(subscription in arb_subscription()) {
            let assignment = Assignment {
                partitions: subscription.owned_partitions,
                user_data: subscription.user_data,
            };
            let (decoded, _) = Assignment::decode(&assignment.encode(1)).unwrap();
            prop_assert_eq!(decoded, assignment);
        }

        #[test]
        fn decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Subscription::decode(&bytes);
            let _ = Assignment::decode(&bytes);
        }

        #[test]
        fn decoding_mutated_bytes_never_panics(
            subscription in arb_subscription(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = subscription.encode(3).to_vec();
            for (index, value) in flips {
                let at = index.index(bytes.len());
                bytes[at] = value;
            }
            let _ = Subscription::decode(&bytes);
            let _ = Assignment::decode(&bytes);
        }
    }
}
