//! Helpers for testing jobs: run a mapper on a few lines, or a whole job in
//! memory with the plainest possible semantics (the reference the engine is
//! tested against).

use crate::counters::Counters;
use crate::emit::{EmitBuffers, Emitter, VecSink};
use crate::error::{Error, JobError, Location, Result, snippet};
use crate::job::{Job, RecordError, ReduceFn, SliceValues, Step, TaskContext, TaskKind};
use crate::options::JobParams;
use crate::protocol::{sortable_value, write_record};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Calls `f` with an emitter and returns what it emitted, as (key, value)
/// JSON strings.
///
/// ```
/// let recs = mr_core::testing::with_emitter::<String, u64>(|out| out.emit("a", 1));
/// assert_eq!(recs, vec![("\"a\"".to_string(), "1".to_string())]);
/// ```
pub fn with_emitter<K: Serialize, V: Serialize>(
    f: impl FnOnce(&mut Emitter<'_, K, V>) -> std::result::Result<(), JobError>,
) -> Vec<(String, String)> {
    let mut sink = VecSink::default();
    let mut counters = Counters::default();
    let mut bufs = EmitBuffers::default();
    let mut em = Emitter::new(&mut sink, &mut counters, &mut bufs);
    if let Err(e) = f(&mut em) {
        panic!("emitter closure failed: {e}");
    }
    to_strings(sink.records)
}

fn to_strings(recs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(String, String)> {
    recs.into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

/// A step's mapper run over lines in memory.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    /// The records emitted, in order.
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
    /// Indices of the lines the mapper accepted.
    pub accepted: Vec<usize>,
    /// Lines the mapper rejected (only when told to skip them).
    pub rejected: usize,
}

/// Runs a fresh mapper of `step` over `lines`. A line the mapper rejects is
/// an error, or, with `skip_bad`, left out with all it emitted before it
/// failed (as a run with `--skip-bad-records` does).
///
/// `piece`: the input file the lines are from, in order; the mapper is
/// told its URI ([`TaskContext::input_uri`]), and one that reads CSV takes
/// the file's first line as the header, as a map task does. `None`: the
/// lines come from no file, and have no header.
pub(crate) fn map_lines(
    step: &Step,
    index: usize,
    lines: &[Vec<u8>],
    piece: Option<Piece<'_>>,
    counters: &mut Counters,
    skip_bad: bool,
    params: &Arc<JobParams>,
) -> Result<Mapped> {
    let ctx = TaskContext {
        step: index,
        params: params.clone(),
        input_uri: piece.map(|p| p.uri.to_string()),
        ..TaskContext::default()
    };
    let mut mapper = step.new_mapper();
    mapper.init(&ctx).map_err(|e| {
        RecordError::Job(e.to_string()).in_hook(format!("step {index} mapper init"))
    })?;
    if skip_bad {
        mapper.hold_back_output();
    }
    match piece {
        Some(Piece { header: None, .. }) => crate::input::csv::begin_task(None, true),
        Some(Piece {
            header: Some(h), ..
        }) => crate::input::csv::begin_piece(Some(h.into())),
        None => crate::input::csv::end_task(),
    }
    let mut sink = VecSink::default();
    let mut mapped = Mapped::default();
    let mut read_as_null = 0;
    for (n, line) in lines.iter().enumerate() {
        let r = crate::map_task::map_whole_line(
            &mut *mapper,
            line,
            None,
            &mut sink,
            counters,
            &mut read_as_null,
        );
        let bad = |reason| Error::BadRecord {
            location: Box::new(Location::line(
                index,
                piece.map_or("<input>", |p| p.uri),
                piece.map_or(1, |p| p.first_line) + n as u64,
            )),
            reason,
            snippet: snippet(line),
        };
        match r {
            Ok(_) => mapped.accepted.push(n),
            Err(RecordError::Fatal(e)) => return Err(e),
            Err(RecordError::Unskippable(reason)) => return Err(bad(reason)),
            Err(RecordError::Decode(reason) | RecordError::Job(reason)) => {
                if !skip_bad {
                    return Err(bad(reason));
                }
                mapped.rejected += 1;
            }
        }
    }
    crate::input::csv::end_task();
    if read_as_null > 0 {
        let name = format!("step {index}: {}", crate::counters::READ_AS_NULL);
        counters.add(crate::counters::FRAMEWORK, &name, read_as_null as i64);
    }
    mapper
        .finish(&mut sink, counters)
        .map_err(|e| e.in_hook(format!("step {index} mapper final")))?;
    mapped.records = sink.records;
    Ok(mapped)
}

/// Records grouped by key bytes, values in emission order.
pub(crate) fn group(records: Vec<(Vec<u8>, Vec<u8>)>) -> BTreeMap<Vec<u8>, Vec<Vec<u8>>> {
    let mut groups: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for (k, v) in records {
        groups.entry(k).or_default().push(v);
    }
    groups
}

/// The values in the order a step that sorts values delivers them.
pub(crate) fn sorted_if(sort: bool, mut values: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if sort {
        values.sort_by_cached_key(|v| {
            let mut s = Vec::new();
            let _ = sortable_value(v, &mut s);
            s
        });
    }
    values
}

/// Runs `reducer` (init, every group in key order, finish) and returns its
/// records as `key TAB value` lines.
pub(crate) fn reduce_groups(
    step: &Step,
    index: usize,
    reducer: &mut dyn ReduceFn,
    groups: &BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    counters: &mut Counters,
    params: &Arc<JobParams>,
) -> Result<Vec<Vec<u8>>> {
    let ctx = TaskContext {
        step: index,
        kind: TaskKind::Reduce,
        partition: Some(0),
        params: params.clone(),
        ..TaskContext::default()
    };
    reducer.init(&ctx).map_err(|e| {
        RecordError::Job(e.to_string()).in_hook(format!("step {index} reducer init"))
    })?;
    let mut out = VecSink::default();
    for (k, vs) in groups {
        let vs = sorted_if(step.sorts_values(), vs.clone());
        let mut stream = SliceValues(vs.iter().map(Vec::as_slice));
        match reducer.reduce(k, &mut stream, &mut out, counters) {
            Ok(()) => {}
            Err(RecordError::Fatal(e)) => return Err(e),
            Err(
                RecordError::Decode(reason)
                | RecordError::Job(reason)
                | RecordError::Unskippable(reason),
            ) => {
                return Err(Error::BadRecord {
                    location: Box::new(Location::Key {
                        step: index,
                        key: snippet(k),
                    }),
                    reason,
                    snippet: snippet(k),
                });
            }
        }
    }
    reducer
        .finish(&mut out, counters)
        .map_err(|e| e.in_hook(format!("step {index} reducer final")))?;
    Ok(record_lines(out.records))
}

/// Records as `key TAB value` lines (without the newline).
pub(crate) fn record_lines(records: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
    records
        .into_iter()
        .map(|(k, v)| {
            let mut line = Vec::new();
            write_record(&mut line, &k, &v);
            line.pop();
            line
        })
        .collect()
}

/// Where the lines a mapper reads come from: an input file (its URI), from
/// its start, or from later on (`header`: the file's first line).
#[derive(Clone, Copy)]
pub(crate) struct Piece<'a> {
    pub uri: &'a str,
    pub header: Option<&'a [u8]>,
    /// The file's line number of the piece's first line, from 1.
    pub first_line: u64,
}

/// A step's input in memory: lines from no file (one mapper reads them
/// all), or the lines of input files (a mapper for each file, or for each
/// piece of at most the given number of lines, as a map task each).
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    Lines(&'a [Vec<u8>]),
    Files(&'a [FileLines], usize),
}

/// Maps `input` with fresh mappers of `step`: what they did, one
/// [`Mapped`] a file (its pieces' in order), or one for [`Input::Lines`].
pub(crate) fn map_input(
    step: &Step,
    index: usize,
    input: Input<'_>,
    counters: &mut Counters,
    skip_bad: bool,
    params: &Arc<JobParams>,
) -> Result<Vec<Mapped>> {
    let (files, per_mapper) = match input {
        Input::Lines(lines) => {
            let mapped = map_lines(step, index, lines, None, counters, skip_bad, params)?;
            return Ok(vec![mapped]);
        }
        Input::Files(files, per_mapper) => (files, per_mapper.max(1)),
    };
    let mut out = Vec::new();
    for f in files {
        let mut file = Mapped::default();
        // An empty file too gets its mapper.
        for start in (0..f.lines.len().max(1)).step_by(per_mapper) {
            let end = start.saturating_add(per_mapper).min(f.lines.len());
            let piece = Piece {
                uri: &f.uri,
                header: (start > 0).then(|| f.lines[0].as_slice()),
                first_line: start as u64 + 1,
            };
            let lines = &f.lines[start..end];
            let m = map_lines(step, index, lines, Some(piece), counters, skip_bad, params)?;
            file.records.extend(m.records);
            file.accepted.extend(m.accepted.iter().map(|n| n + start));
            file.rejected += m.rejected;
        }
        out.push(file);
    }
    Ok(out)
}

/// Runs one step in memory: every line through a fresh mapper (a fresh one
/// per file), all values of a key to one reducer call, no combiner. Returns
/// output lines.
fn run_step(
    step: &Step,
    index: usize,
    input: Input<'_>,
    counters: &mut Counters,
    params: &Arc<JobParams>,
) -> Result<Vec<Vec<u8>>> {
    let mapped = map_input(step, index, input, counters, false, params)?;
    let records = mapped.into_iter().flat_map(|m| m.records).collect();
    match step.new_reducer() {
        None => Ok(record_lines(records)),
        Some(mut reducer) => reduce_groups(
            step,
            index,
            &mut *reducer,
            &group(records),
            counters,
            params,
        ),
    }
}

/// Checks that a job's steps fit together, before any real run: feeds the
/// `sample` lines through every step in memory, so that a step whose input
/// type does not match the previous step's output fails here, naming the
/// step, instead of after step 1 of a long run. Fails too when the sample
/// does not reach every step (no records out of a step before the last), as
/// the check would then prove nothing.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = String; type Value = u64;
/// #   fn map(&mut self, l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(l, 1) } }
/// # #[derive(Clone)] struct Sum;
/// # impl Reducer for Sum { type Key = String; type Value = u64; type OutKey = String; type OutValue = u64;
/// #   fn reduce(&mut self, k: String, v: Values<u64>, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(&k, v.sum()) } }
/// /// Step 2 reads (u64, String): the opposite of what step 1 writes.
/// # #[derive(Clone)] struct Swapped;
/// # impl Mapper for Swapped { type Input<'a> = (u64, String); type Key = String; type Value = u64;
/// #   fn map(&mut self, (n, k): (u64, String), out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(&k, n) } }
/// struct Good;
/// impl Job for Good { fn name(&self) -> &str { "good" } fn description(&self) -> &str { "" }
///   fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).reduce(Sum)] } }
/// struct Bad;
/// impl Job for Bad { fn name(&self) -> &str { "bad" } fn description(&self) -> &str { "" }
///   fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).reduce(Sum), Step::map(Swapped).reduce(Sum)] } }
/// assert!(mr_core::testing::check_steps(&Good, &["a", "b"]).is_ok());
/// let e = mr_core::testing::check_steps(&Bad, &["a", "b"]).unwrap_err();
/// assert!(e.to_string().contains("step 1"), "{e}");
/// ```
pub fn check_steps<S: AsRef<[u8]>>(job: &dyn Job, sample: &[S]) -> Result<()> {
    check_steps_with(job, JobParams::defaults(job), sample)
}

/// [`check_steps`] with the steps and options `params` choose for the job
/// ([`crate::Job::steps_for`]): [`JobParams::defaults`] with the options a
/// test sets.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = String; type Value = u64;
/// #   fn map(&mut self, l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(l, 1) } }
/// # #[derive(Clone)] struct Sum;
/// # impl Reducer for Sum { type Key = String; type Value = u64; type OutKey = String; type OutValue = u64;
/// #   fn reduce(&mut self, k: String, v: Values<u64>, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(&k, v.sum()) } }
/// # #[derive(Clone)] struct Swapped;
/// # impl Mapper for Swapped { type Input<'a> = (u64, String); type Key = String; type Value = u64;
/// #   fn map(&mut self, (n, k): (u64, String), out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(&k, n) } }
/// struct Again;
/// impl Job for Again {
///     fn name(&self) -> &str { "again" }
///     fn description(&self) -> &str { "" }
///     fn options(&self) -> Vec<JobOption> { vec![JobOption::flag("again")] }
///     fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).reduce(Sum)] }
///     fn steps_for(&self, p: &JobParams) -> Vec<Step> {
///         let mut steps = self.steps();
///         if p.options.get("again").is_some_and(|v| v == "true") {
///             // Reads (u64, String): the opposite of what step 0 writes.
///             steps.push(Step::map(Swapped).reduce(Sum));
///         }
///         steps
///     }
/// }
/// assert!(mr_core::testing::check_steps(&Again, &["a"]).is_ok());
/// let again = JobParams::defaults(&Again).with_option("again", "true");
/// let e = mr_core::testing::check_steps_with(&Again, again, &["a"]).unwrap_err();
/// assert!(e.to_string().contains("step 1"), "{e}");
/// ```
pub fn check_steps_with<S: AsRef<[u8]>>(
    job: &dyn Job,
    params: JobParams,
    sample: &[S],
) -> Result<()> {
    let params = Arc::new(params);
    let steps = crate::job::steps_of(job, &params)?;
    if steps.is_empty() {
        return Err(Error::Config(format!("job {} has no steps", job.name())));
    }
    let mut counters = Counters::default();
    let mut lines: Vec<Vec<u8>> = sample.iter().map(|l| l.as_ref().to_vec()).collect();
    for (i, step) in steps.iter().enumerate() {
        if lines.is_empty() {
            return Err(Error::Config(format!(
                "job {}: the sample gives no records to step {i} ({}); use a sample that reaches every step",
                job.name(),
                step.describe().mapper
            )));
        }
        lines = run_step(step, i, Input::Lines(&lines), &mut counters, &params).map_err(|e| {
            Error::Config(format!(
                "job {}: step {i} ({}) cannot process what it is given: {e}",
                job.name(),
                step.describe()
            ))
        })?;
    }
    Ok(())
}

/// Runs a whole job in memory on the given input lines and returns its output
/// lines (`key TAB value`), with the job's counters. The reference semantics:
/// one mapper, no combiner, keys in byte order, values in input order (or
/// sorted, if the step sorts values). The lines are the job's records as
/// JSON, whatever its [`Job::output_protocol`]; [`printed`] gives them as
/// `mr run` prints them.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = String; type Value = u64;
/// #   fn map(&mut self, l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(l, 1) } }
/// # #[derive(Clone)] struct Sum;
/// # impl Reducer for Sum { type Key = String; type Value = u64; type OutKey = String; type OutValue = u64;
/// #   fn reduce(&mut self, k: String, v: Values<u64>, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(&k, v.sum()) } }
/// # struct Count; impl Job for Count { fn name(&self) -> &str { "count" } fn description(&self) -> &str { "" }
/// #   fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).reduce(Sum)] } }
/// let (lines, _) = mr_core::testing::run_in_memory(&Count, &["b", "a", "b"]).unwrap();
/// assert_eq!(lines, vec!["\"a\"\t1", "\"b\"\t2"]);
/// ```
pub fn run_in_memory<S: AsRef<[u8]>>(
    job: &dyn Job,
    input: &[S],
) -> Result<(Vec<String>, Counters)> {
    run_in_memory_with(job, JobParams::defaults(job), input)
}

/// The output lines of [`run_in_memory`] as `mr run` prints them: in the
/// job's [`Job::output_protocol`] (mrjob's `OUTPUT_PROTOCOL`), as a test of
/// a job that writes raw lines compares them (a raw value's record was
/// `null TAB "a\t1"`, where `mr run` prints `a<TAB>1`: probe
/// /tmp/probe10-mrjob repro 08). A record the protocol cannot write as
/// one line is written as `mr run` writes it.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = (); type Value = String;
/// #   fn map(&mut self, l: &str, out: &mut Emitter<(), String>) -> Result<(), JobError> { out.emit(&(), format!("{l}\t1")) } }
/// struct Raw;
/// impl Job for Raw {
///     fn name(&self) -> &str { "raw" }
///     fn description(&self) -> &str { "" }
///     fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).into()] }
///     fn output_protocol(&self) -> output::protocol::OutputProtocol { output::protocol::OutputProtocol::RawValue }
/// }
/// let (lines, _) = mr_core::testing::run_in_memory(&Raw, &["a"]).unwrap();
/// assert_eq!(lines, ["null\t\"a\\t1\""]);
/// assert_eq!(mr_core::testing::printed(&Raw, &lines), ["a\t1"]);
/// ```
pub fn printed(job: &dyn Job, lines: &[String]) -> Vec<String> {
    let protocol = job.output_protocol();
    lines
        .iter()
        .map(|line| {
            let mut out = Vec::new();
            protocol.write_line(line.as_bytes(), &mut out);
            out.pop(); // its newline
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect()
}

/// [`run_in_memory`] with the job's options (and files, jobconf) as given
/// in `params`: [`JobParams::defaults`] with the options a test sets.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = String; type Value = u64;
/// #   fn map(&mut self, l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(l, 1) } }
/// #[derive(Clone, Default)]
/// struct AtLeast(u64);
/// impl Reducer for AtLeast {
///     type Key = String; type Value = u64; type OutKey = String; type OutValue = u64;
///     fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
///         self.0 = ctx.option("min-count")?;
///         Ok(())
///     }
///     fn reduce(&mut self, k: String, v: Values<u64>, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
///         let n: u64 = v.sum();
///         if n >= self.0 { out.emit(&k, n)?; }
///         Ok(())
///     }
/// }
/// struct Frequent;
/// impl Job for Frequent {
///     fn name(&self) -> &str { "frequent" }
///     fn description(&self) -> &str { "" }
///     fn options(&self) -> Vec<JobOption> { vec![JobOption::int("min-count").default("2")] }
///     fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).reduce(AtLeast::default())] }
/// }
/// // The option's default applies...
/// let (lines, _) = mr_core::testing::run_in_memory(&Frequent, &["b", "a", "b"]).unwrap();
/// assert_eq!(lines, vec!["\"b\"\t2"]);
/// // ...unless the test sets it.
/// let params = JobParams::defaults(&Frequent).with_option("min-count", "1");
/// let (lines, _) = mr_core::testing::run_in_memory_with(&Frequent, params, &["b", "a", "b"]).unwrap();
/// assert_eq!(lines, vec!["\"a\"\t1", "\"b\"\t2"]);
/// ```
pub fn run_in_memory_with<S: AsRef<[u8]>>(
    job: &dyn Job,
    params: JobParams,
    input: &[S],
) -> Result<(Vec<String>, Counters)> {
    let lines: Vec<Vec<u8>> = input.iter().map(|l| l.as_ref().to_vec()).collect();
    run_input(job, params, Input::Lines(&lines))
}

/// An input file's lines in memory, with the URI a map task reading it is
/// given ([`TaskContext::input_uri`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileLines {
    /// The file's URI: `file:///logs/a.json`.
    pub uri: String,
    /// Its lines from the first, without line ends.
    pub lines: Vec<Vec<u8>>,
}

/// [`run_in_memory_with`] on input files, as a run reads them: each file's
/// lines through a mapper of its own, told the file's URI; a mapper that
/// reads CSV takes each file's first line as its header.
///
/// ```
/// # use mr_core::*;
/// use mr_core::testing::FileLines;
/// /// Sums column `n` per `k`, by name: the files order their columns apart.
/// #[derive(Clone)]
/// struct Cols;
/// #[derive(serde::Deserialize)]
/// struct Row { k: String, n: u64 }
/// impl Mapper for Cols {
///     type Input<'a> = Csv<Row>; type Key = String; type Value = u64;
///     fn map(&mut self, Csv(r): Csv<Row>, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
///         out.emit(&r.k, r.n)
///     }
/// }
/// struct SumCols;
/// impl Job for SumCols { fn name(&self) -> &str { "sum_cols" } fn description(&self) -> &str { "" }
///   fn steps(&self) -> Vec<Step> { vec![Step::map(Cols).reduce(reducers::Sum::new())] } }
/// let file = |uri: &str, lines: &[&str]| FileLines {
///     uri: uri.into(),
///     lines: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
/// };
/// let files = [file("file:///a.csv", &["k,n", "a,1"]), file("file:///b.csv", &["n,k", "2,a", "3,b"])];
/// let params = JobParams::defaults(&SumCols);
/// let (out, _) = mr_core::testing::run_files_in_memory(&SumCols, params, &files).unwrap();
/// assert_eq!(out, ["\"a\"\t3", "\"b\"\t3"]);
/// ```
pub fn run_files_in_memory(
    job: &dyn Job,
    params: JobParams,
    files: &[FileLines],
) -> Result<(Vec<String>, Counters)> {
    run_input(job, params, Input::Files(files, usize::MAX))
}

/// Runs `job` in memory, `input` into its first step.
fn run_input(
    job: &dyn Job,
    params: JobParams,
    input: Input<'_>,
) -> Result<(Vec<String>, Counters)> {
    let params = Arc::new(params);
    let mut counters = Counters::default();
    let mut lines = Vec::new();
    for (i, step) in crate::job::steps_of(job, &params)?.iter().enumerate() {
        let input = if i == 0 { input } else { Input::Lines(&lines) };
        lines = run_step(step, i, input, &mut counters, &params)?;
    }
    let lines = lines
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect();
    Ok((lines, counters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Emitter, Json, Mapper, Step};
    use serde::Deserialize;

    /// Emits `x` per `k`: `X` is `f64` (a number the job needs) or
    /// `Option<f64>` (one it may lack).
    #[derive(Clone, Default)]
    struct EmitX<X>(std::marker::PhantomData<X>);
    #[derive(Deserialize)]
    struct Row<X> {
        k: String,
        x: X,
    }
    trait Number: for<'de> Deserialize<'de> + Clone + Send + Sync + 'static {
        fn value(self) -> f64;
    }
    impl Number for f64 {
        fn value(self) -> f64 {
            self
        }
    }
    impl Number for Option<f64> {
        fn value(self) -> f64 {
            self.unwrap_or(0.0)
        }
    }
    impl Number for serde_json::Value {
        fn value(self) -> f64 {
            self.as_f64().unwrap_or(0.0)
        }
    }
    impl<X: Number> Mapper for EmitX<X> {
        type Input<'a> = Json<Row<X>>;
        type Key = String;
        type Value = f64;
        fn map(
            &mut self,
            Json(r): Json<Row<X>>,
            out: &mut Emitter<String, f64>,
        ) -> Result<(), JobError> {
            out.emit(&r.k, r.x.value())
        }
    }
    struct SumJob<X>(std::marker::PhantomData<X>);
    impl<X: Number + Default> Job for SumJob<X> {
        fn name(&self) -> &str {
            "emit_x"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(EmitX::<X>::default()).into()]
        }
    }

    /// Python's NaN reads as null where the job's type takes null, and is
    /// counted; where it needs a number, or the line has other damage, the
    /// line fails with what is wrong once NaN is null, saying so.
    #[test]
    fn python_nan_is_null_where_a_job_takes_null() {
        let lines = [r#"{"k": "a", "x": NaN}"#, r#"{"k": "b", "x": 2.5}"#];
        let (out, c) = run_in_memory(&SumJob::<Option<f64>>(Default::default()), &lines).unwrap();
        assert_eq!(out, ["\"a\"\t0.0", "\"b\"\t2.5"]);
        let counted = format!("step 0: {}", crate::counters::READ_AS_NULL);
        assert_eq!(c.get(crate::counters::FRAMEWORK, &counted), 1);

        let e = run_in_memory(&SumJob::<f64>(Default::default()), &lines)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("<input>:1") && e.contains("expected f64") && e.contains("read as null"),
            "{e}"
        );

        // The line's other damage is named, not hidden behind its NaN.
        let big = [r#"{"k": "a", "x": 123456789012345678901234567890, "y": NaN}"#];
        let e = run_in_memory(&SumJob::<serde_json::Value>(Default::default()), &big)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not fit in 64 bits") && e.contains("read as null"),
            "{e}"
        );
    }
}
