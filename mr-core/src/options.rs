//! What a job is given besides its input: its own command-line options
//! ([`JobOption`], mrjob's `add_passthru_arg`/`add_file_arg`), files shipped
//! with it (`--files PATH#NAME`, mrjob's `FILES`) and the jobconf
//! (`-D KEY=VALUE`). A task reads them through its
//! [`TaskContext`](crate::TaskContext) in `init`:
//!
//! ```
//! use mr_core::{JobOption, JobParams, TaskContext};
//! let mut params = JobParams::default();
//! params.options.insert("expression".into(), "ma.y".into());
//! params.jobconf.insert("mapreduce.job.reduces".into(), "4".into());
//! let ctx = TaskContext { params: params.into(), ..TaskContext::default() };
//! assert_eq!(ctx.option::<String>("expression").unwrap(), "ma.y");
//! assert_eq!(ctx.jobconf("mapreduce.job.reduces"), Some("4".to_string()));
//! let opt = JobOption::string("expression").short('e').required().help("What to look for.");
//! assert_eq!(opt.short, Some('e'));
//! ```
//!
//! The same values reach every task, wherever it runs: the local runner
//! hands them over in memory; task mode (`--mapper`, `--reducer`, as
//! Hadoop Streaming, Spark and the emulator run the binary) gets the options
//! on its command line, the files in its working directory and the jobconf
//! from its environment (Hadoop's convention: dots become underscores).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The type of a job option's value, checked when the command line is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Any text.
    String,
    /// A signed integer (`i64`).
    Int,
    /// A count or size: an integer from 0 up (`u64`), so that `-1` is
    /// refused on the command line, not when a task reads it.
    Uint,
    /// A number (`f64`).
    Float,
    /// A switch without a value: `"true"` when given, `"false"` otherwise.
    Flag,
    /// A local file, shipped with the job (Hadoop `-files`, Spark `addFile`);
    /// the task reads it at the path the option's value holds.
    File,
}

/// One option a job declares for `mr run JOB --NAME VALUE`.
///
/// ```
/// use mr_core::{JobOption, OptionKind};
/// let o = JobOption::file("stop-words-file").help("Lowercase words, one a line.");
/// assert_eq!(o.kind, OptionKind::File);
/// assert_eq!(JobOption::int("top").default("10").default.as_deref(), Some("10"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOption {
    /// The long name, without dashes (`expression` for `--expression`).
    pub name: String,
    /// A one-letter alias (`e` for `-e`).
    pub short: Option<char>,
    /// One line for `mr run JOB --help`.
    pub help: String,
    /// The value when the option is not given.
    pub default: Option<String>,
    /// The value's type.
    pub kind: OptionKind,
    /// The run is refused without it.
    pub required: bool,
}

impl JobOption {
    fn new(name: &str, kind: OptionKind) -> JobOption {
        JobOption {
            name: name.to_string(),
            short: None,
            help: String::new(),
            default: None,
            kind,
            required: false,
        }
    }

    /// A text option.
    pub fn string(name: &str) -> JobOption {
        Self::new(name, OptionKind::String)
    }

    /// An integer option.
    pub fn int(name: &str) -> JobOption {
        Self::new(name, OptionKind::Int)
    }

    /// A count or size option: an integer from 0 up, read as `u64`.
    ///
    /// ```
    /// use mr_core::JobOption;
    /// let o = JobOption::uint("sample-size");
    /// assert!(o.check("100").is_ok());
    /// assert_eq!(
    ///     o.check("-1").unwrap_err(),
    ///     "--sample-size takes an integer from 0 up, got \"-1\""
    /// );
    /// ```
    pub fn uint(name: &str) -> JobOption {
        Self::new(name, OptionKind::Uint)
    }

    /// A number option.
    pub fn float(name: &str) -> JobOption {
        Self::new(name, OptionKind::Float)
    }

    /// A switch: `"true"` when given, else `"false"` (argparse's
    /// `store_true`). It cannot default to true (`mr run` refuses the job):
    /// port mrjob's `store_false` switch `--no-x` as `flag("no-x")`, read
    /// the other way round.
    pub fn flag(name: &str) -> JobOption {
        Self::new(name, OptionKind::Flag)
    }

    /// A file shipped with the job (mrjob's `add_file_arg`).
    pub fn file(name: &str) -> JobOption {
        Self::new(name, OptionKind::File)
    }

    /// Sets the one-letter alias.
    pub fn short(mut self, c: char) -> JobOption {
        self.short = Some(c);
        self
    }

    /// Sets the help line.
    pub fn help(mut self, text: &str) -> JobOption {
        self.help = text.to_string();
        self
    }

    /// Sets the default value.
    pub fn default(mut self, value: &str) -> JobOption {
        self.default = Some(value.to_string());
        self
    }

    /// Makes the option required.
    pub fn required(mut self) -> JobOption {
        self.required = true;
        self
    }

    /// Checks `value` against the option's type.
    ///
    /// ```
    /// use mr_core::JobOption;
    /// assert!(JobOption::int("n").check("12").is_ok());
    /// assert!(JobOption::int("n").check("twelve").is_err());
    /// ```
    pub fn check(&self, value: &str) -> Result<(), String> {
        let ok = match self.kind {
            OptionKind::String | OptionKind::File => true,
            OptionKind::Int => value.parse::<i64>().is_ok(),
            OptionKind::Uint => value.parse::<u64>().is_ok(),
            OptionKind::Float => value.parse::<f64>().is_ok(),
            OptionKind::Flag => matches!(value, "true" | "false"),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "--{} takes {}, got {value:?}",
                self.name,
                match self.kind {
                    OptionKind::Int => "an integer",
                    OptionKind::Uint => "an integer from 0 up",
                    OptionKind::Float => "a number",
                    _ => "true or false",
                }
            ))
        }
    }
}

/// The option values, files and jobconf of one run, shared by its tasks.
#[derive(Debug, Default)]
pub struct JobParams {
    /// Option values by long name (flags: `"true"`/`"false"`; file options:
    /// a path the task can open).
    pub options: BTreeMap<String, String>,
    /// Files by the name the job knows them under, and where to read them.
    pub files: BTreeMap<String, PathBuf>,
    /// `-D KEY=VALUE` settings.
    pub jobconf: BTreeMap<String, String>,
    /// The job's own settings ([`crate::Job::jobconf`]): read when neither
    /// `-D` nor (task mode) the environment has the key.
    pub job_jobconf: BTreeMap<String, String>,
    /// Also look jobconf keys up in the environment, as Hadoop Streaming
    /// gives them to tasks (`mapreduce.job.reduces` as `mapreduce_job_reduces`).
    pub jobconf_from_env: bool,
    /// Files are also looked for in the working directory (task mode: Hadoop
    /// and Spark put shipped files there).
    pub files_in_cwd: bool,
    /// The jobconf keys the job asked for, to warn about the others.
    read_keys: Mutex<BTreeSet<String>>,
}

impl JobParams {
    /// What `job` is given when no option is: each option's default (a
    /// run's options start from these too). For tests and `mr check`.
    ///
    /// ```
    /// use mr_core::{Job, JobOption, JobParams, Step};
    /// struct J;
    /// impl Job for J {
    ///     fn name(&self) -> &str { "j" }
    ///     fn description(&self) -> &str { "" }
    ///     fn steps(&self) -> Vec<Step> { vec![] }
    ///     fn options(&self) -> Vec<JobOption> {
    ///         vec![JobOption::int("min-count").default("2"), JobOption::string("name")]
    ///     }
    /// }
    /// let p = JobParams::defaults(&J);
    /// assert_eq!(p.options.get("min-count").map(String::as_str), Some("2"));
    /// assert!(!p.options.contains_key("name"));
    /// ```
    pub fn defaults(job: &dyn crate::Job) -> JobParams {
        JobParams::default().with_defaults_of(job)
    }

    /// These params with `job`'s option defaults for the options they do
    /// not set, and the job's own jobconf ([`crate::Job::jobconf`]).
    ///
    /// ```
    /// use mr_core::{Job, JobOption, JobParams, Step};
    /// struct J;
    /// impl Job for J {
    ///     fn name(&self) -> &str { "j" }
    ///     fn description(&self) -> &str { "" }
    ///     fn steps(&self) -> Vec<Step> { vec![] }
    ///     fn options(&self) -> Vec<JobOption> {
    ///         vec![JobOption::int("min-count").default("2"), JobOption::int("top").default("10")]
    ///     }
    ///     fn jobconf(&self) -> Vec<(String, String)> {
    ///         vec![("my.field".into(), "username".into())]
    ///     }
    /// }
    /// let p = JobParams::default().with_option("top", "3").with_defaults_of(&J);
    /// assert_eq!((p.options["min-count"].as_str(), p.options["top"].as_str()), ("2", "3"));
    /// assert_eq!(p.jobconf("my.field").as_deref(), Some("username"));
    /// ```
    pub fn with_defaults_of(mut self, job: &dyn crate::Job) -> JobParams {
        for o in job.options() {
            if let Some(d) = o.default {
                self.options.entry(o.name).or_insert(d);
            }
        }
        self.job_jobconf = job.jobconf().into_iter().collect();
        self
    }

    /// These params with the option `name` set to `value`, as `--name
    /// value` sets it (a flag: `"true"`).
    pub fn with_option(mut self, name: &str, value: &str) -> JobParams {
        self.options.insert(name.to_string(), value.to_string());
        self
    }
}

impl Clone for JobParams {
    fn clone(&self) -> Self {
        JobParams {
            options: self.options.clone(),
            files: self.files.clone(),
            jobconf: self.jobconf.clone(),
            job_jobconf: self.job_jobconf.clone(),
            jobconf_from_env: self.jobconf_from_env,
            files_in_cwd: self.files_in_cwd,
            read_keys: Mutex::new(self.read_keys()),
        }
    }
}

impl PartialEq for JobParams {
    fn eq(&self, other: &Self) -> bool {
        self.options == other.options
            && self.files == other.files
            && self.jobconf == other.jobconf
            && self.job_jobconf == other.job_jobconf
            && self.jobconf_from_env == other.jobconf_from_env
            && self.files_in_cwd == other.files_in_cwd
    }
}

impl Eq for JobParams {}

impl JobParams {
    /// The value of a jobconf key: `-D` settings first, then (task mode)
    /// the environment with dots as underscores, then the job's own.
    ///
    /// ```
    /// let mut p = mr_core::JobParams::default();
    /// p.jobconf.insert("my.key".into(), "v".into());
    /// p.job_jobconf.insert("my.key".into(), "job's".into());
    /// p.job_jobconf.insert("job.key".into(), "2".into());
    /// assert_eq!(p.jobconf("my.key").as_deref(), Some("v"));
    /// assert_eq!(p.jobconf("job.key").as_deref(), Some("2"));
    /// assert_eq!(p.jobconf("other"), None);
    /// assert_eq!(p.read_keys().len(), 3);
    /// ```
    pub fn jobconf(&self, key: &str) -> Option<String> {
        if let Ok(mut seen) = self.read_keys.lock()
            && !seen.contains(key)
        {
            seen.insert(key.to_string());
        }
        if let Some(v) = self.jobconf.get(key) {
            return Some(v.clone());
        }
        if self.jobconf_from_env
            && let Ok(v) = std::env::var(jobconf_env_name(key))
        {
            return Some(v);
        }
        self.job_jobconf.get(key).cloned()
    }

    /// The jobconf keys read so far.
    pub fn read_keys(&self) -> BTreeSet<String> {
        self.read_keys.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Where to read the file the job knows as `name`.
    pub fn file(&self, name: &str) -> Option<PathBuf> {
        if let Some(p) = self.files.get(name) {
            return Some(p.clone());
        }
        if self.files_in_cwd && !name.contains('/') && Path::new(name).is_file() {
            return Some(PathBuf::from(name));
        }
        None
    }
}

/// Parses `PATH[#NAME]` as `--files` takes it: the name defaults to the
/// file's own name.
///
/// ```
/// use mr_core::options::parse_file_spec;
/// assert_eq!(parse_file_spec("dir/stop.txt").unwrap(), ("dir/stop.txt".into(), "stop.txt".into()));
/// assert_eq!(parse_file_spec("a.txt#b.txt").unwrap(), ("a.txt".into(), "b.txt".into()));
/// assert!(parse_file_spec("a.txt#x/y").is_err());
/// ```
pub fn parse_file_spec(spec: &str) -> Result<(PathBuf, String), String> {
    let (path, name) = match spec.rsplit_once('#') {
        Some((p, n)) => (p, n.to_string()),
        None => {
            let name = Path::new(spec)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (spec, name)
        }
    };
    if path.is_empty() || name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!(
            "--files takes PATH or PATH#NAME (NAME without '/'), got {spec:?}"
        ));
    }
    Ok((PathBuf::from(path), name))
}

/// The environment variable Hadoop Streaming exports a jobconf key as, in
/// a task: each character that is not a letter or a digit becomes `_`
/// (`PipeMapRed.safeEnvVarName`: `my-job.min-count` is `my_job_min_count`).
/// mr's emulated and Spark tasks export their jobconf the same way.
///
/// ```
/// assert_eq!(mr_core::options::jobconf_env_name("my-job.min-count"), "my_job_min_count");
/// assert_eq!(mr_core::options::jobconf_env_name("mapreduce.task.id"), "mapreduce_task_id");
/// ```
pub fn jobconf_env_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}
