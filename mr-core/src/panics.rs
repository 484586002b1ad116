//! Panics in job code: caught per record and reported like any bad record.
//!
//! A mapper, combiner, reducer, fold or init/final hook that panics does not
//! crash the run with Rust's raw `thread 'mr-worker-1' panicked` (exit 101):
//! the type-erased adapters of [`job`](crate::job) and [`fold`](crate::fold)
//! run job code under [`catch`], and a caught panic becomes the record's
//! error, `job panicked: MESSAGE (at src/my_job.rs:12:9)`. So, exactly as
//! for an error the job returned: by default the run stops with
//! `bad record at FILE:LINE` (mapper) or the key (reducer); under
//! `--skip-bad-records` the record is kept aside in `_bad_records/` and the
//! run goes on. Task mode (what Hadoop runs) goes through the same adapters.
//!
//! # What is printed
//!
//! The process's panic hook is wrapped once (when a step's first task is
//! created): while job code runs under [`catch`], a panic is recorded
//! (message and location) instead of printed, since the error mr reports
//! carries both. Every other panic goes to the previous hook as before; so
//! does a panic whose location is inside mr-core's own source even when job
//! code called it (an emitter or a sort buffer that panics is a bug in mr,
//! not in the job): it is reported as [`Error::Internal`](crate::Error) and
//! is never skipped.
//!
//! # The job's state after a caught panic
//!
//! The task goes on with the **same** mapper (or reducer) value: its fields
//! hold what they held when the panic unwound out of `map`. Rust's unwinding
//! keeps that memory-safe, but a mapper that was halfway through updating its
//! own state (an in-mapper aggregate) may keep a half-done update. We do not
//! re-create the mapper: a new one would silently drop everything the old one
//! aggregated from the records before (what `finish` emits), which loses more
//! data than the one record being skipped. Hadoop's skipping mode instead
//! re-runs the whole task without the bad range; mrjob has no equivalent.
//! What the call emitted before it panicked is thrown away with the record,
//! as for a `map` that returns an error after emitting (see
//! `mr-core/src/staged.rs`).
//!
//! # Cost
//!
//! `catch_unwind` costs nothing on the path where nothing panics (no
//! allocation, no check, only an unwind table entry); [`catch`] adds one
//! thread-local flag set and reset per record.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

thread_local! {
    /// True while job code runs under [`catch`] on this thread.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
    /// The last panic the hook recorded on this thread.
    static CAUGHT: RefCell<Option<Panicked>> = const { RefCell::new(None) };
    /// Job panics the hook met since [`catch`] last returned: a second
    /// one is a panic while unwinding (a `Drop` that panics), which aborts
    /// the process (said once, at the second).
    static UNWINDING: Cell<u8> = const { Cell::new(0) };
    /// The file a map task on this thread reads ([`mapping_file`]), for a
    /// panic that aborts the process to name its record.
    static MAPPING: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The line being mapped ([`mapping_line`]): its byte offset, and its
    /// number when the task knows it.
    static MAPPING_AT: Cell<(u64, Option<u64>)> = const { Cell::new((0, None)) };
}

/// While alive, a map task on this thread reads `file` (its display name):
/// a panic in job code that aborts the process (a panic while unwinding,
/// or a job built with `panic = "abort"`) names the record being mapped,
/// which no error can carry then. Dropped, the thread reads no file.
///
/// ```
/// use mr_core::panics::{mapping_file, mapping_line, mapping_place};
/// let reading = mapping_file("logs/a.log");
/// mapping_line(120, Some(3));
/// assert_eq!(mapping_place().as_deref(), Some("logs/a.log:3"));
/// mapping_line(4096, None);
/// assert_eq!(mapping_place().as_deref(), Some("logs/a.log, the line at byte 4096"));
/// drop(reading);
/// assert_eq!(mapping_place(), None);
/// ```
#[must_use = "the file is the thread's only while the guard lives"]
pub fn mapping_file(file: &str) -> MappingFile {
    let _ = MAPPING.try_with(|m| *m.borrow_mut() = Some(file.to_string()));
    let _ = MAPPING_AT.try_with(|c| c.set((0, None)));
    MappingFile(())
}

/// The guard of [`mapping_file`].
pub struct MappingFile(());

impl Drop for MappingFile {
    fn drop(&mut self) {
        let _ = MAPPING.try_with(|m| m.borrow_mut().take());
    }
}

/// The line a map task is about to give job code: at byte `offset` of its
/// file (uncompressed), line number `line` when known. One thread-local
/// store per line.
#[inline]
pub fn mapping_line(offset: u64, line: Option<u64>) {
    let _ = MAPPING_AT.try_with(|c| c.set((offset, line)));
}

/// `FILE:LINE` (or `FILE, the line at byte OFFSET`) of the record a map
/// task on this thread is mapping, if one is.
pub fn mapping_place() -> Option<String> {
    let file = MAPPING.try_with(|m| m.borrow().clone()).ok().flatten()?;
    let file = crate::error::printable_line(&file);
    Some(match MAPPING_AT.try_with(Cell::get).unwrap_or((0, None)) {
        (_, Some(line)) => format!("{file}:{line}"),
        (offset, None) => format!("{file}, the line at byte {offset}"),
    })
}

/// How an abort's message names the record: `while mapping FILE:LINE`,
/// or, off a map task, that it cannot.
fn the_record() -> String {
    match mapping_place() {
        Some(place) => format!("while mapping {place}"),
        None => "without naming the record".to_string(),
    }
}

/// A panic caught by [`catch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// The panic's message (`"called `Option::unwrap()` on a `None` value"`).
    pub message: String,
    /// `file:line:column` of the panic, when known.
    pub location: Option<String>,
    /// True when the panic happened in mr-core's own code: a bug in mr.
    pub internal: bool,
}

impl std::fmt::Display for Panicked {
    /// `job panicked: MESSAGE (at FILE:LINE:COL)`, or for a panic inside mr,
    /// `panicked at FILE:LINE:COL: MESSAGE`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.location.as_deref().unwrap_or("an unknown place");
        if self.internal {
            write!(f, "panicked at {at}: {}", self.message)
        } else {
            write!(f, "job panicked: {} (at {at})", self.message)
        }
    }
}

/// mr-core's source directory as the compiler names it (`mr-core/src/` in
/// this workspace, an absolute registry path for a user's crate).
fn own_source_dir() -> &'static str {
    let here = file!();
    here.strip_suffix("panics.rs").unwrap_or(here)
}

pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic with a non-string payload)".to_string()
    }
}

/// Wraps the process's panic hook so that panics in job code under [`catch`]
/// are recorded rather than printed. Idempotent; the engine calls it when it
/// creates a task's mapper, combiner or reducer.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            let internal = info
                .location()
                .is_some_and(|l| l.file().starts_with(own_source_dir()));
            let in_job = IN_JOB.try_with(Cell::get).unwrap_or(false);
            if in_job && !internal {
                // A panic that will not unwind to `catch` aborts the
                // process: said here, or nothing is (probe
                // /tmp/probe11-jobs repros 02, 03).
                if cfg!(panic = "abort") {
                    crate::errln!(
                        "mr: job code panicked, and the job is built with panic = \"abort\": \
                         the process stops here, {}, and its temporary files are left for \
                         the next run to remove (build the job with the default, \
                         panic = \"unwind\", for mr to fail cleanly, or skip the record with \
                         --skip-bad-records)",
                        the_record()
                    );
                    return previous(info);
                }
                let before = UNWINDING
                    .try_with(|u| u.replace(u.get().saturating_add(1)))
                    .unwrap_or(0);
                if before == 1 {
                    let first = CAUGHT
                        .try_with(|c| {
                            c.borrow().as_ref().map(|p| {
                                let at = p.location.as_deref().unwrap_or("an unknown place");
                                format!(" ({}, at {at})", p.message)
                            })
                        })
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    crate::errln!(
                        "mr: job code panicked while it was unwinding from an earlier panic{first} \
                         (a Drop that panics?): Rust aborts the process here, {}, and its \
                         temporary files are left for the next run to remove",
                        the_record()
                    );
                    previous(info);
                }
            }
            if in_job {
                let rec = Panicked {
                    message: payload_message(info.payload()),
                    location,
                    internal,
                };
                let _ = CAUGHT.try_with(|c| *c.borrow_mut() = Some(rec));
            }
            if !in_job || internal {
                previous(info);
            }
        }));
    });
}

/// Runs job code, catching a panic: `Err` holds its message and location.
///
/// ```
/// use mr_core::panics::{catch, install_hook};
/// install_hook();
/// assert_eq!(catch(|| 1 + 1), Ok(2));
/// let p = catch(|| -> u32 { panic!("no {}", "way") }).unwrap_err();
/// assert_eq!(p.message, "no way");
/// ```
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    let outer = IN_JOB.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    IN_JOB.with(|c| c.set(outer));
    UNWINDING.with(|u| u.set(0));
    r.map_err(|payload| match CAUGHT.with(|c| c.borrow_mut().take()) {
        Some(recorded) => recorded,
        // The hook was not ours (someone replaced it after us).
        None => Panicked {
            message: payload_message(&*payload),
            location: None,
            internal: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_panics_are_caught_with_their_location() {
        install_hook();
        let p = catch(|| {
            let v: Vec<u8> = Vec::new();
            v[3]
        })
        .unwrap_err();
        assert!(p.message.contains("index out of bounds"), "{p:?}");
        // The index is in this file, which is mr-core's: an internal panic.
        assert!(p.internal);
        assert!(p.location.unwrap().contains("panics.rs"));
    }

    #[test]
    fn nested_catches_restore_the_flag() {
        install_hook();
        let r = catch(|| catch(|| panic!("inner")).unwrap_err().message);
        assert_eq!(r.unwrap(), "inner");
        assert!(!IN_JOB.with(Cell::get));
        let p = catch(|| std::panic::panic_any(7u32)).unwrap_err();
        assert_eq!(p.message, "(a panic with a non-string payload)");
    }
}
