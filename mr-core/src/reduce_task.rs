//! A reduce task: one partition's runs -> merge -> key groups -> reducer ->
//! part file.

use crate::counters::{Counters, TaskStats};
use crate::emit::RecordSink;
use crate::error::{snippet, Error, Location, Result};
use crate::job::{RecordError, Step, TaskContext, TaskKind};
use crate::output::bad::BadRecords;
use crate::output::part::PartWriter;
use crate::shuffle::merge::{merge_down, Grouped};
use crate::shuffle::spill::Run;
use std::path::{Path, PathBuf};

/// What a reduce task needs from its runner.
pub(crate) struct ReduceEnv<'a> {
    pub step_index: usize,
    pub step: &'a Step,
    pub fan_in: usize,
    pub spill_dir: &'a Path,
    pub skip_bad: bool,
    pub bad_dir: &'a Path,
}

/// What a reduce task leaves behind.
pub(crate) struct ReduceResult {
    pub part: PathBuf,
    pub stats: TaskStats,
    pub counters: Counters,
    pub bad: BadRecords,
}

/// Reduces one partition into `part_path`.
pub(crate) fn run_reduce_task(
    env: &ReduceEnv<'_>,
    partition: usize,
    runs: Vec<Run>,
    part_path: &Path,
) -> Result<ReduceResult> {
    let ctx = TaskContext {
        step: env.step_index,
        kind: TaskKind::Reduce,
        task: partition,
        input_file: None,
        partition: Some(partition),
    };
    let mut reducer = env
        .step
        .new_reducer()
        .ok_or_else(|| Error::Internal("reduce task for a map-only step".into()))?;
    reducer.init(&ctx).map_err(|e| Error::Hook {
        hook: format!("step {} reducer init", env.step_index),
        reason: e.to_string(),
    })?;
    let mut stats = TaskStats::default();
    let mut counters = Counters::default();
    let mut bad = BadRecords::new(
        env.bad_dir
            .join(format!("reduce-{}-{:05}", env.step_index, partition)),
    );
    let (runs, passes) = merge_down(runs, env.fan_in, env.spill_dir)?;
    stats.merge_passes += passes;
    let mut groups = Grouped::new(&runs)?;
    let mut out = PartWriter::create(part_path)?;
    let mut key = Vec::new();
    let mut skipped_values = Vec::new();
    while groups.next_key(&mut key)? {
        stats.reduce_groups += 1;
        if stats.reduce_groups.is_multiple_of(1024) {
            crate::cancel::check()?;
        }
        let sink: &mut dyn RecordSink = &mut out;
        let r = if env.skip_bad {
            skipped_values.clear();
            let r = reducer.reduce_skipping(
                &key,
                &mut groups,
                sink,
                &mut counters,
                &mut skipped_values,
            );
            for (value, reason) in &skipped_values {
                let location = Location::Key {
                    step: env.step_index,
                    key: snippet(&key),
                };
                stats.skipped_records += 1;
                let mut record = key.clone();
                record.push(b'\t');
                record.extend_from_slice(value);
                bad.add(&location, reason, &record)?;
            }
            r
        } else {
            reducer.reduce(&key, &mut groups, sink, &mut counters)
        };
        match r {
            Ok(()) => {}
            Err(RecordError::Fatal(e)) => return Err(e),
            Err(RecordError::Decode(reason)) | Err(RecordError::Job(reason)) => {
                let location = Location::Key {
                    step: env.step_index,
                    key: snippet(&key),
                };
                if !env.skip_bad {
                    return Err(Error::BadRecord {
                        location,
                        reason,
                        snippet: snippet(&key),
                    });
                }
                stats.skipped_records += 1;
                bad.add(&location, &reason, &key)?;
            }
        }
    }
    stats.reduce_input_records += groups.values_read;
    let sink: &mut dyn RecordSink = &mut out;
    match reducer.finish(sink, &mut counters) {
        Ok(()) => {}
        Err(RecordError::Fatal(e)) => return Err(e),
        Err(RecordError::Decode(m)) | Err(RecordError::Job(m)) => {
            return Err(Error::Hook {
                hook: format!("step {} reducer final", env.step_index),
                reason: m,
            })
        }
    }
    drop(groups);
    drop(runs);
    let (part, records, bytes) = out.finish()?;
    stats.output_records += records;
    stats.output_bytes += bytes;
    bad.finish()?;
    Ok(ReduceResult {
        part,
        stats,
        counters,
        bad,
    })
}
