//! The validated configuration of a local run.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// Default bytes per split (`--chunksize`).
pub const DEFAULT_CHUNK_SIZE: u64 = 64 << 20; // 64 MiB
/// Default memory for map output buffers, shared by all map tasks (`--sort-buffer-mb`).
pub const DEFAULT_SORT_BUFFER: u64 = 256 << 20; // 256 MiB

/// Where the results of the last step go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// Standard output, in key order (reduce steps) or input order (map-only).
    #[default]
    Stdout,
    /// A directory of `part-NNNNN` files and `_SUCCESS`, committed atomically.
    Dir {
        /// The directory to create.
        path: PathBuf,
        /// Replace it if it exists.
        overwrite: bool,
    },
}

/// The most partitions (reducers) a run may have.
pub const MAX_PARTITIONS: usize = 100_000;

/// Everything a local run needs besides the job.
///
/// ```
/// use mr_core::RunConfig;
/// let cfg = RunConfig { inputs: vec!["logs/".into()], jobs: 2, ..RunConfig::default() };
/// assert_eq!(cfg.threads(), 2);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Files, directories, globs, or `-` for stdin.
    pub inputs: Vec<String>,
    /// Where results go.
    pub output: Output,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Reduce partitions; 0 means one per worker thread.
    pub partitions: usize,
    /// Target bytes per split (plain files; a gzip file is one split).
    pub chunk_size: u64,
    /// Memory for map output, shared by the map tasks running at once.
    pub sort_buffer_bytes: u64,
    /// Where spill files and intermediate outputs go (default: the system's).
    pub tmp_dir: Option<PathBuf>,
    /// Skip (and keep aside) records the job cannot process, instead of failing.
    pub skip_bad_records: bool,
    /// With results on stdout (no output directory to keep them in), where
    /// the skipped records' files go: moved into this directory (made if
    /// missing; a file of the same name there is an error, never written
    /// over) and listed in [`crate::JobReport::bad_record_files`]. `None`
    /// prints them on stderr, as `mr run` does.
    pub bad_records_dir: Option<PathBuf>,
    /// The most runs merged at once.
    pub merge_fan_in: usize,
    /// The format of the output files (Parquet needs an output directory).
    pub output_format: crate::output::OutputFormat,
    /// Counters for a live status line (see [`crate::runner::progress`]).
    pub progress: Option<std::sync::Arc<crate::runner::progress::Progress>>,
    /// The job's option values, files and jobconf, given to every task.
    pub params: std::sync::Arc<crate::options::JobParams>,
    /// How the final records are written (`None`: the job's choice).
    pub output_protocol: Option<crate::output::protocol::OutputProtocol>,
    /// One thread, tasks one after another in this thread (`-r inline`, for
    /// debuggers). A panic in the job's code is still caught and reported
    /// as the record's error, as in any run; a debugger stops where it is
    /// raised with a breakpoint on `rust_panic`.
    pub inline: bool,
    /// Whether a compressed file or stdin is cut into pieces parsed by
    /// several map tasks (`--cut-streams`).
    pub cut_streams: CutStreams,
    /// The longest line a mapper is given (`--max-line-mb`): a longer one
    /// is a bad record holding its first bytes, and memory stays bounded
    /// on a file that is not lines at all.
    pub max_line_bytes: usize,
    /// A file the caller writes when the run ends (`--report`): inside the
    /// output, `--overwrite` does not take an earlier run's copy of it for a
    /// user's file.
    pub report: Option<PathBuf>,
    /// An earlier run's dictionaries (`--dictionaries`): the categorical
    /// columns' values found there keep their ids (see
    /// [`crate::categorical::Dictionary::keeping_ids_of`]).
    pub dictionaries: Option<PathBuf>,
    /// A dictionary store every run given it shares (`--dictionary-store`):
    /// ids given once and for good (see [`crate::categorical::Store`]).
    pub dictionary_store: Option<PathBuf>,
}

/// Whether a split that is a stream (a compressed file, stdin: one split,
/// read from its start) is cut into pieces of whole lines, each parsed by a
/// map task on whichever worker is free (see [`crate::input::pieces`]).
/// Results are the same either way; steps without a reducer are never cut
/// (their part files are one per split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CutStreams {
    /// When it pays: workers are idle while the one task parsing the stream
    /// spends 1.5 times the decoder's CPU per byte or more (a heavy mapper);
    /// a decoder that is the bound (gzip under a light mapper, bzip2) keeps
    /// its stream in one task.
    #[default]
    Auto,
    /// After the stream's first line, whatever the speeds, in pieces as
    /// small as `--chunksize` (for tests).
    Always,
    /// Never: one task per stream.
    Never,
}

impl Default for RunConfig {
    fn default() -> Self {
        let limit = crate::runner::limits::memory_budget().map(|(limit, _)| limit);
        RunConfig {
            inputs: Vec::new(),
            output: Output::Stdout,
            jobs: 0,
            partitions: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            // Within the memory limit here (cgroup, `ulimit -v`), as `mr run`
            // chooses it: a library caller in a 512 MiB container got 256 MiB
            // (probe /tmp/probe19-api, notes).
            sort_buffer_bytes: crate::runner::limits::default_sort_buffer(limit),
            tmp_dir: None,
            skip_bad_records: false,
            bad_records_dir: None,
            merge_fan_in: crate::shuffle::merge::DEFAULT_FAN_IN,
            output_format: crate::output::OutputFormat::Lines,
            progress: None,
            params: Default::default(),
            output_protocol: None,
            inline: false,
            cut_streams: CutStreams::Auto,
            max_line_bytes: usize::try_from(crate::runner::limits::default_max_line(limit))
                .unwrap_or(usize::MAX),
            report: None,
            dictionaries: None,
            dictionary_store: None,
        }
    }
}

/// The error of `flag` (`--dictionaries`, `--dictionary-store`) given
/// without an output directory.
pub(crate) fn ids_need_an_output(flag: &str) -> Error {
    Error::Config(format!(
        "{flag} needs --output: with results on stdout, categorical columns stay strings"
    ))
}

impl RunConfig {
    /// Worker threads to use.
    pub fn threads(&self) -> usize {
        if self.inline {
            1
        } else if self.jobs == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.jobs
        }
    }

    /// Reduce partitions to use.
    pub fn partition_count(&self) -> usize {
        if self.partitions == 0 {
            self.threads()
        } else {
            self.partitions
        }
    }

    /// The option that gives categorical ids, if one is given, and its
    /// directory: `--dictionaries` (taken first) or `--dictionary-store`.
    pub fn ids_from(&self) -> Option<(&'static str, &std::path::Path)> {
        match (&self.dictionaries, &self.dictionary_store) {
            (Some(d), _) => Some(("--dictionaries", d)),
            (None, Some(d)) => Some(("--dictionary-store", d)),
            (None, None) => None,
        }
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<()> {
        if self.inputs.is_empty() {
            return Err(Error::Config("no input given (use --input PATH)".into()));
        }
        if self.chunk_size == 0 {
            return Err(Error::Config("--chunksize must be at least 1 byte".into()));
        }
        if self.sort_buffer_bytes < 1024 {
            return Err(Error::Config(
                "the sort buffer (--sort-buffer-mb) must be at least 1 KiB".into(),
            ));
        }
        if self.max_line_bytes < 1024 {
            return Err(Error::Config("--max-line-mb must be at least 1 KiB".into()));
        }
        if self.merge_fan_in < 2 {
            return Err(Error::Config("--merge-fan-in must be at least 2".into()));
        }
        if self.partition_count() > MAX_PARTITIONS {
            return Err(Error::Config(format!(
                "--partitions must be at most {MAX_PARTITIONS}"
            )));
        }
        if self.output_format != crate::output::OutputFormat::Lines && self.output == Output::Stdout
        {
            return Err(Error::Config(
                "--output-format parquet writes files: give an output directory (--output DIR); \
                 stdout takes lines only"
                    .into(),
            ));
        }
        if let Some((flag, _)) = self.ids_from()
            && self.output == Output::Stdout
        {
            return Err(ids_need_an_output(flag));
        }
        if self.dictionaries.is_some() && self.dictionary_store.is_some() {
            return Err(Error::Config(
                "--dictionaries and --dictionary-store both give ids: choose one".into(),
            ));
        }
        if self.inputs.iter().filter(|i| *i == "-").count() > 1 {
            return Err(Error::Config("stdin (-) can be given only once".into()));
        }
        Ok(())
    }
}
