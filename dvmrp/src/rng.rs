//! A small deterministic pseudo-random number generator (SplitMix64), seeded by the caller
//! of [`crate::Dvmrp::new`]. DVMRP needs randomness for Generation IDs (3.2.2) and for the
//! jitter of the first periodic Route Report (3.4.2 asks to avoid synchronised reports); a
//! seeded generator keeps simulations reproducible. Not cryptographic.

use std::time::Duration;

#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// SplitMix64 (Steele, Lea, Flood 2014).
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A random delay in `[0, max]` with millisecond resolution.
    pub fn delay(&mut self, max: Duration) -> Duration {
        let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        let v = match max_ms.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        };
        Duration::from_millis(v)
    }

    /// A new Generation ID (3.2.2): a random 32-bit value different from `previous`.
    pub fn generation_id(&mut self, previous: Option<u32>) -> u32 {
        loop {
            let id = (self.next_u64() >> 32) as u32;
            if Some(id) != previous {
                return id;
            }
        }
    }
}
