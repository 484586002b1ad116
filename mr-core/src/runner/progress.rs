//! Live progress of a local run, for a status line: which step and phase,
//! tasks done, input bytes read. Tasks bump atomic counters; whoever shows the
//! progress (the `mr` binary, on a terminal) reads a [`Snapshot`] now and then.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed};
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
    bytes_total: AtomicU64,
    /// Whether `bytes_total` counts compressed bytes (then `bytes_read`,
    /// uncompressed, is no fraction of it).
    total_compressed: AtomicBool,
    records: AtomicU64,
    spills: AtomicU64,
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
    /// The first step's input size, when known (0: unknown, as for
    /// compressed inputs, whose uncompressed size is not known beforehand).
    pub bytes_total: u64,
    /// Input records read by the first step's map tasks.
    pub records: u64,
    /// Sort-buffer spills so far (counted as map tasks end).
    pub spills: u64,
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
            bytes_total: AtomicU64::new(0),
            total_compressed: AtomicBool::new(false),
            records: AtomicU64::new(0),
            spills: AtomicU64::new(0),
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

    pub(crate) fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Relaxed);
    }

    pub(crate) fn add_spills(&self, n: u64) {
        self.spills.fetch_add(n, Relaxed);
    }

    pub(crate) fn set_bytes_total(&self, total: u64, compressed: bool) {
        self.bytes_total.store(total, Relaxed);
        self.total_compressed.store(compressed, Relaxed);
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
            bytes_total: if self.total_compressed.load(Relaxed) {
                0
            } else {
                self.bytes_total.load(Relaxed)
            },
            records: self.records.load(Relaxed),
            spills: self.spills.load(Relaxed),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
        }
    }
}

impl Snapshot {
    /// Fraction of the first step's input read, when its size is known.
    pub fn fraction(&self) -> Option<f64> {
        (self.bytes_total > 0 && self.step == 0 && self.phase == Phase::Map)
            .then(|| (self.bytes_read as f64 / self.bytes_total as f64).min(1.0))
    }

    /// Seconds left in the first step's map phase at the rate so far, once
    /// a little is done.
    pub fn eta_secs(&self) -> Option<f64> {
        let f = self.fraction()?;
        (f > 0.01 && self.elapsed_secs > 0.0).then(|| self.elapsed_secs * (1.0 - f) / f)
    }

    /// The phase's name: `map`, `reduce`, ...
    pub fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Starting => "starting",
            Phase::Map => "map",
            Phase::Reduce => "merge+reduce",
            Phase::Output => "output",
        }
    }
}

impl fmt::Display for Snapshot {
    /// `step 1/2 · map 12/40 tasks · 3.20 GB of 8.00 GB (40%) · 820 MB/s · ETA 6s · 1200000 records · 2 spills · 4s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.phase == Phase::Starting {
            return write!(f, "starting");
        }
        if self.steps > 1 {
            write!(f, "step {}/{} · ", self.step + 1, self.steps)?;
        }
        write!(
            f,
            "{} {}/{} tasks",
            self.phase_name(),
            self.tasks_done,
            self.tasks_total
        )?;
        write!(f, " · {}", human_bytes(self.bytes_read))?;
        if let Some(frac) = self.fraction() {
            write!(
                f,
                " of {} ({:.0}%)",
                human_bytes(self.bytes_total),
                frac * 100.0
            )?;
        } else {
            write!(f, " read")?;
        }
        if self.elapsed_secs > 0.0 {
            write!(
                f,
                " · {:.0} MB/s",
                self.bytes_read as f64 / 1e6 / self.elapsed_secs
            )?;
        }
        if let Some(eta) = self.eta_secs() {
            write!(f, " · ETA {eta:.0}s")?;
        }
        write!(f, " · {} records", self.records)?;
        if self.spills > 0 {
            write!(f, " · {} spills", self.spills)?;
        }
        write!(f, " · {:.0}s", self.elapsed_secs)
    }
}

/// `512 B`, `3.2 MB`, `1.05 GB` (powers of 1000).
///
/// ```
/// use mr_core::runner::progress::human_bytes;
/// assert_eq!(human_bytes(999), "999 B");
/// assert_eq!(human_bytes(3_200_000), "3.2 MB");
/// assert_eq!(human_bytes(1_050_000_000), "1.05 GB");
/// ```
pub fn human_bytes(n: u64) -> String {
    let x = n as f64;
    if x >= 1e9 {
        format!("{:.2} GB", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.1} MB", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} kB", x / 1e3)
    } else {
        format!("{n} B")
    }
}
