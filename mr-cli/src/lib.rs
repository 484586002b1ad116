//! # mr-cli: the `mr` command, as a library
//!
//! The `mr` binary is [`main_with`] called on the shipped jobs. A user's own
//! crate gets the same command line for its own jobs with one call, the way an
//! mrjob script ends with `MRMyJob.run()`:
//!
//! ```no_run
//! # struct MyJob;
//! # impl mr_core::Job for MyJob { fn name(&self) -> &str { "my_job" }
//! #   fn description(&self) -> &str { "" } fn steps(&self) -> Vec<mr_core::Step> { vec![] } }
//! // `fn main` for a binary named after the crate, with its version:
//! mr_cli::main!(mr_cli::Registry::new().with(MyJob));
//! ```
//!
//! [`main_with`] does the same with the binary's file name and mr's version.
//!
//! Modules: [`args`] holds the flags as parsed; [`cmd`] has one module per
//! subcommand; [`generate`] generates test data; [`cluster`] runs a job on Hadoop,
//! Spark or the Hadoop emulator with this binary as the streaming program.
#![deny(missing_docs)]

pub mod args;
pub mod closed_stdout;
pub mod cluster;
pub mod cmd;
pub mod conf;
pub mod generate;
pub mod job_args;
pub mod stdout_aside;

use mr_core::Job;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// The jobs a binary knows, by name.
#[derive(Clone, Default)]
pub struct Registry {
    jobs: Vec<Arc<dyn Job>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The jobs shipped with mr: `jobs/` and `examples/`.
    pub fn builtin() -> Registry {
        let mut r = Registry::new();
        r.jobs.extend(mr_jobs::all());
        r.jobs.extend(mr_examples::all());
        r
    }

    /// Adds a job.
    pub fn with(mut self, job: impl Job) -> Registry {
        self.jobs.push(Arc::new(job));
        self
    }

    /// The jobs, in registration order.
    pub fn jobs(&self) -> impl Iterator<Item = &Arc<dyn Job>> {
        self.jobs.iter()
    }

    /// Finds a job by name or by its path in the repo (`jobs/word_count`,
    /// `jobs/src/word_count.rs`); an unknown name is an error listing the
    /// known ones.
    ///
    /// ```
    /// let r = mr_cli::Registry::builtin();
    /// assert_eq!(r.resolve("jobs/word_count/").unwrap().name(), "word_count");
    /// assert!(r.resolve("nope").is_err_and(|e| e.to_string().contains("word_count")));
    /// let e = r.resolve("mr_word_freq_count.py").err().unwrap().to_string();
    /// assert!(e.contains("mrjob's mr_word_freq_count.py is the job \"word_count\" here"), "{e}");
    /// ```
    pub fn resolve(&self, name: &str) -> anyhow::Result<Arc<dyn Job>> {
        let trimmed = name.trim_end_matches('/');
        let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
        let base = base.strip_suffix(".rs").unwrap_or(base);
        if let Some(j) = self.jobs.iter().find(|j| j.name() == base) {
            return Ok(j.clone());
        }
        let known: Vec<&str> = self.jobs.iter().map(|j| j.name()).collect();
        // An mrjob script's name (`mr_grep.py`), or the example whose port
        // has another name.
        let stem = base.strip_suffix(".py").unwrap_or(base);
        let port = if stem == "mr_word_freq_count" {
            "word_count"
        } else {
            stem
        };
        if port != base && known.contains(&port) {
            usage!("unknown job {name:?}: mrjob's {base} is the job {port:?} here");
        }
        if is_program(Path::new(name)) {
            // `python my_job.py in.txt` is `./target/release/my_job run my_job in.txt`.
            usage!(
                "unknown job {name:?}: it is a program, not a job this binary knows; a job \
                 crate's binary runs its own jobs: `{0} run JOB ...` (`{0} jobs` lists them)",
                cluster::shell_quote(name)
            );
        }
        match closest(base, &known) {
            Some(best) => usage!(
                "unknown job {name:?}; did you mean {best:?}? (known jobs: {})",
                known.join(", ")
            ),
            None => usage!("unknown job {name:?}; known jobs: {}", known.join(", ")),
        }
    }
}

/// Whether `path` is a file someone may run (an executable bit set).
fn is_program(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    let runnable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
    #[cfg(not(unix))]
    let runnable = path.extension().is_some_and(|e| e == "exe");
    meta.is_file() && runnable
}

/// The known name closest to a mistyped one, if one is close enough: at most
/// a third of its letters changed (at least 1, for short names), or the typed
/// name is a part of a single known one.
///
/// ```
/// let known = ["word_count", "url_views", "top_lectures"];
/// assert_eq!(mr_cli::closest("wordcount", &known), Some("word_count"));
/// assert_eq!(mr_cli::closest("url_veiws", &known), Some("url_views"));
/// assert_eq!(mr_cli::closest("lectures", &known), Some("top_lectures"));
/// assert_eq!(mr_cli::closest("zzz", &known), None);
/// ```
pub fn closest<'a>(typed: &str, known: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    let best = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&typed, &k.to_lowercase()), *k))
        .min();
    if let Some((d, k)) = best
        && d <= (typed.chars().count() / 3).max(1)
    {
        return Some(k);
    }
    let mut containing = known
        .iter()
        .filter(|k| typed.len() >= 3 && k.to_lowercase().contains(&typed));
    match (containing.next(), containing.next()) {
        (Some(k), None) => Some(*k),
        _ => None,
    }
}

/// How a binary names itself in `--help` and `--version`.
#[derive(Debug, Clone)]
pub struct BinInfo {
    /// The command's name (`mr`, or the user's binary).
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

impl BinInfo {
    /// The binary's file name (from `argv[0]`) and mr's version.
    pub fn from_argv0() -> BinInfo {
        let name = std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "mr".into());
        BinInfo {
            // Once per process: clap wants the name for the program's life.
            name: Box::leak(name.into_boxed_str()),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// `fn main` for a job binary: the CLI over `$registry`, named after the
/// binary (`CARGO_BIN_NAME`) and showing its crate's version
/// (`CARGO_PKG_VERSION`) in `--help` and `--version`.
///
/// ```no_run
/// mr_cli::main!(mr_cli::Registry::builtin());
/// ```
#[macro_export]
macro_rules! main {
    ($registry:expr) => {
        fn main() -> ::std::process::ExitCode {
            $crate::main_named(
                $registry,
                $crate::BinInfo {
                    name: match option_env!("CARGO_BIN_NAME") {
                        Some(bin) => bin,
                        None => env!("CARGO_PKG_NAME"),
                    },
                    version: env!("CARGO_PKG_VERSION"),
                },
            )
        }
    };
}

/// The clap command for this binary: `mr`'s flags under the binary's own
/// name and version, and, for `run JOB --help`, the job's page on top.
pub fn command(registry: &Registry, info: &BinInfo, args: &[String]) -> clap::Command {
    use clap::CommandFactory;
    let name = info.name;
    let mut cmd = Cli::command()
        .name(name)
        .bin_name(name)
        .display_name(name)
        .version(info.version);
    if name != "mr" {
        cmd = cmd.about(format!(
            "{name} {}: MapReduce jobs, run by mr on every core of one machine or inside Hadoop Streaming",
            info.version
        ));
        // The examples in the help, with this binary's name and jobs.
        let own = |text: &str| for_binary(text, name, registry);
        if let Some(examples) = cmd.get_after_help().map(|t| own(&t.to_string())) {
            cmd = cmd.after_help(examples);
        }
        cmd = cmd.mut_subcommands(|c| match c.get_about().map(|t| own(&t.to_string())) {
            Some(about) => c.about(about),
            None => c,
        });
    }
    // The job names as JOB's possible values, for the completion scripts
    // (`mr run word_c<TAB>`); any other value (a path) is still taken, and
    // `--help` does not list them (`mr jobs` does).
    // (`mut_subcommands`, which keeps the commands in their order.)
    let names = JobNames::of(registry);
    cmd = cmd.mut_subcommands(|c| match c.get_name() {
        "run" | "emulate-hadoop" | "check" => c.mut_arg("job", |a| {
            a.value_parser(names.clone()).hide_possible_values(true)
        }),
        _ => c,
    });
    let asks_help = |a: &String| a == "--help" || a == "-h";
    // The job as `mr run` finds it (`-o DIR JOB --help`: DIR is no job),
    // else the first word that is not a flag.
    let named = job_args::job_name(&cmd, args)
        .filter(|_| args.iter().skip(2).any(asks_help))
        .map(|(_, job)| job);
    // A job mr does not know, where `mr run` finds the job, is said above
    // the command's own help, which was shown alone (`mr run url_vews
    // --help`: probe /tmp/probe3-ux repro 05).
    let page = match named {
        Some(job) => Some(match registry.resolve(&job) {
            Ok(job) => cmd::help::job_help(job.as_ref()),
            Err(e) => format!("mr: {e}; the help of the command follows.\n"),
        }),
        None => cmd::help::job_asking_for_help(args)
            .and_then(|job| registry.resolve(&job).ok())
            .map(|job| cmd::help::job_help(job.as_ref())),
    };
    if let Some(page) = page {
        for sub in ["run", "emulate-hadoop"] {
            let page = page.clone();
            cmd = cmd.mut_subcommand(sub, |c| c.before_help(page));
        }
    }
    cmd
}

/// `mr`'s help text for the binary `name` with `registry`'s jobs: its
/// commands (`` `mr run ``, `  mr jobs`, `| mr run`) under its name, and
/// the built-in jobs the examples name (`word_count`, `url_views`) as its
/// first job when it has not got them.
///
/// ```
/// let r = mr_cli::Registry::builtin();
/// let t = mr_cli::for_binary("Run a job: `mr run word_count -i in`.\n  zcat a.gz | mr run x", "my_job", &r);
/// assert_eq!(t, "Run a job: `my_job run word_count -i in`.\n  zcat a.gz | my_job run x");
/// let t = mr_cli::for_binary("`mr completions bash > /etc/bash_completion.d/mr` (zsh: as `_mr`; fish: ~/.config/fish/completions/mr.fish)", "my_job", &r);
/// assert_eq!(t, "`my_job completions bash > /etc/bash_completion.d/my_job` (zsh: as `_my_job`; fish: ~/.config/fish/completions/my_job.fish)");
/// let t = mr_cli::for_binary("  mr completions bash > ~/.local/share/bash-completion/completions/mr", "my_job", &r);
/// assert!(t.ends_with("completions/my_job"), "{t}");
/// ```
pub fn for_binary(text: &str, name: &str, registry: &Registry) -> String {
    let mut out = text
        .replace("`mr ", &format!("`{name} "))
        .replace("\n  mr ", &format!("\n  {name} "))
        .replace("| mr ", &format!("| {name} "))
        // Completion files, which shells load by the command's name: under
        // mr's, a job binary's were never loaded and replaced mr's own
        // (probe /tmp/probe3-ux repro 09).
        .replace("completions/mr.fish", &format!("completions/{name}.fish"))
        .replace(
            "bash_completion.d/mr`",
            &format!("bash_completion.d/{name}`"),
        )
        .replace("`_mr`", &format!("`_{name}`"));
    if let Some(rest) = out.strip_suffix("completions/mr") {
        out = format!("{rest}completions/{name}");
    }
    out = out.replace("completions/mr\n", &format!("completions/{name}\n"));
    if let Some(rest) = out.strip_prefix("  mr ") {
        out = format!("  {name} {rest}");
    }
    if let Some(first) = registry.jobs().next() {
        for builtin in ["word_count", "url_views"] {
            if registry.resolve(builtin).is_err() {
                out = out.replace(builtin, first.name());
            }
        }
    }
    out
}

/// JOB's value parser: any string (a job's name or its path in the repo),
/// with the registry's job names as possible values, which the completion
/// scripts offer.
///
/// ```
/// use clap::builder::TypedValueParser;
/// let names = mr_cli::JobNames::of(&mr_cli::Registry::builtin());
/// assert!(names.possible_values().unwrap().any(|v| v.get_name() == "word_count"));
/// let cmd = clap::Command::new("mr");
/// let path = names.parse_ref(&cmd, None, "jobs/word_count".as_ref()).unwrap();
/// assert_eq!(path, "jobs/word_count");
/// ```
#[derive(Clone, Debug)]
pub struct JobNames(Vec<clap::builder::PossibleValue>);

impl JobNames {
    /// The names of `registry`'s jobs, each with the first line of its
    /// description.
    pub fn of(registry: &Registry) -> JobNames {
        JobNames(
            registry
                .jobs()
                .map(|j| {
                    let about = j.description().lines().next().unwrap_or_default().trim();
                    clap::builder::PossibleValue::new(j.name().to_string()).help(about.to_string())
                })
                .collect(),
        )
    }
}

impl clap::builder::TypedValueParser for JobNames {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().cloned()))
    }
}

/// [`main_with`], with the name and version the binary shows.
pub fn main_named(registry: Registry, info: BinInfo) -> ExitCode {
    // Before any thread starts: malloc's arenas and thresholds.
    mr_core::runner::limits::tune_malloc();
    let args = match utf8_args(std::env::args_os()) {
        Ok(args) => args,
        Err(e) => {
            mr_core::errln!("mr: error: {e}");
            return ExitCode::from(2);
        }
    };
    let base = command(&registry, &info, &args);
    let cli = match parse_cli(&registry, base, args) {
        Ok(cli) => cli,
        Err(ParseError::Clap(e)) => {
            // Help and the version go to stdout: lost, with exit 0, on one
            // closed when mr started (`mr --help >&-`).
            let what = match e.kind() {
                clap::error::ErrorKind::DisplayHelp => Some(("mr prints its help", "help.txt")),
                clap::error::ErrorKind::DisplayVersion => {
                    Some(("mr prints its version", "version.txt"))
                }
                _ => None,
            };
            if let Some((what, to)) = what
                && let Err(closed) = closed_stdout::refuse_if_closed(what, to, "")
            {
                mr_core::errln!("mr: error: {}", error_chain(&closed));
                return ExitCode::from(2);
            }
            if what.is_none() {
                e.exit()
            }
            // Help and the version, printed: a failed write (a full disk,
            // `> /dev/full`) is said and fails, as `mr jobs` fails; a reader
            // that closed the pipe (`| head -1`) had what it wanted.
            use std::io::Write as _;
            return match e.print().and_then(|()| std::io::stdout().flush()) {
                Err(w) if w.kind() != std::io::ErrorKind::BrokenPipe => {
                    mr_core::errln!("mr: error: writing to standard output: {w}");
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            };
        }
        Err(ParseError::Other(e)) => {
            mr_core::errln!("mr: error: {}", error_chain(&e));
            return ExitCode::from(2);
        }
    };
    run_cli(&registry, &info, &cli)
}

/// The command line as strings; an argument that is not UTF-8 is refused
/// (its lossy form would name another file: `-o caf\xe9` wrote `caf\u{fffd}`).
/// Files with such names are still read from a directory or glob given
/// as input.
///
/// ```
/// use std::ffi::OsString;
/// use std::os::unix::ffi::OsStringExt;
/// let ok = mr_cli::utf8_args([OsString::from("mr"), OsString::from("-o"), OsString::from("café")]);
/// assert_eq!(ok.unwrap(), ["mr", "-o", "café"]);
/// let bad = mr_cli::utf8_args([OsString::from("mr"), OsString::from("-o"), OsString::from_vec(b"caf\xe9".to_vec())]);
/// assert!(bad.unwrap_err().contains("\"caf\\xE9\" is not UTF-8"));
/// let esc = mr_cli::utf8_args([OsString::from_vec(b"\x1b]0;T\x07\xff".to_vec())]);
/// assert!(!esc.unwrap_err().contains('\x1b'));
/// ```
pub fn utf8_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Vec<String>, String> {
    args.into_iter()
        .map(|a| {
            a.into_string().map_err(|a| {
                use std::os::unix::ffi::OsStrExt;
                let shown: String = a
                    .as_bytes()
                    .utf8_chunks()
                    .map(|c| {
                        let bad: String =
                            c.invalid().iter().map(|b| format!("\\x{b:02X}")).collect();
                        // A name's escapes are shown, never sent to the
                        // terminal (probe /tmp/probe3-report repro 01).
                        format!("{}{bad}", mr_core::error::printable_line(c.valid()))
                    })
                    .collect();
                format!(
                    "argument \"{shown}\" is not UTF-8: mr takes its command line as UTF-8, \
                     file names and option values alike (a file so named is still read from a \
                     directory or glob given as --input; an output directory needs a UTF-8 \
                     name)"
                )
            })
        })
        .collect()
}

/// Parses the command line, runs the command, and turns the outcome into an
/// exit status: 0 on success (a closed stdout pipe, as with `| head`, counts
/// as success), 1 when the job failed, 2 for usage errors.
pub fn main_with(registry: Registry) -> ExitCode {
    main_named(registry, BinInfo::from_argv0())
}

fn run_cli(registry: &Registry, info: &BinInfo, cli: &Cli) -> ExitCode {
    install_signal_handler();
    match dispatch(registry, info, cli) {
        // Ctrl-C came as the output was put in place: it is complete, and
        // kept; the exit status still says the run was interrupted.
        Ok(()) if mr_core::cancel::requested() => {
            if let Some(said) = mr_core::cancel::interrupted_after_commit() {
                mr_core::errln!("mr: {said}");
                return ExitCode::from(mr_core::cancel::exit_status());
            }
            ExitCode::SUCCESS
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<mr_core::Error>()
                .is_some_and(|e| e.is_broken_pipe())
                && !mr_core::cancel::requested()
            {
                return ExitCode::SUCCESS;
            }
            if cluster::is_interrupted(&e) {
                mr_core::errln!("mr: {e}");
                return ExitCode::from(mr_core::cancel::exit_status());
            }
            if e.chain().any(|c| c.is::<UsageError>()) {
                let _ = writeln!(std::io::stderr(), "mr: error: {}", error_chain(&e));
                return ExitCode::from(2);
            }
            // Not eprintln!, which panics (exit 101) on a full or closed
            // stderr: the status says it failed even when nothing can.
            let _ = writeln!(std::io::stderr(), "mr: error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

use args::{Cli, Command};

/// Why a command line was not understood.
#[derive(Debug)]
pub enum ParseError {
    /// clap's own message (usage, `--help`, `--version` included).
    Clap(clap::Error),
    /// A job whose options clash with mr's, or a bad config file.
    Other(anyhow::Error),
}

impl From<clap::Error> for ParseError {
    fn from(e: clap::Error) -> Self {
        ParseError::Clap(e)
    }
}

impl From<anyhow::Error> for ParseError {
    fn from(e: anyhow::Error) -> Self {
        ParseError::Other(e)
    }
}

/// Parses a command line: once `mr run JOB` names a job, the job's own
/// options (see [`mr_core::Job::options`]) join `run`'s, for parsing and for
/// `mr run JOB --help`; a config file (`-c`, `$MR_CONF`) adds defaults.
///
/// ```
/// let argv = ["mr", "run", "mr_grep", "-e", "a b", "in.txt"].map(String::from).to_vec();
/// let base = <mr_cli::args::Cli as clap::CommandFactory>::command();
/// let cli = mr_cli::parse_cli(&mr_cli::Registry::builtin(), base, argv).unwrap();
/// let mr_cli::args::Command::Run(args) = cli.command else { panic!() };
/// assert_eq!(args.job_options["expression"], "a b");
/// assert_eq!(args.positional_inputs, vec!["in.txt"]);
/// ```
pub fn parse_cli(
    registry: &Registry,
    base: clap::Command,
    argv: Vec<String>,
) -> Result<Cli, ParseError> {
    use clap::FromArgMatches;
    let argv = cluster::expand_hex_args(argv)?;
    // As argparse, mrjob's parser, reads them: an unambiguous prefix of a
    // long option names it (`--sample` for a job's `--sample-size`).
    let base = job_args::JOB_COMMANDS.into_iter().fold(base, |b, sub| {
        if b.find_subcommand(sub).is_some() {
            b.mut_subcommand(sub, |c| c.infer_long_args(true))
        } else {
            b
        }
    });
    let mut cmd = base.clone();
    // `cmd` without the job's required options, for the parse before the
    // config file is read (which may give them).
    let mut lenient = base.clone();
    let mut job_opts = None;
    if let Some((sub, name)) = job_args::job_name(&base, &argv) {
        match registry.resolve(&name) {
            Ok(job) => {
                let opts = job.options();
                if let Some(run) = base.find_subcommand(&sub) {
                    job_args::check_options(run, job.name(), &opts)?;
                }
                let extra = job_args::clap_args(job.name(), &opts);
                let relaxed: Vec<clap::Arg> =
                    extra.iter().map(|a| a.clone().required(false)).collect();
                cmd = cmd.mut_subcommand(&sub, |c| c.args(extra));
                lenient = lenient.mut_subcommand(&sub, |c| c.args(relaxed));
                job_opts = Some((sub, opts));
            }
            // An unknown job is said first, not as one of its options that
            // clap does not know (`mr run mr_grep.py -e x`); an unknown
            // option before the job name is clap's to say.
            Err(unknown) => {
                if let Err(e) = cmd.clone().try_get_matches_from(&argv) {
                    use clap::error::{ContextKind, ContextValue};
                    let at = |s: &str| {
                        argv.iter()
                            .position(|a| a == s || a.starts_with(&format!("{s}=")))
                    };
                    let after_job = match e.get(ContextKind::InvalidArg) {
                        Some(ContextValue::String(arg)) => at(arg) > at(&name),
                        _ => false,
                    };
                    return Err(if after_job {
                        ParseError::Other(unknown)
                    } else {
                        e.into()
                    });
                }
            }
        }
    }
    // The command line alone; a job option it leaves out may come from the
    // config file (help and other errors are the strict command's).
    let first = match cmd.clone().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            lenient.clone().try_get_matches_from(&argv)?
        }
        Err(e) => {
            // One of mrjob's switches mr has no use for: why, not clap's
            // "similar" switch of mr's that does something else.
            if e.kind() == clap::error::ErrorKind::UnknownArgument
                && let Some(clap::error::ContextValue::String(arg)) =
                    e.get(clap::error::ContextKind::InvalidArg)
                && let Some(why) = conf::mrjob_switch_without_meaning(arg)
            {
                return Err(ParseError::Other(anyhow::Error::new(UsageError(format!(
                    "{} is mrjob's; mr has no such switch: {why}",
                    arg.split_once('=').map_or(arg.as_str(), |(n, _)| n)
                )))));
            }
            return Err(e.into());
        }
    };
    if let Some(sm) = first.subcommand_matches("emulate-hadoop") {
        args::refuse_for_emulate_hadoop(sm)?;
    }
    // Every job's options: a file's key for one job is no error in another's run.
    let job_options: Vec<String> = registry
        .jobs
        .iter()
        .flat_map(|j| j.options())
        .map(|o| o.name.replace('_', "-"))
        .collect();
    let settings = conf_settings(&first, &cmd, &lenient, &argv, &job_options)?;
    let matches = if settings.is_empty() {
        cmd.try_get_matches_from(&argv)?
    } else {
        // The file's values before the command line's.
        let mut full = argv[..2].to_vec();
        full.extend(settings.iter().map(|s| s.arg.clone()));
        full.extend(argv[2..].iter().cloned());
        match cmd.clone().try_get_matches_from(&full) {
            Ok(m) => m,
            Err(e) => {
                // The command line's own fault is said as clap says it;
                // one of the file's values together with others, with the
                // file.
                cmd.try_get_matches_from(&argv)?;
                let files: std::collections::BTreeSet<String> = settings
                    .iter()
                    .map(|s| s.file.display().to_string())
                    .collect();
                return Err(ParseError::Other(anyhow::anyhow!(
                    "with the values of the config file {}: {}",
                    files.into_iter().collect::<Vec<_>>().join(", "),
                    clap_message(&e)
                )));
            }
        }
    };
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Some((sub, opts)) = job_opts {
        match (matches.subcommand_matches(&sub), &mut cli.command) {
            (Some(sm), Command::Run(a) | Command::EmulateHadoop(a)) => {
                a.job_options = job_args::values(&opts, sm);
            }
            (Some(sm), Command::Check(a)) => a.job_options = job_args::values(&opts, sm),
            _ => {}
        }
    }
    let emulate = matches!(cli.command, Command::EmulateHadoop(_));
    if let Command::Run(a) | Command::EmulateHadoop(a) = &mut cli.command {
        let runner = if emulate {
            cluster::Runner::Emulate
        } else {
            a.runner
        };
        a.take_mrjob_tmp_dirs(runner)?;
        let file_options: Vec<String> = registry
            .resolve(&a.job)
            .map(|job| {
                job.options()
                    .into_iter()
                    .filter(|o| o.kind == mr_core::OptionKind::File)
                    .map(|o| o.name)
                    .collect()
            })
            .unwrap_or_default();
        conf::expand_home_in_args(a, &file_options)?;
    }
    // `--output=~/D` reaches mr unexpanded (the shell expands `~` only at a
    // word's start): as `mr run` does, so do the other commands that take a
    // path (gen and new made a directory named `~`, and check said a file
    // `mr run` reads was not there: probe /tmp/probe3-ux repro 01).
    match &mut cli.command {
        Command::Gen(g) => {
            let output = match &mut g.kind {
                generate::GenKind::Clicklog(k) => &mut k.output,
                generate::GenKind::Text(k) => &mut k.output,
            };
            *output = conf::expand_home_path(output, "--output")?;
        }
        Command::New(n) => n.path = conf::expand_home_path(&n.path, "--path")?,
        Command::Check(c) => {
            for i in c.inputs.iter_mut() {
                *i = conf::expand_home(i, "--input")?;
            }
        }
        _ => {}
    }
    Ok(cli)
}

/// The first line of clap's message, without its `error: `.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// The config file's values that a `mr run` (or `mr emulate-hadoop`)
/// command line leaves standing (see [`conf`]), each checked on its own
/// as the command line's would be, a bad one said with its file and key.
/// `first` is the command line parsed alone; `cmd` has the job's options,
/// `lenient` the same without their being required.
fn conf_settings(
    first: &clap::ArgMatches,
    cmd: &clap::Command,
    lenient: &clap::Command,
    argv: &[String],
    job_options: &[String],
) -> Result<Vec<conf::Setting>, ParseError> {
    use anyhow::Context as _;
    use clap::FromArgMatches;
    let Some((sub @ ("run" | "emulate-hadoop"), sm)) = first.subcommand() else {
        return Ok(Vec::new());
    };
    let Some(run) = cmd.find_subcommand(sub) else {
        return Ok(Vec::new());
    };
    // Task mode reads no file: the run that started the task applied it
    // already (and on a cluster $MR_CONF is not there).
    if ["mapper", "combiner", "reducer"]
        .iter()
        .any(|id| sm.get_flag(id))
    {
        if sm.value_source("conf_path") == Some(clap::parser::ValueSource::CommandLine) {
            return Err(ParseError::Other(anyhow::Error::new(UsageError(
                "task mode (--mapper, --combiner, --reducer) reads no config file: the run \
                 that started the task applied it; drop -c/--conf-path"
                    .into(),
            ))));
        }
        return Ok(Vec::new());
    }
    let files = conf::conf_files(sm)?;
    if files.is_empty() {
        return Ok(Vec::new());
    }
    // `mr emulate-hadoop` is `mr run -r emulate`: its section too.
    let runner = match sub {
        "emulate-hadoop" => cluster::Runner::Emulate,
        _ => sm
            .get_one::<cluster::Runner>("runner")
            .copied()
            .unwrap_or_default(),
    };
    let runner = clap::ValueEnum::to_possible_value(&runner)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let settings = conf::settings(&files, &runner, run, job_options)?;
    let settings = conf::not_overridden(settings, run, sm);
    let job = sm.get_one::<String>("job").cloned().unwrap_or_default();
    for s in &settings {
        // Alone, with `--name=value` (a value `-1` is no option).
        let alone = [argv[0].clone(), sub.to_string(), s.arg.clone(), job.clone()];
        let checked = lenient
            .clone()
            .try_get_matches_from(alone)
            .map_err(|e| anyhow::anyhow!("{}: {}", s.origin(), clap_message(&e)))
            .and_then(|m| {
                let cli =
                    Cli::from_arg_matches(&m).map_err(|e| anyhow::anyhow!(clap_message(&e)))?;
                match &cli.command {
                    Command::Run(a) | Command::EmulateHadoop(a) => cmd::run::check_values(a),
                    _ => Ok(()),
                }
                .with_context(|| s.origin())
            });
        checked?;
    }
    Ok(settings)
}

/// A command line that asks for what mr does not do: options that conflict,
/// an unknown job, a setting out of range. The exit status is 2, as for
/// clap's own usage errors, where a run that fails exits 1, so a script can
/// tell a wrong command from a failed run.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `anyhow::bail!` with a [`UsageError`].
///
/// ```
/// fn f() -> anyhow::Result<()> { mr_cli::usage!("--x is for {}", "y") }
/// assert!(f().unwrap_err().is::<mr_cli::UsageError>());
/// ```
#[macro_export]
macro_rules! usage {
    ($($t:tt)*) => {
        return Err(anyhow::Error::new($crate::UsageError(format!($($t)*))))
    };
}

/// Creates the directory `dir` and its parents, saying "not a directory"
/// when a file is in the way (where `create_dir_all` says "File exists").
pub(crate) fn create_dir_all(dir: &std::path::Path) -> anyhow::Result<()> {
    if let Some(file) = mr_core::paths::file_in_the_way(dir) {
        anyhow::bail!(
            "creating {}: {} is a file, not a directory",
            dir.display(),
            file.display()
        );
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!(e).context(format!("creating {}", dir.display())))
}

/// The error and its causes, without repeating a cause that the message
/// before it already shows.
///
/// Control characters from the input (a record, a file name) are escaped
/// ([`mr_core::error::printable`]): the message is for a terminal.
pub(crate) fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !msg.contains(&part) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&part);
        }
    }
    mr_core::error::printable(&msg).into_owned()
}

/// The first stop signal, and when it came.
static FIRST_SIGNAL: std::sync::OnceLock<(i32, std::time::Instant)> = std::sync::OnceLock::new();

/// Within this of the first signal, the same signal again is its echo, not
/// a second signal: GNU `timeout` sends SIGTERM to mr and then to its
/// process group, mr included, and schedulers that kill a pid and then its
/// group do the same.
const ECHO_WINDOW: std::time::Duration = std::time::Duration::from_millis(300);

/// Whether `signal`, after the first stop signal, is that signal's echo
/// (see [`ECHO_WINDOW`]).
fn is_echo(signal: i32) -> bool {
    FIRST_SIGNAL
        .get()
        .is_some_and(|&(first, at)| first == signal && at.elapsed() < ECHO_WINDOW)
}

/// What the first and any later stop signal do; see
/// [`install_signal_handler`].
fn on_stop_signal(signal: i32) {
    let erase = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        "\r\x1b[2K"
    } else {
        ""
    };
    // The stop is requested before anything is said: what is said can go
    // nowhere (stderr piped to a `tee` the same Ctrl-C stopped).
    if signal == signal_hook::consts::SIGQUIT {
        // Ctrl-\ means "quit now": no clean stop, but the temp files and
        // the unfinished output go, and never in the middle of a commit.
        mr_core::cancel::request_by_signal(signal);
        mr_core::errln!("{erase}mr: quit by SIGQUIT, removing temp files and exiting at once");
        mr_core::cancel::force_exit();
    }
    if mr_core::cancel::requested() {
        if is_echo(signal) {
            return;
        }
        // Leave no half-drawn progress line behind.
        mr_core::errprint!("{erase}");
        mr_core::cancel::force_exit();
    }
    let _ = FIRST_SIGNAL.set((signal, std::time::Instant::now()));
    let again = match signal {
        signal_hook::consts::SIGINT => {
            "interrupted, cleaning up (press Ctrl-C again to exit at once)".to_string()
        }
        other => {
            let name = signal_hook::low_level::signal_name(other).unwrap_or("a signal");
            format!("interrupted by {name}, cleaning up (send it again to exit at once)")
        }
    };
    mr_core::cancel::request_by_signal(signal);
    mr_core::errln!("{erase}mr: {again}");
    let _ = std::thread::Builder::new()
        .name("mr-stop-watchdog".into())
        .spawn(|| {
            let grace = mr_core::cancel::stop_grace();
            std::thread::sleep(grace);
            if mr_core::cancel::in_place().is_none() {
                mr_core::errln!(
                    "mr: interrupted; the run did not stop within {}s, exiting",
                    grace.as_secs()
                );
            }
            mr_core::cancel::force_exit();
        });
}

/// Ctrl-C, SIGTERM or SIGHUP: the first asks the job to stop cleanly (temp
/// files and the unfinished output are removed; the exit status is 128 + the
/// signal's number, as a shell shows for a process the signal killed: 130,
/// 143, 129). If the run has not ended [`mr_core::cancel::stop_grace`] later
/// (one second; longer for a cluster run, which stops its job first; blocked
/// writing to a stdout nobody reads, or opening a FIFO nobody writes), a
/// watchdog removes the run's temp files and exits with that status; a second
/// signal does so at once. Neither exits during an output commit (see
/// [`mr_core::cancel`]), so the user's previous output is never left half
/// replaced. SIGQUIT (Ctrl-\\) exits at once, as that second signal does,
/// with 131, where its default action would leave the temp files behind.
fn install_signal_handler() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    // The handlers are installed here, before mr writes anything, and read
    // on a thread of their own: installed on that thread, a SIGTERM in the
    // first milliseconds of a run (before it started) took the default
    // action and left the output's staging and lock behind (probe
    // /tmp/probe2-safety, 1 in 60 under -r emulate). If the thread cannot
    // start, they are dropped with it and mr says so.
    // A signal ignored when mr started stays ignored, as POSIX shells keep
    // it: `nohup` ignores SIGHUP so that a closed terminal does not end the
    // run, and a script's `cmd &` ignores SIGINT and SIGQUIT so that a
    // Ctrl-C meant for the script does not.
    let ignored = ignored_at_start();
    let caught: Vec<i32> = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
        .into_iter()
        .filter(|s| ignored & (1u64 << (s - 1)) == 0)
        .collect();
    match signal_hook::iterator::Signals::new(caught) {
        Ok(mut signals) => {
            let started = std::thread::Builder::new()
                .name("mr-signals".into())
                .spawn(move || {
                    // A panic here would leave the signals caught with
                    // nobody to act on them: every later Ctrl-C would be lost.
                    signals.forever().for_each(|signal| {
                        let _ = std::panic::catch_unwind(|| on_stop_signal(signal));
                    })
                });
            if let Err(e) = started {
                mr_core::errln!("mr: warning: cannot catch Ctrl-C and SIGTERM: {e}");
            }
        }
        Err(e) => mr_core::errln!("mr: warning: cannot catch Ctrl-C and SIGTERM: {e}"),
    }
    // A write past the file-size limit (`ulimit -f`) would kill mr with
    // SIGXFSZ, leaving its temp dir and staging behind with no word said.
    // Caught, the write fails with EFBIG instead: the run fails naming the
    // file, and cleans up as after any error.
    let caught = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, caught) {
        mr_core::errln!("mr: warning: cannot catch SIGXFSZ (ulimit -f): {e}");
    }
}

/// The signals this process started with ignored, as a mask (bit `n - 1`
/// for signal `n`): `SigIgn` of `/proc/self/status` (Linux); none where
/// that cannot be read.
fn ignored_at_start() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .unwrap_or(0)
}

fn dispatch(registry: &Registry, info: &BinInfo, cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Completions { shell } => {
            closed_stdout::refuse_if_closed(
                "mr completions prints the completion script",
                "mr.bash",
                "",
            )?;
            let mut cmd = command(registry, info, &[]);
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut cmd, info.name, &mut text);
            if *shell == clap_complete::Shell::Fish {
                text.extend_from_slice(fish_job_names(registry, info.name).as_bytes());
            }
            closed_stdout_is_ok(write_stdout(&text))
        }
        Command::New(args) => closed_stdout_is_ok(cmd::new::run(args)),
        Command::Man { command: words } => {
            closed_stdout::refuse_if_closed("mr man prints the manual page", "mr.1", "")?;
            // Without clap's `help` subcommands, which the pages listed
            // (mr-help(1), mr-gen-help(1)) and `mr man` has no page for
            // (probe /tmp/probe3-ux repro 02).
            let mut cmd = cmd::man::without_help_subcommands(command(registry, info, &[]));
            if !words.is_empty() {
                // Built first, so the page is named as its SUBCOMMANDS line
                // says (mr-run, mr-gen-clicklog) and shows `mr run` in its
                // synopsis.
                cmd.build();
                cmd = match cmd::man::man_page_of(&cmd, words) {
                    Some(sub) => sub.clone().version(info.version),
                    None => usage!(
                        "no command {:?}; `mr man` has a page for each of: {}",
                        words.join(" "),
                        cmd::man::man_pages(&cmd, "").join(", ")
                    ),
                };
            }
            let text = cmd::man::man_page(cmd)?;
            closed_stdout_is_ok(write_stdout(&text))
        }
        Command::Run(args) => cmd::run::run(registry, args),
        Command::EmulateHadoop(args) => cmd::run::run(
            registry,
            &args::RunArgs {
                runner: cluster::Runner::Emulate,
                ..args.clone()
            },
        ),
        Command::Jobs => {
            closed_stdout::refuse_if_closed("mr jobs prints the list of jobs", "jobs.txt", "")?;
            closed_stdout_is_ok(anyhow::Context::context(
                cmd::jobs::run(registry, &mut std::io::stdout().lock()),
                "writing to standard output",
            ))
        }
        Command::Gen(args) => cmd::generate::run(args),
        Command::Check(args) => {
            closed_stdout::refuse_if_closed(
                "mr check prints its findings and verdict",
                "check.txt",
                "",
            )?;
            // A reader that stopped early (`mr check | head`, `| grep -q`)
            // ends the check unfinished: no verdict, nothing more said, and
            // exit 0, as `mr run | head` does (1 is a broken law).
            if closed_stdout_is_ok(cmd::check::run(registry, args).map(Some))?.unwrap_or(true) {
                Ok(())
            } else {
                let _ = std::io::stdout().flush();
                std::process::exit(1)
            }
        }
    }
}

/// Fish completions of JOB after `run`, `check` and `emulate-hadoop`, the
/// job's name with its description: clap_complete's fish script completes
/// options only (bash's and zsh's take JOB's possible values, see
/// [`JobNames`]). File names are still offered, JOB may be a path.
fn fish_job_names(registry: &Registry, bin: &str) -> String {
    // As clap_complete writes values: `NAME\t'HELP'` in double quotes.
    let quoted = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('\'', "\\'")
            .replace('"', "\\\"")
            .replace('$', "\\$")
    };
    let values: Vec<String> = JobNames::of(registry)
        .0
        .iter()
        .map(|v| {
            let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
            format!(
                "{}\\t'{}'",
                quoted(v.get_name()),
                quoted(&help.replace('\n', " "))
            )
        })
        .collect();
    let name = bin.replace('-', "_");
    format!(
        "complete -c {bin} -n \"__fish_{name}_using_subcommand run check emulate-hadoop; \
         and __fish_is_nth_token 2\" -a \"{}\"\n",
        values.join("\n")
    )
}

/// Writes `text` to standard output, flushed; an error says where it was
/// writing (`> /dev/full`: "writing to standard output: No space left").
fn write_stdout(text: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text)
        .and_then(|()| out.flush())
        .map_err(|e| mr_core::Error::Stdout(e).into())
}

/// A command that only prints: its stdout closed by the reader (`mr jobs |
/// head -1`) is no error, the reader has what it wanted; the result is then
/// `T::default()`. (`mr run` has its own rule: see [`run_cli`].)
fn closed_stdout_is_ok<T: Default>(r: anyhow::Result<T>) -> anyhow::Result<T> {
    match r {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(T::default())
        }
        r => r,
    }
}

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The user guide's examples, compiled and run as doctests.
#[doc = include_str!("../../docs/guide.md")]
#[cfg(doctest)]
pub struct GuideDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    /// A job crate's binary shows its own name and jobs in the help's
    /// commands (`run`'s said `mr run word_count ...`, a job it has not
    /// got: probe /tmp/probe-docs).
    #[test]
    fn a_job_crates_help_names_its_binary_and_jobs() {
        let registry = Registry::new().with(mr_jobs::url_views::UrlViews);
        let info = BinInfo {
            name: "my_job",
            version: "0.1.0",
        };
        let cmd = command(&registry, &info, &[]);
        let run = cmd.find_subcommand("run").unwrap();
        let about = run.get_about().unwrap().to_string();
        assert_eq!(
            about,
            "Run a job: `my_job run url_views --input corpus/ --output counts/`"
        );
        let examples = cmd.get_after_help().unwrap().to_string();
        assert!(!examples.contains("mr run") && !examples.contains("word_count"));
        assert!(examples.contains("| my_job run url_views"), "{examples}");
        // mr's own help is as it was.
        let mr = command(
            &Registry::builtin(),
            &BinInfo {
                name: "mr",
                version: "0",
            },
            &[],
        );
        let about = mr
            .find_subcommand("run")
            .unwrap()
            .get_about()
            .unwrap()
            .to_string();
        assert!(about.contains("`mr run word_count"), "{about}");
    }
}
