//! `mr run JOB`: runs a job with the local runner, in task mode, or with a
//! cluster runner (`-r hadoop|spark|emulate`, see [`crate::cluster`]).

use crate::args::{OutputFormatArg, RunArgs};
use crate::cluster::Runner;
use crate::Registry;
use anyhow::Context;
use mr_core::output::parquet::ParquetOptions;
use mr_core::output::OutputFormat;
use mr_core::runner::progress::Progress;
use mr_core::runner::task::{TaskEnv, TaskOptions, TaskRole};
use mr_core::{Output, RunConfig};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Turns the raw flags into a checked configuration.
pub fn config(args: &RunArgs) -> anyhow::Result<RunConfig> {
    let mut inputs = args.inputs.clone();
    inputs.extend(args.positional_inputs.iter().cloned());
    let cfg = RunConfig {
        inputs,
        output: match &args.output {
            Some(path) => Output::Dir {
                path: path.clone(),
                overwrite: args.overwrite,
            },
            None => Output::Stdout,
        },
        jobs: args.jobs,
        partitions: args.partitions,
        chunk_size: args.chunksize,
        sort_buffer_bytes: sort_buffer_bytes(args.sort_buffer_mb)?,
        tmp_dir: args.tmp_dir.clone(),
        skip_bad_records: args.skip_bad_records,
        merge_fan_in: args.merge_fan_in,
        output_format: match args.output_format {
            OutputFormatArg::Lines => OutputFormat::Lines,
            OutputFormatArg::Parquet => OutputFormat::Parquet(ParquetOptions {
                compression: args.parquet_compression,
                ..ParquetOptions::default()
            }),
        },
        progress: None,
    };
    cfg.validate()?;
    Ok(cfg)
}

fn sort_buffer_bytes(mb: f64) -> anyhow::Result<u64> {
    let bytes = mb * (1u64 << 20) as f64;
    if !bytes.is_finite() || !(1024.0..=1e15).contains(&bytes) {
        anyhow::bail!("--sort-buffer-mb must be between 0.001 (1 KiB) and 1e9, got {mb}");
    }
    Ok(bytes as u64)
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
        anyhow::bail!(
            "--mapper/--combiner/--reducer read stdin and write stdout: drop --input and --output"
        );
    }
    let opts = TaskOptions {
        step: args.step_num,
        role,
        skip_bad_records: args.skip_bad_records,
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    mr_core::runner::task::run_task(
        job,
        &opts,
        &TaskEnv::from_env(),
        stdin.lock(),
        stdout.lock(),
        &mut stderr,
    )?;
    Ok(())
}

/// A status line on stderr (a terminal), redrawn twice a second while the
/// job runs and erased when it ends.
struct StatusLine {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StatusLine {
    fn start(progress: Arc<Progress>) -> StatusLine {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mr-progress".into())
            .spawn(move || {
                let tick = std::time::Duration::from_millis(100);
                let mut n = 0u32;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    n += 1;
                    // Say nothing for short runs; then redraw every 0.5 s.
                    if n >= 10 && n.is_multiple_of(5) {
                        let _ = write!(std::io::stderr(), "\r\x1b[2Kmr: {}", progress.snapshot());
                    }
                }
                if n >= 10 {
                    let _ = write!(std::io::stderr(), "\r\x1b[2K");
                }
            })
            .ok();
        StatusLine { stop, thread }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The run's report as JSON (`--report FILE`), written atomically (a temp
/// file renamed into place) so a reader never sees half of it.
fn write_report(
    path: &std::path::Path,
    job: &str,
    cfg: &RunConfig,
    report: &mr_core::JobReport,
) -> anyhow::Result<()> {
    let mut counters = serde_json::Map::new();
    for (group, name, value) in report.counters.iter() {
        let g = counters
            .entry(group.to_string())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(m) = g {
            m.insert(name.to_string(), value.into());
        }
    }
    let doc = serde_json::json!({
        "job": job,
        "ok": true,
        "elapsed_secs": report.elapsed.as_secs_f64(),
        "settings": {
            "inputs": cfg.inputs,
            "jobs": cfg.threads(),
            "partitions": cfg.partition_count(),
            "chunk_size": cfg.chunk_size,
            "sort_buffer_bytes": cfg.sort_buffer_bytes,
            "merge_fan_in": cfg.merge_fan_in,
            "skip_bad_records": cfg.skip_bad_records,
        },
        "output_dir": report.output_dir.as_ref().map(|d| d.display().to_string()),
        "skipped_records": report.skipped_records,
        "bad_record_files": report.bad_record_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "counters": counters,
    });
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating the report next to {}", path.display()))?;
    serde_json::to_writer_pretty(&mut tmp, &doc)?;
    writeln!(tmp)?;
    tmp.persist(path)
        .with_context(|| format!("writing the report {}", path.display()))?;
    Ok(())
}

/// Runs the job; counters go to stderr unless `--quiet`.
pub fn run(registry: &Registry, args: &RunArgs) -> anyhow::Result<()> {
    let job = registry.resolve(&args.job)?;
    if let Some(role) = task_role(args) {
        return run_task(job.as_ref(), role, args);
    }
    if args.step_num != 0 {
        anyhow::bail!("--step-num is for task mode: add --mapper, --combiner or --reducer");
    }
    match args.runner {
        Runner::Local if args.dry_run => {
            anyhow::bail!("--dry-run is for cluster runners: add -r hadoop or -r spark")
        }
        Runner::Emulate if args.dry_run => {
            anyhow::bail!("--dry-run is for -r hadoop and -r spark")
        }
        Runner::Local => {}
        _ if args.output_format != OutputFormatArg::Lines => {
            anyhow::bail!("--output-format parquet is for the local runner (drop -r)")
        }
        runner => return crate::cluster::run(job.as_ref(), runner, args),
    }
    let mut cfg = config(args)?;
    let status = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let progress = Arc::new(Progress::default());
        cfg.progress = Some(progress.clone());
        StatusLine::start(progress)
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = mr_core::run_job(job.as_ref(), &cfg, &mut out);
    drop(status);
    let report = result?;
    drop(out);
    if let Some(path) = &args.report {
        write_report(path, job.name(), &cfg, &report)?;
    }
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        let secs = report.elapsed.as_secs_f64();
        let input_bytes = report
            .counters
            .get(mr_core::counters::FRAMEWORK, "step 0: input bytes");
        let _ = write!(err, "{}", report.counters.report());
        let _ = writeln!(
            err,
            "mr: {} finished in {:.2}s ({:.1} MB/s of input){}",
            job.name(),
            secs,
            input_bytes as f64 / 1e6 / secs.max(1e-9),
            match &report.output_dir {
                Some(d) => format!("; output in {}", d.display()),
                None => String::new(),
            }
        );
        if report.skipped_records > 0 {
            let _ = writeln!(err, "mr: {} bad records skipped", report.skipped_records);
            for f in &report.bad_record_files {
                let _ = writeln!(err, "mr:   kept in {}", f.display());
            }
        }
    }
    Ok(())
}
