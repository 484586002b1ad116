//! The local runner: every step of a job, in parallel, in this process.
//!
//! 1. list the inputs (a missing one is an error before any work);
//! 2. for each step: cut the input into splits; run map tasks on `jobs`
//!    threads, each with `sort_buffer / jobs` bytes of buffer; then reduce the
//!    partitions in parallel, each a k-way merge of its runs; the step's part
//!    files are the next step's input;
//! 3. commit the output directory (or stream the parts to stdout in key
//!    order), and sum the counters.
//!
//! All temporary files live in one directory under `tmp_dir`, removed at the
//! end whether the job succeeded or not.

use crate::config::{CutStreams, Output, RunConfig};
use crate::counters::{Counters, TaskStats};
use crate::error::{Error, Result};
use crate::input::listing::{Compression, InputSource};
use crate::input::pieces;
use crate::input::split::{self, pack, whole_files};
use crate::input::{InputFile, Split, list_inputs, make_splits};
use crate::job::Job;
use crate::map_task::{Carry, MapEnv, MapInput, drain_carried, run_map_task};
use crate::output::commit::{BAD_RECORDS, OutputDir};
use crate::output::protocol::ProtocolWriter;
use crate::output::stdout::{concat_parts, merge_parts};
use crate::reduce_task::{ReduceEnv, run_reduce_task};
use crate::runner::limits;
use crate::runner::progress::Phase;
use crate::runner::schedule::{Cut, each_map_task, each_task, split_cost};
use crate::runner::timeline::{PartitionRecord, PhaseRecord, TaskRecord, Timeline};
use crate::runner::workdir::WorkDir;
use crate::shuffle::spill::Run;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct JobReport {
    /// The framework's counters (group `mr`) and the job's.
    pub counters: Counters,
    /// The output directory, when results went to one.
    pub output_dir: Option<PathBuf>,
    /// Records skipped under `skip_bad_records`.
    pub skipped_records: u64,
    /// Files holding the skipped records: moved into the output directory
    /// when there is one, else into [`RunConfig::bad_records_dir`] when
    /// given; none when they were printed on stderr.
    pub bad_record_files: Vec<PathBuf>,
    /// Wall time.
    pub elapsed: Duration,
    /// Per step: sort-buffer spills (beyond the one at each task's end).
    pub spills: Vec<u64>,
    /// Wall time of each phase of each step.
    pub phases: Vec<PhaseRecord>,
    /// Every task: thread, start and end, bytes and records.
    pub tasks: Vec<TaskRecord>,
    /// Every reduce partition: size and heaviest keys.
    pub partitions: Vec<PartitionRecord>,
    /// The process's peak resident memory when the run ended (see
    /// [`peak_memory_bytes`]); `None` where the system does not say, or
    /// for a run on a cluster.
    pub peak_memory: Option<u64>,
}

/// The process's peak resident set size (`VmHWM` in /proc/self/status),
/// where the system tells it.
///
/// ```
/// # #[cfg(target_os = "linux")]
/// assert!(mr_core::runner::local::peak_memory_bytes().unwrap() > 0);
/// ```
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `job` as configured, writing results to the configured output
/// (stdout results go to `stdout`).
///
/// The job's options start from their defaults and its own jobconf
/// ([`crate::JobParams::with_defaults_of`]), as `mr run` gives them, and are
/// checked ([`crate::JobParams::check_options`]: a required option not set
/// is an [`Error::Config`]). A run that would merge more files at once than
/// the process's soft limit of open files allows raises that limit to the
/// hard one ([`limits::open_files_limit_for`]), and leaves it so.
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
/// #   fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).combine(Sum).reduce(Sum)] } }
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("in.txt"), "b\na\nb\n").unwrap();
/// let cfg = RunConfig { inputs: vec![dir.path().display().to_string()], ..Default::default() };
/// let mut out = Vec::new();
/// run_job(&Count, &cfg, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "\"a\"\t1\n\"b\"\t2\n");
/// ```
pub fn run_job(job: &dyn Job, cfg: &RunConfig, stdout: &mut dyn Write) -> Result<JobReport> {
    // Job code that exits the process is said and cleaned up after.
    let _under_way = crate::cancel::guard_exit();
    // The job's option defaults and own jobconf, as `mr run` gives them: a
    // caller's `RunConfig::default()` has none (a job's default option was
    // "not set", and mr_wc's one reducer not asked for: probe
    // /tmp/probe19-api repro 01).
    let params = std::sync::Arc::new(cfg.params.as_ref().clone().with_defaults_of(job));
    params.check_options(job).map_err(Error::Config)?;
    let partitions = match cfg.partitions {
        0 => reducers_in_jobconf(job, &params)?,
        n => n,
    };
    if *params == *cfg.params && partitions == cfg.partitions {
        return run_configured(job, cfg, stdout);
    }
    let with_defaults = RunConfig {
        params: params.clone(),
        partitions,
        ..cfg.clone()
    };
    let report = run_configured(job, &with_defaults, stdout);
    // Keys read are the caller's to see (unread `-D` keys are warned of).
    cfg.params.note_read(params.read_keys());
    report
}

/// The reducers the jobconf asks for (`mapreduce.job.reduces`, or its old
/// name, as a task reads it: set by the caller, else the job's own), as
/// `mr run` takes them when no partitions are set; 0 (one a worker) when
/// none. No reducers for a job that reduces is refused, as on every runner.
fn reducers_in_jobconf(job: &dyn Job, params: &std::sync::Arc<crate::JobParams>) -> Result<usize> {
    let key = "mapreduce.job.reduces";
    let task = crate::TaskContext {
        params: params.clone(),
        ..crate::TaskContext::default()
    };
    let Some(n) = task.jobconf(key) else {
        return Ok(0);
    };
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| Error::Config(format!("jobconf {key}={n}: not a number")))?;
    if n == 0
        && crate::job::steps_of(job, params)?
            .iter()
            .any(|s| s.has_reducer())
    {
        return Err(Error::Config(format!(
            "jobconf {key}=0 asks for no reducers (map-only), but job {} reduces",
            job.name()
        )));
    }
    Ok(n)
}

/// Moves the skipped records' `files` into `dir` (made if missing), none
/// of them over a file already there; returns where they are now.
fn keep_bad_records(files: &[PathBuf], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    let moves = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| (f, dir.join(n))))
        .collect::<Vec<_>>();
    let exists = |to: &Path| {
        Error::Config(format!(
            "{} already exists: skipped records are never written over a file (give an \
             empty bad_records_dir)",
            to.display()
        ))
    };
    if let Some((_, there)) = moves.iter().find(|(_, to)| to.symlink_metadata().is_ok()) {
        return Err(exists(there));
    }
    for (from, to) in &moves {
        // Linked, or copied to a file created new (another file system):
        // never over a file made there meanwhile. The temp dir's copy goes
        // with the temp dir.
        match std::fs::hard_link(from, to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(to)),
            Err(_) => {
                let copied = std::fs::File::create_new(to).and_then(|mut w| {
                    std::io::copy(&mut std::fs::File::open(from)?, &mut w)?;
                    w.sync_all()
                });
                copied.map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => exists(to),
                    _ => Error::io("copying skipped records to", to, e),
                })?;
            }
        }
    }
    Ok(moves.into_iter().map(|(_, to)| to).collect())
}

/// [`run_job`], its params complete.
fn run_configured(job: &dyn Job, cfg: &RunConfig, stdout: &mut dyn Write) -> Result<JobReport> {
    let started = Instant::now();
    cfg.validate()?;
    let steps = crate::job::steps_of(job, &cfg.params)?;
    if steps.is_empty() {
        return Err(Error::Config(format!("job {} has no steps", job.name())));
    }
    crate::job::check_whole_files(job.name(), &steps)?;
    let categorical = job.categorical_columns();
    let ids = categorical_ids(job, &categorical, cfg)?;
    let inputs = list_inputs(&cfg.inputs)?;
    check_store_holds_no_input(&ids, &inputs)?;
    check_no_table_of_ids(&categorical, &inputs)?;
    let first_input = inputs.first().cloned();
    // What the removal of dead runs' leftovers must leave in place.
    let reading = crate::input::listing::reading(&inputs);
    let output_dir = match &cfg.output {
        Output::Dir { path, overwrite } => {
            check_output_not_input(path, &inputs)?;
            check_tmp_not_in_output(path, cfg.tmp_dir.as_deref())?;
            Some(OutputDir::create_writing(
                path,
                *overwrite,
                cfg.report.as_deref(),
                &reading,
            )?)
        }
        Output::Stdout => None,
    };
    let tmp_root = match &cfg.tmp_dir {
        Some(d) => d.clone(),
        None => super::workdir::default_root()?,
    };
    // A run that cannot stop by itself after a signal (blocked on stdout)
    // is ended by the binary's watchdog, which removes this and the output's
    // staging directory first (each is listed for it until removed).
    let work = WorkDir::create(&tmp_root, "mr-job-", &reading)?;
    let threads = cfg.threads();
    let limit = limits::open_files_limit_for(limits::files_to_merge(cfg.merge_fan_in, threads));
    let fan_in = limits::fan_in(cfg.merge_fan_in, threads, limit)?;
    let fan_in = limits::fan_in_for_memory(fan_in, threads);
    let mut pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("mr-worker-{i}"));
    if let Some(bytes) = limits::worker_stack_bytes() {
        pool = pool.stack_size(bytes);
    }
    let pool = pool.build().map_err(|e| Error::NoThread {
        what: "starting the worker threads",
        source: std::io::Error::other(e),
    })?;

    let bad_dir = match &output_dir {
        Some(o) => o.temporary().join(BAD_RECORDS),
        None => work.path().join(BAD_RECORDS),
    };
    let mut counters = Counters::default();
    let mut report = JobReport {
        counters: Counters::default(),
        output_dir: None,
        skipped_records: 0,
        bad_record_files: Vec::new(),
        elapsed: Duration::ZERO,
        spills: Vec::new(),
        phases: Vec::new(),
        tasks: Vec::new(),
        partitions: Vec::new(),
        peak_memory: None,
    };
    let columns = job.input_columns();
    let direct = cfg.output_format == crate::output::OutputFormat::Lines && categorical.is_empty();
    let mut tl = Timeline::new(started);
    // Parquet inputs, asked after the first map if it gave nothing: tables
    // of ids read by a job that wants the values.
    let parquet_inputs: Vec<InputFile> = inputs
        .iter()
        .filter(|f| f.compression == crate::input::listing::Compression::Parquet)
        .cloned()
        .collect();
    let mut step_inputs = inputs;
    let mut final_parts = Vec::new();
    // The first task that fails stops the others at their next check.
    let run = crate::cancel::RunFlag::new();
    for (i, step) in steps.iter().enumerate() {
        crate::cancel::check()?;
        let last = i + 1 == steps.len();
        let out_dir = match (&output_dir, last) {
            // Line parts go straight into the output; other formats, and
            // outputs with categorical columns, are made from them at the end.
            (Some(o), true) if direct => o.temporary(),
            _ => {
                let d = work.path().join(format!("step-{i}"));
                std::fs::create_dir_all(&d).map_err(|e| Error::io("creating", &d, e))?;
                d
            }
        };
        let spill_dir = work.path().join(format!("spill-{i}"));
        std::fs::create_dir_all(&spill_dir).map_err(|e| Error::io("creating", &spill_dir, e))?;
        // A mapper that reads whole files gets one file a task.
        let whole = step.reads_whole_files() && !step_inputs.is_empty();
        let mut splits = if whole {
            whole_files(stdin_saved(std::mem::take(&mut step_inputs), work.path())?)
        } else {
            let split_size = bounded_split_size(cfg.chunk_size, &step_inputs, i);
            tail_cut(
                make_splits(std::mem::take(&mut step_inputs), split_size),
                threads,
            )
        };
        if splits.is_empty() {
            // Every step runs at least one map task, as mrjob and Hadoop do:
            // a mapper's final hook (a count of nothing) still runs.
            let first = first_input.as_ref().filter(|_| i == 0);
            splits.push(empty_split(work.path(), i, first)?);
        }
        // Small files are packed into tasks of many (not a mapper reading
        // whole files: its task is its file).
        let tasks: Vec<Vec<Split>> = if whole {
            splits.into_iter().map(|s| vec![s]).collect()
        } else {
            let target = pack_bytes(&splits, cfg.chunk_size, threads);
            pack(splits, target)
        };
        let mut stats = TaskStats::default();

        let map_only = !step.has_reducer();
        let partitions = if map_only { 1 } else { cfg.partition_count() };
        if let Some(p) = &cfg.progress {
            p.start_phase(i, steps.len(), Phase::Map, tasks.len() as u64);
            if i == 0 {
                p.set_bytes_total(
                    tasks
                        .iter()
                        .flatten()
                        .map(|s| s.end.min(s.file.size).saturating_sub(s.start))
                        .sum(),
                    tasks
                        .iter()
                        .flatten()
                        .any(|s| s.file.compression.is_compressed() || s.file.source.is_stream()),
                );
            }
        }
        let map_started = tl.now();
        // The line limit is on the user's lines; later steps read records
        // the job wrote, whatever their length.
        let max_line = if i == 0 {
            cfg.max_line_bytes
        } else {
            usize::MAX
        };
        // A fold step's tables go from task to task on each thread.
        let carry = (step.folds && !map_only).then(|| Carry::new(threads));
        let env = MapEnv {
            carry: carry.as_ref(),
            step_index: i,
            step,
            progress: if i == 0 {
                cfg.progress.as_deref()
            } else {
                None
            },
            partitions,
            buffer_bytes: (cfg.sort_buffer_bytes / threads as u64).max(1024) as usize,
            spill_dir: &spill_dir,
            fan_in,
            skip_bad: cfg.skip_bad_records,
            bad_dir: &bad_dir,
            // Map-only: one part per split, in input order.
            part_dir: map_only.then_some(out_dir.as_path()),
            columns: if i == 0 { columns.as_deref() } else { None },
            params: &cfg.params,
            max_line,
        };
        // A stream (a compressed file, stdin) is cut into pieces for several
        // map tasks; not for a map-only step, whose parts are one per split.
        let always = cfg.cut_streams == CutStreams::Always;
        let cut = (!map_only && !whole && cfg.cut_streams != CutStreams::Never).then(|| Cut {
            piece_bytes: pieces::piece_bytes(threads, cfg.chunk_size, always),
            always,
            max_line,
        });
        // A task's number names its part file and its bad-records file
        // (part-00000, part-00001... in input order).
        let map_results = each_map_task(&pool, cfg.inline, &run, tasks, cut, |task, s, input| {
            // Tiny splits may never reach the task's own checks.
            crate::cancel::check()?;
            let start = tl.now();
            let piece_index = match &input {
                MapInput::Piece(p) => Some(p.index),
                _ => None,
            };
            let input = if whole { MapInput::WholeFile } else { input };
            let r = run_map_task(&env, task, s, input);
            if let Some(p) = &cfg.progress {
                // A split counts as done with its first task.
                if piece_index.unwrap_or(0) == 0 {
                    p.task_done();
                }
                if let Ok(r) = &r {
                    p.add_spills(r.stats.spills);
                }
            }
            let (end, thread) = (tl.now(), rayon::current_thread_index().unwrap_or(0));
            r.map(|mut r| {
                let rest = r.rest.take();
                let rec = TaskRecord {
                    step: i,
                    phase: "map",
                    task,
                    piece: piece_index,
                    thread,
                    start,
                    end,
                    merge_end: None,
                    input_bytes: r.stats.input_bytes,
                    records_in: r.stats.input_records,
                    records_out: r.stats.map_output_records,
                    spills: r.stats.spills,
                };
                ((r, rec), rest)
            })
        })?;
        // What the tables hold at the end, flushed as a task's end would.
        let left = carry.as_ref().map(Carry::take_all).unwrap_or_default();
        let drained = pool.install(|| {
            use rayon::prelude::*;
            let drain = |t| drain_carried(&env, t);
            left.into_par_iter().map(drain).collect::<Result<Vec<_>>>()
        })?;
        tl.phase(i, "map", map_started);
        let mut by_partition: Vec<Vec<Run>> = vec![Vec::new(); partitions];
        let mut parts = Vec::new();
        for (r, rec) in map_results {
            tl.tasks.push(rec);
            stats.add(&r.stats);
            counters.merge(&r.counters);
            report
                .bad_record_files
                .extend(r.bad.path().map(Path::to_path_buf));
            parts.extend(r.part);
            for (p, runs) in r.runs.into_iter().enumerate() {
                by_partition[p].extend(runs);
            }
        }
        // The tables' runs after the tasks'.
        for (runs, task_stats, task_counters) in drained {
            stats.add(&task_stats);
            counters.merge(&task_counters);
            for (p, runs) in runs.into_iter().enumerate() {
                by_partition[p].extend(runs);
            }
        }
        if i == 0
            && stats.input_records > 0
            && stats.map_output_records == 0
            && !warn_of_tables_of_ids(&parquet_inputs, stats.input_records)
        {
            warn_of_records_left_out(&counters, stats.input_records);
        }
        if !map_only {
            if let Some(p) = &cfg.progress {
                p.start_phase(i, steps.len(), Phase::Reduce, partitions as u64);
            }
            let reduce_started = tl.now();
            let env = ReduceEnv {
                step_index: i,
                step,
                fan_in,
                spill_dir: &spill_dir,
                skip_bad: cfg.skip_bad_records,
                bad_dir: &bad_dir,
                params: &cfg.params,
            };
            let tasks: Vec<_> = by_partition.into_iter().enumerate().collect();
            let results = each_task(
                &pool,
                cfg.inline,
                &run,
                tasks,
                |(_, runs)| runs.iter().map(Run::bytes).sum(),
                |(p, runs)| {
                    let start = tl.now();
                    let r = run_reduce_task(&env, p, runs, &out_dir.join(format!("part-{p:05}")));
                    if let Some(p) = &cfg.progress {
                        p.task_done();
                    }
                    let (end, thread) = (tl.now(), rayon::current_thread_index().unwrap_or(0));
                    r.map(|r| {
                        let rec = TaskRecord {
                            step: i,
                            phase: "reduce",
                            task: p,
                            piece: None,
                            thread,
                            start,
                            end,
                            merge_end: Some(start + r.merge_time.as_secs_f64()),
                            input_bytes: r.input_bytes,
                            records_in: r.stats.reduce_input_records,
                            records_out: r.stats.output_records,
                            spills: 0,
                        };
                        (r, rec)
                    })
                },
            )?;
            let reduce_wall = (tl.now() - reduce_started).max(0.0);
            let (mut merging, mut total) = (0.0, 0.0);
            for (r, rec) in results {
                merging += r.merge_time.as_secs_f64();
                total += rec.end - rec.start;
                tl.partitions.push(PartitionRecord {
                    step: i,
                    partition: rec.task,
                    bytes: r.input_bytes,
                    records: r.stats.reduce_input_records,
                    heavy_keys: r.heavy_keys.clone(),
                });
                tl.tasks.push(rec);
                stats.add(&r.stats);
                counters.merge(&r.counters);
                report
                    .bad_record_files
                    .extend(r.bad.path().map(Path::to_path_buf));
                parts.push(r.part);
            }
            // Merging and reducing share the reduce tasks: split the phase's
            // wall time by the tasks' time in each.
            let merge_share = if total > 0.0 { merging / total } else { 0.0 };
            tl.phases.push(PhaseRecord {
                step: i,
                phase: "merge",
                secs: reduce_wall * merge_share,
            });
            tl.phases.push(PhaseRecord {
                step: i,
                phase: "reduce",
                secs: reduce_wall * (1.0 - merge_share),
            });
        }
        stats.export(i, &mut counters);
        if let Some(reason) = counters.too_many() {
            return Err(Error::TooManyCounters { step: i, reason });
        }
        report.skipped_records += stats.skipped_records;
        report.spills.push(stats.spills);
        // Spill files of this step are gone once their runs are dropped;
        // remove the (now empty) directory.
        let _ = std::fs::remove_dir_all(&spill_dir);
        if last {
            final_parts = parts;
        } else {
            step_inputs = part_inputs(&parts, i)?;
        }
    }

    crate::cancel::check()?;
    if let Some(p) = &cfg.progress {
        p.start_phase(steps.len() - 1, steps.len(), Phase::Output, 1);
    }
    let protocol = cfg.output_protocol.unwrap_or_else(|| job.output_protocol());
    let output_started = tl.now();
    match output_dir {
        Some(o) => {
            match &cfg.output_format {
                #[cfg(feature = "parquet")]
                crate::output::OutputFormat::Parquet(opts) if !categorical.is_empty() => {
                    let declared = crate::output::parquet::Declared::of(job, &categorical);
                    write_categorical_table(
                        &categorical,
                        &final_parts,
                        &o.temporary(),
                        &ids,
                        (opts, &declared),
                        (&pool, threads),
                        &mut counters,
                    )?;
                }
                // No categorical column (with them, the arm above; a build
                // without Parquet says so here, before any work on ids).
                crate::output::OutputFormat::Parquet(opts) => {
                    let declared = crate::output::parquet::Declared::of(job, &categorical);
                    crate::output::parquet::write_parts(
                        &final_parts,
                        &o.temporary(),
                        opts,
                        &declared,
                        &pool,
                    )?;
                }
                // The output protocol is for line output; a table takes the
                // records as JSON.
                crate::output::OutputFormat::Lines => {
                    if !categorical.is_empty() {
                        final_parts = encode_categorical(
                            &categorical,
                            &final_parts,
                            &o.temporary().join(crate::categorical::DICTIONARIES),
                            &ids,
                            cfg,
                            work.path(),
                            &mut counters,
                        )?;
                    }
                    let mut mangled = 0;
                    for part in &final_parts {
                        mangled += protocol.rewrite_file(part)?;
                    }
                    count_mangled(&mut counters, steps.len() - 1, mangled);
                    if !direct {
                        for p in &final_parts {
                            if let Some(name) = p.file_name() {
                                let to = o.temporary().join(name);
                                move_file(p, &to)
                                    .map_err(|e| Error::io("moving into place", &to, e))?;
                            }
                        }
                    }
                }
            }
            // The output's bytes as its files hold them: an output protocol
            // other than JSON, or Parquet, writes other bytes than the JSON
            // records counted (url_views' raw-value output was said to be
            // 59.8 kB for 1,875 B: probe /tmp/probe3-report repros 04, 05).
            crate::output::commit::count_written(&mut counters, steps.len() - 1, &o.temporary());
            // A forced exit waits for the commit to end.
            let dir = crate::cancel::critical(|| o.commit())?;
            report.bad_record_files = report
                .bad_record_files
                .iter()
                .filter_map(|p| p.file_name().map(|n| dir.join(BAD_RECORDS).join(n)))
                .collect();
            report.output_dir = Some(dir);
        }
        None => {
            // No output directory to keep them in: skipped records go to
            // stderr, whole, before the results (stdout closed early by its
            // reader, as with `| head`, is no error, and lost them), and a
            // failure to write them fails the run (a broken pipe there was
            // taken for stdout's: probe /tmp/probe10-safety repro 01).
            if let Some(keep) = &cfg.bad_records_dir {
                // A caller of the library gets them back (they went to the
                // process's stderr, then were removed with the temp dir:
                // probe /tmp/probe19-api repro 04).
                report.bad_record_files = keep_bad_records(&report.bad_record_files, keep)?;
            } else if !report.bad_record_files.is_empty() {
                let mut err = std::io::stderr().lock();
                writeln!(
                    err,
                    "mr: {} bad record{} skipped; each below as: JSON location<TAB>record",
                    report.skipped_records,
                    if report.skipped_records == 1 { "" } else { "s" }
                )
                .map_err(stderr_failed)?;
                if err.is_terminal() {
                    // On screen, a record's escape sequences would be run
                    // by the terminal: shown escaped (redirected, kept whole).
                    show_escaped(&report.bad_record_files, &mut err)?;
                } else {
                    concat_parts(&report.bad_record_files, &mut err).map_err(|e| match e {
                        Error::Stdout(e) => stderr_failed(e),
                        e => e,
                    })?;
                }
                err.flush().map_err(stderr_failed)?;
                report.bad_record_files.clear();
            }
            let last = steps.last().is_some_and(|s| s.has_reducer());
            let mut stdout = ProtocolWriter::new(protocol, stdout);
            if last {
                merge_parts(&final_parts, &mut stdout)?;
            } else {
                concat_parts(&final_parts, &mut stdout)?;
            }
            stdout.flush().map_err(Error::Stdout)?;
            count_mangled(&mut counters, steps.len() - 1, stdout.mangled());
        }
    }
    tl.phase(steps.len() - 1, "output", output_started);
    report.counters = counters;
    report.elapsed = started.elapsed();
    report.phases = tl.phases;
    report.tasks = tl.tasks;
    report.partitions = tl.partitions;
    report.peak_memory = peak_memory_bytes();
    // `work` (the temp dir) is removed here, on success; on error it is
    // removed when dropped during the early return.
    drop(work);
    Ok(report)
}

/// Where the run's categorical ids come from, read before anything runs:
/// a wrong path fails the run at once, and an earlier output being replaced
/// by this one (`--dictionaries`) is read before it goes.
fn categorical_ids(
    job: &dyn Job,
    categorical: &[String],
    cfg: &RunConfig,
) -> Result<crate::categorical::IdSource> {
    use crate::categorical::{Dictionary, IdSource, Store};
    let Some((flag, dir)) = cfg.ids_from() else {
        return Ok(IdSource::Fresh);
    };
    if categorical.is_empty() {
        return Err(Error::Config(format!(
            "{flag}: job {} has no categorical columns",
            job.name()
        )));
    }
    let Output::Dir { path: out, .. } = &cfg.output else {
        return Err(crate::config::ids_need_an_output(flag));
    };
    if cfg.dictionaries.is_some() {
        return Dictionary::previous(dir, categorical).map(IdSource::Previous);
    }
    // A store inside the output would be replaced with it; inside an
    // input, its files would be read as logs by the next run.
    let inside = |p: &Path| crate::paths::is_within(dir, p);
    if inside(out) {
        return Err(Error::Config(format!(
            "--dictionary-store {} is inside the output {}: keep the store apart, as runs \
             extend it and outputs are replaced",
            dir.display(),
            out.display()
        )));
    }
    let input_dirs = cfg.inputs.iter().filter(|i| *i != "-").map(Path::new);
    if let Some(i) = input_dirs.filter(|i| i.is_dir()).find(|i| inside(i)) {
        return Err(Error::Config(format!(
            "--dictionary-store {} is inside the input {}: keep the store apart from the logs",
            dir.display(),
            i.display()
        )));
    }
    Store::open(dir, categorical).map(IdSource::Store)
}

/// Refuses a `--dictionary-store` that holds an input (`-i STORE/x.jsonl`):
/// its files would be read as logs. (A store inside an input directory is
/// refused by [`categorical_ids`], before the inputs are listed.)
fn check_store_holds_no_input(
    ids: &crate::categorical::IdSource,
    inputs: &[InputFile],
) -> Result<()> {
    let crate::categorical::IdSource::Store(s) = ids else {
        return Ok(());
    };
    check_output_not_input(s.dir(), inputs).map_err(|_| {
        Error::Config(format!(
            "--dictionary-store {} is inside an input, or holds one: keep the store apart \
             from the logs",
            s.dir().display()
        ))
    })
}

/// Refuses, for a job with categorical columns, an input that is already a
/// table of ids (an output of such a job: a Parquet file mr wrote with
/// columns of ids, or any file beside a `_dictionaries/`), before anything
/// runs and before the dictionary store is touched: its ids, read as
/// strings ("0", "1"), would be given ids of their own, and a store keeps
/// every id for good (found by a pipeline probe feeding events_table's
/// table back to it with --dictionary-store).
fn check_no_table_of_ids(categorical: &[String], inputs: &[InputFile]) -> Result<()> {
    if categorical.is_empty() {
        return Ok(());
    }
    let refuse = |file: &InputFile, what: String| {
        Error::Config(format!(
            "input {} is already a table of ids ({what}): a job with categorical columns reads \
             the raw events; give it the logs the table was made from (the dictionary store, \
             if any, was not touched)",
            file.display
        ))
    };
    for file in inputs {
        let crate::input::InputSource::Path(path) = &file.source else {
            continue;
        };
        #[cfg(feature = "parquet")]
        if file.compression == crate::input::listing::Compression::Parquet {
            // A file that cannot be read is left to the run, which says so
            // in its own way (or skips it, under --skip-bad-records).
            let ids = crate::input::parquet::id_columns(path, categorical).unwrap_or_default();
            if !ids.is_empty() {
                return Err(refuse(
                    file,
                    format!(
                        "a Parquet table mr wrote whose columns {} hold categorical ids",
                        ids.join(", ")
                    ),
                ));
            }
        }
        if let Some(dir) = path.parent()
            && dir.join(crate::categorical::DICTIONARIES).is_dir()
        {
            return Err(refuse(
                file,
                format!(
                    "it is in the output {}, beside its {}/",
                    dir.display(),
                    crate::categorical::DICTIONARIES
                ),
            ));
        }
    }
    Ok(())
}

/// Says which inputs are tables of categorical ids, when the first map read
/// records and gave none: a job that reads values (url_views' `page_url`)
/// finds integers there and drops every record, for an empty result and
/// exit 0 without a word (pipeline probe /tmp/probe-pipeline repro 07).
/// Only tables that name their id columns (see
/// [`crate::output::parquet::ID_COLUMNS_KEY`]) are known so. True when it
/// warned.
fn warn_of_tables_of_ids(inputs: &[InputFile], records: u64) -> bool {
    let mut warned = false;
    #[cfg(feature = "parquet")]
    for file in inputs {
        let crate::input::InputSource::Path(path) = &file.source else {
            continue;
        };
        let ids = crate::input::parquet::id_columns(path, &[]).unwrap_or_default();
        if !ids.is_empty() {
            crate::errln!(
                "mr: warning: the first step's mappers read {records} records and emitted none: \
                 input {} is a table of categorical ids (its columns {} hold integer ids, which \
                 its _dictionaries/ decode), not the raw events; give the job the logs the table \
                 was made from",
                crate::error::printable_line(&file.display),
                ids.join(", ")
            );
            warned = true;
        }
    }
    #[cfg(not(feature = "parquet"))]
    let _ = (inputs, records);
    warned
}

/// Says what the job's own counters counted, when the first map read
/// records and gave none: url_views over Open edX tracking logs (whose URL
/// is in `page`, not `page_url`) left out every event, for an empty result
/// and exit 0 with nothing said under `-q` (probe /tmp/probe22-mooc repro
/// 02). A job that counts nothing (a grep that matched no line) is not
/// warned of: its empty result is an answer.
fn warn_of_records_left_out(counters: &Counters, records: u64) {
    let mut own: Vec<(&str, &str, i64)> = counters
        .iter()
        .filter(|&(group, _, n)| group != crate::counters::FRAMEWORK && n > 0)
        .collect();
    if own.is_empty() {
        return;
    }
    own.sort_by_key(|&(_, _, n)| std::cmp::Reverse(n));
    let said: Vec<String> = own
        .iter()
        .take(3)
        .map(|(group, name, n)| {
            crate::error::printable_line(&format!("{group} / {name}={n}")).into_owned()
        })
        .collect();
    crate::errln!(
        "mr: warning: the first step's mappers read {records} records and emitted none; \
         the job's counters: {}{}",
        said.join(", "),
        if own.len() > 3 { ", ..." } else { "" }
    );
}

/// The run's dictionaries of `columns`: the values `counted` holds, with
/// the ids `ids` gives them, written into `dir`. Every column has its
/// file, if empty: a day without events (or without values in a column)
/// still gives dictionaries the next day's run can keep the ids of.
fn give_ids(
    ids: &crate::categorical::IdSource,
    counted: crate::categorical::Dictionary,
    columns: &[String],
    dir: &Path,
) -> Result<crate::categorical::Dictionary> {
    let mut dict = ids.assign(counted, columns)?;
    for c in columns {
        dict.columns.entry(c.clone()).or_default();
    }
    dict.write(dir)?;
    Ok(dict)
}

/// Replaces the strings of `columns` in `parts` by consistent ids (see
/// [`crate::categorical`]): counts them (a fold step), writes the
/// dictionaries into `dict_dir` (with the ids `ids` gives), then
/// encodes each part (map-only, one split per part, order kept). Returns
/// the encoded parts.
fn encode_categorical(
    columns: &[String],
    parts: &[PathBuf],
    dict_dir: &Path,
    ids: &crate::categorical::IdSource,
    cfg: &RunConfig,
    work: &Path,
    counters: &mut Counters,
) -> Result<Vec<PathBuf>> {
    use crate::categorical::{CountJob, Dictionary, EncodeColumns, EncodeJob};
    let inputs: Vec<String> = part_inputs(parts, 0)?
        .into_iter()
        .filter_map(|f| match f.source {
            InputSource::Path(p) => Some(p.display().to_string()),
            _ => None,
        })
        .collect();
    if inputs.is_empty() {
        // No rows: the dictionaries given still carry over, every count 0.
        give_ids(ids, Dictionary::default(), columns, dict_dir)?;
        return Ok(Vec::new());
    }
    let sub = |out: &str, chunk_size: u64| RunConfig {
        inputs: inputs.clone(),
        output: Output::Dir {
            path: work.join(out),
            overwrite: false,
        },
        chunk_size,
        tmp_dir: Some(work.to_path_buf()),
        progress: None,
        output_format: crate::output::OutputFormat::Lines,
        output_protocol: None,
        dictionaries: None,
        dictionary_store: None,
        // The stages read rows this run wrote: none is the user's bad
        // record, and a row may be longer than its input line (a URL kept
        // in three columns). A failure there is the run's, not skipped into
        // a work directory that is then removed.
        skip_bad_records: false,
        max_line_bytes: usize::MAX,
        report: None,
        ..cfg.clone()
    };
    let parts_of = |r: &JobReport| -> Result<Vec<PathBuf>> {
        let dir = r
            .output_dir
            .clone()
            .ok_or_else(|| Error::Internal("categorical stage without output".into()))?;
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io("listing", &dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-"))
            })
            .collect();
        v.sort();
        Ok(v)
    };
    // The stages' outputs are work files: an interrupt says nothing of them.
    let stage = |job: &dyn Job, cfg: &RunConfig| {
        let r = run_job(job, cfg, &mut std::io::sink());
        crate::cancel::forget_in_place();
        r
    };
    let counted = stage(
        &CountJob(columns.to_vec()),
        &sub("categorical-counts", cfg.chunk_size),
    )?;
    // The stages' own framework counters would read as the job's.
    use crate::categorical::{COUNTERS, NOT_A_STRING};
    let odd = counted.counters.get(COUNTERS, NOT_A_STRING);
    if odd > 0 {
        counters.add(COUNTERS, NOT_A_STRING, odd);
    }
    let counted = Dictionary::from_count_files(&parts_of(&counted)?)?;
    let dict = give_ids(ids, counted, columns, dict_dir)?;
    let encode = EncodeColumns::with_dictionary(dict_dir.to_path_buf(), columns.to_vec(), dict);
    let encoded = stage(&EncodeJob(encode), &sub("categorical-encoded", u64::MAX))?;
    parts_of(&encoded)
}

/// A table with categorical `columns` (`--output-format parquet`), written
/// from the last step's `parts` into `dest` in two passes over the parts,
/// each part in parallel, instead of the three stages and two passes of
/// [`encode_categorical`] and `write_parts` (which parsed each row four
/// times and wrote it twice):
///
/// 1. [`Scan::of`](crate::output::parquet::Scan::of): each row parsed once
///    for the table's types and the columns' value counts (in memory: the
///    order of the dictionary, see `Scan`);
/// 2. the dictionaries, from the counts and `ids`, written to
///    `dest/_dictionaries/`;
/// 3. [`Scan::write`](crate::output::parquet::Scan::write): each part
///    decoded with the columns as strings, which are then replaced by their
///    ids a batch at a time (a part with values there that are not strings:
///    each row rewritten with its ids first, as the encode stage wrote it).
///
/// The same table, dictionaries, counters and part names (the parts with
/// records, numbered from 0, as the encode stage numbered its outputs).
#[cfg(feature = "parquet")]
fn write_categorical_table(
    columns: &[String],
    parts: &[PathBuf],
    dest: &Path,
    ids: &crate::categorical::IdSource,
    (opts, declared): (
        &crate::output::parquet::ParquetOptions,
        &crate::output::parquet::Declared,
    ),
    (pool, threads): (&rayon::ThreadPool, usize),
    counters: &mut Counters,
) -> Result<()> {
    use crate::categorical::{COUNTERS, DICTIONARIES, NOT_A_STRING, RowEncoder, ValueCounts};
    use crate::output::parquet::{Scan, TablePart};
    // The table's parts are the encode stage's map tasks (a map-only job
    // over the parts, split and packed as any step's input).
    let files = part_inputs(parts, 0)?;
    let mut table = Vec::new();
    if !files.is_empty() {
        let splits = tail_cut(make_splits(files, u64::MAX), threads);
        let target = pack_bytes(&splits, u64::MAX, threads);
        for pieces in pack(splits, target) {
            let name = format!("part-{:05}", table.len());
            table.push(TablePart { name, pieces });
        }
    }
    let mut scan = Scan::of(table, declared, Some(columns), pool)?;
    let counts = scan
        .take_counts()
        .unwrap_or_else(|| ValueCounts::new(columns));
    if counts.not_a_string > 0 {
        let n = i64::try_from(counts.not_a_string).unwrap_or(i64::MAX);
        counters.add(COUNTERS, NOT_A_STRING, n);
    }
    let dict = give_ids(
        ids,
        counts.into_dictionary(),
        columns,
        &dest.join(DICTIONARIES),
    )?;
    let encoder = RowEncoder::new(dict);
    scan.write(dest, opts, declared, Some(&encoder), pool)?;
    Ok(())
}

/// The files of a whole-file step, with stdin (`-`) first saved to a file
/// in the work directory, as mrjob saves it for its input manifest: the
/// mapper gets a file it can open, and still sees `-` as its input's name.
fn stdin_saved(files: Vec<InputFile>, work: &Path) -> Result<Vec<InputFile>> {
    files
        .into_iter()
        .map(|mut f| {
            if f.source == InputSource::Stdin {
                let path = work.join("stdin");
                let mut out =
                    std::fs::File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
                let size = std::io::copy(&mut std::io::stdin().lock(), &mut out)
                    .map_err(|e| Error::io("saving stdin to", &path, e))?;
                f.source = InputSource::Path(path);
                f.size = size;
            }
            Ok(f)
        })
        .collect()
}

/// An empty split, for a step whose input is empty: its map task reads
/// nothing but runs the mapper's init and final hooks.
fn empty_split(work: &Path, step: usize, first_input: Option<&InputFile>) -> Result<Split> {
    let file = match first_input {
        // The (empty) input file itself: the task sees its name.
        Some(f) if matches!(f.source, InputSource::Path(_)) && !f.compression.is_compressed() => {
            f.clone()
        }
        _ => {
            let path = work.join(format!("empty-{step}"));
            std::fs::write(&path, b"").map_err(|e| Error::io("creating", &path, e))?;
            InputFile {
                source: InputSource::Path(path),
                display: format!("<step {step} input>"),
                size: 0,
                compression: Compression::None,
                id: None,
            }
        }
    };
    Ok(Split {
        index: 0,
        file: std::sync::Arc::new(file),
        start: 0,
        end: 0,
    })
}

/// `--chunksize`, raised so that the step's plain files make at most
/// [`limits::MAX_SPLITS`] splits; says so on stderr when the user's setting
/// was raised (first step only: later steps' inputs are mr's own).
fn bounded_split_size(chunk_size: u64, files: &[InputFile], step: usize) -> u64 {
    let total: u64 = files
        .iter()
        .filter(|f| !f.compression.is_compressed() && !f.source.is_stream())
        .map(|f| f.size)
        .sum();
    let size = limits::split_size(chunk_size, total);
    if size > chunk_size && step == 0 {
        let _ = writeln!(
            std::io::stderr(),
            "mr: note: --chunksize {chunk_size} would cut {} into {} splits; using splits of {} \
             ({} at most)",
            crate::runner::progress::human_bytes(total),
            total.div_ceil(chunk_size),
            crate::runner::progress::human_bytes(size),
            limits::MAX_SPLITS
        );
    }
    size
}

/// The splits with the step's last ones cut finer, so that every thread has
/// work and all finish together ([`split::finer_tail`]), unless that would
/// pass [`limits::MAX_SPLITS`] (an input of tens of GB, whose many splits
/// balance already).
fn tail_cut(splits: Vec<Split>, threads: usize) -> Vec<Split> {
    let most_added = 2 * split::TAIL_PIECES as usize * threads;
    if (splits.len() + most_added) as u64 > limits::MAX_SPLITS {
        return splits;
    }
    split::finer_tail(splits, threads)
}

/// The most bytes a task of packed small files holds (see
/// [`crate::input::split::pack`]): a split's size, or less when the input
/// is small, so that each thread still gets [`PACKS_PER_THREAD`] tasks or
/// more; not below [`PACK_MIN_BYTES`] unless `--chunksize` is.
fn pack_bytes(splits: &[Split], chunk_size: u64, threads: usize) -> u64 {
    let total: u64 = splits.iter().map(split_cost).sum();
    let balanced = (total / (threads as u64 * PACKS_PER_THREAD)).max(PACK_MIN_BYTES);
    balanced.min(limits::split_size(chunk_size, total))
}

/// Tasks per thread that packing leaves at least, input permitting, so
/// that threads finish together.
const PACKS_PER_THREAD: u64 = 4;
/// The fewest bytes packing aims at in a task: below that, a task's fixed
/// cost (a sort buffer, a run, a report line) is what a thread spends.
const PACK_MIN_BYTES: u64 = 1 << 20;

/// An intermediate step's parts as the next step's input files.
fn part_inputs(parts: &[PathBuf], step: usize) -> Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for p in parts {
        let size = std::fs::metadata(p)
            .map_err(|e| Error::io("reading", p, e))?
            .len();
        if size == 0 {
            continue;
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(InputFile {
            source: InputSource::Path(p.clone()),
            display: format!("<step {step} output>/{name}"),
            size,
            compression: Compression::None,
            id: None,
        });
    }
    Ok(out)
}

/// Moves file `from` to `to`: a rename, or, from another file system (a
/// temp dir on a tmpfs, the output on disk), a copy and then the removal of
/// `from`. The commit flushes the output's files to disk before it puts
/// them in place.
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            std::fs::copy(from, to)?;
            std::fs::remove_file(from)
        }
        r => r,
    }
}

/// Refuses a `--tmp-dir` that is the output directory or inside it: the
/// run's scratch would be in what it commits (or replaces). `-r emulate`
/// asks too.
///
/// ```
/// use mr_core::runner::local::check_tmp_not_in_output;
/// use std::path::Path;
/// assert!(check_tmp_not_in_output(Path::new("out"), Some(Path::new("out/tmp"))).is_err());
/// assert!(check_tmp_not_in_output(Path::new("out"), Some(Path::new("tmp"))).is_ok());
/// assert!(check_tmp_not_in_output(Path::new("out"), None).is_ok());
/// ```
pub fn check_tmp_not_in_output(out: &Path, tmp: Option<&Path>) -> Result<()> {
    let Some(tmp) = tmp else {
        return Ok(());
    };
    if crate::paths::is_within(tmp, out) {
        return Err(Error::Config(format!(
            "--tmp-dir {} is inside the output directory {}: the run's temporary files would be \
             in its output; give a --tmp-dir outside it",
            tmp.display(),
            out.display()
        )));
    }
    Ok(())
}

/// Refuses an output directory that is, or contains, an input: `--overwrite`
/// would delete the input.
fn check_output_not_input(out: &Path, inputs: &[InputFile]) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    // By identity too: `-i /alias/counts -o /real/counts --overwrite`
    // through a bind mount, or `-o x/WC` on a case-insensitive disk.
    let mut within = crate::paths::Within::new(out);
    for f in inputs {
        if let InputSource::Path(p) = &f.source
            && within.contains(p)
        {
            return Err(Error::Config(format!(
                "the output directory {} contains the input {}",
                crate::error::printable_path(out),
                crate::error::printable_line(&f.display)
            )));
        }
    }
    Ok(())
}

/// Writes the lines of `files` to a terminal with [`printable`]'s escapes
/// (control characters, bidirectional marks; bytes that are not UTF-8 as
/// U+FFFD), one line in memory at a time.
///
/// [`printable`]: crate::error::printable
fn show_escaped(files: &[PathBuf], out: &mut dyn Write) -> Result<()> {
    use std::io::BufRead;
    for p in files {
        let f = std::fs::File::open(p).map_err(|e| Error::io("opening", p, e))?;
        let mut r = std::io::BufReader::new(f);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = r
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io("reading", p, e))?;
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            out.write_all(crate::error::printable(&text).as_bytes())
                .map_err(stderr_failed)?;
        }
    }
    Ok(())
}

/// The error of writing skipped records to stderr: its own, never taken
/// for a closed stdout (which is no error).
fn stderr_failed(e: std::io::Error) -> Error {
    Error::io("writing skipped records to", "stderr", e)
}

/// Counts `n` final records of `last_step` written as lines that cannot be
/// read back ([`crate::counters::MANGLED`]).
fn count_mangled(counters: &mut Counters, last_step: usize, n: u64) {
    if n > 0 {
        counters.add(
            crate::counters::FRAMEWORK,
            &format!("step {last_step}: {}", crate::counters::MANGLED),
            i64::try_from(n).unwrap_or(i64::MAX),
        );
    }
}

#[cfg(all(test, feature = "parquet"))]
mod tests {
    use super::*;
    use crate::ColumnType;
    use crate::categorical::{COUNTERS, DICTIONARIES, Dictionary, IdSource, NOT_A_STRING};
    use crate::output::parquet::{Declared, ParquetOptions, write_parts};

    /// The parts of the last step of a table with categorical columns `u`
    /// and `a`: an empty part (the encode stage numbered the parts with
    /// records), blank lines, a keyed record (its key left out), nulls,
    /// values that are not strings (made null, counted; the rows of that
    /// part rewritten with ids before they are decoded), escaped strings,
    /// a column of JSON text (tuples), and a field in one part only.
    const PARTS: [&str; 5] = [
        "null\t{\"u\":\"ann\",\"a\":\"/x\",\"n\":1,\"s\":\"q\",\"t\":[\"x\",1]}\n\
         null\t{\"u\":\"bob\",\"a\":null,\"n\":2}\n\
         null\t{\"u\":null,\"a\":\"/\\u00e9\\\"q\",\"n\":6}\n\
         \n\
         \"k\"\t{\"u\":\"ann\",\"a\":\"/y\",\"n\":3,\"t\":[\"y\",2]}\n",
        "",
        "null\t{\"u\":5,\"a\":\"/x\",\"n\":4,\"t\":[\"z\",3]}\n\
         null\t{\"a\":{\"deep\":1},\"u\":\"cy\\\"q\",\"n\":null}\n\
         null\t{\"u\":\"ann\\u00e9\",\"a\":\"/x\",\"a2\":[true]}\n",
        "null\t{\"u\":\"bob\",\"n\":5,\"extra\":1.5}\n",
        "\n",
    ];

    fn declared() -> Declared<'static> {
        let ids = |n: &str| n == "u" || n == "a";
        Declared {
            fixed: vec![("u".into(), ColumnType::Int), ("n".into(), ColumnType::Int)],
            ids: vec!["u".into(), "a".into()],
            type_of: Box::new(move |n| ids(n).then_some(ColumnType::Int)),
        }
    }

    /// A written table's files (name and bytes, the dictionaries too) and
    /// its count of values made null.
    type Table = (Vec<(String, Vec<u8>)>, i64);

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for sub in [dir.to_path_buf(), dir.join(DICTIONARIES)] {
            let mut names: Vec<PathBuf> = std::fs::read_dir(&sub)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .collect();
            names.sort();
            for p in names {
                let name = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
        out
    }

    /// The table of `parts` written by the three stages and `write_parts`
    /// (`old`), or by `write_categorical_table`.
    fn table(parts: &[&str], ids: &IdSource, old: bool) -> Result<Table> {
        let d = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = parts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let p = d.path().join(format!("part-{i:05}"));
                std::fs::write(&p, text).unwrap();
                p
            })
            .collect();
        let dest = d.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let work = d.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let columns = vec!["u".to_string(), "a".to_string()];
        let mut counters = Counters::default();
        let opts = ParquetOptions::default();
        if old {
            let cfg = RunConfig {
                jobs: 2,
                ..RunConfig::default()
            };
            let encoded = encode_categorical(
                &columns,
                &paths,
                &dest.join(DICTIONARIES),
                ids,
                &cfg,
                &work,
                &mut counters,
            )?;
            write_parts(&encoded, &dest, &opts, &declared(), &pool)?;
        } else {
            write_categorical_table(
                &columns,
                &paths,
                &dest,
                ids,
                (&opts, &declared()),
                (&pool, 2),
                &mut counters,
            )?;
        }
        Ok((files(&dest), counters.get(COUNTERS, NOT_A_STRING)))
    }

    /// The table, dictionaries and counters of one pass of scanning and
    /// one of writing are those of the encode stages, byte for byte: ids
    /// afresh and kept from an earlier run's dictionaries; the same for
    /// a part alone (the strings-as-columns way) and for no rows at all.
    #[test]
    fn a_table_in_two_passes_is_the_encode_stages_table() {
        let earlier = Dictionary {
            columns: [(
                "u".to_string(),
                [("zed", 4), ("bob", 1)].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
        };
        for ids in [IdSource::Fresh, IdSource::Previous(earlier)] {
            for parts in [&PARTS[..], &PARTS[..1], &PARTS[1..2], &PARTS[4..]] {
                let old = table(parts, &ids, true).unwrap();
                let new = table(parts, &ids, false).unwrap();
                let names = |t: &Table| t.0.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
                assert_eq!(names(&new), names(&old), "{parts:?}");
                for ((name, a), (_, b)) in new.0.iter().zip(&old.0) {
                    assert!(a == b, "{name} differs for {parts:?}");
                }
                assert_eq!(new.1, old.1);
            }
        }
        // The rows with values that are not strings: 5 and {"deep":1}.
        assert_eq!(table(&PARTS, &IdSource::Fresh, false).unwrap().1, 2);
    }

    /// Parts too large to be packed into one task (over 1 MiB), the last
    /// cut into pieces for the threads: the same files as the encode
    /// stage's tasks wrote, one part with a value that is not a string.
    #[test]
    fn large_parts_are_the_encode_stages_tasks() {
        let part = |k: usize, odd: bool| -> String {
            (0..14_000)
                .map(|i| {
                    let u = match (odd, i % 5000) {
                        (true, 77) => "7".to_string(),
                        _ => format!("\"user{}\"", (i * 7 + k) % 97),
                    };
                    format!(
                        "null\t{{\"u\":{u},\"a\":\"/p{}\",\"n\":{i},\"pad\":\"{:040}\"}}\n",
                        i % 13,
                        i
                    )
                })
                .collect()
        };
        let parts = [part(0, false), part(1, true), String::new(), part(2, false)];
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        assert!(parts[0].len() > 1 << 20);
        let old = table(&parts, &IdSource::Fresh, true).unwrap();
        let new = table(&parts, &IdSource::Fresh, false).unwrap();
        let names = |t: &Table| t.0.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&new), names(&old));
        assert!(names(&new).len() > 4, "{:?}", names(&new));
        for ((name, a), (_, b)) in new.0.iter().zip(&old.0) {
            assert!(a == b, "{name} differs");
        }
        assert_eq!((new.1, old.1), (3, 3));
    }

    /// A record whose value is not an object is an error, as it was.
    #[test]
    fn a_record_that_is_not_an_object_stops_the_table() {
        let parts = ["null\t{\"u\":\"ann\"}\n\"k\"\t3\n"];
        assert!(table(&parts, &IdSource::Fresh, true).is_err());
        let e = table(&parts, &IdSource::Fresh, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("record 2 of part-00000") && e.contains("not a JSON object"),
            "{e}"
        );
    }
}
