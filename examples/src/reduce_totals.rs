//! `reduce_totals`: a word count whose reducer also writes, from its final
//! hook, the total of the words its reduce task counted (mrjob's
//! `reducer_final`): `null TAB N`, one line per reduce task.
//!
//! ```text
//! mr run reduce_totals corpus/                   # the words, then [null, total]
//! mr run reduce_totals corpus/ --partitions 4    # four totals, one a task
//! ```
//!
//! What a final hook writes depends on how the step is cut into tasks, so
//! it is shown here as a pattern to use with care:
//!
//! - one line per reduce task: with `--partitions N`, N totals (`0` from a
//!   task that got no words), so `mr check reduce_totals` fails: its runs
//!   of other partitions give other lines;
//! - on Hadoop Streaming a reduce task that gets no key never has its
//!   reducer's output read (`PipeMapRed.waitOutputThreads`): its total is
//!   dropped, and `-r emulate` drops it too, with a warning. An empty input
//!   so gives a `null 0` a reduce task locally, and nothing on Hadoop.
//!
//! A grand total the same everywhere comes from a key of its own (emit
//! every count under `null` too, as `wc_files` does).
//!
//! ```
//! use mr_examples::reduce_totals::ReduceTotals;
//! let lines = ["b a", "a"];
//! let (out, _) = mr_core::testing::run_in_memory(&ReduceTotals, &lines).unwrap();
//! assert_eq!(out, ["\"a\"\t2", "\"b\"\t1", "null\t3"]);
//! ```

use mr_core::{Emitter, Job, JobError, Mapper, Reducer, Step, Values};

/// The job.
pub struct ReduceTotals;

impl Job for ReduceTotals {
    fn name(&self) -> &str {
        "reduce_totals"
    }
    fn description(&self) -> &str {
        "Word counts, and each reduce task's total written from its final hook (mrjob's reducer_final): one total a reduce task."
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(Words)
                .combine(mr_core::reducers::Sum::<Option<String>>::new())
                .reduce(Sum::default()),
        ]
    }
}

/// Emits `(word, 1)` for each whitespace-separated word.
#[derive(Clone)]
pub struct Words;

impl Mapper for Words {
    type Input<'a> = &'a str;
    type Key = Option<String>;
    type Value = u64;
    fn map(&mut self, line: &str, out: &mut Emitter<Option<String>, u64>) -> Result<(), JobError> {
        for w in line.split_whitespace() {
            out.emit(&Some(w.to_string()), 1)?;
        }
        Ok(())
    }
}

/// The reducer: sums a word's counts, and the task's words in `total`,
/// written by `finish` under `null`.
#[derive(Clone, Default)]
pub struct Sum {
    total: u64,
}

impl Reducer for Sum {
    type Key = Option<String>;
    type Value = u64;
    type OutKey = Option<String>;
    type OutValue = u64;

    fn reduce(
        &mut self,
        word: Option<String>,
        counts: Values<'_, u64>,
        out: &mut Emitter<Option<String>, u64>,
    ) -> Result<(), JobError> {
        let n = counts.sum::<u64>();
        self.total += n;
        out.emit(&word, n)
    }

    fn finish(&mut self, out: &mut Emitter<Option<String>, u64>) -> Result<(), JobError> {
        out.emit(&None, self.total)
    }
}
