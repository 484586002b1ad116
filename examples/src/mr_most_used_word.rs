//! `mr_most_used_word`: the most used word of the input, leaving out common
//! "stop" words (a port of mrjob's `mr_most_used_word.py`: two steps and a
//! support file).
//!
//! ```text
//! mr run mr_most_used_word INPUT                           # built-in stop words
//! mr run mr_most_used_word --stop-words-file my.txt INPUT  # lowercase words, one a line
//! ```
//!
//! 1. words (Python's `[\w']+`, see [`WORD_RE`], lowercased) that are not stop words, counted (combiner
//!    and reducer sum), then sent to one key as `(count, word)`;
//! 2. the largest `(count, word)`: the most used word, ties to the word that
//!    sorts last (Python's `max` on tuples).
//!
//! `--stop-words-file` is a file option: shipped with the job to Hadoop
//! (`-files`) and Spark (`addFile`). The default list is mrjob's
//! `stop_words.txt`, built in. The output protocol is `json-value`: the
//! output is the word alone, as a JSON string.

use mr_core::reducers::Sum;
use mr_core::{
    Emitter, IdentityMapper, Job, JobError, JobOption, Mapper, OutputProtocol, Reducer, Step,
    TaskContext, TextLine, Values,
};
use std::collections::HashSet;

/// Python's `[\w']+` (the `WORD_RE` of mrjob's examples): Python's `\w` is
/// a letter, a number (`\p{N}`: digits, `²`, `Ⅻ`) or `_`, where Rust's
/// also takes marks (a variation selector, U+FE0F) and joiners (U+200D).
pub const WORD_RE: &str = r"[\p{L}\p{N}_']+";

/// The stop words used when `--stop-words-file` is not given (mrjob's list).
pub const STOP_WORDS: &str = include_str!("stop_words.txt");

/// The job.
pub struct MrMostUsedWord;

impl Job for MrMostUsedWord {
    fn name(&self) -> &str {
        "mr_most_used_word"
    }
    fn description(&self) -> &str {
        "The most used word, without stop words: two steps, a file option (port of mrjob's mr_most_used_word)."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![
            JobOption::file("stop-words-file")
                .help("alternate stop words file. lowercase words, one per line"),
        ]
    }
    fn output_protocol(&self) -> OutputProtocol {
        OutputProtocol::JsonValue
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(Words::default())
                .combine(Sum::new())
                .reduce(ToOneKey),
            Step::map(IdentityMapper::<(), (u64, String)>::new()).reduce(MaxWord),
        ]
    }
}

/// Emits `(word, 1)` for each word that is not a stop word.
#[derive(Clone, Default)]
pub struct Words {
    stop: HashSet<String>,
    re: Option<regex::Regex>,
}

impl Mapper for Words {
    type Input<'a> = TextLine<'a>;
    type Key = String;
    type Value = u64;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        let text = match ctx.option_str("stop-words-file") {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| JobError::msg(format!("--stop-words-file {path}: {e}")))?,
            None => STOP_WORDS.to_string(),
        };
        // Python's `line.strip() for line in open(path)`: a line ends at
        // `\n`, `\r\n` or `\r`.
        self.stop = crate::universal_newlines(text)
            .lines()
            .map(|l| l.trim_matches(crate::mr_wc::is_py_space).to_string())
            .collect();
        self.re = Some(regex::Regex::new(WORD_RE)?);
        Ok(())
    }

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        let Some(re) = &self.re else {
            return Ok(());
        };
        for m in re.find_iter(&line) {
            let word = m.as_str().to_lowercase();
            if !self.stop.contains(&word) {
                out.emit(&word, 1)?;
            }
        }
        Ok(())
    }
}

/// Sums a word's counts and sends `(count, word)` to the one key `null`.
#[derive(Clone)]
pub struct ToOneKey;

impl Reducer for ToOneKey {
    type Key = String;
    type Value = u64;
    type OutKey = ();
    type OutValue = (u64, String);

    fn reduce(
        &mut self,
        word: String,
        counts: Values<'_, u64>,
        out: &mut Emitter<(), (u64, String)>,
    ) -> Result<(), JobError> {
        out.emit(&(), (counts.sum(), word))
    }
}

/// Emits the largest `(count, word)` as key `count`, value `word`.
#[derive(Clone)]
pub struct MaxWord;

impl Reducer for MaxWord {
    type Key = ();
    type Value = (u64, String);
    type OutKey = u64;
    type OutValue = String;

    fn reduce(
        &mut self,
        _key: (),
        pairs: Values<'_, (u64, String)>,
        out: &mut Emitter<u64, String>,
    ) -> Result<(), JobError> {
        if let Some((count, word)) = pairs.max() {
            out.emit(&count, word)?;
        }
        Ok(())
    }
}
