//! `panic_on`: **a test fixture**, a word count whose code panics on
//! purpose, to show (and test) what `mr` does when job code panics. Do not
//! copy it.
//!
//! - the mapper panics on a line that contains `PANIC-IN-MAP`, after emitting
//!   the words before it (which a skipped line must not leave behind);
//! - the reducer panics on the word `PANIC-IN-REDUCE`;
//! - the mapper's final hook panics when the task saw a line containing
//!   `PANIC-IN-FINAL`;
//! - a line `CUT-FILE-SHORT PATH BYTES` makes the mapper cut the file at
//!   PATH to BYTES bytes, as logrotate's `copytruncate` does to a live log
//!   while a run reads it (not counted);
//! - a line `WRITE-FILE PATH` makes the mapper write a small file at PATH,
//!   as a user saving a notebook into an output directory while a run
//!   replaces it (not counted);
//! - a line `SET-STATUS MESSAGE` makes the mapper set its task's status to
//!   MESSAGE, as a long computation does to stay alive on Hadoop (not
//!   counted);
//! - a line `COUNT<TAB>GROUP<TAB>NAME` makes the mapper add 1 to the job's
//!   counter NAME of group GROUP, any group (not counted as words);
//! - a line holding `PANIC-IN-DROP` panics, and a value dropped while it
//!   unwinds panics again (a `Drop` that panics: the process aborts);
//! - a line `PRINT MESSAGE` makes the mapper `println!` MESSAGE, as a job
//!   author debugging does (not counted);
//! - a line `RECURSE N` makes the mapper recurse N frames of 4 KiB deep (not
//!   counted);
//! - with `--fold`, the counts are a fold's, whose accumulate panics on the
//!   word `PANIC-IN-FOLD`; with `--panic-in-steps`, `steps_for` panics;
//! - a line `EXIT CODE` makes the mapper call `std::process::exit(CODE)`.
//!
//! Every other line is counted as `word_count` would (split on whitespace,
//! no lowercasing). `mr` reports a panicking record like any bad one: by
//! default the run stops with `bad record at FILE:LINE: job panicked:
//! MESSAGE`; with `--skip-bad-records` the record is kept aside in
//! `_bad_records/` and the others are counted.

use mr_core::{Emitter, Fold, Job, JobError, JobOption, JobParams, Mapper, Reducer, Step, Values};

/// The marker that makes the mapper panic.
pub const MAP_MARKER: &str = "PANIC-IN-MAP";
/// The word that makes the reducer panic.
pub const REDUCE_MARKER: &str = "PANIC-IN-REDUCE";
/// The marker that makes the mapper's final hook panic.
pub const FINAL_MARKER: &str = "PANIC-IN-FINAL";
/// The marker that makes the mapper cut a file short.
pub const CUT_MARKER: &str = "CUT-FILE-SHORT";
/// The marker that makes the mapper write a file.
pub const WRITE_MARKER: &str = "WRITE-FILE";
/// The marker that makes the mapper set its status.
pub const STATUS_MARKER: &str = "SET-STATUS";

/// The marker that makes the mapper count (`COUNT<TAB>GROUP<TAB>NAME`).
pub const COUNT_MARKER: &str = "COUNT\t";
/// The marker that makes the mapper panic twice (in a `Drop`, unwinding).
pub const DROP_MARKER: &str = "PANIC-IN-DROP";
/// The marker that makes the mapper print to stdout (`PRINT MESSAGE`).
pub const PRINT_MARKER: &str = "PRINT ";
/// The marker that makes the mapper exit the process (`EXIT CODE`).
pub const EXIT_MARKER: &str = "EXIT ";
/// The marker that makes the mapper recurse (`RECURSE N`).
pub const RECURSE_MARKER: &str = "RECURSE ";

/// Panics when dropped while its thread unwinds.
struct PanicsInDrop;

impl Drop for PanicsInDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            panic!("a Drop that panics");
        }
    }
}

/// Recurses `n` frames of 4 KiB each; the sum keeps the frames.
fn recurse(n: u64) -> u64 {
    let frame = std::hint::black_box([n as u8; 4096]);
    if n == 0 {
        return 0;
    }
    recurse(n - 1) + u64::from(frame[(n % 4096) as usize])
}

/// The job.
pub struct PanicOn;

impl Job for PanicOn {
    fn name(&self) -> &str {
        "panic_on"
    }
    fn description(&self) -> &str {
        "TEST FIXTURE: a word count that panics on lines with PANIC-IN-MAP, on the word PANIC-IN-REDUCE and (in mapper final) after PANIC-IN-FINAL, cuts a file short on CUT-FILE-SHORT PATH BYTES, writes one on WRITE-FILE PATH, sets its status on SET-STATUS MESSAGE, counts on COUNT<TAB>GROUP<TAB>NAME, panics twice on PANIC-IN-DROP, prints on PRINT MESSAGE, recurses on RECURSE N, exits on EXIT CODE and, with --fold, counts in a fold that panics on PANIC-IN-FOLD."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![
            JobOption::flag("fold")
                .help("count with a fold whose accumulate panics on PANIC-IN-FOLD"),
            JobOption::flag("panic-in-steps").help("panic in steps_for"),
        ]
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Words::default()).reduce(PanickySum)]
    }
    fn steps_for(&self, params: &JobParams) -> Vec<Step> {
        let on = |name: &str| params.options.get(name).is_some_and(|v| v == "true");
        assert!(!on("panic-in-steps"), "steps_for met --panic-in-steps");
        match params.options.get("fold").map(String::as_str) {
            Some("true") => vec![Step::map(Words::default()).fold(PanickyCount)],
            _ => self.steps(),
        }
    }
}

/// The word that makes the fold's accumulate panic (`--fold`).
pub const FOLD_MARKER: &str = "PANIC-IN-FOLD";

/// A count whose accumulate panics on the value the mapper emits for
/// [`FOLD_MARKER`] (`u64::MAX`).
#[derive(Clone, Copy)]
pub struct PanickyCount;

impl Fold for PanickyCount {
    type Key = String;
    type Value = u64;
    type Acc = u64;
    type Out = u64;
    fn init(&self) -> u64 {
        0
    }
    fn accumulate(&self, acc: &mut u64, v: u64) {
        assert!(v != u64::MAX, "the fold met {FOLD_MARKER}");
        *acc += v;
    }
    fn merge(&self, acc: &mut u64, other: u64) {
        *acc += other;
    }
    fn finish(&self, _: &String, acc: u64) -> u64 {
        acc
    }
}

/// The mapper: `(word, 1)` per whitespace-separated word.
#[derive(Clone, Default)]
pub struct Words {
    saw_final_marker: bool,
}

impl Mapper for Words {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = u64;

    fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        self.saw_final_marker |= line.contains(FINAL_MARKER);
        if let Some(rest) = line.strip_prefix(CUT_MARKER) {
            let mut words = rest.split_whitespace();
            let (Some(path), Some(bytes)) = (words.next(), words.next()) else {
                return Err(JobError::msg(format!("{CUT_MARKER} PATH BYTES")));
            };
            let bytes: u64 = bytes.parse().map_err(JobError::msg)?;
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(bytes))
                .map_err(JobError::msg)?;
            return Ok(());
        }
        if let Some(message) = line.strip_prefix(STATUS_MARKER) {
            out.set_status(message.trim());
            return Ok(());
        }
        if let Some(counter) = line.strip_prefix(COUNT_MARKER) {
            let Some((group, name)) = counter.split_once('\t') else {
                return Err(JobError::msg("COUNT<TAB>GROUP<TAB>NAME"));
            };
            out.count(group, name, 1);
            return Ok(());
        }
        if line.contains(DROP_MARKER) {
            let _armed = PanicsInDrop;
            panic!("the line holds the marker {DROP_MARKER}");
        }
        if let Some(message) = line.strip_prefix(PRINT_MARKER) {
            println!("{message}");
            return Ok(());
        }
        if let Some(code) = line.strip_prefix(EXIT_MARKER) {
            std::process::exit(code.trim().parse().map_err(JobError::msg)?);
        }
        if let Some(n) = line.strip_prefix(RECURSE_MARKER) {
            let n: u64 = n.trim().parse().map_err(JobError::msg)?;
            std::hint::black_box(recurse(n));
            return Ok(());
        }
        if let Some(path) = line.strip_prefix(WRITE_MARKER) {
            std::fs::write(path.trim(), "written by panic_on\n").map_err(JobError::msg)?;
            return Ok(());
        }
        for w in line.split_whitespace() {
            // After the words before it: what the line emitted must not
            // stay when it is skipped.
            if w.contains(MAP_MARKER) {
                panic!("the line holds the marker {MAP_MARKER}");
            }
            out.emit(w, if w == FOLD_MARKER { u64::MAX } else { 1 })?;
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        if self.saw_final_marker {
            panic!("this task saw {FINAL_MARKER}");
        }
        Ok(())
    }
}

/// The reducer: the sum of the counts, except for one word.
#[derive(Clone, Copy, Default)]
pub struct PanickySum;

impl Reducer for PanickySum {
    type Key = String;
    type Value = u64;
    type OutKey = String;
    type OutValue = u64;

    fn reduce(
        &mut self,
        word: String,
        counts: Values<'_, u64>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        let total: u64 = counts.sum();
        if word == REDUCE_MARKER {
            // An `expect` that fails, as real reducers' do.
            word.parse::<u64>().expect("the reducer met its marker");
        }
        out.emit(&word, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_reported_as_bad_records_in_memory() {
        let lines: Vec<String> = vec!["a b".into(), "a".into()];
        let (got, _) = mr_core::testing::run_in_memory(&PanicOn, &lines).unwrap();
        assert_eq!(got, vec!["\"a\"\t2", "\"b\"\t1"]);
        let bad = vec!["a".to_string(), format!("x {MAP_MARKER}")];
        let e = mr_core::testing::run_in_memory(&PanicOn, &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("job panicked: the line holds the marker"), "{e}");
        assert!(e.contains("panic_on.rs"), "{e}");
    }
}
