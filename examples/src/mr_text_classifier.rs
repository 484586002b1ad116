//! `mr_text_classifier`: a text classifier, a Naive Bayes made insensitive to
//! a document's length (a port of mrjob's `mr_text_classifier.py`: whole
//! files as input, four steps, options and counters).
//!
//! ```text
//! mr run mr_text_classifier DIR                       # the files under DIR, one document each
//! mr run mr_text_classifier --max-ngram-size 2 --no-test-set DIR
//! # python -m mrjob.examples.mr_text_classifier -r local DIR/*
//! ```
//!
//! Each input file is one document, read whole (mrjob's `mapper_raw`, here a
//! mapper of [`WholeFile`]s). Its name says what it is:
//! `ID-CAT1-CAT2-not_CAT3.txt` is document `ID`, in categories `CAT1` and
//! `CAT2` and not in `CAT3` (see [`parse_doc_filename`]); mrjob ships
//! samples in `mrjob/examples/docs-to-classify/`. An n-gram is a phrase of
//! `n` words (Python's `[\w']+`, see
//! [`WORD_RE`](crate::mr_most_used_word::WORD_RE), lowercased, stop words
//! left out); the "ANY" n-gram of size `n` (`[n, null]`) counts all of them.
//!
//! 1. each document is split into n-grams, counted ([`count_ngrams`]); the
//!    document goes on under `["doc", ID]`, and, unless it is in the test
//!    set, each n-gram's count with the document's categories under
//!    `["ngram", [n, NGRAM]]`. The reducer keeps one document per id
//!    (counter `Document key collision`) and, for each n-gram found in at
//!    least `--min-df` training documents, its document and term frequency
//!    per `(category, in it)`, sent to the one key `["global", null]`;
//! 2. the global reducer scores each n-gram for each category: the log of
//!    the ratio of its probability in documents in and out of the category
//!    (Laplace's rule of succession). Each document is sent on to the key
//!    of every n-gram it holds;
//! 3. each n-gram's scores go to the documents that hold it (none when more
//!    than `--max-df` do: counter `Exceeded max df`);
//! 4. a document's score for a category is, summed over n-gram sizes, the
//!    average score of its n-grams of that size (divided by at least
//!    `--short-doc-threshold`).
//!
//! Output: `["doc", ID]` with the document (`id`, `cats`, `in_test_set`,
//! `cat_to_score`), and `["cat_to_score", [n, NGRAM]]` with the n-gram's
//! score per category, to classify other documents. About half of the
//! documents are in the test set (they do not train the classifier), chosen
//! by the SHA-1 of their text as mrjob does; `--no-test-set` puts them all
//! in training.

use crate::universal_newlines;
use mr_core::input::whole_file::WholeFile;
use mr_core::job::CounterDoc;
use mr_core::{
    Emitter, IdentityMapper, Job, JobError, JobOption, Mapper, Reducer, Step, TaskContext, Values,
};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// mrjob's `DEFAULT_MAX_NGRAM_SIZE`.
pub const DEFAULT_MAX_NGRAM_SIZE: i64 = 4;

/// The default of `--min-df`.
pub const DEFAULT_MIN_DF: i64 = 2;

/// The default of `--max-df`.
pub const DEFAULT_MAX_DF: i64 = 10_000_000;

/// mrjob's `DEFAULT_STOP_WORDS` for this job (not the list of
/// [`mr_most_used_word`](crate::mr_most_used_word)).
pub const DEFAULT_STOP_WORDS: &[&str] = &[
    "a", "about", "also", "am", "an", "and", "any", "are", "as", "at", "be", "but", "by", "can",
    "com", "did", "do", "does", "for", "from", "had", "has", "have", "he", "he'd", "he'll", "he's",
    "her", "here", "hers", "him", "his", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into",
    "is", "it", "it's", "its", "just", "me", "mine", "my", "of", "on", "or", "org", "our", "ours",
    "she", "she'd", "she'll", "she's", "some", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "they'd", "they'll", "they're", "this", "those", "to", "us", "was",
    "we", "we'd", "we'll", "we're", "were", "what", "where", "which", "who", "will", "with",
    "would", "you", "your", "yours",
];

/// The counter group of documents that share an id (the name is the id).
pub const DOC_KEY_COLLISION: &str = "Document key collision";

/// The counter group of n-grams in more than `--max-df` documents (the name
/// is Python's `repr((n, ngram))` with its comma as a semicolon, as mrjob
/// and every mr runner name a counter: `(1; 'foo')`).
pub const EXCEEDED_MAX_DF: &str = "Exceeded max df";

/// The tags of the job's keys and values, written as mrjob's strings
/// (`"doc"`, `"ngram"`, `"global"`, `"doc_id"`, `"cat_to_score"`,
/// `"scores"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    /// A document, keyed by its id.
    Doc,
    /// An n-gram, keyed by `[n, ngram]`.
    Ngram,
    /// The one key of step 2, with `null`.
    Global,
    /// A value naming a document that holds the key's n-gram.
    DocId,
    /// An n-gram's scores: a value, and the key of the output.
    CatToScore,
    /// A value carrying an n-gram's scores to a document.
    Scores,
}

/// Every key: a tag and what it tags (`["doc", "ID"]`, `["ngram", [2,
/// "pad thai"]]`, `["global", null]`, `["cat_to_score", [1, "foo"]]`).
pub type Key = (Tag, Value);

/// An n-gram: its size and its words joined by spaces, or `None` (`null`)
/// for the ANY n-gram of that size.
pub type Ngram = (i64, Option<String>);

/// A category and whether a document is in it (`["milne", true]`).
pub type CatFlag = (String, bool);

/// A count per `(category, in it)`, in first-seen order: as mrjob writes a
/// dict with tuple keys, `[[["milne", true], 3], ...]`.
pub type CatCounts = Vec<(CatFlag, i64)>;

/// A score per category (positive: in it, negative: not).
pub type CatToScore = BTreeMap<String, f64>;

/// A document's categories, in the order of its file name: `true` for
/// `CAT`, `false` for `not_CAT`. A JSON object, written in that order as
/// mrjob writes its dict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cats(pub Vec<CatFlag>);

impl Cats {
    /// Sets `cat`, keeping its first place if it is there (as a Python dict).
    pub fn set(&mut self, cat: &str, in_cat: bool) {
        match self.0.iter_mut().find(|(c, _)| c == cat) {
            Some(entry) => entry.1 = in_cat,
            None => self.0.push((cat.to_string(), in_cat)),
        }
    }
}

impl Serialize for Cats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (cat, in_cat) in &self.0 {
            map.serialize_entry(cat, in_cat)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Cats {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cats, D::Error> {
        struct CatsVisitor;
        impl<'de> Visitor<'de> for CatsVisitor {
            type Value = Cats;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of category: true/false")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cats, A::Error> {
                let mut cats = Cats::default();
                while let Some((cat, in_cat)) = map.next_entry::<String, bool>()? {
                    cats.set(&cat, in_cat);
                }
                Ok(cats)
            }
        }
        d.deserialize_map(CatsVisitor)
    }
}

/// A document as it goes from step to step, its fields in mrjob's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    /// The id, from the file name.
    pub id: String,
    /// The categories, from the file name.
    pub cats: Cats,
    /// In the test set: it does not train the classifier.
    pub in_test_set: bool,
    /// Steps 1 to 4: each n-gram with its count in the document, the ANY
    /// n-grams last (mrjob's list of `[[n, ngram], count]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ngram_counts: Option<Vec<(Ngram, i64)>>,
    /// The output: the document's score per category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cat_to_score: Option<CatToScore>,
}

/// Step 1's values: `[count, cats]` for an n-gram of a training document,
/// or the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Parsed {
    /// The n-gram's count in one document, and the document's categories.
    Count(i64, Cats),
    /// The document.
    Doc(Doc),
}

/// Step 2's values: an n-gram's frequencies (under `["global", null]`), or a
/// document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Counted {
    /// `[[n, ngram], [cat_to_df, cat_to_tf]]`: in how many training
    /// documents of each kind the n-gram is, and how many times.
    Ngram(Ngram, (CatCounts, CatCounts)),
    /// The document.
    Doc(Doc),
}

/// Step 3's values: under an n-gram's key, its scores or a document that
/// holds it; under a document's key, the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Routed {
    /// `["cat_to_score", scores]`: the n-gram's scores.
    Scores(Tag, CatToScore),
    /// `["doc_id", id]`: a document that holds the n-gram.
    DocId(Tag, String),
    /// The document.
    Doc(Doc),
}

/// Step 4's values: under a document's key, the document or the scores of
/// one of its n-grams; under `["cat_to_score", [n, ngram]]`, the scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Gathered {
    /// `["scores", [[n, ngram], scores]]`: an n-gram of the document.
    Scores(Tag, (Ngram, CatToScore)),
    /// `["doc", doc]`: the document.
    Doc(Tag, Doc),
    /// An n-gram's scores, kept for the output.
    Kept(CatToScore),
}

/// The output's values: a scored document or an n-gram's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Scored {
    /// The document, with `cat_to_score` and without `ngram_counts`.
    Doc(Doc),
    /// An n-gram's score per category.
    Scores(CatToScore),
}

/// The job.
pub struct MrTextClassifier;

impl Job for MrTextClassifier {
    fn name(&self) -> &str {
        "mr_text_classifier"
    }
    fn description(&self) -> &str {
        "Scores documents (one a file, ID-CAT-not_CAT.txt) for categories: whole-file input, \
         four steps (port of mrjob's mr_text_classifier)."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![
            JobOption::int("min-df")
                .default(&DEFAULT_MIN_DF.to_string())
                .help("min number of documents an n-gram must appear in for us to count it."),
            JobOption::int("max-df")
                .default(&DEFAULT_MAX_DF.to_string())
                .help(
                    "max number of documents an n-gram may appear in for us to count it \
                     (this keeps reducers from running out of memory).",
                ),
            JobOption::int("max-ngram-size")
                .default(&DEFAULT_MAX_NGRAM_SIZE.to_string())
                .help("maximum phrase length to consider"),
            JobOption::string("stop-words")
                .default(&DEFAULT_STOP_WORDS.join(", "))
                .help(
                    "comma-separated list of words to ignore. For example, --stop-words \
                     'in, the' would cause 'hole in the wall' to be parsed as ['hole', 'wall'].",
                ),
            JobOption::int("short-doc-threshold").help(
                "Normally, for each n-gram size, we take the average score over all n-grams \
                 that appear. This allows us to penalize short documents by using this \
                 threshold as the denominator rather than the actual number of n-grams.",
            ),
            JobOption::flag("no-test-set").help(
                "Don't choose about half of the documents to be the testing set (by a SHA1 \
                 hash of their text): train the classifier on all of them.",
            ),
        ]
    }
    fn counters(&self) -> Vec<CounterDoc> {
        vec![
            CounterDoc::new(
                DOC_KEY_COLLISION,
                "ID",
                "documents with the same id: only one is kept",
            ),
            CounterDoc::new(
                EXCEEDED_MAX_DF,
                "(n, 'ngram')",
                "n-grams in more than --max-df documents: not scored",
            ),
        ]
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(ParseDoc::default()).reduce(CountNgramFreq::default()),
            Step::map(IdentityMapper::<Key, Counted>::new()).reduce(ScoreNgrams),
            Step::map(IdentityMapper::<Key, Routed>::new())
                .reduce(ScoreDocumentsByNgram::default()),
            Step::map(IdentityMapper::<Key, Gathered>::new()).reduce(ScoreDocuments::default()),
        ]
    }
}

/// An integer option, or its default when it is not set.
fn int_option(ctx: &TaskContext, name: &str, default: i64) -> Result<i64, JobError> {
    match ctx.option_str(name) {
        Some(_) => ctx.option(name),
        None => Ok(default),
    }
}

/// mrjob's `file_ext`: a file name's extension from its first dot, leading
/// dots left out (`.tar.gz` of `a.tar.gz`, none for `.emacs`).
///
/// ```
/// use mr_examples::mr_text_classifier::file_ext;
/// assert_eq!(file_ext("foo.tar.gz"), ".tar.gz");
/// assert_eq!(file_ext(".emacs"), "");
/// assert_eq!(file_ext(".mrjob.conf"), ".conf");
/// ```
pub fn file_ext(name: &str) -> &str {
    let stripped = name.trim_start_matches('.');
    stripped.find('.').map_or("", |i| &stripped[i..])
}

/// The id and categories of a document, from its file name (or URI):
/// `some_id-cat1-cat2-not_cat3.txt` is `some_id`, in `cat1` and `cat2`, not
/// in `cat3`. As in mrjob, a name without an extension gives the id `""`
/// and no categories (Python's `name[:-0]` is empty).
///
/// ```
/// use mr_examples::mr_text_classifier::parse_doc_filename;
/// let (id, cats) = parse_doc_filename("file:///d/happy-milne-not_whitman.txt");
/// assert_eq!(id, "happy");
/// assert_eq!(serde_json::to_string(&cats).unwrap(), r#"{"milne":true,"whitman":false}"#);
/// assert_eq!(parse_doc_filename("README").0, "");
/// ```
pub fn parse_doc_filename(input_uri: &str) -> (String, Cats) {
    let name_with_ext = input_uri.rsplit('/').next().unwrap_or(input_uri);
    let ext = file_ext(name_with_ext);
    let name = if ext.is_empty() {
        ""
    } else {
        &name_with_ext[..name_with_ext.len() - ext.len()]
    };
    let mut parts = name.split('-');
    let id = parts.next().unwrap_or("").to_string();
    let mut cats = Cats::default();
    for part in parts {
        match part.strip_prefix("not_") {
            Some(cat) => cats.set(cat, false),
            None => cats.set(part, true),
        }
    }
    (id, cats)
}

/// Each n-gram of up to `max_ngram_size` words, with how many times it is
/// in `words`, in first-seen order; then, for each size `n`, the ANY
/// n-gram `(n, None)` with `words.len() - n + 1` (negative for a document
/// shorter than `n - 1` words, as in mrjob).
///
/// ```
/// use mr_examples::mr_text_classifier::count_ngrams;
/// let words: Vec<String> = ["pad", "thai", "pad"].map(String::from).to_vec();
/// let counts = count_ngrams(&words, 2);
/// assert_eq!(counts[0], ((1, Some("pad".to_string())), 2));
/// assert_eq!(counts[1], ((2, Some("pad thai".to_string())), 1));
/// assert_eq!(counts[counts.len() - 1], ((2, None), 2));
/// ```
pub fn count_ngrams(words: &[String], max_ngram_size: i64) -> Vec<(Ngram, i64)> {
    // Each n-gram with its count and the order it was first seen in (Python's
    // dict order), held once.
    let mut seen: HashMap<(usize, String), (usize, i64)> = HashMap::new();
    let max = usize::try_from(max_ngram_size).unwrap_or(0);
    for i in 0..words.len() {
        for n in 1..=max.min(words.len() - i) {
            let order = seen.len();
            seen.entry((n, words[i..i + n].join(" ")))
                .or_insert((order, 0))
                .1 += 1;
        }
    }
    let mut in_order: Vec<_> = seen.into_iter().collect();
    in_order.sort_unstable_by_key(|(_, (order, _))| *order);
    let mut counts: Vec<(Ngram, i64)> = in_order
        .into_iter()
        .map(|((n, ngram), (_, count))| ((n as i64, Some(ngram)), count))
        .collect();
    for n in 1..=max_ngram_size {
        counts.push(((n, None), words.len() as i64 - n + 1));
    }
    counts
}

/// Whether a document is in the test set: the last hex digit of the SHA-1
/// of its text (UTF-8) is odd.
///
/// ```
/// use mr_examples::mr_text_classifier::in_test_set;
/// // sha1("a") = 86f7e437faa5a7fce15d1ddcb9eaeaea377667b8
/// assert!(!in_test_set("a"));
/// ```
pub fn in_test_set(text: &str) -> bool {
    let digest = sha1_smol::Sha1::from(text.as_bytes()).digest().bytes();
    digest[19] & 1 == 1
}

/// Python's `repr` of a string, as a counter name shows it: single quotes,
/// or double quotes when the string holds a single quote and no double one.
fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr((n, ngram))`: `(2, 'pad thai')`, `(1, None)`.
fn py_repr_ngram((n, ngram): &Ngram) -> String {
    match ngram {
        Some(s) => format!("({n}, {})", py_repr_str(s)),
        None => format!("({n}, None)"),
    }
}

/// The key `[n, ngram]` of an n-gram.
fn ngram_key((n, ngram): &Ngram) -> Value {
    serde_json::json!([n, ngram])
}

/// The n-gram of a key.
fn ngram_of(key: &Value) -> Result<Ngram, JobError> {
    Ngram::deserialize(key).map_err(|e| JobError::msg(format!("n-gram key {key}: {e}")))
}

/// The document id of a `["doc", ID]` key.
fn doc_id_of(key: &Value) -> Result<String, JobError> {
    key.as_str()
        .map(str::to_string)
        .ok_or_else(|| JobError::msg(format!("document key {key}: not a string")))
}

/// An error for a value that has no place under its key.
fn unexpected(tag: Tag, what: &str) -> JobError {
    JobError::msg(format!("unexpected {what} under a {tag:?} key"))
}

/// Step 1's mapper (mrjob's `parse_doc`): a whole file is one document;
/// emits each n-gram's count with the categories (training documents only)
/// and the document itself.
#[derive(Clone, Default)]
pub struct ParseDoc {
    stop_words: HashSet<String>,
    max_ngram_size: i64,
    no_test_set: bool,
    re: Option<regex::Regex>,
}

impl Mapper for ParseDoc {
    type Input<'a> = WholeFile<'a>;
    type Key = Key;
    type Value = Parsed;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        let stop_words = match ctx.option_str("stop-words") {
            Some(s) => s.to_string(),
            None => DEFAULT_STOP_WORDS.join(", "),
        };
        self.stop_words = HashSet::new();
        if !stop_words.is_empty() {
            self.stop_words.extend(
                stop_words
                    .split(',')
                    .map(|s| s.trim_matches(crate::mr_wc::is_py_space).to_lowercase()),
            );
        }
        self.max_ngram_size = int_option(ctx, "max-ngram-size", DEFAULT_MAX_NGRAM_SIZE)?;
        self.no_test_set = ctx.flag("no-test-set");
        self.re = Some(regex::Regex::new(crate::mr_most_used_word::WORD_RE)?);
        Ok(())
    }

    fn map(&mut self, file: WholeFile<'_>, out: &mut Emitter<Key, Parsed>) -> Result<(), JobError> {
        let Some(re) = &self.re else {
            return Ok(());
        };
        let (id, cats) = parse_doc_filename(file.name());
        let text = universal_newlines(file.read_text()?);
        let in_test_set = !self.no_test_set && in_test_set(&text);
        let words: Vec<String> = re
            .find_iter(&text)
            .map(|m| m.as_str().to_lowercase())
            .filter(|w| !self.stop_words.contains(w))
            .collect();
        let ngram_counts = count_ngrams(&words, self.max_ngram_size);
        if !in_test_set {
            for (ngram, count) in &ngram_counts {
                out.emit(
                    &(Tag::Ngram, ngram_key(ngram)),
                    Parsed::Count(*count, cats.clone()),
                )?;
            }
        }
        let key = (Tag::Doc, Value::String(id.clone()));
        let doc = Doc {
            id,
            cats,
            in_test_set,
            ngram_counts: Some(ngram_counts),
            cat_to_score: None,
        };
        out.emit(&key, Parsed::Doc(doc))
    }
}

/// Adds `by` to the count of `cat`, in first-seen order.
fn bump(counts: &mut CatCounts, cat: &CatFlag, by: i64) {
    match counts.iter_mut().find(|(c, _)| c == cat) {
        Some(entry) => entry.1 += by,
        None => counts.push((cat.clone(), by)),
    }
}

/// The count of `cat`, if it has one.
fn lookup<T: Copy>(counts: &[(CatFlag, T)], cat: &str, in_cat: bool) -> Option<T> {
    counts
        .iter()
        .find(|((c, i), _)| c == cat && *i == in_cat)
        .map(|(_, n)| *n)
}

/// Step 1's reducer (mrjob's `count_ngram_freq`): one document per id; for
/// each n-gram in at least `--min-df` training documents, its document and
/// term frequency per `(category, in it)`, to the one key `["global", null]`.
#[derive(Clone, Default)]
pub struct CountNgramFreq {
    min_df: i64,
}

impl Reducer for CountNgramFreq {
    type Key = Key;
    type Value = Parsed;
    type OutKey = Key;
    type OutValue = Counted;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.min_df = int_option(ctx, "min-df", DEFAULT_MIN_DF)?;
        Ok(())
    }

    fn reduce(
        &mut self,
        (tag, key): Key,
        mut values: Values<'_, Parsed>,
        out: &mut Emitter<Key, Counted>,
    ) -> Result<(), JobError> {
        match tag {
            Tag::Doc => {
                let doc_id = doc_id_of(&key)?;
                let Some(Parsed::Doc(doc)) = values.next() else {
                    return Err(unexpected(tag, "n-gram count"));
                };
                if values.next().is_some() {
                    out.count(DOC_KEY_COLLISION, &doc_id, 1);
                }
                out.emit(&(Tag::Doc, key), Counted::Doc(doc))
            }
            Tag::Ngram => {
                let ngram = ngram_of(&key)?;
                let mut total_df = 0;
                let mut cat_to_df = CatCounts::new();
                let mut cat_to_tf = CatCounts::new();
                for value in values {
                    let Parsed::Count(count, cats) = value else {
                        return Err(unexpected(tag, "document"));
                    };
                    total_df += 1;
                    for cat in &cats.0 {
                        bump(&mut cat_to_df, cat, 1);
                        bump(&mut cat_to_tf, cat, count);
                    }
                }
                if total_df < self.min_df {
                    return Ok(());
                }
                out.emit(
                    &(Tag::Global, Value::Null),
                    Counted::Ngram(ngram, (cat_to_df, cat_to_tf)),
                )
            }
            _ => Err(unexpected(tag, "key")),
        }
    }
}

/// Python's `math.log`, which refuses a number that is not above zero.
fn py_log(x: f64) -> Result<f64, JobError> {
    if x > 0.0 && x.is_finite() {
        Ok(x.ln())
    } else {
        Err(JobError::msg(format!("math domain error: log({x})")))
    }
}

/// Step 2's reducer (mrjob's `score_ngrams`): under `["global", null]`, the
/// score of every n-gram for every category; a document goes on, and is
/// sent to the key of each n-gram it holds.
#[derive(Clone)]
pub struct ScoreNgrams;

impl Reducer for ScoreNgrams {
    type Key = Key;
    type Value = Counted;
    type OutKey = Key;
    type OutValue = Routed;

    fn reduce(
        &mut self,
        (tag, key): Key,
        mut values: Values<'_, Counted>,
        out: &mut Emitter<Key, Routed>,
    ) -> Result<(), JobError> {
        match tag {
            Tag::Doc => {
                let doc_id = doc_id_of(&key)?;
                let Some(Counted::Doc(doc)) = values.next() else {
                    return Err(unexpected(tag, "n-gram"));
                };
                // Not for the ANY n-grams: every document would go there.
                for (ngram, _) in doc.ngram_counts.iter().flatten() {
                    if ngram.1.is_some() {
                        out.emit(
                            &(Tag::Ngram, ngram_key(ngram)),
                            Routed::DocId(Tag::DocId, doc_id.clone()),
                        )?;
                    }
                }
                out.emit(&(Tag::Doc, key), Routed::Doc(doc))
            }
            Tag::Global => {
                // Each n-gram's (cat_to_df, cat_to_tf), in first-seen order.
                let mut infos: Vec<(Ngram, CatCounts)> = Vec::new();
                let mut index: HashMap<Ngram, usize> = HashMap::new();
                for value in values {
                    let Counted::Ngram(ngram, (_cat_to_df, cat_to_tf)) = value else {
                        return Err(unexpected(tag, "document"));
                    };
                    match index.get(&ngram) {
                        Some(&i) => infos[i].1 = cat_to_tf,
                        None => {
                            index.insert(ngram.clone(), infos.len());
                            infos.push((ngram, cat_to_tf));
                        }
                    }
                }
                // The number of possible n-grams of any size: "not a very
                // rigorous estimate, but it's good enough".
                let m = infos.len() as f64;
                for (ngram, cat_to_tf) in &infos {
                    // The ANY n-gram of this size is in every training
                    // document, so it passed --min-df if this one did.
                    let any = index.get(&(ngram.0, None)).ok_or_else(|| {
                        JobError::msg(format!("no ANY n-gram of size {}", ngram.0))
                    })?;
                    let cat_to_t = &infos[*any].1;
                    // Laplace's rule of succession.
                    let mut cat_to_p: Vec<(CatFlag, f64)> = Vec::new();
                    for (cat, t) in cat_to_t {
                        let tf = lookup(cat_to_tf, &cat.0, cat.1).unwrap_or(0);
                        if *t + 2 == 0 {
                            return Err(JobError::msg("division by zero"));
                        }
                        cat_to_p.push((cat.clone(), (tf as f64 + 2.0 / m) / (*t + 2) as f64));
                    }
                    let mut cat_to_score = CatToScore::new();
                    for ((cat, _), _) in cat_to_t {
                        let p_if_in = lookup(&cat_to_p, cat, true).unwrap_or(1.0 / m);
                        let p_if_out = lookup(&cat_to_p, cat, false).unwrap_or(1.0 / m);
                        cat_to_score.insert(cat.clone(), py_log(p_if_in)? - py_log(p_if_out)?);
                    }
                    out.emit(
                        &(Tag::Ngram, ngram_key(ngram)),
                        Routed::Scores(Tag::CatToScore, cat_to_score),
                    )?;
                }
                Ok(())
            }
            _ => Err(unexpected(tag, "key")),
        }
    }
}

/// Step 3's reducer (mrjob's `score_documents_by_ngram`): an n-gram's
/// scores to each document that holds it, unless more than `--max-df` do;
/// documents and scores go on.
#[derive(Clone, Default)]
pub struct ScoreDocumentsByNgram {
    max_df: i64,
}

impl Reducer for ScoreDocumentsByNgram {
    type Key = Key;
    type Value = Routed;
    type OutKey = Key;
    type OutValue = Gathered;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.max_df = int_option(ctx, "max-df", DEFAULT_MAX_DF)?;
        Ok(())
    }

    fn reduce(
        &mut self,
        (tag, key): Key,
        mut values: Values<'_, Routed>,
        out: &mut Emitter<Key, Gathered>,
    ) -> Result<(), JobError> {
        match tag {
            Tag::Doc => {
                let Some(Routed::Doc(doc)) = values.next() else {
                    return Err(unexpected(tag, "n-gram value"));
                };
                out.emit(&(Tag::Doc, key), Gathered::Doc(Tag::Doc, doc))
            }
            Tag::Ngram => {
                let ngram = ngram_of(&key)?;
                let mut doc_ids = Vec::new();
                let mut cat_to_score = None;
                for value in values {
                    match value {
                        Routed::Scores(_, scores) => cat_to_score = Some(scores),
                        Routed::DocId(_, doc_id) => {
                            doc_ids.push(doc_id);
                            if doc_ids.len() as i64 > self.max_df {
                                out.count(EXCEEDED_MAX_DF, &py_repr_ngram(&ngram), 1);
                                return Ok(());
                            }
                        }
                        Routed::Doc(_) => return Err(unexpected(tag, "document")),
                    }
                }
                // Too rare to be scored.
                let Some(cat_to_score) = cat_to_score else {
                    return Ok(());
                };
                for doc_id in doc_ids {
                    out.emit(
                        &(Tag::Doc, Value::String(doc_id)),
                        Gathered::Scores(Tag::Scores, (ngram.clone(), cat_to_score.clone())),
                    )?;
                }
                out.emit(&(Tag::CatToScore, key), Gathered::Kept(cat_to_score))
            }
            _ => Err(unexpected(tag, "key")),
        }
    }
}

/// Step 4's reducer (mrjob's `score_documents`): a document's score for a
/// category is, summed over n-gram sizes, the tf-weighted total score of
/// its n-grams of that size divided by the number of them (at least
/// `--short-doc-threshold`, at least 1). N-gram scores go through.
#[derive(Clone, Default)]
pub struct ScoreDocuments {
    short_doc_threshold: i64,
}

impl Reducer for ScoreDocuments {
    type Key = Key;
    type Value = Gathered;
    type OutKey = Key;
    type OutValue = Scored;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        // Python's `short_doc_threshold or 0`.
        self.short_doc_threshold = int_option(ctx, "short-doc-threshold", 0)?;
        Ok(())
    }

    fn reduce(
        &mut self,
        (tag, key): Key,
        mut values: Values<'_, Gathered>,
        out: &mut Emitter<Key, Scored>,
    ) -> Result<(), JobError> {
        match tag {
            Tag::CatToScore => {
                let Some(Gathered::Kept(scores)) = values.next() else {
                    return Err(unexpected(tag, "document value"));
                };
                out.emit(&(Tag::CatToScore, key), Scored::Scores(scores))
            }
            Tag::Doc => {
                let mut doc = None;
                let mut ngrams_and_scores = Vec::new();
                for value in values {
                    match value {
                        Gathered::Doc(_, d) => doc = Some(d),
                        Gathered::Scores(_, scored) => ngrams_and_scores.push(scored),
                        Gathered::Kept(_) => return Err(unexpected(tag, "n-gram's scores")),
                    }
                }
                let mut doc = doc.ok_or_else(|| JobError::msg(format!("no document {key}")))?;
                let ngram_counts: HashMap<Ngram, i64> = doc
                    .ngram_counts
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                let count_of = |ngram: &Ngram| {
                    ngram_counts.get(ngram).copied().ok_or_else(|| {
                        JobError::msg(format!("document {key} has no n-gram {ngram:?}"))
                    })
                };
                let mut cat_to_n_to_total_score: BTreeMap<String, BTreeMap<i64, f64>> =
                    BTreeMap::new();
                for (ngram, cat_to_score) in &ngrams_and_scores {
                    let tf = count_of(ngram)?;
                    for (cat, score) in cat_to_score {
                        *cat_to_n_to_total_score
                            .entry(cat.clone())
                            .or_default()
                            .entry(ngram.0)
                            .or_default() += score * tf as f64;
                    }
                }
                let mut cat_to_score = CatToScore::new();
                for (cat, n_to_total_score) in cat_to_n_to_total_score {
                    let mut total_score_for_cat = 0.0;
                    for (n, total_score) in n_to_total_score {
                        let total_t = count_of(&(n, None))?;
                        total_score_for_cat +=
                            total_score / total_t.max(self.short_doc_threshold).max(1) as f64;
                    }
                    cat_to_score.insert(cat, total_score_for_cat);
                }
                doc.cat_to_score = Some(cat_to_score);
                out.emit(&(Tag::Doc, key), Scored::Doc(doc))
            }
            _ => Err(unexpected(tag, "key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_to_the_variant_they_were() {
        let doc = Doc {
            id: "x".into(),
            cats: Cats(vec![("b".into(), true), ("a".into(), false)]),
            in_test_set: false,
            ngram_counts: Some(vec![((1, Some("w".into())), 2), ((1, None), 2)]),
            cat_to_score: None,
        };
        let scores: CatToScore = [("a".to_string(), -0.5)].into_iter().collect();
        let round = |v: &Gathered| {
            let s = serde_json::to_string(v).unwrap();
            assert_eq!(&serde_json::from_str::<Gathered>(&s).unwrap(), v, "{s}");
            s
        };
        let s = round(&Gathered::Doc(Tag::Doc, doc.clone()));
        assert!(
            s.starts_with(r#"["doc",{"id":"x","cats":{"b":true,"a":false},"#),
            "{s}"
        );
        round(&Gathered::Scores(
            Tag::Scores,
            ((2, Some("p t".into())), scores.clone()),
        ));
        round(&Gathered::Kept(CatToScore::new()));
        for v in [
            Routed::Doc(doc.clone()),
            Routed::DocId(Tag::DocId, "x".into()),
            Routed::Scores(Tag::CatToScore, CatToScore::new()),
        ] {
            let s = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Routed>(&s).unwrap(), v, "{s}");
        }
        let v = Parsed::Count(3, doc.cats.clone());
        let s = serde_json::to_string(&v).unwrap();
        assert_eq!(s, r#"[3,{"b":true,"a":false}]"#);
        assert_eq!(serde_json::from_str::<Parsed>(&s).unwrap(), v);
    }

    #[test]
    fn python_reprs_and_file_names() {
        assert_eq!(
            py_repr_ngram(&(2, Some("pad thai".into()))),
            "(2, 'pad thai')"
        );
        assert_eq!(py_repr_ngram(&(1, Some("don't".into()))), "(1, \"don't\")");
        assert_eq!(py_repr_ngram(&(1, None)), "(1, None)");
        let (id, cats) = parse_doc_filename("a-x-not_x-y.tar.gz");
        assert_eq!(id, "a");
        assert_eq!(cats.0, vec![("x".into(), false), ("y".into(), true)]);
        assert_eq!(parse_doc_filename(".hidden-c.txt").0, ".hidden");
        assert_eq!(universal_newlines("a\r\nb\rc\n".into()), "a\nb\nc\n");
    }
}
