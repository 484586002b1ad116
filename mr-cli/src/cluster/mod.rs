//! Cluster runners: the same job binary as a streaming program under the
//! engines that exist, with results identical to the local runner.
//!
//! | `mr run JOB -r ...` | what runs the tasks | module |
//! |---|---|---|
//! | `local` (default) | this process, on every core | `mr_core::runner::local` |
//! | `hadoop` | `hadoop jar hadoop-streaming.jar`, one Hadoop job a step | [`hadoop`] |
//! | `spark` | a PySpark driver piping partitions through the binary | [`spark`] |
//! | `emulate` (`mr emulate-hadoop`) | this machine, one process a task, as Hadoop Streaming would | [`emulate`] |
//!
//! Every cluster runner calls the binary in task mode
//! (`BINARY run JOB --step-num N --mapper|--combiner|--reducer`, see
//! `mr_core::runner::task`) and shuffles its records as Hadoop Streaming
//! does:
//!
//! - the **key** of a record is the bytes before its first tab, or before its
//!   second tab for a step that sorts values (`key TAB sortkey TAB value`);
//! - the **partition** is Hadoop's hash of the first field
//!   ([`hadoop_partition`]), so Hadoop, Spark and the emulator put every key
//!   in the same part file;
//! - each partition is **sorted by key bytes** (the order of `LC_ALL=C sort`)
//!   before the reducer sees it; the reducer groups equal keys itself.
//!
//! A run reports what the local runner reports (the summary on stderr and
//! `--report FILE`): the tasks' counters, summed by the engine, under the
//! local runner's names ([`step_counters`]).

pub mod emulate;
pub mod hadoop;
pub mod process;
pub mod spark;

use crate::args::RunArgs;
use mr_core::counters::FRAMEWORK;
use mr_core::error::printable_line;
use mr_core::input::listing::{Compression, InputSource};
use mr_core::runner::task::TaskRole;
use mr_core::{Counters, Job, JobReport};
use std::path::{Path, PathBuf};

/// Where `mr run` runs a job (`-r/--runner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Runner {
    /// In this process, on every core (the default).
    #[default]
    Local,
    /// In this process, one task after another in one thread, for a
    /// debugger (a panic in the job is reported as in any run: break on
    /// `rust_panic` to stop where it is raised).
    Inline,
    /// On a Hadoop cluster, through Hadoop Streaming (one Hadoop job a step).
    Hadoop,
    /// On Apache Spark (`--spark-master local[N]` or `spark://HOST:PORT`), through PySpark.
    Spark,
    /// On this machine as Hadoop Streaming would run it: one process a task,
    /// hash partitioning, byte-order sort, the combiner run 0..n times.
    Emulate,
}

/// What a cluster runner needs to know about one step of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPlan {
    /// The step has a combiner.
    pub combiner: bool,
    /// The step has a reducer (otherwise it is map-only).
    pub reducer: bool,
    /// The step sorts each key's values: its shuffled records are
    /// `key TAB sortkey TAB value` and sort on the first two fields.
    pub sort_values: bool,
    /// The step's mapper reads whole files, one a map task, off an input
    /// manifest (see [`mr_core::input::whole_file`]): the first step only.
    pub whole_files: bool,
}

impl StepPlan {
    /// How many leading tab-separated fields make the sort key: 2 for a
    /// secondary-sort step, 1 otherwise.
    pub fn key_fields(&self) -> usize {
        if self.sort_values && self.reducer {
            2
        } else {
            1
        }
    }
}

/// A job as the cluster runners see it: its name, the binary that runs its
/// tasks, and the shape of its steps.
#[derive(Debug, Clone)]
pub struct JobPlan {
    /// The job's name, as `mr run NAME` takes it.
    pub job: String,
    /// The binary that runs the tasks (this one, `std::env::current_exe()`).
    pub binary: PathBuf,
    /// The steps, in order.
    pub steps: Vec<StepPlan>,
    /// Pass `--skip-bad-records` to every task.
    pub skip_bad_records: bool,
    /// What the job is given besides its input: its options, files,
    /// environment, jobconf and output protocol.
    pub extras: JobExtras,
}

/// What a cluster runner forwards to every task besides the step and role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobExtras {
    /// The job's own options as task arguments (`--expression=VALUE`; a
    /// file option by the name its file is shipped under).
    pub job_args: Vec<String>,
    /// Files shipped into each task's working directory: the local path and
    /// the name there (Hadoop `-files PATH#NAME`, Spark `addFile`).
    pub files: Vec<(PathBuf, String)>,
    /// Environment variables for the tasks (`--cmdenv`).
    pub cmdenv: Vec<(String, String)>,
    /// The jobconf (`-D`): Hadoop gives it to tasks itself; the emulator and
    /// Spark put it in the tasks' environment the same way (dots as
    /// underscores).
    pub jobconf: Vec<(String, String)>,
    /// How the last step's last task writes its records: JSON records when
    /// the results are printed rather than kept (no `--output`), the
    /// protocol asked for ([`printed_protocol`](Self::printed_protocol))
    /// being applied as they are printed.
    pub output_protocol: mr_core::OutputProtocol,
    /// The protocol the results are printed in, when they are (no
    /// `--output`): the tasks' copy is merged by key first, as the local
    /// runner merges its own, which a text form's lines (no key in
    /// `json-value`, a key unquoted in `text`) cannot be.
    pub printed_protocol: mr_core::OutputProtocol,
    /// The job's own choice, which that task uses when not told otherwise.
    pub job_output_protocol: mr_core::OutputProtocol,
    /// `--max-line-mb` for the mappers, when not the default.
    pub max_line_mb: Option<String>,
}

impl JobPlan {
    /// Whether its first step's mapper reads whole files (its tasks are
    /// handed file names, and read each file with mr's reader).
    pub fn reads_whole_files(&self) -> bool {
        self.steps.first().is_some_and(|s| s.whole_files)
    }

    /// The plan of `job` with the run's options `params`, run by `binary`;
    /// an error when the job's `steps_for` panics.
    pub fn new(
        job: &dyn Job,
        params: &mr_core::JobParams,
        binary: PathBuf,
        skip_bad_records: bool,
        extras: JobExtras,
    ) -> mr_core::Result<JobPlan> {
        Ok(JobPlan {
            job: job.name().to_string(),
            binary,
            steps: mr_core::job::steps_of(job, params)?
                .iter()
                .map(|s| StepPlan {
                    combiner: s.has_combiner(),
                    reducer: s.has_reducer(),
                    sort_values: s.sorts_values(),
                    whole_files: s.reads_whole_files(),
                })
                .collect(),
            skip_bad_records,
            extras,
        })
    }

    /// The binary's file name (`mr`): how a task refers to it once the
    /// engine has shipped it into the task's working directory.
    pub fn binary_name(&self) -> String {
        self.binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mr".into())
    }

    /// The name a Hadoop task runs the binary under: its file name, or `mr`
    /// when that name holds a character Hadoop Streaming's command line
    /// cannot carry (it splits on spaces; `my mr` would run `./my`).
    ///
    /// ```
    /// use mr_cli::cluster::JobPlan;
    /// let mut plan = JobPlan { job: "j".into(), binary: "/x/my-jobs".into(), steps: vec![],
    ///                          skip_bad_records: false, extras: Default::default() };
    /// assert_eq!(plan.link_name(), "my-jobs");
    /// plan.binary = "/x/my jobs".into();
    /// assert_eq!(plan.link_name(), "mr");
    /// ```
    pub fn link_name(&self) -> String {
        let name = self.binary_name();
        if !name.starts_with('-') && name.chars().all(mr_core::options::plain_name_char) {
            name
        } else {
            "mr".into()
        }
    }

    /// The arguments of a task command after the program:
    /// `run JOB --step-num N --mapper [--skip-bad-records]`.
    ///
    /// ```
    /// use mr_cli::cluster::JobPlan;
    /// use mr_core::runner::task::TaskRole;
    /// let plan = JobPlan { job: "url_views".into(), binary: "/bin/mr".into(), steps: vec![],
    ///                      skip_bad_records: false, extras: Default::default() };
    /// assert_eq!(plan.task_args(0, TaskRole::Reducer).join(" "),
    ///            "run url_views --step-num 0 --reducer");
    /// ```
    pub fn task_args(&self, step: usize, role: TaskRole) -> Vec<String> {
        let last_has_reducer = self.steps.last().is_some_and(|s| s.reducer);
        let last = role.writes_final_records(step, self.steps.len(), last_has_reducer);
        let flag = match role {
            TaskRole::Mapper => "--mapper",
            TaskRole::Combiner => "--combiner",
            TaskRole::Reducer => "--reducer",
        };
        let mut v = vec![
            "run".to_string(),
            self.job.clone(),
            "--step-num".into(),
            step.to_string(),
            flag.into(),
        ];
        if self.skip_bad_records {
            v.push("--skip-bad-records".into());
        }
        // The limit is on the user's lines: the first mapper's input.
        if let (TaskRole::Mapper, 0, Some(mb)) = (role, step, &self.extras.max_line_mb) {
            v.push("--max-line-mb".into());
            v.push(mb.clone());
        }
        // Said when not JSON (for the commands' reader), or when it is not
        // the job's own choice (the task's default).
        let protocol = self.extras.output_protocol;
        if last
            && (protocol != mr_core::OutputProtocol::Json
                || protocol != self.extras.job_output_protocol)
        {
            v.push("--output-protocol".into());
            v.push(self.extras.output_protocol.to_string());
        }
        v.extend(self.extras.job_args.iter().cloned());
        v
    }

    /// A task's command as one string for Hadoop Streaming, which splits it
    /// on spaces and takes `'...'` and `"..."` as quotes (no escapes, no
    /// shell): `./mr run JOB --step-num N --mapper ...`. When an argument
    /// cannot be quoted that way (it holds both kinds of quote, a control
    /// character, or a non-ASCII one), all arguments travel hex-encoded in one
    /// (`--mr-args-hex=...`, decoded by [`expand_hex_args`]).
    ///
    /// ```
    /// use mr_cli::cluster::{hadoop_split_args, JobPlan};
    /// use mr_core::runner::task::TaskRole;
    /// let mut plan = JobPlan { job: "mr_grep".into(), binary: "/bin/mr".into(), steps: vec![],
    ///                          skip_bad_records: false, extras: Default::default() };
    /// plan.extras.job_args = vec!["-e".into(), "it's $(x)".into()];
    /// let cmd = plan.task_command(0, TaskRole::Mapper);
    /// assert_eq!(cmd, r#"./mr run mr_grep --step-num 0 --mapper -e "it's $(x)""#);
    /// assert_eq!(hadoop_split_args(&cmd)[7], "it's $(x)");
    /// plan.extras.job_args = vec!["-e".into(), r#"'"'"#.into()];
    /// assert!(plan.task_command(0, TaskRole::Mapper).starts_with("./mr --mr-args-hex="));
    /// plan.extras.job_args = vec!["-e".into(), "école".into()];
    /// assert!(plan.task_command(0, TaskRole::Mapper).starts_with("./mr --mr-args-hex="));
    /// ```
    pub fn task_command(&self, step: usize, role: TaskRole) -> String {
        let exe = format!("./{}", self.link_name());
        let args = self.task_args(step, role);
        let quoted: Option<Vec<String>> = args.iter().map(|a| hadoop_quote(a)).collect();
        match quoted {
            Some(q) => std::iter::once(exe).chain(q).collect::<Vec<_>>().join(" "),
            None => {
                let json = serde_json::to_string(&args).unwrap_or_default();
                let hex: String = json.bytes().map(|b| format!("{b:02x}")).collect();
                format!("{exe} {HEX_ARGS}{hex}")
            }
        }
    }
}

/// The argument that carries a task's arguments hex-encoded.
const HEX_ARGS: &str = "--mr-args-hex=";

/// Replaces a `--mr-args-hex=HEX` argument (see [`JobPlan::task_command`])
/// by the arguments it encodes.
///
/// ```
/// let argv = vec!["mr".to_string(), "--mr-args-hex=5b2272756e225d".to_string()];
/// assert_eq!(mr_cli::cluster::expand_hex_args(argv).unwrap(), vec!["mr", "run"]);
/// ```
pub fn expand_hex_args(argv: Vec<String>) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(argv.len());
    for a in argv {
        let Some(hex) = a.strip_prefix(HEX_ARGS) else {
            out.push(a);
            continue;
        };
        let bytes = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("x"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| anyhow::anyhow!("{HEX_ARGS}: not hex"))?;
        let args: Vec<String> = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{HEX_ARGS}: not a JSON list of strings: {e}"))?;
        out.extend(args);
    }
    Ok(out)
}

/// One argument quoted for Hadoop Streaming's command splitting (see
/// [`hadoop_split_args`]), or `None` if it cannot be.
///
/// A non-ASCII argument cannot be either: a task's JVM encodes the command's
/// arguments by its own locale, ASCII on a node whose NodeManager runs
/// without a UTF-8 one (`école` reached the task as `??cole`).
fn hadoop_quote(a: &str) -> Option<String> {
    if a.is_empty() || !a.is_ascii() || a.chars().any(char::is_control) {
        return None;
    }
    let plain = !a.is_empty() && !a.contains([' ', '\'', '"']);
    if plain {
        Some(a.to_string())
    } else if !a.contains('\'') {
        Some(format!("'{a}'"))
    } else if !a.contains('"') {
        Some(format!("\"{a}\""))
    } else {
        None
    }
}

/// How Hadoop Streaming splits a `-mapper`/`-reducer` command into
/// arguments (`StreamUtil.splitArgs`): on spaces, with `'...'` and `"..."`
/// quoting (a quote also ends the argument before it), no escapes.
///
/// ```
/// assert_eq!(mr_cli::cluster::hadoop_split_args(r#"./mr -e 'a "b"' "c d""#),
///            vec!["./mr", "-e", r#"a "b""#, "c d"]);
/// ```
pub fn hadoop_split_args(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in cmd.chars() {
        let ends_token = match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                true
            }
            (Some(q), c) if c == q => {
                quote = None;
                true
            }
            (None, ' ') => true,
            _ => false,
        };
        if ends_token {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Runs `job` with a cluster runner, as `mr run JOB -r RUNNER` asks. The
/// report is `None` when nothing ran (`--dry-run`).
pub fn run(job: &dyn Job, runner: Runner, args: &RunArgs) -> anyhow::Result<Option<JobReport>> {
    use anyhow::Context as _;
    let binary = std::env::current_exe().context("cannot find the path of this binary")?;
    let params = crate::cmd::run::job_params(job, args, false)?;
    mr_core::job::check_whole_files(job.name(), &mr_core::job::steps_of(job, &params)?)?;
    let mut plan = JobPlan::new(
        job,
        &params,
        binary,
        args.skip_bad_records,
        JobExtras::default(),
    )?;
    plan.extras = extras(job, args, &plan.link_name())?;
    if plan.steps.is_empty() {
        anyhow::bail!("job {} has no steps", plan.job);
    }
    let inputs = inputs(args);
    if let Some(out) = &args.output {
        refuse_output_over_input(&inputs, &out.to_string_lossy(), args.overwrite)?;
        // As the local runner refuses it (the emulator commits as it does):
        // Spark's file system follows the link, and replaced the link.
        // A `file:` URI as the path it names; a bare path as it is (its
        // bytes, which need not be UTF-8).
        if args.overwrite
            && crate::cmd::run::local_output(out)
                .ok()
                .and_then(|o| std::fs::symlink_metadata(o).ok())
                .is_some_and(|m| m.file_type().is_symlink())
        {
            return Err(mr_core::Error::OutputNotReplaceable {
                path: out.clone(),
                reason: "it is a symbolic link".into(),
            }
            .into());
        }
    }
    // The emulator refuses what Hadoop would: it is there to find what
    // works locally and fails on the cluster.
    let hadoop_like = matches!(runner, Runner::Hadoop | Runner::Emulate);
    if matches!(runner, Runner::Hadoop | Runner::Spark | Runner::Emulate) {
        let out = args
            .output
            .as_ref()
            .map(|o| o.to_string_lossy().into_owned());
        refuse_unreadable_paths(&inputs, out.as_deref())?;
        refuse_map_only_jobconf(&plan)?;
        refuse_lossy_jobconf(&plan, runner)?;
        if hadoop_like {
            refuse_key_layout_jobconf(&plan)?;
        }
        if runner == Runner::Hadoop {
            // A number of reducers the local runner and the emulator refuse
            // (`abc`, `-1`, past the most) is refused here too: Hadoop
            // failed the job saying only "Streaming Command Failed!", or
            // with a NegativeArraySizeException (probe /tmp/probe24 repro
            // 02).
            crate::cmd::run::reducers_asked(args.partitions, &plan.extras.jobconf)?;
            // `hadoop fs -ls/-mv/-rm` read their paths as glob patterns: the
            // check for an existing output, and the moves of --overwrite,
            // would look at other directories than the output.
            if let Some(out) = out
                .as_deref()
                .filter(|o| o.contains(['*', '?', '[', ']', '{', '}', '\\']))
            {
                crate::usage!(
                    "--output {}: hadoop fs reads a path as a glob pattern, and mr checks and \
                     moves the output with it; choose an output without *?[]{{}}\\ in it",
                    mr_core::error::printable_line(out)
                );
            }
        }
        if hadoop_like
            && let Some((k, v)) = plan.extras.cmdenv.iter().find(|(_, v)| v.contains(' '))
        {
            crate::usage!(
                "--cmdenv {k}={v}: Hadoop Streaming cuts a -cmdenv value at its first space \
                 (the task would get {k}={}); give the job the value as an option or a \
                 -D setting instead",
                v.split(' ').next().unwrap_or_default()
            );
        }
        for (path, name) in &plan.extras.files {
            if path.to_string_lossy().contains('#') || name.contains('#') {
                anyhow::bail!(
                    "{}: Hadoop's -files and Spark's addFile read '#' as the start of the name \
                     a file is linked under, so this file cannot be shipped; rename it",
                    path.display()
                );
            }
        }
    }
    let categorical = job.categorical_columns();
    if !categorical.is_empty() {
        // Said even with --quiet: the output is not what a local run writes.
        mr_core::errln!(
            "mr: warning: {}'s categorical columns ({}) stay strings with -r {}: ids and \
             _dictionaries/ are made by the local runner only",
            plan.job,
            categorical.join(", "),
            format!("{runner:?}").to_lowercase()
        );
    }
    // A local output is claimed for the whole run, as the local runner
    // claims its own: else a local run on the same output found it free,
    // and swept the driver's live staging directory as a dead run's.
    let _output_lock = match (&args.output, runner) {
        (Some(out), Runner::Hadoop | Runner::Spark) if !args.dry_run => {
            local_output(&out.to_string_lossy(), runner)
                .map(|p| mr_core::output::commit::claim_output_lock(&p))
                .transpose()?
        }
        _ => None,
    };
    match runner {
        Runner::Local | Runner::Inline => {
            anyhow::bail!("internal error: the local runner is not a cluster runner")
        }
        Runner::Hadoop => hadoop::run(&plan, args),
        Runner::Spark => spark::run(&plan, args),
        Runner::Emulate => emulate::run(&plan, args).map(Some),
    }
}

/// `-D mapreduce.job.reduces=0` (or `mapred.reduce.tasks=0`) makes Hadoop
/// run every step map-only: a step's reducer would be skipped and its map
/// output written as the results, with exit 0. Every runner refuses it when
/// a step has a reducer (the local one too: what runs locally must run on
/// the cluster).
///
/// ```
/// use mr_cli::cluster::{refuse_map_only_jobconf, JobPlan, StepPlan};
/// let step = StepPlan { combiner: false, reducer: true, sort_values: false, whole_files: false };
/// let mut plan = JobPlan { job: "j".into(), binary: "/bin/mr".into(), steps: vec![step],
///                          skip_bad_records: false, extras: Default::default() };
/// plan.extras.jobconf = vec![("mapreduce.job.reduces".into(), "0".into())];
/// assert!(refuse_map_only_jobconf(&plan).is_err());
/// plan.extras.jobconf = vec![("mapreduce.job.reduces".into(), "4".into())];
/// assert!(refuse_map_only_jobconf(&plan).is_ok());
/// ```
pub fn refuse_map_only_jobconf(plan: &JobPlan) -> anyhow::Result<()> {
    let Some(reduced) = plan.steps.iter().position(|s| s.reducer) else {
        return Ok(());
    };
    for (k, v) in &plan.extras.jobconf {
        if crate::cmd::run::LOCAL_JOBCONF.contains(&k.as_str()) && reads_as_zero(v) {
            crate::usage!(
                "{k}={v} (given with -D or by the job's jobconf) is 0 reducers to Hadoop: it would skip the \
                 reducer of step {reduced} and write its map output as the results: give \
                 the number of reducers (1 or more), or leave it out"
            );
        }
    }
    Ok(())
}

/// Whether Hadoop reads `v` as the number 0, as `Configuration.getInt`
/// does: trimmed, a sign, decimal or `0x` hex (`0`, `00`, `+0`, `0x0`).
///
/// ```
/// use mr_cli::cluster::reads_as_zero;
/// assert!(["0", " 00 ", "+0", "-0", "0x0", "0X00"].iter().all(|v| reads_as_zero(v)));
/// assert!(!["", "1", "10", "0x", "x0", "0.0"].iter().any(|v| reads_as_zero(v)));
/// ```
pub fn reads_as_zero(v: &str) -> bool {
    let v = v.trim();
    let v = v.strip_prefix(['+', '-']).unwrap_or(v);
    let digits = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b == b'0')
}

/// Settings by which Hadoop Streaming would cut a step's records into key
/// and value, or read and write them, otherwise than `mr` writes them: a
/// step's key and value are JSON with a tab between, the key one field (or
/// two, for a step that sorts values, which sets its own), sorted as bytes
/// (a reduce task takes a key's records to be next to each other). With any
/// of them, Hadoop would group, sort or write records apart from the local
/// runner, and give other results with exit 0; so they are refused (old
/// names included).
pub const KEY_LAYOUT_JOBCONF: [&str; 19] = [
    "stream.num.map.output.key.fields",
    "stream.map.output.field.separator",
    "stream.reduce.input.field.separator",
    "stream.reduce.output.field.separator",
    "stream.num.reduce.output.key.fields",
    "stream.map.input.field.separator",
    "stream.map.input",
    "stream.map.output",
    "stream.reduce.input",
    "stream.reduce.output",
    "map.output.key.field.separator",
    "mapreduce.map.output.key.field.separator",
    "mapreduce.partition.keypartitioner.options",
    "mapred.text.key.partitioner.options",
    "num.key.fields.for.partition",
    "mapreduce.job.output.key.comparator.class",
    "mapred.output.key.comparator.class",
    "mapreduce.partition.keycomparator.options",
    "mapred.text.key.comparator.options",
];

/// Refuses `-D` settings of [`KEY_LAYOUT_JOBCONF`] (on Hadoop and the
/// emulator).
///
/// ```
/// use mr_cli::cluster::{refuse_key_layout_jobconf, JobPlan, StepPlan};
/// let step = StepPlan { combiner: false, reducer: true, sort_values: false, whole_files: false };
/// let mut plan = JobPlan { job: "j".into(), binary: "/bin/mr".into(), steps: vec![step],
///                          skip_bad_records: false, extras: Default::default() };
/// plan.extras.jobconf = vec![("stream.num.map.output.key.fields".into(), "2".into())];
/// assert!(refuse_key_layout_jobconf(&plan).is_err());
/// plan.extras.jobconf = vec![("mapreduce.output.textoutputformat.separator".into(), ",".into())];
/// assert!(refuse_key_layout_jobconf(&plan).is_ok());
/// ```
pub fn refuse_key_layout_jobconf(plan: &JobPlan) -> anyhow::Result<()> {
    if let Some((k, v)) = plan
        .extras
        .jobconf
        .iter()
        .find(|(k, _)| KEY_LAYOUT_JOBCONF.contains(&k.as_str()))
    {
        crate::usage!(
            "-D {k}={v} (given with -D or by the job's jobconf): mr sets how Hadoop Streaming \
             cuts each step's records into key and value (JSON, a tab between), and with this \
             setting Hadoop would group or sort them otherwise than a local run, and give other \
             results; leave it out"
        );
    }
    Ok(())
}

/// Whether a `-D` setting lets a Hadoop job whose task failed, or skipped
/// records, end as a success: a task that exits non-zero taken as done
/// (`stream.non.zero.exit.is.failure=false`, its partial output kept, the
/// rest of its split lost), a share of failed tasks allowed (`*failures.
/// maxpercent`), Hadoop's own record skipping (`*.skip.maxrecords`,
/// `*.skip.maxgroups`: the records go to `_logs/skip`, unnamed by mr).
/// Each loses input with exit 0 where the local run fails (or keeps the bad
/// records aside with `--skip-bad-records`): `Some(why)` then.
///
/// ```
/// use mr_cli::cluster::lossy_jobconf;
/// assert!(lossy_jobconf("stream.non.zero.exit.is.failure", " False").is_some());
/// assert!(lossy_jobconf("stream.non.zero.exit.is.failure", "true").is_none());
/// assert!(lossy_jobconf("mapreduce.map.failures.maxpercent", "10").is_some());
/// assert!(lossy_jobconf("mapreduce.map.failures.maxpercent", "0").is_none());
/// assert!(lossy_jobconf("mapreduce.map.skip.maxrecords", "1").is_some());
/// assert!(lossy_jobconf("mapreduce.job.reduces", "4").is_none());
/// assert!(lossy_jobconf("mapreduce.input.linerecordreader.line.maxlength", "1000").is_some());
/// assert!(lossy_jobconf("mapred.linerecordreader.maxlength", "2147483647").is_none());
/// assert!(lossy_jobconf("mapreduce.input.fileinputformat.input.dir.recursive", "FALSE").is_some());
/// ```
pub fn lossy_jobconf(key: &str, value: &str) -> Option<&'static str> {
    // Configuration.getBoolean: "false" in any case, trimmed.
    let is_false = || value.trim().eq_ignore_ascii_case("false");
    match key {
        // Hadoop's LineRecordReader drops every line at or past it, said
        // only in a task's log (probe /tmp/probe24-cluster repro 02).
        "mapreduce.input.linerecordreader.line.maxlength" | "mapred.linerecordreader.maxlength"
            if value
                .trim()
                .parse::<i64>()
                .is_ok_and(|n| n < i64::from(i32::MAX)) =>
        {
            Some(
                "Hadoop's line reader would drop every longer line, unnamed and uncounted, with \
                 exit 0 (--max-line-mb makes such a line a bad record, named, and kept aside \
                 with --skip-bad-records)",
            )
        }
        // mr asks Hadoop to read input directories whole, as a local run does.
        "mapreduce.input.fileinputformat.input.dir.recursive" if is_false() => Some(
            "Hadoop would not read the subdirectories of an input directory that a local run \
             reads, with exit 0",
        ),
        "stream.non.zero.exit.is.failure" if is_false() => Some(
            "a task that fails would count as done: its partial output kept, the rest of its \
             input lost, with exit 0 where a local run fails",
        ),
        "mapreduce.map.failures.maxpercent"
        | "mapreduce.reduce.failures.maxpercent"
        | "mapred.max.map.failures.percent"
        | "mapred.max.reduce.failures.percent"
            if !reads_as_zero(value) =>
        {
            Some(
                "the job would succeed with failed tasks, their input lost, with exit 0 where a \
                 local run fails",
            )
        }
        "mapreduce.map.skip.maxrecords"
        | "mapreduce.reduce.skip.maxgroups"
        | "mapred.skip.map.max.skip.records"
        | "mapred.skip.reduce.max.skip.groups"
            if !reads_as_zero(value) =>
        {
            Some(
                "Hadoop would skip the records around a failure itself, unnamed and uncounted by \
                 mr, with exit 0 where a local run fails (--skip-bad-records keeps each bad record \
                 aside and names it)",
            )
        }
        _ => None,
    }
}

/// Whether a `-D` setting lets a Spark run lose input with exit 0: Spark's
/// own `ignoreCorruptFiles` and `ignoreMissingFiles` (a `.gz` cut short
/// read up to its damage, the rest dropped without a word: probe
/// /tmp/probe24-cluster repro 03), and Hadoop's line length, which Spark's
/// reading of text files honours (also as `spark.hadoop.KEY`).
///
/// ```
/// use mr_cli::cluster::lossy_spark_conf;
/// assert!(lossy_spark_conf("spark.files.ignoreCorruptFiles", "true").is_some());
/// assert!(lossy_spark_conf("spark.sql.files.ignoreMissingFiles", " TRUE").is_some());
/// assert!(lossy_spark_conf("spark.files.ignoreCorruptFiles", "false").is_none());
/// assert!(lossy_spark_conf("spark.hadoop.mapred.linerecordreader.maxlength", "10").is_some());
/// assert!(lossy_spark_conf("stream.non.zero.exit.is.failure", "false").is_none());
/// ```
pub fn lossy_spark_conf(key: &str, value: &str) -> Option<&'static str> {
    match key {
        "spark.files.ignoreCorruptFiles"
        | "spark.sql.files.ignoreCorruptFiles"
        | "spark.files.ignoreMissingFiles"
        | "spark.sql.files.ignoreMissingFiles"
            if value.trim().eq_ignore_ascii_case("true") =>
        {
            Some(
                "Spark would read a damaged or vanished input file up to where it fails and \
                 drop the rest without a word, where a local run fails naming the file and line \
                 (or keeps the bad record aside with --skip-bad-records)",
            )
        }
        _ => {
            let hadoop = key.strip_prefix("spark.hadoop.").unwrap_or(key);
            match hadoop {
                "mapreduce.input.linerecordreader.line.maxlength"
                | "mapred.linerecordreader.maxlength" => lossy_jobconf(hadoop, value),
                _ => None,
            }
        }
    }
}

/// Refuses the `-D` settings of [`lossy_jobconf`] (on Hadoop and the
/// emulator) or [`lossy_spark_conf`] (on Spark).
pub fn refuse_lossy_jobconf(plan: &JobPlan, runner: Runner) -> anyhow::Result<()> {
    for (k, v) in &plan.extras.jobconf {
        let lossy = match runner {
            Runner::Spark => lossy_spark_conf(k, v),
            _ => lossy_jobconf(k, v),
        };
        if let Some(why) = lossy {
            crate::usage!(
                "-D {k}={v} (given with -D or by the job's jobconf): {why}; leave it out"
            );
        }
    }
    Ok(())
}

/// The counters the tasks of step `step` reported (task mode's names in
/// group `mr`: `map input records`, `reduce groups`, ...), under the local
/// runner's names (`step N: input records`, `step N: reduce groups`, ...);
/// the job's own groups as they are.
///
/// ```
/// use mr_cli::cluster::{step_counters, StepPlan};
/// use mr_core::Counters;
/// let mut tasks = Counters::default();
/// tasks.add("mr", "map input records", 10);
/// tasks.add("mr", "reduce output records", 3);
/// tasks.add("url_views", "events without a string page_url", 1);
/// let plan = StepPlan { combiner: true, reducer: true, sort_values: false, whole_files: false };
/// let c = step_counters(1, &plan, &tasks);
/// assert_eq!(c.get("mr", "step 1: input records"), 10);
/// assert_eq!(c.get("mr", "step 1: output records"), 3);
/// assert_eq!(c.get("url_views", "events without a string page_url"), 1);
/// ```
pub fn step_counters(step: usize, plan: &StepPlan, tasks: &Counters) -> Counters {
    let mut c = Counters::default();
    for (group, name, v) in tasks.iter() {
        if group != FRAMEWORK {
            c.add(group, name, v);
            continue;
        }
        let local = match name {
            "map input records" => "input records",
            "reduce output records" => "output records",
            other => other,
        };
        c.add(FRAMEWORK, &format!("step {step}: {local}"), v);
        if name == "map output records" && !plan.reducer {
            c.add(FRAMEWORK, &format!("step {step}: output records"), v);
        }
    }
    c
}

/// Says how many bad records a cluster run skipped (`--skip-bad-records`),
/// as the local runner's summary does, and where they are (`place`).
pub fn say_skipped(report: &JobReport, place: &str) {
    let n = report.skipped_records;
    if n > 0 {
        let s = if n == 1 { "" } else { "s" };
        mr_core::errln!("mr: {n} bad record{s} skipped: each is an `mr-bad-record:` line {place}");
    }
}

/// A cluster run's report, as the local runner's: `counters` of a job of
/// `steps` steps and where the output is; the skipped records are those the
/// tasks counted (they are in the task logs, not in files here). The
/// engine's phases, tasks and partitions are not known here.
pub fn report(
    steps: usize,
    counters: Counters,
    output: Option<&str>,
    elapsed: std::time::Duration,
) -> JobReport {
    // A cluster keeps a job's counters up to its own limit (Hadoop's
    // mapreduce.job.counters.max, none on Spark), mr to MAX_COUNTERS: the
    // job's output stands, and the counters shown are not all.
    if let Some(reason) = counters.too_many() {
        mr_core::errln!("mr: warning: {reason}; the summary and --report leave the rest out");
    }
    let skipped = counters.all_steps("skipped records").max(0) as u64;
    JobReport {
        counters,
        output_dir: output.map(PathBuf::from),
        skipped_records: skipped,
        bad_record_files: Vec::new(),
        elapsed,
        spills: vec![0; steps],
        phases: Vec::new(),
        tasks: Vec::new(),
        partitions: Vec::new(),
        peak_memory: None,
    }
}

/// The output `out` of a `runner` run as a path on this machine, when it is
/// one: Spark reads a bare path as a local one (see `spark::uri`), Hadoop
/// as one on its default file system (HDFS on a cluster), so only a
/// `file:` URI is local to it.
///
/// ```
/// use mr_cli::cluster::{Runner, local_output};
/// use std::path::PathBuf;
/// assert_eq!(local_output("out", Runner::Spark), Some(PathBuf::from("out")));
/// assert_eq!(local_output("out", Runner::Hadoop), None);
/// assert_eq!(local_output("file:///data/out", Runner::Hadoop), Some(PathBuf::from("/data/out")));
/// assert_eq!(local_output("hdfs://nn/out", Runner::Spark), None);
/// assert_eq!(local_output("s3a:/b/out", Runner::Spark), None);
/// ```
pub fn local_output(out: &str, runner: Runner) -> Option<std::path::PathBuf> {
    let scheme = mr_core::input::listing::uri_scheme(out);
    if scheme.is_some_and(|s| s != "file") || (runner == Runner::Hadoop && scheme.is_none()) {
        return None;
    }
    crate::cmd::run::local_output(Path::new(out)).ok()
}

/// A path or URI cut into its file system (`hdfs://nn`; `""` for this
/// machine's: `file:` URIs and bare paths) and its path there.
///
/// ```
/// use mr_cli::cluster::file_system_and_path;
/// assert_eq!(file_system_and_path("hdfs://nn:8020/logs"), ("hdfs://nn:8020".into(), "/logs"));
/// assert_eq!(file_system_and_path("file:///tmp/x"), ("".into(), "/tmp/x"));
/// assert_eq!(file_system_and_path("s3a:/b"), ("s3a://".into(), "/b"));
/// assert_eq!(file_system_and_path("logs/a"), ("".into(), "logs/a"));
/// ```
pub fn file_system_and_path(path: &str) -> (String, &str) {
    let Some(scheme) = mr_core::input::listing::uri_scheme(path) else {
        return (String::new(), path);
    };
    let after = &path[scheme.len() + 1..];
    let (authority, rest) = match after.strip_prefix("//") {
        Some(a) => a.split_at(a.find('/').unwrap_or(a.len())),
        None => ("", after),
    };
    if scheme == "file" {
        (String::new(), rest)
    } else {
        (format!("{scheme}://{authority}"), rest)
    }
}

/// A path or URI as a place to compare: its file system (see
/// [`file_system_and_path`]) and its components, `.` and `..` resolved; a
/// local path that exists is resolved through its links.
fn place_of(path: &str) -> (String, Vec<String>) {
    let (fs, rest) = file_system_and_path(path);
    let mut p = PathBuf::from(rest);
    if fs.is_empty() {
        p = std::fs::canonicalize(&p)
            .or_else(|_| absolute(&p))
            .unwrap_or(p);
    }
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    (fs, parts)
}

/// Refuses a cluster run whose output is one of its inputs or holds one
/// (`--overwrite` would delete the input once the job is done: the local
/// runner refuses it too), or, with `--overwrite`, lies inside an input (the
/// old output would be read as input). Paths are compared as written, links
/// resolved where they are on this machine; a glob input is compared by the
/// directories it can match.
pub fn refuse_output_over_input(
    inputs: &[String],
    output: &str,
    overwrite: bool,
) -> anyhow::Result<()> {
    let (out_fs, out) = place_of(output);
    for input in inputs {
        let (in_fs, parts) = place_of(input);
        if in_fs != out_fs {
            continue;
        }
        let glob = parts
            .iter()
            .position(|c| mr_core::input::listing::is_glob(c));
        let literal = &parts[..glob.unwrap_or(parts.len())];
        if literal.starts_with(&out) {
            anyhow::bail!(
                "the output {output} is or holds the input {input}: a run that wrote there would read \
                 its own output, and --overwrite would delete the input; choose another --output"
            );
        }
        if !overwrite {
            continue;
        }
        let holds = match glob {
            None => out.starts_with(&parts),
            Some(_) => {
                let Ok(pattern) = glob::Pattern::new(&parts.join("/")) else {
                    continue;
                };
                (1..=out.len()).any(|k| pattern.matches(&out[..k].join("/")))
            }
        };
        if holds {
            let (input, output) = (printable_line(input), printable_line(output));
            anyhow::bail!(
                "the input {input} holds the output {output}: the job would read the old output \
                 as input before --overwrite replaces it; choose an --output outside the input"
            );
        }
    }
    Ok(())
}

/// Refuses paths Hadoop's `Path` cannot take, before a job is submitted
/// (it failed after minutes of setup, with a Java stack trace): a `:` in a
/// file or directory name (parsed as a URI scheme), and a `,` in an input
/// (`-input` and `textFile` cut their argument at commas).
///
/// ```
/// use mr_cli::cluster::refuse_unreadable_paths;
/// assert!(refuse_unreadable_paths(&["hdfs://nn:8020/logs/a.gz".into()], Some("/out")).is_ok());
/// assert!(refuse_unreadable_paths(&["logs/in dir,x".into()], None).is_err());
/// assert!(refuse_unreadable_paths(&["logs/co:lon/e.gz".into()], None).is_err());
/// ```
pub fn refuse_unreadable_paths(inputs: &[String], output: Option<&str>) -> anyhow::Result<()> {
    for (path, is_input) in inputs
        .iter()
        .map(|i| (i.as_str(), true))
        .chain(output.map(|o| (o, false)))
    {
        // Shown on one line: a newline in it cannot forge a line of ours.
        let shown = mr_core::error::printable_line(path);
        // A `file:` URI is checked as the local path it names.
        let here = local_form(path);
        let here_path = Path::new(&*here);
        // A local `co:lon/x` is a path, not the URI `co:` it looks like.
        let local = here_path.exists() || here_path.parent().is_some_and(Path::exists);
        // After `scheme://authority`, a `:` is a name's.
        if (local && here.contains(':')) || file_system_and_path(path).1.contains(':') {
            anyhow::bail!(
                "{shown}: Hadoop cannot name a file or directory with ':' in it (it takes the text \
                 before the ':' for a URI scheme); rename it, or run locally (drop -r)"
            );
        }
        // Hadoop keeps a comma inside a glob's braces (`{a,b}`).
        if is_input && comma_outside_braces(path) {
            anyhow::bail!(
                "{shown}: Hadoop cuts its input paths at commas; rename it, give the directory \
                 above it, or run locally (drop -r)"
            );
        }
        // Hadoop and Spark read every input as a glob pattern; the local
        // runner reads a path that exists as it is (`br[1].jsonl`), so
        // `a*b` would be the file a*b here and every a...b there.
        if is_input && here_path.exists() && here.contains(['*', '?', '[', '{', '\\']) {
            anyhow::bail!(
                "{shown}: Hadoop and Spark read an input path as a glob pattern, and this one \
                 exists as it is written: they would read {} (a pattern's `*?[]{{}}\\` are \
                 not characters of a name to them); give the directory above it, rename it, \
                 or run locally (drop -r)",
                if path.contains(['*', '?']) {
                    "every name it matches as a pattern, not only this one"
                } else {
                    "no file, or others"
                }
            );
        }
        // Hadoop's input formats drop hidden names even when named: the job
        // would fail with "Input path does not exist" on a file that does.
        if is_input && local && mr_core::input::listing::hidden_name(here_path) {
            anyhow::bail!(
                "{shown}: Hadoop and Spark skip files and directories whose name starts with _ or \
                 . even when named (and then say the input does not exist); rename it or copy \
                 it, or run locally (drop -r)"
            );
        }
    }
    Ok(())
}

/// Whether `path` has a comma that is not inside `{...}`.
///
/// ```
/// use mr_cli::cluster::comma_outside_braces;
/// assert!(comma_outside_braces("logs/a,b.txt"));
/// assert!(!comma_outside_braces("logs/{a,b}.txt"));
/// assert!(comma_outside_braces("logs/{a,b}/x,y"));
/// ```
pub fn comma_outside_braces(path: &str) -> bool {
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// A byte that Hadoop's `-files` (and Spark's `addFile`) take in a path: it
/// parses each entry of the comma-separated list as a URI, twice (a space,
/// `%`, `#` or a non-ASCII byte fails, even percent-encoded).
fn plain_path_byte(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || b"/._-+~=@:".contains(b)
}

/// Prints a dry run's commands on stdout: a reader that closes the pipe
/// early (`| head -1`) has what it wanted, no error and no panic.
pub(super) fn print_dry_run(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The paths of `plan`'s binary and files that Hadoop's `-files` cannot
/// take as they are ([`plain_path_byte`]): a run reaches them through links
/// ([`with_plain_paths`]); a dry run, which shows paths as given, says so.
pub(super) fn unplain_paths(plan: &JobPlan) -> Vec<&Path> {
    std::iter::once(plan.binary.as_path())
        .chain(plan.extras.files.iter().map(|(p, _)| p.as_path()))
        .filter(|p| !plain_path(p))
        .collect()
}

/// Whether Hadoop's `-files` takes `path` as it is ([`plain_path_byte`]).
fn plain_path(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().iter().all(plain_path_byte)
}

/// `plan` with its binary and files at paths Hadoop's `-files` and Spark's
/// `addFile` (which reads its path as a URI too: a `#` cuts it) can take, or
/// as it is for a dry run, which shows the paths as given:
/// each one whose path is not plain ([`plain_path_byte`]) is reached through a
/// symbolic link in a temp dir (returned: the links live as long as it
/// does). A file's link name the user chose (`--files PATH#NAME`) that is
/// not plain is refused: the job reads the file by that name.
pub(super) fn with_plain_paths(
    plan: &JobPlan,
    dry_run: bool,
) -> anyhow::Result<(JobPlan, Option<tempfile::TempDir>)> {
    use anyhow::Context as _;
    if dry_run {
        return Ok((plan.clone(), None));
    }
    for (path, name) in &plan.extras.files {
        if !name.chars().all(mr_core::options::plain_name_char) {
            anyhow::bail!(
                "{}: Hadoop's -files cannot link a file under the name {name:?} (it reads the \
                 list as URIs, split at commas): name it with letters, digits and . _ - + only",
                path.display()
            );
        }
    }
    if unplain_paths(plan).is_empty() {
        return Ok((plan.clone(), None));
    }
    let dir = tempfile::Builder::new()
        .prefix("mr-files-")
        .tempdir()
        .context("creating a temp dir for the links to the binary and files Hadoop ships")?;
    if !plain_path(dir.path()) {
        anyhow::bail!(
            "{}: the temp dir's path is not one Hadoop's -files can take; set TMPDIR to a \
             path of letters, digits and . _ - + only",
            dir.path().display()
        );
    }
    let mut shipped = plan.clone();
    let link = |target: &Path, name: String| -> anyhow::Result<PathBuf> {
        let abs = std::path::absolute(target).unwrap_or_else(|_| target.to_path_buf());
        let at = dir.path().join(name);
        std::os::unix::fs::symlink(&abs, &at)
            .with_context(|| format!("linking {} from {}", abs.display(), at.display()))?;
        Ok(at)
    };
    if !plain_path(&plan.binary) {
        shipped.binary = link(&plan.binary, plan.link_name())?;
    }
    for (i, (path, name)) in shipped.extras.files.iter_mut().enumerate() {
        if !plain_path(path) {
            *path = link(path, format!("{i}-{name}"))?;
        }
    }
    Ok((shipped, Some(dir)))
}

/// What `mr run JOB -r RUNNER ...` forwards to the tasks, whose binary is
/// shipped as `binary_name` ([`JobPlan::link_name`]).
pub fn extras(job: &dyn Job, args: &RunArgs, binary_name: &str) -> anyhow::Result<JobExtras> {
    let local = crate::cmd::run::job_params(job, args, false)?;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    // Names in the task's directory: each file needs its own.
    let mut taken = std::collections::HashSet::from([binary_name.to_string()]);
    // A name the user chose (`--files PATH#NAME`) stays as given: the job
    // reads the file by it.
    let own = |path: &Path, name: &str| {
        path.file_name()
            .is_some_and(|f| f.to_string_lossy() == name)
    };
    for (name, path) in local.files.iter().filter(|(n, p)| !own(p, n)) {
        if !taken.insert(name.clone()) {
            anyhow::bail!(
                "--files {}#{name}: {name} is also the name of {}: give it another",
                path.display(),
                if name == binary_name {
                    "the binary the tasks run"
                } else {
                    "another file"
                }
            );
        }
    }
    // A file under its own name that Hadoop's -files takes as it is keeps
    // it, or, if another file or the binary has it, is numbered
    // (`2-stop_words.txt`): a file option is given that name. One whose name
    // is made plain (`stop words.txt` as `stop_words.txt`) is named after
    // them, and refused where the plain name is taken: a task looking for
    // it by its own name takes the file of its plain name, which would be
    // another's (review of 2fc2c72).
    let mut shipped: std::collections::BTreeMap<&String, String> = Default::default();
    for plain_first in [true, false] {
        for (name, path) in local.files.iter().filter(|(n, p)| own(p, n)) {
            let plain = mr_core::options::shipped_name(name);
            if (plain == *name) != plain_first {
                continue;
            }
            if !plain_first && taken.contains(&plain) {
                crate::usage!(
                    "{}: shipped to a cluster's tasks as {plain} (Hadoop's -files takes names of \
                     ASCII letters, digits and ._+- only), which another file has: give it a \
                     name of its own, as {}#NAME",
                    path.display(),
                    path.display()
                );
            }
            let mut unique = plain.clone();
            for i in 2.. {
                if taken.insert(unique.clone()) {
                    break;
                }
                unique = format!("{i}-{plain}");
            }
            shipped.insert(name, unique);
        }
    }
    for (name, path) in &local.files {
        let name = shipped.get(name).cloned().unwrap_or_else(|| name.clone());
        files.push((path.clone(), name));
    }
    let opts = job.options();
    // The options as the local run reads them: a file option's value is
    // its file's path (`PATH#NAME` split), shipped under its name.
    let job_args = crate::job_args::task_args(&opts, &local.options, |v| {
        // A file option's file is shipped under its name.
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        files
            .iter()
            .find(|(p, _)| abs(p) == abs(Path::new(v)))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| v.to_string())
    });
    let asked = args
        .output_protocol
        .unwrap_or_else(|| job.output_protocol());
    Ok(JobExtras {
        job_args,
        files,
        cmdenv: crate::cmd::run::parse_pairs("--cmdenv", &args.cmdenv)?,
        jobconf: jobconf_in_order(job, args)?,
        output_protocol: match args.output {
            None => mr_core::OutputProtocol::Json,
            Some(_) => asked,
        },
        printed_protocol: asked,
        job_output_protocol: job.output_protocol(),
        max_line_mb: args.max_line_mb.map(|mb| mb.to_string()),
    })
}

/// Hadoop's `Text.hashCode()` (`WritableComparator.hashBytes`): the hash
/// `HashPartitioner` partitions streaming keys by.
///
/// ```
/// // "a".hashCode() in Java is 97; Text starts from 1: 31 * 1 + 97.
/// assert_eq!(mr_cli::cluster::text_hash(b"a"), 128);
/// ```
pub fn text_hash(bytes: &[u8]) -> i32 {
    mr_core::shuffle::partition::java_hash(1, bytes)
}

/// The reduce partition Hadoop Streaming gives a record whose key is `key`
/// (the bytes before the first tab, or the first two fields with
/// `key_fields == 2`), among `partitions`:
///
/// - one key field: `HashPartitioner`, `(Text.hashCode() & MAX) % R`;
/// - two key fields (secondary sort): `KeyFieldBasedPartitioner -k1,1`,
///   the same hash from 0 over the first field only.
///
/// ```
/// use mr_cli::cluster::hadoop_partition;
/// assert_eq!(hadoop_partition(b"\"a\"", 1, 1), 0);
/// // A secondary-sort key partitions on its first field only.
/// assert_eq!(hadoop_partition(b"\"ann\"\t0a", 2, 7), hadoop_partition(b"\"ann\"\t0b", 2, 7));
/// ```
pub fn hadoop_partition(key: &[u8], key_fields: usize, partitions: usize) -> usize {
    // The local runner's partition of the same key: one rule everywhere.
    let secondary = key_fields >= 2;
    let key = if secondary {
        &key[..key_len(key, 1)]
    } else {
        key
    };
    mr_core::shuffle::partition::partition_of(key, partitions, secondary)
}

pub use mr_core::protocol::key_len;

/// Quotes `s` for a POSIX shell when it needs it, so that printed commands
/// can be pasted as they are.
///
/// ```
/// use mr_cli::cluster::shell_quote;
/// assert_eq!(shell_quote("-input"), "-input");
/// assert_eq!(shell_quote("./mr run x --mapper"), "'./mr run x --mapper'");
/// assert_eq!(shell_quote("it's"), r#"'it'\''s'"#);
/// ```
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Parses the `-D KEY=VALUE` options.
pub fn parse_jobconf(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => crate::usage!("-D takes KEY=VALUE, got {kv:?}"),
        })
        .collect()
}

/// The jobconf of a run in the order Hadoop is given it, the last of a
/// key winning: the job's own settings ([`Job::jobconf`], mrjob's
/// `JOBCONF`), then `-D` (the config file's, then the command line's).
pub fn jobconf_in_order(job: &dyn Job, args: &RunArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut all = job.jobconf();
    all.extend(parse_jobconf(&args.jobconf)?);
    Ok(all)
}

/// All inputs: `--input` options and positional ones.
fn inputs(args: &RunArgs) -> Vec<String> {
    let mut v = args.inputs.clone();
    v.extend(args.positional_inputs.iter().cloned());
    v
}

/// The refusal of a glob `pattern` that matches `path` below a hidden
/// directory, which the local runner leaves out and Hadoop and Spark read.
fn under_hidden(pattern: &str, path: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: this pattern matches {}, below a directory whose name starts with _ or . \
         (Hadoop's hidden files): the local runner leaves it out, Hadoop and Spark would \
         read it (they leave out only a match whose own name is hidden); make the pattern \
         skip such directories (`[!._]*` in place of `*`), name the directories to read, \
         or run locally (drop -r)",
        mr_core::error::printable_line(pattern),
        mr_core::error::printable_line(path)
    )
}

/// Refuses inputs on this machine that a cluster run would not read as the
/// local runner does, found by listing them as it does:
/// - a Parquet table: Hadoop Streaming and the Spark driver read text lines,
///   so a table would reach the mapper as binary garbage (a table on a
///   cluster file system cannot be looked at from here; its lines fail as
///   bad records);
/// - a file below an input directory with a `:` in its name (logs named by
///   time, `app-2026-12-04T10:00.log`): Hadoop's local file system lists
///   it, then fails inside the map task with a Java stack trace (`Relative
///   path in absolute URI: .app-2026-12-04T10:00.log.crc`, the name of its
///   checksum file parsed as a URI). A directory below an input may hold a
///   `:`; a path given by name may not (see [`refuse_unreadable_paths`]);
/// - a file whose name is not UTF-8: Hadoop's file system, which Spark
///   reads with too, leaves it out without a word;
/// - a second path to a file (a symbolic or hard link, the same file named
///   twice), or a symbolic link back into a directory being read: the local
///   runner reads the file once and skips the loop, Hadoop and Spark read
///   every path they find, so the counts would differ;
/// - a file whose name does not say its compression as Hadoop reads names
///   ([`codec_by_name`]): Hadoop and Spark pick the codec by the name, where
///   the local runner looks at the bytes, so a gzip file named `.log` would
///   reach the mapper as compressed bytes, and a text file named `.gz` fails;
/// - an empty file named `.gz` (or another codec's name): Hadoop's codec,
///   which Spark reads files with too, fails on it (`Unexpected end of
///   input stream`); Spark's run failed after it started;
///
/// (the codec checks not for a job whose first step reads whole files,
/// `whole_files`: its tasks are handed file names, and read each file with
/// mr's own reader, by its bytes, as the local runner does);
/// - on Hadoop, a named pipe, socket or device in an input directory: the
///   local runner skips it, Hadoop opens it and waits;
/// - what the local runner refuses to read (a tar archive, an executable, a
///   file the `lz4` tool wrote, a broken link): Spark read such a file as
///   lines of junk, or hung on it. A compressed file's decoded start is
///   checked here for Spark ([`check_decoded_start`]), whose tasks cannot
///   (Hadoop's do).
///
/// Returns the local inputs' files, in the order the local runner reads them.
///
/// [`check_decoded_start`]: mr_core::input::lines::check_decoded_start
fn refuse_local_inputs(
    inputs: &[String],
    hadoop: bool,
    whole_files: bool,
) -> anyhow::Result<Vec<mr_core::input::InputFile>> {
    // A `file:` URI is a local path too (the listing reads it as one), and
    // Hadoop and Spark read it as they read the bare path.
    let local: Vec<String> = inputs
        .iter()
        .filter(|i| is_local_form(i) && i.as_str() != "-")
        .cloned()
        .collect();
    let listing = match mr_core::input::listing::list_inputs_noted(&local) {
        Ok(listing) => listing,
        // A missing input on Hadoop: a path without a scheme is on the
        // cluster's file system, where Hadoop looks for it. Spark reads it
        // here: said now, as the local runner says it (a pattern that
        // matches nothing too), not after Spark started.
        Err(mr_core::Error::InputNotFound { .. }) if hadoop => return Ok(Vec::new()),
        // Matches only below a hidden directory: here, not on the cluster's
        // file system, and Hadoop would read them.
        Err(mr_core::Error::InputOnlyUnderHidden { path, first }) => {
            return Err(under_hidden(&path, &first));
        }
        // What the local runner refuses (a tar archive, an executable, a
        // file the `lz4` tool wrote, a broken link) Spark would read as
        // lines of junk, or hang on: refused here too, as locally.
        Err(e) => return Err(e.into()),
    };
    let files = &listing.files;
    // Hadoop's `Path` folds `..` by the path's text: through a symbolic
    // link (`d/sub/up -> ..`, then `d/sub/up/../f.txt`) that is another
    // file than the one the local runner reads, and Hadoop and Spark read it
    // without a word (probe /tmp/probe8-regress repro 03).
    for f in files {
        let (InputSource::Path(p) | InputSource::Stream(p)) = &f.source else {
            continue;
        };
        let Ok(abs) = std::path::absolute(p) else {
            continue;
        };
        if let Err(folded) = mr_core::paths::folded(&abs) {
            anyhow::bail!(
                "{} goes through a symbolic link before a `..`: Hadoop and Spark take `..` by \
                 the path's text, so they would read {} instead, another file or none; give \
                 the path without `..`, or run locally (drop -r)",
                f.display,
                printable_line(&folded.display().to_string())
            );
        }
    }
    if let Some(f) = files.iter().find(|f| f.compression == Compression::Parquet) {
        anyhow::bail!(
            "{} is a Parquet table: only the local runner reads tables (drop -r); \
             Hadoop Streaming and Spark tasks read text lines",
            f.display
        );
    }
    if let Some(f) = files.iter().find(|f| {
        Path::new(&f.display)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains(':'))
    }) {
        anyhow::bail!(
            "{}: Hadoop and Spark cannot read a file with ':' in its name (they take the \
             text before the ':' for a URI scheme); rename it (for example with \
             `rename 's/:/-/g'`), or run locally (drop -r)",
            f.display
        );
    }
    // Hadoop's local file system, which Spark reads files with too, names
    // files by Java strings: a name that is not UTF-8 (a Latin-1 `café.txt`
    // from a Windows share) is listed with U+FFFD in it, which names no
    // file, and left out, with exit 0 (on both).
    if let Some(f) = files.iter().find(|f| match &f.source {
        InputSource::Path(p) | InputSource::Stream(p) => p.to_str().is_none(),
        InputSource::Stdin => false,
    }) {
        anyhow::bail!(
            "{}: its name is not UTF-8 (its bytes shown as %XX), and Hadoop and Spark would leave \
             this file out without a word; rename it to UTF-8 (for example with `convmv -f latin1 \
             -t utf8 --notest`), or run locally (drop -r)",
            f.display
        );
    }
    if let Some((path, first)) = listing.read_once.first() {
        let (path, first) = (printable_line(path), printable_line(first));
        anyhow::bail!(
            "{path} is the same file as {first} (a link, or named twice): the local runner \
             reads it once, Hadoop and Spark would read it under both paths and count its \
             lines twice; remove the link or the second input, or run locally (drop -r)"
        );
    }
    // Hadoop's tasks check a file's first line (they have its offset);
    // Spark's are handed lines without them.
    if !hadoop {
        for f in files {
            mr_core::input::lines::check_decoded_start(f)?;
        }
    }
    if let Some(path) = listing.special.first().filter(|_| hadoop) {
        let path = printable_line(path);
        anyhow::bail!(
            "{path} is a named pipe, socket or device: the local runner and Spark skip it, \
             Hadoop would open it and wait on it; move it out of the input, or run locally \
             (drop -r)"
        );
    }
    if let Some(path) = listing.loops.first() {
        let path = printable_line(path);
        anyhow::bail!(
            "{path} is a symbolic link back into a directory being read (a loop): the local \
             runner skips it, Hadoop and Spark would follow it and read the same files again \
             and again; remove the link, or run locally (drop -r)"
        );
    }
    if let Some((pattern, path)) = listing.under_hidden.first() {
        return Err(under_hidden(pattern, path));
    }
    for f in files.iter().filter(|_| !whole_files) {
        let named = codec_by_name(&f.display);
        if f.compression == named {
            if f.size == 0 && named != Compression::None {
                anyhow::bail!(
                    "{} is empty but named as {}: Hadoop's codec, which Spark reads files \
                     with too, fails on an empty file (Unexpected end of input stream); \
                     remove it, or run locally (drop -r)",
                    f.display,
                    codec_name(named)
                );
            }
            continue;
        }
        let what = match f.compression {
            Compression::None => "plain text".to_string(),
            c => format!("{} data", codec_name(c)),
        };
        let name_says = match named {
            Compression::None => "no codec",
            c => codec_name(c),
        };
        anyhow::bail!(
            "{} holds {what}, but its name says {name_says}: Hadoop and Spark choose the codec \
             by the file's name (the local runner by its bytes), so they would {}; rename it, \
             or run locally (drop -r)",
            f.display,
            if named == Compression::None {
                "read the compressed bytes as lines of text"
            } else {
                "fail to decode it"
            }
        );
    }
    // Hadoop makes a map task a split, none for no file, and so does
    // Spark (a partition a split); the local runner runs one map task on
    // no input, whose mapper_final hook emits. (No input named at all is
    // stdin, read as a file is.) Spark's run printed nothing, exit 0, unsaid
    // (probe /tmp/probe8-spark repro 03).
    if files.is_empty() && !inputs.is_empty() && local.len() == inputs.len() {
        mr_core::errln!(
            "mr: warning: the input holds no file to read: Hadoop and Spark run no map task \
             then, where the local runner runs one, so a mapper's final hook does not run (a \
             job that emits from it, as mr_wc its zero counts, writes nothing on {})",
            if hadoop { "Hadoop" } else { "Spark" }
        );
    }
    // Said up front: the failure comes from inside a task, its cause
    // buried in the task log.
    if let Some(f) = files
        .iter()
        .find(|f| f.compression == Compression::Zstd && !whole_files)
    {
        mr_core::errln!(
            "mr: warning: {} is zstd-compressed: Hadoop and Spark read .zst only with Hadoop's \
             native zstd library; if the job fails with 'native zStandard library not \
             available', decompress it (zstd -d) or run locally (drop -r)",
            f.display
        );
    }
    Ok(listing.files)
}

/// Warns, even with `--quiet`, of each `-D` output separator in `jobconf`,
/// which Hadoop applies and which has no effect `here` (`"on Spark, which
/// writes each output line as it is"`): the output is not what Hadoop
/// writes.
pub(crate) fn warn_of_output_separators(jobconf: &[(String, String)], here: &str) {
    for (k, _) in jobconf
        .iter()
        .filter(|(k, _)| hadoop::OUTPUT_SEPARATORS.contains(&k.as_str()))
    {
        mr_core::errln!(
            "mr: warning: -D {k} has no effect {here} (Hadoop puts it in the place of the tab \
             when the last step keeps its combiner)"
        );
    }
}

/// The codec Hadoop's `CompressionCodecFactory` picks for a file by the end
/// of its name (its default codecs: `.gz`, `.bz2`, `.zst`, `.deflate`,
/// `.snappy`, `.lz4`); [`Compression::None`] for any other name.
///
/// ```
/// use mr_cli::cluster::codec_by_name;
/// use mr_core::input::listing::Compression;
/// assert_eq!(codec_by_name("logs/a.jsonl.gz"), Compression::Gzip);
/// assert_eq!(codec_by_name("logs/a.jsonl.zstd"), Compression::None);
/// assert_eq!(codec_by_name("logs/a.log"), Compression::None);
/// ```
pub fn codec_by_name(path: &str) -> Compression {
    let ends = |suffix: &str| path.ends_with(suffix);
    if ends(".gz") {
        Compression::Gzip
    } else if ends(".bz2") {
        Compression::Bzip2
    } else if ends(".zst") {
        Compression::Zstd
    } else if ends(".deflate") {
        Compression::Deflate
    } else if ends(".snappy") {
        Compression::Snappy
    } else if ends(".lz4") {
        Compression::Lz4
    } else {
        Compression::None
    }
}

/// A codec's name for a message, with its file name ending.
fn codec_name(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => "gzip (.gz)",
        Compression::Bzip2 => "bzip2 (.bz2)",
        Compression::Zstd => "zstd (.zst)",
        Compression::Deflate => "zlib (.deflate)",
        Compression::Snappy => "Snappy (.snappy)",
        Compression::Lz4 => "LZ4 (.lz4)",
        Compression::Parquet => "Parquet",
        Compression::None => "plain text",
    }
}

/// Prints the `part-*` files of `dir`, a local copy of a cluster run's
/// results (`-r spark` and `-r hadoop` without `--output`, JSON records),
/// on stdout as the local runner prints its own: merged in key order when
/// the last step has a reducer (`reduced`: each part is sorted by key),
/// else one part after another, in part order; each record in the
/// protocol `plan` prints in. Counts the records printed as lines that
/// cannot be read back into `counters`, as the local runner does.
fn print_parts(
    dir: &Path,
    plan: &JobPlan,
    reduced: bool,
    counters: &mut Counters,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let parts = mr_core::output::stdout::part_files(dir)?;
    let stdout = std::io::stdout();
    let mut out = mr_core::output::protocol::ProtocolWriter::new(
        plan.extras.printed_protocol,
        std::io::BufWriter::with_capacity(1 << 16, stdout.lock()),
    );
    if reduced {
        mr_core::output::stdout::merge_parts(&parts, &mut out)?;
    } else {
        mr_core::output::stdout::concat_parts(&parts, &mut out)?;
    }
    out.flush().map_err(mr_core::Error::Stdout)?;
    count_mangled(counters, plan.steps.len(), out.mangled());
    Ok(())
}

/// Adds `n` records of the last of `steps` steps written as lines that
/// cannot be read back ([`mr_core::counters::MANGLED`]) to `counters`.
fn count_mangled(counters: &mut Counters, steps: usize, n: u64) {
    if n > 0 {
        counters.add(
            FRAMEWORK,
            &format!(
                "step {}: {}",
                steps.saturating_sub(1),
                mr_core::counters::MANGLED
            ),
            i64::try_from(n).unwrap_or(i64::MAX),
        );
    }
}

/// A name for a run on a cluster (its intermediate and staging
/// directories): job, time, process, and 32 random bits. Time and pid
/// alone are shared by two runs started in the same second by processes
/// of the same pid in two containers (a scheduler's backfill), which then
/// read each other's intermediate files on the cluster.
fn run_id(job: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{job}-{secs}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// The error of a cluster run interrupted while its job ran: the `engine`
/// job (`Hadoop`, `Spark`) was stopped and what it wrote removed; with
/// `--overwrite`, `old_output` was left as it was.
fn interrupted(engine: &str, old_output: Option<&str>) -> anyhow::Error {
    let kept = old_output
        .map(|o| format!("; the old output {o} was left as it was"))
        .unwrap_or_default();
    anyhow::Error::new(mr_core::Error::Interrupted).context(format!(
        "interrupted: the {engine} job was stopped and what it wrote removed{kept}"
    ))
}

/// The error of a cluster run interrupted when its job had finished: the
/// output `out` is complete, and stays (a scheduler that retries must not
/// be told it was removed); an old output it replaced is in `old_aside`.
fn finished_before_stop(engine: &str, out: &str, old_aside: Option<&str>) -> anyhow::Error {
    let kept = old_aside
        .map(|o| format!("; the old output it replaced is in {o}"))
        .unwrap_or_default();
    anyhow::Error::new(mr_core::Error::Interrupted).context(format!(
        "interrupted after the {engine} job had finished: its output {out} is complete \
         (_SUCCESS) and was kept{kept}"
    ))
}

/// Whether `e` is (or wraps) [`mr_core::Error::Interrupted`].
pub(crate) fn is_interrupted(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<mr_core::Error>(),
        Some(mr_core::Error::Interrupted)
    )
}

/// A job of two steps, each with a combiner and a reducer, and no extras:
/// for tests.
#[cfg(test)]
pub(crate) fn two_combined_steps(job: &str) -> JobPlan {
    let step = StepPlan {
        combiner: true,
        reducer: true,
        sort_values: false,
        whole_files: false,
    };
    JobPlan {
        job: job.into(),
        binary: "/bin/mr".into(),
        steps: vec![step, step],
        skip_bad_records: false,
        extras: JobExtras::default(),
    }
}

/// True for a path with a URI scheme (`hdfs://`, `s3://`, `file:/`).
fn has_scheme(p: &str) -> bool {
    mr_core::input::listing::uri_scheme(p).is_some()
}

/// True for a path this machine may hold: a bare path or a `file:` URI
/// (not `hdfs://`, `s3://`...). A bare path is on the cluster's default
/// file system for Hadoop, which is this machine's in local mode: one that
/// exists here is checked as the local runner would read it.
fn is_local_form(p: &str) -> bool {
    mr_core::input::listing::uri_scheme(p).is_none_or(|s| s == "file")
}

/// `p` as a path on this machine when it is a `file:` URI
/// (`file:///abs`, `file:/abs`); any other `p` as it is written.
fn local_form(p: &str) -> std::borrow::Cow<'_, str> {
    match mr_core::input::listing::uri_scheme(p) {
        Some("file") => mr_core::input::listing::local_path_of(p)
            .map_or(std::borrow::Cow::Borrowed(p), std::borrow::Cow::Owned),
        _ => std::borrow::Cow::Borrowed(p),
    }
}

/// A local path made absolute (against the current directory), lexically.
fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(cwd.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs of a job in the same second by processes of the same pid
    /// (two containers) get different names on the cluster.
    #[test]
    fn run_ids_differ_within_a_second_and_a_pid() {
        let a = run_id("wc");
        let b = run_id("wc");
        assert!(a.starts_with("wc-") && a.contains(&format!("-{}-", std::process::id())));
        assert_ne!(a, b);
    }

    /// The output over an input: refused as written, through `.`, `..`,
    /// `file://` and links, and for a glob; an input holding the output
    /// only with --overwrite; other file systems are never the same place.
    #[test]
    fn an_output_over_its_input_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let logs = d.path().join("logs");
        std::fs::create_dir_all(logs.join("day")).unwrap();
        let link = d.path().join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&logs, &link).unwrap();
        let l = logs.display().to_string();
        let refused = |inputs: &[&str], out: &str, overwrite: bool| {
            let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
            refuse_output_over_input(&inputs, out, overwrite).is_err()
        };
        assert!(refused(&[&l], &l, false));
        assert!(refused(
            &[&format!("{l}/day/../day/x.gz")],
            &format!("file://{l}/"),
            false
        ));
        assert!(refused(&[&format!("{l}/*")], &l, true));
        #[cfg(unix)]
        assert!(refused(&[&link.display().to_string()], &l, true));
        assert!(refused(&[&l], &format!("{l}/counts"), true));
        assert!(!refused(&[&l], &format!("{l}/counts"), false));
        assert!(refused(
            &["hdfs://nn/logs/2024-*"],
            "hdfs://nn/logs/2024-x",
            true
        ));
        assert!(!refused(
            &["hdfs://nn/logs/2024-*"],
            "hdfs://nn/logs/counts",
            true
        ));
        assert!(!refused(&["hdfs://nn/logs"], "hdfs://other/logs", true));
        assert!(refused(&["hdfs://nn/logs/a"], "hdfs://nn/logs/", true));
        assert!(!refused(
            &[&l],
            &d.path().join("out").display().to_string(),
            true
        ));
    }

    #[test]
    fn partition_matches_hadoop() {
        // Java: new Text("\"the\"").hashCode() == 1 * 31^5 + ... computed by
        // hand below; the partition is (hash & MAX) % R.
        let h = text_hash(b"\"the\"");
        let mut want: i32 = 1;
        for b in b"\"the\"" {
            want = want.wrapping_mul(31).wrapping_add(*b as i32);
        }
        assert_eq!(h, want);
        // Bytes >= 0x80 count as negative Java bytes.
        assert_eq!(text_hash(&[0xC3]), 31 - 61);
        assert_eq!(
            hadoop_partition(b"x", 1, 4),
            ((text_hash(b"x") & i32::MAX) % 4) as usize
        );
    }

    #[test]
    fn schemes() {
        assert!(has_scheme("hdfs:///logs"));
        assert!(has_scheme("s3://bucket/x"));
        assert!(has_scheme("file:/tmp/x"));
        assert!(!has_scheme("/tmp/x"));
        assert!(!has_scheme("logs/a:b"));
        assert!(!has_scheme("C:\\x"));
    }

    /// `--max-line-mb` reaches the first step's mappers, and only them: a
    /// later step reads records the job wrote.
    #[test]
    fn max_line_goes_to_mapper_tasks() {
        let mut plan = two_combined_steps("url_views");
        plan.extras.max_line_mb = Some("0.5".into());
        assert_eq!(
            plan.task_args(0, TaskRole::Mapper).join(" "),
            "run url_views --step-num 0 --mapper --max-line-mb 0.5"
        );
        assert!(
            !plan
                .task_args(0, TaskRole::Reducer)
                .contains(&"--max-line-mb".into())
        );
        assert!(
            !plan
                .task_args(0, TaskRole::Combiner)
                .contains(&"--max-line-mb".into())
        );
        assert!(
            !plan
                .task_args(1, TaskRole::Mapper)
                .contains(&"--max-line-mb".into())
        );
    }

    #[test]
    fn jobconf_needs_key_and_value() {
        let kv = parse_jobconf(&["a.b=1".into(), "c=x=y".into()]).unwrap();
        assert_eq!(kv[1], ("c".to_string(), "x=y".to_string()));
        assert!(parse_jobconf(&["nokey".into()]).is_err());
    }
}
