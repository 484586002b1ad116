//! Records skipped under `--skip-bad-records`, kept aside, never lost.
//!
//! Each skipped record is one line: a JSON header naming where it came from
//! and why it was skipped, a tab, then the record's bytes unchanged:
//!
//! ```text
//! {"step":0,"file":"logs/a.json","line":12,"offset":1841,"reason":"invalid JSON: EOF while parsing"}<TAB>{"page_url": "/x
//! ```
//!
//! `line` is the 1-based line in the file, or `null` when it is not known (a
//! Hadoop task whose split starts inside the file): then `offset` is the
//! record's byte offset, `split_start` where its split starts and
//! `line_in_split` its line within the split.
//!
//! In task mode the line goes to stderr, prefixed `mr-bad-record: `. A
//! record holding a carriage return, or bytes that are not UTF-8, is then
//! written escaped, each CR as the two characters `\r`, each byte that is
//! not UTF-8 as `\xHH` and each backslash doubled, and its header says
//! `"escaped":true` ([`unescape_record`] reads it back): Hadoop reads a
//! task's stderr as lines that a lone CR ends too, so a raw one would cut
//! the record and start a line of the input's choosing
//! (`reporter:counter:...`) that Hadoop obeys; and it decodes them as
//! UTF-8 and writes them again, each byte that is not replaced by U+FFFD
//! (a Latin-1 record could not be read back from the task log).

use crate::counters::Counters;
use crate::emit::RecordSink;
use crate::error::{Error, Location, Result, snippet};
use crate::job::{RecordError, ReduceFn, TaskKind, ValueStream};
use crate::staged::{Holding, Next, Staged};
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
        if self.w.is_none() {
            if let Some(dir) = self.path.parent() {
                // Not create_dir_all: the directory it is in (the staging
                // directory, or the run's temp dir) must still be there. A
                // forced exit may just have removed it, and recreating it
                // would leave it behind.
                match std::fs::create_dir(dir) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(Error::io("creating", dir, e));
                    }
                    _ => {}
                }
            }
            let f = File::create(&self.path)
                .map_err(|e| Error::io("creating", self.path.clone(), e))?;
            self.w = Some(BufWriter::new(f));
        }
        if let Some(w) = self.w.as_mut() {
            write_kept(w, b"", location, reason, record, false)
                .map_err(|e| Error::io("writing", self.path.clone(), e))?;
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

/// Where kept-aside records go: a task's file under `_bad_records/`, or, in
/// task mode, stderr.
pub(crate) trait KeepAside {
    /// Keeps one record aside with its place and the reason.
    fn keep(&mut self, location: &Location, reason: &str, record: &[u8]) -> Result<()>;
}

impl KeepAside for BadRecords {
    fn keep(&mut self, location: &Location, reason: &str, record: &[u8]) -> Result<()> {
        self.add(location, reason, record)
    }
}

/// Kept-aside records as stderr lines `mr-bad-record: {header} TAB record`
/// (task mode: Hadoop keeps a task's stderr in its logs).
pub(crate) struct StderrKeeper<'a>(pub &'a mut dyn Write);

impl KeepAside for StderrKeeper<'_> {
    fn keep(&mut self, location: &Location, reason: &str, record: &[u8]) -> Result<()> {
        let escaped = (record.contains(&b'\r') || std::str::from_utf8(record).is_err())
            .then(|| escape_record(record));
        let written = escaped.as_deref().unwrap_or(record);
        let prefix = b"mr-bad-record: ";
        write_kept(
            &mut self.0,
            prefix,
            location,
            reason,
            written,
            escaped.is_some(),
        )
        .map_err(|e| Error::io("writing", "stderr", e))
    }
}

/// `record` with each backslash doubled, each CR written as `\r` and each
/// byte that is not UTF-8 as `\xHH`: no byte of it ends a line for Hadoop,
/// none is replaced when Hadoop re-encodes the task's stderr, and
/// [`unescape_record`] gives it back.
fn escape_record(record: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(record.len() + 8);
    for chunk in record.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
        for &b in chunk.invalid() {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
    out
}

/// The record of an `mr-bad-record:` line whose header says `"escaped":
/// true`, as it was in the input (see `escape_record`).
///
/// ```
/// use mr_core::output::bad::unescape_record;
/// assert_eq!(unescape_record(br"a\rb\\r"), b"a\rb\\r");
/// assert_eq!(unescape_record(br"caf\xe9 \\xe9"), b"caf\xe9 \\xe9");
/// ```
pub fn unescape_record(escaped: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        let rest = bytes.as_slice();
        match (b, rest.first()) {
            (b'\\', Some(b'r')) => {
                out.push(b'\r');
                bytes.next();
            }
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                bytes.next();
            }
            (b'\\', Some(b'x')) => match (
                rest.get(1).and_then(|&h| hex(h)),
                rest.get(2).and_then(|&l| hex(l)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    bytes.nth(2);
                }
                _ => out.push(b),
            },
            _ => out.push(b),
        }
    }
    out
}

/// Writes `prefix {header} TAB record NEWLINE`, the header naming where the
/// record came from and why it was set aside (and, `escaped`, that the
/// record is written as [`escape_record`] writes it).
fn write_kept(
    w: &mut dyn Write,
    prefix: &[u8],
    location: &Location,
    reason: &str,
    record: &[u8],
    escaped: bool,
) -> std::io::Result<()> {
    let header = match location {
        Location::Line {
            step,
            file,
            line,
            offset,
            in_split,
        } => {
            let mut h = json!({"step": step, "file": file, "line": line});
            if let Some(o) = offset {
                h["offset"] = json!(o);
            }
            if let Some(s) = in_split {
                h["split_start"] = json!(s.start);
                h["line_in_split"] = json!(s.line);
            }
            h["reason"] = json!(reason);
            h
        }
        Location::Key { step, key } => json!({"step": step, "key": key, "reason": reason}),
    };
    let mut header = header;
    if escaped {
        header["escaped"] = json!(true);
    }
    w.write_all(prefix)?;
    serde_json::to_writer(&mut *w, &header)?;
    w.write_all(b"\t")?;
    w.write_all(record)?;
    w.write_all(b"\n")
}

/// A task's bad-record policy: stop at the first bad record (strict), or
/// keep each one aside and count it (`--skip-bad-records`). The local map and
/// reduce tasks and task mode all go through it.
pub(crate) struct BadRecordPolicy {
    skip: bool,
    /// Records kept aside so far.
    pub skipped: u64,
    /// A key's undecodable values, reused from key to key.
    values: Vec<(Vec<u8>, String)>,
    /// A key's output, held back until its reducer succeeds.
    staged: Staged<()>,
}

impl BadRecordPolicy {
    pub fn new(skip: bool) -> Self {
        BadRecordPolicy {
            skip,
            skipped: 0,
            values: Vec::new(),
            staged: Staged::default(),
        }
    }

    /// One bad record: the error under the strict policy, else kept aside.
    pub fn reject(
        &mut self,
        keeper: &mut dyn KeepAside,
        location: Location,
        reason: String,
        record: &[u8],
    ) -> Result<()> {
        if !self.skip {
            return Err(Error::BadRecord {
                location: Box::new(location),
                reason,
                snippet: snippet(record),
            });
        }
        self.skipped += 1;
        keeper.keep(&location, &reason, record)
    }

    /// Applies the policy to what a mapper or reducer said about one record.
    pub fn check<T>(
        &mut self,
        keeper: &mut dyn KeepAside,
        r: std::result::Result<T, RecordError>,
        location: impl FnOnce() -> Location,
        record: &[u8],
    ) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(RecordError::Fatal(e)) => Err(e),
            Err(RecordError::Unskippable(reason)) => Err(Error::BadRecord {
                location: Box::new(location()),
                reason,
                snippet: snippet(record),
            }),
            Err(RecordError::Decode(reason)) | Err(RecordError::Job(reason)) => self
                .reject(keeper, location(), reason, record)
                .map(|()| None),
        }
    }

    /// Reduces one key, by a reducer or (`kind` [`TaskKind::Combine`]) a
    /// combiner run as a task, as Hadoop Streaming runs it. When skipping,
    /// values that do not decode are kept aside (as `key TAB value`) and the
    /// rest of the group is reduced; a reducer error keeps the key aside. A
    /// combiner's own failure (an error it returns, a panic) is never
    /// skipped, as in the local runner: it is a bug in the job, and
    /// skipped, the key's values would be lost (on Hadoop, only when it
    /// chose to run the combiner).
    #[allow(clippy::too_many_arguments)]
    pub fn reduce_key(
        &mut self,
        kind: TaskKind,
        keeper: &mut dyn KeepAside,
        step: usize,
        f: &mut dyn ReduceFn,
        key: &[u8],
        values: &mut dyn ValueStream,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<()> {
        let location = || Location::Key {
            step,
            key: snippet(key),
        };
        let r = if self.skip {
            let mut skipped = std::mem::take(&mut self.values);
            skipped.clear();
            // A key whose reducer fails leaves nothing behind.
            let mut held = Holding::new(&mut self.staged, Next::Sink(sink));
            let r = f.reduce_skipping(key, values, &mut held, counters, &mut skipped);
            let r = crate::staged::settle(held, r);
            let mut record = Vec::new();
            for (value, reason) in skipped.drain(..) {
                record.clear();
                record.extend_from_slice(key);
                record.push(b'\t');
                record.extend_from_slice(&value);
                self.reject(keeper, location(), reason, &record)?;
            }
            self.values = skipped;
            r
        } else {
            f.reduce(key, values, sink, counters)
        };
        if kind == TaskKind::Combine
            && let Err(RecordError::Job(m)) = &r
        {
            return Err(Error::BadRecord {
                location: Box::new(location()),
                reason: format!("combiner failed: {m}"),
                snippet: snippet(key),
            });
        }
        self.check(keeper, r, location, key).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A kept record that is not UTF-8 (a Latin-1 log line) reaches the
    /// task log as UTF-8 (Hadoop re-encodes a task's stderr, each bad byte
    /// as U+FFFD): escaped, marked so, and read back whole (probe
    /// /tmp/probe-hadoop repro 06).
    #[test]
    fn a_kept_record_that_is_not_utf8_is_escaped_and_read_back() {
        let record = b"{\"page_url\": \"caf\xe9 \xff \\xe9 broken\r";
        let mut diag = Vec::new();
        StderrKeeper(&mut diag)
            .keep(&Location::line(0, "in.txt", 2), "invalid JSON", record)
            .unwrap();
        let line = std::str::from_utf8(&diag).expect("the stderr line is UTF-8");
        let (header, kept) = line["mr-bad-record: ".len()..]
            .trim_end_matches('\n')
            .split_once('\t')
            .unwrap();
        let h: serde_json::Value = serde_json::from_str(header).unwrap();
        assert_eq!(h["escaped"], true, "{header}");
        assert!(!kept.contains(['\r', '\u{fffd}']), "{kept}");
        assert_eq!(unescape_record(kept.as_bytes()), record);
        // A UTF-8 record without a CR is written as it is.
        let mut diag = Vec::new();
        StderrKeeper(&mut diag)
            .keep(
                &Location::line(0, "in.txt", 2),
                "why",
                "école \\x".as_bytes(),
            )
            .unwrap();
        let line = String::from_utf8(diag).unwrap();
        assert!(
            line.ends_with("\técole \\x\n") && !line.contains("escaped"),
            "{line}"
        );
    }

    /// A record kept aside after a forced exit removed the staging
    /// directory does not make it again (it would be left behind).
    #[test]
    fn a_removed_parent_is_not_recreated() {
        let d = tempfile::tempdir().unwrap();
        let staging = d.path().join(".out.mr-tmp-1-abcdef");
        fs::create_dir(&staging).unwrap();
        let at = Location::line(0, "in.txt", 1);
        let mut kept = BadRecords::new(staging.join("_bad_records/map-0-00000"));
        kept.add(&at, "why", b"line").unwrap();
        let mut second = BadRecords::new(staging.join("_bad_records/map-0-00001"));
        second.add(&at, "why", b"line").unwrap();
        fs::remove_dir_all(&staging).unwrap();
        let mut late = BadRecords::new(staging.join("_bad_records/map-0-00002"));
        assert!(late.add(&at, "why", b"line").is_err());
        assert!(!staging.exists());
    }
}
