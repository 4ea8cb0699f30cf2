//! Replica placement for new partitions: round-robin from a random start, as Kafka's
//! rack-unaware assignment (and roughly its StripedReplicaPlacer) does, so that leaders and
//! replicas spread evenly over the brokers.

use super::record::BrokerId;
use crate::rng::Rng;

/// Replica lists for partitions `first_partition..first_partition + count` over `brokers`
/// (sorted, distinct, all unfenced), each `replication_factor` long with its leader first.
///
/// Partition `p`'s leader is broker `(start + p) mod n`, so leaders of one topic differ by at
/// most one per broker. Followers follow the leader at a shift that grows by one every `n`
/// partitions, so the same pairs of brokers do not always share partitions.
pub(super) fn place_replicas(
    rng: &mut dyn Rng,
    brokers: &[BrokerId],
    first_partition: usize,
    count: usize,
    replication_factor: usize,
) -> Vec<Vec<BrokerId>> {
    let n = brokers.len();
    assert!(replication_factor >= 1);
    assert!(
        replication_factor <= n,
        "the caller checks there are enough brokers"
    );
    let start = rng.below(n as u64) as usize;
    let mut shift = rng.below(n as u64) as usize;
    let mut out = Vec::with_capacity(count);
    for p in first_partition..first_partition + count {
        if p > first_partition && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = Vec::with_capacity(replication_factor);
        replicas.push(brokers[first]);
        for j in 0..replication_factor - 1 {
            // Followers sit 1..n-1 places after the leader, never on it.
            let offset = 1 + (shift + j) % (n - 1);
            replicas.push(brokers[(first + offset) % n]);
        }
        assert_eq!(replicas.len(), replication_factor);
        out.push(replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::image::distinct_ids;

    use crate::rng::SplitMix64;

    /// KIP-631 (and Kafka's replica assignment): leaders of a topic are spread evenly, every
    /// replica list is distinct, and replica counts stay close over many brokers.
    #[test]
    fn placement_is_balanced() {
        for (n, partitions, rf) in [(3, 12, 3), (5, 100, 3), (7, 50, 2), (12, 240, 3), (1, 4, 1)] {
            let brokers: Vec<BrokerId> = (0..n).map(|b| b * 10).collect();
            let mut rng = SplitMix64::new(n as u64 * 7 + partitions as u64);
            let lists = place_replicas(&mut rng, &brokers, 0, partitions, rf);
            assert_eq!(lists.len(), partitions);
            let mut leaders = vec![0usize; n as usize];
            let mut replicas = vec![0usize; n as usize];
            for list in &lists {
                assert_eq!(list.len(), rf);
                assert!(distinct_ids(list), "{list:?}");
                leaders[(list[0] / 10) as usize] += 1;
                for b in list {
                    replicas[(b / 10) as usize] += 1;
                }
            }
            let spread = |v: &[usize]| v.iter().max().unwrap() - v.iter().min().unwrap();
            assert!(spread(&leaders) <= 1, "leaders {leaders:?}");
            assert!(spread(&replicas) <= rf, "replicas {replicas:?}");
        }
    }
}
