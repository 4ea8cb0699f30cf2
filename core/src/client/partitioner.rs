//! Choosing a record's partition as Kafka's Java producer does, so that a key lands on the
//! same partition whichever client wrote it.

use std::collections::BTreeMap;

use crate::rng::Rng;

const SEED: u32 = 0x9747_b28c;
// Mixing constants of MurmurHash2, as Kafka copies them.
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// Kafka's 32-bit murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), seed `0x9747b28c`.
///
/// Java reads the tail bytes and shifts with `>>>` on `int`; the unsigned arithmetic here is
/// the same bit for bit, and the result is reinterpreted as Java's signed `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java arrays are shorter than 2^31, and so is anything a record can carry.
    let length = u32::try_from(data.len()).expect("murmur2 input longer than 4 GiB");
    let mut h = SEED ^ length;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = words.remainder();
    assert!(tail.len() < 4);
    // Java's switch falls through from case 3 to case 1.
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `MIN`).
pub const fn to_positive(number: i32) -> i32 {
    number & 0x7fff_ffff
}

/// The partition of a keyed record: `toPositive(murmur2(key)) % partitions`, as Kafka's
/// `BuiltInPartitioner.partitionForKey`.
pub fn partition_for_key(key: &[u8], partition_count: i32) -> i32 {
    assert!(partition_count > 0, "a topic has at least one partition");
    let partition = to_positive(murmur2(key)) % partition_count;
    assert!((0..partition_count).contains(&partition));
    partition
}

/// Sticky partitioning for records without a key (KIP-480): keyless records of a topic all go
/// to one partition until the batch started there is closed (full, or sent), so they fill
/// batches instead of scattering one record per partition.
///
/// The caller asks [`StickyPartitioner::partition`] first; when the record would start a new
/// batch on that partition it calls [`StickyPartitioner::on_new_batch`], which keeps the
/// partition for the first batch and moves on once that batch has been closed.
#[derive(Clone, Debug, Default)]
pub struct StickyPartitioner {
    sticky: BTreeMap<String, Sticky>,
}

#[derive(Clone, Copy, Debug)]
struct Sticky {
    partition: i32,
    /// Whether a batch has been started on `partition` since it was chosen: the next new
    /// batch there means that one was closed, so it is time to move on.
    batch_started: bool,
}

impl StickyPartitioner {
    /// A partitioner with no sticky partitions yet.
    pub fn new() -> StickyPartitioner {
        StickyPartitioner::default()
    }

    /// The partition for a keyless record of `topic`: the sticky one, or a random pick from
    /// `available` (partitions with a leader; all of them when none has) if there is none yet.
    pub fn partition(
        &mut self,
        topic: &str,
        partition_count: i32,
        available: &[i32],
        rng: &mut dyn Rng,
    ) -> i32 {
        assert!(partition_count > 0, "a topic has at least one partition");
        if let Some(sticky) = self.sticky.get(topic) {
            if sticky.partition < partition_count {
                return sticky.partition;
            }
        }
        let partition = pick(partition_count, available, None, rng);
        let sticky = Sticky {
            partition,
            batch_started: false,
        };
        self.sticky.insert(topic.to_owned(), sticky);
        partition
    }

    /// A keyless record for `partition` of `topic` would start a new batch there. Returns the
    /// partition it should go to instead: the same one if this is the sticky partition's first
    /// batch, otherwise a new random pick, different from the last when there is a choice.
    pub fn on_new_batch(
        &mut self,
        topic: &str,
        partition: i32,
        partition_count: i32,
        available: &[i32],
        rng: &mut dyn Rng,
    ) -> i32 {
        let Some(sticky) = self.sticky.get_mut(topic) else {
            return partition;
        };
        if sticky.partition != partition {
            return partition;
        }
        if !sticky.batch_started {
            sticky.batch_started = true;
            return partition;
        }
        let next = pick(partition_count, available, Some(partition), rng);
        assert!((0..partition_count).contains(&next));
        *sticky = Sticky {
            partition: next,
            batch_started: true,
        };
        next
    }
}

/// A uniform pick among `available` other than `previous` (or among all partitions when none
/// is available), as Kafka's `StickyPartitionCache.nextPartition`.
fn pick(partition_count: i32, available: &[i32], previous: Option<i32>, rng: &mut dyn Rng) -> i32 {
    let all: Vec<i32>;
    let candidates = if available.is_empty() {
        all = (0..partition_count).collect();
        &all[..]
    } else {
        available
    };
    let others: Vec<i32> = candidates
        .iter()
        .copied()
        .filter(|p| Some(*p) != previous)
        .collect();
    let choices = if others.is_empty() {
        candidates
    } else {
        &others
    };
    let index = rng.below(choices.len() as u64) as usize;
    choices[index]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Kafka's `UtilsTest.testMurmur2` (clients/src/test/.../utils/UtilsTest.java) and the
    /// values Akka checks against Kafka's implementation (Murmur2Spec.scala).
    #[test]
    fn murmur2_matches_kafka_test_vectors() {
        let cases: [(&[u8], i32); 11] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            // Kafka's test writes this one as the bytes {'a', 'b', 'c'}.
            (b"abc", 479_470_107),
            (b"1", -1_993_445_489),
            (b"12", 126_087_238),
            (b"123", -267_702_483),
            (b"1234", -1_614_185_708),
            (b"12345", -1_188_365_604),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input), expected, "{:?}", input);
        }
    }

    #[test]
    fn keyed_partitions_are_in_range_and_stable() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        // toPositive(-973932308) % 6, worked out by hand: 1173551340 % 6 = 0.
        assert_eq!(partition_for_key(b"21", 6), 0);
        for n in 1..20 {
            let p = partition_for_key(b"foobar", n);
            assert!((0..n).contains(&p));
            assert_eq!(p, partition_for_key(b"foobar", n));
        }
    }

    /// KIP-480: keyless records stay on one partition until its batch is closed, then move to
    /// a different available partition.
    #[test]
    fn sticky_partition_holds_until_its_batch_closes() {
        let mut rng = SplitMix64::new(3);
        let mut sticky = StickyPartitioner::new();
        let available = [0, 2, 3];
        let first = sticky.partition("t", 4, &available, &mut rng);
        assert!(available.contains(&first));
        // The first batch on the sticky partition does not move it.
        assert_eq!(
            sticky.on_new_batch("t", first, 4, &available, &mut rng),
            first
        );
        for _ in 0..10 {
            assert_eq!(sticky.partition("t", 4, &available, &mut rng), first);
        }
        // A second new batch means the first was closed: move on, never to partition 1.
        let second = sticky.on_new_batch("t", first, 4, &available, &mut rng);
        assert_ne!(second, first);
        assert!(available.contains(&second));
        assert_eq!(sticky.partition("t", 4, &available, &mut rng), second);
        // Topics are independent.
        let other = sticky.partition("u", 1, &[], &mut rng);
        assert_eq!(other, 0);
    }

    #[test]
    fn sticky_picks_cover_the_available_partitions() {
        let mut rng = SplitMix64::new(11);
        let mut sticky = StickyPartitioner::new();
        let mut seen = [0u32; 3];
        let mut current = sticky.partition("t", 3, &[], &mut rng);
        sticky.on_new_batch("t", current, 3, &[], &mut rng);
        for _ in 0..300 {
            let next = sticky.on_new_batch("t", current, 3, &[], &mut rng);
            assert_ne!(next, current);
            seen[next as usize] += 1;
            current = next;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
        // With one partition available there is no other choice.
        assert_eq!(sticky.on_new_batch("t", current, 3, &[1], &mut rng), 1);
    }
}
