//! `mr run -c FILE`: defaults for `mr run`'s options from a TOML file, one
//! section a runner, as mrjob.conf has them:
//!
//! ```toml
//! include = "~/base.toml"
//!
//! [runners.local]
//! jobs = 4
//! cmdenv = { TZ = "UTC" }
//!
//! [runners.hadoop]
//! hadoop_bin = "/opt/hadoop/bin/hadoop"
//! jobconf = { "mapreduce.job.reduces" = "8" }
//! files = ["lookup.tsv#lookup"]
//! ```
//!
//! **Which file.** `-c/--conf-path FILE` (any form clap takes: `-cFILE`,
//! `-c=FILE`, `-qc FILE`), else `$MR_CONF` when set (`~` and `$VAR` in it
//! expanded); `--no-conf` reads none. `-c` may be given several times, as
//! mrjob takes it: the files are read in order, as if each included the
//! ones before it (a later file's value wins, lists add up). Task mode (`--mapper`, `--combiner`,
//! `--reducer`, as the emulator and Hadoop start tasks) reads none: the run
//! that started the task applied the file already.
//!
//! **What it holds.** Top-level keys are `runners` (a table of sections, one
//! per runner: `local`, `hadoop`, `spark`, `emulate`, `inline`) and
//! `include` (a file or a list of files read first, their paths relative to
//! the including file, `~` and `$VAR` expanded; the including file's values
//! win, later includes win over earlier ones; a file including itself is
//! refused). A file reached twice (named by two `-c`, or included by two
//! files) is read once, at its last place, as mrjob reads it. Anything else (`[runner.local]`, `[runners.locl]`) is an
//! error naming the file and the key, but for the sections of mrjob's cloud runners
//! (`[runners.emr]`, `[runners.dataproc]`), left unread as mrjob leaves every section but its
//! runner's, so that one file serves both. An empty file, or a file without a
//! section for the runner, gives nothing. `-r` chooses the runner (and so
//! the section); `runner` in a section is refused.
//!
//! **Keys and values.** A key is a long name or alias of a `mr run` option,
//! or of the job's own (`jobs`, `num_cores`, `output_dir`, `sample_size`;
//! dashes or underscores), or mrjob's name for one where its switch is named
//! otherwise (`upload_files` is `files`; `spark_submit_bin`, an alias of
//! `spark_submit`, is a path without arguments; `local_tmp_dir` is
//! `tmp_dir`, and so is `hadoop_tmp_dir` in `[runners.hadoop]`, where
//! `tmp_dir` is the directory on the cluster's filesystem: each is refused,
//! saying why, where it has no meaning, see [`mrjob_tmp_dir`]). A switch takes `true` or `false` (`false`: not
//! given); an option its value (a string or number); a repeatable option a
//! list or one value; `jobconf` and `cmdenv` a table, nested tables joined
//! by dots (`[runners.local.jobconf]` then `mapreduce.job.reduces = 2`).
//! A value is checked as the command line's would be, and a bad one is
//! said with the file and the key. In the value of an option that takes a
//! path (`tmp_dir`, `hadoop_bin`, `files`, ...), a leading `~` is the home
//! directory and `$NAME` or `${NAME}` an environment variable, as mrjob
//! expands them (`tmp_dir = "/scratch/$USER"`); the shell does that on the
//! command line, nobody in a file. An unset variable is an error (mrjob
//! keeps its name, and a directory named `$USER` was made); `$$` is a `$`
//! of the path itself.
//!
//! **Precedence** ([`not_overridden`], the one place that decides it): the
//! command line wins. A file's value is dropped when the command line gives
//! the same option under any of its names, or an option it conflicts with
//! (`verbose` in the file, `-q` typed), or the same setting under another
//! spelling (`partitions` and `-D mapreduce.job.reduces`). Lists: the
//! command line's `jobconf`/`cmdenv` keys and `files` names replace the
//! file's for that key or name, the rest is kept; inputs named on the
//! command line replace the file's `input`.

use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};

/// The config file a command line reads, and what named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    /// The file, `~` and `$VAR` expanded.
    pub path: PathBuf,
    /// `-c/--conf-path` or `$MR_CONF`, for messages.
    pub named_by: &'static str,
}

/// The config files for a parsed `mr run` (or `mr emulate-hadoop`) command
/// line, `sm` its matches, in the order they are read: `--no-conf` none,
/// else each `-c` in order, else `$MR_CONF`. Task mode is the caller's to
/// leave out.
pub fn conf_files(sm: &clap::ArgMatches) -> anyhow::Result<Vec<ConfFile>> {
    if sm.get_flag("no_conf") {
        return Ok(Vec::new());
    }
    if let Some(paths) = sm.get_many::<PathBuf>("conf_path") {
        return paths
            .map(|p| {
                Ok(ConfFile {
                    path: expand_home_path(p, "-c/--conf-path")?,
                    named_by: "-c/--conf-path",
                })
            })
            .collect();
    }
    let Some(v) = std::env::var_os("MR_CONF").filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    let path = match v.to_str() {
        Some(s) => PathBuf::from(
            expand_path(s).with_context(|| format!("$MR_CONF={s:?} (the config file)"))?,
        ),
        None => PathBuf::from(v),
    };
    Ok(vec![ConfFile {
        path,
        named_by: "$MR_CONF",
    }])
}

/// One value a config file gives `mr run`, as the argument it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The file it is in.
    pub file: PathBuf,
    /// Its key, in full: `runners.local.jobs`,
    /// `runners.local.jobconf.mapreduce.job.reduces`.
    pub key: String,
    /// The clap id of the option.
    pub id: String,
    /// The argument: `--jobs=4`, `--quiet`, `--jobconf=a.b=1`.
    pub arg: String,
    /// For a repeatable option: whether it is one (its items add up).
    pub list: bool,
    /// For an item of `jobconf` or `cmdenv`, its KEY; of `files`, its NAME.
    pub item: Option<String>,
}

impl Setting {
    /// Whether this setting, of a later file, replaces `earlier`: the same
    /// option (for keyed lists, the same KEY or NAME), or one setting under
    /// two spellings (`partitions` and a jobconf `mapreduce.job.reduces`,
    /// where `partitions` would otherwise win whichever file gives it).
    fn replaces(&self, earlier: &Setting) -> bool {
        let reduces = |s: &Setting| {
            s.id == "partitions"
                || (s.id == "jobconf"
                    && s.item
                        .as_deref()
                        .is_some_and(|k| crate::cmd::run::LOCAL_JOBCONF.contains(&k)))
        };
        let same = self.id == earlier.id
            && (!earlier.list || (earlier.item.is_some() && self.item == earlier.item));
        same || (reduces(self) && reduces(earlier))
    }

    /// Where it comes from, for messages: `config file F, key K`.
    pub fn origin(&self) -> String {
        format!("config file {}, key {}", self.file.display(), self.key)
    }
}

/// The valid top-level keys of a config file.
const TOP_KEYS: [&str; 2] = ["runners", "include"];

/// The runners' names, which are the sections a file may have.
fn runner_names() -> Vec<String> {
    use clap::ValueEnum as _;
    crate::cluster::Runner::value_variants()
        .iter()
        .filter_map(|r| r.to_possible_value())
        .map(|v| v.get_name().to_string())
        .collect()
}

/// The settings the files (in order, each with what it includes) give
/// `runner`'s runs, checked against `run` (the `mr run` command, with the
/// job's options): each key an option, each value of the option's kind. A
/// later file's value replaces an earlier one's; lists add up.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let f = dir.path().join("mr.toml");
/// std::fs::write(&f, "[runners.local]\njobs = 3\nquiet = true\njobconf = { \"a.b\" = \"1\" }\n").unwrap();
/// let g = dir.path().join("site.toml");
/// std::fs::write(&g, "[runners.local]\njobs = 5\njobconf = { \"c.d\" = \"2\" }\n").unwrap();
/// let cmd = <mr_cli::args::Cli as clap::CommandFactory>::command();
/// let run = cmd.find_subcommand("run").unwrap();
/// let conf = |path| mr_cli::conf::ConfFile { path, named_by: "-c/--conf-path" };
/// let s = mr_cli::conf::settings(&[conf(f), conf(g)], "local", run, &[]).unwrap();
/// let args: Vec<_> = s.iter().map(|s| s.arg.as_str()).collect();
/// assert_eq!(args, vec!["--jobconf=a.b=1", "--quiet", "--jobconf=c.d=2", "--jobs=5"]);
/// ```
pub fn settings(
    confs: &[ConfFile],
    runner: &str,
    run: &clap::Command,
    other_jobs: &[String],
) -> anyhow::Result<Vec<Setting>> {
    let mut files = Vec::new();
    for conf in confs {
        // Only a path known to be missing: one that cannot be reached
        // (a directory without x for this user) is read, and says why.
        if let Ok(false) = conf.path.try_exists() {
            bail!(
                "the config file {} (named by {}) does not exist: fix the path{}",
                conf.path.display(),
                conf.named_by,
                if conf.named_by == "$MR_CONF" {
                    ", unset $MR_CONF, or pass --no-conf"
                } else {
                    ""
                }
            );
        }
        load(&conf.path, &mut Vec::new(), &mut files)?;
    }
    // A file reached twice counts once, at its last place: what mrjob's
    // load_opts_from_mrjob_confs gives (it reads the files last first and
    // skips one read already).
    let files: Vec<(PathBuf, toml::Table)> = files
        .iter()
        .enumerate()
        .filter(|(i, (canon, ..))| !files[i + 1..].iter().any(|(c, ..)| c == canon))
        .map(|(_, (_, path, runners))| (path.clone(), runners.clone()))
        .collect();
    let mut out: Vec<Setting> = Vec::new();
    for (file, runners) in files {
        let Some(section) = runners.get(runner) else {
            continue;
        };
        let Some(section) = section.as_table() else {
            bail!(
                "config file {}: runners.{runner} must be a table ([runners.{runner}])",
                file.display()
            );
        };
        let mut this: Vec<Setting> = Vec::new();
        for (key, value) in section {
            let s = key_settings(&file, runner, key, value, run, other_jobs)?;
            if let Some(new) = s.first()
                && let Some(old) = this.iter().find(|t| t.id == new.id && t.key != new.key)
            {
                bail!(
                    "config file {}: {} and {} are one option: keep one",
                    file.display(),
                    old.key,
                    new.key
                );
            }
            this.extend(s);
        }
        // A later file's value replaces an earlier one's, by option (or by
        // KEY / NAME for keyed lists, or one setting's other spelling);
        // other list items add up.
        out.retain(|o| !this.iter().any(|t| t.replaces(o)));
        out.extend(this);
    }
    Ok(out)
}

/// The most a config file may hold: far more than any has, and little
/// to read into memory.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of the config file `path`, read up to [`MAX_CONFIG_BYTES`]:
/// `-c /dev/zero` grew to the machine's memory, and a data file given by
/// mistake was read whole before it was refused (probe /tmp/probe23-fuzz
/// repro 07). A pipe (`-c <(...)`) is read as a file is.
fn read_config(path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    let reading = || format!("reading the config file {}", path.display());
    let file = std::fs::File::open(path).with_context(reading)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(reading)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!(
            "config file {} holds more than {} MiB: not a config file (a config file holds \
             [runners.NAME] sections); give its path to -c, MR_CONF or include",
            path.display(),
            MAX_CONFIG_BYTES >> 20
        );
    }
    String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("config file {} is not UTF-8 text", path.display()))
}

/// Reads `path` and, first, what it includes, into `out` (in order: the
/// earliest the weakest), each file with its real path; `within` is the
/// chain of files including it.
fn load(
    path: &Path,
    within: &mut Vec<PathBuf>,
    out: &mut Vec<(PathBuf, PathBuf, toml::Table)>,
) -> anyhow::Result<()> {
    let text = read_config(path)?;
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if within.contains(&canon) {
        bail!(
            "config file {} includes itself (through {}): remove one include",
            path.display(),
            within
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" -> ")
        );
    }
    let doc = parse(path, &text)?;
    for key in doc.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            let hint = match crate::closest(key, &TOP_KEYS) {
                Some(k) => format!(" (did you mean {k}?)"),
                None => String::new(),
            };
            bail!(
                "config file {}: unknown key {key}{hint}; a config file holds [runners.NAME] \
                 sections (NAME: {}) and include = \"FILE\"",
                path.display(),
                runner_names().join(", ")
            );
        }
    }
    // Includes are relative to the file itself, not to a link to it (as
    // mrjob resolves them).
    let real_dir = canon.parent().map(Path::to_path_buf);
    within.push(canon.clone());
    if let Some(inc) = doc.get("include") {
        let list: Vec<&toml::Value> = match inc {
            toml::Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for v in list {
            let Some(s) = v.as_str() else {
                bail!(
                    "config file {}: include = {v}: give a file name or a list of them",
                    path.display()
                );
            };
            let at = || format!("config file {}, include {s:?}", path.display());
            let expanded = expand_path(s).with_context(at)?;
            let dir = real_dir
                .as_deref()
                .or(path.parent())
                .unwrap_or(Path::new(""));
            let included = dir.join(expanded);
            if let Ok(false) = included.try_exists() {
                bail!("{}: {} does not exist", at(), included.display());
            }
            load(&included, within, out)?;
        }
    }
    within.pop();
    let runners = match doc.get("runners") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => bail!(
            "config file {}: runners must be a table of sections ([runners.local], ...)",
            path.display()
        ),
    };
    let names = runner_names();
    for name in runners.keys() {
        // mrjob's cloud runners: a config shared with mrjob (or converted
        // from its mrjob.conf) keeps their sections, as mrjob reads only
        // the section of the runner it runs; no mr run reads them.
        if !names.contains(name) && !MRJOB_CLOUD_RUNNERS.contains(&name.as_str()) {
            let known: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = match crate::closest(name, &known) {
                Some(k) => format!(" (did you mean runners.{k}?)"),
                None => String::new(),
            };
            bail!(
                "config file {}: unknown runner section runners.{name}{hint}; the runners are {}",
                path.display(),
                names.join(", ")
            );
        }
    }
    out.push((canon, path.to_path_buf(), runners));
    Ok(())
}

/// The file parsed as TOML; a file that does not parse and looks like an
/// mrjob.conf (YAML or JSON) is said to be one.
fn parse(path: &Path, text: &str) -> anyhow::Result<toml::Table> {
    let e = match text.parse::<toml::Table>() {
        Ok(doc) => return Ok(doc),
        Err(e) => e,
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mrjob_like = matches!(ext, "yaml" | "yml" | "json")
        || text.trim_start().starts_with('{')
        || text.lines().any(|l| l.trim_end() == "runners:");
    if mrjob_like {
        bail!(
            "config file {}: it is not TOML (it looks like an mrjob.conf, YAML or JSON): mr \
             reads its config file as TOML, where mrjob's `runners: local: num_cores: 4` is a \
             line `[runners.local]` and below it `num_cores = 4` (see docs/from-mrjob.md)",
            path.display()
        );
    }
    Err(anyhow!(e).context(format!("parsing the config file {} (TOML)", path.display())))
}

/// The clap ids that a config file cannot set, and why.
fn not_in_a_file(id: &str) -> Option<&'static str> {
    Some(match id {
        "conf_path" | "no_conf" => "a config file does not name another: use include = \"FILE\"",
        "runner" => {
            "the runner is chosen on the command line (-r hadoop), and each runner reads its \
             own section: put settings for -r hadoop under [runners.hadoop]"
        }
        "mapper" | "combiner" | "reducer" | "step_num" => {
            "task mode's options are given by the runner that starts a task, never by a config \
             file"
        }
        _ => return None,
    })
}

/// mr's name for a key of an mrjob.conf whose mrjob switch is not named so
/// (`upload_files` is mrjob's `--files`), or for mrjob's temp dirs in
/// `runner`'s section ([`mrjob_tmp_dir`]), taken in a file so a ported
/// config runs; `Err` says why such a key has no meaning there.
/// (`spark_submit_bin` is an alias of `spark_submit`, as on the command
/// line.)
fn mrjob_name(key: &str, runner: &str) -> Result<Option<&'static str>, String> {
    let key = key.replace('-', "_");
    if let Some(meaning) = mrjob_tmp_dir(&key, runner, false) {
        return meaning.map(|()| Some("tmp_dir"));
    }
    Ok(match key.as_str() {
        "upload_files" => Some("files"),
        _ => None,
    })
}

/// mrjob's temp dir options (`local_tmp_dir`, `hadoop_tmp_dir`,
/// `spark_tmp_dir`, as keys or switches) for `runner` (its name: `local`,
/// `hadoop`, ...): `Ok` when the option is mr's `tmp_dir` there, `Err` why
/// it has no meaning there (options named as switches, `--local-tmp-dir`,
/// when `switches`); `None` for another option. The one place that decides
/// it, for config files and for the command line.
///
/// mr's `--tmp-dir` is the local temp dir (spills, the emulator's tasks,
/// the Spark driver's files), but with `-r hadoop` the directory on the
/// cluster's filesystem between steps, which is mrjob's `hadoop_tmp_dir`:
/// mrjob's `local_tmp_dir` is then not it.
///
/// ```
/// use mr_cli::conf::mrjob_tmp_dir;
/// assert_eq!(mrjob_tmp_dir("local_tmp_dir", "local", false), Some(Ok(())));
/// assert_eq!(mrjob_tmp_dir("hadoop_tmp_dir", "hadoop", false), Some(Ok(())));
/// assert!(mrjob_tmp_dir("local_tmp_dir", "hadoop", false).unwrap().is_err());
/// assert!(mrjob_tmp_dir("hadoop_tmp_dir", "local", true).unwrap().unwrap_err().contains("--tmp-dir"));
/// assert!(mrjob_tmp_dir("spark_tmp_dir", "spark", false).unwrap().is_err());
/// assert_eq!(mrjob_tmp_dir("tmp_dir", "local", false), None);
/// ```
pub fn mrjob_tmp_dir(key: &str, runner: &str, switches: bool) -> Option<Result<(), String>> {
    let name = |k: &str| {
        if switches {
            format!("--{}", k.replace('_', "-"))
        } else {
            k.to_string()
        }
    };
    let (tmp, local, hadoop) = (
        name("tmp_dir"),
        name("local_tmp_dir"),
        name("hadoop_tmp_dir"),
    );
    let on_hadoop = runner == "hadoop";
    Some(match (key, on_hadoop) {
        ("local_tmp_dir", false) | ("hadoop_tmp_dir", true) => Ok(()),
        ("local_tmp_dir", true) => Err(format!(
            "mr's Hadoop runner has no local temp dir of its own (its small files, and the copy \
             of the results it prints without --output, go to $TMPDIR), and its {tmp} is the \
             directory on the cluster's filesystem (mrjob's {hadoop}): remove {local}, or set \
             TMPDIR"
        )),
        ("hadoop_tmp_dir", false) => Err(format!(
            "it is for -r hadoop (the directory on the cluster's filesystem between steps): \
             give it to -r hadoop only ([runners.hadoop] in a config file); the temp dir of \
             -r {runner} is {tmp} (mrjob's {local})"
        )),
        ("spark_tmp_dir", _) => Err(format!(
            "mr's Spark runner keeps nothing on the cluster's filesystem (its steps are chained \
             inside Spark, files are shipped with addFile), so mr has no use for it: remove \
             it; the local temp dir{} is {tmp} (mrjob's {})",
            if on_hadoop { "" } else { " of this runner" },
            if on_hadoop { &hadoop } else { &local },
        )),
        _ => return None,
    })
}

/// The runners of mrjob that mr has not (`-r emr`, `-r dataproc`): their
/// sections in a config file are left unread, as mrjob leaves every
/// section but its runner's (docs/from-mrjob.md).
const MRJOB_CLOUD_RUNNERS: [&str; 2] = ["emr", "dataproc"];

/// Why a common key of mrjob.conf (mrjob 0.7.4) that mr takes no value
/// for has no meaning in mr (docs/from-mrjob.md), said instead of "not an
/// option of mr run" and a guess at a near name.
pub(crate) fn mrjob_without_meaning(key: &str) -> Option<&'static str> {
    Some(match key.replace('-', "_").as_str() {
        "python_bin" | "task_python_bin" | "sh_bin" | "setup" | "bootstrap_mrjob" | "py_files" => {
            "mr does not need it: the job is one binary, with no Python or setup script to \
             name (scripts/build-cluster-binary.sh builds it for a cluster's old glibc)"
        }
        "upload_archives" | "upload_dirs" | "libjars" => {
            "mr does not ship archives, directories or jars: ship files with files (mrjob's \
             upload_files)"
        }
        "hadoop_extra_args" | "spark_args" => {
            "mr does not pass extra arguments to hadoop or spark-submit: give settings in \
             jobconf (-D), which reaches both"
        }
        "sort_bin" => {
            "mr sorts by key bytes and partitions with Hadoop's hash itself, on every runner"
        }
        "read_logs" | "hadoop_log_dirs" => {
            "mr reads no Hadoop logs: a failing step's stderr tail is shown"
        }
        "label" | "owner" => "mr names its runs by the job, the time and its pid",
        "hadoop_version" => "mr does not need Hadoop's version",
        _ => return None,
    })
}

/// Why mr has no such switch, for one of mrjob's command-line switches
/// (`--setup`, `--py-files`, `--partitioner`, ...): clap's own error offered
/// a "similar" switch of mr's that does something else (`--setup` ->
/// `--step-num`, probe /tmp/probe2-mrjob2 repro 01).
///
/// ```text
/// mrjob_switch_without_meaning("--setup=make") -> Some("mr does not need it: ...")
/// ```
pub(crate) fn mrjob_switch_without_meaning(arg: &str) -> Option<&'static str> {
    let name = arg.strip_prefix("--")?;
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    let key = match name {
        "py-file" => "py_files",
        "archives" | "archive" => "upload_archives",
        "dirs" | "dir" => "upload_dirs",
        "libjar" => "libjars",
        "hadoop-arg" | "hadoop-args" => "hadoop_extra_args",
        "spark-arg" => "spark_args",
        "no-read-logs" => "read_logs",
        "hadoop-log-dir" => "hadoop_log_dirs",
        "no-bootstrap-mrjob" => "bootstrap_mrjob",
        "steps" => {
            return Some(
                "mr's steps are the job's own, shown by `mr run JOB --help`; a task is run \
                 with --step-num N and --mapper, --combiner or --reducer",
            );
        }
        "partitioner" => {
            return Some(
                "mr partitions by Hadoop's hash of the key bytes on every runner, so that \
                 results are the same everywhere; mrjob's Java partitioner classes are not used",
            );
        }
        "step-output-dir" => {
            return Some(
                "mr keeps the output of the steps before the last in its temp dir (--tmp-dir, \
                 or -r hadoop's on the cluster) and removes it after the run",
            );
        }
        other => other,
    };
    mrjob_without_meaning(key)
}

/// The settings of `key = value` in `runner`'s section of `file`.
fn key_settings(
    file: &Path,
    runner: &str,
    key: &str,
    value: &toml::Value,
    run: &clap::Command,
    other_jobs: &[String],
) -> anyhow::Result<Vec<Setting>> {
    let full = format!("runners.{runner}.{key}");
    let origin = format!("config file {}, key {full}", file.display());
    let dashed = key.replace('_', "-");
    let names = |a: &clap::Arg| -> Vec<String> {
        let mut n: Vec<String> = a.get_long().map(str::to_string).into_iter().collect();
        n.extend(
            a.get_all_aliases()
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string),
        );
        n
    };
    let named = |name: &str| {
        let dashed = name.replace('_', "-");
        run.get_arguments()
            .find(|a| names(a).iter().any(|n| *n == name || *n == dashed))
    };
    // mrjob's name first: `local_tmp_dir` is also mr's hidden switch
    // `--local-tmp-dir`, whose meaning depends on the runner as this does.
    let mrjob = mrjob_name(key, runner)
        .map_err(|why| anyhow!("{origin}: {key} has no meaning in mr's -r {runner}: {why}"))?;
    let Some(arg) = mrjob.and_then(named).or_else(|| named(key)) else {
        // Another job's option (`sample_size` for mr_log_sampler): for the
        // runs of the jobs that have it, not an error in every other run.
        if other_jobs.contains(&dashed) {
            return Ok(Vec::new());
        }
        if let Some(why) = mrjob_without_meaning(key) {
            bail!("{origin}: {key} (mrjob's) has no meaning in mr: {why}; remove it");
        }
        let all: Vec<String> = run.get_arguments().flat_map(names).collect();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let hint = match crate::closest(&dashed, &all) {
            Some(k) => format!(" (did you mean {}?)", k.replace('-', "_")),
            None => String::new(),
        };
        bail!(
            "{origin}: {key} is not an option of mr run{hint}; the keys are mr run's long \
             option names (mr run --help) and the job's own (mr run JOB --help)"
        );
    };
    let id = arg.get_id().as_str().to_string();
    if let Some(why) = not_in_a_file(&id) {
        bail!("{origin}: {key} cannot be set in a config file: {why}");
    }
    if let toml::Value::Array(_) = value
        && id == "spark_submit"
    {
        bail!(
            "{origin}: {key} is mr's spark_submit, the path of spark-submit alone (mrjob's \
             command with arguments is not taken): give the path as a string; Spark settings \
             go in jobconf"
        );
    }
    let long = arg.get_long().unwrap_or(key).to_string();
    let action = arg.get_action();
    let list = matches!(action, clap::ArgAction::Append);
    let value_names: Vec<String> = arg
        .get_value_names()
        .unwrap_or_default()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let keyed = value_names.iter().any(|n| n == "KEY=VALUE");
    let is_path = value_names.iter().any(|n| {
        ["PATH", "DIR", "FILE", "JAR", "INPUT"]
            .iter()
            .any(|p| n.starts_with(p))
    });
    let setting = |key: String, arg: String, item: Option<String>| Setting {
        file: file.to_path_buf(),
        key,
        id: id.clone(),
        arg,
        list,
        item,
    };
    if matches!(action, clap::ArgAction::SetTrue | clap::ArgAction::Count) {
        return match value {
            toml::Value::Boolean(true) => Ok(vec![setting(full, format!("--{long}"), None)]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            other => bail!(
                "{origin}: {key} is a switch: give it true or false (a TOML boolean, without \
                 quotes), not {other}"
            ),
        };
    }
    let scalar = |at: &str, v: &toml::Value| -> anyhow::Result<String> {
        let at = || format!("config file {}, key {at} = {v}", file.display());
        let s = match v {
            toml::Value::String(s) if is_path => expand_path(s).with_context(at)?,
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::Array(_) | toml::Value::Table(_) => {
                bail!("{}: expected a string or a number", at())
            }
        };
        if s.contains('\0') {
            bail!(
                "{}: the value holds a NUL character (\\u0000), which no option, path or \
                 environment variable can hold: remove it",
                at()
            );
        }
        Ok(s)
    };
    // The KEY of a `KEY=VALUE` item, the NAME of a `files` item.
    let item_of = |s: &str| -> Option<String> {
        if keyed {
            s.split_once('=').map(|(k, _)| k.to_string())
        } else if id == "files" && !s.contains(',') {
            mr_core::options::parse_file_spec(s)
                .ok()
                .map(|(_, name)| name)
        } else {
            None
        }
    };
    match value {
        toml::Value::Table(t) if keyed => {
            let mut flat = Vec::new();
            flatten("", t, &mut flat);
            flat.into_iter()
                .map(|(k, v)| {
                    let at = format!("{full}.{k}");
                    if k.contains('=') {
                        bail!(
                            "config file {}, key {at}: a {key} key cannot hold '='",
                            file.display()
                        );
                    }
                    let v = scalar(&at, v)?;
                    Ok(setting(at, format!("--{long}={k}={v}"), Some(k)))
                })
                .collect()
        }
        toml::Value::Array(items) if list => items
            .iter()
            .map(|v| {
                let s = scalar(&full, v)?;
                Ok(setting(full.clone(), format!("--{long}={s}"), item_of(&s)))
            })
            .collect(),
        toml::Value::Table(_) => bail!(
            "{origin}: {key} takes a value{}, not a table",
            if list { " or a list" } else { "" }
        ),
        toml::Value::Array(_) => bail!("{origin}: {key} takes one value, not a list"),
        v => {
            let s = scalar(&full, v)?;
            let item = if list { item_of(&s) } else { None };
            Ok(vec![setting(full, format!("--{long}={s}"), item)])
        }
    }
}

/// The leaves of a table of `jobconf` or `cmdenv`, nested tables joined by
/// dots: TOML reads `mapreduce.job.reduces = 2` as three tables.
fn flatten<'a>(prefix: &str, t: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            v => out.push((key, v)),
        }
    }
}

/// The settings that the command line (`sm`, the matches of `run` on the
/// command line alone) leaves standing: the one place that decides which
/// wins. See the module docs.
pub fn not_overridden(
    settings: Vec<Setting>,
    run: &clap::Command,
    sm: &clap::ArgMatches,
) -> Vec<Setting> {
    use clap::parser::ValueSource;
    let given = |id: &str| {
        run.get_arguments().any(|a| a.get_id() == id)
            && sm.value_source(id) == Some(ValueSource::CommandLine)
    };
    let typed: Vec<&clap::Arg> = run
        .get_arguments()
        .filter(|a| given(a.get_id().as_str()))
        .collect();
    let conflict = |id: &str| {
        let Some(arg) = run.get_arguments().find(|a| a.get_id() == id) else {
            return false;
        };
        typed.iter().any(|t| {
            run.get_arg_conflicts_with(arg)
                .iter()
                .any(|c| c.get_id() == t.get_id())
                || run
                    .get_arg_conflicts_with(t)
                    .iter()
                    .any(|c| c.get_id() == arg.get_id())
        })
    };
    // The items (KEY or NAME) the command line gives a keyed list.
    let typed_items = |id: &str| -> Vec<String> {
        if !given(id) {
            return Vec::new();
        }
        sm.get_many::<String>(id)
            .into_iter()
            .flatten()
            // `--files a.tsv,b.tsv#lookup`: two files.
            .flat_map(|s| match id {
                "files" => s.split(',').collect(),
                _ => vec![s.as_str()],
            })
            .filter_map(|s| match id {
                "files" => mr_core::options::parse_file_spec(s).ok().map(|(_, n)| n),
                _ => s.split_once('=').map(|(k, _)| k.to_string()),
            })
            .collect()
    };
    let jobconf = typed_items("jobconf");
    settings
        .into_iter()
        .filter(|s| {
            if conflict(&s.id) {
                return false;
            }
            match (s.id.as_str(), &s.item) {
                // One setting, two spellings: -D mapreduce.job.reduces=N
                // typed beats the file's partitions.
                ("partitions", _) => {
                    !given("partitions")
                        && !jobconf
                            .iter()
                            .any(|k| crate::cmd::run::LOCAL_JOBCONF.contains(&k.as_str()))
                }
                // Inputs named on the command line replace the file's.
                ("inputs", _) => !given("inputs") && !given("positional_inputs"),
                (id, Some(item)) => !typed_items(id).contains(item),
                (id, None) => s.list || !given(id),
            }
        })
        .collect()
}

/// A command-line value with a leading `~` (alone or before `/`) as
/// `$HOME`, as mrjob expands its path options: the shell does not expand it
/// after `=` (`--tmp-dir=~/scratch`), and a directory named `~` would be
/// made. `$VAR` is left alone (the shell saw it); so is `~user`.
///
/// ```
/// let home = std::env::var("HOME").unwrap();
/// assert_eq!(mr_cli::conf::expand_home("~/s", "--tmp-dir").unwrap(), format!("{home}/s"));
/// assert_eq!(mr_cli::conf::expand_home("a/~/$X", "--tmp-dir").unwrap(), "a/~/$X");
/// ```
pub fn expand_home(value: &str, flag: &str) -> anyhow::Result<String> {
    match value.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = std::env::var("HOME")
                .ok()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| {
                    anyhow!("{flag} {value}: $HOME is not set, so ~ cannot be expanded: give the full path")
                })?;
            Ok(format!("{home}{rest}"))
        }
        _ => Ok(value.to_string()),
    }
}

/// [`expand_home`] for a path (one that is not UTF-8 is left as it is).
pub fn expand_home_path(path: &Path, flag: &str) -> anyhow::Result<PathBuf> {
    match path.to_str() {
        Some(s) => expand_home(s, flag).map(PathBuf::from),
        None => Ok(path.to_path_buf()),
    }
}

/// [`expand_home`] on every option of `a` that takes a path, and on the
/// job's file options (`file_options`, by name).
pub fn expand_home_in_args(
    a: &mut crate::args::RunArgs,
    file_options: &[String],
) -> anyhow::Result<()> {
    for (flag, p) in [
        ("--output", &mut a.output),
        ("--tmp-dir", &mut a.tmp_dir),
        ("--report", &mut a.report),
        ("--dictionaries", &mut a.dictionaries),
        ("--dictionary-store", &mut a.dictionary_store),
        ("--hadoop-bin", &mut a.hadoop_bin),
        ("--hadoop-streaming-jar", &mut a.hadoop_streaming_jar),
        ("--spark-submit", &mut a.spark_submit),
    ] {
        if let Some(path) = p {
            *path = expand_home_path(path, flag)?;
        }
    }
    for path in a.conf_path.iter_mut() {
        *path = expand_home_path(path, "--conf-path")?;
    }
    for i in a.inputs.iter_mut().chain(a.positional_inputs.iter_mut()) {
        *i = expand_home(i, "--input")?;
    }
    for f in a.files.iter_mut() {
        *f = f
            .split(',')
            .map(|piece| expand_home(piece, "--files"))
            .collect::<anyhow::Result<Vec<_>>>()?
            .join(",");
    }
    for name in file_options {
        if let Some(v) = a.job_options.get_mut(name) {
            *v = expand_home(v, &format!("--{name}"))?;
        }
    }
    Ok(())
}

/// `path` with a leading `~` (alone or before `/`) as `$HOME`, and each
/// `$NAME` or `${NAME}` as that environment variable (see the module docs).
///
/// ```
/// use mr_cli::conf::expand_path;
/// let home = std::env::var("HOME").unwrap();
/// assert_eq!(expand_path("~/tmp").unwrap(), format!("{home}/tmp"));
/// assert_eq!(expand_path("/s/${HOME}x/$HOME").unwrap(), format!("/s/{home}x/{home}"));
/// assert_eq!(expand_path("/a~b/$").unwrap(), "/a~b/$");
/// assert_eq!(expand_path("/a/$$HOME").unwrap(), "/a/$HOME");
/// assert!(expand_path("~root/x").is_err());
/// assert!(expand_path("/s/$MR_SURELY_UNSET_VARIABLE").is_err());
/// ```
pub fn expand_path(path: &str) -> anyhow::Result<String> {
    let var = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("${name} is not set"));
    let mut out = String::new();
    let rest = match path.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => {
            out.push_str(&var("HOME")?);
            r
        }
        // `~user`: not looked up; said, rather than made as a directory
        // named so.
        Some(_) => bail!("~user is not expanded here: give the full path"),
        _ => path,
    };
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let after = &rest[i + 1..];
        if after.starts_with('$') {
            // `$$`: a `$` of the path itself.
            out.push('$');
            chars.next();
            continue;
        }
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => bail!("${{ without a closing }}"),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        out.push_str(&var(name)?);
        while chars.next_if(|&(j, _)| j <= i + len).is_some() {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mr run`'s command, as parsing sees it.
    fn run_cmd() -> clap::Command {
        let cmd = <crate::args::Cli as clap::CommandFactory>::command();
        cmd.find_subcommand("run").cloned().unwrap()
    }

    /// The arguments `text` gives `runner`, or the error's text.
    fn args_of(text: &str, runner: &str) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mr.toml");
        std::fs::write(&path, text).unwrap();
        let conf = ConfFile {
            path,
            named_by: "-c/--conf-path",
        };
        settings(&[conf], runner, &run_cmd(), &[])
            .map(|s| s.into_iter().map(|s| s.arg).collect())
            .map_err(|e| format!("{e:#}"))
    }

    /// The settings of `text` that `typed` (a `mr run` command line) leaves.
    fn kept(text: &str, typed: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mr.toml");
        std::fs::write(&path, text).unwrap();
        let conf = ConfFile {
            path,
            named_by: "-c/--conf-path",
        };
        let run = run_cmd();
        let s = settings(&[conf], "local", &run, &[]).unwrap();
        let argv = [&["run"][..], typed, &["word_count"]].concat();
        let sm = run.clone().try_get_matches_from(argv).unwrap();
        not_overridden(s, &run, &sm)
            .into_iter()
            .map(|s| s.arg)
            .collect()
    }

    #[test]
    fn empty_and_commented_files_give_nothing() {
        assert_eq!(args_of("", "local"), Ok(vec![]));
        assert_eq!(
            args_of("# [runners.local]\n# jobs = 4\n", "local"),
            Ok(vec![])
        );
        assert_eq!(args_of("[runners.hadoop]\njobs = 4\n", "local"), Ok(vec![]));
    }

    #[test]
    fn mrjob_cloud_runner_sections_are_left_unread() {
        // A config shared with mrjob: its EMR and Dataproc sections, with
        // keys mr has not, do not stop a local run.
        let conf = "[runners.emr]\nregion = \"us-west-2\"\ninstance_type = \"m5.xlarge\"\n\
                    [runners.dataproc]\nzone = \"a\"\n[runners.local]\njobs = 3\n";
        assert_eq!(
            args_of(conf, "local"),
            args_of("[runners.local]\njobs = 3\n", "local")
        );
        assert!(args_of(conf, "local").is_ok_and(|a| !a.is_empty()));
        // A near name is still a typo of mr's own.
        let e = args_of("[runners.emrr]\njobs = 1\n", "local").unwrap_err();
        assert!(e.contains("unknown runner section runners.emrr"), "{e}");
    }

    #[test]
    fn unknown_sections_and_keys_are_refused() {
        let e = args_of("[runners.locl]\njobs = 1\n", "local").unwrap_err();
        assert!(
            e.contains("runners.locl (did you mean runners.local?)"),
            "{e}"
        );
        assert!(e.contains("local, inline, hadoop, spark, emulate"), "{e}");
        let e = args_of("[runner.local]\njobs = 1\n", "local").unwrap_err();
        assert!(
            e.contains("unknown key runner (did you mean runners?)"),
            "{e}"
        );
        let e = args_of("[runners.local]\njbos = 1\n", "local").unwrap_err();
        assert!(
            e.contains("key runners.local.jbos") && e.contains("did you mean jobs?"),
            "{e}"
        );
        let e = args_of("[runners.local]\nrunner = \"hadoop\"\n", "local").unwrap_err();
        assert!(e.contains("[runners.hadoop]"), "{e}");
        let e = args_of("[runners.local]\nmapper = true\n", "local").unwrap_err();
        assert!(e.contains("task mode"), "{e}");
    }

    #[test]
    fn a_switch_takes_a_boolean() {
        assert_eq!(
            args_of("[runners.local]\nquiet = true\n", "local"),
            Ok(vec!["--quiet".into()])
        );
        assert_eq!(
            args_of("[runners.local]\nquiet = false\n", "local"),
            Ok(vec![])
        );
        for v in ["\"false\"", "1", "\"true\""] {
            let e = args_of(&format!("[runners.local]\nquiet = {v}\n"), "local").unwrap_err();
            assert!(
                e.contains("key runners.local.quiet") && e.contains("true or false"),
                "{e}"
            );
        }
    }

    #[test]
    fn aliases_and_nested_jobconf() {
        assert_eq!(
            args_of(
                "[runners.local]\nnum_cores = 2\nnum-reducers = 3\noutput_dir = \"o\"\n",
                "local"
            ),
            Ok(vec![
                "--partitions=3".into(),
                "--jobs=2".into(),
                "--output=o".into()
            ])
        );
        assert_eq!(
            args_of(
                "[runners.local.jobconf]\nmapreduce.job.reduces = 2\n\"a.b\" = \"x\"\n",
                "local"
            ),
            Ok(vec![
                "--jobconf=a.b=x".into(),
                "--jobconf=mapreduce.job.reduces=2".into()
            ])
        );
        let e = args_of("[runners.local]\njobs = 1\nnum_cores = 2\n", "local").unwrap_err();
        assert!(e.contains("are one option"), "{e}");
        // A negative number is a value, not an option.
        assert_eq!(
            args_of("[runners.local]\njobs = -1\n", "local"),
            Ok(vec!["--jobs=-1".into()])
        );
    }

    #[test]
    fn mrjob_conf_names_of_files_and_spark_submit() {
        assert_eq!(
            args_of(
                "[runners.spark]\nupload_files = [\"x.tsv#lookup\"]\n\
                 spark_submit_bin = \"/opt/spark/bin/spark-submit\"\n",
                "spark"
            ),
            Ok(vec![
                "--spark-submit=/opt/spark/bin/spark-submit".into(),
                "--files=x.tsv#lookup".into()
            ])
        );
        let e = args_of(
            "[runners.local]\nfiles = [\"a\"]\nupload_files = [\"b\"]\n",
            "local",
        )
        .unwrap_err();
        assert!(e.contains("are one option"), "{e}");
        let e = args_of(
            "[runners.spark]\nspark_submit_bin = [\"spark-submit\", \"--verbose\"]\n",
            "spark",
        )
        .unwrap_err();
        assert!(
            e.contains("runners.spark.spark_submit_bin") && e.contains("spark-submit alone"),
            "{e}"
        );
    }

    /// mrjob's temp dirs, by runner; keys mr has no use for said so, not
    /// "not an option" with a guess ("python_bin": did you mean hadoop_bin?).
    #[test]
    fn mrjob_tmp_dirs_by_runner_and_keys_without_meaning() {
        assert_eq!(
            args_of("[runners.local]\nlocal_tmp_dir = \"/s\"\n", "local"),
            Ok(vec!["--tmp-dir=/s".into()])
        );
        assert_eq!(
            args_of("[runners.hadoop]\nhadoop_tmp_dir = \"/c\"\n", "hadoop"),
            Ok(vec!["--tmp-dir=/c".into()])
        );
        for (text, runner, says) in [
            (
                "[runners.hadoop]\nlocal_tmp_dir = \"/s\"\n",
                "hadoop",
                "$TMPDIR",
            ),
            (
                "[runners.emulate]\nhadoop_tmp_dir = \"/c\"\n",
                "emulate",
                "[runners.hadoop]",
            ),
            (
                "[runners.spark]\nspark_tmp_dir = \"/c\"\n",
                "spark",
                "no use for it",
            ),
        ] {
            let e = args_of(text, runner).unwrap_err();
            assert!(
                e.contains(&format!("has no meaning in mr's -r {runner}")) && e.contains(says),
                "{e}"
            );
        }
        for key in [
            "python_bin",
            "setup",
            "upload_archives",
            "label",
            "hadoop_extra_args",
        ] {
            let e = args_of(&format!("[runners.local]\n{key} = \"x\"\n"), "local").unwrap_err();
            assert!(
                e.contains(&format!("{key} (mrjob's) has no meaning in mr: "))
                    && !e.contains("did you mean"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_nul_is_refused_naming_the_key() {
        let e = args_of("[runners.local]\ncmdenv = { A = \"x\\u0000y\" }\n", "local").unwrap_err();
        assert!(
            e.contains("key runners.local.cmdenv.A") && e.contains("NUL"),
            "{e}"
        );
    }

    #[test]
    fn includes_are_read_first_relative_to_the_including_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/base.toml"),
            "[runners.local]\njobs = 2\nquiet = true\ncmdenv = { A = \"1\", B = \"1\" }\n",
        )
        .unwrap();
        let top = dir.path().join("sub/top.toml");
        std::fs::write(
            &top,
            "include = [\"base.toml\"]\n[runners.local]\njobs = 1\ncmdenv = { A = \"2\" }\n",
        )
        .unwrap();
        let conf = ConfFile {
            path: top,
            named_by: "-c/--conf-path",
        };
        let args: Vec<String> = settings(&[conf], "local", &run_cmd(), &[])
            .unwrap()
            .into_iter()
            .map(|s| s.arg)
            .collect();
        assert_eq!(
            args,
            ["--cmdenv=B=1", "--quiet", "--cmdenv=A=2", "--jobs=1"]
        );
        // Through a link elsewhere: relative to the file, not the link.
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(dir.path().join("sub/top.toml"), &link).unwrap();
        let linked = ConfFile {
            path: link,
            named_by: "-c/--conf-path",
        };
        assert_eq!(
            settings(&[linked], "local", &run_cmd(), &[]).unwrap().len(),
            4
        );
        let looped = dir.path().join("a.toml");
        std::fs::write(&looped, "include = \"b.toml\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "include = \"a.toml\"\n").unwrap();
        let conf = ConfFile {
            path: looped,
            named_by: "-c/--conf-path",
        };
        let e = format!(
            "{:#}",
            settings(&[conf], "local", &run_cmd(), &[]).unwrap_err()
        );
        assert!(e.contains("includes itself"), "{e}");
    }

    #[test]
    fn several_files_are_read_in_order_each_once_at_its_last_place() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            ConfFile {
                path,
                named_by: "-c/--conf-path",
            }
        };
        let base = write(
            "base.toml",
            "[runners.local]\njobs = 1\nfiles = [\"b.tsv\"]\ncmdenv = { A = \"base\" }\n",
        );
        let top = write(
            "top.toml",
            "include = \"base.toml\"\n[runners.local]\njobs = 2\ncmdenv = { A = \"top\" }\n",
        );
        let args = |confs: &[ConfFile]| -> Vec<String> {
            settings(confs, "local", &run_cmd(), &[])
                .unwrap()
                .into_iter()
                .map(|s| s.arg)
                .collect()
        };
        // What mrjob's load_opts_from_mrjob_confs gives for the same files:
        // [top (with base first), base]: base, read once, at its last place.
        assert_eq!(
            args(&[top.clone(), base.clone()]),
            ["--cmdenv=A=base", "--files=b.tsv", "--jobs=1"]
        );
        assert_eq!(
            args(&[base.clone(), top.clone()]),
            ["--files=b.tsv", "--cmdenv=A=top", "--jobs=2"]
        );
        // Named twice: its list items are not doubled.
        assert_eq!(
            args(&[base.clone(), base.clone()]),
            ["--cmdenv=A=base", "--files=b.tsv", "--jobs=1"]
        );
        let missing = ConfFile {
            path: dir.path().join("nope.toml"),
            named_by: "-c/--conf-path",
        };
        let e = format!(
            "{:#}",
            settings(&[base, missing], "local", &run_cmd(), &[]).unwrap_err()
        );
        assert!(
            e.contains("nope.toml") && e.contains("does not exist"),
            "{e}"
        );
    }

    #[test]
    fn yaml_and_json_are_said_to_be_mrjob_confs() {
        let e = args_of("runners:\n  local:\n    jobs: 2\n", "local").unwrap_err();
        assert!(
            e.contains("not TOML") && e.contains("[runners.local]"),
            "{e}"
        );
        let e = args_of("{\"runners\": {}}\n", "local").unwrap_err();
        assert!(e.contains("not TOML"), "{e}");
    }

    #[test]
    fn the_command_line_wins() {
        let text = "[runners.local]\njobs = 2\nverbose = true\npartitions = 2\n\
                    cmdenv = { A = \"1\", B = \"1\" }\nfiles = [\"x.tsv#lookup\", \"y.tsv\"]\ninput = [\"in\"]\n";
        assert_eq!(
            kept(
                text,
                &[
                    "-j",
                    "3",
                    "-q",
                    "-D",
                    "mapreduce.job.reduces=5",
                    "--cmdenv",
                    "A=2"
                ]
            ),
            [
                "--cmdenv=B=1",
                "--files=x.tsv#lookup",
                "--files=y.tsv",
                "--input=in"
            ]
        );
        assert_eq!(
            kept(
                text,
                &["--num-cores", "3", "--files", "z.tsv#lookup", "-i", "other"]
            ),
            [
                "--cmdenv=A=1",
                "--cmdenv=B=1",
                "--files=y.tsv",
                "--partitions=2",
                "--verbose"
            ]
        );
    }

    #[test]
    fn home_on_the_command_line() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(expand_home("~", "-o").unwrap(), home);
        assert_eq!(expand_home("~x/y", "-o").unwrap(), "~x/y");
        assert_eq!(expand_home("$HOME/y", "-o").unwrap(), "$HOME/y");
    }
}
