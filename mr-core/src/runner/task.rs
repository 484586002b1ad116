//! Task mode: one mapper, combiner or reducer over stdin and stdout, as
//! Hadoop Streaming (and mrjob, and Spark's `pipe`) run a streaming program.
//!
//! - **Mapper** (`--mapper`): each stdin line is an input record (a raw line
//!   for step 0, a `key TAB value` record for later steps); output records are
//!   `json(key) TAB json(value)` lines.
//! - **Combiner / reducer** (`--combiner`, `--reducer`): stdin is sorted by
//!   key bytes, one `key TAB value` line a value; the task groups consecutive
//!   lines with equal keys itself and streams each group's values. A trailing
//!   tab or whitespace after the value is accepted. Input that is not sorted
//!   is an error (with `sort`, use `LC_ALL=C sort`).
//! - **Secondary sort**: for a step that sorts values, the mapper and combiner
//!   write `key TAB sortkey TAB value`, where `sortkey` is the hex of the
//!   order-preserving encoding of the value; configure Hadoop to sort on the
//!   first two fields and partition on the first
//!   (`stream.num.map.output.key.fields=2`, `KeyFieldBasedPartitioner -k1,1`).
//!   Plain `LC_ALL=C sort` sorts such lines correctly too. The reducer drops
//!   the field.
//! - **Counters** go to stderr as `reporter:counter:GROUP,NAME,AMOUNT` lines
//!   at the end, and progress as `reporter:status:MESSAGE`.
//! - **Bad records**: an error names the record and exits non-zero; with
//!   `--skip-bad-records` each is counted (`mr,skipped records`) and written
//!   whole to stderr as `mr-bad-record: {JSON location} TAB record`.
//! - **Where a record is**: a mapper knows its file
//!   (`mapreduce_map_input_file`) and where its split starts
//!   (`mapreduce_map_input_start`), not how many lines come before the split.
//!   A record of a split that starts the file (and of stdin) is `FILE:LINE`;
//!   a record of a later split is `FILE, byte OFFSET (line K of the split
//!   from byte START)`. The byte offset is known when Hadoop passes each
//!   line's offset as its key (`-D stream.map.input.ignoreKey=false`, which
//!   `-r hadoop` sets: the mapper then reads `OFFSET TAB LINE` lines).

use crate::counters::{Counters, FRAMEWORK};
use crate::emit::RecordSink;
use crate::error::{Error, Location, Result, SplitLine, snippet};
use crate::input::LineReader;
use crate::job::{Job, RecordError, TaskContext, TaskKind, ValueStream};
use crate::output::bad::{BadRecordPolicy, StderrKeeper};
use crate::protocol::{sortable_value, split_record};
use std::io::{BufWriter, Read, Write};

/// Which part of a step a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRole {
    /// The step's mapper.
    Mapper,
    /// The step's combiner.
    Combiner,
    /// The step's reducer.
    Reducer,
}

impl TaskRole {
    /// Whether this role of step `step` (of `steps`) writes the job's final
    /// records, and so its output protocol: the last step's reducer, or its
    /// mapper when `last_has_reducer` is false.
    ///
    /// ```
    /// use mr_core::runner::task::TaskRole;
    /// assert!(TaskRole::Reducer.writes_final_records(1, 2, true));
    /// assert!(!TaskRole::Mapper.writes_final_records(1, 2, true));
    /// assert!(TaskRole::Mapper.writes_final_records(0, 1, false));
    /// assert!(!TaskRole::Reducer.writes_final_records(0, 2, true));
    /// ```
    pub fn writes_final_records(self, step: usize, steps: usize, last_has_reducer: bool) -> bool {
        step + 1 == steps
            && match self {
                TaskRole::Reducer => true,
                TaskRole::Mapper => !last_has_reducer,
                TaskRole::Combiner => false,
            }
    }
}

/// What a streaming task runs.
#[derive(Debug, Clone)]
pub struct TaskOptions {
    /// The step (0-based), as mrjob's `--step-num`.
    pub step: usize,
    /// Mapper, combiner or reducer.
    pub role: TaskRole,
    /// Skip and report bad records instead of failing.
    pub skip_bad_records: bool,
    /// The job's options, files and jobconf (in task mode the jobconf also
    /// comes from the environment, files from the working directory).
    pub params: std::sync::Arc<crate::options::JobParams>,
    /// Write the output records in this protocol (the last step's last
    /// task only; others write JSON for the next step).
    pub output_protocol: crate::output::protocol::OutputProtocol,
    /// The longest line a mapper is given (`--max-line-mb`; see
    /// [`crate::RunConfig::max_line_bytes`]).
    pub max_line_bytes: usize,
}

/// A local file's URI as the local runner writes it, `file:///abs`, where
/// Hadoop writes `file:/abs`: so a job sees one URI for a file whichever
/// runner ran it. Any other URI as it is.
///
/// ```
/// use mr_core::runner::task::local_uri;
/// assert_eq!(local_uri("file:/tmp/a b.txt"), "file:///tmp/a b.txt");
/// assert_eq!(local_uri("file:///tmp/a"), "file:///tmp/a");
/// assert_eq!(local_uri("hdfs://nn/logs/a.gz"), "hdfs://nn/logs/a.gz");
/// assert_eq!(local_uri("-"), "-");
/// ```
pub fn local_uri(uri: &str) -> String {
    match uri.strip_prefix("file:/") {
        Some(rest) if !rest.starts_with('/') => format!("file:///{rest}"),
        _ => uri.to_string(),
    }
}

/// The variable in which `mr run -r emulate` gives a map task the path of
/// its input as the user gave it (see [`TaskEnv::input_name`]).
pub const INPUT_NAME_VAR: &str = "mr_map_input_name";

/// What Hadoop tells a streaming task through its environment (dots in
/// property names become underscores).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskEnv {
    /// `mapreduce_map_input_file` (or the older `map_input_file`).
    pub input_file: Option<String>,
    /// [`INPUT_NAME_VAR`]: the input file's path as the user gave it, which
    /// `mr run -r emulate` sets beside Hadoop's URI so that
    /// [`TaskContext::input_file`] is what the local runner gives; Hadoop
    /// sets only the URI, which is then `input_file` too.
    pub input_name: Option<String>,
    /// `mapreduce_task_partition` (or `mapred_task_partition`).
    pub partition: Option<usize>,
    /// `mapreduce_task_ismap`.
    pub is_map: Option<bool>,
    /// `mapreduce_task_attempt_id` (or `mapred_task_id`).
    pub attempt_id: Option<String>,
    /// `mapreduce_map_input_start` (or `map_input_start`): the byte offset
    /// in the file where this map task's split starts.
    pub input_start: Option<u64>,
    /// `stream_map_input_ignoreKey=false`: each mapper input line is
    /// `OFFSET TAB LINE`, the line's byte offset in its file first.
    pub input_offsets: bool,
    /// `stream_reduce_output` or `stream_map_output` set (`-r hadoop` sets
    /// one to `keyonlytext` for a last step that writes text): Hadoop
    /// Streaming reads the task's output lines with its `LineReader`, which
    /// ends a line at a lone `\r` too (see [`CR_CUT_REASON`]).
    pub output_lines_end_at_cr: bool,
}

impl TaskEnv {
    /// Reads the task's context from the process environment.
    pub fn from_env() -> TaskEnv {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the task's context through `get` (for tests).
    ///
    /// ```
    /// use mr_core::runner::task::TaskEnv;
    /// let env = TaskEnv::from_lookup(|k| match k {
    ///     "mapreduce_map_input_file" => Some("hdfs:///logs/a.gz".into()),
    ///     "mapreduce_task_partition" => Some("3".into()),
    ///     _ => None,
    /// });
    /// assert_eq!(env.input_file.as_deref(), Some("hdfs:///logs/a.gz"));
    /// assert_eq!(env.partition, Some(3));
    /// ```
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> TaskEnv {
        let first = |names: &[&str]| names.iter().find_map(|n| get(n).filter(|v| !v.is_empty()));
        TaskEnv {
            input_file: first(&["mapreduce_map_input_file", "map_input_file"]),
            input_name: first(&[INPUT_NAME_VAR]),
            partition: first(&["mapreduce_task_partition", "mapred_task_partition"])
                .and_then(|p| p.parse().ok()),
            is_map: first(&["mapreduce_task_ismap", "mapred_task_is_map"]).map(|v| v == "true"),
            attempt_id: first(&["mapreduce_task_attempt_id", "mapred_task_id"]),
            input_start: first(&["mapreduce_map_input_start", "map_input_start"])
                .and_then(|p| p.parse().ok()),
            // Read as Hadoop's Configuration.getBoolean reads it: trimmed,
            // in any case (`False` sends offsets too).
            input_offsets: first(&["stream_map_input_ignoreKey"])
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
            output_lines_end_at_cr: first(&["stream_reduce_output", "stream_map_output"]).is_some(),
        }
    }
}

/// What a finished task reports.
#[derive(Debug, Clone, Default)]
pub struct TaskReport {
    /// The job's counters and the task's own (group `mr`).
    pub counters: Counters,
}

/// Why a final record is a bad record when its text line holds a CR and
/// Hadoop Streaming reads the task's output ([`TaskEnv::output_lines_end_at_cr`]).
pub const CR_CUT_REASON: &str = "its text line holds a carriage return (\\r), where Hadoop \
     Streaming's reader of a task's output ends a line: Hadoop would write it as two lines, the \
     local runner as one; strip the \\r in the job, write JSON (--output-protocol json or \
     json-value escapes it), or run locally";

/// Records written as streaming lines: `key TAB [sortkey TAB] value`.
struct StreamSink<W: Write> {
    w: W,
    sort_field: bool,
    line: Vec<u8>,
    sort_key: Vec<u8>,
    records: u64,
    /// The final text protocol, when Hadoop reads the lines and would cut
    /// one at a CR: such a record is set apart in `cut`, not written.
    cut_at_cr: Option<crate::OutputProtocol>,
    /// Records set apart so (`json(key) TAB json(value)`), for the task's
    /// bad-record policy.
    cut: Vec<(Vec<u8>, Vec<u8>)>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl<W: Write> RecordSink for StreamSink<W> {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        // Key and value come JSON-encoded, where a CR is always escaped:
        // without a backslash, no text line of them can hold one, and the
        // record is not written twice to find out.
        if let Some(protocol) = self.cut_at_cr
            && (memchr::memchr(b'\\', key).is_some() || memchr::memchr(b'\\', value).is_some())
        {
            self.line.clear();
            protocol.write_record(key, value, &mut self.line);
            if self.line.contains(&b'\r') {
                let mut record = key.to_vec();
                record.push(b'\t');
                record.extend_from_slice(value);
                self.cut.push((key.to_vec(), record));
                return Ok(());
            }
        }
        self.line.clear();
        self.line.extend_from_slice(key);
        self.line.push(b'\t');
        if self.sort_field {
            self.sort_key.clear();
            sortable_value(value, &mut self.sort_key)
                .map_err(|e| Error::Internal(format!("emitted value is not JSON: {e}")))?;
            for b in &self.sort_key {
                self.line.push(HEX[(b >> 4) as usize]);
                self.line.push(HEX[(b & 15) as usize]);
            }
            self.line.push(b'\t');
        }
        self.line.extend_from_slice(value);
        self.line.push(b'\n');
        self.records += 1;
        self.w.write_all(&self.line).map_err(Error::Stdout)
    }
}

/// Runs one streaming task: records from `input`, results to `output`,
/// counters, status and skipped records to `diag` (stderr).
pub fn run_task(
    job: &dyn Job,
    opts: &TaskOptions,
    env: &TaskEnv,
    input: impl Read,
    output: impl Write,
    diag: &mut dyn Write,
) -> Result<TaskReport> {
    // Job code that exits the process is said: a task that ended with exit
    // 0 was a success with its records cut short, to Hadoop and Spark.
    let _under_way = crate::cancel::guard_exit();
    let steps = crate::job::steps_of(job, &opts.params)?;
    let step = steps.get(opts.step).ok_or_else(|| {
        Error::Config(format!(
            "--step-num {} but job {} has {} step(s)",
            opts.step,
            job.name(),
            steps.len()
        ))
    })?;
    // Records leaving a mapper or combiner are shuffled next: they carry the
    // sort field when the step sorts values.
    let shuffled_next = opts.role != TaskRole::Reducer && step.has_reducer();
    let output = crate::output::protocol::ProtocolWriter::new(opts.output_protocol, output);
    let text_protocol = matches!(
        opts.output_protocol,
        crate::OutputProtocol::RawValue | crate::OutputProtocol::Text
    );
    let mut sink = StreamSink {
        w: BufWriter::with_capacity(1 << 20, output),
        sort_field: shuffled_next && step.sorts_values(),
        line: Vec::new(),
        sort_key: Vec::new(),
        records: 0,
        cut_at_cr: (text_protocol && env.output_lines_end_at_cr).then_some(opts.output_protocol),
        cut: Vec::new(),
    };
    // Final records Hadoop would cut at a CR: bad records, as the policy
    // says (the task fails, or they are kept aside and counted), named by
    // the input line a mapper made them of (`line_at`), else by their key.
    let settle_cut = |sink: &mut StreamSink<_>,
                      policy: &mut BadRecordPolicy,
                      diag: &mut dyn Write,
                      line_at: Option<&dyn Fn() -> Location>|
     -> Result<()> {
        for (key, record) in std::mem::take(&mut sink.cut) {
            let at = match line_at {
                Some(at) => at(),
                None => Location::Key {
                    step: opts.step,
                    key: snippet(&key),
                },
            };
            policy.reject(&mut StderrKeeper(diag), at, CR_CUT_REASON.into(), &record)?;
        }
        Ok(())
    };
    let mut counters = Counters::default();
    let mut policy = BadRecordPolicy::new(opts.skip_bad_records);
    let mut records_in = 0u64;
    let (mut read_as_null, mut blank_lines) = (0u64, 0u64);
    let reader = LineReader::new(input, 0, u64::MAX);
    let file = env.input_file.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        diag,
        "reporter:status:mr {} step {} {:?} starting",
        job.name(),
        opts.step,
        opts.role
    );
    match opts.role {
        TaskRole::Mapper => {
            let mut mapper = step.new_mapper();
            let ctx = TaskContext {
                step: opts.step,
                kind: TaskKind::Map,
                task: env.partition.unwrap_or(0),
                input_file: Some(env.input_name.clone().unwrap_or_else(|| file.clone())),
                input_uri: Some(local_uri(&file)),
                partition: None,
                params: opts.params.clone(),
            };
            mapper.init(&ctx).map_err(|e| {
                RecordError::Job(e.to_string()).in_hook(format!("step {} mapper init", opts.step))
            })?;
            if opts.skip_bad_records {
                mapper.hold_back_output();
            }
            let mut reader = reader;
            // With offsets, `--max-line-mb` is the line's, not the offset's
            // too: the reader takes room for them, and the line is
            // measured once they are off.
            reader.set_max_line(if env.input_offsets {
                opts.max_line_bytes.saturating_add(OFFSET_PREFIX_BYTES)
            } else {
                opts.max_line_bytes
            });
            if !opts.skip_bad_records {
                // The task fails on the cut line: nothing after it is needed.
                reader.stop_at_cut();
            }
            if opts.step == 0 {
                crate::input::csv::begin_streaming_task(env.input_file.as_deref(), env.input_start);
            }
            let mut line_no = 0u64;
            let split_start = env.input_start.unwrap_or(0);
            while let Some((stdin_offset, raw, cut)) = reader
                .next_line_cut()
                .map_err(|e| Error::io("reading", "-", e))?
            {
                line_no += 1;
                records_in += 1;
                if records_in.is_multiple_of(1024) {
                    crate::cancel::check()?;
                }
                let (offset, mut line) = if env.input_offsets {
                    split_offset(raw)
                } else {
                    // On stdin itself, the offset in stdin is the truth.
                    (env.input_file.is_none().then_some(stdin_offset), raw)
                };
                let cut = cut || line.len() > opts.max_line_bytes;
                if cut {
                    line = &line[..line.len().min(opts.max_line_bytes)];
                }
                if offset == Some(0) {
                    crate::input::listing::check_first_line(&file, line)?;
                }
                let r = crate::map_task::map_whole_line(
                    &mut *mapper,
                    line,
                    cut.then_some(opts.max_line_bytes),
                    &mut sink,
                    &mut counters,
                    &mut read_as_null,
                );
                let location = || record_location(opts.step, &file, split_start, line_no, offset);
                if policy.check(&mut StderrKeeper(&mut *diag), r, location, line)? == Some(false) {
                    blank_lines += 1;
                }
                settle_cut(&mut sink, &mut policy, &mut *diag, Some(&location))?;
                if records_in.is_multiple_of(1_000_000) {
                    let _ = writeln!(diag, "reporter:status:mr mapper: {records_in} records read");
                }
            }
            // The input named as the local runner names it (`-r emulate`
            // gives the path as given), else by Hadoop's URI: on Spark a
            // final hook's failure named only its partition (probe
            // /tmp/probe8-spark).
            mapper.finish(&mut sink, &mut counters).map_err(|e| {
                e.in_hook(match env.input_name.as_ref().or(env.input_file.as_ref()) {
                    Some(input) => format!("step {} mapper final ({input})", opts.step),
                    None => format!("step {} mapper final", opts.step),
                })
            })?;
            settle_cut(&mut sink, &mut policy, &mut *diag, None)?;
            crate::input::csv::end_task();
        }
        TaskRole::Combiner | TaskRole::Reducer => {
            let is_reducer = opts.role == TaskRole::Reducer;
            let f = if is_reducer {
                step.new_reducer()
            } else {
                step.new_combiner()
            };
            let Some(mut f) = f else {
                return Err(Error::Config(format!(
                    "step {} of job {} has no {}",
                    opts.step,
                    job.name(),
                    if is_reducer { "reducer" } else { "combiner" }
                )));
            };
            let ctx = TaskContext {
                step: opts.step,
                kind: if is_reducer {
                    TaskKind::Reduce
                } else {
                    TaskKind::Combine
                },
                task: env.partition.unwrap_or(0),
                input_file: None,
                input_uri: None,
                partition: env.partition,
                params: opts.params.clone(),
            };
            f.init(&ctx).map_err(|e| {
                RecordError::Job(e.to_string())
                    .in_hook(format!("step {} {:?} init", opts.step, opts.role))
            })?;
            // A line past `--max-line-mb` is a bad record, as the mapper's
            // is: a reducer fed something that is not lines (`-mapper cat`
            // over a binary file) held it whole, 1.7 GB for 400 MB, and
            // aborted under a container's memory limit (probe
            // /tmp/probe23-fuzz repro 03).
            let mut reader = reader;
            reader.set_max_line(opts.max_line_bytes);
            if !opts.skip_bad_records {
                reader.stop_at_cut();
            }
            let reject_cut = |groups: &mut LineGroups<_>,
                              policy: &mut BadRecordPolicy,
                              diag: &mut dyn Write|
             -> Result<()> {
                for (n, record) in groups.take_cut() {
                    let reason = format!(
                        "the line is longer than {} bytes, the longest a {} is given \
                         (--max-line-mb), so that memory stays bounded on input that is \
                         not lines; kept aside (--skip-bad-records), it holds its first \
                         bytes and the rest of it is read past",
                        opts.max_line_bytes,
                        if is_reducer { "reducer" } else { "combiner" }
                    );
                    let at = Location::line(opts.step, "-", n);
                    policy.reject(&mut StderrKeeper(diag), at, reason, &record)?;
                }
                Ok(())
            };
            let mut groups = LineGroups::new(reader, step.sorts_values());
            let mut key = Vec::new();
            while groups.next_key(&mut key)? {
                reject_cut(&mut groups, &mut policy, &mut *diag)?;
                policy.reduce_key(
                    ctx.kind,
                    &mut StderrKeeper(&mut *diag),
                    opts.step,
                    &mut *f,
                    &key,
                    &mut groups,
                    &mut sink,
                    &mut counters,
                )?;
                settle_cut(&mut sink, &mut policy, &mut *diag, None)?;
                reject_cut(&mut groups, &mut policy, &mut *diag)?;
            }
            reject_cut(&mut groups, &mut policy, &mut *diag)?;
            records_in = groups.lines;
            // A combiner's groups are not the step's reduce groups: Hadoop
            // runs it 0..n times, on parts of the map output.
            let groups_name = if is_reducer {
                "reduce groups"
            } else {
                "combine groups"
            };
            counters.add(FRAMEWORK, groups_name, groups.groups as i64);
            f.finish(&mut sink, &mut counters)
                .map_err(|e| e.in_hook(format!("step {} {:?} final", opts.step, opts.role)))?;
            settle_cut(&mut sink, &mut policy, &mut *diag, None)?;
        }
    }
    sink.w.flush().map_err(Error::Stdout)?;
    let role = match opts.role {
        TaskRole::Mapper => "map",
        TaskRole::Combiner => "combine",
        TaskRole::Reducer => "reduce",
    };
    counters.add(
        FRAMEWORK,
        &format!("{role} input records"),
        records_in as i64,
    );
    counters.add(
        FRAMEWORK,
        &format!("{role} output records"),
        sink.records as i64,
    );
    if blank_lines > 0 {
        // As the local runner counts them: lines the mapper took as no
        // record (blank, a CSV header).
        counters.add(FRAMEWORK, "blank input lines", blank_lines as i64);
    }
    if read_as_null > 0 {
        counters.add(
            FRAMEWORK,
            crate::counters::READ_AS_NULL,
            read_as_null as i64,
        );
    }
    if policy.skipped > 0 {
        counters.add(FRAMEWORK, "skipped records", policy.skipped as i64);
    }
    let mangled = sink.w.get_ref().mangled();
    if mangled > 0 {
        counters.add(FRAMEWORK, crate::counters::MANGLED, mangled as i64);
    }
    let _ = write!(diag, "{}", counters.reporter_lines());
    let _ = writeln!(
        diag,
        "reporter:status:mr {} step {} {:?} done",
        job.name(),
        opts.step,
        opts.role
    );
    Ok(TaskReport { counters })
}

/// The longest offset before a mapper's input line: 20 digits (a `u64`)
/// and the TAB.
const OFFSET_PREFIX_BYTES: usize = 21;

/// Splits an `OFFSET TAB LINE` mapper input line (Hadoop's
/// `stream.map.input.ignoreKey=false`) into the offset and the line. A line
/// without a numeric offset is taken whole.
fn split_offset(raw: &[u8]) -> (Option<u64>, &[u8]) {
    if let Some(tab) = memchr::memchr(b'\t', raw) {
        let digits = &raw[..tab];
        if !digits.is_empty() && digits.len() <= 20 && digits.iter().all(u8::is_ascii_digit) {
            let offset = digits.iter().try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            });
            if offset.is_some() {
                return (offset, &raw[tab + 1..]);
            }
        }
    }
    (None, raw)
}

/// Where the `line_no`-th record (1-based) of a map task's input is: its line
/// in the file when the split starts the file, else its line within the
/// split; with its byte offset when known.
fn record_location(
    step: usize,
    file: &str,
    split_start: u64,
    line_no: u64,
    offset: Option<u64>,
) -> Location {
    let starts_file = split_start == 0;
    // A later split of a .bz2 file (the one compressed format Hadoop
    // splits): its keys are the split's compressed start plus decompressed
    // bytes, no place in either; the line in the split is.
    let mixed = !starts_file && file.to_ascii_lowercase().ends_with(".bz2");
    Location::Line {
        step,
        file: file.to_string(),
        line: starts_file.then_some(line_no),
        offset: offset.filter(|_| !mixed),
        in_split: (!starts_file).then_some(SplitLine {
            start: split_start,
            line: line_no,
        }),
    }
}

/// Sorted `key TAB value` lines seen as key groups.
struct LineGroups<R: Read> {
    reader: LineReader<R>,
    sort_field: bool,
    key: Vec<u8>,
    in_group: bool,
    pending: bool,
    eof: bool,
    pending_key: Vec<u8>,
    pending_value: Vec<u8>,
    value: Vec<u8>,
    /// With `sort_field`: the pending line's sort field, and the last one
    /// given in this group (empty before its first value).
    pending_sort: Vec<u8>,
    sort: Vec<u8>,
    lines: u64,
    groups: u64,
    /// Lines cut at the reader's longest line, read past: (line number,
    /// its first bytes), for the task to reject (see
    /// [`LineGroups::take_cut`]).
    cut: Vec<(u64, Vec<u8>)>,
}

impl<R: Read> LineGroups<R> {
    fn new(reader: LineReader<R>, sort_field: bool) -> Self {
        LineGroups {
            cut: Vec::new(),
            reader,
            sort_field,
            key: Vec::new(),
            in_group: false,
            pending: false,
            eof: false,
            pending_key: Vec::new(),
            pending_value: Vec::new(),
            value: Vec::new(),
            pending_sort: Vec::new(),
            sort: Vec::new(),
            lines: 0,
            groups: 0,
        }
    }

    /// Reads the next line into `pending_*`; false at the end.
    fn fetch(&mut self) -> Result<bool> {
        if self.pending {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        let line = loop {
            let Some((_, line, cut)) = self
                .reader
                .next_line_cut()
                .map_err(|e| Error::io("reading", "-", e))?
            else {
                self.eof = true;
                return Ok(false);
            };
            self.lines += 1;
            if !cut {
                break line;
            }
            self.cut.push((self.lines, line.to_vec()));
        };
        if self
            .lines
            .is_multiple_of(crate::shuffle::merge::CHECK_EVERY)
        {
            crate::cancel::check()?;
        }
        let (k, mut v) = split_record(line);
        if self.sort_field {
            // `key TAB sortkey TAB value`: the sort field is kept apart,
            // to check its order.
            self.pending_sort.clear();
            if let Some(i) = memchr::memchr(b'\t', v) {
                self.pending_sort.extend_from_slice(&v[..i]);
                v = &v[i + 1..];
            }
        }
        self.pending_key.clear();
        self.pending_key.extend_from_slice(k);
        self.pending_value.clear();
        if v.is_empty() {
            self.pending_value.extend_from_slice(b"null");
        } else {
            self.pending_value.extend_from_slice(v);
        }
        self.pending = true;
        Ok(true)
    }

    /// The lines cut at the longest line since the last call.
    fn take_cut(&mut self) -> Vec<(u64, Vec<u8>)> {
        std::mem::take(&mut self.cut)
    }

    fn next_key(&mut self, key: &mut Vec<u8>) -> Result<bool> {
        while self.in_group {
            if self.next_value()?.is_none() {
                break;
            }
        }
        if !self.fetch()? {
            return Ok(false);
        }
        if self.groups > 0 && self.pending_key < self.key {
            return Err(Error::BadRecord {
                location: Box::new(Location::line(0, "-", self.lines)),
                reason: format!(
                    "reducer input is not sorted by key bytes: {} came after {} (sort with LC_ALL=C)",
                    snippet(&self.pending_key),
                    snippet(&self.key)
                ),
                snippet: snippet(&self.pending_key),
            });
        }
        self.key.clear();
        self.key.extend_from_slice(&self.pending_key);
        key.clear();
        key.extend_from_slice(&self.pending_key);
        self.sort.clear();
        self.in_group = true;
        self.groups += 1;
        Ok(true)
    }
}

impl<R: Read> ValueStream for LineGroups<R> {
    fn next_value(&mut self) -> Result<Option<&[u8]>> {
        if !self.in_group {
            return Ok(None);
        }
        if !self.fetch()? || self.pending_key != self.key {
            self.in_group = false;
            return Ok(None);
        }
        // A step that sorts values is given them sorted by Hadoop only
        // with the secondary-sort settings; a hand-written `hadoop jar`
        // line without them gave a reducer its values in map order, and a
        // job that relies on the order a wrong result (probe
        // /tmp/probe10-hadoop repro 01).
        if self.sort_field {
            if self.pending_sort < self.sort {
                return Err(Error::BadRecord {
                    location: Box::new(Location::line(0, "-", self.lines)),
                    reason: format!(
                        "reducer input is not sorted by value within key {}: sort field {} came after {} \
                         (the step sorts its values: run Hadoop with the settings `mr run JOB -r hadoop --dry-run` prints, \
                         stream.num.map.output.key.fields=2 and the KeyFieldBased partitioner and comparator)",
                        snippet(&self.key),
                        snippet(&self.pending_sort),
                        snippet(&self.sort)
                    ),
                    snippet: snippet(&self.pending_key),
                });
            }
            std::mem::swap(&mut self.sort, &mut self.pending_sort);
        }
        std::mem::swap(&mut self.value, &mut self.pending_value);
        self.pending = false;
        Ok(Some(&self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reducers::Sum;
    use crate::{Emitter, JobError, Mapper, Step};

    #[derive(Clone)]
    struct Words;
    impl Mapper for Words {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = u64;
        fn map(
            &mut self,
            line: &str,
            out: &mut Emitter<String, u64>,
        ) -> std::result::Result<(), JobError> {
            for w in line.split_whitespace() {
                out.emit(w, 1)?;
            }
            Ok(())
        }
    }
    struct Wc;
    impl Job for Wc {
        fn name(&self) -> &str {
            "wc"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(Words).combine(Sum::new()).reduce(Sum::new())]
        }
    }

    /// A job of `--times N` word-count steps (mrjob's `[MRStep(...)] * n`).
    struct Times;
    impl Job for Times {
        fn name(&self) -> &str {
            "times"
        }
        fn description(&self) -> &str {
            ""
        }
        fn options(&self) -> Vec<crate::JobOption> {
            vec![crate::JobOption::uint("times").default("1")]
        }
        fn steps(&self) -> Vec<Step> {
            self.steps_for(&crate::JobParams::defaults(self))
        }
        fn steps_for(&self, params: &crate::JobParams) -> Vec<Step> {
            let n = params
                .options
                .get("times")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            (0..n)
                .map(|_| Step::map(Words).reduce(Sum::new()))
                .collect()
        }
    }

    /// Steps that depend on an option could not be ported (`Job::steps`
    /// takes no options: probe /tmp/probe10-mrjob repro 01): the local
    /// runner and a task both ask `steps_for` with the run's options.
    #[test]
    fn the_steps_can_depend_on_the_options() {
        let three = crate::JobParams::defaults(&Times).with_option("times", "3");
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in.txt");
        std::fs::write(&input, "a b a\n").unwrap();
        let cfg = crate::RunConfig {
            inputs: vec![input.display().to_string()],
            params: three.clone().into(),
            ..Default::default()
        };
        let report = crate::runner::local::run_job(&Times, &cfg, &mut Vec::new()).unwrap();
        let steps: std::collections::BTreeSet<&str> = report
            .counters
            .iter()
            .filter_map(|(_, name, _)| name.strip_prefix("step ")?.split(':').next())
            .collect();
        assert_eq!(steps, ["0", "1", "2"].into(), "{:?}", report.counters);
        for (params, ok) in [(three, true), (crate::JobParams::defaults(&Times), false)] {
            let opts = TaskOptions {
                step: 2,
                role: TaskRole::Mapper,
                skip_bad_records: false,
                params: params.into(),
                output_protocol: Default::default(),
                max_line_bytes: usize::MAX,
            };
            let (mut out, mut diag) = (Vec::new(), Vec::new());
            let r = run_task(
                &Times,
                &opts,
                &TaskEnv::default(),
                &b"a\n"[..],
                &mut out,
                &mut diag,
            );
            assert_eq!(r.is_ok(), ok, "{:?}", r.err());
        }
    }

    fn task(role: TaskRole, input: &str, skip: bool) -> (Result<TaskReport>, String, String) {
        task_with_max_line(role, input, skip, usize::MAX)
    }

    /// [`task`], its lines at most `max_line_bytes` long.
    fn task_with_max_line(
        role: TaskRole,
        input: &str,
        skip: bool,
        max_line_bytes: usize,
    ) -> (Result<TaskReport>, String, String) {
        let mut out = Vec::new();
        let mut diag = Vec::new();
        let opts = TaskOptions {
            step: 0,
            role,
            skip_bad_records: skip,
            params: Default::default(),
            output_protocol: Default::default(),
            max_line_bytes,
        };
        let r = run_task(
            &Wc,
            &opts,
            &TaskEnv::default(),
            input.as_bytes(),
            &mut out,
            &mut diag,
        );
        (
            r,
            String::from_utf8(out).unwrap(),
            String::from_utf8(diag).unwrap(),
        )
    }

    #[test]
    fn mapper_then_sorted_reducer() {
        let (r, out, diag) = task(TaskRole::Mapper, "b a\nb\n", false);
        r.unwrap();
        assert_eq!(out, "\"b\"\t1\n\"a\"\t1\n\"b\"\t1\n");
        assert!(
            diag.contains("reporter:counter:mr,map input records,2"),
            "{diag}"
        );
        let (r, out, _) = task(
            TaskRole::Reducer,
            "\"a\"\t1\n\"b\"\t1\t\n\"b\"\t2 \n",
            false,
        );
        r.unwrap();
        assert_eq!(out, "\"a\"\t1\n\"b\"\t3\n");
    }

    /// Bytes rich in what the streaming protocol is made of.
    fn stream_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let byte = prop_oneof![
            4 => Just(b'\t'),
            4 => Just(b'\n'),
            4 => Just(b'"'),
            3 => Just(b'1'),
            3 => Just(b'a'),
            1 => Just(b'\\'),
            1 => Just(b'{'),
            1 => Just(b'\r'),
            1 => Just(b' '),
            4 => any::<u8>(),
        ];
        proptest::collection::vec(byte, 0..300)
    }

    /// The lines of `input` (no CR, no BOM) sorted by key bytes, as
    /// `LC_ALL=C sort` feeds a reducer.
    fn sorted_by_key(input: &[u8]) -> Vec<u8> {
        let clean: Vec<u8> = input
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != 0xEF)
            .collect();
        let body = clean.strip_suffix(b"\n").unwrap_or(&clean);
        let mut lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        if clean.is_empty() {
            lines.clear();
        }
        lines.sort_by(|a, b| split_record(a).0.cmp(split_record(b).0));
        lines.join(&b'\n')
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]
        /// Arbitrary bytes on a task's stdin: an error or a result, never a
        /// panic; with --skip-bad-records (and sorted input for a reducer)
        /// always a result, every line counted.
        #[test]
        fn arbitrary_streaming_input_never_panics(input in stream_bytes(), sort in proptest::prelude::any::<bool>()) {
            let input = if sort { sorted_by_key(&input) } else { input };
            for role in [TaskRole::Mapper, TaskRole::Combiner, TaskRole::Reducer] {
                for skip in [false, true] {
                    let opts = TaskOptions { step: 0, role, skip_bad_records: skip, params: Default::default(), output_protocol: Default::default(), max_line_bytes: usize::MAX };
                    let (mut out, mut diag) = (Vec::new(), Vec::new());
                    let r = run_task(&Wc, &opts, &TaskEnv::default(), &input[..], &mut out, &mut diag);
                    if skip && (role == TaskRole::Mapper || sort) {
                        let report = r.map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
                        let mut lines = LineReader::new(&input[..], 0, u64::MAX);

                        let mut n = 0i64;
                        while lines.next_line().unwrap().is_some() {
                            n += 1;
                        }
                        let name = if role == TaskRole::Mapper { "map" } else if role == TaskRole::Combiner { "combine" } else { "reduce" };
                        proptest::prop_assert_eq!(report.counters.get(FRAMEWORK, &format!("{name} input records")), n);
                    }
                }
            }
        }
    }

    /// A reducer's line with no tab is read as the value null, as Hadoop
    /// gives it: a value type that cannot be null says so (it said
    /// "invalid type: null" alone, probe /tmp/probe23-fuzz notes).
    #[test]
    fn a_reducers_line_with_no_tab_says_so() {
        let (r, _, _) = task(TaskRole::Reducer, "\"a\"\t1\n\"b\"\n", false);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("invalid type: null"), "{e}");
        assert!(e.contains("the line has no tab"), "{e}");
    }

    #[test]
    fn unsorted_reducer_input_is_an_error() {
        let (r, _, _) = task(TaskRole::Reducer, "\"b\"\t1\n\"a\"\t1\n", false);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("not sorted") && e.contains("LC_ALL=C"), "{e}");
    }

    /// All the values of `input`'s groups read with a sort field, or the
    /// first error.
    fn groups_with_sort_field(input: &str) -> Result<Vec<String>> {
        let mut groups = LineGroups::new(LineReader::new(input.as_bytes(), 0, u64::MAX), true);
        let (mut key, mut got) = (Vec::new(), Vec::new());
        while groups.next_key(&mut key)? {
            while let Some(v) = groups.next_value()? {
                got.push(format!(
                    "{}={}",
                    String::from_utf8_lossy(&key),
                    String::from_utf8_lossy(v)
                ));
            }
        }
        Ok(got)
    }

    /// A step that sorts values gets them sorted from Hadoop only with the
    /// secondary-sort settings; without them (a hand-written `hadoop jar`
    /// line) the values came in map order and the reducer gave another
    /// result, exit 0 (probe /tmp/probe10-hadoop repro 01).
    #[test]
    fn values_out_of_sort_order_are_an_error() {
        let sorted = "\"a\"\t1\tx\n\"a\"\t1\ty\n\"a\"\t2\tz\n\"b\"\t0\tw\n";
        assert_eq!(
            groups_with_sort_field(sorted).unwrap(),
            ["\"a\"=x", "\"a\"=y", "\"a\"=z", "\"b\"=w"]
        );
        let e = groups_with_sort_field("\"a\"\t2\tx\n\"a\"\t1\ty\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not sorted by value within key \"a\"") && e.contains("--dry-run"),
            "{e}"
        );
    }

    #[test]
    fn bad_reducer_value_is_skipped_and_reported() {
        let (r, out, diag) = task(TaskRole::Reducer, "\"a\"\tx\n\"a\"\t2\n\"b\"\t1\n", true);
        r.unwrap();
        assert_eq!(out, "\"a\"\t2\n\"b\"\t1\n");
        assert!(diag.contains("\"a\"\tx\n"), "{diag}");
        assert!(
            diag.contains("mr-bad-record: ")
                && diag.contains("reporter:counter:mr,skipped records,1"),
            "{diag}"
        );
        let (r, _, _) = task(TaskRole::Reducer, "\"a\"\tx\n", false);
        assert!(r.unwrap_err().to_string().contains("key \"a\""));
    }

    /// Under `--skip-bad-records`, a key whose every value is bad is not
    /// reduced: word_count wrote `"b" 0` for it (probe /tmp/probe23-fuzz
    /// repro 04).
    #[test]
    fn a_key_whose_every_value_is_bad_is_not_reduced() {
        let input = "\"a\"\t1\n\"b\"\tx\n\"b\"\ty\n\"c\"\tz\n\"c\"\t2\n";
        for role in [TaskRole::Reducer, TaskRole::Combiner] {
            let (r, out, diag) = task(role, input, true);
            r.unwrap();
            assert_eq!(out, "\"a\"\t1\n\"c\"\t2\n", "{role:?}");
            assert!(
                diag.contains("reporter:counter:mr,skipped records,3"),
                "{diag}"
            );
        }
    }

    /// A reducer's or combiner's line past `--max-line-mb` is a bad record,
    /// read past, as a mapper's is: it was held whole, and aborted the task
    /// under a memory limit (probe /tmp/probe23-fuzz repro 03).
    #[test]
    fn a_reducers_line_past_the_longest_is_a_bad_record() {
        let long = format!("\"b\"\t{}", "9".repeat(100_000));
        let input = format!("\"a\"\t1\n{long}\n\"c\"\t2\n");
        for (role, skip) in [
            (TaskRole::Reducer, true),
            (TaskRole::Combiner, true),
            (TaskRole::Reducer, false),
        ] {
            let (r, out, diag) = task_with_max_line(role, &input, skip, 1000);
            if skip {
                r.unwrap();
                assert_eq!(out, "\"a\"\t1\n\"c\"\t2\n", "{role:?}");
                assert!(diag.contains("longer than 1000 bytes"), "{diag}");
                assert!(
                    diag.contains("reporter:counter:mr,skipped records,1"),
                    "{diag}"
                );
                assert!(
                    diag.len() < 10_000,
                    "the line is not kept whole: {}",
                    diag.len()
                );
            } else {
                let e = r.unwrap_err().to_string();
                assert!(
                    e.contains("longer than 1000 bytes") && e.contains(":2"),
                    "{e}"
                );
            }
        }
    }

    /// A skipped record's CRs would start stderr lines of their own for
    /// Hadoop, which reads `reporter:counter:` lines there: they are
    /// escaped, and the record read back whole.
    #[test]
    fn a_kept_record_cannot_start_a_line_in_hadoops_eyes() {
        let value = "x\rreporter:counter:mr,skipped records,-1\r\\r";
        let line = format!("\"a\"\t{value}");
        let (r, _, diag) = task(TaskRole::Reducer, &format!("{line}\n"), true);
        r.unwrap();
        let lines: Vec<&str> = diag.split(['\r', '\n']).collect();
        assert!(
            !lines.contains(&"reporter:counter:mr,skipped records,-1"),
            "{diag}"
        );
        assert!(
            lines.contains(&"reporter:counter:mr,skipped records,1"),
            "{diag}"
        );
        let kept = lines
            .iter()
            .find(|l| l.starts_with("mr-bad-record: "))
            .unwrap();
        let (header, record) = kept["mr-bad-record: ".len()..].split_once('\t').unwrap();
        let h: serde_json::Value = serde_json::from_str(header).unwrap();
        assert_eq!(h["escaped"], true, "{header}");
        let record = crate::output::bad::unescape_record(record.as_bytes());
        assert_eq!(record, line.as_bytes());
    }

    #[test]
    fn combiner_groups_are_not_reduce_groups() {
        let (r, out, diag) = task(TaskRole::Combiner, "\"a\"\t1\n\"a\"\t2\n\"b\"\t1\n", false);
        r.unwrap();
        assert_eq!(out, "\"a\"\t3\n\"b\"\t1\n");
        assert!(
            diag.contains("reporter:counter:mr,combine groups,2"),
            "{diag}"
        );
        assert!(!diag.contains("reduce groups"), "{diag}");
    }

    /// A mapper over `input` with Hadoop's variables, strict or skipping.
    fn hadoop_mapper(
        vars: &[(&str, &str)],
        input: &str,
        skip: bool,
    ) -> (Result<TaskReport>, String) {
        let mut diag = Vec::new();
        let r = run_task(
            &BadOnX,
            &mapper_opts(skip),
            &env_of(vars),
            input.as_bytes(),
            Vec::new(),
            &mut diag,
        );
        (r, String::from_utf8(diag).unwrap())
    }

    #[derive(Clone)]
    struct RejectX;
    impl Mapper for RejectX {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = u64;
        fn map(
            &mut self,
            line: &str,
            out: &mut Emitter<String, u64>,
        ) -> std::result::Result<(), JobError> {
            if line.starts_with('x') {
                return Err("x is bad".into());
            }
            out.emit(line, 1)
        }
    }
    struct BadOnX;
    impl Job for BadOnX {
        fn name(&self) -> &str {
            "bad_on_x"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(RejectX).reduce(Sum::new())]
        }
    }

    /// A task's environment of Hadoop's variables `vars`.
    fn env_of(vars: &[(&str, &str)]) -> TaskEnv {
        TaskEnv::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    /// The options of step 0's mapper task.
    fn mapper_opts(skip_bad_records: bool) -> TaskOptions {
        TaskOptions {
            step: 0,
            role: TaskRole::Mapper,
            skip_bad_records,
            params: Default::default(),
            output_protocol: Default::default(),
            max_line_bytes: usize::MAX,
        }
    }

    /// A mapper that emits the file and URI its context names.
    #[derive(Clone, Default)]
    struct WhereAmI(String, String);
    impl Mapper for WhereAmI {
        type Input<'a> = &'a str;
        type Key = (String, String);
        type Value = u64;
        fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
            self.0 = ctx.input_file.clone().unwrap_or_default();
            self.1 = ctx.input_uri.clone().unwrap_or_default();
            Ok(())
        }
        fn map(
            &mut self,
            _: &str,
            out: &mut Emitter<(String, String), u64>,
        ) -> Result<(), JobError> {
            out.emit(&(self.0.clone(), self.1.clone()), 1)
        }
    }

    /// The file a task's context names is the local runner's on `-r emulate`
    /// (the path as given, which the emulator passes beside Hadoop's URI),
    /// and its URI is `file:///abs` whatever runner (Hadoop writes
    /// `file:/abs`): a job keyed on either gave other output under
    /// `-r emulate` and Hadoop (probe /tmp/probe4-author repro 03).
    #[test]
    fn a_tasks_file_and_uri_are_the_local_runners() {
        struct J;
        impl Job for J {
            fn name(&self) -> &str {
                "where"
            }
            fn description(&self) -> &str {
                ""
            }
            fn steps(&self) -> Vec<Step> {
                vec![Step::map(WhereAmI::default()).reduce(Sum::new())]
            }
        }
        let run = |vars: &[(&str, &str)]| {
            let (opts, env) = (mapper_opts(false), env_of(vars));
            let mut out = Vec::new();
            run_task(&J, &opts, &env, &b"x\n"[..], &mut out, &mut Vec::new()).unwrap();
            String::from_utf8(out).unwrap()
        };
        let hadoop = [("mapreduce_map_input_file", "file:/tmp/logs/a b.txt")];
        assert_eq!(
            run(&hadoop),
            "[\"file:/tmp/logs/a b.txt\",\"file:///tmp/logs/a b.txt\"]\t1\n"
        );
        let emulated = [hadoop[0], (INPUT_NAME_VAR, "logs/a b.txt")];
        assert_eq!(
            run(&emulated),
            "[\"logs/a b.txt\",\"file:///tmp/logs/a b.txt\"]\t1\n"
        );
        let hdfs = [("mapreduce_map_input_file", "hdfs://nn/logs/a.gz")];
        assert_eq!(
            run(&hdfs),
            "[\"hdfs://nn/logs/a.gz\",\"hdfs://nn/logs/a.gz\"]\t1\n"
        );
    }

    #[test]
    fn a_later_split_reports_byte_offset_and_line_in_split_never_a_file_line() {
        let file = ("mapreduce_map_input_file", "hdfs:///logs/a.jsonl");
        // Hadoop passes each line's offset as its key.
        let vars = [
            file,
            ("mapreduce_map_input_start", "1000"),
            ("stream_map_input_ignoreKey", "false"),
        ];
        let (r, _) = hadoop_mapper(&vars, "1004\tok\n1007\txbad\n", false);
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains(
                "at hdfs:///logs/a.jsonl, byte 1007 (line 2 of the split from byte 1000): x is bad"
            ),
            "{e}"
        );
        // Skipped: the header says the same, and the record is the line
        // without its offset.
        let (r, diag) = hadoop_mapper(&vars, "1004\tok\n1007\txbad\n", true);
        r.unwrap();
        let kept = diag
            .lines()
            .find(|l| l.starts_with("mr-bad-record: "))
            .unwrap();
        let (header, record) = kept["mr-bad-record: ".len()..].split_once('\t').unwrap();
        let h: serde_json::Value = serde_json::from_str(header).unwrap();
        assert_eq!(h["line"], serde_json::Value::Null);
        assert_eq!(
            (
                h["offset"].as_u64(),
                h["split_start"].as_u64(),
                h["line_in_split"].as_u64()
            ),
            (Some(1007), Some(1000), Some(2))
        );
        assert_eq!(record, "xbad");
        // A later split of a .bz2 file: Hadoop's keys mix its compressed
        // start with decompressed bytes; no offset is claimed.
        let bz2 = [
            ("mapreduce_map_input_file", "hdfs:///logs/a.jsonl.bz2"),
            vars[1],
            vars[2],
        ];
        let (r, _) = hadoop_mapper(&bz2, "962056\tok\n962060\txbad\n", false);
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("at hdfs:///logs/a.jsonl.bz2, line 2 of the split from compressed byte 1000 (a bzip2 block"),
            "{e}"
        );
        // Without offsets, the line within the split is still true.
        let (r, _) = hadoop_mapper(&vars[..2], "ok\nxbad\n", false);
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("at hdfs:///logs/a.jsonl, line 2 of the split from byte 1000:"),
            "{e}"
        );
        // A split that starts the file knows the file's line numbers.
        let first = [
            file,
            ("mapreduce_map_input_start", "0"),
            ("stream_map_input_ignoreKey", "false"),
        ];
        let (r, _) = hadoop_mapper(&first, "0\tok\n3\txbad\n", false);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("at hdfs:///logs/a.jsonl:2: x is bad"), "{e}");
    }

    #[test]
    fn offsets_parse_only_digits() {
        assert_eq!(split_offset(b"12\tab\tc"), (Some(12), &b"ab\tc"[..]));
        assert_eq!(split_offset(b"x\tab"), (None, &b"x\tab"[..]));
        assert_eq!(split_offset(b"99999999999999999999999\tab").0, None);
        assert_eq!(split_offset(b"\tab"), (None, &b"\tab"[..]));
    }

    /// `--max-line-mb` measures the line, not Hadoop's offset before it: a
    /// line of exactly the limit is read (on Hadoop it was a bad record, and
    /// only there: probe /tmp/probe2-streaming repro 01), a byte more is cut.
    /// `ignoreKey` is read as Hadoop reads a boolean (`False` sent offsets
    /// that were counted as words: repro 02).
    #[test]
    fn the_line_limit_leaves_out_hadoop_offsets() {
        let ignore_key = |v: &'static str| {
            TaskEnv::from_lookup(move |k| (k == "stream_map_input_ignoreKey").then(|| v.into()))
        };
        assert!(!ignore_key("no").input_offsets);
        assert!(!ignore_key("true").input_offsets);
        let env = ignore_key(" False ");
        assert!(env.input_offsets);
        let opts = TaskOptions {
            step: 0,
            role: TaskRole::Mapper,
            skip_bad_records: true,
            params: Default::default(),
            output_protocol: Default::default(),
            max_line_bytes: 10,
        };
        let input = "0\taaaaaaaaaa\n11\tbbbbbbbbbbb\n123\tc\n";
        let (mut out, mut diag) = (Vec::new(), Vec::new());
        run_task(&BadOnX, &opts, &env, input.as_bytes(), &mut out, &mut diag).unwrap();
        let (out, diag) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(diag).unwrap(),
        );
        assert_eq!(out, "\"aaaaaaaaaa\"\t1\n\"c\"\t1\n", "{diag}");
        assert!(diag.contains("longer than 10 bytes"), "{diag}");
        assert!(
            diag.contains("bbbbbbbbbb") && !diag.contains("bbbbbbbbbbb"),
            "{diag}"
        );
    }

    #[test]
    fn env_reads_hadoop_names() {
        let env = TaskEnv::from_lookup(|k| (k == "map_input_file").then(|| "f".to_string()));
        assert_eq!(env.input_file.as_deref(), Some("f"));
    }
}
