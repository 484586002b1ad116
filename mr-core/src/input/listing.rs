//! Expands the user's input arguments into a sorted list of files.
//!
//! - a file is taken as given (even if its name starts with `_` or `.`);
//! - a directory is walked recursively, skipping names that start with `_`
//!   or `.` (Hadoop's rule: `_SUCCESS`, `_logs`, `.crc` files, hidden dirs);
//! - a pattern with `*`, `?` or `[` is expanded as a glob;
//! - `-` is standard input.
//!
//! A path that does not exist, or a pattern that matches nothing, is an error
//! before any work starts. Empty files are kept out of the splits.
//!
//! How a file is read is told by its extension or, failing that, its first
//! bytes: gzip, bzip2, zstd, Parquet (`PAR1`), else plain lines.

use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// A file on disk.
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

/// How a file's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes: can be split anywhere.
    None,
    /// gzip (possibly several concatenated members): one split per file.
    Gzip,
    /// bzip2 (possibly several concatenated streams): one split per file.
    Bzip2,
    /// zstd (possibly several frames): one split per file.
    Zstd,
    /// An Apache Parquet table: one split per row group, each row read as a
    /// JSON line (see [`crate::input::parquet`]).
    Parquet,
}

/// One input file with what the engine needs to split it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Where to read it.
    pub source: InputSource,
    /// The name shown in errors and given to the mapper's context.
    pub display: String,
    /// Size in bytes on disk (0 for stdin: unknown).
    pub size: u64,
    /// Plain or gzip.
    pub compression: Compression,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const BZIP2_MAGIC: &[u8] = b"BZh";
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

impl Compression {
    /// True when the file is a compressed stream that one task reads whole.
    pub fn is_compressed(self) -> bool {
        matches!(
            self,
            Compression::Gzip | Compression::Bzip2 | Compression::Zstd
        )
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn skipped_name(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('_') || n.starts_with('.'))
}

/// Lists the input files named by `args`, in a stable order.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.txt"), "x\n").unwrap();
/// std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
/// let files = mr_core::input::list_inputs(&[dir.path().display().to_string()]).unwrap();
/// assert_eq!(files.len(), 1);
/// assert!(mr_core::input::list_inputs(&["/no/such/file".into()]).is_err());
/// ```
pub fn list_inputs(args: &[String]) -> Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(InputFile {
                source: InputSource::Stdin,
                display: "-".into(),
                size: 0,
                compression: Compression::None,
            });
            continue;
        }
        let path = Path::new(arg);
        if path.exists() {
            add_path(path, true, &mut out)?;
        } else if is_glob(arg) {
            let paths =
                glob::glob(arg).map_err(|e| Error::Config(format!("bad pattern {arg}: {e}")))?;
            let mut matched = false;
            for p in paths {
                let p = p.map_err(|e| {
                    let path = e.path().to_path_buf();
                    Error::io("reading", path, e.into())
                })?;
                matched = true;
                add_path(&p, false, &mut out)?;
            }
            if !matched {
                return Err(Error::InputNotFound { path: arg.clone() });
            }
        } else {
            return Err(Error::InputNotFound { path: arg.clone() });
        }
    }
    Ok(out)
}

fn add_path(path: &Path, explicit: bool, out: &mut Vec<InputFile>) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| Error::io("reading", path, e))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|e| Error::io("listing", path, e))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io("listing", path, e))?;
        entries.sort();
        for p in entries {
            if !skipped_name(&p) {
                add_path(&p, false, out)?;
            }
        }
        return Ok(());
    }
    if !explicit && skipped_name(path) {
        return Ok(());
    }
    if !meta.is_file() {
        // Sockets, FIFOs found while walking: not log files. A FIFO given
        // explicitly is read as a stream.
        if !explicit {
            return Ok(());
        }
    }
    out.push(InputFile {
        source: InputSource::Path(path.to_path_buf()),
        display: path.display().to_string(),
        size: meta.len(),
        compression: detect_compression(path)?,
    });
    Ok(())
}

/// Compression by extension (`.gz`, `.bz2`, `.zst`) or, for other names, by
/// magic bytes (logs are not always named well).
fn detect_compression(path: &Path) -> Result<Compression> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => return Ok(Compression::Gzip),
        Some("bz2") => return Ok(Compression::Bzip2),
        Some("zst") | Some("zstd") => return Ok(Compression::Zstd),
        Some("parquet") => return Ok(Compression::Parquet),
        _ => {}
    }
    let mut magic = [0u8; 4];
    let mut f = fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    use std::io::Read;
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("reading", path, e)),
        }
    }
    let head = &magic[..n];
    Ok(if head.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else if head == b"PAR1" {
        Compression::Parquet
    } else if head.starts_with(BZIP2_MAGIC) && head.len() == 4 && (b'1'..=b'9').contains(&head[3]) {
        Compression::Bzip2
    } else {
        Compression::None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_dirs_skipping_hidden_and_underscore() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::create_dir_all(p.join("sub/.hidden")).unwrap();
        fs::create_dir_all(p.join("_logs")).unwrap();
        fs::write(p.join("b.json"), "1\n").unwrap();
        fs::write(p.join("sub/a.json"), "1\n").unwrap();
        fs::write(p.join("sub/.hidden/x"), "1\n").unwrap();
        fs::write(p.join("_logs/x"), "1\n").unwrap();
        fs::write(p.join(".crc"), "1\n").unwrap();
        let files = list_inputs(&[p.display().to_string()]).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.display.clone()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].ends_with("b.json"));
        assert!(names[1].ends_with("sub/a.json"));
    }

    #[test]
    fn globs_expand_and_missing_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a.log"), "1\n").unwrap();
        fs::write(d.path().join("b.txt"), "1\n").unwrap();
        let pat = format!("{}/*.log", d.path().display());
        assert_eq!(list_inputs(&[pat]).unwrap().len(), 1);
        let none = format!("{}/*.zzz", d.path().display());
        assert!(matches!(
            list_inputs(&[none]),
            Err(Error::InputNotFound { .. })
        ));
    }

    #[test]
    fn gzip_detected_by_magic() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("noext");
        fs::write(&p, [0x1f, 0x8b, 0, 0]).unwrap();
        assert_eq!(detect_compression(&p).unwrap(), Compression::Gzip);
        fs::write(&p, [0x28, 0xb5, 0x2f, 0xfd, 0]).unwrap();
        assert_eq!(detect_compression(&p).unwrap(), Compression::Zstd);
        fs::write(&p, b"BZh9").unwrap();
        assert_eq!(detect_compression(&p).unwrap(), Compression::Bzip2);
        fs::write(&p, b"PAR1....").unwrap();
        assert_eq!(detect_compression(&p).unwrap(), Compression::Parquet);
        fs::write(&p, b"BZh is a word").unwrap();
        assert_eq!(detect_compression(&p).unwrap(), Compression::None);
    }
}
