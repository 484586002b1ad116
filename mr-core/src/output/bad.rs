//! Records skipped under `--skip-bad-records`, kept aside, never lost.
//!
//! Each skipped record is one line: a JSON header naming where it came from
//! and why it was skipped, a tab, then the record's bytes unchanged:
//!
//! ```text
//! {"file":"logs/a.json","line":12,"reason":"invalid JSON: EOF while parsing"}<TAB>{"page_url": "/x
//! ```

use crate::error::{Error, Location, Result};
use serde_json::json;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// A task's file of skipped records, created on the first one.
pub struct BadRecords {
    path: PathBuf,
    w: Option<BufWriter<File>>,
    /// Records kept aside so far.
    pub count: u64,
}

impl BadRecords {
    /// Kept aside into `path`, if any.
    pub fn new(path: PathBuf) -> BadRecords {
        BadRecords {
            path,
            w: None,
            count: 0,
        }
    }

    /// The file, once a record was written to it.
    pub fn path(&self) -> Option<&std::path::Path> {
        (self.count > 0).then_some(self.path.as_path())
    }

    /// Keeps one record aside.
    pub fn add(&mut self, location: &Location, reason: &str, record: &[u8]) -> Result<()> {
        let header = match location {
            Location::Line { step, file, line } => {
                json!({"step": step, "file": file, "line": line, "reason": reason})
            }
            Location::Key { step, key } => json!({"step": step, "key": key, "reason": reason}),
        };
        if self.w.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
            }
            let f = File::create(&self.path)
                .map_err(|e| Error::io("creating", self.path.clone(), e))?;
            self.w = Some(BufWriter::new(f));
        }
        let path = &self.path;
        if let Some(w) = self.w.as_mut() {
            let r = serde_json::to_writer(&mut *w, &header)
                .map_err(std::io::Error::from)
                .and_then(|()| w.write_all(b"\t"))
                .and_then(|()| w.write_all(record))
                .and_then(|()| w.write_all(b"\n"));
            r.map_err(|e| Error::io("writing", path.clone(), e))?;
        }
        self.count += 1;
        Ok(())
    }

    /// Flushes the file.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.w.as_mut() {
            w.flush()
                .map_err(|e| Error::io("writing", self.path.clone(), e))?;
        }
        Ok(())
    }
}
