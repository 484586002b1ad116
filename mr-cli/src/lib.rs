//! # mr-cli: the `mr` command, as a library
//!
//! The `mr` binary is [`main_with`] called on the shipped jobs. A user's own
//! crate gets the same command line for its own jobs with one call, the way an
//! mrjob script ends with `MRMyJob.run()`:
//!
//! ```no_run
//! # struct MyJob;
//! # impl mr_core::Job for MyJob { fn name(&self) -> &str { "my_job" }
//! #   fn description(&self) -> &str { "" } fn steps(&self) -> Vec<mr_core::Step> { vec![] } }
//! fn main() -> std::process::ExitCode {
//!     mr_cli::main_with(mr_cli::Registry::new().with(MyJob))
//! }
//! ```
//!
//! Modules: [`args`] holds the flags as parsed; [`cmd`] has one module per
//! subcommand; [`gen`] generates test data; [`cluster`] runs a job on Hadoop,
//! Spark or the Hadoop emulator with this binary as the streaming program.
#![deny(missing_docs)]

pub mod args;
pub mod cluster;
pub mod cmd;
pub mod gen;

use clap::Parser;
use mr_core::Job;
use std::process::ExitCode;
use std::sync::Arc;

/// The jobs a binary knows, by name.
#[derive(Clone, Default)]
pub struct Registry {
    jobs: Vec<Arc<dyn Job>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The jobs shipped with mr: `jobs/` and `examples/`.
    pub fn builtin() -> Registry {
        let mut r = Registry::new();
        r.jobs.extend(mr_jobs::all());
        r.jobs.extend(mr_examples::all());
        r
    }

    /// Adds a job.
    pub fn with(mut self, job: impl Job) -> Registry {
        self.jobs.push(Arc::new(job));
        self
    }

    /// The jobs, in registration order.
    pub fn jobs(&self) -> impl Iterator<Item = &Arc<dyn Job>> {
        self.jobs.iter()
    }

    /// Finds a job by name or by its path in the repo (`jobs/word_count`,
    /// `jobs/src/word_count.rs`); an unknown name is an error listing the
    /// known ones.
    ///
    /// ```
    /// let r = mr_cli::Registry::builtin();
    /// assert_eq!(r.resolve("jobs/word_count/").unwrap().name(), "word_count");
    /// assert!(r.resolve("nope").is_err_and(|e| e.to_string().contains("word_count")));
    /// ```
    pub fn resolve(&self, name: &str) -> anyhow::Result<Arc<dyn Job>> {
        let trimmed = name.trim_end_matches('/');
        let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
        let base = base.strip_suffix(".rs").unwrap_or(base);
        if let Some(j) = self.jobs.iter().find(|j| j.name() == base) {
            return Ok(j.clone());
        }
        let known: Vec<&str> = self.jobs.iter().map(|j| j.name()).collect();
        anyhow::bail!("unknown job {name:?}; known jobs: {}", known.join(", "))
    }
}

/// Parses the command line, runs the command, and turns the outcome into an
/// exit status: 0 on success (a closed stdout pipe, as with `| head`, counts
/// as success), 1 when the job failed, 2 for usage errors.
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = Cli::parse();
    install_signal_handler();
    match dispatch(&registry, &cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<mr_core::Error>()
                .is_some_and(|e| e.is_broken_pipe())
                && !mr_core::cancel::requested()
            {
                return ExitCode::SUCCESS;
            }
            if matches!(
                e.downcast_ref::<mr_core::Error>(),
                Some(mr_core::Error::Interrupted)
            ) {
                eprintln!("mr: {e}");
                return ExitCode::from(130);
            }
            eprintln!("mr: error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

use args::{Cli, Command};

/// The error and its causes, without repeating a cause that the message
/// before it already shows.
fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !msg.contains(&part) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&part);
        }
    }
    msg
}

/// How long a run may take to stop by itself after a signal before the
/// watchdog ends the process.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Ctrl-C or SIGTERM (or SIGHUP): the first asks the job to stop cleanly
/// (temp files and the unfinished output are removed, exit status 130). If
/// the run has not ended [`STOP_GRACE`] later (blocked writing to a stdout
/// nobody reads, or opening a FIFO nobody writes), a watchdog removes the
/// run's temp files and exits with 130; a second signal does so at once.
/// Neither exits during an output commit (see [`mr_core::cancel`]), so the
/// user's previous output is never left half replaced.
fn install_signal_handler() {
    let r = ctrlc::set_handler(|| {
        if mr_core::cancel::requested() {
            mr_core::cancel::force_exit(130);
        }
        eprintln!("mr: interrupted, cleaning up (press Ctrl-C again to exit at once)");
        mr_core::cancel::request();
        let _ = std::thread::Builder::new()
            .name("mr-stop-watchdog".into())
            .spawn(|| {
                std::thread::sleep(STOP_GRACE);
                eprintln!(
                    "mr: interrupted; the run did not stop within {}s, exiting",
                    STOP_GRACE.as_secs()
                );
                mr_core::cancel::force_exit(130);
            });
    });
    if let Err(e) = r {
        eprintln!("mr: warning: cannot install the Ctrl-C handler: {e}");
    }
}

fn dispatch(registry: &Registry, cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Run(args) => cmd::run::run(registry, args),
        Command::EmulateHadoop(args) => cmd::run::run(
            registry,
            &args::RunArgs {
                runner: cluster::Runner::Emulate,
                ..args.clone()
            },
        ),
        Command::Jobs => cmd::jobs::run(registry, &mut std::io::stdout().lock()),
        Command::Gen(args) => cmd::gen::run(args),
        Command::Check(args) => {
            if cmd::check::run(registry, args)? {
                Ok(())
            } else {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                std::process::exit(1)
            }
        }
    }
}

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
