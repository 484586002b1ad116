//! `mr_count_lines_right`: the lines of the input, counted in each map
//! task and summed (a port of mrjob's `mr_count_lines_right.py`, its
//! testing guide's example of what `mapper_final` does not do alone).
//!
//! Each map task counts its lines in its mapper and emits the count once,
//! in its final hook, under the key `null` (mrjob's `None`); the reducer
//! sums the tasks' counts. Without the reducer (mrjob's
//! `mr_count_lines_wrong.py`) the output is one count per map task: how
//! many depends on how the input was split, which is the point of that
//! example. An empty input file still gives `null TAB 0` (its map task
//! counts no line), as mrjob's does.
//!
//! Output: `null TAB N`, N the lines of all the input.

use mr_core::reducers::Sum;
use mr_core::{Emitter, Job, JobError, Mapper, Step, TextLine};

/// The job.
pub struct MrCountLinesRight;

impl Job for MrCountLinesRight {
    fn name(&self) -> &str {
        "mr_count_lines_right"
    }
    fn description(&self) -> &str {
        "Lines of the input, counted per map task in mapper_final and summed (port of \
         mrjob's mr_count_lines_right)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Lines::default()).reduce(Sum::<()>::new())]
    }
}

/// Counts its task's lines; emits the count in `finish`.
#[derive(Clone, Default)]
pub struct Lines {
    lines: u64,
}

impl Mapper for Lines {
    type Input<'a> = TextLine<'a>;
    type Key = ();
    type Value = u64;

    fn map(&mut self, _: TextLine<'_>, _out: &mut Emitter<(), u64>) -> Result<(), JobError> {
        self.lines += 1;
        Ok(())
    }

    fn finish(&mut self, out: &mut Emitter<(), u64>) -> Result<(), JobError> {
        out.emit(&(), self.lines)
    }
}
