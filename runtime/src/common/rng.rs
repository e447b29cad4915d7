//! The execution's seedable random source (States.UUID, States.MathRandom, retry jitter).
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

/// SplitMix64: small, fast and good enough for identifiers and jitter; seeded per execution so
/// that tests and replays are reproducible. An unseeded source takes its seed from the clock on
/// first use, so executions that draw nothing pay nothing.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
    /// Not seeded yet: mixed with the time on first use.
    pending: Option<u64>,
}

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng { state: seed, pending: None }
    }

    /// A source seeded from the clock (and `salt`) when first drawn from.
    pub fn unseeded(salt: u64) -> Rng {
        Rng { state: 0, pending: Some(salt) }
    }

    /// The state, to save and restore ([`Rng::from_parts`]).
    pub fn parts(&self) -> (u64, Option<u64>) {
        (self.state, self.pending)
    }

    pub fn from_parts(state: u64, pending: Option<u64>) -> Rng {
        Rng { state, pending }
    }

    pub fn next_u64(&mut self) -> u64 {
        if let Some(salt) = self.pending.take() {
            let t =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            self.state = t ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `java.util.Random`, for the seeded functions whose values AWS computes with it
/// (`$random(seed)` is `new Random(seed).nextDouble()`).
#[derive(Clone, Debug)]
pub struct JavaRandom(u64);

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom((seed as u64 ^ Self::MULTIPLIER) & Self::MASK)
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.0 = (self.0.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.0 >> (48 - bits)) as i32
    }

    pub fn next_double(&mut self) -> f64 {
        let hi = (self.next(26) as i64) << 27;
        let lo = self.next(27) as i64;
        (hi + lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `nextInt(bound)` for `bound > 0`.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        if bound & (bound - 1) == 0 {
            return ((bound as i64 * self.next(31) as i64) >> 31) as i32;
        }
        loop {
            let bits = self.next(31);
            let val = bits % bound;
            if bits.wrapping_sub(val).wrapping_add(bound - 1) >= 0 {
                return val;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::JavaRandom;

    /// Values printed by OpenJDK 17's `java.util.Random` (`new Random(seed).nextDouble()` is what
    /// AWS returns for `$random(seed)`: 0.7275636800328681 for 42).
    #[test]
    fn matches_java_util_random() {
        assert_eq!(JavaRandom::new(42).next_double(), 0.7275636800328681);
        assert_eq!(JavaRandom::new(0).next_int(10), 0);
        assert_eq!(JavaRandom::new(42).next_int(100), 30);
        assert_eq!(JavaRandom::new(7).next_int(16), 11);
        assert_eq!(JavaRandom::new(-5).next_int(1000), 411);
    }
}
