//! `mr run JOB`: runs a job with the local runner, in task mode, or with a
//! cluster runner (`-r hadoop|spark|emulate`, see [`crate::cluster`]).

use crate::args::{OutputFormatArg, RunArgs};
use crate::cluster::Runner;
use crate::cmd::report::Outcome;
use crate::cmd::status_line::{ClearsStatus, StatusLine};
use crate::{Registry, UsageError};
use anyhow::Context as _;
use mr_core::output::OutputFormat;
use mr_core::output::parquet::ParquetOptions;
use mr_core::runner::progress::Progress;
use mr_core::runner::task::{TaskEnv, TaskOptions, TaskRole};
use mr_core::{Output, RunConfig};
use std::io::{IsTerminal, Write};
use std::sync::Arc;

/// The jobconf keys the local runner itself reads.
pub const LOCAL_JOBCONF: [&str; 2] = ["mapreduce.job.reduces", "mapred.reduce.tasks"];

/// The reducers a run asks for: `--partitions`, else the last of `-D
/// mapreduce.job.reduces=N` and its old name `mapred.reduce.tasks` in
/// `jobconf` (the job's own settings, then the config file's and the
/// command line's: [`crate::cluster::jobconf_in_order`]), as Hadoop reads
/// them; 0 (the runner's default) when none says. The local runner, the
/// emulator and Spark all take it, so `-D mapreduce.job.reduces=3` gives
/// three reducers (and `reducer_final` runs) on each, as on Hadoop.
pub(crate) fn reducers_asked(
    partitions: usize,
    jobconf: &[(String, String)],
) -> anyhow::Result<usize> {
    if partitions != 0 {
        return Ok(partitions);
    }
    let Some((k, n)) = jobconf_last(jobconf, &LOCAL_JOBCONF) else {
        return Ok(0);
    };
    let reducers: usize = n.trim().parse().map_err(|_| {
        UsageError(format!(
            "jobconf {k}={n} (-D or the job's own): not a number"
        ))
    })?;
    // Said of the key given, not of --partitions, which was not (probe
    // /tmp/probe23-fuzz repro 09).
    let most = mr_core::config::MAX_PARTITIONS;
    if reducers > most {
        return Err(UsageError(format!(
            "jobconf {k}={n} (-D or the job's own): at most {most} reducers"
        ))
        .into());
    }
    Ok(reducers)
}

/// The setting of `jobconf` (the job's own, then `-D`) that wins among
/// `keys`: the last given.
pub(crate) fn jobconf_last<'a>(
    jobconf: &'a [(String, String)],
    keys: &[&str],
) -> Option<&'a (String, String)> {
    jobconf
        .iter()
        .rev()
        .find(|(k, _)| keys.contains(&k.as_str()))
}

/// Parses repeated `KEY=VALUE` options; a NUL anywhere is refused (it
/// panicked setting a `--cmdenv` variable).
///
/// ```
/// use mr_cli::cmd::run::parse_pairs;
/// assert_eq!(parse_pairs("--cmdenv", &["A=1".into()]).unwrap(), [("A".into(), "1".into())]);
/// let e = parse_pairs("--cmdenv", &["A=x\0y".into()]).unwrap_err().to_string();
/// assert!(e.contains("--cmdenv A: a NUL character"), "{e}");
/// ```
pub fn parse_pairs(flag: &str, items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            // No environment variable, and no argument of a cluster's
            // command, can hold a NUL.
            Some((k, _)) if kv.contains('\0') => crate::usage!(
                "{flag} {k}: a NUL character (\\0) in {}: no environment variable or \
                 setting can hold one; remove it",
                if k.contains('\0') {
                    "the key"
                } else {
                    "the value"
                }
            ),
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => crate::usage!("{flag} takes KEY=VALUE, got {kv:?}"),
        })
        .collect()
}

/// The job's options, files and jobconf for its tasks. Locally (`task_mode`
/// false) files are checked and made absolute, and a file option's value is
/// its file's path; in task mode (inside Hadoop, Spark, the emulator) files
/// are found by name in the working directory and the jobconf also comes
/// from the environment.
pub fn job_params(
    job: &dyn mr_core::Job,
    args: &RunArgs,
    task_mode: bool,
) -> anyhow::Result<mr_core::JobParams> {
    let mut p = mr_core::JobParams::default();
    p.options = args.job_options.clone();
    p.jobconf = crate::cluster::parse_jobconf(&args.jobconf)?
        .into_iter()
        .collect();
    // The job's own jobconf (its option defaults clap has given already).
    let mut p = p.with_defaults_of(job);
    p.jobconf_from_env = task_mode;
    p.files_in_cwd = task_mode;
    if task_mode {
        return Ok(p);
    }
    for given in &args.files {
        // A path that exists is that file, `#` and `,` and all, as a file
        // option of the job takes it; else commas separate files and `#`
        // names one (Hadoop's -files). `--files 'h#x.tsv'` with that file
        // there said "--files h: no such file" (probe /tmp/probe23-fuzz
        // repro 08).
        let exists = |p: &std::path::Path| p.exists();
        let specs: Vec<&str> = match exists(given.as_ref()) {
            true => vec![given.as_str()],
            false => given.split(',').collect(),
        };
        for spec in specs {
            // A malformed spec is the command line's fault: exit 2.
            let (path, name) = mr_core::options::parse_file_option("files", spec, exists)
                .map_err(|e| anyhow::Error::new(crate::UsageError(e)))?;
            let name = name.unwrap_or_else(|| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                name.unwrap_or_default()
            });
            if !path.exists() && path.as_os_str() != given.as_str() {
                anyhow::bail!(
                    "--files {given:?}: no such file {} (read as {}: commas separate files, \
                     and PATH#NAME ships PATH under NAME)",
                    path.display(),
                    match spec.contains('#') {
                        true => format!("{} shipped as {name}", path.display()),
                        false => format!("the file {}", path.display()),
                    }
                );
            }
            add_file(&mut p, &path, name)?;
        }
    }
    ship_file_options(job, &mut p)?;
    Ok(p)
}

/// Adds the file `path`, shipped to tasks as `name`, to `p`'s files.
fn add_file(
    p: &mut mr_core::JobParams,
    path: &std::path::Path,
    name: String,
) -> anyhow::Result<()> {
    let abs = local_file(path, "--files")?;
    if p.files.insert(name.clone(), abs).is_some() {
        crate::usage!("--files: two files named {name}");
    }
    Ok(())
}

/// A file given to a file option (`JobOption::file`), as `PATH` or
/// mrjob's `PATH#NAME`: its absolute path as the option's value, and the
/// file among those shipped to tasks, under NAME or its own file name.
pub fn ship_file_options(job: &dyn mr_core::Job, p: &mut mr_core::JobParams) -> anyhow::Result<()> {
    for o in job.options() {
        if o.kind != mr_core::OptionKind::File {
            continue;
        }
        let Some(v) = p.options.get(&o.name).cloned() else {
            continue;
        };
        // A path that cannot be looked at (a directory without x) is taken
        // whole, for `local_file` to say why.
        let exists = |p: &std::path::Path| p.try_exists().unwrap_or(true);
        let (path, named) = mr_core::options::parse_file_option(&o.name, &v, exists)
            .map_err(|e| anyhow::Error::new(crate::UsageError(e)))?;
        if let Some(n) = &named
            && !path.exists()
        {
            anyhow::bail!(
                "--{} {v}: no such file, nor is {} (to ship as {n}, as mrjob reads PATH#NAME)",
                o.name,
                path.display()
            );
        }
        let abs = local_file(&path, &format!("--{}", o.name))?;
        let name = named.unwrap_or_else(|| {
            abs.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        if let Some(other) = p.files.get(&name)
            && other != &abs
        {
            anyhow::bail!(
                "--{} {}: another file is already shipped as {name}",
                o.name,
                abs.display()
            );
        }
        p.files.insert(name, abs.clone());
        p.options.insert(o.name.clone(), abs.display().to_string());
    }
    Ok(())
}

/// `path` made absolute, once it is known to be a file (`what` names the
/// option in the error).
fn local_file(path: &std::path::Path, what: &str) -> anyhow::Result<std::path::PathBuf> {
    // A file that exists but cannot be reached (a directory without x for
    // this user) says so, not "no such file".
    if let Err(e) = std::fs::metadata(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        anyhow::bail!("{what} {}: {e}", path.display());
    }
    if path.is_dir() {
        anyhow::bail!("{what} {}: a directory, not a file", path.display());
    }
    if path.exists() && !path.is_file() {
        // A FIFO, `<(cmd)`, /dev/null: a job's file is read by every task
        // (and shipped to a cluster), a stream only once.
        anyhow::bail!(
            "{what} {}: a pipe or device, not a regular file (every task reads a job's file, \
             and a cluster is sent it): save it to a file first (cmd > file)",
            path.display()
        );
    }
    if !path.is_file() {
        anyhow::bail!("{what} {}: no such file", path.display());
    }
    std::path::absolute(path).with_context(|| format!("{what} {}", path.display()))
}

/// The local path of an output or temp directory given as a path or a
/// `file:` URI (`file:///abs`, `file://localhost/abs`, `file:/abs`, as an
/// input may be); an error for a URI of another scheme (`s3://`, `hdfs://`,
/// `gs://`), which the local runner cannot write.
pub(crate) fn local_output(path: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let Some(s) = path.to_str() else {
        return Ok(path.to_path_buf()); // not UTF-8: no URI
    };
    if s.starts_with("file:")
        && let Ok(local) = mr_core::input::listing::local_path_of(s)
        && local != s
    {
        return Ok(std::path::PathBuf::from(local));
    }
    if let Some((scheme, _)) = s.split_once("://") {
        anyhow::bail!(
            "the local runner writes local directories only, not {scheme}:// ({s}): \
             write locally and copy, or run on the cluster with -r hadoop or -r spark"
        );
    }
    Ok(path.to_path_buf())
}

/// Whether stdin is a character device (`/dev/null`), not a pipe or a file.
fn stdin_is_a_device() -> bool {
    rustix::fs::fstat(std::io::stdin()).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::CharacterDevice
    })
}

/// Turns the raw flags into a checked configuration.
pub fn config(args: &RunArgs) -> anyhow::Result<RunConfig> {
    let mut inputs = args.inputs.clone();
    inputs.extend(args.positional_inputs.iter().cloned());
    // As mrjob does: no input named and something piped in: read stdin.
    // On a terminal, stdin is a person typing: keep the "no input" error.
    if inputs.is_empty() && !std::io::stdin().is_terminal() {
        if stdin_is_a_device() {
            // `/dev/null`, as cron and schedulers give: a command line whose
            // input variable came out empty, which would publish an empty
            // output with _SUCCESS.
            crate::usage!(
                "no input given, and stdin is a device (/dev/null?), not a pipe or a file: \
                 nothing to read; name the input (--input PATH), or give -i - to read stdin \
                 anyway"
            );
        }
        inputs.push("-".into());
    }
    let stdin_named = |i: &String| matches!(i.as_str(), "-" | "/dev/stdin" | "/dev/fd/0");
    if crate::closed_stdout::stdin_closed_at_start() && inputs.iter().any(stdin_named) {
        crate::usage!(
            "standard input is closed (EBADF: closed when mr started, as with <&-), and it is \
             named as an input: it would read as empty, and the run would publish an empty \
             output; give it a pipe or a file (< FILE), or name the input (--input PATH)"
        );
    }
    let cfg = RunConfig {
        inputs,
        output: match &args.output {
            Some(path) => Output::Dir {
                path: local_output(path)?,
                overwrite: args.overwrite,
            },
            None => Output::Stdout,
        },
        jobs: args.jobs,
        partitions: args.partitions,
        chunk_size: args.chunksize,
        sort_buffer_bytes: sort_buffer(args.sort_buffer_mb)?,
        tmp_dir: args.tmp_dir.as_deref().map(local_output).transpose()?,
        skip_bad_records: args.skip_bad_records,
        // Results on stdout: skipped records on stderr.
        bad_records_dir: None,
        cut_streams: args.cut_streams.into(),
        merge_fan_in: args.merge_fan_in,
        output_format: match args.output_format {
            OutputFormatArg::Lines => OutputFormat::Lines,
            OutputFormatArg::Parquet => OutputFormat::Parquet(ParquetOptions {
                compression: args.parquet_compression,
                ..ParquetOptions::default()
            }),
        },
        progress: None,
        params: Default::default(),
        output_protocol: args.output_protocol,
        inline: args.runner == Runner::Inline,
        max_line_bytes: max_line_bytes(args.max_line_mb)?,
        dictionaries: args.dictionaries.clone(),
        dictionary_store: args.dictionary_store.clone(),
        report: args.report.clone(),
    };
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(cfg)
}

/// The checks of [`config`] that look at one value at a time (sizes,
/// counts), for values from a config file, which are checked one by one to
/// name the key of a bad one.
pub fn check_values(args: &RunArgs) -> anyhow::Result<()> {
    let mut cfg = RunConfig {
        inputs: vec!["-".into()],
        jobs: args.jobs,
        partitions: args.partitions,
        chunk_size: args.chunksize,
        max_line_bytes: max_line_bytes(args.max_line_mb)?,
        merge_fan_in: args.merge_fan_in,
        ..RunConfig::default()
    };
    if let Some(mb) = args.sort_buffer_mb {
        cfg.sort_buffer_bytes = mib_flag("--sort-buffer-mb", mb)?;
    }
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    parse_pairs("--cmdenv", &args.cmdenv)?;
    crate::cluster::parse_jobconf(&args.jobconf)?;
    Ok(())
}

/// A size flag given in MiB (`--sort-buffer-mb`, `--max-line-mb`; fractions
/// allowed), in bytes: from 1 KiB to 1e9 MiB.
fn mib_flag(flag: &str, mb: f64) -> anyhow::Result<u64> {
    let bytes = mb * (1u64 << 20) as f64;
    if !bytes.is_finite() || !(1024.0..=1e15).contains(&bytes) {
        crate::usage!("{flag} must be between 0.001 (1 KiB) and 1e9, got {mb}");
    }
    Ok(bytes as u64)
}

/// The sort buffer in bytes: `--sort-buffer-mb`, or the default sized to
/// the cgroup's memory limit. A buffer given near or past that limit would
/// have the OOM killer end the run with no word (exit 137): it is cut to
/// what the default would be, and said (the results do not depend on it).
fn sort_buffer(mb: Option<f64>) -> anyhow::Result<u64> {
    use mr_core::runner::limits::{default_sort_buffer, memory_budget};
    let budget = memory_budget();
    let limit = budget.map(|(l, _)| l);
    let Some(mb) = mb else {
        return Ok(default_sort_buffer(limit));
    };
    let bytes = mib_flag("--sort-buffer-mb", mb)?;
    match budget.filter(|&(l, _)| bytes > l / 4 * 3) {
        Some((l, whose)) => {
            let fits = default_sort_buffer(limit).min(bytes);
            mr_core::errln!(
                "mr: warning: --sort-buffer-mb {mb} is near or past the memory limit here ({} \
                 MiB, {whose}), where the run would be killed: using {} MiB",
                l >> 20,
                fits >> 20
            );
            Ok(fits)
        }
        None => Ok(bytes),
    }
}

/// `--max-line-mb` in bytes, or the default sized to a memory limit: a
/// 200 MB line under `ulimit -v 400000` aborted the run with Rust's
/// "memory allocation failed" where it is a bad record naming the line
/// (probe /tmp/probe21-cliffs repro 03).
fn max_line_bytes(mb: Option<f64>) -> anyhow::Result<usize> {
    use mr_core::runner::limits::{default_max_line, memory_budget};
    let bytes = match mb {
        Some(mb) => mib_flag("--max-line-mb", mb)?,
        None => default_max_line(memory_budget().map(|(l, _)| l)),
    };
    Ok(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// The streaming role asked for, if any.
fn task_role(args: &RunArgs) -> Option<TaskRole> {
    if args.mapper {
        Some(TaskRole::Mapper)
    } else if args.combiner {
        Some(TaskRole::Combiner)
    } else if args.reducer {
        Some(TaskRole::Reducer)
    } else {
        None
    }
}

/// Task mode: one mapper, combiner or reducer between stdin and stdout.
fn run_task(job: &dyn mr_core::Job, role: TaskRole, args: &RunArgs) -> anyhow::Result<()> {
    if !args.inputs.is_empty() || !args.positional_inputs.is_empty() || args.output.is_some() {
        crate::usage!(
            "--mapper/--combiner/--reducer read stdin and write stdout: drop --input and --output"
        );
    }
    let params = Arc::new(job_params(job, args, true)?);
    let steps = mr_core::job::steps_of(job, &params)?;
    let opts = TaskOptions {
        step: args.step_num,
        role,
        skip_bad_records: args.skip_bad_records,
        params: params.clone(),
        output_protocol: args.output_protocol.unwrap_or_else(|| {
            // The last step's last task writes the job's final records, as
            // mrjob's task mode uses OUTPUT_PROTOCOL there; others write JSON.
            let last_has_reducer = steps.last().is_some_and(|s| s.has_reducer());
            if role.writes_final_records(args.step_num, steps.len(), last_has_reducer) {
                job.output_protocol()
            } else {
                mr_core::OutputProtocol::Json
            }
        }),
        max_line_bytes: max_line_bytes(args.max_line_mb)?,
    };
    mr_core::status::report_to_stderr();
    let stdin = std::io::stdin();
    let mut stderr = std::io::stderr();
    // Job code's println! goes to the task's stderr, not into Streaming's
    // key<TAB>value lines as a record of the results.
    let mut aside = crate::stdout_aside::StdoutAside::new();
    mr_core::runner::task::run_task(
        job,
        &opts,
        &TaskEnv::from_env(),
        stdin.lock(),
        aside.results(),
        &mut stderr,
    )?;
    Ok(())
}

/// Warns about `-D` keys that neither the job nor the local runner read.
fn warn_unread_jobconf(params: &mr_core::JobParams, quiet: bool) {
    if quiet {
        return;
    }
    let read = params.read_keys();
    for k in params.jobconf.keys() {
        if !read.contains(k) && !LOCAL_JOBCONF.contains(&k.as_str()) {
            mr_core::errln!(
                "mr: warning: -D {} was not read by the job nor used by the local runner \
                 (it is passed on with -r hadoop and -r spark)",
                mr_core::error::printable_line(k)
            );
        }
    }
}

/// `--cat-output`: the part files of the output directory, in order, on stdout.
pub(crate) fn cat_output(dir: &std::path::Path) -> anyhow::Result<()> {
    let parts = mr_core::output::stdout::part_files(dir)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let printed = mr_core::output::stdout::concat_parts(&parts, &mut out)
        .and_then(|()| out.flush().map_err(mr_core::Error::Stdout));
    // The output is complete whatever happens to its copy on stdout: a
    // retry must not take it for a failed run's.
    printed.with_context(|| {
        format!(
            "--cat-output: {} is complete and in place; only printing it failed",
            dir.display()
        )
    })
}

/// Refuses a run that prints to stdout (its results without `-o` or with
/// `--cat-output`, task mode, `--dry-run`'s commands, a `--report` to
/// `/dev/stdout` or `-`) when stdout was closed when mr started (`>&-`):
/// Rust had put `/dev/null` in its place, and what it printed was lost
/// with exit 0. A pipe its reader closes (`| head`) is no such case, and
/// stays a success.
fn refuse_closed_stdout(args: &RunArgs) -> anyhow::Result<()> {
    use crate::closed_stdout::{names_fd, names_stdout, refuse_if_closed};
    let task = task_role(args).is_some();
    let prints =
        task || args.dry_run || (!args.no_output && (args.output.is_none() || args.cat_output));
    if prints {
        let (what, instead) = if task {
            ("its task's records", "")
        } else if args.dry_run {
            ("its commands", "")
        } else {
            (
                "its results",
                ", or write them to a directory with -o DIR (without --cat-output)",
            )
        };
        refuse_if_closed(&format!("this run prints {what}"), "results.txt", instead)?;
    }
    if let Some(report) = args.report.as_deref().filter(|r| names_stdout(r)) {
        refuse_if_closed(
            &format!(
                "this run writes its report (--report {})",
                mr_core::error::printable_path(report)
            ),
            "run.json",
            ", or give --report a file (--report run.json)",
        )?;
    }
    // The same for a report to a closed stderr: only the exit status can
    // say so there.
    if let Some(report) = args.report.as_deref().filter(|r| names_fd(r, 2))
        && crate::closed_stdout::stderr_closed_at_start()
    {
        crate::usage!(
            "standard error is closed (closed when mr started, as with 2>&-), and this run \
             writes its report there (--report {}), which would be lost: give --report a file",
            mr_core::error::printable_path(report)
        );
    }
    // Skipped records are kept on stderr where there is no output
    // directory (results on stdout, --no-output, a task): closed, they
    // would be lost and the run would succeed.
    if args.skip_bad_records
        && (task || args.output.is_none())
        && crate::closed_stdout::stderr_closed_at_start()
    {
        crate::usage!(
            "standard error is closed (closed when mr started, as with 2>&-), and this run keeps \
             the records --skip-bad-records skips there, which would be lost: give it a stderr \
             (2>bad.txt){}",
            if task {
                ""
            } else {
                ", or write the results to a directory with -o DIR (its _bad_records/ keeps them)"
            }
        );
    }
    Ok(())
}

/// Runs the job; the summary goes to stderr unless `--quiet`; the report
/// (`--report`) is written whether the run succeeds or fails.
pub fn run(registry: &Registry, args: &RunArgs) -> anyhow::Result<()> {
    let job = registry.resolve(&args.job)?;
    refuse_closed_stdout(args)?;
    if let Some(role) = task_role(args) {
        return run_task(job.as_ref(), role, args);
    }
    if args.step_num != 0 {
        crate::usage!("--step-num is for task mode: add --mapper, --combiner or --reducer");
    }
    if args.output.as_deref() == Some(std::path::Path::new("-")) {
        // Not a directory named `-` that `| next_tool` never sees.
        crate::usage!(
            "-o -: results go to stdout when --output is left out (or give ./- for a \
             directory of that name)"
        );
    }
    if args.output_format != OutputFormatArg::Lines {
        // Said before the run, not found after it: a table is not lines.
        if args.cat_output {
            crate::usage!(
                "--cat-output prints line output; a Parquet table is read with a table reader \
                 (duckdb -c \"SELECT * FROM 'DIR/*.parquet'\", polars.read_parquet('DIR/*.parquet'))"
            );
        }
        if args.output_protocol.is_some() {
            crate::usage!(
                "--output-protocol is for line output; a Parquet table takes the job's records \
                 as they are"
            );
        }
    }
    if let Some(path) = &args.report {
        // Found before the run, not after it with the output in place.
        crate::cmd::report::check_writable(path, args.output.as_deref())?;
        let inputs: Vec<String> = args
            .inputs
            .iter()
            .chain(&args.positional_inputs)
            .cloned()
            .collect();
        crate::cmd::report::check_not_run_data(path, &inputs, args.output.as_deref())?;
        let mut read: Vec<(String, std::path::PathBuf)> = Vec::new();
        if let Some(store) = &args.dictionary_store {
            read.push(("the dictionary store".into(), store.clone()));
        }
        if let Some(dir) = &args.dictionaries {
            read.push(("the --dictionaries directory".into(), dir.clone()));
        }
        for conf in &args.conf_path {
            read.push(("a config file".into(), conf.clone()));
        }
        // $MR_CONF, read when no -c is given.
        if let Some(conf) = std::env::var_os("MR_CONF").filter(|v| !v.is_empty())
            && args.conf_path.is_empty()
            && !args.no_conf
        {
            read.push(("the config file $MR_CONF names".into(), conf.into()));
        }
        for (name, file) in job_params(job.as_ref(), args, false)?.files {
            read.push((format!("the job's file {name}"), file));
        }
        crate::cmd::report::check_not_read(path, &read)?;
    }
    match args.runner {
        Runner::Local if args.dry_run => {
            crate::usage!("--dry-run is for cluster runners: add -r hadoop or -r spark")
        }
        Runner::Emulate if args.dry_run => {
            crate::usage!("--dry-run is for -r hadoop and -r spark")
        }
        Runner::Inline if args.dry_run => {
            crate::usage!("--dry-run is for -r hadoop and -r spark")
        }
        Runner::Local | Runner::Inline => {}
        _ if args.output_format != OutputFormatArg::Lines => {
            crate::usage!("--output-format parquet is for the local runner (drop -r)")
        }
        _ if args.dictionaries.is_some() || args.dictionary_store.is_some() => {
            crate::usage!(
                "--dictionaries and --dictionary-store are for the local runner, which makes \
                 categorical ids (drop -r)"
            )
        }
        runner => {
            let started = std::time::Instant::now();
            let result = crate::cluster::run(job.as_ref(), runner, args);
            // Nothing ran with --dry-run: nothing to report.
            let ran = match &result {
                Ok(None) => None,
                Ok(Some(report)) => Some(Ok(report)),
                Err(e) => Some(Err(e)),
            };
            if let (Some(path), Some(ran)) = (&args.report, ran) {
                // The reducers the runners take (`-D mapreduce.job.reduces`,
                // the job's own jobconf), as the local runner reports them
                // (probe /tmp/probe17-report repro 03: one per core).
                let cfg = config(args).ok().map(|mut c| {
                    c.partitions = crate::cluster::jobconf_in_order(job.as_ref(), args)
                        .ok()
                        .and_then(|jc| reducers_asked(args.partitions, &jc).ok())
                        .unwrap_or(args.partitions);
                    c
                });
                let runner = format!("{runner:?}").to_lowercase();
                let (name, output) = (job.name(), args.output.as_deref());
                write_report(
                    path,
                    name,
                    output,
                    cfg.as_ref(),
                    Some(&runner),
                    ran,
                    started,
                )?;
            }
            return result.map(|_| ());
        }
    }
    // Ids for a job that makes none: a wrong command, said before anything
    // runs (exit 2).
    let ids_flag = match (&args.dictionaries, &args.dictionary_store) {
        (Some(_), _) => Some("--dictionaries"),
        (None, Some(_)) => Some("--dictionary-store"),
        (None, None) => None,
    };
    if let Some(flag) = ids_flag
        && job.categorical_columns().is_empty()
    {
        crate::usage!("{flag}: job {} has no categorical columns", job.name());
    }
    let started = std::time::Instant::now();
    // Every report names its runner (`local`, `inline`), as a cluster
    // run's does (probe /tmp/probe17-report repro 09).
    let runner = format!("{:?}", args.runner).to_lowercase();
    // A run that does not stop by itself when told (blocked reading a pipe,
    // or writing to a reader that does not read) ends by a forced exit,
    // which wrote no report (probe /tmp/probe17-report repro 07): one is
    // written then, as a failed run's. Not to a stream: fd 1 may be the
    // very thing the run is blocked on.
    let _report_if_forced = args
        .report
        .clone()
        .filter(|p| {
            matches!(
                crate::cmd::report::target(p),
                Ok(crate::cmd::report::Destination::File(_))
            )
        })
        .map(|path| {
            let (job, output, cfg) = (
                job.name().to_string(),
                args.output.clone(),
                config(args).ok(),
            );
            let runner = runner.clone();
            mr_core::cancel::on_forced_exit(move || {
                let after = match mr_core::cancel::in_place() {
                    Some(dir) => format!(
                        " after its output {} was put in place, complete",
                        mr_core::error::printable_path(&dir)
                    ),
                    None => String::new(),
                };
                let error = anyhow::anyhow!(
                    "interrupted{after}: the run did not stop by itself when told to (blocked \
                     on its input or its output, or interrupted twice), and was ended"
                );
                let _ = write_report(
                    &path,
                    &job,
                    output.as_deref(),
                    cfg.as_ref(),
                    Some(&runner),
                    Err(&error),
                    started,
                );
            })
        });
    let mut cfg = None;
    let result = run_local(job.as_ref(), args, &mut cfg);
    // Printed before the report (one to stdout comes after the results),
    // but not part of the run's result: a reader that leaves early (`|
    // head`) or a full disk under the copy leaves a finished run finished,
    // its report in the output written (probe /tmp/probe17-report repro 10:
    // a committed run was reported as stopped, its report left out).
    let printed = match &result {
        Ok(report) if args.cat_output && !args.no_output => {
            report.output_dir.as_deref().map_or(Ok(()), cat_output)
        }
        _ => Ok(()),
    };
    if let Some(path) = &args.report {
        write_report(
            path,
            job.name(),
            args.output.as_deref(),
            cfg.as_ref(),
            Some(&runner),
            result.as_ref(),
            started,
        )?;
    }
    let report = result?;
    printed?;
    let totals = crate::cmd::summary::Totals::of(&report);
    let named = !args.inputs.is_empty() || !args.positional_inputs.is_empty();
    if !named && totals.input_bytes == 0 {
        // A cron line that lost its -i: said even with -q.
        mr_core::errln!("mr: warning: no --input given and stdin was empty: nothing was read");
    }
    let mangled = report.counters.all_steps(mr_core::counters::MANGLED);
    if mangled > 0 {
        // Said even with -q: the output is not what a reader will get back.
        mr_core::errln!(
            "mr: warning: {mangled} record{} written as text that a reader cannot split back \
             (a newline in a key or value, or a tab in a text key, written as it is, as mrjob's \
             TextProtocol does); --output-protocol json keeps every record one line",
            if mangled == 1 { " was" } else { "s were" }
        );
    }
    if !args.quiet {
        let say = crate::cmd::summary::Say {
            verbose: args.verbose,
            discarded: args.no_output,
        };
        let text = crate::cmd::summary::summary(job.name(), &report, &totals, say);
        let text = mr_core::error::printable(&text);
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
    Ok(())
}

/// Writes the report of a run that finished or failed (`--report`); when
/// both the run and the writing fail, the run's error is the one returned.
/// A failed run's report is not written inside `output`: that directory is
/// the previous output, which a failed run leaves as it was (a report
/// added there was read as a record by the next job over it).
fn write_report(
    path: &std::path::Path,
    job: &str,
    output: Option<&std::path::Path>,
    cfg: Option<&RunConfig>,
    runner: Option<&str>,
    result: Result<&mr_core::JobReport, &anyhow::Error>,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    let outcome = match result {
        Ok(report) => Outcome::Finished(report),
        // Exit 0 (see run_cli): the report agrees.
        Err(e)
            if e.downcast_ref::<mr_core::Error>()
                .is_some_and(|e| e.is_broken_pipe())
                && !mr_core::cancel::requested() =>
        {
            Outcome::Stopped {
                note: "standard output was closed by its reader (as with | head): the run \
                       stopped there, with no error"
                    .into(),
                elapsed: started.elapsed(),
            }
        }
        Err(e) => Outcome::Failed {
            error: crate::error_chain(e),
            elapsed: started.elapsed(),
        },
    };
    // The output as a path here: `file:///data/out` is /data/out.
    let local = output.and_then(|o| local_output(o).ok());
    if let (Err(_), Some(out)) = (result, local.as_deref())
        && mr_core::paths::same(out, mr_core::paths::dir_of(path))
    {
        mr_core::errln!(
            "mr: the report was not written to {}: a failed run leaves the output {} as it \
             was; give --report a path outside the output to keep failed runs' reports",
            mr_core::error::printable_path(path),
            mr_core::error::printable_path(out)
        );
        return Ok(());
    }
    let mut doc = crate::cmd::report::document(job, cfg, &outcome);
    if let (Some(r), serde_json::Value::Object(m)) = (runner, &mut doc) {
        m.insert("runner".into(), r.into());
    }
    // None asked: Hadoop's and Spark's own defaults, not known here (the
    // emulator, as the local runner, takes one a thread).
    if matches!(runner, Some("hadoop" | "spark")) {
        if cfg.is_some_and(|c| c.partitions == 0) {
            doc["settings"]["partitions"] = serde_json::Value::Null;
        }
        // Their sort buffers' spills are theirs to count, not known here.
        if doc.get("totals").is_some() {
            doc["totals"]["spills"] = serde_json::Value::Null;
            doc["spills_per_step"] = serde_json::Value::Null;
        }
    }
    let written = crate::cmd::report::write(path, &doc);
    match (written, result) {
        (Err(w), Err(_)) => {
            // The run's own error matters more: say this one and go on.
            mr_core::errln!("mr: warning: {}", crate::error_chain(&w));
            Ok(())
        }
        (Err(w), Ok(report)) => match &report.output_dir {
            // Not a failed run: a rerun would find the output in place.
            Some(dir) => Err(w.context(format!(
                "the output {} is complete (_SUCCESS), only its report is missing",
                mr_core::error::printable_path(dir)
            ))),
            None => Err(w),
        },
        (Ok(()), _) => Ok(()),
    }
}

/// The local runner, with progress on a terminal; `cfg` is the checked
/// configuration once there is one (for the report).
fn run_local(
    job: &dyn mr_core::Job,
    args: &RunArgs,
    cfg_out: &mut Option<RunConfig>,
) -> anyhow::Result<mr_core::JobReport> {
    let mut cfg = config(args)?;
    let params = job_params(job, args, false)?;
    let jobconf = crate::cluster::jobconf_in_order(job, args)?;
    // 0 reducers is refused here as on the cluster runners: what works
    // locally must not fail (or run map-only) on Hadoop.
    let mut plan =
        crate::cluster::JobPlan::new(job, &params, Default::default(), false, Default::default())?;
    plan.extras.jobconf = jobconf.clone();
    crate::cluster::refuse_map_only_jobconf(&plan)?;
    cfg.partitions = reducers_asked(args.partitions, &jobconf)?;
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    cfg.params = Arc::new(params);
    for (k, v) in parse_pairs("--cmdenv", &args.cmdenv)? {
        // Before any task thread starts: the job's code reads them as
        // Hadoop tasks do, from the environment.
        // Edition 2024 marks set_var unsafe (the workspace's other unsafe
        // code: closed_stdout.rs's constructor entry, mr-core's
        // input/mapped.rs and json_scan.rs's AVX2 call and ASCII check).
        // SAFETY: no task, reader or status thread has started yet; the
        // only other thread is the signal handler's, blocked in a read
        // until a signal comes, and it reads no environment variable.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(k, v)
        };
    }
    *cfg_out = Some(cfg.clone());
    let status = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let progress = Arc::new(Progress::default());
        cfg.progress = Some(progress.clone());
        Arc::new(StatusLine::start(progress))
    });
    let stdout = std::io::stdout();
    // Results on the terminal that shows the bar: the bar goes first, or
    // its next redraw would erase the lines just printed.
    let bar_on_stdout = status.clone().filter(|_| stdout.is_terminal());
    // Job code's println! goes to stderr while the job runs (it hung the
    // run on the stdout lock the results held).
    let mut aside = crate::stdout_aside::StdoutAside::new();
    let mut out: Box<dyn Write> = if args.no_output {
        Box::new(std::io::sink())
    } else {
        Box::new(ClearsStatus::new(
            std::io::BufWriter::with_capacity(1 << 16, aside.results()),
            bar_on_stdout,
        ))
    };
    let result = mr_core::run_job(job, &cfg, &mut out);
    if let Some(s) = &status {
        s.finish();
    }
    let report = result?;
    drop(out);
    drop(aside);
    warn_unread_jobconf(&cfg.params, args.quiet);
    Ok(report)
}
