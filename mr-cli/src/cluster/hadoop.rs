//! `-r hadoop`: each step of the job as one Hadoop Streaming job whose
//! mapper, combiner and reducer are this binary in task mode.
//!
//! For a step `N` of job `JOB`, the command is:
//!
//! ```text
//! hadoop jar STREAMING_JAR \
//!     -D 'mapreduce.job.name=mr JOB step N+1/STEPS' \
//!     -D mapreduce.input.fileinputformat.input.dir.recursive=true \
//!     -D stream.map.input.ignoreKey=false \
//!     [secondary sort: -D stream.num.map.output.key.fields=2 ... (see below)] \
//!     [last step, unless JSON lines with a combiner: -D stream.reduce.output=keyonlytext
//!      (map-only: stream.map.output)] \
//!     [-D KEY=VALUE given with -D/--jobconf] \
//!     -files /path/to/mr \
//!     -input IN [-input IN2 ...] \
//!     -output OUT \
//!     -mapper './mr run JOB --step-num N --mapper' \
//!     [-combiner './mr run JOB --step-num N --combiner'] \
//!     -reducer './mr run JOB --step-num N --reducer' \
//!     [-partitioner org.apache.hadoop.mapred.lib.KeyFieldBasedPartitioner] \
//!     [-numReduceTasks R]
//! ```
//!
//! - Input directories are read recursively, as the local runner reads them
//!   (Hadoop skips names starting with `_` or `.` in both).
//! - Each mapper input line comes with its byte offset in its file
//!   (`ignoreKey=false`: `OFFSET TAB LINE`), so that a task can say where a
//!   bad record is (see `mr_core::runner::task`).
//! - `-files` ships the binary; Hadoop links it into each task's working
//!   directory under its own name (`mr` when that name is not plain:
//!   [`JobPlan::link_name`]), hence `./mr`. A binary or file at a path
//!   `-files` cannot take goes through a link (`cluster::with_plain_paths`).
//! - A step that sorts values emits `key TAB sortkey TAB value`: Hadoop is
//!   told that the key is two fields, to partition on the first and sort on
//!   both ([`SECONDARY_SORT`]).
//! - A step without a reducer gets `-numReduceTasks 0` (map-only).
//! - The last step's output is written line for line (`keyonlytext`: each
//!   line the key, no value), where Streaming's default splits it at its
//!   first tab and writes `key TAB value`, adding a tab to a line without
//!   one (every line of a `raw-value` output). Streaming reads a combiner
//!   with the reducer's reader, so such a step runs without its combiner
//!   (only an optimization); JSON lines always hold a tab, so a last step
//!   that writes JSON keeps its combiner and Streaming's default.
//! - The steps of a multi-step job pass their output through
//!   `TMP/mr-JOB-ID/step-N` (`--tmp-dir`, default `/tmp`, on the cluster's
//!   default filesystem), removed at the end with `hadoop fs -rm -r`.
//! - The output is checked first (`hadoop fs -ls -d OUT OUT/_SUCCESS`): one
//!   that exists is an error at once, before any step runs, unless
//!   `--overwrite`. With `--overwrite` it must be a directory holding
//!   `_SUCCESS` (a finished job's output, never `-o /user/me`) and nothing
//!   a job does not write (`hadoop fs -ls OUT`: no notes a user put there);
//!   the last step writes beside it, into `.OUT.mr-tmp-ID`, and only once
//!   every step has succeeded is the old output moved aside, the new one
//!   moved in and the old one removed (`hadoop fs -mv`, `-rm -r`), unless
//!   files no job writes were put in it meanwhile: then it is kept aside.
//!   A failed run leaves the old output as it was.
//!
//! The jar is `--hadoop-streaming-jar`, or the first `hadoop-streaming*.jar`
//! found under `$HADOOP_HOME` (and the other places Hadoop distributions
//! and EMR put it), or else beside the `hadoop` found on the PATH (its
//! home, then the directories `hadoop classpath` names); `hadoop` is
//! `--hadoop-bin`, `$HADOOP_HOME/bin/hadoop`, or `hadoop` on the PATH.
//! `--dry-run` prints the commands instead.
//!
//! Hadoop's output is drained while it runs (its `mapreduce.Job:` progress
//! lines are echoed unless `--quiet`). Each step's final `Counters:` block
//! is read into the run's counters (the tasks' `mr` counters under the
//! local runner's `step N: ...` names). When a step fails, the error shows
//! the tasks' own error lines (`mr: error: bad record at ...`), the job id
//! and where its task logs are, then the tail of Hadoop's output.

use super::process::{Drained, Echo, Stopped, run_drained, run_stoppable, where_are_the_logs};
use super::{JobPlan, StepPlan, shell_quote};
use crate::args::RunArgs;
use mr_core::counters::FRAMEWORK;
use mr_core::output::commit::{ASIDE_INFIX, STAGING_INFIX, cluster_sibling};
use mr_core::runner::task::TaskRole;
use mr_core::{Counters, JobReport};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The infix of the part of a new output that a failed `hadoop fs -mv`
/// moved in, moved back out: `.OUT.mr-part-ID` (kept for the user, named).
const PARTIAL_INFIX: &str = ".mr-part-";

/// The `-D` options of a step that sorts values: a two-field key,
/// partitioned on the first field, sorted on both as bytes.
pub const SECONDARY_SORT: [&str; 4] = [
    "stream.num.map.output.key.fields=2",
    "mapreduce.partition.keypartitioner.options=-k1,1",
    "mapreduce.job.output.key.comparator.class=org.apache.hadoop.mapreduce.lib.partition.KeyFieldBasedComparator",
    "mapreduce.partition.keycomparator.options=-k1,1 -k2,2",
];

/// The `-D` options of every step: input directories read recursively,
/// each input line's byte offset passed to the mapper, and lines ended at
/// `\n` only, as the local runner and mrjob end them (Hadoop's own reader
/// also ends one at a lone `\r`; the task drops a `\r` before the `\n`).
pub const INPUT_SETTINGS: [&str; 3] = [
    "mapreduce.input.fileinputformat.input.dir.recursive=true",
    "stream.map.input.ignoreKey=false",
    RECORD_DELIMITER,
];

/// Lines end at `\n` only: `TextInputFormat`'s reader, given a delimiter,
/// ends lines there and nowhere else (Hadoop 2 and later, on plain and
/// compressed files alike).
pub const RECORD_DELIMITER: &str = "textinputformat.record.delimiter=\n";

/// The `-D` option of every step's output: Hadoop's first file output
/// committer, which moves the tasks' output into the output directory only
/// when the whole job commits. The second (the default of some Hadoop 3
/// releases and distributions) moves each task's output in as the task
/// ends, so a job that failed left part files (and no `_SUCCESS`) in an
/// output the user may read as complete. A user's own `-D` wins.
pub const OUTPUT_COMMITTER: &str = "mapreduce.fileoutputcommitter.algorithm.version=1";

/// The settings that put a separator between key and value in the text a
/// step's output format writes: a step before the last writes its records
/// with a tab between, as the next step reads them, whatever a user's `-D`
/// asks of the job's output.
pub const OUTPUT_SEPARATORS: [&str; 2] = [
    "mapreduce.output.textoutputformat.separator",
    "mapred.textoutputformat.separator",
];

/// The partitioner of a step that sorts values.
pub const KEY_FIELD_PARTITIONER: &str = "org.apache.hadoop.mapred.lib.KeyFieldBasedPartitioner";

/// Where the streaming jar is looked for when `--hadoop-streaming-jar` is
/// not given: the environment's Hadoop homes, then the usual install places
/// (Apache tarballs, Debian/Bigtop packages, EMR).
const JAR_HOME_VARS: [&str; 4] = [
    "HADOOP_HOME",
    "HADOOP_PREFIX",
    "HADOOP_INSTALL",
    "HADOOP_MAPRED_HOME",
];
const JAR_DIRS: [&str; 5] = [
    "/usr/lib/hadoop-mapreduce",
    "/usr/lib/hadoop",
    "/opt/hadoop",
    "/usr/local/hadoop",
    "/home/hadoop/contrib",
];

/// Used in `--dry-run` output when no jar is found.
const JAR_PLACEHOLDER: &str = "/path/to/hadoop-streaming.jar";

/// Streaming's output reader that takes each line whole as the key, with no
/// value: the output format then writes the line as it is.
const KEY_ONLY_TEXT: &str = "keyonlytext";

/// A command, kept in lines of arguments so that it prints readably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    /// The first line holds the program and its leading arguments; each
    /// further line an option and its value.
    pub lines: Vec<Vec<String>>,
}

impl ShellCommand {
    /// The arguments, program first.
    pub fn argv(&self) -> Vec<String> {
        self.lines.iter().flatten().cloned().collect()
    }

    /// The command as a shell would take it, one option a line:
    ///
    /// ```text
    /// hadoop jar hadoop-streaming.jar \
    ///     -input hdfs:///logs \
    ///     -mapper './mr run url_views --step-num 0 --mapper'
    /// ```
    pub fn display(&self) -> String {
        self.lines
            .iter()
            .map(|l| {
                l.iter()
                    .map(|a| shell_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" \\\n    ")
    }

    /// Runs it, output captured: true when it ran and exited 0 (`-rmdir`
    /// of an empty directory, `-test -e` of a path that exists).
    fn succeeds(&self) -> bool {
        self.captured().is_ok_and(|o| o.status.success())
    }

    /// For `hadoop fs -test -e PATH`: whether PATH exists, `None` when the
    /// command could not tell (exit status other than 0 and 1).
    fn tells(&self) -> Option<bool> {
        match self.captured().ok()?.status.code() {
            Some(0) => Some(true),
            Some(1) => Some(false),
            _ => None,
        }
    }

    /// Runs it to its end (stdin from /dev/null), its stdout and stderr
    /// kept: for a short command whose output is read.
    fn captured(&self) -> anyhow::Result<std::process::Output> {
        use anyhow::Context as _;
        self.to_command()
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot start `{}`", self.display()))
    }

    /// The command, in a process group of its own: a terminal's Ctrl-C
    /// reaches mr alone, which lets a `hadoop fs -mv` of the output end
    /// rather than die halfway through moving it in.
    fn to_command(&self) -> Command {
        use std::os::unix::process::CommandExt as _;
        let argv = self.argv();
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]).process_group(0);
        super::process::with_utf8_locale(&mut c);
        c
    }
}

/// What the commands of a Hadoop run are built from.
#[derive(Debug, Clone)]
pub struct HadoopOptions {
    /// The `hadoop` program.
    pub hadoop_bin: String,
    /// The streaming jar.
    pub streaming_jar: String,
    /// Input paths, as Hadoop takes them (`hdfs:///logs`, globs).
    pub inputs: Vec<String>,
    /// The output directory: `--output`, or without it `TMP/mr-ID/output`
    /// (see `to_stdout`).
    pub output: String,
    /// No `--output`: the last step writes under this run's intermediate
    /// directory, whose results are printed on stdout, as the local runner
    /// prints them, and then removed with it.
    pub to_stdout: bool,
    /// The directory under which multi-step jobs keep intermediate outputs.
    pub tmp_base: String,
    /// A name for this run's intermediate directory (`JOB-ID`).
    pub run_id: String,
    /// `-numReduceTasks` for steps with a reducer (`None`: the cluster's default).
    pub reducers: Option<usize>,
    /// `-D` options passed through, after the runner's own.
    pub jobconf: Vec<(String, String)>,
    /// Remove the output first.
    pub overwrite: bool,
}

/// The commands of a Hadoop run, in order.
#[derive(Debug, Clone)]
pub struct HadoopCommands {
    /// Looks at the output before any step runs:
    /// `hadoop fs -ls -d OUT OUT/_SUCCESS` (see [`OutputState::read`]).
    pub check: ShellCommand,
    /// Where the last step writes (`.OUT.mr-tmp-ID`, beside the output, so
    /// on its file system), and how the new output then takes OUT's place
    /// (replacing the old one, with `--overwrite`). Never OUT itself: two
    /// runs started together on one OUT (a scheduler's retry while the
    /// first attempt runs) would both pass the output check and write into
    /// it, their part files mixed under one `_SUCCESS`, and an interrupted
    /// one would remove the other's `OUT/_temporary`.
    pub replace: Replace,
    /// For a job whose first step reads whole files: how its input manifest
    /// is made.
    pub manifest: Option<ManifestCommands>,
    /// One Hadoop Streaming job a step.
    pub steps: Vec<ShellCommand>,
    /// Run after the steps (removing intermediate outputs).
    pub after: Vec<ShellCommand>,
    /// The intermediate directory, for multi-step jobs, whole-file jobs
    /// and runs whose results go to stdout.
    pub tmp_dir: Option<String>,
    /// Without `--output`: how the results are brought here to be printed.
    pub fetch: Option<FetchCommand>,
}

/// How the results of a run without `--output` come to this machine: the
/// output directory copied into a local directory made for it (one JVM,
/// whatever the number of parts), whose parts are then printed as `-r
/// spark` prints its own (merged in key order after a reducer).
#[derive(Debug, Clone)]
pub struct FetchCommand {
    /// The local directory, made by the run (`mr-ID-output` in the temp
    /// dir) and removed by it.
    pub local: PathBuf,
    /// `hadoop fs -copyToLocal OUT file:///LOCAL/output` (a URI: Hadoop
    /// reads the destination as one, and failed on a path with a space).
    pub copy: ShellCommand,
}

/// The name of the copy of the output in [`FetchCommand::local`].
const FETCHED_NAME: &str = "output";

impl FetchCommand {
    /// Where the copy of the output lands.
    pub fn copied(&self) -> PathBuf {
        self.local.join(FETCHED_NAME)
    }
}

/// `path` as a `file://` URI, its bytes percent-encoded but for letters,
/// digits and `/-._~`.
///
/// ```
/// use mr_cli::cluster::hadoop::file_uri;
/// assert_eq!(file_uri(std::path::Path::new("/tmp/a b%/x")), "file:///tmp/a%20b%25/x");
/// ```
pub fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    // A relative path's first component would read as a host.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut s = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// How `--overwrite` replaces an output on the cluster only once the new one
/// is complete.
#[derive(Debug, Clone)]
pub struct Replace {
    /// The last step's output directory: `.OUT.mr-tmp-ID`.
    pub staging: String,
    /// Where the old output is moved while the new one moves in:
    /// `.OUT.mr-old-ID`.
    pub old: String,
    /// `hadoop fs -mv OUT OLD` (when there is an old output).
    pub move_old_aside: ShellCommand,
    /// `hadoop fs -rmdir OUT`, which removes only an empty directory, so it
    /// never removes what another run wrote. Run just before the new output
    /// moves in when OUT was an empty directory at the start (no
    /// `_SUCCESS`, and [`Self::list_output`] showed nothing): such a one is
    /// taken as absent, as the local runner takes it (Hadoop itself refuses
    /// any existing output), and a failed run leaves it as it was.
    pub remove_empty: ShellCommand,
    /// `hadoop fs -mv STAGING OUT`.
    pub move_new_in: ShellCommand,
    /// `OUT/STAGING_NAME`: where `-mv STAGING OUT` puts the new output when
    /// OUT is a directory.
    pub nested: String,
    /// `hadoop fs -test -e OUT/STAGING_NAME`: succeeds when the move put the
    /// new output inside OUT instead of at OUT, as `-mv` does when OUT is a
    /// directory: another run wrote OUT while this one ran.
    pub check_nested: ShellCommand,
    /// `hadoop fs -mv OUT/STAGING_NAME STAGING`: takes it back out.
    pub unnest: ShellCommand,
    /// `hadoop fs -ls OUT`: what the old output holds, checked before any
    /// step runs (see [`foreign_in_listing`]); for a directory without
    /// `_SUCCESS`, whether it is empty.
    pub list_output: ShellCommand,
    /// `hadoop fs -ls OLD`: checked again before it is removed; files put
    /// in it while the run ran keep it.
    pub list_old: ShellCommand,
    /// `hadoop fs -rm -r -skipTrash OLD`.
    pub remove_old: ShellCommand,
    /// `hadoop fs -mv OLD OUT`: puts the old output back when the new one
    /// could not be moved in.
    pub restore_old: ShellCommand,
    /// `hadoop fs -test -e OLD`: whether a `-mv OUT OLD` that failed moved
    /// the old output aside all the same.
    pub check_old: ShellCommand,
    /// `hadoop fs -test -e STAGING`: whether a `-mv STAGING OUT` that failed
    /// left some of the new output behind (or moved all of it).
    pub check_staging: ShellCommand,
    /// `.OUT.mr-part-ID`: where the part of the new output that a failed
    /// `-mv STAGING OUT` moved in goes, so that OUT is never half-written.
    pub partial: String,
    /// `hadoop fs -mv OUT PARTIAL`.
    pub partial_aside: ShellCommand,
    /// `hadoop fs -rm -r -f -skipTrash STAGING`: after a failed run.
    pub discard: ShellCommand,
}

/// What is at the output path before a run, from `hadoop fs -ls -d OUT
/// OUT/_SUCCESS` (its stdout; it fails for the paths that do not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputState {
    /// Nothing.
    Absent,
    /// A directory holding `_SUCCESS`: a finished job's output.
    Finished,
    /// A directory without `_SUCCESS`.
    Unfinished,
    /// A file.
    File,
}

impl OutputState {
    /// Reads `hadoop fs -ls -d OUT OUT/_SUCCESS`'s output.
    ///
    /// ```
    /// use mr_cli::cluster::hadoop::OutputState;
    /// let dir = "drwxr-xr-x   - u g          0 2026-12-03 10:00 hdfs:///out\n";
    /// let done = "-rw-r--r--   1 u g          0 2026-12-03 10:00 hdfs:///out/_SUCCESS\n";
    /// assert_eq!(OutputState::read(""), OutputState::Absent);
    /// assert_eq!(OutputState::read(dir), OutputState::Unfinished);
    /// assert_eq!(OutputState::read(&format!("{dir}{done}")), OutputState::Finished);
    /// assert_eq!(OutputState::read("-rw-r--r--   1 u g  5 2026-12-03 10:00 /home/me/notes\n"), OutputState::File);
    /// ```
    pub fn read(ls: &str) -> OutputState {
        let entries: Vec<&str> = ls
            .lines()
            .filter(|l| l.starts_with('d') || l.starts_with('-'))
            .collect();
        let marker = entries
            .iter()
            .any(|l| l.starts_with('-') && l.ends_with("/_SUCCESS"));
        let itself = entries.iter().find(|l| !l.ends_with("/_SUCCESS"));
        match itself {
            None => OutputState::Absent,
            Some(l) if l.starts_with('-') => OutputState::File,
            Some(_) if marker => OutputState::Finished,
            Some(_) => OutputState::Unfinished,
        }
    }
}

/// How the input manifest of a whole-file first step is made (see
/// [`mr_core::input::whole_file`]): the files under the inputs are listed,
/// written one JSON string a line to a local file, and put on the cluster,
/// where the step reads it a line a map task (`NLineInputFormat`), as mrjob
/// does for `mapper_raw`.
#[derive(Debug, Clone)]
pub struct ManifestCommands {
    /// `hadoop fs -ls -R INPUT...`: the files (globs expanded).
    pub list: ShellCommand,
    /// The local file the manifest is written to.
    pub local: PathBuf,
    /// `hadoop fs -mkdir -p TMP`, then `hadoop fs -put LOCAL TMP/manifest`.
    pub upload: Vec<ShellCommand>,
    /// The manifest on the cluster: the first step's input.
    pub path: String,
}

/// The input format of a whole-file first step: one manifest line a map
/// task (`mapreduce.input.lineinputformat.linespermap` defaults to 1).
pub const MANIFEST_INPUT_FORMAT: &str = "org.apache.hadoop.mapred.lib.NLineInputFormat";

fn fs_command(o: &HadoopOptions, args: &[&str]) -> ShellCommand {
    let mut line = vec![o.hadoop_bin.clone(), "fs".to_string()];
    line.extend(args.iter().map(|a| a.to_string()));
    ShellCommand { lines: vec![line] }
}

/// The files of `hadoop fs -ls -R` output (`PERMISSIONS REPLICATION OWNER
/// GROUP SIZE DATE TIME PATH` lines; directories, which start with `d`, left
/// out), without hidden ones: a name starting with `_` or `.` below an
/// input (Hadoop's own input filter, and mr's local listing, skip them; an
/// input named directly is kept). A name may hold a newline, which `-ls`
/// prints as it is: a line that does not start an entry continues the
/// path of the one before (see [`ls_entries`]).
///
/// ```
/// use mr_cli::cluster::hadoop::listed_files;
/// let out = "drwxr-xr-x   - u g    0 2026-12-03 09:12 /in/sub\n\
///            -rw-r--r--   1 u g    2 2026-12-03 09:12 /in/a b.txt\n\
///            -rw-r--r--   1 u g    2 2026-12-03 09:12 /in/_SUCCESS\n\
///            -rw-r--r--   1 u g    2 2026-12-03 09:12 /in/.x/c\n\
///            -rw-r--r--   1 u g    2 2026-12-03 09:12 /in/new\n\
///            line.txt\n\
///            -rw-r--r--   3 u g 1234 2026-12-03 09:12 hdfs://nn:8020/logs/_old.gz\n";
/// let inputs = ["/in".to_string(), "hdfs://nn:8020/logs/_old.gz".to_string()];
/// assert_eq!(
///     listed_files(out, &inputs),
///     ["/in/a b.txt", "/in/new\nline.txt", "hdfs://nn:8020/logs/_old.gz"]
/// );
/// ```
pub fn listed_files(ls: &str, inputs: &[String]) -> Vec<String> {
    ls_entries(ls)
        .into_iter()
        .filter(|(kind, _)| *kind == '-')
        .map(|(_, path)| path)
        .filter(|path| {
            let below = inputs
                .iter()
                .filter_map(|i| path.strip_prefix(i.trim_end_matches('/')))
                .filter(|r| r.is_empty() || r.starts_with('/'))
                .min_by_key(|r| r.len())
                // Under a glob: the name alone is looked at.
                .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path));
            !below
                .split('/')
                .any(|c| c.starts_with('_') || c.starts_with('.'))
        })
        .collect()
}

/// The entries of `hadoop fs -ls` output: each one's kind (the first
/// character of its permissions: `d` a directory, `-` a file) and path. A
/// line that does not start an entry ([`ls_entry_path`]) after an entry
/// continues that entry's path after a newline: `-ls` prints a name as it
/// is, newlines and all (a file `a\nb.txt` came as `... /in/a` and `b.txt`,
/// and a whole-file job then read `/in/a`, which is no file). A name whose
/// newline is followed by text shaped as a whole entry line cannot be told
/// from two entries.
pub fn ls_entries(ls: &str) -> Vec<(char, String)> {
    let mut entries: Vec<(char, String)> = Vec::new();
    let mut lines = ls.split('\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() && line.is_empty() {
            break; // the end of the last line
        }
        match ls_entry_path(line) {
            Some(path) => entries.push((line.chars().next().unwrap_or('-'), path.to_string())),
            // What `-ls` says before a directory's entries, not a name's.
            None if is_found_line(line) => {}
            None => {
                if let Some((_, path)) = entries.last_mut() {
                    path.push('\n');
                    path.push_str(line);
                }
            }
        }
    }
    entries
}

/// `Found N items`.
fn is_found_line(line: &str) -> bool {
    line.strip_prefix("Found ")
        .and_then(|r| r.strip_suffix(" items").or_else(|| r.strip_suffix(" item")))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The path of a line that starts a `hadoop fs -ls` entry: permissions
/// (`drwxr-xr-x`, `-rw-r--r--+` with an ACL), replication (`-` for a
/// directory), owner, group, size, date and time, each followed by one or
/// more spaces, then the path (which may hold spaces); `None` for any
/// other line.
fn ls_entry_path(line: &str) -> Option<&str> {
    let (fields, rest) = ls_fields(line)?;
    let digits = |f: &str, n: usize| f.len() == n && f.bytes().all(|b| b.is_ascii_digit());
    let perms = fields[0].as_bytes();
    let shaped = perms.len() >= 10
        && matches!(perms[0], b'-' | b'd' | b'l')
        && perms[1..10].iter().all(|b| b"rwxsStT-".contains(b))
        && (fields[1] == "-" || fields[1].bytes().all(|b| b.is_ascii_digit()))
        && fields[4].bytes().all(|b| b.is_ascii_digit())
        && matches!(fields[5].split('-').collect::<Vec<_>>()[..], [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2))
        && matches!(fields[6].split(':').collect::<Vec<_>>()[..], [h, m] if digits(h, 2) && digits(m, 2));
    shaped.then_some(rest)
}

/// The path of one `hadoop fs -ls` entry line: seven fields, each followed
/// by one or more spaces, then the path (which may hold spaces).
fn ls_path(line: &str) -> Option<&str> {
    ls_fields(line).map(|(_, path)| path)
}

/// The seven fields of a `hadoop fs -ls` entry line and the rest of it
/// (the path), when it has them.
fn ls_fields(line: &str) -> Option<([&str; 7], &str)> {
    let mut fields = [""; 7];
    let mut rest = line;
    for f in &mut fields {
        let end = rest.find(' ')?;
        *f = &rest[..end];
        rest = rest[end..].trim_start_matches(' ');
    }
    (!rest.is_empty()).then_some((fields, rest))
}

/// What `hadoop fs -ls DIR` says DIR holds that no job writes (see
/// [`mr_core::output::commit::written_by_a_job`]): the names, a
/// directory's with a `/`. A line that does not parse is shown whole, so it
/// counts as foreign: an output is replaced only when all of it is known.
///
/// ```
/// use mr_cli::cluster::hadoop::foreign_in_listing;
/// let ls = "Found 4 items\n\
///           -rw-r--r--   1 u g    0 2026-12-03 09:12 /out/_SUCCESS\n\
///           -rw-r--r--   3 u g 1234 2026-12-03 09:12 /out/part-00000\n\
///           -rw-r--r--   3 u g   52 2026-12-03 09:13 /out/my notes.txt\n\
///           drwxr-xr-x   - u g    0 2026-12-03 09:14 hdfs://nn:8020/out/plots\n";
/// assert_eq!(foreign_in_listing(ls), ["my notes.txt", "plots/"]);
/// ```
pub fn foreign_in_listing(ls: &str) -> Vec<String> {
    let entries: Vec<(&str, bool)> = ls
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("Found "))
        .map(|l| match ls_path(l) {
            Some(p) if l.starts_with('d') || l.starts_with('-') => {
                (p.rsplit('/').next().unwrap_or(p), l.starts_with('d'))
            }
            _ => (l, false),
        })
        .collect();
    mr_core::output::commit::foreign_names(entries)
}

fn rm_command(o: &HadoopOptions, path: &str) -> ShellCommand {
    fs_command(o, &["-rm", "-r", "-f", "-skipTrash", path])
}

/// Builds the commands that run `plan` on Hadoop.
pub fn commands(plan: &JobPlan, o: &HadoopOptions) -> HadoopCommands {
    let n = plan.steps.len();
    let out = o.output.trim_end_matches('/');
    let out = if out.is_empty() { "/" } else { out };
    let replace = {
        let staging = cluster_sibling(out, STAGING_INFIX, &o.run_id);
        let old = cluster_sibling(out, ASIDE_INFIX, &o.run_id);
        let partial = cluster_sibling(out, PARTIAL_INFIX, &o.run_id);
        let name = staging.rsplit('/').next().unwrap_or(&staging);
        let nested = format!("{}/{name}", out.trim_end_matches('/'));
        Replace {
            move_old_aside: fs_command(o, &["-mv", out, &old]),
            remove_empty: fs_command(o, &["-rmdir", out]),
            move_new_in: fs_command(o, &["-mv", &staging, out]),
            check_nested: fs_command(o, &["-test", "-e", &nested]),
            unnest: fs_command(o, &["-mv", &nested, &staging]),
            nested,
            list_output: fs_command(o, &["-ls", out]),
            list_old: fs_command(o, &["-ls", &old]),
            remove_old: fs_command(o, &["-rm", "-r", "-skipTrash", &old]),
            restore_old: fs_command(o, &["-mv", &old, out]),
            check_old: fs_command(o, &["-test", "-e", &old]),
            check_staging: fs_command(o, &["-test", "-e", &staging]),
            partial_aside: fs_command(o, &["-mv", out, &partial]),
            partial,
            discard: rm_command(o, &staging),
            staging,
            old,
        }
    };
    let whole = plan.reads_whole_files();
    let tmp_dir = (n > 1 || whole || o.to_stdout).then(|| run_tmp_dir(&o.tmp_base, &o.run_id));
    let manifest = tmp_dir.as_ref().filter(|_| whole).map(|t| {
        let path = format!("{t}/manifest");
        let local = local_temp_dir().join(format!("mr-{}-manifest", o.run_id));
        let mut list = vec!["-ls", "-R"];
        list.extend(o.inputs.iter().map(String::as_str));
        ManifestCommands {
            list: fs_command(o, &list),
            upload: vec![
                fs_command(o, &["-mkdir", "-p", t]),
                fs_command(o, &["-put", "-f", &local.display().to_string(), &path]),
            ],
            local,
            path,
        }
    });
    let task = |step: usize, role: TaskRole| plan.task_command(step, role);
    let pair = |a: &str, b: String| vec![a.to_string(), b];
    let mut steps = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let mut lines = vec![vec![
            o.hadoop_bin.clone(),
            "jar".to_string(),
            o.streaming_jar.clone(),
        ]];
        lines.push(pair(
            "-D",
            format!("mapreduce.job.name=mr {} step {}/{}", plan.job, i + 1, n),
        ));
        for d in INPUT_SETTINGS.iter().chain([&OUTPUT_COMMITTER]) {
            lines.push(pair("-D", d.to_string()));
        }
        let secondary = step.key_fields() == 2;
        if secondary {
            for d in SECONDARY_SORT {
                lines.push(pair("-D", d.to_string()));
            }
        }
        // Streaming reads a combiner with the reducer's reader, so a step
        // whose reducer writes line for line (below) runs without its
        // combiner: an optimization only (the laws make it optional), so
        // the results are the local runner's.
        let last = i + 1 == n;
        let combiner = step.reducer
            && step.combiner
            && !(last && plan.extras.output_protocol != mr_core::OutputProtocol::Json);
        if last && !combiner {
            // The last task's lines are the output, as they are: Streaming
            // would split each at its first tab and write `key TAB value`,
            // a tab-less line (raw-value output) with a tab added. (JSON
            // lines always hold a tab: with them a combiner stays.)
            let role = if step.reducer { "reduce" } else { "map" };
            lines.push(pair("-D", format!("stream.{role}.output={KEY_ONLY_TEXT}")));
        }
        for (k, v) in &o.jobconf {
            lines.push(pair("-D", format!("{k}={v}")));
        }
        if !last {
            for k in OUTPUT_SEPARATORS {
                if o.jobconf.iter().any(|(set, _)| set == k) {
                    lines.push(pair("-D", format!("{k}=\t")));
                }
            }
        }
        lines.push(pair("-files", files_arg(plan)));
        for (k, v) in &plan.extras.cmdenv {
            lines.push(pair("-cmdenv", format!("{k}={v}")));
        }
        if let (0, Some(m)) = (i, &manifest) {
            // The tasks read files off the manifest with `hadoop fs -cat`.
            lines.push(pair(
                "-cmdenv",
                format!(
                    "{}={}",
                    mr_core::input::whole_file::HADOOP_BIN_ENV,
                    o.hadoop_bin
                ),
            ));
            lines.push(pair("-input", m.path.clone()));
            lines.push(pair("-inputformat", MANIFEST_INPUT_FORMAT.to_string()));
        } else if i == 0 {
            for input in &o.inputs {
                lines.push(pair("-input", input.clone()));
            }
        } else if let Some(t) = &tmp_dir {
            lines.push(pair("-input", format!("{t}/step-{}", i - 1)));
        }
        let output = match &tmp_dir {
            Some(t) if i + 1 < n => format!("{t}/step-{i}"),
            // In this run's own directory: no other run writes there.
            _ if o.to_stdout => out.to_string(),
            _ => replace.staging.clone(),
        };
        lines.push(pair("-output", output));
        lines.push(pair("-mapper", task(i, TaskRole::Mapper)));
        if step.reducer {
            if combiner {
                lines.push(pair("-combiner", task(i, TaskRole::Combiner)));
            }
            lines.push(pair("-reducer", task(i, TaskRole::Reducer)));
            if secondary {
                lines.push(pair("-partitioner", KEY_FIELD_PARTITIONER.to_string()));
            }
            if let Some(r) = o.reducers {
                lines.push(pair("-numReduceTasks", r.to_string()));
            }
        } else {
            lines.push(pair("-numReduceTasks", "0".to_string()));
        }
        steps.push(ShellCommand { lines });
    }
    HadoopCommands {
        check: fs_command(o, &["-ls", "-d", out, &format!("{out}/_SUCCESS")]),
        replace,
        after: tmp_dir.iter().map(|t| rm_command(o, t)).collect(),
        manifest,
        steps,
        tmp_dir,
        fetch: o.to_stdout.then(|| {
            let local = local_temp_dir().join(format!("mr-{}-output", o.run_id));
            let dest = file_uri(&local.join(FETCHED_NAME));
            FetchCommand {
                copy: fs_command(o, &["-copyToLocal", out, &dest]),
                local,
            }
        }),
    }
}

/// This machine's temp dir, absolute: `$TMPDIR` (against the working
/// directory when relative), or `/tmp` when it is unset or empty. A
/// relative one made `file://mr-ID-output/output`, whose first component
/// Hadoop reads as a host: the results were copied to `/output`.
fn local_temp_dir() -> PathBuf {
    let t = std::env::temp_dir();
    if t.as_os_str().is_empty() {
        return PathBuf::from("/tmp");
    }
    std::path::absolute(&t).unwrap_or(t)
}

/// The intermediate directory of run `run_id` under `tmp_base`.
fn run_tmp_dir(tmp_base: &str, run_id: &str) -> String {
    format!("{}/mr-{run_id}", tmp_base.trim_end_matches('/'))
}

/// The `-files` list: the binary, linked as [`JobPlan::link_name`], then
/// the job's files as `PATH#NAME`.
fn files_arg(plan: &JobPlan) -> String {
    let link = plan.link_name();
    let mut v = vec![if link == plan.binary_name() {
        plan.binary.display().to_string()
    } else {
        format!("{}#{link}", plan.binary.display())
    }];
    for (path, name) in &plan.extras.files {
        v.push(format!("{}#{name}", path.display()));
    }
    v.join(",")
}

/// Refuses a run whose shipped binary or file would be shadowed: Hadoop's
/// local job runner (`mapreduce.framework.name=local`, a standalone Hadoop)
/// runs the tasks in the client's directory, `dir`, and links `-files`
/// there, but leaves a file already there under a link's name: the tasks
/// would run that `./mr`, or read that `stop.txt`, with exit 0. An entry
/// that is the file shipped, or a copy of it byte for byte (`cp
/// target/release/mr .`, then `./mr run -r hadoop`), is no error.
///
/// ```
/// use mr_cli::cluster::{JobPlan, hadoop::refuse_shadowed_links};
/// let d = tempfile::tempdir().unwrap();
/// std::fs::write(d.path().join("mr"), "old build").unwrap();
/// let mut plan = JobPlan { job: "j".into(), binary: d.path().join("mr"), steps: vec![],
///                          skip_bad_records: false, extras: Default::default() };
/// assert!(refuse_shadowed_links(&plan, d.path()).is_ok()); // ./mr is the binary
/// std::fs::create_dir(d.path().join("bin")).unwrap();
/// std::fs::write(d.path().join("bin/mr"), "new build").unwrap();
/// plan.binary = d.path().join("bin/mr");
/// assert!(refuse_shadowed_links(&plan, d.path()).is_err()); // ./mr would run instead
/// std::fs::write(d.path().join("bin/mr"), "old build").unwrap();
/// assert!(refuse_shadowed_links(&plan, d.path()).is_ok()); // a copy of it
/// ```
pub fn refuse_shadowed_links(plan: &JobPlan, dir: &Path) -> anyhow::Result<()> {
    let shipped = std::iter::once((plan.binary.as_path(), plan.link_name())).chain(
        plan.extras
            .files
            .iter()
            .map(|(p, n)| (p.as_path(), n.clone())),
    );
    let copy = |a: &Path, b: &Path| {
        let len = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        };
        len(a).is_some() && len(a) == len(b) && std::fs::read(a).ok() == std::fs::read(b).ok()
    };
    for (path, name) in shipped {
        let here = dir.join(&name);
        if std::fs::symlink_metadata(&here).is_err()
            || mr_core::paths::same(&here, path)
            || copy(&here, path)
        {
            continue;
        }
        // A directory of that name is the usual case: the job crate
        // `mr new NAME` made, beside which its binary was built.
        let what = if here.is_dir() {
            "a directory"
        } else {
            "another file"
        };
        crate::usage!(
            "./{name} in the current directory is {what}, not {}, which this run ships under \
             that name: a standalone Hadoop (the local job runner) runs its tasks in the \
             current directory and would use ./{name} instead; run from another directory \
             (the crate's own, for a crate `mr new` made), or move ./{name} away",
            mr_core::error::printable_path(path)
        );
    }
    Ok(())
}

/// Finds a `hadoop-streaming*.jar` under the Hadoop homes of the
/// environment, beside `hadoop_bin` (looked up on the PATH when it is a
/// bare name, symbolic links followed), in the usual install places, and
/// last in the directories `hadoop_bin classpath` names.
pub fn find_streaming_jar(hadoop_bin: &str) -> Option<PathBuf> {
    let mut roots: Vec<PathBuf> = JAR_HOME_VARS
        .iter()
        .filter_map(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .collect();
    let bin = resolve_program(hadoop_bin);
    for b in bin
        .iter()
        .flat_map(|b| [b.clone(), std::fs::canonicalize(b).unwrap_or_default()])
    {
        if let Some(home) = b.parent().and_then(Path::parent)
            && !home.as_os_str().is_empty()
        {
            roots.push(home.to_path_buf());
        }
    }
    roots.extend(JAR_DIRS.iter().map(PathBuf::from));
    if let Some(jar) = roots.iter().find_map(|r| find_jar_under(r, 6)) {
        return Some(jar);
    }
    let bin = bin?;
    let out = super::process::with_utf8_locale(&mut Command::new(&bin))
        .arg("classpath")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    classpath_dirs(&String::from_utf8_lossy(&out.stdout))
        .iter()
        .find_map(|d| find_jar_under(d, 0))
}

/// `program` as a path: as given when it names a directory, else the
/// first file of that name on the PATH.
fn resolve_program(program: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|c| c.is_file())
}

/// The directories a `hadoop classpath` output names (`DIR/*` entries and
/// the directories of jars), each with the `tools/lib` beside it, where
/// Hadoop keeps the streaming jar (`share/hadoop/tools/lib`).
fn classpath_dirs(classpath: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in classpath.trim().split(':').filter(|e| !e.is_empty()) {
        let e = entry.trim_end_matches('*').trim_end_matches('/');
        let p = Path::new(e);
        let dir = if e.ends_with(".jar") {
            p.parent()
        } else {
            Some(p)
        };
        let Some(dir) = dir else { continue };
        for d in [
            Some(dir.to_path_buf()),
            dir.parent().map(|up| up.join("tools/lib")),
        ]
        .into_iter()
        .flatten()
        {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs
}

fn find_jar_under(dir: &Path, depth: usize) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let mut subdirs = Vec::new();
    for e in entries {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            subdirs.push(path);
        } else if name.starts_with("hadoop-streaming")
            && name.ends_with(".jar")
            && !name.contains("sources")
            && !name.contains("test")
        {
            return Some(path);
        }
    }
    if depth == 0 {
        return None;
    }
    subdirs.iter().find_map(|d| find_jar_under(d, depth - 1))
}

/// The `hadoop` program: `--hadoop-bin`, `$HADOOP_HOME/bin/hadoop`, or
/// `hadoop` from the PATH.
fn hadoop_bin(args: &RunArgs) -> String {
    if let Some(b) = &args.hadoop_bin {
        return b.display().to_string();
    }
    if let Some(home) = std::env::var_os("HADOOP_HOME").filter(|h| !h.is_empty()) {
        let b = PathBuf::from(home).join("bin").join("hadoop");
        if b.is_file() {
            return b.display().to_string();
        }
    }
    "hadoop".to_string()
}

/// The options of `mr run -r hadoop`, checked.
pub fn options(plan: &JobPlan, args: &RunArgs) -> anyhow::Result<HadoopOptions> {
    let inputs: Vec<String> = super::inputs(args)
        .iter()
        .map(|i| not_an_option(i))
        .collect();
    super::refuse_local_inputs(&inputs, true, plan.reads_whole_files())?;
    if inputs.is_empty() {
        anyhow::bail!("-r hadoop needs --input (a path on the cluster, e.g. hdfs:///logs)");
    }
    if inputs.iter().any(|i| i == "-") {
        anyhow::bail!("-r hadoop reads its input from the cluster: stdin (-) is not supported");
    }
    let hadoop_bin = hadoop_bin(args);
    let streaming_jar = match &args.hadoop_streaming_jar {
        Some(j) => j.display().to_string(),
        None => match find_streaming_jar(&hadoop_bin) {
            Some(j) => j.display().to_string(),
            None if args.dry_run => {
                mr_core::errln!(
                    "mr: no Hadoop streaming jar found (--hadoop-streaming-jar, $HADOOP_HOME): \
                     the commands show {JAR_PLACEHOLDER}"
                );
                JAR_PLACEHOLDER.to_string()
            }
            None => {
                if let Some(home) = std::env::var_os("HADOOP_HOME")
                    .filter(|h| !h.is_empty() && !Path::new(h).is_dir())
                {
                    anyhow::bail!(
                        "$HADOOP_HOME is {}, which is not a directory: set it to where Hadoop \
                         is installed, or pass --hadoop-bin and --hadoop-streaming-jar",
                        Path::new(&home).display()
                    );
                }
                anyhow::bail!(
                    "cannot find the Hadoop streaming jar: pass --hadoop-streaming-jar PATH \
                 or set $HADOOP_HOME (looked under $HADOOP_HOME, $HADOOP_PREFIX, \
                 $HADOOP_INSTALL, $HADOOP_MAPRED_HOME, beside {hadoop_bin}, in {} \
                 and in `{hadoop_bin} classpath`)",
                    JAR_DIRS.join(", ")
                )
            }
        },
    };
    if let (Some(t), Some(output)) = (&args.tmp_dir, &args.output) {
        check_tmp_not_in_output(&t.display().to_string(), &output.display().to_string())?;
    }
    let multi = plan.steps.len() > 1 || plan.reads_whole_files();
    if let Some(t) = &args.tmp_dir
        && (multi || args.output.is_none())
    {
        check_tmp_read_back(&t.display().to_string())?;
    }
    let tmp_base = args.tmp_dir.as_ref().map_or_else(
        || "/tmp".to_string(),
        |t| not_an_option(&t.display().to_string()),
    );
    let run_id = super::run_id(&plan.job);
    let output = match &args.output {
        Some(o) => not_an_option(&tidy_output(&o.display().to_string())),
        // As mrjob's Hadoop runner (and -r spark): the results are printed.
        None => format!("{}/output", run_tmp_dir(&tmp_base, &run_id)),
    };
    Ok(HadoopOptions {
        hadoop_bin,
        streaming_jar,
        inputs,
        output,
        to_stdout: args.output.is_none(),
        tmp_base,
        run_id,
        reducers: (args.partitions > 0).then_some(args.partitions),
        jobconf: plan.extras.jobconf.clone(),
        overwrite: args.overwrite,
    })
}

/// Refuses a `--tmp-dir` that is the output or inside it, as the local
/// runner does: a multi-step job's first step would create the output
/// (as `OUT/mr-JOB-ID/step-0`), and the final move would find it there and
/// fail after every step ran, the result hidden in the staging dir. Paths
/// as given (the cluster's file system is not looked at): the same path,
/// or one under it.
///
/// ```
/// use mr_cli::cluster::hadoop::check_tmp_not_in_output;
/// assert!(check_tmp_not_in_output("/data/out/tmp", "/data/out/").is_err());
/// assert!(check_tmp_not_in_output("hdfs://nn/out", "hdfs://nn/out/.").is_err());
/// assert!(check_tmp_not_in_output("/data/out-tmp", "/data/out").is_ok());
/// assert!(check_tmp_not_in_output("/tmp", "/data/out").is_ok());
/// ```
pub fn check_tmp_not_in_output(tmp: &str, out: &str) -> anyhow::Result<()> {
    let (t, o) = (tidy_output(tmp), tidy_output(out));
    let under = o == "/" || t.strip_prefix(&o).is_some_and(|rest| rest.starts_with('/'));
    if t == o || under {
        anyhow::bail!(
            "--tmp-dir {tmp} is inside the output directory {out}: the run's intermediate \
             files would be in its output; give a --tmp-dir outside it"
        );
    }
    Ok(())
}

/// Refuses a `--tmp-dir` that Hadoop could write in but not read back: a
/// character of its globs (`*?[]{}\`: a later step's `-input`, and the
/// copy of the results of a run without `--output`, are read as globs) or
/// a `:` in its path (Hadoop refuses one in a path's name). Such a run
/// wrote every step, then failed, its results left in the directory.
///
/// ```
/// use mr_cli::cluster::hadoop::check_tmp_read_back;
/// assert!(check_tmp_read_back("/tmp/a b").is_ok());
/// assert!(check_tmp_read_back("hdfs://nn:8020/tmp").is_ok());
/// assert!(check_tmp_read_back("/tmp/t[x]").is_err());
/// assert!(check_tmp_read_back("/tmp/t{a,b}").is_err());
/// assert!(check_tmp_read_back("/tmp/t:c").is_err());
/// assert!(check_tmp_read_back("file:///tmp/t\\b").is_err());
/// ```
pub fn check_tmp_read_back(tmp: &str) -> anyhow::Result<()> {
    // The path after `scheme:` and `//authority` (where `:` is a port's).
    let path = match mr_core::input::listing::uri_scheme(tmp) {
        Some(scheme) => {
            let rest = &tmp[scheme.len() + 1..];
            match rest.strip_prefix("//") {
                Some(auth) => auth.find('/').map_or("", |i| &auth[i..]),
                None => rest,
            }
        }
        None => tmp,
    };
    if let Some(c) = path.chars().find(|c| "*?[]{}\\:".contains(*c)) {
        anyhow::bail!(
            "--tmp-dir {tmp} holds {c:?}, which Hadoop reads as a glob character or refuses in \
             a path: the run's intermediate files could not be read back; give a --tmp-dir \
             without any of * ? [ ] {{ }} \\ :"
        );
    }
    Ok(())
}

/// A relative path that starts with `-` (`-out`) as `./-out`: Hadoop's
/// commands (`hadoop fs -ls -d -out`, `-output -out`) take it for an
/// option and print their usage. `-` alone (stdin) is left as it is.
///
/// ```
/// use mr_cli::cluster::hadoop::not_an_option;
/// assert_eq!(not_an_option("-out"), "./-out");
/// assert_eq!(not_an_option("--x/y"), "./--x/y");
/// assert_eq!(not_an_option("out-1"), "out-1");
/// assert_eq!(not_an_option("-"), "-");
/// ```
pub fn not_an_option(path: &str) -> String {
    if path.starts_with('-') && path != "-" {
        format!("./{path}")
    } else {
        path.to_string()
    }
}

/// The output path without a trailing `/` or `/.` (`OUT/.` would put the
/// staging directory `OUT/..mr-tmp-*` inside the old output).
///
/// ```
/// use mr_cli::cluster::hadoop::tidy_output;
/// assert_eq!(tidy_output("out/./"), "out");
/// assert_eq!(tidy_output("hdfs://nn/out/."), "hdfs://nn/out");
/// assert_eq!(tidy_output("/"), "/");
/// ```
pub fn tidy_output(out: &str) -> String {
    let mut s = out;
    loop {
        let t = s
            .strip_suffix("/.")
            .or_else(|| s.strip_suffix('/').filter(|t| !t.is_empty()));
        match t {
            Some(t) if !t.is_empty() && !t.ends_with(':') => s = t,
            _ => return s.to_string(),
        }
    }
}

/// Runs (or with `--dry-run`, prints) the Hadoop commands of `plan`.
pub fn run(plan: &JobPlan, args: &RunArgs) -> anyhow::Result<Option<JobReport>> {
    let (shipped, _links) = super::with_plain_paths(plan, args.dry_run)?;
    let plan = &shipped;
    let o = options(plan, args)?;
    let cmds = commands(plan, &o);
    if args.dry_run {
        let mut all = vec![];
        if !o.to_stdout {
            all.push(format!(
                "{}\n# the output must not exist, or be an empty directory (listed empty here, and\n\
                 # removed once every step has succeeded){}:\n{}",
                cmds.check.display(),
                if o.overwrite {
                    ",\n# or be a directory holding _SUCCESS and only what a job writes"
                } else {
                    ""
                },
                cmds.replace.list_output.display()
            ));
        }
        if let Some(m) = &cmds.manifest {
            all.push(format!(
                "{}\n# the files listed, one JSON string a line, into {}",
                m.list.display(),
                shell_quote(&m.local.display().to_string())
            ));
            all.extend(m.upload.iter().map(ShellCommand::display));
        }
        let unplain = super::unplain_paths(plan);
        if !unplain.is_empty() {
            // As pasted, -files would cut these at a comma or fail on them.
            let listed: Vec<String> = unplain
                .iter()
                // One comment line each: escaped, never quoted across lines.
                .map(|p| format!("#   {}", mr_core::error::printable_path(p)))
                .collect();
            all.push(format!(
                "# Hadoop's -files reads its list as URIs split at commas, which these paths \
                 break:\n{}\n# the run links each under a plain name in a temp dir; to run the \
                 commands below yourself, do the same (letters, digits and / . _ - + ~ = @ : only)",
                listed.join("\n")
            ));
        }
        all.extend(cmds.steps.iter().map(ShellCommand::display));
        let r = &cmds.replace;
        all.push(if let Some(f) = &cmds.fetch {
            format!(
                "# no --output: once every step has succeeded, the results are copied here and \
                 printed\n# (merged in key order after a reducer), then removed with the \
                 intermediate directory:\n{}",
                f.copy.display()
            )
        } else if o.overwrite {
            format!(
                "# once every step has succeeded (the -rmdir only when OUT was an empty directory,\n\
                 # the first -mv only when there is an old output; if the -test finds the new\n\
                 # output inside OUT, another run wrote OUT meanwhile: the new output is moved\n\
                 # back out and the run fails):\n{}",
                [
                    &r.remove_empty,
                    &r.move_old_aside,
                    &r.move_new_in,
                    &r.check_nested,
                    &r.list_old,
                    &r.remove_old
                ]
                .map(ShellCommand::display)
                .join("\n")
            )
        } else {
            format!(
                "# once every step has succeeded (the -rmdir only when OUT was an empty directory;\n\
                 # if the -test finds the new output inside OUT, another run wrote OUT meanwhile:\n\
                 # the new output is moved back out and the run fails):\n{}",
                [&r.remove_empty, &r.move_new_in, &r.check_nested]
                    .map(ShellCommand::display)
                    .join("\n")
            )
        });
        all.extend(cmds.after.iter().map(ShellCommand::display));
        super::print_dry_run(&all.join("\n\n"))?;
        return Ok(None);
    }
    refuse_shadowed_links(plan, Path::new("."))?;
    let started = Instant::now();
    // Ctrl-C stops the job (SIGTERM, then SIGKILL), kills it on YARN and
    // removes what it wrote, each a JVM start: give that time.
    mr_core::cancel::allow_stop_time(STOP_TIME);
    let echo = Echo {
        // Also with --quiet, as the emulator and Spark show them: on a
        // local job runner they are in no log that outlives the run.
        bad_records: true,
        matching: (!args.quiet).then_some("mapreduce.Job: "),
    };
    // Without --output, the output is in this run's own new directory.
    let mut state = if o.to_stdout {
        OutputState::Absent
    } else {
        output_state(&cmds.check, &o.output)?
    };
    // An empty directory is taken as no output; it is removed only once
    // every step has succeeded, just before the new output moves in.
    let empty_dir = state == OutputState::Unfinished && listed_empty(&cmds.replace.list_output);
    if empty_dir {
        state = OutputState::Absent;
    }
    match (state, o.overwrite) {
        (OutputState::Absent, _) | (OutputState::Finished, true) => {}
        (_, false) => anyhow::bail!(
            "output {} already exists (use --overwrite to replace it once the new one is complete)",
            o.output
        ),
        (OutputState::File, true) => anyhow::bail!(
            "--overwrite will not replace {}: it is a file, not a job's output",
            o.output
        ),
        (OutputState::Unfinished, true) => anyhow::bail!(
            "--overwrite will not replace {0}: it has no _SUCCESS, so it is not a finished \
             job's output (remove it yourself with `hadoop fs -rm -r {0}` if you mean to)",
            o.output
        ),
    }
    if state == OutputState::Finished {
        let foreign = listed_foreign(&o, &cmds.replace.list_output, &o.output)?;
        if !foreign.is_empty() {
            return Err(mr_core::Error::OutputNotReplaceable {
                path: o.output.clone().into(),
                reason: format!("it holds {}", mr_core::output::commit::describe(&foreign)),
            }
            .into());
        }
    }
    // Without --output, the local directory the results are copied into,
    // made now (removed when `fetched` drops, and by a forced exit).
    let fetched = match &cmds.fetch {
        Some(f) if !args.no_output => Some(fetch_dir(f)?),
        _ => None,
    };
    if let Some(m) = &cmds.manifest {
        let files = write_manifest(m, &o)?;
        if !args.quiet {
            mr_core::errln!(
                "mr: {files} input files listed into {} (one a map task)",
                m.path
            );
        }
    }
    // A forced exit (a second signal) kills the job's client (see
    // run_stoppable) and exits at once, without the JVM starts that remove
    // what the job wrote: named, for the user to remove.
    let mut left_on_forced_exit = Some(mr_core::cancel::on_forced_exit({
        let staging = (!o.to_stdout).then(|| cmds.replace.staging.clone());
        let left: Vec<String> = staging.into_iter().chain(cmds.tmp_dir.clone()).collect();
        move || {
            mr_core::errln!(
                "mr: warning: the stopped Hadoop job may have left {} (remove with hadoop fs -rm -r)",
                left.join(" and ")
            );
        }
    }));
    let n = cmds.steps.len();
    let mut result = Ok(());
    let mut counters = Counters::default();
    let mut job_ids = Vec::new();
    for (i, (c, step)) in cmds.steps.iter().zip(&plan.steps).enumerate() {
        let what = format!("Hadoop Streaming (step {}/{n} of {})", i + 1, plan.job);
        let ran = if mr_core::cancel::requested() {
            Err(mr_core::Error::Interrupted.into())
        } else {
            if !args.quiet {
                mr_core::errln!("mr: step {}/{n} of {}: Hadoop Streaming", i + 1, plan.job);
            }
            run_stoppable(&mut c.to_command(), &what, echo)
        };
        match ran {
            Ok(d) => {
                counters.merge(&hadoop_step_counters(i, step, &d));
                job_ids.extend(d.job_id);
            }
            Err(e) => {
                let stopped = e.downcast_ref::<Stopped>().map(|s| s.said.job_id.clone());
                if let Some(Some(job)) = &stopped {
                    // What it wrote, in the staging directory, is removed below.
                    kill_cluster_job(&o, job);
                }
                result = Err(if stopped.is_some() || mr_core::cancel::requested() {
                    let old = (state == OutputState::Finished).then_some(o.output.as_str());
                    super::interrupted("Hadoop", old)
                } else {
                    e
                });
                break;
            }
        }
    }
    let r = &cmds.replace;
    // Without --output: the results, copied into `fetched` before the
    // intermediate directory that holds them is removed.
    result = match result {
        Ok(()) if o.to_stdout => match &cmds.fetch {
            Some(f) if fetched.is_some() => fetch_output(f),
            _ => Ok(()),
        },
        // Held off from a second signal's forced exit until it ends: OUT
        // is the old output or the new one, never neither.
        Ok(()) => mr_core::cancel::critical(|| {
            let done = replace_output(&o, r, &cmds.check, state, empty_dir);
            if done.is_ok() {
                // Nothing of the job's is left beside OUT.
                left_on_forced_exit = None;
                // What a forced exit then says.
                mr_core::cancel::output_in_place(&o.output);
            }
            done
        })
        .and_then(|()| {
            if mr_core::cancel::requested() {
                // The signal came while the output went in: it is
                // complete, and said so, with the signal's exit status.
                Err(super::finished_before_stop("Hadoop", &o.output, None))
            } else {
                Ok(())
            }
        }),
        Err(e) => {
            // Without --output, the steps wrote only in the intermediate
            // directory, removed below.
            if !o.to_stdout
                && let Err(d) = run_drained(
                    &mut r.discard.to_command(),
                    "removing the unfinished output",
                    Echo::default(),
                )
            {
                mr_core::errln!("mr: warning: {d:#}");
            }
            if super::is_interrupted(&e) || state != OutputState::Finished {
                Err(e) // says so already, or there was no old output
            } else {
                Err(e.context(format!("the old output {} was left as it was", o.output)))
            }
        }
    };
    for c in &cmds.after {
        if let Err(e) = run_drained(
            &mut c.to_command(),
            "removing intermediate outputs",
            Echo::default(),
        ) {
            mr_core::errln!("mr: warning: {e:#}");
        }
    }
    drop(left_on_forced_exit);
    result?;
    if let (Some(_), Some(f)) = (&fetched, &cmds.fetch) {
        let reduced = plan.steps.last().is_some_and(|s| s.reducer);
        super::print_parts(&f.copied(), plan, reduced, &mut counters)?;
    }
    drop(fetched);
    let output = (!o.to_stdout).then_some(o.output.as_str());
    let report = super::report(plan.steps.len(), counters, output, started.elapsed());
    if !args.quiet {
        mr_core::errprint!(
            "{}",
            crate::cmd::summary::counters_text(&report, args.verbose)
        );
        mr_core::errln!(
            "mr: {} finished on Hadoop in {:.1}s{}",
            plan.job,
            report.elapsed.as_secs_f64(),
            match output {
                Some(o) => format!("; output in {}", mr_core::error::printable_line(o)),
                None => String::new(),
            }
        );
        let logs: String = job_ids
            .iter()
            .map(|j| format!("\nmr:   {}", where_are_the_logs(j)))
            .collect();
        super::say_skipped(&report, &format!("in the task logs{logs}"));
    }
    if args.cat_output && !args.no_output && !o.to_stdout {
        // `-text` decodes the parts a compression codec wrote.
        let part_glob = format!("{}/part-*", o.output.trim_end_matches('/'));
        let cat = fs_command(&o, &["-text", &part_glob]);
        // Its log lines are shown only when it fails.
        let done = cat
            .to_command()
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|c| c.wait_with_output())
            .map_err(|e| anyhow::anyhow!("running {}: {e}", cat.display()))?;
        if !done.status.success() {
            anyhow::bail!(
                "--cat-output: `{}` failed ({}): {}",
                cat.display(),
                done.status,
                String::from_utf8_lossy(&done.stderr).trim_end()
            );
        }
    }
    Ok(Some(report))
}

/// A local directory this run made, removed when dropped (and by a forced
/// exit while it lives).
struct MadeDir(PathBuf, Option<mr_core::cancel::RemoveOnExit>);

impl Drop for MadeDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            mr_core::errln!("mr: warning: could not remove {}: {e}", self.0.display());
        }
        self.1.take();
    }
}

/// Copies the output of a run without `--output` into a local directory
/// that this run makes (never one that was there: `create_dir` fails on
/// it), for its parts to be printed.
/// Made before anything is submitted: a `$TMPDIR` that cannot hold it
/// (missing, read-only) fails the run before the job runs, not after.
fn fetch_dir(f: &FetchCommand) -> anyhow::Result<MadeDir> {
    use anyhow::Context as _;
    std::fs::create_dir(&f.local).with_context(|| {
        format!(
            "creating {} for the results (no --output: they are printed; set TMPDIR to a \
             writable directory, or give --output)",
            f.local.display()
        )
    })?;
    let guard = mr_core::cancel::remove_on_forced_exit(&f.local);
    Ok(MadeDir(f.local.clone(), Some(guard)))
}

/// Copies the output of a run without `--output` into the directory
/// [`fetch_dir`] made.
fn fetch_output(f: &FetchCommand) -> anyhow::Result<()> {
    run_drained(
        &mut f.copy.to_command(),
        "copying the results here",
        Echo::default(),
    )?;
    Ok(())
}

/// How long an interrupted cluster run may take to stop its job and remove
/// what it wrote before the watchdog exits anyway.
pub const STOP_TIME: std::time::Duration = std::time::Duration::from_secs(90);

/// Stops the Hadoop job `job` on the cluster: killing the client does not
/// stop a job YARN runs (`mapred job -kill`). The local job runner's jobs
/// die with their client.
fn kill_cluster_job(o: &HadoopOptions, job: &str) {
    if job.starts_with("job_local") {
        return;
    }
    let c = kill_command(&o.hadoop_bin, job);
    match c.captured() {
        Ok(out) if out.status.success() => {
            mr_core::errln!("mr: Hadoop job {job} was killed");
        }
        _ => mr_core::errln!(
            "mr: warning: could not kill Hadoop job {job}; it may still be running: `{}`",
            c.display()
        ),
    }
}

/// `mapred job -kill JOB`, with the `mapred` beside `hadoop` (or `hadoop job
/// -kill JOB`, which older distributions take, when there is none).
///
/// ```
/// use mr_cli::cluster::hadoop::kill_command;
/// let c = kill_command("/nowhere/bin/hadoop", "job_1700000000000_0042");
/// assert_eq!(c.display(), "/nowhere/bin/hadoop job -kill job_1700000000000_0042");
/// ```
pub fn kill_command(hadoop_bin: &str, job: &str) -> ShellCommand {
    let mapred = Path::new(hadoop_bin).with_file_name("mapred");
    let bin = if mapred.is_file() {
        mapred.display().to_string()
    } else {
        hadoop_bin.to_string()
    };
    let line = vec![bin, "job".into(), "-kill".into(), job.into()];
    ShellCommand { lines: vec![line] }
}

/// What is at the output path now (see [`OutputState::read`]).
fn output_state(check: &ShellCommand, output: &str) -> anyhow::Result<OutputState> {
    let o = check.captured()?;
    let said = String::from_utf8_lossy(&o.stderr);
    // It fails for a path that does not exist; anything else it says is
    // a failure to look (a cluster down, no permission).
    let missing = |l: &str| l.contains("No such file or directory");
    let failed = !o.status.success()
        && (!said.lines().any(missing)
            || said.lines().any(|l| l.starts_with("ls: ") && !missing(l)));
    if failed {
        anyhow::bail!(
            "cannot look at the output {output} with `{}` ({}): {}",
            check.display(),
            o.status,
            said.trim()
        );
    }
    Ok(OutputState::read(&String::from_utf8_lossy(&o.stdout)))
}

/// Puts the new output (`staging`) in OUT's place: when there was an old
/// output (`state` finished), in its place, the old one removed only once
/// the new one is there, and put back if the new one cannot be moved in;
/// when OUT was an empty directory (`empty_dir`), removed first (if another
/// run wrote into it meanwhile, it stays, and the new output does not go
/// in: see below). `check` looks at OUT again when the old output cannot be
/// moved aside.
fn replace_output(
    o: &HadoopOptions,
    r: &Replace,
    check: &ShellCommand,
    state: OutputState,
    empty_dir: bool,
) -> anyhow::Result<()> {
    let output = o.output.as_str();
    let run = |c: &ShellCommand, what: &str| {
        run_drained(&mut c.to_command(), what, Echo::default()).map(drop)
    };
    if empty_dir {
        // Fails when OUT is no longer empty (or gone): then `-mv` puts
        // the new output inside it, and the check below takes it out.
        r.remove_empty.succeeds();
    }
    let had_old = state == OutputState::Finished;
    let mut old_exists = had_old;
    if had_old && let Err(e) = run(&r.move_old_aside, "moving the old output aside") {
        if output_state(check, output).is_ok_and(|s| s == OutputState::Absent) {
            // Moved aside all the same (a client that failed after the
            // rename): as if it had not failed. Else removed while the run
            // ran (by hand, a clean-up job): nothing to replace, and the
            // new output goes in as it is.
            old_exists = r.check_old.tells() == Some(true);
        } else {
            return Err(e.context(format!(
                "the old output {output} was left as it was; the new output is in {}",
                r.staging
            )));
        }
    }
    let moved = run(&r.move_new_in, "moving the new output in");
    if moved.is_ok() && r.check_nested.succeeds() {
        // OUT came back while this run ran (another run wrote it): `-mv`
        // put the new output inside it. Out again, and leave OUT alone.
        let back = run(&r.unnest, "moving the new output back out");
        anyhow::bail!(
            "another run wrote {output} while this one ran: it was left as that run wrote it, \
             and the new output is in {}{}",
            if back.is_ok() { &r.staging } else { &r.nested },
            if old_exists {
                format!("; the old output is in {}", r.old)
            } else {
                String::new()
            }
        );
    }
    if let Err(e) = moved {
        let old_at = |restored: bool| match (old_exists, restored) {
            (false, _) => "there was no old output".to_string(),
            (true, true) => format!("the old output {output} was put back"),
            (true, false) => format!("the old output is in {}", r.old),
        };
        // What the failed move did (a client that failed after the rename,
        // a rename that is a copy part by part on an object store).
        let state = output_state(check, output);
        // Whether some of the new output stayed behind: asked (a JVM start)
        // only when something is at OUT.
        let staging_left = match state {
            Ok(OutputState::Finished | OutputState::Unfinished) => r.check_staging.tells(),
            _ => None,
        };
        match (state, staging_left) {
            // Nothing moved in: the old output back in its place.
            (Ok(OutputState::Absent), _) => {
                let restored =
                    old_exists && run(&r.restore_old, "putting the old output back").is_ok();
                return Err(e.context(format!(
                    "the new output is in {}; {}",
                    r.staging,
                    old_at(restored)
                )));
            }
            // All of it moved in, whole: the failure came after the move.
            (Ok(OutputState::Finished), Some(false)) => mr_core::errln!(
                "mr: warning: `{}` failed ({e:#}), but the new output is in place, whole",
                r.move_new_in.display()
            ),
            // Part of it: out again, so that OUT is never half-written,
            // and the old output back.
            (Ok(OutputState::Unfinished | OutputState::Finished), Some(true)) => {
                let aside = run(&r.partial_aside, "moving the part moved in back out");
                let restored = aside.is_ok()
                    && old_exists
                    && run(&r.restore_old, "putting the old output back").is_ok();
                return Err(e.context(if aside.is_ok() {
                    format!(
                        "moving the new output in failed part way: the new output is in {} and \
                         (the part moved in) {}; {}",
                        r.staging,
                        r.partial,
                        old_at(restored)
                    )
                } else {
                    format!(
                        "moving the new output in failed part way, and {output} holds the part \
                         moved in, not a whole output: the rest is in {}; {}",
                        r.staging,
                        old_at(false)
                    )
                }));
            }
            // Anything else (OUT cannot be looked at, is a file): left.
            _ => {
                return Err(e.context(format!(
                    "{output} was left as it is now (look at it: the move may have put part \
                     of the new output there); the new output is in {}; {}",
                    r.staging,
                    old_at(false)
                )));
            }
        }
    }
    if old_exists {
        match listed_foreign(o, &r.list_old, &r.old) {
            Ok(f) if f.is_empty() => {
                if let Err(e) = run(&r.remove_old, "removing the old output") {
                    mr_core::errln!("mr: warning: the old output is left in {}: {e:#}", r.old);
                }
            }
            Ok(f) => mr_core::errln!(
                "mr: warning: the new output is in place; the old one was kept in {}, as it \
                 holds {}",
                r.old,
                mr_core::output::commit::describe(&f)
            ),
            Err(e) => mr_core::errln!("mr: warning: the old output is left in {}: {e:#}", r.old),
        }
    }
    Ok(())
}

/// What `list` (`hadoop fs -ls DIR`) prints of DIR.
fn listed(list: &ShellCommand) -> anyhow::Result<String> {
    let o = list.captured()?;
    if !o.status.success() {
        anyhow::bail!(
            "cannot list the output with `{}` ({}): {}",
            list.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Whether `list` showed nothing in DIR: an empty directory. A listing
/// that fails (a cluster down, no permission) is not empty: the output is
/// then refused as existing.
fn listed_empty(list: &ShellCommand) -> bool {
    listed(list).is_ok_and(|ls| ls.lines().all(|l| l.trim().is_empty()))
}

/// What `list` shows in `dir`, a directory on the cluster, that no job
/// writes, but the report an earlier run wrote there (`--report
/// OUT/run.json` where the cluster's file system is this machine's, or a
/// copy of it): read with `hadoop fs -cat` and recognised by its content as
/// the local runner recognises it
/// ([`mr_core::output::commit::is_report_bytes`]). `-r hadoop --overwrite`
/// refused its own output for it, which the local runner replaces (probe
/// /tmp/probe15-cluster repro 01).
fn listed_foreign(
    o: &HadoopOptions,
    list: &ShellCommand,
    dir: &str,
) -> anyhow::Result<Vec<String>> {
    use mr_core::output::commit::{REPORT_MAX_BYTES, is_report_bytes, may_be_a_report};
    let ls = listed(list)?;
    let output = o.output.trim_end_matches('/');
    let output = output.rsplit('/').next().unwrap_or(output);
    // The output's directory as a path here (reports name it so).
    let local = mr_core::input::listing::local_path_of(dir).unwrap_or_else(|_| dir.to_string());
    let report = |name: &str| {
        let size = ls.lines().find_map(|l| match ls_fields(l) {
            Some((f, path)) if f[0].starts_with('-') && path.rsplit('/').next() == Some(name) => {
                f[4].parse::<u64>().ok()
            }
            _ => None,
        });
        // Read only what may be one; a name Hadoop would take for a glob is
        // not read (it could name other files).
        if !may_be_a_report(name)
            || name.contains(['*', '?', '[', ']', '{', '}', '\\'])
            || size.is_none_or(|n| n > REPORT_MAX_BYTES)
        {
            return false;
        }
        let cat = fs_command(
            o,
            &["-cat", &format!("{}/{name}", dir.trim_end_matches('/'))],
        );
        cat.captured().is_ok_and(|c| {
            c.status.success() && is_report_bytes(&c.stdout, name, Path::new(&local), output)
        })
    };
    Ok(foreign_in_listing(&ls)
        .into_iter()
        .filter(|name| !report(name))
        .collect())
}

/// Lists the input files, writes the manifest and puts it on the cluster;
/// the number of files.
fn write_manifest(m: &ManifestCommands, o: &HadoopOptions) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    let listed = m.list.captured()?;
    if !listed.status.success() {
        anyhow::bail!(
            "listing the input files with `{}` failed ({}): {}",
            m.list.display(),
            listed.status,
            String::from_utf8_lossy(&listed.stderr).trim()
        );
    }
    let files = listed_files(&String::from_utf8_lossy(&listed.stdout), &o.inputs);
    if files.is_empty() {
        anyhow::bail!(
            "no input files under {} (`{}` lists none that is not hidden)",
            o.inputs.join(", "),
            m.list.display()
        );
    }
    let text: String = files
        .iter()
        .map(|f| mr_core::input::whole_file::manifest_line(f) + "\n")
        .collect();
    std::fs::write(&m.local, text)
        .with_context(|| format!("writing the input manifest {}", m.local.display()))?;
    let uploaded = m.upload.iter().try_for_each(|c| {
        run_drained(
            &mut c.to_command(),
            "putting the input manifest on the cluster",
            Echo::default(),
        )
        .map(drop)
    });
    let _ = std::fs::remove_file(&m.local);
    uploaded?;
    Ok(files.len())
}

/// A step's counters from Hadoop's final `Counters:` block: the tasks'
/// (under the local runner's names, [`super::step_counters`]; a job's
/// group named as one of Hadoop's is the job's, see
/// [`super::process::JobCounters`]) and, from Hadoop's own, the input and
/// output bytes and the map tasks. Without such a block (an older client),
/// the reporter lines seen in its output.
fn hadoop_step_counters(step: usize, plan: &StepPlan, d: &Drained) -> Counters {
    let Some(job) = &d.job_counters else {
        return super::step_counters(step, plan, &d.counters);
    };
    warn_of_cut_counter_names(&job.tasks);
    let mut c = super::step_counters(step, plan, &job.tasks);
    let from_hadoop = [
        ("File Input Format Counters", "Bytes Read", "input bytes"),
        (
            "File Output Format Counters",
            "Bytes Written",
            "output bytes",
        ),
        ("Job Counters", "Launched map tasks", "map tasks"),
    ];
    for (group, name, local) in from_hadoop {
        let v = job.hadoop.get(group, name);
        if v > 0 {
            c.add(FRAMEWORK, &format!("step {step}: {local}"), v);
        }
    }
    c
}

/// How long a counter's name and its group's may be on Hadoop
/// (`mapreduce.job.counters.counter.name.max` and `...group.name.max`,
/// in Java characters): a longer one is cut to one character less
/// (`Limits.filterName`: 63), and counters whose names agree up to there
/// are added up as one. A `-D` of them does not lift it (checked: the
/// LocalJobRunner of Hadoop 3.5 keeps cutting; a cluster's daemons read
/// their own configuration).
pub const COUNTER_NAME_MAX: usize = 64;
/// See [`COUNTER_NAME_MAX`].
pub const COUNTER_GROUP_NAME_MAX: usize = 128;

/// The first counter of `tasks` whose name (or group's name) is as long as
/// a name Hadoop cut (see [`COUNTER_NAME_MAX`]) or longer: likely cut,
/// maybe several of the job's counters added up.
pub fn cut_counter_name(tasks: &Counters) -> Option<(String, String)> {
    let java_len = |s: &str| s.encode_utf16().count();
    tasks
        .iter()
        .find(|(g, n, _)| {
            java_len(n) >= COUNTER_NAME_MAX - 1 || java_len(g) >= COUNTER_GROUP_NAME_MAX - 1
        })
        .map(|(g, n, _)| (g.to_string(), n.to_string()))
}

/// Warns of a counter Hadoop reported with a name as long as it lets one
/// be (see [`cut_counter_name`]): the local runner's counter is whole.
fn warn_of_cut_counter_names(tasks: &Counters) {
    if let Some((g, n)) = cut_counter_name(tasks) {
        mr_core::errln!(
            "mr: warning: Hadoop reported counter {}: {} with a name as long as one it cut \
             (it cuts a name longer than {COUNTER_NAME_MAX} characters, a group's longer than \
             {COUNTER_GROUP_NAME_MAX}, and adds up counters whose names agree up to there), so \
             this one may be several of the job's, cut short (the local runner reports them \
             whole); give counters shorter names",
            mr_core::error::printable_line(&g),
            mr_core::error::printable_line(&n)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter name as long as Hadoop lets it be was likely cut (and
    /// maybe merged with another): said (probe /tmp/probe-hadoop repro 03).
    #[test]
    fn a_counter_name_of_hadoops_greatest_length_is_found() {
        let mut c = Counters::default();
        c.add("job", "short", 1);
        assert_eq!(cut_counter_name(&c), None);
        // As Hadoop 3.5 reported `(1; 'www...')` (77 characters).
        let cut = format!("(1; '{}", "w".repeat(58));
        assert_eq!(cut.len(), COUNTER_NAME_MAX - 1);
        c.add("Exceeded max df", &cut, 2);
        assert_eq!(
            cut_counter_name(&c),
            Some(("Exceeded max df".to_string(), cut))
        );
        let mut g = Counters::default();
        g.add(&"g".repeat(COUNTER_GROUP_NAME_MAX - 1), "n", 1);
        assert!(cut_counter_name(&g).is_some());
    }

    fn opts() -> HadoopOptions {
        HadoopOptions {
            hadoop_bin: "hadoop".into(),
            streaming_jar: "streaming.jar".into(),
            inputs: vec!["hdfs:///logs".into()],
            output: "hdfs:///out".into(),
            to_stdout: false,
            tmp_base: "/tmp".into(),
            run_id: "j-1".into(),
            reducers: Some(3),
            jobconf: vec![("mapreduce.map.memory.mb".into(), "2048".into())],
            overwrite: true,
        }
    }

    /// A user's output separator is for the job's output: a step before
    /// the last writes a tab, as the next step reads (before, top_lectures'
    /// second step read `key,value` lines as bad records). Every step
    /// commits its output when the job ends, not task by task.
    #[test]
    fn steps_before_the_last_keep_their_tab_and_all_commit_at_the_end() {
        let plan = super::super::two_combined_steps("j");
        let mut o = opts();
        o.jobconf.push((
            "mapreduce.output.textoutputformat.separator".into(),
            ",".into(),
        ));
        let c = commands(&plan, &o);
        let ds = |i: usize| -> Vec<String> {
            c.steps[i]
                .lines
                .iter()
                .filter(|l| l[0] == "-D")
                .map(|l| l[1].clone())
                .collect()
        };
        let (first, last) = (ds(0), ds(1));
        let sep = "mapreduce.output.textoutputformat.separator=";
        let at = |d: &[String], v: &str| d.iter().position(|x| x == v);
        let user = at(&first, &format!("{sep},")).unwrap();
        assert!(user < at(&first, &format!("{sep}\t")).unwrap(), "{first:?}");
        assert!(
            at(&last, &format!("{sep}\t")).is_none() && at(&last, &format!("{sep},")).is_some()
        );
        for d in [&first, &last] {
            assert!(at(d, OUTPUT_COMMITTER).is_some(), "{d:?}");
        }
    }

    #[test]
    fn a_whole_file_step_reads_a_manifest_a_line_a_task() {
        let plan = JobPlan {
            job: "j".into(),
            binary: "/x/mr".into(),
            steps: vec![StepPlan {
                combiner: false,
                reducer: true,
                sort_values: false,
                whole_files: true,
            }],
            skip_bad_records: false,
            extras: Default::default(),
        };
        let mut o = opts();
        o.inputs.push("hdfs:///more logs/*.gz".into());
        let c = commands(&plan, &o);
        let m = c.manifest.as_ref().unwrap();
        assert_eq!(
            m.list.argv(),
            [
                "hadoop",
                "fs",
                "-ls",
                "-R",
                "hdfs:///logs",
                "hdfs:///more logs/*.gz"
            ]
        );
        assert_eq!(m.path, "/tmp/mr-j-1/manifest");
        assert_eq!(
            m.upload[0].argv().join(" "),
            "hadoop fs -mkdir -p /tmp/mr-j-1"
        );
        let put = m.upload[1].argv();
        assert_eq!(put[..3], ["hadoop", "fs", "-put"]);
        assert_eq!(put.last().map(String::as_str), Some("/tmp/mr-j-1/manifest"));
        let s0 = c.steps[0].argv().join(" ");
        assert!(
            s0.contains(&format!(
                "-cmdenv MR_HADOOP_BIN=hadoop -input /tmp/mr-j-1/manifest -inputformat {MANIFEST_INPUT_FORMAT} -output hdfs:///.out.mr-tmp-j-1"
            )),
            "{s0}"
        );
        assert!(!s0.contains("-input hdfs:///logs"), "{s0}");
        // The manifest's directory goes at the end.
        assert_eq!(
            c.after[0].argv().join(" "),
            "hadoop fs -rm -r -f -skipTrash /tmp/mr-j-1"
        );
    }

    #[test]
    fn map_only_step_has_no_reducer() {
        let plan = JobPlan {
            job: "j".into(),
            binary: "/x/mr".into(),
            steps: vec![
                StepPlan {
                    combiner: false,
                    reducer: true,
                    sort_values: true,
                    whole_files: false,
                },
                StepPlan {
                    combiner: false,
                    reducer: false,
                    sort_values: false,
                    whole_files: false,
                },
            ],
            skip_bad_records: true,
            extras: Default::default(),
        };
        let c = commands(&plan, &opts());
        assert_eq!(
            c.check.argv().join(" "),
            "hadoop fs -ls -d hdfs:///out hdfs:///out/_SUCCESS"
        );
        // The last step writes beside the output, which is replaced (with
        // --overwrite) only after it.
        let r = &c.replace;
        assert_eq!(r.staging, "hdfs:///.out.mr-tmp-j-1");
        for (cmd, want) in [
            (&r.move_old_aside, "-mv hdfs:///out hdfs:///.out.mr-old-j-1"),
            (&r.move_new_in, "-mv hdfs:///.out.mr-tmp-j-1 hdfs:///out"),
            (&r.check_nested, "-test -e hdfs:///out/.out.mr-tmp-j-1"),
            (
                &r.unnest,
                "-mv hdfs:///out/.out.mr-tmp-j-1 hdfs:///.out.mr-tmp-j-1",
            ),
            (&r.remove_old, "-rm -r -skipTrash hdfs:///.out.mr-old-j-1"),
            (&c.after[0], "-rm -r -f -skipTrash /tmp/mr-j-1"),
        ] {
            assert_eq!(cmd.argv().join(" "), format!("hadoop fs {want}"));
        }
        let s0 = c.steps[0].argv().join(" ");
        assert!(s0.contains("-output /tmp/mr-j-1/step-0"), "{s0}");
        assert!(
            s0.contains("--reducer --skip-bad-records -partitioner"),
            "{s0}"
        );
        assert!(
            s0.contains("-D mapreduce.map.memory.mb=2048 -files /x/mr"),
            "{s0}"
        );
        let s1 = c.steps[1].argv().join(" ");
        assert!(
            s1.contains("-input /tmp/mr-j-1/step-0 -output hdfs:///.out.mr-tmp-j-1"),
            "{s1}"
        );
        let mut keep = opts();
        keep.overwrite = false;
        let c = commands(&plan, &keep);
        // Without it too: never OUT itself, which another run may write.
        let s1 = c.steps[1].argv().join(" ");
        assert!(
            s1.contains("-output hdfs:///.out.mr-tmp-j-1 -mapper"),
            "{s1}"
        );
        assert!(s1.ends_with("-numReduceTasks 0"), "{s1}");
        assert!(!s1.contains("-reducer"), "{s1}");
    }

    /// A last step with a combiner keeps it when it writes JSON (a tab in
    /// every line), and drops it to write text line for line.
    #[test]
    fn a_last_step_written_as_text_runs_without_its_combiner() {
        let mut plan = JobPlan {
            job: "j".into(),
            binary: "/x/mr".into(),
            steps: vec![StepPlan {
                combiner: true,
                reducer: true,
                sort_values: false,
                whole_files: false,
            }],
            skip_bad_records: false,
            extras: Default::default(),
        };
        let s = commands(&plan, &opts()).steps[0].argv().join(" ");
        assert!(s.contains("-combiner"), "{s}");
        assert!(!s.contains(KEY_ONLY_TEXT), "{s}");
        for p in ["raw-value", "text", "json-value"] {
            plan.extras.output_protocol = p.parse().unwrap();
            let s = commands(&plan, &opts()).steps[0].argv().join(" ");
            assert!(!s.contains("-combiner"), "{p}: {s}");
            assert!(
                s.contains("-D stream.reduce.output=keyonlytext"),
                "{p}: {s}"
            );
        }
    }

    #[test]
    fn jar_is_found_under_a_home() {
        let d = tempfile::tempdir().unwrap();
        let lib = d.path().join("share/hadoop/tools/lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("hadoop-streaming-3.3.6-sources.jar"), "").unwrap();
        std::fs::write(lib.join("hadoop-streaming-3.3.6.jar"), "").unwrap();
        assert_eq!(
            find_jar_under(d.path(), 6),
            Some(lib.join("hadoop-streaming-3.3.6.jar"))
        );
    }
}
