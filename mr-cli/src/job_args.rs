//! A job's own options on the `mr run JOB` command line (mrjob's
//! `add_passthru_arg`, `add_file_arg`): found once the job's name is known,
//! added to the `run` command for parsing and `--help`, and rendered back
//! into arguments for the tasks a cluster runner starts.

use mr_core::{JobOption, OptionKind};
use std::collections::BTreeMap;

/// The subcommands whose first positional argument names a job.
pub(crate) const JOB_COMMANDS: [&str; 3] = ["run", "emulate-hadoop", "check"];

/// The arg id of a job option in clap's matches.
fn id(opt: &JobOption) -> String {
    format!("job-option:{}", opt.name)
}

/// An argument's long name and its aliases.
fn long_names(arg: &clap::Arg) -> Vec<&str> {
    arg.get_long()
        .into_iter()
        .chain(arg.get_all_aliases().unwrap_or_default())
        .collect()
}

/// The job named on a `mr run ...` command line, and the subcommand: the
/// first positional argument after it (options of `run` that take a value
/// skip theirs).
///
/// ```
/// let cmd = <mr_cli::args::Cli as clap::CommandFactory>::command();
/// let argv: Vec<String> = ["mr", "run", "-j", "2", "mr_grep", "-e", "x"].iter().map(|s| s.to_string()).collect();
/// assert_eq!(mr_cli::job_args::job_name(&cmd, &argv), Some(("run".to_string(), "mr_grep".to_string())));
/// ```
pub fn job_name(cli: &clap::Command, argv: &[String]) -> Option<(String, String)> {
    let sub_name = argv.get(1)?;
    if !JOB_COMMANDS.contains(&sub_name.as_str()) {
        return None;
    }
    let sub = cli.find_subcommand(sub_name)?;
    let takes_value = |a: &clap::Arg| {
        a.get_num_args()
            .is_none_or(|n| n.takes_values() && n.min_values() > 0)
            && !matches!(
                a.get_action(),
                clap::ArgAction::SetTrue
                    | clap::ArgAction::SetFalse
                    | clap::ArgAction::Count
                    | clap::ArgAction::Help
                    | clap::ArgAction::Version
            )
    };
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            return argv.get(i + 1).map(|j| (sub_name.clone(), j.clone()));
        }
        if let Some(long) = a.strip_prefix("--") {
            if !long.contains('=') {
                let names = long_names;
                let exact = sub.get_arguments().find(|x| names(x).contains(&long));
                // An unambiguous prefix names its option (clap's
                // infer_long_args, set on these commands).
                let known = exact.or_else(|| {
                    let mut by_prefix = sub
                        .get_arguments()
                        .filter(|x| names(x).iter().any(|n| n.starts_with(long)));
                    by_prefix.next().filter(|_| by_prefix.next().is_none())
                });
                if known.is_some_and(takes_value) {
                    i += 1;
                }
            }
        } else if a.len() > 1 && a.starts_with('-') {
            // Short flags, bundled or not (`-q`, `-qo DIR`, `-oDIR`): the
            // first that takes a value takes the rest, or the next argument.
            let shorts: Vec<char> = a.chars().skip(1).collect();
            for (k, c) in shorts.iter().enumerate() {
                let known = sub.get_arguments().find(|x| x.get_short() == Some(*c));
                if known.is_some_and(takes_value) {
                    if k + 1 == shorts.len() {
                        i += 1;
                    }
                    break;
                }
            }
        } else {
            return Some((sub_name.clone(), a.clone()));
        }
        i += 1;
    }
    None
}

/// Checks a job's options against `run`'s own (a clash would be ambiguous).
pub fn check_options(run: &clap::Command, job: &str, opts: &[JobOption]) -> anyhow::Result<()> {
    for o in opts {
        if o.name.is_empty() || o.name.starts_with('-') || o.name.contains(['=', ' ']) {
            anyhow::bail!("job {job}: option name {:?} is not a valid --NAME", o.name);
        }
        for a in run.get_arguments() {
            let long = a.get_long() == Some(o.name.as_str())
                || a.get_all_aliases()
                    .is_some_and(|al| al.contains(&o.name.as_str()));
            let short = o.short.is_some() && a.get_short() == o.short;
            if long || short || o.name == "help" || o.short == Some('h') {
                anyhow::bail!(
                    "job {job}: its option --{}{} clashes with an option of mr run",
                    o.name,
                    o.short.map(|c| format!(" (-{c})")).unwrap_or_default()
                );
            }
        }
        let what = match o.kind {
            OptionKind::Flag => Some("a switch"),
            OptionKind::File => Some("a file option"),
            _ => None,
        };
        if let Some(what) = what {
            if !o.choices.is_empty() {
                anyhow::bail!("job {job}: --{} is {what}, which takes no choices", o.name);
            }
            if o.repeated {
                anyhow::bail!(
                    "job {job}: --{} is {what}, which cannot be repeated",
                    o.name
                );
            }
        }
        let any_value = JobOption {
            choices: Vec::new(),
            ..o.clone()
        };
        for c in &o.choices {
            any_value
                .check(c)
                .map_err(|e| anyhow::anyhow!("job {job}: a choice of {e}"))?;
        }
        if let Some(d) = &o.default {
            o.check(d)
                .map_err(|e| anyhow::anyhow!("job {job}: default of {e}"))?;
        }
        if o.kind == OptionKind::Flag && o.default.as_deref() == Some("true") {
            // A switch is off unless given (argparse's `store_true`), and
            // tasks get `--NAME` only when it is on: a default of true could
            // never be turned off, and would read as false in `mr run`.
            anyhow::bail!(
                "job {job}: the switch --{0} cannot default to true: a switch is off unless \
                 given; name it for what it changes (--no-{0}, as mrjob's `store_false` \
                 options are ported) and read its value the other way round",
                o.name
            );
        }
    }
    Ok(())
}

/// A job option's value parser: its type and choices checked
/// ([`JobOption::check`], whose words clap's error gives), and the choices
/// shown by `--help` and in clap's errors.
#[derive(Clone)]
struct Checked(JobOption);

impl clap::builder::TypedValueParser for Checked {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let o = self.0.clone();
        let check = move |s: &str| o.check(s).map(|()| s.to_string());
        clap::builder::TypedValueParser::parse_ref(&check, cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        if self.0.choices.is_empty() {
            return None;
        }
        Some(Box::new(
            self.0
                .choices
                .iter()
                .map(|c| clap::builder::PossibleValue::new(c.clone())),
        ))
    }
}

/// The clap arguments of a job's options, under a help heading of their own.
///
/// ```
/// use mr_core::JobOption;
/// let opts = [
///     JobOption::string("client").choices(&["web", "mobile"]),
///     JobOption::string("kind").repeated(),
/// ];
/// let cmd = clap::Command::new("run").args(mr_cli::job_args::clap_args("j", &opts));
/// let m = cmd.clone().try_get_matches_from(["run", "--kind", "a", "--kind", "b c"]).unwrap();
/// assert_eq!(mr_cli::job_args::values(&opts, &m)["kind"], r#"["a","b c"]"#);
/// let e = cmd.clone().try_get_matches_from(["run", "--client", "bogus"]).unwrap_err();
/// assert!(e.to_string().contains("--client takes one of web, mobile"), "{e}");
/// ```
pub fn clap_args(job: &str, opts: &[JobOption]) -> Vec<clap::Arg> {
    let heading = format!("Options of {job}");
    opts.iter()
        .map(|o| {
            // As argparse takes them (mrjob's options): the last one given
            // counts (unless the option is repeated: then each counts), and
            // a negative number is a value, not a flag.
            let mut a = clap::Arg::new(id(o))
                .long(o.name.clone())
                .help(o.help.clone())
                .help_heading(heading.clone());
            if !o.repeated {
                a = a.overrides_with(id(o));
            }
            if let Some(c) = o.short {
                a = a.short(c);
            }
            match o.kind {
                OptionKind::Flag => a.action(clap::ArgAction::SetTrue),
                kind => {
                    a = a
                        .action(if o.repeated {
                            clap::ArgAction::Append
                        } else {
                            clap::ArgAction::Set
                        })
                        // Of any kind: argparse takes `-e -5` as mr_grep's
                        // pattern (it was "unexpected argument '-5'").
                        .allow_negative_numbers(true)
                        // argparse's number also starts `-.` (`-t -.5`),
                        // which clap's test does not take: a float's value
                        // may start with `-`, and is checked as a number.
                        .allow_hyphen_values(kind == OptionKind::Float)
                        .value_name(match kind {
                            OptionKind::Int | OptionKind::Uint => "INT",
                            OptionKind::Float => "NUMBER",
                            OptionKind::File => "FILE",
                            _ => "VALUE",
                        })
                        .value_parser(Checked(o.clone()));
                    if let Some(d) = &o.default {
                        a = a.default_value(d.clone());
                    }
                    if o.required {
                        a = a.required(true);
                    }
                    a
                }
            }
        })
        .collect()
}

/// The values of a job's options in parsed matches (defaults included; a
/// flag is `"true"` or `"false"`; a repeated option's values as
/// [`mr_core::options::list_value`] joins them; an option not given and
/// without a default is absent).
pub fn values(opts: &[JobOption], m: &clap::ArgMatches) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for o in opts {
        let v = match o.kind {
            OptionKind::Flag => Some(m.get_flag(&id(o)).to_string()),
            _ if o.repeated => m.get_many::<String>(&id(o)).map(|vs| {
                let vs: Vec<&String> = vs.collect();
                mr_core::options::list_value(&vs)
            }),
            _ => m.get_one::<String>(&id(o)).cloned(),
        };
        if let Some(v) = v {
            out.insert(o.name.clone(), v);
        }
    }
    out
}

/// The options as task arguments: `--NAME=VALUE` for each option given or
/// defaulted (one argument: a value that starts with `-`, such as a grep
/// pattern `-x`, is not taken for an option by the task), one for each
/// value of a repeated option, `--NAME` for a flag that is on. File
/// options are passed by the name the file is shipped under (`names`).
///
/// ```
/// use mr_core::JobOption;
/// use std::collections::BTreeMap;
/// let opts = vec![
///     JobOption::string("expression"),
///     JobOption::flag("quiet-ish"),
///     JobOption::file("stop-words-file"),
///     JobOption::string("kind").repeated(),
/// ];
/// let mut v = BTreeMap::new();
/// v.insert("expression".to_string(), "a b".to_string());
/// v.insert("quiet-ish".to_string(), "false".to_string());
/// v.insert("stop-words-file".to_string(), "/data/stop.txt".to_string());
/// v.insert("kind".to_string(), mr_core::options::list_value(&["x", "y,z"]));
/// let names = |p: &str| p.rsplit('/').next().unwrap().to_string();
/// assert_eq!(mr_cli::job_args::task_args(&opts, &v, names),
///            vec!["--expression=a b", "--stop-words-file=stop.txt", "--kind=x", "--kind=y,z"]);
/// ```
pub fn task_args(
    opts: &[JobOption],
    values: &BTreeMap<String, String>,
    file_name: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for o in opts {
        let Some(v) = values.get(&o.name) else {
            continue;
        };
        match o.kind {
            OptionKind::Flag => {
                if v == "true" {
                    out.push(format!("--{}", o.name));
                }
            }
            OptionKind::File => out.push(format!("--{}={}", o.name, file_name(v))),
            _ if o.repeated => out.extend(
                mr_core::options::list_items(v)
                    .iter()
                    .map(|item| format!("--{}={item}", o.name)),
            ),
            _ => out.push(format!("--{}={v}", o.name)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job's options are checked before its first run: a clash with mr
    /// run's own, a name that is no `--NAME`, a default of the wrong type,
    /// and a switch that defaults to true (accepted before, shown as
    /// `(default true)`, yet off in every `mr run`: probe /tmp/probe-port
    /// repro 02).
    #[test]
    fn a_jobs_options_are_checked_with_the_reason_said() {
        let run = clap::Command::new("run").arg(clap::Arg::new("input").long("input").short('i'));
        let refused = |o: JobOption| {
            check_options(&run, "j", &[o])
                .map_err(|e| e.to_string())
                .unwrap_err()
        };
        assert!(refused(JobOption::string("input")).contains("clashes"));
        assert!(refused(JobOption::string("x").short('i')).contains("clashes"));
        assert!(refused(JobOption::string("a b")).contains("not a valid --NAME"));
        assert!(refused(JobOption::int("n").default("ten")).contains("default of --n"));
        let e = refused(JobOption::flag("lowercase").default("true"));
        assert!(e.contains("--lowercase cannot default to true") && e.contains("--no-lowercase"));
        // Choices and repetition: only where they mean something, each
        // choice (and the default) a value the option takes.
        let e = refused(JobOption::int("n").choices(&["1", "two"]));
        assert!(e.contains("a choice of --n takes an integer"), "{e}");
        let e = refused(JobOption::string("c").choices(&["a", "b"]).default("z"));
        assert!(e.contains("default of --c takes one of a, b"), "{e}");
        assert!(refused(JobOption::flag("f").choices(&["true"])).contains("takes no choices"));
        assert!(refused(JobOption::file("f").repeated()).contains("cannot be repeated"));
        assert!(refused(JobOption::flag("f").repeated()).contains("cannot be repeated"));
        for ok in [
            JobOption::flag("lowercase"),
            JobOption::flag("lowercase").default("false"),
            JobOption::int("n").default("-3"),
            JobOption::uint("n")
                .choices(&["1", "2"])
                .default("2")
                .repeated(),
        ] {
            assert!(check_options(&run, "j", &[ok]).is_ok());
        }
    }

    /// A float option's value as argparse takes it: `-.5` too, which clap's
    /// negative-number test refused ("unexpected argument '-.5'"); a value
    /// that is no number is refused as such.
    #[test]
    fn a_float_option_takes_a_value_that_starts_with_a_dot() {
        let opts = [JobOption::float("threshold"), JobOption::int("n")];
        let cmd = clap::Command::new("run")
            .arg(
                clap::Arg::new("v")
                    .long("verbose")
                    .action(clap::ArgAction::SetTrue),
            )
            .args(clap_args("j", &opts));
        for (args, want) in [
            (&["run", "--threshold", "-.5"][..], "-.5"),
            (&["run", "--threshold", "-0.5"], "-0.5"),
            (&["run", "--threshold=-.25"], "-.25"),
            (&["run", "--threshold", "-1e-3", "--n", "-2"], "-1e-3"),
        ] {
            let m = cmd.clone().try_get_matches_from(args).unwrap();
            assert_eq!(values(&opts, &m)["threshold"], want, "{args:?}");
        }
        let e = cmd
            .clone()
            .try_get_matches_from(["run", "--threshold", "--verbose"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--verbose") && e.contains("a number"), "{e}");
    }
}
