//! The hash table of a fold's accumulators: open addressing with linear
//! probing, whose slot for a hash is known before the lookup, so that the
//! table can ask for it ahead ([`Slots::prefetch`]).
//!
//! A table larger than the CPU's caches (a text's 70k words: 2.3 MB) spends
//! a lookup mostly waiting for the key's entry to come in from memory: 63%
//! of word_count's table samples were that one load. hashbrown's table (what
//! the fold used) does not say where a key's entry is before it looks, so
//! the lookups of a line's words waited one after the other. Here a lookup
//! starts at slot `hash & mask`: the fold asks for that slot when a word is
//! emitted and looks it up a few words later ([`super::BATCH`]), several on
//! their way at once. On the 250 MB bench text, the table's part of a run
//! took 0.39-0.44 s with this, 0.89-0.97 s with hashbrown (a prototype of
//! both over the same words, /tmp/pft).
//!
//! Slots are 32-byte aligned: an entry of a count (a key of up to 16 bytes
//! and a `u64`, 32 bytes) is never across two cache lines. The table holds
//! up to 7/8 of its slots, as hashbrown does, so it weighs what it did
//! against a task's budget; a new key then walks a longer run of full slots
//! than hashbrown's groups of 16 control bytes would, which a table that
//! mostly finds its keys (what a fold is for) seldom pays.

/// A slot: empty, or an entry.
#[repr(C, align(32))]
struct Slot<T>(Option<T>);

/// Open addressing, linear probing, a power of two of slots.
pub(super) struct Slots<T> {
    slots: Box<[Slot<T>]>,
    len: usize,
}

/// Slots of a table's first allocation.
const MIN_SLOTS: usize = 16;

impl<T> Slots<T> {
    /// An empty table, which allocates at its first insert.
    pub fn new() -> Self {
        Slots {
            slots: Box::new([]),
            len: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries the table holds before it grows: 7/8 of its slots.
    pub fn capacity(&self) -> usize {
        capacity_of(self.slots.len())
    }

    /// Bytes the table's slots take.
    pub fn allocated_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot<T>>()
    }

    /// Bytes of the table its next insert allocates when full (it holds
    /// both while it moves its entries over).
    pub fn grown_bytes(&self) -> usize {
        grown(self.slots.len()) * std::mem::size_of::<Slot<T>>()
    }

    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        // The hashes are folded multiplies (short keys) or foldhash's
        // (long ones, widened): their low bits are as good as any.
        (hash as usize) & (self.slots.len().wrapping_sub(1))
    }

    /// Asks the CPU for the slot a lookup of `hash` starts at, to have it in
    /// cache by the time of the lookup. A hint: it reads nothing the
    /// program sees.
    #[inline(always)]
    pub fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            prefetch_read(self.slots.as_ptr().wrapping_add(self.home(hash)));
        }
    }

    /// The entry of `hash` that `is` tells, if any.
    #[inline(always)]
    pub fn find_mut(&mut self, hash: u64, is: impl Fn(&T) -> bool) -> Option<&mut T> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            match &self.slots[i].0 {
                None => return None,
                Some(t) if is(t) => break,
                Some(_) => i = (i + 1) & mask,
            }
        }
        self.slots[i].0.as_mut()
    }

    /// Adds `value`, whose key is not in the table, under `hash`; growing
    /// the table first when it is full, its entries placed again by
    /// `rehash`.
    pub fn insert_unique(&mut self, hash: u64, value: T, rehash: impl Fn(&T) -> u64) {
        if self.len >= self.capacity() {
            self.grow(rehash);
        }
        let i = self.vacant(hash);
        self.slots[i].0 = Some(value);
        self.len += 1;
    }

    /// The first empty slot from `hash`'s (there is one: the table is at
    /// most 7/8 full).
    fn vacant(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i].0.is_some() {
            i = (i + 1) & mask;
        }
        i
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, rehash: impl Fn(&T) -> u64) {
        let slots = (0..grown(self.slots.len())).map(|_| Slot(None)).collect();
        let old = std::mem::replace(&mut self.slots, slots);
        for t in old.into_iter().filter_map(|s| s.0) {
            let i = self.vacant(rehash(&t));
            self.slots[i].0 = Some(t);
        }
    }

    /// Takes every entry out; the table keeps its slots.
    pub fn drain(&mut self) -> Vec<T> {
        let all: Vec<T> = self.slots.iter_mut().filter_map(|s| s.0.take()).collect();
        self.len = 0;
        all
    }
}

/// Entries a table of `slots` slots holds: 7/8 of them.
fn capacity_of(slots: usize) -> usize {
    slots / 8 * 7
}

/// Slots of the table after one of `slots` grows.
fn grown(slots: usize) -> usize {
    (slots * 2).max(MIN_SLOTS)
}

/// Bytes a table holding up to `capacity` entries of `T` allocates (for
/// tests weighing tables).
#[cfg(test)]
pub(super) fn bytes_for<T>(capacity: usize) -> usize {
    let mut slots = 0;
    while capacity_of(slots) < capacity {
        slots = grown(slots);
    }
    slots * std::mem::size_of::<Slot<T>>()
}

/// A prefetch of the cache line at `p` into every cache level.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_read<T>(p: *const T) {
    // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has; a
    // prefetch is a hint that loads nothing into a register and never
    // faults, whatever the address (here one within the table anyway).
    #[allow(unsafe_code)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
}

/// No prefetch elsewhere (the lookups wait as they did).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn prefetch_read<T>(_: *const T) {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A weak hash (many keys to one slot, runs of full slots wrapping
    /// past the end) for the probing to be tried.
    fn weak(k: u32) -> u64 {
        u64::from(k % 97) * 0x9e37_79b9
    }

    proptest! {
        /// The table agrees with a map: every key found with its count,
        /// none found that was not put, whatever the hash's collisions.
        #[test]
        fn agrees_with_a_map(keys in proptest::collection::vec(0u32..3000, 0..3000), weak_hash: bool) {
            let hash = |k: u32| if weak_hash { weak(k) } else { u64::from(k).wrapping_mul(0x9e37_79b9_7f4a_7c15) };
            let mut table: Slots<(u32, u64)> = Slots::new();
            let mut map: HashMap<u32, u64> = HashMap::new();
            for &k in &keys {
                table.prefetch(hash(k));
                match table.find_mut(hash(k), |e| e.0 == k) {
                    Some(e) => e.1 += 1,
                    None => table.insert_unique(hash(k), (k, 1), |e| hash(e.0)),
                }
                *map.entry(k).or_default() += 1;
                prop_assert!(table.len() <= table.capacity());
            }
            prop_assert_eq!(table.len(), map.len());
            for k in 0..3000u32 {
                prop_assert_eq!(table.find_mut(hash(k), |e| e.0 == k).map(|e| e.1), map.get(&k).copied());
            }
            let mut drained: Vec<(u32, u64)> = table.drain();
            drained.sort_unstable();
            let mut expected: Vec<(u32, u64)> = map.into_iter().collect();
            expected.sort_unstable();
            prop_assert_eq!(drained, expected);
            prop_assert_eq!(table.len(), 0);
            prop_assert!(table.find_mut(hash(1), |e| e.0 == 1).is_none());
        }
    }

    #[test]
    fn a_table_weighs_its_slots() {
        // An entry whose `Option` takes no more room, as a fold's does.
        type E = (std::num::NonZeroU64, [u64; 3]);
        let mut t: Slots<E> = Slots::new();
        assert_eq!((t.capacity(), t.allocated_bytes()), (0, 0));
        assert_eq!(std::mem::size_of::<Slot<E>>(), 32);
        t.insert_unique(7, (std::num::NonZeroU64::MIN, [0; 3]), |_| 7);
        assert_eq!(t.capacity(), 14);
        assert_eq!(t.allocated_bytes(), 16 * 32);
        assert_eq!(t.grown_bytes(), 32 * 32);
        assert_eq!(bytes_for::<E>(14), 16 * 32);
        assert_eq!(bytes_for::<E>(15), 32 * 32);
    }
}
