//! CSV input: [`Csv<T>`] as a mapper's input decodes one CSV record a line
//! into `T` (the `csv` crate's serde rows), as [`crate::Json`] does for JSON.
//!
//! - **Header**: the first line of each file names the fields. The map task
//!   whose split starts the file takes it as the header (it is no record);
//!   a task whose split starts later reads it from the file's start (a
//!   later piece of a compressed file is given it). So does a task of
//!   Hadoop Streaming or Spark, from the file and split start it is given
//!   (`mapreduce_map_input_file`, `_start`). `T`'s fields are then matched
//!   by name (a struct) or taken in order (a tuple, a `Vec`). Without a
//!   header to read (stdin piped into `--mapper` by hand), fields are taken
//!   in order.
//! - **Quoted newlines**: splits are cut at line starts, so a quoted field
//!   holding a newline cannot be read whole; a line with an unclosed quote is
//!   a bad record naming the file and line ("embedded newline"), under the
//!   engine's policy, and so is each line after it in the task, to the one
//!   that closes the field. A quote that does not start a field is a
//!   character (`12" long`), as the csv crate and Python's csv read it.
//!
//! ```
//! use mr_core::{FromLine, input::csv::Csv};
//! let Csv((name, n)) = <Csv<(String, f64)>>::from_line(b"\"a, b\",1.5").unwrap().unwrap();
//! assert_eq!((name.as_str(), n), ("a, b", 1.5));
//! let e = <Csv<(String, f64)>>::from_line(b"\"open,1").unwrap_err();
//! assert!(e.0.contains("embedded newline"));
//! ```

use crate::protocol::{DecodeError, FromLine};
use csv::StringRecord;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Cursor, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One CSV record, deserialized into `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csv<T>(pub T);

/// What the running map task knows about its CSV header.
#[derive(Default)]
enum Header {
    /// No task context (task mode, tests): no header.
    #[default]
    None,
    /// The task's split starts the file: its first line is the header.
    FirstLine,
    /// Read it from the start of this file on first use.
    InFile(PathBuf),
    /// Read it from the start of this file (a URI, decompressed; on a
    /// cluster through `hadoop fs -cat`) on first use: a task of Hadoop
    /// Streaming or Spark whose split starts later in its file.
    InUri(String),
    /// The file's first line, given: the task reads a later piece of a
    /// compressed file (see [`crate::input::pieces`]).
    Line(Arc<[u8]>),
    /// The header.
    Known(Arc<StringRecord>),
    /// The task reads a table (Parquet), whose rows reach the mapper as
    /// JSON objects: no CSV at all.
    Table(PathBuf),
}

thread_local! {
    static HEADER: RefCell<Header> = const { RefCell::new(Header::None) };
    /// The task's last line ended inside a quoted field: the lines after it,
    /// to the one that closes it, are that record's (see [`Csv`]).
    static IN_QUOTES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Called by the map task before its first line: where this task's CSV
/// header is (nothing is read unless the mapper takes [`Csv`] input).
pub(crate) fn begin_task(path: Option<&Path>, starts_file: bool) {
    IN_QUOTES.set(false);
    HEADER.with(|h| {
        *h.borrow_mut() = match (path, starts_file) {
            (_, true) => Header::FirstLine,
            (Some(p), false) => Header::InFile(p.to_path_buf()),
            (None, false) => Header::None,
        }
    });
}

/// Called by the map task of a table (Parquet) split: a job that reads
/// CSV is told so, where it read the table's bytes for a header and called
/// every row "invalid UTF-8" (probe /tmp/probe5-structured repro 03).
pub(crate) fn begin_table(path: &Path) {
    IN_QUOTES.set(false);
    HEADER.with(|h| *h.borrow_mut() = Header::Table(path.to_path_buf()));
}

/// Called in task mode (Hadoop Streaming, Spark) before the first step's
/// first line, with the file and split start the task was given: a split
/// at 0 starts with the header, a later one reads it from its file. Without
/// them (stdin piped by hand, or no start) fields are taken in order.
pub(crate) fn begin_streaming_task(uri: Option<&str>, start: Option<u64>) {
    IN_QUOTES.set(false);
    HEADER.with(|h| {
        *h.borrow_mut() = match (uri, start) {
            (Some(_), Some(0)) => Header::FirstLine,
            (Some(u), Some(_)) => Header::InUri(u.to_string()),
            _ => Header::None,
        }
    });
}

/// Called by a map task that reads a piece of a stream before its first
/// line: the stream's first line when the piece is not the first.
pub(crate) fn begin_piece(header: Option<Arc<[u8]>>) {
    IN_QUOTES.set(false);
    HEADER.with(|h| {
        *h.borrow_mut() = match header {
            None => Header::FirstLine,
            Some(line) => Header::Line(line),
        }
    });
}

/// Called at the end of a map task.
pub(crate) fn end_task() {
    IN_QUOTES.set(false);
    HEADER.with(|h| *h.borrow_mut() = Header::None);
}

/// Whether `line` ends inside a quoted field, read as the csv crate reads
/// it (a quote opens a field only at its start, `""` inside one is a quote,
/// any other quote is a character: `12" long`), from inside one when
/// `quoted`.
///
/// ```
/// # use mr_core::input::csv::ends_inside_quotes;
/// assert!(!ends_inside_quotes(br#"pipe,12" long,3"#, false));
/// assert!(!ends_inside_quotes(br#""a ""b"", c",2"#, false));
/// assert!(ends_inside_quotes(br#"1,"open"#, false));
/// assert!(ends_inside_quotes(b"still inside", true));
/// assert!(!ends_inside_quotes(br#"closes" here,3"#, true));
/// ```
pub fn ends_inside_quotes(line: &[u8], mut quoted: bool) -> bool {
    if !quoted && memchr::memchr(b'"', line).is_none() {
        return false;
    }
    let mut field_start = !quoted;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if quoted {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                quoted = false;
            }
            field_start = false;
        } else if b == b'"' && field_start {
            quoted = true;
            field_start = false;
        } else {
            field_start = b == b',';
        }
        i += 1;
    }
    quoted
}

/// A thread's CSV parser, reused for every line: the line is copied into the
/// reader's buffer and the reader rewound, so a record costs neither a new
/// reader nor a new record.
struct LineParser {
    reader: csv::Reader<Cursor<Vec<u8>>>,
    record: StringRecord,
}

impl LineParser {
    fn new() -> LineParser {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            // Each line is one record on its own: no field count to keep.
            .flexible(true)
            .from_reader(Cursor::new(Vec::new()));
        // The first rewind reads the (empty) headers; later ones only reset.
        let _ = reader.seek_raw(SeekFrom::Start(0), csv::Position::new());
        LineParser {
            reader,
            record: StringRecord::new(),
        }
    }

    /// Parses `line` into `self.record` (empty for an empty line); its
    /// quotes are checked by the caller ([`unclosed_quote`]).
    fn parse(&mut self, line: &[u8]) -> Result<&StringRecord, DecodeError> {
        let buf = self.reader.get_mut().get_mut();
        buf.clear();
        buf.extend_from_slice(line);
        self.reader
            .seek_raw(SeekFrom::Start(0), csv::Position::new())
            .map_err(|e| DecodeError(format!("invalid CSV: {e}")))?;
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => self.record.clear(),
            Err(e) => return Err(DecodeError(format!("invalid CSV: {e}"))),
        }
        Ok(&self.record)
    }
}

thread_local! {
    static PARSER: RefCell<Option<LineParser>> = const { RefCell::new(None) };
}

/// Runs `f` on `line` parsed as one CSV record, with this thread's parser.
fn with_record<T>(
    line: &[u8],
    f: impl FnOnce(&StringRecord) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    PARSER.with(|p| {
        let mut p = p.borrow_mut();
        f(p.get_or_insert_with(LineParser::new).parse(line)?)
    })
}

fn parse_record(line: &[u8]) -> Result<StringRecord, DecodeError> {
    if ends_inside_quotes(line, false) {
        return Err(unclosed_quote());
    }
    with_record(line, |r| Ok(r.clone()))
}

/// The error of a line that ends inside a quoted field (see
/// [`ends_inside_quotes`]: not an odd number of quotes, `12" long` is a
/// field of its own: probe /tmp/probe5-structured repro 01).
fn unclosed_quote() -> DecodeError {
    DecodeError(
        "CSV record with an unclosed quote (a quoted field with an embedded newline?): \
         quoted newlines are not supported, since splits are cut at line starts"
            .into(),
    )
}

fn read_header(path: &Path) -> Result<StringRecord, DecodeError> {
    let f = std::fs::File::open(path)
        .map_err(|e| DecodeError(format!("reading the CSV header of {}: {e}", path.display())))?;
    header_of(&mut BufReader::new(f), &path.display().to_string())
}

/// The header of the file `uri` as a task of a cluster names it.
fn read_header_at(uri: &str) -> Result<StringRecord, DecodeError> {
    let mut f = crate::input::whole_file::WholeFile::new(uri)
        .open()
        .map_err(|e| DecodeError(format!("reading the CSV header of {uri}: {e}")))?;
    header_of(&mut f, uri)
}

/// The first line of `f` parsed as a header (no BOM, no line end).
fn header_of(f: &mut dyn BufRead, name: &str) -> Result<StringRecord, DecodeError> {
    let mut line = Vec::new();
    f.read_until(b'\n', &mut line)
        .map_err(|e| DecodeError(format!("reading the CSV header of {name}: {e}")))?;
    let mut l = line.as_slice();
    l = l.strip_suffix(b"\n").unwrap_or(l);
    l = l.strip_suffix(b"\r").unwrap_or(l);
    l = l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l);
    parse_record(l)
}

impl<'a, T: DeserializeOwned> FromLine<'a> for Csv<T> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        // `None`: this line was the header itself, no record.
        let header = HEADER.with(
            |h| -> Result<Option<Option<Arc<StringRecord>>>, DecodeError> {
                let mut h = h.borrow_mut();
                match &*h {
                    Header::None => Ok(Some(None)),
                    Header::Known(r) => Ok(Some(Some(r.clone()))),
                    Header::FirstLine => {
                        *h = Header::Known(Arc::new(parse_record(line)?));
                        Ok(None)
                    }
                    Header::InFile(p) => {
                        let r = Arc::new(read_header(p)?);
                        *h = Header::Known(r.clone());
                        Ok(Some(Some(r)))
                    }
                    Header::InUri(u) => {
                        let r = Arc::new(read_header_at(u)?);
                        *h = Header::Known(r.clone());
                        Ok(Some(Some(r)))
                    }
                    Header::Line(l) => {
                        let r = Arc::new(parse_record(l)?);
                        *h = Header::Known(r.clone());
                        Ok(Some(Some(r)))
                    }
                    Header::Table(p) => Err(DecodeError(format!(
                        "{} is a Parquet table, not CSV: this job reads CSV lines; give it \
                         CSV files, or read the table with a job that takes JSON objects",
                        p.display()
                    ))),
                }
            },
        )?;
        let Some(header) = header else {
            return Ok(None);
        };
        // The lines of a quoted field that an earlier line opened are that
        // record's: each a bad record too, never rows of their own (under
        // --skip-bad-records, a 3-line quoted field made one bogus row:
        // probe /tmp/probe5-structured repro 11).
        if IN_QUOTES.get() {
            IN_QUOTES.set(ends_inside_quotes(line, true));
            return Err(DecodeError(
                "CSV line inside a quoted field that an earlier line opened (a quoted field \
                 with an embedded newline): quoted newlines are not supported, since splits \
                 are cut at line starts"
                    .into(),
            ));
        }
        if ends_inside_quotes(line, false) {
            IN_QUOTES.set(true);
            return Err(unclosed_quote());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        with_record(line, |rec| {
            rec.deserialize(header.as_deref())
                .map(|t| Some(Csv(t)))
                .map_err(|e| DecodeError(format!("CSV record does not fit: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Row {
        b: f64,
        a: String,
    }

    /// A quote inside an unquoted field is a character (`12" long`, which
    /// Python's csv, DuckDB and the csv crate read); the lines of a quoted
    /// field with newlines are each a bad record, to the one that closes it
    /// (under --skip-bad-records the middle ones were rows of their own).
    #[test]
    fn quotes_are_read_as_the_csv_crate_reads_them_across_lines_too() {
        begin_task(None, true);
        assert!(
            <Csv<(String, String)>>::from_line(b"a,b")
                .unwrap()
                .is_none()
        );
        let Csv(r) = <Csv<(String, String)>>::from_line(br#"pipe,12" long"#)
            .unwrap()
            .unwrap();
        assert_eq!(r, ("pipe".to_string(), "12\" long".to_string()));
        let lines: [&[u8]; 5] = [
            br#"1,"a note"#,
            b"of three",
            br#"lines",2"#,
            b"3,4",
            br#"5,"x""y""#,
        ];
        let got: Vec<bool> = lines
            .iter()
            .map(|l| <Csv<(String, String)>>::from_line(l).is_ok())
            .collect();
        assert_eq!(got, [false, false, false, true, true]);
        let e = <Csv<(String, String)>>::from_line(br#"6,"open"#).unwrap_err();
        assert!(e.0.contains("embedded newline"), "{}", e.0);
        let e = <Csv<(String, String)>>::from_line(b"7,8").unwrap_err();
        assert!(e.0.contains("that an earlier line opened"), "{}", e.0);
        // A new task starts outside any field.
        begin_task(None, false);
        assert!(<Csv<(String, String)>>::from_line(b"7,8").is_ok());
        end_task();
    }

    /// A table's rows (JSON objects) given to a job that reads CSV: said
    /// so, where the table's bytes were read for a header and every row
    /// called "invalid UTF-8".
    #[test]
    fn a_table_is_not_csv() {
        begin_table(Path::new("in/t.parquet"));
        let e = <Csv<(String, String)>>::from_line(br#"{"a":1,"b":"x,y"}"#).unwrap_err();
        assert!(
            e.0.contains("in/t.parquet is a Parquet table, not CSV"),
            "{}",
            e.0
        );
        end_task();
    }

    #[test]
    fn header_names_fields_first_line_or_from_the_file() {
        begin_task(None, true);
        assert!(<Csv<Row>>::from_line(b"a,b").unwrap().is_none());
        let Csv(r) = <Csv<Row>>::from_line(b"x,2").unwrap().unwrap();
        assert_eq!(
            r,
            Row {
                b: 2.0,
                a: "x".into()
            }
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.csv");
        std::fs::write(&p, "\u{feff}b,a\r\n1,y\r\n").unwrap();
        begin_task(Some(&p), false);
        let Csv(r) = <Csv<Row>>::from_line(b"3,z").unwrap().unwrap();
        assert_eq!(
            r,
            Row {
                b: 3.0,
                a: "z".into()
            }
        );
        let e = <Csv<Row>>::from_line(b"notanumber,z").unwrap_err();
        assert!(e.0.contains("does not fit"), "{e}");
        end_task();
        let Csv(t) = <Csv<(String, u8)>>::from_line(b"\"q\"\"uote\",7")
            .unwrap()
            .unwrap();
        assert_eq!(t, ("q\"uote".to_string(), 7));
    }
}
