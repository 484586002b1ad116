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
/// // argparse's `choices=[...]` and `action='append'`:
/// let client = JobOption::string("client").choices(&["web", "mobile"]);
/// assert!(client.check("bogus").is_err());
/// assert!(JobOption::string("kind").repeated().repeated);
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
    /// The values it takes, if only some (argparse's `choices`); empty for
    /// any value of its type.
    pub choices: Vec<String>,
    /// Given any number of times, each value kept (argparse's
    /// `action='append'`); read with [`JobParams::strings`].
    pub repeated: bool,
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
            choices: Vec::new(),
            repeated: false,
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

    /// A file shipped with the job (mrjob's `add_file_arg`). Its value is
    /// `PATH`, or, as mrjob takes it, `PATH#NAME`: the file is shipped to
    /// Hadoop and Spark tasks as NAME (without `#NAME`, under its own file
    /// name), and the task reads the option's value as the path to open
    /// (locally the file's own path). A path that itself holds a `#` and
    /// names a file is that file.
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

    /// Limits the option to these values (argparse's `choices`): any
    /// other is refused when the command line or a config file is read
    /// (`mr run` exits 2 listing them), and `mr run JOB --help` lists them.
    /// For a string, int, uint or float option; each choice must be a
    /// value of its type.
    ///
    /// ```
    /// use mr_core::JobOption;
    /// let o = JobOption::string("client").choices(&["web", "mobile"]);
    /// assert!(o.check("mobile").is_ok());
    /// assert_eq!(
    ///     o.check("bogus").unwrap_err(),
    ///     "--client takes one of web, mobile, got \"bogus\""
    /// );
    /// ```
    pub fn choices(mut self, values: &[&str]) -> JobOption {
        self.choices = values.iter().map(|v| v.to_string()).collect();
        self
    }

    /// Makes the option repeatable (argparse's `action='append'`): `--kind
    /// a --kind b` gives the job both values, in order, which a task reads
    /// with [`JobParams::strings`] (`ctx.strings("kind")`); in a config
    /// file it takes a list (`kind = ["a", "b"]`), whose values come before
    /// the command line's. Without it, the last of a repeated option counts
    /// (argparse's rule for a plain option). Each value is checked against
    /// the option's type and choices. A default is the one value when the
    /// option is not given (argparse would add the given ones to it). For a
    /// string, int, uint or float option.
    ///
    /// ```
    /// use mr_core::{JobOption, JobParams};
    /// let o = JobOption::string("kind").repeated().help("An event kind to keep.");
    /// assert!(o.repeated);
    /// let p = JobParams::default().with_values("kind", &["a b", "c,d"]);
    /// assert_eq!(p.strings("kind"), ["a b", "c,d"]);
    /// ```
    pub fn repeated(mut self) -> JobOption {
        self.repeated = true;
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
        if ok && !self.choices.is_empty() && !self.choices.iter().any(|c| c == value) {
            return Err(format!(
                "--{} takes one of {}, got {value:?}",
                self.name,
                self.choices.join(", ")
            ));
        }
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
    /// a path the task can open; a repeated option: its values as
    /// [`list_value`] joins them, read with [`JobParams::strings`]).
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
                let d = if o.repeated { list_value(&[d]) } else { d };
                self.options.entry(o.name).or_insert(d);
            }
        }
        self.job_jobconf = job.jobconf().into_iter().collect();
        self
    }

    /// Whether these params give `job` what it needs: every required option
    /// set, and each value of the option's type and among its choices, as
    /// `mr run` checks them on its command line; an error names the option.
    ///
    /// ```
    /// use mr_core::{Job, JobOption, JobParams, Step};
    /// struct J;
    /// impl Job for J {
    ///     fn name(&self) -> &str { "j" }
    ///     fn description(&self) -> &str { "" }
    ///     fn steps(&self) -> Vec<Step> { vec![] }
    ///     fn options(&self) -> Vec<JobOption> {
    ///         vec![JobOption::string("field").required(), JobOption::int("top").repeated()]
    ///     }
    /// }
    /// let e = JobParams::defaults(&J).check_options(&J).unwrap_err();
    /// assert!(e.contains("--field is required"), "{e}");
    /// let given = JobParams::defaults(&J).with_option("field", "user");
    /// assert!(given.check_options(&J).is_ok());
    /// let e = given.with_values("top", &["3", "x"]).check_options(&J).unwrap_err();
    /// assert!(e.contains("--top takes an integer"), "{e}");
    /// ```
    pub fn check_options(&self, job: &dyn crate::Job) -> Result<(), String> {
        for o in job.options() {
            match self.options.get(&o.name) {
                None if o.required => {
                    return Err(format!(
                        "option --{} is required by job {} and not given",
                        o.name,
                        job.name()
                    ));
                }
                None => {}
                Some(v) if o.repeated => list_items(v).iter().try_for_each(|v| o.check(v))?,
                Some(v) => o.check(v)?,
            }
        }
        Ok(())
    }

    /// Notes jobconf keys as read (by a copy of these params a run used).
    pub(crate) fn note_read(&self, keys: BTreeSet<String>) {
        if let Ok(mut seen) = self.read_keys.lock() {
            seen.extend(keys);
        }
    }

    /// These params with the option `name` set to `value`, as `--name
    /// value` sets it (a flag: `"true"`).
    pub fn with_option(mut self, name: &str, value: &str) -> JobParams {
        self.options.insert(name.to_string(), value.to_string());
        self
    }

    /// These params with the repeated option `name` ([`JobOption::repeated`])
    /// given `values`, as `--name A --name B` gives them.
    ///
    /// ```
    /// let p = mr_core::JobParams::default().with_values("kind", &["a", "b"]);
    /// assert_eq!(p.strings("kind"), ["a", "b"]);
    /// ```
    pub fn with_values(mut self, name: &str, values: &[&str]) -> JobParams {
        self.options.insert(name.to_string(), list_value(values));
        self
    }

    /// Every value of the repeated option `name` ([`JobOption::repeated`]),
    /// in the order given; empty when it was not given (and has no
    /// default). A value set as one (`with_option`) is a list of one.
    ///
    /// ```
    /// let p = mr_core::JobParams::default()
    ///     .with_values("kind", &["it's \"x\"", "a,b"])
    ///     .with_option("one", "c");
    /// assert_eq!(p.strings("kind"), ["it's \"x\"", "a,b"]);
    /// assert_eq!(p.strings("one"), ["c"]);
    /// assert!(p.strings("unset").is_empty());
    /// ```
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.options
            .get(name)
            .map(|raw| list_items(raw))
            .unwrap_or_default()
    }
}

/// The values of a repeated option as one value of [`JobParams::options`]:
/// a JSON array of strings, which [`list_items`] splits back whatever the
/// values hold (spaces, commas, quotes, newlines).
///
/// ```
/// use mr_core::options::{list_items, list_value};
/// let v = list_value(&["a b", "c,\"d\""]);
/// assert_eq!(v, r#"["a b","c,\"d\""]"#);
/// assert_eq!(list_items(&v), ["a b", "c,\"d\""]);
/// ```
pub fn list_value<S: AsRef<str>>(values: &[S]) -> String {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    // A list of strings always encodes: the fallback is never taken.
    serde_json::to_string(&values).unwrap_or_default()
}

/// The values of a repeated option from its value in
/// [`JobParams::options`] ([`list_value`]'s form); a value in another
/// form (one set with [`JobParams::with_option`]) is the only one.
///
/// ```
/// use mr_core::options::list_items;
/// assert_eq!(list_items(r#"["x","y"]"#), ["x", "y"]);
/// assert_eq!(list_items("x"), ["x"]);
/// assert!(list_items("[]").is_empty());
/// ```
pub fn list_items(raw: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(raw).unwrap_or_else(|_| vec![raw.to_string()])
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

    /// Where to read the file the job knows as `name`. In a cluster's task
    /// (`files_in_cwd`), a file shipped under its own name is in the
    /// working directory under [`shipped_name`] of it (`stop words.txt` as
    /// `stop_words.txt`), and is found by either name: a job asking for
    /// `stop words.txt` found it locally only (probe /tmp/probe24 repro 01).
    pub fn file(&self, name: &str) -> Option<PathBuf> {
        self.file_in(Path::new(""), name)
    }

    /// [`Self::file`], with `cwd` for the working directory.
    fn file_in(&self, cwd: &Path, name: &str) -> Option<PathBuf> {
        if let Some(p) = self.files.get(name) {
            return Some(p.clone());
        }
        if self.files_in_cwd && !name.contains('/') {
            let shipped = shipped_name(name);
            return [name, shipped.as_str()]
                .into_iter()
                .map(|n| cwd.join(n))
                .find(|p| p.is_file());
        }
        None
    }
}

/// A character a name shipped to a cluster's tasks may hold as it is: one
/// that Hadoop's `-files` (a URI list split at commas) and Streaming's task
/// command (split at spaces) both carry.
pub fn plain_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._+-".contains(c)
}

/// The name a file given without `#NAME` is shipped to a cluster's tasks
/// under: its own, each character [`plain_name_char`] refuses made `_`
/// (unless another file has that name already: then numbered, `2-` first).
///
/// ```
/// use mr_core::options::shipped_name;
/// assert_eq!(shipped_name("stop words é.txt"), "stop_words__.txt");
/// assert_eq!(shipped_name("lookup.tsv"), "lookup.tsv");
/// ```
pub fn shipped_name(name: &str) -> String {
    name.chars()
        .map(|c| if plain_name_char(c) { c } else { '_' })
        .collect()
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

/// The file a file option's value names ([`JobOption::file`]), and the name
/// it is shipped under if the value gives one: `PATH`, or mrjob's
/// `PATH#NAME` (split as `--files` splits it, at the last `#`). A value
/// that is itself the path of something (`exists`) is that path, `#` and
/// all: a file named `notes#1.txt` is not `notes` shipped as `1.txt`.
/// `option` names the option in the error.
///
/// ```
/// use mr_core::options::parse_file_option;
/// use std::path::{Path, PathBuf};
/// let none = |_: &Path| false;
/// assert_eq!(
///     parse_file_option("course-names", "data/courses.tsv#names.tsv", none).unwrap(),
///     (PathBuf::from("data/courses.tsv"), Some("names.tsv".to_string()))
/// );
/// assert_eq!(parse_file_option("f", "a.txt", none).unwrap(), ("a.txt".into(), None));
/// let all = |_: &Path| true;
/// assert_eq!(parse_file_option("f", "notes#1.txt", all).unwrap(), ("notes#1.txt".into(), None));
/// assert_eq!(
///     parse_file_option("f", "a.txt#x/y", none).unwrap_err(),
///     "--f takes FILE or FILE#NAME (NAME without '/'), got \"a.txt#x/y\""
/// );
/// ```
pub fn parse_file_option(
    option: &str,
    value: &str,
    exists: impl Fn(&Path) -> bool,
) -> Result<(PathBuf, Option<String>), String> {
    if !value.contains('#') || exists(Path::new(value)) {
        return Ok((PathBuf::from(value), None));
    }
    parse_file_spec(value)
        .map(|(path, name)| (path, Some(name)))
        .map_err(|_| {
            format!("--{option} takes FILE or FILE#NAME (NAME without '/'), got {value:?}")
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// In a cluster's task, a file shipped under its own name made plain
    /// is found by the name the job knows it by, and by the shipped one;
    /// a name of neither is not (probe /tmp/probe24 repro 01).
    #[test]
    fn a_task_finds_a_file_by_its_own_name_and_its_shipped_one() {
        let cwd = tempfile::tempdir().unwrap();
        std::fs::write(cwd.path().join("stop_words__.txt"), "the\n").unwrap();
        std::fs::write(cwd.path().join("plain.txt"), "x\n").unwrap();
        let task = JobParams {
            files_in_cwd: true,
            ..JobParams::default()
        };
        let found = |name: &str| task.file_in(cwd.path(), name);
        let shipped = Some(cwd.path().join("stop_words__.txt"));
        assert_eq!(found("stop words é.txt"), shipped);
        assert_eq!(found("stop_words__.txt"), shipped);
        assert_eq!(found("plain.txt"), Some(cwd.path().join("plain.txt")));
        assert_eq!(found("other words.txt"), None);
        // A local run knows its files by name only.
        let local = JobParams::default();
        assert_eq!(local.file_in(cwd.path(), "stop words é.txt"), None);
    }

    /// argparse's `choices`: a value of the type outside them is refused,
    /// saying which are taken; a value not of the type says so first.
    #[test]
    fn choices_refuse_other_values_and_list_the_allowed_ones() {
        let client = JobOption::string("client").choices(&["web", "mobile"]);
        assert!(client.check("web").is_ok() && client.check("mobile").is_ok());
        assert_eq!(
            client.check("Web").unwrap_err(),
            r#"--client takes one of web, mobile, got "Web""#
        );
        let n = JobOption::int("n").choices(&["1", "2"]);
        assert!(n.check("2").is_ok());
        assert_eq!(
            n.check("x").unwrap_err(),
            r#"--n takes an integer, got "x""#
        );
        assert_eq!(
            n.check("3").unwrap_err(),
            r#"--n takes one of 1, 2, got "3""#
        );
        // Without choices, any value of the type.
        assert!(JobOption::string("s").check("anything").is_ok());
    }

    /// A file option's `PATH#NAME` (mrjob's add_file_arg form) against a
    /// real directory: an existing file whose name holds `#` is that file;
    /// otherwise the value is split.
    #[test]
    fn a_file_options_hash_name_is_split_unless_the_whole_path_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let hashed = dir.path().join("notes#1.txt");
        std::fs::write(&hashed, "x").unwrap();
        let exists = |p: &Path| p.exists();
        let v = hashed.to_str().unwrap();
        assert_eq!(
            parse_file_option("f", v, exists).unwrap(),
            (hashed.clone(), None)
        );
        let v = format!("{}#names.tsv", dir.path().join("courses.tsv").display());
        assert_eq!(
            parse_file_option("f", &v, exists).unwrap(),
            (
                dir.path().join("courses.tsv"),
                Some("names.tsv".to_string())
            )
        );
        // The existing `#` path shipped under another name.
        let v = format!("{}#n.txt", hashed.display());
        assert_eq!(
            parse_file_option("f", &v, exists).unwrap(),
            (hashed, Some("n.txt".to_string()))
        );
        for bad in ["a#", "#a", "a#.."] {
            assert!(parse_file_option("f", bad, exists).is_err(), "{bad}");
        }
    }

    /// Defaults of a repeated option are a list of one, as `mr run` gives
    /// them.
    #[test]
    fn a_repeated_options_default_is_a_list_of_one() {
        struct J;
        impl crate::Job for J {
            fn name(&self) -> &str {
                "j"
            }
            fn description(&self) -> &str {
                ""
            }
            fn steps(&self) -> Vec<crate::Step> {
                vec![]
            }
            fn options(&self) -> Vec<JobOption> {
                vec![
                    JobOption::string("kind").repeated().default(r#"["odd"]"#),
                    JobOption::string("tag").repeated(),
                ]
            }
        }
        let p = JobParams::defaults(&J);
        assert_eq!(p.strings("kind"), [r#"["odd"]"#]);
        assert!(p.strings("tag").is_empty());
        let p = JobParams::default()
            .with_values("kind", &["a"])
            .with_defaults_of(&J);
        assert_eq!(p.strings("kind"), ["a"]);
    }

    proptest! {
        /// Any values (quotes, commas, newlines, brackets) come back as given.
        #[test]
        fn repeated_values_round_trip(values in proptest::collection::vec(".*", 0..5)) {
            prop_assert_eq!(list_items(&list_value(&values)), values);
        }
    }
}
