//! A run's temp dir (`mr-job-*` under `--tmp-dir`), marked with its owner,
//! and the removal of temp dirs whose owner died.
//!
//! Each temp dir holds `owner.lock`, locked for the run's life (see
//! [`crate::lock`]). A run that ends normally removes its temp dir; one that
//! is killed (SIGKILL, OOM killer, power cut) cannot. So each run first looks
//! at the other temp dirs in the same place: one whose lock can be taken
//! belongs to a dead run and is removed, and the run says on stderr how much
//! it freed. A live run's dir is never touched, so concurrent runs on one
//! temp dir are safe. Dirs without `owner.lock` (from older versions of mr)
//! are left alone.

use crate::error::{Error, Result};
use crate::lock::OwnerLock;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefixes of the temp dirs mr makes (local runner, Hadoop emulator).
pub const PREFIXES: [&str; 2] = ["mr-job-", "mr-emulate-"];
/// The owner's lock file in a temp dir.
pub const OWNER_LOCK: &str = "owner.lock";

/// A temp dir owned by this run: removed when dropped.
#[derive(Debug)]
pub struct WorkDir {
    // Field order: the dir goes first, then the lock is released.
    dir: tempfile::TempDir,
    _lock: OwnerLock,
}

impl WorkDir {
    /// Removes dead runs' temp dirs in `root` (see [`remove_stale`]), then
    /// creates `root/PREFIX-XXXXXX/` with its owner lock.
    pub fn create(root: &Path, prefix: &str) -> Result<WorkDir> {
        fs::create_dir_all(root).map_err(|e| Error::io("creating", root, e))?;
        let (n, bytes) = remove_stale(root);
        if n > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "mr: removed {n} stale temp dir{} of dead runs ({}) from {}",
                if n == 1 { "" } else { "s" },
                human_bytes(bytes),
                root.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(root)
            .map_err(|e| Error::io("creating temp dir in", root, e))?;
        let lock_path = dir.path().join(OWNER_LOCK);
        let lock =
            OwnerLock::create_held(&lock_path).map_err(|e| Error::io("creating", &lock_path, e))?;
        Ok(WorkDir { dir, _lock: lock })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes the temp dirs in `root` whose owner is dead; returns how many
/// and their size in bytes. Errors are ignored: this is housekeeping.
///
/// ```
/// use mr_core::runner::workdir::{remove_stale, WorkDir};
/// let root = tempfile::tempdir().unwrap();
/// let live = WorkDir::create(root.path(), "mr-job-").unwrap();
/// std::fs::write(live.path().join("spill"), vec![0u8; 1000]).unwrap();
/// assert_eq!(remove_stale(root.path()).0, 0); // its owner is alive: kept
/// assert!(live.path().exists());
/// ```
pub fn remove_stale(root: &Path) -> (u64, u64) {
    let Ok(entries) = fs::read_dir(root) else {
        return (0, 0);
    };
    let (mut n, mut bytes) = (0, 0);
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = e.path();
        // Held while removing, so two runs do not remove the same dir.
        let Ok(Some(_dead)) = OwnerLock::take_if_dead(&dir.join(OWNER_LOCK)) else {
            continue;
        };
        let size = disk_usage(&dir);
        if remove_lock_last(&dir).is_ok() {
            n += 1;
            bytes += size;
        }
    }
    (n, bytes)
}

/// Removes a dead run's temp dir, its owner lock last: a run killed while
/// removing it leaves the lock, so the next run removes the rest (a dir
/// without a lock is taken for one being created, and left alone).
fn remove_lock_last(dir: &Path) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_name() == OWNER_LOCK {
            continue;
        }
        if e.file_type()?.is_dir() {
            fs::remove_dir_all(e.path())?;
        } else {
            fs::remove_file(e.path())?;
        }
    }
    fs::remove_file(dir.join(OWNER_LOCK))?;
    fs::remove_dir(dir)
}

/// Bytes under `path` (files only; symlinks not followed).
pub fn disk_usage(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack: Vec<PathBuf> = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(entries) = fs::read_dir(&p) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// `312 MB`, `1.5 GB`, `12 KB` (powers of 1024, as `du -h` shows them).
///
/// ```
/// use mr_core::runner::workdir::human_bytes;
/// assert_eq!(human_bytes(312 << 20), "312 MB");
/// assert_eq!(human_bytes(1536 << 20), "1.5 GB");
/// assert_eq!(human_bytes(10), "10 bytes");
/// ```
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 && v.fract() >= 0.05 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_owners_dirs_go_live_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let live = WorkDir::create(root.path(), "mr-job-").unwrap();
        // A dead run's dir: its lock file exists but nobody holds it.
        let dead = root.path().join("mr-job-dead01");
        fs::create_dir_all(dead.join("spill-0")).unwrap();
        fs::write(dead.join("spill-0/spill-x"), vec![1u8; 5000]).unwrap();
        fs::write(dead.join(OWNER_LOCK), "12345\n").unwrap();
        // An older mr's dir (no lock file) and someone else's dir.
        fs::create_dir(root.path().join("mr-job-old")).unwrap();
        fs::create_dir(root.path().join("keep-me")).unwrap();
        let (n, bytes) = remove_stale(root.path());
        assert_eq!(n, 1);
        assert!(bytes >= 5000, "{bytes}");
        assert!(!dead.exists());
        assert!(live.path().exists());
        assert!(root.path().join("mr-job-old").exists());
        assert!(root.path().join("keep-me").exists());
        let p = live.path().to_path_buf();
        drop(live);
        assert!(!p.exists());
    }
}
