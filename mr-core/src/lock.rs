//! Owner locks: a file held under an exclusive `flock(2)` for as long as a
//! run lives. The kernel releases the lock when the process ends, however it
//! ends (SIGKILL and power-off too), so a lock that can be taken marks a dead
//! owner and a stale lock file is harmless.
//!
//! Used to claim an output directory (one run writes it at a time, see
//! [`crate::output::commit`]) and to mark a run's temp dir as live (see
//! [`crate::runner::workdir`]). Locks are advisory: they keep `mr` runs apart,
//! not other programs.

use rustix::fs::{FlockOperation, flock, fstat, stat};
use rustix::io::Errno;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A lock file held by this process; dropping it releases the lock (and
/// removes the file, when it was taken with [`OwnerLock::claim`]).
#[derive(Debug)]
pub struct OwnerLock {
    file: File,
    path: PathBuf,
    remove_on_drop: bool,
    /// Another user's lock file, held read-only: nothing is written in it.
    read_only: bool,
    /// For a lock removed on drop: removed by a forced exit too (the
    /// watchdog's, which skips drops), so that none is left behind.
    _forced: Option<crate::cancel::RemoveOnExit>,
    /// What the file said when [`OwnerLock::claim`] took it: the pid and
    /// note of a holder that died holding it, if any.
    previous: String,
}

/// The outcome of [`OwnerLock::claim`].
#[derive(Debug)]
pub enum Claim {
    /// The lock is ours until dropped.
    Acquired(OwnerLock),
    /// Another live process holds it (its pid, if it wrote one).
    Held {
        /// The holder's process id, as written in the lock file.
        pid: Option<u32>,
    },
}

impl OwnerLock {
    /// Takes the lock at `path` (creating the file) without waiting, and
    /// writes this process's id into it. The file is removed when the lock
    /// is dropped.
    ///
    /// ```
    /// use mr_core::lock::{Claim, OwnerLock};
    /// let d = tempfile::tempdir().unwrap();
    /// let p = d.path().join("x.lock");
    /// let Claim::Acquired(lock) = OwnerLock::claim(&p).unwrap() else { panic!() };
    /// // A second claim, even from this process, sees the holder.
    /// assert!(matches!(OwnerLock::claim(&p).unwrap(), Claim::Held { pid: Some(_) }));
    /// drop(lock);
    /// assert!(!p.exists());
    /// ```
    pub fn claim(path: &Path) -> io::Result<Claim> {
        loop {
            let file = match open_lock_file(path) {
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    match Self::claim_foreign(path) {
                        Some(Ok(None)) => continue, // a dead owner's, removed
                        Some(Ok(Some(held))) => return Ok(held),
                        Some(Err(e)) => return Err(e),
                        None => return Err(e),
                    }
                }
                r => r?,
            };
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(e) if e == Errno::WOULDBLOCK => {
                    // The holder writes its pid just after locking: give it
                    // a moment. Until then the file may still hold the pid
                    // of a killed holder before it, which is not named.
                    let live_pid = || read_pid(&file).filter(|&p| is_alive(p));
                    let mut pid = live_pid();
                    for _ in 0..50 {
                        if pid.is_some() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        pid = live_pid();
                    }
                    return Ok(Claim::Held { pid });
                }
                Err(e) => {
                    // A file system that does not lock (NFS without its
                    // lock manager: ENOLCK): nobody holds this file, so an
                    // empty one (made by this open) is not left behind.
                    if file.metadata().is_ok_and(|m| m.len() == 0) && same_file(&file, path) {
                        let _ = fs::remove_file(path);
                    }
                    return Err(e.into());
                }
            }
            // The holder before us removes the file before it unlocks: if it
            // did so after we opened it, we locked a file nobody else will
            // find. Start again on the path's current file.
            if !same_file(&file, path) {
                continue;
            }
            let previous = read_text(&file);
            let lock = OwnerLock {
                file,
                path: path.to_path_buf(),
                remove_on_drop: true,
                read_only: false,
                _forced: Some(crate::cancel::remove_on_forced_exit(path)),
                previous,
            };
            lock.note("")?;
            return Ok(Claim::Acquired(lock));
        }
    }

    /// For [`Self::claim`], a lock file this user may not write: another
    /// user's, left by a run of theirs (a shared group directory). `flock`
    /// needs only a file open for reading: if its owner is dead, the file
    /// is removed (while held, see `claim`), `Ok(None)`, for `claim` to
    /// make its own, or, where it cannot be removed (a sticky directory),
    /// held read-only as it is; if alive, [`Claim::Held`]. `None` when it
    /// cannot even be read: the caller's error stands.
    fn claim_foreign(path: &Path) -> Option<io::Result<Option<Claim>>> {
        let file = File::open(path).ok()?;
        Some(
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) if same_file(&file, path) => match fs::remove_file(path) {
                    Ok(()) => Ok(None),
                    // A directory with the sticky bit (/tmp, a shared
                    // scratch): only its owner may remove it. Held
                    // read-only, it is ours all the same: kept, and no pid
                    // or note written in it.
                    Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                        Ok(Some(Claim::Acquired(OwnerLock {
                            previous: read_text(&file),
                            file,
                            path: path.to_path_buf(),
                            remove_on_drop: false,
                            read_only: true,
                            _forced: None,
                        })))
                    }
                    Err(e) => Err(e),
                },
                Ok(()) => Ok(None), // replaced meanwhile: look again
                Err(e) if e == Errno::WOULDBLOCK => Ok(Some(Claim::Held {
                    pid: read_pid(&file).filter(|&p| is_alive(p)),
                })),
                Err(e) => Err(e.into()),
            },
        )
    }

    /// Creates a new lock file at `path`, locked, without a window in which
    /// it exists unlocked (it is locked under a temporary name, then renamed).
    /// It is not removed on drop: it lives in a directory removed with it.
    pub fn create_held(path: &Path) -> io::Result<OwnerLock> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let mut file = File::create(&tmp)?;
        flock(&file, FlockOperation::NonBlockingLockExclusive)?;
        writeln!(file, "{}", std::process::id())?;
        fs::rename(&tmp, path)?;
        Ok(OwnerLock {
            file,
            path: path.to_path_buf(),
            remove_on_drop: false,
            read_only: false,
            _forced: None,
            previous: String::new(),
        })
    }

    /// Locks an existing lock file if its owner is gone: `Ok(Some)` means no
    /// live process holds it. Never creates the file.
    pub fn take_if_dead(path: &Path) -> io::Result<Option<OwnerLock>> {
        let file = File::open(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(OwnerLock {
                previous: read_text(&file),
                file,
                path: path.to_path_buf(),
                remove_on_drop: false,
                read_only: false,
                _forced: None,
            })),
            Err(e) if e == Errno::WOULDBLOCK => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes this process's id and `note` (one line; none if empty) into
    /// the lock file, replacing what it held: what a run was doing, for the
    /// next holder to read if this one dies holding the lock.
    ///
    /// ```
    /// use mr_core::lock::{Claim, OwnerLock};
    /// let d = tempfile::tempdir().unwrap();
    /// let p = d.path().join("x.lock");
    /// let Claim::Acquired(lock) = OwnerLock::claim(&p).unwrap() else { panic!() };
    /// lock.note("committing out.mr-tmp-1-a").unwrap();
    /// let pid = std::process::id();
    /// assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{pid}\ncommitting out.mr-tmp-1-a\n"));
    /// assert!(matches!(OwnerLock::claim(&p).unwrap(), Claim::Held { pid: Some(p) } if p == pid));
    /// ```
    pub fn note(&self, note: &str) -> io::Result<()> {
        if self.read_only {
            return Ok(()); // another user's file, held read-only (see `claim`)
        }
        let mut text = format!("{}\n", std::process::id());
        if !note.is_empty() {
            text.push_str(note.lines().next().unwrap_or_default());
            text.push('\n');
        }
        self.file.set_len(0)?;
        std::os::unix::fs::FileExt::write_all_at(&self.file, text.as_bytes(), 0)
    }

    /// The note (see [`Self::note`]) a holder that died holding this lock
    /// left in its file, if any.
    pub fn previous_note(&self) -> Option<&str> {
        self.previous
            .split_once('\n')
            .map(|(_, note)| note.trim_end())
            .filter(|n| !n.is_empty())
    }
}

impl Drop for OwnerLock {
    fn drop(&mut self) {
        if self.remove_on_drop {
            // Remove while still holding the lock (see `claim`).
            let _ = fs::remove_file(&self.path);
        }
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

/// The lock file [`DirLock`] takes inside a directory it cannot lock
/// itself (on NFS): never to be removed while runs may hold it.
pub const DIR_LOCK_FILE: &str = ".mr-dir.lock";
/// The errors of `flock(2)` on a directory that mean "not here" (NFS's
/// EBADF, no lock manager's ENOLCK, EOPNOTSUPP, EINVAL).
const DIR_LOCK_FALLBACK: [Errno; 4] = [Errno::BADF, Errno::NOLCK, Errno::OPNOTSUPP, Errno::INVAL];

/// An exclusive `flock(2)` on a directory itself, held until dropped: for a
/// short critical section shared by runs, such as a dictionary store's
/// update. No lock file to remove by hand (a lock file removed while held
/// would let the next process lock a new one beside the holder), and the
/// kernel releases it when the process ends, however it ends. Where a
/// directory cannot be locked (NFS), the lock file [`DIR_LOCK_FILE`] in it.
#[derive(Debug)]
pub struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Locks `dir`, waiting while another process (or another open of it in
    /// this one) holds it; then `on_wait` is called first. The wait polls,
    /// so that a run asked to stop ([`crate::cancel::requested`]) stops
    /// waiting at once: `Err` of kind `Interrupted`.
    ///
    /// ```
    /// use mr_core::lock::DirLock;
    /// let d = tempfile::tempdir().unwrap();
    /// let lock = DirLock::wait(d.path(), || panic!("free")).unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let p = d.path().to_path_buf();
    /// let t = std::thread::spawn(move || {
    ///     let _second = DirLock::wait(&p, || tx.send("waited").unwrap()).unwrap();
    /// });
    /// assert_eq!(rx.recv().unwrap(), "waited");
    /// drop(lock);
    /// t.join().unwrap();
    /// ```
    pub fn wait(dir: &Path, on_wait: impl FnOnce()) -> io::Result<DirLock> {
        Self::wait_by(dir, on_wait, |f| {
            flock(f, FlockOperation::NonBlockingLockExclusive)
        })
    }

    /// [`wait`](Self::wait) with `try_lock` as the non-blocking `flock`
    /// (the tests give one that fails on directories, as NFS's does).
    fn wait_by(
        dir: &Path,
        on_wait: impl FnOnce(),
        try_lock: impl Fn(&File) -> Result<(), Errno>,
    ) -> io::Result<DirLock> {
        let mut file = File::open(dir)?;
        let mut on_dir = true;
        let mut on_wait = Some(on_wait);
        loop {
            match try_lock(&file) {
                Ok(()) => return Ok(DirLock { _dir: file }),
                Err(e) if e == Errno::WOULDBLOCK || e == Errno::INTR => {}
                // A file system that cannot lock a directory: NFS emulates
                // flock with fcntl locks, and an exclusive one needs a file
                // open for writing (EBADF). Every client there fails alike,
                // so all of them take the lock file instead.
                Err(e) if on_dir && DIR_LOCK_FALLBACK.contains(&e) => {
                    file = open_lock_file(&dir.join(DIR_LOCK_FILE))?;
                    on_dir = false;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            if let Some(f) = on_wait.take() {
                f();
            }
            if crate::cancel::requested() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupted while waiting for the lock",
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The lock file at `path`, opened for reading and writing, created when
/// missing, its content kept.
fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn same_file(file: &File, path: &Path) -> bool {
    match (fstat(file), stat(path)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

/// Whether a process `pid` exists (one of another user's counts).
fn is_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == Errno::PERM,
    }
}

/// The pid on a lock file's first line.
fn read_pid(file: &File) -> Option<u32> {
    read_text(file).lines().next()?.trim().parse().ok()
}

/// The start of a lock file (its pid and note), as text.
fn read_text(file: &File) -> String {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 4096];
    let n = file.read_at(&mut buf, 0).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_held_is_live_until_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("owner.lock");
        let held = OwnerLock::create_held(&p).unwrap();
        assert!(!d.path().join("owner.lock.new").exists());
        assert!(OwnerLock::take_if_dead(&p).unwrap().is_none());
        drop(held);
        assert!(p.exists(), "kept: the directory owns it");
        assert!(OwnerLock::take_if_dead(&p).unwrap().is_some());
    }

    /// A holder that has locked the file a killed run left, and not yet
    /// written its pid over the dead one's, is not named by the dead pid.
    #[test]
    fn a_dead_holders_pid_is_not_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("o.lock");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(&p, format!("{dead}\n")).unwrap();
        // The new holder (another open file description: flock conflicts
        // within one process too), between its lock and its write.
        let holder = OpenOptions::new().read(true).write(true).open(&p).unwrap();
        flock(&holder, FlockOperation::NonBlockingLockExclusive).unwrap();
        assert!(matches!(
            OwnerLock::claim(&p).unwrap(),
            Claim::Held { pid: None }
        ));
        holder.set_len(0).unwrap();
        (&holder)
            .write_all(format!("{}\n", std::process::id()).as_bytes())
            .unwrap();
        let Claim::Held { pid } = OwnerLock::claim(&p).unwrap() else {
            panic!("acquired a held lock")
        };
        assert_eq!(pid, Some(std::process::id()));
    }

    /// A lock file this user may not write (another user's, in a shared
    /// group directory; here a read-only one, which root may write all the
    /// same): left by a dead run, it is replaced; held, its holder is
    /// named. Before, opening it for writing failed: "Permission denied",
    /// for good.
    #[test]
    fn a_lock_file_this_user_may_not_write_blocks_only_while_held() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("o.lock");
        let read_only = |p: &Path| fs::set_permissions(p, fs::Permissions::from_mode(0o444));
        fs::write(&p, "1\n").unwrap();
        read_only(&p).unwrap();
        let Claim::Acquired(lock) = OwnerLock::claim(&p).unwrap() else {
            panic!("a dead run's lock file blocked the claim")
        };
        read_only(&p).unwrap();
        let Claim::Held { pid } = OwnerLock::claim(&p).unwrap() else {
            panic!("acquired a held lock")
        };
        assert_eq!(pid, Some(std::process::id()));
        drop(lock);
        assert!(!p.exists());
    }

    #[test]
    fn claim_after_release_gets_a_fresh_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("o.lock");
        for _ in 0..3 {
            let Claim::Acquired(l) = OwnerLock::claim(&p).unwrap() else {
                panic!("not acquired")
            };
            assert_eq!(
                fs::read_to_string(l.path()).unwrap().trim(),
                std::process::id().to_string()
            );
        }
    }

    /// Where a directory cannot be locked (NFS: EBADF), waiters take the
    /// lock file in it instead, and still exclude each other.
    #[test]
    fn a_dir_that_cannot_be_locked_falls_back_to_a_lock_file() {
        let d = tempfile::tempdir().unwrap();
        let nfs_like = |f: &File| {
            if f.metadata().unwrap().is_dir() {
                Err(Errno::BADF)
            } else {
                flock(f, FlockOperation::NonBlockingLockExclusive)
            }
        };
        let first = DirLock::wait_by(d.path(), || panic!("free"), nfs_like).unwrap();
        assert!(d.path().join(DIR_LOCK_FILE).is_file());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = d.path().to_path_buf();
        let t = std::thread::spawn(move || {
            let _second = DirLock::wait_by(&p, || tx.send(()).unwrap(), nfs_like).unwrap();
        });
        rx.recv().unwrap(); // the second waits on the lock file
        drop(first);
        t.join().unwrap();
        // Any other error is the caller's.
        let e = DirLock::wait_by(d.path(), || {}, |_| Err(Errno::IO)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::IO.raw_os_error()));
    }
}
