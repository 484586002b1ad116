//! `mr check JOB --input SAMPLE`: checks that a job gives the same results
//! however the engine splits, spills, partitions and combines its data.
//!
//! 1. Reads a sample of the input (by default 10,000 lines, the first lines
//!    of each input file, shared evenly) and runs the job on it in memory,
//!    recording what each step's mapper emits. As a run's map tasks do,
//!    about 8 mappers read it (a file at least one, none two files), each
//!    told its file's URI; a CSV file's first line is its header.
//! 2. Checks the laws of [`mr_core::laws`] on the recorded values: the
//!    combiner keeps its key; the reducer is deterministic and does not care
//!    about the order of values (unless the step sorts them); combining any
//!    groups of the values, any number of times, does not change the output.
//!    A broken law is shrunk to a smallest counterexample, printed as JSON.
//! 3. Runs the whole job `--runs` times with the local runner on the sample,
//!    under random settings (threads, partitions, chunk size, a sort buffer
//!    down to 1 KiB that forces spills, and so combiner runs, merge fan-in),
//!    and compares each output with the plain in-memory run (no combiner).
//!    The runs read each sampled file as a file of its own, plain or
//!    gzipped, and the plain run reads them under the same names.
//!
//! Cost: the sample is held in memory; each run spills to the temp dir.
//! Exit status 1 when a law is broken or a run differs.

use crate::Registry;
use anyhow::Context;
use mr_core::counters::FRAMEWORK;
use mr_core::input::lines::open_split;
use mr_core::input::{list_inputs, make_splits};
use mr_core::laws::{self, LawConfig};
use mr_core::testing::FileLines;
use mr_core::{Job, RunConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `mr check` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The job: its name (`word_count`) or its path in the repo (`jobs/word_count`).
    pub job: String,

    /// Sample input: a file, a directory, a glob, or `-` for stdin; `.gz`
    /// files are decompressed. Repeatable.
    #[arg(short, long = "input", value_name = "PATH", required = true)]
    pub inputs: Vec<String>,

    /// Lines of input to sample, taken evenly from the input files (the first
    /// lines of each). All of them are held in memory.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub sample_lines: usize,

    /// Whole-job runs with random settings, each compared with the plain
    /// in-memory run. Each costs about as much as `mr run` on the sample with
    /// a tiny sort buffer (1 KiB, or larger when the sample's map output would
    /// spill more than a thousand or two times).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub runs: usize,

    /// Property-test cases per step: each picks a key, some of its recorded
    /// values, an order and a way to combine them.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub cases: u32,

    /// The job's own options (`mr check JOB --help` lists them), as `mr run`
    /// takes them; unset ones take their defaults.
    #[arg(skip)]
    pub job_options: BTreeMap<String, String>,

    /// Seed of the random cases and settings: the same seed checks the same
    /// cases.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `println!` that returns a closed stdout (`mr check | head`) as an
/// error, where `println!` panics. What it prints holds keys and values of
/// the data (counterexamples, differing lines): control, C1 and bidi
/// characters are shown escaped, never sent to the terminal (U+009B, a CSI,
/// and U+202E reached it raw: probe /tmp/probe3-report repro 02).
macro_rules! say {
    ($($t:tt)*) => {
        writeln!(std::io::stdout(), "{}", mr_core::error::printable(&format!($($t)*)))
            .map_err(mr_core::Error::Stdout)?
    };
}

/// `print!`, as [`say!`].
macro_rules! say_part {
    ($($t:tt)*) => {
        write!(std::io::stdout(), "{}", mr_core::error::printable(&format!($($t)*)))
            .map_err(mr_core::Error::Stdout)?
    };
}

/// Runs `mr check`; prints its findings on stdout. Returns false when a law
/// is broken or a run's output differs.
pub fn run(registry: &Registry, args: &CheckArgs) -> anyhow::Result<bool> {
    if args.cases == 0 && args.runs == 0 {
        crate::usage!("--cases 0 with --runs 0 leaves nothing to check");
    }
    let job = registry.resolve(&args.job)?;
    let job = job.as_ref();
    // The job's options: their defaults, and what the command line sets;
    // and the steps they choose (`Job::steps_for`), whose laws are checked.
    let mut given = mr_core::JobParams::default();
    given.options = args.job_options.clone();
    let mut params = given.with_defaults_of(job);
    crate::cmd::run::ship_file_options(job, &mut params)?;
    let params = Arc::new(params);
    let steps = mr_core::job::steps_of(job, &params)?;
    let whole = steps.first().is_some_and(|s| s.reads_whole_files());
    let (input, whole_files) = if whole {
        let files = sample_files(&args.inputs, args.sample_lines)?;
        say!(
            "mr check: {} on {} whole files (its mapper reads files), seed {}",
            job.name(),
            files.files.len(),
            args.seed
        );
        let lines: Vec<Vec<u8>> = files
            .files
            .iter()
            .map(|(_, uri)| mr_core::input::whole_file::manifest_line(uri).into_bytes())
            .collect();
        (Input::Manifest(lines), Some(files))
    } else {
        let (sampled, files) = read_sample(&args.inputs, args.sample_lines)?;
        say!(
            "mr check: {} on {} sample lines from {} file{}, seed {}",
            job.name(),
            sampled.iter().map(|f| f.lines.len()).sum::<usize>(),
            files,
            if files == 1 { "" } else { "s" },
            args.seed
        );
        (Input::Files(sampled), None)
    };
    let sample = match &input {
        Input::Manifest(lines) => laws::record_sample_with(job, &params, lines),
        Input::Files(files) => laws::record_sample_files(job, &params, files),
    }
    .context("running the job on the sample")?;
    let cfg = LawConfig {
        cases: args.cases,
        seed: args.seed,
        params: params.clone(),
        ..LawConfig::default()
    };
    let (mut broken, mut checked, mut lawful, mut thin) = (0, 0, 0, 0);
    for (step, recorded) in steps.iter().zip(&sample.steps) {
        let i = recorded.step;
        let names: Vec<&str> = laws::laws_for(step).iter().map(|l| l.name()).collect();
        let rejected = match recorded.rejected_lines {
            0 => String::new(),
            n => format!(", {n} input lines rejected by the mapper and skipped"),
        };
        if names.is_empty() {
            say!("step {i}: map-only, no laws to check{rejected}");
            continue;
        }
        lawful += 1;
        if recorded.is_empty() {
            say!("step {i}: the mapper emitted nothing on the sample: nothing to check{rejected}");
            continue;
        }
        say_part!(
            "step {i}: {} values of {} keys recorded{rejected}; laws {}: ",
            recorded.values(),
            recorded.keys(),
            names.join(", ")
        );
        checked += 1;
        match cfg.check_recorded(step, recorded) {
            Ok(()) if !recorded.has_two_values_of_a_key() => {
                thin += 1;
                say!(
                    "ok ({} cases), but weak: no key has two values in the sample, so each \
                     case repeats one value (an average of averages, or a reducer that \
                     depends on the order of its values, passes such cases): check on more \
                     lines (--sample-lines) or input where keys repeat",
                    cfg.cases
                )
            }
            Ok(()) => say!("ok ({} cases)", cfg.cases),
            Err(v) => {
                broken += 1;
                say!("BROKEN\n{v}");
            }
        }
    }

    let differ = whole_job_runs(job, &sample, args, &params, whole_files.as_ref())?;
    if lawful > 0 && checked == 0 {
        // Not a pass: nothing reached a combiner or reducer.
        say!(
            "mr check: {}: nothing checked: the mapper emitted nothing on the sample \
             (is it this job's input?)",
            job.name()
        );
        return Ok(false);
    }
    if broken == 0 && differ == 0 {
        match thin {
            0 => say!("mr check: {}: ok", job.name()),
            _ => say!(
                "mr check: {}: ok, on a sample too thin to test much (see above)",
                job.name()
            ),
        }
        return Ok(true);
    }
    let mut why = Vec::new();
    if broken > 0 {
        why.push(match broken {
            1 => "1 step breaks a law".to_string(),
            n => format!("{n} steps break a law"),
        });
    }
    if differ > 0 {
        why.push(format!(
            "{differ} of {} run{} gave other results than the plain run",
            args.runs,
            if args.runs == 1 { "" } else { "s" }
        ));
    }
    say!("mr check: {}: FAILED: {}", job.name(), why.join("; "));
    Ok(false)
}

/// What the job is checked on.
enum Input {
    /// For a mapper that reads whole files: a manifest line per file.
    Manifest(Vec<Vec<u8>>),
    /// The sampled lines of each input file.
    Files(Vec<FileLines>),
}

/// Reads up to `max` lines, an even share from each input file (the first
/// lines of each, so a CSV file's header with them; what a short file
/// leaves of its share goes to the files after it); returns them file by
/// file, and the number of files.
fn read_sample(inputs: &[String], max: usize) -> anyhow::Result<(Vec<FileLines>, usize)> {
    let files = list_inputs(inputs)?;
    let n = files.len();
    let mut sampled = Vec::new();
    let mut total = 0;
    for (i, split) in make_splits(files, u64::MAX).into_iter().enumerate() {
        let share = (max - total).div_ceil(n.saturating_sub(i).max(1));
        let mut reader = open_split(&split, None)?;
        // A line too long for a run's mapper is not sampled (nor held).
        reader.set_max_line(mr_core::input::lines::DEFAULT_MAX_LINE_BYTES);
        let mut lines = Vec::new();
        while lines.len() < share {
            let Some((_, line, cut)) = reader
                .next_line_cut()
                .with_context(|| format!("reading {}", split.file.display))?
            else {
                break;
            };
            if !cut {
                lines.push(line.to_vec());
            }
        }
        total += lines.len();
        if !lines.is_empty() {
            sampled.push(FileLines {
                uri: split.file.source.uri(),
                lines,
            });
        }
    }
    Ok((sampled, n))
}

/// For a job whose mapper reads whole files: up to `max` input files (the
/// first listed), as paths and `file://` URIs, the lines its mapper reads.
/// The whole-job runs read the inputs as given when every file is taken:
/// a name that is not UTF-8 has no path here but its lossy display.
fn sample_files(inputs: &[String], max: usize) -> anyhow::Result<WholeFiles> {
    let listed = list_inputs(inputs)?;
    let all = listed.len() <= max;
    let mut files = Vec::new();
    for f in listed.into_iter().take(max) {
        if f.source.is_stream() {
            anyhow::bail!(
                "{}: a job whose mapper reads whole files is checked on files",
                f.display
            );
        }
        files.push((f.display.clone(), f.source.uri()));
    }
    let read = if all {
        inputs.to_vec()
    } else {
        files.iter().map(|(p, _)| p.clone()).collect()
    };
    Ok(WholeFiles { files, read })
}

/// The files a check of a whole-file job takes.
struct WholeFiles {
    /// Each file's display path and URI.
    files: Vec<(String, String)>,
    /// What the whole-job runs read to read them.
    read: Vec<String>,
}

/// UTF-8's byte-order mark, which a reader drops at the start of a file.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// The settings of one whole-job run.
struct Settings {
    jobs: usize,
    partitions: usize,
    chunk_size: u64,
    sort_buffer_bytes: u64,
    merge_fan_in: usize,
    /// The sample as `.gz` files (one split each, or cut into pieces).
    gzip: bool,
    cut_streams: mr_core::CutStreams,
}

impl Settings {
    /// Run 0 forces the most splitting (smallest buffer, fan-in 2); the others
    /// are random. The sort buffer goes down to `min_buffer`.
    fn draw(rng: &mut ChaCha8Rng, run: usize, input_bytes: u64, min_buffer: u64) -> Settings {
        let input = input_bytes.max(1024);
        if run == 0 {
            return Settings {
                jobs: 2,
                partitions: 3,
                chunk_size: (input / 8).max(1024),
                sort_buffer_bytes: min_buffer,
                merge_fan_in: 2,
                gzip: false,
                cut_streams: mr_core::CutStreams::Auto,
            };
        }
        // Log-uniform: as many small settings as large ones.
        let log_uniform = |rng: &mut ChaCha8Rng, lo: u64, hi: u64| -> u64 {
            let (a, b) = ((lo as f64).ln(), (hi.max(lo) as f64).ln());
            (a + (b - a) * rng.r#gen::<f64>()).exp() as u64
        };
        Settings {
            jobs: rng.gen_range(1..=3),
            partitions: rng.gen_range(1..=7),
            chunk_size: log_uniform(rng, 1024, input),
            sort_buffer_bytes: log_uniform(rng, min_buffer, (256 << 10).max(min_buffer * 64)),
            merge_fan_in: rng.gen_range(2..=16),
            gzip: rng.gen_bool(1.0 / 3.0),
            cut_streams: match rng.gen_range(0..3) {
                0 => mr_core::CutStreams::Auto,
                1 => mr_core::CutStreams::Always,
                _ => mr_core::CutStreams::Never,
            },
        }
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "jobs {}, partitions {}, chunk {}, sort buffer {}, fan-in {}",
            self.jobs,
            self.partitions,
            human(self.chunk_size),
            human(self.sort_buffer_bytes),
            self.merge_fan_in
        );
        if self.gzip {
            s.push_str(&format!(", gzip (cut {:?})", self.cut_streams).to_lowercase());
        }
        s
    }
}

fn human(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    }
}

/// Spills a whole-job run should cause at most, about: the smallest sort
/// buffer is 1 KiB, or larger on a sample with much map output, so that a
/// run costs seconds, not minutes.
const MAX_SPILLS: u64 = 1024;
/// Estimated bytes a buffered record costs beyond its key and value.
const RECORD_OVERHEAD: u64 = 100;
/// Most worker threads of a run.
const MAX_JOBS: u64 = 3;

/// The smallest sort buffer for runs on `sample`.
fn min_buffer(sample: &laws::Sample) -> u64 {
    let map_output = sample
        .steps
        .iter()
        .map(|s| s.bytes() as u64 + s.values() as u64 * RECORD_OVERHEAD)
        .max()
        .unwrap_or(0);
    (map_output * MAX_JOBS / MAX_SPILLS).max(1024)
}

/// Writes `data` gzipped to `path`.
fn write_gz(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data)
        .and_then(|()| gz.finish())
        .and_then(|bytes| std::fs::write(path, bytes))
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs the job `args.runs` times on `lines` under random settings and
/// compares each output with the plain in-memory run; returns how many differ.
fn whole_job_runs(
    job: &dyn Job,
    sample: &laws::Sample,
    args: &CheckArgs,
    params: &Arc<mr_core::JobParams>,
    whole_files: Option<&WholeFiles>,
) -> anyhow::Result<usize> {
    if args.runs == 0 {
        return Ok(0);
    }
    // A run's temp dir (`mr-check-*` with its owner lock): removed when
    // dropped, and by the watchdog's forced exit after a signal; one a
    // killed check left is removed by the next run of mr (it held ~22 MB of
    // the user's sampled data, never removed: probe /tmp/probe2-safety
    // repro 01).
    let root = std::env::temp_dir();
    let scratch = mr_core::runner::workdir::WorkDir::create(
        &root,
        "mr-check-",
        &mr_core::paths::Reading::default(),
    )
    .with_context(|| format!("creating a scratch directory in {}", root.display()))?;
    // Each sampled file as a file of its own (a CSV file keeps its header
    // first), plain and gzipped; the plain run reads them under the same
    // names (a job may key by its input file).
    let (mut plain, mut gzipped, mut bytes) = (Vec::new(), Vec::new(), 0);
    let mut files = sample.files.clone();
    if files.is_empty() {
        // Nothing accepted: the runs read one empty file.
        files.push(FileLines::default());
    }
    for (i, f) in files.iter().enumerate() {
        let mut data = Vec::new();
        if f.lines.first().is_some_and(|l| l.starts_with(BOM)) {
            // The file began with two: reading it dropped one, as reading
            // this one drops this one.
            data.extend_from_slice(BOM);
        }
        for l in &f.lines {
            data.extend_from_slice(l);
            data.push(b'\n');
        }
        bytes += data.len() as u64;
        let input = scratch.path().join(format!("sample-{i:05}.txt"));
        std::fs::write(&input, &data).with_context(|| format!("writing {}", input.display()))?;
        let gz_input = scratch.path().join(format!("sample-{i:05}.txt.gz"));
        write_gz(&gz_input, &data)?;
        plain.push(input);
        gzipped.push(gz_input);
    }
    let mut plain = Form::new(plain, &files);
    let mut gzipped = Form::new(gzipped, &files);
    let whole_paths = whole_files.map_or_else(Vec::new, |f| f.read.clone());
    let mut whole = Form::of(whole_paths, Input::Manifest(sample.accepted_lines.clone()));
    say!(
        "whole job: {} run{} on the sample ({}) under random settings, each compared with the plain run:",
        args.runs,
        if args.runs == 1 { "" } else { "s" },
        human(bytes)
    );
    // Reducers the job asks for itself (mrjob's JOBCONF) are not a setting
    // its results may be checked against: a `reducer_final` total is one
    // line a reducer.
    let pinned = crate::cmd::run::reducers_asked(0, &job.jobconf())?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut differ = 0;
    for run in 0..args.runs {
        let mut s = Settings::draw(&mut rng, run, bytes, min_buffer(sample));
        if pinned > 0 {
            s.partitions = pinned;
        }
        let form = match whole_files {
            // A mapper that reads whole files reads the sampled files.
            Some(_) => &mut whole,
            None if s.gzip => &mut gzipped,
            None => &mut plain,
        };
        let inputs = form.inputs.clone();
        let expected = form.expected(job, params)?;
        let cfg = RunConfig {
            inputs,
            cut_streams: s.cut_streams,
            jobs: s.jobs,
            partitions: s.partitions,
            chunk_size: s.chunk_size,
            sort_buffer_bytes: s.sort_buffer_bytes,
            merge_fan_in: s.merge_fan_in,
            tmp_dir: Some(scratch.path().join("tmp")),
            // Records are compared as JSON, whatever the job writes.
            output_protocol: Some(mr_core::OutputProtocol::Json),
            params: params.clone(),
            ..RunConfig::default()
        };
        let mut out = Vec::new();
        let report = mr_core::run_job(job, &cfg, &mut out)
            .with_context(|| format!("run {}: {}", run + 1, s.describe()))?;
        let got: Vec<Vec<u8>> = out.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let got = &got[..got.len().saturating_sub(1)];
        let c = &report.counters;
        let combined: Vec<String> = (0..report.spills.len())
            .filter_map(|i| {
                let inp = c.get(FRAMEWORK, &format!("step {i}: combine input records"));
                let out = c.get(FRAMEWORK, &format!("step {i}: combine output records"));
                (inp > 0).then(|| format!("combiner {inp} -> {out} records"))
            })
            .collect();
        let mut what = vec![format!("{} spills", report.spills.iter().sum::<u64>())];
        what.extend(combined);
        let (missing, extra) = multiset_diff(expected, got);
        if missing.is_empty() && extra.is_empty() {
            say!(
                "  run {}: {} ({}): same output",
                run + 1,
                s.describe(),
                what.join(", ")
            );
            continue;
        }
        differ += 1;
        say!(
            "  run {}: {} ({}): DIFFERENT: {} of {} expected lines missing, {} lines unexpected",
            run + 1,
            s.describe(),
            what.join(", "),
            missing.len(),
            expected.len(),
            extra.len()
        );
        const SHOWN: usize = 3;
        for l in missing.iter().take(SHOWN) {
            say!("      expected: {}", String::from_utf8_lossy(l));
        }
        if missing.len() > SHOWN {
            say!("      ... and {} more expected", missing.len() - SHOWN);
        }
        for l in extra.iter().take(SHOWN) {
            say!("      got:      {}", String::from_utf8_lossy(l));
        }
        if extra.len() > SHOWN {
            say!("      ... and {} more got", extra.len() - SHOWN);
        }
    }
    Ok(differ)
}

/// The sample in one form the runs read it (plain, gzipped, whole files),
/// and what the plain in-memory run gives on it, computed on first use.
struct Form {
    /// The run's inputs.
    inputs: Vec<String>,
    /// The plain run's input: the files the runs read, under their URIs, or
    /// a manifest line per whole file.
    input: Input,
    expected: Option<Vec<Vec<u8>>>,
}

impl Form {
    /// `files` as written at `paths`.
    fn new(paths: Vec<PathBuf>, files: &[FileLines]) -> Form {
        let files = paths
            .iter()
            .zip(files)
            .map(|(p, f)| FileLines {
                uri: mr_core::input::InputSource::Path(p.clone()).uri(),
                lines: f.lines.clone(),
            })
            .collect();
        let inputs = paths.iter().map(|p| p.display().to_string()).collect();
        Form::of(inputs, Input::Files(files))
    }

    /// `input` as the runs read it from `inputs`.
    fn of(inputs: Vec<String>, input: Input) -> Form {
        Form {
            inputs,
            input,
            expected: None,
        }
    }

    /// The plain in-memory run's output lines.
    fn expected(
        &mut self,
        job: &dyn Job,
        params: &Arc<mr_core::JobParams>,
    ) -> anyhow::Result<&[Vec<u8>]> {
        if self.expected.is_none() {
            let params = (**params).clone();
            let (out, _) = match &self.input {
                Input::Manifest(lines) => mr_core::testing::run_in_memory_with(job, params, lines),
                Input::Files(files) => mr_core::testing::run_files_in_memory(job, params, files),
            }
            .context("running the job in memory on the sample")?;
            self.expected = Some(out.into_iter().map(String::into_bytes).collect());
        }
        Ok(self.expected.as_deref().unwrap_or_default())
    }
}

/// Lines of `a` not in `b` and lines of `b` not in `a`, counting repeats.
fn multiset_diff<'a>(a: &'a [Vec<u8>], b: &'a [Vec<u8>]) -> (Vec<&'a [u8]>, Vec<&'a [u8]>) {
    let mut count: BTreeMap<&[u8], i64> = BTreeMap::new();
    for l in a {
        *count.entry(l).or_default() += 1;
    }
    for l in b {
        *count.entry(l).or_default() -= 1;
    }
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    for (l, n) in count {
        for _ in 0..n.max(0) {
            missing.push(l);
        }
        for _ in 0..(-n).max(0) {
            extra.push(l);
        }
    }
    (missing, extra)
}
