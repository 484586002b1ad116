//! Errors: what went wrong, and where.
//!
//! User-facing failures (a missing input, a bad record, an output directory that
//! already exists) are kept apart from [`Error::Internal`], which is always a bug
//! in `mr`. Every error that concerns a file names the file; every error that
//! concerns a record names the file and line (map side) or the key (reduce side).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a record came from: the input file and line (1-based) for the map
/// side, the key for the reduce side.
///
/// A line number is only given when it is true. A Hadoop Streaming task
/// reading a split that starts inside a file cannot know how many lines come
/// before its split: it reports the record's byte offset (Hadoop passes it)
/// and its line within the split instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line of an input file (or of stdin, shown as `-`).
    Line {
        /// The step (0-based) whose mapper read the line.
        step: usize,
        /// The file, as given or found under a given directory.
        file: String,
        /// 1-based line number in the file, when it could be worked out.
        line: Option<u64>,
        /// Byte offset of the line's first byte in the file (in the
        /// decompressed stream for a compressed file), when known.
        offset: Option<u64>,
        /// When the line number in the file is not known: where the
        /// record's split starts and the record's line within it.
        in_split: Option<SplitLine>,
    },
    /// A key group on the reduce (or combine) side.
    Key {
        /// The step (0-based) whose reducer saw the key.
        step: usize,
        /// The key as encoded (JSON), cut to 200 bytes.
        key: String,
    },
}

/// A record's place within a split that starts inside its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitLine {
    /// The byte offset in the file where the split starts.
    pub start: u64,
    /// The record's 1-based line within the split (the first whole line
    /// after `start` is line 1).
    pub line: u64,
}

impl Location {
    /// The location of line `line` (1-based) of `file`, read by the mapper
    /// of step `step`.
    ///
    /// ```
    /// use mr_core::Location;
    /// assert_eq!(Location::line(0, "logs/a.json", 12).to_string(), "logs/a.json:12");
    /// ```
    pub fn line(step: usize, file: impl Into<String>, line: u64) -> Location {
        Location::Line {
            step,
            file: file.into(),
            line: Some(line),
            offset: None,
            in_split: None,
        }
    }
}

impl fmt::Display for Location {
    /// `FILE:LINE` when the line is known; otherwise
    /// `FILE, byte OFFSET (line K of the split from byte START)`.
    ///
    /// ```
    /// use mr_core::{Location, SplitLine};
    /// let l = Location::Line {
    ///     step: 0,
    ///     file: "hdfs:///logs/part-5.jsonl".into(),
    ///     line: None,
    ///     offset: Some(1_061_418),
    ///     in_split: Some(SplitLine { start: 1_000_000, line: 95 }),
    /// };
    /// assert_eq!(l.to_string(),
    ///     "hdfs:///logs/part-5.jsonl, byte 1061418 (line 95 of the split from byte 1000000)");
    /// let bz2 = Location::Line {
    ///     step: 0,
    ///     file: "file:/logs/a.jsonl.bz2".into(),
    ///     line: None,
    ///     offset: None,
    ///     in_split: Some(SplitLine { start: 30000, line: 522 }),
    /// };
    /// assert!(bz2.to_string().starts_with(
    ///     "file:/logs/a.jsonl.bz2, line 522 of the split from compressed byte 30000 (a bzip2 block"));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line {
                step,
                file,
                line,
                offset,
                in_split,
            } => {
                write!(f, "{}", printable_line(file))?;
                match (line, offset, in_split) {
                    (Some(n), _, _) => write!(f, ":{n}")?,
                    (None, Some(o), Some(s)) => write!(
                        f,
                        ", byte {o} (line {} of the split from byte {})",
                        s.line, s.start
                    )?,
                    (None, Some(o), None) => write!(f, ", byte {o}")?,
                    // Hadoop splits a .bz2 file at its blocks: START is a
                    // byte of the compressed file, where no text recipe
                    // finds the line (probe /tmp/probe5-runners repro 02).
                    (None, None, Some(s)) if file.ends_with(".bz2") => write!(
                        f,
                        ", line {} of the split from compressed byte {} (a bzip2 block: find \
                         the record's text in the decompressed file)",
                        s.line, s.start
                    )?,
                    (None, None, Some(s)) => {
                        write!(f, ", line {} of the split from byte {}", s.line, s.start)?
                    }
                    (None, None, None) => {}
                }
                if *step > 0 {
                    write!(f, " (step {step})")?;
                }
                Ok(())
            }
            Location::Key { step, key } => write!(f, "step {step} reducer, key {key}"),
        }
    }
}

/// Everything that can stop a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input path given by the user does not exist or matches nothing.
    #[error(
        "input not found: {} (no such file, directory or glob match)",
        printable_line(path)
    )]
    InputNotFound {
        /// The path or pattern as given.
        path: String,
    },
    /// A pattern whose only matches are below a directory whose name
    /// starts with `_` or `.`, which the listing leaves out (as Hadoop
    /// leaves out hidden names) where Hadoop would read them.
    #[error(
        "input not found: {} matches only files below a directory whose name starts with _ or . \
         (Hadoop's hidden files), such as {}, and those are left out; name the directories to \
         read them",
        printable_line(path),
        printable_line(first)
    )]
    InputOnlyUnderHidden {
        /// The pattern as given.
        path: String,
        /// Its first match.
        first: String,
    },
    /// An input another mr process is still writing: an output in its
    /// staging directory beside it, a directory `mr gen` writes.
    #[error(
        "input {}: mr (pid {pid}) is still writing it; run this once that one has finished \
         (its files appear complete, all at once)",
        printable_line(path)
    )]
    InputBeingWritten {
        /// The path as given.
        path: String,
        /// The process writing it.
        pid: u32,
    },
    /// An input file is text in an encoding mr does not read (UTF-16 or
    /// UTF-32, as Windows tools write): its lines would be garbage, or, for
    /// a job reading text, words cut at every other byte.
    #[error(
        "{} is {encoding} text ({how}): mr reads UTF-8 (and Latin-1 for text jobs), as Hadoop \
         Streaming does; convert it (iconv -f {encoding} -t UTF-8) or move it out of the input",
        printable_path(path)
    )]
    TextEncoding {
        /// The file.
        path: PathBuf,
        /// `UTF-16LE`, `UTF-16BE`, `UTF-32LE` or `UTF-32BE`.
        encoding: &'static str,
        /// How it was told: its byte-order mark, or the zero bytes of ASCII
        /// text in that encoding.
        how: &'static str,
    },
    /// An input file is an archive, a compressed format mr does not decode,
    /// or a binary file: read as lines, it would give garbage records or,
    /// for a job reading text, garbage words, with no error.
    #[error(
        "{} is {what}, not text (mr reads text, gzip, bzip2, zstd, Hadoop's .deflate, .snappy and .lz4, and Parquet): {fix}",
        printable_path(path)
    )]
    NotText {
        /// The file.
        path: PathBuf,
        /// What it is (`a zip archive`, `xz-compressed`, ...).
        what: &'static str,
        /// What to do with it.
        fix: &'static str,
    },
    /// An input file changed while the run read it: cut short, or another
    /// file took its name. Its results would be those of part of it, or of
    /// another file.
    #[error(
        "{} changed while mr read it: {how}. The run stops rather than give results for part \
         of it; run again once the file is still, or on a copy of it",
        printable_path(path)
    )]
    InputChanged {
        /// The file.
        path: PathBuf,
        /// What changed.
        how: String,
    },
    /// A file-system operation failed on `path`.
    #[error("{op} {}: {source}", printable_path(path))]
    Io {
        /// What we were doing (`reading`, `creating`, ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The disk (or quota) is full: names the file, the free space and the
    /// remedy.
    #[error("{op} {}: {source}\n  {}{}. {hint}", printable_path(path),
        if *quota { "your disk quota there is used up (quota -s shows it)" }
        else if *no_inodes { "the file system has no room for new files (no free inodes)" }
        else { "the disk is full" },
        free.map(|f| format!(" ({} free there)", crate::runner::workdir::human_bytes(f))).unwrap_or_default())]
    DiskFull {
        /// What we were doing.
        op: &'static str,
        /// The file being written.
        path: PathBuf,
        /// The underlying error (ENOSPC or EDQUOT).
        #[source]
        source: io::Error,
        /// Bytes free for unprivileged users on that file system, if known.
        free: Option<u64>,
        /// No inode is free there (however many bytes are): too many files.
        no_inodes: bool,
        /// The user's quota is used up (EDQUOT), not the disk.
        quota: bool,
        /// What to do about it.
        hint: String,
    },
    /// A file would grow past the process's file-size limit (`ulimit -f`),
    /// or past what its file system takes.
    #[error("{op} {}: {source}\n  hint: {}; an existing output was not replaced", printable_path(path),
        file_too_large_hint(path, *limit))]
    FileTooLarge {
        /// What we were doing.
        op: &'static str,
        /// The file being written.
        path: PathBuf,
        /// The underlying error (EFBIG).
        #[source]
        source: io::Error,
        /// The soft file-size limit, if there is one.
        limit: Option<u64>,
    },
    /// The process ran out of file descriptors.
    #[error("{op} {}: {source}\n  hint: the open-files limit (ulimit -n) is {}; raise it \
             (ulimit -n {}), or open fewer files at once: fewer --partitions, a lower \
             --merge-fan-in or -j", printable_path(path),
        limit.map_or("unknown".to_string(), |l| l.to_string()),
        limit.map_or(4096, |l| l.saturating_mul(4).max(4096)))]
    TooManyOpenFiles {
        /// What we were doing.
        op: &'static str,
        /// The file being opened.
        path: PathBuf,
        /// The underlying error (EMFILE or ENFILE).
        #[source]
        source: io::Error,
        /// The soft limit, if known.
        limit: Option<u64>,
    },
    /// Writing results to standard output failed (a broken pipe is reported
    /// as this too; the binary treats it as a normal end).
    #[error("writing to standard output: {0}")]
    Stdout(#[source] io::Error),
    /// A record the job could not process, under the default (strict) policy.
    #[error("bad record at {location}: {reason}\n  record: {snippet}")]
    BadRecord {
        /// File and line, or step and key (boxed: keeps `Error` small).
        location: Box<Location>,
        /// Why it was rejected.
        reason: String,
        /// The first 200 bytes of the record, lossily decoded.
        snippet: String,
    },
    /// The output directory exists and `--overwrite` was not given.
    #[error("output directory {} already exists; pass --overwrite to replace it", printable_path(.0))]
    OutputExists(PathBuf),
    /// The output directory exists, `--overwrite` was not given, and it would
    /// not replace it: it is not a finished job's output.
    #[error(
        "output directory {} already exists and is not a finished job's output: {reason}; \
         choose another --output (mr replaces only a finished job's output, or an empty \
         directory, and only with --overwrite)",
        printable_path(path)
    )]
    OutputNotAnOutput {
        /// The output directory.
        path: PathBuf,
        /// What is in it that a job does not write.
        reason: String,
    },
    /// A file format (Parquet, CSV) could not be read or written.
    #[error("{what}: {reason}")]
    Format {
        /// What was being read or written, and where.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// Another mr run holds the output directory.
    #[error(
        "another mr run{} is writing {}; wait for it to finish or choose another --output",
        busy_pid(*pid),
        printable_path(path)
    )]
    OutputBusy {
        /// The output directory.
        path: PathBuf,
        /// The other run's process id, when known.
        pid: Option<u32>,
    },
    /// `--overwrite` on something mr did not write.
    #[error(
        "--overwrite will not replace {}: {reason}. To protect your files, mr replaces only a \
         finished job's output (a directory with _SUCCESS, part-* files and a job's _-named \
         bookkeeping) or an empty directory: move your files out, remove it yourself, or \
         choose another --output",
        printable_path(path)
    )]
    OutputNotReplaceable {
        /// The output path.
        path: PathBuf,
        /// What it is.
        reason: String,
    },
    /// The output cannot be written where it is: mr may not write in its
    /// parent directory (the message says what it needs).
    #[error("{0}")]
    OutputUnwritable(String),
    /// A setting is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The output directory changed under the run (another program wrote
    /// there): the finished results were kept beside it, and the message
    /// says where.
    #[error("{0}")]
    OutputChanged(String),
    /// The job made more distinct counters than a run keeps
    /// ([`crate::counters::MAX_COUNTERS`]); the message says which.
    #[error("step {step}: {reason}")]
    TooManyCounters {
        /// The step whose counters overflowed.
        step: usize,
        /// [`crate::Counters::too_many`]'s message.
        reason: String,
    },
    /// The job itself failed outside of any record (in an init or final hook).
    #[error("job failed in {hook}: {reason}")]
    Hook {
        /// Which hook (`mapper init`, `reducer final`, ...).
        hook: String,
        /// The job's message.
        reason: String,
    },
    /// The run was cancelled (Ctrl-C, SIGTERM): temp files and the
    /// unfinished output directory have been removed.
    #[error("interrupted; temporary files and the unfinished output were removed")]
    Interrupted,
    /// This task stopped because another task of the run failed first; the
    /// runner reports that task's error instead (see [`crate::cancel`]).
    #[error("stopped: another task of this run failed")]
    Cancelled,
    /// The system refused a thread: the limit on processes and threads
    /// (`ulimit -u`, a container's pids limit) is reached.
    #[error(
        "{what}: {source}\n  hint: the system refused a new thread: its limit on processes \
             and threads (ulimit -u, or a container's pids limit) is reached; raise it, or run \
             fewer threads (-j 1)"
    )]
    NoThread {
        /// What needed the thread.
        what: &'static str,
        /// The system's refusal (EAGAIN).
        #[source]
        source: io::Error,
    },
    /// A bug in mr: an invariant did not hold.
    #[error("internal error (this is a bug in mr, please report it): {0}")]
    Internal(String),
}

/// What to do about a file grown past the file-size limit (`limit`, `ulimit
/// -f`) or its file system's, by what the file is: a part file is smaller
/// with more partitions, a map task's bad records with smaller splits; a
/// temporary file only with room.
///
/// ```
/// use mr_core::error::file_too_large_hint;
/// use std::path::Path;
/// assert!(file_too_large_hint(Path::new("out/part-00003"), Some(1024)).contains("--partitions"));
/// let bad = file_too_large_hint(Path::new("out/_bad_records/map-0-00001"), Some(1024));
/// assert!(bad.contains("--chunksize") && !bad.contains("--partitions"));
/// assert!(!file_too_large_hint(Path::new("/tmp/mr-job-1/spill-3"), Some(1024)).contains("--partitions"));
/// ```
pub fn file_too_large_hint(path: &Path, limit: Option<u64>) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let in_bad_records = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == crate::output::commit::BAD_RECORDS);
    let smaller = if in_bad_records {
        ", or use a smaller --chunksize (the records a map task skips are one file)"
    } else if name.starts_with("part-") {
        ", or use more --partitions for smaller part files"
    } else {
        ""
    };
    match limit {
        Some(l) => format!("the file-size limit (ulimit -f) is {l} bytes: raise it{smaller}"),
        None => format!(
            "the file system takes no file this large: write --output or --tmp-dir to \
             another{smaller}"
        ),
    }
}

impl Error {
    /// Builds an [`Error::Io`] naming the operation and the path; a full
    /// disk becomes [`Error::DiskFull`] and a lack of file descriptors
    /// [`Error::TooManyOpenFiles`], each with a remedy.
    ///
    /// ```
    /// use mr_core::Error;
    /// let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
    /// let e = Error::io("writing", "/tmp/x", full);
    /// assert!(e.to_string().contains("the disk is full"), "{e}");
    /// let quota = std::io::Error::from(std::io::ErrorKind::QuotaExceeded);
    /// let e = Error::io("writing", "/tmp/x", quota);
    /// assert!(e.to_string().contains("your disk quota there is used up"), "{e}");
    /// assert!(!e.to_string().contains("the disk is full"), "{e}");
    /// ```
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::DiskFull {
                op,
                free: free_space(&path),
                no_inodes: no_free_inodes(&path),
                quota: source.kind() == io::ErrorKind::QuotaExceeded,
                path,
                source,
                hint: "Free space there, or choose --tmp-dir (temp files) or --output on a \
                       disk with more room; an existing output was not replaced."
                    .into(),
            },
            _ if matches!(source.raw_os_error(), Some(23 | 24)) => Error::TooManyOpenFiles {
                op,
                path,
                source,
                limit: rustix::process::getrlimit(rustix::process::Resource::Nofile).current,
            },
            io::ErrorKind::FileTooLarge => Error::FileTooLarge {
                op,
                path,
                source,
                limit: rustix::process::getrlimit(rustix::process::Resource::Fsize).current,
            },
            _ => Error::Io { op, path, source },
        }
    }

    /// A [`Error::DiskFull`] with `hint` as its remedy; other errors as they are.
    pub fn with_disk_full_hint(self, hint: impl FnOnce() -> String) -> Error {
        match self {
            Error::DiskFull {
                op,
                path,
                source,
                free,
                no_inodes,
                quota,
                ..
            } => Error::DiskFull {
                op,
                path,
                source,
                free,
                no_inodes,
                quota,
                hint: hint(),
            },
            e => e,
        }
    }

    /// True when this is a broken pipe on standard output (the reader went away,
    /// as with `mr run ... | head`), which a command line treats as success.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The error a job's own code returns from `map`, `reduce` and the hooks.
///
/// Anything that converts into `Box<dyn std::error::Error + Send + Sync>`
/// converts into a `JobError`, so `?` works on `serde_json`, `std::io`,
/// `String` and `&str` errors alike:
///
/// ```
/// use mr_core::JobError;
/// fn parse(s: &str) -> Result<u64, JobError> {
///     if s.is_empty() {
///         return Err("empty field".into());
///     }
///     Ok(s.parse::<u64>()?)
/// }
/// assert!(parse("12").is_ok());
/// assert_eq!(parse("").unwrap_err().to_string(), "empty field");
/// ```
pub struct JobError(Box<dyn std::error::Error + Send + Sync>);

impl JobError {
    /// A job error with this message.
    pub fn msg(message: impl fmt::Display) -> JobError {
        JobError(message.to_string().into())
    }
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for JobError {
    fn from(e: E) -> JobError {
        JobError(e.into())
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Bytes available to unprivileged users on the file system of `path` (or
/// of its nearest existing ancestor).
/// Whether the file system of `path` (or its nearest existing ancestor)
/// has inodes and none is free.
fn no_free_inodes(path: &std::path::Path) -> bool {
    path.ancestors()
        .find(|p| p.exists())
        .and_then(|p| rustix::fs::statvfs(p).ok())
        .is_some_and(|st| st.f_files > 0 && st.f_favail == 0)
}

fn free_space(path: &std::path::Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let st = rustix::fs::statvfs(existing).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The first 200 bytes of a record, for error messages: lossily decoded,
/// with [`printable_line`]'s escapes.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let cut = &bytes[..bytes.len().min(MAX)];
    let mut s = printable_line(&String::from_utf8_lossy(cut)).into_owned();
    if bytes.len() > MAX {
        s.push('…');
    }
    s
}

/// `text` made safe to print on a terminal: control characters other than
/// tab and newline, and the Unicode marks that reorder text on screen
/// (bidirectional overrides and isolates), written as Rust escapes (`\u{1b}`,
/// `\r`, `\0`). Text from the input (a record, a key, a file name, a
/// counter a job named after a value) reaches error messages and summaries;
/// unescaped, an `ESC [` in a log line could move the cursor, recolour or
/// clear the screen, or retitle the window, and a carriage return could
/// print one message over another.
///
/// ```
/// use mr_core::error::printable;
/// assert_eq!(printable("bad record\n  record: a\tb"), "bad record\n  record: a\tb");
/// assert_eq!(printable("\x1b[2Jgone\r"), "\\u{1b}[2Jgone\\r");
/// assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    escape_if(text, |prev, c| {
        c != '\n' && c != '\t' && needs_escape(prev, c)
    })
}

/// [`printable`] for text that must stay on one line (a record, a key, a
/// file name): newlines are escaped too.
///
/// ```
/// use mr_core::error::printable_line;
/// assert_eq!(printable_line("a\nb\tc"), "a\\nb\tc");
/// ```
pub fn printable_line(text: &str) -> Cow<'_, str> {
    escape_if(text, |prev, c| c != '\t' && needs_escape(prev, c))
}

/// A path as [`printable_line`] shows it (a file name comes from the input
/// too).
pub fn printable_path(path: &std::path::Path) -> String {
    printable_line(&path.display().to_string()).into_owned()
}

/// Control characters (C0, DEL, C1), the bidirectional formatting marks,
/// and the characters that show as nothing, by which two keys or names
/// that differ look the same (`ad\u{200b}min`, a soft hyphen, the tag
/// characters that hide text): all but the joiner and variation selectors
/// of an emoji (`❤\u{fe0f}`, `👩\u{200d}💻`), which follow a symbol.
fn needs_escape(prev: Option<char>, c: char) -> bool {
    let bidi = matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let invisible = matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}'
        | '\u{206a}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
        | '\u{ffa0}' | '\u{fff9}'..='\u{fffb}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0000}'..='\u{e0fff}');
    let in_emoji = matches!(c, '\u{200d}' | '\u{fe0e}' | '\u{fe0f}')
        && prev.is_some_and(|p| {
            matches!(p, '\u{a9}' | '\u{ae}' | '\u{2100}'..='\u{2bff}' | '\u{3030}'
                | '\u{303d}' | '\u{3297}' | '\u{3299}' | '\u{fe0f}' | '\u{1f000}'..='\u{1faff}')
        });
    c.is_control() || bidi || (invisible && !in_emoji)
}

/// `text` with the characters `escape` picks (given the character before)
/// written as `char::escape_debug` does; borrowed when there are none (the
/// common case).
fn escape_if(text: &str, escape: impl Fn(Option<char>, char) -> bool) -> Cow<'_, str> {
    let mut prev = None;
    let first = text.char_indices().find(|&(_, c)| {
        let e = escape(prev, c);
        prev = Some(c);
        e
    });
    let Some((at, _)) = first else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..at]);
    let mut prev = text[..at].chars().next_back();
    for c in text[at..].chars() {
        if escape(prev, c) {
            if c.is_control() {
                out.extend(c.escape_debug()); // `\r`, `\0`, `\u{1b}`
            } else {
                let _ = fmt::Write::write_fmt(&mut out, format_args!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    Cow::Owned(out)
}

/// The process of the run holding an output, as [`Error::OutputBusy`]
/// names it: "in this process" for one of its own (a program running two
/// runs into one output was told of "another mr run (pid N)" with N its
/// own: probe /tmp/probe19-api).
fn busy_pid(pid: Option<u32>) -> String {
    match pid {
        Some(p) if p == std::process::id() => format!(" (in this process, pid {p})"),
        Some(p) => format!(" (pid {p})"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_names_file_and_line() {
        let l = Location::line(0, "logs/a.json", 12);
        assert_eq!(l.to_string(), "logs/a.json:12");
        let in_split = |offset| Location::Line {
            step: 1,
            file: "f".into(),
            line: None,
            offset,
            in_split: Some(SplitLine {
                start: 100,
                line: 3,
            }),
        };
        assert_eq!(
            in_split(Some(150)).to_string(),
            "f, byte 150 (line 3 of the split from byte 100) (step 1)"
        );
        assert_eq!(
            in_split(None).to_string(),
            "f, line 3 of the split from byte 100 (step 1)"
        );
    }

    #[test]
    fn snippet_cuts_long_records() {
        let long = vec![b'x'; 500];
        assert_eq!(snippet(&long).chars().count(), 201);
        assert_eq!(snippet(b"\xffab"), "\u{fffd}ab");
    }

    /// A log line built to attack a terminal: every escape is shown, none
    /// is sent; what a terminal ignores anyway is kept.
    #[test]
    fn records_cannot_drive_the_terminal() {
        let nasty =
            "\x1b]0;owned\x07\x1b[2J\x1b[31mred\r\0\x7f\u{9b}6n\u{202e}txt.exe\u{2066}\tok é";
        let shown = snippet(nasty.as_bytes());
        assert_eq!(
            shown,
            r"\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mred\r\0\u{7f}\u{9b}6n\u{202e}txt.exe\u{2066}"
                .to_string()
                + "\tok é"
        );
        assert!(!shown.chars().any(|c| c != '\t' && needs_escape(None, c)));
        assert_eq!(snippet(b"a\nb"), r"a\nb");
        assert_eq!(printable("x\ny"), "x\ny");
        assert!(matches!(printable("plain, é, \t"), Cow::Borrowed(_)));
        // Invisible characters, by which two keys look alike, are shown;
        // an emoji's joiners and variation selectors are not escaped.
        assert_eq!(
            printable_line("ad\u{200b}min\u{ad}"),
            r"ad\u{200b}min\u{ad}"
        );
        assert_eq!(
            printable_line("a\u{200d}b\u{fe0f}\u{3164}"),
            r"a\u{200d}b\u{fe0f}\u{3164}"
        );
        assert_eq!(
            printable_line("x\u{e0041}\u{e0042}"),
            r"x\u{e0041}\u{e0042}"
        );
        for emoji in [
            "❤\u{fe0f}",
            "👩\u{200d}💻",
            "❤\u{fe0f}\u{200d}🔥",
            "©\u{fe0f}",
        ] {
            assert!(matches!(printable_line(emoji), Cow::Borrowed(_)), "{emoji}");
        }
        let file = Location::line(0, "logs/\x1b[8m.jsonl\nmr: error: fake", 3).to_string();
        assert_eq!(file, r"logs/\u{1b}[8m.jsonl\nmr: error: fake:3");
    }
}
