//! `mr_words_containing_u_freq_count`: word frequencies, for the words that
//! contain a `u` (a port of mrjob's `mr_words_containing_u_freq_count.py`,
//! the example of `mapper_pre_filter`).
//!
//! ```text
//! mr run mr_words_containing_u_freq_count INPUT
//! # python mr_words_containing_u_freq_count.py INPUT
//! ```
//!
//! A word is a match of Python's `[\w']*u[\w']*` with `re.I` (see
//! [`WORD_RE`]), lowercased; combiner and reducer sum. mrjob's job first
//! pipes its input through `grep -i u` (`mapper_pre_filter`, a shell
//! command); mr has no shell step, so the mapper skips a line without `u` or
//! `U` itself, with a byte search, which is the same filter, but for one
//! case: grep in a UTF-8 locale takes a file with a line that is not UTF-8,
//! or a NUL byte, for binary, and passes none of its lines; here they are
//! read (as Latin-1), as every job here reads text.
//!
//! Output: `"word"<TAB>count`.

use mr_core::reducers::Sum;
use mr_core::{Emitter, Job, JobError, Mapper, Step, TaskContext, TextLine};

/// Python's `[\w']*u[\w']*` under `re.I`: `\w` as in
/// [`WORD_RE`](crate::mr_most_used_word::WORD_RE), and `u` either case (no
/// other char folds to it).
pub const WORD_RE: &str = r"[\p{L}\p{N}_']*[uU][\p{L}\p{N}_']*";

/// The job.
pub struct MrWordsContainingUFreqCount;

impl Job for MrWordsContainingUFreqCount {
    fn name(&self) -> &str {
        "mr_words_containing_u_freq_count"
    }
    fn description(&self) -> &str {
        "Word frequencies of the words containing a u: a pre-filter as a skip in the mapper \
         (port of mrjob's mr_words_containing_u_freq_count)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(UWords::default())
                .combine(Sum::new())
                .reduce(Sum::new()),
        ]
    }
}

/// Emits `(word, 1)` for each word with a `u`.
#[derive(Clone, Default)]
pub struct UWords {
    re: Option<regex::Regex>,
}

impl Mapper for UWords {
    type Input<'a> = TextLine<'a>;
    type Key = String;
    type Value = u64;

    fn init(&mut self, _ctx: &TaskContext) -> Result<(), JobError> {
        self.re = Some(regex::Regex::new(WORD_RE)?);
        Ok(())
    }

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        // `grep -i u`: most lines of English have a u, but not all.
        if !line.bytes().any(|b| b | 0x20 == b'u') {
            return Ok(());
        }
        let Some(re) = &self.re else {
            return Ok(());
        };
        for m in re.find_iter(&line) {
            out.emit_str(&m.as_str().to_lowercase(), 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;

    #[test]
    fn counts_words_with_a_u_in_either_case() {
        let (out, _) = run_in_memory(
            &MrWordsContainingUFreqCount,
            &[
                "Up you go, UNDER the bus's",
                "no match here",
                "qUeue queue ünder",
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            [
                "\"bus's\"\t1",
                "\"queue\"\t2",
                "\"under\"\t1",
                "\"up\"\t1",
                "\"you\"\t1"
            ]
        );
    }
}
