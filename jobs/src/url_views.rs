//! `url_views`: page views per URL in JSON clicklogs.
//!
//! Each event line that is a JSON object with a string `page_url` counts 1
//! for that exact string. Events without one (missing, `null`, a number, or a
//! line that is JSON but not an object) are counted in the job counter
//! `url_views / events without a string page_url` and otherwise ignored.
//! Lines that are not JSON are bad records (the engine's policy applies).
//! Output: `"url"<TAB>count`. Combiner and reducer sum, as a [`Count`] fold
//! (one counter per URL per map task, see `word_count`).
//!
//! This is the job users time, so it decodes only what it reads: the
//! `page_url` field is borrowed from the line, every other field is skipped
//! without being built. A line is first scanned by
//! [`json_scan`](crate::json_scan), which validates and reads the common
//! shape of log lines (`page_url` a string, escapes anywhere) in one pass;
//! any other line is parsed by serde_json, whose verdict stands (so every
//! malformed line is still an error).

use crate::json_scan::{Scan, Want, refused_a_surrogate, scan_field, scan_fields_python_keys};
use mr_core::emit::JsonBody;
use mr_core::fold::Count;
use mr_core::protocol::DecodeError;
use mr_core::protocol::{MaybeStr, OrInf, is_out_of_range};
use mr_core::{Emitter, FromLine, Job, JobError, Json, Mapper, Step};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Counter group of this job.
pub const COUNTERS: &str = "url_views";
/// Counter of events skipped for lack of a string `page_url`.
pub const NO_PAGE_URL: &str = "events without a string page_url";

/// The job.
pub struct UrlViews;

impl Job for UrlViews {
    fn name(&self) -> &str {
        "url_views"
    }
    fn description(&self) -> &str {
        "Page views per URL (the string page_url of each JSON event)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(PageUrls).fold(Count::new())]
    }
    /// From a Parquet input, only `page_url` is read.
    fn input_columns(&self) -> Option<Vec<String>> {
        Some(vec!["page_url".into()])
    }
    fn counters(&self) -> Vec<mr_core::job::CounterDoc> {
        vec![mr_core::job::CounterDoc::new(
            COUNTERS,
            NO_PAGE_URL,
            "counted and left out",
        )]
    }
}

/// The `page_url` of an event, if it is a JSON object with a string there.
///
/// A URL borrowed from the line is its own JSON string body (it had no
/// escape, and JSON strings hold no raw quote or control byte), so the
/// mapper emits it without looking at its bytes again; the field is private
/// so that no other `PageUrl` can be made.
///
/// ```
/// use mr_jobs::url_views::PageUrl;
/// let p: PageUrl = serde_json::from_str(r#"{"a": {"page_url": 1}, "page_url": "/x"}"#).unwrap();
/// assert_eq!(p.url(), Some("/x"));
/// let p: PageUrl = serde_json::from_str(r#"["/x"]"#).unwrap();
/// assert_eq!(p.url(), None);
/// ```
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageUrl<'a>(Option<Cow<'a, str>>);

impl PageUrl<'_> {
    /// The string page_url, if the event has one.
    pub fn url(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for PageUrl<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor::<false>)
    }
}

/// A [`PageUrl`] whose page_url, a number beyond a float's range (`1e999`,
/// which Python reads as inf), is no string page_url, where serde_json
/// reading it fails ([`OrInf`]). Only for a line [`PageUrl`] failed on so
/// (its errors say where in the line a string fails; this one's, where in
/// the value).
struct OrInfPageUrl<'a>(PageUrl<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for OrInfPageUrl<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor::<true>).map(OrInfPageUrl)
    }
}

/// Reads an event's `page_url`; `OR_INF`: as [`OrInf`].
struct EventVisitor<const OR_INF: bool>;

impl<'de, const OR_INF: bool> Visitor<'de> for EventVisitor<OR_INF> {
    type Value = PageUrl<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut url = None;
        while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
            if key.0.as_deref() == Some("page_url") {
                url = match OR_INF {
                    false => map.next_value::<MaybeStr<'de>>()?.0,
                    true => map.next_value::<OrInf<MaybeStr<'de>>>()?.0.0,
                };
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        // Borrowed by a deserializer other than serde_json, it may not be
        // its own JSON string body: then it is a copy (see PageUrl).
        Ok(PageUrl(match url {
            Some(Cow::Borrowed(s)) if JsonBody::new(s).is_none() => Some(Cow::Owned(s.into())),
            url => url,
        }))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(PageUrl(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(PageUrl(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(PageUrl(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(PageUrl(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(PageUrl(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(PageUrl(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(PageUrl(None))
    }
}

/// A line is read as a [`PageUrl`]: by the fast scan when it can, else
/// parsed as [`Json`] (blank lines skipped, malformed ones an error).
///
/// ```
/// use mr_core::FromLine;
/// use mr_jobs::url_views::PageUrl;
/// let p = PageUrl::from_line(br#"{"page_url": "/x", "n": [1]}"#).unwrap().unwrap();
/// assert_eq!(p.url(), Some("/x"));
/// let p = PageUrl::from_line(r#"{"page_url": "/é"}"#.as_bytes()).unwrap().unwrap();
/// assert_eq!(p.url(), Some("/é"));
/// assert!(PageUrl::from_line(b"  ").unwrap().is_none());
/// assert!(PageUrl::from_line(br#"{"page_url": "/x""#).is_err());
/// ```
impl<'a> FromLine<'a> for PageUrl<'a> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        match scan_field(line, b"page_url") {
            Scan::Object(url) => Ok(Some(PageUrl(url))),
            Scan::Unsure => match <Json<PageUrl<'a>>>::from_line(line) {
                // A number beyond a float's range, which serde_json cannot
                // read: in page_url it is no string page_url, as Python
                // reads it (inf); it failed the run (probe
                // /tmp/probe9-shapes repro 03). Elsewhere it was skipped.
                Err(e) if is_out_of_range(&e.0) => {
                    match serde_json::from_slice::<OrInfPageUrl<'a>>(line) {
                        Ok(OrInfPageUrl(p)) => Ok(Some(p)),
                        Err(_) => Err(e),
                    }
                }
                // A key Python reads and serde_json cannot (a lone
                // surrogate escape): the line is mrjob's to count.
                Err(e) if refused_a_surrogate(&e.0) => {
                    match scan_fields_python_keys(line, &[(b"page_url", Want::Str)]) {
                        Some([url]) => Ok(Some(PageUrl(url.into_str()))),
                        None => Err(e),
                    }
                }
                r => Ok(r?.map(|Json(p)| p)),
            },
        }
    }

    /// Said in the user's words, not the type's (it was "one PageUrl a
    /// line": probe /tmp/probe3-ux repro 10).
    fn format() -> String {
        "JSON lines, one event a line (an object; its string page_url is read)".into()
    }
}

/// The mapper: `(page_url, 1)` for each event that has one.
#[derive(Clone, Copy, Default)]
pub struct PageUrls;

impl Mapper for PageUrls {
    type Input<'a> = PageUrl<'a>;
    type Key = String;
    type Value = u64;

    fn map(&mut self, event: PageUrl<'_>, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        match event.0 {
            // Its own JSON string body (see PageUrl): not checked again,
            // which was 5% of the job's instructions.
            Some(Cow::Borrowed(url)) => out.emit_body(JsonBody::trusted(url), 1),
            Some(url) => out.emit_str(&url, 1),
            None => {
                out.count(COUNTERS, NO_PAGE_URL, 1);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;

    /// A `page_url` that is a number beyond a float's range (valid JSON;
    /// Python reads it as inf) is no string page_url, as any number is; it
    /// failed the run (probe /tmp/probe9-shapes repro 03). A string's
    /// errors are still said where the line has them.
    #[test]
    fn a_page_url_beyond_a_floats_range_is_no_page_url() {
        for line in [r#"{"page_url": 1e999}"#, r#"{"page_url":-1e999, "a": 1}"#] {
            let p = PageUrl::from_line(line.as_bytes()).unwrap().unwrap();
            assert_eq!(p.url(), None, "{line}");
        }
        let p = PageUrl::from_line(br#"{"page_url": 1e999, "page_url": "/x"}"#).unwrap();
        assert_eq!(p.unwrap().url(), Some("/x"));
        let e = PageUrl::from_line(b"{\"n\": 1e999, \"page_url\": \"/b\\udce9\"}").unwrap_err();
        assert!(
            e.0.contains("surrogate in hex escape at line 1 column 34 ("),
            "{e}"
        );
    }

    /// A key with a lone surrogate escape, which Python's `json.dumps`
    /// writes for a file name `os.fsdecode` made of bytes: mrjob's
    /// `json.loads` reads the line, serde_json refused it (the run failed;
    /// nested one level down it was read: probe /tmp/probe-logs repro 01).
    /// In `page_url` itself it is still an error (no Rust string holds it).
    #[test]
    fn a_key_with_a_lone_surrogate_is_read_as_python_reads_it() {
        for line in [
            r#"{"page_url": "/b", "caf\udce9.txt": 3}"#,
            r#"{"caf\udce9.txt": [3], "page_url": null, "page_url": "/b"}"#,
        ] {
            let p = PageUrl::from_line(line.as_bytes()).unwrap().unwrap();
            assert_eq!(p.url(), Some("/b"), "{line}");
        }
        let e = PageUrl::from_line(br#"{"page_url": "/b\udce9"}"#).unwrap_err();
        assert!(e.0.contains("surrogate"), "{e}");
        // Another fault of the line is still its error.
        let e = PageUrl::from_line(br#"{"caf\udce9": 3, "page_url": "/b",}"#).unwrap_err();
        assert!(
            e.0.contains("surrogate") || e.0.contains("trailing comma"),
            "{e}"
        );
    }

    /// The mapper emits a borrowed URL as it is (see [`PageUrl`]): one
    /// that another deserializer borrowed with a quote in it is a copy, and
    /// its key is escaped.
    #[test]
    fn a_url_borrowed_with_a_quote_is_escaped() {
        use serde::de::value::{BorrowedStrDeserializer, Error, MapDeserializer};
        let s = |s| BorrowedStrDeserializer::<Error>::new(s);
        let pairs = [(s("page_url"), s("a\"b")), (s("x"), s("/y"))];
        let p = PageUrl::deserialize(MapDeserializer::new(pairs.into_iter())).unwrap();
        let records = mr_core::testing::with_emitter::<String, u64>(|out| PageUrls.map(p, out));
        assert_eq!(records, vec![(r#""a\"b""#.to_string(), "1".to_string())]);
    }

    #[test]
    fn counts_exact_urls_and_counts_the_rest() {
        let lines = [
            r#"{"page_url": "https://x.org/a", "username": "u1"}"#,
            r#"{"username": "u2", "page_url": "https://x.org/a"}"#,
            r#"{"page_url": "https://x.org/a?b=1"}"#,
            r#"{"page_url": "https://x.org/\u00e9t\u00e9"}"#,
            r#"{"page_url": null}"#,
            r#"{"page_url": 42}"#,
            r#"{"page_url": ["https://x.org/a"]}"#,
            r#"{"nested": {"page_url": "https://x.org/nested"}}"#,
            r#"["https://x.org/a"]"#,
            r#""https://x.org/a""#,
            "",
        ];
        let (out, counters) = run_in_memory(&UrlViews, &lines).unwrap();
        assert_eq!(
            out,
            [
                "\"https://x.org/a\"\t2",
                "\"https://x.org/a?b=1\"\t1",
                "\"https://x.org/été\"\t1",
            ]
        );
        assert_eq!(counters.get(COUNTERS, NO_PAGE_URL), 6);
    }

    #[test]
    fn invalid_json_is_a_bad_record() {
        let err = run_in_memory(&UrlViews, &[r#"{"page_url": "/a""#]).unwrap_err();
        assert!(err.to_string().contains("invalid JSON"), "{err}");
    }

    /// Python's NaN and infinities are read as null by the scan and the
    /// lines counted, as the engine counts the lines it reads so; a line
    /// with other damage still fails.
    #[test]
    fn python_constants_are_null_and_counted() {
        let lines = [
            r#"{"page_url": "/a", "d": NaN}"#,
            r#"{"page_url": NaN, "d": [Infinity, -Infinity]}"#,
            r#"{"page_url": "/a", "d": null}"#,
        ];
        let (out, counters) = run_in_memory(&UrlViews, &lines).unwrap();
        assert_eq!(out, ["\"/a\"\t2"]);
        let read = format!("step 0: {}", mr_core::counters::READ_AS_NULL);
        assert_eq!(counters.get(mr_core::counters::FRAMEWORK, &read), 2);
        assert_eq!(counters.get(COUNTERS, NO_PAGE_URL), 1);
        let e = run_in_memory(&UrlViews, &[r#"{"page_url": "/a", "d": NaN,}"#]).unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let (out, _) = run_in_memory(&UrlViews, &[r#"{"page\u005furl": "/a\"b\\c"}"#]).unwrap();
        assert_eq!(out, [r#""/a\"b\\c"	1"#]);
    }

    /// The combiner and reducer are safe to split, on any counts (sums that
    /// overflow fail with and without combining alike).
    #[test]
    fn laws() {
        use proptest::prelude::*;
        let records = prop::collection::vec(("/[ab]", 0u64..1_000_000), 1..24);
        mr_core::laws::assert_step_laws(&UrlViews.steps()[0], records);
        let max = prop::collection::vec(("/a", Just(u64::MAX)), 1..4);
        mr_core::laws::assert_step_laws(&UrlViews.steps()[0], max);
    }
}
