//! A map task: split -> lines -> mapper -> emitter -> sort buffer (or, for a
//! map-only step, straight to a part file).

use crate::counters::{Counters, TaskStats};
use crate::emit::RecordSink;
use crate::error::{Error, Location, Result};
use crate::input::lines::{is_corrupt_data, line_number_at, open_split};
use crate::input::listing::{Compression, InputSource};
use crate::input::Split;
use crate::job::{RecordError, Step, TaskContext, TaskKind};
use crate::output::bad::{BadRecordPolicy, BadRecords};
use crate::output::part::PartWriter;
use crate::shuffle::buffer::SortBuffer;
use crate::shuffle::spill::Run;
use std::path::{Path, PathBuf};

/// What a map task needs from its runner.
pub(crate) struct MapEnv<'a> {
    pub step_index: usize,
    pub step: &'a Step,
    pub partitions: usize,
    pub buffer_bytes: usize,
    pub spill_dir: &'a Path,
    /// Spill files merged at once (see `SortBuffer::compact`).
    pub fan_in: usize,
    pub skip_bad: bool,
    pub bad_dir: &'a Path,
    /// Where to report input bytes read (first step only).
    pub progress: Option<&'a crate::runner::progress::Progress>,
    /// For a map-only step: the directory of this task's part file.
    pub part_dir: Option<&'a Path>,
    /// The columns to read from tables (Parquet), when the job says.
    pub columns: Option<&'a [String]>,
    /// The job's options, files and jobconf.
    pub params: &'a std::sync::Arc<crate::options::JobParams>,
}

/// What a map task leaves behind.
pub(crate) struct MapResult {
    /// Sorted runs per partition (empty for map-only steps).
    pub runs: Vec<Vec<Run>>,
    pub stats: TaskStats,
    pub counters: Counters,
    /// The part file written by a map-only step.
    pub part: Option<PathBuf>,
    pub bad: BadRecords,
}

/// Where a map task's records go.
enum Sink {
    /// Shuffled: partitioned, sorted, combined, spilled.
    Buffer(Box<SortBuffer>),
    /// A map-only step: straight into the part file.
    Part(PartWriter),
}

impl Sink {
    fn as_sink(&mut self) -> &mut dyn RecordSink {
        match self {
            Sink::Buffer(b) => &mut **b,
            Sink::Part(p) => p,
        }
    }
}

/// The input file as a URI, as Hadoop and mrjob give it to a task:
/// `file://` and the absolute path (`-` for stdin).
pub(crate) fn input_uri(source: &InputSource) -> String {
    match source {
        InputSource::Stdin => "-".to_string(),
        InputSource::Path(p) | InputSource::Stream(p) => {
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            format!("file://{}", abs.display())
        }
    }
}

/// Runs the step's mapper over one split.
pub(crate) fn run_map_task(env: &MapEnv<'_>, split: &Split) -> Result<MapResult> {
    crate::cancel::check()?;
    let ctx = TaskContext {
        step: env.step_index,
        kind: TaskKind::Map,
        task: split.index,
        input_file: Some(split.file.display.clone()),
        input_uri: Some(input_uri(&split.file.source)),
        partition: None,
        params: env.params.clone(),
    };
    let mut mapper = env.step.new_mapper();
    // A fold step's table and its sort buffer share the task's budget.
    let buffer_bytes = if env.step.folds {
        mapper.set_budget(env.buffer_bytes / 2);
        env.buffer_bytes / 2
    } else {
        env.buffer_bytes
    };
    mapper.init(&ctx).map_err(|e| {
        RecordError::Job(e.to_string()).in_hook(format!("step {} mapper init", env.step_index))
    })?;
    let mut counters = Counters::default();
    let mut stats = TaskStats {
        map_tasks: 1,
        ..TaskStats::default()
    };
    let mut bad = BadRecords::new(
        env.bad_dir
            .join(format!("map-{}-{:05}", env.step_index, split.index)),
    );
    let mut reader = open_split(split, env.columns)?;
    // A table's rows are JSON made from its pages: progress and throughput
    // count the bytes of the file, not of that JSON.
    let table = split.file.compression == Compression::Parquet;
    let path_for_errors = match &split.file.source {
        InputSource::Path(p) | InputSource::Stream(p) => Some(p.clone()),
        InputSource::Stdin => None,
    };
    crate::input::csv::begin_task(
        path_for_errors.as_deref(),
        split.start == 0 || split.file.compression.is_compressed(),
    );
    let first_offset = reader.position();
    let mut reported = first_offset;
    let mut lines_read = 0u64;
    let mut line_base: Option<u64> = reader.first_line();

    let mut policy = BadRecordPolicy::new(env.skip_bad);
    let mut sink = match env.part_dir {
        Some(dir) => Sink::Part(PartWriter::create(
            &dir.join(format!("part-{:05}", split.index)),
        )?),
        None => Sink::Buffer(Box::new(
            SortBuffer::new(
                env.step_index,
                env.partitions,
                buffer_bytes,
                env.step.sorts_values(),
                env.step.new_combiner(),
                env.step.folds,
                env.spill_dir.to_path_buf(),
            )
            .with_fan_in(env.fan_in),
        )),
    };
    loop {
        let next = match reader.next_line() {
            Ok(next) => next,
            Err(e) if is_corrupt_data(&e) => {
                // A log being written, or cut by a crash: the lines read so far
                // are good; the rest of the file is a bad record, kept with
                // the start of the line the damage cut.
                let location = Location::Line {
                    step: env.step_index,
                    file: split.file.display.clone(),
                    line: Some(lines_read + 1),
                    offset: Some(reader.position()),
                    in_split: None,
                };
                let reason = format!(
                    "corrupt or truncated compressed data after line {lines_read} \
                     (uncompressed byte {}): {e}; the rest of the file cannot be read",
                    reader.position()
                );
                let cut = reader.pending().to_vec();
                policy.reject(&mut bad, location, reason, &cut)?;
                break;
            }
            Err(e) => {
                return Err(Error::io(
                    "reading",
                    path_for_errors.clone().unwrap_or_else(|| "-".into()),
                    e,
                ))
            }
        };
        let Some((offset, line)) = next else { break };
        lines_read += 1;
        if lines_read.is_multiple_of(1024) {
            crate::cancel::check()?;
            if let Some(p) = env.progress {
                if !table {
                    p.add_bytes(offset - reported);
                }
                p.add_records(1024);
                reported = offset;
            }
        }
        stats.input_records += 1;
        let r = mapper.map_line(line, sink.as_sink(), &mut counters);
        let location = || Location::Line {
            step: env.step_index,
            file: split.file.display.clone(),
            line: match line_base {
                Some(base) => Some(base + lines_read - 1),
                None => path_for_errors.as_deref().and_then(|p| {
                    // Only on the error path: count the lines before the split.
                    let base = line_number_at(p, offset).ok()? - (lines_read - 1);
                    line_base = Some(base);
                    Some(base + lines_read - 1)
                }),
            },
            offset: Some(offset),
            in_split: None,
        };
        if policy.check(&mut bad, r, location, line)? == Some(false) {
            stats.blank_lines += 1;
        }
    }
    crate::input::csv::end_task();
    stats.input_bytes = if table {
        split.len()
    } else {
        reader.position().saturating_sub(first_offset)
    };
    if let Some(p) = env.progress {
        p.add_bytes(if table {
            split.len()
        } else {
            reader.position().saturating_sub(reported)
        });
        p.add_records(lines_read % 1024);
    }
    mapper.finish(sink.as_sink(), &mut counters).map_err(|e| {
        e.in_hook(format!(
            "step {} mapper final ({})",
            env.step_index, split.file.display
        ))
    })?;
    stats.skipped_records += policy.skipped;
    let (combined_in, combined_out) = mapper.combined();
    stats.combine_input_records += combined_in;
    stats.combine_output_records += combined_out;
    let (runs, part) = match sink {
        Sink::Buffer(b) => {
            let (runs, bstats, ccounters) = b.finish()?;
            stats.add(&bstats);
            counters.merge(&ccounters);
            (runs, None)
        }
        Sink::Part(p) => {
            let (path, records, bytes) = p.finish()?;
            stats.map_output_records += records;
            stats.output_records += records;
            stats.output_bytes += bytes;
            (Vec::new(), Some(path))
        }
    };
    bad.finish()?;
    Ok(MapResult {
        runs,
        stats,
        counters,
        part,
        bad,
    })
}
