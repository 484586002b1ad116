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

/// Extensions of the files `mr gen` writes; files named `part-NNNNN.<ext>[.gz]` are replaced on each run.
const GENERATED_EXTENSIONS: [&str; 2] = ["jsonl", "txt"];

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

/// Cuts a stream of lines into `files` consecutive chunks of about `target / files` bytes each.
///
/// The generator writes lines until [`PartWriter::done`]; file `k` is closed once the total reaches
/// `target * (k + 1) / files`, so the total overshoots `target` by less than one line.
pub(crate) struct PartWriter {
    // PROPERTIES
    paths: Vec<PathBuf>,
    gz_from: usize,
    target: u64,
    // STATE
    current: usize,
    sink: Option<Sink>,
    bytes: u64,
    lines: u64,
}

impl PartWriter {
    /// Creates `dir` if needed, removes stale generated parts, and opens the first file.
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
            anyhow::bail!(
                "--output -: mr gen writes a directory of part files (give ./- for a directory \
                 of that name; `cat DIR/part-*` streams them)"
            );
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        remove_stale_parts(dir)?;
        let gz_from = (files - gz_files) as usize;
        let paths = (0..files as usize)
            .map(|i| {
                let gz = if i >= gz_from { ".gz" } else { "" };
                dir.join(format!("part-{i:05}.{ext}{gz}"))
            })
            .collect();
        let mut writer = PartWriter {
            paths,
            gz_from,
            target,
            current: 0,
            sink: None,
            bytes: 0,
            lines: 0,
        };
        writer.sink = Some(writer.open(0)?);
        Ok(writer)
    }

    /// True once `target` bytes have been written.
    pub(crate) fn done(&self) -> bool {
        self.bytes >= self.target
    }

    /// Writes one line (its line ending included).
    pub(crate) fn write_line(&mut self, line: &[u8]) -> anyhow::Result<()> {
        let path = &self.paths[self.current];
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

    /// Closes the current file, writes any remaining (empty) files and returns what was written.
    pub(crate) fn finish(mut self) -> anyhow::Result<GenSummary> {
        self.close_current()?;
        for i in self.current + 1..self.paths.len() {
            self.open(i)?
                .finish()
                .with_context(|| format!("writing {}", self.paths[i].display()))?;
        }
        Ok(GenSummary {
            files: self.paths,
            bytes: self.bytes,
            lines: self.lines,
        })
    }

    /// Total bytes after which file `k` is closed.
    fn boundary(&self, k: usize) -> u64 {
        let total = u128::from(self.target) * (k as u128 + 1) / self.paths.len() as u128;
        total as u64
    }

    fn open(&self, i: usize) -> anyhow::Result<Sink> {
        let path = &self.paths[i];
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
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
            let path = &self.paths[self.current];
            sink.finish()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// Removes `part-NNNNN.{jsonl,txt}[.gz]` files left by an earlier run, so that a smaller `--files` or a
/// different `--gz-files` does not leave stale parts behind. Other files are left alone.
fn remove_stale_parts(dir: &Path) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(is_generated_part) {
            let path = entry.path();
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
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
    }

    #[test]
    fn chunks_and_stale_parts() {
        let dir = tempfile::TempDir::new().unwrap();
        fs::write(dir.path().join("part-00007.jsonl"), "stale").unwrap();
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
