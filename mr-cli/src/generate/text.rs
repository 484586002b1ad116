//! Prose-like text for word count.
//!
//! Lines hold 5-20 tokens. Words are drawn from a vocabulary of `--vocab` distinct words with classic
//! Zipf frequencies (weight `1/rank`, see [`super::zipf::ZipfTable`] and [`super::words`]). On top of that:
//!
//! * case: sentences start Capitalized, about 1% of words are ALL CAPS and 0.5% Capitalized mid-sentence;
//! * punctuation: commas, semicolons, colons, sentence ends (`.`, `!`, `?`, `...`), quotes, parentheses,
//!   hyphenated compounds (`well-known`), contractions with straight or curly apostrophes (`don't`, `don’t`,
//!   `l'homme`);
//! * numbers: `42`, `1984`, `3.14`, `12,000`, `21st`, `75%`, `10:30`;
//! * non-ASCII words (`café`, `Straße`, `русский`, `日本語`, generated Cyrillic, Greek, kana, Han and accented
//!   words, about 2-3% of tokens) and emoji, sometimes glued between two words (`word🙂word`);
//! * separators: mostly one space, sometimes two spaces, a tab or an em dash;
//! * about 2% empty lines, 0.5% whitespace-only lines, 2% CRLF line endings, some leading/trailing spaces.

use std::fmt::Write;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::sink::PartWriter;
use super::words::Vocabulary;
use super::zipf::ZipfTable;
use super::{GenSummary, TextArgs};

/// Word frequencies are `1 / (rank + WORD_ZIPF_SHIFT)`: classic Zipf.
const WORD_ZIPF_SHIFT: f64 = 0.0;
/// Fewest tokens on a non-empty line.
const MIN_WORDS: u32 = 5;
/// Most tokens on a line.
const MAX_WORDS: u32 = 20;
/// Initial capacity of the line buffer, in bytes.
const LINE_CAPACITY_BYTES: usize = 1024;
/// Probabilities below are out of this (rolls are 10-bit numbers).
const ROLL_SCALE: u32 = 1024;
/// Bits per roll in [`Rolls`].
const ROLL_BITS: u32 = 10;

/// Emoji, including a variation sequence, a flag and a ZWJ sequence.
const EMOJI: &[&str] = &["🙂", "🎉", "👍", "❤️", "🚀", "😂", "🇫🇷", "👨‍👩‍👧"];

/// Sentence ends.
const SENTENCE_ENDS: &[&str] = &[".", ".", ".", ".", "!", "?", "..."];

/// Generates text for word count as described in the module documentation.
pub fn text(args: &TextArgs) -> anyhow::Result<GenSummary> {
    if args.vocab < 1 {
        crate::usage!("--vocab must be at least 1");
    }
    let mut writer = PartWriter::create(&args.output, "txt", args.files, args.gz_files, args.size)?;
    let mut generator = TextGen {
        rng: ChaCha8Rng::seed_from_u64(args.seed),
        vocab: Vocabulary::new(args.vocab),
        zipf: ZipfTable::new(args.vocab, WORD_ZIPF_SHIFT),
    };
    let mut line = String::with_capacity(LINE_CAPACITY_BYTES);
    while !writer.done() {
        line.clear();
        generator.line(&mut line);
        writer.write_line(line.as_bytes())?;
    }
    writer.finish()
}

/// The text generator state.
struct TextGen {
    rng: ChaCha8Rng,
    vocab: Vocabulary,
    zipf: ZipfTable,
}

/// Six independent rolls in `0..1024` from one 64-bit draw (one draw per token keeps the generator fast).
#[derive(Debug, Clone, Copy)]
struct Rolls(u64);

impl Rolls {
    const SEPARATOR: u32 = 0;
    const WRAP: u32 = 1;
    const NUMBER: u32 = 2;
    const HYPHEN: u32 = 3;
    const CASE: u32 = 4;
    const PUNCTUATION: u32 = 5;

    fn get(self, i: u32) -> u32 {
        ((self.0 >> (ROLL_BITS * i)) % u64::from(ROLL_SCALE)) as u32
    }
}

impl TextGen {
    /// A roll in `0..1024`.
    fn roll(&mut self) -> u32 {
        self.rng.gen_range(0..ROLL_SCALE)
    }

    /// Appends one line, line ending included.
    fn line(&mut self, out: &mut String) {
        match self.roll() {
            0..=19 => {}
            20..=24 => out.push_str(if self.roll() < 500 { " " } else { " \t  " }),
            _ => self.sentence_line(out),
        }
        out.push_str(if self.roll() < 20 { "\r\n" } else { "\n" });
    }

    fn sentence_line(&mut self, out: &mut String) {
        if self.roll() < 5 {
            out.push_str("  ");
        }
        let n = self.rng.gen_range(MIN_WORDS..=MAX_WORDS);
        let mut sentence_start = true;
        for i in 0..n {
            let rolls = Rolls(self.rng.next_u64());
            if i > 0 {
                self.separator(out, rolls.get(Rolls::SEPARATOR));
            }
            self.token(out, sentence_start, rolls);
            sentence_start = false;
            let punctuation = rolls.get(Rolls::PUNCTUATION);
            if i + 1 == n {
                match punctuation {
                    0..=849 => out.push('.'),
                    850..=899 => out.push('!'),
                    900..=949 => out.push('?'),
                    _ => {}
                }
            } else {
                match punctuation {
                    0..=69 => out.push(','),
                    70..=79 => out.push(';'),
                    80..=84 => out.push(':'),
                    85..=134 => {
                        let end = SENTENCE_ENDS
                            [self.rng.gen_range(0..SENTENCE_ENDS.len() as u32) as usize];
                        out.push_str(end);
                        sentence_start = true;
                    }
                    _ => {}
                }
            }
        }
        if self.roll() < 10 {
            out.push(' ');
        }
    }

    fn separator(&mut self, out: &mut String, roll: u32) {
        match roll {
            0..=4 => out.push_str("  "),
            5..=9 => out.push('\t'),
            10..=12 => out.push_str(self.emoji()),
            13..=15 => {
                out.push(' ');
                out.push_str(self.emoji());
                out.push(' ');
            }
            16..=17 => out.push_str(" — "),
            _ => out.push(' '),
        }
    }

    fn emoji(&mut self) -> &'static str {
        EMOJI[self.rng.gen_range(0..EMOJI.len() as u32) as usize]
    }

    /// Appends one token: a word (possibly quoted, hyphenated, cased) or a number.
    fn token(&mut self, out: &mut String, sentence_start: bool, rolls: Rolls) {
        let (open, close) = match rolls.get(Rolls::WRAP) {
            0..=9 => ("\"", "\""),
            10..=14 => ("(", ")"),
            15..=16 => ("'", "'"),
            17 => ("«", "»"),
            _ => ("", ""),
        };
        out.push_str(open);
        let start = out.len();
        if rolls.get(Rolls::NUMBER) < 30 {
            self.number(out);
        } else {
            self.word(out);
            if rolls.get(Rolls::HYPHEN) < 10 {
                out.push('-');
                self.word(out);
            }
            let case = rolls.get(Rolls::CASE);
            if case < 10 {
                to_upper(out, start);
            } else if sentence_start || case < 15 {
                capitalize(out, start);
            }
        }
        out.push_str(close);
    }

    fn word(&mut self, out: &mut String) {
        let rank = self.zipf.sample(&mut self.rng);
        let start = out.len();
        self.vocab.push_word(rank, out);
        if self.vocab.is_curated(rank) && out[start..].contains('\'') && self.roll() < 100 {
            let curly = out[start..].replace('\'', "’");
            out.truncate(start);
            out.push_str(&curly);
        }
    }

    fn number(&mut self, out: &mut String) {
        let rng = &mut self.rng;
        // Writing to a String cannot fail.
        let _ = match rng.gen_range(0..8u32) {
            0 | 1 => write!(out, "{}", rng.gen_range(0..100u32)),
            2 => write!(out, "{}", rng.gen_range(1800..2030u32)),
            3 => {
                let n: u32 = rng.gen_range(0..1000);
                write!(out, "{}.{:02}", n / 100, n % 100)
            }
            4 => {
                let n: u32 = rng.gen_range(1_000..1_000_000);
                write!(out, "{},{:03}", n / 1000, n % 1000)
            }
            5 => {
                let n: u32 = rng.gen_range(1..100);
                let suffix = match (n % 10, n % 100) {
                    (_, 11..=13) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                write!(out, "{n}{suffix}")
            }
            6 => write!(out, "{}%", rng.gen_range(0..=100u32)),
            _ => {
                let minutes: u32 = rng.gen_range(0..24 * 60);
                write!(out, "{}:{:02}", minutes / 60, minutes % 60)
            }
        };
    }
}

/// Upper-cases the first character of `s[start..]`.
fn capitalize(s: &mut String, start: usize) {
    let Some(first) = s[start..].chars().next() else {
        return;
    };
    if first.is_ascii() {
        s[start..start + 1].make_ascii_uppercase();
    } else if first.is_lowercase() {
        let rest = s.split_off(start + first.len_utf8());
        s.truncate(start);
        s.extend(first.to_uppercase());
        s.push_str(&rest);
    }
}

/// Upper-cases `s[start..]` (`straße` becomes `STRASSE`).
fn to_upper(s: &mut String, start: usize) {
    if s[start..].is_ascii() {
        s[start..].make_ascii_uppercase();
    } else {
        let upper = s[start..].to_uppercase();
        s.truncate(start);
        s.push_str(&upper);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tempfile::TempDir;

    fn generate(size: u64, seed: u64, vocab: u64) -> (TempDir, GenSummary, Vec<u8>) {
        let dir = TempDir::new().unwrap();
        let args = TextArgs {
            size,
            seed,
            output: dir.path().join("text"),
            files: 4,
            gz_files: 1,
            vocab,
        };
        let summary = text(&args).unwrap();
        let bytes = super::super::tests::read_parts(&summary.files);
        (dir, summary, bytes)
    }

    #[test]
    fn deterministic_per_seed() {
        let (_d1, s1, a) = generate(200_000, 7, 50_000);
        let (_d2, s2, b) = generate(200_000, 7, 50_000);
        let (_d3, _, c) = generate(200_000, 8, 50_000);
        assert_eq!(a, b);
        for (x, y) in s1.files.iter().zip(&s2.files) {
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
        assert_ne!(a, c);
    }

    #[test]
    fn size_honoured_and_gz_decompresses() {
        let size = 500_000;
        let (_dir, summary, bytes) = generate(size, 1, 50_000);
        assert_eq!(bytes.len() as u64, summary.bytes);
        assert!(summary.bytes >= size && summary.bytes < size + 1024);
        assert_eq!(
            bytes.iter().filter(|&&b| b == b'\n').count() as u64,
            summary.lines
        );
        assert!(
            summary.files[3]
                .to_str()
                .unwrap()
                .ends_with("part-00003.txt.gz")
        );
    }

    #[test]
    fn text_has_the_promised_features() {
        let (_dir, _summary, bytes) = generate(2_000_000, 2, 50_000);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let crlf = lines.iter().filter(|l| l.ends_with("\r\n")).count();
        let empty = lines.iter().filter(|l| l.trim().is_empty()).count();
        let n = lines.len();
        assert!((n / 100..n / 25).contains(&crlf), "{crlf} of {n}");
        assert!((n / 100..n / 20).contains(&empty), "{empty} of {n}");

        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut tokens = 0;
        let (mut non_ascii, mut all_caps, mut capitalized, mut apostrophes, mut digits) =
            (0, 0, 0, 0, 0);
        for token in text.split(|c: char| c.is_whitespace()) {
            let word = token.trim_matches(|c: char| c.is_ascii_punctuation() || "«»—’".contains(c));
            if word.is_empty() {
                continue;
            }
            tokens += 1;
            non_ascii += usize::from(!word.is_ascii());
            digits += usize::from(word.starts_with(|c: char| c.is_ascii_digit()));
            apostrophes += usize::from(word.contains(['\'', '’']));
            let letters = word.chars().filter(|c| c.is_alphabetic()).count();
            if letters > 1 && word.chars().all(|c| !c.is_lowercase()) {
                all_caps += 1;
            } else if word.starts_with(char::is_uppercase) {
                capitalized += 1;
            }
            *counts.entry(word.to_lowercase()).or_default() += 1;
        }
        assert!(
            non_ascii * 100 > tokens && non_ascii * 100 < tokens * 10,
            "{non_ascii} of {tokens}"
        );
        assert!(all_caps * 200 > tokens, "{all_caps} of {tokens}");
        assert!(capitalized * 20 > tokens, "{capitalized} of {tokens}");
        assert!(apostrophes > 0 && digits * 100 > tokens);
        // Zipf: "the" is the most frequent word, about twice as frequent as "of".
        let the = counts["the"];
        assert!(counts.values().all(|&c| c <= the));
        let ratio = the as f64 / counts["of"] as f64;
        assert!((1.6..2.5).contains(&ratio), "{ratio}");
    }

    #[test]
    fn huge_vocabulary_works() {
        let (_dir, summary, bytes) = generate(300_000, 3, 50_000_000);
        assert!(summary.bytes >= 300_000);
        assert!(String::from_utf8(bytes).is_ok());
    }

    #[test]
    fn case_helpers() {
        let mut s = String::from("x straße");
        to_upper(&mut s, 2);
        assert_eq!(s, "x STRASSE");
        let mut s = String::from("x élan");
        capitalize(&mut s, 2);
        assert_eq!(s, "x Élan");
        let mut s = String::from("x 日本");
        capitalize(&mut s, 2);
        assert_eq!(s, "x 日本");
    }
}
