//! Writing generated lines into `part-NNNNN` files, some of them gzipped.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::GenSummary;

/// Capacity of the write buffer in front of each file (and of each gzip encoder): 1 MiB.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// Extensions of the files `mr gen` writes (`part-NNNNN.<ext>[.gz]`).
const GENERATED_EXTENSIONS: [&str; 2] = ["jsonl", "txt"];

/// The parts the last `mr gen` into a directory wrote, one name a line
/// (hidden: a reader of the directory skips it). Only those a later `mr
/// gen` replaces or removes; a part file it does not list is a user's, and
/// makes `mr gen` refuse the directory: every `part-NNNNN.{txt,jsonl}` there
/// was removed, the user's own too (probe /tmp/probe25 repro 01).
pub(crate) const OWNED_PARTS: &str = mr_core::input::listing::GEN_PARTS;

/// One open output file.
enum Sink {
    Plain(BufWriter<File>),
    // Boxed: the encoder's state is large (zlib-rs backend).
    Gz(Box<BufWriter<GzEncoder<BufWriter<File>>>>),
}

impl Sink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gz(w) => w.write_all(bytes),
        }
    }

    /// Flushes everything and, for gzip, writes the trailer.
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gz(w) => {
                let encoder = (*w).into_inner().map_err(|e| e.into_error())?;
                encoder.finish()?.flush()
            }
        }
    }
}

/// Lines written between two looks at [`mr_core::cancel::check`] (a relaxed
/// atomic load): about 100 KB of data, well under a millisecond.
const LINES_PER_CANCEL_CHECK: u64 = 1024;

/// The suffix of a part being written: `.part-00000.txt.gz.mr-tmp`, hidden
/// (a directory given as input skips names starting with `.`), renamed to
/// `part-00000.txt.gz` once every part is complete.
const TEMP_SUFFIX: &str = ".mr-tmp";

/// Cuts a stream of lines into `files` consecutive chunks of about `target / files` bytes each.
///
/// The generator writes lines until [`PartWriter::done`]; file `k` is closed once the total reaches
/// `target * (k + 1) / files`, so the total overshoots `target` by less than one line.
///
/// Each part is written under a hidden temp name ([`TEMP_SUFFIX`]) and all are renamed into place
/// by [`PartWriter::finish`], then the stale parts of an earlier run are removed: a part name
/// always holds a whole part. Interrupted (Ctrl-C: [`mr_core::cancel::check`] every
/// [`LINES_PER_CANCEL_CHECK`] lines), failed or dropped unfinished, the writer removes its temp
/// files and the directory is as it was; killed (`kill -9`), it leaves hidden temp files that
/// the next `mr gen` into the directory removes, or, killed while it puts its parts in place (a
/// few renames), some new parts beside old ones, all listed in [`OWNED_PARTS`] before the first
/// rename, which the next `mr gen` replaces.
pub(crate) struct PartWriter {
    // PROPERTIES
    dir: PathBuf,
    paths: Vec<PathBuf>,
    gz_from: usize,
    target: u64,
    // STATE
    current: usize,
    sink: Option<Sink>,
    bytes: u64,
    lines: u64,
    /// The parts an earlier `mr gen` wrote here ([`OWNED_PARTS`]): the only ones replaced or
    /// removed.
    owned: std::collections::BTreeSet<String>,
    // RESOURCES
    /// The temp files opened so far; removed on drop unless renamed into place.
    temps: Vec<PathBuf>,
    /// The directory, if this writer created it (removed on drop when left empty).
    created_dir: bool,
    /// The temp files, for a forced exit (a second Ctrl-C) to remove.
    forced_exit: Vec<mr_core::cancel::RemoveOnExit>,
    /// `DIR/.mr-gen.lock`, held while this writer lives: a second `mr gen`
    /// into the directory would sweep this one's temp files as a killed
    /// run's and write its own under the same names.
    lock: Option<mr_core::lock::OwnerLock>,
}

impl PartWriter {
    /// Creates `dir` if needed, removes the temp files of a killed earlier run, and opens the
    /// first file.
    ///
    /// The last `gz_files` of the `files` files are gzipped (`part-NNNNN.<ext>.gz`).
    pub(crate) fn create(
        dir: &Path,
        ext: &str,
        files: u32,
        gz_files: u32,
        target: u64,
    ) -> anyhow::Result<Self> {
        super::check_layout(files, gz_files)?;
        if dir == Path::new("-") {
            crate::usage!(
                "--output -: mr gen writes a directory of part files (give ./- for a directory \
                 of that name; `cat DIR/part-*` streams them)"
            );
        }
        // Another user's link planted at DIR (in /tmp): never followed,
        // its target's part files would be replaced.
        if let Some((what, uid)) = mr_core::paths::foreign_link_or_stream(dir, None) {
            anyhow::bail!(
                "--output {}: {what} owned by another user (uid {uid}): not followed (mr gen \
                 would replace the part files where it points); give a path of your own",
                dir.display()
            );
        }
        let created_dir = fs::symlink_metadata(dir).is_err();
        crate::create_dir_all(dir)?;
        let lock_path = dir.join(mr_core::lock::GEN_LOCK_FILE);
        let lock = match mr_core::lock::OwnerLock::claim(&lock_path)
            .with_context(|| format!("locking {}", lock_path.display()))?
        {
            mr_core::lock::Claim::Acquired(lock) => lock,
            mr_core::lock::Claim::Held { pid } => {
                let by = pid.map_or_else(String::new, |pid| format!(" (pid {pid})"));
                anyhow::bail!(
                    "another mr gen{by} is writing {}: wait for it to finish, or give another \
                     --output",
                    dir.display()
                );
            }
        };
        remove_generated(dir, is_stale_temp)?;
        let owned = owned_parts(dir)?;
        refuse_parts_of_others(dir, &owned)?;
        let gz_from = (files - gz_files) as usize;
        let paths = (0..files as usize)
            .map(|i| {
                let gz = if i >= gz_from { ".gz" } else { "" };
                dir.join(format!("part-{i:05}.{ext}{gz}"))
            })
            .collect();
        let mut writer = PartWriter {
            dir: dir.to_path_buf(),
            paths,
            gz_from,
            target,
            current: 0,
            sink: None,
            bytes: 0,
            lines: 0,
            owned,
            temps: Vec::new(),
            created_dir,
            forced_exit: Vec::new(),
            lock: Some(lock),
        };
        writer.sink = Some(writer.open(0)?);
        Ok(writer)
    }

    /// True once `target` bytes have been written.
    pub(crate) fn done(&self) -> bool {
        self.bytes >= self.target
    }

    /// Writes one line (its line ending included); fails with
    /// [`mr_core::Error::Interrupted`] once a stop was asked for.
    pub(crate) fn write_line(&mut self, line: &[u8]) -> anyhow::Result<()> {
        if self.lines.is_multiple_of(LINES_PER_CANCEL_CHECK) {
            self.check_cancel()?;
        }
        let path = &self.temps[self.current];
        let sink = self
            .sink
            .as_mut()
            .context("internal error: write after finish")?;
        sink.write_all(line)
            .with_context(|| format!("writing {}", path.display()))?;
        self.bytes += line.len() as u64;
        self.lines += 1;
        if self.current + 1 < self.paths.len() && self.bytes >= self.boundary(self.current) {
            self.close_current()?;
            self.current += 1;
            self.sink = Some(self.open(self.current)?);
        }
        Ok(())
    }

    /// Closes the current file, writes any remaining (empty) files, puts every part in place
    /// (then removes the stale parts of an earlier run) and returns what was written.
    pub(crate) fn finish(mut self) -> anyhow::Result<GenSummary> {
        self.close_current()?;
        for i in self.current + 1..self.paths.len() {
            let sink = self.open(i)?;
            sink.finish()
                .with_context(|| format!("writing {}", self.temps[i].display()))?;
        }
        self.check_cancel()?;
        // Held off by a forced exit (Ctrl-C twice, the watchdog) until done:
        // never half the new parts beside half the old ones. A SIGKILL in
        // these few renames can still leave a mix; the new parts go first,
        // and the old ones the new set does not replace are removed last,
        // so none is lost before the new set is in place.
        let new: std::collections::BTreeSet<String> = self
            .paths
            .iter()
            .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .collect();
        mr_core::cancel::critical(|| -> anyhow::Result<()> {
            // Listed before the first rename (a rename keeps a file's
            // identity): killed among them, the mix of new and old parts
            // is all this tool's, for the next run.
            let old = self.owned.iter().map(|n| (n.as_str(), self.dir.join(n)));
            let news = || {
                self.paths
                    .iter()
                    .filter_map(|p| Some((p.file_name()?.to_str()?, p.clone())))
            };
            let temps = news().zip(&self.temps).map(|((n, _), t)| (n, t.clone()));
            write_owned_parts(&self.dir, old.chain(temps))?;
            for (temp, path) in self.temps.iter().zip(&self.paths) {
                fs::rename(temp, path).with_context(|| {
                    format!("renaming {} to {}", temp.display(), path.display())
                })?;
            }
            remove_generated(&self.dir, |name| {
                self.owned.contains(name) && !new.contains(name)
            })?;
            write_owned_parts(&self.dir, news())
        })?;
        self.temps.clear();
        Ok(GenSummary {
            files: std::mem::take(&mut self.paths),
            bytes: self.bytes,
            lines: self.lines,
        })
    }

    /// `Err` ([`mr_core::Error::Interrupted`], with what became of the files) once a stop was
    /// asked for.
    fn check_cancel(&self) -> anyhow::Result<()> {
        mr_core::cancel::check().map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "interrupted; the unfinished part files were removed, {} is as it was",
                self.dir.display()
            ))
        })
    }

    /// Total bytes after which file `k` is closed.
    fn boundary(&self, k: usize) -> u64 {
        let total = u128::from(self.target) * (k as u128 + 1) / self.paths.len() as u128;
        total as u64
    }

    /// Opens part `i` under its temp name (`i` is the next part: the temps are opened in order).
    fn open(&mut self, i: usize) -> anyhow::Result<Sink> {
        let path = &self.paths[i];
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("internal error: a part without a name")?;
        let temp = self.dir.join(format!(".{name}{TEMP_SUFFIX}"));
        self.forced_exit
            .push(mr_core::cancel::remove_on_forced_exit(&temp));
        // Made, never opened if there: a link planted at the name in a
        // shared directory would have the file it names truncated.
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .with_context(|| format!("creating {}", temp.display()))?;
        self.temps.push(temp);
        Ok(if i >= self.gz_from {
            let encoder = GzEncoder::new(
                BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
                Compression::fast(),
            );
            Sink::Gz(Box::new(BufWriter::with_capacity(
                WRITE_BUFFER_BYTES,
                encoder,
            )))
        } else {
            Sink::Plain(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file))
        })
    }

    fn close_current(&mut self) -> anyhow::Result<()> {
        if let Some(sink) = self.sink.take() {
            let path = &self.temps[self.current];
            sink.finish()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

impl Drop for PartWriter {
    /// Unfinished (an error, an interrupt): removes the temp files, and the directory if this
    /// writer created it and it is left empty. Best effort: the run already failed.
    fn drop(&mut self) {
        drop(self.sink.take());
        for temp in self.temps.drain(..) {
            let _ = fs::remove_file(temp);
        }
        drop(self.lock.take());
        if self.created_dir && !self.paths.is_empty() {
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// Removes the files of `dir` whose names `remove` picks: the parts of an earlier run that a
/// smaller `--files` or a different `--gz-files` would leave stale, or the temp files of a
/// killed one. Other files are left alone.
fn remove_generated(dir: &Path, remove: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(&remove) {
            let path = entry.path();
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// The parts [`OWNED_PARTS`] in `dir` lists that are still the files it
/// wrote (none without it): a line is a name and the file's identity
/// ([`identity`]), so a user's file put under a listed name (the parts
/// removed, the list left, logs copied in) is not taken for one.
fn owned_parts(dir: &Path) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let path = dir.join(OWNED_PARTS);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(n, id)| {
                is_generated_part(n) && identity(&dir.join(n)).is_some_and(|now| now == *id)
            })
            .map(|(n, _)| n.to_string())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Default::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// A file's identity as [`OWNED_PARTS`] keeps it: device, inode, size and
/// modification time (a rename keeps them all); `None` without the file.
fn identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path).ok()?;
    Some(format!(
        "{}:{}:{}:{}.{:09}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// Refuses `dir` when it holds part files (names `mr gen` writes) that
/// `owned` does not list: a user's, which would be replaced or removed.
fn refuse_parts_of_others(
    dir: &Path,
    owned: &std::collections::BTreeSet<String>,
) -> anyhow::Result<()> {
    let mut others = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_generated_part(&name) && !owned.contains(&name) {
            others.push(name);
        }
    }
    if others.is_empty() {
        return Ok(());
    }
    others.sort();
    let shown = others.len().min(5);
    let more = match others.len() - shown {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    anyhow::bail!(
        "--output {}: it holds part files that its list of what mr gen wrote there \
         ({OWNED_PARTS}) does not name ({}{more}), which mr gen would replace or remove: give \
         a new or empty directory (if an mr gen wrote them, one older than this one or before \
         they were changed, remove them first)",
        dir.display(),
        mr_core::error::printable_line(&others[..shown].join(", "))
    )
}

/// Writes [`OWNED_PARTS`] in `dir`: each part's name and the identity of
/// the file at its path (which a rename to the name keeps), whole or not
/// at all (a temp file renamed over it, under the directory's lock).
fn write_owned_parts<'a>(
    dir: &Path,
    parts: impl Iterator<Item = (&'a str, PathBuf)>,
) -> anyhow::Result<()> {
    let path = dir.join(OWNED_PARTS);
    let temp = dir.join(mr_core::input::listing::GEN_PARTS_TEMP);
    let text: String = parts
        .filter_map(|(n, p)| Some(format!("{n}\t{}\n", identity(&p)?)))
        .collect();
    fs::write(&temp, text).with_context(|| format!("writing {}", temp.display()))?;
    fs::rename(&temp, &path)
        .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
}

/// True for the temp name of a part (`.part-00003.txt.gz.mr-tmp`), as a killed `mr gen`
/// leaves it.
fn is_stale_temp(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        .is_some_and(is_generated_part)
}

/// True for names like `part-00003.jsonl` or `part-00003.txt.gz`.
fn is_generated_part(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("part-") else {
        return false;
    };
    let (digits, ext) = rest.split_at(rest.find('.').unwrap_or(rest.len()));
    let ext = ext.strip_prefix('.').unwrap_or("");
    let ext = ext.strip_suffix(".gz").unwrap_or(ext);
    digits.len() == 5
        && digits.bytes().all(|b| b.is_ascii_digit())
        && GENERATED_EXTENSIONS.contains(&ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_part_names() {
        assert!(is_generated_part("part-00000.jsonl"));
        assert!(is_generated_part("part-00012.txt.gz"));
        assert!(!is_generated_part("part-0000.txt"));
        assert!(!is_generated_part("part-00000.csv"));
        assert!(!is_generated_part("part-00000"));
        assert!(!is_generated_part("_SUCCESS"));
        assert!(!is_generated_part("notes.txt"));
        assert!(is_stale_temp(".part-00003.txt.gz.mr-tmp"));
        assert!(!is_stale_temp("part-00003.txt.gz.mr-tmp"));
        assert!(!is_stale_temp(".notes.txt.mr-tmp"));
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// Parts are written under hidden names and appear only complete, all at once; an unfinished
    /// writer (an error, Ctrl-C) leaves the directory as it was.
    #[test]
    fn parts_appear_only_when_all_are_complete() {
        let dir = tempfile::TempDir::new().unwrap();
        // An earlier mr gen's part (listed as its own).
        fs::write(dir.path().join("part-00000.txt"), "old\n").unwrap();
        listed(dir.path(), &["part-00000.txt"]);
        // A killed earlier run's temp file goes.
        fs::write(dir.path().join(".part-00001.txt.mr-tmp"), "cut").unwrap();
        let mut w = PartWriter::create(dir.path(), "txt", 2, 1, 100).unwrap();
        for _ in 0..6 {
            w.write_line(b"0123456789\n").unwrap();
        }
        assert_eq!(
            names(dir.path()),
            [
                ".mr-gen-parts",
                ".mr-gen.lock",
                ".part-00000.txt.mr-tmp",
                ".part-00001.txt.gz.mr-tmp",
                "part-00000.txt"
            ]
        );
        drop(w);
        assert_eq!(names(dir.path()), [".mr-gen-parts", "part-00000.txt"]);
        assert_eq!(
            fs::read(dir.path().join("part-00000.txt")).unwrap(),
            b"old\n"
        );

        let mut w = PartWriter::create(dir.path(), "txt", 2, 1, 100).unwrap();
        while !w.done() {
            w.write_line(b"0123456789\n").unwrap();
        }
        w.finish().unwrap();
        assert_eq!(
            names(dir.path()),
            [".mr-gen-parts", "part-00000.txt", "part-00001.txt.gz"]
        );
        assert_eq!(
            fs::metadata(dir.path().join("part-00000.txt"))
                .unwrap()
                .len(),
            55
        );
    }

    /// A second writer into the directory is refused while the first
    /// lives: it would sweep the first one's temp files as a killed run's
    /// and write its own under the same names.
    #[test]
    fn one_writer_at_a_time() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut first = PartWriter::create(dir.path(), "txt", 2, 0, 100).unwrap();
        first.write_line(b"0123456789\n").unwrap();
        let second = PartWriter::create(dir.path(), "txt", 2, 0, 100)
            .err()
            .unwrap();
        assert!(second.to_string().contains("another mr gen"), "{second}");
        while !first.done() {
            first.write_line(b"0123456789\n").unwrap();
        }
        first.finish().unwrap();
        assert_eq!(
            names(dir.path()),
            [".mr-gen-parts", "part-00000.txt", "part-00001.txt"]
        );
        // A link planted at a temp name is removed, never written through.
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(".part-00001.txt.mr-tmp")).unwrap();
        let mut w = PartWriter::create(dir.path(), "txt", 2, 0, 100).unwrap();
        while !w.done() {
            w.write_line(b"0123456789\n").unwrap();
        }
        w.finish().unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
    }

    /// A directory the writer created is removed when it stops unfinished.
    #[test]
    fn an_unfinished_writer_removes_the_directory_it_made() {
        let dir = tempfile::TempDir::new().unwrap();
        let out = dir.path().join("new/out");
        let mut w = PartWriter::create(&out, "jsonl", 3, 0, 1000).unwrap();
        w.write_line(b"{}\n").unwrap();
        drop(w);
        assert!(!out.exists());
        assert!(dir.path().join("new").exists());
    }

    #[test]
    fn chunks_and_stale_parts() {
        let dir = tempfile::TempDir::new().unwrap();
        // An earlier mr gen's (of the other kind), which the new set does not replace.
        fs::write(dir.path().join("part-00007.jsonl"), "stale").unwrap();
        listed(dir.path(), &["part-00007.jsonl"]);
        fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let mut w = PartWriter::create(dir.path(), "txt", 3, 1, 100).unwrap();
        while !w.done() {
            w.write_line(b"0123456789\n").unwrap();
        }
        let summary = w.finish().unwrap();
        assert_eq!(summary.lines, 10);
        assert_eq!(summary.bytes, 110);
        let names: Vec<_> = summary
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            ["part-00000.txt", "part-00001.txt", "part-00002.txt.gz"]
        );
        assert!(!dir.path().join("part-00007.jsonl").exists());
        assert!(dir.path().join("keep.txt").exists());
        // Files close at 33 and 66 bytes: three 11-byte lines each in the first two files.
        assert_eq!(fs::metadata(&summary.files[0]).unwrap().len(), 33);
        assert_eq!(fs::metadata(&summary.files[1]).unwrap().len(), 33);
    }

    /// Part files no mr gen wrote (a user's logs, named as Hadoop names
    /// its output) make `mr gen` refuse the directory, untouched: they
    /// were all removed, also those of the other kind and those past the
    /// new count (probe /tmp/probe25 repro 01). The parts it wrote itself
    /// it replaces and removes, as before.
    #[test]
    fn parts_no_mr_gen_wrote_are_never_replaced_or_removed() {
        let dir = tempfile::TempDir::new().unwrap();
        let mine = ["part-00000.txt", "part-00003.txt", "part-00042.jsonl.gz"];
        for n in mine {
            fs::write(dir.path().join(n), "mine").unwrap();
        }
        let e = PartWriter::create(dir.path(), "txt", 2, 0, 100)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("does not name (part-00000.txt, part-00003.txt, part-00042.jsonl.gz)"),
            "{e}"
        );
        assert_eq!(names(dir.path()), mine);
        // One of them listed (an earlier mr gen's): the others still refuse.
        listed(dir.path(), &["part-00000.txt"]);
        let e = PartWriter::create(dir.path(), "txt", 2, 0, 100)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("(part-00003.txt, part-00042.jsonl.gz)"), "{e}");
        for n in mine {
            assert_eq!(fs::read(dir.path().join(n)).unwrap(), b"mine");
        }
        // Its own, in a directory of its own: four parts, then two.
        let own = dir.path().join("own");
        for files in [4, 2] {
            let mut w = PartWriter::create(&own, "txt", files, 0, 100).unwrap();
            while !w.done() {
                w.write_line(b"0123456789\n").unwrap();
            }
            w.finish().unwrap();
        }
        assert_eq!(
            names(&own),
            [".mr-gen-parts", "part-00000.txt", "part-00001.txt"]
        );
        let list = fs::read_to_string(own.join(OWNED_PARTS)).unwrap();
        let listed: Vec<&str> = list
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(listed, ["part-00000.txt", "part-00001.txt"]);
        // Its parts removed and the user's logs copied in under their
        // names, the list left behind: the list names files that are gone,
        // and the user's are refused, not replaced (review of 1122b90).
        for n in ["part-00000.txt", "part-00001.txt"] {
            fs::remove_file(own.join(n)).unwrap();
            fs::write(own.join(n), "my precious log").unwrap();
        }
        let e = PartWriter::create(&own, "txt", 1, 0, 100)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("(part-00000.txt, part-00001.txt)"), "{e}");
        for n in ["part-00000.txt", "part-00001.txt"] {
            assert_eq!(fs::read(own.join(n)).unwrap(), b"my precious log");
        }
    }

    /// Lists `names` in `dir` as parts an earlier `mr gen` wrote there.
    fn listed(dir: &Path, names: &[&str]) {
        write_owned_parts(dir, names.iter().map(|n| (*n, dir.join(n)))).unwrap();
    }

    #[test]
    fn empty_target_still_writes_every_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let w = PartWriter::create(dir.path(), "jsonl", 2, 1, 0).unwrap();
        assert!(w.done());
        let summary = w.finish().unwrap();
        assert_eq!(summary.lines, 0);
        for path in &summary.files {
            assert!(path.exists());
        }
    }
}
