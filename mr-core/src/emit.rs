//! The emitter a task writes to: a typed pair becomes an encoded record.
//!
//! Mappers, combiners and reducers never see the engine's buffers: they call
//! [`Emitter::emit`] with their own key and value types, which are encoded as
//! JSON into reused buffers and pushed into a [`RecordSink`] (the sort buffer,
//! a part file, or standard output in task mode).

use crate::counters::Counters;
use crate::error::{Error, JobError};
use serde::Serialize;
use std::borrow::Borrow;
use std::marker::PhantomData;

/// Where encoded records go. The engine implements it for its sort buffers
/// and output writers.
pub trait RecordSink {
    /// Takes one record: the key and value as JSON bytes.
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error>;
}

impl<S: RecordSink + ?Sized> RecordSink for &mut S {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        (**self).push(key, value)
    }
}

/// Collects records in memory: for tests and for small outputs.
///
/// ```
/// use mr_core::emit::{RecordSink, VecSink};
/// let mut s = VecSink::default();
/// s.push(b"\"a\"", b"1").unwrap();
/// assert_eq!(s.records, vec![(b"\"a\"".to_vec(), b"1".to_vec())]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct VecSink {
    /// The records pushed so far, in order.
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RecordSink for VecSink {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.records.push((key.to_vec(), value.to_vec()));
        Ok(())
    }
}

/// Buffers an emitter reuses between records, so emitting allocates nothing
/// once they have grown.
#[derive(Debug, Default)]
pub(crate) struct EmitBuffers {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Set when the sink failed (disk full, broken pipe): such a failure is
    /// never a bad record and is never skipped.
    pub fatal: Option<Error>,
}

/// What a mapper, combiner or reducer writes its output to.
///
/// `K` and `V` are the step's declared output types; [`emit`](Self::emit)
/// takes the key by reference (any borrowed form, e.g. `&str` for a `String`
/// key) and the value by value.
pub struct Emitter<'a, K, V> {
    target: Target<'a, V>,
    counters: &'a mut Counters,
    bufs: &'a mut EmitBuffers,
    records: u64,
    _types: PhantomData<fn(&K, V)>,
}

/// Where an emitter's records go: encoded into a sink, or, in a fold step,
/// folded as typed values into the map task's accumulator table (the value
/// is never encoded and decoded again).
pub(crate) enum Target<'a, V> {
    Bytes(&'a mut dyn RecordSink),
    Fold(&'a mut dyn ValueFolder<V>),
}

/// Takes a key (encoded) and a typed value: a fold step's accumulator table.
pub(crate) trait ValueFolder<V>: RecordSink {
    fn fold_value(&mut self, key: &[u8], value: V) -> Result<(), Error>;
    /// [`fold_value`](Self::fold_value) with the key `"s"`: `s` is a
    /// [plain](is_plain_json_str) string, its own JSON encoding once quoted.
    fn fold_str(&mut self, s: &str, value: V) -> Result<(), Error>;
    /// Folds in what the folder holds back to look up together (a fold
    /// table's batch): called at the end of each record's map, inside the
    /// catch that blames a panic on the record. By default, nothing.
    fn fold_pending(&mut self) {}
}

/// A string that is its own JSON string body: no byte below 0x20, no `"`,
/// no backslash, so that `"` + it + `"` is its JSON encoding (see
/// [`Emitter::emit_body`]).
///
/// ```
/// use mr_core::emit::JsonBody;
/// assert_eq!(JsonBody::new("été").map(|b| b.as_str()), Some("été"));
/// assert!(JsonBody::new("say \"hi\"").is_none());
/// assert!(JsonBody::new("a\tb").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonBody<'a>(&'a str);

impl<'a> JsonBody<'a> {
    /// `s`, if it is its own JSON string body (checked, eight bytes at a
    /// time).
    #[inline]
    pub fn new(s: &'a str) -> Option<Self> {
        is_plain_json_str(s.as_bytes()).then_some(JsonBody(s))
    }

    /// `s`, on the caller's word that it is its own JSON string body: the
    /// text of a JSON string without escapes, borrowed from a line that
    /// was checked to be JSON (JSON strings hold no raw control byte, quote
    /// or backslash), or a word made of letters, digits and apostrophes.
    /// Anything else would be written into the output as invalid JSON:
    /// when unsure, use [`JsonBody::new`]. Checked in debug builds (tests).
    ///
    /// ```
    /// use mr_core::emit::JsonBody;
    /// assert_eq!(JsonBody::trusted("don't").as_str(), "don't");
    /// ```
    #[inline]
    pub fn trusted(s: &'a str) -> Self {
        debug_assert!(is_plain_json_str(s.as_bytes()), "not a JSON body: {s:?}");
        JsonBody(s)
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// The JSON text of one value, for [`Emitter::emit_json`]: a value a job
/// wrote itself (a row built field by field), emitted without going through
/// serde again.
///
/// ```
/// use mr_core::emit::JsonText;
/// assert!(JsonText::new(br#"{"a":[1,"x"]}"#).is_some());
/// assert!(JsonText::new(br#"{"a":"#).is_none());
/// assert!(JsonText::new(b"1 2").is_none());
/// assert!(JsonText::new(b"\"a\tb\"").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonText<'a>(&'a [u8]);

impl<'a> JsonText<'a> {
    /// `text`, if it is one JSON value with no tab or line break in it
    /// (checked by parsing it): what a record's value may be.
    pub fn new(text: &'a [u8]) -> Option<Self> {
        is_json_value(text).then_some(JsonText(text))
    }

    /// `text`, on the caller's word that it is one JSON value with no tab
    /// or line break in it, as serde_json writes one: text the job wrote by
    /// JSON's rules, such as an object of quoted [plain](JsonBody) strings
    /// and values serde_json wrote. Anything else would reach the output as
    /// invalid JSON or a broken record: when unsure, use [`JsonText::new`].
    /// Checked in debug builds (tests).
    ///
    /// ```
    /// use mr_core::emit::JsonText;
    /// assert_eq!(JsonText::trusted(b"[1,2]").as_bytes(), b"[1,2]");
    /// ```
    #[inline]
    pub fn trusted(text: &'a [u8]) -> Self {
        debug_assert!(
            is_json_value(text),
            "not one JSON value as serde_json writes it: {:?}",
            String::from_utf8_lossy(text)
        );
        JsonText(text)
    }

    /// The text.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// Whether `text` is one JSON value with no tab or line break in it.
fn is_json_value(text: &[u8]) -> bool {
    !text.iter().any(|b| matches!(b, b'\n' | b'\r' | b'\t'))
        && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

/// Whether `s` is its own JSON string body (no byte below 0x20, no `"`, no
/// backslash), so that `"` + `s` + `"` is its JSON encoding. Eight bytes at
/// a time, with no call for short strings.
#[inline]
pub(crate) fn is_plain_json_str(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of a byte is set where the byte is below 0x20, `"` or a
    // backslash (`y - 1 & !y` marks a zero byte of y; `x - 0x20 & !x` a byte
    // below 0x20; either is exact once reduced to "any": a borrow only
    // crosses into the next byte from a byte that is itself marked).
    let special = |x: u64| {
        let zero = |y: u64| y.wrapping_sub(ONES) & !y;
        (x.wrapping_sub(ONES * 0x20) & !x
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\'))))
            & HIGH
            != 0
    };
    let n = s.len();
    let u64_at = |i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or([0; 4])));
    match n {
        0..=3 => s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\'),
        // Two overlapping 4-byte windows in one word.
        4..=7 => !special(u32_at(0) | u32_at(n - 4) << 32),
        _ => {
            // Whole chunks, then a last window overlapping them.
            let mut i = 0;
            while i + 8 <= n {
                if special(u64_at(i)) {
                    return false;
                }
                i += 8;
            }
            !special(u64_at(n - 8))
        }
    }
}

/// Pushes an encoded record into `target`'s sink (a fold table takes
/// encoded records too).
fn push<V>(target: &mut Target<'_, V>, key: &[u8], value: &[u8]) -> Result<(), Error> {
    match target {
        Target::Bytes(s) => s.push(key, value),
        Target::Fold(f) => f.push(key, value),
    }
}

/// Writes `"s"` into `buf` (for a [plain](is_plain_json_str) `s`) and
/// returns it.
fn quote_plain<'b>(buf: &'b mut Vec<u8>, s: &str) -> &'b [u8] {
    buf.clear();
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
    buf
}

impl<'a, K: Serialize, V: Serialize> Emitter<'a, K, V> {
    pub(crate) fn new(
        sink: &'a mut dyn RecordSink,
        counters: &'a mut Counters,
        bufs: &'a mut EmitBuffers,
    ) -> Self {
        Self::with_target(Target::Bytes(sink), counters, bufs)
    }

    pub(crate) fn with_target(
        target: Target<'a, V>,
        counters: &'a mut Counters,
        bufs: &'a mut EmitBuffers,
    ) -> Self {
        Emitter {
            target,
            counters,
            bufs,
            records: 0,
            _types: PhantomData,
        }
    }

    /// Emits one record.
    ///
    /// ```
    /// # use mr_core::{Emitter, testing::with_emitter};
    /// let records = with_emitter::<String, u64>(|out| {
    ///     out.emit("word", 2)?;
    ///     Ok(())
    /// });
    /// assert_eq!(records, vec![("\"word\"".into(), "2".into())]);
    /// ```
    pub fn emit<Q>(&mut self, key: &Q, value: V) -> Result<(), JobError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if let Target::Fold(folder) = &mut self.target {
            self.bufs.key.clear();
            serde_json::to_writer(&mut self.bufs.key, key)?;
            self.records += 1;
            if let Err(e) = folder.fold_value(&self.bufs.key, value) {
                return Err(self.fatal(e));
            }
            return Ok(());
        }
        self.emit_ref(key, &value)
    }

    /// Emits one record with a string key: the same record as
    /// [`emit`](Self::emit), faster for the common key that needs no JSON
    /// escaping (it is quoted as is, without going through serde; a fold
    /// step looks it up in its table without copying it).
    ///
    /// ```
    /// # use mr_core::{Emitter, testing::with_emitter};
    /// let records = with_emitter::<String, u64>(|out| {
    ///     out.emit_str("word", 2)?;
    ///     out.emit_str("say \"hi\"\n", 1)?;
    ///     Ok(())
    /// });
    /// assert_eq!(records, vec![("\"word\"".into(), "2".into()),
    ///                          (r#""say \"hi\"\n""#.into(), "1".into())]);
    /// ```
    #[inline]
    pub fn emit_str(&mut self, key: &str, value: V) -> Result<(), JobError>
    where
        K: Borrow<str>,
    {
        match JsonBody::new(key) {
            Some(body) => self.emit_body(body, value),
            None => self.emit(key, value),
        }
    }

    /// [`emit_str`](Self::emit_str) for a key already known to need no
    /// JSON escaping ([`JsonBody`]): the record is the same, and the key is
    /// not looked at again (a word of letters, a string taken as it is from
    /// a JSON line).
    ///
    /// ```
    /// # use mr_core::{emit::JsonBody, testing::with_emitter};
    /// let records = with_emitter::<String, u64>(|out| {
    ///     out.emit_body(JsonBody::new("word").unwrap(), 2)
    /// });
    /// assert_eq!(records, vec![("\"word\"".into(), "2".into())]);
    /// ```
    #[inline]
    pub fn emit_body(&mut self, key: JsonBody<'_>, value: V) -> Result<(), JobError>
    where
        K: Borrow<str>,
    {
        let key = key.as_str();
        self.records += 1;
        let result = match &mut self.target {
            Target::Fold(folder) => folder.fold_str(key, value),
            Target::Bytes(sink) => {
                let key = quote_plain(&mut self.bufs.key, key);
                self.bufs.value.clear();
                serde_json::to_writer(&mut self.bufs.value, &value)?;
                sink.push(key, &self.bufs.value)
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fatal(e)),
        }
    }

    /// Emits one record whose value is given as its JSON text ([`JsonText`]):
    /// the record [`emit`](Self::emit) makes of the value that text encodes,
    /// without serializing a value (a row a job writes itself, strings
    /// quoted as they are).
    ///
    /// ```
    /// # use mr_core::{emit::JsonText, testing::with_emitter};
    /// let records = with_emitter::<(), Box<serde_json::value::RawValue>>(|out| {
    ///     out.emit_json(&(), JsonText::trusted(br#"{"a":"x"}"#))
    /// });
    /// assert_eq!(records, vec![("null".into(), r#"{"a":"x"}"#.into())]);
    /// ```
    pub fn emit_json<Q>(&mut self, key: &Q, value: JsonText<'_>) -> Result<(), JobError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.bufs.key.clear();
        serde_json::to_writer(&mut self.bufs.key, key)?;
        let pushed = push(&mut self.target, &self.bufs.key, value.as_bytes());
        self.pushed(pushed)
    }

    /// Counts a record pushed; a sink's failure is kept ([`fatal`](Self::fatal)).
    fn pushed(&mut self, pushed: Result<(), Error>) -> Result<(), JobError> {
        self.records += 1;
        pushed.map_err(|e| self.fatal(e))
    }

    /// Keeps a sink's failure (never a bad record, never skipped) and
    /// returns it as the job's error.
    #[cold]
    fn fatal(&mut self, e: Error) -> JobError {
        let msg = e.to_string();
        self.bufs.fatal = Some(e);
        JobError::msg(msg)
    }

    /// Emits one record from a borrowed key and a borrowed value.
    pub fn emit_ref<Q, W>(&mut self, key: &Q, value: &W) -> Result<(), JobError>
    where
        K: Borrow<Q>,
        V: Borrow<W>,
        Q: Serialize + ?Sized,
        W: Serialize + ?Sized,
    {
        self.bufs.key.clear();
        serde_json::to_writer(&mut self.bufs.key, key)?;
        self.bufs.value.clear();
        serde_json::to_writer(&mut self.bufs.value, value)?;
        let pushed = push(&mut self.target, &self.bufs.key, &self.bufs.value);
        self.pushed(pushed)
    }

    /// Adds `amount` to the job counter `(group, name)`. The engine's own
    /// group ([`crate::counters::FRAMEWORK`], `mr`) is the engine's: a job's
    /// counter there is kept in [`crate::counters::JOB_MR_GROUP`] instead,
    /// so that it never adds to the records read or written the summary and
    /// the report give (a job counting `("mr", "step 0: input records")`
    /// made 5 lines read 7: probe /tmp/probe3-report repro 06).
    pub fn count(&mut self, group: &str, name: &str, amount: i64) {
        let group = if group == crate::counters::FRAMEWORK {
            crate::counters::JOB_MR_GROUP
        } else {
            group
        };
        self.counters.add(group, name, amount);
    }

    /// Sets the task's status, as mrjob's `set_status` does: on Hadoop
    /// Streaming and Spark a line of the task's log and a keep-alive for a
    /// long computation between records; dropped by the local runner. See
    /// [`crate::status`].
    ///
    /// ```
    /// # use mr_core::testing::with_emitter;
    /// let records = with_emitter::<String, u64>(|out| {
    ///     out.set_status("halfway");
    ///     Ok(())
    /// });
    /// assert!(records.is_empty());
    /// ```
    pub fn set_status(&mut self, message: &str) {
        crate::status::set_status(message);
    }

    /// Records emitted through this emitter so far.
    pub fn emitted(&self) -> u64 {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain_by_bytes(s: &[u8]) -> bool {
        s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
    }

    #[test]
    fn a_jobs_counter_never_adds_to_the_engines() {
        let (mut sink, mut counters, mut bufs) = (
            VecSink::default(),
            crate::counters::Counters::default(),
            EmitBuffers::default(),
        );
        let mut out = Emitter::<String, u64>::new(&mut sink, &mut counters, &mut bufs);
        out.count("mr", "step 0: input records", 2);
        out.count("mine", "x", 1);
        assert_eq!(counters.get("mr", "step 0: input records"), 0);
        assert_eq!(counters.get("mr (job)", "step 0: input records"), 2);
        assert_eq!(counters.get("mine", "x"), 1);
    }

    #[test]
    fn plain_strings_are_their_own_json() {
        for s in [
            "",
            "a",
            "word",
            "don't",
            "straße",
            "0123456789abcdef_x",
            "日本語",
        ] {
            assert!(is_plain_json_str(s.as_bytes()), "{s:?}");
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        for s in [
            "\"",
            "a\\b",
            "tab\there",
            "seven\"",
            "eight...\n",
            "0123456789abcde\u{1f}",
        ] {
            assert!(!is_plain_json_str(s.as_bytes()), "{s:?}");
        }
    }

    proptest! {
        /// The word-at-a-time check is the byte-by-byte rule, at every
        /// length and position of the special byte.
        #[test]
        fn plain_check_is_the_byte_rule(
            s in proptest::collection::vec(
                prop_oneof![1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 30 => 0x20u8..=0xff],
                0..40,
            )
        ) {
            prop_assert_eq!(is_plain_json_str(&s), plain_by_bytes(&s));
        }
    }
}
