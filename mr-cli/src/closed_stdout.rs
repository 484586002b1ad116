//! Whether standard output was closed when the process started (`mr run
//! word_count -i x.txt >&-`).
//!
//! Rust's runtime, before `main`, opens `/dev/null` on a standard file
//! descriptor (0, 1 or 2) that is closed, so that a later open cannot take
//! its number. Writes to such a stdout then succeed and go nowhere: results
//! printed there are lost with exit 0, where a C program gets EBADF. Only a
//! look before the runtime's can tell, so it is taken from an ELF
//! constructor (`.init_array`, run by the dynamic loader or libc before
//! `main`), on Linux; elsewhere a closed stdout is not seen.
//!
//! A stdout closed by its reader later (`| head -1`, EPIPE) is another
//! matter: a success, see [`crate::main_with`].

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`look`] before `main` when fd 1 was closed.
static CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Looks at fd 1 before Rust's runtime reopens it: EBADF is closed.
#[cfg(target_os = "linux")]
extern "C" fn look() {
    use std::os::fd::AsFd as _;
    // `Stdout::as_fd` is fd 1 itself: nothing of std's is set up by it.
    let closed = rustix::io::fcntl_getfd(std::io::stdout().as_fd()) == Err(rustix::io::Errno::BADF);
    CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

/// The constructor's entry. Its only work is one `fcntl(1, F_GETFD)`
/// through rustix and an atomic store: nothing that needs the runtime, the
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
