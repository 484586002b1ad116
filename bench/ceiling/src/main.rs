//! The hand-written ceiling of `bench/run.sh`: `url_views` and `word_count`
//! as a person would write them for one machine, with no framework.
//!
//! ```text
//! ceiling url_views  [-j N] PATH...   # "page_url"<TAB>count, key order
//! ceiling word_count [-j N] PATH...   # "word"<TAB>count, key order
//! ceiling url_views_sonic [-j N] PATH...  # url_views with sonic-rs (SIMD)
//! ```
//!
//! PATH is a file or a directory (its files, names starting with `_` or `.`
//! skipped); `.gz` files are decompressed. Work is cut into splits (64 MB of
//! a plain file, cut at line starts; a whole `.gz`), and `N` threads (default:
//! one per core) take splits in turn, each counting into its own `FxHashMap`;
//! the maps are summed at the end and printed sorted by their JSON key bytes,
//! the order and format of `mr run JOB -q`.
//!
//! The rules are the jobs' (`jobs/src/url_views.rs`, `jobs/src/word_count.rs`):
//! a string `page_url` of a JSON object line counts 1 (borrowed from the line
//! unless it has escapes; other fields skipped unbuilt); words are maximal
//! runs of Python's `\w` plus `'`, lowercased by Unicode's full mapping.
//! A line that is not JSON (url_views) or not UTF-8 is an error, as in `mr`.
//!
//! `url_views_sonic` is the same count with sonic-rs's `get`, which stops
//! reading a line at its `page_url` (so it checks less of the line than
//! serde_json, which reads it to the end): the parser's own ceiling.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;
use serde::de::{Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;
use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// Bytes per split of a plain file.
const SPLIT_BYTES: u64 = 64 << 20; // 64 MiB
/// Bytes per read.
const READ_BYTES: usize = 1 << 20; // 1 MiB

type Counts = FxHashMap<Box<str>, u64>;
type Error = Box<dyn std::error::Error + Send + Sync>;

/// One piece of work: a byte range of a plain file (whole lines), or a whole
/// gzip file (`end == u64::MAX`).
struct Split {
    path: PathBuf,
    start: u64,
    end: u64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let job = args.next().ok_or("usage: ceiling url_views|word_count [-j N] PATH...")?;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut paths = Vec::new();
    while let Some(a) = args.next() {
        if a == "-j" {
            threads = args.next().ok_or("-j needs a number")?.parse()?;
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let count_line: fn(&[u8], &mut Counts, &mut String) -> Result<(), Error> = match job.as_str() {
        "url_views" => count_url,
        "url_views_sonic" => count_url_sonic,
        "word_count" => count_words,
        _ => return Err(format!("unknown job {job:?}").into()),
    };
    let splits = splits(&paths)?;
    let counts = count_all(&splits, threads.max(1), count_line)?;
    print_sorted(counts)
}

/// The splits of every input file, in path order.
fn splits(paths: &[PathBuf]) -> Result<Vec<Split>, Error> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            inner.retain(|f| {
                let name = f.file_name().map_or("".into(), |n| n.to_string_lossy());
                f.is_file() && !name.starts_with('_') && !name.starts_with('.')
            });
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p.clone());
        }
    }
    let mut splits = Vec::new();
    for path in files {
        let len = std::fs::metadata(&path)?.len();
        if path.extension().is_some_and(|e| e == "gz") {
            splits.push(Split { path, start: 0, end: u64::MAX });
            continue;
        }
        // Cut points: the first line start at or after each multiple of SPLIT_BYTES.
        let mut file = File::open(&path)?;
        let mut cuts = vec![0];
        let mut at = SPLIT_BYTES;
        while at < len {
            file.seek(SeekFrom::Start(at - 1))?;
            let mut buf = [0u8; 64 << 10];
            let mut pos = at - 1;
            let cut = loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break len;
                }
                if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                    break pos + i as u64 + 1;
                }
                pos += n as u64;
            };
            if cut >= len {
                break;
            }
            cuts.push(cut);
            at = cut + SPLIT_BYTES;
        }
        cuts.push(len);
        for w in cuts.windows(2) {
            splits.push(Split { path: path.clone(), start: w[0], end: w[1] });
        }
    }
    Ok(splits)
}

/// Runs `count_line` over every line of every split on `threads` threads.
fn count_all(
    splits: &[Split],
    threads: usize,
    count_line: fn(&[u8], &mut Counts, &mut String) -> Result<(), Error>,
) -> Result<Counts, Error> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<Counts, Error>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut counts = Counts::default();
                let mut scratch = String::new();
                let mut result = Ok(());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(split) = splits.get(i) else { break };
                    result = for_each_line(split, |line| count_line(line, &mut counts, &mut scratch));
                    if result.is_err() {
                        break;
                    }
                }
                let r = result.map(|()| counts);
                results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
            });
        }
    });
    let mut total = Counts::default();
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let counts = r?;
        if total.is_empty() {
            total = counts;
            continue;
        }
        for (k, v) in counts {
            *total.entry(k).or_insert(0) += v;
        }
    }
    Ok(total)
}

/// Calls `f` with each line of the split (without `\n` or `\r\n`).
fn for_each_line(
    split: &Split,
    mut f: impl FnMut(&[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let name = split.path.display();
    let mut file = File::open(&split.path).map_err(|e| format!("{name}: {e}"))?;
    let mut reader: Box<dyn Read> = if split.end == u64::MAX {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        file.seek(SeekFrom::Start(split.start))?;
        Box::new(file.take(split.end - split.start))
    };
    let mut buf = vec![0u8; READ_BYTES];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a line longer than the buffer
        }
        let n = reader.read(&mut buf[filled..]).map_err(|e| format!("{name}: {e}"))?;
        filled += n;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &buf[..filled]) {
            f(trim_cr(&buf[start..end]))?;
            start = end + 1;
        }
        if n == 0 {
            if start < filled {
                f(trim_cr(&buf[start..filled]))?;
            }
            return Ok(());
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn add(counts: &mut Counts, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.into(), 1);
        }
    }
}

// ---------------------------------------------------------------- url_views

/// The fields of an event that url_views reads; every other field is skipped
/// by the parser without being built.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    page_url: AnyStr<'a>,
}

/// Any JSON value; `Some` only for a string (borrowed when it has no escapes).
#[derive(Default)]
struct AnyStr<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for AnyStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(AnyStr(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(AnyStr(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(AnyStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(AnyStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(AnyStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(AnyStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(AnyStr(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AnyStr(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AnyStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// False for a blank line or a line that is JSON but not an object (serde
/// would read an array as a struct): neither has a page_url.
fn is_object_line(line: &[u8]) -> Result<bool, Error> {
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Ok(false), // blank lines are skipped, as by mr
        Some(b'{') => Ok(true),
        Some(_) => match serde_json::from_slice::<IgnoredAny>(line) {
            Ok(_) => Ok(false),
            Err(e) => Err(invalid_json(e, line)),
        },
    }
}

fn invalid_json(e: impl std::fmt::Display, line: &[u8]) -> Error {
    format!("invalid JSON ({e}): {}", String::from_utf8_lossy(line)).into()
}

fn count_url(line: &[u8], counts: &mut Counts, _: &mut String) -> Result<(), Error> {
    if !is_object_line(line)? {
        return Ok(());
    }
    match serde_json::from_slice::<Event>(line) {
        Ok(Event { page_url: AnyStr(Some(url)) }) => add(counts, &url),
        Ok(_) => {}
        Err(e) if e.is_data() => {} // JSON, but not an object: no page_url
        Err(e) => return Err(invalid_json(e, line)),
    }
    Ok(())
}

fn count_url_sonic(line: &[u8], counts: &mut Counts, _: &mut String) -> Result<(), Error> {
    use sonic_rs::JsonValueTrait;
    if !is_object_line(line)? {
        return Ok(());
    }
    match sonic_rs::get(line, ["page_url"]) {
        Ok(v) => {
            if let Some(url) = v.as_str() {
                add(counts, url);
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(invalid_json(e, line)),
    }
    Ok(())
}

// --------------------------------------------------------------- word_count

fn count_words(line: &[u8], counts: &mut Counts, buf: &mut String) -> Result<(), Error> {
    let line = std::str::from_utf8(line).map_err(|e| format!("invalid UTF-8: {e}"))?;
    if line.is_ascii() {
        // Fast path: every char is one byte.
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && !is_ascii_word(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && is_ascii_word(b[i]) {
                i += 1;
            }
            if start < i {
                buf.clear();
                buf.push_str(&line[start..i]);
                buf.make_ascii_lowercase();
                add(counts, buf);
            }
        }
        return Ok(());
    }
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                add(counts, &lower(&line[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        add(counts, &lower(&line[s..]));
    }
    Ok(())
}

fn is_ascii_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'\''
}

/// Python's `\w` (letters, numbers, `_`) plus the apostrophe.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return is_ascii_word(c as u8);
    }
    matches!(
        get_general_category(c),
        Gc::UppercaseLetter
            | Gc::LowercaseLetter
            | Gc::TitlecaseLetter
            | Gc::ModifierLetter
            | Gc::OtherLetter
            | Gc::DecimalNumber
            | Gc::LetterNumber
            | Gc::OtherNumber
    )
}

/// Unicode's full lowercase mapping with the final-sigma rule (Python's `str.lower()`).
fn lower(word: &str) -> Cow<'_, str> {
    if word.is_ascii() && !word.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(word)
    } else if word.is_ascii() {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Owned(word.to_lowercase())
    }
}

// ------------------------------------------------------------------- output

/// Prints `json(key)<TAB>count` lines sorted by the JSON key bytes, as `mr run -q`.
fn print_sorted(counts: Counts) -> Result<(), Error> {
    let mut lines: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(k, v)| serde_json::to_string(&*k).map(|k| (k, v)))
        .collect::<Result<_, _>>()?;
    lines.sort_unstable();
    let mut out = BufWriter::with_capacity(256 << 10, io::stdout().lock());
    for (k, v) in lines {
        if let Err(e) = writeln!(out, "{k}\t{v}") {
            return if e.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e.into()) };
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
