//! `mr_wc`: characters, words and lines of the input, like `wc` (a port of
//! mrjob's `mr_wc.py`, the example of why `mapper_final` is useful).
//!
//! Each map task counts in its mapper and emits its three totals once, in
//! its final hook; the reducer sums them. Characters are counted as mrjob
//! counts them: the line's characters (Unicode code points) plus one for
//! its newline; words are split on whitespace as Python's `str.split()`
//! splits. An empty input still gives the three keys, with zeros.
//!
//! Output: `"chars"`, `"lines"`, `"words"`, each with its count, in one
//! part file: the port asks for one reducer in its jobconf (mrjob's
//! `JOBCONF = {'mapreduce.job.reduces': 1}`), which `-D
//! mapreduce.job.reduces=N` or `--partitions N` overrides. (mrjob's own
//! `mr_wc.py` leaves the number to the runner.)

use mr_core::reducers::Sum;
use mr_core::{Emitter, Job, JobError, Mapper, Step, TextLine};

/// The job.
pub struct MrWc;

impl Job for MrWc {
    fn name(&self) -> &str {
        "mr_wc"
    }
    fn description(&self) -> &str {
        "Characters, words and lines, via mapper_final (port of mrjob's mr_wc)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Counts::default()).reduce(Sum::new())]
    }
    fn jobconf(&self) -> Vec<(String, String)> {
        vec![("mapreduce.job.reduces".into(), "1".into())]
    }
}

/// Python's `str.isspace()`: Unicode whitespace and the four separators
/// U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Counts in the mapper, emits in `finish`.
#[derive(Clone, Default)]
pub struct Counts {
    chars: u64,
    words: u64,
    lines: u64,
}

impl Mapper for Counts {
    type Input<'a> = TextLine<'a>;
    type Key = String;
    type Value = u64;

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        _out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        self.chars += line.chars().count() as u64 + 1;
        self.words += line.split(is_py_space).filter(|w| !w.is_empty()).count() as u64;
        self.lines += 1;
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        out.emit("chars", self.chars)?;
        out.emit("words", self.words)?;
        out.emit("lines", self.lines)
    }
}
