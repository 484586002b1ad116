//! `word_count`: word frequencies, exactly as mrjob's word-frequency example
//! (`mr_word_freq_count.py`):
//!
//! ```python
//! WORD_RE = re.compile(r"[\w']+")
//! def mapper(self, _, line):
//!     for word in WORD_RE.findall(line):
//!         yield (word.lower(), 1)
//! def combiner(self, word, counts): yield (word, sum(counts))
//! def reducer(self, word, counts):  yield (word, sum(counts))
//! ```
//!
//! A word is a maximal run of word characters and apostrophes. Python's `\w`
//! on `str` is: letters (Unicode categories Lu, Ll, Lt, Lm, Lo), numbers (Nd,
//! Nl, No) and `_`; lowercasing is Unicode's full lowercase mapping (with the
//! final-sigma rule), as Python's `str.lower()`. Output: `"word"<TAB>count`.
//! The categories are Unicode 16.0's (the `unicode-general-category`
//! crate), the lowercase mapping that of Rust's standard library (17.0 in
//! Rust 1.95); each Python has its own version (Python 3.11: 14.0), so
//! characters added since, and a few whose properties changed, are read
//! differently: over every code point, 17 words made of characters that
//! Unicode 14 has differ (such as `ʕ` before a final `Σ`).
//!
//! Lines are read as mrjob reads them (its default `RawValueProtocol`, see
//! [`TextLine`]): UTF-8, or, for a line that is not valid UTF-8 (a Latin-1
//! or Windows-1252 file, as old corpora and logs often are), Latin-1, one
//! char per byte. So no text line is a bad record, and `caf\xe9` counts as
//! `café`, as in mrjob.
//!
//! The combiner and reducer sum, written as a [`Count`] fold: each map task
//! adds the 1s into one counter per word in a hash table, so only one record
//! per word and task is shuffled (and the values are never encoded one by one).

use mr_core::emit::JsonBody;
use mr_core::fold::Count;
use mr_core::{Emitter, Job, JobError, Mapper, Step, TextLine};
use unicode_general_category::{GeneralCategory as Gc, get_general_category};

/// The job.
pub struct WordCount;

impl Job for WordCount {
    fn name(&self) -> &str {
        "word_count"
    }
    fn description(&self) -> &str {
        "Word frequencies ([\\w']+, lowercased), as mrjob's word-frequency example."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Words::default()).fold(Count::new())]
    }
}

/// Python's `\w` (for `str` patterns) plus the apostrophe.
///
/// ```
/// use mr_jobs::word_count::is_word_char;
/// assert!(is_word_char('a') && is_word_char('_') && is_word_char('\'') && is_word_char('é'));
/// assert!(is_word_char('日') && is_word_char('²'));
/// assert!(!is_word_char('-') && !is_word_char(' ') && !is_word_char('\u{301}'));
/// ```
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_' || c == '\'';
    }
    if (c as u32) < 0x10000 {
        return bit(&bmp_tables().word, c as u32);
    }
    is_word_category(c)
}

/// Whether lowercasing changes `c` (Unicode's full mapping, as Python's
/// `str.lower()`): capitals, title case letters and the few others. A word
/// with none of these is its own lowercase.
///
/// ```
/// use mr_jobs::word_count::lower_changes;
/// assert!(lower_changes('A') && lower_changes('Ж') && lower_changes('Σ') && lower_changes('İ'));
/// assert!(!lower_changes('a') && !lower_changes('ж') && !lower_changes('ß') && !lower_changes('日'));
/// ```
pub fn lower_changes(c: char) -> bool {
    if (c as u32) < 0x10000 {
        return bit(&bmp_tables().lower_changes, c as u32);
    }
    lower_changes_rule(c)
}

/// The rule behind [`lower_changes`]: anything but `c` itself alone.
fn lower_changes_rule(c: char) -> bool {
    let mut lower = c.to_lowercase();
    !(lower.next() == Some(c) && lower.next().is_none())
}

/// The Unicode rule behind [`is_word_char`]: letters and numbers (and, for
/// ASCII, `_` and `'`), from the general category table.
fn is_word_category(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_' || c == '\'';
    }
    matches!(
        get_general_category(c),
        Gc::UppercaseLetter
            | Gc::LowercaseLetter
            | Gc::TitlecaseLetter
            | Gc::ModifierLetter
            | Gc::OtherLetter
            | Gc::DecimalNumber
            | Gc::LetterNumber
            | Gc::OtherNumber
    )
}

/// [`is_word_category`] and [`lower_changes_rule`] for every char of the
/// Basic Multilingual Plane, one bit each (8 KiB a table, built once per
/// process): a table lookup instead of a binary search through Unicode's
/// ranges.
struct BmpTables {
    word: [u64; 1024],
    lower_changes: [u64; 1024],
    /// The lowercase of each char below U+0800 (the two-byte UTF-8 chars:
    /// Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic...), or
    /// [`NOT_ONE_CHAR`] when it is not one char below U+0800.
    lower_small: [u16; 0x800],
}

/// The bit of BMP code point `cp` in one of [`BmpTables`]' bit tables.
#[inline(always)]
fn bit(table: &[u64; 1024], cp: u32) -> bool {
    table[cp as usize / 64] >> (cp % 64) & 1 == 1
}

/// In [`BmpTables::lower_small`]: a lowercase of several chars (`İ`), or
/// one outside the table.
const NOT_ONE_CHAR: u16 = u16::MAX;

fn bmp_tables() -> &'static BmpTables {
    static TABLES: std::sync::OnceLock<Box<BmpTables>> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new(BmpTables {
            word: [0; 1024],
            lower_changes: [0; 1024],
            lower_small: [NOT_ONE_CHAR; 0x800],
        });
        for cp in 0..0x10000u32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let mask = 1 << (cp % 64);
            if is_word_category(c) {
                t.word[cp as usize / 64] |= mask;
            }
            if lower_changes_rule(c) {
                t.lower_changes[cp as usize / 64] |= mask;
            }
            if cp < 0x800 {
                let mut lower = c.to_lowercase();
                if let (Some(l), None) = (lower.next(), lower.next())
                    && (l as u32) < 0x800
                {
                    t.lower_small[cp as usize] = l as u16;
                }
            }
        }
        t
    })
}

/// The bytes of a line are classed a block of [`BLOCK`] at a time, into
/// bit masks (bit k for byte k of the block).
const BLOCK: usize = 64;

/// A block's masks: its word bytes, capitals and non-ASCII bytes.
#[derive(Default)]
struct Masks {
    /// ASCII word bytes (`[0-9A-Za-z_']`), and every byte of a non-ASCII
    /// word char.
    word: u64,
    /// `[A-Z]`, and the first byte of each non-ASCII word char that
    /// lowercasing changes.
    upper: u64,
    /// Bytes of multi-byte chars.
    non_ascii: u64,
    /// First bytes of multi-byte chars (`0xC0..=0xFF` in valid UTF-8).
    lead: u64,
}

/// The masks of 16 bytes, in bits 0..16: a few vector instructions (SSE2 on
/// x86-64, NEON on aarch64, by the `wide` crate), as json_scan's strings.
#[inline]
fn classify16(c: [u8; 16]) -> Masks {
    use wide::u8x16;
    let v = u8x16::new(c);
    // `x - lo <= n` unsigned, with SSE2's unsigned min: lo..=lo+n.
    let within = |x: u8x16, lo: u8, n: u8| {
        let d = x - u8x16::splat(lo);
        d.min(u8x16::splat(n)).simd_eq(d)
    };
    // `| 0x20` folds the capitals onto the small letters, and nothing else
    // onto them.
    let word = within(v | u8x16::splat(0x20), b'a', 25)
        | within(v, b'0', 9)
        | v.simd_eq(u8x16::splat(b'_'))
        | v.simd_eq(u8x16::splat(b'\''));
    Masks {
        word: u64::from(word.to_bitmask()),
        upper: u64::from(within(v, b'A', 25).to_bitmask()),
        non_ascii: u64::from(v.to_bitmask()),
        lead: u64::from(within(v, 0xc0, 0x3f).to_bitmask()),
    }
}

/// The masks of the block of `b` at `base` (zeros past the end of `b`: a
/// zero byte is not a word byte). Non-ASCII word chars are not marked yet.
#[inline]
fn classify_block(b: &[u8], base: usize) -> Masks {
    let mut m = Masks::default();
    for j in 0..BLOCK / 16 {
        let p = base + 16 * j;
        if p >= b.len() {
            break;
        }
        let c: [u8; 16] = match b.get(p..p + 16) {
            Some(c) => c.try_into().unwrap_or([0; 16]),
            None => {
                let mut c = [0; 16];
                c[..b.len() - p].copy_from_slice(&b[p..]);
                c
            }
        };
        let cm = classify16(c);
        m.word |= cm.word << (16 * j);
        m.upper |= cm.upper << (16 * j);
        m.non_ascii |= cm.non_ascii << (16 * j);
        m.lead |= cm.lead << (16 * j);
    }
    m
}

/// Bits `from..to` (`from <= to <= 64`, `from < 64`).
#[inline]
fn bits(from: u32, to: u32) -> u64 {
    (u64::MAX << from) & u64::MAX.checked_shr(64 - to).unwrap_or(0)
}

/// Calls `f` with each word of `line`, lowercased, as Python's
/// `[w.lower() for w in re.findall(r"[\w']+", line)]`.
///
/// The line is classed 64 bytes at a time into bit masks (word bytes,
/// capitals, non-ASCII bytes), and the words are the runs of ones of the
/// word mask, found with a few bit operations each. Only a non-ASCII char
/// takes the Unicode path (is it a letter or number? does lowercasing change
/// it?), and only a word holding a non-ASCII capital is lowercased by
/// Unicode's rules. A word that is already lowercase (most words, in any
/// script) is passed as a slice of `line`, with no copy; a word with
/// capitals is lowercased into `buf`, which is reused from call to call, so
/// a line allocates nothing once it has grown.
///
/// ```
/// let mut words = Vec::new();
/// mr_jobs::word_count::for_each_word("Don't STOP--me_now, Straße 2x!", &mut String::new(), |w| words.push(w.to_string()));
/// assert_eq!(words, ["don't", "stop", "me_now", "straße", "2x"]);
/// ```
pub fn for_each_word(line: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    let b = line.as_bytes();
    // The word being read: its start, and whether it has capitals or
    // non-ASCII chars so far.
    let mut start = None;
    let (mut upper, mut non_ascii) = (false, false);
    // Word-char bits of a char that began in the previous block.
    let mut carried = 0;
    // One block more when the line fills its last block, for a word that
    // ends with the line: the empty block's zero masks end it.
    for base in (0..=b.len()).step_by(BLOCK) {
        let mut m = classify_block(b, base);
        m.word |= carried;
        carried = 0;
        if m.non_ascii != 0 {
            carried = mark_word_chars(line, base, &mut m);
        }
        let mut k = 0;
        loop {
            if start.is_none() {
                let rest = m.word >> k;
                if rest == 0 {
                    break;
                }
                k += rest.trailing_zeros();
                start = Some(base + k as usize);
                (upper, non_ascii) = (false, false);
            }
            let stop = !m.word >> k;
            let end = if stop == 0 {
                BLOCK as u32
            } else {
                k + stop.trailing_zeros()
            };
            let seg = bits(k, end);
            upper |= m.upper & seg != 0;
            non_ascii |= m.non_ascii & seg != 0;
            if stop == 0 {
                // The word goes on in the next block.
                break;
            }
            k = end;
            if let Some(s) = start.take() {
                emit_word(&line[s..base + end as usize], upper, non_ascii, buf, &mut f);
            }
        }
    }
}

/// Calls `f` with `word` lowercased: as it is when it has no capitals, by
/// ASCII rules in `buf` when it is ASCII, else by Unicode's.
#[inline(always)]
fn emit_word(word: &str, upper: bool, non_ascii: bool, buf: &mut String, f: &mut impl FnMut(&str)) {
    let lower = if !upper {
        word
    } else if non_ascii {
        lower_into(word, buf);
        buf
    } else {
        buf.clear();
        buf.push_str(word);
        buf.make_ascii_lowercase();
        buf
    };
    f(lower);
}

/// Marks the bytes of the non-ASCII word chars that start in the block of
/// `line` at `base` in `m.word`, and the first byte of those that
/// lowercasing changes in `m.upper`; returns the bits of such a char's
/// bytes that fall in the next block.
#[cold]
fn mark_word_chars(line: &str, base: usize, m: &mut Masks) -> u64 {
    let b = line.as_bytes();
    let mut carried = 0;
    let mut rest = m.lead;
    while rest != 0 {
        let k = rest.trailing_zeros();
        rest &= rest - 1;
        let (cp, len) = decode_at(b, base + k as usize);
        let (word, changes) = if cp < 0x10000 {
            let t = bmp_tables();
            (bit(&t.word, cp), bit(&t.lower_changes, cp))
        } else {
            let c = char::from_u32(cp).unwrap_or('\0');
            (is_word_category(c), lower_changes_rule(c))
        };
        if word {
            if changes {
                m.upper |= 1 << k;
            }
            let to = k + len;
            m.word |= bits(k, to.min(BLOCK as u32));
            if to > BLOCK as u32 {
                carried = bits(0, to - BLOCK as u32);
            }
        }
    }
    carried
}

/// The code point of the multi-byte char whose first byte is `b[i]` (in
/// valid UTF-8), and its length in bytes.
#[inline(always)]
fn decode_at(b: &[u8], i: usize) -> (u32, u32) {
    let next = |j: usize| u32::from(b.get(i + j).map_or(0, |c| c & 0x3f));
    let first = u32::from(b.get(i).copied().unwrap_or(0));
    if first < 0xe0 {
        ((first & 0x1f) << 6 | next(1), 2)
    } else if first < 0xf0 {
        ((first & 0x0f) << 12 | next(1) << 6 | next(2), 3)
    } else {
        (
            (first & 0x07) << 18 | next(1) << 12 | next(2) << 6 | next(3),
            4,
        )
    }
}

/// Writes `word` lowercased by Unicode's full mapping into `buf`, as Python's
/// `str.lower()`.
fn lower_into(word: &str, buf: &mut String) {
    buf.clear();
    if word.contains('Σ') {
        // The final-sigma rule depends on the neighbours: std's to_lowercase
        // implements it (the only context-dependent mapping).
        buf.push_str(&word.to_lowercase());
    } else {
        let small = &bmp_tables().lower_small;
        for c in word.chars() {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
                continue;
            }
            let one = small.get(c as usize).copied().unwrap_or(NOT_ONE_CHAR);
            match char::from_u32(u32::from(one)).filter(|_| one != NOT_ONE_CHAR) {
                Some(l) => buf.push(l),
                None => buf.extend(c.to_lowercase()),
            }
        }
    }
}

/// The mapper: `(word, 1)` for each word of a line.
#[derive(Clone, Default)]
pub struct Words {
    buf: String,
}

impl Mapper for Words {
    type Input<'a> = TextLine<'a>;
    type Key = String;
    type Value = u64;

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        let mut result = Ok(());
        let mut buf = std::mem::take(&mut self.buf);
        for_each_word(&line, &mut buf, |w| {
            if result.is_ok() {
                // Letters, digits, marks, `_` and `'` (lowercased, still
                // such): never a byte JSON escapes, so not looked for.
                result = out.emit_body(JsonBody::trusted(w), 1);
            }
        });
        self.buf = buf;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;

    fn words(line: &str) -> Vec<String> {
        let mut v = Vec::new();
        for_each_word(line, &mut String::new(), |w| v.push(w.to_string()));
        v
    }

    #[test]
    fn matches_python_findall_lower() {
        // Expected values from Python 3.11:
        // [w.lower() for w in re.findall(r"[\w']+", s)]
        assert_eq!(
            words("Hello, World! It's 2024."),
            ["hello", "world", "it's", "2024"]
        );
        assert_eq!(words("'quoted' -- l'homme"), ["'quoted'", "l'homme"]);
        assert_eq!(
            words("snake_case and CamelCase"),
            ["snake_case", "and", "camelcase"]
        );
        assert_eq!(words("Café NAÏVE straße"), ["café", "naïve", "straße"]);
        assert_eq!(words("ΟΔΟΣ"), ["οδος"]);
        assert_eq!(words("日本語のテキスト"), ["日本語のテキスト"]);
        assert_eq!(words("emoji😀between"), ["emoji", "between"]);
        assert_eq!(words("x²+y³"), ["x²", "y³"]);
        // A combining accent (Mn) is not \w in Python: it splits the word.
        assert_eq!(words("cafe\u{301}s"), ["cafe", "s"]);
        assert_eq!(words("tab\tsep\u{a0}nbsp"), ["tab", "sep", "nbsp"]);
        assert_eq!(words("İstanbul ﬁne"), ["i\u{307}stanbul", "ﬁne"]);
        assert_eq!(words("ǅemal ⅫⅣ ߀"), ["ǆemal", "ⅻⅳ", "߀"]);
        assert!(words("  -- !! ").is_empty());
    }

    /// The plain Unicode definition, char by char, with std's lowercase:
    /// what the fast path must agree with.
    fn reference_words(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
            match (i < line.len() && is_word_category(c), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(line[s..i].to_lowercase());
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn the_bmp_tables_are_the_unicode_rules() {
        for cp in 0..0x11000u32 {
            if let Some(c) = char::from_u32(cp) {
                assert_eq!(is_word_char(c), is_word_category(c), "U+{cp:04X}");
                assert_eq!(lower_changes(c), lower_changes_rule(c), "U+{cp:04X}");
                if cp < 0x800 {
                    let one = bmp_tables().lower_small[cp as usize];
                    let want: Vec<char> = c.to_lowercase().collect();
                    match want[..] {
                        [l] if (l as u32) < 0x800 => assert_eq!(u32::from(one), l as u32),
                        _ => assert_eq!(one, NOT_ONE_CHAR, "U+{cp:04X}"),
                    }
                }
            }
        }
    }

    #[test]
    fn words_at_block_edges() {
        for n in [62, 63, 64, 65, 127, 128, 129] {
            for tail in ["", " ", "X", "é", "日", "😀", "—", "Σ", "ab"] {
                let line = format!("{}{tail}{}", "a".repeat(n), "B".repeat(n % 7));
                assert_eq!(words(&line), reference_words(&line), "{line:?}");
                let line = format!("{} {tail}x y", "Q".repeat(n));
                assert_eq!(words(&line), reference_words(&line), "{line:?}");
            }
        }
    }

    #[test]
    fn final_sigma_and_mixed_words() {
        for line in [
            "ΟΔΟΣ ΟΔΟΣ's ΣΑΣ aΣb Σ",
            "ÀB'cD_9É x²Y",
            "İI ǅ ﬁ",
            "жук Жук жУк ΣΣ σς",
        ] {
            assert_eq!(words(line), reference_words(line), "{line:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// The ASCII table fast path gives exactly the Unicode path's words.
        #[test]
        fn fast_path_is_the_unicode_rule(
            line in "([a-zA-Z0-9_' \t.,;:!?\\-]|[ÀÉßΣσΟΔİǅﬁ²³’—😀\u{301}\u{a0}日本]|\\PC){0,40}",
        ) {
            proptest::prop_assert_eq!(words(&line), reference_words(&line));
        }

        #[test]
        fn fast_path_on_any_string(line in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(words(&line), reference_words(&line));
        }

        /// Lines of several 64-byte blocks: words, capitals and multi-byte
        /// chars (word chars or not) across every block boundary.
        #[test]
        fn words_across_blocks(
            line in "([a-zA-Z0-9_' ,.\\-]{1,9}|[ÀéΣ²日😀\u{301}\u{a0}—]){0,60}",
        ) {
            proptest::prop_assert_eq!(words(&line), reference_words(&line));
        }
    }

    #[test]
    fn counts_words_across_lines() {
        let (out, _) = run_in_memory(&WordCount, &["The cat", "the CAT sat", ""]).unwrap();
        assert_eq!(out, ["\"cat\"\t2", "\"sat\"\t1", "\"the\"\t2"]);
    }

    /// A line that is not UTF-8 is Latin-1, as mrjob reads it: `\xe9` is
    /// `é` (a word char, lowercase of `\xc9`), `\xff` is `ÿ`, `\xa0` (no-break
    /// space) separates words; a valid line keeps its UTF-8.
    #[test]
    fn a_line_that_is_not_utf8_is_latin1_as_in_mrjob() {
        let lines: [&[u8]; 3] = [b"caf\xe9 CAF\xc9", b"ab\xffcd x\xa0y", "café".as_bytes()];
        let (out, _) = run_in_memory(&WordCount, &lines).unwrap();
        assert_eq!(out, ["\"abÿcd\"\t1", "\"café\"\t3", "\"x\"\t1", "\"y\"\t1"]);
    }

    /// The combiner and reducer are safe to split, on the mapper's own output.
    #[test]
    fn laws() {
        let text = [
            "The cat sat on the mat; the CAT ran.",
            "Don't stop: l'homme, the dog and the cat",
            "",
            "Straße straße STRASSE ΟΔΟΣ 日本語 x² x²",
            "the the the cat",
        ];
        mr_core::laws::assert_job_laws(&WordCount, &text);
    }
}
