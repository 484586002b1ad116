//! Cancellation: stop a run promptly, and clean up even when it cannot stop.
//!
//! Three ways a run is asked to stop, all seen through [`check`]:
//!
//! - **a signal** (Ctrl-C, SIGTERM): the binary's handler calls [`request`],
//!   which stops every run in the process ([`Error::Interrupted`]);
//! - **a failed task**: the runner gives each run a [`RunFlag`]; the first
//!   task that fails sets it, and every other task of the run stops at its
//!   next check ([`Error::Cancelled`], which the runner never shows: it
//!   reports the first task's error);
//! - **a forced exit**: when a run cannot reach a check (blocked writing to a
//!   stdout nobody reads, opening a FIFO nobody writes), the binary's
//!   watchdog calls [`force_exit`], which runs what the run registered with
//!   [`on_forced_exit`] (stop a cluster job's client, put back an output it
//!   moved aside), removes what it registered with [`remove_on_forced_exit`]
//!   and exits. It waits for a [`critical`] section (the output commit) to
//!   end, so it never leaves a half-committed output.
//!
//! A fourth way a run ends is not asked for: **job code that exits the
//! process** (`std::process::exit(0)` in a mapper, a port of Python's
//! `sys.exit()`). While a run or a task is under way ([`guard_exit`]), an
//! `atexit` hook says so, cleans up as a forced exit does, and ends the
//! process with status 1: the run stopped with exit 0 and no output, or on
//! a cluster with the task's records cut short (probe /tmp/probe11-jobs
//! repro 05).
//!
//! Tasks check every batch of records: every 1024 input lines in a map task,
//! every 4096 values inside a reducer's key group (one key may hold millions),
//! every 4096 records a spill or merge writes. Every check is a relaxed
//! atomic load or two.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

static CANCELLED: AtomicBool = AtomicBool::new(false);
/// The signal that asked to stop; 0 for none, or a [`request`] without one.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

thread_local! {
    /// The flag of the run whose task this thread is running, if any.
    static RUN: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
    /// Runs, tasks and job code under way on this thread ([`guard_exit`],
    /// [`RunFlag::enter`]): an exit called here is job code's. No
    /// destructor, so it is still there for the `atexit` hook, which runs
    /// after the exiting thread's other thread-locals are gone.
    static IN_RUN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Asks every running job in this process to stop as soon as it can.
/// Safe to call from a signal handler thread. The request holds for every
/// run, those started later too, until [`clear`].
pub fn request() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// Forgets a [`request`] (and its signal): runs started after this go on.
/// For a process that embeds mr and goes on after cancelling its runs (a
/// service): every later run failed at once with [`Error::Interrupted`]
/// (probe /tmp/probe19-api repro 02). Call it once the cancelled runs
/// have returned: one still under way may then go on.
///
/// ```
/// use mr_core::cancel;
/// cancel::request();
/// assert!(cancel::check().is_err());
/// cancel::clear();
/// assert!(cancel::check().is_ok() && !cancel::requested());
/// ```
pub fn clear() {
    SIGNAL.store(0, Ordering::SeqCst);
    CANCELLED.store(false, Ordering::SeqCst);
}

/// Counts a run, a task or job code under way on this thread until the
/// guard is dropped (on this thread: it is not `Send`).
struct OnThisThread(std::marker::PhantomData<*const ()>);

impl OnThisThread {
    fn enter() -> Self {
        IN_RUN.with(|n| n.set(n.get() + 1));
        OnThisThread(std::marker::PhantomData)
    }
}

impl Drop for OnThisThread {
    fn drop(&mut self) {
        IN_RUN.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// [`request`], for the signal numbered `signal` (SIGINT is 2, SIGTERM 15):
/// [`exit_status`] then says which, as a shell does for a process the
/// signal killed.
pub fn request_by_signal(signal: i32) {
    let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    request();
}

/// The exit status of a run stopped by a signal: 128 + the signal's number
/// (130 for Ctrl-C's SIGINT, 143 for SIGTERM, 129 for SIGHUP), the first
/// signal's if several came; 130 when no signal was named.
///
/// ```
/// assert_eq!(mr_core::cancel::exit_status(), 130);
/// ```
pub fn exit_status() -> u8 {
    match SIGNAL.load(Ordering::SeqCst) {
        s @ 1..=127 => 128 + s as u8,
        _ => 130,
    }
}

/// True once [`request`] was called.
pub fn requested() -> bool {
    CANCELLED.load(Ordering::Relaxed)
}

/// `Err(Error::Interrupted)` once cancellation was requested;
/// `Err(Error::Cancelled)` once another task of the current run failed.
///
/// ```
/// assert!(mr_core::cancel::check().is_ok());
/// ```
pub fn check() -> Result<()> {
    if requested() {
        return Err(Error::Interrupted);
    }
    let stopped = RUN.with(|r| {
        r.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    });
    if stopped {
        return Err(Error::Cancelled);
    }
    Ok(())
}

/// One run's stop flag, shared by its tasks: the first failure stops them all.
///
/// ```
/// use mr_core::cancel::{check, RunFlag};
/// let flag = RunFlag::new();
/// flag.enter(|| assert!(check().is_ok()));
/// flag.stop();
/// assert!(flag.enter(check).is_err());
/// assert!(check().is_ok()); // outside the run
/// ```
#[derive(Debug, Clone, Default)]
pub struct RunFlag(Arc<AtomicBool>);

impl RunFlag {
    /// A flag not set.
    pub fn new() -> RunFlag {
        RunFlag::default()
    }

    /// Stops every task of the run at its next [`check`].
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `f` (a task) on this thread as part of this run: every [`check`]
    /// inside it sees the flag.
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Arc<AtomicBool>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                RUN.with(|r| *r.borrow_mut() = prev);
            }
        }
        let prev = RUN.with(|r| r.borrow_mut().replace(self.0.clone()));
        let _restore = Restore(prev);
        let _here = OnThisThread::enter();
        f()
    }

    /// Runs a task as part of this run, and stops the run if it fails.
    pub fn task<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let r = self.enter(f);
        if r.is_err() {
            self.stop();
        }
        r
    }
}

/// The outcome of a run's tasks: their results in order, or the error that
/// stopped them: the first one that is not [`Error::Cancelled`] (which only
/// says that another task failed first).
pub fn first_failure<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(results.len());
    let mut cancelled = None;
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(Error::Cancelled) => cancelled = Some(Error::Cancelled),
            Err(e) => return Err(e),
        }
    }
    match cancelled {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

// ---------------------------------------------------------------------------
// Forced exit.

/// How long, in milliseconds, a run may take to stop by itself after a
/// signal before the binary's watchdog calls [`force_exit`].
static STOP_GRACE_MS: AtomicU64 = AtomicU64::new(1000);

/// How long a run may take to stop by itself after a signal (one second,
/// unless [`allow_stop_time`] raised it).
pub fn stop_grace() -> std::time::Duration {
    std::time::Duration::from_millis(STOP_GRACE_MS.load(Ordering::Relaxed))
}

/// Lets the run take up to `d` to stop after a signal: a run on a cluster
/// stops its job there and removes what the job wrote, with commands that
/// each start a JVM. Never lowers the grace.
///
/// ```
/// use std::time::Duration;
/// mr_core::cancel::allow_stop_time(Duration::from_secs(90));
/// assert_eq!(mr_core::cancel::stop_grace(), Duration::from_secs(90));
/// ```
pub fn allow_stop_time(d: std::time::Duration) {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    STOP_GRACE_MS.fetch_max(ms, Ordering::Relaxed);
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static TO_REMOVE: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
/// What [`force_exit`] runs first, newest first: [`on_forced_exit`].
static TO_RUN: Mutex<Vec<(u64, ForcedExitAction)>> = Mutex::new(Vec::new());
static CRITICAL: Mutex<()> = Mutex::new(());

/// An action registered with [`on_forced_exit`].
type ForcedExitAction = Box<dyn FnOnce() + Send>;

/// Locks `m`, poisoned or not: what it guards is never left half-changed
/// (a task's panic is caught inside the task, see [`crate::panics`]).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A path [`force_exit`] removes, or an action it runs; dropping it forgets
/// the path (the run removed it, or committed it) or the action (what it
/// guarded against is over).
#[derive(Debug)]
#[must_use = "the path or action is forgotten when this is dropped"]
pub struct RemoveOnExit(u64);

impl Drop for RemoveOnExit {
    fn drop(&mut self) {
        lock(&TO_REMOVE).retain(|(id, _)| *id != self.0);
        lock(&TO_RUN).retain(|(id, _)| *id != self.0);
    }
}

/// Whether a forced exit would remove `path` now.
#[cfg(test)]
pub(crate) fn listed_for_removal(path: &std::path::Path) -> bool {
    lock(&TO_REMOVE).iter().any(|(_, p)| p == path)
}

/// Registers a temp file or directory that a forced exit must remove.
pub fn remove_on_forced_exit(path: impl Into<PathBuf>) -> RemoveOnExit {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock(&TO_REMOVE).push((id, path.into()));
    RemoveOnExit(id)
}

/// Registers `action` for [`force_exit`] to run before it removes the
/// registered paths, the newest action first: what a forced exit must not
/// skip, such as killing a job command that would otherwise run on and
/// putting back an old output it had moved aside. An action runs at most
/// once; one that must not race the run's own clean-up is dropped inside
/// a [`critical`] section that does that clean-up.
///
/// ```
/// let guard = mr_core::cancel::on_forced_exit(|| eprintln!("not run: dropped first"));
/// drop(guard);
/// ```
pub fn on_forced_exit(action: impl FnOnce() + Send + 'static) -> RemoveOnExit {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock(&TO_RUN).push((id, Box::new(action)));
    RemoveOnExit(id)
}

/// Runs `f` (an output commit) with forced exits held off until it ends.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    let _held = lock(&CRITICAL);
    f()
}

static IN_PLACE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Records that the run's output `dir` is in place, complete: an interrupt
/// from now on cannot undo it, and [`in_place`] tells what to say.
pub fn output_in_place(dir: impl Into<PathBuf>) {
    *lock(&IN_PLACE) = Some(dir.into());
}

/// Forgets an output recorded by [`output_in_place`]: for a run's inner
/// stages (the categorical counts), whose outputs are its work files, not
/// the user's output.
pub(crate) fn forget_in_place() {
    *lock(&IN_PLACE) = None;
}

/// The output put in place by this process, if one was ([`output_in_place`]).
///
/// ```
/// assert_eq!(mr_core::cancel::in_place(), None);
/// ```
pub fn in_place() -> Option<PathBuf> {
    lock(&IN_PLACE).clone()
}

/// What to say of an interrupt that came once the output was in place:
/// that it is complete and kept (not "removed", not "did not stop").
pub fn interrupted_after_commit() -> Option<String> {
    in_place().map(|dir| {
        format!(
            "interrupted after the output was in place: {} is complete (_SUCCESS) and was kept",
            dir.display()
        )
    })
}

/// Runs every registered action ([`on_forced_exit`]), removes every
/// registered path (the newest first: an output's staging directory before
/// the lock file that guards it) and exits the process with
/// [`exit_status`], once no [`critical`] section is running. For the
/// binary's watchdog, when a run did not stop by itself soon after a signal.
pub fn force_exit() -> ! {
    let _held = lock(&CRITICAL);
    // Held until the exit: a guard dropped meanwhile (a lock released, a
    // directory removed by the run itself) waits, so every path removed
    // here is still this run's (a lock file's name may be the next run's
    // once this one has released it).
    let _listed = clean_up_for_exit();
    if let Some(said) = interrupted_after_commit() {
        crate::errln!("mr: {said}");
    }
    // Not job code's exit: the hook of `guard_exit` lets it be.
    UNDER_WAY.store(0, Ordering::SeqCst);
    std::process::exit(i32::from(exit_status()))
}

/// What a forced exit does before it exits: runs every registered action
/// (the newest first) and removes every registered path (the newest
/// first); returns the list of paths, locked, for the caller to hold
/// until it exits.
fn clean_up_for_exit() -> MutexGuard<'static, Vec<(u64, PathBuf)>> {
    let actions: Vec<ForcedExitAction> = lock(&TO_RUN).drain(..).map(|(_, a)| a).collect();
    for action in actions.into_iter().rev() {
        // One action's panic must not keep the others, the removals and the
        // exit from running.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action));
    }
    let listed = lock(&TO_REMOVE);
    for p in listed.iter().rev().map(|(_, p)| p) {
        // Best effort: the process is going away with an error anyway. A
        // task still running (it stops at its next check) can create a
        // spill file in a directory being removed, which then fails as
        // not empty: removed again, for up to a fifth of a second.
        for _ in 0..20 {
            let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
            if std::fs::symlink_metadata(p).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    listed
}

/// Runs and tasks under way ([`guard_exit`]): an exit meanwhile is job
/// code's.
static UNDER_WAY: AtomicU64 = AtomicU64::new(0);

/// Until dropped, a run or a task is under way (see [`guard_exit`]); it
/// stays on the thread that made it.
pub struct ExitGuard {
    _here: OnThisThread,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        UNDER_WAY.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Marks a run or a task as under way until the guard is dropped: a call
/// of `exit` meanwhile (`std::process::exit` in job code) is said, cleans
/// up as [`force_exit`] does, and ends the process with status 1 instead
/// of the status job code gave (0 ended a run with no output and no
/// word). The hook is registered with `atexit` once. Only an exit called
/// on a thread running the run, one of its tasks or its job code is taken
/// for job code's: a program that embeds mr and exits (its `main`
/// returning) while a run goes on in another thread exits as it asked
/// (it exited 1, the job blamed: probe /tmp/probe19-api repro 03).
pub fn guard_exit() -> ExitGuard {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `atexit` takes a plain function, which lives for the
        // whole process; registering it once is all this does.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::atexit(exit_under_way) };
    });
    let here = OnThisThread::enter();
    UNDER_WAY.fetch_add(1, Ordering::SeqCst);
    ExitGuard { _here: here }
}

/// The `atexit` hook of [`guard_exit`].
extern "C" fn exit_under_way() {
    let here = IN_RUN.try_with(|n| n.get() > 0).unwrap_or(false);
    if !here || UNDER_WAY.swap(0, Ordering::SeqCst) == 0 {
        return;
    }
    crate::errln!(
        "mr: job code called exit (std::process::exit) while the run was under way: the run \
         stops unfinished, its output and temporary files removed; return an error from the \
         job instead (JobError), which names the record"
    );
    // Held until the exit, as a forced exit holds it.
    let _listed = std::panic::catch_unwind(clean_up_for_exit);
    // SAFETY: `_exit` ends the process at once, without running the other
    // `atexit` hooks or flushing stdio: what it would flush is the
    // unfinished run's.
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_task_stops_the_run_and_its_error_wins() {
        let flag = RunFlag::new();
        let r: Vec<Result<u32>> = vec![
            flag.task(|| Ok(1)),
            flag.task(|| Err(Error::Config("boom".into()))),
            flag.task(|| check().map(|()| 3)),
        ];
        assert!(flag.is_stopped());
        let e = first_failure(r).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
        let r: Vec<Result<u32>> = vec![Err(Error::Cancelled), Err(Error::Config("x".into()))];
        assert!(matches!(first_failure(r), Err(Error::Config(_))));
        assert_eq!(first_failure(vec![Ok(1), Ok(2)]).unwrap(), vec![1, 2]);
    }

    #[test]
    fn registered_paths_are_forgotten_when_dropped() {
        let listed = || {
            lock(&TO_REMOVE)
                .iter()
                .any(|(_, p)| p.ends_with("mr-cancel-test"))
        };
        let g = remove_on_forced_exit("/nonexistent/mr-cancel-test");
        assert!(listed());
        drop(g);
        assert!(!listed());
        assert_eq!(critical(|| 5), 5);
        let before = lock(&TO_RUN).len();
        let a = on_forced_exit(|| {});
        assert_eq!(lock(&TO_RUN).len(), before + 1);
        drop(a);
        assert_eq!(lock(&TO_RUN).len(), before);
    }
}
