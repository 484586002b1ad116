//! Bounds that keep a run's memory, file count and open files in check,
//! whatever the settings: the number of splits a step is cut into, and the
//! merge fan-in under the open-files limit (`ulimit -n`).

use crate::error::{Error, Result};
use rustix::process::{Resource, getrlimit, setrlimit};

/// The most splits a step's plain files are cut into. Each split is a map
/// task with at least one spill file alive until the reduce, so a tiny
/// `--chunksize` on a large input would otherwise mean millions of tasks and
/// files. 1024 splits of the default 64 MiB are 64 GiB: past that, splits
/// grow (to 1 GiB for 1 TiB, still plenty of tasks for every core).
pub const MAX_SPLITS: u64 = 1024;

/// File descriptors kept out of the merge fan-in: stdio, locks, inputs, part
/// and spill files being written, the thread pool.
const RESERVED_FDS: u64 = 32;

/// The split size to use: `chunk_size`, raised so that `total_bytes` make at
/// most [`MAX_SPLITS`] splits.
///
/// ```
/// use mr_core::runner::limits::{split_size, MAX_SPLITS};
/// assert_eq!(split_size(64 << 20, 1 << 30), 64 << 20);
/// let s = split_size(10, 200 << 20);
/// assert!((200u64 << 20).div_ceil(s) <= MAX_SPLITS);
/// assert_eq!(split_size(7, 1000), 7); // small inputs keep tiny splits
/// ```
pub fn split_size(chunk_size: u64, total_bytes: u64) -> u64 {
    chunk_size.max(total_bytes.div_ceil(MAX_SPLITS)).max(1)
}

/// The memory this process may use when a cgroup limits it (a container,
/// a Kubernetes pod, a batch scheduler's slot, `systemd-run -p MemoryMax`):
/// the smallest `memory.max` (cgroup v2) or `memory.limit_in_bytes` (v1)
/// along its cgroup's path; `None` when nothing does. The OOM killer ends a
/// run past it with no word (exit 137), so the default sort buffer is sized
/// to it ([`default_sort_buffer`]).
pub fn memory_limit() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_memory_limit(&cgroups, |p| std::fs::read_to_string(p).ok())
}

/// The memory a run may plan for under an address-space limit (`ulimit -v`,
/// as batch schedulers and some containers set it): a quarter of it, the
/// rest for what a process maps without using (its code, thread stacks,
/// malloc's arenas of 64 MiB, two of them: [`tune_malloc`]);
/// `None` when there is none. Past
/// it an allocation fails, and Rust aborts the run (probe
/// /tmp/probe3-memory repro 04: SIGABRT under `ulimit -v 600000` with the
/// 256 MiB default buffer).
pub fn address_space_budget() -> Option<u64> {
    getrlimit(Resource::As).current.map(|l| l / 4)
}

/// The stack of a worker thread, which runs job code: the main thread's
/// (`ulimit -s`, 8 MiB by default, within 2 to 64 MiB), on which a Hadoop
/// or Spark task runs the same code. Rust's 2 MiB for threads made a
/// recursive mapper overflow on the local runner alone (probe
/// /tmp/probe11-jobs repro 04). `None` (Rust's default) when
/// `RUST_MIN_STACK` says otherwise, or under an address-space limit, where
/// each thread's stack counts whole.
pub fn worker_stack_bytes() -> Option<usize> {
    if std::env::var_os("RUST_MIN_STACK").is_some() || getrlimit(Resource::As).current.is_some() {
        return None;
    }
    let main = getrlimit(Resource::Stack).current.unwrap_or(8 << 20);
    Some(
        usize::try_from(main)
            .unwrap_or(usize::MAX)
            .clamp(2 << 20, 64 << 20),
    )
}

/// glibc's `mmap` threshold, fixed by [`tune_malloc`]: larger blocks are
/// mapped, and given back to the system when freed.
pub const MMAP_THRESHOLD: usize = 1 << 20;

/// Tunes glibc's malloc for a run's memory bound; returns whether it did
/// (not on another C library). Call it before any thread starts.
///
/// - The `mmap` threshold is fixed at [`MMAP_THRESHOLD`]. By default glibc
///   raises it to the size of each mapped block freed (up to 32 MiB), so
///   that a fold table's arrays, freed as the table grows or flushes, are
///   next taken from, and kept in, each thread's heap: word_count with a
///   3-million-word vocabulary peaked at 501 MB at `-j 12` and 644 MB at
///   `-j 24 --sort-buffer-mb 384`, past the sort buffer + 150 MB bound
///   (probe /tmp/probe7-scale repro 03); fixed, 356 and 490 MB, in the same
///   time.
/// - Under an address-space limit (`ulimit -v`), malloc keeps to two
///   arenas. glibc gives each thread that allocates an arena of its own, up
///   to 8 per core, each reserving 64 MiB of address space: with 8 worker
///   threads and their helpers that was more than a 500 MB limit held, and
///   a run with the default settings aborted ("memory allocation of N bytes
///   failed", probe /tmp/probe7-env repro 01).
pub fn tune_malloc() -> bool {
    let limited = getrlimit(Resource::As).current.is_some();
    set_malloc(MMAP_THRESHOLD, limited.then_some(2))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_malloc(mmap_threshold: usize, arenas: Option<i32>) -> bool {
    let threshold = i32::try_from(mmap_threshold).unwrap_or(i32::MAX);
    // SAFETY: mallopt only sets tunables of glibc's allocator, under its
    // own lock; M_MMAP_THRESHOLD takes up to 32 MiB on 64-bit, M_ARENA_MAX
    // any positive count.
    unsafe {
        let threshold_set = libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) == 1;
        let arenas_set = arenas.is_none_or(|n| libc::mallopt(libc::M_ARENA_MAX, n) == 1);
        threshold_set && arenas_set
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_malloc(_mmap_threshold: usize, _arenas: Option<i32>) -> bool {
    false
}

/// The memory a run plans for, and what sets it: the cgroup's limit
/// ([`memory_limit`]) or a quarter of `ulimit -v`
/// ([`address_space_budget`]), the smaller; `None` when neither is set.
pub fn memory_budget() -> Option<(u64, &'static str)> {
    let cgroup = memory_limit().map(|l| (l, "the cgroup's"));
    let address = address_space_budget().map(|l| (l, "a quarter of ulimit -v"));
    cgroup.into_iter().chain(address).min_by_key(|&(l, _)| l)
}

/// [`memory_limit`] from the text of `/proc/self/cgroup` and a reader of
/// the cgroup file system's files.
///
/// ```
/// use mr_core::runner::limits::cgroup_memory_limit;
/// use std::path::Path;
/// let v2 = |p: &Path| match p.to_str()? {
///     "/sys/fs/cgroup/pod/memory.max" => Some("268435456\n".to_string()),
///     "/sys/fs/cgroup/pod/job/memory.max" => Some("max\n".to_string()),
///     _ => None,
/// };
/// assert_eq!(cgroup_memory_limit("0::/pod/job\n", v2), Some(256 << 20));
/// let v1 = |p: &Path| match p.to_str()? {
///     "/sys/fs/cgroup/memory/memory.limit_in_bytes" => Some("9223372036854771712".to_string()),
///     "/sys/fs/cgroup/memory/slot/memory.limit_in_bytes" => Some("419430400".to_string()),
///     _ => None,
/// };
/// assert_eq!(cgroup_memory_limit("4:memory:/slot\n1:cpu:/\n", v1), Some(400 << 20));
/// assert_eq!(cgroup_memory_limit("4:memory:/\n", v1), None); // v1's "unlimited"
/// ```
pub fn cgroup_memory_limit(
    proc_self_cgroup: &str,
    read: impl Fn(&std::path::Path) -> Option<String>,
) -> Option<u64> {
    use std::path::Path;
    let cgroups = proc_self_cgroup.lines().filter_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (root, file) = match controllers {
            "" => ("/sys/fs/cgroup", "memory.max"),
            c if c.split(',').any(|c| c == "memory") => {
                ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
            }
            _ => return None,
        };
        Some((root, file, path))
    });
    // The cgroup and each of its parents: any of them may hold the limit
    // (in a container, the cgroup's own path is often not mounted, and the
    // container's limit is at the root).
    let read = &read;
    cgroups
        .flat_map(|(root, file, path)| {
            Path::new(path).ancestors().filter_map(move |dir| {
                let rel = dir.strip_prefix("/").unwrap_or(dir);
                read(&Path::new(root).join(rel).join(file))?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        // v1 writes "unlimited" as a number near 2^63.
        .filter(|&l| l < 1 << 60)
        .min()
}

/// The sort buffer of a run that names none: [`DEFAULT_SORT_BUFFER`], or
/// half of a memory `limit` when that is less (the rest for the reading,
/// the merge and the heap's slack: a 256 MiB buffer peaks near 280 MB).
///
/// ```
/// use mr_core::runner::limits::default_sort_buffer;
/// use mr_core::config::DEFAULT_SORT_BUFFER;
/// assert_eq!(default_sort_buffer(None), DEFAULT_SORT_BUFFER);
/// assert_eq!(default_sort_buffer(Some(8 << 30)), DEFAULT_SORT_BUFFER);
/// assert_eq!(default_sort_buffer(Some(256 << 20)), 128 << 20);
/// assert_eq!(default_sort_buffer(Some(16 << 20)), 8 << 20);
/// ```
///
/// [`DEFAULT_SORT_BUFFER`]: crate::config::DEFAULT_SORT_BUFFER
pub fn default_sort_buffer(limit: Option<u64>) -> u64 {
    let default = crate::config::DEFAULT_SORT_BUFFER;
    limit.map_or(default, |l| default.min(l / 2).max(1 << 20))
}

/// The default longest line (`--max-line-mb`) under a memory `limit` (see
/// [`memory_budget`]): [`DEFAULT_MAX_LINE_BYTES`], or a quarter of the
/// limit when that is less (at least 1 MiB). A line is held whole, and a
/// job may decode it into several times its size.
///
/// ```
/// use mr_core::runner::limits::default_max_line;
/// use mr_core::input::lines::DEFAULT_MAX_LINE_BYTES;
/// assert_eq!(default_max_line(None), DEFAULT_MAX_LINE_BYTES as u64);
/// assert_eq!(default_max_line(Some(8 << 30)), DEFAULT_MAX_LINE_BYTES as u64);
/// assert_eq!(default_max_line(Some(100 << 20)), 25 << 20);
/// assert_eq!(default_max_line(Some(2 << 20)), 1 << 20);
/// ```
///
/// [`DEFAULT_MAX_LINE_BYTES`]: crate::input::lines::DEFAULT_MAX_LINE_BYTES
pub fn default_max_line(limit: Option<u64>) -> u64 {
    let default = crate::input::lines::DEFAULT_MAX_LINE_BYTES as u64;
    limit.map_or(default, |l| default.min(l / 4).max(1 << 20))
}

/// The open-files limit, after raising the soft limit to the hard one (as
/// most build tools and databases do); `None` when unlimited.
pub fn open_files_limit() -> Option<u64> {
    open_files_limit_for(u64::MAX)
}

/// The open-files limit for a run that would hold up to `needed` files:
/// the soft limit, raised to the hard one only when it is below `needed`,
/// so that a process embedding mr keeps its limit unless a run needs more
/// (probe /tmp/probe19-api repro 06: every run raised it, and the
/// process's later children inherited it); `None` when unlimited.
///
/// ```
/// use mr_core::runner::limits::open_files_limit_for;
/// let before = open_files_limit_for(0);
/// assert_eq!(open_files_limit_for(16), before);
/// ```
pub fn open_files_limit_for(needed: u64) -> Option<u64> {
    let lim = getrlimit(Resource::Nofile);
    if lim.current.is_some_and(|soft| soft < needed) && lim.current < lim.maximum {
        let raised = rustix::process::Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return lim.maximum;
        }
    }
    lim.current
}

/// The read buffers of the runs merging at once, in all threads, at most:
/// each run read has one ([`crate::shuffle::spill::READ_BUFFER_BYTES`]),
/// none of it in the sort buffer.
pub const MERGE_MEMORY: usize = 64 << 20;

/// The merge fan-in `requested`, lowered so that `threads` reduce tasks
/// merging at once hold at most [`MERGE_MEMORY`] of read buffers (at least
/// 2): with `-j 64`, 64 tasks of 64 runs held 256 MiB beside a 1 MiB sort
/// buffer (probe /tmp/probe3-memory repro 05). Two threads keep 64.
///
/// ```
/// use mr_core::runner::limits::fan_in_for_memory;
/// assert_eq!(fan_in_for_memory(64, 2), 64);
/// assert_eq!(fan_in_for_memory(64, 64), 16);
/// assert_eq!(fan_in_for_memory(64, 4096), 2);
/// ```
pub fn fan_in_for_memory(requested: usize, threads: usize) -> usize {
    let per_thread = MERGE_MEMORY / threads.max(1) / crate::shuffle::spill::READ_BUFFER_BYTES;
    requested.min(per_thread.max(2))
}

/// The files `threads` tasks merging `fan_in` runs each hold open at
/// most, with what the process keeps open beside them ([`fan_in`]'s count).
///
/// ```
/// use mr_core::runner::limits::files_to_merge;
/// assert_eq!(files_to_merge(64, 2), 32 + 2 * 66);
/// ```
pub fn files_to_merge(fan_in: usize, threads: usize) -> u64 {
    RESERVED_FDS + threads.max(1) as u64 * (fan_in as u64 + 2)
}

/// The merge fan-in to use with `threads` reduce tasks merging at once under
/// an open-files limit of `limit`: `requested`, lowered to fit.
///
/// ```
/// use mr_core::runner::limits::fan_in;
/// assert_eq!(fan_in(64, 2, Some(20_000)).unwrap(), 64);
/// assert_eq!(fan_in(64, 2, Some(64)).unwrap(), 14);
/// assert!(fan_in(64, 8, Some(40)).unwrap_err().to_string().contains("ulimit -n"));
/// let one = fan_in(64, 1, Some(20)).unwrap_err().to_string();
/// assert!(one.contains("it takes at least") && !one.contains("-j 1"), "{one}");
/// ```
pub fn fan_in(requested: usize, threads: usize, limit: Option<u64>) -> Result<usize> {
    let Some(limit) = limit else {
        return Ok(requested);
    };
    // Each reduce task holds its runs open, plus the file it writes and its
    // bad-records file.
    let per_task = limit.saturating_sub(RESERVED_FDS) / threads.max(1) as u64;
    let fit = per_task.saturating_sub(2);
    if fit < 2 {
        // The least that merges two runs a task: per thread, two runs, the
        // output and the bad-records file; and what the process keeps open.
        let needed = RESERVED_FDS + 4 * threads.max(1) as u64;
        let fewer = if threads > 1 {
            " or use fewer threads (-j 1)"
        } else {
            ""
        };
        return Err(Error::Config(format!(
            "the open-files limit (ulimit -n) is {limit}, too low to merge with {threads} \
             thread{}: it takes at least {needed}; raise it (ulimit -n {needed}){fewer}",
            if threads == 1 { "" } else { "s" }
        )));
    }
    Ok(requested.min(usize::try_from(fit).unwrap_or(usize::MAX)))
}
