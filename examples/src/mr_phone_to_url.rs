//! `mr_phone_to_url`: map +1 (U.S. and Canadian) phone numbers to the most
//! plausible URL for their web page, from Common Crawl's WET files (a port
//! of mrjob's `mr_phone_to_url.py`: non-line-based input, two steps).
//!
//! ```text
//! mr run mr_phone_to_url CC-MAIN-*.warc.wet.gz
//! # python -m mrjob.examples.mr_phone_to_url -r local CC-MAIN-*.warc.wet.gz
//! ```
//!
//! Each input file is read whole, one file a map task (mrjob's `mapper_raw`,
//! here a mapper of [`WholeFile`]s), record by record with [`WarcReader`]
//! (what mrjob's job does with `warcio`'s `ArchiveIterator`):
//!
//! 1. for each `conversion` record of `Content-Type: text/plain` with a
//!    non-empty `WARC-Target-URI`, each phone number in its text
//!    ([`PHONE_RE`], put in the form `+1NXXNXXXXXX` by
//!    [`standardize_phone_number`]) is sent under the URL's host (Python's
//!    `urlparse(url).netloc`, see [`netloc`]) as `[phone, url]`. The reducer
//!    drops a host with more than [`MAX_PHONES_PER_HOST`] numbers (a
//!    directory, not a business) and sends each number on as
//!    `phone: [url, numbers on the host]`;
//! 2. each phone number's URL: the one on the host with the fewest numbers;
//!    among those, the **longest** URL, then the first in code point order.
//!    mrjob's docstring says "the shortest URL", but its code sorts by
//!    `(count, -len(url), url)` and takes the first: the longest. This port
//!    follows the code.
//!
//! Output: `"+14155551234"\t"http://example.com/contact"`.
//!
//! WET files as Common Crawl writes them (each record its own gzip member)
//! read as warcio reads them. On a malformed file this reader is stricter
//! than warcio, which warns and reads on: a file that does not start with a
//! `WARC/` line, a record without a `Content-Length` (warcio reads to the
//! end of the file or gzip member), content cut short by the end of the
//! file, and content not followed by a blank line are errors naming the
//! file and the record's byte offset (in the decompressed file). ARC files,
//! which warcio also reads, are not WARC files here.

use mr_core::input::whole_file::WholeFile;
use mr_core::{Emitter, IdentityMapper, Job, JobError, Mapper, Reducer, Step, Values};
use regex::bytes::Regex;
use std::cmp::Reverse;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::net::{Ipv4Addr, Ipv6Addr};

/// mrjob's `PHONE_RE`, `br'(?:[\D\b]|^)(1?[2-9]\d{2}[\-. ()+]+\d{3}[\-.
/// ()+]+\d{4})(?:[\D\b]|$)'`, for the `regex` crate's byte API. On bytes,
/// Python's `\d` is `[0-9]`, `\D` any other byte (not UTF-8 too), and `\b`
/// in a class the backspace byte, 0x08: `(?-u)` and `\x08` here. Python's
/// `$` also matches before a final newline, where `[\D\b]` matches that
/// newline anyway: the numbers found are the same.
pub const PHONE_RE: &str =
    r"(?-u)(?:[\D\x08]|^)(1?[2-9]\d{2}[\-. ()+]+\d{3}[\-. ()+]+\d{4})(?:[\D\x08]|$)";

/// mrjob's `PHONE_SEP_RE`: the bytes that separate a number's digits.
pub const PHONE_SEPARATORS: &[u8] = b"-. ()+";

/// Hosts with more phone numbers than this are taken for directories and
/// left out (mrjob's `MAX_PHONES_PER_HOST`).
pub const MAX_PHONES_PER_HOST: usize = 1000;

/// The job.
pub struct MrPhoneToUrl;

impl Job for MrPhoneToUrl {
    fn name(&self) -> &str {
        "mr_phone_to_url"
    }
    fn description(&self) -> &str {
        "Phone numbers to the most likely URL, from Common Crawl WET files read whole (port of mrjob's mr_phone_to_url)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(ExtractPhoneAndUrl::default()).reduce(CountByHost),
            Step::map(IdentityMapper::<String, (String, u64)>::new()).reduce(PickBestUrl),
        ]
    }
}

/// Reads a WET file and emits `host: [phone, url]` for each phone number of
/// each page's text (mrjob's `extract_phone_and_url_mapper`).
#[derive(Clone, Default)]
pub struct ExtractPhoneAndUrl {
    re: Option<Regex>,
}

impl Mapper for ExtractPhoneAndUrl {
    type Input<'a> = WholeFile<'a>;
    type Key = String;
    type Value = (String, String);

    fn map(
        &mut self,
        file: WholeFile<'_>,
        out: &mut Emitter<String, (String, String)>,
    ) -> Result<(), JobError> {
        if self.re.is_none() {
            // Compiled once a task, on its first file.
            self.re = Some(Regex::new(PHONE_RE)?);
        }
        let Some(re) = &self.re else {
            return Ok(());
        };
        let located = |e: WarcError| match e {
            WarcError::Io(e) => JobError::from(e),
            e => JobError::msg(format!("{}: {e}", file.uri())),
        };
        let mut warc = WarcReader::new(file.open()?);
        while let Some(record) = warc.next_record().map_err(located)? {
            let h = &record.headers;
            if h.get("WARC-Type") != Some("conversion")
                || h.get("Content-Type") != Some("text/plain")
            {
                continue;
            }
            let Some(url) = h.get("WARC-Target-URI").filter(|u| !u.is_empty()) else {
                continue;
            };
            // Python's `urlparse` raises ValueError here, and the job fails.
            let host = netloc(url).map_err(|e| {
                JobError::msg(format!(
                    "{}: the record at byte {}: WARC-Target-URI {url:?}: {e}",
                    file.uri(),
                    record.offset
                ))
            })?;
            let payload = warc.content().map_err(located)?;
            for caps in re.captures_iter(payload) {
                let phone = standardize_phone_number(&caps[1])?;
                out.emit(&host, (phone, url.to_string()))?;
            }
        }
        Ok(())
    }
}

/// Drops a host with more than [`MAX_PHONES_PER_HOST`] numbers, and sends
/// each number of the others on as `phone: [url, numbers on the host]`
/// (mrjob's `count_by_host_reducer`; a number found twice counts twice).
#[derive(Clone)]
pub struct CountByHost;

impl Reducer for CountByHost {
    type Key = String;
    type Value = (String, String);
    type OutKey = String;
    type OutValue = (String, u64);

    fn reduce(
        &mut self,
        _host: String,
        phone_urls: Values<'_, (String, String)>,
        out: &mut Emitter<String, (String, u64)>,
    ) -> Result<(), JobError> {
        // As mrjob's `islice`: no more than one past the limit is read.
        let phone_urls: Vec<(String, String)> = phone_urls.take(MAX_PHONES_PER_HOST + 1).collect();
        if phone_urls.len() > MAX_PHONES_PER_HOST {
            return Ok(());
        }
        let count = phone_urls.len() as u64;
        for (phone, url) in phone_urls {
            out.emit(&phone, (url, count))?;
        }
        Ok(())
    }
}

/// Emits a phone number's URL: the first by `(count, -len(url), url)`, as
/// mrjob's `pick_best_url_reducer` sorts them: the fewest numbers on the
/// host, then the longest URL (in characters), then the first in code point
/// order (UTF-8 byte order is the same).
#[derive(Clone)]
pub struct PickBestUrl;

impl Reducer for PickBestUrl {
    type Key = String;
    type Value = (String, u64);
    type OutKey = String;
    type OutValue = String;

    fn reduce(
        &mut self,
        phone: String,
        urls_with_count: Values<'_, (String, u64)>,
        out: &mut Emitter<String, String>,
    ) -> Result<(), JobError> {
        // Each value's sort key made once, with the URL moved in, not copied.
        let best = urls_with_count
            .map(|(url, count)| (count, Reverse(url.chars().count()), url))
            .min();
        match best {
            Some((_, _, url)) => out.emit(&phone, url),
            None => Ok(()),
        }
    }
}

/// mrjob's `standardize_phone_number`: the digits of `number` (separators
/// [`PHONE_SEPARATORS`] taken out), `+1` before ten of them or fewer, `+`
/// before more. Past seven characters, a last and then a first character
/// that is not a digit is dropped. An error if `number` is not ASCII (as
/// Python's `decode('ascii')`; [`PHONE_RE`] matches only ASCII).
///
/// ```
/// use mr_examples::mr_phone_to_url::standardize_phone_number;
/// assert_eq!(standardize_phone_number(b"(415) 555-1234").unwrap(), "+14155551234");
/// assert_eq!(standardize_phone_number(b"1 800.555.0199").unwrap(), "+18005550199");
/// ```
pub fn standardize_phone_number(number: &[u8]) -> Result<String, JobError> {
    let joined: Vec<u8> = number
        .iter()
        .copied()
        .filter(|b| !PHONE_SEPARATORS.contains(b))
        .collect();
    if !joined.is_ascii() {
        return Err(JobError::msg(format!(
            "phone number {:?} is not ASCII",
            String::from_utf8_lossy(&joined)
        )));
    }
    let mut number: String = joined.iter().map(|&b| char::from(b)).collect();
    if number.len() > 7 {
        if !number.ends_with(|c: char| c.is_ascii_digit()) {
            number.pop();
        }
        if !number.starts_with(|c: char| c.is_ascii_digit()) {
            number.remove(0);
        }
    }
    Ok(if number.len() <= 10 {
        format!("+1{number}")
    } else {
        format!("+{number}")
    })
}

/// Characters not in ASCII whose NFKC normal form holds one of `/?#@:`
/// (Unicode 14, Python 3.11's `unicodedata`): a host holding one makes
/// Python's `urlsplit` raise.
const NFKC_URL_DELIMITERS: &[char] = &[
    '\u{2047}', '\u{2048}', '\u{2049}', '\u{2100}', '\u{2101}', '\u{2105}', '\u{2106}', '\u{2a74}',
    '\u{fe13}', '\u{fe16}', '\u{fe55}', '\u{fe56}', '\u{fe5f}', '\u{fe6b}', '\u{ff03}', '\u{ff0f}',
    '\u{ff1a}', '\u{ff1f}', '\u{ff20}',
];

/// Python 3.11's `urllib.parse.urlparse(url).netloc`: the part after
/// `scheme://` (or `//`) up to the first `/`, `?` or `#`, as written (case,
/// user info and port kept), or `""`. Leading C0 controls and spaces are
/// taken off the URL first, and tabs, CRs and LFs out of it. The error is
/// the `ValueError` Python raises: brackets that are not a valid IPv6 (or
/// IPvFuture) host, or a character whose NFKC form is a URL delimiter.
///
/// ```
/// use mr_examples::mr_phone_to_url::netloc;
/// assert_eq!(netloc("HTTP://user@Example.COM:8080?q#f").unwrap(), "user@Example.COM:8080");
/// assert_eq!(netloc("example.com/a").unwrap(), "");
/// assert!(netloc("http://[::1/").is_err());
/// ```
pub fn netloc(url: &str) -> Result<String, String> {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = url.as_str();
    if let Some(i) = rest.find(':') {
        let scheme = &rest.as_bytes()[..i];
        let ok = i > 0
            && scheme[0].is_ascii_alphabetic()
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b));
        if ok {
            rest = &rest[i + 1..];
        }
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Ok(String::new());
    };
    let netloc = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    match (netloc.contains('['), netloc.contains(']')) {
        (true, true) => {
            let (_, in_brackets) = netloc.split_once('[').unwrap_or_default();
            let host = in_brackets.split_once(']').map_or(in_brackets, |(h, _)| h);
            check_bracketed_host(host)?;
        }
        (false, false) => {}
        _ => return Err("Invalid IPv6 URL".into()),
    }
    if netloc.contains(NFKC_URL_DELIMITERS) {
        return Err(format!(
            "netloc {netloc:?} contains invalid characters under NFKC normalization"
        ));
    }
    Ok(netloc.to_string())
}

/// Python's `_check_bracketed_host`: `v` HEX `.` something (IPvFuture), or
/// an IPv6 address, with a `%zone` or without.
fn check_bracketed_host(host: &str) -> Result<(), String> {
    if let Some(rest) = host.strip_prefix('v') {
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        let tail = rest[hex..].strip_prefix('.').unwrap_or("");
        return if hex > 0 && !tail.is_empty() && !tail.contains('\n') {
            Ok(())
        } else {
            Err("IPvFuture address is invalid".into())
        };
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Err("An IPv4 address cannot be in brackets".into());
    }
    let addr = match host.split_once('%') {
        Some((_, zone)) if zone.is_empty() || zone.contains('%') => None,
        Some((addr, _)) => Some(addr),
        None => Some(host),
    };
    match addr.map(str::parse::<Ipv6Addr>) {
        Some(Ok(_)) => Ok(()),
        _ => Err(format!(
            "{host:?} does not appear to be an IPv4 or IPv6 address"
        )),
    }
}

/// The versions a record's first line may start with (any case), as warcio
/// takes them.
const WARC_VERSIONS: [&str; 4] = ["WARC/1.1", "WARC/1.0", "WARC/0.17", "WARC/0.18"];

/// The longest line a WARC record's head may have: a longer one is an
/// error, so that a file that is not WARC is not read whole into memory.
pub const MAX_LINE_BYTES: u64 = 1 << 20; // 1 MiB

/// An error reading a WARC file.
#[derive(Debug)]
pub enum WarcError {
    /// The file could not be read (the error names it).
    Io(io::Error),
    /// The record at `offset` (bytes into the decompressed file) is not
    /// WARC.
    Malformed {
        /// Where the record starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

impl fmt::Display for WarcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WarcError::Io(e) => e.fmt(f),
            WarcError::Malformed { offset, what } => {
                write!(f, "malformed WARC record at byte {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for WarcError {}

impl From<io::Error> for WarcError {
    fn from(e: io::Error) -> WarcError {
        WarcError::Io(e)
    }
}

/// A record's named fields, in file order, as warcio keeps them: names
/// matched without regard to case, the first of a name found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The value of the first field named `name` (any case), as warcio's
    /// `get_header`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| lower_eq(n, name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets the last field named `name` (any case) to `value`, or adds it,
    /// as warcio's `replace_header`.
    pub fn replace(&mut self, name: &str, value: String) {
        match self.0.iter_mut().rev().find(|(n, _)| lower_eq(n, name)) {
            Some(field) => field.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }
}

/// Python's `a.lower() == b.lower()`.
fn lower_eq(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Python's `str.isspace()` for one character: Unicode's white space and
/// the four separators 0x1C to 0x1F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// A line as warcio decodes a header line: UTF-8, or else Latin-1.
fn decode(line: &[u8]) -> String {
    match std::str::from_utf8(line) {
        Ok(s) => s.to_string(),
        Err(_) => line.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A record's head: where it starts and its named fields. Its content is
/// read with [`WarcReader::content`], or skipped by the next
/// [`WarcReader::next_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcRecord {
    /// Where the record starts, in bytes into the (decompressed) file.
    pub offset: u64,
    /// Its first line (`WARC/1.0`).
    pub version: String,
    /// Its named fields (`WARC-Target-URI` in warcio's form: `<` and `>`
    /// around it taken off, spaces in it written `%20`).
    pub headers: Headers,
    /// Its `Content-Length`.
    pub content_length: u64,
}

/// A WARC file read record by record, as warcio's `ArchiveIterator` reads
/// it: a record is a `WARC/1.0` (or `WARC/1.1`) line, `Name: value` lines
/// (a line starting with a space or tab continues the value above), a
/// blank line, `Content-Length` bytes of content, then blank lines. Only
/// one record's head and content are held in memory.
pub struct WarcReader<R> {
    inner: R,
    /// Bytes read from `inner`.
    offset: u64,
    /// Where the current record starts, if there is one.
    record: Option<u64>,
    /// Content bytes of the current record not read yet.
    unread: u64,
    line: Vec<u8>,
    content: Vec<u8>,
}

impl<R: BufRead> WarcReader<R> {
    /// A reader of the WARC records of `inner` (decompressed).
    pub fn new(inner: R) -> Self {
        WarcReader {
            inner,
            offset: 0,
            record: None,
            unread: 0,
            line: Vec::new(),
            content: Vec::new(),
        }
    }

    /// The next record's head, or `None` at the end of the file. The
    /// content of the record before, if not read, is skipped.
    pub fn next_record(&mut self) -> Result<Option<WarcRecord>, WarcError> {
        if let Some(at) = self.record {
            let want = self.unread;
            let skipped = io::copy(&mut (&mut self.inner).take(want), &mut io::sink())?;
            self.offset += skipped;
            self.unread -= skipped;
            if skipped < want {
                return Err(cut_short(at, want - skipped));
            }
            // Blank lines (white space only, as Python's `bytes.isspace`,
            // which takes \x0B too) end a record: at least one, unless the
            // file ends.
            let mut blank = 0;
            loop {
                if self.read_line(at)? == 0 {
                    return Ok(None);
                }
                if !self.line.iter().all(|b| b" \t\n\r\x0b\x0c".contains(b)) {
                    break;
                }
                blank += 1;
            }
            if blank == 0 {
                return Err(malformed(
                    at,
                    "its content is not followed by a blank line (is its Content-Length right?)",
                ));
            }
        } else if self.read_line(self.offset)? == 0 {
            return Ok(None);
        }
        let offset = self.offset - self.line.len() as u64;
        self.record = Some(offset);
        self.unread = 0;

        let version = decode(&self.line);
        let version = version.trim_end_matches(py_space).to_string();
        let is_warc = WARC_VERSIONS.iter().any(|v| {
            version
                .as_bytes()
                .get(..v.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(v.as_bytes()))
        });
        if !is_warc {
            let shown: String = version.chars().take(60).collect();
            return Err(malformed(
                offset,
                &format!("expected a line WARC/1.0 or WARC/1.1, found {shown:?}"),
            ));
        }

        let mut headers = Headers::default();
        let mut line = self.head_line(offset)?;
        while !line.is_empty() {
            let (name, mut value) = match line.split_once(':') {
                Some((n, v)) => (
                    n.trim_end_matches([' ', '\t']).to_string(),
                    Some(v.trim_start_matches(py_space).to_string()),
                ),
                None => (line, None),
            };
            let mut next = self.head_line(offset)?;
            while next.starts_with([' ', '\t']) {
                if let Some(v) = &mut value {
                    v.push_str(&next);
                }
                next = self.head_line(offset)?;
            }
            if let Some(value) = value {
                headers.0.push((name, value));
            }
            line = next;
        }

        let content_length = match headers.get("Content-Length") {
            None => return Err(malformed(offset, "it has no Content-Length")),
            Some(n) => n.parse::<u64>().map_err(|_| {
                malformed(offset, &format!("its Content-Length {n:?} is not a length"))
            })?,
        };
        if let Some(mut uri) = headers.get("WARC-Target-URI").map(str::to_string) {
            // warcio's `_ensure_target_uri_format`, which changes the last
            // field of the name (`get` gives the first).
            if uri.len() >= 2 && uri.starts_with('<') && uri.ends_with('>') {
                uri = uri[1..uri.len() - 1].to_string();
                headers.replace("WARC-Target-URI", uri.clone());
            }
            if uri.contains(' ') {
                headers.replace("WARC-Target-URI", uri.replace(' ', "%20"));
            }
        }
        self.unread = content_length;
        Ok(Some(WarcRecord {
            offset,
            version,
            headers,
            content_length,
        }))
    }

    /// The content of the record [`next_record`](Self::next_record) gave
    /// (empty if read already).
    pub fn content(&mut self) -> Result<&[u8], WarcError> {
        self.content.clear();
        let Some(at) = self.record else {
            return Ok(&self.content);
        };
        let want = self.unread;
        let got = (&mut self.inner)
            .take(want)
            .read_to_end(&mut self.content)? as u64;
        self.offset += got;
        self.unread -= got;
        if got < want {
            return Err(cut_short(at, want - got));
        }
        Ok(&self.content)
    }

    /// Reads a line (to its `\n`, or the end of the file) into `self.line`;
    /// its length, 0 at the end of the file.
    fn read_line(&mut self, at: u64) -> Result<usize, WarcError> {
        self.line.clear();
        let n = (&mut self.inner)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut self.line)?;
        self.offset += n as u64;
        if n as u64 > MAX_LINE_BYTES {
            return Err(malformed(
                at,
                &format!("a line of its head is longer than {MAX_LINE_BYTES} bytes"),
            ));
        }
        Ok(n)
    }

    /// The next line of a record's head, decoded, white space taken off its
    /// end: `""` ends the head (as does the end of the file).
    fn head_line(&mut self, at: u64) -> Result<String, WarcError> {
        self.read_line(at)?;
        let mut line = decode(&self.line);
        line.truncate(line.trim_end_matches(py_space).len());
        Ok(line)
    }
}

fn malformed(offset: u64, what: &str) -> WarcError {
    WarcError::Malformed {
        offset,
        what: what.to_string(),
    }
}

fn cut_short(offset: u64, missing: u64) -> WarcError {
    malformed(
        offset,
        &format!("the file ends {missing} bytes before the end of its content"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::{run_in_memory, with_emitter};
    use std::io::Write;

    /// A WET record: `WARC/1.0`, `fields`, the content and two blank lines.
    fn record(fields: &[(&str, &str)], content: &[u8]) -> Vec<u8> {
        let mut r = b"WARC/1.0\r\n".to_vec();
        for (n, v) in fields {
            write!(r, "{n}: {v}\r\n").unwrap();
        }
        write!(r, "Content-Length: {}\r\n\r\n", content.len()).unwrap();
        r.extend_from_slice(content);
        r.extend_from_slice(b"\r\n\r\n");
        r
    }

    fn page(url: &str, text: &[u8]) -> Vec<u8> {
        record(
            &[
                ("WARC-Type", "conversion"),
                ("WARC-Target-URI", url),
                ("Content-Type", "text/plain"),
            ],
            text,
        )
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(WarcRecord, Vec<u8>)>, WarcError> {
        let mut r = WarcReader::new(bytes);
        let mut all = Vec::new();
        while let Some(rec) = r.next_record()? {
            let content = r.content()?.to_vec();
            all.push((rec, content));
        }
        Ok(all)
    }

    #[test]
    fn phone_re_finds_what_python_finds() {
        // Each input with what Python's `PHONE_RE.findall` gives (mrjob
        // 0.7.4's pattern, Python 3.11).
        let cases: &[(&[u8], &[&str])] = &[
            (b"(415) 555-1234", &["415) 555-1234"]),
            (b"1-800-555-0199", &["800-555-0199"]),
            (b"+1 212 555 0100", &["212 555 0100"]),
            (b"x4155551234", &[]),
            (b"415-555-12345", &[]),
            (b"a415-555-1234b", &["415-555-1234"]),
            (b"9415-555-1234", &[]),
            // The space after the first number is taken with it: the
            // second has nothing before it.
            (b"415-555-1234 415-555-1235", &["415-555-1234"]),
            (b"tel:415-555-1234,415-555-9999", &["415-555-1234"]),
            (
                b"415-555-1234 and 212.555.0100.",
                &["415-555-1234", "212.555.0100"],
            ),
            (b"415-555-1234415-555-1235", &[]),
            (b"415-555-1234\n", &["415-555-1234"]),
            (b"\xff415-555-1234\xfe", &["415-555-1234"]),
            (b"\x08415  - ) 555((1234\x08", &["415  - ) 555((1234"]),
            (b"1415 555 1234", &["1415 555 1234"]),
            (b"11415 555 1234", &[]),
            (b"0415 555 1234", &[]),
            (b"415-555-1234-555-1234", &["415-555-1234"]),
            (b"1 415 555 1234", &["415 555 1234"]),
            (b"(800)5551234", &[]),
            (b"123-456-7890 223-456-7890", &["223-456-7890"]),
            (b"\xe2\x80\x94415-555-1234\xe2\x80\x94", &["415-555-1234"]),
        ];
        let re = Regex::new(PHONE_RE).unwrap();
        for (text, want) in cases {
            let got: Vec<String> = re
                .captures_iter(text)
                .map(|c| String::from_utf8_lossy(&c[1]).into_owned())
                .collect();
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn phone_numbers_standardize_as_in_python() {
        let s = |n: &[u8]| standardize_phone_number(n).unwrap();
        assert_eq!(s(b"415) 555-1234"), "+14155551234");
        assert_eq!(s(b"1415 555 1234"), "+14155551234");
        assert_eq!(s(b"415+555+1234"), "+14155551234");
        // Past seven characters, a non-digit at either end is dropped.
        assert_eq!(s(b"x41555512y"), "+141555512");
        assert_eq!(s(b"12345678901x"), "+12345678901");
        assert_eq!(s(b"x123"), "+1x123");
        assert!(standardize_phone_number("4155551234é".as_bytes()).is_err());
    }

    #[test]
    fn netloc_is_pythons() {
        // Each URL with Python 3.11's `urlparse(url).netloc`, or an error.
        let ok = [
            ("http://example.com/a", "example.com"),
            ("HTTP://Example.COM:8080/x?y#z", "Example.COM:8080"),
            ("https://user:pw@host.com:443", "user:pw@host.com:443"),
            ("http://host.com?q=1", "host.com"),
            ("http://host.com#frag", "host.com"),
            ("//host.com/path", "host.com"),
            ("host.com/path", ""),
            ("http:/x", ""),
            ("http:host", ""),
            ("mailto:a@b.com", ""),
            ("  \x01http://lead.com/", "lead.com"),
            ("http://ta\tb\r\nc.com/x", "tabc.com"),
            ("1http://x.com/", ""),
            ("h-t+t.p://x.com/", "x.com"),
            ("http://[::1]:80/", "[::1]:80"),
            ("http://[v1.x]/", "[v1.x]"),
            ("http://[fe80::1%eth0]/", "[fe80::1%eth0]"),
            ("http://café.com/", "café.com"),
            ("http://é@x/", "é@x"),
            ("http://x.com:99999/", "x.com:99999"),
            ("https://", ""),
            ("http:///path", ""),
            ("http://a.com;p?q", "a.com;p"),
            ("\u{a0}http://nb.com/", ""),
            ("http://[::ffff:1.2.3.4]/", "[::ffff:1.2.3.4]"),
            ("http://[1:2:3:4:5:6:7::]/", "[1:2:3:4:5:6:7::]"),
            ("http://x[::1]y/", "x[::1]y"),
            ("http://[::1]x]/", "[::1]x]"),
            ("http://a.com\\b/c", "a.com\\b"),
            ("Http://@/", "@"),
            ("http://[0001::1]/", "[0001::1]"),
        ];
        for (url, want) in ok {
            assert_eq!(netloc(url).as_deref(), Ok(want), "{url:?}");
        }
        for url in [
            "http://[::1/",
            "http://]x[/",
            "http://[1.2.3.4]/",
            "http://[v1.]/",
            "http://[V1.x]/",
            "http://[fe80::1%]/",
            "http://[zz]/",
            "http://a\u{ff0f}b.com/",
            "http://a\u{2100}b/",
            "http://a\u{ff20}b@c/",
            "http://[00001::1]/",
            "http://[::01.2.3.4]/",
            "http://[1:2:3:4:5:6:7:8:9]/",
            "http://[1::2::3]/",
            "http://[:1::2]/",
        ] {
            assert!(netloc(url).is_err(), "{url:?}: {:?}", netloc(url));
        }
    }

    #[test]
    fn records_read_as_warcio_reads_them() {
        let info = record(&[("WARC-Type", "warcinfo")], b"software: x\r\n");
        let mut wet = info.clone();
        // Folded values, names in any case, a field without a colon, the
        // URI in angle brackets with spaces, a Latin-1 head line, white
        // space around values, and three blank lines after the content
        // (one of vertical tab, form feed, space and tab).
        wet.extend_from_slice(
            b"warc/1.0\r\nwarc-type:   conversion  \r\nno colon\r\n \tskipped\r\n\
              WARC-Target-URI: <http://a.com/x y>\r\nX-Caf\xe9: folded\r\n\t more\r\n\
              content-length: 5\r\n\r\nab\ncd\r\n\x0b\x0c \t\r\n\r\n",
        );
        wet.extend(page("http://b.com/", b"text"));
        let all = read_all(&wet).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].0.offset, 0);
        assert_eq!(all[0].1, b"software: x\r\n");
        let (rec, content) = &all[1];
        assert_eq!(rec.offset, info.len() as u64);
        assert_eq!(rec.version, "warc/1.0");
        assert_eq!(rec.headers.get("WARC-TYPE"), Some("conversion"));
        assert_eq!(
            rec.headers.get("WARC-Target-URI"),
            Some("http://a.com/x%20y")
        );
        assert_eq!(rec.headers.get("x-café"), Some("folded\t more"));
        assert_eq!(rec.headers.get("no colon"), None);
        assert_eq!(content, b"ab\ncd");
        assert_eq!(all[2].1, b"text");
        // Two URI fields: warcio fixes the last, the job reads the first.
        let two = b"WARC/1.0\r\nWARC-Target-URI: <http://a/ b>\r\n\
                    WARC-Target-URI: http://c/\r\nContent-Length: 0\r\n\r\n";
        let all = read_all(two).unwrap();
        assert_eq!(
            all[0].0.headers.0,
            vec![
                ("WARC-Target-URI".to_string(), "<http://a/ b>".to_string()),
                ("WARC-Target-URI".to_string(), "http://a/%20b".to_string()),
                ("Content-Length".to_string(), "0".to_string()),
            ]
        );
        // Content skipped unread, the end of the file just after it, and
        // an empty file.
        let mut r = WarcReader::new(&b"WARC/1.1\r\nContent-Length: 3\r\n\r\nabc"[..]);
        assert!(r.next_record().unwrap().is_some());
        assert!(r.next_record().unwrap().is_none());
        assert!(read_all(b"").unwrap().is_empty());
    }

    #[test]
    fn malformed_records_are_errors_at_their_offset() {
        let first = page("http://a.com/", b"415-555-1234");
        let at = first.len() as u64;
        let err = |rest: &[u8]| {
            let mut wet = first.clone();
            wet.extend_from_slice(rest);
            match read_all(&wet) {
                Err(WarcError::Malformed { offset, what }) => (offset, what),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(rest)),
            }
        };
        let (offset, what) = err(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(offset, at);
        assert!(what.contains("HTTP/1.1 200 OK"), "{what}");
        let (offset, what) = err(b"WARC/1.0\r\nWARC-Type: conversion\r\n\r\nabc");
        assert_eq!((offset, what.contains("no Content-Length")), (at, true));
        let (offset, what) = err(b"WARC/1.0\r\nContent-Length: 10\r\n\r\nabc");
        assert_eq!(offset, at);
        assert!(what.contains("7 bytes before"), "{what}");
        let (_, what) = err(b"WARC/1.0\r\nContent-Length: -1\r\n\r\n");
        assert!(what.contains("not a length"), "{what}");
        let (offset, what) = err(b"WARC/1.0\r\nContent-Length: 2\r\n\r\nabc\r\n\r\n");
        assert_eq!(offset, at);
        assert!(what.contains("blank line"), "{what}");
        let long = vec![b'x'; MAX_LINE_BYTES as usize + 10];
        assert!(matches!(
            read_all(&long),
            Err(WarcError::Malformed { offset: 0, .. })
        ));
        // A blank line first is not a record.
        assert!(read_all(b"\r\nWARC/1.0\r\nContent-Length: 0\r\n\r\n").is_err());
    }

    #[test]
    fn the_mapper_reads_text_pages_only_and_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut wet = record(&[("WARC-Type", "warcinfo")], b"415-555-1234");
        wet.extend(page(
            "http://a.com/c",
            b"call (415) 555-1234 \xff or 1-800-555-0199.",
        ));
        wet.extend(record(
            &[
                ("WARC-Type", "conversion"),
                ("WARC-Target-URI", "http://b.com/"),
                ("Content-Type", "text/html"),
            ],
            b"415-555-1234",
        ));
        wet.extend(page("", b"415-555-1234"));
        wet.extend(record(
            &[
                ("WARC-Type", "response"),
                ("WARC-Target-URI", "http://c.com/"),
                ("Content-Type", "text/plain"),
            ],
            b"415-555-1234",
        ));
        let path = dir.path().join("a.wet");
        std::fs::write(&path, &wet).unwrap();
        let uri = format!("file://{}", path.display());
        let mut m = ExtractPhoneAndUrl::default();
        let recs = with_emitter(|out| m.map(WholeFile::new(uri.as_str()), out));
        let s = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            recs,
            vec![
                s("\"a.com\"", r#"["+14155551234","http://a.com/c"]"#),
                s("\"a.com\"", r#"["+18005550199","http://a.com/c"]"#),
            ]
        );

        // Errors name the file, and the record's offset.
        let err = |wet: &[u8]| {
            std::fs::write(&path, wet).unwrap();
            let e = run_in_memory(&MrPhoneToUrl, &[uri.as_str()]).unwrap_err();
            format!("{e:#}")
        };
        let at = wet.len();
        wet.extend_from_slice(b"garbage\r\n");
        let e = err(&wet);
        assert!(
            e.contains("a.wet") && e.contains(&format!("record at byte {at}:")),
            "{e}"
        );
        let e = err(&page("http://[::1/", b"415-555-1234"));
        assert!(
            e.contains("a.wet") && e.contains("byte 0") && e.contains("Invalid IPv6 URL"),
            "{e}"
        );
    }

    #[test]
    fn the_job_picks_the_least_crowded_host_then_the_longest_url() {
        let dir = tempfile::tempdir().unwrap();
        let mut wet = page("http://one.com/a", b"415-555-1234 x 212-555-0100");
        // Same count (1 number a host): the longest URL wins, then the
        // first in code point order.
        wet.extend(page("http://two.com/ab", b"212 555 0100"));
        wet.extend(page("http://thr.com/ab", b"212 555 0100"));
        wet.extend(page("http://four.com/", b"415.555.1234"));
        // A directory: more than MAX_PHONES_PER_HOST numbers, left out.
        let many: Vec<u8> = (0..=MAX_PHONES_PER_HOST)
            .flat_map(|i| format!("(312) 555-{i:04} ").into_bytes())
            .collect();
        wet.extend(page("http://dir.com/all-of-them-here", &many));
        let path = dir.path().join("a.wet");
        std::fs::write(&path, &wet).unwrap();
        let line = format!("file://{}", path.display());
        let (lines, _) = run_in_memory(&MrPhoneToUrl, &[line]).unwrap();
        assert_eq!(
            lines,
            vec![
                r#""+12125550100"	"http://thr.com/ab""#,
                r#""+14155551234"	"http://four.com/""#,
            ]
        );
    }
}
