//! A small deterministic pseudo-random number generator (SplitMix64), seeded by the caller
//! of [`crate::Pim::new`]. PIM needs randomness for the Generation ID (4.3.1, 4.9.2) and the
//! jitter of triggered Hellos (4.3.1, Triggered_Hello_Delay of 4.11); a seeded generator
//! keeps simulations and tests reproducible. It is not cryptographic, and need not be: a
//! GenID only has to differ from the previous one with high probability.

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

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniformly distributed value in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }

    /// A random delay in `[0, max]`, with millisecond resolution ("rand(0, max)" of 4.11).
    pub fn delay(&mut self, max: Duration) -> Duration {
        let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(self.up_to(max_ms))
    }

    /// A new Generation ID (4.3.1): a random 32-bit value, different from `previous`.
    pub fn generation_id(&mut self, previous: Option<u32>) -> u32 {
        loop {
            let id = self.next_u32();
            if Some(id) != previous {
                return id;
            }
        }
    }
}
