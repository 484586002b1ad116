//! A task's status message, as mrjob's `set_status` sets it: a note for the
//! cluster's task list, and a keep-alive.
//!
//! Hadoop kills a task that neither reads, writes nor reports for
//! `mapreduce.task.timeout` (10 minutes by default): a reducer that computes
//! long over one key, its input pipe full, is such a task. In task mode
//! (Hadoop Streaming, Spark) [`set_status`] writes `reporter:status:MESSAGE`
//! to stderr, which Streaming reads as progress. The local runner has no such
//! timeout and a progress line of its own, so there it does nothing.
//!
//! ```
//! // Outside task mode (here, and in a local run) a status is not written.
//! mr_core::status::set_status("scored 10000 documents");
//! ```

use crate::error::printable_line;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether statuses go to stderr: set by task mode.
static TO_STDERR: AtomicBool = AtomicBool::new(false);

/// When the last status was written.
static LAST_WRITTEN: Mutex<Option<Instant>> = Mutex::new(None);

/// Statuses are written at most this often: a job that sets one for every
/// record costs a clock read a record, not a line of Hadoop's protocol.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Makes [`set_status`] write to stderr, as task mode does.
pub fn report_to_stderr() {
    TO_STDERR.store(true, Ordering::SeqCst);
}

/// Sets the task's status to `message` (control characters escaped, so a
/// newline cannot start a line of Hadoop's protocol). In task mode it is
/// written to stderr as `reporter:status:MESSAGE`, unless one was written
/// less than [`MIN_INTERVAL`] ago; elsewhere it is dropped.
pub fn set_status(message: &str) {
    if !TO_STDERR.load(Ordering::Relaxed) {
        return;
    }
    let now = Instant::now();
    let mut last = LAST_WRITTEN.lock().unwrap_or_else(PoisonError::into_inner);
    if last.is_some_and(|t| now.duration_since(t) < MIN_INTERVAL) {
        return;
    }
    *last = Some(now);
    let line = format!("reporter:status:{}\n", printable_line(message));
    // Best effort, as a log line: a task whose stderr is gone has no one to
    // tell.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
