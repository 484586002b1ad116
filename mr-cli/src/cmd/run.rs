//! `mr run JOB`: runs a job with the local runner.

use crate::args::RunArgs;
use crate::Registry;
use mr_core::{Output, RunConfig};
use std::io::Write;

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

/// Runs the job; counters go to stderr unless `--quiet`.
pub fn run(registry: &Registry, args: &RunArgs) -> anyhow::Result<()> {
    let job = registry.resolve(&args.job)?;
    let cfg = config(args)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let report = mr_core::run_job(job.as_ref(), &cfg, &mut out)?;
    drop(out);
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
