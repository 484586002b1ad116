//! `mr run -c FILE`: defaults for `mr run`'s options from a TOML file, one
//! section a runner, as mrjob.conf has them:
//!
//! ```toml
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
//! A key is a `mr run` option's long name (dashes or underscores); a value
//! is what the option takes (`true` for a switch), a list for a repeatable
//! option, a table for `jobconf` and `cmdenv`. The file is `-c/--conf-path`,
//! else `$MR_CONF` when set; `--no-conf` reads none. The command line wins
//! over the file, and adds to its lists.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};

/// The config file to read for this command line, if any.
pub fn conf_path(argv: &[String]) -> Option<PathBuf> {
    let mut it = argv.iter().skip(2);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-conf" => return None,
            "-c" | "--conf-path" => return it.next().map(PathBuf::from),
            "--" => break,
            _ => {
                if let Some(p) = a.strip_prefix("--conf-path=") {
                    return Some(PathBuf::from(p));
                }
            }
        }
    }
    if argv.iter().any(|a| a == "--no-conf") {
        return None;
    }
    std::env::var_os("MR_CONF")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The arguments the file gives `runner`'s section, for the options that the
/// command line does not set (`given(id)`) or that are lists.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let f = dir.path().join("mr.toml");
/// std::fs::write(&f, "[runners.local]\njobs = 3\nquiet = true\njobconf = { \"a.b\" = \"1\" }\n").unwrap();
/// let cmd = <mr_cli::args::Cli as clap::CommandFactory>::command();
/// let run = cmd.find_subcommand("run").unwrap();
/// let args = mr_cli::conf::args(&f, "local", run, |_| false).unwrap();
/// assert_eq!(args, vec!["--jobconf", "a.b=1", "--jobs", "3", "--quiet"]);
/// ```
pub fn args(
    path: &Path,
    runner: &str,
    run: &clap::Command,
    given: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .with_context(|| format!("parsing the config file {}", path.display()))?;
    let Some(runners) = doc.get("runners") else {
        bail!(
            "config file {}: no [runners.NAME] section (e.g. [runners.local])",
            path.display()
        );
    };
    let Some(section) = runners.get(runner) else {
        return Ok(Vec::new());
    };
    let Some(section) = section.as_table() else {
        bail!(
            "config file {}: runners.{runner} is not a table",
            path.display()
        );
    };
    let mut out = Vec::new();
    for (key, value) in section {
        let long = key.replace('_', "-");
        let Some(arg) = run
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            bail!(
                "config file {}: [runners.{runner}] {key} is not an option of mr run",
                path.display()
            );
        };
        if matches!(long.as_str(), "conf-path" | "no-conf") {
            bail!(
                "config file {}: {key} cannot be set in a config file",
                path.display()
            );
        }
        let id = arg.get_id().as_str();
        let list = matches!(arg.get_action(), clap::ArgAction::Append);
        if given(id) && !list {
            continue; // the command line wins
        }
        let flag = format!("--{long}");
        let scalar = |v: &toml::Value| -> anyhow::Result<String> {
            Ok(match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!(
                    "config file {}: [runners.{runner}] {key} = {other}: expected a string or number",
                    path.display()
                ),
            })
        };
        match value {
            toml::Value::Boolean(b) if matches!(arg.get_action(), clap::ArgAction::SetTrue) => {
                if *b {
                    out.push(flag);
                }
            }
            toml::Value::Table(t) if list => {
                for (k, v) in t {
                    out.push(flag.clone());
                    out.push(format!("{k}={}", scalar(v)?));
                }
            }
            toml::Value::Array(items) if list => {
                for v in items {
                    out.push(flag.clone());
                    out.push(scalar(v)?);
                }
            }
            v => {
                out.push(flag);
                out.push(scalar(v)?);
            }
        }
    }
    Ok(out)
}
