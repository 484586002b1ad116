//! The hashes of mr's in-memory tables (a fold's accumulators, a
//! combiner's groups, a categorical column's index), keyed per process.
//!
//! Keys come from the input, and the input is hostile: with a hash anyone
//! can compute (FxHash, fixed seeds), strings can be built that all hash
//! alike, and a table of them is a list that every lookup walks. A log of
//! such URLs (42 MB, 65,536 of them) took url_views 20 s where random ones
//! took 0.12 s, and twice as many never finished (probe
//! /tmp/probe13-complexity repros 01-03). Here every hash is keyed by
//! seeds drawn once per process from the operating system's randomness
//! (std's `RandomState`): keys cannot be made to collide without them. The
//! hash is foldhash's (what hashbrown uses by default), seeded so: std's
//! SipHash, keyed the same way, added 11% to url_views' instructions.
//!
//! One key per process, not per table: a table carried from one task to
//! the next, or merged into another, keeps its keys' hashes. No result
//! depends on a hash: partitions are chosen by [`crate::shuffle::partition`]'s
//! own fixed hash, as Hadoop's are, and tables are read out in key order.

use foldhash::SharedSeed;
use foldhash::fast::SeedableRandomState;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::OnceLock;

/// Random words of the process, from std's `RandomState` (the operating
/// system's randomness, unlike foldhash's own seeds: addresses): the first
/// pair seeds [`keyed`], the second is [`seeds`].
fn drawn() -> &'static [[u64; 2]; 2] {
    static DRAWN: OnceLock<[[u64; 2]; 2]> = OnceLock::new();
    DRAWN.get_or_init(|| {
        let os = RandomState::new();
        [
            [os.hash_one(0u64), os.hash_one(1u64)],
            [os.hash_one(2u64), os.hash_one(3u64)],
        ]
    })
}

/// The process's keyed hasher (foldhash, seeded by `drawn` words).
pub fn keyed() -> &'static SeedableRandomState {
    static SHARED: OnceLock<SharedSeed> = OnceLock::new();
    static STATE: OnceLock<SeedableRandomState> = OnceLock::new();
    STATE.get_or_init(|| {
        let [shared, per_hasher] = drawn()[0];
        SeedableRandomState::with_seed(
            per_hasher,
            SHARED.get_or_init(|| SharedSeed::from_u64(shared)),
        )
    })
}

/// Two random words of the process, for hashes of short keys done in one
/// multiplication ([`crate::fold`]'s keys of up to 16 bytes).
///
/// ```
/// use mr_core::table_hash::{hash_bytes, seeds};
/// // The same in one process, whatever is asked first...
/// assert_eq!(seeds(), seeds());
/// assert_eq!(hash_bytes(b"/a/url"), hash_bytes(b"/a/url"));
/// assert_ne!(hash_bytes(b"/a/url"), hash_bytes(b"/b/url"));
/// ```
#[inline]
pub fn seeds() -> &'static [u64; 2] {
    &drawn()[1]
}

/// The keyed hash of `bytes`.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    // One write (foldhash mixes the length in), not `hash_one`'s two (a
    // slice's length, then its bytes).
    let mut h = keyed().build_hasher();
    h.write(bytes);
    h.finish()
}
