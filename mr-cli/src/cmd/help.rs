//! `mr run JOB --help`: the job's own page (description, steps, input and
//! output formats, options, counters), shown above the options of `mr run`.

use mr_core::Job;
use std::fmt::Write as _;

/// The job's page, as plain text.
///
/// ```
/// let r = mr_cli::Registry::builtin();
/// let page = mr_cli::cmd::help::job_help(r.resolve("word_count").unwrap().as_ref());
/// assert!(page.contains("Steps:") && page.contains("mapper"));
/// ```
pub fn job_help(job: &dyn Job) -> String {
    let mut out = format!("{}: {}\n", job.name(), job.description());
    let long = job.long_description().trim();
    if !long.is_empty() {
        let _ = writeln!(out, "\n{long}");
    }
    let _ = writeln!(out, "\nInput:  {}", job.input_format());
    let _ = writeln!(out, "Output: {}", job.output_format());
    let _ = writeln!(out, "\nSteps:");
    for (i, step) in job.steps().iter().enumerate() {
        let d = step.describe();
        let _ = writeln!(
            out,
            "  {}. mapper   {} ({}) -> ({}, {})",
            i + 1,
            d.mapper,
            d.input,
            d.key,
            d.value
        );
        if let Some(fold) = &d.fold {
            let _ = writeln!(
                out,
                "     fold     {fold}: values folded per key in each map task, merged by key"
            );
        } else {
            if let Some(c) = &d.combiner {
                let _ = writeln!(out, "     combiner {c}");
            }
            match &d.reducer {
                Some(r) => {
                    let sorted = if d.sort_values {
                        " (each key's values sorted)"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "     reducer  {r}{sorted}");
                }
                None => {
                    let _ = writeln!(out, "     map-only (no sort, no reducer)");
                }
            }
        }
        let _ = writeln!(out, "     output   ({}, {})", d.out_key, d.out_value);
    }
    if let Some(options) = options_section(job) {
        let _ = writeln!(out, "\nJob options:\n{options}");
    }
    let counters = job.counters();
    if !counters.is_empty() {
        let _ = writeln!(out, "\nCounters:");
        let width = counters
            .iter()
            .map(|c| c.group.len() + c.name.len() + 3)
            .max()
            .unwrap_or(0);
        for c in &counters {
            let name = format!("{} / {}", c.group, c.name);
            let _ = writeln!(out, "  {name:width$}  {}", c.help);
        }
    }
    out
}

/// The job's own options ([`Job::options`]), one per line
/// (`  -e, --expression VALUE  help (required)`), or `None` when it declares
/// none.
///
/// ```
/// let r = mr_cli::Registry::builtin();
/// let s = mr_cli::cmd::help::options_section(r.resolve("mr_grep").unwrap().as_ref()).unwrap();
/// assert!(s.contains("-e, --expression VALUE") && s.contains("required"));
/// ```
pub fn options_section(job: &dyn Job) -> Option<String> {
    let opts = job.options();
    if opts.is_empty() {
        return None;
    }
    let mut out = String::new();
    for o in &opts {
        let short = o.short.map(|c| format!("-{c}, ")).unwrap_or_default();
        let value = match o.kind {
            mr_core::OptionKind::Flag => "",
            mr_core::OptionKind::Int | mr_core::OptionKind::Uint => " INT",
            mr_core::OptionKind::Float => " NUMBER",
            mr_core::OptionKind::File => " FILE",
            mr_core::OptionKind::String => " VALUE",
        };
        let mut notes = Vec::new();
        if o.required {
            notes.push("required".to_string());
        }
        if let Some(d) = &o.default {
            notes.push(format!("default {d}"));
        }
        if o.kind == mr_core::OptionKind::File {
            notes.push("shipped with the job; FILE#NAME ships it as NAME".to_string());
        }
        if !o.choices.is_empty() {
            notes.push(format!("one of {}", o.choices.join(", ")));
        }
        if o.repeated {
            notes.push("repeatable: each value counts".to_string());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        let _ = writeln!(out, "  {short}--{}{value}  {}{notes}", o.name, o.help);
    }
    Some(out.trim_end().to_string())
}

/// The job named in `mr run JOB ... --help` (or `-h`), if the arguments ask
/// for a job's help: the first argument after `run` that is not a flag.
///
/// ```
/// let args = ["mr", "run", "word_count", "--help"].map(String::from);
/// assert_eq!(mr_cli::cmd::help::job_asking_for_help(&args).as_deref(), Some("word_count"));
/// let args = ["mr", "run", "--help"].map(String::from);
/// assert_eq!(mr_cli::cmd::help::job_asking_for_help(&args), None);
/// ```
pub fn job_asking_for_help(args: &[String]) -> Option<String> {
    let run = args
        .iter()
        .position(|a| a == "run" || a == "emulate-hadoop")?;
    let rest = &args[run + 1..];
    if !rest.iter().any(|a| a == "--help" || a == "-h") {
        return None;
    }
    rest.iter().find(|a| !a.starts_with('-')).cloned()
}
