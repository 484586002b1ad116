//! Standard output kept for mr's results while job code runs: a `println!`
//! in job code goes to standard error instead.
//!
//! A job author's `println!` (a debugging print, a port of mrjob code that
//! printed) wrote to the stdout whose lock the local runner held for the
//! run's results: the run hung, forever, with nothing said; in task mode
//! (Hadoop, Spark, emulate) the printed line became a record of the
//! results, `"fake"<TAB>1000` with exit 0 (probe /tmp/probe11-jobs repro
//! 01). While a run or a task is under way, fd 1 is a copy of fd 2, and mr
//! writes its results to a duplicate of the original fd 1
//! ([`StdoutAside::results`]); the original is put back when the run ends.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsFd as _, OwnedFd};

/// The original standard output, set aside until dropped.
pub struct StdoutAside {
    /// The original fd 1, put back when dropped.
    saved: Option<OwnedFd>,
    /// Another copy of it, for the results.
    results: Option<File>,
}

impl StdoutAside {
    /// Sets stdout aside: fd 1 becomes a copy of fd 2. Where that cannot
    /// be done (a descriptor closed, the limit of open files reached),
    /// nothing is changed, and the results go to stdout as before.
    pub fn new() -> StdoutAside {
        let _ = std::io::stdout().flush();
        let dup = || rustix::io::dup(std::io::stdout().as_fd()).ok();
        match (dup(), dup()) {
            (Some(saved), Some(results))
                if rustix::stdio::dup2_stdout(std::io::stderr().as_fd()).is_ok() =>
            {
                StdoutAside {
                    saved: Some(saved),
                    results: Some(File::from(results)),
                }
            }
            _ => StdoutAside {
                saved: None,
                results: None,
            },
        }
    }

    /// Where mr's results go: the original stdout (once; stdout itself
    /// after).
    pub fn results(&mut self) -> Box<dyn std::io::Write> {
        match self.results.take() {
            Some(f) => Box::new(f),
            None => Box::new(std::io::stdout()),
        }
    }
}

impl Drop for StdoutAside {
    fn drop(&mut self) {
        // What job code printed without a newline goes where it was meant.
        let _ = std::io::stdout().flush();
        if let Some(saved) = &self.saved {
            let _ = rustix::stdio::dup2_stdout(saved);
        }
    }
}

impl Default for StdoutAside {
    fn default() -> Self {
        Self::new()
    }
}
