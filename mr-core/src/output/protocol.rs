//! Output protocols: how the last step's records are written, as mrjob's
//! `OUTPUT_PROTOCOL` chooses (`--output-protocol`). Between steps records
//! always travel as JSON key TAB JSON value; a protocol only rewrites the
//! final lines, one function a protocol:
//!
//! | protocol | mrjob | a record `("k", "a b")` is written |
//! |---|---|---|
//! | `json` (default) | `JSONProtocol` | `"k"` TAB `"a b"` |
//! | `json-value` | `JSONValueProtocol` | `"a b"` |
//! | `raw-value` | `RawValueProtocol` | `a b` |
//! | `text` | `TextProtocol` | `k` TAB `a b` (a `null` key or value is left out) |
//!
//! The raw forms write a JSON string unquoted and unescaped, and any other
//! value as its JSON text (`42`, `[1,2]`); `null` as nothing.
//!
//! ```
//! use mr_core::output::protocol::OutputProtocol;
//! let p: OutputProtocol = "raw-value".parse().unwrap();
//! let mut out = Vec::new();
//! p.write_record(br#""k""#, br#""a\tb""#, &mut out);
//! assert_eq!(out, b"a\tb\n");
//! ```

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

/// How the final records are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputProtocol {
    /// `json(key) TAB json(value)`.
    #[default]
    Json,
    /// `json(value)`.
    JsonValue,
    /// The value as text.
    RawValue,
    /// `key TAB value` as text.
    Text,
}

impl std::str::FromStr for OutputProtocol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "json" => OutputProtocol::Json,
            "json-value" => OutputProtocol::JsonValue,
            "raw-value" => OutputProtocol::RawValue,
            "text" => OutputProtocol::Text,
            _ => {
                return Err(format!(
                    "unknown output protocol {s:?}: json, json-value, raw-value or text"
                ));
            }
        })
    }
}

impl std::fmt::Display for OutputProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputProtocol::Json => "json",
            OutputProtocol::JsonValue => "json-value",
            OutputProtocol::RawValue => "raw-value",
            OutputProtocol::Text => "text",
        })
    }
}

impl OutputProtocol {
    /// Appends the record (JSON-encoded key and value) as one line. Returns
    /// false when that line cannot be read back as the record (the text
    /// forms write strings unescaped: a newline or carriage return in one
    /// makes two lines, a tab in a `text` key moves where the value
    /// starts), as with mrjob's
    /// `TextProtocol` and `RawValueProtocol`.
    ///
    /// ```
    /// use mr_core::output::protocol::OutputProtocol;
    /// let mut out = Vec::new();
    /// assert!(OutputProtocol::Text.write_record(br#""k""#, br#""v""#, &mut out));
    /// assert!(!OutputProtocol::Text.write_record(br#""a\tb""#, br#""v""#, &mut out));
    /// assert!(!OutputProtocol::RawValue.write_record(br#""k""#, br#""a\nb""#, &mut out));
    /// assert!(!OutputProtocol::RawValue.write_record(br#""k""#, br#""c\r""#, &mut out));
    /// assert!(OutputProtocol::Json.write_record(br#""a\tb""#, br#""a\nb""#, &mut out));
    /// ```
    pub fn write_record(self, key: &[u8], value: &[u8], out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let tab = match self {
            OutputProtocol::Json => {
                json(key, value, out);
                out.push(b'\n');
                return true;
            }
            OutputProtocol::JsonValue => {
                json_value(key, value, out);
                out.push(b'\n');
                return true;
            }
            OutputProtocol::RawValue => {
                raw_value(key, value, out);
                None
            }
            OutputProtocol::Text => text(key, value, out),
        };
        // One newline, at the end; a text key's tab is the only tab before
        // the value.
        // A CR counts too: Hadoop's LineReader, Python's text files and
        // pandas end a line there, and mr's own reader drops one before LF.
        let written = &out[start..];
        let whole = memchr::memchr2(b'\n', b'\r', written).is_none()
            && tab.is_none_or(|at| memchr::memchr(b'\t', &written[..at]).is_none());
        out.push(b'\n');
        whole
    }

    /// Rewrites one `json(key) TAB json(value)` line (without its newline);
    /// false as [`write_record`](Self::write_record) says.
    pub fn write_line(self, line: &[u8], out: &mut Vec<u8>) -> bool {
        let (k, v) = crate::protocol::split_record(line);
        let v: &[u8] = if v.is_empty() { b"null" } else { v };
        self.write_record(k, v, out)
    }

    /// Rewrites a file of JSON records in place (through a temporary file
    /// beside it); returns how many records were written as lines that
    /// cannot be read back (see [`write_record`](Self::write_record)).
    pub fn rewrite_file(self, path: &Path) -> Result<u64> {
        if self == OutputProtocol::Json {
            return Ok(0);
        }
        let data = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
        let tmp = path.with_extension("protocol-tmp");
        let mangled;
        {
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
            let mut w = ProtocolWriter::new(self, std::io::BufWriter::new(f));
            w.write_all(&data)
                .and_then(|()| w.flush())
                .map_err(|e| Error::io("writing", &tmp, e))?;
            mangled = w.mangled();
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming", &tmp, e))?;
        Ok(mangled)
    }
}

/// `json(key) TAB json(value)`, as it is.
pub fn json(key: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(key);
    out.push(b'\t');
    out.extend_from_slice(value);
}

/// `json(value)`.
pub fn json_value(_key: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(value);
}

/// The value as text.
pub fn raw_value(_key: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&as_text(value));
}

/// `key TAB value` as text, leaving out a `null` key or value; returns
/// where (from the start of what it wrote) the separating tab is, if any.
pub fn text(key: &[u8], value: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let (k, v) = (as_text_opt(key), as_text_opt(value));
    let start = out.len();
    if let Some(k) = &k {
        out.extend_from_slice(k);
    }
    let mut tab = None;
    if let Some(v) = &v {
        if k.is_some() {
            tab = Some(out.len() - start);
            out.push(b'\t');
        }
        out.extend_from_slice(v);
    }
    tab
}

/// A JSON value as text: a string decoded, `null` as nothing, anything
/// else as its JSON.
fn as_text(json: &[u8]) -> Cow<'_, [u8]> {
    as_text_opt(json).unwrap_or(Cow::Borrowed(b""))
}

fn as_text_opt(json: &[u8]) -> Option<Cow<'_, [u8]>> {
    match json.first() {
        Some(b'"') => match serde_json::from_slice::<Cow<'_, str>>(json) {
            Ok(Cow::Borrowed(s)) => Some(Cow::Borrowed(s.as_bytes())),
            Ok(Cow::Owned(s)) => Some(Cow::Owned(s.into_bytes())),
            Err(_) => Some(Cow::Borrowed(json)),
        },
        Some(b'n') if json == b"null" => None,
        _ => Some(Cow::Borrowed(json)),
    }
}

/// A writer that takes `json(key) TAB json(value)` lines and writes them in
/// a protocol (for stdout).
pub struct ProtocolWriter<W: Write> {
    protocol: OutputProtocol,
    inner: W,
    pending: Vec<u8>,
    line: Vec<u8>,
    mangled: u64,
}

impl<W: Write> ProtocolWriter<W> {
    /// Wraps `inner`.
    pub fn new(protocol: OutputProtocol, inner: W) -> Self {
        ProtocolWriter {
            protocol,
            inner,
            pending: Vec::new(),
            line: Vec::new(),
            mangled: 0,
        }
    }

    /// Records written so far as lines that cannot be read back (see
    /// [`OutputProtocol::write_record`]).
    pub fn mangled(&self) -> u64 {
        self.mangled
    }
}

impl<W: Write> Write for ProtocolWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.protocol == OutputProtocol::Json {
            return self.inner.write(buf);
        }
        self.pending.extend_from_slice(buf);
        let mut start = 0;
        self.line.clear();
        while let Some(i) = memchr::memchr(b'\n', &self.pending[start..]) {
            let whole = self
                .protocol
                .write_line(&self.pending[start..start + i], &mut self.line);
            self.mangled += u64::from(!whole);
            start += i + 1;
        }
        self.pending.drain(..start);
        self.inner.write_all(&self.line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.line.clear();
            let whole = self.protocol.write_line(&self.pending, &mut self.line);
            self.mangled += u64::from(!whole);
            self.pending.clear();
            self.inner.write_all(&self.line)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(p: &str, rec: &str) -> String {
        let mut out = Vec::new();
        p.parse::<OutputProtocol>()
            .unwrap()
            .write_line(rec.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_protocol() {
        let rec = r#"["a",1]	"x\"y\u00e9""#;
        assert_eq!(line("json", rec), format!("{rec}\n"));
        assert_eq!(line("json-value", rec), "\"x\\\"y\\u00e9\"\n");
        assert_eq!(line("raw-value", rec), "x\"yé\n");
        assert_eq!(line("text", rec), "[\"a\",1]\tx\"yé\n");
        assert_eq!(line("text", "null\t\"v\""), "v\n");
        assert_eq!(line("text", "\"k\"\tnull"), "k\n");
        assert_eq!(line("raw-value", "null\t42"), "42\n");
        assert!("yaml".parse::<OutputProtocol>().is_err());
    }

    #[test]
    fn writer_handles_lines_cut_across_writes() {
        let mut w = ProtocolWriter::new(OutputProtocol::RawValue, Vec::new());
        w.write_all(b"\"a\"\t\"o").unwrap();
        w.write_all(b"ne\"\n\"b\"\t\"two\"").unwrap();
        w.flush().unwrap();
        assert_eq!(w.inner, b"one\ntwo\n");
    }
}
