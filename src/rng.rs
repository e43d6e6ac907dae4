//! Seeded randomness: every actor draws from its own RNG, derived from the scenario seed.
//!
//! The algorithm is named (PCG64, O'Neill's XSL-RR 128/64 generator, from the rand
//! project's `rand_pcg`) rather than `StdRng`, whose algorithm may change between rand
//! versions: a report must reproduce across upgrades, not only across runs. PCG64
//! holds 32 bytes of state where ChaCha8 held 304, which counts with three generators
//! a client and a million clients; a simulation needs statistical quality, not a
//! cipher's unpredictability.

use rand::SeedableRng;
pub use rand_pcg::Pcg64 as Rng;

/// SplitMix64's finaliser: spreads nearby inputs over the whole 64-bit range.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for the actor named by `path` (for example `[STREAM_CLIENT, group, client]`).
pub(crate) fn derive(seed: u64, path: &[u64]) -> u64 {
    path.iter().fold(mix(seed), |acc, &p| mix(acc ^ mix(p)))
}

/// An RNG for the actor named by `path`.
pub fn rng(seed: u64, path: &[u64]) -> Rng {
    Rng::seed_from_u64(derive(seed, path))
}

/// A sender's own draws for what a server decides about each of its requests (their
/// latency and faults): SplitMix64, the n-th draw a function of the seed and n alone,
/// so that a request's fate depends on its sender's history only, never on which
/// other sender's request came first. That is what lets clients that do not meet run
/// on separate threads and still do what they do in one. Eight bytes a sender.
#[derive(Debug, Default)]
pub struct Draws(std::sync::atomic::AtomicU64);

impl Draws {
    /// The draws of the sender named by `path`.
    pub fn new(seed: u64, path: &[u64]) -> Draws {
        Draws(std::sync::atomic::AtomicU64::new(derive(seed, path)))
    }

    /// The next draw.
    pub fn next(&self) -> u64 {
        const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
        // mix() adds GOLDEN again: SplitMix64's output for the advanced state.
        mix(self
            .0
            .fetch_add(GOLDEN, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Stream names, so that two kinds of actor never share a seed. Streams keep their
/// numbers, so that a seed keeps its run when a stream is added or falls out of use.
pub(crate) mod stream {
    /// The issuer's own draws.
    pub(crate) const ISSUER: u64 = 1;
    // 2: reserved.
    /// The two gates' draws for a request that brings none of its own, in the order
    /// requests arrive; in the sim each sender brings one (`SENDER`).
    pub(crate) const EXCHANGE: u64 = 3;
    /// A client's draws, by group and client number.
    pub(crate) const CLIENT: u64 = 4;
    /// A request loop's draws, by group, client, instance and loop.
    pub(crate) const WORKER: u64 = 5;
    /// The signing keys' secrets.
    pub(crate) const KEYS: u64 = 6;
    /// An instance's background refresh, by group, client and instance.
    pub(crate) const BACKGROUND: u64 = 7;
    /// The shares of tokens a `revoke` fault picks; other faults are decided in the
    /// gate, from the request's draw.
    pub(crate) const FAULTS: u64 = 8;
    /// A client's lock-free draws (`Draws`) that its requests bring to the gates, by
    /// group and client number.
    pub(crate) const SENDER: u64 = 9;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn same_path_same_stream_other_path_other_stream() {
        let a: u64 = rng(7, &[stream::CLIENT, 0, 1]).random();
        let b: u64 = rng(7, &[stream::CLIENT, 0, 1]).random();
        let c: u64 = rng(7, &[stream::CLIENT, 0, 2]).random();
        let d: u64 = rng(8, &[stream::CLIENT, 0, 1]).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn draws_depend_on_their_sender_only() {
        let (a, b) = (
            Draws::new(7, &[stream::SENDER, 0, 1]),
            Draws::new(7, &[stream::SENDER, 0, 1]),
        );
        let first: Vec<u64> = (0..4).map(|_| a.next()).collect();
        // Another sender drawing in between changes nothing.
        let other = Draws::new(7, &[stream::SENDER, 0, 2]);
        let again: Vec<u64> = (0..4)
            .map(|_| {
                other.next();
                b.next()
            })
            .collect();
        assert_eq!(first, again);
        assert_ne!(first[0], first[1]);
        assert_ne!(first[0], Draws::new(7, &[stream::SENDER, 0, 2]).next());
    }
}
