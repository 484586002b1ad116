//! Output that is complete or absent, and a run that deletes only what it
//! created.
//!
//! 1. **Claim**: a run takes an exclusive lock on the output path
//!    (`.OUT.mr-lock` beside it, see [`crate::lock`]) for its whole life; a
//!    second run on the same output fails at once, naming the first one's pid.
//! 2. **Stage**: tasks write into a fresh sibling, `.OUT.mr-tmp-PID-RAND/`; an
//!    existing `OUT` is not touched while the job runs. Its name starts with
//!    a dot, as the lock's does, so that the readers of a directory of
//!    outputs (Spark, Hive, pyarrow's datasets, DuckDB's and the shell's
//!    `*`) skip it, also when a killed run left it: `tables/*/*.parquet`
//!    never takes in rows no run committed.
//! 3. **Commit**: `_SUCCESS` is written into the staging directory, which then
//!    takes `OUT`'s place in one step: `rename(2)` with `RENAME_NOREPLACE`, or
//!    with `--overwrite` `RENAME_EXCHANGE` (the old output lands in the
//!    staging name and is removed after). On a file system without
//!    `renameat2`, the old output is renamed aside first.
//! 4. On failure or Ctrl-C only the staging directory is removed.
//!
//! `--overwrite` replaces only what looks like an mr (or Hadoop) output: a
//! directory with `_SUCCESS` that holds nothing a job does not write (see
//! [`written_by_a_job`]), or an empty one. It never replaces a file, a
//! symlink, a directory of other files (think `-o .` or `-o ~`), nor a
//! finished output the user has since put files of their own in (a notebook
//! beside the `part-*` files): those would be lost with it. A report an
//! earlier run wrote in it (`--report out/_report.json`, or mr's page
//! `out/run.html`) is part of it, recognised by name and content
//! ([`is_report_of`]). The old output
//! is checked again when the new one is committed, and once more after the
//! swap, before it is removed: a file added to it meanwhile keeps it.
//! Without `--overwrite`, an existing output is refused, but for an empty
//! directory (made beforehand, as mrjob allows), which is replaced if it is
//! still empty at the commit. Staging directories left by a killed run are
//! removed by the next run on the same output.

use crate::error::{Error, Result, printable_line, printable_path};
use crate::lock::{Claim, MadeDirs, OwnerLock};
use crate::paths::Reading;
use rustix::fs::{CWD, RenameFlags, renameat_with};
use rustix::io::Errno;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The marker of a complete output directory.
pub const SUCCESS: &str = "_SUCCESS";
/// Where tasks write before the commit (older layout: inside the output).
pub const TEMPORARY: &str = "_temporary";
/// Where skipped records are kept.
pub const BAD_RECORDS: &str = "_bad_records";
/// The infix of staging directories: `.OUT.mr-tmp-PID-RAND` (hidden:
/// see the module docs; runs before 2026-12-05 left `OUT.mr-tmp-*`).
pub const STAGING_INFIX: &str = ".mr-tmp-";
/// The infix of an old output renamed aside (fallback without `renameat2`):
/// `.OUT.mr-old-PID-NANOS`.
pub const ASIDE_INFIX: &str = ".mr-old-";

/// The name of the lock file beside the output `name` (`.out.mr-lock`),
/// which every run writing it holds (see [`claim_output_lock`]).
///
/// ```
/// use mr_core::output::commit::{is_output_lock, output_lock_name};
/// assert_eq!(output_lock_name("out"), ".out.mr-lock");
/// assert!(is_output_lock(".out.mr-lock") && !is_output_lock("out.mr-lock"));
/// ```
pub fn output_lock_name(name: &str) -> String {
    format!(".{name}{LOCK_SUFFIX}")
}

/// Whether `file` is the name of an output's lock file (mr's own, never a
/// job's input).
pub fn is_output_lock(file: &str) -> bool {
    file.len() > 1 + LOCK_SUFFIX.len() && file.starts_with('.') && file.ends_with(LOCK_SUFFIX)
}

const LOCK_SUFFIX: &str = ".mr-lock";

/// The lock file's note during a commit: `committing STAGING-NAME`, or
/// `committing STAGING-NAME/ASIDE-NAME` once the old output is being moved
/// aside (no atomic exchange on this file system: see `OutputDir::swap`).
const COMMITTING: &str = "committing ";

/// The lock file's note while a commit removes the old output in place
/// (`removing STAGING-NAME`: it cannot be moved, see
/// `OutputDir::replace_unmovable`): only a run killed then leaves an
/// output part-removed, for the next run to finish removing.
const REMOVING: &str = "removing ";

/// An output directory being written.
#[derive(Debug)]
pub struct OutputDir {
    /// As the user gave it (for messages and the report).
    dir: PathBuf,
    /// Absolute, in a canonical parent.
    target: PathBuf,
    staging: PathBuf,
    overwrite: bool,
    /// Without `overwrite`: `dir` was an empty directory, to be replaced if
    /// it still is.
    replace_empty: bool,
    /// The name of a file in `dir` that the run writes itself (its report).
    own: Option<String>,
    committed: bool,
    /// Held until the commit is done or the staging directory is removed.
    lock: Option<OwnerLock>,
    /// Has a forced exit remove the staging directory until this is dropped,
    /// which is after [`Drop`] removed it (a forced exit that comes while
    /// the run cleans up after a stop still finds it listed), or when the
    /// staging directory is kept for the user.
    forced: Option<crate::cancel::RemoveOnExit>,
    /// The finished copy a run killed while committing left beside an
    /// output that was then missing (its name, from the lock's note): kept
    /// until this run's output is in place, then removed as such a copy is
    /// beside a complete output. It stayed forever before: this run's lock
    /// note replaced the only word of what it was (probe
    /// /tmp/probe4-crash repro 02).
    killed_copy: Option<String>,
    /// What the run reads (a copy holding one of its inputs is never
    /// removed).
    reading: Reading,
}

impl OutputDir {
    /// Claims `dir` and creates its staging directory. An existing `dir` is
    /// an error unless `overwrite` and it is safe to replace (see the module
    /// docs); it is left as it is until [`commit`](Self::commit).
    pub fn create(dir: &Path, overwrite: bool) -> Result<OutputDir> {
        Self::create_writing(dir, overwrite, None, &Reading::default())
    }

    /// [`create`](Self::create) for a run that reads `reading` (a dead
    /// run's unfinished output beside `dir` that holds one of them is left
    /// in place) and also writes the file `own` itself when it ends (its
    /// `--report`): if that file is in `dir`, the copy an earlier run wrote
    /// there is not taken for a user's file that `--overwrite` must keep
    /// (it is about to be written over anyway).
    pub fn create_writing(
        dir: &Path,
        overwrite: bool,
        own: Option<&Path>,
        reading: &Reading,
    ) -> Result<OutputDir> {
        let (parent, name, made) = split_target(dir)?;
        // Its staging sibling (.NAME.mr-tmp-PID-RANDOM) must fit a file
        // name too: said now, not as "File name too long" on creating it.
        const STAGING_EXTRA: usize = 1 + STAGING_INFIX.len() + 20 + 1 + 6;
        if name.len() + STAGING_EXTRA > 255 {
            return Err(Error::Config(format!(
                "the output name {} is {} bytes: mr stages the output beside it as \
                 .NAME{STAGING_INFIX}PID-RANDOM, which must fit in 255; give a name of at most {}",
                printable_line(&name),
                name.len(),
                255 - STAGING_EXTRA
            )));
        }
        let target = parent.join(&name);
        // The output takes its place by a rename: the current directory (an
        // empty one is taken) would be replaced under the user's shell, left
        // in a removed directory where `ls` shows nothing (probe
        // /tmp/probe2-safety repro 04).
        if let (Ok(t), Ok(cwd)) = (
            fs::canonicalize(&target),
            std::env::current_dir().and_then(fs::canonicalize),
        ) && cwd.starts_with(&t)
        {
            return Err(Error::Config(format!(
                "the output {} is the current directory{}: the output is put in place by a \
                 rename, which would leave this shell in a removed directory; give a new \
                 directory (-o results) or run from elsewhere",
                printable_line(&dir.display().to_string()),
                if cwd == t { "" } else { " or holds it" }
            )));
        }
        let own = own.and_then(|f| {
            let in_dir =
                fs::canonicalize(f.parent().filter(|p| !p.as_os_str().is_empty())?).ok()?;
            (in_dir == fs::canonicalize(&target).ok()?)
                .then(|| f.file_name()?.to_str().map(str::to_string))?
        });
        // Not a directory, through any link (a file, /dev/null, /dev/stdout,
        // /dev/fd/1): said before the lock is taken beside it (in /proc, it
        // cannot be) and before --overwrite is suggested, which refuses it.
        if let Ok(m) = fs::metadata(dir)
            && !m.is_dir()
        {
            use std::os::unix::fs::FileTypeExt;
            let shown = printable_line(&dir.display().to_string()).into_owned();
            let t = m.file_type();
            return Err(Error::OutputUnwritable(if t.is_file() {
                format!(
                    "the output {shown} is a file, not a directory: the output is a directory \
                     of part files; give another --output"
                )
            } else {
                format!(
                    "the output {shown} is {}, not a directory: results go to stdout when \
                     --output is left out, and --no-output discards them",
                    if t.is_fifo() {
                        "a pipe"
                    } else {
                        "a device or socket"
                    }
                )
            }));
        }
        let mut lock = claim_output_lock(dir)?;
        lock.remove_made_dirs(made);
        let previous = lock.previous_note();
        // Killed while removing the old output in place, or elsewhere in
        // its commit.
        let (note, removing) = match previous.and_then(|n| n.strip_prefix(REMOVING)) {
            Some(staging) => (Some(staging), true),
            None => (previous.and_then(|n| n.strip_prefix(COMMITTING)), false),
        };
        // A name holds no `/`: the second is the old output moved aside.
        let killed = match note.and_then(|n| n.split_once('/')) {
            Some((staging, aside)) => Killed {
                commit: Some(staging),
                aside: Some(aside),
            },
            None => Killed {
                commit: note,
                aside: None,
            },
        };
        // A killed commit's copy still there (kept: no complete output was
        // in place): its name is carried in this run's note, so that a run
        // after this one, if this one dies first, still knows it.
        let killed_copy = killed
            .commit
            .filter(|f| parent.join(f).join(SUCCESS).exists())
            .map(str::to_string);
        // Killed while it removed the old output in place (overlayfs, see
        // `replace_unmovable`): the old output is part-removed, without
        // _SUCCESS, and the killed run's finished copy beside it. That
        // commit is finished first, as a killed removal's unfinished
        // directory is the next run's to remove (probe /tmp/probe7-env
        // repro 03: the user had to remove it by hand). Only when the note
        // says so: a run killed elsewhere in its commit removed nothing,
        // and part files found at the output since (mrjob's, no _SUCCESS)
        // are the user's, not a removal to finish (probe /tmp/probe14-fs
        // repro 02: they were deleted, without --overwrite).
        let ours = Ours {
            report: own.as_deref(),
            output: &name,
        };
        let killed_copy = match killed_copy {
            Some(copy) if removing && is_part_removed(&target) => {
                finish_killed_removal(&target, &parent.join(&copy), ours)?;
                None
            }
            copy => copy,
        };
        clean_stale_siblings(&parent, &name, &target, killed, reading);
        if let Some(f) = &killed_copy {
            let _ = lock.note(&format!("{COMMITTING}{f}"));
        }
        // An empty directory (`mkdir out` first, as mrjob allows) is taken
        // without --overwrite: nothing in it can be lost. It is replaced
        // only if still empty at the commit.
        let mut replace_empty = false;
        if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            // Said before --overwrite is suggested, which refuses a link.
            let to = match fs::canonicalize(&target) {
                Ok(t) => format!(" (to {})", printable_line(&t.display().to_string())),
                Err(_) => fs::read_link(&target)
                    .map(|t| {
                        let t = printable_line(&t.display().to_string()).into_owned();
                        format!(" (to {t}, which does not exist)")
                    })
                    .unwrap_or_default(),
            };
            return Err(Error::OutputUnwritable(format!(
                "the output {} is a symbolic link{to}: the output is put in place by a rename, \
                 which would replace the link, not write where it points; give the directory \
                 it points to as --output",
                printable_line(&dir.display().to_string()),
            )));
        }
        if fs::symlink_metadata(&target).is_ok() {
            let replaceable = check_replaceable(&target, ours);
            if !overwrite {
                if !is_empty_dir(&target) {
                    // --overwrite is suggested only where it would do: a
                    // directory of the user's files was told to pass it,
                    // which then refused (probe /tmp/probe2-safety 05).
                    return Err(match replaceable {
                        Ok(()) => Error::OutputExists(dir.to_path_buf()),
                        Err(reason) => Error::OutputNotAnOutput {
                            path: dir.to_path_buf(),
                            reason,
                        },
                    });
                }
                replace_empty = true;
            }
            replaceable.map_err(|reason| Error::OutputNotReplaceable {
                path: dir.to_path_buf(),
                reason,
            })?;
            check_removable(&target, &parent).map_err(|reason| {
                Error::OutputUnwritable(format!(
                    "cannot replace the output {}: {reason}, or choose another --output",
                    printable_line(&dir.display().to_string())
                ))
            })?;
            if is_mount_point(&target, &parent) && !overwrite {
                return Err(Error::Config(format!(
                    "cannot write the output as {}: it is a mount point (the output takes \
                     its place by a rename); write to a directory inside it",
                    dir.display()
                )));
            }
            if is_mount_point(&target, &parent) {
                return Err(Error::OutputNotReplaceable {
                    path: dir.to_path_buf(),
                    reason: "it is a mount point, which --overwrite cannot replace (the new \
                             output takes its place by a rename); write to a directory inside it"
                        .into(),
                });
            }
        }
        let staging = tempfile::Builder::new()
            .prefix(&format!(
                "{}{}-",
                hidden(&name, STAGING_INFIX),
                std::process::id()
            ))
            .rand_bytes(6)
            .tempdir_in(&parent)
            .map_err(|e| Error::io("creating the staging directory in", &parent, e))?
            .keep();
        Ok(OutputDir {
            forced: Some(crate::cancel::remove_on_forced_exit(&staging)),
            dir: dir.to_path_buf(),
            target,
            staging,
            overwrite,
            replace_empty,
            own,
            committed: false,
            killed_copy,
            reading: reading.clone(),
            lock: Some(lock),
        })
    }

    /// What in the old output this run replaces besides what a job writes.
    fn ours(&self) -> Ours<'_> {
        Ours {
            report: self.own.as_deref(),
            output: self
                .target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
        }
    }

    /// The directory tasks write into (the staging directory).
    pub fn temporary(&self) -> PathBuf {
        self.staging.clone()
    }

    /// Writes `_SUCCESS` and puts the staged output in place (replacing the
    /// old one under `--overwrite`); returns the output directory.
    pub fn commit(mut self) -> Result<PathBuf> {
        // Said in the lock file before `_SUCCESS` makes the staging
        // directory a finished output: a run killed from here on leaves a
        // copy (the new output, or the old one it replaced) that the next
        // run may remove (see `clean_stale_siblings`). Best effort: without
        // it such a copy is only kept and named.
        if let (Some(lock), Some(staging)) = (&self.lock, self.staging.file_name()) {
            let _ = lock.note(&format!("{COMMITTING}{}", staging.to_string_lossy()));
        }
        // On disk before `_SUCCESS` says they are complete, and `_SUCCESS`
        // before the rename that shows them: after a power cut, an output
        // is complete or absent, never whole files of zeros under a
        // `_SUCCESS` with the old output already removed.
        sync_tree(&self.staging)?;
        let ok = self.staging.join(SUCCESS);
        fs::write(&ok, b"").map_err(|e| Error::io("writing", &ok, e))?;
        sync_path(&ok)?;
        sync_path(&self.staging)?;
        crate::cancel::check()?;
        let exists = fs::symlink_metadata(&self.target).is_ok();
        let old = if exists {
            if self.replace_empty && !is_empty_dir(&self.target) {
                return Err(self.keep_staging("was empty, and files were put in it during the run"));
            }
            if !self.overwrite && !self.replace_empty {
                // Created during the run, and not by mr (we hold the lock).
                return Err(self.keep_staging("appeared during the run (not created by mr)"));
            }
            if let Err(reason) = check_replaceable(&self.target, self.ours()) {
                // The finished results are not thrown away for it.
                return Err(self.keep_staging(&format!(
                    "changed during the run and is no longer safe to replace: {reason}"
                )));
            }
            keep_mode_and_owner(&self.target, &self.staging);
            self.swap()?
        } else {
            match renameat_with(
                CWD,
                &self.staging,
                CWD,
                &self.target,
                RenameFlags::NOREPLACE,
            ) {
                Ok(()) => {}
                Err(e) if e == Errno::EXIST => {
                    return Err(self.keep_staging("appeared during the run (not created by mr)"));
                }
                Err(e) if e == Errno::INVAL || e == Errno::NOSYS => {
                    // No RENAME_NOREPLACE (NFS, CIFS): a plain rename, which
                    // fails on a directory that appeared meanwhile, not empty.
                    if let Err(e) = fs::rename(&self.staging, &self.target) {
                        if fs::symlink_metadata(&self.target).is_ok() {
                            return Err(self.keep_staging(&format!(
                                "appeared during the run (not created by mr): {e}"
                            )));
                        }
                        return Err(Error::io("moving into place", &self.dir, e));
                    }
                }
                Err(e) => return Err(Error::io("moving into place", &self.dir, e.into())),
            }
            None
        };
        // In place from here: an interrupt cannot undo it, and says so.
        crate::cancel::output_in_place(&self.dir);
        // The rename on disk before the old output is removed. The output
        // is in place whatever this says: a failure is only told.
        if let Some(Err(e)) = self.target.parent().map(sync_path) {
            let _ = writeln!(std::io::stderr(), "mr: warning: {e}");
        }
        if let Some(old) = old {
            remove_old(&old, self.ours());
        }
        if let (Some(copy), Some(parent), Some(name)) = (
            &self.killed_copy,
            self.target.parent(),
            self.target.file_name().and_then(|n| n.to_str()),
        ) {
            // Now beside a complete output: removed as the next run would.
            let killed = Killed {
                commit: Some(copy),
                aside: None,
            };
            clean_stale_siblings(parent, name, &self.target, killed, &self.reading);
        }
        self.committed = true;
        self.forced = None;
        self.lock = None;
        Ok(self.dir.clone())
    }

    /// Swaps the staged output with the old one; returns where the old one
    /// is now, if it is still to be removed.
    fn swap(&mut self) -> Result<Option<PathBuf>> {
        match renameat_with(CWD, &self.staging, CWD, &self.target, RenameFlags::EXCHANGE) {
            // The staging name now holds the old output.
            Ok(()) => return Ok(Some(self.staging.clone())),
            Err(e) if e == Errno::INVAL || e == Errno::NOSYS => {}
            // A directory that cannot move at all (overlayfs, the old output
            // in an image's lower layer): no exchange, no rename aside.
            Err(e) if e == Errno::XDEV => return self.replace_unmovable().map(|()| None),
            Err(e) => {
                // Refused (a sticky directory another user owns, EPERM): the
                // old output is as it was, the finished results not thrown
                // away for it.
                return Err(self.keep_staging(&format!(
                    "could not be replaced ({}); the old output is as it was",
                    std::io::Error::from(e)
                )));
            }
        }
        // No atomic exchange here: rename the old output aside, the new one
        // in, and put the old one back if that fails.
        let aside = sibling(&self.target, ASIDE_INFIX);
        // Named in the note first: a run killed once the new output is in
        // place leaves the old one there, finished, which the next run
        // removes only if it knows it for this commit's (probe
        // /tmp/probe8-crash repro 01: a whole copy of the old output kept).
        if let (Some(lock), Some(staging), Some(a)) =
            (&self.lock, self.staging.file_name(), aside.file_name())
        {
            let (staging, a) = (staging.to_string_lossy(), a.to_string_lossy());
            let _ = lock.note(&format!("{COMMITTING}{staging}/{a}"));
        }
        if let Err(e) = fs::rename(&self.target, &aside) {
            // The finished results are not thrown away for it.
            return Err(self.keep_staging(&format!(
                "could not be moved aside ({e}); the old output is as it was"
            )));
        }
        if let Err(e) = fs::rename(&self.staging, &self.target) {
            let why = match fs::rename(&aside, &self.target) {
                Ok(()) => format!("could not be replaced ({e}); the old output is as it was"),
                // Said, with where the old output is: the next run on this
                // output puts it back too.
                Err(back) => format!(
                    "could not be replaced ({e}), and the old output, moved aside to {}, \
                     could not be put back ({back})",
                    printable_line(&aside.display().to_string())
                ),
            };
            return Err(self.keep_staging(&why));
        }
        Ok(Some(aside))
    }

    /// Replaces an old output that cannot be moved (overlayfs gives EXDEV
    /// for a directory of a lower layer; `mv` copies then): it is removed
    /// as a replaced output is, if it holds only what a job writes, with
    /// `_SUCCESS` first, then the new one is moved in. The new output is
    /// complete all along: a run killed in between leaves no output, and the
    /// finished one named beside it, which the next run names too.
    fn replace_unmovable(&mut self) -> Result<()> {
        let unmovable = "cannot be moved aside on this file system (overlayfs: Invalid \
                         cross-device link)";
        // Said first: a run killed from here on leaves the old output
        // part-removed, which the next run finishes removing.
        if let (Some(lock), Some(staging)) = (&self.lock, self.staging.file_name()) {
            let _ = lock.note(&format!("{REMOVING}{}", staging.to_string_lossy()));
        }
        let why = match remove_replaced(&self.target, self.ours()) {
            Ok(()) => match fs::rename(&self.staging, &self.target) {
                Ok(()) => return Ok(()),
                Err(e) => format!(
                    "{unmovable}; it was removed, but the new one could not be moved in ({e})"
                ),
            },
            Err(Kept::Foreign(why)) => {
                format!("{unmovable}, and {why}; the old output is as it was")
            }
            Err(Kept::Failed(e)) => format!(
                "{unmovable}, and removing it to make room failed ({e}): it is no longer complete"
            ),
        };
        Err(self.keep_staging(&why))
    }

    /// Keeps the finished results where they are and says where.
    fn keep_staging(&mut self, why: &str) -> Error {
        self.committed = true; // not ours to delete any more: the user decides
        self.forced = None;
        if let Some(lock) = &self.lock {
            // Kept for the user, whatever happens to this run now.
            let _ = lock.note("");
        }
        Error::OutputChanged(format!(
            "{} {why}; the finished results are kept in {}: move them yourself",
            self.dir.display(),
            self.staging.display()
        ))
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            // Only what this run created; the lock is released after.
            let _ = fs::remove_dir_all(&self.staging);
            if self.killed_copy.is_some()
                && let Some(lock) = &mut self.lock
            {
                // Its note names the killed commit's copy for the next run.
                lock.keep_file();
            }
        }
    }
}

/// Claims the output `dir` for this run: `PARENT/.NAME.mr-lock`, held until
/// dropped, which every run writing `dir` takes first (a second one is
/// refused, [`Error::OutputBusy`], and no run sweeps the staging directory
/// of a live one). [`OutputDir`] takes it; so does a cluster run whose
/// output is local (Spark's driver, Hadoop's `file:` output).
pub fn claim_output_lock(dir: &Path) -> Result<OwnerLock> {
    let (parent, name, made) = split_target(dir)?;
    let lock_path = parent.join(output_lock_name(&name));
    match OwnerLock::claim(&lock_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied && !lock_path.exists() {
            // Writable OUT, read-only parent: the usual surprise. An output
            // inside OUT is offered only when that could be written.
            use rustix::fs::{Access, access};
            let inside = if access(dir, Access::WRITE_OK | Access::EXEC_OK).is_ok() {
                format!(" (-o {}/NAME)", printable_line(&dir.display().to_string()))
            } else {
                String::new()
            };
            Error::OutputUnwritable(format!(
                "cannot write beside the output {} in {} ({e}): mr writes its lock file \
                 and the new output next to it and renames it into place, so it needs \
                 write permission on that directory; give an output inside a directory \
                 you may write{inside}",
                printable_line(&dir.display().to_string()),
                printable_line(&parent.display().to_string()),
            ))
        } else if e.raw_os_error() == Some(rustix::io::Errno::NOLCK.raw_os_error()) {
            Error::OutputUnwritable(format!(
                "cannot lock {} ({e}): its file system does not lock files (NFS without its \
                 lock manager, rpc.statd and lockd), and mr locks beside an output so that \
                 two runs never write it at once; give an output on a disk that locks (a \
                 local one), or start the NFS client's locking",
                printable_line(&lock_path.display().to_string()),
            ))
        } else {
            Error::io("locking the output", &lock_path, e)
        }
    })? {
        Claim::Acquired(mut l) => {
            l.remove_made_dirs(made);
            Ok(l)
        }
        Claim::Held { pid } => Err(Error::OutputBusy {
            path: dir.to_path_buf(),
            pid,
        }),
    }
}

/// Gives the new output `to` the permissions, owner, group and ACL of the
/// old one, `from`, and its files (made with this run's umask) the mode,
/// owner, group and ACL of the old one's (its first part file's): a directory kept private (0700), or shared
/// with a team (a group, its setgid bit, `chgrp -R`, `setfacl -R`), stays
/// so when `--overwrite` replaces it, and a teammate who could read the old
/// results can read the new ones.
fn keep_mode_and_owner(from: &Path, to: &Path) {
    keep_dir_mode_and_owner(from, to);
    let Ok(old) = fs::metadata(from) else {
        return;
    };
    let first = first_file(from);
    let file_acl = first.as_deref().and_then(|f| acl(f, ACCESS_ACL));
    let file_mode = first.and_then(|f| fs::metadata(f).ok()).map(|m| {
        use std::os::unix::fs::PermissionsExt;
        fs::Permissions::from_mode(m.permissions().mode() & 0o777)
    });
    let dir_acl = acl(from, ACCESS_ACL);
    let default_acl = acl(from, DEFAULT_ACL);
    set_acl(to, ACCESS_ACL, dir_acl.as_deref());
    set_acl(to, DEFAULT_ACL, default_acl.as_deref());
    let mut dirs = vec![to.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        use std::os::unix::fs::MetadataExt;
        for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let (p, Ok(meta)) = (e.path(), e.metadata()) else {
                continue;
            };
            // The owner too, as the directory got it (root's `--overwrite`
            // of a user's output; only root may give a file away): else
            // the user could not remove its `_dictionaries/`, nor run
            // `--overwrite` on it again (probe /tmp/probe4-env repro 04).
            let uid = (meta.uid() != old.uid()).then_some(old.uid());
            let gid = (meta.gid() != old.gid()).then_some(old.gid());
            if uid.is_some() || gid.is_some() {
                let _ = std::os::unix::fs::lchown(&p, uid, gid);
            }
            if meta.is_dir() {
                set_acl(&p, ACCESS_ACL, dir_acl.as_deref());
                set_acl(&p, DEFAULT_ACL, default_acl.as_deref());
                dirs.push(p);
            } else if meta.is_file() {
                if let Some(mode) = &file_mode {
                    let _ = fs::set_permissions(&p, mode.clone());
                }
                set_acl(&p, ACCESS_ACL, file_acl.as_deref());
            }
        }
    }
}

/// The extended attributes that hold a POSIX ACL.
const ACCESS_ACL: &str = "system.posix_acl_access";
const DEFAULT_ACL: &str = "system.posix_acl_default";

/// The ACL `name` of `path` (none where there is none, or no ACLs).
fn acl(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::getxattr(path, name, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Sets the ACL `name` of `path` (best effort: a disk without ACLs has
/// nothing to keep).
fn set_acl(path: &Path, name: &str, acl: Option<&[u8]>) {
    if let Some(acl) = acl {
        let _ = rustix::fs::setxattr(path, name, acl, rustix::fs::XattrFlags::empty());
    }
}

/// The first regular file of the old output, a part file where there is
/// one: its ACL is the one the team gave the results.
fn first_file(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort_by_key(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
    });
    files.into_iter().next()
}

/// The directory part of [`keep_mode_and_owner`].
fn keep_dir_mode_and_owner(from: &Path, to: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(old) = fs::metadata(from) else {
        return;
    };
    let Ok(new) = fs::metadata(to) else {
        return;
    };
    let mut err = std::io::stderr();
    if (old.uid(), old.gid()) != (new.uid(), new.gid()) {
        let uid = (old.uid() != new.uid()).then_some(old.uid());
        if let Err(e) = std::os::unix::fs::chown(to, uid, Some(old.gid())) {
            let _ = writeln!(
                err,
                "mr: warning: the new {} cannot have the old one's owner and group \
                 ({}:{}): {e}",
                from.display(),
                old.uid(),
                old.gid()
            );
        }
    }
    let mode = old.permissions().mode() & 0o7777;
    if let Err(e) = fs::set_permissions(to, fs::Permissions::from_mode(mode)) {
        let _ = writeln!(
            err,
            "mr: warning: the new {} cannot have the old one's permissions ({mode:o}): {e}",
            from.display()
        );
    }
}

/// Flushes every file and directory under `dir` (and `dir`) to disk, the
/// files in parallel.
fn sync_tree(dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    let mut i = 0;
    while let Some(d) = dirs.get(i).cloned() {
        i += 1;
        for e in fs::read_dir(&d).map_err(|e| Error::io("listing", &d, e))? {
            let e = e.map_err(|e| Error::io("listing", &d, e))?;
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(e.path()),
                Ok(t) if t.is_file() => files.push(e.path()),
                _ => {}
            }
        }
    }
    let all: Vec<&PathBuf> = files.iter().chain(&dirs).collect();
    // A pool of its own, not rayon's global one, which is built on first
    // use and panics when the system refuses its threads (a pids limit):
    // the whole run's work lost at the commit. Then one at a time.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.min(all.len()).max(1))
        .thread_name(|i| format!("mr-sync-{i}"))
        .build()
    {
        Ok(pool) => pool.install(|| all.par_iter().try_for_each(|p| sync_path(p))),
        Err(_) => all.iter().try_for_each(|p| sync_path(p)),
    }
}

/// Flushes the file or directory `path` to disk (`fsync(2)`). A file system
/// that cannot sync a directory (`EINVAL`: some network and FUSE ones) is
/// not an error.
pub(crate) fn sync_path(path: &Path) -> Result<()> {
    let synced = fs::File::open(path).and_then(|f| f.sync_all());
    match synced {
        Err(e) if path.is_dir() && e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        r => r.map_err(|e| Error::io("flushing to disk", path, e)),
    }
}

/// Whether `path` is a directory (not a link to one) with nothing in it.
fn is_empty_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
        && entries(path).is_ok_and(|e| e.is_empty())
}

/// Whether the directory `dir` is a mount point: on another file system
/// than its `parent`, or the root of a mount of the same one (a bind
/// mount, which only `statx` tells: it was taken for a directory, the
/// whole job ran, and the rename failed with EBUSY; probe /tmp/probe25
/// repro 05).
fn is_mount_point(dir: &Path, parent: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::symlink_metadata(dir), fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.is_dir() && (d.dev() != p.dev() || is_mount_root(dir)),
        _ => false,
    }
}

/// Whether `dir` is the root of a mount, where the kernel says (Linux
/// 5.8 and later); false where it does not.
#[cfg(target_os = "linux")]
fn is_mount_root(dir: &Path) -> bool {
    use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
    let flags = AtFlags::NO_AUTOMOUNT | AtFlags::SYMLINK_NOFOLLOW;
    statx(CWD, dir, flags, StatxFlags::empty()).is_ok_and(|s| {
        s.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
            && s.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
    })
}

#[cfg(not(target_os = "linux"))]
fn is_mount_root(_dir: &Path) -> bool {
    false
}

/// The canonical parent (created if missing) and the name of `dir`.
fn split_target(dir: &Path) -> Result<(PathBuf, String, MadeDirs)> {
    let bad = || {
        Error::Config(format!(
            "cannot use {} as the output directory",
            dir.display()
        ))
    };
    let abs = if fs::symlink_metadata(dir).is_ok() && dir.file_name().is_none() {
        // `.`, `..`, `/`: name the directory itself.
        fs::canonicalize(dir).map_err(|e| Error::io("resolving", dir, e))?
    } else {
        dir.to_path_buf()
    };
    let name = abs.file_name().ok_or_else(bad)?;
    let name = name.to_str().ok_or_else(bad)?.to_string();
    let parent = match abs.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let made = MadeDirs::create_parents(&parent.join(&name)).map_err(|e| {
        // `-o notes.txt/out`: say which part of the path is no directory.
        match crate::paths::file_in_the_way(&parent) {
            Some(f) => Error::OutputUnwritable(format!(
                "the output {} is below {}, which is a file, not a directory: give --output \
                 a path whose parents are directories",
                printable_line(&dir.display().to_string()),
                printable_line(&f.display().to_string())
            )),
            None => Error::io("creating", &parent, e),
        }
    })?;
    let parent = fs::canonicalize(&parent).map_err(|e| match std::env::current_dir() {
        // Run from a directory deleted under the shell: say so, and name
        // the output, not just `.`.
        Err(_) if parent.is_relative() => Error::OutputUnwritable(format!(
            "the output {} is relative to the current directory, which was removed ({e}): \
             give an absolute path, or cd to a directory that exists",
            printable_line(&dir.display().to_string()),
        )),
        _ => Error::io("resolving", &parent, e),
    })?;
    Ok((parent, name, made))
}

/// Why `target` may not be replaced, if it may not: anything but a
/// directory holding `_SUCCESS` and only what a job writes, or an empty one.
fn check_replaceable(target: &Path, ours: Ours<'_>) -> std::result::Result<(), String> {
    let meta = fs::symlink_metadata(target).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err("it is a symbolic link".into());
    }
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    let entries = entries(target).map_err(|e| format!("cannot list it: {e}"))?;
    let foreign = foreign_in(target, &entries, ours).map_err(|e| format!("cannot list {e}"))?;
    if !foreign.is_empty() {
        return Err(format!("it holds {}", describe(&foreign)));
    }
    if entries.is_empty() || target.join(SUCCESS).is_file() {
        return Ok(());
    }
    Err("it has no _SUCCESS, so it is not the output of a finished run".into())
}

/// Why this user could not remove the old output `target` (in `parent`)
/// once the new one is in its place, if they could not: a directory in it
/// they may not write (another user's, in a shared group directory), or,
/// in a sticky directory (`/tmp`, a shared scratch), an output neither
/// theirs nor in a directory of theirs. Checked before the run: the swap
/// itself needs only the parent, so it succeeded and the old output stayed
/// beside the new one for good. Root may remove anything.
fn check_removable(target: &Path, parent: &Path) -> std::result::Result<(), String> {
    use rustix::fs::{Access, access};
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid();
    if me.is_root() {
        return Ok(());
    }
    let owner = |p: &Path| fs::symlink_metadata(p).map(|m| m.uid()).unwrap_or(u32::MAX);
    let parent_meta =
        fs::metadata(parent).map_err(|e| format!("cannot read {}: {e}", parent.display()))?;
    if let Some(owner) = crate::paths::sticky_owner(&parent_meta, target) {
        return Err(format!(
            "it belongs to user {owner} in a directory with the sticky bit ({}), where only its \
             owner may move or remove it: ask its owner to remove it",
            parent.display()
        ));
    }
    // An empty directory goes with its parent's permission alone.
    let mut dirs = vec![target.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let listed = fs::read_dir(&d).map_err(|e| format!("cannot list {}: {e}", d.display()))?;
        let mut empty = true;
        for e in listed {
            let e = e.map_err(|e| format!("cannot list {}: {e}", d.display()))?;
            empty = false;
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(e.path());
            }
        }
        if !empty && access(&d, Access::WRITE_OK | Access::EXEC_OK).is_err() {
            let shown = printable_line(&d.display().to_string()).into_owned();
            return Err(if owner(&d) == me.as_raw() {
                let mode = fs::metadata(&d).map(|m| m.mode() & 0o7777).unwrap_or(0);
                format!(
                    "{shown} is yours but not writable (mode {mode:04o}), so what it holds \
                     cannot be removed: make it writable (chmod -R u+w)"
                )
            } else {
                format!(
                    "{shown} belongs to user {} and you may not remove what it holds: ask its \
                     owner to remove it",
                    owner(&d)
                )
            });
        }
    }
    Ok(())
}

/// Whether `name`, an entry of an output directory, is one that a job
/// writes there (mr, Hadoop, Spark or mrjob): `part-*` files, `_SUCCESS`,
/// mr's `_bad_records` and `_dictionaries`, Hadoop's `_logs`, `_temporary`
/// and `.NAME.crc` checksums, Parquet's `_metadata` and `_common_metadata`,
/// and the commit markers `_started_*`, `_committed_*` and `__magic*`.
/// Anything else was put there by someone, and `--overwrite` must not
/// remove it with the output.
///
/// ```
/// use mr_core::output::commit::written_by_a_job;
/// for n in ["part-00000", "part-r-00003.gz", "part-00000-1a2b-c000.snappy.parquet",
///           "_SUCCESS", "_bad_records", ".part-00000.crc", "._SUCCESS.crc", "_temporary"] {
///     assert!(written_by_a_job(n), "{n}");
/// }
/// for n in ["analysis.ipynb", ".ipynb_checkpoints", "_notes.md", "partial.csv", ".crc"] {
///     assert!(!written_by_a_job(n), "{n}");
/// }
/// ```
pub fn written_by_a_job(name: &str) -> bool {
    const DIRECTORIES: [&str; 4] = [
        BAD_RECORDS,
        crate::categorical::DICTIONARIES,
        TEMPORARY,
        "_logs",
    ];
    is_part_name(name)
        || written_as_a_file(name)
        || DIRECTORIES.contains(&name)
        || name.starts_with("__magic")
        || (name.len() >= ".x.crc".len() && name.starts_with('.') && name.ends_with(".crc"))
}

/// Whether `name` is one of an output's bookkeeping files, never a
/// directory: `_SUCCESS`, Parquet's `_metadata` and `_common_metadata`,
/// commit markers (`_started_*`, `_committed_*`).
fn written_as_a_file(name: &str) -> bool {
    [SUCCESS, "_metadata", "_common_metadata"].contains(&name)
        || name.starts_with("_started_")
        || name.starts_with("_committed_")
}

/// Whether `name` is a part file's name as a job writes it: `part-` and a
/// number (mr, mrjob, pyarrow), `part-m-`/`part-r-` and one (Hadoop), either
/// followed by Spark's `-UUID-c000` (lower-case hex digits and dashes),
/// then extensions of data and compression formats only (as
/// `spark_driver.py`'s copy of the rule, which a test compares). `part-2-analysis.ipynb` or
/// `part-of-my-thesis.docx` is a user's file, which `--overwrite` removed
/// with the output (probe /tmp/probe10-safety repro 03).
///
/// ```
/// use mr_core::output::commit::is_part_name;
/// for n in ["part-00000", "part-r-00003.gz", "part-m-00001.deflate", "part-0.parquet",
///           "part-00000-3d9b1c6e-8f1e-4c3a-9b1a-1b2c3d4e5f6a-c000.snappy.parquet",
///           "part-00007.json.gz"] {
///     assert!(is_part_name(n), "{n}");
/// }
/// for n in ["part-2-analysis.ipynb", "part-of-my-thesis.docx", "part-", "part-1.ipynb",
///           "part-00000.gz.bak", "part-1-", "part-x-00001", "partial.csv", "PART-00001"] {
///     assert!(!is_part_name(n), "{n}");
/// }
/// ```
pub fn is_part_name(name: &str) -> bool {
    const EXTENSIONS: [&str; 18] = [
        "parquet", "gz", "bz2", "zst", "zstd", "deflate", "snappy", "lz4", "lzo", "xz", "br",
        "json", "jsonl", "csv", "tsv", "txt", "orc", "avro",
    ];
    let Some(rest) = name.strip_prefix("part-") else {
        return false;
    };
    let rest = rest
        .strip_prefix("m-")
        .or_else(|| rest.strip_prefix("r-"))
        .unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    // Spark's `-UUID-c000`: hex digits and dashes, ending in neither.
    let (id, exts) = rest.split_at(rest.find('.').unwrap_or(rest.len()));
    let spark_id = id.is_empty()
        || (id.starts_with('-')
            && !id.ends_with('-')
            && id[1..]
                .bytes()
                .all(|b| matches!(b, b'-' | b'0'..=b'9' | b'a'..=b'f')));
    spark_id && (exts.is_empty() || exts[1..].split('.').all(|ext| EXTENSIONS.contains(&ext)))
}

/// What in an output a run may replace besides what a job writes (see
/// [`foreign_in`]).
#[derive(Debug, Clone, Copy, Default)]
struct Ours<'a> {
    /// The name of the file this run writes in the output itself (its
    /// `--report`), if it writes one there.
    report: Option<&'a str>,
    /// The output's name (`out`), which an earlier run's report there names
    /// (see [`is_report_of`]); empty: none is recognised.
    output: &'a str,
}

/// The keys of the report `mr run --report FILE` writes for a finished run
/// (mr-cli's `cmd::report::document`, whose test checks that they agree),
/// besides `runner`, which it may have. Only a finished run's report is
/// written inside its output directory.
pub const REPORT_KEYS: [&str; 13] = [
    "bad_record_files",
    "counters",
    "elapsed_secs",
    "job",
    "ok",
    "output_dir",
    "partitions",
    "phases",
    "settings",
    "skipped_records",
    "spills_per_step",
    "tasks",
    "totals",
];

/// A report larger than this is not taken for one (see [`is_report_of`]):
/// reports of runs of a hundred thousand tasks are a few tens of MB.
pub const REPORT_MAX_BYTES: u64 = 256 << 20; // 256 MB

/// Whether `dir/name` is the report an earlier `mr run -o .../OUTPUT
/// --report .../OUTPUT/NAME` wrote in its output, `output` the output's
/// name: then `--overwrite` replaces it with the old output, of which it is
/// a part. Recognised by name and content, never by name alone: a regular
/// file (not a link, never waited on as a FIFO) of at most
/// [`REPORT_MAX_BYTES`], and
///
/// - named `*.json`: a JSON object with exactly the keys of a finished
///   run's report ([`REPORT_KEYS`], and maybe `runner`), `"ok": true`,
///   `"job"` a string and `"output_dir"` a path whose last component is
///   `output`;
/// - named `*.html` or `*.htm`: mr's page, which starts with the mark
///   [`html_report_mark`] writes for a finished run's report: the
///   `output_dir` it names ends in `output`, and the length and CRC-32 of
///   the rest of the page it gives are the page's (an edited page is the
///   user's).
///
/// Anything else is a user's file, which keeps the output.
///
/// ```
/// use mr_core::output::commit::{html_report_mark, is_report_of};
/// let top = tempfile::tempdir().unwrap();
/// let d = top.path().join("out"); // the output, as `-o TOP/out` named it
/// std::fs::create_dir(&d).unwrap();
/// let report = r#"{"bad_record_files": [], "counters": {}, "elapsed_secs": 0.1,
///   "job": "word_count", "ok": true, "output_dir": "OUT", "partitions": [],
///   "phases": [], "settings": {}, "skipped_records": 0, "spills_per_step": [0],
///   "tasks": [], "totals": {}, "runner": "local"}"#
///     .replace("OUT", &d.display().to_string());
/// std::fs::write(d.join("_report.json"), &report).unwrap();
/// assert!(is_report_of(&d, "_report.json", "out"));
/// assert!(!is_report_of(&d, "_report.json", "other"));
/// std::fs::write(d.join("_report.txt"), &report).unwrap();
/// assert!(!is_report_of(&d, "_report.txt", "out"));
/// let mine = report.replace(r#""tasks": [],"#, r#""tasks": [], "my notes": "keep","#);
/// std::fs::write(d.join("notes.json"), mine).unwrap();
/// assert!(!is_report_of(&d, "notes.json", "out"));
/// // The report of another output of the same name (`elsewhere/out`),
/// // kept here by the user, is the user's.
/// let elsewhere = report.replace(&top.path().display().to_string(), "/elsewhere");
/// std::fs::write(d.join("a.json"), elsewhere).unwrap();
/// assert!(!is_report_of(&d, "a.json", "out"));
///
/// let page = "<html><body>word_count finished</body></html>\n";
/// let html = format!("{}{page}", html_report_mark(&d.display().to_string(), page.as_bytes()));
/// std::fs::write(d.join("run.html"), &html).unwrap();
/// assert!(is_report_of(&d, "run.html", "out"));
/// assert!(!is_report_of(&d, "run.html", "other"));
/// std::fs::write(d.join("notes.html"), html.replace("finished", "my notes")).unwrap();
/// assert!(!is_report_of(&d, "notes.html", "out"));
/// std::fs::write(d.join("mine.html"), page).unwrap();
/// assert!(!is_report_of(&d, "mine.html", "out"));
/// ```
pub fn is_report_of(dir: &Path, name: &str, output: &str) -> bool {
    if output.is_empty() || !may_be_a_report(name) {
        return false;
    }
    read_small_file(&dir.join(name), REPORT_MAX_BYTES)
        .is_some_and(|bytes| is_report_bytes(&bytes, name, dir, output))
}

/// Whether a file of this name may be a report (`*.json`, `*.html`,
/// `*.htm`): the files [`is_report_of`] reads.
///
/// ```
/// use mr_core::output::commit::may_be_a_report;
/// assert!(may_be_a_report("run.JSON") && may_be_a_report("run.html"));
/// assert!(!may_be_a_report(".json") && !may_be_a_report("part-00000"));
/// ```
pub fn may_be_a_report(name: &str) -> bool {
    report_ext(name).is_some()
}

/// The extension of a report's name, lowercased, if `name` has one.
fn report_ext(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| matches!(ext.as_str(), "json" | "html" | "htm"))
}

/// [`is_report_of`] for the bytes of `dir/name`, read elsewhere: from a
/// cluster's file system (`hadoop fs -cat`), whose output `dir` is here
/// as its local path (`file:` left out) when it has one. A report naming
/// an output this machine cannot resolve is not this output's.
///
/// ```
/// use mr_core::output::commit::is_report_bytes;
/// let top = tempfile::tempdir().unwrap();
/// let d = top.path().join("out");
/// std::fs::create_dir(&d).unwrap();
/// let report = r#"{"bad_record_files": [], "counters": {}, "elapsed_secs": 0.1,
///   "job": "word_count", "ok": true, "output_dir": "file://OUT", "partitions": [],
///   "phases": [], "settings": {}, "skipped_records": 0, "spills_per_step": [0],
///   "tasks": [], "totals": {}, "runner": "hadoop"}"#
///     .replace("OUT", &d.display().to_string());
/// assert!(is_report_bytes(report.as_bytes(), "run.json", &d, "out"));
/// assert!(!is_report_bytes(report.as_bytes(), "run.txt", &d, "out"));
/// let other = report.replace("file://", "hdfs://nn");
/// assert!(!is_report_bytes(other.as_bytes(), "run.json", &d, "out"));
/// ```
pub fn is_report_bytes(bytes: &[u8], name: &str, dir: &Path, output: &str) -> bool {
    let Some(ext) = report_ext(name) else {
        return false;
    };
    if output.is_empty() || bytes.len() as u64 > REPORT_MAX_BYTES {
        return false;
    }
    let names_output = |o: &str| names_this_output(o, dir, output);
    if ext != "json" {
        return html_report_output(bytes).is_some_and(|o| names_output(&o));
    }
    let Ok(doc) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
    else {
        return false;
    };
    let keys_match = REPORT_KEYS.iter().all(|k| doc.contains_key(*k))
        && doc
            .keys()
            .all(|k| REPORT_KEYS.contains(&k.as_str()) || k == "runner");
    keys_match
        && doc.get("ok") == Some(&serde_json::Value::Bool(true))
        && doc.get("job").is_some_and(serde_json::Value::is_string)
        && doc
            .get("output_dir")
            .and_then(serde_json::Value::as_str)
            .is_some_and(names_output)
}

/// Whether `recorded`, the `output_dir` a report names (as `-o` was given,
/// relative to where that run started), is the output `output` whose
/// directory is now `dir`: the same name, in the same directory (`dir`'s
/// parent, where an output moved aside on its way out stays). Told by
/// the parents' canonical paths: a report of `a/out` kept in `b/out` is a
/// user's file, not `b/out`'s report; a relative `recorded` that does not
/// resolve from here is not taken for this output's (the output is kept).
fn names_this_output(recorded: &str, dir: &Path, output: &str) -> bool {
    // A cluster run's output given as a `file:` URI is that local path.
    let recorded =
        crate::input::listing::local_path_of(recorded).unwrap_or_else(|_| recorded.to_string());
    let recorded = Path::new(&recorded);
    if recorded.file_name().is_none_or(|n| n != output) {
        return false;
    }
    let parent = |p: &Path| match p.parent() {
        Some(q) if !q.as_os_str().is_empty() => q.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (
        fs::canonicalize(parent(recorded)),
        fs::canonicalize(parent(dir)),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The bytes of the regular file at `path`, read without following a
/// link, nor blocking on a FIFO so named; `None` for anything else, or a
/// file larger than `max`.
fn read_small_file(path: &Path, max: u64) -> Option<Vec<u8>> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read as _;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = fs::File::from(rustix::fs::open(path, flags, Mode::empty()).ok()?);
    if !file.metadata().is_ok_and(|m| m.is_file() && m.len() <= max) {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

/// How mr's HTML report of a finished run starts: the doctype, then a
/// comment that browsers do not show, with a JSON object.
const HTML_REPORT_START: &str = "<!doctype html>\n<!-- mr-report ";
/// The end of [`HTML_REPORT_START`]'s comment line.
const HTML_REPORT_MARK_END: &str = " -->\n";

/// The start of mr's HTML report of a finished run whose output is
/// `output_dir`, `page` the rest of the page (from `<html>`): the doctype
/// line, then a comment naming the output, with the length and CRC-32 of
/// `page`, by which [`is_report_of`] knows the page is mr's report of that
/// output, as mr wrote it. In the comment, `-`, `<`, `>` and `&` are
/// written as JSON escapes, so that no output name can end it.
///
/// ```
/// let mark = mr_core::output::commit::html_report_mark("a-->b", b"<html></html>");
/// assert!(mark.starts_with("<!doctype html>\n<!-- mr-report {"), "{mark}");
/// assert_eq!(mark.matches("-->").count(), 1, "{mark}");
/// ```
pub fn html_report_mark(output_dir: &str, page: &[u8]) -> String {
    let mark = serde_json::json!({
        "output_dir": output_dir,
        "bytes": page.len(),
        "crc32": format!("{:08x}", crc32fast::hash(page)),
    });
    // No '-' anywhere else in it: the keys have none, the numbers are
    // not negative, the CRC is hex.
    let json = mark
        .to_string()
        .replace('-', "\\u002d")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    format!("{HTML_REPORT_START}{json}{HTML_REPORT_MARK_END}")
}

/// The `output_dir` that the HTML report `bytes` was written for, when it
/// is mr's report of a finished run, unchanged (see [`html_report_mark`]).
fn html_report_output(bytes: &[u8]) -> Option<String> {
    let rest = bytes.strip_prefix(HTML_REPORT_START.as_bytes())?;
    let end = memchr::memmem::find(rest, HTML_REPORT_MARK_END.as_bytes())?;
    let (mark, page) = (&rest[..end], &rest[end + HTML_REPORT_MARK_END.len()..]);
    let mark: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(mark).ok()?;
    let mut keys: Vec<&str> = mark.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let crc = format!("{:08x}", crc32fast::hash(page));
    (keys == ["bytes", "crc32", "output_dir"]
        && mark.get("bytes")?.as_u64()? == page.len() as u64
        && mark.get("crc32")?.as_str()? == crc)
        .then(|| mark.get("output_dir")?.as_str().map(str::to_string))?
}

/// [`entries`] of `path`, an output's `rel`, whose error says which
/// directory could not be listed (`_bad_records` of mode 000).
fn listed(rel: &str, path: &Path) -> std::io::Result<Vec<(String, bool)>> {
    entries(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("its {}: {e}", printable_line(rel))))
}

/// The entries of `dir`: each name, and whether it is a directory.
fn entries(dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut entries = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        entries.push((e.file_name().to_string_lossy().into_owned(), is_dir));
    }
    Ok(entries)
}

/// The entries of `dir` that no job writes (see [`foreign_names`]), and
/// inside the directories a job writes, what it does not write there: in
/// `_bad_records/` mr's `map-*`/`reduce-*` files, in `_dictionaries/` its
/// `*.jsonl` files, in `_logs/` Hadoop's `history/` of files, in a
/// committer's scratch (`_temporary/`, `__magic*/`) parts and its records
/// ([`committer_scratch`]); a directory under a name a job writes as a
/// file (`_metadata/`); and a `.NAME.crc` without its NAME.
fn foreign_entries(dir: &Path, ours: Ours<'_>) -> std::io::Result<Vec<String>> {
    foreign_in(dir, &entries(dir)?, ours)
}

/// [`foreign_entries`] of `dir`, whose `entries` are listed already.
fn foreign_in(
    dir: &Path,
    entries: &[(String, bool)],
    ours: Ours<'_>,
) -> std::io::Result<Vec<String>> {
    // The file this run writes there itself (its --report) is its own, and
    // the report an earlier run wrote there is part of the old output.
    let mut foreign = foreign_names(
        entries
            .iter()
            .filter(|(n, d)| {
                *d || (ours.report != Some(n.as_str())
                    && !is_report_of(dir, n, ours.output)
                    // The temporary file of this run's report that a
                    // run killed while writing it left (probe
                    // /tmp/probe20-downstream repro 04): the output's
                    // own, as the report is.
                    && !ours.report.is_some_and(|r| crate::replace::is_temp_of(n, r)))
            })
            .map(|(n, d)| (n.as_str(), *d)),
    );
    let names: std::collections::HashSet<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    for (name, is_dir) in entries {
        if let Some(checked) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".crc")) {
            if written_by_a_job(name) && !names.contains(checked) {
                foreign.push(printable_line(name).into_owned());
            }
            continue;
        }
        let inside: fn(&str, bool) -> bool = match name.as_str() {
            BAD_RECORDS => |n, d| !d && (n.starts_with("map-") || n.starts_with("reduce-")),
            crate::categorical::DICTIONARIES => |n, d| !d && n.ends_with(".jsonl"),
            "_logs" => |n, d| d && n == "history",
            // A committer's scratch (Hadoop's and Spark's attempts, S3A's
            // magic one): what it holds was taken unseen, a dictionary
            // store or a user's notes too (probe /tmp/probe25 repro 04).
            n if *is_dir && (n == TEMPORARY || n.starts_with("__magic")) => {
                committer_scratch(&dir.join(name), name, 0, &mut foreign)?;
                continue;
            }
            // Names a job writes as files: a directory of one is not a job's.
            n if *is_dir && written_as_a_file(n) => {
                foreign.push(format!("{}/", printable_line(name)));
                continue;
            }
            _ => continue,
        };
        if !is_dir {
            continue;
        }
        let sub = dir.join(name);
        for (n, d) in listed(name, &sub)? {
            let ok = inside(&n, d)
                && (n != "history"
                    || listed(&format!("{name}/{n}"), &sub.join(&n))?
                        .iter()
                        .all(|(_, d)| !d));
            if !ok {
                foreign.push(format!(
                    "{}/{}{}",
                    printable_line(name),
                    printable_line(&n),
                    if d { "/" } else { "" }
                ));
            }
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// A committer's record of its work in its scratch directory: S3A's
/// `.pending`/`.pendingset`, the manifest committer's (Hadoop 3.3.5+, Spark
/// on ABFS and GCS) `TASK-manifest.json` (`.tmp` while written) and
/// `summary-*.json`.
fn committer_record(name: &str) -> bool {
    name.ends_with(".pending")
        || name.ends_with(".pendingset")
        || name.ends_with("-manifest.json")
        || name.ends_with("-manifest.json.tmp")
        || (name.starts_with("summary-") && name.ends_with(".json"))
}

/// Adds to `foreign` what a committer's scratch directory `dir` (shown as
/// `rel`) holds that no committer writes: files other than parts, a job's
/// bookkeeping and committers' records ([`committer_record`]), in attempt
/// directories of any name, 8 deep at most (deeper is foreign).
fn committer_scratch(
    dir: &Path,
    rel: &str,
    depth: usize,
    foreign: &mut Vec<String>,
) -> std::io::Result<()> {
    for (n, d) in listed(rel, dir)? {
        let shown = format!("{rel}/{n}");
        if d && depth < 8 {
            committer_scratch(&dir.join(&n), &shown, depth + 1, foreign)?;
        } else if d || !(written_by_a_job(&n) || committer_record(&n)) {
            foreign.push(format!(
                "{}{}",
                printable_line(&shown),
                if d { "/" } else { "" }
            ));
        }
    }
    Ok(())
}

/// Of an output directory's entries (a name, and whether it is a
/// directory), those no job writes (see [`written_by_a_job`]), as a message
/// shows them: sorted, a directory's name with a `/`, control characters
/// escaped.
///
/// ```
/// use mr_core::output::commit::foreign_names;
/// let entries = [("part-00000", false), ("plots", true), ("_SUCCESS", false), ("a.ipynb", false),
///                ("part-2-analysis", true)];
/// assert_eq!(foreign_names(entries), ["a.ipynb", "part-2-analysis/", "plots/"]);
/// ```
pub fn foreign_names<'a>(entries: impl IntoIterator<Item = (&'a str, bool)>) -> Vec<String> {
    let mut foreign: Vec<String> = entries
        .into_iter()
        // A job writes part files, never part directories.
        .filter(|(name, dir)| !written_by_a_job(name) || (*dir && name.starts_with("part-")))
        .map(|(name, dir)| format!("{}{}", printable_line(name), if dir { "/" } else { "" }))
        .collect();
    foreign.sort();
    foreign
}

/// Why an output holding `foreign` (from [`foreign_names`], not empty) may
/// not be replaced: "files a job does not write, ...: a, b/ and 3 more".
pub fn describe(foreign: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = format!(
        "files a job does not write, which would be lost with it: {}",
        foreign[..foreign.len().min(SHOWN)].join(", ")
    );
    if foreign.len() > SHOWN {
        s.push_str(&format!(" and {} more", foreign.len() - SHOWN));
    }
    s
}

/// The start of the name of an output's staging or aside sibling, local
/// or on a cluster: `.NAME{infix}`, hidden (see the module docs).
/// Whether `file` is a sibling `sibling` or the staging directory name
/// (`.NAME{infix}PID-SUFFIX`, hidden, or not, as runs before 2026-12-05
/// named them) of the output `name`, and not of another output whose name
/// merely starts with that (the output `a.mr-tmp-5-b` is not a staging
/// directory of `a`, nor is its staging `.a.mr-tmp-5-b.mr-tmp-PID-SUFFIX`).
///
/// ```
/// use mr_core::output::commit::{STAGING_INFIX, is_sibling_of};
/// assert!(is_sibling_of("a", STAGING_INFIX, ".a.mr-tmp-42-Xy3zQ9"));
/// assert!(is_sibling_of("a", STAGING_INFIX, "a.mr-tmp-42-abcdef"));
/// assert!(is_sibling_of("a", ".mr-old-", ".a.mr-old-42-0badf00d"));
/// assert!(!is_sibling_of("a", STAGING_INFIX, ".a.mr-tmp-5-b.mr-tmp-42-Xy3zQ9"));
/// assert!(!is_sibling_of("a", STAGING_INFIX, ".ab.mr-tmp-42-Xy3zQ9"));
/// assert!(is_sibling_of("out", STAGING_INFIX, ".out.mr-tmp-panic_on-1796513651-15031"));
/// // A user's own directory, unhidden, is not one of an older run's.
/// assert!(!is_sibling_of("a", ".mr-old-", "a.mr-old-2024-jan"));
/// assert!(!is_sibling_of("a", STAGING_INFIX, "a.mr-tmp-5-b"));
/// ```
pub fn is_sibling_of(name: &str, infix: &str, file: &str) -> bool {
    // PID-RANDOM (a local run's), JOB-STAMP-PID (a cluster run's, see
    // [`cluster_sibling`]): never a dot, which another output's name after
    // the infix has (`.a.mr-tmp-5-b.mr-tmp-…`).
    let id_only = |id: &str| {
        id.contains('-')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if let Some(id) = file
        .strip_prefix('.')
        .and_then(|f| f.strip_prefix(name)?.strip_prefix(infix))
    {
        return id_only(id);
    }
    // Unhidden, as runs before 2026-12-05 named them: only their exact
    // shape, PID-RANDOM (6 letters or digits, a staging directory) or
    // PID-NANOS (8 hex digits, an aside), for a user's own directory
    // beside the output (`a.mr-old-2024-jan`) is never taken for one.
    let legacy = |id: &str| {
        id.split_once('-').is_some_and(|(pid, rest)| {
            !pid.is_empty()
                && pid.bytes().all(|b| b.is_ascii_digit())
                && ((rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
                    || (rest.len() == 8 && rest.bytes().all(|b| b.is_ascii_hexdigit())))
        })
    };
    file.strip_prefix(name)
        .and_then(|f| f.strip_prefix(infix))
        .is_some_and(legacy)
}

/// Sets `last_step`'s output bytes to the size of the part files in the
/// output's `dir`, as they were written: an output protocol other than
/// JSON, or Parquet, writes other bytes than the JSON records counted.
pub fn count_written(counters: &mut crate::counters::Counters, last_step: usize, dir: &Path) {
    let Ok(parts) = crate::output::stdout::part_files(dir) else {
        return;
    };
    let written: u64 = parts
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let name = format!("step {last_step}: output bytes");
    let counted = counters.get(crate::counters::FRAMEWORK, &name);
    counters.add(
        crate::counters::FRAMEWORK,
        &name,
        i64::try_from(written).unwrap_or(i64::MAX) - counted,
    );
}

fn hidden(name: &str, infix: &str) -> String {
    format!(".{name}{infix}")
}

fn sibling(target: &Path, infix: &str) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    target.with_file_name(format!(
        "{}{}-{nanos:08x}",
        hidden(&name, infix),
        std::process::id()
    ))
}

/// The hidden sibling `PARENT/.NAME{infix}{id}` of the output `out` given
/// as a path or a URI (`hdfs://nn/logs/out`), as a cluster run names its
/// staging ([`STAGING_INFIX`]) and aside ([`ASIDE_INFIX`]) directories: the
/// local runner's naming, so that a downstream job reading `PARENT`
/// (Hadoop's input formats, Spark, Hive and pyarrow skip names that start
/// with `.` or `_`) never takes in an output that is not committed. An
/// output with no name to hide (a file system's root) gets `{out}{infix}{id}`.
///
/// ```
/// use mr_core::output::commit::{STAGING_INFIX, cluster_sibling};
/// assert_eq!(cluster_sibling("hdfs://nn:8020/logs/out/", STAGING_INFIX, "j-1"),
///            "hdfs://nn:8020/logs/.out.mr-tmp-j-1");
/// assert_eq!(cluster_sibling("out", STAGING_INFIX, "j-1"), ".out.mr-tmp-j-1");
/// assert_eq!(cluster_sibling("file:///data/out", ".mr-old-", "j-1"), "file:///data/.out.mr-old-j-1");
/// assert_eq!(cluster_sibling("hdfs://nn:8020", STAGING_INFIX, "j-1"), "hdfs://nn:8020.mr-tmp-j-1");
/// assert_eq!(cluster_sibling("/", STAGING_INFIX, "j-1"), "/.mr-tmp-j-1");
/// ```
pub fn cluster_sibling(out: &str, infix: &str, id: &str) -> String {
    let trimmed = out.trim_end_matches('/');
    let out = if trimmed.is_empty() { "/" } else { trimmed };
    // Where the path starts: after `scheme://authority` in a URI.
    let path_start = match out.find("://") {
        Some(i) => out[i + 3..].find('/').map_or(out.len(), |j| i + 3 + j),
        None => 0,
    };
    let (dir, name) = match out[path_start..].rfind('/') {
        Some(i) => out.split_at(path_start + i + 1),
        None => out.split_at(path_start),
    };
    if name.is_empty() || name == "." || name == ".." {
        return format!("{out}{infix}{id}");
    }
    format!("{dir}{}{id}", hidden(name, infix))
}

/// Removes the old output once the new one is in place, unless files no
/// job writes were put in it after it was last checked: then it is kept,
/// and the message says where.
fn remove_old(path: &Path, ours: Ours<'_>) {
    let said = match remove_replaced(path, ours) {
        Ok(()) => return,
        Err(Kept::Foreign(why)) => format!(
            "the new output is in place; the old one was kept in {}, as it {why}",
            path.display()
        ),
        Err(Kept::Failed(e)) => format!(
            "the new output is in place, but removing the old one ({}) failed: {e}",
            path.display()
        ),
    };
    let _ = writeln!(std::io::stderr(), "mr: warning: {said}");
}

/// Whether `target` is a directory (not a link) that is not empty and has
/// no `_SUCCESS`: an output a killed run was removing, when the lock names
/// that run's finished copy.
fn is_part_removed(target: &Path) -> bool {
    fs::symlink_metadata(target).is_ok_and(|m| m.is_dir())
        && !is_empty_dir(target)
        && !target.join(SUCCESS).exists()
}

/// Finishes the commit of a run killed while it removed the old output
/// `target` in place: the rest of it removed, if it holds only what a job
/// writes, and the run's finished `copy` moved in. Anything else in it
/// leaves both as they are (the usual checks then say why).
fn finish_killed_removal(target: &Path, copy: &Path, ours: Ours<'_>) -> Result<()> {
    let shown = |p: &Path| printable_line(&p.display().to_string()).into_owned();
    match remove_replaced(target, ours) {
        Ok(()) => {}
        Err(Kept::Foreign(_)) => return Ok(()),
        Err(Kept::Failed(e)) => {
            return Err(Error::OutputChanged(format!(
                "{} was being replaced by the finished output in {} when its run was killed, \
                 and removing the rest of it failed ({e}): remove it yourself, then move \
                 that output in",
                shown(target),
                shown(copy)
            )));
        }
    }
    fs::rename(copy, target).map_err(|e| Error::io("moving into place", copy, e))?;
    let _ = writeln!(
        std::io::stderr(),
        "mr: note: {} was part-removed by a run killed while it replaced it; that run's \
         finished output ({}) is now in its place",
        shown(target),
        shown(copy)
    );
    Ok(())
}

/// Why [`remove_replaced`] left an old output.
enum Kept {
    /// It holds something a job does not write (or cannot be listed): not
    /// touched.
    Foreign(String),
    /// Its removal failed part way.
    Failed(std::io::Error),
}

/// Removes an output being replaced, if it holds only what a job writes (a
/// file saved into it meanwhile keeps it whole). `_SUCCESS` first: a run
/// killed while removing the rest leaves an unfinished directory, which
/// the next run removes, not an output that looks finished with part
/// files missing.
fn remove_replaced(path: &Path, ours: Ours<'_>) -> std::result::Result<(), Kept> {
    match foreign_entries(path, ours) {
        Ok(foreign) if foreign.is_empty() => {}
        Ok(foreign) => return Err(Kept::Foreign(format!("holds {}", describe(&foreign)))),
        Err(e) => return Err(Kept::Foreign(format!("cannot be listed: {e}"))),
    }
    let _ = fs::remove_file(path.join(SUCCESS));
    fs::remove_dir_all(path).map_err(Kept::Failed)
}

/// What the lock's note says a run killed during its commit left beside
/// the output: its staging directory's name, and the old output's, moved
/// aside, when it got that far without an atomic exchange.
#[derive(Clone, Copy)]
struct Killed<'a> {
    commit: Option<&'a str>,
    aside: Option<&'a str>,
}

/// With the output's lock held, a staging directory beside it belongs to a
/// run that died: remove it (unless it holds a finished output), and put
/// back an old output that a killed run had moved aside. A finished one is
/// removed only if the lock file says its run was killed committing it
/// (`killed.commit`, its name, or `killed.aside`) and a complete output is
/// in place: a copy, new or old, of what the commit would have thrown away;
/// any other is kept and named (results a run kept for the user to move).
fn clean_stale_siblings(
    parent: &Path,
    name: &str,
    target: &Path,
    killed: Killed<'_>,
    reading: &Reading,
) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let (mut n, mut bytes) = (0u64, 0u64);
    let named = |infix: &str, f: &str| is_sibling_of(name, infix, f);
    let mut err = std::io::stderr();
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(f) = file_name.to_str() else {
            continue;
        };
        let path = e.path();
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        // A name of runs before 2026-12-05 (unhidden): a user's own
        // directory may have its shape (`out.mr-old-7-20241205`, a backup),
        // so it is never moved nor removed unless a killed commit's note
        // names it. Put back as the output, it was then replaced and removed
        // by --overwrite (probe /tmp/probe2-safety repro 03).
        let legacy = !f.starts_with('.');
        let surely_a_runs = !legacy || Some(f) == killed.commit;
        let finished = path.join(SUCCESS).exists();
        // A dead run's output given as input (salvaged): neither moved nor
        // removed under the run reading it. Looked for only in a candidate
        // (it resolves the inputs' paths), not in every directory here.
        let holds_input = || reading.inside(&path);
        if named(ASIDE_INFIX, f) {
            if !surely_a_runs {
                if finished && fs::symlink_metadata(target).is_err() {
                    let _ = writeln!(
                        err,
                        "mr: note: {} is missing and {} holds a finished output (_SUCCESS): \
                         a run of an older mr killed while it replaced {} moved it there, or it \
                         is a copy of yours; left as it is (move it back yourself if it is the \
                         output)",
                        printable_path(target),
                        printable_path(&path),
                        printable_path(target)
                    );
                }
                continue;
            }
            if (finished || (!legacy && is_empty_dir(&path)))
                && fs::symlink_metadata(target).is_err()
                && holds_input().is_none()
                && fs::rename(&path, target).is_ok()
            {
                let _ = writeln!(
                    err,
                    "mr: restored {} from {f}, moved aside by a run that was killed",
                    target.display()
                );
                continue;
            }
        } else if !named(STAGING_INFIX, f) {
            continue;
        }
        // Unless the lock's note names it: then it is a killed commit's.
        if !surely_a_runs {
            continue;
        }
        let ours = Ours {
            report: None,
            output: name,
        };
        let only_job_files = foreign_entries(&path, ours).is_ok_and(|f| f.is_empty());
        // Left by a run killed during its commit while a complete output is
        // in place: the new output it never put there, or the old one it had
        // replaced and was removing.
        let of_the_commit = Some(f) == killed.commit || Some(f) == killed.aside;
        let copy = finished && only_job_files && of_the_commit && target.join(SUCCESS).exists();
        if finished && !copy && only_job_files && Some(f) == killed.commit {
            // No complete output in place yet: this run's takes its place
            // (see OutputDir::killed_copy).
            let _ = writeln!(
                err,
                "mr: note: {} holds the finished output of a run killed while it put it in \
                 place as {}; kept until this run's output is in place, then removed",
                printable_path(&path),
                printable_path(target)
            );
            continue;
        }
        if finished && !copy {
            let _ = writeln!(
                err,
                "mr: note: {} holds a finished output (_SUCCESS) that a run which failed or \
                 was killed could not put in place, or the old output it was replacing; \
                 compare it with {} and remove it or move it into place yourself",
                path.display(),
                target.display()
            );
            continue;
        }
        if !only_job_files {
            // An old output kept for files put in it (see `remove_old`).
            continue;
        }
        if let Some(input) = holds_input() {
            let _ = writeln!(
                err,
                "mr: note: left {}, the unfinished output of a dead run, in place: it holds {}, \
                 an input of this run",
                path.display(),
                crate::error::printable_path(input)
            );
            continue;
        }
        let size = crate::runner::workdir::disk_usage(&path);
        // `_SUCCESS` first, as in `remove_old`.
        let _ = fs::remove_file(path.join(SUCCESS));
        if fs::remove_dir_all(&path).is_err() {
            continue;
        }
        if copy {
            let _ = writeln!(
                err,
                "mr: removed {f} ({}), the copy a run killed during its commit \
                 left beside the complete {}",
                crate::runner::workdir::human_bytes(size),
                target.display()
            );
        } else {
            n += 1;
            bytes += size;
        }
    }
    if n > 0 {
        let _ = writeln!(
            err,
            "mr: removed {n} unfinished output dir{} of dead runs ({}) beside {}",
            if n == 1 { "" } else { "s" },
            crate::runner::workdir::human_bytes(bytes),
            target.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// An old output this user could not empty is refused before the run
    /// (another user's `_bad_records` in a shared group directory); an
    /// empty directory of theirs is no obstacle. Root may remove anything.
    #[test]
    fn an_old_output_one_could_not_empty_is_refused_before_the_run() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir_all(out.join("_bad_records")).unwrap();
        fs::create_dir_all(out.join("_dictionaries")).unwrap();
        fs::write(out.join("_bad_records/part-00000"), "x").unwrap();
        let mode = |p: &Path, m| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        mode(&out.join("_dictionaries"), 0o555); // empty: removable all the same
        assert!(check_removable(&out, d.path()).is_ok());
        mode(&out.join("_bad_records"), 0o555);
        let r = check_removable(&out, d.path());
        mode(&out.join("_bad_records"), 0o755);
        mode(&out.join("_dictionaries"), 0o755);
        if rustix::process::geteuid().is_root() {
            assert!(r.is_ok());
        } else {
            assert!(r.unwrap_err().contains("_bad_records"));
        }
    }

    #[test]
    fn refuses_existing_and_cleans_up_on_failure() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("notes.txt"), "mine").unwrap();
        // Not told to pass --overwrite, which would refuse it (probe
        // /tmp/probe2-safety repro 05): said to be no job's output.
        let e = OutputDir::create(&out, false).unwrap_err();
        assert!(matches!(e, Error::OutputNotAnOutput { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.contains("notes.txt") && !e.contains("pass --overwrite"),
            "{e}"
        );
        fs::remove_file(out.join("notes.txt")).unwrap();
        {
            let o = OutputDir::create(&out, true).unwrap();
            fs::write(o.temporary().join("part-00000"), "x").unwrap();
        } // dropped without commit: only the staging dir goes
        assert_eq!(names(d.path()), ["out"]);
        let o = OutputDir::create(&out, true).unwrap();
        fs::write(o.temporary().join("part-00000"), "x").unwrap();
        o.commit().unwrap();
        assert_eq!(names(&out), ["_SUCCESS", "part-00000"]);
        assert_eq!(names(d.path()), ["out"]);
    }

    /// The staging directory stays listed for a forced exit until it is
    /// removed: a forced exit (a SIGQUIT, a second Ctrl-C) that came while
    /// the run cleaned up after a stop found it forgotten but still there,
    /// and left it behind (CI, tests/faults_tasks.rs, SIGQUIT).
    #[test]
    fn staging_is_listed_for_a_forced_exit_until_removed() {
        let d = tempfile::tempdir().unwrap();
        let o = OutputDir::create(&d.path().join("out"), false).unwrap();
        let staging = o.temporary();
        assert!(crate::cancel::listed_for_removal(&staging));
        drop(o);
        assert!(!staging.exists());
        assert!(!crate::cancel::listed_for_removal(&staging));
    }

    /// A name too long for its staging sibling is refused up front.
    #[test]
    fn a_name_too_long_to_stage_beside_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = OutputDir::create(&d.path().join("x".repeat(240)), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("is 240 bytes") && e.contains("at most 219"),
            "{e}"
        );
        let o = OutputDir::create(&d.path().join("y".repeat(219)), false).unwrap();
        o.commit().unwrap();
    }

    /// An empty directory made beforehand is taken without --overwrite,
    /// and replaced only if still empty at the commit.
    #[test]
    fn an_empty_directory_is_taken_without_overwrite() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        let o = OutputDir::create(&out, false).unwrap();
        fs::write(o.temporary().join("part-00000"), "x").unwrap();
        o.commit().unwrap();
        assert_eq!(names(&out), ["_SUCCESS", "part-00000"]);
        assert!(matches!(
            OutputDir::create(&out, false),
            Err(Error::OutputExists(_))
        ));

        let out = d.path().join("out2");
        fs::create_dir(&out).unwrap();
        let o = OutputDir::create(&out, false).unwrap();
        fs::write(out.join("notes.txt"), "put there during the run").unwrap();
        let e = o.commit().unwrap_err().to_string();
        assert!(e.contains("files were put in it during the run"), "{e}");
        assert_eq!(names(&out), ["notes.txt"]);
    }

    #[test]
    fn overwrite_keeps_the_old_output_until_commit() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let o = OutputDir::create(&out, false).unwrap();
        fs::write(o.temporary().join("part-00000"), "old").unwrap();
        o.commit().unwrap();
        let o = OutputDir::create(&out, true).unwrap();
        fs::write(o.temporary().join("part-00000"), "new").unwrap();
        assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "old");
        // A second run on the same output fails at once.
        let e = OutputDir::create(&out, true).unwrap_err().to_string();
        assert!(e.contains("another mr run (in this process, pid"), "{e}");
        o.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "new");
        assert_eq!(names(d.path()), ["out"]);
    }

    #[test]
    fn overwrite_refuses_what_is_not_an_mr_output() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("file");
        fs::write(&f, "keep me").unwrap();
        let home = d.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::write(home.join("notes.txt"), "keep me").unwrap();
        for p in [&f, &home] {
            let e = OutputDir::create(p, true).unwrap_err().to_string();
            assert!(
                e.contains("will not replace") || e.contains("not a directory"),
                "{e}"
            );
        }
        assert_eq!(fs::read_to_string(&f).unwrap(), "keep me");
        assert_eq!(names(&home), ["notes.txt"]);
        // An empty directory is fine.
        let empty = d.path().join("empty");
        fs::create_dir(&empty).unwrap();
        OutputDir::create(&empty, true).unwrap().commit().unwrap();
        assert_eq!(names(&empty), ["_SUCCESS"]);
    }

    /// `--overwrite` keeps a private output private, and a shared one's
    /// group and setgid bit.
    #[test]
    fn overwrite_keeps_the_permissions_of_the_output() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let finished = || {
            let o = OutputDir::create(&out, true).unwrap();
            fs::write(o.temporary().join("part-00000"), "x").unwrap();
            o.commit().unwrap();
        };
        finished();
        for mode in [0o700, 0o2770, 0o755] {
            fs::set_permissions(&out, fs::Permissions::from_mode(mode)).unwrap();
            let gid = fs::metadata(&out).unwrap().gid();
            finished();
            let m = fs::metadata(&out).unwrap();
            assert_eq!(m.permissions().mode() & 0o7777, mode);
            assert_eq!(m.gid(), gid);
        }
    }

    /// `out` made (or replaced) as a finished output of one part file.
    fn one_part_output(out: &Path) -> Result<PathBuf> {
        let o = OutputDir::create(out, true)?;
        fs::write(o.temporary().join("part-00000"), "x").unwrap();
        o.commit()
    }

    /// Files put inside what looks like a job's: a `part-*` directory,
    /// `_logs/`, `_bad_records/`, `_dictionaries/`, a checksum of nothing.
    #[test]
    fn overwrite_looks_inside_the_directories_a_job_writes() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let finished = || one_part_output(&out);
        finished().unwrap();
        // What jobs write there is theirs.
        fs::create_dir_all(out.join("_logs/history")).unwrap();
        fs::write(out.join("_logs/history/job_1_conf.xml"), "x").unwrap();
        fs::create_dir(out.join("_bad_records")).unwrap();
        fs::write(out.join("_bad_records/map-0-00000"), "x").unwrap();
        fs::create_dir(out.join("_dictionaries")).unwrap();
        fs::write(out.join("_dictionaries/username.jsonl"), "x").unwrap();
        finished().unwrap();
        for (mine, shown) in [
            ("part-2-analysis/notes.ipynb", "part-2-analysis/"),
            ("_logs/mine.txt", "_logs/mine.txt"),
            ("_logs/history/deeper/x", "_logs/history/"),
            ("_bad_records/notes.md", "_bad_records/notes.md"),
            ("_dictionaries/lookup.csv", "_dictionaries/lookup.csv"),
            (".my.crc", ".my.crc"),
        ] {
            let path = out.join(mine);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "mine").unwrap();
            let e = finished().unwrap_err().to_string();
            assert!(e.contains(shown), "{mine}: {e}");
            assert!(path.exists(), "{mine}");
            fs::remove_file(&path).unwrap();
            if shown.ends_with('/') {
                fs::remove_dir_all(out.join(shown)).unwrap();
            }
        }
        finished().unwrap();
    }

    /// What a committer leaves in its scratch directories (Hadoop's and
    /// Spark's attempts under `_temporary/`, S3A's `__magic/`) goes with
    /// the output; anything else there, or a directory under a name a job
    /// writes as a file, is the user's, and `--overwrite` refuses: a
    /// dictionary store in `_temporary/ids/` and `_metadata/thesis.docx`
    /// went unseen (probe /tmp/probe25 repro 04).
    #[test]
    fn overwrite_looks_inside_a_committers_scratch() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let finished = || one_part_output(&out);
        finished().unwrap();
        let attempt = out.join("_temporary/0/_temporary/attempt_202612080101_0001_m_000000_0");
        fs::create_dir_all(&attempt).unwrap();
        fs::write(attempt.join("part-00000"), "x").unwrap();
        fs::write(attempt.join(".part-00000.crc"), "x").unwrap();
        fs::create_dir_all(out.join("__magic/job-1/tasks")).unwrap();
        fs::write(out.join("__magic/job-1/tasks/t.pendingset"), "x").unwrap();
        let manifests = out.join("_temporary/job_1/00/manifests");
        fs::create_dir_all(&manifests).unwrap();
        fs::write(manifests.join("task_1-manifest.json"), "{}").unwrap();
        finished().unwrap();
        assert_eq!(names(&out), ["_SUCCESS", "part-00000"]);

        for (mine, shown) in [
            (
                "_temporary/ids/page_url.jsonl",
                "_temporary/ids/page_url.jsonl",
            ),
            (
                "_temporary/ids/.mr-store-sizes.json",
                "_temporary/ids/.mr-store-sizes.json",
            ),
            ("__magic/notes.txt", "__magic/notes.txt"),
            ("_metadata/thesis.docx", "_metadata/"),
            ("_metadata_notes/a", "_metadata_notes/"),
            ("_started_1/a", "_started_1/"),
        ] {
            let path = out.join(mine);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "mine").unwrap();
            let e = OutputDir::create(&out, true).unwrap_err().to_string();
            assert!(e.contains(shown), "{mine}: {e}");
            assert_eq!(e.matches(shown).count(), 1, "named once: {e}");
            assert_eq!(fs::read(&path).unwrap(), b"mine");
            let top = out.join(mine.split('/').next().unwrap());
            fs::remove_dir_all(top).unwrap();
        }
        finished().unwrap();
    }

    /// A finished output the user put files in: `--overwrite` refuses it
    /// up front, keeps the new results when the files come during the run,
    /// and keeps the old output when they come after the last check.
    #[test]
    fn overwrite_never_removes_files_put_in_an_output() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let finished = |parts: &[&str]| {
            let o = OutputDir::create(&out, true).unwrap();
            for p in parts {
                fs::write(o.temporary().join(p), "x").unwrap();
            }
            o.commit()
        };
        finished(&["part-00000"]).unwrap();
        // Hadoop's and Spark's own files are an output's.
        for f in [".part-00000.crc", "._SUCCESS.crc", "part-r-00001.gz"] {
            fs::write(out.join(f), "x").unwrap();
        }
        fs::create_dir(out.join("_logs")).unwrap();
        finished(&["part-00000"]).unwrap();
        assert_eq!(names(&out), ["_SUCCESS", "part-00000"]);

        fs::write(out.join("analysis.ipynb"), "mine").unwrap();
        fs::create_dir(out.join("plots")).unwrap();
        let e = OutputDir::create(&out, true).unwrap_err().to_string();
        assert!(e.contains("analysis.ipynb, plots/"), "{e}");
        assert_eq!(
            names(&out),
            ["_SUCCESS", "analysis.ipynb", "part-00000", "plots"]
        );
        fs::remove_file(out.join("analysis.ipynb")).unwrap();
        fs::remove_dir(out.join("plots")).unwrap();

        // Added while the run ran: the new results are kept beside it.
        let o = OutputDir::create(&out, true).unwrap();
        fs::write(o.temporary().join("part-00000"), "new").unwrap();
        let staging = o.temporary();
        fs::write(out.join("notes.txt"), "mine").unwrap();
        let e = o.commit().unwrap_err().to_string();
        assert!(e.contains("notes.txt") && e.contains("kept in"), "{e}");
        assert_eq!(
            fs::read_to_string(staging.join("part-00000")).unwrap(),
            "new"
        );
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
        fs::remove_dir_all(&staging).unwrap();

        // Added between the last check and the removal: kept aside.
        let old = d.path().join("old");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("part-00000"), "x").unwrap();
        fs::write(old.join("\x1b[31mred"), "mine").unwrap();
        remove_old(&old, Ours::default());
        assert_eq!(names(&old), ["\x1b[31mred", "part-00000"]);
        assert_eq!(
            foreign_entries(&old, Ours::default()).unwrap(),
            ["\\u{1b}[31mred"],
            "a terminal escape in a name is shown escaped"
        );
        fs::remove_file(old.join("\x1b[31mred")).unwrap();
        remove_old(&old, Ours::default());
        assert!(!old.exists());
    }

    /// Stale staging directories (`.out.mr-tmp-*`) go; another output's
    /// stay, and so do names of the unhidden shape older runs used
    /// (`out.mr-tmp-*`, `out.mr-old-*`), which a user's own directory may
    /// have: never removed, and put back as the output only when finished.
    /// The staging directory itself is hidden, so that readers of the parent
    /// directory (`*/part-*`, Spark, pyarrow) skip it.
    #[test]
    fn stale_staging_of_a_dead_run_is_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let [legacy, stale] =
            ["out.mr-tmp-1-abcdef", ".out.mr-tmp-2-abcdef"].map(|n| d.path().join(n));
        let mine = d.path().join("out.mr-old-7-20241205");
        for s in [&legacy, &stale, &mine] {
            fs::create_dir(s).unwrap();
            fs::write(s.join("part-00000"), "x").unwrap();
        }
        let other = d.path().join(".outer.mr-tmp-1-abcdef");
        fs::create_dir(&other).unwrap();
        let o = OutputDir::create(&out, false).unwrap();
        assert!(!stale.exists());
        assert!(
            legacy.exists() && mine.exists(),
            "a user's look-alike was taken"
        );
        assert!(other.exists(), "another output's staging is not ours");
        let staging = o
            .staging
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(staging.starts_with(".out.mr-tmp-"), "{staging}");
        o.commit().unwrap();
    }

    /// A user's finished backup named as older runs named an aside
    /// (`out.mr-old-7-20241205`), beside a missing output: it was put back
    /// as the output, then replaced and removed by --overwrite (probe
    /// /tmp/probe2-safety repro 03). Neither moved nor removed now.
    #[test]
    fn a_backup_named_like_an_older_runs_aside_is_never_moved() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let mine = d.path().join("out.mr-old-7-20241205");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("part-00000"), "mine").unwrap();
        fs::write(mine.join(SUCCESS), "").unwrap();
        for overwrite in [false, true] {
            let o = OutputDir::create(&out, overwrite).unwrap();
            fs::write(o.staging.join("part-00000"), "new").unwrap();
            o.commit().unwrap();
            assert_eq!(fs::read_to_string(mine.join("part-00000")).unwrap(), "mine");
            assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "new");
            fs::remove_dir_all(&out).unwrap();
        }
    }

    /// What a run killed in its commit of `dir/out` leaves: its finished
    /// copy (`part-00000` holding "killed"), named in the lock's note after
    /// `note` ([`COMMITTING`] or [`REMOVING`]); the copy's path.
    fn killed_copy(dir: &Path, note: &str) -> PathBuf {
        let name = ".out.mr-tmp-999999-abcdef";
        let copy = dir.join(name);
        fs::create_dir_all(&copy).unwrap();
        fs::write(copy.join("part-00000"), "killed").unwrap();
        fs::write(copy.join(SUCCESS), "").unwrap();
        fs::write(dir.join(".out.mr-lock"), format!("999999\n{note}{name}\n")).unwrap();
        copy
    }

    /// A run killed while it removed the old output in place (overlayfs,
    /// where the old output cannot be moved: `replace_unmovable`) left it
    /// part-removed without _SUCCESS, its finished copy beside it. The same
    /// command run again failed ("--overwrite will not replace ... it has no
    /// _SUCCESS") and the user had to remove it by hand (probe
    /// /tmp/probe7-env repro 03). The next run now finishes that commit:
    /// the killed run's output is in place, and this run replaces it, or,
    /// without --overwrite, is refused beside it.
    #[test]
    fn a_rerun_finishes_the_removal_a_killed_commit_began() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let lock = d.path().join(".out.mr-lock");
        let copy = d.path().join(".out.mr-tmp-999999-abcdef");
        let part_removed = |with: &[&str]| {
            fs::create_dir_all(&out).unwrap();
            for f in with {
                fs::write(out.join(f), "old").unwrap();
            }
            assert_eq!(killed_copy(d.path(), REMOVING), copy);
        };
        part_removed(&["part-00007", "part-00008"]);
        // Without --overwrite: the killed run's output put in place, this
        // run refused beside it.
        let e = OutputDir::create(&out, false).map(|_| ()).unwrap_err();
        assert!(matches!(e, Error::OutputExists(_)), "{e}");
        assert_eq!(
            fs::read_to_string(out.join("part-00000")).unwrap(),
            "killed"
        );
        assert!(out.join(SUCCESS).exists() && !out.join("part-00007").exists());
        assert!(!copy.exists());
        // With it: the same, then this run's output replaces it.
        fs::remove_dir_all(&out).unwrap();
        part_removed(&["part-00007"]);
        let o = OutputDir::create(&out, true).unwrap();
        fs::write(o.staging.join("part-00000"), "new").unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "new");
        assert!(!copy.exists() && !lock.exists());
        // A file a job does not write in it: both left as they are, and the
        // run refused as before.
        fs::remove_dir_all(&out).unwrap();
        part_removed(&["notes.txt"]);
        assert!(OutputDir::create(&out, true).is_err());
        assert!(out.join("notes.txt").exists() && copy.join(SUCCESS).exists());
    }

    /// A run killed in a commit that removed nothing (its first output,
    /// killed at the rename) leaves the same note and copy as one killed
    /// while removing: part files found at the output since, which mrjob
    /// or `hadoop fs -get` write without _SUCCESS, are the user's. They were
    /// taken for a part-removed output and deleted, the killed run's output
    /// moved in, by a run without --overwrite (probe /tmp/probe14-fs repro
    /// 02). Now they are left, with and without --overwrite.
    #[test]
    fn part_files_after_a_killed_commit_are_not_a_removal_to_finish() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let copy = killed_copy(d.path(), COMMITTING);
        fs::create_dir_all(&out).unwrap();
        for f in ["part-00000", "part-00001"] {
            fs::write(out.join(f), "mine").unwrap();
        }
        for overwrite in [false, true] {
            assert!(OutputDir::create(&out, overwrite).is_err(), "{overwrite}");
            for f in ["part-00000", "part-00001"] {
                assert_eq!(fs::read_to_string(out.join(f)).unwrap(), "mine");
            }
            assert!(!out.join(SUCCESS).exists());
            assert!(copy.join(SUCCESS).exists(), "the killed run's results kept");
        }
    }

    /// Without an atomic exchange (NFS: EINVAL), a commit renames the old
    /// output aside, then the new one in, then removes the old one. A run
    /// killed after the second rename left the whole old output, finished,
    /// beside the new one, for good: the lock's note named only the
    /// staging directory (probe /tmp/probe8-crash repro 01). The note now
    /// names the aside copy too, and the next run removes it; one the note
    /// does not name is kept, as before.
    #[test]
    fn a_killed_fallback_commits_old_output_goes_once_named() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let lock = d.path().join(".out.mr-lock");
        let aside = d.path().join(".out.mr-old-999999-1733500000");
        let killed = |note: &str| {
            for (dir, text) in [(&out, "new"), (&aside, "old")] {
                fs::create_dir_all(dir).unwrap();
                fs::write(dir.join("part-00000"), text).unwrap();
                fs::write(dir.join(SUCCESS), "").unwrap();
            }
            fs::write(&lock, format!("999999\n{COMMITTING}{note}\n")).unwrap();
        };
        killed(".out.mr-tmp-999999-abcdef/.out.mr-old-999999-1733500000");
        drop(OutputDir::create(&out, true).unwrap());
        assert!(!aside.exists(), "the old output moved aside is removed");
        assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "new");
        assert!(out.join(SUCCESS).exists());
        // A note of the staging directory alone: the copy is not known
        // for the commit's, and is kept.
        fs::remove_dir_all(&out).unwrap();
        killed(".out.mr-tmp-999999-abcdef");
        drop(OutputDir::create(&out, true).unwrap());
        assert!(aside.join(SUCCESS).exists());
        assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "new");
    }

    /// A run killed while committing an output that was not there before
    /// left a finished copy that no run removed: the rerun kept it (no
    /// complete output in place yet) and its own lock note replaced the
    /// copy's name (probe /tmp/probe4-crash repro 02). Now the name is
    /// carried: a rerun that fails leaves the note for the next, and the
    /// first that commits removes the copy beside its complete output.
    #[test]
    fn a_killed_first_commits_copy_goes_once_a_rerun_commits() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let lock = d.path().join(".out.mr-lock");
        let copy = d.path().join(".out.mr-tmp-999999-abcdef");
        fs::create_dir_all(&copy).unwrap();
        fs::write(copy.join("part-00000"), "killed").unwrap();
        fs::write(copy.join(SUCCESS), "").unwrap();
        fs::write(&lock, "999999\ncommitting .out.mr-tmp-999999-abcdef\n").unwrap();
        // A rerun that fails (dropped uncommitted): the copy and its name stay.
        drop(OutputDir::create(&out, false).unwrap());
        assert!(copy.join(SUCCESS).exists() && !out.exists());
        // One that commits: its output in place, the copy gone.
        let o = OutputDir::create(&out, false).unwrap();
        assert!(copy.exists(), "kept until the new output is in place");
        fs::write(o.staging.join("part-00000"), "new").unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("part-00000")).unwrap(), "new");
        assert!(!copy.exists());
        assert!(!lock.exists());
    }

    /// A run killed during its commit leaves a finished copy beside the
    /// output and its note in the lock file: the next run removes the copy
    /// when a complete output is in place, and keeps it otherwise.
    #[test]
    fn a_copy_left_by_a_commit_killed_midway_is_removed_when_out_is_complete() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let lock = d.path().join(".out.mr-lock");
        let copy = d.path().join("out.mr-tmp-999999-abcdef");
        let finished = |dir: &Path| {
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join("part-00000"), "x").unwrap();
            fs::write(dir.join(SUCCESS), "").unwrap();
        };
        let killed = "999999\ncommitting out.mr-tmp-999999-abcdef\n";
        // No output in place: the copy may be the only results; kept, and
        // named in the lock's note while no output is in place.
        finished(&copy);
        fs::write(&lock, killed).unwrap();
        drop(OutputDir::create(&out, false).unwrap());
        assert!(copy.exists());
        assert!(
            fs::read_to_string(&lock)
                .unwrap()
                .ends_with("\ncommitting out.mr-tmp-999999-abcdef\n")
        );
        // A complete output in place, but no note: kept (a run may have
        // kept its results there for the user).
        fs::remove_file(&lock).unwrap();
        finished(&out);
        drop(OutputDir::create(&out, true).unwrap());
        assert!(copy.exists());
        // A note naming another directory: kept.
        fs::write(&lock, "999999\ncommitting out.mr-tmp-999999-zzzzzz\n").unwrap();
        drop(OutputDir::create(&out, true).unwrap());
        assert!(copy.exists());
        // A file the user saved in it: kept.
        fs::write(copy.join("notes.txt"), "mine").unwrap();
        fs::write(&lock, killed).unwrap();
        drop(OutputDir::create(&out, true).unwrap());
        assert!(copy.join("notes.txt").exists());
        // The note, a complete output, only what a job writes: removed.
        fs::remove_file(copy.join("notes.txt")).unwrap();
        fs::write(&lock, killed).unwrap();
        let o = OutputDir::create(&out, true).unwrap();
        assert!(!copy.exists());
        assert!(out.join("part-00000").exists());
        o.commit().unwrap();
        assert!(!lock.exists());
    }
}
