//! `wc_files`: `wc` for each input file, whole: its lines, words and bytes,
//! decompressed, and their totals. An example of a mapper that reads whole
//! files ([`WholeFile`], mrjob's `mapper_raw`): one file a map task, however
//! large, never split.
//!
//! ```text
//! mr run wc_files logs/            # ["PATH", [lines, words, bytes]] a file, then [null, totals]
//! mr run wc_files -r hadoop -i hdfs:///logs -o hdfs:///wc
//! ```
//!
//! A file is keyed by its path on disk when it is on this machine's disk
//! (the same key whichever runner listed it: `file:///a`, `file:/a` and
//! `/a` are all `/a`) and its name is UTF-8, else by its URI (a Latin-1
//! name's bytes escaped: `file:///logs/caf%E9.txt`). Words are runs of bytes that are
//! not ASCII whitespace, as `wc -w` counts them in the C locale.

use mr_core::input::whole_file::WholeFile;
use mr_core::{Emitter, Job, JobError, Mapper, Reducer, Step, Values};
use std::io::BufRead;

/// Lines, words and bytes.
pub type Counts = [u64; 3];

/// The job.
pub struct WcFiles;

impl Job for WcFiles {
    fn name(&self) -> &str {
        "wc_files"
    }
    fn description(&self) -> &str {
        "Lines, words and bytes of each input file, read whole (a mapper that reads files: mrjob's mapper_raw)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(CountFile).combine(AddUp).reduce(AddUp)]
    }
}

/// Counts one file, streaming it: emits its counts under its path, and
/// again under `null` for the totals.
#[derive(Clone)]
pub struct CountFile;

impl Mapper for CountFile {
    type Input<'a> = WholeFile<'a>;
    type Key = Option<String>;
    type Value = Counts;
    fn map(
        &mut self,
        file: WholeFile<'_>,
        out: &mut Emitter<Option<String>, Counts>,
    ) -> Result<(), JobError> {
        let mut r = file.open()?;
        let mut counts = [0u64; 3];
        let mut in_word = false;
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            for &b in buf {
                counts[0] += u64::from(b == b'\n');
                // C's isspace, as `wc -w` takes it: Rust's ASCII
                // whitespace leaves out the vertical tab (0x0B).
                let space = b.is_ascii_whitespace() || b == 0x0b;
                counts[1] += u64::from(!space && !in_word);
                in_word = !space;
            }
            counts[2] += buf.len() as u64;
            let n = buf.len();
            r.consume(n);
        }
        // A path that is not UTF-8 keeps its URI, whose escapes tell
        // `caf\xe9.txt` from `caf\xe8.txt` (a path shown lossily would
        // add the two up).
        let key = file
            .path()
            .and_then(|p| p.to_str().map(str::to_string))
            .unwrap_or_else(|| file.uri().to_string());
        out.emit(&Some(key), counts)?;
        out.emit(&None, counts)
    }
}

/// Adds counts up, element by element: the combiner and the reducer.
#[derive(Clone)]
pub struct AddUp;

impl Reducer for AddUp {
    type Key = Option<String>;
    type Value = Counts;
    type OutKey = Option<String>;
    type OutValue = Counts;
    fn reduce(
        &mut self,
        key: Option<String>,
        values: Values<'_, Counts>,
        out: &mut Emitter<Option<String>, Counts>,
    ) -> Result<(), JobError> {
        let mut sum = [0u64; 3];
        for v in values {
            for (s, x) in sum.iter_mut().zip(v) {
                *s = s.checked_add(x).ok_or("count overflow")?;
            }
        }
        out.emit(&key, sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::with_emitter;

    #[test]
    fn counts_like_wc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"one two\n  three\n\nfour\x0bfive").unwrap();
        let uri = format!("file://{}", path.display());
        let recs = with_emitter(|out| CountFile.map(WholeFile::new(uri.as_str()), out));
        let counts = "[3,5,26]"; // as `wc` counts it (a vertical tab too)
        assert_eq!(
            recs,
            vec![
                (
                    format!("{:?}", path.display().to_string()),
                    counts.to_string()
                ),
                ("null".to_string(), counts.to_string()),
            ]
        );
    }

    /// Two Latin-1 names that differ in one byte keep two keys.
    #[test]
    fn names_that_are_not_utf8_keep_their_bytes() {
        use mr_core::input::listing::InputSource;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let mut keys = Vec::new();
        for name in [&b"caf\xe9.txt"[..], b"caf\xe8.txt"] {
            let path = dir.path().join(std::ffi::OsStr::from_bytes(name));
            std::fs::write(&path, b"x\n").unwrap();
            let uri = InputSource::Path(path).uri();
            let recs = with_emitter(|out| CountFile.map(WholeFile::new(uri.as_str()), out));
            keys.push(recs[0].0.clone());
        }
        assert!(keys[0].ends_with("caf%E9.txt\""), "{keys:?}");
        assert!(keys[1].ends_with("caf%E8.txt\""), "{keys:?}");
    }
}
