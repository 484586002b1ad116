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
//! In this order (every column nullable); a field with two names is read
//! under the first present, the second being edX tracking logs' name:
//!
//! | column | from | type |
//! |---|---|---|
//! | `username` | `username` | id (categorical) |
//! | `time` | `timestamp` / `time`: s, ms, µs or ns since the epoch (told by size), or an ISO 8601 time | time: Parquet `TIMESTAMP` (ms, UTC); ms since the epoch in JSON output |
//! | `event_type` | `key` / `event_type` (`user.video.lecture.action`, `play_video`...) | id (categorical) |
//! | `action` | the path of `page_url` / `page` (no scheme, host, query or fragment) | id (categorical) |
//! | `page_url` | `page_url` / `page` | id (categorical) |
//! | `session`, `from` | as they are | string |
//! | `client`, `language` | as they are | id (categorical) |
//! | `user_agent` | `user_agent` / `agent` | id (categorical) |
//! | `user_ip` | `user_ip` / `ip` | string |
//! | query parameters of `page_url` | `quiz_id=3` gives a column `quiz_id` | by name, see below |
//! | fields of `value` / `event` (an object, or a JSON object in a string) | `{"currentTime": 257.1}` gives `currentTime` | by name, see below |
//! | a `value` / `event` that is not an object | kept whole | string `value` |
//! | fields of `context` (edX: `course_id`, `user_id`, `path`...; an object, or a JSON object in a string) | `context.course_id` | string |
//!
//! Other top-level fields (edX's `host`, `referer`, `event_source`) are no
//! column: they are counted in [`LEFT_OUT`]. A second name beside the first
//! (`event` beside `value`) is not read, and counted in [`SECOND_NAME`].
//!
//! A query parameter or `value` field whose name is already a column of the
//! row, compared without case as Spark and DuckDB compare column names, is
//! prefixed (`query.NAME`, `value.NAME`); so is one whose name starts with
//! `query.`, `value.` or `context.` (in any case), and one named `value` in
//! any case: a `value` kept whole owns the `value` column in every row, so
//! no field takes another's column. So `?Z=1&z=2` makes the columns `Z` and
//! `query.z`. Only when the prefixed name is taken too (`?From=1&FROM=2`
//! beside the column `from`: `query.From`, then `query.FROM`) is a field
//! left out: the first in the event stays, the other is counted in
//! [`NAME_CLASH`]. Its type comes from its name,
//! so every record agrees: Coursera's `lecture_id`, `quiz_id`, `thread_id`,
//! `post_id`, `forum_id`, `item_id`, `assignment_id`, `submission_id`,
//! `user_id`, and `attempt`, `post_length`, `height`, `width` are integers
//! (other ids are strings, as edX's `problem_id` and `course_id` are);
//! `currentTime`, `prevTime`, `playbackRate`, `score`, `max_score` are
//! floats; `paused`, `anonymous` are booleans; anything else is a string (a
//! number or object there is written as its JSON text). Query values are
//! percent-decoded. The table's schema is the same whatever a run sees:
//! a column null all day keeps its type, and a day without events still
//! writes a table with the fixed columns (see `Job::columns`).
//!
//! # Odd fields
//!
//! A missing or `null` field is null. A string column takes anything else
//! as its JSON text (a numeric `username` is `"12345"`). A field of the
//! wrong type is converted when the conversion is exact (`"1375223423427"`,
//! `"12.0"` or `1375223423427.0` for an integer, `"1.5"` for a float), else
//! null and counted, in all in
//! [`COUNTERS`] / [`WRONG_TYPE`] and by column (`wrong type (made null):
//! page_url`). A `value` that is not a JSON object string is kept whole in
//! the `value` column (counted in [`BAD_VALUE`]); one that is once
//! Python's `NaN` and infinities in it are null is unfolded so (counted in
//! [`VALUE_AS_NULL`]), as the engine reads such input lines. A `context` of
//! another kind is left out, counted in [`BAD_CONTEXT`]. A line that is not a
//! JSON object is a bad record (the engine's `--skip-bad-records` policy), and
//! so is one holding an integer beyond 64 bits, also inside a JSON object in
//! a string (a float would round it). Whether a number is an integer is
//! told by its text: `4503599627370497.5`, which a float reads as
//! `4503599627370498.0`, is not.
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

use crate::json_scan::scan_members;
use mr_core::FromLine;
use mr_core::emit::JsonText;
use mr_core::protocol::{DecodeError, MaybeStr, RawFields, refuse_big_integers};
use mr_core::{ColumnType, Emitter, Job, JobError, Mapper, Step};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Counter group of this job.
pub const COUNTERS: &str = "events_table";
/// Counter of fields whose type could not be converted (made null).
pub const WRONG_TYPE: &str = "fields of the wrong type (made null)";
/// Counter of events whose `value` is not a JSON object string.
pub const BAD_VALUE: &str = "events whose value is not a JSON object";
/// Counter of events whose `value` string is a JSON object once Python's
/// `NaN`, `Infinity` and `-Infinity` in it are read as null (`json.dumps`
/// of a dict holding `float('nan')`), as the engine reads input lines.
pub const VALUE_AS_NULL: &str = "values read with NaN or Infinity as null";
/// Counter: fields left out because another of their source (the query,
/// the value, the context) has their column's name but for case.
pub const NAME_CLASH: &str = "fields left out: a name another field has but for case";
/// Counter of events whose `context` is neither a JSON object nor one in a
/// string (nor null or `""`): its fields are left out.
pub const BAD_CONTEXT: &str = "events whose context is not a JSON object (left out)";
/// Counter: top-level fields of events that are no column of the table
/// (not in the fixed list, nor `value`/`event`/`context`): left out, and
/// counted so that a run says it.
pub const LEFT_OUT: &str = "top-level fields that are no column (left out)";
/// Counter: top-level fields left out because the event also has their
/// column's first name (`event` beside `value`, `event_type` beside `key`,
/// `page` beside `page_url`...): only the first is read.
pub const SECOND_NAME: &str = "fields left out: a second name of a column the event has first";
/// The names of the event's value, the first present read.
const VALUE: &[&str] = &["value", "event"];
/// The prefixes of columns from a query, a value and a context.
const PREFIXES: [&str; 3] = ["query.", "value.", "context."];

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

/// Where an event's URL is (`page` in edX's logs): the `action` and
/// `page_url` columns and the query's columns all come from it.
const URL: &[&str] = &["page_url", "page"];

/// The fixed columns, in order: (column, event fields, the first present
/// counting). The second names are edX tracking logs' (`event_type`, `time`,
/// `page`, `agent`, `ip`).
const FIXED: &[(&str, &[&str])] = &[
    ("username", &["username"]),
    ("time", &["timestamp", "time"]),
    ("event_type", &["key", "event_type"]),
    ("action", URL),
    ("page_url", URL),
    ("session", &["session"]),
    ("client", &["client"]),
    ("language", &["language"]),
    ("user_agent", &["user_agent", "agent"]),
    ("user_ip", &["user_ip", "ip"]),
    ("from", &["from"]),
];

/// Counter of the fields of one column that had the wrong type: this
/// prefix, then the column. Without a comma, which a counter's name cannot
/// hold (see [`mr_core::Counters::add`]): it was stored as `wrong type;
/// made null: …`, which no one looking for its documented name found.
pub const WRONG_TYPE_IN: &str = "wrong type (made null):";

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
        vec![Step::map(EventRows::default()).into()]
    }
    fn categorical_columns(&self) -> Vec<String> {
        CATEGORICAL.iter().map(|s| s.to_string()).collect()
    }
    fn columns(&self) -> Vec<(String, ColumnType)> {
        FIXED
            .iter()
            .map(|(c, _)| (c.to_string(), column_type(c)))
            .collect()
    }
    fn column_type(&self, name: &str) -> Option<ColumnType> {
        Some(column_type(name))
    }
    fn counters(&self) -> Vec<mr_core::job::CounterDoc> {
        let doc = |name: &str, help: &str| mr_core::job::CounterDoc::new(COUNTERS, name, help);
        vec![
            doc(
                WRONG_TYPE,
                "a field whose value a typed column cannot hold (a word in an integer \
                 column, a time no format reads): the cell is null",
            ),
            doc(&format!("{WRONG_TYPE_IN} COLUMN"), "the same, by column"),
            doc(
                BAD_VALUE,
                "the event's value (`value`, or edX's `event`) is neither a JSON object \
                 nor one in a string: kept whole in the value column, not unfolded into \
                 value.* columns",
            ),
            doc(
                VALUE_AS_NULL,
                "a value string read once Python's NaN, Infinity, -Infinity in it are \
                 taken as null",
            ),
            doc(
                BAD_CONTEXT,
                "the event's context is neither a JSON object nor one in a string: \
                 the row has no context.* columns",
            ),
            doc(
                NAME_CLASH,
                "a field of a query, value or context left out: another field of it has \
                 the same name but for case",
            ),
            doc(
                SECOND_NAME,
                "a field left out as the event has its column under its first name \
                 (`event` beside `value`, `event_type` beside `key`, `page` beside \
                 `page_url`, `time` beside `timestamp`, `agent`, `ip`)",
            ),
            doc(
                LEFT_OUT,
                "a top-level field that is no column (not a fixed field, nor value, \
                 event or context): left out of the row",
            ),
        ]
    }
}

/// The type of a column, by its name (a prefixed column by the field's).
fn column_type(column: &str) -> ColumnType {
    if column == "time" {
        return ColumnType::Timestamp;
    }
    if column.starts_with("context.") {
        return ColumnType::Str;
    }
    let field = ["query.", "value."]
        .iter()
        .find_map(|p| column.strip_prefix(p))
        .unwrap_or(column);
    kind_of(field)
}

/// A field's type, from its name.
fn kind_of(name: &str) -> ColumnType {
    match name {
        // Coursera's numbered things. Other ids stay strings, as edX's are
        // (`problem_id`: "i4x://MITx/...", `course_id`: "MITx/6.002x/2013_Spring"):
        // a value that is not what its name says would be lost.
        "lecture_id" | "quiz_id" | "thread_id" | "post_id" | "forum_id" | "item_id"
        | "assignment_id" | "submission_id" | "user_id" => ColumnType::Int,
        "attempt" | "post_length" | "height" | "width" | "time" => ColumnType::Int,
        "currentTime" | "prevTime" | "playbackRate" | "score" | "max_score" => ColumnType::Float,
        "paused" | "anonymous" => ColumnType::Bool,
        _ => ColumnType::Str,
    }
}

/// `v` as a value of `kind`: `Ok(None)` for null, `Err` when it cannot be
/// converted exactly. `literal`: the text a number `v` was written as, when
/// known (a float keeps about 16 digits: `4503599627370497.5` is read as
/// the integer `4503599627370498.0`, so only its text tells), or an object
/// or array was (written into a string column as that text, [`compact`]:
/// printed from a `Value`, its numbers went through an f64 and its keys
/// were sorted, probe /tmp/probe7-flow repro 01).
fn convert(
    v: Value,
    kind: ColumnType,
    literal: impl FnOnce() -> Option<String>,
) -> Result<Option<Value>, ()> {
    Ok(Some(match (kind, &v) {
        (_, Value::Null) => return Ok(None),
        (ColumnType::Int | ColumnType::Timestamp, Value::Number(n)) => match n.as_i64() {
            Some(i) => i.into(),
            // "12.0", "1e3": an integer when its text says so exactly.
            None if n.is_f64() => exact_integer(&literal().ok_or(())?).ok_or(())?.into(),
            None => return Err(()),
        },
        (ColumnType::Int | ColumnType::Timestamp, Value::String(s)) => {
            exact_integer(s.trim()).ok_or(())?.into()
        }
        (ColumnType::Float, Value::Number(n)) => n.as_f64().ok_or(())?.into(),
        (ColumnType::Float, Value::String(s)) => {
            let f = s.trim().parse::<f64>().map_err(|_| ())?;
            if !f.is_finite() {
                return Err(());
            }
            f.into()
        }
        (ColumnType::Bool, Value::Bool(b)) => (*b).into(),
        (ColumnType::Bool, Value::String(s)) if s == "true" || s == "false" => (s == "true").into(),
        (ColumnType::Str, Value::String(_)) => v,
        // A float as written (`9007199254740993.0`, `-0`: no f64 keeps them).
        (ColumnType::Str, Value::Number(n)) if n.is_f64() => {
            literal().unwrap_or_else(|| n.to_string()).into()
        }
        (ColumnType::Str, other @ (Value::Object(_) | Value::Array(_))) => match literal() {
            Some(text) => compact(&text).into(),
            None => other.to_string().into(),
        },
        (ColumnType::Str, other) => other.to_string().into(),
        _ => return Err(()),
    }))
}

/// The JSON text `text` without the whitespace between its tokens: an
/// object or array as written (numbers, key order, escapes), one line.
///
/// ```
/// use mr_jobs::events_table::compact;
/// assert_eq!(compact(r#" { "b" : [1e2, 9007199254740993.0] ,"a":"x y\" " } "#),
///            r#"{"b":[1e2,9007199254740993.0],"a":"x y\" "}"#);
/// ```
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// The integer a decimal number's text (`-12`, `+12.0`, `1.5e3`, `.5E1`)
/// is exactly, when it is one and fits an `i64`; `None` for anything else
/// (`1.5`, `4503599627370497.5`, `1e19`, `NaN`, `0x10`).
///
/// ```
/// use mr_jobs::events_table::exact_integer;
/// assert_eq!(exact_integer("1375223423427.0"), Some(1375223423427));
/// assert_eq!(exact_integer("-1.5e3"), Some(-1500));
/// assert_eq!(exact_integer("4503599627370497.5"), None);
/// assert_eq!(exact_integer("99999999999999.999"), None);
/// assert_eq!(exact_integer("-9223372036854775808"), Some(i64::MIN));
/// assert_eq!(exact_integer("9223372036854775808"), None);
/// ```
pub fn exact_integer(text: &str) -> Option<i64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(e) => (&rest[..e], rest[e + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // The decimal point falls after this many of the digits.
    let point = i64::try_from(int.len()).ok()? + i64::from(exponent);
    let whole = usize::try_from(point.max(0)).ok()?.min(digits.len());
    if digits[whole..].iter().any(|&d| d != b'0') {
        return None;
    }
    let limit = 1i128 << 64;
    let mut n = 0i128;
    for &d in &digits[..whole] {
        n = n * 10 + i128::from(d - b'0');
        if n > limit {
            return None;
        }
    }
    // Zeros after the digits (`15e2`); none to add to a zero.
    let mut zeros = point - whole as i64;
    while n != 0 && zeros > 0 {
        n *= 10;
        if n > limit {
            return None;
        }
        zeros -= 1;
    }
    i64::try_from(if negative { -n } else { n }).ok()
}

/// The numbers, objects and arrays of a JSON object as written, for
/// [`convert`]: read from the object's text when one is first asked for,
/// once per object (most events need none), as the object was read, with
/// Python's `NaN` and infinities as null when it holds them (see
/// [`object_in`]).
struct Literals<'t> {
    text: &'t str,
    texts: std::cell::OnceCell<Vec<(String, String)>>,
    /// Where each name's last text is in `texts`, once there are many.
    index: std::cell::OnceCell<std::collections::HashMap<String, usize>>,
}

impl<'t> Literals<'t> {
    fn of(text: &'t str) -> Self {
        Literals {
            text,
            texts: std::cell::OnceCell::new(),
            index: std::cell::OnceCell::new(),
        }
    }

    /// The text of the number, object or array at `key` (the last one when
    /// the key repeats, as a map keeps it).
    fn get(&self, key: &str) -> Option<String> {
        let texts = self.texts.get_or_init(|| {
            let read = |text: &[u8]| {
                let RawFields(fields) = serde_json::from_slice(text).ok()?;
                let texts = fields?.into_iter().filter_map(|(k, raw)| {
                    let n = raw.get();
                    n.starts_with([
                        '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '{', '[',
                    ])
                    .then(|| (k.into_owned(), n.to_string()))
                });
                Some(texts.collect())
            };
            let text = self.text.as_bytes();
            read(text)
                .or_else(|| read(&mr_core::protocol::python_constants_as_null(text)?))
                .unwrap_or_default()
        });
        if texts.len() <= FEW {
            let (_, n) = texts.iter().rev().find(|(k, _)| k == key)?;
            return Some(n.clone());
        }
        // An object of thousands of numbers: looked up by name, not through.
        let index = self.index.get_or_init(|| {
            texts
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect()
        });
        index.get(key).map(|&i| texts[i].1.clone())
    }
}

/// How many names a row, an object or a query may have before they are
/// looked up in a hash set rather than looked through: an event of 40,000
/// fields took 17 s when each name was compared with every other one.
const FEW: usize = 32;

/// The path of a URL: no scheme and host, query or fragment.
///
/// ```
/// use mr_jobs::events_table::url_path;
/// assert_eq!(url_path("/view/quiz?quiz_id=3"), "/view/quiz");
/// assert_eq!(url_path("https://x.org/c/lecture/view?lecture_id=3#t"), "/c/lecture/view");
/// assert_eq!(url_path("https://x.org"), "/");
/// assert_eq!(url_path("//cdn.x.org/p?x=1"), "/p");
/// ```
pub fn url_path(url: &str) -> &str {
    let end = memchr::memchr2(b'?', b'#', url.as_bytes()).unwrap_or(url.len());
    let url = &url[..end];
    // `scheme://host/path`, or `//host/path` (protocol-relative).
    let host_and_path = match memchr::memmem::find(url.as_bytes(), b"://") {
        Some(i) => Some(&url[i + 3..]),
        None => url.strip_prefix("//"),
    };
    match host_and_path {
        Some(rest) => match memchr::memchr(b'/', rest.as_bytes()) {
            Some(j) => &rest[j..],
            None => "/",
        },
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
    if memchr::memchr2(b'%', b'+', b).is_none() {
        return s.to_owned();
    }
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

/// An event's top-level fields in order, each name and its value's JSON
/// text: read by [`scan_members`] in one pass, or, where that is unsure,
/// by serde_json as [`RawFields`], whose verdict and error messages stand.
/// `None` for a line that is JSON but no object.
pub struct Fields<'a>(Option<Vec<(Cow<'a, str>, &'a str)>>);

impl<'a> FromLine<'a> for Fields<'a> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        if let Some(members) = std::str::from_utf8(line).ok().and_then(scan_members) {
            // An integer beyond 64 bits is a bad record, as RawFields has it.
            refuse_big_integers(line)?;
            return Ok(Some(Fields(Some(members))));
        }
        let fields = |RawFields(f)| {
            let texts = |f: Vec<(Cow<'a, str>, &'a RawValue)>| {
                f.into_iter().map(|(k, v)| (k, v.get())).collect()
            };
            Fields(f.map(texts))
        };
        Ok(RawFields::from_line(line)?.map(fields))
    }

    fn format() -> String {
        RawFields::format()
    }
}

/// The mapper: one row (a JSON object with a null key) per event.
#[derive(Clone, Default)]
pub struct EventRows {
    /// The row's JSON text, written by [`write_row`] (reused).
    text: Vec<u8>,
}

/// The JSON object in the string field `name` (a `value`, an `event`, a
/// `context`), if it is one: as it is, or once Python's non-JSON numbers in
/// it are read as null (counted in [`VALUE_AS_NULL`]). An error for an
/// integer beyond 64 bits in it, which a map of values would round: the
/// line is a bad record, as it is when the object is not in a string.
fn object_in(
    s: &str,
    name: &str,
    count: &mut dyn FnMut(&str),
) -> Result<Option<Ordered>, JobError> {
    let fields = match serde_json::from_str(s) {
        Ok(fields) => fields,
        Err(e) => {
            let fixed = mr_core::protocol::python_constants_as_null(s.as_bytes());
            match fixed.as_deref().map(serde_json::from_slice) {
                Some(Ok(fields)) => {
                    count(VALUE_AS_NULL);
                    fields
                }
                // A JSON object all the same, with a number beyond a
                // float's range (`1e400`) that a map of values cannot hold:
                // a bad record, as the same object outside a string is (it
                // was taken for text that is not an object, its fields
                // left out: probe /tmp/probe9-table repro 01), with the
                // error of the text once Python's constants in it are null
                // (not theirs: probe /tmp/probe9-regress repro 05).
                Some(Err(e)) if fixed.as_deref().is_some_and(is_an_object) => {
                    return Err(in_string_field(name, e));
                }
                None if is_an_object(s.as_bytes()) => return Err(in_string_field(name, e)),
                _ => return Ok(None),
            }
        }
    };
    refuse_big_integers(s.as_bytes()).map_err(|e| in_string_field(name, e))?;
    Ok(Some(fields))
}

/// The error of the JSON object in the string field `name`.
fn in_string_field(name: &str, e: impl std::fmt::Display) -> JobError {
    JobError::msg(format!(
        "in the JSON object in the string field {name}: {e}"
    ))
}

/// Whether `text` is one JSON object, whatever its numbers' size (syntax
/// only: serde_json skips a number without reading its value).
fn is_an_object(text: &[u8]) -> bool {
    text.trim_ascii_start().starts_with(b"{")
        && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

/// A top-level field's value, read from its raw text.
#[derive(Clone)]
enum Field<'a> {
    Null,
    /// A string, borrowed from the line unless it holds escapes.
    Str(Cow<'a, str>),
    /// Anything else.
    Other(Value),
}

impl<'a> Field<'a> {
    /// The field `name`'s value. An error only for a number serde_json
    /// cannot hold (`1e400`), which the shallow read lets through: the
    /// line is a bad record then, as a `Json<Value>` mapper's would be.
    fn of(name: &str, text: &'a str) -> Result<Field<'a>, JobError> {
        let bad =
            |e: serde_json::Error| JobError::msg(format!("invalid JSON in field {name}: {e}"));
        Ok(match text.as_bytes().first() {
            Some(b'n') => Field::Null,
            Some(b'"') => {
                // The text between its quotes: as it is without escapes (the
                // event was read as JSON already: most strings of a log),
                // decoded here with them, unless a surrogate escape leaves
                // it to serde_json.
                let read = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(body) if !body.contains('\\') => Some(Cow::Borrowed(body)),
                    Some(body) => crate::json_scan::unescape_str(body).map(Cow::Owned),
                    None => None,
                };
                match read {
                    Some(s) => Field::Str(s),
                    None => match serde_json::from_str::<MaybeStr<'a>>(text).map_err(bad)? {
                        MaybeStr(Some(s)) => Field::Str(s),
                        MaybeStr(None) => Field::Null,
                    },
                }
            }
            _ => Field::Other(serde_json::from_str(text).map_err(bad)?),
        })
    }
}

/// The top-level names the job reads: the fixed columns' (see [`FIXED`]),
/// the value's and the context's. [`slot`] gives a name's place here.
const NAMES: [&str; 18] = [
    "username",
    "timestamp",
    "time",
    "key",
    "event_type",
    "page_url",
    "page",
    "session",
    "client",
    "language",
    "user_agent",
    "agent",
    "user_ip",
    "ip",
    "from",
    "value",
    "event",
    "context",
];

/// The place of `name` in [`NAMES`], if the job reads it: one comparison
/// of the name's length, then of its bytes with a few names at most.
fn slot(name: &str) -> Option<usize> {
    Some(match name {
        "username" => 0,
        "timestamp" => 1,
        "time" => 2,
        "key" => 3,
        "event_type" => 4,
        "page_url" => 5,
        "page" => 6,
        "session" => 7,
        "client" => 8,
        "language" => 9,
        "user_agent" => 10,
        "agent" => 11,
        "user_ip" => 12,
        "ip" => 13,
        "from" => 14,
        "value" => 15,
        "event" => 16,
        "context" => 17,
        _ => return None,
    })
}

/// The event's fields the job reads, by [`slot`]: each the last one of its
/// name, as a JSON object read into a map keeps it. Found in one pass over
/// the event, where each column looked through the event for its names.
struct Named<'a>([Option<&'a str>; NAMES.len()]);

impl<'a> Named<'a> {
    fn of(event: &[(Cow<'a, str>, &'a str)]) -> Self {
        let mut named = [None; NAMES.len()];
        for (k, raw) in event {
            if let Some(i) = slot(k) {
                named[i] = Some(*raw);
            }
        }
        Named(named)
    }

    /// Whether the event has the field `name`.
    fn has(&self, name: &str) -> bool {
        slot(name).is_some_and(|i| self.0[i].is_some())
    }

    /// The first of `names` the event has, and its raw text.
    fn first(&self, names: &[&'static str]) -> Option<(&'static str, &'a str)> {
        names.iter().find_map(|n| Some((*n, self.0[slot(n)?]?)))
    }
}

/// The value of the first of `names` the event has (the last one when a
/// name repeats, as a JSON object read into a map keeps it), and its JSON
/// text as written.
fn field<'a>(
    event: &Named<'a>,
    names: &[&'static str],
) -> Result<Option<(Field<'a>, &'a str)>, JobError> {
    event
        .first(names)
        .map(|(name, raw)| Ok((Field::of(name, raw)?, raw)))
        .transpose()
}

/// An object field of the event, unfolded into columns (`value` / `event`,
/// `context`): its fields, and the text they were read from (for their
/// numbers' literals, see [`convert`]).
type Unfolded<'a> = Option<(Ordered, Cow<'a, str>)>;

/// A JSON object's fields in the order the event has them, each name once:
/// a repeated name keeps its first place and its last value, as Python's
/// `json.loads` reads it (and serde_json's map, which keeps the last). Of
/// two names that differ by case alone, the first one in the event takes
/// the column; a map sorted by name would give it to `Score` over a
/// `score` written before it.
///
/// ```text
/// {"score": 1.5, "Score": "x", "score": 2}  ->  [("score", 2), ("Score", "x")]
/// ```
#[derive(Debug, Default)]
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Ordered, A::Error> {
                let mut fields: Vec<(String, Value)> = Vec::new();
                // Where each name is, once there are too many to look through.
                let mut at: std::collections::HashMap<String, usize> = Default::default();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    if fields.len() == 32 {
                        at = fields
                            .iter()
                            .enumerate()
                            .map(|(i, (n, _))| (n.clone(), i))
                            .collect();
                    }
                    let found = if fields.len() < 32 {
                        fields.iter().position(|(n, _)| *n == k)
                    } else {
                        at.get(&k).copied()
                    };
                    match found {
                        Some(i) => fields[i].1 = v,
                        None => {
                            if fields.len() >= 32 {
                                at.insert(k.clone(), fields.len());
                            }
                            fields.push((k, v));
                        }
                    }
                }
                Ok(Ordered(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// The object in the event's field `names`: an object, or a JSON object in
/// a string (edX's browser events, every Coursera event, and logs
/// exported through Hive or Spark). `Err(text)`: anything else (a string
/// that is not one, a number, an array), as text, for the caller to keep
/// whole or leave out. Nothing for a field missing, null or `""` (edX's
/// event without fields).
fn object_field<'a>(
    event: &Named<'a>,
    names: &[&'static str],
    count: &mut dyn FnMut(&str),
) -> Result<Result<Unfolded<'a>, Cow<'a, str>>, JobError> {
    let Some((name, raw)) = event.first(names) else {
        return Ok(Ok(None));
    };
    // An object in the event's order (a `Value` would sort it by name).
    let object = || -> Result<Result<Unfolded<'a>, Cow<'a, str>>, JobError> {
        let fields: Ordered = serde_json::from_str(raw)
            .map_err(|e| JobError::msg(format!("invalid JSON in field {name}: {e}")))?;
        Ok(Ok(Some((fields, Cow::Borrowed(raw)))))
    };
    if raw.trim_start().starts_with('{') {
        return object();
    }
    Ok(match Field::of(name, raw)? {
        Field::Null | Field::Other(Value::Null) => Ok(None),
        Field::Other(Value::Object(_)) => return object(),
        Field::Str(s) => match object_in(&s, name, count)? {
            Some(fields) => Ok(Some((fields, s))),
            None if s.trim().is_empty() => Ok(None),
            None => Err(s),
        },
        // A number as written, as the string columns keep floats: printed
        // from an f64, 9007199254740993.0 was "9007199254740992.0" and 1e2
        // "100.0" (probe /tmp/probe3-tables repro 03).
        Field::Other(Value::Number(_)) => Err(Cow::Borrowed(raw.trim())),
        Field::Other(_) => Err(Cow::Owned(compact(raw))),
    })
}

/// A cell of a row: a string (borrowed from the line where it can be) or
/// any JSON value.
#[derive(Debug)]
enum Cell<'a> {
    Str(Cow<'a, str>),
    Json(Value),
}

/// The reference [`write_row`] is tested against (`JsonObject(row)`).
#[cfg(test)]
impl serde::Serialize for Cell<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Str(v) => s.serialize_str(v),
            Cell::Json(v) => v.serialize(s),
        }
    }
}

/// A row: (column, cell) pairs in order.
type Row<'a> = Vec<(Cow<'static, str>, Cell<'a>)>;

/// Writes `row` into `out` (emptied first) as the JSON object serde_json
/// writes of it (`JsonObject(row)`, compact), faster: a name or string that
/// needs no escape (most, borrowed from the line) is quoted as it is, and
/// serde_json writes the rest.
///
/// ```text
/// [("a", "x"), ("b", 1), ("c", "say \"hi\"")]  ->  {"a":"x","b":1,"c":"say \"hi\""}
/// ```
fn write_row(row: &Row<'_>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let string = |s: &str, out: &mut Vec<u8>| match crate::json_scan::is_plain(s.as_bytes()) {
        true => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
            Ok(())
        }
        false => serde_json::to_writer(&mut *out, s),
    };
    out.clear();
    out.push(b'{');
    for (i, (name, cell)) in row.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(name, out)?;
        out.push(b':');
        match cell {
            Cell::Str(s) => string(s, out)?,
            Cell::Json(v) => serde_json::to_writer(&mut *out, v)?,
        }
    }
    out.push(b'}');
    Ok(())
}

impl EventRows {
    /// The row of one event; `count` gets the name of each counter to add
    /// one to. An error for a field whose number serde_json cannot hold.
    fn row<'a>(
        event: &[(Cow<'a, str>, &'a str)],
        count: &mut dyn FnMut(&str),
    ) -> Result<Row<'a>, JobError> {
        let mut row: Row<'a> = Vec::with_capacity(24);
        let named = Named::of(event);
        // The event's own fields: a JSON object in a string (edX's browser
        // events, every Coursera event) or an object (edX's server events).
        // A value that is not an object is kept whole, as text.
        let mut unfolded = None;
        let fields = object_field(&named, VALUE, count)?.unwrap_or_else(|text| {
            count(BAD_VALUE);
            unfolded = Some(Cell::Str(text));
            None
        });
        // edX's context (course_id, user_id, org_id, path...), in the same
        // forms; anything else is left out, counted.
        let context = object_field(&named, &["context"], count)?.unwrap_or_else(|_| {
            count(BAD_CONTEXT);
            None
        });
        let mut wrong = |column: &str| {
            count(WRONG_TYPE);
            count(&format!("{WRONG_TYPE_IN} {column}"));
        };
        // Read once for the two columns and the query's.
        let url = field(&named, URL)?;
        for (column, names) in FIXED {
            let read = if *names == URL {
                url.clone()
            } else {
                field(&named, names)?
            };
            let (read, text) = read.map_or((None, ""), |(f, text)| (Some(f), text));
            let cell = match (*column, read) {
                (_, None | Some(Field::Null)) => Cell::Json(Value::Null),
                ("action", Some(Field::Str(u))) => Cell::Str(match u {
                    Cow::Borrowed(u) => Cow::Borrowed(url_path(u)),
                    Cow::Owned(u) => Cow::Owned(url_path(&u).to_string()),
                }),
                ("time", Some(t)) => {
                    let ms = match &t {
                        Field::Str(s) => time_ms_of_text(s),
                        Field::Other(v) => time_ms(v),
                        Field::Null => None,
                    };
                    match ms {
                        Some(ms) => Cell::Json(Value::from(ms)),
                        None => {
                            wrong(column);
                            Cell::Json(Value::Null)
                        }
                    }
                }
                // Categorical and plain strings: a string, or the JSON text
                // of anything else (a numeric username stays "12345"; a
                // float as written: `9007199254740993.0` is no f64).
                (_, Some(Field::Str(s))) => Cell::Str(s),
                (_, Some(Field::Other(Value::Number(n)))) if n.is_f64() => Cell::Str(text.into()),
                // An object or array: its text, numbers and order as written.
                (_, Some(Field::Other(_))) => Cell::Str(compact(text).into()),
            };
            row.push((Cow::Borrowed(column), cell));
        }
        // A non-object value kept whole owns the `value` column: before the
        // query's and the value's fields, which take another name.
        if let Some(text) = unfolded {
            row.push((Cow::Borrowed("value"), text));
        }
        let mut clashes = 0;
        // The row's names without case, once it has more than FEW.
        let mut names: Option<std::collections::HashSet<String>> = None;
        // `literals`: the object's numbers as written (none for a query).
        let mut push =
            |row: &mut Row<'a>, prefix: &str, name: &str, v: Value, literals: Option<&Literals>| {
                // Names compared as Spark and DuckDB do, without case: `From`
                // beside `from` makes a table Spark refuses.
                let mut taken = |row: &Row<'a>, c: &str| {
                    if row.len() <= FEW {
                        return row.iter().any(|(n, _)| n.eq_ignore_ascii_case(c));
                    }
                    names
                        .get_or_insert_with(|| {
                            row.iter().map(|(n, _)| n.to_ascii_lowercase()).collect()
                        })
                        .contains(&c.to_ascii_lowercase())
                };
                // A name that looks prefixed (`context.course_id` in a query)
                // is prefixed again, so that no field takes another's column.
                // Without case too, as names are compared: `Context.course_id`
                // in a value took the column of the event's `context.course_id`,
                // which was dropped (probe /tmp/probe3-tables repro 02).
                let looks_prefixed = PREFIXES.iter().any(|p| {
                    name.get(..p.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(p))
                });
                // `value` is the column of values kept whole, in every row:
                // a field so named in another row must not fill it.
                let reserved = name.eq_ignore_ascii_case("value");
                let column = if prefix == "context"
                    || name.is_empty()
                    || looks_prefixed
                    || reserved
                    || taken(row, name)
                {
                    format!("{prefix}.{name}")
                } else {
                    name.to_string()
                };
                if taken(row, &column) {
                    // Only fields of one source whose names differ by case alone
                    // (`?Page=1&page=2`, `PAGE` too): the first one counts.
                    clashes += 1;
                    return;
                }
                let literal = || literals?.get(name);
                let v = match convert(v, column_type(&column), literal) {
                    Ok(v) => v.unwrap_or(Value::Null),
                    Err(()) => {
                        wrong(&column);
                        Value::Null
                    }
                };
                if let Some(names) = &mut names {
                    names.insert(column.to_ascii_lowercase());
                }
                row.push((Cow::Owned(column), Cell::Json(v)));
            };
        if let Some((Field::Str(url), _)) = url {
            let mut params = query_params(&url);
            let mut seen = std::collections::HashSet::new();
            for i in 0..params.len() {
                // A repeated parameter: the first one counts. (The value's
                // and context's fields are a JSON object's: one per name.)
                let first = match params.len() <= FEW {
                    true => params[..i].iter().all(|(p, _)| *p != params[i].0),
                    false => seen.insert(params[i].0.clone()),
                };
                if first {
                    let v = Value::String(std::mem::take(&mut params[i].1));
                    push(&mut row, "query", &params[i].0, v, None);
                }
            }
        }
        for (prefix, object) in [("value", fields), ("context", context)] {
            if let Some((fields, text)) = object {
                let literals = Literals::of(&text);
                for (k, v) in fields.0 {
                    push(&mut row, prefix, &k, v, Some(&literals));
                }
            }
        }
        for _ in 0..clashes {
            count(NAME_CLASH);
        }
        // A column's second name beside its first is not read: said, not
        // dropped without a word (probe /tmp/probe22-mooc, notes: an
        // analytics event's `event` name beside its `value`).
        // The rarer second name is looked for first, and a column of one
        // name not at all: this runs for every event.
        let columns = FIXED.iter().filter(|(c, _)| *c != "action");
        for names in columns.map(|(_, names)| *names).chain([VALUE]) {
            if let [first, second] = names
                && named.has(second)
                && named.has(first)
            {
                count(SECOND_NAME);
            }
        }
        let read = |k: &str| slot(k).is_some();
        // Each name once, as a JSON object read into a map has it.
        if event.len() <= FEW {
            for (i, (k, _)) in event.iter().enumerate() {
                if !read(k) && !event[i + 1..].iter().any(|(later, _)| later == k) {
                    count(LEFT_OUT);
                }
            }
        } else {
            let left_out: std::collections::HashSet<&str> = event
                .iter()
                .map(|(k, _)| k.as_ref())
                .filter(|k| !read(k))
                .collect();
            for _ in 0..left_out.len() {
                count(LEFT_OUT);
            }
        }
        Ok(row)
    }
}

/// The time of an event in ms since the epoch, from seconds, milliseconds,
/// microseconds or nanoseconds told by size (each from 1973 on: s from 1e8,
/// ms from 1e11, µs from 1e14, ns from 1e17; each may have a fraction),
/// as a number or its text, or an RFC 3339 / ISO 8601
/// time as edX writes it (`2013-10-03T20:00:00.123456+00:00`; no zone is
/// UTC; a day the month lacks is none). Digits past the millisecond are
/// dropped. `None` when it is none of these.
///
/// ```
/// use mr_jobs::events_table::time_ms;
/// use serde_json::json;
/// assert_eq!(time_ms(&json!(1370044801621i64)), Some(1370044801621));
/// assert_eq!(time_ms(&json!(1370044801)), Some(1370044801000));
/// assert_eq!(time_ms(&json!(1370044801.5)), Some(1370044801500));
/// assert_eq!(time_ms(&json!("1370044801621")), Some(1370044801621));
/// assert_eq!(time_ms(&json!("2013-06-01T00:00:01.621+00:00")), Some(1370044801621));
/// assert_eq!(time_ms(&json!("2013-06-01 02:00:01.621999+02:00")), Some(1370044801621));
/// assert_eq!(time_ms(&json!("2013-06-01T00:00:01Z")), Some(1370044801000));
/// assert_eq!(time_ms(&json!("June 1st")), None);
/// assert_eq!(time_ms(&json!(1.25)), None);
/// // Seconds with microseconds, microseconds, nanoseconds.
/// assert_eq!(time_ms(&json!(1370044801.621234)), Some(1370044801621));
/// assert_eq!(time_ms(&json!(1370044801.62)), Some(1370044801620));
/// assert_eq!(time_ms(&json!(1370044801621234i64)), Some(1370044801621));
/// assert_eq!(time_ms(&json!(1370044801621234567i64)), Some(1370044801621));
/// assert_eq!(time_ms(&json!("1370044801621234")), Some(1370044801621));
/// // The same as floats (Python's time.time() * 1000, * 1e6, * 1e9).
/// assert_eq!(time_ms(&json!(1370044801621.234)), Some(1370044801621));
/// assert_eq!(time_ms(&json!(1370044801621234.5)), Some(1370044801621));
/// assert_eq!(time_ms(&json!(1.370044801621e18)), Some(1370044801621));
/// assert_eq!(time_ms(&json!("1.370044801621e+18")), Some(1370044801621));
/// // An offset of a day or more, or of 60 minutes or more, is none.
/// assert_eq!(time_ms(&json!("2013-10-03T20:00:00+99:99")), None);
/// assert_eq!(time_ms(&json!("2013-10-03T20:00:00+24:00")), None);
/// assert_eq!(time_ms(&json!("2013-10-03T20:00:00+05:75")), None);
/// assert_eq!(time_ms(&json!("2013-10-03T20:00:00-23:59")), Some(1380916740000));
/// // A day the month does not have.
/// assert_eq!(time_ms(&json!("2013-02-31T00:00:00Z")), None);
/// assert_eq!(time_ms(&json!("2012-02-29T00:00:00Z")), Some(1330473600000));
/// // Beyond what readers hold in microseconds (Java's Long.MIN_VALUE, a
/// // sentinel): none, as a float so far out is.
/// assert_eq!(time_ms(&json!(i64::MIN)), None);
/// assert_eq!(time_ms(&json!(-9_000_000_000_000_000i64)), None);
/// ```
pub fn time_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                // A TIMESTAMP(ms) DuckDB, pandas and Polars read as µs: one
                // past ±9.2e15 ms made the whole table unreadable in DuckDB
                // (probe /tmp/probe3-tables repro 01).
                return Some(epoch_ms(i)).filter(|ms| ms.unsigned_abs() < 9_000_000_000_000_000);
            }
            let f = n.as_f64()?;
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                return Some(epoch_ms(f as i64));
            }
            // A float, its unit told by its size as an integer's is
            // (Python's time.time(), times 1000 or 1e9: a float of ms, µs
            // or ns was none, probe /tmp/probe12-tables repro 03): to the
            // microsecond first, so that 1370044801.62 s (in binary a hair
            // under) is 620 ms and 1.370044801621e18 ns (a hair under too)
            // 621, then digits past the millisecond dropped.
            let us = match f {
                _ if SECONDS.contains(&f) => f * 1e6,
                1e11..1e14 => f * 1e3,
                1e14..1e17 => f,
                1e17..9e21 => f / 1e3,
                _ => return None,
            };
            Some((us.round() as i64).div_euclid(1000))
        }
        Value::String(s) => time_ms_of_text(s),
        _ => None,
    }
}

/// [`time_ms`] of a string.
fn time_ms_of_text(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<serde_json::Number>() {
        return time_ms(&Value::Number(n));
    }
    rfc3339_ms(s)
}

/// Seconds since the epoch, as a number from 1e8 to 1e11 (as milliseconds
/// it would fall in 1970-1973).
const SECONDS: std::ops::Range<f64> = 1e8..1e11;

/// An integer time since the epoch in ms, its unit told by its size (each
/// range 1973 to 5138): seconds from 1e8, ms from 1e11, µs from 1e14
/// (JavaScript's `performance`, Go's `UnixMicro`), ns from 1e17 (Go's
/// `UnixNano`, Java's `Instant`); digits past the millisecond dropped.
fn epoch_ms(i: i64) -> i64 {
    match i {
        100_000_000..100_000_000_000 => i * 1000,
        100_000_000_000_000..100_000_000_000_000_000 => i.div_euclid(1000),
        100_000_000_000_000_000.. => i.div_euclid(1_000_000),
        _ => i,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff...][Z|±HH:MM|±HHMM]` in ms since the epoch.
fn rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |n, c| n * 10 + i64::from(c - b'0')))
    };
    let fixed = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !fixed {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&mo) || !(1..=month_days).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &b[start..i.min(start + 3)];
        ms = digits.iter().fold(0, |n, c| n * 10 + i64::from(c - b'0'))
            * 10i64.pow(3 - digits.len() as u32);
    }
    let offset_min = match &b[i..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest {
                [_, _, b':', _, _] => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                [_, _, _, _] => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                [_, _] => (num(i + 1..i + 3)?, 0),
                _ => return None,
            };
            // An offset of a day or more, or of 60 minutes, is no offset
            // (Python's, Spark's and DuckDB's parsers refuse it): it moved
            // the time by days (`+99:99`: probe /tmp/probe12-tables repro 01).
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' { -m } else { m }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + ms)
}

impl Mapper for EventRows {
    type Input<'a> = Fields<'a>;
    type Key = ();
    type Value = Box<RawValue>;

    fn map(
        &mut self,
        event: Fields<'_>,
        out: &mut Emitter<(), Box<RawValue>>,
    ) -> Result<(), JobError> {
        let Fields(Some(event)) = event else {
            return Err(JobError::msg("the event is not a JSON object"));
        };
        let row = Self::row(&event, &mut |c| out.count(COUNTERS, c, 1))?;
        // Written once, by hand: no string per field, no escaping of the
        // strings that need none (serde's was a quarter of the job's time).
        write_row(&row, &mut self.text)?;
        out.emit_json(&(), JsonText::trusted(&self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::protocol::JsonObject;
    use mr_core::testing::run_in_memory;
    use proptest::prelude::*;

    proptest! {
        /// A row written by hand is the text serde_json writes of it, for
        /// any names and strings: quotes, backslashes, control bytes,
        /// U+2028, any Unicode, beside numbers and nested values.
        #[test]
        fn a_row_written_by_hand_is_what_serde_json_writes(
            cells in proptest::collection::vec(
                (any::<String>(), any::<String>(), any::<Option<i64>>(), any::<f64>()),
                0..6,
            ),
            quoted in r#"[a"\\\x00-\x1f\u{7f}\u{2028}é☃ ]{0,12}"#,
        ) {
            let mut row: Row<'_> = Vec::new();
            for (name, s, n, f) in &cells {
                row.push((Cow::Owned(name.clone()), Cell::Str(Cow::Borrowed(s))));
                row.push((Cow::Borrowed("n"), Cell::Json(n.map_or(Value::Null, Value::from))));
                row.push((Cow::Borrowed("f"), Cell::Json(Value::from(*f))));
                row.push((Cow::Owned(quoted.clone()), Cell::Str(Cow::Owned(quoted.clone()))));
            }
            row.push((Cow::Borrowed("o"), Cell::Json(serde_json::json!({"a": [1, "x\n"], "b": null}))));
            let mut text = Vec::new();
            write_row(&row, &mut text).unwrap();
            let expected = serde_json::to_string(&JsonObject(&row)).unwrap();
            prop_assert_eq!(String::from_utf8(text).unwrap(), expected);
        }
    }

    /// An event read as RawFields reads it, its values as their texts.
    fn read_as_raw_fields(line: &[u8]) -> Result<Option<Vec<(String, String)>>, String> {
        let texts = |RawFields(f)| {
            f.map(|f: Vec<(Cow<'_, str>, &RawValue)>| {
                f.into_iter()
                    .map(|(k, v)| (k.into_owned(), v.get().to_string()))
                    .collect()
            })
        };
        match RawFields::from_line(line) {
            Ok(r) => Ok(r.and_then(texts)),
            Err(e) => Err(e.0),
        }
    }

    proptest! {
        /// The fast scan of an event reads what serde_json reads, or is
        /// unsure: over lines of keys plain and escaped (a surrogate too),
        /// values of every kind (escaped strings, numbers of every form and
        /// size, nested values, Python's NaN, literals), any spacing, and
        /// lines cut short or with bytes after them.
        #[test]
        fn events_are_read_as_serde_json_reads_them(
            members in proptest::collection::vec((
                prop::sample::select(vec![
                    r#""page_url""#, r#""value""#, r#""a""#, r#""\u00e9""#, r#""k\"q""#,
                    r#""\ud83d\ude00""#, r#""""#, r#""username""#, "\"\u{e9}t\u{e9}\"",
                ]),
                prop::sample::select(vec![
                    r#""x""#, r#""{\"a\":1}""#, r#""\u00e9\n\t\/""#, r#""\ud800""#, "0", "-0",
                    "1.5e3", "1E+2", "12345678901234567890", "-9223372036854775808", "1e400",
                    "true", "null", "NaN", "-Infinity", "[]", r#"[1, {"b": [null, "c"]}]"#,
                    r#"{"n": NaN}"#, "{ }", "01", "1.", r#""a"#, "tru", "\"\u{1}\"",
                ]),
                prop::sample::select(vec!["", " ", "\t", "  "]),
            ), 0..6),
            tail in prop::sample::select(vec!["", " ", "x", ",", "}", "\n"]),
            cut in any::<prop::sample::Index>(),
            do_cut in any::<bool>(),
        ) {
            let mut line = String::from("{");
            for (i, (k, v, ws)) in members.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                    line.push_str(ws);
                }
                line.push_str(&format!("{k}{ws}:{ws}{v}"));
            }
            line.push('}');
            line.push_str(tail);
            if do_cut {
                let at = cut.index(line.len() + 1);
                if line.is_char_boundary(at) {
                    line.truncate(at);
                }
            }
            let expected = read_as_raw_fields(line.as_bytes());
            if let Some(m) = scan_members(&line) {
                let m: Vec<(String, String)> =
                    m.into_iter().map(|(k, v)| (k.into_owned(), v.to_string())).collect();
                prop_assert_eq!(Ok(Some(m)), expected.clone(), "{}", line);
            }
            let got = match Fields::from_line(line.as_bytes()) {
                Ok(f) => Ok(f.and_then(|Fields(f)| f).map(|f| {
                    f.into_iter().map(|(k, v)| (k.into_owned(), v.to_string())).collect()
                })),
                Err(e) => Err(e.0),
            };
            prop_assert_eq!(got, expected, "{}", line);
        }
    }

    /// The fixed columns' names and the value's and context's are the names
    /// [`slot`] knows, each at its place.
    #[test]
    fn every_name_read_has_its_slot() {
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(slot(name), Some(i), "{name}");
        }
        for (_, names) in FIXED {
            for n in *names {
                assert!(slot(n).is_some(), "{n}");
            }
        }
        for n in VALUE.iter().chain(&["context"]) {
            assert!(slot(n).is_some(), "{n}");
        }
        // And no other: a name with a slot is never counted as left out.
        for name in NAMES {
            let read = FIXED.iter().any(|(_, names)| names.contains(&name))
                || VALUE.contains(&name)
                || name == "context";
            assert!(read, "{name}");
        }
        assert_eq!(slot("Username"), None);
        assert_eq!(slot("host"), None);
    }

    /// No two of a row's column names are equal but for case (a table
    /// Spark refuses).
    fn assert_names_apart_without_case(row: &Value) {
        let names: Vec<String> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.to_lowercase())
            .collect();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{row}");
    }

    /// The rows of the job's output lines (`null TAB {row}`).
    fn rows_of(out: &[String]) -> Vec<Value> {
        out.iter()
            .map(|l| serde_json::from_str(l.split_once('\t').unwrap().1).unwrap())
            .collect()
    }

    #[test]
    fn quirky_events_become_rows() {
        let lines = [
            // a video event: value fields decoded
            r#"{"key": "user.video.lecture.action", "value": "{\"currentTime\":257.5,\"playbackRate\":1,\"type\":\"play\",\"paused\":false}", "username": "ann", "timestamp": 1375223423427, "page_url": "https://x.org/c/lecture/view?lecture_id=31", "session": "s1"}"#,
            // wrong types: a string timestamp (exact), a repeated quiz_id, a number username
            r#"{"key": "pageview", "value": "{}", "username": 7, "timestamp": "1375223423428", "page_url": "/view/quiz?quiz_id=abc&quiz_id=4&time=5"}"#,
            // nulls and missing fields; a value that is not JSON
            r#"{"key": null, "value": "not json", "username": null, "timestamp": 1.5}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["username"], "ann");
        assert_eq!(rows[0]["time"], 1375223423427i64);
        assert_eq!(rows[0]["action"], "/c/lecture/view");
        assert_eq!(rows[0]["lecture_id"], 31);
        assert_eq!(rows[0]["currentTime"], 257.5);
        assert_eq!(rows[0]["playbackRate"], 1.0);
        assert_eq!(rows[0]["type"], "play");
        assert_eq!(rows[0]["paused"], false);
        assert_eq!(rows[1]["username"], "7", "a number's JSON text");
        assert_eq!(rows[1]["time"], 1375223423428i64);
        assert_eq!(rows[1]["quiz_id"], Value::Null, "abc is not an integer");
        assert_eq!(rows[1]["query.time"], 5);
        assert_eq!(rows[2]["event_type"], Value::Null);
        assert_eq!(rows[2]["time"], Value::Null);
        assert_eq!(rows[2]["action"], Value::Null);
        assert_eq!(rows[2]["value"], "not json", "kept whole");
        assert_eq!(
            rows[1]["query.quiz_id"],
            Value::Null,
            "the first quiz_id counts"
        );
        assert_eq!(counters.get(COUNTERS, WRONG_TYPE), 2);
        assert_eq!(
            counters.get(COUNTERS, &format!("{WRONG_TYPE_IN} quiz_id")),
            1
        );
        assert_eq!(counters.get(COUNTERS, &format!("{WRONG_TYPE_IN} time")), 1);
        // Stored under the name it is documented with (`get` finds it by
        // the stored name too).
        let want = format!("{WRONG_TYPE_IN} time");
        assert!(counters.iter().any(|(_, name, _)| name == want), "{want}");
        assert_eq!(counters.get(COUNTERS, BAD_VALUE), 1);
        // Column order: the fixed columns first.
        assert!(out[0].starts_with("null\t{\"username\":\"ann\",\"time\":"));
    }

    /// A `value` string that Python's json.dumps wrote from a dict holding
    /// float('nan') is unfolded with null there, and counted; the words in
    /// its strings stay.
    #[test]
    fn a_python_value_with_nan_is_unfolded_with_null() {
        let lines = [
            r#"{"key": "user.video.lecture.action", "value": "{\"currentTime\": NaN, \"height\": 3, \"type\": \"NaN\"}", "username": "ann"}"#,
            r#"{"key": "user.video.lecture.action", "value": "{\"currentTime\": NaN", "username": "bob"}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["currentTime"], Value::Null);
        assert_eq!(rows[0]["height"], 3);
        assert_eq!(rows[0]["type"], "NaN");
        assert_eq!(
            rows[1]["value"], "{\"currentTime\": NaN",
            "not JSON even so: kept whole"
        );
        assert_eq!(counters.get(COUNTERS, VALUE_AS_NULL), 1);
        assert_eq!(counters.get(COUNTERS, BAD_VALUE), 1);
    }

    /// Of a value's fields whose names differ by case alone, the first in
    /// the event takes the column, as a query's first parameter does (found
    /// by a probe: the value's fields were walked sorted by name, so `Score`
    /// took `score`'s float column, and with three variants the kept value
    /// did not follow the event). A repeated name keeps its first place and
    /// its last value, as Python's `json.loads` reads it.
    #[test]
    fn a_value_field_first_in_the_event_takes_the_column() {
        let lines = [
            r#"{"username": "u", "value": {"score": 1.5, "Score": "x"}}"#,
            r#"{"username": "u", "value": "{\"Score\": \"2\", \"score\": 3, \"SCORE\": 4, \"score\": 5}"}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["score"], 1.5);
        assert_eq!(rows[0]["value.Score"], "x");
        assert_eq!(rows[1]["Score"], "2");
        assert_eq!(rows[1]["value.score"], 5.0);
        assert_eq!(rows[1].get("SCORE"), None);
        assert_eq!(counters.get(COUNTERS, NAME_CLASH), 1);
    }

    /// A name prefixed in another case (`Context.course_id` in a value)
    /// is prefixed again: it took the column of the event's
    /// `context.course_id`, dropped as a clash (probe /tmp/probe3-tables
    /// repro 02). A number kept whole is its text as written (repro 03).
    #[test]
    fn a_prefix_in_another_case_and_a_number_kept_whole() {
        let lines = [
            r#"{"username": "a", "page_url": "/p?x=1", "value": "{\"Context.course_id\": \"from value\", \"Value.x\": \"vx\", \"x\": \"value x\"}", "context": {"course_id": "MITx/6.002x"}}"#,
            r#"{"username": "b", "value": 9007199254740993.0}"#,
            r#"{"username": "c", "value": 1e2}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["context.course_id"], "MITx/6.002x");
        assert_eq!(rows[0]["value.Context.course_id"], "from value");
        assert_eq!(rows[0]["value.Value.x"], "vx");
        assert_eq!(rows[0]["value.x"], "value x");
        assert_eq!(counters.get(COUNTERS, NAME_CLASH), 0);
        assert_eq!(rows[1]["value"], "9007199254740993.0");
        assert_eq!(rows[2]["value"], "1e2");
    }

    /// An object or array written into a string column is its JSON text
    /// as written: numbers printed from an f64 changed
    /// (`9007199254740993.0` to `9007199254740992.0`, `1e2` to `100.0`) and
    /// keys were sorted, at the top level, in an object value and in an
    /// object in a string alike (probe /tmp/probe7-flow repro 01).
    #[test]
    fn nested_objects_keep_their_numbers_as_written() {
        let lines = [
            r#"{"username": "a", "event": {"answers": {"q1": 9007199254740993.0, "b": 1, "a": [0.1, 1e2]}}}"#,
            r#"{"username": "b", "session": {"start": 9007199254740993.0}, "event": "{\"answers\":{\"q1\":1e2}}"}"#,
            r#"{"username": "c", "value": [12345678901234567.5, {"z": 1, "y": 2}]}"#,
        ];
        let (out, _) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(
            rows[0]["answers"],
            r#"{"q1":9007199254740993.0,"b":1,"a":[0.1,1e2]}"#
        );
        assert_eq!(rows[1]["session"], r#"{"start":9007199254740993.0}"#);
        assert_eq!(rows[1]["answers"], r#"{"q1":1e2}"#);
        assert_eq!(rows[2]["value"], r#"[12345678901234567.5,{"z":1,"y":2}]"#);
    }

    /// No field takes another's column (found by a probe: a query's
    /// `value=` hid the event's text, `?context.course_id=` the context's,
    /// and `From` beside `from` made a table Spark refuses): each source
    /// keeps its own, names equal but for case are prefixed, and only a
    /// clash within one source leaves a field out, counted.
    #[test]
    fn no_field_takes_another_fields_column() {
        let lines = [
            r#"{"key": "search", "value": "not json", "page_url": "/search?value=foo&From=mail&context.course_id=spoof", "from": "/home", "context": {"course_id": "real"}}"#,
            r#"{"key": "k", "value": {"x": "value's", "value.x": "dotted", "Session": "S", "context.path": "v"}, "page_url": "/p?x=query's&Page=1&page=2", "session": "s"}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["value"], "not json");
        assert_eq!(rows[0]["query.value"], "foo");
        // Nor in a row whose value is an object (found by a later probe:
        // the table's `value` column held a URL's `?value=` beside events'
        // own values).
        let lines = [r#"{"key": "k", "value": {"Value": 1}, "page_url": "/p?value=spoof"}"#];
        let (spoof, _) = run_in_memory(&EventsTable, &lines).unwrap();
        let spoof = &rows_of(&spoof)[0];
        assert_eq!(spoof.get("value"), None, "{spoof}");
        assert_eq!(spoof["query.value"], "spoof");
        assert_eq!(spoof["value.Value"], "1");
        assert_eq!(rows[0]["from"], "/home");
        assert_eq!(rows[0]["query.From"], "mail");
        assert_eq!(rows[0]["context.course_id"], "real");
        assert_eq!(rows[0]["query.context.course_id"], "spoof");
        assert_eq!(rows[1]["x"], "query's");
        assert_eq!(rows[1]["value.x"], "value's");
        assert_eq!(rows[1]["value.value.x"], "dotted");
        assert_eq!(rows[1]["session"], "s");
        assert_eq!(rows[1]["value.Session"], "S");
        assert_eq!(rows[1]["value.context.path"], "v");
        assert_eq!(rows[1]["Page"], "1");
        assert_eq!(rows[1]["query.page"], "2");
        rows.iter().for_each(assert_names_apart_without_case);
        assert_eq!(counters.get(COUNTERS, NAME_CLASH), 0);
        assert_eq!(counters.get(COUNTERS, LEFT_OUT), 0);
        let (_, counters) = run_in_memory(
            &EventsTable,
            &[r#"{"key": "k", "host": "h", "referer": "r"}"#],
        )
        .unwrap();
        assert_eq!(counters.get(COUNTERS, LEFT_OUT), 2, "host and referer");
        assert_eq!(counters.get(COUNTERS, SECOND_NAME), 0);
        // A column's second name beside its first: read under the first,
        // the second counted once (page_url's two columns, one name pair).
        let (rows, counters) = run_in_memory(
            &EventsTable,
            &[
                r#"{"event": "page_view", "value": {"a": 1}, "page_url": "/x", "page": "/y"}"#,
                r#"{"key": "k", "event_type": "e", "time": 1, "timestamp": 2, "agent": null}"#,
            ],
        )
        .unwrap();
        let rows: Vec<Value> = rows
            .iter()
            .map(|l| serde_json::from_str(l.split_once('\t').unwrap().1).unwrap())
            .collect();
        assert_eq!(
            (&rows[0]["page_url"], &rows[0]["a"]),
            (&"/x".into(), &"1".into())
        );
        assert_eq!(rows[1]["event_type"], "k");
        assert_eq!(
            counters.get(COUNTERS, SECOND_NAME),
            4,
            "event, page; event_type, time"
        );
        assert_eq!(counters.get(COUNTERS, LEFT_OUT), 0);
        // Three names equal but for case, in one query: the first counts.
        let (_, counters) = run_in_memory(
            &EventsTable,
            &[
                r#"{"page_url": "/p?a=1&A=2&a_=3"}"#,
                r#"{"page_url": "/p?q=1&Q=2&query.q=3"}"#,
            ],
        )
        .unwrap();
        assert_eq!(counters.get(COUNTERS, NAME_CLASH), 0);
        let (out, counters) =
            run_in_memory(&EventsTable, &[r#"{"page_url": "/p?From=1&FROM=2"}"#]).unwrap();
        assert_eq!(rows_of(&out)[0]["query.From"], "1");
        assert_eq!(counters.get(COUNTERS, NAME_CLASH), 1);
    }

    /// An event of more than `FEW` fields in each place (top level, query,
    /// value) reads as a narrow one does: names are then looked up in sets
    /// (one of 40,000 fields took 17 s when each name was compared with
    /// every other).
    #[test]
    fn a_wide_event_reads_as_a_narrow_one() {
        let n = 3 * FEW;
        let mut query: Vec<String> = (0..n).map(|i| format!("p{i}={i}")).collect();
        query.extend(["p0=again".into(), "From=1".into(), "FROM=2".into()]);
        let mut value: Vec<String> = (0..n).map(|i| format!("\"n{i}\": {i}.50")).collect();
        value.push("\"n5\": 5.0e0".into());
        value.push("\"Session\": \"S\"".into());
        let mut top: Vec<String> = (0..n).map(|i| format!("\"h{i}\": {i}")).collect();
        top.push("\"h0\": 0".into());
        let line = format!(
            "{{\"session\": \"s\", \"page_url\": \"/p?{}\", \"value\": {{{}}}, {}}}",
            query.join("&"),
            value.join(", "),
            top.join(", ")
        );
        let (out, counters) = run_in_memory(&EventsTable, &[line.as_str()]).unwrap();
        let row = &rows_of(&out)[0];
        assert_eq!(row["p0"], "0", "the first of a repeated parameter");
        assert_eq!(row[format!("p{}", n - 1)], (n - 1).to_string());
        assert_eq!(row["query.From"], "1");
        assert_eq!(row["n7"], "7.50", "a number as written");
        assert_eq!(row["n5"], "5.0e0", "the last of a repeated field");
        assert_eq!(row["value.Session"], "S", "a name taken but for case");
        assert_eq!(row["session"], "s");
        assert_eq!(counters.get(COUNTERS, NAME_CLASH), 1, "FROM");
        assert_eq!(counters.get(COUNTERS, LEFT_OUT), n as i64, "h0 once");
        assert_names_apart_without_case(row);
    }

    /// edX tracking-log events: their field names, ISO times, `event` as
    /// an object or a string, and `context`.
    #[test]
    fn edx_events_become_rows() {
        let lines = [
            r#"{"username": "ann", "event_type": "play_video", "time": "2013-10-03T20:00:00.123456+00:00", "event": "{\"id\": \"i4x-v1\", \"currentTime\": 12.5, \"code\": \"html5\"}", "event_source": "browser", "context": {"course_id": "MITx/6.002x/2013_Spring", "user_id": 42, "org_id": "MITx"}, "ip": "1.2.3.4", "agent": "Mozilla/5.0", "page": "https://courses.edx.org/courses/MITx/6.002x/courseware/?child=1"}"#,
            r#"{"username": "bob", "event_type": "problem_check", "time": "2013-10-03T20:00:01+00:00", "event": {"problem_id": "i4x://MITx/p1", "attempts": 2, "grade": 1, "success": "correct"}, "context": {"course_id": "MITx/6.002x/2013_Spring"}, "page": null}"#,
            r#"{"username": "cy", "event_type": "problem_check", "time": 1380830401, "event": "input_i4x-MITx-p1_2_1=choice_3", "page": "x"}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["event_type"], "play_video");
        assert_eq!(rows[0]["time"], 1380830400123i64);
        assert_eq!(rows[0]["user_ip"], "1.2.3.4");
        assert_eq!(rows[0]["user_agent"], "Mozilla/5.0");
        assert_eq!(rows[0]["action"], "/courses/MITx/6.002x/courseware/");
        assert_eq!(rows[0]["child"], "1");
        assert_eq!(rows[0]["id"], "i4x-v1");
        assert_eq!(rows[0]["currentTime"], 12.5);
        assert_eq!(rows[0]["context.course_id"], "MITx/6.002x/2013_Spring");
        assert_eq!(rows[0]["context.user_id"], "42");
        assert_eq!(rows[0]["context.org_id"], "MITx");
        assert_eq!(rows[1]["time"], 1380830401000i64);
        assert_eq!(
            rows[1]["problem_id"], "i4x://MITx/p1",
            "not a number: a string column"
        );
        assert_eq!(rows[1]["attempts"], "2");
        assert_eq!(rows[1]["page_url"], Value::Null);
        assert_eq!(rows[2]["time"], 1380830401000i64, "seconds");
        assert_eq!(rows[2]["value"], "input_i4x-MITx-p1_2_1=choice_3");
        assert_eq!(counters.get(COUNTERS, BAD_VALUE), 1);
    }

    /// A `context` that is a JSON object in a string (as `event` often is,
    /// and as logs exported through Hive or Spark write it) is unfolded as
    /// an object is; one of another kind is counted (it was dropped without
    /// a word: probe /tmp/probe-events repro 01).
    #[test]
    fn a_context_in_a_string_is_unfolded_and_another_kind_counted() {
        let lines = [
            r#"{"username": "ann", "context": "{\"course_id\": \"MITx/6.002x\", \"user_id\": 42}"}"#,
            r#"{"username": "bob", "context": {"course_id": "MITx/6.002x", "user_id": 43}}"#,
            r#"{"username": "cy", "context": ""}"#,
            r#"{"username": "dee", "context": "MITx/6.002x"}"#,
            r#"{"username": "eve", "context": [1]}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        for (row, user_id) in [(0, "42"), (1, "43")] {
            assert_eq!(rows[row]["context.course_id"], "MITx/6.002x", "{row}");
            assert_eq!(rows[row]["context.user_id"], user_id, "{row}");
        }
        assert!(
            rows[2..]
                .iter()
                .all(|r| r.get("context.course_id").is_none())
        );
        assert_eq!(counters.get(COUNTERS, BAD_CONTEXT), 2, "dee's and eve's");
    }

    /// An integer column takes a float or its text only when it is an
    /// integer exactly: `4503599627370497.5` is read as the float
    /// `4503599627370498.0`, and was taken (probe /tmp/probe-events repro
    /// 02); its text tells. An integer beyond 64 bits in a JSON object in a
    /// string is refused as it is in an object (it was rounded: repro 03).
    #[test]
    fn numbers_are_converted_only_when_exact() {
        let lines = [
            r#"{"value": "{\"user_id\": 4503599627370497.5, \"attempt\": \"4503599627370497.5\"}"}"#,
            r#"{"value": {"user_id": 4503599627370497.5, "attempt": "99999999999999.999"}}"#,
            r#"{"value": "{\"user_id\": 12.0, \"attempt\": \"1.5e3\", \"height\": 1e2}"}"#,
            r#"{"value": {"user_id": -7e0, "attempt": "+3", "height": 100.000}}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        for row in &rows[..2] {
            assert_eq!(row["user_id"], Value::Null, "{row}");
            assert_eq!(row["attempt"], Value::Null, "{row}");
        }
        assert_eq!(counters.get(COUNTERS, WRONG_TYPE), 4);
        assert_eq!(
            (&rows[2]["user_id"], &rows[2]["attempt"], &rows[2]["height"]),
            (&Value::from(12), &Value::from(1500), &Value::from(100))
        );
        assert_eq!(
            (&rows[3]["user_id"], &rows[3]["attempt"], &rows[3]["height"]),
            (&Value::from(-7), &Value::from(3), &Value::from(100))
        );
        // With Python's NaN in the string, read as null, the others stay
        // (its text was looked up with the NaN in it, and failed: probe
        // /tmp/probe-verify7 repro 03).
        let (out, _) = run_in_memory(
            &EventsTable,
            &[r#"{"event": "{\"attempt\": 12.0, \"x\": NaN}"}"#],
        )
        .unwrap();
        assert_eq!(rows_of(&out)[0]["attempt"], 12);
        // A string column keeps a float as written: no f64 holds
        // 9007199254740993.0 or -0 (probe /tmp/probe-verify7 repro 01).
        let (out, _) = run_in_memory(
            &EventsTable,
            &[
                r#"{"session": 9007199254740993.0, "event": {"note": -0, "c": 1e3}, "context": "{\"org\": 9007199254740993.5}"}"#,
            ],
        )
        .unwrap();
        let row = &rows_of(&out)[0];
        assert_eq!(row["session"], "9007199254740993.0");
        assert_eq!(
            (&row["note"], &row["c"]),
            (&Value::from("-0"), &Value::from("1e3"))
        );
        assert_eq!(row["context.org"], "9007199254740993.5");
        for line in [
            r#"{"event": "{\"big\": 123456789012345678901}"}"#,
            r#"{"context": "{\"big\": -123456789012345678901}"}"#,
        ] {
            let e = run_in_memory(&EventsTable, &[line])
                .unwrap_err()
                .to_string();
            assert!(e.contains("does not fit in 64 bits"), "{e}");
            assert!(e.contains("in the JSON object in the string field"), "{e}");
        }
    }

    #[test]
    fn lines_that_are_not_objects_are_bad_records() {
        let e = run_in_memory(&EventsTable, &["[1, 2]"]).unwrap_err();
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        let e = run_in_memory(&EventsTable, &["{\"key\": "]).unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
        // Refused as a Json<Value> mapper refuses it, though the field is
        // no column: its value would be a rounded float.
        let e = run_in_memory(
            &EventsTable,
            &[r#"{"key": "k", "n": 123456789012345678901}"#],
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not fit in 64 bits"), "{e}");
        // A number beyond a float's range in a field the row reads is an
        // error, as serde_json reading the line would give; in a field left
        // out it is not read (Python's json reads it as inf).
        for field in ["timestamp", "username", "context"] {
            let line = format!(r#"{{"key": "k", "{field}": 1e400}}"#);
            let e = run_in_memory(&EventsTable, &[line.as_str()]).unwrap_err();
            assert!(e.to_string().contains("number out of range"), "{e}");
        }
        // The same object in a string (edX's browser events): a bad record
        // too, not text whose fields are left out (probe /tmp/probe9-table
        // repro 01). Text that is not an object stays text.
        let line = r#"{"key": "k", "event": "{\"code\": \"abc\", \"score\": 1e400}"}"#;
        let e = run_in_memory(&EventsTable, &[line]).unwrap_err();
        assert!(
            e.to_string()
                .contains("in the JSON object in the string field event: number out of range"),
            "{e}"
        );
        // With Python's NaN in it too: the number's error, not NaN's.
        let line = r#"{"key": "k", "event": "{\"b\": NaN, \"score\": 1e400}"}"#;
        let e = run_in_memory(&EventsTable, &[line]).unwrap_err();
        assert!(
            e.to_string().contains("field event: number out of range"),
            "{e}"
        );
        let line = r#"{"key": "k", "event": "{\"score\": 1e400"}"#;
        let (out, _) = run_in_memory(&EventsTable, &[line]).unwrap();
        assert_eq!(rows_of(&out)[0]["value"], r#"{"score": 1e400"#);
        let (out, counters) =
            run_in_memory(&EventsTable, &[r#"{"key": "k", "n": 1e400}"#]).unwrap();
        assert_eq!(rows_of(&out)[0]["event_type"], "k");
        assert_eq!(counters.get(COUNTERS, LEFT_OUT), 1);
    }

    /// The event's fields are read as a JSON object read into a map reads
    /// them: a repeated name's last value counts, and is left out once; an
    /// escaped name is its decoded self; strings with escapes are decoded.
    #[test]
    fn repeated_and_escaped_names_read_as_a_map_reads_them() {
        let lines = [
            r#"{"username": "first", "us\u0065rname": "last", "page": "/p?a=1", "x": 1, "x": 2, "y": 3}"#,
            r#"{"page_url": "https:\/\/x.org\/c\/v?q=\u00e9", "value": {"score": "2.5"}, "event_type": "e\"1"}"#,
        ];
        let (out, counters) = run_in_memory(&EventsTable, &lines).unwrap();
        let rows = rows_of(&out);
        assert_eq!(rows[0]["username"], "last");
        assert_eq!(rows[0]["action"], "/p");
        assert_eq!(rows[0]["a"], "1");
        assert_eq!(counters.get(COUNTERS, LEFT_OUT), 2, "x once, y");
        assert_eq!(rows[1]["page_url"], "https://x.org/c/v?q=\u{e9}");
        assert_eq!(rows[1]["action"], "/c/v");
        assert_eq!(rows[1]["q"], "\u{e9}");
        assert_eq!(rows[1]["score"], 2.5);
        assert_eq!(rows[1]["event_type"], "e\"1");
    }
}
