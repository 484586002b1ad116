//! A plain file's bytes read where the page cache holds them (`mmap`), not
//! copied out of the kernel first.
//!
//! Reading a plain log with `read(2)` copies every byte from the page cache
//! into a buffer before the job looks at it: on a warm cache that copy was
//! 11% of url_views' CPU. A [`Window`] maps a range of the file instead, and
//! the line reader hands out lines from the mapping itself
//! ([`super::lines::LineReader`]).
//!
//! The danger of a mapping is a file cut short while it is mapped (a log
//! truncated in place, logrotate's `copytruncate`): touching a page past the
//! file's new end raises `SIGBUS`, which kills the process. So does a page
//! the device fails to read (EIO). Here that signal is caught: a fault
//! inside a live window maps zero pages over the rest of the window, marks
//! it cut ([`Window::was_cut`]), and lets the read go on; the reader then
//! fails the task, as the file having changed while it was read (it is
//! shorter than the window now) or as a read error (it is not), as a
//! `read(2)` that ends early or fails does. A fault anywhere else goes to
//! the handler that was there before (the process dies as it would have);
//! a `SIGBUS` sent by a process is ignored, as std's handler ignored one.
//!
//! Mapping is used on Linux only, for regular files; [`Window::map`] answers
//! `None` wherever it cannot map (another system, a file system that cannot,
//! no free slot), and the caller reads as before.
#![allow(unsafe_code)]

use std::fs::File;

/// Bytes of a file mapped at a time: lines are read from one window, the
/// next one mapped from the page of the first unread line.
pub const WINDOW_BYTES: usize = 4 << 20;

/// How far ahead of the line it returns a reader prefetches
/// ([`Window::prefetch`]). 2, 4, 8 and 16 KiB measured the same
/// (url_views, 1 GB, `bench/ab.sh`); 4 KiB is a page.
pub const PREFETCH_AHEAD: usize = 4 << 10;

/// A range of a file mapped read-only, registered with the `SIGBUS` handler
/// while it lives.
///
/// ```
/// use mr_core::input::mapped::Window;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.log");
/// std::fs::write(&path, b"one\ntwo\nthree\n").unwrap();
/// let file = std::fs::File::open(&path).unwrap();
/// if let Some(w) = Window::map(&file, 4, 100) {
///     // From the page of byte 4 to the file's end (its length is clipped).
///     assert_eq!(&w.bytes()[w.skip()..], b"two\nthree\n");
///     assert_eq!(w.offset() + w.skip() as u64, 4);
///     assert!(!w.was_cut());
/// }
/// ```
pub struct Window {
    #[cfg(target_os = "linux")]
    inner: linux::Mapping,
    skip: usize,
}

impl Window {
    /// Maps `len` bytes of `file` from byte `at` (clipped to the file's
    /// size), from the start of the page that holds `at`: [`Self::skip`]
    /// bytes before `at` come first. `None` when it cannot (not Linux, not
    /// a regular file, nothing to map, the system refused).
    pub fn map(file: &File, at: u64, len: usize) -> Option<Window> {
        #[cfg(target_os = "linux")]
        {
            let (inner, skip) = linux::Mapping::new(file, at, len)?;
            Some(Window { inner, skip })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (file, at, len);
            None
        }
    }

    /// The mapped bytes, from the page that holds the byte asked for.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        #[cfg(target_os = "linux")]
        {
            self.inner.bytes()
        }
        #[cfg(not(target_os = "linux"))]
        {
            &[]
        }
    }

    /// Asks the CPU to bring `len` bytes from byte `at` of [`Self::bytes`]
    /// into its cache (those within the window), ahead of their reading.
    ///
    /// A page cache page read through a mapping is read where it lies, in
    /// memory the hardware prefetcher follows only within a 4 KiB page:
    /// without this, the first look at each line (its newline) waited on
    /// memory, and the mapping saved half of what the copy cost.
    #[inline(always)]
    pub fn prefetch(&self, at: usize, len: usize) {
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        {
            let b = self.inner.bytes();
            let end = b.len().min(at.saturating_add(len));
            let mut i = at;
            while i < end {
                use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                // SAFETY: a prefetch of a byte within the mapping: a hint
                // that reads nothing the program sees, and never faults.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(b.as_ptr().add(i).cast::<i8>()) };
                i += 64;
            }
        }
        #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
        let _ = (at, len);
    }

    /// How many of [`Self::bytes`] come before the byte asked for.
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// The offset in the file of the first of [`Self::bytes`].
    pub fn offset(&self) -> u64 {
        #[cfg(target_os = "linux")]
        {
            self.inner.offset
        }
        #[cfg(not(target_os = "linux"))]
        {
            0
        }
    }

    /// True once a page of the window could not be read: past the file's
    /// end (the file was cut short while mapped), or a read error of the
    /// device (the same signal); the bytes from there read as zeros, and
    /// what was read of the window cannot be trusted.
    pub fn was_cut(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.inner.was_cut()
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Live windows at most (a map task has one at a time); a window asked
    /// for beyond them is not mapped (the caller reads instead).
    const SLOTS: usize = 256;

    /// A live window's address range, for the `SIGBUS` handler. `end` is
    /// set after `start` and cleared before the unmapping, so the handler
    /// never sees a range that is not mapped.
    struct Slot {
        start: AtomicUsize,
        end: AtomicUsize,
        cut: AtomicBool,
    }

    /// 1 in `start`: a slot being taken or given back (`end` is 0 then).
    const TAKEN: usize = 1;

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Slot = Slot {
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        cut: AtomicBool::new(false),
    };
    static SLOT: [Slot; SLOTS] = [FREE; SLOTS];
    static PAGE: AtomicUsize = AtomicUsize::new(0);

    /// The `SIGBUS` action before ours, for faults that are not ours, or
    /// `None` when ours could not be installed (then nothing is mapped).
    struct Previous(libc::sigaction);
    // SAFETY: a plain C struct of numbers, a mask and function pointers,
    // written once before it is shared and only read after.
    unsafe impl Sync for Previous {}
    unsafe impl Send for Previous {}
    static PREVIOUS: OnceLock<Option<Previous>> = OnceLock::new();

    pub(super) struct Mapping {
        ptr: *mut libc::c_void,
        len: usize,
        slot: usize,
        pub(super) offset: u64,
    }

    // SAFETY: the mapping is read-only memory that no one else frees; the
    // pointer is only read through `bytes`, and unmapped once, in `drop`.
    unsafe impl Send for Mapping {}
    unsafe impl Sync for Mapping {}

    impl Mapping {
        pub(super) fn new(file: &File, at: u64, len: usize) -> Option<(Mapping, usize)> {
            let page = handler_installed()?;
            let meta = file.metadata().ok()?;
            if !meta.file_type().is_file() {
                return None;
            }
            let offset = at - at % page as u64;
            let skip = (at - offset) as usize;
            let len = usize::try_from(meta.len().checked_sub(offset)?)
                .ok()?
                .min(len.checked_add(skip)?);
            if len <= skip {
                return None;
            }
            let slot = take_slot()?;
            let file_offset = libc::off_t::try_from(offset).ok();
            let ptr = match file_offset {
                // SAFETY: a new read-only shared mapping of `len` bytes of an
                // open file, at an address the kernel picks: no memory of
                // ours is touched. Truncation later is the SIGBUS handled
                // below.
                Some(o) => unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        libc::PROT_READ,
                        libc::MAP_SHARED,
                        file.as_raw_fd(),
                        o,
                    )
                },
                None => libc::MAP_FAILED,
            };
            if ptr == libc::MAP_FAILED {
                give_back(slot);
                return None;
            }
            // SAFETY: advice on our own mapping; its failure changes nothing.
            unsafe { libc::madvise(ptr, len, libc::MADV_WILLNEED) };
            let s = &SLOT[slot];
            s.cut.store(false, Ordering::Release);
            s.start.store(ptr as usize, Ordering::Release);
            s.end.store(ptr as usize + len, Ordering::Release);
            Some((
                Mapping {
                    ptr,
                    len,
                    slot,
                    offset,
                },
                skip,
            ))
        }

        #[inline]
        pub(super) fn bytes(&self) -> &[u8] {
            // SAFETY: `len` readable bytes at `ptr` until `drop` unmaps
            // them; a page the file no longer has is replaced by zeros (the
            // handler), so a read never faults for good.
            unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
        }

        pub(super) fn was_cut(&self) -> bool {
            SLOT[self.slot].cut.load(Ordering::Acquire)
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            let s = &SLOT[self.slot];
            s.end.store(0, Ordering::Release);
            // SAFETY: our own mapping, unmapped once; no slice of it
            // outlives `self` (`bytes` borrows it).
            unsafe { libc::munmap(self.ptr, self.len) };
            give_back(self.slot);
        }
    }

    fn take_slot() -> Option<usize> {
        (0..SLOTS).find(|&i| {
            SLOT[i]
                .start
                .compare_exchange(0, TAKEN, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
    }

    fn give_back(slot: usize) {
        SLOT[slot].end.store(0, Ordering::Release);
        SLOT[slot].start.store(0, Ordering::Release);
    }

    /// Installs the `SIGBUS` handler once; the page size, or `None` if it
    /// could not be installed.
    fn handler_installed() -> Option<usize> {
        PREVIOUS.get_or_init(|| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let page = usize::try_from(page).ok().filter(|p| p.is_power_of_two())?;
            PAGE.store(page, Ordering::Release);
            // SAFETY: zeroed sigaction structs are valid (empty masks, no
            // flags); ours points at `on_sigbus`, whose signature is the
            // SA_SIGINFO one, and `previous` receives the old action.
            unsafe {
                let mut ours: libc::sigaction = std::mem::zeroed();
                ours.sa_sigaction = on_sigbus as *const () as usize;
                // On the thread's alternate stack where it has one (Rust
                // gives its threads one), as std's own handler runs.
                ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut ours.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGBUS, &ours, &mut previous) != 0 {
                    return None;
                }
                Some(Previous(previous))
            }
        });
        PREVIOUS.get()?.as_ref()?;
        Some(PAGE.load(Ordering::Acquire))
    }

    /// Sets errno back to the value it holds when dropped.
    struct Errno(libc::c_int);

    impl Drop for Errno {
        fn drop(&mut self) {
            // SAFETY: as above, the calling thread's errno.
            unsafe { *libc::__errno_location() = self.0 };
        }
    }

    /// The `SIGBUS` handler. A fault in a live window (its file cut short
    /// under it) maps zero pages from the faulting page to the window's end
    /// and marks the window cut; the read is then retried and finds zeros.
    /// Another fault goes to the previous action; a signal sent by a
    /// process is ignored. Only async-signal-safe calls: atomics, errno,
    /// `mmap`, `sigaction`.
    extern "C" fn on_sigbus(
        _signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        // The code interrupted may be about to read errno: kept as it was.
        // SAFETY: errno's location is the calling thread's, always valid.
        let errno = unsafe { *libc::__errno_location() };
        let _restore = Errno(errno);
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        let page = PAGE.load(Ordering::Acquire);
        if code > 0 && page > 0 {
            for s in &SLOT {
                let end = s.end.load(Ordering::Acquire);
                let start = s.start.load(Ordering::Acquire);
                if start > TAKEN && start <= addr && addr < end {
                    let from = addr & !(page - 1);
                    // SAFETY: the pages replaced are within a live window of
                    // ours (registered until just before it is unmapped, by
                    // the thread that reads it), read-only, and only read.
                    let p = unsafe {
                        libc::mmap(
                            from as *mut libc::c_void,
                            end - from,
                            libc::PROT_READ,
                            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                            -1,
                            0,
                        )
                    };
                    if p != libc::MAP_FAILED {
                        s.cut.store(true, Ordering::Release);
                        return;
                    }
                }
            }
        }
        // A signal sent by a process (`kill -BUS`, code <= 0) is no fault:
        // ignored, as std's handler ignored one, and this handler stays, so
        // that a file cut under a window later is still caught.
        if code <= 0 {
            return;
        }
        // A fault not in a window of ours: the previous action takes it
        // (the fault happens again when this returns, now to that action,
        // and the process dies as it would have).
        if let Some(Some(Previous(previous))) = PREVIOUS.get() {
            // SAFETY: restoring the action saved at installation.
            unsafe { libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()) };
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_file_cut_short_while_mapped_reads_as_zeros_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let data: Vec<u8> = (0..64 * 4096).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let w = Window::map(&file, 0, data.len()).expect("mapped");
        assert_eq!(w.bytes(), &data[..]);
        // Cut to 10 pages and a half: the pages after it fault.
        let cut = 10 * 4096 + 2048;
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let bytes = w.bytes();
        assert_eq!(&bytes[..cut], &data[..cut]);
        assert!(
            !w.was_cut(),
            "the last page is zero-filled past the end, not a fault"
        );
        assert!(bytes[11 * 4096..].iter().all(|&b| b == 0));
        assert!(w.was_cut());
        // Another window of the same file is not marked.
        let other = Window::map(&file, 0, 4096).expect("mapped");
        assert!(!other.was_cut());
    }

    /// A SIGBUS sent by a process is ignored, and the handler stays: a
    /// file cut under a window later is still caught, not a "Bus error"
    /// (probe /tmp/probe6-mmap repro 04).
    #[test]
    fn a_sent_sigbus_leaves_the_handler_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, vec![b'x'; 8 * 4096]).unwrap();
        let file = File::open(&path).unwrap();
        let w = Window::map(&file, 0, 8 * 4096).expect("mapped");
        // SAFETY: raise has no preconditions; the handler is installed.
        assert_eq!(unsafe { libc::raise(libc::SIGBUS) }, 0);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(4096)
            .unwrap();
        assert!(w.bytes()[4096..].iter().all(|&b| b == 0));
        assert!(w.was_cut());
    }

    #[test]
    fn a_window_starts_at_its_page_and_ends_at_the_files_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let data: Vec<u8> = (0..3 * 4096 + 10).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let w = Window::map(&file, 4096 + 7, 1 << 20).expect("mapped");
        assert_eq!(w.offset() + w.skip() as u64, 4096 + 7);
        assert_eq!(w.bytes(), &data[w.offset() as usize..]);
        assert!(Window::map(&file, data.len() as u64, 10).is_none());
        assert!(Window::map(&File::open("/dev/null").unwrap(), 0, 10).is_none());
    }
}
