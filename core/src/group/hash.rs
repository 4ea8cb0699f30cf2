//! Which `__consumer_offsets` partition holds a group: Kafka's
//! `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`, with Java's
//! `String.hashCode` over UTF-16 code units. Matching it keeps a group on the partition a
//! Kafka cluster would put it on, which tools that read the topic rely on.

/// Java's `String.hashCode`: `s[0]·31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(value: &str) -> i32 {
    value.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs`: `i32::MIN` maps to 0, not to itself.
fn kafka_abs(value: i32) -> i32 {
    match value {
        i32::MIN => 0,
        value => value.abs(),
    }
}

/// The offsets partition of `group_id` among `partitions` (at least 1).
pub fn partition_for_group(group_id: &str, partitions: i32) -> i32 {
    assert!(partitions > 0, "offsets.topic.num.partitions is at least 1");
    kafka_abs(java_string_hash(group_id)) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_java() {
        // "hello" and "polygenelubricants" (below) are well-known Java values; the others
        // follow the same definition.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("console-consumer-1"), 35_782_224);
        // A character outside the BMP counts as two UTF-16 units.
        assert_eq!(java_string_hash("😀"), 1_772_899);
    }

    #[test]
    fn partitions_stay_in_range() {
        assert_eq!(partition_for_group("hello", 50), 99_162_322 % 50);
        assert_eq!(
            partition_for_group("console-consumer-1", 50),
            35_782_224 % 50
        );
        for group in [
            "",
            "a",
            "polygenelubricants",
            "GydZG_",
            "DESIGNING WORKHOUSES",
        ] {
            assert!((0..50).contains(&partition_for_group(group, 50)));
        }
        // "polygenelubricants".hashCode() is Integer.MIN_VALUE: Utils.abs maps it to 0.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for_group("polygenelubricants", 50), 0);
    }
}
