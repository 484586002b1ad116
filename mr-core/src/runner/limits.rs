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

/// The open-files limit, after raising the soft limit to the hard one (as
/// most build tools and databases do); `None` when unlimited.
pub fn open_files_limit() -> Option<u64> {
    let lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
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
             thread{}: it takes at least {needed}; raise it (ulimit -n 1024){fewer}",
            if threads == 1 { "" } else { "s" }
        )));
    }
    Ok(requested.min(usize::try_from(fit).unwrap_or(usize::MAX)))
}
