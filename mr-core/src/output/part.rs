//! A part file: records as `json(key) TAB json(value)` lines.

use crate::emit::RecordSink;
use crate::error::{Error, Result};
use crate::protocol::write_record;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Output buffer size of a part file.
pub const PART_BUFFER_BYTES: usize = 256 << 10; // 256 KiB

/// Writes one part file.
pub struct PartWriter {
    w: BufWriter<File>,
    path: PathBuf,
    line: Vec<u8>,
    records: u64,
    bytes: u64,
}

impl PartWriter {
    /// Creates (or truncates) the part file at `path`.
    pub fn create(path: &Path) -> Result<PartWriter> {
        let f = File::create(path).map_err(|e| Error::io("creating", path, e))?;
        Ok(PartWriter {
            w: BufWriter::with_capacity(PART_BUFFER_BYTES, f),
            path: path.to_path_buf(),
            line: Vec::new(),
            records: 0,
            bytes: 0,
        })
    }

    /// Flushes and closes; returns the path, records and bytes written.
    pub fn finish(mut self) -> Result<(PathBuf, u64, u64)> {
        self.w
            .flush()
            .map_err(|e| Error::io("writing", self.path.clone(), e))?;
        Ok((self.path, self.records, self.bytes))
    }
}

impl RecordSink for PartWriter {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.line.clear();
        write_record(&mut self.line, key, value);
        self.records += 1;
        self.bytes += self.line.len() as u64;
        self.w
            .write_all(&self.line)
            .map_err(|e| Error::io("writing", self.path.clone(), e))
    }
}
