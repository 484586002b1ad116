//! Consistent categorical ids, with no server: strings of chosen columns
//! replaced by small integer ids that are the same whatever the threads,
//! partitions, chunk sizes or machines.
//!
//! Two MapReduce steps and a small file between them:
//!
//! 1. [`CountValues`] (a [`Step`] with a [`Count`] fold, so values are summed
//!    by the combiner on the map side): `[column, value] -> count` for each
//!    string of each chosen column;
//! 2. [`Dictionary::from_counts`]: per column, the distinct values ordered by
//!    descending count, then by value (bytes), numbered densely from 0, as
//!    Spark's `StringIndexer` does by default; written as one small JSON-lines
//!    file per column (`{"id":0,"value":"ann","count":12}`,
//!    [`Dictionary::write`]);
//! 3. [`EncodeColumns`] (map-only, order kept): reads the dictionaries (a job
//!    file: a directory path the mapper opens in `init`) and replaces each
//!    string of a chosen column by its id.
//!
//! The ids depend only on the counts and the values, never on the order the
//! records were seen in, so every worker agrees. A job asks for this with
//! [`crate::Job::categorical_columns`]: the local runner then runs the three
//! stages after the job's last step and puts the dictionaries in
//! `OUTPUT/_dictionaries/COLUMN.jsonl` (with output on stdout, values stay
//! strings). A Parquet table gets the same ids, dictionaries and rows
//! without the stages' jobs: the values are counted ([`ValueCounts`]) in the
//! pass that infers the table's types, and replaced by their ids
//! ([`RowEncoder`]) as the table is written (see
//! [`crate::output::parquet::Scan`]).
//!
//! Across runs ([`IdSource`]): ids afresh, kept from one earlier output
//! (`--dictionaries`, [`Dictionary::keeping_ids_of`]), or given for good by
//! a [`Store`] that every run extends in place (`--dictionary-store`).
//!
//! Records are `key TAB value` lines whose value is a JSON object, or bare
//! JSON object lines; fields keep their order. A value of a chosen column
//! that is not a string (a number, an object) becomes null and is counted
//! ([`COUNTERS`] / [`NOT_A_STRING`]); null stays null.

use crate::fold::Count;
use crate::protocol::{JsonObject, RawFields, split_record};
use crate::{Emitter, Job, JobError, Mapper, Step, TaskContext};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Hash maps of a dictionary's values (FxHash: fast on short strings; a
/// store holds millions of them).
type FxHashMap<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Counter group of the categorical stages.
pub const COUNTERS: &str = "categorical";
/// Counter of values of a chosen column that are not strings (made null).
pub const NOT_A_STRING: &str = "non-string values in categorical columns";
/// Where a run's dictionaries go, under the output directory.
pub const DICTIONARIES: &str = "_dictionaries";

/// The fields of `obj`, a record's JSON object, in order: names borrowed
/// unless escaped, values as raw JSON text. The stages read rows this run
/// wrote: anything else is the run's error.
fn fields_of(obj: &[u8]) -> Result<Vec<(Cow<'_, str>, &RawValue)>, JobError> {
    let not = |e: &dyn fmt::Display| JobError::msg(format!("not a JSON object: {e}"));
    let text = std::str::from_utf8(obj).map_err(|e| not(&e))?;
    match serde_json::from_str(text) {
        Ok(RawFields(Some(fields))) => Ok(fields),
        Ok(RawFields(None)) => Err(JobError::msg("not a JSON object")),
        Err(e) => Err(not(&e)),
    }
}

/// The object of a record line: the value of `key TAB value`, or the line.
fn record_object(line: &[u8]) -> &[u8] {
    if memchr::memchr(b'\t', line).is_some() {
        split_record(line).1
    } else {
        line
    }
}

/// A string value, `None` for null, `Err` for any other JSON.
fn as_string(raw: &RawValue) -> Result<Option<Cow<'_, str>>, ()> {
    let t = raw.get();
    if t == "null" {
        return Ok(None);
    }
    if !t.starts_with('"') {
        return Err(());
    }
    #[derive(Deserialize)]
    struct S<'a>(#[serde(borrow)] Cow<'a, str>);
    serde_json::from_str::<S>(t)
        .map(|s| Some(s.0))
        .map_err(|_| ())
}

/// Stage 1's mapper: `[column, value] -> 1` for each string of each chosen
/// column.
#[derive(Clone)]
pub struct CountValues {
    columns: Arc<Vec<String>>,
}

impl CountValues {
    /// Counts the values of `columns`.
    pub fn new(columns: Vec<String>) -> Self {
        CountValues {
            columns: Arc::new(columns),
        }
    }

    /// The step: this mapper and a [`Count`] fold.
    pub fn step(columns: Vec<String>) -> Step {
        Step::map(CountValues::new(columns)).fold(Count::new())
    }
}

impl Mapper for CountValues {
    type Input<'a> = &'a [u8];
    type Key = (String, String);
    type Value = u64;

    fn map(
        &mut self,
        line: &[u8],
        out: &mut Emitter<(String, String), u64>,
    ) -> Result<(), JobError> {
        let obj = record_object(line);
        if obj.trim_ascii().is_empty() {
            return Ok(());
        }
        let fields = fields_of(obj)?;
        let mut key = (String::new(), String::new());
        for (name, raw) in &fields {
            if !self.columns.iter().any(|c| c == name) {
                continue;
            }
            match as_string(raw) {
                Ok(Some(v)) => {
                    key.0.clear();
                    key.0.push_str(name);
                    key.1.clear();
                    key.1.push_str(&v);
                    out.emit(&key, 1)?;
                }
                Ok(None) => {}
                Err(()) => out.count(COUNTERS, NOT_A_STRING, 1),
            }
        }
        Ok(())
    }
}

/// Per column, each value's id (and count).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dictionary {
    /// Column -> values in id order, with their counts.
    pub columns: BTreeMap<String, Values>,
}

impl Dictionary {
    /// Builds the dictionaries from stage 1's output lines
    /// (`["column","value"] TAB count`), in any order.
    ///
    /// ```
    /// use mr_core::categorical::Dictionary;
    /// let d = Dictionary::from_counts([
    ///     "[\"user\",\"bob\"]\t1", "[\"user\",\"ann\"]\t3", "[\"user\",\"cy\"]\t1",
    /// ].iter().map(|l| l.as_bytes())).unwrap();
    /// let ids: Vec<_> = d.columns["user"].iter().map(|(v, _)| v).collect();
    /// assert_eq!(ids, ["ann", "bob", "cy"]); // 3, then 1 and 1 by value
    /// ```
    pub fn from_counts<'a>(
        lines: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Dictionary, crate::Error> {
        let mut counted = Counted::default();
        for line in lines {
            counted.add(line)?;
        }
        Ok(counted.dictionary())
    }

    /// [`from_counts`](Self::from_counts) of the lines of the files at
    /// `paths`, read a line at a time: stage 1's output of a day of
    /// clicklogs can hold millions of distinct URLs.
    pub fn from_count_files(paths: &[PathBuf]) -> Result<Dictionary, crate::Error> {
        use std::io::BufRead;
        let mut counted = Counted::default();
        let mut line = Vec::new();
        for path in paths {
            let file =
                std::fs::File::open(path).map_err(|e| crate::Error::io("reading", path, e))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => counted.add(line.strip_suffix(b"\n").unwrap_or(&line))?,
                    Err(e) => return Err(crate::Error::io("reading", path, e)),
                }
            }
        }
        Ok(counted.dictionary())
    }

    /// This run's dictionaries renumbered to keep the ids of `previous` (an
    /// earlier run's, `--dictionaries`): each column starts with the values of
    /// `previous` in their id order, counted in this run (0 when not seen),
    /// then this run's other values in their order (count descending, then
    /// value). So tables written by successive runs share ids, and the last
    /// dictionaries decode them all.
    ///
    /// ```
    /// use mr_core::categorical::Dictionary;
    /// let counts = |lines: &[&str]| Dictionary::from_counts(lines.iter().map(|l| l.as_bytes())).unwrap();
    /// let monday = counts(&["[\"user\",\"bob\"]\t2", "[\"user\",\"ann\"]\t1"]);
    /// let tuesday = counts(&["[\"user\",\"cy\"]\t5", "[\"user\",\"ann\"]\t9"]);
    /// let kept = tuesday.keeping_ids_of(&monday);
    /// assert_eq!(kept.columns["user"].to_vec(), [("bob".into(), 0), ("ann".into(), 9), ("cy".into(), 5)]);
    /// ```
    pub fn keeping_ids_of(self, previous: &Dictionary) -> Dictionary {
        self.keeping_ids(previous.clone())
    }

    /// [`keeping_ids_of`](Self::keeping_ids_of), taking `previous`: its
    /// values are kept where they are, their counts replaced by this run's
    /// (a store holds millions).
    fn keeping_ids(mut self, previous: Dictionary) -> Dictionary {
        for (col, mut values) in previous.columns {
            let new = self.columns.remove(&col).unwrap_or_default();
            // Which of this run's values `previous` has, and their counts.
            let mut taken = vec![false; new.len()];
            let at = Index::of(&new);
            for id in 0..values.len() {
                values.counts[id] = at.find(&new, values.value(id)).map_or(0, |i| {
                    taken[i] = true;
                    new.counts[i]
                });
            }
            drop(at);
            // `new` is in id order already; add only the values `previous` lacks.
            for ((v, n), taken) in new.iter().zip(taken) {
                if !taken {
                    values.push(v, n);
                }
            }
            if !values.is_empty() {
                self.columns.insert(col, values);
            }
        }
        self
    }

    /// The dictionaries of `columns` given to `--dictionaries`: `dir` is an
    /// earlier output's `_dictionaries/`, or that output itself. Unlike
    /// [`Dictionary::read`], a directory holding none of the columns'
    /// files is an error (a mistyped path must not start the ids afresh).
    pub fn previous(dir: &Path, columns: &[String]) -> Result<Dictionary, crate::Error> {
        let config = |reason: String| {
            crate::Error::Config(format!("--dictionaries {}: {reason}", dir.display()))
        };
        if dir.is_file() {
            return Err(config(
                "is a file: give the earlier output directory (or its _dictionaries/)".into(),
            ));
        }
        if !dir.is_dir() {
            return Err(config(match std::fs::metadata(dir) {
                // Exists, but cannot be reached (a directory without x).
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => e.to_string(),
                _ => "no such directory".into(),
            }));
        }
        // A store read as an output's dictionaries gave new values ids it
        // never recorded, which it later gave other values (probe
        // /tmp/probe25 repro 06): the two flags look alike.
        if dir.join(STORE_SIZES).exists() {
            return Err(config(format!(
                "is a dictionary store (it holds {STORE_SIZES}): give it as --dictionary-store {}, \
                 which records the ids this run gives; --dictionaries reads an earlier output's \
                 dictionaries and records nothing, so the store would give this run's new ids \
                 to other values",
                crate::error::printable_path(dir)
            )));
        }
        let inner = dir.join(DICTIONARIES);
        let dir = if inner.is_dir() {
            inner
        } else {
            dir.to_path_buf()
        };
        let has = |c: &String| dir.join(format!("{}.jsonl", file_name(c))).is_file();
        if !columns.iter().any(has) {
            let names: Vec<String> = columns
                .iter()
                .map(|c| format!("{}.jsonl", file_name(c)))
                .collect();
            return Err(config(format!(
                "holds no dictionary of this job's columns (one of {} here or in its {DICTIONARIES}/)",
                names.join(", ")
            )));
        }
        let missing: Vec<&str> = columns
            .iter()
            .filter(|c| !has(c))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            // Every column has a file in an output of this mr: one without
            // is an older output's, or another job's. Said, not refused.
            crate::errln!(
                "mr: warning: --dictionaries {}: no dictionary of {}: their ids start afresh",
                dir.display(),
                missing.join(", ")
            );
        }
        Dictionary::read(&dir, columns)
    }

    /// Writes `dir/COLUMN.jsonl` per column: `{"id":N,"value":"...","count":N}`
    /// lines in id order. Column names are made safe as file names.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, crate::Error> {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io("creating", dir, e))?;
        let mut files = Vec::new();
        for (col, values) in &self.columns {
            let path = dir.join(format!("{}.jsonl", file_name(col)));
            write_file(&path, |w| write_entries(w, values.iter()))
                .map_err(|e| crate::Error::io("writing", &path, e))?;
            files.push(path);
        }
        Ok(files)
    }

    /// Reads the dictionaries of `columns` from `dir` (a column without a
    /// file has no values). Each value is checked to be there once: a
    /// store of millions of usernames is read in about a second.
    pub fn read(dir: &Path, columns: &[String]) -> Result<Dictionary, crate::Error> {
        let mut out = Dictionary::default();
        for col in columns {
            let path = dir.join(format!("{}.jsonl", file_name(col)));
            let mut values = Values::default();
            let mut lines = Vec::new(); // each value's line number, for errors
            each_entry(&path, |i, e| {
                values.push(&e.value, e.count);
                lines.push(i);
            })?;
            if let Some((first, id)) = Index::of(&values).twice {
                return Err(crate::Error::Format {
                    what: format!("dictionary {}:{}", path.display(), lines[id] + 1),
                    reason: format!("value {:?} has id {first} already", values.value(id)),
                });
            }
            out.columns.insert(col.clone(), values);
        }
        Ok(out)
    }
}

/// A column's values in id order, each with its count. The text of all of
/// them is in one buffer: a value costs its bytes and 16 more, where a
/// `String` each cost 50-60 more (a store holds millions, and a day of
/// clicklogs millions of distinct URLs).
///
/// ```
/// use mr_core::categorical::Values;
/// let mut v = Values::default();
/// v.push("ann", 3);
/// v.push("", 2); // the empty string is a value too
/// v.push("bob", 1);
/// assert_eq!(v.len(), 3);
/// assert_eq!(v.get(1), Some(("", 2)));
/// assert_eq!(v.get(2), Some(("bob", 1)));
/// assert_eq!(v.get(3), None);
/// assert_eq!(v.to_vec(), [("ann".to_string(), 3), ("".to_string(), 2), ("bob".to_string(), 1)]);
/// assert_eq!(v, [("ann", 3), ("", 2), ("bob", 1)].into_iter().collect());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// Every value's text, one after the other.
    text: String,
    /// Where each value's text ends in `text`.
    ends: Vec<usize>,
    /// Each value's count.
    counts: Vec<u64>,
}

impl Values {
    /// Adds `value` with `count`: its id is the number of values before it.
    pub fn push(&mut self, value: &str, count: u64) {
        self.text.push_str(value);
        self.ends.push(self.text.len());
        self.counts.push(count);
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The value of id `id` and its count.
    pub fn get(&self, id: usize) -> Option<(&str, u64)> {
        Some((
            self.text.get(self.start(id)..*self.ends.get(id)?)?,
            self.counts[id],
        ))
    }

    /// The values and their counts, in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, u64)> + '_ {
        (0..self.len()).map(|id| (self.value(id), self.counts[id]))
    }

    /// The values and their counts, each value a `String` of its own.
    pub fn to_vec(&self) -> Vec<(String, u64)> {
        self.iter().map(|(v, n)| (v.to_string(), n)).collect()
    }

    /// Empty, with room for `len` values of `text` bytes in all.
    fn with_capacity(len: usize, text: usize) -> Values {
        Values {
            text: String::with_capacity(text),
            ends: Vec::with_capacity(len),
            counts: Vec::with_capacity(len),
        }
    }

    /// The value of `id`, an id below [`len`](Self::len).
    fn value(&self, id: usize) -> &str {
        &self.text[self.start(id)..self.ends[id]]
    }

    /// Where the text of `id` starts.
    fn start(&self, id: usize) -> usize {
        id.checked_sub(1).map_or(0, |i| self.ends[i])
    }

    /// The same values ordered by descending count, then by value (bytes):
    /// the order of fresh ids. The sorted copy is made beside these values
    /// with their spare room given back first: the peak is twice the
    /// text, not three times (a `String` grown by doubling).
    fn by_count(mut self) -> Values {
        self.text.shrink_to_fit();
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            (self.counts[b].cmp(&self.counts[a])).then_with(|| self.value(a).cmp(self.value(b)))
        });
        let mut sorted = Values::with_capacity(self.len(), self.text.len());
        for id in order {
            sorted.push(self.value(id), self.counts[id]);
        }
        sorted
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<(S, u64)> for Values {
    fn from_iter<I: IntoIterator<Item = (S, u64)>>(iter: I) -> Values {
        let mut values = Values::default();
        for (v, n) in iter {
            values.push(v.as_ref(), n);
        }
        values
    }
}

/// The ids of a [`Values`]' values, found by value: a hash table of ids,
/// the text left where it is (8 bytes a value, not a `String` key).
struct Index {
    table: hashbrown::HashTable<usize>,
    /// The first value found there twice: its two ids (the first is the
    /// one the index finds).
    twice: Option<(usize, usize)>,
}

impl Index {
    /// Indexes every value of `values`.
    fn of(values: &Values) -> Index {
        let mut index = Index {
            table: hashbrown::HashTable::with_capacity(values.len()),
            twice: None,
        };
        for (id, v) in (0..values.len()).map(|id| (id, values.value(id))) {
            let at = index.table.entry(
                hash_of(v),
                |&i| values.value(i) == v,
                |&i| hash_of(values.value(i)),
            );
            match at {
                hashbrown::hash_table::Entry::Occupied(first) => {
                    index.twice = index.twice.or(Some((*first.get(), id)));
                }
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(id);
                }
            }
        }
        index
    }

    /// The id of `value` in `values` (those this index was made of).
    fn find(&self, values: &Values, value: &str) -> Option<usize> {
        self.table
            .find(hash_of(value), |&i| values.value(i) == value)
            .copied()
    }
}

/// The hash of a value in an [`Index`], keyed per process: values built
/// to collide under FxHash (user agents come from the client) made giving
/// ids quadratic (probe /tmp/probe13-complexity repro 02).
fn hash_of(value: &str) -> u64 {
    crate::table_hash::hash_bytes(value.as_bytes())
}

/// Stage 1's counts as read, each column's values in the order they came.
#[derive(Default)]
struct Counted(BTreeMap<String, Values>);

impl Counted {
    /// Adds one `["column","value"] TAB count` line (a blank one is none).
    fn add(&mut self, line: &[u8]) -> Result<(), crate::Error> {
        /// A string borrowed from the line unless it holds an escape.
        #[derive(Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        if line.trim_ascii().is_empty() {
            return Ok(());
        }
        let (k, v) = split_record(line);
        let bad = |e: serde_json::Error| crate::Error::Format {
            what: "categorical value counts".into(),
            reason: format!("{e}: {}", crate::error::snippet(line)),
        };
        let (Text(col), Text(value)): (Text, Text) = serde_json::from_slice(k).map_err(bad)?;
        let count: u64 = serde_json::from_slice(v).map_err(bad)?;
        match self.0.get_mut(col.as_ref()) {
            Some(values) => values.push(&value, count),
            None => self
                .0
                .entry(col.into_owned())
                .or_default()
                .push(&value, count),
        }
        Ok(())
    }

    /// The dictionaries: each column's values numbered by descending count,
    /// then by value.
    fn dictionary(self) -> Dictionary {
        let columns = self.0.into_iter().map(|(c, v)| (c, v.by_count())).collect();
        Dictionary { columns }
    }
}

/// One line of a dictionary file.
#[derive(Deserialize)]
struct Entry<'a> {
    id: usize,
    #[serde(borrow)]
    value: Cow<'a, str>,
    count: u64,
}

/// Reads the dictionary file at `path` (none: no values), a line at a
/// time (a store's file can be hundreds of MB), giving `f` each entry and
/// its line's index, and checks that the ids are 0, 1, 2, ...; returns how
/// many there are.
fn each_entry(path: &Path, mut f: impl FnMut(usize, Entry<'_>)) -> Result<usize, crate::Error> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(crate::Error::io("reading", path, e)),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let at = |i: usize| format!("dictionary {}:{}", path.display(), i + 1);
    let (mut n, mut buf) = (0, Vec::new());
    for i in 0.. {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(crate::Error::io("reading", path, e)),
        }
        let mut line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if i == 0 {
            // A store file saved by a Windows editor starts with a BOM,
            // which input files have taken off too; it was refused as
            // "expected value at line 1 column 1" (probe /tmp/probe23-fuzz,
            // notes).
            line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        }
        if line.is_empty() {
            continue;
        }
        let e = match plain_entry(line) {
            Some((count, id, value)) => Entry {
                id,
                value: Cow::Borrowed(value),
                count,
            },
            None => serde_json::from_slice(line).map_err(|e| crate::Error::Format {
                what: at(i),
                reason: e.to_string(),
            })?,
        };
        if e.id != n {
            return Err(crate::Error::Format {
                what: at(i),
                reason: format!("id {} where {n} was expected", e.id),
            });
        }
        f(i, e);
        n += 1;
    }
    Ok(n)
}

/// A dictionary line as [`write_entries`] writes it for a value without
/// escapes, `{"count":N,"id":N,"value":"..."}`, read without a parser:
/// `(count, id, value)`. `None` for any other line (escapes, other
/// spacing or order, a number out of range), which serde_json reads.
fn plain_entry(line: &[u8]) -> Option<(u64, usize, &str)> {
    /// The decimal number at the start of `b` (no sign, no leading zero
    /// but `0` itself), and the rest of `b`.
    fn number(b: &[u8]) -> Option<(u64, &[u8])> {
        let end = b
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(b.len());
        let (digits, rest) = b.split_at(end);
        if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && digits.len() > 1) {
            return None;
        }
        let n = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        Some((n, rest))
    }
    let rest = line.strip_prefix(br#"{"count":"#)?;
    let (count, rest) = number(rest)?;
    let (id, rest) = number(rest.strip_prefix(br#","id":"#)?)?;
    let value = rest
        .strip_prefix(br#","value":""#)?
        .strip_suffix(br#""}"#)?;
    if value.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20) {
        return None;
    }
    Some((
        count,
        usize::try_from(id).ok()?,
        std::str::from_utf8(value).ok()?,
    ))
}

/// Writes a dictionary file's lines, `{"count":N,"id":N,"value":"..."}` in
/// id order (the keys sorted, as every dictionary written so far has
/// them), to `w`, a line at a time (a store holds millions).
fn write_entries<'a>(
    w: &mut dyn std::io::Write,
    values: impl Iterator<Item = (&'a str, u64)>,
) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        count: u64,
        id: usize,
        value: &'a str,
    }
    for (id, (value, count)) in values.enumerate() {
        serde_json::to_writer(&mut *w, &Entry { count, id, value })?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Creates the file at `path` with what `write` writes to it, buffered.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write(&mut w)?;
    w.flush()?;
    w.into_inner().map_err(std::io::IntoInnerError::into_error)
}

/// Where a run's categorical ids come from.
#[derive(Debug, Clone)]
pub enum IdSource {
    /// Numbered afresh from 0, by count ([`Dictionary::from_counts`]).
    Fresh,
    /// Keeping an earlier run's ids (`--dictionaries`, see
    /// [`Dictionary::keeping_ids_of`]).
    Previous(Dictionary),
    /// Given for good by a store every run shares (`--dictionary-store`).
    Store(Store),
}

impl IdSource {
    /// This run's dictionary for the values it `counted` (each with this
    /// run's count): the ids the source gives.
    pub fn assign(
        &self,
        counted: Dictionary,
        columns: &[String],
    ) -> Result<Dictionary, crate::Error> {
        match self {
            IdSource::Fresh => Ok(counted),
            IdSource::Previous(p) => Ok(counted.keeping_ids_of(p)),
            IdSource::Store(s) => s.assign(counted, columns),
        }
    }
}

/// How many ids a [`Store`] has given per column (a JSON object), written
/// after the column files: a column file found with fewer values was
/// emptied, cut or replaced, and is refused rather than read as new.
pub const STORE_SIZES: &str = ".mr-store-sizes.json";
/// Column -> how many ids a [`Store`] has given it.
type Sizes = BTreeMap<String, usize>;

/// A dictionary store (`--dictionary-store DIR`): one `COLUMN.jsonl` per
/// column, in the format of an output's `_dictionaries/`, that every run
/// given it reads and extends in place, one run at a time (an exclusive
/// lock on the directory, [`crate::lock::DirLock`], held only while
/// ids are given). A value's id is
/// given once and never changes or goes to another value, whatever the
/// order the runs ran in: a day run again, two days run at once, a run that
/// failed after its ids were given (its ids stay, unused). So every table
/// encoded with the store decodes with the store as it is now, as the ids
/// of a Redis `INCR` would. `--dictionaries`, which reads an earlier
/// output, cannot promise that: two runs given the same output give their
/// new values the same next ids.
///
/// A store's `count` is the sum of the counts of every run that used it (a
/// day run again counts twice); each output's `_dictionaries/` keeps its
/// own run's counts, with every id the store had given.
///
/// ```
/// use mr_core::categorical::{Dictionary, Store};
/// let d = tempfile::tempdir().unwrap();
/// let cols = ["user".to_string()];
/// let store = Store::open(&d.path().join("ids"), &cols).unwrap();
/// let counts = |l: &[&str]| Dictionary::from_counts(l.iter().map(|l| l.as_bytes())).unwrap();
/// let day1 = store.assign(counts(&["[\"user\",\"bob\"]\t2", "[\"user\",\"ann\"]\t1"]), &cols).unwrap();
/// let day2 = store.assign(counts(&["[\"user\",\"cy\"]\t5"]), &cols).unwrap();
/// // Day 1 run again with other values: bob and cy keep their ids.
/// let again = store.assign(counts(&["[\"user\",\"dee\"]\t1", "[\"user\",\"bob\"]\t1"]), &cols).unwrap();
/// let ids = |d: &Dictionary| d.columns["user"].iter().map(|(v, _)| v.to_string()).collect::<Vec<_>>();
/// assert_eq!(ids(&day1), ["bob", "ann"]);
/// assert_eq!(ids(&day2), ["bob", "ann", "cy"]);
/// assert_eq!(ids(&again), ["bob", "ann", "cy", "dee"]);
/// let stored = Dictionary::read(&d.path().join("ids"), &cols).unwrap();
/// assert_eq!(stored.columns["user"], [("bob", 3), ("ann", 1), ("cy", 5), ("dee", 1)].into_iter().collect());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store at `dir`, checked if it exists (created by the first
    /// [`assign`](Self::assign) otherwise, so that a run refused for
    /// another reason leaves nothing): a store that cannot be read or
    /// written, is damaged, or is not a dictionary store fails the run
    /// before anything runs. (A value given two ids, which only a hand edit
    /// makes, is found by `assign`, before anything is written.)
    pub fn open(dir: &Path, columns: &[String]) -> Result<Store, crate::Error> {
        let config = |reason: &str| {
            crate::Error::Config(format!("--dictionary-store {}: {reason}", dir.display()))
        };
        if dir.is_file() {
            return Err(config("is a file: give a directory (created when missing)"));
        }
        let success = crate::output::commit::SUCCESS;
        // An output, or inside one: at its top, in a directory of it, or
        // deeper under a directory a job writes (a store in an output's
        // _temporary/ went with the output's next --overwrite: probe
        // /tmp/probe25 repro 04). A `_SUCCESS` higher up beside other
        // directories (one copied into $HOME) is no output of this store's.
        let real = crate::paths::resolved(dir);
        let ancestors: Vec<&Path> = real.ancestors().collect();
        let output = ancestors.iter().enumerate().find(|(i, a)| {
            a.join(success).exists()
                && (*i <= 1
                    || ancestors[i - 1].file_name().is_some_and(|n| {
                        crate::output::commit::written_by_a_job(&n.to_string_lossy())
                    }))
        });
        if let Some((_, out)) = output {
            return Err(config(&format!(
                "is a job's output, or inside one ({} holds {success}): a store is a directory \
                 of its own, which runs extend in place (use --dictionaries to read an earlier \
                 output's)",
                crate::error::printable_path(out)
            )));
        }
        let store = Store {
            dir: dir.to_path_buf(),
        };
        if dir.is_dir() {
            store.check(columns)?;
            // Writable: said now, not once the job has run.
            // A fresh name, made exclusively: never a file planted there.
            tempfile::Builder::new()
                .prefix(".mr-store.probe-")
                .tempfile_in(dir)
                .map_err(|e| crate::Error::io("writing into the dictionary store", dir, e))?;
            store.check_replaceable(columns)?;
        } else if let Some(parent) = std::path::absolute(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .ancestors()
            .skip(1)
            .find(|a| a.is_dir())
        {
            // To be made there by the first run: that it can be is said now
            // too (a read-only disk, a directory of another user's).
            use rustix::fs::{Access, access};
            access(parent, Access::WRITE_OK | Access::EXEC_OK).map_err(|e| {
                crate::Error::io(
                    "creating the dictionary store in",
                    parent,
                    std::io::Error::from(e),
                )
            })?;
        }
        Ok(store)
    }

    /// Refuses, before the job runs, a store whose files this user cannot
    /// replace: in a sticky directory (a team's, as /tmp), a file of
    /// another user's can be read but not renamed over, and `assign`
    /// failed after the whole run, with some columns replaced (probe
    /// /tmp/probe25 repro 03).
    #[cfg(unix)]
    fn check_replaceable(&self, columns: &[String]) -> Result<(), crate::Error> {
        use std::os::unix::fs::MetadataExt;
        let Ok(dir) = std::fs::metadata(&self.dir) else {
            return Ok(());
        };
        let names = columns
            .iter()
            .map(|c| format!("{}.jsonl", file_name(c)))
            .chain([STORE_SIZES.to_string()]);
        for name in names {
            if let Some(owner) = crate::paths::sticky_owner(&dir, &self.dir.join(&name)) {
                return Err(crate::Error::Config(format!(
                    "--dictionary-store {}: its {name} belongs to another user (uid {}), and the \
                     store's directory is sticky (mode +t), so this run could not replace it: \
                     its owner (uid {}) can clear the sticky bit (chmod -t {}), for the store's \
                     writers share it through its group",
                    crate::error::printable_path(&self.dir),
                    owner,
                    dir.uid(),
                    crate::error::printable_path(&self.dir),
                )));
            }
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_replaceable(&self, _columns: &[String]) -> Result<(), crate::Error> {
        Ok(())
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's dictionaries of `columns`, each checked against the
    /// number of ids the store has given per column ([`STORE_SIZES`],
    /// returned too: every column's, for the next write).
    fn read(&self, columns: &[String]) -> Result<(Dictionary, Sizes), crate::Error> {
        let sizes = self.sizes()?;
        let dict = Dictionary::read(&self.dir, columns)?;
        for (col, values) in &dict.columns {
            self.check_size(col, values.len(), &sizes)?;
        }
        Ok((dict, sizes))
    }

    /// Checks the store's files of `columns` as [`read`](Self::read) does,
    /// but for a value given twice (found under the lock), without holding
    /// them: what [`open`](Self::open) does before the job runs.
    fn check(&self, columns: &[String]) -> Result<(), crate::Error> {
        let sizes = self.sizes()?;
        for col in columns {
            let path = self.dir.join(format!("{}.jsonl", file_name(col)));
            let n = each_entry(&path, |_, _| {})?;
            self.check_size(col, n, &sizes)?;
        }
        Ok(())
    }

    /// How many ids the store has given per column ([`STORE_SIZES`]).
    fn sizes(&self) -> Result<Sizes, crate::Error> {
        let path = self.dir.join(STORE_SIZES);
        match std::fs::read(&path) {
            Ok(text) => serde_json::from_slice(&text).map_err(|e| crate::Error::Format {
                what: format!("dictionary store sizes {}", path.display()),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(crate::Error::io("reading", &path, e)),
        }
    }

    /// Refuses a column file holding fewer values (`len`) than the store
    /// has given ids.
    fn check_size(&self, col: &str, len: usize, sizes: &Sizes) -> Result<(), crate::Error> {
        let given = sizes.get(col).copied().unwrap_or(0);
        if len >= given {
            return Ok(());
        }
        let file = self.dir.join(format!("{}.jsonl", file_name(col)));
        Err(crate::Error::Config(format!(
            "the dictionary store's {} holds {len} values where the store has given {given} \
             ids: it was emptied, cut short or replaced, and its ids would go to other \
             values. Put the file back from a backup; failing that, the copy in the \
             _dictionaries/ of the latest output made with the store has its ids (every \
             value it had then, in order) but that run's counts only, not the store's sums",
            file.display(),
        )))
    }

    /// Under the store's lock: reads the store, gives the values of
    /// `counted` it lacks the next ids, writes it back (each file replaced
    /// whole by a rename, so a reader or a crash sees the old file or the
    /// new one; every file written before any is put in place, so a full
    /// disk or an error while writing one leaves the store as it was) and
    /// returns this run's dictionary: every stored value, in
    /// id order, with this run's counts (0 for a value it did not see).
    pub fn assign(
        &self,
        counted: Dictionary,
        columns: &[String],
    ) -> Result<Dictionary, crate::Error> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| crate::Error::io("creating the dictionary store", &self.dir, e))?;
        let dir = self.dir.display();
        let waiting = |pid: Option<u32>| {
            let who = pid.map_or("another run".to_string(), |p| {
                format!("another run (pid {p})")
            });
            crate::errln!("mr: waiting for the dictionary store {dir}: {who} is giving ids")
        };
        let _lock = match crate::lock::DirLock::wait(&self.dir, waiting) {
            Ok(lock) => lock,
            Err(e) => {
                crate::cancel::check()?; // stopped while waiting
                return Err(crate::Error::io(
                    "locking the dictionary store",
                    &self.dir,
                    e,
                ));
            }
        };
        self.remove_stale_temp_files();
        let (stored, mut sizes) = self.read(columns)?;
        // The stored values and counts; the values move into this run's.
        let stored_counts: BTreeMap<String, Vec<u64>> = stored
            .columns
            .iter()
            .map(|(c, v)| (c.clone(), v.counts.clone()))
            .collect();
        let mut run = counted.keeping_ids(stored);
        for c in columns {
            run.columns.entry(c.clone()).or_default();
        }
        // Every file written first, then put in place: one column's new
        // counts in place and the next one's failing to be written (a full
        // disk) left counts that a rerun added again to some columns only
        // (probe /tmp/probe11-daily repro 03).
        let mut written = Vec::with_capacity(run.columns.len() + 1);
        for (col, values) in &run.columns {
            let old = stored_counts.get(col).map_or(&[][..], Vec::as_slice);
            // Ids never move: the stored values lead, in their order (the
            // proptest keeping_ids_never_moves_one), so none is lost.
            if values.len() < old.len() {
                return Err(crate::Error::Internal(format!(
                    "dictionary store {dir}: column {col} would renumber its values"
                )));
            }
            // The store's counts: the sums of every run's.
            let total = values
                .iter()
                .enumerate()
                .map(|(i, (v, n))| (v, n.saturating_add(old.get(i).copied().unwrap_or(0))));
            written.push(self.write(&format!("{}.jsonl", file_name(col)), |w| {
                write_entries(w, total)
            })?);
            sizes.insert(col.clone(), values.len());
        }
        // After the columns: a kill in between leaves sizes that are smaller
        // than the files, which is fine (ids only grow).
        written.push(self.write(STORE_SIZES, |w| Ok(serde_json::to_writer(w, &sizes)?))?);
        let mut done: Vec<String> = Vec::new();
        for w in written {
            let name = w.path().file_name().unwrap_or_default();
            let name = name.to_string_lossy().into_owned();
            self.put_in_place(w, &done)?;
            done.push(name);
        }
        crate::output::commit::sync_path(&self.dir)?;
        Ok(run)
    }

    /// The store's file `name`'s new content, what `write` writes, whole
    /// and synced under a temporary name ([`crate::replace::Written`]),
    /// with the file's mode and group: a store shared by a team stays
    /// readable by it whatever the umask of the run.
    fn write(
        &self,
        name: &str,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<crate::replace::Written, crate::Error> {
        let path = self.dir.join(name);
        crate::replace::Written::new(&path, write).map_err(|e| self.write_error(&path, e))
    }

    /// Puts a file [`write`](Self::write) wrote in place: renamed over the
    /// old one, and, new in the store, shared with the group. `done`: the
    /// files of this run put in place before it, which a failure names.
    fn put_in_place(
        &self,
        written: crate::replace::Written,
        done: &[String],
    ) -> Result<(), crate::Error> {
        let path = written.path().to_path_buf();
        // Under the store's lock: nobody else makes it meanwhile.
        let new = std::fs::symlink_metadata(&path).is_err();
        // A rename needs no space: its failure is no full disk, and files
        // put in place before it stay: said, for a rerun adds their counts
        // again (probe /tmp/probe25 repro 03b).
        written.put_in_place().map_err(|e| {
            let e = match done {
                [] => e,
                _ => std::io::Error::new(
                    e.kind(),
                    format!(
                        "{e}; the store's {} already hold this run's values and counts (the \
                         other files do not): its ids are right, but running this input \
                         again counts it twice there",
                        done.join(", ")
                    ),
                ),
            };
            crate::Error::io("renaming into place the dictionary store's", &path, e)
        })?;
        if new {
            self.share_with_writers(&path);
        }
        Ok(())
    }

    /// A failure to write the store's file `path`, with what to do on a
    /// full disk.
    fn write_error(&self, path: &Path, e: std::io::Error) -> crate::Error {
        crate::Error::io("writing the dictionary store's", path, e).with_disk_full_hint(|| {
            format!(
                "Free space on the disk of the dictionary store {} and run again: its files \
                 are as they were (each is replaced by a rename, and none was), and the ids it \
                 has given stay given.",
                self.dir.display()
            )
        })
    }

    /// A file new in a store its group may write (a team's): readable and
    /// writable by the group too, whatever the umask of the run that made
    /// it (under 077, the team was locked out of the store by the first
    /// member who ran). Files replaced later keep their mode.
    fn share_with_writers(&self, file: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let (Ok(dir), Ok(f)) = (std::fs::metadata(&self.dir), std::fs::metadata(file)) else {
            return;
        };
        let dir_mode = dir.permissions().mode();
        if dir_mode & 0o020 != 0 {
            let mode = (f.permissions().mode() & 0o777) | 0o060;
            let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode));
        }
    }

    /// Temporary files of a run killed while it wrote the store (only ever
    /// called under the lock, so none is being written).
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && (name.contains(".tmp-") || name.contains(".probe-")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A column name as a file name: ASCII letters, digits, `_`, `-` and `.`
/// kept (a leading `.` is escaped), anything else as `%XX`.
///
/// ```
/// assert_eq!(mr_core::categorical::file_name("user_agent"), "user_agent");
/// assert_eq!(mr_core::categorical::file_name("../a b"), "%2E.%2Fa%20b");
/// ```
pub fn file_name(column: &str) -> String {
    let mut s = String::new();
    for (i, b) in column.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.is_empty() {
        s.push_str("%00");
    }
    s
}

/// Stage 3's mapper: each string of a chosen column replaced by its id;
/// the rest of the record as it was (map-only: order kept).
#[derive(Clone)]
pub struct EncodeColumns {
    dir: PathBuf,
    columns: Arc<Vec<String>>,
    /// Read by the first task's `init`, shared by every clone (a task
    /// each): a million usernames read once a run, not once a task.
    ids: Arc<OnceLock<std::result::Result<Ids, String>>>,
}

/// Each column's ids of the values its run counted.
type Ids = FxHashMap<String, ColumnIds>;

/// One column's values that a run counted, each with its id (in the
/// count's place), and their index.
struct ColumnIds {
    values: Values,
    index: Index,
}

impl ColumnIds {
    /// The id of `value`, if the run counted it.
    fn get(&self, value: &str) -> Option<u64> {
        let at = self.index.find(&self.values, value)?;
        Some(self.values.counts[at])
    }
}

impl fmt::Debug for ColumnIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.values.iter()).finish()
    }
}

impl EncodeColumns {
    /// Encodes `columns` with the dictionaries in `dir` (read in `init`).
    pub fn new(dir: PathBuf, columns: Vec<String>) -> Self {
        EncodeColumns {
            dir,
            columns: Arc::new(columns),
            ids: Arc::default(),
        }
    }

    /// Encodes `columns` with `dict`, the dictionaries this run just wrote
    /// into `dir`: taken as they are in memory, not read back (a store's
    /// dictionary can hold millions of values), each column's dropped
    /// once its ids are held.
    pub fn with_dictionary(dir: PathBuf, columns: Vec<String>, dict: Dictionary) -> Self {
        let enc = EncodeColumns::new(dir, columns);
        let ids = dict
            .columns
            .into_iter()
            .map(|(c, values)| (c, ids_of(values)))
            .collect();
        let _ = enc.ids.set(Ok(ids));
        enc
    }

    /// The dictionaries' ids, as read by [`Mapper::init`].
    fn read_ids(&self) -> std::result::Result<Ids, String> {
        let d = Dictionary::read(&self.dir, &self.columns).map_err(|e| e.to_string())?;
        Ok(d.columns.into_iter().map(|(c, v)| (c, ids_of(v))).collect())
    }
}

/// A column's ids of the values this run counted. A value with the
/// count 0 (one an earlier run or the store gave an id to, not seen in
/// this run) is in none of the rows, so it is not held: with a store of
/// millions of usernames, a day's run holds its own day's. (Were one of
/// them in a row after all, the row would fail as "not in its
/// dictionary", never take another id.) When every value was counted (ids
/// numbered afresh), `values` itself is kept, each count replaced by its
/// id: a copy of a million URLs' text costs as much as the text.
fn ids_of(mut values: Values) -> ColumnIds {
    if values.counts.iter().all(|&n| n > 0) {
        for (id, n) in values.counts.iter_mut().enumerate() {
            *n = id as u64;
        }
        let index = Index::of(&values);
        return ColumnIds { values, index };
    }
    let counted = || values.iter().enumerate().filter(|(_, (_, n))| *n > 0);
    let (len, text) = counted().fold((0, 0), |(len, text), (_, (v, _))| (len + 1, text + v.len()));
    let mut held = Values::with_capacity(len, text);
    for (id, (v, _)) in counted() {
        held.push(v, id as u64);
    }
    let index = Index::of(&held);
    ColumnIds {
        values: held,
        index,
    }
}

impl Mapper for EncodeColumns {
    type Input<'a> = &'a [u8];
    type Key = ();
    type Value = Box<RawValue>;

    fn init(&mut self, _ctx: &TaskContext) -> Result<(), JobError> {
        match self.ids.get_or_init(|| self.read_ids()) {
            Ok(_) => Ok(()),
            Err(e) => Err(JobError::msg(e.clone())),
        }
    }

    fn map(&mut self, line: &[u8], out: &mut Emitter<(), Box<RawValue>>) -> Result<(), JobError> {
        let obj = record_object(line);
        if obj.trim_ascii().is_empty() {
            return Ok(());
        }
        let Some(Ok(ids)) = self.ids.get() else {
            return Err(JobError::msg(
                "the dictionaries were not read (init did not run)",
            ));
        };
        let (row, not_strings) = encoded_fields(ids, fields_of(obj)?)?;
        if not_strings > 0 {
            out.count(
                COUNTERS,
                NOT_A_STRING,
                not_strings.try_into().unwrap_or(i64::MAX),
            );
        }
        // Serialized straight into the raw value: RawValue::from_string
        // would parse the text again to check it.
        out.emit(&(), serde_json::value::to_raw_value(&JsonObject(&row))?)
    }
}

/// A row's `fields` with each string of a column of `ids` replaced by its
/// id (any other value there made null, and counted: the second item);
/// the other fields as they are.
fn encoded_fields<'a>(
    ids: &Ids,
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
) -> Result<(EncodedRow<'a>, u64), JobError> {
    let mut not_strings = 0;
    let mut row = Vec::with_capacity(fields.len());
    for (name, raw) in fields {
        let cell = match ids.get(name.as_ref()) {
            None => Encoded::Raw(raw),
            Some(ids) => match as_string(raw) {
                Ok(Some(v)) => match ids.get(v.as_ref()) {
                    Some(id) => Encoded::Id(id),
                    None => return Err(JobError::msg(not_in_dictionary(&v, &name))),
                },
                Ok(None) => Encoded::Null,
                Err(()) => {
                    not_strings += 1;
                    Encoded::Null
                }
            },
        };
        row.push((name, cell));
    }
    Ok((row, not_strings))
}

/// A row's fields, its categorical strings as ids.
type EncodedRow<'a> = Vec<(Cow<'a, str>, Encoded<'a>)>;

/// The error of a value that a run's dictionary lacks.
fn not_in_dictionary(value: &str, column: &str) -> String {
    format!("value {value:?} of column {column} is not in its dictionary")
}

/// A field of an encoded record: an id, null, or its value as it was.
enum Encoded<'a> {
    Id(u64),
    Null,
    Raw(&'a RawValue),
}

impl serde::Serialize for Encoded<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Encoded::Id(id) => s.serialize_u64(*id),
            Encoded::Null => s.serialize_unit(),
            Encoded::Raw(raw) => raw.serialize(s),
        }
    }
}

/// Stage 1 as a job (`[column, value] TAB count` lines).
pub struct CountJob(pub Vec<String>);

impl Job for CountJob {
    fn name(&self) -> &str {
        "categorical_counts"
    }
    fn description(&self) -> &str {
        "Counts the distinct strings of chosen columns."
    }
    fn steps(&self) -> Vec<Step> {
        vec![CountValues::step(self.0.clone())]
    }
}

/// Stage 3 as a job (map-only).
pub struct EncodeJob(pub EncodeColumns);

impl Job for EncodeJob {
    fn name(&self) -> &str {
        "categorical_encode"
    }
    fn description(&self) -> &str {
        "Replaces the strings of chosen columns by their dictionary ids."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(self.0.clone()).into()]
    }
}

/// The counts of the strings of chosen columns in some rows (a part of a
/// table, or several merged): what a table's scan gathers in the same pass
/// as the rows' types, in memory (each distinct value once a column, as the
/// dictionary made of it holds it), instead of a count job of its own.
pub struct ValueCounts {
    columns: Vec<String>,
    /// Per column (in the order of `columns`): its values and counts.
    counts: Vec<Tally>,
    /// Values of the columns that were not strings (nor null).
    pub not_a_string: u64,
}

/// One column's counts: its values in the order first met, their text in
/// one buffer ([`Values`]), found by a hash table of their ids. A value
/// costs its text and about 25 bytes, with no allocation of its own (a
/// map of boxed strings took one a value, and a second copy of every
/// value to make the dictionary).
#[derive(Default)]
struct Tally {
    values: Values,
    ids: hashbrown::HashTable<usize>,
}

impl Tally {
    /// Adds `n` to `value`'s count.
    fn add(&mut self, value: &str, n: u64) {
        let Tally { values, ids } = self;
        let hash = hash_of(value);
        match ids.find(hash, |&id| values.value(id) == value) {
            Some(&id) => values.counts[id] += n,
            None => {
                let id = values.len();
                values.push(value, n);
                ids.insert_unique(hash, id, |&id| hash_of(values.value(id)));
            }
        }
    }

    fn len(&self) -> usize {
        self.values.len()
    }
}

impl ValueCounts {
    /// No counts yet of `columns`.
    pub fn new(columns: &[String]) -> ValueCounts {
        ValueCounts {
            columns: columns.to_vec(),
            counts: columns.iter().map(|_| Tally::default()).collect(),
            not_a_string: 0,
        }
    }

    /// The index of column `name` among the chosen columns, if chosen.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Counts `value` once more in column `column` (an index given by
    /// [`column`](Self::column)).
    pub fn add(&mut self, column: usize, value: &str) {
        if let Some(tally) = self.counts.get_mut(column) {
            tally.add(value, 1);
        }
    }

    /// Adds the counts of `other` (of the same columns) to these.
    pub fn merge(&mut self, other: ValueCounts) {
        self.not_a_string += other.not_a_string;
        // The larger table takes in the smaller.
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            let (mut into, from) = match mine.len() >= theirs.len() {
                true => (std::mem::take(mine), theirs),
                false => (theirs, std::mem::take(mine)),
            };
            for (v, n) in from.values.iter() {
                into.add(v, n);
            }
            *mine = into;
        }
    }

    /// The dictionaries of the values counted, numbered afresh (as
    /// [`Dictionary::from_counts`] numbers them); a column without values
    /// has none.
    ///
    /// ```
    /// use mr_core::categorical::ValueCounts;
    /// let mut c = ValueCounts::new(&["user".to_string()]);
    /// for v in ["bob", "ann", "cy", "ann"] { c.add(0, v); }
    /// let d = c.into_dictionary();
    /// assert_eq!(d.columns["user"].to_vec(), [("ann".into(), 2), ("bob".into(), 1), ("cy".into(), 1)]);
    /// ```
    pub fn into_dictionary(self) -> Dictionary {
        let mut counted = Counted::default();
        for (column, tally) in self.columns.into_iter().zip(self.counts) {
            if tally.values.is_empty() {
                continue;
            }
            // The values as they are, their table dropped: no copy.
            counted.0.insert(column, tally.values);
        }
        counted.dictionary()
    }
}

/// A run's ids by column and value, to replace the strings of its rows'
/// chosen columns by (as [`EncodeColumns`] does, without a job of its own).
pub struct RowEncoder {
    ids: Ids,
}

/// One column's ids (see [`RowEncoder::column`]).
pub struct ColumnEncoder<'a> {
    name: &'a str,
    ids: &'a ColumnIds,
}

impl RowEncoder {
    /// The ids of `dict`, the dictionaries of the run (only the values the
    /// run counted are held: see `ids_of`).
    pub fn new(dict: Dictionary) -> RowEncoder {
        RowEncoder {
            ids: dict
                .columns
                .into_iter()
                .map(|(c, values)| (c, ids_of(values)))
                .collect(),
        }
    }

    /// The ids of column `name`, if it has a dictionary.
    pub fn column(&self, name: &str) -> Option<ColumnEncoder<'_>> {
        self.ids
            .get_key_value(name)
            .map(|(name, ids)| ColumnEncoder { name, ids })
    }

    /// Appends `obj` (a row: a JSON object's text) to `out` with each
    /// string of a chosen column replaced by its id, any other value there
    /// but null made null: the row [`EncodeColumns`] makes of it, byte for
    /// byte. Returns how many values were made null.
    ///
    /// ```
    /// use mr_core::categorical::{RowEncoder, ValueCounts};
    /// let mut c = ValueCounts::new(&["u".to_string()]);
    /// c.add(0, "bob");
    /// let enc = RowEncoder::new(c.into_dictionary());
    /// let mut out = Vec::new();
    /// assert_eq!(enc.encode(br#"{"u": "bob", "n": [1, 2]}"#, &mut out).unwrap(), 0);
    /// assert_eq!(out, br#"{"u":0,"n":[1, 2]}"#);
    /// out.clear();
    /// assert_eq!(enc.encode(br#"{"u": 7}"#, &mut out).unwrap(), 1);
    /// assert_eq!(out, br#"{"u":null}"#);
    /// assert!(enc.encode(br#"{"u": "cy"}"#, &mut out).is_err());
    /// ```
    pub fn encode(&self, obj: &[u8], out: &mut Vec<u8>) -> Result<u64, String> {
        let fields = fields_of(obj).map_err(|e| e.to_string())?;
        let (row, not_strings) = encoded_fields(&self.ids, fields).map_err(|e| e.to_string())?;
        serde_json::to_writer(out, &JsonObject(&row)).map_err(|e| e.to_string())?;
        Ok(not_strings)
    }
}

impl ColumnEncoder<'_> {
    /// The id of `value`; an error naming the column if the run did not
    /// count it.
    pub fn id(&self, value: &str) -> Result<u64, String> {
        self.ids
            .get(value)
            .ok_or_else(|| not_in_dictionary(value, self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts merged from parts (the larger table taking in the smaller,
    /// whichever is which) give the dictionary of all the values.
    #[test]
    fn value_counts_merge_into_one_dictionary() {
        let cols = ["u".to_string(), "a".to_string()];
        let counts = |values: &[(usize, &str)]| {
            let mut c = ValueCounts::new(&cols);
            for (col, v) in values {
                c.add(*col, v);
            }
            c
        };
        let mut small = counts(&[(0, "bob"), (1, "/x")]);
        small.not_a_string = 2;
        let big = counts(&[(0, "ann"), (0, "cy"), (0, "ann"), (0, "bob"), (0, "dee")]);
        small.merge(big);
        assert_eq!(small.not_a_string, 2);
        let d = small.into_dictionary();
        assert_eq!(
            d.columns["u"].to_vec(),
            [
                ("ann".into(), 2),
                ("bob".into(), 2),
                ("cy".into(), 1),
                ("dee".into(), 1)
            ]
        );
        assert_eq!(d.columns["a"].to_vec(), [("/x".into(), 1)]);
        // A column without values has no dictionary (the runner adds an
        // empty one).
        assert!(
            !counts(&[(0, "x")])
                .into_dictionary()
                .columns
                .contains_key("a")
        );
    }

    /// A dictionary file saved with a BOM (Windows Notepad) is read: the
    /// BOM before its first line is not part of the entry.
    #[test]
    fn a_dictionary_file_with_a_bom_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.jsonl");
        let text = "\u{feff}{\"count\":3,\"id\":0,\"value\":\"web\"}\r\n{\"count\": 1, \"id\": 1, \"value\": \"app\"}\n";
        std::fs::write(&path, text).unwrap();
        let mut values = Vec::new();
        let n = each_entry(&path, |_, e| {
            values.push((e.id, e.value.into_owned(), e.count))
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(values, [(0, "web".into(), 3), (1, "app".into(), 1)]);
    }
    use crate::testing::run_in_memory;

    #[test]
    fn ids_by_count_then_value_and_encoding_keeps_order() {
        let rows = [
            r#"null	{"u":"bob","a":"/x","n":1}"#,
            r#"{"u":"ann","a":"/y","n":2}"#,
            r#"{"a":"/x","u":"bob"}"#,
            r#"{"u":null,"a":3}"#,
            r#"{"u":"cy"}"#,
            // Names with escapes: a chosen column's, and another written
            // back as JSON; a value with an escape is the same value.
            r#"{"\u0075":"b\u006fb","q\"\\\t":"\/z"}"#,
        ];
        let cols = vec!["u".to_string(), "a".to_string()];
        let (counts, c) = run_in_memory(&CountJob(cols.clone()), &rows).unwrap();
        assert_eq!(c.get(COUNTERS, NOT_A_STRING), 1);
        let d = Dictionary::from_counts(counts.iter().map(|l| l.as_bytes())).unwrap();
        assert_eq!(
            d.columns["u"].to_vec(),
            [("bob".into(), 3), ("ann".into(), 1), ("cy".into(), 1)]
        );
        let dir = tempfile::tempdir().unwrap();
        d.write(dir.path()).unwrap();
        assert_eq!(Dictionary::read(dir.path(), &cols).unwrap(), d);
        let enc = EncodeJob(EncodeColumns::new(dir.path().to_path_buf(), cols));
        // Each task's mapper is a clone: the first one's init reads the
        // dictionaries for all of them.
        let (mut first, second) = (enc.0.clone(), enc.0.clone());
        assert!(second.ids.get().is_none());
        first.init(&TaskContext::default()).unwrap();
        assert!(matches!(second.ids.get(), Some(Ok(ids)) if ids["u"].get("bob") == Some(0)));
        let (out, _) = run_in_memory(&enc, &rows).unwrap();
        assert_eq!(
            out,
            [
                "null\t{\"u\":0,\"a\":0,\"n\":1}",
                "null\t{\"u\":1,\"a\":1,\"n\":2}",
                "null\t{\"a\":0,\"u\":0}",
                "null\t{\"u\":null,\"a\":null}",
                "null\t{\"u\":2}",
                "null\t{\"u\":0,\"q\\\"\\\\\\t\":\"\\/z\"}",
            ]
        );
    }

    /// The encode stage holds the ids of the values its run counted, from
    /// memory as read back alike; a value a store gave an id to but this
    /// run did not count is not held, and a row with it fails rather than
    /// take an id.
    #[test]
    fn encoding_holds_only_the_values_the_run_counted() {
        let dict = Dictionary {
            columns: [(
                "u".to_string(),
                [("old", 0), ("bob", 2), ("ann", 1)].into_iter().collect(),
            )]
            .into(),
        };
        let dir = tempfile::tempdir().unwrap();
        dict.write(dir.path()).unwrap();
        let cols = vec!["u".to_string()];
        let read = EncodeColumns::new(dir.path().to_path_buf(), cols.clone());
        let held = EncodeColumns::with_dictionary(dir.path().to_path_buf(), cols, dict);
        let ids = read.read_ids().unwrap();
        let held_ids = held.ids.get().unwrap().as_ref().unwrap();
        assert_eq!(format!("{ids:?}"), format!("{held_ids:?}"));
        assert_eq!(ids["u"].values.len(), 2);
        assert_eq!(
            (ids["u"].get("bob"), ids["u"].get("ann")),
            (Some(1), Some(2))
        );
        assert_eq!(ids["u"].get("old"), None);
        let (out, _) = run_in_memory(&EncodeJob(held.clone()), &[r#"{"u":"ann"}"#]).unwrap();
        assert_eq!(out, ["null\t{\"u\":2}"]);
        let e = run_in_memory(&EncodeJob(held), &[r#"{"u":"old"}"#]).unwrap_err();
        assert!(e.to_string().contains("not in its dictionary"), "{e}");
    }

    #[test]
    fn a_dictionary_with_a_value_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("u.jsonl"),
            "{\"id\":0,\"value\":\"ann\",\"count\":1}\n{\"id\":1,\"value\":\"ann\",\"count\":1}\n",
        )
        .unwrap();
        let e = Dictionary::read(dir.path(), &["u".to_string()]).unwrap_err();
        assert!(e.to_string().contains("has id 0 already"), "{e}");
    }

    /// serde_json's reading of a dictionary line, for comparison.
    fn by_serde(line: &[u8]) -> Option<(u64, usize, String)> {
        #[derive(Deserialize)]
        struct E {
            count: u64,
            id: usize,
            value: String,
        }
        let e: E = serde_json::from_slice(line).ok()?;
        Some((e.count, e.id, e.value))
    }

    proptest::proptest! {
        /// The parser-free reading of a dictionary line never differs from
        /// serde_json's: every line `write_entries` writes reads back as it was
        /// (by the fast path unless the value holds an escape), and any
        /// line it reads, even one cut or changed anywhere, serde_json
        /// reads alike.
        #[test]
        fn a_dictionary_line_reads_as_serde_json_reads_it(
            count in proptest::prop_oneof![0u64..3, proptest::num::u64::ANY],
            id in 0usize..1_000_000,
            value in "(\\PC|[\"\\\\\n\t\u{1}é😀]){0,12}",
            cut in 0usize..80,
            change in (0usize..80, proptest::num::u8::ANY),
        ) {
            let mut text = Vec::new();
            write_entries(&mut text, [(value.as_str(), count)].into_iter()).unwrap();
            // write_entries numbers from 0: make the wanted id by hand.
            let text = String::from_utf8(text).unwrap().replacen("\"id\":0,", &format!("\"id\":{id},"), 1);
            let line = text.trim_end().as_bytes();
            proptest::prop_assert_eq!(by_serde(line), Some((count, id, value.clone())));
            let escapes = value.contains(['"', '\\']) || value.chars().any(|c| c < ' ');
            match plain_entry(line) {
                Some((n, i, v)) => proptest::prop_assert_eq!((n, i, v.to_string()), (count, id, value)),
                None => proptest::prop_assert!(escapes || count >= 10u64.pow(19), "{}", text),
            }
            let mut damaged = [line[..cut.min(line.len())].to_vec(), line.to_vec()];
            if let Some(b) = damaged[1].get_mut(change.0) {
                *b = change.1;
            }
            for d in &damaged {
                if let Some((n, i, v)) = plain_entry(d) {
                    proptest::prop_assert_eq!(Some((n, i, v.to_string())), by_serde(d));
                }
            }
        }
    }

    proptest::proptest! {
        /// Growing a dictionary never moves an id: the earlier values keep
        /// theirs, the new ones follow densely in count-then-value order, and
        /// every value counted now has its count.
        #[test]
        fn keeping_ids_never_moves_one(
            old in proptest::collection::btree_map("[a-e]{1,2}", 0u64..5, 0..12),
            new in proptest::collection::btree_map("[a-e]{1,2}", 1u64..5, 0..12),
        ) {
            let lines = |m: &BTreeMap<String, u64>| -> Vec<String> {
                m.iter().map(|(v, n)| format!("[\"c\",{v:?}]\t{n}")).collect()
            };
            let prev = Dictionary::from_counts(lines(&old).iter().map(|l| l.as_bytes())).unwrap();
            let now = Dictionary::from_counts(lines(&new).iter().map(|l| l.as_bytes())).unwrap();
            let grown = now.clone().keeping_ids_of(&prev);
            let values = grown.columns.get("c").map(Values::to_vec).unwrap_or_default();
            let before = prev.columns.get("c").map(Values::to_vec).unwrap_or_default();
            proptest::prop_assert_eq!(values.len(), old.keys().chain(new.keys()).collect::<std::collections::BTreeSet<_>>().len());
            for (id, (v, _)) in before.iter().enumerate() {
                proptest::prop_assert_eq!(&values[id].0, v);
            }
            let tail: Vec<_> = values[before.len()..].to_vec();
            let expected: Vec<_> = now.columns.get("c").map(Values::to_vec).unwrap_or_default()
                .into_iter().filter(|(v, _)| !old.contains_key(v)).collect();
            proptest::prop_assert_eq!(tail, expected);
            for (v, n) in &values {
                proptest::prop_assert_eq!(*n, new.get(v).copied().unwrap_or(0));
            }
        }
    }

    #[derive(Clone)]
    struct Rows;
    impl Mapper for Rows {
        type Input<'a> = &'a str;
        type Key = ();
        type Value = Box<RawValue>;
        fn map(&mut self, l: &str, out: &mut Emitter<(), Box<RawValue>>) -> Result<(), JobError> {
            out.emit(&(), RawValue::from_string(l.to_string())?)
        }
    }
    struct RowsJob;
    impl Job for RowsJob {
        fn name(&self) -> &str {
            "rows"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(Rows).into()]
        }
        fn categorical_columns(&self) -> Vec<String> {
            vec!["u".into(), "a".into()]
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10))]
        /// The settings property: the dictionaries are the reference ones
        /// (count descending, then value) and the output decodes back to the
        /// input, in order, whatever the threads, chunks and partitions.
        #[test]
        fn ids_do_not_depend_on_settings(
            values in proptest::collection::vec((0u8..7, 0u8..4), 1..150),
            jobs in 1usize..4,
            chunk in 16u64..3000,
            partitions in 1usize..4,
            buffer in 1024u64..8192,
        ) {
            let d = tempfile::tempdir().unwrap();
            let lines: Vec<String> = values
                .iter()
                .map(|(u, a)| format!("{{\"u\":\"user{u}\",\"a\":\"/p{a}\",\"n\":{u}}}"))
                .collect();
            std::fs::write(d.path().join("in"), lines.join("\n")).unwrap();
            let out = d.path().join("out");
            let cfg = crate::RunConfig {
                inputs: vec![d.path().join("in").display().to_string()],
                output: crate::Output::Dir { path: out.clone(), overwrite: false },
                jobs,
                partitions,
                chunk_size: chunk,
                sort_buffer_bytes: buffer,
                tmp_dir: Some(d.path().join("tmp")),
                ..crate::RunConfig::default()
            };
            crate::run_job(&RowsJob, &cfg, &mut Vec::new()).unwrap();
            let cols = vec!["u".to_string(), "a".to_string()];
            let dict = Dictionary::read(&out.join(DICTIONARIES), &cols).unwrap();
            for (col, f) in [("u", 0usize), ("a", 1)] {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for (u, a) in &values {
                    let v = if f == 0 { format!("user{u}") } else { format!("/p{a}") };
                    *counts.entry(v).or_default() += 1;
                }
                let mut reference: Vec<(String, u64)> = counts.into_iter().collect();
                reference.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
                proptest::prop_assert_eq!(&dict.columns[col].to_vec(), &reference);
            }
            let mut names: Vec<_> = std::fs::read_dir(&out).unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with("part-"))
                .collect();
            names.sort();
            let text: String = names.iter().map(|n| std::fs::read_to_string(out.join(n)).unwrap()).collect();
            let decoded: Vec<String> = text
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l.split_once('\t').unwrap().1).unwrap();
                    let u = dict.columns["u"].get(v["u"].as_u64().unwrap() as usize).unwrap().0;
                    let a = dict.columns["a"].get(v["a"].as_u64().unwrap() as usize).unwrap().0;
                    format!("{{\"u\":\"{u}\",\"a\":\"{a}\",\"n\":{}}}", v["n"])
                })
                .collect();
            proptest::prop_assert_eq!(decoded, lines);
        }
    }

    /// A counted dictionary of column `c` from `(value, count)` pairs.
    fn counted(values: &[(String, u64)]) -> Dictionary {
        let lines: Vec<String> = values
            .iter()
            .map(|(v, n)| format!("{}\t{n}", serde_json::json!(["c", v])))
            .collect();
        Dictionary::from_counts(lines.iter().map(|l| l.as_bytes())).unwrap()
    }

    /// Runs of any sizes, on any values, one after the other against one
    /// store: each run's dictionary starts with the store as it was (ids
    /// never move), every value has one id and every id one value, and the
    /// store as it ends decodes every run's ids; its counts are the runs'
    /// sums.
    #[test]
    fn a_store_gives_each_value_one_id_for_good() {
        let cols = vec!["c".to_string()];
        proptest::proptest!(|(runs in proptest::collection::vec(
            proptest::collection::btree_map("[a-h]{1,2}", 1u64..4, 0..10), 1..6))| {
            let d = tempfile::tempdir().unwrap();
            let store = Store::open(&d.path().join("s"), &cols).unwrap();
            let mut given = Vec::new();
            for run in &runs {
                let before = Dictionary::read(store.dir(), &cols).unwrap();
                let values: Vec<(String, u64)> = run.clone().into_iter().collect();
                let dict = store.assign(counted(&values), &cols).unwrap();
                let ids = &dict.columns["c"].to_vec();
                let old = before.columns.get("c").map(Values::to_vec).unwrap_or_default();
                proptest::prop_assert!(ids.len() >= old.len());
                for ((v, _), (w, _)) in ids.iter().zip(&old) {
                    proptest::prop_assert_eq!(v, w);
                }
                for (v, n) in run {
                    let at = ids.iter().position(|(w, _)| w == v);
                    proptest::prop_assert!(at.is_some());
                    proptest::prop_assert_eq!(ids[at.unwrap()].1, *n, "this run's count");
                }
                given.push(dict);
            }
            let last = Dictionary::read(store.dir(), &cols).unwrap();
            let all = &last.columns["c"].to_vec();
            let distinct: std::collections::BTreeSet<&String> = all.iter().map(|(v, _)| v).collect();
            proptest::prop_assert_eq!(distinct.len(), all.len(), "a value with two ids");
            for dict in &given {
                for (id, (v, _)) in dict.columns["c"].iter().enumerate() {
                    proptest::prop_assert_eq!(all[id].0.as_str(), v);
                }
            }
            for (v, n) in all {
                let sum: u64 = runs.iter().filter_map(|r| r.get(v)).sum();
                proptest::prop_assert_eq!(*n, sum);
            }
        });
    }

    /// Runs at once (threads, each its own open of the lock file, as
    /// processes would): each value gets one id, and what each run was given
    /// agrees with the store as it ends.
    #[test]
    fn runs_at_once_never_give_one_id_twice() {
        let cols = vec!["c".to_string()];
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("s");
        Store::open(&dir, &cols).unwrap();
        let given: Vec<Dictionary> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|t| {
                    let (dir, cols) = (&dir, &cols);
                    s.spawn(move || {
                        let store = Store::open(dir, cols).unwrap();
                        (0..5)
                            .map(|r| {
                                // Overlapping sets: some values every thread has.
                                let values: Vec<(String, u64)> = (0..8)
                                    .map(|i| (format!("v{}", (t * 3 + r * 2 + i) % 40), 1))
                                    .collect();
                                store.assign(counted(&values), cols).unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let last = Dictionary::read(&dir, &cols).unwrap();
        let all = &last.columns["c"].to_vec();
        let distinct: std::collections::BTreeSet<&String> = all.iter().map(|(v, _)| v).collect();
        assert_eq!(distinct.len(), all.len());
        assert_eq!(all.iter().map(|(_, n)| n).sum::<u64>(), 6 * 5 * 8);
        for dict in &given {
            for (id, (v, _)) in dict.columns["c"].iter().enumerate() {
                assert_eq!(all[id].0, v, "id {id}");
            }
        }
    }

    /// A store given to `--dictionaries`, the flag that looks like its
    /// own, is refused: read as an output's dictionaries, it gave this
    /// run's new values ids it never recorded, and then gave them to
    /// other values (probe /tmp/probe25 repro 06).
    #[test]
    fn a_store_given_as_earlier_dictionaries_is_refused() {
        let cols = vec!["c".to_string()];
        let d = tempfile::tempdir().unwrap();
        let store_dir = d.path().join("ids");
        Store::open(&store_dir, &cols)
            .unwrap()
            .assign(counted(&[("x".into(), 1)]), &cols)
            .unwrap();
        let e = Dictionary::previous(&store_dir, &cols)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a dictionary store"), "{e}");
        assert!(e.contains("--dictionary-store"), "{e}");
        // An output's dictionaries are read as before.
        let out = d.path().join("out");
        Dictionary::read(&store_dir, &cols)
            .unwrap()
            .write(&out.join(DICTIONARIES))
            .unwrap();
        assert_eq!(
            Dictionary::previous(&out, &cols).unwrap().columns["c"].len(),
            1
        );
    }

    /// A store that is an output, inside one (its `_dictionaries/`), or a
    /// file is refused; a missing one is made by the first run that gives
    /// ids, not before; a damaged one (a file emptied or cut by hand, or
    /// not a dictionary) fails before any run.
    #[test]
    fn a_store_is_a_directory_of_its_own_and_damage_is_refused() {
        let cols = vec!["c".to_string()];
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join(DICTIONARIES)).unwrap();
        std::fs::write(out.join("_SUCCESS"), "").unwrap();
        for (dir, says) in [
            (out.clone(), "is a job's output"),
            (out.join(DICTIONARIES), "is a job's output, or inside one"),
            (out.join("_SUCCESS"), "is a file"),
            // Deeper, where --overwrite of the output took it with it.
            (
                out.join("_temporary/ids"),
                "is a job's output, or inside one",
            ),
            (
                out.join("_temporary/0/ids"),
                "is a job's output, or inside one",
            ),
        ] {
            let e = Store::open(&dir, &cols).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        // Beside an output, reached through it (`out/../ids`), or below a
        // directory holding a stray _SUCCESS (copied there with an
        // output's parts) but not in one a job writes: a store of its own.
        let beside = out.join("../ids");
        assert!(Store::open(&beside, &cols).is_ok());
        let stray = d.path().join("home");
        std::fs::create_dir_all(stray.join("stores")).unwrap();
        std::fs::write(stray.join("_SUCCESS"), "").unwrap();
        assert!(Store::open(&stray.join("stores/ids"), &cols).is_ok());
        let new = d.path().join("a/b");
        let store = Store::open(&new, &cols).unwrap();
        assert!(!new.exists(), "made before any id was given");
        store
            .assign(counted(&[("x".into(), 1), ("y".into(), 2)]), &cols)
            .unwrap();
        assert!(new.is_dir());
        // Emptied, cut short or removed by hand: refused, not numbered afresh.
        let full = std::fs::read_to_string(new.join("c.jsonl")).unwrap();
        let first_line = full.lines().next().unwrap().to_string() + "\n";
        for damaged in [None, Some(""), Some(first_line.as_str())] {
            match damaged {
                None => std::fs::remove_file(new.join("c.jsonl")).unwrap(),
                Some(text) => std::fs::write(new.join("c.jsonl"), text).unwrap(),
            }
            let e = Store::open(&new, &cols).unwrap_err().to_string();
            assert!(e.contains("where the store has given 2 ids"), "{e}");
            let e = store
                .assign(counted(&[("z".into(), 1)]), &cols)
                .unwrap_err();
            assert!(
                e.to_string().contains("emptied, cut short or replaced"),
                "{e}"
            );
        }
        std::fs::write(new.join("c.jsonl"), &full).unwrap();
        std::fs::write(
            new.join("c.jsonl"),
            "{\"id\":1,\"value\":\"x\",\"count\":1}\n",
        )
        .unwrap();
        let e = Store::open(&new, &cols).unwrap_err().to_string();
        assert!(e.contains("id 1 where 0 was expected"), "{e}");
        // A value given two ids (a hand edit): open does not hold the
        // values to see it; giving ids does, before it writes anything.
        let twice =
            "{\"count\":1,\"id\":0,\"value\":\"x\"}\n{\"count\":2,\"id\":1,\"value\":\"x\"}\n";
        std::fs::write(new.join("c.jsonl"), twice).unwrap();
        let opened = Store::open(&new, &cols).unwrap();
        let e = opened
            .assign(counted(&[("z".into(), 1)]), &cols)
            .unwrap_err();
        assert!(e.to_string().contains("has id 0 already"), "{e}");
        assert_eq!(std::fs::read_to_string(new.join("c.jsonl")).unwrap(), twice);
        // A killed writer's temporary file is removed by the next run.
        std::fs::write(new.join("c.jsonl"), &full).unwrap();
        std::fs::write(new.join(".c.jsonl.tmp-99999"), "half").unwrap();
        let again = store.assign(counted(&[("z".into(), 1)]), &cols).unwrap();
        assert_eq!(again.columns["c"].len(), 3);
        assert!(!new.join(".c.jsonl.tmp-99999").exists());
    }
}
