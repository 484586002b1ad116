//! A fast, validating scan of a JSON object for a few top-level fields.
//!
//! [`scan_field`] reads a line once, checks that it is one JSON object, and
//! returns the (last) string value of the named top-level key, borrowed
//! from the line unless it holds escapes, without building anything else;
//! [`scan_fields`] does the same for several keys at once, each a string or
//! an integer ([`Want`]): url_views reads `page_url` so, video_tagging
//! `username`, `timestamp` and `page_url`.
//! It handles the shapes real log writers give: Python's `", "` and `": "`
//! separators or the compact `","` and `":"` (JavaScript, Go, Jackson), the
//! field's value a string, nesting up to [`MAX_DEPTH`]. Escapes are read
//! everywhere, `\uXXXX` included, and an escaped top-level key is decoded to
//! be compared: writers escape what they please (Python's `json.dumps` every
//! non-ASCII character, keys too; PHP's `json_encode` every `/`), and a log
//! written so must not fall off the fast path. Anything else (a syntax
//! error, a number as the field's value, invalid UTF-8 in a top-level key or
//! the field, a surrogate escape in either, ...) makes it answer
//! [`Scan::Unsure`], and the caller parses the line with serde_json, whose
//! verdict and error message stand. So the fast path never accepts a line
//! serde_json rejects, nor reads another value: it only saves the time.
//! Two exceptions read as the engine reads: Python's `NaN`, `Infinity` and
//! `-Infinity` (not JSON; `json.dumps` writes them) are values read as
//! null, the line noted for the engine to count
//! ([`mr_core::protocol::note_read_as_null`]) where it would otherwise
//! decode the line twice more; and, asked for by name,
//! [`scan_fields_python_keys`] reads a top-level key with a lone surrogate
//! escape as Python does, for a line serde_json refused for that alone.
//!
//! Strings are scanned 16 bytes at a time (values 32): one vector comparison
//! (SSE2 on x86-64, NEON on aarch64, by the `wide` crate; on an x86-64 CPU
//! with AVX2 and BMI, the whole scan is compiled for them as well and
//! chosen at run time) finds the quotes,
//! backslashes and control bytes of a chunk, whose bits are then taken in
//! order, so a chunk full of escapes (`"{\"height\":502}"`) is read once.
//! Within a chunk of the line's end, the chunk is the line's last 16 or 32
//! bytes, the bits before the string cleared (and numbers the last 8), so
//! the end of a line is not read a byte at a time: most strings of a short
//! line are there. A two-stage scan in simdjson's manner (bit masks of whole
//! 64-byte blocks, then a walk over the structural bytes only) was tried and
//! was 15% slower on SSE2; tried again compiled for AVX2, its first stage
//! alone ran at 5.8 GB/s, but with a walk short of this scan's checks (a
//! state machine over every quote and structural byte, about 90 of them in
//! a bench line) at 2.7 GB/s, where this scan does 3.25 GB/s
//! (`json_scan_speed` on the bench set's first file): log lines' many short
//! strings favour this direct scan. As serde_json does, only the strings
//! that are read (top-level keys and the field) must be UTF-8; the
//! skipped ones are checked for JSON syntax only.

use std::borrow::Cow;

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan<'a> {
    /// The line is a valid JSON object; the field's string value, if any
    /// (the last one when the key repeats), else `None` (no such field, or
    /// one that is null or a boolean). Borrowed from the line, or decoded
    /// when the value holds escapes.
    Object(Option<Cow<'a, str>>),
    /// Outside the fast path's subset: parse it properly.
    Unsure,
}

/// Deepest nesting of arrays and objects the scan follows (within a
/// top-level value; serde_json, which decides deeper lines, stops at 128
/// with the line's own object).
pub const MAX_DEPTH: usize = 120;

/// How [`scan_fields`] reads a wanted field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A string ([`Field::Str`]); a number or a nested value is unsure.
    Str,
    /// A string, or an integer without fraction or exponent of at most 18
    /// digits ([`Field::Int`], as serde_json reads it into an `i64`); a
    /// longer one, a float or a nested value is unsure.
    Int,
}

/// A wanted top-level field's value, as [`scan_fields`] read it (the last
/// one when the key repeats, as serde_json reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<'a> {
    /// No such field, or one that is `null`, `true` or `false`.
    #[default]
    None,
    /// A string, borrowed from the line, or decoded when it holds escapes.
    Str(Cow<'a, str>),
    /// An integer (only for a field wanted as [`Want::Int`]).
    Int(i64),
}

impl<'a> Field<'a> {
    /// The string, if it is one.
    pub fn into_str(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if it is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Field::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// Scans `line` for the top-level string field `key` (given without quotes,
/// without characters that JSON escapes).
///
/// ```
/// use mr_jobs::json_scan::{scan_field, Scan};
/// use std::borrow::Cow;
/// let line = br#"{"a": [1, {"b": null}], "page_url": "/x", "c": "q\"uote"}"#;
/// fn found(s: &str) -> Scan<'_> { Scan::Object(Some(Cow::Borrowed(s))) }
/// assert_eq!(scan_field(line, b"page_url"), found("/x"));
/// assert_eq!(scan_field(br#"{"a": 1}"#, b"page_url"), Scan::Object(None));
/// assert_eq!(scan_field(br#"{"page_url": "/x", "page_url": null}"#, b"page_url"), Scan::Object(None));
/// assert_eq!(scan_field(br#"{"page_url": 3}"#, b"page_url"), Scan::Unsure);
/// assert_eq!(scan_field(br#"{"a": 1"#, b"page_url"), Scan::Unsure);
/// assert_eq!(scan_field("{\"page_url\": \"/é\"}".as_bytes(), b"page_url"), found("/é"));
/// assert_eq!(scan_field(br#"{"page_url": "http:\/\/x\u00e9", "u": "\u00e9"}"#, b"page_url"), found("http://xé"));
/// assert_eq!(scan_field(b"{\"page_url\": \"/\xff\"}", b"page_url"), Scan::Unsure);
/// ```
pub fn scan_field<'a>(line: &'a [u8], key: &[u8]) -> Scan<'a> {
    match scan::<1, false>(line, &[(key, Want::Str)]) {
        Some([Field::Str(s)]) => Scan::Object(Some(s)),
        Some(_) => Scan::Object(None),
        None => Scan::Unsure,
    }
}

/// Scans `line` for several top-level fields at once: `None` when unsure
/// (the caller parses the line with serde_json, whose verdict stands), else
/// each wanted field's value, in the order of `keys`. The same checks as
/// [`scan_field`]: a line it answers for is a valid JSON object, and every
/// value it gives is the one serde_json reads.
///
/// ```
/// use mr_jobs::json_scan::{scan_fields, Field, Want};
/// use std::borrow::Cow;
/// let line = br#"{"username": "ann", "timestamp": 1370044801621, "x": [1.5], "page_url": "/v"}"#;
/// let keys = [(&b"username"[..], Want::Str), (b"timestamp", Want::Int), (b"page_url", Want::Str)];
/// let [user, time, url] = scan_fields(line, &keys).unwrap();
/// assert_eq!(user, Field::Str(Cow::Borrowed("ann")));
/// assert_eq!(time, Field::Int(1370044801621));
/// assert_eq!(url.into_str().as_deref(), Some("/v"));
/// // A string where an integer is wanted is read (it is valid JSON) as a string.
/// let [_, time, _] = scan_fields(br#"{"timestamp": "5"}"#, &keys).unwrap();
/// assert_eq!(time.int(), None);
/// // A float, or an integer too long to be sure of, is serde_json's to read.
/// assert_eq!(scan_fields(br#"{"timestamp": 1.5e12}"#, &keys), None);
/// assert_eq!(scan_fields(br#"{"timestamp": 12345678901234567890}"#, &keys), None);
/// assert_eq!(scan_fields(br#"{"username": 5}"#, &keys), None);
/// ```
pub fn scan_fields<'a, const N: usize>(
    line: &'a [u8],
    keys: &[(&[u8], Want); N],
) -> Option<[Field<'a>; N]> {
    scan::<N, false>(line, keys)
}

/// [`scan_fields`], reading top-level keys as Python's `json.loads` (so
/// mrjob) reads them: a key with a surrogate escape, lone or paired
/// (`"caf\udce9.txt"`, what `json.dumps` writes for a file name that
/// `os.fsdecode` made of bytes), is a key the job does not read, where
/// serde_json refuses a key with a lone one. For a line serde_json refused
/// so ([`refused_a_surrogate`]); anything else is as [`scan_fields`] has
/// it, the wanted fields' values included (a lone surrogate there cannot be
/// a Rust string).
///
/// ```
/// use mr_jobs::json_scan::{scan_fields, scan_fields_python_keys, Field, Want};
/// use std::borrow::Cow;
/// let line = br#"{"page_url": "/b", "caf\udce9.txt": 3}"#;
/// let keys = [(&b"page_url"[..], Want::Str)];
/// assert_eq!(scan_fields(line, &keys), None);
/// assert_eq!(scan_fields_python_keys(line, &keys), Some([Field::Str(Cow::Borrowed("/b"))]));
/// // Raw bytes that are not UTF-8 are refused by Python too.
/// assert_eq!(scan_fields_python_keys(b"{\"caf\\u00e9\xff\": 3}", &keys), None);
/// ```
pub fn scan_fields_python_keys<'a, const N: usize>(
    line: &'a [u8],
    keys: &[(&[u8], Want); N],
) -> Option<[Field<'a>; N]> {
    scan::<N, true>(line, keys).or_else(|| {
        // Python's NaN, Infinity and -Infinity inside a wanted field's
        // nested value (`"page_url": [NaN]`), which serde_json alone reads
        // there: null, as the engine reads them, and noted so.
        let nulls = mr_core::protocol::python_constants_as_null(line)?;
        let fields = scan::<N, true>(&nulls, keys)?;
        mr_core::protocol::note_read_as_null();
        Some(fields.map(|f| match f {
            Field::Str(s) => Field::Str(Cow::Owned(s.into_owned())),
            Field::Int(n) => Field::Int(n),
            Field::None => Field::None,
        }))
    })
}

/// Whether serde_json refused a line for a surrogate escape it cannot make
/// a string of (`error`, its message), which Python reads: then
/// [`scan_fields_python_keys`] may read the line.
///
/// ```
/// use mr_jobs::json_scan::refused_a_surrogate;
/// let e = serde_json::from_str::<String>(r#""\udce9""#).unwrap_err();
/// assert!(refused_a_surrogate(&e.to_string()));
/// assert!(!refused_a_surrogate("expected value at line 1 column 1"));
/// ```
pub fn refused_a_surrogate(error: &str) -> bool {
    error.contains("surrogate") || error.contains("end of hex escape")
}

/// `None`: unsure. `Some(v)`: a valid object whose wanted fields are `v`.
/// `PY`: top-level keys read as Python reads them (see
/// [`scan_fields_python_keys`]).
///
/// On an x86-64 CPU with AVX2 and BMI (checked once, at run time) the scan
/// is the same code compiled for them ([`scan_avx2`]).
#[inline(always)]
fn scan<'a, const N: usize, const PY: bool>(
    b: &'a [u8],
    keys: &[(&[u8], Want); N],
) -> Option<[Field<'a>; N]> {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: scan_avx2 needs the CPU features it is compiled for,
        // and has_avx2 found them on this CPU.
        #[allow(unsafe_code)]
        return unsafe { scan_avx2::<N, PY>(b, keys) };
    }
    scan_here::<N, PY>(b, keys)
}

/// Whether this CPU has AVX2, BMI1 and BMI2 (std caches the answer).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
}

/// [`scan_here`] compiled for AVX2 and BMI: 32-byte vector comparisons in
/// one instruction, and shorter bit arithmetic on their masks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2")]
fn scan_avx2<'a, const N: usize, const PY: bool>(
    b: &'a [u8],
    keys: &[(&[u8], Want); N],
) -> Option<[Field<'a>; N]> {
    scan_here::<N, PY>(b, keys)
}

/// The scan, for whatever CPU features its caller is compiled for.
#[inline(always)]
fn scan_here<'a, const N: usize, const PY: bool>(
    b: &'a [u8],
    keys: &[(&[u8], Want); N],
) -> Option<[Field<'a>; N]> {
    let mut found: [Field<'a>; N] = std::array::from_fn(|_| Field::None);
    // Whether Python's NaN, Infinity or -Infinity were read (as null).
    let mut python = false;
    let i = match object_start(b)? {
        Err(past_object) => past_object,
        Ok(mut i) => loop {
            // "key"
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (end, wanted) = match plain_key_end(b, i + 1) {
                Some(end) => (end, wanted_key(&b[i + 1..end], keys)),
                None => {
                    let (end, escaped) = string_end(b, i + 1)?;
                    let k = &b[i + 1..end];
                    let wanted = if escaped {
                        // Decoded to compare (Python escapes every
                        // non-ASCII key); unsure on a surrogate escape,
                        // but where keys are read as Python reads them.
                        escaped_key_index(k, keys, PY)?
                    } else if !k.is_ascii() && std::str::from_utf8(k).is_err() {
                        return None; // serde_json reads keys as str: an error
                    } else {
                        wanted_key(k, keys)
                    };
                    (end, wanted)
                }
            };
            i = after_colon(b, end)?;
            if let Some(w) = wanted {
                // A wanted field: its value read as serde_json reads it.
                // Null (edX writes it for a page without a URL) or a
                // boolean is no value, and a later field overrides it as it
                // would. Anything else outside the subset is serde_json's
                // to decide: it reads a number whole (`1e400` is an error
                // there) and an object's keys as strings (a lone surrogate
                // is an error).
                (found[w], i) = match b.get(i) {
                    // Python's constants: null, as the engine reads them.
                    Some(b'N' | b'I' | b'-') if python_constant(b, i).is_some() => {
                        python = true;
                        (Field::None, python_constant(b, i)?)
                    }
                    Some(b'"') => {
                        let (end, escaped) = value_end(b, i + 1)?;
                        let text = &b[i + 1..end];
                        let s = if escaped {
                            Cow::Owned(unescape(text)?)
                        } else {
                            Cow::Borrowed(utf8(text)?)
                        };
                        (Field::Str(s), end + 1)
                    }
                    Some(b'n' | b't' | b'f') => (Field::None, skip_value(b, i, &mut python)?),
                    Some(b'-' | b'0'..=b'9') if keys[w].1 == Want::Int => match integer(b, i) {
                        Some((n, end)) => (Field::Int(n), end),
                        None if PY => other_kind(b, i, keys[w].1)?,
                        None => return None,
                    },
                    // Reading keys as Python does, serde_json cannot be
                    // asked for the line: the value alone is read by it.
                    _ if PY => other_kind(b, i, keys[w].1)?,
                    _ => return None,
                };
            } else if b.get(i) == Some(&b'"') {
                // Most values are strings: skipped here, without a call.
                i = value_end(b, i + 1)?.0 + 1;
            } else if let Some(b'-' | b'0'..=b'9') = b.get(i) {
                // Then numbers (metrics logs are mostly numbers).
                i = number_or_constant(b, i, &mut python)?;
            } else {
                i = skip_value(b, i, &mut python)?;
            }
            match after_member(b, i)? {
                Ok(next_key) => i = next_key,
                Err(past_object) => break past_object,
            }
        },
    };
    if skip_ws(b, i) != b.len() {
        return None;
    }
    if python {
        mr_core::protocol::note_read_as_null();
    }
    Some(found)
}

/// The top-level members of `line`, one JSON object: each key (decoded)
/// and its value's JSON text, in order, a repeated key each time (as
/// serde_json hands them to a map's visitor, and
/// [`mr_core::protocol::RawFields`] keeps them). `None` (unsure) for
/// anything else, which serde_json is to read: not an object, a syntax
/// error, Python's `NaN` or infinities, a surrogate escape in a key,
/// nesting deeper than [`MAX_DEPTH`]. The line is UTF-8 already (a `str`),
/// so no value's text is checked for it again.
///
/// ```
/// use mr_jobs::json_scan::scan_members;
/// use std::borrow::Cow;
/// let m = scan_members(r#"{"a": [1, {"b": null}], "\u00e9": "x\"y", "a": 2}"#).unwrap();
/// assert_eq!(m, [(Cow::from("a"), r#"[1, {"b": null}]"#), ("é".into(), r#""x\"y""#), ("a".into(), "2")]);
/// assert_eq!(scan_members(r#"{"a": NaN}"#), None);
/// assert_eq!(scan_members(r#"{"a": 1"#), None);
/// assert_eq!(scan_members("[1]"), None);
/// ```
pub fn scan_members(line: &str) -> Option<Vec<(Cow<'_, str>, &str)>> {
    let b = line.as_bytes();
    let mut members = Vec::with_capacity(24);
    let mut python = false;
    let i = match object_start(b)? {
        Err(past_object) => past_object,
        Ok(mut i) => loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (end, escaped) = match plain_key_end(b, i + 1) {
                Some(end) => (end, false),
                None => string_end(b, i + 1)?,
            };
            let key = line.get(i + 1..end)?;
            let key = match escaped {
                true => Cow::Owned(unescape_str(key)?),
                false => Cow::Borrowed(key),
            };
            let start = after_colon(b, end)?;
            i = match b.get(start) {
                Some(b'"') => value_end(b, start + 1)?.0 + 1,
                Some(b'-' | b'0'..=b'9') => number(b, start)?,
                _ => skip_value(b, start, &mut python)?,
            };
            if python {
                return None;
            }
            members.push((key, line.get(start..i)?));
            match after_member(b, i)? {
                Ok(next_key) => i = next_key,
                Err(past_object) => break past_object,
            }
        },
    };
    (skip_ws(b, i) == b.len()).then_some(members)
}

/// Where a line's object starts: `Ok` with where its first key's quote is
/// (whitespace allowed around the `{`), `Err` with where an empty object
/// ended (past its `}`), `None` for a line that does not start with one.
#[inline(always)]
fn object_start(b: &[u8]) -> Option<Result<usize, usize>> {
    let i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let i = skip_ws(b, i + 1);
    Some(match b.get(i) {
        Some(b'}') => Err(i + 1),
        _ => Ok(i),
    })
}

/// What follows a member's value at `i` in an object: `Ok` with where the
/// next key's quote is, `Err` with where the object ended (past its `}`),
/// `None` for anything else. `, "` and `,"` (the next key) in one
/// comparison each; other spacing the long way.
#[inline(always)]
fn after_member(b: &[u8], i: usize) -> Option<Result<usize, usize>> {
    match b.get(i..i + 3) {
        Some(b", \"") => return Some(Ok(i + 2)),
        Some(&[b',', b'"', _]) => return Some(Ok(i + 1)),
        _ => {}
    }
    let i = skip_ws(b, i);
    match b.get(i) {
        Some(b',') => Some(Ok(skip_ws(b, i + 1))),
        Some(b'}') => Some(Err(i + 1)),
        _ => None,
    }
}

/// The end of Python's `NaN`, `Infinity` or `-Infinity` at `i` (what
/// `json.dumps` writes for such floats; not JSON), if one is there.
#[cold]
fn python_constant(b: &[u8], i: usize) -> Option<usize> {
    let word: &[u8] = match b.get(i)? {
        b'N' => b"NaN",
        b'I' => b"Infinity",
        _ => b"-Infinity",
    };
    b[i..].starts_with(word).then_some(i + word.len())
}

/// [`number`], or else Python's `-Infinity` (`python` set).
#[inline(always)]
fn number_or_constant(b: &[u8], i: usize, python: &mut bool) -> Option<usize> {
    number(b, i).or_else(|| {
        let end = python_constant(b, i)?;
        *python = true;
        Some(end)
    })
}

/// Which of the wanted `keys` the line's key `k` is, if any.
#[inline(always)]
fn wanted_key<const N: usize>(k: &[u8], keys: &[(&[u8], Want); N]) -> Option<usize> {
    keys.iter().position(|(key, _)| same_key(k, key))
}

/// An integer at `i` that serde_json reads as an `i64` (at most 18
/// digits: no overflow), and the index after it; `None` (unsure) for a
/// float, an exponent, a longer integer or `-0` (a float to serde_json).
#[inline]
fn integer(b: &[u8], i: usize) -> Option<(i64, usize)> {
    let end = number(b, i)?;
    let (negative, digits) = match &b[i..end] {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
    match (negative, n) {
        (true, 0) => None,
        (true, n) => Some((-n, end)),
        (false, n) => Some((n, end)),
    }
}

/// Skips whitespace from `i`. Log lines put one space between tokens
/// (`": "`, `", "`) or none (`":"`, `","`): those take two comparisons.
#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    match b.get(i) {
        Some(&c) if c > b' ' => i,
        _ => skip_more_ws(b, i),
    }
}

/// [`skip_ws`] for any run of whitespace.
#[cold]
fn skip_more_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Skips one value starting at `i` (no leading whitespace); returns the index
/// after it. Python's `NaN`, `Infinity` and `-Infinity` are values too
/// (`python` set), as the engine reads them (as null).
#[inline(always)]
fn skip_value(b: &[u8], mut i: usize, python: &mut bool) -> Option<usize> {
    // Open brackets, the innermost in bit 0: 1 for an object. A value ends
    // when the stack is empty.
    let mut stack = 0u128;
    let mut depth = 0;
    loop {
        // One value at i.
        match *b.get(i)? {
            b'"' => i = value_end(b, i + 1)?.0 + 1,
            b'{' | b'[' => {
                let object = b[i] == b'{';
                if depth == MAX_DEPTH {
                    return None;
                }
                stack = stack << 1 | u128::from(object);
                depth += 1;
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(if object { &b'}' } else { &b']' }) {
                    depth -= 1;
                    stack >>= 1;
                    i += 1;
                } else {
                    if object {
                        i = member_key(b, i)?;
                    }
                    continue;
                }
            }
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            b'-' | b'0'..=b'9' => i = number_or_constant(b, i, python)?,
            b'N' | b'I' => {
                i = python_constant(b, i)?;
                *python = true;
            }
            _ => return None,
        }
        // After a value: close brackets, or a comma and the next one.
        loop {
            if depth == 0 {
                return Some(i);
            }
            i = skip_ws(b, i);
            let object = stack & 1 == 1;
            match *b.get(i)? {
                b',' => {
                    i = skip_ws(b, i + 1);
                    if object {
                        i = member_key(b, i)?;
                    }
                    break;
                }
                b'}' if object => {
                    depth -= 1;
                    stack >>= 1;
                    i += 1;
                }
                b']' if !object => {
                    depth -= 1;
                    stack >>= 1;
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

/// `"key" :` at `i`, inside a nested object; returns where its value starts.
#[inline(always)]
fn member_key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = match plain_key_end(b, i + 1) {
        Some(end) => end,
        None => string_end(b, i + 1)?.0,
    };
    after_colon(b, end)
}

/// Where the value starts after the `:` that follows a key whose closing
/// quote is at `end`. `": "` (Python's) and `":"` (compact writers') in
/// one two-byte comparison each; other spacing the long way.
#[inline(always)]
fn after_colon(b: &[u8], end: usize) -> Option<usize> {
    match b.get(end + 1..end + 3) {
        Some(b": ") => Some(end + 3),
        Some(&[b':', c]) if c > b' ' => Some(end + 2),
        _ => {
            let j = skip_ws(b, end + 1);
            if b.get(j) != Some(&b':') {
                return None;
            }
            Some(skip_ws(b, j + 1))
        }
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b[i..].starts_with(word).then_some(i + word.len())
}

/// A JSON number at `i`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
#[inline(always)]
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    // One or more digits.
    let digits = |b: &[u8], i: usize| {
        let end = digits_end(b, i);
        (end > i).then_some(end)
    };
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits_end(b, i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    // A number must not run into a letter or digit (serde_json: "1x" fails).
    match b.get(i) {
        Some(c) if c.is_ascii_alphanumeric() || *c == b'.' => None,
        _ => Some(i),
    }
}

/// The end of the run of ASCII digits at `i`: eight bytes at a time, in
/// one word (metrics logs are mostly numbers, of every length: a loop a
/// byte ends in a mispredicted branch per number).
#[inline(always)]
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while let Some(&w) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let other = non_digits(u64::from_le_bytes(w));
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    // Near the end of the line, its last 8 bytes, shifted so that `i` is
    // the first: the bytes shifted in are zeros, not digits.
    if let Some(base) = b.len().checked_sub(8) {
        let last: [u8; 8] = b[base..].try_into().unwrap_or([0; 8]);
        let w = u64::from_le_bytes(last)
            .checked_shr(8 * (i - base) as u32)
            .unwrap_or(0);
        return i + (non_digits(w).trailing_zeros() / 8) as usize;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Bit 7 of each byte of `w` (eight bytes, little-endian) that is not an
/// ASCII digit. A byte is a digit when, xored with '0', it is below 10: bit
/// 7 of (low 7 bits + 0x76) is set from 10 up, with no carry out of the
/// byte, and bit 7 of the xor itself marks the bytes above 0x7f.
#[inline(always)]
fn non_digits(w: u64) -> u64 {
    let x = w ^ 0x3030_3030_3030_3030;
    (((x & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
}

/// Whether key `k` of the line is the wanted `key`: equal lengths first, so
/// that most keys are told apart without comparing bytes, then the first 8
/// bytes as one word.
#[inline(always)]
fn same_key(k: &[u8], key: &[u8]) -> bool {
    if k.len() != key.len() {
        return false;
    }
    match (k.split_first_chunk::<8>(), key.split_first_chunk::<8>()) {
        (Some((a, k_rest)), Some((b, key_rest))) => {
            u64::from_ne_bytes(*a) == u64::from_ne_bytes(*b) && k_rest == key_rest
        }
        _ => k == key,
    }
}

/// `text` as a `str`, if it is UTF-8: ASCII (most URLs, user names, event
/// types) is told 16 bytes at a time by the vector unit's top bits, the
/// rest by std. std's check was 3% of url_views' instructions.
///
/// ```text
/// utf8(b"/a/b") == Some("/a/b"), utf8("/é".as_bytes()) == Some("/é"), utf8(b"\xff") == None
/// ```
#[inline(always)]
fn utf8(text: &[u8]) -> Option<&str> {
    let mut top = 0u32;
    let mut chunks = text.chunks_exact(16);
    for c in &mut chunks {
        top |= wide::u8x16::new(c.try_into().unwrap_or([0; 16])).to_bitmask();
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 16];
    last[..rest.len()].copy_from_slice(rest);
    top |= wide::u8x16::new(last).to_bitmask();
    if top == 0 {
        // SAFETY: every byte is below 0x80: ASCII, which is UTF-8.
        #[allow(unsafe_code)]
        return Some(unsafe { std::str::from_utf8_unchecked(text) });
    }
    std::str::from_utf8(text).ok()
}

/// The lanes of 16 bytes that are `"`, and those that are `\` or below
/// 0x20: one vector comparison each (SSE2 on x86-64, NEON on aarch64).
#[inline(always)]
fn quotes_and_escapes(v: wide::u8x16) -> (wide::u8x16, wide::u8x16) {
    use wide::u8x16;
    let quotes = v.simd_eq(u8x16::splat(b'"'));
    let escapes = v.simd_eq(u8x16::splat(b'\\')) | v.min(u8x16::splat(0x1f)).simd_eq(v);
    (quotes, escapes)
}

/// Bit k set for each byte k of the 16 bytes that is `"`, `\` or below
/// 0x20.
#[inline]
fn special16(chunk: [u8; 16]) -> u32 {
    let (quotes, escapes) = quotes_and_escapes(wide::u8x16::new(chunk));
    (quotes | escapes).to_bitmask()
}

/// Whether `s` needs no escape as a JSON string's body (no `"`, `\` or
/// byte below 0x20): 16 bytes at a time, the last 16 overlapping the
/// chunks before them.
///
/// ```text
/// is_plain(b"/a/b?x=1") == true, is_plain(b"say \"hi\"") == false, is_plain(b"a\tb") == false
/// ```
#[inline]
pub(crate) fn is_plain(s: &[u8]) -> bool {
    if s.len() < 16 {
        return !s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    }
    let chunk = |i: usize| s[i..i + 16].try_into().unwrap_or([0; 16]);
    let mut i = 0;
    while i + 16 <= s.len() {
        if special16(chunk(i)) != 0 {
            return false;
        }
        i += 16;
    }
    special16(chunk(s.len() - 16)) == 0
}

/// The closing quote of a key whose content starts at `i`, when it is
/// within 16 bytes and the key is plain ASCII (no escape, no control
/// byte): most keys, told by one vector comparison without a byte read.
/// `None`: any other key, for [`string_end`] to read.
#[inline(always)]
fn plain_key_end(b: &[u8], i: usize) -> Option<usize> {
    let chunk: [u8; 16] = b.get(i..i + 16)?.try_into().ok()?;
    let v = wide::u8x16::new(chunk);
    let (quotes, escapes) = quotes_and_escapes(v);
    let quotes = quotes.to_bitmask();
    // Backslashes, control bytes, and (their top bit) non-ASCII bytes.
    let others = escapes.to_bitmask() | v.to_bitmask();
    let before_quote = (quotes & quotes.wrapping_neg()).wrapping_sub(1);
    (quotes != 0 && others & before_quote == 0).then(|| i + quotes.trailing_zeros() as usize)
}

/// The closing quote of a string whose content starts at `i`, and whether
/// it had an escape. `None` (unsure) on a control byte, an escape other than
/// `\" \\ \/ \b \f \n \r \t`, or no closing quote.
#[inline(always)]
fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    string_end_w::<16>(b, i)
}

/// [`string_end`] reading 32 bytes at a time, for values: longer than keys,
/// and a string found in one step is one loop exit the CPU need not guess
/// (callgrind's branch model: 1.69M -> 1.48M mispredictions on 20 MB).
#[inline(always)]
fn value_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    string_end_w::<32>(b, i)
}

/// The special bytes of a chunk of `W` (16 or 32) bytes, as bits.
#[inline(always)]
fn special<const W: usize>(chunk: &[u8]) -> u32 {
    if W == 32 {
        special32(chunk.try_into().unwrap_or([0; 32]))
    } else {
        special16(chunk.try_into().unwrap_or([0; 16]))
    }
}

/// [`special16`] for 32 bytes, in bits 0..32.
#[inline]
fn special32(chunk: [u8; 32]) -> u32 {
    let (lo, hi) = chunk.split_at(16);
    let half = |h: &[u8]| special16(h.try_into().unwrap_or([0; 16]));
    half(lo) | half(hi) << 16
}

/// [`string_end`], `W` bytes at a time.
#[inline(always)]
fn string_end_w<const W: usize>(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    while let Some(chunk) = b.get(i..i + W) {
        match walk::<W>(b, chunk, i, special::<W>(chunk), &mut escaped) {
            Walked::Quote(at) => return Some((at, escaped)),
            Walked::Unsure => return None,
            Walked::From(next) => i = next,
            Walked::Through => i += W,
        }
    }
    // Near the end of the line, its last W bytes, the bits of those before
    // `i` cleared (most strings of a short line are within W bytes of its
    // end): the same walk, and no closing quote there is unsure.
    if let Some(base) = b.len().checked_sub(W) {
        let chunk = &b[base..];
        let m = special::<W>(chunk) & u32::MAX.checked_shl((i - base) as u32).unwrap_or(0);
        return match walk::<W>(b, chunk, base, m, &mut escaped) {
            Walked::Quote(at) => Some((at, escaped)),
            _ => None,
        };
    }
    // A line shorter than W: a byte at a time.
    loop {
        match *b.get(i)? {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                i += 1 + escape_len(b, i + 1)?;
                escaped = true;
            }
            c if c < 0x20 => return None,
            _ => i += 1,
        }
    }
}

/// Where [`walk`] left a chunk.
enum Walked {
    /// The closing quote, at this index of the line.
    Quote(usize),
    /// A control byte or a bad escape.
    Unsure,
    /// An escape in the chunk's last byte: the next chunk starts after
    /// the byte it escapes, here.
    From(usize),
    /// No quote in the chunk.
    Through,
}

/// Takes the special bytes `m` of `chunk` (the line's bytes from `base`)
/// in order: an escape drops the bit of the byte it escapes, so one chunk
/// is read once however many escapes it holds.
#[inline(always)]
fn walk<const W: usize>(
    b: &[u8],
    chunk: &[u8],
    base: usize,
    mut m: u32,
    escaped: &mut bool,
) -> Walked {
    while m != 0 {
        let k = m.trailing_zeros() as usize;
        match chunk[k] {
            b'"' => return Walked::Quote(base + k),
            b'\\' => {
                if escape_len(b, base + k + 1).is_none() {
                    return Walked::Unsure;
                }
                *escaped = true;
                if k == W - 1 {
                    return Walked::From(base + W + 1);
                }
                m &= !(0b11 << k);
            }
            _ => return Walked::Unsure,
        }
    }
    Walked::Through
}

/// The length of the escape whose letter is at `i` (just after its `\`):
/// 1 for `\" \\ \/ \b \f \n \r \t`, 5 for `\u` and four hex digits (any
/// code unit: serde_json checks surrogates only in the strings it reads,
/// and the field's are left to it by [`unescape`]); `None` for anything else.
#[inline(always)]
fn escape_len(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(1),
        b'u' => {
            // Four table lookups and no branch: Python's default
            // (`ensure_ascii`) writes each non-ASCII character so.
            let h: [u8; 4] = b.get(i + 1..i + 5)?.try_into().ok()?;
            h.iter()
                .fold(true, |all, &c| all & HEX[usize::from(c)])
                .then_some(5)
        }
        _ => None,
    }
}

/// Whether each byte is an ASCII hex digit.
static HEX: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_hexdigit();
        c += 1;
    }
    t
};

/// Walks the text of a string whose escapes [`escape_len`] accepted,
/// handing `piece` its decoded bytes in order; `None` (unsure) when it is
/// not UTF-8 or holds a surrogate escape (a pair, or a lone one that
/// serde_json refuses: both are left to it), unless `surrogates`: then each
/// is handed as its three WTF-8 bytes, which no UTF-8 text holds (as
/// Python's `json.loads` reads it, into a string no job's key equals).
fn decode(text: &[u8], surrogates: bool, mut piece: impl FnMut(&[u8])) -> Option<()> {
    let mut i = 0;
    loop {
        let k = text[i..]
            .iter()
            .position(|&c| c == b'\\')
            .unwrap_or(text.len() - i);
        // Escapes are ASCII: the bytes between them are UTF-8 on their own.
        let raw = &text[i..i + k];
        if !raw.is_ascii() {
            std::str::from_utf8(raw).ok()?;
        }
        piece(raw);
        i += k + 1;
        if i > text.len() {
            return Some(());
        }
        let c = match *text.get(i)? {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hex = std::str::from_utf8(text.get(i + 1..i + 5)?).ok()?;
                i += 4;
                let n = u32::from_str_radix(hex, 16).ok()?;
                match char::from_u32(n) {
                    Some(c) => c,
                    None if surrogates => {
                        i += 1;
                        piece(&[0xed, 0xa0 | (n >> 6 & 0x1f) as u8, 0x80 | (n & 0x3f) as u8]);
                        continue;
                    }
                    None => return None,
                }
            }
            c @ (b'"' | b'\\' | b'/') => char::from(c),
            _ => return None,
        };
        i += 1;
        piece(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
}

/// The text of a string whose escapes [`escape_len`] accepted, decoded
/// ([`decode`]'s `None` when unsure).
#[cold]
fn unescape(text: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    decode(text, false, |p| out.extend_from_slice(p))?;
    String::from_utf8(out).ok()
}

/// The decoded text of a JSON string's body `text` (what is between its
/// quotes, in a line already read as JSON), as serde_json decodes it;
/// `None` (unsure) for a surrogate escape, a pair or a lone one, which is
/// serde_json's to read. The bytes between escapes are copied whole
/// (`memchr` finds the next backslash): a JSON object in a string field,
/// `"{\"currentTime\":0,...}"`, is mostly such runs.
///
/// ```text
/// unescape_str(r#"{\"a\":\u00e9\n}"#) == Some("{\"a\":é\n}"), unescape_str(r"\ud83d\ude00") == None
/// ```
pub(crate) fn unescape_str(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(k) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(&rest[..k]);
        let (c, len) = match *rest.as_bytes().get(k + 1)? {
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hex = rest.get(k + 2..k + 6)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                (char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 6)
            }
            c @ (b'"' | b'\\' | b'/') => (char::from(c), 2),
            _ => return None,
        };
        out.push(c);
        rest = rest.get(k + len..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Which of the wanted `keys` an escaped key's text decodes to, if any;
/// `None` when unsure, as [`decode`] with `surrogates`.
#[cold]
fn escaped_key_index<const N: usize>(
    text: &[u8],
    keys: &[(&[u8], Want); N],
    surrogates: bool,
) -> Option<Option<usize>> {
    for (w, (key, _)) in keys.iter().enumerate() {
        if escaped_key_is(text, key, surrogates)? {
            return Some(Some(w));
        }
    }
    Some(None)
}

/// A wanted field's value at `i` that the scan leaves to serde_json (a
/// float or a long integer where an integer is wanted, a number or a
/// nested value where a string is), read by it as the jobs read it
/// (`MaybeStr`, `MaybeInt`: a number past a float's range, `1e400`, is
/// refused), and the index after it; `None` when serde_json refuses it.
#[cold]
fn other_kind<'a>(b: &'a [u8], i: usize, want: Want) -> Option<(Field<'a>, usize)> {
    // (A Python constant inside it: serde_json refuses the value.)
    let end = skip_value(b, i, &mut false)?;
    let value = &b[i..end];
    let field = match want {
        Want::Str => match serde_json::from_slice::<mr_core::protocol::MaybeStr>(value)
            .ok()?
            .0
        {
            Some(s) => Field::Str(Cow::Owned(s.into_owned())),
            None => Field::None,
        },
        Want::Int => match serde_json::from_slice::<mr_core::protocol::MaybeInt>(value)
            .ok()?
            .0
        {
            Some(n) => Field::Int(n),
            None => Field::None,
        },
    };
    Some((field, end))
}

/// Whether the text of an escaped key decodes to `key`, told without
/// building it (a Python log escapes every non-ASCII key, on every line);
/// `None` when unsure, as [`decode`].
#[cold]
fn escaped_key_is(text: &[u8], key: &[u8], surrogates: bool) -> Option<bool> {
    let mut rest = Some(key);
    decode(text, surrogates, |p| {
        rest = rest.and_then(|r| r.strip_prefix(p))
    })?;
    Some(rest.is_some_and(<[u8]>::is_empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url_views::PageUrl;
    use proptest::prelude::*;

    /// serde_json's verdict, as url_views reads a line.
    fn serde(line: &[u8]) -> Result<Option<String>, ()> {
        serde_json::from_slice::<PageUrl>(line)
            .map(|p| p.url().map(str::to_owned))
            .map_err(|_| ())
    }

    /// What the engine reads: serde_json's reading, or, for a line it
    /// refuses, the line with Python's constants as null, if any.
    fn engine(line: &[u8]) -> Result<Option<String>, ()> {
        serde(line).or_else(|_| {
            let nulls = mr_core::protocol::python_constants_as_null(line).ok_or(())?;
            serde(&nulls)
        })
    }

    fn found(s: &str) -> Scan<'_> {
        Scan::Object(Some(Cow::Borrowed(s)))
    }

    /// Two fields as a job reads them with serde_json: `page_url` a
    /// string, `a` an integer (`MaybeStr` and `MaybeInt` of mr_core::protocol).
    #[derive(Debug, PartialEq)]
    struct Two(Option<String>, Option<i64>);

    impl<'de> serde::Deserialize<'de> for Two {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Two;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                // A repeated field: the last one wins, as in video_tagging.
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Two, A::Error> {
                    use mr_core::protocol::MaybeStr;
                    let mut two = Two(None, None);
                    while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
                        match key.0.as_deref() {
                            Some("page_url") => {
                                two.0 = map.next_value::<MaybeStr<'de>>()?.0.map(Cow::into_owned);
                            }
                            Some("a") => {
                                two.1 = map.next_value::<mr_core::protocol::MaybeInt>()?.0;
                            }
                            _ => {
                                map.next_value::<serde::de::IgnoredAny>()?;
                            }
                        }
                    }
                    Ok(two)
                }
            }
            d.deserialize_map(V)
        }
    }

    const TWO: [(&[u8], Want); 2] = [(b"page_url", Want::Str), (b"a", Want::Int)];

    /// Where [`scan_fields`] answers, serde_json reads the same object and
    /// the same two values.
    fn two_agree(line: &[u8]) -> Result<(), TestCaseError> {
        if let Some([url, a]) = scan_fields(line, &TWO) {
            let scanned = Two(url.into_str().map(Cow::into_owned), a.int());
            let shown = String::from_utf8_lossy(line);
            prop_assert_eq!(
                serde_json::from_slice::<Two>(line).ok(),
                Some(scanned),
                "{}",
                shown
            );
        }
        Ok(())
    }

    /// Where the scan that reads keys as Python does answers, it answers
    /// as the strict scan does when that one answers, and otherwise as
    /// serde_json reads the line once every surrogate escape is made an
    /// `A` (which only keys it does not want, or values it skips, can
    /// hold: a wanted value with one is unsure).
    fn python_keys_agree(line: &[u8]) -> Result<(), TestCaseError> {
        let python = scan_fields_python_keys(line, &TWO);
        let shown = String::from_utf8_lossy(line);
        if let Some(strict) = scan_fields(line, &TWO) {
            prop_assert_eq!(python, Some(strict), "{}", shown);
            return Ok(());
        }
        if let Some([url, a]) = python {
            let scanned = Two(url.into_str().map(Cow::into_owned), a.int());
            let mut plain = Vec::with_capacity(line.len());
            let mut i = 0;
            while i < line.len() {
                let surrogate = line[i..].starts_with(b"\\u")
                    && line.get(i + 2..i + 6).is_some_and(|h| {
                        h.iter().all(u8::is_ascii_hexdigit)
                            && (h[0] | 0x20) == b'd'
                            && matches!(h[1] | 0x20, b'8'..=b'9' | b'a'..=b'f')
                    });
                // An escaped backslash is kept whole: the `u` after it is
                // no escape.
                let take = if surrogate {
                    6
                } else if line[i] == b'\\' {
                    2
                } else {
                    1
                };
                if surrogate {
                    plain.extend_from_slice(b"\\u0041");
                } else {
                    plain.extend_from_slice(&line[i..(i + take).min(line.len())]);
                }
                i += take;
            }
            prop_assert_eq!(
                serde_json::from_slice::<Two>(&plain).ok(),
                Some(scanned),
                "{} read as {}",
                shown,
                String::from_utf8_lossy(&plain)
            );
        }
        Ok(())
    }

    /// A Python log's key with a lone surrogate escape (a file name that
    /// `os.fsdecode` made of bytes): serde_json refuses the line, Python's
    /// `json.loads` (so mrjob) reads it (probe /tmp/probe-logs repro 01).
    #[test]
    fn python_keys_with_lone_surrogates_are_keys() {
        let keys = [(&b"page_url"[..], Want::Str)];
        for line in [
            &br#"{"page_url": "/b", "caf\udce9.txt": 3}"#[..],
            br#"{"caf\udce9": {"x": 1}, "page_url": "/b"}"#,
            br#"{"\ud800": 1, "page_url": "/b", "\ud83d\ude00": 2}"#,
        ] {
            assert!(serde_json::from_slice::<PageUrl>(line).is_err());
            assert_eq!(
                scan_fields_python_keys(line, &keys),
                Some([Field::Str(Cow::Borrowed("/b"))]),
                "{}",
                String::from_utf8_lossy(line)
            );
            python_keys_agree(line).unwrap();
        }
        // A wanted field of another kind beside such a key: none, as
        // serde_json reads it without the key (probe /tmp/probe-verify6
        // repro 03: the line was refused).
        for (line, want) in [
            (&br#"{"caf\udce9": 1, "page_url": 3}"#[..], None),
            (br#"{"caf\udce9": 1, "page_url": ["/a", {"b": 1.5}]}"#, None),
            (
                br#"{"page_url": "/x", "caf\udce9": 1, "page_url": {"u": 1}}"#,
                None,
            ),
            (br#"{"caf\udce9": 1, "page_url": -0}"#, None),
        ] {
            let got = scan_fields_python_keys(line, &keys);
            assert_eq!(
                got,
                Some([want.map_or(Field::None, |s: &str| Field::Str(s.into()))])
            );
            python_keys_agree(line).unwrap();
        }
        // Python's constants beside such a key: read as null, as the
        // engine reads them once serde_json refused them (repro 03).
        let line = br#"{"caf\udce9": NaN, "page_url": "/b", "x": [-Infinity]}"#;
        assert_eq!(
            scan_fields_python_keys(line, &keys),
            Some([Field::Str("/b".into())])
        );
        // Still refused: the field itself, a raw control byte or bytes that
        // are not UTF-8 in such a key, a syntax error, a number serde_json
        // refuses.
        assert_eq!(
            scan_fields_python_keys(br#"{"caf\udce9": 1, "page_url": 1e400}"#, &keys),
            None
        );
        for line in [
            &br#"{"page_url": "/b\udce9"}"#[..],
            b"{\"caf\\udce9\t\": 3}",
            b"{\"caf\\udce9\xff\": 3}",
            br#"{"caf\udce9": 3,}"#,
            br#"{"caf\udce": 3}"#,
        ] {
            assert_eq!(
                scan_fields_python_keys(line, &keys),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn integers_are_read_as_serde_json_reads_them_or_left_to_it() {
        let int = |text: &str| {
            let line = format!(r#"{{"a": {text}, "page_url": "/u"}}"#);
            two_agree(line.as_bytes()).unwrap();
            scan_fields(line.as_bytes(), &TWO).map(|[_, a]| match a {
                Field::Str(s) => Field::Str(Cow::Owned(s.into_owned())),
                Field::Int(n) => Field::Int(n),
                Field::None => Field::None,
            })
        };
        assert_eq!(int("0"), Some(Field::Int(0)));
        assert_eq!(int("-12"), Some(Field::Int(-12)));
        assert_eq!(
            int("999999999999999999"),
            Some(Field::Int(999_999_999_999_999_999))
        );
        assert_eq!(
            int("-999999999999999999"),
            Some(Field::Int(-999_999_999_999_999_999))
        );
        assert_eq!(int("null"), Some(Field::None));
        assert_eq!(int(r#""12""#), Some(Field::Str(Cow::Owned("12".into()))));
        for unsure in [
            "-0",
            "1.5",
            "1e3",
            "1000000000000000000",
            "9223372036854775808",
            "[1]",
            "{}",
        ] {
            assert_eq!(int(unsure), None, "{unsure}");
        }
        for bad in ["01", "-", "1x", "--1", "1.", "+1"] {
            assert_eq!(int(bad), None, "{bad}");
            let line = format!(r#"{{"a": {bad}}}"#);
            assert!(
                serde_json::from_slice::<Two>(line.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    fn agrees(line: &[u8]) -> Result<(), TestCaseError> {
        if let Scan::Object(v) = scan_field(line, b"page_url") {
            prop_assert_eq!(
                engine(line),
                Ok(v.map(Cow::into_owned)),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        Ok(())
    }

    #[test]
    fn typical_lines_take_the_fast_path() {
        let line = br#"{"key": "pageview", "value": "{}", "username": "dc4c", "timestamp": 1370044801621, "page_url": "https://x.org/course/lecture/view?lecture_id=1", "12": ["{\"height\":502,\"width\":1240}"], "13": [0], "n": -1.5e3, "t": true, "f": false, "z": null, "o": {}}"#;
        assert_eq!(
            scan_field(line, b"page_url"),
            found("https://x.org/course/lecture/view?lecture_id=1")
        );
        assert_eq!(
            serde(line).unwrap().as_deref(),
            Some("https://x.org/course/lecture/view?lecture_id=1")
        );
        // The compact form (JavaScript's, Go's, Jackson's) too.
        let compact = br#"{"key":"pageview","timestamp":1370044801621,"o":{"a":[1,{"b":"c"}]},"page_url":"https://x.org/a","13":[0],"t":true}"#;
        assert_eq!(scan_field(compact, b"page_url"), found("https://x.org/a"));
        assert_eq!(serde(compact).unwrap().as_deref(), Some("https://x.org/a"));
        // Any other spacing takes the general path, to the same answer.
        for odd in [
            &br#"{"a" :"b" ,"page_url": "/u"}"#[..],
            b"{\"a\":\t\"b\",\n\"page_url\":\"/u\" }",
        ] {
            assert_eq!(scan_field(odd, b"page_url"), found("/u"));
        }
    }

    /// Python's `NaN`, `Infinity` and `-Infinity` (what `json.dumps`
    /// writes for such floats) are read as null, as the engine reads them
    /// once serde_json refused the line, and the line is noted so
    /// (counted): such lines were read twice more, at 9x the time of a
    /// line with `null` there.
    #[test]
    fn python_constants_are_read_as_null_and_noted() {
        use mr_core::protocol::take_noted_as_null;
        take_noted_as_null();
        for (line, want) in [
            (&br#"{"d": NaN, "page_url": "/a"}"#[..], Some("/a")),
            (
                br#"{"d":[1,-Infinity,{"e":Infinity}],"page_url":"/a"}"#,
                Some("/a"),
            ),
            (br#"{"page_url": NaN}"#, None),
            (br#"{"page_url": -Infinity, "x": 1}"#, None),
            (br#"{"page_url": "/a", "n": -Infinity}"#, Some("/a")),
        ] {
            let text = String::from_utf8_lossy(line);
            assert_eq!(
                scan_field(line, b"page_url"),
                Scan::Object(want.map(Cow::Borrowed)),
                "{text}"
            );
            assert!(take_noted_as_null(), "{text}");
            assert_eq!(engine(line), Ok(want.map(String::from)), "{text}");
        }
        // In a string, or a word that only starts as one: not a constant.
        assert_eq!(
            scan_field(br#"{"d": "NaN", "page_url": "/a"}"#, b"page_url"),
            found("/a")
        );
        assert!(!take_noted_as_null());
        for line in [
            &br#"{"d": NaNa, "page_url": "/a"}"#[..],
            br#"{"d": Infinit, "page_url": "/a"}"#,
            br#"{"d": -NaN}"#,
            br#"{"d": nan}"#,
            br#"{"d": NaN"#,
        ] {
            let text = String::from_utf8_lossy(line);
            assert_eq!(scan_field(line, b"page_url"), Scan::Unsure, "{text}");
            assert!(!take_noted_as_null(), "{text}");
            assert!(engine(line).is_err(), "{text}");
        }
        // Two fields: an integer wanted, NaN there, is none.
        let keys = [(&b"page_url"[..], Want::Str), (b"t", Want::Int)];
        let [url, t] = scan_fields(br#"{"t": NaN, "page_url": "/v"}"#, &keys).unwrap();
        assert_eq!((url.into_str().as_deref(), t), (Some("/v"), Field::None));
        assert!(take_noted_as_null());
    }

    #[test]
    fn malformed_lines_are_never_accepted() {
        for line in [
            &br#"{"page_url": "/a""#[..],
            br#"{"page_url": "/a",}"#,
            br#"{"page_url": "/a"} x"#,
            br#"{"a": 01, "page_url": "/a"}"#,
            br#"{"a": 1., "page_url": "/a"}"#,
            br#"{"a": [1,], "page_url": "/a"}"#,
            br#"{"a": {"b"}, "page_url": "/a"}"#,
            br#"{"a": tru, "page_url": "/a"}"#,
            br#"{"a": "\x", "page_url": "/a"}"#,
            br#"{"a": "\u12", "page_url": "/a"}"#,
            br#"{"a": "\u12g4", "page_url": "/a"}"#,
            br#"{"page_url": "/a\u00"}"#,
            br#"{"page_url": "/a\ud800"}"#,
            br#"{"page_url": "/a\q"}"#,
            b"{\"a\": \"tab\there\", \"page_url\": \"/a\"}",
            br#"{"a": [}, "page_url": "/a"}"#,
            br#"{"a": 1 "page_url": "/a"}"#,
            br#"{"page_url" "/a"}"#,
            b"{\"page_url\": \"/a\xff\"}",
        ] {
            let shown = String::from_utf8_lossy(line);
            assert_eq!(scan_field(line, b"page_url"), Scan::Unsure, "{shown}");
            assert!(serde(line).is_err(), "{shown}");
        }
        // Valid, but not the fast path's: serde_json decides.
        for line in [
            &br#"["page_url", "/a"]"#[..],
            br#"{"page_url": 3}"#,
            br#"{"page_url": -1}"#,
            br#"{"page_url": {"a": 1}}"#,
            br#"{"page_url": []}"#,
            br#"{"page_url": "\ud83d\ude00"}"#,
            br#"{"\ud83d\ude00": 1, "page_url": "/a"}"#,
        ] {
            assert_eq!(scan_field(line, b"page_url"), Scan::Unsure);
            assert!(serde(line).is_ok());
        }
        // Escaped keys are decoded and compared (Python's `ensure_ascii`
        // escapes every non-ASCII key).
        for (line, want) in [
            (&br#"{"page\u005furl": "/a"}"#[..], Some("/a")),
            (br#"{"\u00e9t\u00e9": "/x", "page_url": "/b"}"#, Some("/b")),
            (br#"{"page_url": "/b", "page_url\u0000": "/c"}"#, Some("/b")),
            (br#"{"a\"b": {"page_url": "/n"}}"#, None),
        ] {
            let found = Scan::Object(want.map(Cow::Borrowed));
            assert_eq!(scan_field(line, b"page_url"), found);
            assert_eq!(serde(line), Ok(want.map(str::to_string)));
        }
    }

    /// Digits are counted eight bytes at a time: every byte value, at
    /// every place of a run of digits, ends it where a byte loop does.
    #[test]
    fn digits_end_agrees_with_a_byte_loop() {
        for len in 0..20 {
            for at in 0..=len {
                for stop in 0..=255u8 {
                    let mut b = b"12345678901234567890".to_vec();
                    b.truncate(len);
                    if at < len {
                        b[at] = stop;
                    }
                    for start in 0..=at.min(3) {
                        let naive =
                            start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
                        assert_eq!(digits_end(&b, start), naive, "{b:?} from {start}");
                    }
                }
            }
        }
    }

    /// Strings are read 16 bytes at a time: every length, with a special
    /// byte at every place, agrees with serde_json (a tab and a bare quote
    /// are errors, an escape is not the fast path's for the field).
    #[test]
    fn strings_of_every_length_and_special_byte_place() {
        for len in 0..40 {
            for at in 0..=len {
                for special in ["\\\"", "\\\\", "\t", "\"", "\\u00e9", "é", "\\"] {
                    let text = format!("{}{special}{}", "a".repeat(at), "b".repeat(len - at));
                    for line in [
                        format!(r#"{{"page_url": "{text}", "x": 1}}"#),
                        format!(r#"{{"x": "{text}", "page_url": "/u"}}"#),
                        format!(r#"{{"x": ["{text}"], "page_url": "/u"}}"#),
                    ] {
                        agrees(line.as_bytes()).unwrap();
                    }
                    // Escapes and UTF-8 stay on the fast path, in a skipped
                    // string and in the field (decoded there).
                    if ["\\\"", "\\\\", "\\u00e9", "é"].contains(&special) {
                        let line = format!(r#"{{"x": "{text}", "page_url": "/u"}}"#);
                        assert_eq!(scan_field(line.as_bytes(), b"page_url"), found("/u"));
                        let line = format!(r#"{{"page_url": "{text}", "x": 1}}"#);
                        let decoded = text.replace("\\u00e9", "é").replace('\\', "");
                        let want = if special == "\\\\" {
                            text.replace("\\\\", "\\")
                        } else {
                            decoded
                        };
                        assert_eq!(
                            scan_field(line.as_bytes(), b"page_url"),
                            Scan::Object(Some(Cow::Owned(want)))
                        );
                    }
                }
            }
        }
        let long = format!(r#"{{"x": "{}", "page_url": "/u"}}"#, "a".repeat(100));
        assert_eq!(scan_field(long.as_bytes(), b"page_url"), found("/u"));
    }

    /// A page_url that is null or a boolean is no URL on the fast path too
    /// (a later one still counts), and a damaged one is never accepted.
    #[test]
    fn a_page_url_that_is_null_or_a_boolean_is_none_on_the_fast_path() {
        for (line, want) in [
            (&br#"{"page_url": null, "u": "x"}"#[..], None),
            (br#"{"page_url":false}"#, None),
            (br#"{"page_url": null, "page_url": "/b"}"#, Some("/b")),
            (br#"{"page_url": "/a", "page_url": true}"#, None),
        ] {
            assert_eq!(
                scan_field(line, b"page_url"),
                Scan::Object(want.map(Cow::Borrowed))
            );
            agrees(line).unwrap();
        }
        for line in [
            &br#"{"page_url": nul}"#[..],
            br#"{"page_url": null"#,
            br#"{"page_url": nullx}"#,
            br#"{"page_url": tru, "a": 1}"#,
            br#"{"page_url": }"#,
            br#"{"page_url": 1e400}"#,
        ] {
            assert_eq!(scan_field(line, b"page_url"), Scan::Unsure);
            assert!(serde(line).is_err());
        }
    }

    /// Deep nesting (seen in real logs at 65-70 levels) stays on the fast
    /// path up to MAX_DEPTH, and agrees with serde_json on either side of
    /// it and of serde_json's own limit.
    #[test]
    fn deep_nesting_agrees_with_serde_json() {
        for depth in [
            1,
            63,
            64,
            65,
            70,
            MAX_DEPTH - 1,
            MAX_DEPTH,
            MAX_DEPTH + 1,
            126,
            127,
            128,
            200,
        ] {
            for (open, close) in [("[", "]"), ("{\"k\": [", "]}")] {
                let value = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                let line = format!(r#"{{"a": {value}, "page_url": "/u"}}"#);
                agrees(line.as_bytes()).unwrap();
                if depth <= MAX_DEPTH / 2 || (open == "[" && depth <= MAX_DEPTH) {
                    assert_eq!(
                        scan_field(line.as_bytes(), b"page_url"),
                        found("/u"),
                        "{depth}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_last_page_url_wins_as_in_serde() {
        let line = br#"{"page_url": "/a", "x": {"page_url": "/n"}, "page_url": "/b"}"#;
        assert_eq!(scan_field(line, b"page_url"), found("/b"));
        agrees(line).unwrap();
    }

    /// JSON-ish text: valid objects, and the same with one byte changed,
    /// dropped or doubled.
    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            "-?(0|[1-9][0-9]{0,12})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,2})?",
            // Integers about the 18 digits an i64 surely holds, and past
            // what it holds at all.
            "-?[1-9][0-9]{16,20}",
            "\"([a-z/ :?=&.]|\\\\[\"\\\\/bfnrtu]|\\\\u00[0-9a-f]{2}|\\\\u[0-9a-fA-F]{4}|\\\\u[dD][89abAB][0-9a-f]{2}|é)*\"",
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                // Both spacings: Python's `, ` and `: ` (the scan's fast
                // path), and the compact `,` and `:`.
                (
                    prop::collection::vec(
                        (
                            "(page_url|a|b|é|a_key_longer_than_sixteen|k\\\\u0041|page\\\\u005furl|\\\\u00e9|\\\\ud83d\\\\ude00|\\\\udc00|p\\\\\")",
                            inner
                        ),
                        0..4
                    ),
                    any::<bool>()
                )
                    .prop_map(|(v, spaced)| object_text(&v, spaced)),
            ]
        })
    }

    /// Objects whose fields are mostly the two [`TWO`] wants, valued
    /// mostly by numbers of every shape near an `i64`'s edges.
    fn wanted_fields_object() -> impl Strategy<Value = String> {
        let value = prop_oneof![
            3 => "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,3})?([eE]-?[0-9])?",
            1 => json_value(),
        ];
        let key = prop_oneof![
            Just("a"),
            Just("page_url"),
            Just("b"),
            Just("a\\u0000"),
            Just("\\u0061")
        ];
        (prop::collection::vec((key, value), 0..5), any::<bool>())
            .prop_map(|(v, spaced)| object_text(&v, spaced))
    }

    /// The object of fields `v` (names as JSON string bodies), with
    /// Python's spacing (`, ` and `: `: the scan's fast path) or the
    /// compact one.
    fn object_text<K: std::fmt::Display>(v: &[(K, String)], spaced: bool) -> String {
        let (comma, colon) = if spaced { (", ", ": ") } else { (",", ":") };
        let fields: Vec<String> = v
            .iter()
            .map(|(k, v)| format!("\"{k}\"{colon}{v}"))
            .collect();
        format!("{{{}}}", fields.join(comma))
    }

    /// `v` as is (`edit` 0), or with the byte at `at` replaced by `byte`
    /// (1), dropped (2), or with `byte` put before it (3).
    fn edited(v: String, edit: usize, at: prop::sample::Index, byte: u8) -> Vec<u8> {
        let mut line = v.into_bytes();
        if !line.is_empty() {
            let i = at.index(line.len());
            match edit {
                1 => line[i] = byte,
                2 => {
                    line.remove(i);
                }
                3 => line.insert(i, byte),
                _ => {}
            }
        }
        line
    }

    #[test]
    fn utf8_is_strs_reading_at_every_length_and_place() {
        for len in 0..40 {
            let ascii = vec![b'u'; len];
            assert_eq!(utf8(&ascii), std::str::from_utf8(&ascii).ok());
            for at in 0..len {
                for byte in [0x80u8, 0xff, 0xc3] {
                    let mut t = ascii.clone();
                    t[at] = byte;
                    assert_eq!(utf8(&t), std::str::from_utf8(&t).ok(), "{t:?}");
                }
                let mut t = ascii.clone();
                t.splice(at..at, "é".bytes());
                assert_eq!(utf8(&t), std::str::from_utf8(&t).ok(), "{t:?}");
            }
        }
    }

    proptest! {
        /// [`unescape_str`] decodes what serde_json and Python's
        /// `ensure_ascii` write as serde_json reads it, or is unsure only
        /// for a surrogate escape.
        #[test]
        fn unescape_str_reads_strings_as_serde_json_does(s in any::<String>(), ascii in any::<bool>()) {
            let mut text = serde_json::to_string(&s).unwrap();
            if ascii {
                text = text.chars().map(|c| match c.is_ascii() {
                    true => c.to_string(),
                    false => c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect(),
                }).collect();
            }
            let body = &text[1..text.len() - 1];
            let surrogate = s.chars().any(|c| c.len_utf16() == 2);
            match unescape_str(body) {
                Some(decoded) => prop_assert_eq!(decoded, s),
                None => prop_assert!(ascii && surrogate, "unsure of {:?}", body),
            }
        }

        /// [`is_plain`] is the byte loop it stands for, at every length
        /// and place of a special byte.
        #[test]
        fn is_plain_agrees_with_a_byte_loop(s in proptest::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), Just(0x1fu8), Just(0x20u8), Just(b'a'), any::<u8>()],
            0..70,
        )) {
            let slow = !s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(is_plain(&s), slow);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_disagrees_with_serde_json(
            v in json_value(),
            edit in 0usize..4,
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(b'"'), Just(b','), Just(b'}'), Just(b']'), Just(b'\\'), Just(b' '), any::<u8>()],
        ) {
            agrees(&edited(v, edit, at, byte))?;
        }

        #[test]
        fn valid_objects_agree_and_mostly_take_the_fast_path(v in json_value()) {
            agrees(v.as_bytes())?;
            two_agree(v.as_bytes())?;
            python_keys_agree(v.as_bytes())?;
        }

        #[test]
        fn python_keys_never_disagree(
            v in json_value(),
            edit in 0usize..4,
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(b'"'), Just(b','), Just(b'\\'), Just(b'\t'), any::<u8>()],
        ) {
            python_keys_agree(&edited(v, edit, at, byte))?;
        }

        #[test]
        fn fields_never_disagree_with_serde_json(
            v in wanted_fields_object(),
            edit in 0usize..4,
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(b'"'), Just(b','), Just(b'-'), Just(b'.'), Just(b'0'), any::<u8>()],
        ) {
            two_agree(&edited(v, edit, at, byte))?;
        }

        /// The scan compiled for AVX2 (what the tests above take on a CPU
        /// that has it) reads every line as the portable scan does.
        #[cfg(target_arch = "x86_64")]
        #[test]
        fn the_avx2_scan_reads_as_the_portable_one(
            v in prop_oneof![json_value(), wanted_fields_object()],
            edit in 0usize..4,
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(b'"'), Just(b'\\'), Just(b'}'), any::<u8>()],
        ) {
            let line = edited(v, edit, at, byte);
            let keys = [(&b"page_url"[..], Want::Str), (b"a", Want::Int)];
            prop_assert_eq!(scan_here::<2, false>(&line, &keys), scan::<2, false>(&line, &keys));
            prop_assert_eq!(scan_here::<2, true>(&line, &keys), scan::<2, true>(&line, &keys));
        }
    }
}
