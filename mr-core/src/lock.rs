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
    /// Directories made to hold the lock file (see [`MadeDirs`]), removed
    /// after it while empty.
    made: MadeDirs,
}

/// Directories a run made on the way to a file it writes (`-o
/// results/2026-12-07/views` makes `results/` and `results/2026-12-07/`),
/// deepest first: each is removed when this is dropped, while it is empty,
/// so that a run that fails leaves no empty directory where a sensor or
/// `ls results/*` would take it for a day that ran (probe
/// /tmp/probe11-daily repro 01). One that holds anything (the finished
/// output, another run's files) stays, and so do those above it.
///
/// ```
/// let top = tempfile::tempdir().unwrap();
/// let out = top.path().join("a/b/out");
/// let made = mr_core::lock::MadeDirs::create_parents(&out).unwrap();
/// assert!(top.path().join("a/b").is_dir());
/// drop(made);
/// assert!(!top.path().join("a").exists());
/// ```
#[derive(Debug, Default)]
pub struct MadeDirs(Vec<PathBuf>);

impl MadeDirs {
    /// Creates the missing parents of `path`, and returns those it made.
    /// Only an absolute path without `..` (or one made so from the current
    /// directory) is remembered: one with `..` is created and kept.
    pub fn create_parents(path: &Path) -> io::Result<MadeDirs> {
        use std::path::Component;
        let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(MadeDirs::default());
        };
        let plain = parent.components().all(|c| {
            matches!(
                c,
                Component::Normal(_) | Component::RootDir | Component::CurDir
            )
        });
        let missing: Vec<PathBuf> = match std::path::absolute(parent) {
            Ok(abs) if plain => abs
                .ancestors()
                .take_while(|a| fs::symlink_metadata(a).is_err())
                .map(Path::to_path_buf)
                .collect(),
            _ => Vec::new(),
        };
        fs::create_dir_all(parent)?;
        Ok(MadeDirs(missing))
    }
}

impl Drop for MadeDirs {
    fn drop(&mut self) {
        for dir in &self.0 {
            if fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
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
                    let mut pid = live_pid(&file);
                    for _ in 0..50 {
                        if pid.is_some() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        pid = live_pid(&file);
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
                made: MadeDirs::default(),
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
        let file = open_existing(path).ok()?;
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
                            made: MadeDirs::default(),
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
                    pid: live_pid(&file),
                })),
                Err(e) => Err(e.into()),
            },
        )
    }

    /// The temporary name [`Self::create_held`] locks a lock file at `path`
    /// under before renaming it to `path`: what a process killed in between
    /// leaves.
    ///
    /// ```
    /// use mr_core::lock::OwnerLock;
    /// use std::path::Path;
    /// assert_eq!(OwnerLock::being_made(Path::new("d/owner.lock")), Path::new("d/owner.lock.new"));
    /// ```
    pub fn being_made(path: &Path) -> PathBuf {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".new");
        PathBuf::from(tmp)
    }

    /// Creates a new lock file at `path`, locked, without a window in which
    /// it exists unlocked (it is locked under a temporary name, then renamed).
    /// It is not removed on drop: it lives in a directory removed with it.
    pub fn create_held(path: &Path) -> io::Result<OwnerLock> {
        let tmp = Self::being_made(path);
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
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
            made: MadeDirs::default(),
        })
    }

    /// Locks an existing lock file if its owner is gone: `Ok(Some)` means no
    /// live process holds it. Never creates the file.
    pub fn take_if_dead(path: &Path) -> io::Result<Option<OwnerLock>> {
        let file = open_existing(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(OwnerLock {
                previous: read_text(&file),
                made: MadeDirs::default(),
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
        write_note(&self.file, &text)
    }

    /// Leaves the file in place when dropped (unlocked), with its note, for
    /// the next holder to read (see [`Self::previous_note`]).
    pub fn keep_file(&mut self) {
        self.remove_on_drop = false;
    }

    /// Has the directories in `made` removed, while empty, after the lock
    /// file (see [`MadeDirs`]).
    pub fn remove_made_dirs(&mut self, made: MadeDirs) {
        self.made = made;
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
        // Forgotten by a forced exit first: one that comes after the file is
        // removed and unlocked must not remove the next run's lock file of
        // the same name (a forced exit under way holds this off until it has
        // removed the file itself and exited).
        drop(self._forced.take());
        if self.remove_on_drop {
            // Remove while still holding the lock (see `claim`).
            let _ = fs::remove_file(&self.path);
        }
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

/// The lock file `mr gen` holds in the directory it writes (an
/// [`OwnerLock`]); hidden, so that a directory given as input skips it.
pub const GEN_LOCK_FILE: &str = ".mr-gen.lock";

/// The process an [`OwnerLock`] file at `path` names, if it is alive: the
/// lock is most likely held. Read only: the file is never locked to find
/// out (a test lock, however brief, would make a run claiming it then
/// think another holds it).
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let p = d.path().join(".out.mr-lock");
/// assert_eq!(mr_core::lock::holder_of(&p), None);
/// let held = mr_core::lock::OwnerLock::create_held(&p).unwrap();
/// assert_eq!(mr_core::lock::holder_of(&p), Some(std::process::id()));
/// drop(held);
/// ```
pub fn holder_of(path: &Path) -> Option<u32> {
    live_pid(&open_existing(path).ok()?)
}

/// The lock file [`DirLock`] takes inside the directory it locks: never
/// removed (a lock file removed while held would let the next process lock
/// a new one beside the holder).
pub const DIR_LOCK_FILE: &str = ".mr-dir.lock";

/// An exclusive `flock(2)` on a directory, held until dropped: for a short
/// critical section shared by runs, such as a dictionary store's update.
/// The kernel releases it when the process ends, however it ends.
///
/// Two locks are taken, in this order: the lock file [`DIR_LOCK_FILE`] in
/// the directory, then the directory itself. The file is made readable and
/// writable by exactly the classes of users (owner, group, others) who may
/// write the directory, and given its group: `flock` needs no more than a
/// file open for reading, and a lock on the directory can be taken by
/// anyone allowed to list it, to block every run of those who write it
/// (the waiting run says so, and stops on Ctrl-C). The directory's own lock
/// is the one runs before 2026-12-05 took alone: taken too, so that they
/// and these never give ids at once; once no such run can be left, the
/// file's lock alone keeps readers from blocking writers. Where a directory cannot be locked (NFS: EBADF,
/// ENOLCK), the file alone; where the file cannot be opened (a teammate's,
/// made with a group this user is not in), the directory alone.
#[derive(Debug)]
pub struct DirLock {
    _file: Option<File>,
    _dir: Option<File>,
}

/// The errors of `flock(2)` on a directory that mean "not here" (NFS's
/// EBADF, no lock manager's ENOLCK, EOPNOTSUPP, EINVAL).
const DIR_LOCK_FALLBACK: [Errno; 4] = [Errno::BADF, Errno::NOLCK, Errno::OPNOTSUPP, Errno::INVAL];

impl DirLock {
    /// Locks `dir`, waiting while another process (or another open of it in
    /// this one) holds it; then `on_wait` is called first, with the
    /// holder's pid when it wrote one. The wait polls, so that a run asked
    /// to stop ([`crate::cancel::requested`]) stops waiting at once: `Err`
    /// of kind `Interrupted`.
    ///
    /// ```
    /// use mr_core::lock::DirLock;
    /// let d = tempfile::tempdir().unwrap();
    /// let lock = DirLock::wait(d.path(), |_| panic!("free")).unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let p = d.path().to_path_buf();
    /// let t = std::thread::spawn(move || {
    ///     let _second = DirLock::wait(&p, |pid| tx.send(pid).unwrap()).unwrap();
    /// });
    /// assert_eq!(rx.recv().unwrap(), Some(std::process::id()));
    /// drop(lock);
    /// t.join().unwrap();
    /// ```
    pub fn wait(dir: &Path, on_wait: impl FnOnce(Option<u32>)) -> io::Result<DirLock> {
        let file = match open_dir_lock_file(dir) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => None,
            Err(e) => return Err(e),
        };
        let dir = File::open(dir)?;
        let mut on_wait = Some(on_wait);
        let mut wait = |file: Option<&File>| -> io::Result<()> {
            if let Some(f) = on_wait.take() {
                f(file.and_then(live_pid));
            }
            if crate::cancel::requested() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupted while waiting for the lock",
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            Ok(())
        };
        if let Some(file) = &file {
            flock_waiting(file, || wait(Some(file)))??;
            // The pid, for those who wait (a file this user may only read,
            // left by another, stays as it is).
            let _ = write_note(file, &format!("{}\n", std::process::id()));
        }
        match flock_waiting(&dir, || wait(None))? {
            Ok(()) => Ok(DirLock {
                _file: file,
                _dir: Some(dir),
            }),
            Err(e) if file.is_some() && DIR_LOCK_FALLBACK.contains(&e) => Ok(DirLock {
                _file: file,
                _dir: None,
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Takes `f`'s exclusive `flock`, calling `wait` (which may give up)
/// between tries while another holds it; the inner `Err` is `flock`'s
/// other errors.
fn flock_waiting(
    f: &File,
    mut wait: impl FnMut() -> io::Result<()>,
) -> io::Result<Result<(), Errno>> {
    loop {
        match flock(f, FlockOperation::NonBlockingLockExclusive) {
            Err(e) if e == Errno::WOULDBLOCK || e == Errno::INTR => wait()?,
            r => return Ok(r),
        }
    }
}

/// Replaces what the lock file `file` says with `text`.
fn write_note(file: &File, text: &str) -> io::Result<()> {
    file.set_len(0)?;
    std::os::unix::fs::FileExt::write_all_at(file, text.as_bytes(), 0)
}

/// `dir`'s [`DIR_LOCK_FILE`], made when missing with the directory's write
/// permissions as its read and write ones and the directory's group (see
/// [`DirLock`]). One this user may not write (another's) is opened for
/// reading.
fn open_dir_lock_file(dir: &Path) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let path = dir.join(DIR_LOCK_FILE);
    let mut o = OpenOptions::new();
    o.read(true).write(true).create_new(true).mode(0o600);
    match open_regular(&path, &mut o) {
        Ok(file) => {
            let meta = fs::metadata(dir)?;
            let _ = std::os::unix::fs::fchown(&file, None, Some(meta.gid()));
            let w = meta.mode() & 0o222;
            // rw for each class that may write the directory.
            file.set_permissions(fs::Permissions::from_mode(w | (w << 1)))?;
            Ok(file)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let mut o = OpenOptions::new();
            match open_regular(&path, o.read(true).write(true)) {
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => open_existing(&path),
                r => r,
            }
        }
        Err(e) => Err(e),
    }
}

/// The lock file at `path`, opened for reading and writing, created when
/// missing, its content kept. Never through a symlink, and only a regular
/// file: in a directory others may write (a team's), a link planted at the
/// lock's name would have this run truncate and write the file it points
/// to, a FIFO would block it.
fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    open_regular(path, &mut o)
}

/// An existing lock file, opened for reading only, as [`open_lock_file`]
/// opens one (no symlink, a regular file).
fn open_existing(path: &Path) -> io::Result<File> {
    open_regular(path, OpenOptions::new().read(true))
}

/// Opens `path` with `o`, never following a symlink there and refusing
/// anything but a regular file (without blocking on a FIFO).
fn open_regular(path: &Path, o: &mut OpenOptions) -> io::Result<File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let file = o
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a symbolic link where a lock file belongs (not followed: remove it)",
                )
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file where a lock file belongs (remove it)",
        ));
    }
    if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
        // A hard link to another file (a teammate's notes, made where
        // fs.protected_hardlinks allows it): a lock's pid written into it
        // would replace that file's content.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a hard link to another file where a lock file belongs (not written: remove it)",
        ));
    }
    Ok(file)
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

/// The pid on a lock file's first line, if that process is alive.
fn live_pid(file: &File) -> Option<u32> {
    let pid = read_text(file).lines().next()?.trim().parse().ok()?;
    is_alive(pid).then_some(pid)
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
    fn only_who_may_write_a_directory_may_lock_it() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for (dir_mode, lock_mode) in [
            (0o700, 0o600),
            (0o2770, 0o660),
            (0o755, 0o600),
            (0o777, 0o666),
        ] {
            let dir = d.path().join(format!("{dir_mode:o}"));
            fs::create_dir(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(dir_mode)).unwrap();
            drop(DirLock::wait(&dir, |_| panic!("free")).unwrap());
            assert_eq!(
                mode(&dir.join(DIR_LOCK_FILE)),
                lock_mode,
                "in a {dir_mode:o} directory"
            );
            // Kept, and taken again.
            drop(DirLock::wait(&dir, |_| panic!("free")).unwrap());
        }
    }

    /// Runs before 2026-12-05 locked the store's directory alone: a run
    /// waits for one of them (they gave ids at once: wrong ids, exit 0).
    #[test]
    fn a_lock_on_the_directory_itself_is_waited_for() {
        let d = tempfile::tempdir().unwrap();
        let old_style = File::open(d.path()).unwrap();
        flock(&old_style, FlockOperation::NonBlockingLockExclusive).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = d.path().to_path_buf();
        let t = std::thread::spawn(move || {
            let _lock = DirLock::wait(&p, |_| tx.send(()).unwrap()).unwrap();
        });
        rx.recv().unwrap(); // waiting
        drop(old_style);
        t.join().unwrap();
    }

    #[test]
    fn a_hard_link_at_a_lock_files_name_is_refused_not_written() {
        let d = tempfile::tempdir().unwrap();
        let notes = d.path().join("notes.txt");
        fs::write(&notes, "team notes").unwrap();
        let lock = d.path().join(".out.mr-lock");
        fs::hard_link(&notes, &lock).unwrap();
        let e = OwnerLock::claim(&lock).unwrap_err();
        assert!(e.to_string().contains("hard link"), "{e}");
        assert_eq!(fs::read_to_string(&notes).unwrap(), "team notes");
    }

    #[test]
    fn a_symlink_or_fifo_at_a_lock_files_name_is_refused_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("notes.txt");
        fs::write(&victim, "private").unwrap();
        let lock = d.path().join(".out.mr-lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        let e = OwnerLock::claim(&lock).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "private");
        let store = d.path().join("store");
        fs::create_dir(&store).unwrap();
        std::os::unix::fs::symlink(&victim, store.join(DIR_LOCK_FILE)).unwrap();
        assert!(DirLock::wait(&store, |_| {}).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "private");
        fs::remove_file(&lock).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &lock,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o666),
            0,
        )
        .unwrap();
        let e = OwnerLock::claim(&lock).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
