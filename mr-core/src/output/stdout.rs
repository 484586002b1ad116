//! Results on standard output: part files concatenated (map-only steps) or
//! merged by key (reduce steps), so stdout is in key order.

use crate::error::{Error, Result};
use crate::input::Split;
use crate::input::listing::{Compression, InputFile, InputSource};
use crate::protocol::key_len;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The `part-*` files of the directory `dir` (an output, or a copy of a
/// cluster's), in name order: what [`concat_parts`] and [`merge_parts`]
/// print.
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// for n in ["part-00001", "_SUCCESS", "part-00000.gz"] {
///     std::fs::write(d.path().join(n), "").unwrap();
/// }
/// let parts = mr_core::output::stdout::part_files(d.path()).unwrap();
/// assert_eq!(parts, [d.path().join("part-00000.gz"), d.path().join("part-00001")]);
/// ```
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("listing", dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
        .map(|e| e.path())
        .collect();
    parts.sort();
    Ok(parts)
}

/// Writes the parts to `out`, concatenated in order. A part named as
/// compressed (`part-00000.gz`, `part-r-00000.deflate`: Spark's and Hadoop's
/// under `mapreduce.output.fileoutputformat.compress=true`) whose first
/// bytes agree is decoded; any other part is copied as it is, whatever its
/// first bytes (a raw output line may start as gzip's magic does).
pub fn concat_parts(parts: &[PathBuf], out: &mut dyn Write) -> Result<()> {
    let mut out = StopWriter(out);
    for p in parts {
        let mut f = File::open(p).map_err(|e| Error::io("opening", p, e))?;
        match compressed_part(&mut f, p)? {
            Some(c) => {
                let mut decoded = decoded_part(p, &f, c)?;
                copy_part(&mut decoded, p, &mut out)?;
            }
            None => copy_part(&mut f, p, &mut out)?,
        }
    }
    Ok(())
}

/// The compression of a part that its name and its first bytes both say
/// (see [`concat_parts`]); the file is left at its start.
fn compressed_part(f: &mut File, p: &Path) -> Result<Option<Compression>> {
    use std::io::Seek;
    let Some(ext) = p.extension().and_then(|e| e.to_str()) else {
        return Ok(None);
    };
    let named = Compression::from_extension(ext).filter(|c| *c != Compression::Parquet);
    if named.is_none() && !["snappy", "lz4"].contains(&ext) {
        return Ok(None);
    }
    let mut head = Vec::with_capacity(16);
    Read::by_ref(f)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| Error::io("reading", p, e))?;
    f.rewind().map_err(|e| Error::io("reading", p, e))?;
    let by_magic = Compression::from_magic(&head).filter(|c| Some(*c) == named);
    Ok(by_magic.or_else(|| Compression::by_name(ext, &head)))
}

/// A compressed part's decoded bytes.
fn decoded_part(p: &Path, f: &File, compression: Compression) -> Result<Box<dyn Read + Send>> {
    let size = f.metadata().map_err(|e| Error::io("reading", p, e))?.len();
    let file = InputFile {
        source: InputSource::Path(p.to_path_buf()),
        display: p.display().to_string(),
        size,
        compression,
        id: None,
    };
    let split = Split {
        index: 0,
        file: std::sync::Arc::new(file),
        start: 0,
        end: u64::MAX,
    };
    Ok(crate::input::lines::open_stream_split(&split)?.bytes)
}

/// Copies one part to stdout, each side's error its own: a full disk
/// behind stdout is stdout's, not the part's.
fn copy_part(f: &mut dyn Read, p: &std::path::Path, out: &mut dyn Write) -> Result<()> {
    let stopped = |e: Error| {
        if crate::cancel::requested() {
            Error::Interrupted
        } else {
            e
        }
    };
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(stopped(Error::io("reading", p, e))),
        };
        out.write_all(&buf[..n])
            .map_err(|e| stopped(Error::Stdout(e)))?;
    }
}

/// A writer that fails once a stop was requested (Ctrl-C, SIGTERM), so a
/// slow reader of stdout does not hold a cancelled run until it is done.
struct StopWriter<'a>(&'a mut dyn Write);

impl Write for StopWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if crate::cancel::requested() {
            return Err(std::io::Error::other("interrupted"));
        }
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Writes the lines of sorted parts to `out`, merged by key (the bytes before
/// the first tab). Lines of one part keep their order.
/// A part named as compressed whose first bytes agree is decoded first, as
/// [`concat_parts`] reads it.
pub fn merge_parts(parts: &[PathBuf], out: &mut dyn Write) -> Result<()> {
    // A compressed part (a cluster's `mapreduce.output.fileoutputformat.
    // compress`, as concat_parts reads it) is merged from a decoded copy in
    // a temp dir of its own, removed when this returns.
    let mut decoded: Option<tempfile::TempDir> = None;
    let mut plain = Vec::with_capacity(parts.len());
    for p in parts {
        let mut f = File::open(p).map_err(|e| Error::io("opening", p, e))?;
        let Some(c) = compressed_part(&mut f, p)? else {
            plain.push(p.clone());
            continue;
        };
        let dir = match &mut decoded {
            Some(d) => d,
            None => decoded.insert(
                tempfile::Builder::new()
                    .prefix(".mr-decoded-")
                    .tempdir()
                    .map_err(|e| Error::io("creating a temp dir to decode", p, e))?,
            ),
        };
        let copy = dir.path().join(plain.len().to_string());
        let mut w = File::create(&copy).map_err(|e| Error::io("creating", &copy, e))?;
        std::io::copy(&mut decoded_part(p, &f, c)?, &mut w)
            .map_err(|e| Error::io("decoding", p, e))?;
        plain.push(copy);
    }
    // A cluster's output may have more parts (one per reducer) than the
    // open-files limit lets a merge hold open: merged in passes then.
    let needed = crate::runner::limits::files_to_merge(PARTS_FAN_IN.min(plain.len()), 1);
    let limit = crate::runner::limits::open_files_limit_for(needed);
    let fan_in = crate::runner::limits::fan_in(PARTS_FAN_IN, 1, limit).unwrap_or(2);
    let scratch = match &decoded {
        Some(d) => d.path().to_path_buf(),
        None if plain.len() <= fan_in => std::env::temp_dir(),
        None => decoded
            .insert(
                tempfile::Builder::new()
                    .prefix(".mr-merge-")
                    .tempdir()
                    .map_err(|e| Error::io("creating a temp dir to merge", &plain[0], e))?,
            )
            .path()
            .to_path_buf(),
    };
    merge_sorted_lines_within(&plain, 1, fan_in, &scratch, &mut StopWriter(out)).map_err(
        |e| match e {
            _ if crate::cancel::requested() => Error::Interrupted,
            MergeError::Read { path, source } => Error::io("reading", path, source),
            MergeError::Scratch { path, source } => Error::io("writing", path, source),
            MergeError::Write(e) => Error::Stdout(e),
        },
    )
}

/// The most parts [`merge_parts`] reads at once, unless the open-files limit
/// is lower (64 KiB of buffer each).
const PARTS_FAN_IN: usize = 256;

/// Why [`merge_sorted_lines`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Reading one of the files failed.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the merged lines failed (a broken pipe when the reader left).
    #[error("writing merged lines: {0}")]
    Write(#[source] std::io::Error),
    /// Writing an intermediate file of a merge in several passes failed.
    #[error("writing {}: {source}", path.display())]
    Scratch {
        /// The intermediate file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<MergeError> for std::io::Error {
    /// The error as an I/O error of the same kind (a broken pipe stays one).
    fn from(e: MergeError) -> std::io::Error {
        match e {
            MergeError::Write(e) => e,
            MergeError::Read { path, source } | MergeError::Scratch { path, source } => {
                std::io::Error::new(source.kind(), format!("{}: {source}", path.display()))
            }
        }
    }
}

/// [`merge_sorted_lines`] holding at most `fan_in` files open at once (at
/// least 2): more files are first merged `fan_in` at a time into files in
/// `scratch`, pass after pass, as Hadoop merges by
/// `mapreduce.task.io.sort.factor`. Each group is of consecutive files, so
/// lines of equal keys still come in file order, then in line order. The
/// intermediate files are removed as they are read.
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let files: Vec<_> = (0..5)
///     .map(|i| {
///         let p = d.path().join(format!("in{i}"));
///         std::fs::write(&p, format!("\"a\"\t{i}\n\"b{i}\"\t0\n")).unwrap();
///         p
///     })
///     .collect();
/// let mut out = Vec::new();
/// mr_core::output::stdout::merge_sorted_lines_within(&files, 1, 2, d.path(), &mut out).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("\"a\"\t0\n\"a\"\t1\n\"a\"\t2\n\"a\"\t3\n\"a\"\t4\n\"b0\""), "{text}");
/// assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 5, "scratch files are removed");
/// ```
pub fn merge_sorted_lines_within(
    paths: &[PathBuf],
    key_fields: usize,
    fan_in: usize,
    scratch: &Path,
    out: &mut dyn Write,
) -> std::result::Result<(), MergeError> {
    let fan_in = fan_in.max(2);
    let mut level: Vec<PathBuf> = paths.to_vec();
    // Files this merge made, removed once merged (or on an error).
    let mut made: Vec<PathBuf> = Vec::new();
    let result = (|| {
        let mut pass = 0;
        while level.len() > fan_in {
            let mut next = Vec::with_capacity(level.len().div_ceil(fan_in));
            for (g, group) in level.chunks(fan_in).enumerate() {
                if group.len() == 1 {
                    next.push(group[0].clone());
                    continue;
                }
                // A name of its own: merges may share `scratch`.
                let (file, path) = tempfile::Builder::new()
                    .prefix(&format!(".merge-{pass}-{g:05}-"))
                    .tempfile_in(scratch)
                    .and_then(|t| t.keep().map_err(|e| e.error))
                    .map_err(|source| MergeError::Scratch {
                        path: scratch.to_path_buf(),
                        source,
                    })?;
                let scratch_err = |source| MergeError::Scratch {
                    path: path.clone(),
                    source,
                };
                made.push(path.clone());
                let mut w = std::io::BufWriter::with_capacity(64 << 10, file);
                merge_sorted_lines(group, key_fields, &mut w).map_err(|e| match e {
                    MergeError::Write(source) => scratch_err(source),
                    e => e,
                })?;
                w.flush().map_err(scratch_err)?;
                for p in group.iter().filter(|p| made.contains(p)) {
                    let _ = std::fs::remove_file(p);
                }
                next.push(path);
            }
            level = next;
            pass += 1;
        }
        merge_sorted_lines(&level, key_fields, out)
    })();
    for p in &made {
        let _ = std::fs::remove_file(p);
    }
    result
}

/// Merges files of sorted lines by key (their first `key_fields` tab-separated
/// fields, see [`key_len`]). Lines with equal keys come in file order, then in
/// line order; lines are copied byte for byte (a last line without a newline
/// gets one). Memory: one line and one key per file.
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let (a, b) = (d.path().join("a"), d.path().join("b"));
/// std::fs::write(&a, "\"a\"\t1\n\"b\"\t2\n").unwrap();
/// std::fs::write(&b, "\"a\"\t3\n\"ab\"\t4").unwrap();
/// let mut out = Vec::new();
/// mr_core::output::stdout::merge_sorted_lines(&[a, b], 1, &mut out).unwrap();
/// assert_eq!(out, b"\"a\"\t1\n\"a\"\t3\n\"ab\"\t4\n\"b\"\t2\n");
/// ```
pub fn merge_sorted_lines(
    paths: &[PathBuf],
    key_fields: usize,
    out: &mut dyn Write,
) -> std::result::Result<(), MergeError> {
    struct Cursor<'p> {
        r: BufReader<File>,
        path: &'p Path,
        line: Vec<u8>,
    }
    impl Cursor<'_> {
        /// The next line, with its newline; false at the end.
        fn advance(&mut self) -> std::result::Result<bool, MergeError> {
            self.line.clear();
            let n =
                self.r
                    .read_until(b'\n', &mut self.line)
                    .map_err(|source| MergeError::Read {
                        path: self.path.to_path_buf(),
                        source,
                    })?;
            if n > 0 && self.line.last() != Some(&b'\n') {
                self.line.push(b'\n');
            }
            Ok(n > 0)
        }
        fn key(&self, key_fields: usize) -> &[u8] {
            let l = &self.line[..self.line.len() - 1];
            &l[..key_len(l, key_fields)]
        }
    }
    let mut cursors = Vec::with_capacity(paths.len());
    let mut heap = BinaryHeap::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let f = File::open(path).map_err(|source| MergeError::Read {
            path: path.clone(),
            source,
        })?;
        let mut c = Cursor {
            r: BufReader::with_capacity(64 << 10, f),
            path,
            line: Vec::new(),
        };
        if c.advance()? {
            heap.push(Reverse((c.key(key_fields).to_vec(), i)));
        }
        cursors.push(c);
    }
    // The popped key's buffer is reused for the file's next key.
    while let Some(Reverse((mut key, i))) = heap.pop() {
        let c = &mut cursors[i];
        out.write_all(&c.line).map_err(MergeError::Write)?;
        if c.advance()? {
            key.clear();
            key.extend_from_slice(c.key(key_fields));
            heap.push(Reverse((key, i)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// `dir/name`, written as gzip of `data`.
    fn write_gz(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        path
    }

    #[test]
    fn compressed_parts_are_decoded_and_plain_ones_copied_whatever_they_start_with() {
        let dir = tempfile::tempdir().unwrap();
        let gz = write_gz(dir.path(), "part-00000.gz", b"\"a\"\t1\n");
        let zst = dir.path().join("part-00001.zst");
        std::fs::write(&zst, zstd::encode_all(&b"\"b\"\t2\n"[..], 3).unwrap()).unwrap();
        // A raw line that starts as gzip does, in a part not named .gz.
        let raw = dir.path().join("part-00002");
        std::fs::write(&raw, b"\x1f\x8b raw\n").unwrap();
        // Named .gz but not gzip: copied as it is.
        let named = dir.path().join("part-00003.gz");
        std::fs::write(&named, b"plain\n").unwrap();
        let mut out = Vec::new();
        concat_parts(&[gz, zst, raw, named], &mut out).unwrap();
        assert_eq!(out, b"\"a\"\t1\n\"b\"\t2\n\x1f\x8b raw\nplain\n");
    }

    /// Sorted parts, some compressed, are merged by key from their decoded
    /// lines (they were merged as raw bytes).
    #[test]
    fn compressed_sorted_parts_are_merged_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let gz = write_gz(dir.path(), "part-00000.gz", b"\"a\"\t1\n\"c\"\t3\n");
        let plain = dir.path().join("part-00001");
        std::fs::write(&plain, b"\"b\"\t2\n\"d\"\t4\n").unwrap();
        let zst = dir.path().join("part-00002.zst");
        std::fs::write(&zst, zstd::encode_all(&b"\"bb\"\t5\n"[..], 3).unwrap()).unwrap();
        let mut out = Vec::new();
        merge_parts(&[gz, plain, zst], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\"\t1\n\"b\"\t2\n\"bb\"\t5\n\"c\"\t3\n\"d\"\t4\n"
        );
    }
}
