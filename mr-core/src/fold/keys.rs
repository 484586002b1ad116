//! The keys of a fold table: each key's bytes as the table keeps them,
//! hashed once per lookup and compared without a call.
//!
//! A string key (`"word"`, what counting jobs emit) is kept as its body, the
//! bytes between the quotes, so that a plain `&str` is looked up as it is,
//! without quoting or copying it; any other encoded key (a number, a list) is
//! kept whole. A body of up to [`INLINE`] bytes (most words) is kept inline as
//! two words: hashing it is one multiplication, comparing it two word
//! comparisons, with no pointer to follow. Longer bodies are boxed, with
//! their hash beside the pointer: growing a table of 100k URLs then rehashes
//! from the entries alone, without a cache miss per key to reach its bytes.
//!
//! ```text
//! emit_str("word", 1)   ─▶ Lookup { body: word, quoted }  ─┐
//! emit(&key, v) ─▶ "word" ─▶ Lookup { body: word, quoted }  ─┴▶ same hash, same entry
//! flush: Key::Short { words: "word", quoted } ─▶ "word" (quoted again)
//! ```

use crate::table_hash;

/// Bodies up to this many bytes are kept inline.
pub(super) const INLINE: usize = 16;

/// A key as a fold table keeps it.
pub(super) enum Key {
    /// A body of at most [`INLINE`] bytes, little-endian in two words and
    /// zero-padded; `tag` is [`tag`] of its length and quoting.
    Short { words: [u64; 2], tag: u32 },
    /// A longer body, and its hash (see [`hash_long`]): in the entry's
    /// padding, so an entry of a count stays 32 bytes.
    Long {
        bytes: Box<[u8]>,
        hash: u32,
        quoted: bool,
    },
}

/// The length and the quoting of a body in one number.
#[inline]
fn tag(len: usize, quoted: bool) -> u32 {
    (len as u32) << 1 | u32::from(quoted)
}

/// Splits an encoded key into what the table keeps: a string's body and
/// `true`, or the whole key and `false`.
///
/// A JSON value that starts with `"` is a string, and ends with `"`.
#[inline]
pub(super) fn split_encoded(key: &[u8]) -> (&[u8], bool) {
    match key {
        [b'"', body @ .., b'"'] => (body, true),
        _ => (key, false),
    }
}

/// A key being looked up, hashed: a short one as [`Short`], a long one by
/// its bytes.
pub(super) struct Lookup<'a> {
    body: &'a [u8],
    quoted: bool,
    /// The inline form, for a body of at most [`INLINE`] bytes.
    short: Option<Short>,
    pub hash: u64,
}

impl<'a> Lookup<'a> {
    /// `body` as a string's body (`quoted`) or as a whole encoded key.
    #[inline]
    pub fn new(body: &'a [u8], quoted: bool) -> Self {
        let short = (body.len() <= INLINE).then(|| Short::new(body, quoted));
        let hash = match short {
            Some(s) => s.hash,
            None => hash_long(body, quoted),
        };
        Lookup {
            body,
            quoted,
            short,
            hash,
        }
    }

    /// Whether `key` is this key.
    #[inline]
    pub fn matches(&self, key: &Key) -> bool {
        match self.short {
            Some(s) => s.matches(key),
            // The kept hash first: the table has no tags to tell other
            // keys on a key's run of slots apart, and a URL's bytes are
            // compared only for the one that hashes alike.
            None => matches!(key, Key::Long { bytes, quoted, hash }
                if *hash == self.hash as u32 && *quoted == self.quoted && **bytes == *self.body),
        }
    }

    /// Appends the encoded key to `out`.
    pub fn encode_onto(&self, out: &mut Vec<u8>) {
        encode_body(self.body, self.quoted, out);
    }

    /// The key to keep in the table.
    pub fn to_key(&self) -> Key {
        match self.short {
            Some(s) => s.to_key(),
            None => Key::Long {
                bytes: self.body.into(),
                hash: self.hash as u32,
                quoted: self.quoted,
            },
        }
    }
}

/// A key of at most [`INLINE`] bytes being looked up: two words and a tag
/// to compare. The table looks short keys (most words) up as this directly,
/// without [`Lookup`]'s other case.
#[derive(Clone, Copy)]
pub(super) struct Short {
    words: [u64; 2],
    tag: u32,
    pub hash: u64,
}

impl Short {
    /// `body` (at most [`INLINE`] bytes) as a string's body (`quoted`) or
    /// as a whole encoded key.
    #[inline]
    pub fn new(body: &[u8], quoted: bool) -> Self {
        debug_assert!(body.len() <= INLINE);
        let tag = tag(body.len(), quoted);
        let words = inline_words(body);
        Short {
            words,
            tag,
            hash: hash_short(words, tag),
        }
    }

    /// Whether `key` is this key.
    #[inline]
    pub fn matches(&self, key: &Key) -> bool {
        matches!(key, Key::Short { words, tag } if *tag == self.tag && *words == self.words)
    }

    /// The key to keep in the table.
    pub fn to_key(self) -> Key {
        Key::Short {
            words: self.words,
            tag: self.tag,
        }
    }

    /// Appends the encoded key to `out`.
    pub fn encode_onto(&self, out: &mut Vec<u8>) {
        let mut inline = [0u8; INLINE];
        let (body, quoted) = short_body(self.words, self.tag, &mut inline);
        encode_body(body, quoted, out);
    }
}

/// A short key's body, written from its two words into `inline`, and
/// whether it is quoted (both from its `tag`).
fn short_body(words: [u64; 2], tag: u32, inline: &mut [u8; INLINE]) -> (&[u8], bool) {
    inline[..8].copy_from_slice(&words[0].to_le_bytes());
    inline[8..].copy_from_slice(&words[1].to_le_bytes());
    (&inline[..(tag >> 1) as usize], tag & 1 == 1)
}

/// Appends the encoded key of `body` (quoted again when `quoted`) to `out`.
pub(super) fn encode_body(body: &[u8], quoted: bool, out: &mut Vec<u8>) {
    if quoted {
        out.push(b'"');
    }
    out.extend_from_slice(body);
    if quoted {
        out.push(b'"');
    }
}

impl Key {
    /// Writes the encoded key (a body quoted again) into `out`, emptied first.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut inline = [0u8; INLINE];
        let (body, quoted): (&[u8], bool) = match self {
            Key::Short { words, tag } => short_body(*words, *tag, &mut inline),
            Key::Long { bytes, quoted, .. } => (bytes, *quoted),
        };
        out.clear();
        encode_body(body, quoted, out);
    }

    /// The hash [`Lookup::new`] gives this key (for growing a table: it
    /// does not keep the hashes of short keys, which take a multiplication
    /// to compute again).
    pub fn hash(&self) -> u64 {
        match self {
            Key::Short { words, tag } => hash_short(*words, *tag),
            Key::Long { hash, .. } => widen(*hash),
        }
    }

    /// Where a long key's bytes are in memory (0 for a short key): flushing
    /// a table in this order reads the bytes of keys allocated one after
    /// the other (as they came) one after the other, not one cache miss
    /// each.
    pub fn address(&self) -> usize {
        match self {
            Key::Short { .. } => 0,
            Key::Long { bytes, .. } => bytes.as_ptr().addr(),
        }
    }

    /// Bytes the key holds outside its table entry: a long key's body, and
    /// what the allocator keeps beside it (about 16 bytes).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Key::Short { .. } => 0,
            Key::Long { bytes, .. } => bytes.len() + 16,
        }
    }

    /// The encoded key's length.
    pub fn encoded_len(&self) -> usize {
        let (len, quoted) = match self {
            Key::Short { tag, .. } => ((*tag >> 1) as usize, *tag & 1 == 1),
            Key::Long { bytes, quoted, .. } => (bytes.len(), *quoted),
        };
        len + if quoted { 2 } else { 0 }
    }
}

/// The hash of a short key: one multiplication of its two words, each
/// xored with a random word of the process ([`table_hash::seeds`]: keys
/// built to collide cannot be made without them).
#[inline]
fn hash_short(words: [u64; 2], tag: u32) -> u64 {
    let seed = table_hash::seeds();
    fold_mul(words[0] ^ seed[0], words[1] ^ seed[1] ^ u64::from(tag))
}

/// The hash of a long key: the process's keyed hash of its bytes and quoting
/// ([`table_hash::keyed`]; FxHash, which anyone can compute, let a log of
/// URLs built to collide make every lookup walk every key), folded to 32
/// bits (kept in the key, see [`Key::Long`]) and widened again.
fn hash_long(body: &[u8], quoted: bool) -> u64 {
    // The length is in the hash of the bytes; the quoting in its low bit
    // (keys equal but for it are told apart by `matches`).
    let h = table_hash::hash_bytes(body) ^ u64::from(quoted);
    widen((h ^ h >> 32) as u32)
}

/// A 32-bit hash as the table's 64: its bits both low (where the table
/// picks a bucket) and high (where it takes the 7 bits it compares first).
#[inline]
fn widen(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

/// The folded multiply of foldhash and rustc-hash: the two halves of the
/// 128-bit product, xored. Every input bit reaches the high and low bits.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// `body` (at most [`INLINE`] bytes) little-endian in two zero-padded words,
/// read with a few overlapping loads and no loop.
#[inline]
fn inline_words(body: &[u8]) -> [u64; 2] {
    let n = body.len();
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |i: usize| {
        u64::from(u32::from_le_bytes(
            body[i..i + 4].try_into().unwrap_or([0; 4]),
        ))
    };
    let byte_at = |i: usize| u64::from(body[i]);
    match n {
        // The last window's bytes below 8 repeat the first word's: shift
        // them out (for n == 8, the whole window).
        8..=16 => [
            u64_at(0),
            u64_at(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0),
        ],
        // Overlapping windows or the same byte twice: or-ing them is exact.
        4..=7 => [u32_at(0) | u32_at(n - 4) << (8 * (n - 4)), 0],
        1..=3 => [
            byte_at(0) | byte_at(n / 2) << (8 * (n / 2)) | byte_at(n - 1) << (8 * (n - 1)),
            0,
        ],
        _ => [0, 0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// Keys built so that FxHash (rustc-hash 2, what the table hashed with)
    /// gives them all one hash, as probe /tmp/probe13-complexity built
    /// URLs: one 16-byte block `(x, y)` of the bytes is mixed as
    /// `mul(s ^ x, C ^ y)`, whose factors swap for the block
    /// `(s ^ C ^ y, s ^ C ^ x)`; k blocks give 2^k keys of one hash. Here
    /// those keys hash apart.
    #[test]
    fn keys_built_to_collide_under_fxhash_hash_apart() {
        use std::hash::Hasher;
        // rustc-hash 2's constants: the keys below are checked to collide
        // under it (if a new version mixes otherwise, build them anew).
        const S: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344];
        const C: u64 = 0xa409_3822_299f_31d0;
        let mul = |a: u64, b: u64| {
            let p = u128::from(a) * u128::from(b);
            (p as u64) ^ (p >> 64) as u64
        };
        let k = 10;
        let mut word = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            word ^= word << 13;
            word ^= word >> 7;
            word ^= word << 17;
            word
        };
        // Each block and its twin, the state before each block known.
        let (mut s0, mut s1) = (S[0], S[1]);
        let mut blocks = Vec::new();
        for _ in 0..k {
            let (x, y) = (next(), next());
            let m = s0 ^ C;
            blocks.push([(x, y), (m ^ y, m ^ x)]);
            (s0, s1) = (s1, mul(s0 ^ x, C ^ y));
        }
        let tail: Vec<u8> = (0..2).flat_map(|_| next().to_le_bytes()).collect();
        let keys: Vec<Vec<u8>> = (0..1usize << k)
            .map(|n| {
                let mut key: Vec<u8> = (0..k)
                    .flat_map(|b| {
                        let (x, y) = blocks[b][n >> b & 1];
                        [x.to_le_bytes(), y.to_le_bytes()].concat()
                    })
                    .collect();
                key.extend_from_slice(&tail);
                key
            })
            .collect();
        let fx = |key: &[u8]| {
            let mut h = rustc_hash::FxHasher::default();
            h.write(key);
            h.finish()
        };
        let distinct = |hashes: Vec<u64>| hashes.into_iter().collect::<HashSet<u64>>().len();
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1 << k);
        assert_eq!(
            distinct(keys.iter().map(|key| fx(key)).collect()),
            1,
            "built to collide"
        );
        // The table's hash of them (32 bits, widened): at most a few alike.
        let ours = distinct(keys.iter().map(|key| hash_long(key, true)).collect());
        assert!(ours >= (1 << k) - 4, "{ours} hashes of {} keys", 1 << k);
        let bytes = distinct(keys.iter().map(|key| table_hash::hash_bytes(key)).collect());
        assert_eq!(bytes, 1 << k);
    }

    fn padded(body: &[u8]) -> [u64; 2] {
        let mut b = [0u8; 16];
        b[..body.len()].copy_from_slice(body);
        [
            u64::from_le_bytes(b[..8].try_into().unwrap()),
            u64::from_le_bytes(b[8..].try_into().unwrap()),
        ]
    }

    fn encoded(key: &Key) -> Vec<u8> {
        let mut out = vec![b'x'];
        key.encode_into(&mut out);
        assert_eq!(out.len(), key.encoded_len());
        out
    }

    #[test]
    fn keys_encode_back_to_what_was_split() {
        for k in [
            &b"\"word\""[..],
            b"\"\"",
            b"\"sixteen bytes!!!\"",
            b"\"seventeen bytes!!\"",
            b"42",
            b"[1,\"a\"]",
            b"null",
            b"\"a long key, well beyond the inline words\"",
        ] {
            let (body, quoted) = split_encoded(k);
            let l = Lookup::new(body, quoted);
            let key = l.to_key();
            assert!(l.matches(&key));
            assert_eq!(key.hash(), l.hash);
            if body.len() <= INLINE {
                let s = Short::new(body, quoted);
                assert!(s.matches(&key) && s.hash == l.hash);
                assert!(l.matches(&s.to_key()));
            }
            assert_eq!(encoded(&key), k, "{}", String::from_utf8_lossy(k));
        }
    }

    #[test]
    fn a_string_is_not_the_same_key_as_its_body() {
        // `"1"` (a string) and `1` (a number) have the same body.
        let s = Lookup::new(b"1", true);
        let n = Lookup::new(b"1", false);
        assert!(!s.matches(&n.to_key()) && !n.matches(&s.to_key()));
        assert_ne!(s.hash, n.hash);
    }

    proptest! {
        /// The inline words are the zero-padded bytes, at every length; keys
        /// match exactly when they are equal, and equal keys hash alike.
        #[test]
        fn inline_keys_are_their_bytes(
            a in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), any::<u8>()], 0..40),
            b in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), any::<u8>()], 0..40),
            qa in any::<bool>(),
            qb in any::<bool>(),
        ) {
            if a.len() <= INLINE {
                prop_assert_eq!(inline_words(&a), padded(&a));
            }
            let (la, lb) = (Lookup::new(&a, qa), Lookup::new(&b, qb));
            let same = a == b && qa == qb;
            prop_assert_eq!(la.matches(&lb.to_key()), same);
            prop_assert_eq!(lb.matches(&la.to_key()), same);
            if same {
                prop_assert_eq!(la.hash, lb.hash);
            }
            prop_assert_eq!(la.to_key().hash(), la.hash);
            // A short key looked up as `Short` is the same key, same hash.
            if a.len() <= INLINE {
                let sa = Short::new(&a, qa);
                prop_assert_eq!(sa.hash, la.hash);
                prop_assert!(sa.matches(&la.to_key()) && la.matches(&sa.to_key()));
                prop_assert_eq!(sa.matches(&lb.to_key()), same);
            }
            // A prefix of a key never matches it (zero padding is not a byte).
            if !a.is_empty() {
                let shorter = Lookup::new(&a[..a.len() - 1], qa);
                prop_assert!(!shorter.matches(&la.to_key()));
            }
        }
    }
}
