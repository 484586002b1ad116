//! Paths compared by what they name, not by how they are written.
//!
//! A run refuses an output that holds its input, a `--tmp-dir` or a
//! dictionary store inside its output, a report over an input: checks that
//! must hold however the user spells the paths. Two spellings of one
//! directory are not always told apart by resolving links and `..`
//! ([`resolved`]): a bind mount, an automounted home (`/home/ann` and
//! `/export/home/ann`) or a case-insensitive filesystem (exFAT, a Samba
//! share: `logs/wc` and `logs/WC`) name one directory by two paths. So a
//! directory is also known by its identity, the device and inode numbers
//! the kernel gives it ([`Within`]).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// The directory a file at `path` is in, or written in: its parent, `.`
/// for a bare name.
///
/// ```
/// use std::path::Path;
/// assert_eq!(mr_core::paths::dir_of(Path::new("run.json")), Path::new("."));
/// assert_eq!(mr_core::paths::dir_of(Path::new("out/run.json")), Path::new("out"));
/// ```
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The first symlink on the way from `path` to what it names, or the
/// stream (FIFO, device) it names, `stream` (its metadata), that a user
/// other than this one and root owns: what it is and its owner. A path
/// that leads there was planted by another user in a directory both may
/// write (/tmp, a team's): a run neither follows it nor writes into it,
/// whatever the kernel's fs.protected_symlinks and protected_fifos say
/// (they spare directories without the sticky bit, and links resolved by
/// the program itself).
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let link = d.path().join("latest.json");
/// std::os::unix::fs::symlink("run.json", &link).unwrap();
/// assert_eq!(mr_core::paths::foreign_link_or_stream(&link, None), None); // one's own
/// ```
pub fn foreign_link_or_stream(
    path: &Path,
    stream: Option<&std::fs::Metadata>,
) -> Option<(&'static str, u32)> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let foreign = |uid: u32| uid != me && uid != 0;
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(meta) = std::fs::symlink_metadata(&at) else {
            break;
        };
        if !meta.file_type().is_symlink() {
            break;
        }
        if foreign(meta.uid()) {
            return Some(("a symbolic link", meta.uid()));
        }
        let Ok(to) = std::fs::read_link(&at) else {
            break;
        };
        at = dir_of(&at).join(to);
    }
    stream
        .filter(|m| foreign(m.uid()))
        .map(|m| ("a FIFO or device", m.uid()))
}

/// `p` as the kernel would find it, for comparing two paths either of
/// which may not exist yet: absolute, with its existing part's links and
/// `..` resolved, and the part that does not exist yet appended with `.`
/// and `..` taken by name. So `logs/../logs/ids`, `nosuch/../logs/ids` and
/// `logs/ids` are one path, before any of them exists.
///
/// ```
/// use mr_core::paths::resolved;
/// let d = tempfile::tempdir().unwrap();
/// std::fs::create_dir(d.path().join("logs")).unwrap();
/// let one = resolved(&d.path().join("logs/../logs/ids"));
/// assert_eq!(one, resolved(&d.path().join("nosuch/../logs/ids")));
/// assert_eq!(one, resolved(&d.path().join("logs/ids")));
/// ```
pub fn resolved(p: &Path) -> PathBuf {
    // An existing path (every input file) in one call, not one a component.
    if let Ok(real) = std::fs::canonicalize(p) {
        return real;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    let mut exists = true;
    for c in abs.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if exists {
                    match std::fs::canonicalize(&out) {
                        Ok(real) => out = real,
                        Err(_) => exists = false,
                    }
                }
            }
        }
    }
    out
}

/// Whether `path` is `dir` or inside it, by [`resolved`] paths or by the
/// identity of `dir` among `path`'s ancestors (neither need exist).
///
/// ```
/// use mr_core::paths::is_within;
/// let d = tempfile::tempdir().unwrap();
/// let out = d.path().join("out");
/// std::fs::create_dir(&out).unwrap();
/// assert!(is_within(&out.join("part-00000"), &out));
/// assert!(is_within(&out, &out));
/// assert!(is_within(&d.path().join("out/../out/x"), &out));
/// assert!(!is_within(&d.path().join("out2"), &out));
/// // Through a link to it: one directory.
/// # #[cfg(unix)] {
/// std::os::unix::fs::symlink(&out, d.path().join("link")).unwrap();
/// assert!(is_within(&d.path().join("link/x"), &out));
/// # }
/// // Neither exists yet: their paths tell.
/// assert!(is_within(&d.path().join("new/ids"), &d.path().join("new")));
/// ```
pub fn is_within(path: &Path, dir: &Path) -> bool {
    Within::new(dir).contains(path)
}

/// Whether `a` and `b` are one file or directory: by [`resolved`] paths,
/// or by the identity of their nearest existing ancestors and the names
/// below them (neither need exist).
///
/// ```
/// use mr_core::paths::same;
/// let d = tempfile::tempdir().unwrap();
/// assert!(same(d.path(), &d.path().join("x/..")));
/// assert!(!same(d.path(), &d.path().join("x")));
/// # #[cfg(unix)] {
/// std::os::unix::fs::symlink(d.path(), d.path().join("link")).unwrap();
/// assert!(same(&d.path().join("new/out"), &d.path().join("link/new/out")));
/// # }
/// ```
pub fn same(a: &Path, b: &Path) -> bool {
    let (a, b) = (resolved(a), resolved(b));
    a == b || anchor(&a).is_some_and(|k| anchor(&b) == Some(k))
}

/// `path` with its `.` and `..` names folded away by their text alone, as
/// Hadoop's `Path` and Java's `URI.normalize` fold them (`/a/b/../c` is
/// `/a/c`); a `..` above the root stays at the root. Through a symbolic
/// link the result may name another file: see [`same`].
///
/// ```
/// use mr_core::paths::lexically_normal;
/// use std::path::Path;
/// assert_eq!(lexically_normal(Path::new("/w/sub/../data/./f.txt")), Path::new("/w/data/f.txt"));
/// assert_eq!(lexically_normal(Path::new("/../x")), Path::new("/x"));
/// assert_eq!(lexically_normal(Path::new("a/../../b")), Path::new("../b"));
/// ```
pub fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// `path` folded by [`lexically_normal`] (as Hadoop and Spark name it):
/// `Ok` when that is the same file (or `path` has no `.` nor `..`), `Err`
/// with the folded path when a symbolic link makes it another file, one
/// Hadoop and Spark would read in its place.
///
/// ```
/// use mr_core::paths::folded;
/// let d = tempfile::tempdir().unwrap();
/// std::fs::create_dir_all(d.path().join("a/b")).unwrap();
/// assert_eq!(folded(&d.path().join("a/b/../b")), Ok(d.path().join("a/b")));
/// # #[cfg(unix)] {
/// std::os::unix::fs::symlink("..", d.path().join("a/b/up")).unwrap();
/// // a/b/up/.. is d itself, not a/b.
/// assert_eq!(folded(&d.path().join("a/b/up/..")), Err(d.path().join("a/b")));
/// # }
/// ```
pub fn folded(path: &Path) -> Result<PathBuf, PathBuf> {
    let folded = lexically_normal(path);
    if folded == path || same(&folded, path) {
        Ok(folded)
    } else {
        Err(folded)
    }
}

/// A file's identity: its device and inode numbers (links followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
}

/// The identity of what `path` names, if it exists.
#[cfg(unix)]
fn identity(path: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Identity {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// No identity to compare by here: paths alone tell.
#[cfg(not(unix))]
fn identity(_: &Path) -> Option<Identity> {
    None
}

/// The identity of the nearest existing ancestor of `real` (a [`resolved`]
/// path; itself if it exists) and the names below it.
fn anchor(real: &Path) -> Option<(Identity, PathBuf)> {
    real.ancestors().find_map(|a| {
        let tail = real.strip_prefix(a).ok()?;
        Some((identity(a)?, tail.to_path_buf()))
    })
}

/// One directory, asked about many paths ([`Within::contains`]): each
/// ancestor directory is looked at once however many files it holds (an
/// input of 100,000 files in a few directories is a few `stat`s).
pub struct Within {
    /// The directory's path, [`resolved`].
    path: PathBuf,
    /// Its nearest existing ancestor's identity (its own if it exists),
    /// and the names below that.
    anchor: Option<(Identity, PathBuf)>,
    /// Paths none of whose ancestors (nor themselves) has the anchor's
    /// identity.
    outside: HashSet<PathBuf>,
}

impl Within {
    /// The directory `dir` (it need not exist).
    pub fn new(dir: &Path) -> Within {
        let path = resolved(dir);
        Within {
            anchor: anchor(&path),
            path,
            outside: HashSet::new(),
        }
    }

    /// Whether `path` is the directory or inside it (see [`is_within`]).
    pub fn contains(&mut self, path: &Path) -> bool {
        let real = resolved(path);
        if real.starts_with(&self.path) {
            return true;
        }
        let Some((id, tail)) = &self.anchor else {
            return false;
        };
        let mut met = false;
        for a in real.ancestors() {
            if self.outside.contains(a) {
                break;
            }
            if identity(a) == Some(*id) {
                met = true;
                if real
                    .strip_prefix(a)
                    .is_ok_and(|rest| rest.starts_with(tail))
                {
                    return true;
                }
            }
        }
        if !met {
            for a in real.ancestors() {
                if !self.outside.insert(a.to_path_buf()) {
                    break;
                }
            }
        }
        false
    }
}

/// The file in the way of creating the directory `dir` (`notes.txt` for
/// `notes.txt/out`): its nearest ancestor that exists, when that is not a
/// directory (a link is followed; a dangling one is no file in the way).
/// `create_dir_all` says only "File exists" then.
///
/// ```
/// use mr_core::paths::file_in_the_way;
/// let d = tempfile::tempdir().unwrap();
/// let f = d.path().join("notes.txt");
/// std::fs::write(&f, "x").unwrap();
/// assert_eq!(file_in_the_way(&f.join("a/out")), Some(f.as_path()));
/// assert_eq!(file_in_the_way(&d.path().join("a/out")), None);
/// ```
pub fn file_in_the_way(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .find(|a| std::fs::symlink_metadata(a).is_ok())
        .filter(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()))
}

/// The files a run reads (its listed inputs): what its removal of dead
/// runs' leftovers (temp dirs, unfinished outputs) must leave alone, since
/// a user may give one as input (a killed run's step results, salvaged).
///
/// ```
/// use mr_core::paths::Reading;
/// let d = tempfile::tempdir().unwrap();
/// std::fs::create_dir(d.path().join("dead")).unwrap();
/// let input = d.path().join("dead/part-00000");
/// std::fs::write(&input, "x\n").unwrap();
/// let reading = Reading::new([input.clone()]);
/// assert_eq!(reading.inside(&d.path().join("dead")), Some(input.as_path()));
/// assert_eq!(reading.inside(&d.path().join("other")), None);
/// assert_eq!(Reading::default().inside(d.path()), None);
/// ```
///
/// Shared, not copied, by a clone: a run keeps it in its output directory,
/// and a listing of many files would be held twice (a path a file).
#[derive(Clone, Debug, Default)]
pub struct Reading(std::sync::Arc<[PathBuf]>);

impl Reading {
    /// The files at `paths`.
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Reading {
        Reading(paths.into_iter().collect())
    }

    /// The first of the files that is `dir` or inside it (by identity too,
    /// see [`Within`]).
    pub fn inside(&self, dir: &Path) -> Option<&Path> {
        if self.0.is_empty() {
            return None;
        }
        let mut within = Within::new(dir);
        self.0
            .iter()
            .find(|p| within.contains(p))
            .map(PathBuf::as_path)
    }
}

/// The owner of `file` when this user may not rename or remove it: in a
/// sticky directory (`dir_meta`: `/tmp`, a team's scratch), only the
/// file's owner, the directory's or root may. `None` when they may, or
/// there is no `file`.
#[cfg(unix)]
pub(crate) fn sticky_owner(dir_meta: &std::fs::Metadata, file: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid();
    let owner = std::fs::symlink_metadata(file).ok()?.uid();
    (!me.is_root()
        && dir_meta.mode() & 0o1000 != 0
        && dir_meta.uid() != me.as_raw()
        && owner != me.as_raw())
    .then_some(owner)
}
