//! The summary `mr run` prints on stderr at the end: wall time per phase,
//! throughput, records in and out, spills, peak memory, and the counters
//! (the job's own, and the framework's that are not zero; all with `-v`).

use mr_core::JobReport;
use mr_core::counters::FRAMEWORK;
use mr_core::error::printable_path;
use mr_core::runner::progress::human_bytes;
use std::fmt::Write as _;
use std::path::Path;

/// The figures of a finished run that the summary and the report share.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Bytes the first step read (uncompressed).
    pub input_bytes: u64,
    /// Records the first step read.
    pub input_records: u64,
    /// Records the last step wrote.
    pub output_records: u64,
    /// Bytes the last step wrote.
    pub output_bytes: u64,
    /// Sort-buffer spills, all steps.
    pub spills: u64,
    /// Peak resident memory of the process, when known.
    pub peak_memory: Option<u64>,
}

impl Totals {
    /// Reads them off a report.
    pub fn of(report: &JobReport) -> Totals {
        let steps = report.spills.len().max(1);
        let get = |step: usize, name: &str| {
            report
                .counters
                .get(FRAMEWORK, &format!("step {step}: {name}"))
                .max(0) as u64
        };
        Totals {
            input_bytes: get(0, "input bytes"),
            input_records: get(0, "input records"),
            output_records: get(steps - 1, "output records"),
            output_bytes: get(steps - 1, "output bytes"),
            spills: report.spills.iter().sum(),
            peak_memory: report.peak_memory,
        }
    }
}

/// `1,234,567`.
///
/// ```
/// assert_eq!(mr_cli::cmd::summary::thousands(1234567), "1,234,567");
/// assert_eq!(mr_cli::cmd::summary::thousands(12), "12");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The counters block: the job's counters, then the Hadoop emulator's
/// own (`-r emulate`), then the framework's (those that are zero only when
/// `verbose`).
pub fn counters_text(report: &JobReport, verbose: bool) -> String {
    let mut out = String::from("Counters:\n");
    let mut group = "";
    let mut hidden = 0;
    // The job's groups first (the emulator's listed them in name order,
    // the job's after its own: probe /tmp/probe16-docs repro 03).
    let runner = crate::cluster::emulate::COUNTERS;
    let of = |want: fn(&str, &str) -> bool| {
        report
            .counters
            .iter()
            .filter(move |(g, _, _)| want(g, runner))
    };
    let job = of(|g, runner| g != FRAMEWORK && g != runner);
    let emulator = of(|g, runner| g == runner);
    let framework = of(|g, _| g == FRAMEWORK);
    for (g, name, v) in job.chain(emulator).chain(framework) {
        if g == FRAMEWORK && v == 0 && !verbose {
            hidden += 1;
            continue;
        }
        if g != group {
            let _ = writeln!(out, "  {g}");
            group = g;
        }
        let _ = writeln!(out, "    {name}={v}");
    }
    if hidden > 0 {
        let _ = writeln!(out, "  ({hidden} framework counters are 0: -v shows them)");
    }
    out
}

/// How the summary is told: all counters or only those not 0, and whether
/// results that went to no directory were thrown away (`--no-output`)
/// rather than printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Say {
    /// `-v`: every framework counter.
    pub verbose: bool,
    /// `--no-output` without `--output`.
    pub discarded: bool,
}

/// The whole summary: counters, then the run in figures.
pub fn summary(job: &str, report: &JobReport, totals: &Totals, say: Say) -> String {
    let verbose = say.verbose;
    let mut out = counters_text(report, verbose);
    let secs = report.elapsed.as_secs_f64();
    let _ = writeln!(out, "mr: {job} done in {secs:.2}s");
    let _ = writeln!(
        out,
        "  input    {}, {} records ({:.1} MB/s)",
        human_bytes(totals.input_bytes),
        thousands(totals.input_records),
        totals.input_bytes as f64 / 1e6 / secs.max(1e-9)
    );
    let _ = write!(
        out,
        "  output   {} records, {}",
        thousands(totals.output_records),
        human_bytes(totals.output_bytes)
    );
    match &report.output_dir {
        Some(d) => {
            let _ = writeln!(out, " in {}", printable_path(d));
        }
        None if say.discarded => out.push_str(", not written (--no-output)\n"),
        None => out.push_str(" to stdout\n"),
    }
    let steps = report.spills.len();
    for step in 0..steps {
        let phases: Vec<String> = report
            .phases
            .iter()
            .filter(|p| p.step == step)
            .map(|p| format!("{} {:.2}s", p.phase, p.secs))
            .collect();
        let label = if steps > 1 {
            format!("step {step}")
        } else {
            "phases".into()
        };
        let _ = writeln!(out, "  {label:<8} {}", phases.join(" · "));
    }
    let _ = write!(out, "  spills   {}", totals.spills);
    if totals.spills > 0 {
        out.push_str(" (sort buffer full: a larger --sort-buffer-mb spills less)");
    }
    out.push('\n');
    if let Some(m) = totals.peak_memory {
        let _ = writeln!(out, "  memory   {} peak", human_bytes(m));
    }
    if report.skipped_records > 0 {
        let n = report.skipped_records;
        let s = if n == 1 { "" } else { "s" };
        let _ = writeln!(out, "mr: {n} bad record{s} skipped");
        out.push_str(&kept_in(&report.bad_record_files));
    }
    out
}

/// Where the skipped records were kept: each file when there are few, else
/// how many, in which directory, with the first as an example (a run of a
/// hundred map tasks writes a hundred files, all in `OUTPUT/_bad_records/`).
fn kept_in(files: &[std::path::PathBuf]) -> String {
    let mut out = String::new();
    let dir = files.first().and_then(|f| f.parent());
    match dir {
        Some(dir) if files.len() > 3 && files.iter().all(|f| f.parent() == Some(dir)) => {
            let _ = writeln!(
                out,
                "mr:   kept in {} files in {} ({}, ...)",
                files.len(),
                printable_path(dir),
                printable_path(Path::new(files[0].file_name().unwrap_or_default()))
            );
        }
        _ => {
            for f in files {
                let _ = writeln!(out, "mr:   kept in {}", printable_path(f));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn many_bad_record_files_are_told_by_their_directory() {
        let files = |n: usize, dir: &str| -> Vec<PathBuf> {
            (0..n)
                .map(|i| PathBuf::from(format!("{dir}/part-m-{i:05}")))
                .collect()
        };
        assert_eq!(
            kept_in(&files(2, "out/_bad_records")),
            "mr:   kept in out/_bad_records/part-m-00000\n\
             mr:   kept in out/_bad_records/part-m-00001\n"
        );
        assert_eq!(
            kept_in(&files(40, "out/_bad_records")),
            "mr:   kept in 40 files in out/_bad_records (part-m-00000, ...)\n"
        );
        let mut two_places = files(3, "a");
        two_places.extend(files(2, "b"));
        assert_eq!(kept_in(&two_places).lines().count(), 5);
        assert_eq!(kept_in(&[]), "");
    }
}
