//! Cancellation: a signal handler (in the binary) asks the running job to
//! stop; tasks check between records and return [`Error::Interrupted`], so the
//! normal error path removes temp files and the unfinished output directory.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Asks every running job in this process to stop as soon as it can.
/// Safe to call from a signal handler thread.
pub fn request() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// True once [`request`] was called.
pub fn requested() -> bool {
    CANCELLED.load(Ordering::Relaxed)
}

/// `Err(Error::Interrupted)` once cancellation was requested.
///
/// ```
/// assert!(mr_core::cancel::check().is_ok());
/// ```
pub fn check() -> Result<()> {
    if requested() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
