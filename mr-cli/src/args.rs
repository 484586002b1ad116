//! The command line as parsed (raw flags). [`crate::cmd`] turns these into
//! checked configurations.

use clap::{Args, Parser, Subcommand};

/// `mr`: MapReduce jobs in Rust, on every core of one machine or inside
/// Hadoop Streaming.
#[derive(Parser, Debug)]
#[command(
    name = "mr",
    version,
    about = "MapReduce jobs in Rust, on every core of one machine or inside Hadoop Streaming",
    long_about = None,
    after_help = EXAMPLES
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Shown at the end of `mr --help`.
const EXAMPLES: &str = "\
Examples:
  mr jobs                                      the jobs this binary knows
  mr run url_views --help                      a job's steps, input, output and counters
  mr gen clicklog --size 100MB --output logs   deterministic test data
  mr run url_views -i logs -o views            run a job; output in views/part-*
  zcat logs/*.gz | mr run word_count           read stdin, results on stdout
  mr run url_views -i logs --report run.html   a report with a task timeline and skew
  mr check word_count -i sample.txt            check the job's combiner and reducer laws
  mr new my_job                                start a job crate of your own
  mr completions bash > ~/.local/share/bash-completion/completions/mr";

/// The subcommands, one module each under `cmd/`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a job: `mr run word_count --input corpus/ --output counts/`.
    Run(RunArgs),
    /// List the jobs this binary knows, one line each.
    Jobs,
    /// Generate deterministic test data (clicklogs, text).
    Gen(crate::generate::GenArgs),
    /// Check that a job's results do not depend on how the engine splits and
    /// combines: `mr check word_count --input sample.txt`.
    Check(crate::cmd::check::CheckArgs),
    /// Run a job on this machine exactly as Hadoop Streaming would run the
    /// binary (one process a task, hash partitioning, byte-order sort, the
    /// combiner 0..n times): `mr run JOB -r emulate`.
    #[command(mut_args = emulate_hadoop_arg)]
    EmulateHadoop(RunArgs),
    /// Print a shell completion script: `mr completions bash > /etc/bash_completion.d/mr`
    /// (zsh: into a directory of $fpath as `_mr`; fish: ~/.config/fish/completions/mr.fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff): `mr man > mr.1 && man ./mr.1`; a
    /// command's own page, with all its options: `mr man run > mr-run.1`,
    /// `mr man gen clicklog` (the page SUBCOMMANDS calls mr-gen-clicklog(1)).
    Man {
        /// The command whose page to print (`run`, `check`, `gen clicklog`,
        /// or a page's name: `mr-gen-clicklog`); none for the page of `mr`
        /// itself.
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Start a job crate of your own: `mr new my_job`, then
    /// `cd my_job && cargo run -- run my_job --input sample.txt`.
    New(crate::cmd::new::NewArgs),
}

/// The options of `mr run` that `mr emulate-hadoop` (`mr run JOB -r
/// emulate`) does not take, each with what to use instead: hidden from its
/// help and completions, and refused when given ([`refuse_for_emulate_hadoop`]).
pub const NOT_FOR_EMULATE_HADOOP: &[(&str, &str)] = &[
    (
        "runner",
        "emulate-hadoop is `mr run JOB -r emulate`; for another runner use `mr run JOB -r RUNNER`",
    ),
    (
        "dry_run",
        "it shows a cluster runner's commands: `mr run JOB -r hadoop --dry-run` (or -r spark)",
    ),
    ("hadoop_bin", "it is for `mr run JOB -r hadoop`"),
    ("hadoop_streaming_jar", "it is for `mr run JOB -r hadoop`"),
    ("spark_master", "it is for `mr run JOB -r spark`"),
    ("spark_submit", "it is for `mr run JOB -r spark`"),
    (
        "output_format",
        "the emulator writes lines, as Hadoop Streaming does; Parquet is `mr run JOB --output-format parquet`",
    ),
    (
        "parquet_compression",
        "the emulator writes lines; Parquet is `mr run JOB --output-format parquet`",
    ),
    (
        "dictionaries",
        "categorical ids are made by the local runner: `mr run JOB --dictionaries DIR`",
    ),
    (
        "dictionary_store",
        "categorical ids are made by the local runner: `mr run JOB --dictionary-store DIR`",
    ),
    (
        "mapper",
        "task mode is `mr run JOB --mapper` (the emulator's tasks run so)",
    ),
    (
        "combiner",
        "task mode is `mr run JOB --combiner` (the emulator's tasks run so)",
    ),
    (
        "reducer",
        "task mode is `mr run JOB --reducer` (the emulator's tasks run so)",
    ),
    (
        "step_num",
        "task mode is `mr run JOB --step-num N --mapper`",
    ),
];

/// `mr emulate-hadoop`'s form of a `mr run` option: those it does not take
/// hidden, the emulator's own (`--seed`, `-D`) under their own heading.
fn emulate_hadoop_arg(a: clap::Arg) -> clap::Arg {
    if NOT_FOR_EMULATE_HADOOP
        .iter()
        .any(|(id, _)| a.get_id() == *id)
    {
        a.hide(true)
    } else if a.get_help_heading() == Some("Cluster runners") {
        a.help_heading("Hadoop emulator")
    } else {
        a
    }
}

/// A usage error for an option of `mr run` given to `mr emulate-hadoop`,
/// which does not take it ([`NOT_FOR_EMULATE_HADOOP`]).
///
/// ```
/// use clap::CommandFactory;
/// let argv = ["mr", "emulate-hadoop", "word_count", "-r", "spark"];
/// let m = mr_cli::args::Cli::command().try_get_matches_from(argv).unwrap();
/// let e = mr_cli::args::refuse_for_emulate_hadoop(m.subcommand_matches("emulate-hadoop").unwrap());
/// assert!(e.unwrap_err().to_string().starts_with("mr emulate-hadoop takes no -r/--runner: "));
/// let m = mr_cli::args::Cli::command()
///     .try_get_matches_from(["mr", "emulate-hadoop", "word_count", "--seed", "3"]).unwrap();
/// assert!(mr_cli::args::refuse_for_emulate_hadoop(m.subcommand_matches("emulate-hadoop").unwrap()).is_ok());
/// ```
pub fn refuse_for_emulate_hadoop(m: &clap::ArgMatches) -> anyhow::Result<()> {
    use clap::CommandFactory;
    for (id, why) in NOT_FOR_EMULATE_HADOOP {
        if m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        let cmd = Cli::command();
        let flag = cmd
            .find_subcommand("emulate-hadoop")
            .and_then(|c| c.get_arguments().find(|a| a.get_id() == *id))
            .map(|a| match (a.get_short(), a.get_long()) {
                (Some(s), Some(l)) => format!("-{s}/--{l}"),
                (None, Some(l)) => format!("--{l}"),
                _ => id.to_string(),
            })
            .unwrap_or_else(|| id.to_string());
        crate::usage!("mr emulate-hadoop takes no {flag}: {why}");
    }
    Ok(())
}

/// `mr run JOB`: every option, its default and what it costs.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The job: its name (`word_count`) or its path in the repo (`jobs/word_count`).
    // Indexed: `crate::command` changes JOB's value parser (the job names for
    // completion), which moves it after INPUT in clap's list of arguments.
    #[arg(index = 1)]
    pub job: String,

    /// More input paths (same as --input).
    #[arg(index = 2, value_name = "INPUT")]
    pub positional_inputs: Vec<String>,

    /// Input: a file, a directory (walked recursively; names starting with `_` or
    /// `.` skipped), a glob (`*`, `?`, `[...]`, `{a,b}`), or `-` for stdin. `.gz`, `.bz2`, `.zst` and Hadoop's `.deflate`, `.snappy` and `.lz4` files are decompressed.
    /// Repeatable.
    #[arg(short, long = "input", value_name = "PATH")]
    pub inputs: Vec<String>,

    /// Output directory: part-NNNNN files and _SUCCESS, written beside it
    /// (.DIR.mr-tmp-*, hidden) and moved into place only if every task succeeds.
    /// It must not exist, or be empty (see --overwrite). Without it,
    /// results go to stdout in key order.
    #[arg(short, long, visible_alias = "output-dir", value_name = "DIR")]
    pub output: Option<std::path::PathBuf>,

    /// The format of the output files: `lines` (`json(key) TAB json(value)`,
    /// part-NNNNN) or `parquet` (a table, part-NNNNN.parquet: an object value's
    /// fields become columns, other values a `value` column, a non-null key a
    /// `key` column; the schema is inferred from the records). Parquet needs
    /// --output.
    #[arg(long, value_enum, default_value_t = OutputFormatArg::Lines, value_name = "FORMAT")]
    pub output_format: OutputFormatArg,

    /// Compression of Parquet output pages: zstd, snappy or none.
    #[arg(long, default_value = "zstd", value_name = "CODEC")]
    pub parquet_compression: mr_core::output::parquet::ParquetCompression,

    /// For a job with categorical columns (events_table): keep the ids of an
    /// earlier run's dictionaries (its OUTPUT/_dictionaries/, or OUTPUT).
    /// Values found there keep their ids, new ones get the next ids, and
    /// this output's _dictionaries/ hold both: tables written day after day,
    /// each run given the one before's output, share ids, and the last
    /// dictionaries decode them all. Two runs given the same dictionaries
    /// give their new values the same next ids: decode each of those tables
    /// with its own _dictionaries/, or use --dictionary-store.
    #[arg(long, value_name = "DIR")]
    pub dictionaries: Option<std::path::PathBuf>,
    /// For a job with categorical columns: take ids from a dictionary store
    /// shared by every run given it (DIR, created when missing, one
    /// COLUMN.jsonl per column), extended in place one run at a time. An id
    /// is given once and never changes or goes to another value, whatever
    /// order runs run in (a day run again, two days at once): every table
    /// made with the store decodes with the store as it is now.
    #[arg(long, value_name = "DIR", conflicts_with = "dictionaries")]
    pub dictionary_store: Option<std::path::PathBuf>,
    /// With --output, also print the results on stdout: the part files one
    /// after another, as mrjob's --cat-output does (without --output, stdout
    /// is in key order).
    #[arg(long, conflicts_with = "no_output")]
    pub cat_output: bool,

    /// Do not print the results on stdout (mrjob's --no-output, and its
    /// --no-cat-output); with --output they are still written there.
    #[arg(long, alias = "no-cat-output")]
    pub no_output: bool,

    /// How the final records are written: `json` (key TAB value, both JSON:
    /// the default), `json-value` (the value's JSON only), `raw-value` (the
    /// value as text) or `text` (key TAB value as text). Default: the job's
    /// choice. Intermediate steps always use JSON.
    #[arg(long, value_name = "PROTOCOL", value_parser = parse_protocol)]
    pub output_protocol: Option<mr_core::OutputProtocol>,

    /// A file for the job: readable by the job (`TaskContext::file(NAME)`)
    /// under NAME (default: the file's own name); shipped to Hadoop with
    /// -files and to Spark with addFile. Repeatable, or comma-separated.
    #[arg(long, value_name = "PATH[#NAME]")]
    pub files: Vec<String>,

    /// An environment variable for the job's tasks: `--cmdenv TZ=UTC`
    /// (Hadoop -cmdenv). Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub cmdenv: Vec<String>,

    /// A config file (TOML) with defaults for these options, per runner:
    /// `[runners.local] jobs = 4`, `[runners.hadoop] jobconf = {...}`
    /// (like mrjob.conf). Default: $MR_CONF if set. The command line wins.
    /// Repeatable: the files are read in order, a later one's values win
    /// and lists add up, as mrjob merges them.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub conf_path: Vec<std::path::PathBuf>,

    /// Do not read a config file, not even $MR_CONF.
    #[arg(long, conflicts_with = "conf_path")]
    pub no_conf: bool,

    /// The job's own options, as parsed (see `mr run JOB --help`).
    #[arg(skip)]
    pub job_options: std::collections::BTreeMap<String, String>,

    /// Replace the output directory if it exists.
    #[arg(long)]
    pub overwrite: bool,

    /// Worker threads (0 = one per core). Memory: the sort buffer is shared
    /// by the threads, so more threads do not use more of it.
    #[arg(
        short,
        long,
        visible_alias = "num-cores",
        default_value_t = 0,
        value_name = "N"
    )]
    pub jobs: usize,

    /// Reduce partitions (0 = one per worker thread). Each is reduced
    /// in parallel and gives one part file.
    #[arg(
        long,
        visible_alias = "num-reducers",
        default_value_t = 0,
        value_name = "N"
    )]
    pub partitions: usize,

    /// Bytes per split of a plain input file (a .gz file is one split). Smaller
    /// splits balance load better; each split costs a task and one or more spill files.
    /// A step's last splits are cut smaller still (to 1 MiB at least), so that every
    /// core has work and all finish together.
    #[arg(long, default_value = "64MB", value_name = "SIZE", value_parser = parse_size_arg)]
    pub chunksize: u64,

    /// Memory for map output, in MiB, shared by all running map tasks. When
    /// full, the buffer is sorted, combined and spilled to --tmp-dir: peak
    /// memory is about this plus a fixed overhead; disk use is up to the
    /// (combined) map output size. Default 256, or half the memory limit of
    /// the cgroup mr runs in (a container, a scheduler's slot), or an eighth
    /// of an address-space limit (`ulimit -v`), when that is less. (Fractions
    /// are allowed: 0.5 is 512 KiB.)
    #[arg(long, value_name = "MB")]
    pub sort_buffer_mb: Option<f64>,

    /// Directory for spill files and intermediate outputs (default: $TMPDIR).
    /// Needs room for the map output of the largest step. With -r hadoop, a
    /// directory on the cluster's filesystem for the outputs between steps
    /// (default: /tmp there).
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<std::path::PathBuf>,

    /// Skip records the job cannot process (bad JSON, invalid UTF-8, mapper
    /// errors), count them, and keep each, with its file and line, in
    /// OUTPUT/_bad_records/ (on stderr when the output is stdout).
    #[arg(long)]
    pub skip_bad_records: bool,

    /// The longest input line given to a mapper, in MiB. A longer line (a
    /// binary file among the logs, a log full of NUL bytes after a crash)
    /// is a bad record holding its first bytes, and its rest is read past:
    /// memory stays bounded on input that is not lines. Default 256, or a
    /// quarter of the memory a limit leaves a run (the cgroup's, or a
    /// quarter of `ulimit -v`) when that is less.
    #[arg(long, value_name = "MB")]
    pub max_line_mb: Option<f64>,

    /// Cut a compressed file or stdin (one split, read from its start) into
    /// pieces parsed by several workers: auto when the one task parsing it
    /// needs much more CPU than the decoding while workers are idle (a heavy
    /// mapper), always, or never. Results are the same either way.
    #[arg(long, value_enum, default_value_t = CutStreamsArg::Auto, value_name = "WHEN")]
    pub cut_streams: CutStreamsArg,

    /// Most sorted runs merged at once; more runs are merged in several
    /// passes. Memory: 64 KiB per run being merged, per reducing thread.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub merge_fan_in: usize,

    /// Task mode, as Hadoop Streaming and mrjob call it: which step to run
    /// (0-based), with --mapper, --combiner or --reducer.
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "Task mode (Hadoop Streaming)"
    )]
    pub step_num: usize,

    /// Run the step's mapper over stdin, records to stdout (no --input).
    #[arg(
        long,
        group = "task_role",
        help_heading = "Task mode (Hadoop Streaming)"
    )]
    pub mapper: bool,

    /// Run the step's combiner over key-sorted records on stdin.
    #[arg(
        long,
        group = "task_role",
        help_heading = "Task mode (Hadoop Streaming)"
    )]
    pub combiner: bool,

    /// Run the step's reducer over key-sorted records on stdin (it groups
    /// consecutive lines with equal keys itself).
    #[arg(
        long,
        group = "task_role",
        help_heading = "Task mode (Hadoop Streaming)"
    )]
    pub reducer: bool,

    /// Do not print the summary on stderr at the end, nor progress.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also show the framework counters that are zero in the summary (the
    /// local runner's: the tasks of -r emulate, hadoop and spark report none
    /// that is zero).
    #[arg(short, long)]
    pub verbose: bool,

    /// mrjob's switches for what mr always does (`--check-input-paths`,
    /// `--emulate-map-input-file`), taken so a ported command line runs.
    #[arg(
        long = "check-input-paths",
        hide = true,
        alias = "emulate-map-input-file",
        action = clap::ArgAction::Count
    )]
    pub mrjob_always: u8,

    /// mrjob's `--cleanup MODE` and `--cleanup-on-failure MODE`: mr removes
    /// its temporary files on success and on failure, whatever the mode.
    #[arg(
        long = "cleanup",
        hide = true,
        alias = "cleanup-on-failure",
        value_name = "MODE",
        action = clap::ArgAction::Append
    )]
    pub mrjob_cleanup: Vec<String>,

    /// mrjob's `--local-tmp-dir DIR`: `--tmp-dir` of the local runner
    /// (refused with -r hadoop, whose temp dir is on the cluster).
    #[arg(long, hide = true, value_name = "DIR", conflicts_with = "tmp_dir")]
    pub local_tmp_dir: Option<std::path::PathBuf>,

    /// mrjob's `--hadoop-tmp-dir DIR`: `--tmp-dir` for -r hadoop.
    #[arg(long, hide = true, value_name = "DIR", conflicts_with = "tmp_dir")]
    pub hadoop_tmp_dir: Option<std::path::PathBuf>,

    /// mrjob's `--spark-tmp-dir DIR`, which mr has no use for: refused,
    /// saying so.
    #[arg(long, hide = true, value_name = "DIR", conflicts_with = "tmp_dir")]
    pub spark_tmp_dir: Option<std::path::PathBuf>,

    /// Also write the run's report to FILE: JSON (job, settings, wall time,
    /// per-phase and per-task figures, counters, output, skipped records; for
    /// scripts and schedulers), or, when FILE ends in `.html`, one
    /// self-contained page with a task timeline, partition sizes and the
    /// heaviest keys. Written also when the run fails (`"ok": false`). A
    /// file is written whole, then renamed into place; `-` (stdout),
    /// `/dev/stdout`, `/dev/stderr`, a pipe or a FIFO are written through,
    /// after what mr wrote there.
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,

    /// Where to run: `local` (this process, every core), `hadoop` (Hadoop
    /// Streaming, one Hadoop job a step), `spark` (Apache Spark, through
    /// PySpark) or `emulate` (this machine, one process a task, as Hadoop
    /// Streaming would). See docs/scale-out.md.
    #[arg(
        short = 'r',
        long,
        value_enum,
        default_value_t = crate::cluster::Runner::Local,
        help_heading = "Cluster runners"
    )]
    pub runner: crate::cluster::Runner,

    /// Print the commands a cluster runner would run, and run nothing
    /// (-r hadoop, -r spark).
    #[arg(long, help_heading = "Cluster runners")]
    pub dry_run: bool,

    /// A jobconf setting: `-D mapreduce.job.reduces=8`. Job code reads it
    /// with `TaskContext::jobconf` on every runner; Hadoop (or, for `spark.*`
    /// keys, Spark) gets it for each step. Keys that nothing reads are
    /// warned about. Repeatable.
    #[arg(
        short = 'D',
        long = "jobconf",
        value_name = "KEY=VALUE",
        help_heading = "Cluster runners"
    )]
    pub jobconf: Vec<String>,

    /// The `hadoop` program (default: $HADOOP_HOME/bin/hadoop, else `hadoop`
    /// on the PATH).
    #[arg(long, value_name = "PATH", help_heading = "Cluster runners")]
    pub hadoop_bin: Option<std::path::PathBuf>,

    /// The Hadoop Streaming jar (default: the first hadoop-streaming*.jar
    /// under $HADOOP_HOME, beside the `hadoop` on the PATH, and in the usual
    /// install places).
    #[arg(long, value_name = "JAR", help_heading = "Cluster runners")]
    pub hadoop_streaming_jar: Option<std::path::PathBuf>,

    /// The Spark master: `local[N]`, `local[*]` or `spark://HOST:PORT`.
    #[arg(
        long,
        default_value = "local[*]",
        value_name = "URL",
        help_heading = "Cluster runners"
    )]
    pub spark_master: String,

    /// Spark's `spark-submit` (default: `spark-submit` on the PATH, else
    /// python3 if it can import pyspark: `pip install pyspark`). mrjob's
    /// `--spark-submit-bin` is this, a path alone: Spark settings go in -D
    /// spark.KEY=VALUE.
    #[arg(
        long,
        visible_alias = "spark-submit-bin",
        value_name = "PATH",
        help_heading = "Cluster runners"
    )]
    pub spark_submit: Option<std::path::PathBuf>,

    /// Seed of the emulator's random choices (combiner runs, order of
    /// equal keys): the same seed replays the same run (-r emulate).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "Cluster runners"
    )]
    pub seed: u64,
}

impl RunArgs {
    /// mrjob's temp dir switches (`--local-tmp-dir`, `--hadoop-tmp-dir`,
    /// `--spark-tmp-dir`) as `--tmp-dir` where one means that for `runner`,
    /// else a usage error saying why it has no meaning there (the rule is
    /// [`crate::conf::mrjob_tmp_dir`], which config files follow too).
    ///
    /// ```
    /// use clap::Parser;
    /// use mr_cli::args::{Cli, Command};
    /// use mr_cli::cluster::Runner;
    /// let parse = |argv: &[&str]| match Cli::parse_from(argv).command {
    ///     Command::Run(a) => a,
    ///     _ => unreachable!(),
    /// };
    /// let mut a = parse(&["mr", "run", "word_count", "--local-tmp-dir", "/scratch"]);
    /// a.take_mrjob_tmp_dirs(Runner::Local).unwrap();
    /// assert_eq!(a.tmp_dir.as_deref(), Some(std::path::Path::new("/scratch")));
    /// let mut a = parse(&["mr", "run", "word_count", "--local-tmp-dir", "/scratch", "-r", "hadoop"]);
    /// assert!(a.take_mrjob_tmp_dirs(Runner::Hadoop).is_err());
    /// ```
    pub fn take_mrjob_tmp_dirs(&mut self, runner: crate::cluster::Runner) -> anyhow::Result<()> {
        let name = clap::ValueEnum::to_possible_value(&runner)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        for (key, dir) in [
            ("local_tmp_dir", self.local_tmp_dir.take()),
            ("hadoop_tmp_dir", self.hadoop_tmp_dir.take()),
            ("spark_tmp_dir", self.spark_tmp_dir.take()),
        ] {
            let Some(dir) = dir else { continue };
            match crate::conf::mrjob_tmp_dir(key, &name, true) {
                Some(Ok(())) => self.tmp_dir = Some(dir),
                Some(Err(why)) => crate::usage!(
                    "--{} (mrjob's) has no meaning in mr's -r {name}: {why}",
                    key.replace('_', "-"),
                ),
                None => {}
            }
        }
        Ok(())
    }
}

/// `--output-format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormatArg {
    /// `json(key) TAB json(value)` lines.
    Lines,
    /// Apache Parquet files.
    Parquet,
}

/// `--cut-streams`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutStreamsArg {
    /// When workers are idle and the parsing is the bound, not the decoding.
    Auto,
    /// Always, after the first line, in pieces as small as --chunksize (for
    /// tests).
    Always,
    /// Never.
    Never,
}

impl From<CutStreamsArg> for mr_core::CutStreams {
    fn from(a: CutStreamsArg) -> Self {
        match a {
            CutStreamsArg::Auto => mr_core::CutStreams::Auto,
            CutStreamsArg::Always => mr_core::CutStreams::Always,
            CutStreamsArg::Never => mr_core::CutStreams::Never,
        }
    }
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::generate::parse_size(s)
}

fn parse_protocol(s: &str) -> Result<mr_core::OutputProtocol, String> {
    s.parse()
}
