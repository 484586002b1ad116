//! A file replaced whole: written under a fresh hidden name in its
//! directory, synced, then renamed over the old one, so that a reader or a
//! crash sees the old file or the new one, never a mix.
//!
//! The temporary name is random and created exclusively (`O_EXCL`, through
//! [`tempfile`]): a name planted in a shared directory (a symlink to another
//! file, a FIFO) is never opened. The new file keeps the mode and the group
//! of the file it replaces, as `sed -i` and git do: a file a user made
//! private stays private, one shared through a group stays readable by it,
//! whatever the umask of the run that rewrites it. A new file is made as
//! any file is (0666 less the umask).

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replaces (or creates) the file `path` with what `write` writes to it.
/// `path` itself is never followed if it is a symlink: the link is
/// replaced. Nothing is left behind on an error.
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// let d = tempfile::tempdir().unwrap();
/// let p = d.path().join("store.json");
/// mr_core::replace::replace_file(&p, |w| w.write_all(b"{}")).unwrap();
/// std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
/// mr_core::replace::replace_file(&p, |w| w.write_all(b"{\"a\":1}")).unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}");
/// assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
/// assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1); // no temporary file left
/// ```
pub fn replace_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    Written::new(path, write)?.put_in_place()
}

/// A file's new content, written whole and synced under its temporary
/// name, not yet in place: for replacing several files all or none (write
/// each, then put each in place: a full disk or an error while writing one
/// leaves every file as it was). Dropped, it is removed.
///
/// ```
/// use mr_core::replace::Written;
/// let d = tempfile::tempdir().unwrap();
/// let (a, b) = (d.path().join("a"), d.path().join("b"));
/// let new_a = Written::new(&a, |w| w.write_all(b"1")).unwrap();
/// let failed = Written::new(&b, |_| Err(std::io::Error::other("disk full")));
/// assert!(failed.is_err());
/// drop(new_a); // a run that fails: neither file is there
/// assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
/// Written::new(&a, |w| w.write_all(b"1")).unwrap().put_in_place().unwrap();
/// assert_eq!(std::fs::read(&a).unwrap(), b"1");
/// ```
pub struct Written {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
    _forced: crate::cancel::RemoveOnExit,
}

/// Random letters and digits after a temporary file's prefix.
const TEMP_RANDOM: usize = 6;

/// The start of the temporary name [`Written`] gives a file `name`:
/// `.NAME.tmp-`, then [`TEMP_RANDOM`] random letters and digits.
fn temp_prefix(name: &str) -> String {
    format!(".{}.tmp-", name.trim_start_matches('.'))
}

/// Whether `entry` is a temporary file [`Written`] made for a file `name`
/// (one a killed run left behind).
///
/// ```
/// use mr_core::replace::is_temp_of;
/// assert!(is_temp_of("._report.json.tmp-a1B2c3", "_report.json"));
/// assert!(is_temp_of(".run.html.tmp-a1B2c3", "run.html"));
/// assert!(!is_temp_of("._report.json.tmp-a1B2c3", "run.json"));
/// assert!(!is_temp_of("._report.json.tmp-notes", "_report.json"));
/// ```
pub fn is_temp_of(entry: &str, name: &str) -> bool {
    entry
        .strip_prefix(&temp_prefix(name))
        .is_some_and(|r| r.len() == TEMP_RANDOM && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Written {
    /// Writes what `write` writes to a fresh temporary file beside `path`,
    /// with `path`'s mode and group, and syncs it. Nothing is left behind
    /// on an error.
    pub fn new(
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<Written> {
        let dir = crate::paths::dir_of(path);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let mut tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(&name))
            .rand_bytes(TEMP_RANDOM)
            .permissions(fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        // A forced exit (a second Ctrl-C) while it is written removes it: left,
        // it would be a stray file in an output that --overwrite then refuses.
        let forced = crate::cancel::remove_on_forced_exit(tmp.path());
        if let Ok(old) = fs::symlink_metadata(path)
            && old.file_type().is_file()
        {
            keep_mode_and_group(tmp.as_file(), &old);
        }
        let written = (|| {
            let mut w = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            write(&mut w)?;
            w.flush()?;
            drop(w);
            tmp.as_file().sync_all()
        })();
        // On an error the temporary file is removed (dropped) before the
        // forced exit forgets it.
        written?;
        Ok(Written {
            path: path.to_path_buf(),
            tmp,
            _forced: forced,
        })
    }

    /// The file it replaces.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file over `path`.
    pub fn put_in_place(self) -> io::Result<()> {
        let Written { path, tmp, _forced } = self;
        tmp.persist(path).map(drop).map_err(|e| e.error)
    }
}

/// Gives `new` the group and the mode of `old` (best effort: a group this
/// user is not in cannot be given, and then the mode is given without the
/// group's bits, which would go to this user's own group).
fn keep_mode_and_group(new: &File, old: &fs::Metadata) {
    let mut mode = old.mode() & 0o777;
    if new.metadata().is_ok_and(|m| m.gid() != old.gid())
        && std::os::unix::fs::fchown(new, None, Some(old.gid())).is_err()
    {
        mode &= 0o707;
    }
    let _ = new.set_permissions(fs::Permissions::from_mode(mode));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While it is written, the temporary file is listed for a forced exit
    /// (a second Ctrl-C) to remove; it is forgotten once renamed.
    #[test]
    fn the_temporary_file_is_removed_by_a_forced_exit() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("run.json");
        let mut seen = None;
        replace_file(&p, |w| {
            let tmp = fs::read_dir(d.path())
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            assert!(crate::cancel::listed_for_removal(&tmp), "{tmp:?}");
            seen = Some(tmp);
            w.write_all(b"{}")
        })
        .unwrap();
        let tmp = seen.unwrap();
        assert!(!crate::cancel::listed_for_removal(&tmp));
        assert!(!tmp.exists());
        // A failed write leaves nothing, listed or on disk.
        let failed = replace_file(&p, |_| Err(io::Error::other("boom")));
        assert!(failed.is_err());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        assert!(!crate::cancel::listed_for_removal(&tmp));
    }

    #[test]
    fn a_planted_symlink_at_any_temporary_name_is_never_written_through() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let store = d.path().join("store");
        fs::create_dir(&store).unwrap();
        // Names an older version used: fixed, from the pid.
        for pid in std::process::id()..std::process::id() + 5 {
            let _ = std::os::unix::fs::symlink(&victim, store.join(format!(".a.jsonl.tmp-{pid}")));
        }
        replace_file(&store.join("a.jsonl"), |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(fs::read_to_string(store.join("a.jsonl")).unwrap(), "new");
    }

    #[test]
    fn a_symlink_at_the_path_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let p = d.path().join("a.json");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        replace_file(&p, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert!(fs::symlink_metadata(&p).unwrap().file_type().is_file());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        fs::write(&p, "old").unwrap();
        let err = replace_file(&p, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
