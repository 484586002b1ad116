//! Live progress of a local run, for a status line: which step and phase,
//! tasks done, input bytes read. Tasks bump atomic counters; whoever shows the
//! progress (the `mr` binary, on a terminal) reads a [`Snapshot`] now and then.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

/// Shared progress counters of one run.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    step: AtomicUsize,
    steps: AtomicUsize,
    phase: AtomicU8,
    tasks_done: AtomicU64,
    tasks_total: AtomicU64,
    bytes_read: AtomicU64,
}

/// What a run is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Listing inputs, not started yet.
    Starting,
    /// Map tasks (and their combining and spills).
    Map,
    /// Merging runs and reducing partitions.
    Reduce,
    /// Committing the output or writing it to stdout.
    Output,
}

/// A consistent-enough reading of [`Progress`].
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// 0-based step.
    pub step: usize,
    /// Steps in the job.
    pub steps: usize,
    /// What the step is doing.
    pub phase: Phase,
    /// Tasks of this phase done.
    pub tasks_done: u64,
    /// Tasks of this phase in all.
    pub tasks_total: u64,
    /// Input bytes read by the first step's map tasks (uncompressed).
    pub bytes_read: u64,
    /// Seconds since the run started.
    pub elapsed_secs: f64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            started: Instant::now(),
            step: AtomicUsize::new(0),
            steps: AtomicUsize::new(1),
            phase: AtomicU8::new(0),
            tasks_done: AtomicU64::new(0),
            tasks_total: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        }
    }
}

impl Progress {
    pub(crate) fn start_phase(&self, step: usize, steps: usize, phase: Phase, tasks: u64) {
        self.step.store(step, Relaxed);
        self.steps.store(steps, Relaxed);
        self.tasks_total.store(tasks, Relaxed);
        self.tasks_done.store(0, Relaxed);
        self.phase.store(phase as u8, Relaxed);
    }

    pub(crate) fn task_done(&self) {
        self.tasks_done.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes_read.fetch_add(n, Relaxed);
    }

    /// The current reading.
    ///
    /// ```
    /// let p = mr_core::runner::progress::Progress::default();
    /// let s = p.snapshot();
    /// assert_eq!(s.bytes_read, 0);
    /// assert!(s.to_string().contains("starting"));
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            step: self.step.load(Relaxed),
            steps: self.steps.load(Relaxed),
            phase: match self.phase.load(Relaxed) {
                1 => Phase::Map,
                2 => Phase::Reduce,
                3 => Phase::Output,
                _ => Phase::Starting,
            },
            tasks_done: self.tasks_done.load(Relaxed),
            tasks_total: self.tasks_total.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
        }
    }
}

impl fmt::Display for Snapshot {
    /// `step 1/2 · map 12/40 tasks · 3.2 GB read · 820 MB/s · 4s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Starting => return write!(f, "starting"),
            Phase::Map => "map",
            Phase::Reduce => "reduce",
            Phase::Output => "output",
        };
        if self.steps > 1 {
            write!(f, "step {}/{} · ", self.step + 1, self.steps)?;
        }
        write!(f, "{phase} {}/{} tasks", self.tasks_done, self.tasks_total)?;
        let mb = self.bytes_read as f64 / 1e6;
        if mb >= 1000.0 {
            write!(f, " · {:.2} GB read", mb / 1000.0)?;
        } else {
            write!(f, " · {mb:.0} MB read")?;
        }
        if self.elapsed_secs > 0.0 {
            write!(f, " · {:.0} MB/s", mb / self.elapsed_secs)?;
        }
        write!(f, " · {:.0}s", self.elapsed_secs)
    }
}
