//! The command line as parsed (raw flags). [`crate::cmd`] turns these into
//! checked configurations.

use clap::{Args, Parser, Subcommand};

/// `mr`: MapReduce jobs in Rust, on every core of one machine or inside
/// Hadoop Streaming.
#[derive(Parser, Debug)]
#[command(name = "mr", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, one module each under `cmd/`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a job: `mr run word_count --input corpus/ --output counts/`.
    Run(RunArgs),
    /// List the jobs this binary knows, one line each.
    Jobs,
    /// Generate deterministic test data (clicklogs, text).
    Gen(crate::gen::GenArgs),
}

/// `mr run JOB`: every option, its default and what it costs.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The job: its name (`word_count`) or its path in the repo (`jobs/word_count`).
    pub job: String,

    /// More input paths (same as --input).
    #[arg(value_name = "INPUT")]
    pub positional_inputs: Vec<String>,

    /// Input: a file, a directory (walked recursively; names starting with `_` or
    /// `.` skipped), a glob, or `-` for stdin. `.gz` files are decompressed.
    /// Repeatable.
    #[arg(short, long = "input", value_name = "PATH")]
    pub inputs: Vec<String>,

    /// Output directory: part-NNNNN files and _SUCCESS, written under
    /// DIR/_temporary and moved into place only if every task succeeds.
    /// Without it, results go to stdout in key order.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<std::path::PathBuf>,

    /// Replace the output directory if it exists.
    #[arg(long)]
    pub overwrite: bool,

    /// Worker threads (0 = one per core). Memory: the sort buffer is shared
    /// by the threads, so more threads do not use more of it.
    #[arg(short, long, default_value_t = 0, value_name = "N")]
    pub jobs: usize,

    /// Reduce partitions (0 = one per worker thread). Each is reduced
    /// in parallel and gives one part file.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub partitions: usize,

    /// Bytes per split of a plain input file (a .gz file is one split). Smaller
    /// splits balance load better; each split costs a task and one or more spill files.
    #[arg(long, default_value = "64MB", value_name = "SIZE", value_parser = parse_size_arg)]
    pub chunksize: u64,

    /// Memory for map output, in MiB, shared by all running map tasks. When
    /// full, the buffer is sorted, combined and spilled to --tmp-dir: peak
    /// memory is about this plus a fixed overhead; disk use is up to the
    /// (combined) map output size.
    /// (Fractions are allowed: 0.5 is 512 KiB.)
    #[arg(long, default_value_t = 256.0, value_name = "MB")]
    pub sort_buffer_mb: f64,

    /// Directory for spill files and intermediate outputs (default: $TMPDIR).
    /// Needs room for the map output of the largest step.
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<std::path::PathBuf>,

    /// Skip records the job cannot process (bad JSON, invalid UTF-8, mapper
    /// errors), count them, and keep each, with its file and line, in
    /// OUTPUT/_bad_records/ (on stderr when the output is stdout).
    #[arg(long)]
    pub skip_bad_records: bool,

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

    /// Do not print counters on stderr at the end.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::gen::parse_size(s)
}
