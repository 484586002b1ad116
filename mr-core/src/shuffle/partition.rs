//! Which reduce partition a key goes to: Hadoop's, so that every runner
//! (local, Hadoop Streaming, Spark, the emulator) puts a key in the same
//! part file.

/// Hadoop's partition of a record whose encoded key is `key`, among
/// `partitions`: `HashPartitioner`'s `(Text.hashCode() & MAX) % R` (a
/// Java hash of the bytes from 1), or, for a step that sorts values (two
/// key fields: `KeyFieldBasedPartitioner -k1,1`), the same hash from 0.
///
/// ```
/// use mr_core::shuffle::partition::{partition_of, java_hash};
/// let p = partition_of(b"\"word\"", 8, false);
/// assert!(p < 8);
/// assert_eq!(p, ((java_hash(1, b"\"word\"") & i32::MAX) % 8) as usize);
/// assert_eq!(partition_of(b"\"word\"", 8, true), ((java_hash(0, b"\"word\"") & i32::MAX) % 8) as usize);
/// ```
pub fn partition_of(key: &[u8], partitions: usize, sorts_values: bool) -> usize {
    if partitions <= 1 {
        return 0;
    }
    let seed = if sorts_values { 0 } else { 1 };
    ((java_hash(seed, key) & i32::MAX) as usize) % partitions
}

/// `hash = 31 * hash + (signed byte)` over `bytes`, from `seed`, as Java
/// computes it (wrapping 32-bit arithmetic): `Text.hashCode()` is
/// `java_hash(1, bytes)`. Four bytes a round (`31^4 h + 31^3 b0 + ...`), the
/// same value with a shorter chain of multiplications.
///
/// ```
/// use mr_core::shuffle::partition::java_hash;
/// // "a".hashCode() in Java is 97; Text starts from 1: 31 * 1 + 97.
/// assert_eq!(java_hash(1, b"a"), 128);
/// assert_eq!(java_hash(1, &[0xC3]), 31 - 61);
/// let slow = |b: &[u8]| b.iter().fold(7i32, |h, &c| h.wrapping_mul(31).wrapping_add(c as i8 as i32));
/// for n in 0..20 {
///     let v: Vec<u8> = (0..n).map(|i| (i * 37 + 200) as u8).collect();
///     assert_eq!(java_hash(7, &v), slow(&v));
/// }
/// ```
pub fn java_hash(seed: i32, bytes: &[u8]) -> i32 {
    const P1: i32 = 31;
    const P2: i32 = 31 * 31;
    const P3: i32 = 31 * 31 * 31;
    const P4: i32 = 31 * 31 * 31 * 31;
    let b = |c: u8| i32::from(c as i8);
    let mut chunks = bytes.chunks_exact(4);
    let mut h = seed;
    for c in &mut chunks {
        h = h
            .wrapping_mul(P4)
            .wrapping_add(b(c[0]).wrapping_mul(P3))
            .wrapping_add(b(c[1]).wrapping_mul(P2))
            .wrapping_add(b(c[2]).wrapping_mul(P1))
            .wrapping_add(b(c[3]));
    }
    chunks
        .remainder()
        .iter()
        .fold(h, |h, &c| h.wrapping_mul(31).wrapping_add(b(c)))
}
