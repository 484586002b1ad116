//! A run's temp dir (`mr-job-*` under `--tmp-dir`), marked with its owner,
//! and the removal of temp dirs whose owner died.
//!
//! Each temp dir holds `owner.lock`, locked for the run's life (see
//! [`crate::lock`]). A run that ends normally removes its temp dir; one that
//! is killed (SIGKILL, OOM killer, power cut) cannot. So each run first looks
//! at the other temp dirs in the same place: one whose lock can be taken
//! belongs to a dead run and is removed, and the run says on stderr how much
//! it freed. A live run's dir is never touched, so concurrent runs on one
//! temp dir are safe. Only this user's own dirs named as mr names them are
//! swept, never through a link (in a shared `/tmp`, another user's "dead
//! run" could be swapped for a link to a directory of ours). A temp dir is
//! always removed with its lock file last (by its run, by a forced exit, by
//! a later run), so a removal cut short leaves the lock for the next run to
//! find. Dirs without `owner.lock` (from older versions of mr) are left
//! alone, unless they hold no file and are over a minute old (a removal
//! cut between the lock and the dir; a forced exit on FUSE or NFS, which
//! keep a removed file while it is open, so only its dirs stay).

use crate::error::{Error, Result};
use crate::lock::OwnerLock;
use crate::paths::Reading;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Prefixes of the temp dirs mr makes (local runner, Hadoop emulator, `mr
/// check`'s sampled data).
pub const PREFIXES: [&str; 3] = ["mr-job-", "mr-emulate-", "mr-check-"];
/// The owner's lock file in a temp dir.
pub const OWNER_LOCK: &str = "owner.lock";

/// A temp dir owned by this run: removed when dropped, its lock file last
/// (see `remove_lock_last`).
#[derive(Debug)]
pub struct WorkDir {
    dir: PathBuf,
    // Released once the dir is gone; shared with a forced exit's removal.
    lock: Arc<Mutex<Option<OwnerLock>>>,
    // Has a forced exit remove the dir, its lock file last, until dropped:
    // after `Drop` removed it, so that a forced exit that comes while the
    // run cleans up after a stop still finds it listed.
    _forced: crate::cancel::RemoveOnExit,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        remove(&self.dir, &self.lock);
    }
}

/// Removes a temp dir with its lock file last ([`remove_lock_last`]). A
/// file system that keeps a removed file while it is open (FUSE's
/// `.fuse_hidden*`, NFS's `.nfs*`) keeps the lock file, so the dir is not
/// empty then: the lock is closed, and what is left removed (every run
/// that looks for it sees no lock, and skips it).
fn remove(dir: &Path, lock: &Mutex<Option<OwnerLock>>) {
    if remove_lock_last(dir).is_err() {
        // try_lock: a forced exit never waits on the thread it interrupts.
        if let Ok(mut held) = lock.try_lock() {
            drop(held.take());
        }
        let _ = fs::remove_dir_all(dir);
    }
}

impl WorkDir {
    /// Removes dead runs' temp dirs in `root` but those holding a file the
    /// run reads (see [`remove_stale`]), then creates `root/PREFIX-XXXXXX/`
    /// with its owner lock.
    pub fn create(root: &Path, prefix: &str, reading: &Reading) -> Result<WorkDir> {
        if fs::symlink_metadata(root).is_ok() && !root.is_dir() {
            return Err(Error::Config(format!(
                "the temp dir {} is not a directory: give --tmp-dir a directory",
                crate::error::printable_path(root)
            )));
        }
        fs::create_dir_all(root).map_err(|e| Error::io("creating", root, e))?;
        let (n, bytes) = remove_stale(root, reading);
        if n > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "mr: removed {n} stale temp dir{} of dead runs ({}) from {}",
                if n == 1 { "" } else { "s" },
                human_bytes(bytes),
                root.display()
            );
        }
        if let Some(warning) = shared_without_sticky_bit(root) {
            let _ = writeln!(std::io::stderr(), "mr: warning: {warning}");
        }
        // The user's alone (0700), as mktemp -d and Python's mkdtemp make
        // theirs: it holds the data between steps, in a /tmp every user
        // can list.
        let dir = {
            use std::os::unix::fs::PermissionsExt;
            tempfile::Builder::new()
                .prefix(prefix)
                .permissions(fs::Permissions::from_mode(0o700))
                .tempdir_in(root)
        }
        .map_err(|e| Error::io("creating temp dir in", root, e))?;
        let lock_path = dir.path().join(OWNER_LOCK);
        let lock =
            OwnerLock::create_held(&lock_path).map_err(|e| Error::io("creating", &lock_path, e))?;
        let (dir, lock) = (dir.keep(), Arc::new(Mutex::new(Some(lock))));
        let (d, l) = (dir.clone(), lock.clone());
        Ok(WorkDir {
            dir,
            lock,
            _forced: crate::cancel::on_forced_exit(move || remove(&d, &l)),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

/// A warning when other users may rename or remove what is in `root`: a
/// directory they may write without the sticky bit (a team's scratch
/// directory, 2775), or one of another user's without it. A run's temp dir
/// there is private (0700) but not safe: another user can move it aside
/// and put one of theirs in its place, which the run would then write its
/// data into.
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use mr_core::runner::workdir::shared_without_sticky_bit;
/// let d = tempfile::tempdir().unwrap();
/// let mode = |m| std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(m)).unwrap();
/// mode(0o755);
/// assert_eq!(shared_without_sticky_bit(d.path()), None);
/// mode(0o1777); // as /tmp
/// assert_eq!(shared_without_sticky_bit(d.path()), None);
/// mode(0o2775);
/// assert!(shared_without_sticky_bit(d.path()).unwrap().contains("chmod +t"));
/// ```
pub fn shared_without_sticky_bit(root: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(root).ok()?;
    let me = rustix::process::geteuid().as_raw();
    let others_write = meta.mode() & 0o022 != 0 || (meta.uid() != me && meta.uid() != 0);
    if !others_write || meta.mode() & 0o1000 != 0 {
        return None;
    }
    Some(format!(
        "the temp dir {} may be written by other users and has no sticky bit: they could \
         move this run's temp dir aside and read or change the data between its steps; \
         give --tmp-dir a directory of your own (or chmod +t it, as /tmp is)",
        root.display()
    ))
}

/// Where temp dirs go when no `--tmp-dir` is given: `$TMPDIR`, or `/tmp`.
/// Unlike a `--tmp-dir`, never created: a `$TMPDIR` that does not exist or
/// is no directory (a scheduler's per-task setting, a scratch disk not
/// mounted, where a created one would fill the root file system) is an
/// error that names it.
///
/// ```
/// let root = mr_core::runner::workdir::default_root().unwrap();
/// assert!(root.is_dir());
/// ```
pub fn default_root() -> Result<PathBuf> {
    // An empty TMPDIR is none (as for mktemp and Python's tempfile).
    let (root, from) = match std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
        Some(t) => (PathBuf::from(t), "$TMPDIR"),
        None => (PathBuf::from("/tmp"), "the system's temp dir"),
    };
    use rustix::fs::{Access, access};
    let why = match fs::metadata(&root) {
        Ok(m) if m.is_dir() => match access(&root, Access::WRITE_OK | Access::EXEC_OK) {
            Ok(()) => return Ok(root),
            // A read-only disk, another user's directory: said now, with
            // where it came from.
            Err(e) => format!("cannot be written ({})", std::io::Error::from(e)),
        },
        Ok(_) => "is not a directory".to_string(),
        Err(e) => format!("cannot be used ({e})"),
    };
    Err(Error::Config(format!(
        "{} ({from}) {why}: set TMPDIR to a directory you may write, or give --tmp-dir DIR",
        crate::error::printable_path(&root)
    )))
}

/// Whether `name` is a temp dir's as mr names them: one of [`PREFIXES`]
/// and six random letters or digits.
///
/// ```
/// use mr_core::runner::workdir::is_work_dir_name;
/// assert!(is_work_dir_name("mr-job-Ab12Cd") && is_work_dir_name("mr-check-x1y2z3"));
/// assert!(!is_work_dir_name("mr-job-notes") && !is_work_dir_name("logs"));
/// ```
pub fn is_work_dir_name(name: &str) -> bool {
    PREFIXES.iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
    })
}

/// Removes the temp dirs in `root` whose owner is dead; returns how many
/// and their size in bytes. Errors are ignored: this is housekeeping.
///
/// ```
/// use mr_core::paths::Reading;
/// use mr_core::runner::workdir::{remove_stale, WorkDir};
/// let root = tempfile::tempdir().unwrap();
/// let live = WorkDir::create(root.path(), "mr-job-", &Reading::default()).unwrap();
/// std::fs::write(live.path().join("spill"), vec![0u8; 1000]).unwrap();
/// assert_eq!(remove_stale(root.path(), &Reading::default()).0, 0); // its owner is alive: kept
/// assert!(live.path().exists());
/// ```
pub fn remove_stale(root: &Path, reading: &Reading) -> (u64, u64) {
    let Ok(entries) = fs::read_dir(root) else {
        return (0, 0);
    };
    let (mut n, mut bytes) = (0, 0);
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_work_dir_name(name) {
            continue;
        }
        // Only this user's dirs, never through a link: in a shared temp
        // dir (/tmp, sticky) nobody else can rename or replace an entry
        // of ours, where another user's "dead run" could be swapped for a
        // link to a directory of ours between the lock and the removal.
        if !e.file_type().is_ok_and(|t| t.is_dir()) || !owned_by_me(&e.path()) {
            continue;
        }
        let dir = e.path();
        if !dir.join(OWNER_LOCK).exists() {
            // A removal cut short between the lock file and the dir; a dir
            // being made is younger.
            let old = |m: fs::Metadata| {
                m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > EMPTY_DIR_AGE)
            };
            // A run killed while it made its lock holds the lock's new
            // file alone (see OwnerLock::create_held): removed once no
            // live process holds it.
            let pending = OwnerLock::being_made(&dir.join(OWNER_LOCK));
            let _dead = match OwnerLock::take_if_dead(&pending) {
                Ok(Some(dead)) => Some(dead),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                _ => continue,
            };
            // Empty, or only empty dirs (a forced exit on FUSE or NFS,
            // where the files still open were kept until the exit).
            if fs::metadata(&dir).is_ok_and(old)
                && holds_no_file(&dir, &old, &pending)
                && fs::remove_dir_all(&dir).is_ok()
            {
                n += 1;
            }
            continue;
        }
        // Held while removing, so two runs do not remove the same dir.
        let Ok(Some(_dead)) = OwnerLock::take_if_dead(&dir.join(OWNER_LOCK)) else {
            continue;
        };
        if !owned_by_me(&dir) {
            continue;
        }
        // A dead run's results given as input (its step files, salvaged).
        if let Some(input) = reading.inside(&dir) {
            let _ = writeln!(
                std::io::stderr(),
                "mr: note: left {}, the temp dir of a dead run, in place: it holds {}, an \
                 input of this run",
                crate::error::printable_path(&dir),
                crate::error::printable_path(input)
            );
            continue;
        }
        let size = disk_usage(&dir);
        if remove_lock_last(&dir).is_ok() {
            n += 1;
            bytes += size;
        }
    }
    (n, bytes)
}

/// Whether nothing under `dir` is anything but a directory (links not
/// followed: a link is something), each of them `old` (none made lately:
/// not a dir a run is filling), or the path `but`.
fn holds_no_file(dir: &Path, old: &impl Fn(fs::Metadata) -> bool, but: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.into_iter().all(|e| {
        e.is_ok_and(|e| {
            e.path() == but
                || (e.file_type().is_ok_and(|t| t.is_dir())
                    && e.metadata().is_ok_and(old)
                    && holds_no_file(&e.path(), old, but))
        })
    })
}

/// Whether `path` itself (not a link's target) is a directory this user
/// owns.
fn owned_by_me(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir() && m.uid() == me)
}

/// How old an empty temp dir without a lock file must be to be removed.
const EMPTY_DIR_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes a temp dir, its owner lock last: a process killed while removing
/// it leaves the lock, so the next run removes the rest (a dir without a
/// lock is taken for one being created, and left alone). The lock goes only
/// once the rest is gone: another thread removing the same dir (a forced
/// exit beside the run's own clean-up) is no error, and a task still
/// writing a file into it is waited for, up to a fifth of a second.
fn remove_lock_last(dir: &Path) -> std::io::Result<()> {
    let gone = |r: std::io::Result<()>| match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    };
    let all_but_lock = || -> std::io::Result<()> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            if e.file_name() == OWNER_LOCK {
                continue;
            }
            gone(match e.file_type() {
                Ok(t) if t.is_dir() => fs::remove_dir_all(e.path()),
                Ok(_) => fs::remove_file(e.path()),
                Err(err) => Err(err),
            })?;
        }
        Ok(())
    };
    let mut tries = 0;
    while let Err(e) = gone(all_but_lock()) {
        tries += 1;
        if tries == 20 {
            return Err(e);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    gone(fs::remove_file(dir.join(OWNER_LOCK)))?;
    gone(fs::remove_dir(dir))
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
        let live = WorkDir::create(root.path(), "mr-job-", &Reading::default()).unwrap();
        // A dead run's dir: its lock file exists but nobody holds it.
        let dead = root.path().join("mr-job-dead01");
        fs::create_dir_all(dead.join("spill-0")).unwrap();
        fs::write(dead.join("spill-0/spill-x"), vec![1u8; 5000]).unwrap();
        fs::write(dead.join(OWNER_LOCK), "12345\n").unwrap();
        // An older mr's dir (no lock file) and someone else's dir.
        fs::create_dir(root.path().join("mr-job-old")).unwrap();
        fs::create_dir(root.path().join("keep-me")).unwrap();
        let (n, bytes) = remove_stale(root.path(), &Reading::default());
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

    /// A removal cut short after the lock file went (by an older mr, or
    /// between the lock and the dir) leaves an empty dir without a lock:
    /// removed once it is old enough not to be one being made.
    #[test]
    fn an_old_empty_dir_without_a_lock_goes() {
        let root = tempfile::tempdir().unwrap();
        let empty = root.path().join("mr-job-cut001");
        fs::create_dir(&empty).unwrap();
        let with_data = root.path().join("mr-job-cut002");
        fs::create_dir_all(with_data.join("step-0")).unwrap();
        fs::write(with_data.join("step-0/spill"), "x").unwrap();
        // A forced exit on FUSE: the files went at the exit, the dirs stayed.
        let dirs_only = root.path().join("mr-job-cut003");
        fs::create_dir_all(dirs_only.join("step-0/spill-1")).unwrap();
        // Old at the top, a dir made just now inside: being filled, kept.
        let fresh_inside = root.path().join("mr-job-cut004");
        fs::create_dir_all(fresh_inside.join("step-1")).unwrap();
        assert_eq!(remove_stale(root.path(), &Reading::default()).0, 0); // young: kept
        let long_ago = std::time::SystemTime::now() - 2 * EMPTY_DIR_AGE;
        let old_dirs = [
            empty.clone(),
            with_data.clone(),
            with_data.join("step-0"),
            dirs_only.join("step-0/spill-1"),
            dirs_only.join("step-0"),
            dirs_only.clone(),
            fresh_inside.clone(),
        ];
        for d in &old_dirs {
            fs::File::open(d).unwrap().set_modified(long_ago).unwrap();
        }
        assert_eq!(remove_stale(root.path(), &Reading::default()).0, 2);
        assert!(!empty.exists() && !dirs_only.exists());
        assert!(with_data.exists(), "not ours to judge: data and no lock");
        assert!(fresh_inside.exists(), "a dir made lately inside");
    }

    /// A run killed inside `OwnerLock::create_held` leaves its dir holding
    /// the lock's new file alone, which no run swept (probe
    /// /tmp/probe4-env): removed once old and held by no one; kept while a
    /// live process holds it.
    #[test]
    fn a_dir_left_holding_only_a_lock_being_made_goes() {
        let root = tempfile::tempdir().unwrap();
        let dead = root.path().join("mr-emulate-H5eVEf");
        let live = root.path().join("mr-emulate-Live01");
        for d in [&dead, &live] {
            fs::create_dir(d).unwrap();
            fs::write(OwnerLock::being_made(&d.join(OWNER_LOCK)), "").unwrap();
        }
        let held = fs::File::open(OwnerLock::being_made(&live.join(OWNER_LOCK))).unwrap();
        rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
        let long_ago = std::time::SystemTime::now() - 2 * EMPTY_DIR_AGE;
        for d in [&dead, &live] {
            fs::File::open(d).unwrap().set_modified(long_ago).unwrap();
        }
        assert_eq!(remove_stale(root.path(), &Reading::default()).0, 1);
        assert!(!dead.exists());
        assert!(live.exists(), "its maker is alive");
    }

    /// In a shared temp dir, a link named as a dead run's dir is never
    /// followed, and another user's dead run's dir is theirs to remove
    /// (a dir of theirs could be swapped for a link to one of ours between
    /// the lock and the removal).
    #[test]
    fn only_this_users_own_dirs_are_swept() {
        use std::os::unix::fs::{MetadataExt, chown};
        let root = tempfile::tempdir().unwrap();
        let victim = root.path().join("victim");
        fs::create_dir(&victim).unwrap();
        fs::write(victim.join(OWNER_LOCK), "1\n").unwrap();
        fs::write(victim.join("precious"), "x").unwrap();
        std::os::unix::fs::symlink(&victim, root.path().join("mr-job-link01")).unwrap();
        assert_eq!(remove_stale(root.path(), &Reading::default()).0, 0);
        assert!(victim.join("precious").exists());
        if rustix::process::geteuid().is_root() {
            let theirs = root.path().join("mr-job-theirs");
            fs::create_dir(&theirs).unwrap();
            fs::write(theirs.join(OWNER_LOCK), "1\n").unwrap();
            chown(&theirs, Some(65534), Some(65534)).unwrap();
            assert_eq!(remove_stale(root.path(), &Reading::default()).0, 0);
            assert!(theirs.join(OWNER_LOCK).exists());
            assert_eq!(fs::metadata(&theirs).unwrap().uid(), 65534);
        }
    }

    /// A temp dir is the user's alone, and a `$TMPDIR` that is no
    /// directory is said as such, not created.
    #[test]
    fn a_temp_dir_is_private_and_tmpdir_is_not_made() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let w = WorkDir::create(root.path(), "mr-job-", &Reading::default()).unwrap();
        let mode = fs::metadata(w.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(default_root().unwrap().is_dir());
    }

    /// Two removals of one dir at once (a forced exit beside the run's own
    /// clean-up) both succeed, and nothing is left.
    #[test]
    fn removing_a_dir_twice_at_once_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let w = WorkDir::create(root.path(), "mr-job-", &Reading::default()).unwrap();
        for i in 0..200 {
            fs::create_dir_all(w.path().join(format!("step-{}", i % 7))).unwrap();
            fs::write(w.path().join(format!("step-{}/f{i}", i % 7)), "x").unwrap();
        }
        let p = w.path().to_path_buf();
        let other = std::thread::spawn({
            let p = p.clone();
            move || remove_lock_last(&p)
        });
        drop(w);
        other.join().unwrap().unwrap();
        assert!(!p.exists());
    }
}
