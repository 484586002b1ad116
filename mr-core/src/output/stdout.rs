//! Results on standard output: part files concatenated (map-only steps) or
//! merged by key (reduce steps), so stdout is in key order.

use crate::error::{Error, Result};
use crate::input::LineReader;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

/// Writes the parts to `out`, concatenated in order.
pub fn concat_parts(parts: &[PathBuf], out: &mut dyn Write) -> Result<()> {
    for p in parts {
        let mut f = File::open(p).map_err(|e| Error::io("opening", p, e))?;
        std::io::copy(&mut f, out).map_err(|e| copy_error(e, p))?;
    }
    Ok(())
}

fn copy_error(e: std::io::Error, p: &std::path::Path) -> Error {
    // io::copy does not say which side failed; a broken pipe is stdout's.
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::Stdout(e)
    } else {
        Error::io("copying", p, e)
    }
}

/// Writes the lines of sorted parts to `out`, merged by key (the bytes before
/// the first tab). Lines of one part keep their order.
pub fn merge_parts(parts: &[PathBuf], out: &mut dyn Write) -> Result<()> {
    struct Cursor {
        r: LineReader<File>,
        path: PathBuf,
        line: Vec<u8>,
        key_len: usize,
    }
    impl Cursor {
        fn advance(&mut self) -> Result<bool> {
            match self.r.next_line() {
                Ok(Some((_, l))) => {
                    self.line.clear();
                    self.line.extend_from_slice(l);
                    self.key_len = memchr::memchr(b'\t', l).unwrap_or(l.len());
                    Ok(true)
                }
                Ok(None) => Ok(false),
                Err(e) => Err(Error::io("reading", self.path.clone(), e)),
            }
        }
        fn key(&self) -> &[u8] {
            &self.line[..self.key_len]
        }
    }
    let mut cursors = Vec::new();
    for p in parts {
        let f = File::open(p).map_err(|e| Error::io("opening", p, e))?;
        let mut c = Cursor {
            r: LineReader::new(f, 0, u64::MAX),
            path: p.clone(),
            line: Vec::new(),
            key_len: 0,
        };
        if c.advance()? {
            cursors.push(c);
        }
    }
    // Few parts (one per partition): a linear scan for the least key is fine.
    while !cursors.is_empty() {
        let mut best = 0;
        for i in 1..cursors.len() {
            if cursors[i].key() < cursors[best].key() {
                best = i;
            }
        }
        let c = &mut cursors[best];
        out.write_all(&c.line)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(Error::Stdout)?;
        if !c.advance()? {
            cursors.swap_remove(best);
            // Keep ties deterministic: restore partition order.
            cursors.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
    Ok(())
}
