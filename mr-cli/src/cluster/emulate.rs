//! `-r emulate` (or `mr emulate-hadoop JOB`): runs the job on this machine
//! exactly as Hadoop Streaming would run the binary, to catch "works
//! locally, fails on the cluster" before submitting.
//!
//! For each step:
//!
//! 1. the input is cut into splits (`--chunksize`; a `.gz` file is one
//!    split) and each split is one **map task**: a separate process
//!    `./mr run JOB --step-num N --mapper`, started in a task directory of
//!    its own (holding a link to the binary, as Hadoop's `-files` does), with
//!    the variables Hadoop sets (`mapreduce_map_input_file`,
//!    `mapreduce_task_partition`, `mapreduce_task_ismap`,
//!    `mapreduce_task_attempt_id`, ...), the split's lines on stdin, each
//!    after its byte offset (`OFFSET TAB LINE`, as `-r hadoop` has Hadoop
//!    pass them: `stream.map.input.ignoreKey=false`);
//! 2. its output records are partitioned with Hadoop's hash
//!    ([`super::hadoop_partition`]) and held in a sort
//!    buffer (`--sort-buffer-mb` shared by the `--jobs` running tasks); when
//!    full, the buffer is sorted by key bytes (ties in random order, as a
//!    cluster gives them) and spilled, one file a partition, each through
//!    the combiner **0, 1 or 2 times**, chosen at random; spills are merged
//!    at the end of the task, through the combiner once more at random when
//!    there are 3 or more (Hadoop's `mapreduce.map.combine.minspills`);
//! 3. each partition is one **reduce task**: the sorted map outputs are
//!    merged by key bytes and piped into `./mr run JOB --step-num N --reducer`,
//!    whose stdout is `part-NNNNN` (every partition gets a part file, empty
//!    or not). A map-only step writes one part file a map task.
//!
//! The steps of a multi-step job pass their part files through a temporary
//! directory; the last step's are committed to `--output` with `_SUCCESS`
//! (or merged to stdout in key order). All random choices derive from
//! `--seed`, so a failure can be replayed. A task that fails stops the run
//! with the tail of its stderr, as a task log would show it; a task that
//! exits before reading all of its input fails, as Hadoop fails it
//! (`Broken pipe`).

use super::process::{Drain, Echo, failure};
use super::{JobPlan, StepPlan, hadoop_partition, key_len};
use crate::args::RunArgs;
use anyhow::{Context as _, Result, anyhow};
use mr_core::input::lines::open_split;
use mr_core::input::listing::InputSource;
use mr_core::input::{LineReader, Split, list_inputs, make_splits};
use mr_core::output::commit::OutputDir;
use mr_core::output::protocol::ProtocolWriter;
use mr_core::output::stdout::{concat_parts, merge_parts, merge_sorted_lines_within};
use mr_core::runner::task::TaskRole;
use mr_core::runner::timeline::{PhaseRecord, TaskRecord};
use mr_core::{Counters, Output, RunConfig};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// The counter group of the emulator's own counters.
pub const COUNTERS: &str = "emulate";

/// Hadoop runs the combiner again while merging a map task's spills only
/// when there are at least this many (`mapreduce.map.combine.minspills`).
const MIN_SPILLS_FOR_COMBINE: usize = 3;

/// Bytes a buffered record costs besides its line.
const RECORD_OVERHEAD: usize = std::mem::size_of::<Rec>();

/// Runs `plan` under the emulator, as `mr run JOB -r emulate` asks.
pub fn run(plan: &JobPlan, args: &RunArgs) -> Result<mr_core::JobReport> {
    // What Hadoop would not read as the local runner does is refused, as
    // `-r hadoop` refuses it.
    super::refuse_local_inputs(&super::inputs(args), true, plan.reads_whole_files())?;
    // As -r spark says it (probe /tmp/probe5-runners repro 01).
    super::warn_of_output_separators(
        &plan.extras.jobconf,
        "under -r emulate, which writes each output line as the local runner does",
    );
    let mut cfg = crate::cmd::run::config(args)?;
    cfg.partitions = crate::cmd::run::reducers_asked(args.partitions, &plan.extras.jobconf)?;
    // As the local runner: --no-output discards the results meant for
    // stdout, --cat-output prints the output directory's once committed.
    let report = if args.no_output {
        emulate(plan, &cfg, args.seed, &mut io::sink())?
    } else {
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        let report = emulate(plan, &cfg, args.seed, &mut out)?;
        out.flush().map_err(mr_core::Error::Stdout)?;
        report
    };
    if let (true, Some(dir)) = (args.cat_output && !args.no_output, &report.output_dir) {
        crate::cmd::run::cat_output(dir)?;
    }
    let output = report.output_dir.as_ref().map(|d| d.display().to_string());
    let mut job_report = super::report(
        plan.steps.len(),
        report.counters,
        output.as_deref(),
        report.elapsed,
    );
    // The task processes' timeline, as the local runner's threads'.
    job_report.phases = report.phases;
    job_report.tasks = report.tasks;
    for t in &job_report.tasks {
        if let Some(s) = job_report.spills.get_mut(t.step) {
            *s += t.spills;
        }
    }
    if !args.quiet {
        let c = &job_report.counters;
        mr_core::errprint!(
            "{}",
            crate::cmd::summary::counters_text(&job_report, args.verbose)
        );
        mr_core::errln!(
            "mr: {} finished under the Hadoop emulator in {:.2}s ({} map tasks, {} reduce tasks, {} combiner runs, seed {}){}",
            plan.job,
            report.elapsed.as_secs_f64(),
            c.get(COUNTERS, "map tasks"),
            c.get(COUNTERS, "reduce tasks"),
            c.get(COUNTERS, "combiner runs"),
            args.seed,
            match &report.output_dir {
                Some(d) => format!("; output in {}", mr_core::error::printable_path(d)),
                None => String::new(),
            }
        );
        super::say_skipped(&job_report, "in the tasks' stderr, shown above");
    }
    Ok(job_report)
}

/// What an emulated run reports.
#[derive(Debug, Clone)]
pub struct EmulateReport {
    /// The tasks' counters (reported on their stderr) and the emulator's
    /// (group [`COUNTERS`]).
    pub counters: Counters,
    /// The output directory, when results went to one.
    pub output_dir: Option<PathBuf>,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// Wall time of each step's map and reduce phases.
    pub phases: Vec<PhaseRecord>,
    /// Every task process: the worker slot that ran it, its start and end,
    /// and the records it read and wrote (its counters).
    pub tasks: Vec<TaskRecord>,
}

/// Runs every step of `plan` as Hadoop Streaming would, configured by `cfg`
/// (inputs, output, `jobs` task slots, `partitions` reducers, `chunk_size`
/// splits, `sort_buffer_bytes`, `tmp_dir`); results for stdout go to `out`.
pub fn emulate(
    plan: &JobPlan,
    cfg: &RunConfig,
    seed: u64,
    out: &mut dyn Write,
) -> Result<EmulateReport> {
    let started = Instant::now();
    cfg.validate()?;
    let files = list_inputs(&cfg.inputs)?;
    let reading = mr_core::input::listing::reading(&files);
    let output_dir = match &cfg.output {
        Output::Dir { path, overwrite } => {
            // Said before the run, as the local runner says it: the run
            // refused only at its commit ("appeared during the run").
            mr_core::runner::local::check_tmp_not_in_output(path, cfg.tmp_dir.as_deref())?;
            Some(OutputDir::create_writing(path, *overwrite, None, &reading)?)
        }
        Output::Stdout => None,
    };
    let tmp_root = match &cfg.tmp_dir {
        Some(d) => d.clone(),
        None => mr_core::runner::workdir::default_root()?,
    };
    // Both are removed by a forced exit until they are removed (see
    // mr_core::cancel::force_exit).
    let work = mr_core::runner::workdir::WorkDir::create(&tmp_root, "mr-emulate-", &reading)?;
    let em = Emulator {
        plan,
        seed,
        threads: cfg.threads(),
        // Each task's process also holds pipes (its stdin, stderr): counted
        // as one more thread's share.
        fan_in: mr_core::runner::limits::fan_in(
            cfg.merge_fan_in,
            cfg.threads() + 1,
            mr_core::runner::limits::open_files_limit(),
        )?,
        partitions: cfg.partition_count(),
        task_buffer: (cfg.sort_buffer_bytes as usize / cfg.threads()).max(1024),
        pid: std::process::id(),
        max_line: cfg.max_line_bytes,
        fed_bytes: std::sync::atomic::AtomicU64::new(0),
        started,
        timeline: Mutex::default(),
    };
    let mut counters = Counters::default();
    let mut splits = if plan.reads_whole_files() && !files.is_empty() {
        manifest_splits(&files, work.path())?
    } else {
        hadoop_splits(files, cfg.chunk_size)
    };
    let n = plan.steps.len();
    let mut last_parts = Vec::new();
    for (i, shape) in plan.steps.iter().enumerate() {
        let dir = work.path().join(format!("step-{i}"));
        let out_dir = match (&output_dir, i + 1 == n) {
            (Some(o), true) => o.temporary(),
            _ => dir.join("output"),
        };
        for d in [&dir, &out_dir] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let step = StepRun {
            em: &em,
            step: i,
            shape: *shape,
            dir,
            dropped: Mutex::default(),
            fed: Mutex::default(),
        };
        let (c, parts) = step.run(&splits, &out_dir)?;
        refuse_too_many_counters(i, &c, &plan.extras.jobconf)?;
        warn_of_long_counter_names(&c);
        // Under the local runner's names (`step 0: input records`), step by
        // step, as on Hadoop and Spark.
        counters.merge(&super::step_counters(i, shape, &c));
        if i == 0 {
            // The report and summary read them as the local runner's
            // (they said 0 B in: probe /tmp/probe3-report repro 03).
            let fed = em.fed_bytes.load(std::sync::atomic::Ordering::Relaxed);
            counters.add(
                mr_core::counters::FRAMEWORK,
                "step 0: input bytes",
                fed as i64,
            );
        }
        if i + 1 < n {
            let listed = list_inputs(&[out_dir.display().to_string()])?;
            splits = hadoop_splits(listed, cfg.chunk_size);
        }
        last_parts = parts;
    }
    let output_dir = match output_dir {
        Some(o) => {
            mr_core::output::commit::count_written(&mut counters, n - 1, &o.temporary());
            Some(mr_core::cancel::critical(|| o.commit())?)
        }
        None => {
            // JSON records, printed in the protocol asked for (see
            // super::print_parts).
            let mut out = ProtocolWriter::new(plan.extras.printed_protocol, out);
            if plan.steps[n - 1].reducer {
                merge_parts(&last_parts, &mut out)?;
            } else {
                concat_parts(&last_parts, &mut out)?;
            }
            out.flush().map_err(mr_core::Error::Stdout)?;
            super::count_mangled(&mut counters, n, out.mangled());
            None
        }
    };
    let (phases, mut tasks) = em.timeline.into_inner().unwrap_or_default();
    tasks.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(EmulateReport {
        counters,
        output_dir,
        elapsed: started.elapsed(),
        phases,
        tasks,
    })
}

/// Hadoop's default limit on the counters of a job
/// (`mapreduce.job.counters.max`): one more fails the job ("Too many
/// counters").
const HADOOP_COUNTERS_MAX: usize = 120;

/// Fails as Hadoop fails a step whose tasks reported more counters than
/// `mapreduce.job.counters.max` (120 unless set): a job that makes a
/// counter a key works locally and failed on the cluster only.
fn refuse_too_many_counters(step: usize, c: &Counters, jobconf: &[(String, String)]) -> Result<()> {
    let max = crate::cmd::run::jobconf_last(jobconf, &["mapreduce.job.counters.max"])
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(HADOOP_COUNTERS_MAX);
    let n = c.iter().filter(|(g, _, _)| *g != COUNTERS).count();
    if n > max {
        anyhow::bail!(
            "step {step} made {n} counters: Hadoop fails a job with more than {max} \
             (\"Too many counters\", mapreduce.job.counters.max, which a cluster's \
             administrator sets): count fewer distinct names (not one a key)"
        );
    }
    Ok(())
}

/// Warns of a counter whose name (or group's) is longer than Hadoop keeps
/// (`mapreduce.job.counters.counter.name.max`, 64): Hadoop reports it cut,
/// added up with any other whose name agrees up to there.
fn warn_of_long_counter_names(c: &Counters) {
    use super::hadoop::{COUNTER_GROUP_NAME_MAX, COUNTER_NAME_MAX};
    let java_len = |s: &str| s.encode_utf16().count();
    if let Some((g, n, _)) = c
        .iter()
        .find(|(g, n, _)| java_len(n) > COUNTER_NAME_MAX || java_len(g) > COUNTER_GROUP_NAME_MAX)
    {
        mr_core::errln!(
            "mr: warning: counter {}: {} has a longer name than Hadoop keeps ({COUNTER_NAME_MAX} \
             characters, a group's {COUNTER_GROUP_NAME_MAX}): Hadoop reports it cut short, \
             to one character less, added up with every counter whose name agrees up to \
             there; give counters shorter names",
            mr_core::error::printable_line(g),
            mr_core::error::printable_line(n)
        );
    }
}

struct Emulator<'a> {
    plan: &'a JobPlan,
    seed: u64,
    threads: usize,
    /// Most sorted files a task merges at once (`--merge-fan-in`, lowered
    /// to the open-files limit): more are merged in passes, as Hadoop's
    /// `mapreduce.task.io.sort.factor` has it.
    fan_in: usize,
    partitions: usize,
    /// Sort-buffer bytes of one map task.
    task_buffer: usize,
    pid: u32,
    /// `--max-line-mb` in bytes: the longest input line a first-step
    /// mapper is given.
    max_line: usize,
    /// Bytes of the input files the mappers were fed (uncompressed), for
    /// the first step's `input bytes`.
    fed_bytes: std::sync::atomic::AtomicU64,
    /// When the run started: the timeline's zero.
    started: Instant,
    /// The phases and tasks so far, for the report.
    timeline: Mutex<(Vec<PhaseRecord>, Vec<TaskRecord>)>,
}

/// One step being emulated.
struct StepRun<'a> {
    em: &'a Emulator<'a>,
    step: usize,
    shape: StepPlan,
    /// `step-N/` in the work dir: task dirs and map outputs.
    dir: PathBuf,
    /// Reduce tasks without keys whose reducer wrote lines (dropped, as
    /// Hadoop drops them), and how many.
    dropped: Mutex<Vec<(usize, usize)>>,
    /// The bytes each map task (by its split's index) was fed, decoded: a
    /// `.gz` split's task read more than the file's size.
    fed: Mutex<std::collections::HashMap<usize, u64>>,
}

/// A process of a task, its stderr drained.
struct Proc {
    child: Child,
    stderr: Drain,
    what: String,
    /// The step's directory in mr's temp dir, where the task's output and
    /// spills go.
    work: PathBuf,
}

impl Proc {
    /// Waits for the process; an error (with its stderr) unless it exited 0.
    fn finish(mut self) -> Result<Counters> {
        let status = self
            .child
            .wait()
            .with_context(|| format!("waiting for {}", self.what))?;
        let drained = self.stderr.finish();
        if !status.success() {
            let e = failure(&self.what, status, &drained);
            // Its stdout is a file in the temp dir: "writing to standard
            // output: No space left on device" named neither (probe
            // /tmp/probe7-env repro 06).
            let tail = drained.tail_text();
            if tail.contains("No space left on device") || tail.contains("Disk quota exceeded") {
                // Spills and a map or combine task's output are in the temp
                // dir; a last step's parts beside the output.
                let temp_full = rustix::fs::statvfs(&self.work)
                    .is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) < 1 << 20);
                let hint = if temp_full {
                    format!(
                        "the task's output and spills are written in mr's temp dir ({}), whose \
                         file system is full: use --tmp-dir on a disk with more room, or free \
                         space there",
                        self.work.display()
                    )
                } else {
                    "the task writes the output's part files beside the output, and that file \
                     system is full: free space there, or write --output to a disk with more room"
                        .to_string()
                };
                return Err(anyhow!(
                    "{e}\n  hint: {hint}; an existing output was not replaced"
                ));
            }
            return Err(e);
        }
        Ok(drained.counters)
    }
}

/// How feeding a process's stdin ended.
#[derive(Debug, PartialEq, Eq)]
enum Fed {
    All,
    /// The process closed its stdin before reading everything.
    Early,
}

fn fed(r: io::Result<()>) -> io::Result<Fed> {
    match r {
        Ok(()) => Ok(Fed::All),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Fed::Early),
        Err(e) => Err(e),
    }
}

/// A map-output record in the sort buffer.
#[derive(Debug, Clone, Copy)]
struct Rec {
    partition: u32,
    start: usize,
    key_len: u32,
    len: u32,
}

/// Map output waiting to be sorted and spilled.
#[derive(Default)]
struct MapBuffer {
    data: Vec<u8>,
    recs: Vec<Rec>,
}

impl MapBuffer {
    fn bytes(&self) -> usize {
        self.data.len() + self.recs.len() * RECORD_OVERHEAD
    }

    fn key(&self, r: &Rec) -> &[u8] {
        &self.data[r.start..r.start + r.key_len as usize]
    }

    fn line(&self, r: &Rec) -> &[u8] {
        &self.data[r.start..r.start + r.len as usize + 1]
    }
}

impl StepRun<'_> {
    fn job_id(&self) -> String {
        format!("emulate{}_{:04}", self.em.pid, self.step + 1)
    }

    /// The environment Hadoop gives a task: `kind` is `m` or `r`.
    fn task_env(&self, kind: char, task: usize) -> Vec<(String, String)> {
        let job = self.job_id();
        let task_id = format!("task_{job}_{kind}_{task:06}");
        let attempt = format!("attempt_{job}_{kind}_{task:06}_0");
        let is_map = (kind == 'm').to_string();
        [
            ("mapreduce_job_id", format!("job_{job}")),
            ("mapreduce_task_id", task_id.clone()),
            ("mapred_tip_id", task_id),
            ("mapreduce_task_attempt_id", attempt.clone()),
            ("mapred_task_id", attempt),
            ("mapreduce_task_partition", task.to_string()),
            ("mapred_task_partition", task.to_string()),
            ("mapreduce_task_ismap", is_map.clone()),
            ("mapred_task_is_map", is_map),
            ("mapreduce_job_reduces", self.reducers().to_string()),
            ("mapred_reduce_tasks", self.reducers().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        // The last step's output reader, as -r hadoop sets it: Hadoop reads
        // the lines of a text output with its `LineReader`, which a lone
        // CR ends too (the task sets such a record apart as a bad record).
        .chain(self.output_reader())
        // The jobconf as Hadoop gives it to streaming tasks (each
        // character not a letter or a digit as `_`), and --cmdenv.
        .chain(
            self.em
                .plan
                .extras
                .jobconf
                .iter()
                .map(|(k, v)| (mr_core::options::jobconf_env_name(k), v.clone())),
        )
        .chain(self.em.plan.extras.cmdenv.iter().cloned())
        .collect()
    }

    /// `stream_reduce_output` (or `stream_map_output` for a map-only
    /// step) as -r hadoop sets it for a last step that writes text.
    fn output_reader(&self) -> Option<(String, String)> {
        let last = self.step + 1 == self.em.plan.steps.len();
        let text = self.em.plan.extras.output_protocol != mr_core::OutputProtocol::Json;
        let role = if self.shape.reducer { "reduce" } else { "map" };
        (last && text).then(|| (format!("stream_{role}_output"), "keyonlytext".to_string()))
    }

    fn reducers(&self) -> usize {
        if self.shape.reducer {
            self.em.partitions
        } else {
            0
        }
    }

    /// What the mappers of this step are fed of a long line: only the
    /// first step's read the user's lines, as in the local runner.
    fn line_limit(&self) -> LineLimit {
        let mapper_max = if self.step == 0 {
            self.em.max_line
        } else {
            usize::MAX
        };
        LineLimit {
            bytes: mapper_max.saturating_add(1),
            stop_at_cut: !self.em.plan.skip_bad_records,
        }
    }

    /// A task's working directory, with the binary linked into it under its
    /// own name (as Hadoop's `-files` does).
    fn task_dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join("tasks").join(name);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let exe = dir.join(self.em.plan.binary_name());
        if !exe.exists() {
            link_binary(&running_binary(&self.em.plan.binary), &exe)?;
        }
        for (path, name) in &self.em.plan.extras.files {
            let to = dir.join(name);
            if !to.exists() {
                fs::copy(path, &to)
                    .with_context(|| format!("shipping {} to {}", path.display(), to.display()))?;
            }
        }
        Ok(dir)
    }

    /// Starts `./mr run JOB --step-num N --ROLE` in `dir`.
    fn spawn(
        &self,
        dir: &Path,
        role: TaskRole,
        env: &[(String, String)],
        what: String,
        stdin: Stdio,
        stdout: Stdio,
    ) -> Result<Proc> {
        let plan = self.em.plan;
        let mut cmd = Command::new(dir.join(plan.binary_name()));
        cmd.args(plan.task_args(self.step, role))
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {what} ({})", plan.binary.display()))?;
        let Some(err) = child.stderr.take() else {
            let _ = child.kill();
            return Err(anyhow!("internal error: {what} has no stderr pipe"));
        };
        let echo = Echo {
            bad_records: true,
            matching: None,
        };
        let stderr = match Drain::start(err, echo) {
            Ok(d) => d,
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                let refused = mr_core::Error::NoThread {
                    what: "starting a thread to read a task's stderr",
                    source,
                };
                return Err(anyhow::Error::from(refused).context(format!("starting {what}")));
            }
        };
        Ok(Proc {
            child,
            stderr,
            what,
            work: self.dir.clone(),
        })
    }

    /// Runs the step's tasks; the part files it wrote in `out_dir`.
    fn run(&self, splits: &[Split], out_dir: &Path) -> Result<(Counters, Vec<PathBuf>)> {
        let mut counters = Counters::default();
        counters.add(COUNTERS, "map tasks", splits.len() as i64);
        let map_log = self.log("map");
        // A task's input bytes: what it was fed, decoded, as the local
        // runner counts them (a `.gz` task said its file's size: probe
        // /tmp/probe17-report repro 06); asked once the task has run.
        let map_id = |s: &Split| {
            let fed = self.fed.lock().ok().and_then(|f| f.get(&s.index).copied());
            (s.index, fed.unwrap_or_else(|| s.len()))
        };
        if !self.shape.reducer {
            let c = run_tasks(self.em.threads, splits, &map_log, map_id, |split| {
                let part = out_dir.join(format!("part-{:05}", split.index));
                self.map_task(split, MapOut::File(&part))
            })?;
            map_log.phase_done();
            counters.merge(&c);
            return Ok((counters, mr_core::output::stdout::part_files(out_dir)?));
        }
        let map_out = self.dir.join("map-output");
        let c = run_tasks(self.em.threads, splits, &map_log, map_id, |split| {
            self.map_task(split, MapOut::Sorted(&map_out))
        })?;
        map_log.phase_done();
        counters.merge(&c);
        // Each partition's map outputs and their bytes, looked at once.
        let partitions: Vec<ReduceInput> = (0..self.em.partitions)
            .map(|p| {
                let sized: Vec<(PathBuf, u64)> = splits
                    .iter()
                    .filter_map(|s| {
                        let f = map_out
                            .join(format!("m-{:05}", s.index))
                            .join(format!("part-{p:05}"));
                        let len = fs::metadata(&f).ok()?.len();
                        Some((f, len))
                    })
                    .collect();
                ReduceInput {
                    partition: p,
                    bytes: sized.iter().map(|(_, n)| n).sum(),
                    files: sized.into_iter().map(|(f, _)| f).collect(),
                }
            })
            .collect();
        counters.add(COUNTERS, "reduce tasks", partitions.len() as i64);
        let reduce_log = self.log("reduce");
        let reduce_id = |r: &ReduceInput| (r.partition, r.bytes);
        let c = run_tasks(self.em.threads, &partitions, &reduce_log, reduce_id, |r| {
            let part = out_dir.join(format!("part-{:05}", r.partition));
            self.reduce_task(r, &part)
        })?;
        reduce_log.phase_done();
        self.say_dropped();
        counters.merge(&c);
        Ok((counters, mr_core::output::stdout::part_files(out_dir)?))
    }

    /// Says, once a step, which reduce tasks got no keys and wrote lines
    /// that Hadoop drops (see `reduce_task`).
    fn say_dropped(&self) {
        let Ok(mut dropped) = self.dropped.lock() else {
            return;
        };
        if dropped.is_empty() {
            return;
        }
        dropped.sort_unstable();
        let tasks: Vec<String> = dropped.iter().map(|(p, _)| p.to_string()).collect();
        let lines: usize = dropped.iter().map(|(_, n)| n).sum();
        let (n, s) = (dropped.len(), if dropped.len() == 1 { "" } else { "s" });
        mr_core::errln!(
            "mr: warning: {n} reduce task{s} of step {} got no keys (task{s} {}): Hadoop \
             Streaming never reads such a reducer's output, so the {lines} line{} their \
             finish hooks wrote (mrjob's reducer_final), and their counters, are dropped here \
             as on a cluster; the local runner keeps them. A total written under a key of its \
             own is the same everywhere",
            self.step,
            tasks.join(", "),
            if lines == 1 { "" } else { "s" }
        );
    }

    /// The record of this step's `phase` (`map` or `reduce`), starting now.
    fn log(&self, phase: &'static str) -> TaskLog<'_> {
        TaskLog {
            em: self.em,
            step: self.step,
            phase,
            started: Instant::now(),
        }
    }

    fn map_task(&self, split: &Split, out: MapOut<'_>) -> Result<Counters> {
        let m = split.index;
        let dir = self.task_dir(&format!("m-{m:05}"))?;
        let mut env = self.task_env('m', m);
        let file = match &split.file.source {
            InputSource::Path(p) | InputSource::Stream(p) => {
                // Hadoop's `file:/abs`, the name as it is (as Hadoop gives
                // it, `%` and all); a name that is not UTF-8 with the local
                // runner's escapes (its bytes as %XX: two such names are two
                // files, not one lossy name).
                let abs = fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                match abs.to_str() {
                    Some(name) => format!("file:{name}"),
                    None => {
                        let uri = InputSource::Path(abs).uri();
                        match uri.strip_prefix("file://") {
                            Some(path) => format!("file:{path}"),
                            None => uri,
                        }
                    }
                }
            }
            InputSource::Stdin => "-".to_string(),
        };
        if let InputSource::Path(_) | InputSource::Stream(_) = &split.file.source {
            // The path as given, for TaskContext::input_file to be the
            // local runner's (probe /tmp/probe4-author repro 03).
            env.push((
                mr_core::runner::task::INPUT_NAME_VAR.into(),
                split.file.display.clone(),
            ));
        }
        env.push(("mapreduce_map_input_file".into(), file.clone()));
        env.push(("map_input_file".into(), file));
        env.push(("mapreduce_map_input_start".into(), split.start.to_string()));
        env.push(("stream_map_input_ignoreKey".into(), "false".into()));
        env.push(("mapreduce_map_input_length".into(), split.len().to_string()));
        let what = format!(
            "the mapper of map task {m} of step {} (split {} bytes {}..{})",
            self.step,
            split.file.display,
            split.start,
            if split.end == u64::MAX {
                "end".to_string()
            } else {
                split.end.to_string()
            }
        );
        let stdout = match out {
            MapOut::File(part) => Stdio::from(
                File::create(part).with_context(|| format!("creating {}", part.display()))?,
            ),
            MapOut::Sorted(_) => Stdio::piped(),
        };
        let mut proc = self.spawn(&dir, TaskRole::Mapper, &env, what, Stdio::piped(), stdout)?;
        let stdin = proc.child.stdin.take();
        let stdout = proc.child.stdout.take();
        let mut counters = Counters::default();
        let mut refused = None;
        let (fed, collected) = std::thread::scope(|s| {
            let limit = self.line_limit();
            let fed_bytes = &self.em.fed_bytes;
            let feeder = match spawn_feeder(s, move || feed_split(split, limit, stdin, fed_bytes)) {
                Ok(h) => h,
                Err(e) => {
                    let _ = proc.child.kill();
                    refused = Some(e);
                    return (Ok((Fed::All, 0)), Ok(()));
                }
            };
            let collected = match (&out, stdout) {
                (MapOut::Sorted(map_out), Some(stdout)) => {
                    let r = self.collect(m, &dir, &env, map_out, stdout, &mut counters);
                    if r.is_err() {
                        // The feeder may be blocked on a mapper nobody reads.
                        let _ = proc.child.kill();
                    }
                    r
                }
                _ => Ok(()),
            };
            let fed = feeder
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the thread feeding the mapper panicked")));
            (fed, collected)
        });
        if let Some(e) = refused {
            // The mapper was killed for it: that is not what went wrong.
            let _ = proc.finish();
            return Err(e);
        }
        let what = proc.what.clone();
        counters.merge(&proc.finish()?);
        collected?;
        let (fed, bytes) = fed.with_context(|| format!("feeding {what}"))?;
        if let Ok(mut f) = self.fed.lock() {
            f.insert(m, bytes);
        }
        if fed == Fed::Early {
            anyhow::bail!(
                "{what} exited before reading all of its input \
                 (Hadoop fails such a task with \"Broken pipe\")"
            );
        }
        Ok(counters)
    }

    /// Reads a mapper's output into the sort buffer, spilling when full,
    /// then merges the spills into one sorted file a partition.
    fn collect(
        &self,
        m: usize,
        task_dir: &Path,
        env: &[(String, String)],
        map_out: &Path,
        stdout: ChildStdout,
        counters: &mut Counters,
    ) -> Result<()> {
        let out_dir = map_out.join(format!("m-{m:05}"));
        fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.em.seed);
        rng.set_stream(((self.step as u64) << 32) | m as u64);
        let (key_fields, fan_in) = (self.shape.key_fields(), self.em.fan_in);
        let partitions = self.em.partitions;
        let mut buf = MapBuffer::default();
        let mut spills: Vec<Vec<PathBuf>> = vec![Vec::new(); partitions];
        let mut n_spills = 0usize;
        let mut reader = LineReader::new(stdout, 0, u64::MAX);
        while let Some((_, line)) = reader
            .next_line()
            .with_context(|| format!("reading the output of map task {m}"))?
        {
            let k = key_len(line, key_fields);
            let start = buf.data.len();
            buf.data.extend_from_slice(line);
            buf.data.push(b'\n');
            buf.recs.push(Rec {
                partition: hadoop_partition(&line[..k], key_fields, partitions) as u32,
                start,
                key_len: k as u32,
                len: line.len() as u32,
            });
            if buf.bytes() >= self.em.task_buffer {
                self.spill(
                    task_dir,
                    env,
                    &out_dir,
                    &mut buf,
                    n_spills,
                    &mut spills,
                    &mut rng,
                    counters,
                )?;
                n_spills += 1;
            }
        }
        if !buf.recs.is_empty() {
            self.spill(
                task_dir,
                env,
                &out_dir,
                &mut buf,
                n_spills,
                &mut spills,
                &mut rng,
                counters,
            )?;
            n_spills += 1;
        }
        counters.add(COUNTERS, "spills", n_spills as i64);
        for (p, runs) in spills.iter().enumerate() {
            let part = out_dir.join(format!("part-{p:05}"));
            match runs.len() {
                0 => {}
                1 => fs::rename(&runs[0], &part)
                    .with_context(|| format!("renaming {}", runs[0].display()))?,
                n => {
                    let file = File::create(&part)
                        .with_context(|| format!("creating {}", part.display()))?;
                    let combine =
                        self.shape.combiner && n >= MIN_SPILLS_FOR_COMBINE && rng.gen_bool(0.5);
                    if combine {
                        let c = self.combine(task_dir, env, 1, file, |w| {
                            merge_sorted_lines_within(runs, key_fields, fan_in, task_dir, w)
                                .map_err(io::Error::from)
                        })?;
                        counters.merge(&c);
                    } else {
                        let mut w = BufWriter::with_capacity(1 << 16, file);
                        merge_sorted_lines_within(runs, key_fields, fan_in, task_dir, &mut w)
                            .map_err(io::Error::from)
                            .and_then(|()| w.flush())
                            .with_context(|| format!("merging spills into {}", part.display()))?;
                    }
                    for r in runs {
                        let _ = fs::remove_file(r);
                    }
                }
            }
        }
        Ok(())
    }

    /// Sorts the buffer by (partition, key bytes), ties in random order, and
    /// writes one spill file a partition, each through the combiner 0, 1 or
    /// 2 times.
    #[allow(clippy::too_many_arguments)]
    fn spill(
        &self,
        task_dir: &Path,
        env: &[(String, String)],
        out_dir: &Path,
        buf: &mut MapBuffer,
        n: usize,
        spills: &mut [Vec<PathBuf>],
        rng: &mut ChaCha8Rng,
        counters: &mut Counters,
    ) -> Result<()> {
        let mut recs = std::mem::take(&mut buf.recs);
        recs.shuffle(rng);
        recs.sort_by(|a, b| {
            a.partition
                .cmp(&b.partition)
                .then_with(|| buf.key(a).cmp(buf.key(b)))
        });
        for group in recs.chunk_by(|a, b| a.partition == b.partition) {
            let p = group[0].partition as usize;
            let path = out_dir.join(format!("spill-{n:04}-{p:05}"));
            let file =
                File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let times = if self.shape.combiner {
                match rng.gen_range(0..4) {
                    0 => 0,
                    3 => 2,
                    _ => 1,
                }
            } else {
                0
            };
            let write = |w: &mut dyn Write| -> io::Result<()> {
                for r in group {
                    w.write_all(buf.line(r))?;
                }
                Ok(())
            };
            if times == 0 {
                let mut w = BufWriter::with_capacity(1 << 16, file);
                write(&mut w)
                    .and_then(|()| w.flush())
                    .with_context(|| format!("writing {}", path.display()))?;
            } else {
                counters.merge(&self.combine(task_dir, env, times, file, write)?);
            }
            spills[p].push(path);
        }
        buf.data.clear();
        recs.clear();
        buf.recs = recs;
        Ok(())
    }

    /// Pipes what `feed` writes through the combiner `times` times (a
    /// pipeline `combiner | combiner`), into `out`.
    fn combine(
        &self,
        task_dir: &Path,
        env: &[(String, String)],
        times: usize,
        out: File,
        feed: impl FnOnce(&mut dyn Write) -> io::Result<()> + Send,
    ) -> Result<Counters> {
        let mut procs: Vec<Proc> = Vec::new();
        let mut out = Some(out);
        let mut first_stdin = None;
        let mut prev_stdout: Option<ChildStdout> = None;
        for i in 0..times {
            let last = i + 1 == times;
            let stdin = match prev_stdout.take() {
                Some(s) => Stdio::from(s),
                None => Stdio::piped(),
            };
            let stdout = match out.take_if(|_| last) {
                Some(f) => Stdio::from(f),
                None => Stdio::piped(),
            };
            let what = format!(
                "the combiner (run {} of {times} in a row) of a map task of step {}",
                i + 1,
                self.step
            );
            let mut p = self.spawn(task_dir, TaskRole::Combiner, env, what, stdin, stdout)?;
            if i == 0 {
                first_stdin = p.child.stdin.take();
            }
            if !last {
                prev_stdout = p.child.stdout.take();
            }
            procs.push(p);
        }
        let fed = std::thread::scope(|s| {
            let h = spawn_feeder(s, move || -> io::Result<Fed> {
                let Some(stdin) = first_stdin else {
                    return Ok(Fed::All);
                };
                let mut w = BufWriter::with_capacity(1 << 16, stdin);
                fed(feed(&mut w).and_then(|()| w.flush()))
            })
            .map_err(io::Error::other)?;
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("the feeding thread panicked")))
        });
        let mut counters = Counters::default();
        let mut whats = Vec::new();
        for p in procs {
            whats.push(p.what.clone());
            counters.merge(&p.finish()?);
        }
        counters.add(COUNTERS, "combiner runs", times as i64);
        if fed.context("feeding the combiner")? == Fed::Early {
            anyhow::bail!("{} exited before reading all of its input", whats[0]);
        }
        Ok(counters)
    }

    fn reduce_task(&self, input: &ReduceInput, part: &Path) -> Result<Counters> {
        let (p, inputs) = (input.partition, &input.files[..]);
        let dir = self.task_dir(&format!("r-{p:05}"))?;
        let env = self.task_env('r', p);
        let mut out = File::create(part).with_context(|| format!("creating {}", part.display()))?;
        // A reduce task without keys: Hadoop Streaming starts the reducer,
        // but reads its output (and its counters) only once `reduce` is
        // called, so what its `finish` writes is consumed and dropped
        // (PipeMapRed.waitOutputThreads), and the part file stays empty.
        let keyless = input.bytes == 0;
        let dropped = dir.join("dropped-output");
        if keyless {
            out = File::create(&dropped)
                .with_context(|| format!("creating {}", dropped.display()))?;
        }
        let what = format!("the reducer of reduce task {p} of step {}", self.step);
        let mut proc = self.spawn(
            &dir,
            TaskRole::Reducer,
            &env,
            what,
            Stdio::piped(),
            Stdio::from(out),
        )?;
        let stdin = proc.child.stdin.take();
        let (key_fields, fan_in) = (self.shape.key_fields(), self.em.fan_in);
        let fed = std::thread::scope(|s| {
            spawn_feeder(s, move || -> io::Result<Fed> {
                let Some(stdin) = stdin else {
                    return Ok(Fed::All);
                };
                let mut w = BufWriter::with_capacity(1 << 16, stdin);
                fed(
                    merge_sorted_lines_within(inputs, key_fields, fan_in, &dir, &mut w)
                        .map_err(io::Error::from)
                        .and_then(|()| w.flush()),
                )
            })
            .map_err(io::Error::other)?
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the feeding thread panicked")))
        });
        let what = proc.what.clone();
        let counters = proc.finish()?;
        if fed.with_context(|| format!("feeding {what}"))? == Fed::Early {
            anyhow::bail!(
                "{what} exited before reading all of its input \
                 (Hadoop fails such a task with \"Broken pipe\")"
            );
        }
        if keyless {
            // Counted a buffer at a time: a finish hook may write much.
            let lines = File::open(&dropped)
                .and_then(|f| {
                    let mut r = io::BufReader::with_capacity(1 << 16, f);
                    let mut n = 0;
                    loop {
                        let buf = io::BufRead::fill_buf(&mut r)?;
                        if buf.is_empty() {
                            return Ok(n);
                        }
                        n += buf.iter().filter(|&&c| c == b'\n').count();
                        let len = buf.len();
                        io::BufRead::consume(&mut r, len);
                    }
                })
                .unwrap_or(0);
            if lines > 0
                && let Ok(mut d) = self.dropped.lock()
            {
                d.push((p, lines));
            }
            return Ok(Counters::default());
        }
        Ok(counters)
    }
}

/// What a reduce task reads: its partition's map outputs, and their bytes
/// (none: a task without keys).
struct ReduceInput {
    partition: usize,
    files: Vec<PathBuf>,
    bytes: u64,
}

/// Where a map task's output goes.
enum MapOut<'a> {
    /// A map-only step: straight into this part file.
    File(&'a Path),
    /// Partitioned, sorted, combined, under this directory.
    Sorted(&'a Path),
}

/// How much of a long input line the emulator feeds a mapper.
#[derive(Debug, Clone, Copy)]
struct LineLimit {
    /// Lines longer than this are fed cut to this length.
    bytes: usize,
    /// Feed nothing after a cut line (a strict run's mapper fails on it).
    stop_at_cut: bool,
}

/// Writes the lines of a split to a mapper's stdin. A line over the
/// mapper's `--max-line-mb` is fed cut one byte past it: the task then
/// fails on it, or keeps it aside under `--skip-bad-records`, as the local
/// runner does, and the emulator never holds an endless line (`/dev/zero`)
/// in memory.
fn feed_split(
    split: &Split,
    limit: LineLimit,
    stdin: Option<ChildStdin>,
    fed_bytes: &std::sync::atomic::AtomicU64,
) -> Result<(Fed, u64)> {
    let Some(stdin) = stdin else {
        return Ok((Fed::All, 0));
    };
    let mut reader = open_split(split, None)?;
    let first = reader.position();
    reader.set_max_line(limit.bytes);
    if limit.stop_at_cut {
        reader.stop_at_cut();
    }
    let mut w = BufWriter::with_capacity(1 << 16, stdin);
    let mut write = || -> io::Result<()> {
        // As Hadoop with `stream.map.input.ignoreKey=false` (what -r hadoop
        // sets): each line after its byte offset in the file.
        while let Some((offset, line)) = reader.next_line()? {
            write!(w, "{offset}\t")?;
            w.write_all(line)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    let r = write();
    let bytes = reader.position().saturating_sub(first);
    fed_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    fed(r)
        .map(|f| (f, bytes))
        .with_context(|| format!("reading {}", split.file.display))
}

/// The binary the tasks run: the one this run started with, as Hadoop
/// ships one copy of the program per job. On Linux `/proc/self/exe`, which
/// a task's exec resolves to the program of the process that forks it (mr
/// itself), even once the file at `binary` was replaced or removed (a
/// rebuild, a package upgrade during a nightly run: before, later tasks
/// ran the new program, or failed); elsewhere `binary`.
fn running_binary(binary: &Path) -> PathBuf {
    let own = Path::new("/proc/self/exe");
    if own.exists() {
        own.to_path_buf()
    } else {
        binary.to_path_buf()
    }
}

/// Puts the binary into a task directory.
fn link_binary(binary: &Path, to: &Path) -> Result<()> {
    #[cfg(unix)]
    let r = std::os::unix::fs::symlink(binary, to);
    #[cfg(not(unix))]
    let r = fs::copy(binary, to).map(|_| ());
    r.with_context(|| format!("linking {} into {}", binary.display(), to.display()))
}

/// Runs `task` on each item, on `threads` threads, until all are done, one
/// fails or the run is cancelled (the first error is returned; no new task
/// starts after it).
/// Starts the thread that feeds a task's stdin; a thread the system
/// refuses (a pids limit, `ulimit -u`) is an error that says so, not a
/// panic.
fn spawn_feeder<'scope, 'env, T: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, 'env>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<std::thread::ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new()
        .spawn_scoped(s, f)
        .map_err(|source| {
            mr_core::Error::NoThread {
                what: "starting a thread to feed a task",
                source,
            }
            .into()
        })
}

/// Where a phase's tasks are recorded for the report.
struct TaskLog<'a> {
    em: &'a Emulator<'a>,
    step: usize,
    phase: &'static str,
    started: Instant,
}

impl TaskLog<'_> {
    /// Records task `task` (of `bytes` input), run by worker `thread` from
    /// `start` to now, with the `counters` its process reported.
    fn task_done(&self, task: usize, bytes: u64, thread: usize, start: Instant, c: &Counters) {
        let secs = |t: Instant| t.duration_since(self.em.started).as_secs_f64();
        let count = |name: &str| {
            let n = c.get(
                mr_core::counters::FRAMEWORK,
                &format!("{} {name}", self.phase),
            );
            u64::try_from(n).unwrap_or(0)
        };
        let record = TaskRecord {
            step: self.step,
            phase: self.phase,
            task,
            piece: None,
            thread,
            start: secs(start),
            end: secs(Instant::now()),
            merge_end: None,
            input_bytes: bytes,
            records_in: count("input records"),
            records_out: count("output records"),
            // The spill files its sort buffer wrote (the emulator's own
            // counter: a map task's last flush is one), where the report
            // said 0 (probe /tmp/probe17-report repro 04).
            spills: u64::try_from(c.get(COUNTERS, "spills")).unwrap_or(0),
        };
        if let Ok(mut t) = self.em.timeline.lock() {
            t.1.push(record);
        }
    }

    /// Records the phase's wall time, from its start to now.
    fn phase_done(&self) {
        let record = PhaseRecord {
            step: self.step,
            phase: self.phase,
            secs: self.started.elapsed().as_secs_f64(),
        };
        if let Ok(mut t) = self.em.timeline.lock() {
            t.0.push(record);
        }
    }
}

/// Runs `task` on each of `items` on `threads` workers, stopping at the
/// first error; each task is recorded in `log` under `id`'s task number
/// and input bytes. The tasks' counters, summed.
fn run_tasks<T: Sync>(
    threads: usize,
    items: &[T],
    log: &TaskLog<'_>,
    id: impl Fn(&T) -> (usize, u64) + Sync,
    task: impl Fn(&T) -> Result<Counters> + Sync,
) -> Result<Counters> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let total = Mutex::new(Counters::default());
    let work = |thread: usize| {
        loop {
            if failed.load(Ordering::Relaxed) {
                return;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return;
            };
            let start = Instant::now();
            // Ctrl-C or SIGTERM: no new task starts (running ones get
            // the signal from the terminal, or finish).
            let r = mr_core::cancel::check()
                .map_err(anyhow::Error::from)
                .and_then(|()| task(item));
            match r {
                Ok(c) => {
                    // After the task: its figures may be its own (a map
                    // task's decoded input).
                    let (task_number, bytes) = id(item);
                    log.task_done(task_number, bytes, thread, start, &c);
                    if let Ok(mut t) = total.lock() {
                        t.merge(&c);
                    }
                }
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    if let Ok(mut f) = first_error.lock() {
                        f.get_or_insert(e);
                    }
                    return;
                }
            }
        }
    };
    std::thread::scope(|s| {
        // Workers as the system gives threads (a pids limit may refuse
        // some): with none, this thread does the work.
        let work = &work;
        let started = (0..threads.clamp(1, items.len().max(1)))
            .take_while(|&t| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || work(t))
                    .is_ok()
            })
            .count();
        if started == 0 {
            work(0);
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        // A task that died of the terminal's Ctrl-C (it reaches the tasks
        // too): the run was interrupted, which is what is said (exit 130).
        if mr_core::cancel::requested() {
            return Err(mr_core::Error::Interrupted.into());
        }
        return Err(e);
    }
    total
        .into_inner()
        .map_err(|_| anyhow!("internal error: a task thread panicked"))
}

/// The splits of a whole-file first step, as Hadoop makes them with
/// `NLineInputFormat` over `-r hadoop`'s input manifest: a manifest in the
/// work directory, one file's URI a line (a JSON string), and one split a
/// line.
/// The splits Hadoop makes of `files`: mr's, and an empty one for each empty
/// file, as FileInputFormat makes one, so that its map task runs (a
/// mapper's final hook emits: mr_wc's zeros on an input of one empty file,
/// which Hadoop, Spark and the local runner write and the emulator did not:
/// probe /tmp/probe5-runners repro 03).
fn hadoop_splits(files: Vec<mr_core::input::InputFile>, chunk_size: u64) -> Vec<Split> {
    let empty: Vec<_> = files
        .iter()
        .filter(|f| f.size == 0 && !f.source.is_stream())
        .cloned()
        .collect();
    let mut splits = make_splits(files, chunk_size);
    for file in empty {
        splits.push(Split {
            index: splits.len(),
            file: std::sync::Arc::new(file),
            start: 0,
            end: 0,
        });
    }
    splits
}

fn manifest_splits(files: &[mr_core::input::InputFile], work: &Path) -> Result<Vec<Split>> {
    let mut text = String::new();
    let mut ranges = Vec::new();
    for f in files {
        let InputSource::Path(_) = &f.source else {
            anyhow::bail!(
                "{}: a step that reads whole files reads them off the cluster: \
                 save stdin or a pipe to a file first",
                f.display
            );
        };
        let start = text.len() as u64;
        text.push_str(&mr_core::input::whole_file::manifest_line(&f.source.uri()));
        text.push('\n');
        ranges.push((start, text.len() as u64));
    }
    let path = work.join("manifest");
    fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let manifest = std::sync::Arc::new(mr_core::input::InputFile {
        source: InputSource::Path(path.clone()),
        display: path.display().to_string(),
        size: text.len() as u64,
        compression: mr_core::input::listing::Compression::None,
        id: None,
    });
    Ok(ranges
        .into_iter()
        .enumerate()
        .map(|(index, (start, end))| Split {
            index,
            file: manifest.clone(),
            start,
            end,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::output::stdout::merge_sorted_lines;

    #[test]
    fn merge_files_orders_by_key_fields_and_keeps_file_order_on_ties() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        fs::write(&a, "\"a\"\t1\n\"b\"\t2\n\"b\"\t3").unwrap();
        fs::write(&b, "\"a\"\t4\n\"ab\"\t5\n").unwrap();
        let mut out = Vec::new();
        merge_sorted_lines(&[a.clone(), b.clone()], 1, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\"\t1\n\"a\"\t4\n\"ab\"\t5\n\"b\"\t2\n\"b\"\t3\n"
        );
        fs::write(&a, "\"u\"\t02\tx\n").unwrap();
        fs::write(&b, "\"u\"\t01\ty\n").unwrap();
        let mut out = Vec::new();
        merge_sorted_lines(&[a, b], 2, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"u\"\t01\ty\n\"u\"\t02\tx\n"
        );
    }

    /// A plan of no steps, for an [`Emulator`] made by [`emulator`].
    fn no_plan() -> JobPlan {
        JobPlan {
            job: "j".into(),
            binary: "/bin/mr".into(),
            steps: vec![],
            skip_bad_records: false,
            extras: Default::default(),
        }
    }

    /// An emulator of `plan` with 4 reducers, as run 42.
    fn emulator(plan: &JobPlan) -> Emulator<'_> {
        Emulator {
            plan,
            seed: 0,
            threads: 1,
            fan_in: 64,
            partitions: 4,
            task_buffer: 1024,
            pid: 42,
            max_line: usize::MAX,
            fed_bytes: Default::default(),
            started: Instant::now(),
            timeline: Mutex::default(),
        }
    }

    #[test]
    fn tasks_get_hadoops_variables() {
        let plan = no_plan();
        let em = emulator(&plan);
        let step = StepRun {
            em: &em,
            step: 1,
            shape: StepPlan {
                combiner: false,
                reducer: true,
                sort_values: false,
                whole_files: false,
            },
            dir: PathBuf::new(),
            dropped: Mutex::default(),
            fed: Mutex::default(),
        };
        let env: std::collections::HashMap<_, _> = step.task_env('r', 3).into_iter().collect();
        assert_eq!(
            env["mapreduce_task_attempt_id"],
            "attempt_emulate42_0002_r_000003_0"
        );
        assert_eq!(env["mapreduce_task_partition"], "3");
        assert_eq!(env["mapreduce_task_ismap"], "false");
        assert_eq!(env["mapreduce_job_id"], "job_emulate42_0002");
        assert_eq!(env["mapreduce_job_reduces"], "4");
    }

    /// Hadoop's "Too many counters": a step whose tasks made more than
    /// `mapreduce.job.counters.max` (120) fails, as on a cluster; the
    /// emulator's own counters are not the job's.
    #[test]
    fn a_step_with_too_many_counters_fails_as_on_hadoop() {
        let mut c = Counters::default();
        c.add(COUNTERS, "map tasks", 3);
        for i in 0..120 {
            c.add("words", &format!("w{i}"), 1);
        }
        assert!(refuse_too_many_counters(0, &c, &[]).is_ok());
        c.add("words", "one more", 1);
        let e = refuse_too_many_counters(1, &c, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("step 1 made 121 counters") && e.contains("more than 120"),
            "{e}"
        );
        let more = [("mapreduce.job.counters.max".to_string(), "500".to_string())];
        assert!(refuse_too_many_counters(1, &c, &more).is_ok());
    }

    #[test]
    fn run_tasks_stops_at_the_first_error() {
        let plan = no_plan();
        let em = emulator(&plan);
        let items: Vec<usize> = (0..100).collect();
        let log = TaskLog {
            em: &em,
            step: 0,
            phase: "map",
            started: Instant::now(),
        };
        let id = |&i: &usize| (i, 10);
        let r = run_tasks(2, &items, &log, id, |&i| {
            if i == 5 {
                anyhow::bail!("task {i} failed")
            }
            let mut c = Counters::default();
            c.add("g", "n", 1);
            Ok(c)
        });
        assert_eq!(r.unwrap_err().to_string(), "task 5 failed");
        // The tasks that ended before it stopped are recorded; counted
        // apart from the next run's.
        let before = em.timeline.lock().unwrap().1.len();
        let c = run_tasks(3, &items, &log, id, |&i| {
            let mut c = Counters::default();
            c.add("g", "n", 1);
            c.add(mr_core::counters::FRAMEWORK, "map input records", i as i64);
            Ok(c)
        })
        .unwrap();
        assert_eq!(c.get("g", "n"), 100);
        // Each task that ended is in the timeline, once, with its records.
        let (_, tasks) = em.timeline.into_inner().unwrap();
        let done: Vec<&TaskRecord> = tasks[before..]
            .iter()
            .filter(|t| t.records_in == 7)
            .collect();
        assert_eq!(done.len(), 1, "{tasks:?}");
        assert_eq!((done[0].task, done[0].input_bytes), (7, 10));
        assert!(done[0].end >= done[0].start && done[0].thread < 3);
        assert_eq!(tasks.len() - before, 100);
    }
}
