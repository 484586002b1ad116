//! `events_table`: clicklog events as a table, one row per event, with
//! categorical strings as consistent integer ids.
//!
//! ```text
//! mr run events_table --input logs/ --output table/ --output-format parquet
//! duckdb -c "SELECT action, count(*) FROM 'table/*.parquet' GROUP BY 1"
//! ```
//!
//! # Columns
//!
//! In this order (every column nullable):
//!
//! | column | from | type |
//! |---|---|---|
//! | `username` | `username` | id (categorical) |
//! | `time` | `timestamp`, ms since the epoch | integer |
//! | `event_type` | `key` (`user.video.lecture.action`, `pageview`...) | id (categorical) |
//! | `action` | the path of `page_url` (no scheme, host, query or fragment) | id (categorical) |
//! | `page_url` | `page_url` | id (categorical) |
//! | `session`, `user_ip`, `from` | as they are | string |
//! | `client`, `language`, `user_agent` | as they are | id (categorical) |
//! | query parameters of `page_url` | `quiz_id=3` gives a column `quiz_id` | by name, see below |
//! | fields of the JSON string `value` | `{"currentTime": 257.1}` gives `currentTime` | by name, see below |
//!
//! A query parameter or `value` field whose name is already a column of the
//! row is prefixed (`query.NAME`, `value.NAME`). Its type comes from its name,
//! so every record agrees: names ending in `_id` and `attempt`, `page`,
//! `post_length`, `height`, `width` are integers; `currentTime`, `prevTime`,
//! `playbackRate`, `score`, `max_score` are floats; `paused`, `anonymous`
//! are booleans; anything else is a string (a number or object there is
//! written as its JSON text). Query values are percent-decoded.
//!
//! # Odd fields
//!
//! A missing or `null` field is null. A field of the wrong type is converted
//! when the conversion is exact (`"1375223423427"` or `1375223423427.0` for
//! an integer, `"1.5"` for a float), else null and counted in
//! [`COUNTERS`] / [`WRONG_TYPE`]. A `value` that is not a JSON object string
//! gives no value columns (counted in [`BAD_VALUE`]). A line that is not a
//! JSON object is a bad record (the engine's `--skip-bad-records` policy).
//!
//! # Ids
//!
//! The categorical columns' strings become ids by [`mr_core::categorical`]:
//! dense, by descending frequency then value, the same on any number of
//! threads; the dictionaries are written beside the table as
//! `OUTPUT/_dictionaries/COLUMN.jsonl` (`{"id":0,"value":"...","count":N}`).
//! With output on stdout the strings are kept. The job is map-only: each part
//! keeps its input's order. `--dictionaries EARLIER_OUTPUT` keeps an earlier
//! run's ids (new values get the next ones), so tables loaded day after day
//! share them.

use mr_core::{Emitter, Job, JobError, Json, Mapper, Step};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Counter group of this job.
pub const COUNTERS: &str = "events_table";
/// Counter of fields whose type could not be converted (made null).
pub const WRONG_TYPE: &str = "fields of the wrong type (made null)";
/// Counter of events whose `value` is not a JSON object string.
pub const BAD_VALUE: &str = "events whose value is not a JSON object";

/// The categorical columns.
pub const CATEGORICAL: &[&str] = &[
    "username",
    "event_type",
    "action",
    "page_url",
    "client",
    "language",
    "user_agent",
];

/// The fixed columns, in order: (column, event field).
const FIXED: &[(&str, &str)] = &[
    ("username", "username"),
    ("time", "timestamp"),
    ("event_type", "key"),
    ("action", "page_url"),
    ("page_url", "page_url"),
    ("session", "session"),
    ("client", "client"),
    ("language", "language"),
    ("user_agent", "user_agent"),
    ("user_ip", "user_ip"),
    ("from", "from"),
];

/// The job.
pub struct EventsTable;

impl Job for EventsTable {
    fn name(&self) -> &str {
        "events_table"
    }
    fn description(&self) -> &str {
        "Clicklog events as a table (one typed row per event; categorical strings as ids, \
         dictionaries in OUTPUT/_dictionaries/). Best with --output-format parquet."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(EventRows).into()]
    }
    fn categorical_columns(&self) -> Vec<String> {
        CATEGORICAL.iter().map(|s| s.to_string()).collect()
    }
}

/// A column's type, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
}

fn kind_of(name: &str) -> Kind {
    match name {
        "attempt" | "page" | "post_length" | "height" | "width" | "time" => Kind::Int,
        "currentTime" | "prevTime" | "playbackRate" | "score" | "max_score" => Kind::Float,
        "paused" | "anonymous" => Kind::Bool,
        n if n.ends_with("_id") => Kind::Int,
        _ => Kind::Str,
    }
}

/// `v` as a value of `kind`: `Ok(None)` for null, `Err` when it cannot be
/// converted exactly.
fn convert(v: &Value, kind: Kind) -> Result<Option<Value>, ()> {
    Ok(Some(match (kind, v) {
        (_, Value::Null) => return Ok(None),
        (Kind::Int, Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).into(),
            _ => return Err(()),
        },
        (Kind::Int, Value::String(s)) => s.trim().parse::<i64>().map_err(|_| ())?.into(),
        (Kind::Float, Value::Number(n)) => n.as_f64().ok_or(())?.into(),
        (Kind::Float, Value::String(s)) => {
            let f = s.trim().parse::<f64>().map_err(|_| ())?;
            if !f.is_finite() {
                return Err(());
            }
            f.into()
        }
        (Kind::Bool, Value::Bool(b)) => (*b).into(),
        (Kind::Bool, Value::String(s)) if s == "true" || s == "false" => (s == "true").into(),
        (Kind::Str, Value::String(s)) => s.clone().into(),
        (Kind::Str, other) => other.to_string().into(),
        _ => return Err(()),
    }))
}

/// The path of a URL: no scheme and host, query or fragment.
///
/// ```
/// use mr_jobs::events_table::url_path;
/// assert_eq!(url_path("/view/quiz?quiz_id=3"), "/view/quiz");
/// assert_eq!(url_path("https://x.org/c/lecture/view?lecture_id=3#t"), "/c/lecture/view");
/// assert_eq!(url_path("https://x.org"), "/");
/// ```
pub fn url_path(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            match rest.find('/') {
                Some(j) => &rest[j..],
                None => "/",
            }
        }
        None => url,
    }
}

/// The query parameters of a URL, percent-decoded, in order.
///
/// ```
/// use mr_jobs::events_table::query_params;
/// assert_eq!(query_params("/a?x=1&y=a%20b+c&z#f"),
///            [("x".into(), "1".into()), ("y".into(), "a b c".into()), ("z".into(), "".into())]);
/// ```
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let Some(q) = url.split('#').next().and_then(|u| u.split_once('?')) else {
        return Vec::new();
    };
    q.1.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mapper: one row (a JSON object with a null key) per event.
#[derive(Clone, Copy, Default)]
pub struct EventRows;

impl EventRows {
    /// The row of one event, as ordered (column, value) pairs.
    pub fn row(
        event: &Map<String, Value>,
        count: &mut dyn FnMut(&'static str),
    ) -> Vec<(String, Value)> {
        let mut row: Vec<(String, Value)> = Vec::with_capacity(24);
        let str_of = |field: &str| event.get(field).and_then(Value::as_str);
        for (column, field) in FIXED {
            let v = match *column {
                "action" => str_of(field).map(|u| Value::from(url_path(u))),
                "time" => match event.get(*field).map(|v| convert(v, Kind::Int)) {
                    None | Some(Ok(None)) => None,
                    Some(Ok(v)) => v,
                    Some(Err(())) => {
                        count(WRONG_TYPE);
                        None
                    }
                },
                // Categorical and plain strings: only strings.
                _ => match event.get(*field) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(Value::from(s.as_str())),
                    Some(_) => {
                        count(WRONG_TYPE);
                        None
                    }
                },
            };
            row.push((column.to_string(), v.unwrap_or(Value::Null)));
        }
        let mut push = |row: &mut Vec<(String, Value)>, prefix: &str, name: &str, v: &Value| {
            let taken = row.iter().any(|(n, _)| n == name);
            let column = if taken || name.is_empty() {
                format!("{prefix}.{name}")
            } else {
                name.to_string()
            };
            if row.iter().any(|(n, _)| *n == column) {
                return; // a repeated parameter: the first one counts
            }
            let v = match convert(v, kind_of(name)) {
                Ok(v) => v.unwrap_or(Value::Null),
                Err(()) => {
                    count(WRONG_TYPE);
                    Value::Null
                }
            };
            row.push((column, v));
        };
        if let Some(url) = str_of("page_url") {
            for (k, v) in query_params(url) {
                push(&mut row, "query", &k, &Value::String(v));
            }
        }
        match event.get("value") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => match serde_json::from_str::<Map<String, Value>>(s) {
                Ok(fields) => {
                    for (k, v) in &fields {
                        push(&mut row, "value", k, v);
                    }
                }
                Err(_) => count(BAD_VALUE),
            },
            Some(_) => count(BAD_VALUE),
        }
        row
    }
}

impl Mapper for EventRows {
    type Input<'a> = Json<Value>;
    type Key = ();
    type Value = Box<RawValue>;

    fn map(
        &mut self,
        Json(event): Json<Value>,
        out: &mut Emitter<(), Box<RawValue>>,
    ) -> Result<(), JobError> {
        let Value::Object(event) = event else {
            return Err(JobError::msg("the event is not a JSON object"));
        };
        let mut counts = Vec::new();
        let row = Self::row(&event, &mut |c| counts.push(c));
        for c in counts {
            out.count(COUNTERS, c, 1);
        }
        // Serialized once, straight into the raw value: no string per field,
        // no UTF-8 check or re-parse of the text serde_json just wrote.
        out.emit(&(), serde_json::value::to_raw_value(&RowObject(&row))?)
    }
}

/// A row's columns, in order, serialized as one JSON object.
struct RowObject<'a>(&'a [(String, Value)]);

impl serde::Serialize for RowObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;

    #[test]
    fn quirky_events_become_rows() {
        let lines = [
            // a video event: value fields decoded
            r#"{"key": "user.video.lecture.action", "value": "{\"currentTime\":257.5,\"playbackRate\":1,\"type\":\"play\",\"paused\":false}", "username": "ann", "timestamp": 1375223423427, "page_url": "https://x.org/c/lecture/view?lecture_id=31", "session": "s1"}"#,
            // wrong types: a string timestamp (exact), a float lecture_id, a number username
            r#"{"key": "pageview", "value": "{}", "username": 7, "timestamp": "1375223423428", "page_url": "/view/quiz?quiz_id=abc&quiz_id=4&time=5"}"#,
            // nulls and missing fields; a value that is not JSON
            r#"{"key": null, "value": "not json", "username": null, "timestamp": 1.5}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows: Vec<Value> = out
            .iter()
            .map(|l| serde_json::from_str(l.split_once('\t').unwrap().1).unwrap())
            .collect();
        assert_eq!(rows[0]["username"], "ann");
        assert_eq!(rows[0]["time"], 1375223423427i64);
        assert_eq!(rows[0]["action"], "/c/lecture/view");
        assert_eq!(rows[0]["lecture_id"], 31);
        assert_eq!(rows[0]["currentTime"], 257.5);
        assert_eq!(rows[0]["playbackRate"], 1.0);
        assert_eq!(rows[0]["type"], "play");
        assert_eq!(rows[0]["paused"], false);
        assert_eq!(rows[1]["username"], Value::Null);
        assert_eq!(rows[1]["time"], 1375223423428i64);
        assert_eq!(rows[1]["quiz_id"], Value::Null, "abc is not an integer");
        assert_eq!(rows[1]["query.time"], 5);
        assert_eq!(rows[2]["event_type"], Value::Null);
        assert_eq!(rows[2]["time"], Value::Null);
        assert_eq!(rows[2]["action"], Value::Null);
        assert_eq!(counters.get(COUNTERS, WRONG_TYPE), 3);
        assert_eq!(counters.get(COUNTERS, BAD_VALUE), 1);
        // Column order: the fixed columns first.
        assert!(out[0].starts_with("null\t{\"username\":\"ann\",\"time\":"));
    }

    #[test]
    fn lines_that_are_not_objects_are_bad_records() {
        let e = run_in_memory(&EventsTable, &["[1, 2]"]).unwrap_err();
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        let e = run_in_memory(&EventsTable, &["{\"key\": "]).unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
    }
}
