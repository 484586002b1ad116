//! A reduce task: one partition's runs -> merge -> key groups -> reducer ->
//! part file.

use crate::counters::{Counters, TaskStats};
use crate::error::{Error, Result};
use crate::job::{RecordError, Step, TaskContext, TaskKind};
use crate::output::bad::{BadRecordPolicy, BadRecords};
use crate::output::part::PartWriter;
use crate::shuffle::merge::{Grouped, merge_down};
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
    /// The job's options, files and jobconf.
    pub params: &'a std::sync::Arc<crate::options::JobParams>,
}

/// What a reduce task leaves behind.
pub(crate) struct ReduceResult {
    pub part: PathBuf,
    pub stats: TaskStats,
    pub counters: Counters,
    pub bad: BadRecords,
    /// Bytes of the sorted runs it merged.
    pub input_bytes: u64,
    /// Time spent merging runs down to one pass, before reducing.
    pub merge_time: std::time::Duration,
    /// The keys with the most values.
    pub heavy_keys: Vec<(String, u64)>,
}

/// Reduces one partition into `part_path`.
pub(crate) fn run_reduce_task(
    env: &ReduceEnv<'_>,
    partition: usize,
    runs: Vec<Run>,
    part_path: &Path,
) -> Result<ReduceResult> {
    crate::cancel::check()?;
    let ctx = TaskContext {
        step: env.step_index,
        kind: TaskKind::Reduce,
        task: partition,
        input_file: None,
        input_uri: None,
        partition: Some(partition),
        params: env.params.clone(),
    };
    let mut reducer = env
        .step
        .new_reducer()
        .ok_or_else(|| Error::Internal("reduce task for a map-only step".into()))?;
    reducer.init(&ctx).map_err(|e| {
        RecordError::Job(e.to_string()).in_hook(format!("step {} reducer init", env.step_index))
    })?;
    let mut stats = TaskStats::default();
    let mut counters = Counters::default();
    let mut bad = BadRecords::new(
        env.bad_dir
            .join(format!("reduce-{}-{:05}", env.step_index, partition)),
    );
    let input_bytes = runs.iter().map(Run::bytes).sum();
    let merge_started = std::time::Instant::now();
    let (runs, passes) = merge_down(runs, env.fan_in, env.spill_dir)?;
    let merge_time = merge_started.elapsed();
    let mut heavy = crate::runner::timeline::HeavyKeys::default();
    stats.merge_passes += passes;
    let mut groups = Grouped::new(&runs)?;
    let mut out = PartWriter::create(part_path)?;
    let mut key = Vec::new();
    let mut policy = BadRecordPolicy::new(env.skip_bad);
    while groups.next_key(&mut key)? {
        stats.reduce_groups += 1;
        if stats.reduce_groups.is_multiple_of(1024) {
            crate::cancel::check()?;
        }
        let values_before = groups.values_read;
        policy.reduce_key(
            crate::job::TaskKind::Reduce,
            &mut bad,
            env.step_index,
            &mut *reducer,
            &key,
            &mut groups,
            &mut out,
            &mut counters,
        )?;
        heavy.offer(&key, groups.values_read - values_before);
    }
    stats.skipped_records += policy.skipped;
    stats.reduce_input_records += groups.values_read;
    reducer
        .finish(&mut out, &mut counters)
        .map_err(|e| e.in_hook(format!("step {} reducer final", env.step_index)))?;
    drop(groups);
    drop(runs);
    let (part, records, bytes) = out.finish()?;
    stats.output_records += records;
    stats.output_bytes += bytes;
    bad.finish()?;
    Ok(ReduceResult {
        part,
        stats,
        input_bytes,
        merge_time,
        heavy_keys: heavy.into_vec(),
        counters,
        bad,
    })
}
