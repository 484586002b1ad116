//! Child processes whose output is drained on threads of its own, so that a
//! chatty child never blocks on a full pipe, and whose stderr is shown when
//! it fails (as ripgrep's `cli/process.rs` does for decompression commands).
//!
//! A drained stream also yields what the child reported the Hadoop
//! Streaming way: `reporter:counter:GROUP,NAME,AMOUNT` lines are summed into
//! [`Counters`], `mr-bad-record:` lines are counted (and echoed on request),
//! the tasks' own error lines (`mr: error: ...`) are kept whole however much
//! follows them, and from Hadoop's own output the job id and the job's
//! final `Counters:` block are read.

use anyhow::Context as _;
use mr_core::Counters;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many of the last lines of a stream are kept for error messages.
pub const TAIL_LINES: usize = 60;
/// The longest line kept for error messages, in bytes.
const MAX_LINE_BYTES: usize = 4096;
/// How many of the tasks' error lines are kept (the first ones).
pub const MAX_TASK_ERROR_LINES: usize = 200;

/// The locale a JVM (`hadoop`, `spark-submit`) is given when this process's
/// is not UTF-8 (LANG unset, as under cron, systemd units and bare
/// containers). The JVM decodes its arguments and file names by the locale
/// (`sun.jnu.encoding`), ASCII under `C`/`POSIX`: `mr_grep -e école`'s
/// task command then carried `??cole`, a local directory named `é ü/` was
/// not read, and the job ended with exit 0.
pub const UTF8_LOCALE: &str = "C.UTF-8";

/// Whether the locale the environment `var` gives (POSIX precedence:
/// `LC_ALL`, then `LC_CTYPE`, then `LANG`, the first set and not empty)
/// encodes characters as UTF-8.
///
/// ```
/// use mr_cli::cluster::process::locale_is_utf8;
/// let env = |pairs: &'static [(&'static str, &'static str)]| {
///     move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
/// };
/// assert!(locale_is_utf8(env(&[("LANG", "en_US.UTF-8")])));
/// assert!(locale_is_utf8(env(&[("LC_ALL", "C.utf8"), ("LANG", "C")])));
/// assert!(!locale_is_utf8(env(&[])));
/// assert!(!locale_is_utf8(env(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")])));
/// assert!(!locale_is_utf8(env(&[("LC_ALL", ""), ("LANG", "POSIX")])));
/// ```
pub fn locale_is_utf8(var: impl Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| var(k).filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// Gives `cmd` (a JVM's launcher) a UTF-8 locale ([`UTF8_LOCALE`]) when
/// this process's is not one, or is named so but not installed; leaves a
/// working UTF-8 locale as it is.
pub fn with_utf8_locale(cmd: &mut Command) -> &mut Command {
    with_utf8_locale_in(cmd, |k| std::env::var(k).ok(), locale_is_installed)
}

/// [`with_utf8_locale`] in the environment `var` gives, `installed` telling
/// whether the locale it names is there (for tests).
fn with_utf8_locale_in(
    cmd: &mut Command,
    var: impl Fn(&str) -> Option<String>,
    installed: impl Fn() -> bool,
) -> &mut Command {
    if !locale_is_utf8(var) || !installed() {
        cmd.env("LC_ALL", UTF8_LOCALE);
    }
    cmd
}

/// Whether this process's locale, named UTF-8, is installed: glibc falls
/// back to C (ASCII) for one it does not have (`LANG=en_US.UTF-8` in a
/// container with only `C.UTF-8`), and the JVM then read every non-ASCII
/// file name as `?` and left those files out, exit 0 (probe
/// /tmp/probe-new, repro 06). Asked of `locale charmap`; where it cannot be
/// run, the name is trusted.
fn locale_is_installed() -> bool {
    // Asked once: every hadoop or spark command of a run is given it.
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(ask_locale_charmap)
}

/// `locale charmap`'s answer for [`locale_is_installed`].
fn ask_locale_charmap() -> bool {
    match Command::new("locale")
        .arg("charmap")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => {
            let charmap = String::from_utf8_lossy(&o.stdout);
            let charmap = charmap.trim().to_ascii_lowercase();
            charmap == "utf-8" || charmap == "utf8"
        }
        _ => true,
    }
}

/// Hadoop's own counter groups that it prints first in a job's `Counters:`
/// block, in that order (its framework groups, sorted by their classes:
/// `FileSystemCounter`, `JobCounter`, `TaskCounter`), by display name. A
/// task's group of the same name is another group, printed after them
/// (probe: a task's `reporter:counter:Job Counters,x,1` and
/// `reporter:counter:Map-Reduce Framework,Map input records,5` each came
/// as a group of their own, after Hadoop's).
pub const HADOOP_FRAMEWORK_GROUPS: [&str; 3] = [
    "File System Counters",
    "Job Counters",
    "Map-Reduce Framework",
];

/// Hadoop's other groups, which it prints among the tasks' groups, and the
/// names of its counters in them: a task's counter of another name in a
/// group of that name is the task's (a task's `Shuffle Errors` group is
/// Hadoop's, one group for both).
pub const HADOOP_OTHER_GROUPS: [(&str, &[&str]); 3] = [
    (
        "Shuffle Errors",
        &[
            "BAD_ID",
            "CONNECTION",
            "IO_ERROR",
            "WRONG_LENGTH",
            "WRONG_MAP",
            "WRONG_REDUCE",
        ],
    ),
    ("File Input Format Counters", &["Bytes Read"]),
    ("File Output Format Counters", &["Bytes Written"]),
];

/// The counters of a Hadoop job's final `Counters:` block: Hadoop's own
/// apart from the tasks' (the job's groups and mr's), which may have the
/// same group names as Hadoop's (a job's `Job Counters`).
#[derive(Debug, Clone)]
pub struct JobCounters {
    /// Hadoop's own counters, by their groups' and names' display names
    /// (spaces around them trimmed: `Job Counters `).
    pub hadoop: Counters,
    /// The tasks' counters, by the names the tasks gave them.
    pub tasks: Counters,
    /// The first index in [`HADOOP_FRAMEWORK_GROUPS`] the next framework
    /// group may have (Hadoop prints them once each, in order); `None` once
    /// another group was read.
    next_framework: Option<usize>,
}

/// The group of the counter lines being read in a `Counters:` block.
#[derive(Debug, Default, Clone)]
struct BlockGroup {
    /// Its heading, as printed.
    heading: String,
    /// Whether it is one of Hadoop's framework groups.
    framework: bool,
}

impl JobCounters {
    /// The group whose counters follow the heading `heading` (the line
    /// without its tab).
    fn group(&mut self, heading: &str) -> BlockGroup {
        let name = heading.trim();
        let framework = match (
            self.next_framework,
            HADOOP_FRAMEWORK_GROUPS.iter().position(|g| *g == name),
        ) {
            // Hadoop's are printed first, each once, in their order: a
            // group of a framework group's name after them is a task's.
            (Some(next), Some(i)) if i >= next => {
                self.next_framework = Some(i + 1);
                true
            }
            _ => {
                self.next_framework = None;
                false
            }
        };
        BlockGroup {
            heading: heading.to_string(),
            framework,
        }
    }

    /// Adds the counter line `name=v` of `group`.
    fn add(&mut self, group: &BlockGroup, name: &str, v: i64) {
        let (g, n) = (group.heading.trim(), name.trim());
        let hadoops = group.framework
            || HADOOP_OTHER_GROUPS
                .iter()
                .any(|(og, names)| *og == g && names.contains(&n));
        if hadoops {
            self.hadoop.add(g, n, v);
        } else {
            // As the task named them: Hadoop prints them as it was given
            // them (Streaming trims the reporter line's ends only).
            self.tasks.add(&group.heading, name, v);
        }
    }
}

impl Default for JobCounters {
    fn default() -> JobCounters {
        JobCounters {
            hadoop: Counters::default(),
            tasks: Counters::default(),
            next_framework: Some(0),
        }
    }
}

/// What to do with the lines of a drained stream besides keeping its tail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo {
    /// Copy `mr-bad-record:` lines to our stderr.
    pub bad_records: bool,
    /// Copy lines containing this text to our stderr (progress lines).
    pub matching: Option<&'static str>,
}

/// What a drained stream held.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    /// Its last lines (at most [`TAIL_LINES`]), reporter lines left out.
    pub tail: VecDeque<String>,
    /// Lines dropped from the front of `tail`.
    pub dropped: u64,
    /// The sum of its `reporter:counter:` lines.
    pub counters: Counters,
    /// Its `mr-bad-record:` lines.
    pub bad_records: u64,
    /// The tasks' own error lines, in order: `mr: ...` lines and their
    /// indented continuation lines, and Hadoop's `Task Id : ... FAILED`
    /// lines with the `Error: ...` line after them (at most
    /// [`MAX_TASK_ERROR_LINES`]).
    pub task_errors: Vec<String>,
    /// Task error lines left out beyond [`MAX_TASK_ERROR_LINES`].
    pub task_errors_dropped: u64,
    /// The Hadoop job id (`job_1700000000000_0042`), from `Running job:`.
    pub job_id: Option<String>,
    /// The counters Hadoop printed for the whole job (its `mapreduce.Job:
    /// Counters: N` block), Hadoop's own apart from the tasks'.
    pub job_counters: Option<JobCounters>,
    /// The first Java exception that says a task could not read its input
    /// (see [`INPUT_FAILURES`]).
    pub input_failure: Option<InputFailure>,
    /// The split of the last `Processing split: PATH:START+LEN` line
    /// (Hadoop's local job runner) or `Input split: ...` (Spark's).
    split: Option<String>,
    /// The split mr's Spark driver said the failed task read
    /// ([`FAILED_SPLIT`]): on stdout or stderr, as pyspark passes it on.
    pub failed_split: Option<String>,
    /// Reading the counters block: the group of the lines that follow.
    counters_group: Option<BlockGroup>,
    /// The previous line was a task error line (continuations follow).
    in_task_error: bool,
}

impl Drained {
    /// The tail as one string, with a note when lines were dropped.
    pub fn tail_text(&self) -> String {
        let mut s = String::new();
        if self.dropped > 0 {
            s.push_str(&format!("[... {} earlier lines]\n", self.dropped));
        }
        for l in &self.tail {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    /// The task error lines as one string, with a note when lines were
    /// left out.
    pub fn task_errors_text(&self) -> String {
        let mut s = String::new();
        for l in &self.task_errors {
            s.push_str(l);
            s.push('\n');
        }
        if self.task_errors_dropped > 0 {
            s.push_str(&format!("[... {} more lines]\n", self.task_errors_dropped));
        }
        s
    }

    /// Hadoop's job client lines: the job id, the final counters block, the
    /// tasks' error lines. True when the line was a counters line.
    fn hadoop_line(&mut self, line: &str) -> bool {
        if let (Some(group), Some(c)) = (&self.counters_group, self.job_counters.as_mut()) {
            if let Some(rest) = line.strip_prefix("\t\t") {
                if let Some((name, value)) = rest.rsplit_once('=')
                    && let Ok(v) = value.trim().parse()
                {
                    c.add(group, name, v);
                }
                return true;
            }
            if let Some(heading) = line.strip_prefix('\t') {
                self.counters_group = Some(c.group(heading));
                return true;
            }
            self.counters_group = None;
        }
        if line.contains("mapreduce.Job: Counters: ") {
            self.job_counters = Some(JobCounters::default());
            self.counters_group = Some(BlockGroup::default());
            return true;
        }
        if self.job_id.is_none()
            && let Some(at) = line.find("Running job: ")
        {
            let id = line[at + "Running job: ".len()..].trim();
            if !id.is_empty() {
                self.job_id = Some(id.to_string());
            }
        }
        // Hadoop's local job runner, and Spark's HadoopRDD, name the split
        // a task reads.
        for said in ["Processing split: ", "Input split: "] {
            if let Some(at) = line.find(said) {
                self.split = Some(line[at + said.len()..].trim().to_string());
            }
        }
        if self.input_failure.is_none()
            && line.contains("Exception")
            && let Some((_, why)) = INPUT_FAILURES.iter().find(|(f, _)| line.contains(f))
        {
            let exception = line.trim_start_matches("Error: ").trim();
            self.input_failure = Some(InputFailure {
                exception: cut(exception.to_string()),
                split: self.split.clone(),
                why,
            });
        }
        let is_error = line.starts_with("mr: ")
            || line.contains("mapreduce.Job: Task Id : ")
            || (self.in_task_error && (line.starts_with("  ") || line.starts_with("Error: ")));
        self.in_task_error = is_error;
        if is_error {
            if self.task_errors.len() < MAX_TASK_ERROR_LINES {
                self.task_errors.push(cut(line.to_string()));
            } else {
                self.task_errors_dropped += 1;
            }
        }
        false
    }

    fn line(&mut self, raw: &[u8], echo: Echo) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = String::from_utf8_lossy(raw);
        // mr's Spark driver names the split of the task that failed, after
        // its exception (Spark logs the splits only at INFO).
        if let Some(split) = line.strip_prefix(FAILED_SPLIT) {
            self.failed_split = Some(split.trim().to_string());
            return;
        }
        if self.hadoop_line(&line) {
            return;
        }
        if let Some(rest) = line.strip_prefix("reporter:counter:") {
            // GROUP,NAME,AMOUNT; the amount is the last field.
            if let Some((gn, amount)) = rest.rsplit_once(',')
                && let (Some((g, n)), Ok(a)) = (gn.split_once(','), amount.trim().parse())
            {
                self.counters.add(g, n, a);
                return;
            }
        }
        if line.starts_with("reporter:status:") {
            return;
        }
        if line.starts_with("mr-bad-record: ") {
            self.bad_records += 1;
            if echo.bad_records {
                echo_line(&line);
            }
        } else if echo.matching.is_some_and(|m| line.contains(m)) {
            echo_line(&line);
        }
        let kept = cut(line.into_owned());
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
            self.dropped += 1;
        }
        self.tail.push_back(kept);
    }
}

/// Copies a child's line to our stderr: on a terminal, its control
/// characters and bidirectional marks escaped, as the local runner shows
/// skipped records (a record is the input's: an `ESC [` in it must not
/// clear or retitle the user's terminal); into a file or pipe, as it is.
fn echo_line(line: &str) {
    use std::io::IsTerminal as _;
    let mut err = std::io::stderr().lock();
    let _ = if err.is_terminal() {
        writeln!(err, "{}", mr_core::error::printable_line(line))
    } else {
        writeln!(err, "{line}")
    };
}

/// The line mr's Spark driver (`spark_driver.py`) names the split of the
/// task that failed reading its input with, after the task's exception.
pub const FAILED_SPLIT: &str = "mr-failed-split: ";

/// A task that could not read its input: the Java exception that said so,
/// the split the local job runner (or Spark) said it was reading then, and
/// what it likely means.
#[derive(Debug, Clone)]
pub struct InputFailure {
    /// The exception's line.
    pub exception: String,
    /// `PATH:START+LEN`, when Hadoop's local job runner or Spark named it.
    pub split: Option<String>,
    /// What it likely means, and what to do.
    pub why: &'static str,
}

/// What a damaged compressed file makes Hadoop's decompressors say.
const DAMAGED: &str = "a compressed file cut short or damaged, a log copied while it was \
    written, or one whose name is not its format; `gzip -t FILE` tells which. The local \
    runner (drop -r) reads such a file up to the damage and, with --skip-bad-records, keeps \
    the rest aside as a bad record";

/// What the Java exceptions say when a task cannot read its input: those of
/// Hadoop's decompressors when a compressed input is cut or damaged (gzip,
/// zlib, bzip2, zstd) or is not what its name says, and the local file
/// system's when a file no longer matches the `.NAME.crc` beside it.
const INPUT_FAILURES: &[(&str, &str)] = &[
    ("Unexpected end of input stream", DAMAGED),
    ("not a gzip file", DAMAGED),
    ("incorrect header check", DAMAGED),
    ("invalid block type", DAMAGED),
    ("invalid distance", DAMAGED),
    ("invalid stored block lengths", DAMAGED),
    ("invalid code lengths", DAMAGED),
    ("Premature EOF", DAMAGED),
    ("crc error", DAMAGED),
    ("Stream is not BZip2 formatted", DAMAGED),
    ("Unknown frame descriptor", DAMAGED),
    (
        "ChecksumException",
        "Hadoop's local file system checks a file against the hidden .NAME.crc file \
         beside it, which Hadoop wrote with it: the file was changed since (edited, appended \
         to, copied over); remove the .crc file, or run locally (drop -r)",
    ),
];

/// `line`, cut to [`MAX_LINE_BYTES`].
fn cut(mut line: String) -> String {
    if line.len() > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str(" [...]");
    }
    line
}

/// A stream read to its end on a thread of its own.
#[derive(Debug)]
pub struct Drain {
    handle: JoinHandle<Drained>,
}

impl Drain {
    /// Starts reading `stream` (a child's stderr or stdout) on a thread of
    /// its own; an error when the system refuses the thread (a pids limit).
    pub fn start(stream: impl Read + Send + 'static, echo: Echo) -> std::io::Result<Drain> {
        let handle = std::thread::Builder::new().spawn(move || {
            let mut d = Drained::default();
            let mut r = BufReader::with_capacity(64 << 10, stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => d.line(&buf, echo),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        d.line(
                            format!("[mr: error reading the stream: {e}]").as_bytes(),
                            echo,
                        );
                        break;
                    }
                }
            }
            d
        })?;
        Ok(Drain { handle })
    }

    /// Waits for the end of the stream.
    pub fn finish(self) -> Drained {
        self.handle.join().unwrap_or_else(|_| {
            let mut d = Drained::default();
            d.tail
                .push_back("[mr: the thread reading this stream panicked]".into());
            d
        })
    }
}

/// The error of a child that failed: what it was, how it ended, what its
/// tasks said (`mr: error: ...`), where their logs are, and the tail of its
/// stderr.
pub fn failure(what: &str, status: ExitStatus, stderr: &Drained) -> anyhow::Error {
    let tail = stderr.tail_text();
    let mut msg = format!("{what} failed ({status})");
    // A task's own stderr (the emulator) shows its error lines in the tail.
    let in_tail = stderr.task_errors_dropped == 0
        && stderr.task_errors.iter().all(|e| stderr.tail.contains(e));
    let said = (!stderr.task_errors.is_empty() && !in_tail) || stderr.job_id.is_some();
    if !stderr.task_errors.is_empty() && !in_tail {
        msg.push_str("; the tasks said:\n");
        msg.push_str(&stderr.task_errors_text());
    } else if stderr.job_id.is_some() {
        msg.push('\n');
    }
    let said = said || stderr.input_failure.is_some();
    if let Some(f) = &stderr.input_failure {
        if !msg.ends_with('\n') {
            msg.push('\n');
        }
        msg.push_str(&format!(
            "a task could not read its input{}: {}\n({}.)\n",
            match stderr.failed_split.as_ref().or(f.split.as_ref()) {
                Some(s) => format!(" ({s})"),
                None => String::new(),
            },
            f.exception,
            f.why
        ));
    }
    if let Some(job) = &stderr.job_id {
        msg.push_str(&where_are_the_logs(job));
        msg.push('\n');
    }
    if !tail.trim().is_empty() {
        msg.push_str(if said {
            "its stderr ends with:\n"
        } else {
            "; its stderr ends with:\n"
        });
        msg.push_str(&tail);
    } else if !said {
        msg.push_str(" and wrote nothing on stderr");
    }
    anyhow::anyhow!(msg)
}

/// Where a Hadoop job's task logs are: `yarn logs -applicationId` on a
/// cluster (the application id is the job id's), the output above for the
/// local job runner.
///
/// ```
/// use mr_cli::cluster::process::where_are_the_logs;
/// assert_eq!(where_are_the_logs("job_1700000000000_0042"),
///     "Hadoop job job_1700000000000_0042; the task logs: \
///      yarn logs -applicationId application_1700000000000_0042");
/// ```
pub fn where_are_the_logs(job_id: &str) -> String {
    if job_id.starts_with("job_local") {
        return format!(
            "Hadoop job {job_id} (the local job runner: the task logs are Hadoop's output)"
        );
    }
    match job_id.strip_prefix("job_") {
        Some(rest) => format!(
            "Hadoop job {job_id}; the task logs: yarn logs -applicationId application_{rest}"
        ),
        None => format!("Hadoop job {job_id}"),
    }
}

/// Runs `cmd` to its end with stdout and stderr drained on their own
/// threads (stdin from /dev/null). Succeeds with the drained stderr when the
/// command exits with status 0; otherwise the error holds the tail of its
/// stderr (and of its stdout, when it wrote there).
pub fn run_drained(cmd: &mut Command, what: &str, echo: Echo) -> anyhow::Result<Drained> {
    run(cmd, what, echo, false)
}

/// How long a job command has to end after SIGTERM before it is killed.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

/// [`run_drained`] for a command that runs a job (`hadoop jar`,
/// `spark-submit`), which the run must not leave behind when it is
/// interrupted. The command gets a process group of its own, so that a
/// terminal's Ctrl-C reaches mr alone; once the run is interrupted
/// ([`mr_core::cancel::requested`]), the group is sent SIGTERM (the JVM and
/// the tasks it started), and SIGKILL [`STOP_WAIT`] later. The error is
/// then [`Stopped`], with what the command had said (the job id), so that
/// the runner can remove what the job wrote. A forced exit meanwhile (a
/// second signal) kills the group and waits for it to end
/// ([`kill_group_on_forced_exit`]) rather than leave the job running.
pub fn run_stoppable(cmd: &mut Command, what: &str, echo: Echo) -> anyhow::Result<Drained> {
    run(cmd, what, echo, true)
}

/// A job command stopped because the run was interrupted (see
/// [`run_stoppable`]).
#[derive(Debug)]
pub struct Stopped {
    /// What the command was (`Hadoop Streaming (step 1/2 of word_count)`).
    pub what: String,
    /// Its stderr up to then.
    pub said: Drained,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was stopped", self.what)
    }
}

impl std::error::Error for Stopped {}

fn run(cmd: &mut Command, what: &str, echo: Echo, stoppable: bool) -> anyhow::Result<Drained> {
    if stoppable {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {what} ({:?})", cmd.get_program()))?;
    let refused = |source| mr_core::Error::NoThread {
        what: "starting a thread to read a command's output",
        source,
    };
    let out = child
        .stdout
        .take()
        .map(|s| Drain::start(s, echo).map_err(refused))
        .transpose();
    let err = child
        .stderr
        .take()
        .map(|s| Drain::start(s, echo).map_err(refused))
        .transpose();
    let (out, err) = match (out, err) {
        (Ok(out), Ok(err)) => (out, err),
        (Err(e), _) | (_, Err(e)) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e.into());
        }
    };
    let status = if stoppable {
        let _killed_on_forced_exit = kill_group_on_forced_exit(child.id());
        wait_or_stop(&mut child)
    } else {
        child.wait().map(Some)
    }
    .with_context(|| format!("waiting for {what}"))?;
    let out = out.map(Drain::finish).unwrap_or_default();
    let mut err = err.map(Drain::finish).unwrap_or_default();
    let Some(status) = status else {
        return Err(anyhow::Error::new(Stopped {
            what: what.to_string(),
            said: err,
        }));
    };
    if status.success() {
        err.counters.merge(&out.counters);
        return Ok(err);
    }
    if err.failed_split.is_none() {
        err.failed_split = out.failed_split.clone();
    }
    if !out.tail.is_empty() {
        err.tail.push_back("[stdout:]".into());
        err.tail.extend(out.tail.iter().cloned());
        while err.tail.len() > 2 * TAIL_LINES {
            err.tail.pop_front();
            err.dropped += 1;
        }
    }
    Err(failure(what, status, &err))
}

/// How long a forced exit waits for a killed job command's process group
/// to be gone.
const KILLED_WAIT: Duration = Duration::from_secs(5);

/// Registers, for a forced exit while the job command `pid` (the leader of
/// its own process group) runs: SIGKILL to the group, then a wait (at most
/// [`KILLED_WAIT`]) until no process of it is left, so that the clean-up
/// after it (registered before, run after) sees what the job left, not a
/// job still moving files.
fn kill_group_on_forced_exit(pid: u32) -> Option<mr_core::cancel::RemoveOnExit> {
    let group = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
    Some(mr_core::cancel::on_forced_exit(move || {
        kill_group_and_wait(group, KILLED_WAIT);
    }))
}

/// SIGKILL to process group `group`, then waits (at most `wait`) until no
/// process of it is left; false when some still was.
fn kill_group_and_wait(group: rustix::process::Pid, wait: Duration) -> bool {
    use rustix::process::{Signal, kill_process_group, test_kill_process_group};
    if kill_process_group(group, Signal::KILL).is_err() {
        return true; // gone already
    }
    let deadline = Instant::now() + wait;
    // The leader stays a zombie until the thread waiting for it reaps it
    // (every 20 ms).
    while test_kill_process_group(group).is_ok() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Waits for `child` (the leader of its own process group); `None` when the
/// run was interrupted first and the group was stopped.
fn wait_or_stop(child: &mut std::process::Child) -> std::io::Result<Option<ExitStatus>> {
    const POLL: Duration = Duration::from_millis(20);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if mr_core::cancel::requested() {
            break;
        }
        std::thread::sleep(POLL);
    }
    let group = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let signal = |sig| {
        if let Some(g) = group {
            // Fails only when the group is gone already.
            let _ = rustix::process::kill_process_group(g, sig);
        }
    };
    signal(rustix::process::Signal::TERM);
    let deadline = Instant::now() + STOP_WAIT;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            signal(rustix::process::Signal::KILL);
            child.wait()?;
            break;
        }
        std::thread::sleep(POLL);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a UTF-8 locale (LANG unset: cron, containers) the `hadoop`
    /// JVM read its arguments and file names as ASCII (probe
    /// /tmp/probe-hadoop repro 09, 10): it is given one; a UTF-8 locale
    /// is left alone.
    #[test]
    fn a_jvm_is_given_a_utf8_locale_when_ours_is_not() {
        let lc_all = |c: &Command| {
            c.get_envs()
                .find(|(k, _)| *k == "LC_ALL")
                .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
        };
        let yes = || true;
        let mut c = Command::new("hadoop");
        with_utf8_locale_in(&mut c, |_| None, yes);
        assert_eq!(lc_all(&c).as_deref(), Some(UTF8_LOCALE));
        let mut c = Command::new("hadoop");
        with_utf8_locale_in(
            &mut c,
            |k| (k == "LC_ALL").then(|| "POSIX".to_string()),
            yes,
        );
        assert_eq!(lc_all(&c).as_deref(), Some(UTF8_LOCALE));
        let de = |k: &str| (k == "LANG").then(|| "de_DE.UTF-8".to_string());
        let mut c = Command::new("hadoop");
        with_utf8_locale_in(&mut c, de, yes);
        assert_eq!(lc_all(&c), None);
        // Named UTF-8 but not installed (glibc falls back to ASCII): given one
        // (probe /tmp/probe-new, repro 06).
        let mut c = Command::new("hadoop");
        with_utf8_locale_in(&mut c, de, || false);
        assert_eq!(lc_all(&c).as_deref(), Some(UTF8_LOCALE));
    }

    /// A forced exit's kill reaches the whole group (a job client and the
    /// task it started) and returns once every process of it is gone.
    #[test]
    fn a_killed_group_is_gone_when_the_kill_returns() {
        use std::os::unix::process::CommandExt as _;
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let group = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        std::thread::sleep(Duration::from_millis(100)); // the inner sleep started
        let reaper = std::thread::spawn(move || child.wait());
        let started = Instant::now();
        assert!(kill_group_and_wait(group, Duration::from_secs(10)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(rustix::process::test_kill_process_group(group).is_err());
        assert!(!reaper.join().unwrap().unwrap().success());
        // Gone already: nothing to kill, nothing to wait for.
        assert!(kill_group_and_wait(group, Duration::from_secs(1)));
    }

    #[test]
    fn reporter_lines_become_counters_and_tail_keeps_the_end() {
        let mut input = String::new();
        for i in 0..100 {
            input.push_str(&format!("line {i}\n"));
        }
        input.push_str("reporter:counter:mr,map input records,3\n");
        input.push_str("reporter:counter:mr,map input records,4\n");
        input.push_str("reporter:status:done\n");
        let d = Drain::start(std::io::Cursor::new(input.into_bytes()), Echo::default())
            .unwrap()
            .finish();
        assert_eq!(d.counters.get("mr", "map input records"), 7);
        assert_eq!(d.tail.len(), TAIL_LINES);
        assert_eq!(d.tail.back().map(String::as_str), Some("line 99"));
        assert!(d.tail_text().starts_with("[... 40 earlier lines]"));
    }

    /// The failure of a Hadoop run whose output was `text`.
    fn failed_saying(text: &str) -> String {
        let d = Drain::start(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            Echo::default(),
        )
        .unwrap()
        .finish();
        failure("Hadoop Streaming", fake_status(1), &d).to_string()
    }

    /// Spark logs no split at WARN: mr's Spark driver names the failed
    /// task's after its exception, on stdout (pyspark's driver output) or
    /// stderr, and that split is the one told, not the last one logged
    /// (probe /tmp/probe-spark repro 05: the file was not named).
    #[test]
    fn the_spark_drivers_failed_split_is_told() {
        for (to, other) in [("", ">&2"), (">&2", "")] {
            let script = format!(
                "echo 'INFO HadoopRDD: Input split: file:/in/a.gz:0+90' >&2; \
                 echo 'java.io.EOFException: Unexpected end of input stream' >&2; \
                 echo 'other output' {other}; \
                 echo '{FAILED_SPLIT}file:/in/cut.gz:0+9000' {to}; exit 1"
            );
            let mut cmd = Command::new("sh");
            cmd.args(["-c", &script]);
            let msg = run(&mut cmd, "the Spark driver", Echo::default(), false)
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains(
                    "a task could not read its input (file:/in/cut.gz:0+9000): \
                     java.io.EOFException"
                ),
                "{msg}"
            );
            assert!(!msg.contains(FAILED_SPLIT), "{msg}");
        }
    }

    /// A task that cannot decode a compressed input: the exception is told
    /// with the split the local job runner said it was reading, or alone
    /// as a cluster's client prints it.
    #[test]
    fn a_damaged_compressed_input_is_told_with_its_split() {
        let local = "2026-12-04 INFO mapred.MapTask: Processing split: file:/in/a.gz:0+90\n\
                     2026-12-04 INFO mapred.MapTask: Processing split: file:/in/cut.gz:0+9000\n\
                     2026-12-04 WARN mapred.LocalJobRunner: job_local1_0001\n\
                     java.lang.Exception: java.io.EOFException: Unexpected end of input stream\n\
                     \tat org.apache.hadoop.mapred.LocalJobRunner$Job.run(LocalJobRunner.java:552)\n\
                     Caused by: java.io.EOFException: Unexpected end of input stream\n";
        let msg = failed_saying(local);
        assert!(
            msg.contains(
                "a task could not read its input (file:/in/cut.gz:0+9000): java.lang.Exception: \
                 java.io.EOFException: Unexpected end of input stream\n(a compressed file cut \
                 short"
            ),
            "{msg}"
        );
        let cluster = "2026-12-04 INFO mapreduce.Job: Running job: job_1700000000000_0042\n\
                       2026-12-04 INFO mapreduce.Job: Task Id : attempt_1_0042_m_000001_0, Status : FAILED\n\
                       Error: java.io.IOException: not a gzip file\n";
        let msg = failed_saying(cluster);
        assert!(
            msg.contains("a task could not read its input: java.io.IOException: not a gzip file"),
            "{msg}"
        );
        let crc = "Caused by: org.apache.hadoop.fs.ChecksumException: Checksum error: \
                   file:/in/a.txt at 0 exp: 0 got: -1358415059\n";
        let msg = failed_saying(crc);
        assert!(msg.contains("remove the .crc file"), "{msg}");
        // Other failures say nothing of it.
        let other = "Error: java.lang.RuntimeException: PipeMapRed.waitOutputThreads(): \
                     subprocess failed with code 1\n";
        let d = Drain::start(
            std::io::Cursor::new(other.as_bytes().to_vec()),
            Echo::default(),
        )
        .unwrap()
        .finish();
        assert!(d.input_failure.is_none());
    }

    #[test]
    fn hadoop_output_gives_job_id_counters_and_task_errors() {
        let mut input = String::from(
            "2026-12-02 INFO mapreduce.Job: Running job: job_1700000000000_0042\n\
             mr: error: bad record at f.jsonl, byte 1007 (line 2 of the split from byte 1000): x\n  \
             record: xbad\n\
             java.lang.RuntimeException: PipeMapRed.waitOutputThreads(): subprocess failed\n  \
             at org.apache.Foo\n\
             2026-12-02 INFO mapreduce.Job: Task Id : attempt_1_0042_m_000005_0, Status : FAILED\n\
             Error: java.lang.RuntimeException: PipeMapRed.waitOutputThreads(): subprocess failed with code 1\n\
             \tat org.apache.hadoop.streaming.PipeMapRed.waitOutputThreads(PipeMapRed.java:326)\n\
             2026-12-02 INFO mapred.Task: Final Counters for attempt_1: Counters: 2\n\
             \tmr\n\t\tmap input records=1\n",
        );
        for i in 0..500 {
            input.push_str(&format!("INFO chatter {i}\n"));
        }
        input.push_str(
            "2026-12-02 INFO mapreduce.Job: Counters: 3\n\
             \tMap-Reduce Framework\n\t\tMap input records=6230\n\
             \tFile Input Format Counters \n\t\tBytes Read=4000266\n\
             \tmr\n\t\tstep 0: reduce groups=600\n\
             2026-12-02 INFO streaming.StreamJob: Output directory: out\n",
        );
        let d = Drain::start(std::io::Cursor::new(input.into_bytes()), Echo::default())
            .unwrap()
            .finish();
        assert_eq!(d.job_id.as_deref(), Some("job_1700000000000_0042"));
        let c = d.job_counters.clone().unwrap();
        assert_eq!(
            c.hadoop.get("Map-Reduce Framework", "Map input records"),
            6230
        );
        assert_eq!(
            c.hadoop.get("File Input Format Counters", "Bytes Read"),
            4000266
        );
        assert_eq!(c.tasks.get("mr", "step 0: reduce groups"), 600);
        assert_eq!(
            c.tasks.get("mr", "map input records"),
            0,
            "a task's counters are not the job's"
        );
        assert_eq!(d.task_errors.len(), 4, "{:?}", d.task_errors);
        assert!(d.task_errors[3].starts_with("Error: java.lang.RuntimeException"));
        assert!(d.task_errors[1].contains("record: xbad"));
        let msg = failure("Hadoop Streaming", fake_status(1), &d).to_string();
        let at = |s: &str| msg.find(s).unwrap_or_else(|| panic!("{s:?} not in {msg}"));
        assert!(at("mr: error: bad record at f.jsonl, byte 1007") < at("INFO chatter 499"));
        at("yarn logs -applicationId application_1700000000000_0042");
    }

    /// A task's counters in groups named as Hadoop's own (`Job Counters`,
    /// `Map-Reduce Framework`, `File System Counters`, `Shuffle Errors`)
    /// are the task's, and Hadoop's own stay Hadoop's. The block is the one
    /// Hadoop Streaming 3.5's LocalJobRunner printed for a mapper that
    /// reported such counters (a YARN job adds Hadoop's `Job Counters `
    /// after `File System Counters`). Before, every group of a name of
    /// Hadoop's was dropped from the run's counters.
    #[test]
    fn tasks_counters_in_groups_named_as_hadoops_are_the_tasks() {
        let block = "INFO mapreduce.Job: Counters: 34\n\
             \tFile System Counters\n\t\tFILE: Number of bytes read=242766\n\
             \tJob Counters \n\t\tLaunched map tasks=2\n\t\tLaunched reduce tasks=1\n\
             \tMap-Reduce Framework\n\t\tMap input records=2\n\t\tShuffled Maps =1\n\
             \tFile System Counters\n\t\ty=2\n\
             \tJob Counters\n\t\tx=1\n\t\tLaunched map tasks=4\n\
             \tJob Counters \n\t\tz=3\n\
             \tMap-Reduce Framework\n\t\tMap input records=5\n\
             \tShuffle Errors\n\t\tBAD_ID=0\n\t\tIO_ERROR=1\n\t\tmine=6\n\
             \tmr\n\t\tstep 0: reduce groups=600\n\
             \tFile Input Format Counters \n\t\tBytes Read=6\n\
             \tFile Input Format Counters\n\t\tlines=7\n\
             \tFile Output Format Counters \n\t\tBytes Written=20\n\
             INFO streaming.StreamJob: Output directory: out1\n";
        let d = Drain::start(
            std::io::Cursor::new(block.as_bytes().to_vec()),
            Echo::default(),
        )
        .unwrap()
        .finish();
        let c = d.job_counters.unwrap();
        let all = |c: &Counters| {
            c.iter()
                .map(|(g, n, v)| format!("{g}|{n}|{v}"))
                .collect::<Vec<_>>()
        };
        let mut tasks = all(&c.tasks);
        tasks.sort();
        assert_eq!(
            tasks,
            [
                "File Input Format Counters|lines|7",
                "File System Counters|y|2",
                "Job Counters |z|3",
                "Job Counters|Launched map tasks|4",
                "Job Counters|x|1",
                "Map-Reduce Framework|Map input records|5",
                "Shuffle Errors|mine|6",
                "mr|step 0: reduce groups|600",
            ]
        );
        assert_eq!(c.hadoop.get("Job Counters", "Launched map tasks"), 2);
        assert_eq!(c.hadoop.get("Map-Reduce Framework", "Map input records"), 2);
        assert_eq!(c.hadoop.get("Map-Reduce Framework", "Shuffled Maps"), 1);
        assert_eq!(c.hadoop.get("Shuffle Errors", "IO_ERROR"), 1);
        assert_eq!(c.hadoop.get("File Input Format Counters", "Bytes Read"), 6);
        assert_eq!(
            c.hadoop.get("File Output Format Counters", "Bytes Written"),
            20
        );
    }

    #[cfg(unix)]
    fn fake_status(code: i32) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(code << 8)
    }

    #[cfg(unix)]
    #[test]
    fn failing_command_shows_its_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo progress; echo 'boom: it broke' >&2; exit 3"]);
        let e = run_drained(&mut cmd, "the test command", Echo::default()).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("boom: it broke") && msg.contains("exit status: 3"),
            "{msg}"
        );
        assert!(msg.contains("[stdout:]\nprogress"), "{msg}");
        let mut ok = Command::new("sh");
        ok.args(["-c", "echo 'reporter:counter:g,n,2' >&2"]);
        let d = run_drained(&mut ok, "ok", Echo::default()).unwrap();
        assert_eq!(d.counters.get("g", "n"), 2);
    }
}
