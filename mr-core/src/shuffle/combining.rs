//! The combining buffer's table: each key's values so far, grouped by key,
//! in a few large arenas rather than two heap allocations per key.
//!
//! A step with a combiner groups its map output by key as it arrives (see
//! [`super::buffer`]). Keeping each key as a `Box<[u8]>` and its values as a
//! `Vec<u8>` cost two allocations per distinct key: a tenth of the CPU time
//! went to the allocator, the budget could only guess the allocator's
//! overhead, and the millions of small blocks freed at a spill left the heap
//! fragmented, so the next step's buffers came on top of memory the process
//! never gave back. Here the keys are appended to one arena, each key's
//! values live in a chunk of a second arena, and the hash index holds group
//! numbers; what the table takes is the arenas' and index's capacities,
//! counted as it is touched, and all of it is released at once.
//!
//! ```text
//!  index (hash ─▶ group)   groups[g]: hash, key at keys[..], values at values[..]
//!  keys:   |word|other|...           (appended once per distinct key)
//!  values: |len v len v ....|len v|  (a chunk per group; a full chunk moves to
//!                                     the end at twice its size)
//! ```
//!
//! A chunk that moves leaves its old bytes unused until the table is
//! cleared (the arena's last chunk grows where it is); chunks double, so
//! unused bytes are at most about the chunks' live size, and they are
//! counted in [`CombiningTable::bytes`] like the rest.

use super::buffer::{COMBINE_EVERY, grow_within};

/// The smallest chunk of values a group gets.
const FIRST_CHUNK: usize = 16;

/// One distinct key and where its values are.
#[derive(Debug, Clone, Copy)]
struct Group {
    hash: u64,
    key_off: usize,
    key_len: usize,
    val_off: usize,
    val_len: usize,
    val_cap: usize,
    /// Values held, as the combiner last left them plus those added since.
    count: u32,
    /// The count at which the group is next combined (see
    /// [`CombiningTable::push`]).
    combine_at: u32,
}

/// A group's number in the table, in the order the keys first came.
pub(super) type GroupId = u32;

/// Keys and their values, each value as a 4-byte little-endian length and
/// its bytes. See the module docs.
pub(super) struct CombiningTable {
    index: hashbrown::HashTable<GroupId>,
    groups: Vec<Group>,
    keys: Vec<u8>,
    values: Vec<u8>,
    /// The most bytes an arena grows to before its buffer spills (beyond,
    /// only what one key or value needs).
    limit: usize,
}

impl CombiningTable {
    /// An empty table, for a buffer of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        CombiningTable {
            index: hashbrown::HashTable::new(),
            groups: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
            limit,
        }
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Bytes of memory the table uses: what its arenas and groups hold (a
    /// vector's capacity beyond its length is address space the process
    /// has not touched, as the allocator maps large blocks) and its index's
    /// allocation.
    pub fn bytes(&self) -> usize {
        self.keys.len()
            + self.values.len()
            + self.groups.len() * std::mem::size_of::<Group>()
            + self.index.allocation_size()
    }

    /// The group of `key`, made (with no values) when the key is new.
    pub fn group(&mut self, key: &[u8]) -> GroupId {
        let hash = hash(key);
        let (groups, keys) = (&self.groups, &self.keys);
        let same = |g: &GroupId| {
            let g = &groups[*g as usize];
            g.hash == hash && &keys[g.key_off..g.key_off + g.key_len] == key
        };
        if let Some(&g) = self.index.find(hash, same) {
            return g;
        }
        let id = self.groups.len() as GroupId;
        grow_within(
            &mut self.groups,
            1,
            self.limit / std::mem::size_of::<Group>(),
        );
        self.groups.push(Group {
            hash,
            key_off: self.keys.len(),
            key_len: key.len(),
            count: 0,
            val_off: 0,
            val_len: 0,
            val_cap: 0,
            combine_at: COMBINE_EVERY,
        });
        grow_within(&mut self.keys, key.len(), self.limit);
        self.keys.extend_from_slice(key);
        let groups = &self.groups;
        self.index
            .insert_unique(hash, id, |g| groups[*g as usize].hash);
        id
    }

    /// Adds `value` to group `g`'s values; returns whether the group is due
    /// to be combined: at [`COMBINE_EVERY`] values, or, when the combiner
    /// left many (one that keeps each distinct value, or the top 100), at
    /// twice what it left, so that a value is combined a few times at most,
    /// not once per value added after it.
    pub fn push(&mut self, g: GroupId, value: &[u8]) -> bool {
        let need = 4 + value.len();
        let off = self.room(g, need);
        let end = off + need;
        self.values[off..off + 4].copy_from_slice(&(value.len() as u32).to_le_bytes());
        self.values[off + 4..end].copy_from_slice(value);
        let group = &mut self.groups[g as usize];
        group.val_len += need;
        group.count += 1;
        group.count >= group.combine_at
    }

    /// Where `need` more bytes of group `g`'s values go: in its chunk when
    /// they fit, else in a chunk of at least twice the size, at the end of
    /// the arena, that the values move to.
    fn room(&mut self, g: GroupId, need: usize) -> usize {
        let group = self.groups[g as usize];
        let len = group.val_len;
        if len + need <= group.val_cap {
            return group.val_off + len;
        }
        let cap = (2 * group.val_cap).max(len + need).max(FIRST_CHUNK);
        if group.val_cap > 0 && group.val_off + group.val_cap == self.values.len() {
            // The arena's last chunk (a key whose values come in a row)
            // grows where it is.
            grow_within(&mut self.values, cap - group.val_cap, self.limit);
            self.values.resize(group.val_off + cap, 0);
            self.groups[g as usize].val_cap = cap;
            return group.val_off + len;
        }
        let off = self.values.len();
        grow_within(&mut self.values, cap, self.limit);
        self.values.resize(off + cap, 0);
        self.values
            .copy_within(group.val_off..group.val_off + len, off);
        let group = &mut self.groups[g as usize];
        group.val_off = off;
        group.val_cap = cap;
        off + len
    }

    /// Replaces group `g`'s values by `count` values in `list` (each
    /// length-prefixed), as a combiner's output.
    pub fn replace(&mut self, g: GroupId, list: &[u8], count: u32) {
        let group = &mut self.groups[g as usize];
        group.val_len = 0;
        group.count = 0;
        let off = self.room(g, list.len());
        self.values[off..off + list.len()].copy_from_slice(list);
        let group = &mut self.groups[g as usize];
        group.val_len = list.len();
        group.count = count;
        group.combine_at = count.saturating_mul(2).max(COMBINE_EVERY);
    }

    /// Group `g`'s key.
    pub fn key(&self, g: GroupId) -> &[u8] {
        let group = &self.groups[g as usize];
        &self.keys[group.key_off..group.key_off + group.key_len]
    }

    /// Group `g`'s values (each length-prefixed; see [`GroupValues`]) and
    /// how many there are.
    pub fn values(&self, g: GroupId) -> (&[u8], u32) {
        let group = &self.groups[g as usize];
        let off = group.val_off;
        (&self.values[off..off + group.val_len], group.count)
    }

    /// Empties the table and gives its arenas' memory back (the index's
    /// allocation, counted whole, is kept): kept arenas would hold every
    /// page an earlier round wrote, and a round that fills the keys' arena
    /// and a later one that fills the values' would hold both, uncounted.
    pub fn clear(&mut self) {
        self.index.clear();
        self.groups = Vec::new();
        self.keys = Vec::new();
        self.values = Vec::new();
    }
}

/// The hash a key is looked up by.
fn hash(key: &[u8]) -> u64 {
    // Keyed per process: keys built to collide made each lookup walk
    // every group (probe /tmp/probe13-complexity repro 03).
    crate::table_hash::hash_bytes(key)
}

/// Iterates a list of length-prefixed values (a group's, or a combiner's
/// output).
pub(super) struct GroupValues<'a>(pub &'a [u8]);

impl<'a> Iterator for GroupValues<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.len() < 4 {
            return None;
        }
        let (len, rest) = self.0.split_at(4);
        let n = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (v, rest) = rest.split_at(n.min(rest.len()));
        self.0 = rest;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::{CombiningTable, GroupValues};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn values_of(t: &CombiningTable, g: u32) -> Vec<Vec<u8>> {
        GroupValues(t.values(g).0).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn groups_values_by_key_in_arrival_order() {
        let mut t = CombiningTable::new(1 << 20);
        let a = t.group(b"a");
        assert!(!t.push(a, b"1"));
        let b = t.group(b"bb");
        t.push(b, b"x");
        assert_eq!(t.group(b"a"), a);
        assert!(!t.push(a, b"22"));
        assert_eq!(t.len(), 2);
        assert_eq!(t.key(a), b"a");
        assert_eq!(t.key(b), b"bb");
        assert_eq!(values_of(&t, a), [b"1".to_vec(), b"22".to_vec()]);
        assert_eq!(t.values(a).1, 2);
        t.replace(a, &[1, 0, 0, 0, b'3'], 1);
        assert_eq!(values_of(&t, a), [b"3".to_vec()]);
        assert_eq!(values_of(&t, b), [b"x".to_vec()]);
        t.clear();
        assert!(t.is_empty());
        let c = t.group(b"a");
        assert_eq!(values_of(&t, c), Vec::<Vec<u8>>::new());
    }

    /// A key whose values come in a row grows its chunk in place: the
    /// arena holds no copy left behind.
    #[test]
    fn the_last_chunk_grows_where_it_is() {
        let mut t = CombiningTable::new(1 << 20);
        let a = t.group(b"a");
        for _ in 0..100 {
            t.push(a, b"12345678");
        }
        assert_eq!(t.values(a).0.len(), 1200);
        assert!(t.values.len() <= 2048, "{} bytes for 1,200", t.values.len());
        // Another key's values in between: the chunk moves, then grows.
        let b = t.group(b"b");
        t.push(b, b"x");
        t.push(a, b"y");
        assert_eq!(values_of(&t, b), [b"x".to_vec()]);
        assert_eq!(values_of(&t, a).len(), 101);
        assert_eq!(values_of(&t, a)[100], b"y");
    }

    /// A round of long keys, then a round of many values: the second holds
    /// no memory of the first, so what the table counts is what it holds
    /// (probe /tmp/probe-comb repro 01: 1.8x the buffer before).
    #[test]
    fn a_cleared_table_holds_nothing_of_the_round_before() {
        let mut t = CombiningTable::new(64 << 20);
        for i in 0..2_000u32 {
            let key = [&i.to_le_bytes()[..], &[b'k'; 1000]].concat();
            let g = t.group(&key);
            t.push(g, b"1");
        }
        assert!(t.keys.capacity() >= 2_000_000);
        t.clear();
        assert_eq!(t.bytes(), t.index.allocation_size());
        for i in 0..2_000u32 {
            let g = t.group(&i.to_le_bytes());
            for _ in 0..30 {
                t.push(g, b"12345678901234567890");
            }
        }
        assert!(t.keys.capacity() < 1 << 20, "{}", t.keys.capacity());
        assert!(t.values.len() >= 2_000 * 30 * 24);
    }

    #[test]
    fn an_empty_key_and_empty_values_are_kept() {
        let mut t = CombiningTable::new(1 << 20);
        let e = t.group(b"");
        t.push(e, b"");
        t.push(e, b"");
        assert_eq!(t.group(b""), e);
        assert_eq!(values_of(&t, e), [Vec::<u8>::new(), Vec::new()]);
    }

    proptest! {
        /// Whatever the order of keys and values (moved chunks, replaced
        /// lists), each key holds exactly its values, in order; the bytes
        /// counted cover the arenas.
        #[test]
        fn holds_what_a_map_of_lists_holds(
            ops in prop::collection::vec(
                (0u8..12, prop::collection::vec(any::<u8>(), 0..40), any::<bool>()),
                0..300,
            )
        ) {
            let mut t = CombiningTable::new(1 << 20);
            let mut model: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
            for (k, v, replace) in ops {
                let key = vec![b'k'; k as usize];
                let g = t.group(&key);
                let want = model.entry(key).or_default();
                if replace {
                    let mut list = Vec::new();
                    list.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    list.extend_from_slice(&v);
                    t.replace(g, &list, 1);
                    *want = vec![v];
                } else {
                    t.push(g, &v);
                    want.push(v);
                }
            }
            prop_assert_eq!(t.len(), model.len());
            for (key, want) in &model {
                let g = t.group(key);
                prop_assert_eq!(t.key(g), &key[..]);
                prop_assert_eq!(&values_of(&t, g), want);
                prop_assert_eq!(t.values(g).1 as usize, want.len());
            }
            prop_assert!(t.bytes() >= t.keys.len() + t.values.len() + t.groups.len() * 48);
        }
    }
}
