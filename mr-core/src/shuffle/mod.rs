//! The shuffle: map output is partitioned ([`partition`]), buffered and
//! combined in memory under a byte budget ([`buffer`]), written as sorted runs
//! ([`spill`]) and merged back per partition into key groups ([`merge`]).
//!
//! ```text
//! mapper ─emit─▶ SortBuffer ──full──▶ sort by (partition, key) ─▶ combine ─▶ run file
//!                    │                                                     (one segment
//!                    └──task end──▶ same, one last run                      per partition)
//!                                   (in memory when it is a small task's only one)
//!
//! partition p:  runs of every map task ─▶ [merge passes while runs > fan-in]
//!               ─▶ k-way merge ─▶ key groups ─▶ reducer
//! ```

pub mod buffer;
mod combining;
pub mod merge;
pub mod partition;
pub mod spill;
