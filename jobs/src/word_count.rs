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
//!
//! The combiner and reducer sum, written as a [`Count`] fold: each map task
//! adds the 1s into one counter per word in a hash table, so only one record
//! per word and task is shuffled (and the values are never encoded one by one).

use mr_core::fold::Count;
use mr_core::{Emitter, Job, JobError, Mapper, Step};
use unicode_general_category::{get_general_category, GeneralCategory as Gc};

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
        return BYTE_CLASS[c as usize] != 0;
    }
    let cp = c as usize;
    if cp < 0x10000 {
        let bits = bmp_word_bits();
        return bits[cp / 64] >> (cp % 64) & 1 == 1;
    }
    is_word_category(c)
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

/// [`is_word_category`] for every char of the Basic Multilingual Plane, one
/// bit each (8 KiB, built once per process): a table lookup instead of a
/// binary search through the category ranges.
fn bmp_word_bits() -> &'static [u64; 1024] {
    static BITS: std::sync::OnceLock<Box<[u64; 1024]>> = std::sync::OnceLock::new();
    BITS.get_or_init(|| {
        let mut bits = Box::new([0u64; 1024]);
        for cp in 0..0x10000u32 {
            if char::from_u32(cp).is_some_and(is_word_category) {
                bits[cp as usize / 64] |= 1 << (cp % 64);
            }
        }
        bits
    })
}

/// For each byte: [`WORD`] for an ASCII word byte (`[0-9A-Za-z_']`), 0 for
/// any other ASCII byte, [`NON_ASCII`] for a byte of a multi-byte UTF-8
/// sequence.
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            NON_ASCII
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'\'' {
            WORD
        } else {
            0
        };
        b += 1;
    }
    t
};
const WORD: u8 = 1;
const NON_ASCII: u8 = 0xff;

/// Calls `f` with each word of `line`, lowercased, as Python's
/// `[w.lower() for w in re.findall(r"[\w']+", line)]`.
///
/// ASCII bytes are classed by a 256-entry table; only a non-ASCII char takes
/// the Unicode path, and only a word holding one
/// is lowercased by Unicode's rules. `buf` is reused from call to call, so a
/// line allocates nothing once it has grown.
///
/// ```
/// let mut words = Vec::new();
/// mr_jobs::word_count::for_each_word("Don't STOP--me_now, Straße 2x!", &mut String::new(), |w| words.push(w.to_string()));
/// assert_eq!(words, ["don't", "stop", "me_now", "straße", "2x"]);
/// ```
pub fn for_each_word(line: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    let b = line.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        // Between words.
        let c = BYTE_CLASS[b[i] as usize];
        if c == 0 {
            i += 1;
            continue;
        }
        if c == NON_ASCII {
            let (ch, len) = char_at(line, i);
            if !is_word_char(ch) {
                i += len;
                continue;
            }
        }
        // A word starts at i: a run of ASCII word bytes, then maybe a
        // non-ASCII char that continues it.
        let start = i;
        let mut ascii = true;
        loop {
            while i < n && BYTE_CLASS[b[i] as usize] == WORD {
                i += 1;
            }
            if i == n || BYTE_CLASS[b[i] as usize] == 0 {
                break;
            }
            let (ch, len) = char_at(line, i);
            if !is_word_char(ch) {
                break;
            }
            ascii = false;
            i += len;
        }
        let word = &line[start..i];
        if ascii {
            buf.clear();
            buf.push_str(word);
            buf.make_ascii_lowercase();
        } else {
            lower_into(word, buf);
        }
        f(buf);
    }
}

/// The char starting at byte `i` of `s` (a char boundary) and its length.
fn char_at(s: &str, i: usize) -> (char, usize) {
    let ch = s[i..].chars().next().unwrap_or('\0');
    (ch, ch.len_utf8())
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
        for c in word.chars() {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
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
    type Input<'a> = &'a str;
    type Key = String;
    type Value = u64;

    fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        let mut result = Ok(());
        let mut buf = std::mem::take(&mut self.buf);
        for_each_word(line, &mut buf, |w| {
            if result.is_ok() {
                result = out.emit_str(w, 1);
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
    fn the_bmp_table_is_the_category_rule() {
        for cp in 0..0x11000u32 {
            if let Some(c) = char::from_u32(cp) {
                assert_eq!(is_word_char(c), is_word_category(c), "U+{cp:04X}");
            }
        }
    }

    #[test]
    fn final_sigma_and_mixed_words() {
        for line in ["ΟΔΟΣ ΟΔΟΣ's ΣΑΣ aΣb Σ", "ÀB'cD_9É x²Y", "İI ǅ ﬁ"] {
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
    }

    #[test]
    fn counts_words_across_lines() {
        let (out, _) = run_in_memory(&WordCount, &["The cat", "the CAT sat", ""]).unwrap();
        assert_eq!(out, ["\"cat\"\t2", "\"sat\"\t1", "\"the\"\t2"]);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(run_in_memory(&WordCount, &[&b"ab\xffcd"[..]]).is_err());
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
