//! `mr_count_lines_by_file`: lines per input file, keyed by the file's URI
//! (a port of mrjob's `mr_count_lines_by_file.py`, which reads
//! `mapreduce.map.input.file`).
//!
//! The key is [`TaskContext::input_uri`](mr_core::TaskContext::input_uri):
//! `file:///abs/path` locally, the cluster's URI (`hdfs://...`) on Hadoop.

use mr_core::reducers::Sum;
use mr_core::{Emitter, Job, JobError, Mapper, Step, TaskContext};

/// The job.
pub struct MrCountLinesByFile;

impl Job for MrCountLinesByFile {
    fn name(&self) -> &str {
        "mr_count_lines_by_file"
    }
    fn description(&self) -> &str {
        "Lines per input file, by URI (port of mrjob's mr_count_lines_by_file)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(ByFile::default())
                .combine(Sum::new())
                .reduce(Sum::new()),
        ]
    }
}

/// Emits `(input URI, 1)` for each line.
#[derive(Clone, Default)]
pub struct ByFile {
    uri: String,
}

impl Mapper for ByFile {
    type Input<'a> = &'a [u8];
    type Key = String;
    type Value = u64;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.uri = ctx.input_uri.clone().unwrap_or_default();
        Ok(())
    }

    fn map(&mut self, _line: &[u8], out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        out.emit(&self.uri, 1)
    }
}
