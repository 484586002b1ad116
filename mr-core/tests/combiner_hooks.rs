//! A combiner's hooks run on the local runner as in task mode: `init` before
//! its first key (mrjob's `combiner_init`), `finish` after its last
//! (`combiner_final`). Before, the local runner never called them: a
//! combiner that set itself up in `init` (a cap read from a job option) ran
//! with its default state, and a run dropped every record with exit 0
//! (probe /tmp/probe4-author repro 01).

use mr_core::{Emitter, Job, JobError, Mapper, Reducer, RunConfig, Step, TaskContext, TaskKind};
use mr_core::{Values, reducers::Sum};
use std::io::Write;

/// Each word of a line, with 1.
#[derive(Clone)]
struct Words;

impl Mapper for Words {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = u64;
    fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        for w in line.split_whitespace() {
            out.emit(w, 1)?;
        }
        Ok(())
    }
}

/// A sum that emits nothing until its `init` has run (as a top-N combiner
/// with N read in `init` keeps nothing by default), and counts its hooks.
#[derive(Clone, Default)]
struct ReadySum {
    ready: bool,
}

impl Reducer for ReadySum {
    type Key = String;
    type Value = u64;
    type OutKey = String;
    type OutValue = u64;
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        assert_eq!(ctx.kind, TaskKind::Combine);
        self.ready = true;
        Ok(())
    }
    fn reduce(
        &mut self,
        key: String,
        values: Values<u64>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        let sum: u64 = values.sum();
        if self.ready {
            out.emit(&key, sum)?;
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        out.count("hooks", "combiner finish", 1);
        // What combiner_final emits joins the map output.
        out.emit("(finished)", 1)
    }
}

struct CappedWords;

impl Job for CappedWords {
    fn name(&self) -> &str {
        "capped_words"
    }
    fn description(&self) -> &str {
        "words counted by a combiner that needs its init"
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(Words)
                .combine(ReadySum::default())
                .reduce(Sum::<String>::new()),
        ]
    }
}

#[test]
fn the_local_runner_calls_a_combiners_init_and_finish() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let mut f = std::fs::File::create(&input).unwrap();
    for i in 0..2000 {
        writeln!(f, "a b a c{}", i % 3).unwrap();
    }
    drop(f);
    for (jobs, sort_buffer_bytes) in [(1, 64 << 20), (2, 4096)] {
        let cfg = RunConfig {
            inputs: vec![input.display().to_string()],
            jobs,
            chunk_size: 8 << 10,
            sort_buffer_bytes,
            ..Default::default()
        };
        let mut out = Vec::new();
        let report = mr_core::run_job(&CappedWords, &cfg, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let tasks = report.counters.get("hooks", "combiner finish");
        assert!(tasks >= 2, "{tasks} combiner finish calls");
        let want = format!(
            "\"(finished)\"\t{tasks}\n\"a\"\t4000\n\"b\"\t2000\n\"c0\"\t667\n\"c1\"\t667\n\"c2\"\t666\n"
        );
        assert_eq!(text, want, "jobs {jobs}, buffer {sort_buffer_bytes}");
    }
}

/// The laws (and so `mr check`) set a combiner up by its `init` too: before,
/// this one was checked in its default state, and its empty output blamed
/// on the job's maths ("law split broken", probe /tmp/probe4-author repro 02).
#[test]
fn the_laws_call_a_combiners_init() {
    let sample = ["a b a", "a c0", "b b"];
    mr_core::laws::check_job_on_sample(&CappedWords, &sample).unwrap();
}
