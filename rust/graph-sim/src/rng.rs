//! SplitMix64: a tiny deterministic generator, the same on every platform and fast even in debug
//! builds (a tenant must be reproducible from its seed alone).

pub(crate) struct SimRng(u64);

impl SimRng {
    /// The tenant's main stream: its id and its users.
    pub(crate) fn new(seed: u64) -> SimRng {
        SimRng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// A stream of its own for the user at `position`, one per kind of data (`stream`): data
    /// added later draws from here, so it leaves the main stream, and every existing tenant,
    /// unchanged.
    pub(crate) fn for_user(seed: u64, position: u64, stream: u64) -> SimRng {
        let mut rng = SimRng(seed ^ 0xa076_1d64_78bd_642f ^ position.wrapping_mul(0xe703_7ed1_a0b4_28db) ^ stream);
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn below32(&mut self, n: u32) -> u32 {
        (self.next_u64() % n as u64) as u32
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
