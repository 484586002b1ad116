//! `-r spark`: runs each step on Apache Spark, with this binary as the
//! streaming mapper, combiner and reducer.
//!
//! The work is done by a PySpark driver ([`DRIVER`], `spark_driver.py`
//! beside this file), written to a temporary file and started with
//! `spark-submit` (`--spark-submit PATH`, or `spark-submit` on the PATH), or
//! else with `python3` when `pyspark` is importable (`pip install pyspark`).
//! For each step it reads the input with `sc.textFile` (files, directories,
//! globs, `.gz`), pipes each partition through the mapper (and, sorted,
//! through the combiner), partitions the records with Hadoop's hash of the
//! first field, sorts each partition by key bytes and pipes it through the
//! reducer; the steps are chained in Spark, and the last one is saved with
//! `saveAsTextFile` (`part-NNNNN` and `_SUCCESS`). Spark ships the binary to
//! the executors itself (`sc.addFile`).
//!
//! - `--spark-master`: `local[N]`, `local[*]` (the default) or a standalone
//!   cluster `spark://HOST:PORT` (or anything `spark-submit --master` takes).
//! - Paths without a scheme are local files (`file://`); give cluster paths
//!   with theirs (`hdfs:///logs`, `s3a://bucket/logs`).
//! - `-D spark.KEY=VALUE` is Spark configuration; any other `-D` goes to the
//!   Hadoop configuration Spark reads and writes files with.
//! - `--partitions R` reducers (default: Spark's default parallelism).
//! - Without `--output`, the results come back to this machine and are
//!   printed in key order, as with the local runner.

use super::process::{Echo, Stopped, run_stoppable};
use super::{JobPlan, absolute, has_scheme, shell_quote};
use crate::args::RunArgs;
use anyhow::{Context as _, Result};
use mr_core::input::listing::InputSource;
use mr_core::{Counters, JobReport};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The PySpark driver, written to a temporary file at run time.
pub const DRIVER: &str = include_str!("spark_driver.py");

/// The file name the driver is written under.
const DRIVER_NAME: &str = "mr_spark_driver.py";

/// What starts the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    /// `spark-submit --master M DRIVER SPEC`.
    SparkSubmit(PathBuf),
    /// `python3 DRIVER SPEC`, pyspark importable (it starts Spark itself).
    Python(PathBuf),
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `--spark-submit`, else `spark-submit` on the PATH, else `python3` if it
/// can import pyspark.
pub fn find_launcher(spark_submit: Option<&Path>) -> Result<Launcher> {
    if let Some(p) = spark_submit {
        // mrjob's --spark-submit-bin takes a command with arguments.
        if p.to_string_lossy().contains(char::is_whitespace) && !p.exists() {
            anyhow::bail!(
                "--spark-submit {}: no such file; it is the path of spark-submit alone \
                 (mrjob's --spark-submit-bin command with arguments is not taken): give \
                 Spark settings as -D spark.KEY=VALUE",
                mr_core::error::printable_path(p)
            );
        }
        return Ok(Launcher::SparkSubmit(p.to_path_buf()));
    }
    if let Some(p) = on_path("spark-submit") {
        return Ok(Launcher::SparkSubmit(p));
    }
    let python =
        PathBuf::from(std::env::var_os("PYSPARK_PYTHON").unwrap_or_else(|| "python3".into()));
    let importable = Command::new(&python)
        .args(["-c", "import pyspark"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if importable {
        return Ok(Launcher::Python(python));
    }
    anyhow::bail!(
        "-r spark needs Spark: `pip install pyspark` (and a Java runtime), \
         or --spark-submit PATH to a Spark installation's spark-submit"
    )
}

/// Where a path given to `mr` lives for Spark: paths with a scheme as they
/// are, others as local files.
fn spark_path(p: &str) -> Result<String> {
    if has_scheme(p) {
        return Ok(p.to_string());
    }
    Ok(format!("file://{}", absolute(Path::new(p))?.display()))
}

/// The files of the output `out` (on this machine, as Spark reads a bare
/// path) that are reports an earlier run wrote there (`--report
/// OUT/run.json`), told by name and content as the local runner tells them
/// ([`mr_core::output::commit::is_report_of`]): the driver replaces them
/// with the output under `--overwrite`, which it had refused for them
/// (probe /tmp/probe15-cluster repro 01).
fn earlier_reports(out: &Path) -> Vec<String> {
    let Some(dir) = super::local_output(&out.display().to_string(), super::Runner::Spark) else {
        return Vec::new();
    };
    let Some(output) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| mr_core::output::commit::is_report_of(&dir, name, &output))
        .collect()
}

/// Where the driver writes the new output (`.OUT.mr-tmp-JOB-SECS-PID`, as
/// on Hadoop), moved in once complete: named here, so that mr can remove it
/// when the run is interrupted.
fn staging_of(output: Option<&str>, job: &str) -> Option<String> {
    let out = output?;
    Some(mr_core::output::commit::cluster_sibling(
        out,
        mr_core::output::commit::STAGING_INFIX,
        &super::run_id(job),
    ))
}

/// A local directory's identity (device, inode), or `None` when there is
/// none at `path`: tells an output moved into place from the one that was
/// there.
fn dir_id(path: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// What a stopped Spark run left at its output.
enum LeftAtOutput {
    /// What the job wrote was removed (or named for the user to remove);
    /// an old output is as it was.
    Removed,
    /// The job had finished: its output `out` is in place, complete, and an
    /// old output it replaced is still in `aside`.
    Finished { out: String, aside: Option<PathBuf> },
}

/// After the driver was stopped by a signal: removes what the stopped job
/// wrote on a local file system (a cluster file system's paths are named
/// for the user to remove), and puts back an old output the driver had
/// moved aside. `out_before`: what OUT was when the run started (see
/// [`dir_id`]; `None`: absent). A job that had finished (its staging
/// directory moved into OUT's place) is left as it is.
fn clean_up_stopped(spec: &serde_json::Value, out_before: Option<(u64, u64)>) -> LeftAtOutput {
    let Some(out) = spec["output"].as_str() else {
        return LeftAtOutput::Removed;
    };
    let staging = spec["staging"].as_str();
    let Some(local) = out.strip_prefix("file://") else {
        let left: Vec<String> = staging.map(str::to_string).into_iter().collect();
        mr_core::errln!(
            "mr: warning: the stopped Spark job may have left {} (remove with hadoop fs -rm -r)",
            left.join(" and ")
        );
        return LeftAtOutput::Removed;
    };
    let out_path = Path::new(local);
    let staging = staging.and_then(|s| s.strip_prefix("file://"));
    // Where the driver moves an old output before moving the new one in.
    let old = staging.map(|s| PathBuf::from(s.replace(".mr-tmp-", ".mr-old-")));
    let now = dir_id(local);
    // The job's output left its staging directory only to move in.
    let moved_in = staging.is_none_or(|s| std::fs::symlink_metadata(s).is_err());
    if moved_in && now.is_some() && now != out_before && out_path.join("_SUCCESS").is_file() {
        // Another directory than at the start, complete: the job's new
        // output, moved in before the signal (not another run's: then the
        // staging directory would still be here).
        return LeftAtOutput::Finished {
            out: local.to_string(),
            aside: old.filter(|o| o.is_dir()),
        };
    }
    if let (Some(staging), Some(old)) = (staging, old) {
        if std::fs::symlink_metadata(out_path).is_err() && old.is_dir() {
            // Stopped between moving the old output aside and the new in.
            let _ = std::fs::rename(&old, out_path);
        }
        removed(Path::new(staging), std::fs::remove_dir_all(staging));
    }
    LeftAtOutput::Removed
}

/// The error of a stopped run, from what [`clean_up_stopped`] found.
/// `old`: the output `--overwrite` was to replace.
fn stopped_error(left: LeftAtOutput, old: Option<&str>) -> anyhow::Error {
    match left {
        LeftAtOutput::Finished { out, aside } => super::finished_before_stop(
            "Spark",
            &out,
            aside.map(|a| a.display().to_string()).as_deref(),
        ),
        LeftAtOutput::Removed => super::interrupted("Spark", old),
    }
}

/// Says so when what a stopped job wrote could not be removed.
fn removed(path: &Path, r: std::io::Result<()>) {
    if let Err(e) = r.or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(e),
    }) {
        mr_core::errln!(
            "mr: warning: could not remove {}, which the stopped job wrote: {e}",
            path.display()
        );
    }
}

/// The local runner's order of the files `listed`, as absolute paths
/// folded as Hadoop's `Path` folds them: the driver numbers a map-only
/// job's output parts in this order, where Spark lists a local directory
/// in the file system's order (probe /tmp/probe8-spark repro 02).
fn input_order(listed: &[mr_core::input::InputFile]) -> Vec<String> {
    listed
        .iter()
        .filter_map(|f| match &f.source {
            InputSource::Path(p) | InputSource::Stream(p) => {
                let abs = std::path::absolute(p).ok()?;
                Some(mr_core::paths::lexically_normal(&abs).to_str()?.to_string())
            }
            InputSource::Stdin => None,
        })
        .collect()
}

/// The job spec the driver reads (its only argument).
fn spec(plan: &JobPlan, args: &RunArgs, work: &Path) -> Result<serde_json::Value> {
    let inputs = super::inputs(args);
    let listed = super::refuse_local_inputs(&inputs, false, plan.reads_whole_files())?;
    if inputs.is_empty() {
        anyhow::bail!("no input given (use --input PATH)");
    }
    let mut spark_inputs = Vec::new();
    for i in &inputs {
        if i == "-" {
            anyhow::bail!("-r spark reads its input with Spark: stdin (-) is not supported");
        }
        spark_inputs.push(spark_path(i)?);
    }
    let mut spark_conf = BTreeMap::new();
    let mut hadoop_conf = BTreeMap::new();
    // Lines end at `\n` only, as on Hadoop (`sc.textFile` reads with the
    // same `TextInputFormat`): the job's or the user's `-D` may say otherwise.
    // And a failed job leaves no part files in the output (Hadoop's first
    // file output committer, as on Hadoop).
    for d in [
        super::hadoop::RECORD_DELIMITER,
        super::hadoop::OUTPUT_COMMITTER,
    ] {
        if let Some((k, v)) = d.split_once('=') {
            hadoop_conf.insert(k.to_string(), v.to_string());
        }
    }
    super::warn_of_output_separators(
        &plan.extras.jobconf,
        "on Spark, which writes each output line as it is",
    );
    for (k, v) in plan.extras.jobconf.clone() {
        if k.starts_with("spark.") {
            spark_conf.insert(k, v);
        } else {
            hadoop_conf.insert(k, v);
        }
    }
    let output = args
        .output
        .as_ref()
        .map(|o| spark_path(&o.display().to_string()))
        .transpose()?;
    Ok(json!({
        "job": plan.job,
        "binary": plan.binary.display().to_string(),
        "binary_name": plan.binary_name(),
        "steps": plan.steps.iter().map(|s| json!({
            "combiner": s.combiner, "reducer": s.reducer, "sort_values": s.sort_values,
            "whole_files": s.whole_files,
        })).collect::<Vec<_>>(),
        "inputs": spark_inputs,
        "input_order": input_order(&listed),
        "output": output,
        "overwrite": args.overwrite,
        "reports": args.output.as_deref().map(earlier_reports).unwrap_or_default(),
        "staging": staging_of(output.as_deref(), &plan.job),
        "local_output": work.join("output").display().to_string(),
        "partitions": crate::cmd::run::reducers_asked(args.partitions, &plan.extras.jobconf)?,
        "master": args.spark_master,
        "spark_conf": spark_conf,
        "hadoop_conf": hadoop_conf,
        "skip_bad_records": plan.skip_bad_records,
        // The group of mr's own counters ("step 0: input bytes" is the
        // driver's, from the input splits).
        "framework_counters": mr_core::counters::FRAMEWORK,
        // Each step's tasks' arguments after `--ROLE` (job options, the line
        // limit, the output protocol: JobPlan::task_args decides), files
        // shipped with addFile under their names, and the tasks'
        // environment: --cmdenv and the jobconf as Hadoop gives it (dots as
        // underscores).
        "task_args": (0..plan.steps.len()).map(|step| {
            use mr_core::runner::task::TaskRole::{Combiner, Mapper, Reducer};
            json!({
                "mapper": plan.task_args(step, Mapper)[5..],
                "combiner": plan.task_args(step, Combiner)[5..],
                "reducer": plan.task_args(step, Reducer)[5..],
            })
        }).collect::<Vec<_>>(),
        "files": plan.extras.files.iter().map(|(p, n)| json!([p.display().to_string(), n])).collect::<Vec<_>>(),
        "task_env": plan.extras.jobconf.iter().map(|(k, v)| (mr_core::options::jobconf_env_name(k), v.clone()))
            .chain(plan.extras.cmdenv.iter().cloned())
            .collect::<BTreeMap<String, String>>(),
        // The executors' memory is Spark's: this machine's limit is not theirs.
        "sorter_mb": args
            .sort_buffer_mb
            .unwrap_or((mr_core::config::DEFAULT_SORT_BUFFER >> 20) as f64)
            .max(1.0) as u64,
        "counters_file": work.join("counters.json").display().to_string(),
        "error_file": work.join("error.txt").display().to_string(),
    }))
}

/// The command that starts the driver.
fn command(
    launcher: &Launcher,
    master: &str,
    driver: &Path,
    spec: &str,
    conf: &[(String, String)],
) -> Command {
    let spark_conf = conf.iter().filter(|(k, _)| k.starts_with("spark."));
    // Both start a JVM, which reads its arguments and file names by the
    // locale: as `hadoop`'s, a UTF-8 one when ours is not.
    let mut c = match launcher {
        Launcher::SparkSubmit(bin) => {
            let mut c = Command::new(bin);
            c.args(["--master", master]);
            for (k, v) in spark_conf {
                c.arg("--conf").arg(format!("{k}={v}"));
            }
            c.arg(driver).arg(spec);
            c
        }
        Launcher::Python(py) => {
            // pyspark starts the JVM with these: settings such as
            // spark.driver.memory must be known then.
            let mut submit = vec!["--master".to_string(), shell_quote(master)];
            for (k, v) in spark_conf {
                submit.push("--conf".into());
                submit.push(shell_quote(&format!("{k}={v}")));
            }
            submit.push("pyspark-shell".into());
            let mut c = Command::new(py);
            c.arg(driver).arg(spec);
            if std::env::var_os("PYSPARK_SUBMIT_ARGS").is_none() {
                c.env("PYSPARK_SUBMIT_ARGS", submit.join(" "));
            }
            if std::env::var_os("PYSPARK_PYTHON").is_none() {
                c.env("PYSPARK_PYTHON", py);
            }
            c
        }
    };
    super::process::with_utf8_locale(&mut c);
    c
}

fn java_available() -> bool {
    std::env::var_os("JAVA_HOME").is_some_and(|h| !h.is_empty()) || on_path("java").is_some()
}

/// Spark's setting that leaves out empty input splits (true by default
/// since Spark 3.2).
const EMPTY_SPLITS: &str = "spark.hadoopRDD.ignoreEmptySplits";

/// Runs (or with `--dry-run`, prints) `plan` on Spark.
pub fn run(plan: &JobPlan, args: &RunArgs) -> Result<Option<JobReport>> {
    let started = Instant::now();
    let (shipped, _links) = super::with_plain_paths(plan, args.dry_run)?;
    let plan = &shipped;
    let launcher = find_launcher(args.spark_submit.as_deref())?;
    let mut conf = plan.extras.jobconf.clone();
    let tmp_root = args.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    // A local master's shuffle and spill files (Spark's blockmgr-*, under
    // /tmp unless spark.local.dir says otherwise) go under --tmp-dir, as the
    // local runner's spills do: a small /tmp was filled all the same (probe
    // /tmp/probe-new, repro 13). A cluster's executors keep their own dirs.
    if let Some(t) = &args.tmp_dir
        && args.spark_master.starts_with("local")
        && !conf.iter().any(|(k, _)| k == "spark.local.dir")
    {
        let dir = std::path::absolute(t).unwrap_or_else(|_| t.clone());
        conf.push(("spark.local.dir".into(), dir.display().to_string()));
    }
    // An empty input file is a map task, as on Hadoop and the local runner
    // (a mapper's final hook runs for it: mr_wc prints its zero counts):
    // Spark 3 leaves out empty splits unless told not to (probe
    // /tmp/probe-spark, repro 02: nothing printed, exit 0).
    if !conf.iter().any(|(k, _)| k == EMPTY_SPLITS) {
        conf.push((EMPTY_SPLITS.into(), "false".into()));
    }
    std::fs::create_dir_all(&tmp_root)
        .with_context(|| format!("creating {}", tmp_root.display()))?;
    let work = tempfile::Builder::new()
        .prefix("mr-spark-")
        .tempdir_in(&tmp_root)
        .with_context(|| format!("creating a temp dir in {}", tmp_root.display()))?;
    // A tuple drops its fields in order: the dir is removed before its
    // forced-exit guard goes, so a forced exit that comes while the run
    // cleans up still finds it listed.
    let guard = mr_core::cancel::remove_on_forced_exit(work.path());
    let guarded = (work, guard);
    let work = &guarded.0;
    let spec_value = spec(plan, args, work.path())?;
    let spec = spec_value.to_string();
    if args.dry_run {
        let c = command(
            &launcher,
            &args.spark_master,
            Path::new(DRIVER_NAME),
            &spec,
            &conf,
        );
        let mut words = vec![c.get_program().to_string_lossy().into_owned()];
        words.extend(c.get_args().map(|a| a.to_string_lossy().into_owned()));
        let env: Vec<String> = c
            .get_envs()
            .filter_map(|(k, v)| {
                Some(format!(
                    "{}={}",
                    k.to_string_lossy(),
                    shell_quote(&v?.to_string_lossy())
                ))
            })
            .collect();
        let mut line = env;
        line.extend(words.iter().map(|w| shell_quote(w)));
        super::print_dry_run(&format!(
            "# {DRIVER_NAME} is mr's PySpark driver, written to a temp dir at run time\n{}",
            line.join(" ")
        ))?;
        return Ok(None);
    }
    if !java_available() {
        anyhow::bail!("Spark needs a Java runtime: put `java` on the PATH or set $JAVA_HOME");
    }
    let driver = work.path().join(DRIVER_NAME);
    std::fs::write(&driver, DRIVER).with_context(|| format!("writing {}", driver.display()))?;
    let local_output = work.path().join("output");
    std::fs::create_dir_all(&local_output)
        .with_context(|| format!("creating {}", local_output.display()))?;
    if !args.quiet {
        mr_core::errln!(
            "mr: running {} ({} step(s)) on Spark ({})",
            plan.job,
            plan.steps.len(),
            args.spark_master
        );
    }
    let mut cmd = command(&launcher, &args.spark_master, &driver, &spec, &conf);
    let echo = Echo {
        bad_records: true,
        // The driver's own warnings (an old output kept, ...).
        matching: Some("mr: warning: "),
    };
    let local_out = spec_value["output"]
        .as_str()
        .and_then(|o| o.strip_prefix("file://"));
    // A local output that exists is refused now, named as given, not once
    // Spark has started (seconds later, as a URI: probe /tmp/probe-spark
    // repro 03); the driver checks again, and the rest (a file, an output
    // without _SUCCESS) with --overwrite.
    if let (Some(local), Some(given), false) = (local_out, &args.output, args.overwrite) {
        let empty_dir = std::fs::read_dir(local).is_ok_and(|mut d| d.next().is_none());
        if Path::new(local).symlink_metadata().is_ok() && !empty_dir {
            anyhow::bail!(
                "output {} already exists (use --overwrite to replace it once the new one is \
                 complete)",
                mr_core::error::printable_path(given)
            );
        }
    }
    let out_before = local_out.map(dir_id);
    // Ctrl-C stops the driver and removes what its job wrote. The driver
    // moves the new output in itself: a forced exit (a second signal) kills
    // it (see run_stoppable) and then cleans up as a stopped run does, so
    // that OUT is never left absent with the old output moved aside.
    mr_core::cancel::allow_stop_time(super::hadoop::STOP_TIME);
    let old = args.output.as_ref().filter(|_| args.overwrite);
    let old = old.map(|o| o.display().to_string());
    let stopped = {
        let spec_value = spec_value.clone();
        move || {
            let left = clean_up_stopped(&spec_value, out_before.flatten());
            stopped_error(left, old.as_deref())
        }
    };
    let on_forced_exit = mr_core::cancel::on_forced_exit({
        let stopped = stopped.clone();
        move || mr_core::errln!("mr: {}", stopped())
    });
    let ran = run_stoppable(&mut cmd, "the Spark driver", echo);
    if let Err(e) = ran {
        if e.downcast_ref::<Stopped>().is_some() {
            // Not beside a forced exit's clean-up of the same files.
            return Err(mr_core::cancel::critical(|| {
                drop(on_forced_exit);
                stopped()
            }));
        }
        drop(on_forced_exit);
        // A task still writing when the job failed can leave files in the
        // staging directory after the driver removed it: removed again,
        // the driver gone, unless it holds finished results (_SUCCESS: the
        // driver failed putting them in place, and named them).
        if let Some(staging) = spec_value["staging"]
            .as_str()
            .and_then(|s| s.strip_prefix("file://"))
            .filter(|s| !Path::new(s).join("_SUCCESS").exists())
        {
            removed(Path::new(staging), std::fs::remove_dir_all(staging));
        }
        let summary = std::fs::read_to_string(work.path().join("error.txt")).unwrap_or_default();
        if summary.trim().is_empty() {
            return Err(e);
        }
        anyhow::bail!("{}", summary.trim_end());
    }
    let mut counters = read_counters(plan, &work.path().join("counters.json"))?;
    if let (Some(out), true) = (&args.output, args.cat_output && !args.no_output) {
        let out = out.to_string_lossy();
        match out
            .strip_prefix("file://")
            .or((!super::has_scheme(&out)).then_some(&out))
        {
            Some(local) => crate::cmd::run::cat_output(Path::new(local))?,
            None => mr_core::errln!(
                "mr: warning: --cat-output: {out} is on the cluster's file system: read it with \
                 hadoop fs -text '{out}/part-*'"
            ),
        }
    }
    if args.output.is_none() && !args.no_output {
        let reduced = plan.steps.last().is_some_and(|s| s.reducer);
        super::print_parts(&local_output, plan, reduced, &mut counters)?;
    }
    let output = args.output.as_ref().map(|o| o.display().to_string());
    let report = super::report(
        plan.steps.len(),
        counters,
        output.as_deref(),
        started.elapsed(),
    );
    if !args.quiet {
        mr_core::errprint!(
            "{}",
            crate::cmd::summary::counters_text(&report, args.verbose)
        );
        mr_core::errln!(
            "mr: {} finished on Spark ({}) in {:.1}s{}",
            plan.job,
            args.spark_master,
            report.elapsed.as_secs_f64(),
            match &output {
                Some(o) => format!("; output in {o}"),
                None => String::new(),
            }
        );
        super::say_skipped(
            &report,
            "in the executors' logs (shown above when they run on this machine)",
        );
    }
    Ok(Some(report))
}

/// The counters the driver summed, `{"STEP\tGROUP\tNAME": amount}`, under
/// the local runner's names ([`super::step_counters`]).
fn read_counters(plan: &JobPlan, path: &Path) -> Result<Counters> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the counters of the Spark run ({})", path.display()))?;
    let map: BTreeMap<String, i64> =
        serde_json::from_str(&text).with_context(|| format!("decoding {}", path.display()))?;
    let mut by_step: BTreeMap<usize, Counters> = BTreeMap::new();
    for (k, v) in map {
        let mut parts = k.splitn(3, '\t');
        let (Some(step), Some(g), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("unexpected counter key {k:?} in {}", path.display());
        };
        let step: usize = step
            .parse()
            .with_context(|| format!("unexpected counter key {k:?} in {}", path.display()))?;
        by_step.entry(step).or_default().add(g, n, v);
    }
    let mut c = Counters::default();
    for (step, tasks) in by_step {
        match plan.steps.get(step) {
            Some(s) => c.merge(&super::step_counters(step, s, &tasks)),
            None => anyhow::bail!(
                "counters of step {step}, but the job has {} steps",
                plan.steps.len()
            ),
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// The driver's copy of the rule of what a job writes in its output
    /// (Python, inside Spark) answers as mr's own does, on names of every
    /// kind. Skipped without python3.
    #[test]
    fn the_drivers_output_rule_is_mrs() {
        let Some(block) = DRIVER
            .split("# BEGIN written_by_a_job\n")
            .nth(1)
            .and_then(|rest| rest.split("# END written_by_a_job").next())
        else {
            panic!("the driver lost its BEGIN/END written_by_a_job markers");
        };
        let names: &[&str] = &[
            "part-00000",
            "part-r-00001.snappy",
            "part-00000-3d9b1c6e-8f1e-4c3a-9b1a-1b2c3d4e5f6a-c000.snappy.parquet",
            "part-00000-uuid-c000.snappy.parquet",
            "part-0.parquet",
            "part-m-00002.deflate",
            "part-00001.json.gz",
            "part-2-analysis.ipynb",
            "part-of-my-thesis.docx",
            "part-1.ipynb",
            "part-1-",
            "part-00000.gz.bak",
            "part-",
            "_SUCCESS",
            "_bad_records",
            "_dictionaries",
            "_temporary",
            "_logs",
            "_metadata",
            "_common_metadata",
            "_started_123",
            "_committed_123",
            "__magic",
            "__magic_job-1",
            ".part-00000.crc",
            "._SUCCESS.crc",
            ".crc",
            "..crc",
            ".x.crc",
            "analysis.ipynb",
            ".ipynb_checkpoints",
            "_notes.md",
            "partial.csv",
            "PART-00000",
            "_success",
            "",
            "part",
            "notes.crc",
        ];
        let script = format!(
            "import re\n{block}\nimport json, sys\nprint(json.dumps([written_by_a_job(n) for n in json.load(sys.stdin)]))\n"
        );
        let Ok(mut child) = Command::new("python3")
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            mr_core::errln!("skipped: no python3");
            return;
        };
        let input = serde_json::to_vec(&names).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let theirs: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
        let ours: Vec<bool> = names
            .iter()
            .map(|n| mr_core::output::commit::written_by_a_job(n))
            .collect();
        for ((n, a), b) in names.iter().zip(&ours).zip(&theirs) {
            assert_eq!(a, b, "{n:?}: mr says {a}, the Spark driver {b}");
        }
    }
}
