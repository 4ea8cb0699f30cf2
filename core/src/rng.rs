//! Randomness handed in by the driver.
//!
//! The core never draws OS entropy: the simulator passes a ChaCha generator seeded from the
//! run's `u64` seed, the real runtime one seeded from the OS. The same seed therefore makes the
//! same decisions.

/// A source of uniformly distributed 64-bit values, supplied by the driver.
pub trait Rng {
    /// The next uniformly distributed value.
    fn next_u64(&mut self) -> u64;

    /// A uniform value in `0..bound`. `bound` must be positive.
    fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0) has no values");
        // Lemire's widening multiply; the bias is below 2^-64 * bound, irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A uniform value in `low..=high`.
    fn range_inclusive(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "empty range");
        if high - low == u64::MAX {
            return self.next_u64();
        }
        low + self.below(high - low + 1)
    }

    /// True with probability `numerator / denominator`.
    fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        assert!(numerator <= denominator, "probability above one");
        self.below(denominator) < numerator
    }

    /// Fills `buf` with random bytes.
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let value = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }
}

impl<R: Rng + ?Sized> Rng for &mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// SplitMix64 (Steele, Lea and Flood): a tiny, fast, seeded generator. Not for the simulator,
/// whose streams come from ChaCha, but for tests and tools that need some determinism and no
/// dependencies.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
}

impl Rng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_its_reference_sequence() {
        // The first outputs for seed 1234567, from the reference C implementation.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn helpers_stay_in_bounds() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..1_000 {
            assert!(rng.below(10) < 10);
            let v = rng.range_inclusive(5, 9);
            assert!((5..=9).contains(&v));
        }
        assert!(!rng.chance(0, 10));
        assert!(rng.chance(10, 10));
        let mut buf = [0u8; 13];
        rng.fill_bytes(&mut buf);
        assert!(buf.iter().any(|b| *b != 0));
    }
}
