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

/// Calls `f` with each word of `line`, lowercased, as Python's
/// `[w.lower() for w in re.findall(r"[\w']+", line)]`.
///
/// ```
/// let mut words = Vec::new();
/// mr_jobs::word_count::for_each_word("Don't STOP--me_now, Straße 2x!", &mut String::new(), |w| words.push(w.to_string()));
/// assert_eq!(words, ["don't", "stop", "me_now", "straße", "2x"]);
/// ```
pub fn for_each_word(line: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    if line.is_ascii() {
        // Fast path: every char is one byte.
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && !is_ascii_word(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && is_ascii_word(b[i]) {
                i += 1;
            }
            if start < i {
                buf.clear();
                buf.push_str(&line[start..i]);
                buf.make_ascii_lowercase();
                f(buf);
            }
        }
        return;
    }
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                lower_into(&line[s..i], buf);
                f(buf);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        lower_into(&line[s..], buf);
        f(buf);
    }
}

fn is_ascii_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'\''
}

fn lower_into(word: &str, buf: &mut String) {
    buf.clear();
    if word.is_ascii() {
        buf.push_str(word);
        buf.make_ascii_lowercase();
    } else {
        // Full mapping with the final-sigma rule, like Python's str.lower().
        buf.push_str(&word.to_lowercase());
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
                result = out.emit(w, 1);
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
