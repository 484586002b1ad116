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
//! over the file, and adds to its lists. In the value of an option that
//! takes a path (`tmp_dir`, `hadoop_bin`, `files`, ...), a leading `~` is
//! the home directory and `$NAME` or `${NAME}` an environment variable, as
//! mrjob expands them (`tmp_dir = "/scratch/$USER"`); the shell does that
//! on the command line, nobody in a file. An unset variable is an error
//! (mrjob keeps its name, and a directory named `$USER` was made); `$$` is
//! a `$` of the path itself.

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
        let is_path = arg.get_value_names().is_some_and(|names| {
            names.iter().any(|n| {
                ["PATH", "DIR", "FILE", "JAR", "INPUT"]
                    .iter()
                    .any(|p| n.as_str().starts_with(p))
            })
        });
        let scalar = |v: &toml::Value| -> anyhow::Result<String> {
            Ok(match v {
                toml::Value::String(s) if is_path => expand_path(s).with_context(|| {
                    format!(
                        "config file {}: [runners.{runner}] {key} = {s:?}",
                        path.display()
                    )
                })?,
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
