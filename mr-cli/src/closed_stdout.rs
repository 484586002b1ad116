//! Whether standard output was closed when the process started (`mr run
//! word_count -i x.txt >&-`), and standard error and input (`-i - <&-`).
//!
//! Rust's runtime, before `main`, opens `/dev/null` on a standard file
//! descriptor (0, 1 or 2) that is closed, so that a later open cannot take
//! its number. Writes to such a stdout then succeed and go nowhere: results
//! printed there are lost with exit 0, where a C program gets EBADF. Only a
//! look before the runtime's can tell, so it is taken from an ELF
//! constructor (`.init_array`, run by the dynamic loader or libc before
//! `main`), on Linux; elsewhere a closed stdout is not seen.
//!
//! A command that prints to stdout (`mr run` without `-o`, `mr jobs`, `mr
//! completions`, `mr man`, `--report /dev/stdout`) refuses such a stdout
//! before it starts ([`refuse_if_closed`]), exit 2. A stdout closed by its
//! reader later (`| head -1`, EPIPE) is another matter: a success, see
//! [`crate::main_with`]; and a `/dev/null` the caller opened (`>/dev/null`,
//! Python's `subprocess.DEVNULL`) is written to, as asked.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`look`] before `main` when fd 1 was closed.
static CLOSED_AT_START: AtomicBool = AtomicBool::new(false);
/// The same for fd 2.
static STDERR_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);
/// The same for fd 0.
static STDIN_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Looks at fds 0, 1 and 2 before Rust's runtime reopens them: EBADF is
/// closed.
#[cfg(target_os = "linux")]
extern "C" fn look() {
    use rustix::io::{Errno, fcntl_getfd};
    use std::os::fd::AsFd as _;
    // `Stdout::as_fd` is fd 1 itself: nothing of std's is set up by it.
    let closed = fcntl_getfd(std::io::stdout().as_fd()) == Err(Errno::BADF);
    CLOSED_AT_START.store(closed, Ordering::Relaxed);
    let closed = fcntl_getfd(std::io::stderr().as_fd()) == Err(Errno::BADF);
    STDERR_CLOSED_AT_START.store(closed, Ordering::Relaxed);
    let closed = fcntl_getfd(std::io::stdin().as_fd()) == Err(Errno::BADF);
    STDIN_CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

/// The constructor's entry. Its only work is three `fcntl(fd, F_GETFD)`
/// through rustix and atomic stores: nothing that needs the runtime, the
/// allocator or any other constructor.
#[cfg(target_os = "linux")]
#[used]
#[allow(unsafe_code)]
// SAFETY: an `.init_array` entry is a function the loader calls once,
// with no arguments that it reads, before `main`; `look` touches no state
// that is not ready then (see above).
#[unsafe(link_section = ".init_array")]
static LOOK: extern "C" fn() = look;

/// True when standard output was closed when the process started (see the
/// module docs).
pub fn closed_at_start() -> bool {
    // A use of the entry: keeps it, and so the constructor, in the binary.
    #[cfg(target_os = "linux")]
    std::hint::black_box(&LOOK);
    CLOSED_AT_START.load(Ordering::Relaxed)
}

/// True when standard error was closed when the process started: what
/// mr says there (its errors too) is lost, and only its exit status tells.
pub fn stderr_closed_at_start() -> bool {
    #[cfg(target_os = "linux")]
    std::hint::black_box(&LOOK);
    STDERR_CLOSED_AT_START.load(Ordering::Relaxed)
}

/// True when standard input was closed when the process started: read as
/// an input, it is the runtime's `/dev/null`, an empty input that a run
/// would publish as a complete, empty output.
pub fn stdin_closed_at_start() -> bool {
    #[cfg(target_os = "linux")]
    std::hint::black_box(&LOOK);
    STDIN_CLOSED_AT_START.load(Ordering::Relaxed)
}

/// A usage error (exit 2) when standard output was closed when mr started
/// (see the module docs), saying that `what` (`mr jobs prints the list of
/// jobs`) would be lost there, and what to do instead: `instead` (`, or
/// ...`) after giving it a file or a pipe (`> to`).
pub fn refuse_if_closed(what: &str, to: &str, instead: &str) -> anyhow::Result<()> {
    if closed_at_start() {
        crate::usage!(
            "standard output is closed (EBADF: closed when mr started, as with >&-), and \
             {what} there, which would be lost: give it a file or a pipe (> {to}){instead}"
        );
    }
    Ok(())
}

/// Whether `path` names mr's standard output itself: `-`, `/dev/stdout`,
/// `/dev/fd/1`, `/proc/self/fd/1`, or a symlink to one of them (followed
/// link by link, never past fd 1: what fd 1 is open on does not matter).
///
/// ```
/// use mr_cli::closed_stdout::names_stdout;
/// use std::path::Path;
/// assert!(names_stdout(Path::new("-")));
/// assert!(names_stdout(Path::new("/dev/stdout")));
/// assert!(names_stdout(Path::new("/dev/fd/1")));
/// assert!(!names_stdout(Path::new("/dev/stderr")));
/// assert!(!names_stdout(Path::new("/dev/null")));
/// assert!(!names_stdout(Path::new("run.json")));
/// ```
pub fn names_stdout(path: &std::path::Path) -> bool {
    path == std::path::Path::new("-") || names_fd(path, 1)
}

/// Whether `path` names mr's file descriptor `fd` (`/dev/fd/FD`,
/// `/proc/self/fd/FD`, `/dev/stderr` for 2, or a symlink to one of them),
/// as [`names_stdout`] tells it for 1.
///
/// ```
/// use mr_cli::closed_stdout::names_fd;
/// use std::path::Path;
/// assert!(names_fd(Path::new("/dev/stderr"), 2));
/// assert!(names_fd(Path::new("/proc/self/fd/2"), 2));
/// assert!(!names_fd(Path::new("/dev/stdout"), 2));
/// assert!(!names_fd(Path::new("-"), 2));
/// ```
pub fn names_fd(path: &std::path::Path, fd: u32) -> bool {
    let fd = fd.to_string();
    let fd_dir = std::path::PathBuf::from(format!("/proc/{}/fd", std::process::id()));
    let is_fd_dir = |dir: &std::path::Path| {
        std::fs::canonicalize(dir).is_ok_and(|d| {
            d == fd_dir
                || (d.starts_with(format!("/proc/{}/task", std::process::id()))
                    && d.ends_with("fd"))
        })
    };
    let mut at = path.to_path_buf();
    // As many links as the kernel follows (ELOOP past 40).
    for _ in 0..40 {
        let dir = mr_core::paths::dir_of(&at).to_path_buf();
        if at.file_name().is_some_and(|n| *n == *fd) && is_fd_dir(&dir) {
            return true;
        }
        match std::fs::read_link(&at) {
            Ok(to) => at = dir.join(to),
            Err(_) => return false,
        }
    }
    false
}
