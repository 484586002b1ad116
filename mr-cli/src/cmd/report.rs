//! `mr run --report FILE`: the run's report, as JSON or (`FILE.html`) as one
//! self-contained page ([`crate::cmd::report_html`]). Written when the run
//! fails too (`"ok": false` and the error), and always atomically: a temp
//! file beside FILE renamed into place, so a reader never sees half of it.

use crate::cmd::summary::Totals;
use anyhow::Context;
use mr_core::{JobReport, RunConfig};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// How the run ended.
pub enum Outcome<'a> {
    /// It finished.
    Finished(&'a JobReport),
    /// It stopped early with no error after `elapsed`: its standard output
    /// was closed by the reader (`mr run ... | head`), as `note` says. The
    /// exit status is 0 then, and so the report says ok, with nothing
    /// counted (the run did not get to its end).
    Stopped {
        /// Why, one line.
        note: String,
        /// Wall time until it stopped.
        elapsed: Duration,
    },
    /// It failed after `elapsed`, with this error (and its causes).
    Failed {
        /// The error, one line.
        error: String,
        /// Wall time until the failure.
        elapsed: Duration,
    },
}

/// The report as a JSON document.
pub fn document(job: &str, cfg: Option<&RunConfig>, outcome: &Outcome<'_>) -> Value {
    let mut doc = Map::new();
    doc.insert("job".into(), job.into());
    let settings = cfg.map(|cfg| {
        json!({
            "inputs": cfg.inputs,
            "jobs": cfg.threads(),
            "partitions": cfg.partition_count(),
            "chunk_size": cfg.chunk_size,
            "sort_buffer_bytes": cfg.sort_buffer_bytes,
            "merge_fan_in": cfg.merge_fan_in,
            "skip_bad_records": cfg.skip_bad_records,
        })
    });
    match outcome {
        Outcome::Stopped { note, elapsed } => {
            doc.insert("ok".into(), true.into());
            doc.insert("stopped".into(), note.as_str().into());
            doc.insert("elapsed_secs".into(), elapsed.as_secs_f64().into());
            doc.insert("settings".into(), settings.unwrap_or(Value::Null));
        }
        Outcome::Failed { error, elapsed } => {
            doc.insert("ok".into(), false.into());
            doc.insert("error".into(), error.as_str().into());
            doc.insert("elapsed_secs".into(), elapsed.as_secs_f64().into());
            doc.insert("settings".into(), settings.unwrap_or(Value::Null));
        }
        Outcome::Finished(report) => {
            let totals = Totals::of(report);
            let mut counters = Map::new();
            for (group, name, value) in report.counters.iter() {
                let g = counters
                    .entry(group.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = g {
                    m.insert(name.to_string(), value.into());
                }
            }
            doc.insert("ok".into(), true.into());
            doc.insert("elapsed_secs".into(), report.elapsed.as_secs_f64().into());
            doc.insert("settings".into(), settings.unwrap_or(Value::Null));
            doc.insert(
                "output_dir".into(),
                report
                    .output_dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .into(),
            );
            doc.insert("skipped_records".into(), report.skipped_records.into());
            doc.insert(
                "bad_record_files".into(),
                report
                    .bad_record_files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .into(),
            );
            // A figure no counter gave (Spark tells no bytes written) is
            // null, as peak memory is where unknown, not 0 (probe
            // /tmp/probe17-report repro 05).
            let last = report.spills.len().max(1) - 1;
            let output_bytes = report
                .counters
                .iter()
                .any(|(g, n, _)| {
                    g == mr_core::counters::FRAMEWORK && n == format!("step {last}: output bytes")
                })
                .then_some(totals.output_bytes);
            doc.insert(
                "totals".into(),
                json!({
                    "input_bytes": totals.input_bytes,
                    "input_records": totals.input_records,
                    "output_records": totals.output_records,
                    "output_bytes": output_bytes,
                    "spills": totals.spills,
                    "peak_memory_bytes": totals.peak_memory,
                }),
            );
            doc.insert("spills_per_step".into(), report.spills.clone().into());
            doc.insert(
                "phases".into(),
                serde_json::to_value(&report.phases).unwrap_or_default(),
            );
            doc.insert(
                "tasks".into(),
                serde_json::to_value(&report.tasks).unwrap_or_default(),
            );
            doc.insert(
                "partitions".into(),
                serde_json::to_value(&report.partitions).unwrap_or_default(),
            );
            doc.insert("counters".into(), Value::Object(counters));
        }
    }
    Value::Object(doc)
}

/// Writes the report to `path`: HTML when it ends in `.html`/`.htm`, else JSON.
pub fn write(path: &Path, doc: &Value) -> anyhow::Result<()> {
    let html = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let bytes = if html {
        crate::cmd::report_html::render(doc).into_bytes()
    } else {
        let mut b = serde_json::to_vec_pretty(doc)?;
        b.push(b'\n');
        b
    };
    let written = match target(path)? {
        Destination::File(file) => return write_atomic(&file, &bytes),
        Destination::Stdout => std::io::stdout().lock().write_all(&bytes),
        Destination::Stderr => std::io::stderr().lock().write_all(&bytes),
        Destination::Stream(stream) => std::fs::OpenOptions::new()
            .write(true)
            .open(&stream)
            .and_then(|mut f| f.write_all(&bytes)),
    };
    written.with_context(|| {
        format!(
            "writing the report to {}",
            mr_core::error::printable_path(path)
        )
    })
}

/// Where a report goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// A file (new, or a regular file; a symlink's target): written whole
    /// beside it and renamed into place.
    File(std::path::PathBuf),
    /// mr's own standard output: the path (`/dev/stdout`, `/dev/fd/1`, or a
    /// file stdout is redirected to) names what fd 1 is open on. Written
    /// through fd 1, where it is: reopened, a redirected file would be
    /// truncated, and renamed over, replaced with what was written to it
    /// lost (`--report /dev/stdout > results.txt`).
    Stdout,
    /// mr's own standard error, as [`Destination::Stdout`] (`--report
    /// /dev/stderr 2>>job.log`).
    Stderr,
    /// A FIFO, a pipe (`--report >(jq .)`), a character device
    /// (`/dev/null`): opened and written, never truncated or replaced.
    Stream(std::path::PathBuf),
}

/// Where the report at `path` goes (see [`Destination`]): a file is `path`,
/// or the file a symlink there points to (the link stays). A directory, a
/// socket or a dangling link is refused.
///
/// ```
/// use mr_cli::cmd::report::{Destination, target};
/// let d = tempfile::tempdir().unwrap();
/// let file = d.path().join("runs.json");
/// assert_eq!(target(&file).unwrap(), Destination::File(file.clone()));
/// std::fs::write(&file, "{}").unwrap();
/// let link = d.path().join("latest.json");
/// std::os::unix::fs::symlink("runs.json", &link).unwrap();
/// assert_eq!(target(&link).unwrap(), Destination::File(file.canonicalize().unwrap()));
/// assert!(target(d.path()).is_err());
/// ```
pub fn target(path: &Path) -> anyhow::Result<Destination> {
    if path == Path::new("-") {
        return Ok(Destination::Stdout); // as `-i -` is stdin
    }
    let shown = || mr_core::error::printable_path(path);
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(Destination::File(path.to_path_buf()));
    };
    // What the path names, through any links (`/dev/stdout` ->
    // `/proc/self/fd/1` -> a pipe or the file stdout is redirected to).
    let Ok(named) = std::fs::metadata(path) else {
        anyhow::bail!(
            "--report {}: a symlink to nothing (give a file name)",
            shown()
        );
    };
    if let Some(stream) = std_stream(&named) {
        return Ok(stream);
    }
    let ty = named.file_type();
    let is_stream = {
        use std::os::unix::fs::FileTypeExt;
        ty.is_fifo() || ty.is_char_device()
    };
    // Not another user's link or FIFO (mr_core::paths).
    if let Some((what, uid)) =
        mr_core::paths::foreign_link_or_stream(path, is_stream.then_some(&named))
    {
        anyhow::bail!(
            "--report {}: {what} owned by another user (uid {uid}): not followed or written \
             into (another user could make the report replace or reach a file of their \
             choosing); give a path of your own",
            shown()
        );
    }
    if is_stream {
        return Ok(Destination::Stream(path.to_path_buf()));
    }
    if ty.is_file() {
        let file = if meta.file_type().is_symlink() {
            std::fs::canonicalize(path)
                .with_context(|| format!("--report {}: following the link", shown()))?
        } else {
            path.to_path_buf()
        };
        return Ok(Destination::File(file));
    }
    anyhow::bail!(
        "--report {}: {}, not a file (give a file name: run.json, run.html)",
        shown(),
        if ty.is_dir() {
            "a directory"
        } else {
            "a block device or socket"
        }
    )
}

/// [`Destination::Stdout`] or [`Destination::Stderr`] when `named` is what
/// fd 1 or fd 2 is open on (same device and inode).
fn std_stream(named: &std::fs::Metadata) -> Option<Destination> {
    use std::os::unix::fs::MetadataExt;
    let same = |st: rustix::io::Result<rustix::fs::Stat>| {
        st.is_ok_and(|st| st.st_dev == named.dev() && st.st_ino == named.ino())
    };
    if same(rustix::fs::fstat(std::io::stdout())) {
        Some(Destination::Stdout)
    } else if same(rustix::fs::fstat(std::io::stderr())) {
        Some(Destination::Stderr)
    } else {
        None
    }
}

/// Fails, before a run, when its report could not be written at `path`:
/// not a file there (see [`target`]), or no directory to write it in (the
/// report is written beside it, then renamed) unless that is the run's
/// `output` directory, which the run makes.
///
/// ```
/// use mr_cli::cmd::report::check_writable;
/// let d = tempfile::tempdir().unwrap();
/// let out = d.path().join("out");
/// assert!(check_writable(&d.path().join("run.json"), None).is_ok());
/// assert!(check_writable(d.path(), None).is_err());
/// assert!(check_writable(&d.path().join("no/run.json"), Some(&out)).is_err());
/// assert!(check_writable(&out.join("run.json"), Some(&out)).is_ok());
/// ```
pub fn check_writable(path: &Path, output: Option<&Path>) -> anyhow::Result<()> {
    let Destination::File(path) = &target(path)? else {
        return Ok(()); // a stream, written where it is
    };
    let dir = mr_core::paths::dir_of(path);
    let absolute = |p: &Path| std::path::absolute(p).ok();
    if !dir.exists() && output.is_some_and(|o| absolute(o) == absolute(dir)) {
        // In the output directory, which the run makes.
        return Ok(());
    }
    tempfile::NamedTempFile::new_in(dir)
        .map(drop)
        .with_context(|| {
            format!(
                "--report {}: cannot write in {}",
                mr_core::error::printable_path(path),
                mr_core::error::printable_path(dir)
            )
        })
}

/// Fails, before a run, when its report at `path` would replace the run's
/// own data: an input file (given, or in a directory given: the report is
/// written whole and renamed over it), the output directory, or a file of
/// the output that the run writes (`part-*`, `_SUCCESS`, `_bad_records`,
/// ...: inside the output directory, only a name of the user's own, as
/// `out/run.html`). A new report in an input directory, or where an input
/// glob would match it, must have a name that readers skip (`_run.json`):
/// the next run would read it as input.
///
/// ```
/// use mr_cli::cmd::report::check_not_run_data;
/// let d = tempfile::tempdir().unwrap();
/// let (logs, out) = (d.path().join("logs"), d.path().join("out"));
/// std::fs::create_dir(&logs).unwrap();
/// std::fs::write(logs.join("a.jsonl"), "{}\n").unwrap();
/// let inputs = [logs.display().to_string()];
/// let check = |p: &std::path::Path| check_not_run_data(p, &inputs, Some(&out));
/// assert!(check(&logs.join("a.jsonl")).is_err());
/// assert!(check(&out.join("part-00000")).is_err());
/// assert!(check(&out.join("_SUCCESS")).is_err());
/// assert!(check(&out.join("run.html")).is_ok());
/// assert!(check(&out.join("_run.html")).is_ok());
/// assert!(check(&logs.join("new.json")).is_err()); // read by the next run
/// assert!(check(&logs.join("_new.json")).is_ok());
/// assert!(check(&out).is_err());
/// assert!(check(&d.path().join("run.json")).is_ok());
/// // Inputs given as a glob or a file: URI are the files they name.
/// let glob = [format!("{}/*.jsonl", logs.display())];
/// assert!(check_not_run_data(&logs.join("a.jsonl"), &glob, None).is_err());
/// assert!(check_not_run_data(&logs.join("b.jsonl"), &glob, None).is_err()); // read next time
/// assert!(check_not_run_data(&logs.join("b.txt"), &glob, None).is_ok());
/// let uri = [format!("file://{}", logs.join("a.jsonl").display())];
/// assert!(check_not_run_data(&logs.join("a.jsonl"), &uri, None).is_err());
/// ```
pub fn check_not_run_data(
    path: &Path,
    inputs: &[String],
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let Destination::File(path) = &target(path)? else {
        return Ok(()); // a stream, no file of the run's
    };
    let shown = || mr_core::error::printable_path(path);
    // Paths compared by what they name (mr_core::paths): an input or the
    // output reached through a bind mount, or in another case on a
    // case-insensitive disk, is still the run's.
    use mr_core::paths::{is_within, same};
    if output.is_some_and(|o| same(o, path)) {
        anyhow::bail!(
            "--report {}: that is the output directory: give a file",
            shown()
        );
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let hidden = name.starts_with(['_', '.']);
    // Each input as the paths it reads here: a `file:` URI's path, a glob's
    // matches (a report over a file the glob reads replaced it: probe
    // /tmp/probe17-report repro 02); stdin and other schemes none.
    let mut local: Vec<std::path::PathBuf> = Vec::new();
    for input in inputs {
        let Ok(input) = mr_core::input::listing::local_path_of(input) else {
            continue; // hdfs://, s3://: not a file of this machine
        };
        if !mr_core::input::listing::is_glob(&input) {
            local.push(input.into());
            continue;
        }
        for pattern in mr_core::input::listing::expand_braces(&input) {
            let pattern = mr_core::input::listing::as_hadoop_reads(&pattern);
            if let Ok(found) = glob::glob(&pattern) {
                local.extend(found.flatten());
            }
            // A new report the glob would match is read by the next run.
            if !hidden && !path.exists() && matches_glob(&pattern, path) {
                anyhow::bail!(
                    "--report {}: the input {} matches it, so the next run would read the \
                     report as input; name it _{name} (readers skip names starting with _ or \
                     .), or write it elsewhere",
                    shown(),
                    mr_core::error::printable_line(&input)
                );
            }
        }
    }
    for input in local.iter().map(std::path::PathBuf::as_path) {
        if !input.exists() || !is_within(path, input) {
            continue; // stdin, or not a file of this machine
        }
        if path.exists() {
            anyhow::bail!(
                "--report {} would replace an input of the run ({}): write the report \
                 elsewhere",
                shown(),
                mr_core::error::printable_path(input)
            );
        }
        // A new file among the inputs: the next run would read it as one,
        // unless its name is one readers skip.
        if input.is_dir() && !hidden {
            anyhow::bail!(
                "--report {}: in an input directory ({}), the next run would read the report \
                 as input; name it _{name} (readers skip names starting with _ or .), or \
                 write it elsewhere",
                shown(),
                mr_core::error::printable_path(input)
            );
        }
    }
    let in_output = output.is_some_and(|o| same(o, mr_core::paths::dir_of(path)));
    if in_output && mr_core::output::commit::written_by_a_job(&name) {
        anyhow::bail!(
            "--report {}: a name the output's own files use (part-*, _SUCCESS, _bad_records, \
             ...); in the output directory give the report a name of its own (run.html, or \
             _run.html, which readers of the output skip)",
            shown()
        );
    }
    Ok(())
}

/// Refuses a report over a file the run reads besides its input (see
/// [`check_not_run_data`] for the input and the output): each of `read` is
/// what it is ("the dictionary store") and its path, a directory (nothing
/// may be written inside it: a store or `--dictionaries` directory reads
/// each `COLUMN.jsonl` it holds) or a file. A report over a store's column
/// replaced the only copy of its ids, with exit 0 (probe /tmp/probe25
/// repro 02).
pub fn check_not_read(path: &Path, read: &[(String, std::path::PathBuf)]) -> anyhow::Result<()> {
    let Destination::File(path) = &target(path)? else {
        return Ok(()); // a stream, no file of the run's
    };
    for (what, read) in read {
        if mr_core::paths::is_within(path, read) {
            anyhow::bail!(
                "--report {}: {} is {what}, which this run reads{}: write the report elsewhere",
                mr_core::error::printable_path(path),
                mr_core::error::printable_path(read),
                match mr_core::paths::same(path, read) {
                    true => "",
                    false => ", and the report would be inside it",
                }
            );
        }
    }
    Ok(())
}

/// Whether `path` is what the glob `pattern` (relative to the current
/// directory, as the input is read) names: both made absolute, `*` and `?`
/// not crossing a `/` nor matching a leading dot, as the reader's glob.
fn matches_glob(pattern: &str, path: &Path) -> bool {
    let (Ok(pattern), Ok(path)) = (std::path::absolute(pattern), std::path::absolute(path)) else {
        return false;
    };
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    glob::Pattern::new(&pattern.to_string_lossy())
        .is_ok_and(|p| p.matches_path_with(&path, options))
}

/// Writes a file whole or not at all ([`mr_core::replace::replace_file`]:
/// a temp file in the same directory, renamed into place), keeping the
/// mode and group of a report it replaces: one made private (it holds the
/// data's heaviest keys) stays private.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    mr_core::replace::replace_file(path, |w| w.write_all(bytes))
        .with_context(|| format!("writing the report {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A figure no counter gave is null, not 0: Spark tells no bytes
    /// written (probe /tmp/probe17-report repro 05); the local runner's
    /// counter, 0 included, is the figure.
    #[test]
    fn output_bytes_no_counter_gave_are_null() {
        let mut counters = mr_core::Counters::default();
        counters.add(mr_core::counters::FRAMEWORK, "step 0: output records", 3);
        let report = crate::cluster::report(1, counters.clone(), Some("out"), Duration::ZERO);
        let doc = document("j", None, &Outcome::Finished(&report));
        assert_eq!(doc["totals"]["output_bytes"], Value::Null, "{doc}");
        assert_eq!(doc["totals"]["output_records"], 3, "{doc}");
        counters.add(mr_core::counters::FRAMEWORK, "step 0: output bytes", 0);
        let report = crate::cluster::report(1, counters, Some("out"), Duration::ZERO);
        let doc = document("j", None, &Outcome::Finished(&report));
        assert_eq!(doc["totals"]["output_bytes"], 0, "{doc}");
    }

    /// A finished run's report written in its output is what mr-core takes
    /// for one there (`--overwrite` replaces it with the old output): the
    /// keys written here and the keys it looks for agree.
    #[test]
    fn a_finished_runs_report_is_recognised_in_its_output() {
        let top = tempfile::tempdir().unwrap();
        let out = top.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let report = JobReport {
            counters: Default::default(),
            output_dir: Some(out.clone()),
            skipped_records: 0,
            bad_record_files: Vec::new(),
            elapsed: Duration::from_millis(5),
            spills: vec![0],
            phases: Vec::new(),
            tasks: Vec::new(),
            partitions: Vec::new(),
            peak_memory: None,
        };
        let mut doc = document("word_count", None, &Outcome::Finished(&report));
        let mut keys: Vec<&str> = doc
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(keys, mr_core::output::commit::REPORT_KEYS);
        // As `mr run` writes it: with the runner.
        if let Value::Object(m) = &mut doc {
            m.insert("runner".into(), "local".into());
        }
        write(&out.join("_report.json"), &doc).unwrap();
        assert!(mr_core::output::commit::is_report_of(
            &out,
            "_report.json",
            "out"
        ));
        // The page too, under either extension; not as another output's.
        for name in ["run.html", "run.HTM"] {
            write(&out.join(name), &doc).unwrap();
            let of = |o| mr_core::output::commit::is_report_of(&out, name, o);
            assert!(of("out") && !of("other"), "{name}");
        }
        // A failed run's report (never written in the output) is not one.
        let failed = Outcome::Failed {
            error: "x".into(),
            elapsed: Duration::ZERO,
        };
        write(
            &out.join("failed.json"),
            &document("word_count", None, &failed),
        )
        .unwrap();
        assert!(!mr_core::output::commit::is_report_of(
            &out,
            "failed.json",
            "out"
        ));
        let mut failed = document("word_count", None, &failed);
        if let Value::Object(m) = &mut failed {
            m.insert("output_dir".into(), out.display().to_string().into());
        }
        write(&out.join("failed.html"), &failed).unwrap();
        assert!(!mr_core::output::commit::is_report_of(
            &out,
            "failed.html",
            "out"
        ));
    }
}
