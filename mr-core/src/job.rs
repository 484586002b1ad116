//! The user's contract: a [`Job`] is one or more [`Step`]s; a step has a
//! [`Mapper`], an optional combiner and an optional [`Reducer`].
//!
//! # Laws the engine relies on
//!
//! - **The combiner may run 0, 1 or many times**, on any subset of a key's
//!   values, in any order (the local runner combines in its sort buffer, at
//!   each spill and not at all for keys seen once; Hadoop does as it likes).
//!   So a combiner must be associative and commutative, emit only the key it
//!   was given, and emit values of the mapper's output type.
//! - **Partitioning keeps every record**: all values of a key reach one
//!   reducer call, exactly once.
//! - **Keys encode deterministically**: the same logical key is the same bytes.
//! - A reducer's values arrive in no particular order unless the step
//!   [sorts values](TypedStep::sort_values).
//!
//! The mapper, combiner and reducer types are checked against each other by
//! the compiler: a combiner's input and output are the mapper's output, a
//! reducer's input is the mapper's output.

use crate::counters::Counters;
use crate::emit::{EmitBuffers, Emitter, RecordSink};
use crate::error::JobError;
use crate::fold::CarriedTable;
use crate::options::{JobOption, JobParams};
use crate::panics::{Panicked, catch};
use crate::protocol::{DecodeError, FromLine, from_json};
use crate::staged::{Holding, Next};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

/// What a task knows about itself, as Hadoop tells a streaming task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskContext {
    /// The step (0-based).
    pub step: usize,
    /// Map, combine or reduce.
    pub kind: TaskKind,
    /// The task's number within its step (the split's or the partition's).
    pub task: usize,
    /// The input file a map task reads, as given on the command line or
    /// found under a given directory (`-` for stdin), when known.
    pub input_file: Option<String>,
    /// The same file as a URI, as Hadoop gives it to tasks
    /// (`mapreduce.map.input.file`) and mrjob's `jobconf_from_env`:
    /// `file:///abs/path` for a local file (on every runner: Hadoop's
    /// `file:/abs/path` is written so), `hdfs://...` as Hadoop has it,
    /// `-` for stdin.
    pub input_uri: Option<String>,
    /// The partition a reduce task handles, when known.
    pub partition: Option<usize>,
    /// The job's option values, files and jobconf.
    pub params: Arc<JobParams>,
}

impl TaskContext {
    /// The value of the job option `name` (see [`Job::options`]), parsed as
    /// `T`; an error names the option when it is unset or does not parse.
    ///
    /// ```
    /// use mr_core::{JobParams, TaskContext};
    /// let mut p = JobParams::default();
    /// p.options.insert("top".into(), "10".into());
    /// let ctx = TaskContext { params: p.into(), ..TaskContext::default() };
    /// assert_eq!(ctx.option::<u32>("top").unwrap(), 10);
    /// assert!(ctx.option::<u32>("missing").is_err());
    /// ```
    pub fn option<T: std::str::FromStr>(&self, name: &str) -> Result<T, JobError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self
            .option_str(name)
            .ok_or_else(|| JobError::msg(format!("option --{name} is not set")))?;
        raw.parse::<T>()
            .map_err(|e| JobError::msg(format!("option --{name} {raw:?}: {e}")))
    }

    /// The raw value of the job option `name`, if it has one.
    pub fn option_str(&self, name: &str) -> Option<&str> {
        self.params.options.get(name).map(String::as_str)
    }

    /// True when the switch `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.option_str(name) == Some("true")
    }

    /// Every value of the repeated option `name`
    /// ([`JobOption::repeated`](crate::JobOption::repeated), argparse's
    /// `action='append'`), in the order given; empty when not given.
    ///
    /// ```
    /// use mr_core::{JobParams, TaskContext};
    /// let p = JobParams::default().with_values("kind", &["user.quiz.submit", "a b"]);
    /// let ctx = TaskContext { params: p.into(), ..TaskContext::default() };
    /// assert_eq!(ctx.strings("kind"), ["user.quiz.submit", "a b"]);
    /// assert!(ctx.strings("other").is_empty());
    /// ```
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.params.strings(name)
    }

    /// The path of the file the job knows as `name` (`--files PATH#NAME`,
    /// or a file shipped by a cluster runner into the task's directory).
    ///
    /// ```
    /// use mr_core::{JobParams, TaskContext};
    /// let mut p = JobParams::default();
    /// p.files.insert("stop_words.txt".into(), "/data/stop.txt".into());
    /// let ctx = TaskContext { params: p.into(), ..TaskContext::default() };
    /// assert_eq!(ctx.file("stop_words.txt").unwrap(), std::path::Path::new("/data/stop.txt"));
    /// assert!(ctx.file("nope.txt").is_none());
    /// ```
    pub fn file(&self, name: &str) -> Option<std::path::PathBuf> {
        self.params.file(name)
    }

    /// A jobconf setting (`-D KEY=VALUE`; in a Hadoop task, also the
    /// job's configuration from the environment), under its Hadoop 2 name
    /// or its Hadoop 1 one (`mapred.reduce.tasks` is
    /// `mapreduce.job.reduces`), as mrjob's `jobconf_from_env` reads either.
    /// What Hadoop tells each task of itself is given on every runner: the
    /// file a map task reads (`mapreduce.map.input.file`, as
    /// [`Self::input_uri`] locally, as mrjob's local runner gives it), the
    /// task's number (`mapreduce.task.partition`) and kind
    /// (`mapreduce.task.ismap`); they were set only inside Hadoop, so a
    /// job's output depended on its runner (probe /tmp/probe10-mrjob
    /// repro 02).
    ///
    /// ```
    /// use mr_core::{JobParams, TaskContext};
    /// let mut p = JobParams::default();
    /// p.jobconf.insert("mapred.reduce.tasks".into(), "3".into());
    /// let ctx = TaskContext {
    ///     input_uri: Some("file:///logs/a.json".into()),
    ///     task: 4,
    ///     params: p.into(),
    ///     ..TaskContext::default()
    /// };
    /// assert_eq!(ctx.jobconf("mapreduce.job.reduces").as_deref(), Some("3"));
    /// assert_eq!(ctx.jobconf("map.input.file").as_deref(), Some("file:///logs/a.json"));
    /// assert_eq!(ctx.jobconf("mapreduce.task.partition").as_deref(), Some("4"));
    /// assert_eq!(ctx.jobconf("mapreduce.task.ismap").as_deref(), Some("true"));
    /// ```
    pub fn jobconf(&self, key: &str) -> Option<String> {
        let renamed = HADOOP_RENAMED
            .iter()
            .find(|&&(old, new)| old == key || new == key);
        let other = renamed.map(|&(old, new)| if old == key { new } else { old });
        if let Some(v) = self
            .params
            .jobconf(key)
            .or_else(|| other.and_then(|o| self.params.jobconf(o)))
        {
            return Some(v);
        }
        // Under its Hadoop 2 name.
        match renamed.map_or(key, |&(_, new)| new) {
            "mapreduce.map.input.file" => self.input_uri.clone(),
            "mapreduce.task.partition" => Some(self.task.to_string()),
            "mapreduce.task.ismap" => Some((self.kind == TaskKind::Map).to_string()),
            _ => None,
        }
    }
}

/// Jobconf keys Hadoop 2 renamed, as (Hadoop 1 name, Hadoop 2 name): those
/// a streaming job reads (Hadoop's `DeprecatedProperties`; mrjob's
/// `compat.py` translates the same).
const HADOOP_RENAMED: [(&str, &str); 16] = [
    ("map.input.file", "mapreduce.map.input.file"),
    ("map.input.start", "mapreduce.map.input.start"),
    ("map.input.length", "mapreduce.map.input.length"),
    ("mapred.task.partition", "mapreduce.task.partition"),
    ("mapred.task.is.map", "mapreduce.task.ismap"),
    ("mapred.task.id", "mapreduce.task.attempt.id"),
    ("mapred.tip.id", "mapreduce.task.id"),
    ("mapred.job.id", "mapreduce.job.id"),
    ("mapred.job.name", "mapreduce.job.name"),
    ("mapred.reduce.tasks", "mapreduce.job.reduces"),
    ("mapred.map.tasks", "mapreduce.job.maps"),
    (
        "mapred.output.compress",
        "mapreduce.output.fileoutputformat.compress",
    ),
    (
        "mapred.output.compression.codec",
        "mapreduce.output.fileoutputformat.compress.codec",
    ),
    (
        "mapred.textoutputformat.separator",
        "mapreduce.output.textoutputformat.separator",
    ),
    (
        "mapred.output.dir",
        "mapreduce.output.fileoutputformat.outputdir",
    ),
    (
        "mapred.input.dir",
        "mapreduce.input.fileinputformat.inputdir",
    ),
];

/// Which kind of task runs a piece of a job./// Which kind of task runs a piece of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskKind {
    /// Runs the mapper over input lines.
    #[default]
    Map,
    /// Runs the combiner over part of a key's values.
    Combine,
    /// Runs the reducer over all of a key's values.
    Reduce,
}

/// Turns each input line into zero or more key-value records.
///
/// `Input` says how a line is decoded: `&str` for raw text lines,
/// [`Json<T>`](crate::Json) for one JSON document a line, `(K, V)` for the
/// records of an earlier step. A new mapper is cloned for every task.
///
/// ```
/// use mr_core::{Emitter, JobError, Mapper};
/// #[derive(Clone)]
/// struct Lengths;
/// impl Mapper for Lengths {
///     type Input<'a> = &'a str;
///     type Key = String;
///     type Value = u64;
///     fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
///         out.emit("chars", line.chars().count() as u64)
///     }
/// }
/// ```
pub trait Mapper: Clone + Send + Sync + 'static {
    /// How a line is decoded for [`map`](Self::map).
    type Input<'a>: FromLine<'a>;
    /// The output key type.
    type Key: Serialize + DeserializeOwned + Send + 'static;
    /// The output value type.
    type Value: Serialize + DeserializeOwned + Send + 'static;

    /// Called once per task before the first record (mrjob's `mapper_init`).
    fn init(&mut self, _ctx: &TaskContext) -> Result<(), JobError> {
        Ok(())
    }

    /// Called for each input record.
    fn map(
        &mut self,
        input: Self::Input<'_>,
        out: &mut Emitter<Self::Key, Self::Value>,
    ) -> Result<(), JobError>;

    /// Called once per task after the last record (mrjob's `mapper_final`).
    fn finish(&mut self, _out: &mut Emitter<Self::Key, Self::Value>) -> Result<(), JobError> {
        Ok(())
    }
}

/// Receives one key and a stream of its values; emits zero or more records.
/// Used both as a reducer and as a combiner.
///
/// The values are decoded one at a time as the reducer pulls them: they are
/// never collected in memory by the engine.
///
/// ```
/// use mr_core::{Emitter, JobError, Reducer, Values};
/// #[derive(Clone)]
/// struct Sum;
/// impl Reducer for Sum {
///     type Key = String;
///     type Value = u64;
///     type OutKey = String;
///     type OutValue = u64;
///     fn reduce(&mut self, key: String, values: Values<u64>, out: &mut Emitter<String, u64>)
///         -> Result<(), JobError> {
///         out.emit(&key, values.sum())
///     }
/// }
/// ```
pub trait Reducer: Clone + Send + Sync + 'static {
    /// The input key type (the mapper's output key).
    type Key: DeserializeOwned + Send + 'static;
    /// The input value type (the mapper's output value).
    type Value: DeserializeOwned + Send + 'static;
    /// The output key type.
    type OutKey: Serialize + Send + 'static;
    /// The output value type.
    type OutValue: Serialize + Send + 'static;

    /// Called once per task before the first key.
    fn init(&mut self, _ctx: &TaskContext) -> Result<(), JobError> {
        Ok(())
    }

    /// Called once per key with all of its values.
    fn reduce(
        &mut self,
        key: Self::Key,
        values: Values<'_, Self::Value>,
        out: &mut Emitter<Self::OutKey, Self::OutValue>,
    ) -> Result<(), JobError>;

    /// Called once per task after the last key.
    fn finish(&mut self, _out: &mut Emitter<Self::OutKey, Self::OutValue>) -> Result<(), JobError> {
        Ok(())
    }
}

/// The type of a column of a job's output in a table (see [`Job::columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `true` / `false`.
    Bool,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
    /// A UTF-8 string.
    Str,
    /// A point in time: in the job's records an integer of milliseconds
    /// since the Unix epoch (UTC); in Parquet a `TIMESTAMP` of
    /// milliseconds, adjusted to UTC, so that DuckDB, pandas, Polars and
    /// Spark read it as a time (`WHERE time >= '2013-10-03'`).
    Timestamp,
}

/// A job: a name, a one-line description and its steps.
///
/// ```
/// use mr_core::{Job, Step};
/// # use mr_core::{Emitter, JobError, Mapper};
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = String; type Value = u64;
/// #   fn map(&mut self, _l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit("lines", 1) } }
/// struct CountLines;
/// impl Job for CountLines {
///     fn name(&self) -> &str { "count_lines" }
///     fn description(&self) -> &str { "Counts input lines." }
///     fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).into()] }
/// }
/// assert_eq!(CountLines.steps().len(), 1);
/// ```
pub trait Job: Send + Sync + 'static {
    /// The name used on the command line (`mr run NAME`).
    fn name(&self) -> &str;
    /// One line for `mr jobs`.
    fn description(&self) -> &str;
    /// The steps, run in order; each step's output is the next one's input.
    /// With the options' defaults, for a job whose steps depend on its
    /// options (see [`Job::steps_for`]): what `mr run JOB --help` shows
    /// and `mr check` checks.
    fn steps(&self) -> Vec<Step>;

    /// The steps for a run's options (mrjob's `steps()`, which may read
    /// `self.options`): a job whose steps depend on an option (PageRank's
    /// `--iterations 3`: `[MRStep(...)] * n`) overrides this, which every
    /// runner asks with the run's options (a Hadoop or Spark task with the
    /// options given to it, so all agree). Default: [`Job::steps`].
    ///
    /// ```
    /// use mr_core::{Job, JobOption, JobParams, Step};
    /// # #[derive(Clone)] struct Same;
    /// # impl mr_core::Mapper for Same { type Input<'a> = &'a str; type Key = String; type Value = u64;
    /// #   fn map(&mut self, l: &str, out: &mut mr_core::Emitter<String, u64>) -> Result<(), mr_core::JobError> { out.emit(l, 1) } }
    /// struct Rank;
    /// impl Rank {
    ///     fn iterate(&self, n: usize) -> Vec<Step> { (0..n).map(|_| Step::map(Same).into()).collect() }
    /// }
    /// impl Job for Rank {
    ///     fn name(&self) -> &str { "rank" }
    ///     fn description(&self) -> &str { "" }
    ///     fn options(&self) -> Vec<JobOption> { vec![JobOption::uint("iterations").default("1")] }
    ///     fn steps(&self) -> Vec<Step> { self.iterate(1) }
    ///     fn steps_for(&self, params: &JobParams) -> Vec<Step> {
    ///         self.iterate(params.options.get("iterations").and_then(|n| n.parse().ok()).unwrap_or(1))
    ///     }
    /// }
    /// let three = JobParams::defaults(&Rank).with_option("iterations", "3");
    /// assert_eq!(Rank.steps_for(&three).len(), 3);
    /// assert_eq!(Rank.steps_for(&JobParams::defaults(&Rank)).len(), 1);
    /// ```
    fn steps_for(&self, params: &JobParams) -> Vec<Step> {
        let _ = params;
        self.steps()
    }
    /// The fields the first step reads, when the job can say: a table input
    /// (Parquet) then reads only these columns. `None` (the default) reads all.
    fn input_columns(&self) -> Option<Vec<String>> {
        None
    }
    /// Fields of the last step's output objects whose strings become
    /// consistent integer ids, with their dictionaries written beside the
    /// output (see [`crate::categorical`]). Empty (the default) for none.
    fn categorical_columns(&self) -> Vec<String> {
        Vec::new()
    }
    /// The columns every record of the final output has, in order, with
    /// their types, when the job can say. A table output (Parquet) starts
    /// with them, typed so whatever a run sees: a column null in every
    /// record of one day's run, or a day without records, gives the same
    /// schema as any other day (and an empty run still writes a table).
    /// Other fields are typed from the records. Categorical columns are ids
    /// (integers) in a table, whatever is said here. Empty (the default):
    /// all typed from the records.
    ///
    /// ```
    /// use mr_core::{ColumnType, Job, Step};
    /// struct Visits;
    /// impl Job for Visits {
    ///     fn name(&self) -> &str { "visits" }
    ///     fn description(&self) -> &str { "" }
    ///     fn steps(&self) -> Vec<Step> { Vec::new() }
    ///     fn columns(&self) -> Vec<(String, ColumnType)> {
    ///         vec![("user".into(), ColumnType::Str), ("seconds".into(), ColumnType::Float)]
    ///     }
    /// }
    /// assert_eq!(Visits.column_type("seconds"), Some(ColumnType::Float));
    /// assert_eq!(Visits.column_type("other"), None);
    /// ```
    fn columns(&self) -> Vec<(String, ColumnType)> {
        Vec::new()
    }
    /// The type of a column of the final output that a run saw only nulls
    /// in (or `None`: a string), for a job whose columns are open-ended
    /// but typed by name. The default looks `name` up in [`Job::columns`].
    fn column_type(&self, name: &str) -> Option<ColumnType> {
        self.columns()
            .into_iter()
            .find_map(|(n, t)| (n == name).then_some(t))
    }

    /// The job's own command-line options (mrjob's `configure_args`):
    /// `mr run JOB --help` lists them, `mr run JOB --NAME VALUE` sets them,
    /// and tasks read them with [`TaskContext::option`]. None by default.
    ///
    /// ```
    /// use mr_core::{Job, JobOption, Step};
    /// struct Grep;
    /// impl Job for Grep {
    ///     fn name(&self) -> &str { "grep" }
    ///     fn description(&self) -> &str { "Lines matching an expression." }
    ///     fn steps(&self) -> Vec<Step> { vec![] }
    ///     fn options(&self) -> Vec<JobOption> {
    ///         vec![JobOption::string("expression").short('e').required().help("What to match.")]
    ///     }
    /// }
    /// assert_eq!(Grep.options()[0].name, "expression");
    /// ```
    fn options(&self) -> Vec<JobOption> {
        Vec::new()
    }

    /// The job's own Hadoop settings (mrjob's `JOBCONF`): passed to every
    /// step on Hadoop and Spark, read by tasks with
    /// [`TaskContext::jobconf`], and `mapreduce.job.reduces` sets the
    /// number of reducers in every runner. The user's `-D KEY=VALUE`
    /// overrides each. None by default.
    ///
    /// ```
    /// use mr_core::{Job, Step};
    /// struct Ranked;
    /// impl Job for Ranked {
    ///     fn name(&self) -> &str { "ranked" }
    ///     fn description(&self) -> &str { "One sorted output file." }
    ///     fn steps(&self) -> Vec<Step> { vec![] }
    ///     fn jobconf(&self) -> Vec<(String, String)> {
    ///         vec![("mapreduce.job.reduces".into(), "1".into())]
    ///     }
    /// }
    /// assert_eq!(Ranked.jobconf()[0].1, "1");
    /// ```
    fn jobconf(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// How the last step's records are written (mrjob's `OUTPUT_PROTOCOL`);
    /// `--output-protocol` overrides it. JSON key and value by default.
    fn output_protocol(&self) -> crate::output::protocol::OutputProtocol {
        crate::output::protocol::OutputProtocol::Json
    }

    /// More about the job for `mr run JOB --help`: what it computes, what
    /// the input must look like. Default: nothing beyond the description.
    fn long_description(&self) -> &str {
        ""
    }

    /// The job's own counters (what [`Emitter::count`](crate::Emitter::count)
    /// bumps), listed with their meaning in `mr run JOB --help`.
    /// Default: none declared.
    fn counters(&self) -> Vec<CounterDoc> {
        Vec::new()
    }

    /// The input the first step reads, in words. Default: from the first
    /// mapper's input type ([`FromLine::format`]).
    fn input_format(&self) -> String {
        self.steps()
            .first()
            .map(|s| s.describe().input.clone())
            .unwrap_or_default()
    }

    /// The output the last step writes, in words. Default: JSON-encoded
    /// `KEY<TAB>VALUE` lines of the last step's output types.
    fn output_format(&self) -> String {
        use crate::output::protocol::OutputProtocol;
        match self.steps().last() {
            Some(s) => {
                let d = s.describe();
                match self.output_protocol() {
                    OutputProtocol::Json => format!(
                        "KEY<TAB>VALUE lines, both JSON: ({}, {})",
                        d.out_key, d.out_value
                    ),
                    OutputProtocol::JsonValue => format!("VALUE lines, JSON: {}", d.out_value),
                    OutputProtocol::RawValue => format!("VALUE lines, as text: {}", d.out_value),
                    OutputProtocol::Text => format!(
                        "KEY<TAB>VALUE lines, as text: ({}, {})",
                        d.out_key, d.out_value
                    ),
                }
            }
            None => String::new(),
        }
    }
}

/// One counter a job declares: its group, its name and what it counts.
///
/// ```
/// use mr_core::job::CounterDoc;
/// let c = CounterDoc::new("url_views", "no page_url", "events without a string page_url");
/// assert_eq!(c.name, "no page_url");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterDoc {
    /// The counter's group (often the job's name).
    pub group: String,
    /// The counter's name.
    pub name: String,
    /// What it counts.
    pub help: String,
}

impl CounterDoc {
    /// A counter's documentation.
    pub fn new(group: &str, name: &str, help: &str) -> CounterDoc {
        CounterDoc {
            group: group.into(),
            name: name.into(),
            help: help.into(),
        }
    }
}

/// What a step is made of, by type, for help pages and reports: see
/// [`Step::describe`]. Type names are shortened (`String`, `Json<Event>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepInfo {
    /// The mapper's type.
    pub mapper: String,
    /// The mapper's input, in words ([`FromLine::format`]).
    pub input: String,
    /// The mapper's output key type.
    pub key: String,
    /// The mapper's output value type.
    pub value: String,
    /// The combiner's type, if any.
    pub combiner: Option<String>,
    /// The reducer's type, if any (map-only steps have none).
    pub reducer: Option<String>,
    /// The fold's type, for steps built with [`TypedStep::fold`].
    pub fold: Option<String>,
    /// Whether the reducer gets each key's values sorted.
    pub sort_values: bool,
    /// Whether the mapper reads whole files, one a task
    /// ([`WholeFile`](crate::input::whole_file::WholeFile)).
    pub whole_files: bool,
    /// The step's output key type.
    pub out_key: String,
    /// The step's output value type.
    pub out_value: String,
}

impl std::fmt::Display for StepInfo {
    /// One line: `mapper Lines (text lines) -> (String, u64) | combiner Sum | reducer Sum -> (String, u64)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "mapper {} ({}) -> ({}, {})",
            self.mapper, self.input, self.key, self.value
        )?;
        if let Some(fold) = &self.fold {
            write!(f, " | fold {fold} (combined in the map task's table)")?;
        } else {
            if let Some(c) = &self.combiner {
                write!(f, " | combiner {c}")?;
            }
            if let Some(r) = &self.reducer {
                write!(f, " | reducer {r}")?;
                if self.sort_values {
                    write!(f, " (values sorted)")?;
                }
            }
        }
        if self.reducer.is_none() {
            write!(f, " | map-only")?;
        }
        write!(f, " -> ({}, {})", self.out_key, self.out_value)
    }
}

/// A type's name without module paths: `alloc::string::String` is
/// `String`, `mr_core::protocol::Json<jobs::Event<'_>>` is `Json<Event<'_>>`.
///
/// ```
/// assert_eq!(mr_core::job::short_type_name::<Vec<String>>(), "Vec<String>");
/// assert_eq!(mr_core::job::short_type_name::<(u64, Option<f64>)>(), "(u64, Option<f64>)");
/// ```
pub fn short_type_name<T: ?Sized>() -> String {
    shorten_type_path(std::any::type_name::<T>())
}

fn shorten_type_path(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(word.rsplit("::").next().unwrap_or(word));
        word.clear();
    };
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    // Elided lifetimes say nothing to a reader.
    out.replace("<'_>", "").replace("'_, ", "")
}

/// One map/combine/reduce step, with its types erased so that a job's steps
/// can sit in one `Vec`. Build one with [`Step::map`].
#[derive(Clone)]
pub struct Step {
    pub(crate) mapper: Arc<dyn MapFactory>,
    pub(crate) combiner: Option<Arc<dyn ReduceFactory>>,
    pub(crate) reducer: Option<Arc<dyn ReduceFactory>>,
    pub(crate) sort_values: bool,
    /// Built by [`TypedStep::fold`]: the mapper aggregates into a table.
    pub(crate) folds: bool,
    /// A fold step's own law, for [`crate::laws`] (see [`FoldLaw`]).
    pub(crate) fold_law: Option<FoldLaw>,
    /// Its parts by type, for [`Step::describe`].
    pub(crate) info: Arc<StepInfo>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step")
            .field("combiner", &self.combiner.is_some())
            .field("reducer", &self.reducer.is_some())
            .field("sort_values", &self.sort_values)
            .finish()
    }
}

impl Step {
    /// Starts a step with its mapper; add a combiner and a reducer to it.
    pub fn map<M: Mapper>(mapper: M) -> TypedStep<M::Key, M::Value> {
        TypedStep {
            foldable: Arc::new(TypedMapper(mapper.clone())),
            step: Step {
                mapper: Arc::new(TypedMapper(mapper)),
                combiner: None,
                reducer: None,
                sort_values: false,
                folds: false,
                fold_law: None,
                info: Arc::new(StepInfo {
                    mapper: short_type_name::<M>(),
                    input: <M::Input<'static> as FromLine<'static>>::format(),
                    whole_files: <M::Input<'static> as FromLine<'static>>::WHOLE_FILES,
                    key: short_type_name::<M::Key>(),
                    value: short_type_name::<M::Value>(),
                    out_key: short_type_name::<M::Key>(),
                    out_value: short_type_name::<M::Value>(),
                    ..StepInfo::default()
                }),
            },
            _types: PhantomData,
        }
    }

    /// What the step is made of, by type: for `mr run JOB --help`.
    ///
    /// ```
    /// use mr_core::{fold::Count, Step};
    /// # use mr_core::{Emitter, JobError, Mapper};
    /// # #[derive(Clone)] struct Words;
    /// # impl Mapper for Words { type Input<'a> = &'a str; type Key = String; type Value = u64;
    /// #   fn map(&mut self, l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(l, 1) } }
    /// let step = Step::map(Words).fold(Count::new());
    /// let d = step.describe();
    /// assert_eq!((d.mapper.as_str(), d.key.as_str()), ("Words", "String"));
    /// assert!(d.fold.as_deref().unwrap().starts_with("Count"));
    /// ```
    pub fn describe(&self) -> &StepInfo {
        &self.info
    }

    /// True when the step has a combiner.
    pub fn has_combiner(&self) -> bool {
        self.combiner.is_some()
    }

    /// True when the step has a reducer (otherwise it is map-only).
    pub fn has_reducer(&self) -> bool {
        self.reducer.is_some()
    }

    /// True when the step sorts each key's values (secondary sort).
    pub fn sorts_values(&self) -> bool {
        self.sort_values
    }

    /// True when the step's mapper reads whole files, one a task (its input
    /// is [`WholeFile`](crate::input::whole_file::WholeFile), mrjob's
    /// `mapper_raw`). Only a job's first step can: later steps read records.
    pub fn reads_whole_files(&self) -> bool {
        self.info.whole_files
    }

    // Job code runs under `panics::catch` from here on: make sure the hook
    // that keeps caught panics quiet is there.
    pub(crate) fn new_mapper(&self) -> Box<dyn MapFn> {
        crate::panics::install_hook();
        self.mapper.create()
    }

    /// [`Step::new_mapper`], folding into `table`, carried from an earlier
    /// map task of this step; `Err(table)` if the step's mapper has none.
    pub(crate) fn new_mapper_carrying(
        &self,
        table: Box<dyn CarriedTable>,
    ) -> Result<Box<dyn MapFn>, Box<dyn CarriedTable>> {
        crate::panics::install_hook();
        self.mapper.create_carrying(table)
    }

    pub(crate) fn new_combiner(&self) -> Option<Box<dyn ReduceFn>> {
        crate::panics::install_hook();
        self.combiner.as_ref().map(|c| c.create())
    }

    pub(crate) fn new_reducer(&self) -> Option<Box<dyn ReduceFn>> {
        crate::panics::install_hook();
        self.reducer.as_ref().map(|c| c.create())
    }
}

/// `job.steps_for(params)`, a panic in it (job code, as mrjob's `steps()`
/// reading options) an error naming it: it was a raw `thread 'main'
/// panicked`, exit 101 (probe /tmp/probe11-jobs repro 08).
///
/// ```
/// use mr_core::{Job, JobParams, Step};
/// struct Broken;
/// impl Job for Broken {
///     fn name(&self) -> &str { "broken" }
///     fn description(&self) -> &str { "" }
///     fn steps(&self) -> Vec<Step> { panic!("no steps today") }
/// }
/// let e = mr_core::job::steps_of(&Broken, &JobParams::default()).unwrap_err();
/// assert!(e.to_string().contains("no steps today"), "{e}");
/// ```
pub fn steps_of(job: &dyn Job, params: &crate::JobParams) -> crate::Result<Vec<Step>> {
    crate::panics::install_hook();
    catch(|| job.steps_for(params)).map_err(|p| crate::Error::Hook {
        hook: format!("job {} steps", job.name()),
        reason: p.to_string(),
    })
}

/// Refuses steps where one after the first reads whole files
/// ([`Step::reads_whole_files`]): a later step reads the records of the
/// step before, as mrjob allows `mapper_raw` in a first step only. Every
/// runner checks this before it starts.
pub fn check_whole_files(job: &str, steps: &[Step]) -> crate::Result<()> {
    match steps.iter().skip(1).position(Step::reads_whole_files) {
        Some(i) => Err(crate::Error::Config(format!(
            "step {} of job {job} reads whole files, but only a job's first step can: \
             a later step reads the records of the step before",
            i + 1
        ))),
        None => Ok(()),
    }
}

/// A step under construction, typed by its mapper's output so the compiler
/// checks the combiner and reducer against it.
pub struct TypedStep<K, V> {
    step: Step,
    /// The mapper with its types, for [`TypedStep::fold`].
    foldable: Arc<dyn crate::fold::FoldableMapper<K, V>>,
    _types: PhantomData<fn(K, V)>,
}

impl<K: 'static, V: 'static> TypedStep<K, V> {
    /// Adds a combiner: it takes and gives the mapper's output types, and may
    /// run any number of times (see the module docs for its laws).
    pub fn combine<C>(mut self, combiner: C) -> Self
    where
        C: Reducer<Key = K, Value = V, OutKey = K, OutValue = V>,
    {
        self.step.combiner = Some(Arc::new(TypedReducer(combiner)));
        Arc::make_mut(&mut self.step.info).combiner = Some(short_type_name::<C>());
        self
    }

    /// Adds the reducer, which finishes the step.
    pub fn reduce<R>(mut self, reducer: R) -> Step
    where
        R: Reducer<Key = K, Value = V>,
    {
        self.step.reducer = Some(Arc::new(TypedReducer(reducer)));
        let info = Arc::make_mut(&mut self.step.info);
        info.reducer = Some(short_type_name::<R>());
        info.out_key = short_type_name::<R::OutKey>();
        info.out_value = short_type_name::<R::OutValue>();
        self.step
    }

    /// Finishes the step with a [`Fold`](crate::Fold): each map task folds
    /// values into one accumulator per key in a hash table (under its share of
    /// the sort buffer), accumulators are merged by the combiner and by the
    /// reducer, which emits `finish(key, acc)`. The fast path for counting
    /// jobs: `Step::map(m).fold(Count::new())`.
    pub fn fold<F>(self, fold: F) -> Step
    where
        F: crate::Fold<Key = K, Value = V>,
    {
        let mut step = self.step;
        step.fold_law = Some(FoldLaw::of(step.mapper.clone(), fold.clone()));
        step.mapper = Arc::new(FoldMapper {
            mapper: self.foldable,
            fold: fold.clone(),
        });
        step.combiner = Some(Arc::new(TypedReducer(crate::fold::MergeAccs(fold.clone()))));
        step.reducer = Some(Arc::new(TypedReducer(crate::fold::FinishAccs(fold))));
        step.sort_values = false;
        step.folds = true;
        let info = Arc::make_mut(&mut step.info);
        let name = short_type_name::<F>();
        info.combiner = Some(name.clone());
        info.reducer = Some(name.clone());
        info.fold = Some(name);
        info.out_key = short_type_name::<F::Key>();
        info.out_value = short_type_name::<F::Out>();
        step
    }

    /// Delivers each key's values to the reducer sorted by value (numbers by
    /// value, strings by bytes, arrays element-wise), like mrjob's
    /// `SORT_VALUES`, without the reducer holding them in memory.
    pub fn sort_values(mut self) -> Self {
        self.step.sort_values = true;
        Arc::make_mut(&mut self.step.info).sort_values = true;
        self
    }
}

impl<K, V> From<TypedStep<K, V>> for Step {
    /// A map-only step: no sort, output in input order, one part per split.
    fn from(t: TypedStep<K, V>) -> Step {
        t.step
    }
}

/// A mapper that passes `(key, value)` records through: the mapper of a
/// reducer-only step.
pub struct IdentityMapper<K, V>(PhantomData<fn(K, V)>);

impl<K, V> IdentityMapper<K, V> {
    /// The identity mapper.
    pub fn new() -> Self {
        IdentityMapper(PhantomData)
    }
}

impl<K, V> Default for IdentityMapper<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Clone for IdentityMapper<K, V> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<K, V> Mapper for IdentityMapper<K, V>
where
    K: Serialize + DeserializeOwned + Send + 'static,
    V: Serialize + DeserializeOwned + Send + 'static,
{
    type Input<'a> = (K, V);
    type Key = K;
    type Value = V;
    fn map(&mut self, (k, v): (K, V), out: &mut Emitter<K, V>) -> Result<(), JobError> {
        out.emit(&k, v)
    }
}

// ---------------------------------------------------------------------------
// Type erasure: the engine drives steps through these object-safe traits,
// which work on encoded bytes.

/// Why one record failed.
#[derive(Debug)]
pub(crate) enum RecordError {
    /// The input could not be decoded into the job's type.
    Decode(String),
    /// The job's code returned an error for this record.
    Job(String),
    /// Writing the output failed: never skippable.
    Fatal(crate::Error),
    /// The record's failure, which cannot be skipped: it fails the run,
    /// naming the record, under every policy.
    Unskippable(String),
}

impl RecordError {
    /// This error from a hook (init or final): a fatal error stays as it is;
    /// the job's message names the hook.
    pub(crate) fn in_hook(self, hook: impl Into<String>) -> crate::Error {
        match self {
            RecordError::Fatal(e) => e,
            RecordError::Decode(reason)
            | RecordError::Job(reason)
            | RecordError::Unskippable(reason) => crate::Error::Hook {
                hook: hook.into(),
                reason,
            },
        }
    }

    /// The reason with `note` added (a failed call's output that could not
    /// be held back).
    pub(crate) fn noted(self, note: &str) -> RecordError {
        match self {
            RecordError::Decode(r) => RecordError::Decode(format!("{r}; {note}")),
            RecordError::Job(r) => RecordError::Job(format!("{r}; {note}")),
            fatal => fatal,
        }
    }

    /// A panic caught in job code. It is the record's error (`job
    /// panicked: ...`), unless the emitter's sink had failed first (a job
    /// that `unwrap`s a failed `emit`: the sink's error is the cause) or the
    /// panic is in mr's own code (a bug, never skipped).
    pub(crate) fn from_panic(p: Panicked, bufs: &mut EmitBuffers) -> RecordError {
        if let Some(fatal) = bufs.fatal.take() {
            return RecordError::Fatal(fatal);
        }
        if p.internal {
            return RecordError::Fatal(crate::Error::Internal(p.to_string()));
        }
        RecordError::Job(p.to_string())
    }
}

/// Runs an init hook, a panic in it becoming its error.
pub(crate) fn guarded_init(f: impl FnOnce() -> Result<(), JobError>) -> Result<(), JobError> {
    catch(f).unwrap_or_else(|p| Err(JobError::msg(p)))
}

pub(crate) trait MapFactory: Send + Sync {
    fn create(&self) -> Box<dyn MapFn>;
    /// A mapper folding into `table`, carried from an earlier map task of
    /// the step; `Err(table)` when this mapper has no such table.
    fn create_carrying(
        &self,
        table: Box<dyn CarriedTable>,
    ) -> Result<Box<dyn MapFn>, Box<dyn CarriedTable>> {
        Err(table)
    }
}

pub(crate) trait MapFn: Send {
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError>;
    /// Memory the mapper may keep for map-side aggregation (fold steps).
    fn set_budget(&mut self, _bytes: usize) {}
    /// From now on, a call's output goes on only once the call succeeded
    /// (`--skip-bad-records`: a skipped line leaves nothing behind; see
    /// [`crate::staged`]).
    fn hold_back_output(&mut self);
    /// Maps one line; returns false when the line held no record (blank).
    fn map_line(
        &mut self,
        line: &[u8],
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<bool, RecordError>;
    fn finish(
        &mut self,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError>;
    /// Records combined inside the mapper (fold steps): `(in, out)`.
    fn combined(&self) -> (u64, u64) {
        (0, 0)
    }
    /// Asks `finish` to leave the mapper's fold table, if it has one,
    /// unflushed, to be taken with [`MapFn::into_table`], when carrying it
    /// on pays.
    fn keep_table(&mut self) {}
    /// The mapper's fold table, if `finish` left it unflushed.
    fn into_table(self: Box<Self>) -> Option<Box<dyn CarriedTable>> {
        None
    }
}

/// A lending stream of encoded values for one key.
pub(crate) trait ValueStream {
    fn next_value(&mut self) -> Result<Option<&[u8]>, crate::Error>;
}

pub(crate) trait ReduceFactory: Send + Sync {
    fn create(&self) -> Box<dyn ReduceFn>;
}

pub(crate) trait ReduceFn: Send {
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError>;
    fn reduce(
        &mut self,
        key: &[u8],
        values: &mut dyn ValueStream,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError>;
    /// Reduces one key, leaving out values that cannot be decoded (and all
    /// values of a key that cannot be): they are pushed onto `skipped` with
    /// the reason, and the rest of the group is reduced.
    fn reduce_skipping(
        &mut self,
        key: &[u8],
        values: &mut dyn ValueStream,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
        skipped: &mut Vec<(Vec<u8>, String)>,
    ) -> Result<(), RecordError>;
    fn finish(
        &mut self,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError>;
}

/// What [`crate::laws`] needs of a fold step to check that its fold's
/// `merge` agrees with its `accumulate` ([`crate::laws::Law::FoldMerge`]),
/// which the step laws cannot see (they get accumulators): the step's
/// mapper before the fold, whose output is the values folded in, and
/// [`crate::laws::check_fold`] for the fold's own types.
#[derive(Clone)]
pub(crate) struct FoldLaw {
    /// The mapper as it was given to [`Step::map`], emitting values.
    pub(crate) unfolded: Arc<dyn MapFactory>,
    /// `check_fold` on one key and its values, as the mapper encoded them.
    check: Arc<FoldCheck>,
}

/// [`crate::laws::check_fold`] on an encoded key and values.
type FoldCheck = dyn Fn(&[u8], &[Vec<u8>]) -> Result<(), String> + Send + Sync;

impl FoldLaw {
    fn of<F: crate::Fold>(unfolded: Arc<dyn MapFactory>, fold: F) -> FoldLaw {
        let check = move |key: &[u8], values: &[Vec<u8>]| {
            let key: F::Key = serde_json::from_slice(key).map_err(|e| {
                format!(
                    "the key does not decode as the fold's key ({}): {e}",
                    short_type_name::<F::Key>()
                )
            })?;
            let values = values
                .iter()
                .map(|v| serde_json::from_slice::<F::Value>(v))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    format!(
                        "a value does not decode as the fold's value ({}): {e}",
                        short_type_name::<F::Value>()
                    )
                })?;
            crate::laws::check_fold(&fold, &key, values)
        };
        FoldLaw {
            unfolded,
            check: Arc::new(check),
        }
    }

    /// Checks the law on one key's values (encoded as the mapper emitted
    /// them): `Err` says how the outputs differ.
    pub(crate) fn check(&self, key: &[u8], values: &[Vec<u8>]) -> Result<(), String> {
        (self.check)(key, values)
    }

    /// `step` with the mapper it had before the fold: one that emits the
    /// values the fold would have folded.
    pub(crate) fn unfolded_step(&self, step: &Step) -> Step {
        Step {
            mapper: self.unfolded.clone(),
            folds: false,
            fold_law: None,
            ..step.clone()
        }
    }
}

struct FoldMapper<F: crate::Fold> {
    mapper: Arc<dyn crate::fold::FoldableMapper<F::Key, F::Value>>,
    fold: F,
}

impl<F: crate::Fold> MapFactory for FoldMapper<F> {
    fn create(&self) -> Box<dyn MapFn> {
        self.mapper
            .create_folding(Box::new(crate::fold::AccTable::new(self.fold.clone())))
    }

    fn create_carrying(
        &self,
        table: Box<dyn CarriedTable>,
    ) -> Result<Box<dyn MapFn>, Box<dyn CarriedTable>> {
        if !table.as_any().is::<crate::fold::AccTable<F>>() {
            return Err(table);
        }
        match table.into_any().downcast::<crate::fold::AccTable<F>>() {
            Ok(table) => Ok(self.mapper.create_folding(table)),
            // Told apart above. Never a table dropped unflushed.
            Err(_) => unreachable!("a fold table changed type"),
        }
    }
}

pub(crate) struct TypedMapper<M>(pub M);

impl<M: Mapper> crate::fold::FoldableMapper<M::Key, M::Value> for TypedMapper<M> {
    fn create_folding(&self, table: Box<dyn crate::fold::FoldTable<M::Value>>) -> Box<dyn MapFn> {
        Box::new(crate::fold::FoldMapFn::new(self.0.clone(), table))
    }
}

impl<M: Mapper> MapFactory for TypedMapper<M> {
    fn create(&self) -> Box<dyn MapFn> {
        Box::new(MapAdapter {
            mapper: self.0.clone(),
            bufs: EmitBuffers::default(),
            staged: None,
        })
    }
}

struct MapAdapter<M> {
    mapper: M,
    bufs: EmitBuffers,
    /// Set under `--skip-bad-records`: each call's output, until it succeeds.
    staged: Option<crate::staged::Staged<()>>,
}

/// Maps one line into `sink`: false for a line with no record.
fn map_into<M: Mapper>(
    mapper: &mut M,
    bufs: &mut EmitBuffers,
    line: &[u8],
    sink: &mut dyn RecordSink,
    counters: &mut Counters,
) -> Result<bool, RecordError> {
    catch(|| {
        let Some(input) = decode_input::<M>(line)? else {
            return Ok(false);
        };
        let mut out = Emitter::new(sink, counters, bufs);
        let r = mapper.map(input, &mut out);
        job_result(r, bufs).map(|()| true)
    })
    .unwrap_or_else(|p| Err(RecordError::from_panic(p, bufs)))
}

/// Decodes a line into a mapper's input; `None` for a line with no record.
pub(crate) fn decode_input<M: Mapper>(line: &[u8]) -> Result<Option<M::Input<'_>>, RecordError> {
    <M::Input<'_> as FromLine<'_>>::from_line(line).map_err(|e| RecordError::Decode(e.0))
}

pub(crate) fn job_result(
    r: Result<(), JobError>,
    bufs: &mut EmitBuffers,
) -> Result<(), RecordError> {
    if let Some(fatal) = bufs.fatal.take() {
        return Err(RecordError::Fatal(fatal));
    }
    r.map_err(|e| RecordError::Job(e.to_string()))
}

impl<M: Mapper> MapFn for MapAdapter<M> {
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        guarded_init(|| self.mapper.init(ctx))
    }

    fn hold_back_output(&mut self) {
        self.staged.get_or_insert_with(Default::default);
    }

    fn map_line(
        &mut self,
        line: &[u8],
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<bool, RecordError> {
        let Some(staged) = self.staged.as_mut() else {
            return map_into(&mut self.mapper, &mut self.bufs, line, sink, counters);
        };
        let mut held = Holding::new(staged, Next::Sink(sink));
        let r = map_into(&mut self.mapper, &mut self.bufs, line, &mut held, counters);
        crate::staged::settle(held, r)
    }

    fn finish(
        &mut self,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError> {
        catch(|| {
            let mut out = Emitter::new(sink, counters, &mut self.bufs);
            let r = self.mapper.finish(&mut out);
            job_result(r, &mut self.bufs)
        })
        .unwrap_or_else(|p| Err(RecordError::from_panic(p, &mut self.bufs)))
    }
}

struct TypedReducer<R>(R);

impl<R: Reducer> ReduceFactory for TypedReducer<R> {
    fn create(&self) -> Box<dyn ReduceFn> {
        Box::new(ReduceAdapter {
            reducer: self.0.clone(),
            bufs: EmitBuffers::default(),
        })
    }
}

struct ReduceAdapter<R> {
    reducer: R,
    bufs: EmitBuffers,
}

/// What went wrong while a reducer pulled its values.
enum ValuesError {
    Decode(String),
    Fatal(crate::Error),
}

/// A key's values, decoded one at a time as the reducer pulls them.
///
/// It is an ordinary iterator (`values.sum()`, `for v in values`). A value
/// that cannot be decoded ends the iteration, and the engine then reports the
/// key as a bad record.
pub struct Values<'a, V> {
    src: &'a mut dyn ValueStream,
    error: &'a mut Option<ValuesError>,
    skipped: Option<&'a mut Vec<(Vec<u8>, String)>>,
    /// A value read before the reducer was called (see
    /// `ReduceAdapter::reduce_inner`), given first.
    first: Option<V>,
    _type: PhantomData<fn() -> V>,
}

impl<V: DeserializeOwned> Iterator for Values<'_, V> {
    type Item = V;
    fn next(&mut self) -> Option<V> {
        if let Some(v) = self.first.take() {
            return Some(v);
        }
        if self.error.is_some() {
            return None;
        }
        loop {
            match self.src.next_value() {
                Ok(Some(bytes)) => match from_json(bytes, |e| {
                    format!(
                        "invalid value {}: {e}{}",
                        crate::error::snippet(bytes),
                        crate::protocol::null_value_hint(bytes)
                    )
                }) {
                    Ok(v) => return Some(v),
                    Err(DecodeError(reason)) => match self.skipped.as_deref_mut() {
                        Some(skipped) => skipped.push((bytes.to_vec(), reason)),
                        None => {
                            *self.error = Some(ValuesError::Decode(reason));
                            return None;
                        }
                    },
                },
                Ok(None) => return None,
                Err(e) => {
                    *self.error = Some(ValuesError::Fatal(e));
                    return None;
                }
            }
        }
    }
}

impl<R: Reducer> ReduceFn for ReduceAdapter<R> {
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        guarded_init(|| self.reducer.init(ctx))
    }

    fn reduce(
        &mut self,
        key: &[u8],
        values: &mut dyn ValueStream,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError> {
        self.reduce_inner(key, values, sink, counters, None)
    }

    fn reduce_skipping(
        &mut self,
        key: &[u8],
        values: &mut dyn ValueStream,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
        skipped: &mut Vec<(Vec<u8>, String)>,
    ) -> Result<(), RecordError> {
        self.reduce_inner(key, values, sink, counters, Some(skipped))
    }

    fn finish(
        &mut self,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError> {
        catch(|| {
            let mut out = Emitter::new(sink, counters, &mut self.bufs);
            let r = self.reducer.finish(&mut out);
            job_result(r, &mut self.bufs)
        })
        .unwrap_or_else(|p| Err(RecordError::from_panic(p, &mut self.bufs)))
    }
}

impl<R: Reducer> ReduceAdapter<R> {
    fn reduce_inner(
        &mut self,
        key: &[u8],
        values: &mut dyn ValueStream,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
        skipped: Option<&mut Vec<(Vec<u8>, String)>>,
    ) -> Result<(), RecordError> {
        let decoded = catch(|| from_json::<R::Key>(key, |e| format!("invalid key: {e}")))
            .map_err(|p| RecordError::from_panic(p, &mut self.bufs))?;
        let k: R::Key = match decoded {
            Ok(k) => k,
            Err(DecodeError(reason)) => {
                if let Some(skipped) = skipped {
                    // Keep every value of the key aside, with the reason.
                    while let Some(v) = values.next_value().map_err(RecordError::Fatal)? {
                        skipped.push((v.to_vec(), reason.clone()));
                    }
                    return Ok(());
                }
                return Err(RecordError::Decode(reason));
            }
        };
        let mut error = None;
        let mut vals = Values {
            src: values,
            error: &mut error,
            skipped,
            first: None,
            _type: PhantomData,
        };
        if vals.skipped.is_some() {
            // A key whose every value is skipped is not reduced, as if its
            // lines were not there: word_count wrote `"b" 0` for a key of
            // bad values alone, and a reducer that expects a value could
            // panic (probe /tmp/probe23-fuzz repro 04). Its first good
            // value is read here, and given first.
            let first =
                catch(|| vals.next()).map_err(|p| RecordError::from_panic(p, &mut self.bufs))?;
            match first {
                Some(v) => vals.first = Some(v),
                None if vals.error.is_none() => return Ok(()),
                None => {}
            }
        }
        let reducer = &mut self.reducer;
        let bufs = &mut self.bufs;
        let r = catch(|| {
            let mut out = Emitter::new(sink, counters, bufs);
            reducer.reduce(k, vals, &mut out)
        });
        let r = match (r, &mut error) {
            (Ok(r), _) => r,
            // The values failed under the reducer (a spill read error, an
            // interrupt), which then panicked on what it got: the values'
            // error is the cause.
            (Err(_), Some(ValuesError::Fatal(_))) => Ok(()),
            (Err(p), _) => return Err(RecordError::from_panic(p, &mut self.bufs)),
        };
        match error {
            Some(ValuesError::Fatal(e)) => return Err(RecordError::Fatal(e)),
            Some(ValuesError::Decode(m)) => {
                if let Some(fatal) = self.bufs.fatal.take() {
                    return Err(RecordError::Fatal(fatal));
                }
                return Err(RecordError::Decode(m));
            }
            None => {}
        }
        job_result(r, &mut self.bufs)
    }
}

/// A [`ValueStream`] over values held in memory (for tests and combining).
pub(crate) struct SliceValues<'a, I: Iterator<Item = &'a [u8]>>(pub I);

impl<'a, I: Iterator<Item = &'a [u8]>> ValueStream for SliceValues<'a, I> {
    fn next_value(&mut self) -> Result<Option<&[u8]>, crate::Error> {
        Ok(self.0.next())
    }
}
