//! Which reduce partition a key goes to.

/// A stable hash of the encoded key, modulo the number of partitions.
///
/// Stable across runs, machines and thread counts (xxh3 with a fixed seed),
/// so the same key always lands in the same partition for a given count.
///
/// ```
/// use mr_core::shuffle::partition::partition_of;
/// let p = partition_of(b"\"word\"", 8);
/// assert!(p < 8);
/// assert_eq!(p, partition_of(b"\"word\"", 8));
/// ```
pub fn partition_of(key: &[u8], partitions: usize) -> usize {
    if partitions <= 1 {
        return 0;
    }
    (xxhash_rust::xxh3::xxh3_64(key) % partitions as u64) as usize
}
