//! `video_tagging`: per user, each watch of a lecture video, tagged as a first
//! view or a review.
//!
//! # Input
//!
//! A *video event* is a JSON object line with
//! - a string `username`,
//! - an integer `timestamp` in milliseconds (`1.5e12`, `1500000000000.0` or
//!   `"1500000000000"` are not integers),
//! - a string `page_url` whose path ends in `/lecture/view` and whose query
//!   holds `lecture_id=N`, `N` made of ASCII digits only (the first
//!   `lecture_id` counts; other parameters may come before or after it; a
//!   `#fragment` is ignored).
//!
//! Other fields are skipped unread. Any other event (including a line that is
//! JSON but not an object, such as `[1, 2]`) is ignored and counted in the
//! counter group [`COUNTERS`], under the first reason that applies, in this
//! order: [`NOT_AN_OBJECT`], [`NO_PAGE_URL`], [`NOT_A_VIDEO_EVENT`],
//! [`NO_LECTURE_ID`], [`BAD_LECTURE_ID`], [`NO_USERNAME`], [`NO_TIMESTAMP`].
//! A line that is not JSON at all is a bad record (the engine's policy
//! applies: the job fails, or the line is skipped and kept aside).
//!
//! # Watches and tags
//!
//! A lecture is its `lecture_id` alone: the rest of the URL is not read, so
//! `course-001/lecture/view?lecture_id=1` and `course-002/...?lecture_id=1`
//! are one lecture (the job's specification, which its output, holding no
//! course, follows). Logs of courses that number their lectures each from 1
//! are best split by course first (`top_lectures` keys a lecture by its
//! course and id).
//!
//! Per user, video events are ordered by `(timestamp, lecture_id)`. A *watch*
//! is a maximal run of consecutive events of the same lecture in which each
//! event comes at most [`WATCH_GAP_MS`] (30 minutes, inclusive) after the
//! previous one. Each watch is tagged
//! - `first_view`: the user has no earlier watch of this lecture;
//! - `immediate_review`: the user's previous watch was of this same lecture;
//! - `later_review`: the user watched it before, but other lectures since.
//!
//! # Output
//!
//! One line per watch, in time order within a user:
//! `"username"<TAB>{"lecture_id":N,"start":ms,"end":ms,"events":n,"tag":"..."}`
//! (a [`Watch`]).
//!
//! ```
//! use mr_jobs::video_tagging::VideoTagging;
//! let ev = |ts: i64, id: u32| format!(
//!     r#"{{"username": "ann", "timestamp": {ts}, "page_url": "/c/lecture/view?lecture_id={id}"}}"#);
//! let input = [
//!     ev(0, 1),
//!     ev(1_800_000, 1), // exactly 30 minutes later: the same watch
//!     ev(3_600_001, 1), // 30 minutes and 1 ms later: a new watch of the same lecture
//!     ev(3_700_000, 2),
//!     ev(3_800_000, 1), // lecture 1 again, after lecture 2
//! ];
//! let (lines, _) = mr_core::testing::run_in_memory(&VideoTagging, &input).unwrap();
//! let ann = |watch: &str| format!("\"ann\"\t{watch}");
//! assert_eq!(lines, [
//!     ann(r#"{"lecture_id":1,"start":0,"end":1800000,"events":2,"tag":"first_view"}"#),
//!     ann(r#"{"lecture_id":1,"start":3600001,"end":3600001,"events":1,"tag":"immediate_review"}"#),
//!     ann(r#"{"lecture_id":2,"start":3700000,"end":3700000,"events":1,"tag":"first_view"}"#),
//!     ann(r#"{"lecture_id":1,"start":3800000,"end":3800000,"events":1,"tag":"later_review"}"#),
//! ]);
//! ```
//!
//! # How
//!
//! One step with a secondary sort: the mapper reads the three fields in one
//! pass of [`json_scan`](crate::json_scan) (serde_json decides any line
//! outside its subset), emits `username -> [timestamp,
//! lecture_id]`, the engine delivers each user's values sorted, and the
//! reducer walks them as a stream, holding only the current watch and the set
//! of lectures the user has watched (never the user's events).

use crate::json_scan::{Field, Want, refused_a_surrogate, scan_fields, scan_fields_python_keys};
use mr_core::protocol::{DecodeError, MaybeInt, MaybeStr, OrInf, is_out_of_range};
use mr_core::{Emitter, FromLine, Job, JobError, Json, Mapper, Reducer, Step, Values};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// The longest gap between two events of one watch: 30 minutes, in ms.
pub const WATCH_GAP_MS: i64 = 30 * 60 * 1000;

/// Counter group of this job.
pub const COUNTERS: &str = "video_tagging";
/// Counter of lines that are JSON but not an object.
pub const NOT_AN_OBJECT: &str = "events that are not a JSON object";
/// Counter of events without a string `page_url`.
pub const NO_PAGE_URL: &str = "events without a string page_url";
/// Counter of events whose `page_url` path does not end in `/lecture/view`.
pub const NOT_A_VIDEO_EVENT: &str = "events that are not a lecture view";
/// Counter of lecture views without a `lecture_id` query parameter.
pub const NO_LECTURE_ID: &str = "lecture views without lecture_id";
/// Counter of lecture views whose `lecture_id` is not a non-negative integer.
pub const BAD_LECTURE_ID: &str = "lecture views with a bad lecture_id";
/// Counter of lecture views without a string `username`.
pub const NO_USERNAME: &str = "lecture views without a string username";
/// Counter of lecture views without an integer `timestamp`.
pub const NO_TIMESTAMP: &str = "lecture views without an integer timestamp";
/// Counter of the video events the job uses.
pub const VIDEO_EVENTS: &str = "video events";

/// The job.
pub struct VideoTagging;

impl Job for VideoTagging {
    fn name(&self) -> &str {
        "video_tagging"
    }
    fn description(&self) -> &str {
        "Per user, each lecture-video watch tagged first_view, immediate_review or later_review. \
         A lecture is its lecture_id alone, whatever the course in its URL."
    }
    /// From a Parquet input, only the three fields the mapper reads.
    fn input_columns(&self) -> Option<Vec<String>> {
        Some(
            ["username", "timestamp", "page_url"]
                .map(String::from)
                .to_vec(),
        )
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(VideoMapper)
                .sort_values()
                .reduce(TagWatches::default()),
        ]
    }
    fn counters(&self) -> Vec<mr_core::job::CounterDoc> {
        let doc = |name, help| mr_core::job::CounterDoc::new(COUNTERS, name, help);
        let mut c = vec![doc(
            VIDEO_EVENTS,
            "lecture views read (the job's input records)",
        )];
        for skipped in [
            NOT_AN_OBJECT,
            NO_PAGE_URL,
            NOT_A_VIDEO_EVENT,
            NO_LECTURE_ID,
            BAD_LECTURE_ID,
            NO_USERNAME,
            NO_TIMESTAMP,
        ] {
            c.push(doc(skipped, "counted and left out"));
        }
        for tag in ["first_view", "immediate_review", "later_review"] {
            c.push(doc(tag, "watches given this tag"));
        }
        c
    }
}

/// The fields of an event line that the job reads, borrowed from the line
/// where they need no unescaping. It decodes any JSON value: one that is not
/// an object (an array is never read positionally) decodes as a non-object.
///
/// ```
/// use mr_jobs::video_tagging::Event;
/// let e: Event = serde_json::from_str(r#"{"username": "ann", "x": [1], "timestamp": 5}"#).unwrap();
/// assert!(e.is_object());
/// let e: Event = serde_json::from_str(r#"["ann", 5, "/lecture/view?lecture_id=1"]"#).unwrap();
/// assert!(!e.is_object());
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    is_object: bool,
    username: MaybeStr<'a>,
    timestamp: MaybeInt,
    page_url: MaybeStr<'a>,
}

/// Why an event is not a video event: the name of its counter.
type Skip = &'static str;

/// A video event, as the mapper emits it.
struct VideoEvent<'e> {
    username: &'e str,
    timestamp: i64,
    lecture_id: u64,
}

impl Event<'_> {
    /// The `page_url`, when it is a string.
    pub fn page_url(&self) -> Option<&str> {
        self.page_url.0.as_deref()
    }

    /// True when the line was a JSON object.
    pub fn is_object(&self) -> bool {
        self.is_object
    }

    /// The video event this is, or the counter that says why it is not one.
    fn video_event(&self) -> Result<VideoEvent<'_>, Skip> {
        if !self.is_object {
            return Err(NOT_AN_OBJECT);
        }
        let url = self.page_url.0.as_deref().ok_or(NO_PAGE_URL)?;
        let lecture_id = lecture_id(url)?;
        let username = self.username.0.as_deref().ok_or(NO_USERNAME)?;
        let timestamp = self.timestamp.0.ok_or(NO_TIMESTAMP)?;
        Ok(VideoEvent {
            username,
            timestamp,
            lecture_id,
        })
    }
}

/// The lecture a URL views, or why it views none: its path (before `?` and
/// `#`) must end in `/lecture/view`, and the first `lecture_id` parameter of
/// its query must be ASCII digits that fit a `u64`.
///
/// ```
/// use mr_jobs::video_tagging::lecture_id;
/// assert_eq!(lecture_id("https://x.org/c1/lecture/view?a=1&lecture_id=07#t"), Ok(7));
/// assert!(lecture_id("https://x.org/c1/lecture/view?lecture_id=abc").is_err());
/// ```
pub fn lecture_id(url: &str) -> Result<u64, &'static str> {
    // On bytes, by memchr: every event's URL is looked at (str's
    // `split_once(char)` searched a byte at a time: 4% of the job's CPU).
    let url = url.as_bytes();
    let url = &url[..memchr::memchr(b'#', url).unwrap_or(url.len())];
    let (path, query) = split_at_byte(url, b'?').unwrap_or((url, b""));
    if !path.ends_with(b"/lecture/view") {
        return Err(NOT_A_VIDEO_EVENT);
    }
    let value = query
        .split(|&c| c == b'&')
        .find_map(|param| {
            let (name, value) = split_at_byte(param, b'=').unwrap_or((param, b""));
            (name == b"lecture_id").then_some(value)
        })
        .ok_or(NO_LECTURE_ID)?;
    // `u64::from_str` alone would accept a leading `+`.
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(BAD_LECTURE_ID);
    }
    // ASCII digits: the overflow is the only error left.
    value
        .iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(BAD_LECTURE_ID)
}

/// `b` before and after its first `sep`, if it has one.
fn split_at_byte(b: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    memchr::memchr(sep, b).map(|i| (&b[..i], &b[i + 1..]))
}

impl<'de: 'a, 'a> Deserialize<'de> for Event<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor::<false>)
    }
}

/// An [`Event`] whose fields, numbers beyond a float's range (`1e999`,
/// which Python reads as inf), are no string and no integer, where serde_json
/// reading them fails ([`OrInf`]). Only for a line [`Event`] failed on so
/// (its errors say where in the line a field fails; this one's, where in
/// the value).
struct OrInfEvent<'a>(Event<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for OrInfEvent<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor::<true>).map(OrInfEvent)
    }
}

/// Reads an event's three fields; `OR_INF`: each as [`OrInf`].
struct EventVisitor<const OR_INF: bool>;

/// The next value of `map` as `T`, as [`OrInf`] when `OR_INF`.
fn next_field<'de, T, A, const OR_INF: bool>(map: &mut A) -> Result<T, A::Error>
where
    T: Deserialize<'de> + Default,
    A: MapAccess<'de>,
{
    match OR_INF {
        false => map.next_value(),
        true => map.next_value::<OrInf<T>>().map(|v| v.0),
    }
}

impl<'de, const OR_INF: bool> Visitor<'de> for EventVisitor<OR_INF> {
    type Value = Event<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut e = Event {
            is_object: true,
            ..Event::default()
        };
        // A repeated field: the last one wins (as in Python's json).
        while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
            match key.0.as_deref() {
                Some("username") => e.username = next_field::<_, _, OR_INF>(&mut map)?,
                Some("timestamp") => e.timestamp = next_field::<_, _, OR_INF>(&mut map)?,
                Some("page_url") => e.page_url = next_field::<_, _, OR_INF>(&mut map)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(e)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Event::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Event::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Event::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Event::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Event::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Event::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Event::default())
    }
}

/// The fields the job reads, as [`json_scan`](crate::json_scan) wants them.
const EVENT_FIELDS: [(&[u8], Want); 3] = [
    (b"username", Want::Str),
    (b"timestamp", Want::Int),
    (b"page_url", Want::Str),
];

/// A line is read as an [`Event`] by the fast scan when it can (the three
/// fields in one pass, the others skipped unbuilt), else parsed as
/// [`Json`] (blank lines skipped, malformed ones an error): the same event
/// either way.
///
/// ```
/// use mr_core::FromLine;
/// use mr_jobs::video_tagging::Event;
/// let line = br#"{"username": "ann", "timestamp": 1, "page_url": "/c/lecture/view?lecture_id=1"}"#;
/// let fast = Event::from_line(line).unwrap().unwrap();
/// assert_eq!(Some(fast), serde_json::from_slice(line).ok());
/// let float = br#"{"username": "ann", "timestamp": 1.5e12}"#; // serde_json's to read
/// assert_eq!(Event::from_line(float).unwrap(), serde_json::from_slice(float).ok());
/// assert!(Event::from_line(b"  ").unwrap().is_none());
/// assert!(Event::from_line(br#"{"username": "ann""#).is_err());
/// ```
impl<'a> FromLine<'a> for Event<'a> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        let event = |[username, timestamp, page_url]: [Field<'a>; 3]| Event {
            is_object: true,
            username: MaybeStr(username.into_str()),
            timestamp: MaybeInt(timestamp.int()),
            page_url: MaybeStr(page_url.into_str()),
        };
        match scan_fields(line, &EVENT_FIELDS) {
            Some(fields) => Ok(Some(event(fields))),
            None => match <Json<Event<'a>>>::from_line(line) {
                // A number beyond a float's range, which serde_json cannot
                // read, in a field the job reads: no string and no integer,
                // as Python reads it (inf); it failed the run (as in
                // url_views: probe /tmp/probe9-shapes repro 03).
                Err(e) if is_out_of_range(&e.0) => {
                    match serde_json::from_slice::<OrInfEvent<'a>>(line) {
                        Ok(OrInfEvent(event)) => Ok(Some(event)),
                        Err(_) => Err(e),
                    }
                }
                // A key Python reads and serde_json cannot (a lone
                // surrogate escape): the line is mrjob's to read.
                Err(e) if refused_a_surrogate(&e.0) => {
                    match scan_fields_python_keys(line, &EVENT_FIELDS) {
                        Some(fields) => Ok(Some(event(fields))),
                        None => Err(e),
                    }
                }
                r => Ok(r?.map(|Json(e)| e)),
            },
        }
    }

    fn format() -> String {
        "JSON lines, one event a line (an object; its username, timestamp and page_url are read)"
            .into()
    }
}

/// The mapper: emits `username -> (timestamp, lecture_id)` for each video
/// event and counts the rest.
#[derive(Debug, Clone, Copy, Default)]
pub struct VideoMapper;

impl Mapper for VideoMapper {
    type Input<'a> = Event<'a>;
    type Key = String;
    type Value = (i64, u64);

    fn map(
        &mut self,
        event: Event<'_>,
        out: &mut Emitter<String, (i64, u64)>,
    ) -> Result<(), JobError> {
        match event.video_event() {
            Ok(v) => {
                out.count(COUNTERS, VIDEO_EVENTS, 1);
                out.emit(v.username, (v.timestamp, v.lecture_id))
            }
            Err(skip) => {
                out.count(COUNTERS, skip, 1);
                Ok(())
            }
        }
    }
}

/// How a watch relates to the user's earlier watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    /// The user has no earlier watch of this lecture.
    FirstView,
    /// The user's previous watch was of this same lecture.
    ImmediateReview,
    /// The user watched this lecture before, but other lectures since.
    LaterReview,
}

impl Tag {
    /// The tag as written in the output (and as its counter's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::FirstView => "first_view",
            Tag::ImmediateReview => "immediate_review",
            Tag::LaterReview => "later_review",
        }
    }
}

/// One watch: the job's output value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// The lecture watched.
    pub lecture_id: u64,
    /// The timestamp of its first event (ms).
    pub start: i64,
    /// The timestamp of its last event (ms).
    pub end: i64,
    /// How many video events it spans.
    pub events: u64,
    /// How it relates to the user's earlier watches.
    pub tag: Tag,
}

/// The reducer: walks a user's video events in `(timestamp, lecture_id)`
/// order (the step sorts values) and emits each watch when it ends.
#[derive(Debug, Clone, Default)]
pub struct TagWatches {
    /// Lectures the current user has watched; reused between users.
    seen: HashSet<u64>,
}

impl TagWatches {
    fn emit(user: &str, watch: Watch, out: &mut Emitter<String, Watch>) -> Result<(), JobError> {
        out.count(COUNTERS, watch.tag.as_str(), 1);
        out.emit(user, watch)
    }
}

impl Reducer for TagWatches {
    type Key = String;
    type Value = (i64, u64);
    type OutKey = String;
    type OutValue = Watch;

    fn reduce(
        &mut self,
        user: String,
        events: Values<'_, (i64, u64)>,
        out: &mut Emitter<String, Watch>,
    ) -> Result<(), JobError> {
        self.seen.clear();
        let mut current: Option<Watch> = None;
        let mut last: Option<(i64, u64)> = None;
        for (ts, lecture) in events {
            if last.is_some_and(|l| (ts, lecture) < l) {
                return Err(JobError::msg(format!(
                    "video events of {user:?} arrive out of order ({ts}, {lecture}) after {last:?}: \
                     the step must sort values"
                )));
            }
            last = Some((ts, lecture));
            if let Some(w) = current.as_mut() {
                // Saturating: `end + gap` beyond i64 means any later `ts` is within it.
                if w.lecture_id == lecture && ts <= w.end.saturating_add(WATCH_GAP_MS) {
                    w.end = ts;
                    w.events += 1;
                    continue;
                }
            }
            let tag = if self.seen.insert(lecture) {
                Tag::FirstView
            } else if current.as_ref().is_some_and(|w| w.lecture_id == lecture) {
                Tag::ImmediateReview
            } else {
                Tag::LaterReview
            };
            let next = Watch {
                lecture_id: lecture,
                start: ts,
                end: ts,
                events: 1,
                tag,
            };
            if let Some(done) = current.replace(next) {
                Self::emit(&user, done, out)?;
            }
        }
        if let Some(done) = current {
            Self::emit(&user, done, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;
    use mr_core::{Counters, RunConfig};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A key with a lone surrogate escape is read as Python reads it, as
    /// url_views reads it (see its test).
    #[test]
    fn a_key_with_a_lone_surrogate_is_read_as_python_reads_it() {
        let line = br#"{"username": "ann", "caf\udce9": 1, "timestamp": 5, "page_url": "/v"}"#;
        let e = Event::from_line(line).unwrap().unwrap();
        assert_eq!(e.username.0.as_deref(), Some("ann"));
        assert_eq!(e.timestamp.0, Some(5));
        assert_eq!(e.page_url.0.as_deref(), Some("/v"));
    }

    /// A number beyond a float's range (valid JSON; Python reads inf) in a
    /// field the job reads is no string and no integer, as any number or
    /// float there is; it failed the run (stop 58's note). The other fields
    /// of the line are still read, and a malformed line still fails.
    #[test]
    fn a_field_beyond_a_floats_range_is_no_string_and_no_integer() {
        let url = "/c/lecture/view?lecture_id=1";
        for (field, inf) in [
            ("username", "1e999"),
            ("timestamp", "-1e999"),
            ("page_url", "1E400"),
        ] {
            // Each field's JSON value, `inf` in place of this one's.
            let value = |f: &str, v: &str| {
                if f == field {
                    inf.to_string()
                } else {
                    v.to_string()
                }
            };
            let line = format!(
                r#"{{"username": {}, "timestamp": {}, "page_url": {}}}"#,
                value("username", r#""ann""#),
                value("timestamp", "5"),
                value("page_url", &format!(r#""{url}""#)),
            );
            let e = Event::from_line(line.as_bytes()).unwrap().unwrap();
            let kept = |f: &str| f != field;
            assert_eq!(
                e.username.0.as_deref(),
                kept("username").then_some("ann"),
                "{line}"
            );
            assert_eq!(e.timestamp.0, kept("timestamp").then_some(5), "{line}");
            assert_eq!(
                e.page_url.0.as_deref(),
                kept("page_url").then_some(url),
                "{line}"
            );
        }
        let (out, counters) = run(&[
            r#"{"username": "ann", "timestamp": 1e999, "page_url": "/c/lecture/view?lecture_id=1"}"#.into(),
            view("bob", 0, 1),
        ]);
        assert_eq!(out, [watch("bob", 1, 0, 0, 1, "first_view")]);
        assert_eq!(counters.get(COUNTERS, NO_TIMESTAMP), 1);
        assert_eq!(counters.get(COUNTERS, VIDEO_EVENTS), 1);
        let bad = br#"{"timestamp": 1e999, "username": "a\x"}"#;
        assert!(Event::from_line(bad).is_err());
    }

    const MIN: i64 = 60_000;

    /// An event line with a lecture-view URL.
    fn view(user: &str, ts: i64, lecture: u64) -> String {
        serde_json::json!({
            "username": user,
            "timestamp": ts,
            "page_url": format!("https://example.org/learn/ml/lecture/view?lecture_id={lecture}"),
            "session": "s1",
        })
        .to_string()
    }

    /// An expected output line.
    fn watch(user: &str, lecture: u64, start: i64, end: i64, events: u64, tag: &str) -> String {
        format!(
            "\"{user}\"\t{{\"lecture_id\":{lecture},\"start\":{start},\"end\":{end},\"events\":{events},\"tag\":\"{tag}\"}}"
        )
    }

    fn run(lines: &[String]) -> (Vec<String>, Counters) {
        run_in_memory(&VideoTagging, lines).unwrap()
    }

    #[test]
    fn output_line_format() {
        let (out, counters) = run(&[view("ann", 5, 7)]);
        assert_eq!(
            out,
            [
                "\"ann\"\t{\"lecture_id\":7,\"start\":5,\"end\":5,\"events\":1,\"tag\":\"first_view\"}"
            ]
        );
        assert_eq!(counters.get(COUNTERS, VIDEO_EVENTS), 1);
        assert_eq!(counters.get(COUNTERS, "first_view"), 1);
    }

    #[test]
    fn a_gap_of_exactly_30_minutes_continues_the_watch() {
        let lines = [
            view("ann", 0, 1),
            view("ann", 30 * MIN, 1),
            view("ann", 60 * MIN, 1),
        ];
        assert_eq!(
            run(&lines).0,
            [watch("ann", 1, 0, 60 * MIN, 3, "first_view")]
        );
    }

    #[test]
    fn a_gap_of_30_minutes_and_1_ms_starts_an_immediate_review() {
        let lines = [
            view("ann", 0, 1),
            view("ann", 30 * MIN, 1),
            view("ann", 60 * MIN + 1, 1),
            view("ann", 90 * MIN + 2, 1),
        ];
        assert_eq!(
            run(&lines).0,
            [
                watch("ann", 1, 0, 30 * MIN, 2, "first_view"),
                watch("ann", 1, 60 * MIN + 1, 60 * MIN + 1, 1, "immediate_review"),
                watch("ann", 1, 90 * MIN + 2, 90 * MIN + 2, 1, "immediate_review"),
            ]
        );
    }

    #[test]
    fn input_order_does_not_matter() {
        let lines = [
            view("ann", 60 * MIN + 1, 1),
            view("ann", 30 * MIN, 1),
            view("ann", 0, 1),
        ];
        assert_eq!(
            run(&lines).0,
            [
                watch("ann", 1, 0, 30 * MIN, 2, "first_view"),
                watch("ann", 1, 60 * MIN + 1, 60 * MIN + 1, 1, "immediate_review"),
            ]
        );
    }

    #[test]
    fn equal_timestamps_are_ordered_by_lecture_id() {
        // At t=100 lectures 2 and 1: lecture 1 comes first, so lecture 2
        // splits lecture 1's events into two watches.
        let lines = [
            view("ann", 100, 2),
            view("ann", 100, 1),
            view("ann", 100, 1), // a duplicate: same watch
            view("ann", 200, 1),
            view("ann", 200, 10), // 10 > 2 numerically, though "10" < "2" as text
        ];
        assert_eq!(
            run(&lines).0,
            [
                watch("ann", 1, 100, 100, 2, "first_view"),
                watch("ann", 2, 100, 100, 1, "first_view"),
                watch("ann", 1, 200, 200, 1, "later_review"),
                watch("ann", 10, 200, 200, 1, "first_view"),
            ]
        );
    }

    #[test]
    fn interleaved_lectures_give_later_reviews() {
        let lines = [
            view("ann", 0, 1),
            view("ann", MIN, 2),
            view("ann", 2 * MIN, 1),
            view("ann", 3 * MIN, 1),
            view("ann", 4 * MIN, 3),
            view("ann", 5 * MIN, 2),
            view("ann", 6 * MIN, 2),
            view("ann", 40 * MIN, 2),
        ];
        assert_eq!(
            run(&lines).0,
            [
                watch("ann", 1, 0, 0, 1, "first_view"),
                watch("ann", 2, MIN, MIN, 1, "first_view"),
                watch("ann", 1, 2 * MIN, 3 * MIN, 2, "later_review"),
                watch("ann", 3, 4 * MIN, 4 * MIN, 1, "first_view"),
                watch("ann", 2, 5 * MIN, 6 * MIN, 2, "later_review"),
                watch("ann", 2, 40 * MIN, 40 * MIN, 1, "immediate_review"),
            ]
        );
    }

    #[test]
    fn users_are_independent() {
        // bob's lecture 1 does not make ann's a review, and bob's events
        // between ann's do not split her watch.
        let lines = [
            view("bob", 0, 1),
            view("ann", 0, 1),
            view("bob", MIN, 2),
            view("ann", 2 * MIN, 1),
            view("bob", 3 * MIN, 1),
            view("\u{e9}ve \"q\"", -5, 1),
        ];
        let (out, counters) = run(&lines);
        assert_eq!(
            out,
            [
                watch("ann", 1, 0, 2 * MIN, 2, "first_view"),
                watch("bob", 1, 0, 0, 1, "first_view"),
                watch("bob", 2, MIN, MIN, 1, "first_view"),
                watch("bob", 1, 3 * MIN, 3 * MIN, 1, "later_review"),
                format!(
                    "{}\t{}",
                    r#""éve \"q\"""#,
                    r#"{"lecture_id":1,"start":-5,"end":-5,"events":1,"tag":"first_view"}"#
                ),
            ]
        );
        assert_eq!(counters.get(COUNTERS, "first_view"), 4);
        assert_eq!(counters.get(COUNTERS, "later_review"), 1);
        assert_eq!(counters.get(COUNTERS, "immediate_review"), 0);
    }

    #[test]
    fn urls_that_view_a_lecture() {
        assert_eq!(lecture_id("/lecture/view?lecture_id=3"), Ok(3));
        assert_eq!(lecture_id("/c/lecture/view?a=1&lecture_id=3&b=2"), Ok(3));
        assert_eq!(
            lecture_id("/c/lecture/view?a=lecture_id=4&lecture_id=3"),
            Ok(3)
        );
        assert_eq!(
            lecture_id("/c/lecture/view?lecture_id=3#t=lecture_id=9"),
            Ok(3)
        );
        assert_eq!(lecture_id("/c/lecture/view?lecture_id=007"), Ok(7));
        assert_eq!(
            lecture_id("/c/lecture/view?lecture_id=1&lecture_id=2"),
            Ok(1)
        );
        assert_eq!(
            lecture_id("/c/lecture/view?lecture_id=18446744073709551615"),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn urls_that_do_not() {
        let cases = [
            ("/c/lecture/download?lecture_id=3", NOT_A_VIDEO_EVENT),
            ("/c/lecture/view/?lecture_id=3", NOT_A_VIDEO_EVENT),
            ("/c/lecture/viewer?lecture_id=3", NOT_A_VIDEO_EVENT),
            ("/c/lecture/view#x?lecture_id=3", NO_LECTURE_ID),
            ("/c/lecture/view?x=1", NO_LECTURE_ID),
            ("/c/lecture/view", NO_LECTURE_ID),
            ("/c/lecture/view?my_lecture_id=3", NO_LECTURE_ID),
            ("/c/lecture/view?lecture_id=abc", BAD_LECTURE_ID),
            ("/c/lecture/view?lecture_id=-3", BAD_LECTURE_ID),
            ("/c/lecture/view?lecture_id=+3", BAD_LECTURE_ID),
            ("/c/lecture/view?lecture_id=1.5", BAD_LECTURE_ID),
            ("/c/lecture/view?lecture_id=", BAD_LECTURE_ID),
            ("/c/lecture/view?lecture_id", BAD_LECTURE_ID),
            ("/c/lecture/view?lecture_id=%33", BAD_LECTURE_ID),
            (
                "/c/lecture/view?lecture_id=18446744073709551616",
                BAD_LECTURE_ID,
            ),
        ];
        for (url, why) in cases {
            assert_eq!(lecture_id(url), Err(why), "{url}");
        }
    }

    #[test]
    fn other_events_are_counted_and_ignored() {
        let lines: Vec<String> = [
            r#"{"timestamp": 1, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": null, "timestamp": 1, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": 5, "timestamp": 1, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": null}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": 17}"#,
            r#"{"username": "ann", "timestamp": 1}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": "/lecture/view?lecture_id=abc"}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": "/lecture/view?lecture_id=-3"}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": "/lecture/view?lecture_id=1.5"}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": "/lecture/view?lang=en"}"#,
            r#"{"username": "ann", "timestamp": 1, "page_url": "/lecture/download?lecture_id=3"}"#,
            r#"{"username": "ann", "timestamp": 1.5e12, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": "ann", "timestamp": 1000.0, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": "ann", "timestamp": "1000", "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": "ann", "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"{"username": "ann", "timestamp": 99999999999999999999, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"["ann", 1000, "/lecture/view?lecture_id=1"]"#,
            r#"{"username": "ann", "timestamp": 1000, "page_url": "/lecture/view?lecture_id=1"}"#,
            r#"3"#,
            r#""ann""#,
            r#"null"#,
            r#"  "#,
            r#"{"username": "ann", "timestamp": 2000, "page_url": "/lecture/view?lang=en&lecture_id=1#t=3", "extra": {"username": 1}}"#,
        ]
        .map(String::from)
        .to_vec();
        // The fast scan reads each line as serde_json does (or leaves it).
        for line in &lines {
            let parsed = serde_json::from_str::<Event>(line).ok();
            let read = Event::from_line(line.as_bytes()).unwrap();
            if line.trim().is_empty() {
                assert_eq!(read, None);
            } else {
                assert_eq!(read, parsed, "{line}");
            }
        }
        let (out, counters) = run(&lines);
        assert_eq!(out, [watch("ann", 1, 1000, 2000, 2, "first_view")]);
        let count = |name| counters.get(COUNTERS, name);
        assert_eq!(count(NO_USERNAME), 3);
        assert_eq!(count(NO_PAGE_URL), 3);
        assert_eq!(count(BAD_LECTURE_ID), 3);
        assert_eq!(count(NO_LECTURE_ID), 1);
        assert_eq!(count(NOT_A_VIDEO_EVENT), 1);
        assert_eq!(count(NO_TIMESTAMP), 5);
        assert_eq!(count(NOT_AN_OBJECT), 4);
        assert_eq!(count(VIDEO_EVENTS), 2);
    }

    #[test]
    fn a_line_that_is_not_json_is_a_bad_record() {
        let lines = [view("ann", 0, 1), "{\"username\": \"ann\", ".to_string()];
        assert!(run_in_memory(&VideoTagging, &lines).is_err());
        let lines = [view("ann", 0, 1), "not json".to_string()];
        assert!(run_in_memory(&VideoTagging, &lines).is_err());
    }

    #[test]
    fn fields_are_borrowed_from_the_line_when_unescaped() {
        let line = r#"{"username": "ann", "page_url": "/a\/lecture/view"}"#;
        let e: Event = serde_json::from_str(line).unwrap();
        assert!(matches!(
            e.username.0,
            Some(std::borrow::Cow::Borrowed("ann"))
        ));
        assert!(matches!(e.page_url.0, Some(std::borrow::Cow::Owned(_))));
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let lines = [
            view("ann", i64::MIN, 1),
            view("ann", i64::MAX - 1, 1),
            view("ann", i64::MAX, 1),
        ];
        assert_eq!(
            run(&lines).0,
            [
                watch("ann", 1, i64::MIN, i64::MIN, 1, "first_view"),
                watch("ann", 1, i64::MAX - 1, i64::MAX, 2, "immediate_review"),
            ]
        );
    }

    // --- Property: the job against a plain implementation of the rules. ---

    #[derive(Debug, Clone)]
    enum Line {
        View {
            user: usize,
            ts: i64,
            lecture: u64,
            style: usize,
        },
        Other {
            user: usize,
            ts: i64,
        },
    }

    const USERS: [&str; 3] = ["ann", "bob", "c\u{e9}"];

    fn url(lecture: u64, style: usize) -> String {
        match style {
            0 => format!("/learn/ml/lecture/view?lecture_id={lecture}"),
            1 => format!("https://example.org/c/lecture/view?lang=en&lecture_id={lecture}&t=1"),
            _ => format!("/lecture/view?lecture_id={lecture}#frag"),
        }
    }

    fn render(line: &Line) -> String {
        match line {
            Line::View {
                user,
                ts,
                lecture,
                style,
            } => serde_json::json!({
                "page_url": url(*lecture, *style),
                "timestamp": ts,
                "username": USERS[*user],
            })
            .to_string(),
            Line::Other { user, ts } => serde_json::json!({
                "username": USERS[*user],
                "timestamp": ts,
                "page_url": "/learn/ml/lecture/download?lecture_id=1",
            })
            .to_string(),
        }
    }

    fn timestamp() -> impl Strategy<Value = i64> {
        prop_oneof![
            // Gaps near 0 and near multiples of 30 minutes, both sides.
            8 => (-1i64..4, -2i64..3).prop_map(|(k, d)| k * WATCH_GAP_MS + d),
            2 => -10i64..10,
            1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(i64::MAX - WATCH_GAP_MS)],
        ]
    }

    fn line() -> impl Strategy<Value = Line> {
        prop_oneof![
            9 => (0..USERS.len(), timestamp(), 0u64..4, 0usize..3).prop_map(
                |(user, ts, lecture, style)| Line::View { user, ts, lecture, style }
            ),
            1 => (0..USERS.len(), timestamp()).prop_map(|(user, ts)| Line::Other { user, ts }),
        ]
    }

    /// The rules, applied the plain way: collect, sort, cut into watches,
    /// then tag each watch by looking back over the earlier ones.
    fn oracle(lines: &[Line]) -> Vec<String> {
        let mut by_user: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
        for l in lines {
            if let Line::View {
                user, ts, lecture, ..
            } = l
            {
                let key = serde_json::to_string(USERS[*user]).unwrap();
                by_user.entry(key).or_default().push((*ts, *lecture));
            }
        }
        let mut out = Vec::new();
        for (key, mut events) in by_user {
            events.sort();
            // (lecture, start, end, events)
            let mut watches: Vec<(u64, i64, i64, u64)> = Vec::new();
            for (ts, lecture) in events {
                match watches.last_mut() {
                    Some(w) if w.0 == lecture && i128::from(ts) - i128::from(w.2) <= 1_800_000 => {
                        w.2 = ts;
                        w.3 += 1;
                    }
                    _ => watches.push((lecture, ts, ts, 1)),
                }
            }
            for (i, w) in watches.iter().enumerate() {
                let tag = if !watches[..i].iter().any(|p| p.0 == w.0) {
                    "first_view"
                } else if watches[i - 1].0 == w.0 {
                    "immediate_review"
                } else {
                    "later_review"
                };
                out.push(format!(
                    "{key}\t{{\"lecture_id\":{},\"start\":{},\"end\":{},\"events\":{},\"tag\":\"{tag}\"}}",
                    w.0, w.1, w.2, w.3
                ));
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn matches_the_plain_rules(lines in prop::collection::vec(line(), 0..60)) {
            let input: Vec<String> = lines.iter().map(render).collect();
            let (out, counters) = run_in_memory(&VideoTagging, &input).unwrap();
            prop_assert_eq!(&out, &oracle(&lines));
            let views = lines.iter().filter(|l| matches!(l, Line::View { .. })).count();
            prop_assert_eq!(counters.get(COUNTERS, VIDEO_EVENTS), views as i64);
            prop_assert_eq!(
                counters.get(COUNTERS, NOT_A_VIDEO_EVENT),
                (lines.len() - views) as i64
            );
        }
    }

    // --- The full engine: secondary sort across spills, partitions, merges. ---

    /// A deterministic pseudo-random log: many users, few lectures, gaps
    /// around 30 minutes, duplicate timestamps, a few non-video events.
    fn big_log(n: usize) -> Vec<String> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % m
        };
        (0..n)
            .map(|_| {
                let user = format!("user{}", next(17));
                let ts = next(400) as i64 * (WATCH_GAP_MS / 4) + next(3) as i64 - 1;
                let lecture = next(6);
                if next(10) == 0 {
                    format!(r#"{{"username": "{user}", "timestamp": {ts}, "page_url": "/home"}}"#)
                } else {
                    view(&user, ts, lecture)
                }
            })
            .collect()
    }

    /// Runs the job through the local runner on `lines`, with a tiny sort
    /// buffer and many splits; returns stdout's lines and the report.
    fn run_engine(
        lines: &[String],
        cfg: RunConfig,
    ) -> (Vec<String>, mr_core::JobReport, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let cfg = RunConfig {
            inputs: vec![path.display().to_string()],
            tmp_dir: Some(dir.path().join("tmp")),
            ..cfg
        };
        let mut stdout = Vec::new();
        let report = mr_core::run_job(&VideoTagging, &cfg, &mut stdout).unwrap();
        let out = String::from_utf8(stdout).unwrap();
        let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(leftovers, 0, "temp files left behind");
        (out.lines().map(String::from).collect(), report, dir)
    }

    #[test]
    fn the_engine_sorts_values_across_spills() {
        let mut input = big_log(3000);
        let (expected, mem_counters) = run_in_memory(&VideoTagging, &input).unwrap();
        // A bad record, skipped by the engine when told to.
        input.insert(
            1500,
            "{\"username\": \"user1\", \"timestamp\": ".to_string(),
        );
        let cfg = RunConfig {
            jobs: 2,
            partitions: 3,
            chunk_size: 4096,
            sort_buffer_bytes: 1024,
            merge_fan_in: 2,
            skip_bad_records: true,
            ..RunConfig::default()
        };
        let (got, report, _dir) = run_engine(&input, cfg);
        assert!(
            report.spills.iter().sum::<u64>() > 0,
            "the test should force spills: {:?}",
            report.spills
        );
        assert_eq!(got, expected);
        assert_eq!(report.skipped_records, 1);
        for name in [
            VIDEO_EVENTS,
            NOT_A_VIDEO_EVENT,
            "first_view",
            "later_review",
        ] {
            assert_eq!(
                report.counters.get(COUNTERS, name),
                mem_counters.get(COUNTERS, name),
                "{name}"
            );
        }
        assert!(mem_counters.get(COUNTERS, "immediate_review") > 0);
        assert!(mem_counters.get(COUNTERS, "later_review") > 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn the_engine_matches_the_plain_rules(
            lines in prop::collection::vec(line(), 0..200),
            chunk_size in 64u64..2048,
            partitions in 1usize..4,
            sort_buffer_bytes in 1024u64..4096,
            merge_fan_in in 2usize..4,
            jobs in 1usize..3,
        ) {
            let input: Vec<String> = lines.iter().map(render).collect();
            let cfg = RunConfig {
                jobs,
                partitions,
                chunk_size,
                sort_buffer_bytes,
                merge_fan_in,
                ..RunConfig::default()
            };
            let (got, report, _dir) = run_engine(&input, cfg);
            prop_assert_eq!(got, oracle(&lines));
            let views = lines.iter().filter(|l| matches!(l, Line::View { .. })).count();
            prop_assert_eq!(report.counters.get(COUNTERS, VIDEO_EVENTS), views as i64);
        }
    }

    /// The step sorts values and has no combiner: the laws that apply (the
    /// reducer is deterministic) hold on the mapper's own output.
    #[test]
    fn laws() {
        mr_core::laws::assert_job_laws(&VideoTagging, &big_log(600));
    }
}
