//! Helpers for testing jobs: run a mapper on a few lines, or a whole job in
//! memory with the plainest possible semantics (the reference the engine is
//! tested against).

use crate::counters::Counters;
use crate::emit::{EmitBuffers, Emitter, RecordSink, VecSink};
use crate::error::{Error, JobError, Result};
use crate::job::{Job, RecordError, SliceValues, Step, TaskContext};
use crate::protocol::{sortable_value, write_record};
use serde::Serialize;
use std::collections::BTreeMap;

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

fn record_error(e: RecordError, what: &str) -> Error {
    match e {
        RecordError::Fatal(e) => e,
        RecordError::Decode(m) | RecordError::Job(m) => Error::Hook {
            hook: what.to_string(),
            reason: m,
        },
    }
}

/// Runs one step in memory: every line through a fresh mapper, all values of
/// a key to one reducer call, no combiner. Returns output lines.
fn run_step(
    step: &Step,
    step_index: usize,
    lines: &[Vec<u8>],
    counters: &mut Counters,
) -> Result<Vec<Vec<u8>>> {
    let mut mapper = step.new_mapper();
    let ctx = TaskContext {
        step: step_index,
        ..TaskContext::default()
    };
    mapper.init(&ctx).map_err(|e| Error::Hook {
        hook: "mapper init".into(),
        reason: e.to_string(),
    })?;
    let mut mapped = VecSink::default();
    for line in lines {
        mapper
            .map_line(line, &mut mapped, counters)
            .map_err(|e| record_error(e, "mapper"))?;
    }
    mapper
        .finish(&mut mapped, counters)
        .map_err(|e| record_error(e, "mapper final"))?;
    let mut out = Vec::new();
    let Some(mut reducer) = step.new_reducer() else {
        for (k, v) in mapped.records {
            let mut line = Vec::new();
            write_record(&mut line, &k, &v);
            line.pop();
            out.push(line);
        }
        return Ok(out);
    };
    let mut groups: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for (k, v) in mapped.records {
        groups.entry(k).or_default().push(v);
    }
    reducer.init(&ctx).map_err(|e| Error::Hook {
        hook: "reducer init".into(),
        reason: e.to_string(),
    })?;
    let mut sink = VecSink::default();
    for (k, mut vs) in groups {
        if step.sorts_values() {
            vs.sort_by_cached_key(|v| {
                let mut s = Vec::new();
                let _ = sortable_value(v, &mut s);
                s
            });
        }
        let mut stream = SliceValues(vs.iter().map(Vec::as_slice));
        reducer
            .reduce(&k, &mut stream, &mut sink as &mut dyn RecordSink, counters)
            .map_err(|e| record_error(e, "reducer"))?;
    }
    reducer
        .finish(&mut sink, counters)
        .map_err(|e| record_error(e, "reducer final"))?;
    for (k, v) in sink.records {
        let mut line = Vec::new();
        write_record(&mut line, &k, &v);
        line.pop();
        out.push(line);
    }
    Ok(out)
}

/// Runs a whole job in memory on the given input lines and returns its output
/// lines (`key TAB value`), with the job's counters. The reference semantics:
/// one mapper, no combiner, keys in byte order, values in input order (or
/// sorted, if the step sorts values).
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
    let mut counters = Counters::default();
    let mut lines: Vec<Vec<u8>> = input.iter().map(|l| l.as_ref().to_vec()).collect();
    for (i, step) in job.steps().iter().enumerate() {
        lines = run_step(step, i, &lines, &mut counters)?;
    }
    let lines = lines
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect();
    Ok((lines, counters))
}
