//! The wire format between steps and at the output, and how input lines are
//! decoded for a mapper.
//!
//! A record travels as mrjob's JSON protocol, one a line:
//! `json(key) TAB json(value) NEWLINE`. JSON never contains a raw tab or
//! newline, so the first tab splits key from value. Keys are compared and
//! grouped as bytes (as Hadoop Streaming does), so a key type must encode
//! deterministically: structs, tuples, strings, numbers and `serde_json::Value`
//! (whose maps are sorted) do; a `HashMap` key does not.
//!
//! When a step sorts its values (secondary sort), values are ordered by
//! [`sortable_value`], an order-preserving binary encoding of the JSON value:
//! numbers compare as numbers, strings as bytes, arrays element by element.
//!
//! Numbers are never changed silently. Floats round-trip exactly (serde_json's
//! `float_roundtrip`). An integer beyond 64 bits read into a type holding
//! `serde_json::Value`s (`Json<Value>` input, a `Value` key or value between
//! steps) is refused as a bad record: a `Value` could keep it only as the
//! nearest `f64` (`123456789012345678901234567890` would become
//! `1.2345678901234568e29`). serde_json's `arbitrary_precision` would keep it,
//! but that feature is crate-wide and turns numbers into maps under
//! `#[serde(untagged)]`, `#[serde(flatten)]` and internally tagged enums,
//! breaking jobs' own types, so mr leaves it off. Typed `u64`/`i64` fields
//! refuse such integers already; an `f64` field takes them as floats, as the
//! job asked.
//!
//! ```
//! use mr_core::{FromLine, Json};
//! let e = <Json<serde_json::Value>>::from_line(br#"{"id": 18446744073709551616}"#).unwrap_err();
//! assert_eq!(
//!     e.to_string(),
//!     "integer 18446744073709551616 does not fit in 64 bits (mr keeps numbers exact; quote it as a string)"
//! );
//! let Json(v) = <Json<serde_json::Value>>::from_line(br#"{"id": 18446744073709551615}"#).unwrap().unwrap();
//! assert_eq!(v["id"], u64::MAX);
//! ```

use serde::Deserialize;
use std::borrow::Cow;

/// Why an input line could not be turned into a mapper's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a mapper's input is decoded from one line (without its line ending).
///
/// Implemented for:
/// - `&str`: the raw line, which must be UTF-8;
/// - `&[u8]`: the raw line as bytes;
/// - [`TextLine`]: the raw line as text, Latin-1 when it is not UTF-8
///   (mrjob's default input protocol);
/// - [`Json<T>`]: the line parsed as JSON into `T` (borrowing from the line
///   where `T` can); blank lines are skipped and counted;
/// - `(K, V)`: a record written by an earlier step, `json(key) TAB json(value)`.
///
/// `Ok(None)` means "no record here" (a blank line for JSON input).
pub trait FromLine<'a>: Sized {
    /// Decodes one line.
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError>;

    /// The line format in words, for help pages: `text lines (UTF-8)`.
    /// Default: the type's name.
    fn format() -> String {
        crate::job::short_type_name::<Self>()
    }

    /// True when a "line" names a whole file rather than holding a record
    /// ([`WholeFile`](crate::input::whole_file::WholeFile)): the runner then
    /// gives the step's mapper each input file whole, one file a task,
    /// instead of splitting the files into lines.
    const WHOLE_FILES: bool = false;
}

/// A line as UTF-8 text: checked with SIMD (simdutf8), and, only when that
/// fails, again by std for the error's place.
#[inline]
pub(crate) fn utf8(line: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(line) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(line),
    }
}

impl<'a> FromLine<'a> for &'a str {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        match utf8(line) {
            Ok(s) => Ok(Some(s)),
            Err(e) => Err(DecodeError(format!("invalid UTF-8: {e}"))),
        }
    }

    fn format() -> String {
        "text lines (UTF-8)".into()
    }
}

impl<'a> FromLine<'a> for &'a [u8] {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        Ok(Some(line))
    }

    fn format() -> String {
        "lines of bytes".into()
    }
}

/// A raw text line decoded as mrjob's default input protocol does
/// (`RawValueProtocol`): UTF-8, or, for a line that is not valid UTF-8,
/// Latin-1 (every byte one character), so no line is ever rejected.
///
/// ```
/// use mr_core::{FromLine, TextLine};
/// let TextLine(s) = TextLine::from_line("caf\u{e9}".as_bytes()).unwrap().unwrap();
/// assert_eq!(s, "café");
/// let TextLine(s) = TextLine::from_line(b"caf\xe9").unwrap().unwrap();
/// assert_eq!(s, "café"); // 0xE9 is é in Latin-1
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine<'a>(pub Cow<'a, str>);

impl<'a> FromLine<'a> for TextLine<'a> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        Ok(Some(TextLine(match utf8(line) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(line.iter().map(|&b| char::from(b)).collect()),
        })))
    }

    fn format() -> String {
        "text lines (UTF-8, else Latin-1)".into()
    }
}

/// A line decoded as one JSON document into `T`.
///
/// ```
/// use mr_core::{FromLine, Json};
/// #[derive(serde::Deserialize)]
/// struct Event<'a> { #[serde(borrow)] page_url: Option<&'a str> }
/// let line = br#"{"page_url": "/a", "other": [1, 2]}"#;
/// let Json(e) = <Json<Event>>::from_line(line).unwrap().unwrap();
/// assert_eq!(e.page_url, Some("/a"));
/// assert!(<Json<Event>>::from_line(b"{not json").is_err());
/// assert!(<Json<Event>>::from_line(b"   ").unwrap().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Json<T>(pub T);

impl<'a, T: Deserialize<'a>> FromLine<'a> for Json<T> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        from_json(line, |e| format!("invalid JSON: {e}")).map(|v| Some(Json(v)))
    }

    fn format() -> String {
        format!(
            "JSON lines, one {} a line",
            crate::job::short_type_name::<T>()
        )
    }
}

impl<'a, K: Deserialize<'a>, V: Deserialize<'a>> FromLine<'a> for (K, V) {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        let (k, v) = split_record(line);
        let key = from_json(k, |e| format!("invalid JSON key: {e}"))?;
        // Hadoop gives a line without a tab as a key with an empty value.
        let v = if v.is_empty() { &b"null"[..] } else { v };
        let value = from_json(v, |e| {
            format!("invalid JSON value: {e}{}", null_value_hint(v))
        })?;
        Ok(Some((key, value)))
    }

    fn format() -> String {
        format!(
            "KEY<TAB>VALUE lines, both JSON: ({}, {})",
            crate::job::short_type_name::<K>(),
            crate::job::short_type_name::<V>()
        )
    }
}

/// What an error about the value `null` adds: a `key TAB value` line with
/// no tab, or nothing after it, is read as that (Hadoop's key with an empty
/// value), which a job's value type may not take (a line cut before its
/// tab, a raw text line given to a JSON step). The value may also be a
/// `null` written after the tab: the hint says both.
///
/// ```
/// use mr_core::protocol::null_value_hint;
/// assert!(null_value_hint(b"null").contains("no tab"));
/// assert_eq!(null_value_hint(b"1"), "");
/// ```
pub fn null_value_hint(value: &[u8]) -> &'static str {
    match value {
        b"null" => {
            " (the value null: written so, or the line has no tab or nothing after its \
             tab, which is read as null, as Hadoop Streaming gives such a line)"
        }
        _ => "",
    }
}

/// Parses JSON text into `T` as serde_json does, except that an integer
/// beyond 64 bits is refused where `T` would keep it as a rounded float (see
/// [`BigInteger`]). `syntax` words serde_json's own error.
pub(crate) fn from_json<'a, T: Deserialize<'a>>(
    json: &'a [u8],
    syntax: impl FnOnce(serde_json::Error) -> String,
) -> Result<T, DecodeError> {
    let v = serde_json::from_slice(json).map_err(|e| {
        let said = e.to_string();
        let lone = lone_surrogate(&said, json);
        let python = python_constant(&e, &said, json);
        let invalid_utf8 =
            said.starts_with("invalid unicode code point") && std::str::from_utf8(json).is_err();
        let mut text = syntax(e);
        if lone {
            text.push_str(LONE_SURROGATE);
        }
        if python {
            text.push_str(PYTHON_CONSTANT);
        }
        if invalid_utf8 {
            text.push_str(&not_utf8(json));
        }
        DecodeError(text)
    })?;
    match big_integer::<T>(json) {
        None => Ok(v),
        Some(big) => Err(DecodeError(big.to_string())),
    }
}

/// What serde_json's "invalid unicode code point" means on a line that is
/// not UTF-8: a raw byte, not a `\u` escape (a Latin-1 or cut file).
///
/// ```
/// # use mr_core::{FromLine, Json};
/// let e = <Json<serde_json::Value>>::from_line(b"{\"u\": \"caf\xe9\"}").err().unwrap();
/// assert!(e.to_string().contains("(the line is not UTF-8: byte 0xE9 at column 11"), "{e}");
/// ```
fn not_utf8(json: &[u8]) -> String {
    match std::str::from_utf8(json) {
        Ok(_) => String::new(),
        Err(e) => {
            let at = e.valid_up_to();
            format!(
                " (the line is not UTF-8: byte 0x{:02X} at column {}; a Latin-1 or Windows-1252 \
                 file? convert it with iconv -f latin1 -t utf-8)",
                json[at],
                at + 1
            )
        }
    }
}

/// What a lone surrogate escape is, after serde_json's message for it
/// ("lone leading surrogate in hex escape", "unexpected end of hex escape").
const LONE_SURROGATE: &str = " (a \\uD800-\\uDFFF escape that is not half of a pair, as \
    JavaScript writes a string cut inside an emoji: it is not a character, so the string cannot \
    be read; --skip-bad-records keeps such lines aside)";

/// Whether serde_json's error, `said`, is its refusal of a lone UTF-16
/// surrogate escape in `json` (which Python's `json` accepts, and JavaScript writes).
///
/// ```text
/// {"title": "Deadline \ud83d"}   -> bad record: invalid JSON: unexpected end of hex escape
///                                    at line 1 column 30 (a \uD800-\uDFFF escape that is ...)
/// ```
fn lone_surrogate(said: &str, json: &[u8]) -> bool {
    (said.contains("surrogate") || said.contains("end of hex escape"))
        && json.windows(4).any(|w| {
            w[0] == b'\\'
                && w[1] == b'u'
                && matches!(w[2], b'd' | b'D')
                && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
        })
}

/// What `NaN`, `Infinity` and `-Infinity` are, after serde_json's message
/// for the token.
const PYTHON_CONSTANT: &str = " (NaN, Infinity and -Infinity are not JSON: Python's \
    json.dumps writes them for float('nan') and float('inf') unless allow_nan=False; a \
    mapper's input line is read with them as null, other JSON is not: write null or a string \
    instead, or --skip-bad-records keeps such records aside)";

/// Whether a decode error's `reason` is serde_json's refusal of a Python
/// constant (as [`from_json`] words it: the explanation is its end, since
/// no other note goes with it): only such a line is worth reading again
/// with [`python_constants_as_null`] (not a CSV line, say). A comparison
/// of its end, not a search: a log of such lines pays it on each.
pub(crate) fn refused_python_constant(reason: &str) -> bool {
    reason.ends_with(PYTHON_CONSTANT)
}

/// Whether `e` (whose message is `said`) is serde_json's refusal of one of
/// Python's non-JSON number constants in `json`: the error is at the token, or
/// (`-Infinity`, an invalid number) just after its sign.
///
/// ```text
/// {"score": NaN}   -> bad record: invalid JSON: expected value at line 1 column 11
///                     (NaN, Infinity and -Infinity are not JSON: ...)
/// ```
fn python_constant(e: &serde_json::Error, said: &str, json: &[u8]) -> bool {
    if !(said.starts_with("expected value") || said.starts_with("invalid number")) {
        return false;
    }
    // The byte serde_json stopped at: line and column count from 1.
    let line_start = match e.line() {
        0 | 1 => 0,
        n => match json
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(n - 2)
        {
            Some((i, _)) => i + 1,
            None => return false,
        },
    };
    let at = line_start + e.column().saturating_sub(1);
    let token = |from: usize| {
        json.get(from..).is_some_and(|rest| {
            [&b"NaN"[..], b"Infinity", b"-Infinity"]
                .iter()
                .any(|w| rest.starts_with(w))
        })
    };
    token(at) || (at > 0 && json[at - 1] == b'-' && token(at - 1))
}

/// `line` decoded as mrjob's `json.loads(line)` reads it: JSON, or JSON with
/// Python's `NaN`, `Infinity` and `-Infinity` outside strings read as
/// `null` ([`python_constants_as_null`]); else serde_json's error for the
/// line as it is. For a mapper that reads `&str` lines and counts those it
/// cannot decode itself, as mrjob's `try: json.loads(line) except
/// ValueError: self.increment_counter(...)` does, where `Json<T>` input
/// makes such a line a bad record (probe /tmp/probe10-mrjob repro 06).
///
/// ```
/// use mr_core::protocol::python_loads;
/// let v: serde_json::Value = python_loads(br#"{"score": NaN, "page": "/a"}"#).unwrap();
/// assert_eq!(v["page"], "/a");
/// assert!(v["score"].is_null());
/// assert!(python_loads::<serde_json::Value>(br#"{"page": "/a""#).is_err());
/// ```
pub fn python_loads<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(line).or_else(|e| match python_constants_as_null(line) {
        Some(fixed) => serde_json::from_slice(&fixed),
        None => Err(e),
    })
}

/// `line` with Python's non-JSON number constants (`NaN`, `Infinity`,
/// `-Infinity`: what `json.dumps` writes for `float('nan')` and
/// `float('inf')`, and mrjob's `json.loads` reads) read as `null`: `None`
/// when it has none outside strings, or is not JSON once they are
/// replaced (then its own error stands). A `KEY<TAB>VALUE` line is JSON
/// when both halves are. The engine maps a line that fails to decode
/// again this way and counts it ([`crate::counters::READ_AS_NULL`]), so a
/// job reads a Python-written log as mrjob does, except that such a number
/// is null: a field the job needs as a number still fails, with the error
/// of the line so read, which says that it was.
///
/// ```
/// use mr_core::protocol::python_constants_as_null;
/// let fixed = python_constants_as_null(br#"{"t": NaN, "s": "NaN", "u": [-Infinity]}"#);
/// assert_eq!(fixed.as_deref(), Some(&br#"{"t": null, "s": "NaN", "u": [null]}"#[..]));
/// assert_eq!(python_constants_as_null(br#"{"t": "NaN"}"#), None);
/// assert_eq!(python_constants_as_null(br#"{"t": NaN"#), None); // still not JSON
/// ```
pub fn python_constants_as_null(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut i, mut copied) = (0, 0);
    // Outside strings: the next quote, or the first letter of a word.
    while let Some(j) = memchr::memchr3(b'"', b'N', b'I', &line[i..]) {
        i += j;
        match line[i] {
            b'"' => {
                // The string's end: the next quote not escaped.
                i += 1;
                loop {
                    let k = i + memchr::memchr2(b'"', b'\\', line.get(i..)?)?;
                    if line[k] == b'"' {
                        i = k + 1;
                        break;
                    }
                    i = k + 2;
                }
            }
            c => {
                let word = if c == b'N' { &b"NaN"[..] } else { b"Infinity" };
                if !line[i..].starts_with(word) {
                    i += 1;
                    continue;
                }
                let minus = c == b'I' && i > copied && line[i - 1] == b'-';
                out.extend_from_slice(&line[copied..i - usize::from(minus)]);
                out.extend_from_slice(b"null");
                i += word.len();
                copied = i;
            }
        }
    }
    if copied == 0 {
        return None;
    }
    out.extend_from_slice(&line[copied..]);
    let json = |b: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok();
    let (k, v) = split_record(&out);
    (json(&out) || (out.len() > k.len() && json(k) && json(v))).then_some(out)
}

thread_local! {
    /// Whether the line being decoded on this thread was read with Python's
    /// constants as null by the job's own reader ([`note_read_as_null`]).
    static NOTED_AS_NULL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Says that the line being decoded (by a [`FromLine`] that reads JSON its
/// own way, as url_views' scan does) was read with Python's `NaN`,
/// `Infinity` and `-Infinity` as `null`, as the engine reads a line that
/// fails to decode at them ([`python_constants_as_null`]): the engine
/// counts the line in [`crate::counters::READ_AS_NULL`] as it counts those,
/// when it maps without error. A reader that does this saves the engine's
/// second read of every such line (several times the line's time).
///
/// ```
/// use mr_core::protocol::{note_read_as_null, take_noted_as_null};
/// note_read_as_null();
/// assert!(take_noted_as_null());
/// assert!(!take_noted_as_null());
/// ```
pub fn note_read_as_null() {
    NOTED_AS_NULL.with(|c| c.set(true));
}

/// Whether [`note_read_as_null`] was called on this thread since the last
/// call; clears it. The engine asks after each line.
pub fn take_noted_as_null() -> bool {
    NOTED_AS_NULL.with(|c| c.replace(false))
}

/// An integer literal that does not fit in 64 bits, found in JSON text read
/// into a type holding `serde_json::Value`s (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BigInteger(pub String);

impl std::fmt::Display for BigInteger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 60;
        let n = &self.0;
        if n.len() <= SHOWN {
            write!(f, "integer {n}")?;
        } else {
            write!(
                f,
                "integer {}... ({} digits)",
                &n[..SHOWN],
                n.trim_start_matches('-').len()
            )?;
        }
        f.write_str(" does not fit in 64 bits (mr keeps numbers exact; quote it as a string)")
    }
}

/// Digits of the shortest integer literal that may not fit in 64 bits
/// (`-9223372036854775809`; every 18-digit integer fits).
const SHORTEST_BIG: usize = 19;

/// The first integer beyond 64 bits in `json` (valid JSON text), when `T`
/// holds `serde_json::Value`s; `None` otherwise. Free for other types (the
/// type test folds to a constant); for a `Value`, a scan that looks at about
/// one byte in 19 unless the text has a run of 19 digits.
#[inline]
fn big_integer<T: ?Sized>(json: &[u8]) -> Option<BigInteger> {
    if !holds_json_value::<T>() || !has_digit_run(json, SHORTEST_BIG) {
        return None;
    }
    find_big_integer(json)
}

/// Refuses `json` (valid JSON text) when it holds an integer beyond 64 bits,
/// with the error [`Json`] gives a type holding `serde_json::Value`s: for a
/// job that reads a line's fields as raw text and makes `Value`s of some of
/// them later, so that it refuses the lines a `Json<Value>` mapper would.
///
/// ```
/// use mr_core::protocol::refuse_big_integers;
/// assert!(refuse_big_integers(br#"{"id": 123456789012345678, "s": "123456789012345678901"}"#).is_ok());
/// let e = refuse_big_integers(br#"{"id": 123456789012345678901}"#).unwrap_err();
/// assert!(e.to_string().contains("does not fit in 64 bits"), "{e}");
/// ```
pub fn refuse_big_integers(json: &[u8]) -> Result<(), DecodeError> {
    match big_integer::<serde_json::Value>(json) {
        None => Ok(()),
        Some(big) => Err(DecodeError(big.to_string())),
    }
}

/// Whether `T` is `serde_json::Value` or a type whose last type argument is
/// one (`Option<Value>`, `Vec<Value>`, `(String, Value)`, `Map<String,
/// Value>`, `BTreeMap<String, Value>`). A job's own struct with a `Value`
/// field is not seen. Comparing the ends of constant strings keeps this free.
#[inline]
fn holds_json_value<T: ?Sized>() -> bool {
    std::any::type_name::<T>()
        .trim_end_matches(['>', ')'])
        .ends_with("serde_json::value::Value")
}

/// Whether `b` has `n` ASCII digits in a row (`n` > 0). It probes the last
/// byte of each window of `n` bytes; only a digit there makes it count the
/// digits before it, and a window that is not all digits moves the next one
/// past its last non-digit. Most windows cost one byte.
fn has_digit_run(b: &[u8], n: usize) -> bool {
    let digit = |c: u8| c.wrapping_sub(b'0') < 10;
    let mut last = n - 1;
    while let Some(&c) = b.get(last) {
        if !digit(c) {
            last += n;
            continue;
        }
        let start = last + 1 - n;
        let mut first = last;
        while first > start && digit(b[first - 1]) {
            first -= 1;
        }
        if first == start {
            return true;
        }
        last = first + n - 1;
    }
    false
}

/// The first integer literal outside strings in `json` (valid JSON text)
/// that fits in neither `i64` nor `u64`. Numbers with a fraction or an
/// exponent are floats and stay floats.
fn find_big_integer(json: &[u8]) -> Option<BigInteger> {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                i += 1;
                while i < json.len() {
                    match json[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                let negative = json[i] == b'-';
                i += usize::from(negative);
                let digits_start = i;
                while i < json.len() && json[i].is_ascii_digit() {
                    i += 1;
                }
                let digits = &json[digits_start..i];
                let float = matches!(json.get(i), Some(b'.' | b'e' | b'E'));
                while i < json.len()
                    && matches!(json[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                if !float && !fits_64_bits(negative, digits) {
                    let literal =
                        String::from_utf8_lossy(&json[start..digits_start + digits.len()]);
                    return Some(BigInteger(literal.into_owned()));
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether the integer `-digits` (or `digits`) fits in `i64` (or `u64`).
fn fits_64_bits(negative: bool, digits: &[u8]) -> bool {
    if digits.len() < SHORTEST_BIG {
        return true;
    }
    if digits.len() > 20 {
        return false;
    }
    let n = digits
        .iter()
        .fold(0u128, |n, d| n * 10 + u128::from(d - b'0'));
    if negative {
        n <= 1u128 << 63
    } else {
        n <= u128::from(u64::MAX)
    }
}

/// Splits a record line at its first tab into key and value bytes. A line
/// without a tab is all key (Hadoop's rule). Trailing tabs and spaces after the
/// value (as Hadoop's secondary-sort setups produce) are dropped.
///
/// ```
/// assert_eq!(mr_core::protocol::split_record(b"\"a\"\t1\t"), (&b"\"a\""[..], &b"1"[..]));
/// assert_eq!(mr_core::protocol::split_record(b"\"a\""), (&b"\"a\""[..], &b""[..]));
/// ```
pub fn split_record(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'\t', line) {
        Some(i) => {
            let mut v = &line[i + 1..];
            while let [rest @ .., b'\t' | b' ' | b'\r'] = v {
                v = rest;
            }
            (&line[..i], v)
        }
        None => (line, &[]),
    }
}

/// The length of a streaming line's key: up to its `key_fields`-th tab (the
/// whole line if it has fewer tabs). A secondary-sort step's key is two fields,
/// `key TAB sortkey`.
///
/// ```
/// use mr_core::protocol::key_len;
/// assert_eq!(key_len(b"k\ts\tv", 1), 1);
/// assert_eq!(key_len(b"k\ts\tv", 2), 3);
/// assert_eq!(key_len(b"k", 2), 1);
/// ```
pub fn key_len(line: &[u8], key_fields: usize) -> usize {
    memchr::memchr_iter(b'\t', line)
        .nth(key_fields.saturating_sub(1))
        .unwrap_or(line.len())
}

/// Appends `key TAB value NEWLINE` to `out`.
pub fn write_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.reserve(key.len() + value.len() + 2);
    out.extend_from_slice(key);
    out.push(b'\t');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The `serde::de::Visitor` methods of a type that reads any JSON value and
/// keeps only some kinds ([`MaybeStr`], [`MaybeInt`], [`RawFields`]): each
/// kind named (`bool`, `i64`, `u64`, `f64`, `str`, `null`, `seq`, `map`) is
/// read, nested values skipped, as `$none`.
macro_rules! read_as_none {
    ($de:lifetime, $none:expr; $($kind:ident),+) => {
        $(read_as_none!(@one $de, $none; $kind);)+
    };
    (@one $de:lifetime, $none:expr; bool) => { read_as_none!(@scalar $none; visit_bool, bool); };
    (@one $de:lifetime, $none:expr; i64) => { read_as_none!(@scalar $none; visit_i64, i64); };
    (@one $de:lifetime, $none:expr; u64) => { read_as_none!(@scalar $none; visit_u64, u64); };
    (@one $de:lifetime, $none:expr; f64) => { read_as_none!(@scalar $none; visit_f64, f64); };
    (@one $de:lifetime, $none:expr; str) => { read_as_none!(@scalar $none; visit_str, &str); };
    (@scalar $none:expr; $visit:ident, $t:ty) => {
        fn $visit<E>(self, _: $t) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    // `null`, and an `Option`'s nothing and something.
    (@one $de:lifetime, $none:expr; null) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_some<D: serde::Deserializer<$de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
    (@one $de:lifetime, $none:expr; seq) => {
        fn visit_seq<A: serde::de::SeqAccess<$de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
    (@one $de:lifetime, $none:expr; map) => {
        fn visit_map<A: serde::de::MapAccess<$de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok($none)
        }
    };
}

/// A JSON line read shallowly: an object's fields in order, names borrowed
/// from the line unless escaped, values as their raw JSON text; `None` for
/// JSON that is not an object. For a mapper that reads some fields of wide
/// records and builds nothing for the rest (events_table, the categorical
/// stages). As an input it refuses the lines `Json<serde_json::Value>`
/// refuses, with the same errors (an integer beyond 64 bits included), but
/// for a number beyond a float's range (`1e400`): serde_json refuses it
/// only where it reads the value, so a mapper that reads a field as a
/// `Value` gets that error there. It reads a line's text as UTF-8 once:
/// read as bytes, each raw value would be checked again.
///
/// ```
/// use mr_core::FromLine;
/// use mr_core::protocol::RawFields;
/// let line = br#"{"a": [1, {"b": 2}], "n\u0061me": "x", "a": null}"#;
/// let RawFields(Some(fields)) = RawFields::from_line(line).unwrap().unwrap() else { panic!() };
/// let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_ref()).collect();
/// assert_eq!(names, ["a", "name", "a"]);
/// assert_eq!(fields[0].1.get(), r#"[1, {"b": 2}]"#);
/// assert!(matches!(RawFields::from_line(b"[1]"), Ok(Some(RawFields(None)))));
/// assert!(RawFields::from_line(br#"{"n": 123456789012345678901}"#).is_err());
/// assert!(RawFields::from_line(b" ").unwrap().is_none());
/// ```
#[derive(Debug)]
pub struct RawFields<'a>(pub Option<Vec<(Cow<'a, str>, &'a serde_json::value::RawValue)>>);

impl<'de: 'a, 'a> Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawFields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(24);
                // MaybeStr: serde's own `Cow` would copy every name.
                while let Some(MaybeStr(name)) = m.next_key::<MaybeStr<'de>>()? {
                    fields.push((name.unwrap_or_default(), m.next_value()?));
                }
                Ok(RawFields(Some(fields)))
            }
            read_as_none!('de, RawFields(None); seq, str, bool, i64, u64, f64, null);
        }
        d.deserialize_any(V)
    }
}

impl<'a> FromLine<'a> for RawFields<'a> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        let read = std::str::from_utf8(line)
            .ok()
            .and_then(|text| serde_json::from_str::<RawFields<'a>>(text).ok());
        let fields = match read {
            Some(fields) => fields,
            // Read again as `Json` reads it, for its error and the notes on
            // it (which also tell the engine to read Python's NaN as null).
            None => match <Json<RawFields<'a>>>::from_line(line)? {
                Some(Json(fields)) => fields,
                None => return Ok(None),
            },
        };
        refuse_big_integers(line)?;
        Ok(Some(fields))
    }

    fn format() -> String {
        "JSON lines, one object a line".into()
    }
}

/// Ordered `(name, value)` pairs serialized as one JSON object, in their
/// order: a row built field by field, written with no map in between.
///
/// ```
/// use mr_core::protocol::JsonObject;
/// let row = [("b", serde_json::json!(1)), ("a", serde_json::json!("x"))];
/// assert_eq!(serde_json::to_string(&JsonObject(&row)).unwrap(), r#"{"b":1,"a":"x"}"#);
/// ```
pub struct JsonObject<'r, K, V>(pub &'r [(K, V)]);

impl<K: AsRef<str>, V: serde::Serialize> serde::Serialize for JsonObject<'_, K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, value)| (name.as_ref(), value)))
    }
}

/// A JSON value that accepts anything and keeps it only when it is a string:
/// for fields that real logs sometimes fill with numbers, `null` or objects.
///
/// ```
/// use mr_core::protocol::MaybeStr;
/// #[derive(serde::Deserialize)]
/// struct E<'a> { #[serde(borrow, default)] url: MaybeStr<'a> }
/// let e: E = serde_json::from_str(r#"{"url": 3}"#).unwrap();
/// assert_eq!(e.url.0, None);
/// let e: E = serde_json::from_str(r#"{"url": "/a\"b"}"#).unwrap();
/// assert_eq!(e.url.0.as_deref(), Some("/a\"b"));
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaybeStr<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for MaybeStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MaybeStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v))))
            }
            read_as_none!('de, MaybeStr(None); bool, i64, u64, f64, null, seq, map);
        }
        d.deserialize_any(V)
    }
}

/// A JSON value that accepts anything and keeps it only when it is an
/// integer that fits an `i64` (the integer twin of [`MaybeStr`]).
///
/// ```
/// use mr_core::protocol::MaybeInt;
/// let int = |s: &str| serde_json::from_str::<MaybeInt>(s).unwrap().0;
/// assert_eq!(int("-12"), Some(-12));
/// assert_eq!(int("1.5e12"), None);
/// assert_eq!(int("1500000000000.0"), None);
/// assert_eq!(int("\"15\""), None);
/// assert_eq!(int("18446744073709551615"), None); // beyond i64
/// assert_eq!(int("{\"a\": [1]}"), None);
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MaybeInt(pub Option<i64>);

impl<'de> Deserialize<'de> for MaybeInt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MaybeInt;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(MaybeInt(Some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(MaybeInt(i64::try_from(v).ok()))
            }
            read_as_none!('de, MaybeInt(None); f64, str, bool, null, seq, map);
        }
        d.deserialize_any(V)
    }
}

/// The message serde_json gives for a number beyond a float's range.
const OUT_OF_RANGE: &str = "number out of range";

/// Whether a serde_json error message is for a number beyond a float's
/// range (`1e999`: valid JSON, which Python's `json` reads as inf, where
/// serde_json fails).
pub fn is_out_of_range(message: &str) -> bool {
    message.contains(OUT_OF_RANGE)
}

/// A field read as `T` ([`MaybeStr`], [`MaybeInt`]), where a number beyond a
/// float's range reads as `T::default()`, as any other number does: Python
/// reads `1e999` as inf, which is no string and no integer, where serde_json
/// fails on it. Only for serde_json (the value is first taken as its raw
/// text); for a line serde_json failed on with [`is_out_of_range`], since
/// its errors say where in the value, not the line, it fails.
///
/// ```
/// use mr_core::protocol::{MaybeInt, MaybeStr, OrInf};
/// let s = |j: &str| serde_json::from_str::<OrInf<MaybeStr>>(j).unwrap().0.0.map(|c| c.into_owned());
/// assert_eq!(s("1e999"), None);
/// assert_eq!(s(r#""/a\"b""#).as_deref(), Some("/a\"b"));
/// let n = |j: &str| serde_json::from_str::<OrInf<MaybeInt>>(j).unwrap().0.0;
/// assert_eq!(n("-1e999"), None);
/// assert_eq!(n("12"), Some(12));
/// assert!(serde_json::from_str::<OrInf<MaybeStr>>(r#""\ud800""#).is_err());
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OrInf<T>(pub T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for OrInf<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de serde_json::value::RawValue>::deserialize(d)?.get();
        let number = matches!(raw.as_bytes().first(), Some(b'-' | b'0'..=b'9'));
        match serde_json::from_str::<T>(raw) {
            Ok(v) => Ok(OrInf(v)),
            Err(e) if number && is_out_of_range(&e.to_string()) => Ok(OrInf(T::default())),
            Err(e) => Err(serde::de::Error::custom(e)),
        }
    }
}

/// Appends an order-preserving encoding of the JSON value in `json` to `out`:
/// comparing two encodings as bytes orders the values as JSON values
/// (null < false < true < numbers < strings < arrays < objects; numbers by
/// value, strings by their UTF-8 bytes, arrays and objects element-wise).
///
/// ```
/// use mr_core::protocol::sortable_value;
/// let enc = |s: &str| { let mut v = Vec::new(); sortable_value(s.as_bytes(), &mut v).unwrap(); v };
/// assert!(enc("9") < enc("10"));          // as text, "10" < "9"
/// assert!(enc("-2.5") < enc("-1"));
/// assert!(enc("[1, \"b\"]") < enc("[2, \"a\"]"));
/// assert!(enc("[1]") < enc("[1, 0]"));
/// ```
pub fn sortable_value(json: &[u8], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    if sortable_plain(json, out).is_some() {
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_slice(json)?;
    encode_sortable(&v, out);
    Ok(())
}

/// [`sortable_value`] without building a [`serde_json::Value`], for what
/// sorted values mostly are (integers, strings without escapes, arrays of
/// them, as `(timestamp, id)` pairs): the same bytes, read in one pass.
/// `None`, with `out` as it was, for anything else (an object, a float, an
/// escape, an integer of more than 18 digits, `-0`, a syntax error), which
/// the general path encodes or refuses.
fn sortable_plain(json: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let start = out.len();
    match plain_sortable(json, json_ws_end(json, 0), out, 0) {
        Some(end) if json_ws_end(json, end) == json.len() => Some(()),
        _ => {
            out.truncate(start);
            None
        }
    }
}

/// Arrays nested deeper are left to the general path (serde_json's own
/// limit is 128).
const PLAIN_DEPTH: usize = 64;

/// Encodes the value at `i` as [`encode_sortable`] does; returns the index
/// after it.
fn plain_sortable(b: &[u8], i: usize, out: &mut Vec<u8>, depth: usize) -> Option<usize> {
    let literal = |word: &[u8], code: u8, out: &mut Vec<u8>| {
        b[i..].starts_with(word).then(|| {
            out.push(code);
            i + word.len()
        })
    };
    match *b.get(i)? {
        b'n' => literal(b"null", 1, out),
        b'f' => literal(b"false", 2, out),
        b't' => literal(b"true", 3, out),
        b'"' => {
            let end = i + 1 + memchr::memchr2(b'"', b'\\', &b[i + 1..])?;
            let text = &b[i + 1..end];
            if b[end] != b'"' || text.iter().any(|&c| c < 0x20) {
                return None;
            }
            if !text.is_ascii() {
                std::str::from_utf8(text).ok()?;
            }
            out.push(5);
            escape_terminated(text, out);
            Some(end + 1)
        }
        b'[' if depth < PLAIN_DEPTH => {
            out.push(6);
            let mut j = json_ws_end(b, i + 1);
            if b.get(j) == Some(&b']') {
                out.push(0);
                return Some(j + 1);
            }
            loop {
                j = json_ws_end(b, plain_sortable(b, j, out, depth + 1)?);
                match *b.get(j)? {
                    b',' => j = json_ws_end(b, j + 1),
                    b']' => {
                        out.push(0);
                        return Some(j + 1);
                    }
                    _ => return None,
                }
            }
        }
        b'-' | b'0'..=b'9' => {
            let negative = b[i] == b'-';
            let first = i + usize::from(negative);
            let end = first + b[first..].iter().take_while(|c| c.is_ascii_digit()).count();
            let digits = &b[first..end];
            let leading_zero = digits.len() > 1 && digits[0] == b'0';
            if digits.is_empty() || digits.len() > 18 || leading_zero {
                return None;
            }
            if let Some(b'.' | b'e' | b'E') = b.get(end) {
                return None;
            }
            let n = digits
                .iter()
                .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
            if negative && n == 0 {
                return None; // a float to serde_json
            }
            let n = if negative { -n } else { n };
            out.push(4);
            out.extend_from_slice(&ordered_f64(n as f64));
            out.extend_from_slice(&((i128::from(n) as u128) ^ (1u128 << 127)).to_be_bytes());
            Some(end)
        }
        _ => None,
    }
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn json_ws_end(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

fn encode_sortable(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match v {
        Value::Null => out.push(1),
        Value::Bool(false) => out.push(2),
        Value::Bool(true) => out.push(3),
        Value::Number(n) => {
            out.push(4);
            let f = n.as_f64().unwrap_or(0.0);
            out.extend_from_slice(&ordered_f64(f));
            // Tie-break integers that one f64 cannot tell apart (> 2^53).
            let exact: i128 = if let Some(i) = n.as_i64() {
                i as i128
            } else if let Some(u) = n.as_u64() {
                u as i128
            } else {
                0
            };
            out.extend_from_slice(&((exact as u128) ^ (1u128 << 127)).to_be_bytes());
        }
        Value::String(s) => {
            out.push(5);
            escape_terminated(s.as_bytes(), out);
        }
        Value::Array(items) => {
            out.push(6);
            for item in items {
                encode_sortable(item, out);
            }
            out.push(0);
        }
        Value::Object(map) => {
            out.push(7);
            for (k, item) in map {
                escape_terminated(k.as_bytes(), out);
                encode_sortable(item, out);
            }
            out.push(0);
        }
    }
}

/// f64 bits mapped so that byte order is numeric order.
fn ordered_f64(f: f64) -> [u8; 8] {
    let bits = f.to_bits();
    let mapped = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    mapped.to_be_bytes()
}

/// Bytes with 0x00 escaped as 0x00 0xFF and ended by 0x00 0x01, so that a
/// prefix sorts before its extensions.
fn escape_terminated(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_lone_surrogate_escape_is_explained() {
        for line in [
            r#"{"t": "a\ud83d"}"#,
            r#"{"t": "a\udc00b"}"#,
            r#"{"t": "a\uD83D\u0041"}"#,
        ] {
            let e = from_json::<serde_json::Value>(line.as_bytes(), |e| e.to_string()).unwrap_err();
            assert!(e.0.contains("not half of a pair"), "{line}: {}", e.0);
        }
        // A pair is a character; other errors say nothing of surrogates.
        let v: serde_json::Value =
            from_json(br#"{"t": "\ud83d\ude00"}"#, |e| e.to_string()).unwrap();
        assert_eq!(v["t"], "\u{1f600}");
        let e = from_json::<serde_json::Value>(br#"{"t": "\ud83d\ude00"#, |e| e.to_string())
            .unwrap_err();
        assert!(!e.0.contains("pair"), "{}", e.0);
    }

    #[test]
    fn python_nan_and_infinity_are_explained() {
        for line in [
            "{\"t\": NaN}",
            "{\"t\": Infinity, \"u\": 1}",
            "{\"t\":-Infinity}",
            "[1.5, NaN]",
            "{\"a\": 1,\n \"t\": NaN}",
        ] {
            let e = from_json::<serde_json::Value>(line.as_bytes(), |e| e.to_string()).unwrap_err();
            assert!(e.0.contains("allow_nan=False"), "{line}: {}", e.0);
            assert!(refused_python_constant(&e.0), "{line}: {}", e.0);
        }
        // The words inside strings, or other errors, say nothing of them.
        for line in [
            "{\"t\": \"NaN\", }",
            "{\"t\": nan}",
            "{\"t\": -Inf}",
            "{\"t\": 1, NaN}",
            "{\"NaN\": Na}",
        ] {
            let e = from_json::<serde_json::Value>(line.as_bytes(), |e| e.to_string()).unwrap_err();
            assert!(!e.0.contains("allow_nan"), "{line}: {}", e.0);
            assert!(!refused_python_constant(&e.0), "{line}: {}", e.0);
        }
    }

    /// A JSON value with some numbers written as Python writes NaN and
    /// the infinities: (Python's text, the text with null in their place,
    /// whether it has any). Strings hold the words too, which must stay.
    fn python_json() -> impl proptest::strategy::Strategy<Value = (String, String, bool)> {
        use proptest::prelude::*;
        let word = prop_oneof![Just("NaN"), Just("Infinity"), Just("-Infinity")];
        let leaf = prop_oneof![
            word.prop_map(|w| (w.to_string(), "null".to_string(), true)),
            any::<i32>().prop_map(|n| (n.to_string(), n.to_string(), false)),
            "(NaN|-Infinity|\\\\|\"|[a-z ]){0,6}".prop_map(|t| {
                let q = serde_json::to_string(&t).unwrap();
                (q.clone(), q, false)
            }),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let join = |items: Vec<(String, String, bool)>, open: &str, close: &str, keys: bool| {
                let (mut a, mut b, mut any) = (open.to_string(), open.to_string(), false);
                for (i, (x, y, w)) in items.into_iter().enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    let key = if keys {
                        format!("\"NaN{i}\": ")
                    } else {
                        String::new()
                    };
                    a += &format!("{sep}{key}{x}");
                    b += &format!("{sep}{key}{y}");
                    any |= w;
                }
                (a + close, b + close, any)
            };
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(move |v| join(v, "[", "]", false)),
                proptest::collection::vec(inner, 0..4).prop_map(move |v| join(v, "{", "}", true)),
            ]
        })
    }

    proptest::proptest! {
        /// Python's NaN and infinities are read as null wherever they are a
        /// value, in a line or both halves of a KEY TAB VALUE line, and the
        /// same words inside strings (keys too) are left as they are.
        #[test]
        fn python_constants_read_as_null_where_they_are_values(
            (python, nulls, any) in python_json(),
            (key, key_nulls, key_any) in python_json(),
        ) {
            let fixed = python_constants_as_null(python.as_bytes());
            proptest::prop_assert_eq!(fixed, any.then(|| nulls.clone().into_bytes()));
            let line = format!("{key}\t{python}");
            let fixed = python_constants_as_null(line.as_bytes());
            let want = (any || key_any).then(|| format!("{key_nulls}\t{nulls}").into_bytes());
            proptest::prop_assert_eq!(fixed, want);
            // A line that is not JSON once they are null (an array or
            // object cut before its end) stays refused.
            if python.starts_with(['[', '{']) {
                let cut = &python.as_bytes()[..python.len() - 1];
                proptest::prop_assert_eq!(python_constants_as_null(cut), None);
            }
        }
    }

    fn enc(s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        sortable_value(s.as_bytes(), &mut v).unwrap();
        v
    }

    /// The general path: a `serde_json::Value`, encoded.
    fn enc_general(json: &[u8]) -> Option<Vec<u8>> {
        let v: serde_json::Value = serde_json::from_slice(json).ok()?;
        let mut out = Vec::new();
        encode_sortable(&v, &mut out);
        Some(out)
    }

    #[test]
    fn plain_values_take_the_one_pass_path() {
        for json in [
            "[1370044801621,12]",
            "-3",
            " [ \"a\" , [null, true, false], [] ] ",
            "\"é\"",
        ] {
            let mut out = vec![9];
            assert_eq!(
                sortable_plain(json.as_bytes(), &mut out),
                Some(()),
                "{json}"
            );
            assert_eq!(out[1..], enc_general(json.as_bytes()).unwrap(), "{json}");
        }
        for json in [
            "{}",
            "1.5",
            "1e3",
            "-0",
            "\"a\\n\"",
            "1234567890123456789",
            "[1,]",
            "01",
            "[1] x",
        ] {
            let mut out = vec![9];
            assert_eq!(sortable_plain(json.as_bytes(), &mut out), None, "{json}");
            assert_eq!(out, [9], "{json}");
        }
    }

    proptest! {
        /// Whatever it reads, the one-pass path gives the general path's
        /// bytes, and it never reads what serde_json refuses.
        #[test]
        fn the_one_pass_encoding_is_the_general_one(
            json in r#"[\[\]{}, :"a\\é0-9.eE+-]{0,24}|\[-?[0-9]{1,20}, ?-?[0-9]{1,20}\]|(null|true|false|-?(0|[1-9][0-9]{0,19})(\.[0-9])?)"#,
        ) {
            let mut out = Vec::new();
            if sortable_plain(json.as_bytes(), &mut out).is_some() {
                prop_assert_eq!(Some(out), enc_general(json.as_bytes()), "{}", json);
            }
        }
    }

    #[test]
    fn sortable_orders_kinds_and_strings() {
        assert!(enc("null") < enc("false"));
        assert!(enc("true") < enc("0"));
        assert!(enc("1e300") < enc("\"\""));
        assert!(enc("\"a\"") < enc("\"ab\""));
        assert!(enc("\"ab\"") < enc("\"b\""));
        assert!(enc("9007199254740992") < enc("9007199254740993"));
        assert!(enc("[]") < enc("{}"));
    }

    #[test]
    fn tuple_input_accepts_hadoop_trailing_tab() {
        let (k, v) = <(String, u64)>::from_line(b"\"a\"\t3\t").unwrap().unwrap();
        assert_eq!((k.as_str(), v), ("a", 3));
    }

    /// The big integer `Json<Value>` input refuses in `json`, if any.
    fn refused(json: &str) -> Option<String> {
        match <Json<serde_json::Value>>::from_line(json.as_bytes()) {
            Ok(_) => None,
            Err(DecodeError(m)) => Some(m),
        }
    }

    #[test]
    fn big_integers_are_refused_where_a_value_would_round_them() {
        // The premise: serde_json's Value keeps them only as floats.
        let v: serde_json::Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        assert!(v.is_f64());
        for (json, literal) in [
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            (
                "-123456789012345678901234567890",
                "-123456789012345678901234567890",
            ),
            ("18446744073709551616", "18446744073709551616"),
            ("-9223372036854775809", "-9223372036854775809"),
            (r#"{"id": 18446744073709551616}"#, "18446744073709551616"),
            (
                r#"[1, [2.5, {"a": ["x", -99999999999999999999]}]]"#,
                "-99999999999999999999",
            ),
            (
                r#"{"s": "\"123456789012345678901234567890", "n": 123456789012345678901234567891}"#,
                "123456789012345678901234567891",
            ),
        ] {
            let want = format!(
                "integer {literal} does not fit in 64 bits (mr keeps numbers exact; quote it as a string)"
            );
            assert_eq!(refused(json).as_deref(), Some(want.as_str()), "{json}");
        }
    }

    #[test]
    fn integers_that_fit_floats_and_strings_pass() {
        for json in [
            "18446744073709551615", // u64::MAX
            "-9223372036854775808", // i64::MIN
            "9223372036854775807",
            "-1000000000000000000",
            "1e20",
            "100000000000000000000.0",
            "-123456789012345678901234567890e-3",
            "1234567890123456789012345E+2",
            r#""123456789012345678901234567890""#,
            r#"{"123456789012345678901234567890": "a\\", "b": "\"99999999999999999999\""}"#,
            r#"[0, -0, 1.5, [18446744073709551615, {"a": -9223372036854775808}]]"#,
        ] {
            assert_eq!(refused(json), None, "{json}");
        }
        let Json(v) =
            <Json<serde_json::Value>>::from_line(b"[18446744073709551615, -9223372036854775808]")
                .unwrap()
                .unwrap();
        assert_eq!(v.to_string(), "[18446744073709551615,-9223372036854775808]");
    }

    #[test]
    fn big_integers_are_refused_in_types_holding_values_only() {
        let big = b"[\"k\", 123456789012345678901234567890]";
        assert!(<Json<Vec<serde_json::Value>>>::from_line(big).is_err());
        assert!(<Json<(String, serde_json::Value)>>::from_line(big).is_err());
        let map = br#"{"a": 123456789012345678901234567890}"#;
        assert!(
            <Json<std::collections::HashMap<String, serde_json::Value>>>::from_line(map).is_err()
        );
        assert!(<Json<serde_json::Map<String, serde_json::Value>>>::from_line(map).is_err());
        // A record between steps: key and value each.
        let rec = b"\"k\"\t{\"n\": -123456789012345678901234567890}";
        assert!(<(String, serde_json::Value)>::from_line(rec).is_err());
        assert!(
            <(serde_json::Value, String)>::from_line(b"123456789012345678901234567890\t\"v\"")
                .is_err()
        );
        // A job that asked for a float gets one; a typed integer errors as before.
        let Json((_, f)) = <Json<(String, f64)>>::from_line(big).unwrap().unwrap();
        assert_eq!(f, 1.2345678901234568e29);
        assert!(<Json<(String, u64)>>::from_line(big).is_err());
    }

    #[test]
    fn a_long_big_integer_is_shortened_in_the_message() {
        let m = refused(&"7".repeat(200)).unwrap();
        assert!(
            m.starts_with(&format!(
                "integer {}... (200 digits) does not fit",
                "7".repeat(60)
            )),
            "{m}"
        );
    }

    #[test]
    fn str_input_rejects_invalid_utf8() {
        assert!(<&str>::from_line(b"ab\xff").is_err());
    }

    proptest! {
        /// The SIMD check accepts what std accepts, and reports std's error
        /// (the place of the first bad byte) on the rest: text of any
        /// script with bytes changed, dropped or cut.
        #[test]
        fn utf8_agrees_with_std(
            text in "\\PC{0,200}",
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut b = text.into_bytes();
            for (at, byte) in edits {
                if !b.is_empty() {
                    let i = at.index(b.len());
                    b[i] = byte;
                }
            }
            b.truncate(cut.index(b.len() + 1));
            prop_assert_eq!(utf8(&b), std::str::from_utf8(&b));
        }

        #[test]
        fn digit_runs_are_found_as_a_plain_scan_finds_them(s in "[0-9a]{0,80}", n in 1usize..25) {
            let plain = s.as_bytes().split(|b| !b.is_ascii_digit()).any(|run| run.len() >= n);
            prop_assert_eq!(has_digit_run(s.as_bytes(), n), plain);
        }

        #[test]
        fn integers_pass_exactly_when_they_fit(n in any::<i128>()) {
            let json = n.to_string();
            let fits = i64::try_from(n).is_ok() || u64::try_from(n).is_ok();
            prop_assert_eq!(refused(&json).is_none(), fits);
        }

        #[test]
        fn sortable_numbers_order_numerically(a in any::<i64>(), b in any::<i64>()) {
            prop_assert_eq!(a.cmp(&b), enc(&a.to_string()).cmp(&enc(&b.to_string())));
        }

        #[test]
        fn sortable_floats_order_numerically(a in -1e12f64..1e12, b in -1e12f64..1e12) {
            let (ea, eb) = (enc(&format!("{a:?}")), enc(&format!("{b:?}")));
            prop_assert_eq!(a.partial_cmp(&b).unwrap(), ea.cmp(&eb));
        }

        #[test]
        fn sortable_strings_order_as_bytes(a in "\\PC*", b in "\\PC*") {
            let ja = serde_json::to_string(&a).unwrap();
            let jb = serde_json::to_string(&b).unwrap();
            prop_assert_eq!(a.as_bytes().cmp(b.as_bytes()), enc(&ja).cmp(&enc(&jb)));
        }

        #[test]
        fn sortable_pairs_order_lexicographically(a in any::<(i32, String)>(), b in any::<(i32, String)>()) {
            let ja = serde_json::to_string(&a).unwrap();
            let jb = serde_json::to_string(&b).unwrap();
            let (ka, kb) = ((a.0, a.1.as_bytes()), (b.0, b.1.as_bytes()));
            prop_assert_eq!(ka.cmp(&kb), enc(&ja).cmp(&enc(&jb)));
        }
    }
}
